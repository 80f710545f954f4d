"""Full-batch L-BFGS through ``scipy.optimize``: the second-order comparator.

``optimizer="lbfgs"`` minimises the same objective as the gradient
optimizers,

    sum_i s_i * loss(y_i, raw_i) / sum_i s_i + alpha * R(coef)

(``s`` the sample weights, ``R`` the smooth l2 penalty), with
``scipy.optimize.minimize(method="L-BFGS-B", jac=True)`` as
``MLPRegressor(solver="lbfgs")`` does: the parameters packed into one flat
float64 vector (every ``coef``, then every intercept, in layer order, as
scikit-learn packs them), ``maxiter=max_iter``, ``maxfun=max_fun`` and
``gtol=tol``, and ``ftol`` as ``LogisticRegression`` passes it
(:data:`FTOL`). The objective and its gradient come from the model's own
``loss_and_grad`` and the penalty (:mod:`._models`, :mod:`._penalties`):
the training loop's objective, evaluated on the full batch.

It runs in float64 on the host: data of another namespace (CuPy, the array
API) or dtype are copied to a float64 NumPy array first, and the result goes
back to the namespace, device and dtype of the data. Mini-batches, the
learning rate and its schedule, warmup, clipping, decoupled weight decay and
the validation split do not apply (the estimator documents which it
ignores); the non-smooth l1 penalty and ``partial_fit`` are refused by the
estimator.

:func:`lbfgs_train` takes and returns a :class:`~sk_gradopt._training.Progress`,
as :func:`~sk_gradopt._training.train` does, so that the estimator sets its
fitted attributes the same way.
"""

import math
import time
import warnings
from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np
import scipy
import scipy.optimize
from array_api_compat import is_dask_array
from sklearn.exceptions import ConvergenceWarning

from ._array_api import array_device, issparse, namespace, to_numpy
from ._epoch import Data
from ._models import dtype_name
from ._training import _check_finite_start
from ._tree import Layer

__all__ = ["SECOND_ORDER", "lbfgs_train"]

#: The optimizer names that are not first-order update rules: the estimators
#: accept them beside ``OPTIMIZERS`` and fit them with :func:`lbfgs_train`.
SECOND_ORDER = ("lbfgs",)

#: scipy's relative-reduction test: stop once an iteration lowers the
#: objective by less than this fraction. scikit-learn's ``LogisticRegression``
#: and GLMs pass this value (scipy's default, 2.2e-9, stops far from the
#: optimum of a flat objective), so that ``tol`` (``gtol``) decides.
FTOL = 64 * np.finfo(np.float64).eps

#: scipy >= 1.15 ignores ``iprint`` (and 1.16 warns about it): where it works
#: it prints scipy's own report with ``verbose``, as scikit-learn's MLP does.
_SCIPY_TAKES_IPRINT = tuple(int(part) for part in scipy.__version__.split(".")[:2]) < (1, 15)


class Layout(NamedTuple):
    """Where each leaf of a parameter tree lies in one flat vector.

    The ``coef`` of every layer comes first, then every intercept (as
    scikit-learn's MLP packs ``coefs_ + intercepts_``); a layer without an
    intercept (``fit_intercept=False``) has none in the vector.
    """

    coef_shapes: tuple
    intercept_sizes: tuple  # an int per layer, or None where it has no intercept

    @classmethod
    def of(cls, params):
        return cls(
            tuple(tuple(layer.coef.shape) for layer in params),
            tuple(None if layer.intercept is None else int(layer.intercept.shape[0])
                  for layer in params),
        )

    def pack(self, tree):
        """The leaves of ``tree`` (NumPy arrays) as one float64 vector."""
        leaves = [layer.coef for layer in tree]
        leaves += [layer.intercept for layer in tree if layer.intercept is not None]
        return np.concatenate([np.ravel(np.asarray(leaf, dtype=np.float64)) for leaf in leaves])

    def unpack(self, flat):
        """The tree of ``flat`` (views of it): a tuple of Layer."""
        coefs, start = [], 0
        for shape in self.coef_shapes:
            stop = start + shape[0] * shape[1]
            coefs.append(flat[start:stop].reshape(shape))
            start = stop
        intercepts = []
        for size in self.intercept_sizes:
            if size is None:
                intercepts.append(None)
                continue
            intercepts.append(flat[start:start + size])
            start += size
        return tuple(Layer(c, b) for c, b in zip(coefs, intercepts))


def host_float64(data):
    """``data`` as float64 NumPy arrays (a sparse ``X`` stays a CSR matrix)."""
    arrays = [data.X if issparse(data.X) else to_numpy(data.X),
              *(to_numpy(a) for a in data[1:3])]
    X, Y, sw = (None if a is None else a.astype(np.float64, copy=False) for a in arrays)
    return Data(X, Y, sw, data.weight_sum)


class Objective:
    """The training objective and its gradient as a function of the flat vector.

    It counts its calls, remembers the last point it was called at (an
    L-BFGS iterate is where its line search ended, so the callback finds its
    value there) and the best finite point seen.
    """

    def __init__(self, config, data, layout, check_input=None):
        self.config, self.data, self.layout = config, data, layout
        self.check_input = check_input
        self.n_calls = 0
        self.last_x, self.last_value, self.last_norm = None, math.nan, math.nan
        self.best_x, self.best_value = None, math.inf

    def __call__(self, flat):
        params = self.layout.unpack(flat)
        config, data = self.config, self.data
        with np.errstate(all="ignore"):
            losses, grads = config.model.loss_and_grad(
                params, data.X, data.Y, data.sample_weight, config.loss_fn,
                1.0 / data.weight_sum,
            )
            grads = config.penalty.add_gradient(grads, params)
            value = float(np.sum(losses)) / data.weight_sum + config.penalty.value(params)
        gradient = self.layout.pack(grads)
        self._remember(flat, value, gradient)
        if not math.isfinite(value):
            value = math.inf  # (a NaN would end the line search in scipy's own error)
        return value, gradient

    def _remember(self, flat, value, gradient):
        finite = math.isfinite(value) and bool(np.all(np.isfinite(gradient)))
        if not finite and self.check_input is not None:
            self.check_input()  # NaN or infinity in X shows here first
        if self.n_calls == 0:
            _check_finite_start(self.data, value)
        self.n_calls += 1
        self.last_x, self.last_value = flat.copy(), value
        self.last_norm = float(np.linalg.norm(gradient))
        if finite and value < self.best_value:
            self.best_x, self.best_value = self.last_x, value

    def value_at(self, flat):
        """The objective at ``flat``: remembered if it was the last point evaluated.

        An evaluation made here is not one of L-BFGS's: it is not counted.
        """
        return self.at(flat)[0]

    def at(self, flat):
        """``(objective, gradient norm)`` at ``flat``, as :meth:`value_at`."""
        if self.last_x is None or not np.array_equal(flat, self.last_x):
            n_calls = self.n_calls
            self(flat)
            self.n_calls = n_calls
        return self.last_value, self.last_norm


class _Stop(Exception):
    """A callback asked the run to stop at ``flat``."""

    def __init__(self, flat):
        super().__init__()
        self.flat = flat


class Iterations:
    """scipy's callback: records the objective of each iterate, reports, may stop.

    Each iteration is one task (``"epoch"``) of scikit-learn's callbacks: it
    begins with the iteration's first evaluation (:meth:`evaluate`, the
    function scipy calls) and ends at its iterate, so that a callback times
    the iteration's work.
    """

    def __init__(self, objective, config, callbacks):
        self.objective, self.config, self.callbacks = objective, config, callbacks
        self.curve, self.norms = [], []  # the objective and gradient norm of each iterate
        self.start_time = time.perf_counter()
        self.context = None  # the callbacks' task of the iteration under way

    def evaluate(self, flat):
        """The objective and its gradient at ``flat`` (the function scipy minimises)."""
        if self.callbacks is not None and self.context is None:
            self.context = self.callbacks.begin_epoch()
        return self.objective(flat)

    def __call__(self, flat):
        value, norm = self.objective.at(flat)
        if math.isfinite(value) and math.isfinite(norm):
            self.curve.append(value)
            self.norms.append(norm)
        if self.config.verbose:
            print(f"Iteration {len(self.curve)}, loss = {value:.8f}, "
                  f"time = {time.perf_counter() - self.start_time:.3f}s")
            self.start_time = time.perf_counter()
        if self.callbacks is not None:
            context, self.context = self.context or self.callbacks.begin_epoch(), None
            if self.callbacks.end(context, self.objective.layout.unpack(flat.copy())):
                raise _Stop(flat.copy())


class Outcome(NamedTuple):
    """What the L-BFGS run ended with."""

    flat: Any  # the final float64 vector
    n_iter: int
    status: int  # scipy's: 0 converged, 1 maxiter or maxfun, 2 other; -1 a callback stopped
    message: str


def lbfgs_train(data, progress, config, *, max_fun, callbacks=None, check_input=None):
    """Minimise the training objective from ``progress.params`` with L-BFGS-B.

    Parameters
    ----------
    data : Data
        The training data (in-memory, any namespace; copied to float64 NumPy).
    progress : Progress
        Where to start; not modified.
    config : Config
        The model, loss and (smooth) penalty; ``max_iter``, ``tol`` and
        ``verbose``. ``tol=None`` is ``gtol=0``: only ``max_iter``,
        ``max_fun`` and scipy's relative reduction of the objective
        (``ftol``) stop the run, and reaching ``max_iter`` does not warn.
    max_fun : int
        The most evaluations of the objective and its gradient.
    callbacks : Callbacks or None
        Told about each iteration; a callback can stop the run.
    check_input : callable or None
        Raises if the input holds NaN or infinity: called on a non-finite
        value only.

    Returns
    -------
    Progress
        ``n_iter``: L-BFGS iterations (scipy's ``nit``); ``t``: evaluations
        of the objective and gradient, added to ``progress.t``;
        ``loss_curve``: the objective at each iterate (at the start, when
        no iteration was made); ``grad_norm_curve``: the norm of the
        gradient there; ``learning_rate_curve``: NaN, one per iterate (L-BFGS
        has no learning rate).
    """
    progress = progress.copy()
    if data.weight_sum == 0:
        return progress
    layout = Layout.of(progress.params)
    if is_dask_array(data.X):  # each evaluation an all-reduce over the blocks (see _dask)
        from . import _dask

        config = replace(config, model=config.model._replace(loss_and_grad=_dask._AllReduced(
            _dask.Blocks.of(data), config.model.loss_and_grad)))
    else:
        data = host_float64(data)
    objective = Objective(config, data, layout, check_input)
    iterations = Iterations(objective, config, callbacks)
    outcome = _minimize(iterations, layout.pack(_on_host(progress.params)), config, max_fun)
    flat = _finite_result(objective, outcome, config)
    if not iterations.curve:  # no iteration: the start
        value, norm = objective.at(flat)
        if math.isfinite(value) and math.isfinite(norm):
            iterations.curve.append(value)
            iterations.norms.append(norm)
    progress.params = _like(layout.unpack(flat), progress.params)
    progress.n_iter += outcome.n_iter
    progress.t += objective.n_calls
    progress.loss_curve.extend(iterations.curve)
    progress.grad_norm_curve.extend(iterations.norms)
    # (no learning rate: the line search chooses each step; NaN keeps the curves aligned)
    progress.learning_rate_curve.extend([math.nan] * len(iterations.curve))
    progress.best_loss = min([progress.best_loss, *iterations.curve])
    return progress


def _minimize(iterations, x0, config, max_fun):
    """Run ``scipy.optimize.minimize``; the :class:`Outcome`."""
    options = {"maxfun": max_fun, "maxiter": config.max_iter,
               "gtol": 0.0 if config.tol is None else config.tol, "ftol": FTOL}
    if _SCIPY_TAKES_IPRINT:
        options["iprint"] = 1 if config.verbose else -1
    try:
        result = scipy.optimize.minimize(iterations.evaluate, x0, method="L-BFGS-B",
                                         jac=True, callback=iterations, options=options)
    except _Stop as stop:
        return Outcome(stop.flat, len(iterations.curve), -1, "stopped by a callback")
    message = result.message if isinstance(result.message, str) else str(result.message)
    return Outcome(result.x, min(int(result.nit), config.max_iter), int(result.status),
                   message)


def _finite_result(objective, outcome, config):
    """The final vector: the result, or the best finite point seen where it is not finite.

    Warns (``ConvergenceWarning``) where L-BFGS did not converge: at
    ``max_iter`` or ``max_fun`` (unless ``tol`` is None), or when its line
    search failed.
    """
    value = objective.value_at(outcome.flat)
    finite = math.isfinite(value) and bool(np.all(np.isfinite(outcome.flat)))
    if not finite and objective.best_x is not None:
        warnings.warn(
            f"L-BFGS (optimizer='lbfgs') reached non-finite values ({value}); the best "
            f"finite weights seen (objective {objective.best_value:.4g}) were kept. "
            "Scale the features (StandardScaler) and the targets.",
            ConvergenceWarning,
        )
        return objective.best_x
    if outcome.status > 0 and not (outcome.status == 1 and config.tol is None):
        advice = (
            f"Increase max_iter (max_iter={config.max_iter}) or max_fun, or scale the "
            "features (StandardScaler)." if outcome.status == 1 else
            "Its line search found no lower objective: scale the features "
            "(StandardScaler) and the targets, or loosen tol."
        )
        warnings.warn(
            f"L-BFGS (optimizer='lbfgs') failed to converge after {outcome.n_iter} "
            f"iteration(s) (status={outcome.status}): {outcome.message.strip()} {advice}",
            ConvergenceWarning,
        )
    return outcome.flat


def _on_host(params):
    """``params`` as NumPy arrays (a copy from another namespace)."""
    return tuple(Layer(to_numpy(layer.coef), to_numpy(layer.intercept)) for layer in params)


def _like(params, reference):
    """The float64 NumPy ``params`` in the namespace, device and dtype of ``reference``."""
    xp = namespace(reference[0].coef)
    device = array_device(reference[0].coef)

    def convert(array, like):
        if array is None:
            return None
        host = np.array(array, dtype=dtype_name(like.dtype))  # a copy, not a view of the vector
        return host if isinstance(like, np.ndarray) else xp.asarray(host, device=device)

    return tuple(Layer(convert(layer.coef, ref.coef), convert(layer.intercept, ref.intercept))
                 for layer, ref in zip(params, reference))
