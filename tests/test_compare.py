"""The optimizer race, ``compare_optimizers``, and its display.

Every check is against an independent reference: separate fits of the same
estimator (``loss_curve_``, ``partial_fit`` epoch by epoch), losses written
out by hand or taken from scikit-learn's metrics, scikit-learn's own solvers,
and denser grids of learning rates than the race tries.
"""

import math
import time
import warnings

import matplotlib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.metrics import log_loss
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sk_gradopt._reference as reference_module
from sk_gradopt import (GradientClassifier, GradientMLPClassifier,
                        GradientMLPRegressor, GradientRegressor, OptimizerComparisonDisplay,
                        compare_optimizers)
from sk_gradopt._compare import TUNING_GRID, WARM_UP_EPOCHS, _ranking, overfitting_epoch
from sk_gradopt._optimizers import DEFAULT_RACE  # the race's five
from sk_gradopt._reference import reference_solution, training_objective, validation_loss

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=120, n_features=4, noise=10.0, random_state=0)
    return X, y / y.std()


@pytest.fixture(scope="module")
def classification():
    X, y = make_classification(n_samples=120, n_features=4, n_informative=3,
                               n_redundant=0, n_classes=3, random_state=0)
    return X, np.array(["ant", "bee", "cat"])[y]


def _half_squared_error(est, X, y):
    return 0.5 * float(np.mean((est.predict(X) - y) ** 2))


def _log_loss(est, X, y):
    return float(log_loss(y, est.predict_proba(X), labels=est.classes_))


# --------------------------------------------- the race equals separate fits


@pytest.mark.parametrize("kind", ["regression", "classification"])
def test_fixed_rates_equal_separate_fits(kind, regression, classification):
    X, y = regression if kind == "regression" else classification
    est = (GradientRegressor(max_iter=25, batch_size=16) if kind == "regression"
           else GradientClassifier(max_iter=25, batch_size=16))
    hand_loss = _half_squared_error if kind == "regression" else _log_loss
    rates = {"sgd": 0.05, "momentum": 0.02, "adam": 0.03}
    race = compare_optimizers(est, X, y, optimizers=list(rates), learning_rates=rates,
                              n_seeds=2, random_state=1)
    train, val = race.train_indices_, race.validation_indices_
    assert sorted([*train, *val]) == list(range(len(y)))
    assert len(val) == math.ceil(0.2 * len(y))
    assert race.learning_rates_ == rates and not any(race.tuned_.values())
    for name, rate in rates.items():
        for s, seed in enumerate(race.random_states_):
            alone = clone(est).set_params(optimizer=name, learning_rate=rate,
                                          random_state=int(seed))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                alone.fit(X[train], y[train])
            n = alone.n_iter_
            curve = race.train_loss_[name][s]
            np.testing.assert_allclose(curve[:n], alone.loss_curve_, rtol=1e-12, atol=0)
            assert np.isnan(curve[n:]).all() and race.n_iter_[name][s] == n
            # the validation loss after each epoch: partial_fit runs one epoch
            stepper = clone(alone)
            expected = []
            for _ in range(n):
                if kind == "classification" and not expected:
                    stepper.partial_fit(X[train], y[train], classes=np.unique(y))
                else:
                    stepper.partial_fit(X[train], y[train])
                expected.append(hand_loss(stepper, X[val], y[val]))
            np.testing.assert_allclose(race.validation_loss_[name][s][:n], expected,
                                       rtol=1e-12, atol=1e-15)
            assert np.isnan(race.validation_loss_[name][s][n:]).all()
            assert race.validation_score_[name][s] == alone.score(X[val], y[val])
            penalty = 0.5 * alone.alpha * float(np.sum(alone.coef_ ** 2))
            assert race.final_objective_[name][s] == pytest.approx(
                hand_loss(alone, X[train], y[train]) + penalty, rel=1e-12)
            fitted = race.estimators_[name][s]
            np.testing.assert_array_equal(fitted.coef_, alone.coef_)
    # different seeds: different batches, the same split
    assert not np.array_equal(race.train_loss_["sgd"][0], race.train_loss_["sgd"][1])
    again = compare_optimizers(est, X, y, optimizers=["sgd"], learning_rates=0.05,
                               n_seeds=1, random_state=1)
    np.testing.assert_array_equal(again.validation_indices_, race.validation_indices_)


def test_a_float_rate_is_every_optimizers_and_a_dict_tunes_the_others(regression):
    X, y = regression
    est = GradientRegressor(max_iter=5)
    race = compare_optimizers(est, X, y, learning_rates=0.1, n_seeds=1, random_state=0)
    assert race.optimizers_ == list(DEFAULT_RACE)
    assert race.learning_rates_ == dict.fromkeys(DEFAULT_RACE, 0.1)
    race = compare_optimizers(est, X, y, optimizers=["gd", "adam"],
                              learning_rates={"adam": 0.1}, n_seeds=1, random_state=0)
    assert race.tuned_ == {"gd": True, "adam": False} and race.learning_rates_["adam"] == 0.1
    assert "adam" not in race.tuning_ and len(race.tuning_["gd"]) == len(TUNING_GRID) + 2


# ---------------------------------------------------------------- tuning


@pytest.mark.parametrize("kind", ["regression", "classification"])
def test_tuned_rates_are_among_the_best_of_a_denser_grid(kind):
    if kind == "regression":
        X, y = make_regression(n_samples=150, n_features=5, noise=10.0, random_state=0)
        y = y / y.std()
        est, hand_loss = GradientRegressor(max_iter=60), _half_squared_error
    else:
        X, y = make_classification(n_samples=150, n_features=5, random_state=0)
        est, hand_loss = GradientClassifier(max_iter=60), _log_loss
    optimizers = ["sgd", "momentum", "adam"]
    race = compare_optimizers(est, X, y, optimizers=optimizers, n_seeds=1, random_state=0)
    train, val = race.train_indices_, race.validation_indices_
    seed = int(race.random_states_[0])
    dense = np.logspace(-4, math.log10(3.2), 25)  # four times finer than the race's grid

    def loss_at(name, rate):
        fitted = clone(est).set_params(optimizer=name, learning_rate=rate, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fitted.fit(X[train], y[train])
        return hand_loss(fitted, X[val], y[val])

    for name in optimizers:
        losses = np.array([loss_at(name, rate) for rate in dense])
        tuned = loss_at(name, race.learning_rates_[name])
        # among the best five of the 25, and within a third of the best
        assert np.sum(losses < tuned - 1e-12) <= 4, name
        assert tuned <= 1.35 * losses.min(), name
        # the trials are the search's record: the chosen rate has the lowest loss
        rates, trial_losses = zip(*race.tuning_[name])
        assert race.learning_rates_[name] == rates[int(np.argmin(trial_losses))]
        assert min(trial_losses) == pytest.approx(tuned, rel=1e-12)


def test_every_optimizer_gets_the_same_tuning_budget(regression, monkeypatch):
    X, y = regression
    budgets = []
    fit = GradientRegressor.fit

    def spy(self, *args, **kwargs):
        budgets.append((self.optimizer, self.max_iter, self.learning_rate))
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(GradientRegressor, "fit", spy)
    compare_optimizers(GradientRegressor(max_iter=7), X, y, n_seeds=1, random_state=0)
    tuning = [b for b in budgets if b[1] == 7]
    per_optimizer = {name: [b for b in tuning if b[0] == name] for name in DEFAULT_RACE}
    # 12 tuning fits and one race fit each, all with the whole budget of 7 epochs
    assert {len(fits) for fits in per_optimizer.values()} == {len(TUNING_GRID) + 3}
    assert all({rate for _, _, rate in fits[:len(TUNING_GRID)]} == set(TUNING_GRID)
               for fits in per_optimizer.values())


# ----------------------------------------------------------- overfitting


def test_the_overfitting_flag_fires_on_a_small_noisy_mlp_problem():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 6))
    y = X[:, 0] + rng.normal(size=80)  # as much noise as signal, few samples
    mlp = GradientMLPRegressor(hidden_layer_sizes=(64,), max_iter=120, tol=None, alpha=0.0,
                               batch_size=16)
    race = compare_optimizers(mlp, X, y, optimizers=["sgd", "adam"],
                              learning_rates={"sgd": 0.05, "adam": 0.01}, n_seeds=2,
                              random_state=0)
    for name in ("sgd", "adam"):
        epoch = race.overfitting_epoch_[name]
        assert epoch is not None and 1 <= epoch < 60, name
        val = np.nanmean(race.validation_loss_[name], axis=0)
        train = np.nanmean(race.train_loss_[name], axis=0)
        # what the flag says, checked on the curves themselves
        assert val[-10:].mean() > 1.3 * val[epoch - 1] and train[-1] < train[epoch - 1]


@pytest.mark.parametrize("kind", ["regression", "classification"])
def test_the_overfitting_flag_stays_silent_on_a_linear_problem(kind):
    if kind == "regression":
        X, y = make_regression(n_samples=300, n_features=5, noise=10.0, random_state=0)
        est, y = GradientRegressor(max_iter=80, tol=None, batch_size=16), y / y.std()
    else:
        X, y = make_classification(n_samples=300, n_features=5, random_state=0)
        est = GradientClassifier(max_iter=80, tol=None, batch_size=16)
    race = compare_optimizers(est, X, y, learning_rates=0.02, n_seeds=2, random_state=0)
    assert race.overfitting_epoch_ == dict.fromkeys(DEFAULT_RACE)


def test_overfitting_epoch_on_curves_by_hand():
    epochs = np.arange(1, 61, dtype=float)
    train = 1.0 / epochs
    u_shape = 0.5 + (epochs - 20.0) ** 2 / 800  # lowest at epoch 20, 0.5 above at the end
    assert overfitting_epoch(train, u_shape) == 20
    assert overfitting_epoch(np.vstack([train, train]), np.vstack([u_shape, u_shape])) == 20
    # the training loss rises too: the fit went wrong, it does not overfit
    assert overfitting_epoch(train[::-1], u_shape) is None
    # falls then flat with noise: no trend, however noisy
    noise = np.random.RandomState(0).normal(scale=0.02, size=60)
    assert overfitting_epoch(train, 0.5 + 1.0 / epochs + noise) is None
    # a dip below the optimum's loss on the way there is not overfitting
    dip = 0.5 + 2.0 / epochs - 0.03 * np.exp(-((epochs - 10.0) ** 2) / 20)
    assert overfitting_epoch(train, dip) is None
    # a rise of 2 % is within the tolerance; NaN after a seed's end is ignored
    assert overfitting_epoch(train, 0.5 + 0.01 * (epochs > 30)) is None
    short = np.vstack([u_shape, np.where(epochs <= 5, u_shape, np.nan)])
    assert overfitting_epoch(np.vstack([train, train]), short) is None  # 5 common epochs


# ------------------------------------------------------------ epoch times


def test_every_timed_fit_follows_a_warm_up_of_its_own_configuration(regression, monkeypatch):
    X, y = regression
    calls = []
    fit = GradientRegressor.fit

    def spy(self, *args, **kwargs):
        timed = bool(getattr(self, "_skl_callbacks", None))
        calls.append((self.optimizer, self.learning_rate, self.max_iter, timed))
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(GradientRegressor, "fit", spy)
    results = {}
    for order in (["adam", "sgd", "gd"], ["gd", "sgd", "adam"]):
        calls.clear()
        race = compare_optimizers(GradientRegressor(max_iter=6, tol=None), X, y,
                                  optimizers=order, learning_rates=0.05, n_seeds=2,
                                  random_state=0)
        timed = [i for i, call in enumerate(calls) if call[3]]
        assert len(timed) == 2 * len(order)
        for i in timed:  # right before it: an untimed warm-up of the same optimizer
            assert calls[i - 1] == (calls[i][0], 0.05, WARM_UP_EPOCHS, False)
        assert set(race.epoch_time_) == set(order)
        assert all(0 < t < 1 for t in race.epoch_time_.values())
        results[tuple(order)] = race
    first, second = results.values()
    for name in ("adam", "sgd", "gd"):  # the order changes nothing but the times
        np.testing.assert_array_equal(first.train_loss_[name], second.train_loss_[name])
        np.testing.assert_array_equal(first.validation_loss_[name],
                                      second.validation_loss_[name])


def test_the_epoch_time_leaves_out_the_validation_loss(regression, monkeypatch):
    X, y = regression
    slow = 0.2
    mean = reference_module._LossOn.mean

    def slow_mean(self, estimator):
        time.sleep(slow)
        return mean(self, estimator)

    monkeypatch.setattr(reference_module._LossOn, "mean", slow_mean)
    race = compare_optimizers(GradientRegressor(max_iter=3, tol=None), X, y,
                              optimizers=["adam"], learning_rates=0.05, n_seeds=1,
                              random_state=0)
    assert np.isfinite(race.validation_loss_["adam"]).all()  # it was computed, slowly
    assert race.epoch_time_["adam"] < slow / 4


# ---------------------------------------------------- estimators, pipeline


@pytest.mark.parametrize("Estimator", [GradientRegressor, GradientClassifier,
                                       GradientMLPRegressor, GradientMLPClassifier])
def test_all_four_estimators_race(Estimator, regression, classification):
    regressor = Estimator in (GradientRegressor, GradientMLPRegressor)
    X, y = regression if regressor else classification
    params = {"max_iter": 8}
    if "hidden_layer_sizes" in Estimator().get_params():
        params["hidden_layer_sizes"] = (6,)
    race = compare_optimizers(Estimator(**params), X, y, optimizers=["gd", "rmsprop"],
                              learning_rates=0.01, n_seeds=2, random_state=0)
    hand_loss = _half_squared_error if regressor else _log_loss
    val = race.validation_indices_
    for name in ("gd", "rmsprop"):
        assert race.train_loss_[name].shape == race.validation_loss_[name].shape
        assert race.train_loss_[name].shape[0] == 2
        assert np.isfinite(race.validation_score_[name]).all()
        last = race.estimators_[name][1]
        n = last.n_iter_
        assert race.validation_loss_[name][1][n - 1] == pytest.approx(
            hand_loss(last, X[val], y[val]), rel=1e-12)
    linear = Estimator in (GradientRegressor, GradientClassifier)
    assert (race.reference_ is not None) == linear


def test_a_pipeline_races_its_last_step_on_preprocessing_fitted_on_the_training_part(
        regression):
    X, y = regression
    X = X * [1.0, 10.0, 100.0, 1000.0] + 5.0
    pipe = make_pipeline(StandardScaler(), GradientRegressor(max_iter=10, tol=None))
    race = compare_optimizers(pipe, X, y, optimizers=["sgd", "adam"], learning_rates=0.05,
                              n_seeds=2, random_state=0)
    train = race.train_indices_
    scaler = StandardScaler().fit(X[train])
    for name in ("sgd", "adam"):
        fitted = race.estimators_[name][0]
        assert type(fitted).__name__ == "Pipeline"
        np.testing.assert_array_equal(fitted[0].mean_, scaler.mean_)
    # the same race on data scaled by hand
    by_hand = compare_optimizers(GradientRegressor(max_iter=10, tol=None),
                                 scaler.transform(X), y, optimizers=["sgd", "adam"],
                                 learning_rates=0.05, n_seeds=2, random_state=0)
    for name in ("sgd", "adam"):
        np.testing.assert_allclose(race.train_loss_[name], by_hand.train_loss_[name],
                                   rtol=1e-12)
        np.testing.assert_allclose(race.validation_score_[name],
                                   by_hand.validation_score_[name], rtol=1e-12)
    assert race.reference_.objective == pytest.approx(by_hand.reference_.objective, rel=1e-9)
    assert pipe.steps[-1][1].optimizer == "adam" and not hasattr(pipe[0], "mean_")


def test_n_jobs_gives_the_same_race(regression):
    from joblib import parallel_config

    X, y = regression
    est = GradientRegressor(max_iter=5, tol=None)
    kwargs = dict(optimizers=["sgd", "adam"], learning_rates={"sgd": 0.05}, n_seeds=2,
                  random_state=0)
    one = compare_optimizers(est, X, y, **kwargs)
    # threads: the jobs' order and their results' assembly, without the start-up
    # of worker processes (the default backend) in a test
    with parallel_config(backend="threading"):
        two = compare_optimizers(est, X, y, n_jobs=2, **kwargs)
    assert one.learning_rates_ == two.learning_rates_
    for name in ("sgd", "adam"):
        np.testing.assert_array_equal(one.train_loss_[name], two.train_loss_[name])
        np.testing.assert_array_equal(one.validation_loss_[name], two.validation_loss_[name])


def test_the_mlp_classifier_without_raw_scores_says_its_validation_loss_is_unknown(
        classification):
    X, y = classification
    mlp = GradientMLPClassifier(loss="hinge", hidden_layer_sizes=(4,), max_iter=5)
    with pytest.warns(UserWarning, match=r"validation_loss_ is NaN for GradientMLPClassifier"):
        race = compare_optimizers(mlp, X, y, optimizers=["adam"], learning_rates=0.01,
                                  n_seeds=1, random_state=0)
    assert np.isnan(race.validation_loss_["adam"]).all()
    assert np.isfinite(race.validation_score_["adam"]).all()


# --------------------------------------------------- ranking and reference


def test_ranking_orders_by_mean_score_and_ties_within_the_spread():
    ranks = _ranking({"a": [0.90, 0.92], "b": [0.95, 0.97], "c": [0.91, 0.90],
                      "d": [0.50, 0.50]})
    assert [r.name for r in ranks] == ["b", "a", "c", "d"]
    by_name = {r.name: r for r in ranks}
    assert by_name["b"].score_mean == pytest.approx(0.96)
    assert by_name["b"].score_std == pytest.approx(np.std([0.95, 0.97], ddof=1))
    assert by_name["a"].tied_with == ("c",) and by_name["c"].tied_with == ("a",)
    assert by_name["b"].tied_with == () and by_name["d"].tied_with == ()


def test_the_race_ranks_by_the_validation_scores(regression):
    X, y = regression
    race = compare_optimizers(GradientRegressor(max_iter=20), X, y, learning_rates=0.01,
                              n_seeds=2, random_state=0)
    means = [r.score_mean for r in race.ranking_]
    assert means == sorted(means, reverse=True)
    assert {r.name: r.score_mean for r in race.ranking_} == pytest.approx(
        {n: float(np.mean(s)) for n, s in race.validation_score_.items()})


def test_the_reference_is_scikit_learns_exact_minimiser(regression, classification):
    X, y = regression
    est = GradientRegressor(optimizer="gd", learning_rate=0.5, max_iter=3000, tol=None,
                            alpha=0.01)
    fitted = clone(est).fit(X, y)
    reference = reference_solution(est, X, y)
    assert reference.name == f"Ridge(alpha=0.01 * {len(y)})"
    ridge = Ridge(alpha=0.01 * len(y)).fit(X, y)
    np.testing.assert_allclose(reference.estimator.coef_, ridge.coef_, rtol=1e-10)
    # gd converges there: the same objective, from the other side
    assert training_objective(fitted, X, y) == pytest.approx(reference.objective, rel=1e-9)
    assert reference.time_s >= 0
    lasso = reference_solution(clone(est).set_params(penalty="l1"), X, y)
    assert lasso.name == "Lasso(alpha=0.01)"
    gd_l1 = clone(est).set_params(penalty="l1").fit(X, y)
    assert training_objective(gd_l1, X, y) == pytest.approx(lasso.objective, rel=1e-6)
    none = reference_solution(clone(est).set_params(penalty=None), X, y)
    np.testing.assert_allclose(none.estimator.coef_, LinearRegression().fit(X, y).coef_)
    Xc, yc = classification
    clf = GradientClassifier(optimizer="gd", learning_rate=1.0, max_iter=4000, tol=None,
                             alpha=0.01)
    logistic = reference_solution(clf, Xc, yc)
    assert logistic.name == f"LogisticRegression(C=1 / (0.01 * {len(yc)}))"
    assert training_objective(clone(clf).fit(Xc, yc), Xc, yc) == pytest.approx(
        logistic.objective, rel=1e-6)
    assert reference_solution(GradientMLPRegressor(), X, y) is None
    assert reference_solution(GradientRegressor(loss="huber"), X, y) is None
    assert reference_solution(GradientClassifier(class_weight="balanced"), Xc, yc) is None


def test_validation_loss_is_the_estimators_own_loss(regression, classification):
    X, y = regression
    huber = GradientRegressor(loss="huber", epsilon=0.3, max_iter=3, tol=None).fit(X, y)
    r = huber.predict(X) - y
    by_hand = np.where(np.abs(r) <= 0.3, 0.5 * r**2, 0.3 * np.abs(r) - 0.5 * 0.3**2)
    assert validation_loss(huber, X, y) == pytest.approx(by_hand.mean(), rel=1e-12)
    Xc, yc = classification
    hinge = GradientClassifier(loss="hinge", max_iter=3, tol=None).fit(Xc, yc)
    targets = np.where(yc[:, None] == hinge.classes_, 1.0, -1.0)  # one-vs-rest columns
    by_hand = np.maximum(0, 1 - targets * hinge.decision_function(Xc)).sum(axis=1)
    assert validation_loss(hinge, Xc, yc) == pytest.approx(by_hand.mean(), rel=1e-12)
    mlp = GradientMLPClassifier(hidden_layer_sizes=(5,), max_iter=3, tol=None).fit(Xc, yc)
    assert validation_loss(mlp, Xc, yc) == pytest.approx(_log_loss(mlp, Xc, yc), rel=1e-12)
    with pytest.raises(ValueError, match=r"labels that the classifier was not fitted on: "
                                         r"\['dog'\]"):
        validation_loss(mlp, Xc[:2], np.array(["ant", "dog"]))


# ------------------------------------------------------------ bad arguments


@pytest.mark.parametrize("kwargs, error, match", [
    ({"optimizers": ["adam", "newton"]}, ValueError,
     "unknown optimizer 'newton' in optimizers; the optimizers are 'gd', 'sgd', "
     "'momentum', 'rmsprop', 'adam'"),
    ({"optimizers": []}, ValueError, "optimizers is empty"),
    ({"optimizers": ["sgd", "sgd"]}, ValueError, "names an optimizer twice"),
    ({"learning_rates": {"lbfgs": 0.1}}, ValueError,
     "learning_rates has a rate for 'lbfgs', which is not among the optimizers compared"),
    ({"learning_rates": {"adam": -1.0}}, ValueError,
     r"learning_rates\['adam'\] must be a positive number; got -1.0"),
    ({"learning_rates": "auto"}, ValueError, "learning_rates"),
    ({"learning_rates": 0.0}, ValueError, "learning_rates"),
    ({"n_seeds": 0}, ValueError, "n_seeds"),
    ({"validation_fraction": 1.0}, ValueError, "validation_fraction"),
    ({"max_iter": 0}, ValueError, "max_iter"),
    ({"scoring": "no_such_score"}, ValueError, "no_such_score"),
])
def test_bad_arguments_are_clear_errors(regression, kwargs, error, match):
    X, y = regression
    with pytest.raises(error, match=match):
        compare_optimizers(GradientRegressor(max_iter=2), X, y, **{"n_seeds": 1, **kwargs})


def test_an_estimator_not_of_sk_gradopt_is_refused(regression):
    X, y = regression
    for estimator in (Ridge(), make_pipeline(StandardScaler(), Ridge()), GradientRegressor):
        with pytest.raises(TypeError, match="compare_optimizers needs an estimator of "
                                            "sk_gradopt .* got (Ridge|type)"):
            compare_optimizers(estimator, X, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        compare_optimizers(GradientRegressor(), X, y[:-1])


# ----------------------------------------------------------------- display


def test_the_display_draws_means_bands_rates_and_the_optimum(regression):
    X, y = regression
    race = compare_optimizers(GradientRegressor(max_iter=15, batch_size=16), X, y,
                              optimizers=["sgd", "adam"],
                              learning_rates={"sgd": 0.05, "adam": 0.02}, n_seeds=3,
                              random_state=0)
    display = OptimizerComparisonDisplay.from_comparison(race)
    assert len(display.axes_) == 2 and display.ax_ is display.axes_[0]
    for name in ("sgd", "adam"):
        curves = race.train_loss_[name]
        n = int(race.n_iter_[name].min())  # every seed ran these epochs
        np.testing.assert_allclose(display.lines_[name].get_ydata()[:n],
                                   curves[:, :n].mean(axis=0), rtol=1e-12)
        band = display.bands_[name][0].get_paths()[0].vertices[:, 1]
        assert band.min() == pytest.approx(np.nanmin(curves))
        assert band.max() == pytest.approx(np.nanmax(curves))
        assert len(display.validation_lines_[name].get_ydata()) == curves.shape[1]
    labels = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert labels[:2] == ["sgd (lr=0.05)", "adam (lr=0.02)"]
    assert labels[2].startswith("optimum (Ridge(alpha=0.0001 * 96))")
    assert display.reference_line_.get_ydata()[0] == race.reference_.objective
    assert display.ax_.get_yscale() == "log"


def test_the_display_from_an_estimator_and_on_given_axes(classification):
    import matplotlib.pyplot as plt

    X, y = classification
    mlp = GradientMLPClassifier(hidden_layer_sizes=(4,), max_iter=5)
    _, ax = plt.subplots()
    display = OptimizerComparisonDisplay.from_estimator(
        mlp, X, y, ax=ax, validation=False, log_scale=False, optimizers=["adam"],
        learning_rates=0.01, n_seeds=2, random_state=0)
    assert display.axes_ == [ax] and display.validation_lines_ == {}
    assert display.reference_line_ is None and display.comparison_.reference_ is None
    with pytest.raises(ValueError, match="ax must be two Axes"):
        display.plot(ax=ax)
    plt.close("all")
