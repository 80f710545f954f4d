"""The rows of each mini-batch: ``shuffle=True``, ``"blocks"`` and ``False``."""

import numpy as np
import pytest
from sklearn.utils import check_random_state

import sk_gradopt._epoch as _epoch
from sk_gradopt import GradientRegressor


def epoch_rows(estimator, n, batch_size, seed=0, n_epochs=2):
    """The row indices of each batch of ``n_epochs`` epochs (copied as they come)."""
    X = np.repeat(np.arange(n, dtype=float)[:, None], 3, axis=1)  # row i holds i
    data = _epoch.Data(X, X[:, :1] * 10, X[:, 0] + 0.5, float(n))
    rng = check_random_state(seed)
    epochs = []
    for _ in range(n_epochs):
        batches = []
        for batch in _epoch.batches(data, batch_size, estimator.shuffle, rng):
            rows = batch.X[:, 0].astype(int)
            np.testing.assert_array_equal(batch.X, X[rows])
            np.testing.assert_array_equal(batch.Y[:, 0], 10 * rows)
            np.testing.assert_array_equal(batch.sample_weight, rows + 0.5)
            batches.append(rows.copy())
        epochs.append(batches)
    return epochs


@pytest.mark.parametrize("gather_bytes", [1, 4 * 24 * 8, _epoch.GATHER_BYTES])
def test_shuffle_draws_a_fresh_permutation_every_epoch(monkeypatch, gather_bytes):
    # Whatever the number of batches gathered at once (one, four, all), batch
    # k of an epoch is rows k * size to (k + 1) * size of that epoch's
    # permutation, drawn from the estimator's random state.
    monkeypatch.setattr(_epoch, "GATHER_BYTES", gather_bytes)
    n, size = 103, 8
    epochs = epoch_rows(GradientRegressor(shuffle=True), n, size)
    rng = check_random_state(0)
    for batches in epochs:
        order = rng.permutation(n)
        assert [len(b) for b in batches] == [8] * 12 + [7]
        np.testing.assert_array_equal(np.concatenate(batches), order)
    assert not np.array_equal(np.concatenate(epochs[0]), np.concatenate(epochs[1]))


def test_shuffle_false_is_the_blocks_in_order():
    epochs = epoch_rows(GradientRegressor(shuffle=False), 20, 6)
    expected = [np.arange(0, 6), np.arange(6, 12), np.arange(12, 18), np.arange(18, 20)]
    for batches in epochs:
        assert len(batches) == len(expected)
        for rows, want in zip(batches, expected):
            np.testing.assert_array_equal(rows, want)


def test_shuffle_blocks_visits_fixed_blocks_in_a_fresh_order():
    epochs = epoch_rows(GradientRegressor(shuffle="blocks"), 50, 5, n_epochs=3)
    blocks = {tuple(range(start, start + 5)) for start in range(0, 50, 5)}
    for batches in epochs:
        assert {tuple(rows) for rows in batches} == blocks
    orders = [[rows[0] for rows in batches] for batches in epochs]
    assert orders[0] != orders[1] or orders[1] != orders[2]


def test_full_batch_is_the_data_itself():
    X = np.ones((10, 2))
    data = _epoch.Data(X, X[:, :1], None, 10.0)
    (batch,) = _epoch.batches(data, 10, True, check_random_state(0))
    assert batch.X is X


@pytest.mark.parametrize("shuffle", [True, "blocks", False])
def test_every_shuffle_mode_fits(shuffle):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.01 * rng.standard_normal(500)
    reg = GradientRegressor(optimizer="adam", learning_rate=0.05, batch_size=32,
                            shuffle=shuffle, max_iter=200, random_state=0).fit(X, y)
    assert reg.score(X, y) > 0.999
    again = GradientRegressor(optimizer="adam", learning_rate=0.05, batch_size=32,
                              shuffle=shuffle, max_iter=200, random_state=0).fit(X, y)
    np.testing.assert_array_equal(reg.coef_, again.coef_)


def test_shuffle_rejects_other_strings():
    with pytest.raises(ValueError, match="shuffle"):
        GradientRegressor(shuffle="rows").fit(np.ones((4, 1)), np.ones(4))


def test_epoch_order_draws_the_batches_of_the_array_api_epoch():
    # The compiled epoch's (order, bounds) are the same batches, from the same draws.
    n = 103
    X = np.repeat(np.arange(n, dtype=float)[:, None], 3, axis=1)
    data = _epoch.Data(X, X[:, :1], None, float(n))
    for shuffle in (True, "blocks", False):
        for size in (1, 8, 10, 103):
            expected = [batch.X[:, 0].astype(int).copy() for batch in
                        _epoch.batches(data, size, shuffle, check_random_state(3))]
            if size >= n:
                expected = [np.arange(n)]
            order, bounds = _epoch.epoch_order(n, size, shuffle, check_random_state(3))
            got = [order[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
            assert len(got) == len(expected)
            for a, b in zip(got, expected):
                np.testing.assert_array_equal(a, b)
