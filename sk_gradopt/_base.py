"""The training loop shared by :class:`GradientRegressor` and :class:`GradientClassifier`.

The model is linear: ``raw = X @ coef + intercept``. Internally the
parameters are one array ``W`` of shape ``(n_features + 1, n_outputs)``: the
coefficients with the intercept as the last row, so that every optimizer
updates one array. The objective is

    sum_i s_i * loss(y_i, raw_i) / sum_i s_i + alpha * R(coef)

(``s`` the sample weights, ``R`` the penalty of :mod:`._penalties`; the
intercept is not penalised). A mini-batch ``B`` estimates its gradient as
``sum_{i in B} s_i * grad_i / (|B| * mean(s))``, which is unbiased and exact
for a full batch.
"""

import copy
import math
import time
import warnings
from numbers import Integral, Real
from typing import Any, NamedTuple

import numpy as np
from array_api_compat import array_namespace
from array_api_compat import device as array_device
from sklearn.base import BaseEstimator

try:  # scikit-learn >= 1.9: progress bars and other callbacks through set_callbacks
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # older scikit-learn: the estimators work, without set_callbacks

    class CallbackSupportMixin:
        """Stand-in for sklearn's mixin where ``sklearn.callback`` doesn't exist."""

from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from ._array_api import (
    check_same_namespace,
    convert_arrays,
    dispatch_for,
    get_namespace_and_device,
    import_cupy,
    is_cupy_array,
    move_to,
    to_numpy,
)
from ._optimizers import OPTIMIZERS, make_optimizer, namespace
from ._penalties import Penalty
from ._schedules import SCHEDULES, scheduled_learning_rate

#: A fit whose training objective ends above this multiple of where it
#: started (or overflows) is treated as diverged.
DIVERGENCE_FACTOR = 10.0

#: ``schedule="adaptive"`` stops once the learning rate falls below this.
MIN_ADAPTIVE_LEARNING_RATE = 1e-6

#: Shuffled mini-batches are gathered about this many bytes of rows at a time
#: (whole batches): few enough calls, and a buffer that stays in the cache.
GATHER_BYTES = 2**21


class _Data(NamedTuple):
    """Validated training or validation data in the input's namespace."""

    X: Any
    Y: Any  # (n_samples, n_outputs), the dtype of X
    sample_weight: Any  # (n_samples,) or None for unit weights
    weight_sum: float

    @property
    def n_samples(self):
        return self.X.shape[0]


def _take(data, rows, with_weight_sum=False, out=None):
    """The rows ``rows`` (an index array) of ``data``.

    ``weight_sum`` is computed only when asked: it is a device-to-host read.
    ``out``, the result of an earlier call with at least as many rows, is
    overwritten with the result where the arrays are NumPy's (see
    :func:`_take_rows`).
    """
    xp = array_namespace(data.X)
    buffers = (None, None, None) if out is None else out[:3]
    X, Y, sw = (_take_rows(xp, a, rows, b) for a, b in zip(data[:3], buffers))
    weight_sum = None
    if with_weight_sum:
        weight_sum = rows.shape[0] if sw is None else float(xp.sum(sw))
    return _Data(X, Y, sw, weight_sum)


def _take_rows(xp, array, rows, out=None):
    """``xp.take(array, rows, axis=0)``, written into ``out`` for NumPy arrays.

    ``out`` (NumPy only; ignored otherwise) has at least ``len(rows)`` rows;
    the result is its first ``len(rows)`` rows. ``mode="clip"`` skips the
    index check (``rows`` are valid), which with ``out`` would go through a
    temporary copy.
    """
    if array is None:
        return None
    if isinstance(out, np.ndarray) and isinstance(array, np.ndarray):
        return np.take(array, rows, axis=0, out=out[: rows.shape[0]], mode="clip")
    return xp.take(array, rows, axis=0)


def _slices(data, batch_size, starts=None):
    """Batches of ``batch_size`` rows of ``data`` (views), from each of ``starts``.

    ``starts`` defaults to consecutive batches, in order.
    """
    sw = data.sample_weight
    if starts is None:
        starts = range(0, data.n_samples, batch_size)
    for start in starts:
        stop = min(start + batch_size, data.n_samples)  # no out-of-bounds slices
        yield _Data(data.X[start:stop, ...], data.Y[start:stop, ...],
                    None if sw is None else sw[start:stop], None)


def _raw_prediction(X, W):
    raw = X @ W[:-1, :]
    raw += W[-1:, :]  # in place: one array of n values fewer
    return raw


class BaseGradientEstimator(CallbackSupportMixin, BaseEstimator):
    """Parameters, validation and the training loop of both estimators.

    Subclasses implement ``_encode_targets``, ``_loss_function``,
    ``_n_outputs`` and the layout of ``coef_``/``intercept_``
    (``_set_coef``, ``_coef_as_params``).
    """

    _parameter_constraints: dict = {
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "schedule": [StrOptions(set(SCHEDULES))],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "nesterov": ["boolean"],
        "rho": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "eps": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "fit_intercept": ["boolean"],
        "shuffle": ["boolean", StrOptions({"blocks"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "backend": [StrOptions({"auto", "numpy", "cupy"})],
    }

    # Keyword arguments of ``validate_data`` for ``y``; set by subclasses.
    _y_validation: dict = {}
    # Whether ``y`` moves to the device of ``X`` (class labels stay on the host).
    _y_on_device: bool = True

    def __init__(
        self,
        loss,
        *,
        optimizer,
        learning_rate,
        schedule,
        power_t,
        momentum,
        nesterov,
        rho,
        beta_1,
        beta_2,
        eps,
        batch_size,
        max_iter,
        tol,
        n_iter_no_change,
        early_stopping,
        validation_fraction,
        penalty,
        alpha,
        l1_ratio,
        fit_intercept,
        shuffle,
        random_state,
        verbose,
        warm_start,
        backend,
    ):
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.schedule = schedule
        self.power_t = power_t
        self.momentum = momentum
        self.nesterov = nesterov
        self.rho = rho
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.eps = eps
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.shuffle = shuffle
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.backend = backend

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.array_api_support = True
        return tags

    # ------------------------------------------------------------------ fit

    def _fit(self, X, y, sample_weight=None, coef_init=None, intercept_init=None,
             *, partial=False, classes=None):
        """Fit where ``backend`` says: where the input lives, on the CPU, or on the GPU."""
        arrays = (X, y, sample_weight, coef_init, intercept_init, classes)
        if self.backend == "numpy":
            arrays = self._host_if_needed(*arrays)
        elif self.backend == "cupy":
            # Train on the GPU, hand back NumPy: fitted state goes up and comes back.
            cupy = import_cupy()
            X, sample_weight, coef_init, intercept_init = (
                None if a is None else cupy.asarray(a if is_cupy_array(a) else np.asarray(a))
                for a in (X, sample_weight, coef_init, intercept_init)
            )
            arrays = (X, y, sample_weight, coef_init, intercept_init, classes)
            self._convert_fitted(cupy.asarray)
            try:
                return self._fit_where(*arrays, partial=partial)
            finally:
                self._convert_fitted(to_numpy)
        return self._fit_where(*arrays, partial=partial)

    def _fit_where(self, X, y, sample_weight, coef_init, intercept_init, classes, *, partial):
        with dispatch_for(X):
            return self._fit_in_namespace(
                X, y, sample_weight, coef_init, intercept_init,
                partial=partial, classes=classes,
            )

    def _host_if_needed(self, *arrays):
        """With ``backend`` "numpy" or "cupy" the fitted arrays are NumPy: so are the inputs."""
        if self.backend == "auto":
            return arrays
        return tuple(to_numpy(a) if is_cupy_array(a) else a for a in arrays)

    def _convert_fitted(self, convert):
        """Apply ``convert`` to the fitted arrays: coefficients and optimizer state."""
        for name in ("coef_", "intercept_", "_opt_state"):
            if hasattr(self, name):
                setattr(self, name, convert_arrays(getattr(self, name), convert))

    def to_numpy(self):
        """A copy of this fitted estimator whose arrays are NumPy arrays.

        Use it to deploy a model fitted on the GPU (CuPy) to a machine without
        CuPy or a GPU: the copy predicts on NumPy input, pickles and loads
        without CuPy, and ``partial_fit`` continues from the same optimizer
        state. Dtypes are kept (float32 stays float32).

        Returns
        -------
        estimator : same type as self
            A fitted copy; ``self`` is left unchanged.
        """
        check_is_fitted(self)
        return self.__sklearn_array_api_convert__(to_numpy)

    def __sklearn_array_api_convert__(self, converter):
        """A copy with every fitted array converted, the optimizer state included.

        The hook of ``sklearn.utils._array_api.move_estimator_to``, which
        would otherwise leave the arrays of the optimizer state behind.
        """
        estimator = copy.deepcopy(self)
        estimator._convert_fitted(converter)
        return estimator

    def _fit_in_namespace(self, X, y, sample_weight, coef_init, intercept_init,
                          *, partial, classes):
        """Validate, then run ``max_iter`` epochs (fit) or one epoch (partial_fit)."""
        first_call = not (partial and hasattr(self, "_opt_state"))
        xp, _, device = get_namespace_and_device(X)
        sample_weight, coef_init, intercept_init = move_to(
            sample_weight, coef_init, intercept_init, xp=xp, device=device
        )
        if self._y_on_device:
            y = move_to(y, xp=xp, device=device)
        X, y = validate_data(
            self, X, y, dtype=[xp.float64, xp.float32], reset=first_call,
            **self._y_validation,
        )
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=X.dtype, ensure_non_negative=True
            )
        Y, sample_weight, stratify = self._encode_targets(
            X, y, sample_weight, first_call=first_call, partial=partial, classes=classes
        )
        weight_sum = X.shape[0] if sample_weight is None else float(xp.sum(sample_weight))
        data = _Data(X, Y, sample_weight, weight_sum)

        if first_call:
            self._rng = check_random_state(self.random_state)
        validation = None
        if self.early_stopping and not partial:
            data, validation = self._split(data, stratify, self._rng, xp, device)

        if first_call:
            W, zero_init = self._initial_params(
                X, Y.shape[1], coef_init, intercept_init, xp, device
            )
            self._opt_state = self._make_optimizer().init(W)
            self.t_ = 0
            self.n_iter_ = 0
            self.loss_curve_ = []
            self.validation_loss_curve_ = [] if validation is not None else None
            self.best_loss_ = math.inf
        else:
            W, zero_init = self._coef_as_params(xp), False

        n_epochs = 1 if partial else self.max_iter
        callbacks = _Callbacks.begin(self, n_epochs, X, y, sample_weight)
        W = self._train(
            data, validation, W, zero_init=zero_init, first_call=first_call,
            n_epochs=n_epochs, stopping=not partial, callbacks=callbacks,
        )
        self._set_coef(W)
        if callbacks is not None:
            callbacks.end(self, callbacks.context, W)
        return self

    def _set_coef(self, W):
        for name, value in self._coef_attributes(W).items():
            setattr(self, name, value)

    def _make_optimizer(self):
        # Python floats: NumPy scalars (from RandomizedSearchCV, say) would
        # turn float32 arithmetic into float64.
        return make_optimizer(
            self.optimizer, momentum=float(self.momentum), nesterov=self.nesterov,
            rho=float(self.rho), beta_1=float(self.beta_1), beta_2=float(self.beta_2),
            eps=float(self.eps),
        )

    def _split(self, data, stratify, rng, xp, device):
        """Hold out ``validation_fraction`` of the rows (stratified for classifiers)."""
        train, val = train_test_split(
            np.arange(data.n_samples), test_size=self.validation_fraction,
            random_state=rng, stratify=stratify,
        )
        train, val = (xp.asarray(rows, device=device) for rows in (train, val))
        train, val = _take(data, train, True), _take(data, val, True)
        if not (train.weight_sum > 0 and val.weight_sum > 0):
            raise ValueError(
                "early_stopping: the training or the validation part of the data "
                f"(validation_fraction={self.validation_fraction}) has only samples of "
                "zero weight. Give more samples non-zero weight, or change "
                "validation_fraction or random_state."
            )
        return train, val

    def _initial_params(self, X, n_outputs, coef_init, intercept_init, xp, device):
        """``W`` from ``coef_init``/``intercept_init``, ``warm_start`` or zeros."""
        n_features = X.shape[1]
        if coef_init is None and self.warm_start and hasattr(self, "coef_"):
            W = self._coef_as_params(xp)
            if W.shape == (n_features + 1, n_outputs):
                if not self.fit_intercept:
                    W = xp.concat([W[:-1, :], xp.zeros_like(W[-1:, :])])
                return xp.astype(W, X.dtype), False
        W = xp.zeros((n_features + 1, n_outputs), dtype=X.dtype, device=device)
        zero_init = True
        if coef_init is not None:
            coef_init = xp.asarray(coef_init, dtype=X.dtype, device=device)
            shapes = [(n_outputs, n_features)] + [(n_features,)] * (n_outputs == 1)
            if tuple(coef_init.shape) not in shapes:
                raise ValueError(
                    f"coef_init has shape {tuple(coef_init.shape)}; expected "
                    f"{' or '.join(map(str, shapes))} (n_outputs, n_features)."
                )
            coef = xp.reshape(coef_init, (n_outputs, n_features)).T
            W = xp.concat([coef, W[-1:, :]])
            zero_init = False
        if intercept_init is not None and self.fit_intercept:
            intercept = xp.asarray(intercept_init, dtype=X.dtype, device=device)
            if intercept.size not in (1, n_outputs):
                raise ValueError(
                    f"intercept_init has shape {tuple(intercept.shape)}; expected "
                    f"{n_outputs} values."
                )
            intercept = xp.broadcast_to(xp.reshape(intercept, (1, -1)), (1, n_outputs))
            W = xp.concat([W[:-1, :], intercept])
            zero_init = False
        return W, zero_init

    def _batch_size(self, n_samples):
        if self.optimizer == "gd":
            return n_samples
        if self.batch_size == "auto":
            return min(200, n_samples)
        return min(self.batch_size, n_samples)

    def _batches(self, data, batch_size, xp, device):
        """Yield the mini-batches of one epoch.

        With ``shuffle=True``, batch ``k`` is the rows ``order[k * batch_size:
        (k + 1) * batch_size]`` of a permutation ``order`` drawn for the epoch.
        The rows of several batches are gathered at once (about
        ``GATHER_BYTES``), into the same buffers all epoch long: a batch is
        only valid until the next one is drawn. ``shuffle="blocks"`` yields the
        blocks of ``batch_size`` consecutive rows in a random order (views, no
        gather); ``shuffle=False``, in order.
        """
        n = data.n_samples
        if batch_size >= n:
            yield data
            return
        if self.shuffle == "blocks":
            starts = self._rng.permutation(np.arange(0, n, batch_size)).tolist()
            yield from _slices(data, batch_size, starts)
            return
        if not self.shuffle:
            yield from _slices(data, batch_size)
            return
        order = xp.asarray(self._rng.permutation(n), device=device)
        row_bytes = data.X.shape[1] * xp.finfo(data.X.dtype).bits // 8
        step = batch_size * max(1, GATHER_BYTES // (batch_size * row_bytes))
        gathered = None
        for start in range(0, n, step):
            gathered = _take(data, order[start:min(start + step, n)], out=gathered)
            yield from _slices(gathered, batch_size)

    def _objective(self, data, W, loss_fn, penalty):
        """Training objective (or, with ``penalty=None``, the mean loss) at ``W``.

        ``W=None`` is the zero model: no pass over ``X``.
        """
        xp = array_namespace(data.X)
        if W is None:
            raw = xp.zeros(data.Y.shape, dtype=data.X.dtype, device=array_device(data.X))
        else:
            raw = _raw_prediction(data.X, W)
        with np.errstate(all="ignore"):
            loss, _ = loss_fn(data.Y, raw)
            if data.sample_weight is not None:
                loss = loss * data.sample_weight
            value = float(xp.sum(loss)) / data.weight_sum
        return value if penalty is None or W is None else value + penalty.value(W[:-1, :])

    def _train(self, data, validation, W, *, zero_init, first_call, n_epochs, stopping,
               callbacks=None):
        """Run up to ``n_epochs`` epochs from ``W``; return the weights to keep."""
        xp, _, device = get_namespace_and_device(data.X)
        optimizer = self._make_optimizer()
        loss_fn = self._loss_function()
        penalty = Penalty.from_params(self.penalty, float(self.alpha), float(self.l1_ratio))
        batch_size = self._batch_size(data.n_samples)
        mean_weight = data.weight_sum / data.n_samples
        base_lr = float(self.learning_rate)  # a NumPy scalar would upcast float32
        opt_state = self._opt_state

        # Divergence is judged against the zero model on this call's data (no
        # pass over X), or against where the fit started when that is worse.
        reference = self._objective(data, None, loss_fn, penalty)
        start_loss = math.inf  # a later partial_fit call doesn't measure its start
        if first_call:
            start_loss = reference if zero_init else self._objective(data, W, loss_fn, penalty)
            reference = max(reference, start_loss)
        # The best finite weights seen, kept for divergence.
        safe_loss, safe_W = start_loss, W
        best_val_W = None
        no_improvement = 0
        diverged = converged = False

        with np.errstate(all="ignore"):
            for _ in range(n_epochs):
                start_time = time.perf_counter()
                epoch_start_W = W
                epoch_ctx = None if callbacks is None else callbacks.begin_epoch(self)
                batch_losses = []  # summed every 64 batches, not every batch
                for batch in self._batches(data, batch_size, xp, device):
                    lr = scheduled_learning_rate(
                        self.schedule, base_lr, step=self.t_, epoch=self.n_iter_,
                        max_iter=self.max_iter, power_t=float(self.power_t),
                    )
                    W, opt_state, batch_loss = _gradient_step(
                        W, opt_state, batch, loss_fn=loss_fn, optimizer=optimizer,
                        penalty=penalty, learning_rate=lr, mean_weight=mean_weight,
                        fit_intercept=self.fit_intercept,
                    )
                    batch_losses.append(batch_loss)
                    if len(batch_losses) == 64:
                        batch_losses = [_sum_of(xp, batch_losses)]
                    self.t_ += 1
                self.n_iter_ += 1
                total = _sum_of(xp, batch_losses)[0]
                del batch_losses, batch_loss  # (n values, for a full batch)
                loss = float(total) / data.weight_sum + penalty.value(epoch_start_W[:-1, :])
                stop_requested = epoch_ctx is not None and callbacks.end(self, epoch_ctx, W)

                if not _is_finite(loss, W) or loss > DIVERGENCE_FACTOR * reference:
                    diverged = loss
                    if math.isfinite(loss):
                        self.loss_curve_.append(loss)
                    break
                self.loss_curve_.append(loss)
                if loss < safe_loss:
                    safe_loss, safe_W = loss, epoch_start_W

                monitored = loss
                if validation is not None:
                    monitored = self._objective(validation, W, loss_fn, None)
                    self.validation_loss_curve_.append(monitored)
                if self.verbose:
                    extra = "" if validation is None else f", validation loss = {monitored:.8f}"
                    print(
                        f"Epoch {self.n_iter_}, loss = {loss:.8f}{extra}, "
                        f"learning_rate = {lr:.4g}, "
                        f"time = {time.perf_counter() - start_time:.3f}s"
                    )
                if stopping and self.tol is not None:
                    if monitored > self.best_loss_ - self.tol:
                        no_improvement += 1
                    else:
                        no_improvement = 0
                if monitored < self.best_loss_:
                    self.best_loss_ = monitored
                    best_val_W = W
                if stop_requested:  # a callback asked to stop
                    converged = True
                    break
                if no_improvement >= self.n_iter_no_change:
                    if self.schedule == "adaptive" and base_lr > MIN_ADAPTIVE_LEARNING_RATE:
                        base_lr /= 5.0
                        no_improvement = 0
                    else:
                        converged = True
                        break

        self._opt_state = opt_state
        if validation is not None and best_val_W is not None:
            W = best_val_W
        if not diverged:
            final = self._objective(data, W, loss_fn, penalty)
            if not math.isfinite(final) or final > DIVERGENCE_FACTOR * reference:
                diverged = final
            elif converged and validation is None and safe_W is not W:
                # The rule can stop an oscillating fit on an overshoot: keep the
                # best weights seen when they are better, both measured exactly.
                if self._objective(data, safe_W, loss_fn, penalty) < final:
                    W = safe_W
        if diverged is not False:
            self._warn_diverged(reference, diverged, safe_loss)
            self._opt_state = optimizer.init(safe_W)  # the moments saw the blow-up
            return safe_W
        if stopping and not converged and self.tol is not None:
            warnings.warn(
                f"Maximum number of epochs (max_iter={self.max_iter}) reached and "
                f"the optimization with optimizer={self.optimizer!r} and "
                f"learning_rate={self.learning_rate} hasn't converged yet. "
                "Increase max_iter, or tune learning_rate.",
                ConvergenceWarning,
            )
        return W

    def _warn_diverged(self, start, end, kept):
        warnings.warn(
            f"The fit diverged with optimizer={self.optimizer!r} and "
            f"learning_rate={self.learning_rate}: the training objective went "
            f"from {start:.4g} to {end:.4g} at epoch {self.n_iter_}. The best "
            f"finite weights seen (objective {kept:.4g}) were kept. Lower "
            "learning_rate.",
            ConvergenceWarning,
        )
        if self.best_loss_ == math.inf:
            self.best_loss_ = kept

    # -------------------------------------------------------------- predict

    def _decision(self, X, method):
        """``X @ coef_.T + intercept_`` as an ``(n_samples, n_outputs)`` array."""
        check_is_fitted(self)
        (X,) = self._host_if_needed(X)
        with dispatch_for(X, self.coef_):
            check_same_namespace(X, self, attribute="coef_", method=method)
            xp, _, _ = get_namespace_and_device(X)
            X = validate_data(self, X, dtype=[xp.float64, xp.float32], reset=False)
            return _raw_prediction(X, xp.astype(self._coef_as_params(xp), X.dtype))



class _Callbacks(NamedTuple):
    """sklearn's callback hooks (``sklearn.callback``): one task per epoch."""

    context: Any
    X: Any
    y: Any
    metadata: Any

    @classmethod
    def begin(cls, estimator, n_epochs, X, y, sample_weight):
        """Open the fit task, or return None where sklearn has no callback API."""
        if not hasattr(estimator, "_init_callback_context"):
            return None
        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        context = estimator._init_callback_context(max_subtasks=n_epochs)
        context.call_on_fit_task_begin(estimator=estimator, X=X, y=y, metadata=metadata)
        return cls(context, X, y, metadata)

    def begin_epoch(self, estimator):
        context = self.context.subcontext(task_name="epoch")
        context.call_on_fit_task_begin(
            estimator=estimator, X=self.X, y=self.y, metadata=self.metadata
        )
        return context

    def end(self, estimator, context, W):
        """End a task; return whether a callback asked to stop."""
        return context.call_on_fit_task_end(
            estimator=estimator, X=self.X, y=self.y, metadata=self.metadata,
            reconstruction_attributes=lambda: estimator._coef_attributes(W),
        )


def _sum_of(xp, arrays):
    """The sum of the values of a list of 1-D arrays, as a 1-element array."""
    values = arrays[0] if len(arrays) == 1 else xp.concat(arrays)
    return xp.reshape(xp.sum(values), (1,))


def _is_finite(loss, W):
    xp = array_namespace(W)
    return math.isfinite(loss) and bool(xp.all(xp.isfinite(W)))


def _gradient_step(W, opt_state, batch, *, loss_fn, optimizer, penalty,
                   learning_rate, mean_weight, fit_intercept):
    """One optimizer step on one batch.

    Returns ``(W, state, loss)``: the new weights and optimizer state, and
    the per-sample losses of the batch (times the sample weights) at the
    weights before the step.
    """
    xp = namespace(W)
    X = batch.X
    loss, dz = loss_fn(batch.Y, _raw_prediction(X, W))
    if batch.sample_weight is not None:
        loss = loss * batch.sample_weight
        dz = dz * batch.sample_weight[:, None]
    if fit_intercept:
        grad_intercept = xp.sum(dz, axis=0, keepdims=True)
    else:
        grad_intercept = xp.zeros_like(W[-1:, :])
    grads = xp.concat([X.T @ dz, grad_intercept])
    grads *= 1.0 / (X.shape[0] * mean_weight)
    if penalty.l2:
        grads[:-1, :] += penalty.l2 * W[:-1, :]
    direction, opt_state = optimizer.update(grads, opt_state)
    W = W - learning_rate * direction
    if penalty.l1:
        W = xp.concat([penalty.prox(W[:-1, :], learning_rate), W[-1:, :]])
    return W, opt_state, loss
