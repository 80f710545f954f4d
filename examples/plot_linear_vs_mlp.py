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
import pandas as pd
from sklearn.datasets import make_moons
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sk_gradopt import GradientClassifier, GradientMLPClassifier

X, y = make_moons(n_samples=500, noise=0.25, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
pipe = Pipeline([("scale", StandardScaler()), ("model", GradientClassifier())])

# %%
# Two grids in one search: a list of dicts, one per estimator. Each grid
# names the estimator for the step and the settings that apply to it.
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
# The ranking: the networks lead, the linear model trails.
results = pd.DataFrame(search.cv_results_)
results["model"] = results["param_model"].map(lambda est: type(est).__name__)
columns = ["model", "param_model__learning_rate", "param_model__hidden_layer_sizes",
           "param_model__activation", "mean_test_score", "rank_test_score"]
print(results[columns].sort_values("rank_test_score").to_string(index=False))
print(f"\nbest: {search.best_params_['model']!r}")
print(f"test accuracy of the best pipeline: {search.score(X_test, y_test):.3f}")
