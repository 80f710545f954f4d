"""
=========================================
Comparing the five optimizers on diabetes
=========================================

Fits :class:`~sk_gradopt.GradientRegressor` with each optimizer on the
standard-scaled diabetes dataset (same budget, same seed), prints a table of
the final training objective, the test R^2, the epochs run and the wall time,
and plots the loss curves.
"""

# %%
# Data: a standard-scaled train/test split of a built-in dataset.
import time

from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_gradopt import OPTIMIZERS, GradientRegressor

X, y = load_diabetes(return_X_y=True)
y = (y - y.mean()) / y.std()
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

# %%
# One fit per optimizer, with a learning rate that suits each.
learning_rates = {"gd": 0.2, "sgd": 0.05, "momentum": 0.01, "rmsprop": 0.005, "adam": 0.01}
fitted = {}
print(f"{'optimizer':<10} {'objective':>10} {'test R2':>8} {'epochs':>7} {'time (s)':>9}")
for optimizer in OPTIMIZERS:
    model = make_pipeline(
        StandardScaler(),
        GradientRegressor(
            optimizer=optimizer, learning_rate=learning_rates[optimizer],
            max_iter=200, random_state=0,
        ),
    )
    start = time.perf_counter()
    model.fit(X_train, y_train)
    elapsed = time.perf_counter() - start
    reg = model[-1]
    fitted[optimizer] = reg
    print(
        f"{optimizer:<10} {reg.loss_curve_[-1]:>10.4f} {model.score(X_test, y_test):>8.3f} "
        f"{reg.n_iter_:>7d} {elapsed:>9.3f}"
    )

# %%
# The loss curves: training objective per epoch.
import matplotlib.pyplot as plt

fig, ax = plt.subplots()
for optimizer, reg in fitted.items():
    ax.plot(range(1, len(reg.loss_curve_) + 1), reg.loss_curve_, label=optimizer)
ax.set(xlabel="epoch", ylabel="training objective", yscale="log",
       title="Five optimizers on diabetes")
ax.legend()
plt.show()
