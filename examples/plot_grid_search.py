"""
=========================================================
Grid search over the optimizers and their learning rates
=========================================================

:class:`~sklearn.model_selection.GridSearchCV` over the conditional grid of
:func:`~sk_gradopt.search_space`: one grid per optimizer, each holding only
the settings that optimizer reads, on the standard-scaled diabetes dataset.
The grid's learning rates span several decades on purpose: the largest
diverge, and such a fit keeps its best finite weights, so it scores badly
instead of failing the search. The figure shows the cross-validated score
against the learning rate, for each optimizer.
"""

# %%
# The pipeline and the grid. The target is standardized so that the default
# learning-rate ranges of :func:`~sk_gradopt.search_space` (made for
# standardized features and a target of order one) apply.
import warnings

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_gradopt import GradientRegressor, search_space

# The five classic optimizers (search_space("all") covers the ten of
# sk_gradopt.OPTIMIZERS: a grid twice the size).
OPTIMIZERS = ["gd", "sgd", "momentum", "rmsprop", "adam"]

X, y = load_diabetes(return_X_y=True)
y = (y - y.mean()) / y.std()
pipe = make_pipeline(
    StandardScaler(), GradientRegressor(max_iter=50, tol=None, random_state=0)
)
grid = search_space(OPTIMIZERS, "grid", prefix="gradientregressor__", batch_size=False)
for space in grid:
    print({name.removeprefix("gradientregressor__"): values for name, values in space.items()})

# %%
# The search. The diverging learning rates warn; that is expected here.
search = GridSearchCV(pipe, grid, cv=3)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(X, y)

n_candidates = len(search.cv_results_["params"])
n_fits = n_candidates * search.n_splits_
best = {name.removeprefix("gradientregressor__"): value
        for name, value in search.best_params_.items()}
print("Best settings:", {name: float(f"{value:.4g}") if isinstance(value, float) else value
                         for name, value in best.items()})
print(f"GridSearchCV: best R^2 {search.best_score_:.4f} after {n_fits} fits "
      f"({n_fits * 50} epochs)")

# %%
# Score against learning rate: for each optimizer and learning rate, the best
# of its other settings (momentum, nesterov, rho, beta_1, beta_2).
import matplotlib.pyplot as plt

results = search.cv_results_
optimizers = np.asarray(results["param_gradientregressor__optimizer"])
rates = np.asarray(results["param_gradientregressor__learning_rate"], dtype=float)
scores = results["mean_test_score"]
fig, ax = plt.subplots()
for optimizer in OPTIMIZERS:
    mine = optimizers == optimizer
    lr = np.unique(rates[mine])
    best = [scores[mine & (rates == value)].max() for value in lr]
    ax.plot(lr, best, marker="o", label=optimizer)
ax.set(xscale="log", xlabel="learning rate", ylabel="cross-validated R^2",
       ylim=(-0.1, 0.6), title="Grid search on diabetes (50 epochs)")
ax.legend()
plt.show()
