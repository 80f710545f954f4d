"""Loss curves of fitted estimators and of the learning-rate range test, in scikit-learn's Display API."""

import math
from numbers import Real

from sklearn.utils._optional_dependencies import check_matplotlib_support

from ._reprs import plain_repr

__all__ = ["LRRangeTestDisplay", "LossCurveDisplay", "OptimizerComparisonDisplay"]


def _check_matplotlib(caller_name):
    """``check_matplotlib_support`` with the extra that installs matplotlib."""
    try:
        check_matplotlib_support(caller_name)
    except ImportError as exc:
        raise ImportError(
            f"{caller_name} requires matplotlib, which is not installed. Install "
            "it with the plot extra: pip install sk-gradopt[plot] (or pip install "
            "matplotlib)."
        ) from exc


def _final_estimator(estimator):
    """The estimator that holds ``loss_curve_``: unwraps pipelines and searches."""
    seen = estimator
    for _ in range(10):  # nested meta-estimators; bounded so a cycle cannot hang
        if hasattr(seen, "loss_curve_"):
            return seen
        if hasattr(seen, "best_estimator_"):  # GridSearchCV and friends
            seen = seen.best_estimator_
        elif hasattr(seen, "steps"):  # Pipeline
            seen = seen.steps[-1][1]
        elif hasattr(seen, "regressor_"):  # TransformedTargetRegressor
            seen = seen.regressor_
        else:
            break
    raise ValueError(
        "LossCurveDisplay needs a fitted estimator with a loss_curve_ attribute "
        "(GradientRegressor or GradientClassifier, alone or as the last step of a "
        f"Pipeline); got {type(estimator).__name__}. Fit it first."
    )


def _curve(values, what):
    """``values`` as a list of floats, or a clear error."""
    try:
        curve = [float(v) for v in values]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be a sequence of numbers; got {plain_repr(values, short=True)}.") from exc
    if not curve:
        raise ValueError(f"{what} is empty: there is no epoch to plot.")
    return curve


#: What ``LossCurveDisplay(curve=...)`` draws: the fitted attribute and the axis label.
CURVES = {
    "loss": ("loss_curve_", "loss"),
    "learning_rate": ("learning_rate_curve_", "learning rate (last step of the epoch)"),
    "grad_norm": ("grad_norm_curve_", "gradient norm (mean over the epoch, before clipping)"),
    "validation_score": ("validation_scores_", "validation score (higher is better)"),
}


class LossCurveDisplay:
    """Training (and validation) loss per epoch of one or more fitted estimators.

    With ``curve="learning_rate"``, ``"grad_norm"`` or ``"validation_score"``
    it draws the other per-epoch records of a fit instead:
    ``learning_rate_curve_`` (the rate of each epoch's last step),
    ``grad_norm_curve_`` (the mean global gradient norm of each epoch's
    steps, before clipping) or ``validation_scores_`` (with ``scoring``).

    Create it with :meth:`from_estimator` or :meth:`from_estimators`; the
    constructor takes the curves themselves. All the curves are drawn on
    one axes by :meth:`plot`: each estimator's training curve as a solid
    line and, when it was fitted with ``early_stopping=True``, its
    validation curve as a dashed line of the same colour.

    Parameters
    ----------
    loss_curves : list of list of float
        One training curve per estimator (``loss_curve_``): the training
        objective per epoch.
    validation_loss_curves : list of (list of float or None), default=None
        One validation curve per estimator (``validation_loss_curve_``), or
        None for an estimator without one.
    names : list of str, default=None
        Legend names of the estimators; None draws no legend names.
    curve : {"loss", "learning_rate", "grad_norm", "validation_score"}, default="loss"
        What ``loss_curves`` hold (the axis label); validation curves go with
        ``"loss"`` only.

    Attributes
    ----------
    lines_ : list of matplotlib.lines.Line2D
        The training curves, in the order of ``loss_curves``.
    validation_lines_ : list of (matplotlib.lines.Line2D or None)
        The validation curves (None where an estimator has none).
    ax_ : matplotlib.axes.Axes
        The axes the curves are drawn on.
    figure_ : matplotlib.figure.Figure
        The figure of ``ax_``.

    See Also
    --------
    sklearn.model_selection.LearningCurveDisplay : Scores against the number
        of training samples.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sk_gradopt import GradientRegressor, LossCurveDisplay
    >>> X, y = make_regression(n_samples=100, n_features=3, noise=1.0, random_state=0)
    >>> reg = GradientRegressor(optimizer="adam", learning_rate=0.5, random_state=0)
    >>> display = LossCurveDisplay.from_estimator(reg.fit(X, y), log_scale=True)
    >>> len(display.lines_[0].get_ydata()) == reg.n_iter_
    True
    """

    def __init__(self, loss_curves, validation_loss_curves=None, names=None, curve="loss"):
        self.loss_curves = loss_curves
        self.validation_loss_curves = validation_loss_curves
        self.names = names
        self.curve = curve

    def plot(self, ax=None, *, log_scale=False, validation=True, curve_kwargs=None,
             validation_kwargs=None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; None creates a new figure and axes.
        log_scale : bool, default=False
            Use a logarithmic y axis (the loss is non-negative; an epoch whose
            loss is exactly zero is not drawn on it).
        validation : bool, default=True
            Draw the validation curves, where there are some.
        curve_kwargs : dict or list of dict, default=None
            Keyword arguments of :meth:`matplotlib.axes.Axes.plot` for the
            training curves: one dict for all, or one per curve.
        validation_kwargs : dict, default=None
            Keyword arguments that override the validation curves' style
            (by default dashed, in the colour of the training curve).

        Returns
        -------
        display : LossCurveDisplay
            This display, with ``ax_``, ``figure_``, ``lines_`` and
            ``validation_lines_`` set.
        """
        _check_matplotlib(f"{type(self).__name__}.plot")
        _, axis_label = _curve_kind(self.curve)
        curves = [_curve(c, f"loss_curves[{i}]") for i, c in enumerate(self.loss_curves)]
        n_curves = len(curves)
        if n_curves == 0:
            raise ValueError("loss_curves is empty: pass at least one curve.")
        validation_curves = self.validation_loss_curves
        if validation_curves is None:
            validation_curves = [None] * n_curves
        names = self.names if self.names is not None else [None] * n_curves
        if isinstance(names, str):
            names = [names]
        if isinstance(curve_kwargs, dict) or curve_kwargs is None:
            curve_kwargs = [dict(curve_kwargs or {}) for _ in range(n_curves)]
        for what, value in (("validation_loss_curves", validation_curves),
                            ("names", names), ("curve_kwargs", curve_kwargs)):
            if len(value) != n_curves:
                raise ValueError(
                    f"{what} has {len(value)} entries but there are {n_curves} "
                    "loss curves; pass one per curve."
                )

        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(layout="constrained")

        self.lines_, self.validation_lines_ = [], []
        any_validation = validation and any(v is not None for v in validation_curves)
        for i, (curve, name) in enumerate(zip(curves, names)):
            kwargs = dict(curve_kwargs[i])
            has_validation = validation and validation_curves[i] is not None
            if "label" not in kwargs:
                label = name if name is not None else {"loss": "training loss"}.get(
                    self.curve, self.curve.replace("_", " "))
                if any_validation and name is not None:
                    label = f"{name} (training)"
                kwargs["label"] = label
            (line,) = ax.plot(range(1, len(curve) + 1), curve, **kwargs)
            self.lines_.append(line)
            val_line = None
            if has_validation:
                val = _curve(validation_curves[i], f"validation_loss_curves[{i}]")
                val_kwargs = {
                    "linestyle": "--",
                    "color": line.get_color(),
                    "label": "validation loss" if name is None else f"{name} (validation)",
                    **(validation_kwargs or {}),
                }
                (val_line,) = ax.plot(range(1, len(val) + 1), val, **val_kwargs)
            self.validation_lines_.append(val_line)

        if log_scale:
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"{axis_label} (log scale)" if log_scale else axis_label)
        dots = sum(line.get_label() == _SUGGESTION for line in ax.lines)
        ax.legend(title={0: None, 1: "dot: the suggested rate"}.get(
            dots, "dots: the suggested rates"))
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, name=None, log_scale=False,
                       validation=True, curve_kwargs=None, validation_kwargs=None,
                       curve="loss"):
        """Plot the loss curves (or another per-epoch record) of one fitted estimator.

        Parameters
        ----------
        estimator : estimator instance
            A fitted :class:`GradientRegressor` or :class:`GradientClassifier`,
            or a fitted Pipeline or search (``best_estimator_``) ending in one.
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; None creates a new figure and axes.
        name : str, default=None
            Legend name; None uses the estimator's ``optimizer``.
        log_scale : bool, default=False
            Use a logarithmic y axis.
        validation : bool, default=True
            Draw ``validation_loss_curve_`` when the estimator has one
            (``early_stopping=True``).
        curve_kwargs : dict, default=None
            Keyword arguments of :meth:`matplotlib.axes.Axes.plot` for the
            training curve.
        validation_kwargs : dict, default=None
            Keyword arguments for the validation curve.
        curve : {"loss", "learning_rate", "grad_norm", "validation_score"}, default="loss"
            The record drawn: ``loss_curve_`` (with ``validation_loss_curve_``),
            ``learning_rate_curve_`` or ``grad_norm_curve_``.

        Returns
        -------
        display : LossCurveDisplay
            The display, drawn.
        """
        return cls.from_estimators(
            [estimator], ax=ax, names=None if name is None else [name],
            log_scale=log_scale, validation=validation, curve_kwargs=curve_kwargs,
            validation_kwargs=validation_kwargs, curve=curve,
        )

    @classmethod
    def from_estimators(cls, estimators, *, ax=None, names=None, log_scale=False,
                        validation=True, curve_kwargs=None, validation_kwargs=None,
                        curve="loss"):
        """Plot the loss curves of several fitted estimators on one axes.

        Parameters
        ----------
        estimators : list of estimator instances, or dict of name to estimator
            Fitted estimators (see :meth:`from_estimator`). A dict's keys
            are the legend names.
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; None creates a new figure and axes.
        names : list of str, default=None
            Legend names; None uses each estimator's ``optimizer``, with
            its ``learning_rate`` added where two would have the same name.
        log_scale : bool, default=False
            Use a logarithmic y axis.
        validation : bool, default=True
            Draw the validation curves where there are some.
        curve_kwargs : dict or list of dict, default=None
            Keyword arguments of :meth:`matplotlib.axes.Axes.plot` for the
            training curves: one dict for all, or one per estimator.
        validation_kwargs : dict, default=None
            Keyword arguments for the validation curves.
        curve : {"loss", "learning_rate", "grad_norm", "validation_score"}, default="loss"
            The record drawn (see :meth:`from_estimator`).

        Returns
        -------
        display : LossCurveDisplay
            The display, drawn.
        """
        _check_matplotlib(f"{cls.__name__}.from_estimators")
        if isinstance(estimators, dict):
            if names is not None:
                raise ValueError("Pass names either as the dict's keys or as names=, not both.")
            names = [str(k) for k in estimators]
            estimators = list(estimators.values())
        estimators = [_final_estimator(est) for est in estimators]
        if not estimators:
            raise ValueError("estimators is empty: pass at least one fitted estimator.")
        if names is None:
            names = _default_names(estimators)
        attribute, _ = _curve_kind(curve)
        display = cls(
            loss_curves=[list(_record(est, attribute)) for est in estimators],
            validation_loss_curves=[
                None if curve != "loss" or getattr(est, "validation_loss_curve_", None) is None
                else list(est.validation_loss_curve_)
                for est in estimators
            ],
            names=list(names), curve=curve,
        )
        return display.plot(
            ax=ax, log_scale=log_scale, validation=validation,
            curve_kwargs=curve_kwargs, validation_kwargs=validation_kwargs,
        )


def _curve_kind(curve):
    """``(fitted attribute, axis label)`` of ``curve``; a clear error for another value."""
    if not isinstance(curve, str) or curve not in CURVES:
        raise ValueError(f"curve={curve!r} is not one of {sorted(CURVES)}: pass 'loss', "
                         "'learning_rate', 'grad_norm' or 'validation_score'.")
    return CURVES[curve]


def _record(estimator, attribute):
    """The fitted per-epoch record ``attribute`` of ``estimator``."""
    if not hasattr(estimator, attribute):
        raise ValueError(
            f"{type(estimator).__name__} has no {attribute}: fit it first (an estimator "
            "fitted by an older version of sk_gradopt has none; fit it again)."
        )
    if getattr(estimator, attribute) is None:  # validation_scores_ without a scorer
        raise ValueError(
            f"{type(estimator).__name__} recorded no {attribute}: fit it with "
            "early_stopping=True and scoring= to record a validation score per epoch."
        )
    return getattr(estimator, attribute)


def _default_names(estimators):
    """``optimizer`` names, made unique with the learning rate, then an index."""
    names = [str(getattr(est, "optimizer", type(est).__name__)) for est in estimators]
    if len(set(names)) < len(names):
        names = [
            f"{name}, lr={est.learning_rate:g}"
            if isinstance(getattr(est, "learning_rate", None), Real)
            and math.isfinite(est.learning_rate) else name
            for name, est in zip(names, estimators)
        ]
    if len(set(names)) < len(names):
        names = [f"{name} #{i}" for i, name in enumerate(names, start=1)]
    return names


#: The label of a suggestion's dot: a leading underscore keeps it out of the
#: legend, whose title says what the dots are.
_SUGGESTION = "_suggested rate"


class LRRangeTestDisplay:
    """The loss against the learning rate, from the learning-rate range test.

    Create it with :meth:`from_estimator` (which runs
    :func:`~sk_gradopt.lr_range_test`) or with :meth:`from_result` (the
    test's result); the constructor takes the curve itself. :meth:`plot`
    draws the smoothed loss as a solid line on a logarithmic learning-rate
    axis, the raw losses faintly in the same colour, and the suggested rate
    as a dot on the curve (the legend's title says so). Call it several
    times with the same ``ax`` to compare optimizers.

    Parameters
    ----------
    learning_rates : array-like of shape (n_points,)
        The learning rates, increasing.
    losses : array-like of shape (n_points,)
        The loss after each step.
    smoothed_losses : array-like of shape (n_points,), default=None
        The smoothed losses; None draws ``losses`` alone.
    suggestion : float or None, default=None
        The suggested learning rate, one of ``learning_rates``.
    name : str, default=None
        Legend name.

    Attributes
    ----------
    line_ : matplotlib.lines.Line2D
        The smoothed curve (the raw one without ``smoothed_losses``).
    raw_line_ : matplotlib.lines.Line2D or None
        The raw losses, when drawn alongside the smoothed curve.
    suggestion_marker_ : matplotlib.lines.Line2D or None
        The point at the suggested rate.
    ax_ : matplotlib.axes.Axes
        The axes the curve is drawn on.
    figure_ : matplotlib.figure.Figure
        The figure of ``ax_``.

    See Also
    --------
    LossCurveDisplay : The loss per epoch of fitted estimators.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sk_gradopt import GradientRegressor, LRRangeTestDisplay
    >>> X, y = make_regression(n_samples=100, n_features=3, noise=1.0, random_state=0)
    >>> display = LRRangeTestDisplay.from_estimator(
    ...     GradientRegressor(optimizer="gd"), X, y / y.std(), min_lr=1e-4, num_steps=40)
    >>> display.ax_.get_xscale()
    'log'
    """

    def __init__(self, learning_rates, losses, smoothed_losses=None, suggestion=None,
                 name=None):
        self.learning_rates = learning_rates
        self.losses = losses
        self.smoothed_losses = smoothed_losses
        self.suggestion = suggestion
        self.name = name

    def plot(self, ax=None, *, name=None, log_scale=False, raw=True, suggestion=True,
             line_kwargs=None):
        """Draw the curve.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; None creates a new figure and axes.
        name : str, default=None
            Legend name; None uses the ``name`` given to the constructor.
        log_scale : bool, default=False
            Use a logarithmic loss axis.
        raw : bool, default=True
            Draw the raw losses faintly behind the smoothed curve.
        suggestion : bool, default=True
            Mark the suggested learning rate, where there is one.
        line_kwargs : dict, default=None
            Keyword arguments of :meth:`matplotlib.axes.Axes.plot` for the
            curve.

        Returns
        -------
        display : LRRangeTestDisplay
            This display, with ``ax_``, ``figure_``, ``line_``,
            ``raw_line_`` and ``suggestion_marker_`` set.
        """
        _check_matplotlib(f"{type(self).__name__}.plot")
        rates = _curve(self.learning_rates, "learning_rates")
        losses = _curve(self.losses, "losses")
        smoothed = None
        if self.smoothed_losses is not None:
            smoothed = _curve(self.smoothed_losses, "smoothed_losses")
        for what, values in (("losses", losses), ("smoothed_losses", smoothed)):
            if values is not None and len(values) != len(rates):
                raise ValueError(
                    f"{what} has {len(values)} values but there are {len(rates)} "
                    "learning rates; pass one per learning rate."
                )
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(layout="constrained")
        name = self.name if name is None else name
        kwargs = {"label": name if name is not None else "loss", **(line_kwargs or {})}
        (self.line_,) = ax.plot(rates, losses if smoothed is None else smoothed, **kwargs)
        color = self.line_.get_color()
        self.raw_line_ = None
        if raw and smoothed is not None:
            (self.raw_line_,) = ax.plot(rates, losses, color=color, alpha=0.3, linewidth=0.8)
        self.suggestion_marker_ = None
        if suggestion and self.suggestion is not None:
            curve = losses if smoothed is None else smoothed
            index = min(range(len(rates)), key=lambda i: abs(rates[i] - self.suggestion))
            (self.suggestion_marker_,) = ax.plot(
                [rates[index]], [curve[index]], marker="o", color=color, linestyle="none",
                label=_SUGGESTION,  # kept out of the legend: its title explains the dots
            )
        ax.set_xscale("log")
        if log_scale:
            ax.set_yscale("log")
        ax.set_xlabel("learning rate (log scale)")
        ax.set_ylabel("loss (log scale)" if log_scale else "loss")
        dots = sum(line.get_label() == _SUGGESTION for line in ax.lines)
        ax.legend(title={0: None, 1: "dot: the suggested rate"}.get(
            dots, "dots: the suggested rates"))
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, X, y, *, ax=None, name=None, log_scale=False,
                       raw=True, suggestion=True, line_kwargs=None, **kwargs):
        """Run the learning-rate range test on an estimator and draw its curve.

        Parameters
        ----------
        estimator : estimator instance
            An estimator of sk_gradopt, or a Pipeline ending in one; it is
            not modified (the test runs on a clone).
        X : array of shape (n_samples, n_features)
            Training data.
        y : array of shape (n_samples,) or (n_samples, n_targets)
            Targets.
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; None creates a new figure and axes.
        name : str, default=None
            Legend name; None uses the estimator's ``optimizer``.
        log_scale : bool, default=False
            Use a logarithmic loss axis.
        raw : bool, default=True
            Draw the raw losses faintly behind the smoothed curve.
        suggestion : bool, default=True
            Mark the suggested learning rate.
        line_kwargs : dict, default=None
            Keyword arguments of :meth:`matplotlib.axes.Axes.plot` for the
            curve.
        **kwargs
            Passed to :func:`~sk_gradopt.lr_range_test` (``min_lr``,
            ``max_lr``, ``num_steps``, ``random_state``...).

        Returns
        -------
        display : LRRangeTestDisplay
            The display, drawn.
        """
        from ._lr import lr_range_test

        _check_matplotlib(f"{cls.__name__}.from_estimator")
        result = lr_range_test(estimator, X, y, **kwargs)
        return cls.from_result(result, ax=ax, name=name, log_scale=log_scale, raw=raw,
                               suggestion=suggestion, line_kwargs=line_kwargs)

    @classmethod
    def from_result(cls, result, *, ax=None, name=None, log_scale=False, raw=True,
                    suggestion=True, line_kwargs=None):
        """Draw the curve of a range test that has run.

        Parameters
        ----------
        result : LRRangeTestResult
            What :func:`~sk_gradopt.lr_range_test` returned.
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; None creates a new figure and axes.
        name : str, default=None
            Legend name; None uses ``result.name_`` (the optimizer).
        log_scale : bool, default=False
            Use a logarithmic loss axis.
        raw : bool, default=True
            Draw the raw losses faintly behind the smoothed curve.
        suggestion : bool, default=True
            Mark ``result.suggestion_``.
        line_kwargs : dict, default=None
            Keyword arguments of :meth:`matplotlib.axes.Axes.plot` for the
            curve.

        Returns
        -------
        display : LRRangeTestDisplay
            The display, drawn.
        """
        _check_matplotlib(f"{cls.__name__}.from_result")
        display = cls(
            learning_rates=result.learning_rates_, losses=result.losses_,
            smoothed_losses=result.smoothed_losses_, suggestion=result.suggestion_,
            name=result.name_,
        )
        return display.plot(ax=ax, name=name, log_scale=log_scale, raw=raw,
                            suggestion=suggestion, line_kwargs=line_kwargs)


class OptimizerComparisonDisplay:
    """The curves of an optimizer race: training and validation loss per epoch.

    Create it with :meth:`from_estimator` (which runs
    :func:`~sk_gradopt.compare_optimizers`) or :meth:`from_comparison`; the
    constructor takes the curves themselves. :meth:`plot` draws two panels:
    the training objective per epoch (left) and the validation loss per
    epoch (right). Each optimizer is one colour: the mean over seeds as a
    line, the spread over seeds (lowest to highest) as a band, its learning
    rate in the legend, and a cross on the validation curve where it
    starts to overfit. A seed whose fit stopped keeps its last value up to
    the longest fit's end. The exact optimum of the training objective, where
    known (the linear models), is a dashed horizontal line.

    Parameters
    ----------
    train_loss : dict of str to array of shape (n_seeds, n_epochs)
        The training objective per epoch of each optimizer's seeds (NaN
        after a fit's end).
    validation_loss : dict of str to array of shape (n_seeds, n_epochs)
        The validation loss per epoch, likewise.
    learning_rates : dict of str to float
        The learning rate of each optimizer, for the legend.
    reference : float, default=None
        The optimum of the training objective; None draws no line.
    reference_name : str, default=None
        What solved it, for the legend (e.g. ``"Ridge(alpha=1e-4 * 331)"``).
    overfitting_epochs : dict of str to int or None, default=None
        Where each optimizer's validation loss starts to rise.

    Attributes
    ----------
    lines_ : dict of str to matplotlib.lines.Line2D
        The mean training curves.
    validation_lines_ : dict of str to matplotlib.lines.Line2D
        The mean validation curves (empty when not drawn).
    bands_ : dict of str to list of matplotlib.collections.PolyCollection
        The spread over seeds of each optimizer (training, then validation).
    reference_line_ : matplotlib.lines.Line2D or None
        The optimum's line.
    ax_ : matplotlib.axes.Axes
        The training panel.
    axes_ : list of matplotlib.axes.Axes
        The training panel and, when drawn, the validation panel.
    figure_ : matplotlib.figure.Figure
        The figure of the panels.

    See Also
    --------
    compare_optimizers : The race whose curves this draws.
    LossCurveDisplay : The loss curves of fitted estimators.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sk_gradopt import GradientRegressor, OptimizerComparisonDisplay
    >>> X, y = make_regression(n_samples=100, n_features=3, noise=5.0, random_state=0)
    >>> display = OptimizerComparisonDisplay.from_estimator(
    ...     GradientRegressor(max_iter=30), X, y / y.std(), optimizers=["sgd", "adam"],
    ...     learning_rates=0.05, n_seeds=2, random_state=0)
    >>> sorted(display.lines_), len(display.axes_)
    (['adam', 'sgd'], 2)
    """

    def __init__(self, train_loss, validation_loss, learning_rates, *, reference=None,
                 reference_name=None, overfitting_epochs=None):
        self.train_loss = train_loss
        self.validation_loss = validation_loss
        self.learning_rates = learning_rates
        self.reference = reference
        self.reference_name = reference_name
        self.overfitting_epochs = overfitting_epochs

    def plot(self, ax=None, *, log_scale=True, validation=True, band=True):
        """Draw the panels.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or sequence of two, default=None
            The training and the validation panel (one Axes with
            ``validation=False``); None creates a figure with them.
        log_scale : bool, default=True
            Logarithmic loss axes.
        validation : bool, default=True
            Draw the validation panel.
        band : bool, default=True
            Draw the spread over seeds as bands.

        Returns
        -------
        display : OptimizerComparisonDisplay
            This display, with ``ax_``, ``axes_``, ``figure_``, ``lines_``,
            ``validation_lines_``, ``bands_`` and ``reference_line_`` set.
        """
        import numpy as np

        _check_matplotlib(f"{type(self).__name__}.plot")
        names = list(self.train_loss)
        if not names:
            raise ValueError("train_loss is empty: there is no optimizer to plot.")
        for what, values in (("validation_loss", self.validation_loss),
                             ("learning_rates", self.learning_rates)):
            missing = [n for n in names if n not in values]
            if missing:
                raise ValueError(f"{what} has no entry for {missing[0]!r}; pass one per "
                                 "optimizer of train_loss.")
        axes = self._axes(ax, validation)
        overfits = self.overfitting_epochs or {}
        marked = False
        self.lines_, self.validation_lines_, self.bands_ = {}, {}, {}
        for name in names:
            rate = float(self.learning_rates[name])
            label = name if math.isnan(rate) else f"{name} (lr={rate:.3g})"  # NaN: lbfgs
            curves = [np.atleast_2d(np.asarray(self.train_loss[name], dtype=float))]
            if validation:
                curves.append(np.atleast_2d(np.asarray(self.validation_loss[name],
                                                       dtype=float)))
            self.bands_[name] = []
            color = None
            for panel, curve in zip(axes, curves):
                line, fill = _mean_and_band(panel, curve, band=band, color=color,
                                            label=label)
                color = line.get_color()
                if fill is not None:
                    self.bands_[name].append(fill)
                if panel is axes[0]:
                    self.lines_[name] = line
                else:
                    self.validation_lines_[name] = line
                    epoch = overfits.get(name)
                    if epoch is not None and 1 <= epoch <= len(line.get_ydata()):
                        panel.plot([epoch], [line.get_ydata()[epoch - 1]], marker="x",
                                   markersize=9, color=color, linestyle="none")
                        marked = True
        self.reference_line_ = None
        if self.reference is not None:
            label = "optimum" + (f" ({self.reference_name})" if self.reference_name else "")
            self.reference_line_ = axes[0].axhline(float(self.reference), color="black",
                                                   linestyle="--", linewidth=1, label=label)
        titles = ["training objective", "validation loss"]
        for panel, title in zip(axes, titles):
            if log_scale:
                panel.set_yscale("log")
            panel.set_xlabel("epoch")
            panel.set_ylabel(title + (" (log scale)" if log_scale else ""))
        axes[0].legend(fontsize="small")
        if marked:
            axes[1].set_title("x: where the validation loss starts to rise",
                              fontsize="small")
        self.ax_, self.axes_, self.figure_ = axes[0], list(axes), axes[0].figure
        return self

    @staticmethod
    def _axes(ax, validation):
        """The panels: those given, checked, or a new figure's."""
        wanted = 2 if validation else 1
        if ax is None:
            import matplotlib.pyplot as plt

            _, axes = plt.subplots(1, wanted, figsize=(5 * wanted, 4), layout="constrained",
                                   squeeze=False)
            return list(axes[0])
        import numpy as np

        axes = [ax] if hasattr(ax, "plot") else list(np.ravel(np.asarray(ax, dtype=object)))
        if len(axes) != wanted:
            raise ValueError(
                f"ax must be {'two Axes (training, validation)' if validation else 'one Axes'}"
                f" with validation={validation}; got {len(axes)}."
            )
        return axes

    @classmethod
    def from_comparison(cls, comparison, *, ax=None, log_scale=True, validation=True,
                        band=True):
        """Draw the curves of a race's result.

        Parameters
        ----------
        comparison : OptimizerComparison
            The result of :func:`~sk_gradopt.compare_optimizers`.
        ax : matplotlib.axes.Axes or sequence of two, default=None
            The panels; see :meth:`plot`.
        log_scale : bool, default=True
            Logarithmic loss axes.
        validation : bool, default=True
            Draw the validation panel.
        band : bool, default=True
            Draw the spread over seeds as bands.

        Returns
        -------
        display : OptimizerComparisonDisplay
            The display, drawn.
        """
        _check_matplotlib(f"{cls.__name__}.from_comparison")
        reference = getattr(comparison, "reference_", None)
        display = cls(
            train_loss=comparison.train_loss_, validation_loss=comparison.validation_loss_,
            learning_rates=comparison.learning_rates_,
            reference=None if reference is None else reference.objective,
            reference_name=None if reference is None else reference.name,
            overfitting_epochs=comparison.overfitting_epoch_,
        )
        return display.plot(ax=ax, log_scale=log_scale, validation=validation, band=band)

    @classmethod
    def from_estimator(cls, estimator, X, y, *, ax=None, log_scale=True, validation=True,
                       band=True, **kwargs):
        """Race the optimizers of an estimator and draw the curves.

        Parameters
        ----------
        estimator : estimator instance
            An estimator of sk_gradopt, or a Pipeline ending in one.
        X : array-like of shape (n_samples, n_features)
            Data.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets.
        ax : matplotlib.axes.Axes or sequence of two, default=None
            The panels; see :meth:`plot`.
        log_scale : bool, default=True
            Logarithmic loss axes.
        validation : bool, default=True
            Draw the validation panel.
        band : bool, default=True
            Draw the spread over seeds as bands.
        **kwargs
            Passed to :func:`~sk_gradopt.compare_optimizers` (``optimizers``,
            ``learning_rates``, ``n_seeds``, ``random_state``...).

        Returns
        -------
        display : OptimizerComparisonDisplay
            The display, drawn; the race's result is ``comparison_``.
        """
        from ._compare import compare_optimizers

        _check_matplotlib(f"{cls.__name__}.from_estimator")
        comparison = compare_optimizers(estimator, X, y, **kwargs)
        display = cls.from_comparison(comparison, ax=ax, log_scale=log_scale,
                                      validation=validation, band=band)
        display.comparison_ = comparison
        return display


def _mean_and_band(ax, curves, *, band, color, label):
    """The mean over seeds of ``curves`` as a line, their range as a band.

    ``curves`` is ``(n_seeds, n_epochs)`` with NaN after each seed's end; a
    seed that stopped keeps its last value up to the longest seed's end, so
    that the mean does not jump where a seed stops.
    """
    import numpy as np

    held = np.array(curves, dtype=float)
    for row in held:
        ran = np.flatnonzero(~np.isnan(row))
        if ran.size:
            row[ran[-1] + 1:] = row[ran[-1]]
    seeds = ~np.all(np.isnan(held), axis=1)
    held = held[seeds]
    epochs = np.arange(1, held.shape[1] + 1)
    if held.shape[0] == 0:
        held, epochs = np.empty((0, 0)), np.array([])
    mean = held.mean(axis=0) if held.size else np.array([])
    (line,) = ax.plot(epochs, mean, color=color, label=label)
    fill = None
    if band and held.shape[0] > 1:
        fill = ax.fill_between(epochs, held.min(axis=0), held.max(axis=0),
                               color=line.get_color(), alpha=0.2, linewidth=0)
    return line, fill
