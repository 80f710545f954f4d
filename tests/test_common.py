"""sklearn's estimator checks over every estimator and every optimizer.

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

MLP_LEARNING_RATES = {"gd": 0.1, "sgd": 0.05, "momentum": 0.01, "rmsprop": 0.001, "adam": 0.01,
                      "adagrad": 0.05, "adadelta": 1.0, "adamax": 0.01, "nadam": 0.01,
                      "radam": 0.01}

#: The linear models train with the default learning rate (0.01), but for the
#: rules whose steps start small: Adagrad's shrink from the first step, RAdam
#: takes plain momentum steps first, and Adadelta's start at sqrt(eps) (torch's
#: eps=1e-6 here; the MLPs take torch's rho=0.9 too, with which the linear
#: model's last epochs on the checks' 15 x 30 data amplify rounding).
SETTINGS = {"adagrad": dict(learning_rate=0.1), "radam": dict(learning_rate=0.05),
            "adadelta": dict(learning_rate=1.0, eps=1e-6)}
ADADELTA = dict(rho=0.9, eps=1e-6)

ESTIMATORS = [
    Estimator(optimizer=optimizer, **SETTINGS.get(optimizer, {}))
    for Estimator in (GradientRegressor, GradientClassifier)
    for optimizer in OPTIMIZERS
] + [
    Estimator(optimizer=optimizer, hidden_layer_sizes=(10,),
              learning_rate=MLP_LEARNING_RATES[optimizer],
              **(ADADELTA if optimizer == "adadelta" else {}))
    for Estimator in (GradientMLPRegressor, GradientMLPClassifier)
    for optimizer in OPTIMIZERS
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
