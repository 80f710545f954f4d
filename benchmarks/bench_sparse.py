"""Sparse input: a text-like problem, against ``SGDClassifier``.

A generated bag-of-words problem (no download): ``n`` documents of about 60
distinct terms each over a vocabulary of ``2**18`` hashed features, term
frequencies drawn from a power law (a few frequent terms, a long tail), rows
scaled to unit L2 norm as ``TfidfVectorizer`` does; binary labels from a
sparse true weight vector plus noise. ``X`` is a CSR matrix, float64.

The rows, two epochs each, shuffled, in one run (ratios within the run):

* ``sgd, batch 1``: ``GradientClassifier(optimizer="sgd", batch_size=1)``
  against ``SGDClassifier`` with the same log loss, l2 penalty, constant
  learning rate and epochs (target: at most 1.2x its time);
* ``adam, batch 256``: Adam moves all ``2**18`` coordinates at every step
  (target: at most 4x ``SGDClassifier``'s time);
* accuracy on held-out rows (target: within 0.01 of ``SGDClassifier``);
* ``peak / X``: the peak resident memory of ``fit`` over the size of the
  matrix (``data + indices + indptr``), each fit in a fresh subprocess
  (Linux: it reads ``/proc``; target at most 1.3): the matrix plus what
  ``fit`` added, over the matrix.

Run ``python benchmarks/bench_sparse.py`` (about a minute and 1 GB);
``--tiny`` for a quick check (no memory rows).
"""

import json
import subprocess
import sys
import warnings

import numpy as np
import scipy.sparse as sp

import _common

N_FEATURES = 2**18
TERMS_PER_ROW = 60
EPOCHS = 2
ALPHA = 1e-5
LEARNING_RATE = 0.5
TARGETS = {"sgd_over_sklearn": 1.2, "adam_over_sklearn": 4.0, "peak_over_X": 1.3,
           "accuracy_gap": 0.01}


def text_like(n, n_features=N_FEATURES, terms=TERMS_PER_ROW, seed=0):
    """A CSR bag-of-words matrix with unit-norm rows, and binary labels."""
    rng = np.random.default_rng(seed)
    # power-law term ranks, then a fixed shuffle of the vocabulary (hashing)
    ranks = np.minimum((n_features * rng.random((n, terms)) ** 3).astype(np.int64),
                       n_features - 1)
    vocabulary = rng.permutation(n_features).astype(np.int32)
    indices = vocabulary[ranks]
    indices.sort(axis=1)
    counts = rng.integers(1, 4, size=(n, terms)).astype(np.float64)
    X = sp.csr_matrix((counts.ravel(), indices.ravel(),
                       np.arange(0, n * terms + 1, terms, dtype=np.int32)),
                      shape=(n, n_features))
    X.sum_duplicates()  # a term drawn twice in a document counts twice
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    X = sp.csr_matrix(sp.diags(1.0 / norms) @ X)
    true = rng.standard_normal(n_features) * (rng.random(n_features) < 0.2)
    score = X @ true + 0.05 * rng.standard_normal(n)
    y = (score > np.median(score)).astype(np.int64)
    return X, y


def matrix_bytes(X):
    return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes


def estimators():
    from sklearn.linear_model import SGDClassifier

    from sk_gradopt import GradientClassifier

    common = dict(max_iter=EPOCHS, tol=None, random_state=0)
    return {
        "SGDClassifier": SGDClassifier(loss="log_loss", alpha=ALPHA, learning_rate="constant",
                                       eta0=LEARNING_RATE, **common),
        "sgd, batch 1": GradientClassifier(optimizer="sgd", batch_size=1, alpha=ALPHA,
                                           learning_rate=LEARNING_RATE, **common),
        "adam, batch 256": GradientClassifier(optimizer="adam", batch_size=256, alpha=ALPHA,
                                              learning_rate=0.01, **common),
    }


def child(case, n):
    """Fit ``case`` once in this fresh process; print the memory figures as JSON."""
    import resource

    warnings.simplefilter("ignore")
    X, y = text_like(n)
    model = estimators()[case] if case != "data only" else None
    if model is not None:  # imports and compilation are not fit's memory
        model.fit(X[:300], y[:300])

    def status_bytes(field):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        raise OSError(field)

    before = status_bytes("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the peak from here on is fit's
    if model is not None:
        model.fit(X, y)
    peak = min(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
               status_bytes("VmHWM"))
    print(json.dumps({"X_bytes": matrix_bytes(X), "extra": peak - before}))


def main():
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--child", help=argparse_hidden())
    p.add_argument("--n", type=int, default=None)
    args = p.parse_args()
    n = args.n or (3_000 if args.tiny else 150_000)
    if args.child:
        return child(args.child, n)
    repeat = args.repeat or (1 if args.tiny else 3)
    X, y = text_like(n)
    split = int(0.8 * n)
    X_train, y_train, X_test, y_test = X[:split], y[:split], X[split:], y[split:]
    models = estimators()
    _common.quiet()
    models["sgd, batch 1"].fit(X_train[:50], y_train[:50])  # compile outside the timing
    models["adam, batch 256"].fit(X_train[:300], y_train[:300])
    times = _common.interleaved_best(
        {name: _common.timed(lambda m=m: m.fit(X_train, y_train))
         for name, m in models.items()},
        repeat)
    baseline = times["SGDClassifier"]
    accuracy = {name: m.score(X_test, y_test) for name, m in models.items()}
    rows = []
    for name in models:
        row = {"estimator": name, "fit_s": times[name], "over_sklearn": times[name] / baseline,
               "accuracy": accuracy[name],
               "accuracy_gap": accuracy["SGDClassifier"] - accuracy[name]}
        if sys.platform.startswith("linux") and not args.tiny:
            out = subprocess.run([sys.executable, __file__, "--child", name, "--n", str(n)],
                                 check=True, capture_output=True, text=True)
            m = json.loads(out.stdout.strip().splitlines()[-1])
            row["peak_over_X"] = (m["X_bytes"] + m["extra"]) / m["X_bytes"]
        rows.append(row)
    print(f"n = {n} rows ({split} to fit), {N_FEATURES} features, about {TERMS_PER_ROW} "
          f"terms a row; X: {matrix_bytes(X) / 1e6:.0f} MB (data + indices + indptr); "
          f"{EPOCHS} epochs, shuffled")
    columns = [("estimator", "s"), ("fit_s", ".3f"), ("over_sklearn", ".2f"),
               ("accuracy", ".4f"), ("accuracy_gap", "+.4f")]
    if "peak_over_X" in rows[0]:
        columns.append(("peak_over_X", ".2f"))
    _common.table(rows, columns)
    targets = {
        "sgd_over_sklearn": {"value": rows[1]["over_sklearn"],
                             "target": TARGETS["sgd_over_sklearn"]},
        "adam_over_sklearn": {"value": rows[2]["over_sklearn"],
                              "target": TARGETS["adam_over_sklearn"]},
        "accuracy_gap": {"value": max(rows[1]["accuracy_gap"], rows[2]["accuracy_gap"]),
                         "target": TARGETS["accuracy_gap"]},
    }
    if "peak_over_X" in rows[0]:
        targets["peak_over_X"] = {"value": max(r["peak_over_X"] for r in rows[1:]),
                                  "target": TARGETS["peak_over_X"]}
    for name, t in targets.items():
        print(f"Target {name}: {t['value']:.3f} (at most {t['target']})")
    _common.write_json(args.json, "bench_sparse", args, rows, targets=targets)


def argparse_hidden():
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
