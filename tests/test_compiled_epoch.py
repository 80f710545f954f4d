"""The compiled epoch (numba) against the array-API epoch, through the estimators.

The training loop runs mini-batch epochs of the linear models on NumPy data
through :mod:`sk_gradopt._kernels`; the array-API epoch computes the same
numbers and stays the reference. ``compiled=False`` forces it.
"""

import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning

import sk_gradopt._epoch as _epoch
from sk_gradopt import OPTIMIZERS, GradientClassifier, GradientRegressor
from sk_gradopt._optimizers import SPECS

pytest.importorskip("numba")

from sk_gradopt import _kernels  # noqa: E402


@pytest.fixture(scope="module")
def data():
    X, y = make_regression(n_samples=90, n_features=5, noise=3.0, random_state=0)
    _, Y2 = make_regression(n_samples=90, n_features=5, n_targets=2, random_state=1)
    Xc, y2 = make_classification(n_samples=90, n_features=5, random_state=0)
    _, y3 = make_classification(n_samples=90, n_features=5, n_informative=3, n_classes=3,
                                random_state=1)
    sw = np.random.default_rng(0).uniform(0.1, 2.0, 90)
    return {"X": X / 3, "y": y / y.std(), "Y2": Y2 / Y2.std(), "Xc": Xc, "y2": y2,
            "y3": y3, "sw": sw}


def fit_both(monkeypatch, Estimator, X, y, sample_weight=None, **params):
    """The same fit through the compiled epoch and through the array-API epoch."""
    calls = []
    real = _epoch._compiled_epoch_runner

    def spy(data, config):
        runner = real(data, config)
        calls.append(runner is not None)
        return runner

    monkeypatch.setattr(_epoch, "_compiled_epoch_runner", spy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        compiled = Estimator(**params).fit(X, y, sample_weight=sample_weight)
        compiled_calls = list(calls)
        reference = Estimator(**params)._fit(X, y, sample_weight, compiled=False)
    return compiled, reference, compiled_calls


def assert_same(compiled, reference, rtol):
    scale = np.max(np.abs(reference.coef_)) + np.max(np.abs(reference.intercept_))
    assert_allclose(compiled.coef_, reference.coef_, rtol=rtol, atol=rtol * scale)
    assert_allclose(compiled.intercept_, reference.intercept_, rtol=rtol, atol=rtol * scale)
    assert_allclose(compiled.loss_curve_, reference.loss_curve_, rtol=rtol)
    assert (compiled.n_iter_, compiled.t_) == (reference.n_iter_, reference.t_)


CASES = {
    "sgd-per-sample": dict(optimizer="sgd", batch_size=1, learning_rate=0.01),
    "sgd-batch-7": dict(optimizer="sgd", batch_size=7, learning_rate=0.05),
    "momentum-nesterov": dict(optimizer="momentum", nesterov=True, batch_size=8,
                              learning_rate=0.01),
    "rmsprop": dict(optimizer="rmsprop", batch_size=16, learning_rate=0.01),
    "adam-per-sample": dict(optimizer="adam", batch_size=1, learning_rate=0.01),
    "adam-l1": dict(optimizer="adam", batch_size=16, penalty="l1", alpha=0.01),
    "sgd-elasticnet-invscaling": dict(optimizer="sgd", batch_size=4, penalty="elasticnet",
                                      alpha=0.01, schedule="invscaling", power_t=0.3),
    "momentum-cosine-blocks": dict(optimizer="momentum", batch_size=16, schedule="cosine",
                                   shuffle="blocks"),
    "sgd-no-shuffle-warmup": dict(optimizer="sgd", batch_size=10, shuffle=False,
                                  warmup_steps=25, learning_rate=0.05),
    "adam-clip-decay": dict(optimizer="adam", batch_size=8, max_grad_norm=0.3,
                            weight_decay=0.1),
    "rmsprop-adaptive-stopping": dict(optimizer="rmsprop", batch_size=16, tol=1e-2,
                                      schedule="adaptive", max_iter=40),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("task", ["regression", "multioutput-huber", "binary", "multiclass",
                                  "hinge-ovr", "weighted"])
def test_the_compiled_epoch_equals_the_array_api_epoch(monkeypatch, data, task, case):
    params = {"max_iter": 3, "tol": None, "random_state": 0, **CASES[case]}
    # SGD and momentum: equal to rounding over any run; Adam and RMSprop
    # magnify rounding differences over long runs: one epoch of small data.
    adaptive = params["optimizer"] in ("adam", "rmsprop")
    if adaptive and "stopping" not in case:
        params["max_iter"] = 1
    sample_weight = None
    if task in ("regression", "weighted"):
        Estimator, X, y = GradientRegressor, data["X"], data["y"]
        sample_weight = data["sw"] if task == "weighted" else None
    elif task == "multioutput-huber":
        Estimator, X, y = GradientRegressor, data["X"], data["Y2"]
        params.update(loss="huber", epsilon=0.5)
    else:
        Estimator, X = GradientClassifier, data["Xc"]
        y = data["y2"] if task == "binary" else data["y3"]
        if task == "hinge-ovr":
            params.update(loss="hinge", fit_intercept=False)
    compiled, reference, calls = fit_both(monkeypatch, Estimator, X, y, sample_weight,
                                          **params)
    assert calls and all(calls)  # the compiled epoch did run
    assert_same(compiled, reference, rtol=1e-10 if "stopping" in case else 1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float32_stays_float32_and_matches(monkeypatch, data, dtype):
    X, y = data["X"].astype(dtype), data["y"].astype(dtype)
    compiled, reference, _ = fit_both(monkeypatch, GradientRegressor, X, y, optimizer="sgd",
                                      batch_size=8, max_iter=3, tol=None, random_state=0)
    assert compiled.coef_.dtype == dtype
    assert_same(compiled, reference, rtol=1e-12 if dtype == np.float64 else 2e-5)


def test_a_fortran_ordered_or_read_only_X_gives_the_same_fit(monkeypatch, data):
    X, y = data["X"], data["y"]
    params = dict(optimizer="momentum", batch_size=8, max_iter=3, tol=None, random_state=0)
    reference = GradientRegressor(**params).fit(X, y)
    frozen = X.copy()
    frozen.flags.writeable = False
    for variant in (np.asfortranarray(X), frozen, X[:, ::1]):
        assert_allclose(GradientRegressor(**params).fit(variant, y).coef_, reference.coef_,
                        rtol=1e-14)


@pytest.mark.parametrize("layout, chunks", [("C", 1), ("C", 3), ("F", None)])
@pytest.mark.parametrize("task", ["regression", "weighted", "multiclass"])
def test_a_full_batch_runs_one_pass_in_chunks_or_blas_and_equals_the_reference(
        monkeypatch, data, layout, chunks, task):
    # "gd" (and a batch as large as the data): a C-ordered X is read once a
    # step, in chunks of rows on threads; a Fortran-ordered one goes through
    # BLAS's two products. Both equal the reference (the multinomial loss,
    # not element-wise, is the reference).
    if chunks is not None:  # chunks of ~ (n_samples * n_features / chunks) elements
        monkeypatch.setattr(_kernels, "CHUNK_ELEMENTS", data["X"].size // chunks)
    one_pass, fused = [], []
    for name, record in (("_one_pass", one_pass), ("linear_loss_and_grad", fused)):
        real = getattr(_kernels, name)
        monkeypatch.setattr(_kernels, name,
                            lambda *a, _real=real, _record=record, **k: _record.append(1)
                            or _real(*a, **k))
    if task == "multiclass":
        Estimator, X, y, sw = GradientClassifier, data["Xc"], data["y3"], None
    else:
        Estimator, X, y = GradientRegressor, data["X"], data["y"]
        sw = data["sw"] if task == "weighted" else None
    X = np.asfortranarray(X) if layout == "F" else X
    compiled, reference, calls = fit_both(monkeypatch, Estimator, X, y, sw, optimizer="gd",
                                          learning_rate=0.1, max_iter=5, tol=None,
                                          random_state=0)
    assert calls and all(calls) and len(fused) >= 5
    assert len(one_pass) == (5 if layout == "C" and task != "multiclass" else 0)
    assert_same(compiled, reference, rtol=1e-12)


def test_the_chunks_of_a_full_batch_do_not_depend_on_the_machine(monkeypatch):
    # The chunks depend on the shape of X only: the same sums whatever the
    # number of cores the pool has.
    rng = np.random.RandomState(0)
    X, y = rng.randn(3000, 40), rng.randn(3000)
    monkeypatch.setattr(_kernels, "CHUNK_ELEMENTS", 10_000)  # 12 chunks
    fit = lambda: GradientRegressor(optimizer="gd", max_iter=3, tol=None).fit(X, y)  # noqa
    many = fit()
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):  # one worker, as in a joblib worker
        assert _kernels._n_workers() == 1
        one = fit()
    assert_array_equal(many.coef_, one.coef_)


def test_one_batch_of_every_row_runs_the_compiled_epoch(monkeypatch, data):
    _, _, calls = fit_both(monkeypatch, GradientRegressor, data["X"], data["y"], max_iter=2,
                           tol=None, random_state=0, optimizer="adam", batch_size=500)
    assert calls and all(calls)


def test_without_numba_the_array_api_epoch_runs(monkeypatch, data):
    # A platform without numba wheels: importing the kernels fails.
    import sk_gradopt

    monkeypatch.setitem(sys.modules, "numba", None)
    monkeypatch.delitem(sys.modules, "sk_gradopt._kernels", raising=False)
    monkeypatch.delattr(sk_gradopt, "_kernels", raising=False)
    with pytest.raises(ImportError):
        import sk_gradopt._kernels  # noqa: F401
    ran = []
    real = _epoch.array_api_epoch
    monkeypatch.setattr(_epoch, "array_api_epoch",
                        lambda *args, **kwargs: ran.append(1) or real(*args, **kwargs))
    params = dict(optimizer="adam", batch_size=8, max_iter=2, tol=None, random_state=0)
    est = GradientRegressor(**params).fit(data["X"], data["y"])
    assert len(ran) == 2
    monkeypatch.undo()
    assert_allclose(est.coef_, GradientRegressor(**params).fit(data["X"], data["y"]).coef_,
                    rtol=1e-12)


def test_partial_fit_k_times_equals_fit_on_the_compiled_path(data):
    params = dict(optimizer="adam", batch_size=4, random_state=0)
    online = GradientClassifier(**params)
    for _ in range(3):
        online.partial_fit(data["Xc"], data["y3"], classes=[0, 1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        batch = GradientClassifier(max_iter=3, tol=None, **params).fit(data["Xc"], data["y3"])
    np.testing.assert_array_equal(online.coef_, batch.coef_)
    assert online.loss_curve_ == batch.loss_curve_


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_divergence_on_the_compiled_path_keeps_finite_weights(data, optimizer):
    est = GradientRegressor(optimizer=optimizer, learning_rate=1e4, batch_size=4,
                            max_iter=5, random_state=0)
    with pytest.warns(ConvergenceWarning, match="diverged|overflowed"):
        est.fit(data["X"] * 1e3, data["y"])
    assert np.all(np.isfinite(est.coef_)) and np.all(np.isfinite(est.intercept_))


@pytest.mark.parametrize("optimizer", [name for name in OPTIMIZERS if SPECS[name].compiled])
@pytest.mark.parametrize("tools", [{}, dict(penalty="l1", alpha=0.01, weight_decay=0.1,
                                            max_grad_norm=0.5)], ids=["plain", "tools"])
def test_an_mlp_step_fused_into_one_pass_equals_the_pure_functions(monkeypatch, data,
                                                                   optimizer, tools):
    # An MLP on NumPy runs the array-API epoch with the optimizer's step
    # (decay, direction, step, l1) compiled into one pass per leaf.
    from sk_gradopt import GradientMLPClassifier

    params = dict(hidden_layer_sizes=(6, 4), optimizer=optimizer, batch_size=16,
                  learning_rate=0.05, max_iter=1 if optimizer in ("adam", "rmsprop") else 3,
                  tol=None, random_state=0, **tools)
    seen = []
    real = _epoch.array_api_epoch

    def spy(*args, apply=None, **kwargs):
        seen.append(apply is not None)
        return real(*args, apply=apply, **kwargs)

    monkeypatch.setattr(_epoch, "array_api_epoch", spy)
    compiled, reference, _ = fit_both(monkeypatch, GradientMLPClassifier, data["Xc"],
                                      data["y3"], **params)
    assert seen[0] and not seen[-1]  # fused, then the pure functions
    for a, b in zip(compiled.coefs_ + compiled.intercepts_,
                    reference.coefs_ + reference.intercepts_):
        assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert_allclose(compiled.loss_curve_, reference.loss_curve_, rtol=1e-12)
