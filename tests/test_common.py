"""sklearn's estimator checks over every estimator and all five optimizers.

The MLPs are checked with a small hidden layer and, per optimizer, a learning
rate that lets them learn the checks' data within the default epoch budget
(the 0.001 default suits Adam and RMSprop on larger problems, not full-batch
gradient descent on 30 samples).
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sk_gradopt import (
    OPTIMIZERS,
    GradientClassifier,
    GradientMLPClassifier,
    GradientMLPRegressor,
    GradientRegressor,
)

MLP_LEARNING_RATES = {"gd": 0.1, "sgd": 0.05, "momentum": 0.01, "rmsprop": 0.001, "adam": 0.01}

ESTIMATORS = [
    Estimator(optimizer=optimizer)
    for Estimator in (GradientRegressor, GradientClassifier)
    for optimizer in OPTIMIZERS
] + [
    Estimator(optimizer=optimizer, hidden_layer_sizes=(10,),
              learning_rate=MLP_LEARNING_RATES[optimizer])
    for Estimator in (GradientMLPRegressor, GradientMLPClassifier)
    for optimizer in OPTIMIZERS
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
