"""CuPy on a real GPU. Skipped cleanly where CuPy or a CUDA device is missing (CI).

Run them on a GPU machine with ``python -m pytest tests/test_cupy.py -v``.
"""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_gradopt import (
    OPTIMIZERS,
    GradientClassifier,
    GradientMLPClassifier,
    GradientMLPRegressor,
    GradientRegressor,
)
from sk_gradopt._tree import tree_leaves

cupy = pytest.importorskip("cupy")
try:
    HAS_GPU = cupy.cuda.runtime.getDeviceCount() > 0
except Exception:  # CUDA driver missing
    HAS_GPU = False
pytestmark = pytest.mark.skipif(not HAS_GPU, reason="no CUDA device")


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=400, n_features=8, n_informative=5,
                               n_classes=3, random_state=0)
    X = StandardScaler().fit_transform(X).astype(np.float32)
    return X, y, (X @ np.arange(1.0, 9.0)).astype(np.float32)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("dispatch", [False, True])
def test_cupy_input_trains_on_the_gpu(data, optimizer, dispatch):
    X, labels, y = data
    params = dict(optimizer=optimizer, max_iter=20, tol=None, batch_size=64,
                  random_state=0, learning_rate=0.01)
    ref = GradientRegressor(**params).fit(X, y)
    with config_context(array_api_dispatch=dispatch):
        reg = GradientRegressor(**params).fit(cupy.asarray(X), cupy.asarray(y))
        pred = reg.predict(cupy.asarray(X))
        score = reg.score(cupy.asarray(X), cupy.asarray(y))
    assert isinstance(reg.coef_, cupy.ndarray) and reg.coef_.dtype == cupy.float32
    assert isinstance(pred, cupy.ndarray) and pred.dtype == cupy.float32
    assert_allclose(reg.coef_.get(), ref.coef_, rtol=2e-3, atol=2e-3)
    assert score == pytest.approx(ref.score(X, y), abs=1e-3)


def test_cupy_classifier_outputs_stay_on_the_device(data):
    X, labels, _ = data
    clf = GradientClassifier(max_iter=30, random_state=0)
    clf.fit(cupy.asarray(X), cupy.asarray(labels))
    proba = clf.predict_proba(cupy.asarray(X))
    pred = clf.predict(cupy.asarray(X))
    assert isinstance(proba, cupy.ndarray) and isinstance(pred, cupy.ndarray)
    assert_allclose(proba.sum(axis=1).get(), 1.0, rtol=1e-5)
    assert clf.score(cupy.asarray(X), cupy.asarray(labels)) > 0.7


def test_backend_cupy_hands_back_numpy(data):
    X, labels, _ = data
    cpu = GradientClassifier(max_iter=20, tol=None, random_state=0).fit(X, labels)
    gpu = GradientClassifier(max_iter=20, tol=None, random_state=0, backend="cupy").fit(X, labels)
    assert isinstance(gpu.coef_, np.ndarray) and gpu.coef_.dtype == np.float32
    assert isinstance(gpu.predict(X), np.ndarray)
    assert_allclose(gpu.coef_, cpu.coef_, rtol=2e-3, atol=2e-3)
    # String labels stay on the host.
    names = np.array(["a", "b", "c"])[labels]
    assert set(GradientClassifier(max_iter=5, backend="cupy").fit(X, names).predict(X)) <= set(names)


@pytest.mark.parametrize("backend", ["numpy", "cupy"])
def test_explicit_backend_with_cupy_input_hands_back_numpy(data, backend):
    X, labels, y = data
    reg = GradientRegressor(max_iter=5, tol=None, random_state=0, backend=backend)
    reg.fit(cupy.asarray(X), cupy.asarray(y))
    assert isinstance(reg.coef_, np.ndarray)
    assert isinstance(reg.predict(cupy.asarray(X)), np.ndarray)
    assert reg.score(cupy.asarray(X), cupy.asarray(y)) == pytest.approx(reg.score(X, y))
    clf = GradientClassifier(max_iter=5, random_state=0, backend=backend)
    clf.fit(cupy.asarray(X), cupy.asarray(labels))
    assert isinstance(clf.predict(cupy.asarray(X)), np.ndarray)


def test_to_numpy_then_pickle(data):
    X, labels, _ = data
    clf = GradientClassifier(max_iter=10, random_state=0).fit(cupy.asarray(X), cupy.asarray(labels))
    expected = clf.predict_proba(cupy.asarray(X)).get()
    loaded = pickle.loads(pickle.dumps(clf.to_numpy()))
    assert isinstance(loaded.coef_, np.ndarray)
    assert all(isinstance(a, (np.ndarray, int)) for a in tree_leaves(loaded._opt_state))
    assert_allclose(loaded.predict_proba(X), expected, rtol=1e-5)


def test_mixed_namespaces_raise(data):
    X, _, y = data
    reg = GradientRegressor(max_iter=3).fit(cupy.asarray(X), cupy.asarray(y))
    with pytest.raises(ValueError, match="must use the same namespace"):
        reg.predict(X)


def test_pipeline_and_grid_search_on_cupy(data):
    X, labels, _ = data
    Xg, yg = cupy.asarray(X), cupy.asarray(labels)
    with config_context(array_api_dispatch=True):
        pipe = make_pipeline(StandardScaler(), GradientClassifier(max_iter=20, random_state=0))
        pipe.fit(Xg, yg)
        assert isinstance(pipe.predict(Xg), cupy.ndarray)
        search = GridSearchCV(pipe, {"gradientclassifier__learning_rate": [0.001, 0.01]}, cv=3)
        search.fit(Xg, yg)
    assert search.best_score_ > 0.6


def test_partial_fit_on_gpu_equals_fit(data):
    X, _, y = data
    params = dict(optimizer="adam", batch_size=64, random_state=0)
    fitted = GradientRegressor(max_iter=3, tol=None, **params).fit(cupy.asarray(X), cupy.asarray(y))
    online = GradientRegressor(**params)
    for _ in range(3):
        online.partial_fit(cupy.asarray(X), cupy.asarray(y))
    assert_array_equal(online.coef_.get(), fitted.coef_.get())


# ------------------------------------------------------------------ MLPs


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mlp_on_the_gpu_follows_the_cpu(data, optimizer, dtype):
    X, labels, y = data
    X, y = X.astype(dtype), y.astype(dtype)
    params = dict(hidden_layer_sizes=(32, 16), optimizer=optimizer, max_iter=5, tol=None,
                  batch_size=64, random_state=0, learning_rate=0.01)
    ref = GradientMLPRegressor(**params).fit(X, y)
    reg = GradientMLPRegressor(**params).fit(cupy.asarray(X), cupy.asarray(y))
    assert all(isinstance(c, cupy.ndarray) and c.dtype == dtype for c in reg.coefs_)
    tol = 1e-3 if dtype == np.float32 else 1e-9
    for gpu, cpu in zip(reg.coefs_ + reg.intercepts_, ref.coefs_ + ref.intercepts_):
        assert_allclose(gpu.get(), cpu, rtol=tol, atol=tol)
    pred = reg.predict(cupy.asarray(X))
    assert isinstance(pred, cupy.ndarray)
    assert_allclose(pred.get(), ref.predict(X), rtol=10 * tol, atol=10 * tol)


def test_mlp_classifier_backend_cupy_hands_back_numpy_and_to_numpy_pickles(data):
    X, labels, _ = data
    params = dict(hidden_layer_sizes=(16,), max_iter=10, tol=None, random_state=0,
                  learning_rate=0.01)
    cpu = GradientMLPClassifier(**params).fit(X, labels)
    gpu = GradientMLPClassifier(backend="cupy", **params).fit(X, labels)
    assert all(isinstance(c, np.ndarray) for c in gpu.coefs_)
    assert_allclose(gpu.predict_proba(X), cpu.predict_proba(X), rtol=1e-3, atol=1e-3)
    on_device = GradientMLPClassifier(**params).fit(cupy.asarray(X), cupy.asarray(labels))
    loaded = pickle.loads(pickle.dumps(on_device.to_numpy()))
    assert all(isinstance(a, (np.ndarray, int)) for a in tree_leaves(loaded._opt_state))
    assert_allclose(loaded.predict_proba(X), on_device.predict_proba(cupy.asarray(X)).get(),
                    rtol=1e-5)
