"""learning_rate="auto" (1/L) and the learning-rate range test, against independent references."""

import pickle
import warnings
from functools import partial

import array_api_strict as xps
import matplotlib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import log_loss
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_gradopt import (
    OPTIMIZERS,
    GradientClassifier,
    GradientRegressor,
    LRRangeTestDisplay,
    lr_range_test,
)
from sk_gradopt._base import BaseGradientEstimator
from sk_gradopt._lipschitz import LOSS_CURVATURE, lambda_max, lipschitz_constant

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

DEVICE = xps.Device("device1")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=120, n_features=6, noise=5.0, random_state=0)
    # correlated, uncentred columns: lambda_max well above 1
    X = X @ np.triu(np.ones((6, 6))) / 3 + np.linspace(0, 2, 6)
    return X, y / y.std()


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(n_samples=150, n_features=5, random_state=0)
    return X, y


@pytest.fixture(scope="module")
def multiclass():
    X, y = make_classification(n_samples=150, n_features=5, n_informative=3, n_classes=3,
                               random_state=0)
    return X, y


def gram_lambda_max(X, sample_weight=None, fit_intercept=True):
    """The reference: eigvalsh of [X, 1]^T diag(s) [X, 1] / sum(s), written out."""
    A = np.hstack([X, np.ones((X.shape[0], 1))]) if fit_intercept else X
    s = np.ones(X.shape[0]) if sample_weight is None else sample_weight
    return np.linalg.eigvalsh(A.T @ (A * s[:, None]) / s.sum())[-1]


# ------------------------------------------------------------- lambda_max

@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_lambda_max_equals_eigvalsh(regression, fit_intercept, weighted):
    X, _ = regression
    sw = np.random.default_rng(0).uniform(0, 3, X.shape[0]) if weighted else None
    want = gram_lambda_max(X, sw, fit_intercept)
    assert_allclose(lambda_max(X, sw, fit_intercept=fit_intercept, exact=True), want,
                    rtol=1e-12)
    power, n_iter = lambda_max(X, sw, fit_intercept=fit_intercept, exact=False,
                               return_n_iter=True)
    assert 1 < n_iter < 100
    assert want * (1 - 1e-2) < power <= want * (1 + 1e-12)  # from below


def test_power_iteration_is_a_lower_bound_that_converges():
    # A spectrum with a small gap: slow, but every estimate is below lambda_max
    # and they rise to it.
    rng = np.random.default_rng(1)
    X = rng.standard_normal((400, 40)) * np.linspace(1.0, 1.2, 40)
    want = gram_lambda_max(X)
    estimates = [lambda_max(X, exact=False, tol=0.0, max_iter=k) for k in (2, 5, 20, 200)]
    assert all(e <= want * (1 + 1e-12) for e in estimates)
    assert estimates == sorted(estimates)
    assert_allclose(estimates[-1], want, rtol=1e-3)


def test_weighted_gram_in_blocks_of_rows(regression, monkeypatch):
    import sk_gradopt._lipschitz as lr

    X, _ = regression
    sw = np.random.default_rng(0).uniform(0, 3, X.shape[0])
    monkeypatch.setattr(lr, "GRAM_BLOCK_BYTES", 8 * X.shape[1] * 7)  # blocks of 7 rows
    assert_allclose(lambda_max(X, sw, exact=True), gram_lambda_max(X, sw), rtol=1e-12)


def test_lambda_max_on_array_api_strict(regression):
    X, _ = regression
    Xs = xps.asarray(X, device=DEVICE)
    sw = np.random.default_rng(0).uniform(0, 3, X.shape[0])
    sws = xps.asarray(sw, device=DEVICE)
    for exact in (True, False):
        assert_allclose(lambda_max(Xs, exact=exact), lambda_max(X, exact=exact), rtol=1e-12)
        assert_allclose(lambda_max(Xs, sws, exact=exact), lambda_max(X, sw, exact=exact),
                        rtol=1e-12)


def test_lipschitz_constant_is_c_lambda_max_plus_l2(regression):
    X, _ = regression
    want = 0.25 * gram_lambda_max(X) + 0.3
    assert_allclose(lipschitz_constant(X, curvature=0.25, l2=0.3), want, rtol=1e-12)


# ----------------------------------------------------------------- "auto"

def test_auto_is_one_over_L_for_least_squares(regression):
    X, y = regression
    reg = GradientRegressor(optimizer="gd", learning_rate="auto", penalty=None,
                            max_iter=5, tol=None).fit(X, y)
    assert_allclose(reg.learning_rate_, 1 / gram_lambda_max(X), rtol=1e-12)


@pytest.mark.parametrize("exact", [True, False])
def test_one_over_L_converges_and_two_and_a_half_over_L_diverges(regression, exact,
                                                                 monkeypatch):
    # Full-batch gradient descent on least squares converges for steps below
    # 2 / lambda_max: 1/L and 1.9/L reach the least-squares solution, 2.5/L diverges.
    import sk_gradopt._lipschitz as lr

    monkeypatch.setattr(lr, "EXACT_MAX_FEATURES", 1000 if exact else 0)
    X, y = make_regression(n_samples=100, n_features=5, noise=5.0, random_state=1)
    X, y = 2 * X + np.linspace(-1, 1, 5), y / y.std()  # lambda_max about 5
    params = dict(optimizer="gd", penalty=None, tol=None, max_iter=2000)
    step = GradientRegressor(learning_rate="auto", **{**params, "max_iter": 1})
    step = step.fit(X, y).learning_rate_
    ref = LinearRegression().fit(X, y)
    for multiple in (1.0, 1.9):
        reg = GradientRegressor(learning_rate=multiple * step, **params).fit(X, y)
        assert_allclose(reg.coef_, ref.coef_, rtol=1e-6, atol=1e-8)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        GradientRegressor(learning_rate=2.5 * step, **params).fit(X, y)


@pytest.mark.parametrize("data, c", [("binary", 0.25), ("multiclass", 0.5)])
def test_auto_uses_the_curvature_of_the_log_loss(data, c, request):
    X, y = request.getfixturevalue(data)
    alpha = 0.01
    clf = GradientClassifier(optimizer="gd", learning_rate="auto", alpha=alpha, max_iter=3000,
                             tol=None).fit(X, y)
    assert_allclose(clf.learning_rate_, 1 / (c * gram_lambda_max(X) + alpha), rtol=1e-12)
    # 1/L is a descent step: gd converges to the minimiser, LogisticRegression's.
    ref = LogisticRegression(C=1 / (alpha * X.shape[0]), tol=1e-12, max_iter=10_000).fit(X, y)
    assert_allclose(clf.coef_, ref.coef_, atol=1e-5)
    assert np.all(np.diff(clf.loss_curve_) <= 1e-15)  # monotone, as 1/L guarantees


def test_auto_counts_sample_weights_penalty_and_weight_decay(regression):
    X, y = regression
    sw = np.random.default_rng(0).uniform(0, 3, X.shape[0])
    reg = GradientRegressor(optimizer="sgd", learning_rate="auto", penalty="elasticnet",
                            alpha=0.2, l1_ratio=0.25, weight_decay=0.05, max_iter=2,
                            tol=None).fit(X, y, sample_weight=sw)
    want = 1 / (gram_lambda_max(X, sw) + 0.2 * 0.75 + 0.05)
    assert_allclose(reg.learning_rate_, want, rtol=1e-12)


def test_auto_without_intercept(regression):
    X, y = regression
    reg = GradientRegressor(optimizer="gd", learning_rate="auto", penalty=None,
                            fit_intercept=False, max_iter=2, tol=None).fit(X, y)
    assert_allclose(reg.learning_rate_, 1 / gram_lambda_max(X, fit_intercept=False),
                    rtol=1e-12)


def test_auto_momentum_is_scaled_by_one_minus_momentum(regression):
    X, y = regression
    reg = GradientRegressor(optimizer="momentum", momentum=0.8, learning_rate="auto",
                            penalty=None, max_iter=2, tol=None).fit(X, y)
    assert_allclose(reg.learning_rate_, 0.2 / gram_lambda_max(X), rtol=1e-12)


@pytest.mark.parametrize("optimizer", ["rmsprop", "adam"])
def test_auto_is_torch_default_for_adaptive_optimizers(regression, optimizer):
    X, y = regression
    reg = GradientRegressor(optimizer=optimizer, learning_rate="auto", max_iter=2,
                            tol=None).fit(X, y)
    assert reg.learning_rate_ == 1e-3
    same = GradientRegressor(optimizer=optimizer, learning_rate=1e-3, max_iter=2,
                             tol=None).fit(X, y)
    assert_array_equal(reg.coef_, same.coef_)


def test_learning_rate_attribute_is_always_set(regression):
    X, y = regression
    reg = GradientRegressor(learning_rate=0.02, max_iter=2, tol=None).fit(X, y)
    assert reg.learning_rate_ == 0.02
    assert "learning_rate_" in GradientRegressor.__doc__


def test_partial_fit_keeps_the_rate_of_its_first_call(regression):
    X, y = regression
    reg = GradientRegressor(optimizer="sgd", learning_rate="auto", penalty=None)
    reg.partial_fit(X[:60], y[:60])
    first = reg.learning_rate_
    assert_allclose(first, 1 / gram_lambda_max(X[:60]), rtol=1e-12)
    reg.partial_fit(X[60:], y[60:])
    assert reg.learning_rate_ == first


@pytest.mark.parametrize("optimizer, scale", [("sgd", 1.0), ("gd", 1.0), ("momentum", 0.5)])
@pytest.mark.parametrize("how", ["zero class weight", "weights that cancel"])
def test_partial_fit_auto_waits_for_data_that_carries_weight(binary, optimizer, scale, how):
    # A first batch that weighs nothing has no 1/L: "auto" is computed on the
    # first batch that carries weight, and the stream then trains.
    X, y = binary
    rng = np.random.default_rng(0)
    class_weight = {0: 0.0, 1: 2.0}
    zeros = np.flatnonzero(y == 0)[:25]
    if how == "zero class weight":  # only rows of the class that weighs 0
        first, first_sw = zeros, None
    else:  # both classes; the rows of class 1 have sample weight 0
        first = np.concatenate([zeros[:10], np.flatnonzero(y == 1)[:10]])
        first_sw = np.where(y[first] == 1, 0.0, 1.0)
    rest = np.setdiff1d(np.arange(len(y)), first)
    rest = rest[rng.permutation(len(rest))]
    clf = GradientClassifier(optimizer=optimizer, momentum=0.5, learning_rate="auto",
                             class_weight=class_weight, random_state=0)
    clf.partial_fit(X[first], y[first], classes=[0, 1], sample_weight=first_sw)
    assert not hasattr(clf, "learning_rate_") and clf.t_ == 0
    assert_array_equal(clf.coef_, 0.0)
    second = rest[:40]
    sw = np.array([class_weight[c] for c in y[second]])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # no divergence
        clf.partial_fit(X[second], y[second])
        L = 0.25 * gram_lambda_max(X[second], sw) + clf.alpha
        assert_allclose(clf.learning_rate_, scale / L, rtol=1e-12)
        for start in range(40, len(rest), 40):
            clf.partial_fit(X[rest[start:start + 40]], y[rest[start:start + 40]])
    # the weightless first batch was a no-op: the stream without it is the same
    ref = GradientClassifier(optimizer=optimizer, momentum=0.5, learning_rate="auto",
                             class_weight=class_weight, random_state=0)
    for start in range(0, len(rest), 40):
        ref.partial_fit(X[rest[start:start + 40]], y[rest[start:start + 40]], classes=[0, 1])
    assert ref.learning_rate_ == clf.learning_rate_
    assert_allclose(clf.coef_, ref.coef_, rtol=1e-12)
    assert np.all(np.isfinite(clf.coef_)) and clf.predict_proba(X)[:, 1].mean() > 0.6


@pytest.mark.parametrize("loss", ["epsilon_insensitive"])
def test_auto_with_a_non_smooth_loss_says_why(regression, loss):
    X, y = regression
    with pytest.raises(ValueError, match="not differentiable.*lr_range_test"):
        GradientRegressor(loss=loss, optimizer="gd", learning_rate="auto").fit(X, y)
    with pytest.raises(ValueError, match="not differentiable"):
        GradientClassifier(loss="hinge", optimizer="sgd", learning_rate="auto").fit(
            X, (y > 0).astype(int))
    GradientClassifier(loss="modified_huber", optimizer="gd", learning_rate="auto",
                       max_iter=2, tol=None).fit(X, (y > 0).astype(int))
    assert LOSS_CURVATURE["modified_huber"] == 2.0


@pytest.mark.parametrize("optimizer", ["gd", "sgd", "momentum"])
def test_models_without_a_bound_point_to_the_range_test(optimizer):
    # The base class's answer for models that have no 1/L (the MLP).
    est = GradientRegressor(optimizer=optimizer)
    with pytest.raises(ValueError, match=r"learning_rate='auto'.*lr_range_test.*'adam'"):
        BaseGradientEstimator._inverse_lipschitz(est, None)


def test_auto_equals_on_array_api_strict(binary):
    X, y = binary
    params = dict(optimizer="momentum", learning_rate="auto", max_iter=3, tol=None,
                  random_state=0)
    ref = GradientClassifier(**params).fit(X, y)
    with config_context(array_api_dispatch=True):
        clf = GradientClassifier(**params).fit(xps.asarray(X, device=DEVICE),
                                               xps.asarray(y, device=DEVICE))
    assert_allclose(clf.learning_rate_, ref.learning_rate_, rtol=1e-12)


@pytest.mark.parametrize("dtype, scale", [(np.float64, 1e160), (np.float64, 1e250),
                                          (np.float32, 1e20), (np.float32, 1e30)])
@pytest.mark.parametrize("n_features", [4, 300])  # eigvalsh, and power iteration
@pytest.mark.parametrize("Estimator", [GradientRegressor, GradientClassifier])
def test_auto_on_a_gram_matrix_beyond_the_floats_says_scale_the_features(
        Estimator, n_features, dtype, scale):
    rng = np.random.default_rng(n_features)
    X = (rng.standard_normal((40, n_features)) * scale).astype(dtype)
    y = np.arange(40) % 2
    est = Estimator(optimizer="sgd", learning_rate="auto")
    with pytest.raises(ValueError, match=rf"not finite: the values are too large for "
                                         rf"{np.dtype(dtype).name} \(largest \|X\| = .*\)\. "
                                         r"Scale the features"):
        est.fit(X, y)
    assert not hasattr(est, "coef_")  # a failed fit leaves the estimator unfitted
    with pytest.raises(ValueError, match="largest sample weight = 3"):
        lambda_max(X, np.full(40, 3.0, dtype=dtype), exact=n_features < 100)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("exact", [True, False])
def test_lambda_max_of_large_but_finite_values(dtype, exact):
    # |X| ~ 1e9: X^T X fits in float32, ||u||^2 of the power iteration would
    # not; both ways give the float64 eigenvalue
    X = np.random.default_rng(1).standard_normal((60, 8)) * 1e9
    got = lambda_max(X.astype(dtype), exact=exact)
    assert_allclose(got, gram_lambda_max(X), rtol=1e-3 if exact else 2e-2)


def test_bad_learning_rate_string_is_rejected(regression):
    X, y = regression
    with pytest.raises(ValueError, match="'learning_rate' parameter"):
        GradientRegressor(learning_rate="fast").fit(X, y)


# ------------------------------------------------------------- range test

def gd_range_test_by_hand(X, y, rates):
    """Least squares, no penalty, full batch: the objective after each step of the ramp."""
    A = np.hstack([X, np.ones((X.shape[0], 1))])
    theta = np.zeros(A.shape[1])
    losses = []
    for lr in rates:
        theta = theta - lr * A.T @ (A @ theta - y) / len(y)
        losses.append(0.5 * np.mean((A @ theta - y) ** 2))
    return np.array(losses)


def test_gd_range_test_equals_a_hand_written_ramp(regression):
    X, y = regression
    reg = GradientRegressor(optimizer="gd", penalty=None)
    result = lr_range_test(reg, X, y, min_lr=1e-4, max_lr=1.0, num_steps=30,
                           stop_factor=None)
    rates = 1e-4 * (1.0 / 1e-4) ** (np.arange(30) / 29)
    assert_allclose(result.learning_rates_, rates, rtol=1e-13)
    assert_allclose(result.losses_, gd_range_test_by_hand(X, y, rates), rtol=1e-10)
    assert not result.stopped_early_


def test_smoothing_is_the_debiased_moving_average(regression):
    X, y = regression
    result = lr_range_test(GradientRegressor(optimizer="sgd", batch_size=16), X, y,
                           smoothing=0.7, random_state=0, stop_factor=None)
    average, want = 0.0, []
    for t, loss in enumerate(result.losses_):
        average = 0.7 * average + 0.3 * loss
        want.append(average / (1 - 0.7 ** (t + 1)))
    assert_allclose(result.smoothed_losses_, want, rtol=1e-12)
    assert_array_equal(lr_range_test(GradientRegressor(optimizer="sgd", batch_size=16), X, y,
                                     smoothing=0.0, random_state=0,
                                     stop_factor=None).smoothed_losses_,
                       result.losses_)


def nearest_rate(rates, target):
    return rates[np.argmin(np.abs(np.log(rates) - np.log(target)))]


def test_suggestion_is_the_rate_of_the_lowest_point_over_the_divisor(regression):
    X, y = regression
    result = lr_range_test(GradientRegressor(optimizer="gd", penalty=None), X, y,
                           skip_start=7, skip_end=3)
    smoothed, rates = result.smoothed_losses_, result.learning_rates_
    lowest = 7 + np.argmin(smoothed[7:len(smoothed) - 3])
    assert result.suggestion_ == nearest_rate(rates, rates[lowest] / 7)


def test_the_suggestion_follows_the_lowest_point_not_a_later_fall():
    # falls to 0.2 at index 20, spikes, falls steeply from the spike, then
    # rises: the suggestion is a seventh of the rate of index 20.
    from sk_gradopt._lr import _suggestion

    rates = np.logspace(-4, 1, 40)
    curve = np.concatenate([np.linspace(1.0, 0.2, 21), [0.9, 0.3, 0.25], np.linspace(0.3, 2, 16)])
    got = _suggestion(rates, curve, 5, 2, stopped_early=True)
    assert got == nearest_rate(rates, rates[20] / 7)
    # a dip of the skipped first points by less than 25% is noise ...
    curve[1] = 0.17
    assert _suggestion(rates, curve, 5, 2, stopped_early=True) == got
    # ... by more, the loss rose from the start: the whole curve counts
    curve[1] = 0.15
    with pytest.warns(UserWarning, match="below min_lr.*Lower min_lr"):
        assert _suggestion(rates, curve, 5, 2, stopped_early=True) == rates[1] / 7
    with pytest.warns(UserWarning, match="below min_lr"):
        assert _suggestion(rates, curve, 0, 2, stopped_early=True) == rates[1] / 7


def test_stops_once_the_loss_exceeds_the_factor_of_the_best(regression):
    X, y = regression
    result = lr_range_test(GradientRegressor(optimizer="gd"), X, y, stop_factor=3.0)
    assert result.stopped_early_ and len(result.losses_) < 100
    smoothed = result.smoothed_losses_
    assert smoothed[-1] > 3.0 * smoothed[:-1].min()
    assert np.all(smoothed[:-1] <= 3.0 * np.minimum.accumulate(smoothed[:-1]))
    # the rates stop where the curve stops, short of max_lr
    assert result.learning_rates_[-1] < 10.0


def test_a_non_finite_loss_stops_the_test(regression):
    X, y = regression
    with pytest.warns(UserWarning, match="below min_lr.*Lower min_lr"):
        result = lr_range_test(GradientRegressor(optimizer="gd"), X * 1e3, y, min_lr=1.0,
                               max_lr=1e10, num_steps=40, stop_factor=None)
    assert result.stopped_early_ and np.all(np.isfinite(result.losses_))
    assert len(result.losses_) < 40


def test_never_modifies_the_estimator(regression):
    X, y = regression
    reg = GradientRegressor(optimizer="adam", learning_rate=0.05, random_state=0)
    before = pickle.dumps(reg)
    lr_range_test(reg, X, y)
    assert pickle.dumps(reg) == before and not hasattr(reg, "coef_")
    reg.fit(X, y)
    fitted = pickle.dumps(reg)
    lr_range_test(reg, X, y)
    assert pickle.dumps(reg) == fitted


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_deterministic_for_a_random_state(regression, optimizer):
    X, y = regression
    reg = GradientRegressor(optimizer=optimizer, batch_size=16)
    a = lr_range_test(reg, X, y, random_state=3)
    b = lr_range_test(reg, X, y, random_state=3)
    c = lr_range_test(reg, X, y, random_state=4)
    assert_array_equal(a.losses_, b.losses_)
    assert a.suggestion_ == b.suggestion_
    assert not np.array_equal(a.losses_[:20], c.losses_[:20])
    # None uses the estimator's random_state
    d = lr_range_test(clone(reg).set_params(random_state=3), X, y)
    assert_array_equal(a.losses_, d.losses_)


def test_pipeline_transforms_X_with_its_first_steps(regression):
    X, y = regression
    reg = GradientRegressor(optimizer="momentum", batch_size=32, random_state=0)
    pipeline = make_pipeline(StandardScaler(), reg)
    a = lr_range_test(pipeline, X, y)
    b = lr_range_test(reg, StandardScaler().fit_transform(X), y)
    assert_array_equal(a.losses_, b.losses_)
    assert not hasattr(pipeline[0], "mean_")  # the pipeline was not fitted either


# (Adadelta's steps start at sqrt(eps) times the rate: the ramp ends before it learns.)
@pytest.mark.parametrize("optimizer", [name for name in OPTIMIZERS if name != "adadelta"])
def test_every_optimizer_learns_along_the_ramp(binary, optimizer):
    X, y = binary
    clf = GradientClassifier(optimizer=optimizer, batch_size=32, random_state=0,
                             max_grad_norm=10.0, weight_decay=1e-3, warmup_steps=5)
    result = lr_range_test(make_pipeline(StandardScaler(), clf), X, y)
    smoothed = result.smoothed_losses_
    assert np.all(np.isfinite(result.losses_))
    assert smoothed.min() < 0.75 * smoothed[0]  # it learned
    assert result.suggestion_ is not None and 1e-7 < result.suggestion_ < 10
    assert result.name_ == optimizer


def test_range_test_on_array_api_strict_equals_numpy(multiclass):
    X, y = multiclass
    clf = GradientClassifier(optimizer="rmsprop", batch_size=32)
    ref = lr_range_test(clf, X, y, random_state=0, num_steps=30)
    with config_context(array_api_dispatch=True):
        got = lr_range_test(clf, xps.asarray(X, device=DEVICE), xps.asarray(y, device=DEVICE),
                            random_state=0, num_steps=30)
    assert_allclose(got.losses_, ref.losses_, rtol=1e-10)


def test_sample_weights_and_class_weights_count(binary):
    X, y = binary
    clf = GradientClassifier(optimizer="gd", penalty=None)
    sw = np.where(y == 1, 3.0, 1.0)
    weighted = lr_range_test(clf, X, y, sample_weight=sw, num_steps=20)
    balanced = lr_range_test(clf.set_params(class_weight={0: 1.0, 1: 3.0}), X, y, num_steps=20)
    assert_allclose(weighted.losses_, balanced.losses_, rtol=1e-12)


def test_a_short_curve_still_suggests(regression):
    X, y = regression
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = lr_range_test(GradientRegressor(optimizer="gd"), X, y, num_steps=12)
    rates, smoothed = result.learning_rates_, result.smoothed_losses_
    assert len(rates) < 10 + 5  # fewer points than skipped: the whole curve counts
    assert result.suggestion_ == nearest_rate(rates, rates[np.argmin(smoothed)] / 7)


def test_no_point_no_suggestion(regression):
    X, y = regression
    with pytest.warns(UserWarning, match="no point.*Lower min_lr"):
        result = lr_range_test(GradientRegressor(optimizer="gd"), X * 1e150, y,
                               min_lr=1e100, max_lr=1e200)
    assert len(result.losses_) == 0 and result.suggestion_ is None


def objective_after(make, X, y, learning_rate):
    """The training objective (no penalty) after a 20-epoch fit at ``learning_rate``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = make(learning_rate=learning_rate).fit(X, y)
    if isinstance(est, GradientClassifier):
        return log_loss(y, est.predict_proba(X))
    return 0.5 * np.mean((est.predict(X) - y) ** 2)


def _noisy_regression(seed):
    X, y = make_regression(n_samples=160, n_features=6, noise=15.0, random_state=seed)
    return StandardScaler().fit_transform(X), y / y.std()


def _badly_scaled_classification(seed):
    X, y = make_classification(n_samples=160, n_features=5, flip_y=0.1, random_state=seed)
    return X * np.logspace(-1, 1, 5) + 1.0, y


@pytest.mark.parametrize("data, make", [
    (lambda: _noisy_regression(0), partial(GradientRegressor, optimizer="sgd", batch_size=8)),
    (lambda: _noisy_regression(1), partial(GradientRegressor, optimizer="gd")),
    (lambda: _noisy_regression(2), partial(GradientRegressor, optimizer="momentum",
                                           batch_size=1)),
    (lambda: _badly_scaled_classification(0), partial(GradientClassifier, optimizer="adam",
                                                      batch_size=16)),
    (lambda: _badly_scaled_classification(1), partial(GradientClassifier, optimizer="rmsprop",
                                                      batch_size=32)),
])
def test_a_fit_at_the_suggestion_is_near_the_best_of_a_grid(data, make):
    # The independent reference: 20-epoch fits at 13 rates, a half-decade apart.
    X, y = data()
    make = partial(make, penalty=None, max_iter=20, tol=None, random_state=0)
    grid = [objective_after(make, X, y, lr) for lr in np.logspace(-5, 1, 13)]
    suggestion = lr_range_test(make(), X, y).suggestion_
    assert objective_after(make, X, y, suggestion) <= 2.0 * min(grid)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("Estimator", [GradientRegressor, GradientClassifier])
def test_batch_size_one_gives_a_suggestion(Estimator, seed):
    # single-sample losses vary by orders of magnitude: each point of the curve
    # averages 32 of them, and the test runs on to where the loss blows up
    if Estimator is GradientRegressor:
        X, y = _noisy_regression(seed)
    else:
        X, y = _badly_scaled_classification(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to warn about
        result = lr_range_test(Estimator(optimizer="sgd", batch_size=1), X, y,
                               random_state=seed)
    assert result.suggestion_ is not None and len(result.losses_) > 50
    assert result.smoothed_losses_.min() < 0.9 * result.smoothed_losses_[0]  # it learned


def test_a_point_averages_the_losses_of_its_steps(regression):
    # batch_size=8: 4 steps per point; with a ramp that stays at one rate
    # (min_lr = max_lr is refused, so a ramp of tiny rates), the points are
    # the means of 4 consecutive single-batch losses of the ramp of 4x the steps
    X, y = regression
    reg = GradientRegressor(optimizer="sgd", batch_size=8, shuffle=False, penalty=None)
    with pytest.warns(UserWarning, match="lowest at the start"):  # a flat curve
        result = lr_range_test(reg, X, y, min_lr=1e-12, max_lr=2e-12, num_steps=10,
                               stop_factor=None, smoothing=0.0)
    rows = [(X[i:i + 8], y[i:i + 8]) for i in range(0, 120, 8)] * 3
    want = [np.mean([0.5 * np.mean(yb ** 2) for _, yb in rows[4 * t + 1:4 * t + 5]])
            for t in range(10)]
    assert_allclose(result.losses_, want, rtol=1e-6)


@pytest.mark.parametrize("min_lr, max_lr", [
    (1e-320, 10.0), (5e-324, 1.0), (1e-10, 1e308), (1e-300, 1e300), (1e-200, 1e200),
])
def test_a_ramp_whose_ratio_overflows_is_computed_in_log_space(regression, min_lr, max_lr):
    # max_lr / min_lr is beyond the floats (or close): the rates are still
    # geometric from min_lr, the curve runs until the loss blows up, and the
    # advice is that of the same ramp (4 points per decade) over 1e-7 to 10
    assert not np.isfinite(max_lr / min_lr) or max_lr / min_lr > 1e300
    X, y = regression
    reg = GradientRegressor(optimizer="sgd", batch_size=16, random_state=0)
    num_steps = int(4 * (np.log10(max_lr) - np.log10(min_lr))) + 1  # 4 per decade
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # fine enough: no warning
        result = lr_range_test(reg, X, y, min_lr=min_lr, max_lr=max_lr, num_steps=num_steps)
    rates = result.learning_rates_
    assert rates[0] == min_lr and len(rates) > 10 and result.stopped_early_
    want = (np.log(min_lr) + np.arange(len(rates))
            * (np.log(max_lr) - np.log(min_lr)) / (num_steps - 1))
    normal = rates >= np.finfo(float).tiny  # subnormal rates carry fewer bits
    assert_allclose(np.log(rates[normal]), want[normal], rtol=1e-12, atol=1e-9)
    assert_allclose(np.log(rates), want, rtol=1e-3, atol=1e-6)
    usual = lr_range_test(reg, X, y, min_lr=1e-7, max_lr=10.0, num_steps=33)
    assert result.suggestion_ == pytest.approx(usual.suggestion_, rel=1.0)  # within 2x


@pytest.mark.parametrize("min_lr, max_lr, num_steps", [
    (1e-320, 10.0, 100), (1e-10, 1e308, 300), (1e-3, 1e3, 5),
])
def test_a_coarse_ramp_warns(regression, min_lr, max_lr, num_steps):
    X, y = regression
    with pytest.warns(UserWarning, match="The ramp is coarse.*Narrow the range or raise "
                                         "num_steps"):
        result = lr_range_test(GradientRegressor(optimizer="gd"), X, y, min_lr=min_lr,
                               max_lr=max_lr, num_steps=num_steps)
    assert len(result.losses_) > 1 and result.suggestion_ is not None


def test_a_fine_ramp_over_the_default_range_does_not_warn(regression):
    X, y = regression
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lr_range_test(GradientRegressor(optimizer="gd"), X, y, min_lr=1e-7, max_lr=10.0,
                      num_steps=9)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"min_lr": 1.0, "max_lr": 0.1}, ValueError, "min_lr must be smaller"),
    ({"num_steps": 1}, ValueError, "'num_steps' parameter"),
    ({"smoothing": 1.0}, ValueError, "'smoothing' parameter"),
    ({"stop_factor": 1.0}, ValueError, "'stop_factor' parameter"),
])
def test_bad_arguments_are_rejected(regression, kwargs, error, match):
    X, y = regression
    with pytest.raises(error, match=match):
        lr_range_test(GradientRegressor(), X, y, **kwargs)


def test_other_estimators_are_rejected(regression):
    X, y = regression
    with pytest.raises(TypeError, match="needs an estimator of sk_gradopt.*LinearRegression"):
        lr_range_test(make_pipeline(StandardScaler(), LinearRegression()), X, y)


# ------------------------------------------------------------------ dask

@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
        dashboard_address=None,
    ) as cluster, distributed.Client(cluster) as client:
        yield client


def _dask_case(name):
    X, y = make_classification(n_samples=240, n_features=5, random_state=3)
    sw = np.random.default_rng(3).uniform(0.5, 2.0, 240)
    Xr, yr = make_regression(n_samples=240, n_features=5, noise=10.0, random_state=4)
    yr = yr / yr.std()
    cases = {  # estimator, X, y, sample_weight, rows per block
        "gd": (GradientRegressor(optimizer="gd"), Xr, yr, None, 70),
        "sgd-b8": (GradientRegressor(optimizer="sgd", batch_size=8, shuffle=False),
                   Xr, yr, None, 40),
        "momentum-b1": (GradientRegressor(optimizer="momentum", batch_size=1, shuffle=False),
                        Xr, yr, None, 60),
        "adam-b20-weighted": (GradientClassifier(optimizer="adam", batch_size=20,
                                                 shuffle=False), X, y, sw, 80),
        "rmsprop-gd-classes": (GradientClassifier(optimizer="gd", max_grad_norm=1.0),
                               X, np.array(["no", "yes"], dtype=object)[y], sw, 50),
    }
    return cases[name]


@pytest.mark.parametrize("name", ["gd", "sgd-b8", "momentum-b1", "adam-b20-weighted",
                                  "rmsprop-gd-classes"])
def test_range_test_on_dask_equals_in_memory(dask_client, name):
    da = pytest.importorskip("dask.array")
    est, X, y, sw, rows = _dask_case(name)
    ref = lr_range_test(est, X, y, sample_weight=sw, random_state=0, num_steps=30,
                        skip_start=3)
    chunked = [None if a is None else da.from_array(a, chunks=rows if a.ndim == 1 else (rows, -1))
               for a in (X, y, sw)]
    got = lr_range_test(est, *chunked[:2], sample_weight=chunked[2], random_state=0,
                        num_steps=30, skip_start=3)
    assert_allclose(got.learning_rates_, ref.learning_rates_, rtol=1e-14)
    assert_allclose(got.losses_, ref.losses_, rtol=1e-9)
    assert_allclose(got.smoothed_losses_, ref.smoothed_losses_, rtol=1e-9)
    assert got.suggestion_ == ref.suggestion_ and got.stopped_early_ == ref.stopped_early_


@pytest.mark.parametrize("name", ["gd", "sgd-b8"])
def test_range_test_on_dask_does_bounded_work_per_step(dask_client, name, monkeypatch):
    # every compute of the test has a graph of the same size, however many
    # steps came before (the lazy path's graphs grew with every step)
    da = pytest.importorskip("dask.array")
    from sk_gradopt import _dask

    sizes = []
    compute = _dask._compute

    def recording(*values):
        sizes.append(sum(len(v.__dask_graph__()) for v in values))
        return compute(*values)

    monkeypatch.setattr(_dask, "_compute", recording)
    est, X, y, _, rows = _dask_case(name)
    Xd, yd = da.from_array(X, chunks=(rows, -1)), da.from_array(y, chunks=rows)
    result = lr_range_test(est, Xd, yd, num_steps=24, stop_factor=None, random_state=0)
    steps = sizes[-len(result.losses_) // 2:]  # the computes of the second half
    assert len(sizes) >= len(result.losses_) // 2 and len(set(steps)) == 1


# ---------------------------------------------------------------- display

def test_display_draws_the_curve_on_a_log_axis(regression):
    X, y = regression
    reg = GradientRegressor(optimizer="sgd", batch_size=16, random_state=0)
    result = lr_range_test(reg, X, y)
    display = LRRangeTestDisplay.from_result(result)
    assert isinstance(display, LRRangeTestDisplay)
    assert_array_equal(display.line_.get_xdata(), result.learning_rates_)
    assert_array_equal(display.line_.get_ydata(), result.smoothed_losses_)
    assert_array_equal(display.raw_line_.get_ydata(), result.losses_)
    assert display.suggestion_marker_.get_xdata()[0] == result.suggestion_
    assert display.ax_.get_xscale() == "log"
    assert display.figure_ is display.ax_.figure
    assert [t.get_text() for t in display.ax_.get_legend().get_texts()] == ["sgd"]


def test_display_from_estimator_and_several_on_one_axes(regression):
    X, y = regression
    _, ax = plt.subplots()
    for optimizer in ("sgd", "adam"):
        display = LRRangeTestDisplay.from_estimator(
            GradientRegressor(optimizer=optimizer, batch_size=16), X, y, ax=ax,
            random_state=0, raw=False, log_scale=True)
    assert display.ax_ is ax and display.raw_line_ is None
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["sgd", "adam"]
    assert ax.get_yscale() == "log"


def test_display_checks_its_curves():
    with pytest.raises(ValueError, match="losses has 2 values but there are 3"):
        LRRangeTestDisplay([1e-3, 1e-2, 1e-1], [1.0, 0.5]).plot()
    display = LRRangeTestDisplay([1e-3, 1e-2], [1.0, 0.5], name="mine").plot(suggestion=True)
    assert display.suggestion_marker_ is None and display.raw_line_ is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert display.line_.get_label() == "mine"
