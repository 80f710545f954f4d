"""Choosing the learning rate: ``1 / L`` for ``learning_rate="auto"``, and the range test.

**1 / L.** Gradient descent on an objective whose gradient is L-Lipschitz
decreases the objective at every step for learning rates below ``2 / L``;
``1 / L`` is the classic safe choice. For the linear models,

    L = c * lambda_max([X, 1]^T diag(s) [X, 1] / sum(s)) + alpha_2 + weight_decay

with ``c`` the largest second derivative of the loss with respect to the raw
output (:data:`LOSS_CURVATURE`), ``s`` the sample weights, ``alpha_2`` the
strength of the l2 part of the penalty (its l1 part is a proximal step and
does not count) and the column of ones only with an intercept.
``lambda_max`` is exact (``eigvalsh`` of the Gram matrix) up to
:data:`EXACT_MAX_FEATURES` features, and found by power iteration beyond.

**The range test** (:func:`lr_range_test`, Smith's "LR range test", as
fastai's ``lr_find`` and ``torch-lr-finder``) takes optimizer steps with a
learning rate ramped geometrically from ``min_lr`` to ``max_lr``, records the
loss after each, and stops once the smoothed loss exceeds a multiple of the
best. It reuses the pieces of the training loop (the batches, the estimator's
:class:`~sk_gradopt._training.Config`, :func:`~sk_gradopt._training.gradient_step`
and the one learning-rate function, fed a ramp instead of a schedule), so
clipping, weight decay, the penalty and every optimizer and backend behave as
in ``fit``.

Everything is written against the array API of the data.
"""

import math
import warnings
from dataclasses import replace
from numbers import Integral, Real

import numpy as np
from array_api_compat import device as array_device
from sklearn.base import clone
from sklearn.utils._param_validation import HasMethods, Interval, validate_params

from ._array_api import namespace, to_numpy
from ._epoch import batches, gradient_step

__all__ = [
    "ADAPTIVE_AUTO_LEARNING_RATE",
    "LOSS_CURVATURE",
    "LRRangeTestResult",
    "lambda_max",
    "lipschitz_constant",
    "lr_range_test",
]

#: ``learning_rate="auto"`` for ``"rmsprop"`` and ``"adam"``: torch.optim's default.
ADAPTIVE_AUTO_LEARNING_RATE = 1e-3

#: Up to this many features, ``lambda_max`` is computed exactly: one pass of
#: matrix products builds the Gram matrix, cheaper than the 10 to 100
#: memory-bound matrix-vector passes of power iteration.
EXACT_MAX_FEATURES = 256

#: The weighted Gram matrix is accumulated over blocks of rows of about this size.
GRAM_BLOCK_BYTES = 2**22

#: Power iteration stops when the estimate moves by less than this, relatively.
POWER_ITERATION_TOL = 1e-3

#: ... or after this many iterations (each costs about an epoch).
POWER_ITERATION_MAX_ITER = 300

#: ``c``: the largest second derivative of each loss with respect to the raw
#: output (per output column): 1 for the half squared error and Huber, 1/4
#: for the binary log loss (``sigmoid' <= 1/4``), 1/2 for the softmax
#: cross-entropy (its Hessian ``diag(p) - p p^T`` has eigenvalues <= 1/2),
#: 2 for the modified Huber loss (``(1 - z)^2``). ``"hinge"`` and
#: ``"epsilon_insensitive"`` are not differentiable: they have no ``c``.
LOSS_CURVATURE = {
    "squared_error": 1.0,
    "huber": 1.0,
    "binary_log_loss": 0.25,
    "multinomial_log_loss": 0.5,
    "modified_huber": 2.0,
}


# ------------------------------------------------------------------ 1 / L


def loss_curvature(loss, n_outputs):
    """``c`` of ``loss`` (:data:`LOSS_CURVATURE`), or a clear error.

    Parameters
    ----------
    loss : str
        The estimator's ``loss``.
    n_outputs : int
        Columns of the encoded targets: ``"log_loss"`` is binary with one,
        multinomial with more.

    Returns
    -------
    float
    """
    if loss == "log_loss":
        loss = "binary_log_loss" if n_outputs == 1 else "multinomial_log_loss"
    if loss not in LOSS_CURVATURE:
        smooth = ("squared_error", "huber", "log_loss", "modified_huber")
        raise ValueError(
            f"learning_rate='auto' needs a loss with a Lipschitz gradient, one of "
            f"{smooth}; loss={loss!r} is not differentiable everywhere, so 1/L is not "
            "defined. Pass a number as learning_rate (sk_gradopt.lr_range_test helps "
            "choose one), or use optimizer='adam' or 'rmsprop', whose 'auto' is 1e-3."
        )
    return LOSS_CURVATURE[loss]


def lambda_max(X, sample_weight=None, *, fit_intercept=True, exact=None,
               tol=POWER_ITERATION_TOL, max_iter=POWER_ITERATION_MAX_ITER,
               return_n_iter=False):
    """The largest eigenvalue of ``A^T diag(s) A / sum(s)``, ``A = [X, 1]`` (or ``X``).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        The data, in any array-API namespace.
    sample_weight : array of shape (n_samples,) or None, default=None
        ``s``; None is unit weights.
    fit_intercept : bool, default=True
        Whether ``A`` has the column of ones.
    exact : bool or None, default=None
        ``True``: ``eigvalsh`` of the Gram matrix; ``False``: power
        iteration; ``None``: exact up to :data:`EXACT_MAX_FEATURES` features.
    tol : float, default=1e-3
        Power iteration stops when the estimate moves by less than ``tol``
        relatively from one iteration to the next.
    max_iter : int, default=300
        The most power iterations.
    return_n_iter : bool, default=False
        Also return the number of power iterations (0 when exact).

    Returns
    -------
    value : float
        ``lambda_max`` (0.0 when every weight is 0).
    n_iter : int
        Only with ``return_n_iter``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, 0.0], [0.0, -2.0]])
    >>> lambda_max(X, fit_intercept=False)  # X^T X / 4 = diag(0.5, 2)
    2.0
    """
    xp = namespace(X)
    n_samples, n_features = X.shape
    weight_sum = n_samples if sample_weight is None else float(xp.sum(sample_weight))
    if exact is None:
        exact = n_features <= EXACT_MAX_FEATURES
    if weight_sum == 0:
        value, n_iter = 0.0, 0
    elif exact:
        value, n_iter = _gram_lambda_max(xp, X, sample_weight, weight_sum, fit_intercept), 0
    else:
        value, n_iter = _power_lambda_max(xp, X, sample_weight, weight_sum, fit_intercept,
                                          tol, max_iter)
    return (value, n_iter) if return_n_iter else value


def _gram_lambda_max(xp, X, sample_weight, weight_sum, fit_intercept):
    """Exactly: ``eigvalsh`` of the small Gram matrix, on the host.

    With sample weights, the weighted rows are formed a block at a time
    (about ``GRAM_BLOCK_BYTES``), never a weighted copy of X.
    """
    if sample_weight is None:
        gram, column_sums = X.T @ X, xp.sum(X, axis=0)
    else:
        n_samples, n_features = X.shape
        rows = max(1, GRAM_BLOCK_BYTES // (8 * n_features))
        gram, column_sums = 0.0, 0.0
        for start in range(0, n_samples, rows):
            stop = min(start + rows, n_samples)  # no out-of-bounds slices
            block = X[start:stop, ...]
            weighted = block * sample_weight[start:stop, None]
            gram = gram + block.T @ weighted
            column_sums = column_sums + xp.sum(weighted, axis=0)
    gram = to_numpy(gram).astype(np.float64)
    if fit_intercept:
        column_sums = to_numpy(column_sums).astype(np.float64)
        gram = np.block([[gram, column_sums[:, None]],
                         [column_sums[None, :], np.array([[weight_sum]])]])
    return float(np.linalg.eigvalsh(gram / weight_sum)[-1])


def _power_lambda_max(xp, X, sample_weight, weight_sum, fit_intercept, tol, max_iter):
    """By power iteration, never forming the Gram matrix: two passes over X each.

    Each iteration maps the unit vector ``v = (u, b)`` to ``w = M v`` and
    takes ``||w||`` as the estimate (a lower bound of ``lambda_max`` that
    rises to it). The start is a fixed random vector: the same data give the
    same value.
    """
    start = np.random.default_rng(0).standard_normal(X.shape[1] + 1)
    u = xp.asarray(start[:-1], dtype=X.dtype, device=array_device(X))
    b = float(start[-1]) if fit_intercept else 0.0
    norm = math.sqrt(float(xp.sum(u * u)) + b * b)
    u, b = u / norm, b / norm
    estimate = 0.0
    for n_iter in range(1, max_iter + 1):
        z = X @ u
        if fit_intercept:
            z = z + b
        if sample_weight is not None:
            z = z * sample_weight
        u = (X.T @ z) / weight_sum
        b = float(xp.sum(z)) / weight_sum if fit_intercept else 0.0
        previous, estimate = estimate, math.sqrt(float(xp.sum(u * u)) + b * b)
        if estimate == 0.0:
            break
        u, b = u / estimate, b / estimate
        if abs(estimate - previous) <= tol * estimate:
            break
    return estimate, n_iter


def lipschitz_constant(X, sample_weight=None, *, curvature, l2=0.0, fit_intercept=True,
                       exact=None):
    """``L = curvature * lambda_max([X, 1]^T diag(s) [X, 1] / sum(s)) + l2``.

    An upper bound of the Lipschitz constant of the gradient of a linear
    model's objective: ``curvature`` is ``c`` of the loss
    (:data:`LOSS_CURVATURE`) and ``l2`` the strength of every term that
    acts like ``l2 * ||coef||^2 / 2`` (the l2 part of the penalty, plus
    decoupled weight decay).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        The data.
    sample_weight : array of shape (n_samples,) or None, default=None
        The sample weights.
    curvature : float
        ``c``.
    l2 : float, default=0.0
        Added to ``c * lambda_max``.
    fit_intercept : bool, default=True
        Whether the model has an intercept.
    exact : bool or None, default=None
        See :func:`lambda_max`.

    Returns
    -------
    float
    """
    return curvature * lambda_max(X, sample_weight, fit_intercept=fit_intercept,
                                  exact=exact) + l2


# -------------------------------------------------------------- range test


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
        The estimator's ``optimizer``: the legend name of :meth:`plot`.
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

    def plot(self, ax=None, *, name=None, log_scale=False, raw=True, suggestion=True,
             line_kwargs=None):
        """Draw the curve: see :class:`~sk_gradopt.LRRangeTestDisplay`.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; None creates a new figure and axes.
        name : str, default=None
            Legend name; None uses ``name_`` (the optimizer).
        log_scale : bool, default=False
            Use a logarithmic loss axis.
        raw : bool, default=True
            Also draw the unsmoothed losses, faintly.
        suggestion : bool, default=True
            Mark ``suggestion_`` on the curve.
        line_kwargs : dict, default=None
            Keyword arguments of :meth:`matplotlib.axes.Axes.plot` for the
            smoothed curve.

        Returns
        -------
        display : LRRangeTestDisplay
            The display, drawn.
        """
        from ._plotting import LRRangeTestDisplay

        display = LRRangeTestDisplay(
            learning_rates=self.learning_rates_, losses=self.losses_,
            smoothed_losses=self.smoothed_losses_, suggestion=self.suggestion_,
            name=self.name_ if name is None else name,
        )
        return display.plot(ax=ax, log_scale=log_scale, raw=raw, suggestion=suggestion,
                            line_kwargs=line_kwargs)


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
        ``learning_rates_``, ``losses_``, ``smoothed_losses_``,
        ``suggestion_`` and ``plot()``.

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
    # The rate of ``fit`` plays no part: the ramp sets every step's.
    estimator.set_params(learning_rate=float(min_lr), early_stopping=False, warm_start=False)
    ramp = _GeometricRamp(float(min_lr), float(max_lr), num_steps)
    record = {}
    estimator._train = _range_test_run(ramp, smoothing, stop_factor, record)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        estimator.fit(X, y, sample_weight=sample_weight)
    rates, losses, smoothed = (np.asarray(record[k], dtype=float)
                               for k in ("rates", "losses", "smoothed"))
    return LRRangeTestResult(
        rates, losses, smoothed, _suggestion(rates, smoothed, skip_start, skip_end),
        stopped_early=record["stopped_early"], name=str(estimator.optimizer),
    )


class _GeometricRamp:
    """``factor(t) = (max_lr / min_lr) ** (t / (num_steps - 1))``: the ramp, as a schedule."""

    def __init__(self, min_lr, max_lr, num_steps):
        self.min_lr, self.ratio, self.num_steps = min_lr, max_lr / min_lr, num_steps

    def __call__(self, step):
        return self.ratio ** (step / (self.num_steps - 1))


def _clone_final(estimator, X, y):
    """A clone of the sk_gradopt estimator at the end of ``estimator``, and X for it.

    A Pipeline's preceding steps are cloned, fitted on ``X`` and transform it.
    """
    from ._base import BaseGradientEstimator

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


def _range_test_run(ramp, smoothing, stop_factor, record):
    """What the clone's ``fit`` runs in place of the training loop.

    Takes the steps of the ramp from the initial weights and fills ``record``
    with the rates, the losses after each step, their smoothed values and
    whether the test stopped early. The loss after step ``t`` is the one
    :func:`~sk_gradopt._training.gradient_step` measures on its batch before
    step ``t + 1``: no extra pass.
    """

    def run(data, validation, progress, config, *, rng, check_input=None, **ignored):
        if check_input is not None:  # fit leaves X to the loop to check
            check_input()
        if data.weight_sum == 0:
            raise ValueError("Every sample weight is 0: there is no loss to follow. "
                             "Give some samples a positive weight.")
        config = replace(config, schedule=ramp, warmup_steps=0)
        xp = namespace(data.X)
        mean_weight = data.weight_sum / data.n_samples
        params, opt_state = progress.params, progress.opt_state
        stream = _endless_batches(data, config, rng)
        rates, losses, smoothed = [], [], []
        average, best, stopped_early = 0.0, math.inf, False
        with np.errstate(all="ignore"):
            for step in range(ramp.num_steps + 1):
                batch = next(stream)
                before = params
                if step < ramp.num_steps:
                    lr = config.learning_rate_at(ramp.min_lr, step=step, epoch=0)
                    params, opt_state, batch_loss = gradient_step(
                        params, opt_state, batch, model=config.model, loss_fn=config.loss_fn,
                        optimizer=config.optimizer, penalty=config.penalty,
                        learning_rate=lr, mean_weight=mean_weight,
                        max_grad_norm=config.max_grad_norm, weight_decay=config.weight_decay,
                    )
                else:  # after the last step: the loss only
                    batch_loss, _ = config.loss_fn(batch.Y, config.model.forward(before, batch.X))
                    if batch.sample_weight is not None:
                        batch_loss = batch_loss * batch.sample_weight
                if step == 0:  # the loss before any step
                    continue
                loss = (float(xp.sum(batch_loss)) / (batch.X.shape[0] * mean_weight)
                        + config.penalty.value(before))
                if not math.isfinite(loss):
                    stopped_early = True
                    break
                average = smoothing * average + (1.0 - smoothing) * loss
                value = average / (1.0 - smoothing ** (len(losses) + 1))
                rates.append(config.learning_rate_at(ramp.min_lr, step=step - 1, epoch=0))
                losses.append(loss)
                smoothed.append(value)
                best = min(best, value)
                if stop_factor is not None and value > stop_factor * best:
                    stopped_early = step < ramp.num_steps
                    break
        record.update(rates=rates, losses=losses, smoothed=smoothed,
                      stopped_early=stopped_early)
        return replace(progress, params=params, opt_state=opt_state)

    return run


def _endless_batches(data, config, rng):
    """The mini-batches of ``fit``, epoch after epoch."""
    batch_size = config.batch_size_for(data.n_samples)
    while True:
        yield from batches(data, batch_size, config.shuffle, rng)


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
