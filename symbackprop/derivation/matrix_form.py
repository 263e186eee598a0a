r"""Backpropagation in matrix form, as the slides (001) write it, for any depth.

A batch of n examples flows through the network one matrix product per layer.
With ``L`` weight layers, widths ``N_0`` (inputs) ... ``N_L`` (outputs) and a_0 = x::

    z_l = a_{l-1} W_l + b_l      (n, N_{l-1}) (N_{l-1}, N_l) + (1, N_l) -> (n, N_l)
    a_l = g_l(z_l)               (n, N_l), elementwise (softmax: row by row)
    \hat{y} = a_L

Shapes as the slides teach them: x is (n, M), one row per example; a layer from M
inputs to N neurons has W of shape (M, N) (the inner dimensions of x W match) and a
bias b of shape (1, N), added to every row. The index notation of the lecture notes
is the transpose: ``W_l[j, i] = w^{l}_{i,j}`` (row = input node j, column = neuron i),
``b_l[1, i] = b^{l}_{i}``, and row e of z_l, a_l holds z^{l+1}_{i}, a^{l+1}_{i} of example e
(the notes number the input layer 1, so matrix layer l is index layer l + 1).

``dz_l``, ``da_l``, ``dW_l``, ``db_l`` are the gradients of the batch loss
J = r \sum_e L_e (r = 1/n for a ``mean`` reduction, 1 for ``sum``) with respect to
z_l, a_l, W_l, b_l. The backward steps, the slides' seven steps for any depth::

    dz_L     = r (\hat{y} - y)            BCE + sigmoid output, cross-entropy + softmax output
    da_L     = r \partial L / \partial \hat{y}   other losses, then
    dz_L     = da_L \odot g'(z_L)          (or the softmax Jacobian product)
    dW_l     = a_{l-1}^T dz_l
    db_l     = \sum_{rows} dz_l
    da_{l-1} = dz_l W_l^T
    dz_{l-1} = da_{l-1} \odot g'(z_{l-1})  (\sigma' = a(1 - a), tanh' = 1 - a^2, ...)

The slides write the mean loss (1/n) \sum but their backward steps drop the 1/n: they
differentiate the per-example (summed) loss. Here the factor r is explicit in the first
step and every later step inherits it, so dW_l is exactly \partial J / \partial W_l.

Each formula is data: a small matrix expression tree (``Mat``, ``Transpose``,
``MatMul``, ``Hadamard``, ...) that knows its shape, checks that inner dimensions
match (``ShapeError`` otherwise), prints itself as LaTeX and text, evaluates in
floats or exactly (NumPy object arrays of SymPy numbers), and converts to a SymPy
``MatrixExpr``. ``matrix_numpy`` compiles the same trees to vectorized NumPy,
``matrix_latex`` renders them, and the answer checker compares answers with them.
Nothing here builds the per-scalar graph, so a 784-128-10 network derives instantly;
``tests/test_matrix_form.py`` proves every entry equal to the per-scalar chain rule.

Example (the slides' gender network)::

    >>> md = matrix_derive(load_spec("derivations/gender.toml"))
    >>> [f"{s.target.name} = {s.expression.text()}" for s in md.backward][:3]
    ['dz_2 = 1/n (ŷ − y)', 'dW_2 = a_1ᵀ dz_2', 'db_2 = Σ_rows dz_2']
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import sympy

from ..spec import names
from ..ops.activations import A as A_SYMBOL, ACTIVATIONS, ELEMENTWISE, Z as Z_SYMBOL, float_function, get_activation
from ..errors import NotSupportedError, SpecError, SymbackpropError
from ..ops.losses import H as H_SYMBOL, LOSSES, Y as Y_SYMBOL, get_loss

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
class Neg(MatrixExpr):
    """−A."""

    arg: MatrixExpr
    precedence = _PREC_ADD

    @property
    def children(self):
        return (self.arg,)

    @property
    def shape(self):
        return self.arg.shape

    def latex(self) -> str:
        return "-" + self.arg._wrap_latex(_PREC_HAD)

    def text(self) -> str:
        return "−" + self.arg._wrap_text(_PREC_HAD)


@dataclass(frozen=True)
class Scale(MatrixExpr):
    """c A for a scalar c (a SymPy expression, e.g. 1/n or 2/K)."""

    factor: sympy.Expr
    arg: MatrixExpr
    precedence = _PREC_MUL

    @property
    def children(self):
        return (self.arg,)

    @property
    def shape(self):
        return self.arg.shape

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
class Apply(MatrixExpr):
    """g(A) elementwise (``softmax``: row by row). ``function`` is a key of ``FUNCTIONS``."""

    function: str
    arg: MatrixExpr

    def __post_init__(self):
        if self.function not in FUNCTIONS:
            raise NotSupportedError(f"unknown elementwise function {self.function!r} "
                                    f"(allowed: {', '.join(sorted(FUNCTIONS))})")

    @property
    def children(self):
        return (self.arg,)

    @property
    def shape(self):
        return self.arg.shape

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


# ---------------------------------------------------------------------------------------
# The per-layer rules as data
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ActivationRule:
    """g'(z) as a matrix expression, written as the lectures write it (in terms of a where
    customary): ``derivative(z, a)``; ``None`` for softmax (its Jacobian is not diagonal)."""

    name: str
    function: str | None  # the FUNCTIONS key of g (None: identity)
    derivative: object
    rule: str
    rule_latex: str


def lift(expr, symbols: dict) -> MatrixExpr | None:
    """The matrix form of a scalar rule from the registry, lifted elementwise.

    ``symbols`` maps the rule's SymPy symbols (a, z, or h, y) to matrices; products become
    ⊙, quotients ⊘, x² becomes x ⊙ x, numbers stay numbers (broadcast), c·(…) a scaling,
    and a registered function f(x) the elementwise ``Apply``. So a(1 − a) becomes
    a ⊙ (1 − a) and the rule is written once, in ``ops``. ``1`` lifts to None (dz = da)."""
    if expr == 1:
        return None
    return _lift(expr, symbols)


def _lift(e, symbols):
    if isinstance(e, sympy.UnevaluatedExpr):
        return _lift(e.args[0], symbols)
    if e in symbols:
        return symbols[e]
    if e.is_number:
        return Scalar(e)
    if isinstance(e, sympy.Add):
        terms = list(e.args)
        terms.sort(key=lambda t: (t.could_extract_minus_sign(), not t.is_number))
        out = _lift(terms[0], symbols)
        for t in terms[1:]:
            out = Sub(out, _lift(-t, symbols)) if t.could_extract_minus_sign() else Add(out, _lift(t, symbols))
        return out
    if isinstance(e, sympy.Mul):
        coeff, factors = e.as_coeff_mul()
        if coeff == -1:
            return Neg(_lift(sympy.Mul(*factors, evaluate=False) if len(factors) > 1 else factors[0], symbols))
        if coeff != 1:
            rest = factors[0] if len(factors) == 1 else sympy.Mul(*factors, evaluate=False)
            return Scale(coeff, _lift(rest, symbols))
        num = [f for f in factors if not (isinstance(f, sympy.Pow) and f.exp == -1)]
        den = [f.base for f in factors if isinstance(f, sympy.Pow) and f.exp == -1]
        out = _lift(num[0], symbols) if len(num) == 1 else None
        if out is None:
            out = _lift(num[0], symbols)
            for f in num[1:]:
                out = Hadamard(out, _lift(f, symbols))
        if den:
            d = _lift(den[0], symbols)
            for f in den[1:]:
                d = Hadamard(d, _lift(f, symbols))
            out = HadamardDiv(out, d)
        return out
    if isinstance(e, sympy.Pow) and e.exp == 2:
        b = _lift(e.base, symbols)
        return Hadamard(b, b)
    if isinstance(e, sympy.Pow) and e.exp == -1:
        return HadamardDiv(Scalar(sympy.S.One), _lift(e.base, symbols))
    if isinstance(e, sympy.Function) and len(e.args) == 1:
        name = next((k for k, v in ELEMENTWISE.items() if v.function == type(e)), None)
        if name is not None:
            return Apply(name, _lift(e.args[0], symbols))
    raise NotSupportedError(f"the rule {e} has no elementwise matrix form")


def _activation_rule(act) -> "ActivationRule":
    d = act.scalar_derivative()
    if d is None:
        derivative = None
    else:
        derivative = (lambda z, a, _d=d: lift(_d, {A_SYMBOL: a, Z_SYMBOL: z}))
    rule = act.rule + (", so dz = da" if act.name == "identity" else "")
    return ActivationRule(act.name, None if act.name == "identity" else act.name, derivative, rule, act.rule_latex)


class _RegistryView(dict):
    """A read-only view of a registry, each entry built on first use (entries added to the
    registry later, e.g. in a test, appear too)."""

    def __init__(self, registry, build):
        super().__init__()
        self._registry, self._build = registry, build

    def _sync(self):
        for k, v in self._registry.items():
            if not dict.__contains__(self, k):
                dict.__setitem__(self, k, self._build(v))

    def __getitem__(self, k):
        self._sync()
        return dict.__getitem__(self, k)

    def __contains__(self, k):
        self._sync()
        return dict.__contains__(self, k)

    def __iter__(self):
        self._sync()
        return dict.__iter__(self)

    def items(self):
        self._sync()
        return dict.items(self)

    def keys(self):
        self._sync()
        return dict.keys(self)

    def values(self):
        self._sync()
        return dict.values(self)

    def get(self, k, default=None):
        self._sync()
        return dict.get(self, k, default)

    def __len__(self):
        self._sync()
        return dict.__len__(self)


#: ``{name: ActivationRule}``: the registry's activations with their derivative lifted elementwise.
ACTIVATION_RULES = _RegistryView(ACTIVATIONS, _activation_rule)


@dataclass(frozen=True)
class LossRule:
    """∂L_e/∂ŷ for one per-example loss as a matrix expression ``gradient(yhat, y, K)``
    (entry [e, k] is ∂L_e/∂ŷ_k), with its rule in words and in LaTeX."""

    name: str
    gradient: object
    rule: str
    rule_latex: str


def _loss_rule(loss) -> "LossRule":
    def gradient(h, y, K, _loss=loss):
        return lift(_loss.scalar_gradient(K), {H_SYMBOL: h, Y_SYMBOL: y})
    return LossRule(loss.name, gradient, loss.rule, loss.rule_latex)


#: ``{name: LossRule}``: the registry's losses with ∂L/∂ŷ lifted elementwise.
LOSS_RULES = _RegistryView(LOSSES, _loss_rule)


@dataclass(frozen=True)
class FusedRule:
    """A loss and output activation whose product of local derivatives cancels to ŷ − y.

    ``general(yhat, y, ones)`` is the identity without assumptions; ``simple`` (ŷ − y)
    holds under ``assumption`` (None: always); ``lines`` is the slides' derivation."""

    loss: str
    activation: str
    general: object
    assumption: str | None
    assumption_latex: str | None
    lines: tuple
    rule: str


FUSED_RULES = {
    ("bce", "sigmoid"): FusedRule(
        "bce", "sigmoid", lambda h, y, ones: Sub(h, y), None, None,
        (r"\frac{\partial L}{\partial \hat{y}} = -\frac{y}{\hat{y}} + \frac{1 - y}{1 - \hat{y}} "
         r"= \frac{\hat{y} - y}{\hat{y}(1 - \hat{y})}",
         r"\hat{y} = \sigma(z_{L}) \Rightarrow \frac{\partial \hat{y}}{\partial z_{L}} = \hat{y}(1 - \hat{y})",
         r"\frac{\partial L}{\partial z_{L}} = \frac{\partial L}{\partial \hat{y}} \cdot "
         r"\frac{\partial \hat{y}}{\partial z_{L}} = \frac{\hat{y} - y}{\hat{y}(1 - \hat{y})} \cdot "
         r"\hat{y}(1 - \hat{y}) = \hat{y} - y"),
        "chain rule through the binary cross-entropy and the sigmoid: ∂L/∂ŷ = (ŷ − y)/(ŷ(1 − ŷ)) times "
        "∂ŷ/∂z = ŷ(1 − ŷ) cancels to ŷ − y, entry by entry"),
    ("cross_entropy", "softmax"): FusedRule(
        "cross_entropy", "softmax", lambda h, y, ones: Sub(Hadamard(h, MatMul(y, ones)), y),
        "each row of y sums to 1 (one-hot targets)",
        r"\text{each row of } y \text{ sums to } 1 \text{ (one-hot targets)}",
        (r"\frac{\partial L}{\partial \hat{y}_k} = -\frac{y_k}{\hat{y}_k}, \qquad "
         r"\frac{\partial \hat{y}_k}{\partial z_j} = \hat{y}_k\left(\delta_{kj} - \hat{y}_j\right)",
         r"\frac{\partial L}{\partial z_j} = \sum_k -\frac{y_k}{\hat{y}_k}\, \hat{y}_k\left(\delta_{kj} - "
         r"\hat{y}_j\right) = \hat{y}_j \sum_k y_k - y_j",
         r"\sum_k y_k = 1 \Rightarrow \frac{\partial L}{\partial z_{L}} = \hat{y} - y"),
        "chain rule through the cross-entropy and the softmax: Σ_k (−y_k/ŷ_k) ŷ_k(δ_kj − ŷ_j) = "
        "ŷ_j Σ_k y_k − y_j, which is ŷ_j − y_j when the targets of a row sum to 1"),
}


# ---------------------------------------------------------------------------------------
# The derivation
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ForwardStep:
    """One forward formula ``target = expression`` with its shapes:
    ``shapes`` e.g. ``(n, N_0)(N_0, N_1) + (1, N_1) -> (n, N_1)`` and the inner-dimension remark."""

    target: Mat
    expression: MatrixExpr
    shapes: str
    shapes_latex: str
    remark: str
    index_form: str
    index_form_latex: str


@dataclass(frozen=True)
class MatrixStep:
    """One backward step ``target = expression``.

    ``number`` counts from 1 (the slides' seven steps for two layers), ``target`` is the
    gradient matrix (``dz_2``), ``of`` the matrix it is the gradient of (``z_2``),
    ``expression`` the formula with the batch reduction included (the first step
    carries r = 1/n for a mean); ``per_example`` the same without r (the slides' form),
    ``general`` a form valid without ``assumption`` (for cross-entropy: targets whose rows
    do not sum to 1), ``rule`` a short name, ``justification`` the reason in words,
    ``lines`` the chain-rule derivation in LaTeX, ``index_form`` the entry in the lecture
    notes' index notation, ``shapes`` the shape arithmetic."""

    number: int
    target: Mat
    of: str
    expression: MatrixExpr
    rule: str
    justification: str
    shapes: str
    shapes_latex: str
    index_form: str
    index_form_latex: str
    per_example: MatrixExpr | None = None
    general: MatrixExpr | None = None
    assumption: str | None = None
    assumption_latex: str | None = None
    lines: tuple = ()
    justification_latex: str = ""

    @property
    def name(self) -> str:
        return self.target.name

    @property
    def reference(self) -> MatrixExpr:
        """The formula an answer is compared with (``general`` when there is one)."""
        return self.general if self.general is not None else self.expression


def _latex_name(name: str) -> str:
    """``W_12`` -> ``W_{12}`` (a multi-digit subscript needs braces)."""
    base, sep, sub = name.rpartition("_")
    return f"{base}_{{{sub}}}" if sep and sub.isdigit() else name


def _shape_product_text(a: Shape, b: Shape) -> str:
    return f"({a.rows.label}, {a.cols.label})({b.rows.label}, {b.cols.label})"


class MatrixDerivation:
    """The matrix-form derivation of a network spec: forward steps, loss, backward steps.

    Attributes: ``spec`` (or None), ``layers`` (N_0..N_L), ``activations``, ``loss``,
    ``reduction``, ``n_examples`` (None without data), ``depth`` (L, weight layers),
    ``dims``, ``matrices`` ({name: Mat}), ``forward`` and ``backward`` (tuples of steps),
    ``reduction_factor`` (1/n with the symbol n, or 1).
    """

    def __init__(self, network, spec=None):
        self.spec = spec
        self.network = network
        self.layers = tuple(network.layers)
        self.activations = tuple(network.activations)
        self.loss = network.loss
        self.reduction = network.reduction
        self.n_examples = (spec.n_examples or None) if spec is not None else None
        self.depth = len(self.layers) - 1
        for i, name in enumerate(self.activations):
            if name not in ACTIVATION_RULES:
                raise NotSupportedError(f"activation {name!r} has no matrix rule (allowed: "
                                        f"{', '.join(sorted(ACTIVATION_RULES))})")
            if name == "softmax" and i != self.depth - 1:
                raise SpecError(f"softmax is allowed only on the output layer (layer {i + 1} of {self.depth})")
        if self.loss not in LOSS_RULES:
            raise NotSupportedError(f"loss {self.loss!r} has no matrix rule (allowed: {', '.join(sorted(LOSS_RULES))})")
        get_loss(self.loss)
        self.dims = (Dim("n", self.n_examples),) + tuple(Dim(f"N_{l}", w) for l, w in enumerate(self.layers))
        self.matrices = {}
        self._build()

    # -- names and shapes -----------------------------------------------------------
    @property
    def batch(self) -> Dim:
        return self.dims[0]

    def width(self, l: int) -> Dim:
        return self.dims[l + 1]

    @property
    def reduction_factor(self) -> sympy.Expr:
        """r in J = r Σ_e L_e: 1/n (with the symbol n) for a mean, 1 for a sum."""
        return 1 / N_SYMBOL if self.reduction == "mean" else sympy.S.One

    @property
    def reduction_value(self):
        """r at the spec's batch size (None for a mean without data)."""
        if self.reduction == "sum":
            return sympy.S.One
        return sympy.Rational(1, self.n_examples) if self.n_examples else None

    @property
    def fused(self) -> FusedRule | None:
        return FUSED_RULES.get((self.loss, self.activations[-1]))

    def _mat(self, name, shape, latex=None, text=None) -> Mat:
        m = Mat(name, shape, latex or _latex_name(name), text or name)
        self.matrices[name] = m
        return m

    def activation_name(self, l: int) -> str:
        """The name of a_l (``x`` for l = 0, ``yhat`` for l = L)."""
        if l == 0:
            return "x"
        return "yhat" if l == self.depth else f"a_{l}"

    def resolve(self, name: str) -> str:
        """The canonical matrix name for ``name`` or a common spelling of it:
        X → x, A_l / Z_l / dZ_l / dA_l → a_l / z_l / dz_l / da_l, a_0 → x, a_L / \\hat{y} / ŷ → yhat,
        Y → y, w_l → W_l, dw_l → dW_l. SpecError naming the known matrices otherwise."""
        raw = name.strip()
        s = raw.replace(" ", "").replace("{", "").replace("}", "")
        aliases = {"X": "x", "A_0": "x", "a_0": "x", "Y": "y", r"\hat{y}": "yhat", r"\haty": "yhat", "ŷ": "yhat",
                   "y_hat": "yhat", "\\hat y": "yhat", "Yhat": "yhat"}
        if f"da_{self.depth}" in self.matrices:
            for alias in ("dyhat", r"d\hat{y}", "dŷ", "d\\haty", "dy_hat"):
                aliases[alias] = f"da_{self.depth}"
        if raw in aliases:
            return aliases[raw]
        if s in aliases:
            return aliases[s]
        import re

        m = re.fullmatch(r"(d?)([AZWazwb])_?(\d+)", s)
        if m:
            d, letter, l = m.group(1), m.group(2), int(m.group(3))
            letter = {"A": "a", "Z": "z", "w": "W"}.get(letter, letter)
            cand = f"{d}{letter}_{l}"
            if not d and letter == "a" and l == self.depth:
                cand = "yhat"
            if not d and letter == "a" and l == 0:
                cand = "x"
            if cand in self.matrices:
                return cand
        if s in self.matrices:
            return s
        from ..errors import did_you_mean

        known = list(self.matrices)
        raise SpecError(f"unknown matrix {name!r}{did_you_mean(s, known)} (known: {', '.join(known)})")

    def matrix(self, name: str) -> Mat:
        return self.matrices[self.resolve(name)]

    def index_name(self, name: str, row: int, col: int) -> str:
        """The index-notation name of entry [row, col] (1-based) of a matrix, or of the
        quantity a gradient matrix differentiates: W_l[j, i] -> w^{l}_{i,j}, b_l[1, i] -> b^{l}_{i},
        z_l[e, i] -> z^{l+1}_{i} (example e), a_l[e, i] -> a^{l+1}_{i}, x[e, j] -> x_{j}, y[e, k] -> y_{k};
        dW_l[j, i] -> w^{l}_{i,j} (dW_l[j, i] = ∂J/∂w^{l}_{i,j}) and so on."""
        name = self.resolve(name)
        base = name[1:] if name.startswith("d") else name
        if base == f"a_{self.depth}":
            base = "yhat"
        if base.startswith("W_"):
            return names.weight(int(base[2:]), col, row)
        if base.startswith("b_"):
            return names.bias(int(base[2:]), col)
        if base.startswith("z_"):
            return names.pre_activation(int(base[2:]) + 1, col)
        if base.startswith("a_"):
            return names.activation(int(base[2:]) + 1, col)
        if base == "yhat":
            return names.activation(self.depth + 1, col)
        if base == "x":
            return names.feature(col)
        if base == "y":
            return names.target(col)
        raise SpecError(f"{name} has no index-notation entries")

    def gradient_of(self, name: str) -> str:
        """``dW_2`` -> ``W_2``: the matrix a gradient matrix differentiates."""
        name = self.resolve(name)
        for step in self.backward:
            if step.target.name == name:
                return step.of
        raise SpecError(f"{name} is not a gradient matrix (known: {', '.join(s.name for s in self.backward)})")

    # -- building the steps ------------------------------------------------------------
    def _build(self):
        L = self.depth
        n = self.batch
        x = self._mat("x", Shape(n, self.width(0)))
        y = self._mat("y", Shape(n, self.width(L)))
        W, b, z, a = {}, {}, {}, {0: x}
        forward = []
        for l in range(1, L + 1):
            Ml, Nl = self.width(l - 1), self.width(l)
            W[l] = self._mat(f"W_{l}", Shape(Ml, Nl))
            b[l] = self._mat(f"b_{l}", Shape(ONE, Nl))
            z[l] = self._mat(f"z_{l}", Shape(n, Nl))
            prev = a[l - 1]
            expr = Add(MatMul(prev, W[l]), b[l])
            pm = f"{prev.text()} W_{l}"
            shapes = (f"{_shape_product_text(prev.shape, W[l].shape)} + (1, {Nl.label}) → ({n.label}, {Nl.label})")
            shapes_latex = (rf"({n.latex}, {Ml.latex})({Ml.latex}, {Nl.latex}) + (1, {Nl.latex}) "
                            rf"\rightarrow ({n.latex}, {Nl.latex})")
            remark = (f"the inner dimensions of {pm} match ({Ml.label}{'' if Ml.size is None else ' = ' + str(Ml.size)}):"
                      f" W_{l} takes {Ml.label} inputs to {Nl.label} neurons, so it is ({Ml.label}, {Nl.label}); "
                      f"b_{l} is (1, {Nl.label}), one bias per neuron, added to every row")
            forward.append(ForwardStep(
                z[l], expr, shapes, shapes_latex, remark,
                f"z_{l}[e, i] = Σ_j {prev.text()}[e, j] W_{l}[j, i] + b_{l}[1, i], i.e. "
                f"{names.pre_activation(l + 1, 'i')} = Σ_j {names.weight(l, 'i', 'j')} "
                f"{names.activation(l, 'j') if l > 1 else names.feature('j')} + {names.bias(l, 'i')}",
                rf"z_{{{l}}}[e, i] = \sum_j {prev.latex() if l > 1 else 'x'}[e, j]\, W_{{{l}}}[j, i] + b_{{{l}}}[1, i]"
                rf" \;\Leftrightarrow\; z^{{{l + 1}}}_{{i}} = \sum_j w^{{{l}}}_{{i,j}}\, "
                rf"{'a^{' + str(l) + '}_{j}' if l > 1 else 'x_{j}'} + b^{{{l}}}_{{i}}"))
            act = self.activations[l - 1]
            if l == L:
                a[l] = self._mat("yhat", Shape(n, Nl), r"\hat{y}", "ŷ")
            else:
                a[l] = self._mat(f"a_{l}", Shape(n, Nl))
            rule = ACTIVATION_RULES[act]
            aexpr = z[l] if rule.function is None else Apply(rule.function, z[l])
            how = "row by row" if act == "softmax" else "elementwise"
            forward.append(ForwardStep(
                a[l], aexpr, f"({n.label}, {Nl.label}) → ({n.label}, {Nl.label})",
                rf"({n.latex}, {Nl.latex}) \rightarrow ({n.latex}, {Nl.latex})",
                f"the activation {act} acts {how}, so the shape stays ({n.label}, {Nl.label})",
                f"{a[l].text()}[e, i] = {names.activation(l + 1, 'i')}",
                rf"{a[l].latex()}[e, i] = a^{{{l + 1}}}_{{i}}"))
        self.forward = tuple(forward)
        self._W, self._b, self._z, self._a = W, b, z, a

        steps = []
        r = self.reduction_factor

        def add(**kw):
            steps.append(MatrixStep(number=len(steps) + 1, **kw))

        K = self.layers[-1]
        yhat = a[L]
        fused = self.fused
        dz = {}
        if fused is not None:
            dz[L] = self._mat(f"dz_{L}", Shape(n, self.width(L)))
            ones = Ones(Shape(self.width(L), self.width(L)))
            simple = Sub(yhat, y)
            general = fused.general(yhat, y, ones)
            expr = simple if r == 1 else Scale(r, simple)
            gen = None
            if fused.assumption is not None:
                gen = general if r == 1 else Scale(r, general)
            lines = tuple(line.replace("z_{L}", f"z_{{{L}}}") for line in fused.lines)
            red = self._reduction_sentence()
            add(target=dz[L], of=f"z_{L}", expression=expr, per_example=simple, general=gen,
                assumption=fused.assumption, assumption_latex=fused.assumption_latex,
                rule="loss and output activation (chain rule, the factors cancel)",
                justification=fused.rule + "; " + red,
                justification_latex=self._reduction_sentence(latex=True),
                lines=lines,
                shapes=f"({n.label}, {self.width(L).label}), the shape of z_{L}",
                shapes_latex=rf"({n.latex}, {self.width(L).latex})",
                index_form=f"dz_{L}[e, k] = r ∂L_e/∂{names.pre_activation(L + 1, 'k')}",
                index_form_latex=rf"dz_{{{L}}}[e, k] = r\, \frac{{\partial L_e}}{{\partial z^{{{L + 1}}}_{{k}}}}")
        else:
            lrule = LOSS_RULES[self.loss]
            da_L = self._mat(f"da_{L}", Shape(n, self.width(L)), rf"d\hat{{y}}", "dŷ")
            grad = lrule.gradient(yhat, y, K)
            add(target=da_L, of="yhat", expression=grad if r == 1 else Scale(r, grad), per_example=grad,
                rule="derivative of the loss", justification=lrule.rule + "; " + self._reduction_sentence(),
                justification_latex=self._reduction_sentence(latex=True),
                lines=(lrule.rule_latex,),
                shapes=f"({n.label}, {self.width(L).label}), the shape of ŷ",
                shapes_latex=rf"({n.latex}, {self.width(L).latex})",
                index_form=f"dŷ[e, k] = r ∂L_e/∂{names.activation(L + 1, 'k')}",
                index_form_latex=rf"d\hat{{y}}[e, k] = r\, \frac{{\partial L_e}}{{\partial a^{{{L + 1}}}_{{k}}}}")
            dz[L] = self._mat(f"dz_{L}", Shape(n, self.width(L)))
            self._add_activation_step(add, L, da_L, dz[L])
        for l in range(L, 0, -1):
            prev = a[l - 1]
            Ml, Nl = self.width(l - 1), self.width(l)
            dW = self._mat(f"dW_{l}", Shape(Ml, Nl))
            add(target=dW, of=f"W_{l}", expression=MatMul(Transpose(prev), dz[l]),
                rule="weight gradient",
                justification=(f"z_{l} = {prev.text()} W_{l} + b_{l} is linear in W_{l}: "
                               f"∂z_{l}[e, i]/∂W_{l}[j, i] = {prev.text()}[e, j], so "
                               f"dW_{l}[j, i] = Σ_e {prev.text()}[e, j] dz_{l}[e, i], the product "
                               f"{prev.text()}ᵀ dz_{l} (the sum over examples is the inner dimension)"),
                justification_latex=(rf"z_{{{l}}} = {prev.latex()} W_{{{l}}} + b_{{{l}}} \Rightarrow "
                                     rf"\frac{{\partial z_{{{l}}}[e, i]}}{{\partial W_{{{l}}}[j, i]}} = "
                                     rf"{prev.latex()}[e, j], \quad dW_{{{l}}}[j, i] = \sum_e "
                                     rf"{prev.latex()}[e, j]\, dz_{{{l}}}[e, i]"),
                shapes=f"({Ml.label}, {n.label})({n.label}, {Nl.label}) → ({Ml.label}, {Nl.label}), the shape of W_{l}",
                shapes_latex=(rf"({Ml.latex}, {n.latex})({n.latex}, {Nl.latex}) \rightarrow ({Ml.latex}, {Nl.latex})"
                              rf" = \text{{shape of }} W_{{{l}}}"),
                index_form=f"dW_{l}[j, i] = ∂J/∂{names.weight(l, 'i', 'j')}",
                index_form_latex=rf"dW_{{{l}}}[j, i] = \frac{{\partial J}}{{\partial w^{{{l}}}_{{i,j}}}}")
            db = self._mat(f"db_{l}", Shape(ONE, Nl))
            add(target=db, of=f"b_{l}", expression=RowSum(dz[l]), rule="bias gradient",
                justification=(f"b_{l} is added to every row of z_{l} with coefficient 1, so "
                               f"db_{l}[1, i] = Σ_e dz_{l}[e, i]: the bias gradient is summed across the batch"),
                justification_latex=(rf"\frac{{\partial z_{{{l}}}[e, i]}}{{\partial b_{{{l}}}[1, i]}} = 1 "
                                     rf"\Rightarrow db_{{{l}}}[1, i] = \sum_e dz_{{{l}}}[e, i]"),
                shapes=f"({n.label}, {Nl.label}) → (1, {Nl.label}), the shape of b_{l}",
                shapes_latex=rf"({n.latex}, {Nl.latex}) \rightarrow (1, {Nl.latex}) = \text{{shape of }} b_{{{l}}}",
                index_form=f"db_{l}[1, i] = ∂J/∂{names.bias(l, 'i')}",
                index_form_latex=rf"db_{{{l}}}[1, i] = \frac{{\partial J}}{{\partial b^{{{l}}}_{{i}}}}")
            if l == 1:
                continue
            da = self._mat(f"da_{l - 1}", Shape(n, Ml))
            add(target=da, of=f"a_{l - 1}", expression=MatMul(dz[l], Transpose(W[l])),
                rule="gradient into the previous layer",
                justification=(f"a_{l - 1} affects the loss through z_{l} = a_{l - 1} W_{l} + b_{l}: "
                               f"∂z_{l}[e, i]/∂a_{l - 1}[e, j] = W_{l}[j, i], so da_{l - 1}[e, j] = "
                               f"Σ_i dz_{l}[e, i] W_{l}[j, i], the product dz_{l} W_{l}ᵀ"),
                justification_latex=(rf"\frac{{\partial z_{{{l}}}[e, i]}}{{\partial a_{{{l - 1}}}[e, j]}} = "
                                     rf"W_{{{l}}}[j, i] \Rightarrow da_{{{l - 1}}}[e, j] = \sum_i dz_{{{l}}}[e, i]\, "
                                     rf"W_{{{l}}}[j, i]"),
                shapes=f"({n.label}, {Nl.label})({Nl.label}, {Ml.label}) → ({n.label}, {Ml.label}), the shape of a_{l - 1}",
                shapes_latex=(rf"({n.latex}, {Nl.latex})({Nl.latex}, {Ml.latex}) \rightarrow ({n.latex}, {Ml.latex})"
                              rf" = \text{{shape of }} a_{{{l - 1}}}"),
                index_form=f"da_{l - 1}[e, j] = r ∂L_e/∂{names.activation(l, 'j')}",
                index_form_latex=(rf"da_{{{l - 1}}}[e, j] = r\, \frac{{\partial L_e}}"
                                  rf"{{\partial a^{{{l}}}_{{j}}}}"))
            dz[l - 1] = self._mat(f"dz_{l - 1}", Shape(n, Ml))
            self._add_activation_step(add, l - 1, da, dz[l - 1])
        self.backward = tuple(steps)

    def _reduction_sentence(self, latex: bool = False) -> str:
        n = self.n_examples
        if self.reduction == "mean":
            num = f" (n = {n}, so 1/n = 1/{n})" if n else ""
            if latex:
                num = rf" (n = {n}, \text{{ so }} \tfrac{{1}}{{n}} = \tfrac{{1}}{{{n}}})" if n else ""
                return (r"\text{The loss is the mean } J = \frac{1}{n}\sum_e L_e" + num +
                        r"\text{: the factor } \frac{1}{n} \text{ enters here and every later step inherits it.}")
            return (f"the loss is the mean J = (1/n) Σ_e L_e{num}, so the factor 1/n enters here and every later "
                    f"step inherits it (the slides drop it: they differentiate the per-example loss)")
        if latex:
            return r"\text{The loss is the sum } J = \sum_e L_e\text{: no factor.}"
        return "the loss is the sum J = Σ_e L_e, so there is no factor"

    def _add_activation_step(self, add, l, da: Mat, dzm: Mat):
        """dz_l = da_l ⊙ g'(z_l) (or the softmax Jacobian product)."""
        act = self.activations[l - 1]
        rule = ACTIVATION_RULES[act]
        z, a = self._z[l], self._a[l]
        n, Nl = self.batch, self.width(l)
        if act == "softmax":
            ones = Ones(Shape(Nl, Nl))
            expr = Hadamard(a, Sub(da, MatMul(Hadamard(da, a), ones)))
            just = ("chain rule through the softmax, row by row: ∂ŷ_k/∂z_j = ŷ_k(δ_kj − ŷ_j), so "
                    "dz[e, j] = ŷ[e, j](da[e, j] − Σ_k da[e, k] ŷ[e, k]); multiplying by the all-ones matrix "
                    "puts each row's total in every column")
            jl = (r"\frac{\partial \hat{y}_k}{\partial z_j} = \hat{y}_k(\delta_{kj} - \hat{y}_j) \Rightarrow "
                  rf"dz_{{{l}}}[e, j] = \hat{{y}}[e, j]\left(d\hat{{y}}[e, j] - \sum_k d\hat{{y}}[e, k]\, "
                  r"\hat{y}[e, k]\right)")
            lines = (rule.rule_latex,)
        else:
            deriv = rule.derivative(z, a)
            expr = da if deriv is None else Hadamard(da, deriv)
            gp = "1" if deriv is None else deriv.text()
            just = (f"chain rule through the activation, entry by entry: {a.text()} = {act}(z_{l}), "
                    f"∂{a.text()}/∂z_{l} = {gp} ({rule.rule})")
            jl = (rf"{a.latex()} = g(z_{{{l}}}) \Rightarrow \frac{{\partial {a.latex()}}}{{\partial z_{{{l}}}}} = "
                  rf"{'1' if deriv is None else deriv.latex()} \text{{ (elementwise)}}")
            lines = (rule.rule_latex,)
        add(target=dzm, of=f"z_{l}", expression=expr, rule="through the activation", justification=just,
            justification_latex=jl, lines=lines,
            shapes=f"({n.label}, {Nl.label}) ⊙ ({n.label}, {Nl.label}) → ({n.label}, {Nl.label}), the shape of z_{l}",
            shapes_latex=(rf"({n.latex}, {Nl.latex}) \odot ({n.latex}, {Nl.latex}) \rightarrow "
                          rf"({n.latex}, {Nl.latex})"),
            index_form=f"dz_{l}[e, i] = r ∂L_e/∂{names.pre_activation(l + 1, 'i')}",
            index_form_latex=rf"dz_{{{l}}}[e, i] = r\, \frac{{\partial L_e}}{{\partial z^{{{l + 1}}}_{{i}}}}")

    # -- reading it ----------------------------------------------------------------------
    def step(self, name: str) -> MatrixStep:
        """The backward step that computes ``name`` (``dW_1``, ``dz_2``, ``dZ_2``, ...)."""
        name = self.resolve(name)
        for s in self.backward:
            if s.target.name == name:
                return s
        raise SpecError(f"{name} is not computed by a backward step (steps: "
                        f"{', '.join(s.name for s in self.backward)})")

    def _gradient_name(self, name: str) -> str:
        """``dW_1`` as is; ``W_1`` -> ``dW_1``; an index-notation entry ``w^{1}_{2,1}`` / ``b^{1}_{2}`` /
        ``z^{3}_{1}`` / ``a^{2}_{1}`` -> the gradient matrix holding it (``dW_1``, ``db_1``, ``dz_2``, ``da_1``)."""
        parts = names.split_indexed(name.replace(" ", ""))
        if parts is not None and parts[1] is not None:
            letter, layer, _ = parts
            if letter in ("w", "b") and 1 <= layer <= self.depth:
                return f"d{'W' if letter == 'w' else 'b'}_{layer}"
            if letter in ("z", "a") and 2 <= layer <= self.depth + 1:
                cand = f"d{letter}_{layer - 1}"
                if cand in self.matrices:
                    return cand
                if letter == "a" and layer == self.depth + 1:
                    return f"dz_{self.depth}"
        resolved = self.resolve(name)
        if resolved in {s.name for s in self.backward}:
            return resolved
        for s in self.backward:
            if s.of == resolved:
                return s.name
        return resolved

    def steps_for(self, names_) -> tuple:
        """The backward steps needed to compute the given gradient matrices, in order. Names may
        be gradient matrices (``dW_1``), the matrices they differentiate (``W_1``) or index-notation
        entries (``w^{1}_{1,1}``, the step of the matrix that holds it)."""
        want = {self._gradient_name(nm) for nm in names_}
        by_name = {s.name: s for s in self.backward}
        for w in list(want):
            if w not in by_name:
                self.step(w)
        need = set(want)
        for s in reversed(self.backward):
            if s.name in need:
                need.update(m for m in s.expression.matrices() if m in by_name)
        return tuple(s for s in self.backward if s.name in need)

    def forward_step(self, name: str) -> ForwardStep:
        name = self.resolve(name)
        for s in self.forward:
            if s.target.name == name:
                return s
        raise SpecError(f"{name} is not computed by a forward step")

    @property
    def parameter_names(self) -> tuple:
        """``('W_1', 'b_1', ..., 'W_L', 'b_L')``."""
        return tuple(x for l in range(1, self.depth + 1) for x in (f"W_{l}", f"b_{l}"))

    @property
    def parameter_count(self) -> int:
        return sum(self.layers[l] * self.layers[l + 1] + self.layers[l + 1] for l in range(self.depth))

    def loss_latex(self) -> str:
        """The per-example loss as the lectures write it (index form over the outputs k)."""
        return get_loss(self.loss).latex

    # -- numbers -------------------------------------------------------------------------
    @cached_property
    def spec_matrices(self):
        """The spec's parameters in the slides' shapes, floats: [(W_1, b_1), ...] with W_l (N_{l-1}, N_l)."""
        if self.spec is None or self.spec.weights is None:
            raise SpecError("no parameters: the matrix derivation was built without a spec")
        out = []
        for l in range(1, self.depth + 1):
            w = self.spec.weights[l - 1]
            Wt = np.array([[_to_float(v) for v in row] for row in w], dtype=float).reshape(self.layers[l], self.layers[l - 1])
            bb = np.array([_to_float(v) for v in self.spec.biases[l - 1]], dtype=float).reshape(1, -1)
            out.append((np.ascontiguousarray(Wt.T), bb))
        return out

    def spec_exact_matrices(self):
        """The spec's parameters as exact object arrays [(W_l, b_l)] (small networks)."""
        out = []
        for l in range(1, self.depth + 1):
            w = self.spec.weights[l - 1]
            Wt = np.array(w, dtype=object).reshape(self.layers[l], self.layers[l - 1])
            out.append((Wt.T.copy(), np.array([list(self.spec.biases[l - 1])], dtype=object)))
        return out

    def has_data(self) -> bool:
        return self.spec is not None and bool(self.spec.x)

    def spec_data(self, exact: bool = False):
        """(X, Y) from the spec: (n, N_0) and (n, N_L) arrays (floats, or exact object arrays)."""
        if not self.has_data():
            raise SpecError(f"{self.spec.source if self.spec else '<spec>'}: [data]: no x and y rows")
        if exact:
            return (np.array(self.spec.x, dtype=object).reshape(len(self.spec.x), -1),
                    np.array(self.spec.y, dtype=object).reshape(len(self.spec.y), -1))
        X = np.array([[_to_float(v) for v in row] for row in self.spec.x], dtype=float).reshape(len(self.spec.x), -1)
        Y = np.array([[_to_float(v) for v in row] for row in self.spec.y], dtype=float).reshape(len(self.spec.y), -1)
        return X, Y

    def environment(self, mats=None, X=None, Y=None, *, exact: bool = False, general: bool = True) -> dict:
        """Every named matrix at the given parameters and data, computed by evaluating the
        forward and backward steps in order (the formulas themselves, not generated code):
        {'x', 'y', 'W_l', 'b_l', 'z_l', 'a_l', 'yhat', 'dz_l', 'da_l', 'dW_l', 'db_l', 'n'}.
        Defaults: the spec's parameters and data. ``exact=True``: object arrays of SymPy numbers.
        ``general=False`` evaluates each step's ``expression`` (ŷ − y for cross-entropy, which
        assumes one-hot targets) instead of its ``reference``."""
        if mats is None:
            mats = self.spec_exact_matrices() if exact else self.spec_matrices
        if X is None or Y is None:
            X0, Y0 = self.spec_data(exact=exact)
            X = X0 if X is None else X
            Y = Y0 if Y is None else Y
        env = {"x": X, "y": Y, "n": np.shape(X)[0]}
        for l, (Wl, bl) in enumerate(mats, start=1):
            env[f"W_{l}"] = Wl
            env[f"b_{l}"] = bl
        for s in self.forward:
            env[s.target.name] = evaluate(s.expression, env, exact=exact)
        for s in self.backward:
            env[s.target.name] = evaluate(s.reference if general else s.expression, env, exact=exact)
        return env


def _to_float(v) -> float:
    if isinstance(v, sympy.Rational):
        return v.p / v.q
    return float(v)


MATRIX_MIN_PARAMETERS = 5000
"""Network specs with more parameters than this are derived in matrix form only: per-scalar
derivation is linear in the parameters but a few milliseconds each, far too slow at 100k."""


def parameter_count(layers) -> int:
    """Σ_l (N_{l-1} N_l + N_l): every weight and bias of a fully connected network."""
    return sum(layers[k] * layers[k + 1] + layers[k + 1] for k in range(len(layers) - 1))


def uses_matrix_form(spec) -> bool:
    """True for network specs with ``notation = "matrix"`` or more than ``MATRIX_MIN_PARAMETERS``
    parameters: the CLI derives, renders, checks and exports these in matrix form."""
    if spec.network is None:
        return False
    return spec.notation == "matrix" or parameter_count(spec.network.layers) > MATRIX_MIN_PARAMETERS


def matrix_derive(source) -> MatrixDerivation:
    """The matrix-form derivation of a network: from a ``Spec``, a ``Derivation`` (its spec),
    a ``NetworkSpec`` (no numbers) or a ``MatrixDerivation`` (returned as is).

    Builds no per-scalar graph: the cost is one step per layer, whatever the widths."""
    if isinstance(source, MatrixDerivation):
        return source
    from ..spec.load import NetworkSpec, Spec

    spec = None
    if isinstance(source, NetworkSpec):
        return MatrixDerivation(source)
    if isinstance(source, Spec):
        spec = source
    elif hasattr(source, "spec") and hasattr(source, "graph"):
        spec = source.spec
    else:
        raise TypeError(f"matrix_derive needs a Spec, Derivation or NetworkSpec, not {type(source).__name__}")
    if spec is None or spec.network is None:
        where = spec.source if spec is not None else "<spec>"
        raise NotSupportedError(f"{where}: the matrix form needs a [network] spec (layers, activations, loss); "
                                f"a [graph] spec is derived per scalar only")
    return MatrixDerivation(spec.network, spec)


def matrix_derivation_text(md: MatrixDerivation, wrt=None, decimals: int = 4) -> str:
    """The matrix-form derivation as plain text: shapes, forward steps, reduction, backward steps
    (those needed for ``wrt`` when given), with numbers for small networks with data."""
    md = matrix_derive(md)
    lines = []
    title = (md.spec.title or md.spec.source) if md.spec is not None else "network"
    lines.append(f"# {title} (matrix form)")
    lines.append(f"layers {list(md.layers)}, activations {', '.join(md.activations)}, loss {md.loss}, "
                 f"reduction {md.reduction}" + (f" over n = {md.n_examples} examples" if md.n_examples else ""))
    lines.append("index notation: W_l[j, i] = w^{l}_{i,j} (row = input j, column = neuron i), b_l[1, i] = b^{l}_{i}; "
                 "row e of z_l, a_l is z^{l+1}, a^{l+1} of example e")
    lines.append("")
    lines.append("forward:")
    for s in md.forward:
        lines.append(f"  {s.target.text()} = {s.expression.text()}    shape {s.target.shape.text()}")
        lines.append(f"      {s.shapes}; {s.remark}")
    lines.append("")
    lines.append(f"loss: {get_loss(md.loss).description} per example, J = "
                 + ("(1/n) Σ_e L_e" if md.reduction == "mean" else "Σ_e L_e"))
    lines.append("")
    lines.append("backward:")
    steps = md.steps_for(wrt) if wrt else md.backward
    for s in steps:
        lines.append(f"  {s.number}. {s.target.text()} = {s.expression.text()}    shape {s.target.shape.text()}")
        if s.per_example is not None and s.per_example != s.expression:
            lines.append(f"      per example (the slides' form): {s.target.text()} = {s.per_example.text()}")
        if s.assumption:
            lines.append(f"      assuming {s.assumption}; in general {s.general.text()}")
        lines.append(f"      {s.justification}")
        lines.append(f"      {s.shapes}; {s.index_form}")
    if md.has_data() and md.parameter_count <= 200 and md.n_examples <= 20:
        env = md.environment()
        lines.append("")
        lines.append("numbers (spec parameters and data):")
        for s in md.forward + steps:
            v = np.asarray(env[s.target.name], dtype=float)
            rows = "; ".join(", ".join(_fmt(x, decimals) for x in row) for row in v)
            lines.append(f"  {s.target.text()} = [{rows}]")
    return "\n".join(lines) + "\n"


def _fmt(x: float, decimals: int) -> str:
    s = f"{float(x):.{decimals}f}"
    if s.startswith("-") and float(s) == 0:
        s = s[1:]
    return s


__all__ = [
    "ACTIVATION_RULES", "Add", "Apply", "Dim", "FUSED_RULES", "ForwardStep", "Hadamard", "HadamardDiv", "LOSS_RULES",
    "Mat", "MatMul", "MatrixDerivation", "MatrixExpr", "MatrixStep", "N_SYMBOL", "Neg", "Ones", "RowSum", "Scalar",
    "Scale", "Shape", "ShapeError", "Sub", "Transpose", "evaluate", "exact_array", "matrix_derivation_text",
    "matrix_derive", "to_sympy", "walk",
]

