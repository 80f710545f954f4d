"""Milliseconds per epoch of each optimizer, beside SGDRegressor, MLPRegressor and PyTorch.

Regression on ``make_regression(200_000, 100)`` (standardised), float64 and
float32, batch sizes 1, 8, 32, 256 and full batch (``MLPRegressor`` and
PyTorch from 32 up: per-sample loops of theirs take minutes); and binary
logistic regression
(``log_loss``) on ``make_classification(200_000, 100)``, float64, batch 256,
beside ``SGDClassifier``.

Two figures per row, each the best of ``--repeat`` rounds (a round times
every configuration once, so that a burst of load from other processes
does not spoil all the repeats of one configuration):

* ``fit_ms``: ``fit`` with ``max_iter=1, tol=None`` -- one epoch with
  everything ``fit`` does around it (input validation, the objective at the
  end). The same protocol for ``SGDRegressor``, ``SGDClassifier`` and
  ``MLPRegressor``. The ratios use it: they are the issue's targets.
* ``epoch_ms``: the marginal cost of one more epoch,
  ``(fit(max_iter=1 + k) - fit(max_iter=1)) / k``.

The PyTorch rows time one epoch of a hand-written loop (``torch.nn.Linear``,
the matching ``torch.optim`` optimizer, the same l2 penalty as weight decay,
a fresh ``torch.randperm`` per epoch, the epoch loss accumulated as a
tensor), data already in tensors, with 1 thread and with one per core: the
faster counts. Ratios to PyTorch are ``fit_ms`` over PyTorch's epoch.

Run ``python benchmarks/bench_epoch.py`` (about five minutes on 2 cores),
``--tiny`` for a few-second check.
"""

import os
import time
from itertools import product

import numpy as np
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import SGDClassifier, SGDRegressor
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler

import _common
from sk_gradopt import GradientClassifier, GradientRegressor
from sk_gradopt._optimizers import DEFAULT_RACE as OPTIMIZERS  # the five classics

LEARNING_RATE = 0.01
ALPHA = 1e-4  # the estimators' default l2 penalty, also given to the baselines
MINI_BATCH = [name for name in OPTIMIZERS if name != "gd"]

#: The targets: the largest allowed ratio of our one-epoch fit (batch 256,
#: float64) to each baseline.
TARGETS = {"SGDRegressor": 0.35, "SGDClassifier": 0.35, "torch": 0.2}

#: The targets of the marginal epoch against SGDRegressor's, by batch size
#: (both dtypes, every mini-batch optimizer; at batch 1, sgd and adam).
EPOCH_TARGETS = {"1": {"sgd": 0.3, "adam": 0.75}, "8": 0.3, "32": 0.3, "256": 0.3}


def supports_blocks():
    """Whether the installed sk_gradopt has ``shuffle="blocks"`` (to time older ones)."""
    try:
        GradientRegressor(shuffle="blocks", max_iter=1, tol=None).fit(
            np.ones((4, 1)), np.ones(4))
    except ValueError:
        return False
    return True


def regression_data(n, d, dtype):
    """Standardised ``make_regression`` data of ``dtype``."""
    X, y = make_regression(n, d, n_informative=d, noise=1.0, random_state=0)
    X = StandardScaler().fit_transform(X)
    y = (y - y.mean()) / y.std()
    return X.astype(dtype), y.astype(dtype)


def classification_data(n, d):
    """Standardised binary ``make_classification`` data (float64)."""
    X, y = make_classification(n, d, n_informative=d // 2, random_state=0)
    return StandardScaler().fit_transform(X), y


def fit_jobs(jobs, key, make, X, y, extra):
    """Add the two timings of an estimator: ``fit`` of 1 and of ``1 + extra`` epochs."""
    jobs[key, 1] = _common.timed(lambda: make(1).fit(X, y))
    jobs[key, 1 + extra] = _common.timed(lambda: make(1 + extra).fit(X, y))


def ours(Estimator, optimizer, batch, n, shuffle=True):
    def make(max_iter):
        return Estimator(
            optimizer=optimizer, learning_rate=LEARNING_RATE, alpha=ALPHA,
            batch_size=n if batch == "full" else batch, max_iter=max_iter,
            tol=None, shuffle=shuffle, random_state=0,
        )

    return make


def sgd_baseline(Estimator, **params):
    def make(max_iter):
        return Estimator(alpha=ALPHA, max_iter=max_iter, tol=None, random_state=0,
                         **params)

    return make


def mlp(batch, n):
    def make(max_iter):
        return MLPRegressor(
            hidden_layer_sizes=(), solver="adam", alpha=ALPHA,
            batch_size=n if batch == "full" else batch, max_iter=max_iter,
            tol=0.0, n_iter_no_change=max_iter + 1, random_state=0,
        )

    return make


def torch_job(torch, X, y, optimizer, batch, task, threads):
    """A job: one epoch of the hand-written PyTorch loop with ``threads`` threads.

    The model and optimizer are built (and warmed up) once; each call times
    one more epoch.
    """
    F = torch.nn.functional
    n, d = X.shape
    Xt = torch.from_numpy(np.ascontiguousarray(X))
    yt = torch.from_numpy(np.asarray(y, dtype=X.dtype).reshape(-1, 1))
    if task == "classification":
        yt = (yt > 0).to(Xt.dtype)
    batch = n if batch == "full" else batch
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torch.nn.Linear(d, 1, dtype=Xt.dtype)
    groups = [{"params": [model.weight], "weight_decay": ALPHA},
              {"params": [model.bias], "weight_decay": 0.0}]
    opt = {
        "gd": lambda: torch.optim.SGD(groups, lr=LEARNING_RATE),
        "sgd": lambda: torch.optim.SGD(groups, lr=LEARNING_RATE),
        "momentum": lambda: torch.optim.SGD(groups, lr=LEARNING_RATE, momentum=0.9),
        "rmsprop": lambda: torch.optim.RMSprop(groups, lr=LEARNING_RATE, alpha=0.99),
        "adam": lambda: torch.optim.Adam(groups, lr=LEARNING_RATE),
    }[optimizer]()
    generator = torch.Generator().manual_seed(0)

    def epoch(max_batches=None):
        total = torch.zeros((), dtype=Xt.dtype)
        perm = torch.randperm(n, generator=generator) if batch < n else None
        for i, start in enumerate(range(0, n, batch)):
            if i == max_batches:
                break
            if perm is None:
                xb, yb = Xt, yt
            else:
                rows = perm[start:start + batch]
                xb, yb = Xt[rows], yt[rows]
            opt.zero_grad(set_to_none=True)
            out = model(xb)
            if task == "regression":
                loss = 0.5 * F.mse_loss(out, yb)
            else:
                loss = F.binary_cross_entropy_with_logits(out, yb)
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


def add_jobs(jobs, n, d, extra, torch):
    """All the timings of the run, keyed by ``(row key, what)``."""
    threads = sorted({1, os.cpu_count() or 1})
    blocks = [True, "blocks"] if supports_blocks() else [True]
    for dtype in ("float64", "float32"):
        X, y = regression_data(n, d, dtype)
        fit_jobs(jobs, ("regression", dtype, "1", "SGDRegressor", "-", "sgd"),
                 sgd_baseline(SGDRegressor), X, y, extra)
        for batch in (1, 8, 32, 256, "full"):
            names = OPTIMIZERS if batch == "full" else MINI_BATCH
            # shuffle="blocks" (opt-in, no gather) measured beside the default
            for shuffle, optimizer in product(blocks if batch == 256 else [True], names):
                key = ("regression", dtype, str(batch), "GradientRegressor", str(shuffle),
                       optimizer)
                fit_jobs(jobs, key, ours(GradientRegressor, optimizer, batch, n, shuffle),
                         X, y, extra)
            if batch in (1, 8):
                continue
            fit_jobs(jobs, ("regression", dtype, str(batch), "MLPRegressor", "-", "adam"),
                     mlp(batch, n), X, y, extra)
            for optimizer, t in product(names if torch else [], threads):
                key = ("regression", dtype, str(batch), "torch", "-", optimizer)
                jobs[key, t] = torch_job(torch, X, y, optimizer, batch, "regression", t)
    X, y = classification_data(n, d)
    task = "binary log_loss"
    fit_jobs(jobs, (task, "float64", "1", "SGDClassifier", "-", "sgd"),
             sgd_baseline(SGDClassifier, loss="log_loss"), X, y, extra)
    for shuffle, optimizer in product(blocks, MINI_BATCH):
        key = (task, "float64", "256", "GradientClassifier", str(shuffle), optimizer)
        fit_jobs(jobs, key, ours(GradientClassifier, optimizer, 256, n, shuffle), X, y,
                 extra)
    for optimizer, t in product(MINI_BATCH if torch else [], threads):
        key = (task, "float64", "256", "torch", "-", optimizer)
        jobs[key, t] = torch_job(torch, X, y, optimizer, 256, "classification", t)


def make_rows(best, extra):
    """The table rows from the best times of the jobs."""
    fields = ("task", "dtype", "batch", "model", "shuffle", "optimizer")
    rows, index = [], {}
    for key, what in best:
        if key in index:
            continue
        row = index[key] = dict(zip(fields, key))
        if key[3] == "torch":
            times = {t: best[k, t] for k, t in best if k == key}
            t = min(times, key=times.get)
            row.update(model=f"torch ({t} thr)", epoch_ms=1e3 * times[t])
        else:
            one = best[key, 1]
            row.update(fit_ms=1e3 * one, epoch_ms=1e3 * (best[key, 1 + extra] - one) / extra)
        rows.append(row)
    for key, row in index.items():
        task, dtype, batch, model, _, optimizer = key
        if not model.startswith(("Gradient", "MLP")):
            continue
        baseline = "SGDRegressor" if task == "regression" else "SGDClassifier"
        row[f"x_{baseline}"] = row["fit_ms"] / index[task, dtype, "1", baseline, "-", "sgd"][
            "fit_ms"]
        theirs = index.get((task, dtype, batch, "torch", "-", optimizer))
        if model.startswith("Gradient") and theirs is not None:
            row["x_torch"] = row["fit_ms"] / theirs["epoch_ms"]
    return rows


def summary(rows, shuffle="True"):
    """The worst ratios over the mini-batch optimizers at batch 256, float64.

    ``fit``: our one-epoch fit over the baseline's (the issue's targets, with
    the default ``shuffle=True``); ``epoch``: our marginal epoch over the
    baseline's one-epoch fit.
    """
    ours_rows = [r for r in rows if r["model"].startswith("Gradient")
                 and r["batch"] == "256" and r["dtype"] == "float64"
                 and r["shuffle"] == shuffle]
    worst = {}
    for key, baseline in (("x_SGDRegressor", "SGDRegressor"),
                          ("x_SGDClassifier", "SGDClassifier"), ("x_torch", "torch")):
        pairs = [(r[key], r[key] * r["epoch_ms"] / r["fit_ms"]) for r in ours_rows
                 if key in r]
        if pairs:
            fit, epoch = max(p[0] for p in pairs), max(p[1] for p in pairs)
            worst[baseline] = {"fit_ratio": fit, "epoch_ratio": epoch,
                               "target": TARGETS[baseline],
                               "met": fit <= TARGETS[baseline]}
    return worst


def epoch_summary(rows):
    """The marginal epoch of GradientRegressor over SGDRegressor's, worst per batch size.

    Returns ``{batch: {"ratio", "target", "met", "optimizer", "dtype"}}`` over
    both dtypes and the optimizers the target names.
    """
    baseline = {r["dtype"]: r["epoch_ms"] for r in rows if r["model"] == "SGDRegressor"}
    summary = {}
    for batch, target in EPOCH_TARGETS.items():
        targets = target if isinstance(target, dict) else dict.fromkeys(MINI_BATCH, target)
        worst = None
        for r in rows:
            if (r["model"] == "GradientRegressor" and r["batch"] == batch
                    and r["shuffle"] == "True" and r["optimizer"] in targets):
                ratio = r["epoch_ms"] / baseline[r["dtype"]]
                goal = targets[r["optimizer"]]
                if worst is None or ratio / goal > worst["ratio"] / worst["target"]:
                    worst = {"ratio": ratio, "target": goal, "met": ratio <= goal,
                             "optimizer": r["optimizer"], "dtype": r["dtype"]}
        if worst is not None:
            summary[batch] = worst
    return summary


def main():
    args = _common.parser(__doc__.splitlines()[0]).parse_args()
    _common.quiet()
    if args.tiny:
        n, d, repeat, extra = 4_000, 10, args.repeat or 2, 4
    else:
        n, d, repeat, extra = 200_000, 100, args.repeat or 3, 3
    torch = _common.import_torch(args.no_torch)
    info = _common.machine()
    _common.print_machine(info)
    print(f"# n={n} d={d}; best of {repeat} rounds; marginal epoch over {extra} more epochs; "
          f"PyTorch: {'yes' if torch is not None else 'not installed (rows skipped)'}")
    jobs = {}
    add_jobs(jobs, n, d, extra, torch)
    load_before = os.getloadavg()
    rows = make_rows(_common.interleaved_best(jobs, repeat), extra)
    load_after = os.getloadavg()
    columns = [("task", "s"), ("dtype", "s"), ("batch", "s"), ("model", "s"),
               ("shuffle", "s"), ("optimizer", "s"), ("fit_ms", ".1f"), ("epoch_ms", ".1f"),
               ("x_SGDRegressor", ".2f"), ("x_SGDClassifier", ".2f"), ("x_torch", ".2f")]
    _common.table(rows, columns, title="One epoch (ms); x_*: our fit_ms / the baseline's")
    worst = summary(rows)
    blocks = summary(rows, shuffle="blocks")
    print("\nTargets (batch 256, float64, worst of the mini-batch optimizers; our fit "
          "with 1 epoch over the baseline's; in brackets our marginal epoch over it):")
    for baseline, s in worst.items():
        b = blocks.get(baseline)
        print(f"  vs {baseline}: {s['fit_ratio']:.2f} ({s['epoch_ratio']:.2f}) "
              f"(target <= {s['target']}): {'met' if s['met'] else 'MISSED'}"
              + (f"; shuffle='blocks': {b['fit_ratio']:.2f} ({b['epoch_ratio']:.2f})"
                 if b else ""))
    epochs = epoch_summary(rows)
    print("\nMarginal epoch of GradientRegressor over SGDRegressor's (worst over both "
          "dtypes and the optimizers named):")
    for batch, e in epochs.items():
        print(f"  batch {batch}: {e['ratio']:.2f} ({e['optimizer']}, {e['dtype']}; target "
              f"<= {e['target']}): {'met' if e['met'] else 'MISSED'}")
    print(f"# load average before/after: {load_before[0]:.2f} / {load_after[0]:.2f}")
    _common.write_json(args.json, "bench_epoch", args, rows, targets=worst,
                       epoch_targets=epochs,
                       targets_shuffle_blocks=blocks,
                       n_samples=n, n_features=d,
                       load_average=[load_before[0], load_after[0]])


if __name__ == "__main__":
    main()
