"""What a fitted estimator's objective is, and the exact minimiser where one is known.

The race (:mod:`._compare`) judges its fits with these, from the outside:
the loss of the estimator's ``loss`` parameter on its public outputs
(``predict``, ``decision_function``, ``predict_proba``), the penalty on its
public weights (``coef_``, ``coefs_``), both from the math layer
(:mod:`._losses`, :mod:`._penalties`), where they are defined once; and, for
the linear models, the same objective minimised by scikit-learn's own
solvers, by the correspondences of "What the estimators do" in the README.
"""

import math
import time
import warnings
from typing import Any, NamedTuple

import numpy as np
from sklearn.base import is_classifier, is_regressor
from sklearn.exceptions import ConvergenceWarning

from ._array_api import to_numpy
from ._losses import get_loss
from ._penalties import Penalty
from ._tree import Layer

__all__ = ["Reference", "reference_solution", "training_objective", "validation_loss"]

#: Tolerance of the iterative reference solvers (``LogisticRegression``'s
#: L-BFGS, ``Lasso`` / ``ElasticNet``'s coordinate descent): their objective
#: ends within about 1e-6 (relative) of the optimum on the built-in datasets,
#: far below the 1 % that calls a fit optimal, in a fraction of the time of a
#: tighter tolerance.
REFERENCE_TOL = 1e-6


class Reference(NamedTuple):
    """The exact minimiser of a linear estimator's objective, from scikit-learn."""

    #: What was solved, e.g. ``"Ridge(alpha=0.0001 * 331)"``.
    name: str
    #: The training objective (:func:`training_objective`) at its solution.
    objective: float
    #: Wall time of its ``fit``, in seconds.
    time_s: float
    #: The fitted scikit-learn estimator.
    estimator: Any


# ----------------------------------------------------------------- losses


class _LossOn:
    """The per-sample loss of an estimator's public outputs on fixed data ``(X, y)``.

    Regressors: the loss of ``predict``. Classifiers: with
    ``decision_function``, the loss of the raw scores against the targets
    encoded as the classifier encodes them (``+1``/``-1`` columns, one-hot
    rows for the multinomial ``log_loss``; see :mod:`._losses`); without it,
    ``-log predict_proba`` of the true class for ``loss="log_loss"``. Calling
    it gives None where the outputs do not determine the loss (a classifier
    without raw scores, with another loss). The targets are encoded once, at
    the first call: the callback calls it after every epoch.
    """

    def __init__(self, X, y, *, loss, epsilon=0.1):
        self.X, self.y = X, np.asarray(to_numpy(y))
        self.loss, self.epsilon = loss, epsilon
        self._targets = None

    def __call__(self, estimator):
        if is_regressor(estimator):
            raw = np.asarray(to_numpy(estimator.predict(self.X)), dtype=float)
            raw = raw.reshape(raw.shape[0], -1)
            Y = self.y.astype(float).reshape(raw.shape[0], -1)
            return get_loss(self.loss, epsilon=self.epsilon)(Y, raw)[0]
        if self._targets is None:
            self._targets = self._encode(estimator.classes_)
        index, targets = self._targets
        if hasattr(estimator, "decision_function"):
            raw = np.asarray(to_numpy(estimator.decision_function(self.X)), dtype=float)
            raw = raw.reshape(raw.shape[0], -1)
            n_classes = len(estimator.classes_)
            return get_loss(self.loss, n_classes=n_classes)(targets, raw)[0]
        if self.loss == "log_loss":
            proba = np.asarray(to_numpy(estimator.predict_proba(self.X)), dtype=float)
            true = proba[np.arange(proba.shape[0]), index]
            return -np.log(np.maximum(true, np.finfo(float).tiny))
        return None

    def _encode(self, classes):
        """The class index of every label, and the targets of the raw scores."""
        index = np.searchsorted(classes, self.y)
        known = index < len(classes)
        known[known] = classes[index[known]] == self.y[known]
        if not known.all():
            raise ValueError(
                f"y holds labels that the classifier was not fitted on: "
                f"{np.unique(self.y[~known]).tolist()}; its classes are {classes.tolist()}."
            )
        if len(classes) == 2:
            return index, np.where(index == 1, 1.0, -1.0)[:, None]
        targets = np.eye(len(classes))[index]
        return index, targets if self.loss == "log_loss" else 2.0 * targets - 1.0

    def mean(self, estimator):
        """The mean loss of ``estimator``; NaN where unknown or not finite."""
        losses = self(estimator)
        if losses is None:
            return math.nan
        value = float(np.mean(losses))
        return value if math.isfinite(value) else math.nan

    @classmethod
    def of(cls, estimator, X, y):
        """The loss of ``estimator``'s ``loss`` parameter (and ``epsilon``) on ``(X, y)``."""
        params = estimator.get_params()
        return cls(X, y, loss=params["loss"], epsilon=params.get("epsilon", 0.1))


def _loss_is_public(estimator):
    """Whether the public outputs of ``estimator`` determine its loss (see :class:`_LossOn`)."""
    return (is_regressor(estimator) or hasattr(estimator, "decision_function")
            or estimator.get_params()["loss"] == "log_loss")


def validation_loss(estimator, X, y):
    """The mean of a fitted estimator's own per-sample loss on ``(X, y)``.

    The loss of the estimator's ``loss`` parameter (half squared error,
    Huber, log loss, hinge...), averaged over the samples with equal
    weights, without the penalty: the quantity that ``early_stopping``
    monitors on its held-out part.

    Parameters
    ----------
    estimator : estimator instance
        A fitted estimator of sk_gradopt (not a Pipeline: pass the last step
        and the transformed ``X``).
    X : array of shape (n_samples, n_features)
        Samples.
    y : array of shape (n_samples,) or (n_samples, n_targets)
        Targets.

    Returns
    -------
    loss : float
        NaN for a classifier whose public outputs do not determine its loss
        (an MLP classifier with ``loss="hinge"`` or ``"modified_huber"``,
        which has no ``decision_function``), and where the loss is not
        finite.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_gradopt import GradientRegressor
    >>> from sk_gradopt._reference import validation_loss
    >>> X, y = np.array([[0.0], [1.0], [2.0]]), np.array([0.0, 1.0, 2.0])
    >>> reg = GradientRegressor(optimizer="gd", learning_rate=0.1, max_iter=1,
    ...                         tol=None).fit(X, y)
    >>> bool(np.isclose(validation_loss(reg, X, y),
    ...                 0.5 * np.mean((reg.predict(X) - y) ** 2)))
    True
    """
    return _LossOn.of(estimator, X, y).mean(estimator)


def _coefficients(estimator):
    """The weight matrices the penalty acts on: ``coef_``, or an MLP's ``coefs_``."""
    weights = estimator.coefs_ if hasattr(estimator, "coefs_") else [estimator.coef_]
    return [Layer(np.asarray(to_numpy(w), dtype=float)) for w in weights]


def training_objective(estimator, X, y):
    """A fitted estimator's training objective on ``(X, y)`` at its final weights.

    The mean per-sample loss (:func:`validation_loss`) plus ``alpha *
    R(coef)``, the penalty of the estimator's ``penalty``, ``alpha`` and
    ``l1_ratio`` on its weight matrices (never the intercepts): what the
    fit minimises, for unit sample weights and no ``class_weight``.

    Parameters
    ----------
    estimator : estimator instance
        A fitted estimator of sk_gradopt.
    X : array of shape (n_samples, n_features)
        Training samples.
    y : array of shape (n_samples,) or (n_samples, n_targets)
        Targets.

    Returns
    -------
    objective : float
    """
    params = estimator.get_params()
    penalty = Penalty.from_params(params["penalty"], float(params["alpha"]),
                                  float(params["l1_ratio"]))
    return validation_loss(estimator, X, y) + penalty.value(_coefficients(estimator))


# -------------------------------------------------------------- reference


def reference_solution(estimator, X, y, *, init=None):
    """The exact minimiser of a linear estimator's objective, from scikit-learn.

    The correspondences of "What the estimators do": with ``n`` samples,
    ``GradientRegressor(loss="squared_error")`` minimises the objective of
    ``Ridge(alpha=alpha * n)`` (``penalty="l2"``), ``Lasso(alpha=alpha)``
    (``"l1"``), ``ElasticNet(alpha=alpha, l1_ratio=l1_ratio)``
    (``"elasticnet"``) or ``LinearRegression`` (no penalty), and
    ``GradientClassifier(loss="log_loss")`` that of
    ``LogisticRegression(C=1 / (alpha * n))`` (``"l2"``, or ``C=inf`` without
    penalty).

    The iterative solvers start from ``init`` when given (a fitted estimator
    of the same kind, e.g. the best of a race) and run to a tight tolerance,
    so that the solve costs a few iterations.

    Parameters
    ----------
    estimator : estimator instance
        A :class:`GradientRegressor` or :class:`GradientClassifier` (its
        parameters; it is not fitted nor modified).
    X : array of shape (n_samples, n_features)
        Training data.
    y : array of shape (n_samples,) or (n_samples, n_targets)
        Targets.
    init : estimator instance, default=None
        A fitted estimator of the same kind whose ``coef_`` and
        ``intercept_`` start the solver.

    Returns
    -------
    reference : Reference or None
        None where no scikit-learn solver minimises the same objective (an
        MLP, another loss, l1 or elastic-net logistic regression,
        ``class_weight``, decoupled ``weight_decay``).
    """
    from sklearn.linear_model import (ElasticNet, Lasso, LinearRegression,
                                      LogisticRegression, Ridge)

    params = estimator.get_params()
    if ("hidden_layer_sizes" in params or params.get("weight_decay", 0.0)
            or params.get("class_weight") is not None):
        return None
    n = X.shape[0]
    alpha, penalty = float(params["alpha"]), params["penalty"]
    if alpha == 0.0:
        penalty = None
    fit_intercept = params["fit_intercept"]
    warm = {}
    if is_regressor(estimator) and params["loss"] == "squared_error":
        if penalty is None:
            solver, name = LinearRegression(fit_intercept=fit_intercept), "LinearRegression()"
        elif penalty == "l2":
            solver = Ridge(alpha=alpha * n, fit_intercept=fit_intercept)
            name = f"Ridge(alpha={alpha:g} * {n})"
        else:
            l1_ratio = 1.0 if penalty == "l1" else float(params["l1_ratio"])
            solver = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, fit_intercept=fit_intercept,
                                tol=REFERENCE_TOL, max_iter=100_000,
                                warm_start=init is not None)
            name = (f"Lasso(alpha={alpha:g})" if penalty == "l1"
                    else f"ElasticNet(alpha={alpha:g}, l1_ratio={l1_ratio:g})")
            if init is not None:
                warm = {"coef_": np.asarray(to_numpy(init.coef_), dtype=float)}
    elif is_classifier(estimator) and params["loss"] == "log_loss" and penalty in (None, "l2"):
        C = math.inf if penalty is None else 1.0 / (alpha * n)
        solver = LogisticRegression(C=C, fit_intercept=fit_intercept, tol=REFERENCE_TOL,
                                    max_iter=10_000, warm_start=init is not None)
        name = ("LogisticRegression(C=inf)" if penalty is None
                else f"LogisticRegression(C=1 / ({alpha:g} * {n}))")
        if init is not None:
            warm = {"coef_": np.asarray(to_numpy(init.coef_), dtype=float),
                    "intercept_": np.asarray(to_numpy(init.intercept_), dtype=float)}
    else:
        return None
    for key, value in warm.items():
        setattr(solver, key, value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        solver.fit(X, y)
        elapsed = time.perf_counter() - start
    losses = _LossOn(X, y, loss=params["loss"], epsilon=params.get("epsilon", 0.1))(solver)
    weights = [Layer(np.asarray(solver.coef_, dtype=float))]
    objective = float(np.mean(losses)) + Penalty.from_params(
        penalty, alpha, float(params["l1_ratio"])).value(weights)
    return Reference(name, objective, elapsed, solver)
