"""The divergence guard judges from what the epochs compute, with exact passes only where needed.

A healthy fit makes no pass over all its rows beyond its epochs (the zero
model's objective needs no pass over X). The guarantees hold all the same: a
blow-up of the last step, which no epoch measured, is caught by the probe of
the final weights; a fit that diverges from a random start keeps the start,
with its exact objective; data on which the start overflows is refused.
"""

import warnings

import array_api_compat.numpy as xp
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import sk_gradopt._training as training
from sk_gradopt import (
    GradientClassifier,
    GradientMLPClassifier,
    GradientMLPRegressor,
    GradientRegressor,
)
from sk_gradopt._epoch import Config, Data
from sk_gradopt._losses import get_loss
from sk_gradopt._models import init_linear, linear_model
from sk_gradopt._optimizers import make_optimizer
from sk_gradopt._penalties import Penalty
from sk_gradopt._training import Progress, train


def _data(n=6000, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n)


@pytest.fixture
def passes(monkeypatch):
    """The objectives computed by the loop: (rows, at the zero model?) per call."""
    calls = []
    real = training.objective

    def spy(config, data, params, **kwargs):
        calls.append((data.n_samples, params is None))
        return real(config, data, params, **kwargs)

    monkeypatch.setattr(training, "objective", spy)
    return calls


@pytest.mark.parametrize("make", [
    lambda: GradientMLPRegressor(hidden_layer_sizes=(8,), batch_size=64, max_iter=2,
                                 tol=None, random_state=0),
    lambda: GradientRegressor(optimizer="adam", batch_size=32, max_iter=2, tol=None,
                              random_state=0),
], ids=["mlp", "linear"])
def test_a_healthy_fit_makes_no_pass_over_all_the_rows_beyond_its_epochs(make, passes):
    X, y = _data(n=20_000)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = make().fit(X, y)
        est.partial_fit(X, y)
    full = [zero for rows, zero in passes if rows == X.shape[0]]
    assert full and all(full)  # only the zero model's, once per call: no pass over X
    assert all(rows < X.shape[0] / 4 for rows, zero in passes if not zero)  # the probes


def _linear_config(schedule, max_iter):
    return Config(
        model=linear_model(), loss_fn=get_loss("squared_error"),
        penalty=Penalty.from_params(None, 0.0, 0.0), optimizer=make_optimizer("sgd"),
        learning_rate=0.01, schedule=schedule, power_t=0.5,
        max_iter=max_iter, batch_size=100, shuffle=False, tol=None, n_iter_no_change=5,
    )


def test_a_blow_up_of_the_last_step_is_caught_by_the_probe(passes):
    # No epoch measures the weights after the last step: a schedule whose
    # last step is enormous leaves finite, useless weights that only the
    # probe of the final weights can see.
    X, y = _data()
    n_steps = 2 * X.shape[0] // 100
    config = _linear_config(lambda step: 1e9 if step == n_steps - 1 else 1.0, max_iter=2)
    params = init_linear(X.shape[1], 1, fit_intercept=True, xp=xp, dtype=X.dtype, device=None)
    progress = Progress.start(params, config.optimizer, False)
    data = Data(X, y[:, None], None, float(X.shape[0]))
    with pytest.warns(ConvergenceWarning, match="diverged"):
        result = train(data, None, progress, config, rng=np.random.RandomState(0),
                       n_epochs=2, stopping=False, zero_init=True)
    assert (X.shape[0], False) in passes  # the probe looked diverged: the exact check
    coef, intercept = result.params[0]
    objective = np.mean((X @ coef[:, 0] + intercept[0] - y) ** 2) / 2
    assert np.isfinite(objective) and objective < np.mean(y**2) / 2  # the weights kept
    # The same fit without the blow-up: no warning, and no exact pass over X.
    passes.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        train(data, None, progress, _linear_config("constant", 2),
              rng=np.random.RandomState(0), n_epochs=2, stopping=False, zero_init=True)
    assert (X.shape[0], False) not in passes


def test_a_fit_that_diverges_from_a_random_start_keeps_it_with_its_exact_objective():
    X, y = _data(n=300)
    est = GradientMLPRegressor(hidden_layer_sizes=(4,), optimizer="sgd", learning_rate=1e6,
                               batch_size=300, max_iter=1, alpha=0.0, random_state=0)
    start = GradientMLPRegressor(hidden_layer_sizes=(4,), optimizer="sgd",
                                 learning_rate=1e-300, batch_size=300, max_iter=1, alpha=0.0,
                                 random_state=0)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        est.fit(X * 100, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start.fit(X * 100, y)
    for kept, initial in zip(est.coefs_ + est.intercepts_, start.coefs_ + start.intercepts_):
        np.testing.assert_array_equal(kept, initial)
    (W1, W2), (b1, b2) = est.coefs_, est.intercepts_
    hidden = np.maximum(X * 100 @ W1 + b1, 0.0)
    objective = np.mean((hidden @ W2[:, 0] + b2[0] - y) ** 2) / 2
    assert est.best_loss_ == pytest.approx(objective, rel=1e-12)


def test_data_on_which_a_random_start_overflows_is_refused(passes):
    X, y = _data(n=300)
    est = GradientMLPRegressor(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    with pytest.raises(ValueError, match="initial weights is not finite.*StandardScaler"):
        est.fit(X * 1e300, y)
    assert not hasattr(est, "coefs_")


# ----------------------------------------- NaN and infinity in X, found late


ESTIMATORS = {
    **{f"reg-{loss}": (GradientRegressor, dict(loss=loss))
       for loss in ("squared_error", "huber", "epsilon_insensitive")},
    **{f"clf-{loss}": (GradientClassifier, dict(loss=loss))
       for loss in ("log_loss", "hinge", "modified_huber")},
    "clf3-log_loss": (GradientClassifier, dict(loss="log_loss")),
    "reg-gd-auto": (GradientRegressor, dict(optimizer="gd", learning_rate="auto")),
    "mlp-reg-relu": (GradientMLPRegressor, dict(hidden_layer_sizes=(6,))),
    "mlp-clf-tanh": (GradientMLPClassifier, dict(hidden_layer_sizes=(6,), activation="tanh")),
    "reg-early-stopping": (GradientRegressor, dict(early_stopping=True, n_iter_no_change=2)),
}


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "reference"])
@pytest.mark.parametrize("partial", [False, True], ids=["fit", "partial_fit"])
@pytest.mark.parametrize("name", ESTIMATORS)
def test_nan_or_infinity_anywhere_in_X_is_refused_with_sklearns_message(name, partial,
                                                                        compiled, value):
    # X is not checked before the epochs: a NaN or an infinity always comes
    # out non-finite in the loss or in the weights (inf * 0 is NaN), where
    # the loop checks X. The fit is refused all the same, leaving nothing.
    Estimator, params = ESTIMATORS[name]
    X, y = _data(n=120)
    if Estimator in (GradientClassifier, GradientMLPClassifier):
        y = np.digitize(y, [0.0] if name != "clf3-log_loss" else [-1.0, 1.0])
    row, column = np.random.default_rng(len(name)).integers([120, 5])
    X[row, column] = value
    est = Estimator(batch_size=16, max_iter=5, random_state=0, **params)
    classes = np.unique(y) if Estimator in (GradientClassifier, GradientMLPClassifier) else None
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        est._fit(X, y, partial=partial, classes=classes if partial else None,
                 compiled=compiled)
    assert not hasattr(est, "n_iter_")


def test_a_nan_in_the_validation_rows_only_is_refused():
    X, y = _data(n=200)
    config = _linear_config("constant", 3)
    params = init_linear(5, 1, fit_intercept=True, xp=xp, dtype=X.dtype, device=None)
    progress = Progress.start(params, config.optimizer, True)
    X_val = X[150:].copy()
    X_val[3, 2] = np.nan
    refused = []

    def check_input():
        refused.append(1)
        raise ValueError("Input X contains NaN.")

    with pytest.raises(ValueError, match="contains NaN"):
        train(Data(X[:150], y[:150, None], None, 150.0),
              Data(X_val, y[150:, None], None, 50.0), progress, config,
              rng=np.random.RandomState(0), n_epochs=3, stopping=True, zero_init=True,
              check_input=check_input)
    assert refused == [1]


def test_the_range_test_refuses_nan_in_X():
    # It drives the fit's preparation, which no longer checks X before the
    # loop: it must check X itself.
    from sk_gradopt import lr_range_test

    X, y = _data(n=300)
    X[5, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        lr_range_test(GradientRegressor(optimizer="sgd"), X, y)
