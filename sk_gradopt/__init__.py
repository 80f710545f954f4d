"""sk_gradopt: scikit-learn estimators fitted by a gradient optimizer you choose.

``GradientRegressor`` and ``GradientClassifier`` (linear models) and
``GradientMLPRegressor`` and ``GradientMLPClassifier`` (multi-layer
perceptrons) take ``optimizer=`` among
full-batch gradient descent (``"gd"``), mini-batch SGD (``"sgd"``),
``"momentum"``, ``"rmsprop"``, ``"adam"`` (with ``amsgrad``), ``"adagrad"``,
``"adadelta"``, ``"adamax"``, ``"nadam"``, ``"radam"`` (each as
``torch.optim``) and full-batch L-BFGS (``"lbfgs"``); the optimizer and its settings
are hyperparameters to tune with scikit-learn's searchers, over the ready-made
spaces of ``search_space``; ``lr_range_test`` draws the loss against the
learning rate; ``compare_optimizers`` races the optimizers, each at a tuned
learning rate, over seeds (``OptimizerComparisonDisplay`` draws the race).
``sk_gradopt.schedules`` holds the learning-rate schedules (torch's names
and semantics) that ``schedule=`` takes beside its string shortcuts.
"""

from . import schedules
from ._classifier import GradientClassifier
from ._compare import compare_optimizers
from ._lr import lr_range_test
from ._mlp import GradientMLPClassifier, GradientMLPRegressor
from ._optimizers import OPTIMIZERS
from ._plotting import LossCurveDisplay, LRRangeTestDisplay, OptimizerComparisonDisplay
from ._regressor import GradientRegressor
from ._search import search_space

__all__ = [
    "GradientClassifier",
    "GradientMLPClassifier",
    "GradientMLPRegressor",
    "GradientRegressor",
    "LRRangeTestDisplay",
    "LossCurveDisplay",
    "OPTIMIZERS",
    "OptimizerComparisonDisplay",
    "compare_optimizers",
    "lr_range_test",
    "schedules",
    "search_space",
]
__version__ = "0.1.0"
