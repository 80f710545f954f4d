"""Golden results of the linear estimators, recorded before the model / training-loop split.

``tests/data/golden_linear.json`` holds ``coef_``, ``intercept_`` and
``loss_curve_`` of the linear estimators for the five optimizers, both
estimators and the l2 / l1 penalties (plus sample weights, no intercept,
multi-output, the schedules and the shuffle modes), as computed by the code
before the refactoring that introduced ``_models.py`` and ``_training.py``.
The refactored code must reproduce them: the same arithmetic, in the same
order. Regenerate only on purpose:
``python tests/test_golden.py`` (it rewrites the file).
"""

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression

from sk_gradopt import GradientClassifier, GradientRegressor
from sk_gradopt._optimizers import DEFAULT_RACE

GOLDEN = Path(__file__).resolve().parent / "data" / "golden_linear.json"


def _data():
    X, y = make_regression(n_samples=60, n_features=4, noise=5.0, random_state=0)
    X = X + np.linspace(-1, 1, 4)  # columns that are not centred
    _, Y2 = make_regression(n_samples=60, n_features=4, n_targets=2, noise=5.0,
                            random_state=1)
    Xc, yb = make_classification(n_samples=60, n_features=4, n_informative=3,
                                 n_redundant=0, random_state=0)
    _, y3 = make_classification(n_samples=60, n_features=4, n_informative=3,
                                n_redundant=0, n_classes=3, random_state=2)
    sw = np.random.default_rng(0).uniform(0.2, 2.0, 60)
    return {"X": X, "y": y / 10, "Y2": Y2 / 10, "Xc": Xc, "yb": yb, "y3": y3, "sw": sw}


def _cases():
    cases = []
    for optimizer in DEFAULT_RACE:  # the five the record was made for
        lr = 0.05 if optimizer in ("rmsprop", "adam") else 0.1
        for penalty in ("l2", "l1"):
            common = dict(optimizer=optimizer, learning_rate=lr, penalty=penalty,
                          alpha=0.01, batch_size=16, max_iter=6, tol=None, random_state=0)
            cases += [
                (f"reg-{optimizer}-{penalty}", "reg", "X", "y", None, common),
                (f"clf2-{optimizer}-{penalty}", "clf", "Xc", "yb", None, common),
                (f"clf3-{optimizer}-{penalty}", "clf", "Xc", "y3", None, common),
            ]
        base = dict(optimizer=optimizer, learning_rate=lr, batch_size=16, max_iter=6,
                    tol=None, random_state=0)
        cases += [
            (f"reg-{optimizer}-sw-elasticnet", "reg", "X", "y", "sw",
             {**base, "penalty": "elasticnet", "alpha": 0.01}),
            (f"reg-{optimizer}-multioutput-huber", "reg", "X", "Y2", None,
             {**base, "loss": "huber", "epsilon": 0.5}),
            (f"reg-{optimizer}-nointercept-blocks", "reg", "X", "y", None,
             {**base, "fit_intercept": False, "shuffle": "blocks"}),
            (f"clf3-{optimizer}-hinge-noshuffle-invscaling", "clf", "Xc", "y3", "sw",
             {**base, "loss": "hinge", "shuffle": False, "schedule": "invscaling"}),
            (f"clf2-{optimizer}-modified_huber-cosine-stopping", "clf", "Xc", "yb", None,
             {**base, "loss": "modified_huber", "schedule": "cosine", "tol": 1e-3,
              "max_iter": 30}),
            (f"reg-{optimizer}-epsilon_insensitive-adaptive-early", "reg", "X", "y", None,
             {**base, "loss": "epsilon_insensitive", "schedule": "adaptive",
              "early_stopping": True, "tol": 1e-3, "max_iter": 30}),
        ]
    return cases


def _fit(kind, X, y, sw, params, data, compiled=True):
    Estimator = GradientRegressor if kind == "reg" else GradientClassifier
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = Estimator(**params)._fit(data[X], data[y], None if sw is None else data[sw],
                                       compiled=compiled)
    return {
        "coef_": np.asarray(est.coef_).tolist(),
        "intercept_": np.asarray(est.intercept_).tolist(),
        "loss_curve_": list(map(float, est.loss_curve_)),
        "n_iter_": int(est.n_iter_),
        "t_": int(est.t_),
    }


def _record():
    data = _data()
    return {name: _fit(kind, X, y, sw, params, data)
            for name, kind, X, y, sw, params in _cases()}


@pytest.fixture(scope="module")
def golden():
    return json.loads(GOLDEN.read_text())


@pytest.mark.parametrize("case", _cases(), ids=lambda case: case[0])
def test_linear_results_equal_the_golden_record(case, golden):
    # The array-API epoch, the reference (the compiled epoch is compared with
    # it in tests/test_compiled_epoch.py).
    name, kind, X, y, sw, params = case
    got = _fit(kind, X, y, sw, params, _data(), compiled=False)
    want = golden[name]
    assert got["n_iter_"] == want["n_iter_"] and got["t_"] == want["t_"]
    for key in ("coef_", "intercept_", "loss_curve_"):
        np.testing.assert_allclose(got[key], want[key], rtol=1e-13, atol=1e-15,
                                   err_msg=f"{name}: {key}")


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(_record(), indent=1) + "\n")
    print(f"wrote {GOLDEN.name}", file=sys.stderr)
