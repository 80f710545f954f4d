"""LossCurveDisplay, drawn with matplotlib's non-interactive Agg backend."""

import sys

import matplotlib
import numpy as np
import pytest
from sklearn.datasets import load_iris, make_regression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_gradopt import GradientClassifier, GradientRegressor, LossCurveDisplay

matplotlib.use("Agg")
import matplotlib.pyplot as plt


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def regression_data():
    X, y = make_regression(n_samples=120, n_features=4, noise=5.0, random_state=0)
    return X, y / y.std()


def _fit(data, **params):
    params = {"learning_rate": 0.05, "max_iter": 40, "tol": None, "random_state": 0, **params}
    return GradientRegressor(**params).fit(*data)


def test_from_estimator_draws_the_loss_curve(regression_data):
    reg = _fit(regression_data, optimizer="adam")
    display = LossCurveDisplay.from_estimator(reg)

    assert len(display.lines_) == 1
    line = display.lines_[0]
    np.testing.assert_array_equal(line.get_ydata(), reg.loss_curve_)
    np.testing.assert_array_equal(line.get_xdata(), np.arange(1, reg.n_iter_ + 1))
    assert display.validation_lines_ == [None]
    assert display.ax_.get_lines() == [line]
    assert display.figure_ is display.ax_.figure
    assert display.ax_.get_yscale() == "linear"
    assert display.ax_.get_xlabel() == "epoch"
    assert [t.get_text() for t in display.ax_.get_legend().get_texts()] == ["adam"]


def test_early_stopping_draws_the_validation_curve(regression_data):
    reg = _fit(regression_data, optimizer="sgd", early_stopping=True, tol=None)
    assert reg.validation_loss_curve_ is not None
    display = LossCurveDisplay.from_estimator(reg, name="mine")

    train, val = display.lines_[0], display.validation_lines_[0]
    np.testing.assert_array_equal(train.get_ydata(), reg.loss_curve_)
    np.testing.assert_array_equal(val.get_ydata(), reg.validation_loss_curve_)
    assert val.get_linestyle() == "--"
    assert val.get_color() == train.get_color()
    labels = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert labels == ["mine (training)", "mine (validation)"]

    hidden = LossCurveDisplay.from_estimator(reg, validation=False)
    assert hidden.validation_lines_ == [None]
    assert len(hidden.ax_.get_lines()) == 1


def test_log_scale(regression_data):
    reg = _fit(regression_data, optimizer="gd")
    display = LossCurveDisplay.from_estimator(reg, log_scale=True)
    assert display.ax_.get_yscale() == "log"
    assert "log" in display.ax_.get_ylabel()


def test_from_estimators_on_a_given_axes(regression_data):
    fitted = {name: _fit(regression_data, optimizer=name) for name in ("gd", "momentum")}
    fig, ax = plt.subplots()
    display = LossCurveDisplay.from_estimators(
        fitted, ax=ax, curve_kwargs=[{"color": "red"}, {"color": "blue"}]
    )
    assert display.ax_ is ax and display.figure_ is fig
    assert [line.get_color() for line in display.lines_] == ["red", "blue"]
    for line, reg in zip(display.lines_, fitted.values()):
        np.testing.assert_array_equal(line.get_ydata(), reg.loss_curve_)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["gd", "momentum"]


def test_default_names_tell_equal_optimizers_apart(regression_data):
    a = _fit(regression_data, optimizer="adam", learning_rate=0.01)
    b = _fit(regression_data, optimizer="adam", learning_rate=0.1)
    display = LossCurveDisplay.from_estimators([a, b])
    labels = [line.get_label() for line in display.lines_]
    assert labels == ["adam, lr=0.01", "adam, lr=0.1"]


def test_pipeline_and_classifier_are_unwrapped():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(
        StandardScaler(), GradientClassifier(learning_rate=0.05, max_iter=30, tol=None, random_state=0)
    ).fit(X, y)
    display = LossCurveDisplay.from_estimator(pipe)
    np.testing.assert_array_equal(display.lines_[0].get_ydata(), pipe[-1].loss_curve_)


def test_unfitted_estimator_is_a_clear_error():
    with pytest.raises(ValueError, match="loss_curve_.*Fit it first"):
        LossCurveDisplay.from_estimator(GradientRegressor())


def test_constructor_and_plot_check_lengths():
    display = LossCurveDisplay([[3.0, 2.0, 1.0]], names=["a", "b"])
    with pytest.raises(ValueError, match="names has 2 entries but there are 1"):
        display.plot()
    with pytest.raises(ValueError, match="empty"):
        LossCurveDisplay([[]]).plot()
    drawn = LossCurveDisplay([[3.0, 2.0, 1.0]], [[4.0, 3.0]]).plot()
    np.testing.assert_array_equal(drawn.validation_lines_[0].get_ydata(), [4.0, 3.0])
    assert drawn.lines_[0].get_label() == "training loss"


def test_missing_matplotlib_says_how_to_install_it(regression_data, monkeypatch):
    reg = _fit(regression_data, optimizer="gd")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    with pytest.raises(ImportError, match=r"pip install sk-gradopt\[plot\]"):
        LossCurveDisplay.from_estimator(reg)


@pytest.mark.parametrize("suggestions, title", [  # indices of the suggested rates
    ([10], "dot: the suggested rate"),
    ([10, 5, 15], "dots: the suggested rates"),
    ([None], None),
    ([None, 3], "dot: the suggested rate"),
])
def test_the_range_test_legend_says_what_the_dots_are(suggestions, title):
    from sk_gradopt import LRRangeTestDisplay

    rates = np.logspace(-3, 1, 20)
    _, ax = plt.subplots()
    for i, suggestion in enumerate(suggestions):
        losses = 1.0 / (1.0 + rates) + 0.01 * i
        LRRangeTestDisplay(rates, losses, losses, name=f"curve {i}",
                           suggestion=None if suggestion is None else rates[suggestion],
                           ).plot(ax=ax)
    legend = ax.get_legend()
    # one entry per curve (the dots have none), and a title that explains them
    assert [t.get_text() for t in legend.get_texts()] == [f"curve {i}" for i in
                                                          range(len(suggestions))]
    assert legend.get_title().get_text() == (title or "")
    dots = [line for line in ax.lines if line.get_marker() == "o"]
    assert [line.get_xdata()[0] for line in dots] == [rates[i] for i in suggestions
                                                      if i is not None]
    plt.close("all")


@pytest.mark.parametrize("curve, attribute, label", [
    ("learning_rate", "learning_rate_curve_", "learning rate"),
    ("grad_norm", "grad_norm_curve_", "gradient norm"),
])
def test_other_curves_draw_their_record(regression_data, curve, attribute, label):
    from sk_gradopt.schedules import StepLR

    reg = _fit(regression_data, optimizer="sgd", max_iter=6, early_stopping=True,
               schedule=StepLR(step_size=2, gamma=0.5))
    display = LossCurveDisplay.from_estimator(reg, curve=curve, log_scale=True)
    np.testing.assert_array_equal(display.lines_[0].get_ydata(), getattr(reg, attribute))
    assert display.validation_lines_ == [None]  # the validation curve is a loss
    assert display.ax_.get_ylabel().startswith(label)
    assert display.ax_.get_ylabel().endswith("(log scale)")
    if curve == "learning_rate":
        np.testing.assert_allclose(display.lines_[0].get_ydata(),
                                   [0.05, 0.05, 0.025, 0.025, 0.0125, 0.0125])
    both = LossCurveDisplay.from_estimators({"a": reg, "b": reg}, curve=curve)
    assert [line.get_label() for line in both.lines_] == ["a", "b"]


def test_unknown_curve_is_a_clear_error(regression_data):
    reg = _fit(regression_data, optimizer="gd", max_iter=2)
    with pytest.raises(ValueError, match="curve='lr' is not one of"):
        LossCurveDisplay.from_estimator(reg, curve="lr")
    with pytest.raises(ValueError, match="curve='lr' is not one of"):
        LossCurveDisplay([[1.0]], curve="lr").plot()


def test_the_validation_score_curve_draws_validation_scores_(regression_data):
    reg = _fit(regression_data, optimizer="sgd", max_iter=4, early_stopping=True,
               scoring="r2", tol=None)
    display = LossCurveDisplay.from_estimator(reg, curve="validation_score")
    np.testing.assert_array_equal(display.lines_[0].get_ydata(), reg.validation_scores_)
    assert len(reg.validation_scores_) == 4
    assert display.ax_.get_ylabel().startswith("validation score")
    without = _fit(regression_data, optimizer="sgd", max_iter=2)
    with pytest.raises(ValueError, match="recorded no validation_scores_: fit it with"):
        LossCurveDisplay.from_estimator(without, curve="validation_score")
    plt.close("all")
