"""What every estimator shares: parameters, backend rules, validation, the call into the loop.

The estimator classes hold the scikit-learn API only. ``fit`` and
``partial_fit`` validate the input, encode the targets, build the
:class:`~sk_gradopt._epoch.Config` of the loop from the parameters, and
hand over to :func:`~sk_gradopt._training.train`; the fitted attributes are
set from the :class:`~sk_gradopt._training.Progress` it returns, at the end,
so that a failed call leaves the estimator as it was.

Subclasses provide the model (``_make_model``, ``_initial_params``, the layout
of the fitted parameters in ``_params_attributes`` / ``_params_from_attributes``,
and ``_inverse_lipschitz`` for ``learning_rate="auto"`` where the model has a
bound) and the targets (``_encode_targets``, ``_loss_function``).
"""

import copy
import math
from functools import partial as partial_function
from numbers import Integral, Real
from typing import Any, NamedTuple

import numpy as np
from sklearn import get_config
from sklearn.base import BaseEstimator

try:  # scikit-learn >= 1.9: progress bars and other callbacks through set_callbacks
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # older scikit-learn: the estimators work, without set_callbacks

    class CallbackSupportMixin:
        """Stand-in for sklearn's mixin where ``sklearn.callback`` doesn't exist."""

from sklearn.metrics import check_scoring
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_feature_names,
    _check_sample_weight,
    _check_y,
    check_array,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from ._array_api import (
    check_same_namespace,
    convert_arrays,
    detached,
    dispatch_for,
    follow,
    get_namespace_and_device,
    import_cupy,
    is_cupy_array,
    is_dask_collection,
    issparse,
    move_to,
    off_host,
    to_numpy,
)
from ._lbfgs import SECOND_ORDER, lbfgs_train
from ._tasks import has_partial_fit
from ._optimizers import OPTIMIZERS, SPECS, make_optimizer
from ._penalties import Penalty
from .schedules import SCHEDULES, Schedule
from ._epoch import Config, Data, take, weight_sum
from ._training import Callbacks, Progress, train
from ._tree import tree_map


class BaseGradientEstimator(CallbackSupportMixin, BaseEstimator):
    """Parameters, validation and the call into the training loop, for every estimator."""

    _parameter_constraints: dict = {
        "optimizer": [StrOptions(set(OPTIMIZERS) | set(SECOND_ORDER))],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "schedule": [StrOptions(set(SCHEDULES)), Schedule, callable],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "warmup_steps": [Interval(Integral, 0, None, closed="left")],
        "max_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "nesterov": ["boolean"],
        "rho": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "eps": [Interval(Real, 0, None, closed="neither")],
        "amsgrad": ["boolean"],
        "momentum_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "shuffle": ["boolean", StrOptions({"blocks"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "backend": [StrOptions({"auto", "numpy", "cupy"})],
        "average": ["boolean", Interval(Real, 0, 1, closed="neither")],
        "scoring": [str, callable, None],
    }

    # Keyword arguments of ``validate_data`` for ``y``; set by subclasses.
    _y_validation: dict = {}
    # Whether ``y`` moves to the device of ``X`` (class labels stay on the host).
    _y_on_device: bool = True
    # The fitted attributes that hold arrays (moved by ``to_numpy``), with ``_opt_state``.
    _array_attributes: tuple = ()

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
        shuffle,
        random_state,
        verbose,
        warm_start,
        backend,
        warmup_steps=0,
        max_grad_norm=None,
        weight_decay=0.0,
        average=False,
        scoring=None,
        amsgrad=False,
        momentum_decay=4e-3,
        max_fun=15000,
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
        self.shuffle = shuffle
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.backend = backend
        self.warmup_steps = warmup_steps
        self.max_grad_norm = max_grad_norm
        self.weight_decay = weight_decay
        self.average = average
        self.scoring = scoring
        self.amsgrad = amsgrad
        self.momentum_decay = momentum_decay
        self.max_fun = max_fun

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.array_api_support = True
        tags.input_tags.sparse = True
        return tags

    # ------------------------------------------------------------------ fit

    def _fit(self, X, y, sample_weight=None, init=None, *, partial=False, classes=None,
             compiled=True, validation=None):
        """Fit where ``backend`` says: where the input lives, on the CPU, or on the GPU.

        ``init`` is a tuple of the model's initial arrays (``coef_init``,
        ``intercept_init`` for the linear models), or None. ``compiled=False``
        runs the reference epoch instead of the compiled one (see
        :func:`~sk_gradopt._epoch.epoch_runner`): the tests compare them.
        ``validation`` is ``(X_val, y_val, sample_weight_val)`` of ``fit``, or
        None; they follow ``X`` where it trains (see ``_validation_data``).
        """
        init = () if init is None else tuple(init)
        X, y, sample_weight, *init = map(detached, (X, y, sample_weight, *init))
        if validation is not None:
            validation = None if all(a is None for a in validation) else tuple(
                map(detached, validation))
        # A call that fails (bad input found late, an interrupted fit) leaves
        # the estimator as it was, whatever the input: validation sets
        # attributes (n_features_in_, classes_...) before training, so every
        # attribute is restored.
        before = dict(self.__dict__)
        try:
            return self._fit_placed(X, y, sample_weight, init, partial, classes, compiled,
                                    validation)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _fit_placed(self, X, y, sample_weight, init, partial, classes, compiled, validation):
        """:meth:`_fit` with the inputs placed where ``backend`` says."""
        fit = partial_function(self._fit_in_namespace, validation=validation)
        if is_dask_collection(X):  # blockwise where the blocks live (backend: see _dask)
            return fit(X, y, sample_weight, init, partial=partial, classes=classes,
                       compiled=compiled)
        if self.backend == "numpy":
            X, y, sample_weight, classes, *init = self._host_if_needed(
                X, y, sample_weight, classes, *init
            )
        elif self.backend == "cupy":
            if issparse(X):
                raise TypeError(
                    "backend='cupy' does not take scipy.sparse input: train it on the "
                    "CPU with backend='numpy' (or 'auto'), where sparse X is never "
                    "densified, or pass dense data (X.toarray()) if it fits the GPU."
                )
            # Train on the GPU, hand back NumPy: fitted state goes up and comes back.
            cupy = import_cupy()
            X, sample_weight, *init = (
                None if a is None else cupy.asarray(a if is_cupy_array(a) else to_numpy(a))
                for a in (X, sample_weight, *init)
            )
            self._convert_fitted(cupy.asarray)
            try:
                with dispatch_for(X):
                    return fit(X, y, sample_weight, init, partial=partial, classes=classes,
                               compiled=compiled)
            finally:
                self._convert_fitted(to_numpy)
        with dispatch_for(X):
            return fit(X, y, sample_weight, init, partial=partial, classes=classes,
                       compiled=compiled)

    def _host_if_needed(self, *arrays):
        """With ``backend`` "numpy" or "cupy" the fitted arrays are NumPy: so are the inputs."""
        if self.backend == "auto":
            return arrays
        return tuple(to_numpy(a) if off_host(a) else a for a in arrays)

    def _convert_fitted(self, convert):
        """Apply ``convert`` to the fitted arrays: parameters and optimizer state."""
        for name in (*self._array_attributes, "_opt_state", "_raw_params", "_average"):
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

    def _fit_in_namespace(self, X, y, sample_weight, init, *, partial, classes, compiled=True,
                          validation=None):
        """Validate, then run ``max_iter`` epochs (fit) or one epoch (partial_fit).

        ``optimizer="lbfgs"`` runs :func:`~sk_gradopt._lbfgs.lbfgs_train`
        (up to ``max_iter`` L-BFGS iterations) instead of the loop.
        """
        second_order = self.optimizer in SECOND_ORDER
        if second_order:
            self._check_second_order(partial, validation)
        plan = self._prepare_fit(X, y, sample_weight, init, partial=partial, classes=classes,
                                 validation=validation)
        callbacks = Callbacks.begin(
            self, plan.n_epochs, *plan.inputs, self._params_attributes
        )
        check_input = (None if is_dask_collection(plan.inputs[0])
                       else lambda: self._check_finite(plan.inputs[0]))
        if second_order:
            progress = lbfgs_train(plan.data, plan.progress, plan.config,
                                   max_fun=self.max_fun, callbacks=callbacks,
                                   check_input=check_input)
        else:
            progress = train(
                plan.data, plan.validation, plan.progress, plan.config, rng=plan.rng,
                n_epochs=plan.n_epochs, stopping=not partial, zero_init=plan.zero_init,
                callbacks=callbacks, compiled=compiled, check_input=check_input,
                score=self._validation_score(plan),
            )
        self._set_progress(progress)
        if plan.learning_rate is not None:
            self.learning_rate_ = plan.learning_rate
        elif second_order:  # no learning rate: none left from an earlier fit either
            self.__dict__.pop("learning_rate_", None)
        if callbacks is not None:
            callbacks.end(callbacks.context, progress.weights)
        return self

    def _check_second_order(self, partial, validation=None):
        """Refuse what ``optimizer="lbfgs"`` cannot do, before any validation.

        L-BFGS minimises a smooth objective over all the data at once, in
        memory (on Dask arrays each evaluation is an all-reduce over the
        blocks): no ``partial_fit`` (as ``MLPRegressor(solver="lbfgs")``), no
        l1 part in the penalty, and no validation data to stop
        on (``X_val``; ``early_stopping`` and ``scoring`` it ignores, as
        ``MLPRegressor(solver="lbfgs")`` ignores ``early_stopping``).
        """
        if validation is not None:
            raise ValueError(
                f"X_val and y_val are not used by optimizer={self.optimizer!r}: L-BFGS "
                "fits all the training data without early stopping (as "
                "MLPRegressor(solver='lbfgs')). Leave them out, or choose a first-order "
                "optimizer to stop on them."
            )
        if partial:  # (partial_fit is hidden: see _tasks.has_partial_fit)
            has_partial_fit(self)
        if self.penalty in ("l1", "elasticnet"):
            raise ValueError(
                f"penalty={self.penalty!r} is not available with optimizer="
                f"{self.optimizer!r}: the l1 part of the penalty is not smooth, and "
                "L-BFGS needs a smooth objective. Use penalty='l2' or None, or a "
                "first-order optimizer, whose proximal step handles the l1 part."
            )

    def _prepare_fit(self, X, y, sample_weight=None, init=(), *, partial=False, classes=None,
                     validation=None):
        """Everything a fit needs before its loop runs: the seam for other loops.

        Validates ``X``, ``y`` and ``sample_weight`` (sets ``n_features_in_``,
        ``classes_``... as ``fit`` does), encodes the targets, and builds the
        loop's data, configuration and starting point. ``fit`` and
        ``partial_fit`` hand the result to :func:`~sk_gradopt._training.train`;
        the learning-rate range test runs its ramp on it instead. The inputs
        must already be where the estimator trains (``_fit`` places them by
        ``backend``). ``validation`` (``fit``'s ``X_val``, ``y_val``,
        ``sample_weight_val``) replaces the ``validation_fraction`` split.

        Returns
        -------
        FitPlan
        """
        first_call = not (partial and hasattr(self, "_opt_state"))
        dask_input = is_dask_collection(X)
        if dask_input:  # validated lazily; X stays on the cluster (see _dask_estimator)
            from . import _dask_estimator

            X, y, sample_weight, init, xp, device = _dask_estimator.validate_fit(
                self, X, y, sample_weight, init, reset=first_call
            )
        else:
            xp, _, device = get_namespace_and_device(X)
            sample_weight = move_to(sample_weight, xp=xp, device=device)
            init = [move_to(a, xp=xp, device=device) for a in init]
            if self._y_on_device:
                y = move_to(y, xp=xp, device=device)
            X, y = validate_data(
                self, X, y, dtype=[xp.float64, xp.float32], reset=first_call,
                accept_sparse="csr", ensure_all_finite=False, **self._y_validation,
            )  # X is checked for NaN and infinity by the loop, where one shows
            if sample_weight is not None:
                sample_weight = _check_sample_weight(
                    sample_weight, X, dtype=X.dtype, ensure_non_negative=True
                )
        Y, sample_weight, stratify = self._encode_targets(
            X, y, sample_weight, first_call=first_call, partial=partial, classes=classes
        )
        if dask_input:  # persisted on the workers, checked and summed there
            data = _dask_estimator.training_data(X, Y, sample_weight)
        else:
            weight_sum = X.shape[0] if sample_weight is None else float(xp.sum(sample_weight))
            data = Data(X, Y, sample_weight, weight_sum)
        if data.weight_sum == 0 and not partial:  # (a partial_fit batch of it is a no-op)
            raise ValueError(
                "Every sample has zero effective weight (sample_weight times the class "
                "weight of its label): there is nothing to fit. Give some samples, or "
                "the class_weight of some class present in y, a positive weight."
            )

        if first_call:
            self._rng = check_random_state(self.random_state)
        learning_rate = self._base_learning_rate(data, first_call)
        # (None: "auto" waits for data that carries weight; nothing trains until then)
        config = self._training_config(math.nan if learning_rate is None else learning_rate)
        # (L-BFGS fits all the data: early_stopping is ignored, as by MLPRegressor)
        early_stopping = (self.early_stopping and not partial
                          and self.optimizer not in SECOND_ORDER)
        if first_call:
            # The model's random draws (an MLP's weights) come first, as in sklearn.
            params, zero_init = self._initial_params(X, Y.shape[1], init, xp, device)
            progress = Progress.start(params, config.optimizer, early_stopping,
                                      scoring=self.scoring is not None)
        else:
            progress, zero_init = self._progress(xp, config, X.dtype), False
        labels = None
        if validation is not None:
            validation, labels = self._validation_data(X, data.Y.shape[1], validation)
        elif early_stopping:
            data, validation = self._split(data, stratify, self._rng, xp, device)
            labels = None if self.scoring is None else self._labels_of(validation.Y)
        return FitPlan(data, validation, progress, config, self._rng, zero_init,
                       1 if partial else self.max_iter, (X, y, sample_weight), learning_rate,
                       labels)

    def _base_learning_rate(self, data, first_call):
        """The base learning rate: ``learning_rate``, or what ``"auto"`` is on ``data``.

        ``"auto"`` is a fixed rate for the adaptive rules (their spec's
        ``auto_learning_rate``, see ``_optimizers.SPECS``), and ``1 / L``
        (``_inverse_lipschitz``) for the others, times ``1 - momentum`` for
        ``"momentum"``. ``partial_fit`` keeps the value of the first call
        whose data carries weight: on data that weighs nothing (zero class
        weights) 1 / L has nothing to measure, and the value is None (that
        call trains nothing; a later one computes it).
        """
        if self.optimizer in SECOND_ORDER:  # L-BFGS has no learning rate
            return None
        if not isinstance(self.learning_rate, str):
            return float(self.learning_rate)
        if isinstance(self.schedule, Schedule) and self.schedule.peak_rate() is not None:
            return self.schedule.peak_rate()  # its rates ignore the base: nothing to compute
        if not first_call and hasattr(self, "learning_rate_"):
            return self.learning_rate_
        fixed_rate = SPECS[self.optimizer].auto_learning_rate
        if fixed_rate is not None:
            return fixed_rate
        if not data.weight_sum > 0:
            return None
        if not is_dask_collection(data.X):  # 1/L reads X before the loop would check it
            self._check_finite(data.X)
        rate = self._inverse_lipschitz(data)
        if self.optimizer == "momentum":
            rate *= 1.0 - float(self.momentum)
        return rate

    def _inverse_lipschitz(self, data):
        """``1 / L`` on ``data``, L the Lipschitz constant of the objective's gradient.

        The hook of ``learning_rate="auto"`` for ``"gd"``, ``"sgd"`` and
        ``"momentum"``: models with a bound implement it; the others say so.
        """
        raise ValueError(
            f"learning_rate='auto' has no value for {type(self).__name__} with "
            f"optimizer={self.optimizer!r}: for 'gd', 'sgd' and 'momentum' it is 1/L, "
            "L the Lipschitz constant of the gradient, which is known for the linear "
            "models only. Run sk_gradopt.lr_range_test(estimator, X, y), read a "
            "learning rate off its curve and pass it, or use optimizer='adam' or "
            "'rmsprop', whose 'auto' is 1e-3."
        )

    def _training_config(self, learning_rate):
        """The :class:`~sk_gradopt._epoch.Config` of the loop, from the parameters.

        ``learning_rate`` is the base rate (see ``_base_learning_rate``).
        Hyperparameters are cast to Python floats: NumPy scalars (from
        ``RandomizedSearchCV``, say) would turn float32 arithmetic into float64.
        ``"lbfgs"`` has no update rule: its config holds ``"gd"``'s, stateless.
        """
        if isinstance(self.schedule, Schedule):
            self.schedule.validate()
        return Config(
            model=self._make_model(),
            loss_fn=self._loss_function(),
            penalty=Penalty.from_params(self.penalty, float(self.alpha), float(self.l1_ratio)),
            optimizer=self._make_optimizer(),
            learning_rate=float(learning_rate),
            schedule=self.schedule,
            power_t=float(self.power_t),
            max_iter=self.max_iter,
            batch_size=None if self.optimizer == "gd" else self.batch_size,
            shuffle=self.shuffle,
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            verbose=self.verbose,
            warmup_steps=self.warmup_steps,
            max_grad_norm=None if self.max_grad_norm is None else float(self.max_grad_norm),
            weight_decay=float(self.weight_decay),
            average=self.average if isinstance(self.average, bool) else float(self.average),
        )

    def _make_optimizer(self):
        """The optimizer's rule (``_optimizers.make_optimizer``), from the parameters.

        Each rule reads only its own hyperparameters: ``amsgrad`` is Adam's,
        and the other rules ignore it, as they ignore ``nesterov``.
        """
        # (L-BFGS runs outside the loop: the plan carries gd's empty state for it)
        name = "gd" if self.optimizer in SECOND_ORDER else self.optimizer
        return make_optimizer(
            name, momentum=float(self.momentum), nesterov=bool(self.nesterov),
            rho=float(self.rho), beta_1=float(self.beta_1), beta_2=float(self.beta_2),
            eps=float(self.eps), amsgrad=bool(self.amsgrad),
            momentum_decay=float(self.momentum_decay),
        )

    def _progress(self, xp, config, dtype):
        """The :class:`~sk_gradopt._training.Progress` of the fitted estimator, to continue.

        Its parameters and optimizer state are cast to ``dtype`` (the data's,
        as ``warm_start`` does). The state must be the one ``config``'s
        optimizer keeps, for parameters of the same structure: a
        ``partial_fit`` after ``set_params`` changed the optimizer or
        ``fit_intercept`` is an error, not a silent mix.
        """
        params = self._params_to_continue(xp)
        expected = config.optimizer.init(params)
        if not _same_structure(self._opt_state, expected):
            raise ValueError(
                f"partial_fit cannot continue: the optimizer state was made by the first "
                f"call, for other settings than optimizer={self.optimizer!r} with these "
                "parameters (optimizer or fit_intercept changed since). Call fit, or "
                "partial_fit on a new estimator."
            )
        cast = lambda a: xp.astype(a, dtype) if hasattr(a, "dtype") else a  # noqa: E731
        average = getattr(self, "_average", None)
        return Progress(
            tree_map(cast, params), tree_map(cast, self._opt_state), self.t_, self.n_iter_,
            self.loss_curve_, self.validation_loss_curve_,
            math.inf if self.best_loss_ is None else self.best_loss_,
            validation_scores=getattr(self, "validation_scores_", None),
            average=None if average is None else tree_map(cast, average),
            # (an estimator fitted before these records existed starts them empty)
            learning_rate_curve=getattr(self, "learning_rate_curve_", []),
            grad_norm_curve=getattr(self, "grad_norm_curve_", []),
            plateau=getattr(self, "_plateau", None),
        )

    def _params_to_continue(self, xp):
        """The parameters a later ``partial_fit`` call continues from."""
        return self._fitted_raw_params(xp)

    def _fitted_raw_params(self, xp):
        """The fitted weights before averaging: those training continues from.

        Where the fit averaged the iterates (``average``), the fitted
        attributes hold the average and the raw iterate is kept aside, as
        ``SGDRegressor(average=...)`` keeps it.
        """
        raw = getattr(self, "_raw_params", None)
        return self._params_from_attributes(xp) if raw is None else raw

    def _set_progress(self, progress):
        for name, value in self._params_attributes(progress.weights).items():
            setattr(self, name, value)
        self._opt_state = progress.opt_state
        # the raw iterate, where the attributes hold its average: training goes on from it
        self._raw_params = None if progress.average is None else progress.params
        self._average = progress.average
        self.t_ = progress.t
        self.n_iter_ = progress.n_iter
        self.loss_curve_ = progress.loss_curve
        self.validation_loss_curve_ = progress.validation_loss_curve
        self.best_loss_ = progress.best_loss
        self.validation_scores_ = progress.validation_scores
        scores = [v for v in progress.validation_scores or () if not math.isnan(v)]
        self.best_validation_score_ = max(scores) if scores else None
        self.learning_rate_curve_ = progress.learning_rate_curve
        self.grad_norm_curve_ = progress.grad_norm_curve
        self._plateau = progress.plateau

    def _validation_data(self, X, n_outputs, validation):
        """The :class:`~sk_gradopt._epoch.Data` of ``fit``'s validation data, and its ``y_val``.

        ``X_val``, ``y_val`` and ``sample_weight_val`` are checked as ``X``,
        ``y`` and ``sample_weight`` are (the same features, known classes),
        and placed where ``X`` trains, in its dtype. Class weights are not
        applied to them: ``sample_weight_val`` weighs the validation samples
        (as in ``HistGradientBoostingClassifier``).
        """
        X_val, y_val, sample_weight_val = validation
        _check_validation_inputs(self, X, X_val, y_val)
        names = X_val  # (a DataFrame's columns are checked against the fitted names)
        X_val, sample_weight_val = follow(X, X_val, sample_weight_val)
        if self._y_on_device:
            (y_val,) = follow(X, y_val)
        X_val = check_array(X_val, dtype=X.dtype, accept_sparse="csr", input_name="X_val",
                            estimator=self)
        if X_val.shape[1] != X.shape[1]:
            raise ValueError(
                f"X_val has {X_val.shape[1]} features, but X has {X.shape[1]}: pass "
                "validation data with the columns of X. (In a Pipeline, X_val does not go "
                "through the earlier steps unless the Pipeline is built with "
                "transform_input=['X_val'].)"
            )
        _check_feature_names(self, names, reset=False)
        y_val = _check_y(y_val, estimator=self, **self._y_validation)
        check_consistent_length(X_val, y_val)
        if sample_weight_val is not None:
            try:
                sample_weight_val = _check_sample_weight(
                    sample_weight_val, X_val, dtype=X.dtype, ensure_non_negative=True)
            except ValueError as exc:
                raise ValueError(f"sample_weight_val: {exc}") from exc
        Y_val = self._encode_validation_targets(X_val, y_val, n_outputs)
        total = weight_sum(sample_weight_val, X_val.shape[0])
        if not total > 0:
            raise ValueError("Every sample of X_val has zero weight in sample_weight_val: "
                             "give some validation samples a positive weight.")
        return Data(X_val, Y_val, sample_weight_val, total), y_val

    def _validation_score(self, plan):
        """``score(params)``: ``scoring`` on the validation data of ``plan``, or None.

        The scorer (``sklearn.metrics.check_scoring``) is called on a shallow
        copy of the estimator with the fitted attributes of ``params``, as
        ``scorer(estimator, X_val, y_val)`` (with ``sample_weight=`` where
        the validation samples carry weights).
        """
        if self.scoring is None:
            return None
        scorer = check_scoring(self, scoring=self.scoring)
        if plan.validation is None:
            return None
        if is_dask_collection(plan.validation.X):
            raise ValueError(
                "scoring is not supported on Dask arrays: early stopping on them "
                "monitors the validation loss (scoring=None)."
            )
        validation, labels = plan.validation, plan.labels
        weights = {} if validation.sample_weight is None else {
            "sample_weight": validation.sample_weight}

        def score(params):
            model = copy.copy(self)
            for name, value in self._params_attributes(params).items():
                setattr(model, name, value)
            return scorer(model, validation.X, labels, **weights)

        return score

    def _split(self, data, stratify, rng, xp, device):
        """Hold out ``validation_fraction`` of the rows (stratified for classifiers).

        Dask data hold out whole blocks of rows (see ``_dask_estimator.split_blocks``).
        """
        if is_dask_collection(data.X):
            from . import _dask_estimator

            train_part, val_part = _dask_estimator.split_blocks(data, self.validation_fraction, rng)
        else:
            train_rows, val_rows = train_test_split(
                np.arange(data.n_samples), test_size=self.validation_fraction,
                random_state=rng, stratify=stratify,
            )
            train_rows, val_rows = (
                xp.asarray(rows, device=device) for rows in (train_rows, val_rows)
            )
            train_part, val_part = take(data, train_rows, True), take(data, val_rows, True)
        if not (train_part.weight_sum > 0 and val_part.weight_sum > 0):
            raise ValueError(
                "early_stopping: the training or the validation part of the data "
                f"(validation_fraction={self.validation_fraction}) has only samples of "
                "zero weight. Give more samples non-zero weight, or change "
                "validation_fraction or random_state."
            )
        return train_part, val_part

    # -------------------------------------------------------------- predict

    def _raw_output(self, X, method):
        """The model's raw output at ``X``, an ``(n_samples, n_outputs)`` array.

        Lazy for a Dask array ``X``: one task per block (see ``_dask_estimator.raw_output``).
        """
        if is_dask_collection(X):
            from . import _dask_estimator

            return _dask_estimator.raw_output(self, X, method)
        check_is_fitted(self)
        (X,) = self._host_if_needed(detached(X))
        with dispatch_for(X, *self._fitted_arrays()):
            self._check_same_namespace(X, method)
            xp, _, _ = get_namespace_and_device(X)
            X = validate_data(self, X, dtype=[xp.float64, xp.float32], reset=False,
                              accept_sparse="csr", ensure_all_finite=False)
            self._check_finite(X)
            params = tree_map(lambda a: xp.astype(a, X.dtype), self._params_from_attributes(xp))
            return self._make_model().forward(params, X)

    def _score_where_X_lives(self, score, X, y, sample_weight, metric):
        """scikit-learn's ``score`` (the mixin's, passed in), computed where ``X`` lives.

        NumPy or CuPy as the backend rules say; on Dask arrays, ``metric``
        (``"r2"`` or ``"accuracy"``) in one pass over the blocks, with no
        ``y`` on the client.
        """
        if is_dask_collection(X):
            from ._dask_estimator import score as dask_score

            return dask_score(self, X, y, sample_weight, metric=metric)
        X, y, sample_weight = self._host_if_needed(X, y, sample_weight)
        with dispatch_for(X):
            y, sample_weight = follow(X, y, sample_weight)
            return score(X, y, sample_weight=sample_weight)

    def _check_finite(self, X):
        """scikit-learn's check that ``X`` holds no NaN or infinity, at a lower cost.

        sklearn's first pass is ``sum(X)``, one single-threaded pass; here it
        is ``X @ ones``, a BLAS product (about 2.5x faster on 200,000 x 100).
        A NaN or an infinity anywhere makes it non-finite; then sklearn's own
        check runs and raises its own message (it passes when only the
        product overflowed, on finite values); a sparse ``X``: the sum of its
        stored values. A fit calls it only where a value of the loop comes out
        non-finite (see ``_training.Guard``): a NaN or an infinity in X always
        shows there, so X costs no pass of its own.
        """
        if get_config()["assume_finite"]:
            return
        xp, _, device = get_namespace_and_device(X)
        with np.errstate(all="ignore"):
            if issparse(X):
                finite = bool(np.isfinite(np.sum(X.data)))
            else:
                ones = xp.ones((X.shape[1],), dtype=X.dtype, device=device)
                finite = bool(xp.isfinite(xp.sum(X @ ones)))
        if not finite:
            check_array(X, dtype=None, accept_sparse=True, ensure_all_finite=True,
                        input_name="X", estimator=self)

    def _fitted_arrays(self):
        value = getattr(self, self._array_attributes[0])
        return value if isinstance(value, list) else [value]

    def _check_same_namespace(self, X, method):
        """sklearn's check that ``X`` lives where the fitted arrays live."""
        name = self._array_attributes[0]
        if isinstance(getattr(self, name), list):  # an MLP's coefs_: check the first
            stand_in = type(type(self).__name__, (), {name: self._fitted_arrays()[0]})()
            check_same_namespace(X, stand_in, attribute=name, method=method)
        else:
            check_same_namespace(X, self, attribute=name, method=method)


def _same_structure(state, expected):
    """Whether two optimizer states have the same type and the same tree of arrays."""
    if type(state) is not type(expected):
        return False
    if isinstance(state, tuple):
        return len(state) == len(expected) and all(
            _same_structure(a, b) for a, b in zip(state, expected))
    return (state is None) == (expected is None) and (
        not hasattr(expected, "shape") or tuple(state.shape) == tuple(expected.shape))


def _check_validation_inputs(estimator, X, X_val, y_val):
    """Refuse validation data that cannot be used: one half of it, Dask, no early stopping."""
    if X_val is None or y_val is None:
        given, missing = ("y_val", "X_val") if X_val is None else ("X_val", "y_val")
        if X_val is None and y_val is None:
            given, missing = "sample_weight_val", "X_val and y_val"
        raise ValueError(
            f"{given} is passed to fit without {missing}: pass X_val and y_val together "
            "(and sample_weight_val if the validation samples have weights), or none of "
            "them to hold out validation_fraction of the training data."
        )
    if not estimator.early_stopping:
        raise ValueError(
            "X_val and y_val are passed to fit while early_stopping=False: set "
            "early_stopping=True to monitor the validation data and keep the best weights "
            "on it (it replaces the validation_fraction split), or leave X_val and y_val out."
        )
    if is_dask_collection(X) or is_dask_collection(X_val):
        raise ValueError(
            "X_val and y_val are not supported with Dask arrays: early stopping on Dask "
            "data holds out whole blocks of X (validation_fraction)."
        )


class FitPlan(NamedTuple):
    """What ``_prepare_fit`` hands to a training loop."""

    data: Any  # _training.Data: the training part
    validation: Any  # _training.Data of the held-out part, or None
    progress: Any  # _training.Progress to start from
    config: Any  # _training.Config
    rng: Any  # numpy.random.RandomState: the batches (and the split)
    zero_init: bool  # whether progress.params is the zero model
    n_epochs: int  # max_iter for fit, 1 for partial_fit
    inputs: tuple  # the validated (X, y, sample_weight), for the callbacks
    learning_rate: Any  # the base rate (config's), None while "auto" waits for weight
    labels: Any = None  # the targets of ``validation`` as y holds them, for ``scoring``
