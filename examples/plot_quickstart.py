"""
=====================================================
Quick start: fitting a line with the five optimizers
=====================================================

The textbook problem: 100 points ``x`` drawn uniformly from [0, 1) and
``y = 2 x + 1`` plus Gaussian noise of standard deviation 0.5. Each of the
five optimizers of :class:`~sk_gradopt.GradientRegressor` fits the line by
minimising the mean squared error; all of them must land on the
least-squares solution that :func:`numpy.linalg.lstsq` computes in closed
form.
"""

# %%
# The data
# --------
import numpy as np

rng = np.random.default_rng(0)
x = rng.uniform(0.0, 1.0, size=100)
y = 2.0 * x + 1.0 + rng.normal(0.0, 0.5, size=100)
X = x.reshape(-1, 1)  # scikit-learn wants a 2-D X: (n_samples, n_features)

# %%
# The least-squares solution
# --------------------------
# Append a column of ones for the intercept and solve ``min ||A w - y||``.
# The noise moves the solution a little away from the true slope 2 and
# intercept 1.
A = np.column_stack([x, np.ones_like(x)])
(slope_ls, intercept_ls), *_ = np.linalg.lstsq(A, y, rcond=None)
print(f"least squares: slope = {slope_ls:.6f}, intercept = {intercept_ls:.6f}")

# %%
# The five optimizers
# -------------------
# ``penalty=None`` makes the objective the plain mean squared error
# ``sum((y - X w - b) ** 2) / (2 n)``, whose minimiser is the least-squares
# solution. Its full-batch gradient is ``X.T @ (X @ w + b - y) / n`` (and the
# mean residual for ``b``): see the user guide. With 100 samples,
# ``batch_size="auto"`` (``min(200, n_samples)``) is the full batch, so
# ``"sgd"`` takes the same steps as ``"gd"`` here.
#
# ``tol=None`` runs exactly ``max_iter`` epochs: the stopping rule (stop once
# the loss has not improved by ``tol`` for ``n_iter_no_change`` epochs) can
# stop momentum and Adam early while their loss oscillates on its way down.
from sk_gradopt import GradientRegressor

learning_rates = {"gd": 1.0, "sgd": 1.0, "momentum": 0.1, "rmsprop": 0.01, "adam": 0.05}
TOLERANCE = 1e-6  # on the slope and the intercept

fitted = {}
print(f"{'optimizer':<10} {'slope':>10} {'intercept':>10} {'max |diff|':>11}")
for optimizer in learning_rates:
    reg = GradientRegressor(
        optimizer=optimizer, learning_rate=learning_rates[optimizer],
        penalty=None, max_iter=1000, tol=None, random_state=0,
    ).fit(X, y)
    slope, intercept = reg.coef_[0], reg.intercept_[0]
    diff = max(abs(slope - slope_ls), abs(intercept - intercept_ls))
    print(f"{optimizer:<10} {slope:>10.6f} {intercept:>10.6f} {diff:>11.1e}")
    assert diff < TOLERANCE, f"{optimizer} is {diff:.2g} away from least squares"
    fitted[optimizer] = reg

print(f"every optimizer is within {TOLERANCE:g} of the least-squares solution")

# %%
# The loss curves
# ---------------
# :class:`~sk_gradopt.LossCurveDisplay` draws the training objective per
# epoch (``loss_curve_``); ``from_estimators`` takes the fitted estimators.
# (A log scale on the epochs too shows the first steps.)
import matplotlib.pyplot as plt

from sk_gradopt import LossCurveDisplay

display = LossCurveDisplay.from_estimators(fitted, log_scale=True)
display.ax_.set_title("y = 2x + 1 + noise: training objective per epoch")
display.ax_.set_xscale("log")
plt.show()

# %%
# The objective flattens at the noise level, ``0.5 ** 2 / 2`` or so. Its
# distance to the least-squares optimum tells the optimizers apart: the
# display's constructor takes any curves. On a log scale, gradient descent's
# linear convergence is a straight line (``"sgd"`` lies under it: same
# steps); momentum overshoots and oscillates on its way down; RMSprop and
# Adam scale every step to about the learning rate, which on this small,
# well-conditioned problem makes them the slowest, until their running
# averages catch up with the shrinking gradient.
residual = A @ np.array([slope_ls, intercept_ls]) - y
optimum = 0.5 * np.mean(residual**2)
gaps = [np.maximum(np.array(reg.loss_curve_) - optimum, 1e-16)  # below 1e-16: rounding
        for reg in fitted.values()]
display = LossCurveDisplay(gaps, names=list(fitted)).plot(log_scale=True)
display.ax_.set_ylabel("objective - optimum (log scale)")
display.ax_.set_title("Distance to the least-squares optimum")
plt.show()
