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
  ``d = (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + eps)``; with
  ``amsgrad`` (``torch.optim.Adam(amsgrad=True)``), ``v_max = max(v_max, v)``
  in place of ``v`` in ``d``.
* ``adagrad`` (``torch.optim.Adagrad``): ``s = s + g**2``;
  ``d = g / (sqrt(s) + eps)``.
* ``adadelta`` (``torch.optim.Adadelta``): ``v = rho * v + (1 - rho) * g**2``,
  ``d = sqrt(u + eps) / sqrt(v + eps) * g``, ``u = rho * u + (1 - rho) * d**2``.
* ``adamax`` (``torch.optim.Adamax``): ``m`` as Adam's,
  ``u = max(b2 * u, |g| + eps)``, ``d = m / u / (1 - b1**t)``.
* ``nadam`` (``torch.optim.NAdam``) and ``radam`` (``torch.optim.RAdam``):
  see :func:`nadam` and :func:`radam`.

Each named rule has an :class:`OptimizerSpec` in :data:`SPECS`: its name, its
function (whose parameters are its hyperparameters), its state fields and
whether the compiled epoch has code for it. :func:`make_optimizer` and the
compiled epoch both read it.

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
    "DEFAULT_RACE",
    "GradientTransformation",
    "OPTIMIZERS",
    "OptimizerSpec",
    "SPECS",
    "adadelta",
    "adagrad",
    "adam",
    "adamax",
    "amsgrad_adam",
    "make_optimizer",
    "momentum",
    "nadam",
    "radam",
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
        ``beta_1``, ``beta_2``, ``eps``, ``amsgrad``, ``momentum_decay``),
        set by :func:`make_optimizer`: the compiled epoch runs the same rule
        from them. None for a transformation built otherwise.
    spec : OptimizerSpec or None
        The named rule it was built from (:data:`SPECS`), set by
        :func:`make_optimizer`. None for a transformation built otherwise,
        which only the reference epoch runs.
    """

    init: Callable[[Any], Any]
    update: Callable[[Any, Any], tuple]
    hyperparameters: Any = None
    spec: Any = None

    def compiled_rule(self):
        """The compiled epoch's rule that runs this transformation, or None (the reference)."""
        if self.spec is None:
            return None
        return self.spec.compiled_rule(self.hyperparameters)


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


class AdagradState(NamedTuple):
    """State of Adagrad: the sum ``s`` of the squared gradients."""

    sum_of_squares: Any


class AdadeltaState(NamedTuple):
    """State of Adadelta: the running averages of squared gradients and of squared steps."""

    nu: Any
    acc_delta: Any


class AdamaxState(NamedTuple):
    """State of Adamax: step count, first moment and exponentially weighted infinity norm."""

    count: int
    mu: Any
    inf_norm: Any


class AMSGradState(NamedTuple):
    """State of Adam with AMSGrad: :class:`AdamState` and the running maximum of ``v``."""

    count: int
    mu: Any
    nu: Any
    nu_max: Any


class NAdamState(NamedTuple):
    """State of NAdam: step count, the product of the momentum schedule, the two moments."""

    count: int
    mu_product: float
    mu: Any
    nu: Any


class RAdamState(NamedTuple):
    """State of RAdam: step count and the two moment estimates."""

    count: int
    mu: Any
    nu: Any


def _first_moment(beta_1, grads, mu):
    """``beta_1 * m + (1 - beta_1) * g`` over the leaves."""
    return tree_map(lambda g, m: _scaled_plus(beta_1, m, (1.0 - beta_1) * g), grads, mu)


def _second_moment(beta_2, grads, nu):
    """``beta_2 * v + (1 - beta_2) * g**2`` over the leaves."""
    return tree_map(lambda g, v: _average_of_squares(beta_2, v, g), grads, nu)


def amsgrad_adam(beta_1=0.9, beta_2=0.999, eps=1e-8):
    """Adam with AMSGrad, as ``torch.optim.Adam(amsgrad=True)``.

    ``v_max = max(v_max, v)`` replaces ``v`` in the denominator:
    ``d = (m / (1 - b1**t)) / (sqrt(v_max / (1 - b2**t)) + eps)``.

    Returns
    -------
    GradientTransformation
    """

    def init(params):
        return AMSGradState(0, _zeros_like(params), _zeros_like(params), _zeros_like(params))

    def update(grads, state):
        count = state.count + 1
        correction_1 = 1.0 - beta_1**count
        sqrt_correction_2 = (1.0 - beta_2**count) ** 0.5
        mu = _first_moment(beta_1, grads, state.mu)
        nu = _second_moment(beta_2, grads, state.nu)
        nu_max = tree_map(lambda a, v: namespace(v).maximum(a, v), state.nu_max, nu)

        def direction(m, v):
            denominator = namespace(v).sqrt(v) / sqrt_correction_2
            denominator += eps
            step = m / correction_1
            step /= denominator
            return step

        return tree_map(direction, mu, nu_max), AMSGradState(count, mu, nu, nu_max)

    return GradientTransformation(init, update)


def adagrad(eps=1e-10):
    """Adagrad, as ``torch.optim.Adagrad(lr_decay=0, initial_accumulator_value=0)``.

    ``s = s + g**2``; ``d = g / (sqrt(s) + eps)``.

    Parameters
    ----------
    eps : float, default=1e-10
        Added to ``sqrt(s)`` in the denominator (torch's default).

    Returns
    -------
    GradientTransformation
    """

    def init(params):
        return AdagradState(sum_of_squares=_zeros_like(params))

    def update(grads, state):
        sums = tree_map(lambda g, s: _scaled_plus(1.0, s, g * g), grads, state.sum_of_squares)

        def direction(g, s):
            denominator = namespace(s).sqrt(s)
            denominator += eps
            return g / denominator

        return tree_map(direction, grads, sums), AdagradState(sum_of_squares=sums)

    return GradientTransformation(init, update)


def adadelta(rho=0.9, eps=1e-6):
    """Adadelta, as ``torch.optim.Adadelta(rho=rho, eps=eps)``; its ``lr`` is the learning rate.

    ``v = rho * v + (1 - rho) * g**2``;
    ``d = sqrt(u + eps) / sqrt(v + eps) * g``;
    ``u = rho * u + (1 - rho) * d**2``.

    Parameters
    ----------
    rho : float, default=0.9
        Decay of both running averages (torch's default).
    eps : float, default=1e-6
        Added inside both square roots (torch's default).

    Returns
    -------
    GradientTransformation
    """

    def init(params):
        return AdadeltaState(nu=_zeros_like(params), acc_delta=_zeros_like(params))

    def update(grads, state):
        nu = _second_moment(rho, grads, state.nu)

        def direction(g, v, u):
            xp = namespace(v)
            step = xp.sqrt(u + eps)
            step /= xp.sqrt(v + eps)
            step *= g
            return step

        delta = tree_map(direction, grads, nu, state.acc_delta)
        acc_delta = _second_moment(rho, delta, state.acc_delta)
        return delta, AdadeltaState(nu=nu, acc_delta=acc_delta)

    return GradientTransformation(init, update)


def adamax(beta_1=0.9, beta_2=0.999, eps=1e-8):
    """Adamax, as ``torch.optim.Adamax``.

    ``m = b1 * m + (1 - b1) * g``; ``u = max(b2 * u, |g| + eps)``;
    ``d = m / u / (1 - b1**t)``.

    Parameters
    ----------
    beta_1, beta_2 : float, default=0.9, 0.999
        Decays of the first moment and of the infinity norm.
    eps : float, default=1e-8
        Added to ``|g|``.

    Returns
    -------
    GradientTransformation
    """

    def init(params):
        return AdamaxState(count=0, mu=_zeros_like(params), inf_norm=_zeros_like(params))

    def update(grads, state):
        count = state.count + 1
        correction_1 = 1.0 - beta_1**count
        mu = _first_moment(beta_1, grads, state.mu)

        def infinity_norm(g, u):
            xp = namespace(g)
            magnitude = xp.abs(g)
            magnitude += eps
            return xp.maximum(beta_2 * u, magnitude)

        inf_norm = tree_map(infinity_norm, grads, state.inf_norm)

        def direction(m, u):
            step = m / u
            step /= correction_1
            return step

        return tree_map(direction, mu, inf_norm), AdamaxState(count, mu, inf_norm)

    return GradientTransformation(init, update)


def nadam(beta_1=0.9, beta_2=0.999, eps=1e-8, momentum_decay=4e-3):
    """NAdam, as ``torch.optim.NAdam``.

    With ``mu_t = b1 * (1 - 0.5 * 0.96**(t * momentum_decay))`` and
    ``P_t = mu_1 * ... * mu_t``: ``m`` and ``v`` as Adam's,
    ``den = sqrt(v / (1 - b2**t)) + eps`` and
    ``d = (1 - mu_t) / (1 - P_t) * g / den + mu_{t+1} / (1 - P_t * mu_{t+1}) * m / den``.

    Parameters
    ----------
    beta_1, beta_2 : float, default=0.9, 0.999
        Decays of the first and second moment estimates.
    eps : float, default=1e-8
        Added to ``sqrt(v_hat)`` in the denominator.
    momentum_decay : float, default=4e-3
        The momentum schedule's decay ``psi``.

    Returns
    -------
    GradientTransformation
    """

    def init(params):
        return NAdamState(0, 1.0, _zeros_like(params), _zeros_like(params))

    def update(grads, state):
        count = state.count + 1
        correction_2 = 1.0 - beta_2**count
        mu_t = beta_1 * (1.0 - 0.5 * 0.96 ** (count * momentum_decay))
        mu_next = beta_1 * (1.0 - 0.5 * 0.96 ** ((count + 1) * momentum_decay))
        mu_product = state.mu_product * mu_t
        gradient_weight = (1.0 - mu_t) / (1.0 - mu_product)
        momentum_weight = mu_next / (1.0 - mu_product * mu_next)
        mu = _first_moment(beta_1, grads, state.mu)
        nu = _second_moment(beta_2, grads, state.nu)

        def direction(g, m, v):
            denominator = namespace(v).sqrt(v / correction_2)
            denominator += eps
            step = (gradient_weight * g) / denominator
            step += (momentum_weight * m) / denominator
            return step

        return (tree_map(direction, grads, mu, nu),
                NAdamState(count, mu_product, mu, nu))

    return GradientTransformation(init, update)


def radam(beta_1=0.9, beta_2=0.999, eps=1e-8):
    """RAdam, as ``torch.optim.RAdam``.

    ``m`` and ``v`` as Adam's; ``rho_inf = 2 / (1 - b2) - 1``,
    ``rho_t = rho_inf - 2 t b2**t / (1 - b2**t)``. Where ``rho_t > 5``,
    ``d = m_hat * sqrt(1 - b2**t) / (sqrt(v) + eps) * r_t`` with the
    rectification ``r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf /
    ((rho_inf - 4)(rho_inf - 2) rho_t))``; else ``d = m_hat``
    (``m_hat = m / (1 - b1**t)``).

    Parameters
    ----------
    beta_1, beta_2 : float, default=0.9, 0.999
        Decays of the first and second moment estimates.
    eps : float, default=1e-8
        Added to ``sqrt(v)`` in the denominator.

    Returns
    -------
    GradientTransformation
    """

    def init(params):
        return RAdamState(count=0, mu=_zeros_like(params), nu=_zeros_like(params))

    def update(grads, state):
        count = state.count + 1
        correction_1 = 1.0 - beta_1**count
        correction_2 = 1.0 - beta_2**count
        rho_inf = 2.0 / (1.0 - beta_2) - 1.0
        rho_t = rho_inf - 2.0 * count * (beta_2**count) / correction_2
        mu = _first_moment(beta_1, grads, state.mu)
        nu = _second_moment(beta_2, grads, state.nu)
        if rho_t > 5.0:
            rectification = ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf
                             / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)) ** 0.5

            def direction(m, v):
                denominator = namespace(v).sqrt(v)
                denominator += eps
                step = m / correction_1
                step *= correction_2**0.5 / denominator
                step *= rectification
                return step
        else:

            def direction(m, v):
                return m / correction_1

        return tree_map(direction, mu, nu), RAdamState(count, mu, nu)

    return GradientTransformation(init, update)


def _adam(beta_1=0.9, beta_2=0.999, eps=1e-8, amsgrad=False):
    """:func:`adam`, or :func:`amsgrad_adam` with ``amsgrad=True``: the ``"adam"`` rule."""
    if amsgrad:
        return amsgrad_adam(beta_1, beta_2, eps)
    return adam(beta_1, beta_2, eps)


class OptimizerSpec(NamedTuple):
    """The identity of a named optimizer: the one place its facts live.

    :func:`make_optimizer` builds the rule from it; the compiled epoch
    (``_epoch._compiled_epoch_runner`` and ``_kernels``) asks it whether it
    has compiled code for the rule, and which fields of the state it reads.

    Attributes
    ----------
    name : str
        The value of the estimators' ``optimizer`` parameter.
    build : callable
        The rule's function: ``build(**hyperparameters)`` returns the
        :class:`GradientTransformation`; its parameters (and their defaults,
        torch's) are the rule's hyperparameters.
    state_fields : tuple of str
        The array fields of the rule's state, in order (for a compiled rule,
        those its compiled code reads and writes, in the order of its state
        arrays); ``()`` where it has none.
    compiled : str or None
        The rule of the compiled epoch that runs it (``"sgd"``,
        ``"momentum"``, ``"rmsprop"``, ``"adam"``), or None: the reference
        epoch only.
    reference_only : tuple of str
        Hyperparameters that, when true, the compiled code does not have
        (``amsgrad``): the reference epoch runs the rule then.
    auto_learning_rate : float or None
        The value of ``learning_rate="auto"``: a fixed rate for the
        adaptive rules (torch's default ``lr``, but 1e-3 for RMSprop, whose
        torch default is 1e-2), None for ``1 / L``.
    """

    name: str
    build: Callable
    state_fields: tuple = ()
    compiled: Any = None
    reference_only: tuple = ()
    auto_learning_rate: Any = None

    @property
    def hyperparameter_names(self):
        """The names of the rule's hyperparameters: the parameters of ``build``."""
        return tuple(inspect.signature(self.build).parameters)

    def defaults(self):
        """The rule's hyperparameters' defaults (torch's), as a dict."""
        return {name: parameter.default
                for name, parameter in inspect.signature(self.build).parameters.items()}

    def compiled_rule(self, hyperparameters):
        """The compiled epoch's rule that runs this one with ``hyperparameters``, or None."""
        if any(hyperparameters.get(name) for name in self.reference_only):
            return None
        return self.compiled


#: The named optimizers, in the order they are listed.
SPECS = {spec.name: spec for spec in (
    OptimizerSpec("gd", sgd, compiled="sgd"),
    OptimizerSpec("sgd", sgd, compiled="sgd"),
    OptimizerSpec("momentum", momentum, ("trace",), compiled="momentum"),
    OptimizerSpec("rmsprop", rmsprop, ("nu",), compiled="rmsprop",
                  auto_learning_rate=1e-3),
    OptimizerSpec("adam", _adam, ("mu", "nu"), compiled="adam",
                  reference_only=("amsgrad",), auto_learning_rate=1e-3),
    OptimizerSpec("adagrad", adagrad, ("sum_of_squares",), auto_learning_rate=1e-2),
    OptimizerSpec("adadelta", adadelta, ("nu", "acc_delta"), auto_learning_rate=1.0),
    OptimizerSpec("adamax", adamax, ("mu", "inf_norm"), auto_learning_rate=2e-3),
    OptimizerSpec("nadam", nadam, ("mu", "nu"), auto_learning_rate=2e-3),
    OptimizerSpec("radam", radam, ("mu", "nu"), auto_learning_rate=1e-3),
)}

#: The defaults of every hyperparameter: the first rule's that has it (so
#: ``rho`` is RMSprop's 0.99 and ``eps`` 1e-8); each rule built by
#: :func:`make_optimizer` without a value takes its own default.
_DEFAULTS = {}
for _spec in SPECS.values():
    for _name, _default in _spec.defaults().items():
        _DEFAULTS.setdefault(_name, _default)
del _spec, _name, _default

#: The optimizer names accepted by the estimators' ``optimizer`` parameter.
OPTIMIZERS = tuple(SPECS)

#: The optimizers an optimizer race runs by default (``compare_optimizers``,
#: the CLI's ``compare``, ``tune`` and ``lr-find``): the five classics.
DEFAULT_RACE = ("gd", "sgd", "momentum", "rmsprop", "adam")


def make_optimizer(name, **hyperparameters):
    """Build the named optimizer from the estimators' hyperparameters.

    ``"gd"`` and ``"sgd"`` share one update rule; they differ only in the
    batch size the training loop uses.

    Parameters
    ----------
    name : str
        One of :data:`OPTIMIZERS`.
    **hyperparameters
        ``momentum``, ``nesterov``, ``rho``, ``beta_1``, ``beta_2``, ``eps``,
        ``amsgrad``, ``momentum_decay``; each optimizer reads only its own,
        and those not given take the defaults of its function.

    Returns
    -------
    GradientTransformation
        With its ``spec`` and every ``hyperparameters`` (those of the other
        rules at their defaults), for the compiled epoch.
    """
    if name not in SPECS:
        raise ValueError(
            f"Unknown optimizer {name!r}; valid optimizers are {OPTIMIZERS}."
        )
    spec = SPECS[name]
    hyperparameters = {**_DEFAULTS, **spec.defaults(), **hyperparameters}
    rule = spec.build(**{key: hyperparameters[key] for key in spec.hyperparameter_names})
    return rule._replace(hyperparameters=hyperparameters, spec=spec)
