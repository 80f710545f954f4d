"""The ``sk-gradopt`` command line.

The end-to-end runs go through the installed entry points in subprocesses
(``python -m sk_gradopt`` and the ``sk-gradopt`` script next to
``sys.executable``), started all at once by one fixture to keep the suite
short; the many small error cases call ``main`` in-process.
"""

import importlib.util
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris
from sklearn.model_selection import ParameterGrid

from sk_gradopt import OPTIMIZERS, GradientRegressor, search_space
from sk_gradopt._array_api import import_cupy
from sk_gradopt._cli import CLIError, backend_params, infer_task, main

SCRIPT = shutil.which("sk-gradopt", path=os.path.dirname(sys.executable))
MODULE = [sys.executable, "-m", "sk_gradopt"]
try:
    import_cupy()
    CUPY_RUNS = True
except ImportError:
    CUPY_RUNS = False

COMPARE_KEYS = {
    "command", "dataset", "task", "n_train", "n_test", "n_features", "features_scaled",
    "target_standardized", "score", "max_iter", "tol", "random_state", "backend", "plot",
    "results", "reference",
}
RESULT_KEYS = {"optimizer", "learning_rate", "objective", "test_score", "epochs", "time_s",
               "status", "loss_curve"}
TUNE_KEYS = {
    "command", "dataset", "task", "n_train", "n_test", "n_features", "features_scaled",
    "target_standardized", "search", "score", "best_params", "best_score", "test_score",
    "n_candidates", "n_splits", "n_fits", "refit", "max_iter", "tol", "random_state",
    "backend", "time_s",
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The subprocess runs, started together; name -> (returncode, stdout, stderr, cwd)."""
    script = SCRIPT or "sk-gradopt"
    commands = {
        "table": MODULE + ["compare"],
        "json": [script, "compare", "--dataset", "breast_cancer", "--json",
                 "--plot", "curves.png"],
        "tune": [script, "tune", "--dataset", "wine", "--search", "random", "--n-iter", "6",
                 "--n-jobs", "2", "--max-iter", "200", "--json"],
        "bad_dataset": MODULE + ["compare", "--dataset", "mnist"],
        "missing_csv": MODULE + ["compare", "--csv", "missing.csv", "--target", "y"],
        "cupy": MODULE + ["compare", "--backend", "cupy", "--no-plot"],
    }
    env = {**os.environ, "MPLBACKEND": "Agg"}
    started = {}
    for name, command in commands.items():
        cwd = tmp_path_factory.mktemp(name)
        if command[0] == "sk-gradopt":  # not installed: the tests using it fail
            started[name] = (None, cwd)
            continue
        process = subprocess.Popen(command, cwd=cwd, env=env, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        started[name] = (process, cwd)
    results = {}
    for name, (process, cwd) in started.items():
        if process is None:
            continue
        out, err = process.communicate(timeout=300)
        results[name] = (process.returncode, out, err, cwd)
    return results


def _script_run(runs, name):
    assert SCRIPT is not None, (
        f"the sk-gradopt script is not installed next to {sys.executable}; "
        "install the package (pip install -e .) to get it"
    )
    return runs[name]


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


# ------------------------------------------------------- entry points


def test_compare_prints_a_row_per_optimizer_and_writes_the_png(runs):
    code, out, err, cwd = runs["table"]
    assert code == 0, err
    rows = [line.split() for line in out.splitlines()
            if line.split() and line.split()[0] in OPTIMIZERS]
    assert [row[0] for row in rows] == list(OPTIMIZERS)
    header = next(line for line in out.splitlines() if line.startswith("optimizer"))
    assert header.split() == ["optimizer", "learning_rate", "objective", "test", "R^2",
                              "epochs", "time", "(s)", "status"]
    reference = re.search(r"reference .*objective ([\d.]+), test R\^2 ([\d.-]+)", out)
    ref_objective, ref_score = float(reference[1]), float(reference[2])
    for optimizer, lr, objective, score, epochs, seconds, status in rows:
        assert float(lr) > 0
        # the reference is the exact minimiser: nobody is below it, all are close
        assert ref_objective - 1e-6 <= float(objective) < 1.01 * ref_objective, optimizer
        assert abs(float(score) - ref_score) < 0.03, optimizer
        assert 1 <= int(epochs) < 500 and status == "converged", optimizer
        assert 0 <= float(seconds) < 10
    assert "diabetes (regression)" in out
    png = cwd / "loss_curves.png"
    assert f"loss curves written to {png.name}" in out
    assert png.stat().st_size > 10_000
    assert _png_size(png) == (700, 450)


def test_compare_json(runs):
    code, out, err, cwd = _script_run(runs, "json")
    assert code == 0, err
    result = json.loads(out)
    assert set(result) == COMPARE_KEYS
    assert (result["command"], result["dataset"], result["task"]) == (
        "compare", "breast_cancer", "classification")
    assert (result["n_train"], result["n_test"], result["n_features"]) == (426, 143, 30)
    assert result["score"] == "accuracy" and result["plot"] == "curves.png"
    assert _png_size(cwd / "curves.png") == (700, 450)
    reference = result["reference"]
    assert reference["estimator"].startswith("LogisticRegression")
    assert [r["optimizer"] for r in result["results"]] == list(OPTIMIZERS)
    for r in result["results"]:
        assert set(r) == RESULT_KEYS
        numbers = [r["learning_rate"], r["objective"], r["test_score"], r["time_s"],
                   *r["loss_curve"]]
        assert all(isinstance(v, float) and math.isfinite(v) for v in numbers)
        assert len(r["loss_curve"]) == r["epochs"] <= result["max_iter"]
        assert reference["objective"] - 1e-6 <= r["objective"] < reference["objective"] + 0.05
        assert 0.93 <= r["test_score"] <= 1.0
        assert r["status"] == "converged"
    gd = result["results"][0]
    # full batch from zero weights: the first objective is log(2) exactly
    assert gd["loss_curve"][0] == pytest.approx(math.log(2), abs=1e-12)


def test_tune_json_with_parallel_jobs_and_progress(runs):
    code, out, err, _ = _script_run(runs, "tune")
    assert code == 0, err
    result = json.loads(out)
    assert set(result) == TUNE_KEYS
    assert (result["search"], result["dataset"], result["task"]) == ("random", "wine",
                                                                     "classification")
    assert result["n_candidates"] == 6 and result["n_splits"] == 3
    assert result["n_fits"] == 18
    best = result["best_params"]
    assert best["optimizer"] in OPTIMIZERS
    # the ready-made space of that optimizer, and nothing else
    assert set(best) == set(search_space(best["optimizer"], "random"))
    assert 1e-4 <= best["learning_rate"] <= 10.0
    assert 0.9 <= result["best_score"] <= 1.0 and 0.9 <= result["test_score"] <= 1.0
    # the bar counted the fits done in the two worker processes
    assert "18/18 fits (100%)" in err
    assert "ConvergenceWarning" not in err


def test_bad_arguments_and_input_exit_with_2(runs):
    code, out, err, _ = runs["bad_dataset"]
    assert code == 2 and out == ""
    assert "invalid choice: 'mnist'" in err
    code, out, err, _ = runs["missing_csv"]
    assert code == 2 and out == ""
    assert "--csv missing.csv: no such file." in err


def test_backend_cupy_without_a_gpu_exits_2(runs):
    if CUPY_RUNS:
        pytest.skip("this machine has CuPy and a GPU")
    code, out, err, _ = runs["cupy"]
    assert code == 2 and out == ""
    assert "--backend cupy" in err and "pip install 'sk-gradopt[cupy]'" in err
    assert "Traceback" not in err


# ---------------------------------------------------------- in-process


def run_main(capsys, *args):
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *args):
    code, out, err = run_main(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out), err


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("content, extra, message", [
    ("", [], r"is empty: expected a header row"),
    ("\n\n", [], r"is empty"),
    ("a,b,y\n", [], r"has a header but no data rows"),
    ("a,b\n1,2\n", [], r"--target 'y' is not a column of .*; its columns are 'a', 'b'"),
    ("a,b,y\n1,x,3\n4,5,6\n", [], r"line 2: column 'b' holds 'x', which is not a number"),
    ("a,b,y\n1,,3\n", [], r"line 2: column 'b' has a missing value"),
    ("a,b,y\n1,2\n", [], r"line 2: 2 fields where the header has 3"),
    ("a,b,y\n1,2,\n", [], r"line 2: the target column 'y' is empty"),
    ("y\n1\n2\n", [], r"only the target column 'y'"),
    ("a,y\n1,cat\n2,dog\n3,cat\n4,dog\n", ["--task", "regression"],
     r"--task regression needs a numeric target, but column 'y' holds 'cat'"),
    ("a,y\n1,0.5\n2,1.5\n3,0.25\n4,2\n", ["--task", "classification"],
     r"--task classification needs class labels, .* continuous values such as 0.5"),
    ("a,y\n1,0\n2,1\n", [], r"too few for a train/test split"),
])
def test_csv_input_errors(tmp_path, capsys, content, extra, message):
    path = _write(tmp_path / "data.csv", content)
    code, out, err = run_main(capsys, "compare", "--csv", path, "--target", "y",
                              "--no-plot", *extra)
    assert code == 2 and out == ""
    assert re.search(message, err), err
    assert err.startswith("sk-gradopt compare: error: ")


def test_csv_with_text_labels_is_classification(tmp_path, capsys):
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    lines = ["sepal_length;sepal_width;petal_length;petal_width;species"]
    lines += [";".join([*map(str, row), label]) for row, label in zip(X, names)]
    path = _write(tmp_path / "iris.csv", "\n".join(lines) + "\n")  # ';'-separated
    result, _ = run_json(capsys, "compare", "--csv", path, "--target", "species", "--no-plot")
    assert (result["dataset"], result["task"], result["n_features"]) == (
        "iris.csv", "classification", 4)
    assert all(r["test_score"] > 0.85 for r in result["results"])


def test_csv_with_a_numeric_target_is_regression(tmp_path, capsys):
    X, y = load_diabetes(return_X_y=True)
    lines = [",".join([f"x{i}" for i in range(X.shape[1])] + ["progression"])]
    lines += [",".join(map(str, [*row, target])) for row, target in zip(X, y)]
    path = _write(tmp_path / "diabetes.csv", "\n".join(lines) + "\n")
    result, _ = run_json(capsys, "tune", "--csv", path, "--target", "progression",
                         "--search", "grid", "--max-iter", "100", "--no-progress")
    assert (result["task"], result["score"], result["n_features"]) == ("regression", "R^2", 10)
    assert result["target_standardized"] is True
    assert 0.3 < result["best_score"] < 0.7


def test_infer_task():
    assert infer_task(np.array([0.5, 1.25, 3.0])) == "regression"
    assert infer_task(np.array([0.0, 1.0, 1.0, 0.0])) == "classification"
    assert infer_task(np.array([1, 2, 3, 2])) == "classification"
    assert infer_task(np.arange(50)) == "regression"  # too many values for classes
    assert infer_task(np.array(["a", "b", "a"])) == "classification"


@pytest.mark.parametrize("args, message", [
    (["compare", "--csv", "x.csv"], "--csv needs --target COLUMN"),
    (["compare", "--target", "y"], "--target only applies with --csv FILE"),
    (["compare", "--dataset", "iris", "--csv", "x.csv"], "not allowed with argument"),
    (["compare", "--learning-rate", "newton=1"], "unknown optimizer 'newton'"),
    (["compare", "--learning-rate", "adam=-1"], "must be a positive number"),
    (["compare", "--max-iter", "0"], "must be at least 1"),
    (["compare", "--test-size", "1.5"], "not between 0 and 1"),
    (["compare", "--dataset", "diabetes", "--task", "classification", "--no-plot"],
     "--dataset diabetes is a regression dataset"),
    (["compare", "--plot", os.path.join("no", "such", "folder", "x.png")], "does not exist"),
    (["tune", "--cv", "1"], "cross-validation needs at least 2"),
    (["tune", "--n-jobs", "0"], "0 jobs"),
    (["tune", "--search", "newton"], "invalid choice: 'newton'"),
    ([], "usage: sk-gradopt"),
])
def test_argument_errors(capsys, args, message):
    code, out, err = run_main(capsys, *args)
    assert code == 2 and out == ""
    assert message in err, err


@pytest.fixture
def without_matplotlib(monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "matplotlib" else find_spec(name, *args))


def test_without_matplotlib_the_default_plot_is_skipped(tmp_path, capsys, monkeypatch,
                                                        without_matplotlib):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_main(capsys, "compare", "--dataset", "iris", "--max-iter", "50")
    assert code == 0, err
    assert "matplotlib is not installed" in err and "sk-gradopt[plot]" in err
    assert "loss curves written" not in out
    assert list(tmp_path.iterdir()) == []
    code, out, err = run_main(capsys, "compare", "--plot", "curves.png")
    assert code == 2 and out == ""
    assert "--plot curves.png needs matplotlib: pip install 'sk-gradopt[plot]'" in err


@pytest.mark.parametrize("dataset, task", [
    ("diabetes", None), ("breast_cancer", None), ("digits", None), ("wine", None),
    ("iris", None), ("synthetic", "regression"), ("synthetic", "classification"),
])
def test_default_learning_rates_converge_on_every_builtin_dataset(capsys, dataset, task):
    args = ["--task", task] if task else []
    result, _ = run_json(capsys, "compare", "--dataset", dataset, "--no-plot", *args)
    reference = result["reference"]
    for r in result["results"]:
        assert r["status"] == "converged", (dataset, r["optimizer"])
        assert r["epochs"] < result["max_iter"]
        assert r["objective"] >= reference["objective"] - 1e-6
        assert r["test_score"] > reference["test_score"] - 0.03, (dataset, r["optimizer"])


def test_learning_rate_overrides_and_divergence(capsys):
    result, _ = run_json(capsys, "compare", "--dataset", "wine", "--no-plot",
                         "--learning-rate", "0.05", "--learning-rate", "gd=1e4")
    rates = {r["optimizer"]: r["learning_rate"] for r in result["results"]}
    assert rates == {"gd": 1e4, "sgd": 0.05, "momentum": 0.05, "rmsprop": 0.05, "adam": 0.05}
    gd = result["results"][0]
    assert gd["status"] == "diverged"
    assert math.isfinite(gd["objective"]) and math.isfinite(gd["test_score"])


def test_tol_none_runs_the_whole_budget(capsys):
    result, _ = run_json(capsys, "compare", "--dataset", "synthetic", "--task",
                         "classification", "--no-plot", "--tol", "none", "--max-iter", "7")
    assert result["task"] == "classification" and result["tol"] is None
    assert [r["epochs"] for r in result["results"]] == [7] * 5
    assert {r["status"] for r in result["results"]} == {"max_iter"}


def test_tune_grid_text_output(capsys):
    code, out, err = run_main(capsys, "tune", "--dataset", "iris", "--max-iter", "100")
    assert code == 0, err
    n_grid = len(ParameterGrid(search_space("all", "grid")))
    assert f"fits: {3 * n_grid} ({n_grid} candidates x 3 folds) + 1 refit" in out
    assert re.search(r"best CV accuracy: 0\.9\d+", out)
    best = re.search(r"optimizer = '(\w+)'", out)[1]
    assert best in OPTIMIZERS
    assert f"{3 * n_grid}/{3 * n_grid} fits (100%)" in err


def test_tune_halving_counts_every_round(capsys):
    result, err = run_json(capsys, "tune", "--dataset", "breast_cancer", "--search",
                           "halving", "--max-iter", "100", "--n-iter", "3")
    assert "--n-iter is ignored by --search halving" in err
    n_grid = len(ParameterGrid(search_space("all", "grid")))
    assert result["n_candidates"] > n_grid  # later rounds re-evaluate the best few
    assert f"{result['n_fits']}/{result['n_fits']} fits (100%)" in err
    assert 0.9 < result["best_score"] <= 1.0


def test_tune_bayes(capsys):
    result, err = run_json(capsys, "tune", "--dataset", "iris", "--search", "bayes",
                           "--n-iter", "5", "--max-iter", "100", "--cv", "2", "--no-progress")
    assert (result["n_candidates"], result["n_splits"], result["n_fits"]) == (5, 2, 10)
    assert result["best_params"]["optimizer"] in OPTIMIZERS
    assert "fits (" not in err  # --no-progress


def test_backend_params():
    assert backend_params("numpy") == {"backend": "numpy"}
    if not CUPY_RUNS:
        with pytest.raises(CLIError, match="needs CuPy and an NVIDIA GPU"):
            backend_params("cupy")
