"""GradientRegressor: a linear model fitted by a gradient optimizer."""

from numbers import Real

from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from ._docstrings import (FIT_INTERCEPT, FITTED_ATTRIBUTES, OPTIMIZER_PARAMETERS, X_VAL,
                          with_sections)
from ._linear import BaseLinearGradientEstimator
from ._losses import REGRESSION_LOSSES
from ._tasks import RegressionMixin


class GradientRegressor(RegressionMixin, RegressorMixin, BaseLinearGradientEstimator):
    __doc__ = f"""Linear regression fitted by a gradient optimizer you choose and tune.

    Minimises the sample-weighted mean of the per-sample loss plus
    ``alpha * R(coef)``. With ``loss="squared_error"`` (``(y - y_hat)**2 / 2``)
    and full-batch ``"gd"``, ``penalty="l2"`` converges to
    ``Ridge(alpha=alpha * n_samples)`` and ``penalty="l1"`` to
    ``Lasso(alpha=alpha)``. Multi-output ``y`` (2-D) is supported; the loss
    sums over the outputs.

    Parameters
    ----------
    loss : {{"squared_error", "huber", "epsilon_insensitive"}}, default="squared_error"
        The per-sample loss, as in ``SGDRegressor``.

    epsilon : float, default=0.1
        Threshold of ``"huber"`` and ``"epsilon_insensitive"``.

    {OPTIMIZER_PARAMETERS.replace(" STRATIFIED", "")}

    {FIT_INTERCEPT}

    Attributes
    ----------
    coef_ : array of shape (n_features,) or (n_targets, n_features)
        Coefficients, in the namespace and on the device of the training data.

    intercept_ : array of shape (1,) or (n_targets,)
        Intercept.

    {FITTED_ATTRIBUTES}

    See Also
    --------
    GradientClassifier : The classifier fitted by the same loop.
    sklearn.linear_model.SGDRegressor : Per-sample SGD in Cython.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sk_gradopt import GradientRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    >>> reg = GradientRegressor(optimizer="adam", learning_rate=1.0, random_state=0)
    >>> reg.fit(X, y).score(X, y) > 0.99
    True
    """

    _parameter_constraints: dict = {
        **BaseLinearGradientEstimator._parameter_constraints,
        "loss": [StrOptions(set(REGRESSION_LOSSES))],
        "epsilon": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        loss="squared_error",
        *,
        optimizer="adam",
        learning_rate=0.01,
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
        max_iter=1000,
        max_fun=15000,
        tol=1e-4,
        n_iter_no_change=5,
        early_stopping=False,
        validation_fraction=0.1,
        average=False,
        scoring=None,
        penalty="l2",
        alpha=0.0001,
        l1_ratio=0.15,
        epsilon=0.1,
        fit_intercept=True,
        shuffle=True,
        random_state=None,
        verbose=0,
        warm_start=False,
        backend="auto",
    ):
        super().__init__(
            loss, optimizer=optimizer, learning_rate=learning_rate,
            schedule=schedule, power_t=power_t, momentum=momentum,
            nesterov=nesterov, rho=rho, beta_1=beta_1, beta_2=beta_2, eps=eps,
            batch_size=batch_size, max_iter=max_iter, tol=tol,
            n_iter_no_change=n_iter_no_change, early_stopping=early_stopping,
            validation_fraction=validation_fraction, penalty=penalty,
            alpha=alpha, l1_ratio=l1_ratio,
            shuffle=shuffle, random_state=random_state, verbose=verbose,
            warm_start=warm_start, backend=backend, warmup_steps=warmup_steps,
            max_grad_norm=max_grad_norm, weight_decay=weight_decay, average=average,
            scoring=scoring, amsgrad=amsgrad, momentum_decay=momentum_decay, max_fun=max_fun,
        )
        self.epsilon = epsilon
        self.fit_intercept = fit_intercept

    @_fit_context(prefer_skip_nested_validation=True)
    @with_sections(X_VAL=X_VAL)
    def fit(self, X, y, sample_weight=None, coef_init=None, intercept_init=None, *,
            X_val=None, y_val=None, sample_weight_val=None):
        """Fit the model with the chosen optimizer for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Training data (NumPy, or any array-API namespace with
            ``sklearn.set_config(array_api_dispatch=True)``, or a Dask array
            chunked by rows: see "Data bigger than one machine" in the docs).
        y : array of shape (n_samples,) or (n_samples, n_targets)
            Target values.
        sample_weight : array of shape (n_samples,), default=None
            Non-negative weights of the samples.
        coef_init : array of shape (n_features,) or (n_targets, n_features), default=None
            Initial coefficients (zeros by default).
        intercept_init : array of shape (1,) or (n_targets,), default=None
            Initial intercept (zero by default).
        {X_VAL}
        y_val : array of shape (n_val,) or (n_val, n_targets), default=None
            The targets of ``X_val``.
        sample_weight_val : array of shape (n_val,), default=None
            Non-negative weights of the validation samples.

        Returns
        -------
        self : GradientRegressor
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, (coef_init, intercept_init),
                         validation=(X_val, y_val, sample_weight_val))

    def _params_attributes(self, params):
        attributes = super()._params_attributes(params)
        if self._single_output:  # coef_ of shape (n_features,), intercept_ (1,)
            attributes["coef_"] = attributes["coef_"][0, :]
        return attributes
