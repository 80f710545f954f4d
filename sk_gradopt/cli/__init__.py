"""The ``sk-gradopt`` command line (also ``python -m sk_gradopt``).

``sk-gradopt compare`` races the five optimizers on one dataset with the same
budget, each at a tuned learning rate over several seeds
(:func:`sk_gradopt.compare_optimizers`), prints a table with advice and
writes a PNG of the training and validation curves.
``sk-gradopt tune`` runs a scikit-learn (or scikit-optimize) search over the
optimizers and their learning rates. ``sk-gradopt lr-find`` runs the
learning-rate range test of each optimizer and plots the curves. All three
print JSON with ``--json``.

Exit codes: 0 on success, 2 for bad arguments or bad input (argparse's own
convention); the message names the problem and the fix.

The modules: :mod:`.arguments` (the parser), :mod:`.data` (datasets, CSV
files, the split), :mod:`.compare`, :mod:`.tune` and :mod:`.lr_find` (one per subcommand),
:mod:`.common` (what they share).
"""

import os
import sys

from sklearn.utils._param_validation import InvalidParameterError

from . import compare, lr_find, tune
from .arguments import build_parser, check_arguments
from .common import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, CLIError

__all__ = ["main", "build_parser"]

#: The function that runs each subcommand of :data:`.arguments.SUBCOMMANDS`.
RUNNERS = {"compare": compare.run, "tune": tune.run, "lr-find": lr_find.run}


def main(argv=None):
    """Run ``sk-gradopt``; return the exit code.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments; None reads ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 2 for bad arguments or input (one line on stderr that
        names the problem), 130 when interrupted.
    """
    parser = build_parser()
    args = parser.parse_args(argv)  # exits with 2 on a bad argument
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    check_arguments(parser, args)
    try:
        return RUNNERS[args.command](args)
    except (CLIError, InvalidParameterError) as exc:
        # InvalidParameterError: a scikit-learn check refused a value that
        # came from the command line
        message = " ".join(str(exc).split())
        print(f"{parser.prog} {args.command}: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"\n{parser.prog} {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of stdout went away (``sk-gradopt compare --json | head``):
        # as Python's docs advise, point stdout at devnull so that the flush at
        # exit does not raise again, and stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
