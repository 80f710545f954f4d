"""Choosing the learning rate: how good are ``1/L`` and the range test's suggestion?

Three measurements, on small standard-scaled datasets (diabetes, breast
cancer, wine, digits, and a noisy low-rank regression where little can be
learnt: ``make_regression(1000, 20, effective_rank=5, noise=10)``):

* **power iteration**: ``lambda_max`` of ``[X, 1]^T [X, 1] / n`` after 5, 10
  and 20 iterations, as a fraction of the exact value (``eigvalsh``), and
  the iterations the 1e-3 stopping rule takes (with the fraction it
  reaches); plus a 200-feature low-rank matrix, whose top eigenvalues are
  close together (slow);
* **1/L on least squares** (no penalty): the relative gap of the objective
  to the least-squares optimum after 500 epochs, or "diverged", for
  full-batch ``"gd"`` at ``k / L`` (``k`` = 1, 1.9 and 2.5) and at the
  suggestion of its range test, and for ``"sgd"`` with batches of 1 and 32
  rows at ``1 / L`` (the full-batch L);
* **the range test against a grid**: for each optimizer and classification
  or regression dataset, the best learning rate of a 3-fold
  ``GridSearchCV`` over 16 rates from 1e-4 to 10 (30 epochs, ``tol=None``,
  default batch size; scored by R^2 or by the log loss) against ``lr_range_test``'s ``suggestion_`` (defaults:
  100 steps from 1e-7 to 10, smoothing 0.9), their ratio, and the CV score
  at each; and the suggestion with 50 and 200 steps.

Run ``python benchmarks/bench_lr.py`` (about a minute on 2 cores);
``--tiny`` for a quick check.
"""

import time
import warnings

import numpy as np
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_wine,
    make_regression,
)
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.preprocessing import StandardScaler

import _common
from sk_gradopt import OPTIMIZERS, GradientClassifier, GradientRegressor, lr_range_test
from sk_gradopt._lipschitz import lambda_max

GRID = np.logspace(-4, 1, 16)
EPOCHS = 30


def datasets(tiny):
    """``name -> (X, y, Estimator)``, standard-scaled (and y too for regression)."""
    def regression(X, y):
        return StandardScaler().fit_transform(X), (y - y.mean()) / y.std(), GradientRegressor

    def classification(X, y):
        return StandardScaler().fit_transform(X), y, GradientClassifier

    found = {"diabetes": regression(*load_diabetes(return_X_y=True))}
    if tiny:
        return found
    found["breast_cancer"] = classification(*load_breast_cancer(return_X_y=True))
    found["wine"] = classification(*load_wine(return_X_y=True))
    found["digits"] = classification(*load_digits(return_X_y=True))
    found["noisy_low_rank"] = regression(*make_regression(
        1000, 20, noise=10.0, effective_rank=5, random_state=0))
    return found


def power_rows(problems, tiny):
    matrices = {name: X for name, (X, _, _) in problems.items()}
    if not tiny:
        X, _ = make_regression(2000, 200, effective_rank=20, random_state=0)
        matrices["low_rank_200"] = StandardScaler().fit_transform(X)
    rows = []
    for name, X in matrices.items():
        start = time.perf_counter()
        exact = lambda_max(X, exact=True)
        exact_s = time.perf_counter() - start
        start = time.perf_counter()
        found, n_iter = lambda_max(X, exact=False, return_n_iter=True)
        power_s = time.perf_counter() - start
        row = {"section": "power", "problem": name, "d": X.shape[1], "lambda_max": exact,
               "n_iter_tol": n_iter, "frac_tol": found / exact, "exact_s": exact_s,
               "power_s": power_s}
        for k in (5, 10, 20):
            row[f"frac_{k}"] = lambda_max(X, exact=False, tol=0.0, max_iter=k) / exact
        rows.append(row)
    return rows


def one_over_l_rows(problems, tiny):
    rows = []
    for name, (X, y, Estimator) in problems.items():
        if Estimator is not GradientRegressor:
            continue
        ref = LinearRegression().fit(X, y)
        optimum = 0.5 * np.mean((ref.predict(X) - y) ** 2)
        base = dict(penalty=None, tol=None, max_iter=50 if tiny else 500, random_state=0)
        step = GradientRegressor(optimizer="gd", learning_rate="auto", **base)
        step = step.set_params(max_iter=1).fit(X, y).learning_rate_
        suggestion = lr_range_test(GradientRegressor(optimizer="gd", **base), X, y).suggestion_
        settings = [(f"gd at {k:g}/L", "gd", "auto", k * step) for k in (1.0, 1.9, 2.5)]
        settings += [("gd at the range test's suggestion", "gd", "auto", suggestion)]
        settings += [(f"sgd, batch {b}, at 1/L", "sgd", b, step) for b in (1, 32)]
        for setting, optimizer, batch_size, learning_rate in settings:
            start = time.perf_counter()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                reg = GradientRegressor(optimizer=optimizer, batch_size=batch_size,
                                        learning_rate=learning_rate, **base).fit(X, y)
            fit_s = time.perf_counter() - start
            diverged = any("diverged" in str(w.message) for w in caught)
            objective = 0.5 * np.mean((reg.predict(X) - y) ** 2)
            rows.append({"section": "one_over_L", "problem": name, "setting": setting,
                         "learning_rate": learning_rate, "times_L": learning_rate / step,
                         "gap": "diverged" if diverged else (objective - optimum) / optimum,
                         "fit_s": fit_s})
    return rows


def range_test_rows(problems, tiny):
    optimizers = ("gd", "adam") if tiny else OPTIMIZERS
    grid = GRID[::5] if tiny else GRID
    rows = []
    for name, (X, y, Estimator) in problems.items():
        for optimizer in optimizers:
            estimator = Estimator(optimizer=optimizer, max_iter=EPOCHS, tol=None,
                                  random_state=0)
            start = time.perf_counter()
            scoring = "r2" if Estimator is GradientRegressor else "neg_log_loss"
            search = GridSearchCV(estimator, {"learning_rate": grid}, cv=3,
                                  scoring=scoring).fit(X, y)
            grid_s = time.perf_counter() - start
            best = search.best_params_["learning_rate"]
            start = time.perf_counter()
            suggestion = lr_range_test(estimator, X, y, random_state=0).suggestion_
            range_test_s = time.perf_counter() - start
            cv = cross_val_score(estimator.set_params(learning_rate=suggestion), X, y,
                                 cv=3, scoring=scoring).mean()
            row = {"section": "range_test", "problem": name, "optimizer": optimizer,
                   "grid_best": best, "suggestion": suggestion, "ratio": suggestion / best,
                   "cv_grid": search.best_score_, "cv_suggestion": cv,
                   "range_test_s": range_test_s, "grid_s": grid_s}
            for steps in (50, 200):
                row[f"suggestion_{steps}"] = lr_range_test(
                    estimator, X, y, num_steps=steps, random_state=0).suggestion_
            rows.append(row)
    return rows


def main():
    args = _common.parser(__doc__.splitlines()[0]).parse_args()
    _common.quiet()
    info = _common.machine()
    _common.print_machine(info)
    problems = datasets(args.tiny)
    power = power_rows(problems, args.tiny)
    _common.table(power, [("problem", "s"), ("d", "d"), ("frac_5", ".3f"),
                          ("frac_10", ".3f"), ("frac_20", ".3f"), ("n_iter_tol", "d"),
                          ("frac_tol", ".4f"), ("exact_s", ".4f"), ("power_s", ".4f")],
                  title="lambda_max by power iteration, as a fraction of eigvalsh's")
    step = one_over_l_rows(problems, args.tiny)
    _common.table(step, [("problem", "s"), ("setting", "s"), ("learning_rate", ".4g"),
                         ("times_L", ".2f"), ("gap", ".2e")],
                  title="least squares, 500 epochs: relative gap to the optimum")
    ranges = range_test_rows(problems, args.tiny)
    _common.table(ranges, [("problem", "s"), ("optimizer", "s"), ("grid_best", ".3g"),
                           ("suggestion", ".3g"), ("ratio", ".2f"), ("cv_grid", ".3f"),
                           ("cv_suggestion", ".3f"), ("suggestion_50", ".3g"),
                           ("suggestion_200", ".3g"), ("range_test_s", ".3f"),
                           ("grid_s", ".2f")],
                  title="range-test suggestion against a grid's best learning rate")
    ratios = np.array([row["ratio"] for row in ranges])
    summary = {"within_3x": int(np.sum((ratios >= 1 / 3) & (ratios <= 3))),
               "cases": len(ratios),
               "cv_within_0.01": int(sum(r["cv_grid"] - r["cv_suggestion"] <= 0.01
                                        for r in ranges))}
    print(f"\nsuggestion within 3x of the grid's best: {summary['within_3x']} of "
          f"{summary['cases']}; CV score within 0.01 of the grid's best: "
          f"{summary['cv_within_0.01']} of {summary['cases']}")
    _common.write_json(args.json, "lr", args, power + step + ranges, summary=summary)


if __name__ == "__main__":
    main()
