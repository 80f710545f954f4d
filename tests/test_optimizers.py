"""Each optimizer's update rule against a step computed by hand (torch.optim's rules)."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sk_gradopt import GradientRegressor
from sk_gradopt._optimizers import (
    OPTIMIZERS,
    AdamState,
    RMSPropState,
    TraceState,
    adam,
    make_optimizer,
    momentum,
    rmsprop,
    sgd,
)
from sk_gradopt.schedules import scheduled_learning_rate

G = np.array([0.5, -0.2])


def test_sgd_direction_is_the_gradient():
    direction, state = sgd().update(G, sgd().init(G))
    assert_allclose(direction, [0.5, -0.2])


@pytest.mark.parametrize("nesterov, expected", [(False, [0.68, -0.29]), (True, [1.112, -0.461])])
def test_momentum_step_by_hand(nesterov, expected):
    # b = 0.9 * b0 + g with b0 = (0.2, -0.1): (0.68, -0.29);
    # Nesterov: g + 0.9 * b = (0.5 + 0.612, -0.2 - 0.261).
    opt = momentum(0.9, nesterov)
    direction, state = opt.update(G, TraceState(trace=np.array([0.2, -0.1])))
    assert_allclose(state.trace, [0.68, -0.29])
    assert_allclose(direction, expected)


def test_rmsprop_step_by_hand():
    # v = 0.9 * 0.1 + 0.1 * g**2 = (0.115, 0.094); d = g / (sqrt(v) + eps)
    opt = rmsprop(rho=0.9, eps=1e-8)
    direction, state = opt.update(G, RMSPropState(nu=np.array([0.1, 0.1])))
    assert_allclose(state.nu, [0.115, 0.094])
    assert_allclose(direction, [0.5 / (math.sqrt(0.115) + 1e-8), -0.2 / (math.sqrt(0.094) + 1e-8)])


def test_adam_step_by_hand_from_a_given_state():
    # State after one step: t=1, m=(0.05, 0.01), v=(0.00025, 0.00004).
    # Second step, g=(0.5, -0.2): m=(0.095, -0.011), v=(0.00049975, 0.00007996).
    # m_hat = m / 0.19, v_hat = v / 0.001999; d = m_hat / (sqrt(v_hat) + 1e-8).
    opt = adam(0.9, 0.999, 1e-8)
    state = AdamState(count=1, mu=np.array([0.05, 0.01]), nu=np.array([0.00025, 0.00004]))
    direction, new = opt.update(G, state)
    assert new.count == 2
    assert_allclose(new.mu, [0.095, -0.011])
    assert_allclose(new.nu, [0.00049975, 0.00007996])
    expected = [
        (0.095 / 0.19) / (math.sqrt(0.00049975 / 0.001999) + 1e-8),
        (-0.011 / 0.19) / (math.sqrt(0.00007996 / 0.001999) + 1e-8),
    ]
    assert_allclose(direction, expected)


def test_adam_first_step_is_sign_of_gradient():
    # With bias correction the first Adam step is g / (|g| + eps): +-1.
    direction, state = adam().update(G, adam().init(G))
    assert_allclose(direction, [1.0, -1.0], rtol=1e-7)


def test_update_is_pure():
    state = AdamState(count=1, mu=np.array([0.05, 0.01]), nu=np.array([0.00025, 0.00004]))
    opt = adam()
    first, _ = opt.update(G, state)
    second, _ = opt.update(G, state)
    assert_allclose(first, second)
    assert_allclose(state.mu, [0.05, 0.01])


def test_make_optimizer_rejects_unknown_names():
    with pytest.raises(ValueError, match="valid optimizers are"):
        make_optimizer("lbfgs")


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_estimator_first_step_matches_hand_computed_step(optimizer):
    # One full-batch step from zero on y = X @ [1, -2] + 3 with no penalty:
    # the gradient of mean((Xw + b - y)**2 / 2) at 0 is (-X.T @ y / n, -mean(y)).
    X = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.0], [-1.0, 1.0]])
    y = X @ np.array([1.0, -2.0]) + 3.0
    grad = np.concatenate([-X.T @ y / 4, [-y.mean()]])
    lr = 0.1
    reg = GradientRegressor(
        optimizer=optimizer, learning_rate=lr, penalty=None, max_iter=1, tol=None,
        batch_size=4, shuffle=False, momentum=0.9, rho=0.9,
    ).fit(X, y)
    if optimizer == "rmsprop":  # v = 0.1 g^2: d = g / sqrt(0.1 g^2) = sign(g) / sqrt(0.1)
        expected = -lr * np.sign(grad) / math.sqrt(0.1)
    elif optimizer in ("adam", "adagrad", "adamax"):  # first step: g / (|g| + eps)
        expected = -lr * grad / (np.abs(grad) + 1e-8)
    elif optimizer == "adadelta":  # v = 0.1 g^2, u = 0: sqrt(eps) / sqrt(v + eps) * g
        expected = -lr * math.sqrt(1e-8) / np.sqrt(0.1 * grad**2 + 1e-8) * grad
    elif optimizer == "nadam":  # m = 0.1 g, v_hat = g^2, P_1 = mu_1
        mu_1, mu_2 = (0.9 * (1 - 0.5 * 0.96 ** (t * 4e-3)) for t in (1, 2))
        expected = -lr * np.sign(grad) * (1 + 0.1 * mu_2 / (1 - mu_1 * mu_2))
    else:  # gd, sgd, momentum (b = g on the first step) and radam (rho_1 <= 5: m_hat = g)
        expected = -lr * grad
    assert_allclose(np.append(reg.coef_, reg.intercept_), expected, rtol=1e-6)
    assert reg.t_ == 1 and reg.n_iter_ == 1


def test_schedules_by_hand():
    kw = dict(epoch=0, max_iter=10, power_t=0.5)
    assert scheduled_learning_rate("constant", 0.1, step=99, **kw) == 0.1
    assert scheduled_learning_rate("adaptive", 0.1, step=99, **kw) == 0.1
    assert_allclose(scheduled_learning_rate("invscaling", 0.1, step=3, **kw), 0.05)
    cosine = [scheduled_learning_rate("cosine", 0.1, step=0, epoch=e, max_iter=10, power_t=0)
              for e in (0, 5, 10)]
    assert_allclose(cosine, [0.1, 0.05, 0.0], atol=1e-15)
