"""GradientMLPRegressor and GradientMLPClassifier against independent references.

scikit-learn's MLP (its initial weights bit for bit, its ``solver="sgd"``
trajectories epoch by epoch), ``torch.optim`` (all five optimizers on the same
network), finite differences (every loss x activation), and the behaviour the
linear estimators already have (partial_fit, warm_start, early stopping,
divergence, callbacks, array-API namespaces).
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context
from sklearn.datasets import load_digits, make_friedman1, make_moons, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

import sk_gradopt._base as base_module
from sk_gradopt import (
    OPTIMIZERS,
    GradientMLPClassifier,
    GradientMLPRegressor,
    LossCurveDisplay,
)
from sk_gradopt._losses import CLASSIFICATION_LOSSES, REGRESSION_LOSSES, get_loss
from sk_gradopt._models import ACTIVATIONS, init_mlp, mlp_model
from sk_gradopt._optimizers import DEFAULT_RACE
from sk_gradopt._tree import Layer, tree_leaves

N, D = 60, 4


def _data(task, dtype="float64"):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D)).astype(dtype)
    z = np.tanh(X @ rng.standard_normal(D)) + 0.1 * rng.standard_normal(N)
    if task == "regression":
        return X, z.astype(dtype)
    if task == "multioutput":
        return X, np.c_[z, X[:, 0] * X[:, 1]].astype(dtype)
    if task == "binary":
        return X, (z > 0).astype(int)
    return X, np.digitize(z, np.quantile(z, [1 / 3, 2 / 3]))  # 3 classes


def _classes(y):
    return {"classes": np.unique(y)} if y.dtype.kind == "i" else {}


def _estimator(task):
    return GradientMLPRegressor if task in ("regression", "multioutput") else GradientMLPClassifier


# ----------------------------------------------------- initial weights


@pytest.mark.parametrize("task", ["regression", "multioutput", "binary", "multiclass"])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("hidden", [(5,), (7, 3)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_initial_weights_are_sklearns_bit_for_bit(monkeypatch, task, activation, hidden, dtype):
    X, y = _data(task, dtype)
    Sklearn = MLPRegressor if task in ("regression", "multioutput") else MLPClassifier
    # Both fits stop right after the initialisation: what is fitted is the start.
    monkeypatch.setattr(Sklearn, "_fit_stochastic", lambda self, *args, **kwargs: None)
    monkeypatch.setattr(base_module, "train",
                        lambda data, validation, progress, config, **kwargs: progress)
    reference = Sklearn(solver="sgd", hidden_layer_sizes=hidden, activation=activation,
                        random_state=3).fit(X, y)
    # early_stopping draws its split from the same generator: after the weights.
    ours = _estimator(task)(hidden_layer_sizes=hidden, activation=activation,
                            early_stopping=True, random_state=3).fit(X, y)
    assert len(ours.coefs_) == len(reference.coefs_) == len(hidden) + 1
    for mine, theirs in zip(ours.coefs_ + ours.intercepts_,
                            reference.coefs_ + reference.intercepts_):
        assert mine.dtype == theirs.dtype == np.dtype(dtype)
        assert_array_equal(mine, theirs)
    assert (ours.n_layers_, ours.n_outputs_, ours.out_activation_) == (
        reference.n_layers_, reference.n_outputs_, reference.out_activation_)


# ------------------------------------------- trajectories: scikit-learn


@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
@pytest.mark.parametrize("how", ["gd", "momentum", "nesterov", "mini-batch"])
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic"])
def test_sgd_trajectories_equal_sklearns_epoch_by_epoch(task, how, activation):
    X, y = _data(task)
    lr, batch = 0.1, (16 if how == "mini-batch" else N)
    mu = 0.0 if how in ("gd", "mini-batch") else 0.9
    Sklearn = MLPRegressor if task == "regression" else MLPClassifier
    reference = Sklearn(solver="sgd", hidden_layer_sizes=(6, 5), activation=activation,
                        learning_rate_init=lr, momentum=mu, nesterovs_momentum=how == "nesterov",
                        batch_size=batch, shuffle=False, alpha=0.0, random_state=0)
    optimizer = {"gd": "gd", "mini-batch": "sgd"}.get(how, "momentum")
    ours = _estimator(task)(hidden_layer_sizes=(6, 5), activation=activation,
                            optimizer=optimizer, learning_rate=lr, momentum=mu,
                            nesterov=how == "nesterov", batch_size=batch, shuffle=False,
                            penalty=None, random_state=0)
    for epoch in range(8):
        reference.partial_fit(X, y, **_classes(y))
        ours.partial_fit(X, y, **_classes(y))
        for mine, theirs in zip(ours.coefs_ + ours.intercepts_,
                                reference.coefs_ + reference.intercepts_):
            scale = np.max(np.abs(theirs))
            assert_allclose(mine, theirs, rtol=1e-9, atol=1e-9 * scale,
                            err_msg=f"epoch {epoch + 1}")
    assert ours.t_ == 8 * -(-N // batch)


# ------------------------------------------------ trajectories: torch


def _torch_trajectory(torch, params, X, y, task, optimizer, lr, batch_size, n_epochs,
                      activation, hyper):
    """The same network trained by ``torch.optim`` on batches in order."""
    tensors = []
    for layer in params:
        tensors += [torch.tensor(np.array(layer.coef), requires_grad=True),
                    torch.tensor(np.array(layer.intercept), requires_grad=True)]
    act = {"relu": torch.relu, "tanh": torch.tanh, "logistic": torch.sigmoid,
           "identity": lambda z: z}[activation]
    Optimizer = {
        "gd": lambda p: torch.optim.SGD(p, lr=lr),
        "sgd": lambda p: torch.optim.SGD(p, lr=lr),
        "momentum": lambda p: torch.optim.SGD(p, lr=lr, momentum=hyper["momentum"],
                                              nesterov=hyper["nesterov"]),
        "rmsprop": lambda p: torch.optim.RMSprop(p, lr=lr, alpha=hyper["rho"],
                                                 eps=hyper["eps"]),
        "adam": lambda p: torch.optim.Adam(p, lr=lr, betas=(hyper["beta_1"], hyper["beta_2"]),
                                           eps=hyper["eps"]),
    }[optimizer](tensors)
    Xt = torch.tensor(X)
    for _ in range(n_epochs):
        for start in range(0, len(X), batch_size):
            a = Xt[start:start + batch_size]
            for i in range(0, len(tensors) - 2, 2):
                a = act(a @ tensors[i] + tensors[i + 1])
            raw = a @ tensors[-2] + tensors[-1]
            target = y[start:start + batch_size]
            if task == "regression":
                loss = 0.5 * ((raw[:, 0] - torch.tensor(target)) ** 2).mean()
            elif task == "binary":
                sign = torch.tensor(np.where(target == 1, 1.0, -1.0))
                loss = torch.nn.functional.softplus(-sign * raw[:, 0]).mean()
            else:
                loss = torch.nn.functional.cross_entropy(raw, torch.tensor(target))
            Optimizer.zero_grad()
            loss.backward()
            Optimizer.step()
    return [t.detach().numpy() for t in tensors]


@pytest.mark.parametrize("optimizer", DEFAULT_RACE)  # the others: test_optimizer_family.py
@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
def test_every_optimizer_follows_torch_optim(optimizer, task):
    torch = pytest.importorskip("torch")
    X, y = _data(task)
    hyper = dict(momentum=0.8, nesterov=optimizer == "momentum" and task == "binary",
                 rho=0.9, beta_1=0.8, beta_2=0.99, eps=1e-7)
    lr = {"gd": 0.2, "sgd": 0.1, "momentum": 0.05}.get(optimizer, 0.01)
    batch = N if optimizer == "gd" else 16
    ours = _estimator(task)(hidden_layer_sizes=(6, 5), activation="tanh",
                            optimizer=optimizer, learning_rate=lr, batch_size=batch,
                            shuffle=False, penalty=None, max_iter=6, tol=None,
                            random_state=0, **hyper)
    start = _estimator(task)(hidden_layer_sizes=(6, 5), activation="tanh", random_state=0)
    start._rng = np.random.RandomState(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X, y)
    n_outputs = ours.n_outputs_
    initial = init_mlp([D, 6, 5, n_outputs], "tanh", np.random.RandomState(0),
                       xp=np, dtype=np.float64, device=None)
    expected = _torch_trajectory(torch, initial, X, y, task, optimizer, lr, batch, 6,
                                 "tanh", hyper)
    mine = [a for layer in zip(ours.coefs_, ours.intercepts_) for a in layer]
    for got, want in zip(mine, expected):
        assert_allclose(got, want, rtol=1e-9, atol=1e-9 * np.max(np.abs(want)))


# ------------------------------------------------- finite differences


@pytest.mark.parametrize("loss", REGRESSION_LOSSES + CLASSIFICATION_LOSSES + ("multinomial",))
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_gradients_match_finite_differences(loss, activation):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((12, 3))
    sample_weight = rng.uniform(0.5, 2.0, 12)
    n_outputs = 3 if loss == "multinomial" else 2 if loss in REGRESSION_LOSSES else 1
    if loss in REGRESSION_LOSSES:
        Y = rng.standard_normal((12, n_outputs))
    elif loss == "multinomial":
        Y = np.eye(3)[rng.integers(0, 3, 12)]
    else:
        Y = rng.choice([-1.0, 1.0], (12, 1))
    loss_fn = get_loss("log_loss" if loss == "multinomial" else loss, epsilon=0.05,
                       n_classes=3 if loss == "multinomial" else 2)
    model = mlp_model(activation)
    params = init_mlp([3, 5, 4, n_outputs], activation, np.random.RandomState(2),
                      xp=np, dtype=np.float64, device=None)
    scale = 0.37

    def total(p):
        return scale * float(np.sum(model.loss_and_grad(p, X, Y, sample_weight, loss_fn,
                                                        scale)[0]))

    _, grads = model.loss_and_grad(params, X, Y, sample_weight, loss_fn, scale)
    h = 1e-6
    for i, (layer, grad) in enumerate(zip(params, grads)):
        for field in ("coef", "intercept"):
            leaf, g = getattr(layer, field), getattr(grad, field)
            numeric = np.zeros_like(leaf)
            for index in np.ndindex(leaf.shape):
                shifted = []
                for sign in (1, -1):
                    moved = leaf.copy()
                    moved[index] += sign * h
                    p = list(params)
                    p[i] = layer._replace(**{field: moved})
                    shifted.append(total(tuple(p)))
                numeric[index] = (shifted[0] - shifted[1]) / (2 * h)
            assert_allclose(g, numeric, rtol=1e-5, atol=1e-7, err_msg=f"layer {i} {field}")


# --------------------------------------------- behaviour of the estimators


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_partial_fit_k_times_equals_fit_with_max_iter_k(optimizer, task):
    X, y = _data(task)
    params = dict(hidden_layer_sizes=(8,), optimizer=optimizer, learning_rate=0.01,
                  batch_size=16, random_state=0)
    online = _estimator(task)(**params)
    for _ in range(4):
        online.partial_fit(X, y, **_classes(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        batch = _estimator(task)(max_iter=4, tol=None, **params).fit(X, y)
    for a, b in zip(online.coefs_ + online.intercepts_, batch.coefs_ + batch.intercepts_):
        assert_array_equal(a, b)
    assert online.loss_curve_ == batch.loss_curve_ and online.t_ == batch.t_


def test_warm_start_continues_from_the_fitted_weights():
    X, y = _data("regression")
    params = dict(hidden_layer_sizes=(8,), learning_rate=0.01, max_iter=30, tol=None,
                  random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        first = GradientMLPRegressor(**params).fit(X, y)
        warm = GradientMLPRegressor(warm_start=True, **params).fit(X, y)
        coefs = [c.copy() for c in warm.coefs_]
        warm.set_params(max_iter=1).fit(X, y)
        cold = GradientMLPRegressor(**{**params, "max_iter": 1}).fit(X, y)
    assert warm.loss_curve_[0] < cold.loss_curve_[0]
    assert warm.loss_curve_[0] < first.loss_curve_[0] / 2
    assert not np.array_equal(warm.coefs_[0], coefs[0])  # it trained on


def test_early_stopping_keeps_the_best_validation_weights():
    X, y = _data("binary")
    params = dict(hidden_layer_sizes=(16,), optimizer="sgd", learning_rate=1.0,
                  batch_size=4, early_stopping=True, validation_fraction=0.25, tol=None,
                  random_state=0)
    clf = GradientMLPClassifier(max_iter=25, **params).fit(X, y)
    assert clf.best_loss_ == min(clf.validation_loss_curve_)
    best_epoch = int(np.argmin(clf.validation_loss_curve_))
    assert best_epoch < 24
    stopped = GradientMLPClassifier(max_iter=best_epoch + 1, **params).fit(X, y)
    for a, b in zip(clf.coefs_, stopped.coefs_):
        assert_array_equal(a, b)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_a_diverging_fit_keeps_finite_weights_and_state(optimizer, task):
    X, y = _data(task)
    est = _estimator(task)(hidden_layer_sizes=(8,), optimizer=optimizer, learning_rate=1e4,
                           max_iter=20, random_state=0)
    with pytest.warns(ConvergenceWarning, match="learning_rate=10000"):
        est.fit(X * 100, y)
    arrays = est.coefs_ + est.intercepts_ + tree_leaves(est._opt_state)
    assert all(np.all(np.isfinite(a)) for a in arrays if hasattr(a, "shape"))
    assert np.isfinite(est.best_loss_) and all(np.isfinite(est.loss_curve_))


def test_l1_penalty_zeros_weights_but_never_intercepts():
    X, y = _data("regression")
    reg = GradientMLPRegressor(hidden_layer_sizes=(8,), optimizer="gd", learning_rate=0.1,
                               penalty="l1", alpha=0.05, max_iter=300, tol=None,
                               random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y)
    assert all(np.mean(c == 0) > 0.2 for c in reg.coefs_)
    assert all(np.all(b != 0) for b in reg.intercepts_)


def test_l2_penalty_matches_sklearns_alpha_over_batch_size():
    # sklearn adds alpha * W / batch_size to each batch's gradient: the same
    # objective as alpha_ours = alpha_sklearn / batch_size.
    X, y = _data("regression")
    reference = MLPRegressor(solver="sgd", hidden_layer_sizes=(6,), learning_rate_init=0.1,
                             momentum=0.0, batch_size=N, shuffle=False, alpha=0.3,
                             random_state=0)
    ours = GradientMLPRegressor(hidden_layer_sizes=(6,), optimizer="gd", learning_rate=0.1,
                                penalty="l2", alpha=0.3 / N, random_state=0)
    for _ in range(5):
        reference.partial_fit(X, y)
        ours.partial_fit(X, y)
    for mine, theirs in zip(ours.coefs_ + ours.intercepts_,
                            reference.coefs_ + reference.intercepts_):
        assert_allclose(mine, theirs, rtol=1e-9, atol=1e-12)


def test_verbose_callbacks_and_loss_curve_display(capsys):
    import matplotlib

    matplotlib.use("Agg")
    X, y = _data("binary")
    clf = GradientMLPClassifier(hidden_layer_sizes=(8,), max_iter=3, tol=None, verbose=1,
                                random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert capsys.readouterr().out.count("Epoch ") == 3
    display = LossCurveDisplay.from_estimator(clf)
    assert_array_equal(display.lines_[0].get_ydata(), clf.loss_curve_)
    callback = pytest.importorskip("sklearn.callback")
    seen = []

    class Recorder:
        def setup(self, estimator, context):
            pass

        def teardown(self, estimator, context):
            pass

        def on_fit_task_begin(self, estimator, context):
            pass

        def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
            if fitted_estimator is not None and context.task_name == "epoch":
                seen.append(fitted_estimator.predict(X[:5]))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        GradientMLPClassifier(hidden_layer_sizes=(8,), max_iter=3, tol=None,
                              random_state=0).set_callbacks(Recorder()).fit(X, y)
        GradientMLPClassifier(hidden_layer_sizes=(8,), max_iter=2, tol=None, random_state=0
                              ).set_callbacks(callback.ProgressBar()).fit(X, y)
    assert len(seen) == 3 and all(p.shape == (5,) for p in seen)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("device", ["CPU_DEVICE", "device1"])
@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_array_api_strict_gives_the_numpy_results(dtype, device, task):
    xps = pytest.importorskip("array_api_strict")
    X, y = _data(task, dtype)
    params = dict(hidden_layer_sizes=(6,), optimizer="adam", learning_rate=0.01,
                  batch_size=16, max_iter=5, tol=None, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = _estimator(task)(**params).fit(X, y)
        dev = xps.Device(device)
        with config_context(array_api_dispatch=True):
            est = _estimator(task)(**params).fit(
                xps.asarray(X, device=dev),
                xps.asarray(y, device=dev) if task == "regression" else y)
            assert est.coefs_[0].device == dev
            pred = est.predict(xps.asarray(X, device=dev))
            cpu = est.to_numpy()
    rtol = 1e-10 if dtype == "float64" else 1e-4
    for a, b in zip(cpu.coefs_, reference.coefs_):
        assert isinstance(a, np.ndarray) and a.dtype == np.dtype(dtype)
        assert_allclose(a, b, rtol=rtol, atol=rtol)
    assert_allclose(np.asarray(xps.asarray(pred, device=xps.Device("CPU_DEVICE"))),
                    reference.predict(X), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("hidden, shown", [
    ((0,), "(0,)"), ((5, -1), "(5, -1)"), ((2.5,), "(2.5,)"), ("wide", "'wide'"),
    # bools are no layer sizes (scikit-learn's MLP raises; this built one unit)
    ((True,), "(True,)"), (True, "True"), ((8, False), "(8, False)"),
    ((np.True_,), "(True,)"), ((np.float64(2.0),), "(2.0,)"), ((4, None), "(4, None)"),
    ("8,True", "'8,True'"), ("8,", "'8,'"), ((), "()"), ([[3]], "[[3]]"),
])
@pytest.mark.parametrize("Estimator", [GradientMLPRegressor, GradientMLPClassifier])
def test_bad_hidden_layer_sizes_are_clear_errors(hidden, shown, Estimator):
    X, y = _data("regression" if Estimator is GradientMLPRegressor else "binary")
    with pytest.raises(ValueError, match="hidden_layer_sizes") as info:
        Estimator(hidden_layer_sizes=hidden).fit(X, y)
    message = str(info.value)
    if "positive integers" in message:  # not scikit-learn's InvalidParameterError
        # the value as the user wrote it, without NumPy reprs such as np.float64(2.0)
        assert f"got {shown}." in message
    assert "np." not in message
    assert not hasattr(Estimator(), "coefs_")


@pytest.mark.parametrize("hidden, units", [
    ((np.int64(3),), [3]), (np.int32(4), [4]), (np.array([3, 2]), [3, 2]),
    ((np.array(5),), [5]), ("6, 2", [6, 2]), ([np.uint8(2), 7], [2, 7]), (3, [3]),
])
def test_hidden_layer_sizes_as_scikit_learns_mlp_takes_them(hidden, units):
    X, y = _data("regression")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = GradientMLPRegressor(hidden_layer_sizes=hidden, max_iter=2).fit(X, y)
    assert [c.shape[1] for c in ours.coefs_[:-1]] == units
    if not isinstance(hidden, str):  # "6, 2" is this package's spelling only
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            theirs = MLPRegressor(hidden_layer_sizes=hidden, max_iter=2).fit(X, y)
        assert [c.shape[1] for c in theirs.coefs_[:-1]] == units


@pytest.mark.parametrize("change, fitted", [
    (dict(hidden_layer_sizes=(8,)), "hidden_layer_sizes=(5,)"),
    (dict(hidden_layer_sizes=(5, 5)), "hidden_layer_sizes=(5,)"),
    (dict(hidden_layer_sizes="7"), "hidden_layer_sizes=(5,)"),
    (dict(activation="tanh"), "activation='relu'"),
    (dict(activation="identity", hidden_layer_sizes=3),
     "hidden_layer_sizes=(5,), activation='relu'"),
])
@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_partial_fit_after_set_params_changed_the_network_is_a_clear_error(change, fitted,
                                                                           task):
    # it went on training the old network while get_params reported the new one
    X, y = _data(task)
    online = _estimator(task)(hidden_layer_sizes=(5,), random_state=0)
    online.partial_fit(X, y, **_classes(y))
    coefs, t = [c.copy() for c in online.coefs_], online.t_
    online.set_params(**change)
    with pytest.raises(ValueError, match="partial_fit cannot continue") as info:
        online.partial_fit(X, y)
    message = str(info.value)
    assert f"fitted with {fitted}, but set_params has set " in message
    assert "Call fit to train the new network" in message
    for a, b in zip(online.coefs_, coefs):  # nothing trained, nothing changed
        assert_array_equal(a, b)
    assert online.t_ == t
    # the same structure in another spelling continues; fit trains the new one
    online.set_params(hidden_layer_sizes="5", activation="relu").partial_fit(X, y)
    assert online.t_ > t
    online.set_params(**change)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        online.set_params(max_iter=2).fit(X, y)
    online.partial_fit(X, y)  # the new network continues
    assert [c.shape[1] for c in online.coefs_[:-1]] == online._hidden_layer_sizes()


# ------------------------------------------------------------- quality


def _split(X, y):
    return train_test_split(X, y, test_size=0.3, random_state=0)


@pytest.mark.parametrize("problem", ["moons", "friedman1", "digits"])
def test_test_score_is_within_0_02_of_sklearns_mlp(problem):
    if problem == "moons":
        X, y = make_moons(n_samples=600, noise=0.25, random_state=0)
        Ours, Theirs, hidden, epochs = GradientMLPClassifier, MLPClassifier, (32, 32), 150
    elif problem == "friedman1":
        X, y = make_friedman1(n_samples=800, noise=0.5, random_state=0)
        Ours, Theirs, hidden, epochs = GradientMLPRegressor, MLPRegressor, (64,), 200
    else:
        X, y = load_digits(return_X_y=True)
        Ours, Theirs, hidden, epochs = GradientMLPClassifier, MLPClassifier, (64,), 40
    X_train, X_test, y_train, y_test = _split(StandardScaler().fit_transform(X), y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = Theirs(hidden_layer_sizes=hidden, max_iter=epochs, learning_rate_init=0.01,
                        random_state=0).fit(X_train, y_train).score(X_test, y_test)
        ours = Ours(hidden_layer_sizes=hidden, max_iter=epochs, learning_rate=0.01,
                    random_state=0).fit(X_train, y_train).score(X_test, y_test)
    assert ours >= theirs - 0.02, (ours, theirs)


def test_a_regression_the_linear_model_cannot_fit():
    # Sanity of the non-linearity: y = x0 * x1 is out of reach of a linear fit.
    X, _ = make_regression(n_samples=400, n_features=2, random_state=0)
    y = X[:, 0] * X[:, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = GradientMLPRegressor(hidden_layer_sizes=(32,), activation="tanh",
                                   learning_rate=0.01, max_iter=300, random_state=0).fit(X, y)
    assert mlp.score(X, y) > 0.95
    assert Layer is not None


def test_the_objective_over_row_chunks_equals_the_whole(monkeypatch):
    # A network's objective is summed over chunks of rows (its hidden
    # activations for all rows at once can be hundreds of MB).
    import sk_gradopt._epoch as _epoch

    X, y = _data("multiclass")
    params = dict(hidden_layer_sizes=(8,), max_iter=3, tol=None, random_state=0,
                  early_stopping=True)
    whole = GradientMLPClassifier(**params).fit(X, y)
    monkeypatch.setattr(_epoch, "OBJECTIVE_CHUNK_BYTES", 7 * 8 * 8)  # 7 rows at a time
    chunked = GradientMLPClassifier(**params).fit(X, y)
    assert_allclose(chunked.validation_loss_curve_, whole.validation_loss_curve_, rtol=1e-13)
    assert chunked.loss_curve_ == whole.loss_curve_
