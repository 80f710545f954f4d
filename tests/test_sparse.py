"""scipy.sparse input: the same fits as on the same data dense, never densified.

The reference is the dense array-API epoch (``_fit(..., compiled=False)``) on
``X.toarray()``; the sparse fit runs as the estimator chooses (the compiled
sparse epoch of the linear models where it applies).
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning

import sk_gradopt
from sk_gradopt import (
    OPTIMIZERS,
    GradientClassifier,
    GradientMLPClassifier,
    GradientMLPRegressor,
    GradientRegressor,
)
from sk_gradopt._lipschitz import lipschitz_constant
from sk_gradopt.schedules import SCHEDULES

N_SAMPLES, N_FEATURES = 70, 12


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = sp.random(N_SAMPLES, N_FEATURES, density=0.3, format="csr", random_state=1,
                  data_rvs=lambda n: rng.normal(size=n))
    X = X.tolil()
    X[:, 3] = 0  # a column that is never seen
    X[5, :] = 0  # a row of zeros
    X = X.tocsr()
    X.eliminate_zeros()
    w = rng.normal(size=N_FEATURES)
    raw = X @ w
    return {
        "X": X,
        "y": raw + 0.1 * rng.normal(size=N_SAMPLES),
        "y2": (raw > np.median(raw)).astype(int),
        "y3": np.digitize(raw, np.quantile(raw, [1 / 3, 2 / 3])),
        "sw": rng.uniform(0.1, 2.0, N_SAMPLES),
    }


@pytest.fixture
def no_densify(monkeypatch):
    """Every way of making rows of a scipy.sparse matrix dense raises.

    Square matrices pass: the n_features x n_features Gram matrix of
    ``learning_rate="auto"`` is small and made dense on purpose (the data and
    their batches here are never square).
    """

    def guard(name, original):
        def refuse(self, *args, **kwargs):
            if self.shape[0] != self.shape[1]:
                raise AssertionError(f"X was densified ({name} of shape {self.shape})")
            return original(self, *args, **kwargs)
        return refuse

    for cls in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix, sp.csr_array, sp.csc_array,
                sp.coo_array):
        for name in ("toarray", "todense", "__array__"):
            original = getattr(cls, name, None)
            if original is not None:
                monkeypatch.setattr(cls, name, guard(name, original))


def fit_pair(Estimator, X, y, sample_weight=None, **params):
    """A fit on sparse ``X`` and the reference fit on ``X`` dense."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense = Estimator(**params)._fit(X.toarray(), y, sample_weight, compiled=False)
        sparse = Estimator(**params).fit(X, y, sample_weight=sample_weight)
    return sparse, dense


def parameters(estimator):
    if hasattr(estimator, "coefs_"):
        return [*estimator.coefs_, *estimator.intercepts_]
    return [estimator.coef_, estimator.intercept_]


def assert_same_fit(sparse, dense, atol=1e-10):
    for a, b in zip(parameters(sparse), parameters(dense)):
        assert a.dtype == b.dtype
        assert_allclose(a, b, rtol=0, atol=atol * max(1.0, np.max(np.abs(b))))
    assert_allclose(sparse.loss_curve_, dense.loss_curve_, rtol=atol)
    assert (sparse.n_iter_, sparse.t_) == (dense.n_iter_, dense.t_)


# ----------------------------------------------------- linear: every option

BATCH_SIZES = [1, 32, N_SAMPLES]


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
def test_linear_optimizers_and_batch_sizes(data, task, optimizer, batch_size):
    Estimator, y = {"regression": (GradientRegressor, data["y"]),
                    "binary": (GradientClassifier, data["y2"]),
                    "multiclass": (GradientClassifier, data["y3"])}[task]
    sparse, dense = fit_pair(
        Estimator, data["X"], y, data["sw"], optimizer=optimizer, batch_size=batch_size,
        learning_rate=0.05, penalty="elasticnet", alpha=0.01, l1_ratio=0.5, max_iter=4,
        random_state=0, tol=None,
    )
    assert_same_fit(sparse, dense)
    assert_array_equal(sparse.coef_ == 0, dense.coef_ == 0)  # the l1 step's exact zeros
    method = "predict" if task == "regression" else "decision_function"
    assert_allclose(getattr(sparse, method)(data["X"]),
                    getattr(dense, method)(data["X"].toarray()), atol=1e-10)


OPTIONS = {
    "huber": (GradientRegressor, dict(loss="huber", epsilon=0.5)),
    "epsilon-insensitive": (GradientRegressor, dict(loss="epsilon_insensitive", epsilon=0.1)),
    "hinge": (GradientClassifier, dict(loss="hinge")),
    "modified-huber": (GradientClassifier, dict(loss="modified_huber")),
    "l1": (GradientRegressor, dict(penalty="l1", alpha=0.05)),
    "no-penalty-no-intercept": (GradientRegressor, dict(penalty=None, fit_intercept=False)),
    **{f"schedule-{s}": (GradientRegressor, dict(schedule=s, power_t=0.4, tol=1e-2))
       for s in SCHEDULES},
    "class-weight": (GradientClassifier, dict(class_weight={0: 3.0, 1: 0.5})),
    "clip": (GradientRegressor, dict(max_grad_norm=0.05)),
    "weight-decay": (GradientClassifier, dict(weight_decay=0.3, optimizer="adam")),
    "warmup": (GradientRegressor, dict(warmup_steps=40)),
    "nesterov": (GradientRegressor, dict(optimizer="momentum", nesterov=True)),
    "no-shuffle": (GradientClassifier, dict(shuffle=False, batch_size=8)),
    "shuffle-blocks": (GradientRegressor, dict(shuffle="blocks", batch_size=8)),
    "early-stopping": (GradientClassifier, dict(early_stopping=True, tol=1e-3,
                                                n_iter_no_change=2)),
}


@pytest.mark.parametrize("case", OPTIONS)
def test_linear_options(data, case):
    Estimator, params = OPTIONS[case]
    y = data["y"] if Estimator is GradientRegressor else data["y2"]
    params = {"optimizer": "sgd", "batch_size": 4, "learning_rate": 0.05, "max_iter": 5,
              "random_state": 0, "tol": None, **params}
    sparse, dense = fit_pair(Estimator, data["X"], y, **params)
    assert_same_fit(sparse, dense)


@pytest.mark.parametrize("Estimator", [GradientRegressor, GradientClassifier])
def test_float32_stays_float32(data, Estimator):
    X = data["X"].astype(np.float32)
    y = data["y"] if Estimator is GradientRegressor else data["y2"]
    sparse, dense = fit_pair(Estimator, X, y, optimizer="adam", batch_size=8, max_iter=3,
                             random_state=0, learning_rate=0.01)
    assert sparse.coef_.dtype == np.float32
    assert_same_fit(sparse, dense, atol=1e-5)


# ---------------------------------------------------------------------- MLP

@pytest.mark.parametrize("batch_size", BATCH_SIZES)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_mlp_classifier(data, optimizer, batch_size):
    sparse, dense = fit_pair(
        GradientMLPClassifier, data["X"], data["y3"], data["sw"], optimizer=optimizer,
        batch_size=batch_size, hidden_layer_sizes=(7, 5), learning_rate=0.01, alpha=0.01,
        max_iter=3, random_state=0, tol=None, max_grad_norm=1.0,
    )
    assert_same_fit(sparse, dense)
    assert_allclose(sparse.predict_proba(data["X"]),
                    dense.predict_proba(data["X"].toarray()), atol=1e-10)


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
def test_mlp_regressor(data, activation):
    sparse, dense = fit_pair(
        GradientMLPRegressor, data["X"], data["y"], optimizer="adam", batch_size=16,
        hidden_layer_sizes=(6,), activation=activation, learning_rate=0.01,
        weight_decay=0.1, warmup_steps=5, max_iter=3, random_state=0, tol=None,
    )
    assert_same_fit(sparse, dense)


# ------------------------------------------------ formats, methods, no copy

ESTIMATORS = [
    (GradientRegressor, "y", {}),
    (GradientClassifier, "y3", {}),
    (GradientMLPRegressor, "y", {"hidden_layer_sizes": (5,)}),
    (GradientMLPClassifier, "y2", {"hidden_layer_sizes": (5,)}),
]


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "csr_array", "coo_array"])
@pytest.mark.parametrize("Estimator, target, params", ESTIMATORS)
def test_every_method_takes_every_format(data, no_densify, Estimator, target, params, fmt):
    X_csr, y = data["X"], data[target]
    X = sp.csr_array(X_csr).asformat(fmt[:3]) if fmt.endswith("_array") else X_csr.asformat(fmt)
    params = dict(optimizer="adam", batch_size=16, max_iter=3, random_state=0,
                  learning_rate=0.01, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = Estimator(**params).fit(X, y)
        reference = Estimator(**params).fit(X_csr, y)
        est.partial_fit(X, y)
        reference.partial_fit(X_csr, y)
    for a, b in zip(parameters(est), parameters(reference)):
        assert_array_equal(a, b)
    assert_array_equal(est.predict(X), reference.predict(X_csr))
    assert est.score(X, y) == reference.score(X_csr, y)
    for method in ("decision_function", "predict_proba"):
        if hasattr(est, method):
            assert_array_equal(getattr(est, method)(X), getattr(reference, method)(X_csr))


def test_predictions_equal_dense(data):
    X, y = data["X"], data["y3"]
    for Estimator, params in [(GradientClassifier, {}),
                              (GradientMLPClassifier, {"hidden_layer_sizes": (4,)})]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est = Estimator(max_iter=3, random_state=0, **params).fit(X, y)
        assert_allclose(est.predict_proba(X), est.predict_proba(X.toarray()), atol=1e-12)
        assert_array_equal(est.predict(X), est.predict(X.toarray()))
        assert est.score(X, y) == pytest.approx(est.score(X.toarray(), y), abs=1e-12)


def test_partial_fit_equals_dense(data):
    X, y = data["X"], data["y3"]
    sparse = GradientClassifier(optimizer="momentum", batch_size=8, random_state=0)
    dense = GradientClassifier(optimizer="momentum", batch_size=8, random_state=0)
    for rows in (slice(0, 30), slice(30, None)):
        sparse.partial_fit(X[rows], y[rows], classes=[0, 1, 2])
        dense._fit(X[rows].toarray(), y[rows], partial=True, classes=[0, 1, 2],
                   compiled=False)
    assert_same_fit(sparse, dense)


def test_tags_say_sparse():
    for Estimator, _, _ in ESTIMATORS:
        assert Estimator().__sklearn_tags__().input_tags.sparse


# ----------------------------------------------- learning rates from sparse X

@pytest.mark.parametrize("n_features", [12, 300])  # exact Gram; power iteration
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_auto_learning_rate_equals_dense(n_features, fit_intercept, no_densify):
    X = sp.random(80, n_features, density=0.1, format="csr", random_state=0)
    y = np.arange(80) % 2
    sw = np.linspace(0.5, 2.0, 80)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sparse = GradientClassifier(optimizer="sgd", learning_rate="auto", max_iter=2,
                                    fit_intercept=fit_intercept).fit(X, y, sample_weight=sw)
    expected = 1.0 / lipschitz_constant(_dense(X), sw, curvature=0.25, l2=1e-4,
                                        fit_intercept=fit_intercept)
    assert sparse.learning_rate_ == pytest.approx(expected, rel=1e-6)


def _dense(X):
    """``X`` dense without its ``toarray`` (which the fixture patches)."""
    coo = X.tocoo()
    out = np.zeros(coo.shape)
    np.add.at(out, (coo.row, coo.col), coo.data)
    return out


def test_lr_range_test_equals_dense(data):
    X, y = data["X"], data["y2"]
    kwargs = dict(min_lr=1e-4, max_lr=1.0, num_steps=30)
    sparse = sk_gradopt.lr_range_test(GradientClassifier(optimizer="sgd", batch_size=8,
                                                         random_state=0), X, y, **kwargs)
    dense = sk_gradopt.lr_range_test(GradientClassifier(optimizer="sgd", batch_size=8,
                                                        random_state=0), X.toarray(), y,
                                     **kwargs)
    assert_allclose(sparse.losses_, dense.losses_, rtol=1e-10)
    assert_allclose(sparse.learning_rates_, dense.learning_rates_)


# ------------------------------------------------------------- clear errors

def test_nan_in_sparse_X_is_refused(data):
    X = data["X"].copy()
    X.data[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        GradientRegressor().fit(X, data["y"])


def test_dask_sparse_blocks_name_the_conversion(data):
    da = pytest.importorskip("dask.array")
    X = da.from_array(data["X"], chunks=(35, N_FEATURES), asarray=False)
    y = da.from_array(data["y2"], chunks=35)
    with pytest.raises(TypeError, match=r"sparse blocks.*X\.compute\(\)"):
        GradientClassifier().fit(X, y)


def test_cupy_backend_names_the_alternative(data):
    with pytest.raises(TypeError, match="backend='numpy'"):
        GradientClassifier(backend="cupy").fit(data["X"], data["y2"])


# ------------------------------------- the compiled sparse epoch (linear models)

COMPILED_CASES = {
    "sgd-per-sample-l2": dict(optimizer="sgd", batch_size=1, alpha=0.01),
    "sgd-l2-decay-fold": dict(optimizer="sgd", batch_size=1, alpha=0.5, learning_rate=0.5,
                              weight_decay=0.1),  # s falls below MIN_SCALE: folded
    "sgd-batch-7-invscaling": dict(optimizer="sgd", batch_size=7, schedule="invscaling",
                                   power_t=0.3),
    "sgd-l1": dict(optimizer="sgd", batch_size=4, penalty="l1", alpha=0.02),
    "sgd-clip-warmup": dict(optimizer="sgd", batch_size=3, max_grad_norm=0.1,
                            warmup_steps=20),
    "momentum-nesterov-blocks": dict(optimizer="momentum", nesterov=True, batch_size=8,
                                     shuffle="blocks"),
    "rmsprop-elasticnet": dict(optimizer="rmsprop", batch_size=16, penalty="elasticnet",
                               alpha=0.01),
    "adam-per-sample-decay": dict(optimizer="adam", batch_size=1, weight_decay=0.2),
    "adam-no-shuffle-cosine": dict(optimizer="adam", batch_size=32, shuffle=False,
                                   schedule="cosine"),
    "sgd-no-intercept": dict(optimizer="sgd", batch_size=5, fit_intercept=False),
}

TARGETS = {"regression": (GradientRegressor, "y", {}),
           "huber": (GradientRegressor, "y", {"loss": "huber", "epsilon": 0.3}),
           "binary": (GradientClassifier, "y2", {}),
           "hinge": (GradientClassifier, "y2", {"loss": "hinge"}),
           "multiclass": (GradientClassifier, "y3", {})}


@pytest.fixture
def runners(monkeypatch):
    """The names of the epoch functions the training loop ran."""
    import sk_gradopt._epoch as _epoch

    chosen = []
    real = _epoch.epoch_runner

    def spy(data, config, compiled=True):
        runner = real(data, config, compiled=compiled)
        chosen.append(getattr(runner, "__name__", type(runner).__name__))
        return runner

    monkeypatch.setattr("sk_gradopt._training.epoch_runner", spy)
    return chosen


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("case", COMPILED_CASES)
def test_compiled_sparse_epoch_equals_reference(data, runners, case, target):
    pytest.importorskip("numba")
    Estimator, y_name, loss = TARGETS[target]
    params = {"learning_rate": 0.05, "max_iter": 4, "random_state": 0, "tol": None,
              **loss, **COMPILED_CASES[case]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        compiled = Estimator(**params).fit(data["X"], data[y_name], sample_weight=data["sw"])
        reference = Estimator(**params)._fit(data["X"], data[y_name], data["sw"],
                                             compiled=False)
    assert runners[0] == "sparse_epoch"
    assert runners[1] == "array_api_epoch"
    assert_same_fit(compiled, reference, atol=1e-12)


def test_compiled_sparse_epoch_int64_indices_and_float32(data, runners):
    pytest.importorskip("numba")
    X = data["X"].copy()
    X.indices, X.indptr = X.indices.astype(np.int64), X.indptr.astype(np.int64)
    params = dict(optimizer="sgd", batch_size=2, learning_rate=0.05, max_iter=3,
                  random_state=0, tol=None)
    wide = GradientClassifier(**params).fit(X, data["y2"])
    narrow = GradientClassifier(**params).fit(data["X"], data["y2"])
    assert_array_equal(wide.coef_, narrow.coef_)
    assert X.indices.dtype == np.int64  # the caller's matrix is left as it was
    X32 = data["X"].astype(np.float32)
    compiled = GradientClassifier(**params).fit(X32, data["y2"])
    reference = GradientClassifier(**params)._fit(X32, data["y2"], compiled=False)
    assert compiled.coef_.dtype == np.float32
    assert_same_fit(compiled, reference, atol=1e-5)
    assert set(runners[::2]) == {"sparse_epoch"}


def test_lazy_update_touches_only_the_batch_columns():
    """Plain SGD on a sparse epoch: coefficients of unseen columns only shrink by s."""
    pytest.importorskip("numba")
    from sk_gradopt._optimizers import EmptyState
    from sk_gradopt._sparse_kernels import sparse_linear_epoch
    from sk_gradopt._tree import Layer

    X = sp.csr_matrix(np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]))
    coef = np.array([[0.0], [0.0], [4.0]])
    params = (Layer(coef, np.zeros(1)),)
    hyper = dict(momentum=0.9, nesterov=False, rho=0.99, beta_1=0.9, beta_2=0.999, eps=1e-8)
    (layer,), _, loss_sum = sparse_linear_epoch(
        params, EmptyState(), X, np.array([[1.0], [1.0]]), None, np.arange(2),
        np.array([0, 1, 2]), np.array([0.1]), loss="squared_error", epsilon=0.0,
        optimizer="sgd", l1=0.0, l2=0.5, mean_weight=1.0, **hyper)
    # by hand: each step w <- w * (1 - 0.1 * 0.5) - 0.1 * x * (x.w + b - 1)
    w, b = np.array([0.0, 0.0, 4.0]), 0.0
    expected_loss = 0.0
    for x in ([1.0, 0.0, 0.0], [0.0, 2.0, 0.0]):
        r = np.dot(x, w) + b - 1.0
        expected_loss += r * r / 2
        w, b = w * 0.95 - 0.1 * r * np.array(x), b - 0.1 * r
    assert_allclose(layer.coef.ravel(), w, rtol=1e-14)
    assert_allclose(layer.intercept, [b], rtol=1e-14)
    assert loss_sum == pytest.approx(expected_loss, rel=1e-14)
