"""Per-sample losses and their gradients with respect to the raw prediction.

Each loss is a function ``loss(Y, raw) -> (per_sample_loss, grad)`` written
against the array namespace of its inputs:

* ``Y`` and ``raw`` have shape ``(n_samples, n_outputs)``;
* ``per_sample_loss`` has shape ``(n_samples,)`` and sums over the outputs;
* ``grad`` has the shape of ``raw`` and holds d loss / d raw.

Regression targets are the values of ``y``. Classification targets are
encoded by the classifier: ``+1``/``-1`` columns (one column for two classes,
one-vs-rest columns otherwise), or one-hot rows for the multinomial
``log_loss``.
"""

from functools import partial

import numpy as np
from array_api_compat import device as array_device

from ._array_api import namespace, to_numpy

__all__ = [
    "REGRESSION_LOSSES",
    "CLASSIFICATION_LOSSES",
    "get_loss",
    "loss_identity",
    "predicted_labels",
]


def _sum_outputs(xp, loss):
    """``xp.sum(loss, axis=1)``: with one output, its column (no reduction to run)."""
    return loss[:, 0] if loss.shape[1] == 1 else xp.sum(loss, axis=1)


def squared_error(Y, raw):
    """Half squared error ``(y - raw)**2 / 2``."""
    xp = namespace(raw)
    r = raw - Y
    loss = r * r
    loss *= 0.5  # in place: one array of n values fewer at the peak
    return _sum_outputs(xp, loss), r


def huber(Y, raw, epsilon):
    """Huber loss: squared within ``epsilon``, linear beyond (as ``SGDRegressor``)."""
    xp = namespace(raw)
    r = raw - Y
    a = xp.abs(r)
    loss = xp.where(a <= epsilon, 0.5 * r * r, epsilon * a - 0.5 * epsilon**2)
    return _sum_outputs(xp, loss), xp.minimum(xp.maximum(r, -epsilon), epsilon)


def epsilon_insensitive(Y, raw, epsilon):
    """``max(0, |y - raw| - epsilon)``: errors below ``epsilon`` are ignored."""
    xp = namespace(raw)
    r = raw - Y
    excess = xp.abs(r) - epsilon
    grad = xp.where(excess > 0, xp.sign(r), xp.zeros_like(r))
    return _sum_outputs(xp, xp.maximum(excess, 0.0)), grad


def binary_log_loss(T, raw):
    """Logistic loss ``log(1 + exp(-t * raw))`` for ``t`` in {-1, +1}."""
    xp = namespace(raw)
    minus_z = T * raw
    minus_z *= -1.0
    loss = xp.logaddexp(xp.zeros_like(minus_z), minus_z)
    # -t * sigmoid(-z), with sigmoid(-z) = exp(-log(1 + exp(z))) = exp(-z - loss)
    # (log(1 + exp(z)) = z + log(1 + exp(-z))): no overflow, one logaddexp.
    # In place on the fresh arrays: fewer arrays of n values at the peak.
    minus_z -= loss
    grad = xp.exp(minus_z)
    grad *= T
    grad *= -1.0
    return _sum_outputs(xp, loss), grad


def multinomial_log_loss(Y, raw):
    """Softmax cross-entropy for one-hot rows ``Y``."""
    xp = namespace(raw)
    shifted = raw - xp.max(raw, axis=1, keepdims=True)
    log_norm = xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))
    log_proba = shifted - log_norm
    return -xp.sum(Y * log_proba, axis=1), xp.exp(log_proba) - Y


def hinge(T, raw):
    """Hinge loss ``max(0, 1 - t * raw)`` for ``t`` in {-1, +1}."""
    xp = namespace(raw)
    margin = 1.0 - T * raw
    grad = xp.where(margin > 0, -T, xp.zeros_like(T))
    return _sum_outputs(xp, xp.maximum(margin, 0.0)), grad


def modified_huber(T, raw):
    """Smoothed hinge of ``SGDClassifier``: quadratic for ``z >= -1``, else ``-4z``."""
    xp = namespace(raw)
    z = T * raw
    zero = xp.zeros_like(z)
    one_minus = xp.maximum(1.0 - z, 0.0)
    loss = xp.where(z >= -1.0, one_minus * one_minus, -4.0 * z)
    grad = xp.where(z >= -1.0, -2.0 * T * one_minus, -4.0 * T)
    return _sum_outputs(xp, loss), xp.where(z >= 1.0, zero, grad)


REGRESSION_LOSSES = ("squared_error", "huber", "epsilon_insensitive")
CLASSIFICATION_LOSSES = ("log_loss", "hinge", "modified_huber")


def loss_identity(loss_fn):
    """``(name, keywords)`` of a loss function of :func:`get_loss`.

    The name is the function's (``"binary_log_loss"`` for two-class
    ``log_loss``), the keywords its settings (``{"epsilon": 0.5}``): what a
    compiled implementation of the same loss needs to know.
    """
    if isinstance(loss_fn, partial):
        return loss_fn.func.__name__, dict(loss_fn.keywords)
    return loss_fn.__name__, {}


def get_loss(name, *, epsilon=0.1, n_classes=None):
    """The loss function for a loss name of the estimators.

    Parameters
    ----------
    name : str
        One of :data:`REGRESSION_LOSSES` or :data:`CLASSIFICATION_LOSSES`.
    epsilon : float, default=0.1
        Threshold of ``"huber"`` and ``"epsilon_insensitive"``.
    n_classes : int, default=None
        Number of classes: ``"log_loss"`` is the logistic loss for two
        classes and the multinomial (softmax) loss for more.

    Returns
    -------
    callable
        ``loss(Y, raw) -> (per_sample_loss, grad)``.
    """
    if name == "squared_error":
        return squared_error
    if name == "huber":
        return partial(huber, epsilon=epsilon)
    if name == "epsilon_insensitive":
        return partial(epsilon_insensitive, epsilon=epsilon)
    if name == "log_loss":
        return binary_log_loss if n_classes == 2 else multinomial_log_loss
    if name == "hinge":
        return hinge
    if name == "modified_huber":
        return modified_huber
    valid = REGRESSION_LOSSES + CLASSIFICATION_LOSSES
    raise ValueError(f"Unknown loss {name!r}; valid losses are {valid}.")


def predicted_labels(raw, classes):
    """The labels a classifier predicts from its raw outputs ``raw``: the targets' decision rule.

    One column (two classes, target ``+1`` for ``classes[1]``): ``classes[1]``
    where ``raw > 0``; several columns: the class of the largest. Labels that
    are numbers are taken where ``raw`` lives; others (strings, objects) on
    the host, as NumPy.

    Parameters
    ----------
    raw : array of shape (n_samples, n_outputs)
    classes : ndarray of shape (n_classes,)

    Returns
    -------
    array of shape (n_samples,)
    """
    xp = namespace(raw)
    if raw.shape[1] == 1:
        index = xp.astype(raw[:, 0] > 0, xp.int64)
    else:
        index = xp.argmax(raw, axis=1)
    if isinstance(raw, np.ndarray) or classes.dtype.kind not in "iufb":
        return classes[to_numpy(index)]
    return xp.take(xp.asarray(classes, device=array_device(raw)), index, axis=0)
