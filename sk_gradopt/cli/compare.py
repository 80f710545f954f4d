"""``sk-gradopt compare``: the five optimizers on one dataset, same budget.

Each optimizer's row says what happened to its fit (:func:`fit_status`),
judged against the exact minimiser of the same objective
(:func:`reference_solution`).
"""

import json
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss

from .._array_api import to_numpy
from .._optimizers import OPTIMIZERS
from .common import (ALPHA, EXIT_OK, CLIError, backend_params, estimator_class, jsonable,
                     model_params, new_figure, penalised_weights, plot_path, score_name,
                     write_figure)
from .data import load_data

#: Learning rate of each optimizer in ``compare``, per task, for standard-scaled
#: features (and a standardized target in regression). Checked on every
#: built-in dataset: each optimizer stops by the ``tol`` rule within the
#: default budget of 500 epochs and reaches the test score of the others.
LEARNING_RATES = {
    "regression": {"gd": 0.3, "sgd": 0.03, "momentum": 0.003, "rmsprop": 0.003, "adam": 0.01},
    "classification": {"gd": 1.0, "sgd": 0.3, "momentum": 0.1, "rmsprop": 0.03, "adam": 0.03},
}

#: A fit whose final objective is within this fraction of the reference
#: objective (above it) is ``optimal``.
OPTIMAL_RTOL = 0.01

#: The statuses of a fit, most telling first (see :func:`fit_status`).
OPTIMAL = f"optimal (within {OPTIMAL_RTOL:.0%})"
DIVERGED = "diverged"
MAX_ITER = "max_iter reached"
NO_IMPROVEMENT = "stopped (no improvement)"

#: Where ``--plot`` writes when not given, and the file written in a folder.
DEFAULT_PLOT = "loss_curves.png"


def final_objective(est, X, y, task):
    """Training objective at the final weights: mean loss + ``ALPHA * ||W||^2 / 2``.

    The same quantity for every optimizer (the loss curve's points are the
    per-epoch averages over mini-batches), and for the reference solution.
    """
    if task == "regression":
        residual = to_numpy(est.predict(X)) - y
        loss = 0.5 * float(np.mean(residual**2))
    else:
        proba = to_numpy(est.predict_proba(X))
        loss = float(log_loss(y, proba, labels=est.classes_))
    squares = sum(float(np.sum(to_numpy(w) ** 2)) for w in penalised_weights(est))
    return loss + 0.5 * ALPHA * squares


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
        "objective": final_objective(est, data.X_train, data.y_train, data.task),
        "test_score": float(est.score(data.X_test, data.y_test)),
    }


def stopped_by(est, caught, max_iter):
    """Why the fit stopped: ``"diverged"``, ``"max_iter"`` or ``"no improvement"``.

    ``caught`` are the warnings the fit raised: a diverging fit says so in a
    ``ConvergenceWarning``. A fit that used fewer than ``max_iter`` epochs
    was stopped by the ``tol`` / ``n_iter_no_change`` rule.
    """
    messages = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    if any("diverge" in m for m in messages):
        return "diverged"
    return "max_iter" if est.n_iter_ >= max_iter else "no improvement"


def objective_gap(objective, reference):
    """How far ``objective`` is above the reference, relative to it."""
    return (objective - reference) / max(abs(reference), np.finfo(float).tiny)


def fit_status(stop, gap):
    """The status column: what happened to a fit.

    ``diverged`` (the learning rate is too large); else ``optimal (within
    1%)`` when the final objective is within :data:`OPTIMAL_RTOL` of the
    reference; else why it stopped short of that: ``stopped (no
    improvement)`` by the ``tol`` rule, or ``max_iter reached``.
    """
    if stop == "diverged":
        return DIVERGED
    if gap is not None and gap <= OPTIMAL_RTOL:
        return OPTIMAL
    return MAX_ITER if stop == "max_iter" else NO_IMPROVEMENT


def run_compare(data, *, learning_rates, max_iter, tol, seed, batch_size, extra_params,
                reference, hidden=None):
    """Fit each optimizer on ``data``; return ``(rows, fitted estimators)``.

    With ``hidden`` sizes the estimators are MLPs: the linear reference is
    then a baseline, not the optimum of their objective, and no fit is
    called optimal.
    """
    Estimator = estimator_class(data.task, hidden)
    extra_params = {**extra_params, **model_params(hidden)}
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
        objective = final_objective(est, data.X_train, data.y_train, data.task)
        stop = stopped_by(est, caught, max_iter)
        gap = None if hidden else objective_gap(objective, reference["objective"])
        rows.append({
            "optimizer": optimizer,
            "learning_rate": learning_rates[optimizer],
            "objective": objective,
            "test_score": float(est.score(data.X_test, data.y_test)),
            "epochs": int(est.n_iter_),
            "time_s": elapsed,
            "status": fit_status(stop, gap),
            "stopped_by": stop,
            "objective_gap": gap,
            "loss_curve": [float(v) for v in est.loss_curve_],
        })
    return rows, fitted


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


# ------------------------------------------------------------------ plot


def save_plot(fitted, path, title):
    """Write the loss curves of ``fitted`` (name -> estimator) as an image."""
    from .._plotting import LossCurveDisplay

    figure, ax = new_figure()
    LossCurveDisplay.from_estimators(fitted, ax=ax, log_scale=True)
    ax.set_title(title)
    ax.set_ylabel("training objective (log scale)")
    write_figure(figure, path)


def plotted(rows, fitted):
    """The fits to plot: all but the diverged ones (and any without a curve)."""
    return {r["optimizer"]: fitted[r["optimizer"]] for r in rows
            if r["stopped_by"] != "diverged" and r["loss_curve"]}


# ------------------------------------------------------------------- run


def run(args):
    """``sk-gradopt compare``: fit, print the table or JSON, plot; return 0."""
    plot = plot_path(args, DEFAULT_PLOT)
    data = load_data(args)
    extra = backend_params(args.backend)
    learning_rates = dict(LEARNING_RATES[data.task])
    for name, value in args.learning_rate or []:
        for optimizer in OPTIMIZERS if name == "all" else [name]:
            learning_rates[optimizer] = value
    reference = reference_solution(data)
    rows, fitted = run_compare(
        data, learning_rates=learning_rates, max_iter=args.max_iter, tol=args.tol,
        seed=args.seed, batch_size=args.batch_size, extra_params=extra,
        reference=reference, hidden=args.hidden,
    )
    if plot is not None:
        curves = plotted(rows, fitted)
        left_out = [name for name in fitted if name not in curves]
        if left_out:
            print(f"note: not in the plot (diverged): {', '.join(left_out)}.",
                  file=sys.stderr)
        if curves:
            save_plot(curves, plot, f"{data.name}: training objective per epoch")
        else:
            print("note: no loss curve to plot: every optimizer diverged.",
                  file=sys.stderr)
            plot = None
    if args.json:
        result = {
            "command": "compare", **data.metadata(), "score": score_name(data.task),
            "max_iter": args.max_iter, "tol": args.tol, "random_state": args.seed,
            "backend": args.backend, "plot": plot, "optimal_rtol": OPTIMAL_RTOL,
            "results": rows, "reference": reference,
        }
        print(json.dumps(jsonable(result), indent=2))
        return EXIT_OK
    print(f"sk-gradopt compare: {data.describe()}")
    print(f"same budget for each optimizer: at most {args.max_iter} epochs "
          f"(tol={args.tol}), batch_size={args.batch_size}, random_state={args.seed}")
    print()
    print(format_table(rows, data.task))
    print()
    what = "linear baseline, the exact minimiser of the linear model" if args.hidden \
        else "exact minimiser"
    print(f"reference ({what}, {reference['estimator']}): objective "
          f"{reference['objective']:.5f}, test {score_name(data.task)} "
          f"{reference['test_score']:.4f}")
    print(f"objective: mean training loss + {ALPHA:g} * ||W||^2 / 2 at the final "
          f"weights; test {score_name(data.task)} on the held-out part.")
    if args.hidden:
        print(f"status: why the fit stopped: '{NO_IMPROVEMENT}' (the tol rule), "
              f"'{MAX_ITER}' or '{DIVERGED}' (learning rate too large); an MLP's "
              "optimum is unknown, so none is called optimal.")
    else:
        print(f"status: '{OPTIMAL}' = objective at most {OPTIMAL_RTOL:.0%} above the "
              f"reference; else why the fit stopped: '{NO_IMPROVEMENT}' (the tol rule), "
              f"'{MAX_ITER}' or '{DIVERGED}' (learning rate too large).")
    if plot is not None:
        print(f"loss curves written to {plot}")
    return EXIT_OK
