r"""Check matrix answers for matrix specs, as the slides (001) write backpropagation.

For a spec with ``notation = "matrix"`` (the slides' gender network ``derivations/gender.toml``),
a student writes the backward steps in the slides' matrix notation::

    dW_2 = a_1^T dz_2                       db_2 = \sum dz_2
    dz_1 = dz_2 W_2^T \odot a_1(1 - a_1)    \frac{\partial L}{\partial z_2} = \hat{y} - y

**Reading.** The answer is parsed by our lark grammar (``grammar.lark``, never eval) and built
into the matrix-expression tree of :mod:`symbackprop.derivation.matrix_form` (``Mat``, ``Transpose``,
``MatMul``, ``Hadamard``, ``RowSum``, ``Apply``, ``Scale``, ...). Names are resolved against the
matrix derivation's names (``x``/``X``, ``W_l``/``w_l``, ``b_l``, ``z_l``, ``a_l``, ``\hat{y}``/``ŷ``,
``y`` and the gradients ``dz_l``, ``da_l``, ``dW_l``, ``db_l``; ``\frac{\partial L}{\partial W_2}``
is ``dW_2``, ``\delta_l`` is ``dz_l``). ``A^T``, ``A^{T}``, ``A^\top``, ``Aᵀ`` transpose;
juxtaposition, ``\cdot`` and ``*`` are the matrix product, or, when the two factors have the
same shape and a product is impossible, the slides' elementwise product (``a_1(1 - a_1)``,
``\frac{\partial L}{\partial a_1} \cdot a_1 \cdot (1 - a_1)``); ``\odot``, ``\circ``, ``⊙`` are
the elementwise product (binding looser than a product); ``\frac{A}{B}`` of matrices is the
elementwise quotient; ``\sum A`` (and ``\sum_{\text{rows}}``, ``\sum_e``, ``\sum_{i=1}^{n}``) sums
over the rows, the batch; ``\sigma``, ``\tanh``, ReLU, ``\exp``, ``\log`` act entry by entry and
``\sigma'(z_1)`` is σ(z_1) ⊙ (1 − σ(z_1)); a whole power ``a_1^2`` is elementwise; ``n`` is the
batch size (``\frac{1}{n}``).

**Deciding.** First the shapes, symbolically, by dimension *name* (``n``, ``N_0``, ``N_1``, ...):
every product needs matching inner dimensions and the answer must have the shape of the
gradient, so ``dz_1^T x`` is caught in the gender network although ``N_0 = N_1 = 2``.
Then the values: the answer and the reference step of the matrix derivation are evaluated
entry by entry at random rational points (random W_l, b_l, x, y; targets in the loss's domain)
in the exact field of :class:`symbackprop.verify.answers.ExactPoint` (σ(2) is e²/(e² + 1); two numbers are
compared through random homomorphisms into GF(2⁶¹ − 1), as the index-notation checker does).
Floats never decide.

**Convention.** As the slides' backward steps (and the index-notation checker), gradients are
per example, summed over the batch: the gradients of Σ_e L_e, so ``dz_2 = ŷ − y`` and every
later step builds on it. With ``reduction = "mean"`` the verdict notes that the gradients of
J = (1/n) Σ_e L_e are (1/n) times these, and an answer that carries the 1/n is a constant
factor off, exactly as in index notation.

**Feedback** (``mistake``): ``missing_transpose`` and ``wrong_order`` (with the ShapeError's
shapes, e.g. ``a_1 is (n, N_1) = (4, 2), dz_2 is (n, N_2) = (4, 1)``, and the fix, confirmed by
evaluation), ``shape_mismatch``, ``missing_sum`` / ``extra_sum`` (the bias gradient sums over the
batch), ``sign``, ``constant_factor`` (1/n, a stray 2), ``activation_derivative_missing`` /
``activation_derivative_twice`` / ``missing_factor`` / ``extra_factor`` (a ⊙ factor such as
a_1 ⊙ (1 − a_1), named), ``wrong_matrix`` (z_1 where a_1 belongs), else ``counterexample`` (an
entry, both values and the point).
"""
from __future__ import annotations

import dataclasses
import random
import re
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import sympy
from lark import Token, Tree
from sympy import Rational

from ..ops import functions
from ..verify.answers import (
    CORRECT,
    INCORRECT,
    N_POINTS,
    random_rational,
    UNPARSEABLE,
    ANSWER_SECONDS,
    ExactPoint,
    LazyExpected,
    readable_number,
    Step,
    Value,
    Verdict,
    _Budget,
    _Kink,
    _Undefined,
    _time_limit,
    _unparseable,
)
from ..errors import NotSupportedError, ParseError, SpecError, SymbackpropError, did_you_mean
from ..grammar.notation import normalize
from ..derivation.matrix_form import (
    ACTIVATION_RULES,
    LOSS_RULES,
    N_SYMBOL,
    Add,
    Apply,
    Hadamard,
    HadamardDiv,
    Mat,
    MatMul,
    MatrixDerivation,
    MatrixExpr,
    Neg,
    Ones,
    RowSum,
    Scalar,
    Scale,
    ShapeError,
    Sub,
    Transpose,
    matrix_derive,
    walk,
)
from ..grammar.parser import (
    FUNCTIONS as SCALAR_FUNCTIONS,
    MAX_BITS,
    MAX_EXPONENT,
    MAX_SCRIPTS,
    _Builder,
    _Resolver,
    _error,
    _parse_tree,
    _pos,
    _sides,
)

#: matrix-derivation entries evaluated per point before the evaluation uses smaller widths
EVAL_MAX_PRODUCTS = 600   # products per point beyond which the widths are reduced (see eval_sizes)
#: at most this many substitutions are tried when looking for a wrong matrix or a fix
MAX_TRIES = 80

_PREC_ATOM = 4

# ---------------------------------------------------------------------------------------
# Two elementwise nodes the matrix form does not need: exp/log and whole powers


@dataclass(frozen=True)
class Elementwise(MatrixExpr):
    """exp(A) or log(A), entry by entry (``function`` is ``exp`` or ``log``)."""

    function: str
    arg: MatrixExpr

    @property
    def children(self):
        return (self.arg,)

    @property
    def shape(self):
        return self.arg.shape

    def latex(self) -> str:
        return rf"\{self.function}\left({self.arg.latex()}\right)"

    def text(self) -> str:
        return f"{self.function}({self.arg.text()})"


@dataclass(frozen=True)
class Power(MatrixExpr):
    """A^k entry by entry, k a whole number (the slides' a² in tanh' = 1 − a²)."""

    arg: MatrixExpr
    exponent: int

    @property
    def children(self):
        return (self.arg,)

    @property
    def shape(self):
        return self.arg.shape

    def latex(self) -> str:
        return f"{self.arg._wrap_latex(_PREC_ATOM)}^{{{self.exponent}}}"

    def text(self) -> str:
        return f"{self.arg._wrap_text(_PREC_ATOM)}^{self.exponent}"


def _substitute(expr: MatrixExpr, mapping: dict) -> MatrixExpr:
    """``expr`` with every subtree equal to a key replaced by its value (shapes re-checked: ShapeError)."""
    if expr in mapping:
        return mapping[expr]
    if not dataclasses.is_dataclass(expr) or not expr.children:
        return expr
    changes = {}
    for f in dataclasses.fields(expr):
        value = getattr(expr, f.name)
        if isinstance(value, MatrixExpr):
            new = _substitute(value, mapping)
            if new is not value:
                changes[f.name] = new
    return dataclasses.replace(expr, **changes) if changes else expr


def _untranspose(e: MatrixExpr) -> MatrixExpr:
    """Aᵀ with (Bᵀ)ᵀ written B."""
    return e.arg if isinstance(e, Transpose) else Transpose(e)


def _shape_text(shape) -> str:
    return "a number" if shape is None else shape.text()


# ---------------------------------------------------------------------------------------
# Exact evaluation of a matrix expression (NumPy object arrays of exact Values)


def _full(shape, value):
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        out[idx] = value
    return out


def _one_by_one(value: Value):
    return _full((1, 1), value)


class _Evaluator:
    """The value of a matrix expression at one ExactPoint: a 2-D object array of ``Value``s
    (a number is a 1 × 1 array that broadcasts)."""

    def __init__(self, point: ExactPoint, env: dict, n: int, sizes: dict, cache: dict | None = None):
        self.p, self.env, self.n, self.sizes = point, env, n, sizes
        self.cache = {} if cache is None else cache  # (function, value) -> value, shared per point

    def __call__(self, e: MatrixExpr):
        return self.ev(e)

    def scalar(self, value) -> Value:
        value = sympy.Integer(value) if isinstance(value, int) else value
        if value.free_symbols:
            value = value.xreplace({N_SYMBOL: sympy.Integer(self.n)})
        return self.p.evaluate(value)

    def entrywise(self, f, a):
        out = np.empty(a.shape, dtype=object)
        for idx in np.ndindex(*a.shape):
            out[idx] = f(a[idx])
        return out

    def sigmoid(self, v):
        return 1 / (1 + self.p.exp(-v))

    def apply(self, name, v):
        key = (name, v.res, v.q)
        out = self.cache.get(key)
        if out is None:
            out = self._apply(name, v)
            if len(self.cache) < 100000:
                self.cache[key] = out
        return out

    def _apply(self, name, v):
        p = self.p
        if name == "sigmoid":
            return self.sigmoid(v)
        if name == "tanh":
            up, down = p.exp(v), p.exp(-v)
            return (up - down) / (up + down)
        if name == "softplus":
            return p.log(1 + p.exp(v))
        if name == "exp":
            return p.exp(v)
        if name == "log":
            return p.log(v)
        s = v.sign()
        if s == 0:
            raise _Kink()
        slope = functions.LEAKY_SLOPE
        if name == "relu":
            return v if s > 0 else Value.rational(0)
        if name == "step":
            return Value.rational(1 if s > 0 else 0)
        if name == "leaky_relu":
            return v if s > 0 else v * slope
        if name == "leaky_step":
            return Value.rational(1 if s > 0 else slope)
        raise _Undefined(f"no exact rule for {name}")  # pragma: no cover - every FUNCTIONS key is above

    def ev(self, e):
        if isinstance(e, Mat):
            try:
                return self.env[e.name]
            except KeyError:
                raise _Undefined(f"no value for {e.name}") from None
        if isinstance(e, Scalar):
            return _one_by_one(self.scalar(e.value))
        if isinstance(e, Ones):
            rows = self.sizes.get(e.mshape.rows.label, e.mshape.rows.size)
            cols = self.sizes.get(e.mshape.cols.label, e.mshape.cols.size)
            return _full((rows, cols), Value.rational(1))
        if isinstance(e, Transpose):
            return self.ev(e.arg).T
        if isinstance(e, MatMul):
            a, b = self.ev(e.left), self.ev(e.right)
            out = np.empty((a.shape[0], b.shape[1]), dtype=object)
            for r in range(a.shape[0]):
                for c in range(b.shape[1]):
                    total = Value.rational(0)
                    for k in range(a.shape[1]):
                        total = total + a[r, k] * b[k, c]
                    out[r, c] = total
            return out
        if isinstance(e, Hadamard):
            return self.ev(e.left) * self.ev(e.right)
        if isinstance(e, HadamardDiv):
            return self.ev(e.left) / self.ev(e.right)
        if isinstance(e, Add):
            return self.ev(e.left) + self.ev(e.right)
        if isinstance(e, Sub):
            return self.ev(e.left) - self.ev(e.right)
        if isinstance(e, Neg):
            return self.entrywise(lambda v: -v, self.ev(e.arg))
        if isinstance(e, Scale):
            return self.ev(e.arg) * _one_by_one(self.scalar(e.factor))
        if isinstance(e, RowSum):
            a = self.ev(e.arg)
            out = np.empty((1, a.shape[1]), dtype=object)
            for c in range(a.shape[1]):
                total = Value.rational(0)
                for r in range(a.shape[0]):
                    total = total + a[r, c]
                out[0, c] = total
            return out
        if isinstance(e, Power):
            k = e.exponent
            return self.entrywise(lambda v: v ** k, self.ev(e.arg))
        if isinstance(e, Elementwise):
            return self.entrywise(lambda v: self.apply(e.function, v), self.ev(e.arg))
        if isinstance(e, Apply):
            a = self.ev(e.arg)
            if e.function == "softmax":
                out = np.empty(a.shape, dtype=object)
                for r in range(a.shape[0]):
                    exps = [self.apply("exp", v) for v in a[r]]
                    total = Value.rational(0)
                    for v in exps:
                        total = total + v
                    for c, v in enumerate(exps):
                        out[r, c] = v / total
                return out
            return self.entrywise(lambda v: self.apply(e.function, v), a)
        raise _Undefined(f"cannot evaluate {type(e).__name__}")  # pragma: no cover - every node is above


def _equal_arrays(a, b) -> bool:
    if a.shape != b.shape:
        a, b = np.broadcast_arrays(a, b)
    return all(a[idx].equals(b[idx]) for idx in np.ndindex(*a.shape))


def _first_difference(a, b):
    a, b = np.broadcast_arrays(a, b)
    for idx in np.ndindex(*a.shape):
        if not a[idx].equals(b[idx]):
            return idx
    return None


# ---------------------------------------------------------------------------------------
# Reading an answer into a matrix expression


class _AnswerShapeError(SymbackpropError):
    """A ShapeError inside an answer, with where it happened (for the feedback and the fixes)."""

    def __init__(self, error: ShapeError, node, kind: str, left, right):
        super().__init__(str(error))
        self.error, self.node, self.kind, self.left, self.right = error, node, kind, left, right


_FUNCTION_NAMES = {
    "sigma": "sigmoid", "sigmoid": "sigmoid", "σ": "sigmoid", "tanh": "tanh", "relu": "relu", "ReLU": "relu",
    "ReLu": "relu", "softplus": "softplus", "leaky_relu": "leaky_relu", "lrelu": "leaky_relu",
    "LReLU": "leaky_relu", "exp": "exp", "log": "log", "ln": "log",
}
_PRODUCT_FIXES = (("Lt", "missing_transpose"), ("Rt", "missing_transpose"), ("swap", "wrong_order"),
                  ("swapT", "wrong_order"))
_ELEMENTWISE_FIXES = (("Lt", "missing_transpose"), ("Rt", "missing_transpose"))


def _fixed_operands(fix, a, b):
    if fix == "Lt":
        return _untranspose(a), b
    if fix == "Rt":
        return a, _untranspose(b)
    if fix == "swap":
        return b, a
    return _untranspose(b), _untranspose(a)  # swapT: (a b)ᵀ read as bᵀ aᵀ


#: names of the cost J (the reduced loss) in the courses' notations: J, C, E, \mathcal{L}
COST_WORDS = ("J", "C", "E", "mathcal{L}", "mathcal{J}", "mathcal{C}")


class _MatrixBuilder:
    """Builds one parse tree into a matrix expression; ``fixes`` {id(node): fix} rewrites one
    operation (a transpose added, the factors swapped) to test a diagnosis."""

    cost = False   # set when a ∂J/∂M (the reduced cost) was read

    def __init__(self, text: str, checker: "MatrixAnswerChecker", fixes=None):
        self.text = text
        self.c = checker
        self.fixes = fixes or {}
        self.fixed = {}  # id(node) -> the rewritten operation, as built
        self._numbers = _Builder(text, _Resolver(None))

    def fail(self, message: str, node) -> ParseError:
        return _error(message, self.text, _pos(node))

    def build(self, node) -> MatrixExpr:
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
    def _paren(self, node):
        inner = [c for c in node.children if isinstance(c, Tree) or c.type not in
                 ("LPAR", "RPAR", "LBRACK", "RBRACK", "LBRACE", "RBRACE")]
        return self.build(inner[0])

    def _group(self, node):
        items = [c for c in node.children if isinstance(c, Tree) or c.type not in ("LBRACE", "RBRACE", "COMMA")]
        if len(items) != 1:
            raise self.fail("a list {i,j} is not a matrix expression", node)
        return self.build(items[0])

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

    def elementwise(self, node, op, a, b):
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

    # ---- names and scripts ------------------------------------------------------------
    def _name(self, node):
        return self.resolve(node, None, node)

    _greek = _hat = _uhat = _name

    def _word(self, nb) -> str:
        tok = next(c for c in nb.children if isinstance(c, Token) and c.type in ("NAME", "GREEK", "UHAT"))
        if nb.data == "name":
            return str(tok)
        if nb.data == "greek":
            return str(tok).lstrip("\\")
        if nb.data == "hat":
            return str(tok) + "hat"  # \hat{y}, \hat y
        return "yhat"  # ŷ

    def index(self, sarg) -> str:
        """The index of ``_``: ``2``, ``{2}``, ``{12}``, ``L``, ``{L-1}`` (L is the number of weight layers)."""
        if isinstance(sarg, Tree) and sarg.data in ("group", "paren"):
            items = [c for c in sarg.children if isinstance(c, Tree)]
            if len(items) != 1:
                raise self.fail("a matrix name has one index, as in W_2", sarg)
            return self.index(items[0])
        if isinstance(sarg, Tree) and sarg.data == "number":
            s = str(sarg.children[0])
            if not s.isdigit() or len(s) > 4:
                raise self.fail("the index of a matrix name is a layer number, as in W_2", sarg)
            return str(int(s))
        if isinstance(sarg, Tree) and sarg.data == "name":
            word = str(sarg.children[0])
            return str(self.c.md.depth) if word == "L" else word
        if isinstance(sarg, Tree) and sarg.data in ("add", "subtract"):
            left, _, right = sarg.children
            lv, rv = self.index(left), self.index(right)
            if lv.isdigit() and rv.isdigit():
                value = int(lv) + int(rv) if sarg.data == "add" else int(lv) - int(rv)
                if value >= 0:
                    return str(value)
        raise self.fail("the index of a matrix name is a layer number, as in W_2 or a_{L-1}", sarg)

    def resolve(self, nb, index, node, prefix: str = ""):
        word = prefix + self._word(nb)
        value = self.c.lookup(word, index)
        if value is None:
            shown = word if index is None else f"{word}_{index}"
            raise self.fail(f"unknown matrix {shown!r}{did_you_mean(shown, self.c.known_names)}; matrix answers use "
                            f"the slides' names: {', '.join(self.c.known_names)}", node)
        return value

    @staticmethod
    def _is_transpose(script) -> bool:
        if script.data == "tsup":
            return True
        if script.data not in ("superscript", "power"):
            return False
        arg = script.children[-1]
        if isinstance(arg, Tree) and arg.data == "group":
            inner = [c for c in arg.children if isinstance(c, Tree)]
            arg = inner[0] if len(inner) == 1 else arg
        if isinstance(arg, Tree) and arg.data == "top":
            return True
        return isinstance(arg, Tree) and arg.data == "name" and str(arg.children[0]) == "T"

    def _scripted(self, node):
        primary, *scripts = node.children
        if len(scripts) > MAX_SCRIPTS:
            raise self.fail(f"more than {MAX_SCRIPTS} '^' and '_' in a row", scripts[MAX_SCRIPTS])
        subs = [s for s in scripts if s.data == "subscript"]
        rest = [s for s in scripts if s.data != "subscript"]
        if isinstance(primary, Tree) and primary.data in ("name", "greek", "hat", "uhat"):
            if len(subs) > 1:
                raise self.fail("a matrix name has one subscript, as in W_2", subs[1])
            if subs:
                before = scripts[:scripts.index(subs[0])]
                if any(not self._is_transpose(s) for s in before):
                    raise self.fail("a superscript before the subscript is index notation (a^{2}_{1} is one node); "
                                    "in matrix notation write the layer as a subscript and a power after it, "
                                    "as in a_1 or a_1^2", node)
            index = self.index(subs[0].children[-1]) if subs else None
            word = self._word(primary)
            if word == "e" and index is None and rest and not self._is_transpose(rest[0]) \
                    and self.c.lookup("e", None) == Scalar(sympy.E):
                value = self.exp(self.build(rest[0].children[-1]), rest[0])  # e^{-z_2} = exp(-z_2)
                rest = rest[1:]
            else:
                value = self.resolve(primary, index, node)
        else:
            if subs:
                raise self.fail("a subscript '_' must follow a name, as in W_2", subs[0])
            value = self.build(primary)
        for s in rest:
            if self._is_transpose(s):
                value = value if isinstance(value, Scalar) else Transpose(value)
            elif s.data == "usup":
                digits = "".join(str("⁰¹²³⁴⁵⁶⁷⁸⁹".index(ch)) for ch in str(s.children[0]))
                value = self.power(value, Scalar(sympy.Integer(int(digits[:4]))), s)
            else:
                value = self.power(value, self.build(s.children[-1]), s)
        return value

    def _d_prefixed(self, a, b):
        """``d z_2``, ``d\\hat{y}``: 'd' written apart from the name of a gradient."""
        if not (isinstance(a, Tree) and a.data == "name" and str(a.children[0]) == "d"):
            return None
        if self.c.lookup("d", None) is not None:
            return None
        nb, subs = b, []
        if isinstance(b, Tree) and b.data == "scripted":
            nb, subs = b.children[0], list(b.children[1:])
        if not (isinstance(nb, Tree) and nb.data in ("name", "greek", "hat", "uhat")):
            return None
        if len(subs) > 1 or any(s.data != "subscript" for s in subs):
            return None
        index = self.index(subs[0].children[-1]) if subs else None
        return self.resolve(nb, index, b, prefix="d")

    # ---- derivatives --------------------------------------------------------------------
    def _dname(self, node):
        nb = node.children[0]
        children = node.children[1:]
        index = None
        for i in range(0, len(children), 2):
            tok, arg = children[i], children[i + 1]
            if tok.type != "SUB" or index is not None:
                raise self.fail("\\partial must be followed by one matrix name, as in \\partial W_2", node)
            index = self.index(arg)
        word = self._word(nb)
        if word in COST_WORDS and index is None and self.c.lookup(word, None) is None:
            self.cost = True
            return "L"
        if word == "L" and index is None:
            return "L"
        value = self.c.lookup(word, index)
        if not isinstance(value, Mat):
            shown = word if index is None else f"{word}_{index}"
            raise self.fail(f"unknown matrix {shown!r} after \\partial{did_you_mean(shown, self.c.known_names)}", node)
        return value

    def _leibniz(self, node):
        top, bottom = (self._dname(c) for c in node.children if isinstance(c, Tree) and c.data == "dname")
        if bottom == "L":
            raise self.fail("\\partial L can only be the numerator", node)
        if top == "L":
            return self.c.gradient_of(bottom, lambda m: self.fail(m, node))
        local = self.c.local_derivative(top, bottom)
        if local is None:
            raise self.fail(f"∂{top.text()}/∂{bottom.text()} is not a matrix of the slides' shapes; matrix answers use "
                            "∂L/∂M (the gradient dM) and the elementwise ∂a_l/∂z_l", node)
        return local

    def _d_fraction(self, num, den):
        """``\\frac{dL}{dW_2}`` = dW_2."""
        if not (isinstance(num, Tree) and num.data == "name" and str(num.children[0]) in ("dL", "dJ")):
            return None
        nb, subs = den, []
        if isinstance(den, Tree) and den.data == "scripted":
            nb, subs = den.children[0], list(den.children[1:])
        if not (isinstance(nb, Tree) and nb.data == "name" and str(nb.children[0]).startswith("d")):
            return None
        if len(subs) > 1 or any(s.data != "subscript" for s in subs):
            return None
        word = str(nb.children[0])[1:]
        index = self.index(subs[0].children[-1]) if subs else None
        value = self.c.lookup(word, index)
        if not isinstance(value, Mat):
            return None
        return self.c.gradient_of(value, lambda m: self.fail(m, den))

    def _dop(self, node):
        raise self.fail("the operator \\frac{\\partial}{\\partial ...}[...] is index notation; in matrix notation "
                        "write the gradient, e.g. dW_2 = a_1^T dz_2", node)

    # ---- functions ----------------------------------------------------------------------
    def exp(self, arg, node):
        if isinstance(arg, Scalar):
            return self.scalar(sympy.exp(arg.value), node)
        return Elementwise("exp", arg)

    def _call(self, node):
        func_tok = node.children[0]
        primes = sum(1 for c in node.children if isinstance(c, Token) and c.type == "PRIME")
        spelled = re.sub(r"^\\(operatorname|mathrm|text)\{(.*)\}$", r"\2", str(func_tok)).lstrip("\\")
        name = _FUNCTION_NAMES[spelled]
        arg = self.build(node.children[-1])
        if primes > 1:
            raise self.fail("matrix notation takes one derivative of a function, as in \\sigma'(z_1)", node)
        if isinstance(arg, Scalar):
            f = SCALAR_FUNCTIONS[spelled]
            if primes == 0:
                return self.scalar(f(arg.value), node)
            t = sympy.Dummy("t", real=True)
            return self.scalar(sympy.diff(f(t), t).subs(t, arg.value), node)
        if primes == 0:
            return Elementwise(name, arg) if name in ("exp", "log") else Apply(name, arg)
        return self._derivative_of(name, arg)

    def _act_prime(self, node):
        """``g'(z_1)``: the derivative of layer 1's activation, entry by entry."""
        arg = self.build(node.children[-1])
        layer = None
        if isinstance(arg, Mat):
            m = re.fullmatch(r"z_(\d+)", arg.name)
            layer = int(m.group(1)) if m else None
        if layer is None or not 1 <= layer <= len(self.c.md.activations):
            raise self.fail("g' (or f') is the derivative of a layer's activation at its pre-activation; "
                            "write it as g'(z_1)", node)
        name = self.c.md.activations[layer - 1]
        if name not in ("sigmoid", "tanh", "relu", "leaky_relu", "softplus"):
            raise self.fail(f"g'(z_{layer}): layer {layer} has the activation {name}; write its derivative out", node)
        return self._derivative_of(name, arg)

    def _derivative_of(self, name, arg):
        # g'(A) entry by entry
        if name == "sigmoid":
            s = Apply("sigmoid", arg)
            return Hadamard(s, Sub(Scalar(sympy.S.One), s))
        if name == "tanh":
            return Sub(Scalar(sympy.S.One), Power(Apply("tanh", arg), 2))
        if name == "relu":
            return Apply("step", arg)
        if name == "leaky_relu":
            return Apply("leaky_step", arg)
        if name == "softplus":
            return Apply("sigmoid", arg)
        if name == "exp":
            return Elementwise("exp", arg)
        return HadamardDiv(Scalar(sympy.S.One), arg)  # log' = 1/x

    def _call_power(self, node):
        func_tok, _, exponent, arg = node.children
        value = self._call(Tree("call", [func_tok, arg], meta=node.meta))
        return self.power(value, self.build(exponent), node)

    # ---- sums over the batch ------------------------------------------------------------
    def row_sum(self, body, node):
        value = self.build(body)
        if isinstance(value, Scalar):
            raise self.fail("\\sum sums the rows of a matrix; here it is applied to a number", node)
        return RowSum(value)

    def _sum_all(self, node):
        return self.row_sum(node.children[-1], node)

    def _sum(self, node):
        return self.row_sum(node.children[-1], node)

    def _top(self, node):
        raise self.fail("^T (a transpose) follows a matrix, as in a_1^T", node)


# ---------------------------------------------------------------------------------------
# The checker


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


class _LazyEnv(dict):
    """The named matrices of one point, each computed from its defining step only when an
    expression needs it (memoized): an answer about dW_3 never evaluates dW_1."""

    def __init__(self, raw_values: dict, definitions: dict, exact, n, sizes, cache):
        super().__init__(raw_values)
        self._definitions, self._exact, self._n, self._sizes, self._cache = definitions, exact, n, sizes, cache

    def __missing__(self, name):
        expr = self._definitions.get(name)
        if expr is None:
            raise KeyError(name)
        value = _Evaluator(self._exact, self, self._n, self._sizes, self._cache)(expr)
        self[name] = value
        return value


class _Point:
    """One random point: the ExactPoint (atoms), the raw rational matrices and every named matrix."""

    def __init__(self, exact: ExactPoint, raw: dict, env: dict, cache: dict):
        self.exact, self.raw, self.env, self.cache = exact, raw, env, cache


class MatrixAnswerChecker:
    """Checks answers in the slides' matrix notation against a spec's matrix derivation.

    ``check(text, wrt=None)`` -> :class:`symbackprop.verify.answers.Verdict` (``notation = "matrix"``);
    ``wrt`` is a gradient (``dW_2``, ``dz_1``, ``db_2``), the matrix it differentiates (``W_2``),
    or ``\\frac{\\partial L}{\\partial W_2}``; a left-hand side ``dW_2 = ...`` can give it instead.
    """

    def __init__(self, source, *, seed: int = 0, n_points: int = N_POINTS):
        self.md: MatrixDerivation = matrix_derive(source)
        self.seed = seed
        self.n_points = n_points
        md = self.md
        if md.reduction == "sum":
            self.per_example = md
        else:
            network = dataclasses.replace(md.network, reduction="sum")
            self.per_example = MatrixDerivation(network, md.spec)
        pe = self.per_example
        self.mats: dict = dict(pe.matrices)
        self.targets: dict = {}
        L = md.depth
        yhat = self.mats["yhat"]
        if md.fused is not None:
            # the slides' ∂L/∂ŷ = (ŷ − y)/(ŷ(1 − ŷ)) before the fused step (a matrix of ŷ's shape)
            dyhat = Mat("dyhat", yhat.shape, r"d\hat{y}", "dŷ")
            self.mats["dyhat"] = dyhat
            grad = LOSS_RULES[md.loss].gradient(yhat, self.mats["y"], md.layers[-1])
            self.targets["dyhat"] = _Target("dyhat", dyhat, grad, "yhat", L)
        for s in pe.backward:
            layer = int(s.of.rsplit("_", 1)[1]) if "_" in s.of else L
            self.targets[s.name] = _Target(s.name, s.target, s.reference, s.of, layer)
        self.by_of = {t.of: t.name for t in self.targets.values()}
        self.known_names = tuple(m.text() for m in self.mats.values())
        self._points = None

    # ---- names ---------------------------------------------------------------------------
    def lookup(self, word: str, index):
        """The matrix (or number) a name means, or None."""
        if index is None and word in ("n", "m") and word not in self.mats:
            return Scalar(N_SYMBOL)
        if index is None and word == "e" and "e" not in self.mats:
            return Scalar(sympy.E)
        if word == "delta" and index is not None:
            word = "dz"
        if index is None and word == "dyhat" and "dyhat" in self.mats:
            return self.mats["dyhat"]
        candidate = word if index is None else f"{word}_{index}"
        try:
            name = self.md.resolve(candidate)
        except SpecError:
            return None
        return self.mats.get(name)

    def gradient_of(self, mat: Mat, fail):
        """dM for a matrix M (``W_2`` -> ``dW_2``); ``fail(message)`` builds the error."""
        if mat.name in self.targets:
            raise fail(f"{mat.text()} is already a gradient; ∂L/∂{mat.text()} is not part of backpropagation")
        name = self.by_of.get(mat.name)
        if name is None:
            raise fail(f"no backward step computes ∂L/∂{mat.text()} ({mat.text()} is data, not computed from "
                       f"the parameters); the gradients are {', '.join(self._target_names())}")
        return self.targets[name].mat

    def local_derivative(self, top: Mat, bottom: Mat):
        """∂a_l/∂z_l as the elementwise matrix g'(z_l) (``\\frac{\\partial a_1}{\\partial z_1} = a_1(1 - a_1)``)."""
        for l in range(1, self.md.depth + 1):
            a = self.mats["yhat"] if l == self.md.depth else self.mats[f"a_{l}"]
            z = self.mats[f"z_{l}"]
            if top == a and bottom == z:
                rule = ACTIVATION_RULES[self.md.activations[l - 1]]
                if rule.derivative is None:
                    return None
                deriv = rule.derivative(z, a)
                return Scalar(sympy.S.One) if deriv is None else deriv
        return None

    def parse(self, text: str) -> tuple:
        """The sides of ``A = B = ...`` as matrix expressions (ParseError; ShapeError, naming both
        shapes, when a product or an elementwise operation does not fit)."""
        tree = _parse_tree(text)
        out = []
        for node in _sides(tree):
            try:
                out.append(self._build(text, node))
            except _AnswerShapeError as exc:
                raise exc.error from None
        return tuple(out)

    def _target_names(self):
        return [self.targets[n].mat.text() for n in self.targets]

    def _wrt_expr(self, wrt: str):
        tree = _parse_tree(wrt)
        sides = _sides(tree)
        if len(sides) != 1:
            raise ParseError(f"--wrt {wrt!r}: give one name, e.g. dW_2")
        return self._build(wrt, sides[0])

    def target_name(self, wrt: str) -> str:
        """The gradient ``--wrt`` names: ``dW_2``, ``W_2``, ``dZ_2``, ``\\frac{\\partial L}{\\partial W_2}``."""
        if not isinstance(wrt, str) or not wrt.strip():
            raise SpecError("--wrt: give the name of a gradient, e.g. dW_2")
        if wrt in self.targets:
            return wrt
        listing = ", ".join(self._target_names())
        try:
            value = self._wrt_expr(normalize(wrt, matrix=True).text)
        except (ParseError, SymbackpropError) as exc:
            raise SpecError(f"--wrt {wrt!r} is not a gradient of the matrix form ({listing}) nor a node of the "
                            f"index notation: {str(exc).splitlines()[0]}") from None
        if isinstance(value, Mat):
            if value.name in self.targets:
                return value.name
            if value.name in self.by_of:
                return self.by_of[value.name]
        raise SpecError(f"--wrt {wrt!r} is not a gradient of the matrix form; the gradients are {listing} "
                        f"(or the matrices they differentiate, e.g. W_2 for dW_2)")

    def is_target(self, wrt) -> bool:
        try:
            self.target_name(wrt)
        except (SymbackpropError, RecursionError):
            return False
        return True

    # ---- points ----------------------------------------------------------------------------
    @cached_property
    def eval_sizes(self) -> dict:
        """Sizes of the dimensions used for evaluation: the spec's, or smaller for big networks
        (the formulas are generic in the sizes; the shapes were checked by name)."""
        md = self.md
        n = md.n_examples or 3
        widths = list(md.layers)
        cost = n * sum(widths[l] * widths[l + 1] for l in range(md.depth))
        if cost > EVAL_MAX_PRODUCTS:
            n = min(n, 4)
            last = len(widths) - 1
            widths = [w if (l == last and w <= 10) else min(w, 3) for l, w in enumerate(widths)]
        sizes = {"n": n, "1": 1}
        sizes.update({f"N_{l}": w for l, w in enumerate(widths)})
        return sizes

    @property
    def reduced(self) -> bool:
        md = self.md
        return any(self.eval_sizes[f"N_{l}"] != w for l, w in enumerate(md.layers)) or \
            (md.n_examples is not None and self.eval_sizes["n"] != md.n_examples)

    def points(self) -> list:
        if self._points is None:
            self._points = self._make_points()
        return self._points

    def _targets_values(self, rng, n, K):
        loss = self.md.loss
        rows = []
        for _ in range(n):
            if loss == "cross_entropy":
                weights = [rng.randint(1, 5) for _ in range(K)]
                rows.append([Rational(w, sum(weights)) for w in weights])
            elif loss == "bce":
                row = []
                for _ in range(K):
                    q = rng.choice((3, 5, 7, 11, 13))
                    row.append(Rational(rng.randint(1, q - 1), q))
                rows.append(row)
            else:
                rows.append([random_rational(rng) for _ in range(K)])
        return rows

    def _make_points(self) -> list:
        md, pe, sizes = self.md, self.per_example, self.eval_sizes
        rng = random.Random(f"symbackprop-matrix-{self.seed}")
        n = sizes["n"]
        widths = [sizes[f"N_{l}"] for l in range(md.depth + 1)]
        kinked = [l for l in range(1, md.depth + 1)
                  if md.activations[l - 1] in ("relu", "leaky_relu")]
        seen = {(l, j): set() for l in kinked for j in range(widths[l])}
        out = []
        for attempt in range(1, 61 + 8 * len(seen)):
            missing = [k for k, v in seen.items() if len(v) < 2]
            if len(out) >= self.n_points and not missing:
                break
            if len(out) >= self.n_points + 2 * len(seen) or (len(out) >= self.n_points and attempt > 60 + 8 * len(seen)):
                break
            raw = {"x": [[random_rational(rng) for _ in range(widths[0])] for _ in range(n)],
                   "y": self._targets_values(rng, n, widths[-1])}
            for l in range(1, md.depth + 1):
                raw[f"W_{l}"] = [[random_rational(rng) for _ in range(widths[l])] for _ in range(widths[l - 1])]
                raw[f"b_{l}"] = [[random_rational(rng) for _ in range(widths[l])]]
            exact = ExactPoint({}, seed=attempt)
            values = {}
            for name, rows in raw.items():
                arr = np.empty((len(rows), len(rows[0])), dtype=object)
                for i, row in enumerate(rows):
                    for j, v in enumerate(row):
                        arr[i, j] = Value.rational(v)
                values[name] = arr
            cache = {}
            env = _LazyEnv(values, self._definitions, exact, n, sizes, cache)
            try:
                for l in kinked:   # the kinks' sides are needed now; everything else when asked for
                    env[f"z_{l}"]
            except (_Undefined, _Kink, ZeroDivisionError, OverflowError):
                continue
            if len(out) >= self.n_points:
                # an extra point only when it shows a unit on a side of its kink not seen yet
                before = sum(len(v) for v in seen.values())
                self._record_kinks(env, seen)
                if sum(len(v) for v in seen.values()) == before:
                    continue
            else:
                self._record_kinks(env, seen)
            out.append(_Point(exact, raw, env, cache))
        self.uncovered = tuple(f"z_{l} column {j + 1}" for (l, j), v in seen.items() if len(v) < 2)
        if not out:
            raise NotSupportedError("could not find points where the network is defined; the answer cannot be checked")
        return out

    @cached_property
    def _definitions(self) -> dict:
        """name -> the matrix expression of its forward or backward step (per example)."""
        pe = self.per_example
        out = {s.target.name: s.expression for s in pe.forward}
        if "dyhat" in self.targets:
            out["dyhat"] = self.targets["dyhat"].reference
        for s in pe.backward:
            out[s.name] = s.reference
        return out

    @staticmethod
    def _record_kinks(env, seen) -> None:
        for (l, j) in seen:
            z = env.get(f"z_{l}")
            if z is None:
                continue
            for i in range(z.shape[0]):
                try:
                    seen[(l, j)].add(z[i, j].sign())
                except (_Undefined, _Kink):
                    pass

    def values(self, expr: MatrixExpr) -> list:
        """The exact value of ``expr`` at every point (None where it is undefined)."""
        out = []
        for p in self.points():
            try:
                out.append(_Evaluator(p.exact, p.env, self.eval_sizes["n"], self.eval_sizes, p.cache)(expr))
            except (_Undefined, _Kink, ZeroDivisionError):
                out.append(None)
        return out

    def reference_values(self, target: str) -> list:
        out = []
        for p in self.points():
            try:
                out.append(p.env[target])
            except (_Undefined, _Kink, ZeroDivisionError, OverflowError):
                out.append(None)
        return out

    # ---- checking ----------------------------------------------------------------------------
    def check(self, text: str, wrt: str | None = None) -> Verdict:
        """Check one matrix answer (bounded: ANSWER_SECONDS); never raises for bad answers."""
        try:
            with _time_limit(ANSWER_SECONDS):
                return self.verdict(text, wrt)
        except _Budget:
            return Verdict(UNPARSEABLE, f"the answer could not be checked within {ANSWER_SECONDS:g} s; "
                           "write it more simply", wrt=wrt, error={"message": "time limit"}, notation="matrix")
        except Exception as exc:  # every input ends in a verdict, never a traceback
            from .answers import failure_verdict

            return failure_verdict(exc, wrt, notation="matrix")

    def verdict(self, text: str, wrt: str | None = None) -> Verdict:
        """:meth:`check` without its own time bound (the caller bounds the time)."""
        target = None
        try:
            target = self.target_name(wrt) if wrt is not None else None
            return self._check(text, target)
        except (ParseError, NotSupportedError, SpecError) as exc:
            return dataclasses.replace(_unparseable(exc, target), notation="matrix")
        except RecursionError:
            return Verdict(UNPARSEABLE, "the answer is nested too deeply to check; write it more simply",
                           wrt=target, error={"message": "nested too deeply"}, notation="matrix")
        except SymbackpropError as exc:  # pragma: no cover - defensive: every error is one line
            return dataclasses.replace(_unparseable(exc, target), notation="matrix")

    def cost_factor(self):
        """J = (1/n) Σ_e L_e with the mean (n the batch evaluated), Σ_e L_e with the sum."""
        return Rational(1, self.eval_sizes["n"]) if self.md.reduction == "mean" else Rational(1)

    def _cost_note(self, scale) -> str:
        if self.md.reduction == "mean":
            n = self.md.n_examples
            return (f"read as the gradient of the cost J = (1/n) Σ_e L_e (the spec's mean over "
                    f"{'n = ' + str(n) if n else 'the n'} examples): the slides' per-example gradient times 1/n")
        return "read as the gradient of the cost J = Σ_e L_e (the spec's sum over the examples)"

    def _note(self) -> str | None:
        md = self.md
        if md.reduction != "mean":
            return None
        n = md.n_examples
        r = f"1/{n}" if n else "1/n"
        over = f"n = {n} examples" if n else "the n examples of a batch"
        return (f"checked in the slides' per-example convention: gradients of the summed loss Σ_e L_e, as the slides' "
                f"backward steps write them (dz_{md.depth} = ŷ − y); the spec's mean over {over} makes each gradient "
                f"of J = (1/n) Σ_e L_e equal to {r} times these")

    def _decided(self) -> str:
        k = len(self.points())
        how = f"shapes checked by dimension name, then exact evaluation of every entry at {k} random rational points"
        if self.reduced:
            s = self.eval_sizes
            widths = ", ".join(str(s[f"N_{l}"]) for l in range(self.md.depth + 1))
            how += f" (evaluated with n = {s['n']} and widths {widths}: the formulas are generic in the sizes)"
        return how

    def _check(self, text: str, target: str | None) -> Verdict:
        normalized = normalize(text, matrix=True)
        text = normalized.text
        tree = _parse_tree(text)
        nodes = _sides(tree)
        sides = [_Side(text[n.meta.start_pos:n.meta.end_pos], tree=n, source=text) for n in nodes]
        target_text = None
        cost = False
        if len(nodes) > 1:
            lhs_builder = _MatrixBuilder(text, self)
            try:
                first = self._build(text, nodes[0], builder=lhs_builder)
            except _AnswerShapeError:
                first = None
            cost = lhs_builder.cost
            if isinstance(first, Mat) and first.name in self.targets:
                if target is not None and first.name != target:
                    raise ParseError(f"the left-hand side is {first.text()} but --wrt is "
                                     f"{self.targets[target].mat.text()}")
                target = first.name
                target_text = sides[0].text
                sides, nodes = sides[1:], nodes[1:]
        if target is None:
            raise ParseError("say what is differentiated: give --wrt dW_2 or start the answer with dW_2 = ... "
                             "or \\frac{\\partial L}{\\partial W_2} = ...")
        t = self.targets[target]
        label = t.mat.text()
        refs = self.reference_values(target)
        scale = self.cost_factor() if cost else None
        if scale is not None:
            refs = [None if r is None else r * scale for r in refs]
            label = f"∂J/∂{self.mats[t.of].text()}" if t.of in self.mats else label
        for side, node in zip(sides, nodes):
            try:
                side.expr = self._build(text, node)
            except _AnswerShapeError as exc:
                side.shape_error = exc
                continue
            if side.expr.shape is not None and side.expr.shape.labels == t.mat.shape.labels:
                side.values = self.values(side.expr)
                side.equal = self._equal(side.values, refs)
        note = self._cost_note(scale) if cost else self._note()
        if normalized.note:
            note = normalized.note + ("; " + note if note else "")
        common = dict(wrt=target, of="J" if cost else "L", expected_source=LazyExpected(t.reference),
                      note=note, notation="matrix")
        steps = self._steps(target_text, sides)
        if sides[-1].expr == t.mat:
            return Verdict(INCORRECT, f"the answer only restates {label}; write out what it equals",
                           decided_by="symbolic", mistake="no_answer", steps=steps, **common)
        bad = next((k for k, s in enumerate(sides) if not s.equal), None)
        if bad is None and (getattr(self, "uncovered", ()) or all(
                r is None or all(v.is_zero() for v in r.flat) for r in refs)):
            why = (f"some ReLU unit is on one side of its kink at every sample point ({', '.join(self.uncovered)})"
                   if getattr(self, "uncovered", ()) else f"{label} is 0 at every sample point")
            return Verdict(INCORRECT, f"not shown to be {label}: your answer agrees with it at the sample points, but "
                           f"{why}; write it in the slides' form", decided_by="undecided (equal at the sample points only)",
                           mistake="undecided", steps=steps, **common)
        if bad is None and cost:
            feedback = f"this is {label}, the gradient of the cost (the slides' {t.mat.text()} times {self.cost_factor()})."
            return Verdict(CORRECT, feedback, decided_by=self._decided(), steps=steps, **common)
        if bad is None:
            feedback = f"this is {label}" + (f" (∂L/∂{self.mats[t.of].text()})" if t.of in self.mats else "") + "."
            return Verdict(CORRECT, feedback, decided_by=self._decided(), steps=steps, **common)
        side = sides[bad]
        mistake, message, decided, extra = self._diagnose(side, t, refs, label)
        first_bad_step = next((st for st in steps if not st.equal), None)
        if first_bad_step is not None and len(steps) > 1:
            message = f"step {first_bad_step.index} ({first_bad_step.left} = {first_bad_step.right}) " \
                      f"is not an equality; " + message
        elif len(sides) > 1:
            message = f"line {bad + 1} ({side.text.strip()}) is not {label}: " + message
        return Verdict(INCORRECT, message, decided_by=decided, mistake=mistake, steps=steps,
                       counterexample=extra.get("counterexample"), shapes=extra.get("shapes"), **common)

    def _build(self, text, node, fixes=None, builder=None):
        """One side as a matrix expression: ParseError for what cannot be read, _AnswerShapeError for
        shapes that do not fit."""
        builder = builder or _MatrixBuilder(text, self, fixes)
        try:
            return builder.build(node)
        except (ParseError, _AnswerShapeError):
            raise
        except (ValueError, TypeError, ArithmeticError, AttributeError, IndexError, KeyError) as exc:
            raise _error(f"cannot build this expression ({type(exc).__name__})", text, _pos(node)) from None

    @staticmethod
    def _equal(values, refs) -> bool:
        used = 0
        for a, r in zip(values, refs):
            if r is None:   # the reference is undefined at this point (a lazy point): not usable
                continue
            if a is None:
                return False
            used += 1
            if not _equal_arrays(a, r):
                return False
        return used > 0

    def _steps(self, target_text, sides) -> tuple:
        texts = ([target_text] if target_text is not None else []) + [s.text for s in sides]
        status = ([None] if target_text is not None else []) + list(sides)
        steps = []
        for k in range(1, len(texts)):
            left, right = status[k - 1], status[k]
            ok_left = True if left is None else left.equal
            ok_right = right.equal
            if ok_left and ok_right:
                equal = True
            elif ok_left != ok_right:
                equal = False
            else:
                equal = self._agree(left, right)
            steps.append(Step(k, texts[k - 1].strip(), texts[k].strip(), equal))
        return tuple(steps)

    def _agree(self, left: _Side, right: _Side) -> bool:
        """Two wrong lines that are still equal to each other (a correct step from a wrong line)."""
        if left.expr is None or right.expr is None:
            return False
        if left.expr == right.expr:
            return True
        ls, rs = left.expr.shape, right.expr.shape
        if (ls is None) != (rs is None) or (ls is not None and ls.labels != rs.labels):
            return False
        lv = left.values if left.values is not None else self.values(left.expr)
        rv = right.values if right.values is not None else self.values(right.expr)
        return self._equal(lv, rv)

    # ---- feedback ------------------------------------------------------------------------------
    def _value_equal(self, expr, refs) -> bool:
        try:
            return self._equal(self.values(expr), refs)
        except (_Undefined, _Kink, ZeroDivisionError, ShapeError):  # pragma: no cover - values() catches
            return False

    def _diagnose(self, side: _Side, t: _Target, refs, label=None):
        label = label or t.mat.text()
        if side.shape_error is not None:
            return self._diagnose_shape_error(side, t, refs)
        expr = side.expr
        if expr.shape is None or expr.shape.labels != t.mat.shape.labels:
            return self._diagnose_shape(expr, t, refs)
        values = side.values
        where = next((i for i, (a, r) in enumerate(zip(values, refs)) if a is None or not _equal_arrays(a, r)), 0)
        decided = f"exact evaluation: differs from {label} at a random rational point"
        if all(v is not None for v in values):
            c = self._constant_ratio(values, refs)
            if c is not None:
                mistake, message = self._constant_message(c, label)
                return mistake, message, decided, {}
            found = self._factor(expr, t, refs)
            if found is not None:
                return found[0], found[1], decided, {}
            found = self._inner_factor(expr, t, values)
            if found is not None:
                return found[0], found[1], decided, {}
            found = self._wrong_activation(t, values)
            if found is not None:
                return found[0], found[1], decided, {}
            swap = self._wrong_matrix(expr, t, refs)
            if swap is not None:
                wrote, meant = swap
                return "wrong_matrix", f"wrong matrix: you wrote {wrote} where {meant} belongs", decided, {}
        cx = self._counterexample(values, refs, where, t)
        return "counterexample", cx.pop("message"), decided, {"counterexample": cx}

    def _constant_ratio(self, values, refs, allow_one: bool = False):
        c = None
        for a, r in zip(values, refs):
            a, r = np.broadcast_arrays(a, r)
            for idx in np.ndindex(*a.shape):
                if r[idx].is_zero():
                    continue
                c = (a[idx] / r[idx]).constant()
                break
            if c is not None:
                break
        if c is None or (c == 1 and not allow_one):
            return None
        for a, r in zip(values, refs):
            a, r = np.broadcast_arrays(a, r)
            if not all(a[idx].equals(r[idx] * c) for idx in np.ndindex(*a.shape)):
                return None
        return c

    def _constant_message(self, c, label):
        n_eval = self.eval_sizes["n"]
        if n_eval > 1 and c == n_eval:
            return ("constant_factor", f"constant factor off: your answer is n = {n_eval} times {label}; "
                    "the cost J = (1/n) Σ_e L_e carries the mean's 1/n")
        return self._constant_message_base(c, label)

    def _constant_message_base(self, c, label):
        n = self.eval_sizes["n"]
        spec_n = self.md.n_examples
        shown = f"1/n = 1/{spec_n}" if spec_n else "1/n"
        if c == -1:
            return "sign", f"sign error: your answer is −1 times {label}"
        if c == Rational(1, n) and n > 1:
            return ("constant_factor", f"constant factor off: your answer has the batch mean's {shown}; {label} in the "
                    "slides' per-example convention (the gradient of Σ_e L_e, as the slides' backward steps) has no 1/n")
        if c == Rational(-1, n) and n > 1:
            return ("constant_factor", f"constant factor off: your answer has −{shown}; {label} in the slides' "
                    "per-example convention has neither the 1/n nor the minus sign")
        if c == 2:
            why = ("; with the ½ in ½(y − ŷ)² the power rule's 2 cancels"
                   if self.md.loss == "half_squared_error" else "")
            return "constant_factor", f"constant factor off: a stray 2 (your answer is 2 times {label}{why})"
        if c == Rational(1, 2):
            return ("constant_factor", f"constant factor off: a factor 2 is missing (your answer is ½ times {label}; "
                    "the power rule brings down the exponent 2)")
        if c == 0:
            return "counterexample", f"your answer is 0 but {label} is not"
        return "constant_factor", f"constant factor off: your answer is {_lecture_number(c)} times {label}"

    # the ⊙ factors the feedback can name
    def _candidates(self, layer: int) -> list:
        md = self.md
        if layer is None or not 1 <= layer <= md.depth:
            return []
        act = md.activations[layer - 1]
        rule = ACTIVATION_RULES[act]
        a = self.mats["yhat"] if layer == md.depth else self.mats[f"a_{layer}"]
        z = self.mats[f"z_{layer}"]
        out = []
        if rule.derivative is not None:
            deriv = rule.derivative(z, a)
            if deriv is not None:
                sym = {"sigmoid": "σ", "tanh": "tanh", "relu": "ReLU", "leaky_relu": "LReLU",
                       "softplus": "softplus"}.get(act, act)
                out.append(_Candidate(deriv, f"{sym}′(z_{layer}) = {deriv.text()} (∂{a.text()}/∂z_{layer})", layer, True))
                if isinstance(deriv, Hadamard):
                    for piece in (deriv.left, deriv.right):
                        out.append(_Candidate(piece, piece.text(), layer, False))
        for m in (a, z):
            if all(c.expr != m for c in out):
                out.append(_Candidate(m, m.text(), layer, False))
        return out

    def _chain_layers(self, t: _Target) -> set:
        """The layers whose g' is already in the target (dz_l and every gradient computed from it)."""
        L = self.md.depth
        if t.name == "dyhat":
            return set()
        if t.of.startswith("a_"):
            return set(range(t.layer + 1, L + 1))
        return set(range(t.layer, L + 1))

    def _factor(self, expr, t: _Target, refs):
        """A ⊙ factor missing from the answer, or one too many (the layer's g', its pieces, a_l, z_l)."""
        if not t.of.startswith(("z_", "a_", "yhat")):
            return None
        in_chain = self._chain_layers(t)
        values = self.values(expr)
        label = t.mat.text()
        for cand in self._candidates(t.layer):
            if cand.expr.shape is None or cand.expr.shape.labels != t.mat.shape.labels:
                continue
            fv = self.values(cand.expr)
            if any(f is None for f in fv):
                continue

            def holds(rel):
                return all(_equal_arrays(*rel(a, r, f)) for a, r, f in zip(values, refs, fv))

            c = self._constant_ratio([a * f for a, f in zip(values, fv)], refs, allow_one=True)
            if c is not None and c != 0:
                also = "" if c == 1 else ("; and the sign is wrong" if c == -1 else
                                          f"; even then your answer is {_lecture_number(c)} times {label}")
                if cand.activation:
                    return ("activation_derivative_missing",
                            f"the activation's derivative is missing: multiply elementwise by {cand.label}{also}")
                return "missing_factor", f"missing the ⊙ factor {cand.label}{also}"
            if holds(lambda a, r, f: (a, r * f)):
                if cand.activation and cand.layer in in_chain:
                    return "activation_derivative_twice", f"the activation's derivative {cand.label} is applied twice"
                return "extra_factor", f"extra ⊙ factor {cand.label}: it does not belong in {label}"
            if holds(lambda a, r, f: (a, -(r * f))):
                return "extra_factor", f"extra ⊙ factor {cand.label}, and the sign is wrong"
        return None

    def _inner_factor(self, expr, t: _Target, values):
        """The answer is the reference with a dz_l inside missing its g' (or a piece of it), or with g' twice."""
        if t.of.startswith(("z_", "yhat")):
            return None
        inner = [m for m in walk(t.reference) if isinstance(m, Mat) and m.name.startswith("dz_")]
        for dz in dict.fromkeys(inner):
            layer = int(dz.name.rsplit("_", 1)[1])
            da = self.mats.get(f"da_{layer}")
            for cand in self._candidates(layer):
                without = da if (cand.activation and da is not None) else HadamardDiv(dz, cand.expr)
                for kind, repl in (("missing", without), ("twice", Hadamard(dz, cand.expr))):
                    try:
                        formula = _substitute(t.reference, {dz: repl})
                    except ShapeError:
                        continue
                    if not self._equal(values, self.values(formula)):
                        continue
                    if kind == "missing" and cand.activation:
                        if layer < self.md.depth:
                            return ("activation_derivative_missing",
                                    f"the activation's derivative is missing: your answer uses da_{layer} where "
                                    f"{dz.text()} = da_{layer} ⊙ g′(z_{layer}) belongs; multiply da_{layer} "
                                    f"elementwise by {cand.label}")
                        return ("activation_derivative_missing",
                                f"the activation's derivative is missing in {dz.text()}: multiply elementwise by "
                                f"{cand.label}")
                    if kind == "missing":
                        return "missing_factor", f"missing the ⊙ factor {cand.label} in {dz.text()}"
                    if cand.activation:
                        return ("activation_derivative_twice",
                                f"the activation's derivative {cand.label} is applied twice ({dz.text()} already has it)")
                    return "extra_factor", f"extra ⊙ factor {cand.label} on {dz.text()}"
        return None

    def _wrong_activation(self, t: _Target, values):
        """The answer is right but for the derivative of another activation (σ' on a ReLU layer)."""
        md = self.md
        for l in range(1, md.depth + 1):
            da, dz = self.mats.get(f"da_{l}"), self.mats.get(f"dz_{l}")
            if da is None or dz is None:
                continue  # the fused output step has no separate g'
            if t.name == dz.name:
                place = None
            elif dz in set(walk(t.reference)):
                place = dz
            else:
                continue
            act = md.activations[l - 1]
            a = self.mats["yhat"] if l == md.depth else self.mats[f"a_{l}"]
            z = self.mats[f"z_{l}"]
            right = ACTIVATION_RULES[act].derivative
            right = None if right is None else right(z, a)
            for other, rule in ACTIVATION_RULES.items():
                if other in (act, "identity") or rule.derivative is None:
                    continue
                alt = rule.derivative(z, a)
                if alt is None:
                    continue
                repl = Hadamard(da, alt)
                try:
                    formula = repl if place is None else _substitute(t.reference, {place: repl})
                except ShapeError:  # pragma: no cover - same shapes
                    continue
                if self._equal(values, self.values(formula)):
                    shown = "1" if right is None else right.text()
                    return ("wrong_activation_derivative",
                            f"wrong activation derivative: layer {l} uses {act}, so ∂{a.text()}/∂z_{l} = {shown}, "
                            f"not {alt.text()} (the derivative of {other})")
        return None

    def _wrong_matrix(self, expr, t: _Target, refs):
        """(wrote, meant) when swapping one matrix of the answer for another gives the gradient."""
        leaves = sorted({m for m in walk(expr) if isinstance(m, Mat)}, key=lambda m: m.name)
        tries = 0
        for m in leaves:
            for other in self.mats.values():
                if other == m or other.name == t.name:
                    continue
                tries += 1
                if tries > MAX_TRIES:
                    return None
                try:
                    swapped = _substitute(expr, {m: other})
                except ShapeError:
                    continue
                if swapped.shape is None or swapped.shape.labels != t.mat.shape.labels:
                    continue
                if self._value_equal(swapped, refs):
                    return m.text(), other.text()
        return None

    def _shapes_json(self, exc: _AnswerShapeError) -> dict:
        return {"operation": exc.error.operation,
                "left": {"expression": exc.left.text(), "shape": _shape_text(exc.left.shape)},
                "right": {"expression": exc.right.text(), "shape": _shape_text(exc.right.shape)}}

    def _diagnose_shape_error(self, side: _Side, t: _Target, refs):
        exc = side.shape_error
        decided = "shapes checked by dimension name"
        shapes = self._shapes_json(exc)
        fixes = _PRODUCT_FIXES if exc.kind == "product" else _ELEMENTWISE_FIXES
        for fix, mistake in fixes:
            builder = _MatrixBuilder(side.source, self, fixes={id(exc.node): fix})
            try:
                fixed = self._build(side.source, side.tree, builder=builder)
            except (_AnswerShapeError, ParseError):
                continue
            if fixed.shape is None or fixed.shape.labels != t.mat.shape.labels:
                continue
            if not self._value_equal(fixed, refs):
                continue
            part = builder.fixed.get(id(exc.node))
            wrote = f"{exc.left.text()} {exc.right.text()}" if exc.kind == "product" else None
            shown = part.text() if part is not None else fixed.text()
            if mistake == "missing_transpose":
                which = exc.left if fix == "Lt" else exc.right
                head = f"missing transpose: write {_untranspose(which).text()} for {which.text()}" + \
                       (f" ({shown} is {t.mat.text()})" if part is not None and part == fixed else f" ({shown})")
            else:
                head = f"wrong order: write {shown}" + (f", not {wrote}" if wrote else "") + \
                       (f" ({shown} is {t.mat.text()})" if part is not None and part == fixed else "")
            shapes["fix"] = shown
            return mistake, f"{head}; {exc}", decided + f", the fix confirmed by exact evaluation at {len(self.points())} random rational points", {"shapes": shapes}
        return "shape_mismatch", f"{exc}", decided, {"shapes": shapes}

    def _diagnose_shape(self, expr, t: _Target, refs):
        decided = "shapes checked by dimension name"
        label = t.mat.text()
        want = t.mat.shape
        have = expr.shape
        shapes = {"answer": _shape_text(have), "expected": want.text()}
        if have is None:
            return ("shape_mismatch", f"your answer is a number, but {label} is a matrix of shape {want.text()}",
                    decided, {"shapes": shapes})
        base = f"your answer has shape {have.text()} but {label} has shape {want.text()}"
        if have.sizes == want.sizes and have.labels != want.labels:
            base += (f" (the sizes agree, but the dimensions do not: {label} has {want.rows.label} rows and "
                     f"{want.cols.label} columns)")
        confirmed = decided + f", the fix confirmed by exact evaluation at {len(self.points())} random rational points"
        if have.labels == (want.cols.label, want.rows.label) and self._value_equal(Transpose(expr), refs):
            if isinstance(expr, MatMul):
                fixed = MatMul(_untranspose(expr.right), _untranspose(expr.left))
                shapes["fix"] = fixed.text()
                return ("wrong_order", f"wrong order: your answer is the transpose of {label}; reverse the product "
                        f"and transpose each factor: {fixed.text()}; {base}", confirmed, {"shapes": shapes})
            shapes["fix"] = _untranspose(expr).text()
            return ("wrong_order", f"your answer is the transpose of {label}: write {_untranspose(expr).text()}; {base}",
                    confirmed, {"shapes": shapes})
        if want.is_row and not have.is_row and have.cols.label == want.cols.label \
                and self._value_equal(RowSum(expr), refs):
            shapes["fix"] = RowSum(expr).text()
            return ("missing_sum", f"missing the sum over the batch: {label} = Σ_rows {expr._wrap_text(4)} "
                    f"(the bias is added to every row, so its gradient sums the rows); {base}",
                    confirmed, {"shapes": shapes})
        if have.is_row and not want.is_row and isinstance(expr, RowSum) \
                and expr.arg.shape is not None and expr.arg.shape.labels == want.labels \
                and self._value_equal(expr.arg, refs):
            shapes["fix"] = expr.arg.text()
            why = (f"{label} has one row per example" if want.rows.label == "n"
                   else f"without the Σ, {expr.arg.text()} is {label}")
            return ("extra_sum", f"extra sum over the rows: {why}; {base}", confirmed, {"shapes": shapes})
        swap = self._wrong_matrix(expr, t, refs)
        if swap is not None:
            wrote, meant = swap
            return ("wrong_matrix", f"wrong matrix: you wrote {wrote} where {meant} belongs; {base}",
                    confirmed, {"shapes": shapes})
        return "shape_mismatch", base, decided, {"shapes": shapes}

    def _counterexample(self, values, refs, where, t: _Target) -> dict:
        p = self.points()[where]
        a, r = values[where], refs[where]
        label = t.mat.text()
        point = {k: [[str(v) for v in row] for row in rows] for k, rows in p.raw.items()}
        total = sum(len(rows) * len(rows[0]) for rows in p.raw.values())
        readable = {k: [[readable_number(sympy.Rational(v)) for v in row] for row in rows] for k, rows in point.items()}
        shown = "; ".join(f"{k} = [" + "; ".join(", ".join(row) for row in rows) + "]"
                          for k, rows in readable.items()) if total <= 40 else "a random point (see counterexample.point)"
        if a is None:
            return {"point": point, "entry": None, "answer": None, "expected": None,
                    "message": f"your answer is undefined at {shown}, where {label} is defined"}
        idx = _first_difference(a, r)
        aa, rr = np.broadcast_arrays(a, r)
        i, j = idx
        entry = f"[{i + 1}, {j + 1}]"
        index_name = ""
        try:
            entry_name = self.md.index_name(t.of, i + 1, j + 1)
        except (SpecError, ValueError, IndexError):  # pragma: no cover - every gradient has index names
            entry_name = None
        if entry_name is not None:
            index_name = (f" (∂L/∂{entry_name})" if t.of.startswith(("W_", "b_"))
                          else f" (∂L/∂{entry_name} of example {i + 1})")
        message = (f"not equal to {label}: at {shown}, entry {entry} of your answer is {aa[idx].readable()} but "
                   f"{label}{entry}{index_name} = {rr[idx].readable()}")
        return {"point": point, "entry": [i + 1, j + 1], "answer": aa[idx].display(), "expected": rr[idx].display(),
                "shown": {"answer": aa[idx].readable(), "expected": rr[idx].readable()}, "message": message}


def _lecture_number(c) -> str:
    """A constant as the lectures write it (½, −⅓, 3/2): render.printers, never sympy.sstr."""
    from ..render.printers import text

    return text(c)
