r"""The matrix reader's builder: a parse tree of the grammar to a matrix expression of
:mod:`symbackprop.derivation.matrix_form`, with its shapes checked by dimension name.

Juxtaposition is the matrix product, or the slides' elementwise product when only that fits; ``⊙``
is elementwise; a shape that does not fit is an :class:`_AnswerShapeError` naming both shapes.  Also
the records the matrix reader works with (``_Target``, ``_Side``, ``_Candidate``).
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy
from lark import Token, Tree

from ..derivation.matrix_form import (
    Add,
    Hadamard,
    HadamardDiv,
    Mat,
    MatMul,
    MatrixExpr,
    Neg,
    ONE,
    Ones,
    Scalar,
    Scale,
    Shape,
    ShapeError,
    Sub,
)
from ..errors import SymbackpropError
from ..grammar.build_arith import _Grouping
from ..grammar.parser import _Builder, _Resolver, MAX_BITS, MAX_EXPONENT
from .matrix_eval import _untranspose, OnesVector, Power
from .matrix_names import _MatrixNames


class _AnswerShapeError(SymbackpropError):
    """A ShapeError inside an answer, with where it happened (for the feedback and the fixes)."""

    def __init__(self, error: ShapeError, node, kind: str, left, right):
        super().__init__(str(error))
        self.error, self.node, self.kind, self.left, self.right = error, node, kind, left, right


_PRODUCT_FIXES = (("Lt", "missing_transpose"), ("Rt", "missing_transpose"), ("swap", "wrong_order"),
                  ("swapT", "wrong_order"), ("LRt", "misplaced_transpose"))


_ELEMENTWISE_FIXES = (("Lt", "missing_transpose"), ("Rt", "missing_transpose"))


def _fixed_operands(fix, a, b):
    if fix == "Lt":
        return _untranspose(a), b
    if fix == "Rt":
        return a, _untranspose(b)
    if fix == "swap":
        return b, a
    if fix == "LRt":       # the transpose on the other factor: x dz_1ᵀ for xᵀ dz_1
        return _untranspose(a), _untranspose(b)
    return _untranspose(b), _untranspose(a)  # swapT: (a b)ᵀ read as bᵀ aᵀ


class _MatrixBuilder(_MatrixNames, _Grouping):
    """Builds one parse tree into a matrix expression; ``fixes`` {id(node): fix} rewrites one
    operation (a transpose added, the factors swapped) to test a diagnosis."""

    cost = False   # set when a ∂J/∂M (the reduced cost) was read
    _LIST_MESSAGE = "a list {i,j} is not a matrix expression"

    def __init__(self, text: str, checker: "MatrixAnswerChecker", fixes=None):
        self.text = text
        self.c = checker
        self.fixes = fixes or {}
        self.fixed = {}  # id(node) -> the rewritten operation, as built
        self._numbers = _Builder(text, _Resolver(None))

    def _build_node(self, node) -> MatrixExpr:
        if isinstance(node, Token):
            raise self.fail(f"unexpected {node.value!r}", node)
        method = getattr(self, "_" + node.data, None)
        if method is None:
            raise self.fail(f"{node.data.replace('_', ' ')} is not part of matrix notation here", node)
        return method(node)

    # ---- numbers --------------------------------------------------------------------
    def scalar(self, value, node) -> Scalar:
        if not isinstance(value, sympy.Expr) or value.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo) \
                or value.has(sympy.I):
            raise self.fail("the number is undefined (division by zero) or not real", node)
        for sub in sympy.preorder_traversal(value):
            if sub.is_Rational and max(abs(sub.p).bit_length(), sub.q.bit_length()) > MAX_BITS:
                raise self.fail(f"a number in the expression has more than {MAX_BITS} bits", node)
        return Scalar(value)

    def _number(self, node):
        return self.scalar(self._numbers.number(node.children[0]), node)

    # ---- arithmetic -------------------------------------------------------------------
    def _add(self, node):
        a, _, b = node.children
        return self.elementwise(node, "+", self.build(a), self.build(b))

    def _subtract(self, node):
        a, _, b = node.children
        return self.elementwise(node, "-", self.build(a), self.build(b))

    def _hadamard(self, node):
        a, _, b = node.children
        return self.elementwise(node, "⊙", self.build(a), self.build(b))

    def _mul(self, node):
        a, _, b = node.children
        return self.product(node, self.build(a), self.build(b))

    def _imul(self, node):
        a, b = node.children
        d = self._d_prefixed(a, b)
        if d is not None:
            return d
        return self.product(node, self.build(a), self.build(b))

    def _negate(self, node):
        a = self.build(node.children[-1])
        return self.scalar(-a.value, node) if isinstance(a, Scalar) else Neg(a)

    def _unary_plus(self, node):
        return self.build(node.children[-1])

    def _div(self, node):
        a, _, b = node.children
        g = self._d_fraction(a, b)
        if g is not None:
            return g
        return self.divide(node, self.build(a), self.build(b))

    def _frac(self, node):
        parts = [c for c in node.children if isinstance(c, Tree) or c.type not in ("FRAC", "LBRACE", "RBRACE")]
        num, den = parts
        g = self._d_fraction(num, den)
        if g is not None:
            return g
        return self.divide(node, self.build(num), self.build(den))

    def product(self, node, a, b):
        """Juxtaposition, ``\\cdot``, ``*``: the matrix product, or the slides' elementwise
        product when the factors have the same shape and cannot be multiplied."""
        if isinstance(a, OnesVector) or isinstance(b, OnesVector):
            a, b = self._sized_ones(node, a, b)
        if isinstance(a, Scalar) and isinstance(b, Scalar):
            return self.scalar(a.value * b.value, node)
        if isinstance(a, Scalar):
            return Scale(a.value, b)
        if isinstance(b, Scalar):
            return Scale(b.value, a)
        fix = self.fixes.get(id(node))
        if fix is not None:
            a, b = _fixed_operands(fix, a, b)
        try:
            out = MatMul(a, b)
        except ShapeError as exc:
            if a.shape is not None and b.shape is not None and a.shape.labels == b.shape.labels:
                out = Hadamard(a, b)
            else:
                raise _AnswerShapeError(exc, node, "product", a, b) from None
        if fix is not None:
            self.fixed[id(node)] = out
        return out

    def _sized_ones(self, node, a, b):
        """\\mathbf{1} beside a matrix: the column of ones after it (M 1: the row totals), the row of
        ones before it (1 M: the column totals)."""
        if isinstance(b, OnesVector) and not isinstance(a, (OnesVector, Scalar)) and a.shape is not None:
            return a, Ones(Shape(a.shape.cols, ONE))
        if isinstance(a, OnesVector) and not isinstance(b, (OnesVector, Scalar)) and b.shape is not None:
            return Ones(Shape(ONE, b.shape.rows)), b
        raise self.fail("\\mathbf{1} (a vector of ones) is read beside a matrix, as in (\\sum_{rows} dz_2)\\mathbf{1}", node)

    def build(self, node) -> MatrixExpr:
        out = self._build_node(node)
        if isinstance(out, OnesVector) and getattr(node, "data", None) not in ("name", "paren", "group"):
            raise self.fail("\\mathbf{1} (a vector of ones) is read beside a matrix, as in (\\sum_{rows} dz_2)\\mathbf{1}", node)
        return out

    def elementwise(self, node, op, a, b):
        if isinstance(a, OnesVector) or isinstance(b, OnesVector):
            raise self.fail("\\mathbf{1} (a vector of ones) is read beside a matrix in a product, as in "
                            "(\\sum_{rows} dz_2)\\mathbf{1}", node)
        if isinstance(a, Scalar) and isinstance(b, Scalar):
            value = {"+": a.value + b.value, "-": a.value - b.value, "⊙": a.value * b.value}[op]
            return self.scalar(value, node)
        if op == "⊙" and (isinstance(a, Scalar) or isinstance(b, Scalar)):
            return Scale(a.value, b) if isinstance(a, Scalar) else Scale(b.value, a)
        fix = self.fixes.get(id(node))
        if fix is not None:
            a, b = _fixed_operands(fix, a, b)
        cls = {"+": Add, "-": Sub, "⊙": Hadamard}[op]
        try:
            out = cls(a, b)
        except ShapeError as exc:
            raise _AnswerShapeError(exc, node, "elementwise", a, b) from None
        if fix is not None:
            self.fixed[id(node)] = out
        return out

    def divide(self, node, a, b):
        if isinstance(a, OnesVector) or isinstance(b, OnesVector):
            raise self.fail("\\mathbf{1} (a vector of ones) is read beside a matrix in a product", node)
        if isinstance(b, Scalar):
            if b.value == 0:
                raise self.fail("division by zero", node)
            if isinstance(a, Scalar):
                return self.scalar(a.value / b.value, node)
            return Scale(1 / b.value, a)
        fix = self.fixes.get(id(node))
        if fix is not None and not isinstance(a, Scalar):
            a, b = _fixed_operands(fix, a, b)
        try:
            out = HadamardDiv(a, b)
        except ShapeError as exc:
            raise _AnswerShapeError(exc, node, "elementwise", a, b) from None
        if fix is not None:
            self.fixed[id(node)] = out
        return out

    def power(self, base, exponent: MatrixExpr, node):
        if isinstance(base, OnesVector):
            raise self.fail("\\mathbf{1} (a vector of ones) is read beside a matrix in a product", node)
        if not isinstance(exponent, Scalar):
            raise self.fail("an exponent must be a number (the elementwise power a_1^2)", node)
        if isinstance(base, Scalar):
            return self.scalar(self._numbers.power(base.value, exponent.value, node), node)
        k = exponent.value
        if not k.is_Integer:
            raise self.fail("a power of a matrix must be a whole number (taken entry by entry)", node)
        if k < 0:
            raise self.fail("a negative power of a matrix (an inverse) is not part of backpropagation; "
                            "for an elementwise quotient write \\frac{1}{a_1}", node)
        if k > MAX_EXPONENT:
            raise self.fail(f"exponent {k} is too large; at most {MAX_EXPONENT} is allowed", node)
        if k == 0:
            return Scalar(sympy.S.One)
        return base if k == 1 else Power(base, int(k))


@dataclass(frozen=True)
class _Target:
    """A gradient an answer may be: ``name`` (dW_2), its ``mat``, the ``reference`` formula
    (per-example convention), ``of`` (the matrix it differentiates), ``layer`` (for ⊙ factors)."""

    name: str
    mat: Mat
    reference: MatrixExpr
    of: str
    layer: int | None


@dataclass
class _Side:
    text: str
    expr: MatrixExpr | None = None
    shape_error: _AnswerShapeError | None = None
    values: list | None = None      # per point: array, or None where undefined
    equal: bool = False
    tree: object = None
    source: str = ""


@dataclass(frozen=True)
class _Candidate:
    expr: MatrixExpr
    label: str
    layer: int
    activation: bool
