"""Gradient clipping, decoupled weight decay and warmup: by hand, and exactly as torch.optim.

The torch reference (:func:`torch_fit`) trains a list of layers ``(coef,
intercept)`` with ``torch.optim``, ``clip_grad_norm_`` and ``LambdaLR`` on the
batches the estimator draws, so that the linear estimators here (and the MLP,
by passing its layers and forward function) are compared with it step for
step, to 1e-9 relative in float64.
"""

import math

import array_api_strict as xps
import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn import config_context
from sklearn.datasets import make_classification, make_regression
from sklearn.preprocessing import StandardScaler

from sk_gradopt import OPTIMIZERS, GradientClassifier, GradientRegressor
from sk_gradopt._optimizers import DEFAULT_RACE
from sk_gradopt._penalties import decay_weights
from sk_gradopt.schedules import scheduled_learning_rate, warmup_factor
from sk_gradopt._epoch import clip_grad_norm
from sk_gradopt._tree import Layer

N_SAMPLES, BATCH_SIZE, EPOCHS, SEED = 60, 16, 3, 0
LEARNING_RATES = {"gd": 0.2, "sgd": 0.1, "momentum": 0.03, "rmsprop": 0.01, "adam": 0.03}
HYPER = dict(momentum=0.9, rho=0.9, beta_1=0.9, beta_2=0.999, eps=1e-8)
ALPHA = 0.01  # the l2 penalty, in the objective: clipping applies to its gradient too


@pytest.fixture(scope="module")
def data():
    X, y = make_regression(n_samples=N_SAMPLES, n_features=4, noise=5.0, random_state=0)
    X = StandardScaler().fit_transform(X) + np.linspace(-1, 1, 4)  # not centred
    Xc, y2 = make_classification(n_samples=N_SAMPLES, n_features=4, n_informative=3,
                                 n_redundant=0, random_state=0)
    _, y3 = make_classification(n_samples=N_SAMPLES, n_features=4, n_informative=3,
                                n_redundant=0, n_classes=3, random_state=2)
    return {"reg": (X, y / y.std()), "clf2": (Xc, y2), "clf3": (Xc, y3)}


# ------------------------------------------------------------------ by hand


def test_clip_grad_norm_by_hand():
    # ||(3, 4, 12)|| = 13: scaled by 6.5 / (13 + 1e-6); a norm under the limit is untouched.
    grads = (Layer(np.array([[3.0], [4.0]]), np.array([12.0])),)
    (clipped,) = clip_grad_norm(grads, 6.5)
    factor = 6.5 / (13.0 + 1e-6)
    assert_allclose(clipped.coef, [[3.0 * factor], [4.0 * factor]], rtol=1e-15)
    assert_allclose(clipped.intercept, [12.0 * factor], rtol=1e-15)
    (same,) = clip_grad_norm(grads, 20.0)
    assert np.array_equal(same.coef, grads[0].coef)
    assert np.array_equal(same.intercept, grads[0].intercept)


def test_clip_grad_norm_over_several_layers_and_no_intercept():
    grads = (Layer(np.array([[1.0, 2.0]]), None), Layer(np.array([[2.0]]), np.array([4.0])))
    clipped = clip_grad_norm(grads, 1.0)  # global norm 5
    assert clipped[0].intercept is None
    assert_allclose(clipped[0].coef, [[0.2, 0.4]], rtol=1e-6)
    assert_allclose(clipped[1].intercept, [0.8], rtol=1e-6)


def test_weight_decay_acts_on_coef_leaves_only():
    params = (Layer(np.array([[2.0]]), np.array([3.0])), Layer(np.array([[4.0]]), None))
    decayed = decay_weights(params, 0.5)
    assert_allclose(decayed[0].coef, [[1.0]])
    assert_allclose(decayed[0].intercept, [3.0])
    assert_allclose(decayed[1].coef, [[2.0]])
    assert decayed[1].intercept is None


def test_warmup_factor_and_schedule_by_hand():
    assert [warmup_factor(t, 4) for t in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert warmup_factor(0, 0) == 1.0 and warmup_factor(0, 1) == 1.0
    # on top of invscaling: 0.1 / (t + 1) ** 0.5 * (t + 1) / 4 at t = 3 is 0.1 / 2
    rate = scheduled_learning_rate("invscaling", 0.1, step=3, epoch=0, max_iter=1,
                                   power_t=0.5, warmup_steps=8)
    assert_allclose(rate, 0.1 / 2 * 4 / 8)


def test_one_gd_step_with_decay_and_clipping_by_hand():
    # From w0 = (1, -1), b0 = 0.5, one full-batch step of "gd" on squared error:
    # g = (X^T r / n, mean(r)), r = X w0 + b0 - y; clipped to norm 0.5; then
    # w1 = w0 * (1 - lr * wd) - lr * g_w, b1 = b0 - lr * g_b.
    X = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.0], [-1.0, 1.0]])
    y = np.array([1.0, 2.0, -1.0, 0.5])
    w0, b0, lr, wd, max_norm = np.array([1.0, -1.0]), 0.5, 0.1, 0.3, 0.5
    r = X @ w0 + b0 - y
    g = np.append(X.T @ r / 4, r.mean())
    g = g * min(1.0, max_norm / (np.linalg.norm(g) + 1e-6))
    assert np.linalg.norm(np.append(X.T @ r / 4, r.mean())) > max_norm  # clipping is active
    reg = GradientRegressor(optimizer="gd", learning_rate=lr, penalty=None, max_iter=1,
                            tol=None, weight_decay=wd, max_grad_norm=max_norm)
    reg.fit(X, y, coef_init=w0, intercept_init=b0)
    assert_allclose(reg.coef_, w0 * (1 - lr * wd) - lr * g[:2], rtol=1e-14)
    assert_allclose(reg.intercept_, [b0 - lr * g[2]], rtol=1e-14)


def test_warmup_ramps_the_first_gd_steps(data):
    # With warmup over 4 steps, the first step of "gd" is a quarter of the plain step.
    X, y = data["reg"]
    plain = GradientRegressor(optimizer="gd", learning_rate=0.1, max_iter=1, tol=None).fit(X, y)
    warm = GradientRegressor(optimizer="gd", learning_rate=0.1, max_iter=1, tol=None,
                             warmup_steps=4).fit(X, y)
    assert_allclose(warm.coef_, plain.coef_ / 4, rtol=1e-14)


@pytest.mark.parametrize("params, message", [
    ({"max_grad_norm": 0.0}, "max_grad_norm"),
    ({"max_grad_norm": "big"}, "max_grad_norm"),
    ({"weight_decay": -0.1}, "weight_decay"),
    ({"warmup_steps": -1}, "warmup_steps"),
    ({"warmup_steps": 2.5}, "warmup_steps"),
])
def test_parameters_are_validated(data, params, message):
    X, y = data["reg"]
    with pytest.raises(ValueError, match=f"'{message}' parameter"):
        GradientRegressor(**params).fit(X, y)


def test_array_api_strict_equals_numpy_with_every_tool(data):
    X, y = data["clf3"]
    params = dict(optimizer="adam", learning_rate=0.05, batch_size=16, max_iter=4, tol=None,
                  random_state=0, max_grad_norm=0.2, weight_decay=0.1, warmup_steps=5)
    ref = GradientClassifier(**params).fit(X, y)
    device = xps.Device("device1")
    with config_context(array_api_dispatch=True):
        clf = GradientClassifier(**params).fit(xps.asarray(X, device=device),
                                               xps.asarray(y, device=device))
    assert clf.coef_.device == device
    assert_allclose(np.asarray(clf.to_numpy().coef_), ref.coef_, rtol=1e-12)


# ---------------------------------------------------------------- torch


def torch_fit(torch, layers, forward, loss, X, Y, row_batches, *, optimizer, lr,
              momentum=0.9, nesterov=False, rho=0.99, beta_1=0.9, beta_2=0.999, eps=1e-8,
              alpha=0.0, max_grad_norm=None, weight_decay=0.0, lr_lambda=None):
    """Train ``layers`` with torch.optim on ``row_batches``; return the layers and the norms.

    Parameters
    ----------
    torch : module
    layers : list of (ndarray, ndarray or None)
        Initial ``(coef, intercept)`` of each layer.
    forward : callable
        ``forward(layers, X) -> raw`` on torch tensors (``layers`` a list of
        ``(coef, intercept)``).
    loss : callable
        ``loss(raw, Y) -> per-sample losses`` on torch tensors.
    X, Y : ndarray
        The data, ``Y`` encoded as the estimator encodes it.
    row_batches : list of ndarray
        The rows of each step, in order.
    optimizer : {"gd", "sgd", "momentum", "rmsprop", "adam"} or callable
        A name, or ``optimizer(groups, lr) -> torch.optim.Optimizer`` for
        another rule (whose weight decay is then the decoupled kind below).
    alpha : float
        The l2 penalty ``alpha * ||coef||^2 / 2``, part of the loss.
    max_grad_norm : float or None
        ``torch.nn.utils.clip_grad_norm_`` after the backward pass.
    weight_decay : float
        Decoupled: ``AdamW`` with the intercepts in a group with
        ``weight_decay=0`` for Adam; for the others, whose torch
        ``weight_decay`` is the coupled L2 kind, ``coef.mul_(1 - lr_t *
        weight_decay)`` before ``step()``.
    lr_lambda : callable or None
        ``LambdaLR``'s factor of step ``t``.

    Returns
    -------
    layers : list of (ndarray, ndarray or None)
    norms : list of float
        The gradient norm of each step before clipping.
    """
    tensor = lambda a: torch.tensor(a, dtype=torch.float64, requires_grad=True)  # noqa: E731
    params = [(tensor(c), None if b is None else tensor(b)) for c, b in layers]
    coefs = [c for c, _ in params]
    intercepts = [b for _, b in params if b is not None]
    adamw = optimizer == "adam" and weight_decay > 0
    groups = [{"params": coefs, "weight_decay": weight_decay if adamw else 0.0},
              {"params": intercepts, "weight_decay": 0.0}]
    if callable(optimizer):
        opt = optimizer(groups, lr)
    elif optimizer in ("gd", "sgd"):
        opt = torch.optim.SGD(groups, lr=lr)
    elif optimizer == "momentum":
        opt = torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=nesterov)
    elif optimizer == "rmsprop":
        opt = torch.optim.RMSprop(groups, lr=lr, alpha=rho, eps=eps)
    elif adamw:
        opt = torch.optim.AdamW(groups, lr=lr, betas=(beta_1, beta_2), eps=eps)
    else:
        opt = torch.optim.Adam(groups, lr=lr, betas=(beta_1, beta_2), eps=eps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda or (lambda t: 1.0))
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    norms = []
    for rows in row_batches:
        rows = torch.from_numpy(rows)
        opt.zero_grad()
        objective = loss(forward(params, Xt[rows]), Yt[rows]).mean()
        objective = objective + 0.5 * alpha * sum((c * c).sum() for c in coefs)
        objective.backward()
        every = coefs + intercepts
        if max_grad_norm is not None:
            norms.append(float(torch.nn.utils.clip_grad_norm_(every, max_grad_norm)))
        if weight_decay > 0 and not adamw:
            with torch.no_grad():
                for c in coefs:
                    c.mul_(1.0 - opt.param_groups[0]["lr"] * weight_decay)
        opt.step()
        scheduler.step()
    layers = [(c.detach().numpy(), None if b is None else b.detach().numpy()) for c, b in params]
    return layers, norms


def linear_forward(params, X):
    ((coef, intercept),) = params
    return X @ coef + intercept


def squared_error(torch, raw, Y):
    return 0.5 * ((raw - Y) ** 2).sum(dim=1)


def binary_log_loss(torch, raw, T):
    return torch.nn.functional.softplus(-T * raw).sum(dim=1)


def multinomial_log_loss(torch, raw, Y):
    return -(Y * torch.log_softmax(raw, dim=1)).sum(dim=1)


def estimator_batches(optimizer, n_samples, n_epochs, rng=None):
    """The rows of each step of a fit with ``shuffle=True``, drawn independently.

    The estimator's generator (``check_random_state(SEED)``; pass ``rng``
    where the model drew its initial weights from it first, as the MLP does)
    draws one permutation per epoch; batch ``k`` is its rows ``[k *
    BATCH_SIZE, (k + 1) * BATCH_SIZE)``. ``"gd"`` takes every row in order,
    without drawing.
    """
    if optimizer == "gd":
        return [np.arange(n_samples)] * n_epochs
    rng = np.random.RandomState(SEED) if rng is None else rng
    steps = []
    for _ in range(n_epochs):
        order = rng.permutation(n_samples)
        steps += [order[i:i + BATCH_SIZE] for i in range(0, n_samples, BATCH_SIZE)]
    return steps


def torch_linear(torch, kind, X, y, optimizer, tools, settings):
    """The torch reference of a linear estimator: its coef_ (k, d), intercept_ and norms."""
    if kind == "reg":
        Y, loss = y[:, None], squared_error
    elif kind == "clf2":
        Y, loss = np.where(y == 1, 1.0, -1.0)[:, None], binary_log_loss
    else:
        Y, loss = np.eye(3)[y], multinomial_log_loss
    layers = [(np.zeros((X.shape[1], Y.shape[1])), np.zeros(Y.shape[1]))]
    power_t, warmup = settings.get("power_t", 0.5), tools.get("warmup_steps", 0)

    def lr_lambda(t):
        factor = min(1.0, (t + 1) / warmup) if warmup else 1.0
        if settings.get("schedule") == "invscaling":
            factor /= (t + 1) ** power_t
        return factor

    hyper = {k: v for k, v in {**HYPER, **settings}.items() if k in
             ("momentum", "nesterov", "rho", "beta_1", "beta_2", "eps")}
    ((coef, intercept),), norms = torch_fit(
        torch, layers, linear_forward, lambda raw, Y: loss(torch, raw, Y), X, Y,
        estimator_batches(optimizer, X.shape[0], EPOCHS), optimizer=optimizer,
        lr=LEARNING_RATES[optimizer], alpha=ALPHA, lr_lambda=lr_lambda,
        max_grad_norm=tools.get("max_grad_norm"), weight_decay=tools.get("weight_decay", 0.0),
        **hyper,
    )
    return coef.T, intercept, norms


TOOLS = {
    "clip": dict(max_grad_norm=0.2),
    "decay": dict(weight_decay=0.5),
    "warmup": dict(warmup_steps=7),
    "all": dict(max_grad_norm=0.2, weight_decay=0.5, warmup_steps=7),
}


@pytest.mark.parametrize("tools", TOOLS, ids=str)
@pytest.mark.parametrize("optimizer", DEFAULT_RACE)  # the others: test_optimizer_family.py
@pytest.mark.parametrize("kind", ["reg", "clf2", "clf3"])
def test_linear_estimators_equal_torch_optim(data, kind, optimizer, tools):
    torch = pytest.importorskip("torch")
    X, y = data[kind]
    settings = {}
    if tools == "all":  # on top of a schedule, and Nesterov's direction
        settings = dict(schedule="invscaling", power_t=0.5, nesterov=True)
    Estimator = GradientRegressor if kind == "reg" else GradientClassifier
    est = Estimator(
        optimizer=optimizer, learning_rate=LEARNING_RATES[optimizer], penalty="l2",
        alpha=ALPHA, batch_size=BATCH_SIZE, max_iter=EPOCHS, tol=None, random_state=SEED,
        **HYPER, **{**TOOLS[tools], **settings},
    ).fit(X, y)
    coef, intercept, norms = torch_linear(torch, kind, X, y, optimizer, TOOLS[tools], settings)
    if "max_grad_norm" in TOOLS[tools]:  # clipping did act, at some steps at least
        assert max(norms) > TOOLS[tools]["max_grad_norm"]
    assert est.t_ == len(estimator_batches(optimizer, N_SAMPLES, EPOCHS))
    assert_allclose(est.coef_.reshape(coef.shape), coef, rtol=1e-9, atol=1e-13)
    assert_allclose(est.intercept_, intercept, rtol=1e-9, atol=1e-13)


def test_decoupled_decay_is_not_the_l2_penalty(data):
    # torch's coupled weight_decay (SGD's) is alpha; the decoupled one differs from it
    # as soon as momentum accumulates the gradient.
    X, y = data["reg"]
    params = dict(optimizer="momentum", learning_rate=0.03, batch_size=16, max_iter=3,
                  tol=None, random_state=0)
    coupled = GradientRegressor(penalty="l2", alpha=0.5, **params).fit(X, y)
    decoupled = GradientRegressor(penalty=None, weight_decay=0.5, **params).fit(X, y)
    assert not np.allclose(coupled.coef_, decoupled.coef_, rtol=1e-3)
    assert math.isfinite(decoupled.loss_curve_[-1])


def mlp_forward(torch, params, X):
    a = X
    for coef, intercept in params[:-1]:
        a = torch.tanh(a @ coef + intercept)
    coef, intercept = params[-1]
    return a @ coef + intercept


@pytest.mark.parametrize("tools", TOOLS, ids=str)
@pytest.mark.parametrize("optimizer", DEFAULT_RACE)  # the others: test_optimizer_family.py
@pytest.mark.parametrize("kind", ["reg", "clf3"])
def test_mlp_estimators_equal_torch_optim(data, kind, optimizer, tools):
    # The same tools on a network: the MLP draws its initial weights first,
    # then the shuffles, from the one generator.
    torch = pytest.importorskip("torch")
    from sk_gradopt import GradientMLPClassifier, GradientMLPRegressor
    from sk_gradopt._models import init_mlp

    X, y = data[kind]
    Estimator = GradientMLPRegressor if kind == "reg" else GradientMLPClassifier
    est = Estimator(
        hidden_layer_sizes=(5, 4), activation="tanh", optimizer=optimizer,
        learning_rate=LEARNING_RATES[optimizer], penalty="l2", alpha=ALPHA,
        batch_size=BATCH_SIZE, max_iter=EPOCHS, tol=None, random_state=SEED,
        **HYPER, **TOOLS[tools],
    ).fit(X, y)
    if kind == "reg":
        Y, loss = y[:, None], squared_error
    else:
        Y, loss = np.eye(3)[y], multinomial_log_loss
    rng = np.random.RandomState(SEED)
    initial = init_mlp([X.shape[1], 5, 4, Y.shape[1]], "tanh", rng, xp=np,
                       dtype=np.float64, device=None)
    warmup = TOOLS[tools].get("warmup_steps", 0)
    hyper = {k: v for k, v in HYPER.items()
             if k in ("momentum", "nesterov", "rho", "beta_1", "beta_2", "eps")}
    layers, norms = torch_fit(
        torch, [(layer.coef, layer.intercept) for layer in initial],
        lambda params, X: mlp_forward(torch, params, X), lambda raw, Y: loss(torch, raw, Y),
        X, Y, estimator_batches(optimizer, X.shape[0], EPOCHS, rng),
        optimizer=optimizer, lr=LEARNING_RATES[optimizer], alpha=ALPHA,
        lr_lambda=lambda t: min(1.0, (t + 1) / warmup) if warmup else 1.0,
        max_grad_norm=TOOLS[tools].get("max_grad_norm"),
        weight_decay=TOOLS[tools].get("weight_decay", 0.0), **hyper,
    )
    if "max_grad_norm" in TOOLS[tools]:
        assert max(norms) > TOOLS[tools]["max_grad_norm"]
    for (coef, intercept), mine, mine_b in zip(layers, est.coefs_, est.intercepts_):
        assert_allclose(mine, coef, rtol=1e-9, atol=1e-12)
        assert_allclose(mine_b, intercept, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_learning_rate_auto_on_an_mlp(data, optimizer):
    from sk_gradopt import GradientMLPRegressor

    X, y = data["reg"]
    est = GradientMLPRegressor(hidden_layer_sizes=(4,), optimizer=optimizer,
                               learning_rate="auto", max_iter=3, tol=None, random_state=0)
    # the adaptive rules: torch's default lr (RMSprop's is 1e-2 in torch)
    fixed = {"rmsprop": 1e-3, "adam": 1e-3, "adagrad": 1e-2, "adadelta": 1.0,
             "adamax": 2e-3, "nadam": 2e-3, "radam": 1e-3}
    if optimizer in fixed:
        est.fit(X, y)
        assert est.learning_rate_ == fixed[optimizer]
    else:
        with pytest.raises(ValueError, match="lr_range_test"):
            est.fit(X, y)
