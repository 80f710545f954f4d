"""The array API path and the ``backend`` parameter, on the CPU.

``array_api_strict`` (with its second, non-default device) stands in for a
GPU namespace: it checks that every array stays in its namespace and on its
device, and that moves between namespaces happen where they should.
"""

import pickle
import sys

import array_api_strict as xps
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context
from sklearn.datasets import make_classification

from sk_gradopt import OPTIMIZERS, GradientClassifier, GradientRegressor
import sk_gradopt._base as base
import sk_gradopt._epoch as _epoch
from sk_gradopt._tree import tree_leaves

DEVICE = xps.Device("device1")


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=90, n_features=5, n_classes=3,
                               n_informative=3, random_state=0)
    return X, y


def strict(a, dtype=None):
    return xps.asarray(a, dtype=dtype, device=DEVICE)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_array_api_strict_fit_equals_numpy_fit(data, optimizer):
    X, y = data
    params = dict(optimizer=optimizer, max_iter=15, batch_size=16, random_state=0,
                  learning_rate=0.05)
    ref_reg = GradientRegressor(**params).fit(X, y.astype(float))
    ref_clf = GradientClassifier(**params).fit(X, y)
    with config_context(array_api_dispatch=True):
        reg = GradientRegressor(**params).fit(strict(X), strict(y, xps.float64))
        clf = GradientClassifier(**params).fit(strict(X), strict(y))
        proba = clf.predict_proba(strict(X))
        labels = clf.predict(strict(X))
    for est, ref in ((reg, ref_reg), (clf, ref_clf)):
        assert est.coef_.device == DEVICE and isinstance(est.coef_, type(strict(X)))
        assert_allclose(np.asarray(est.to_numpy().coef_), ref.coef_, rtol=1e-10, atol=1e-12)
        assert est.loss_curve_ == pytest.approx(ref.loss_curve_, rel=1e-10)
    assert proba.device == DEVICE
    assert_array_equal(np.asarray(xps.asarray(labels, device=xps.Device("CPU_DEVICE"))),
                       ref_clf.predict(X))


def test_float32_stays_float32_in_the_namespace(data):
    X, y = data
    with config_context(array_api_dispatch=True):
        reg = GradientRegressor(max_iter=3).fit(strict(X, xps.float32), strict(y, xps.float32))
        assert reg.coef_.dtype == xps.float32
        assert reg.predict(strict(X, xps.float32)).dtype == xps.float32


def test_to_numpy_moves_every_array_and_pickles(data):
    X, y = data
    with config_context(array_api_dispatch=True):
        clf = GradientClassifier(optimizer="adam", max_iter=5, random_state=0)
        clf.fit(strict(X), strict(y))
        expected = clf.predict_proba(strict(X))
    cpu = clf.to_numpy()
    assert isinstance(cpu.coef_, np.ndarray) and isinstance(cpu.intercept_, np.ndarray)
    assert all(isinstance(a, (np.ndarray, int)) for a in tree_leaves(cpu._opt_state))
    assert clf.coef_.device == DEVICE  # the original is left on its device
    loaded = pickle.loads(pickle.dumps(cpu))
    got = loaded.predict_proba(X)
    assert_allclose(got, np.asarray(xps.asarray(expected, device=xps.Device("CPU_DEVICE"))))
    # The moved estimator keeps training on NumPy from the same optimizer state.
    loaded.partial_fit(X, y)
    assert loaded.t_ == clf.t_ + 1 and isinstance(loaded.coef_, np.ndarray)


def test_mixed_namespaces_raise_a_clear_error(data):
    X, y = data
    with config_context(array_api_dispatch=True):
        reg = GradientRegressor(max_iter=2).fit(strict(X), strict(y, xps.float64))
        with pytest.raises(ValueError, match=r"GradientRegressor.predict\(\) must use the same"):
            reg.predict(X)


def test_backend_numpy_equals_auto_on_numpy_input(data):
    X, y = data
    a = GradientClassifier(max_iter=5, random_state=0).fit(X, y)
    b = GradientClassifier(max_iter=5, random_state=0, backend="numpy").fit(X, y)
    assert_array_equal(a.coef_, b.coef_)


def test_backend_cupy_without_cupy_says_what_to_install(data, monkeypatch):
    X, y = data
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes `import cupy` fail
    with pytest.raises(ImportError, match=r"pip install 'sk-gradopt\[cupy\]'") as info:
        GradientRegressor(backend="cupy").fit(X, y)
    # the extra of each CUDA major version: cupy (CUDA 12) and cupy-cuda13
    assert "'sk-gradopt[cupy-cuda13]' for CUDA 13" in str(info.value)


def test_bad_backend_lists_the_choices(data):
    X, y = data
    with pytest.raises(ValueError, match="'backend' parameter .* among"):
        GradientRegressor(backend="gpu").fit(X, y)


class _FakeCupy:
    """Stands in for CuPy: "device" arrays are array_api_strict arrays on device1."""

    @staticmethod
    def asarray(a):
        return strict(a)


@pytest.mark.parametrize("Estimator", [GradientRegressor, GradientClassifier])
def test_backend_cupy_trains_on_the_device_and_hands_back_numpy(data, monkeypatch, Estimator):
    X, y = data
    seen = []
    real_step = _epoch.gradient_step

    def spy(params, *args, **kwargs):
        seen.extend(leaf.device for leaf in tree_leaves(params))
        return real_step(params, *args, **kwargs)

    monkeypatch.setattr(base, "import_cupy", lambda: _FakeCupy)
    monkeypatch.setattr(_epoch, "gradient_step", spy)
    params = dict(optimizer="momentum", batch_size=16, random_state=0)
    ref = Estimator(max_iter=4, tol=None, **params).fit(X, y)
    seen.clear()
    online = Estimator(backend="cupy", **params)
    with config_context(array_api_dispatch=True):  # array_api_strict needs it, CuPy doesn't
        for _ in range(4):
            kwargs = {"classes": np.unique(y)} if Estimator is GradientClassifier else {}
            online.partial_fit(X, y, **kwargs)
            assert isinstance(online.coef_, np.ndarray)
            assert all(isinstance(a, np.ndarray) for a in tree_leaves(online._opt_state))
    assert seen and set(seen) == {DEVICE}  # every step ran on the "device"
    assert_allclose(online.coef_, ref.coef_, rtol=1e-12)
    assert isinstance(online.predict(X), np.ndarray)


def test_sklearn_move_estimator_to_moves_the_optimizer_state_too(data):
    from sklearn.utils._array_api import move_estimator_to

    X, y = data
    with config_context(array_api_dispatch=True):
        reg = GradientRegressor(optimizer="adam", max_iter=3).fit(strict(X), strict(y, xps.float64))
        moved = move_estimator_to(reg, np, "cpu")
    assert isinstance(moved.coef_, np.ndarray)
    assert all(isinstance(a, (np.ndarray, int)) for a in tree_leaves(moved._opt_state))
    moved.partial_fit(X, y.astype(float))  # continues on NumPy
    assert moved.t_ == reg.t_ + 1
