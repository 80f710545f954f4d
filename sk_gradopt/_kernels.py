"""Compiled (numba) code of the training step, for NumPy input: the same numbers, faster.

* :func:`linear_epoch` runs one whole epoch of the linear model's optimizer
  steps (forward pass, loss, gradient, penalty, clipping, weight decay,
  optimizer update, l1 proximal step) in one call of a numba-compiled loop.
  It reads the rows of ``X`` through the epoch's order, without gathering
  them.
* :func:`apply_update` is the optimizer's step (decay, update, l1) of any
  model, in one pass per array.
* :func:`compiled_mlp` is an MLP whose hidden layers' element-wise work runs
  in compiled passes: the bias and ReLU in one pass over each product, and
  each hidden delta (the backpropagated delta times the activation's
  derivative) with its intercept's gradient in one pass. The matrix
  products stay NumPy's (BLAS).

The pure functions of :mod:`._optimizers` and :mod:`._models` stay the
reference; the tests compare each function here with them.

This module imports numba at its top: ``import sk_gradopt`` never imports
it. The training loop imports this module lazily and falls back to the
array-API path when numba is missing.

Design notes
------------
* **One compiled signature per dtype.** The loss, the optimizer and every
  option are runtime integer codes and flags, never closures, literals or
  separate specialisations. Every array reaches the compiled function in one
  normalised form (a C-contiguous, aligned, *read-only* base-class ndarray
  for the inputs; fresh C-contiguous arrays for the weights and the state;
  dummy arrays in place of ``None``): numba types a read-only array apart
  from a writable one, a memmap apart from an ndarray, and a ``None`` apart
  from an array, so without this each mix would compile again. Inside, a
  literal argument to a compiled helper (``0``, ``False``) would compile it
  again too: such arguments are runtime values.
* **One pass over each row.** The weights are constant within a batch, so
  the forward pass and the gradient sum ``G += dz_i * x_i`` share one read
  of the row, while it is in L1.
* **Layout of the weights.** ``(n_outputs, padded + 1)``: each output's
  coefficients (contiguous, for the dot product), zeros up to 64 bytes, then
  the intercept. The update loops run over the padded coefficients with no
  scalar remainder (the zeros stay zero under every rule); the intercept,
  which takes no penalty, decay or l1, is one scalar update.
* **Software prefetch.** The rows are read in a random order, which the
  hardware prefetcher cannot predict: the loop asks for the rows it will
  read 8 KB ahead (``llvm.prefetch``). At 200,000 x 100 float64 (AMD EPYC,
  2 cores) a loop that only reads the rows took 14.7 ms without it and
  6.8 ms with it; the kernel's epoch at batch 256 takes about the latter.
* **fastmath only on the dot product** (a separate small function, which
  LLVM inlines): re-association lets the reduction run in vector lanes. The
  element-wise updates stay IEEE-exact, in the reference's order of
  operations, so that results match the array-API path to rounding.
* ``error_model="numpy"``: a division by zero gives inf/nan instead of a
  check and an exception, which would keep the Adam and RMSprop updates from
  vectorising.
* **No reference counting in the loop.** Rows are indexed, never sliced,
  and arrays are never passed to a compiled helper inside the loop: a view
  or an array argument costs atomic reference-count operations, which cost
  more than the arithmetic of a per-sample step. The helpers take scalars.
* Adam's bias corrections are reciprocals (multiplications in the loop),
  computed with the reference's ``pow`` until they round to 1.
* No allocation per step: the scratch arrays are allocated once per epoch.
"""

import math
import os
from functools import cache, partial

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from ._losses import loss_identity
from ._models import _affine, _weighted
from ._models import linear_loss_and_grad as _linear_loss_and_grad
from ._optimizers import SPECS
from ._tree import Layer

__all__ = ["ACTIVATION_CODES", "LOSSES", "OPTIMIZERS", "RULE_HYPERPARAMETERS", "apply_update",
           "compiled_linear", "compiled_mlp", "linear_epoch", "linear_loss_and_grad"]

#: Loss names and their codes in the compiled loop.
LOSSES = {
    "squared_error": 0,
    "huber": 1,
    "epsilon_insensitive": 2,
    "binary_log_loss": 3,
    "multinomial_log_loss": 4,
    "hinge": 5,
    "modified_huber": 6,
}

_SGD, _MOMENTUM, _RMSPROP, _ADAM = 0, 1, 2, 3

#: The compiled rules (``OptimizerSpec.compiled``) and their codes.
_RULE_CODES = {"sgd": _SGD, "momentum": _MOMENTUM, "rmsprop": _RMSPROP, "adam": _ADAM}

#: Optimizer names and their codes ("gd" and "sgd" share one rule): the
#: named optimizers whose spec (``_optimizers.SPECS``) has compiled code.
OPTIMIZERS = {name: _RULE_CODES[spec.compiled] for name, spec in SPECS.items()
              if spec.compiled is not None}

#: The array fields of each rule's optimizer state (the spec's
#: ``state_fields``), in the order of the compiled code's ``S1``, ``S2``.
_STATE_FIELDS = {_RULE_CODES[spec.compiled]: spec.state_fields for spec in SPECS.values()
                 if spec.compiled is not None and spec.state_fields}

#: The hyperparameters the compiled rules read (keyword arguments of
#: :func:`linear_epoch` and :func:`apply_update`).
RULE_HYPERPARAMETERS = ("momentum", "nesterov", "rho", "beta_1", "beta_2", "eps")
(_SQUARED_ERROR, _HUBER, _EPSILON_INSENSITIVE, _BINARY_LOG_LOSS, _MULTINOMIAL_LOG_LOSS,
 _HINGE, _MODIFIED_HUBER) = range(7)

#: Rows are prefetched about this many bytes ahead of the row being read
#: (at least 2 rows). Measured at 200,000 x 100 (AMD EPYC, 2 cores): 8 KB
#: took 20-25 % off an epoch at batch size >= 8 against 4 KB, and more
#: (16-32 KB) gained nothing; 8 KB is far within L2, so the rows are still
#: there when read.
PREFETCH_BYTES = 8192

#: Cache line size assumed for the prefetches (x86-64 and most ARM cores).
_LINE = 64

#: The coefficients of each output are padded with zeros to a multiple of
#: this many bytes (a 512-bit vector), so that the update loops have no
#: scalar remainder: the zeros stay zero under every rule.
_ROW_ALIGN_BYTES = 64

# Positions of the dtype-typed hyperparameters in the ``hp`` array.
(_EPSILON, _HALF_EPS2, _MU, _RHO, _ONE_M_RHO, _B1, _ONE_M_B1, _B2, _ONE_M_B2,
 _EPS, _L2, _N_HP) = range(12)


# ---------------------------------------------------------------- primitives


@intrinsic
def _prefetch(typingctx, address):
    """Prefetch the cache line at integer ``address`` for reading (``llvm.prefetch``).

    A prefetch is a hint: it never faults, whatever the address.
    """
    if not isinstance(address, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        # LLVM renames it llvm.prefetch.p0 (opaque pointers) when it reads the IR.
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch")
        # rw=0 (read), locality=3 (keep in all cache levels), cache type 1 (data)
        builder.call(fn, [builder.inttoptr(args[0], i8p), ir.Constant(i32, 0),
                          ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.void(address), codegen


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract", "nsz"})
def _dot(A, i, B, j):
    """``A[i] @ B[j]``, the dot product of two rows of 2-D arrays, in their dtype.

    A function of its own so that fastmath reaches only this reduction:
    ``reassoc`` lets LLVM split the sum into vector lanes, ``contract``
    fuses multiply-adds. LLVM inlines it into the epoch loop. Rows are
    indexed, not sliced: a slice is an array view, whose reference counting
    would cost two atomic operations per call.
    """
    acc = A.dtype.type(0)
    for f in range(A.shape[1]):
        acc += A[i, f] * B[j, f]
    return acc


# The helpers below take and return scalars only, so that LLVM inlines them
# into the epoch loop at no cost. Arrays stay in the epoch function: passing
# one to a compiled function costs reference counting (atomic operations) on
# each call, which cost more than the arithmetic of a per-sample step.
# Constants come in ``c`` = (0, 1, 1/2, 2, 4, log 2) in the dtype of the
# data: a Python float literal would promote float32 arithmetic to float64.


@njit(cache=True, error_model="numpy", inline="always")
def _pointwise_loss(code, t, raw, epsilon, half_eps2, c):
    """``(loss, d loss / d raw)`` of one output, for every loss but the multinomial one.

    The formulas and their order of operations are those of ``_losses.py``;
    ``t`` is the target (a value, or +-1), ``half_eps2`` is ``epsilon**2 / 2``.
    """
    zero, one, half, two, four, log2 = c
    if code == _SQUARED_ERROR:
        r = raw - t
        return r * r * half, r
    if code == _HUBER:
        r = raw - t
        a = abs(r)
        loss = half * r * r if a <= epsilon else epsilon * a - half_eps2
        return loss, min(max(r, -epsilon), epsilon)
    if code == _EPSILON_INSENSITIVE:
        r = raw - t
        excess = abs(r) - epsilon
        sign = one if r > zero else (-one if r < zero else zero)
        # max(nan, 0) is nan, as np.maximum: a diverged fit shows in the loss
        return max(excess, zero), (sign if excess > zero else zero)
    if code == _BINARY_LOG_LOSS:
        # log(1 + exp(-t raw)) as np.logaddexp(0, -t raw), branch for branch
        minus_z = -(t * raw)
        if minus_z == zero:
            loss = log2
        elif minus_z < zero:
            loss = math.log1p(math.exp(minus_z))
        else:
            loss = minus_z + math.log1p(math.exp(-minus_z))
        # -t * sigmoid(-z) = -t * exp(-z - loss): no overflow
        return loss, -(math.exp(minus_z - loss) * t)
    if code == _HINGE:
        margin = one - t * raw
        return max(margin, zero), (-t if margin > zero else zero)
    # modified_huber
    z = t * raw
    one_minus = max(one - z, zero)
    if z >= -one:
        loss = one_minus * one_minus
        grad = -two * t * one_minus
    else:
        loss = -four * z
        grad = -four * t
    return loss, (zero if z >= one else grad)


@njit(cache=True, error_model="numpy", inline="always")
def _direction(optimizer, nesterov, g, s1, s2, h):
    """``(direction, s1, s2)``: the optimizer's step direction and new state for gradient ``g``.

    ``s1``: momentum's trace, RMSprop's ``nu`` or Adam's ``mu``; ``s2``:
    Adam's ``nu``. ``h`` = (momentum, rho, 1 - rho, beta_1, 1 - beta_1,
    beta_2, 1 - beta_2, eps, c1, c2), with Adam's bias corrections as
    reciprocals ``c1 = 1 / (1 - beta_1**t)``, ``c2 = 1 / (1 - beta_2**t)``:
    multiplications, not divisions. The rules and their order of operations
    are those of ``_optimizers.py`` (torch.optim).
    """
    mu, rho, one_m_rho, b1, one_m_b1, b2, one_m_b2, eps, c1, c2 = h
    if optimizer == _MOMENTUM:
        trace = mu * s1 + g
        return (g + mu * trace if nesterov else trace), trace, s2
    if optimizer == _RMSPROP:
        nu = rho * s1 + one_m_rho * (g * g)
        return g / (math.sqrt(nu) + eps), nu, s2
    if optimizer == _ADAM:
        m = b1 * s1 + one_m_b1 * g
        nu = b2 * s2 + one_m_b2 * (g * g)
        return (m * c1) / (math.sqrt(nu * c2) + eps), m, nu
    return g, s1, s2


@njit(cache=True, error_model="numpy")
def _gradient(G, w, scale, l2, clip, use_l2):
    """Steps 2-4 for one coefficient: ``(G * scale [+ l2 * w]) * clip``."""
    g = G * scale
    if use_l2:
        g += l2 * w
    return g * clip


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract", "nsz"})
def _squared_norm(G, W, j, padded, scale, l2, use_l2):
    """``sum_f (G[j, f] * scale [+ l2 * W[j, f]]) ** 2`` in float64, over ``f < padded``.

    The squared norm of one output's coefficient gradient, before clipping,
    for the record only (``grad_norm_curve_``): ``reassoc`` lets LLVM split
    the sum into vector lanes (a chained float sum cost a step a third of
    its time at batch size 1). Clipping keeps its own, ordered sum.
    """
    acc = 0.0
    if use_l2:  # (two loops: a branch inside kept LLVM from vectorising the sum)
        for f in range(padded):
            g = G[j, f] * scale + l2 * W[j, f]
            acc += np.float64(g) * np.float64(g)
    else:
        for f in range(padded):
            g = G[j, f] * scale
            acc += np.float64(g) * np.float64(g)
    return acc


@njit(cache=True, error_model="numpy")
def _step(w, direction, lr, decay, use_decay):
    """Steps 6-7 for one coefficient: decoupled decay, then the step."""
    if use_decay:
        w *= decay
    return w - lr * direction


@njit(cache=True, error_model="numpy")
def _soft_threshold(w, threshold):
    """Step 8: ``sign(w) * max(|w| - threshold, 0)``.

    Bit for bit (rounding is symmetric), in a form that vectorises; nan
    stays nan.
    """
    if w > threshold:
        return w - threshold
    if w < -threshold:
        return w + threshold
    if w == w:
        return w * 0  # +-0, the sign of w as np.sign(w) * 0
    return w


# ---------------------------------------------------------------- the epoch

#: Error codes of ``_epoch`` (raising inside the loop would cost speed).
_OK, _BAD_BOUNDS, _BAD_ROW = 0, 1, 2


@njit(cache=True, error_model="numpy", nogil=True)
def _epoch(X, Y, sw, order, bounds, rates, W, S1, S2, hp, loss_code, optimizer, nesterov,
           use_sw, use_intercept, mean_weight, l1, use_l2, max_grad_norm, weight_decay,
           beta_1, beta_2, count):
    """Run the epoch in place on the weights ``W`` and the state ``S1``, ``S2``.

    ``W``: ``(n_outputs, padded + 1)``, each output's coefficients, zeros up
    to ``padded`` (a multiple of :data:`_ROW_ALIGN_BYTES`), then the
    intercept (zero and never updated without ``use_intercept``); ``S1``,
    ``S2``: the optimizer state in the same layout. Every input array is
    read-only and C-contiguous; ``sw`` is a dummy without ``use_sw``.

    Returns
    -------
    loss_sum : float
        The epoch's weighted loss sum.
    norm_sum : float
        The sum over the steps of the gradient's global norm before clipping.
    status : int
        ``_OK``, or the error met (the loop stops there).
    """
    T = X.dtype.type
    n, d = X.shape
    k = W.shape[0]
    n_batches = bounds.shape[0] - 1
    ic = W.shape[1] - 1  # the intercept's column
    padded = ic  # the coefficients and their zero padding
    # The summed gradient, in the layout of W; the padding stays zero, and so
    # does the intercept's column without an intercept.
    G = np.zeros((k, ic + 1), dtype=X.dtype)
    raw = np.empty(k, dtype=X.dtype)
    dz = np.empty(k, dtype=X.dtype)
    c = (T(0), T(1), T(0.5), T(2), T(4), T(math.log(2.0)))
    zero, one = c[0], c[1]
    epsilon, half_eps2, l2 = hp[_EPSILON], hp[_HALF_EPS2], hp[_L2]
    use_clip = max_grad_norm > 0.0
    use_decay = weight_decay > 0.0
    use_l1 = l1 > 0.0

    base = X.ctypes.data
    row_bytes = X.strides[0]
    row_span = d * X.itemsize  # bytes of a row that are read
    ahead = max(2, PREFETCH_BYTES // max(row_span, 1))
    end = bounds[n_batches] if n_batches >= 0 else 0
    if n_batches >= 0 and (bounds[0] < 0 or end > order.shape[0]):
        return 0.0, 0.0, _BAD_BOUNDS

    mu, rho, one_m_rho = hp[_MU], hp[_RHO], hp[_ONE_M_RHO]
    b1, one_m_b1, b2, one_m_b2, eps = (hp[_B1], hp[_ONE_M_B1], hp[_B2], hp[_ONE_M_B2],
                                       hp[_EPS])
    c1 = c2 = one
    saturated = False
    last_m, scale = -1, one

    loss_sum = 0.0
    # each step's squared gradient norm: their square roots are summed after
    # the loop, off the chain of dependent steps (batch size 1)
    squares = np.zeros(max(n_batches, 0), dtype=np.float64)
    norm_sum = 0.0
    for batch in range(n_batches):
        start, stop = bounds[batch], bounds[batch + 1]
        if stop <= start:
            return loss_sum, norm_sum, _BAD_BOUNDS
        # ---- step 1, and step 2's sum: forward pass and gradient, one read of each row
        for p in range(start, stop):
            q = p + ahead
            if q < end:
                address = base + order[q] * row_bytes
                for offset in range(0, row_span, _LINE):
                    _prefetch(address + offset)
                _prefetch(address + row_span - 1)  # the last line, rows are not aligned
            r = order[p]
            if r < 0 or r >= n:
                return loss_sum, norm_sum, _BAD_ROW
            if k == 1 and loss_code != _MULTINOMIAL_LOG_LOSS:
                # One output (regression, binary classification): scalars
                # throughout. At batch size 1 every step waits for the
                # previous one; a round trip through raw/dz would lengthen
                # that chain.
                only = k - 1  # 0, at run time: a literal 0 would compile _dot again
                loss, dz0 = _pointwise_loss(loss_code, Y[r, 0], _dot(X, r, W, only) + W[0, ic],
                                            epsilon, half_eps2, c)
                if use_sw:
                    s = sw[r]
                    loss *= s
                    dz0 *= s
                loss_sum += loss
                if p == start:  # the first row sets the sums: no zeroing pass
                    for f in range(d):
                        G[0, f] = dz0 * X[r, f]
                    if use_intercept:
                        G[0, ic] = dz0
                else:
                    for f in range(d):
                        G[0, f] += dz0 * X[r, f]
                    if use_intercept:
                        G[0, ic] += dz0
                continue
            loss = zero
            for j in range(k):
                raw[j] = _dot(X, r, W, j) + W[j, ic]
            if loss_code == _MULTINOMIAL_LOG_LOSS:  # softmax cross-entropy, one-hot rows
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
                s = sw[r]
                loss *= s
                for j in range(k):
                    dz[j] *= s
            loss_sum += loss
            if p == start:
                for j in range(k):
                    dzj = dz[j]
                    for f in range(d):
                        G[j, f] = dzj * X[r, f]
                    if use_intercept:
                        G[j, ic] = dzj
            else:
                for j in range(k):
                    dzj = dz[j]
                    for f in range(d):
                        G[j, f] += dzj * X[r, f]
                    if use_intercept:
                        G[j, ic] += dzj

        # ---- steps 2-8: the update
        if stop - start != last_m:  # a division less per step, batches mostly share m
            last_m = stop - start
            scale = T(1.0 / (last_m * mean_weight))
        lr64 = rates[batch] if rates.shape[0] > 1 else rates[0]
        lr = T(lr64)
        # the gradient's norm before clipping: recorded, and what clipping scales by
        total = 0.0
        for j in range(k):
            if use_clip:
                for f in range(padded):  # squared in float64: |g| > 1.8e19 overflows float32
                    total += np.float64(_gradient(G[j, f], W[j, f], scale, l2, one,
                                                  use_l2)) ** 2
            else:  # for the record only: a vectorised sum
                total += _squared_norm(G, W, j, padded, scale, l2, use_l2)
            total += np.float64(G[j, ic] * scale) ** 2  # zero without an intercept
        squares[batch] = total
        clip = one
        if use_clip:
            clip = T(min(1.0, max_grad_norm / (math.sqrt(total) + 1e-6)))
        decay = T(1.0 - lr64 * weight_decay)
        threshold = T(lr64 * l1)
        if optimizer == _ADAM and not saturated:
            # Bias corrections as reciprocals, with the reference's pow. Once
            # both round to 1 they stay 1 (beta**t only decreases): no more pow.
            t = float(count + batch + 1)
            c1 = T(1.0 / (1.0 - math.pow(beta_1, t)))
            c2 = T(1.0 / (1.0 - math.pow(beta_2, t)))
            saturated = c1 == one and c2 == one
        h = (mu, rho, one_m_rho, b1, one_m_b1, b2, one_m_b2, eps, c1, c2)
        for j in range(k):
            # The coefficients, padded: one loop per rule. LLVM does not
            # unswitch a loop on the optimizer by itself (it computed every
            # rule, square roots included, and selected); _direction is
            # inlined by numba with a constant code, so that each loop holds
            # one rule.
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
            if use_l1:  # a pass of its own: if-converted in the loops above, it cost
                for f in range(padded):  # them all, used or not
                    W[j, f] = _soft_threshold(W[j, f], threshold)
            if use_intercept:  # no penalty, no decay, no l1
                g = G[j, ic] * scale * clip
                direction, S1[j, ic], S2[j, ic] = _direction(optimizer, nesterov, g,
                                                             S1[j, ic], S2[j, ic], h)
                W[j, ic] -= lr * direction
    for batch in range(n_batches):
        norm_sum += math.sqrt(squares[batch])
    return loss_sum, norm_sum, _OK


# ---------------------------------------------------------------- Python side


def _read_only(array):
    """A read-only base-class view of ``array`` (no copy): one numba type for all."""
    view = np.asarray(array).view(np.ndarray)
    view.flags.writeable = False
    return view


def _rows(array, dtype, name):
    """``array`` as a C-contiguous, aligned, read-only ndarray of ``dtype``.

    Copies only when the layout or dtype differ: rows must be contiguous for
    the compiled loop (a Fortran-ordered ``X`` would read each row from
    ``n_features`` cache lines).
    """
    array = np.asarray(array)
    if array.dtype != dtype or not (array.flags.c_contiguous and array.flags.aligned):
        array = np.array(array, dtype=dtype, order="C")
    if array.dtype != dtype:
        raise TypeError(f"{name} has dtype {array.dtype}; expected {dtype}")
    return _read_only(array)


def linear_epoch(params, state, X, Y, sample_weight, order, bounds, learning_rates, *,
                 loss, epsilon, optimizer, momentum, nesterov, rho, beta_1, beta_2, eps,
                 l1, l2, mean_weight, max_grad_norm=None, weight_decay=0.0,
                 with_grad_norm=False):
    """Run one epoch of mini-batch steps of a linear model; return (params, state, loss_sum).

    Batch ``b`` is the rows ``order[bounds[b]:bounds[b + 1]]`` of ``X``.
    Each batch of ``m`` rows takes, in this order:

    1. ``raw = X_b @ coef + intercept``; the loss and its gradient ``dz``
       (``_losses.py``), both times the sample weights;
    2. ``g_coef = X_b.T @ dz * scale``, ``g_int = sum(dz) * scale``, with
       ``scale = 1 / (m * mean_weight)``;
    3. ``g_coef += l2 * coef``;
    4. with ``max_grad_norm``: ``g *= min(1, max_grad_norm / (||g|| + 1e-6))``
       over both gradients (``torch.nn.utils.clip_grad_norm_``);
    5. ``lr``: the batch's learning rate;
    6. ``coef *= 1 - lr * weight_decay`` (decoupled decay, as ``torch.optim.AdamW``);
    7. the optimizer's direction ``d`` (``_optimizers.py``, torch.optim's
       rules); ``params -= lr * d``;
    8. ``coef = sign(coef) * max(|coef| - lr * l1, 0)``.

    Penalty, decay and l1 act on ``coef`` only, never on the intercept.

    Parameters
    ----------
    params : tuple of one Layer
        ``(Layer(coef, intercept),)``: ``coef`` of shape
        ``(n_features, n_outputs)``, ``intercept`` of shape ``(n_outputs,)``
        or None (no intercept: neither used nor updated). Any NamedTuple
        with fields ``coef`` and ``intercept`` works. Not modified; cast to
        the dtype of ``X``.
    state : NamedTuple
        The optimizer state, its arrays shaped like ``params``:
        ``EmptyState()`` ("gd", "sgd"), ``TraceState(trace)`` ("momentum"),
        ``RMSPropState(nu)`` ("rmsprop"), ``AdamState(count, mu, nu)``
        ("adam"). Not modified.
    X : ndarray of shape (n_samples, n_features), float32 or float64
        Read in place (a read-only array or a memmap is fine) when
        C-contiguous; any other layout is copied to C order on every call,
        so convert it once before the epochs.
    Y : ndarray of shape (n_samples, n_outputs)
        Encoded targets (+-1 columns, one-hot rows or values); converted to
        the dtype of ``X`` (a copy) when it differs.
    sample_weight : ndarray of shape (n_samples,) or None
        Sample weights (None: unit weights).
    order : ndarray of int
        Row indices (int64 is used as is, other integer types are copied).
    bounds : ndarray of int of shape (n_batches + 1,)
        Batch ``b`` is ``order[bounds[b]:bounds[b + 1]]``; batches may differ
        in size, none may be empty.
    learning_rates : ndarray of float of shape (n_batches,) or (1,)
        The learning rate of each step, or one for all.
    loss : str
        One of :data:`LOSSES`.
    epsilon : float
        Threshold of "huber" and "epsilon_insensitive".
    optimizer : {"gd", "sgd", "momentum", "rmsprop", "adam"}
        The update rule.
    momentum, nesterov, rho, beta_1, beta_2, eps : float, bool
        The optimizer's hyperparameters (each reads its own).
    l1, l2 : float
        Penalty strengths (``Penalty(l1, l2)``).
    mean_weight : float
        ``sum(sample_weight) / n_samples`` of the whole training set.
    max_grad_norm : float or None, default=None
        Clip the gradient's norm to this.
    weight_decay : float, default=0.0
        Decoupled weight decay.
    with_grad_norm : bool, default=False
        Also return ``grad_norm_sum``.

    Returns
    -------
    params : tuple of one Layer
        The weights after the epoch (new arrays, dtype of ``X``).
    state : NamedTuple
        The optimizer state after the epoch, of the same type (Adam's
        ``count`` advanced by the number of steps).
    loss_sum : float
        The sum over the epoch of each sample's loss times its weight, at
        the weights before the step of its batch (summed in float64).
    grad_norm_sum : float
        With ``with_grad_norm`` only: the sum over the steps of the global
        L2 norm of the gradient before clipping (the l2 part included).

    Raises
    ------
    ValueError
        An unknown loss or optimizer, shapes that do not agree, an empty
        batch or bounds beyond ``order``.
    IndexError
        A row index in ``order`` outside ``range(n_samples)``.
    TypeError
        ``X`` is not a 2-D float32 or float64 array.

    Notes
    -----
    The first call per dtype in a process compiles the loop (about 2.5 s)
    or loads it from numba's cache (``__pycache__``, or ``NUMBA_CACHE_DIR``;
    about 0.1 s). One compiled signature serves every option of a dtype.
    ``order`` may repeat or leave out rows (a bootstrap, a subset).
    "gd" and "sgd" return ``state`` itself (it holds no array).

    Examples
    --------
    Per-sample SGD over three rows, in order (squared error, no penalty):

    >>> from typing import Any, NamedTuple
    >>> import numpy as np
    >>> from sk_gradopt._optimizers import EmptyState
    >>> class Layer(NamedTuple):
    ...     coef: Any
    ...     intercept: Any
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> Y = np.array([[1.0], [2.0], [3.0]])
    >>> params = (Layer(coef=np.zeros((2, 1)), intercept=np.zeros(1)),)
    >>> params, state, loss_sum = linear_epoch(
    ...     params, EmptyState(), X, Y, None, order=np.arange(3),
    ...     bounds=np.array([0, 1, 2, 3]), learning_rates=np.array([0.1]),
    ...     loss="squared_error", epsilon=0.1, optimizer="sgd", momentum=0.9,
    ...     nesterov=False, rho=0.99, beta_1=0.9, beta_2=0.999, eps=1e-8,
    ...     l1=0.0, l2=0.0, mean_weight=1.0)
    >>> params[0].coef.ravel(), params[0].intercept
    (array([0.342, 0.432]), array([0.532]))
    >>> round(loss_sum, 4)  # (1**2 + 1.9**2 + 2.42**2) / 2
    5.2332
    """
    if loss not in LOSSES:
        raise ValueError(f"Unknown loss {loss!r}; valid losses are {tuple(LOSSES)}.")
    if optimizer not in OPTIMIZERS:
        raise ValueError(
            f"Unknown optimizer {optimizer!r}; valid optimizers are {tuple(OPTIMIZERS)}."
        )
    X = np.asarray(X)
    if X.ndim != 2 or X.dtype.kind != "f" or X.dtype.itemsize not in (4, 8):
        raise TypeError("X must be a 2-D float32 or float64 array")
    dtype = np.dtype(f"f{X.dtype.itemsize}")  # native byte order (a copy if not)
    X = _rows(X, dtype, "X")
    n, d = X.shape
    coef = np.asarray(_unpack_one(params, "params").coef)
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
    if order.ndim != 1 or bounds.ndim != 1 or rates.ndim != 1 or bounds.shape[0] < 1:
        raise ValueError("order, bounds and learning_rates must be 1-D")
    n_batches = bounds.shape[0] - 1
    if rates.shape[0] not in (1, n_batches):
        raise ValueError(
            f"learning_rates has {rates.shape[0]} values; expected 1 or {n_batches}"
        )

    # The weights as one (n_outputs, n_features + 1) array: each output's
    # coefficients (contiguous, for the dot products) then its intercept.
    layer = _unpack_one(params, "params")
    use_intercept = layer.intercept is not None
    W = _pack(coef, layer.intercept, dtype, "coef")
    opt = OPTIMIZERS[optimizer]
    # Unused state arrays are zeros, never read: one signature for every optimizer.
    S1, S2 = np.zeros_like(W), np.zeros_like(W)
    fields = _STATE_FIELDS.get(opt, ())
    for field, S in zip(fields, (S1, S2)):
        state_layer = _unpack_one(getattr(state, field), f"state.{field}")
        S[...] = _pack(state_layer.coef, state_layer.intercept if use_intercept else None,
                       dtype, f"state.{field}")
    count = int(state.count) if opt == _ADAM else 0

    # Hyperparameters in the data's dtype, computed in float64 first as the
    # reference does with Python floats (NumPy then rounds them to float32).
    hp = np.zeros(_N_HP, dtype=dtype)
    hp[_EPSILON], hp[_HALF_EPS2] = epsilon, 0.5 * epsilon**2
    hp[_MU] = momentum
    hp[_RHO], hp[_ONE_M_RHO] = rho, 1.0 - rho
    hp[_B1], hp[_ONE_M_B1], hp[_B2], hp[_ONE_M_B2] = beta_1, 1.0 - beta_1, beta_2, 1.0 - beta_2
    hp[_EPS], hp[_L2] = eps, l2

    # Python scalars only (bool, int, float): a NumPy scalar would be typed
    # apart and compile another signature.
    loss_sum, norm_sum, status = _epoch(
        X, Y, sw, order, bounds, rates, W, S1, S2, _read_only(hp),
        LOSSES[loss], opt, bool(nesterov), use_sw, use_intercept, float(mean_weight),
        float(l1), bool(l2), float(max_grad_norm or 0.0), float(weight_decay),
        float(beta_1), float(beta_2), count,
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


def _unpack_one(tree, name):
    """The one Layer of a tree of parameters (a tuple of one Layer)."""
    if len(tree) != 1:
        raise ValueError(f"{name} must hold one layer (a linear model); it has {len(tree)}")
    return tree[0]


def _pack(coef, intercept, dtype, name):
    """A fresh ``(n_outputs, padded + 1)`` array: ``coef.T``, zeros, the intercept.

    ``padded`` is ``n_features`` rounded up to a multiple of
    :data:`_ROW_ALIGN_BYTES`; the intercept is the last column (zero when None).
    """
    coef = np.asarray(coef)
    d, k = coef.shape
    align = _ROW_ALIGN_BYTES // np.dtype(dtype).itemsize
    W = np.zeros((k, -(-d // align) * align + 1), dtype=dtype)
    W[:, :d] = coef.T
    if intercept is not None:
        intercept = np.asarray(intercept)
        if intercept.shape != (k,):
            raise ValueError(f"{name}: the intercept has shape {intercept.shape}; "
                             f"expected {(k,)}")
        W[:, -1] = intercept
    return W


def _unpack(W, layer, use_intercept):
    """``layer`` with the coefficients and intercept of ``W`` (fresh arrays)."""
    d = np.shape(layer.coef)[0]
    return layer._replace(coef=np.ascontiguousarray(W[:, :d].T),
                          intercept=W[:, -1].copy() if use_intercept else None)


def _like(container, items):
    """A container of the type of ``container`` (tuple or NamedTuple) holding ``items``."""
    if hasattr(container, "_make"):
        return type(container)._make(items)
    return type(container)(items)


# ---------------------------------------------------- one step of any model


@njit(cache=True, error_model="numpy", nogil=True)
def _update_leaf(P, G, S1, S2, out_P, out_S1, out_S2, h, optimizer, nesterov, use_decay,
                 use_l1):
    """Steps 6-8 for every element of one leaf, into fresh arrays (1-D views).

    ``h``: :func:`_direction`'s ten hyperparameters, then the learning rate,
    the decay factor and the l1 threshold, in the dtype of the leaf (one
    array: a tuple of NumPy scalars costs more to pass than the update of a
    small leaf). The weight decay and the l1 step are on for ``coef`` leaves
    only (the caller's flags). ``S1``/``S2`` and ``out_S1``/``out_S2`` are
    the optimizer's state, unused (and of length 1) where the rule has none.
    """
    hp = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9])
    lr, decay, threshold = h[10], h[11], h[12]
    keep_1 = optimizer != _SGD
    keep_2 = optimizer == _ADAM
    for i in range(P.shape[0]):
        s1 = S1[i] if keep_1 else P[i]
        s2 = S2[i] if keep_2 else P[i]
        direction, s1, s2 = _direction(optimizer, nesterov, G[i], s1, s2, hp)
        w = _step(P[i], direction, lr, decay, use_decay)
        out_P[i] = _soft_threshold(w, threshold) if use_l1 else w
        if keep_1:
            out_S1[i] = s1
        if keep_2:
            out_S2[i] = s2


def apply_update(params, grads, state, learning_rate, *, optimizer, momentum, nesterov, rho,
                 beta_1, beta_2, eps, l1=0.0, weight_decay=0.0):
    """The optimizer's step on every leaf of a NumPy parameter tree, one pass per leaf.

    The same numbers as the training loop's pure functions (to rounding):
    decoupled weight decay on the ``coef`` leaves, the optimizer's direction
    (``_optimizers.py``), ``params - learning_rate * direction``, and the l1
    proximal step on the ``coef`` leaves; where those take several passes
    over each leaf and a temporary array per pass, this takes one. For models
    whose parameters are larger than a linear model's (an MLP's weight
    matrices), on NumPy arrays of one dtype.

    Parameters
    ----------
    params, grads : tuple of Layer
        The parameters and their gradient (the penalty's gradient and the
        clipping included); not modified.
    state : NamedTuple
        The optimizer state (see :func:`linear_epoch`); not modified.
    learning_rate : float
        The rate of this step.
    optimizer, momentum, nesterov, rho, beta_1, beta_2, eps
        The rule and its hyperparameters.
    l1, weight_decay : float, default=0.0
        The l1 strength of the penalty and the decoupled weight decay.

    Returns
    -------
    params : tuple of Layer
        New arrays.
    state : NamedTuple
        The new state, of the same type (Adam's ``count`` advanced by one).
    """
    opt = OPTIMIZERS[optimizer]
    fields = _STATE_FIELDS.get(opt, ())
    dtype = params[0].coef.dtype
    count = int(state.count) + 1 if opt == _ADAM else 0
    c1 = c2 = 1.0
    if opt == _ADAM:  # reciprocals, as the compiled epoch (multiplications in the loop)
        c1 = 1.0 / (1.0 - math.pow(beta_1, count))
        c2 = 1.0 / (1.0 - math.pow(beta_2, count))
    # Computed in float64 as the reference does with Python floats, then
    # rounded to the dtype (as NumPy rounds a Python float to float32).
    h = np.array([momentum, rho, 1.0 - rho, beta_1, 1.0 - beta_1, beta_2, 1.0 - beta_2,
                  eps, c1, c2, learning_rate, 1.0 - learning_rate * weight_decay,
                  learning_rate * l1], dtype=dtype)
    nesterov = bool(nesterov)
    dummy = np.zeros(1, dtype=dtype)

    def update(P, G, states, is_coef):
        """The new leaf and its new state arrays (fresh, in the shape of ``P``)."""
        if P is None:
            return None, [None] * len(fields)
        # 1-D C-ordered views (a copy only for another layout or dtype)
        flat = [np.asarray(a, dtype=dtype).reshape(-1) for a in (P, G, *states)]
        outs = [np.empty(flat[0].shape, dtype=dtype) for _ in range(1 + len(fields))]
        S = flat[2:] + [dummy] * (2 - len(fields))
        out_S = outs[1:] + [dummy] * (2 - len(fields))
        _update_leaf(flat[0], flat[1], S[0], S[1], outs[0], out_S[0], out_S[1], h, opt,
                     nesterov, is_coef and weight_decay > 0, is_coef and l1 > 0)
        return outs[0].reshape(P.shape), [out.reshape(P.shape) for out in outs[1:]]

    # New NamedTuples by their constructor: ``_replace`` costs several times more.
    state_trees = [getattr(state, field) for field in fields]
    new_layers, new_trees = [], [[] for _ in fields]
    for index, (layer, grad) in enumerate(zip(params, grads)):
        olds = [tree[index] for tree in state_trees]
        coef, coef_states = update(layer.coef, grad.coef, [s.coef for s in olds], True)
        intercept, intercept_states = update(layer.intercept, grad.intercept,
                                             [s.intercept for s in olds], False)
        new_layers.append(type(layer)(coef=coef, intercept=intercept))
        for tree, old, c, i in zip(new_trees, olds, coef_states, intercept_states):
            tree.append(type(old)(coef=c, intercept=i))
    new_state = state
    if fields:
        new_state = state._replace(**{f: tuple(t) for f, t in zip(fields, new_trees)})
        if opt == _ADAM:
            new_state = new_state._replace(count=count)
    return tuple(new_layers), new_state


# ------------------------------------------ the full-batch linear model


@njit(cache=True, error_model="numpy", nogil=True)
def _loss_pass(Z, b, Y, sw, hp, code, use_b, use_sw, dsum):
    """The loss, its gradient and the intercept's gradient, in one pass over ``Z``.

    ``Z = X @ coef`` on entry; on return it holds ``dz``, the gradient of
    the loss with respect to ``raw = Z + b``, times the sample weights.
    ``dsum`` receives the column sums of ``dz`` (accumulated in float64);
    the weighted loss sum is returned (in float64). ``hp`` = (epsilon,
    epsilon**2 / 2) in the dtype of ``Z``. The per-element formulas are
    :func:`_pointwise_loss`'s, hence ``_losses.py``'s.
    """
    T = Z.dtype.type
    c = (T(0), T(1), T(0.5), T(2), T(4), T(math.log(2.0)))
    epsilon, half_eps2 = hp[0], hp[1]
    n, k = Z.shape
    total = 0.0
    for j in range(k):
        dsum[j] = 0.0
    for i in range(n):
        w = sw[i] if use_sw else c[1]
        row = 0.0
        for j in range(k):
            raw = Z[i, j] + b[j] if use_b else Z[i, j]
            loss, d = _pointwise_loss(code, Y[i, j], raw, epsilon, half_eps2, c)
            if use_sw:
                d = d * w
            Z[i, j] = d
            dsum[j] += d
            row += loss
        total += row * w if use_sw else row
    return total


@njit(cache=True, error_model="numpy", nogil=True)
def _rows_pass(X, Wt, b, Y, sw, hp, code, use_b, use_sw, start, stop, G, dsum):
    """Rows ``start:stop`` of a full batch in one read of each: loss, ``dz``, and ``X.T @ dz``.

    For each row, the raw outputs (``X[i] @ Wt[j] + b[j]``), the loss and
    its gradient ``dz`` (times the sample weight), then ``G[j] += dz *
    X[i]`` from the same cache lines: one read of X where BLAS's ``X @
    coef`` and ``X.T @ dz`` make two. ``G`` (``n_outputs x n_features``)
    and ``dsum`` (the intercepts' gradient) accumulate in float64; the
    weighted loss sum is returned. It releases the GIL: chunks of rows run
    on threads side by side (:func:`linear_loss_and_grad`).
    """
    T = X.dtype.type
    c = (T(0), T(1), T(0.5), T(2), T(4), T(math.log(2.0)))
    epsilon, half_eps2 = hp[0], hp[1]
    k, d = Wt.shape
    total = 0.0
    for i in range(start, stop):
        w = sw[i] if use_sw else c[1]
        row = 0.0
        for j in range(k):
            raw = _dot(X, i, Wt, j)
            if use_b:
                raw += b[j]
            loss, dz = _pointwise_loss(code, Y[i, j], raw, epsilon, half_eps2, c)
            if use_sw:
                dz = dz * w
            dsum[j] += dz
            dz64 = np.float64(dz)
            for f in range(d):
                G[j, f] += dz64 * X[i, f]
            row += loss
        total += row * w if use_sw else row
    return total


#: A full batch is cut into chunks of rows of about this many elements of X
#: (at most :data:`MAX_CHUNKS`), each a task of the thread pool: the chunks
#: depend on the data's shape only, so the sums do not depend on the machine.
CHUNK_ELEMENTS = 2**20
MAX_CHUNKS = 16


@cache
def _thread_pool():
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1,
                              thread_name_prefix="sk_gradopt")


@cache
def _threadpools():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _n_workers():
    """The threads a full batch may use: as many as NumPy's BLAS may (threadpoolctl's count).

    So that ``threadpoolctl.threadpool_limits`` and joblib's workers, which
    limit BLAS to avoid oversubscription, limit this pass too.
    """
    threads = [lib.get_num_threads() for lib in _threadpools().lib_controllers
               if lib.user_api == "blas"]
    return max(1, min(max(threads, default=1), os.cpu_count() or 1))


def _one_pass(X, layer, Y, sample_weight, code, hp):
    """``(loss sum, G, dsum)`` of a full batch: :func:`_rows_pass` over chunks, in threads."""
    n, d = X.shape
    dtype = X.dtype
    X = _read_only(X)  # (one numba type for every X, as in the epoch)
    Wt = np.array(layer.coef.T, dtype=dtype, order="C")  # writable, as the epoch's W
    k = Wt.shape[0]
    use_b, use_sw = layer.intercept is not None, sample_weight is not None
    b = _read_only(np.ascontiguousarray(layer.intercept if use_b else np.zeros(1), dtype=dtype))
    sw = _read_only(np.ascontiguousarray(sample_weight if use_sw else np.ones(1), dtype=dtype))
    Y = _rows(Y, dtype, "Y")
    n_chunks = int(min(MAX_CHUNKS, max(1, n * d // CHUNK_ELEMENTS)))
    bounds = np.linspace(0, n, n_chunks + 1).astype(np.int64)
    parts = [(np.zeros((k, d)), np.zeros(k)) for _ in range(n_chunks)]

    totals = [0.0] * n_chunks

    def run(first, step):  # the chunks first, first + step, ...: one worker's share
        for chunk in range(first, n_chunks, step):
            G, dsum = parts[chunk]
            totals[chunk] = _rows_pass(X, Wt, b, Y, sw, hp, code, use_b, use_sw,
                                       bounds[chunk], bounds[chunk + 1], G, dsum)

    workers = min(n_chunks, _n_workers())
    if workers == 1:
        run(0, 1)
    else:
        for done in [_thread_pool().submit(run, w, workers) for w in range(workers)]:
            done.result()
    G, dsum = parts[0]
    for G_part, dsum_part in parts[1:]:  # in chunk order: the same sums on every machine
        G += G_part
        dsum += dsum_part
    return math.fsum(totals), G, dsum


def linear_loss_and_grad(params, X, Y, sample_weight, loss_fn, scale):
    """:func:`._models.linear_loss_and_grad` on NumPy arrays, in one read of X.

    A dense C-ordered ``X`` takes one compiled pass per chunk of rows
    (:func:`_rows_pass`: the raw outputs, the loss, its gradient and ``X.T @
    dz`` from the same cache lines), the chunks on threads side by side: one
    read of X on every core, where BLAS's ``X @ coef`` and ``X.T @ dz`` make
    two. Another ``X`` (sparse, Fortran-ordered) keeps BLAS's products, with
    the element-wise work between them (the intercept, the loss, its
    gradient, the sample weights) in one compiled pass over the raw outputs
    (:func:`_loss_pass`). The same numbers to rounding (the sums run in
    float64). The losses come back summed: a 1-element array, which the
    epoch adds up as it adds the per-sample losses. The multinomial loss,
    which is not element-wise, runs the reference.
    """
    name, keywords = loss_identity(loss_fn)
    code = LOSSES.get(name)
    if code is None or code == _MULTINOMIAL_LOG_LOSS:
        return _linear_loss_and_grad(params, X, Y, sample_weight, loss_fn, scale)
    (layer,) = params
    dtype = layer.coef.dtype
    epsilon = keywords.get("epsilon", 0.0)
    if type(X) is np.ndarray and X.flags.c_contiguous and X.dtype == dtype:
        hp = _read_only(np.array([epsilon, 0.5 * epsilon**2], dtype=dtype))
        total, G, dsum = _one_pass(X, layer, Y, sample_weight, code, hp)
        g_coef = np.asarray(G.T * scale, dtype=dtype)
        g_intercept = (dsum * scale).astype(dtype) if layer.intercept is not None else None
        return np.array([total], dtype=dtype), (Layer(g_coef, g_intercept),)
    Z = np.ascontiguousarray(X @ layer.coef, dtype=dtype)
    use_b, use_sw = layer.intercept is not None, sample_weight is not None
    b = _read_only(np.ascontiguousarray(layer.intercept if use_b else np.zeros(1), dtype=dtype))
    sw = _read_only(np.ascontiguousarray(sample_weight if use_sw else np.ones(1), dtype=dtype))
    hp = _read_only(np.array([epsilon, 0.5 * epsilon**2], dtype=dtype))
    dsum = np.empty(Z.shape[1], dtype=np.float64)
    total = _loss_pass(Z, b, _rows(Y, dtype, "Y"), sw, hp, code, use_b, use_sw, dsum)
    g_coef = X.T @ Z
    g_coef *= scale
    g_coef = np.asarray(g_coef, dtype=dtype)
    g_intercept = (dsum * scale).astype(dtype) if use_b else None
    return np.array([total], dtype=dtype), (Layer(g_coef, g_intercept),)


def compiled_linear(model):
    """The linear ``model`` with :func:`linear_loss_and_grad`: for full-batch steps on NumPy.

    Parameters
    ----------
    model : Model
        The linear model of :func:`._models.linear_model`.

    Returns
    -------
    Model
    """
    if model.name != "linear":
        raise ValueError(f"compiled_linear takes the linear model; got {model.name!r}")
    return model._replace(loss_and_grad=linear_loss_and_grad)


# ---------------------------------------------- the hidden layers of an MLP

#: Hidden activations and their codes in the compiled passes.
ACTIVATION_CODES = {"identity": 0, "logistic": 1, "tanh": 2, "relu": 3}

_IDENTITY, _LOGISTIC, _TANH, _RELU = range(4)


@njit(cache=True, error_model="numpy", nogil=True)
def _bias_relu(Z, b):
    """``Z = max(Z + b, 0)`` in place: the bias and the ReLU in one pass.

    nan stays nan, as with ``np.maximum``.
    """
    zero = Z.dtype.type(0)
    for r in range(Z.shape[0]):
        for j in range(Z.shape[1]):
            z = Z[r, j] + b[j]
            Z[r, j] = zero if z < zero else z


@njit(cache=True, error_model="numpy", inline="always")
def _times_derivative(code, d, a, zero, one):
    """``d * act'(z)``, the derivative written in terms of ``a = act(z)`` (as ``_models.py``)."""
    if code == _RELU:
        # d * sign(a), with a = max(z, 0): d where a > 0; d * a (0, or nan) elsewhere
        return d if a > zero else d * a
    if code == _TANH:
        return d * (one - a * a)
    if code == _LOGISTIC:
        return d * ((one - a) * a)
    return d


#: The backward pass of a hidden layer writes this many bytes of rows, then
#: sums them into the intercept's gradient while they are in L1. Measured at
#: 256 x 256 float64 (Emerald Rapids, shared): 34 us a call against 52 us
#: with the sum in the same loop as the product, 8-32 KB alike.
_BLOCK_BYTES = 16384


@njit(cache=True, error_model="numpy", nogil=True)
def _hidden_delta(D, W, A, out, g_b, code, outer, scale):
    """A hidden layer's delta and its intercept's gradient, in one pass over ``out``.

    ``out = (D @ W.T) * act'(z)``, with ``A = act(z)``. With ``outer`` (the
    next layer has one output: ``W`` is a column) the product of the columns
    ``D[:, 0]`` and ``W[:, 0]`` is formed here; otherwise ``out`` holds
    ``D @ W.T`` (a BLAS product) and is multiplied in place. ``g_b =
    scale * out.sum(axis=0)``, summed row after row as NumPy sums over the
    first axis of a C-ordered array, by blocks of rows still in L1.
    """
    T = out.dtype.type
    zero, one, s = T(0), T(1), T(scale)
    n, m = out.shape
    for j in range(m):
        g_b[j] = zero
    rows = max(1, _BLOCK_BYTES // max(1, m * out.itemsize))
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        for r in range(start, stop):
            d_r = D[r, 0]
            for j in range(m):
                d = d_r * W[j, 0] if outer else out[r, j]
                out[r, j] = _times_derivative(code, d, A[r, j], zero, one)
        for r in range(start, stop):
            for j in range(m):
                g_b[j] += out[r, j]
    for j in range(m):
        g_b[j] *= s


def _hidden_forward(a, layer, code):
    """``act(a @ coef + intercept)``: the bias and the activation in place on the product.

    ReLU in one compiled pass; tanh and logistic through NumPy's vectorised
    ``tanh`` and ``exp`` (a compiled loop calls the scalar ``libm`` functions,
    several times slower), in place; the numbers of ``_models.py``.
    """
    z = a @ layer.coef
    b = layer.intercept
    if code == _RELU:
        if b is None:
            np.maximum(z, 0.0, out=z)
        else:
            _bias_relu(z, _read_only(np.ascontiguousarray(b, dtype=z.dtype)))
        return z
    if b is not None:
        z += b
    if code == _TANH:
        np.tanh(z, out=z)
    elif code == _LOGISTIC:  # 1 / (1 + exp(-z))
        np.negative(z, out=z)
        np.exp(z, out=z)
        z += 1.0
        np.divide(1.0, z, out=z)
    return z


def _backward(delta, coef, a, code, scale):
    """``(delta @ coef.T) * act'(z)`` for ``a = act(z)``, and ``scale`` times its column sums."""
    dtype = a.dtype
    outer = coef.shape[1] == 1
    if outer:
        out = np.empty(a.shape, dtype=dtype)
    else:
        out = np.ascontiguousarray(delta @ coef.T, dtype=dtype)
    g_b = np.empty(a.shape[1], dtype=dtype)
    _hidden_delta(_read_only(np.ascontiguousarray(delta, dtype=dtype)),
                  _read_only(np.ascontiguousarray(coef, dtype=dtype)),
                  _read_only(np.ascontiguousarray(a)), out, g_b, code, outer, float(scale))
    return out, g_b


def mlp_forward(params, X, *, activation):
    """:func:`._models.mlp_forward` on NumPy arrays, with the compiled hidden layers."""
    code = ACTIVATION_CODES[activation]
    a = X
    for layer in params[:-1]:
        a = _hidden_forward(a, layer, code)
    return _affine(a, params[-1])


def mlp_loss_and_grad(params, X, Y, sample_weight, loss_fn, scale, *, activation):
    """:func:`._models.mlp_loss_and_grad` on NumPy arrays, with the compiled hidden layers.

    The same numbers to rounding: the same matrix products; the bias and
    the activation in place on each product (:func:`_hidden_forward`); each
    hidden delta, its activation's derivative and its intercept's gradient
    in one compiled pass (:func:`_hidden_delta`) instead of four to six
    NumPy passes and as many fresh arrays.
    """
    code = ACTIVATION_CODES[activation]
    activations = [X]
    for layer in params[:-1]:
        activations.append(_hidden_forward(activations[-1], layer, code))
    loss, delta = _weighted(loss_fn, Y, _affine(activations[-1], params[-1]), sample_weight)
    grads = [None] * len(params)
    last = params[-1]
    g_intercept = None if last.intercept is None else np.sum(delta, axis=0) * scale
    for i in range(len(params) - 1, -1, -1):
        g_coef = activations[i].T @ delta
        g_coef *= scale
        grads[i] = Layer(g_coef, None if params[i].intercept is None else g_intercept)
        if i > 0:
            delta, g_intercept = _backward(delta, params[i].coef, activations[i], code, scale)
    return loss, tuple(grads)


def compiled_mlp(model):
    """``model`` (an MLP of :func:`._models.mlp_model`) computed with compiled passes.

    The same numbers to rounding as the pure array-API functions, which stay
    the reference, on NumPy arrays only (the epoch's chooser decides where).

    Parameters
    ----------
    model : Model
        An MLP model.

    Returns
    -------
    Model
        The same model with :func:`mlp_forward` and :func:`mlp_loss_and_grad`.
    """
    if model.name != "mlp" or model.activation not in ACTIVATION_CODES:
        raise ValueError(f"compiled_mlp takes an MLP model; got {model.name!r}")
    return model._replace(forward=partial(mlp_forward, activation=model.activation),
                          loss_and_grad=partial(mlp_loss_and_grad,
                                                activation=model.activation))
