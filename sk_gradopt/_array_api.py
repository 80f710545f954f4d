"""The array-namespace helpers the estimators use, in one place.

The estimators are written once against the Python array API: NumPy, CuPy
and ``array_api_strict`` arrays all go through the same code. The helpers
come from scikit-learn (``sklearn.utils._array_api``) so that namespace and
device handling matches sklearn's own array-API estimators exactly.
"""

import os
import sys
from contextlib import contextmanager

import numpy as np
from array_api_compat import array_namespace, is_array_api_obj, is_cupy_array, is_torch_array
from array_api_compat import device as _array_device
from scipy.sparse import issparse
from sklearn import config_context, get_config
from sklearn.utils._array_api import (
    _convert_to_numpy,
    check_same_namespace,
    get_namespace_and_device,
    move_to,
)

__all__ = [
    "check_same_namespace",
    "convert_arrays",
    "detached",
    "dispatch_for",
    "follow",
    "get_namespace_and_device",
    "import_cupy",
    "is_cupy_array",
    "is_dask_collection",
    "issparse",
    "largest_abs",
    "move_to",
    "namespace",
    "array_device",
    "off_host",
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


_NAMESPACES = {}


def namespace(array):
    """``array_namespace(array)``, remembered per array type.

    The training loop needs the namespace at every batch, and
    ``array_namespace`` takes over a microsecond to find it; the namespace
    depends on nothing but the type of the array. A ``scipy.sparse`` matrix
    or array is in NumPy's namespace: its products with dense arrays
    (``X @ W``, ``X.T @ G``) are NumPy arrays.
    """
    xp = _NAMESPACES.get(type(array))
    if xp is None:
        probe = np.empty(0) if issparse(array) else array
        xp = _NAMESPACES[type(array)] = array_namespace(probe)
    return xp


def array_device(array):
    """The device of ``array`` (``"cpu"`` for a ``scipy.sparse`` matrix)."""
    return "cpu" if issparse(array) else _array_device(array)


def largest_abs(X):
    """``max(|X|)`` as a float, without densifying a ``scipy.sparse`` ``X``."""
    if issparse(X):
        return float(abs(X).max()) if X.nnz else 0.0
    xp = namespace(X)
    return float(xp.max(xp.abs(X)))


def is_dask_collection(value):
    """Whether ``value`` is a Dask collection (array, DataFrame...); never imports Dask.

    Such input is trained on and predicted blockwise (see :mod:`._dask`),
    before anything would turn it into one array on the client.
    """
    dask = sys.modules.get("dask")
    return dask is not None and dask.is_dask_collection(value)


def import_cupy():
    """CuPy, or an ImportError that says what to install when it can't run."""
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() < 1:
            raise RuntimeError("CuPy found no CUDA device")
    except Exception as exc:
        raise ImportError(
            "backend='cupy' needs CuPy and an NVIDIA GPU with CUDA: install the "
            "CuPy build for your CUDA version: pip install 'sk-gradopt[cupy]' for "
            "CUDA 12 (cupy-cuda12x), 'sk-gradopt[cupy-cuda13]' for CUDA 13 "
            f"(cupy-cuda13x); or use backend='numpy'. ({type(exc).__name__}: {exc})"
        ) from exc
    return cupy


@contextmanager
def dispatch_for(*arrays):
    """Turn sklearn's array API dispatch on while CuPy arrays are involved.

    CuPy users should not need to know about
    ``sklearn.set_config(array_api_dispatch=True)``: without it sklearn's
    validation would try ``numpy.asarray`` on device memory and fail.
    sklearn refuses to turn dispatch on unless ``SCIPY_ARRAY_API=1``, because
    SciPy functions called on device arrays need it; the estimators' own code
    calls no SciPy function on them. The variable is set (once, for the
    process: removing it again would race with fits in other threads) when
    CuPy input is first seen.
    """
    if get_config()["array_api_dispatch"] or not any(map(is_cupy_array, arrays)):
        yield
        return
    os.environ["SCIPY_ARRAY_API"] = "1"
    with config_context(array_api_dispatch=True):
        yield


def follow(X, *arrays):
    """Move numeric ``arrays`` to the namespace and device of ``X``.

    Arrays of labels that are not numbers (strings, objects) stay where they are.
    """
    xp, _, device = get_namespace_and_device(X)
    return tuple(
        move_to(a, xp=xp, device=device) if _is_numeric_array(a) else a for a in arrays
    )


def _is_numeric_array(array):
    try:
        xp = array_namespace(array)
        return xp.isdtype(array.dtype, ("bool", "integral", "real floating"))
    except (TypeError, ValueError):  # not an array, or not a numeric dtype
        return False


def convert_arrays(value, convert):
    """Apply ``convert`` to an array, or to every array of a tree, tuple or list.

    Arrays are recognised by ``array_api_compat`` (NumPy, CuPy, torch, any
    array-API namespace); other leaves (counters, None) are kept.
    """
    if isinstance(value, (tuple, list)):
        converted = [convert_arrays(item, convert) for item in value]
        if hasattr(value, "_fields"):
            return type(value)(*converted)
        return type(value)(converted)
    if is_array_api_obj(value):
        return convert(value)
    return value


def off_host(array):
    """Whether ``array`` is an array of another namespace than NumPy (CuPy, torch...)."""
    return is_array_api_obj(array) and not isinstance(array, (np.ndarray, np.generic))


def detached(array):
    """``array`` without autograd history: a torch tensor that requires grad is detached.

    Training and predicting on such a tensor would otherwise record every
    operation in torch's autograd graph (memory that grows with the epochs)
    and hand back fitted arrays that carry a ``grad_fn``.
    """
    if is_torch_array(array) and array.requires_grad:
        return array.detach()
    return array
