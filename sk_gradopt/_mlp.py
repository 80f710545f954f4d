"""GradientMLPRegressor and GradientMLPClassifier: multi-layer perceptrons fitted by the same optimizers."""

import operator
import re
from numbers import Integral, Real

import numpy as np

from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseGradientEstimator
from ._docstrings import CLASS_VAL, FITTED_ATTRIBUTES, OPTIMIZER_PARAMETERS, X_VAL, with_sections
from ._losses import CLASSIFICATION_LOSSES, REGRESSION_LOSSES
from ._models import ACTIVATIONS, init_mlp, mlp_model
from ._reprs import plain_repr
from ._tasks import ClassificationMixin, RegressionMixin
from ._tree import Layer


def _with_default(text, name, value):
    """``text`` with the default of parameter ``name`` set to ``value``."""
    text, count = re.subn(rf"(\n\s*{name} : [^\n]*default=)[^\n,]+", rf"\g<1>{value}", text)
    assert count == 1, name
    return text


_MLP_PARAMETERS = """\
hidden_layer_sizes : array-like of int, int or str, default=(100,)
        The number of units of each hidden layer: ``(64, 32)`` is two hidden
        layers. The model structure is a hyperparameter like the others. A
        string of comma-separated sizes (``"64,32"``) is read the same way,
        for searchers whose spaces hold no tuples (scikit-optimize).

    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
        Activation of the hidden layers. The output layer is affine: its raw
        output goes into the loss (for classifiers, the logistic or softmax
        link of ``predict_proba`` with ``loss="log_loss"``)."""

_OPTIMIZER_PARAMETERS = _with_default(
    _with_default(
        _with_default(OPTIMIZER_PARAMETERS, "learning_rate", "0.001"), "max_iter", "200"
    ),
    "n_iter_no_change", "10",
).replace("zeros in ``coef_``. The intercept is not penalised.",
          "zeros in ``coefs_``. It acts on every weight matrix, never on the "
          "intercepts.")

_MLP_ATTRIBUTES = """\
coefs_ : list of arrays of shape (fan_in, fan_out)
        The weight matrix of each layer, in the namespace and on the device of
        the training data.

    intercepts_ : list of arrays of shape (fan_out,)
        The intercepts of each layer.

    n_layers_ : int
        Number of layers, the input and output layers included.

    n_outputs_ : int
        Number of outputs."""


class BaseGradientMLP(BaseGradientEstimator):
    """The multi-layer perceptron under the shared training loop."""

    _parameter_constraints: dict = {
        **BaseGradientEstimator._parameter_constraints,
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left"), str],
        "activation": [StrOptions(set(ACTIVATIONS))],
    }
    _array_attributes = ("coefs_", "intercepts_")

    def _make_model(self):
        return mlp_model(self.activation)

    def _hidden_layer_sizes(self):
        """``hidden_layer_sizes`` as a list of ints, or a ValueError that shows it.

        Sizes are ints or NumPy ints (0-d integer arrays too, as scikit-learn's
        MLP takes them), at least 1; bools are refused: ``(True,)`` is no
        layer size. ``"64,32"`` is read as ``(64, 32)``.
        """
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, str):  # "64,32": a searcher's (or a command line's) spelling
            try:
                sizes = [int(size) for size in sizes.split(",")]
            except ValueError:
                sizes = [sizes]
        sizes = [sizes] if np.ndim(sizes) == 0 else list(sizes)
        units = [_layer_size(size) for size in sizes]
        if not units or None in units:
            raise ValueError(
                f"hidden_layer_sizes must be positive integers, one per hidden layer; got "
                f"{plain_repr(self.hidden_layer_sizes)}. For example (100,), (64, 32) or "
                "\"64,32\"."
            )
        return units

    def _params_to_continue(self, xp):
        """The fitted network, if the parameters still describe it (else a ValueError).

        A ``partial_fit`` after ``set_params`` changed ``hidden_layer_sizes``
        or ``activation`` would go on training the old network while
        ``get_params`` reports the new one.
        """
        fitted = {"hidden_layer_sizes": tuple(c.shape[1] for c in self.coefs_[:-1]),
                  "activation": getattr(self, "_fitted_activation", self.activation)}
        now = {"hidden_layer_sizes": tuple(self._hidden_layer_sizes()),
               "activation": self.activation}
        changed = [name for name in fitted if fitted[name] != now[name]]
        if changed:
            raise ValueError(
                "partial_fit cannot continue: the network was fitted with "
                + ", ".join(f"{name}={fitted[name]!r}" for name in changed)
                + ", but set_params has set "
                + ", ".join(f"{name}={plain_repr(getattr(self, name))}" for name in changed)
                + " since. Call fit to train the new network, or set the fitted values back "
                "to continue this one."
            )
        return super()._params_to_continue(xp)

    def _initial_params(self, X, n_outputs, init, xp, device):
        """Glorot-uniform weights drawn as scikit-learn's MLP draws them, or ``warm_start``."""
        layer_units = [X.shape[1], *self._hidden_layer_sizes(), n_outputs]
        if self.warm_start and hasattr(self, "coefs_"):
            params = self._fitted_raw_params(xp)
            shapes = [tuple(layer.coef.shape) for layer in params]
            if shapes == list(zip(layer_units[:-1], layer_units[1:])):
                return tuple(
                    Layer(xp.astype(layer.coef, X.dtype), xp.astype(layer.intercept, X.dtype))
                    for layer in params
                ), False
        params = init_mlp(layer_units, self.activation, self._rng, xp=xp, dtype=X.dtype,
                          device=device)
        return params, False

    def _params_attributes(self, params):
        return {
            "coefs_": [layer.coef for layer in params],
            "intercepts_": [layer.intercept for layer in params],
            "n_layers_": len(params) + 1,
            "n_outputs_": params[-1].coef.shape[1],
            "out_activation_": self._out_activation(params[-1].coef.shape[1]),
            "_fitted_activation": self.activation,  # see _params_to_continue
        }

    def _params_from_attributes(self, xp):
        return tuple(Layer(c, b) for c, b in zip(self.coefs_, self.intercepts_))

    def _fitted_n_outputs(self):
        return self.n_outputs_


def _layer_size(size):
    """``size`` as an int >= 1, or None: ints and NumPy ints, never bools or floats."""
    if isinstance(size, bool):
        return None
    try:
        units = operator.index(size)  # refuses floats, NumPy bools and 1-d arrays
    except TypeError:
        return None
    return units if units >= 1 else None


def _mlp_init(self, loss, hidden_layer_sizes, activation, kwargs):
    BaseGradientEstimator.__init__(self, loss, **kwargs)
    self.hidden_layer_sizes = hidden_layer_sizes
    self.activation = activation


class GradientMLPRegressor(RegressionMixin, RegressorMixin, BaseGradientMLP):
    __doc__ = f"""Multi-layer perceptron regressor fitted by a gradient optimizer you choose and tune.

    The network ``a_0 = X``, ``a_(l+1) = activation(a_l @ coefs_[l] +
    intercepts_[l])``, with an affine output layer, minimises the
    sample-weighted mean of the per-sample loss plus ``alpha * R`` over the
    weight matrices. The initial weights are drawn exactly as
    ``MLPRegressor`` draws them. scikit-learn's ``MLPRegressor(alpha=a)``
    penalises ``a / batch_size`` per batch: ``alpha=a / batch_size`` here is
    the same objective.

    Parameters
    ----------
    loss : {{"squared_error", "huber", "epsilon_insensitive"}}, default="squared_error"
        The per-sample loss.

    epsilon : float, default=0.1
        Threshold of ``"huber"`` and ``"epsilon_insensitive"``.

    {_MLP_PARAMETERS}

    {_OPTIMIZER_PARAMETERS.replace(" STRATIFIED", "")}

    Attributes
    ----------
    {_MLP_ATTRIBUTES}

    out_activation_ : str
        ``"identity"``.

    {FITTED_ATTRIBUTES}

    See Also
    --------
    GradientMLPClassifier : The classifier fitted by the same loop.
    GradientRegressor : The linear model.
    sklearn.neural_network.MLPRegressor : scikit-learn's MLP (SGD and Adam only).

    Examples
    --------
    >>> from sklearn.datasets import make_friedman1
    >>> from sk_gradopt import GradientMLPRegressor
    >>> X, y = make_friedman1(n_samples=300, random_state=0)
    >>> reg = GradientMLPRegressor(hidden_layer_sizes=(32, 32), learning_rate=0.01,
    ...                            batch_size=16, random_state=0)
    >>> reg.fit(X, y).score(X, y) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **BaseGradientMLP._parameter_constraints,
        "loss": [StrOptions(set(REGRESSION_LOSSES))],
        "epsilon": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        loss="squared_error",
        *,
        hidden_layer_sizes=(100,),
        activation="relu",
        optimizer="adam",
        learning_rate=0.001,
        schedule="constant",
        power_t=0.25,
        warmup_steps=0,
        momentum=0.9,
        nesterov=False,
        rho=0.99,
        beta_1=0.9,
        beta_2=0.999,
        eps=1e-8,
        amsgrad=False,
        momentum_decay=4e-3,
        max_grad_norm=None,
        weight_decay=0.0,
        batch_size="auto",
        max_iter=200,
        max_fun=15000,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        average=False,
        scoring=None,
        penalty="l2",
        alpha=0.0001,
        l1_ratio=0.15,
        epsilon=0.1,
        shuffle=True,
        random_state=None,
        verbose=0,
        warm_start=False,
        backend="auto",
    ):
        _mlp_init(self, loss, hidden_layer_sizes, activation, dict(
            optimizer=optimizer, learning_rate=learning_rate, schedule=schedule,
            power_t=power_t, momentum=momentum, nesterov=nesterov, rho=rho,
            beta_1=beta_1, beta_2=beta_2, eps=eps, batch_size=batch_size,
            max_iter=max_iter, tol=tol, n_iter_no_change=n_iter_no_change,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            penalty=penalty, alpha=alpha, l1_ratio=l1_ratio, shuffle=shuffle,
            random_state=random_state, verbose=verbose, warm_start=warm_start,
            backend=backend, warmup_steps=warmup_steps, max_grad_norm=max_grad_norm,
            weight_decay=weight_decay, average=average, scoring=scoring,
            amsgrad=amsgrad, momentum_decay=momentum_decay, max_fun=max_fun,
        ))
        self.epsilon = epsilon

    def _out_activation(self, n_outputs):
        return "identity"

    @_fit_context(prefer_skip_nested_validation=True)
    @with_sections(X_VAL=X_VAL)
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None,
            sample_weight_val=None):
        """Fit the network with the chosen optimizer for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Training data (NumPy, or any array-API namespace with
            ``sklearn.set_config(array_api_dispatch=True)``).
        y : array of shape (n_samples,) or (n_samples, n_targets)
            Target values.
        sample_weight : array of shape (n_samples,), default=None
            Non-negative weights of the samples.
        {X_VAL}
        y_val : array of shape (n_val,) or (n_val, n_targets), default=None
            The targets of ``X_val``.
        sample_weight_val : array of shape (n_val,), default=None
            Non-negative weights of the validation samples.

        Returns
        -------
        self : GradientMLPRegressor
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, validation=(X_val, y_val, sample_weight_val))



class GradientMLPClassifier(ClassificationMixin, ClassifierMixin, BaseGradientMLP):
    __doc__ = f"""Multi-layer perceptron classifier fitted by a gradient optimizer you choose and tune.

    The network of :class:`GradientMLPRegressor` with, as in
    ``MLPClassifier``, one output unit for two classes (logistic) and one per
    class for more (softmax, with ``loss="log_loss"``; one-vs-rest columns
    for ``"hinge"`` and ``"modified_huber"``). The initial weights are drawn
    exactly as ``MLPClassifier`` draws them.

    Parameters
    ----------
    loss : {{"log_loss", "hinge", "modified_huber"}}, default="log_loss"
        The per-sample loss.

    {_MLP_PARAMETERS}

    {_OPTIMIZER_PARAMETERS.replace(" STRATIFIED", " (stratified by class)")}

    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into the sample weights.
        ``"balanced"`` uses ``n_samples / (n_classes * np.bincount(y))``
        (not supported by ``partial_fit``).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    {_MLP_ATTRIBUTES}

    out_activation_ : str
        ``"logistic"`` (two classes) or ``"softmax"`` with ``loss="log_loss"``;
        ``"identity"`` (raw scores) with the other losses.

    {FITTED_ATTRIBUTES}

    See Also
    --------
    GradientMLPRegressor : The regressor fitted by the same loop.
    GradientClassifier : The linear model.
    sklearn.neural_network.MLPClassifier : scikit-learn's MLP (SGD and Adam only).

    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> from sk_gradopt import GradientMLPClassifier
    >>> X, y = make_moons(n_samples=300, noise=0.1, random_state=0)
    >>> clf = GradientMLPClassifier(hidden_layer_sizes=(32,), learning_rate=0.01,
    ...                             max_iter=300, random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.95
    True
    """

    _parameter_constraints: dict = {
        **BaseGradientMLP._parameter_constraints,
        "loss": [StrOptions(set(CLASSIFICATION_LOSSES))],
        "class_weight": [StrOptions({"balanced"}), dict, None],
    }

    def __init__(
        self,
        loss="log_loss",
        *,
        hidden_layer_sizes=(100,),
        activation="relu",
        optimizer="adam",
        learning_rate=0.001,
        schedule="constant",
        power_t=0.25,
        warmup_steps=0,
        momentum=0.9,
        nesterov=False,
        rho=0.99,
        beta_1=0.9,
        beta_2=0.999,
        eps=1e-8,
        amsgrad=False,
        momentum_decay=4e-3,
        max_grad_norm=None,
        weight_decay=0.0,
        batch_size="auto",
        max_iter=200,
        max_fun=15000,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        average=False,
        scoring=None,
        penalty="l2",
        alpha=0.0001,
        l1_ratio=0.15,
        shuffle=True,
        random_state=None,
        verbose=0,
        warm_start=False,
        backend="auto",
        class_weight=None,
    ):
        _mlp_init(self, loss, hidden_layer_sizes, activation, dict(
            optimizer=optimizer, learning_rate=learning_rate, schedule=schedule,
            power_t=power_t, momentum=momentum, nesterov=nesterov, rho=rho,
            beta_1=beta_1, beta_2=beta_2, eps=eps, batch_size=batch_size,
            max_iter=max_iter, tol=tol, n_iter_no_change=n_iter_no_change,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            penalty=penalty, alpha=alpha, l1_ratio=l1_ratio, shuffle=shuffle,
            random_state=random_state, verbose=verbose, warm_start=warm_start,
            backend=backend, warmup_steps=warmup_steps, max_grad_norm=max_grad_norm,
            weight_decay=weight_decay, average=average, scoring=scoring,
            amsgrad=amsgrad, momentum_decay=momentum_decay, max_fun=max_fun,
        ))
        self.class_weight = class_weight

    def _out_activation(self, n_outputs):
        if self.loss != "log_loss":
            return "identity"
        return "logistic" if n_outputs == 1 else "softmax"

    @_fit_context(prefer_skip_nested_validation=True)
    @with_sections(X_VAL=X_VAL, CLASS_VAL=CLASS_VAL)
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None,
            sample_weight_val=None):
        """Fit the network with the chosen optimizer for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Training data (NumPy, or any array-API namespace with
            ``sklearn.set_config(array_api_dispatch=True)``).
        y : array of shape (n_samples,)
            Class labels.
        sample_weight : array of shape (n_samples,), default=None
            Non-negative weights of the samples.
        {X_VAL}
        {CLASS_VAL}

        Returns
        -------
        self : GradientMLPClassifier
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, validation=(X_val, y_val, sample_weight_val))

