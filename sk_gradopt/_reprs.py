"""Values as messages show them: NumPy scalars and arrays as plain Python values.

``repr(np.float64(1.0))`` is ``np.float64(1.0)`` since NumPy 2, and a tuple
or list shows its items by their repr: an error message that quotes a
user's ``(np.float64(2.0), np.float64(1.0))`` or a label ``np.str_('a')``
reads better as ``(2.0, 1.0)`` and ``'a'``.
"""

import reprlib

import numpy as np


def plain(value):
    """``value`` with NumPy scalars as Python scalars and arrays as lists, nested.

    Lists, tuples and dicts are converted item by item; anything else is
    returned as it is.

    Examples
    --------
    >>> plain((np.float64(2.0), [np.int64(3)], np.str_("a")))
    (2.0, [3], 'a')
    """
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if type(value) in (list, tuple):
        return type(value)(plain(item) for item in value)
    if type(value) is dict:
        return {plain(key): plain(item) for key, item in value.items()}
    return value


def plain_repr(value, *, short=False):
    """The repr of :func:`plain` ``(value)``; ``short``: abbreviated by :mod:`reprlib`.

    Examples
    --------
    >>> plain_repr([np.float64(0.5), np.True_])
    '[0.5, True]'
    >>> plain_repr(list(range(100)), short=True)
    '[0, 1, 2, 3, 4, 5, ...]'
    """
    return (reprlib.repr if short else repr)(plain(value))
