"""The learning-rate range test: the loss against a geometrically rising learning rate.

:func:`lr_range_test` (Smith's "LR range test", as fastai's ``lr_find`` and
``torch-lr-finder``) takes optimizer steps with a learning rate ramped
geometrically from ``min_lr`` to ``max_lr``, records the loss after each, and
stops once the smoothed loss exceeds a multiple of the best. It prepares the
fit through the estimator's seam (``_prepare_fit``: the validated data, the
:class:`~sk_gradopt._training.Config`, the initial weights and the random
state that ``fit`` would use) and runs its own short loop on it with
:func:`~sk_gradopt._training.gradient_step` and the one learning-rate function
fed a ramp instead of a schedule, so clipping, weight decay, the penalty and
every optimizer and backend behave as in ``fit``.

The result is plotted by :class:`~sk_gradopt.LRRangeTestDisplay`
(``from_result``); this module never imports the display.
"""

import math
import warnings
from dataclasses import replace
from numbers import Integral, Real

import numpy as np
from sklearn.base import clone
from sklearn.utils._param_validation import HasMethods, Interval, validate_params

from ._array_api import (
    detached,
    dispatch_for,
    import_cupy,
    is_cupy_array,
    is_dask_collection,
    namespace,
    to_numpy,
)
from ._base import BaseGradientEstimator
from ._epoch import batches, gradient_step

__all__ = ["LRRangeTestResult", "lr_range_test"]


class LRRangeTestResult:
    """What :func:`lr_range_test` found: the loss against the learning rate.

    Attributes
    ----------
    learning_rates_ : ndarray of shape (n_points,)
        The learning rate of each step taken, geometrically increasing.
    losses_ : ndarray of shape (n_points,)
        The loss after each step: the training objective estimated on the
        next mini-batch (exactly the objective for ``"gd"``).
    smoothed_losses_ : ndarray of shape (n_points,)
        ``losses_`` smoothed exponentially (debiased), as in fastai.
    suggestion_ : float or None
        The learning rate where the smoothed loss falls fastest, after
        skipping the first ``skip_start`` and the last ``skip_end`` points;
        None when too few points remain. A heuristic: read the curve.
    stopped_early_ : bool
        Whether the loss exceeded ``stop_factor`` times the best (or was
        not finite) before ``max_lr``.
    name_ : str
        The estimator's ``optimizer``: the legend name of its plot.

    See Also
    --------
    LRRangeTestDisplay.from_result : Draw the curve.
    """

    def __init__(self, learning_rates, losses, smoothed_losses, suggestion, *,
                 stopped_early, name):
        self.learning_rates_ = np.asarray(learning_rates, dtype=float)
        self.losses_ = np.asarray(losses, dtype=float)
        self.smoothed_losses_ = np.asarray(smoothed_losses, dtype=float)
        self.suggestion_ = suggestion
        self.stopped_early_ = stopped_early
        self.name_ = name

    def __repr__(self):
        suggestion = "None" if self.suggestion_ is None else f"{self.suggestion_:.3g}"
        return (f"LRRangeTestResult(name={self.name_!r}, n_points={len(self.losses_)}, "
                f"suggestion_={suggestion}, stopped_early_={self.stopped_early_})")


@validate_params(
    {
        "estimator": [HasMethods(["fit"])],
        "X": "no_validation",
        "y": "no_validation",
        "min_lr": [Interval(Real, 0, None, closed="neither")],
        "max_lr": [Interval(Real, 0, None, closed="neither")],
        "num_steps": [Interval(Integral, 2, None, closed="left")],
        "smoothing": [Interval(Real, 0, 1, closed="left")],
        "stop_factor": [Interval(Real, 1, None, closed="neither"), None],
        "skip_start": [Interval(Integral, 0, None, closed="left")],
        "skip_end": [Interval(Integral, 0, None, closed="left")],
        "sample_weight": "no_validation",
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=False,
)
def lr_range_test(estimator, X, y, *, min_lr=1e-7, max_lr=10.0, num_steps=100,
                  smoothing=0.9, stop_factor=4.0, skip_start=10, skip_end=5,
                  sample_weight=None, random_state=None):
    """The learning-rate range test: the loss against a geometrically rising learning rate.

    Starting from the estimator's initial weights, takes ``num_steps``
    optimizer steps with the learning rate of step ``t`` (from 0)
    ``min_lr * (max_lr / min_lr) ** (t / (num_steps - 1))``, and records the
    loss after each step. The ramp replaces ``learning_rate``, ``schedule``
    and ``warmup_steps``; everything else about the estimator applies: the
    optimizer and its settings, ``batch_size`` and ``shuffle`` (a step is a
    mini-batch, and the epochs follow one another), the loss, the penalty,
    ``max_grad_norm``, ``weight_decay``, the class weights and the
    ``backend``.

    The test runs on a clone: ``estimator`` is never modified (nor fitted).
    It is deterministic for a given ``random_state``.

    Read the curve, not only ``suggestion_``: the loss stays flat while the
    rate is too small to matter, falls, reaches a minimum, then rises as the
    steps overshoot. Good constant rates lie on the falling part, below the
    minimum; ``suggestion_`` (the steepest fall) is a heuristic that depends
    on ``num_steps`` and ``smoothing`` and on the noise of the mini-batches.

    Parameters
    ----------
    estimator : estimator instance
        A :class:`GradientRegressor`, :class:`GradientClassifier` or another
        estimator of sk_gradopt, or a Pipeline ending in one (the preceding
        steps are fitted on ``X`` and transform it first). Fitted or not.
    X : array of shape (n_samples, n_features)
        Training data.
    y : array of shape (n_samples,) or (n_samples, n_targets)
        Targets.
    min_lr, max_lr : float, default=1e-7, 10.0
        The first and the last learning rate of the ramp.
    num_steps : int, default=100
        Optimizer steps from ``min_lr`` to ``max_lr``.
    smoothing : float, default=0.9
        Weight of the past in the exponential moving average of the loss,
        ``avg = smoothing * avg + (1 - smoothing) * loss``, debiased by
        ``1 - smoothing ** (t + 1)``; 0 is no smoothing. The average lags:
        it shifts the curve towards larger rates by about
        ``smoothing / (1 - smoothing)`` steps.
    stop_factor : float or None, default=4.0
        Stop once the smoothed loss exceeds ``stop_factor`` times the best
        smoothed loss seen; None runs every step (a non-finite loss always
        stops the test).
    skip_start, skip_end : int, default=10, 5
        Points at either end of the curve that ``suggestion_`` ignores.
    sample_weight : array of shape (n_samples,), default=None
        Sample weights, for the last step of a Pipeline.
    random_state : int, RandomState instance or None, default=None
        Seeds the batches (and any random initial weights); None uses the
        estimator's ``random_state``.

    Returns
    -------
    result : LRRangeTestResult
        ``learning_rates_``, ``losses_``, ``smoothed_losses_`` and
        ``suggestion_``; :meth:`LRRangeTestDisplay.from_result` draws it.

    See Also
    --------
    LRRangeTestDisplay : The plot of the curve.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sk_gradopt import GradientRegressor, lr_range_test
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    >>> model = make_pipeline(StandardScaler(), GradientRegressor(optimizer="sgd"))
    >>> result = lr_range_test(model, X, y / y.std(), random_state=0)
    >>> len(result.losses_), float(result.learning_rates_[0])
    (100, 1e-07)
    >>> 0.01 < result.suggestion_ < 2.0
    True
    """
    if not min_lr < max_lr:
        raise ValueError(f"min_lr must be smaller than max_lr; got min_lr={min_lr}, "
                         f"max_lr={max_lr}.")
    estimator, X = _clone_final(estimator, X, y)
    if random_state is not None:
        estimator.set_params(random_state=random_state)
    # The rate of ``fit`` plays no part (the ramp sets every step's): a number
    # spares "auto" its computation.
    estimator.set_params(learning_rate=1.0, early_stopping=False, warm_start=False)
    estimator._validate_params()
    ramp = _GeometricRamp(float(min_lr), float(max_lr), num_steps)
    X, y, sample_weight = _placed(estimator, X, y, sample_weight)
    with dispatch_for(X), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        plan = estimator._prepare_fit(X, y, sample_weight)
        if not plan.data.weight_sum > 0:
            raise ValueError("Every sample weight is 0: there is no loss to follow. "
                             "Give some samples a positive weight.")
        config = replace(plan.config, schedule=ramp, warmup_steps=0, learning_rate=1.0)
        curve = _Curve(smoothing, stop_factor)
        _run_ramp(plan.data, plan.progress.params, plan.progress.opt_state, config,
                  plan.rng, ramp.num_steps, curve)
    rates, losses, smoothed = (np.asarray(v, dtype=float)
                               for v in (curve.rates, curve.losses, curve.smoothed))
    return LRRangeTestResult(
        rates, losses, smoothed, _suggestion(rates, smoothed, skip_start, skip_end),
        stopped_early=curve.stopped_early, name=str(estimator.optimizer),
    )


class _GeometricRamp:
    """``factor(t) = (max_lr / min_lr) ** (t / (num_steps - 1))``: the ramp, as a schedule."""

    def __init__(self, min_lr, max_lr, num_steps):
        self.min_lr, self.ratio, self.num_steps = min_lr, max_lr / min_lr, num_steps

    def __call__(self, step):
        return self.min_lr * self.ratio ** (step / (self.num_steps - 1))


def _clone_final(estimator, X, y):
    """A clone of the sk_gradopt estimator at the end of ``estimator``, and X for it.

    A Pipeline's preceding steps are cloned, fitted on ``X`` and transform it.
    """
    for _ in range(10):  # nested pipelines; bounded so that a cycle cannot hang
        if not hasattr(estimator, "steps"):
            break
        pipeline = clone(estimator)
        if len(pipeline.steps) > 1:
            X = pipeline[:-1].fit_transform(X, y)
        estimator = pipeline.steps[-1][1]
    if not isinstance(estimator, BaseGradientEstimator):
        raise TypeError(
            "lr_range_test needs an estimator of sk_gradopt (GradientRegressor, "
            "GradientClassifier...), alone or as the last step of a Pipeline; got "
            f"{type(estimator).__name__}."
        )
    return clone(estimator), X


def _placed(estimator, X, y, sample_weight):
    """``X``, ``y`` and ``sample_weight`` where ``fit`` trains on them (``backend``)."""
    X, y, sample_weight = map(detached, (X, y, sample_weight))
    if is_dask_collection(X) or estimator.backend == "auto":
        return X, y, sample_weight
    if estimator.backend == "numpy":
        return estimator._host_if_needed(X, y, sample_weight)
    cupy = import_cupy()
    X, sample_weight = (None if a is None else cupy.asarray(a if is_cupy_array(a) else to_numpy(a))
                        for a in (X, sample_weight))
    return X, y, sample_weight


class _Curve:
    """The points of the curve, smoothed, and the rule that stops the test.

    :meth:`add` takes the rate of a step and the loss after it; it returns
    whether the test goes on. ``stopped_early`` says whether it stopped
    before the last step of the ramp.
    """

    def __init__(self, smoothing, stop_factor):
        self.smoothing, self.stop_factor = smoothing, stop_factor
        self.rates, self.losses, self.smoothed = [], [], []
        self.average, self.best, self.stopped_early = 0.0, math.inf, False

    def add(self, rate, loss, *, last=False):
        if not math.isfinite(loss):
            self.stopped_early = True
            return False
        self.average = self.smoothing * self.average + (1.0 - self.smoothing) * loss
        value = self.average / (1.0 - self.smoothing ** (len(self.losses) + 1))
        self.rates.append(rate)
        self.losses.append(loss)
        self.smoothed.append(value)
        self.best = min(self.best, value)
        if self.stop_factor is not None and value > self.stop_factor * self.best:
            self.stopped_early = not last
            return False
        return True


def _run_ramp(data, params, opt_state, config, rng, num_steps, curve):
    """Take the steps of the ramp from ``params``; ``curve`` records the losses.

    The loss after step ``t`` is the one
    :func:`~sk_gradopt._training.gradient_step` measures on its batch before
    step ``t + 1`` (after the last step, a last call measures it): no extra
    pass. Returns when the curve stops the test or the ramp ends.
    """
    xp = namespace(data.X)
    mean_weight = data.weight_sum / data.n_samples
    batch_size = config.batch_size_for(data.n_samples)
    step = 0
    with np.errstate(all="ignore"):
        while True:  # epochs
            for batch in batches(data, batch_size, config.shuffle, rng):
                lr = config.learning_rate_at(1.0, step=min(step, num_steps - 1), epoch=0)
                before = params
                params, opt_state, batch_loss = gradient_step(
                    params, opt_state, batch, model=config.model, loss_fn=config.loss_fn,
                    optimizer=config.optimizer, penalty=config.penalty,
                    learning_rate=lr, mean_weight=mean_weight,
                    max_grad_norm=config.max_grad_norm, weight_decay=config.weight_decay,
                )
                if step > 0:  # the loss after step - 1
                    loss = (float(xp.sum(batch_loss)) / (batch.X.shape[0] * mean_weight)
                            + config.penalty.value(before))
                    rate = config.learning_rate_at(1.0, step=step - 1, epoch=0)
                    if not curve.add(rate, loss, last=step == num_steps) or step == num_steps:
                        return
                step += 1


def _suggestion(rates, smoothed, skip_start, skip_end):
    """The rate of the steepest fall of ``smoothed`` against ``log(rate)``, or None.

    Among the points left after skipping, only those up to the lowest
    smoothed loss count: past it the steps overshoot, and a fall there is a
    recovery from a spike, not progress.
    """
    stop = len(smoothed) - skip_end
    if stop - skip_start >= 3:
        stop = min(stop, skip_start + 1 + int(np.argmin(smoothed[skip_start:stop])))
        stop = max(stop, skip_start + 3)
    if stop - skip_start < 3:
        warnings.warn(
            f"The range test recorded {len(smoothed)} points: too few to suggest a "
            f"learning rate after skipping {skip_start} + {skip_end} of them. Lower "
            "min_lr (the loss rose from the start), raise num_steps, or lower "
            "skip_start and skip_end.",
            UserWarning,
        )
        return None
    part = slice(skip_start, stop)
    slope = np.gradient(smoothed[part], np.log(rates[part]))
    return float(rates[part][int(np.argmin(slope))])
