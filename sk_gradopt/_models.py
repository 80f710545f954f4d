"""Models as pure functions over a tuple of layers: init, forward and gradient.

A :class:`Model` bundles two pure functions of the parameter tree (a tuple of
:class:`~sk_gradopt._tree.Layer`, see :mod:`._tree`):

* ``forward(params, X) -> raw``: the raw outputs, shape ``(n_samples,
  n_outputs)``, before any output link (the logits of a classifier);
* ``loss_and_grad(params, X, Y, sample_weight, loss_fn, scale) -> (loss,
  grads)``: the per-sample losses (times the sample weights) at ``params``
  and the gradient of their sum, times ``scale``, with respect to every leaf
  of ``params``.

Two models share the training loop, the optimizers and the penalties:

* the **linear** model ``raw = X @ coef + intercept`` (one layer; no
  intercept leaf without ``fit_intercept``), initialised at zero;
* the **multi-layer perceptron** ``a_0 = X``, ``a_{l+1} = act(a_l @ W_l + b_l)``
  for the hidden layers, ``raw = a_{L-1} @ W_{L-1} + b_{L-1}``, initialised
  as scikit-learn's ``MLPRegressor`` / ``MLPClassifier`` (Glorot uniform),
  with the gradient by backpropagation:
  ``delta_{L-1} = dloss/draw``, ``grad W_l = a_l.T @ delta_l``,
  ``grad b_l = sum(delta_l)``, ``delta_{l-1} = (delta_l @ W_l.T) * act'(a_l)``.

Everything is written against the array API of the inputs (NumPy, CuPy,
``array_api_strict``...): these functions are the reference. On NumPy
arrays, :func:`._kernels.compiled_mlp` computes the same MLP (to rounding)
with compiled passes over the hidden activations.
"""

from functools import partial
from typing import Callable, NamedTuple, Optional

import numpy as np

from ._array_api import namespace
from ._tree import Layer

__all__ = [
    "ACTIVATIONS",
    "Model",
    "init_linear",
    "init_mlp",
    "linear_model",
    "mlp_model",
]


class Model(NamedTuple):
    """A model: its name and two pure functions of the parameter tree."""

    name: str
    forward: Callable
    loss_and_grad: Callable
    #: The hidden activation of an MLP (None for the linear model): what a
    #: compiled variant of the model (:func:`._kernels.compiled_mlp`) reads.
    activation: Optional[str] = None


def _weighted(loss_fn, Y, raw, sample_weight):
    """Per-sample losses and ``dloss/draw``, both times the sample weights."""
    loss, dz = loss_fn(Y, raw)
    if sample_weight is not None:
        loss = loss * sample_weight
        dz = dz * sample_weight[:, None]
    return loss, dz


def _affine(a, layer):
    z = a @ layer.coef
    if layer.intercept is not None:
        z += layer.intercept  # in place: one array of n values fewer
    return z


def _layer_gradient(xp, a, delta, layer, scale):
    g_coef = a.T @ delta
    g_coef *= scale
    if layer.intercept is None:
        return Layer(g_coef, None)
    g_intercept = xp.sum(delta, axis=0)
    g_intercept *= scale
    return Layer(g_coef, g_intercept)


# ------------------------------------------------------------------ linear


def init_linear(n_features, n_outputs, *, fit_intercept, xp, dtype, device):
    """Zero parameters of a linear model: ``(Layer(coef, intercept),)``."""
    coef = xp.zeros((n_features, n_outputs), dtype=dtype, device=device)
    intercept = xp.zeros((n_outputs,), dtype=dtype, device=device) if fit_intercept else None
    return (Layer(coef, intercept),)


def linear_forward(params, X):
    """``X @ coef + intercept``."""
    return _affine(X, params[0])


def linear_loss_and_grad(params, X, Y, sample_weight, loss_fn, scale):
    """Per-sample weighted losses and ``scale * (X.T @ dz, sum(dz))``."""
    (layer,) = params
    loss, dz = _weighted(loss_fn, Y, _affine(X, layer), sample_weight)
    return loss, (_layer_gradient(namespace(X), X, dz, layer, scale),)


def linear_model():
    """The linear model ``raw = X @ coef + intercept``.

    Returns
    -------
    Model
    """
    return Model("linear", linear_forward, linear_loss_and_grad)


# --------------------------------------------------------------------- MLP


def _relu(xp, z):
    return xp.maximum(z, 0.0)


def _relu_backward(xp, delta, a):
    # sign(a) is 1 where a > 0 and 0 where a == 0 (a = max(z, 0) >= 0): a
    # product, several times faster than a data-dependent where().
    delta *= xp.sign(a)
    return delta


def _tanh(xp, z):
    return xp.tanh(z)


def _tanh_backward(xp, delta, a):
    derivative = a * a
    derivative *= -1.0
    derivative += 1.0
    delta *= derivative
    return delta


def _logistic(xp, z):
    return 1.0 / (1.0 + xp.exp(-z))


def _logistic_backward(xp, delta, a):
    derivative = 1.0 - a
    derivative *= a
    delta *= derivative
    return delta


def _identity(xp, z):
    return z


def _identity_backward(xp, delta, a):
    return delta


#: Hidden-layer activations: ``name -> (act(z), backward(delta, a) = delta * act'(z))``,
#: the derivative written in terms of the activation ``a = act(z)``, as in
#: scikit-learn's ``neural_network._base``. ``backward`` may overwrite
#: ``delta``, a fresh array of the backward pass.
ACTIVATIONS = {
    "relu": (_relu, _relu_backward),
    "tanh": (_tanh, _tanh_backward),
    "logistic": (_logistic, _logistic_backward),
    "identity": (_identity, _identity_backward),
}


def init_mlp(layer_units, activation, random_state, *, xp, dtype, device):
    """Glorot-uniform weights, drawn exactly as scikit-learn's MLP draws them.

    For each layer in turn, the coefficients and then the intercepts are
    drawn from ``random_state.uniform(-bound, bound, ...)`` in float64, with
    ``bound = sqrt(6 / (fan_in + fan_out))``, or ``sqrt(2 / ...)`` for the
    logistic activation (the output layer included), then cast to ``dtype``:
    with the same ``random_state``, the weights of ``MLPRegressor`` /
    ``MLPClassifier`` bit for bit.

    Parameters
    ----------
    layer_units : sequence of int
        ``[n_features, *hidden_layer_sizes, n_outputs]``.
    activation : {"relu", "tanh", "logistic", "identity"}
        The hidden activation (it sets the bound).
    random_state : numpy.random.RandomState
        The generator; it advances by the number of parameters.
    xp, dtype, device
        Where the parameters live.

    Returns
    -------
    tuple of Layer
    """
    factor = 2.0 if activation == "logistic" else 6.0
    layers = []
    for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
        bound = np.sqrt(factor / (fan_in + fan_out))
        coef = random_state.uniform(-bound, bound, (fan_in, fan_out))
        intercept = random_state.uniform(-bound, bound, fan_out)
        layers.append(Layer(
            xp.asarray(coef.astype(dtype_name(dtype), copy=False), device=device),
            xp.asarray(intercept.astype(dtype_name(dtype), copy=False), device=device),
        ))
    return tuple(layers)


def dtype_name(dtype):
    """The NumPy name of a floating dtype of any namespace ("float32" or "float64")."""
    return "float32" if "32" in str(dtype) else "float64"


def _backpropagated(xp, delta, coef):
    """``delta @ coef.T``; for one output, the outer product as a broadcast product.

    With one output the product sums a single term: the broadcast gives the
    same numbers, without a matrix product of inner size 1 (several times
    slower in BLAS).
    """
    if coef.shape[1] == 1:
        return delta * xp.reshape(coef, (1, -1))
    return delta @ coef.T


def mlp_forward(params, X, *, activation):
    """The raw output of the network (before the output link)."""
    xp = namespace(X)
    act = ACTIVATIONS[activation][0]
    a = X
    for layer in params[:-1]:
        a = act(xp, _affine(a, layer))
    return _affine(a, params[-1])


def mlp_loss_and_grad(params, X, Y, sample_weight, loss_fn, scale, *, activation):
    """Per-sample weighted losses and the gradient by backpropagation."""
    xp = namespace(X)
    act, backward = ACTIVATIONS[activation]
    activations = [X]
    for layer in params[:-1]:
        activations.append(act(xp, _affine(activations[-1], layer)))
    loss, delta = _weighted(loss_fn, Y, _affine(activations[-1], params[-1]), sample_weight)
    grads = [None] * len(params)
    for i in range(len(params) - 1, -1, -1):
        grads[i] = _layer_gradient(xp, activations[i], delta, params[i], scale)
        if i > 0:
            delta = backward(xp, _backpropagated(xp, delta, params[i].coef), activations[i])
    return loss, tuple(grads)


def mlp_model(activation):
    """The multi-layer perceptron with the given hidden activation.

    Parameters
    ----------
    activation : {"relu", "tanh", "logistic", "identity"}
        Activation of the hidden layers; the output layer is affine.

    Returns
    -------
    Model
    """
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"Unknown activation {activation!r}; valid activations are {tuple(ACTIVATIONS)}."
        )
    return Model(
        "mlp",
        partial(mlp_forward, activation=activation),
        partial(mlp_loss_and_grad, activation=activation),
        activation,
    )
