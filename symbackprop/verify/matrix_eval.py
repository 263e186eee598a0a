r"""Exact evaluation of matrix expressions, entry by entry, in the exact field of :mod:`.exact`.

Gives the two elementwise nodes matrix answers need beyond the matrix form (``Elementwise`` exp, log,
sech, cosh; ``Power``), the evaluator of a matrix expression at one point (an array of :class:`Value`), and the
lazily computed named matrices of a point.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import sympy

from ..derivation.matrix_form import (
    Add,
    Apply,
    Hadamard,
    HadamardDiv,
    Mat,
    MatMul,
    MatrixExpr,
    N_SYMBOL,
    Neg,
    Ones,
    RowSum,
    Scalar,
    Scale,
    Sub,
    Transpose,
)
from ..derivation.matrix_expr import _Entrywise
from ..ops import functions
from ..ops.activations import ELEMENTWISE
from .exact import _Kink, _Undefined, ExactPoint, Value


#: matrix-derivation entries evaluated per point before the evaluation uses smaller widths
EVAL_MAX_PRODUCTS = 600   # products per point beyond which the widths are reduced (see eval_sizes)
#: at most this many substitutions are tried when looking for a wrong matrix or a fix
MAX_TRIES = 80
_PREC_ATOM = 4


@dataclass(frozen=True)
class Elementwise(_Entrywise):
    """exp(A), log(A), sech(A) = 2/(e^A + e^{−A}) or cosh(A) = (e^A + e^{−A})/2, entry by entry
    (``function`` names one of :data:`ELEMENTWISE_FUNCTIONS`); sech² z = tanh′ z = 1 − tanh² z."""

    function: str
    arg: MatrixExpr

    def latex(self) -> str:
        name = rf"\{self.function}" if self.function in ("exp", "log") else rf"\operatorname{{{self.function}}}"
        return rf"{name}\left({self.arg.latex()}\right)"

    def text(self) -> str:
        return f"{self.function}({self.arg.text()})"


#: the functions an :class:`Elementwise` node applies (the matrix form's activations are ``Apply`` nodes)
ELEMENTWISE_FUNCTIONS = ("exp", "log", "sech", "cosh")


@dataclass(frozen=True)
class OnesVector(MatrixExpr):
    """A vector of ones written ``\\mathbf{1}`` without its size: only beside a matrix in a product,
    where the builder makes it the column (N×1) or row (1×n) of ones the product needs."""

    @property
    def children(self):
        return ()

    @property
    def shape(self):
        return None

    def latex(self) -> str:
        return r"\mathbf{1}"

    def text(self) -> str:
        return "1"


@dataclass(frozen=True)
class Power(_Entrywise):
    """A^k entry by entry, k a whole number (the slides' a² in tanh' = 1 − a²)."""

    arg: MatrixExpr
    exponent: int

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
        if name in ("sech", "cosh"):
            up_down = p.exp(v) + p.exp(-v)
            return 2 / up_down if name == "sech" else up_down / 2
        if name not in ("relu", "step", "leaky_relu", "leaky_step"):
            return self._registered(name, v)
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
        raise _Undefined(f"no exact rule for {name}")  # pragma: no cover - every sign-read key is above

    def _registered(self, name, v):
        """Any other registry function (elu, silu, …) through its elementary form (exp, log,
        Piecewise; ``ops.functions``), evaluated exactly at ``v`` like the index reader does."""
        entry = ELEMENTWISE.get(name)
        elementary = getattr(entry.function, "elementary", None) if entry is not None else None
        if elementary is None:
            raise _Undefined(f"no exact rule for {name}")
        t = sympy.Dummy("t", real=True)
        point = self.p.sibling({})
        point.values = dict(self.p.values)
        point.values[t] = v
        return point.evaluate(elementary(t))

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
