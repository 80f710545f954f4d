"""Stopping on your own validation data: fit(X_val=, y_val=, sample_weight_val=), scoring."""

import warnings

import numpy as np
import pytest
import sklearn
from numpy.testing import assert_allclose
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import get_scorer, log_loss, mean_squared_error
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sk_gradopt import (
    GradientClassifier,
    GradientMLPClassifier,
    GradientMLPRegressor,
    GradientRegressor,
)

EPOCHS = 3
COMMON = dict(batch_size=16, shuffle=False, tol=None, random_state=0)


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=100, n_features=4, noise=5.0, random_state=0)
    y = y / np.std(y)
    return X[:70], y[:70], X[70:], y[70:]


@pytest.fixture(scope="module")
def classification():
    X, y = make_classification(n_samples=120, n_features=4, n_informative=3, n_redundant=0,
                               random_state=0)
    labels = np.array(["cat", "dog"])[y]
    return X[:90], labels[:90], X[90:], labels[90:]


def _quiet_fit(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kwargs)


def _after_each_epoch(Estimator, X, y, params, epochs=EPOCHS):
    """The estimator after 1, 2, ... epochs on all of ``X``: a fit without validation."""
    return [_quiet_fit(Estimator(max_iter=k, **params), X, y) for k in range(1, epochs + 1)]


MODELS = [
    (GradientRegressor, {"learning_rate": 0.02}),
    (GradientMLPRegressor, {"learning_rate": 0.01, "hidden_layer_sizes": (6,)}),
]


@pytest.mark.parametrize("Estimator, extra", MODELS)
def test_validation_loss_is_the_loss_on_X_val_of_each_epoch(regression, Estimator, extra):
    X, y, X_val, y_val = regression
    sample_weight_val = np.linspace(0.5, 2.0, X_val.shape[0])
    params = {**COMMON, **extra}
    est = _quiet_fit(Estimator(early_stopping=True, max_iter=EPOCHS, **params), X, y,
                     X_val=X_val, y_val=y_val, sample_weight_val=sample_weight_val)
    # every row of X trained (no split): the trajectory of a fit without validation
    by_hand = [mean_squared_error(y_val, e.predict(X_val), sample_weight=sample_weight_val) / 2
               for e in _after_each_epoch(Estimator, X, y, params)]
    assert_allclose(est.validation_loss_curve_, by_hand, rtol=1e-10)
    assert est.best_loss_ == min(by_hand)
    assert est.validation_scores_ is None and est.best_validation_score_ is None


def test_classifier_validation_loss_is_the_log_loss_on_X_val(classification):
    X, y, X_val, y_val = classification
    params = {**COMMON, "learning_rate": 0.05}
    est = _quiet_fit(GradientClassifier(early_stopping=True, max_iter=EPOCHS, **params), X, y,
                     X_val=X_val, y_val=y_val)
    by_hand = [log_loss(y_val, e.predict_proba(X_val), labels=e.classes_)
               for e in _after_each_epoch(GradientClassifier, X, y, params)]
    assert_allclose(est.validation_loss_curve_, by_hand, rtol=1e-10)


def _mean_abs_error(estimator, X, y):
    return -float(np.mean(np.abs(estimator.predict(X) - y)))


@pytest.mark.parametrize("scoring", ["r2", _mean_abs_error], ids=["str", "callable"])
@pytest.mark.parametrize("Estimator, extra", MODELS)
def test_scoring_fills_validation_scores_with_the_scorer_after_each_epoch(
        regression, Estimator, extra, scoring):
    X, y, X_val, y_val = regression
    params = {**COMMON, **extra}
    est = _quiet_fit(Estimator(early_stopping=True, scoring=scoring, max_iter=EPOCHS, **params),
                     X, y, X_val=X_val, y_val=y_val)
    scorer = get_scorer(scoring) if isinstance(scoring, str) else scoring
    expected = [scorer(e, X_val, y_val) for e in _after_each_epoch(Estimator, X, y, params)]
    assert_allclose(est.validation_scores_, expected, rtol=1e-10)
    assert est.best_validation_score_ == max(expected)
    assert est.validation_loss_curve_ is None and est.best_loss_ is None


def test_the_split_with_scoring_decodes_the_labels(classification):
    # Without X_val the held-out part is scored with its labels (strings here):
    # the same scores as passing that part as X_val (shuffle=False: same steps).
    X, y, _, _ = classification
    params = dict(COMMON, learning_rate=0.05, early_stopping=True, scoring="accuracy",
                  max_iter=EPOCHS, validation_fraction=0.2)
    split = _quiet_fit(GradientClassifier(**params), X, y)
    y_index = np.searchsorted(np.unique(y), y)
    train, val = train_test_split(np.arange(X.shape[0]), test_size=0.2,
                                  random_state=np.random.RandomState(0), stratify=y_index)
    given = _quiet_fit(GradientClassifier(**params), X[train], y[train],
                       X_val=X[val], y_val=y[val])
    assert_allclose(split.validation_scores_, given.validation_scores_, rtol=0)
    assert_allclose(split.coef_, given.coef_, rtol=1e-12)
    assert len(set(split.validation_scores_)) > 1  # the accuracy did move


class _Scripted:
    """A scorer that returns the given values in turn (the epochs' scores)."""

    def __init__(self, values):
        self.values, self.calls = list(values), 0

    def __call__(self, estimator, X, y, sample_weight=None):
        self.calls += 1
        return self.values[self.calls - 1]


@pytest.mark.parametrize("Estimator, extra", MODELS)
def test_the_weights_of_the_best_score_are_kept_and_the_rule_stops_on_it(
        regression, Estimator, extra):
    X, y, X_val, y_val = regression
    params = {**COMMON, **extra}
    est = _quiet_fit(Estimator(early_stopping=True, scoring=_Scripted([0.1, 0.5, 0.2, 0.3]),
                               max_iter=4, **params), X, y, X_val=X_val, y_val=y_val)
    second = _after_each_epoch(Estimator, X, y, params, epochs=2)[-1]
    assert est.validation_scores_ == [0.1, 0.5, 0.2, 0.3]
    assert est.best_validation_score_ == 0.5
    assert_allclose(est.predict(X_val), second.predict(X_val), rtol=1e-12)
    # the no-improvement rule counts on the score: 2 epochs below the best stop the fit
    stopping = dict(params, tol=0.0)
    est = Estimator(early_stopping=True, scoring=_Scripted([0.1, 0.5, 0.2, 0.3, 0.9, 1.0]),
                    max_iter=6, n_iter_no_change=2, **stopping)
    est.fit(X, y, X_val=X_val, y_val=y_val)
    assert est.n_iter_ == 4 and est.validation_scores_ == [0.1, 0.5, 0.2, 0.3]


def test_averaged_weights_are_what_the_validation_judges(regression):
    X, y, X_val, y_val = regression
    params = dict(COMMON, learning_rate=0.05, average=0.8)
    est = _quiet_fit(GradientRegressor(early_stopping=True, scoring="r2", max_iter=EPOCHS,
                                       **params),
                     X, y, X_val=X_val, y_val=y_val)
    expected = [e.score(X_val, y_val)
                for e in _after_each_epoch(GradientRegressor, X, y, params)]
    assert_allclose(est.validation_scores_, expected, rtol=1e-10)


def test_metadata_routing_through_a_pipeline_and_a_search(regression):
    X, y, X_val, y_val = regression
    params = dict(COMMON, learning_rate=0.02, early_stopping=True, max_iter=EPOCHS)
    scaler = StandardScaler().fit(X)
    direct = _quiet_fit(GradientRegressor(**params), scaler.transform(X), y,
                        X_val=scaler.transform(X_val), y_val=y_val)
    with sklearn.config_context(enable_metadata_routing=True):
        est = GradientRegressor(**params).set_fit_request(X_val=True, y_val=True)
        # X_val goes through the scaler where the Pipeline says so
        pipe = Pipeline([("scale", StandardScaler()), ("reg", est)], transform_input=["X_val"])
        _quiet_fit(pipe, X, y, X_val=X_val, y_val=y_val)
        assert_allclose(pipe[-1].validation_loss_curve_, direct.validation_loss_curve_,
                        rtol=1e-10)
        # ... and reaches the estimator untransformed otherwise
        pipe = Pipeline([("scale", StandardScaler()), ("reg", est)])
        _quiet_fit(pipe, X, y, X_val=scaler.transform(X_val), y_val=y_val)
        assert_allclose(pipe[-1].validation_loss_curve_, direct.validation_loss_curve_,
                        rtol=1e-10)
        search = GridSearchCV(GradientRegressor(**params).set_fit_request(X_val=True,
                                                                          y_val=True),
                              {"alpha": [1e-4, 1e-1]}, cv=2)
        _quiet_fit(search, X, y, X_val=X_val, y_val=y_val)
    refit = _quiet_fit(GradientRegressor(**{**params, **search.best_params_}), X, y,
                       X_val=X_val, y_val=y_val)
    assert_allclose(search.best_estimator_.validation_loss_curve_,
                    refit.validation_loss_curve_, rtol=1e-12)


@pytest.mark.parametrize("Estimator", [GradientClassifier, GradientMLPClassifier])
def test_bad_validation_data_is_refused_with_a_clear_message(classification, Estimator):
    X, y, X_val, y_val = classification
    est = Estimator(early_stopping=True, max_iter=2)
    cases = [
        (dict(X_val=X_val[:, :3], y_val=y_val), "X_val has 3 features, but X has 4"),
        (dict(y_val=y_val), "y_val is passed to fit without X_val"),
        (dict(X_val=X_val), "X_val is passed to fit without y_val"),
        (dict(sample_weight_val=np.ones(len(y_val))), "without X_val and y_val"),
        (dict(X_val=X_val, y_val=np.where(y_val == "cat", "eel", y_val)),
         r"y_val contains labels \['eel'\] that are not in classes"),
        (dict(X_val=X_val, y_val=y_val[:-1]), "inconsistent numbers of samples"),
        (dict(X_val=X_val, y_val=y_val, sample_weight_val=np.zeros(len(y_val))),
         "sample_weight_val"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            est.fit(X, y, **kwargs)
        assert not hasattr(est, "n_iter_")
    with pytest.raises(ValueError, match="early_stopping=False"):
        Estimator(max_iter=2).fit(X, y, X_val=X_val, y_val=y_val)
    with pytest.raises(ValueError, match="not a valid scoring value"):
        Estimator(early_stopping=True, scoring="no such score").fit(X, y)


def test_regression_targets_of_y_val_must_match_y(regression):
    X, y, X_val, y_val = regression
    est = GradientRegressor(early_stopping=True, max_iter=2)
    with pytest.raises(ValueError, match="y_val has shape"):
        est.fit(X, y, X_val=X_val, y_val=np.column_stack([y_val, y_val]))
    with pytest.raises(ValueError, match="'scoring' parameter"):
        GradientRegressor(scoring=3).fit(X, y)


def test_partial_fit_after_a_fit_on_a_score_goes_on(regression):
    X, y, X_val, y_val = regression
    est = _quiet_fit(GradientRegressor(early_stopping=True, scoring="r2", max_iter=2,
                                       **COMMON), X, y, X_val=X_val, y_val=y_val)
    scores = list(est.validation_scores_)
    est.partial_fit(X, y)
    assert est.n_iter_ == 3 and est.validation_scores_ == scores
    assert est.best_loss_ == est.loss_curve_[-1]
