"""The penalty ``alpha * R`` of the objective, split for proximal steps.

``R`` is ``||w||^2 / 2`` for ``"l2"``, ``||w||_1`` for ``"l1"`` and
``l1_ratio * ||w||_1 + (1 - l1_ratio) * ||w||^2 / 2`` for ``"elasticnet"``.
Every case is a pair of strengths ``(l1, l2)``: the smooth ``l2`` part enters
the gradient, the ``l1`` part is applied by soft-thresholding after each step
(a proximal step), which makes coefficients exactly zero.

The penalty acts on the ``coef`` leaves of the parameter tree (every weight
matrix of every layer) and never on the intercepts: that is the one place
where "the intercept is not penalised" is decided. Decoupled weight decay
(:func:`decay_weights`, not part of the objective) shrinks the same leaves.
"""

from typing import NamedTuple

from array_api_compat import array_namespace


class Penalty(NamedTuple):
    """Strengths of the l1 and l2 parts of the penalty."""

    l1: float
    l2: float

    @classmethod
    def from_params(cls, penalty, alpha, l1_ratio):
        """Build from the estimators' ``penalty``, ``alpha`` and ``l1_ratio``."""
        if penalty is None:
            return cls(0.0, 0.0)
        share = {"l2": 0.0, "l1": 1.0, "elasticnet": l1_ratio}[penalty]
        return cls(alpha * share, alpha * (1.0 - share))

    def value(self, params):
        """``l1 * ||coef||_1 + l2 * ||coef||^2 / 2``, summed over the layers."""
        value = 0.0
        for layer in params:
            xp = array_namespace(layer.coef)
            if self.l1:
                value += self.l1 * float(xp.sum(xp.abs(layer.coef)))
            if self.l2:
                value += 0.5 * self.l2 * float(xp.sum(layer.coef * layer.coef))
        return value

    def add_gradient(self, grads, params):
        """``grads`` plus the gradient ``l2 * coef`` of the smooth part.

        ``grads`` is the fresh gradient of one step: its ``coef`` arrays are
        added to in place (one array per layer fewer) where the namespace
        allows it.
        """
        if not self.l2:
            return grads
        added = []
        for g, layer in zip(grads, params):
            coef = g.coef
            coef += self.l2 * layer.coef  # rebinds where arrays are immutable
            added.append(g._replace(coef=coef))
        return tuple(added)

    def prox(self, params, step):
        """Soft-threshold every ``coef`` by ``step * l1`` (identity without l1)."""
        if not self.l1:
            return params
        return tuple(layer._replace(coef=self._shrink(layer.coef, step)) for layer in params)

    def _shrink(self, coef, step):
        xp = array_namespace(coef)
        return xp.sign(coef) * xp.maximum(xp.abs(coef) - step * self.l1, 0.0)


def decay_weights(params, factor):
    """Decoupled weight decay: every ``coef`` times ``factor``; the intercepts never decay.

    The training step passes ``factor = 1 - learning_rate * weight_decay``
    (``torch.optim.AdamW``, with the intercepts in a parameter group whose
    ``weight_decay`` is 0). This is the one place that says which leaves
    decay: the ``coef`` leaves, the same as the penalty's.

    Parameters
    ----------
    params : tuple of Layer
        The parameters.
    factor : float
        What every weight is multiplied by.

    Returns
    -------
    tuple of Layer
    """
    return tuple(layer._replace(coef=layer.coef * factor) for layer in params)
