"""The penalty ``alpha * R(coef)`` of ``SGDRegressor``, split for proximal steps.

``R`` is ``||w||^2 / 2`` for ``"l2"``, ``||w||_1`` for ``"l1"`` and
``l1_ratio * ||w||_1 + (1 - l1_ratio) * ||w||^2 / 2`` for ``"elasticnet"``.
Every case is a pair of strengths ``(l1, l2)``: the smooth ``l2`` part enters
the gradient, the ``l1`` part is applied by soft-thresholding after each step
(a proximal step), which makes coefficients exactly zero.
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

    def value(self, coef):
        """``l1 * ||coef||_1 + l2 * ||coef||^2 / 2``."""
        xp = array_namespace(coef)
        value = 0.0
        if self.l1:
            value += self.l1 * float(xp.sum(xp.abs(coef)))
        if self.l2:
            value += 0.5 * self.l2 * float(xp.sum(coef * coef))
        return value

    def prox(self, coef, step):
        """Soft-threshold ``coef`` by ``step * l1`` (identity without l1)."""
        if not self.l1:
            return coef
        xp = array_namespace(coef)
        return xp.sign(coef) * xp.maximum(xp.abs(coef) - step * self.l1, 0.0)
