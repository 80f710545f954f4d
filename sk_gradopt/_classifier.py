"""GradientClassifier: a linear classifier fitted by a gradient optimizer."""

from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils._param_validation import StrOptions

from ._docstrings import (CLASS_VAL, FIT_INTERCEPT, FITTED_ATTRIBUTES, OPTIMIZER_PARAMETERS, X_VAL,
                          with_sections)
from ._linear import BaseLinearGradientEstimator
from ._losses import CLASSIFICATION_LOSSES
from ._tasks import ClassificationMixin


class GradientClassifier(ClassificationMixin, ClassifierMixin, BaseLinearGradientEstimator):
    __doc__ = f"""Linear classifier fitted by a gradient optimizer you choose and tune.

    Minimises the sample-weighted mean of the per-sample loss plus
    ``alpha * R(coef)``. ``loss="log_loss"`` is logistic regression for two
    classes and multinomial (softmax) regression for more; with full-batch
    ``"gd"`` and ``penalty="l2"`` it converges to
    ``LogisticRegression(C=1 / (alpha * n_samples))``. ``"hinge"`` and
    ``"modified_huber"`` fit one-vs-rest columns for more than two classes,
    all in one loop.

    Parameters
    ----------
    loss : {{"log_loss", "hinge", "modified_huber"}}, default="log_loss"
        The per-sample loss, as in ``SGDClassifier``.

    {OPTIMIZER_PARAMETERS.replace(" STRATIFIED", " (stratified by class)")}

    {FIT_INTERCEPT}

    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into the sample weights.
        ``"balanced"`` uses ``n_samples / (n_classes * np.bincount(y))``
        (not supported by ``partial_fit``).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    coef_ : array of shape (1, n_features) or (n_classes, n_features)
        Coefficients (one row for two classes), in the namespace and on the
        device of the training data.

    intercept_ : array of shape (1,) or (n_classes,)
        Intercepts.

    {FITTED_ATTRIBUTES}

    See Also
    --------
    GradientRegressor : The regressor fitted by the same loop.
    sklearn.linear_model.SGDClassifier : Per-sample SGD in Cython.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sk_gradopt import GradientClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = GradientClassifier(optimizer="adam", learning_rate=0.05, random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.95
    True
    """

    _parameter_constraints: dict = {
        **BaseLinearGradientEstimator._parameter_constraints,
        "loss": [StrOptions(set(CLASSIFICATION_LOSSES))],
        "class_weight": [StrOptions({"balanced"}), dict, None],
    }

    def __init__(
        self,
        loss="log_loss",
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
        fit_intercept=True,
        shuffle=True,
        random_state=None,
        verbose=0,
        warm_start=False,
        backend="auto",
        class_weight=None,
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
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight

    @_fit_context(prefer_skip_nested_validation=True)
    @with_sections(X_VAL=X_VAL, CLASS_VAL=CLASS_VAL)
    def fit(self, X, y, sample_weight=None, coef_init=None, intercept_init=None, *,
            X_val=None, y_val=None, sample_weight_val=None):
        """Fit the model with the chosen optimizer for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Training data (NumPy, or any array-API namespace with
            ``sklearn.set_config(array_api_dispatch=True)``, or a Dask array
            chunked by rows: see "Data bigger than one machine" in the docs).
        y : array of shape (n_samples,)
            Class labels.
        sample_weight : array of shape (n_samples,), default=None
            Non-negative weights of the samples.
        coef_init : array of shape (n_classes, n_features), default=None
            Initial coefficients (one row for two classes; zeros by default).
        intercept_init : array of shape (n_classes,), default=None
            Initial intercepts (zeros by default).
        {X_VAL}
        {CLASS_VAL}

        Returns
        -------
        self : GradientClassifier
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, (coef_init, intercept_init),
                         validation=(X_val, y_val, sample_weight_val))

    def decision_function(self, X):
        """Signed distance to the decision boundary (raw linear scores).

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        scores : array of shape (n_samples,) or (n_samples, n_classes)
            For two classes, > 0 means ``classes_[1]``.
        """
        raw = self._raw_output(X, "decision_function")
        return raw[:, 0] if raw.shape[1] == 1 else raw

