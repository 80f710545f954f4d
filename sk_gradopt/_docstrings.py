"""Docstring sections shared by the estimators (formatted into their docstrings)."""

FIT_INTERCEPT = """\
fit_intercept : bool, default=True
        Whether to fit an intercept."""

OPTIMIZER_PARAMETERS = """\
optimizer : {"gd", "sgd", "momentum", "rmsprop", "adam", "adagrad", "adadelta", \
"adamax", "nadam", "radam", "lbfgs"}, default="adam"
        The gradient optimizer. ``"gd"`` is full-batch gradient descent;
        ``"sgd"`` is mini-batch stochastic gradient descent (``batch_size=1``
        is textbook per-sample SGD); the others use mini-batches too. Update
        rules follow ``torch.optim`` (``SGD``, ``RMSprop``, ``Adam``,
        ``Adagrad``, ``Adadelta``, ``Adamax``, ``NAdam``, ``RAdam``); see the
        user guide for each rule and its defaults.
        ``"lbfgs"`` is full-batch L-BFGS through ``scipy.optimize`` (as
        ``MLPRegressor(solver="lbfgs")``), the second-order comparator: it
        has no learning rate, and ignores ``learning_rate``, ``schedule``,
        ``warmup_steps``, ``max_grad_norm``, ``weight_decay``,
        ``batch_size``, ``shuffle``, ``average`` and ``early_stopping``; it
        needs a smooth penalty (``"l2"`` or None) and has no ``partial_fit``
        (see the user guide).

    learning_rate : float or "auto", default=0.01
        Step size (the base of the schedule), > 0. ``"auto"``: ``1 / L``
        for ``"gd"`` and ``"sgd"``, with L the Lipschitz constant of the
        gradient of the objective on the training data (the full-batch L,
        also for mini-batches; see the user guide), and ``(1 - momentum) /
        L`` for ``"momentum"``; a fixed rate for the adaptive rules,
        torch's default ``lr`` but for RMSprop (torch's is 1e-2):
        ``1e-3`` for ``"rmsprop"``, ``"adam"`` and ``"radam"``,
        ``2e-3`` for ``"adamax"`` and ``"nadam"``, ``1e-2`` for
        ``"adagrad"`` and ``1.0`` for ``"adadelta"``. The value used is
        ``learning_rate_``.

    schedule : {"constant", "invscaling", "adaptive", "cosine"}, schedule object \
or callable, default="constant"
        Learning-rate schedule. ``"invscaling"``: ``learning_rate / (t + 1) **
        power_t`` at optimizer step ``t``. ``"adaptive"``: divide by 5 each
        time the stopping rule would stop, as ``SGDRegressor`` does (needs
        ``tol``). ``"cosine"``: ``learning_rate * (1 + cos(pi * epoch /
        max_iter)) / 2``. An object of :mod:`sk_gradopt.schedules`
        (``StepLR``, ``ExponentialLR``, ``CosineAnnealingWarmRestarts``,
        ``ReduceLROnPlateau``, ``OneCycleLR``) behaves as torch's scheduler
        of the same name; its parameters are searchable as
        ``schedule__gamma`` and so on, and validated at fit. A callable
        ``factor(t)`` gives ``learning_rate * factor(t)`` at step ``t``
        (torch's ``LambdaLR``). ``partial_fit`` continues the schedule over
        its calls (one epoch each); ``fit``, with ``warm_start`` too, starts
        it afresh.

    power_t : float, default=0.25
        Exponent of the ``"invscaling"`` schedule.

    warmup_steps : int, default=0
        Linear warmup: the rate of optimizer step ``t`` (from 0) is
        multiplied by ``min(1, (t + 1) / warmup_steps)``, on top of the
        schedule (torch's ``LambdaLR`` with that factor). 0 is no warmup.

    momentum : float, default=0.9
        Momentum ``mu`` of ``optimizer="momentum"``: ``b = mu * b + g``.

    nesterov : bool, default=False
        Nesterov's direction ``g + mu * b`` for ``optimizer="momentum"``.

    rho : float, default=0.99
        RMSprop decay of the squared-gradient average (``alpha`` in
        ``torch.optim.RMSprop``), and Adadelta's decay of its two averages
        (``rho`` in ``torch.optim.Adadelta``, whose default is 0.9: pass
        ``rho=0.9`` for torch's Adadelta).

    beta_1, beta_2 : float, default=0.9, 0.999
        First and second moment decays of Adam, Adamax, NAdam and RAdam.

    eps : float, default=1e-8
        Stabiliser of the denominator of RMSprop, Adam, Adagrad, Adadelta,
        Adamax, NAdam and RAdam. 1e-8 is torch's default for all of them but
        Adagrad (1e-10) and Adadelta (1e-6).

    amsgrad : bool, default=False
        AMSGrad's variant of ``optimizer="adam"``, as
        ``torch.optim.Adam(amsgrad=True)``: the running maximum of the
        second moment replaces it in the denominator. The other optimizers
        ignore it (as they ignore ``nesterov``), so that a search over
        several optimizers can hold it.

    momentum_decay : float, default=4e-3
        NAdam's momentum decay ``psi`` (``momentum_decay`` in
        ``torch.optim.NAdam``): the momentum of step ``t`` is ``beta_1 * (1 -
        0.96 ** (t * psi) / 2)``.

    max_grad_norm : float or None, default=None
        Clip the gradient of each step (the penalty's included) to this
        global L2 norm over all the parameters, before the optimizer: ``g *
        min(1, max_grad_norm / (||g|| + 1e-6))``, as torch's
        ``clip_grad_norm_``. None: no clipping.

    weight_decay : float, default=0.0
        Decoupled weight decay: before each optimizer step, the coefficients
        (never the intercepts) are multiplied by ``1 - lr_t * weight_decay``,
        ``lr_t`` the step's learning rate. With ``"adam"`` this is
        ``torch.optim.AdamW``. Unlike ``alpha``, it is not part of the
        objective (see the user guide).

    batch_size : int or "auto", default="auto"
        Mini-batch size; ``"auto"`` is ``min(200, n_samples)``. Ignored by
        ``"gd"``. A value >= n_samples is full batch.

    max_iter : int, default=1000
        Maximum number of epochs (passes over the training data). For
        ``"lbfgs"``, the most L-BFGS iterations (scipy's ``maxiter``).

    max_fun : int, default=15000
        Only for ``"lbfgs"``: the most evaluations of the objective and its
        gradient (scipy's ``maxfun``, as in ``MLPRegressor``); each is a pass
        over the training data, and an iteration takes one or more.

    tol : float or None, default=1e-4
        Stop when the monitored loss has not improved by at least ``tol`` for
        ``n_iter_no_change`` consecutive epochs. If that stops a fit whose
        last epochs overshot, the weights with the lowest training objective
        seen are kept. ``None`` runs exactly ``max_iter`` epochs. For
        ``"lbfgs"``, scipy's ``gtol``: stop when the largest entry of the
        projected gradient is at most ``tol`` (None: 0).

    n_iter_no_change : int, default=5
        Epochs without improvement before stopping (or, with
        ``schedule="adaptive"``, before dividing the learning rate by 5).

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data STRATIFIED (or
        use ``fit``'s ``X_val``, ``y_val``), monitor the validation loss (or
        ``scoring``) instead of the training objective, and keep the weights
        of the best validation value.

    validation_fraction : float, default=0.1
        Fraction of the training data held out when ``early_stopping=True``
        and ``fit`` gets no ``X_val``, ``y_val``.

    average : bool or float, default=False
        Weight averaging. ``True``: the fitted weights are the equal average
        of the iterates after every optimizer step (the weights before the
        first step are not part of it), as
        ``torch.optim.swa_utils.AveragedModel(model)`` updated after each
        ``step()``. A float in (0, 1): their exponential moving average with
        that decay, ``a = decay * a + (1 - decay) * w``, started from the
        first iterate (``AveragedModel`` with ``get_ema_multi_avg_fn(decay)``).
        The average becomes the fitted weights; the raw iterate is kept, and
        ``partial_fit`` (and ``fit`` with ``warm_start``) continue training
        from it, as ``SGDRegressor(average=...)`` does; ``partial_fit``
        carries the average on, ``fit`` starts a new one. The training loss,
        the divergence guard and the stopping rule without validation data
        judge the raw iterates; validation data judge the average (the model
        you get).

    scoring : str, callable or None, default=None
        With validation data (``early_stopping=True``), monitor this scorer
        on it instead of the validation loss (higher is better): a scorer
        name (``sklearn.metrics.get_scorer_names()``) or a callable
        ``scorer(estimator, X_val, y_val)`` (called with ``sample_weight=``
        where the validation samples carry weights). One value per epoch in
        ``validation_scores_``; the weights of the best are kept. None: the
        validation loss. Ignored without validation data.

    penalty : {"l2", "l1", "elasticnet"} or None, default="l2"
        Regularisation term ``R``: ``||w||^2 / 2``, ``||w||_1`` or
        ``l1_ratio * ||w||_1 + (1 - l1_ratio) * ||w||^2 / 2``. The l1 part
        is applied by a proximal (soft-thresholding) step, which gives exact
        zeros in ``coef_``. The intercept is not penalised.

    alpha : float, default=0.0001
        Strength of the penalty.

    l1_ratio : float, default=0.15
        Elastic-net mixing parameter, 0 <= l1_ratio <= 1.

    shuffle : bool or "blocks", default=True
        Draw a fresh random assignment of rows to mini-batches every epoch
        (the rows of each batch are gathered from ``X``). ``"blocks"``: cut
        the data once into blocks of ``batch_size`` consecutive rows and
        visit the blocks in a fresh random order every epoch; no gathering,
        hence faster epochs on large data, but the same rows share a batch
        every epoch (shuffle the rows once beforehand if their order means
        anything). ``False``: the blocks in order.

    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling and the validation split. An int gives
        bit-identical fits.

    verbose : int, default=0
        Print one line per epoch (loss, learning rate, time) when > 0.

    warm_start : bool, default=False
        Start ``fit`` from the previous ``coef_`` and ``intercept_`` (the
        optimizer state starts afresh).

    backend : {"auto", "numpy", "cupy"}, default="auto"
        Where to train. ``"auto"``: where the input lives (CuPy input trains
        on its GPU, with or without ``array_api_dispatch``, and the fitted
        attributes and predictions are CuPy arrays on that device).
        ``"numpy"``: on the CPU (CuPy input is copied to the host).
        ``"cupy"``: on the GPU, even for NumPy input; the fitted attributes
        are handed back as NumPy arrays, so a NumPy pipeline trains on the
        GPU with this one argument. Needs CuPy and a CUDA GPU."""

FITTED_ATTRIBUTES = """\
learning_rate_ : float
        The base learning rate used: ``learning_rate``, or its value for
        ``"auto"`` (computed by ``fit``, and by the first ``partial_fit``
        call whose data carries weight: not set before it). ``"lbfgs"``
        has none and does not set it.

    n_iter_ : int
        Epochs run by the last ``fit`` (cumulated over ``partial_fit`` calls);
        for ``"lbfgs"``, its iterations (scipy's ``nit``).

    t_ : int
        Optimizer steps (mini-batches) taken; for ``"lbfgs"``, evaluations
        of the objective and its gradient (scipy's ``nfev``), each a pass
        over the training data.

    loss_curve_ : list of float
        Training objective per epoch: the weighted mean loss over the epoch's
        batches plus the penalty at the epoch's starting weights (exactly the
        objective at those weights for ``"gd"``). Always finite: an epoch
        whose objective overflows is not recorded. For ``"lbfgs"``, the
        objective at each iterate, one value per iteration (its last is the
        final objective, ``MLPRegressor``'s ``loss_``).

    validation_loss_curve_ : list of float or None
        Mean loss on the validation data after each epoch, when
        ``early_stopping=True`` and ``scoring=None``; else None.

    learning_rate_curve_ : list of float
        The learning rate of each epoch's last step (beside ``loss_curve_``).

    grad_norm_curve_ : list of float
        Per epoch, the mean over its steps of the global L2 norm of the
        gradient (the penalty's part included), before clipping: torch's
        ``clip_grad_norm_`` total norm.

    best_loss_ : float or None
        Best monitored loss: the validation loss with ``early_stopping``,
        else the training objective; None where ``scoring`` was monitored.

    validation_scores_ : list of float or None
        The ``scoring`` on the validation data after each epoch, when it was
        monitored; else None.

    best_validation_score_ : float or None
        The best of ``validation_scores_``; None without them.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of features seen during fit, when ``X`` has string column names."""


X_VAL = """\
X_val : array of shape (n_val, n_features), default=None
            Validation data for early stopping, instead of holding out
            ``validation_fraction`` of ``X`` (needs ``early_stopping=True``;
            with ``y_val``). Checked as ``X`` is and placed where ``X``
            trains. In a ``Pipeline`` it reaches this step by metadata routing
            (``set_fit_request(X_val=True, y_val=True)``) and is not
            transformed by the earlier steps unless the Pipeline is built with
            ``transform_input=["X_val"]``."""


#: ``y_val`` and ``sample_weight_val`` of the classifiers' ``fit``.
CLASS_VAL = """\
y_val : array of shape (n_val,), default=None
            The class labels of ``X_val``: classes seen in ``y``.
        sample_weight_val : array of shape (n_val,), default=None
            Non-negative weights of the validation samples (``class_weight`` is not
            applied to them)."""


def with_sections(**sections):
    """Decorate a method: its docstring's ``{NAME}`` markers become the shared sections."""

    def fill(method):
        doc = method.__doc__
        for name, text in sections.items():
            doc = doc.replace("{" + name + "}", text)
        method.__doc__ = doc
        return method

    return fill
