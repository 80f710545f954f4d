"""A compiled epoch of mini-batch steps of the linear model, for CSR input.

:func:`sparse_linear_epoch` computes what :func:`._kernels.linear_epoch`
computes (the same steps, draws and rates: see its docstring), with ``X`` a
``scipy.sparse`` CSR matrix read through its ``data``, ``indices`` and
``indptr``, never densified. The forward pass and the batch's gradient cost
O(nnz of the batch).

The update costs what the rule allows:

* **Plain SGD** (``"sgd"``, ``"gd"``) without an l1 part and without
  ``max_grad_norm`` costs O(nnz of the batch) too. The l2 penalty and the
  weight decay shrink every coefficient by the same factor ``a_t = 1 - lr_t *
  (weight_decay + l2)`` at every step; the coefficients are kept as ``w = s
  * v`` (as scikit-learn's ``WeightVector.wscale``): a step multiplies the
  scalar ``s`` by ``a_t`` (the closed form of the shrinking of every
  coordinate the batch does not touch) and moves ``v`` on the batch's
  columns only. ``s`` is folded into ``v`` (an O(n_features) pass) when it
  falls below :data:`MIN_SCALE`, and at the end of the epoch.
* Every other rule moves every coordinate at every step, O(n_features) per
  step on top of the batch's nnz: momentum, RMSprop and Adam (their state
  moves where the gradient is zero), the l1 proximal step (it shrinks every
  coefficient) and clipping (the norm of the gradient involves every
  coefficient through the l2 part).

Design notes of :mod:`._kernels` apply: one compiled signature per dtype
of the values (and of the indices: int32, or int64 where the matrix is too
large for int32), every option a runtime value; the loss, optimizer,
gradient and proximal helpers are the dense kernel's own.
"""

import math

import numpy as np
from numba import njit

from ._kernels import (
    _ADAM,
    _B1,
    _B2,
    _EPS,
    _EPSILON,
    _HALF_EPS2,
    _L2,
    _MOMENTUM,
    _MU,
    _MULTINOMIAL_LOG_LOSS,
    _N_HP,
    _ONE_M_B1,
    _ONE_M_B2,
    _ONE_M_RHO,
    _RHO,
    _RMSPROP,
    _SGD,
    _STATE_FIELDS,
    LOSSES,
    OPTIMIZERS,
    _direction,
    _gradient,
    _prefetch,
    _like,
    _pack,
    _pointwise_loss,
    _read_only,
    _rows,
    _soft_threshold,
    _squared_norm,
    _step,
    _unpack,
    _unpack_one,
)

__all__ = ["MIN_SCALE", "lazy_update_applies", "prepare_csr", "sparse_linear_epoch"]

#: The scale ``s`` of ``w = s * v`` is folded into ``v`` below this (as
#: scikit-learn's ``WeightVector`` does at 1e-9): ``1 / s`` stays far from
#: overflowing, and ``v`` from losing bits.
MIN_SCALE = 1e-9

#: Error codes of the compiled loop.
_OK, _BAD_BOUNDS, _BAD_ROW = 0, 1, 2


@njit(cache=True, error_model="numpy", nogil=True)
def _sparse_epoch(values, indices, indptr, Y, sw, order, bounds, rates, W, S1, S2, hp,
                  loss_code, optimizer, nesterov, use_sw, use_intercept, mean_weight, l1,
                  use_l2, max_grad_norm, weight_decay, beta_1, beta_2, count, lazy):
    """Run the epoch in place on ``W``, ``S1``, ``S2`` (the layout of ``_kernels._epoch``).

    ``lazy``: the scaled O(nnz) update of plain SGD (the caller checks that
    the rule allows it). Returns ``(loss_sum, norm_sum, status)``: ``norm_sum``
    sums the gradient's global norm before clipping over the steps (in the lazy
    update, from the batch's columns and ``||v||^2``, kept up to date).
    """
    T = W.dtype.type
    n = indptr.shape[0] - 1
    k = W.shape[0]
    ic = W.shape[1] - 1
    padded = ic
    n_batches = bounds.shape[0] - 1
    G = np.zeros((k, ic + 1), dtype=W.dtype)
    touched = np.empty(padded, dtype=np.int64)  # the batch's columns, each once
    seen = np.zeros(padded, dtype=np.bool_)
    raw = np.empty(k, dtype=W.dtype)
    dz = np.empty(k, dtype=W.dtype)
    c = (T(0), T(1), T(0.5), T(2), T(4), T(math.log(2.0)))
    zero, one = c[0], c[1]
    epsilon, half_eps2, l2 = hp[_EPSILON], hp[_HALF_EPS2], hp[_L2]
    l2_64 = float(l2) if use_l2 else 0.0
    use_clip = max_grad_norm > 0.0
    use_decay = weight_decay > 0.0
    use_l1 = l1 > 0.0
    end = bounds[n_batches] if n_batches >= 0 else 0
    if n_batches >= 0 and (bounds[0] < 0 or end > order.shape[0]):
        return 0.0, 0.0, _BAD_BOUNDS
    mu, rho, one_m_rho = hp[_MU], hp[_RHO], hp[_ONE_M_RHO]
    b1, one_m_b1, b2, one_m_b2, eps = (hp[_B1], hp[_ONE_M_B1], hp[_B2], hp[_ONE_M_B2],
                                       hp[_EPS])
    c1 = c2 = one
    saturated = False
    s = 1.0  # w = s * v for the lazy update; 1 otherwise
    loss_sum = 0.0
    norm_sum = 0.0
    vsq = 0.0  # ||v||^2 of the coefficients, for the lazy update's norm
    if lazy and use_l2:
        for j in range(k):
            for f in range(padded):
                vsq += np.float64(W[j, f]) ** 2
    for batch in range(n_batches):
        start, stop = bounds[batch], bounds[batch + 1]
        if stop <= start:
            return loss_sum, norm_sum, _BAD_BOUNDS
        n_touched = 0
        one_row = lazy and stop - start == 1  # per-sample SGD: no gradient scratch
        # ---- step 1 and step 2's sum, O(nnz of the batch)
        for p in range(start, stop):
            _prefetch_rows(values, indices, indptr, order, W, p, end, n, k)
            r = order[p]
            if r < 0 or r >= n:
                return loss_sum, norm_sum, _BAD_ROW
            lo, hi = indptr[r], indptr[r + 1]
            for j in range(k):
                acc = zero
                for q in range(lo, hi):
                    acc += values[q] * W[j, indices[q]]
                raw[j] = (T(s) * acc if lazy else acc) + W[j, ic]
            loss = zero
            if loss_code == _MULTINOMIAL_LOG_LOSS:
                top = raw[0]
                for j in range(1, k):
                    top = max(top, raw[j])
                norm = zero
                for j in range(k):
                    norm += math.exp(raw[j] - top)
                log_norm = math.log(norm)
                for j in range(k):
                    log_proba = (raw[j] - top) - log_norm
                    loss -= Y[r, j] * log_proba
                    dz[j] = math.exp(log_proba) - Y[r, j]
            else:
                for j in range(k):
                    loss_j, dz[j] = _pointwise_loss(loss_code, Y[r, j], raw[j], epsilon,
                                                    half_eps2, c)
                    loss += loss_j
            if use_sw:
                weight = sw[r]
                loss *= weight
                for j in range(k):
                    dz[j] *= weight
            loss_sum += loss
            if one_row:
                break
            for q in range(lo, hi):
                f = indices[q]
                if not seen[f]:
                    seen[f] = True
                    touched[n_touched] = f
                    n_touched += 1
                x = values[q]
                for j in range(k):
                    G[j, f] += dz[j] * x
            if use_intercept:
                for j in range(k):
                    G[j, ic] += dz[j]

        # ---- steps 2-8
        scale = T(1.0 / ((stop - start) * mean_weight))
        lr64 = rates[batch] if rates.shape[0] > 1 else rates[0]
        lr = T(lr64)
        if lazy:
            # the norm at w = s * v: the batch's columns, the l2 part of the others via vsq
            l2s = l2_64 * s
            total = l2s * l2s * vsq
            for t in range(indptr[r + 1] - indptr[r] if one_row else n_touched):
                f = indices[indptr[r] + t] if one_row else touched[t]
                for j in range(k):
                    gd = np.float64((dz[j] * values[indptr[r] + t]) * scale if one_row
                                    else G[j, f] * scale)
                    total += gd * gd + 2.0 * gd * l2s * np.float64(W[j, f])
            if use_intercept:
                for j in range(k):
                    total += np.float64((dz[j] if one_row else G[j, ic]) * scale) ** 2
            norm_sum += math.sqrt(max(total, 0.0))
            # every coefficient: w *= 1 - lr * (decay + l2), through s alone
            shrink = (1.0 - lr64 * weight_decay if use_decay else 1.0) - lr64 * l2_64
            s *= shrink
            if abs(s) < MIN_SCALE:  # fold s into v: the only O(n_features) pass
                fold = T(s)
                vsq = 0.0
                for j in range(k):
                    for f in range(padded):
                        W[j, f] *= fold
                        vsq += np.float64(W[j, f]) ** 2
                s = 1.0
            step = lr64 / s
            if one_row:  # the row's own columns, straight from dz (r: the batch's row)
                for q in range(indptr[r], indptr[r + 1]):
                    f, x = indices[q], values[q]
                    for j in range(k):
                        vsq -= np.float64(W[j, f]) ** 2
                        W[j, f] -= T(step * ((dz[j] * x) * scale))
                        vsq += np.float64(W[j, f]) ** 2
                if use_intercept:
                    for j in range(k):
                        W[j, ic] -= lr * (dz[j] * scale)
                continue
            for t in range(n_touched):
                f = touched[t]
                seen[f] = False
                for j in range(k):
                    vsq -= np.float64(W[j, f]) ** 2
                    W[j, f] -= T(step * (G[j, f] * scale))
                    vsq += np.float64(W[j, f]) ** 2
                    G[j, f] = zero
            if use_intercept:
                for j in range(k):
                    W[j, ic] -= lr * (G[j, ic] * scale)
                    G[j, ic] = zero
            continue

        total = 0.0  # the gradient's norm before clipping: recorded, and what clipping uses
        for j in range(k):
            if use_clip:
                for f in range(padded):
                    total += np.float64(_gradient(G[j, f], W[j, f], scale, l2, one,
                                                  use_l2)) ** 2
            else:  # for the record only: a vectorised sum
                total += _squared_norm(G, W, j, padded, scale, l2, use_l2)
            total += np.float64(G[j, ic] * scale) ** 2
        norm = math.sqrt(total)
        norm_sum += norm
        clip = one
        if use_clip:
            clip = T(min(1.0, max_grad_norm / (norm + 1e-6)))
        decay = T(1.0 - lr64 * weight_decay)
        threshold = T(lr64 * l1)
        if optimizer == _ADAM and not saturated:
            t_step = float(count + batch + 1)
            c1 = T(1.0 / (1.0 - math.pow(beta_1, t_step)))
            c2 = T(1.0 / (1.0 - math.pow(beta_2, t_step)))
            saturated = c1 == one and c2 == one
        h = (mu, rho, one_m_rho, b1, one_m_b1, b2, one_m_b2, eps, c1, c2)
        for j in range(k):
            if optimizer == _SGD:
                for f in range(padded):
                    g = _gradient(G[j, f], W[j, f], scale, l2, clip, use_l2)
                    W[j, f] = _step(W[j, f], g, lr, decay, use_decay)
            elif optimizer == _MOMENTUM:
                for f in range(padded):
                    g = _gradient(G[j, f], W[j, f], scale, l2, clip, use_l2)
                    direction, S1[j, f], _ = _direction(_MOMENTUM, nesterov, g, S1[j, f],
                                                        zero, h)
                    W[j, f] = _step(W[j, f], direction, lr, decay, use_decay)
            elif optimizer == _RMSPROP:
                for f in range(padded):
                    g = _gradient(G[j, f], W[j, f], scale, l2, clip, use_l2)
                    direction, S1[j, f], _ = _direction(_RMSPROP, nesterov, g, S1[j, f],
                                                        zero, h)
                    W[j, f] = _step(W[j, f], direction, lr, decay, use_decay)
            else:
                for f in range(padded):
                    g = _gradient(G[j, f], W[j, f], scale, l2, clip, use_l2)
                    direction, S1[j, f], S2[j, f] = _direction(_ADAM, nesterov, g, S1[j, f],
                                                               S2[j, f], h)
                    W[j, f] = _step(W[j, f], direction, lr, decay, use_decay)
            if use_l1:
                for f in range(padded):
                    W[j, f] = _soft_threshold(W[j, f], threshold)
            if use_intercept:
                g = G[j, ic] * scale * clip
                direction, S1[j, ic], S2[j, ic] = _direction(optimizer, nesterov, g,
                                                             S1[j, ic], S2[j, ic], h)
                W[j, ic] -= lr * direction
                G[j, ic] = zero
        for t in range(n_touched):  # the gradient's scratch back to zero, O(nnz)
            f = touched[t]
            seen[f] = False
            for j in range(k):
                G[j, f] = zero
    if lazy and s != 1.0:
        fold = T(s)
        for j in range(k):
            for f in range(padded):
                W[j, f] *= fold
    return loss_sum, norm_sum, _OK


def prepare_csr(X):
    """``X`` as the compiled epoch reads it: CSR with int32 indices where they fit.

    int32 is scipy's usual index type (no copy then): one compiled signature
    per value dtype. Call it once before the epochs: int64 indices that fit
    are copied to int32 here, not at every epoch.
    """
    X = X.tocsr()
    if X.indices.dtype == np.int32 and X.indptr.dtype == np.int32:
        return X
    if max(X.nnz, X.shape[1]) < 2**31 - 1:
        X = type(X)((X.data, X.indices.astype(np.int32), X.indptr.astype(np.int32)),
                    shape=X.shape, copy=False)  # the values are shared
    return X


@njit(cache=True, inline="always")
def _prefetch_rows(values, indices, indptr, order, W, p, end, n, k):
    """Ask for what the coming rows will read: rows are drawn in a random order.

    Row ``p + 2``'s values and indices, and the coefficients of row ``p + 1``
    (whose indices the previous call asked for). A hint: never faults.
    """
    q = p + 2
    if q < end:
        r = order[q]
        if 0 <= r < n:
            lo, hi = indptr[r], indptr[r + 1]
            if hi > lo:
                for address in (values.ctypes.data + lo * values.itemsize,
                                indices.ctypes.data + lo * indices.itemsize):
                    for offset in range(0, (hi - lo) * 8, 64):
                        _prefetch(address + offset)
    q = p + 1
    if q < end:
        r = order[q]
        if 0 <= r < n:
            base, row = W.ctypes.data, W.strides[0]
            for i in range(indptr[r], indptr[r + 1]):
                for j in range(k):
                    _prefetch(base + j * row + indices[i] * W.itemsize)


def _index_array(array):
    """CSR ``indices`` or ``indptr`` as a read-only int32 or int64 array (no copy)."""
    dtype = np.int32 if array.dtype == np.int32 else np.int64
    return _rows(array, dtype, "indices")


def lazy_update_applies(optimizer, l1, max_grad_norm):
    """Whether a step of the rule costs O(nnz of the batch): plain SGD without l1 or clipping."""
    return OPTIMIZERS.get(optimizer) == _SGD and not l1 and max_grad_norm is None


def sparse_linear_epoch(params, state, X, Y, sample_weight, order, bounds, learning_rates,
                        *, loss, epsilon, optimizer, momentum, nesterov, rho, beta_1, beta_2,
                        eps, l1, l2, mean_weight, max_grad_norm=None, weight_decay=0.0,
                        with_grad_norm=False):
    """:func:`._kernels.linear_epoch` with ``X`` a ``scipy.sparse`` CSR matrix.

    The same parameters, steps and results (to rounding); ``X`` must be in
    CSR format (``X.tocsr()`` once before the epochs). See the module
    docstring for the cost of a step.

    Returns
    -------
    params, state, loss_sum (, grad_norm_sum with ``with_grad_norm``)
        As :func:`._kernels.linear_epoch`.
    """
    if loss not in LOSSES:
        raise ValueError(f"Unknown loss {loss!r}; valid losses are {tuple(LOSSES)}.")
    if optimizer not in OPTIMIZERS:
        raise ValueError(
            f"Unknown optimizer {optimizer!r}; valid optimizers are {tuple(OPTIMIZERS)}."
        )
    if getattr(X, "format", None) != "csr":
        raise TypeError("X must be a scipy.sparse CSR matrix (X.tocsr())")
    if X.dtype.kind != "f" or X.dtype.itemsize not in (4, 8):
        raise TypeError("X must hold float32 or float64 values")
    dtype = np.dtype(f"f{X.dtype.itemsize}")
    n, d = X.shape
    values = _rows(X.data, dtype, "X.data")
    indices, indptr = _index_array(X.indices), _index_array(X.indptr)
    if indices.dtype != indptr.dtype:
        indptr = _rows(indptr, indices.dtype, "indptr")
    layer = _unpack_one(params, "params")
    coef = np.asarray(layer.coef)
    if coef.ndim != 2 or coef.shape[0] != d:
        raise ValueError(f"coef has shape {coef.shape}; expected ({d}, n_outputs)")
    k = coef.shape[1]
    Y = _rows(Y, dtype, "Y")
    if Y.shape != (n, k):
        raise ValueError(f"Y has shape {Y.shape}; expected {(n, k)}")
    use_sw = sample_weight is not None
    sw = _rows(sample_weight, dtype, "sample_weight") if use_sw else _read_only(
        np.ones(1, dtype=dtype))
    if use_sw and sw.shape != (n,):
        raise ValueError(f"sample_weight has shape {sw.shape}; expected {(n,)}")
    order = _rows(order, np.int64, "order")
    bounds = _rows(bounds, np.int64, "bounds")
    rates = _rows(learning_rates, np.float64, "learning_rates")
    n_batches = bounds.shape[0] - 1
    if rates.shape[0] not in (1, n_batches):
        raise ValueError(
            f"learning_rates has {rates.shape[0]} values; expected 1 or {n_batches}"
        )
    use_intercept = layer.intercept is not None
    W = _pack(coef, layer.intercept, dtype, "coef")
    opt = OPTIMIZERS[optimizer]
    S1, S2 = np.zeros_like(W), np.zeros_like(W)
    fields = _STATE_FIELDS.get(opt, ())
    for field, S in zip(fields, (S1, S2)):
        state_layer = _unpack_one(getattr(state, field), f"state.{field}")
        S[...] = _pack(state_layer.coef, state_layer.intercept if use_intercept else None,
                       dtype, f"state.{field}")
    count = int(state.count) if opt == _ADAM else 0
    hp = np.zeros(_N_HP, dtype=dtype)
    hp[_EPSILON], hp[_HALF_EPS2] = epsilon, 0.5 * epsilon**2
    hp[_MU] = momentum
    hp[_RHO], hp[_ONE_M_RHO] = rho, 1.0 - rho
    hp[_B1], hp[_ONE_M_B1], hp[_B2], hp[_ONE_M_B2] = beta_1, 1.0 - beta_1, beta_2, 1.0 - beta_2
    hp[_EPS], hp[_L2] = eps, l2
    loss_sum, norm_sum, status = _sparse_epoch(
        values, indices, indptr, Y, sw, order, bounds, rates, W, S1, S2, _read_only(hp),
        LOSSES[loss], opt, bool(nesterov), use_sw, use_intercept, float(mean_weight),
        float(l1), bool(l2), float(max_grad_norm or 0.0), float(weight_decay),
        float(beta_1), float(beta_2), count,
        lazy_update_applies(optimizer, l1, max_grad_norm),
    )
    if status == _BAD_BOUNDS:
        raise ValueError("bounds must increase strictly, within the length of order")
    if status == _BAD_ROW:
        raise IndexError(f"order holds a row index out of range for {n} rows")
    new_params = _like(params, [_unpack(W, layer, use_intercept)])
    if opt == _SGD:
        new_state = state
    else:
        arrays = {field: _like(getattr(state, field),
                               [_unpack(S, _unpack_one(getattr(state, field), field),
                                        use_intercept)])
                  for field, S in zip(fields, (S1, S2))}
        if opt == _ADAM:
            arrays["count"] = count + n_batches
        new_state = state._replace(**arrays)
    if with_grad_norm:
        return new_params, new_state, float(loss_sum), float(norm_sum)
    return new_params, new_state, float(loss_sum)
