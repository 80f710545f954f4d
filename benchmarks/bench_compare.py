"""The optimizer race's cost over the sum of its fits.

:func:`sk_gradopt.compare_optimizers` runs, per optimizer, 12 fits to tune
the learning rate and one fit per seed, and around them: a warm-up fit of
two epochs before each timed fit, the validation loss after every epoch of
the timed fits (scikit-learn's callback API), the scores, and the reference
solve. This script times the whole race, then the same fits again as plain
``fit`` calls on the same training part (same rates, same seeds), and
prints the race's wall time over the sum of theirs: what the race adds to
the fits it cannot do without.

Run ``python benchmarks/bench_compare.py``; ``--tiny`` for a quick check.
"""

import time

import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, make_regression
from sklearn.preprocessing import StandardScaler

import _common
from sk_gradopt import (GradientClassifier, GradientMLPRegressor, GradientRegressor,
                        compare_optimizers)


def problems(tiny):
    """``name -> (estimator, X, y)``: standard-scaled features, standardized targets."""
    if tiny:
        X, y = make_regression(n_samples=150, n_features=5, noise=10.0, random_state=0)
        return {"synthetic linear": (GradientRegressor(max_iter=30), X, y)}
    X_d, y_d = load_diabetes(return_X_y=True)
    X_b, y_b = load_breast_cancer(return_X_y=True)
    return {
        "diabetes linear": (GradientRegressor(max_iter=500), X_d, y_d),
        "breast_cancer linear": (GradientClassifier(max_iter=500), X_b, y_b),
        "diabetes MLP (32,)": (GradientMLPRegressor(hidden_layer_sizes=(32,), max_iter=200),
                               X_d, y_d),
    }


def plain_fits(estimator, X, y, race):
    """The fits of ``race`` again, as plain ``fit`` calls: ``(count, seconds)``."""
    X, y = X[race.train_indices_], y[race.train_indices_]
    jobs = []
    for name in race.optimizers_:
        first = int(race.random_states_[0])
        jobs += [(name, rate, first) for rate, _ in race.tuning_.get(name, [])]
        jobs += [(name, race.learning_rates_[name], int(s)) for s in race.random_states_]
    total = 0.0
    for name, rate, seed in jobs:
        est = clone(estimator).set_params(optimizer=name, learning_rate=rate, random_state=seed)
        start = time.perf_counter()
        est.fit(X, y)
        total += time.perf_counter() - start
    return len(jobs), total


def main():
    args = _common.parser(__doc__.splitlines()[0]).parse_args()
    _common.quiet()
    info = _common.machine()
    _common.print_machine(info)
    rows = []
    for name, (estimator, X, y) in problems(args.tiny).items():
        X = StandardScaler().fit_transform(X)
        if name != "breast_cancer linear":
            y = (y - y.mean()) / y.std()
        # first calls (the compiled epoch's load) before anything is timed
        for optimizer in ("gd", "sgd", "adam"):
            clone(estimator).set_params(optimizer=optimizer, max_iter=2).fit(X, y)
        start = time.perf_counter()
        race = compare_optimizers(estimator, X, y, n_seeds=3, random_state=0)
        race_s = time.perf_counter() - start
        n_fits, fits_s = plain_fits(estimator, X, y, race)
        row = {"problem": name, "n_fits": n_fits, "fits_s": fits_s, "race_s": race_s,
               "race_over_fits": race_s / fits_s,
               "race_epochs": int(sum(np.sum(n) for n in race.n_iter_.values()))}
        if race.reference_ is not None:  # the linear models
            row["reference_s"] = race.reference_.time_s
        rows.append(row)
    _common.table(rows, [("problem", ""), ("n_fits", "d"), ("fits_s", ".2f"),
                         ("race_s", ".2f"), ("race_over_fits", ".2f"), ("reference_s", ".3f")],
                  title="compare_optimizers (5 optimizers, 3 seeds, tuned rates) against "
                        "the sum of its fits run alone")
    _common.write_json(args.json, "bench_compare", args, rows)


if __name__ == "__main__":
    main()
