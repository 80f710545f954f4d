"""Weight averaging (``average=``): equal to ``torch.optim.swa_utils.AveragedModel``."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning

from sk_gradopt import (
    GradientClassifier,
    GradientMLPClassifier,
    GradientMLPRegressor,
    GradientRegressor,
)
from sk_gradopt._models import init_mlp

N, D, BATCH, EPOCHS = 60, 4, 16, 3
LEARNING_RATES = {"sgd": 0.05, "adam": 0.02}
HIDDEN = (5, 4)


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=N, n_features=D, noise=2.0, random_state=0)
    return X, y / np.std(y)


def _fit(Estimator, X, y, *, optimizer, average, max_iter=EPOCHS, **params):
    settings = dict(optimizer=optimizer, learning_rate=LEARNING_RATES[optimizer],
                    batch_size=BATCH, shuffle=False, penalty=None, max_iter=max_iter,
                    tol=None, random_state=0, average=average, **params)
    if Estimator is GradientMLPRegressor:
        settings.update(hidden_layer_sizes=HIDDEN, activation="tanh")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return Estimator(**settings).fit(X, y)


def _initial(linear):
    """The initial weights of the estimators of ``_fit``, as (coef, intercept) pairs."""
    if linear:
        return [(np.zeros((D, 1)), np.zeros(1))]
    layers = init_mlp([D, *HIDDEN, 1], "tanh", np.random.RandomState(0), xp=np,
                      dtype=np.float64, device=None)
    return [(layer.coef, layer.intercept) for layer in layers]


def _torch_average(torch, initial, X, y, *, optimizer, average, epochs=EPOCHS):
    """``AveragedModel`` updated after every ``step()`` of a torch optimizer.

    The loss of a batch is ``sum((raw - y)**2) / 2 / len(batch)`` (squared
    error, unit weights), in consecutive batches of ``BATCH`` rows.
    """
    swa = torch.optim.swa_utils
    module = torch.nn.Module()
    module.weights = torch.nn.ParameterList(
        [torch.nn.Parameter(torch.tensor(a)) for layer in initial for a in layer])
    params = list(module.weights)
    averaged = (swa.AveragedModel(module) if average is True else
                swa.AveragedModel(module, multi_avg_fn=swa.get_ema_multi_avg_fn(average)))
    lr = LEARNING_RATES[optimizer]
    opt = (torch.optim.SGD(params, lr=lr) if optimizer == "sgd"
           else torch.optim.Adam(params, lr=lr))
    X, Y = torch.tensor(X), torch.tensor(y[:, None])
    for _ in range(epochs):
        for start in range(0, N, BATCH):
            a = X[start:start + BATCH]
            for k in range(0, len(params) - 2, 2):
                a = torch.tanh(a @ params[k] + params[k + 1])
            raw = a @ params[-2] + params[-1]
            loss = ((raw - Y[start:start + BATCH]) ** 2).sum() / 2 / a.shape[0]
            opt.zero_grad()
            loss.backward()
            opt.step()
            averaged.update_parameters(module)
    as_numpy = lambda tensors: [t.detach().numpy() for t in tensors]  # noqa: E731
    return as_numpy(averaged.module.weights), as_numpy(params)


def _weights(est):
    """The fitted (averaged) and the raw weights of ``est``, flat lists of arrays."""
    if isinstance(est, GradientRegressor):
        fitted = [est.coef_[:, None], est.intercept_]
    else:
        fitted = [a for layer in zip(est.coefs_, est.intercepts_) for a in layer]
    raw = [a for layer in est._raw_params for a in layer]
    return fitted, raw


@pytest.mark.parametrize("average", [True, 0.9], ids=["equal", "ema"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("Estimator", [GradientRegressor, GradientMLPRegressor])
def test_average_equals_torch_averaged_model(regression, Estimator, optimizer, average):
    torch = pytest.importorskip("torch")
    X, y = regression
    est = _fit(Estimator, X, y, optimizer=optimizer, average=average)
    expected_avg, expected_raw = _torch_average(
        torch, _initial(Estimator is GradientRegressor), X, y, optimizer=optimizer,
        average=average)
    fitted, raw = _weights(est)
    for got, want in zip(fitted, expected_avg, strict=True):
        assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    for got, want in zip(raw, expected_raw, strict=True):
        assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    # the average is not the last iterate: the attributes are the averaged weights
    assert not np.allclose(fitted[0], raw[0], rtol=1e-6)
    assert est._average.count == est.t_ == EPOCHS * -(-N // BATCH)


def test_the_compiled_and_the_reference_mlp_epochs_average_alike(regression):
    X, y = regression
    est = GradientMLPRegressor(hidden_layer_sizes=HIDDEN, max_iter=2, tol=None,
                               random_state=0, batch_size=BATCH, average=0.8)
    compiled = est._fit(X, y)
    fitted = [a.copy() for a in compiled.coefs_]
    reference = est._fit(X, y, compiled=False)
    for got, want in zip(reference.coefs_, fitted, strict=True):
        assert_allclose(got, want, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("average", [True, 0.7])
@pytest.mark.parametrize("Estimator", [GradientRegressor, GradientMLPRegressor])
def test_partial_fit_continues_from_the_raw_weights_and_the_average(
        regression, Estimator, average):
    # fit for 2 epochs, then one partial_fit: the 3 epochs of one fit, for the
    # average and for the raw iterate (training went on from the raw weights)
    X, y = regression
    three = _fit(Estimator, X, y, optimizer="adam", average=average, max_iter=3)
    two = _fit(Estimator, X, y, optimizer="adam", average=average, max_iter=2)
    two.partial_fit(X, y)
    for got, want in zip(_weights(two), _weights(three)):
        for a, b in zip(got, want, strict=True):
            assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def test_warm_start_continues_from_the_raw_weights_with_a_new_average(regression):
    X, y = regression
    first = _fit(GradientRegressor, X, y, optimizer="sgd", average=True, max_iter=2)
    (raw,) = first._raw_params
    first.set_params(warm_start=True, max_iter=1).fit(X, y)
    from_raw = _fit(GradientRegressor, X, y, optimizer="sgd", average=True, max_iter=1)
    from_raw.fit(X, y, coef_init=raw.coef[:, 0], intercept_init=raw.intercept)
    assert first._average.count == from_raw._average.count == -(-N // BATCH)
    assert_allclose(first.coef_, from_raw.coef_, rtol=1e-12)
    assert_allclose(first.intercept_, from_raw.intercept_, rtol=1e-12)


def test_averaging_off_keeps_no_raw_weights_and_changes_nothing(regression):
    X, y = regression
    plain = _fit(GradientRegressor, X, y, optimizer="adam", average=False)
    assert plain._raw_params is None and plain._average is None
    default = GradientRegressor(optimizer="adam", learning_rate=0.02, batch_size=BATCH,
                                shuffle=False, penalty=None, max_iter=EPOCHS, tol=None,
                                random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        default.fit(X, y)
    assert_allclose(plain.coef_, default.coef_, rtol=0, atol=0)


@pytest.mark.parametrize("average", [True, 0.9])
@pytest.mark.parametrize("Estimator", [GradientRegressor, GradientMLPRegressor])
def test_a_diverging_fit_leaves_finite_averaged_weights(regression, Estimator, average):
    X, y = regression
    params = dict(optimizer="sgd", learning_rate=50.0, batch_size=BATCH, max_iter=20,
                  tol=None, random_state=0, average=average)
    if Estimator is GradientMLPRegressor:
        params["hidden_layer_sizes"] = (5,)
    est = Estimator(**params)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        est.fit(X, y * 1e3)
    fitted, raw = _weights(est)
    assert all(np.all(np.isfinite(a)) for a in fitted + raw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.partial_fit(X, y * 1e3)
    fitted, raw = _weights(est)
    assert all(np.all(np.isfinite(a)) for a in fitted + raw)
    assert np.all(np.isfinite(est.predict(X)))


def test_classifiers_average_too():
    X, y = make_classification(n_samples=80, n_features=4, n_classes=3, n_informative=3,
                               n_redundant=0, random_state=0)
    for Estimator, extra in ((GradientClassifier, {}),
                             (GradientMLPClassifier, {"hidden_layer_sizes": (5,)})):
        params = dict(max_iter=30, tol=None, random_state=0, batch_size=16,
                      learning_rate=0.05, **extra)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            plain = Estimator(**params).fit(X, y)
            averaged = Estimator(average=True, **params).fit(X, y)
        raw = averaged._raw_params
        first = plain.coef_ if extra == {} else plain.coefs_[0]
        assert_allclose(raw[0].coef, first.T if extra == {} else first, rtol=1e-12)
        assert averaged.predict(X).shape == (80,)
        assert averaged.score(X, y) > 0.6


@pytest.mark.parametrize("bad", [1.0, 0.0, -0.5, 1.5, "yes", 3])
def test_bad_average_values_are_refused(regression, bad):
    X, y = regression
    with pytest.raises(ValueError, match="'average' parameter"):
        GradientRegressor(average=bad).fit(X, y)


def test_dask_full_batch_averages_as_in_memory_and_mini_batches_are_refused(regression):
    da = pytest.importorskip("dask.array")
    X, y = regression
    params = dict(optimizer="gd", learning_rate=0.1, max_iter=4, tol=None, average=0.5)
    memory = GradientRegressor(**params).fit(X, y)
    dask = GradientRegressor(**params).fit(da.from_array(X, chunks=20),
                                           da.from_array(y, chunks=20))
    assert_allclose(dask.coef_, memory.coef_, rtol=1e-10)
    assert_allclose(dask._raw_params[0].coef, memory._raw_params[0].coef, rtol=1e-10)
    assert not np.allclose(memory.coef_, memory._raw_params[0].coef[:, 0])
    mini = GradientRegressor(optimizer="sgd", batch_size=10, max_iter=2, average=True)
    with pytest.raises(ValueError, match="full-batch step only"):
        mini.fit(da.from_array(X, chunks=20), da.from_array(y, chunks=20))
    assert not hasattr(mini, "coef_")
