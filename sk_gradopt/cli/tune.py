"""``sk-gradopt tune``: a cross-validated search over the optimizers.

The search is scikit-learn's (or scikit-optimize's) over
:func:`sk_gradopt.search_space`, on a pipeline of ``StandardScaler`` and the
estimator. Its progress is scikit-learn's callback
:class:`sklearn.callback.ProgressBar`, set on the search: the search hands
it to the fits in its worker processes, which report back to it.
"""

import contextlib
import json
import sys
import time
import warnings

import numpy as np
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.model_selection import check_cv
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .._optimizers import DEFAULT_RACE
from .._search import search_space
from .common import (ALPHA, EXIT_OK, CLIError, backend_params, estimator_class, model_params,
                     has_module, jsonable, optional_import, score_name)
from .data import load_data
from .folds import RARE_CLASS_WARNING, check_folds, fit_failures

#: Candidates of ``random`` and ``bayes`` when ``--n-iter`` is not given.
DEFAULT_N_ITER = 20

#: Successive halving keeps the best third of the candidates each round.
HALVING_FACTOR = 3


def make_search(kind, estimator, prefix, *, n_iter, cv, n_jobs, seed, max_iter,
                optimizers=DEFAULT_RACE):
    """The searcher of ``--search kind`` over :func:`sk_gradopt.search_space`.

    ``optimizers``: the names of ``--optimizer``; by default the five
    classics, as ``compare`` races them.

    ``halving`` spends epochs, not samples: every candidate of the first
    round is fitted on all the training folds for a few epochs (so that its
    score is a real one), the best third for three times as many, up to
    ``max_iter``. Halving over samples gave the first round about six
    samples on a regression, too few for an R^2, and then kept the first
    candidates of the grid.

    Returns
    -------
    search : BaseSearchCV
        Not fitted.
    """
    common = {"cv": cv, "n_jobs": n_jobs}
    optimizers = list(dict.fromkeys(optimizers))
    if kind == "grid":
        from sklearn.model_selection import GridSearchCV

        return GridSearchCV(estimator, search_space(optimizers, "grid", prefix=prefix),
                            **common)
    if kind == "random":
        from sklearn.model_selection import RandomizedSearchCV

        return RandomizedSearchCV(estimator, search_space(optimizers, "random", prefix=prefix),
                                  n_iter=n_iter, random_state=seed, **common)
    if kind == "halving":
        from sklearn.experimental import enable_halving_search_cv  # noqa: F401
        from sklearn.model_selection import HalvingGridSearchCV

        return HalvingGridSearchCV(
            estimator, search_space(optimizers, "grid", prefix=prefix),
            resource=f"{prefix}max_iter", max_resources=max_iter,
            min_resources="exhaust", factor=HALVING_FACTOR, random_state=seed, **common,
        )
    skopt = optional_import("skopt", needed_by="--search bayes", extra="skopt",
                            package="scikit-optimize")
    space = search_space(optimizers, "bayes", prefix=prefix)
    if n_iter < len(space):
        raise CLIError(
            f"--search bayes --n-iter {n_iter} is fewer than the {len(space)} "
            f"optimizers: BayesSearchCV searches one sub-space per optimizer, so "
            f"{', '.join(optimizers[n_iter:])} would not be searched at all. Give "
            f"--n-iter {len(space)} or more."
        )
    # --n-iter candidates in total, shared out over the per-optimizer spaces
    share = [n_iter // len(space) + (i < n_iter % len(space)) for i in range(len(space))]
    initial = max(1, min(10, min(share) // 2))
    return skopt.BayesSearchCV(
        estimator, list(zip(space, share)), n_iter=n_iter, random_state=seed,
        optimizer_kwargs={"n_initial_points": initial, "acq_optimizer": "sampling"},
        **common,
    )


def _stderr_is_terminal():
    """Whether stderr is a terminal, as rich decides it (``TTY_COMPATIBLE=1`` forces it)."""
    if has_module("rich"):
        from rich.console import Console

        return Console(stderr=True).is_terminal
    return sys.stderr.isatty()


@contextlib.contextmanager
def progress_bar(search, enabled):
    """Show scikit-learn's ``ProgressBar`` of ``search`` on stderr while in the block.

    The bar is set on the search itself (a bar set on the estimator makes
    every fit inside a search fail). It is shown only when stderr is a
    terminal: rich redraws it in place there, and would print its last
    frame, one line per task, into a file or a pipe. rich draws on stdout by
    default; the block moves it to stderr, so that ``--json`` keeps stdout
    clean, and restores it after.
    """
    if not enabled or not _stderr_is_terminal():
        yield
        return
    if not has_module("rich"):
        print("note: the progress bar needs rich: pip install 'sk-gradopt[progress]' "
              "(or pass --no-progress).", file=sys.stderr)
        yield
        return
    import rich
    from sklearn.callback import ProgressBar

    search.set_callbacks(ProgressBar(max_propagation_depth=0))
    console = rich.get_console()
    saved = dict(console.__dict__)
    rich.reconfigure(stderr=True)  # rich's documented way to redirect its console
    try:
        yield
    finally:
        console.__dict__ = saved


def warn_unscored(search, prefix, causes=()):
    """Print a warning on stderr if some candidates have a NaN score.

    Parameters
    ----------
    search : fitted BaseSearchCV
    prefix : str
        The estimator's prefix in the parameter names.
    causes : list of str, default=()
        The errors of the fits that failed (:func:`.folds.fit_failures`).

    Raises
    ------
    CLIError
        If no candidate has a score: there is no best one.
    """
    results = search.cv_results_
    scores = np.asarray(results["mean_test_score"], dtype=float)
    unscored = np.isnan(scores)
    because = f" The fits failed with: {'; '.join(causes)}" if causes else ""
    if not unscored.any():
        return
    if unscored.all():
        raise CLIError(
            f"no candidate of the search got a score: all {scores.size} "
            "cross-validated scores are NaN (the fits failed, or the test folds "
            f"are too small to score). Give more rows or fewer --cv folds.{because}"
        )
    optimizers = [str(p[f"{prefix}optimizer"]) for p in results["params"]]
    never = [name for name in dict.fromkeys(optimizers)
             if all(u for u, o in zip(unscored, optimizers) if o == name)]
    print(
        f"warning: {int(unscored.sum())} of {scores.size} candidates got no score "
        "(NaN): their fits failed or their test folds were too small to score"
        + (f"; never scored: {', '.join(never)}" if never else "") + f".{because}",
        file=sys.stderr,
    )


def _summary(exc):
    """The first line of an error and, for a long one, its last: the cause.

    ("All the 243 fits failed. ..." is followed by tracebacks that end with
    the error of the fits.)
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if len(lines) <= 1:
        return str(exc)
    return f"{lines[0]} ... {lines[-1]}"


def run(args):
    """``sk-gradopt tune``: search, print the best settings or JSON; return 0."""
    if args.search in ("grid", "halving") and args.n_iter is not None:
        print(f"note: --n-iter is ignored by --search {args.search}, which "
              "evaluates the whole grid.", file=sys.stderr)
    n_iter = DEFAULT_N_ITER if args.n_iter is None else args.n_iter
    optimizers = list(dict.fromkeys(getattr(args, "optimizer", None) or DEFAULT_RACE))
    n_optimizers = len(optimizers)
    if args.search == "random" and n_iter < n_optimizers:
        print(f"note: --n-iter {n_iter} samples fewer candidates than there are "
              f"optimizers: at most {n_iter} of the {n_optimizers} will be tried.",
              file=sys.stderr)
    data = load_data(args, scale_X=False)
    Estimator = estimator_class(data.task, args.hidden)
    extra = backend_params(args.backend)
    step = Estimator(max_iter=args.max_iter, tol=args.tol, schedule=args.schedule,
                     penalty="l2", alpha=ALPHA, random_state=args.seed, average=args.average,
                     **model_params(args.hidden), **extra)
    pipeline = make_pipeline(StandardScaler(), step)
    prefix = f"{pipeline.steps[-1][0]}__"
    cv = check_cv(args.cv, data.y_train, classifier=is_classifier(pipeline))
    n_splits = cv.get_n_splits(data.X_train, data.y_train)
    check_folds(cv, data.X_train, data.y_train, data.task)
    search = make_search(args.search, pipeline, prefix, n_iter=n_iter, cv=cv,
                         n_jobs=args.n_jobs, seed=args.seed, max_iter=args.max_iter,
                         optimizers=optimizers)

    start = time.perf_counter()
    # scikit-learn's FitFailedWarning is a traceback of some forty lines: it
    # is recorded and summed up in one line; the warnings of other kinds are
    # shown as usual after the search
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FitFailedWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", RARE_CLASS_WARNING, UserWarning)  # check_folds
        warnings.filterwarnings("ignore", "One or more of the .* scores are non-finite",
                                UserWarning)  # warn_unscored
        try:
            with progress_bar(search, not args.no_progress):
                search.fit(data.X_train, data.y_train)
            failed = None
        except ValueError as exc:
            failed = exc
    for record in caught:
        if not issubclass(record.category, FitFailedWarning):
            warnings.showwarning(record.message, record.category, record.filename,
                                 record.lineno)
    if failed is not None:
        raise CLIError(f"the search failed on {data.name}: {_summary(failed)}") from None
    elapsed = time.perf_counter() - start
    warn_unscored(search, prefix, fit_failures(caught))
    test_score = float(search.best_estimator_.score(data.X_test, data.y_test))

    n_candidates = len(search.cv_results_["params"])
    best_params = {
        key.removeprefix(prefix): jsonable(value)
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
        print(json.dumps(jsonable(result), indent=2))
        return EXIT_OK
    print(f"sk-gradopt tune --search {args.search}: {data.describe()}")
    structure = f"hidden_layer_sizes={args.hidden}, " if args.hidden else ""
    print(f"StandardScaler + {Estimator.__name__}({structure}max_iter={args.max_iter}), "
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
