"""One epoch of an MLP (100 -> 256 -> 1, ReLU, Adam, batch 256) against scikit-learn and PyTorch.

For float64 and float32, in one run, the script times:

* ``GradientMLPRegressor``: the marginal epoch of ``fit``
  (``(fit(max_iter=1 + k) - fit(max_iter=1)) / k``, ``tol=None``);
* ``MLPRegressor(solver="adam")``: its marginal epoch, the same way;
* a hand-written PyTorch CPU loop of the same network (``torch.nn.Linear``,
  ReLU, ``torch.optim.Adam``, a fresh ``torch.randperm`` per epoch), the best
  of 1 thread and all cores;
* the floor: the two large matrix products of each batch alone
  (``X_b @ W1`` and ``X_b.T @ D``, on consecutive batches, no gather).

Targets: our epoch at most 0.55x MLPRegressor's and at most 0.7x the PyTorch
loop's. Run ``python benchmarks/bench_mlp.py``; ``--tiny`` for a quick check,
``--n-samples 50000`` for a quicker run of the same shapes.
"""

import os
import time

import numpy as np

import _common
from sk_gradopt import GradientMLPRegressor

TARGETS = {"MLPRegressor": 0.55, "torch": 0.7}
HIDDEN = 256
BATCH = 256
LEARNING_RATE = 1e-3


def make_data(n, d, dtype):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d), dtype=np.float64).astype(dtype)
    y = (np.tanh(X @ rng.standard_normal(d) / np.sqrt(d)) + 0.1 * rng.standard_normal(n))
    return X, y.astype(dtype)


def ours(X, y, max_iter):
    return GradientMLPRegressor(
        hidden_layer_sizes=(HIDDEN,), optimizer="adam", learning_rate=LEARNING_RATE,
        batch_size=BATCH, max_iter=max_iter, tol=None, random_state=0,
    ).fit(X, y)


def sklearn_mlp(X, y, max_iter):
    from sklearn.neural_network import MLPRegressor

    return MLPRegressor(
        hidden_layer_sizes=(HIDDEN,), solver="adam", learning_rate_init=LEARNING_RATE,
        batch_size=BATCH, max_iter=max_iter, tol=0.0, n_iter_no_change=10**9,
        random_state=0,
    ).fit(X, y)


def floor_job(X):
    """The two large products of every batch: ``X_b @ W1`` and ``X_b.T @ D``."""
    n, d = X.shape
    W = np.full((d, HIDDEN), 0.01, dtype=X.dtype)
    D = np.ones((BATCH, HIDDEN), dtype=X.dtype)

    def epoch():
        for start in range(0, n, BATCH):
            Xb = X[start:start + BATCH]
            Xb @ W
            Xb.T @ D[: Xb.shape[0]]

    return _common.timed(epoch)


def torch_job(torch, X, y, threads):
    """A job: one epoch of the PyTorch loop with ``threads`` threads."""
    n, d = X.shape
    Xt = torch.from_numpy(np.ascontiguousarray(X))
    yt = torch.from_numpy(y.reshape(-1, 1))
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(d, HIDDEN, dtype=Xt.dtype), torch.nn.ReLU(),
                                torch.nn.Linear(HIDDEN, 1, dtype=Xt.dtype))
    opt = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    generator = torch.Generator().manual_seed(0)

    def epoch(max_batches=None):
        total = torch.zeros((), dtype=Xt.dtype)
        perm = torch.randperm(n, generator=generator)
        for i, start in enumerate(range(0, n, BATCH)):
            if i == max_batches:
                break
            rows = perm[start:start + BATCH]
            xb, yb = Xt[rows], yt[rows]
            opt.zero_grad(set_to_none=True)
            loss = 0.5 * torch.nn.functional.mse_loss(model(xb), yb)
            loss.backward()
            opt.step()
            total = total + loss.detach() * yb.shape[0]
        return float(total)

    epoch(max_batches=20)  # warm up

    def job():
        torch.set_num_threads(threads)
        start = time.perf_counter()
        epoch()
        return time.perf_counter() - start

    return job


def main():
    parser = _common.parser(__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=None,
                        help="rows of X (default 200,000; 3,000 with --tiny): fewer for a "
                             "quicker run while iterating")
    args = parser.parse_args()
    _common.quiet()
    if args.tiny:
        n, d, repeat, extra = 3_000, 20, args.repeat or 2, 2
    else:
        n, d, repeat, extra = 200_000, 100, args.repeat or 3, 2
    n = args.n_samples or n
    torch = _common.import_torch(args.no_torch)
    info = _common.machine()
    _common.print_machine(info)
    print(f"# n={n} d={d} -> {HIDDEN} -> 1, ReLU, Adam, batch {BATCH}; best of {repeat} "
          f"rounds; marginal epoch over {extra} more epochs; PyTorch: "
          f"{'yes' if torch is not None else 'not installed (rows skipped)'}")
    threads = sorted({1, os.cpu_count() or 1})
    jobs = {}
    for dtype in ("float64", "float32"):
        X, y = make_data(n, d, dtype)
        for name, fit in (("GradientMLPRegressor", ours), ("MLPRegressor", sklearn_mlp)):
            for k in (1, 1 + extra):
                jobs[dtype, name, k] = _common.timed(lambda X=X, y=y, f=fit, k=k: f(X, y, k))
        jobs[dtype, "floor", 0] = floor_job(X)
        for t in threads if torch is not None else []:
            jobs[dtype, "torch", t] = torch_job(torch, X, y, t)
    load_before = os.getloadavg()
    best = _common.interleaved_best(jobs, repeat)
    load_after = os.getloadavg()

    rows, targets = [], {}
    for dtype in ("float64", "float32"):
        epoch, fitted = {}, {}
        for name in ("GradientMLPRegressor", "MLPRegressor"):
            epoch[name] = (best[dtype, name, 1 + extra] - best[dtype, name, 1]) / extra
            fitted[name] = {"dtype": dtype, "model": name, "epoch_ms": 1e3 * epoch[name],
                            "fit_1_epoch_ms": 1e3 * best[dtype, name, 1]}
            rows.append(fitted[name])
        rows.append({"dtype": dtype, "model": "floor (2 products/batch)",
                     "epoch_ms": 1e3 * best[dtype, "floor", 0]})
        torch_times = {t: best[dtype, "torch", t] for t in threads if (dtype, "torch", t) in best}
        if torch_times:
            t = min(torch_times, key=torch_times.get)
            epoch["torch"] = torch_times[t]
            rows.append({"dtype": dtype, "model": f"torch ({t} thr)",
                         "epoch_ms": 1e3 * torch_times[t]})
        mine = epoch["GradientMLPRegressor"]
        for baseline, goal in TARGETS.items():
            if baseline in epoch:
                ratio = mine / epoch[baseline]
                targets[f"{dtype} vs {baseline}"] = {"ratio": ratio, "target": goal,
                                                     "met": ratio <= goal}
        fitted["GradientMLPRegressor"]["x_floor"] = mine / best[dtype, "floor", 0]
    _common.table(rows, [("dtype", "s"), ("model", "s"), ("epoch_ms", ".1f"),
                         ("fit_1_epoch_ms", ".1f"), ("x_floor", ".2f")],
                  title="One epoch (ms): marginal epochs of fit; x_floor: ours over the floor")
    print("\nTargets (our marginal epoch over the baseline's):")
    for key, value in targets.items():
        print(f"  {key}: {value['ratio']:.2f} (target <= {value['target']}): "
              f"{'met' if value['met'] else 'MISSED'}")
    print(f"# load average before/after: {load_before[0]:.2f} / {load_after[0]:.2f}")
    _common.write_json(args.json, "bench_mlp", args, rows, targets=targets,
                       n_samples=n, n_features=d, load_average=[load_before[0], load_after[0]])


if __name__ == "__main__":
    main()
