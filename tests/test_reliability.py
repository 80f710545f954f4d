"""Defects found by trying the package as a new user would (issue 13), estimator side.

Each test fixes a family, with variants: a level shift in a stream, values
that overflow, non-finite initial weights, zero and invalid class weights,
torch tensors, a schedule that underflows, and a fit that fails half-way.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDRegressor

import sk_gradopt._epoch as _epoch
from sk_gradopt import (
    OPTIMIZERS,
    GradientClassifier,
    GradientMLPClassifier,
    GradientMLPRegressor,
    GradientRegressor,
)
from sk_gradopt._tree import tree_leaves


@pytest.fixture
def regression():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 3))
    return X, X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(80)


@pytest.fixture
def classification():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((60, 3))
    return X, (X[:, 0] + 0.3 * rng.standard_normal(60) > 0).astype(int)


def _all_finite(estimator):
    arrays = [estimator.coef_, estimator.intercept_, *tree_leaves(estimator._opt_state)]
    return all(np.all(np.isfinite(np.asarray(a))) for a in arrays if hasattr(a, "shape"))


# --------------------------------------------------------- 1. level shift


# Adagrad's rate only decays and Adadelta's steps start at sqrt(eps): neither
# follows a shifted stream within this budget (by design, not a defect).
@pytest.mark.parametrize("optimizer", [name for name in OPTIMIZERS
                                       if name not in ("adagrad", "adadelta")])
@pytest.mark.parametrize("levels", [(5.0, 0.0), (-3.0, 4.0), (20.0, 1.0)])
def test_partial_fit_follows_a_level_shift_in_the_stream(regression, optimizer, levels):
    # A stream whose targets jump from one level to another: the new batches
    # start far from the model (a large objective) and come down. That is
    # learning, not divergence: no warning, and the model adapts, as
    # SGDRegressor does.
    X, y = regression
    y = 0.2 * y  # targets close to their level: the zero model is far from the old level
    before, after = levels
    lr = 0.05 if optimizer in ("rmsprop", "adam") else 0.1
    online = GradientRegressor(optimizer=optimizer, learning_rate=lr, batch_size=8,
                               penalty=None, random_state=0)
    reference = SGDRegressor(learning_rate="constant", eta0=0.01, penalty=None,
                             random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        for _ in range(60):
            online.partial_fit(X, y + before)
        for _ in range(100):
            online.partial_fit(X, y + after)
            reference.partial_fit(X, y + after)
    assert abs(online.intercept_[0] - after) < 0.1 * max(1.0, abs(after - before))
    assert online.score(X, y + after) > 0.95
    assert reference.score(X, y + after) > 0.99  # the behaviour we match


def test_partial_fit_still_catches_a_fast_blow_up(regression):
    X, y = regression
    online = GradientRegressor(optimizer="gd", learning_rate=0.1, penalty=None)
    online.partial_fit(X, y)
    online.set_params(learning_rate=50.0)
    with pytest.warns(ConvergenceWarning, match="diverged.*learning_rate=50"):
        online.partial_fit(X, y)
    assert _all_finite(online)


# ------------------------------------------------------ 2. huge features


@pytest.mark.parametrize("optimizer", ["rmsprop", "adam"])
@pytest.mark.parametrize("dtype, scale", [("float64", 1e160), ("float64", 1e250),
                                          ("float32", 1e20), ("float32", 1e30)])
def test_a_second_moment_that_overflows_is_reported_and_never_kept(
        regression, optimizer, dtype, scale):
    X, y = regression
    X = (X * scale).astype(dtype)
    est = GradientRegressor(optimizer=optimizer, max_iter=20, random_state=0)
    with pytest.warns(ConvergenceWarning, match="overflowed.*Scale the features"):
        est.fit(X, y.astype(dtype))
    assert _all_finite(est)
    assert est.coef_.dtype == np.dtype(dtype)


def test_the_same_data_scaled_down_learns(regression):
    # The family's fix is what the warning says: scaled features learn.
    X, y = regression
    est = GradientRegressor(optimizer="adam", learning_rate=0.05, max_iter=300,
                            random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X * 1e160 / 1e160, y)
    assert est.score(X, y) > 0.99


# ------------------------------------------- 14. objective that overflows


@pytest.mark.parametrize("target_scale", [1e155, 1e300, -1e200])
def test_targets_beyond_the_floats_are_refused_with_a_clear_error(regression, target_scale):
    X, y = regression
    with pytest.raises(ValueError, match="not finite.*largest \\|y\\|.*Scale the targets"):
        GradientRegressor().fit(X, y * target_scale)


def test_a_refused_partial_fit_leaves_the_model_as_it_was(regression):
    X, y = regression
    est = GradientRegressor(optimizer="sgd", random_state=0).partial_fit(X, y)
    coef, t, curve = est.coef_.copy(), est.t_, list(est.loss_curve_)
    with pytest.raises(ValueError, match="not finite"):
        est.partial_fit(X, y * 1e300)
    assert_array_equal(est.coef_, coef)
    assert (est.t_, est.loss_curve_) == (t, curve)


# ---------------------------------------------- 6. non-finite initial weights


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_coef_init_is_refused(regression, bad):
    X, y = regression
    coef_init = np.array([1.0, bad, 1.0])
    with pytest.raises(ValueError, match="coef_init.*(NaN|infinity)"):
        GradientRegressor().fit(X, y, coef_init=coef_init)
    Xc, yc = X, (y > 0).astype(int)
    with pytest.raises(ValueError, match="coef_init.*(NaN|infinity)"):
        GradientClassifier().fit(Xc, yc, coef_init=coef_init[None, :])


@pytest.mark.parametrize("bad", [np.nan, np.inf, [0.0, np.inf]])
def test_non_finite_intercept_init_is_refused(regression, bad):
    X, y = regression
    Y = np.c_[y, -y]
    with pytest.raises(ValueError, match="intercept_init.*(NaN|infinity)"):
        GradientRegressor().fit(X, Y, intercept_init=bad)


# ------------------------------------------------------ 8. class weights


@pytest.mark.parametrize("Estimator", [GradientClassifier, GradientMLPClassifier])
@pytest.mark.parametrize("labels, class_weight, sample_weight", [
    ([0, 1], {0: 0, 1: 0}, None),  # every class weighs nothing
    (["a", "b", "c"], {"a": 0.0, "b": 0.0, "c": 0.0}, None),
    ([0, 1], {0: 1.0, 1: 0.0}, "class 1 only"),  # the weights cancel out
    ([-1, 1], {-1: 0.0, 1: 3.0}, "class -1 only"),
])
def test_fit_refuses_zero_effective_weight(classification, Estimator, labels,
                                           class_weight, sample_weight):
    # Issue 20 (3): the untrained model (an MLP's random weights) came back with n_iter_ = 0.
    X, y = classification
    y = np.asarray(labels)[(y + np.arange(len(y))) % len(labels)]
    sw = None
    if sample_weight is not None:  # weight only on the class whose class weight is 0
        zero_class = [c for c, w in class_weight.items() if w == 0][0]
        sw = np.where(y == zero_class, 2.5, 0.0)
    estimator = Estimator(class_weight=class_weight, random_state=0, max_iter=5)
    with pytest.raises(ValueError, match="zero effective weight"):
        estimator.fit(X, y, sample_weight=sw)
    assert not hasattr(estimator, "n_iter_") and not hasattr(estimator, "classes_")


def test_a_partial_fit_batch_of_only_a_zero_weight_class_is_a_no_op(classification):
    # The streaming case: the batch holds only class 0, whose weight is 0.
    X, y = classification
    clf = GradientClassifier(class_weight={0: 0.0, 1: 2.0}, random_state=0)
    clf.partial_fit(X, y, classes=[0, 1])
    coef, t = clf.coef_.copy(), clf.t_
    clf.partial_fit(X[y == 0], y[y == 0])
    assert_array_equal(clf.coef_, coef)
    assert clf.t_ == t
    clf.partial_fit(X, y)  # and it goes on learning afterwards
    assert clf.t_ > t


@pytest.mark.parametrize("weights", [{0: np.nan, 1: 1.0}, {0: 1.0, 1: np.inf},
                                     {0: -1.0, 1: 1.0}, {1: -0.5}])
def test_nan_inf_and_negative_class_weights_are_refused(classification, weights):
    X, y = classification
    with pytest.raises(ValueError, match="class_weight must give every class a finite"):
        GradientClassifier(class_weight=weights).fit(X, y)
    with pytest.raises(ValueError, match="class_weight must give every class a finite"):
        GradientClassifier(class_weight=weights).partial_fit(X, y, classes=[0, 1])


def test_all_zero_sample_weight_keeps_sklearn_s_error(classification):
    X, y = classification
    with pytest.raises(ValueError, match="at least one non-zero"):
        GradientClassifier().fit(X, y, sample_weight=np.zeros(len(y)))


# ------------------------------------- 12. schedules, and failed fits


@pytest.mark.parametrize("power_t", [5e3, 1e6, 1e300])
def test_invscaling_with_a_large_power_t_runs(regression, power_t):
    # The rate underflows to 0 after the first step: the fit must run, not raise.
    X, y = regression
    est = GradientRegressor(optimizer="sgd", schedule="invscaling", power_t=power_t,
                            max_iter=3, tol=None, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert est.n_iter_ == 3 and _all_finite(est)


def test_a_fit_that_fails_half_way_leaves_the_fitted_model_as_it_was(regression, monkeypatch):
    X, y = regression
    est = GradientRegressor(optimizer="adam", max_iter=5, tol=None, random_state=0).fit(X, y)
    before = {name: getattr(est, name) for name in
              ("coef_", "intercept_", "n_iter_", "t_", "loss_curve_", "best_loss_")}
    before = {k: np.copy(v) if hasattr(v, "shape") else list(v) if isinstance(v, list) else v
              for k, v in before.items()}
    real_step, calls = _epoch.gradient_step, []

    def failing_step(*args, **kwargs):
        calls.append(1)
        if len(calls) > 3:
            raise OverflowError("boom")
        return real_step(*args, **kwargs)

    monkeypatch.setattr(_epoch, "gradient_step", failing_step)
    with pytest.raises(OverflowError):
        est.set_params(max_iter=50)._fit(X * 2, y, compiled=False)  # (the reference's step)
    for name, value in before.items():
        assert_array_equal(getattr(est, name), value, err_msg=name)


# ----------------------------------------------------------- 5, 7. torch


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def test_to_numpy_converts_torch_fitted_arrays_and_state(regression, torch):
    X, y = regression
    with config_context(array_api_dispatch=True):
        est = GradientRegressor(optimizer="adam", max_iter=3, tol=None).fit(
            torch.tensor(X), torch.tensor(y))
        assert isinstance(est.coef_, torch.Tensor)
        moved = est.to_numpy()
    assert isinstance(moved.coef_, np.ndarray) and isinstance(moved.intercept_, np.ndarray)
    assert all(isinstance(a, (np.ndarray, int)) for a in tree_leaves(moved._opt_state))
    assert_allclose(moved.coef_, est.coef_.numpy())


@pytest.mark.parametrize("namespace", ["torch", "array_api_strict"])
def test_backend_numpy_trains_on_numpy_whatever_the_input(regression, namespace):
    xp = pytest.importorskip(namespace)
    X, y = regression
    ref = GradientRegressor(optimizer="momentum", max_iter=4, tol=None, random_state=0).fit(X, y)
    est = GradientRegressor(optimizer="momentum", max_iter=4, tol=None, random_state=0,
                            backend="numpy")
    with config_context(array_api_dispatch=True):
        est.fit(xp.asarray(X), xp.asarray(y))
        pred = est.predict(xp.asarray(X))
    assert isinstance(est.coef_, np.ndarray) and isinstance(pred, np.ndarray)
    assert all(isinstance(a, (np.ndarray, int)) for a in tree_leaves(est._opt_state))
    assert_allclose(est.coef_, ref.coef_, rtol=1e-12)


@pytest.mark.parametrize("Estimator", [GradientRegressor, GradientClassifier])
def test_a_torch_input_that_requires_grad_records_no_autograd_history(
        regression, torch, Estimator):
    X, y = regression
    if Estimator is GradientClassifier:
        y = (y > 0).astype(float)
    Xt = torch.tensor(X, requires_grad=True)
    with config_context(array_api_dispatch=True):
        est = Estimator(max_iter=3, tol=None, random_state=0).fit(Xt, torch.tensor(y))
        pred = est.predict(Xt)
    assert not est.coef_.requires_grad and est.coef_.grad_fn is None
    assert all(not a.requires_grad for a in tree_leaves(est._opt_state) if hasattr(a, "shape"))
    assert getattr(pred, "grad_fn", None) is None
    assert Xt.grad is None and Xt.requires_grad  # the caller's tensor is untouched


# ------------------------------------- found in review: state after errors


def test_a_fit_refused_after_validation_changes_nothing(classification):
    # Validation sets n_features_in_ and classes_ before training: a call
    # refused later (here: a negative class weight) must restore them.
    X, y = classification
    labels = np.array(["a", "b", "c"])[np.arange(len(y)) % 3]
    clf = GradientClassifier(max_iter=3, tol=None, random_state=0).fit(X, labels)
    before = (clf.classes_.copy(), clf.coef_.copy(), clf.n_features_in_)
    clf.set_params(class_weight={"a": -1.0, "b": 1.0})
    with pytest.raises(ValueError, match="class_weight"):
        clf.fit(X[:, :2], np.array(["a", "b"])[y])
    assert_array_equal(clf.classes_, before[0])
    assert_array_equal(clf.coef_, before[1])
    assert clf.n_features_in_ == before[2]
    assert clf.predict(X).shape == (len(y),)


def test_a_first_fit_that_fails_leaves_the_estimator_unfitted(regression):
    from sklearn.exceptions import NotFittedError

    X, y = regression
    reg = GradientRegressor()
    with pytest.raises(ValueError, match="not finite"):
        reg.fit(X, y * 1e300)
    with pytest.raises(NotFittedError):
        reg.predict(X)


@pytest.mark.parametrize("change", [dict(optimizer="adam"), dict(optimizer="rmsprop"),
                                    dict(fit_intercept=False)])
def test_partial_fit_after_set_params_changed_the_state_is_a_clear_error(regression, change):
    X, y = regression
    online = GradientRegressor(optimizer="momentum", random_state=0).partial_fit(X, y)
    coef = online.coef_.copy()
    online.set_params(**change)
    with pytest.raises(ValueError, match="partial_fit cannot continue"):
        online.partial_fit(X, y)
    assert_array_equal(online.coef_, coef)
    online.set_params(learning_rate=0.001)  # a new rate is fine: the state does not change
    online.set_params(**{"optimizer": "momentum", "fit_intercept": True})
    online.partial_fit(X, y)


def test_predict_uses_the_fitted_intercept_whatever_fit_intercept_says_now(regression):
    X, y = regression
    reg = GradientRegressor(optimizer="gd", learning_rate=0.5, max_iter=50,
                            random_state=0).fit(X, y + 10)
    pred = reg.predict(X)
    reg.set_params(fit_intercept=False)  # no refit: the fitted model has not changed
    assert_array_equal(reg.predict(X), pred)


def test_partial_fit_with_another_dtype_continues_in_that_dtype_on_both_paths(regression):
    X, y = regression
    results = []
    for compiled in (True, False):
        est = GradientRegressor(optimizer="adam", batch_size=8, random_state=0)
        est._fit(X, y, partial=True, compiled=compiled)
        est._fit(X.astype(np.float32), y.astype(np.float32), partial=True, compiled=compiled)
        assert est.coef_.dtype == np.float32
        assert all(a.dtype == np.float32 for a in tree_leaves(est._opt_state)
                   if hasattr(a, "dtype"))
        results.append(est.coef_)
    assert_allclose(results[0], results[1], rtol=1e-5)


def test_coef_init_is_copied_not_kept(regression):
    X, y = regression
    coef_init = np.ones(3)
    intercept_init = np.array([0.5])
    reg = GradientRegressor(optimizer="sgd", learning_rate=1e6, max_iter=2,
                            random_state=0)
    with pytest.warns(ConvergenceWarning):  # diverges: the initial weights are kept
        reg.fit(X, y, coef_init=coef_init, intercept_init=intercept_init)
    assert not np.shares_memory(reg.coef_, coef_init)
    coef_init[:] = 7.0
    intercept_init[:] = 7.0
    assert_array_equal(reg.coef_, np.ones(3))
    assert_array_equal(reg.intercept_, [0.5])
    assert reg.intercept_.flags.writeable


# ------------------------------------- clipping gradients beyond float32's square root


@pytest.mark.parametrize("scale", [1e10, 3e14])
@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("params", [dict(batch_size=10), dict(optimizer="gd"),
                                    dict(optimizer="adam", batch_size=7)])
def test_clipping_a_gradient_whose_square_overflows_float32(scale, compiled, params):
    # Issue 20: |g| > 1.8e19 made g * g inf in float32, the clipping factor 0
    # and the step vanish. The float32 fit follows the float64 one.
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 3)) * scale
    y = rng.standard_normal(40) * scale
    fits = {}
    for dtype in (np.float32, np.float64):
        est = GradientRegressor(max_grad_norm=0.5, learning_rate=1e-2 / scale, max_iter=3,
                                tol=None, random_state=0, **params)
        est._fit(X.astype(dtype), y.astype(dtype), compiled=compiled)
        fits[dtype] = est
    assert np.all(fits[np.float32].coef_ != 0)
    assert_allclose(fits[np.float32].coef_, fits[np.float64].coef_, rtol=1e-4)


def test_clipping_an_mlp_gradient_whose_square_overflows_float32():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((30, 2)) * 1e5
    y = rng.standard_normal(30) * 1e18  # gradients of about 1e23, a finite loss
    fits = {}
    for dtype in (np.float32, np.float64):
        est = GradientMLPRegressor(hidden_layer_sizes=(3,), max_grad_norm=1.0,
                                   learning_rate=0.1, max_iter=2, tol=None, random_state=0)
        est.fit(X.astype(dtype), y.astype(dtype))
        fits[dtype] = est
    start = GradientMLPRegressor(hidden_layer_sizes=(3,), max_iter=1, learning_rate=1e-300,
                                 tol=None, random_state=0).fit(X, y)
    moved = np.abs(fits[np.float32].coefs_[1] - start.coefs_[1])
    assert np.all(moved > 0)
    for a, b in zip(fits[np.float32].coefs_, fits[np.float64].coefs_):
        assert_allclose(a, b, rtol=1e-4, atol=1e-6)
