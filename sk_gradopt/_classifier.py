"""GradientClassifier: a linear classifier fitted by a gradient optimizer."""

import numpy as np
from array_api_compat import array_namespace
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets

from ._array_api import (
    get_namespace_and_device,
    is_dask_collection,
    to_numpy,
)
from ._docstrings import FIT_INTERCEPT, FITTED_ATTRIBUTES, OPTIMIZER_PARAMETERS
from ._linear import BaseLinearGradientEstimator
from ._losses import CLASSIFICATION_LOSSES, get_loss
from ._reprs import plain_repr


def _has_proba(estimator):
    if estimator.loss not in ("log_loss", "modified_huber"):
        raise AttributeError(
            f"probability estimates are not available for loss={estimator.loss!r}; "
            "use loss='log_loss' or loss='modified_huber'."
        )
    return True


class ClassificationMixin:
    """The classification side of the API, for any model: labels, losses, predictions."""

    _y_validation = {"multi_output": False, "y_numeric": False}
    _y_on_device = False

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Run exactly one epoch over ``(X, y)``, keeping the optimizer state.

        ``early_stopping`` and the stopping rule are ignored. Calling it k
        times equals ``fit`` with ``max_iter=k`` and ``tol=None``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Training data.
        y : array of shape (n_samples,)
            Class labels.
        classes : array of shape (n_classes,), default=None
            All the classes; required on the first call, ignored later.
        sample_weight : array of shape (n_samples,), default=None
            Non-negative weights of the samples.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, partial=True, classes=classes)

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : array of shape (n_samples,)
            Predicted labels, from ``classes_``.
        """
        raw = self._raw_output(X, "predict")
        if is_dask_collection(raw):  # lazy, blockwise
            from ._dask import labels

            return labels(raw, self.classes_)
        xp, _, device = get_namespace_and_device(raw)
        if raw.shape[1] == 1:
            index = xp.astype(raw[:, 0] > 0, xp.int64)
        else:
            index = xp.argmax(raw, axis=1)
        if isinstance(raw, np.ndarray) or self.classes_.dtype.kind not in "iufb":
            return self.classes_[to_numpy(index)]
        return xp.take(xp.asarray(self.classes_, device=device), index, axis=0)

    @available_if(_has_proba)
    def predict_proba(self, X):
        """Class probabilities (``log_loss`` and ``modified_huber`` only).

        ``log_loss`` gives the logistic / softmax probabilities;
        ``modified_huber`` gives ``(clip(score, -1, 1) + 1) / 2``, normalised
        over the one-vs-rest columns, as ``SGDClassifier`` does.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : array of shape (n_samples, n_classes)
            Probabilities of ``classes_`` in order.
        """
        return self._proba(X, "predict_proba")

    def _proba(self, X, method):
        raw = self._raw_output(X, method)
        xp = array_namespace(raw)
        if self.loss == "log_loss" and raw.shape[1] > 1:
            shifted = raw - xp.max(raw, axis=1, keepdims=True)
            exp = xp.exp(shifted)
            return exp / xp.sum(exp, axis=1, keepdims=True)
        if self.loss == "log_loss":
            positive = xp.exp(-xp.logaddexp(xp.zeros_like(raw), -raw))
        else:
            positive = (xp.clip(raw, -1.0, 1.0) + 1.0) / 2.0
        if raw.shape[1] == 1:
            return xp.concat([1.0 - positive, positive], axis=1)
        total = xp.sum(positive, axis=1, keepdims=True)
        uniform = xp.full_like(positive, 1.0 / positive.shape[1])
        return xp.where(total > 0, positive / xp.where(total > 0, total, 1.0), uniform)

    @available_if(_has_proba)
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_proba : array of shape (n_samples, n_classes)
            Log-probabilities of ``classes_`` in order.
        """
        proba = self._proba(X, "predict_log_proba")
        return array_namespace(proba).log(proba)

    def score(self, X, y, sample_weight=None):
        """Mean accuracy (accuracy) of the predictions on ``(X, y)``.

        Computed where ``X`` lives (NumPy or CuPy), as sklearn's mixin does.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Test samples.
        y : array of shape (n_samples,)
            True labels.
        sample_weight : array of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
        """
        return self._score_where_X_lives(super().score, X, y, sample_weight, "accuracy")

    # ---------------------------------------------------- subclass hooks

    def _encode_targets(self, X, y, sample_weight, *, first_call, partial, classes):
        if is_dask_collection(y):  # classes by da.unique, labels encoded blockwise
            from ._dask import encode_classes

            return encode_classes(self, X, y, sample_weight, first_call=first_call,
                                  partial=partial, classes=classes)
        xp, _, device = get_namespace_and_device(X)
        y = to_numpy(y)
        if first_call and partial and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit: "
                "all the class labels, e.g. classes=np.unique(y_all)."
            )
        if first_call and not partial:
            # One pass over y: the classes and every label's index at once.
            encoder = LabelEncoder()
            try:
                y_index = encoder.fit_transform(y)
            except TypeError:  # labels of mixed types: sklearn's message
                check_classification_targets(y)
                raise
            self.classes_ = encoder.classes_
        elif first_call:
            self.classes_ = LabelEncoder().fit(to_numpy(classes)).classes_
        elif classes is not None and not np.array_equal(np.unique(to_numpy(classes)), self.classes_):
            raise ValueError(
                f"classes={to_numpy(classes).tolist()} is not the same as on the first "
                f"call to partial_fit, {self.classes_.tolist()}. Pass the same classes, "
                "or none after the first call."
            )
        if first_call:
            # The type of the targets (e.g. continuous values) shows in the classes.
            check_classification_targets(self.classes_)
            if self.classes_.shape[0] < 2:
                raise ValueError(
                    "The number of classes has to be greater than one; got "
                    f"{self.classes_.shape[0]} class: {plain_repr(self.classes_[0])}. "
                    f"{type(self).__name__} needs samples of at least 2 classes."
                )
        if partial:
            y_index = self._class_index(y)
        n_classes = self.classes_.shape[0]

        if self.class_weight is not None:
            if partial and self.class_weight == "balanced":
                raise ValueError(
                    "class_weight='balanced' is not supported by partial_fit: one "
                    "batch's class frequencies are not the data's. Pass a dict, "
                    "e.g. from sklearn.utils.class_weight.compute_class_weight."
                )
            if self.class_weight == "balanced":  # on the indices: integers sort fast
                weights = compute_class_weight("balanced", classes=np.arange(n_classes),
                                               y=y_index)
            else:
                weights = compute_class_weight(self.class_weight, classes=self.classes_, y=y)
            if not (np.all(np.isfinite(weights)) and np.all(weights >= 0)):
                raise ValueError(
                    f"class_weight must give every class a finite, non-negative weight; "
                    f"got {dict(zip(self.classes_.tolist(), weights.tolist()))}."
                )
            weights = xp.asarray(weights[y_index], dtype=X.dtype, device=device)
            sample_weight = weights if sample_weight is None else sample_weight * weights

        if n_classes == 2:
            targets = np.where(y_index == 1, 1.0, -1.0)[:, None]
        else:
            targets = np.eye(n_classes)[y_index]
            if self.loss != "log_loss":
                targets = 2.0 * targets - 1.0
        Y = xp.asarray(targets, dtype=X.dtype, device=device)
        return Y, sample_weight, y_index

    def _loss_function(self):
        return get_loss(self.loss, n_classes=self.classes_.shape[0])

    def _class_index(self, y):
        """The index in ``classes_`` of every label of ``y``; unknown labels are an error."""
        y_index = np.searchsorted(self.classes_, y)
        np.minimum(y_index, self.classes_.shape[0] - 1, out=y_index)
        unknown = self.classes_[y_index] != y
        if np.any(unknown):
            raise ValueError(
                f"y contains labels {np.unique(y[unknown]).tolist()} that are not in "
                f"classes {self.classes_.tolist()}."
            )
        return y_index


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
        max_grad_norm=None,
        weight_decay=0.0,
        batch_size="auto",
        max_iter=1000,
        tol=1e-4,
        n_iter_no_change=5,
        early_stopping=False,
        validation_fraction=0.1,
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
            max_grad_norm=max_grad_norm, weight_decay=weight_decay,
        )
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, coef_init=None, intercept_init=None):
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

        Returns
        -------
        self : GradientClassifier
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, (coef_init, intercept_init))

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

