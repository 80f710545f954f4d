"""
=========================================================
Bayesian search over the optimizers with BayesSearchCV
=========================================================

scikit-optimize's ``BayesSearchCV`` over the ``skopt.space`` dimensions of
:func:`~sk_gradopt.search_space` (``kind="bayes"``): a Gaussian process
models the cross-validated score as a function of the settings and proposes
the next setting to try. With a list of spaces, ``BayesSearchCV`` optimizes
each space in turn; ``(space, n_iter)`` pairs give each optimizer its own
budget. On the standard-scaled diabetes dataset; the figure shows the search
converging (best score so far against the number of settings tried). Needs
scikit-optimize (the ``skopt`` extra: ``pip install ".[skopt]"`` in a checkout).
"""

# %%
# The pipeline and the spaces: mini-batch SGD (learning rate, batch size) and
# Adam (learning rate, beta_1, beta_2, batch size).
import warnings

import numpy as np
from skopt import BayesSearchCV
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_gradopt import GradientRegressor, search_space

X, y = load_diabetes(return_X_y=True)
y = (y - y.mean()) / y.std()
pipe = make_pipeline(
    StandardScaler(), GradientRegressor(max_iter=50, tol=None, random_state=0)
)
sgd, adam = search_space(["sgd", "adam"], "bayes", prefix="gradientregressor__")
print(sgd, adam, sep="\n")

# %%
# The search: 10 settings for SGD, then 10 for Adam; the first 4 of each are
# random, the others proposed by the Gaussian process, 3 at a time (which
# ``n_jobs`` would fit in parallel). These fits take milliseconds, so the
# search's own work dominates: scoring 1000 random candidates with the
# acquisition function, instead of running L-BFGS from several starts, keeps
# it small.
search = BayesSearchCV(
    pipe, [(sgd, 10), (adam, 10)], n_points=3, cv=3, random_state=0,
    optimizer_kwargs={
        "n_initial_points": 4,
        "acq_optimizer": "sampling",
        "acq_optimizer_kwargs": {"n_points": 1000},
    },
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(X, y)

n_fits = len(search.cv_results_["params"]) * search.n_splits_
best = {name.removeprefix("gradientregressor__"): value
        for name, value in search.best_params_.items()}
print("Best settings:", {name: float(f"{value:.4g}") if isinstance(value, float) else value
                         for name, value in best.items()})
print(f"BayesSearchCV: best R^2 {search.best_score_:.4f} after {n_fits} fits "
      f"({n_fits * 50} epochs)")

# %%
# Convergence: the best score found so far, against the number of settings
# tried, for each optimizer's turn.
import matplotlib.pyplot as plt

scores = search.cv_results_["mean_test_score"]
optimizers = [params["gradientregressor__optimizer"]
              for params in search.cv_results_["params"]]
fig, ax = plt.subplots()
trials = np.arange(1, len(scores) + 1)
ax.plot(trials, np.maximum.accumulate(scores), color="black", label="best so far")
for optimizer in ("sgd", "adam"):
    mine = np.array(optimizers) == optimizer
    ax.scatter(trials[mine], scores[mine], label=optimizer)
ax.set(xlabel="settings tried", ylabel="cross-validated R^2", ylim=(-0.1, 0.6),
       title="BayesSearchCV on diabetes (50 epochs)")
ax.legend()
plt.show()
