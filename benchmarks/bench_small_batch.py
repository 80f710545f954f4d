"""The compiled linear epoch at small batch sizes, beside SGDRegressor and the shuffled-read limit.

Regression (``squared_error``, l2 penalty) on ``make_regression(200_000,
100)`` (standardised), float64 and float32, batch sizes 1, 8, 32 and 256,
for each update rule (``"gd"`` is the rule of ``"sgd"``). Per row of the
table, the best of ``--repeat`` rounds (a round times every configuration
once, so that a burst of load from other processes cannot spoil all the
repeats of one configuration):

* ``kernel``: one call of ``sk_gradopt._kernels.linear_epoch`` -- one epoch,
  the rows read through a permutation drawn outside the timing; each call
  continues from the weights and optimizer state of the previous one, as
  the epochs of a fit do.
* ``SGDRegressor``: its marginal epoch, ``(fit(max_iter=3) -
  fit(max_iter=1)) / 2`` with ``tol=None`` (per-sample SGD, which shuffles
  its rows every epoch).
* ``limit``: a compiled loop that only reads every row of ``X`` in the
  permuted order (it sums them), without software prefetch and with it at
  4, 8, 16 and 32 KB ahead; the fastest counts: the shuffled-read limit of
  this machine.

The ratios ``x_SGDRegressor`` and ``x_limit`` are the kernel's epoch over
those. Targets (issue 9): at most 0.3x SGDRegressor for batch >= 8; for
batch 1 at most 0.3x for sgd and 0.75x for adam; at most 2x the limit.

It also measures the one-time compile cost of the kernel (both dtypes) in a
fresh process with an empty cache (``NUMBA_CACHE_DIR`` set to a new
temporary folder), then the cost of loading it from that warm cache in
another fresh process.

Run ``python benchmarks/bench_small_batch.py`` (about a minute on 2 cores),
``--tiny`` for a quick check; ``--clock cpu`` times each job by its thread's
CPU time, which keeps out the bursts of other processes on a shared machine.
numba is required.
"""

import os
import subprocess
import sys
import tempfile
import time
from typing import Any, NamedTuple

import numpy as np
from numba import njit
from sklearn.datasets import make_regression
from sklearn.linear_model import SGDRegressor
from sklearn.preprocessing import StandardScaler

import _common
from sk_gradopt._kernels import PREFETCH_BYTES, _prefetch, linear_epoch
from sk_gradopt._optimizers import AdamState, EmptyState, RMSPropState, TraceState

LEARNING_RATE = 0.001
ALPHA = 1e-4  # the estimators' default l2 penalty, also SGDRegressor's
RULES = ("sgd", "momentum", "rmsprop", "adam")
LIMIT_PREFETCH = (0, 4096, 8192, 16384, 32768)  # bytes ahead; 0: no software prefetch
BATCHES = (1, 8, 32, 256)

#: The issue's targets: kernel / SGDRegressor's marginal epoch, and kernel / limit.
TARGETS = {"SGDRegressor batch >= 8": 0.3, "SGDRegressor batch 1 sgd": 0.3,
           "SGDRegressor batch 1 adam": 0.75, "limit": 2.0}


class Layer(NamedTuple):
    """The parameters of one linear layer (as the training loop holds them)."""

    coef: Any
    intercept: Any


def regression_data(n, d, dtype):
    """Standardised ``make_regression`` data of ``dtype``."""
    X, y = make_regression(n, d, n_informative=d, noise=1.0, random_state=0)
    X = StandardScaler().fit_transform(X)
    y = (y - y.mean()) / y.std()
    return X.astype(dtype), y.astype(dtype)


@njit(cache=False, error_model="numpy")
def read_rows(X, order, prefetch_bytes):
    """Sum the rows of ``X`` in ``order``: the least a shuffled epoch must do.

    With ``prefetch_bytes > 0``, the kernel's software prefetch, about that
    many bytes ahead (at least 2 rows).
    """
    total = np.zeros(X.shape[1], dtype=X.dtype)
    base, row_bytes, span = X.ctypes.data, X.strides[0], X.shape[1] * X.itemsize
    ahead = max(2, prefetch_bytes // span)
    n = order.shape[0]
    for i in range(n):
        if prefetch_bytes > 0 and i + ahead < n:
            address = base + order[i + ahead] * row_bytes
            for offset in range(0, span, 64):
                _prefetch(address + offset)
            _prefetch(address + span - 1)
        r = order[i]
        for f in range(X.shape[1]):
            total[f] += X[r, f]
    return total


#: The clock of :func:`timed`: ``time.perf_counter`` (wall) or
#: ``time.thread_time`` (``--clock cpu``).
CLOCK = time.perf_counter


def timed(func):
    """A job for ``_common.interleaved_best``: the time of ``func()`` on :data:`CLOCK`.

    Every job here runs on the calling thread alone (the kernel, the read
    loop, ``SGDRegressor``), so its thread CPU time is its run time less the
    time other processes held the core: on a shared machine under load,
    ``--clock cpu`` keeps their bursts out (not their use of memory
    bandwidth).
    """

    def job():
        start = CLOCK()
        func()
        return CLOCK() - start

    return job


def initial_state(rule, params):
    zeros = (Layer(np.zeros_like(params[0].coef), np.zeros_like(params[0].intercept)),)
    return {"sgd": EmptyState(), "momentum": TraceState(zeros), "rmsprop": RMSPropState(zeros),
            "adam": AdamState(0, zeros, zeros)}[rule]


def kernel_job(X, Y, order, rule, batch):
    """A job: one more epoch of the kernel, from where the previous call left off."""
    n, d = X.shape
    bounds = np.r_[np.arange(0, n, batch), n].astype(np.int64)
    rates = np.array([LEARNING_RATE])
    params = (Layer(np.zeros((d, 1), X.dtype), np.zeros(1, X.dtype)),)
    carry = [params, initial_state(rule, params)]

    def epoch():
        carry[0], carry[1], _ = linear_epoch(
            carry[0], carry[1], X, Y, None, order, bounds, rates, loss="squared_error",
            epsilon=0.1, optimizer=rule, momentum=0.9, nesterov=False, rho=0.99,
            beta_1=0.9, beta_2=0.999, eps=1e-8, l1=0.0, l2=ALPHA, mean_weight=1.0)

    epoch()  # the first epoch: compile (or load from the cache), Adam's first steps
    return timed(epoch)


def sgd_regressor(max_iter):
    return SGDRegressor(alpha=ALPHA, max_iter=max_iter, tol=None, random_state=0)


COMPILE_SCRIPT = """
import time
import numpy as np
import sk_gradopt  # not counted: the package imports neither numba nor the kernel
from typing import NamedTuple, Any
from sk_gradopt._optimizers import AdamState
class Layer(NamedTuple):
    coef: Any
    intercept: Any
start = time.perf_counter()
import sk_gradopt._kernels as K  # numba, llvmlite, the module
times = [time.perf_counter() - start]
for dtype in (np.float64, np.float32):
    start = time.perf_counter()
    X, Y = np.ones((4, 2), dtype), np.ones((4, 1), dtype)
    p = (Layer(np.zeros((2, 1), dtype), np.zeros(1, dtype)),)
    K.linear_epoch(p, AdamState(0, p, p), X, Y, None, np.arange(4), np.array([0, 2, 4]),
                   np.array([0.1]), loss="squared_error", epsilon=0.1, optimizer="adam",
                   momentum=0.9, nesterov=False, rho=0.99, beta_1=0.9, beta_2=0.999,
                   eps=1e-8, l1=0.0, l2=0.0, mean_weight=1.0)
    times.append(time.perf_counter() - start)
print(*times)
"""


def compile_costs():
    """Seconds to import the kernel and to have it ready per dtype: cold cache, then warm.

    Each in a fresh process whose numba cache (``NUMBA_CACHE_DIR``) is a new
    temporary folder: empty for the cold run, filled by it for the warm one.
    """
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        costs = {}
        for what in ("cold", "warm"):
            out = subprocess.run([sys.executable, "-c", COMPILE_SCRIPT], env=env, check=True,
                                 capture_output=True, text=True).stdout.split()
            imported, f64, f32 = map(float, out)
            costs.update({f"{what}_import_s": imported, f"{what}_float64_s": f64,
                          f"{what}_float32_s": f32, f"{what}_total_s": imported + f64 + f32})
    return costs


def main():
    global CLOCK
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="wall time, or the thread's CPU time (robust to other processes' "
                        "load on a shared machine)")
    args = p.parse_args()
    CLOCK = time.thread_time if args.clock == "cpu" else time.perf_counter
    _common.quiet()
    if args.tiny:
        n, d, repeat = 4_000, 10, args.repeat or 2
    else:
        n, d, repeat = 200_000, 100, args.repeat or 5
    info = _common.machine()
    _common.print_machine(info)
    import numba

    print(f"# n={n} d={d}; numba {numba.__version__}; best of {repeat} rounds, "
          f"{args.clock} clock; SGDRegressor: (fit(3 epochs) - fit(1 epoch)) / 2; "
          f"kernel prefetch {PREFETCH_BYTES // 1024} KB ahead")
    costs = compile_costs()
    for what, label in (("cold", "empty cache (compile)"), ("warm", "warm cache (load)")):
        print(f"# kernel ready, fresh process, {label}: {costs[f'{what}_total_s']:.2f} s = "
              f"import numba + module {costs[f'{what}_import_s']:.2f} s + float64 "
              f"{costs[f'{what}_float64_s']:.2f} s + float32 {costs[f'{what}_float32_s']:.2f} s")

    jobs = {}
    rng = np.random.default_rng(0)
    for dtype in ("float64", "float32"):
        X, y = regression_data(n, d, dtype)
        Y = y.reshape(-1, 1)
        order = rng.permutation(n)
        for ahead in LIMIT_PREFETCH:
            read_rows(X, order, ahead)
            jobs[dtype, "limit", ahead] = timed(
                lambda X=X, o=order, a=ahead: read_rows(X, o, a))
        jobs[dtype, "SGDRegressor", 1] = timed(lambda X=X, y=y: sgd_regressor(1).fit(X, y))
        jobs[dtype, "SGDRegressor", 3] = timed(lambda X=X, y=y: sgd_regressor(3).fit(X, y))
        for rule in RULES:
            for batch in BATCHES:
                jobs[dtype, rule, batch] = kernel_job(X, Y, order, rule, batch)
        del X, y, Y

    load_before = os.getloadavg()
    best = {key: 1e3 * s for key, s in _common.interleaved_best(jobs, repeat).items()}
    load_after = os.getloadavg()

    rows, worst = [], dict.fromkeys(TARGETS, 0.0)
    for dtype in ("float64", "float32"):
        sgd_ms = (best[dtype, "SGDRegressor", 3] - best[dtype, "SGDRegressor", 1]) / 2
        limit_ms = min(best[dtype, "limit", ahead] for ahead in LIMIT_PREFETCH)
        rows.append({"dtype": dtype, "batch": "1", "model": "SGDRegressor", "optimizer": "sgd",
                     "epoch_ms": sgd_ms, "fit_1_epoch_ms": best[dtype, "SGDRegressor", 1]})
        for ahead in LIMIT_PREFETCH:
            how = f"prefetch {ahead // 1024} KB" if ahead else "no prefetch"
            rows.append({"dtype": dtype, "batch": "-", "model": f"limit ({how})",
                         "optimizer": "-", "epoch_ms": best[dtype, "limit", ahead]})
        for rule in RULES:
            for batch in BATCHES:
                ms = best[dtype, rule, batch]
                row = {"dtype": dtype, "batch": str(batch), "model": "kernel",
                       "optimizer": rule, "epoch_ms": ms, "x_SGDRegressor": ms / sgd_ms,
                       "x_limit": ms / limit_ms}
                rows.append(row)
                if batch >= 8:
                    key = "SGDRegressor batch >= 8"
                elif rule in ("sgd", "adam"):
                    key = f"SGDRegressor batch 1 {rule}"
                else:
                    key = None
                if key:
                    worst[key] = max(worst[key], row["x_SGDRegressor"])
                worst["limit"] = max(worst["limit"], row["x_limit"])

    _common.table(rows, [
        ("dtype", "s"), ("batch", "s"), ("model", "s"), ("optimizer", "s"),
        ("epoch_ms", ".2f"), ("x_SGDRegressor", ".2f"), ("x_limit", ".2f"),
    ], title="One epoch (ms); x_*: the kernel's epoch over SGDRegressor's / the limit's")
    targets = {key: {"worst_ratio": worst[key], "target": TARGETS[key],
                     "met": worst[key] <= TARGETS[key]} for key in TARGETS}
    print("\nTargets (worst over dtypes and rules):")
    for key, t in targets.items():
        print(f"  kernel / {key}: {t['worst_ratio']:.2f} (target <= {t['target']}): "
              f"{'met' if t['met'] else 'MISSED'}")
    print(f"# load average before/after: {load_before[0]:.2f} / {load_after[0]:.2f}")
    _common.write_json(args.json, "bench_small_batch", args, rows, targets=targets,
                       compile=costs, n_samples=n, n_features=d,
                       load_average=[load_before[0], load_after[0]])


if __name__ == "__main__":
    main()
