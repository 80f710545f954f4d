"""Ready-made search spaces over the optimizers and their settings.

:func:`~sk_gradopt.search_space` returns the parameter grid or distributions that
scikit-learn's :class:`~sklearn.model_selection.GridSearchCV`,
:class:`~sklearn.model_selection.RandomizedSearchCV`, the ``Halving*``
searches and scikit-optimize's ``BayesSearchCV`` take, for one optimizer or
for every optimizer at once (``"all"``: the ten of ``OPTIMIZERS``; pass a
list of names, such as the five classics, for fewer). The space of an
optimizer holds only the parameters that optimizer reads:

============  ================================================================
optimizer     parameters searched (besides ``optimizer`` itself)
============  ================================================================
``gd``        ``learning_rate``
``sgd``       ``learning_rate``, ``batch_size``
``momentum``  ``learning_rate``, ``momentum``, ``nesterov``, ``batch_size``
``rmsprop``   ``learning_rate``, ``rho``, ``batch_size``
``adam``      ``learning_rate``, ``beta_1``, ``beta_2``, ``batch_size``
``adagrad``   ``learning_rate``, ``batch_size``
``adadelta``  ``learning_rate``, ``rho``, ``batch_size``
``adamax``    ``learning_rate``, ``beta_1``, ``beta_2``, ``batch_size``
``nadam``     ``learning_rate``, ``beta_1``, ``beta_2``, ``momentum_decay``,
              ``batch_size``
``radam``     ``learning_rate``, ``beta_1``, ``beta_2``, ``batch_size``
``lbfgs``     nothing of its own (only when asked for by name, not in ``"all"``)
============  ================================================================

``"lbfgs"`` (full-batch L-BFGS, the second-order comparator) has no
learning rate, schedule, batch size or training tools: its space holds
``optimizer`` and, when asked for, the structure of a multi-layer
perceptron, so that a search can set it against the first-order rules.

``schedule`` joins every space when asked for (string shortcuts and the
objects of :mod:`sk_gradopt.schedules`; ``schedule_params`` searches the
objects' own parameters, such as ``schedule__gamma``), and so do the structure of
a multi-layer perceptron (``hidden_layer_sizes``, ``activation``) for
``GradientMLPRegressor`` / ``GradientMLPClassifier``, and the training tools
that every optimizer reads:

=================  =============================  ==================================
parameter          ``True`` searches              what it is
=================  =============================  ==================================
``weight_decay``   ``[0.0, 1e-4, 1e-3, 1e-2]``    decoupled weight decay (AdamW for
                                                  ``adam``)
``max_grad_norm``  ``[None, 1.0, 10.0]``          clipping of the gradient's norm;
                                                  None: no clipping
``warmup_steps``   ``[0, 10, 100]``               linear warmup, in optimizer steps
``average``        ``[False, True]``              weight averaging (the last
                                                  iterate, or the equal average)
=================  =============================  ==================================

They are finite sets in every kind (a list, or a ``Categorical`` for Bayes):
a log-uniform range cannot hold a weight decay of 0, and "no clipping" is
None, which scikit-optimize's ``Categorical`` holds as it is. ``eps``
(of the adaptive rules), ``amsgrad`` (Adam's variant) and ``power_t`` (the
``"invscaling"`` schedule) stay at the estimator's values: they rarely
matter, and every extra dimension costs a random or Bayesian search
samples.
"""

import math
from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np
from scipy.stats import loguniform, uniform

from ._lbfgs import SECOND_ORDER
from ._models import ACTIVATIONS
from ._optimizers import OPTIMIZERS, SPECS
from ._reprs import plain_repr
from .schedules import SCHEDULES, Schedule

__all__ = ["search_space", "KINDS"]

#: The values of ``search_space``'s ``kind``: which searcher the space is for.
KINDS = ("grid", "random", "bayes")

#: Default learning-rate range of each optimizer, for standardized features
#: and a target (or decision function) of order one.
DEFAULT_LEARNING_RATES = {
    "gd": (1e-3, 10.0),
    "sgd": (1e-3, 1.0),
    "momentum": (1e-4, 0.1),
    "rmsprop": (1e-4, 0.1),
    "adam": (1e-4, 1.0),
    "adagrad": (1e-3, 1.0),
    "adadelta": (1e-2, 10.0),
    "adamax": (1e-4, 1.0),
    "nadam": (1e-4, 1.0),
    "radam": (1e-4, 1.0),
}

# Batch sizes: two in a grid, log-spaced choices for a random search and a
# log-uniform integer range for a Bayesian one.
_GRID_BATCH_SIZES = [32, 128]
_RANDOM_BATCH_SIZES = [16, 32, 64, 128, 256]
_BAYES_BATCH_SIZES = (16, 256)

# Adam's beta_2 lives on a log scale of 1 - beta_2: three values, in every kind.
_BETA_2 = [0.99, 0.999, 0.9999]

# NAdam's momentum_decay: torch's 4e-3 in a grid, a log range around it otherwise.
_MOMENTUM_DECAY = (1e-3, 1e-2)

# The parameters of the model's structure: the only shared ones that apply to L-BFGS.
_STRUCTURE = ("hidden_layer_sizes", "activation")

# The optimizers that take mini-batches: all the first-order ones but "gd".
_USES_BATCH_SIZE = set(OPTIMIZERS) - {"gd"}


#: What ``True`` searches for each training tool, in every kind. On standard-
#: scaled data and a target of order one, the gradient's norm is about 1 to
#: 1.5 at the start of a linear fit (up to about 2 on batches of 32): 1.0
#: clips the first and the noisiest steps, 10 only steps that blow up.
DEFAULT_TRAINING_TOOLS = {
    "weight_decay": [0.0, 1e-4, 1e-3, 1e-2],
    "max_grad_norm": [None, 1.0, 10.0],
    "warmup_steps": [0, 10, 100],
    "average": [False, True],
}

#: Each training tool's values: what one is, a check of one, and its type.
_TOOL_VALUES = {
    "weight_decay": ("numbers >= 0, such as [0.0, 0.01]",
                     lambda v: _finite(v) and v >= 0, float),
    "max_grad_norm": ("numbers > 0 or None (no clipping), such as [None, 1.0]",
                      lambda v: v is None or (_finite(v) and v > 0),
                      lambda v: None if v is None else float(v)),
    "warmup_steps": ("integers >= 0, such as [0, 50]",
                     lambda v: _is_int(v) and v >= 0, int),
    "average": ("False, True or decays in (0, 1), such as [False, True, 0.99]",
                lambda v: isinstance(v, (bool, np.bool_)) or (_finite(v) and 0 < v < 1),
                lambda v: bool(v) if isinstance(v, (bool, np.bool_)) else float(v)),
}


def _learning_rate_values(low, high, kind, dimension):
    """Grid: one value per decade from ``low`` to ``high``; else a log range."""
    if kind == "grid":
        # in log space: high / low overflows for a range such as (1e-300, 1e300)
        n_values = max(2, round(math.log10(high) - math.log10(low)) + 1)
        return [float(f"{value:.6g}") for value in np.geomspace(low, high, n_values)]
    if kind == "random":
        return loguniform(low, high)
    return dimension.Real(low, high, prior="log-uniform")


def _uniform(low, high, kind, dimension):
    """A real range: ``uniform`` for random search, ``Real`` for Bayes."""
    if kind == "random":
        return uniform(low, high - low)
    return dimension.Real(low, high)


def _own_rates(schedule):
    """Whether ``schedule``'s rates ignore the base learning rate (``OneCycleLR``)."""
    return isinstance(schedule, Schedule) and schedule.peak_rate() is not None


def _choices(values, kind, dimension):
    """A finite set of values: a list, or ``Categorical`` for Bayes."""
    if kind == "bayes":
        return dimension.Categorical(list(values))
    return list(values)


def _one_space(optimizer, kind, learning_rate, batch_size, schedule, dimension,
               shared=None):
    """The space of one optimizer, without the prefix.

    ``shared``: name -> values that every optimizer's space holds (the MLP's
    structure, the training tools). ``"lbfgs"`` reads none but the structure.
    """
    if optimizer in SECOND_ORDER:  # no learning rate, schedule, batches or training tools
        space = {"optimizer": _choices([optimizer], kind, dimension)}
        for name, values in (shared or {}).items():
            if name in _STRUCTURE:
                space[name] = _choices(values, kind, dimension)
        return space
    low, high = learning_rate or DEFAULT_LEARNING_RATES[optimizer]
    space = {"optimizer": _choices([optimizer], kind, dimension)}
    if not (schedule and all(_own_rates(s) for s in schedule)):  # (OneCycleLR's max_lr)
        space["learning_rate"] = _learning_rate_values(low, high, kind, dimension)
    if schedule:
        space["schedule"] = _choices(schedule, kind, dimension)
    for name, values in (shared or {}).items():  # (a distribution stays as it is)
        space[name] = values if hasattr(values, "rvs") else _choices(values, kind, dimension)
    reads = SPECS[optimizer].hyperparameter_names  # (the spec: one home for a rule's facts)
    if "momentum" in reads:
        space["momentum"] = (
            [0.5, 0.9] if kind == "grid" else _uniform(0.5, 0.99, kind, dimension)
        )
        space["nesterov"] = _choices([False, True], kind, dimension)
    if "rho" in reads:
        space["rho"] = (
            [0.9, 0.99] if kind == "grid" else _uniform(0.8, 0.999, kind, dimension)
        )
    if "beta_1" in reads:
        space["beta_1"] = (
            [0.9] if kind == "grid" else _uniform(0.8, 0.99, kind, dimension)
        )
        space["beta_2"] = _choices(_BETA_2[:2] if kind == "grid" else _BETA_2,
                                   kind, dimension)
    if "momentum_decay" in reads:
        space["momentum_decay"] = (
            [4e-3] if kind == "grid" else _learning_rate_values(*_MOMENTUM_DECAY, kind,
                                                                dimension)
        )
    if isinstance(batch_size, list) and optimizer in _USES_BATCH_SIZE:
        space["batch_size"] = _choices(batch_size, kind, dimension)
    elif batch_size and optimizer in _USES_BATCH_SIZE:
        if kind == "grid":
            space["batch_size"] = list(_GRID_BATCH_SIZES)
        elif kind == "random":
            space["batch_size"] = list(_RANDOM_BATCH_SIZES)
        else:
            space["batch_size"] = dimension.Integer(*_BAYES_BATCH_SIZES,
                                                    prior="log-uniform")
    return space


def _import_skopt_space():
    try:
        from skopt import space
    except ImportError as exc:
        raise ImportError(
            "search_space(kind='bayes') builds skopt.space dimensions for "
            "skopt.BayesSearchCV and needs scikit-optimize: "
            "pip install sk-gradopt[skopt]  (or: pip install scikit-optimize)"
        ) from exc
    return space


def _check_optimizers(optimizer):
    """The optimizer names asked for, and whether to return a list of spaces.

    ``"all"`` is the first-order rules; ``"lbfgs"`` is given by name only.
    """
    valid = ", ".join(repr(name) for name in (*OPTIMIZERS, "all"))
    by_name = ", ".join(repr(name) for name in SECOND_ORDER)
    if isinstance(optimizer, str):
        if optimizer == "all":
            return list(OPTIMIZERS), True
        if optimizer in OPTIMIZERS or optimizer in SECOND_ORDER:
            return [optimizer], False
        raise ValueError(
            f"optimizer={plain_repr(optimizer)} is not valid; use one of {valid} (or "
            f"{by_name}, which 'all' leaves out), or a list of optimizer names."
        )
    if isinstance(optimizer, Sequence) and len(optimizer) > 0:
        unknown = [name for name in optimizer
                   if name not in OPTIMIZERS and name not in SECOND_ORDER]
        if unknown:
            raise ValueError(
                f"Unknown optimizer(s) {plain_repr(unknown)}; valid optimizers are "
                f"{', '.join(repr(name) for name in (*OPTIMIZERS, *SECOND_ORDER))}."
            )
        return list(dict.fromkeys(optimizer)), True
    raise ValueError(
        f"optimizer={plain_repr(optimizer)} is not valid; use one of {valid}, or a "
        "non-empty list of optimizer names."
    )


def _check_learning_rate(learning_rate):
    """``(low, high)`` as floats, checked the way the spaces will use them."""
    if learning_rate is None:
        return None
    message = (
        "learning_rate must be None or a pair (low, high) of numbers with "
        f"0 < low < high < inf (as float64); got {plain_repr(learning_rate, short=True)}."
    )
    if (
        isinstance(learning_rate, (str, bytes))
        or not isinstance(learning_rate, Sequence)
        or len(learning_rate) != 2
        or not all(isinstance(v, Real) and not isinstance(v, bool) for v in learning_rate)
    ):
        raise ValueError(message)
    try:  # an int such as 10**400 is a Real that no float can hold
        low, high = float(learning_rate[0]), float(learning_rate[1])
    except OverflowError:
        raise ValueError(message) from None
    if not 0 < low < high < math.inf:
        raise ValueError(message)
    return low, high


def _check_batch_size(batch_size):
    """``True``, ``False`` or the list of batch sizes to search."""
    if isinstance(batch_size, (bool, np.bool_)):
        return bool(batch_size)
    message = (
        "batch_size must be True (search the default batch sizes), False (leave "
        "batch_size out of the space) or a non-empty list of batch sizes (positive "
        f"integers or 'auto'), such as [8, 16]; got {plain_repr(batch_size, short=True)}."
    )
    if isinstance(batch_size, (str, bytes)) or not isinstance(batch_size, Sequence):
        raise ValueError(message)
    sizes = list(batch_size)
    valid = [
        size == "auto"
        or (isinstance(size, Integral) and not isinstance(size, (bool, np.bool_)) and size >= 1)
        for size in sizes
    ]
    if not sizes or not all(valid):
        raise ValueError(message)
    return [size if size == "auto" else int(size) for size in dict.fromkeys(sizes)]


def _is_int(value):
    """Whether ``value`` is an integer (not a bool)."""
    return isinstance(value, Integral) and not isinstance(value, (bool, np.bool_))


def _finite(value):
    """Whether ``value`` is a real number (not a bool) that is finite as a float64."""
    if not isinstance(value, Real) or isinstance(value, (bool, np.bool_)):
        return False
    try:  # an int such as 10**400 is a Real that no float can hold
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _check_training_tool(name, values):
    """None (leave the estimator's own) or the list of values of ``name`` to search.

    ``name`` is a key of :data:`DEFAULT_TRAINING_TOOLS` (``"weight_decay"``,
    ``"max_grad_norm"``, ``"warmup_steps"``, ``"average"``);
    ``values`` is None, True (:data:`DEFAULT_TRAINING_TOOLS`) or a non-empty
    list (or tuple) of valid values, of which duplicates are dropped.
    """
    if values is None:
        return None
    if values is True or isinstance(values, np.bool_) and values:
        return list(DEFAULT_TRAINING_TOOLS[name])
    what, valid, convert = _TOOL_VALUES[name]
    if (isinstance(values, (str, bytes)) or not isinstance(values, Sequence)
            or not values or not all(valid(value) for value in values)):
        raise ValueError(
            f"{name} must be None (leave the estimator's own), True (search "
            f"{DEFAULT_TRAINING_TOOLS[name]}) or a non-empty list of {what}; "
            f"got {plain_repr(values, short=True)}."
        )
    return list(dict.fromkeys(convert(value) for value in values))


def _check_schedule(schedule):
    """A list of shortcuts, schedule objects and callables (objects as given), or None."""
    if schedule is None:
        return None
    single = isinstance(schedule, str) or isinstance(schedule, Schedule) or callable(schedule)
    names = [schedule] if single else list(schedule)
    unknown = [name for name in names if not (
        (isinstance(name, str) and name in SCHEDULES) or isinstance(name, Schedule)
        or (callable(name) and not isinstance(name, str)))]
    if unknown or not names:
        raise ValueError(
            f"schedule={plain_repr(schedule)} is not valid; use None, one of "
            f"{', '.join(repr(name) for name in SCHEDULES)}, a schedule object of "
            "sk_gradopt.schedules (e.g. StepLR(step_size=10)), a callable, or a list "
            "of them."
        )
    return list(dict.fromkeys(names))


def _check_schedule_params(schedule_params, schedule, kind):
    """``{"schedule__NAME": values}`` from ``schedule_params``, checked against ``schedule``.

    Every schedule searched must be an object with each parameter named.
    Values: a non-empty list; for ``kind="random"`` also a distribution
    (an object with ``rvs``).
    """
    if schedule_params is None:
        return {}
    if not isinstance(schedule_params, dict) or not schedule_params:
        raise ValueError(f"schedule_params={plain_repr(schedule_params)} is not valid: "
                         "pass a dict such as {'gamma': [0.5, 0.9]}.")
    objects = [s for s in schedule or [] if isinstance(s, Schedule)]
    if not objects or len(objects) != len(schedule):
        raise ValueError(
            "schedule_params searches the parameters of schedule objects: pass them as "
            "schedule= (e.g. schedule=StepLR(step_size=10), schedule_params={'gamma': "
            f"[0.5, 0.9]}}); got schedule={plain_repr(schedule)}."
        )
    space = {}
    for name, values in schedule_params.items():
        missing = [type(s).__name__ for s in objects if name not in s.get_params()]
        if missing:
            raise ValueError(f"schedule_params: {', '.join(missing)} has no parameter "
                             f"{name!r}.")
        if hasattr(values, "rvs") and kind == "random":
            space[f"schedule__{name}"] = values
        elif isinstance(values, (list, tuple)) and values:
            space[f"schedule__{name}"] = list(values)
        else:
            raise ValueError(f"schedule_params[{name!r}]={plain_repr(values)} is not valid: "
                             "pass a non-empty list (or a scipy.stats distribution for "
                             "kind='random').")
    return space


def _check_hidden_layer_sizes(hidden_layer_sizes, kind):
    """Lists of tuples of positive ints (strings ``"64,32"`` for Bayes: skopt holds no tuples)."""
    if hidden_layer_sizes is None:
        return None
    # A list of structures: a bare tuple of ints, (64, 32), would be ambiguous.
    choices = list(hidden_layer_sizes) if isinstance(hidden_layer_sizes, list) else []
    sizes = []
    for choice in choices:
        layers = (choice,) if isinstance(choice, Integral) else choice
        if not (isinstance(layers, (list, tuple)) and layers and all(
                isinstance(units, Integral) and not isinstance(units, bool) and units >= 1
                for units in layers)):
            sizes = None
            break
        sizes.append(tuple(int(units) for units in layers))
    if not sizes:
        raise ValueError(
            f"hidden_layer_sizes={plain_repr(hidden_layer_sizes, short=True)} is not valid; "
            "use a list of structures, each a tuple of positive layer sizes, e.g. "
            "[(32,), (64, 64)] (one structure: [(64, 32)])."
        )
    sizes = list(dict.fromkeys(sizes))
    if kind == "bayes":
        return [",".join(map(str, layers)) for layers in sizes]
    return sizes


def _check_activation(activation):
    if activation is None:
        return None
    names = [activation] if isinstance(activation, str) else list(activation)
    unknown = [name for name in names if name not in ACTIVATIONS]
    if unknown or not names:
        raise ValueError(
            f"activation={plain_repr(activation)} is not valid; use None, one of "
            f"{', '.join(repr(name) for name in ACTIVATIONS)}, or a list of them."
        )
    return list(dict.fromkeys(names))


def search_space(optimizer="all", kind="grid", *, prefix="", learning_rate=None,
                 batch_size=True, schedule=None, hidden_layer_sizes=None,
                 activation=None, weight_decay=None, max_grad_norm=None,
                 warmup_steps=None, average=None, schedule_params=None):
    """Search space over an optimizer's settings, for a scikit-learn searcher.

    Each optimizer's space holds only the parameters that optimizer reads.
    The default ranges suit standardized features and a target of order one,
    and include rates that diverge on some problems (such a fit scores
    badly, it does not fail the search): the tuning guide lists them, and
    how each searcher reads a list of spaces.

    Parameters
    ----------
    optimizer : str or list of str, default="all"
        One of ``OPTIMIZERS`` or ``"lbfgs"``, ``"all"`` (every first-order
        one) or a list of names: a list of spaces, one per optimizer.
        ``"lbfgs"`` joins only when named; its space holds ``optimizer`` and
        the MLP structure.
    kind : {"grid", "random", "bayes"}, default="grid"
        Lists of values for ``GridSearchCV``; ``scipy.stats`` distributions
        and lists for ``RandomizedSearchCV`` and the ``Halving*`` searches;
        ``skopt.space`` dimensions for ``skopt.BayesSearchCV`` (needs
        ``pip install sk-gradopt[skopt]``).
    prefix : str, default=""
        Prepended to every name, e.g. ``"gradientregressor__"`` for the
        step of a Pipeline; empty or ending with ``"__"``.
    learning_rate : (float, float) or None, default=None
        The range ``(low, high)`` of every optimizer; None: each its own.
    batch_size : bool or list of (int or "auto"), default=True
        Search the default sizes (True), none (False) or these (a list), for
        the mini-batch optimizers.
    schedule : str, schedule object, callable, list of them, or None, default=None
        Schedules to search in every space (shortcuts, objects of
        :mod:`sk_gradopt.schedules`, callables); None leaves the estimator's.
    hidden_layer_sizes : list of tuple of int or None, default=None
        MLP structures, e.g. ``[(32,), (64, 64)]`` (strings ``"64,64"`` for
        Bayes, which cannot hold tuples); None leaves the estimator's.
    activation : str, list of str or None, default=None
        MLP hidden activations; None leaves the estimator's.
    weight_decay, max_grad_norm, warmup_steps, average : bool, list or None, default=None
        Training tools to search in every space: True their default set
        (``[0.0, 1e-4, 1e-3, 1e-2]``, ``[None, 1.0, 10.0]``, ``[0, 10, 100]``,
        ``[False, True]``), a list exactly those values, None the estimator's.
    schedule_params : dict or None, default=None
        Parameters of the schedule objects to search, e.g. ``{"gamma":
        [0.5, 0.9]}`` gives ``schedule__gamma`` (a list, or for ``"random"``
        a distribution).

    Returns
    -------
    space : dict or list of dict
        Parameter name (with the prefix) to values, ``optimizer`` included;
        a list of them for ``"all"`` or a list of names.

    Raises
    ------
    ValueError
        If an argument is not valid; the message lists the valid values.
    ImportError
        If ``kind="bayes"`` and scikit-optimize is not installed.

    Examples
    --------
    >>> from sk_gradopt import search_space
    >>> search_space("adam", prefix="gradientregressor__")
    {'gradientregressor__optimizer': ['adam'], \
'gradientregressor__learning_rate': [0.0001, 0.001, 0.01, 0.1, 1.0], \
'gradientregressor__beta_1': [0.9], \
'gradientregressor__beta_2': [0.99, 0.999], \
'gradientregressor__batch_size': [32, 128]}
    >>> [sorted(space) for space in search_space(["gd", "sgd"], "random")]
    [['learning_rate', 'optimizer'], ['batch_size', 'learning_rate', 'optimizer']]
    """
    optimizers, as_list = _check_optimizers(optimizer)
    _check_kind_and_prefix(kind, prefix)
    learning_rate = _check_learning_rate(learning_rate)
    batch_size = _check_batch_size(batch_size)
    schedule = _check_schedule(schedule)
    shared = _shared_values(kind, schedule, schedule_params, {
        "hidden_layer_sizes": hidden_layer_sizes, "activation": activation,
        "weight_decay": weight_decay, "max_grad_norm": max_grad_norm,
        "warmup_steps": warmup_steps, "average": average})
    dimension = _import_skopt_space() if kind == "bayes" else None
    spaces = [
        {prefix + key: values for key, values in _one_space(
            name, kind, learning_rate, batch_size, schedule, dimension, shared).items()}
        for name in optimizers
    ]
    return spaces if as_list else spaces[0]


def _check_kind_and_prefix(kind, prefix):
    if kind not in KINDS:
        raise ValueError(
            f"kind={plain_repr(kind)} is not valid; use one of "
            f"{', '.join(repr(name) for name in KINDS)} (for GridSearchCV, "
            "RandomizedSearchCV / HalvingRandomSearchCV, BayesSearchCV)."
        )
    if not isinstance(prefix, str) or (prefix and not prefix.endswith("__")):
        raise ValueError(
            f"prefix={plain_repr(prefix)} is not valid: it must be '' or a Pipeline step "
            "name followed by '__', e.g. 'gradientregressor__'."
        )


def _shared_values(kind, schedule, schedule_params, asked):
    """Name -> values that every optimizer's space holds: the structure, the tools, the
    schedule objects' parameters (``asked``: the arguments, None where not asked)."""
    checks = {
        "hidden_layer_sizes": lambda v: _check_hidden_layer_sizes(v, kind),
        "activation": _check_activation,
    }
    shared = {}
    for name, value in asked.items():
        check = checks.get(name, lambda v, name=name: _check_training_tool(name, v))
        values = check(value)
        if values is not None:
            shared[name] = values
    # (a list; or a distribution, as given)
    shared.update(_check_schedule_params(schedule_params, schedule, kind))
    return shared
