"""sklearn's estimator checks over both estimators and all five optimizers."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from sk_gradopt import OPTIMIZERS, GradientClassifier, GradientRegressor

ESTIMATORS = [
    Estimator(optimizer=optimizer)
    for Estimator in (GradientRegressor, GradientClassifier)
    for optimizer in OPTIMIZERS
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
