"""Choosing the learning rate: how good are ``1/L`` and the range test's suggestion?

Three measurements:

* **power iteration**: ``lambda_max`` of ``[X, 1]^T [X, 1] / n`` after 5, 10
  and 20 iterations, as a fraction of the exact value (``eigvalsh``), and
  the iterations the 1e-3 stopping rule takes (with the fraction it
  reaches), on small standard-scaled datasets (diabetes, breast cancer,
  wine, digits, a noisy low-rank regression) and a 200-feature low-rank
  matrix, whose top eigenvalues are close together (slow);
* **1/L on least squares** (no penalty): the relative gap of the objective
  to the least-squares optimum after 500 epochs, or "diverged", for
  full-batch ``"gd"`` at ``k / L`` (``k`` = 1, 1.9 and 2.5) and at the
  suggestion of its range test, and for ``"sgd"`` with batches of 1 and 32
  rows at ``1 / L`` (the full-batch L);
* **the range test's suggestion against a grid**, on 54 problems: linear
  models and MLPs, regression and classification, every optimizer, batches
  of 1 to 256 samples and full batches, noisy targets and labels, badly
  scaled features, other losses and penalties. For each, a 20-epoch fit
  (``max_iter=20, tol=None``) at ``lr_range_test``'s ``suggestion_``
  (defaults) and at each rate of a 13-point log grid from 1e-5 to 10; the
  table gives the suggestion, the grid's best rate and the ratio of the
  final training objectives (suggestion over the grid's best; the
  objective the estimator minimises, penalty included, on the training
  data). The goal: within 2x in at least 80 % of the problems, never worse
  than 5x. The divisor of the suggestion (7) was chosen on these problems.

Run ``PYTHONPATH=. python benchmarks/bench_lr.py`` from the repository
root (about 4 minutes on 2 cores; the MLPs with batches of 1 take most of
it); ``--tiny`` for a quick check.
"""

import math
import time
import warnings
from functools import partial

import numpy as np
from sklearn.base import is_classifier
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
    make_blobs,
    make_circles,
    make_classification,
    make_friedman1,
    make_friedman2,
    make_moons,
    make_regression,
)
from sklearn.linear_model import LinearRegression
from sklearn.metrics import log_loss
from sklearn.preprocessing import StandardScaler

import _common
from sk_gradopt import (
    GradientClassifier,
    GradientMLPClassifier,
    GradientMLPRegressor,
    GradientRegressor,
    lr_range_test,
)
from sk_gradopt._lipschitz import lambda_max
from sk_gradopt._penalties import Penalty
from sk_gradopt._tree import Layer


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


GRID_13 = np.logspace(-5, 1, 13)
RANGE_EPOCHS = 20


def _scaled(X):
    return StandardScaler().fit_transform(X)


def _standardized(y):
    return (y - y.mean()) / y.std()


def range_test_problems(tiny):
    """``(name, X, y, Estimator, params)``: the problems of the range-test table."""
    rng = np.random.default_rng(0)
    d = {}
    X, y = load_diabetes(return_X_y=True)
    d["diabetes"] = (_scaled(X), _standardized(y))
    if not tiny:
        X, y = make_regression(500, 20, noise=10.0, effective_rank=5, random_state=0)
        d["low_rank_noisy"] = (_scaled(X), _standardized(y))
        X, y = make_regression(400, 10, noise=60.0, random_state=1)
        d["noisy_target"] = (_scaled(X), _standardized(y))
        X, y = make_regression(400, 8, noise=5.0, random_state=2)
        d["badly_scaled"] = (_scaled(X) * np.logspace(-1, 1.3, 8) + 3.0, _standardized(y))
        X, y = make_friedman1(400, 10, noise=1.0, random_state=0)
        d["friedman1"] = (_scaled(X), _standardized(y))
        x = rng.uniform(-3, 3, (300, 1))
        d["sine"] = (x, np.sin(2 * x[:, 0]) + 0.1 * rng.standard_normal(300))
        X, y = load_breast_cancer(return_X_y=True)
        d["cancer"] = (_scaled(X), y)
        d["cancer_badly_scaled"] = (_scaled(X) * np.logspace(-1, 1.2, 30) + 2.0, y)
        X, y = load_wine(return_X_y=True)
        d["wine"] = (_scaled(X), y)
        X, y = load_digits(return_X_y=True)
        d["digits"] = (_scaled(X[:800]), y[:800])
        X, y = make_classification(500, 10, n_informative=5, flip_y=0.25, random_state=0)
        d["noisy_labels"] = (_scaled(X), y)
        X, y = make_moons(400, noise=0.25, random_state=0)
        d["moons"] = (X, y)
        X, y = make_circles(400, noise=0.1, factor=0.5, random_state=0)
        d["circles_badly_scaled"] = (X * [1.0, 20.0], y)
        X, y = make_regression(600, 15, n_informative=8, noise=20.0, random_state=11)
        d["reg15"] = (_scaled(X), _standardized(y))
        X, y = make_regression(300, 40, n_informative=10, noise=5.0, random_state=12)
        d["reg40"] = (_scaled(X) * 3.0, _standardized(y) * 2 + 1)
        X, y = make_friedman2(500, noise=10.0, random_state=3)
        d["friedman2"] = (_scaled(X), _standardized(y))
        scales = np.array([0.05, 0.3, 1, 3, 10, 30])
        X = np.random.default_rng(5).standard_normal((500, 6)) * scales
        y = X @ (np.random.default_rng(6).standard_normal(6) / scales)
        d["ill_conditioned"] = (X, _standardized(y + rng.standard_normal(500)))
        X, y = load_iris(return_X_y=True)
        d["iris"] = (_scaled(X), y)
        X, y = make_classification(700, 20, n_informative=6, n_classes=4,
                                   n_clusters_per_class=1, flip_y=0.05, random_state=7)
        d["four_classes"] = (_scaled(X), y)
        X, y = make_classification(400, 8, n_informative=4, flip_y=0.35, class_sep=0.5,
                                   random_state=8)
        d["hard_binary"] = (_scaled(X), y)
        X, y = make_blobs(500, 5, centers=3, cluster_std=3.0, random_state=2)
        d["blobs_badly_scaled"] = (X * np.array([1, 5, 0.2, 10, 1]), y)
        X, y = make_moons(500, noise=0.3, random_state=4)
        d["moons_noisy"] = (X, y)
        x = rng.uniform(-2, 2, (400, 2))
        d["bowl"] = (x, _standardized(np.sum(x ** 2, axis=1) + 0.3 * rng.standard_normal(400)))

    R, C = GradientRegressor, GradientClassifier
    MR1 = partial(GradientMLPRegressor, hidden_layer_sizes=(32,))
    MC1 = partial(GradientMLPClassifier, hidden_layer_sizes=(32,))
    MR2 = partial(GradientMLPRegressor, hidden_layer_sizes=(16, 16))
    MC2 = partial(GradientMLPClassifier, hidden_layer_sizes=(24,), activation="tanh")
    if tiny:
        cases = [("diabetes", R, "sgd", 16, {}), ("diabetes", MR1, "adam", 32, {})]
    else:
        cases = [
            ("diabetes", R, "sgd", 16, {}), ("diabetes", R, "gd", None, {}),
            ("diabetes", R, "adam", 32, {}), ("diabetes", R, "momentum", 1, {}),
            ("low_rank_noisy", R, "sgd", 1, {}), ("low_rank_noisy", R, "rmsprop", 8, {}),
            ("badly_scaled", R, "sgd", 32, {}), ("badly_scaled", R, "adam", 64, {}),
            ("badly_scaled", R, "gd", None, {}), ("noisy_target", R, "sgd", 256, {}),
            ("friedman1", R, "momentum", 32, {}), ("cancer", C, "sgd", 1, {}),
            ("cancer", C, "adam", 16, {}), ("wine", C, "momentum", 8, {}),
            ("digits", C, "rmsprop", 32, {}), ("digits", C, "sgd", 256, {}),
            ("noisy_labels", C, "sgd", 4, {}), ("noisy_labels", C, "gd", None, {}),
            ("cancer_badly_scaled", C, "gd", None, {}),
            ("cancer_badly_scaled", C, "adam", 32, {}),
            ("diabetes", MR1, "adam", 16, {}), ("friedman1", MR1, "sgd", 32, {}),
            ("low_rank_noisy", MR1, "momentum", 8, {}), ("sine", MR1, "rmsprop", 1, {}),
            ("friedman1", MR1, "gd", None, {}), ("moons", MC1, "adam", 32, {}),
            ("digits", MC1, "sgd", 64, {}), ("cancer", MC1, "momentum", 1, {}),
            ("noisy_labels", MC1, "rmsprop", 16, {}), ("wine", MC1, "gd", None, {}),
            ("circles_badly_scaled", MC1, "adam", 8, {}),
            ("reg15", R, "sgd", 8, {}), ("reg15", R, "adam", 128, {}),
            ("reg40", R, "momentum", 16, {"penalty": "l1", "alpha": 1e-3}),
            ("reg40", R, "gd", None, {}), ("friedman2", R, "rmsprop", 2, {"loss": "huber"}),
            ("ill_conditioned", R, "sgd", 64, {}), ("ill_conditioned", R, "adam", 4, {}),
            ("iris", C, "sgd", 2, {}), ("iris", C, "gd", None, {"alpha": 1e-3}),
            ("four_classes", C, "adam", 64, {}),
            ("four_classes", C, "momentum", 128, {"weight_decay": 1e-3}),
            ("hard_binary", C, "sgd", 1, {}), ("hard_binary", C, "rmsprop", 32, {}),
            ("blobs_badly_scaled", C, "sgd", 32, {}), ("blobs_badly_scaled", C, "adam", 16, {}),
            ("moons_noisy", MC2, "sgd", 16, {}), ("moons_noisy", MC2, "adam", 1, {}),
            ("bowl", MR2, "adam", 32, {}), ("bowl", MR2, "momentum", 4, {"max_grad_norm": 1.0}),
            ("friedman2", MR2, "gd", None, {}), ("four_classes", MC2, "rmsprop", 64, {}),
            ("reg15", MR2, "sgd", 128, {}), ("iris", MC2, "momentum", 8, {}),
        ]
    problems = []
    for name, Estimator, optimizer, batch_size, extra in cases:
        model = "linear" if Estimator in (R, C) else "mlp"
        params = dict(optimizer=optimizer, max_iter=RANGE_EPOCHS, tol=None, random_state=0,
                      **extra)
        if batch_size is not None:
            params["batch_size"] = batch_size
        X, y = d[name]
        problems.append((f"{name}/{model}", X, y, partial(Estimator, **params)))
    return problems


def training_objective(est, X, y):
    """The objective ``est`` minimises, on ``(X, y)``: mean loss plus penalty."""
    if is_classifier(est):
        loss = log_loss(y, est.predict_proba(X), labels=est.classes_)
    else:
        r = est.predict(X) - y
        if est.loss == "huber":
            a = np.abs(r)
            loss = np.mean(np.where(a <= est.epsilon, 0.5 * r * r,
                                    est.epsilon * a - 0.5 * est.epsilon ** 2))
        else:
            loss = 0.5 * np.mean(r * r)
    coefs = est.coefs_ if hasattr(est, "coefs_") else [est.coef_.T]
    penalty = Penalty.from_params(est.penalty, float(est.alpha), float(est.l1_ratio))
    return loss + penalty.value([Layer(np.asarray(c), None) for c in coefs])


def range_test_rows(tiny):
    grid = GRID_13[::4] if tiny else GRID_13
    rows = []
    for name, X, y, make in range_test_problems(tiny):
        est = make()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            result = lr_range_test(est, X, y)
            range_test_s = time.perf_counter() - start
            start = time.perf_counter()
            objectives = [training_objective(make(learning_rate=lr).fit(X, y), X, y)
                          for lr in grid]
            grid_s = time.perf_counter() - start
            suggestion = result.suggestion_
            at_suggestion = (math.inf if suggestion is None else
                             training_objective(make(learning_rate=suggestion).fit(X, y), X, y))
        best = int(np.argmin(objectives))
        rows.append({
            "section": "range_test", "problem": name, "optimizer": est.optimizer,
            "batch_size": str(est.batch_size) if est.optimizer != "gd" else "all",
            "suggestion": suggestion, "grid_best": float(grid[best]),
            "ratio": at_suggestion / objectives[best],
            "objective": at_suggestion, "grid_objective": objectives[best],
            "points": len(result.losses_), "range_test_s": range_test_s, "grid_s": grid_s,
        })
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
    ranges = range_test_rows(args.tiny)
    _common.table(ranges, [("problem", "s"), ("optimizer", "s"), ("batch_size", "s"),
                           ("suggestion", ".3g"), ("grid_best", ".3g"), ("ratio", ".2f"),
                           ("points", "d"), ("range_test_s", ".2f"), ("grid_s", ".1f")],
                  title=f"{RANGE_EPOCHS}-epoch fit at the range test's suggestion: its final "
                        "training objective over the best of a 13-point grid")
    ratios = np.array([row["ratio"] for row in ranges])
    summary = {"within_2x": int(np.sum(ratios <= 2.0)), "cases": len(ratios),
               "worst_ratio": float(ratios.max()), "median_ratio": float(np.median(ratios)),
               "no_suggestion": sum(row["suggestion"] is None for row in ranges)}
    print(f"\nwithin 2x of the grid's best objective: {summary['within_2x']} of "
          f"{summary['cases']} ({100 * summary['within_2x'] / summary['cases']:.0f} %); "
          f"worst ratio {summary['worst_ratio']:.2f}, median {summary['median_ratio']:.2f}; "
          f"no suggestion: {summary['no_suggestion']}")
    _common.write_json(args.json, "lr", args, power + step + ranges, summary=summary)


if __name__ == "__main__":
    main()
