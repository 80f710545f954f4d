"""Shared helpers of the benchmark scripts: timing, tables, machine facts, JSON.

The scripts import this module as ``_common`` (Python puts the script's own
folder on ``sys.path``), so each runs with ``python benchmarks/bench_x.py``
from a fresh install, without installing the folder.
"""

import argparse
import datetime
import json
import math
import os
import platform
import sys
import time
import warnings


def parser(description):
    """The command-line options every script takes.

    Parameters
    ----------
    description : str
        The script's one-line description.

    Returns
    -------
    argparse.ArgumentParser
        With ``--tiny``, ``--json FILE``, ``--repeat N`` and ``--no-torch``.
    """
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--tiny", action="store_true",
                   help="tiny sizes: checks that the script runs, in a few seconds")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--repeat", type=int, default=None,
                   help="timed repeats per figure (the best is kept)")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch rows")
    return p


def best_time(func, repeat, setup=None):
    """The shortest wall time in seconds of ``repeat`` calls of ``func()``.

    Parameters
    ----------
    func : callable
        Called with no argument.
    repeat : int
        Number of timed calls.
    setup : callable, default=None
        Called (untimed) before each timed call.

    Returns
    -------
    float
        The minimum over the calls, in seconds.
    """
    best = math.inf
    for _ in range(repeat):
        if setup is not None:
            setup()
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def interleaved_best(jobs, repeat):
    """The best time of each job over ``repeat`` rounds that run every job once.

    Spreading each job's repeats over the whole run (rather than running them
    back to back) makes the best of them robust to a burst of load from
    other processes; the ratios between jobs are then taken from one run.

    Parameters
    ----------
    jobs : dict
        ``key -> func``; ``func()`` runs the job once and returns the time to
        count, in seconds (so that it can leave its setup out).
    repeat : int
        Number of rounds.

    Returns
    -------
    dict
        ``key -> `` the shortest of the times, in seconds.
    """
    best = dict.fromkeys(jobs, math.inf)
    for _ in range(repeat):
        for key, func in jobs.items():
            best[key] = min(best[key], func())
    return best


def timed(func):
    """A job for :func:`interleaved_best`: the wall time of ``func()``."""

    def job():
        start = time.perf_counter()
        func()
        return time.perf_counter() - start

    return job


def quiet():
    """Silence the ``ConvergenceWarning`` of one-epoch fits."""
    warnings.simplefilter("ignore")


def import_torch(disabled=False):
    """``torch`` with as many threads as cores, or None when absent or disabled."""
    if disabled:
        return None
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(os.cpu_count() or 1)
    return torch


def cpu_model():
    """The CPU model name from ``/proc/cpuinfo`` (or ``platform.processor()``)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine():
    """Facts about this machine and the libraries, for the record.

    Returns
    -------
    dict
        CPU model, core count, BLAS (from threadpoolctl), Python and library
        versions, and the ``OPENBLAS_*`` variables in effect.
    """
    import numpy
    import sklearn

    info = {
        "date": datetime.date.today().isoformat(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scikit-learn": sklearn.__version__,
        "openblas_env": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_")},
    }
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [
            f"{p.get('internal_api')} {p.get('version')} {p.get('architecture')} "
            f"({p.get('num_threads')} threads)"
            for p in threadpool_info() if p.get("user_api") == "blas"
        ]
    except ImportError:
        info["blas"] = ["unknown (threadpoolctl not installed)"]
    try:
        import torch

        info["torch"] = torch.__version__
    except ImportError:
        pass
    return info


def print_machine(info):
    """Print the facts of :func:`machine` as a header."""
    print(f"# {info['date']}  {info['cpu']}  {info['cores']} cores  "
          f"BLAS: {'; '.join(info['blas'])}")
    print(f"# Python {info['python']}  NumPy {info['numpy']}  "
          f"scikit-learn {info['scikit-learn']}"
          + (f"  torch {info['torch']}" if "torch" in info else ""))
    if info["openblas_env"]:
        print(f"# OPENBLAS variables set: {info['openblas_env']}")


def table(rows, columns, title=None):
    """Print ``rows`` (dicts) as a fixed-width table of ``columns``.

    Parameters
    ----------
    rows : list of dict
        The rows; a missing key prints as ``-``.
    columns : list of (str, str)
        ``(key, format)`` pairs; the key is the header.
    title : str, default=None
        Printed above the table.
    """
    cells = [[_cell(row.get(key), fmt) for key, fmt in columns] for row in rows]
    headers = [key for key, _ in columns]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    if title:
        print(f"\n{title}")
    print("  ".join(h.rjust(w) for h, w in zip(headers, widths)))
    print("  ".join("-" * w for w in widths))
    for c in cells:
        print("  ".join(v.rjust(w) for v, w in zip(c, widths)))


def _cell(value, fmt):
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return format(value, fmt)


def write_json(path, name, args, results, **extra):
    """Write the results (and the machine facts) to ``path`` when it is set.

    Parameters
    ----------
    path : str or None
        The ``--json`` file; nothing is written when None.
    name : str
        The benchmark's name.
    args : argparse.Namespace
        The command-line options.
    results : list of dict
        The table rows.
    **extra
        More top-level entries (summaries, ratios, targets).
    """
    if not path:
        return
    record = {"benchmark": name, "command": " ".join([os.path.basename(sys.executable)]
                                                      + sys.argv),
              "machine": machine(), "args": vars(args), "results": results, **extra}
    with open(path, "w") as f:
        json.dump(record, f, indent=1, default=float)
        f.write("\n")
