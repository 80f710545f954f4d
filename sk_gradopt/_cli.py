"""The ``sk-gradopt`` command line (also ``python -m sk_gradopt``).

``sk-gradopt compare`` fits the five optimizers on one dataset with the same
budget and seed, prints a table and writes a PNG of the loss curves.
``sk-gradopt tune`` runs a scikit-learn (or scikit-optimize) search over the
optimizers and their learning rates. Both print JSON with ``--json``.

Exit codes: 0 on success, 2 for bad arguments or bad input (argparse's own
convention); the message names the problem and the fix.
"""

import argparse
import csv
import importlib.util
import inspect
import io
import json
import math
import os
import sys
import tempfile
import threading
import time
import warnings

import numpy as np
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import check_scoring, log_loss
from sklearn.model_selection import check_cv, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import type_of_target

from ._array_api import import_cupy, to_numpy
from ._classifier import GradientClassifier
from ._optimizers import OPTIMIZERS
from ._regressor import GradientRegressor
from ._search import search_space

__all__ = ["main"]

EXIT_OK = 0
EXIT_USAGE = 2

DATASETS = ("diabetes", "breast_cancer", "digits", "wine", "iris", "synthetic")
TASKS = ("regression", "classification")
SEARCHES = ("grid", "random", "bayes", "halving")

#: The task of each built-in dataset (``synthetic`` makes either; regression
#: unless ``--task classification``).
DATASET_TASKS = {
    "diabetes": "regression",
    "breast_cancer": "classification",
    "digits": "classification",
    "wine": "classification",
    "iris": "classification",
    "synthetic": "regression",
}

#: Learning rate of each optimizer in ``compare``, per task, for standard-scaled
#: features (and a standardized target in regression). Checked on every
#: built-in dataset: each optimizer converges (by the ``tol`` rule) within the
#: default budget of 500 epochs and reaches the test score of the others.
LEARNING_RATES = {
    "regression": {"gd": 0.3, "sgd": 0.03, "momentum": 0.003, "rmsprop": 0.003, "adam": 0.01},
    "classification": {"gd": 1.0, "sgd": 0.3, "momentum": 0.1, "rmsprop": 0.03, "adam": 0.03},
}

#: A numeric target with at most this many distinct integer values is taken
#: as class labels when ``--task`` is not given.
MAX_INFERRED_CLASSES = 20

#: ``compare`` and ``tune`` fix the loss and the penalty to the estimators'
#: defaults; ``_final_objective`` computes exactly this objective.
ALPHA = 1e-4


class CLIError(Exception):
    """Bad arguments or input: printed as one line on stderr, exit code 2."""


class Data:
    """A standard-scaled (or raw) train/test split and what it came from."""

    def __init__(self, *, name, task, X_train, X_test, y_train, y_test,
                 n_features, scaled_X, scaled_y):
        self.name = name
        self.task = task
        self.X_train, self.X_test = X_train, X_test
        self.y_train, self.y_test = y_train, y_test
        self.n_features = n_features
        self.scaled_X = scaled_X
        self.scaled_y = scaled_y

    def describe(self):
        """One line: dataset, task, sizes and the scaling applied."""
        scaling = []
        if self.scaled_X:
            scaling.append("features standard-scaled")
        if self.scaled_y:
            scaling.append("target standardized")
        text = (
            f"{self.name} ({self.task}): {self.X_train.shape[0]} train / "
            f"{self.X_test.shape[0]} test samples, {self.n_features} features"
        )
        if self.task == "classification":
            text += f", {np.unique(self.y_train).size} classes"
        return text + (", " + ", ".join(scaling) if scaling else "")

    def metadata(self):
        """The description as a JSON-ready dict."""
        return {
            "dataset": self.name,
            "task": self.task,
            "n_train": int(self.X_train.shape[0]),
            "n_test": int(self.X_test.shape[0]),
            "n_features": int(self.n_features),
            "features_scaled": self.scaled_X,
            "target_standardized": self.scaled_y,
        }


# ---------------------------------------------------------------- data


def load_builtin(name, task, seed):
    """``(X, y, task)`` of a built-in dataset (no download)."""
    from sklearn import datasets

    own_task = DATASET_TASKS[name]
    if name == "synthetic":
        task = task or own_task
        if task == "regression":
            X, y = datasets.make_regression(
                n_samples=1000, n_features=20, n_informative=10, noise=20.0,
                random_state=seed,
            )
        else:
            X, y = datasets.make_classification(
                n_samples=1000, n_features=20, n_informative=10, random_state=seed,
            )
        return X, y, task
    if task is not None and task != own_task:
        raise CLIError(
            f"--dataset {name} is a {own_task} dataset; --task {task} does not "
            f"apply to it. Omit --task, or use --dataset synthetic --task {task}."
        )
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return X, y, own_task


def _read_text(path):
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return handle.read()
    except IsADirectoryError:
        raise CLIError(f"--csv {path} is a directory; pass a CSV file.") from None
    except FileNotFoundError:
        raise CLIError(f"--csv {path}: no such file.") from None
    except UnicodeDecodeError:
        raise CLIError(f"--csv {path} is not a UTF-8 text file.") from None
    except OSError as exc:
        raise CLIError(f"--csv {path} cannot be read: {exc.strerror}.") from None


def read_csv(path, target):
    """Features and target column of a CSV table with a header row.

    Every feature column must be numeric; the target may hold class labels
    (any text) or numbers. The delimiter is detected among ``,``, ``;`` and
    tab.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        float when every value is a number, else the labels as str.
    """
    text = _read_text(path)
    if not text.strip():
        raise CLIError(
            f"--csv {path} is empty: expected a header row of column names "
            "and at least one row of data."
        )
    try:
        dialect = csv.Sniffer().sniff(text[:65536], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = [(n, row) for n, row in enumerate(csv.reader(io.StringIO(text), dialect), 1)
                if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise CLIError(f"--csv {path} is not a readable CSV file: {exc}.") from None
    if not rows:
        raise CLIError(f"--csv {path} is empty: expected a header row and data rows.")
    (_, header), body = rows[0], rows[1:]
    header = [name.strip() for name in header]
    if target not in header:
        raise CLIError(
            f"--target {target!r} is not a column of {path}; its columns are "
            f"{', '.join(repr(h) for h in header)}."
        )
    if not body:
        raise CLIError(f"--csv {path} has a header but no data rows.")
    if len(header) < 2:
        raise CLIError(
            f"--csv {path} has only the target column {target!r}: there is no "
            "feature to learn from."
        )
    for line, row in body:
        if len(row) != len(header):
            raise CLIError(
                f"--csv {path}, line {line}: {len(row)} fields where the header "
                f"has {len(header)}."
            )
    t = header.index(target)
    X = np.empty((len(body), len(header) - 1))
    for j, col in enumerate(c for c in range(len(header)) if c != t):
        for i, (line, row) in enumerate(body):
            cell = row[col].strip()
            X[i, j] = _number(cell, header[col], path, line)
    labels = [row[t].strip() for _, row in body]
    for (line, _), label in zip(body, labels):
        if label == "":
            raise CLIError(
                f"--csv {path}, line {line}: the target column {target!r} is "
                "empty. Fill in or drop the rows without a target."
            )
    try:
        y = np.array([float(v) for v in labels])
        if not np.all(np.isfinite(y)):
            raise ValueError
    except ValueError:
        y = np.array(labels)
    return X, y


def _number(cell, column, path, line):
    if cell == "":
        raise CLIError(
            f"--csv {path}, line {line}: column {column!r} has a missing value. "
            "Fill it in or drop the row."
        )
    try:
        value = float(cell)
    except ValueError:
        raise CLIError(
            f"--csv {path}, line {line}: column {column!r} holds {cell!r}, which "
            "is not a number. Feature columns must be numeric: encode or drop "
            "that column."
        ) from None
    if not math.isfinite(value):
        raise CLIError(
            f"--csv {path}, line {line}: column {column!r} holds {cell!r}; "
            "features must be finite numbers."
        )
    return value


def infer_task(y):
    """``"classification"`` for labels or a few integer values, else regression.

    Text labels are classes; numbers are classes when there are at most
    :data:`MAX_INFERRED_CLASSES` distinct integer values (scikit-learn's
    ``type_of_target`` says ``"binary"`` or ``"multiclass"``).
    """
    if y.dtype.kind not in "iuf":
        return "classification"
    kind = type_of_target(y)
    if kind == "binary" or (kind == "multiclass" and np.unique(y).size <= MAX_INFERRED_CLASSES):
        return "classification"
    return "regression"


def check_task(y, task, source):
    """The task for ``y``: inferred when None, else checked against ``y``."""
    if task is None:
        return infer_task(y)
    if task == "regression" and y.dtype.kind not in "iuf":
        example = str(next(v for v in y if not _is_float(v)))
        raise CLIError(
            f"--task regression needs a numeric target, but {source} holds "
            f"{example!r}. Use --task classification, or a numeric target."
        )
    if task == "classification" and y.dtype.kind in "f" and type_of_target(y) == "continuous":
        example = float(next(v for v in y if v != int(v)))
        raise CLIError(
            f"--task classification needs class labels, but {source} holds "
            f"continuous values such as {example:g}. Use --task regression."
        )
    return task


def _is_float(value):
    try:
        float(value)
    except ValueError:
        return False
    return True


def load_data(args, *, scale_X=True):
    """The train/test split that ``args`` asks for.

    Features are standard-scaled with the training part's statistics when
    ``scale_X`` (``tune`` scales inside its pipeline instead); a regression
    target is always standardized, which leaves R^2 unchanged and lets the
    same learning rates serve every dataset.
    """
    if args.csv is not None:
        X, y = read_csv(args.csv, args.target)
        task = check_task(y, args.task, f"column {args.target!r}")
        name = os.path.basename(args.csv)
    else:
        X, y, task = load_builtin(args.dataset, args.task, args.seed)
        name = args.dataset
    n_test = math.ceil(args.test_size * X.shape[0])
    if X.shape[0] - n_test < 2 or n_test < 1:
        raise CLIError(
            f"{name} has {X.shape[0]} rows: too few for a train/test split with "
            f"--test-size {args.test_size}. Give at least 4 rows."
        )
    stratify = y if task == "classification" else None
    try:
        split = train_test_split(X, y, test_size=args.test_size,
                                 random_state=args.seed, stratify=stratify)
    except ValueError:  # a class with one member cannot be stratified
        split = train_test_split(X, y, test_size=args.test_size, random_state=args.seed)
    X_train, X_test, y_train, y_test = split
    if task == "classification" and np.unique(y_train).size < 2:
        raise CLIError(
            f"the training part of {name} has a single class, "
            f"{np.unique(y_train)[0]!r}: classification needs at least two."
        )
    if scale_X:
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    if task == "regression":
        target = StandardScaler().fit(y_train.reshape(-1, 1))
        y_train = target.transform(y_train.reshape(-1, 1)).ravel()
        y_test = target.transform(y_test.reshape(-1, 1)).ravel()
    return Data(name=name, task=task, X_train=X_train, X_test=X_test,
                y_train=y_train, y_test=y_test, n_features=X.shape[1],
                scaled_X=scale_X, scaled_y=task == "regression")


# ------------------------------------------------------------- estimators


def estimator_class(task):
    """GradientRegressor or GradientClassifier."""
    return GradientRegressor if task == "regression" else GradientClassifier


def backend_params(backend):
    """``{"backend": backend}``, after checking that CuPy can run for ``"cupy"``."""
    if backend == "cupy":
        try:
            import_cupy()
        except ImportError as exc:
            raise CLIError(f"--backend cupy: {exc}") from exc
    return {"backend": backend}


def _final_objective(est, X, y, task):
    """Training objective at the final weights: mean loss + ``ALPHA * ||w||^2 / 2``.

    The same quantity for every optimizer (the loss curve's points are the
    per-epoch averages over mini-batches), and for the reference solution.
    """
    if task == "regression":
        residual = to_numpy(est.predict(X)) - y
        loss = 0.5 * float(np.mean(residual**2))
    else:
        proba = to_numpy(est.predict_proba(X))
        loss = float(log_loss(y, proba, labels=est.classes_))
    coef = to_numpy(est.coef_)
    return loss + 0.5 * ALPHA * float(np.sum(coef * coef))


def reference_solution(data):
    """The exact minimiser of the objective, from scikit-learn's own solvers.

    ``Ridge(alpha=ALPHA * n)`` for regression and
    ``LogisticRegression(C=1 / (ALPHA * n))`` for classification minimise
    the same objective as the estimators with ``penalty="l2"``.
    """
    from sklearn.linear_model import LogisticRegression, Ridge

    n = data.X_train.shape[0]
    if data.task == "regression":
        est, text = Ridge(alpha=ALPHA * n), f"Ridge(alpha={ALPHA:g} * {n})"
    else:
        est = LogisticRegression(C=1.0 / (ALPHA * n), tol=1e-10, max_iter=10_000)
        text = f"LogisticRegression(C=1 / ({ALPHA:g} * {n}))"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(data.X_train, data.y_train)
    return {
        "estimator": text,
        "objective": _final_objective(est, data.X_train, data.y_train, data.task),
        "test_score": float(est.score(data.X_test, data.y_test)),
    }


def _status(est, caught, max_iter):
    messages = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    if any("diverge" in m for m in messages):
        return "diverged"
    return "max_iter" if est.n_iter_ >= max_iter else "converged"


def run_compare(data, *, learning_rates, max_iter, tol, seed, batch_size, extra_params):
    """Fit each optimizer on ``data``; return ``(rows, fitted estimators)``."""
    Estimator = estimator_class(data.task)
    rows, fitted = [], {}
    for optimizer in OPTIMIZERS:
        est = Estimator(
            optimizer=optimizer, learning_rate=learning_rates[optimizer],
            max_iter=max_iter, tol=tol, batch_size=batch_size, penalty="l2", alpha=ALPHA,
            random_state=seed, **extra_params,
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            start = time.perf_counter()
            try:
                est.fit(data.X_train, data.y_train)
            except ValueError as exc:
                raise CLIError(f"fitting {optimizer} failed on {data.name}: {exc}") from None
            elapsed = time.perf_counter() - start
        fitted[optimizer] = est
        rows.append({
            "optimizer": optimizer,
            "learning_rate": learning_rates[optimizer],
            "objective": _final_objective(est, data.X_train, data.y_train, data.task),
            "test_score": float(est.score(data.X_test, data.y_test)),
            "epochs": int(est.n_iter_),
            "time_s": elapsed,
            "status": _status(est, caught, max_iter),
            "loss_curve": [float(v) for v in est.loss_curve_],
        })
    return rows, fitted


def score_name(task):
    """The name of the estimators' ``score``: R^2 or accuracy."""
    return "R^2" if task == "regression" else "accuracy"


def format_table(rows, task):
    """The compare table as aligned text."""
    header = ["optimizer", "learning_rate", "objective", f"test {score_name(task)}",
              "epochs", "time (s)", "status"]
    cells = [[
        r["optimizer"], f"{r['learning_rate']:g}", f"{r['objective']:.5f}",
        f"{r['test_score']:.4f}", str(r["epochs"]), f"{r['time_s']:.3f}", r["status"],
    ] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    left = {0, 6}

    def line(values):
        return "  ".join(v.ljust(w) if i in left else v.rjust(w)
                         for i, (v, w) in enumerate(zip(values, widths))).rstrip()

    return "\n".join([line(header)] + [line(c) for c in cells])


def save_plot(fitted, path, title):
    """Write the loss curves of ``fitted`` (name -> estimator) as an image."""
    from matplotlib.figure import Figure

    from ._plotting import LossCurveDisplay

    figure = Figure(figsize=(7, 4.5), layout="constrained")
    ax = figure.subplots()
    LossCurveDisplay.from_estimators(fitted, ax=ax, log_scale=True)
    ax.set_title(title)
    ax.set_ylabel("training objective (log scale)")
    try:
        figure.savefig(path, dpi=100)
    except (OSError, ValueError) as exc:
        raise CLIError(f"--plot {path} cannot be written: {exc}") from None


def _plot_target(args):
    """The PNG path to write, or None; fails early if it cannot be written."""
    if args.no_plot:
        return None
    has_mpl = importlib.util.find_spec("matplotlib") is not None
    if args.plot is None:
        if not has_mpl:
            print("note: matplotlib is not installed, so no plot is written; "
                  "pip install 'sk-gradopt[plot]' to get loss_curves.png.",
                  file=sys.stderr)
            return None
        return "loss_curves.png"
    if not has_mpl:
        raise CLIError(
            f"--plot {args.plot} needs matplotlib: pip install 'sk-gradopt[plot]' "
            "(or pass --no-plot)."
        )
    folder = os.path.dirname(os.path.abspath(args.plot))
    if not os.path.isdir(folder):
        raise CLIError(f"--plot {args.plot}: the folder {folder} does not exist.")
    return args.plot


def cmd_compare(args):
    """``sk-gradopt compare``."""
    plot = _plot_target(args)
    data = load_data(args)
    extra = backend_params(args.backend)
    learning_rates = dict(LEARNING_RATES[data.task])
    for name, value in args.learning_rate or []:
        for optimizer in OPTIMIZERS if name == "all" else [name]:
            learning_rates[optimizer] = value
    rows, fitted = run_compare(
        data, learning_rates=learning_rates, max_iter=args.max_iter, tol=args.tol,
        seed=args.seed, batch_size=args.batch_size, extra_params=extra,
    )
    reference = reference_solution(data)
    if plot is not None:
        save_plot(fitted, plot, f"{data.name}: training objective per epoch")
    if args.json:
        result = {
            "command": "compare", **data.metadata(), "score": score_name(data.task),
            "max_iter": args.max_iter, "tol": args.tol, "random_state": args.seed,
            "backend": args.backend, "plot": plot, "results": rows,
            "reference": reference,
        }
        print(json.dumps(_jsonable(result), indent=2))
        return EXIT_OK
    print(f"sk-gradopt compare: {data.describe()}")
    print(f"same budget for each optimizer: at most {args.max_iter} epochs "
          f"(tol={args.tol}), batch_size={args.batch_size}, random_state={args.seed}")
    print()
    print(format_table(rows, data.task))
    print()
    print(f"reference (exact minimiser, {reference['estimator']}): objective "
          f"{reference['objective']:.5f}, test {score_name(data.task)} "
          f"{reference['test_score']:.4f}")
    print(f"objective: mean training loss + {ALPHA:g} * ||coef||^2 / 2 at the final "
          f"weights; test {score_name(data.task)} on the held-out part.")
    if plot is not None:
        print(f"loss curves written to {plot}")
    return EXIT_OK


# ------------------------------------------------------------------ tune


class _CountingScorer:
    """A scorer that appends one byte to a file each time a fit is scored.

    Searches score each fitted candidate once on its test fold, in whatever
    process fitted it, so the file's size counts the fits done across
    ``n_jobs`` worker processes.
    """

    def __init__(self, scorer, path):
        self.scorer = scorer
        self.path = path

    def __call__(self, estimator, X, y=None, **kwargs):
        try:
            return self.scorer(estimator, X, y, **kwargs)
        finally:
            with open(self.path, "ab") as f:
                f.write(b".")


class ProgressBar:
    """A one-line text progress bar on stderr, fed by counting a file's bytes."""

    def __init__(self, path, label, total=None, *, n_splits=1, stream=None, interval=0.1):
        self.path = path
        self.label = label
        self.total = total
        # without a total known in advance, each round of the search adds its own
        self.grows = total is None
        self.n_splits = n_splits
        self.stream = sys.stderr if stream is None else stream
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._start = time.perf_counter()
        self._shown = None

    def add_total(self, n):
        """A search announced ``n`` more fits (halving: one round at a time)."""
        self.total = (self.total or 0) + n

    def done(self):
        """Fits finished so far."""
        try:
            return os.path.getsize(self.path)
        except OSError:
            return 0

    def render(self, done):
        """The bar's text for ``done`` fits."""
        elapsed = time.perf_counter() - self._start
        if not self.total:
            return f"{self.label}: {done} fits  {elapsed:.1f} s"
        done = min(done, self.total)
        width = 30
        filled = int(width * done / self.total)
        bar = "#" * filled + "-" * (width - filled)
        return (f"{self.label}: [{bar}] {done}/{self.total} fits "
                f"({100 * done / self.total:3.0f}%)  {elapsed:.1f} s")

    def _show(self, done):
        if (done, self.total) != self._shown:
            self.stream.write("\r" + self.render(done))
            self.stream.flush()
            self._shown = (done, self.total)

    def _run(self):
        while not self._stop.wait(self.interval):
            self._show(self.done())

    def __enter__(self):
        self._show(0)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._show(self.done())
        self.stream.write("\n")
        self.stream.flush()


def _announcing(Search, progress):
    """``Search`` whose rounds announce their number of fits to ``progress``.

    For the halving searches, whose later rounds are sized as they go: each
    call of ``evaluate_candidates`` (the documented hook of custom searches)
    adds its candidates times the folds to the bar's total.
    """

    def _run_search(self, evaluate_candidates, *args, **kwargs):
        def announce(candidate_params, *a, **k):
            candidate_params = list(candidate_params)
            progress.add_total(len(candidate_params) * progress.n_splits)
            return evaluate_candidates(candidate_params, *a, **k)

        return Search._run_search(self, announce, *args, **kwargs)

    # scikit-learn reads the signature to decide which arguments to pass
    _run_search.__signature__ = inspect.signature(Search._run_search)
    return type(Search.__name__, (Search,), {"_run_search": _run_search,
                                             "__module__": __name__})


def make_search(kind, estimator, prefix, *, n_iter, cv, n_jobs, seed, scoring):
    """The searcher of ``--search kind`` over :func:`sk_gradopt.search_space`.

    Returns
    -------
    search : BaseSearchCV
        Not fitted.
    planned : int or None
        Number of candidates it will evaluate, when known in advance.
    """
    common = {"cv": cv, "n_jobs": n_jobs, "scoring": scoring}
    if kind == "grid":
        from sklearn.model_selection import GridSearchCV, ParameterGrid

        space = search_space("all", "grid", prefix=prefix)
        return (GridSearchCV, dict(estimator=estimator, param_grid=space, **common),
                len(ParameterGrid(space)))
    if kind == "random":
        from sklearn.model_selection import RandomizedSearchCV

        return (RandomizedSearchCV,
                dict(estimator=estimator, param_distributions=search_space("all", "random", prefix=prefix),
                     n_iter=n_iter, random_state=seed, **common),
                n_iter)
    if kind == "halving":
        from sklearn.experimental import enable_halving_search_cv  # noqa: F401
        from sklearn.model_selection import HalvingGridSearchCV

        return (HalvingGridSearchCV,
                dict(estimator=estimator, param_grid=search_space("all", "grid", prefix=prefix),
                     factor=3, random_state=seed, **common),
                None)
    if importlib.util.find_spec("skopt") is None:
        raise CLIError(
            "--search bayes needs scikit-optimize: pip install 'sk-gradopt[skopt]'."
        )
    from skopt import BayesSearchCV

    space = search_space("all", "bayes", prefix=prefix)
    # --n-iter candidates in total, shared out over the per-optimizer spaces
    share = [n_iter // len(space) + (i < n_iter % len(space)) for i in range(len(space))]
    spaces = [(s, n) for s, n in zip(space, share) if n > 0]
    initial = max(1, min(10, min(n for _, n in spaces) // 2))
    return (BayesSearchCV,
            dict(estimator=estimator, search_spaces=spaces, n_iter=n_iter,
                 random_state=seed, optimizer_kwargs={"n_initial_points": initial,
                                                 "acq_optimizer": "sampling"},
                 **common),
            sum(n for _, n in spaces))


def cmd_tune(args):
    """``sk-gradopt tune``."""
    if args.search in ("grid", "halving") and args.n_iter is not None:
        print(f"note: --n-iter is ignored by --search {args.search}, which "
              "evaluates the whole grid.", file=sys.stderr)
    n_iter = 20 if args.n_iter is None else args.n_iter
    data = load_data(args, scale_X=False)
    Estimator = estimator_class(data.task)
    extra = backend_params(args.backend)
    step = Estimator(max_iter=args.max_iter, tol=args.tol, penalty="l2", alpha=ALPHA,
                     random_state=args.seed, **extra)
    pipeline = make_pipeline(StandardScaler(), step)
    prefix = f"{pipeline.steps[-1][0]}__"
    cv = check_cv(args.cv, data.y_train, classifier=is_classifier(pipeline))
    n_splits = cv.get_n_splits(data.X_train, data.y_train)

    with tempfile.TemporaryDirectory(prefix="sk-gradopt-") as tmp:
        counter = os.path.join(tmp, "fits")
        open(counter, "wb").close()
        scoring = _CountingScorer(check_scoring(pipeline), counter)
        Search, params, planned = make_search(
            args.search, pipeline, prefix, n_iter=n_iter, cv=cv,
            n_jobs=args.n_jobs, seed=args.seed, scoring=scoring,
        )
        progress = None
        if not args.no_progress:
            progress = ProgressBar(counter, f"tune {args.search}",
                                   None if planned is None else planned * n_splits,
                                   n_splits=n_splits)
        if progress is not None and progress.grows:
            Search = _announcing(Search, progress)
        search = Search(**params)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            try:
                if progress is None:
                    search.fit(data.X_train, data.y_train)
                else:
                    with progress:
                        search.fit(data.X_train, data.y_train)
            except ValueError as exc:
                raise CLIError(f"the search failed on {data.name}: {exc}") from None
        elapsed = time.perf_counter() - start
        test_score = float(search.best_estimator_.score(data.X_test, data.y_test))

    n_candidates = len(search.cv_results_["params"])
    best_params = {
        key.removeprefix(prefix): _jsonable(value)
        for key, value in sorted(search.best_params_.items(),
                                 key=lambda item: (not item[0].endswith("optimizer"), item[0]))
    }
    result = {
        "command": "tune", **data.metadata(), "search": args.search,
        "score": score_name(data.task), "best_params": best_params,
        "best_score": float(search.best_score_), "test_score": test_score,
        "n_candidates": n_candidates, "n_splits": int(n_splits),
        "n_fits": n_candidates * int(n_splits), "refit": True,
        "max_iter": args.max_iter, "tol": args.tol, "random_state": args.seed,
        "backend": args.backend, "time_s": elapsed,
    }
    if args.json:
        print(json.dumps(_jsonable(result), indent=2))
        return EXIT_OK
    print(f"sk-gradopt tune --search {args.search}: {data.describe()}")
    print(f"StandardScaler + {Estimator.__name__}(max_iter={args.max_iter}), "
          f"{n_splits}-fold cross-validation, scored by {score_name(data.task)}")
    print()
    print("best settings:")
    for key, value in best_params.items():
        print(f"  {key} = {value!r}")
    print(f"best CV {score_name(data.task)}: {search.best_score_:.4f}")
    print(f"test {score_name(data.task)} of the refitted best: {test_score:.4f}")
    print(f"fits: {result['n_fits']} ({n_candidates} candidates x {n_splits} folds) "
          f"+ 1 refit, in {elapsed:.1f} s")
    return EXIT_OK


def _jsonable(value):
    """``value`` with NumPy scalars as Python numbers and non-finite floats as None."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# ---------------------------------------------------------------- parser


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _n_jobs(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value == 0:
        raise argparse.ArgumentTypeError("0 jobs; use a positive count or -1 (all cores)")
    return value


def _cv_folds(text):
    value = _positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"{value} fold; cross-validation needs at least 2")
    return value


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not between 0 and 1 (exclusive)")
    return value


def _tol(text):
    if text.lower() == "none":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number or 'none'") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"{value} must be a non-negative number")
    return value


def _batch_size(text):
    return "auto" if text == "auto" else _positive_int(text)


def _learning_rate(text):
    """``0.01`` (every optimizer) or ``adam=0.01``."""
    name, sep, number = text.rpartition("=")
    name = name.strip() if sep else "all"
    if name not in ("all", *OPTIMIZERS):
        raise argparse.ArgumentTypeError(
            f"unknown optimizer {name!r}; use one of {', '.join(OPTIMIZERS)}, "
            "as NAME=RATE, or a bare RATE for all"
        )
    try:
        value = float(number)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{number!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{value} must be a positive number")
    return name, value


def _add_data_arguments(parser):
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--dataset", choices=DATASETS, default="diabetes",
        help="built-in dataset, no download (default: %(default)s)",
    )
    source.add_argument(
        "--csv", metavar="FILE",
        help="your own table: a CSV file with a header row and numeric feature "
             "columns (needs --target)",
    )
    parser.add_argument("--target", metavar="COLUMN", help="the target column of --csv")
    parser.add_argument(
        "--task", choices=TASKS,
        help="regression or classification; inferred when not given (text "
             f"labels or at most {MAX_INFERRED_CLASSES} integer values: classification)",
    )
    parser.add_argument("--test-size", type=_fraction, default=0.25, metavar="FRACTION",
                        help="held-out fraction (default: %(default)s)")
    parser.add_argument("--max-iter", type=_positive_int, default=500, metavar="N",
                        help="epoch budget of every fit (default: %(default)s)")
    parser.add_argument("--tol", type=_tol, default=1e-4,
                        help="stopping tolerance of every fit; 'none' runs exactly "
                             "--max-iter epochs (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, metavar="N",
                        help="random_state of the split, the data and the fits "
                             "(default: %(default)s)")
    parser.add_argument(
        "--backend", choices=("numpy", "cupy"), default="numpy",
        help="array backend of the estimators; cupy trains on an NVIDIA GPU "
             "(default: %(default)s)",
    )
    parser.add_argument("--json", action="store_true",
                        help="print the results as JSON on stdout")


def build_parser():
    """The argparse parser of ``sk-gradopt``."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="sk-gradopt",
        description="Race and tune the gradient optimizers of GradientRegressor "
                    "and GradientClassifier on a dataset.",
        epilog="Exit codes: 0 success, 2 bad arguments or input.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    compare = commands.add_parser(
        "compare", help="fit the five optimizers with the same budget and compare them",
        description="Fit gd, sgd, momentum, rmsprop and adam on the same data with "
                    "the same epoch budget and seed; print a table of the final "
                    "training objective, test score, epochs and wall time, and "
                    "plot the loss curves.",
    )
    _add_data_arguments(compare)
    compare.add_argument("--plot", metavar="FILE",
                         help="image of the loss curves (default: loss_curves.png)")
    compare.add_argument("--no-plot", action="store_true", help="write no image")
    compare.add_argument(
        "--learning-rate", metavar="[NAME=]RATE", type=_learning_rate, action="append",
        help="learning rate of one optimizer (adam=0.01), or of all (0.01); "
             "repeatable. Defaults suit standard-scaled data.",
    )
    compare.add_argument("--batch-size", type=_batch_size, default="auto", metavar="N|auto",
                         help="mini-batch size of sgd, momentum, rmsprop and adam "
                              "(default: %(default)s = min(200, n_samples))")
    compare.set_defaults(handler=cmd_compare)

    tune = commands.add_parser(
        "tune", help="search the optimizers and their learning rates by cross-validation",
        description="Search over the optimizer and its learning rate with "
                    "cross-validation; print the best settings, the best CV score "
                    "and the number of fits.",
    )
    _add_data_arguments(tune)
    tune.add_argument("--search", choices=SEARCHES, default="grid",
                      help="GridSearchCV, RandomizedSearchCV, scikit-optimize's "
                           "BayesSearchCV or HalvingGridSearchCV (default: %(default)s)")
    tune.add_argument("--n-iter", type=_positive_int, metavar="N",
                      help="candidates sampled in total by random and bayes (default: 20)")
    tune.add_argument("--cv", type=_cv_folds, default=3, metavar="N",
                      help="cross-validation folds (default: %(default)s)")
    tune.add_argument("--n-jobs", type=_n_jobs, default=1, metavar="N",
                      help="parallel fits; -1 uses all cores (default: %(default)s)")
    tune.add_argument("--no-progress", action="store_true",
                      help="no progress bar on stderr")
    tune.set_defaults(handler=cmd_tune)
    return parser


def main(argv=None):
    """Run ``sk-gradopt``; return the exit code.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments; None reads ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 2 for bad arguments or input.
    """
    parser = build_parser()
    args = parser.parse_args(argv)  # exits with 2 on a bad argument
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if args.csv is not None and args.target is None:
        parser.error("--csv needs --target COLUMN, the column to predict")
    if args.target is not None and args.csv is None:
        parser.error("--target only applies with --csv FILE")
    try:
        return args.handler(args)
    except CLIError as exc:
        print(f"{parser.prog} {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"\n{parser.prog} {args.command}: interrupted", file=sys.stderr)
        return 130
