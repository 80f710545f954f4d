"""The learning-rate range test: the loss against a geometrically rising learning rate.

:func:`lr_range_test` (Smith's "LR range test", as fastai's ``lr_find`` and
``torch-lr-finder``) takes optimizer steps with a learning rate ramped
geometrically from ``min_lr`` to ``max_lr``, records the loss after each, and
stops once the smoothed loss exceeds a multiple of the best. It prepares the
fit through the estimator's seam (``_prepare_fit``: the validated data, the
:class:`~sk_gradopt._epoch.Config`, the initial weights and the random
state that ``fit`` would use) and runs its own short loop on it with
:func:`~sk_gradopt._epoch.gradient_step` and the one learning-rate function
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
from ._epoch import Data, batches, gradient_step
from ._lbfgs import SECOND_ORDER

__all__ = ["LRRangeTestResult", "lr_range_test"]

#: Each point of the ramp takes as many mini-batches as see this many samples.
POINT_SAMPLES = 32

#: ``suggestion_`` is the rate of the lowest smoothed loss divided by this:
#: chosen on the problems of ``benchmarks/bench_lr.py`` (5 to 8 do about as
#: well; below, full-batch steps overshoot; above, few-step fits are slow).
SUGGESTION_DIVISOR = 7.0

#: Fewer points than this per decade of rates make a curve too coarse to read.
MIN_POINTS_PER_DECADE = 1.0

#: A dip of the first (skipped) points of the curve below the rest by less
#: than this factor is noise; by more, the loss rose from the start.
START_NOISE = 1.25


class LRRangeTestResult:
    """What :func:`lr_range_test` found: the loss against the learning rate.

    Attributes
    ----------
    learning_rates_ : ndarray of shape (n_points,)
        The learning rate of each point, geometrically increasing.
    losses_ : ndarray of shape (n_points,)
        The loss after the steps of each point: the training objective
        estimated on the next mini-batch, averaged over the point's steps
        (exactly the objective for ``"gd"``).
    smoothed_losses_ : ndarray of shape (n_points,)
        ``losses_`` smoothed exponentially (debiased), as in fastai.
    suggestion_ : float or None
        The recorded learning rate nearest to the rate of the lowest
        smoothed loss divided by 7 (see :func:`lr_range_test`); None only
        when the test recorded no point.
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
                  smoothing=0.9, stop_factor=4.0, skip_start=10, skip_end=0,
                  sample_weight=None, random_state=None):
    """The learning-rate range test: the loss against a geometrically rising learning rate.

    Starting from the estimator's initial weights, takes optimizer steps at
    ``num_steps`` rates rising geometrically from ``min_lr`` to ``max_lr``
    and records the loss after each (with batches of fewer than 32 samples,
    the mean loss of the steps that see 32 samples). The ramp replaces
    ``learning_rate``, ``schedule`` and ``warmup_steps``; every other setting
    of the estimator applies (optimizer, batches, loss, penalty, clipping,
    weight decay, class weights, backend).

    The test runs on a clone: ``estimator`` is never modified (nor fitted).
    It is deterministic for a given ``random_state``. Read the curve as well
    as ``suggestion_`` (the rate of the lowest smoothed loss divided by
    :data:`SUGGESTION_DIVISOR`, 7): the user guide's "Choosing the learning
    rate" says how, and how often the suggestion trains well.

    Parameters
    ----------
    estimator : estimator instance
        A :class:`GradientRegressor`, :class:`GradientClassifier` or another
        estimator of sk_gradopt, or a Pipeline ending in one (the preceding
        steps are fitted on ``X`` and transform it first). Fitted or not.
    X : array of shape (n_samples, n_features)
        Training data: NumPy, another array-API namespace, or Dask arrays
        chunked by rows (run through the Dask engine of ``fit``).
    y : array of shape (n_samples,) or (n_samples, n_targets)
        Targets.
    min_lr, max_lr : float, default=1e-7, 10.0
        The first and the last learning rate of the ramp (computed in log
        space). Fewer than one point per decade warns that it is coarse.
    num_steps : int, default=100
        Learning rates (points of the curve) from ``min_lr`` to ``max_lr``.
    smoothing : float, default=0.9
        Weight of the past in the exponential moving average of the loss,
        ``avg = smoothing * avg + (1 - smoothing) * loss``, debiased by
        ``1 - smoothing ** (t + 1)``; 0 is no smoothing.
    stop_factor : float or None, default=4.0
        Stop once the smoothed loss exceeds ``stop_factor`` times the best
        smoothed loss seen; None runs every step (a non-finite loss always
        stops the test).
    skip_start, skip_end : int, default=10, 0
        Points at either end of the curve that the search for the lowest
        loss ignores (unless the curve rose from the start: see the user
        guide).
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
    estimator, X = _ramp_estimator(estimator, X, y, random_state)
    ramp = _GeometricRamp(float(min_lr), float(max_lr), num_steps)
    _warn_if_coarse(ramp, min_lr, max_lr)
    curve = _ramp_curve(estimator, X, y, sample_weight, ramp, _Curve(smoothing, stop_factor))
    rates, losses, smoothed = (np.asarray(v, dtype=float)
                               for v in (curve.rates, curve.losses, curve.smoothed))
    suggestion = _suggestion(rates, smoothed, skip_start, skip_end,
                             stopped_early=curve.stopped_early)
    return LRRangeTestResult(rates, losses, smoothed, suggestion,
                             stopped_early=curve.stopped_early, name=str(estimator.optimizer))


def _ramp_estimator(estimator, X, y, random_state):
    """The clone the ramp runs on (the final step of a Pipeline), and ``X`` for it."""
    estimator, X = _clone_final(estimator, X, y)
    if random_state is not None:
        estimator.set_params(random_state=random_state)
    # The rate of ``fit`` plays no part (the ramp sets every step's): a number
    # spares "auto" its computation.
    estimator.set_params(learning_rate=1.0, early_stopping=False, warm_start=False)
    estimator._validate_params()
    if estimator.optimizer in SECOND_ORDER:
        raise ValueError(
            f"lr_range_test has nothing to test for optimizer={estimator.optimizer!r}: "
            "L-BFGS has no learning rate (its line search chooses each step). Test a "
            "first-order optimizer such as 'sgd' or 'adam'."
        )
    return estimator, X


def _warn_if_coarse(ramp, min_lr, max_lr):
    """Warn when the ramp has fewer than :data:`MIN_POINTS_PER_DECADE` points per decade."""
    decades = ramp.log_span / math.log(10.0)
    if (ramp.num_steps - 1) < MIN_POINTS_PER_DECADE * decades:
        warnings.warn(
            f"The ramp is coarse: {ramp.num_steps} points over {decades:.0f} decades of "
            f"learning rates (from min_lr={min_lr:g} to max_lr={max_lr:g}), fewer than "
            f"{MIN_POINTS_PER_DECADE:g} per decade, so the curve and the suggestion are "
            "rough. Narrow the range or raise num_steps.", UserWarning,
        )


def _ramp_curve(estimator, X, y, sample_weight, ramp, curve):
    """Run the ramp on the fit that ``estimator._prepare_fit`` prepares; return ``curve``."""
    X, y, sample_weight = _placed(estimator, X, y, sample_weight)
    with dispatch_for(X), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        plan = estimator._prepare_fit(X, y, sample_weight)
        if not is_dask_collection(plan.inputs[0]):  # fit leaves X to its loop to check
            estimator._check_finite(plan.inputs[0])
        if not plan.data.weight_sum > 0:
            raise ValueError("Every sample weight is 0: there is no loss to follow. "
                             "Give some samples a positive weight.")
        config = replace(plan.config, schedule=ramp, warmup_steps=0, learning_rate=1.0)
        return _run_ramp(plan.data, plan.progress.params, plan.progress.opt_state, config,
                         plan.rng, ramp.num_steps, curve)


class _GeometricRamp:
    """Rate ``t`` of the ramp, ``min_lr * (max_lr / min_lr) ** (t / (num_steps - 1))``.

    Computed in log space, ``exp(log(min_lr) + t / (num_steps - 1) * log(max_lr /
    min_lr))``, so that a ratio beyond the floats (``min_lr=1e-320``, or
    ``max_lr=1e308``) ramps as any other; the ends are ``min_lr`` and
    ``max_lr`` exactly. A schedule (``factor(t)`` of a base rate of 1).
    """

    def __init__(self, min_lr, max_lr, num_steps):
        self.min_lr, self.max_lr, self.num_steps = min_lr, max_lr, num_steps
        self.log_min, self.log_span = math.log(min_lr), math.log(max_lr) - math.log(min_lr)

    def __call__(self, t):
        if t <= 0:
            return self.min_lr
        if t >= self.num_steps - 1:
            return self.max_lr
        return math.exp(self.log_min + self.log_span * (t / (self.num_steps - 1)))


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


def _run_ramp(data, params, opt_state, config, rng, num_points, curve):
    """Take the steps of the ramp from ``params``; return ``curve``, the losses recorded.

    (On a cluster the curve comes back from the workers: the one returned,
    not the one passed, holds the points.)

    Each point of the ramp is ``k`` optimizer steps at its rate, ``k`` the
    batches it takes to see :data:`POINT_SAMPLES` samples (1 from batches of
    that size up). The batches are those of ``fit``, epoch after epoch; on
    Dask arrays, those of the Dask engine (see :func:`_run_ramp_on_dask`).
    """
    batch_size = config.batch_size_for(data.n_samples)
    walk = _Walk(params, opt_state, k=max(1, -(-POINT_SAMPLES // batch_size)),
                 num_points=num_points, curve=curve)
    mean_weight = data.weight_sum / data.n_samples
    if is_dask_collection(data.X):
        return _run_ramp_on_dask(walk, data, config, rng, batch_size, mean_weight)
    while not walk.done:  # epochs
        walk.take(batches(data, batch_size, config.shuffle, rng), config, mean_weight)
    return walk.curve


class _Walk:
    """Where the ramp stands: parameters, optimizer state, step, curve.

    :meth:`take` steps over batches until they run out or the test is done;
    it can resume on other batches (the next epoch, the next Dask block).
    The loss after a step is the one
    :func:`~sk_gradopt._epoch.gradient_step` measures on its batch before
    the next step (after the last step, a last call measures it): no extra
    pass. The loss of a point is the mean of the losses after its ``k``
    steps.
    """

    def __init__(self, params, opt_state, *, k, num_points, curve):
        self.params, self.opt_state, self.k, self.num_points = params, opt_state, k, num_points
        self.curve, self.step, self.point_sum, self.done = curve, 0, 0.0, False

    def take(self, batches, config, mean_weight):
        k, num_points = self.k, self.num_points
        with np.errstate(all="ignore"):
            for batch in batches:
                step = self.step
                lr = config.learning_rate_at(1.0, step=min(step // k, num_points - 1), epoch=0)
                before = self.params
                self.params, self.opt_state, batch_loss = gradient_step(
                    before, self.opt_state, batch, model=config.model, loss_fn=config.loss_fn,
                    optimizer=config.optimizer, penalty=config.penalty,
                    learning_rate=lr, mean_weight=mean_weight,
                    max_grad_norm=config.max_grad_norm, weight_decay=config.weight_decay,
                )
                self.step += 1
                if step == 0:  # the loss before any step
                    continue
                xp = namespace(batch_loss)
                self.point_sum += (float(xp.sum(batch_loss)) / (batch.X.shape[0] * mean_weight)
                                   + config.penalty.value(before))
                if step % k == 0:  # the loss after the last step of point step // k - 1
                    point = step // k - 1
                    last = point == num_points - 1
                    rate = config.learning_rate_at(1.0, step=point, epoch=0)
                    if not self.curve.add(rate, self.point_sum / k, last=last) or last:
                        self.done = True
                        return self
                    self.point_sum = 0.0
        return self


def _run_ramp_on_dask(walk, data, config, rng, batch_size, mean_weight):
    """The ramp on Dask arrays, through the Dask engine: bounded work per step.

    Full batch: every step is one all-reduce of the gradient over the blocks
    (the model's ``loss_and_grad`` of the engine's full-batch epoch), with
    the parameters on the client: the numbers of the in-memory test up to
    the order of the sums. Mini-batches: the blocks are visited as the
    engine's epochs visit them (in a shuffled order with ``shuffle``), each
    by one task that walks the ramp over the block's batches where the block
    lives and hands the walk back. A batch never spans two blocks: with
    blocks of a multiple of ``batch_size`` rows and ``shuffle=False``, the
    batches, hence the curve, are those of the in-memory test.
    """
    from . import _dask

    blocks = _dask.Blocks.of(data)
    walk.params, walk.opt_state = _dask.host(walk.params), _dask.host(walk.opt_state)
    if batch_size >= data.n_samples:
        model = config.model._replace(
            loss_and_grad=_dask._AllReduced(blocks, config.model.loss_and_grad))
        walk.take(_repeat(data, walk), replace(config, model=model), mean_weight)
        return walk.curve
    n_blocks = len(blocks)
    while not walk.done:  # epochs
        if config.shuffle:
            order = rng.permutation(n_blocks).tolist()
            seeds = rng.randint(np.iinfo(np.int32).max, size=n_blocks).tolist()
        else:
            order, seeds = range(n_blocks), [0] * n_blocks
        for i, seed in zip(order, seeds):
            if blocks.rows[i] == 0:  # (a block left empty by a selection)
                continue
            args = (walk, config, seed, batch_size, mean_weight)
            (walk,) = _dask._compute(*blocks.tasks(_walk_block, args, [i]))
            if walk.done:
                break
    return walk.curve


def _repeat(data, walk):
    """``data`` as the batch of every step, until the walk is done."""
    while not walk.done:
        yield data


def _walk_block(Xb, Yb, swb, args):
    """The walk over the batches of one Dask block, on its worker; back with NumPy leaves."""
    from . import _dask

    walk, config, seed, batch_size, mean_weight = args
    Yb, swb = _dask.like(Xb, Yb, swb)
    block = Data(Xb, Yb, swb, None)
    walk.params, walk.opt_state = (_dask.to_block(walk.params, Xb),
                                   _dask.to_block(walk.opt_state, Xb))
    walk.take(batches(block, batch_size, config.shuffle, np.random.RandomState(seed)),
              config, mean_weight)
    walk.params, walk.opt_state = _dask.host(walk.params), _dask.host(walk.opt_state)
    return walk


def _suggestion(rates, smoothed, skip_start, skip_end, *, stopped_early):
    """The rate of the curve nearest to that of its lowest point over the divisor.

    The lowest smoothed loss is searched after skipping ``skip_start`` and
    ``skip_end`` points (the whole curve when none would remain). The first
    points are skipped for their noise: when the rest of the curve stays
    above ``START_NOISE`` times their lowest loss, the loss rose from the
    start, and the lowest point of the whole curve counts. The suggestion is
    the recorded rate nearest (on a log scale) to the rate of the lowest
    point divided by :data:`SUGGESTION_DIVISOR`. None only for an empty curve.
    """
    if len(smoothed) == 0:
        warnings.warn(
            "The range test recorded no point: the loss was not finite after the first "
            "step, so there is no learning rate to suggest. Lower min_lr.", UserWarning,
        )
        return None
    start, stop = skip_start, len(smoothed) - skip_end
    if stop <= start:
        start, stop = 0, len(smoothed)
    lowest = int(np.argmin(smoothed[:stop]))
    if lowest < start:
        after = start + int(np.argmin(smoothed[start:stop]))
        if smoothed[after] <= START_NOISE * smoothed[lowest]:
            lowest = after
    target = rates[lowest] / SUGGESTION_DIVISOR
    log_rates = np.log(rates)
    half_spacing = (log_rates[1] - log_rates[0]) / 2 if len(rates) > 1 else 0.0
    if target == 0 or math.log(target) < log_rates[0] - half_spacing:
        warnings.warn(
            f"The loss was lowest at the start of the curve (learning rate "
            f"{rates[lowest]:.3g}): the suggestion, {target:.3g}, lies below min_lr, "
            "where the test did not look. Lower min_lr and look again.", UserWarning,
        )
        return float(target) if target > 0 else float(rates[0])  # (below the floats)
    if lowest == len(smoothed) - 1 and not stopped_early:
        warnings.warn(
            f"The loss was still falling at the end of the ramp (learning rate "
            f"{rates[-1]:.3g}): larger rates may do better than the suggestion. Raise "
            "max_lr to see where the loss turns up.", UserWarning,
        )
    return float(rates[int(np.argmin(np.abs(log_rates - math.log(target))))])
