"""Behaviour of GradientRegressor and GradientClassifier against independent references."""

import pickle
import re
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression, Ridge, SGDClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight

from sk_gradopt import OPTIMIZERS, GradientClassifier, GradientRegressor
from sk_gradopt._losses import get_loss
from sk_gradopt._tree import tree_leaves


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=120, n_features=6, noise=5.0, random_state=0)
    return StandardScaler().fit_transform(X), y / y.std()


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def multiclass():
    X, y = make_classification(n_samples=240, n_features=6, n_informative=4,
                               n_classes=3, random_state=0)
    return StandardScaler().fit_transform(X), y


def gd(Estimator, **params):
    return Estimator(optimizer="gd", tol=None, **params)


# ------------------------------------------------------------------ references

def test_gd_l2_converges_to_ridge(regression):
    X, y = regression
    alpha = 0.01
    reg = gd(GradientRegressor, learning_rate=0.5, alpha=alpha, max_iter=2000).fit(X, y)
    ref = Ridge(alpha=alpha * X.shape[0]).fit(X, y)
    assert_allclose(reg.coef_, ref.coef_, atol=1e-10)
    assert_allclose(reg.intercept_[0], ref.intercept_, atol=1e-10)


def test_gd_l1_converges_to_lasso_with_exact_zeros(regression):
    X, y = regression
    reg = gd(GradientRegressor, learning_rate=0.5, penalty="l1", alpha=0.3,
             max_iter=2000).fit(X, y)
    ref = Lasso(alpha=0.3, tol=1e-14, max_iter=100_000).fit(X, y)
    assert_allclose(reg.coef_, ref.coef_, atol=1e-9)
    assert np.sum(ref.coef_ == 0) > 0
    assert_array_equal(reg.coef_ == 0, ref.coef_ == 0)


def test_gd_elasticnet_converges_to_elasticnet(regression):
    X, y = regression
    reg = gd(GradientRegressor, learning_rate=0.5, penalty="elasticnet", alpha=0.2,
             l1_ratio=0.6, max_iter=2000).fit(X, y)
    ref = ElasticNet(alpha=0.2, l1_ratio=0.6, tol=1e-14, max_iter=100_000).fit(X, y)
    assert_allclose(reg.coef_, ref.coef_, atol=1e-9)


@pytest.mark.parametrize("data", ["binary", "multiclass"])
def test_gd_log_loss_converges_to_logistic_regression(data, request):
    X, y = request.getfixturevalue(data)
    alpha = 0.01
    clf = gd(GradientClassifier, learning_rate=1.0, alpha=alpha, max_iter=4000).fit(X, y)
    ref = LogisticRegression(C=1 / (alpha * X.shape[0]), tol=1e-12, max_iter=10_000).fit(X, y)
    assert_allclose(clf.coef_, ref.coef_, atol=1e-6)
    assert_allclose(clf.intercept_, ref.intercept_, atol=1e-6)
    assert_allclose(clf.predict_proba(X), ref.predict_proba(X), atol=1e-6)


def test_full_batch_adam_converges_to_ridge(regression):
    X, y = regression
    reg = GradientRegressor(optimizer="adam", learning_rate=0.01, batch_size=10_000,
                            alpha=0.01, tol=None, max_iter=3000).fit(X, y)
    ref = Ridge(alpha=0.01 * X.shape[0]).fit(X, y)
    assert_allclose(reg.coef_, ref.coef_, atol=1e-4)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "rmsprop", "adam"])
def test_mini_batch_optimizers_get_close_to_ridge(regression, optimizer):
    X, y = regression
    lr = {"sgd": 0.03, "momentum": 0.003, "rmsprop": 0.01, "adam": 0.01}[optimizer]
    reg = GradientRegressor(optimizer=optimizer, learning_rate=lr, batch_size=16,
                            schedule="cosine", alpha=0.01, tol=None, max_iter=200,
                            random_state=0).fit(X, y)
    ref = Ridge(alpha=0.01 * X.shape[0]).fit(X, y)
    assert_allclose(reg.coef_, ref.coef_, atol=1e-3)


def test_multi_output_regression_matches_ridge_per_target(regression):
    X, y = regression
    Y = np.column_stack([y, -2 * y + 1])
    reg = gd(GradientRegressor, learning_rate=0.5, alpha=0.01, max_iter=2000).fit(X, Y)
    ref = Ridge(alpha=0.01 * X.shape[0]).fit(X, Y)
    assert reg.coef_.shape == (2, X.shape[1]) and reg.intercept_.shape == (2,)
    assert_allclose(reg.coef_, ref.coef_, atol=1e-10)
    assert reg.predict(X).shape == (X.shape[0], 2)


@pytest.mark.parametrize("loss", ["squared_error", "huber", "epsilon_insensitive",
                                  "log_loss", "hinge", "modified_huber"])
def test_loss_gradients_match_finite_differences(loss):
    rng = np.random.default_rng(0)
    raw = rng.normal(size=(50, 3)) * 2
    if loss in ("squared_error", "huber", "epsilon_insensitive"):
        Y = rng.normal(size=(50, 3))
    elif loss == "log_loss":  # multinomial: one-hot rows
        Y = np.eye(3)[rng.integers(0, 3, 50)]
    else:
        Y = np.where(rng.random((50, 3)) < 0.5, -1.0, 1.0)
    fn = get_loss(loss, epsilon=0.3, n_classes=3)
    _, grad = fn(Y, raw)
    h = 1e-6
    numeric = np.empty_like(raw)
    for j in range(3):
        step = np.zeros_like(raw)
        step[:, j] = h
        numeric[:, j] = (fn(Y, raw + step)[0] - fn(Y, raw - step)[0]) / (2 * h)
    assert_allclose(grad, numeric, atol=1e-5)


def test_binary_log_loss_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    raw = rng.normal(size=(40, 1)) * 3
    T = np.where(rng.random((40, 1)) < 0.5, -1.0, 1.0)
    fn = get_loss("log_loss", n_classes=2)
    loss, grad = fn(T, raw)
    assert_allclose(loss, np.log1p(np.exp(-T[:, 0] * raw[:, 0])))
    numeric = (fn(T, raw + 1e-6)[0] - fn(T, raw - 1e-6)[0]) / 2e-6
    assert_allclose(grad[:, 0], numeric, atol=1e-6)


def test_modified_huber_proba_follows_sgdclassifier_formula(multiclass):
    X, y = multiclass
    clf = GradientClassifier(loss="modified_huber", random_state=0, max_iter=50).fit(X, y)
    scores = clf.decision_function(X)
    prob = (np.clip(scores, -1, 1) + 1) / 2
    total = prob.sum(axis=1, keepdims=True)
    expected = np.where(total > 0, prob / np.where(total > 0, total, 1), 1 / 3)
    assert_allclose(clf.predict_proba(X), expected)
    assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)


def test_hinge_has_no_predict_proba(binary):
    clf = GradientClassifier(loss="hinge")
    assert not hasattr(clf, "predict_proba")
    with pytest.raises(AttributeError) as error:
        clf.predict_proba
    assert "use loss='log_loss'" in str(error.value.__cause__)


@pytest.mark.parametrize("loss", ["hinge", "modified_huber", "log_loss"])
def test_classifier_accuracy_close_to_sgdclassifier(binary, loss):
    X, y = binary
    ours = GradientClassifier(loss=loss, random_state=0).fit(X, y).score(X, y)
    ref = SGDClassifier(loss=loss, random_state=0).fit(X, y).score(X, y)
    assert ours >= ref - 0.03


# ------------------------------------------------------- determinism, weights

@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_same_random_state_is_bit_identical(regression, optimizer):
    X, y = regression
    fits = [GradientRegressor(optimizer=optimizer, batch_size=16, max_iter=20,
                              random_state=3).fit(X, y) for _ in range(2)]
    assert_array_equal(fits[0].coef_, fits[1].coef_)
    assert fits[0].loss_curve_ == fits[1].loss_curve_


def test_different_random_states_shuffle_differently(regression):
    X, y = regression
    a, b = (GradientRegressor(optimizer="sgd", batch_size=8, max_iter=3, tol=None,
                              random_state=s).fit(X, y) for s in (0, 1))
    assert not np.array_equal(a.coef_, b.coef_)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_partial_fit_k_times_equals_fit_with_max_iter_k(regression, optimizer):
    X, y = regression
    params = dict(optimizer=optimizer, batch_size=16, random_state=0, schedule="invscaling")
    fitted = GradientRegressor(max_iter=4, tol=None, **params).fit(X, y)
    online = GradientRegressor(**params)
    for _ in range(4):
        online.partial_fit(X, y)
    assert_array_equal(online.coef_, fitted.coef_)
    assert_array_equal(online.intercept_, fitted.intercept_)
    assert online.t_ == fitted.t_ == (4 if optimizer == "gd" else 4 * 8)
    assert online.loss_curve_ == fitted.loss_curve_


def test_classifier_partial_fit_equals_fit(multiclass):
    X, y = multiclass
    params = dict(optimizer="momentum", batch_size=32, random_state=0)
    fitted = GradientClassifier(max_iter=3, tol=None, **params).fit(X, y)
    online = GradientClassifier(**params)
    for _ in range(3):
        online.partial_fit(X, y, classes=np.unique(y))
    assert_array_equal(online.coef_, fitted.coef_)


def test_integer_sample_weight_equals_repeated_rows(regression):
    X, y = regression
    w = np.random.default_rng(0).integers(0, 4, X.shape[0])
    Xr, yr = np.repeat(X, w, axis=0), np.repeat(y, w)
    params = dict(learning_rate=0.3, max_iter=50, alpha=0.001)
    weighted = gd(GradientRegressor, **params).fit(X, y, sample_weight=w)
    repeated = gd(GradientRegressor, **params).fit(Xr, yr)
    assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-10)
    assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-10)


def test_class_weight_balanced_equals_balanced_sample_weight():
    X, y = make_classification(200, 4, weights=[0.8], random_state=0)
    a = gd(GradientClassifier, class_weight="balanced", max_iter=30).fit(X, y)
    b = gd(GradientClassifier, max_iter=30).fit(
        X, y, sample_weight=compute_sample_weight("balanced", y))
    assert_allclose(a.coef_, b.coef_, rtol=1e-12)


def test_float32_stays_float32(regression):
    X, y = regression
    reg = GradientRegressor(max_iter=5).fit(X.astype(np.float32), y.astype(np.float32))
    assert reg.coef_.dtype == np.float32 and reg.intercept_.dtype == np.float32
    assert reg.predict(X.astype(np.float32)).dtype == np.float32


def test_coef_init_intercept_init_and_warm_start(regression):
    X, y = regression
    ref = Ridge(alpha=0.01 * X.shape[0]).fit(X, y)
    # Starting at the optimum, gradient descent stays there.
    reg = gd(GradientRegressor, alpha=0.01, max_iter=3).fit(
        X, y, coef_init=ref.coef_, intercept_init=ref.intercept_)
    assert_allclose(reg.coef_, ref.coef_, atol=1e-12)
    # warm_start continues from the previous coefficients.
    reg = gd(GradientRegressor, alpha=0.01, learning_rate=0.5, max_iter=1000, warm_start=True)
    reg.fit(X, y)
    reg.set_params(max_iter=1).fit(X, y)
    assert_allclose(reg.coef_, ref.coef_, atol=1e-10)
    assert reg.n_iter_ == 1


def test_pickle_round_trip(binary):
    X, y = binary
    clf = GradientClassifier(random_state=0, max_iter=20).fit(X, y)
    clone = pickle.loads(pickle.dumps(clf))
    assert_array_equal(clone.predict_proba(X), clf.predict_proba(X))


# -------------------------------------------------------- stopping rules

def test_early_stopping_keeps_best_validation_weights(binary):
    X, y = binary
    params = dict(optimizer="sgd", learning_rate=2.0, batch_size=4, early_stopping=True,
                  validation_fraction=0.2, tol=None, random_state=0)
    clf = GradientClassifier(max_iter=15, **params).fit(X, y)
    assert len(clf.validation_loss_curve_) == clf.n_iter_ == len(clf.loss_curve_) == 15
    assert clf.best_loss_ == min(clf.validation_loss_curve_)
    best_epoch = int(np.argmin(clf.validation_loss_curve_))
    assert best_epoch < 14  # the last epoch is not the best: weights were rolled back
    # The same run stopped right after its best epoch ends with those weights.
    stopped = GradientClassifier(max_iter=best_epoch + 1, **params).fit(X, y)
    assert_array_equal(clf.coef_, stopped.coef_)


def test_tol_stops_before_max_iter_and_max_iter_warns(regression):
    X, y = regression
    reg = GradientRegressor(optimizer="gd", learning_rate=0.5, tol=1e-3).fit(X, y)
    assert reg.n_iter_ < reg.max_iter
    with pytest.warns(ConvergenceWarning, match=r"max_iter=3.*learning_rate=0\.001"):
        GradientRegressor(optimizer="gd", learning_rate=0.001, max_iter=3).fit(X, y)


def test_adaptive_schedule_keeps_going_where_constant_stops(regression):
    X, y = regression
    params = dict(optimizer="sgd", learning_rate=0.2, batch_size=4, random_state=0, max_iter=200)
    constant = GradientRegressor(**params).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        adaptive = GradientRegressor(schedule="adaptive", **params).fit(X, y)
    assert adaptive.n_iter_ > constant.n_iter_
    assert adaptive.loss_curve_[-1] < constant.loss_curve_[-1]


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("Estimator", [GradientRegressor, GradientClassifier])
def test_diverging_fit_keeps_finite_weights_and_warns(regression, optimizer, Estimator):
    X, y = regression
    if Estimator is GradientClassifier:
        y = (y > 0).astype(int)
    est = Estimator(optimizer=optimizer, learning_rate=1e4, max_iter=20, random_state=0)
    with pytest.warns(ConvergenceWarning, match=r"diverged.*learning_rate=10000\.0"):
        est.fit(X * 100, y * 100 if Estimator is GradientRegressor else y)
    assert np.isfinite(est.coef_).all() and np.isfinite(est.intercept_).all()
    assert np.isfinite(est.loss_curve_).all() and np.isfinite(est.best_loss_)
    # The kept weights are no worse than where the fit started (zeros), by the
    # objective computed here from its definition.
    raw = X * 100 @ np.ravel(est.coef_) + est.intercept_[0]
    if Estimator is GradientRegressor:
        start, data = np.mean((y * 100) ** 2) / 2, np.mean((raw - y * 100) ** 2) / 2
    else:
        start, data = np.log(2), np.mean(np.logaddexp(0, -np.where(y == 1, 1, -1) * raw))
    assert data + 0.0001 * np.sum(est.coef_**2) / 2 <= start * (1 + 1e-12)


# -------------------------------------------------------------- bad input

@pytest.mark.parametrize("Estimator", [GradientRegressor, GradientClassifier])
@pytest.mark.parametrize("param, value, message", [
    ("optimizer", "newton", "'optimizer' parameter .* must be a str among .*adam"),
    ("schedule", "step", "'schedule' parameter .* must be a str among .*cosine"),
    ("learning_rate", -0.1, "'learning_rate' parameter .* range \\(0.0, inf\\)"),
    ("loss", "nope", "'loss' parameter .* must be a str among"),
    ("batch_size", 0, "'batch_size' parameter"),
])
def test_bad_parameters_name_the_valid_choices(Estimator, param, value, message, binary):
    X, y = binary
    with pytest.raises(ValueError, match=message):
        Estimator(**{param: value}).fit(X, y)


@pytest.mark.parametrize("Estimator", [GradientRegressor, GradientClassifier])
def test_bad_data_is_rejected_clearly(Estimator, binary):
    X, y = binary
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        Estimator().fit(X_nan, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        Estimator().fit(X, y[:-1])
    y_inf = y.astype(float)
    y_inf[0] = np.inf
    if Estimator is GradientRegressor:
        with pytest.raises(ValueError, match="Input y contains infinity"):
            Estimator().fit(X, y_inf)


def test_single_class_and_partial_fit_errors(binary):
    X, y = binary
    with pytest.raises(ValueError, match="at least 2 classes"):
        GradientClassifier().fit(X, np.zeros_like(y))
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        GradientClassifier().partial_fit(X, y)
    clf = GradientClassifier().partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match=re.escape("labels [2] that are not in classes")):
        clf.partial_fit(X, np.full_like(y, 2))
    with pytest.raises(ValueError, match="'balanced' is not supported by partial_fit"):
        GradientClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1])


def test_string_labels(binary):
    X, y = binary
    labels = np.array(["no", "yes"])[y]
    clf = GradientClassifier(random_state=0).fit(X, labels)
    assert_array_equal(clf.classes_, ["no", "yes"])
    assert set(clf.predict(X)) <= {"no", "yes"}
    assert clf.score(X, labels) > 0.8


def test_verbose_prints_one_line_per_epoch(regression, capsys):
    X, y = regression
    reg = GradientRegressor(optimizer="sgd", schedule="invscaling", max_iter=4, tol=None,
                            verbose=1).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == reg.n_iter_ == 4
    first_loss = float(re.search(r"loss = ([0-9.]+)", lines[0]).group(1))
    assert first_loss == pytest.approx(reg.loss_curve_[0], rel=1e-7)
    # invscaling: the learning rate printed is the one of the epoch's last step.
    last_lr = float(re.search(r"learning_rate = ([0-9.e-]+)", lines[-1]).group(1))
    assert last_lr == pytest.approx(0.01 / reg.t_ ** 0.25, rel=1e-3)


def test_stopping_on_an_overshoot_keeps_the_best_weights_seen():
    # Momentum with a large step oscillates; the rule stops it on an overshoot.
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, 100)
    y = 2 * x + 1 + rng.normal(0, 0.5, 100)
    reg = GradientRegressor(optimizer="momentum", learning_rate=0.1, penalty=None,
                            random_state=0).fit(x[:, None], y)
    assert reg.n_iter_ < reg.max_iter
    assert reg.loss_curve_[-1] > 2 * min(reg.loss_curve_)  # it did stop on an overshoot
    # Full batch: loss_curve_ holds exact objectives; the kept weights have the best.
    kept = np.mean((x * reg.coef_[0] + reg.intercept_[0] - y) ** 2) / 2
    assert kept == pytest.approx(min(reg.loss_curve_), rel=1e-12)


def test_partial_fit_detects_divergence_like_fit(regression):
    X, y = regression
    params = dict(optimizer="gd", learning_rate=10.0, random_state=0)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        fitted = GradientRegressor(max_iter=3, tol=None, **params).fit(X, y)
    online = GradientRegressor(**params)
    for _ in range(3):
        with pytest.warns(ConvergenceWarning, match="diverged"):
            online.partial_fit(X, y)
    assert_array_equal(online.coef_, fitted.coef_)
    assert_array_equal(online.coef_, np.zeros(X.shape[1]))  # where both started


def test_partial_fit_catches_a_slow_blow_up_against_where_it_started(regression):
    # Each call grows the objective by less than the divergence factor: only the
    # comparison with the first call's starting objective catches it.
    X, y = regression
    online = GradientRegressor(optimizer="gd", learning_rate=0.9, penalty=None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        for _ in range(30):
            online.partial_fit(X * 1.5, y)
    assert any("diverged" in str(w.message) for w in caught)
    start = np.mean(y**2) / 2
    assert np.mean((X * 1.5 @ online.coef_ + online.intercept_ - y) ** 2) / 2 <= 10 * start


def test_numpy_scalar_hyperparameters_keep_float32(regression):
    # RandomizedSearchCV hands over NumPy scalars; they must not upcast float32.
    X, y = regression
    reg = GradientRegressor(optimizer="adam", learning_rate=np.float64(0.01),
                            beta_1=np.float64(0.9), alpha=np.float64(1e-4), max_iter=3)
    reg.fit(X.astype(np.float32), y.astype(np.float32))
    assert reg.coef_.dtype == np.float32
    assert all(a.dtype == np.float32 for a in tree_leaves(reg._opt_state[1:]))


def test_partial_fit_on_a_stream_whose_scale_changes_is_not_divergence():
    # Later batches with larger targets: a fine fit, not a divergence.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 5))
    y = X @ np.arange(1.0, 6.0)
    order = np.argsort(np.abs(y))
    reg = GradientRegressor(optimizer="sgd", learning_rate=0.05, batch_size=10, penalty=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        for chunk in np.array_split(np.concatenate([order, order]), 20):
            reg.partial_fit(X[chunk], y[chunk])
    assert_allclose(reg.coef_, np.arange(1.0, 6.0), atol=0.05)


def test_inconsistent_partial_fit_and_init_shapes_are_rejected(regression, multiclass):
    X, y = regression
    Y2 = np.column_stack([y, y])
    reg = GradientRegressor().partial_fit(X, Y2)
    with pytest.raises(ValueError, match=r"fitted on 2 targets"):
        reg.partial_fit(X, np.column_stack([y, y, y]))
    with pytest.raises(ValueError, match=r"coef_init has shape \(6, 2\); expected \(2, 6\)"):
        GradientRegressor().fit(X, Y2, coef_init=np.zeros((6, 2)))
    Xc, yc = multiclass
    clf = GradientClassifier().partial_fit(Xc, yc, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="not the same as on the first call"):
        clf.partial_fit(Xc, yc, classes=[0, 1, 2, 3])


def test_warm_start_without_intercept_drops_the_old_intercept(regression):
    X, y = regression
    reg = GradientRegressor(optimizer="gd", learning_rate=0.5, warm_start=True).fit(X, y + 5)
    assert reg.intercept_[0] > 4
    reg.set_params(fit_intercept=False, max_iter=1).fit(X, y + 5)
    assert reg.intercept_[0] == 0.0


def test_early_stopping_with_zero_weight_validation_part_is_a_clear_error(binary):
    X, y = binary
    with pytest.raises(ValueError, match="only samples of zero weight"):
        GradientClassifier(early_stopping=True).fit(X, y, sample_weight=np.zeros(len(y)) + (
            np.arange(len(y)) == 0))
