"""The one training loop: batches, schedule, stopping, divergence, callbacks, loss curves.

Every estimator hands :func:`train` the same things: its data (a
:class:`Data`), a :class:`Config` built from its parameters (the model, the
loss, the penalty, the optimizer and the loop's settings) and the
:class:`Progress` to continue from (the parameters, the optimizer state and
the counters). :func:`train` runs epochs of mini-batch steps and returns the
new :class:`Progress`; it changes nothing else, so an error in the middle of a
fit leaves the estimator as it was.

The objective is

    sum_i s_i * loss(y_i, raw_i) / sum_i s_i + penalty(params)

(``s`` the sample weights). A mini-batch ``B`` estimates its gradient as
``sum_{i in B} s_i * grad_i / (|B| * mean(s))``, which is unbiased and exact
for a full batch.

One step (:func:`gradient_step`) at learning rate ``lr_t``
(:meth:`Config.learning_rate_at`: the schedule times the warmup) is

1. the gradient of the batch loss, plus the gradient of the penalty's l2 part;
2. clipping to a global L2 norm of at most ``max_grad_norm`` (torch's
   ``clip_grad_norm_``);
3. decoupled weight decay ``coef *= 1 - lr_t * weight_decay`` (coef leaves
   only, :func:`~sk_gradopt._penalties.decay_weights`);
4. the optimizer's direction ``d`` and ``params -= lr_t * d``;
5. the proximal step of the penalty's l1 part.
"""

import math
import time
import warnings
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, Callable, NamedTuple

import numpy as np
from array_api_compat import array_namespace
from array_api_compat import device as array_device
from array_api_compat import is_dask_array
from sklearn.exceptions import ConvergenceWarning

from ._optimizers import GradientTransformation, namespace
from ._penalties import Penalty, decay_weights
from ._losses import loss_identity
from ._schedules import scheduled_learning_rate, scheduled_learning_rates
from ._tree import tree_leaves, tree_map

__all__ = [
    "Config",
    "Data",
    "Progress",
    "clip_grad_norm",
    "gradient_step",
    "objective",
    "train",
]

#: A call whose training objective ends above this multiple of where it
#: started on the same data (or of the zero model's, when that is larger)
#: is treated as diverged, as is any non-finite value.
DIVERGENCE_FACTOR = 10.0

#: Within one call, an objective that grows this many times over its start
#: while far above the zero model's has diverged (see ``_diverged``).
SLOW_GROWTH = 1.5

#: ``schedule="adaptive"`` stops once the learning rate falls below this.
MIN_ADAPTIVE_LEARNING_RATE = 1e-6

#: Shuffled mini-batches are gathered about this many bytes of rows at a time
#: (whole batches): few enough calls, and a buffer that stays in the cache.
GATHER_BYTES = 2**21


class Data(NamedTuple):
    """Validated training or validation data in the input's namespace."""

    X: Any
    Y: Any  # (n_samples, n_outputs), the dtype of X
    sample_weight: Any  # (n_samples,) or None for unit weights
    weight_sum: float

    @property
    def n_samples(self):
        return self.X.shape[0]


@dataclass(frozen=True)
class Config:
    """What the loop needs to know, handed over by the estimator.

    ``learning_rate``, ``optimizer_name`` and ``max_iter`` also name the
    estimator's settings in the warnings.
    """

    model: Any  # a _models.Model
    loss_fn: Callable
    penalty: Penalty
    optimizer: GradientTransformation
    optimizer_name: str
    learning_rate: float
    schedule: str
    power_t: float
    max_iter: int
    batch_size: Any  # int, "auto", or None for full batch
    shuffle: Any  # True, False or "blocks"
    tol: Any  # float or None
    n_iter_no_change: int
    verbose: int = 0
    warmup_steps: int = 0
    max_grad_norm: Any = None  # float or None
    weight_decay: float = 0.0
    #: The optimizer's hyperparameters (momentum, nesterov, rho, beta_1,
    #: beta_2, eps), for a compiled epoch that runs the same rule.
    hyperparameters: dict = field(default_factory=dict)

    def learning_rate_at(self, base, *, step, epoch):
        """The learning rate of optimizer step ``step`` (from 0), in epoch ``epoch`` (from 0).

        The one function for the rate of a step: the schedule from the base
        rate ``base`` (the estimator's ``learning_rate``, its ``"auto"`` value,
        or what ``"adaptive"`` made of it), times the warmup factor.
        """
        return scheduled_learning_rate(
            self.schedule, base, step=step, epoch=epoch, max_iter=self.max_iter,
            power_t=self.power_t, warmup_steps=self.warmup_steps,
        )

    def learning_rates(self, base, *, steps, epoch):
        """:meth:`learning_rate_at` of every step of ``steps`` (a NumPy array).

        A float64 array of one rate per step, or of one rate for all of them.
        """
        return scheduled_learning_rates(
            self.schedule, base, steps=steps, epoch=epoch, max_iter=self.max_iter,
            power_t=self.power_t, warmup_steps=self.warmup_steps,
        )

    def batch_size_for(self, n_samples):
        """The number of rows of a mini-batch of data of ``n_samples`` rows."""
        if self.batch_size is None:
            return n_samples
        if self.batch_size == "auto":
            return min(200, n_samples)
        return min(self.batch_size, n_samples)


@dataclass
class Progress:
    """Where a fit stands: what the estimator exposes as its fitted state."""

    params: Any
    opt_state: Any
    t: int = 0
    n_iter: int = 0
    loss_curve: list = field(default_factory=list)
    validation_loss_curve: Any = None
    best_loss: float = math.inf

    @classmethod
    def start(cls, params, optimizer, with_validation):
        """The progress of a fit that starts at ``params``."""
        return cls(params, optimizer.init(params),
                   validation_loss_curve=[] if with_validation else None)

    def copy(self):
        curve = self.validation_loss_curve
        return replace(self, loss_curve=list(self.loss_curve),
                       validation_loss_curve=None if curve is None else list(curve))


# ------------------------------------------------------------------ batches


def take(data, rows, with_weight_sum=False, out=None):
    """The rows ``rows`` (an index array) of ``data``.

    ``weight_sum`` is computed only when asked: it is a device-to-host read.
    ``out``, the result of an earlier call with at least as many rows, is
    overwritten with the result where the arrays are NumPy's (see
    :func:`_take_rows`).
    """
    xp = array_namespace(data.X)
    buffers = (None, None, None) if out is None else out[:3]
    X, Y, sw = (_take_rows(xp, a, rows, b) for a, b in zip(data[:3], buffers))
    weight_sum = None
    if with_weight_sum:
        weight_sum = rows.shape[0] if sw is None else float(xp.sum(sw))
    return Data(X, Y, sw, weight_sum)


def _take_rows(xp, array, rows, out=None):
    """``xp.take(array, rows, axis=0)``, written into ``out`` for NumPy arrays.

    ``out`` (NumPy only; ignored otherwise) has at least ``len(rows)`` rows;
    the result is its first ``len(rows)`` rows. ``mode="clip"`` skips the
    index check (``rows`` are valid), which with ``out`` would go through a
    temporary copy.
    """
    if array is None:
        return None
    if isinstance(out, np.ndarray) and isinstance(array, np.ndarray):
        return np.take(array, rows, axis=0, out=out[: rows.shape[0]], mode="clip")
    return xp.take(array, rows, axis=0)


def _slices(data, batch_size, starts=None):
    """Batches of ``batch_size`` rows of ``data`` (views), from each of ``starts``.

    ``starts`` defaults to consecutive batches, in order.
    """
    sw = data.sample_weight
    if starts is None:
        starts = range(0, data.n_samples, batch_size)
    for start in starts:
        stop = min(start + batch_size, data.n_samples)  # no out-of-bounds slices
        yield Data(data.X[start:stop, ...], data.Y[start:stop, ...],
                   None if sw is None else sw[start:stop], None)


def batches(data, batch_size, shuffle, rng):
    """Yield the mini-batches of one epoch.

    With ``shuffle=True``, batch ``k`` is the rows ``order[k * batch_size:
    (k + 1) * batch_size]`` of a permutation ``order`` drawn for the epoch.
    The rows of several batches are gathered at once (about
    ``GATHER_BYTES``), into the same buffers all epoch long: a batch is
    only valid until the next one is drawn. ``shuffle="blocks"`` yields the
    blocks of ``batch_size`` consecutive rows in a random order (views, no
    gather); ``shuffle=False``, in order.
    """
    n = data.n_samples
    if batch_size >= n:
        yield data
        return
    if shuffle == "blocks":
        starts = rng.permutation(np.arange(0, n, batch_size)).tolist()
        yield from _slices(data, batch_size, starts)
        return
    if not shuffle:
        yield from _slices(data, batch_size)
        return
    xp = array_namespace(data.X)
    order = xp.asarray(rng.permutation(n), device=array_device(data.X))
    row_bytes = data.X.shape[1] * xp.finfo(data.X.dtype).bits // 8
    step = batch_size * max(1, GATHER_BYTES // (batch_size * row_bytes))
    gathered = None
    for start in range(0, n, step):
        gathered = take(data, order[start:min(start + step, n)], out=gathered)
        yield from _slices(gathered, batch_size)


# ---------------------------------------------------------------- one step


def gradient_step(params, opt_state, batch, *, model, loss_fn, optimizer, penalty,
                  learning_rate, mean_weight, max_grad_norm=None, weight_decay=0.0,
                  apply=None):
    """One optimizer step on one batch (the steps of the module docstring).

    Returns ``(params, state, loss)``: the new parameters and optimizer
    state, and the per-sample losses of the batch (times the sample weights)
    at the parameters before the step. ``apply(params, grads, state, lr)``,
    when given, computes the weight decay, the optimizer's step and the l1
    step in one (compiled) pass, with the same numbers to rounding.
    """
    scale = 1.0 / (batch.X.shape[0] * mean_weight)
    loss, grads = model.loss_and_grad(
        params, batch.X, batch.Y, batch.sample_weight, loss_fn, scale
    )
    grads = penalty.add_gradient(grads, params)
    if max_grad_norm is not None:
        grads = clip_grad_norm(grads, max_grad_norm)
    if apply is not None:
        params, opt_state = apply(params, grads, opt_state, learning_rate)
        return params, opt_state, loss
    if weight_decay:
        params = decay_weights(params, 1.0 - learning_rate * weight_decay)
    direction, opt_state = optimizer.update(grads, opt_state)
    params = tree_map(lambda p, d: p - learning_rate * d, params, direction)
    return penalty.prox(params, learning_rate), opt_state, loss


def clip_grad_norm(grads, max_norm):
    """``grads`` scaled to a global L2 norm of at most ``max_norm``, as torch's ``clip_grad_norm_``.

    Every leaf is multiplied by ``min(1, max_norm / (||g|| + 1e-6))``, with
    ``||g||`` the L2 norm of all the leaves together (intercepts included).
    The factor stays a 0-d array in the namespace of the gradient: no
    device-to-host read.
    """
    leaves = tree_leaves(grads)
    xp = namespace(leaves[0])
    total = xp.sqrt(sum(xp.sum(g * g) for g in leaves))
    factor = xp.clip(max_norm / (total + 1e-6), max=1.0)
    return tree_map(lambda g: g * factor, grads)


def objective(config, data, params, *, with_penalty=True):
    """Training objective (or, without penalty, the mean loss) at ``params``.

    ``params=None`` is the zero model (every raw output 0): no pass over ``X``.
    """
    if is_dask_array(data.X):  # summed blockwise where the blocks live
        from . import _dask

        return _dask.objective(config, data, params, with_penalty=with_penalty)
    xp = array_namespace(data.X)
    rows = _objective_rows(config, data, params)
    if rows >= data.n_samples:
        total = _summed_loss(config, data, params, xp)[0]
    else:  # a network's hidden activations for all rows at once would not fit in cache
        total = _sum_of(xp, [_summed_loss(config, chunk, params, xp)
                             for chunk in _slices(data, rows)])[0]
    value = float(total) / data.weight_sum
    if not with_penalty or params is None:
        return value
    return value + config.penalty.value(params)


#: A network's objective is evaluated over chunks of rows whose widest layer
#: holds about this many bytes: all rows at once would allocate and fault in
#: the hidden activations of the whole data (400 MB for 200,000 rows of 256
#: float64 units).
OBJECTIVE_CHUNK_BYTES = 2**23


def _objective_rows(config, data, params):
    """How many rows the objective takes at once: all of them for a linear model."""
    if params is None or len(params) == 1:
        return data.n_samples
    width = max(layer.coef.shape[1] for layer in params)
    row_bytes = width * array_namespace(data.X).finfo(data.X.dtype).bits // 8
    return max(1, OBJECTIVE_CHUNK_BYTES // row_bytes)


def _summed_loss(config, data, params, xp):
    """The sum of the weighted per-sample losses at ``params``, as a 1-element array."""
    if params is None:
        raw = xp.zeros(data.Y.shape, dtype=data.X.dtype, device=array_device(data.X))
    else:
        raw = config.model.forward(params, data.X)
    with np.errstate(all="ignore"):
        loss, _ = config.loss_fn(data.Y, raw)
        if data.sample_weight is not None:
            loss = loss * data.sample_weight
        return xp.reshape(xp.sum(loss), (1,))


# --------------------------------------------------------------- one epoch


class Epoch(NamedTuple):
    """What an epoch hands back to the loop."""

    params: Any
    opt_state: Any
    n_steps: int
    loss_sum: float  # sum of the weighted per-sample losses, each before its step
    learning_rate: float  # the rate of the last step


def array_api_epoch(params, opt_state, data, config, *, rng, step, epoch, base_lr,
                    mean_weight, apply=None):
    """One epoch of mini-batch steps in the namespace of the data: the reference path.

    ``step`` and ``epoch`` count the optimizer steps and epochs before this
    one (for the schedule); ``base_lr`` is the base learning rate. ``apply``
    is :func:`gradient_step`'s.
    """
    batch_losses = []  # summed every 64 batches, not every batch
    n_steps = 0
    for batch in batches(data, config.batch_size_for(data.n_samples), config.shuffle, rng):
        lr = config.learning_rate_at(base_lr, step=step + n_steps, epoch=epoch)
        params, opt_state, batch_loss = gradient_step(
            params, opt_state, batch, model=config.model, loss_fn=config.loss_fn,
            optimizer=config.optimizer, penalty=config.penalty,
            learning_rate=lr, mean_weight=mean_weight,
            max_grad_norm=config.max_grad_norm, weight_decay=config.weight_decay,
            apply=apply,
        )
        batch_losses.append(batch_loss)
        if len(batch_losses) == 64:
            batch_losses = [_sum_of(namespace(batch_loss), batch_losses)]
        n_steps += 1
    # The namespace of the losses: the data's, or NumPy's for the Dask all-reduce.
    total = float(_sum_of(namespace(batch_losses[0]), batch_losses)[0])
    return Epoch(params, opt_state, n_steps, total, lr)


def epoch_runner(data, config):
    """The function that runs an epoch on ``data``: the one place that chooses.

    The array-API epoch is the reference; faster ways to compute the same
    numbers plug in here. Dask data run their epochs blockwise where the
    blocks live (see :mod:`._dask`).
    """
    if is_dask_array(data.X):
        from . import _dask

        return _dask.epoch_runner(data, config)
    return _compiled_epoch_runner(data, config) or array_api_epoch


#: Whether epochs on NumPy data use the compiled code of :mod:`._kernels`
#: (numba) when numba can be imported: the whole epoch of the linear model
#: with mini-batches, and the optimizer's step of the other models. The
#: array-API epoch computes the same numbers and stays the reference: tests
#: set this to False to run it.
USE_COMPILED_EPOCH = True


def _compiled_epoch_runner(data, config):
    """The compiled epoch for ``data``, or None where it does not apply.

    On NumPy arrays, when numba can be imported: for the linear model with
    mini-batches, the compiled epoch (a full batch is two matrix products,
    which BLAS computes faster on several cores); ``X`` is made C-contiguous
    once here (a copy only if it is not), not at every epoch. For other
    models (an MLP), the array-API epoch with the optimizer's step fused
    into one compiled pass per leaf (:func:`._kernels.apply_update`).
    """
    if not USE_COMPILED_EPOCH or not config.hyperparameters:
        return None  # (a Config built without the optimizer's numbers: the pure path)
    if not all(a is None or type(a) is np.ndarray or isinstance(a, np.memmap)
               for a in data[:3]):
        return None
    try:
        from . import _kernels
    except ImportError:  # no numba wheel for this platform: the array-API epoch
        return None
    if config.model.name != "linear":
        apply = partial(
            _kernels.apply_update, optimizer=config.optimizer_name,
            **config.hyperparameters, l1=config.penalty.l1,
            weight_decay=config.weight_decay,
        )
        return partial(array_api_epoch, apply=apply)
    if config.batch_size_for(data.n_samples) >= data.n_samples:
        return None
    loss, keywords = loss_identity(config.loss_fn)
    if loss not in _kernels.LOSSES:
        return None
    prepared = data._replace(**{  # C order once here, not at every epoch
        name: None if a is None else np.ascontiguousarray(a)
        for name, a in zip(("X", "Y", "sample_weight"), data[:3])})

    def compiled_epoch(params, opt_state, data, config, *, rng, step, epoch, base_lr,
                       mean_weight):
        """One epoch through :func:`._kernels.linear_epoch`, with the reference's draws."""
        order, bounds = epoch_order(prepared.n_samples, config.batch_size_for(
            prepared.n_samples), config.shuffle, rng)
        n_steps = bounds.shape[0] - 1
        rates = config.learning_rates(base_lr, steps=step + np.arange(n_steps), epoch=epoch)
        params, opt_state, loss_sum = _kernels.linear_epoch(
            params, opt_state, prepared.X, prepared.Y, prepared.sample_weight, order,
            bounds, rates, loss=loss, epsilon=keywords.get("epsilon", 0.0),
            optimizer=config.optimizer_name, **config.hyperparameters,
            l1=config.penalty.l1, l2=config.penalty.l2, mean_weight=mean_weight,
            max_grad_norm=config.max_grad_norm, weight_decay=config.weight_decay,
        )
        return Epoch(params, opt_state, n_steps, loss_sum, float(rates[-1]))

    return compiled_epoch


def epoch_order(n_samples, batch_size, shuffle, rng):
    """The rows of an epoch's batches, drawn as :func:`batches` draws them.

    Returns ``(order, bounds)``: batch ``b`` is the rows
    ``order[bounds[b]:bounds[b + 1]]``, with the same random draws (one per
    epoch, from ``rng``) as the array-API epoch, hence the same batches.
    """
    n, size = n_samples, batch_size
    starts = np.arange(0, n, size)
    if size >= n:  # one batch of every row, in order: nothing drawn
        return np.arange(n), np.array([0, n])
    if shuffle == "blocks":
        starts = rng.permutation(starts)
        sizes = np.minimum(starts + size, n) - starts
        bounds = np.concatenate([[0], np.cumsum(sizes)])
        # row i of the epoch: its block's start plus its place in the block
        order = np.repeat(starts - bounds[:-1], sizes) + np.arange(n)
        return order, bounds
    order = rng.permutation(n) if shuffle else np.arange(n)
    return order, np.append(starts, n)


# ---------------------------------------------------------------- the loop


def train(data, validation, progress, config, *, rng, n_epochs, stopping, zero_init=False,
          callbacks=None):
    """Run up to ``n_epochs`` epochs from ``progress``; return the new progress.

    Parameters
    ----------
    data : Data
        The training data.
    validation : Data or None
        Held-out data: its loss is monitored instead of the training
        objective, and the parameters of its best loss are kept.
    progress : Progress
        Where to start; not modified.
    config : Config
        The model, loss, penalty, optimizer and settings.
    rng : numpy.random.RandomState
        Draws the batches.
    n_epochs : int
        The most epochs to run.
    stopping : bool
        Whether the no-improvement rule (``config.tol``) may stop the run.
    zero_init : bool, default=False
        Whether ``progress.params`` is the zero model (saves a pass over X).
    callbacks : _Callbacks or None
        Told about each epoch; a callback can stop the run.

    Returns
    -------
    Progress
    """
    progress = progress.copy()
    if data.weight_sum == 0:  # every sample weighs 0 (zero class weights): a no-op
        return progress
    params, opt_state = progress.params, progress.opt_state
    run_epoch = epoch_runner(data, config)
    mean_weight = data.weight_sum / data.n_samples
    base_lr = config.learning_rate

    # Divergence is judged on this call's data, like with like (see _diverged).
    zero = objective(config, data, None)
    start = zero if zero_init else objective(config, data, params)
    _check_finite_start(data, start)
    reference = max(zero, start)
    safe_loss, safe_params = start, params  # the best finite weights seen
    best_val_params = None
    no_improvement = 0
    outcome = None  # None, "converged", "diverged" or "overflow"
    bad_value = None

    with np.errstate(all="ignore"):
        for _ in range(n_epochs):
            start_time = time.perf_counter()
            epoch_start_params = params
            epoch_ctx = None if callbacks is None else callbacks.begin_epoch()
            epoch = run_epoch(
                params, opt_state, data, config, rng=rng, step=progress.t,
                epoch=progress.n_iter, base_lr=base_lr, mean_weight=mean_weight,
            )
            params, opt_state, lr = epoch.params, epoch.opt_state, epoch.learning_rate
            progress.t += epoch.n_steps
            progress.n_iter += 1
            loss = epoch.loss_sum / data.weight_sum + config.penalty.value(epoch_start_params)
            stop_requested = epoch_ctx is not None and callbacks.end(epoch_ctx, params)

            if not _all_finite(loss, params) or _diverged(loss, zero, start):
                outcome, bad_value = "diverged", loss
                if math.isfinite(loss):
                    progress.loss_curve.append(loss)
                break
            progress.loss_curve.append(loss)
            if loss < safe_loss:
                safe_loss, safe_params = loss, epoch_start_params
            if not _all_finite(0.0, opt_state):
                outcome = "overflow"
                break

            monitored = loss
            if validation is not None:
                monitored = objective(config, validation, params, with_penalty=False)
                progress.validation_loss_curve.append(monitored)
            if config.verbose:
                extra = "" if validation is None else f", validation loss = {monitored:.8f}"
                print(
                    f"Epoch {progress.n_iter}, loss = {loss:.8f}{extra}, "
                    f"learning_rate = {lr:.4g}, "
                    f"time = {time.perf_counter() - start_time:.3f}s"
                )
            if stopping and config.tol is not None:
                if monitored > progress.best_loss - config.tol:
                    no_improvement += 1
                else:
                    no_improvement = 0
            if monitored < progress.best_loss:
                progress.best_loss = monitored
                best_val_params = params
            if stop_requested:  # a callback asked to stop
                outcome = "converged"
                break
            if no_improvement >= config.n_iter_no_change:
                if config.schedule == "adaptive" and base_lr > MIN_ADAPTIVE_LEARNING_RATE:
                    base_lr /= 5.0
                    no_improvement = 0
                else:
                    outcome = "converged"
                    break

    if validation is not None and best_val_params is not None:
        params = best_val_params
    if outcome in (None, "converged"):
        final = objective(config, data, params)
        if _diverged(final, zero, start):
            outcome, bad_value = "diverged", final
        elif outcome == "converged" and validation is None and safe_params is not params:
            # The rule can stop an oscillating fit on an overshoot: keep the
            # best weights seen when they are better, both measured exactly.
            if objective(config, data, safe_params) < final:
                params = safe_params
    if outcome == "diverged":
        _warn_diverged(config, progress, reference, bad_value, safe_loss)
    elif outcome == "overflow":
        _warn_overflow(config, progress, data, safe_loss)
    if outcome in ("diverged", "overflow"):
        if progress.best_loss == math.inf:
            progress.best_loss = safe_loss
        # The optimizer state saw the blow-up: start it afresh.
        params, opt_state = safe_params, config.optimizer.init(safe_params)
    elif stopping and outcome is None and config.tol is not None:
        warnings.warn(
            f"Maximum number of epochs (max_iter={config.max_iter}) reached and "
            f"the optimization with optimizer={config.optimizer_name!r} and "
            f"learning_rate={config.learning_rate} hasn't converged yet. "
            "Increase max_iter, or tune learning_rate.",
            ConvergenceWarning,
        )
    progress.params, progress.opt_state = params, opt_state
    return progress


def _diverged(value, zero, start):
    """Whether a training objective of ``value`` means that the fit diverged.

    All three objectives are measured on the same data (this call's):
    ``zero`` of the zero model, ``start`` where the call started. A
    non-finite value has diverged. So has one that grew ``DIVERGENCE_FACTOR``
    times over the larger of the two (the zero model keeps noise near the
    optimum from counting), and one that grew ``SLOW_GROWTH`` times over its
    start while ending ``DIVERGENCE_FACTOR`` times worse than the zero model
    (a slower blow-up, over several ``partial_fit`` calls). A call that
    starts high, on data unlike what the model learned (a level shift in a
    stream), and comes down or barely moves, has not diverged.
    """
    if not math.isfinite(value):
        return True
    if value > DIVERGENCE_FACTOR * max(zero, start):
        return True
    return value > SLOW_GROWTH * start and value > DIVERGENCE_FACTOR * zero


def _check_finite_start(data, start):
    """Refuse data on which the objective overflows before any step."""
    if math.isfinite(start):
        return
    xp = array_namespace(data.X)
    with np.errstate(all="ignore"):
        largest_y = float(xp.max(xp.abs(data.Y)))
        largest_x = float(xp.max(xp.abs(data.X)))
    raise ValueError(
        f"The training objective at the initial weights is not finite ({start}): "
        f"the values are too large for {data.X.dtype} (largest |y| = {largest_y:.3g}, "
        f"largest |X| = {largest_x:.3g}). Scale the targets (e.g. with "
        "sklearn.compose.TransformedTargetRegressor(transformer=StandardScaler())) "
        "and the features (StandardScaler)."
    )


def _warn_diverged(config, progress, start, end, kept):
    warnings.warn(
        f"The fit diverged with optimizer={config.optimizer_name!r} and "
        f"learning_rate={config.learning_rate}: the training objective went "
        f"from {start:.4g} to {end:.4g} at epoch {progress.n_iter}. The best "
        f"finite weights seen (objective {kept:.4g}) were kept. Lower "
        "learning_rate.",
        ConvergenceWarning,
    )


def _warn_overflow(config, progress, data, kept):
    xp = array_namespace(data.X)
    largest_x = float(xp.max(xp.abs(data.X)))
    warnings.warn(
        f"The state of optimizer={config.optimizer_name!r} overflowed at epoch "
        f"{progress.n_iter}: the squared gradients exceed the largest {data.X.dtype} "
        f"value (largest |X| = {largest_x:.3g}), so the steps had stopped. The best "
        f"finite weights seen (objective {kept:.4g}) were kept and the optimizer "
        "state was reset. Scale the features (e.g. StandardScaler in a Pipeline).",
        ConvergenceWarning,
    )


def _sum_of(xp, arrays):
    """The sum of the values of a list of 1-D arrays, as a 1-element array."""
    values = arrays[0] if len(arrays) == 1 else xp.concat(arrays)
    return xp.reshape(xp.sum(values), (1,))


def _all_finite(loss, tree):
    """Whether ``loss`` and every array leaf of ``tree`` are finite."""
    if not math.isfinite(loss):
        return False
    for leaf in tree_leaves(tree):
        if hasattr(leaf, "shape"):
            xp = array_namespace(leaf)
            if not bool(xp.all(xp.isfinite(leaf))):
                return False
    return True


class Callbacks(NamedTuple):
    """scikit-learn's callback hooks (``sklearn.callback``): one task per epoch.

    ``attributes(params)`` gives the fitted attributes of an estimator at
    ``params``, so that a callback sees a model that predicts.
    """

    estimator: Any
    context: Any
    X: Any
    y: Any
    metadata: Any
    attributes: Callable

    @classmethod
    def begin(cls, estimator, n_epochs, X, y, sample_weight, attributes):
        """Open the fit task, or return None where sklearn has no callback API."""
        if not hasattr(estimator, "_init_callback_context"):
            return None
        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        context = estimator._init_callback_context(max_subtasks=n_epochs)
        context.call_on_fit_task_begin(estimator=estimator, X=X, y=y, metadata=metadata)
        return cls(estimator, context, X, y, metadata, attributes)

    def begin_epoch(self):
        context = self.context.subcontext(task_name="epoch")
        context.call_on_fit_task_begin(
            estimator=self.estimator, X=self.X, y=self.y, metadata=self.metadata
        )
        return context

    def end(self, context, params):
        """End a task; return whether a callback asked to stop."""
        return context.call_on_fit_task_end(
            estimator=self.estimator, X=self.X, y=self.y, metadata=self.metadata,
            reconstruction_attributes=lambda: self.attributes(params),
        )
