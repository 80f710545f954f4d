"""Epoch time as n grows 10x and 100x and as d grows 10x: the exponent of the growth.

For ``"adam"`` at batch 256 and full-batch ``"gd"`` (float64), times the
marginal epoch of ``GradientRegressor.fit``
(``(fit(max_iter=1 + k) - fit(max_iter=1)) / k``) at ``(n, d)``,
``(10 n, d)``, ``(100 n, d)`` and ``(n, 10 d)``, and reports the exponent
``log(t2 / t1) / log(10)`` of each growth: 1 is linear, below 1 means the
fixed per-batch or per-epoch costs are still visible at the smaller size,
above 1 that the larger size falls out of a cache the smaller one fits in.

Run ``python benchmarks/bench_scaling.py``; ``--tiny`` for a quick check.
"""

import math
import os
from itertools import product

import numpy as np

import _common
from sk_gradopt import GradientRegressor


def data(n, d):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    y = X @ (rng.standard_normal(d) / math.sqrt(d)) + 0.1 * rng.standard_normal(n)
    return X, y


def fit(optimizer, X, y, max_iter):
    return GradientRegressor(optimizer=optimizer, batch_size=256, learning_rate=0.01,
                             max_iter=max_iter, tol=None, random_state=0).fit(X, y)


def main():
    args = _common.parser(__doc__.splitlines()[0]).parse_args()
    _common.quiet()
    if args.tiny:
        n, d, repeat, extra = 2_000, 10, args.repeat or 3, 4
    else:
        # X of the base size (40 MB) is already larger than this machine's L3
        # cache (32 MB): every size streams from memory, like the larger ones.
        n, d, repeat, extra = 50_000, 100, args.repeat or 3, 3
    info = _common.machine()
    _common.print_machine(info)
    print(f"# base n={n} d={d}; best of {repeat} rounds; marginal epoch over {extra} "
          "epochs")
    sizes = {"base": (n, d), "n x10": (10 * n, d), "n x100": (100 * n, d),
             "d x10": (n, 10 * d)}
    jobs = {}
    for label, shape in sizes.items():
        X, y = data(*shape)
        for optimizer, max_iter in product(("adam", "gd"), (1, 1 + extra)):
            jobs[label, optimizer, max_iter] = _common.timed(
                lambda o=optimizer, X=X, y=y, m=max_iter: fit(o, X, y, m))
    load_before = os.getloadavg()
    best = _common.interleaved_best(jobs, repeat)
    load_after = os.getloadavg()
    times = {(label, o): 1e3 * (best[label, o, 1 + extra] - best[label, o, 1]) / extra
             for label, o, _ in best}
    rows = []
    for optimizer in ("adam", "gd"):
        base = times["base", optimizer]
        for label, (rows_, cols) in sizes.items():
            t = times[label, optimizer]
            row = {"optimizer": optimizer, "size": label, "n": rows_, "d": cols,
                   "epoch_ms": t, "ns_per_element": 1e6 * t / (rows_ * cols)}
            if label != "base" and t > 0 and base > 0:  # (noise at --tiny sizes)
                growth = (rows_ * cols) / (n * d)
                row["exponent"] = math.log(t / base) / math.log(growth)
            rows.append(row)
    _common.table(rows, [
        ("optimizer", "s"), ("size", "s"), ("n", "d"), ("d", "d"), ("epoch_ms", ".2f"),
        ("ns_per_element", ".3f"), ("exponent", ".2f"),
    ], title="Epoch time against size (exponent 1 = linear in n * d)")
    print(f"# load average before/after: {load_before[0]:.2f} / {load_after[0]:.2f}")
    _common.write_json(args.json, "bench_scaling", args, rows,
                       load_average=[load_before[0], load_after[0]])


if __name__ == "__main__":
    main()
