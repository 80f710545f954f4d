"""Training on Dask arrays: gradient all-reduce over the row blocks, X never on the client.

The estimators hand Dask input here before anything would turn it into one
NumPy array; the training loop (:func:`~sk_gradopt._training.train`) stays the
one loop, and plugs in two pieces of this module:

* :func:`epoch_runner`, chosen by :func:`~sk_gradopt._training.epoch_runner`
  for Dask data, runs one epoch;
* :func:`objective`, called by :func:`~sk_gradopt._training.objective`,
  evaluates the training (or validation) objective.

**Where things live.** ``X``, the encoded targets ``Y`` and the sample
weights stay in the workers' memory, in row blocks (persisted there for the
fit when a ``dask.distributed`` client is active). The parameters and the
optimizer state are small NumPy arrays on the client. Every piece of work on
the data is a task on one block that runs where the block lives, with the
model and loss functions of the in-memory path (``config.model.forward``,
``config.model.loss_and_grad``, ``config.loss_fn``), in the namespace of the
block (NumPy, CuPy...); only small results come back.

**A full-batch step** (``"gd"``, or ``batch_size >= n_samples``) is the
in-memory epoch (:func:`~sk_gradopt._training.array_api_epoch`) run on the
client with one change: the model's ``loss_and_grad`` is an all-reduce. The
parameters go out with the step's tasks; every block returns its summed loss,
its gradient contribution (already scaled as the in-memory step scales it)
and its weight sum; a tree reduction (``SPLIT_EVERY`` pieces per task) adds
them up on the workers, and the client applies the penalty, the optimizer
update and the proximal step of :func:`~sk_gradopt._training.gradient_step`.
One round trip per step, with a task graph of the same size every step: the
numbers are the in-memory ones up to the order of the sums.

**Mini-batch epochs** draw their batches within blocks: the block order is
shuffled (``shuffle=True`` or ``"blocks"``), and each block is visited by one
task that runs the in-memory epoch on that block alone (rows shuffled within
the block, or its ``"blocks"`` of consecutive rows in a random order), one
optimizer step per batch, and hands the parameters and the optimizer state
back to the client. One round trip per block. A batch never spans two
blocks: each block ends with its own short batch, and a batch is at most a
block.

The second half of the module is the estimator side: lazy validation,
targets encoded blockwise, lazy predictions and scores.
"""

import math
import sys
import uuid
import warnings
from dataclasses import replace
from functools import partial
from numbers import Real
from typing import NamedTuple

import numpy as np
from array_api_compat import device as array_device
from sklearn.exceptions import DataConversionWarning, UndefinedMetricWarning
from sklearn.utils.validation import check_consistent_length, check_is_fitted, validate_data

from ._array_api import (
    convert_arrays,
    get_namespace_and_device,
    import_cupy,
    is_cupy_array,
    to_numpy,
)
from ._optimizers import namespace
from ._training import Data, Epoch, array_api_epoch
from ._training import epoch_runner as in_memory_epoch_runner
from ._tree import tree_map

try:
    import dask
    import dask.array as da
    import dask.sizeof
except ImportError as exc:  # pragma: no cover - only without Dask installed
    raise ImportError(
        "Fitting on Dask arrays needs Dask and dask.distributed: "
        "pip install 'sk-gradopt[dask]'"
    ) from exc

__all__ = [
    "EMBED_BYTES",
    "SPLIT_EVERY",
    "Blocks",
    "active_client",
    "all_reduce",
    "as_columns",
    "encode_classes",
    "epoch_runner",
    "labels",
    "objective",
    "raw_output",
    "score",
    "split_blocks",
    "training_data",
    "validate_fit",
]

#: Pieces added up by one task of the tree reduction.
SPLIT_EVERY = 8

#: Arguments of a step (the parameters...) up to this many bytes over all its
#: tasks travel inside every task; larger ones once, as a key the tasks share.
EMBED_BYTES = 2**22


# ----------------------------------------------------------- scheduler


def active_client():
    """The ``dask.distributed`` client that Dask computes with now, or None.

    None means Dask's default (local) scheduler: the data are then not
    persisted, and every step recomputes the blocks from their graph.
    """
    if "distributed" not in sys.modules:  # no client without distributed imported
        return None
    from distributed import Client

    scheduler = dask.base.get_scheduler()
    return scheduler if isinstance(scheduler, Client) else None


def _persist(*arrays):
    """The arrays persisted on the active client's workers (None stays None)."""
    client = active_client()
    present = [a for a in arrays if a is not None]
    if client is None or not present:
        return arrays
    persisted = iter(client.persist(present))
    return tuple(None if a is None else next(persisted) for a in arrays)


def _compute(*values):
    """``dask.compute``: on the active client's cluster, else with Dask's default scheduler."""
    return dask.compute(*values)


# -------------------------------------------------------------- blocks


def _host(tree):
    """``tree`` with NumPy leaves (parameters, gradients, optimizer state)."""
    return convert_arrays(tree, to_numpy)


def _to_block(tree, block):
    """``tree`` (NumPy leaves) in the namespace and on the device of ``block``."""
    if isinstance(block, np.ndarray):
        return tree
    xp, dev = namespace(block), array_device(block)
    return convert_arrays(tree, lambda a: xp.asarray(a, device=dev))


def _like(block, *arrays):
    """``arrays`` (blocks of Y or sample weights) in the namespace, device and dtype of ``block``."""
    xp, dev = namespace(block), array_device(block)
    out = []
    for a in arrays:
        if a is not None:
            if namespace(a) is not xp:
                a = xp.asarray(to_numpy(a), device=dev)
            if a.dtype != block.dtype:
                a = xp.astype(a, block.dtype)
        out.append(a)
    return out


class Blocks(NamedTuple):
    """The row blocks of a :class:`~sk_gradopt._training.Data` as Delayed objects."""

    X: list
    Y: list
    sample_weight: list  # None per block without sample weights
    rows: tuple  # the number of rows of each block

    @classmethod
    def of(cls, data):
        X = data.X.to_delayed().ravel().tolist()
        Y = data.Y.to_delayed().ravel().tolist()
        sw = data.sample_weight
        sw = [None] * len(X) if sw is None else sw.to_delayed().ravel().tolist()
        return cls(X, Y, sw, data.X.chunks[0])

    def __len__(self):
        return len(self.X)

    def tasks(self, function, args, indices=None):
        """``function(X_i, Y_i, sw_i, args)`` as one task per block ``i`` of ``indices``.

        ``args`` travel inside every task when they are small (a round trip
        with one hop less), else once, as a key the tasks share.
        """
        indices = range(len(self.X)) if indices is None else indices
        if dask.sizeof.sizeof(args) * len(indices) <= EMBED_BYTES:
            task = dask.delayed(partial(function, args=args), pure=False)
            return [task(self.X[i], self.Y[i], self.sample_weight[i]) for i in indices]
        shared = dask.delayed(args, name=f"sk-gradopt-{uuid.uuid4().hex}", traverse=False)
        task = dask.delayed(function, pure=False)
        return [task(self.X[i], self.Y[i], self.sample_weight[i], shared) for i in indices]


def _add_pieces(*pieces):
    """The leafwise sum of the pieces (tuples of floats and parameter trees), in order."""

    def add(first, *rest):
        for value in rest:
            first = first + value
        return first

    return tree_map(add, *pieces)


def all_reduce(blocks, function, *args):
    """The sum over the blocks of ``function(X_b, Y_b, sw_b, args)``: one compute.

    Every block's task runs where the block lives. The pieces are added up
    by a tree reduction: tasks on the workers add ``SPLIT_EVERY`` pieces at
    a time while there are more than ``SPLIT_EVERY``, and the client adds
    the last ones (at most ``SPLIT_EVERY`` pieces come back: one stage of
    tasks fewer than a root task on a worker would take). The graph has the
    same size at every call.
    """
    pieces = blocks.tasks(function, args)
    while len(pieces) > SPLIT_EVERY:
        pieces = [
            dask.delayed(_add_pieces, pure=False)(*pieces[i:i + SPLIT_EVERY])
            for i in range(0, len(pieces), SPLIT_EVERY)
        ]
    return _add_pieces(*_compute(*pieces))


def _weight_sum(xp, Xb, swb):
    return float(Xb.shape[0]) if swb is None else float(xp.sum(swb))


def _gradient_piece(Xb, Yb, swb, args):
    """A block's summed loss, gradient contribution and weight sum (NumPy, on the worker)."""
    params, loss_and_grad, loss_fn, scale = args
    Yb, swb = _like(Xb, Yb, swb)
    xp = namespace(Xb)
    with np.errstate(all="ignore"):
        loss, grads = loss_and_grad(_to_block(params, Xb), Xb, Yb, swb, loss_fn, scale)
        return float(xp.sum(loss)), _host(grads), _weight_sum(xp, Xb, swb)


def _loss_piece(Xb, Yb, swb, args):
    """A block's summed weighted loss at ``params`` (None: the zero model) and weight sum."""
    params, forward, loss_fn = args
    Yb, swb = _like(Xb, Yb, swb)
    xp = namespace(Xb)
    with np.errstate(all="ignore"):
        if params is None:
            raw = xp.zeros(Yb.shape, dtype=Xb.dtype, device=array_device(Xb))
        else:
            raw = forward(_to_block(params, Xb), Xb)
        loss, _ = loss_fn(Yb, raw)
        if swb is not None:
            loss = loss * swb
        return float(xp.sum(loss)), _weight_sum(xp, Xb, swb)


# ------------------------------------------------------- training side


def objective(config, data, params, *, with_penalty=True):
    """:func:`~sk_gradopt._training.objective` on Dask data: the losses summed blockwise."""
    params = None if params is None else _host(params)
    loss_sum, _ = all_reduce(Blocks.of(data), _loss_piece, params, config.model.forward,
                             config.loss_fn)
    value = loss_sum / data.weight_sum
    if not with_penalty or params is None:
        return value
    return value + config.penalty.value(params)


def epoch_runner(data, config):
    """The function that runs an epoch on the Dask ``data`` (see the module docstring).

    Parameters
    ----------
    data : Data
        Dask arrays chunked by rows, with the same row chunks.
    config : Config
        The loop's configuration.

    Returns
    -------
    callable
        With the signature of :func:`~sk_gradopt._training.array_api_epoch`.
    """
    blocks = Blocks.of(data)
    if config.batch_size_for(data.n_samples) >= data.n_samples:
        def full_batch_epoch(params, opt_state, data, config, **counters):
            model = config.model._replace(
                loss_and_grad=_AllReduced(blocks, config.model.loss_and_grad)
            )
            return array_api_epoch(_host(params), _host(opt_state), data,
                                   replace(config, model=model), **counters)

        return full_batch_epoch

    largest = max(data.X.chunks[0])
    if isinstance(config.batch_size, int) and config.batch_size > largest:
        warnings.warn(
            f"batch_size={config.batch_size} is larger than the largest block of X "
            f"({largest} rows): mini-batches are drawn within blocks, so each batch "
            "is one block. Rechunk X, y and sample_weight into larger row blocks "
            f"(X.rechunk({{0: {config.batch_size}}})) for larger batches.",
            UserWarning, stacklevel=2,
        )

    def block_epochs(params, opt_state, data, config, **counters):
        return _block_epochs(blocks, _host(params), _host(opt_state), config, **counters)

    return block_epochs


class _AllReduced:
    """A model's ``loss_and_grad`` summed over the blocks: the all-reduce of one step.

    Called by :func:`~sk_gradopt._training.gradient_step` with the whole
    (Dask) data as the batch, whose blocks it holds. The loss it returns is
    the summed loss, as a 1-element NumPy array: what the epoch sums.
    """

    def __init__(self, blocks, loss_and_grad):
        self.blocks, self.loss_and_grad = blocks, loss_and_grad

    def __call__(self, params, X, Y, sample_weight, loss_fn, scale):
        loss_sum, grads, _ = all_reduce(self.blocks, _gradient_piece, _host(params),
                                        self.loss_and_grad, loss_fn, scale)
        return np.asarray([loss_sum]), grads


def _block_epochs(blocks, params, opt_state, config, *, rng, step, epoch, base_lr, mean_weight):
    """One mini-batch epoch: the blocks in a (shuffled) order, each by one task."""
    n_blocks = len(blocks)
    if config.shuffle:
        order = rng.permutation(n_blocks).tolist()
        seeds = rng.randint(np.iinfo(np.int32).max, size=n_blocks).tolist()
    else:
        order, seeds = range(n_blocks), [0] * n_blocks
    n_steps, loss_sum, lr = 0, 0.0, base_lr
    for i, seed in zip(order, seeds):
        if blocks.rows[i] == 0:  # (a block left empty by a selection)
            continue
        args = (params, opt_state, config, seed, step + n_steps, epoch, base_lr, mean_weight)
        (result,) = _compute(*blocks.tasks(_block_epoch, args, [i]))
        params, opt_state = result.params, result.opt_state
        n_steps += result.n_steps
        loss_sum += result.loss_sum
        lr = result.learning_rate
    return Epoch(params, opt_state, n_steps, loss_sum, lr)


def _block_epoch(Xb, Yb, swb, args):
    """The in-memory epoch over one block, on the worker; parameters and state back as NumPy."""
    params, opt_state, config, seed, step, epoch, base_lr, mean_weight = args
    Yb, swb = _like(Xb, Yb, swb)
    block = Data(Xb, Yb, swb, None)
    with np.errstate(all="ignore"):
        run = in_memory_epoch_runner(block, config)
        result = run(
            _to_block(params, Xb), _to_block(opt_state, Xb), block, config,
            rng=np.random.RandomState(seed), step=step, epoch=epoch, base_lr=base_lr,
            mean_weight=mean_weight,
        )
    return result._replace(params=_host(result.params), opt_state=_host(result.opt_state))


def _block_stats(Xb, Yb, swb, args):
    """What the validation needs to know about a block: non-finite values, weights."""
    Yb, swb = _like(Xb, Yb, swb)
    xp = namespace(Xb)

    def bad(a):
        return (bool(xp.any(xp.isnan(a))), bool(xp.any(xp.isinf(a)))) if a is not None else None

    sw_min = None if swb is None or swb.shape[0] == 0 else float(xp.min(swb))
    return bad(Xb), bad(Yb), bad(swb), sw_min, _weight_sum(xp, Xb, swb)


def _block_weight_sums(data):
    if data.sample_weight is None:
        return [float(rows) for rows in data.X.chunks[0]]
    return [s[-1] for s in _compute(*Blocks.of(data).tasks(_block_stats, ()))]


def training_data(X, Y, sample_weight):
    """The :class:`~sk_gradopt._training.Data` of a fit on Dask arrays.

    Persists ``X``, ``Y`` and ``sample_weight`` on the workers of the active
    client (nothing comes to the client), then, in one compute, checks that
    they are finite and the weights non-negative, and sums the weights.
    """
    X, Y, sample_weight = _persist(X, Y, sample_weight)
    data = Data(X, Y, sample_weight, None)
    stats = _compute(*Blocks.of(data).tasks(_block_stats, ()))
    names = ("X", "y", "sample_weight")
    for k, name in enumerate(names):
        if any(s[k] is not None and s[k][0] for s in stats):
            raise ValueError(f"Input {name} contains NaN.")
        if any(s[k] is not None and s[k][1] for s in stats):
            raise ValueError(
                f"Input {name} contains infinity or a value too large for {X.dtype!r}."
            )
    if min((s[3] for s in stats if s[3] is not None), default=0.0) < 0:
        raise ValueError("Negative values in data passed to `sample_weight`")
    return data._replace(weight_sum=math.fsum(s[4] for s in stats))


def split_blocks(data, validation_fraction, rng):
    """Hold out whole blocks, about ``validation_fraction`` of the rows, for early stopping.

    The blocks are drawn in a random order until they hold at least
    ``validation_fraction`` of the rows; at least one block is held out and
    at least one is kept for training.

    Returns
    -------
    train, validation : Data
    """
    rows = np.asarray(data.X.chunks[0])
    n_blocks = rows.shape[0]
    if n_blocks < 2:
        raise ValueError(
            "early_stopping=True on a Dask array holds out whole blocks of rows, and X "
            f"has {n_blocks} block. Rechunk X, y and sample_weight into several row "
            f"blocks (e.g. X.rechunk({{0: {max(1, int(rows.sum()) // 10)}}})), or set "
            "early_stopping=False."
        )
    order = rng.permutation(n_blocks)
    held = int(np.searchsorted(np.cumsum(rows[order]), validation_fraction * rows.sum())) + 1
    held = min(max(held, 1), n_blocks - 1)
    sums = _block_weight_sums(data)
    parts = []
    for chosen in (np.sort(order[held:]), np.sort(order[:held])):
        chosen = chosen.tolist()
        arrays = [None if a is None else a.blocks[chosen] for a in data[:3]]
        weight_sum = math.fsum(sums[i] for i in chosen)
        parts.append(Data(*_persist(*arrays), weight_sum))
    return tuple(parts)


# ------------------------------------------------------ estimator side


def _numpy_dtype(dtype):
    """The NumPy dtype of a dtype of any namespace (array_api_strict's included)."""
    try:
        return np.dtype(dtype)
    except TypeError:
        return np.dtype(str(dtype).rsplit(".", 1)[-1])


def _convert_block(block, dtype_name, backend):
    """A block of X where ``backend`` wants it, as ``dtype_name``."""
    if backend == "numpy":
        block = to_numpy(block)
    elif backend == "cupy" and not is_cupy_array(block):
        block = import_cupy().asarray(to_numpy(block))
    xp = namespace(block)
    dtype = getattr(xp, dtype_name)
    return block if block.dtype == dtype else xp.astype(block, dtype)


def _check_X(X, backend, *, known_rows=True):
    """``X`` validated lazily: a 2-D Dask array of floats, chunked by rows only."""
    if not isinstance(X, da.Array):
        raise TypeError(
            f"Expected a Dask array, got {type(X).__name__}. Convert a Dask DataFrame "
            "with df.to_dask_array(lengths=True)."
        )
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2-D Dask array of shape (n_samples, n_features), got a "
            f"{X.ndim}-D array of shape {X.shape}. Reshape it, e.g. X.reshape(-1, 1) "
            "for a single feature."
        )
    if known_rows and any(math.isnan(c) for c in X.chunks[0]):
        raise ValueError(
            "X has unknown row chunk sizes; call X.compute_chunk_sizes() (or pass "
            "lengths=True to to_dask_array) first."
        )
    if len(X.chunks[1]) > 1:
        raise ValueError(
            f"X is chunked along its columns ({len(X.chunks[1])} column chunks "
            f"{X.chunks[1]}): each block must hold whole rows. Rechunk it with "
            "X = X.rechunk({1: -1}), keeping its row chunks."
        )
    dtype = _numpy_dtype(X.dtype)
    if dtype.kind not in "biuf":
        raise ValueError(
            f"X must hold numbers; its dtype is {X.dtype}. Convert it, e.g. "
            "X.astype('float64')."
        )
    target = dtype if dtype in (np.float64, np.float32) else np.dtype(np.float64)
    where_wanted = (
        backend == "auto"
        or (backend == "numpy" and isinstance(X._meta, np.ndarray))
        or (backend == "cupy" and is_cupy_array(X._meta))
    )
    if where_wanted and isinstance(X.dtype, np.dtype) and X.dtype == target:
        return X
    # Convert the blocks where they live. Dask's metadata gets NumPy's dtype
    # (the blocks of array_api_strict have dtypes of their own).
    meta = np.empty((0, 0), dtype=target)
    if is_cupy_array(X._meta) and backend != "numpy":
        meta = X._meta.astype(target)
    return X.map_blocks(_convert_block, target.name, backend, dtype=target, meta=meta)


def _rows_like(X, a, name):
    """``a`` (y or sample weights) as a Dask array with the row chunks of ``X``."""
    if a is None:
        return None
    if dask.is_dask_collection(a) and not isinstance(a, da.Array):
        raise TypeError(
            f"Expected a Dask array for {name}, got a {type(a).__name__}. Convert it with "
            f"{name}.to_dask_array(lengths=True)."
        )
    if not isinstance(a, da.Array):
        if not hasattr(a, "shape") and not isinstance(a, (list, tuple)):
            raise TypeError(f"Expected a Dask or NumPy array for {name}, got {type(a).__name__}.")
        a = to_numpy(a)
        check_consistent_length(X, a)
        return da.from_array(a, chunks=(X.chunks[0],) + a.shape[1:])
    check_consistent_length(X, a)
    if a.chunks[0] != X.chunks[0]:
        raise ValueError(
            f"{name} has row chunks {a.chunks[0]}, X has {X.chunks[0]}: block i of "
            f"{name} must hold the rows of block i of X. Rechunk it with "
            f"{name} = {name}.rechunk({{0: X.chunks[0]}})."
        )
    if a.ndim == 2 and len(a.chunks[1]) > 1:
        a = a.rechunk({1: -1})
    return a


def validate_fit(estimator, X, y, sample_weight, init, *, reset):
    """Validate the input of a fit on Dask arrays without computing anything.

    Checks that ``X`` is a 2-D Dask array of numbers chunked by rows only,
    that ``y`` and ``sample_weight`` have its length and its row chunks
    (NumPy ones are cut into its chunks), and sets or checks
    ``n_features_in_`` with scikit-learn's ``validate_data``. The values
    (finite, non-negative weights) are checked by :func:`training_data`.

    Returns
    -------
    X, y, sample_weight, init, xp, device
        ``xp`` and ``device`` are where the parameters live: NumPy, on the
        client.
    """
    X = _check_X(X, estimator.backend)
    validate_data(estimator, X, skip_check_array=True, reset=reset)
    if X.shape[0] < 1:
        raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required.")
    y = _rows_like(X, y, "y")
    y_validation = estimator._y_validation
    if y.ndim == 2 and not y_validation.get("multi_output", False):
        if y.shape[1] != 1:
            raise ValueError(f"y should be a 1d array, got an array of shape {y.shape} instead.")
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected. Please change "
            "the shape of y to (n_samples,), for example using ravel().",
            DataConversionWarning, stacklevel=2,
        )
        y = y[:, 0]
    if y.ndim not in (1, 2):
        raise ValueError(f"y must be 1-D or 2-D; got shape {y.shape}.")
    if y_validation.get("y_numeric", False) and _numpy_dtype(y.dtype).kind not in "biuf":
        raise ValueError(
            f"y must hold numbers for {type(estimator).__name__}; its dtype is {y.dtype}."
        )
    if isinstance(sample_weight, Real):
        sample_weight = da.full((X.shape[0],), float(sample_weight), chunks=(X.chunks[0],),
                                dtype=X.dtype)
    sample_weight = _rows_like(X, sample_weight, "sample_weight")
    if sample_weight is not None and sample_weight.ndim != 1:
        raise ValueError(
            f"Sample weights must be 1D array or scalar, got {sample_weight.ndim}D array."
        )
    init = [None if a is None else to_numpy(a) for a in init]
    xp, _, device = get_namespace_and_device(np.empty(0))
    return X, y, sample_weight, init, xp, device


def _columns_block(block, dtype_name):
    xp = namespace(block)
    if block.ndim == 1:
        block = xp.reshape(block, (-1, 1))
    return xp.astype(block, getattr(xp, dtype_name))


def as_columns(y, dtype):
    """The regression targets ``y`` as an ``(n_samples, n_outputs)`` array of ``dtype``, blockwise."""
    dtype = _numpy_dtype(dtype)
    n_outputs = 1 if y.ndim == 1 else y.shape[1]
    return da.map_blocks(
        _columns_block, y, dtype.name, dtype=dtype, chunks=(y.chunks[0], (n_outputs,)),
        new_axis=1 if y.ndim == 1 else None, meta=np.empty((0, 0), dtype=dtype),
    )


def _encode_block(yb, present, targets, weights, swb):
    """Look up the targets (and class weights) of a block of labels."""
    index = np.searchsorted(present, to_numpy(yb))
    Y = targets[index]
    if weights is None:
        return Y, swb
    w = weights[index]
    return Y, w if swb is None else to_numpy(swb) * w


def _encoded_targets(yb, present, targets, weights, swb=None):
    return _encode_block(yb, present, targets, weights, swb)[0]


def _encoded_weights(yb, swb, present, targets, weights):
    return _encode_block(yb, present, targets, weights, swb)[1]


def encode_classes(estimator, X, y, sample_weight, *, first_call, partial, classes):
    """The classifier's target encoding on Dask labels: classes with ``da.unique``, blockwise lookup.

    Every check of the in-memory encoding (and ``classes_``) depends on the
    set of labels only, so it runs on the labels present, one of each; the
    encoded rows and class weights it returns for them are then looked up
    blockwise. ``class_weight="balanced"`` takes the counts from
    ``da.unique`` as well.

    Returns
    -------
    Y, sample_weight, stratify
        ``stratify`` is None: early stopping holds out whole blocks.
    """
    present, counts = _compute(*da.unique(y, return_counts=True))
    present, counts = to_numpy(present), to_numpy(counts)
    dtype = _numpy_dtype(X.dtype)
    # The in-memory encoding (ClassificationMixin._encode_targets) on one of each label.
    targets, weights, _ = estimator._encode_targets(
        np.empty((present.shape[0], 0), dtype=dtype), present, None,
        first_call=first_call, partial=partial, classes=classes,
    )
    targets = to_numpy(targets)
    if weights is not None:
        weights = to_numpy(weights)
        if isinstance(estimator.class_weight, str):  # "balanced": from the counts
            weights = (counts.sum() / (present.shape[0] * counts)).astype(dtype)
    n_outputs = targets.shape[1]
    Y = da.map_blocks(
        _encoded_targets, y, present, targets, weights, dtype=dtype,
        chunks=(y.chunks[0], (n_outputs,)), new_axis=1, meta=np.empty((0, 0), dtype=dtype),
    )
    if weights is not None:
        if sample_weight is None:
            sample_weight = da.map_blocks(
                _encoded_weights, y, None, present, targets, weights, dtype=dtype,
                meta=np.empty((0,), dtype=dtype),
            )
        else:
            sample_weight = da.map_blocks(
                _encoded_weights, y, sample_weight, present, targets, weights, dtype=dtype,
                meta=np.empty((0,), dtype=dtype),
            )
    return Y, sample_weight, None


def _forward_block(Xb, forward, params):
    return forward(_to_block(params, Xb), Xb)


def raw_output(estimator, X, method):
    """The model's raw output at the Dask array ``X``: lazy, one task per block."""
    check_is_fitted(estimator)
    # backend="cupy" predicts on the host, as in memory (its fitted arrays are NumPy).
    X = _check_X(X, "numpy" if estimator.backend == "cupy" else estimator.backend,
                 known_rows=False)
    validate_data(estimator, X, skip_check_array=True, reset=False)
    xp, _, _ = get_namespace_and_device(np.empty(0))
    dtype = X.dtype
    params = tree_map(lambda a: a.astype(dtype, copy=False),
                      _host(estimator._params_from_attributes(xp)))
    forward = estimator._make_model().forward
    n_outputs = params[-1].coef.shape[1]
    meta = forward(params, np.empty((0, X.shape[1]), dtype=dtype))
    return X.map_blocks(_forward_block, forward, params, dtype=dtype,
                        chunks=(X.chunks[0], (n_outputs,)), meta=meta)


def _labels_block(raw, classes):
    xp = namespace(raw)
    if raw.shape[1] == 1:
        index = xp.astype(raw[:, 0] > 0, xp.int64)
    else:
        index = xp.argmax(raw, axis=1)
    if isinstance(raw, np.ndarray) or classes.dtype.kind not in "iufb":
        return classes[to_numpy(index)]
    return xp.take(xp.asarray(classes, device=array_device(raw)), index, axis=0)


def labels(raw, classes):
    """The predicted labels of the raw outputs ``raw`` (a Dask array), blockwise."""
    return raw.map_blocks(_labels_block, classes, drop_axis=1, dtype=classes.dtype,
                          meta=np.empty((0,), dtype=classes.dtype))


def _r2_block(yb, predb, swb):
    """Per output: weight sum, weighted mean, centred sum of squares, residual sum of squares."""
    y = to_numpy(yb).astype(np.float64, copy=False)
    pred = to_numpy(predb).astype(np.float64, copy=False)
    y, pred = y.reshape(y.shape[0], -1), pred.reshape(pred.shape[0], -1)
    w = np.ones(y.shape[0]) if swb is None else to_numpy(swb).astype(np.float64)
    total = w.sum()
    mean = (w @ y) / total if total > 0 else np.zeros(y.shape[1])
    return np.array([total] * y.shape[1]), mean, w @ (y - mean) ** 2, w @ (y - pred) ** 2


def _combine_r2(a, b):
    """Chan et al.'s pairwise update of weighted means and centred sums of squares."""
    wa, ma, ca, ra = a
    wb, mb, cb, rb = b
    w = wa + wb
    safe = np.where(w > 0, w, 1.0)
    delta = mb - ma
    mean = ma + delta * wb / safe
    return w, mean, ca + cb + delta**2 * wa * wb / safe, ra + rb


def _accuracy_block(yb, predb, swb):
    correct = (to_numpy(yb) == to_numpy(predb)).astype(np.float64)
    w = np.ones(correct.shape[0]) if swb is None else to_numpy(swb).astype(np.float64)
    return float(w @ correct), float(w.sum())


def score(estimator, X, y, sample_weight, *, metric):
    """R^2 (``metric="r2"``) or accuracy of ``estimator`` on Dask ``X``: one compute.

    Equal to ``r2_score`` (uniform average over the outputs) and
    ``accuracy_score`` on the same data, up to the order of the sums.
    """
    pred = estimator.predict(X)
    y = _rows_like(pred, y, "y")
    sample_weight = _rows_like(pred, sample_weight, "sample_weight")
    sw_blocks = ([None] * len(pred.chunks[0]) if sample_weight is None
                 else sample_weight.to_delayed().ravel().tolist())
    y_blocks = y.to_delayed().ravel().tolist()
    pred_blocks = pred.to_delayed().ravel().tolist()
    block = dask.delayed(_r2_block if metric == "r2" else _accuracy_block, pure=False)
    stats = _compute(*(block(a, b, c) for a, b, c in zip(y_blocks, pred_blocks, sw_blocks)))
    if metric == "accuracy":
        return math.fsum(s[0] for s in stats) / math.fsum(s[1] for s in stats)
    if y.shape[0] < 2:
        warnings.warn("R^2 score is not well-defined with less than two samples.",
                      UndefinedMetricWarning, stacklevel=2)
        return float("nan")
    total = stats[0]
    for s in stats[1:]:
        total = _combine_r2(total, s)
    _, _, centred, residual = total
    r2 = np.where(centred != 0, 1.0 - residual / np.where(centred != 0, centred, 1.0),
                  np.where(residual != 0, 0.0, 1.0))
    return float(np.mean(r2))
