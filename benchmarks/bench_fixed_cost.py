"""What a fit costs beyond its epochs: one-epoch fits and partial_fit calls over their epoch.

A fit should cost its epochs and little more: the validation of the input,
the targets, the divergence guard and the curves. For each case, in one run
(float64, the best of ``--repeat`` interleaved rounds), the script times
the call and the marginal epoch of the same settings,
``(fit(max_iter=1 + k) - fit(max_iter=1)) / k`` with ``tol=None``, and
reports their ratio:

* ``GradientMLPRegressor`` (100,000 x 100 -> 256 -> 1, ReLU, Adam, batch
  256): ``fit(max_iter=1)`` (target: at most 1.2 marginal epochs) and a
  ``partial_fit`` call after the first (at most 1.2);
* the same ``GradientMLPRegressor``'s ``fit(max_iter=2)`` over
  ``MLPRegressor(solver="adam")``'s of the same network, batch and data
  (at most 0.6): two epochs, fixed costs included;
* ``GradientRegressor`` (200,000 x 100, Adam, ``batch_size="auto"``): a
  ``partial_fit`` call after the first (at most 1.2);
* ``GradientClassifier`` (binary ``log_loss``, 200,000 x 100, batch 256,
  each mini-batch optimizer): ``fit(max_iter=1)`` over
  ``SGDClassifier(max_iter=1)``'s fit on the same data (at most 0.35; the
  worst optimizer counts).

The full-batch ``"gd"`` fit against its matrix products is
``bench_limit.py``'s. Run ``python benchmarks/bench_fixed_cost.py``;
``--tiny`` for a quick check. On a shared machine, ``--cpu`` times CPU
seconds of the process instead of wall time (steadier under load from other
processes; set ``OPENBLAS_NUM_THREADS=1`` so that no thread spins waiting).
"""

import os
import time

import numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import SGDClassifier
from sklearn.neural_network import MLPRegressor

import _common
from sk_gradopt import GradientClassifier, GradientMLPRegressor, GradientRegressor

TARGETS = {"mlp fit": 1.2, "mlp partial_fit": 1.2, "linear partial_fit": 1.2,
           "classifier fit": 0.35, "mlp 2 epochs over MLPRegressor": 0.6}
MINI_BATCH = ("sgd", "momentum", "rmsprop", "adam")


def regression_data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = np.tanh(X @ rng.standard_normal(d) / np.sqrt(d)) + 0.1 * rng.standard_normal(n)
    return X, y


def mlp(max_iter, hidden):
    return GradientMLPRegressor(hidden_layer_sizes=(hidden,), optimizer="adam",
                                learning_rate=1e-3, batch_size=256, max_iter=max_iter,
                                tol=None, random_state=0)


def sklearn_mlp(max_iter, hidden):
    return MLPRegressor(hidden_layer_sizes=(hidden,), solver="adam", learning_rate_init=1e-3,
                        batch_size=256, max_iter=max_iter, tol=0.0, n_iter_no_change=10**9,
                        alpha=0.0, random_state=0)


def linear(max_iter):
    return GradientRegressor(optimizer="adam", learning_rate=1e-3, max_iter=max_iter,
                             tol=None, random_state=0)


def classifier(optimizer, max_iter):
    return GradientClassifier(optimizer=optimizer, learning_rate=0.01, batch_size=256,
                              max_iter=max_iter, tol=None, random_state=0)


#: The clock of the timings: wall time, or CPU time with ``--cpu``.
clock = time.perf_counter


def timed(func):
    """A job for :func:`_common.interleaved_best`: the time of ``func()`` by ``clock``."""

    def job():
        start = clock()
        func()
        return clock() - start

    return job


def partial_fit_job(make, X, y):
    """The time of a ``partial_fit`` call on an estimator that made one already."""
    estimator = make(1).partial_fit(X, y)
    return timed(lambda: estimator.partial_fit(X, y))


def add_fit_jobs(jobs, name, make, X, y, extra):
    for k in (1, 1 + extra):
        jobs[name, k] = timed(lambda k=k: make(k).fit(X, y))


def main():
    parser = _common.parser(__doc__.splitlines()[0])
    parser.add_argument("--cpu", action="store_true",
                        help="time CPU seconds of the process, not wall time")
    args = parser.parse_args()
    global clock
    clock = time.process_time if args.cpu else time.perf_counter
    _common.quiet()
    if args.tiny:
        n_mlp, n, d, hidden, repeat, extra = 2_000, 3_000, 20, 16, args.repeat or 2, 1
    else:
        n_mlp, n, d, hidden, repeat, extra = 100_000, 200_000, 100, 256, args.repeat or 3, 2
    info = _common.machine()
    _common.print_machine(info)
    print(f"# MLP: {n_mlp} x {d} -> {hidden}; linear: {n} x {d}; best of {repeat} rounds; "
          f"marginal epoch over {extra} more epochs; {'CPU' if args.cpu else 'wall'} time")
    Xm, ym = regression_data(n_mlp, d)
    Xr, yr = regression_data(n, d, seed=1)
    Xc, yc = make_classification(n, d, random_state=0)
    jobs = {}
    make_mlp = lambda k: mlp(k, hidden)  # noqa: E731
    add_fit_jobs(jobs, "mlp", make_mlp, Xm, ym, extra)
    jobs["mlp", "partial_fit"] = partial_fit_job(make_mlp, Xm, ym)
    jobs["mlp", 2] = timed(lambda: make_mlp(2).fit(Xm, ym))
    jobs["MLPRegressor", 2] = timed(lambda: sklearn_mlp(2, hidden).fit(Xm, ym))
    add_fit_jobs(jobs, "linear", linear, Xr, yr, extra)
    jobs["linear", "partial_fit"] = partial_fit_job(linear, Xr, yr)
    for optimizer in MINI_BATCH:
        jobs[optimizer, 1] = timed(lambda o=optimizer: classifier(o, 1).fit(Xc, yc))
    jobs["SGDClassifier", 1] = timed(lambda: SGDClassifier(
        loss="log_loss", max_iter=1, tol=None, random_state=0).fit(Xc, yc))
    load_before = os.getloadavg()
    best = _common.interleaved_best(jobs, repeat)
    load_after = os.getloadavg()

    rows = []
    for name in ("mlp", "linear"):
        epoch = (best[name, 1 + extra] - best[name, 1]) / extra
        rows.append({"case": f"{name} fit(max_iter=1)", "call_ms": 1e3 * best[name, 1],
                     "epoch_ms": 1e3 * epoch, "ratio": best[name, 1] / epoch})
        rows.append({"case": f"{name} partial_fit", "call_ms": 1e3 * best[name, "partial_fit"],
                     "epoch_ms": 1e3 * epoch, "ratio": best[name, "partial_fit"] / epoch})
    sgd = best["SGDClassifier", 1]
    for optimizer in MINI_BATCH:
        rows.append({"case": f"classifier {optimizer} fit(max_iter=1)",
                     "call_ms": 1e3 * best[optimizer, 1], "epoch_ms": 1e3 * sgd,
                     "ratio": best[optimizer, 1] / sgd})
    rows.append({"case": "mlp fit(max_iter=2) over MLPRegressor's",
                 "call_ms": 1e3 * best["mlp", 2], "epoch_ms": 1e3 * best["MLPRegressor", 2],
                 "ratio": best["mlp", 2] / best["MLPRegressor", 2]})
    ratios = {
        "mlp fit": rows[0]["ratio"], "mlp partial_fit": rows[1]["ratio"],
        "linear partial_fit": rows[3]["ratio"],
        "classifier fit": max(r["ratio"] for r in rows[4:-1]),
        "mlp 2 epochs over MLPRegressor": rows[-1]["ratio"],
    }
    targets = {key: {"ratio": ratios[key], "target": goal, "met": ratios[key] <= goal}
               for key, goal in TARGETS.items()}
    _common.table(rows, [("case", "s"), ("call_ms", ".1f"), ("epoch_ms", ".1f"),
                         ("ratio", ".2f")],
                  title="The call over its marginal epoch (classifier: over SGDClassifier's "
                        "one-epoch fit; the last row: over MLPRegressor's two-epoch fit)")
    print("\nTargets:")
    for key, value in targets.items():
        print(f"  {key}: {value['ratio']:.2f} (target <= {value['target']}): "
              f"{'met' if value['met'] else 'MISSED'}")
    print(f"# load average before/after: {load_before[0]:.2f} / {load_after[0]:.2f}")
    _common.write_json(args.json, "bench_fixed_cost", args, rows, targets=targets,
                       load_average=[load_before[0], load_after[0]])


if __name__ == "__main__":
    main()
