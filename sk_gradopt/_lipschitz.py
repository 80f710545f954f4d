"""``1 / L``: the learning rate of ``learning_rate="auto"``.

Gradient descent on an objective whose gradient is L-Lipschitz
decreases the objective at every step for learning rates below ``2 / L``;
``1 / L`` is the classic safe choice. For the linear models,

    L = c * lambda_max([X, 1]^T diag(s) [X, 1] / sum(s)) + alpha_2 + weight_decay

with ``c`` the largest second derivative of the loss with respect to the raw
output (:data:`LOSS_CURVATURE`), ``s`` the sample weights, ``alpha_2`` the
strength of the l2 part of the penalty (its l1 part is a proximal step and
does not count) and the column of ones only with an intercept.
``lambda_max`` is exact (``eigvalsh`` of the Gram matrix) up to
:data:`EXACT_MAX_FEATURES` features, and found by power iteration beyond.

Everything is written against the array API of the data.
"""

import math

import numpy as np
from ._array_api import array_device, issparse, namespace, to_numpy

__all__ = [
    "LOSS_CURVATURE",
    "lambda_max",
    "lipschitz_constant",
    "loss_curvature",
]

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
    (about ``GRAM_BLOCK_BYTES``), never a weighted copy of X. A sparse ``X``
    (CSR) gives a sparse Gram matrix of at most ``EXACT_MAX_FEATURES``
    squared entries, made dense on the host.
    """
    with np.errstate(all="ignore"):  # an overflow is reported below
        if issparse(X):
            gram, column_sums = _sparse_gram(X, sample_weight)
        elif sample_weight is None:
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
    with np.errstate(all="ignore"):
        gram = gram / weight_sum
    if not np.all(np.isfinite(gram)):
        raise _too_large(xp, X, sample_weight)
    try:
        value = float(np.linalg.eigvalsh(gram)[-1])
    except np.linalg.LinAlgError:  # (entries near the largest float)
        value = math.inf
    if not math.isfinite(value):
        raise _too_large(xp, X, sample_weight)
    return value


def _sparse_gram(X, sample_weight):
    """``X^T diag(s) X`` and ``s^T X`` of a sparse ``X``, as dense NumPy arrays.

    The weighted rows are ``diag(s) X``: a sparse matrix of X's pattern.
    """
    weighted = X if sample_weight is None else X.multiply(
        np.reshape(sample_weight, (-1, 1))).tocsr()
    gram = (X.T @ weighted).toarray()
    return gram, np.asarray(weighted.sum(axis=0)).reshape(-1)


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
    norm = _norm(xp, u, b)
    u, b = u / norm, b / norm
    estimate = 0.0
    with np.errstate(all="ignore"):  # an overflow is reported below
        for n_iter in range(1, max_iter + 1):
            z = X @ u
            if fit_intercept:
                z = z + b
            if sample_weight is not None:
                z = z * sample_weight
            u = (X.T @ z) / weight_sum
            b = float(xp.sum(z)) / weight_sum if fit_intercept else 0.0
            previous, estimate = estimate, _norm(xp, u, b)
            if not math.isfinite(estimate):
                raise _too_large(xp, X, sample_weight)
            if estimate == 0.0:
                break
            u, b = u / estimate, b / estimate
            if abs(estimate - previous) <= tol * estimate:
                break
    return estimate, n_iter


def _norm(xp, u, b):
    """``sqrt(||u||^2 + b^2)`` without overflowing where the norm itself is a float."""
    scale = max(float(xp.max(xp.abs(u))), abs(b))
    if scale == 0.0 or not math.isfinite(scale):
        return scale
    return scale * math.sqrt(float(xp.sum((u / scale) ** 2)) + (b / scale) ** 2)


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


def _too_large(xp, X, sample_weight):
    """The error for a Gram matrix beyond the floats: the values are too large."""
    with np.errstate(all="ignore"):
        largest_x = float(xp.max(xp.abs(X)))
        weights = ""
        if sample_weight is not None:
            weights = f", largest sample weight = {float(xp.max(sample_weight)):.3g}"
    return ValueError(
        "learning_rate='auto' needs the largest eigenvalue of X^T X / n, which is not "
        f"finite: the values are too large for {X.dtype} (largest |X| = {largest_x:.3g}"
        f"{weights}). Scale the features (e.g. StandardScaler in a Pipeline), or pass "
        "a number as learning_rate."
    )
