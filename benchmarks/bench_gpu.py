"""The CuPy backend on the GPU against PyTorch on the same GPU, and the NumPy backend on the CPU.

Three problems, float32: linear regression on X of 10,000,000 x 100, a
10-class softmax (``GradientClassifier(loss="log_loss")``) on X of
1,000,000 x 256, and an MLP regressor (``GradientMLPRegressor``, 100 -> 256
-> 1, ReLU) on X of 1,000,000 x 100. For each, on the GPU (CuPy arrays
passed to ``fit``, which then computes on the GPU) and on the CPU (NumPy
arrays):

* (linear models) full-batch ``"gd"``: milliseconds per step (the marginal cost of one more
  epoch, ``(fit(max_iter=1 + k) - fit(max_iter=1)) / k``) and the bandwidth
  it reaches -- the bytes of X read per step (two passes: ``X @ W`` and
  ``X.T @ G``) over the step time -- as a fraction of the measured copy
  bandwidth (a device-to-device copy of X on the GPU, ``np.copyto`` on the
  CPU; bytes read plus bytes written over the time). Target on the GPU:
  at least 0.7.
* mini-batch ``"adam"``, batch 4096, one epoch: seconds for ``fit`` with
  ``max_iter=1`` (validation and the objective at the end included) and the
  marginal epoch, against a hand-written PyTorch loop on the same GPU
  (``torch.nn.Linear``, ``torch.optim.Adam``, the same l2 penalty as weight
  decay, data already on the GPU, a fresh ``torch.randperm`` per epoch, the
  loss accumulated on the GPU and read once). Target: no slower than PyTorch.

GPU rows need CuPy and a GPU (and PyTorch with CUDA for the PyTorch rows);
where they are missing the script says so in one line and runs the CPU rows.
Run ``python benchmarks/bench_gpu.py`` on the GPU machine; ``--tiny`` runs
small sizes in seconds, on any machine.
"""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")  # sklearn's array API mode needs it

import math  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

import numpy as np  # noqa: E402
import sklearn  # noqa: E402

import _common  # noqa: E402
from sk_gradopt import (  # noqa: E402
    GradientClassifier,
    GradientMLPRegressor,
    GradientRegressor,
)

ALPHA = 1e-4
LEARNING_RATE = 1e-3
BATCH = 4096
BANDWIDTH_TARGET = 0.7
HIDDEN = 256  # the MLP's hidden layer


def find_gpu():
    """``(cupy, description)`` or ``(None, why not)``."""
    try:
        import cupy
    except ImportError:
        return None, "no GPU rows: CuPy is not installed"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # no driver, no device
        return None, f"no GPU rows: no GPU ({exc})"
    if count == 0:
        return None, "no GPU rows: no GPU"
    props = cupy.cuda.runtime.getDeviceProperties(0)
    name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    return cupy, f"{name}, {props['totalGlobalMem'] / 2**30:.0f} GiB"


def torch_cuda(disabled):
    if disabled:
        return None
    try:
        import torch
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


class Clock:
    """Wall time that waits for the GPU's queued work (when there is a GPU)."""

    def __init__(self, cupy=None):
        self.cupy = cupy

    def sync(self):
        if self.cupy is not None:
            self.cupy.cuda.Device().synchronize()

    def best(self, func, repeat):
        best = math.inf
        for _ in range(repeat):
            self.sync()
            start = time.perf_counter()
            func()
            self.sync()
            best = min(best, time.perf_counter() - start)
        return best


def make_data(xp, kind, n, d, seed=0):
    """float32 ``X`` and ``y`` in namespace ``xp`` (NumPy or CuPy)."""
    if xp is np:
        rng = np.random.default_rng(seed)
        X = np.empty((n, d), dtype=np.float32)
        for start in range(0, n, 1_000_000):  # no float64 temporary of X
            rng.standard_normal(out=X[start:start + 1_000_000], dtype=np.float32)
        w = rng.standard_normal((d, 10 if kind == "softmax" else 1)).astype(np.float32)
    else:
        rng = xp.random.default_rng(seed)
        X = rng.standard_normal((n, d), dtype=xp.float32)
        w = rng.standard_normal((d, 10 if kind == "softmax" else 1), dtype=xp.float32)
    raw = X @ (w / math.sqrt(d))
    if kind == "softmax":
        return X, xp.argmax(raw, axis=1)
    return X, xp.ascontiguousarray(raw[:, 0])


def estimator(kind, optimizer, max_iter):
    params = dict(optimizer=optimizer, learning_rate=LEARNING_RATE, alpha=ALPHA,
                  batch_size=BATCH, max_iter=max_iter, tol=None, random_state=0)
    if kind == "mlp":
        return GradientMLPRegressor(hidden_layer_sizes=(HIDDEN,), **params)
    Estimator = GradientClassifier if kind == "softmax" else GradientRegressor
    return Estimator(**params)


def fit_and_epoch(clock, kind, optimizer, X, y, repeat, extra):
    """Best one-epoch ``fit`` time and the marginal epoch, in seconds."""
    one = clock.best(lambda: estimator(kind, optimizer, 1).fit(X, y), repeat)
    more = clock.best(lambda: estimator(kind, optimizer, 1 + extra).fit(X, y), repeat)
    return one, (more - one) / extra


def copy_seconds(clock, xp, X, repeat):
    dst = xp.empty_like(X)
    if xp is np:
        seconds = clock.best(lambda: np.copyto(dst, X), repeat)
    else:
        seconds = clock.best(lambda: dst.__setitem__(Ellipsis, X), repeat)  # device to device
    del dst
    return seconds


def torch_epoch_seconds(torch, clock, kind, X, y, repeat):
    """Best time of one epoch of the hand-written loop, data already on the GPU."""
    F = torch.nn.functional
    Xt = torch.from_dlpack(X)
    yt = torch.from_dlpack(y)
    n, d = Xt.shape
    if kind != "softmax":
        yt = yt.reshape(-1, 1)
    device = Xt.device
    if kind == "mlp":
        layers = [torch.nn.Linear(d, HIDDEN, device=device),
                  torch.nn.Linear(HIDDEN, 1, device=device)]
        model = torch.nn.Sequential(layers[0], torch.nn.ReLU(), layers[1])
    else:
        layers = [torch.nn.Linear(d, 10 if kind == "softmax" else 1, device=device)]
        model = layers[0]
    opt = torch.optim.Adam([{"params": [m.weight for m in layers], "weight_decay": ALPHA},
                            {"params": [m.bias for m in layers], "weight_decay": 0.0}],
                           lr=LEARNING_RATE)

    def epoch(max_batches=None):
        total = torch.zeros((), device=device)
        perm = torch.randperm(n, device=device)
        for i, start in enumerate(range(0, n, BATCH)):
            if i == max_batches:
                break
            rows = perm[start:start + BATCH]
            xb, yb = Xt[rows], yt[rows]
            opt.zero_grad(set_to_none=True)
            out = model(xb)
            if kind != "softmax":
                loss = 0.5 * F.mse_loss(out, yb)
            else:
                loss = F.cross_entropy(out, yb)
            loss.backward()
            opt.step()
            total += loss.detach() * yb.shape[0]
        return float(total)

    epoch(max_batches=20)  # warm up (cuBLAS handles, kernels)
    clock.sync()
    return clock.best(epoch, repeat)


def run(device, xp, clock, kind, X, y, repeat, extra, torch):
    """The rows of one problem on one device.

    A measurement that fails (say, CuPy input not supported yet) gives a row
    with the error instead, and the others still run.
    """
    label = f"{kind} {X.shape[0]} x {X.shape[1]}"
    nbytes = X.nbytes
    rows = []

    def measure(what, func):
        try:
            row = {"problem": label, "device": device, "what": what, **func()}
        except Exception as exc:  # report and go on with the other rows
            traceback.print_exc()
            row = {"problem": label, "device": device, "what": f"{what}: {exc!r}"[:120]}
        rows.append(row)
        return row

    def copy():
        seconds = copy_seconds(clock, xp, X, repeat)
        return {"copy_ms": 1e3 * seconds, "GBs": 2 * nbytes / seconds / 1e9}

    def gd():
        fit_s, step_s = fit_and_epoch(clock, kind, "gd", X, y, repeat, extra)
        return {"fit_ms": 1e3 * fit_s, "step_ms": 1e3 * step_s,
                "GBs": 2 * nbytes / step_s / 1e9}

    def adam():
        fit_s, epoch_s = fit_and_epoch(clock, kind, "adam", X, y, min(repeat, 2), 1)
        return {"fit_s": fit_s, "epoch_s": epoch_s}

    if kind != "mlp":  # the full-batch step of a linear model is bandwidth-bound
        copied = measure("copy of X", copy)
        step = measure("gd step", gd)
        if "GBs" in copied and "GBs" in step:
            step["of_copy"] = step["GBs"] / copied["GBs"]
    ours = measure(f"adam epoch, batch {BATCH}", adam)
    if torch is not None:
        theirs = measure(f"torch adam epoch, batch {BATCH}", lambda: {
            "epoch_s": torch_epoch_seconds(torch, clock, kind, X, y, min(repeat, 2))})
        if "fit_s" in ours and "epoch_s" in theirs:
            ours["x_torch"] = ours["fit_s"] / theirs["epoch_s"]
    return rows


def main():
    args = _common.parser(__doc__.splitlines()[0]).parse_args()
    _common.quiet()
    if args.tiny:
        sizes = {"regression": (20_000, 100), "softmax": (10_000, 256), "mlp": (5_000, 20)}
        repeat, extra = args.repeat or 2, 2
    else:
        sizes = {"regression": (10_000_000, 100), "softmax": (1_000_000, 256),
                 "mlp": (1_000_000, 100)}
        repeat, extra = args.repeat or 3, 5
    info = _common.machine()
    _common.print_machine(info)
    cupy, gpu = find_gpu()
    torch = torch_cuda(args.no_torch) if cupy is not None else None
    print(f"# GPU: {gpu}")
    if cupy is not None and torch is None:
        print("# no PyTorch rows: PyTorch with CUDA is not installed")
    info["gpu"] = gpu
    rows = []
    for kind, (n, d) in sizes.items():
        if cupy is not None:
            X, y = make_data(cupy, kind, n, d)
            with sklearn.config_context(array_api_dispatch=True):
                rows += run("gpu", cupy, Clock(cupy), kind, X, y, repeat, extra, torch)
            X, y = cupy.asnumpy(X), cupy.asnumpy(y)  # the same data for the CPU rows
            cupy.get_default_memory_pool().free_all_blocks()
        else:
            X, y = make_data(np, kind, n, d)
        rows += run("cpu", np, Clock(), kind, X, y, repeat, extra, None)
        del X, y
    _common.table(rows, [
        ("problem", "s"), ("device", "s"), ("what", "s"), ("copy_ms", ".2f"),
        ("step_ms", ".2f"), ("GBs", ".1f"),
        ("of_copy", ".2f"), ("fit_s", ".3f"), ("epoch_s", ".3f"), ("x_torch", ".2f"),
    ], title="GPU (CuPy) and CPU (NumPy) figures; x_torch: our fit_s / PyTorch's epoch")
    targets = {}
    gpu_steps = [r["of_copy"] for r in rows if r["device"] == "gpu" and "of_copy" in r]
    if gpu_steps:
        targets["gd_step_of_copy_bandwidth"] = {
            "worst": min(gpu_steps), "target": BANDWIDTH_TARGET,
            "met": min(gpu_steps) >= BANDWIDTH_TARGET}
    x_torch = [r["x_torch"] for r in rows if "x_torch" in r]
    if x_torch:
        targets["adam_epoch_over_torch"] = {"worst": max(x_torch), "target": 1.0,
                                            "met": max(x_torch) <= 1.0}
    for name, t in targets.items():
        print(f"Target {name}: {t['worst']:.2f} (target {t['target']}): "
              f"{'met' if t['met'] else 'MISSED'}")
    if cupy is None:
        print(f"# {gpu}; CPU rows only")
    _common.write_json(args.json, "bench_gpu", args, rows, gpu=gpu, targets=targets)


if __name__ == "__main__":
    main()
