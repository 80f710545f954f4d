"""
=========================================================
Successive halving over epochs with HalvingRandomSearchCV
=========================================================

:class:`~sklearn.model_selection.HalvingRandomSearchCV` with
``resource="gradientregressor__max_iter"``: many settings drawn from
:func:`~sk_gradopt.search_space` are trained for a few epochs, the best third
goes on to three times as many epochs, and so on. The estimator has
``tol=None`` so that every fit runs exactly the epochs it is given.

This pays off when many settings are bad in a way a few epochs show (a
learning rate that diverges, or one far too small to get anywhere): here it
tries twice as many settings as the random search of the same gallery for
fewer epochs in all. It does not pay off when the ranking after a few epochs
differs from the ranking after many, nor when the estimator stops early
through ``tol`` anyway; each round also refits from scratch. On the
standard-scaled diabetes dataset; the figure shows the settings of each round.
"""

# %%
# The pipeline and the distributions.
import warnings

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import HalvingRandomSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_gradopt import GradientRegressor, search_space

X, y = load_diabetes(return_X_y=True)
y = (y - y.mean()) / y.std()
pipe = make_pipeline(StandardScaler(), GradientRegressor(tol=None, random_state=0))
distributions = search_space("all", "random", prefix="gradientregressor__")

# %%
# The search: 81 settings for 5 epochs, the best 27 for 15, the best 9 for 45.
search = HalvingRandomSearchCV(
    pipe, distributions, n_candidates=81, resource="gradientregressor__max_iter",
    min_resources=5, max_resources=45, factor=3, cv=3, random_state=0,
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(X, y)

for round_, (n_candidates, epochs) in enumerate(
    zip(search.n_candidates_, search.n_resources_)
):
    print(f"round {round_}: {n_candidates} settings x {epochs} epochs")
n_fits = sum(search.n_candidates_) * search.n_splits_
n_epochs = sum(n * r for n, r in zip(search.n_candidates_, search.n_resources_))
best = {name.removeprefix("gradientregressor__"): value
        for name, value in search.best_params_.items()}
print("Best settings:", {name: float(f"{value:.4g}") if isinstance(value, float) else value
                         for name, value in best.items()})
print(f"HalvingRandomSearchCV: best R^2 {search.best_score_:.4f} after {n_fits} fits "
      f"({n_epochs * search.n_splits_} epochs)")

# %%
# Each round's settings: score against learning rate. The diverging and the
# too-small learning rates are dropped after the first, cheap, round.
import matplotlib.pyplot as plt

results = search.cv_results_
rates = np.asarray(results["param_gradientregressor__learning_rate"], dtype=float)
fig, ax = plt.subplots()
for round_, epochs in enumerate(search.n_resources_):
    mine = results["iter"] == round_
    ax.scatter(rates[mine], results["mean_test_score"][mine],
               label=f"round {round_}: {epochs} epochs")
ax.set(xscale="log", xlabel="learning rate", ylabel="cross-validated R^2",
       ylim=(-0.1, 0.6), title="Successive halving over epochs on diabetes")
ax.legend()
plt.show()
