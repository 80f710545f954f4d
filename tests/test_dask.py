"""Fitting on Dask arrays over a dask.distributed cluster, against the in-memory fit.

Every test compares with the reference: the same estimator fitted on the same
data as NumPy arrays. The cluster is real: a ``LocalCluster`` of two worker
processes on loopback, shared by the module.
"""

import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning

import sk_gradopt
from sk_gradopt import GradientClassifier, GradientRegressor

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

from sk_gradopt import _dask  # noqa: E402  (needs Dask)

RTOL = ATOL = 1e-10


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
        dashboard_address=None,
    ) as cluster, distributed.Client(cluster) as client:
        yield client


def to_dask(*arrays, chunks=500):
    return tuple(None if a is None else da.from_array(a, chunks=chunks) for a in arrays)


def regression(n=2000, d=5, seed=0):
    X, y = make_regression(n, d, noise=5.0, random_state=seed)
    return X, y / 50.0


def classification(n=2000, d=5, n_classes=3, seed=0):
    X, y = make_classification(n, d, n_informative=3, n_redundant=0, n_classes=n_classes,
                               random_state=seed)
    return X, np.array(["ant", "bee", "cat", "dog"], dtype=object)[y]


def assert_same_fit(dask_fit, memory_fit):
    for name in ("coef_", "intercept_"):
        value = getattr(dask_fit, name)
        assert isinstance(value, np.ndarray), name
        np.testing.assert_allclose(value, getattr(memory_fit, name), rtol=RTOL, atol=ATOL,
                                   err_msg=name)
    np.testing.assert_allclose(dask_fit.loss_curve_, memory_fit.loss_curve_, rtol=RTOL,
                               atol=ATOL)
    assert (dask_fit.n_iter_, dask_fit.t_) == (memory_fit.n_iter_, memory_fit.t_)


# -------------------------------------------------------------- import


def test_import_does_not_import_dask():
    code = "import sys, sk_gradopt; sys.exit('dask' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_missing_dask_says_what_to_install(monkeypatch):
    monkeypatch.delitem(sys.modules, "sk_gradopt._dask")
    monkeypatch.setitem(sys.modules, "dask", None)
    with pytest.raises(ImportError, match=re.escape("pip install 'sk-gradopt[dask]'")):
        import sk_gradopt._dask  # noqa: F401


# ---------------------------------------------------------- full batch


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("optimizer", ["gd", "adam"])
@pytest.mark.parametrize("Estimator", [GradientRegressor, GradientClassifier])
def test_full_batch_fit_equals_in_memory(client, Estimator, optimizer, weighted):
    X, y = regression() if Estimator is GradientRegressor else classification()
    sw = np.random.default_rng(1).uniform(0.0, 3.0, X.shape[0]) if weighted else None
    # "adam" with batch_size >= n_samples is full batch too; the stopping rule is on.
    est = Estimator(optimizer=optimizer, learning_rate=0.1, batch_size=10_000, max_iter=15,
                    tol=1e-3, n_iter_no_change=3, penalty="elasticnet", alpha=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        memory = est.fit(X, y, sample_weight=sw).__sklearn_clone__().fit(X, y, sample_weight=sw)
        on_dask = est.__sklearn_clone__().fit(*to_dask(X, y, sw))
    assert_same_fit(on_dask, memory)
    assert on_dask.n_features_in_ == X.shape[1]
    if Estimator is GradientClassifier:
        np.testing.assert_array_equal(on_dask.classes_, memory.classes_)


def test_the_stopping_rule_and_divergence_match_in_memory(client):
    X, y = regression()
    stops = GradientRegressor(optimizer="gd", learning_rate=0.5, max_iter=200, tol=1e-2,
                              n_iter_no_change=2)
    memory = stops.__sklearn_clone__().fit(X, y)
    assert memory.n_iter_ < 200
    assert_same_fit(stops.fit(*to_dask(X, y)), memory)
    diverges = GradientRegressor(optimizer="gd", learning_rate=50.0, max_iter=10, tol=None)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        memory = diverges.__sklearn_clone__().fit(X, y)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        assert_same_fit(diverges.fit(*to_dask(X, y)), memory)


def test_the_blocks_run_on_the_workers(client):
    X, y = regression(n=600)
    GradientRegressor(optimizer="gd", max_iter=2, tol=None).fit(*to_dask(X, y, chunks=200))
    assert set(client.run(lambda: "sk_gradopt._dask" in sys.modules).values()) == {True}


def test_large_arguments_travel_once_as_a_shared_key(client, monkeypatch):
    monkeypatch.setattr(_dask, "EMBED_BYTES", 0)
    X, y = regression(n=1000)
    for est in (GradientRegressor(optimizer="gd", max_iter=5, tol=None),
                GradientRegressor(optimizer="sgd", batch_size=100, max_iter=2, tol=None,
                                  shuffle=False)):
        memory = est.__sklearn_clone__().fit(X, y)
        assert_same_fit(est.fit(*to_dask(X, y, chunks=500 if est.optimizer == "gd" else 100)),
                        memory)


def test_default_scheduler_without_a_client():
    X, y = regression(n=1000)
    est = GradientRegressor(optimizer="adam", batch_size=5000, max_iter=10, tol=None)
    memory = est.__sklearn_clone__().fit(X, y)
    with dask.config.set(scheduler="synchronous"):
        assert _dask.active_client() is None
        assert_same_fit(est.fit(*to_dask(X, y, chunks=300)), memory)


# ---------------------------------------------------------- predictions


def test_predictions_are_lazy_and_equal(client):
    X, y = regression()
    Xd, yd = to_dask(X, y)
    reg = GradientRegressor(optimizer="gd", learning_rate=0.1, max_iter=10, tol=None)
    memory, on_dask = reg.__sklearn_clone__().fit(X, y), reg.fit(Xd, yd)
    pred = on_dask.predict(Xd)
    assert isinstance(pred, da.Array) and pred.chunks == (Xd.chunks[0],)
    np.testing.assert_allclose(pred.compute(), memory.predict(X), rtol=RTOL, atol=ATOL)
    sw = np.linspace(0.1, 2.0, X.shape[0])
    for weights in (None, sw):
        assert on_dask.score(Xd, yd, weights) == pytest.approx(memory.score(X, y, weights),
                                                               rel=1e-12)

    X, y = classification()
    Xd, yd = to_dask(X, y)
    clf = GradientClassifier(optimizer="gd", learning_rate=0.5, max_iter=10, tol=None)
    memory, on_dask = clf.__sklearn_clone__().fit(X, y), clf.fit(Xd, yd)
    for method in ("predict", "predict_proba", "predict_log_proba", "decision_function"):
        lazy = getattr(on_dask, method)(Xd)
        assert isinstance(lazy, da.Array), method
        expected = getattr(memory, method)(X)
        if method == "predict":
            np.testing.assert_array_equal(lazy.compute(), expected)
        else:
            np.testing.assert_allclose(lazy.compute(), expected, rtol=RTOL, atol=ATOL)
    assert on_dask.score(Xd, yd, sw) == pytest.approx(memory.score(X, y, sw), rel=1e-12)
    # a model fitted in memory predicts on Dask arrays too
    np.testing.assert_array_equal(memory.predict(Xd).compute(), memory.predict(X))


# ------------------------------------------------- X stays on the cluster


def test_X_is_never_materialised_on_the_client(client, monkeypatch):
    n, d = 4000, 20
    X = da.random.default_rng(0).standard_normal((n, d), chunks=(1000, d))
    w = da.random.default_rng(1).standard_normal(d)
    y = X @ w  # on the workers too
    labels = (y > 0).astype(int)
    X_np, y_np, labels_np = dask.compute(X, y, labels)  # the reference, before the patches

    def guarded(method):
        def call(self, *args, **kwargs):
            if self.size >= n:  # as large as y, let alone X
                raise AssertionError(f"{method} of a Dask array of shape {self.shape}")
            return getattr(da.Array, "_unguarded_" + method)(self, *args, **kwargs)
        return call

    gathered = []
    gather = distributed.Client.gather

    def spy_gather(self, futures, *args, **kwargs):
        result = gather(self, futures, *args, **kwargs)
        gathered.append(dask.sizeof.sizeof(result))
        return result

    for method in ("__array__", "compute"):
        monkeypatch.setattr(da.Array, "_unguarded_" + method, getattr(da.Array, method),
                            raising=False)
        monkeypatch.setattr(da.Array, method, guarded(method))
    monkeypatch.setattr(distributed.Client, "gather", spy_gather)

    fits = [
        (GradientRegressor(optimizer="gd", max_iter=5, tol=None), (X, y)),
        (GradientRegressor(optimizer="adam", batch_size=100, max_iter=2, tol=None,
                           early_stopping=True, random_state=0), (X, y)),
        (GradientClassifier(optimizer="gd", max_iter=5, tol=None), (X, labels)),
    ]
    fitted = [est.fit(*data) for est, data in fits]
    fitted[2].partial_fit(X, labels)
    fitted[0].score(X, y)
    fitted[2].predict(X)  # lazy
    monkeypatch.undo()

    assert gathered and max(gathered) < X_np.nbytes / 100
    memory = GradientRegressor(optimizer="gd", max_iter=5, tol=None).fit(X_np, y_np)
    assert_same_fit(fitted[0], memory)
    assert fitted[2].score(X_np, labels_np) > 0.9


def test_epoch_time_stays_flat(client, monkeypatch, capsys):
    X, y = regression(n=2000)
    Xd, yd = to_dask(X, y, chunks=250)
    graph_sizes = []
    compute = _dask._compute

    def spy(*values):
        graph_sizes.append(sum(len(v.__dask_graph__()) for v in values))
        return compute(*values)

    monkeypatch.setattr(_dask, "_compute", spy)
    GradientRegressor(optimizer="gd", max_iter=12, tol=None, verbose=1).fit(Xd, yd)
    times = [float(t) for t in re.findall(r"time = ([0-9.]+)s", capsys.readouterr().out)]
    assert len(times) == 12
    # every step sends a graph of the same size: nothing grows with the epochs
    steps = graph_sizes[2:-1]  # after the objectives at the start, before the final one
    assert len(steps) == 12 and len(set(steps)) == 1, graph_sizes
    early, late = np.median(times[1:4]), np.median(times[9:12])
    assert late < 2.0 * early + 0.1, times


# ----------------------------------------------------------- mini-batch


@pytest.mark.parametrize("Estimator", [GradientRegressor, GradientClassifier])
def test_mini_batch_fit_learns_as_well_as_in_memory(client, Estimator):
    if Estimator is GradientRegressor:
        X, y = regression(n=4000, d=10, seed=3)
    else:
        X, y = classification(n=4000, d=10, n_classes=2, seed=3)
    X_train, y_train, X_test, y_test = X[:3000], y[:3000], X[3000:], y[3000:]
    est = Estimator(optimizer="adam", learning_rate=0.01, batch_size=50, max_iter=8, tol=None,
                    random_state=0)
    memory = est.__sklearn_clone__().fit(X_train, y_train)
    on_dask = est.fit(*to_dask(X_train, y_train, chunks=750))
    # batches never span two blocks: 750 rows are 15 batches
    assert on_dask.t_ == 8 * 4 * 15
    assert on_dask.score(X_test, y_test) == pytest.approx(memory.score(X_test, y_test), abs=0.01)


def test_mini_batches_are_drawn_within_blocks_in_a_shuffled_block_order():
    X, y = regression(n=1000)
    with dask.config.set(scheduler="synchronous"):
        Xd, yd = to_dask(X, y, chunks=300)
        kw = dict(optimizer="sgd", learning_rate=0.01, batch_size=100, max_iter=1, tol=None)
        # shuffle=False: the blocks in order and the rows in order, as in memory
        in_order = GradientRegressor(shuffle=False, **kw).fit(Xd, yd)
        assert_same_fit(in_order, GradientRegressor(shuffle=False, **kw).fit(X, y))
        shuffled = [GradientRegressor(shuffle=s, random_state=0, **kw).fit(Xd, yd)
                    for s in (True, "blocks")]
        for est in shuffled:
            assert est.t_ == 3 * 3 + 1  # 300 + 300 + 300 + 100 rows
            assert not np.allclose(est.coef_, in_order.coef_)
        again = GradientRegressor(shuffle=True, random_state=0, **kw).fit(Xd, yd)
        np.testing.assert_array_equal(again.coef_, shuffled[0].coef_)
        with pytest.warns(UserWarning, match="larger than the largest block"):
            big = GradientRegressor(**{**kw, "batch_size": 400}).fit(Xd, yd)
        assert big.t_ == 4
        # a block left empty (by a selection, say) is skipped
        chunks = ((300, 0, 300, 300, 100),)
        with_empty = da.from_array(X, chunks=chunks + ((5,),)), da.from_array(y, chunks=chunks)
        assert_same_fit(GradientRegressor(shuffle=False, **kw).fit(*with_empty), in_order)
        gd = GradientRegressor(optimizer="gd", max_iter=3, tol=None)
        assert_same_fit(gd.fit(*with_empty), gd.__sklearn_clone__().fit(X, y))


def test_partial_fit_over_dask_arrays(client):
    X, y = regression(n=1500)
    Xd, yd = to_dask(X, y)
    est = GradientRegressor(optimizer="adam", batch_size=10_000, learning_rate=0.1)
    memory, on_dask = est.__sklearn_clone__(), est.__sklearn_clone__()
    for _ in range(3):
        memory.partial_fit(X, y)
        on_dask.partial_fit(Xd, yd)
    assert_same_fit(on_dask, memory)

    X, y = classification(n=1500)
    Xd, yd = to_dask(X, y)
    clf = GradientClassifier(optimizer="sgd", batch_size=100, learning_rate=0.05,
                             random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(Xd, yd)
    clf.partial_fit(Xd, yd, classes=np.array(["cat", "bee", "ant"], dtype=object))
    clf.partial_fit(Xd, yd)
    assert clf.t_ == 2 * 3 * 5
    assert clf.score(Xd, yd) > 0.7
    with pytest.raises(ValueError, match="not in classes"):
        clf.partial_fit(Xd, da.from_array(np.where(y == "ant", "eel", y), chunks=500))


# ------------------------------------------------------ early stopping


def test_early_stopping_holds_out_whole_blocks(client):
    X, y = regression(n=2000)
    Xd, yd = to_dask(X, y, chunks=400)  # 5 blocks: validation_fraction=0.2 holds out one
    est = GradientRegressor(optimizer="gd", learning_rate=0.3, max_iter=40, tol=1e-3,
                            n_iter_no_change=2, early_stopping=True, validation_fraction=0.2,
                            random_state=0, alpha=0.0)
    on_dask = est.fit(Xd, yd)
    assert len(on_dask.validation_loss_curve_) == on_dask.n_iter_
    # Exactly one block, held out whole, reproduces the training curve in memory.
    matches = []
    for held in range(5):
        rows = np.r_[0:400 * held, 400 * (held + 1):2000]
        memory = GradientRegressor(optimizer="gd", learning_rate=0.3, tol=None, alpha=0.0,
                                   max_iter=on_dask.n_iter_).fit(X[rows], y[rows])
        if np.allclose(memory.loss_curve_, on_dask.loss_curve_, rtol=RTOL, atol=ATOL):
            matches.append(held)
    assert len(matches) == 1
    # The weights kept are those of the best validation loss, on the held-out block.
    held_out = slice(400 * matches[0], 400 * (matches[0] + 1))
    residual = y[held_out] - X[held_out] @ on_dask.coef_ - on_dask.intercept_
    assert 0.5 * np.mean(residual**2) == pytest.approx(min(on_dask.validation_loss_curve_),
                                                        rel=1e-10)
    assert on_dask.best_loss_ == min(on_dask.validation_loss_curve_)

    with pytest.raises(ValueError, match="holds out whole blocks"):
        est.fit(*to_dask(X, y, chunks=2000))


# ---------------------------------------------------------- classifier


def test_classifier_finds_its_classes_with_da_unique(client, monkeypatch):
    calls = []
    unique = da.unique

    def spy(*args, **kwargs):
        calls.append(args[0].shape)
        return unique(*args, **kwargs)

    monkeypatch.setattr(da, "unique", spy)
    X, y = classification(n_classes=4)
    sw = np.random.default_rng(0).uniform(0.5, 2.0, X.shape[0])
    clf = GradientClassifier(optimizer="gd", learning_rate=0.5, max_iter=8, tol=None,
                             class_weight="balanced", loss="hinge")
    memory = clf.__sklearn_clone__().fit(X, y, sample_weight=sw)
    on_dask = clf.fit(*to_dask(X, y, sw))
    assert calls == [(X.shape[0],)]
    np.testing.assert_array_equal(on_dask.classes_, ["ant", "bee", "cat", "dog"])
    assert_same_fit(on_dask, memory)
    with pytest.raises(ValueError, match="Unknown label type"):
        clf.fit(da.from_array(X, chunks=500), da.from_array(X[:, 0], chunks=500))


# ------------------------------------------------------------- models


def test_an_mlp_trains_on_dask_through_the_same_loop(client):
    """The loop with the MLP model: the blockwise pieces are the model's own functions."""
    from sk_gradopt._losses import get_loss
    from sk_gradopt._models import init_mlp, mlp_model
    from sk_gradopt._optimizers import make_optimizer
    from sk_gradopt._penalties import Penalty
    from sk_gradopt._epoch import Config, Data
    from sk_gradopt._training import Progress, train
    import array_api_compat.numpy as xp

    X, y = regression(n=1200, d=4)
    Y = y[:, None]
    params = init_mlp([4, 6, 1], "tanh", np.random.RandomState(0), xp=xp, dtype=np.float64,
                      device=None)
    results = []
    for batch_size in (None, 100):
        config = Config(
            model=mlp_model("tanh"), loss_fn=get_loss("squared_error"),
            penalty=Penalty.from_params("l2", 1e-3, 0.0),
            optimizer=make_optimizer("adam", beta_1=0.9, beta_2=0.999, eps=1e-8),
            learning_rate=0.01, schedule="constant", power_t=0.5,
            max_iter=5, batch_size=batch_size, shuffle=False, tol=None, n_iter_no_change=5,
        )
        for data in (Data(X, Y, None, 1200.0), Data(*to_dask(X, Y, chunks=400), None, 1200.0)):
            progress = Progress.start(params, config.optimizer, False)
            results.append(train(data, None, progress, config, rng=np.random.RandomState(0),
                                 n_epochs=5, stopping=False))
    for memory, on_dask in (results[:2], results[2:]):  # full batch; in-order mini-batches
        np.testing.assert_allclose(on_dask.loss_curve, memory.loss_curve, rtol=RTOL)
        for a, b in zip(on_dask.params, memory.params):
            np.testing.assert_allclose(a.coef, b.coef, rtol=RTOL, atol=ATOL)
            np.testing.assert_allclose(a.intercept, b.intercept, rtol=RTOL, atol=ATOL)


@pytest.mark.skipif(not hasattr(sk_gradopt, "GradientMLPRegressor"),
                    reason="sk_gradopt.GradientMLPRegressor does not exist yet")
def test_mlp_regressor_full_batch_on_dask_equals_in_memory(client):
    X, y = regression(n=1200, d=4)
    est = sk_gradopt.GradientMLPRegressor(optimizer="gd", learning_rate=0.05, max_iter=10,
                                          tol=None, random_state=0)
    if "hidden_layer_sizes" in est.get_params():
        est.set_params(hidden_layer_sizes=(6,))
    memory = est.__sklearn_clone__().fit(X, y)
    Xd, yd = to_dask(X, y, chunks=400)
    on_dask = est.fit(Xd, yd)
    np.testing.assert_allclose(on_dask.loss_curve_, memory.loss_curve_, rtol=RTOL, atol=ATOL)
    pred = on_dask.predict(Xd)
    assert isinstance(pred, da.Array)
    np.testing.assert_allclose(pred.compute(), memory.predict(X), rtol=RTOL, atol=ATOL)


def test_blocks_of_another_namespace_array_api_strict():
    """Non-NumPy blocks (as CuPy blocks would be): the pieces run in their namespace."""
    xs = pytest.importorskip("array_api_strict")
    from sk_gradopt._array_api import to_numpy

    X, y = regression(n=1000)
    Xd, yd = to_dask(X, y, chunks=250)
    Xs = Xd.map_blocks(xs.asarray, meta=xs.asarray(np.empty((0, 0))))
    ys = yd.map_blocks(xs.asarray, meta=xs.asarray(np.empty((0,))))
    with dask.config.set(scheduler="synchronous"):
        gd = GradientRegressor(optimizer="gd", learning_rate=0.1, max_iter=10, tol=None)
        assert_same_fit(gd.fit(Xs, ys), gd.__sklearn_clone__().fit(X, y))
        pred = gd.predict(Xs)
        first = pred.to_delayed().ravel()[0].compute()
        assert type(first) is type(xs.asarray(1.0))  # predicted where the block lives
        np.testing.assert_allclose(pred.map_blocks(to_numpy).compute(), gd.predict(X),
                                   rtol=RTOL, atol=ATOL)
        sgd = GradientRegressor(optimizer="sgd", batch_size=50, max_iter=2, tol=None,
                                random_state=0)
        on_numpy = sgd.__sklearn_clone__().fit(Xd, yd)
        assert_same_fit(sgd.fit(Xs, ys), on_numpy)
        assert_same_fit(sgd.set_params(backend="numpy").fit(Xs, ys), on_numpy)


# ------------------------------------------------------------- dask-ml


def test_dask_ml_incremental_calls_partial_fit_blockwise(client):
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y = classification(n=1000, n_classes=2)
    classes = np.unique(y)
    est = GradientClassifier(optimizer="adam", learning_rate=0.05, random_state=0)
    inc = wrappers.Incremental(est, shuffle_blocks=False).fit(
        *to_dask(X, y, chunks=250), classes=classes)
    memory = est.__sklearn_clone__()
    for start in range(0, 1000, 250):
        memory.partial_fit(X[start:start + 250], y[start:start + 250], classes=classes)
    np.testing.assert_allclose(inc.estimator_.coef_, memory.coef_, rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(inc.predict(da.from_array(X, chunks=250)).compute(),
                                  memory.predict(X))


# ---------------------------------------------------------- validation


def test_invalid_dask_input_is_refused_with_the_fix():
    X, y = regression(n=400)
    Xd, yd = to_dask(X, y, chunks=100)
    est = GradientRegressor(optimizer="gd", max_iter=2, tol=None)
    with dask.config.set(scheduler="synchronous"):
        with pytest.raises(ValueError, match=re.escape("X.rechunk({1: -1})")):
            est.fit(da.from_array(X, chunks=(100, 2)), yd)
        with pytest.raises(ValueError, match=re.escape("y.rechunk({0: X.chunks[0]})")):
            est.fit(Xd, da.from_array(y, chunks=200))
        with pytest.raises(ValueError, match="inconsistent numbers of samples"):
            est.fit(Xd, yd[:300])
        with pytest.raises(ValueError, match="2-D"):
            est.fit(Xd[:, 0], yd)
        with pytest.raises(ValueError, match="compute_chunk_sizes"):
            est.fit(Xd[Xd[:, 0] > 0], yd)
        with pytest.raises(ValueError, match="contains NaN"):
            est.fit(da.where(Xd > 2, np.nan, Xd), yd)
        with pytest.raises(ValueError, match="Negative values"):
            est.fit(Xd, yd, sample_weight=da.from_array(np.full(400, -1.0), chunks=100))
        est.fit(Xd.astype(np.float32), y)  # NumPy y: cut into the chunks of X
        assert est.coef_.dtype == np.float32 and est.n_features_in_ == 5
        with pytest.raises(ValueError, match="X has 4 features"):
            est.predict(Xd[:, :4])
        with pytest.raises(ImportError, match="CuPy"):
            est.set_params(backend="cupy").fit(Xd, yd)
    dd = pytest.importorskip("dask.dataframe")
    with pytest.raises(TypeError, match=re.escape("to_dask_array(lengths=True)")):
        est.fit(dd.from_array(X), yd)
    with pytest.raises(TypeError, match=re.escape("y.to_dask_array(lengths=True)")):
        est.fit(Xd, dd.from_array(y, chunksize=100))


# ------------------------------------------- issue 20: rollback, zero weights, unknown chunks


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_failed_first_fit_on_dask_leaves_the_estimator_unfitted(client, bad):
    from sklearn.exceptions import NotFittedError

    X, y = regression(n=200)
    X[17, 2] = bad
    reg = GradientRegressor()
    with pytest.raises(ValueError, match="Input X contains"):
        reg.fit(*to_dask(X, y, chunks=50))
    assert not hasattr(reg, "n_features_in_")
    with pytest.raises(NotFittedError):
        reg.predict(X[:3])


@pytest.mark.parametrize("Estimator, task", [(GradientRegressor, regression),
                                             (GradientClassifier, classification)])
def test_a_failed_refit_on_dask_keeps_the_fitted_model(client, Estimator, task):
    X, y = task(n=200)
    est = Estimator(random_state=0).fit(X, y)
    before = {k: np.copy(v) for k, v in vars(est).items()
              if k.endswith("_") and isinstance(v, np.ndarray)}
    X2, y2 = task(n=200, d=7, seed=1)
    if Estimator is GradientClassifier:
        y2 = np.where(y2 == "ant", "eel", y2)  # other labels too
    X2[5, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.fit(*to_dask(X2, y2, chunks=50))
    assert est.n_features_in_ == X.shape[1]
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(est, name), value, err_msg=name)
    assert est.predict(X).shape == (len(y),)


def test_all_zero_sample_weight_on_dask_is_refused(client):
    X, y = regression(n=200)
    reg = GradientRegressor()
    with pytest.raises(ValueError, match="zero effective weight"):
        reg.fit(*to_dask(X, y, np.zeros(200), chunks=50))
    assert not hasattr(reg, "coef_")


@pytest.mark.parametrize("Estimator, task", [(GradientRegressor, regression),
                                             (GradientClassifier, classification)])
@pytest.mark.parametrize("weighted", [False, True])
def test_score_on_dask_arrays_of_unknown_chunk_sizes(client, Estimator, task, weighted):
    # Issue 20 (8): predict supported them, score raised dask's "Cannot call len()".
    X, y = task(n=300)
    sw = np.random.default_rng(0).uniform(0.5, 2.0, 300) if weighted else None
    est = Estimator(random_state=0).fit(X, y)
    mask = X[:, 0] > -0.3
    Xd, yd, swd = to_dask(X, y, sw, chunks=70)
    md = da.from_array(mask, chunks=70)
    Xu, yu = Xd[md], yd[md]
    swu = None if sw is None else swd[md]
    assert np.isnan(Xu.chunks[0][0])
    expected = est.score(X[mask], y[mask], sample_weight=None if sw is None else sw[mask])
    assert est.score(Xu, yu, sample_weight=swu) == pytest.approx(expected, rel=1e-12)


def test_score_on_unknown_chunks_with_numpy_y_says_how_to_match_the_rows(client):
    X, y = regression(n=200)
    reg = GradientRegressor().fit(X, y)
    Xd = da.from_array(X, chunks=50)
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        reg.score(Xd[Xd[:, 0] > 0], y[X[:, 0] > 0])
    yd = da.from_array(y, chunks=50)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        reg.score(Xd[Xd[:, 0] > 0], yd[yd > 0])  # a mask unlike X's
