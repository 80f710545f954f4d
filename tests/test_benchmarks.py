"""Each benchmark script runs once on tiny sizes, so that none of them rots.

Nothing here asserts a timing: each script must finish, and its JSON must
have the expected keys and finite timings, positive except for the marginal
ones (differences of two timings, which noise can push below zero at these
sizes). PyTorch is optional: its rows are skipped where it is not installed.
"""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"

#: Per script: the keys of every result row, and the top-level keys.
EXPECTED = {
    "bench_epoch.py": ({"task", "dtype", "batch", "model", "optimizer"}, {"targets"}),
    "bench_limit.py": (
        {"dtype", "step_ms", "Xw_ms", "XTr_ms", "copy_ms", "step_over_matvecs",
         "fraction_of_copy_bandwidth"},
        {"targets"},
    ),
    "bench_convergence.py": (
        {"problem", "solver", "setting", "epochs", "gap", "reached", "time_s"},
        {"rtol", "budgets"},
    ),
    "bench_scaling.py": ({"optimizer", "size", "n", "d", "epoch_ms"}, set()),
    "bench_memory.py": ({"case", "X_GB", "peak_GB", "peak_over_X", "fit_extra_over_X"},
                        {"targets"}),
    "bench_gpu.py": ({"problem", "device", "what"}, {"gpu", "targets"}),
    "bench_mlp.py": ({"dtype", "model", "epoch_ms"}, {"targets"}),
    "bench_lr.py": ({"section", "problem"}, {"summary"}),
    "bench_dask.py": ({"where", "workers", "step_ms", "epoch_ms"}, {"n", "d", "block_rows"}),
    "bench_sparse.py": ({"estimator", "fit_s", "over_sklearn", "accuracy", "accuracy_gap"},
                        {"targets"}),
    "bench_small_batch.py": ({"dtype", "batch", "model", "optimizer", "epoch_ms"},
                             {"targets", "compile"}),
    "bench_compare.py": ({"problem", "n_fits", "fits_s", "race_s", "race_over_fits"}, set()),
    "bench_fixed_cost.py": ({"case", "call_ms", "epoch_ms", "ratio"}, {"targets"}),
}

#: Timings that are differences of two timings (the marginal epoch or step).
MARGINAL = {"epoch_ms", "step_ms", "epoch_s", "overhead_ms"}
TIMING_SUFFIXES = ("_ms", "_s")
MEMORY_SUFFIX = "_GB"


def run_tiny(script, tmp_path):
    out = tmp_path / "result.json"
    subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--tiny", "--json", str(out)],
        check=True, capture_output=True, text=True, timeout=600,
    )
    return json.loads(out.read_text())


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_benchmark_runs_on_tiny_sizes(script, tmp_path):
    if script == "bench_memory.py" and not sys.platform.startswith("linux"):
        pytest.skip("bench_memory.py reads /proc (Linux only)")
    record = run_tiny(script, tmp_path)
    row_keys, top_keys = EXPECTED[script]
    assert {"benchmark", "machine", "args", "results"} | top_keys <= record.keys()
    assert record["args"]["tiny"] is True
    assert record["results"], "no result rows"
    n_measures = 0
    for row in record["results"]:
        assert row_keys <= row.keys(), (script, row)
        for key, value in row.items():
            if key.endswith(TIMING_SUFFIXES + (MEMORY_SUFFIX,)):
                n_measures += 1
                assert math.isfinite(value), (key, row)
                if key not in MARGINAL or "torch" in str(row.get("model", "")):
                    assert value > 0, (key, row)
    assert n_measures > 0
