"""``sk-gradopt compare``: the optimizers race on one dataset, each at its best rate.

The race is :func:`sk_gradopt.compare_optimizers` on the training part: the
learning rates are tuned on a validation part held out of it (unless
``--learning-rate`` fixes them), every optimizer gets the same epoch budget,
and each runs ``--n-seeds`` fits. Each optimizer's row says what happened
(:func:`fit_status`), judged against the exact minimiser of the same
objective (the comparison's reference), with advice under the table.
"""

import json
import sys

import numpy as np

from .. import _compare
from .._compare import compare_optimizers
from .._optimizers import DEFAULT_RACE
from .._reference import reference_solution
from .common import (ALPHA, EXIT_OK, CLIError, backend_params, estimator_class, jsonable,
                     model_params, plot_path, score_name, write_figure)
from .data import load_data

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

#: The part of the training data held out to tune and score the optimizers.
VALIDATION_FRACTION = 0.2


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
    if stop == _compare.DIVERGED:
        return DIVERGED
    if gap is not None and gap <= OPTIMAL_RTOL:
        return OPTIMAL
    return MAX_ITER if stop == _compare.MAX_ITER else NO_IMPROVEMENT


def most_telling(stops):
    """The stop of the seeds that says most: diverged, then max_iter, then the tol rule."""
    for stop in (_compare.DIVERGED, _compare.MAX_ITER):
        if stop in stops:
            return stop
    return _compare.NO_IMPROVEMENT


def _mean_curve(curves):
    """The mean over seeds at each epoch that some seed ran."""
    ran = ~np.all(np.isnan(curves), axis=0)
    return [float(v) for v in np.nanmean(curves[:, ran], axis=0)]


def rows_of(comparison, data, *, hidden):
    """One row per optimizer: the rate, the objective, the scores, epochs, time, status."""
    reference = comparison.reference_
    rows = []
    for name in comparison.optimizers_:
        objective = float(np.mean(comparison.final_objective_[name]))
        gap = None if reference is None else objective_gap(objective, reference.objective)
        stop = most_telling(comparison.stopped_by_[name])
        scores = comparison.validation_score_[name]
        test = [float(est.score(data.X_test, data.y_test))
                for est in comparison.estimators_[name]]
        epochs = [int(n) for n in comparison.n_iter_[name]]
        rows.append({
            "optimizer": name,
            "learning_rate": comparison.learning_rates_[name],
            "learning_rate_tuned": comparison.tuned_[name],
            "objective": objective,
            "objective_gap": gap,
            "validation_score_mean": float(np.mean(scores)),
            "validation_score_std": float(np.std(scores, ddof=1)) if len(scores) > 1 else 0.0,
            "test_score": float(np.mean(test)),
            "epochs": max(epochs),
            "epochs_per_seed": epochs,
            "epoch_time_s": comparison.epoch_time_[name],
            "status": fit_status(stop, None if hidden else gap),
            "stopped_by": stop,
            "overfits": comparison.overfitting_epoch_[name],
            "loss_curve": _mean_curve(comparison.train_loss_[name]),
            "validation_loss_curve": _mean_curve(comparison.validation_loss_[name]),
        })
    return rows


def format_table(rows, task):
    """The compare table as aligned text."""
    score = score_name(task)
    header = ["optimizer", "learning_rate", "objective", "gap", f"val {score} (± sd)",
              f"test {score}", "epochs", "ms/epoch", "status"]
    cells = []
    for r in rows:
        epochs = r["epochs_per_seed"]
        cells.append([
            r["optimizer"], f"{r['learning_rate']:.3g}", f"{r['objective']:.5f}",
            "-" if r["objective_gap"] is None else f"{r['objective_gap']:+.1%}",
            f"{r['validation_score_mean']:.4f}±{r['validation_score_std']:.4f}",
            f"{r['test_score']:.4f}",
            str(epochs[0]) if min(epochs) == max(epochs) else f"{min(epochs)}-{max(epochs)}",
            f"{1e3 * r['epoch_time_s']:.3f}", r["status"],
        ])
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    left = {0, 8}

    def line(values):
        return "  ".join(v.ljust(w) if i in left else v.rjust(w)
                         for i, (v, w) in enumerate(zip(values, widths))).rstrip()

    return "\n".join([line(header)] + [line(c) for c in cells])


def advice(rows, args, *, hidden):
    """What to change, one line per problem: early stops, max_iter, divergence, overfitting."""
    def names(selected):
        return ", ".join(r["optimizer"] for r in selected)

    lines = []
    short = [r for r in rows if r["status"] == NO_IMPROVEMENT and not hidden]
    if short:
        lines.append(
            f"stopped by the tol rule short of the optimum: {names(short)}. To reach it, "
            f"lower --tol (now {args.tol}), e.g. --tol 1e-6, or pass --tol none to run "
            "all --max-iter epochs (a stochastic optimizer may also need a larger "
            "--batch-size to go below its noise); the validation score says whether "
            "the optimum is worth it: an early stop can generalise as well.")
    capped = [r for r in rows if r["stopped_by"] == _compare.MAX_ITER
              and r["status"] != OPTIMAL and r["overfits"] is None]
    if capped:
        lines.append(
            f"max_iter reached{'' if hidden else ' short of the optimum'}: {names(capped)}. "
            f"Raise --max-iter (now {args.max_iter}).")
    diverged = [r for r in rows if r["status"] == DIVERGED]
    if [r for r in diverged if not r["learning_rate_tuned"]]:
        lines.append(
            f"diverged: {names(r for r in diverged if not r['learning_rate_tuned'])}. Give "
            "a smaller --learning-rate NAME=RATE, or drop it to let compare tune the rate.")
    if [r for r in diverged if r["learning_rate_tuned"]]:
        lines.append(
            f"diverged in some seeds at the tuned rate: "
            f"{names(r for r in diverged if r['learning_rate_tuned'])}. The rate that "
            "suited the first seed is too large for others: fix a smaller one with "
            "--learning-rate NAME=RATE.")
    remedy = "a smaller network (--hidden)" if hidden else "more data"
    for r in rows:
        if r["overfits"] is not None:
            lines.append(
                f"{r['optimizer']}: the validation loss rises from epoch {r['overfits']} "
                "while the training loss falls (overfitting). Stop earlier (--max-iter "
                f"{r['overfits']}, or early_stopping=True in your own code), or {remedy}.")
    return lines


# ------------------------------------------------------------------ plot


def save_plot(comparison, names, path, title):
    """Write the race's curves of the optimizers ``names`` as an image."""
    from matplotlib.figure import Figure

    from .._plotting import OptimizerComparisonDisplay

    figure = Figure(figsize=(10, 4.5), layout="constrained")
    axes = figure.subplots(1, 2)
    reference = comparison.reference_
    OptimizerComparisonDisplay(
        train_loss={n: comparison.train_loss_[n] for n in names},
        validation_loss={n: comparison.validation_loss_[n] for n in names},
        learning_rates=comparison.learning_rates_,
        reference=None if reference is None else reference.objective,
        reference_name=None if reference is None else reference.name,
        overfitting_epochs=comparison.overfitting_epoch_,
    ).plot(ax=axes)
    figure.suptitle(title)
    write_figure(figure, path)


# ------------------------------------------------------------------- run


def _learning_rates(args, optimizers):
    """The rates fixed by ``--learning-rate`` (by optimizer), or ``"tune"`` when none is."""
    fixed = {}
    for name, value in args.learning_rate or []:
        for optimizer in optimizers if name == "all" else [name]:
            fixed[optimizer] = value
    return fixed or "tune"


def _reference_row(reference, data, what):
    """The reference's JSON entry, with its test score."""
    if reference is None:
        return None
    return {"estimator": reference.name, "what": what, "objective": reference.objective,
            "test_score": float(reference.estimator.score(data.X_test, data.y_test)),
            "time_s": reference.time_s}


def run(args):
    """``sk-gradopt compare``: race, print the table or JSON, plot; return 0."""
    plot = plot_path(args, DEFAULT_PLOT)
    data = load_data(args)
    Estimator = estimator_class(data.task, args.hidden)
    estimator = Estimator(
        max_iter=args.max_iter, tol=args.tol, schedule=args.schedule,
        batch_size=args.batch_size, penalty="l2", alpha=ALPHA, average=args.average,
        **backend_params(args.backend), **model_params(args.hidden),
    )
    optimizers = list(dict.fromkeys(args.optimizer or DEFAULT_RACE))
    learning_rates = _learning_rates(args, optimizers)
    try:
        comparison = compare_optimizers(
            estimator, data.X_train, data.y_train, optimizers=optimizers,
            learning_rates=learning_rates,
            n_seeds=args.n_seeds, validation_fraction=VALIDATION_FRACTION,
            random_state=args.seed, n_jobs=args.n_jobs,
        )
    except ValueError as exc:
        raise CLIError(f"racing the optimizers failed on {data.name}: {exc}") from None
    rows = rows_of(comparison, data, hidden=args.hidden)
    X_race = data.X_train[comparison.train_indices_]
    y_race = data.y_train[comparison.train_indices_]
    if args.hidden:  # the linear model's optimum: a baseline for the network
        linear = estimator_class(data.task)(penalty="l2", alpha=ALPHA)
        reference = _reference_row(reference_solution(linear, X_race, y_race), data,
                                   "linear baseline, the exact minimiser of the linear model")
    else:
        reference = _reference_row(comparison.reference_, data, "exact minimiser")
    notes = advice(rows, args, hidden=args.hidden)

    if plot is not None:
        curves = [r["optimizer"] for r in rows if r["status"] != DIVERGED and r["loss_curve"]]
        left_out = [r["optimizer"] for r in rows if r["optimizer"] not in curves]
        if left_out:
            print(f"note: not in the plot (diverged): {', '.join(left_out)}.",
                  file=sys.stderr)
        if curves:
            save_plot(comparison, curves, plot,
                      f"{data.name}: the optimizers' race, {args.n_seeds} seed"
                      f"{'s' if args.n_seeds > 1 else ''} each")
        else:
            print("note: no loss curve to plot: every optimizer diverged.", file=sys.stderr)
            plot = None
    if args.json:
        result = {
            "command": "compare", **data.metadata(), "score": score_name(data.task),
            "max_iter": args.max_iter, "tol": args.tol, "random_state": args.seed,
            "n_seeds": args.n_seeds, "validation_fraction": VALIDATION_FRACTION,
            "n_validation": int(len(comparison.validation_indices_)),
            "tuning_grid": list(_compare.TUNING_GRID), "backend": args.backend,
            "plot": plot, "optimal_rtol": OPTIMAL_RTOL, "race_time_s": comparison.time_s_,
            "results": rows, "reference": reference, "advice": notes,
        }
        print(json.dumps(jsonable(result), indent=2))
        return EXIT_OK
    _print_text(args, data, comparison, rows, reference, notes, plot)
    return EXIT_OK


def _print_text(args, data, comparison, rows, reference, notes, plot):
    """The report: what was raced, the table, the reference and the advice."""
    score = score_name(data.task)
    n_val = len(comparison.validation_indices_)
    print(f"sk-gradopt compare: {data.describe()}")
    print(f"same budget for each optimizer: at most {args.max_iter} epochs "
          f"(tol={args.tol}), batch_size={args.batch_size}; {args.n_seeds} seed"
          f"{'s' if args.n_seeds > 1 else ''} each (random_state={args.seed})")
    tuned = [r["optimizer"] for r in rows if r["learning_rate_tuned"]]
    fixed = [r["optimizer"] for r in rows  # (L-BFGS has no rate: NaN, neither)
             if not r["learning_rate_tuned"] and not np.isnan(r["learning_rate"])]
    grid = _compare.TUNING_GRID
    if tuned:
        print(f"learning rates tuned on a validation part ({n_val} of the training "
              f"samples): {len(grid)} rates from {grid[0]:g} to {grid[-1]:.3g} and two "
              "around the best, one fit each, the same for every optimizer"
              + (f"; fixed by --learning-rate: {', '.join(fixed)}" if fixed else ""))
    else:
        print(f"learning rates fixed by --learning-rate; validation part: {n_val} of the "
              "training samples")
    print()
    print(format_table(rows, data.task))
    print()
    if reference is not None:
        print(f"reference ({reference['what']}, {reference['estimator']}): objective "
              f"{reference['objective']:.5f}, test {score} {reference['test_score']:.4f}; "
              f"solved in {reference['time_s']:.3f} s (the race: {comparison.time_s_:.1f} s)")
    else:
        print("reference: none (no scikit-learn solver minimises this objective).")
    print(f"objective: mean training loss + {ALPHA:g} * ||W||^2 / 2 at the final weights, "
          f"mean over seeds; val {score}: mean ± sd over seeds on the validation part; "
          f"test {score} on the held-out part; ms/epoch: median warm time of an epoch.")
    if args.hidden:
        print(f"status: why the fit stopped: '{NO_IMPROVEMENT}' (the tol rule), "
              f"'{MAX_ITER}' or '{DIVERGED}' (learning rate too large); an MLP's "
              "optimum is unknown, so none is called optimal.")
    else:
        print(f"status: '{OPTIMAL}' = objective at most {OPTIMAL_RTOL:.0%} above the "
              f"reference; else why the fit stopped: '{NO_IMPROVEMENT}' (the tol rule), "
              f"'{MAX_ITER}' or '{DIVERGED}' (learning rate too large).")
    ranking = comparison.ranking_
    best = [ranking[0].name, *[n for n in ranking[0].tied_with]]
    print(f"best on the validation part: {ranking[0].name}"
          + (f" (tied within the spread over seeds with {', '.join(best[1:])})"
             if len(best) > 1 else ""))
    print()
    nothing = ("nothing to change: no fit hit max_iter, diverged or overfits." if args.hidden
               else "nothing to change: every row is optimal and none overfits.")
    for line in notes or [nothing]:
        print(f"advice: {line}")
    if plot is not None:
        print(f"loss curves written to {plot}")
