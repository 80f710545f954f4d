"""The full-batch ``"gd"`` step against the two matrix-vector products and a copy of X.

A full-batch gradient step of a linear model must compute ``X @ w`` and
``X.T @ r``: two passes over ``X``, which is far larger than the caches, so
the step is bound by memory bandwidth. This script times, in one run and for
float64 and float32:

* the step: the marginal cost of one more ``"gd"`` epoch of
  ``GradientRegressor.fit`` (``(fit(max_iter=1 + k) - fit(max_iter=1)) / k``);
* the two matrix-vector products alone (NumPy's ``X @ w`` and ``X.T @ r``);
* a plain copy of ``X`` into a preallocated array (``np.copyto``), whose
  bandwidth (bytes read plus bytes written, over the time) is the measured
  memory bandwidth.

It reports the step over the two products (target: at most 1.15) and the
bandwidth the step reaches (two reads of X over the step time) as a fraction
of the copy's; and the whole ``fit(max_iter=20)`` (validation, the start and
final objectives included) over twenty pairs of the two products (target:
at most 1.15).

The step reads each row of X once (``sk_gradopt._kernels.linear_loss_and_grad``:
the raw output, the loss and the row's share of ``X.T @ dz`` from the same
cache lines), in chunks of rows on every core: it can take less than the
two products, and its "bandwidth" (counted as two reads) exceed the copy's.

Run ``python benchmarks/bench_limit.py``; ``--tiny`` for a quick check.
"""

import os

import numpy as np

import _common
from sk_gradopt import GradientRegressor

TARGET = 1.15
FIT_TARGET = 1.15  # fit(max_iter=FIT_EPOCHS) over FIT_EPOCHS pairs of products
FIT_EPOCHS = 20


def make_data(n, d, dtype):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d), dtype=np.float64).astype(dtype)
    y = (X @ rng.standard_normal(d) + rng.standard_normal(n)).astype(dtype)
    return X, y


def gd_fit(X, y, max_iter):
    return GradientRegressor(
        optimizer="gd", learning_rate=0.01, max_iter=max_iter, tol=None, random_state=0
    ).fit(X, y)


def main():
    args = _common.parser(__doc__.splitlines()[0]).parse_args()
    _common.quiet()
    if args.tiny:
        n, d, repeat, extra = 20_000, 50, args.repeat or 3, 5
    else:
        n, d, repeat, extra = 1_000_000, 100, args.repeat or 5, 10
    info = _common.machine()
    _common.print_machine(info)
    print(f"# X: {n} x {d}; best of {repeat} rounds; step = marginal epoch over {extra} "
          "epochs")
    data, jobs = {}, {}
    for dtype in ("float64", "float32"):
        X, y = data[dtype] = make_data(n, d, dtype)
        w, r, dst = np.ones(d, dtype=dtype) / d, np.ones(n, dtype=dtype), np.empty_like(X)
        jobs[dtype, "fit 1"] = _common.timed(lambda X=X, y=y: gd_fit(X, y, 1))
        jobs[dtype, "fit more"] = _common.timed(lambda X=X, y=y: gd_fit(X, y, 1 + extra))
        jobs[dtype, "fit 20"] = _common.timed(lambda X=X, y=y: gd_fit(X, y, FIT_EPOCHS))
        jobs[dtype, "Xw"] = _common.timed(lambda X=X, w=w: X @ w)
        jobs[dtype, "XTr"] = _common.timed(lambda X=X, r=r: X.T @ r)
        jobs[dtype, "copy"] = _common.timed(lambda X=X, dst=dst: np.copyto(dst, X))
    load_before = os.getloadavg()
    best = {key: 1e3 * seconds for key, seconds in
            _common.interleaved_best(jobs, repeat).items()}
    rows = []
    for dtype, (X, _) in data.items():
        nbytes = X.nbytes
        step_ms = (best[dtype, "fit more"] - best[dtype, "fit 1"]) / extra
        matvecs_ms = best[dtype, "Xw"] + best[dtype, "XTr"]
        copy_gbs = 2 * nbytes / best[dtype, "copy"] / 1e6
        step_gbs = 2 * nbytes / step_ms / 1e6
        rows.append({
            "dtype": dtype,
            "X_MB": nbytes / 1e6, "step_ms": step_ms,
            "fit_1_epoch_ms": best[dtype, "fit 1"], "Xw_ms": best[dtype, "Xw"],
            "XTr_ms": best[dtype, "XTr"], "matvecs_ms": matvecs_ms,
            "step_over_matvecs": step_ms / matvecs_ms, "copy_ms": best[dtype, "copy"],
            "copy_GBs": copy_gbs, "step_GBs": step_gbs,
            "fraction_of_copy_bandwidth": step_gbs / copy_gbs,
            "fit_20_ms": best[dtype, "fit 20"],
            "fit_20_over_pairs": best[dtype, "fit 20"] / (FIT_EPOCHS * matvecs_ms),
        })
    load_after = os.getloadavg()
    _common.table(rows, [
        ("dtype", "s"), ("X_MB", ".0f"), ("step_ms", ".2f"), ("Xw_ms", ".2f"),
        ("XTr_ms", ".2f"), ("step_over_matvecs", ".2f"), ("copy_ms", ".2f"),
        ("copy_GBs", ".1f"), ("step_GBs", ".1f"), ("fraction_of_copy_bandwidth", ".2f"),
        ("fit_20_ms", ".1f"), ("fit_20_over_pairs", ".2f"),
    ], title="Full-batch gd step vs X @ w + X.T @ r and a copy of X")
    worst = max(r["step_over_matvecs"] for r in rows)
    worst_fit = max(r["fit_20_over_pairs"] for r in rows)
    print(f"\nTarget: step <= {TARGET} x the two products: worst {worst:.2f}: "
          f"{'met' if worst <= TARGET else 'MISSED'}")
    print(f"Target: fit(max_iter={FIT_EPOCHS}) <= {FIT_TARGET} x {FIT_EPOCHS} pairs of "
          f"products: worst {worst_fit:.2f}: {'met' if worst_fit <= FIT_TARGET else 'MISSED'}")
    print(f"# load average before/after: {load_before[0]:.2f} / {load_after[0]:.2f}")
    _common.write_json(args.json, "bench_limit", args, rows,
                       targets={"step_over_matvecs": {"worst_ratio": worst, "target": TARGET,
                                                      "met": worst <= TARGET},
                                "fit_20_over_pairs": {"worst_ratio": worst_fit,
                                                      "target": FIT_TARGET,
                                                      "met": worst_fit <= FIT_TARGET}},
                       n_samples=n, n_features=d,
                       load_average=[load_before[0], load_after[0]])


if __name__ == "__main__":
    main()
