"""Gradient optimizers as pairs of pure functions, in the style of optax.

An optimizer is a :class:`GradientTransformation`: ``init(params) -> state``
and ``update(grads, state) -> (direction, state)``. The *direction* is the
step before it is scaled by the learning rate; the training loop applies
``params - learning_rate * direction``, so that a schedule can change the
learning rate without touching the optimizer state (the same split as
``optax.scale_by_adam`` followed by ``optax.scale_by_learning_rate``).

Every rule follows ``torch.optim`` exactly:

* ``sgd``: ``d = g``.
* ``momentum`` (``torch.optim.SGD(momentum=mu, dampening=0)``):
  ``b = mu * b + g``; ``d = b``, or ``d = g + mu * b`` with Nesterov.
* ``rmsprop`` (``torch.optim.RMSprop(alpha=rho)``):
  ``v = rho * v + (1 - rho) * g**2``; ``d = g / (sqrt(v) + eps)``.
* ``adam`` (``torch.optim.Adam``): ``m = b1 * m + (1 - b1) * g``,
  ``v = b2 * v + (1 - b2) * g**2``, ``t = t + 1``,
  ``d = (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + eps)``.

``params`` and ``grads`` are trees of arrays (a tuple of
:class:`~sk_gradopt._tree.Layer`, see :mod:`._tree`): each rule is written for
one array and mapped over the leaves with :func:`~sk_gradopt._tree.tree_map`,
so the same optimizer trains a linear model and a multi-layer perceptron. The
state is a small NamedTuple of such trees, in the namespace of ``params``
(NumPy, CuPy, ``array_api_strict``...): state you can see is state you can
test.
"""

import inspect
from typing import Any, Callable, NamedTuple

from ._array_api import namespace
from ._tree import tree_map

__all__ = [
    "GradientTransformation",
    "OPTIMIZERS",
    "adam",
    "make_optimizer",
    "momentum",
    "rmsprop",
    "sgd",
]


class GradientTransformation(NamedTuple):
    """A pair of pure functions ``init`` and ``update``.

    Attributes
    ----------
    init : callable
        ``init(params) -> state``.
    update : callable
        ``update(grads, state) -> (direction, new_state)``.
    hyperparameters : dict or None
        The numbers of the rule (``momentum``, ``nesterov``, ``rho``,
        ``beta_1``, ``beta_2``, ``eps``), set by :func:`make_optimizer`: the
        compiled epoch runs the same rule from them. None for a
        transformation built otherwise, which only the reference epoch runs.
    """

    init: Callable[[Any], Any]
    update: Callable[[Any, Any], tuple]
    hyperparameters: Any = None


class EmptyState(NamedTuple):
    """State of a stateless optimizer (plain gradient descent)."""


class TraceState(NamedTuple):
    """State of SGD with momentum: the momentum buffer ``b``."""

    trace: Any


class RMSPropState(NamedTuple):
    """State of RMSprop: the running average ``v`` of squared gradients."""

    nu: Any


class AdamState(NamedTuple):
    """State of Adam: step count ``t`` and the two moment estimates."""

    count: int
    mu: Any
    nu: Any


def _zeros_like(params):
    return tree_map(lambda leaf: namespace(leaf).zeros_like(leaf), params)


def _scaled_plus(decay, a, b):
    """``decay * a + b``, added in place into the fresh product (one temporary fewer)."""
    out = decay * a
    out += b
    return out


def _average_of_squares(decay, v, g):
    """``decay * v + (1 - decay) * g**2``, in place into fresh arrays.

    Every array written to is created here: the inputs are never modified,
    and each value is rounded as in the plain expression.
    """
    out = g * g
    out *= 1.0 - decay
    out += decay * v
    return out


def sgd():
    """Plain (stochastic) gradient descent: the direction is the gradient.

    Returns
    -------
    GradientTransformation
    """

    def init(params):
        return EmptyState()

    def update(grads, state):
        return grads, state

    return GradientTransformation(init, update)


def momentum(momentum=0.9, nesterov=False):
    """Heavy-ball momentum, as ``torch.optim.SGD(momentum=..., dampening=0)``.

    Parameters
    ----------
    momentum : float, default=0.9
        Decay ``mu`` of the momentum buffer.
    nesterov : bool, default=False
        Use the Nesterov direction ``g + mu * b``.

    Returns
    -------
    GradientTransformation
    """

    def init(params):
        return TraceState(trace=_zeros_like(params))

    def update(grads, state):
        trace = tree_map(lambda g, b: _scaled_plus(momentum, b, g), grads, state.trace)
        if not nesterov:
            return trace, TraceState(trace=trace)
        direction = tree_map(lambda g, b: _scaled_plus(momentum, b, g), grads, trace)
        return direction, TraceState(trace=trace)

    return GradientTransformation(init, update)


def rmsprop(rho=0.99, eps=1e-8):
    """RMSprop, as ``torch.optim.RMSprop(alpha=rho, eps=eps)``.

    Parameters
    ----------
    rho : float, default=0.99
        Decay of the running average of squared gradients.
    eps : float, default=1e-8
        Added to ``sqrt(v)`` in the denominator.

    Returns
    -------
    GradientTransformation
    """

    def init(params):
        return RMSPropState(nu=_zeros_like(params))

    def update(grads, state):
        nu = tree_map(lambda g, v: _average_of_squares(rho, v, g), grads, state.nu)

        def direction(g, v):
            denominator = namespace(v).sqrt(v)
            denominator += eps
            return g / denominator

        return tree_map(direction, grads, nu), RMSPropState(nu=nu)

    return GradientTransformation(init, update)


def adam(beta_1=0.9, beta_2=0.999, eps=1e-8):
    """Adam with bias correction, as ``torch.optim.Adam``.

    Parameters
    ----------
    beta_1, beta_2 : float, default=0.9, 0.999
        Decays of the first and second moment estimates.
    eps : float, default=1e-8
        Added to ``sqrt(v_hat)`` in the denominator.

    Returns
    -------
    GradientTransformation
    """

    def init(params):
        return AdamState(count=0, mu=_zeros_like(params), nu=_zeros_like(params))

    def update(grads, state):
        count = state.count + 1
        correction_1 = 1.0 - beta_1**count
        correction_2 = 1.0 - beta_2**count
        mu = tree_map(lambda g, m: _scaled_plus(beta_1, m, (1.0 - beta_1) * g), grads, state.mu)
        nu = tree_map(lambda g, v: _average_of_squares(beta_2, v, g), grads, state.nu)

        def direction(m, v):
            denominator = namespace(v).sqrt(v / correction_2)
            denominator += eps
            step = m / correction_1
            step /= denominator
            return step

        return tree_map(direction, mu, nu), AdamState(count, mu, nu)

    return GradientTransformation(init, update)


_BUILDERS = {
    "gd": lambda h: sgd(),
    "sgd": lambda h: sgd(),
    "momentum": lambda h: momentum(h["momentum"], h["nesterov"]),
    "rmsprop": lambda h: rmsprop(h["rho"], h["eps"]),
    "adam": lambda h: adam(h["beta_1"], h["beta_2"], h["eps"]),
}

#: The defaults of the rules' hyperparameters: those of their functions.
_DEFAULTS = {name: parameter.default for rule in (momentum, rmsprop, adam)
             for name, parameter in inspect.signature(rule).parameters.items()}

#: The optimizer names accepted by the estimators' ``optimizer`` parameter.
OPTIMIZERS = tuple(_BUILDERS)


def make_optimizer(name, **hyperparameters):
    """Build the named optimizer from the estimators' hyperparameters.

    ``"gd"`` and ``"sgd"`` share one update rule; they differ only in the
    batch size the training loop uses.

    Parameters
    ----------
    name : {"gd", "sgd", "momentum", "rmsprop", "adam"}
        The optimizer.
    **hyperparameters
        ``momentum``, ``nesterov``, ``rho``, ``beta_1``, ``beta_2``, ``eps``;
        each optimizer reads only its own, and those not given take the
        defaults of :func:`momentum`, :func:`rmsprop` and :func:`adam`.

    Returns
    -------
    GradientTransformation
        With all six ``hyperparameters``, for the compiled epoch.
    """
    if name not in _BUILDERS:
        raise ValueError(
            f"Unknown optimizer {name!r}; valid optimizers are {OPTIMIZERS}."
        )
    hyperparameters = {**_DEFAULTS, **hyperparameters}
    return _BUILDERS[name](hyperparameters)._replace(hyperparameters=hyperparameters)
