"""The regression and classification sides of the API, shared by the linear models and the MLPs.

:class:`RegressionMixin` and :class:`ClassificationMixin` hold what depends on
the task and not on the model: the targets (validation, encoding, the loss
function), ``partial_fit``, ``predict``, ``predict_proba`` and ``score``. The
model (linear or MLP) comes from the other base of the estimator class.
"""

import numpy as np
from array_api_compat import array_namespace
from sklearn.base import _fit_context
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets

from ._array_api import get_namespace_and_device, is_dask_collection, namespace, to_numpy
from ._lbfgs import SECOND_ORDER
from ._losses import get_loss, predicted_labels
from ._reprs import plain_repr

__all__ = ["ClassificationMixin", "RegressionMixin", "has_partial_fit"]


def has_partial_fit(estimator):
    """``partial_fit`` exists for the first-order optimizers (not ``"lbfgs"``).

    As ``MLPRegressor(solver="lbfgs")``: L-BFGS minimises over all the data
    at once, so the attribute is missing, with this message.
    """
    if estimator.optimizer in SECOND_ORDER:
        raise AttributeError(
            f"partial_fit is not available with optimizer={estimator.optimizer!r}: L-BFGS "
            "minimises the objective over the whole training set at once (as "
            "MLPRegressor(solver='lbfgs') has no partial_fit). Call fit, or choose a "
            "first-order optimizer such as 'sgd' or 'adam' to train by batches."
        )
    return True


class RegressionMixin:
    """The regression side of the API, for any model: targets, loss, predict, score."""

    _y_validation = {"multi_output": True, "y_numeric": True}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    @available_if(has_partial_fit)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Run exactly one epoch over ``(X, y)``, keeping the optimizer state.

        ``early_stopping`` and the stopping rule are ignored. Calling it k
        times equals ``fit`` with ``max_iter=k`` and ``tol=None``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Training data.
        y : array of shape (n_samples,) or (n_samples, n_targets)
            Target values.
        sample_weight : array of shape (n_samples,), default=None
            Non-negative weights of the samples.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, partial=True)

    def predict(self, X):
        """Predict with the fitted model.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : array of shape (n_samples,) or (n_samples, n_targets)
            Predicted values.
        """
        raw = self._raw_output(X, "predict")
        return raw[:, 0] if self._single_output else raw

    def score(self, X, y, sample_weight=None):
        """Coefficient of determination (R^2) of the predictions on ``(X, y)``.

        Computed where ``X`` lives (NumPy or CuPy), as sklearn's mixin does.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Test samples.
        y : array of shape (n_samples,) or (n_samples, n_targets)
            True values.
        sample_weight : array of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
        """
        return self._score_where_X_lives(super().score, X, y, sample_weight, "r2")

    def _encode_targets(self, X, y, sample_weight, *, first_call, partial, classes):
        if is_dask_collection(y):  # blockwise, in the namespace of the blocks
            from ._dask_estimator import as_columns

            Y = as_columns(y, X.dtype)
        else:
            xp = namespace(X)
            Y = xp.astype(xp.reshape(y, (-1, 1)) if y.ndim == 1 else y, X.dtype)
        if first_call:
            self._single_output = y.ndim == 1
        elif (y.ndim == 1) != self._single_output or Y.shape[1] != self._fitted_n_outputs():
            fitted = "1-D y" if self._single_output else f"{self._fitted_n_outputs()} targets"
            raise ValueError(
                f"y has shape {tuple(y.shape)}; the model was fitted on {fitted}. "
                "Pass y with the same targets, or fit a new model."
            )
        return Y, sample_weight, None

    def _encode_validation_targets(self, X_val, y_val, n_outputs):
        """The targets ``Y`` of ``y_val`` (``fit``'s), which must have the targets of ``y``."""
        xp = namespace(X_val)
        if (y_val.ndim == 1) != self._single_output or (
                y_val.ndim == 2 and y_val.shape[1] != n_outputs):
            expected = "1-D" if self._single_output else f"of shape (n_samples, {n_outputs})"
            raise ValueError(
                f"y_val has shape {tuple(y_val.shape)}; y is {expected}. Pass validation "
                "targets with the targets of y."
            )
        return xp.astype(xp.reshape(y_val, (-1, 1)) if y_val.ndim == 1 else y_val, X_val.dtype)

    def _labels_of(self, Y):
        """The targets as ``y`` holds them, from their encoding ``Y`` (for a scorer)."""
        return Y[:, 0] if self._single_output else Y

    def _loss_function(self):
        return get_loss(self.loss, epsilon=float(self.epsilon))


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

    @available_if(has_partial_fit)
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
            from ._dask_estimator import labels

            return labels(raw, self.classes_)
        return predicted_labels(raw, self.classes_)

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
            from ._dask_estimator import encode_classes

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

        return self._targets(y_index, X), sample_weight, y_index

    def _targets(self, y_index, X):
        """The loss's targets of the class indices ``y_index``, where ``X`` lives, in its dtype.

        One column of ``+1`` / ``-1`` for two classes; one column per class
        for more (one-hot for ``"log_loss"``, else ``+1`` / ``-1``).
        """
        xp, _, device = get_namespace_and_device(X)
        n_classes = self.classes_.shape[0]
        if n_classes == 2:
            targets = np.where(y_index == 1, 1.0, -1.0)[:, None]
        else:
            targets = np.eye(n_classes)[y_index]
            if self.loss != "log_loss":
                targets = 2.0 * targets - 1.0
        return xp.asarray(targets, dtype=X.dtype, device=device)

    def _encode_validation_targets(self, X_val, y_val, n_outputs):
        """The targets of the labels ``y_val`` (``fit``'s): classes of ``classes_`` only."""
        return self._targets(self._class_index(to_numpy(y_val), name="y_val"), X_val)

    def _labels_of(self, Y):
        """The class labels of the targets ``Y`` (for a scorer)."""
        return predicted_labels(Y, self.classes_)

    def _loss_function(self):
        return get_loss(self.loss, n_classes=self.classes_.shape[0])

    def _class_index(self, y, name="y"):
        """The index in ``classes_`` of every label of ``y``; unknown labels are an error."""
        y_index = np.searchsorted(self.classes_, y)
        np.minimum(y_index, self.classes_.shape[0] - 1, out=y_index)
        unknown = self.classes_[y_index] != y
        if np.any(unknown):
            raise ValueError(
                f"{name} contains labels {np.unique(y[unknown]).tolist()} that are not in "
                f"classes {self.classes_.tolist()}."
                + (" Pass validation labels among the classes of y." if name != "y" else "")
            )
        return y_index
