"""The estimator side of Dask input: lazy validation, targets encoded blockwise, lazy output.

The estimators hand Dask input here before anything would turn it into one
NumPy array: :func:`validate_fit` checks it without computing,
:func:`training_data` persists and checks the values in one pass, and the
targets are encoded (:func:`as_columns`, :func:`encode_classes`), predicted
(:func:`raw_output`, :func:`labels`) and scored (:func:`score`) block by
block. The training itself is :mod:`._dask`'s.
"""

import math
import warnings
from functools import partial
from numbers import Real

import dask
import dask.array as da
import numpy as np
from sklearn.exceptions import DataConversionWarning, UndefinedMetricWarning
from sklearn.utils.validation import check_consistent_length, check_is_fitted, validate_data

from . import _dask
from ._array_api import (
    get_namespace_and_device,
    import_cupy,
    is_cupy_array,
    issparse,
    namespace,
    to_numpy,
)
from ._dask import Blocks, host, like, persist, to_block
from ._epoch import Data, weight_sum
from ._losses import predicted_labels
from ._tree import tree_map

__all__ = [
    "as_columns",
    "encode_classes",
    "labels",
    "raw_output",
    "score",
    "split_blocks",
    "training_data",
    "validate_fit",
]


# ------------------------------------------------------------ training data


def _block_stats(Xb, Yb, swb, args):
    """What the validation needs to know about a block: non-finite values, weights."""
    Yb, swb = like(Xb, Yb, swb)
    xp = namespace(Xb)

    def bad(a):
        return (bool(xp.any(xp.isnan(a))), bool(xp.any(xp.isinf(a)))) if a is not None else None

    sw_min = None if swb is None or swb.shape[0] == 0 else float(xp.min(swb))
    return bad(Xb), bad(Yb), bad(swb), sw_min, weight_sum(swb, Xb.shape[0])


def _block_weight_sums(data):
    if data.sample_weight is None:
        return [float(rows) for rows in data.X.chunks[0]]
    return [s[-1] for s in _dask._compute(*Blocks.of(data).tasks(_block_stats, ()))]


def training_data(X, Y, sample_weight):
    """The :class:`~sk_gradopt._epoch.Data` of a fit on Dask arrays.

    Persists ``X``, ``Y`` and ``sample_weight`` on the workers of the active
    client (nothing comes to the client), then, in one compute, checks that
    they are finite and the weights non-negative, and sums the weights.
    """
    X, Y, sample_weight = persist(X, Y, sample_weight)
    data = Data(X, Y, sample_weight, None)
    stats = _dask._compute(*Blocks.of(data).tasks(_block_stats, ()))
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
        parts.append(Data(*persist(*arrays), math.fsum(sums[i] for i in chosen)))
    return tuple(parts)


# ------------------------------------------------------------ validation


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
    if _has_sparse_blocks(X):
        raise TypeError(
            "X is a Dask array of sparse blocks, which is not supported: train on the "
            "sparse matrix in memory (X.compute() gives one scipy.sparse matrix; it "
            "is never densified there), or on dense blocks "
            "(X.map_blocks(lambda b: b.toarray())) if they fit."
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


def _unknown_rows(X):
    """Whether the row chunk sizes of the Dask array ``X`` are unknown (NaN)."""
    return any(math.isnan(rows) for rows in X.chunks[0])


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
        if _unknown_rows(X):
            raise ValueError(
                f"X has unknown chunk sizes (e.g. it was indexed with a boolean mask), so "
                f"the rows of {name} cannot be matched with its blocks: pass {name} as a "
                f"Dask array indexed like X, or call X.compute_chunk_sizes() first."
            )
        a = to_numpy(a)
        check_consistent_length(X, a)
        return da.from_array(a, chunks=(X.chunks[0],) + a.shape[1:])
    if _unknown_rows(X):  # (e.g. X[mask]): block i of a must be indexed like block i of X
        if a.numblocks[0] != X.numblocks[0]:
            raise ValueError(
                f"X has unknown chunk sizes and {X.numblocks[0]} row blocks, {name} has "
                f"{a.numblocks[0]}: block i of {name} must hold the rows of block i of X "
                f"(index both with the same mask), or call X.compute_chunk_sizes() and "
                f"{name}.compute_chunk_sizes() first."
            )
    else:
        check_consistent_length(X, a)
    if not _unknown_rows(X) and a.chunks[0] != X.chunks[0]:
        raise ValueError(
            f"{name} has row chunks {a.chunks[0]}, X has {X.chunks[0]}: block i of "
            f"{name} must hold the rows of block i of X. Rechunk it with "
            f"{name} = {name}.rechunk({{0: X.chunks[0]}})."
        )
    if a.ndim == 2 and len(a.chunks[1]) > 1:
        a = a.rechunk({1: -1})
    return a


def _has_sparse_blocks(X):
    """Whether the blocks of the Dask array ``X`` are sparse (scipy.sparse, pydata sparse...)."""
    meta = getattr(X, "_meta", None)
    return meta is not None and not isinstance(meta, np.ndarray) and (
        issparse(meta) or type(meta).__module__.split(".")[0] in ("sparse", "cupyx"))


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
    present, counts = _dask._compute(*da.unique(y, return_counts=True))
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
    return forward(to_block(params, Xb), Xb)


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
                      host(estimator._params_from_attributes(xp)))
    forward = estimator._make_model().forward
    n_outputs = params[-1].coef.shape[1]
    meta = forward(params, np.empty((0, X.shape[1]), dtype=dtype))
    return X.map_blocks(_forward_block, forward, params, dtype=dtype,
                        chunks=(X.chunks[0], (n_outputs,)), meta=meta)


def labels(raw, classes):
    """The predicted labels of the raw outputs ``raw`` (a Dask array), blockwise."""
    return raw.map_blocks(predicted_labels, classes, drop_axis=1, dtype=classes.dtype,
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


def _scored_block(statistics, yb, predb, swb):
    """``(rows, statistics(yb, predb, swb))`` of one block, its lengths checked.

    Where the chunk sizes are unknown the lengths of ``y`` and the weights are
    known only here, in each block.
    """
    for name, block in (("y", yb), ("sample_weight", swb)):
        if block is not None and block.shape[0] != predb.shape[0]:
            raise ValueError(
                f"Found input variables with inconsistent numbers of samples: a block of X "
                f"has {predb.shape[0]} rows and the matching block of {name} "
                f"{block.shape[0]}. Index X and {name} alike."
            )
    return predb.shape[0], statistics(yb, predb, swb)


def score(estimator, X, y, sample_weight, *, metric):
    """R^2 (``metric="r2"``) or accuracy of ``estimator`` on Dask ``X``: one compute.

    Equal to ``r2_score`` (uniform average over the outputs) and
    ``accuracy_score`` on the same data, up to the order of the sums. ``X``
    may have unknown chunk sizes (as ``predict`` allows) when ``y`` and
    ``sample_weight`` are Dask arrays with its row blocks.
    """
    pred = estimator.predict(X)
    y = _rows_like(pred, y, "y")
    sample_weight = _rows_like(pred, sample_weight, "sample_weight")
    sw_blocks = ([None] * pred.numblocks[0] if sample_weight is None
                 else sample_weight.to_delayed().ravel().tolist())
    y_blocks = y.to_delayed().ravel().tolist()
    pred_blocks = pred.to_delayed().ravel().tolist()
    statistics = _r2_block if metric == "r2" else _accuracy_block
    block = dask.delayed(partial(_scored_block, statistics), pure=False)
    counted = _dask._compute(*(block(a, b, c)
                               for a, b, c in zip(y_blocks, pred_blocks, sw_blocks)))
    n_rows = sum(rows for rows, _ in counted)
    stats = [s for _, s in counted]
    if metric == "accuracy":
        return math.fsum(s[0] for s in stats) / math.fsum(s[1] for s in stats)
    if n_rows < 2:
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
