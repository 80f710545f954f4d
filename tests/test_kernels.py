"""The compiled linear epoch (``sk_gradopt._kernels.linear_epoch``) against a NumPy reference.

The reference below follows the eight steps of the kernel's specification
literally, with the losses of ``_losses.py``; the optimizer rules are written
out again here (torch.optim's, as ``_optimizers.py`` documents them). The
kernel must match it to rounding: 1e-12 relative in float64 (the largest
difference over the largest value of each array), a float32-sized tolerance
in float32. It must also match today's estimators, whose training loop is
the specification's origin, for one epoch from zeros.

Small data throughout: after the one-time compile (or a load from numba's
cache) the module runs in a few seconds.
"""

import json
import math
import os
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest

pytest.importorskip("numba")

from sk_gradopt import GradientClassifier, GradientRegressor  # noqa: E402
from sk_gradopt import _kernels  # noqa: E402
from sk_gradopt._kernels import (  # noqa: E402
    ACTIVATION_CODES,
    LOSSES,
    apply_update,
    compiled_mlp,
    linear_epoch,
)
from sk_gradopt._losses import (  # noqa: E402
    binary_log_loss,
    epsilon_insensitive,
    hinge,
    huber,
    modified_huber,
    multinomial_log_loss,
    squared_error,
)
from sk_gradopt._models import ACTIVATIONS, init_mlp, linear_model, mlp_model  # noqa: E402
from sk_gradopt._optimizers import (  # noqa: E402
    AdamState,
    EmptyState,
    RMSPropState,
    TraceState,
    make_optimizer,
)
from sk_gradopt._penalties import Penalty, decay_weights  # noqa: E402


class Layer(NamedTuple):
    """The parameters of one linear layer, as the rewritten training loop holds them."""

    coef: Any
    intercept: Any


HYPER = dict(momentum=0.9, nesterov=False, rho=0.99, beta_1=0.9, beta_2=0.999, eps=1e-8)
MINI_BATCH = ["sgd", "momentum", "nesterov", "rmsprop", "adam"]
RTOL = {np.float64: 1e-12, np.float32: 2e-5}


# ------------------------------------------------------------------ reference


def reference_epoch(params, state, X, Y, sample_weight, order, bounds, learning_rates, *,
                    loss, epsilon, optimizer, momentum, nesterov, rho, beta_1, beta_2, eps,
                    l1, l2, mean_weight, max_grad_norm=None, weight_decay=0.0):
    """The kernel's specification in NumPy, one step after the other."""
    loss_fn = {
        "squared_error": squared_error,
        "huber": partial(huber, epsilon=epsilon),
        "epsilon_insensitive": partial(epsilon_insensitive, epsilon=epsilon),
        "binary_log_loss": binary_log_loss,
        "multinomial_log_loss": multinomial_log_loss,
        "hinge": hinge,
        "modified_huber": modified_huber,
    }[loss]
    (layer,) = params
    coef = layer.coef.copy()
    intercept = None if layer.intercept is None else layer.intercept.copy()
    fields = {"momentum": ["trace"], "rmsprop": ["nu"], "adam": ["mu", "nu"]}.get(optimizer, [])
    S = {f: [getattr(state, f)[0].coef.copy(),
             None if intercept is None else getattr(state, f)[0].intercept.copy()]
         for f in fields}
    count = state.count if optimizer == "adam" else 0
    total = 0.0
    for b in range(len(bounds) - 1):
        rows = order[bounds[b]:bounds[b + 1]]
        m = rows.shape[0]
        Xb, Yb = X[rows], Y[rows]
        # 1. forward pass, loss, gradient of the loss; sample weights
        raw = Xb @ coef
        if intercept is not None:
            raw = raw + intercept
        loss_i, dz = loss_fn(Yb, raw)
        if sample_weight is not None:
            loss_i = loss_i * sample_weight[rows]
            dz = dz * sample_weight[rows][:, None]
        total += float(np.sum(loss_i, dtype=np.float64))
        # 2. gradients
        scale = 1.0 / (m * mean_weight)
        grads = [Xb.T @ dz * scale]
        if intercept is not None:
            grads.append(np.sum(dz, axis=0) * scale)
        # 3. l2 penalty (coef only)
        if l2:
            grads[0] = grads[0] + l2 * coef
        # 4. clipping of the whole gradient's norm
        if max_grad_norm:
            norm = math.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads))
            grads = [g * min(1.0, max_grad_norm / (norm + 1e-6)) for g in grads]
        # 5. learning rate
        lr = float(learning_rates[b] if len(learning_rates) > 1 else learning_rates[0])
        # 6. decoupled weight decay (coef only)
        if weight_decay:
            coef = coef * (1.0 - lr * weight_decay)
        # 7. optimizer direction, step
        count += 1
        directions = []
        for i, g in enumerate(grads):
            if optimizer in ("gd", "sgd"):
                d = g
            elif optimizer == "momentum":
                S["trace"][i] = momentum * S["trace"][i] + g
                d = g + momentum * S["trace"][i] if nesterov else S["trace"][i]
            elif optimizer == "rmsprop":
                S["nu"][i] = rho * S["nu"][i] + (1.0 - rho) * (g * g)
                d = g / (np.sqrt(S["nu"][i]) + eps)
            else:
                S["mu"][i] = beta_1 * S["mu"][i] + (1.0 - beta_1) * g
                S["nu"][i] = beta_2 * S["nu"][i] + (1.0 - beta_2) * (g * g)
                mu_hat = S["mu"][i] / (1.0 - beta_1**count)
                nu_hat = S["nu"][i] / (1.0 - beta_2**count)
                d = mu_hat / (np.sqrt(nu_hat) + eps)
            directions.append(d)
        coef = coef - lr * directions[0]
        if intercept is not None:
            intercept = intercept - lr * directions[1]
        # 8. l1: soft-thresholding (coef only)
        if l1:
            coef = np.sign(coef) * np.maximum(np.abs(coef) - lr * l1, 0.0)
    new_state = state
    if fields:
        new_state = state._replace(**{f: (Layer(*S[f]),) for f in fields})
        if optimizer == "adam":
            new_state = new_state._replace(count=count)
    return (Layer(coef, intercept),), new_state, total


# ------------------------------------------------------------------ helpers


def make_problem(n=53, d=7, k=1, loss="squared_error", dtype=np.float64, seed=0):
    """Data and encoded targets for ``loss``: values, +-1 columns or one-hot rows."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    if loss == "multinomial_log_loss":
        Y = np.eye(k)[rng.integers(k, size=n)]
    elif loss in ("binary_log_loss", "hinge", "modified_huber"):
        Y = rng.choice([-1.0, 1.0], size=(n, k))
    else:
        Y = X @ rng.standard_normal((d, k)) + 0.3 * rng.standard_normal((n, k))
    return X, Y.astype(dtype)


def initial(d, k, optimizer, dtype=np.float64, intercept=True, seed=1):
    """Non-zero weights and optimizer state (a state from zeros hides mistakes)."""
    rng = np.random.default_rng(seed)

    def layer(positive=False):
        c = rng.standard_normal((d, k)) * 0.1
        b = rng.standard_normal(k) * 0.1
        if positive:
            c, b = c * c, b * b
        return (Layer(c.astype(dtype), b.astype(dtype) if intercept else None),)

    params = layer()
    state = {
        "gd": EmptyState(), "sgd": EmptyState(),
        "momentum": TraceState(trace=layer()),
        "rmsprop": RMSPropState(nu=layer(positive=True)),
        "adam": AdamState(count=3, mu=layer(), nu=layer(positive=True)),
    }[optimizer]
    return params, state


def options(optimizer, **kwargs):
    """Keyword arguments of linear_epoch; ``optimizer="nesterov"`` is momentum with Nesterov."""
    base = dict(HYPER, loss="squared_error", epsilon=0.1, l1=0.0, l2=1e-3, mean_weight=1.0,
                optimizer=optimizer)
    if optimizer == "nesterov":
        base.update(optimizer="momentum", nesterov=True)
    base.update(kwargs)
    return base


def batches(n, batch_size):
    return np.r_[np.arange(0, n, batch_size), n].astype(np.int64)


def assert_close(actual, expected, rtol, what=""):
    """``max|actual - expected| <= rtol * max|expected|`` (exact for all-zero arrays)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, what
    scale = float(np.max(np.abs(expected), initial=0.0))
    err = float(np.max(np.abs(actual.astype(np.float64) - expected), initial=0.0))
    assert err <= rtol * scale, f"{what}: max error {err:.3g} > {rtol:.1g} x {scale:.3g}"


def assert_same_result(got, want, rtol):
    (p1,), s1, l1 = got
    (p2,), s2, l2 = want
    assert_close(p1.coef, p2.coef, rtol, "coef")
    if p2.intercept is None:
        assert p1.intercept is None
    else:
        assert_close(p1.intercept, p2.intercept, rtol, "intercept")
    assert type(s1) is type(s2)
    for field in s2._fields:
        if field == "count":
            assert s1.count == s2.count
            continue
        (a,), (b,) = getattr(s1, field), getattr(s2, field)
        assert_close(a.coef, b.coef, rtol, f"state.{field}.coef")
        if b.intercept is not None:
            assert_close(a.intercept, b.intercept, rtol, f"state.{field}.intercept")
    assert isinstance(l1, float)
    assert abs(l1 - l2) <= rtol * abs(l2), ("loss_sum", l1, l2)


def run_both(X, Y, sw, order, bounds, rates, params, state, rtol, **opts):
    """Run the kernel and the reference on the same input; compare."""
    got = linear_epoch(params, state, X, Y, sw, order, bounds, rates, **opts)
    want = reference_epoch(params, state, X, Y, sw, order, bounds, rates, **opts)
    assert_same_result(got, want, rtol)
    return got


# ------------------------------------------------------------------ equivalence


@pytest.mark.parametrize("optimizer", MINI_BATCH)
@pytest.mark.parametrize("batch_size", [1, 4, 16, 53])
def test_matches_reference_float64(optimizer, batch_size):
    X, Y = make_problem()
    rng = np.random.default_rng(2)
    order = rng.permutation(X.shape[0])
    params, state = initial(X.shape[1], 1, optimizer.replace("nesterov", "momentum"))
    run_both(X, Y, None, order, batches(X.shape[0], batch_size), np.array([0.05]), params,
             state, 1e-12, **options(optimizer))


LOSS_CASES = [
    ("squared_error", 1), ("squared_error", 3), ("huber", 2), ("epsilon_insensitive", 1),
    ("binary_log_loss", 1), ("binary_log_loss", 3), ("multinomial_log_loss", 3),
    ("hinge", 1), ("hinge", 3), ("modified_huber", 2),
]


def test_every_loss_is_tested():
    assert {loss for loss, _ in LOSS_CASES} == set(LOSSES)


@pytest.mark.parametrize("loss, k", LOSS_CASES)
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_every_loss(loss, k, optimizer):
    X, Y = make_problem(k=k, loss=loss)
    # Scaled-up weights put samples on every branch of the piecewise losses.
    params, state = initial(X.shape[1], k, optimizer)
    params = (Layer(params[0].coef * 20, params[0].intercept),)
    order = np.random.default_rng(3).permutation(X.shape[0])
    run_both(X, Y, None, order, batches(X.shape[0], 5), np.array([0.05]), params, state,
             1e-12, **options(optimizer, loss=loss, epsilon=0.5))


@pytest.mark.parametrize("optimizer", MINI_BATCH)
@pytest.mark.parametrize("case", [
    "sample_weight", "no_intercept", "l1", "elasticnet", "no_penalty", "clip", "clip_inactive",
    "weight_decay", "per_step_rates", "uneven_bounds", "everything",
])
def test_options(optimizer, case):
    n, d, k = 41, 6, 2
    X, Y = make_problem(n, d, k)
    rng = np.random.default_rng(4)
    order = rng.permutation(n)
    bounds = batches(n, 4)
    rates = np.array([0.05])
    sw = None
    opts = options(optimizer)
    intercept = True
    if case in ("sample_weight", "everything"):
        sw = rng.uniform(0.0, 3.0, n)
        sw[::7] = 0.0
        opts["mean_weight"] = float(sw.mean())
    if case == "no_intercept":
        intercept = False
    if case in ("l1", "everything"):
        opts.update(l1=0.02, l2=0.0)
    if case == "elasticnet":
        opts.update(l1=0.01, l2=0.05)
    if case == "no_penalty":
        opts.update(l2=0.0)
    if case in ("clip", "everything"):
        opts["max_grad_norm"] = 0.05
    if case == "clip_inactive":
        opts["max_grad_norm"] = 1e6
    if case in ("weight_decay", "everything"):
        opts["weight_decay"] = 0.3
    if case in ("per_step_rates", "everything"):
        rates = rng.uniform(0.01, 0.1, len(bounds) - 1)
    if case in ("uneven_bounds", "everything"):
        # a short block in the middle, a single row, a long last batch
        bounds = np.array([0, 5, 7, 8, 15, 16, 30, n])
        order = np.concatenate([rng.permutation(20), 20 + rng.permutation(n - 20)])
        if case == "everything":
            rates = rng.uniform(0.01, 0.1, len(bounds) - 1)
    params, state = initial(d, k, optimizer.replace("nesterov", "momentum"),
                            intercept=intercept)
    run_both(X, Y, sw, order, bounds, rates, params, state, 1e-12, **opts)


@pytest.mark.parametrize("optimizer", MINI_BATCH)
@pytest.mark.parametrize("loss", ["squared_error", "binary_log_loss", "multinomial_log_loss"])
def test_float32(optimizer, loss):
    k = 3 if loss == "multinomial_log_loss" else 1
    X, Y = make_problem(k=k, loss=loss, dtype=np.float32)
    order = np.random.default_rng(5).permutation(X.shape[0])
    params, state = initial(X.shape[1], k, optimizer.replace("nesterov", "momentum"),
                            dtype=np.float32)
    sw = np.random.default_rng(6).uniform(0.5, 2.0, X.shape[0]).astype(np.float32)
    opts = options(optimizer, loss=loss, l1=1e-3, mean_weight=float(sw.mean()))
    (layer,), state, _ = run_both(X, Y, sw, order, batches(X.shape[0], 3), np.array([0.05]),
                                  params, state, RTOL[np.float32], **opts)
    assert layer.coef.dtype == np.float32 and layer.intercept.dtype == np.float32


@pytest.mark.parametrize("d", [1, 15, 16, 17, 64])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_widths_around_the_padding(d, optimizer):
    # Each output's coefficients are padded with zeros to 64 bytes (16
    # float32, 8 float64), the intercept after them: the edges of that layout.
    X, Y = make_problem(n=30, d=d, k=2)
    params, state = initial(d, 2, optimizer)
    opts = options(optimizer, l1=0.01, weight_decay=0.1, max_grad_norm=0.5)
    order = np.random.default_rng(11).permutation(30)
    for intercept in (True, False):
        if not intercept:
            params = (Layer(params[0].coef, None),)
            state = state if optimizer == "sgd" else state._replace(
                mu=(Layer(state.mu[0].coef, None),), nu=(Layer(state.nu[0].coef, None),))
        run_both(X, Y, None, order, batches(30, 4), np.array([0.05]), params, state, 1e-12,
                 **opts)


def test_order_with_repeats_and_a_subset_of_rows():
    # order needs not be a permutation: a bootstrap sample, rows left out
    X, Y = make_problem()
    order = np.random.default_rng(7).integers(0, X.shape[0], 30)
    params, state = initial(X.shape[1], 1, "adam")
    run_both(X, Y, None, order, batches(30, 4), np.array([0.05]), params, state, 1e-12,
             **options("adam"))


def test_adam_count_advances_and_bias_correction_saturates():
    # Enough steps for 1 - beta**t to round to 1 (the kernel then skips pow).
    X, Y = make_problem(n=200, d=3)
    order = np.tile(np.arange(200), 3)
    params, state = initial(3, 1, "adam")
    opts = options("adam", beta_1=0.5, beta_2=0.8)
    (_, new_state, _) = run_both(X, Y, None, order, batches(600, 1), np.array([0.01]), params,
                                 state, 1e-12, **opts)
    assert new_state.count == state.count + 600


# ------------------------------------------------------------------ input handling


def test_inputs_are_not_modified_and_outputs_are_fresh():
    X, Y = make_problem(k=2)
    params, state = initial(X.shape[1], 2, "adam")
    sw = np.ones(X.shape[0])
    order, bounds, rates = np.arange(X.shape[0]), batches(X.shape[0], 4), np.array([0.1])
    arrays = [X, Y, sw, order, bounds, rates, params[0].coef, params[0].intercept,
              state.mu[0].coef, state.mu[0].intercept, state.nu[0].coef, state.nu[0].intercept]
    copies = [a.copy() for a in arrays]
    new_params, new_state, _ = linear_epoch(params, state, X, Y, sw, order, bounds, rates,
                                            **options("adam"))
    for a, c in zip(arrays, copies):
        np.testing.assert_array_equal(a, c)
    assert not np.array_equal(new_params[0].coef, params[0].coef)
    for new in (new_params[0].coef, new_params[0].intercept, new_state.mu[0].coef):
        assert new.flags.c_contiguous and new.flags.writeable
        assert not any(np.shares_memory(new, a) for a in arrays)
    assert type(new_params) is tuple and type(new_params[0]) is Layer
    assert type(new_state) is AdamState and new_state.count == state.count + len(bounds) - 1


@pytest.mark.parametrize("layout", ["read_only", "memmap", "fortran", "strided", "float32_Y",
                                    "big_endian"])
def test_input_layouts(layout, tmp_path):
    X, Y = make_problem(k=2)
    params, state = initial(X.shape[1], 2, "momentum")
    args = (np.random.default_rng(8).permutation(X.shape[0]), batches(X.shape[0], 3),
            np.array([0.05]))
    want = reference_epoch(params, state, X, Y, None, *args, **options("momentum"))
    if layout == "read_only":
        X = X.copy()
        X.flags.writeable = False
    elif layout == "memmap":
        path = tmp_path / "X.dat"
        X.tofile(path)
        X = np.memmap(path, dtype=X.dtype, mode="r", shape=X.shape)
    elif layout == "fortran":
        X = np.asfortranarray(X)
    elif layout == "strided":
        wide = np.zeros((X.shape[0], 2 * X.shape[1]))
        wide[:, ::2] = X
        X = wide[:, ::2]
    elif layout == "big_endian":
        X = X.astype(">f8")  # copied to native order
    elif layout == "float32_Y":
        Y = Y.astype(np.float32)  # converted to X's dtype
        want = reference_epoch(params, state, X, Y.astype(np.float64), None, *args,
                               **options("momentum"))
    got = linear_epoch(params, state, X, Y, None, *args, **options("momentum"))
    assert_same_result(got, want, 1e-12)


def test_errors():
    X, Y = make_problem()
    params, state = initial(X.shape[1], 1, "sgd")
    order, bounds, rates = np.arange(X.shape[0]), batches(X.shape[0], 4), np.array([0.1])
    run = partial(linear_epoch, params, state)
    with pytest.raises(ValueError, match="Unknown loss"):
        run(X, Y, None, order, bounds, rates, **options("sgd", loss="log_loss"))
    with pytest.raises(ValueError, match="Unknown optimizer"):
        run(X, Y, None, order, bounds, rates, **options("lbfgs"))
    with pytest.raises(IndexError, match="out of range"):
        run(X, Y, None, order + 1, bounds, rates, **options("sgd"))
    with pytest.raises(ValueError, match="bounds"):
        run(X, Y, None, order, np.array([0, 5, 5, 9]), rates, **options("sgd"))
    with pytest.raises(ValueError, match="bounds"):
        run(X, Y, None, order, np.array([0, 5, X.shape[0] + 1]), rates, **options("sgd"))
    with pytest.raises(ValueError, match="learning_rates"):
        run(X, Y, None, order, bounds, np.array([0.1, 0.2]), **options("sgd"))
    with pytest.raises(TypeError, match="float32 or float64"):
        run(X.astype(np.int64), Y, None, order, bounds, rates, **options("sgd"))
    # an empty epoch is no error: nothing changes
    (layer,), _, total = run(X, Y, None, order, np.array([0]), rates, **options("sgd"))
    np.testing.assert_array_equal(layer.coef, params[0].coef)
    assert total == 0.0


# ------------------------------------------------------------------ today's estimators


@pytest.mark.parametrize("optimizer", ["gd", "sgd", "momentum", "nesterov", "rmsprop", "adam"])
@pytest.mark.parametrize("batch_size, shuffle", [(1, False), (7, False), (16, True)])
def test_one_epoch_equals_gradient_regressor(optimizer, batch_size, shuffle):
    X, Y = make_problem(n=60, d=5)
    y = Y[:, 0]
    n, d = X.shape
    nesterov = optimizer == "nesterov"
    opt = "momentum" if nesterov else optimizer
    est = GradientRegressor(optimizer=opt, nesterov=nesterov, batch_size=batch_size,
                            learning_rate=0.02, alpha=1e-3, penalty="elasticnet",
                            l1_ratio=0.3, shuffle=shuffle, random_state=0, tol=None,
                            max_iter=1).fit(X, y)
    bs = n if optimizer == "gd" else batch_size
    order = np.random.RandomState(0).permutation(n) if shuffle and bs < n else np.arange(n)
    params, state = initial(d, 1, "sgd" if opt == "gd" else opt)
    zeros = (Layer(np.zeros((d, 1)), np.zeros(1)),)
    state = state._replace(**{f: zeros for f in state._fields if f != "count"})
    if opt == "adam":
        state = state._replace(count=0)
    (layer,), _, total = linear_epoch(
        zeros, state, X, Y, None, order, batches(n, bs), np.array([0.02]),
        **options(optimizer, l1=1e-3 * 0.3, l2=1e-3 * 0.7))
    assert_close(layer.coef[:, 0], est.coef_, 1e-12, "coef")
    assert_close(layer.intercept, est.intercept_, 1e-12, "intercept")
    # the first loss_curve_ value is the mean loss during the epoch (penalty 0 at zeros)
    assert abs(total / n - est.loss_curve_[0]) <= 1e-12 * est.loss_curve_[0]


def test_one_epoch_equals_gradient_regressor_with_schedule_and_weights():
    X, Y = make_problem(n=60, d=5, k=2)
    n, d = X.shape
    sw = np.random.default_rng(9).uniform(0.0, 2.0, n)
    est = GradientRegressor(optimizer="adam", batch_size=8, learning_rate=0.05,
                            schedule="invscaling", power_t=0.5, penalty="l1", alpha=1e-2,
                            fit_intercept=False, shuffle=False, tol=None, max_iter=1)
    est.fit(X, Y, sample_weight=sw)
    bounds = batches(n, 8)
    rates = 0.05 / np.arange(1, len(bounds)) ** 0.5
    zeros = (Layer(np.zeros((d, 2)), None),)
    (layer,), _, _ = linear_epoch(
        zeros, AdamState(0, zeros, zeros), X, Y, sw, np.arange(n), bounds, rates,
        **options("adam", l1=1e-2, l2=0.0, mean_weight=float(sw.mean())))
    assert_close(layer.coef, est.coef_.T, 1e-12, "coef")
    np.testing.assert_array_equal(est.intercept_, 0.0)


@pytest.mark.parametrize("loss, n_classes", [("log_loss", 2), ("log_loss", 3), ("hinge", 3),
                                             ("modified_huber", 2)])
def test_one_epoch_equals_gradient_classifier(loss, n_classes):
    X, _ = make_problem(n=60, d=5)
    y = np.random.default_rng(10).integers(n_classes, size=60)
    n, d = X.shape
    # Batches of 7 rows: from zero weights, a batch of 6 can hold each of 3
    # classes twice, and its intercept gradient sum(1/3 - y) cancels to a
    # rounding error, which RMSprop's g / (sqrt(v) + eps) magnifies ~1e8-fold.
    est = GradientClassifier(loss=loss, optimizer="rmsprop", batch_size=7,
                             learning_rate=0.02, shuffle=False, tol=None, max_iter=1).fit(X, y)
    if n_classes == 2:
        Y, k, name = np.where(y == 1, 1.0, -1.0)[:, None], 1, "binary_log_loss"
    else:
        Y, k, name = np.eye(n_classes)[y], n_classes, "multinomial_log_loss"
        if loss != "log_loss":
            Y = 2.0 * Y - 1.0
    kernel_loss = name if loss == "log_loss" else loss
    zeros = (Layer(np.zeros((d, k)), np.zeros(k)),)
    (layer,), _, _ = linear_epoch(zeros, RMSPropState(zeros), X, Y, None, np.arange(n),
                                  batches(n, 7), np.array([0.02]),
                                  **options("rmsprop", loss=kernel_loss, l2=1e-4))
    assert_close(layer.coef, est.coef_.T, 1e-12, "coef")
    assert_close(layer.intercept, est.intercept_, 1e-12, "intercept")


# ------------------------------------------------- the MLP's hidden layers


def mlp_problem(units, activation, dtype, *, weighted, seed=0):
    """``(params, X, Y, sample_weight, loss_fn, scale)`` of an MLP with these layer units."""
    rng = np.random.default_rng(seed)
    n = 11
    X = rng.standard_normal((n, units[0])).astype(dtype)
    Y = rng.standard_normal((n, units[-1])).astype(dtype)
    sample_weight = rng.uniform(0.5, 2.0, n).astype(dtype) if weighted else None
    params = init_mlp(units, activation, np.random.RandomState(seed), xp=np, dtype=dtype,
                      device=None)
    return params, X, Y, sample_weight, squared_error, 1.0 / (n * 1.3)


MLP_SHAPES = [[3, 5, 1], [3, 6, 4, 1], [4, 5, 3, 2], [2, 3]]


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("units", MLP_SHAPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_compiled_mlp_equals_the_array_api_mlp(activation, dtype, units, weighted):
    # The pure functions of _models.py are the reference (test_mlp.py checks
    # them against finite differences and scikit-learn's MLP); one or several
    # outputs take the two branches of the backward pass.
    assert set(ACTIVATION_CODES) == set(ACTIVATIONS)
    args = mlp_problem(units, activation, dtype, weighted=weighted)
    params = args[0]
    before = [(layer.coef.copy(), layer.intercept.copy()) for layer in params]
    reference, compiled = mlp_model(activation), compiled_mlp(mlp_model(activation))
    rtol = RTOL[dtype]
    loss, grads = compiled.loss_and_grad(*args)
    want_loss, want_grads = reference.loss_and_grad(*args)
    assert loss.dtype == want_loss.dtype == dtype
    assert_close(loss, want_loss, rtol, "loss")
    assert len(grads) == len(want_grads) == len(units) - 1
    for i, (g, want) in enumerate(zip(grads, want_grads)):
        assert g.coef.dtype == g.intercept.dtype == dtype
        assert_close(g.coef, want.coef, rtol, f"layer {i} coef")
        assert_close(g.intercept, want.intercept, rtol, f"layer {i} intercept")
    raw = compiled.forward(params, args[1])
    assert raw.dtype == dtype
    assert_close(raw, reference.forward(params, args[1]), rtol, "forward")
    for layer, (coef, intercept) in zip(params, before):  # inputs untouched
        np.testing.assert_array_equal(layer.coef, coef)
        np.testing.assert_array_equal(layer.intercept, intercept)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_compiled_mlp_without_intercepts_and_with_a_classification_loss(activation):
    params, X, _, sample_weight, _, scale = mlp_problem([3, 5, 4, 3], activation, np.float64,
                                                        weighted=True)
    params = (params[0]._replace(intercept=None), params[1], params[2]._replace(intercept=None))
    Y = np.eye(3)[np.arange(X.shape[0]) % 3]
    args = (params, X, Y, sample_weight, multinomial_log_loss, scale)
    loss, grads = compiled_mlp(mlp_model(activation)).loss_and_grad(*args)
    want_loss, want_grads = mlp_model(activation).loss_and_grad(*args)
    assert_close(loss, want_loss, 1e-12, "loss")
    for g, want in zip(grads, want_grads):
        assert_close(g.coef, want.coef, 1e-12, "coef")
        if want.intercept is None:
            assert g.intercept is None
        else:
            assert_close(g.intercept, want.intercept, 1e-12, "intercept")


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_compiled_mlp_propagates_nan_as_the_reference(activation):
    # A diverged weight must show in the gradients as it does in the
    # reference: the training loop's divergence guard reads them.
    args = list(mlp_problem([3, 5, 4, 1], activation, np.float64, weighted=False))
    coef = args[0][1].coef.copy()
    coef[2, 1] = np.nan
    args[0] = (args[0][0], args[0][1]._replace(coef=coef), args[0][2])
    with np.errstate(all="ignore"):
        _, grads = compiled_mlp(mlp_model(activation)).loss_and_grad(*args)
        _, want = mlp_model(activation).loss_and_grad(*args)
    for g, w in zip(grads, want):
        for leaf, leaf_want in ((g.coef, w.coef), (g.intercept, w.intercept)):
            np.testing.assert_array_equal(np.isnan(leaf), np.isnan(leaf_want))
            finite = ~np.isnan(leaf_want)
            assert_close(leaf[finite], leaf_want[finite], 1e-12)
    assert np.isnan(grads[0].coef).any()


@pytest.mark.parametrize("layout", ["fortran", "read_only", "memmap", "strided"])
def test_compiled_mlp_takes_any_layout_of_X_and_params(layout, tmp_path):
    params, X, Y, sample_weight, loss_fn, scale = mlp_problem([4, 6, 5, 1], "relu", np.float64,
                                                              weighted=True)
    want = mlp_model("relu").loss_and_grad(params, X, Y, sample_weight, loss_fn, scale)
    if layout == "fortran":
        X = np.asfortranarray(X)
        params = tuple(Layer(np.asfortranarray(p.coef), p.intercept) for p in params)
    elif layout == "read_only":
        X = X.copy()
        for a in (X, *[leaf for p in params for leaf in p]):
            a.flags.writeable = False
    elif layout == "memmap":
        path = tmp_path / "X.dat"
        X.tofile(path)
        X = np.memmap(path, dtype=X.dtype, mode="r", shape=X.shape)
    else:
        X = np.repeat(X, 2, axis=1)[:, ::2]
        params = tuple(Layer(np.repeat(p.coef, 2, axis=0)[::2], p.intercept) for p in params)
    loss, grads = compiled_mlp(mlp_model("relu")).loss_and_grad(params, X, Y, sample_weight,
                                                                loss_fn, scale)
    assert_close(loss, want[0], 1e-12, "loss")
    for g, w in zip(grads, want[1]):
        assert_close(g.coef, w.coef, 1e-12, "coef")
        assert_close(g.intercept, w.intercept, 1e-12, "intercept")


@pytest.mark.parametrize("loss_fn, targets", [
    (squared_error, "values"), (partial(huber, epsilon=0.3), "values"),
    (partial(epsilon_insensitive, epsilon=0.2), "values"), (binary_log_loss, "signs"),
    (hinge, "signs"), (modified_huber, "signs"), (multinomial_log_loss, "one-hot"),
])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted, intercept, k", [(False, True, 1), (True, True, 3),
                                                    (True, False, 2)])
def test_the_fused_linear_loss_and_grad_equals_the_reference(loss_fn, targets, dtype,
                                                             weighted, intercept, k):
    rng = np.random.default_rng(3)
    n, d = 57, 6
    X = rng.standard_normal((n, d)).astype(dtype)
    Y = {"values": rng.standard_normal((n, k)), "signs": np.sign(rng.standard_normal((n, k))),
         "one-hot": np.eye(k)[rng.integers(0, k, n)]}[targets].astype(dtype)
    coef = (0.5 * rng.standard_normal((d, k))).astype(dtype)
    params = (Layer(coef, (0.3 * rng.standard_normal(k)).astype(dtype) if intercept else None),)
    sw = rng.uniform(0.0, 2.0, n).astype(dtype) if weighted else None
    args = (params, X, Y, sw, loss_fn, 1.0 / n)
    loss, (g,) = _kernels.compiled_linear(linear_model()).loss_and_grad(*args)
    want_loss, (want,) = linear_model().loss_and_grad(*args)
    rtol = RTOL[dtype]
    assert loss.dtype == g.coef.dtype == dtype
    assert_close(np.sum(loss), np.sum(want_loss), rtol, "loss")  # (summed, or per sample)
    assert_close(g.coef, want.coef, rtol, "coef")
    if intercept:
        assert g.intercept.dtype == dtype
        assert_close(g.intercept, want.intercept, rtol, "intercept")
    else:
        assert g.intercept is None
    np.testing.assert_array_equal(params[0].coef, coef)  # inputs untouched


def test_compiled_linear_takes_the_linear_model_only():
    with pytest.raises(ValueError, match="linear"):
        _kernels.compiled_linear(mlp_model("relu"))


def test_compiled_mlp_takes_an_mlp_only():
    with pytest.raises(ValueError, match="MLP"):
        compiled_mlp(linear_model())


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "rmsprop", "adam"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("l1, weight_decay", [(0.0, 0.0), (0.05, 0.3)])
def test_apply_update_equals_the_pure_step(optimizer, dtype, l1, weight_decay):
    # The training loop's pure functions, in their order: decoupled decay of
    # the coef leaves, the optimizer's direction, the step, the l1 proximal
    # step of the coef leaves; three steps, so that Adam's count and every
    # state array carry over.
    params = mlp_problem([3, 5, 4, 2], "tanh", dtype, weighted=False)[0]
    params = params[:2] + (params[2]._replace(intercept=None),)  # a layer without intercept
    rng = np.random.default_rng(1)
    rule = make_optimizer(optimizer.replace("nesterov", "momentum"),
                          **dict(HYPER, nesterov=optimizer == "nesterov"))
    hyper = dict(HYPER, nesterov=optimizer == "nesterov")
    name = optimizer.replace("nesterov", "momentum")
    ours = want = params
    ours_state = want_state = rule.init(params)
    penalty = Penalty(l1, 0.0)
    for lr in (0.1, 0.05, 0.2):
        grads = tuple(layer._replace(**{f: None if getattr(layer, f) is None else
                                        rng.standard_normal(getattr(layer, f).shape)
                                        .astype(dtype) for f in ("coef", "intercept")})
                      for layer in params)
        ours, ours_state = apply_update(ours, grads, ours_state, lr, optimizer=name, **hyper,
                                        l1=l1, weight_decay=weight_decay)
        stepped = decay_weights(want, 1.0 - lr * weight_decay) if weight_decay else want
        direction, want_state = rule.update(grads, want_state)
        stepped = tuple(layer._replace(coef=layer.coef - lr * d.coef,
                                       intercept=None if d.intercept is None else
                                       layer.intercept - lr * d.intercept)
                        for layer, d in zip(stepped, direction))
        want = penalty.prox(stepped, lr)
    for got, expected in [(ours, want)] + [
            (getattr(ours_state, f), getattr(want_state, f)) for f in ours_state._fields
            if f != "count"]:
        for g, w in zip(got, expected):
            assert g.coef.dtype == dtype
            assert_close(g.coef, w.coef, RTOL[dtype], "coef")
            if w.intercept is None:
                assert g.intercept is None
            else:
                assert_close(g.intercept, w.intercept, RTOL[dtype], "intercept")
    if name == "adam":
        assert ours_state.count == want_state.count == 3


# ------------------------------------------------------------------ compilation


def every_combination():
    """Run every loss, optimizer and option in both dtypes; return the signature counts.

    Writable and read-only X, with and without sample weights and intercept,
    one or several outputs, clipping, decay, l1, one or per-step rates, int32
    order. The counts are those of each compiled function of the module.
    """
    for dtype in (np.float64, np.float32):
        for loss, k in [("squared_error", 1), ("huber", 1), ("epsilon_insensitive", 2),
                        ("binary_log_loss", 1), ("multinomial_log_loss", 3), ("hinge", 2),
                        ("modified_huber", 1)]:
            X, Y = make_problem(n=12, d=3, k=k, loss=loss, dtype=dtype)
            for optimizer in ["gd", "sgd", "momentum", "nesterov", "rmsprop", "adam"]:
                base = optimizer.replace("nesterov", "momentum")
                for variant in range(4):
                    params, state = initial(3, k, "sgd" if base == "gd" else base, dtype=dtype,
                                            intercept=variant % 2 == 0)
                    Xv = X.copy()
                    Xv.flags.writeable = variant < 2
                    sw = None if variant in (0, 3) else np.ones(12, dtype=dtype)
                    opts = options(optimizer, loss=loss, l1=0.01 * (variant > 1),
                                   l2=0.01 * (variant != 1),
                                   max_grad_norm=[None, 0.1][variant % 2],
                                   weight_decay=0.1 * (variant == 3))
                    rates = np.array([0.1]) if variant < 2 else np.full(4, 0.1)
                    linear_epoch(params, state, Xv, Y, sw, np.arange(12, dtype=np.int32),
                                 batches(12, 3), rates, **opts)
        for activation in ACTIVATION_CODES:
            for units, read_only in [([3, 5, 1], False), ([3, 5, 4, 2], True)]:
                args = mlp_problem(units, activation, dtype, weighted=read_only)
                if read_only:
                    for layer in args[0]:
                        layer.coef.flags.writeable = layer.intercept.flags.writeable = False
                _kernels.compiled_mlp(mlp_model(activation)).loss_and_grad(*args)
        for weighted, intercept in [(False, True), (True, False)]:
            args = mlp_problem([3, 2], "relu", dtype, weighted=weighted)
            if not intercept:
                args = ((args[0][0]._replace(intercept=None),), *args[1:])
            for loss_fn in (squared_error, partial(huber, epsilon=0.1)):
                for X in (args[1], np.asfortranarray(args[1])):  # one pass; BLAS
                    _kernels.compiled_linear(linear_model()).loss_and_grad(
                        args[0], X, *args[2:4], loss_fn, args[5])
        params = mlp_problem([3, 5, 2], "relu", dtype, weighted=False)[0]
        for optimizer in ["sgd", "momentum", "rmsprop", "adam"]:
            state = make_optimizer(optimizer, **HYPER).init(params)
            apply_update(params, params, state, 0.1, optimizer=optimizer, **HYPER,
                         l1=0.01, weight_decay=0.1)
    return {name: len(f.signatures) for name, f in vars(_kernels).items()
            if hasattr(f, "signatures") and hasattr(f, "py_func")}


def test_one_compiled_signature_per_dtype(tmp_path):
    """At most one compiled signature per dtype, for every function of the module.

    In a fresh process with an empty numba cache (``NUMBA_CACHE_DIR``): a
    function loaded from the cache lists no signature of the helpers it
    calls, so only a cold compile shows them all.
    """
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); import test_kernels; "
            "print(json.dumps(test_kernels.every_combination()))")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent)], env=env,
                         capture_output=True, text=True, check=True, timeout=300)
    counts = json.loads(out.stdout.splitlines()[-1])
    assert counts["_epoch"] == 2, counts
    assert counts["_dot"] == 2, counts  # compiled apart (fastmath), called, so listed
    assert counts["_bias_relu"] == counts["_hidden_delta"] == counts["_update_leaf"] == 2, counts
    assert counts["_loss_pass"] == counts["_rows_pass"] == 2, counts
    assert all(c <= 2 for c in counts.values()), counts


def test_importing_the_package_does_not_import_numba():
    code = "import sys, sk_gradopt; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("loss", ["squared_error", "huber", "epsilon_insensitive",
                                  "binary_log_loss", "hinge", "modified_huber"])
def test_a_nan_weight_shows_in_the_loss(loss):
    # As in the reference (np.maximum and np.where propagate nan): the
    # training loop detects divergence from the loss and the weights.
    X, Y = make_problem(n=8, d=3, loss=loss)
    params, state = initial(3, 1, "sgd")
    params = (Layer(np.full((3, 1), np.nan), params[0].intercept),)
    (layer,), _, total = linear_epoch(params, state, X, Y, None, np.arange(8), batches(8, 4),
                                      np.array([0.1]), **options("sgd", loss=loss))
    with np.errstate(all="ignore"):
        _, _, want = reference_epoch(params, state, X, Y, None, np.arange(8), batches(8, 4),
                                     np.array([0.1]), **options("sgd", loss=loss))
    assert math.isnan(total) and math.isnan(want)
    assert np.isnan(layer.coef).all()
