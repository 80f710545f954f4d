"""The folds of ``sk-gradopt tune``: checked before the search, failures summed up after.

On a small table some folds cannot be fitted or scored: a classifier
cannot learn from a training fold that holds one class (a class with fewer
training rows than folds is missing from some of them), and R^2 is not
defined on a test fold of one row. scikit-learn would fit anyway and print a
``FitFailedWarning`` (a traceback of some forty lines) or a warning per fit;
:func:`check_folds` refuses such folds before the search, in one line that
names the cause and the fix. :func:`fit_failures` sums up the fits that
still fail, one line per distinct error.
"""

import re
import sys
import warnings

import numpy as np
from sklearn.exceptions import FitFailedWarning

from .common import CLIError

#: scikit-learn's ``StratifiedKFold`` warning about a rare class: replaced by
#: :func:`check_class_folds`' own note.
RARE_CLASS_WARNING = "The least populated class in y has only"


def _labels(classes):
    return ", ".join(repr(str(c)) for c in classes)


def _give(rows, more):
    """The fix: "Give --cv 3 or fewer or {more}", folds of at most ``rows`` rows.

    Without "--cv" when ``rows`` < 2: every number of folds (two or more)
    leaves a fold without that row.
    """
    if rows < 2:
        return f"Give {more}"
    return f"Give --cv 2 or {more}" if rows == 2 else f"Give --cv {rows} or fewer, or {more}"


def _rows(count):
    return f"{count} training row{'s' if count != 1 else ''}"


def check_folds(cv, X, y, task):
    """Refuse folds that cannot be fitted or scored, before the search runs.

    A regression's test folds need two rows each (R^2 is not defined on
    one); a classifier's training folds need two classes
    (:func:`check_class_folds`).

    Raises
    ------
    CLIError
        Naming the fold, the cause and the fix.
    """
    if task == "classification":
        check_class_folds(cv, X, y)
        return
    try:
        smallest = min(test.size for _, test in cv.split(X, y))
    except ValueError:  # KFold: more folds than rows
        smallest = 0
    if smallest < 2:
        n_splits, n_rows = cv.get_n_splits(X, y), X.shape[0]
        raise CLIError(
            f"--cv {n_splits}: the {n_rows} training rows make test folds of "
            f"{smallest} row{'s' if smallest != 1 else ''}, and R^2 needs two rows to score. "
            f"{_give(n_rows // 2, 'more rows')}."
        )


def check_class_folds(cv, X, y):
    """Refuse folds whose training part holds a single class; note rare classes.

    Parameters
    ----------
    cv : cross-validation splitter
        The search's (``StratifiedKFold`` for a classifier).
    X, y : ndarray
        The training part of the data.

    Raises
    ------
    CLIError
        If the training part of some fold holds a single class: the message
        names the classes that it lacks, their row counts and the fix.
    """
    classes, counts = np.unique(y, return_counts=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", RARE_CLASS_WARNING, UserWarning)
        try:
            folds = [train for train, _ in cv.split(X, y)]
        except ValueError:  # StratifiedKFold: more folds than rows of any class
            n_splits, largest = cv.get_n_splits(X, y), int(counts.max())
            raise CLIError(
                f"--cv {n_splits}: every class has fewer training rows than the "
                f"{n_splits} (stratified) folds; the largest, "
                f"{_labels([classes[counts.argmax()]])}, has {largest}. "
                f"{_give(largest, 'more rows')}."
            ) from None
    n_rows = dict(zip(classes, counts))
    lacking = {}  # class -> the folds whose training part lacks it
    for i, train in enumerate(folds):
        present = np.unique(y[train])
        absent = np.setdiff1d(classes, present)
        if present.size < 2:
            rarest = int(min(n_rows[c] for c in absent))
            which = "that class" if absent.size == 1 else "those classes"
            raise CLIError(
                f"--cv {len(folds)}: the training part of fold {i + 1} holds only class "
                f"{_labels(present)}, and a classifier needs two classes: "
                + "; ".join(f"class {_labels([c])} has {_rows(int(n_rows[c]))}" for c in absent)
                + f", fewer than the {len(folds)} (stratified) folds, so some folds train "
                f"without it. {_give(rarest, f'more rows of {which}')} (or drop the "
                "rows of a class too rare to learn)."
            )
        for c in absent:
            lacking.setdefault(c, []).append(i + 1)
    for c, where in sorted(lacking.items()):
        print(
            f"note: class {_labels([c])} has {_rows(int(n_rows[c]))}: the training part "
            f"of fold{'s' if len(where) > 1 else ''} "
            f"{', '.join(map(str, where))} lacks it, so the model fitted there never "
            f"predicts it. {_give(int(n_rows[c]), 'more rows of that class')}.",
            file=sys.stderr,
        )


def _errors(message):
    """``[(count, last line of the error)]`` of a ``FitFailedWarning`` message.

    scikit-learn lists each distinct error as "N fits failed with the
    following error:" and its traceback, whose last line names the error.
    """
    errors = []
    for block in re.split(r"\n-{20,}\n", message)[1:]:
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        head = re.match(r"(\d+) fits? failed with the following error", lines[0] if lines else "")
        if head and len(lines) > 1:
            errors.append((int(head.group(1)), lines[-1]))
    return errors


def fit_failures(caught):
    """One line per distinct error of the ``FitFailedWarning``\\ s in ``caught``.

    Parameters
    ----------
    caught : list of warnings.WarningMessage
        What ``warnings.catch_warnings(record=True)`` recorded around the search.

    Returns
    -------
    lines : list of str
        Such as ``"5 fits: ValueError: ..."``; empty when no fit failed.
    """
    lines = []
    for record in caught:
        if issubclass(record.category, FitFailedWarning):
            errors = _errors(str(record.message))
            if not errors:  # a format of scikit-learn's that this does not know
                errors = [(None, str(record.message).strip().splitlines()[0])]
            lines += [f"{n} fit{'s' if n != 1 else ''}: {text}" if n else text
                      for n, text in errors]
    return lines
