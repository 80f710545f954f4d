"""Weight averaging: the running average of the iterates, as ``torch.optim.swa_utils`` keeps it.

``average=True`` is the equal average of the iterates after every optimizer
step (``AveragedModel(model)`` with ``update_parameters`` after each
``step()``); a float ``decay`` in (0, 1) is their exponential moving average
(``AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay))``). As in
torch, the weights before the first step are not part of the average: the
first update copies the iterate, and the moving average starts from it.
"""

from typing import Any, NamedTuple

from ._array_api import namespace
from ._tree import tree_map

__all__ = ["Average", "averaged_weights", "decay_of", "update_average"]


class Average(NamedTuple):
    """The state of the average: ``AveragedModel``'s parameters and ``n_averaged``."""

    params: Any  # tuple of Layer, or None before the first update
    count: int = 0  # the iterates averaged so far


def decay_of(average):
    """The EMA decay of the estimator's ``average``: None for the equal average (``True``)."""
    return None if average is True else float(average)


def update_average(average, params, decay):
    """``average`` updated with the iterate ``params``: one ``update_parameters`` call.

    The equal average moves to ``a + (p - a) / (n + 1)`` (torch's
    ``get_swa_multi_avg_fn``), the moving average to ``a + (1 - decay) * (p -
    a)`` (``get_ema_multi_avg_fn``: a ``lerp`` by ``1 - decay``); the first
    update copies ``params``.
    """
    if average.count == 0:
        return Average(tree_map(lambda p: namespace(p).asarray(p, copy=True), params), 1)
    weight = 1.0 / (average.count + 1) if decay is None else 1.0 - decay
    return Average(tree_map(lambda a, p: a + weight * (p - a), average.params, params),
                   average.count + 1)


def averaged_weights(params, average):
    """The weights a model exposes: the average where one was taken, else ``params``."""
    if average is None or average.count == 0:
        return params
    return average.params
