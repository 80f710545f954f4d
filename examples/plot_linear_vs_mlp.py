"""
============================================
Linear or MLP: the model is a choice to tune
============================================

The model's structure is a hyperparameter like the optimizer. Here one
``GridSearchCV`` compares, in the same pipeline step, the linear
:class:`~sk_gradopt.GradientClassifier` and the multi-layer perceptron
:class:`~sk_gradopt.GradientMLPClassifier` with several hidden-layer sizes
and activations, on the two moons, a problem whose boundary is not a line.
"""

# %%
# The data and the pipeline: a scaler, then a step named ``model`` that the
# search fills with either estimator.
import warnings

from sklearn.base import clone
from sklearn.datasets import make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sk_gradopt import GradientClassifier, GradientMLPClassifier

X, y = make_moons(n_samples=500, noise=0.25, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
pipe = Pipeline([("scale", StandardScaler()), ("model", GradientClassifier())])

# %%
# Two grids in one search: a list of dicts, one per estimator. Each grid
# names the estimator for the step and the settings that apply to it. (300
# epochs do not bring every network to a standstill: their
# ``ConvergenceWarning`` is silenced.)
warnings.simplefilter("ignore", ConvergenceWarning)
grid = [
    {"model": [GradientClassifier(optimizer="adam", max_iter=300, random_state=0)],
     "model__learning_rate": [0.01, 0.1]},
    {"model": [GradientMLPClassifier(optimizer="adam", learning_rate=0.01, max_iter=300,
                                     random_state=0)],
     "model__hidden_layer_sizes": [(8,), (32,), (32, 32)],
     "model__activation": ["relu", "tanh"]},
]
search = GridSearchCV(pipe, grid, cv=3).fit(X_train, y_train)

# %%
# The ranking, best first: the networks lead, the linear model trails.
results = search.cv_results_


def describe(params):
    """A candidate in a few words: the model and the settings searched."""
    if "model__hidden_layer_sizes" in params:
        return f"MLP {params['model__hidden_layer_sizes']}, {params['model__activation']}"
    return f"linear, learning_rate={params['model__learning_rate']}"


ranked = sorted(range(len(results["params"])), key=lambda i: results["rank_test_score"][i])
labels = [describe(results["params"][i]) for i in ranked]
scores = [results["mean_test_score"][i] for i in ranked]
print(f"{'rank':>4}  {'candidate':<36} {'CV accuracy':>11}")
for rank, (label, score) in enumerate(zip(labels, scores), start=1):
    print(f"{rank:>4}  {label:<36} {score:>11.3f}")
print(f"\nbest: {describe(search.best_params_)}")
print(f"test accuracy of the best pipeline: {search.score(X_test, y_test):.3f}")

# %%
# The picture: the cross-validated accuracy of every candidate, and the
# decision boundary of the best linear pipeline and of the best network,
# each refitted on the training part and drawn over the test points. The
# line cannot follow the moons; the network bends around them.
import matplotlib.pyplot as plt
import numpy as np


def best_of(kind):
    """The best candidate of one estimator class, refitted on the training part."""
    i = next(i for i in ranked if isinstance(results["params"][i]["model"], kind))
    return clone(pipe).set_params(**results["params"][i]).fit(X_train, y_train)


fig, axes = plt.subplots(1, 3, figsize=(14, 4.5), layout="constrained")
is_mlp = [isinstance(results["params"][i]["model"], GradientMLPClassifier) for i in ranked]
axes[0].barh(range(len(labels)), scores,
             color=["tab:blue" if mlp else "tab:gray" for mlp in is_mlp])
axes[0].set_yticks(range(len(labels)), labels, fontsize=8)
axes[0].invert_yaxis()  # the best on top
axes[0].set_xlim(min(scores) - 0.05, 1.0)
axes[0].set_xlabel("mean CV accuracy (3 folds)")
axes[0].set_title("every candidate (gray: linear)")

xx, yy = np.meshgrid(np.linspace(-2.0, 3.0, 200), np.linspace(-1.5, 2.0, 200))
grid_points = np.c_[xx.ravel(), yy.ravel()]
for ax, kind in zip(axes[1:], (GradientClassifier, GradientMLPClassifier)):
    model = best_of(kind)
    proba = model.predict_proba(grid_points)[:, 1].reshape(xx.shape)
    ax.contourf(xx, yy, proba, levels=np.linspace(0, 1, 11), cmap="RdBu", alpha=0.4)
    ax.contour(xx, yy, proba, levels=[0.5], colors="k", linewidths=1.5)
    ax.scatter(X_test[:, 0], X_test[:, 1], c=np.where(y_test == 1, "#2166ac", "#b2182b"),
               edgecolor="white", linewidth=0.5, s=25)
    ax.set_title(f"best {kind.__name__}: test accuracy {model.score(X_test, y_test):.2f}")
    ax.set_xticks([])
    ax.set_yticks([])
plt.show()
