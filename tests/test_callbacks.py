"""scikit-learn's callback API: one task per epoch, stop requests, propagation."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV

from sk_gradopt import GradientClassifier, GradientRegressor

callback = pytest.importorskip("sklearn.callback", reason="scikit-learn without callbacks")


class Recorder:
    """Records the tasks it sees; asks to stop after ``stop_after`` epochs.

    It has ``max_propagation_depth``, so it is an ``AutoPropagatedCallback``:
    a meta-estimator hands it down to the estimators it fits.
    """

    def __init__(self, stop_after=None, max_propagation_depth=None):
        self.stop_after = stop_after
        self.max_propagation_depth = max_propagation_depth
        self.events = []

    def setup(self, estimator, context):
        self.events.append(("setup", type(estimator).__name__))

    def teardown(self, estimator, context):
        self.events.append(("teardown", type(estimator).__name__))

    def on_fit_task_begin(self, estimator, context):
        self.events.append(("begin", context.task_name))

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        self.events.append(("end", context.task_name, fitted_estimator))
        epochs = sum(1 for e in self.events if e[:2] == ("end", "epoch"))
        return self.stop_after is not None and epochs >= self.stop_after


@pytest.fixture(scope="module")
def data():
    return make_classification(n_samples=120, n_features=4, random_state=0)


def test_one_task_per_epoch_with_a_ready_estimator(data):
    X, y = data
    rec = Recorder()
    clf = GradientClassifier(max_iter=7, tol=None, random_state=0).set_callbacks(rec)
    clf.fit(X, y)
    epochs = [e for e in rec.events if e[:2] == ("end", "epoch")]
    assert len(epochs) == clf.n_iter_ == 7
    assert rec.events[0] == ("setup", "GradientClassifier")
    assert rec.events[-1] == ("teardown", "GradientClassifier")
    # The estimator handed over at the last epoch predicts like the fitted one.
    last = epochs[-1][2]
    np.testing.assert_array_equal(last.predict(X), clf.predict(X))


def test_a_callback_can_stop_the_fit(data):
    X, y = data
    reg = GradientRegressor(max_iter=50, tol=1e-4).set_callbacks(Recorder(stop_after=3))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a requested stop isn't a failure
        reg.fit(X, y.astype(float))
    assert reg.n_iter_ == 3


def test_callbacks_propagate_through_grid_search(data):
    X, y = data
    rec = Recorder()
    search = GridSearchCV(GradientClassifier(max_iter=4, tol=None),
                          {"learning_rate": [0.01, 0.1]}, cv=2)
    search.set_callbacks(rec).fit(X, y)
    epochs = [e for e in rec.events if e[:2] == ("end", "epoch")]
    # 2 settings x 2 folds + the refit, 4 epochs each.
    assert len(epochs) == (2 * 2 + 1) * 4


def test_progress_bar_runs(data):
    pytest.importorskip("rich")
    X, y = data
    clf = GradientClassifier(max_iter=5, tol=None).set_callbacks(callback.ProgressBar())
    assert clf.fit(X, y).n_iter_ == 5
    assert clf.score(X, y) > 0.8


def test_progress_bar_goes_on_the_search_not_on_the_estimator(data, capsys):
    # The README once showed est.set_callbacks(ProgressBar()) "also through
    # GridSearchCV": with the default error_score=nan every fit then fails,
    # because scikit-learn refuses auto-propagated callbacks (ProgressBar is
    # one) on an estimator that a meta-estimator fits: it hands down its own.
    pytest.importorskip("rich")
    X, y = data
    est = GradientClassifier(max_iter=3, tol=None).set_callbacks(callback.ProgressBar())
    search = GridSearchCV(est, {"learning_rate": [0.01, 0.1]}, cv=2)
    with pytest.raises(ValueError, match="All the 4 fits failed") as info:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # FitFailedWarning
            search.fit(X, y)
    assert "can't have auto-propagated callbacks (['ProgressBar'])" in str(info.value)
    assert "Register them directly on the meta-estimator" in str(info.value)

    # The working way: the bar on the search, which reports every fit.
    search = GridSearchCV(GradientClassifier(max_iter=3, tol=None),
                          {"learning_rate": [0.01, 0.1]}, cv=2)
    search.set_callbacks(callback.ProgressBar()).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    out = capsys.readouterr().out  # rich draws on stdout by default
    assert "GridSearchCV - fit" in out
    # the search handed the bar down: a line per fit of the estimator
    assert out.count("GradientClassifier - fit") == 2 * 2 + 1
