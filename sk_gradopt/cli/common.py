"""What the subcommands share: the error type, exit codes and small helpers.

``compare``, ``tune`` and ``lr-find`` import from here and from :mod:`.data`,
never from each other.
"""

import importlib
import importlib.util
import math
import os
import sys

import numpy as np

from .._array_api import import_cupy
from .._classifier import GradientClassifier
from .._mlp import GradientMLPClassifier, GradientMLPRegressor
from .._regressor import GradientRegressor

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

#: ``compare`` and ``tune`` fix the loss and the penalty to the estimators'
#: defaults with this ``alpha`` (``penalty="l2"``).
ALPHA = 1e-4


class CLIError(Exception):
    """Bad arguments or input: printed as one line on stderr, exit code 2."""


def has_module(name):
    """Whether ``name`` can be imported, without importing it."""
    return importlib.util.find_spec(name) is not None


def optional_import(name, *, needed_by, extra, package=None):
    """Import the optional dependency ``name``, or fail with an install hint.

    Parameters
    ----------
    name : str
        The module to import, e.g. ``"pandas"``.
    needed_by : str
        What needs it, for the message, e.g. ``"--csv data.csv"``.
    extra : str
        The extra of sk-gradopt that installs it, e.g. ``"csv"``.
    package : str, default=None
        The distribution's name where it differs from ``name``.

    Returns
    -------
    module
        The imported module.

    Raises
    ------
    CLIError
        If ``name`` is not installed.
    """
    if not has_module(name):
        raise CLIError(
            f"{needed_by} needs {package or name}: pip install 'sk-gradopt[{extra}]'."
        )
    return importlib.import_module(name)


def estimator_class(task, hidden=None):
    """The estimator for ``task``: linear, or an MLP when ``hidden`` sizes are given."""
    if hidden:
        return GradientMLPRegressor if task == "regression" else GradientMLPClassifier
    return GradientRegressor if task == "regression" else GradientClassifier


def model_params(hidden):
    """The MLP's ``hidden_layer_sizes`` when ``--hidden`` is given, else nothing."""
    return {"hidden_layer_sizes": tuple(hidden)} if hidden else {}


def penalised_weights(est):
    """The weight matrices the penalty acts on: ``coef_``, or an MLP's ``coefs_``."""
    return list(est.coefs_) if hasattr(est, "coefs_") else [est.coef_]


def backend_params(backend):
    """``{"backend": backend}``, after checking that CuPy can run for ``"cupy"``."""
    if backend == "cupy":
        try:
            import_cupy()
        except ImportError as exc:
            raise CLIError(f"--backend cupy: {exc}") from exc
    return {"backend": backend}


def score_name(task):
    """The name of the estimators' ``score``: R^2 or accuracy."""
    return "R^2" if task == "regression" else "accuracy"


def jsonable(value):
    """``value`` with NumPy scalars as Python numbers and non-finite floats as None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# ------------------------------------------------------------------ plot


def _image_formats():
    """The file extensions matplotlib can write."""
    from matplotlib.backend_bases import FigureCanvasBase

    return FigureCanvasBase.get_supported_filetypes()


def plot_path(args, default):
    """The image file that ``--plot`` / ``--no-plot`` ask for, or None.

    Fails early, before any fit, if the file cannot be written.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed arguments, with ``plot`` (a path or None) and ``no_plot``.
    default : str
        The file name used without ``--plot``, and inside a folder given as
        ``--plot``, e.g. ``"loss_curves.png"``.

    Returns
    -------
    str or None
        ``--plot`` names a file; without an extension it gets ``.png``, and
        an existing folder gets ``default`` inside it. Without ``--plot``,
        ``default`` in the current folder if matplotlib is installed (else
        None, with a note on stderr). None with ``--no-plot``.

    Raises
    ------
    CLIError
        If ``--plot`` is given without matplotlib, names a format
        matplotlib cannot write, or a folder that does not exist.
    """
    if args.no_plot:
        return None
    if args.plot is None:
        if not has_module("matplotlib"):
            print("note: matplotlib is not installed, so no plot is written; "
                  f"pip install 'sk-gradopt[plot]' to get {default}.",
                  file=sys.stderr)
            return None
        return default
    if not has_module("matplotlib"):
        raise CLIError(
            f"--plot {args.plot} needs matplotlib: pip install 'sk-gradopt[plot]' "
            "(or pass --no-plot)."
        )
    path = args.plot
    if os.path.isdir(path):
        path = os.path.join(path, default)
    elif path.endswith(("/", os.sep)):
        raise CLIError(f"--plot {args.plot}: the folder {path} does not exist.")
    extension = os.path.splitext(path)[1]
    if not extension:
        path += ".png"
    elif extension[1:].lower() not in _image_formats():
        raise CLIError(
            f"--plot {args.plot}: matplotlib cannot write {extension!r} files; use "
            f"one of {', '.join('.' + f for f in sorted(_image_formats()))}."
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CLIError(f"--plot {args.plot}: the folder {folder} does not exist.")
    return path


def new_figure():
    """A figure and its axes, without pyplot (no GUI backend, nothing global)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4.5), layout="constrained")
    return figure, figure.subplots()


def write_figure(figure, path):
    """Save ``figure`` to ``path`` (from :func:`plot_path`), or fail with one line."""
    try:
        figure.savefig(path, dpi=100)
    except (OSError, ValueError) as exc:
        raise CLIError(f"--plot {path} cannot be written: {exc}") from None
