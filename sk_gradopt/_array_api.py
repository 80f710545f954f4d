"""The array-namespace helpers the estimators use, in one place.

The estimators are written once against the Python array API: NumPy, CuPy
and ``array_api_strict`` arrays all go through the same code. The helpers
come from scikit-learn (``sklearn.utils._array_api``) so that namespace and
device handling matches sklearn's own array-API estimators exactly.
"""

import numpy as np
from array_api_compat import array_namespace
from sklearn.utils._array_api import (
    _convert_to_numpy,
    check_same_namespace,
    get_namespace_and_device,
    move_to,
)

__all__ = [
    "check_same_namespace",
    "get_namespace_and_device",
    "move_to",
    "to_numpy",
]


def to_numpy(array):
    """A NumPy copy (or view) of ``array`` on the CPU, from any namespace."""
    if array is None or isinstance(array, np.ndarray):
        return array
    try:
        xp = array_namespace(array)
    except TypeError:  # a list, or another array-like without a namespace
        return np.asarray(array)
    return _convert_to_numpy(array, xp)
