"""Distance of full-batch "gd" to the reference solutions (Ridge, Lasso, LogisticRegression).

Run: python benchmarks/reference_distances.py
The tests (tests/test_estimators.py) assert these distances with tolerances;
this prints the figures themselves.
"""
import numpy as np
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression, Ridge
from sklearn.preprocessing import StandardScaler
from sk_gradopt import GradientClassifier, GradientRegressor

X, y = make_regression(n_samples=120, n_features=6, noise=5.0, random_state=0)
X = StandardScaler().fit_transform(X); y = y / y.std()
n = X.shape[0]
r = GradientRegressor(optimizer="gd", tol=None, learning_rate=0.5, alpha=0.01, max_iter=2000).fit(X, y)
ref = Ridge(alpha=0.01 * n).fit(X, y)
print("Ridge      max|coef diff| = %.1e" % np.abs(r.coef_ - ref.coef_).max())
r = GradientRegressor(optimizer="gd", tol=None, learning_rate=0.5, penalty="l1", alpha=0.3, max_iter=2000).fit(X, y)
ref = Lasso(alpha=0.3, tol=1e-14, max_iter=100000).fit(X, y)
print("Lasso      max|coef diff| = %.1e, zeros %d/%d (same pattern: %s)" % (np.abs(r.coef_ - ref.coef_).max(), (r.coef_ == 0).sum(), 6, np.array_equal(r.coef_ == 0, ref.coef_ == 0)))
for name, kw in [("binary", dict(n_samples=200, n_features=5)), ("3-class", dict(n_samples=240, n_features=6, n_informative=4, n_classes=3))]:
    Xc, yc = make_classification(random_state=0, **kw); Xc = StandardScaler().fit_transform(Xc)
    c = GradientClassifier(optimizer="gd", tol=None, learning_rate=1.0, alpha=0.01, max_iter=4000).fit(Xc, yc)
    ref = LogisticRegression(C=1 / (0.01 * len(yc)), tol=1e-12, max_iter=10000).fit(Xc, yc)
    print("LogReg %-7s max|coef diff| = %.1e, max|proba diff| = %.1e" % (name, np.abs(c.coef_ - ref.coef_).max(), np.abs(c.predict_proba(Xc) - ref.predict_proba(Xc)).max()))
