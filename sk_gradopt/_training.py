"""The one training loop: epochs, stopping, the divergence guard, callbacks, loss curves.

Every estimator hands :func:`train` the same things: its data (a
:class:`~sk_gradopt._epoch.Data`), a :class:`~sk_gradopt._epoch.Config`
built from its parameters (the model, the loss, the penalty, the optimizer and
the loop's settings) and the :class:`Progress` to continue from (the
parameters, the optimizer state and the counters). :func:`train` runs epochs
(:mod:`._epoch` says what one is) and returns the new :class:`Progress`; it
changes nothing else, so an error in the middle of a fit leaves the estimator
as it was.

Two small objects hold the loop's decisions: :class:`Stopping` (the
no-improvement rule, and the rules that lower the learning rate on a plateau
of the monitored loss: ``schedule="adaptive"`` and
:class:`~sk_gradopt.schedules.ReduceLROnPlateau`) and
:class:`Guard` (the divergence guard, and the best finite weights it keeps).
"""

import math
import sys
import time
import warnings
from dataclasses import dataclass, field, replace
from typing import Any, Callable, NamedTuple

import numpy as np
from array_api_compat import array_namespace, is_dask_array
from sklearn.exceptions import ConvergenceWarning

from ._array_api import largest_abs
from ._averaging import Average, averaged_weights
from ._epoch import Data, epoch_runner, objective, weight_sum
from ._tree import tree_leaves

__all__ = ["Averages", "Callbacks", "Guard", "Monitor", "Progress", "Stopping", "train"]

#: A call whose training objective ends above this multiple of where it
#: started on the same data (or of the zero model's, when that is larger)
#: is treated as diverged, as is any non-finite value.
DIVERGENCE_FACTOR = 10.0

#: Within one call, an objective that grows this many times over its start
#: while far above the zero model's has diverged (see :meth:`Guard.diverged`).
SLOW_GROWTH = 1.5

#: The final weights of a call are checked on a probe of at least this many
#: rows spread over the data (see :class:`Guard`).
PROBE_ROWS = 2048

#: ``schedule="adaptive"`` divides the learning rate by this on a plateau...
ADAPTIVE_DECAY = 5.0

#: ... and stops once the learning rate falls below this.
MIN_ADAPTIVE_LEARNING_RATE = 1e-6


@dataclass
class Progress:
    """Where a fit stands: what the estimator exposes as its fitted state."""

    params: Any
    opt_state: Any
    t: int = 0
    n_iter: int = 0
    loss_curve: list = field(default_factory=list)
    validation_loss_curve: Any = None
    best_loss: float = math.inf
    validation_scores: Any = None  # list of float with a validation scorer, else None
    average: Any = None  # the _averaging.Average of the iterates, when averaging
    learning_rate_curve: list = field(default_factory=list)
    grad_norm_curve: list = field(default_factory=list)
    plateau: Any = None  # a ReduceLROnPlateau's state (Plateau), carried over partial_fit

    @classmethod
    def start(cls, params, optimizer, with_validation, *, scoring=False):
        """The progress of a fit that starts at ``params``.

        With validation data, a fit records the validation loss per epoch, or
        with ``scoring`` the validation score.
        """
        return cls(params, optimizer.init(params),
                   validation_loss_curve=[] if with_validation and not scoring else None,
                   validation_scores=[] if with_validation and scoring else None)

    @property
    def weights(self):
        """The weights the estimator exposes: the average of the iterates where one is taken."""
        return averaged_weights(self.params, self.average)

    def record(self, loss, epoch):
        """Append an epoch's training objective, last rate and mean gradient norm.

        A norm beyond the float range (a gradient whose squares overflow,
        on an epoch whose loss stayed finite) is recorded as the largest float.
        """
        self.loss_curve.append(loss)
        self.learning_rate_curve.append(epoch.learning_rate)
        self.grad_norm_curve.append(min(epoch.grad_norm_sum / max(epoch.n_steps, 1),
                                        sys.float_info.max))

    def copy(self):
        copied = lambda curve: None if curve is None else list(curve)  # noqa: E731
        return replace(self, loss_curve=list(self.loss_curve),
                       validation_loss_curve=copied(self.validation_loss_curve),
                       validation_scores=copied(self.validation_scores),
                       learning_rate_curve=list(self.learning_rate_curve),
                       grad_norm_curve=list(self.grad_norm_curve))


# ---------------------------------------------------------------- the loop


def train(data, validation, progress, config, *, rng, n_epochs, stopping, zero_init=False,
          callbacks=None, compiled=True, check_input=None, score=None):
    """Run up to ``n_epochs`` epochs from ``progress``; return the new progress.

    Parameters
    ----------
    data : Data
        The training data.
    validation : Data or None
        Held-out data, monitored instead of the training objective; the
        weights of its best value are kept (see :class:`Monitor`).
    progress : Progress
        Where to start; not modified.
    config : Config
        The model, loss, penalty, optimizer and settings.
    rng : numpy.random.RandomState
        Draws the batches.
    n_epochs : int
        The most epochs to run.
    stopping : bool
        Whether the no-improvement rule (``config.tol``) may stop the run.
    zero_init : bool, default=False
        Whether ``progress.params`` is the zero model (saves a pass over X).
    callbacks : Callbacks or None
        Told about each epoch; a callback can stop the run.
    compiled : bool, default=True
        Whether epochs use the compiled code where it applies (see
        :func:`~sk_gradopt._epoch.epoch_runner`); False runs the reference.
    check_input : callable or None
        Raises if the input holds NaN or infinity: called on a non-finite
        value only (see :class:`Guard`), not before the epochs.
    score : callable or None
        ``score(params)`` (higher is better): monitored instead of the validation loss.

    Returns
    -------
    Progress
    """
    progress = progress.copy()
    if data.weight_sum == 0:  # every sample weighs 0 (zero class weights): a no-op
        return progress
    config = replace(config, steps_per_epoch=_steps_per_epoch(data, config))
    run_epoch, exact = _engine(data, config, compiled)
    guard = Guard(config, data, exact, progress.params, zero_init=zero_init,
                  check_input=check_input)
    rule = Stopping.of(config, progress.best_loss, active=stopping, plateau=progress.plateau,
                       maximize=score is not None)
    monitor, averages = Monitor(guard, validation, score), Averages.of(config, progress)
    params, opt_state, best_params, outcome = progress.params, progress.opt_state, None, None
    with np.errstate(all="ignore"):
        for _ in range(n_epochs):
            start_time, before = time.perf_counter(), params
            context = None if callbacks is None else callbacks.begin_epoch()
            epoch = run_epoch(
                params, opt_state, data, config, rng=rng, step=progress.t,
                epoch=progress.n_iter, base_lr=rule.learning_rate,
                mean_weight=data.weight_sum / data.n_samples, **averages.argument(),
            )
            params, opt_state = epoch.params, epoch.opt_state
            exposed = averages.advance(params, epoch.average)  # the average, where averaging
            progress.t += epoch.n_steps
            progress.n_iter += 1
            loss = epoch.loss_sum / data.weight_sum + config.penalty.value(before)
            stop_requested = context is not None and callbacks.end(context, exposed)
            if math.isfinite(loss):
                progress.record(loss, epoch)
            outcome = averages.judge(guard, loss, before, params, opt_state)
            if outcome is not None:
                break
            monitored = monitor.observe(loss, exposed, progress)
            if config.verbose:
                _print_epoch(progress, loss, monitor.last, epoch.learning_rate,
                             time.perf_counter() - start_time)
            if rule.observe(monitored):
                best_params = averages.keep_best(params)
            if stop_requested or rule.converged():  # a callback asked, or the rule
                outcome = "converged"
                break

    monitor.finish(progress, rule.best)
    progress.plateau = rule.plateau
    if validation is not None and best_params is not None:
        params = best_params
    params, opt_state, outcome = guard.settle(
        params, opt_state, outcome, progress, keep_best=validation is None)
    if stopping and outcome is None and config.tol is not None:
        _warn_max_iter(config)
    progress.params, progress.opt_state = params, opt_state
    progress.average = averages.of_params(params, best_params, guard)
    return progress


def _engine(data, config, compiled):
    """``(run_epoch, objective)`` for ``data``: the one place that chooses where they run.

    Dask data run blockwise where the blocks live (:mod:`._dask`, each block
    with an in-memory epoch); in-memory data as
    :func:`~sk_gradopt._epoch.epoch_runner` chooses.
    """
    if is_dask_array(data.X):
        from . import _dask

        return _dask.epoch_runner(data, config, compiled=compiled), _dask.objective
    return epoch_runner(data, config, compiled=compiled), objective


def _steps_per_epoch(data, config):
    """The optimizer steps of one epoch of ``data``: its batches (on Dask, each block's)."""
    size = config.batch_size_for(data.n_samples)
    if is_dask_array(data.X) and size < data.n_samples:
        return sum(-(-rows // min(size, rows)) for rows in data.X.chunks[0] if rows)
    return -(-data.n_samples // size)


def _print_epoch(progress, loss, validation, learning_rate, seconds):
    """The line ``verbose`` prints after each epoch; ``validation``: ``(name, value)`` or None."""
    extra = "" if validation is None else f", validation {validation[0]} = {validation[1]:.8f}"
    print(
        f"Epoch {progress.n_iter}, loss = {loss:.8f}{extra}, "
        f"learning_rate = {learning_rate:.4g}, time = {seconds:.3f}s"
    )


# ------------------------------------------------------------ stopping


@dataclass
class Stopping:
    """The no-improvement rule, and the rules that lower the rate on a plateau.

    An epoch whose monitored loss is not below the best one by ``tol`` counts
    as no improvement; after ``n_iter_no_change`` of them in a row the run
    has converged, except that ``"adaptive"`` first divides the base learning
    rate by ``ADAPTIVE_DECAY`` (as ``SGDRegressor(learning_rate="adaptive")``
    does), until it falls below ``MIN_ADAPTIVE_LEARNING_RATE``. ``tol=None``
    never stops; the best loss is tracked either way.

    With a :class:`~sk_gradopt.schedules.ReduceLROnPlateau` schedule,
    ``plateau`` (a :class:`Plateau`) applies torch's rule to every epoch's
    monitored loss, whether or not the run may stop, and lowers the base
    learning rate; its state carries over ``partial_fit`` calls.
    """

    tol: Any  # float or None
    n_iter_no_change: int
    learning_rate: float  # the base learning rate of the next epoch
    adaptive: bool = False
    best: float = math.inf
    no_improvement: int = 0
    plateau: Any = None  # Plateau or None
    schedule: Any = None  # the ReduceLROnPlateau whose rule ``plateau`` follows
    maximize: bool = False  # the monitored value is minus a score (torch's mode "max")

    @classmethod
    def of(cls, config, best, *, active, plateau=None, maximize=False):
        """The rule of ``config``, from the best loss so far; ``active=False`` never stops.

        ``plateau``: the state a ``ReduceLROnPlateau`` schedule reached in an
        earlier ``partial_fit`` call, or None (a fresh one). ``maximize``: the
        monitored value is minus a validation score, whose plateau rule is
        torch's ``mode="max"``.
        """
        rule = cls(config.tol if active else None, config.n_iter_no_change,
                   config.learning_rate, _is_adaptive(config.schedule), best)
        if getattr(config.schedule, "plateau_rule", False):
            rule.plateau = plateau if plateau is not None else Plateau(config.learning_rate)
            rule.schedule, rule.maximize = config.schedule, maximize
            rule.learning_rate = rule.plateau.learning_rate
        return rule

    def observe(self, monitored):
        """Count an epoch's monitored loss; return whether it is the best so far."""
        if self.plateau is not None:
            self.plateau = self.plateau.step(monitored, self.schedule, maximize=self.maximize)
            self.learning_rate = self.plateau.learning_rate
        if self.tol is not None:
            if monitored > self.best - self.tol:
                self.no_improvement += 1
            else:
                self.no_improvement = 0
        if monitored < self.best:
            self.best = monitored
            return True
        return False

    def converged(self):
        """Whether the run stops here; ``"adaptive"`` lowers the learning rate instead."""
        if self.no_improvement < self.n_iter_no_change:
            return False
        if self.adaptive and self.learning_rate > MIN_ADAPTIVE_LEARNING_RATE:
            self.learning_rate /= ADAPTIVE_DECAY
            self.no_improvement = 0
            return False
        return True


class Monitor:
    """What the stopping rule watches after each epoch (lower is better), and the curves it fills.

    Without validation data: the epoch's training objective. With it: the
    weights the estimator exposes (the average of the iterates, where
    averaging) judged on it, by their validation loss
    (``validation_loss_curve``) or, given ``score``, by their score
    (``validation_scores``; higher is better, so the rule watches minus the
    score). The training objective, the divergence guard and the stopping
    rule's counter are those of the raw iterates either way.
    """

    def __init__(self, guard, validation, score):
        self.guard, self.validation, self.score = guard, validation, score
        self.last = None  # ("loss" or "score", value) of the last epoch, for verbose

    def observe(self, loss, weights, progress):
        """The monitored value of an epoch whose training objective was ``loss``."""
        if self.validation is None:
            return loss
        if self.score is None:
            value = self.guard.monitor(self.validation, weights)
            progress.validation_loss_curve.append(value)
            self.last = ("loss", value)
            return value
        value = float(self.score(weights))
        progress.validation_scores.append(value)
        self.last = ("score", value)
        return math.inf if math.isnan(value) else -value

    def finish(self, progress, best):
        """Record the rule's best value: the best loss, or None where a score was watched."""
        progress.best_loss = best if self.score is None else None


class Averages:
    """The average of the iterates (``config.average``) through one call of :func:`train`.

    The loop may end on other weights than the last (the best on the
    validation data, or the guard's safe ones, see :meth:`Guard.settle`):
    the average taken when they were the iterate goes with them, so that a
    diverging fit ends with a finite average. An average that is not finite
    (it cannot be, from finite iterates, but for overflow) is started afresh.
    """

    def __init__(self, average):
        self.current = self.before = self.safe = average
        self.best = None
        self.last_params = None

    @classmethod
    def of(cls, config, progress):
        """The tracker of a call from ``progress``: empty where ``config`` does not average."""
        if not config.average:
            return cls(None)
        return cls(Average(None, 0) if progress.average is None else progress.average)

    def argument(self):
        """The epoch's keyword arguments: the average to update, where averaging."""
        return {} if self.current is None else {"average": self.current}

    def advance(self, params, average):
        """An epoch ended at ``params`` with ``average``: return the weights to expose."""
        self.before, self.current, self.last_params = self.current, average, params
        return averaged_weights(params, average)

    def judge(self, guard, loss, before, params, opt_state):
        """:meth:`Guard.judge`; keep the average that goes with the guard's safe weights."""
        outcome = guard.judge(loss, before, params, opt_state)
        if guard.safe_params is before:
            self.safe = self.before
        return outcome

    def keep_best(self, params):
        """``params`` are the best so far: keep their average; return them."""
        self.best = self.current
        return params

    def of_params(self, params, best_params, guard):
        """The average that goes with the weights ``params`` the call ends with."""
        if self.current is None:
            return None
        if params is self.last_params:
            average = self.current
        elif params is best_params:
            average = self.best
        else:  # the guard's safe weights (or the call's start)
            average = self.safe
        return average if _all_finite(0.0, average) else Average(None, 0)


def _is_adaptive(schedule):
    """Whether ``schedule`` is the ``"adaptive"`` shortcut (a schedule object never is)."""
    return isinstance(schedule, str) and schedule == "adaptive"


class Plateau(NamedTuple):
    """The state of torch's ``ReduceLROnPlateau`` (mode ``"min"``, relative threshold).

    ``learning_rate`` is the current base rate; ``best``, ``bad_epochs`` and
    ``cooldown`` torch's ``best``, ``num_bad_epochs`` and ``cooldown_counter``.
    """

    learning_rate: float
    best: float = math.inf
    bad_epochs: int = 0
    cooldown: int = 0

    def step(self, value, schedule, *, maximize=False):
        """The state after an epoch whose monitored value is ``value`` (torch's ``step``).

        With ``maximize``, ``value`` is minus a score, and the rule is torch's
        ``mode="max"``: the score improves on ``score > best * (1 + threshold)``.
        """
        rate, best, bad, cooldown = self
        relative = 1.0 + float(schedule.threshold) if maximize else 1.0 - float(schedule.threshold)
        if value < best * relative:
            best, bad = value, 0
        else:
            bad += 1
        if cooldown > 0:
            cooldown, bad = cooldown - 1, 0
        if bad > schedule.patience:
            reduced = max(rate * float(schedule.factor), float(schedule.min_lr))
            if rate - reduced > PLATEAU_EPS:
                rate = reduced
            cooldown, bad = int(schedule.cooldown), 0
        return Plateau(rate, best, bad, cooldown)


#: torch's ``ReduceLROnPlateau(eps=1e-8)``: a smaller reduction is skipped.
PLATEAU_EPS = 1e-8


# ------------------------------------------------------------ the guard


class Guard:
    """The divergence guard of one call of :func:`train`, and the best finite weights seen.

    It judges from what the epochs compute anyway: each epoch's training
    objective, summed from its batch losses (each at the parameters before
    its step). A value that is not finite has diverged; so has one that is
    both ``DIVERGENCE_FACTOR`` times the zero model's objective and
    ``SLOW_GROWTH`` times the objective where the call started, both on this
    call's data (see :meth:`diverged`). When a call diverges, or the
    optimizer state overflows, it ends with the best finite weights seen
    (those of the lowest epoch objective) and a fresh optimizer state, and
    warns.

    An exact pass over the data is made only where a decision needs one:

    * the objective at the call's start, once an epoch's objective is above
      ``DIVERGENCE_FACTOR`` times the zero model's (whose objective costs no
      pass over X); a call from the zero model knows it without a pass;
    * the final weights, which no epoch measured, are checked on a probe: a
      batch's worth of rows spread over the data (at least ``PROBE_ROWS``;
      all the rows for a full batch, small data or Dask data). Only a probe
      that looks diverged calls for the exact objective over all rows;
    * when the stopping rule ends the run, the final and the best weights
      are compared exactly (the rule can stop an oscillating fit on an
      overshoot);
    * the input is checked for NaN and infinity (``check_input``) only when
      a value comes out non-finite: a NaN or an infinity in X always does
      (in the loss, or in the gradient as ``inf * 0``), so no pass over X
      is made for it before the epochs.

    Parameters
    ----------
    config : Config
    data : Data
        This call's training data.
    exact : callable
        ``exact(config, data, params)``: the training objective on ``data``
        (``params=None``: the zero model's).
    params : tuple of Layer
        The parameters at the call's start.
    zero_init : bool
        Whether ``params`` is the zero model.
    check_input : callable or None
        Raises a ``ValueError`` if the input holds NaN or infinity.
    """

    def __init__(self, config, data, exact, params, *, zero_init, check_input=None):
        self.config, self.data, self.exact = config, data, exact
        self.check_input = check_input
        self.zero = exact(config, data, None)
        self.first_params = params
        self._start = self.zero if zero_init else None
        if not math.isfinite(self.zero):  # values this large are refused if the start overflows
            self.start  # noqa: B018 (computed and checked)
        self.safe_loss = math.inf if self._start is None else self._start
        self.safe_params = params
        self.bad_value = None

    @property
    def start(self):
        """The objective at the call's start: one exact pass, made when first asked."""
        if self._start is None:
            self._start = self.exact(self.config, self.data, self.first_params)
        _check_finite_start(self.data, self._start)
        return self._start

    def diverged(self, value):
        """Whether a training objective of ``value`` (on this call's data) means divergence.

        A non-finite value has diverged. So has one that is above
        ``DIVERGENCE_FACTOR`` times the zero model's objective (which keeps
        noise near the optimum from counting) and ``SLOW_GROWTH`` times the
        objective where the call started (a blow-up, fast or over several
        ``partial_fit`` calls). A call that starts high, on data unlike what
        the model learned (a level shift in a stream), and comes down or
        barely moves, has not diverged. The start is computed only for a
        value above the first bound.
        """
        if not math.isfinite(value):
            return True
        if not value > DIVERGENCE_FACTOR * self.zero:
            return False
        return value > SLOW_GROWTH * self.start

    def judge(self, loss, before, params, opt_state):
        """Judge an epoch: ``"diverged"``, ``"overflow"`` or None (carry on).

        ``loss`` is the epoch's training objective, measured on its way from
        ``before`` (the parameters it started from) to ``params``; the best
        finite weights are those of the lowest such loss.
        """
        if not _all_finite(loss, params):
            self._check_input()  # (NaN in X shows here first)
            self.bad_value = loss
            return "diverged"
        if self.diverged(loss):
            self.bad_value = loss
            return "diverged"
        if loss < self.safe_loss:
            self.safe_loss, self.safe_params = loss, before
        if not _all_finite(0.0, opt_state):
            self._check_input()
            return "overflow"
        return None

    def monitor(self, validation, params):
        """The loss on the validation data at ``params`` (the input checked if not finite)."""
        value = self.exact(self.config, validation, params, with_penalty=False)
        if not math.isfinite(value):
            self._check_input()
        return value

    def _check_input(self):
        if self.check_input is not None:
            self.check_input()

    def settle(self, params, opt_state, outcome, progress, *, keep_best):
        """The parameters, state and outcome the call ends with; warns about a blow-up.

        A run that ended normally (``outcome`` None or ``"converged"``) is
        judged on its final weights (the probe of the class docstring). One
        that converged keeps the best weights seen instead of the last
        (``keep_best``, without validation data) when they are better, both
        measured exactly.
        """
        if outcome in (None, "converged"):
            compare = outcome == "converged" and keep_best and self.safe_params is not params
            final = self._objective(params) if compare else self._probe(params)
            if final is not None and self.diverged(final):
                outcome, self.bad_value = "diverged", final
            elif compare and self._objective(self.safe_params) < final:
                params = self.safe_params
        if outcome not in ("diverged", "overflow"):
            return params, opt_state, outcome
        if self.safe_loss == math.inf:  # no epoch was measured: the weights of the start
            self.safe_loss = self.start
        if outcome == "diverged":
            _warn_diverged(self.config, progress, max(self.zero, self.start),
                           self.bad_value, self.safe_loss)
        else:
            _warn_overflow(self.config, progress, self.data, self.safe_loss)
        if progress.best_loss == math.inf:
            progress.best_loss = self.safe_loss
        # The optimizer state saw the blow-up: start it afresh.
        return self.safe_params, self.config.optimizer.init(self.safe_params), outcome

    def _objective(self, params):
        return self.exact(self.config, self.data, params)

    def _probe(self, params):
        """The exact objective at ``params`` if a probe of rows hints at divergence, else None."""
        probe = _probe_rows(self.data, self.config)
        if probe is None:  # the probe is every row: exact already
            return self._objective(params)
        value = self.exact(self.config, probe, params)
        zero = self.exact(self.config, probe, None)
        if math.isfinite(value) and value <= DIVERGENCE_FACTOR * zero:
            return None
        return self._objective(params)


def _probe_rows(data, config):
    """A batch's worth of rows of ``data`` (at least ``PROBE_ROWS``) spread evenly over it.

    None where that is most of the rows (a full batch, small data), or on
    Dask data: the probe is then every row.
    """
    n = data.n_samples
    rows = max(config.batch_size_for(n), PROBE_ROWS)
    if 2 * rows > n or is_dask_array(data.X):
        return None
    step = n // rows
    X, Y, sw = (None if a is None else a[::step, ...] for a in data[:3])
    total = weight_sum(sw, X.shape[0])
    return Data(X, Y, sw, total) if total > 0 else None


def _check_finite_start(data, start):
    """Refuse data on which the objective overflows before any step."""
    if math.isfinite(start):
        return
    xp = array_namespace(data.Y)
    with np.errstate(all="ignore"):
        largest_y = float(xp.max(xp.abs(data.Y)))
        largest_x = largest_abs(data.X)
    raise ValueError(
        f"The training objective at the initial weights is not finite ({start}): "
        f"the values are too large for {data.X.dtype} (largest |y| = {largest_y:.3g}, "
        f"largest |X| = {largest_x:.3g}). Scale the targets (e.g. with "
        "sklearn.compose.TransformedTargetRegressor(transformer=StandardScaler())) "
        "and the features (StandardScaler)."
    )


def _warn_max_iter(config):
    warnings.warn(
        f"Maximum number of epochs (max_iter={config.max_iter}) reached and "
        f"the optimization with optimizer={config.optimizer_name!r} and "
        f"learning_rate={config.learning_rate} hasn't converged yet. "
        "Increase max_iter, or tune learning_rate.",
        ConvergenceWarning,
    )


def _warn_diverged(config, progress, start, end, kept):
    warnings.warn(
        f"The fit diverged with optimizer={config.optimizer_name!r} and "
        f"learning_rate={config.learning_rate}: the training objective went "
        f"from {start:.4g} to {end:.4g} at epoch {progress.n_iter}. The best "
        f"finite weights seen (objective {kept:.4g}) were kept. Lower "
        "learning_rate.",
        ConvergenceWarning,
    )


def _warn_overflow(config, progress, data, kept):
    largest_x = largest_abs(data.X)
    warnings.warn(
        f"The state of optimizer={config.optimizer_name!r} overflowed at epoch "
        f"{progress.n_iter}: the squared gradients exceed the largest {data.X.dtype} "
        f"value (largest |X| = {largest_x:.3g}), so the steps had stopped. The best "
        f"finite weights seen (objective {kept:.4g}) were kept and the optimizer "
        "state was reset. Scale the features (e.g. StandardScaler in a Pipeline).",
        ConvergenceWarning,
    )


def _all_finite(loss, tree):
    """Whether ``loss`` and every array leaf of ``tree`` are finite."""
    if not math.isfinite(loss):
        return False
    for leaf in tree_leaves(tree):
        if hasattr(leaf, "shape"):
            xp = array_namespace(leaf)
            if not bool(xp.all(xp.isfinite(leaf))):
                return False
    return True


class Callbacks(NamedTuple):
    """scikit-learn's callback hooks (``sklearn.callback``): one task per epoch.

    ``attributes(params)`` gives the fitted attributes of an estimator at
    ``params``, so that a callback sees a model that predicts.
    """

    estimator: Any
    context: Any
    X: Any
    y: Any
    metadata: Any
    attributes: Callable

    @classmethod
    def begin(cls, estimator, n_epochs, X, y, sample_weight, attributes):
        """Open the fit task, or return None where sklearn has no callback API."""
        if not hasattr(estimator, "_init_callback_context"):
            return None
        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        context = estimator._init_callback_context(max_subtasks=n_epochs)
        context.call_on_fit_task_begin(estimator=estimator, X=X, y=y, metadata=metadata)
        return cls(estimator, context, X, y, metadata, attributes)

    def begin_epoch(self):
        context = self.context.subcontext(task_name="epoch")
        context.call_on_fit_task_begin(
            estimator=self.estimator, X=self.X, y=self.y, metadata=self.metadata
        )
        return context

    def end(self, context, params):
        """End a task; return whether a callback asked to stop."""
        return context.call_on_fit_task_end(
            estimator=self.estimator, X=self.X, y=self.y, metadata=self.metadata,
            reconstruction_attributes=lambda: self.attributes(params),
        )
