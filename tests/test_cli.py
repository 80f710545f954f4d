"""The ``sk-gradopt`` command line.

The end-to-end runs go through the installed entry points in subprocesses
(``python -m sk_gradopt`` and the ``sk-gradopt`` script next to
``sys.executable``), started all at once by one fixture to keep the suite
short; the other cases call ``main`` in-process. The many one-line error
cases are in ``test_bad_inputs.py``.
"""

import importlib.util
import inspect
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import types
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import GridSearchCV, KFold, ParameterGrid
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

import sk_gradopt.cli
from sk_gradopt import (GradientClassifier, GradientMLPRegressor,
                        GradientRegressor, lr_range_test, search_space)
from sk_gradopt._array_api import import_cupy
from sk_gradopt._optimizers import DEFAULT_RACE  # the race's five
from sk_gradopt.cli import arguments, compare, folds, lr_find, main, tune
from sk_gradopt.cli.common import CLIError, backend_params
from sk_gradopt.cli.data import infer_task, load_data

SCRIPT = shutil.which("sk-gradopt", path=os.path.dirname(sys.executable))
MODULE = [sys.executable, "-m", "sk_gradopt"]
try:
    import_cupy()
    CUPY_RUNS = True
except ImportError:
    CUPY_RUNS = False

COMPARE_KEYS = {
    "command", "dataset", "task", "n_train", "n_test", "n_features", "features_scaled",
    "target_standardized", "score", "max_iter", "tol", "random_state", "n_seeds",
    "validation_fraction", "n_validation", "tuning_grid", "backend", "plot", "optimal_rtol",
    "race_time_s", "results", "reference", "advice",
}
RESULT_KEYS = {"optimizer", "learning_rate", "learning_rate_tuned", "objective",
               "objective_gap", "validation_score_mean", "validation_score_std", "test_score",
               "epochs", "epochs_per_seed", "epoch_time_s", "status", "stopped_by", "overfits",
               "loss_curve", "validation_loss_curve"}
REFERENCE_KEYS = {"estimator", "what", "objective", "test_score", "time_s"}
TUNE_KEYS = {
    "command", "dataset", "task", "n_train", "n_test", "n_features", "features_scaled",
    "target_standardized", "search", "score", "best_params", "best_score", "test_score",
    "n_candidates", "n_splits", "n_fits", "refit", "max_iter", "tol", "random_state",
    "backend", "time_s",
}
LR_FIND_KEYS = {
    "command", "dataset", "task", "n_train", "n_test", "n_features", "features_scaled",
    "target_standardized", "estimator", "min_lr", "max_lr", "num_steps", "smoothing",
    "stop_factor", "batch_size", "random_state", "backend", "plot", "results",
}
CURVE_KEYS = {"optimizer", "learning_rates", "losses", "smoothed_losses", "suggestion",
              "stopped_early"}
STATUSES = {compare.OPTIMAL, compare.NO_IMPROVEMENT, compare.MAX_ITER, compare.DIVERGED}

#: Each subcommand that plots: its arguments on small data, its default file
#: and the last line of its text output.
PLOTTING = {
    "compare": (["compare", "--dataset", "iris", "--max-iter", "20"], "loss_curves.png",
                "loss curves written to"),
    "lr-find": (["lr-find", "--dataset", "iris", "--num-steps", "30"], "lr_find.png",
                "curves written to"),
}


#: rich, and so the progress bar, treats stderr as a terminal under this.
AS_TERMINAL = {"TTY_COMPATIBLE": "1"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The subprocess runs, started together; name -> (returncode, stdout, stderr, cwd)."""
    script = SCRIPT or "sk-gradopt"
    commands = {
        "table": (MODULE + ["compare"], {}),
        "json": ([script, "compare", "--dataset", "breast_cancer", "--json",
                  "--plot", "curves.png"], {}),
        "tune": ([script, "tune", "--dataset", "wine", "--search", "random", "--n-iter", "6",
                  "--n-jobs", "2", "--max-iter", "200", "--json"], {}),
        "halving": (MODULE + ["tune", "--search", "halving", "--n-jobs", "2", "--max-iter",
                              "10", "--cv", "2", "--json"], AS_TERMINAL),
        "bad_dataset": (MODULE + ["compare", "--dataset", "mnist"], {}),
        "missing_csv": (MODULE + ["compare", "--csv", "missing.csv", "--target", "y"], {}),
        "cupy": (MODULE + ["compare", "--backend", "cupy", "--no-plot"], {}),
        "lr_find": ([script, "lr-find", "--dataset", "wine", "--num-steps", "40"], {}),
    }
    base = {key: value for key, value in os.environ.items()
            if key not in ("TTY_COMPATIBLE", "FORCE_COLOR")}
    started = {}
    for name, (command, env) in commands.items():
        cwd = tmp_path_factory.mktemp(name)
        if command[0] == "sk-gradopt":  # not installed: the tests using it fail
            started[name] = (None, cwd)
            continue
        process = subprocess.Popen(command, cwd=cwd, env={**base, "MPLBACKEND": "Agg", **env},
                                   text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
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


def _table_rows(out):
    """The optimizer rows of compare's table: 8 columns, then the status."""
    return [line.split(maxsplit=8) for line in out.splitlines()
            if line.split() and line.split()[0] in DEFAULT_RACE]


# ------------------------------------------------------- entry points


def test_compare_prints_a_row_per_optimizer_and_writes_the_png(runs):
    code, out, err, cwd = runs["table"]
    assert code == 0, err
    rows = _table_rows(out)
    assert [row[0] for row in rows] == list(DEFAULT_RACE)
    header = next(line for line in out.splitlines() if line.startswith("optimizer"))
    assert header.split() == ["optimizer", "learning_rate", "objective", "gap", "val", "R^2",
                              "(±", "sd)", "test", "R^2", "epochs", "ms/epoch", "status"]
    reference = re.search(r"reference .*objective ([\d.]+), test R\^2 ([\d.-]+); solved in "
                          r"([\d.]+) s \(the race: ([\d.]+) s\)", out)
    ref_objective, ref_score = float(reference[1]), float(reference[2])
    assert float(reference[3]) < float(reference[4])  # the reference costs less than the race
    grid = compare._compare.TUNING_GRID
    for optimizer, lr, objective, gap, val, score, epochs, ms, status in rows:
        # tuned: a rate of the grid, or a quarter decade from one
        assert min(abs(math.log10(float(lr) / g)) for g in grid) < 0.26, optimizer
        # the reference is the exact minimiser: nobody is below it, all are close
        assert ref_objective - 1e-6 <= float(objective) < 1.05 * ref_objective, optimizer
        assert float(gap.rstrip("%")) == pytest.approx(
            100 * (float(objective) - ref_objective) / ref_objective, abs=0.06)
        mean, sd = map(float, val.split("±"))
        assert 0.3 < mean < 0.7 and 0 <= sd < 0.05, optimizer
        assert abs(float(score) - ref_score) < 0.03, optimizer
        assert all(1 <= int(e) < 500 for e in epochs.split("-")), optimizer
        assert 0 < float(ms) < 100
        assert status in ("optimal (within 1%)", "stopped (no improvement)"), optimizer
        if status != "optimal (within 1%)":  # the advice under the table names it
            advice = next(line for line in out.splitlines() if "short of the optimum" in line)
            assert optimizer in advice and "--tol" in advice
    assert "diabetes (regression)" in out
    assert "status: 'optimal (within 1%)' = objective at most 1% above the reference" in out
    png = cwd / "loss_curves.png"
    assert f"loss curves written to {png.name}" in out
    assert png.stat().st_size > 10_000
    assert _png_size(png) == (1000, 450)


def test_compare_json(runs):
    code, out, err, cwd = _script_run(runs, "json")
    assert code == 0, err
    result = json.loads(out)
    assert set(result) == COMPARE_KEYS
    assert (result["command"], result["dataset"], result["task"]) == (
        "compare", "breast_cancer", "classification")
    assert (result["n_train"], result["n_test"], result["n_features"]) == (426, 143, 30)
    assert result["n_validation"] == math.ceil(0.2 * 426) and result["n_seeds"] == 3
    assert result["score"] == "accuracy" and result["plot"] == "curves.png"
    assert result["optimal_rtol"] == compare.OPTIMAL_RTOL
    assert _png_size(cwd / "curves.png") == (1000, 450)
    reference = result["reference"]
    assert set(reference) == REFERENCE_KEYS
    assert reference["estimator"].startswith("LogisticRegression")
    assert 0 < reference["time_s"] < result["race_time_s"]
    assert [r["optimizer"] for r in result["results"]] == list(DEFAULT_RACE)
    for r in result["results"]:
        assert set(r) == RESULT_KEYS
        numbers = [r["learning_rate"], r["objective"], r["test_score"], r["epoch_time_s"],
                   r["validation_score_mean"], r["validation_score_std"], *r["loss_curve"],
                   *r["validation_loss_curve"]]
        assert all(isinstance(v, float) and math.isfinite(v) for v in numbers)
        assert r["learning_rate_tuned"] is True and r["learning_rate"] in result[
            "tuning_grid"] or any(
            abs(math.log10(r["learning_rate"] / g)) < 0.26 for g in result["tuning_grid"])
        assert len(r["epochs_per_seed"]) == 3 and r["epochs"] == max(r["epochs_per_seed"])
        assert len(r["loss_curve"]) == len(r["validation_loss_curve"]) == r["epochs"]
        assert r["epochs"] <= result["max_iter"]
        assert reference["objective"] - 1e-6 <= r["objective"] < reference["objective"] + 0.05
        assert r["objective_gap"] == pytest.approx(
            (r["objective"] - reference["objective"]) / reference["objective"])
        assert 0.93 <= r["test_score"] <= 1.0
        assert 0.9 <= r["validation_score_mean"] <= 1.0 and r["validation_score_std"] < 0.05
        assert r["overfits"] is None or 1 <= r["overfits"] <= r["epochs"]
        assert r["stopped_by"] in ("no improvement", "max_iter")
        optimal = r["objective_gap"] <= compare.OPTIMAL_RTOL
        assert r["status"] == (compare.OPTIMAL if optimal else compare.fit_status(
            r["stopped_by"], r["objective_gap"]))
    gd = result["results"][0]
    # full batch from zero weights: the first objective is log(2) exactly, for every seed
    assert gd["loss_curve"][0] == pytest.approx(math.log(2), abs=1e-12)


def test_tune_json_with_parallel_jobs(runs):
    code, out, err, _ = _script_run(runs, "tune")
    assert code == 0, err
    result = json.loads(out)  # the bar is on stderr: stdout is the JSON alone
    assert set(result) == TUNE_KEYS
    assert (result["search"], result["dataset"], result["task"]) == ("random", "wine",
                                                                     "classification")
    assert result["n_candidates"] == 6 and result["n_splits"] == 3
    assert result["n_fits"] == 18
    best = result["best_params"]
    assert best["optimizer"] in DEFAULT_RACE
    # the ready-made space of that optimizer, and nothing else
    assert set(best) == set(search_space(best["optimizer"], "random"))
    assert 1e-4 <= best["learning_rate"] <= 10.0
    assert 0.9 <= result["best_score"] <= 1.0 and 0.9 <= result["test_score"] <= 1.0
    # stderr is a pipe, not a terminal: no progress bar, no "\r" frames
    assert "\r" not in err and "\x1b[" not in err and "RandomizedSearchCV" not in err
    assert "ConvergenceWarning" not in err


def test_tune_halving_in_worker_processes_with_the_progress_bar(runs):
    # the old progress bar (a counting scorer and a thread) could not be pickled
    code, out, err, _ = runs["halving"]
    assert code == 0, err
    result = json.loads(out)  # the bar is drawn on stderr: stdout is the JSON alone
    assert (result["search"], result["task"]) == ("halving", "regression")
    # scikit-learn's ProgressBar, fed from the two worker processes, finished
    assert "HalvingGridSearchCV - fit" in err and "halving-iteration" in err
    assert "100%" in err and "PicklingError" not in err
    # halving over epochs: the refit of the best uses the epochs of its last round
    assert 1 <= result["best_params"]["max_iter"] <= 10
    assert "no score" not in err
    assert 0.3 < result["best_score"] < 0.7


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


@pytest.fixture(autouse=True)
def _no_forced_terminal(monkeypatch):
    """In-process runs write to pytest's captured stderr, never a terminal."""
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)


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


def test_the_parser_has_a_runner_for_every_subcommand():
    (commands,) = [a for a in arguments.build_parser()._actions if a.dest == "command"]
    assert list(commands.choices) == [sub.name for sub in arguments.SUBCOMMANDS]
    assert set(commands.choices) == set(sk_gradopt.cli.RUNNERS)


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


def test_text_labels_that_look_missing_are_a_class_with_a_note(tmp_path, capsys):
    # "NA" may be a real label (North America): text columns stay labels
    lines = ["x,region"] + [f"{i},{['EU', 'NA', 'AS'][i % 3]}" for i in range(30)]
    path = _write(tmp_path / "regions.csv", "\n".join(lines) + "\n")
    result, err = run_json(capsys, "compare", "--csv", path, "--target", "region",
                           "--no-plot", "--max-iter", "5")
    assert result["task"] == "classification"
    assert "note: the target column 'region' holds class labels" in err
    assert "the first 'NA' at line 3" in err


@pytest.mark.parametrize("labels", [[0, 1], [1, 2, 3]])
def test_integer_labels_with_one_missing_cell_are_an_error_not_a_class(tmp_path, capsys,
                                                                       labels):
    # the defect: one "?" made the whole column text, and "?" a class
    lines = ["a,b,label"] + [f"{i},{i % 7},{labels[i % len(labels)]}" for i in range(40)]
    lines[17] = "16,2,?"
    path = _write(tmp_path / "data.csv", "\n".join(lines) + "\n")
    code, out, err = run_main(capsys, "compare", "--csv", path, "--target", "label",
                              "--no-plot")
    assert code == 2 and out == ""
    assert "line 18: the target column 'label' holds '?', a missing value" in err


def test_csv_with_a_numeric_target_is_regression(tmp_path, capsys):
    X, y = load_diabetes(return_X_y=True)
    lines = [",".join([f"x{i}" for i in range(X.shape[1])] + ["progression"])]
    lines += [",".join(map(str, [*row, target])) for row, target in zip(X, y)]
    lines.insert(100, "")  # blank lines are skipped
    path = _write(tmp_path / "diabetes.csv", "\n".join(lines) + "\n")
    result, _ = run_json(capsys, "tune", "--csv", path, "--target", "progression",
                         "--search", "grid", "--max-iter", "100", "--no-progress")
    assert (result["task"], result["score"], result["n_features"]) == ("regression", "R^2", 10)
    assert result["n_train"] + result["n_test"] == X.shape[0]
    assert result["target_standardized"] is True
    assert 0.3 < result["best_score"] < 0.7


def test_csv_without_pandas_says_what_to_install(tmp_path, capsys, monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "pandas" else find_spec(name, *args))
    path = _write(tmp_path / "data.csv", "a,y\n1,2\n3,4\n5,6\n7,8\n")
    code, out, err = run_main(capsys, "compare", "--csv", path, "--target", "y", "--no-plot")
    assert code == 2 and out == ""
    assert f"--csv {path} needs pandas: pip install 'sk-gradopt[csv]'." in err


def test_infer_task():
    assert infer_task(np.array([0.5, 1.25, 3.0])) == "regression"
    assert infer_task(np.array([0.0, 1.0, 1.0, 0.0])) == "classification"
    assert infer_task(np.array([1, 2, 3, 2])) == "classification"
    assert infer_task(np.arange(50)) == "regression"  # too many values for classes
    assert infer_task(np.array(["a", "b", "a"])) == "classification"


def test_a_scikit_learn_parameter_error_is_one_line_with_exit_2(capsys, monkeypatch):
    def refuse(args):
        GradientRegressor(max_iter=-args.max_iter).fit([[0.0], [1.0]], [0.0, 1.0])

    monkeypatch.setitem(sk_gradopt.cli.RUNNERS, "compare", refuse)
    code, out, err = run_main(capsys, "compare", "--max-iter", "3")
    assert code == 2 and out == ""
    assert re.fullmatch(r"sk-gradopt compare: error: The 'max_iter' parameter of "
                        r"GradientRegressor must be .* Got -3 instead\.\n", err), err
    with pytest.raises(InvalidParameterError):  # what main turned into that line
        refuse(types.SimpleNamespace(max_iter=3))


@pytest.fixture
def without_matplotlib(monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "matplotlib" else find_spec(name, *args))


@pytest.mark.parametrize("command", PLOTTING)
def test_without_matplotlib_the_default_plot_is_skipped(tmp_path, capsys, monkeypatch,
                                                        without_matplotlib, command):
    argv, default, last_line = PLOTTING[command]
    monkeypatch.chdir(tmp_path)
    code, out, err = run_main(capsys, *argv)
    assert code == 0, err
    assert "matplotlib is not installed" in err and f"sk-gradopt[plot]' to get {default}" in err
    assert last_line not in out
    assert list(tmp_path.iterdir()) == []
    code, out, err = run_main(capsys, command, "--plot", "curves.png")
    assert code == 2 and out == ""
    assert "--plot curves.png needs matplotlib: pip install 'sk-gradopt[plot]'" in err


@pytest.mark.parametrize("command", PLOTTING)
@pytest.mark.parametrize("given, written", [
    ("curves", "curves.png"),               # no extension: .png
    ("out", os.path.join("out", "{default}")),  # an existing folder
    ("curves.svg", "curves.svg"),           # another format matplotlib writes
    (os.path.join("out", "run.v2"), None),  # an extension matplotlib can't write
])
def test_plot_path_is_the_file_written(tmp_path, capsys, monkeypatch, command, given,
                                       written):
    argv, default, last_line = PLOTTING[command]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    code, out, err = run_main(capsys, *argv, "--plot", given)
    if written is None:
        assert code == 2 and "matplotlib cannot write '.v2' files; use one of" in err
        assert list((tmp_path / "out").iterdir()) == []
        return
    written = written.format(default=default)
    assert code == 0, err
    assert out.endswith(f"{last_line} {written}\n")
    assert (tmp_path / written).stat().st_size > 1000
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert files == [written]


def test_tuned_rates_on_small_builtin_datasets_and_advice_for_every_short_row(capsys):
    # the case: hand-set rates left every row "stopped (no improvement)"
    # without a word on what to change
    for dataset, task in [("wine", None), ("iris", None), ("synthetic", "classification")]:
        args = ["--task", task] if task else []
        result, _ = run_json(capsys, "compare", "--dataset", dataset, "--no-plot",
                             "--n-seeds", "2", "--max-iter", "200", *args)
        reference = result["reference"]
        for r in result["results"]:
            where = (dataset, r["optimizer"])
            assert r["learning_rate_tuned"] and r["stopped_by"] != "diverged", where
            assert r["objective"] >= reference["objective"] - 1e-6, where
            assert r["test_score"] > reference["test_score"] - 0.05, where
            if r["status"] != compare.OPTIMAL:
                assert any(r["optimizer"] in line for line in result["advice"]), where


def test_fixed_rates_on_digits_stop_short_and_the_advice_says_what_to_change(capsys):
    result, _ = run_json(capsys, "compare", "--dataset", "digits", "--no-plot",
                         "--learning-rate", "1", "--n-seeds", "1", "--seed", "0")
    reference = result["reference"]
    gd = result["results"][0]
    # gd at rate 1 stops by the tol rule far above the optimum
    assert gd["stopped_by"] == "no improvement" and gd["objective"] > 1.1 * reference[
        "objective"]
    assert gd["status"] == "stopped (no improvement)"
    (line,) = [line for line in result["advice"] if "short of the optimum" in line]
    assert "gd" in line and "--tol" in line


def test_learning_rate_overrides_and_divergence(capsys):
    result, _ = run_json(capsys, "compare", "--dataset", "wine", "--no-plot",
                         "--learning-rate", "0.05", "--learning-rate", "gd=1e4")
    rates = {r["optimizer"]: r["learning_rate"] for r in result["results"]}
    assert rates == {"gd": 1e4, "sgd": 0.05, "momentum": 0.05, "rmsprop": 0.05, "adam": 0.05}
    gd = result["results"][0]
    assert gd["status"] == gd["stopped_by"] == "diverged"
    assert math.isfinite(gd["objective"]) and math.isfinite(gd["test_score"])


@pytest.mark.parametrize("diverging", [["sgd=3"], ["sgd=3", "adam=50"]])
def test_a_diverged_optimizer_is_a_row_and_is_left_out_of_the_plot(tmp_path, capsys,
                                                                   monkeypatch, diverging):
    # sgd=3 with batch size 1 diverges in its first epoch: an empty loss curve
    monkeypatch.chdir(tmp_path)
    rates = [arg for rate in ["0.01", *diverging] for arg in ("--learning-rate", rate)]
    code, out, err = run_main(capsys, "compare", "--batch-size", "1", "--max-iter", "30",
                              "--n-seeds", "2", *rates)
    assert code == 0, err
    statuses = {row[0]: row[8] for row in _table_rows(out)}
    names = [rate.split("=")[0] for rate in diverging]
    assert {name for name, status in statuses.items() if status == "diverged"} == set(names)
    assert f"note: not in the plot (diverged): {', '.join(names)}." in err
    assert "loss curves written to loss_curves.png" in out
    assert (tmp_path / "loss_curves.png").stat().st_size > 1000


def test_when_every_optimizer_diverges_no_plot_is_written(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result, err = run_json(capsys, "compare", "--learning-rate", "1e6", "--max-iter", "5")
    assert {r["status"] for r in result["results"]} == {"diverged"}
    assert result["plot"] is None
    assert "no loss curve to plot: every optimizer diverged" in err
    assert list(tmp_path.iterdir()) == []


def test_tol_none_runs_the_whole_budget(capsys):
    result, _ = run_json(capsys, "compare", "--dataset", "synthetic", "--task",
                         "classification", "--no-plot", "--tol", "none", "--max-iter", "7")
    assert result["task"] == "classification" and result["tol"] is None
    assert [r["epochs"] for r in result["results"]] == [7] * 5
    assert {r["stopped_by"] for r in result["results"]} == {"max_iter"}
    for r in result["results"]:
        optimal = r["objective_gap"] <= compare.OPTIMAL_RTOL
        assert r["status"] == (compare.OPTIMAL if optimal else compare.MAX_ITER)
    assert compare.MAX_ITER in {r["status"] for r in result["results"]}


def test_fit_status_says_what_happened():
    assert compare.fit_status("diverged", 0.0) == "diverged"
    assert compare.fit_status("no improvement", 0.002) == "optimal (within 1%)"
    assert compare.fit_status("max_iter", 0.01) == "optimal (within 1%)"
    assert compare.fit_status("no improvement", 0.0101) == "stopped (no improvement)"
    assert compare.fit_status("max_iter", 1.5) == "max_iter reached"
    assert {compare.fit_status(s, g) for s in ("diverged", "max_iter", "no improvement")
            for g in (0, 1)} == STATUSES


def test_tune_grid_text_output(capsys):
    code, out, err = run_main(capsys, "tune", "--dataset", "iris", "--max-iter", "100")
    assert code == 0, err
    n_grid = len(ParameterGrid(search_space(list(DEFAULT_RACE), "grid")))
    assert f"fits: {3 * n_grid} ({n_grid} candidates x 3 folds) + 1 refit" in out
    assert re.search(r"best CV accuracy: 0\.9\d+", out)
    best = re.search(r"optimizer = '(\w+)'", out)[1]
    assert best in DEFAULT_RACE
    assert err == ""  # no terminal: no progress bar


def test_tune_halving_counts_every_round(capsys):
    result, err = run_json(capsys, "tune", "--dataset", "breast_cancer", "--search",
                           "halving", "--max-iter", "100", "--n-iter", "3")
    assert "--n-iter is ignored by --search halving" in err
    n_grid = len(ParameterGrid(search_space(list(DEFAULT_RACE), "grid")))
    assert result["n_candidates"] > n_grid  # later rounds re-evaluate the best few
    assert result["n_fits"] == 3 * result["n_candidates"]
    assert 0.9 < result["best_score"] <= 1.0


@pytest.mark.parametrize("max_iter", [9, 40])
def test_halving_on_regression_scores_every_optimizer_in_the_first_round(max_iter):
    # halving over samples gave round 0 about six samples: every R^2 was NaN,
    # and rmsprop and adam, last in the grid, were never evaluated
    X, y = load_diabetes(return_X_y=True)
    y = (y - y.mean()) / y.std()
    pipe = make_pipeline(StandardScaler(), GradientRegressor(max_iter=max_iter))
    search = tune.make_search("halving", pipe, "gradientregressor__", n_iter=20, cv=3,
                              n_jobs=1, seed=0, max_iter=max_iter)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.fit(X[:300], y[:300])
    # no UndefinedMetricWarning ("R^2 score is not well-defined"), only epochs running out
    assert {type(w.message).__name__ for w in caught} <= {"ConvergenceWarning"}
    results = search.cv_results_
    first = results["iter"] == 0
    optimizers = np.array([p["gradientregressor__optimizer"] for p in results["params"]])
    assert set(optimizers[first]) == set(DEFAULT_RACE)
    assert np.isfinite(results["mean_test_score"]).all()
    for name in ("rmsprop", "adam"):
        assert results["mean_test_score"][first & (optimizers == name)].max() > 0.2, name
    # every round trains on all the samples, for more epochs each round
    assert search.n_resources_[-1] <= max_iter
    assert list(search.n_resources_) == sorted(set(search.n_resources_))


def _fake_search(scores, optimizers):
    params = [{"gradientregressor__optimizer": name} for name in optimizers]
    return types.SimpleNamespace(cv_results_={"mean_test_score": np.array(scores),
                                              "params": params})


def test_nan_scores_are_warned_about(capsys):
    search = _fake_search([0.5, np.nan, np.nan, 0.4], ["gd", "adam", "adam", "sgd"])
    tune.warn_unscored(search, "gradientregressor__")
    err = capsys.readouterr().err
    assert err == ("warning: 2 of 4 candidates got no score (NaN): their fits failed or "
                   "their test folds were too small to score; never scored: adam.\n")
    tune.warn_unscored(_fake_search([0.5, 0.1], ["gd", "adam"]), "gradientregressor__")
    assert capsys.readouterr().err == ""
    with pytest.raises(CLIError, match="no candidate of the search got a score: all 2"):
        tune.warn_unscored(_fake_search([np.nan] * 2, ["gd", "adam"]), "gradientregressor__")


def test_tune_bayes(capsys):
    result, err = run_json(capsys, "tune", "--dataset", "iris", "--search", "bayes",
                           "--n-iter", "5", "--max-iter", "100", "--cv", "2")
    assert (result["n_candidates"], result["n_splits"], result["n_fits"]) == (5, 2, 10)
    assert result["best_params"]["optimizer"] in DEFAULT_RACE
    assert err == ""


def test_random_search_with_fewer_candidates_than_optimizers_says_so(capsys):
    result, err = run_json(capsys, "tune", "--dataset", "iris", "--search", "random",
                           "--n-iter", "2", "--max-iter", "20", "--no-progress")
    assert result["n_candidates"] == 2
    assert "note: --n-iter 2 samples fewer candidates than there are optimizers: at most " \
           "2 of the 5 will be tried." in err


def test_the_progress_bar_is_set_on_the_search_only_on_a_terminal(capsys, monkeypatch):
    rich = pytest.importorskip("rich")
    from sklearn.model_selection import GridSearchCV

    for terminal, enabled, expected in [(False, True, False), (True, False, False),
                                        (True, True, True)]:
        monkeypatch.setattr(tune, "_stderr_is_terminal", lambda: terminal)
        search = GridSearchCV(GradientRegressor(), {"learning_rate": [0.1]})
        assert not rich.get_console().stderr
        with tune.progress_bar(search, enabled):
            callbacks = getattr(search, "_skl_callbacks", [])
            # rich draws on stderr while the search runs (stdout: the results)
            assert rich.get_console().stderr == expected
        assert not rich.get_console().stderr  # and is put back after
        names = [type(c).__name__ for c in callbacks]
        assert names == (["ProgressBar"] if expected else []), (terminal, enabled)
        # never on the estimator: that makes every fit of the search fail
        assert not getattr(search.estimator, "_skl_callbacks", [])


def test_backend_params():
    assert backend_params("numpy") == {"backend": "numpy"}
    if not CUPY_RUNS:
        with pytest.raises(CLIError, match="needs CuPy and an NVIDIA GPU"):
            backend_params("cupy")


def test_a_failed_search_is_summed_up_in_one_line():
    # scikit-learn's "All the fits failed" message goes on with tracebacks
    error = ValueError("\nAll the 4 fits failed.\nIt is very likely that your model is "
                       "misconfigured.\n----\nTraceback (most recent call last):\n  File "
                       "\"x.py\", line 1\nTypeError: the cause\n")
    assert tune._summary(error) == "All the 4 fits failed. ... TypeError: the cause"
    assert tune._summary(ValueError("one line")) == "one line"


def _labelled_csv(path, counts, seed=0):
    """A CSV of 3 random features and a label column ``y``: ``counts`` rows per class."""
    labels = [label for label, n in counts.items() for _ in range(n)]
    X = np.random.default_rng(seed).normal(size=(len(labels), 3))
    rows = [",".join(f"{v:.4f}" for v in x) + f",{label}" for x, label in zip(X, labels)]
    return _write(path, "\n".join(["a,b,c,y", *rows]) + "\n")


@pytest.mark.parametrize("counts, folds, lacking", [
    ({"a": 8, "b": 8, "c": 2}, 3, ["class 'c' has 1 training row: the training part of fold 1 "]),
    ({"p": 12, "q": 9, "r": 2, "s": 2}, 5, ["class 'r' has 1 training row: the training part "
                                            "of fold ", "class 's' has 1 training row"]),
])
def test_tune_notes_a_class_that_some_training_folds_lack(tmp_path, capsys, counts, folds,
                                                          lacking):
    # the search runs (two classes are left in every training fold); one
    # note instead of scikit-learn's UserWarning with its file and line
    path = _labelled_csv(tmp_path / "rare.csv", counts)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result, err = run_json(capsys, "tune", "--csv", path, "--target", "y", "--cv",
                               str(folds), "--search", "random", "--n-iter", "5",
                               "--max-iter", "5")
    assert result["n_splits"] == folds
    # stratified folds: a class of one training row is missing from one fold
    notes = [line for line in err.splitlines() if line.startswith("note: class")]
    assert len(notes) == len(lacking), err
    for note, fragment in zip(notes, lacking):
        assert fragment in note, note
        assert note.endswith("never predicts it. Give more rows of that class."), note
    assert "Traceback" not in err and "warnings.warn" not in err
    assert not [w for w in caught if issubclass(w.category, (UserWarning, FitFailedWarning))
                and "ConvergenceWarning" not in w.category.__name__], caught


def test_tune_sums_up_failed_fits_in_one_line(tmp_path, capsys, monkeypatch):
    # fits that fail for a cause the fold checks cannot see: one line that
    # names the error, not scikit-learn's FitFailedWarning and its traceback
    fit = GradientClassifier.fit

    def failing_fit(self, X, y, **kwargs):
        if self.optimizer == "adam":
            raise ValueError("adam refused (the cause)")
        return fit(self, X, y, **kwargs)

    monkeypatch.setattr(GradientClassifier, "fit", failing_fit)
    path = _labelled_csv(tmp_path / "ok.csv", {"a": 20, "b": 20})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result, err = run_json(capsys, "tune", "--csv", path, "--target", "y",
                               "--search", "random", "--n-iter", "8", "--max-iter", "5")
    assert result["best_params"]["optimizer"] != "adam"  # never a failed candidate
    (line,) = [line for line in err.splitlines() if line.startswith("warning:")]
    assert re.search(r"The fits failed with: \d+ fits: ValueError: adam refused \(the cause\)",
                     line), err
    assert "never scored: adam" in line
    assert "Traceback" not in err and len(err.splitlines()) <= 2, err
    assert not [w for w in caught if issubclass(w.category, FitFailedWarning)]


def test_fit_failures_reads_scikit_learns_warning():
    # a real FitFailedWarning: unstratified folds leave one class in a fold
    X = np.random.default_rng(0).normal(size=(12, 2))
    y = np.array([0] * 4 + [1] * 8)
    search = GridSearchCV(GradientClassifier(max_iter=3), {"alpha": [1e-4, 1e-3]},
                          cv=KFold(3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.fit(X, y)
    (line,) = folds.fit_failures(caught)
    assert line.startswith("2 fits: ValueError: The number of classes has to be greater "
                           "than one; got 1 class"), line
    assert folds.fit_failures([]) == []


# ------------------------------------------------------------ --hidden


def test_compare_hidden_races_the_optimizers_on_an_mlp(capsys):
    result, _ = run_json(capsys, "compare", "--hidden", "8,4", "--dataset", "iris",
                         "--max-iter", "30", "--no-plot")
    assert [row["optimizer"] for row in result["results"]] == list(DEFAULT_RACE)
    for row in result["results"]:
        assert row["status"] in (compare.NO_IMPROVEMENT, compare.MAX_ITER, compare.DIVERGED)
        assert row["objective_gap"] is None  # a linear reference is no optimum of an MLP
        assert len(row["loss_curve"]) >= 1
    code, out, _ = run_main(capsys, "compare", "--hidden", "8", "--dataset", "iris",
                            "--max-iter", "30", "--no-plot")
    assert code == 0 and "linear baseline" in out and "none is called optimal" in out


def test_tune_hidden_searches_an_mlp_step(capsys):
    result, _ = run_json(capsys, "tune", "--hidden", "6", "--dataset", "iris",
                         "--max-iter", "10", "--search", "random", "--n-iter", "5",
                         "--no-progress")
    assert result["best_params"]["optimizer"] in DEFAULT_RACE
    code, out, _ = run_main(capsys, "tune", "--hidden", "6", "--dataset", "iris",
                            "--max-iter", "10", "--search", "random", "--n-iter", "5",
                            "--no-progress")
    assert code == 0 and "GradientMLPClassifier(hidden_layer_sizes=(6,)" in out


# ------------------------------------------------------------- lr-find


def test_lr_find_prints_a_row_per_optimizer_and_writes_the_png(runs):
    code, out, err, cwd = _script_run(runs, "lr_find")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("sk-gradopt lr-find: wine (classification)")
    assert "range test: 40 steps, learning rate from 1e-07 to 10 geometrically" in out
    header = lines.index("optimizer  suggestion  points  stopped early")
    rows = [line.split() for line in lines[header + 1:header + 6]]
    assert [row[0] for row in rows] == list(DEFAULT_RACE)
    for optimizer, suggestion, points, *stopped in rows:
        assert suggestion == "none" or 1e-7 <= float(suggestion) <= 10, optimizer
        assert 1 <= int(points) <= 40 and stopped in (["yes"], ["no"]), optimizer
    assert "The suggestion is a heuristic" in out and "the curve is what to read" in out
    assert out.endswith("curves written to lr_find.png\n")
    assert _png_size(cwd / "lr_find.png") == (700, 450)
    # Only the range test's own notes (a loss still falling at --max-lr...), no traceback.
    assert all(line.startswith("note: ") for line in err.splitlines()), err


def _split(dataset, scale_X):
    args = types.SimpleNamespace(csv=None, target=None, dataset=dataset, task=None,
                                 test_size=0.25, seed=0)
    return load_data(args, scale_X=scale_X)


def test_lr_find_json_is_the_range_test_of_a_scaled_pipeline(capsys):
    result, err = run_json(capsys, "lr-find", "--dataset", "iris", "--no-plot",
                           "--num-steps", "40", "--min-lr", "1e-4", "--smoothing", "0.5",
                           "--optimizer", "sgd", "--optimizer", "adam")
    assert set(result) == LR_FIND_KEYS and result["plot"] is None
    assert (result["command"], result["dataset"], result["estimator"]) == (
        "lr-find", "iris", "GradientClassifier")
    assert (result["min_lr"], result["max_lr"], result["num_steps"], result["smoothing"],
            result["stop_factor"]) == (1e-4, 10.0, 40, 0.5, 4.0)
    assert [r["optimizer"] for r in result["results"]] == ["sgd", "adam"]
    # what the issue asks for: lr_range_test of StandardScaler + the estimator on
    # the training part (the CLI scales in load_data; the curves are the same)
    raw = _split("iris", scale_X=False)
    for row in result["results"]:
        assert set(row) == CURVE_KEYS
        est = GradientClassifier(optimizer=row["optimizer"], penalty="l2", alpha=1e-4,
                                 random_state=0)
        expected = lr_range_test(make_pipeline(StandardScaler(), est), raw.X_train,
                                 raw.y_train, min_lr=1e-4, num_steps=40, smoothing=0.5)
        np.testing.assert_allclose(row["learning_rates"], expected.learning_rates_,
                                   rtol=1e-12)
        np.testing.assert_allclose(row["losses"], expected.losses_, rtol=1e-9)
        np.testing.assert_allclose(row["smoothed_losses"], expected.smoothed_losses_,
                                   rtol=1e-9)
        assert row["suggestion"] == pytest.approx(expected.suggestion_)
        assert row["suggestion"] in row["learning_rates"]
        assert row["stopped_early"] is expected.stopped_early_
        assert row["learning_rates"][0] == pytest.approx(1e-4)
        # the ramp is geometric: a constant ratio from one step to the next
        np.testing.assert_allclose(np.diff(np.log(row["learning_rates"])),
                                   np.log(10.0 / 1e-4) / 39, rtol=1e-9)


def test_lr_find_flags_have_the_names_and_defaults_of_lr_range_test():
    args = arguments.build_parser().parse_args(["lr-find"])
    signature = inspect.signature(lr_range_test).parameters
    for name in ("min_lr", "max_lr", "num_steps", "smoothing", "stop_factor"):
        assert getattr(args, name) == signature[name].default, name
    assert (args.optimizer, args.batch_size, args.plot, args.no_plot) == (None, "auto",
                                                                          None, False)


def test_lr_find_table_matches_its_json(capsys):
    argv = ["lr-find", "--dataset", "diabetes", "--no-plot", "--num-steps", "50"]
    result, _ = run_json(capsys, *argv)
    code, out, err = run_main(capsys, *argv)
    assert code == 0 and err == ""
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()
            if line.split() and line.split()[0] in DEFAULT_RACE}
    assert list(rows) == list(DEFAULT_RACE)
    for row in result["results"]:
        suggestion, points, stopped = rows[row["optimizer"]]
        expected = "none" if row["suggestion"] is None else f"{row['suggestion']:.3g}"
        assert (suggestion, int(points)) == (expected, len(row["losses"]))
        assert stopped == ("yes" if row["stopped_early"] else "no")
    assert "diabetes (regression)" in out and "GradientRegressor(penalty='l2'" in out


def test_lr_find_without_stop_factor_runs_every_step(capsys):
    # a ramp that stays below divergence: every step is recorded
    result, _ = run_json(capsys, "lr-find", "--dataset", "diabetes", "--no-plot",
                         "--stop-factor", "none", "--max-lr", "0.01", "--num-steps", "30",
                         "--optimizer", "gd", "--batch-size", "16", "--optimizer", "sgd")
    assert result["stop_factor"] is None and result["batch_size"] == 16
    for row in result["results"]:
        assert len(row["losses"]) == 30 and row["stopped_early"] is False
        assert row["learning_rates"][-1] == pytest.approx(0.01)
    # the batch size reached the estimator: full-batch gd and sgd on 16 samples differ
    gd, sgd = result["results"]
    assert gd["losses"] != sgd["losses"]


def test_lr_find_with_few_points_still_suggests(capsys):
    code, out, err = run_main(capsys, "lr-find", "--dataset", "iris", "--no-plot",
                              "--num-steps", "12", "--optimizer", "gd", "--optimizer", "gd")
    assert code == 0
    # iris's log loss still falls at 10: a note says so, with the flag's name
    assert err == ("note: gd: The loss was still falling at the end of the ramp (learning "
                   "rate 10): larger rates may do better than the suggestion. Raise "
                   "--max-lr to see where the loss turns up.\n")
    (row,) = [line.split() for line in out.splitlines() if line.startswith("gd ")]
    assert row[1] != "none" and 1e-7 <= float(row[1]) <= 10
    result, _ = run_json(capsys, "lr-find", "--dataset", "iris", "--no-plot",
                         "--num-steps", "12", "--optimizer", "gd")
    assert result["results"][0]["suggestion"] in result["results"][0]["learning_rates"]


@pytest.mark.parametrize("min_lr, max_lr", [("1e-320", "10"), ("1e-10", "1e308")])
def test_lr_find_over_a_range_whose_ratio_overflows(capsys, min_lr, max_lr):
    # max_lr / min_lr is infinite: the ramp is computed in log space, and a
    # note says the curve is coarse, with the flags to change
    result, err = run_json(capsys, "lr-find", "--dataset", "diabetes", "--no-plot",
                           "--optimizer", "sgd", "--min-lr", min_lr, "--max-lr", max_lr)
    (row,) = result["results"]
    rates = np.array(row["learning_rates"])
    assert rates[0] == float(min_lr) and len(rates) > 3 and row["suggestion"] in rates
    normal = rates[rates >= np.finfo(float).tiny]  # subnormal rates carry fewer bits
    np.testing.assert_allclose(np.diff(np.log(normal)),
                               (np.log(float(max_lr)) - np.log(float(min_lr))) / 99,
                               rtol=1e-9)
    assert "note: sgd: The ramp is coarse" in err
    assert "Narrow the range or raise --num-steps." in err


def test_lr_find_when_every_first_step_blows_up_no_plot_is_written(tmp_path, capsys,
                                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)
    result, err = run_json(capsys, "lr-find", "--optimizer", "gd", "--min-lr", "1e200",
                           "--max-lr", "1e300")
    (row,) = result["results"]
    assert row["losses"] == row["learning_rates"] == [] and row["stopped_early"] is True
    assert row["suggestion"] is None and result["plot"] is None
    assert "note: no curve to plot: every range test stopped at its first step." in err
    assert ("note: gd: The range test recorded no point: the loss was not finite after "
            "the first step, so there is no learning rate to suggest. Lower --min-lr.") in err
    assert list(tmp_path.iterdir()) == []


def test_lr_find_hidden_runs_the_mlp_range_test(capsys):
    result, _ = run_json(capsys, "lr-find", "--dataset", "diabetes", "--hidden", "8",
                         "--no-plot", "--num-steps", "30", "--optimizer", "adam")
    assert result["estimator"] == "GradientMLPRegressor"
    (row,) = result["results"]
    raw = _split("diabetes", scale_X=False)
    est = GradientMLPRegressor(hidden_layer_sizes=(8,), optimizer="adam", penalty="l2",
                               alpha=1e-4, random_state=0)
    expected = lr_range_test(make_pipeline(StandardScaler(), est), raw.X_train,
                             raw.y_train, num_steps=30)
    np.testing.assert_allclose(row["losses"], expected.losses_, rtol=1e-9)


def test_lr_find_plot_draws_every_curve_on_one_axes(monkeypatch, tmp_path):
    # the axes of the written figure: one solid curve per optimizer, and a loss
    # axis cut below the last points of the curves that blew up
    saved = {}
    monkeypatch.setattr(lr_find, "write_figure",
                        lambda figure, path: saved.update(figure=figure, path=path))
    data = _split("diabetes", scale_X=True)
    results, _ = lr_find.range_tests(
        data, optimizers=list(DEFAULT_RACE), hidden=None, batch_size="auto", seed=0,
        extra_params={}, test_params={},
    )
    lr_find.save_plot(results, "x.png", "title")
    (ax,) = saved["figure"].axes
    assert [text.get_text() for text in ax.get_legend().get_texts()] == list(DEFAULT_RACE)
    assert ax.get_xscale() == "log" and ax.get_title() == "title"
    highest = max(float(r.losses_.max()) for r in results.values())
    start = max(float(r.smoothed_losses_[0]) for r in results.values())
    assert highest > 10 * start  # some curve blew up at the end ...
    assert ax.get_ylim()[1] == pytest.approx(lr_find.PLOT_TOP * start)  # ... off the plot
    lowest = min(float(r.losses_.min()) for r in results.values())
    assert ax.get_ylim()[0] < lowest



def test_json_into_a_closed_pipe_stops_quietly():
    # ``sk-gradopt compare --json | head -2``: the reader goes away before the end.
    command = [sys.executable, "-m", "sk_gradopt", "compare", "--json", "--no-plot",
               "--max-iter", "5"]
    reader = subprocess.Popen(["true"], stdin=subprocess.PIPE,  # reads nothing, exits
                              stdout=subprocess.DEVNULL)
    result = subprocess.run(command, stdout=reader.stdin, stderr=subprocess.PIPE,
                            text=True, timeout=120)
    reader.stdin.close()
    reader.wait()
    assert result.returncode == 0
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr


@pytest.mark.parametrize("text, value", [("equal", True), ("0.9", 0.9), ("none", False)])
def test_average_reaches_the_raced_and_the_searched_estimators(capsys, monkeypatch, text,
                                                               value):
    seen = {}

    def spy(estimator, *args, **kwargs):
        seen["average"] = estimator.average
        raise ValueError("stop here")

    monkeypatch.setattr(compare, "compare_optimizers", spy)
    code, _, err = run_main(capsys, "compare", "--dataset", "synthetic", "--no-plot",
                            "--average", text, "--max-iter", "2")
    assert code == 2 and "stop here" in err
    assert seen["average"] == value and type(seen["average"]) is type(value)
    make_search = tune.make_search

    def searched(kind, estimator, *args, **kwargs):
        seen["searched"] = estimator[-1].average
        return make_search(kind, estimator, *args, **kwargs)

    monkeypatch.setattr(tune, "make_search", searched)
    run_json(capsys, "tune", "--dataset", "iris", "--search", "random", "--n-iter", "5",
             "--max-iter", "3", "--average", text)
    assert seen["searched"] == value and type(seen["searched"]) is type(value)


def test_bad_average_exits_2(capsys):
    for bad in ("1.5", "0", "yes"):
        code, out, err = run_main(capsys, "compare", "--average", bad)
        assert code == 2 and out == ""
        assert "is not an averaging decay between 0 and 1 (exclusive)" in err


# ------------------------------------------------------------- --schedule


def test_schedule_flag_reads_shortcuts_and_objects():
    from sk_gradopt.schedules import OneCycleLR, ReduceLROnPlateau, StepLR

    assert arguments.schedule("cosine") == "cosine"
    step = arguments.schedule("step:step_size=10,gamma=0.5")
    assert isinstance(step, StepLR) and step.get_params() == {"step_size": 10, "gamma": 0.5}
    assert isinstance(arguments.schedule("one_cycle:max_lr=0.1"), OneCycleLR)
    plateau = arguments.schedule("plateau:patience=3,factor=0.5")
    assert isinstance(plateau, ReduceLROnPlateau) and plateau.patience == 3
    assert arguments.schedule("plateau").get_params() == ReduceLROnPlateau().get_params()


@pytest.mark.parametrize("text, message", [
    ("linear", "unknown schedule 'linear'"),
    ("step:gamma=0.5", "missing 1 required positional argument: 'step_size'"),
    ("step:step_size=0", "'step_size' parameter of StepLR"),
    ("step:size=3", "unexpected keyword argument 'size'"),
    ("step:step_size=x", "'x' of 'step_size' is not a number"),
    ("step:step_size", "is not KEY=VALUE"),
])
def test_bad_schedule_flag_exits_with_2(capsys, text, message):
    code, out, err = run_main(capsys, "tune", "--schedule", text)
    assert code == 2 and out == ""
    assert message in err


@pytest.mark.parametrize("command", ["compare", "tune"])
def test_schedule_flag_reaches_the_estimator(capsys, monkeypatch, command):
    seen = []

    def stop(*args, **kwargs):  # compare_optimizers(estimator, ...), make_search(kind, est...)
        seen.extend(a for a in args if hasattr(a, "get_params"))
        raise CLIError("stopped by the test")

    if command == "compare":
        monkeypatch.setattr(compare, "compare_optimizers", stop)
    else:
        monkeypatch.setattr(tune, "make_search", stop)
    code, _, err = run_main(capsys, command, "--max-iter", "3", "--no-plot"
                            if command == "compare" else "--no-progress",
                            "--schedule", "exponential:gamma=0.5")
    assert code == 2 and "stopped by the test" in err
    (estimator,) = seen
    assert estimator.get_params(deep=True)[
        "schedule__gamma" if command == "compare" else
        f"{estimator.steps[-1][0]}__schedule__gamma"] == 0.5


def test_compare_races_the_optimizers_it_is_given(capsys):
    result, _ = run_json(capsys, "compare", "--dataset", "diabetes", "--no-plot",
                         "--optimizer", "adagrad", "--optimizer", "lbfgs", "--optimizer",
                         "adagrad", "--n-seeds", "1", "--max-iter", "5",
                         "--learning-rate", "0.1")
    rows = {r["optimizer"]: r for r in result["results"]}
    assert list(rows) == ["adagrad", "lbfgs"]
    assert rows["adagrad"]["learning_rate"] == 0.1  # "all" is the optimizers raced
    assert rows["lbfgs"]["learning_rate"] is None  # no rate: null, not NaN, in JSON
    code, _, err = run_main(capsys, "compare", "--optimizer", "adamw")
    assert code == 2 and "invalid choice: 'adamw'" in err
