"""What the two linear estimators share: the linear model and its fitted ``coef_`` / ``intercept_``."""

from array_api_compat import array_namespace, device
from sklearn.utils.validation import check_array

from ._base import BaseGradientEstimator
from ._lipschitz import lipschitz_constant, loss_curvature
from ._models import init_linear, linear_model
from ._penalties import Penalty
from ._tree import Layer


class BaseLinearGradientEstimator(BaseGradientEstimator):
    """The linear model ``raw = X @ coef_.T + intercept_`` under the shared training loop."""

    _parameter_constraints: dict = {
        **BaseGradientEstimator._parameter_constraints,
        "fit_intercept": ["boolean"],
    }
    _array_attributes = ("coef_", "intercept_")

    def _make_model(self):
        return linear_model()

    def _initial_params(self, X, n_outputs, init, xp, device):
        """The parameters to start from, and whether they are the zero model.

        ``init`` is ``(coef_init, intercept_init)`` (either may be None) from
        ``fit``; without ``coef_init``, ``warm_start`` starts from the fitted
        ``coef_`` and ``intercept_``; otherwise zeros.
        """
        coef_init, intercept_init = (*init, None, None)[:2]
        n_features = X.shape[1]
        if coef_init is None and self.warm_start and hasattr(self, "coef_"):
            (layer,) = self._params_to_continue(xp)
            if tuple(layer.coef.shape) == (n_features, n_outputs):
                intercept = None
                if self.fit_intercept:
                    intercept = xp.astype(layer.intercept, X.dtype)
                return (Layer(xp.astype(layer.coef, X.dtype), intercept),), False
        (layer,) = init_linear(n_features, n_outputs, fit_intercept=self.fit_intercept,
                               xp=xp, dtype=X.dtype, device=device)
        zero_init = True
        if coef_init is not None:
            coef_init = _finite(coef_init, "coef_init", X.dtype, xp)
            shapes = [(n_outputs, n_features)] + [(n_features,)] * (n_outputs == 1)
            if tuple(coef_init.shape) not in shapes:
                raise ValueError(
                    f"coef_init has shape {tuple(coef_init.shape)}; expected "
                    f"{' or '.join(map(str, shapes))} (n_outputs, n_features)."
                )
            coef = xp.reshape(coef_init, (n_outputs, n_features)).T
            # a copy: the fitted coef_ must not be (a view of) the caller's array
            layer = layer._replace(coef=xp.asarray(coef, copy=True))
            zero_init = False
        if intercept_init is not None and self.fit_intercept:
            intercept = _finite(xp.reshape(xp.asarray(intercept_init, device=device), (-1,)),
                                "intercept_init", X.dtype, xp)
            if intercept.shape[0] not in (1, n_outputs):
                raise ValueError(
                    f"intercept_init has shape {tuple(intercept.shape)}; expected "
                    f"{n_outputs} values."
                )
            layer = layer._replace(intercept=layer.intercept + intercept)  # a new array
            zero_init = False
        return (layer,), zero_init

    def _inverse_lipschitz(self, data):
        """``1 / L`` of the objective on ``data``.

        See :func:`~sk_gradopt._lipschitz.lipschitz_constant`.

        Decoupled weight decay acts in the step like an l2 penalty of the same
        strength, so it counts in ``L`` too. A flat objective (``L = 0``) gets 1.
        """
        penalty = Penalty.from_params(self.penalty, float(self.alpha), float(self.l1_ratio))
        lipschitz = lipschitz_constant(
            data.X, data.sample_weight, curvature=loss_curvature(self.loss, data.Y.shape[1]),
            l2=penalty.l2 + float(self.weight_decay), fit_intercept=self.fit_intercept,
        )
        return 1.0 / lipschitz if lipschitz > 0 else 1.0

    def _params_attributes(self, params):
        """``coef_`` (n_outputs, n_features) and ``intercept_`` (n_outputs,) of ``params``."""
        (layer,) = params
        return {"coef_": layer.coef.T, "intercept_": _intercept_of(layer)}

    def _params_from_attributes(self, xp):
        """The model of ``coef_`` and ``intercept_`` (zeros when fitted without one)."""
        coef = xp.reshape(self.coef_, (-1, 1)) if self.coef_.ndim == 1 else self.coef_.T
        return (Layer(coef, xp.reshape(self.intercept_, (-1,))),)

    def _params_to_continue(self, xp):
        """Training goes on without an intercept leaf when ``fit_intercept=False``."""
        (layer,) = self._fitted_raw_params(xp)
        return (layer._replace(intercept=layer.intercept if self.fit_intercept else None),)

    def _fitted_n_outputs(self):
        return self.intercept_.shape[0]


def _intercept_of(layer):
    """The intercept of ``layer``, zeros when it has none (``fit_intercept=False``)."""
    if layer.intercept is not None:
        return layer.intercept
    xp = array_namespace(layer.coef)
    return xp.zeros((layer.coef.shape[1],), dtype=layer.coef.dtype, device=device(layer.coef))


def _finite(array, name, dtype, xp):
    """``array`` as ``dtype``, or sklearn's error when it holds NaN or infinity."""
    array = xp.asarray(array)
    if array.ndim == 0:
        array = xp.reshape(array, (1,))
    return check_array(array, ensure_2d=False, dtype=dtype, input_name=name)
