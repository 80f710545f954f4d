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
# Two spirals, 200 points each, drawn over three turns and divided by
# :math:`3\pi` so that the features lie in about [-1, 1] (the scale a
# ``StandardScaler`` would give, without moving the centre of the spirals),
# and a second draw of the same spirals as a test set.
import time

import numpy as np

from sk_gradopt import GradientMLPClassifier, LossCurveDisplay


def spirals(n_per_arm, rng):
    t = np.sqrt(rng.uniform(0.05, 1.0, n_per_arm)) * 3 * np.pi
    arm = np.c_[t * np.cos(t), t * np.sin(t)] / (3 * np.pi)
    X = np.r_[arm, -arm] + 0.03 * rng.standard_normal((2 * n_per_arm, 2))
    y = np.r_[np.zeros(n_per_arm, dtype=int), np.ones(n_per_arm, dtype=int)]
    return X, y


rng = np.random.default_rng(0)
X, y = spirals(200, rng)
X_test, y_test = spirals(200, rng)

# %%
# One network per optimizer, 300 epochs, mini-batches of 32 (full batch for
# ``"gd"``), and a learning rate that suits each optimizer. The accuracy on
# the training points says how well the optimizer fitted them; on the test
# points, how well the network learnt the spirals.
learning_rates = {"gd": 0.5, "sgd": 0.1, "momentum": 0.02, "rmsprop": 0.003, "adam": 0.01}
fitted = {}
print(f"{'optimizer':<10} {'final loss':>10} {'train acc.':>10} {'test acc.':>9} "
      f"{'time (s)':>9}")
for optimizer in learning_rates:
    clf = GradientMLPClassifier(
        hidden_layer_sizes=(32, 32), activation="tanh", optimizer=optimizer,
        learning_rate=learning_rates[optimizer], batch_size=32, max_iter=300, tol=None,
        random_state=0,
    )
    start = time.perf_counter()
    clf.fit(X, y)
    fitted[optimizer] = clf
    print(f"{optimizer:<10} {clf.loss_curve_[-1]:>10.4f} {clf.score(X, y):>10.3f} "
          f"{clf.score(X_test, y_test):>9.3f} {time.perf_counter() - start:>9.2f}")

# %%
# The loss curves, and where each network puts the boundary (the black
# line, where the predicted probability is 0.5), over the training points.
import matplotlib.pyplot as plt

fig, axes = plt.subplots(2, 3, figsize=(12, 7.5))
LossCurveDisplay.from_estimators(fitted, log_scale=True, ax=axes[0, 0])
axes[0, 0].set_title("training loss")
grid = np.linspace(-1.2, 1.2, 150)
xx, yy = np.meshgrid(grid, grid)
colors = np.where(y == 1, "#2166ac", "#b2182b")  # strong colours on a pale background
for ax, (name, clf) in zip(axes.flat[1:], fitted.items()):
    proba = clf.predict_proba(np.c_[xx.ravel(), yy.ravel()])[:, 1].reshape(xx.shape)
    ax.contourf(xx, yy, proba, levels=np.linspace(0, 1, 11), cmap="RdBu", alpha=0.35)
    ax.contour(xx, yy, proba, levels=[0.5], colors="k", linewidths=1)
    ax.scatter(X[:, 0], X[:, 1], c=colors, edgecolor="white", linewidth=0.4, s=14)
    ax.set_title(f"{name}: train accuracy {clf.score(X, y):.2f}, "
                 f"test {clf.score(X_test, y_test):.2f}", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
plt.show()
