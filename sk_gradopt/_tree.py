"""Parameters as a small tree: a tuple of layers, each with a ``coef`` and an ``intercept``.

A model's parameters are a tuple of :class:`Layer`; a linear model has one
layer, a multi-layer perceptron one per weight matrix. Optimizer states hold
trees of the same shape (NamedTuples whose array fields are such tuples).
:func:`tree_map` applies a function leaf by leaf, as ``jax.tree_util.tree_map``
does, so that an update rule is written once for one array and serves every
model. ``None`` is an empty subtree (a layer without an intercept), and stays
``None``.
"""

from typing import Any, NamedTuple

__all__ = ["Layer", "tree_leaves", "tree_map"]


class Layer(NamedTuple):
    """The parameters of one affine layer ``z = a @ coef + intercept``.

    Attributes
    ----------
    coef : array of shape (fan_in, fan_out)
        The weights; the only leaves a penalty acts on.
    intercept : array of shape (fan_out,) or None
        The bias; None for a layer fitted without intercept.
    """

    coef: Any
    intercept: Any = None


def tree_map(f, tree, *rest):
    """``f`` applied to the leaves of ``tree`` (and the matching leaves of ``rest``).

    Tuples and NamedTuples are inner nodes and keep their type; ``None`` is
    an empty subtree; anything else is a leaf.

    Parameters
    ----------
    f : callable
        ``f(leaf, *matching_leaves) -> new_leaf``.
    tree : tuple, NamedTuple, None or leaf
        The tree to map over.
    *rest : trees of the same structure as ``tree``
        Their leaves are passed to ``f`` as extra arguments.

    Returns
    -------
    A tree of the structure of ``tree``.
    """
    if tree is None:
        return None
    if isinstance(tree, tuple):
        children = [tree_map(f, *nodes) for nodes in zip(tree, *rest, strict=True)]
        return type(tree)(*children) if hasattr(tree, "_fields") else tuple(children)
    return f(tree, *rest)


def tree_leaves(tree):
    """The leaves of ``tree`` in order, as a list (``None`` subtrees have none)."""
    if tree is None:
        return []
    if isinstance(tree, tuple):
        return [leaf for node in tree for leaf in tree_leaves(node)]
    return [tree]
