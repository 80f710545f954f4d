"""Learning-rate schedules and warmup: the rate of every optimizer step.

A schedule is one of

* a string shortcut: ``"constant"``, ``"invscaling"``, ``"cosine"`` (pure
  functions of the step and epoch counters) or ``"adaptive"`` (constant
  here; its plateau decay is the stopping rule's, see below);
* a schedule object of this module, named and behaving as torch's
  ``torch.optim.lr_scheduler`` class of the same name: :class:`StepLR`,
  :class:`ExponentialLR`, :class:`CosineAnnealingWarmRestarts` and
  :class:`ReduceLROnPlateau` step once per epoch, :class:`OneCycleLR` once
  per optimizer step (batch);
* a callable ``factor(step) -> float`` that multiplies the base rate, as
  ``torch.optim.lr_scheduler.LambdaLR`` does.

The objects are scikit-learn estimators of parameters only
(``get_params``/``set_params``), so that ``clone`` copies them and a search
reaches ``estimator__schedule__gamma``. Their parameters are validated when
the estimator fits. Linear warmup multiplies whichever schedule.

The rules that watch the monitored loss (``"adaptive"`` and
:class:`ReduceLROnPlateau`) lower the base rate the loop hands to the
schedule; their state lives with the stopping rule
(:class:`sk_gradopt._training.Stopping`), not in the object.

:func:`scheduled_learning_rates` is the one place where the rate of a step is
computed (:func:`scheduled_learning_rate` is its one-step form); the training
loop reaches it through :meth:`~sk_gradopt._epoch.Config.learning_rate_at`.
"""

import math
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval

__all__ = [
    "CosineAnnealingWarmRestarts",
    "ExponentialLR",
    "OneCycleLR",
    "ReduceLROnPlateau",
    "StepLR",
]

SCHEDULES = ("constant", "invscaling", "adaptive", "cosine")


class Schedule(BaseEstimator):
    """The base of the schedule objects: ``rates`` of a run of steps, validation.

    Subclasses implement :meth:`rates`. ``per_step`` tells whether the rate
    changes within an epoch (else one rate serves every step of an epoch).
    """

    per_step = False
    _parameter_constraints: dict = {}

    def peak_rate(self):
        """The schedule's own rate where its rates ignore the base one (OneCycleLR's
        ``max_lr``), else None: the base rate (the estimator's ``learning_rate``) counts."""
        return None

    def validate(self):
        """Check the parameters (scikit-learn's declarative constraints); return self."""
        self._validate_params()
        return self

    def rates(self, base, steps, *, epoch, steps_per_epoch, max_iter):
        """The learning rate of each of ``steps`` (an int array, counted from 0).

        Parameters
        ----------
        base : float
            The base learning rate (the estimator's ``learning_rate``, or
            what a plateau rule made of it).
        steps : ndarray of int
            Optimizer steps taken before each step (the first step is 0).
        epoch : int
            Epochs completed before these steps.
        steps_per_epoch : int
            Optimizer steps per epoch (batches per epoch).
        max_iter : int
            The epoch budget of a fit.

        Returns
        -------
        ndarray of float64, the shape of ``steps``
        """
        raise NotImplementedError


class StepLR(Schedule):
    """``base * gamma ** (epoch // step_size)``: torch's ``StepLR``, once per epoch.

    Parameters
    ----------
    step_size : int
        Epochs between two decays, >= 1.
    gamma : float, default=0.1
        The factor of each decay, > 0.

    Examples
    --------
    >>> from sk_gradopt.schedules import StepLR
    >>> [float(StepLR(2, gamma=0.5).rates(1.0, [0], epoch=e, steps_per_epoch=1,
    ...                                      max_iter=5)[0]) for e in range(5)]
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    _parameter_constraints: dict = {
        "step_size": [Interval(Integral, 1, None, closed="left")],
        "gamma": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, step_size, gamma=0.1):
        self.step_size = step_size
        self.gamma = gamma

    def rates(self, base, steps, *, epoch, steps_per_epoch, max_iter):
        rate = base * float(self.gamma) ** (epoch // int(self.step_size))
        return np.full(np.shape(steps), rate)


class ExponentialLR(Schedule):
    """``base * gamma ** epoch``: torch's ``ExponentialLR``, once per epoch.

    Parameters
    ----------
    gamma : float
        The factor of every epoch, > 0.
    """

    _parameter_constraints: dict = {"gamma": [Interval(Real, 0, None, closed="neither")]}

    def __init__(self, gamma):
        self.gamma = gamma

    def rates(self, base, steps, *, epoch, steps_per_epoch, max_iter):
        return np.full(np.shape(steps), base * float(self.gamma) ** epoch)


class CosineAnnealingWarmRestarts(Schedule):
    """Cosine annealing from the base rate to ``eta_min`` with restarts: torch's, per epoch.

    ``eta_min + (base - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2``, where
    the ``i``-th period lasts ``T_i = T_0 * T_mult ** i`` epochs and
    ``T_cur`` counts the epochs since the last restart.

    Parameters
    ----------
    T_0 : int
        Epochs of the first period, >= 1.
    T_mult : int, default=1
        The factor of each period's length over the one before, >= 1.
    eta_min : float, default=0.0
        The lowest rate, absolute (as torch's), >= 0.
    """

    _parameter_constraints: dict = {
        "T_0": [Interval(Integral, 1, None, closed="left")],
        "T_mult": [Interval(Integral, 1, None, closed="left")],
        "eta_min": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, T_0, T_mult=1, eta_min=0.0):
        self.T_0 = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min

    def rates(self, base, steps, *, epoch, steps_per_epoch, max_iter):
        t_cur, t_i = epoch, int(self.T_0)
        if self.T_mult == 1:
            t_cur = epoch % t_i
        else:
            while t_cur >= t_i:  # (logarithmically many periods)
                t_cur, t_i = t_cur - t_i, t_i * int(self.T_mult)
        eta_min = float(self.eta_min)
        rate = eta_min + (base - eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2
        return np.full(np.shape(steps), rate)


class OneCycleLR(Schedule):
    """The one-cycle policy: torch's ``OneCycleLR`` (cosine, no momentum cycling), per step.

    Over ``total_steps = max_iter * steps_per_epoch`` optimizer steps, the
    rate rises from ``max_lr / div_factor`` to ``max_lr`` during the first
    ``pct_start`` of them, then falls to ``max_lr / (div_factor *
    final_div_factor)``, both by cosine annealing. ``max_lr`` is absolute:
    the estimator's ``learning_rate`` is not used. Steps beyond
    ``total_steps`` (``partial_fit`` past ``max_iter`` epochs) keep the final
    rate, where torch raises.

    Parameters
    ----------
    max_lr : float
        The peak rate, > 0.
    pct_start : float, default=0.3
        The fraction of the steps spent rising, in (0, 1).
    div_factor : float, default=25.0
        ``max_lr / div_factor`` is the initial rate, > 0.
    final_div_factor : float, default=1e4
        The final rate is the initial one over this, > 0.
    """

    per_step = True
    _parameter_constraints: dict = {
        "max_lr": [Interval(Real, 0, None, closed="neither")],
        "pct_start": [Interval(Real, 0, 1, closed="neither")],
        "div_factor": [Interval(Real, 0, None, closed="neither")],
        "final_div_factor": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, max_lr, pct_start=0.3, div_factor=25.0, final_div_factor=1e4):
        self.max_lr = max_lr
        self.pct_start = pct_start
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor

    def peak_rate(self):
        return float(self.max_lr)

    def rates(self, base, steps, *, epoch, steps_per_epoch, max_iter):
        max_lr = float(self.max_lr)
        initial = max_lr / float(self.div_factor)
        final = initial / float(self.final_div_factor)
        total = max_iter * steps_per_epoch
        rise_end = float(self.pct_start * total) - 1  # torch's phase ends
        fall_end = float(total - 1)
        step = np.minimum(np.asarray(steps, dtype=np.float64), fall_end)
        rising = step <= rise_end
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = np.where(rising, step / rise_end, (step - rise_end) / (fall_end - rise_end))
        pct = np.nan_to_num(pct, nan=1.0, posinf=1.0)  # (a phase of no steps)
        start = np.where(rising, initial, max_lr)
        end = np.where(rising, max_lr, final)
        return end + (start - end) / 2.0 * (np.cos(np.pi * pct) + 1)


class ReduceLROnPlateau(Schedule):
    """Lower the rate when the monitored loss stops improving: torch's ``ReduceLROnPlateau``.

    Once per epoch, on the value the fit records (the training objective of
    ``loss_curve_``, or the validation loss with validation data; mode
    ``"min"``, relative threshold): an epoch improves when its value is
    below ``best * (1 - threshold)``. With ``scoring`` the value is the
    validation score and the mode ``"max"``: an epoch improves when its
    score is above ``best * (1 + threshold)``. After more than ``patience`` epochs
    without improvement the base rate becomes ``max(rate * factor,
    min_lr)`` (a change under 1e-8 is skipped, as torch does), and
    ``cooldown`` epochs follow in which no bad epoch counts. The rule's
    state (best value, counters, the current rate) lives with the fit and
    carries over ``partial_fit`` calls; ``fit`` starts it afresh.

    Parameters
    ----------
    factor : float, default=0.1
        The factor of each reduction, in (0, 1).
    patience : int, default=10
        Epochs without improvement tolerated, >= 0.
    threshold : float, default=1e-4
        The relative improvement that counts, >= 0.
    cooldown : int, default=0
        Epochs after a reduction during which nothing counts, >= 0.
    min_lr : float, default=0
        The lowest rate, >= 0.
    """

    plateau_rule = True  # the loop's stopping rule applies it (see the class docstring)
    _parameter_constraints: dict = {
        "factor": [Interval(Real, 0, 1, closed="neither")],
        "patience": [Interval(Integral, 0, None, closed="left")],
        "threshold": [Interval(Real, 0, None, closed="left")],
        "cooldown": [Interval(Integral, 0, None, closed="left")],
        "min_lr": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, factor=0.1, patience=10, threshold=1e-4, cooldown=0, min_lr=0):
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.cooldown = cooldown
        self.min_lr = min_lr

    def rates(self, base, steps, *, epoch, steps_per_epoch, max_iter):
        return np.full(np.shape(steps), float(base))


# ------------------------------------------------------ the rate of a step


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
                            warmup_steps=0, steps_per_epoch=1):
    """The learning rate of the next optimizer step.

    Parameters
    ----------
    schedule : {"constant", "invscaling", "adaptive", "cosine"}, Schedule or callable
        The schedule; a callable ``factor(step) -> float`` gives
        ``base * factor(step)`` (torch's ``LambdaLR``).
    base : float
        The base learning rate (for ``"adaptive"`` and
        :class:`ReduceLROnPlateau`, the current one).
    step : int
        Optimizer steps taken so far (the first step is step 0).
    epoch : int
        Epochs completed so far.
    max_iter : int
        The epoch budget ``"cosine"`` and :class:`OneCycleLR` anneal over.
    power_t : float
        The exponent of ``"invscaling"``.
    warmup_steps : int, default=0
        Linear warmup: the scheduled rate times
        ``min(1, (step + 1) / warmup_steps)``; 0 is none.
    steps_per_epoch : int, default=1
        Optimizer steps per epoch (for :class:`OneCycleLR`).

    Returns
    -------
    float
        ``base`` for ``"constant"``/``"adaptive"``,
        ``base / (step + 1) ** power_t`` for ``"invscaling"``, and
        ``base * (1 + cos(pi * epoch / max_iter)) / 2`` for ``"cosine"``;
        the object's rate for a schedule object; times the warmup factor
        during the first ``warmup_steps`` steps.

    Examples
    --------
    >>> [scheduled_learning_rate("constant", 1.0, step=t, epoch=0, max_iter=1,
    ...                          power_t=0.5, warmup_steps=4) for t in range(5)]
    [0.25, 0.5, 0.75, 1.0, 1.0]
    """
    if isinstance(schedule, Schedule):
        rate = float(schedule.rates(base, np.array([step]), epoch=epoch,
                                    steps_per_epoch=steps_per_epoch, max_iter=max_iter)[0])
    else:
        rate = _scheduled(schedule, base, step, epoch, max_iter, power_t)
    if step + 1 < warmup_steps:
        rate *= warmup_factor(step, warmup_steps)
    return rate


def scheduled_learning_rates(schedule, base, *, steps, epoch, max_iter, power_t,
                             warmup_steps=0, steps_per_epoch=1):
    """:func:`scheduled_learning_rate` of every step of ``steps``, as a float64 array.

    For the compiled epoch, which takes the rate of each of its steps at
    once. The same formulas on NumPy arrays (``np.power`` may differ from
    Python's ``**`` in the last bit). Where every step has the same rate
    (a constant, adaptive or cosine schedule, or a schedule object that
    steps once per epoch, past the warmup), the result holds that one rate.

    Parameters
    ----------
    steps : ndarray of int
        The steps (counted from 0), in order.
    schedule, base, epoch, max_iter, power_t, warmup_steps, steps_per_epoch
        As for :func:`scheduled_learning_rate`.

    Returns
    -------
    ndarray of float64 of shape (len(steps),) or (1,)
    """
    in_warmup = warmup_steps and steps[0] + 1 < warmup_steps
    per_step = callable(schedule) or schedule == "invscaling" or getattr(
        schedule, "per_step", False)
    if not per_step and not in_warmup:
        return np.array([scheduled_learning_rate(
            schedule, base, step=int(steps[0]), epoch=epoch, max_iter=max_iter,
            power_t=power_t, steps_per_epoch=steps_per_epoch)])
    if isinstance(schedule, Schedule):
        rates = schedule.rates(base, steps, epoch=epoch, steps_per_epoch=steps_per_epoch,
                               max_iter=max_iter)
    elif callable(schedule):
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
