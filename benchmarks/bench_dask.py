"""Fitting on Dask arrays over a LocalCluster against the in-memory fit: step, overhead, epoch.

X of 1,000,000 x 100 float64 (800 MB) is generated on the workers of a
``LocalCluster`` (worker processes of one thread each, on loopback) in
blocks of 100,000 rows and persisted there; the in-memory reference fits the
same X as one NumPy array in this process (with the BLAS threads of this
machine, and with one thread: a worker's share). For 1 and 2 workers the
script times:

* the full-batch ``"gd"`` step: the marginal epoch of
  ``GradientRegressor.fit`` (``(fit(max_iter=1 + k) - fit(max_iter=1)) / k``),
  on Dask and in memory, and checks that both fits give the same ``coef_``;
* the round trip: an all-reduce whose blocks do nothing, the fixed cost of a
  step (graph, scheduler, workers, the tree reduction, the client);
* the overhead of a step: the Dask step minus its ideal, the one-thread
  in-memory step divided by the number of workers;
* the mini-batch epoch: the marginal ``"adam"`` epoch at batch 256
  (``fit(max_iter=2) - fit(max_iter=1)``), blocks visited one at a time.

Run ``python benchmarks/bench_dask.py``; ``--tiny`` for a quick check.
"""

import os
import sys

import numpy as np

import _common
from sk_gradopt import GradientRegressor


def gd(X, y, max_iter):
    return GradientRegressor(optimizer="gd", learning_rate=0.1, max_iter=max_iter, tol=None,
                             random_state=0).fit(X, y)


def adam(X, y, max_iter):
    return GradientRegressor(optimizer="adam", batch_size=256, learning_rate=0.001,
                             max_iter=max_iter, tol=None, random_state=0).fit(X, y)


def nothing(Xb, Yb, swb, args):
    """A block's piece of a step that does nothing: what is left is the round trip."""
    return 0.0


def marginal(best, key, extra):
    return 1e3 * (best[key + (1 + extra,)] - best[key + (1,)]) / extra


def main():
    args = _common.parser(__doc__.splitlines()[0]).parse_args()
    _common.quiet()
    try:
        import dask
        import dask.array as da
        from distributed import Client, LocalCluster, wait
    except ImportError:
        sys.exit("bench_dask.py needs Dask: pip install '.[dask]'")
    from threadpoolctl import threadpool_info, threadpool_limits

    from sk_gradopt import _dask
    from sk_gradopt._epoch import Data

    if args.tiny:
        n, d, block, repeat, extra, workers = 20_000, 10, 5_000, args.repeat or 1, 2, (1, 2)
    else:
        n, d, block, repeat, extra, workers = 1_000_000, 100, 100_000, args.repeat or 5, 8, (1, 2)
    info = _common.machine()
    _common.print_machine(info)
    print(f"# X: {n} x {d} float64 ({n * d * 8 / 1e9:.2f} GB) in blocks of {block} rows; best "
          f"of {repeat} rounds; full-batch step over {extra} epochs")

    def make(rng_seed=0):
        rng = da.random.default_rng(rng_seed)
        X = rng.standard_normal((n, d), chunks=(block, d))
        y = X @ (rng.standard_normal(d) / np.sqrt(d)) + 0.1 * rng.standard_normal(n,
                                                                                 chunks=block)
        return X, y

    rows = []
    load_before = os.getloadavg()
    with dask.config.set(scheduler="threads"):
        X_np, y_np = dask.compute(*make())  # the same numbers, in this process
    memory_jobs = {}
    for threads in (None, 1):
        def job(fit, k, threads=threads):
            def run():
                with threadpool_limits(threads):
                    return _common.timed(lambda: fit(X_np, y_np, k))()
            return run
        for k in (1, 1 + extra):
            memory_jobs["gd", threads, k] = job(gd, k)
        for k in (1, 2):
            memory_jobs["adam", threads, k] = job(adam, k)
    best = _common.interleaved_best(memory_jobs, repeat)
    blas_threads = max(p.get("num_threads", 0) for p in threadpool_info()
                       if p.get("user_api") == "blas")
    memory_step = {}
    for threads in (None, 1):
        label = f"in memory, {threads or blas_threads} BLAS thread(s)"
        memory_step[threads] = marginal(best, ("gd", threads), extra)
        rows.append({"where": label, "workers": 0, "step_ms": memory_step[threads],
                     "epoch_ms": marginal(best, ("adam", threads), 1)})
    reference = gd(X_np, y_np, 1 + extra).coef_

    for n_workers in workers:
        with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                          host="127.0.0.1", dashboard_address=None) as cluster, \
                Client(cluster) as client:
            worker_blas = sorted({
                p.get("num_threads") for info_ in client.run(threadpool_info).values()
                for p in info_ if p.get("user_api") == "blas"
            })
            X, y = client.persist(list(make()))
            client.wait_for_workers(n_workers)
            wait([X, y])
            blocks = _dask.Blocks.of(Data(X, y[:, None], None, float(n)))
            jobs = {("gd", k): _common.timed(lambda k=k: gd(X, y, k)) for k in (1, 1 + extra)}
            jobs.update({("adam", k): _common.timed(lambda k=k: adam(X, y, k)) for k in (1, 2)})
            jobs["round trip"] = _common.timed(lambda: _dask.all_reduce(blocks, nothing))
            best = _common.interleaved_best(jobs, repeat)
            step = marginal(best, ("gd",), extra)
            coef_diff = float(np.max(np.abs(gd(X, y, 1 + extra).coef_ - reference)))
        rows.append({
            "where": f"Dask, {n_workers} worker(s) x 1 thread (BLAS {worker_blas})",
            "workers": n_workers, "step_ms": step,
            "round_trip_ms": 1e3 * best["round trip"],
            "overhead_ms": step - memory_step[1] / n_workers,
            "epoch_ms": marginal(best, ("adam",), 1),
            "step_over_memory": step / memory_step[None],
            "max_coef_diff": coef_diff,
        })
    load_after = os.getloadavg()
    _common.table(rows, [
        ("where", "s"), ("step_ms", ".1f"), ("step_over_memory", ".2f"),
        ("round_trip_ms", ".1f"), ("overhead_ms", ".1f"), ("epoch_ms", ".0f"),
        ("max_coef_diff", ".1e"),
    ], title="Full-batch gd step, its round trip and overhead; mini-batch adam epoch (batch 256)")
    print(f"# load average before/after: {load_before[0]:.2f} / {load_after[0]:.2f}")
    _common.write_json(args.json, "bench_dask", args, rows, n=n, d=d, block_rows=block,
                       load_average=[load_before[0], load_after[0]])


if __name__ == "__main__":
    main()
