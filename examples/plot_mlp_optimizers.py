"""
==============================================
Five optimizers train one network: two spirals
==============================================

A multi-layer perceptron (:class:`~sk_gradopt.GradientMLPClassifier`, two
hidden layers of 32 tanh units) learns two interleaved spirals, a problem no
linear model solves. The five optimizers start from the same initial weights
(the same ``random_state`` draws the same Glorot-uniform weights as
scikit-learn's ``MLPClassifier``) and get the same budget of epochs.

On this non-convex problem they differ far more than on a linear model:
plain gradient descent crawls along the plateaus, momentum and the adaptive
methods get through them.
"""

# %%
# Two spirals, 200 points each, standard-scaled.
import time

import numpy as np

from sk_gradopt import OPTIMIZERS, GradientMLPClassifier, LossCurveDisplay

rng = np.random.default_rng(0)
t = np.sqrt(rng.uniform(0.05, 1.0, 200)) * 3 * np.pi
arm = np.c_[t * np.cos(t), t * np.sin(t)] / (3 * np.pi)
X = np.r_[arm, -arm] + 0.03 * rng.standard_normal((400, 2))
y = np.r_[np.zeros(200, dtype=int), np.ones(200, dtype=int)]

# %%
# One network per optimizer, 300 epochs, mini-batches of 32 (full batch for
# ``"gd"``), and a learning rate that suits each optimizer.
learning_rates = {"gd": 0.5, "sgd": 0.1, "momentum": 0.02, "rmsprop": 0.003, "adam": 0.01}
fitted = {}
print(f"{'optimizer':<10} {'final loss':>10} {'accuracy':>9} {'time (s)':>9}")
for optimizer in OPTIMIZERS:
    clf = GradientMLPClassifier(
        hidden_layer_sizes=(32, 32), activation="tanh", optimizer=optimizer,
        learning_rate=learning_rates[optimizer], batch_size=32, max_iter=300, tol=None,
        random_state=0,
    )
    start = time.perf_counter()
    clf.fit(X, y)
    fitted[optimizer] = clf
    print(f"{optimizer:<10} {clf.loss_curve_[-1]:>10.4f} {clf.score(X, y):>9.3f} "
          f"{time.perf_counter() - start:>9.2f}")

# %%
# The loss curves, and where each network puts the boundary.
import matplotlib.pyplot as plt

fig, axes = plt.subplots(2, 3, figsize=(12, 7.5))
LossCurveDisplay.from_estimators(fitted, log_scale=True, ax=axes[0, 0])
axes[0, 0].set_title("training loss")
grid = np.linspace(-1.2, 1.2, 150)
xx, yy = np.meshgrid(grid, grid)
for ax, (name, clf) in zip(axes.flat[1:], fitted.items()):
    proba = clf.predict_proba(np.c_[xx.ravel(), yy.ravel()])[:, 1].reshape(xx.shape)
    ax.contourf(xx, yy, proba, levels=20, cmap="RdBu", alpha=0.8)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu", edgecolor="k", s=10)
    ax.set_title(f"{name}: accuracy {clf.score(X, y):.2f}")
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
plt.show()
