"""Tuning: search_space, the four searchers, pruning, and parallel searches.

Every search runs a ``StandardScaler`` -> estimator pipeline (but the Optuna
test, whose pruning needs the estimator's own ``partial_fit``) on small data
with a small ``max_iter`` and ``cv=3``, and is checked against a reference
computed another way: a closed form, a cross-validation of the best setting
refitted from scratch, a dense grid, or the serial run.
"""

import doctest
import sys
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import (
    GridSearchCV,
    HalvingRandomSearchCV,
    KFold,
    ParameterGrid,
    ParameterSampler,
    RandomizedSearchCV,
    StratifiedKFold,
    cross_val_score,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import sk_gradopt._search
from sk_gradopt import OPTIMIZERS, GradientClassifier, GradientRegressor, search_space
from sk_gradopt._search import DEFAULT_TRAINING_TOOLS, KINDS

ignore_convergence = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)


def regression_data(n_samples=120, noise=10.0):
    X, y = make_regression(
        n_samples=n_samples, n_features=5, noise=noise, random_state=0
    )
    return X, (y - y.mean()) / y.std()


def classification_data():
    return make_classification(
        n_samples=150, n_features=5, n_informative=3, n_redundant=0, n_classes=3,
        class_sep=1.5, random_state=0,
    )


# The estimator, its data, the exact solution of the same objective on the
# training folds (alpha=1e-4 is Ridge(alpha=alpha * n_train) and
# LogisticRegression(C=1 / (alpha * n_train))) and how close to that solution's
# score (R^2, accuracy) a search must get.
PROBLEMS = {
    "regressor": (GradientRegressor, regression_data, Ridge(alpha=1e-4 * 80), 0.01),
    "classifier": (
        GradientClassifier, classification_data, LogisticRegression(C=1 / (1e-4 * 100)),
        0.04,
    ),
}


def make_problem(name):
    Estimator, data, reference, tolerance = PROBLEMS[name]
    X, y = data()
    step = Estimator.__name__.lower()
    estimator = Estimator(max_iter=30, tol=None, random_state=0)
    pipe = make_pipeline(StandardScaler(), estimator)
    reference_score = cross_val_score(
        make_pipeline(StandardScaler(), reference), X, y, cv=3
    ).mean()
    return pipe, X, y, step + "__", reference_score, tolerance


@pytest.fixture(autouse=True, scope="module")
def single_threaded_blas():
    """One BLAS thread: every matrix here is tiny, and spare BLAS threads that
    spin-wait make skopt's Gaussian-process fits several times slower on a
    busy machine (results are the same)."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


# ------------------------------------------------------------- search_space


def test_docstring_examples():
    result = doctest.testmod(sk_gradopt._search)
    assert result.attempted > 0
    assert result.failed == 0


# Two different values of each setting an optimizer might read.
SETTINGS = {
    "learning_rate": (0.01, 0.03),
    "schedule": ("constant", "cosine"),
    "momentum": (0.5, 0.9),
    "nesterov": (False, True),
    "rho": (0.9, 0.99),
    "beta_1": (0.8, 0.9),
    "beta_2": (0.99, 0.999),
    "momentum_decay": (4e-3, 0.05),
    "eps": (1e-8, 1e-1),
    "batch_size": (16, 64),
    "weight_decay": (0.0, 1e-2),
    "max_grad_norm": (None, 0.1),
    "warmup_steps": (0, 10),
}

# The training tools: every optimizer reads them, and search_space adds them
# to every space only when asked.
TOOLS = ("weight_decay", "max_grad_norm", "warmup_steps")
ALL_TOOLS = dict.fromkeys(TOOLS, True)


def settings_that_change_the_fit(optimizer):
    """The settings whose value changes the fitted coefficients, found by fitting."""
    X, y = regression_data(n_samples=100)
    # RAdam takes its plain momentum steps until about step 6, before beta_2 counts.
    max_iter = 8 if optimizer == "radam" else 3
    used = set()
    for name, (a, b) in SETTINGS.items():
        fits = [
            GradientRegressor(optimizer=optimizer, max_iter=max_iter, tol=None, random_state=0,
                              **{name: value}).fit(X, y).coef_
            for value in (a, b)
        ]
        if not np.array_equal(*fits):
            used.add(name)
    return used


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_space_holds_only_what_the_optimizer_reads(optimizer):
    used = settings_that_change_the_fit(optimizer)
    # The optimizer's own settings, as the estimators document them.
    assert {"learning_rate", "schedule"} <= used
    assert ("batch_size" in used) == (optimizer != "gd")
    for kind in KINDS:
        space = search_space(optimizer, kind, schedule=["constant", "cosine"])
        assert set(space) - {"optimizer"} <= used, kind
        assert {"learning_rate", "schedule"} <= set(space)
        assert ("batch_size" in space) == (optimizer != "gd")
    # All the decays of the optimizer are searched (eps is left out on purpose).
    assert set(search_space(optimizer, "random")) == (
        used - {"eps", "schedule", *TOOLS}) | {"optimizer"}
    # The training tools change every optimizer's fit, and join its space when asked.
    assert set(TOOLS) <= used
    for kind in KINDS:
        assert set(search_space(optimizer, kind, **ALL_TOOLS)) - {"optimizer"} <= used
        assert set(TOOLS) <= set(search_space(optimizer, kind, **ALL_TOOLS))


def _validated(params):
    estimator = GradientRegressor().set_params(**params)
    estimator._validate_params()  # raises on a value outside the constraints
    return estimator


def test_every_point_of_every_space_is_a_valid_setting():
    skopt_space = pytest.importorskip("skopt.space")
    rng = np.random.RandomState(0)
    for space in search_space("all", "grid", **ALL_TOOLS):
        for params in ParameterGrid(space):
            _validated(params)
    for space in search_space("all", "random", **ALL_TOOLS):
        for params in ParameterSampler(space, n_iter=30, random_state=rng):
            _validated(params)
    for space in search_space("all", "bayes", schedule="cosine", **ALL_TOOLS):
        names = sorted(space)
        points = skopt_space.Space([space[name] for name in names]).rvs(30, random_state=0)
        for point in points:
            _validated({name: np.array(value).item() for name, value in zip(names, point)})


def test_shapes_prefix_and_learning_rate_range():
    # One optimizer: a dict naming it; "all" or a list: one dict per optimizer.
    assert search_space("sgd")["optimizer"] == ["sgd"]
    spaces = search_space("all", "random")
    assert [space["optimizer"] for space in spaces] == [[name] for name in OPTIMIZERS]
    assert [s["optimizer"] for s in search_space(["adam", "gd"])] == [["adam"], ["gd"]]

    space = search_space("momentum", prefix="gradientregressor__")
    assert all(key.startswith("gradientregressor__") for key in space)
    pipe = make_pipeline(StandardScaler(), GradientRegressor())
    pipe.set_params(**{key: values[-1] for key, values in space.items()})
    assert pipe[-1].momentum == space["gradientregressor__momentum"][-1]

    grid = search_space("gd", learning_rate=(1e-4, 1e4))["learning_rate"]
    np.testing.assert_allclose(grid, 10.0 ** np.arange(-4, 5))
    draws = search_space("adam", "random", learning_rate=(1e-3, 1e-1))["learning_rate"]
    draws = draws.rvs(size=2000, random_state=0)
    assert draws.min() >= 1e-3 and draws.max() <= 1e-1
    # Log-uniform: as many draws per decade.
    assert abs(np.mean(draws < 1e-2) - 0.5) < 0.05


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"optimizer": "adamw"}, "'gd', 'sgd', 'momentum', 'rmsprop', 'adam', 'adagrad', "
                                 "'adadelta', 'adamax', 'nadam', 'radam', 'all'"),
        ({"optimizer": ["adam", "newton"]}, r"Unknown optimizer\(s\) \['newton'\]"),
        ({"optimizer": []}, "non-empty list"),
        ({"kind": "halving"}, "'grid', 'random', 'bayes'"),
        ({"prefix": "gradientregressor"}, "followed by '__'"),
        ({"learning_rate": (1.0, 0.1)}, "0 < low < high"),
        ({"learning_rate": 0.1}, "pair"),
        ({"schedule": ["constant", "step"]}, "'constant', 'invscaling', 'adaptive', 'cosine'"),
        ({"weight_decay": [-0.1]}, r"True \(search \[0.0, 0.0001, 0.001, 0.01\]\)"),
        ({"max_grad_norm": [0.0]}, r"numbers > 0 or None \(no clipping\)"),
        ({"warmup_steps": 10}, r"non-empty list of integers >= 0"),
    ],
)
def test_invalid_arguments_name_the_valid_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        search_space(**kwargs)


def test_bayes_without_skopt_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "skopt", None)  # makes `import skopt` fail
    with pytest.raises(ImportError, match=r"pip install sk-gradopt\[skopt\]"):
        search_space("adam", "bayes")
    assert search_space("adam", "random")  # the other kinds don't need it


# ------------------------------------------------------------- the searchers


def make_search(searcher, pipe, prefix):
    if searcher == "grid":
        return GridSearchCV(pipe, search_space("all", prefix=prefix, batch_size=False), cv=3)
    if searcher == "random":
        return RandomizedSearchCV(
            pipe, search_space("all", "random", prefix=prefix), n_iter=15, cv=3,
            random_state=0,
        )
    if searcher == "halving":
        return HalvingRandomSearchCV(
            pipe, search_space("all", "random", prefix=prefix), n_candidates=27,
            resource=prefix + "max_iter", min_resources=3, max_resources=27, factor=3,
            cv=3, random_state=0,
        )
    skopt = pytest.importorskip("skopt")
    return skopt.BayesSearchCV(
        pipe, search_space(["gd", "sgd"], "bayes", prefix=prefix), n_iter=6, cv=3,
        random_state=0, optimizer_kwargs={"n_initial_points": 3},
    )


@ignore_convergence
@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("searcher", ["grid", "random", "halving", "bayes"])
def test_searcher_tunes_a_pipeline(searcher, problem):
    pipe, X, y, prefix, reference_score, tolerance = make_problem(problem)
    search = make_search(searcher, pipe, prefix).fit(X, y)
    best = dict(search.best_params_)

    # The best setting, refitted from scratch by an independent
    # cross-validation, scores what the search recorded for it: the step__
    # names reached the estimator.
    assert all(name.startswith(prefix) for name in best)
    refitted = cross_val_score(clone(pipe).set_params(**best), X, y, cv=3)
    recorded = [search.cv_results_[f"split{i}_test_score"][search.best_index_]
                for i in range(3)]
    np.testing.assert_allclose(refitted, recorded, rtol=1e-12)
    for name, value in best.items():
        assert search.best_estimator_[-1].get_params()[name[len(prefix):]] == value
    # And the search found a setting as good as the exact solution's.
    assert search.best_score_ >= reference_score - tolerance

    if searcher == "halving":
        # Every round fitted exactly its budget of epochs (tol=None).
        resources = search.cv_results_[f"param_{prefix}max_iter"]
        np.testing.assert_array_equal(
            resources, np.array(search.n_resources_)[search.cv_results_["iter"]]
        )
        assert search.n_resources_ == [3, 9, 27]
        assert search.best_estimator_[-1].n_iter_ == best[prefix + "max_iter"] == 27
        assert search.n_candidates_[0] > search.n_candidates_[-1]
    if searcher == "bayes":
        # One subspace per optimizer, n_iter points each; gd never gets a batch size.
        assert len(search.cv_results_["params"]) == search.total_iterations == 12
        for params in search.cv_results_["params"]:
            assert (prefix + "batch_size" in params) == (params[prefix + "optimizer"] != "gd")


def stable_gd_learning_rate(X_train, alpha):
    """2 / L for full-batch gd on the standardized least-squares objective."""
    Z = StandardScaler().fit_transform(X_train)
    Z = np.hstack([Z, np.ones((Z.shape[0], 1))])
    hessian = Z.T @ Z / Z.shape[0] + alpha * np.diag([1.0] * (Z.shape[1] - 1) + [0.0])
    return 2.0 / np.linalg.eigvalsh(hessian).max()


def test_search_over_diverging_learning_rates_scores_finite_and_avoids_them():
    pipe, X, y, prefix, reference_score, _ = make_problem("regressor")
    pipe.set_params(**{prefix + "max_iter": 50})
    space = search_space("all", learning_rate=(1e-4, 1e4), batch_size=False, prefix=prefix)
    search = GridSearchCV(pipe, space, cv=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        search.fit(X, y)
    diverged = [w for w in caught if "diverged" in str(w.message)]
    assert diverged, "the grid should include learning rates that diverge"

    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all()
    assert np.isfinite(search.best_score_)

    # For full-batch gd the divergence threshold is known: 2 / L, with L the
    # largest eigenvalue of the objective's Hessian on each training fold.
    thresholds = [stable_gd_learning_rate(X[train], alpha=1e-4)
                  for train, _ in KFold(3).split(X)]  # the folds of cv=3
    gd_rates = np.array(space[0][prefix + "learning_rate"])
    # No grid rate within 25% of a fold's threshold: each clearly converges
    # or clearly diverges.
    assert not any(((t / 1.25 < gd_rates) & (gd_rates < 1.25 * t)).any()
                   for t in thresholds)
    params = search.cv_results_["params"]
    gd_scores = {p[prefix + "learning_rate"]: s for p, s in zip(params, scores)
                 if p[prefix + "optimizer"] == "gd"}
    best_gd_rate = max(gd_scores, key=gd_scores.get)
    assert best_gd_rate < min(thresholds)
    above = [rate for rate in gd_scores if rate > max(thresholds)]
    assert above and all(gd_scores[rate] < gd_scores[best_gd_rate] - 0.5 for rate in above)

    # The search picked a setting whose refit does not diverge, and scores as
    # the exact solution does.
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clone(pipe).set_params(**search.best_params_).fit(X, y)
    assert search.best_score_ >= reference_score - 0.01


@ignore_convergence
def test_bayes_matches_a_dense_grid_with_a_quarter_of_the_fits():
    skopt = pytest.importorskip("skopt")
    X, y = regression_data(n_samples=150, noise=20.0)
    # Mini-batch SGD on a budget of 3 epochs: too small a learning rate does
    # not get anywhere, too large a one is noisy or diverges.
    pipe = make_pipeline(
        StandardScaler(),
        GradientRegressor(optimizer="sgd", batch_size=16, max_iter=3, tol=None,
                          random_state=0),
    )
    rates = np.geomspace(1e-4, 10.0, 48)
    grid = GridSearchCV(
        pipe, {"gradientregressor__learning_rate": rates}, cv=3
    ).fit(X, y)
    grid_fits = len(grid.cv_results_["params"]) * grid.n_splits_
    # The problem is not flat: most of the grid is far from its best.
    assert np.median(grid.cv_results_["mean_test_score"]) < 0.5 * grid.best_score_

    space = search_space("sgd", "bayes", learning_rate=(1e-4, 10.0), batch_size=False,
                         prefix="gradientregressor__")
    # Random state 0 is not cherry-picked: seeds 0-4 all land within 0.03%.
    bayes = skopt.BayesSearchCV(
        pipe, space, n_iter=12, cv=3, random_state=0,
        optimizer_kwargs={"n_initial_points": 5},
    ).fit(X, y)
    bayes_fits = len(bayes.cv_results_["params"]) * bayes.n_splits_
    assert bayes_fits * 4 == grid_fits
    assert bayes.best_score_ >= grid.best_score_ - 0.01 * abs(grid.best_score_)


# ------------------------------------------------------- online tuning (Optuna)


@ignore_convergence
@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
@pytest.mark.filterwarnings("ignore:.*optuna.terminator.*:FutureWarning")
def test_optuna_pruning_drives_partial_fit_one_epoch_at_a_time():
    optuna = pytest.importorskip("optuna")
    optuna_integration = pytest.importorskip("optuna_integration")
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    X, y = classification_data()
    X = StandardScaler().fit_transform(X)  # pruning needs the estimator's partial_fit
    max_iter = 8
    estimator = GradientClassifier(random_state=0)
    search = optuna_integration.OptunaSearchCV(
        estimator,
        {
            "optimizer": CategoricalDistribution(["momentum", "adam"]),
            "learning_rate": FloatDistribution(1e-4, 1.0, log=True),
        },
        enable_pruning=True, max_iter=max_iter, n_trials=12, cv=3,
        scoring="neg_log_loss", random_state=0,
    ).fit(X, y)

    states = [trial.state for trial in search.trials_]
    assert optuna.trial.TrialState.PRUNED in states
    assert search.best_trial_.state == optuna.trial.TrialState.COMPLETE
    # Each trial reported the cross-validated score after each partial_fit
    # call. partial_fit called k times (classes= on the first call, optimizer
    # state kept) is fit with max_iter=k and tol=None: check it on the
    # complete trials' curves, whose optimizers (momentum, Adam) carry state.
    cv = StratifiedKFold(3)
    for trial in search.trials_:
        if trial.state != optuna.trial.TrialState.COMPLETE:
            assert len(trial.intermediate_values) < max_iter
            continue
        assert sorted(trial.intermediate_values) == list(range(max_iter))
        for epochs in (1, max_iter):
            fitted = clone(estimator).set_params(max_iter=epochs, tol=None, **trial.params)
            reference = cross_val_score(fitted, X, y, cv=cv, scoring="neg_log_loss")
            np.testing.assert_allclose(
                trial.intermediate_values[epochs - 1], reference.mean(), rtol=1e-10
            )


# ------------------------------------------------------- parallel searches


def parallel_searches(n_jobs):
    """A grid and a Bayesian search, run with ``n_jobs``."""
    pipe, X, y, prefix, _, _ = make_problem("regressor")
    grid = GridSearchCV(
        pipe, search_space(["sgd", "adam"], prefix=prefix), cv=3, n_jobs=n_jobs
    )
    searches = {"grid": grid}
    skopt = pytest.importorskip("skopt")
    # n_points candidates per step are fitted in parallel; the last step's
    # come from the Gaussian process fitted to the first ones.
    searches["bayes"] = skopt.BayesSearchCV(
        pipe, search_space("sgd", "bayes", prefix=prefix), n_iter=6,
        n_points=2, cv=3, n_jobs=n_jobs, random_state=0,
        optimizer_kwargs={"n_initial_points": 4},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return {name: search.fit(X, y) for name, search in searches.items()}


@pytest.fixture(scope="module")
def serial_searches():
    return parallel_searches(n_jobs=None)


def assert_same_results(parallel, serial):
    for name, search in serial.items():
        other = parallel[name]
        assert [dict(p) for p in other.cv_results_["params"]] == [
            dict(p) for p in search.cv_results_["params"]
        ], name
        np.testing.assert_allclose(
            other.cv_results_["mean_test_score"], search.cv_results_["mean_test_score"],
            rtol=1e-12, err_msg=name,
        )
        assert dict(other.best_params_) == dict(search.best_params_), name


def test_loky_search_equals_serial(serial_searches):
    assert_same_results(parallel_searches(n_jobs=-1), serial_searches)


def test_dask_search_on_a_local_cluster_equals_serial(serial_searches):
    joblib = pytest.importorskip("joblib")
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
        dashboard_address=None,
    ) as cluster, distributed.Client(cluster) as client:
        with joblib.parallel_backend("dask"):
            searches = parallel_searches(n_jobs=-1)
        # The fits ran on the cluster's worker processes.
        assert set(client.run(lambda: "sk_gradopt" in sys.modules).values()) == {True}
    assert_same_results(searches, serial_searches)


@pytest.mark.parametrize("low, high", [(1e-300, 1e300), (5e-324, 1.0), (1.0, 1.7e308)])
def test_extreme_learning_rate_ranges_work_in_every_kind(low, high):
    # the grid's "one value per decade" divided high by low, which overflowed
    grid = search_space("gd", learning_rate=(low, high))["learning_rate"]
    assert grid[0] == pytest.approx(low) and grid[-1] == pytest.approx(high)
    assert len(grid) == round(np.log10(high) - np.log10(low)) + 1
    assert all(0 < value < np.inf for value in grid)
    draws = search_space("gd", "random", learning_rate=(low, high))["learning_rate"]
    draws = draws.rvs(size=200, random_state=0)
    assert np.all((draws >= low * (1 - 1e-9)) & (draws <= high))
    # log-uniform: about half the draws below the geometric middle
    middle = 10 ** ((np.log10(low) + np.log10(high)) / 2)
    assert 0.35 < np.mean(draws < middle) < 0.65
    skopt_space = pytest.importorskip("skopt.space")
    real = search_space("gd", "bayes", learning_rate=(low, high))["learning_rate"]
    assert isinstance(real, skopt_space.Real)
    assert (real.low, real.high) == (low, high)


@ignore_convergence
@pytest.mark.parametrize("sizes", [[8, 16], [1], [5, "auto"]])
def test_explicit_batch_sizes_are_the_ones_searched(sizes):
    # a list used to be read as True: the default [32, 128] was searched instead
    for kind in ("grid", "random"):
        for space in search_space("all", kind, batch_size=sizes):
            if space["optimizer"] == ["gd"]:
                assert "batch_size" not in space
            else:
                assert space["batch_size"] == sizes
    X, y = regression_data(n_samples=60)
    search = GridSearchCV(GradientRegressor(max_iter=2, tol=None),
                          search_space("sgd", batch_size=sizes), cv=2).fit(X, y)
    assert sorted(map(str, set(search.cv_results_["param_batch_size"]))) == sorted(
        map(str, sizes))
    skopt_space = pytest.importorskip("skopt.space")
    dimension = search_space("adam", "bayes", batch_size=sizes)["batch_size"]
    assert isinstance(dimension, skopt_space.Categorical)
    assert list(dimension.categories) == sizes


def test_batch_size_false_or_true():
    assert "batch_size" not in search_space("adam", batch_size=False)
    assert search_space("adam", batch_size=True)["batch_size"] == [32, 128]
    assert search_space("adam", batch_size=np.True_)["batch_size"] == [32, 128]


def test_search_space_adds_the_mlp_structure_to_every_space():
    spaces = search_space("all", "grid", prefix="mlp__", hidden_layer_sizes=[(8,), (16, 8)],
                          activation=["relu", "tanh"])
    for space in spaces:
        assert space["mlp__hidden_layer_sizes"] == [(8,), (16, 8)]
        assert space["mlp__activation"] == ["relu", "tanh"]
    bayes = pytest.importorskip("skopt")
    space = search_space("adam", "bayes", hidden_layer_sizes=[(8,), (16, 8)])
    assert list(space["hidden_layer_sizes"].categories) == ["8", "16,8"]
    assert bayes is not None


@pytest.mark.parametrize("kind", ["grid", "random", "bayes"])
def test_a_search_over_mlp_structures_fits_each_structure(kind):
    pytest.importorskip("skopt")
    from skopt import BayesSearchCV
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    from sk_gradopt import GradientMLPRegressor

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = np.tanh(X[:, 0]) + X[:, 1] * X[:, 2]
    space = search_space("adam", kind, learning_rate=(1e-2, 1e-1), batch_size=False,
                         hidden_layer_sizes=[(4,), (8, 4)], activation=["tanh"])
    est = GradientMLPRegressor(max_iter=5, tol=None, random_state=0)
    Search = {"grid": GridSearchCV, "random": RandomizedSearchCV, "bayes": BayesSearchCV}[kind]
    extra = {} if kind == "grid" else {"n_iter": 6, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search = Search(est, space, cv=2, **extra).fit(X, y)
    structures = {str(p["hidden_layer_sizes"]) for p in search.cv_results_["params"]}
    assert structures <= {"(4,)", "(8, 4)", "4", "8,4"} and len(structures) == 2
    n_layers = {GradientMLPRegressor(hidden_layer_sizes=p["hidden_layer_sizes"], max_iter=1)
                .fit(X, y).n_layers_ for p in search.cv_results_["params"]}
    assert n_layers == {3, 4}


# ------------------------------------------------------ the training tools


def test_true_searches_the_default_sets_in_every_kind_and_a_list_those_values():
    skopt_space = pytest.importorskip("skopt.space")
    for kind in KINDS:
        for space in search_space("all", kind, **ALL_TOOLS):
            for name in TOOLS:
                values = space[name]
                if kind == "bayes":
                    assert isinstance(values, skopt_space.Categorical)
                    values = list(values.categories)
                assert values == DEFAULT_TRAINING_TOOLS[name], (kind, name)
    space = search_space("adam", "grid", weight_decay=[0, 0.05, 0.0], max_grad_norm=(None, 2),
                         warmup_steps=[np.int64(5)])
    assert space["weight_decay"] == [0.0, 0.05]  # as floats, without duplicates
    assert space["max_grad_norm"] == [None, 2.0] and space["warmup_steps"] == [5]
    assert all(type(v) is float for v in space["weight_decay"])
    assert not set(TOOLS) & set(search_space("adam"))  # None: the estimator's own


@ignore_convergence
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_each_searched_tool_value_reaches_the_estimator_and_changes_the_fit(optimizer):
    X, y = regression_data(n_samples=100)
    y = 100 * y  # a gradient norm far above 10 at first: every threshold clips
    estimator = GradientRegressor(optimizer=optimizer, learning_rate=0.01, max_iter=3,
                                  tol=None, random_state=0)
    space = search_space(optimizer, **ALL_TOOLS)
    for name in TOOLS:
        values = space[name]
        search = GridSearchCV(estimator, {name: values}, cv=2).fit(X, y)
        assert [params[name] for params in search.cv_results_["params"]] == values
        # every value gives its own scores, and the refit holds the best one
        scores = search.cv_results_["mean_test_score"]
        assert len(set(scores.tolist())) == len(values), (name, scores)
        assert search.best_estimator_.get_params()[name] == search.best_params_[name]
        # fitted by hand with each value: the coefficients all differ
        coefs = [clone(estimator).set_params(**{name: value}).fit(X, y).coef_
                 for value in values]
        for i in range(len(values)):
            for j in range(i):
                assert not np.array_equal(coefs[i], coefs[j]), (name, values[i], values[j])
        # and the search scored exactly those fits (per fold)
        for params, split0 in zip(search.cv_results_["params"],
                                  search.cv_results_["split0_test_score"]):
            refit = cross_val_score(clone(estimator).set_params(**params), X, y, cv=2)
            assert refit[0] == pytest.approx(split0, rel=1e-12)


@ignore_convergence
def test_a_bayes_search_over_the_training_tools_runs():
    skopt = pytest.importorskip("skopt")
    pipe, X, y, prefix, _, _ = make_problem("regressor")
    space = search_space(["sgd", "adam"], "bayes", prefix=prefix, batch_size=False,
                         learning_rate=(1e-3, 1e-1), **ALL_TOOLS)
    search = skopt.BayesSearchCV(
        pipe, space, n_iter=6, cv=2, random_state=0,
        optimizer_kwargs={"n_initial_points": 3, "acq_optimizer": "sampling"},
    ).fit(X, y)
    results = search.cv_results_
    assert len(results["params"]) == 12
    assert np.isfinite(results["mean_test_score"]).all()  # no fit was refused
    for name in TOOLS:
        searched = [params[prefix + name] for params in results["params"]]
        assert set(searched) <= set(DEFAULT_TRAINING_TOOLS[name]), name
        assert len(set(searched)) > 1, name  # the surrogate moved along each of them
    assert None in [params[prefix + "max_grad_norm"] for params in results["params"]]
    best = search.best_estimator_[-1].get_params()
    for name, value in search.best_params_.items():
        assert best[name[len(prefix):]] == value



@ignore_convergence
def test_average_is_searched_when_asked():
    assert "average" not in search_space("adam")
    assert search_space("sgd", average=True)["average"] == [False, True]
    space = search_space("adam", average=[np.bool_(False), 0.9, True, 0.9])
    assert space["average"] == [False, 0.9, True]
    assert type(space["average"][0]) is bool and type(space["average"][1]) is float
    for bad in ([1.0], [0.0], [-0.5], "equal", []):
        with pytest.raises(ValueError, match=r"average must be None .* decays in \(0, 1\)"):
            search_space("adam", average=bad)
    X, y = regression_data(n_samples=100)
    estimator = GradientRegressor(optimizer="sgd", learning_rate=0.01, max_iter=3, tol=None,
                                  random_state=0)
    search = GridSearchCV(estimator, {"average": space["average"]}, cv=2).fit(X, y)
    assert [p["average"] for p in search.cv_results_["params"]] == [False, 0.9, True]
    assert len(set(search.cv_results_["mean_test_score"].tolist())) == 3


# ------------------------------------------------------- schedule objects


@ignore_convergence
@pytest.mark.parametrize("kind", ["grid", "random"])
def test_schedule_objects_and_their_parameters_in_a_search(kind):
    from scipy.stats import uniform

    from sk_gradopt.schedules import ExponentialLR, StepLR

    X, y = regression_data(n_samples=60)
    gamma = [1e-3, 0.9] if kind == "grid" else uniform(0.5, 0.45)
    space = search_space("sgd", kind, learning_rate=(0.01, 0.1), batch_size=[16],
                         schedule=[ExponentialLR(0.5), StepLR(step_size=2)],
                         schedule_params={"gamma": gamma})
    assert space["schedule__gamma"] is gamma or space["schedule__gamma"] == gamma
    Search = GridSearchCV if kind == "grid" else RandomizedSearchCV
    extra = {} if kind == "grid" else {"n_iter": 4, "random_state": 0}
    search = Search(GradientRegressor(max_iter=4, tol=None, random_state=0), space, cv=2,
                    **extra).fit(X, y)
    best = search.best_estimator_
    assert best.schedule.gamma == search.best_params_["schedule__gamma"]
    assert type(best.schedule) is type(search.best_params_["schedule"])
    if kind == "grid":  # a rate of 1e-3 ** epoch learns next to nothing after one epoch
        assert search.best_params_["schedule__gamma"] == 0.9
    # the searcher cloned the objects: the space's own are untouched
    assert space["schedule"][0].gamma == 0.5


@pytest.mark.parametrize("kwargs, message", [
    ({"schedule": ["constant"], "schedule_params": {"gamma": [0.5]}},
     "schedule_params searches the parameters of schedule objects"),
    ({"schedule": "StepLR", "schedule_params": None}, "a schedule object of sk_gradopt"),
    ({"schedule": "__step", "schedule_params": {"gamma": [0.5]}}, "not valid"),
    ({"schedule": "STEP", "schedule_params": {"patience": [1]}}, "StepLR has no parameter"),
    ({"schedule": "STEP", "schedule_params": {"gamma": []}}, "non-empty list"),
    ({"schedule": "STEP", "schedule_params": [0.5]}, "pass a dict"),
])
def test_bad_schedule_params_name_the_fix(kwargs, message):
    from sk_gradopt.schedules import StepLR

    if kwargs["schedule"] == "STEP":
        kwargs = {**kwargs, "schedule": StepLR(step_size=2)}
    with pytest.raises(ValueError, match=message):
        search_space("sgd", **kwargs)
