"""``sk-gradopt lr-find``: the learning-rate range test of each optimizer.

Each optimizer's curve is :func:`sk_gradopt.lr_range_test` on the training
part of the data, with the estimator that ``compare`` fits (same loss,
penalty, batch size and seed), so that a rate read on the curve can be
passed to ``compare --learning-rate NAME=RATE``. As in ``compare``, the
features are standard-scaled by :func:`.data.load_data` with the training
part's statistics (what ``make_pipeline(StandardScaler(), estimator)`` does)
and a regression target is standardized.
"""

import json
import sys
import warnings

from .._lr import lr_range_test
from .._optimizers import DEFAULT_RACE
from .._plotting import LRRangeTestDisplay
from .common import (ALPHA, EXIT_OK, CLIError, backend_params, estimator_class, jsonable,
                     model_params, new_figure, plot_path, write_figure)
from .data import load_data

#: Where ``--plot`` writes when not given, and the file written in a folder.
DEFAULT_PLOT = "lr_find.png"

#: The plot's loss axis stops at this multiple of the highest starting loss:
#: the last points of a curve that blows up go orders of magnitude above
#: and would flatten the rest.
PLOT_TOP = 2.0

#: Printed under the table: what the suggestion is, and what to read instead.
READ_THE_CURVE = (
    "The suggestion is a heuristic (the rate of the lowest smoothed loss divided by 7: "
    "a 20-epoch fit there ended within 2x of the best of a grid of rates in 48 of 54 "
    "benchmark problems): the curve is what to read. Good constant rates lie on its "
    "falling part, below the rate of the lowest loss."
)


def range_tests(data, *, optimizers, hidden, batch_size, seed, extra_params, test_params):
    """Run the range test of each optimizer on the training part of ``data``.

    Parameters
    ----------
    data : Data
        The split, from :func:`.data.load_data` (features scaled).
    optimizers : list of str
        The optimizers to test, in order.
    hidden : tuple of int or None
        Hidden layer sizes of an MLP; None for the linear model.
    batch_size : int or "auto"
        The estimators' ``batch_size``.
    seed : int
        The estimators' ``random_state`` (the batches, an MLP's initial weights).
    extra_params : dict
        Further estimator parameters (the backend).
    test_params : dict
        ``min_lr``, ``max_lr``, ``num_steps``, ``smoothing`` and
        ``stop_factor`` of :func:`sk_gradopt.lr_range_test`.

    Returns
    -------
    results : dict of str to LRRangeTestResult
        By optimizer, in the order of ``optimizers``.
    notes : list of str
        What the range tests warned about (a curve without a point, a loss
        still falling at ``max_lr``...), as ``"OPTIMIZER: message"`` with
        the flags' names, for stderr.
    """
    Estimator = estimator_class(data.task, hidden)
    results, notes = {}, []
    for optimizer in optimizers:
        est = Estimator(optimizer=optimizer, batch_size=batch_size, penalty="l2",
                        alpha=ALPHA, random_state=seed, **model_params(hidden),
                        **extra_params)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            try:
                result = lr_range_test(est, data.X_train, data.y_train, **test_params)
            except ValueError as exc:
                raise CLIError(f"the range test of {optimizer} failed on {data.name}: "
                               f"{exc}") from None
        for warning in caught:
            if issubclass(warning.category, UserWarning):
                notes.append(f"{optimizer}: {_with_flags(str(warning.message))}")
            else:  # pragma: no cover - what the range test does not warn about
                warnings.showwarning(warning.message, warning.category, warning.filename,
                                     warning.lineno)
        results[optimizer] = result
    return results, notes


def _with_flags(message):
    """A message of ``lr_range_test`` with the command's flag names."""
    for name in ("min_lr", "max_lr", "num_steps"):
        message = message.replace(name, "--" + name.replace("_", "-"))
    return message


def rows_of(results):
    """One JSON-ready dict per optimizer: the curve, the suggestion, whether it stopped."""
    return [{
        "optimizer": optimizer,
        "learning_rates": result.learning_rates_.tolist(),
        "losses": result.losses_.tolist(),
        "smoothed_losses": result.smoothed_losses_.tolist(),
        "suggestion": result.suggestion_,
        "stopped_early": bool(result.stopped_early_),
    } for optimizer, result in results.items()]


def format_table(rows):
    """The lr-find table as aligned text: optimizer, suggestion, points, stopped early."""
    header = ["optimizer", "suggestion", "points", "stopped early"]
    cells = [[
        r["optimizer"], "none" if r["suggestion"] is None else f"{r['suggestion']:.3g}",
        str(len(r["losses"])), "yes" if r["stopped_early"] else "no",
    ] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    left = {0, 3}

    def line(values):
        return "  ".join(v.ljust(w) if i in left else v.rjust(w)
                         for i, (v, w) in enumerate(zip(values, widths))).rstrip()

    return "\n".join([line(header)] + [line(c) for c in cells])


def save_plot(results, path, title):
    """Draw every curve of ``results`` on one axes and write the image to ``path``."""
    figure, ax = new_figure()
    drawn = [result for result in results.values() if len(result.losses_)]
    for result in drawn:
        LRRangeTestDisplay.from_result(result, ax=ax)
    if drawn:
        top = PLOT_TOP * max(float(result.smoothed_losses_[0]) for result in drawn)
        if max(float(result.losses_.max()) for result in drawn) > top:
            low = min(min(float(result.losses_.min()), float(result.smoothed_losses_.min()))
                      for result in drawn)
            ax.set_ylim(low - 0.05 * (top - low), top)
    ax.set_title(title)
    ax.set_ylabel("training objective (smoothed; faint: raw)")
    write_figure(figure, path)


def run(args):
    """``sk-gradopt lr-find``: run the range tests, print the table or JSON, plot; return 0."""
    plot = plot_path(args, DEFAULT_PLOT)
    data = load_data(args)
    extra = backend_params(args.backend)
    optimizers = list(dict.fromkeys(args.optimizer or DEFAULT_RACE))
    test_params = {"min_lr": args.min_lr, "max_lr": args.max_lr, "num_steps": args.num_steps,
                   "smoothing": args.smoothing, "stop_factor": args.stop_factor}
    results, notes = range_tests(
        data, optimizers=optimizers, hidden=args.hidden, batch_size=args.batch_size,
        seed=args.seed, extra_params=extra, test_params=test_params,
    )
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    rows = rows_of(results)
    if plot is not None:
        if any(r["losses"] for r in rows):
            save_plot(results, plot, f"{data.name}: learning-rate range test")
        else:
            print("note: no curve to plot: every range test stopped at its first step.",
                  file=sys.stderr)
            plot = None
    Estimator = estimator_class(data.task, args.hidden)
    if args.json:
        result = {
            "command": "lr-find", **data.metadata(), "estimator": Estimator.__name__,
            **test_params, "batch_size": args.batch_size, "random_state": args.seed,
            "backend": args.backend, "plot": plot, "results": rows,
        }
        print(json.dumps(jsonable(result), indent=2))
        return EXIT_OK
    structure = f"hidden_layer_sizes={args.hidden}, " if args.hidden else ""
    stop = ("no early stop" if args.stop_factor is None
            else f"stop once the smoothed loss exceeds {args.stop_factor:g} x the best")
    print(f"sk-gradopt lr-find: {data.describe()}")
    print(f"{Estimator.__name__}({structure}penalty='l2', alpha={ALPHA:g}, "
          f"batch_size={args.batch_size!r}, random_state={args.seed}) on the training part")
    print(f"range test: {args.num_steps} steps, learning rate from {args.min_lr:g} to "
          f"{args.max_lr:g} geometrically; smoothing {args.smoothing:g}; {stop}")
    print()
    print(format_table(rows))
    print()
    print(READ_THE_CURVE)
    if plot is not None:
        print(f"curves written to {plot}")
    return EXIT_OK
