"""One epoch: the data, the configuration, the batches, one step and the objective.

The training loop (:func:`~sk_gradopt._training.train`) runs epochs; this
module says what an epoch is. The estimator hands over its data (a
:class:`Data`) and a :class:`Config` built from its parameters (the model,
the loss, the penalty, the optimizer and the loop's settings).

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

:func:`array_api_epoch` runs the steps of one epoch in the namespace of the
data: the reference. :func:`epoch_runner` chooses how an epoch of in-memory
data runs: the reference, or (``compiled=True``) the compiled code of
:mod:`._kernels` where it applies, which computes the same numbers faster.
Dask data run their epochs blockwise (:mod:`._dask`), each block with an
epoch of this module.
"""

from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Callable, NamedTuple

import numpy as np
from ._array_api import array_device, issparse, namespace
from ._averaging import decay_of, update_average
from ._losses import loss_identity
from ._optimizers import GradientTransformation
from ._penalties import Penalty, decay_weights
from .schedules import scheduled_learning_rate, scheduled_learning_rates
from ._tree import tree_leaves, tree_map

__all__ = [
    "Config",
    "Data",
    "Epoch",
    "array_api_epoch",
    "batches",
    "clip_grad_norm",
    "epoch_order",
    "epoch_runner",
    "global_norm",
    "gradient_step",
    "objective",
    "summed_loss",
    "take",
    "weight_sum",
]

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

    ``learning_rate`` and ``max_iter`` also name the estimator's settings in
    the warnings. The optimizer's identity (its name, rule,
    hyperparameters and whether the compiled epoch has it) is
    ``optimizer.spec`` (:class:`~sk_gradopt._optimizers.OptimizerSpec`):
    :attr:`optimizer_name` reads it.
    """

    model: Any  # a _models.Model
    loss_fn: Callable
    penalty: Penalty
    optimizer: GradientTransformation
    learning_rate: float
    schedule: Any  # a shortcut string, a schedules.Schedule or a callable
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
    average: Any = False  # False, True (equal average) or a float (EMA decay)
    steps_per_epoch: int = 1  # optimizer steps per epoch (set by the loop, for OneCycleLR)

    @property
    def optimizer_name(self):
        """The optimizer's name, for messages: its spec's (a rule of one's own has none)."""
        spec = self.optimizer.spec
        return "a rule of one's own" if spec is None else spec.name

    def learning_rate_at(self, base, *, step, epoch):
        """The learning rate of optimizer step ``step`` (from 0), in epoch ``epoch`` (from 0).

        The one function for the rate of a step: the schedule from the base
        rate ``base`` (the estimator's ``learning_rate``, its ``"auto"`` value,
        or what ``"adaptive"`` made of it), times the warmup factor.
        """
        return scheduled_learning_rate(
            self.schedule, base, step=step, epoch=epoch, max_iter=self.max_iter,
            power_t=self.power_t, warmup_steps=self.warmup_steps,
            steps_per_epoch=self.steps_per_epoch,
        )

    def learning_rates(self, base, *, steps, epoch):
        """:meth:`learning_rate_at` of every step of ``steps`` (a NumPy array).

        A float64 array of one rate per step, or of one rate for all of them.
        """
        return scheduled_learning_rates(
            self.schedule, base, steps=steps, epoch=epoch, max_iter=self.max_iter,
            power_t=self.power_t, warmup_steps=self.warmup_steps,
            steps_per_epoch=self.steps_per_epoch,
        )

    def batch_size_for(self, n_samples):
        """The number of rows of a mini-batch of data of ``n_samples`` rows."""
        if self.batch_size is None:
            return n_samples
        if self.batch_size == "auto":
            return min(200, n_samples)
        return min(self.batch_size, n_samples)


# ------------------------------------------------------------------ batches


def weight_sum(sample_weight, n_samples):
    """The sum of the sample weights, a float (a device-to-host read); ``n_samples`` without."""
    if sample_weight is None:
        return float(n_samples)
    return float(namespace(sample_weight).sum(sample_weight))


def take(data, rows, with_weight_sum=False, out=None):
    """The rows ``rows`` (an index array) of ``data``.

    ``weight_sum`` is computed only when asked: it is a device-to-host read.
    ``out``, the result of an earlier call with at least as many rows, is
    overwritten with the result where the arrays are NumPy's (see
    :func:`_take_rows`).
    """
    xp = namespace(data.X)
    buffers = (None, None, None) if out is None else out[:3]
    X, Y, sw = (_take_rows(xp, a, rows, b) for a, b in zip(data[:3], buffers))
    return Data(X, Y, sw, weight_sum(sw, rows.shape[0]) if with_weight_sum else None)


def _take_rows(xp, array, rows, out=None):
    """``xp.take(array, rows, axis=0)``, written into ``out`` for NumPy arrays.

    ``out`` (NumPy only; ignored otherwise) has at least ``len(rows)`` rows;
    the result is its first ``len(rows)`` rows. ``mode="clip"`` skips the
    index check (``rows`` are valid), which with ``out`` would go through a
    temporary copy.
    """
    if array is None:
        return None
    if issparse(array):  # the rows of a CSR matrix: a CSR matrix of the batch's nnz
        return array[rows]
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
        yield Data(_row_slice(data.X, start, stop), data.Y[start:stop, ...],
                   None if sw is None else sw[start:stop], None)


def _row_slice(X, start, stop):
    """Rows ``start:stop`` of ``X``: a view of a dense array, a CSR matrix of a sparse one."""
    return X[start:stop] if issparse(X) else X[start:stop, ...]


def _row_bytes(X):
    """The bytes of one row of ``X``: of its stored values and indices where it is sparse."""
    xp = namespace(X)
    if issparse(X):
        per_row = max(1, X.nnz // max(1, X.shape[0]))
        return per_row * (X.dtype.itemsize + X.indices.dtype.itemsize)
    return X.shape[1] * xp.finfo(X.dtype).bits // 8


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
    xp = namespace(data.X)
    order = xp.asarray(rng.permutation(n), device=array_device(data.X))
    row_bytes = _row_bytes(data.X)
    step = batch_size * max(1, GATHER_BYTES // (batch_size * row_bytes))
    gathered = None
    for start in range(0, n, step):
        gathered = take(data, order[start:min(start + step, n)], out=gathered)
        yield from _slices(gathered, batch_size)


# ---------------------------------------------------------------- one step


def gradient_step(params, opt_state, batch, *, model, loss_fn, optimizer, penalty,
                  learning_rate, mean_weight, max_grad_norm=None, weight_decay=0.0,
                  apply=None, with_grad_norm=False):
    """One optimizer step on one batch (the steps of the module docstring).

    Returns ``(params, state, loss)``: the new parameters and optimizer
    state, and the per-sample losses of the batch (times the sample weights)
    at the parameters before the step; with ``with_grad_norm``, also the
    global L2 norm of the gradient before clipping (the penalty's part
    included, as clipping sees it), a 0-d array in the data's namespace.
    ``apply(params, grads, state, lr)``, when given, computes the weight
    decay, the optimizer's step and the l1 step in one (compiled) pass, with
    the same numbers to rounding.
    """
    scale = 1.0 / (batch.X.shape[0] * mean_weight)
    loss, grads = model.loss_and_grad(
        params, batch.X, batch.Y, batch.sample_weight, loss_fn, scale
    )
    grads = penalty.add_gradient(grads, params)
    norm = None
    if max_grad_norm is not None:
        norm = global_norm(grads)
    elif with_grad_norm:  # for the record only: no rescaled second pass (see global_norm)
        norm = global_norm(grads, overflow_safe=False)
    if max_grad_norm is not None:
        grads = clip_grad_norm(grads, max_grad_norm, norm=norm)
    if apply is not None:
        params, opt_state = apply(params, grads, opt_state, learning_rate)
    else:
        if weight_decay:
            params = decay_weights(params, 1.0 - learning_rate * weight_decay)
        direction, opt_state = optimizer.update(grads, opt_state)
        params = tree_map(lambda p, d: p - learning_rate * d, params, direction)
        params = penalty.prox(params, learning_rate)
    if with_grad_norm:
        return params, opt_state, loss, norm
    return params, opt_state, loss


def global_norm(grads, *, overflow_safe=True):
    """The L2 norm of all the leaves of ``grads`` together, as a 0-d array (no host read).

    As torch's ``clip_grad_norm_`` computes it (intercepts included). ``g *
    g`` overflows where ``|g| > sqrt(the dtype's max)`` (1.8e19 in float32):
    with ``overflow_safe`` the norm is then computed on the gradient scaled
    by its largest ``|g|``, at the cost of more passes over the gradient
    (clipping needs it; the recorded ``grad_norm_curve_`` does not: an epoch
    with such a gradient has diverged, and is not recorded).
    """
    leaves = tree_leaves(grads)
    xp = namespace(leaves[0])
    if not overflow_safe:  # a dot product of each leaf with itself: no temporary
        flat = [xp.reshape(g, (-1,)) for g in leaves]
        return xp.sqrt(sum(xp.vecdot(g, g) for g in flat))
    total = xp.sqrt(sum(xp.sum(g * g) for g in leaves))
    largest = _max_of(xp, [xp.max(xp.abs(g)) for g in leaves])
    safe = xp.where(largest > 0, largest, xp.ones_like(largest))
    scaled = largest * xp.sqrt(sum(xp.sum((g / safe) * (g / safe)) for g in leaves))
    return xp.where(xp.isfinite(total), total, scaled)


def clip_grad_norm(grads, max_norm, *, norm=None):
    """``grads`` scaled to a global L2 norm of at most ``max_norm``, as torch's ``clip_grad_norm_``.

    Every leaf is multiplied by ``min(1, max_norm / (||g|| + 1e-6))``, with
    ``||g||`` the L2 norm of all the leaves together (:func:`global_norm`;
    ``norm`` where it is known already). The factor stays a 0-d array in the
    namespace of the gradient: no device-to-host read.
    """
    total = global_norm(grads) if norm is None else norm
    xp = namespace(total)
    factor = xp.clip(max_norm / (total + 1e-6), max=1.0)
    return tree_map(lambda g: g * factor, grads)


def _max_of(xp, values):
    """The largest of a list of 0-d arrays, as a 0-d array (no device-to-host read)."""
    return xp.max(xp.stack(values)) if len(values) > 1 else values[0]


def objective(config, data, params, *, with_penalty=True):
    """Training objective (or, without penalty, the mean loss) at ``params``.

    ``params=None`` is the zero model (every raw output 0): no pass over ``X``.
    In-memory data; on Dask data, :func:`._dask.objective`.
    """
    xp = namespace(data.X)
    rows = _objective_rows(config, data, params)
    if rows >= data.n_samples:
        total = summed_loss(config, data, params)[0]
    else:  # a network's hidden activations for all rows at once would not fit in cache
        total = _sum_of(xp, [summed_loss(config, chunk, params)
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
    row_bytes = width * namespace(data.X).finfo(data.X.dtype).bits // 8
    return max(1, OBJECTIVE_CHUNK_BYTES // row_bytes)


def summed_loss(config, data, params):
    """The sum of the weighted per-sample losses at ``params``, as a 1-element array.

    ``params=None`` is the zero model. In the namespace of ``data``.
    """
    xp = namespace(data.X)
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
    grad_norm_sum: float = 0.0  # sum over the steps of the gradient's norm before clipping
    average: Any = None  # the _averaging.Average after the epoch's steps, when averaging


def array_api_epoch(params, opt_state, data, config, *, rng, step, epoch, base_lr,
                    mean_weight, apply=None, average=None):
    """One epoch of mini-batch steps in the namespace of the data: the reference path.

    ``step`` and ``epoch`` count the optimizer steps and epochs before this
    one (for the schedule); ``base_lr`` is the base learning rate. ``apply``
    is :func:`gradient_step`'s. ``average`` (an
    :class:`~sk_gradopt._averaging.Average`, where ``config.average``) is
    updated after every step.
    """
    batch_losses, norms = [], []  # summed every 64 batches, not every batch
    n_steps = 0
    for batch in batches(data, config.batch_size_for(data.n_samples), config.shuffle, rng):
        lr = config.learning_rate_at(base_lr, step=step + n_steps, epoch=epoch)
        params, opt_state, batch_loss, norm = gradient_step(
            params, opt_state, batch, model=config.model, loss_fn=config.loss_fn,
            optimizer=config.optimizer, penalty=config.penalty,
            learning_rate=lr, mean_weight=mean_weight,
            max_grad_norm=config.max_grad_norm, weight_decay=config.weight_decay,
            apply=apply, with_grad_norm=True,
        )
        if average is not None:
            average = update_average(average, params, decay_of(config.average))
        batch_losses.append(batch_loss)
        norms.append(norm)
        if len(batch_losses) == 64:
            batch_losses = [_sum_of(namespace(batch_loss), batch_losses)]
            norms = [_sum_of(namespace(norm), [_as_1d(n) for n in norms])]
        n_steps += 1
    # The namespace of the losses: the data's, or NumPy's for the Dask all-reduce.
    total = float(_sum_of(namespace(batch_losses[0]), batch_losses)[0])
    norm_sum = float(_sum_of(namespace(norms[0]), [_as_1d(n) for n in norms])[0])
    return Epoch(params, opt_state, n_steps, total, lr, norm_sum, average)


def _as_1d(value):
    """A 0-d (or 1-element) array as a 1-element 1-D array."""
    return namespace(value).reshape(value, (1,))


def epoch_runner(data, config, *, compiled=True):
    """The function that runs an epoch on the in-memory ``data``: the one place that chooses.

    Parameters
    ----------
    data : Data
        The training data (NumPy, CuPy or another array-API namespace).
    config : Config
        The loop's configuration.
    compiled : bool, default=True
        Whether to use the compiled code of :mod:`._kernels` (numba) where it
        applies: the whole epoch of the linear model with mini-batches, and
        the optimizer's step of the other models, on NumPy data. False runs
        the array-API epoch, the reference, which computes the same numbers
        (the tests compare them).

    Returns
    -------
    callable
        With the signature of :func:`array_api_epoch` (without ``apply``).
    """
    if compiled:
        runner = _compiled_epoch_runner(data, config)
        if runner is not None:
            return runner
    return array_api_epoch


def _compiled_epoch_runner(data, config):
    """The compiled epoch for ``data``, or None where it does not apply.

    On NumPy arrays, when numba can be imported: for the linear model with
    mini-batches, the compiled epoch; ``X`` is made C-contiguous once here
    (a copy only if it is not), not at every epoch. A full batch runs the
    array-API epoch with the model's loss and gradient in one read of X,
    chunks of rows on every core (:func:`._kernels.compiled_linear`). For other
    models (an MLP), the array-API epoch with the hidden layers' element-wise
    work (:func:`._kernels.compiled_mlp`) and the optimizer's step
    (:func:`._kernels.apply_update`) each fused into one compiled pass.
    The compiled epochs of the linear model with mini-batches do not average
    the weights (``config.average``): there the array-API epoch runs.

    The optimizer's spec (:class:`~sk_gradopt._optimizers.OptimizerSpec`)
    says whether the compiled code has its rule: where it has not (Adagrad,
    Adam with AMSGrad...), the linear model runs the reference epoch, and an
    MLP the reference step (``apply=None``) with its compiled model.
    """
    if config.optimizer.spec is None:  # a rule of one's own: the compiled code doesn't know it
        return None
    rule = config.optimizer.compiled_rule()
    sparse = issparse(data.X)
    if sparse and data.X.format != "csr":
        return None
    if not all(a is None or type(a) is np.ndarray or isinstance(a, np.memmap)
               for a in data[int(sparse):3]):
        return None
    try:
        from . import _kernels
    except ImportError:  # no numba wheel for this platform: the array-API epoch
        return None
    hyperparameters = {name: config.optimizer.hyperparameters[name]
                       for name in _kernels.RULE_HYPERPARAMETERS}
    if config.model.name != "linear":
        return _compiled_model_runner(config, sparse, rule, hyperparameters)
    if rule is None:
        return None
    loss, keywords = loss_identity(config.loss_fn)
    if config.batch_size_for(data.n_samples) >= data.n_samples:
        # one read of X a step, chunks of rows on every core (or BLAS's products)
        return _with_model(_kernels.compiled_linear(config.model), config)
    if loss not in _kernels.LOSSES or config.average:  # (the kernels' epochs don't average)
        return None
    if sparse:
        return _sparse_epoch_runner(data, config, loss, keywords.get("epsilon", 0.0),
                                    hyperparameters)
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
        params, opt_state, loss_sum, norm_sum = _kernels.linear_epoch(
            params, opt_state, prepared.X, prepared.Y, prepared.sample_weight, order,
            bounds, rates, loss=loss, epsilon=keywords.get("epsilon", 0.0),
            optimizer=config.optimizer.spec.name, **hyperparameters,
            l1=config.penalty.l1, l2=config.penalty.l2, mean_weight=mean_weight,
            max_grad_norm=config.max_grad_norm, weight_decay=config.weight_decay,
            with_grad_norm=True,
        )
        return Epoch(params, opt_state, n_steps, loss_sum, float(rates[-1]), norm_sum)

    return compiled_epoch


def _compiled_model_runner(config, sparse, rule, hyperparameters):
    """The array-API epoch of a model other than the linear one, with compiled parts.

    The model's element-wise work compiled (:func:`._kernels.compiled_mlp`;
    a sparse ``X`` keeps the reference model: the compiled MLP takes dense
    rows), and the optimizer's step fused into one pass
    (:func:`._kernels.apply_update`) where the compiled code has the rule
    (``rule``, with its ``hyperparameters``), else the reference step.
    """
    from . import _kernels

    apply = None if rule is None else partial(
        _kernels.apply_update, optimizer=config.optimizer.spec.name, **hyperparameters,
        l1=config.penalty.l1, weight_decay=config.weight_decay,
    )
    model = config.model if sparse else _kernels.compiled_mlp(config.model)
    return _with_model(model, config, apply=apply)


def _with_model(model, config, apply=None):
    """The array-API epoch with ``model`` (a compiled variant) and the step's ``apply``."""
    compiled_config = replace(config, model=model)

    def epoch_with_model(params, opt_state, data, config, **counters):
        """The array-API epoch with the compiled model and step."""
        return array_api_epoch(params, opt_state, data, compiled_config, apply=apply,
                               **counters)

    return epoch_with_model


def _sparse_epoch_runner(data, config, loss, epsilon, hyperparameters):
    """The compiled epoch of the linear model on CSR data (:mod:`._sparse_kernels`).

    ``hyperparameters``: those of the compiled rule, as :func:`._kernels.linear_epoch`'s.
    """
    from . import _sparse_kernels

    # once here, not at every epoch
    X, Y = _sparse_kernels.prepare_csr(data.X), np.ascontiguousarray(data.Y)
    sample_weight = None if data.sample_weight is None else np.ascontiguousarray(
        data.sample_weight)

    def sparse_epoch(params, opt_state, data, config, *, rng, step, epoch, base_lr,
                     mean_weight):
        """One epoch through :func:`._sparse_kernels.sparse_linear_epoch`, same draws."""
        order, bounds = epoch_order(X.shape[0], config.batch_size_for(X.shape[0]),
                                    config.shuffle, rng)
        n_steps = bounds.shape[0] - 1
        rates = config.learning_rates(base_lr, steps=step + np.arange(n_steps), epoch=epoch)
        params, opt_state, loss_sum, norm_sum = _sparse_kernels.sparse_linear_epoch(
            params, opt_state, X, Y, sample_weight, order, bounds, rates,
            loss=loss, epsilon=epsilon, optimizer=config.optimizer.spec.name,
            **hyperparameters, l1=config.penalty.l1, l2=config.penalty.l2,
            mean_weight=mean_weight, max_grad_norm=config.max_grad_norm,
            weight_decay=config.weight_decay, with_grad_norm=True,
        )
        return Epoch(params, opt_state, n_steps, loss_sum, float(rates[-1]), norm_sum)

    return sparse_epoch


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


def _sum_of(xp, arrays):
    """The sum of the values of a list of 1-D arrays, as a 1-element array."""
    values = arrays[0] if len(arrays) == 1 else xp.concat(arrays)
    return xp.reshape(xp.sum(values), (1,))

