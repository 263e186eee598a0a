r"""A matrix answer read with examples as columns (as in Ng's course), the transpose of the slides' layout.

The slides (and :mod:`symbackprop.derivation.matrix_form`) put one example per *row*: x is (n, N_0),
W_l is (N_{l-1}, N_l), z_l = a_{l-1} W_l + b_l.  Ng's course puts one example per *column*: X is
(N_0, m), W^{[l]} is (N_l, N_{l-1}), Z^{[l]} = W^{[l]} A^{[l-1]} + b^{[l]}, so every matrix of that
course is the transpose of the slides' matrix with the same name::

    Z^{[l]} = z_lᵀ,   A^{[l]} = a_lᵀ,   W^{[l]} = W_lᵀ,   b^{[l]} = b_lᵀ,   dZ^{[l]} = dz_lᵀ, ...

and Ng's dW^{[2]} = (1/m) dZ^{[2]} A^{[1]T}, in the slides' names, is
(1/n) dz_2ᵀ a_1 = ((1/n) a_1ᵀ dz_2)ᵀ = (∂J/∂W_2)ᵀ.  Reading an answer "with examples as columns"
therefore builds it with every named matrix transposed and Σ summing over the columns (Ng's
``np.sum(dZ, axis=1, keepdims=True)``), and compares the *transpose* of the result with the
slides' gradient: the same numbers, each matrix in the other layout.
"""
from __future__ import annotations

from ..derivation.matrix_form import Mat, RowSum, Transpose
from ..errors import SymbackpropError
from .matrix_builder import _AnswerShapeError, _MatrixBuilder
from .matrix_eval import _untranspose


class _ColumnsBuilder(_MatrixBuilder):
    """Builds an answer whose matrices are laid out with examples as columns: each name M is
    the slides' Mᵀ, and Σ sums over the columns (the examples)."""

    def resolve(self, nb, index, node, prefix: str = ""):
        value = super().resolve(nb, index, node, prefix)
        return Transpose(value) if isinstance(value, Mat) else value

    def row_sum(self, body, node):
        # Σ over the examples, which are the columns here: (Σ_rows Mᵀ)ᵀ for M = the summed matrix
        summed = super().row_sum(body, node)
        return Transpose(RowSum(_untranspose(summed.arg)))


def columns_reading(checker, text: str, tree):
    """The answer side ``tree`` read with examples as columns, as the slides' matrix (the transpose
    of what it builds), or None when it cannot be read or its shapes do not fit that way either."""
    builder = _ColumnsBuilder(text, checker)
    try:
        built = checker._build(text, tree, builder=builder)
    except (_AnswerShapeError, SymbackpropError, ValueError, TypeError, ArithmeticError):
        return None   # a second reading only: the first reading's error is the one reported
    if built is None or built.shape is None:
        return None
    return _untranspose(built)
