"""
====================================================
Random search over the optimizers and their settings
====================================================

:class:`~sklearn.model_selection.RandomizedSearchCV` over the distributions
of :func:`~sk_gradopt.search_space`: log-uniform learning rates, uniform
decays and a choice of batch sizes, with one space per optimizer (the
searcher draws an optimizer, then a point in its space). On the
standard-scaled diabetes dataset; the figure shows each sampled setting's
cross-validated score against its learning rate.
"""

# %%
# The pipeline and the distributions.
import warnings

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import RandomizedSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_gradopt import OPTIMIZERS, GradientRegressor, search_space

X, y = load_diabetes(return_X_y=True)
y = (y - y.mean()) / y.std()
pipe = make_pipeline(
    StandardScaler(), GradientRegressor(max_iter=50, tol=None, random_state=0)
)
distributions = search_space("all", "random", prefix="gradientregressor__")

# %%
# The search: 40 settings, 3-fold cross-validation. Some sampled learning
# rates diverge and warn; that is expected here.
search = RandomizedSearchCV(pipe, distributions, n_iter=40, cv=3, random_state=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(X, y)

n_fits = len(search.cv_results_["params"]) * search.n_splits_
best = {name.removeprefix("gradientregressor__"): value
        for name, value in search.best_params_.items()}
print("Best settings:", {name: float(f"{value:.4g}") if isinstance(value, float) else value
                         for name, value in best.items()})
print(f"RandomizedSearchCV: best R^2 {search.best_score_:.4f} after {n_fits} fits "
      f"({n_fits * 50} epochs)")

# %%
# Every sampled setting: score against learning rate, by optimizer.
import matplotlib.pyplot as plt

results = search.cv_results_
optimizers = np.asarray(results["param_gradientregressor__optimizer"])
rates = np.asarray(results["param_gradientregressor__learning_rate"], dtype=float)
scores = results["mean_test_score"]
fig, ax = plt.subplots()
for optimizer in OPTIMIZERS:
    mine = optimizers == optimizer
    ax.scatter(rates[mine], scores[mine], label=optimizer)
ax.set(xscale="log", xlabel="learning rate", ylabel="cross-validated R^2",
       ylim=(-0.1, 0.6), title="Random search on diabetes (50 epochs)")
ax.legend()
plt.show()
