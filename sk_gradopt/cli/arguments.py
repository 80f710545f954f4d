"""The argparse parser of ``sk-gradopt`` and the types of its arguments.

Each subcommand is one :class:`Subcommand` in :data:`SUBCOMMANDS`: its name,
help texts and a function that adds its own flags. A new subcommand adds an
entry here and its runner to ``RUNNERS`` in :mod:`sk_gradopt.cli`.
"""

import argparse
import inspect
import math
from dataclasses import dataclass
from typing import Callable

from .._lbfgs import SECOND_ORDER
from .._lr import lr_range_test
from .._optimizers import OPTIMIZERS
from .. import schedules
from .data import DATASETS, MAX_INFERRED_CLASSES, TASKS

SEARCHES = ("grid", "random", "bayes", "halving")

#: ``lr-find``'s flags take the names and defaults of these parameters.
RANGE_TEST_DEFAULTS = {
    name: inspect.signature(lr_range_test).parameters[name].default
    for name in ("min_lr", "max_lr", "num_steps", "smoothing", "stop_factor")
}

#: The largest seed NumPy takes (``random_state`` is a 32-bit unsigned integer).
MAX_SEED = 2**32 - 1


def number(kind, expected, *, low=None, high=None, open_interval=False, words=None,
           valid=None):
    """An argparse ``type`` that reads one number and checks its range.

    Parameters
    ----------
    kind : {int, float}
        What to read the text as.
    expected : str
        What a valid value is, for the message: ``"X is not {expected}"``.
    low, high : int or float, default=None
        Bounds; None for none.
    open_interval : bool, default=False
        Whether the bounds themselves are excluded.
    words : dict of str to object, default=None
        Words (matched case-insensitively) that stand for a value, e.g.
        ``{"none": None}``.
    valid : callable, default=None
        A further check of the value, e.g. ``lambda n: n != 0``.

    Returns
    -------
    callable
        ``text -> value``; raises :class:`argparse.ArgumentTypeError` with
        the message ``"{text} is not {expected}"``.
    """

    def parse(text):
        if words and text.strip().lower() in words:
            return words[text.strip().lower()]
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {expected}") from None
        outside = (
            not math.isfinite(value)
            or (low is not None and (value <= low if open_interval else value < low))
            or (high is not None and (value >= high if open_interval else value > high))
            or (valid is not None and not valid(value))
        )
        if outside:
            raise argparse.ArgumentTypeError(f"{text} is not {expected}")
        return value

    parse.__name__ = f"{kind.__name__}_value"
    return parse


positive_int = number(int, "an integer >= 1", low=1)
seed = number(int, f"an integer from 0 to {MAX_SEED}", low=0, high=MAX_SEED)
cv_folds = number(int, "a number of folds >= 2 (cross-validation needs two)", low=2)
n_jobs = number(int, "a count of parallel jobs: a positive integer, or -1 for all cores",
                valid=lambda n: n != 0)
fraction = number(float, "a fraction between 0 and 1 (exclusive)", low=0, high=1,
                  open_interval=True)
tol = number(float, "a number >= 0, or 'none'", low=0, words={"none": None})
batch_size = number(int, "an integer >= 1, or 'auto'", low=1, words={"auto": "auto"})
_rate = number(float, "a positive number", low=0, open_interval=True)
num_steps = number(int, "an integer >= 2", low=2)
smoothing = number(float, "a number from 0 (no smoothing) up to, not including, 1", low=0,
                   valid=lambda v: v < 1)
stop_factor = number(float, "a number > 1, or 'none'", low=1, open_interval=True,
                     words={"none": None})
average = number(float, "an averaging decay between 0 and 1 (exclusive), 'equal' or 'none'",
                 low=0, high=1, open_interval=True, words={"equal": True, "none": False})


def hidden_sizes(text):
    """``64`` or ``64,32``: the hidden layer sizes of a multi-layer perceptron."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a list of hidden layer sizes: positive integers separated "
            "by commas, such as 64 or 64,32"
        )
    return sizes


def learning_rate(text):
    """``0.01`` (every optimizer) or ``adam=0.01``: ``(name or "all", rate)``."""
    name, sep, rate = text.rpartition("=")
    name = name.strip() if sep else "all"
    if name not in ("all", *OPTIMIZERS):
        raise argparse.ArgumentTypeError(
            f"unknown optimizer {name!r}; use one of {', '.join(OPTIMIZERS)}, "
            "as NAME=RATE, or a bare RATE for all"
        )
    return name, _rate(rate)


#: ``--schedule NAME:KEY=VALUE,...``: the names of the schedule objects.
SCHEDULE_NAMES = {
    "step": schedules.StepLR,
    "exponential": schedules.ExponentialLR,
    "restarts": schedules.CosineAnnealingWarmRestarts,
    "plateau": schedules.ReduceLROnPlateau,
    "one_cycle": schedules.OneCycleLR,
}


def schedule(text):
    """``cosine`` or ``step:step_size=10,gamma=0.5``: a string shortcut or a schedule object.

    The values of ``KEY=VALUE`` are read as integers where they are, else as
    floats; the object's parameters are checked here, with its own message.
    """
    name, _, settings = text.strip().partition(":")
    if not settings and name in schedules.SCHEDULES:
        return name
    if name not in SCHEDULE_NAMES:
        raise argparse.ArgumentTypeError(
            f"unknown schedule {name!r}; use one of {', '.join(schedules.SCHEDULES)}, or "
            f"NAME:KEY=VALUE,... with NAME one of {', '.join(SCHEDULE_NAMES)} "
            "(e.g. step:step_size=10,gamma=0.5)"
        )
    keywords = {}
    for item in filter(None, settings.split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"{item!r} in {text!r} is not KEY=VALUE")
        try:
            keywords[key.strip()] = int(value) if value.strip().lstrip("-").isdigit() \
                else float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} of {key!r} is not a number") from None
    try:
        return SCHEDULE_NAMES[name](**keywords).validate()
    except (TypeError, ValueError) as exc:  # a missing or unknown key, a value out of range
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None


# ----------------------------------------------------------- the flags


def add_data_arguments(parser, *, budget=True):
    """The data, fit and output flags of every subcommand.

    ``budget``: also ``--max-iter`` and ``--tol``, the budget of a fit
    (``lr-find`` takes a number of steps instead).
    """
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--dataset", choices=DATASETS, default="diabetes",
        help="built-in dataset, no download (default: %(default)s)",
    )
    source.add_argument(
        "--csv", metavar="FILE",
        help="your own table: a CSV file with a header row and numeric feature "
             "columns (needs --target; reading it needs pandas)",
    )
    parser.add_argument("--target", metavar="COLUMN", help="the target column of --csv")
    parser.add_argument(
        "--task", choices=TASKS,
        help="regression or classification; inferred when not given (text "
             f"labels or at most {MAX_INFERRED_CLASSES} integer values: classification)",
    )
    parser.add_argument(
        "--hidden", type=hidden_sizes, metavar="SIZES",
        help="train a multi-layer perceptron (GradientMLPRegressor / "
             "GradientMLPClassifier) with these hidden layer sizes, e.g. 64 or "
             "64,32, instead of the linear model",
    )
    parser.add_argument("--test-size", type=fraction, default=0.25, metavar="FRACTION",
                        help="held-out fraction (default: %(default)s)")
    if budget:
        parser.add_argument("--max-iter", type=positive_int, default=500, metavar="N",
                            help="epoch budget of every fit (default: %(default)s)")
        parser.add_argument("--tol", type=tol, default=1e-4,
                            help="stopping tolerance of every fit; 'none' runs exactly "
                                 "--max-iter epochs (default: %(default)s)")
        parser.add_argument(
            "--schedule", type=schedule, default="constant", metavar="SPEC",
            help="learning-rate schedule of every fit: constant, invscaling, adaptive, "
                 "cosine, or NAME:KEY=VALUE,... for sk_gradopt.schedules, NAME one of "
                 f"{', '.join(SCHEDULE_NAMES)}, e.g. step:step_size=10,gamma=0.5 or "
                 "one_cycle:max_lr=0.1 (default: %(default)s)")
    parser.add_argument("--seed", type=seed, default=0, metavar="N",
                        help="random_state of the split, the data and the fits, "
                             f"0 to {MAX_SEED} (default: %(default)s)")
    parser.add_argument(
        "--backend", choices=("numpy", "cupy"), default="numpy",
        help="array backend of the estimators; cupy trains on an NVIDIA GPU "
             "(default: %(default)s)",
    )
    parser.add_argument("--json", action="store_true",
                        help="print the results as JSON on stdout")


def add_plot_arguments(parser, what, default):
    """``--plot FILE`` / ``--no-plot``: the image of ``what``, ``default`` without a name.

    The file rules are :func:`sk_gradopt.cli.common.plot_path`'s.
    """
    plot = parser.add_mutually_exclusive_group()
    plot.add_argument("--plot", metavar="FILE",
                      help=f"image of the {what}: a file (.png when it has no "
                           f"extension) or an existing folder, which gets "
                           f"{default} (default: {default})")
    plot.add_argument("--no-plot", action="store_true", help="write no image")


def add_batch_size_argument(parser):
    """``--batch-size N|auto``: the mini-batch size of the stochastic optimizers."""
    parser.add_argument("--batch-size", type=batch_size, default="auto", metavar="N|auto",
                        help="mini-batch size of sgd, momentum, rmsprop and adam "
                             "(default: %(default)s = min(200, n_samples))")


def add_average_argument(parser):
    """``--average none|equal|DECAY``: the estimators' weight averaging."""
    parser.add_argument("--average", type=average, default=False, metavar="none|equal|DECAY",
                        help="weight averaging of every fit: 'equal' averages the iterates "
                             "of every step, a DECAY in (0, 1) is their moving average "
                             "(default: none)")


def add_optimizer_argument(parser, what):
    """``--optimizer NAME`` (repeatable): the optimizers to race or search."""
    parser.add_argument("--optimizer", choices=(*OPTIMIZERS, *SECOND_ORDER),
                        action="append", metavar="NAME",
                        help=f"an optimizer to {what}, one of "
                             f"{', '.join((*OPTIMIZERS, *SECOND_ORDER))}; repeatable "
                             "(default: the five classics, gd to adam; lbfgs, which "
                             "has no learning rate, and the others only when named)")


def add_compare_arguments(parser):
    """The flags of ``sk-gradopt compare``."""
    add_data_arguments(parser)
    add_plot_arguments(parser, "loss curves", "loss_curves.png")
    parser.add_argument(
        "--learning-rate", metavar="[NAME=]RATE", type=learning_rate, action="append",
        help="fix the learning rate of one optimizer (adam=0.01), or of all (0.01); "
             "repeatable. The others are tuned on a validation part of the training "
             "data (the default for all).",
    )
    add_batch_size_argument(parser)
    add_average_argument(parser)
    add_optimizer_argument(parser, "race")
    parser.add_argument("--n-seeds", type=positive_int, default=3, metavar="N",
                        help="fits per optimizer, each with its own initial weights "
                             "and batches (default: %(default)s)")
    parser.add_argument("--n-jobs", type=n_jobs, default=1, metavar="N",
                        help="parallel fits; -1 uses all cores. The times per epoch "
                             "are then measured on a shared machine (default: "
                             "%(default)s)")


def add_tune_arguments(parser):
    """The flags of ``sk-gradopt tune``."""
    add_data_arguments(parser)
    parser.add_argument("--search", choices=SEARCHES, default="grid",
                        help="GridSearchCV, RandomizedSearchCV, scikit-optimize's "
                             "BayesSearchCV or HalvingGridSearchCV over epochs "
                             "(default: %(default)s)")
    parser.add_argument("--n-iter", type=positive_int, metavar="N",
                        help="candidates sampled in total by random and bayes "
                             "(default: 20; bayes needs at least one per optimizer)")
    add_average_argument(parser)
    add_optimizer_argument(parser, "search")
    parser.add_argument("--cv", type=cv_folds, default=3, metavar="N",
                        help="cross-validation folds (default: %(default)s)")
    parser.add_argument("--n-jobs", type=n_jobs, default=1, metavar="N",
                        help="parallel fits; -1 uses all cores (default: %(default)s)")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar on stderr (there is none when stderr "
                             "is not a terminal)")


def add_lr_find_arguments(parser):
    """The flags of ``sk-gradopt lr-find``: those of :func:`sk_gradopt.lr_range_test`."""
    add_data_arguments(parser, budget=False)
    add_plot_arguments(parser, "range-test curves", "lr_find.png")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, action="append", metavar="NAME",
                        help=f"an optimizer to test, one of {', '.join(OPTIMIZERS)}; "
                             "repeatable (default: the five classics, gd to adam)")
    flags = [
        ("--min-lr", _rate, "RATE", "first learning rate of the ramp"),
        ("--max-lr", _rate, "RATE", "last learning rate of the ramp"),
        ("--num-steps", num_steps, "N", "learning rates (points of the curve) from "
                                        "--min-lr to --max-lr, geometrically rising"),
        ("--smoothing", smoothing, "BETA", "weight of the past in the moving average "
                                           "of the loss; 0 is none"),
        ("--stop-factor", stop_factor, "FACTOR", "stop once the smoothed loss exceeds "
                                                 "FACTOR times the best; 'none' runs "
                                                 "every step"),
    ]
    for flag, kind, metavar, text in flags:
        parser.add_argument(flag, type=kind, metavar=metavar,
                            default=RANGE_TEST_DEFAULTS[flag[2:].replace("-", "_")],
                            help=f"{text} (default: %(default)s)")
    add_batch_size_argument(parser)


# -------------------------------------------------------- subcommands


@dataclass(frozen=True)
class Subcommand:
    """One subcommand of ``sk-gradopt``: its name, help and flags."""

    name: str
    help: str
    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]


SUBCOMMANDS = (
    Subcommand(
        "compare", "race the five optimizers, each at a tuned learning rate",
        "Race gd, sgd, momentum, rmsprop and adam on the same data with the same "
        "epoch budget: each learning rate is tuned on a validation part of the "
        "training data (unless --learning-rate fixes it), and each optimizer runs "
        "--n-seeds fits. Print a table of the rate, the final training objective "
        "and its gap to the optimum, the validation score over seeds, the test "
        "score, epochs, warm time per epoch and status, with advice under it, and "
        "plot the training and validation curves.",
        add_compare_arguments,
    ),
    Subcommand(
        "tune", "search the optimizers and their learning rates by cross-validation",
        "Search over the optimizer and its learning rate with cross-validation; "
        "print the best settings, the best CV score and the number of fits.",
        add_tune_arguments,
    ),
    Subcommand(
        "lr-find", "draw the learning-rate range test of each optimizer",
        "Run the learning-rate range test (sk_gradopt.lr_range_test) of each "
        "optimizer on the training part: optimizer steps at a learning rate "
        "ramped geometrically from --min-lr to --max-lr. Print the suggested "
        "rate of each (a heuristic: read the curve) and plot the curves.",
        add_lr_find_arguments,
    ),
)


def build_parser():
    """The argparse parser of ``sk-gradopt``.

    Returns
    -------
    argparse.ArgumentParser
        Parsing sets ``command`` to the subcommand's name (None without one).
    """
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="sk-gradopt",
        description="Race and tune the gradient optimizers of GradientRegressor "
                    "and GradientClassifier (or, with --hidden, of the MLP "
                    "estimators) on a dataset, and find their learning rates.",
        epilog="Exit codes: 0 success, 2 bad arguments or input.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for sub in SUBCOMMANDS:
        sub.add_arguments(commands.add_parser(sub.name, help=sub.help,
                                              description=sub.description))
    return parser


def check_arguments(parser, args):
    """The checks that span several flags; exits with 2 through ``parser.error``."""
    if getattr(args, "csv", None) is not None and args.target is None:
        parser.error("--csv needs --target COLUMN, the column to predict")
    if getattr(args, "target", None) is not None and args.csv is None:
        parser.error("--target only applies with --csv FILE")
    if getattr(args, "min_lr", None) is not None and not args.min_lr < args.max_lr:
        parser.error(f"--min-lr {args.min_lr:g} must be smaller than --max-lr "
                     f"{args.max_lr:g}: the ramp rises from one to the other")
