"""
======================================
Racing the five optimizers on diabetes
======================================

Fits :class:`~sk_gradopt.GradientRegressor` with each optimizer on the
standard-scaled diabetes dataset (same budget, same seed), prints a table of
the final training objective, the test R^2, the epochs run and the wall time,
and plots the loss curves with :class:`~sk_gradopt.LossCurveDisplay`.

The command ``sk-gradopt compare`` (and :func:`~sk_gradopt.compare_optimizers`)
races them fairly on any built-in dataset or on your own CSV file: each at a
learning rate tuned on a validation part, over several seeds.
"""

# %%
# Data: a standard-scaled train/test split of a built-in dataset. The target
# is standardized too, which leaves R^2 unchanged and lets the same learning
# rates serve other datasets.
import time

from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sk_gradopt import GradientRegressor, LossCurveDisplay

X, y = load_diabetes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
mean, std = y_train.mean(), y_train.std()
y_train, y_test = (y_train - mean) / std, (y_test - mean) / std

# %%
# One fit per optimizer, with a learning rate that suits each on
# standard-scaled data (set by hand here; the race tunes them).
learning_rates = {"gd": 0.3, "sgd": 0.03, "momentum": 0.003, "rmsprop": 0.003, "adam": 0.01}
fitted = {}
print(f"{'optimizer':<10} {'objective':>10} {'test R2':>8} {'epochs':>7} {'time (s)':>9}")
for optimizer in learning_rates:
    reg = GradientRegressor(
        optimizer=optimizer, learning_rate=learning_rates[optimizer],
        max_iter=500, random_state=0,
    )
    start = time.perf_counter()
    reg.fit(X_train, y_train)
    elapsed = time.perf_counter() - start
    fitted[optimizer] = reg
    print(
        f"{optimizer:<10} {reg.loss_curve_[-1]:>10.4f} {reg.score(X_test, y_test):>8.3f} "
        f"{reg.n_iter_:>7d} {elapsed:>9.3f}"
    )

# %%
# The loss curves: training objective per epoch.
import matplotlib.pyplot as plt

display = LossCurveDisplay.from_estimators(fitted, log_scale=True)
display.ax_.set_title("Five optimizers on diabetes")
plt.show()
