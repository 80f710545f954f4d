"""Learning-rate schedules and warmup: the rate of every optimizer step.

``"constant"``, ``"invscaling"`` and ``"cosine"`` are pure functions of the
step and epoch counters. ``"adaptive"`` is constant here: its plateau decay
belongs to the stopping rule (:class:`~sk_gradopt._training.Stopping`), which
lowers the base learning rate it hands over. A callable schedule
``factor(step)`` multiplies the base rate, as
``torch.optim.lr_scheduler.LambdaLR`` does (the learning-rate range test
ramps the rate that way). Linear warmup multiplies whichever schedule.

:func:`scheduled_learning_rate` is the one place where the rate of a step is
computed; the training loop reaches it through
:meth:`~sk_gradopt._epoch.Config.learning_rate_at`.
"""

import math

import numpy as np

SCHEDULES = ("constant", "invscaling", "adaptive", "cosine")


def warmup_factor(step, warmup_steps):
    """``min(1, (step + 1) / warmup_steps)``: linear warmup (1 without warmup).

    Parameters
    ----------
    step : int
        Optimizer steps taken so far (the first step is step 0).
    warmup_steps : int
        Length of the warmup; 0 is none.

    Returns
    -------
    float
    """
    if step + 1 >= warmup_steps:
        return 1.0
    return (step + 1) / warmup_steps


def scheduled_learning_rate(schedule, base, *, step, epoch, max_iter, power_t,
                            warmup_steps=0):
    """The learning rate of the next optimizer step.

    Parameters
    ----------
    schedule : {"constant", "invscaling", "adaptive", "cosine"} or callable
        The schedule; a callable ``factor(step) -> float`` gives
        ``base * factor(step)`` (torch's ``LambdaLR``).
    base : float
        The base learning rate (for ``"adaptive"``, the current one).
    step : int
        Optimizer steps taken so far (the first step is step 0).
    epoch : int
        Epochs completed so far.
    max_iter : int
        The epoch budget ``"cosine"`` anneals over.
    power_t : float
        The exponent of ``"invscaling"``.
    warmup_steps : int, default=0
        Linear warmup: the scheduled rate times
        ``min(1, (step + 1) / warmup_steps)``; 0 is none.

    Returns
    -------
    float
        ``base`` for ``"constant"``/``"adaptive"``,
        ``base / (step + 1) ** power_t`` for ``"invscaling"``, and
        ``base * (1 + cos(pi * epoch / max_iter)) / 2`` for ``"cosine"``;
        times the warmup factor during the first ``warmup_steps`` steps.

    Examples
    --------
    >>> [scheduled_learning_rate("constant", 1.0, step=t, epoch=0, max_iter=1,
    ...                          power_t=0.5, warmup_steps=4) for t in range(5)]
    [0.25, 0.5, 0.75, 1.0, 1.0]
    """
    rate = _scheduled(schedule, base, step, epoch, max_iter, power_t)
    if step + 1 < warmup_steps:
        rate *= warmup_factor(step, warmup_steps)
    return rate


def scheduled_learning_rates(schedule, base, *, steps, epoch, max_iter, power_t,
                             warmup_steps=0):
    """:func:`scheduled_learning_rate` of every step of ``steps``, as a float64 array.

    For the compiled epoch, which takes the rate of each of its steps at
    once. The same formulas on NumPy arrays (``np.power`` may differ from
    Python's ``**`` in the last bit). Where every step has the same rate
    (a constant, adaptive or cosine schedule past the warmup), the result
    holds that one rate.

    Parameters
    ----------
    steps : ndarray of int
        The steps (counted from 0), in order.
    schedule, base, epoch, max_iter, power_t, warmup_steps
        As for :func:`scheduled_learning_rate`.

    Returns
    -------
    ndarray of float64 of shape (len(steps),) or (1,)
    """
    in_warmup = warmup_steps and steps[0] + 1 < warmup_steps
    if not callable(schedule) and schedule != "invscaling" and not in_warmup:
        return np.array([_scheduled(schedule, base, int(steps[0]), epoch, max_iter, power_t)])
    if callable(schedule):
        rates = base * np.array([schedule(int(step)) for step in steps], dtype=np.float64)
    elif schedule == "invscaling":
        with np.errstate(over="ignore"):  # overflow: a rate of 0, as in the scalar form
            rates = base / (steps + 1.0) ** power_t
    else:
        rates = np.full(steps.shape, _scheduled(schedule, base, int(steps[0]), epoch,
                                                max_iter, power_t))
    if in_warmup:
        rates = np.where(steps + 1 < warmup_steps, rates * ((steps + 1) / warmup_steps), rates)
    return rates


def _scheduled(schedule, base, step, epoch, max_iter, power_t):
    if callable(schedule):
        return base * schedule(step)
    if schedule == "invscaling":
        try:
            return base / (step + 1) ** power_t
        except OverflowError:  # (step + 1) ** power_t beyond the floats: the rate is 0
            return 0.0
    if schedule == "cosine":
        return base * 0.5 * (1.0 + math.cos(math.pi * min(epoch, max_iter) / max_iter))
    return base
