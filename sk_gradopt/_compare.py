"""The optimizer race: which optimizer, at which learning rate, for these data.

:func:`compare_optimizers` fits one estimator with each optimizer on the same
training part and judges them on the same held-out validation part, over
several seeds, each at its own learning rate (tuned on the validation part
over the same log grid and epoch budget for every optimizer, or given). Its
result, an
:class:`OptimizerComparison`, holds the per-epoch training and validation
losses, the validation scores, the warm time per epoch, a ranking with ties,
a flag for overfitting and, for the linear models, the exact optimum from
scikit-learn's own solvers.

The module sits beside the training stack and uses the estimators from the
outside: ``get_params`` / ``set_params``, ``clone``, ``fit``, the fitted
attributes (``loss_curve_``, ``n_iter_``), scikit-learn's scorers, and
scikit-learn's callback API to see the model at the end of every epoch. The
validation loss, the objective and the exact optimum are
:mod:`._reference`'s.
"""

import math
import time
import warnings
from numbers import Integral, Real
from typing import Any, NamedTuple

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import check_scoring
from sklearn.model_selection import train_test_split
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.validation import check_consistent_length

from ._lbfgs import SECOND_ORDER
from ._optimizers import DEFAULT_RACE, OPTIMIZERS
from ._reference import (_LossOn, _loss_is_public, reference_solution, training_objective,
                         validation_loss)

__all__ = ["OptimizerComparison", "Rank", "compare_optimizers", "overfitting_epoch"]

#: The learning rates that ``learning_rates="tune"`` starts from: half decades
#: from 1e-4 to about 3, the same for every optimizer.
TUNING_GRID = tuple(float(10.0**e) for e in np.arange(-4.0, 0.75, 0.5))

#: After the grid, the rates this factor either side of its best are tried.
REFINE_STEP = float(10.0**0.25)

#: Epochs of the warm-up fit that precedes every timed fit (in the same
#: process): compilation and first-call costs are paid there, by nobody.
WARM_UP_EPOCHS = 2

#: The overfitting flag (:func:`overfitting_epoch`): the smoothed seed-mean
#: validation loss ends more than this fraction above its minimum ...
OVERFITTING_RTOL = 0.05

#: ... rose by more than this multiple of what it fell before the minimum ...
OVERFITTING_RISE_OVER_FALL = 0.2

#: ... and by more than this multiple of its median change from one epoch to
#: the next.
OVERFITTING_RISE_OVER_NOISE = 3.0

#: Fewest epochs (common to every seed) for the overfitting flag to judge.
OVERFITTING_MIN_EPOCHS = 6

#: How a fit stopped (see :func:`stopped_by`).
DIVERGED, MAX_ITER, NO_IMPROVEMENT = "diverged", "max_iter", "no improvement"


class Rank(NamedTuple):
    """One optimizer's place in :attr:`OptimizerComparison.ranking_`."""

    name: str
    score_mean: float
    score_std: float
    #: The optimizers whose mean validation score is within the larger of
    #: the two standard deviations over seeds of this one's.
    tied_with: tuple


# --------------------------------------------------------- one epoch's view


class _EpochClock:
    """scikit-learn callback: the wall time of each epoch of a fit.

    Registered before :class:`_EpochValidation`, so that an epoch's time
    stops before the validation loss is computed.
    """

    def __init__(self):
        self.times, self._start = [], None

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        if context.task_name == "epoch":
            self._start = time.perf_counter()

    def on_fit_task_end(self, estimator, context):
        if context.task_name == "epoch":
            self.times.append(time.perf_counter() - self._start)


class _EpochValidation:
    """scikit-learn callback: the validation loss of the model after each epoch."""

    def __init__(self, loss_on):
        self.loss_on, self.losses = loss_on, []

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        if context.task_name == "epoch" and fitted_estimator is not None:
            self.losses.append(self.loss_on.mean(fitted_estimator))


def stopped_by(estimator, caught):
    """Why a fit stopped: ``"diverged"``, ``"max_iter"`` or ``"no improvement"``.

    ``caught`` are the warnings the fit raised: a diverging fit says so in a
    ``ConvergenceWarning``. A fit that used fewer than ``max_iter`` epochs
    was stopped by the ``tol`` / ``n_iter_no_change`` rule.
    """
    messages = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    if any("diverge" in m or "overflowed" in m for m in messages):
        return DIVERGED
    return MAX_ITER if estimator.n_iter_ >= estimator.max_iter else NO_IMPROVEMENT


class _Run(NamedTuple):
    """What one timed fit of the race hands back."""

    train_loss: list
    validation_loss: list
    epoch_times: list
    score: float
    objective: float
    stopped_by: str
    n_iter: int
    estimator: Any


def _warm_up(estimator, X, y):
    """A short fit of the same configuration: pays the first-call costs, untimed."""
    warm = clone(estimator).set_params(max_iter=WARM_UP_EPOCHS, tol=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warm.fit(X, y)


def _race_fit(estimator, X, y, X_val, y_val, scorer):
    """One timed fit of the race (``estimator``, unfitted), after its warm-up."""
    _warm_up(estimator, X, y)
    clock, monitor = _EpochClock(), _EpochValidation(_LossOn.of(estimator, X_val, y_val))
    estimator.set_callbacks(clock, monitor)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        estimator.fit(X, y)
    estimator.set_callbacks()
    train = [float(v) for v in estimator.loss_curve_]
    # A non-finite epoch ends the curve; the callback saw that epoch too.
    val = monitor.losses[:len(train)]
    return _Run(
        train_loss=train, validation_loss=val, epoch_times=clock.times[:len(train)],
        score=float(scorer(estimator, X_val, y_val)),
        objective=training_objective(estimator, X, y),
        stopped_by=stopped_by(estimator, caught), n_iter=int(estimator.n_iter_),
        estimator=estimator,
    )


def _tuning_fit(estimator, X, y, X_val, y_val, scorer):
    """One fit of the learning-rate search: ``(validation loss, score)`` at its end."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X, y)
    loss = validation_loss(estimator, X_val, y_val)
    score = float(scorer(estimator, X_val, y_val)) if math.isnan(loss) else math.nan
    return loss, score


def _tuning_key(loss, score):
    """Smaller is better: the validation loss, or minus the score where it is NaN."""
    if not math.isnan(loss):
        return loss
    return -score if not math.isnan(score) else math.inf


def _tune(final, names, X, y, X_val, y_val, scorer, *, seed, parallel):
    """The learning rate of each optimizer of ``names`` with the lowest validation loss.

    Every rate of :data:`TUNING_GRID`, then the two rates a quarter decade
    either side of the best, each fitted once with the full budget (the
    estimator's ``max_iter``) and the first seed. Returns ``({name: rate},
    {name: trials})``; a trial is ``(learning_rate, validation_loss)``.
    """
    trials = {name: [] for name in names}

    def run(candidates):
        jobs = [(name, rate) for name in names for rate in candidates[name]]
        results = parallel(
            delayed(_tuning_fit)(
                clone(final).set_params(optimizer=name, learning_rate=rate, random_state=seed),
                X, y, X_val, y_val, scorer)
            for name, rate in jobs
        )
        for (name, rate), (loss, score) in zip(jobs, results):
            trials[name].append((rate, loss, _tuning_key(loss, score)))

    def best(name):  # ties: the smaller rate
        return min(trials[name], key=lambda trial: (trial[2], trial[0]))[0]

    run({name: TUNING_GRID for name in names})
    run({name: [best(name) / REFINE_STEP, best(name) * REFINE_STEP] for name in names})
    rates = {name: best(name) for name in names}
    return rates, {name: [(rate, loss) for rate, loss, _ in trials[name]] for name in names}


# ------------------------------------------------------------- the result


def _padded(curves, width=None):
    """Curves as one ``(n_curves, width)`` array (the longest), NaN after each end.

    Non-finite values are NaN too.
    """
    width = max(len(c) for c in curves) if width is None else width
    out = np.full((len(curves), width), np.nan)
    for i, curve in enumerate(curves):
        out[i, :len(curve)] = curve[:width]
    out[~np.isfinite(out)] = np.nan
    return out


def overfitting_epoch(train_loss, validation_loss, *, rtol=OVERFITTING_RTOL):
    """The epoch from which the validation loss rises while the training loss falls.

    Judged on the mean over seeds of the epochs that every seed ran,
    smoothed by a moving average over a tenth of them (at least 3 epochs):
    the smoothed validation loss has its minimum at some epoch; the curves
    overfit from there when, at the end, the smoothed validation loss has
    risen above that minimum by more than

    * ``rtol`` times the minimum,
    * :data:`OVERFITTING_RISE_OVER_FALL` times what it fell from the first
      epoch to the minimum (a fit that dips below its optimum's validation
      loss on the way there does not overfit), and
    * :data:`OVERFITTING_RISE_OVER_NOISE` times the median change from one
      epoch to the next (the noise of a stochastic optimizer's curve is no
      trend),

    while the smoothed training loss ends below its value at the minimum.

    Parameters
    ----------
    train_loss, validation_loss : array of shape (n_seeds, n_epochs)
        The curves (NaN after a fit's end).
    rtol : float, default=0.05
        How far above its minimum the validation loss must end, relative to
        the minimum.

    Returns
    -------
    epoch : int or None
        The epoch (counted from 1) of the lowest validation loss, where the
        rise starts, or None when the curves do not overfit (or have fewer
        than 6 common epochs).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_gradopt._compare import overfitting_epoch
    >>> epochs = np.arange(1, 41)
    >>> train = 1.0 / epochs
    >>> overfitting_epoch(train, 0.5 + (epochs - 12.0) ** 2 / 400)
    12
    >>> overfitting_epoch(train, 0.5 + 1.0 / epochs) is None
    True
    """
    train, val = np.atleast_2d(train_loss), np.atleast_2d(validation_loss)
    finite = np.all(np.isfinite(train) & np.isfinite(val), axis=0)
    common = int(np.argmin(finite)) if not finite.all() else train.shape[1]
    if common < OVERFITTING_MIN_EPOCHS:
        return None
    t, v = train[:, :common].mean(axis=0), val[:, :common].mean(axis=0)
    width = max(3, common // 10)
    window = np.ones(width) / width
    t_smooth, v_smooth = (np.convolve(c, window, mode="valid") for c in (t, v))
    lowest = int(np.argmin(v_smooth))
    rise = float(v_smooth[-1] - v_smooth[lowest])
    fall = float(v_smooth[0] - v_smooth[lowest])
    noise = float(np.median(np.abs(np.diff(v))))
    if (rise > rtol * abs(v_smooth[lowest]) and rise > OVERFITTING_RISE_OVER_FALL * fall
            and rise > OVERFITTING_RISE_OVER_NOISE * noise
            and t_smooth[-1] < t_smooth[lowest]):
        return lowest + int(np.argmin(v[lowest:lowest + width])) + 1
    return None


def _ranking(scores):
    """:class:`Rank` entries, best mean first; ties within the spread over seeds."""
    stats = {name: (float(np.mean(s)), float(np.std(s, ddof=1)) if len(s) > 1 else 0.0)
             for name, s in scores.items()}
    order = sorted(stats, key=lambda name: -stats[name][0])
    ranks = []
    for name in order:
        mean, std = stats[name]
        tied = tuple(other for other in order if other != name
                     and abs(stats[other][0] - mean) <= max(std, stats[other][1]))
        ranks.append(Rank(name, mean, std, tied))
    return ranks


class OptimizerComparison:
    """The result of :func:`compare_optimizers`: per optimizer, by name.

    Attributes
    ----------
    optimizers_ : list of str
        The optimizers compared, in the order given.
    learning_rates_ : dict of str to float
        The learning rate of each optimizer: tuned, or as given; NaN for
        ``"lbfgs"``, which has none.
    tuned_ : dict of str to bool
        Whether each rate was tuned.
    tuning_ : dict of str to list of tuple
        The trials of the learning-rate search of each tuned optimizer,
        ``(learning_rate, validation_loss)``, in the order they ran.
    train_loss_ : dict of str to ndarray of shape (n_seeds, n_epochs)
        The estimator's ``loss_curve_`` of each seed: the training objective
        of each epoch (the mean of the mini-batch losses before each step,
        plus the penalty), NaN after the fit's last epoch.
    validation_loss_ : dict of str to ndarray of shape (n_seeds, n_epochs)
        The estimator's own per-sample loss (its ``loss``: half squared
        error, log loss...), averaged over the validation part, without the
        penalty, at the weights after each epoch (:func:`validation_loss`,
        the quantity ``early_stopping`` monitors); NaN after the last epoch.
    validation_score_ : dict of str to ndarray of shape (n_seeds,)
        ``scoring`` (the estimator's ``score`` by default) on the validation
        part at the final weights.
    final_objective_ : dict of str to ndarray of shape (n_seeds,)
        The training objective at the final weights on the training part
        (:func:`training_objective`).
    n_iter_ : dict of str to ndarray of shape (n_seeds,)
        Epochs run by each seed's fit.
    stopped_by_ : dict of str to list of str
        Why each seed's fit stopped: ``"no improvement"`` (the ``tol``
        rule), ``"max_iter"`` or ``"diverged"``.
    epoch_time_ : dict of str to float
        The median wall time of an epoch over every epoch of every seed, in
        seconds. Every timed fit follows a warm-up fit of the same
        configuration in the same process, so that compilation and
        first-call costs are charged to nobody, whatever the order of the
        optimizers.
    overfitting_epoch_ : dict of str to int or None
        The epoch from which the validation loss rises while the training
        loss falls (:func:`overfitting_epoch`), or None.
    ranking_ : list of Rank
        The optimizers by mean validation score, best first, each with its
        mean, its standard deviation over seeds and the optimizers it is
        tied with (their means differ by no more than the larger of the two
        standard deviations).
    reference_ : Reference or None
        The exact minimiser of the training objective on the training part,
        for the linear models (:func:`reference_solution`); None otherwise.
    estimators_ : dict of str to list of estimators
        Each seed's fitted estimator (a Pipeline when a Pipeline was
        compared: its preprocessing fitted once, on the training part).
    random_states_ : ndarray of shape (n_seeds,)
        The ``random_state`` of each seed's fits (initial weights and
        batches).
    train_indices_, validation_indices_ : ndarray of int
        The rows of ``X`` in the training and the validation part.
    max_iter_ : int
        The epoch budget of every fit.
    time_s_ : float
        Wall time of the whole comparison (search, warm-ups, race and
        reference), in seconds.
    """

    def __repr__(self):
        best = self.ranking_[0].name if getattr(self, "ranking_", None) else None
        return (f"OptimizerComparison(optimizers={self.optimizers_}, "
                f"n_seeds={len(self.random_states_)}, best={best!r})")


# ---------------------------------------------------------- the race


#: The parameters by which an estimator of sk_gradopt is recognised.
_ESTIMATOR_PARAMETERS = {"optimizer", "learning_rate", "max_iter", "tol", "loss", "penalty",
                         "alpha", "random_state"}


def _is_gradient_estimator(estimator):
    """Whether ``estimator`` has the parameters and the callbacks of sk_gradopt's estimators."""
    get_params = getattr(estimator, "get_params", None)
    if get_params is None or isinstance(estimator, type) or not hasattr(estimator,
                                                                        "set_callbacks"):
        return False
    return _ESTIMATOR_PARAMETERS <= set(get_params(deep=False))


def _final_step(estimator):
    """``(preprocessing or None, last step)`` of ``estimator``, checked."""
    final, pre = estimator, None
    if hasattr(estimator, "steps"):
        if not estimator.steps:
            raise ValueError("estimator is an empty Pipeline.")
        final = estimator.steps[-1][1]
        pre = estimator[:-1] if len(estimator.steps) > 1 else None
    if not _is_gradient_estimator(final):
        raise TypeError(
            "compare_optimizers needs an estimator of sk_gradopt (GradientRegressor, "
            "GradientClassifier, GradientMLPRegressor or GradientMLPClassifier), alone "
            f"or as the last step of a Pipeline; got {type(final).__name__}."
        )
    return pre, final


def _check_optimizers(optimizers):
    if optimizers is None:
        return list(DEFAULT_RACE)
    names = [optimizers] if isinstance(optimizers, str) else list(optimizers)
    unknown = [n for n in names if n not in OPTIMIZERS and n not in SECOND_ORDER]
    if unknown:
        raise ValueError(
            f"unknown optimizer {unknown[0]!r} in optimizers; the optimizers are "
            f"{', '.join(map(repr, OPTIMIZERS))} (and {', '.join(map(repr, SECOND_ORDER))} "
            "by name)."
        )
    if not names:
        raise ValueError(f"optimizers is empty; give some of {', '.join(OPTIMIZERS)}.")
    if len(set(names)) < len(names):
        raise ValueError(f"optimizers names an optimizer twice: {names}.")
    return names


def _check_rate(value, what):
    if isinstance(value, bool) or not isinstance(value, Real) or not (
            math.isfinite(value) and value > 0):
        raise ValueError(f"{what} must be a positive number; got {value!r}.")
    return float(value)


def _check_learning_rates(learning_rates, names):
    """``{name: rate}`` of the fixed rates; the other optimizers are tuned."""
    if isinstance(learning_rates, str):
        return {}
    if isinstance(learning_rates, dict):
        unknown = [k for k in learning_rates if k not in names]
        if unknown:
            raise ValueError(
                f"learning_rates has a rate for {unknown[0]!r}, which is not among the "
                f"optimizers compared: {', '.join(map(repr, names))}."
            )
        return {k: _check_rate(v, f"learning_rates[{k!r}]") for k, v in learning_rates.items()}
    rate = _check_rate(learning_rates, "learning_rates")
    return {name: rate for name in names}


def _split(X, y, validation_fraction, classifier, seed):
    """Train and validation rows, stratified for a classifier when every class allows it."""
    rows = np.arange(len(y))
    try:
        return train_test_split(rows, test_size=validation_fraction, random_state=seed,
                                stratify=np.asarray(y) if classifier else None)
    except ValueError:
        if not classifier:
            raise
        # a class with a single member cannot be stratified
        return train_test_split(rows, test_size=validation_fraction, random_state=seed)


@validate_params(
    {
        "estimator": "no_validation",
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like"],
        "optimizers": [list, tuple, str, None],
        "learning_rates": [StrOptions({"tune"}), Interval(Real, 0, None, closed="neither"),
                           dict],
        "n_seeds": [Interval(Integral, 1, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "scoring": [str, callable, None],
        "max_iter": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    },
    prefer_skip_nested_validation=False,
)
def compare_optimizers(estimator, X, y, *, optimizers=None, learning_rates="tune",
                       n_seeds=3, validation_fraction=0.2, scoring=None, max_iter=None,
                       random_state=None, n_jobs=None):
    """Race the optimizers of one estimator, each at its learning rate, over seeds.

    ``X, y`` are split once into a training and a validation part (stratified
    for classifiers). Each optimizer's clone of ``estimator`` is fitted on the
    training part once per seed (the seeds change the initial weights and the
    batches, never the split); each epoch's training objective and
    validation loss are recorded and the final model is scored on the
    validation part. Every other parameter of ``estimator`` applies to every
    fit. With ``learning_rates="tune"``, each optimizer's rate is picked on
    the validation part (first seed, whole budget) from the log grid
    :data:`TUNING_GRID` refined a quarter decade either side of its best:
    12 fits per optimizer before the race.

    Parameters
    ----------
    estimator : estimator instance
        An estimator of sk_gradopt, or a Pipeline ending in one (the other
        steps are fitted once, on the training part). Not modified.
    X : array-like of shape (n_samples, n_features)
        Data.
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Targets.
    optimizers : list of str, default=None
        The optimizers to compare, among ``sk_gradopt.OPTIMIZERS``; None is
        the five classics ("gd" to "adam"); ``"lbfgs"`` races when named, with
        no learning rate (NaN in ``learning_rates_``).
    learning_rates : "tune", float or dict of str to float, default="tune"
        ``"tune"`` searches each optimizer's rate; a float is every
        optimizer's; a dict fixes the rates it names, the others are tuned.
    n_seeds : int, default=3
        Fits per optimizer, with different ``random_state``.
    validation_fraction : float, default=0.2
        The fraction of the rows held out for validation.
    scoring : str, callable or None, default=None
        The validation score (a scorer name or callable); None is the
        estimator's ``score`` (R^2 or accuracy).
    max_iter : int, default=None
        The epoch budget of every fit; None keeps the estimator's.
    random_state : int, RandomState instance or None, default=None
        Draws the split and the seeds.
    n_jobs : int, default=None
        Fits in parallel by joblib; the epoch times then share the machine.

    Returns
    -------
    comparison : OptimizerComparison
        The curves, scores, times, ranking and reference of the race.

    See Also
    --------
    OptimizerComparisonDisplay : Its curves, drawn.
    lr_range_test : The loss against a rising learning rate.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sk_gradopt import GradientRegressor, compare_optimizers
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=10.0, random_state=0)
    >>> race = compare_optimizers(GradientRegressor(max_iter=100), X, y / y.std(),
    ...                           optimizers=["sgd", "adam"], learning_rates=0.05,
    ...                           n_seeds=2, random_state=0)
    >>> race.train_loss_["adam"].shape[0], race.validation_score_["adam"].shape
    (2, (2,))
    >>> race.reference_.name
    'Ridge(alpha=0.0001 * 160)'
    """
    started = time.perf_counter()
    pre, final = _final_step(estimator)
    names = _check_optimizers(optimizers)
    fixed = _check_learning_rates(learning_rates, names)
    check_consistent_length(X, y)
    scorer = check_scoring(final, scoring=scoring)
    budget = int(final.max_iter if max_iter is None else max_iter)
    final = clone(final).set_params(max_iter=budget)
    rng = check_random_state(random_state)
    split_seed = int(rng.randint(np.iinfo(np.int32).max))
    seeds = rng.randint(np.iinfo(np.int32).max, size=n_seeds)
    data = _race_data(pre, X, y, validation_fraction, is_classifier(final), split_seed)
    parallel = Parallel(n_jobs=n_jobs)
    rates, trials = _rates(final, names, fixed, data, scorer, int(seeds[0]), parallel)
    by_name = _race(final, names, rates, seeds, data, scorer, parallel)
    result = _comparison(by_name, rates, fixed, trials, final)
    _attach_models(result, by_name, final, data, estimator)
    result.random_states_ = np.asarray(seeds)
    result.max_iter_ = budget
    result.time_s_ = time.perf_counter() - started
    return result


def _rates(final, names, fixed, data, scorer, seed, parallel):
    """``(rates, trials)``: the ``fixed`` rates, the others tuned (:func:`_tune`); L-BFGS NaN."""
    none = {name: math.nan for name in names if name in SECOND_ORDER}  # no learning rate
    to_tune = [name for name in names if name not in fixed and name not in SECOND_ORDER]
    if not to_tune:
        return {**fixed, **none}, {}
    tuned, trials = _tune(final, to_tune, *data.parts, scorer, seed=seed, parallel=parallel)
    return {**fixed, **tuned, **none}, trials


def _attach_models(result, by_name, final, data, estimator):
    """The fitted models (with the fitted preprocessing), the reference and the rows."""
    result.estimators_ = {name: [r.estimator if data.pre is None else
                                 _with_preprocessing(estimator, data.pre, r.estimator)
                                 for r in runs] for name, runs in by_name.items()}
    best = min((r for rs in by_name.values() for r in rs), key=lambda r: r.objective)
    result.reference_ = reference_solution(final, data.parts[0], data.parts[1],
                                           init=best.estimator)
    result.train_indices_, result.validation_indices_ = data.train_rows, data.val_rows


class _RaceData(NamedTuple):
    """The race's two parts (``parts``: X_train, y_train, X_val, y_val), their rows
    and the preprocessing fitted on the training part (None without)."""

    parts: tuple
    train_rows: Any
    val_rows: Any
    pre: Any


def _race_data(pre, X, y, validation_fraction, classifier, split_seed):
    """Split ``X, y`` once; fit the preprocessing ``pre`` (or None) on the training part."""
    train_rows, val_rows = _split(X, y, validation_fraction, classifier, split_seed)
    X_train, X_val = _safe_indexing(X, train_rows), _safe_indexing(X, val_rows)
    y_train, y_val = _safe_indexing(y, train_rows), _safe_indexing(y, val_rows)
    if pre is not None:
        pre = clone(pre)
        X_train = pre.fit_transform(X_train, y_train)
        X_val = pre.transform(X_val)
    return _RaceData((X_train, y_train, X_val, y_val), train_rows, val_rows, pre)


def _race(final, names, rates, seeds, data, scorer, parallel):
    """``{name: [run per seed]}``: every optimizer fitted once per seed at its rate."""
    # seed by seed, each optimizer in turn: a burst of load on the machine is
    # shared out over the optimizers instead of landing on one
    jobs = [(name, int(seed)) for seed in seeds for name in names]
    runs = parallel(
        delayed(_race_fit)(
            clone(final).set_params(
                optimizer=name, random_state=seed,
                learning_rate=final.learning_rate if math.isnan(rates[name]) else rates[name]),
            *data.parts, scorer)
        for name, seed in jobs
    )
    by_name = {name: [] for name in names}
    for (name, _), run in zip(jobs, runs):
        by_name[name].append(run)
    return by_name


def _comparison(by_name, rates, fixed, trials, final):
    """The :class:`OptimizerComparison` of the runs: curves, scores, times, ranking."""
    names = list(by_name)
    result = OptimizerComparison()
    result.optimizers_ = names
    result.learning_rates_ = {name: float(rates[name]) for name in names}
    result.tuned_ = {name: name not in fixed and name not in SECOND_ORDER for name in names}
    result.tuning_ = trials
    result.train_loss_ = {n: _padded([r.train_loss for r in by_name[n]]) for n in names}
    result.validation_loss_ = {
        n: _padded([r.validation_loss for r in by_name[n]], result.train_loss_[n].shape[1])
        for n in names
    }
    result.validation_score_ = {n: np.array([r.score for r in by_name[n]]) for n in names}
    result.final_objective_ = {n: np.array([r.objective for r in by_name[n]]) for n in names}
    result.n_iter_ = {n: np.array([r.n_iter for r in by_name[n]]) for n in names}
    result.stopped_by_ = {n: [r.stopped_by for r in by_name[n]] for n in names}
    result.epoch_time_ = {
        n: float(np.median([t for r in by_name[n] for t in r.epoch_times] or [np.nan]))
        for n in names
    }
    result.overfitting_epoch_ = {
        n: overfitting_epoch(result.train_loss_[n], result.validation_loss_[n]) for n in names
    }
    result.ranking_ = _ranking(result.validation_score_)
    if not _loss_is_public(final):
        warnings.warn(
            f"validation_loss_ is NaN for {type(final).__name__}(loss="
            f"{final.loss!r}): its public outputs (no decision_function) do not "
            "determine that loss. The ranking and the search use the validation score.",
            UserWarning,
        )
    return result


def _with_preprocessing(pipeline, pre, fitted):
    """A Pipeline of the fitted preprocessing ``pre`` and the fitted last step."""
    from sklearn.pipeline import Pipeline

    steps = list(pre.steps) + [(pipeline.steps[-1][0], fitted)]
    return Pipeline(steps, memory=pipeline.memory, verbose=pipeline.verbose)
