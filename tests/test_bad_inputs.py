"""Bad inputs get a clear error: a table of cases, each with what it must raise.

Each :class:`Case` runs one call (the command line with some arguments, the
command line on a CSV file, ``search_space``, or any other call) and names
the error it must end with and a fragment of its message:

* ``error`` an exception type: the call raises it, with ``fragment`` in its
  message;
* ``error`` an int: the command line exits with that code, printing one
  ``error:`` line (with ``fragment``) on stderr, nothing on stdout and no
  traceback.

The cases come in families, with variants of each defect (other values,
other lines and columns), so that a fix at the right depth is checked, not
only the instance first reported. To add cases, append to :data:`CASES`
(the helpers :func:`cli`, :func:`csv` and :func:`space` build the calls).
"""

import math
import re
from dataclasses import dataclass
from typing import Callable, Union

import numpy as np
import pytest

from sk_gradopt import search_space
from sk_gradopt._optimizers import DEFAULT_RACE  # the race's five
from sk_gradopt.cli import main

USAGE = 2  # the command line's exit code for bad arguments or input


@dataclass(frozen=True)
class Case:
    """One bad input.

    Parameters
    ----------
    id : str
        The test id.
    call : callable
        ``call(tmp_path)`` runs the bad input (``tmp_path``: a fresh folder,
        also the current one). For the command line, it returns the exit code.
    error : type or int
        The exception type it raises, or the command line's exit code.
    fragment : str
        A part of the message.
    """

    id: str
    call: Callable
    error: Union[type, int]
    fragment: str


def cli(*argv):
    """A call of ``sk-gradopt ARGV``: returns the exit code."""

    def call(tmp_path):
        try:
            return main(list(argv))
        except SystemExit as exc:  # argparse
            return exc.code

    return call


def csv(text, *argv, target="y", command="compare"):
    """A call of ``sk-gradopt COMMAND --csv data.csv --target TARGET ARGV``."""

    def call(tmp_path):
        path = tmp_path / "data.csv"
        path.write_text(text, encoding="utf-8")
        no_plot = ["--no-plot"] if command in ("compare", "lr-find") else []
        return cli(command, "--csv", str(path), "--target", target, *no_plot, *argv)(tmp_path)

    return call


def space(*args, **kwargs):
    """A call of ``search_space(*args, **kwargs)``."""
    return lambda tmp_path: search_space(*args, **kwargs)


def table(header, rows, sep=","):
    """CSV text: a header and rows of cells."""
    return "\n".join(sep.join(map(str, row)) for row in [header, *rows]) + "\n"


def numeric_rows(n_rows=20, n_columns=3, seed=0):
    """Rows of random floats, with a few digits (readable in messages)."""
    rng = np.random.default_rng(seed)
    return [[f"{v:.3f}" for v in row] for row in rng.normal(size=(n_rows, n_columns))]


CASES = []

# --------------------------------------------- CSV: a bad cell in a numeric target
# The defect: one such cell turned the column into text labels (a 60-class
# "classification" that exited 0), or gave a StopIteration with --task
# regression. Now: an error naming the line, with or without --task.

BAD_TARGET_CELLS = ["NA", "nan", "NaN", "?", "-", "inf", "-inf", "Infinity", "", "N/A",
                    "null", "None", "#N/A", "1e400"]
for i, cell in enumerate(BAD_TARGET_CELLS):
    row = [2, 9, 20][i % 3]  # the first, a middle or the last data row
    column = i % 3  # the target is the first, middle or last column
    rows = numeric_rows(20, 3, seed=i)
    rows[row - 1][column] = cell
    header = ["a", "b", "c"]
    header[column] = "y"
    what = "is empty" if cell == "" else f"holds {cell!r}"
    for task in ([], ["--task", "regression"], ["--task", "classification"]):
        if task and task[1] == "classification" and i % 2:
            continue  # half the tokens are enough there
        CASES.append(Case(
            f"csv-target-{cell or 'empty'}-line{row + 1}-col{column}-{'-'.join(task[1:]) or 'inferred'}",
            csv(table(header, rows), *task), USAGE,
            f"line {row + 1}: the target column 'y' {what}",
        ))

# integer class labels with one missing cell: the same error, not a class "?"
for cell in ["?", "NA", "-"]:
    rows = [[i, i % 5, i % 3] for i in range(30)]
    rows[12][2] = cell
    CASES.append(Case(f"csv-label-{cell}", csv(table(["a", "b", "y"], rows)), USAGE,
                      f"line 14: the target column 'y' holds {cell!r}, a missing value"))

# --task regression on text labels: an error that shows one (was a StopIteration)
CASES.append(Case(
    "csv-text-target-as-regression",
    csv(table(["a", "y"], [[i, ["cat", "dog", "nan"][i % 3]] for i in range(12)]),
        "--task", "regression"),
    USAGE, "--task regression needs a numeric target, but column 'y' holds 'cat'",
))
CASES.append(Case(
    "csv-continuous-target-as-classification",
    csv(table(["a", "y"], [[i, i / 4] for i in range(12)]), "--task", "classification"),
    USAGE, "--task classification needs class labels, but column 'y' holds continuous",
))

# --------------------------------------------------- CSV: bad feature cells

BAD_FEATURE_CELLS = [
    ("x", "holds 'x', which is not a number"),
    ("1,5", "holds '1,5', which is not a number"),  # a decimal comma, ';'-separated
    ("NA", "has a missing value ('NA')"),
    ("?", "has a missing value ('?')"),
    ("", "has a missing value."),
    ("inf", "holds 'inf', which is not a finite float64 number"),
    ("-Infinity", "holds '-Infinity', which is not a finite float64 number"),
    ("1e400", "holds '1e400', which is not a finite float64 number"),
]
for i, (cell, message) in enumerate(BAD_FEATURE_CELLS):
    rows = numeric_rows(12, 4, seed=10 + i)
    row, column = [1, 6, 12][i % 3], i % 3
    rows[row - 1][column] = cell
    sep = ";" if "," in cell else ","
    CASES.append(Case(
        f"csv-feature-{cell or 'empty'}",
        csv(table(["a", "b", "c", "y"], rows, sep=sep)), USAGE,
        f"line {row + 1}: column {'abc'[column]!r} {message}",
    ))

# ------------------------------------------------------ CSV: the file's shape

CSV_SHAPES = [
    ("empty", "", "is empty: expected a header row"),
    ("blank-lines", "\n\n  \n", "is empty"),
    ("header-only", "a,b,y\n", "has a header but no data rows"),
    ("no-such-target", "a,b\n1,2\n", "--target 'y' is not a column of"),
    ("only-the-target", "y\n1\n2\n", "only the target column 'y'"),
    ("short-row", "a,b,y\n1,2,3\n4,5\n", "line 3: 2 fields where the header has 3"),
    ("long-row", "a,b,y\n1,2,3,4\n", "line 2: 4 fields where the header has 3"),
    ("long-row-after-blanks", "\n\na,b,y\n1,2,3\n\n4,5,6,7\n",
     "line 6: 4 fields where the header has 3"),
    ("short-row-after-blanks", "a;b;y\n\n1;2;3\n;;\n4\n",
     "line 5: 1 fields where the header has 3"),
    ("unclosed-quote", 'a,b,y\n1,"2,3\n', "is not a readable CSV file"),
    ("empty-target-of-labels", "a,y\n1,cat\n2,\n3,dog\n", "line 3: the target column 'y' is empty"),
    ("too-few-rows", "a,y\n1,0\n2,1\n", "too few for a train/test split"),
]
for name, text, fragment in CSV_SHAPES:
    CASES.append(Case(f"csv-{name}", csv(text), USAGE, fragment))
CASES.append(Case("csv-missing-file", cli("compare", "--csv", "nope.csv", "--target", "y"),
                  USAGE, "--csv nope.csv: no such file."))
CASES.append(Case("csv-is-a-folder", cli("compare", "--csv", ".", "--target", "y"),
                  USAGE, "--csv . is a directory"))

# ------------------------------------------ CSV: two columns with the same name
# The defect: a --target that two columns carry read the first as the target
# and made the second a feature (test R^2 0.37 -> 1.0, a leaked target).

for i, (header, target, where) in enumerate([
    (["a", "y", "b", "y"], "y", "columns 2 and 4"),
    (["y", "a", "y"], "y", "columns 1 and 3"),
    (["a", "b", "price", "price"], "price", "columns 3 and 4"),
    (["t", "a", "t", "b", "t"], "t", "columns 1, 3 and 5"),
    (["a", " y", "y "], "y", "columns 2 and 3"),  # the same once stripped
]):
    rows = numeric_rows(20, len(header), seed=40 + i)
    first = header.index(target) if target in header else 1
    for row in rows:  # a copy of the target: the leak
        for j, name in enumerate(header):
            if name.strip() == target:
                row[j] = row[first]
    command = ("compare", "tune", "lr-find")[i % 3]
    CASES.append(Case(
        f"csv-duplicate-target-{i}-{command}",
        csv(table(header, rows), target=target, command=command), USAGE,
        f"the header names {where.count(',') + 2} columns {target!r} ({where}, counted from "
        f"1); the --target would be read from column {where.split()[1].rstrip(',')}",
    ))
for i, (header, name, where) in enumerate([
    (["a", "b", "a", "y"], "a", "columns 1 and 3"),
    (["y", "x", "x"], "x", "columns 2 and 3"),
    (["", "", "y"], "", "columns 1 and 2"),  # two unnamed columns
]):
    CASES.append(Case(
        f"csv-duplicate-feature-{i}",
        csv(table(header, numeric_rows(20, len(header), seed=50 + i))), USAGE,
        f"the header names 2 columns {name!r} ({where}, counted from 1); the features "
        "must be told apart by their names. Rename or drop the duplicate column.",
    ))

# --------------------------- tune: folds that cannot be fitted or scored
# The defect: scikit-learn's FitFailedWarning (a traceback of some forty
# lines) and then a one-line error that did not name the cause, a class
# missing from a training fold.


def labelled(counts, seed=0):
    """CSV rows of 3 random features and a label: ``counts`` rows of each class."""
    labels = [label for label, n in counts.items() for _ in range(n)]
    features = numeric_rows(len(labels), 3, seed=seed)
    return table(["a", "b", "c", "y"], [row + [label] for row, label in zip(features, labels)])


# (rows of each class, --cv, --test-size): some training fold holds one class
for i, (counts, folds, test_size) in enumerate([
    ({"a": 12, "b": 2}, 3, "0.25"),  # 'b': one training row
    ({"no": 20, "yes": 2}, 5, "0.25"),
    ({"0": 9, "1": 1}, 2, "0.1"),
]):
    CASES.append(Case(
        f"csv-tune-single-class-fold-{i}",
        csv(labelled(counts, seed=i), "--cv", str(folds), "--test-size", test_size,
            "--search", "random", "--n-iter", "5", command="tune"), USAGE,
        f"--cv {folds}: the training part of fold",
    ))
CASES.append(Case(
    "csv-tune-fold-message",
    csv(labelled({"a": 12, "b": 2}), "--search", "random", "--n-iter", "5", command="tune"),
    USAGE, "holds only class 'a', and a classifier needs two classes: class 'b' has 1 "
           "training row, fewer than the 3 (stratified) folds, so some folds train without "
           "it. Give more rows of that class",
))
# 20 % held out, stratified: 'a' keeps 2 training rows of 3, 5 of 6
for i, (counts, folds, fix) in enumerate([({"a": 3, "b": 3}, 3, "has 2. Give --cv 2 or more rows."),
                                          ({"a": 6, "b": 5, "c": 4}, 6,
                                           "has 5. Give --cv 5 or fewer, or more rows.")]):
    CASES.append(Case(
        f"csv-tune-folds-larger-than-classes-{i}",
        csv(labelled(counts, seed=10 + i), "--cv", str(folds), "--test-size", "0.2",
            command="tune"), USAGE,
        f"--cv {folds}: every class has fewer training rows than the {folds} (stratified) "
        f"folds; the largest, 'a', {fix}",
    ))
# a regression's test folds of one row: no R^2 (was a warning per fit)
# (rows, --cv, training rows after the default 25 % test part, the fix)
for n_rows, folds, n_train, fix in [(6, 3, 4, "Give --cv 2 or more rows."),
                                    (5, 4, 3, "Give more rows."),
                                    (14, 6, 10, "Give --cv 5 or fewer, or more rows.")]:
    rows = [row + [f"{k * 1.37:.2f}"] for k, row in enumerate(numeric_rows(n_rows, 2))]
    CASES.append(Case(
        f"csv-tune-regression-folds-of-one-row-{n_rows}-{folds}",
        csv(table(["a", "b", "y"], rows), "--cv", str(folds), "--search", "random",
            "--n-iter", "5", command="tune"), USAGE,
        f"--cv {folds}: the {n_train} training rows make test folds of {n_train // folds} "
        f"row{'s' if n_train // folds != 1 else ''}, and R^2 needs two rows to score. {fix}",
    ))

# ---------------------------- values too large to standardize (not "contains NaN")

for i, (value, column) in enumerate([("1e300", 0), ("-1e300", 1), ("1e200", 2),
                                     ("1.7e308", 0)]):
    rows = numeric_rows(30, 4, seed=20 + i)
    rows[5 + i][column] = value
    for command in ("compare", "tune", "lr-find"):
        CASES.append(Case(
            f"overflow-feature-{value}-{command}",
            csv(table(["a", "b", "c", "y"], rows), command=command), USAGE, f"column {'abc'[column]!r} holds values up to {abs(float(value)):.3g} "
                   "in absolute value, too large to standardize",
        ))
rows = numeric_rows(30, 3, seed=30)
rows[3][2] = "3e300"
CASES.append(Case("overflow-target", csv(table(["a", "b", "y"], rows)), USAGE,
                  "the target column 'y' holds values up to 3e+300 in absolute value, "
                  "too large to standardize"))


# ------------------------------------------------------------- arguments

SEED = "is not an integer from 0 to 4294967295"
ARGUMENTS = [
    ("seed-negative", ["compare", "--seed", "-1"], f"argument --seed: -1 {SEED}"),
    ("seed-huge", ["compare", "--seed", "99999999999"], f"--seed: 99999999999 {SEED}"),
    ("seed-2**32", ["tune", "--seed", str(2**32)], f"--seed: 4294967296 {SEED}"),
    ("seed-text", ["compare", "--seed", "abc"], f"--seed: 'abc' {SEED}"),
    ("seed-float", ["tune", "--seed", "1.5"], f"--seed: '1.5' {SEED}"),
    ("max-iter-0", ["compare", "--max-iter", "0"], "--max-iter: 0 is not an integer >= 1"),
    ("max-iter-negative", ["tune", "--max-iter", "-3"], "--max-iter: -3 is not an integer >= 1"),
    ("max-iter-text", ["compare", "--max-iter", "ten"], "'ten' is not an integer >= 1"),
    ("test-size-0", ["compare", "--test-size", "0"], "0 is not a fraction between 0 and 1"),
    ("test-size-1", ["compare", "--test-size", "1"], "1 is not a fraction between 0 and 1"),
    ("test-size-1.5", ["tune", "--test-size", "1.5"], "1.5 is not a fraction between 0 and 1"),
    ("test-size-nan", ["compare", "--test-size", "nan"], "nan is not a fraction"),
    ("tol-negative", ["compare", "--tol", "-1"], "--tol: -1 is not a number >= 0, or 'none'"),
    ("tol-inf", ["compare", "--tol", "inf"], "--tol: inf is not a number >= 0"),
    ("tol-text", ["tune", "--tol", "tight"], "--tol: 'tight' is not a number >= 0"),
    ("cv-1", ["tune", "--cv", "1"], "--cv: 1 is not a number of folds >= 2"),
    ("cv-0", ["tune", "--cv", "0"], "--cv: 0 is not a number of folds >= 2"),
    ("n-jobs-0", ["tune", "--n-jobs", "0"], "--n-jobs: 0 is not a count of parallel jobs"),
    ("n-iter-0", ["tune", "--n-iter", "0"], "--n-iter: 0 is not an integer >= 1"),
    ("batch-size-0", ["compare", "--batch-size", "0"], "0 is not an integer >= 1, or 'auto'"),
    ("batch-size-text", ["compare", "--batch-size", "big"], "'big' is not an integer >= 1"),
    ("compare-n-seeds-0", ["compare", "--n-seeds", "0"], "--n-seeds: 0 is not an integer >= 1"),
    ("compare-n-jobs-0", ["compare", "--n-jobs", "0"],
     "--n-jobs: 0 is not a count of parallel jobs: a positive integer, or -1 for all cores"),
    ("learning-rate-unknown", ["compare", "--learning-rate", "newton=1"],
     "unknown optimizer 'newton'"),
    ("learning-rate-0", ["compare", "--learning-rate", "adam=0"], "0 is not a positive number"),
    ("learning-rate-negative", ["compare", "--learning-rate", "-1"],
     "-1 is not a positive number"),
    ("learning-rate-inf", ["compare", "--learning-rate", "sgd=inf"],
     "inf is not a positive number"),
    ("learning-rate-nan", ["compare", "--learning-rate", "gd=nan"],
     "nan is not a positive number"),
    ("learning-rate-text", ["compare", "--learning-rate", "adam=fast"],
     "'fast' is not a positive number"),
    ("no-plot-and-plot", ["compare", "--no-plot", "--plot", "x.png"],
     "argument --plot: not allowed with argument --no-plot"),
    ("plot-and-no-plot", ["compare", "--plot", "x", "--no-plot"],
     "argument --no-plot: not allowed with argument --plot"),
    ("plot-bad-extension", ["compare", "--plot", "curves.xyz"],
     "matplotlib cannot write '.xyz' files"),
    ("plot-missing-folder", ["compare", "--plot", "no/such/folder/x.png"], "does not exist"),
    ("plot-missing-folder-slash", ["compare", "--plot", "out/"],
     "the folder out/ does not exist"),
    ("csv-without-target", ["compare", "--csv", "x.csv"], "--csv needs --target COLUMN"),
    ("target-without-csv", ["tune", "--target", "y"], "--target only applies with --csv"),
    ("dataset-and-csv", ["compare", "--dataset", "iris", "--csv", "x.csv"],
     "not allowed with argument"),
    ("dataset-task-mismatch", ["compare", "--dataset", "diabetes", "--task", "classification"],
     "--dataset diabetes is a regression dataset"),
    ("unknown-dataset", ["compare", "--dataset", "mnist"], "invalid choice: 'mnist'"),
    ("unknown-search", ["tune", "--search", "newton"], "invalid choice: 'newton'"),
    ("no-command", [], "usage: sk-gradopt"),
]
for text in ["0", "64,0", "-8", "64,,32", "wide", "64.5", ""]:
    for command in ("compare", "tune", "lr-find"):
        ARGUMENTS.append((f"hidden-{command}-{text or 'empty'}", [command, "--hidden", text],
                          f"{text!r} is not a list of hidden layer sizes"))
# lr-find: its own flags (lr_range_test's parameters) and the shared ones
RATE = "is not a positive number"
ARGUMENTS += [
    ("lr-find-min-lr-0", ["lr-find", "--min-lr", "0"], f"--min-lr: 0 {RATE}"),
    ("lr-find-min-lr-negative", ["lr-find", "--min-lr", "-0.001"], f"--min-lr: -0.001 {RATE}"),
    ("lr-find-min-lr-nan", ["lr-find", "--min-lr", "nan"], f"--min-lr: nan {RATE}"),
    ("lr-find-min-lr-text", ["lr-find", "--min-lr", "tiny"], f"--min-lr: 'tiny' {RATE}"),
    ("lr-find-max-lr-inf", ["lr-find", "--max-lr", "inf"], f"--max-lr: inf {RATE}"),
    ("lr-find-max-lr-1e400", ["lr-find", "--max-lr", "1e400"], f"--max-lr: 1e400 {RATE}"),
    ("lr-find-max-lr-0", ["lr-find", "--max-lr", "0"], f"--max-lr: 0 {RATE}"),
    ("lr-find-min-above-max", ["lr-find", "--min-lr", "1", "--max-lr", "0.1"],
     "--min-lr 1 must be smaller than --max-lr 0.1"),
    ("lr-find-min-equals-max", ["lr-find", "--min-lr", "0.5", "--max-lr", "0.5"],
     "--min-lr 0.5 must be smaller than --max-lr 0.5"),
    ("lr-find-min-above-default-max", ["lr-find", "--min-lr", "20"],
     "--min-lr 20 must be smaller than --max-lr 10"),
    ("lr-find-num-steps-1", ["lr-find", "--num-steps", "1"],
     "--num-steps: 1 is not an integer >= 2"),
    ("lr-find-num-steps-0", ["lr-find", "--num-steps", "0"],
     "--num-steps: 0 is not an integer >= 2"),
    ("lr-find-num-steps-float", ["lr-find", "--num-steps", "50.5"],
     "--num-steps: '50.5' is not an integer >= 2"),
    ("lr-find-smoothing-1", ["lr-find", "--smoothing", "1"],
     "--smoothing: 1 is not a number from 0 (no smoothing) up to, not including, 1"),
    ("lr-find-smoothing-negative", ["lr-find", "--smoothing", "-0.1"],
     "--smoothing: -0.1 is not a number from 0"),
    ("lr-find-smoothing-nan", ["lr-find", "--smoothing", "nan"],
     "--smoothing: nan is not a number from 0"),
    ("lr-find-smoothing-text", ["lr-find", "--smoothing", "some"],
     "--smoothing: 'some' is not a number from 0"),
    ("lr-find-stop-factor-1", ["lr-find", "--stop-factor", "1"],
     "--stop-factor: 1 is not a number > 1, or 'none'"),
    ("lr-find-stop-factor-0.5", ["lr-find", "--stop-factor", "0.5"],
     "--stop-factor: 0.5 is not a number > 1"),
    ("lr-find-stop-factor-inf", ["lr-find", "--stop-factor", "inf"],
     "--stop-factor: inf is not a number > 1"),
    ("lr-find-stop-factor-text", ["lr-find", "--stop-factor", "never"],
     "--stop-factor: 'never' is not a number > 1, or 'none'"),
    ("lr-find-optimizer-unknown", ["lr-find", "--optimizer", "newton"],
     "argument --optimizer: invalid choice: 'newton'"),
    ("lr-find-optimizer-case", ["lr-find", "--optimizer", "Adam"],
     "argument --optimizer: invalid choice: 'Adam'"),
    ("lr-find-batch-size-0", ["lr-find", "--batch-size", "0"],
     "0 is not an integer >= 1, or 'auto'"),
    ("lr-find-no-plot-and-plot", ["lr-find", "--no-plot", "--plot", "x.png"],
     "argument --plot: not allowed with argument --no-plot"),
    ("lr-find-plot-bad-extension", ["lr-find", "--plot", "curves.xyz"],
     "matplotlib cannot write '.xyz' files"),
    ("lr-find-plot-missing-folder", ["lr-find", "--plot", "no/such/x.png"], "does not exist"),
    ("lr-find-seed-negative", ["lr-find", "--seed", "-1"], f"--seed: -1 {SEED}"),
    ("lr-find-test-size-1", ["lr-find", "--test-size", "1"],
     "1 is not a fraction between 0 and 1"),
    ("lr-find-csv-without-target", ["lr-find", "--csv", "x.csv"],
     "--csv needs --target COLUMN"),
    ("lr-find-dataset-task-mismatch", ["lr-find", "--dataset", "iris", "--task", "regression"],
     "--dataset iris is a classification dataset"),
    # a range test has a number of steps, not an epoch budget
    ("lr-find-max-iter", ["lr-find", "--max-iter", "5"],
     "unrecognized arguments: --max-iter 5"),
    ("lr-find-tol", ["lr-find", "--tol", "none"], "unrecognized arguments: --tol none"),
    ("lr-find-learning-rate", ["lr-find", "--learning-rate", "0.1"],
     "unrecognized arguments: --learning-rate 0.1"),
]
CASES.append(Case("csv-lr-find-missing-file",
                  cli("lr-find", "--csv", "nope.csv", "--target", "y"),
                  USAGE, "--csv nope.csv: no such file."))
CASES.append(Case("csv-lr-find-single-class",
                  csv(table(["a", "y"], [[i, 1] for i in range(12)]),
                      "--task", "classification", command="lr-find"),
                  USAGE, "has a single class"))

for n_iter in range(1, len(DEFAULT_RACE)):
    ARGUMENTS.append((
        f"bayes-n-iter-{n_iter}", ["tune", "--search", "bayes", "--n-iter", str(n_iter)],
        f"--search bayes --n-iter {n_iter} is fewer than the 5 optimizers: BayesSearchCV "
        f"searches one sub-space per optimizer, so {', '.join(DEFAULT_RACE[n_iter:])} would "
        "not be searched at all. Give --n-iter 5 or more.",
    ))
for name, argv, fragment in ARGUMENTS:
    CASES.append(Case(f"arg-{name}", cli(*argv), USAGE, fragment))

# --------------------------------------------------------- search_space

LEARNING_RATE = "learning_rate must be None or a pair (low, high) of numbers with 0 < low"
for name, value in [
    ("huge-int", (1, 10**400)), ("zero-low", (0, 1)), ("negative", (-1, 1)),
    ("equal", (1, 1)), ("reversed", (2, 1)), ("inf-high", (1e-3, math.inf)),
    ("nan", (math.nan, 1)), ("text", ("a", 1)), ("scalar", 0.1), ("triple", (1, 2, 3)),
    ("bool", (True, 2)), ("string", "0.1"), ("underflow-to-zero", (1e-400, 1)),
]:
    for kind in ("grid", "random"):
        CASES.append(Case(f"space-learning-rate-{name}-{kind}",
                          space("gd", kind, learning_rate=value), ValueError, LEARNING_RATE))

BATCH_SIZE = "batch_size must be True (search the default batch sizes), False"
for name, value in [("empty", []), ("zero", [0]), ("negative", [-8]), ("float", [8.5]),
                    ("text", ["big"]), ("int", 32), ("string", "32"), ("bool-in-list", [True]),
                    ("none", None), ("mixed", [8, 0])]:
    CASES.append(Case(f"space-batch-size-{name}", space("sgd", batch_size=value),
                      ValueError, BATCH_SIZE))


STRUCTURE = "hidden_layer_sizes="
for name, value in [("empty", []), ("zero", [(0,)]), ("negative", [(8, -1)]),
                    ("float", [(8.5,)]), ("text", ["wide"]), ("bare-tuple", (32, 16)),
                    ("bool", [(True,)]), ("empty-layer", [()]), ("string", "32")]:
    CASES.append(Case(f"space-hidden-{name}", space("adam", hidden_layer_sizes=value),
                      ValueError, STRUCTURE))
# NumPy values are shown as plain values (NumPy 2 writes np.float64(2.0))
for name, call, fragment in [
    ("learning-rate", space("gd", learning_rate=(np.float64(2), np.float64(1))),
     "got (2.0, 1.0)."),
    ("batch-size", space("sgd", batch_size=[np.int64(0), np.int32(8)]), "got [0, 8]."),
    ("hidden", space("adam", hidden_layer_sizes=[(np.int64(0),)]), "hidden_layer_sizes=[(0,)]"),
    ("weight-decay", space("all", weight_decay=[np.float32(-0.5)]), "got [-0.5]."),
    ("warmup", space("all", warmup_steps=np.array([1.5])), "got [1.5]."),
    ("optimizer", space([np.str_("gd"), np.str_("newton")]), "newton"),
    ("activation", space("adam", activation=np.str_("gelu")), "activation='gelu'"),
]:
    CASES.append(Case(f"space-numpy-{name}", call, ValueError, fragment))
for name, value in [("unknown", "softplus"), ("empty", []), ("one-bad", ["relu", "gelu"])]:
    CASES.append(Case(f"space-activation-{name}", space("adam", activation=value),
                      ValueError, "activation="))

# the training tools: None, True or a non-empty list of valid values
TOOL_CASES = {
    "weight_decay": ("True (search [0.0, 0.0001, 0.001, 0.01]) or a non-empty list of "
                     "numbers >= 0", [
                         ("negative", [-1e-3]), ("nan", [math.nan]), ("inf", [0.0, math.inf]),
                         ("huge-int", [10**400]), ("text", ["0.01"]), ("bool", [True]),
                         ("none-in-list", [None]), ("scalar", 0.01), ("empty", []),
                         ("false", False), ("string", "0.01"), ("array", np.array([0.1])),
                     ]),
    "max_grad_norm": ("True (search [None, 1.0, 10.0]) or a non-empty list of numbers > 0 "
                      "or None (no clipping)", [
                          ("zero", [0.0]), ("negative", [None, -1.0]), ("nan", [math.nan]),
                          ("inf", [math.inf]), ("text", ["1"]), ("scalar", 1.0),
                          ("empty", []), ("false", False), ("bool", [True]),
                      ]),
    "warmup_steps": ("True (search [0, 10, 100]) or a non-empty list of integers >= 0", [
        ("negative", [-10]), ("float", [10.0]), ("fraction", [0.5]), ("text", ["10"]),
        ("bool", [False]), ("none-in-list", [None]), ("scalar", 10), ("empty", []),
        ("false", False),
    ]),
}
for name, (valid, values) in TOOL_CASES.items():
    for i, (label, value) in enumerate(values):
        kind = ("grid", "random", "bayes")[i % 3]  # checked before skopt is imported
        CASES.append(Case(f"space-{name.replace('_', '-')}-{label}-{kind}",
                          space("all", kind, **{name: value}), ValueError,
                          f"{name} must be None (leave the estimator's own), {valid}"))

# ------------------------------------------------------------ estimators


def fit(Estimator, X=None, y=None, method="fit", **kwargs):
    """A call that fits ``Estimator(**params)`` on small data (or the given)."""
    params = {k: v for k, v in kwargs.items() if not k.startswith("fit_")}
    fit_kwargs = {k[4:]: v for k, v in kwargs.items() if k.startswith("fit_")}

    def call(tmp_path):
        rng = np.random.default_rng(0)
        data_X = rng.standard_normal((30, 3)) if X is None else X
        data_y = (data_X[:, 0] > 0).astype(int) if y is None else y
        return getattr(Estimator(**params), method)(data_X, data_y, **fit_kwargs)

    return call


def _estimator_cases():
    from sk_gradopt import (GradientClassifier, GradientMLPClassifier,
                            GradientMLPRegressor, GradientRegressor)

    X = np.random.default_rng(1).standard_normal((30, 3))
    y = X @ np.array([1.0, 2.0, 3.0])
    cases = []
    for Estimator in (GradientRegressor, GradientClassifier, GradientMLPRegressor,
                      GradientMLPClassifier):
        name = Estimator.__name__
        target = y if "Regressor" in name else None
        for optimizer in ("newton", "Adam", "", "LBFGS"):
            cases.append((f"{name}-optimizer-{optimizer or 'empty'}",
                          fit(Estimator, X, target, optimizer=optimizer), ValueError,
                          "'optimizer' parameter of"))
        for value in (0, -1.0, float("nan"), "fast"):
            cases.append((f"{name}-learning-rate-{value}",
                          fit(Estimator, X, target, learning_rate=value), ValueError,
                          "'learning_rate' parameter of"))
        for bad in (np.nan, np.inf):
            Xbad = X.copy()
            Xbad[3, 1] = bad
            cases.append((f"{name}-X-{bad}", fit(Estimator, Xbad, target), ValueError,
                          "Input X contains"))
        if "Regressor" in name:
            for scale in (1e160, 1e300):
                cases.append((f"{name}-huge-targets-{scale:g}",
                              fit(Estimator, X, y * scale), ValueError,
                              "not finite"))
        else:
            for weights in ({0: np.nan, 1: 1.0}, {0: -2.0}, {1: np.inf}):
                cases.append((f"{name}-class-weight-{list(weights.values())[0]}",
                              fit(Estimator, X, None, class_weight=weights), ValueError,
                              "class_weight must give every class a finite"))
            cases.append((f"{name}-partial-fit-without-classes",
                          fit(Estimator, X, None, method="partial_fit"), ValueError,
                          "classes must be passed on the first call"))
        # labels and values of NumPy types: the message shows plain values
        # (NumPy 2 writes np.int64(7), np.str_('a'))
        if "Classifier" in name:
            for label, shown in ((np.int64(7), "7"), (np.str_("a"), "'a'"),
                                 (np.float32(3.0), "3.0"), (np.bool_(True), "True")):
                cases.append((f"{name}-single-class-{shown}",
                              fit(Estimator, X, np.full(30, label)), ValueError,
                              f"got 1 class: {shown}. {name} needs samples of at least 2"))
        if "MLP" in name:
            for sizes in ((0,), (8, -2), "8,x", (2.5,), (), (True,), True, (np.True_,),
                          (np.float64(3.0),), (16, False)):
                cases.append((f"{name}-hidden-{sizes}",
                              fit(Estimator, X, target, hidden_layer_sizes=sizes),
                              (ValueError, TypeError), "hidden_layer_sizes"))
            cases.append((f"{name}-activation-softplus",
                          fit(Estimator, X, target, activation="softplus"), ValueError,
                          "'activation' parameter of"))
        else:
            for bad in (np.nan, np.inf):
                cases.append((f"{name}-coef-init-{bad}",
                              fit(Estimator, X, target, fit_coef_init=np.array([1.0, bad, 0.0])
                                  if "Regressor" in name else np.array([[1.0, bad, 0.0]])),
                              ValueError, "coef_init"))
    return cases


for case_id, call, error, fragment in _estimator_cases():
    CASES.append(Case(f"estimator-{case_id}", call, error, fragment))


#: What NumPy 2 writes for its scalars and arrays: np.float64(1.0), np.str_('a'),
#: np.True_, array([1, 2]).
NUMPY_REPR = re.compile(r"\bnp\.(?:float|u?int|complex|str_|bytes_|bool|datetime|timedelta)"
                        r"\w*\(|\bnp\.(?:True_|False_)\b|\barray\(")


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(case, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    if isinstance(case.error, int):
        code = case.call(tmp_path)
        out, err = capsys.readouterr()
        assert code == case.error, err
        assert out == ""
        assert "Traceback" not in err
        errors = [line for line in err.splitlines() if "error:" in line]
        if case.fragment.startswith("usage"):
            assert case.fragment in err
        else:
            assert len(errors) == 1, err
            assert case.fragment in errors[0], errors[0]
    else:
        with pytest.raises(case.error) as info:
            case.call(tmp_path)
        assert case.fragment in str(info.value)
        err = str(info.value)
    # values as the user wrote them, not NumPy's reprs (np.float64(1.0), np.str_('a'))
    assert not NUMPY_REPR.search(err), err


def test_the_table_has_a_case_per_family():
    families = {case.id.split("-")[0] for case in CASES}
    assert families == {"csv", "overflow", "arg", "space", "estimator"}
    assert len({case.id for case in CASES}) == len(CASES)  # ids are unique
