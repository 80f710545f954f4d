"""The data of a run: built-in datasets, CSV files, the task, the split.

A CSV file is read by pandas (``pip install 'sk-gradopt[csv]'``), every cell
as text, so that a bad cell is reported with its line and column rather than
silently turned into NaN or into a column of text labels.
"""

import csv
import io
import math
import os
import re
import sys

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import type_of_target

from .._reprs import plain_repr
from .common import CLIError, optional_import

DATASETS = ("diabetes", "breast_cancer", "digits", "wine", "iris", "synthetic")
TASKS = ("regression", "classification")

#: The task of each built-in dataset (``synthetic`` makes either; regression
#: unless ``--task classification``).
DATASET_TASKS = {
    "diabetes": "regression",
    "breast_cancer": "classification",
    "digits": "classification",
    "wine": "classification",
    "iris": "classification",
    "synthetic": "regression",
}

#: A numeric target with at most this many distinct integer values is taken
#: as class labels when ``--task`` is not given.
MAX_INFERRED_CLASSES = 20

#: Cells that mean "no value": pandas' default ``na_values`` of ``read_csv``
#: and the ``?`` and ``-`` that many exported tables use.
MISSING_VALUES = frozenset({
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
    "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
    "?", "-",
})


class Data:
    """A standard-scaled (or raw) train/test split and what it came from."""

    def __init__(self, *, name, task, X_train, X_test, y_train, y_test,
                 n_features, scaled_X, scaled_y):
        self.name = name
        self.task = task
        self.X_train, self.X_test = X_train, X_test
        self.y_train, self.y_test = y_train, y_test
        self.n_features = n_features
        self.scaled_X = scaled_X
        self.scaled_y = scaled_y

    def describe(self):
        """One line: dataset, task, sizes and the scaling applied."""
        scaling = []
        if self.scaled_X:
            scaling.append("features standard-scaled")
        if self.scaled_y:
            scaling.append("target standardized")
        text = (
            f"{self.name} ({self.task}): {self.X_train.shape[0]} train / "
            f"{self.X_test.shape[0]} test samples, {self.n_features} features"
        )
        if self.task == "classification":
            text += f", {np.unique(self.y_train).size} classes"
        return text + (", " + ", ".join(scaling) if scaling else "")

    def metadata(self):
        """The description as a JSON-ready dict."""
        return {
            "dataset": self.name,
            "task": self.task,
            "n_train": int(self.X_train.shape[0]),
            "n_test": int(self.X_test.shape[0]),
            "n_features": int(self.n_features),
            "features_scaled": self.scaled_X,
            "target_standardized": self.scaled_y,
        }


# ------------------------------------------------------------ built-in


def load_builtin(name, task, seed):
    """``(X, y, task)`` of a built-in dataset (no download)."""
    from sklearn import datasets

    own_task = DATASET_TASKS[name]
    if name == "synthetic":
        task = task or own_task
        if task == "regression":
            X, y = datasets.make_regression(
                n_samples=1000, n_features=20, n_informative=10, noise=20.0,
                random_state=seed,
            )
        else:
            X, y = datasets.make_classification(
                n_samples=1000, n_features=20, n_informative=10, random_state=seed,
            )
        return X, y, task
    if task is not None and task != own_task:
        raise CLIError(
            f"--dataset {name} is a {own_task} dataset; --task {task} does not "
            f"apply to it. Omit --task, or use --dataset synthetic --task {task}."
        )
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return X, y, own_task


# ----------------------------------------------------------------- CSV


def _read_text(path):
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return handle.read()
    except IsADirectoryError:
        raise CLIError(f"--csv {path} is a directory; pass a CSV file.") from None
    except FileNotFoundError:
        raise CLIError(f"--csv {path}: no such file.") from None
    except UnicodeDecodeError:
        raise CLIError(f"--csv {path} is not a UTF-8 text file.") from None
    except OSError as exc:
        raise CLIError(f"--csv {path} cannot be read: {exc.strerror}.") from None


def _cells(path, text):
    """Every cell of ``text`` as stripped text, and the line of each row.

    Returns
    -------
    header : list of str
    body : pandas.DataFrame of str
        The data rows, blank rows dropped; its index is the line number.
    """
    pd = optional_import("pandas", needed_by=f"--csv {path}", extra="csv")
    lines = text.splitlines()
    leading_blank = next(i for i, line in enumerate(lines) if line.strip())
    delimiter = _delimiter(text[:65536], lines[leading_blank])
    try:
        # header=None: the header is row 0, and a row longer than it is an
        # error; the python engine pads a shorter row with NaN (the C engine
        # with "", like an empty cell), so that it can be reported
        table = pd.read_csv(
            io.StringIO(text), sep=delimiter, header=None, dtype=str, na_filter=False,
            skip_blank_lines=False, skiprows=leading_blank, index_col=False,
            engine="python",
        )
    except pd.errors.ParserError as exc:
        found = _parser_error_fields(str(exc))
        if found is None:
            raise CLIError(f"--csv {path} is not a readable CSV file: {exc}.") from None
        line, fields, expected = found  # pandas counts the skipped lines too
        raise CLIError(
            f"--csv {path}, line {line}: {fields} fields where the header has {expected}."
        ) from None
    table.index = table.index + leading_blank + 1  # the line of each row
    # a short row is padded with NaN (the only NaN, as na_filter=False)
    padded = table.isna()
    text_cells = table.fillna("").apply(lambda column: column.str.strip())
    body = text_cells.iloc[1:]
    blank = (body == "").all(axis=1)
    short = padded.iloc[1:][~blank].any(axis=1)
    if short.any():
        line = short.idxmax()
        raise CLIError(
            f"--csv {path}, line {line}: {int((~padded.loc[line]).sum())} fields "
            f"where the header has {table.shape[1]}."
        )
    return list(text_cells.iloc[0]), body[~blank]


def _delimiter(sample, header):
    """``,``, ``;`` or tab: what ``csv.Sniffer`` finds in ``sample``, else in the header.

    The sniffer needs the rows to agree; when one is short or long, the
    header alone still tells the delimiter (and the bad row is reported).
    """
    for text in (sample, header):
        try:
            return csv.Sniffer().sniff(text, delimiters=",;\t").delimiter
        except csv.Error:
            pass
    return ","


def _parser_error_fields(message):
    """``(line, fields, expected)`` from pandas' "Expected 3 fields in line 5, saw 4"."""
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if match is None:
        return None
    expected, line, fields = map(int, match.groups())
    return line, fields, expected


def _numbers(cells):
    """Text cells (a DataFrame, or 1-D) as float64: NaN where not a number.

    ``pandas.to_numeric`` reads each cell; ``inf`` and overflowing numbers
    such as ``1e400`` become ``inf``.
    """
    import pandas as pd

    if isinstance(cells, pd.DataFrame):
        return cells.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    return pd.to_numeric(pd.Series(cells), errors="coerce").to_numpy(dtype=float)


def _feature_error(path, line, column, cell, value):
    """The message for the bad feature cell ``cell`` (parsed as ``value``)."""
    where = f"--csv {path}, line {line}: column {column!r}"
    if cell in MISSING_VALUES:
        what = "a missing value" if cell == "" else f"a missing value ({cell!r})"
        return f"{where} has {what}. Fill it in or drop the row."
    if math.isnan(value):
        return (f"{where} holds {cell!r}, which is not a number. Feature columns "
                "must be numeric: encode or drop that column.")
    return (f"{where} holds {cell!r}, which is not a finite float64 number; "
            "features must be finite numbers.")


def _target(path, target, cells):
    """The target column: float when it is numeric, else its text labels.

    A column is numeric when every cell is a number or a missing value
    (:data:`MISSING_VALUES`); then a missing or non-finite cell is an error
    that names its line, instead of making the whole column text labels.
    Any other text makes the column class labels, as it is.
    """
    values = _numbers(cells)
    missing = cells.isin(MISSING_VALUES).to_numpy()
    is_text = np.isnan(values) & ~missing
    if not is_text.any():  # numbers, and maybe missing or non-finite cells
        bad = ~np.isfinite(values)
        if bad.any():
            i = int(bad.argmax())
            line, cell = cells.index[i], cells.iloc[i]
            if cell == "":
                what = "is empty"
            elif missing[i]:
                what = f"holds {cell!r}, a missing value"
            else:
                what = f"holds {cell!r}, which is not a finite number"
            raise CLIError(
                f"--csv {path}, line {line}: the target column {target!r} {what}; "
                "the column is otherwise numeric, so it is read as a numeric "
                "target, which needs a finite number in every row. Fill in or drop "
                "the rows without a target."
            )
        return values
    empty = (cells == "").to_numpy()
    if empty.any():
        raise CLIError(
            f"--csv {path}, line {cells.index[empty.argmax()]}: the target column "
            f"{target!r} is empty. Fill in or drop the rows without a target."
        )
    if missing.any():
        first = missing.argmax()
        print(
            f"note: the target column {target!r} holds class labels; its cells that "
            f"look like missing values ({int(missing.sum())}, the first "
            f"{cells.iloc[first]!r} at line {cells.index[first]}) are taken as a "
            "class of their own. Drop those rows if their target is missing.",
            file=sys.stderr,
        )
    return cells.to_numpy(dtype=str)


def _check_unique(path, header, target):
    """Refuse a header that names two columns alike.

    Two columns named as ``--target`` would make the second one a feature
    that holds the target (a perfect, leaked score); two feature columns
    named alike make every message and result that names a column
    ambiguous. (The header is read as text, so pandas does not rename a
    duplicate ``"y"`` to ``"y.1"``.)
    """
    seen = {}
    for j, name in enumerate(header, start=1):
        seen.setdefault(name, []).append(j)
    repeated = {name: where for name, where in seen.items() if len(where) > 1}
    if not repeated:
        return
    name = target if target in repeated else next(iter(repeated))
    where = repeated[name]
    columns = ", ".join(map(str, where[:-1])) + f" and {where[-1]}"
    if name == target:
        others = ", ".join(map(str, where[1:]))
        why = (f"the --target would be read from column {where[0]}, and column"
               f"{'s' if len(where) > 2 else ''} {others} would be a feature holding "
               "the target (a leaked, perfect score)")
    else:
        why = "the features must be told apart by their names"
    raise CLIError(
        f"--csv {path}: the header names {len(where)} columns {name!r} (columns "
        f"{columns}, counted from 1); {why}. Rename or drop the duplicate column."
    )


def read_csv(path, target):
    """Features and target column of a CSV table with a header row.

    Every feature column must be numeric; the target may hold class labels
    (any text) or numbers. The delimiter is detected among ``,``, ``;`` and
    tab. Blank rows are skipped. Errors name the line and the column.

    Parameters
    ----------
    path : str
        The CSV file.
    target : str
        The name of the target column.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        float when the column is numeric, else the labels as str.
    feature_names : list of str

    Raises
    ------
    CLIError
        If the file cannot be read, two columns have the same name, a row
        has the wrong number of fields, a feature cell is not a finite
        number, or a numeric target has a missing or non-finite cell.
    """
    text = _read_text(path)
    if not text.strip():
        raise CLIError(
            f"--csv {path} is empty: expected a header row of column names "
            "and at least one row of data."
        )
    header, body = _cells(path, text)
    _check_unique(path, header, target)
    if target not in header:
        raise CLIError(
            f"--target {target!r} is not a column of {path}; its columns are "
            f"{', '.join(repr(h) for h in header)}."
        )
    if body.empty:
        raise CLIError(f"--csv {path} has a header but no data rows.")
    if len(header) < 2:
        raise CLIError(
            f"--csv {path} has only the target column {target!r}: there is no "
            "feature to learn from."
        )
    t = header.index(target)
    features = [j for j in range(len(header)) if j != t]
    X = _numbers(body.iloc[:, features])
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = np.argwhere(bad)[0]  # the first bad cell, in reading order
        raise CLIError(_feature_error(path, body.index[row], header[features[col]],
                                      body.iat[row, features[col]], X[row, col]))
    y = _target(path, target, body.iloc[:, t])
    return X, y, [header[j] for j in features]


def _continuous(y):
    """Whether scikit-learn's ``type_of_target`` finds non-integer values in ``y``."""
    with np.errstate(invalid="ignore"):  # it casts to int, which huge values overflow
        return type_of_target(y) == "continuous"


def infer_task(y):
    """``"classification"`` for labels or a few integer values, else regression.

    Text labels are classes; numbers are classes when there are at most
    :data:`MAX_INFERRED_CLASSES` distinct integer values (scikit-learn's
    ``type_of_target`` says ``"binary"`` or ``"multiclass"``).
    """
    if y.dtype.kind not in "iuf":
        return "classification"
    with np.errstate(invalid="ignore"):  # it casts to int, which huge values overflow
        kind = type_of_target(y)
    if kind == "binary" or (kind == "multiclass" and np.unique(y).size <= MAX_INFERRED_CLASSES):
        return "classification"
    return "regression"


def check_task(y, task, source):
    """The task for ``y``: inferred when None, else checked against ``y``."""
    if task is None:
        return infer_task(y)
    if task == "regression" and y.dtype.kind not in "iuf":
        example = y[np.isnan(_numbers(y)).argmax()]  # a label that is not a number
        raise CLIError(
            f"--task regression needs a numeric target, but {source} holds "
            f"{str(example)!r}. Use --task classification, or a numeric target."
        )
    if task == "classification" and y.dtype.kind in "f" and _continuous(y):
        example = float(next((v for v in y if v != int(v)), y[0]))
        raise CLIError(
            f"--task classification needs class labels, but {source} holds "
            f"continuous values such as {example:g}. Use --task regression."
        )
    return task


def _check_scalable(name, X, columns, fix):
    """Fail clearly where standardizing ``X`` overflows float64.

    ``StandardScaler`` squares the values: from about 1e154 the variance is
    inf or NaN, and the "scaled" column keeps values such as 1e300 or turns
    into NaN, which the estimators would report as "Input X contains NaN".
    """
    with np.errstate(over="ignore", invalid="ignore"):
        scaler = StandardScaler().fit(X)
        scaled = scaler.transform(X)
    # an inf variance gets scale_ = 1 (the column stays at 1e300), a NaN one NaN
    bad = ~(np.isfinite(scaler.var_) & np.isfinite(scaler.mean_)
            & np.isfinite(scaled).all(axis=0))
    if bad.any():
        j = int(bad.argmax())
        largest = float(np.max(np.abs(X[:, j])))
        raise CLIError(
            f"{name}: {columns[j]} holds values up to {largest:.3g} in absolute "
            "value, too large to standardize: its variance overflows float64 "
            f"(largest float about 1.8e308). {fix}"
        )


def load_data(args, *, scale_X=True):
    """The train/test split that ``args`` asks for.

    Features are standard-scaled with the training part's statistics when
    ``scale_X`` (``tune`` scales inside its pipeline instead); a regression
    target is always standardized, which leaves R^2 unchanged and lets the
    same learning rates serve every dataset.
    """
    if args.csv is not None:
        X, y, names = read_csv(args.csv, args.target)
        task = check_task(y, args.task, f"column {args.target!r}")
        name = os.path.basename(args.csv)
        columns = [f"column {n!r}" for n in names]
        target = f"the target column {args.target!r}"
    else:
        X, y, task = load_builtin(args.dataset, args.task, args.seed)
        name = args.dataset
        columns = [f"feature {j}" for j in range(X.shape[1])]
        target = "the target"
    n_test = math.ceil(args.test_size * X.shape[0])
    if X.shape[0] - n_test < 2 or n_test < 1:
        raise CLIError(
            f"{name} has {X.shape[0]} rows: too few for a train/test split with "
            f"--test-size {args.test_size}. Give at least 4 rows."
        )
    stratify = y if task == "classification" else None
    try:
        split = train_test_split(X, y, test_size=args.test_size,
                                 random_state=args.seed, stratify=stratify)
    except ValueError:  # a class with one member cannot be stratified
        split = train_test_split(X, y, test_size=args.test_size, random_state=args.seed)
    X_train, X_test, y_train, y_test = split
    if task == "classification" and np.unique(y_train).size < 2:
        raise CLIError(
            f"the training part of {name} has a single class, "
            f"{plain_repr(np.unique(y_train)[0])}: classification needs at least two."
        )
    _check_scalable(name, X, columns, "Rescale that column (divide it by a power "
                    "of ten) or drop it.")
    if scale_X:
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    if task == "regression":
        _check_scalable(name, y.reshape(-1, 1), [target],
                        "Rescale it (divide it by a power of ten).")
        scaler = StandardScaler().fit(y_train.reshape(-1, 1))
        y_train = scaler.transform(y_train.reshape(-1, 1)).ravel()
        y_test = scaler.transform(y_test.reshape(-1, 1)).ravel()
    return Data(name=name, task=task, X_train=X_train, X_test=X_test,
                y_train=y_train, y_test=y_test, n_features=X.shape[1],
                scaled_X=scale_X, scaled_y=task == "regression")
