"""Learning-rate schedules.

``"constant"``, ``"invscaling"`` and ``"cosine"`` are pure functions of the
step and epoch counters. ``"adaptive"`` is constant here: the training loop
divides the base learning rate by 5 each time the stopping rule would
otherwise stop (as ``SGDRegressor(learning_rate="adaptive")`` does).
"""

import math

SCHEDULES = ("constant", "invscaling", "adaptive", "cosine")


def scheduled_learning_rate(schedule, base, *, step, epoch, max_iter, power_t):
    """The learning rate of the next optimizer step.

    Parameters
    ----------
    schedule : {"constant", "invscaling", "adaptive", "cosine"}
        The schedule.
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

    Returns
    -------
    float
        ``base`` for ``"constant"``/``"adaptive"``,
        ``base / (step + 1) ** power_t`` for ``"invscaling"``, and
        ``base * (1 + cos(pi * epoch / max_iter)) / 2`` for ``"cosine"``.
    """
    if schedule == "invscaling":
        try:
            return base / (step + 1) ** power_t
        except OverflowError:  # (step + 1) ** power_t beyond the floats: the rate is 0
            return 0.0
    if schedule == "cosine":
        return base * 0.5 * (1.0 + math.cos(math.pi * min(epoch, max_iter) / max_iter))
    return base
