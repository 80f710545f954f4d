"""Training on Dask arrays: gradient all-reduce over the row blocks, X never on the client.

The training loop (:func:`~sk_gradopt._epoch.train`) stays the one loop;
for Dask data it runs its epochs with :func:`epoch_runner` and computes the
objective with :func:`objective`, both of this module. The estimator side
(lazy validation, targets encoded blockwise, lazy predictions and scores) is
:mod:`._dask_estimator`.

**Where things live.** ``X``, the encoded targets ``Y`` and the sample
weights stay in the workers' memory, in row blocks (persisted there for the
fit when a ``dask.distributed`` client is active). The parameters and the
optimizer state are small NumPy arrays on the client. Every piece of work on
the data is a task on one block that runs where the block lives, with the
model and loss functions of the in-memory path (``config.model.forward``,
``config.model.loss_and_grad``, ``config.loss_fn``), in the namespace of the
block (NumPy, CuPy...); only small results come back.

**A full-batch step** (``"gd"``, or ``batch_size >= n_samples``) is the
in-memory epoch (:func:`~sk_gradopt._epoch.array_api_epoch`) run on the
client with one change: the model's ``loss_and_grad`` is an all-reduce. The
parameters go out with the step's tasks; every block returns its summed loss,
its gradient contribution (already scaled as the in-memory step scales it)
and its weight sum; a tree reduction (``SPLIT_EVERY`` pieces per task) adds
them up on the workers, and the client applies the penalty, the optimizer
update and the proximal step of :func:`~sk_gradopt._epoch.gradient_step`.
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
"""

import sys
import uuid
import warnings
from dataclasses import replace
from functools import partial
from typing import NamedTuple

import numpy as np
from array_api_compat import device as array_device

from ._array_api import convert_arrays, namespace, to_numpy
from ._epoch import Data, Epoch, array_api_epoch, summed_loss, weight_sum
from ._epoch import epoch_runner as in_memory_epoch_runner
from ._tree import tree_map

try:
    import dask
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
    "epoch_runner",
    "host",
    "like",
    "objective",
    "persist",
    "to_block",
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


def persist(*arrays):
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


def host(tree):
    """``tree`` with NumPy leaves (parameters, gradients, optimizer state)."""
    return convert_arrays(tree, to_numpy)


def to_block(tree, block):
    """``tree`` (NumPy leaves) in the namespace and on the device of ``block``."""
    if isinstance(block, np.ndarray):
        return tree
    xp, dev = namespace(block), array_device(block)
    return convert_arrays(tree, lambda a: xp.asarray(a, device=dev))


def like(block, *arrays):
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
    """The row blocks of a :class:`~sk_gradopt._epoch.Data` as Delayed objects."""

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


def _gradient_piece(Xb, Yb, swb, args):
    """A block's summed loss, gradient contribution and weight sum (NumPy, on the worker)."""
    params, loss_and_grad, loss_fn, scale = args
    Yb, swb = like(Xb, Yb, swb)
    xp = namespace(Xb)
    with np.errstate(all="ignore"):
        loss, grads = loss_and_grad(to_block(params, Xb), Xb, Yb, swb, loss_fn, scale)
        return float(xp.sum(loss)), host(grads), weight_sum(swb, Xb.shape[0])


def _loss_piece(Xb, Yb, swb, args):
    """A block's summed weighted loss at ``params`` (None: the zero model)."""
    params, config = args
    Yb, swb = like(Xb, Yb, swb)
    params = None if params is None else to_block(params, Xb)
    with np.errstate(all="ignore"):
        return (float(summed_loss(config, Data(Xb, Yb, swb, None), params)[0]),)


# ------------------------------------------------------- training side


def objective(config, data, params, *, with_penalty=True):
    """:func:`~sk_gradopt._epoch.objective` on Dask data: the losses summed blockwise."""
    params = None if params is None else host(params)
    (loss_sum,) = all_reduce(Blocks.of(data), _loss_piece, params, config)
    value = loss_sum / data.weight_sum
    if not with_penalty or params is None:
        return value
    return value + config.penalty.value(params)


def epoch_runner(data, config, *, compiled=True):
    """The function that runs an epoch on the Dask ``data`` (see the module docstring).

    Parameters
    ----------
    data : Data
        Dask arrays chunked by rows, with the same row chunks.
    config : Config
        The loop's configuration.
    compiled : bool, default=True
        Whether each block's epoch may use the compiled code
        (:func:`~sk_gradopt._epoch.epoch_runner`).

    Returns
    -------
    callable
        With the signature of :func:`~sk_gradopt._epoch.array_api_epoch`.
    """
    blocks = Blocks.of(data)
    if config.batch_size_for(data.n_samples) >= data.n_samples:
        def full_batch_epoch(params, opt_state, data, config, **counters):
            model = config.model._replace(
                loss_and_grad=_AllReduced(blocks, config.model.loss_and_grad)
            )
            return array_api_epoch(host(params), host(opt_state), data,
                                   replace(config, model=model), **counters)

        return full_batch_epoch

    if config.average:
        raise ValueError(
            "average is supported on Dask arrays for the full-batch step only (its "
            "epoch runs on the client, one step at a time): use optimizer='gd' or "
            "batch_size >= n_samples, or average=False for mini-batches within blocks."
        )
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
        return _block_epochs(blocks, host(params), host(opt_state), config, compiled,
                             **counters)

    return block_epochs


class _AllReduced:
    """A model's ``loss_and_grad`` summed over the blocks: the all-reduce of one step.

    Called by :func:`~sk_gradopt._epoch.gradient_step` with the whole
    (Dask) data as the batch, whose blocks it holds. The loss it returns is
    the summed loss, as a 1-element NumPy array: what the epoch sums.
    """

    def __init__(self, blocks, loss_and_grad):
        self.blocks, self.loss_and_grad = blocks, loss_and_grad

    def __call__(self, params, X, Y, sample_weight, loss_fn, scale):
        loss_sum, grads, _ = all_reduce(self.blocks, _gradient_piece, host(params),
                                        self.loss_and_grad, loss_fn, scale)
        return np.asarray([loss_sum]), grads


def _block_epochs(blocks, params, opt_state, config, compiled, *, rng, step, epoch, base_lr,
                  mean_weight):
    """One mini-batch epoch: the blocks in a (shuffled) order, each by one task."""
    n_blocks = len(blocks)
    if config.shuffle:
        order = rng.permutation(n_blocks).tolist()
        seeds = rng.randint(np.iinfo(np.int32).max, size=n_blocks).tolist()
    else:
        order, seeds = range(n_blocks), [0] * n_blocks
    n_steps, loss_sum, norm_sum, lr = 0, 0.0, 0.0, base_lr
    for i, seed in zip(order, seeds):
        if blocks.rows[i] == 0:  # (a block left empty by a selection)
            continue
        args = (params, opt_state, config, compiled, seed, step + n_steps, epoch, base_lr,
                mean_weight)
        (result,) = _compute(*blocks.tasks(_block_epoch, args, [i]))
        params, opt_state = result.params, result.opt_state
        n_steps += result.n_steps
        loss_sum += result.loss_sum
        norm_sum += result.grad_norm_sum
        lr = result.learning_rate
    return Epoch(params, opt_state, n_steps, loss_sum, lr, norm_sum)


def _block_epoch(Xb, Yb, swb, args):
    """The in-memory epoch over one block, on the worker; parameters and state back as NumPy."""
    params, opt_state, config, compiled, seed, step, epoch, base_lr, mean_weight = args
    Yb, swb = like(Xb, Yb, swb)
    block = Data(Xb, Yb, swb, None)
    with np.errstate(all="ignore"):
        run = in_memory_epoch_runner(block, config, compiled=compiled)
        result = run(
            to_block(params, Xb), to_block(opt_state, Xb), block, config,
            rng=np.random.RandomState(seed), step=step, epoch=epoch, base_lr=base_lr,
            mean_weight=mean_weight,
        )
    return result._replace(params=host(result.params), opt_state=host(result.opt_state))


