"""The matrix expressions of the matrix form: shapes, a small tree of nodes that knows its
shape, prints itself as LaTeX and text, evaluates in floats or exactly, and converts to SymPy.

Takes the registry's elementwise functions (``ops``); gives the nodes ``derivation.matrix_form``
builds its steps from. (Split out of ``matrix_form``, which re-exports every name.)
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import sympy

from ..ops.activations import ELEMENTWISE, float_function
from ..errors import NotSupportedError, SymbackpropError

#: The batch size as a symbol: the mean's factor is 1/n.
N_SYMBOL = sympy.Symbol("n", positive=True, integer=True)


class ShapeError(SymbackpropError, ValueError):
    """Two matrices whose shapes do not fit the operation (inner dimensions of a product,
    equal shapes of a sum or an elementwise product). ``operation`` names it, ``left`` and
    ``right`` are the operands' ``Shape``s."""

    def __init__(self, message: str, *, operation: str = "", left=None, right=None):
        super().__init__(message)
        self.operation = operation
        self.left = left
        self.right = right


# ---------------------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Dim:
    """One dimension: a ``label`` (``n``, ``N_0``, ``N_1``, ``1``) and, when known, its ``size``.

    Shapes are compared by label (generic: right for every batch size and width),
    and shown with their sizes, e.g. ``(n, N_0) = (4, 2)``."""

    label: str
    size: int | None = None

    @property
    def latex(self) -> str:
        base, sep, sub = self.label.rpartition("_")
        return f"{base}_{{{sub}}}" if sep and sub.isdigit() else self.label

    def __str__(self) -> str:
        return self.label


ONE = Dim("1", 1)


@dataclass(frozen=True)
class Shape:
    """(rows, columns) of a matrix, each a ``Dim``."""

    rows: Dim
    cols: Dim

    @property
    def labels(self) -> tuple:
        return (self.rows.label, self.cols.label)

    @property
    def sizes(self) -> tuple:
        return (self.rows.size, self.cols.size)

    @property
    def is_row(self) -> bool:
        return self.rows.label == "1"

    def text(self) -> str:
        """``(n, N_1) = (4, 2)``; just ``(1, N_1) = (1, 2)`` style when sizes are known."""
        generic = f"({self.rows.label}, {self.cols.label})"
        r, c = self.sizes
        if r is None and c is None:
            return generic
        concrete = f"({'n' if r is None else r}, {'n' if c is None else c})"
        return generic if concrete == generic else f"{generic} = {concrete}"

    def latex(self) -> str:
        generic = f"({self.rows.latex}, {self.cols.latex})"
        r, c = self.sizes
        concrete = f"({'n' if r is None else r}, {'n' if c is None else c})"
        return generic if concrete == generic else f"{generic} = {concrete}"

    def __str__(self) -> str:
        return self.text()


# ---------------------------------------------------------------------------------------
# Matrix expressions: a small tree with shapes
# ---------------------------------------------------------------------------------------

# ⊙ binds looser than a product (juxtaposition): dz_2 W_2ᵀ ⊙ a_1 ⊙ (1 − a_1)
_PREC_ADD, _PREC_HAD, _PREC_MUL, _PREC_ATOM = 1, 2, 3, 4


class MatrixExpr:
    """Base of the matrix expression tree. Subclasses are frozen dataclasses.

    ``shape`` (None for a scalar that broadcasts), ``latex()``, ``text()``,
    ``matrices()`` (the names of the matrices it reads), ``children``.
    Operators: ``A @ B`` (product), ``A * B`` (elementwise; a number times a matrix
    scales it), ``A + B``, ``A - B``, ``-A``, ``A.T``."""

    precedence = _PREC_ATOM

    @property
    def children(self) -> tuple:
        return ()

    @property
    def shape(self):  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def matrices(self) -> frozenset:
        out = set()
        stack = [self]
        while stack:
            e = stack.pop()
            if isinstance(e, Mat):
                out.add(e.name)
            stack.extend(e.children)
        return frozenset(out)

    # operators, for building answers and references alike
    def __matmul__(self, other):
        return MatMul(self, _as_expr(other))

    def __add__(self, other):
        return Add(self, _as_expr(other))

    def __radd__(self, other):
        return Add(_as_expr(other), self)

    def __sub__(self, other):
        return Sub(self, _as_expr(other))

    def __rsub__(self, other):
        return Sub(_as_expr(other), self)

    def __neg__(self):
        return Neg(self)

    def __mul__(self, other):
        other = _as_expr(other)
        if isinstance(other, Scalar):
            return Scale(other.value, self)
        return Hadamard(self, other)

    def __rmul__(self, other):
        other = _as_expr(other)
        if isinstance(other, Scalar):
            return Scale(other.value, self)
        return Hadamard(other, self)

    @property
    def T(self):
        return Transpose(self)

    def _wrap_latex(self, outer: int) -> str:
        s = self.latex()
        return rf"\left({s}\right)" if self.precedence < outer else s

    def _wrap_text(self, outer: int) -> str:
        s = self.text()
        return f"({s})" if self.precedence < outer else s

    def __str__(self) -> str:
        return self.text()


def _as_expr(value) -> MatrixExpr:
    if isinstance(value, MatrixExpr):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Scalar(sympy.Integer(value))
    if isinstance(value, sympy.Expr) and not isinstance(value, sympy.MatrixBase):
        return Scalar(value)
    if isinstance(value, float):
        return Scalar(sympy.Rational(repr(value)))
    raise TypeError(f"not a matrix expression: {value!r}")


class _Entrywise(MatrixExpr):
    """A node of one matrix ``arg`` that has its argument's shape (−A, c A; g(A), exp(A), A^k entry by entry).
    Subclasses are frozen dataclasses with an ``arg`` field."""

    @property
    def children(self):
        return (self.arg,)

    @property
    def shape(self):
        return self.arg.shape


@dataclass(frozen=True, eq=True)
class Mat(MatrixExpr):
    """A named matrix: ``name`` (``W_1``, ``a_1``, ``dz_2``, ``x``, ``yhat``), its ``Shape``,
    its LaTeX (``\\hat{y}``) and text (``ŷ``) spellings."""

    name: str
    mshape: Shape
    latex_name: str = ""
    text_name: str = ""

    @property
    def shape(self) -> Shape:
        return self.mshape

    def latex(self) -> str:
        return self.latex_name or self.name

    def text(self) -> str:
        return self.text_name or self.name


@dataclass(frozen=True)
class Scalar(MatrixExpr):
    """A number, broadcast to any shape (the 1 in ``1 - a``)."""

    value: sympy.Expr

    @property
    def shape(self):
        return None

    def latex(self) -> str:
        return sympy.latex(self.value)

    def text(self) -> str:
        return str(self.value)


@dataclass(frozen=True)
class Ones(MatrixExpr):
    """The all-ones matrix of a given shape (``\\mathbf{1}_{K \\times K}``): right-multiplying by it
    replaces each row by its row total, which writes the softmax product in matrix algebra."""

    mshape: Shape

    @property
    def shape(self) -> Shape:
        return self.mshape

    def latex(self) -> str:
        return rf"\mathbf{{1}}_{{{self.mshape.rows.latex} \times {self.mshape.cols.latex}}}"

    def text(self) -> str:
        return f"1[{self.mshape.rows.label}×{self.mshape.cols.label}]"


def _shape_error(op, left, right, detail):
    ls = left.shape.text() if left.shape is not None else "a number"
    rs = right.shape.text() if right.shape is not None else "a number"
    return ShapeError(f"{op} {left.text()} and {right.text()}: {detail} "
                      f"({left.text()} is {ls}, {right.text()} is {rs})",
                      operation=op, left=left.shape, right=right.shape)


@dataclass(frozen=True)
class Transpose(MatrixExpr):
    """Aᵀ: rows and columns swapped."""

    arg: MatrixExpr

    @property
    def children(self):
        return (self.arg,)

    @cached_property
    def shape(self):
        s = self.arg.shape
        return None if s is None else Shape(s.cols, s.rows)

    def latex(self) -> str:
        return self.arg._wrap_latex(_PREC_ATOM) + "^T"

    def text(self) -> str:
        return self.arg._wrap_text(_PREC_ATOM) + "ᵀ"


@dataclass(frozen=True)
class _Binary(MatrixExpr):
    """A two-operand expression; its shape is worked out (and checked) when it is built."""

    left: MatrixExpr
    right: MatrixExpr

    def __post_init__(self):
        _ = self.shape

    @property
    def children(self):
        return (self.left, self.right)


@dataclass(frozen=True)
class MatMul(_Binary):
    """The matrix product A B: (p, q)(q, r) -> (p, r); the inner dimensions must match."""

    precedence = _PREC_MUL

    @cached_property
    def shape(self):
        a, b = self.left.shape, self.right.shape
        if a is None or b is None:
            raise _shape_error("the matrix product of", self.left, self.right, "a product needs two matrices")
        if a.cols.label != b.rows.label:
            raise _shape_error(
                "the matrix product of", self.left, self.right,
                f"the inner dimensions do not match: {a.cols.label} columns against {b.rows.label} rows")
        return Shape(a.rows, b.cols)

    def _right(self):
        return _PREC_MUL if isinstance(self.right, MatMul) else _PREC_MUL + 1

    def latex(self) -> str:
        return f"{self.left._wrap_latex(_PREC_MUL)} {self.right._wrap_latex(self._right())}"

    def text(self) -> str:
        return f"{self.left._wrap_text(_PREC_MUL)} {self.right._wrap_text(self._right())}"


def _elementwise_shape(op, left, right, allow_row_broadcast=False):
    a, b = left.shape, right.shape
    if a is None:
        return b
    if b is None:
        return a
    if a.labels == b.labels:
        return a
    if a.cols.label == b.cols.label and allow_row_broadcast and (a.is_row or b.is_row):
        return b if a.is_row else a
    raise _shape_error(op, left, right, "the shapes must be equal")


@dataclass(frozen=True)
class Hadamard(_Binary):
    """The elementwise product A ⊙ B of two matrices of the same shape."""

    precedence = _PREC_HAD

    @cached_property
    def shape(self):
        return _elementwise_shape("the elementwise product of", self.left, self.right)

    def _right(self):
        return _PREC_HAD if isinstance(self.right, Hadamard) else _PREC_HAD + 1

    def latex(self) -> str:
        return rf"{self.left._wrap_latex(_PREC_HAD)} \odot {self.right._wrap_latex(self._right())}"

    def text(self) -> str:
        return f"{self.left._wrap_text(_PREC_HAD)} ⊙ {self.right._wrap_text(self._right())}"


@dataclass(frozen=True)
class HadamardDiv(_Binary):
    """The elementwise quotient A ⊘ B (same shapes)."""

    precedence = _PREC_HAD

    @cached_property
    def shape(self):
        return _elementwise_shape("the elementwise quotient of", self.left, self.right)

    def latex(self) -> str:
        return rf"{self.left._wrap_latex(_PREC_HAD)} \oslash {self.right._wrap_latex(_PREC_HAD + 1)}"

    def text(self) -> str:
        return f"{self.left._wrap_text(_PREC_HAD)} ⊘ {self.right._wrap_text(_PREC_HAD + 1)}"


@dataclass(frozen=True)
class Add(_Binary):
    """A + B (same shapes; a (1, N) row such as a bias is added to every row of an (n, N) matrix)."""

    precedence = _PREC_ADD

    @cached_property
    def shape(self):
        return _elementwise_shape("the sum of", self.left, self.right, allow_row_broadcast=True)

    @property
    def broadcasts(self) -> bool:
        """True when a (1, N) row is added to every row of the other operand."""
        a, b = self.left.shape, self.right.shape
        return a is not None and b is not None and a.labels != b.labels

    def latex(self) -> str:
        return f"{self.left._wrap_latex(_PREC_ADD)} + {self.right._wrap_latex(_PREC_ADD)}"

    def text(self) -> str:
        return f"{self.left._wrap_text(_PREC_ADD)} + {self.right._wrap_text(_PREC_ADD)}"


@dataclass(frozen=True)
class Sub(_Binary):
    """A − B (same shapes, or a number minus a matrix: 1 − a)."""

    precedence = _PREC_ADD

    @cached_property
    def shape(self):
        return _elementwise_shape("the difference of", self.left, self.right)

    def latex(self) -> str:
        return f"{self.left._wrap_latex(_PREC_ADD)} - {self.right._wrap_latex(_PREC_ADD + 1)}"

    def text(self) -> str:
        return f"{self.left._wrap_text(_PREC_ADD)} − {self.right._wrap_text(_PREC_ADD + 1)}"


@dataclass(frozen=True)
class Neg(_Entrywise):
    """−A."""

    arg: MatrixExpr
    precedence = _PREC_ADD

    def latex(self) -> str:
        return "-" + self.arg._wrap_latex(_PREC_HAD)

    def text(self) -> str:
        return "−" + self.arg._wrap_text(_PREC_HAD)


@dataclass(frozen=True)
class Scale(_Entrywise):
    """c A for a scalar c (a SymPy expression, e.g. 1/n or 2/K)."""

    factor: sympy.Expr
    arg: MatrixExpr
    precedence = _PREC_MUL

    def latex(self) -> str:
        f = sympy.latex(self.factor)
        return f"{f} {self.arg._wrap_latex(_PREC_MUL)}"

    def text(self) -> str:
        return f"{self.factor} {self.arg._wrap_text(_PREC_MUL)}"


@dataclass(frozen=True)
class RowSum(MatrixExpr):
    """Σ over the rows (the batch): (n, N) -> (1, N); the slides' Σ dz."""

    arg: MatrixExpr
    precedence = _PREC_MUL

    @property
    def children(self):
        return (self.arg,)

    @cached_property
    def shape(self):
        s = self.arg.shape
        if s is None:
            raise ShapeError(f"Σ over the rows of {self.arg.text()}: a number has no rows", operation="sum")
        return Shape(ONE, s.cols)

    def latex(self) -> str:
        return r"\sum_{\text{rows}} " + self.arg._wrap_latex(_PREC_MUL + 1)

    def text(self) -> str:
        return "Σ_rows " + self.arg._wrap_text(_PREC_MUL + 1)


#: Elementwise functions: ``{name: (LaTeX name, text name)}``, a view of the registry's
#: :data:`~symbackprop.ops.activations.ELEMENTWISE` (activations and the functions their
#: derivatives are written with, such as ``step``).
FUNCTIONS = {name: (e.latex, e.text) for name, e in ELEMENTWISE.items()}


@dataclass(frozen=True)
class Apply(_Entrywise):
    """g(A) elementwise (``softmax``: row by row). ``function`` is a key of ``FUNCTIONS``."""

    function: str
    arg: MatrixExpr

    def __post_init__(self):
        if self.function not in FUNCTIONS:
            raise NotSupportedError(f"unknown elementwise function {self.function!r} "
                                    f"(allowed: {', '.join(sorted(FUNCTIONS))})")

    def latex(self) -> str:
        return ELEMENTWISE[self.function].latex.replace("{}", self.arg.latex(), 1)

    def text(self) -> str:
        return ELEMENTWISE[self.function].text.replace("{}", self.arg.text(), 1)


def walk(expr: MatrixExpr):
    """Every node of the tree, parents before children."""
    stack = [expr]
    while stack:
        e = stack.pop()
        yield e
        stack.extend(reversed(e.children))


# ---------------------------------------------------------------------------------------
# Evaluation: floats (stable) or exact (object arrays of SymPy numbers)
# ---------------------------------------------------------------------------------------

class _FloatFunctions:
    """name -> the float NumPy callable, from the registry's one NumPy form."""

    def __getitem__(self, name):
        return float_function(name)


class _ExactFunctions:
    """name -> the SymPy function of the registry entry."""

    def __getitem__(self, name):
        return ELEMENTWISE[name].function


_FLOAT_FUNCTIONS = _FloatFunctions()


def _exact_functions():
    return _ExactFunctions()


def _softmax_rows(z, exact):
    if exact:
        from ..ops.functions import softmax

        out = np.empty(z.shape, dtype=object)
        for e in range(z.shape[0]):
            row = list(z[e])
            for k in range(z.shape[1]):
                out[e, k] = softmax(row[k], *row)
        return out
    m = np.max(z, axis=1, keepdims=True)
    ex = np.exp(z - m)
    return ex / np.sum(ex, axis=1, keepdims=True)


def exact_array(rows) -> np.ndarray:
    """A 2-D NumPy object array of exact SymPy numbers (for exact evaluation)."""
    def exact(v):
        if isinstance(v, sympy.Basic):
            return v
        if isinstance(v, (int, np.integer)):
            return sympy.Integer(int(v))
        return sympy.Rational(repr(float(v)))

    return np.array([[exact(v) for v in row] for row in rows], dtype=object).reshape(len(rows), -1)


def evaluate(expr: MatrixExpr, env: dict, *, exact: bool = False):
    """The value of ``expr`` with matrices from ``env`` ({name: 2-D array}).

    Floats by default (stable sigmoid and softmax); ``exact=True`` evaluates NumPy object
    arrays of SymPy numbers with symbackprop's SymPy functions (σ(2/3) stays an exact
    atom), so results can be compared with the per-scalar derivation exactly. The batch
    size n in a factor such as 1/n is the number of rows of ``env["x"]`` (or ``env["n"]``)."""
    n = env.get("n")
    if n is None and "x" in env:
        n = np.shape(env["x"])[0]
    funcs = _exact_functions() if exact else _FLOAT_FUNCTIONS
    memo = {}

    def ev(e):
        key = id(e)
        if key in memo:
            return memo[key][1]
        v = _ev(e)
        memo[key] = (e, v)
        return v

    def factor(value):
        if isinstance(value, int):
            value = sympy.Integer(value)
        if value.free_symbols:
            if n is None:
                raise SymbackpropError(f"the factor {value} needs the batch size n (give env['x'] or env['n'])")
            value = value.xreplace({N_SYMBOL: sympy.Integer(n)})
        return value if exact else float(value)

    def _ev(e):
        if isinstance(e, Mat):
            try:
                return env[e.name]
            except KeyError:
                raise SymbackpropError(f"no value for the matrix {e.name}") from None
        if isinstance(e, Scalar):
            return factor(e.value)
        if isinstance(e, Ones):
            rows = e.mshape.rows.size
            cols = e.mshape.cols.size
            if rows is None or cols is None:
                raise SymbackpropError(f"{e.text()}: its size must be known to evaluate it")
            return np.full((rows, cols), sympy.S.One if exact else 1.0, dtype=object if exact else float)
        if isinstance(e, Transpose):
            return ev(e.arg).T
        if isinstance(e, MatMul):
            a, b = ev(e.left), ev(e.right)
            if exact:
                return _exact_matmul(a, b)
            return a @ b
        if isinstance(e, Hadamard):
            return ev(e.left) * ev(e.right)
        if isinstance(e, HadamardDiv):
            return ev(e.left) / ev(e.right)
        if isinstance(e, Add):
            return ev(e.left) + ev(e.right)
        if isinstance(e, Sub):
            return ev(e.left) - ev(e.right)
        if isinstance(e, Neg):
            return -ev(e.arg)
        if isinstance(e, Scale):
            return factor(e.factor) * ev(e.arg)
        if isinstance(e, RowSum):
            a = ev(e.arg)
            if exact:
                return np.array([[sympy.Add(*a[:, c]) for c in range(a.shape[1])]], dtype=object)
            return np.sum(a, axis=0, keepdims=True)
        if isinstance(e, Apply):
            a = ev(e.arg)
            if e.function == "softmax":
                return _softmax_rows(a, exact)
            f = funcs[e.function]
            if exact:
                return np.frompyfunc(f, 1, 1)(a).astype(object)
            return f(a)
        raise NotSupportedError(f"cannot evaluate {type(e).__name__}")

    return ev(expr)


def _exact_matmul(a, b):
    a = np.asarray(a, dtype=object)
    b = np.asarray(b, dtype=object)
    out = np.empty((a.shape[0], b.shape[1]), dtype=object)
    for r in range(a.shape[0]):
        for c in range(b.shape[1]):
            out[r, c] = sympy.Add(*[a[r, k] * b[k, c] for k in range(a.shape[1])])
    return out


def to_sympy(expr: MatrixExpr, *, sizes: bool = True, latex_names: bool = False):
    """The expression as a SymPy ``MatrixExpr`` (``MatrixSymbol``, ``Transpose``, ``MatMul``,
    ``HadamardProduct``; Σ_rows A becomes 1_{1×n} A and a broadcast bias 1_{n×1} b).

    ``sizes=True`` uses the known sizes (and the symbol n for the batch), ``False`` a
    symbol per dimension label. Matrix symbols are named by ``Mat.name`` (``a_1``, ``yhat``),
    or by their LaTeX (``a_{1}``, ``\\hat{y}``) with ``latex_names=True``. The softmax function has no SymPy matrix form
    (NotSupportedError)."""
    from sympy.matrices.expressions import (HadamardProduct, MatAdd, MatMul as SMatMul, MatrixSymbol, OneMatrix,
                                            Transpose as STranspose)
    from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

    def dim(d: Dim):
        if d.label == "1":
            return 1
        if sizes and d.size is not None and d.label != "n":
            return d.size
        return N_SYMBOL if d.label == "n" else sympy.Symbol(d.label, positive=True, integer=True)

    def shp(s: Shape):
        return dim(s.rows), dim(s.cols)

    t = sympy.Dummy("t", real=True)

    def conv(e, like=None):
        if isinstance(e, Mat):
            return MatrixSymbol(e.latex() if latex_names else e.name, *shp(e.shape))
        if isinstance(e, Scalar):
            if like is None:
                raise NotSupportedError("a lone number has no matrix form")
            return e.value * OneMatrix(*shp(like))
        if isinstance(e, Ones):
            return OneMatrix(*shp(e.shape))
        if isinstance(e, Transpose):
            return STranspose(conv(e.arg)).doit() if isinstance(e.arg, Transpose) else STranspose(conv(e.arg))
        if isinstance(e, MatMul):
            return SMatMul(conv(e.left), conv(e.right))
        if isinstance(e, (Hadamard, HadamardDiv)):
            if isinstance(e, HadamardDiv):
                raise NotSupportedError("the elementwise quotient has no SymPy matrix form")
            return HadamardProduct(conv(e.left, e.shape), conv(e.right, e.shape))
        if isinstance(e, (Add, Sub)):
            left, right = conv(e.left, e.shape), conv(e.right, e.shape)
            if isinstance(e, Add) and e.broadcasts:
                rows = shp(e.shape)[0]
                if e.left.shape.is_row:
                    left = SMatMul(OneMatrix(rows, 1), left)
                else:
                    right = SMatMul(OneMatrix(rows, 1), right)
            return MatAdd(left, right) if isinstance(e, Add) else MatAdd(left, -right)
        if isinstance(e, Neg):
            return -conv(e.arg)
        if isinstance(e, Scale):
            return e.factor * conv(e.arg)
        if isinstance(e, RowSum):
            return SMatMul(OneMatrix(1, shp(e.arg.shape)[0]), conv(e.arg))
        if isinstance(e, Apply):
            if e.function == "softmax":
                raise NotSupportedError("softmax acts on whole rows; it has no elementwise SymPy form")
            f = _exact_functions()[e.function]
            return ElementwiseApplyFunction(sympy.Lambda(t, f(t)), conv(e.arg))
        raise NotSupportedError(f"no SymPy form for {type(e).__name__}")

    return conv(expr)


