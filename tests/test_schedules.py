"""The schedule objects of sk_gradopt.schedules, and the curves a fit records.

Each schedule is compared with the ``torch.optim.lr_scheduler`` class of the
same name driving the same torch optimizer on the batches the estimator
draws (the reference of ``test_training_tools``), in float64 to 1e-9: the
learning rate of every step and the final weights, on a linear model and on
an MLP. ``grad_norm_curve_`` is compared with the ``total_norm`` of torch's
``clip_grad_norm_`` averaged over each epoch's steps.
"""

import math
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.datasets import make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError
from test_training_tools import linear_forward, mlp_forward, squared_error

from sk_gradopt import GradientClassifier, GradientMLPRegressor, GradientRegressor, schedules
from sk_gradopt._models import init_mlp
from sk_gradopt.schedules import (
    CosineAnnealingWarmRestarts,
    ExponentialLR,
    OneCycleLR,
    ReduceLROnPlateau,
    StepLR,
)

N_SAMPLES, BATCH_SIZE, EPOCHS, SEED, ALPHA = 50, 16, 7, 0, 0.01
STEPS_PER_EPOCH = math.ceil(N_SAMPLES / BATCH_SIZE)


@pytest.fixture(scope="module")
def data():
    X, y = make_regression(n_samples=N_SAMPLES, n_features=4, noise=5.0, random_state=0)
    return X / X.std(axis=0) + 0.3, y / y.std()


# Each schedule with the torch scheduler it must equal: (ours, torch's factory, per step).
CASES = {
    "step": (StepLR(step_size=2, gamma=0.5),
             lambda lrs, opt: lrs.StepLR(opt, step_size=2, gamma=0.5), False),
    "exponential": (ExponentialLR(gamma=0.7),
                    lambda lrs, opt: lrs.ExponentialLR(opt, gamma=0.7), False),
    "restarts": (CosineAnnealingWarmRestarts(T_0=2, T_mult=2, eta_min=0.001),
                 lambda lrs, opt: lrs.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2,
                                                                   eta_min=0.001), False),
    "restarts_flat": (CosineAnnealingWarmRestarts(T_0=3),
                      lambda lrs, opt: lrs.CosineAnnealingWarmRestarts(opt, T_0=3), False),
    # threshold 0.2: most epochs are "bad", so the rate is cut (after patience and cooldown)
    "plateau": (ReduceLROnPlateau(factor=0.5, patience=1, threshold=0.2, cooldown=1),
                lambda lrs, opt: lrs.ReduceLROnPlateau(opt, factor=0.5, patience=1,
                                                       threshold=0.2, cooldown=1), False),
    "one_cycle": (OneCycleLR(max_lr=0.08, pct_start=0.25),
                  lambda lrs, opt: lrs.OneCycleLR(
                      opt, max_lr=0.08, pct_start=0.25, epochs=EPOCHS,
                      steps_per_epoch=STEPS_PER_EPOCH, anneal_strategy="cos",
                      cycle_momentum=False, div_factor=25.0, final_div_factor=1e4), True),
    "callable": (lambda t: 1.0 / (1.0 + 0.1 * t),
                 lambda lrs, opt: lrs.LambdaLR(opt, lambda t: 1.0 / (1.0 + 0.1 * t)), True),
}


def epoch_batches(rng, n_epochs):
    """The rows of each step of each epoch, as the estimator draws them (shuffle=True)."""
    epochs = []
    for _ in range(n_epochs):
        order = rng.permutation(N_SAMPLES)
        epochs.append([order[i:i + BATCH_SIZE] for i in range(0, N_SAMPLES, BATCH_SIZE)])
    return epochs


def torch_scheduled(torch, layers, forward, X, Y, epochs, *, optimizer, lr, case,
                    max_grad_norm=None):
    """Train ``layers`` with torch.optim and the scheduler of ``case``.

    Returns the final layers, the rate of every step, and the mean
    ``clip_grad_norm_`` total norm of every epoch.
    """
    tensor = lambda a: torch.tensor(a, dtype=torch.float64, requires_grad=True)  # noqa: E731
    params = [(tensor(c), tensor(b)) for c, b in layers]
    coefs = [c for c, _ in params]
    every = [t for layer in params for t in layer]
    if optimizer == "adam":
        opt = torch.optim.Adam(every, lr=lr, betas=(0.9, 0.999), eps=1e-8)
    else:
        opt = torch.optim.SGD(every, lr=lr, momentum=0.9)
    _, make, per_step = CASES[case]
    scheduler = make(torch.optim.lr_scheduler, opt)
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    rates, norms = [], []
    for batches in epochs:
        with torch.no_grad():  # the objective the fit records: penalty at the epoch's start
            penalty = float(0.5 * ALPHA * sum((c * c).sum() for c in coefs))
        loss_sum, epoch_norms = 0.0, []
        for rows in batches:
            rows = torch.from_numpy(rows)
            opt.zero_grad()
            losses = squared_error(torch, forward(params, Xt[rows]), Yt[rows])
            objective = losses.mean() + 0.5 * ALPHA * sum((c * c).sum() for c in coefs)
            objective.backward()
            loss_sum += float(losses.detach().sum())
            epoch_norms.append(float(torch.nn.utils.clip_grad_norm_(
                every, math.inf if max_grad_norm is None else max_grad_norm)))
            rates.append(opt.param_groups[0]["lr"])
            opt.step()
            if per_step:
                scheduler.step()
        norms.append(np.mean(epoch_norms))
        if case == "plateau":
            scheduler.step(loss_sum / X.shape[0] + penalty)
        elif not per_step:
            scheduler.step()
    layers = [(c.detach().numpy(), b.detach().numpy()) for c, b in params]
    return layers, rates, norms


def estimator_rates(est):
    """The rate of every step of a fit, from the loop's one function (for the check)."""
    return est.learning_rate_curve_


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
@pytest.mark.parametrize("case", CASES)
def test_linear_schedule_equals_torch(data, case, optimizer):
    torch = pytest.importorskip("torch")
    X, y = data
    lr = 0.05 if optimizer == "momentum" else 0.1
    est = GradientRegressor(
        optimizer=optimizer, learning_rate=lr, schedule=CASES[case][0], penalty="l2",
        alpha=ALPHA, batch_size=BATCH_SIZE, max_iter=EPOCHS, tol=None, random_state=SEED,
        max_grad_norm=0.5,
    ).fit(X, y)
    layers = [(np.zeros((4, 1)), np.zeros(1))]
    ((coef, intercept),), rates, norms = torch_scheduled(
        torch, layers, linear_forward, X, y[:, None],
        epoch_batches(np.random.RandomState(SEED), EPOCHS), optimizer=optimizer, lr=lr,
        case=case, max_grad_norm=0.5,
    )
    assert len(set(np.round(rates, 12))) > 1  # the schedule did change the rate
    last_of_epoch = rates[STEPS_PER_EPOCH - 1::STEPS_PER_EPOCH]
    assert_allclose(est.learning_rate_curve_, last_of_epoch, rtol=1e-12)
    assert_allclose(est.grad_norm_curve_, norms, rtol=1e-9)
    assert max(norms) > 0.5  # clipping acted: the curve holds the norm before it
    assert_allclose(est.coef_, coef[:, 0], rtol=1e-9, atol=1e-13)
    assert_allclose(est.intercept_, intercept, rtol=1e-9, atol=1e-13)


def test_every_step_rate_equals_torch(data):
    # The rate of every step (not only an epoch's last): the reference epoch,
    # spied through Config.learning_rate_at, against torch's param_groups.
    torch = pytest.importorskip("torch")
    from sk_gradopt import _epoch

    X, y = data
    for case in ("one_cycle", "restarts", "plateau"):
        seen = []
        real = _epoch.Config.learning_rate_at

        def spy(self, base, *, step, epoch, _real=real, _seen=seen):
            rate = _real(self, base, step=step, epoch=epoch)
            _seen.append(rate)
            return rate

        _epoch.Config.learning_rate_at = spy
        try:
            GradientRegressor(optimizer="momentum", learning_rate=0.05,
                              schedule=CASES[case][0], alpha=ALPHA, batch_size=BATCH_SIZE,
                              max_iter=EPOCHS, tol=None, random_state=SEED,
                              )._fit(X, y, compiled=False)
        finally:
            _epoch.Config.learning_rate_at = real
        _, rates, _ = torch_scheduled(
            torch, [(np.zeros((4, 1)), np.zeros(1))], linear_forward, X, y[:, None],
            epoch_batches(np.random.RandomState(SEED), EPOCHS), optimizer="momentum",
            lr=0.05, case=case)
        assert_allclose(seen, rates, rtol=1e-12, err_msg=case)


@pytest.mark.parametrize("case", ["step", "restarts", "plateau", "one_cycle", "callable"])
def test_mlp_schedule_equals_torch(data, case):
    torch = pytest.importorskip("torch")
    X, y = data
    est = GradientMLPRegressor(
        hidden_layer_sizes=(5,), activation="tanh", optimizer="adam", learning_rate=0.05,
        schedule=CASES[case][0], penalty="l2", alpha=ALPHA, batch_size=BATCH_SIZE,
        max_iter=EPOCHS, tol=None, random_state=SEED,
    ).fit(X, y)
    rng = np.random.RandomState(SEED)
    initial = init_mlp([4, 5, 1], "tanh", rng, xp=np, dtype=np.float64, device=None)
    layers, rates, norms = torch_scheduled(
        torch, [(layer.coef, layer.intercept) for layer in initial],
        lambda params, X: mlp_forward(torch, params, X), X, y[:, None],
        epoch_batches(rng, EPOCHS), optimizer="adam", lr=0.05, case=case,
    )
    assert_allclose(est.learning_rate_curve_, rates[STEPS_PER_EPOCH - 1::STEPS_PER_EPOCH],
                    rtol=1e-12)
    assert_allclose(est.grad_norm_curve_, norms, rtol=1e-9)
    for (coef, intercept), mine, mine_b in zip(layers, est.coefs_, est.intercepts_):
        assert_allclose(mine, coef, rtol=1e-9, atol=1e-12)
        assert_allclose(mine_b, intercept, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------ compiled == reference


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("batch_size", [1, 16])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_compiled_curves_equal_the_reference(data, optimizer, batch_size, sparse):
    # batch_size=1 with "sgd" on sparse X is the lazy O(nnz) update, whose
    # norm comes from the batch's columns and a running ||v||^2.
    X, y = data
    if sparse:
        X = sp.csr_matrix(np.where(np.abs(X) > 0.8, X, 0.0))
    params = dict(optimizer=optimizer, learning_rate=0.02, schedule=OneCycleLR(0.05),
                  alpha=ALPHA, batch_size=batch_size, max_iter=4, tol=None, random_state=0)
    compiled = GradientRegressor(**params).fit(X, y)
    reference = GradientRegressor(**params)._fit(X, y, compiled=False)
    assert_allclose(compiled.grad_norm_curve_, reference.grad_norm_curve_, rtol=1e-10)
    assert_allclose(compiled.learning_rate_curve_, reference.learning_rate_curve_, rtol=1e-14)
    assert_allclose(compiled.coef_, reference.coef_, rtol=1e-10, atol=1e-14)


def test_grad_norm_by_hand_for_a_full_batch():
    # One "gd" step from zero on squared error: g = (-X^T y / n, -mean(y)).
    X = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.0]])
    y = np.array([1.0, 2.0, -1.0])
    est = GradientRegressor(optimizer="gd", learning_rate=0.1, penalty=None, max_iter=1,
                            tol=None).fit(X, y)
    expected = np.linalg.norm(np.append(-X.T @ y / 3, -y.mean()))
    assert_allclose(est.grad_norm_curve_, [expected], rtol=1e-14)
    assert est.learning_rate_curve_ == [0.1]


def test_curves_grow_with_partial_fit_and_match_the_loss_curve(data):
    X, y = data
    est = GradientClassifier(schedule=ExponentialLR(0.5), learning_rate=0.1, random_state=0)
    labels = (y > 0).astype(int)
    for _ in range(3):
        est.partial_fit(X, labels, classes=[0, 1])
    assert len(est.learning_rate_curve_) == len(est.grad_norm_curve_) == 3
    assert len(est.loss_curve_) == 3
    assert_allclose(est.learning_rate_curve_, [0.1, 0.05, 0.025])


# --------------------------------------------------------- the sklearn API


def test_schedule_parameters_reach_clone_and_set_params():
    est = GradientRegressor(schedule=StepLR(step_size=3, gamma=0.5))
    params = est.get_params(deep=True)
    assert params["schedule__gamma"] == 0.5 and params["schedule__step_size"] == 3
    copy = clone(est)
    assert copy.schedule is not est.schedule and copy.schedule.gamma == 0.5
    est.set_params(schedule__gamma=0.25)
    assert est.schedule.gamma == 0.25 and copy.schedule.gamma == 0.5
    assert repr(StepLR(3)) == "StepLR(step_size=3)"


def test_grid_search_over_schedule_gamma(data):
    X, y = data
    search = GridSearchCV(
        GradientRegressor(schedule=ExponentialLR(0.5), learning_rate=0.1, batch_size=16,
                          max_iter=5, tol=None, random_state=0),
        {"schedule__gamma": [1e-3, 0.9]}, cv=2,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    # the rate of 1e-3 ** epoch has learned next to nothing after the first epoch
    assert search.best_params_ == {"schedule__gamma": 0.9}
    assert search.best_estimator_.schedule.gamma == 0.9


@pytest.mark.parametrize("schedule, message", [
    (StepLR(step_size=0), "'step_size' parameter of StepLR"),
    (ExponentialLR(gamma=-1.0), "'gamma' parameter of ExponentialLR"),
    (CosineAnnealingWarmRestarts(T_0=2, T_mult=1.5), "'T_mult' parameter"),
    (OneCycleLR(max_lr=0.1, pct_start=1.0), "'pct_start' parameter of OneCycleLR"),
    (ReduceLROnPlateau(factor=1.0), "'factor' parameter of ReduceLROnPlateau"),
    ("linear", "'schedule' parameter of GradientRegressor"),
])
def test_bad_schedules_are_refused_at_fit(data, schedule, message):
    X, y = data
    est = GradientRegressor(schedule=schedule)  # __init__ only stores
    with pytest.raises(InvalidParameterError, match=message):
        est.fit(X, y)


def test_callable_schedule_is_lambda_lr(data):
    X, y = data
    est = GradientRegressor(schedule=lambda t: 0.5, learning_rate=0.1, batch_size=16,
                            max_iter=2, tol=None, random_state=0).fit(X, y)
    plain = GradientRegressor(learning_rate=0.05, batch_size=16, max_iter=2, tol=None,
                              random_state=0).fit(X, y)
    assert_allclose(est.coef_, plain.coef_, rtol=1e-14)
    assert est.learning_rate_curve_ == [0.05, 0.05]


def test_strings_stay_shortcuts(data):
    X, y = data
    est = GradientRegressor(schedule="cosine", learning_rate=0.1, max_iter=4, tol=None,
                            random_state=0).fit(X, y)
    assert_allclose(est.learning_rate_curve_,
                    [0.1 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)])


# ------------------------------------------------ partial_fit, warm_start


def test_partial_fit_continues_the_schedule(data):
    # partial_fit's epochs count on: StepLR decays across the calls, and
    # ReduceLROnPlateau keeps its best value and counters, as fit's epochs do.
    X, y = data
    for schedule in (StepLR(step_size=2, gamma=0.5),
                     ReduceLROnPlateau(factor=0.5, patience=0, threshold=0.3)):
        params = dict(schedule=schedule, learning_rate=0.05, batch_size=16,
                      random_state=0, tol=None)
        online = GradientRegressor(**params)
        for _ in range(5):
            online.partial_fit(X, y)
        full = GradientRegressor(max_iter=5, **params).fit(X, y)
        assert_allclose(online.learning_rate_curve_, full.learning_rate_curve_, rtol=1e-14)
        assert_allclose(online.coef_, full.coef_, rtol=1e-12)
        assert online.learning_rate_curve_[-1] < 0.05


def test_one_cycle_past_its_steps_keeps_the_final_rate(data):
    X, y = data
    est = GradientRegressor(schedule=OneCycleLR(0.1), max_iter=2, batch_size=16,
                            random_state=0)
    for _ in range(3):
        est.partial_fit(X, y)
    final = 0.1 / 25.0 / 1e4
    assert_allclose(est.learning_rate_curve_[1:], [final, final])


def test_warm_start_fit_restarts_the_schedule(data):
    X, y = data
    est = GradientRegressor(schedule=ExponentialLR(0.5), learning_rate=0.1, max_iter=3,
                            tol=None, warm_start=True, random_state=0).fit(X, y)
    est.fit(X, y)
    assert_allclose(est.learning_rate_curve_, [0.1, 0.05, 0.025])


def test_plateau_with_early_stopping_watches_the_validation_loss(data):
    X, y = data
    est = GradientRegressor(schedule=ReduceLROnPlateau(factor=0.5, patience=0,
                                                       threshold=0.5),
                            learning_rate=0.05, early_stopping=True, max_iter=6,
                            n_iter_no_change=6, tol=None, random_state=0).fit(X, y)
    # replay torch's rule on the recorded validation losses
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.05)
    rule = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0,
                                                      threshold=0.5)
    expected = []
    for value in est.validation_loss_curve_:
        expected.append(opt.param_groups[0]["lr"])
        rule.step(value)
    assert_allclose(est.learning_rate_curve_, expected, rtol=1e-14)
    assert est.learning_rate_curve_[-1] < 0.05


def test_schedules_module_is_public():
    assert set(schedules.__all__) == {"StepLR", "ExponentialLR", "OneCycleLR",
                                      "CosineAnnealingWarmRestarts", "ReduceLROnPlateau"}


def test_dask_records_the_same_curves(data):
    # the full-batch all-reduce equals the in-memory fit; mini-batches over the
    # blocks count their steps for OneCycleLR (4 blocks of 4 batches an epoch)
    da = pytest.importorskip("dask.array")
    X, y = data
    params = dict(optimizer="gd", max_iter=3, tol=None, schedule=OneCycleLR(0.1),
                  random_state=0)
    dask_fit = GradientRegressor(**params).fit(da.from_array(X, chunks=25),
                                               da.from_array(y, chunks=25))
    in_memory = GradientRegressor(**params).fit(X, y)
    assert_allclose(dask_fit.grad_norm_curve_, in_memory.grad_norm_curve_, rtol=1e-12)
    assert_allclose(dask_fit.learning_rate_curve_, in_memory.learning_rate_curve_)
    blocks = GradientRegressor(**{**params, "optimizer": "sgd"}, batch_size=8,
                               shuffle=False).fit(da.from_array(X, chunks=25),
                                                  da.from_array(y, chunks=25))
    assert blocks.t_ == 3 * 2 * 4  # 2 blocks of 25 rows, 4 batches of 8 each
    assert_allclose(blocks.learning_rate_curve_[-1], 0.1 / 25 / 1e4)
    assert len(blocks.grad_norm_curve_) == 3


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_plateau_rule_on_a_validation_score_is_torchs_mode_max():
    # A score that falls by less than the threshold is no improvement: the
    # rule must not read minus the score with mode "min"'s test.
    torch = pytest.importorskip("torch")
    scores = [0.9, 0.895, 0.89, 0.886, 0.882, 0.95, 0.94, 0.93, 0.92, 0.91]
    given = iter(scores)
    X, y = make_regression(n_samples=60, n_features=4, random_state=0)
    rule = ReduceLROnPlateau(patience=0, threshold=0.01, factor=0.5)
    est = GradientRegressor(optimizer="sgd", learning_rate=0.05, schedule=rule,
                            early_stopping=True, scoring=lambda *args: next(given),
                            tol=None, max_iter=len(scores), random_state=0)
    est.fit(X[:40], y[:40] / y.std(), X_val=X[40:], y_val=y[40:] / y.std())
    assert est.validation_scores_ == scores
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=0.05)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="max", patience=0, threshold=0.01, factor=0.5)
    expected = []
    for score in scores:
        expected.append(optimizer.param_groups[0]["lr"])
        scheduler.step(score)
    assert_allclose(est.learning_rate_curve_, expected, rtol=1e-12)
    assert est.learning_rate_curve_[-1] < 0.05 / 16  # it did lower the rate


def test_one_cycle_uses_its_own_rates_so_auto_computes_nothing_and_searches_skip_the_rate(
        monkeypatch):
    from sk_gradopt import search_space

    X, y = make_regression(n_samples=80, n_features=3, random_state=0)
    monkeypatch.setattr(GradientRegressor, "_inverse_lipschitz",
                        lambda *a: pytest.fail("1/L computed for a rate never used"))
    est = GradientRegressor(optimizer="sgd", learning_rate="auto", schedule=OneCycleLR(0.05),
                            max_iter=4, tol=None, random_state=0).fit(X, y / y.std())
    assert est.learning_rate_ == 0.05 and max(est.learning_rate_curve_) <= 0.05
    assert "learning_rate" not in search_space("sgd", schedule=[OneCycleLR(0.1)])
    mixed = search_space("sgd", schedule=[OneCycleLR(0.1), StepLR(step_size=2)])
    assert "learning_rate" in mixed  # StepLR scales the base rate
