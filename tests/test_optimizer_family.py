"""Adagrad, Adadelta, Adamax, NAdam, RAdam and Adam with AMSGrad, each as torch.optim.

Every rule trains the linear estimators and an MLP exactly as the matching
``torch.optim`` optimizer does on the same batches (float64, 1e-9), alone and
with gradient clipping, decoupled weight decay and warmup (the torch reference
is :func:`test_training_tools.torch_fit`, whose decoupled decay multiplies the
coefficients by ``1 - lr_t * weight_decay`` before ``step()``). The compiled
epoch has no code for these rules: the chooser hands the fit to the reference
path, which gives the same numbers. The specs (``_optimizers.SPECS``) are the
one place the compiled epoch learns which rules it has.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

import sk_gradopt._epoch as _epoch
from sk_gradopt import (
    OPTIMIZERS,
    GradientClassifier,
    GradientMLPClassifier,
    GradientMLPRegressor,
    GradientRegressor,
)
from sk_gradopt._models import init_mlp
from sk_gradopt._optimizers import DEFAULT_RACE, SPECS, make_optimizer
from test_training_tools import (  # noqa: F401  (data: the shared fixture)
    ALPHA,
    BATCH_SIZE,
    EPOCHS,
    N_SAMPLES,
    SEED,
    TOOLS,
    binary_log_loss,
    data,
    estimator_batches,
    linear_forward,
    mlp_forward,
    multinomial_log_loss,
    squared_error,
    torch_fit,
)

#: The new rules, with "amsgrad" standing for ``optimizer="adam", amsgrad=True``.
RULES = ("adagrad", "adadelta", "adamax", "nadam", "radam", "amsgrad")
LEARNING_RATES = {"adagrad": 0.05, "adadelta": 1.0, "adamax": 0.02, "nadam": 0.02,
                  "radam": 0.02, "amsgrad": 0.03}
#: Not the defaults, so that each reaches torch through the right name.
HYPER = dict(rho=0.85, beta_1=0.8, beta_2=0.99, eps=1e-7, momentum_decay=0.01)
FAMILY_TOOLS = {"plain": {}, **TOOLS}


@pytest.fixture(autouse=True)
def float64_scalars():
    """torch keeps its step counts and NAdam's ``mu_product`` in the default dtype."""
    torch = pytest.importorskip("torch")
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def estimator_settings(rule):
    """The estimator's ``optimizer`` and ``amsgrad`` for ``rule``."""
    if rule == "amsgrad":
        return dict(optimizer="adam", amsgrad=True)
    return dict(optimizer=rule)


def torch_optimizer(torch, rule):
    """``make(groups, lr)``: the torch.optim optimizer of ``rule`` with :data:`HYPER`."""
    betas, eps = (HYPER["beta_1"], HYPER["beta_2"]), HYPER["eps"]
    optim = torch.optim
    return {
        "adagrad": lambda groups, lr: optim.Adagrad(groups, lr=lr, eps=eps),
        "adadelta": lambda groups, lr: optim.Adadelta(groups, lr=lr, rho=HYPER["rho"],
                                                      eps=eps),
        "adamax": lambda groups, lr: optim.Adamax(groups, lr=lr, betas=betas, eps=eps),
        "nadam": lambda groups, lr: optim.NAdam(groups, lr=lr, betas=betas, eps=eps,
                                                momentum_decay=HYPER["momentum_decay"]),
        "radam": lambda groups, lr: optim.RAdam(groups, lr=lr, betas=betas, eps=eps),
        "amsgrad": lambda groups, lr: optim.Adam(groups, lr=lr, betas=betas, eps=eps,
                                                 amsgrad=True),
    }[rule]


def warmup_lambda(tools, schedule=None):
    """``LambdaLR``'s factor: the warmup, times ``"invscaling"`` (power 0.5) if asked."""
    warmup = tools.get("warmup_steps", 0)

    def factor(t):
        value = min(1.0, (t + 1) / warmup) if warmup else 1.0
        return value / (t + 1) ** 0.5 if schedule == "invscaling" else value

    return factor


# ------------------------------------------------------------ torch parity


@pytest.mark.parametrize("tools", FAMILY_TOOLS, ids=str)
@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("kind", ["reg", "clf2", "clf3"])
def test_linear_estimators_equal_torch_optim(data, kind, rule, tools):
    torch = pytest.importorskip("torch")
    X, y = data[kind]
    settings = dict(schedule="invscaling", power_t=0.5) if tools == "all" else {}
    Estimator = GradientRegressor if kind == "reg" else GradientClassifier
    est = Estimator(
        learning_rate=LEARNING_RATES[rule], penalty="l2", alpha=ALPHA,
        batch_size=BATCH_SIZE, max_iter=EPOCHS, tol=None, random_state=SEED,
        **estimator_settings(rule), **HYPER, **FAMILY_TOOLS[tools], **settings,
    ).fit(X, y)
    if kind == "reg":
        Y, loss = y[:, None], squared_error
    elif kind == "clf2":
        Y, loss = np.where(y == 1, 1.0, -1.0)[:, None], binary_log_loss
    else:
        Y, loss = np.eye(3)[y], multinomial_log_loss
    layers = [(np.zeros((X.shape[1], Y.shape[1])), np.zeros(Y.shape[1]))]
    ((coef, intercept),), norms = torch_fit(
        torch, layers, linear_forward, lambda raw, Y: loss(torch, raw, Y), X, Y,
        estimator_batches(rule, X.shape[0], EPOCHS), optimizer=torch_optimizer(torch, rule),
        lr=LEARNING_RATES[rule], alpha=ALPHA,
        lr_lambda=warmup_lambda(FAMILY_TOOLS[tools], settings.get("schedule")),
        max_grad_norm=FAMILY_TOOLS[tools].get("max_grad_norm"),
        weight_decay=FAMILY_TOOLS[tools].get("weight_decay", 0.0),
    )
    if "max_grad_norm" in FAMILY_TOOLS[tools]:  # clipping did act, at some steps at least
        assert max(norms) > FAMILY_TOOLS[tools]["max_grad_norm"]
    assert est.t_ == len(estimator_batches(rule, N_SAMPLES, EPOCHS))
    assert_allclose(est.coef_.reshape(coef.T.shape), coef.T, rtol=1e-9, atol=1e-13)
    assert_allclose(est.intercept_, intercept, rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("tools", FAMILY_TOOLS, ids=str)
@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("kind", ["reg", "clf3"])
def test_mlp_estimators_equal_torch_optim(data, kind, rule, tools):
    # The MLP draws its initial weights first, then the shuffles, from one generator.
    torch = pytest.importorskip("torch")
    X, y = data[kind]
    Estimator = GradientMLPRegressor if kind == "reg" else GradientMLPClassifier
    est = Estimator(
        hidden_layer_sizes=(5, 4), activation="tanh", learning_rate=LEARNING_RATES[rule],
        penalty="l2", alpha=ALPHA, batch_size=BATCH_SIZE, max_iter=EPOCHS, tol=None,
        random_state=SEED, **estimator_settings(rule), **HYPER, **FAMILY_TOOLS[tools],
    ).fit(X, y)
    Y, loss = (y[:, None], squared_error) if kind == "reg" else (np.eye(3)[y],
                                                                 multinomial_log_loss)
    rng = np.random.RandomState(SEED)
    initial = init_mlp([X.shape[1], 5, 4, Y.shape[1]], "tanh", rng, xp=np,
                       dtype=np.float64, device=None)
    layers, norms = torch_fit(
        torch, [(layer.coef, layer.intercept) for layer in initial],
        lambda params, X: mlp_forward(torch, params, X), lambda raw, Y: loss(torch, raw, Y),
        X, Y, estimator_batches(rule, X.shape[0], EPOCHS, rng),
        optimizer=torch_optimizer(torch, rule), lr=LEARNING_RATES[rule], alpha=ALPHA,
        lr_lambda=warmup_lambda(FAMILY_TOOLS[tools]),
        max_grad_norm=FAMILY_TOOLS[tools].get("max_grad_norm"),
        weight_decay=FAMILY_TOOLS[tools].get("weight_decay", 0.0),
    )
    if "max_grad_norm" in FAMILY_TOOLS[tools]:
        assert max(norms) > FAMILY_TOOLS[tools]["max_grad_norm"]
    for (coef, intercept), mine, mine_b in zip(layers, est.coefs_, est.intercepts_):
        assert_allclose(mine, coef, rtol=1e-9, atol=1e-12)
        assert_allclose(mine_b, intercept, rtol=1e-9, atol=1e-12)


def test_radam_takes_both_of_its_branches():
    # rho_t <= 5 for the first steps (the plain momentum step), > 5 after:
    # the parity tests above run through the switch.
    opt = make_optimizer("radam", beta_2=HYPER["beta_2"])
    g = (np.array([0.5, -0.2]),)
    state = opt.init(g)
    direction, state = opt.update(g, state)
    assert_allclose(direction[0], g[0])  # m_hat = g at t = 1
    for _ in range(6):
        direction, state = opt.update(g, state)
    # the adaptive step by then: m_hat / sqrt(v_hat) = sign(g), times one factor
    assert_allclose(direction[0][0] / direction[0][1], -1.0, rtol=1e-6)


# ----------------------------------------------------------- engines


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("Estimator", [GradientRegressor, GradientMLPClassifier])
def test_compiled_path_hands_the_new_rules_to_the_reference(monkeypatch, data, rule,
                                                            Estimator):
    # The linear model: no compiled epoch; the MLP: the compiled model with the
    # reference step (apply=None). The numbers are those of the reference path.
    kind = "reg" if Estimator is GradientRegressor else "clf3"
    X, y = data[kind]
    params = dict(learning_rate=LEARNING_RATES[rule], batch_size=BATCH_SIZE, max_iter=3,
                  tol=None, random_state=SEED, max_grad_norm=0.5, weight_decay=0.1,
                  **estimator_settings(rule))
    if Estimator is GradientMLPClassifier:
        params["hidden_layer_sizes"] = (6,)
    runners, applies = [], []
    real_runner, real_epoch = _epoch._compiled_epoch_runner, _epoch.array_api_epoch

    def runner_spy(data, config):
        runners.append(real_runner(data, config))
        return runners[-1]

    def epoch_spy(*args, apply=None, **kwargs):
        applies.append(apply)
        return real_epoch(*args, apply=apply, **kwargs)

    monkeypatch.setattr(_epoch, "_compiled_epoch_runner", runner_spy)
    monkeypatch.setattr(_epoch, "array_api_epoch", epoch_spy)
    compiled = Estimator(**params).fit(X, y)
    reference = Estimator(**params)._fit(X, y, None, compiled=False)
    assert applies and all(apply is None for apply in applies)
    if Estimator is GradientRegressor:
        assert runners == [None]
        assert_array_equal(compiled.coef_, reference.coef_)
        assert_array_equal(compiled.intercept_, reference.intercept_)
        assert compiled.loss_curve_ == reference.loss_curve_
    else:  # the compiled model: the same numbers to rounding
        assert runners[0] is not None
        for a, b in zip(compiled.coefs_ + compiled.intercepts_,
                        reference.coefs_ + reference.intercepts_):
            assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_the_compiled_rules_are_read_from_the_specs():
    from sk_gradopt import _kernels

    assert _kernels.OPTIMIZERS == {"gd": 0, "sgd": 0, "momentum": 1, "rmsprop": 2, "adam": 3}
    assert [name for name in OPTIMIZERS if SPECS[name].compiled] == list(DEFAULT_RACE)
    assert make_optimizer("adam").compiled_rule() == "adam"
    assert make_optimizer("adam", amsgrad=True).compiled_rule() is None
    for rule in RULES[:-1]:
        assert make_optimizer(rule).compiled_rule() is None


@pytest.mark.parametrize("rule", RULES)
def test_sparse_input_equals_dense_input(data, rule):
    X, y = data["clf3"]
    X = np.where(np.abs(X) < 0.5, 0.0, X)  # some zeros to leave out
    params = dict(learning_rate=LEARNING_RATES[rule], batch_size=BATCH_SIZE, max_iter=3,
                  tol=None, random_state=SEED, **estimator_settings(rule))
    dense = GradientClassifier(**params).fit(X, y)
    sparse = GradientClassifier(**params).fit(sp.csr_matrix(X), y)
    assert_allclose(sparse.coef_, dense.coef_, rtol=1e-12, atol=1e-14)
    assert_allclose(sparse.loss_curve_, dense.loss_curve_, rtol=1e-12)
    mlp = dict(params, hidden_layer_sizes=(4,))
    dense = GradientMLPClassifier(**mlp).fit(X, y)
    sparse = GradientMLPClassifier(**mlp).fit(sp.csr_matrix(X), y)
    for a, b in zip(sparse.coefs_, dense.coefs_):
        assert_allclose(a, b, rtol=1e-10, atol=1e-13)


# ---------------------------------------------------------- the estimator


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("Estimator", [GradientRegressor, GradientMLPRegressor])
def test_partial_fit_continues_the_state(data, rule, Estimator):
    X, y = data["reg"]
    params = dict(learning_rate=LEARNING_RATES[rule], batch_size=BATCH_SIZE,
                  random_state=SEED, **estimator_settings(rule), **HYPER)
    if Estimator is GradientMLPRegressor:
        params["hidden_layer_sizes"] = (4,)
    online = Estimator(**params)
    for _ in range(3):
        online.partial_fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        batch = Estimator(max_iter=3, tol=None, **params).fit(X, y)
    assert online.loss_curve_ == batch.loss_curve_ and online.t_ == batch.t_ == 12
    rule_of = (make_optimizer("adam", amsgrad=True) if rule == "amsgrad"
               else make_optimizer(rule))
    assert type(online._opt_state) is type(rule_of.init(()))
    if "count" in online._opt_state._fields:
        assert online._opt_state.count == 12
    online.set_params(**({"amsgrad": False} if rule == "amsgrad" else {"optimizer": "adam"}))
    with pytest.raises(ValueError, match="partial_fit cannot continue"):
        online.partial_fit(X, y)


def test_an_unknown_optimizer_lists_the_valid_names(data):
    X, y = data["reg"]
    with pytest.raises(InvalidParameterError, match="nadam") as error:
        GradientRegressor(optimizer="adamw").fit(X, y)
    assert all(repr(name) in str(error.value) for name in OPTIMIZERS)
    with pytest.raises(ValueError, match="valid optimizers are") as error:
        make_optimizer("adamw")
    assert all(repr(name) in str(error.value) for name in OPTIMIZERS)


@pytest.mark.parametrize("optimizer", [name for name in OPTIMIZERS if name != "adam"])
def test_amsgrad_is_adams_and_the_other_rules_ignore_it(data, optimizer):
    # as nesterov: a search over several optimizers can hold amsgrad=True
    X, y = data["reg"]
    settings = dict(optimizer=optimizer, learning_rate=0.01, max_iter=2, tol=None,
                    random_state=0)
    with_it = GradientRegressor(amsgrad=True, **settings).fit(X, y)
    without = GradientRegressor(**settings).fit(X, y)
    assert_array_equal(with_it.coef_, without.coef_)
    adam = dict(settings, optimizer="adam")
    assert not np.array_equal(GradientRegressor(amsgrad=True, **adam).fit(X, y).coef_,
                              GradientRegressor(**adam).fit(X, y).coef_)


@pytest.mark.parametrize("params, name", [({"momentum_decay": -1.0}, "momentum_decay"),
                                          ({"amsgrad": "yes"}, "amsgrad")])
def test_new_parameters_are_validated(data, params, name):
    X, y = data["reg"]
    with pytest.raises(InvalidParameterError, match=name):
        GradientMLPRegressor(**params).fit(X, y)


def test_defaults_keep_adam_and_the_signature_order():
    import inspect

    for Estimator in (GradientRegressor, GradientClassifier, GradientMLPRegressor,
                      GradientMLPClassifier):
        names = list(inspect.signature(Estimator).parameters)
        assert names[names.index("eps") + 1:names.index("eps") + 3] == [
            "amsgrad", "momentum_decay"]
        assert Estimator().get_params()["amsgrad"] is False
        assert Estimator().get_params()["momentum_decay"] == 4e-3


@pytest.mark.parametrize("rule", RULES[:-1])
def test_learning_rate_auto_is_torchs_default(data, rule):
    X, y = data["reg"]
    expected = {"adagrad": 1e-2, "adadelta": 1.0, "adamax": 2e-3, "nadam": 2e-3,
                "radam": 1e-3}[rule]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = GradientRegressor(optimizer=rule, learning_rate="auto", max_iter=2).fit(X, y)
    assert est.learning_rate_ == expected


@pytest.mark.parametrize("rule", ["adagrad", "nadam", "amsgrad"])
def test_full_batch_on_dask_arrays_equals_in_memory(data, rule):
    # The full-batch step's gradient is all-reduced over the blocks; the rule's
    # step is the same pure function (the synchronous scheduler: no cluster).
    da = pytest.importorskip("dask.array")
    import dask

    X, y = data["clf3"]
    est = GradientClassifier(learning_rate=LEARNING_RATES[rule], batch_size=10_000,
                             max_iter=4, tol=None, **estimator_settings(rule), **HYPER)
    memory = est.__sklearn_clone__().fit(X, y)
    with dask.config.set(scheduler="synchronous"):
        on_dask = est.__sklearn_clone__().fit(da.from_array(X, chunks=20),
                                              da.from_array(y, chunks=20))
    assert_allclose(on_dask.coef_, memory.coef_, rtol=1e-10, atol=1e-13)
    assert_allclose(on_dask.loss_curve_, memory.loss_curve_, rtol=1e-10)
    assert on_dask.t_ == memory.t_ == 4
