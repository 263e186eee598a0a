r"""Numbers for display and sanity checks, fast and bounded (never for deciding equality).

The exact forward pass of a network nests: z^{3}_{1} = 1 + 2σ(2), a^{3}_{1} = σ(1 + 2σ(2)), and
every gradient repeats those subtrees, so an exact SymPy value of a deep network's node is a tree
whose size grows with the depth (and ``sympy.N`` re-evaluates each repeated subtree). Numbers to
*show* never need that tree:

- :class:`Point` evaluates a derivation bottom-up at one example, node by node, in exact
  rational arithmetic while the values are rationals of bounded size (ReLU, step and the inputs
  stay exact, so a kink at z = 0 is decided exactly), and in mpmath at ``dps`` digits otherwise,
  with one memo shared by every node. A node whose inputs are small exact expressions
  (σ(2), 1 + 2σ(2)) is also formed exactly, so a value SymPy would collapse to a rational
  (w σ(2) − w σ(2) + b = b, exp(log 2) = 2) stays exact.
- A sum that cancels below the working precision marks the point ``insufficient``; callers
  evaluate again at a higher precision (:data:`PRECISIONS`), and keep the last one.
- Every number is bounded: an ``exp`` whose argument exceeds :data:`MAX_EXP_ARGUMENT`
  overflows to ``oo`` (shown "too large to show"), a rational beyond :data:`MAX_BITS` continues
  in floating point, a non-real value is an mpmath complex (shown as an error, never rounded).

``numeric(value, digits)`` is ``sympy.N(value, digits)`` for one closed expression, computed the
same way (falling back to ``sympy.N`` only for a small expression it cannot vouch for);
``is_finite_number`` needs no digits at all. ``plain_number`` writes a value as plain text.
"""
from __future__ import annotations

from fractions import Fraction

import mpmath
import sympy
from sympy import Add, Mul, Pow

from ..ops import functions

#: working precisions (decimal digits) tried in turn when a sum cancels below the precision
PRECISIONS = (60, 120, 240, 480, 960)
#: exact rationals continue in floating point beyond this many bits of numerator or denominator
MAX_BITS = 4096
#: |x| beyond this in exp(x) overflows (to oo, or underflows to 0); e^(10^15) ~ 10^(4.3 10^14)
MAX_EXP_ARGUMENT = 10 ** 15
#: a node is also formed as an exact SymPy expression while the expression has at most this many nodes
MAX_FORM_SIZE = 48
#: exact forms are kept only for values of moderate magnitude (SymPy's own comparisons stay cheap)
_FORM_RANGE = (mpmath.mpf(10) ** -30, mpmath.mpf(10) ** 30)


class _Undefined:
    """A value that is not a number: 1/0 (``zoo``) or 0·∞, ∞ − ∞ (``nan``)."""

    def __init__(self, name, sympy_value):
        self.name, self.sympy_value = name, sympy_value

    def __repr__(self):
        return self.name


ZOO = _Undefined("zoo", sympy.zoo)
NAN = _Undefined("nan", sympy.nan)


class _Fallback(Exception):
    """The bottom-up evaluation cannot vouch for the result."""


def _is_complex(v) -> bool:
    return hasattr(v, "_mpc_")


def _bits(q: Fraction) -> int:
    return max(q.numerator.bit_length(), q.denominator.bit_length())


class Evaluator:
    """Values of SymPy expressions at ``dps`` digits: exact rationals while small, else mpmath.

    ``env`` maps symbols to values (``Fraction``, ``mpmath.mpf``/``mpc`` or ``ZOO``/``NAN``);
    ``memo`` is shared by every expression evaluated at the same ``env`` (one example).
    ``insufficient`` is set when a sum cancelled below the working precision; ``wild`` when
    an intermediate value left the moderate range (or overflowed) during the last ``value``.
    """

    def __init__(self, dps: int, env: dict | None = None):
        self.dps = dps
        self.ctx = mpmath.MPContext()
        self.ctx.dps = dps
        self.env = {} if env is None else env
        self.memo: dict = {}
        self.insufficient = False
        self.wild = False
        self.cancelled = False
        self._mp: dict = {}  # Fraction -> its mpf (a weight multiplies many activations)
        self._guard = self.ctx.mpf(10) ** (-(dps - 20))
        self._lo, self._hi = self.ctx.mpf(_FORM_RANGE[0]), self.ctx.mpf(_FORM_RANGE[1])

    # -- conversions --------------------------------------------------------------------------
    def mp(self, v):
        """``v`` as an mpmath number (exact rationals rounded to the working precision)."""
        if type(v) is Fraction:
            hit = self._mp.get(v)
            if hit is None:
                hit = self._mp[v] = self.ctx.mpf(v.numerator) / v.denominator
            return hit
        return v

    def from_sympy(self, e):
        """A SymPy number (or closed expression) as a value."""
        if e.is_Rational:
            return Fraction(int(e.p), int(e.q))
        return self.value(e)

    def value(self, e):
        """The value of expression ``e`` (symbols from ``env``); never raises for numbers."""
        self.wild = False
        self.cancelled = False
        return self._ev(e)

    # -- the evaluation -----------------------------------------------------------------------
    def _ev(self, e):
        hit = self.memo.get(e)
        if hit is not None:
            return hit
        if e.is_Symbol:
            try:
                r = self.env[e]
            except KeyError:
                raise _Fallback(f"no value for {e}") from None
            return r
        if e.is_Rational:
            r = Fraction(int(e.p), int(e.q))
        elif e.is_Float:
            r = self.ctx.mpf(e._mpf_)
        elif isinstance(e, Add):
            r = self._add([self._ev(a) for a in e.args])
        elif isinstance(e, Mul):
            r = self._mul([self._ev(a) for a in e.args])
        elif isinstance(e, Pow):
            r = self._pow(self._ev(e.base), self._ev(e.exp))
        elif isinstance(e, sympy.Function) or e.is_number:
            r = self._function(e)
        else:
            raise _Fallback(f"cannot evaluate {type(e).__name__}")
        self._note(r)
        self.memo[e] = r
        return r

    def _note(self, r):
        if isinstance(r, _Undefined):
            self.wild = True
        elif type(r) is not Fraction and r != 0:
            mpf = getattr(r, "_mpf_", None)
            if mpf is not None and mpf[1]:
                top = mpf[2] + mpf[3]  # 2^(top-1) <= |r| < 2^top; 2^-99 > 1e-30 and 2^99 < 1e30
                if -98 <= top <= 99:
                    return
            m = abs(r)
            if not (self._lo <= m <= self._hi):
                self.wild = True

    def _add(self, terms):
        if any(isinstance(t, _Undefined) for t in terms):
            return NAN if NAN in terms or terms.count(ZOO) > 1 else ZOO
        exact = [t for t in terms if type(t) is Fraction]
        rest = [t for t in terms if type(t) is not Fraction]
        s = sum(exact, Fraction(0))
        if not rest:
            return s if _bits(s) <= MAX_BITS else self.mp(s)
        ctx = self.ctx
        vals = rest + ([self.mp(s)] if s != 0 else [])
        if any(not ctx.isfinite(v) for v in vals):
            r = ctx.fsum(vals) if len(vals) > 1 else vals[0]
            return NAN if ctx.isnan(r) else r
        r = ctx.fsum(vals)
        big = max(abs(v) for v in vals)
        if len(vals) > 1 and big != 0 and abs(r) <= big * self._guard:
            self.cancelled = True
        return r

    def _mul(self, factors):
        if any(type(f) is Fraction and f == 0 for f in factors):
            return NAN if any(isinstance(f, _Undefined) for f in factors) else Fraction(0)
        if any(isinstance(f, _Undefined) for f in factors):
            return NAN if NAN in factors else ZOO
        p = Fraction(1)
        rest = []
        for f in factors:
            if type(f) is Fraction:
                p *= f
            else:
                rest.append(f)
        if not rest:
            return p if _bits(p) <= MAX_BITS else self.mp(p)
        r = self.ctx.fprod(rest + ([self.mp(p)] if p != 1 else []))
        return NAN if self.ctx.isnan(r) else r

    def _pow(self, base, ex):
        ctx = self.ctx
        if isinstance(base, _Undefined) or isinstance(ex, _Undefined):
            return NAN
        if type(base) is Fraction and type(ex) is Fraction:
            if ex.denominator == 1:
                n = ex.numerator
                if base == 0:
                    return ZOO if n < 0 else Fraction(1 if n == 0 else 0)
                if _bits(base) * abs(n) <= MAX_BITS:
                    return base ** n
            elif base > 0 and ex.denominator <= 64:
                p, q = base.numerator, base.denominator
                rp, okp = sympy.integer_nthroot(p, ex.denominator)
                rq, okq = sympy.integer_nthroot(q, ex.denominator)
                if okp and okq and _bits(Fraction(rp, rq)) * abs(ex.numerator) <= MAX_BITS:
                    return Fraction(int(rp), int(rq)) ** ex.numerator
            elif base == 0:
                return ZOO if ex < 0 else Fraction(0)
        b, x = self.mp(base), self.mp(ex)
        if b == 0:
            if _is_complex(x) or x == 0:
                return NAN if x != 0 else Fraction(1)
            return ctx.inf if x < 0 else ctx.mpf(0)
        if not ctx.isfinite(b) or not ctx.isfinite(x):
            r = ctx.power(b, x)
            return NAN if ctx.isnan(r) else r
        # |x log|b|| bounds the result's exponent
        size = abs(x) * abs(ctx.log(abs(b))) if abs(b) != 1 else 0
        if size > MAX_EXP_ARGUMENT:
            grows = (ctx.re(x) > 0) == (abs(b) > 1)
            return ctx.inf if grows else ctx.mpf(0)
        if type(ex) is Fraction and ex.denominator == 1:
            return ctx.power(b, int(ex.numerator))
        return ctx.power(b, x)

    def _exp(self, x):
        ctx = self.ctx
        if type(x) is Fraction and x == 0:
            return Fraction(1)
        x = self.mp(x)
        re = ctx.re(x)
        if re > MAX_EXP_ARGUMENT:
            return ctx.inf
        if re < -MAX_EXP_ARGUMENT:
            return ctx.mpf(0)
        return ctx.exp(x)

    def _function(self, e):
        ctx = self.ctx
        if e is sympy.E:
            return ctx.e
        if e is sympy.pi:
            return ctx.pi
        if e is sympy.I:
            return ctx.mpc(0, 1)
        if e is sympy.zoo or e is sympy.oo or e is sympy.S.NegativeInfinity:
            return ZOO if e is sympy.zoo else (ctx.inf if e is sympy.oo else -ctx.inf)
        if e is sympy.nan:
            return NAN
        args = [self._ev(a) for a in e.args]
        if any(isinstance(a, _Undefined) for a in args):
            return NAN if NAN in args else ZOO
        if isinstance(e, sympy.exp):
            return self._exp(args[0])
        if isinstance(e, (functions.relu, functions.step, functions.leaky_relu, functions.leaky_step)):
            z = args[0]
            if _is_complex(z) or (type(z) is not Fraction and ctx.isnan(z)):
                return NAN
            pos = z > 0
            if isinstance(e, functions.relu):
                return z if pos else Fraction(0)
            if isinstance(e, functions.step):
                return Fraction(1 if pos else 0)
            slope = Fraction(int(functions.LEAKY_SLOPE.p), int(functions.LEAKY_SLOPE.q))
            if isinstance(e, functions.leaky_step):
                return Fraction(1) if pos else slope
            return z if pos else (z * slope if type(z) is Fraction else z * self.mp(slope))
        if isinstance(e, functions.sigmoid):
            z = args[0]
            if type(z) is Fraction and z == 0:
                return Fraction(1, 2)
            z = self.mp(z)
            if _is_complex(z):
                return 1 / (1 + self._exp(-z))
            if z >= 0:
                return 1 / (1 + self._exp(-z))
            t = self._exp(z)
            return t / (1 + t)
        if isinstance(e, functions.softplus):
            z = self.mp(args[0])
            if _is_complex(z):
                return ctx.log(1 + self._exp(z))
            if z > 0:
                return z + ctx.log1p(self._exp(-z))
            return ctx.log1p(self._exp(z))
        if isinstance(e, sympy.log):
            z = args[0]
            if type(z) is Fraction:
                if z == 1:
                    return Fraction(0)
                if z == 0:
                    return ZOO
            z = self.mp(z)
            if z == 0:
                return -ctx.inf
            return ctx.log(z)
        if isinstance(e, sympy.tanh):
            z = args[0]
            if type(z) is Fraction and z == 0:
                return Fraction(0)
            z = self.mp(z)
            if not _is_complex(z) and abs(z) > MAX_EXP_ARGUMENT:
                return ctx.mpf(1 if z > 0 else -1)
            return ctx.tanh(z)
        if isinstance(e, (functions.softmax, functions.logsumexp)):
            zs = [self.mp(a) for a in args]
            if any(_is_complex(z) or not ctx.isfinite(z) for z in zs):
                return NAN
            own, rest = (zs[0], zs[1:]) if isinstance(e, functions.softmax) else (None, zs)
            m = max(rest)
            total = ctx.fsum([self._exp(z - m) for z in rest])
            if own is not None:
                return self._exp(own - m) / total
            return m + ctx.log(total)
        # anything else: SymPy at this precision, on numbers only (no nested trees)
        closed = e.func(*[self._as_sympy(a) for a in args])
        if closed.is_Rational:
            return Fraction(int(closed.p), int(closed.q))
        try:
            f = sympy.N(closed, self.dps)
        except (TypeError, ValueError, ZeroDivisionError):
            return NAN
        if f.is_Rational:
            return Fraction(int(f.p), int(f.q))
        if f.is_Float:
            return ctx.mpf(f._mpf_)
        if f is sympy.zoo:
            return ZOO
        if f.is_number:
            re, im = f.as_real_imag()
            try:
                return ctx.mpc(ctx.mpf(sympy.Float(re, self.dps)._mpf_), ctx.mpf(sympy.Float(im, self.dps)._mpf_))
            except (TypeError, ValueError):
                return NAN
        raise _Fallback(f"cannot evaluate {type(e).__name__}")

    def _as_sympy(self, v):
        return to_sympy(v, self.dps)


def to_sympy(v, dps: int = 60):
    """A value as a SymPy number: Rational, Float (``dps`` digits), ±oo, zoo, nan or a complex Float."""
    if type(v) is Fraction:
        return sympy.Rational(v.numerator, v.denominator)
    if isinstance(v, _Undefined):
        return v.sympy_value
    if _is_complex(v):
        if mpmath.isnan(v.real) or mpmath.isnan(v.imag) or mpmath.isinf(v.real) or mpmath.isinf(v.imag):
            return sympy.nan
        if v.imag == 0:
            v = v.real
        else:
            return _float(v.real, dps) + sympy.I * _float(v.imag, dps)
    if mpmath.isinf(v):
        return sympy.oo if v > 0 else sympy.S.NegativeInfinity
    if mpmath.isnan(v):
        return sympy.nan
    return _float(v, dps)


def _float(v, dps: int):
    return sympy.Float._new(v._mpf_, mpmath.libmp.dps_to_prec(dps))


def _size(e, cache: dict) -> int:
    """Nodes of the expression tree (repeated subtrees counted each time)."""
    hit = cache.get(e)
    if hit is not None:
        return hit
    n = 1 + sum(_size(a, cache) for a in e.args)
    cache[e] = n
    return n


def tree_size(expr) -> int:
    """How many nodes ``expr`` has written out as a tree (shared subtrees counted each time);
    linear in the size of the expression's DAG, so it is safe on any derivation."""
    return _size(expr, {})


class Point:
    """One example's values, node by node: ``define(symbol, expression)`` in topological order.

    Keeps, for each symbol, its value and (while it is small and of moderate size) its exact
    SymPy form; ``value_of(symbol)`` gives the SymPy number to show.
    """

    def __init__(self, dps: int, size_cache: dict | None = None):
        self.ev = Evaluator(dps)
        self.forms: dict = {}
        self.form_sizes: dict = {}
        self._sizes = {} if size_cache is None else size_cache

    @property
    def insufficient(self) -> bool:
        return self.ev.insufficient

    def set(self, sym, value):
        """A leaf's given value (a SymPy number)."""
        value = _as_expr(value)
        if value.is_Rational:
            v = Fraction(int(value.p), int(value.q))
        else:
            v = self.ev.value(value)
        self.ev.env[sym] = v
        if value.is_number and _size(value, self._sizes) <= MAX_FORM_SIZE:
            self.forms[sym] = value
            self.form_sizes[sym] = 1 if value.is_Atom else _size(value, self._sizes)

    def define(self, sym, expr):
        """``sym`` := the value of ``expr`` at the values defined so far."""
        ev = self.ev
        v = ev.value(expr)
        cancelled, wild = ev.cancelled, ev.wild
        form = None
        if type(v) is not Fraction and not wild:
            syms = expr.free_symbols
            forms = self.forms
            if all(s in forms for s in syms):
                size = _size(expr, self._sizes) + sum(self.form_sizes[s] - 1 for s in syms)
                if size <= MAX_FORM_SIZE:
                    form = expr.xreplace({s: forms[s] for s in syms})
                    if form.is_Rational:
                        if max(abs(int(form.p)).bit_length(), int(form.q).bit_length()) <= MAX_BITS:
                            v, cancelled = Fraction(int(form.p), int(form.q)), False
                    elif not form.is_number or form.has(sympy.zoo, sympy.nan, sympy.oo, sympy.S.NegativeInfinity):
                        form = None
        elif type(v) is Fraction:
            form = sympy.Rational(v.numerator, v.denominator)
        if cancelled:
            ev.insufficient = True
        ev.env[sym] = v
        if form is not None:
            self.forms[sym] = form
            self.form_sizes[sym] = 1 if form.is_Atom else _size(form, self._sizes)
        return v

    def value_of(self, sym):
        return to_sympy(self.ev.env[sym], self.ev.dps)


def _as_expr(value):
    if isinstance(value, bool):
        raise TypeError("not a number")
    if isinstance(value, int):
        return sympy.Integer(value)
    if isinstance(value, float):
        return sympy.Float(value)
    return value


def numeric(value, digits: int = 15):
    """``sympy.N(value, digits)``, computed bottom-up with shared subexpressions evaluated once.

    Bounded: precision is raised (up to the last of :data:`PRECISIONS`) while a sum cancels;
    only a small expression that still cancels goes to ``sympy.N``. Overflow gives ``oo``.
    """
    value = _as_expr(value)
    if getattr(value, "is_Rational", False) or getattr(value, "is_Float", False):
        return sympy.N(value, digits)
    r = None
    for dps in PRECISIONS:
        if dps < digits + 20:
            continue
        ev = Evaluator(dps)
        try:
            r = ev.value(value)
        except (_Fallback, ZeroDivisionError, ValueError, TypeError, OverflowError, AttributeError):
            r = None
            break
        if not ev.cancelled:
            break
        if _size(value, {}) <= 4 * MAX_FORM_SIZE:
            r = None  # a small expression SymPy decides (an exact 0 written as a sum)
            break
    if r is None:
        return sympy.N(value, digits)
    out = to_sympy(r, digits)
    if getattr(out, "is_Float", False):
        return sympy.Float(out, digits)
    return out if not getattr(out, "is_Rational", False) else sympy.N(out, digits)


def is_finite_number(value) -> bool:
    """Whether ``value`` is a finite real number (one bottom-up pass; sympy.N when unsure)."""
    value = _as_expr(value)
    if getattr(value, "is_Rational", False):
        return True
    if getattr(value, "is_Float", False):
        return True
    try:
        r = Evaluator(30).value(value)
        if type(r) is Fraction:
            return True
        if isinstance(r, _Undefined) or _is_complex(r):
            return False
        return bool(mpmath.isfinite(r))
    except (_Fallback, ZeroDivisionError, ValueError, TypeError, OverflowError, AttributeError):
        pass
    try:
        f = sympy.N(value, 20)
    except (TypeError, ValueError, ZeroDivisionError):
        return False
    return bool(getattr(f, "is_Number", False) and f.is_real and f.is_finite)


def plain_number(value, decimals: int = 4) -> str:
    """A value as plain text: ``0.8808``, ``1.9701 × 10^434``, ``too large to show``, ``not real (2i)``."""
    value = _as_expr(value)
    if value is sympy.oo or value is sympy.S.NegativeInfinity:
        return "too large to show" if value is sympy.oo else "-(too large to show)"
    if value is sympy.zoo:
        return "undefined (division by zero)"
    if value is sympy.nan:
        return "undefined (NaN)"
    f = value if value.is_Float or value.is_Rational else numeric(value, max(decimals + 5, 15))
    if not getattr(f, "is_Number", False):
        if getattr(f, "is_number", False) and f.is_real is False:
            re, im = (numeric(p, decimals + 3) for p in f.as_real_imag())
            return f"not real ({plain_number(re, decimals)} + {plain_number(im, decimals)}i)"
        return "undefined"
    if f.is_infinite:
        return plain_number(f, decimals)
    x = mpmath.mpf(f._mpf_) if f.is_Float else mpmath.mpf(int(f.p)) / int(f.q)
    if x != 0 and not (mpmath.mpf(10) ** -4 <= abs(x) < mpmath.mpf(10) ** 15):
        e10 = int(mpmath.floor(mpmath.log10(abs(x))))
        m = x / mpmath.mpf(10) ** e10
        text = mpmath.nstr(m, decimals + 1, strip_zeros=False)
        if text.lstrip("-").startswith("10"):
            e10 += 1
            text = mpmath.nstr(x / mpmath.mpf(10) ** e10, decimals + 1, strip_zeros=False)
        return f"{text} × 10^{e10}"
    return f"{float(x):.{decimals}f}"
