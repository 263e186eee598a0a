r"""Check a student's hand derivation against the derivation, with feedback in the lectures' terms.

An answer such as

    \frac{\partial L}{\partial w^{1}_{1,1}} = (\hat{y} - y)\,\hat{y}(1 - \hat{y})\, w^{2}_{1,1}\, a^{2}_{1}(1 - a^{2}_{1})\, x_1

is correct when it equals the chain-rule derivative ∂L/∂w^{1}_{1,1} of the spec *as a function of
the inputs, targets and parameters*, whatever legitimate form it takes (σ(z) or a, a(1 − a) or
σ(z)(1 − σ(z)), expanded or factored, intermediates or fully substituted).  Answers are per
example, as the lectures write them; with ``reduction = "mean"`` over n > 1 examples the batch
gradient is (1/n) Σ_e of it, which the verdict notes.

How it is decided (the verdict's ``decided_by`` says which):

1. **exact evaluation** (always): both are evaluated at random rational points (integers,
   different for every parameter, targets in the loss's domain) *exactly*: the forward pass
   runs in the field Q(e, exp(u_1), ..., log 2, ...) of independent transcendental atoms
   (σ(2) is e²/(e² + 1), never a float), and two numbers of that field are compared through
   two random homomorphisms into GF(2^61 − 1) (see :class:`Value`).  Different at one point:
   incorrect, with that point as the counterexample.
2. **symbolic** (when the points agree): the answer and the reference, both written in node
   symbols (σ(z^{2}_{1}) read as a^{2}_{1}, every ∂A/∂B replaced by the graph's derivative),
   differ by an expression that ``sympy.cancel`` reduces to 0 within a time bound: a proof.

Floats are used only to read the sign of a number known to be non-zero (ReLU, log) and to print
a counterexample.

Feedback (``mistake``): ``sign``, ``constant_factor`` (a stray 2, a missing ½, the batch's
1/n), ``missing_factor`` / ``extra_factor`` (named, with the edge it belongs to),
``activation_derivative_missing`` / ``activation_derivative_twice``, ``wrong_index``,
``missing_path`` (only some paths of influence summed), else ``counterexample``.
A multi-line derivation ``A = B = C`` is checked step by step; the first step that is not an
equality is named.

Matrix specs (``notation = "matrix"``) also accept the slides' matrix notation
(``dW_2 = a_1^T dz_2``), checked by :mod:`symbackprop.verify.answers_matrix` (shapes by dimension name,
then every entry exactly, with the same exact field).

>>> from symbackprop import derive, load_spec
>>> checker = AnswerChecker(derive(load_spec("derivations/computational_graph.toml")))
>>> checker.check(r"\frac{\partial f}{\partial x} = z").verdict
'correct'
"""
from __future__ import annotations

import dataclasses
import functools
import math
import random
import re
from fractions import Fraction
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property, lru_cache

import sympy
from mpmath.ctx_mp import MPContext
from sympy import Rational

from ..ops import functions
from ..spec import names
from ..errors import NotSupportedError, ParseError, SpecError, SymbackpropError, did_you_mean
from ..grammar.notation import normalize
from ..grammar.parser import activation_derivative, example_sum, parse_chain

CORRECT, INCORRECT, UNPARSEABLE = "correct", "incorrect", "unparseable"
N_POINTS = 6
SYMBOLIC_SECONDS = 0.25
ANSWER_SECONDS = 5.0
NUMERIC_DIGITS = 100

# ---------------------------------------------------------------------------------------
# Exact evaluation at a point


class _Undefined(Exception):
    """The expression has no real value at this point (log of a non-positive number, 1/0)."""


class _Kink(Exception):
    """A ReLU-type function is evaluated exactly at its kink (z = 0), or a sign cannot be read."""


class _Budget(Exception):
    """The time bound for one answer ran out."""


PRIME = (1 << 61) - 1       # residues live in GF(PRIME)
N_ASSIGNMENTS = 2           # independent random images of the transcendental atoms
_MP = MPContext()
_MP.dps = NUMERIC_DIGITS


def _residue(r: Rational) -> int:
    return (int(r.p) % PRIME) * pow(int(r.q) % PRIME, -1, PRIME) % PRIME


_RATIONAL_VALUES: dict = {}   # Rational -> Value (immutable; rationals recur at every point)


class Value:
    r"""An exact number of the field Q(e, exp(u_1), ..., log p, ...) at one point.

    ``q`` is the exact Rational when the number is rational.  Otherwise the number is
    known through ``res``, its images under ``N_ASSIGNMENTS`` independent random
    homomorphisms that send each transcendental atom to a random element of GF(2^61 − 1)
    (exact modular arithmetic: two numbers with different images are different; equal
    images at both assignments mean equal, with error probability about degree/2^61 each),
    and ``num``, a NUMERIC_DIGITS-digit approximation used only to read signs (ReLU, log)
    and to print counterexamples.
    """

    __slots__ = ("res", "num", "q")

    def __init__(self, res, num, q=None):
        self.res, self.num, self.q = res, num, q

    @staticmethod
    def rational(r) -> "Value":
        cacheable = isinstance(r, Rational)
        if cacheable:
            v = _RATIONAL_VALUES.get(r)
            if v is not None:
                return v
        r = Rational(r)
        v = Value((_residue(r),) * N_ASSIGNMENTS, _MP.mpf(r.p) / r.q, r)
        if cacheable and len(_RATIONAL_VALUES) < 100000:
            _RATIONAL_VALUES[r] = v
        return v

    def difference(self) -> int:
        """res[0] − res[1]: unchanged by adding a rational (a rational has equal images), so
        v = k u + c (c rational) needs difference(v) = k · difference(u)."""
        return (self.res[0] - self.res[-1]) % PRIME

    def _lift(self, other) -> "Value":
        return other if isinstance(other, Value) else Value.rational(other)

    def __add__(self, other):
        o = self._lift(other)
        q = self.q + o.q if self.q is not None and o.q is not None else None
        return Value(tuple((a + b) % PRIME for a, b in zip(self.res, o.res)), self.num + o.num, q)

    __radd__ = __add__

    def __neg__(self):
        return Value(tuple(-a % PRIME for a in self.res), -self.num, None if self.q is None else -self.q)

    def __sub__(self, other):
        return self + (-self._lift(other))

    def __rsub__(self, other):
        return self._lift(other) - self

    def __mul__(self, other):
        o = self._lift(other)
        q = self.q * o.q if self.q is not None and o.q is not None else None
        return Value(tuple(a * b % PRIME for a, b in zip(self.res, o.res)), self.num * o.num, q)

    __rmul__ = __mul__

    def inverse(self) -> "Value":
        if self.is_zero() or any(a == 0 for a in self.res):
            raise _Undefined("division by zero")
        q = None if self.q is None else 1 / self.q
        return Value(tuple(pow(a, -1, PRIME) for a in self.res), 1 / self.num, q)

    def __truediv__(self, other):
        return self * self._lift(other).inverse()

    def __rtruediv__(self, other):
        return self._lift(other) * self.inverse()

    def __pow__(self, k: int):
        k = int(k)
        if k < 0:
            return self.inverse() ** (-k)
        q = None if self.q is None else self.q ** k
        return Value(tuple(pow(a, k, PRIME) for a in self.res), self.num ** k, q)

    def is_zero(self) -> bool:
        if self.q is not None:
            return self.q == 0
        return all(a == 0 for a in self.res)

    def equals(self, other) -> bool:
        return (self - other).is_zero()

    def constant(self):
        """The Rational c when this number is a rational constant (also when built through atoms), else None."""
        if self.q is not None:
            return self.q
        if len(set(self.res)) != 1:
            return None
        try:
            guess = Fraction(_MP.nstr(self.num, NUMERIC_DIGITS - 10, min_fixed=-math.inf, max_fixed=math.inf))
        except (ValueError, ZeroDivisionError):  # pragma: no cover - nstr always gives a decimal
            return None
        c = Rational(guess.limit_denominator(10 ** 12))
        return c if _residue(c) == self.res[0] else None

    def sign(self) -> int:
        if self.q is not None:
            return 1 if self.q > 0 else (-1 if self.q < 0 else 0)
        if self.is_zero():
            return 0
        if abs(self.num) < _MP.mpf(10) ** (-(NUMERIC_DIGITS - 20)):
            raise _Kink()  # too close to 0 to read at this precision: use another point
        return 1 if self.num > 0 else -1

    def display(self) -> str:
        """A number for programs (the JSON counterexample): exact when rational, else 10 significant digits."""
        if self.q is not None:
            return str(self.q)
        return _MP.nstr(self.num, 10)

    def readable(self) -> str:
        """A number for people (see :func:`readable_number`): a small fraction exactly (−3/4), else
        4 significant digits in plain decimal, × 10^k only below 10⁻⁴ or from 10⁶ on."""
        return readable_number(self.q if self.q is not None else self.num)


_TO_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def readable_number(v) -> str:
    """``v`` (a Rational, an int or an mpf) for reading: an integer below 10⁶ as it is, a fraction
    with a denominator up to 20 and a small numerator as ``p/q``, otherwise rounded to 4
    significant digits in plain decimal (0.002937, −12.5), and as ``7.86 × 10⁻⁶`` only when
    |v| < 10⁻⁴ or |v| ≥ 10⁶.  Minus signs are −, as the lectures write them."""
    if isinstance(v, int):
        v = Rational(v)
    if isinstance(v, Rational):
        if v == 0:
            return "0"
        if v.q == 1 and abs(v.p) < 10 ** 6:
            return str(v.p).replace("-", "−")
        if v.q <= 20 and abs(v.p) < 1000:
            return f"{'−' if v.p < 0 else ''}{abs(v.p)}/{v.q}"
        num = _MP.mpf(v.p) / v.q
    else:
        num = _MP.mpf(v)
    if num == 0:
        return "0"
    sign = "−" if num < 0 else ""
    num = abs(num)
    e = int(_MP.floor(_MP.log10(num)))
    mantissa = num / _MP.mpf(10) ** e
    digits = int(_MP.nint(mantissa * 1000))        # 4 significant digits: d.ddd
    if digits >= 10000:                             # 9.9996 rounds up to 10.00
        digits //= 10
        e += 1
    if -4 <= e < 6:
        scaled = Fraction(digits, 1000) * (Fraction(10) ** e)
        places = max(0, 3 - e)
        out = f"{float(scaled):.{places}f}"
        if "." in out:
            out = out.rstrip("0").rstrip(".")
        return sign + out
    m = f"{digits / 1000:.3f}".rstrip("0").rstrip(".")
    return f"{sign}{m} × 10{str(e).translate(_TO_SUPERSCRIPT)}"


_SMALL_K = tuple(k for m in range(1, 65) for k in (m, -m))    # exp(k u) = exp(u)^k for these k
_AFFINE_K = (1, -1, 2, -2)                                  # exp(k u + c), c a rational ≠ 0
_LOG_K = (1, -1, 2, -2, 3, -3)                              # log(c · exp(u)^k)
_INVERSE_K = {k: pow(k % PRIME, -1, PRIME) for k in _SMALL_K}


def _ratio(v: Value):
    """res[0] / res[1]: unchanged by multiplying by a rational ≠ 0 (None when an image is 0)."""
    if v.res[-1] == 0 or v.res[0] == 0:
        return None
    return v.res[0] * pow(v.res[-1], -1, PRIME) % PRIME


class _AtomTables:
    """The transcendental atoms of one point (shared by the examples of its batch), indexed so
    that the relations exp(k u + c) = exp(u)^k exp(c), log(c exp(u)^k) = k u + log c and
    log(c w) = log w + log c are found by hashing, not by scanning every atom (a network with
    hundreds of sigmoid units has hundreds of atoms).

    An atom u is indexed by its difference res[0] − res[1] (see :meth:`Value.difference`):
    v = k u + c needs difference(v) = k · difference(u), so the candidates for v are looked up
    for each allowed k and then confirmed exactly ((v − k u) must be a rational constant).
    Multiplicatively, by the ratio res[0] / res[1]: v = c · exp(u)^k needs ratio(v) =
    ratio(exp(u))^k.  Atoms whose key degenerates (probability about 1/2^61) go to a list
    scanned as before."""

    def __init__(self):
        self.exp_by_difference: dict = {}    # difference(u) -> (u, exp(u)) for exp atoms
        self.log_by_difference: dict = {}    # difference(log w) -> (log w, w)
        self.exp_by_ratio: dict = {}         # ratio(exp(u))^k -> (k, u, exp(u))
        self.log_by_ratio: dict = {}         # ratio(w) -> (w, log w)
        self.exp_unindexed: list = []
        self.log_unindexed: list = []        # (w, log w)
        self.log_affine_unindexed: list = []  # (log w, w)

    def add_exp(self, u: Value, atom: Value) -> None:
        d = u.difference()
        if d and u.q is None:
            self.exp_by_difference.setdefault(d, (u, atom))
        elif u.q is None:
            self.exp_unindexed.append((u, atom))
        r = _ratio(atom)
        if r is None or r == 1:
            self.exp_unindexed.append((u, atom))
            return
        for k in _LOG_K:
            self.exp_by_ratio.setdefault(pow(r, k, PRIME), (k, u, atom))

    def add_log(self, w: Value, atom: Value) -> None:
        d = atom.difference()
        if d:
            self.log_by_difference.setdefault(d, (atom, w))
        else:
            self.log_affine_unindexed.append((atom, w))
        r = _ratio(w)
        if r is not None:
            self.log_by_ratio.setdefault(r, (w, atom))
        else:
            self.log_unindexed.append((w, atom))

    @staticmethod
    def _affine(v: Value, table: dict, unindexed):
        """(k, c, u) with v = k u + c for an atom argument u of ``table``; else None."""
        d = v.difference()
        if d:
            for k in _SMALL_K:
                hit = table.get(d * _INVERSE_K[k] % PRIME)
                if hit is None:
                    continue
                u, atom = hit
                c = (v - k * u).constant()
                if c is not None and (c == 0 or k in _AFFINE_K):
                    return k, c, hit
        for hit in unindexed:
            found = ExactPoint._as_multiple(v, hit[0])
            if found is not None:
                return found[0], found[1], hit
        return None

    def exp_relation(self, v: Value):
        """(k, c, exp(u)) with v = k u + c, u an exp atom's argument."""
        found = self._affine(v, self.exp_by_difference, self.exp_unindexed)
        return None if found is None else (found[0], found[1], found[2][1])

    def log_relation(self, v: Value):
        """(k, c, w) with v = k log w + c, log w a log atom."""
        found = self._affine(v, self.log_by_difference, self.log_affine_unindexed)
        return None if found is None else (found[0], found[1], found[2][1])

    def exp_power(self, v: Value):
        """(k, c, u) with v = c · exp(u)^k, c a positive rational; else None."""
        r = _ratio(v)
        if r is not None:
            hit = self.exp_by_ratio.get(r)
            if hit is not None:
                k, u, atom = hit
                c = (v / atom ** k).constant()
                if c is not None and c > 0:
                    return k, c, u
        for u, atom in self.exp_unindexed:
            for k in _LOG_K:
                c = (v / atom ** k).constant()
                if c is not None and c > 0:
                    return k, c, u
        return None

    def log_multiple(self, v: Value):
        """(c, log w) with v = c · w, c a positive rational; else None."""
        r = _ratio(v)
        hits = [self.log_by_ratio[r]] if r is not None and r in self.log_by_ratio else []
        for w, atom in hits + self.log_unindexed:
            c = (v / w).constant()
            if c is not None and c > 0:
                return c, atom
        return None



class ExactPoint:
    r"""Exact values at one point of the inputs, targets and parameters (all rational).

    ``e`` is an atom; exp(u) of a non-rational u is an atom, exp(k u + c) its k-th power times
    exp(c); log of a rational is a sum of ``log p`` atoms over its primes; log(c · exp(u)^k) is
    k u + log c; sigmoid, tanh, softplus are rewritten through exp(±z) and log; ReLU-type
    functions read the sign.  Two expressions are equal at the point when their values are.
    """

    def __init__(self, leaves: dict, seed: int = 0):
        self._rng = random.Random(f"symbackprop-atoms-{seed}")
        self.values: dict = {k: Value.rational(v) for k, v in leaves.items()}
        self._atoms = _AtomTables()
        self._keyed: dict = {}
        self._memo: dict = {}
        self.e = self._new_atom(_MP.e)
        self._atoms.add_exp(Value.rational(1), self.e)

    examples = None   # a callable giving this point's examples (ExactPoints sharing the atoms)
    resolve = None    # lazy points: resolve(point, symbol) -> Value for a symbol without a value yet

    def sibling(self, leaves: dict) -> "ExactPoint":
        """A point of the same field (the same atoms) with other leaf values: another example of
        the batch at the same parameters."""
        other = ExactPoint.__new__(ExactPoint)
        other._rng, other._atoms = self._rng, self._atoms
        other._keyed, other.e = self._keyed, self.e
        other.values = {k: Value.rational(v) for k, v in leaves.items()}
        other._memo = {}
        return other

    def _new_atom(self, numeric) -> Value:
        return Value(tuple(self._rng.randrange(2, PRIME - 1) for _ in range(N_ASSIGNMENTS)), _MP.mpf(numeric))

    def _keyed_atom(self, key, numeric) -> Value:
        atom = self._keyed.get(key)
        if atom is None:
            atom = self._keyed[key] = self._new_atom(numeric)
        return atom

    # -- exp and log ---------------------------------------------------------------------
    def exp(self, v: Value) -> Value:
        if v.q is None:
            c = v.constant() if v.res[0] == v.res[-1] else None
            if c is not None:
                v = Value.rational(c)
        if v.q is not None:
            r = v.q
            whole = math.floor(r)
            value = self.e ** whole
            frac = r - whole
            if frac:
                value = value * self._keyed_atom(("exp", frac), _MP.exp(_MP.mpf(frac.p) / frac.q))
            return value
        found = self._atoms.exp_relation(v)     # exp(k u + c) = exp(u)^k exp(c)
        if found is not None:
            k, c, atom = found
            return atom ** k * self.exp(Value.rational(c))
        found = self._atoms.log_relation(v)     # exp(k log w + c) = w^k exp(c)
        if found is not None:
            k, c, w = found
            return w ** k * self.exp(Value.rational(c))
        atom = self._new_atom(_MP.exp(v.num))
        self._atoms.add_exp(v, atom)
        return atom

    def log(self, v: Value) -> Value:
        if v.sign() <= 0:
            raise _Undefined("log of a non-positive number")
        if v.q is not None:
            return self._log_rational(v.q)
        found = self._atoms.exp_power(v)        # log(c · exp(u)^k) = k u + log c
        if found is not None:
            k, c, u = found
            return k * u + self._log_rational(c)
        found = self._atoms.log_multiple(v)     # log(c · w) = log w + log c
        if found is not None:
            c, atom = found
            return atom + self._log_rational(c)
        atom = self._new_atom(_MP.log(v.num))
        self._atoms.add_log(v, atom)
        return atom

    @staticmethod
    def _as_multiple(v: Value, u: Value):
        """(k, c) with v = k u + c, k a small non-zero integer and c rational; else None."""
        ratio = v / u
        k = ratio.constant()
        if k is not None and k.q == 1 and 0 < abs(k) <= 64:
            return int(k), Rational(0)
        for k in (1, -1, 2, -2):
            c = (v - k * u).constant()
            if c is not None:
                return k, c
        return None

    def _log_rational(self, r: Rational) -> Value:
        if r == 1:
            return Value.rational(0)
        if max(abs(r.p), r.q) > 10 ** 12:
            return self._keyed_atom(("log", r), _MP.log(_MP.mpf(r.p) / r.q))
        total = Value.rational(0)
        for n, sign in ((r.p, 1), (r.q, -1)):
            for p, k in sympy.factorint(n).items():
                total = total + sign * k * self._keyed_atom(("log", p), _MP.log(p))
        return total

    # -- evaluation -------------------------------------------------------------------------
    def evaluate(self, expr) -> Value:
        """The exact value of ``expr`` (its free symbols must have values)."""
        cached = self._memo.get(expr)
        if cached is not None:
            return cached
        value = self._eval(expr)
        if len(self._memo) < 50000:
            self._memo[expr] = value
        return value

    def _eval(self, e) -> Value:
        if e.is_Symbol:
            try:
                return self.values[e]
            except KeyError:
                if self.resolve is None:
                    raise _Undefined(f"no value for {e}") from None
            value = self.values[e] = self.resolve(self, e)
            return value
        if e.is_Rational:
            return Value.rational(e)
        if e is sympy.E:
            return self.e
        if e.is_Number:
            raise _Undefined("a number that is not rational")
        if e.is_Add:
            total = Value.rational(0)
            for a in e.args:
                total = total + self.evaluate(a)
            return total
        if e.is_Mul:
            total = Value.rational(1)
            for a in e.args:
                total = total * self.evaluate(a)
            return total
        if e.is_Pow:
            base = self.evaluate(e.base)
            ex = self.evaluate(e.exp)
            if ex.q is not None and ex.q.q == 1:
                return base ** int(ex.q)
            if ex.q is not None and base.q is not None and base.q > 0:
                exact = sympy.Pow(base.q, ex.q)
                if exact.is_Rational:
                    return Value.rational(exact)
                return self._keyed_atom(("pow", base.q, ex.q), _MP.power(_MP.mpf(base.q.p) / base.q.q,
                                                                       _MP.mpf(ex.q.p) / ex.q.q))
            return self.exp(ex * self.log(base))
        if isinstance(e, sympy.exp):
            return self.exp(self.evaluate(e.args[0]))
        if isinstance(e, sympy.log):
            return self.log(self.evaluate(e.args[0]))
        if isinstance(e, functions.sigmoid):
            return 1 / (1 + self.exp(-self.evaluate(e.args[0])))
        if isinstance(e, sympy.tanh):
            z = self.evaluate(e.args[0])
            up, down = self.exp(z), self.exp(-z)
            return (up - down) / (up + down)
        if isinstance(e, functions.softplus):
            return self.log(1 + self.exp(self.evaluate(e.args[0])))
        if isinstance(e, (functions.relu, functions.step, functions.leaky_relu, functions.leaky_step)):
            z = self.evaluate(e.args[0])
            s = z.sign()
            if s == 0:
                raise _Kink()
            slope = functions.LEAKY_SLOPE
            if isinstance(e, functions.relu):
                return z if s > 0 else Value.rational(0)
            if isinstance(e, functions.step):
                return Value.rational(1 if s > 0 else 0)
            if isinstance(e, functions.leaky_relu):
                return z if s > 0 else slope * z
            return Value.rational(1 if s > 0 else slope)
        if isinstance(e, functions.softmax):
            args = [self.evaluate(a) for a in e.args]
            total = Value.rational(0)
            for a in args[1:]:
                total = total + self.exp(a)
            return self.exp(args[0]) / total
        if isinstance(e, example_sum):
            if self.examples is None:
                raise _Undefined("a sum over the examples outside a cost")
            total = Value.rational(0)
            for ex in self.examples():
                total = total + ex.evaluate(e.args[0])
            return total
        if type(e).__name__ == "logsumexp":
            total = Value.rational(0)
            for a in e.args:
                total = total + self.exp(self.evaluate(a))
            return self.log(total)
        if isinstance(e, sympy.Piecewise):
            for value, cond in e.args:
                if self._holds(cond):
                    return self.evaluate(value)
            raise _Undefined("no branch of a piecewise function holds")
        if isinstance(e, sympy.Function) and hasattr(type(e), "elementary"):
            # any registry function (elu, silu, ...) through its elementary form (ops.functions)
            return self.evaluate(type(e).elementary(*e.args))
        raise _Undefined(f"cannot evaluate {type(e).__name__} exactly")

    def _holds(self, cond) -> bool:
        """A branch condition of a Piecewise at this point (a kink exactly on it is a _Kink)."""
        if cond is sympy.true:
            return True
        if cond is sympy.false:
            return False
        if isinstance(cond, sympy.And):
            return all(self._holds(c) for c in cond.args)
        if isinstance(cond, sympy.Or):
            return any(self._holds(c) for c in cond.args)
        if isinstance(cond, sympy.Not):
            return not self._holds(cond.args[0])
        if isinstance(cond, (sympy.StrictGreaterThan, sympy.GreaterThan, sympy.StrictLessThan, sympy.LessThan)):
            s = self.evaluate(cond.lhs - cond.rhs).sign()
            if s == 0:
                raise _Kink()
            return s > 0 if isinstance(cond, (sympy.StrictGreaterThan, sympy.GreaterThan)) else s < 0
        raise _Undefined(f"cannot decide the condition {cond}")



# ---------------------------------------------------------------------------------------
# Sample points

_DENOMINATORS = (3, 5, 7, 11, 13, 17, 19, 23, 29, 31)
#: the values of a counterexample a person can follow: small fractions, never 0 or ±1
FRIENDLY = tuple(Rational(p, q) for p, q in ((1, 2), (-3, 4), (2, 5), (-1, 3), (3, 2), (-2, 5), (3, 4), (-1, 2),
                                             (1, 4), (-3, 2), (2, 3), (-1, 4), (5, 4), (-2, 3), (1, 3), (-5, 4)))
_SCALES = (Rational(1, 4), Rational(1, 2), Rational(1), Rational(2), Rational(4))
_PIECEWISE = (functions.relu, functions.step, functions.leaky_relu, functions.leaky_step,
              sympy.Abs, sympy.Heaviside, sympy.Piecewise, sympy.Max, sympy.Min, sympy.sign)


def random_rational(rng, *, positive: bool = False) -> Rational:
    r"""A random rational p/q, q a prime from 3 to 31 and p not a multiple of q: never an integer
    (so never 0, ±1 or ±2, where powers and products coincide), magnitudes from about 1/31 to 8."""
    q = rng.choice(_DENOMINATORS)
    top = max(2, int(rng.choice(_SCALES) * 2 * q))
    while True:
        p = rng.randint(1, top)
        if p % q:
            break
    sign = 1 if positive or rng.random() < 0.5 else -1
    return Rational(sign * p, q)


def _near_rational(x: float, rng) -> Rational:
    """A non-integer rational close to x (to shift a bias to a chosen value)."""
    q = rng.choice(_DENOMINATORS)
    p = round(x * q)
    if p % q == 0:
        p += 1
    return Rational(p, q)


def _kink_owners_of(graph) -> list:
    """(argument, node name) for every ReLU-type (piecewise) function in the graph's definitions."""
    out = []
    for n in graph.nodes:
        if n.definition is None:
            continue
        for sub in sympy.preorder_traversal(n.definition):
            if isinstance(sub, _PIECEWISE) or type(sub).__name__ in ("huber", "elu"):
                arg = sub.args[0] if sub.args else None
                if isinstance(sub, sympy.Piecewise) or arg is None:
                    continue
                if type(sub).__name__ == "huber" and len(sub.args) > 1:
                    arg = sub.args[0] - sub.args[1]
                if not arg.is_Number:
                    out.append((arg, n.name))
    return out


def _kink_arguments(graph) -> tuple:
    """The arguments of the ReLU-type (piecewise) functions in the graph's definitions, each once."""
    return tuple(dict.fromkeys(arg for arg, _ in _kink_owners_of(graph)))


def _record_signs(point, kinks, seen) -> None:
    for k in kinks:
        try:
            seen[k].add(point.evaluate(k).sign())
        except (_Undefined, _Kink, ZeroDivisionError):
            pass


def _additive_leaf(graph, arg):
    """The leaf symbol b with ∂arg/∂b = 1 (the bias of z = w a + b), following one node symbol."""
    expr = arg
    if isinstance(arg, sympy.Symbol) and arg.name in graph.by_name:
        node = graph.by_name[arg.name]
        if node.definition is None:
            return arg if node.kind != "target" else None
        expr = node.definition
    for s in sorted(expr.free_symbols, key=lambda s: s.name):
        node = graph.by_name.get(s.name)
        if node is not None and node.is_leaf and node.kind == "parameter" and sympy.diff(expr, s) == 1:
            return s
    for s in sorted(expr.free_symbols, key=lambda s: s.name):
        node = graph.by_name.get(s.name)
        if node is not None and node.is_leaf and node.kind != "target" and sympy.diff(expr, s) == 1:
            return s
    return None

# ---------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Step:
    """One ``=`` of a multi-line derivation: ``left = right`` holds or not."""

    index: int
    left: str
    right: str
    equal: bool

    def to_json(self) -> dict:
        return {"step": self.index, "left": self.left, "right": self.right, "equal": self.equal}


class LazyExpected:
    """The reference of a verdict, printed only when someone reads it (``Verdict.expected``):
    grading 10,000 answers prints no expected LaTeX, so it computes none."""

    __slots__ = ("expr", "names", "_latex", "_text")

    def __init__(self, expr, names: dict | None = None):
        self.expr, self.names = expr, names or {}
        self._latex = self._text = None

    def latex(self) -> str:
        if self._latex is None:
            from ..render.printers import latex

            own = not isinstance(self.expr, sympy.Basic) and hasattr(self.expr, "latex")
            self._latex = self.expr.latex() if own else latex(self.expr, self.names)   # a matrix expression
        return self._latex

    def text(self) -> str:
        if self._text is None:
            from ..render.printers import text

            own = not isinstance(self.expr, sympy.Basic) and hasattr(self.expr, "text")
            self._text = self.expr.text() if own else text(self.expr, self.names)
        return self._text


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one answer.

    ``verdict`` is ``correct``, ``incorrect`` or ``unparseable``; ``decided_by`` says how
    (``symbolic`` or ``exact evaluation at 3 random rational points``); ``feedback`` is
    one or more sentences in the lectures' terms; ``mistake`` a machine-readable kind.
    ``expected`` (LaTeX) and ``expected_text`` (plain text) are the reference in the lectures'
    notation, printed on first use (``expected_source`` is a :class:`LazyExpected`, or a string).
    ``math`` pairs each expression printed in ``feedback`` (as text) with its LaTeX, so that
    the web can typeset it without reading the text back.
    """

    verdict: str
    feedback: str
    wrt: str | None = None
    of: str | None = None
    decided_by: str | None = None
    mistake: str | None = None
    steps: tuple = ()
    counterexample: dict | None = None
    expected_source: object = dataclasses.field(default=None, repr=False, compare=False)
    note: str | None = None
    error: dict | None = None
    notation: str | None = None
    shapes: dict | None = None
    math: tuple = ()

    @property
    def expected(self) -> str | None:
        src = self.expected_source
        return src.latex() if isinstance(src, LazyExpected) else src

    @property
    def expected_text(self) -> str | None:
        src = self.expected_source
        return src.text() if isinstance(src, LazyExpected) else None

    @property
    def exit_code(self) -> int:
        return {CORRECT: 0, INCORRECT: 1}.get(self.verdict, 2)

    def to_json(self) -> dict:
        out = {
            "verdict": self.verdict,
            "feedback": self.feedback,
            "wrt": self.wrt,
            "of": self.of,
            "decided_by": self.decided_by,
            "mistake": self.mistake,
            "steps": [s.to_json() for s in self.steps],
            "counterexample": self.counterexample,
            "expected": self.expected,
            "note": self.note,
        }
        if self.expected_text is not None:
            out["expected_text"] = self.expected_text
        if self.math:
            out["feedback_math"] = [{"text": t, "tex": x} for t, x in self.math]
        if self.error is not None:
            out["error"] = self.error
        if self.notation is not None:
            out["notation"] = self.notation
        if self.shapes is not None:
            out["shapes"] = self.shapes
        return out


def failure_verdict(exc: BaseException, wrt=None, notation=None) -> Verdict:
    """A one-line ``unparseable`` verdict for an answer that broke the evaluation (overflow,
    recursion, memory, a number too large), never a traceback."""
    if isinstance(exc, SymbackpropError):
        v = _unparseable(exc, wrt)
        return v if notation is None else dataclasses.replace(v, notation=notation)
    if isinstance(exc, (OverflowError, MemoryError)) or "digits" in str(exc):
        message = ("the answer could not be evaluated: a number in it is too large "
                   "(such as e^{e^{e^{…}}} or a huge power); write the derivative more simply")
    elif isinstance(exc, RecursionError):
        message = "the answer is nested too deeply to check; write it more simply"
    else:
        message = f"the answer could not be checked ({type(exc).__name__}); write it more simply"
    return Verdict(UNPARSEABLE, message, wrt=wrt, error={"message": message}, notation=notation)


def _unparseable(exc: Exception, wrt=None) -> Verdict:
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    error = {"message": message}
    column = getattr(exc, "column", None)
    if column is not None:
        error["column"] = column
        line = _line_of(str(exc))
        if line is not None:
            error["line"] = line
    return Verdict(UNPARSEABLE, str(exc), wrt=wrt, error=error)


def _progress(verdict: Verdict) -> tuple:
    """How far into the answer an unparseable reading got: (line, column); an error without a
    column (the whole answer was read, e.g. nothing says what is differentiated) counts as the end."""
    err = verdict.error or {}
    if not err.get("column"):
        return (math.inf, math.inf)
    return (err.get("line") or 1, err["column"])


def _line_of(message: str):
    import re

    m = re.search(r"\(line (\d+), column \d+\)", message)
    return int(m.group(1)) if m else None


# ---------------------------------------------------------------------------------------
# Timing


_DEADLINES = threading.local()   # per thread: the stack of active deadlines (time.monotonic())


def _outer_expired() -> bool:
    """True when an enclosing time limit of this thread has run out (an inner limit that catches
    _Budget must then re-raise it, so the outer limit is never lost)."""
    stack = getattr(_DEADLINES, "stack", [])
    return bool(stack) and time.monotonic() >= min(stack)


@contextmanager
def _time_limit(seconds: float):
    """Raise _Budget in the checking thread after ``seconds``, in any thread.

    In the main thread with SIGALRM: a timer signal.  In other threads (grading with worker
    threads, a web server's pool): a watchdog thread raises _Budget asynchronously in the
    checking thread (``PyThreadState_SetAsyncExc``), which interrupts pure-Python work such as
    SymPy's; the input bounds of the parser keep every single C-level operation short.  A
    worker process is a main thread of its own, so the signal applies there.
    """
    if seconds is None:
        yield
        return
    stack = _DEADLINES.__dict__.setdefault("stack", [])
    stack.append(time.monotonic() + seconds)
    try:
        if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
            with _signal_limit(seconds):
                yield
        else:
            with _thread_limit(seconds):
                yield
    finally:
        stack.pop()


@contextmanager
def _signal_limit(seconds: float):
    def handler(signum, frame):
        raise _Budget()

    old = signal.signal(signal.SIGALRM, handler)
    previous = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        if previous[0] > 0:  # an outer timer keeps running
            signal.setitimer(signal.ITIMER_REAL, max(previous[0] - seconds, 1e-3))


@contextmanager
def _thread_limit(seconds: float):
    import ctypes

    tid = threading.get_ident()
    lock = threading.Lock()
    state = {"active": True}

    def fire():
        with lock:
            if state["active"]:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(tid), ctypes.py_object(_Budget))

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with lock:
            state["active"] = False
            timer.cancel()
            if not _outer_expired():
                # a pending exception not yet delivered is withdrawn
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(tid), None)


# ---------------------------------------------------------------------------------------
# The checker


def _plain(expr, shown: dict | None = None) -> str:
    """An expression as plain text in the lectures' notation (ŷ(1 − ŷ), ·, fractions; never ``*``)."""
    from ..render.printers import text

    return text(expr, shown)


def _tex(expr, shown: dict | None = None) -> str:
    """An expression as LaTeX in the lectures' notation (``\\hat{y}(1 - \\hat{y})``)."""
    from ..render.printers import latex

    return latex(expr, shown)


@dataclass
class _Candidate:
    """A factor the feedback may name: its expression (node symbols) and what it is."""

    expr: sympy.Expr
    label: str
    activation: bool = False
    math: tuple = ()   # (text, LaTeX) of each expression in the label


#: Networks with more parameters than this are checked in matrix notation only (the per-scalar
#: derivation of 100k parameters would take minutes); the same bound as ``cli_core``'s.
SCALAR_MAX_PARAMETERS = 5000
LAZY_MIN_PARAMETERS = 64     # from this many parameters on, points are lazy (see AnswerChecker._make_lazy_points)


_MATRIX_GRADIENT = re.compile(r"\s*d(W|w|Z|z|b|B|a|A|\\hat|\\delta)")


def _parameter_count(spec) -> int:
    if spec is None or getattr(spec, "network", None) is None:
        return 0
    L = spec.network.layers
    return sum(L[k] * L[k + 1] + L[k + 1] for k in range(len(L) - 1))


_NAMED_FACTOR = ("missing_factor", "extra_factor", "activation_derivative_missing", "activation_derivative_twice")


class AnswerChecker:
    """Checks answers against one derivation; caches reference values per ``wrt``.

    ``check(text, wrt=None)``: ``wrt`` is the parameter or node (any accepted spelling:
    ``w^{1}_{1,1}``, ``w_{1,1}^1``, ``\\hat{y}``); a Leibniz left-hand side in the answer
    can give it instead.

    ``AnswerChecker(derivation)`` or ``AnswerChecker(spec)`` (the per-scalar derivation is then
    built only when an index-notation answer needs it).  For a spec with ``notation = "matrix"``
    (or a network too big for per-scalar derivation) answers in the slides' matrix notation are
    accepted too (``dW_2 = a_1^T dz_2``; see :mod:`symbackprop.verify.answers_matrix`): an answer is
    read in index notation first and, when that reading fails, in matrix notation.
    """

    def __init__(self, derivation, *, seed: int = 0, n_points: int = N_POINTS):
        from ..spec.load import Spec

        if isinstance(derivation, Spec):
            self.spec, self._d = derivation, None
        else:
            self.spec, self._d = getattr(derivation, "spec", None), derivation
        self.seed = seed
        self.n_points = n_points
        self._points = None
        self._reference_cache: dict = {}
        self._value_cache: dict = {}
        self._total_cache: dict = {}
        self._matrix = None

    @property
    def d(self):
        """The per-scalar derivation (built on first use when the checker was made from a spec)."""
        if self._d is None:
            n = _parameter_count(self.spec)
            if n > SCALAR_MAX_PARAMETERS:
                raise NotSupportedError(f"this network has {n} parameters, too many for per-scalar answers; "
                                        "write the answer in matrix notation, e.g. --wrt dW_1 --answer 'x^T dz_1'")
            from ..derivation.chain_rule import derive

            self._d = derive(self.spec)
        return self._d

    @property
    def graph(self):
        return self.d.graph

    @cached_property
    def names(self) -> dict:
        return answer_names(self.d)

    @cached_property
    def shown(self) -> dict:
        """The lectures' display names of the output and target (ŷ, y) for printing feedback."""
        from ..render.printers import output_names

        try:
            return output_names(self.graph)
        except (AttributeError, TypeError):  # pragma: no cover - a graph without outputs
            return {}

    @cached_property
    def _activation_form(self) -> dict:
        return {
            n.definition: n.symbol for n in self.graph.nodes
            if n.definition is not None and n.kind == "activation" and not n.definition.is_Symbol
        }

    @property
    def matrix(self):
        """The matrix-notation checker (:class:`symbackprop.verify.answers_matrix.MatrixAnswerChecker`) for
        matrix specs and big networks, else None."""
        if self._matrix is None:
            spec = self.spec
            wanted = spec is not None and getattr(spec, "network", None) is not None and (
                getattr(spec, "notation", "index") == "matrix" or _parameter_count(spec) > SCALAR_MAX_PARAMETERS)
            if not wanted:
                self._matrix = False
            else:
                from ..verify.answers_matrix import MatrixAnswerChecker

                try:
                    self._matrix = MatrixAnswerChecker(spec, seed=self.seed, n_points=self.n_points)
                except SymbackpropError:  # no matrix rule for this network: index notation only
                    self._matrix = False
        return self._matrix or None

    # -- names ---------------------------------------------------------------------
    def resolve_wrt(self, text: str) -> str:
        """The canonical node name for ``--wrt`` (``w_{1,1}^1`` -> ``w^{1}_{1,1}``)."""
        if not isinstance(text, str) or not text.strip():
            raise SpecError("--wrt: give the name of a parameter or node, e.g. w^{1}_{1,1}")
        if text in self.graph.by_name:
            return text
        try:
            expr = parse_chain(normalize(text).text, resolve=self.names).sides
        except ParseError as exc:
            raise ParseError(f"--wrt {text!r}: {exc}") from None
        if len(expr) != 1 or not isinstance(expr[0].expr, sympy.Symbol) or expr[0].expr.name not in self.graph.by_name:
            known = [n.name for n in self.graph.nodes]
            raise SpecError(f"--wrt {text!r} is not a node or parameter of the spec{did_you_mean(text, known)} "
                            f"(known: {', '.join(known[:30])}{', ...' if len(known) > 30 else ''})")
        return expr[0].expr.name

    # -- reference derivatives ---------------------------------------------------------
    def derivative(self, of: str, wrt: str) -> sympy.Expr:
        """∂of/∂wrt in node symbols: the derivation's ∂L/∂wrt, or a total derivative inside the graph."""
        key = (of, wrt)
        if key in self._total_cache:
            return self._total_cache[key]
        g = self.graph
        if of == COST and COST not in g.by_name:
            # ∂J/∂θ = r Σ_e ∂L_e/∂θ, r = 1/n for the mean, 1 for the sum
            value = self.d.reduction_factor * example_sum(self.d.per_example_gradient(wrt))
        elif of == wrt:
            value = sympy.S.One
        elif of == g.output:
            value = self.d.per_example_gradient(wrt)
        else:
            value = self._total_derivative(of, wrt)
        self._total_cache[key] = value
        return value

    def _total_derivative(self, of: str, wrt: str) -> sympy.Expr:
        from ..derivation.chain_rule import local_derivative

        g = self.graph
        ancestors = {of}
        for n in reversed(g.nodes):
            if n.name in ancestors:
                ancestors.update(n.parents)
        if wrt not in ancestors:
            return sympy.S.Zero
        grad = {of: sympy.S.One}
        for n in reversed(g.nodes):
            if n.name == of or n.name not in ancestors:
                continue
            total = sympy.S.Zero
            for c in g.children[n.name]:
                if c in grad and c in ancestors:
                    total += grad[c] * local_derivative(g, c, n.name).expression
            grad[n.name] = total
            if n.name == wrt:
                break
        return grad.get(wrt, sympy.S.Zero)

    def _replace_activation_derivatives(self, expr):
        """g'(z^{l}_{j}) -> the registry's derivative of layer l's activation (σ′ = a(1 − a), ...)."""
        if not expr.has(activation_derivative):
            return expr
        from ..ops.activations import get_activation

        g = self.graph

        def repl(call):
            z = call.args[0]
            node = g.by_name.get(z.name) if isinstance(z, sympy.Symbol) else None
            child = None
            if node is not None:
                child = next((g.by_name[c] for c in g.children[node.name]
                              if g.by_name[c].kind == "activation"), None)
            if child is None or child.activation is None:
                raise NotSupportedError(f"g′({_plain(z)}): g′ (or f′) is the derivative of a layer's activation "
                                        "at its pre-activation; write it as g'(z^{2}_{1})")
            entry = get_activation(child.activation)
            if entry.derivative is None:
                raise NotSupportedError(f"g′({_plain(z)}): the {child.activation} layer has no elementwise derivative; "
                                        "write the derivative out")
            return entry.derivative(child.symbol, z)

        return expr.replace(lambda e: isinstance(e, activation_derivative), repl)

    def _replace_derivatives(self, expr):
        expr = self._replace_activation_derivatives(expr)
        if not expr.has(sympy.Derivative):
            return expr
        def repl(dv):
            of = dv.expr
            wrt = dv.variables[0]
            if isinstance(of, sympy.Symbol) and of.name == COST and COST not in self.graph.by_name:
                return self.derivative(COST, wrt.name)
            if not isinstance(of, sympy.Symbol) or of.name not in self.graph.by_name:
                raise NotSupportedError(f"∂{of}/∂{wrt}: the numerator must be a node of the graph")
            return self.derivative(of.name, wrt.name)
        return expr.replace(lambda e: isinstance(e, sympy.Derivative), repl)

    # -- points ------------------------------------------------------------------------
    def points(self) -> list:
        """``n_points`` exact points (deterministic from the seed) where the whole graph is defined
        (lazy points for big networks: see :meth:`_make_lazy_points`)."""
        if self._points is None:
            self._points = self._make_lazy_points() if self.lazy else self._make_points()
        return self._points

    @cached_property
    def lazy(self) -> bool:
        """Big networks (at least LAZY_MIN_PARAMETERS parameters) get lazy points in free coordinates."""
        g = self.graph
        return g.mode == "network" and sum(n.kind == "parameter" for n in g.nodes) >= LAZY_MIN_PARAMETERS

    @cached_property
    def _free_nodes(self) -> tuple:
        """({node symbol: (bias symbol, rest)}, {bias symbol: node symbol}) for the nodes sampled
        directly: a node z = rest + b whose additive parameter b is its own (b has no other
        child and rest does not contain b).  Then (b ↦ z) is a change of coordinates: for any
        values of the other leaves every z is reached by exactly one b = z − rest, so a function
        of the leaves is identically equal to another exactly when the two are equal as functions
        of z and the other leaves, and random points may be drawn in those coordinates."""
        g = self.graph
        free, biases = {}, {}
        for n in g.nodes:
            d = n.definition
            if d is None or not d.is_Add:
                continue
            for term in sorted((t for t in d.args if t.is_Symbol), key=lambda t: t.name):
                leaf = g.by_name.get(term.name)
                if leaf is None or leaf.kind != "parameter" or tuple(g.children[leaf.name]) != (n.name,):
                    continue
                rest = d - term
                if term in rest.free_symbols or term in biases:
                    continue
                free[n.symbol], biases[term] = (term, rest), n.symbol
                break
        return free, biases

    def _make_lazy_points(self) -> list:
        """Points whose values are computed only when an expression needs them (memoized per
        point for the run), in the coordinates of :attr:`_free_nodes`: every free node
        (z = w·a + b with its own bias b) gets a random rational directly, b is derived as
        z − w·a only if something asks for it, every other leaf gets a random rational (seeded
        by the point and the name, so the order of evaluation changes nothing).  A free node's
        signs over the points include both + and − (each ReLU-type unit active at some point and
        inactive at another, by construction); the cost of one answer is that of the sub-graph
        its reference and answer depend on, not of the network."""
        out = []
        for i in range(self.n_points):
            p = ExactPoint({}, seed=i + 1)
            p.resolve = functools.partial(self._resolve_lazy, i)
            p.examples = (lambda p=p, k=i: self._examples_of(p, k))
            out.append(p)
        self.uncovered = ()
        return out

    def _free_signs(self, sym) -> tuple:
        cache = self.__dict__.setdefault("_free_sign_cache", {})
        signs = cache.get(sym)
        if signs is None:
            rng = random.Random(f"symbackprop-signs-{self.seed}-{sym.name}")
            signs = [rng.choice((1, -1)) for _ in range(self.n_points)]
            if self.n_points > 1 and len(set(signs)) == 1:
                signs[rng.randrange(self.n_points)] *= -1
            signs = cache[sym] = tuple(signs)
        return signs

    def _lazy_targets(self, key) -> dict:
        cache = self.__dict__.setdefault("_lazy_target_cache", {})
        if key not in cache:
            cache[key] = self._targets(random.Random(f"symbackprop-targets-{self.seed}-{key}"))
        return cache[key]

    def _resolve_lazy(self, i, point, sym) -> Value:
        g = self.graph
        node = g.by_name.get(sym.name)
        if node is None:
            raise _Undefined(f"no value for {sym}")
        free, biases = self._free_nodes
        if sym in free:
            rng = random.Random(f"symbackprop-free-{self.seed}-{i}-{sym.name}")
            return Value.rational(self._free_signs(sym)[i] * random_rational(rng, positive=True))
        if sym in biases:
            z = biases[sym]
            return point.evaluate(z) - point.evaluate(free[z][1])
        if node.is_leaf:
            if node.kind == "target" and g.mode == "network":
                return Value.rational(self._lazy_targets(i)[sym])
            return Value.rational(random_rational(random.Random(f"symbackprop-leaf-{self.seed}-{i}-{sym.name}")))
        return point.evaluate(node.definition)

    def _resolve_example(self, main, k, e, point, sym) -> Value:
        """Example e of the batch at point k: the parameters of point k, its own inputs and targets."""
        g = self.graph
        node = g.by_name.get(sym.name)
        if node is None:
            raise _Undefined(f"no value for {sym}")
        if node.is_leaf:
            if node.kind == "parameter":
                return main.evaluate(sym)
            if node.kind == "target" and g.mode == "network":
                return Value.rational(self._lazy_targets(f"{k}-{e}")[sym])
            return Value.rational(random_rational(random.Random(f"symbackprop-leaf-{self.seed}-{k}-{e}-{sym.name}")))
        return point.evaluate(node.definition)

    @cached_property
    def _kink_owners(self) -> tuple:
        """(argument, node) for every ReLU-type kink in the graph's definitions."""
        return tuple(_kink_owners_of(self.graph))

    def _lazy_uncovered(self, reference) -> tuple:
        """The kinks the reference depends on that are not on free nodes and are on one side at
        every point (the free nodes' signs cover theirs by construction)."""
        free = self._free_nodes[0]
        pending = [(arg, owner) for arg, owner in self._kink_owners if not (arg.is_Symbol and arg in free)]
        for sub in sympy.preorder_traversal(reference):
            if isinstance(sub, _PIECEWISE) and sub.args and not isinstance(sub, sympy.Piecewise):
                if not (sub.args[0].is_Symbol and sub.args[0] in free) and not sub.args[0].is_Number:
                    pending.append((sub.args[0], None))
        if not pending:
            return ()
        g = self.graph
        needed, stack = set(), [s.name for s in reference.free_symbols if s.name in g.by_name]
        while stack:
            name = stack.pop()
            if name in needed:
                continue
            needed.add(name)
            if sympy.Symbol(name) in free:
                continue
            stack.extend(g.by_name[name].parents)
        out = []
        for arg, owner in pending:
            if owner is not None and owner not in needed:
                continue
            signs = set()
            for p in self.points():
                try:
                    signs.add(p.evaluate(arg).sign())
                except (_Undefined, _Kink, ZeroDivisionError):
                    pass
            if not {1, -1} <= signs:
                out.append(str(arg))
        return tuple(sorted(set(out)))

    def _make_points(self) -> list:
        """Random rational points (see :func:`random_rational`) where the whole graph is defined,
        extended until every kink (ReLU-type function) of the graph is on both sides of its
        kink at some point: each unit active somewhere and inactive somewhere."""
        rng = random.Random(self.seed)
        leaves = [n for n in self.graph.nodes if n.is_leaf]
        kinks = _kink_arguments(self.graph)
        out = []
        attempts = 0
        while len(out) < self.n_points:
            attempts += 1
            if attempts > 80:
                raise NotSupportedError("could not find points where the graph is defined (e.g. log of a negative "
                                        "number everywhere); the answer cannot be checked")
            point = self._random_point(rng, leaves, positive=attempts > 40, seed=attempts)
            if point is not None:
                out.append(point)
        self.uncovered = ()
        if kinks:
            seen = {k: set() for k in kinks}
            for p in out:
                _record_signs(p, kinks, seen)
            tries = 0
            while tries < 24 * len(kinks) and len(out) < self.n_points + 4 * len(kinks):
                missing = [(k, s) for k in kinks for s in (1, -1) if s not in seen[k]]
                if not missing:
                    break
                tries += 1
                arg, sign = missing[tries % len(missing)]
                attempts += 1
                point = self._random_point(rng, leaves, positive=False, seed=attempts,
                                           push=(arg, sign))
                if point is None:
                    continue
                before = sum(len(v) for v in seen.values())
                _record_signs(point, kinks, seen)
                if sum(len(v) for v in seen.values()) > before:
                    out.append(point)
            self.uncovered = tuple(sorted(str(k) for k in kinks if len(seen[k]) < 2))
        for k, p in enumerate(out):
            p.examples = (lambda p=p, k=k: self._examples_of(p, k))
        return out

    def _examples_of(self, point, k) -> list:
        """The batch at point k: the point itself and n − 1 more examples (new inputs and targets,
        the same parameters), for Σ_e in ∂J/∂θ."""
        cache = self.__dict__.setdefault("_example_cache", {})
        if k in cache:
            return cache[k]
        n = max(self.d.n_examples, 1)
        if n > 32:
            raise NotSupportedError(f"∂J/∂θ sums over the spec's n = {n} examples, too many to check; "
                                    "answer ∂L/∂θ for one example")
        if self.lazy:
            out = [point]
            for e in range(1, n):
                ex = point.sibling({})
                ex.resolve = functools.partial(self._resolve_example, point, k, e)
                out.append(ex)
            cache[k] = out
            return out
        rng = random.Random(f"symbackprop-examples-{self.seed}-{k}")
        leaves = [nd for nd in self.graph.nodes if nd.is_leaf]
        out = [point]
        while len(out) < n:
            values = {nd.symbol: point.values[nd.symbol].q for nd in leaves if nd.kind == "parameter"}
            for nd in leaves:
                if nd.kind == "input":
                    values[nd.symbol] = random_rational(rng)
            values.update(self._targets(rng))
            for nd in leaves:
                if nd.symbol not in values:
                    values[nd.symbol] = random_rational(rng)
            ex = point.sibling(values)
            try:
                for nd in self.graph.nodes:
                    if not nd.is_leaf:
                        ex.values[nd.symbol] = ex.evaluate(nd.definition)
            except (_Undefined, _Kink, ZeroDivisionError, OverflowError):
                continue
            out.append(ex)
        cache[k] = out
        return out

    def _random_point(self, rng, leaves, *, positive, seed, push=None):
        """One point (None when the graph is undefined there).  ``push = (arg, sign)``: shift the
        additive leaf of ``arg`` (the bias b of z = w a + b) so that ``arg`` gets that sign."""
        values = {}
        used: set = set()
        for n in leaves:
            if n.kind == "target" and self.graph.mode == "network":
                continue
            v = random_rational(rng, positive=positive)
            while v in used:
                v = random_rational(rng, positive=positive)
            used.add(v)
            values[n.symbol] = v
        values.update(self._targets(rng))
        for _ in range(4 if push is not None else 1):
            point = ExactPoint(values, seed=seed)
            try:
                for n in self.graph.nodes:
                    if not n.is_leaf:
                        point.values[n.symbol] = point.evaluate(n.definition)
            except (_Undefined, _Kink, ZeroDivisionError, OverflowError):
                return None
            if push is None:
                return point
            arg, sign = push
            try:
                now = point.evaluate(arg)
                if now.sign() == sign:
                    return point
            except (_Undefined, _Kink, ZeroDivisionError):
                return None
            leaf = _additive_leaf(self.graph, arg)
            if leaf is None:
                return point
            shift = float(now.num)
            target = -shift + sign * float(random_rational(rng, positive=True))
            base = values[leaf]
            values[leaf] = _near_rational(float(base) + target, rng)
        return point

    def _targets(self, rng) -> dict:
        """Targets in the loss's valid domain: a probability vector for cross-entropy, [0, 1] for BCE."""
        targets = [n.symbol for n in self.graph.nodes if n.kind == "target"]
        if not targets or self.graph.mode != "network":
            return {}
        if self.graph.loss == "cross_entropy":
            weights = [rng.randint(1, 5) for _ in targets]
            return {t: Rational(w, sum(weights)) for t, w in zip(targets, weights)}
        if self.graph.loss == "bce":
            out = {}
            for t in targets:
                q = rng.choice(_DENOMINATORS)
                out[t] = Rational(rng.randint(1, q - 1), q)
            return out
        out = {}
        for t in targets:
            out[t] = random_rational(rng)
        return out

    def _values(self, expr, points=None) -> list:
        """Exact values of ``expr`` at the points (None where it is undefined)."""
        out = []
        for p in points or self.points():
            try:
                out.append(p.evaluate(expr))
            except (_Undefined, _Kink, ZeroDivisionError):
                out.append(None)
        return out

    def reference_values(self, of: str, wrt: str) -> list:
        key = (of, wrt)
        if key not in self._value_cache:
            self._value_cache[key] = self._values(self.derivative(of, wrt))
        return self._value_cache[key]

    # -- deciding ----------------------------------------------------------------------
    def node_form(self, expr):
        """σ(z^{2}_{1}) -> a^{2}_{1}: the answer written in node symbols where it names a node's definition."""
        return expr.xreplace(self._activation_form) if self._activation_form else expr

    def _symbolically_equal(self, a, b) -> bool:
        try:
            with _time_limit(SYMBOLIC_SECONDS):
                diff = self.node_form(a) - self.node_form(b)
                if diff == 0:
                    return True
                if sympy.count_ops(diff) > 400:
                    return False
                return sympy.cancel(sympy.together(diff)) == 0
        except _Budget:
            if _outer_expired():
                raise
            return False
        except (sympy.PolynomialError, TypeError, ValueError, ArithmeticError, RecursionError, MemoryError):
            return False

    def _points_decide(self, reference, r_values) -> bool:
        """Agreement at the points decides when the reference is non-zero at some point and every
        kink of the graph was seen on both sides (else only a proof may say "correct")."""
        self.points()
        if self.lazy:
            self.uncovered = self._lazy_uncovered(reference)
        if getattr(self, "uncovered", ()):
            return False
        usable = [r for r in r_values if r is not None]
        if len(usable) < min(3, self.n_points):
            return False
        return any(not r.is_zero() for r in usable)

    def _equal_at_points(self, a_values, r_values):
        """(equal everywhere both are defined, index of the first difference or None)."""
        usable = 0
        for i, (a, r) in enumerate(zip(a_values, r_values)):
            if r is None:
                continue
            if a is None:
                return False, i
            usable += 1
            if not a.equals(r):
                return False, i
        return usable > 0, None

    def check(self, text: str, wrt: str | None = None, *, accept_numbers: bool = False) -> Verdict:
        """Check one answer; never raises for bad answers (they get ``unparseable``).

        An answer that is only a number is compared with the derivative's value at the spec's data
        and parameters: the right value is ``incorrect`` with mistake ``numeric_value`` ("right value
        at the given numbers; write the derivative symbolically") unless ``accept_numbers``; a chain
        whose last step is a number needs the right value there."""
        try:
            with _time_limit(ANSWER_SECONDS):
                matrix = self.matrix
                if matrix is None:
                    return self._scalar_verdict(text, wrt, accept_numbers)
                return self._routed(text, wrt, matrix, accept_numbers)
        except _Budget:
            return Verdict(UNPARSEABLE, f"the answer could not be checked within {ANSWER_SECONDS:g} s; "
                           "write it more simply", wrt=wrt, error={"message": "time limit"})
        except Exception as exc:  # every input ends in a verdict, never a traceback
            return failure_verdict(exc, wrt)

    def _scalar_verdict(self, text, wrt, accept_numbers: bool = False) -> Verdict:
        """The index-notation check (raises only _Budget)."""
        try:
            wrt_name = self.resolve_wrt(wrt) if wrt is not None else None
        except SymbackpropError as exc:
            return _unparseable(exc)
        except RecursionError:
            return Verdict(UNPARSEABLE, "the name is nested too deeply", error={"message": "nested too deeply"})
        try:
            return self._check(text, wrt_name, accept_numbers)
        except ParseError as exc:
            return _unparseable(exc, wrt_name)
        except (NotSupportedError, SpecError) as exc:
            return _unparseable(exc, wrt_name)
        except RecursionError:
            return Verdict(UNPARSEABLE, "the answer is nested too deeply to check; write it more simply",
                           wrt=wrt_name, error={"message": "nested too deeply"})

    def _scalar_wrt_ok(self, wrt) -> bool:
        try:
            self.resolve_wrt(wrt)
        except (SymbackpropError, RecursionError):
            return False
        return True

    def _routed(self, text, wrt, matrix, accept_numbers: bool = False) -> Verdict:
        """A matrix spec: index notation for index names, matrix notation for matrix names; when
        both readings are possible (``z_2``, ``b_2`` of a width-1 layer, or no ``--wrt``), the
        index reading first and the matrix reading when that one cannot be read."""
        if wrt is not None:
            as_matrix = matrix.is_target(wrt)
            # a gradient's name (dW_2, dz_1, d\hat{y}) is never an index name: no per-scalar derivation for it
            as_scalar = False if as_matrix and _MATRIX_GRADIENT.match(wrt) else self._scalar_wrt_ok(wrt)
            if as_matrix and not as_scalar:
                return matrix.verdict(text, wrt)
            if as_scalar and not as_matrix:
                return self._scalar_verdict(text, wrt, accept_numbers)
            if not as_scalar and not as_matrix:
                # report in the notation the name is written in: w^{1}_{9,9} is index notation
                if "^{" in wrt or "," in wrt:
                    return self._scalar_verdict(text, wrt, accept_numbers)
                return matrix.verdict(text, wrt)  # its message lists the gradient matrices
        scalar = self._scalar_verdict(text, wrt, accept_numbers)
        if scalar.verdict != UNPARSEABLE:
            return scalar
        matrix_verdict = matrix.verdict(text, wrt)
        if matrix_verdict.verdict != UNPARSEABLE:
            return matrix_verdict
        # neither reading works: report the one that read further into the answer
        return scalar if _progress(scalar) > _progress(matrix_verdict) else matrix_verdict

    def _check(self, text, wrt_name, accept_numbers: bool = False) -> Verdict:
        normalized = normalize(text)
        chain = parse_chain(normalized.text, resolve=self.names)
        sides = list(chain.sides)
        of = self.graph.output
        target_text = None
        first = sides[0].expr
        if isinstance(first, sympy.Derivative) and len(sides) > 1:
            of_sym, wrt_sym = first.expr, first.variables[0]
            if not isinstance(of_sym, sympy.Symbol) or (of_sym.name not in self.graph.by_name and of_sym.name != COST):
                raise ParseError(f"the left-hand side differentiates {of_sym}, which is not a node of the spec")
            if wrt_sym.name not in self.graph.by_name:
                raise ParseError(f"the left-hand side differentiates with respect to {wrt_sym}, "
                                 "which is not a node of the spec")
            if wrt_name is not None and wrt_sym.name != wrt_name:
                raise ParseError(f"the left-hand side is ∂{of_sym.name}/∂{wrt_sym.name} but --wrt is {wrt_name}")
            of, wrt_name = of_sym.name, wrt_sym.name
            target_text = sides[0].text
            sides = sides[1:]
        if wrt_name is None:
            raise ParseError("say what is differentiated: give --wrt NAME or start the answer with "
                             "\\frac{\\partial L}{\\partial NAME} = ...")
        reference = self.derivative(of, wrt_name)
        r_values = self.reference_values(of, wrt_name)
        note = self._note(of, lhs=target_text is not None)
        if normalized.note:
            note = normalized.note + ("; " + note if note else "")
        expected = LazyExpected(reference, self.shown)

        # each side against the reference (∂ factors read as the graph's derivatives)
        verdicts = []
        numbers: dict = {}   # side index -> (right value?, the value at the spec's numbers)
        n_used = sum(v is not None for v in r_values)
        for k, side in enumerate(sides):
            expr = self._replace_derivatives(side.expr)
            a_values = self._values(expr)
            if expr.is_Number and reference.free_symbols:
                found = self._spec_value_match(expr, of, wrt_name)
                if found is not None:
                    numbers[k] = found
                    verdicts.append((found[0], "the value at the spec's data and parameters", expr, (a_values, None)))
                    continue
            equal, where = self._equal_at_points(a_values, r_values)
            how = f"exact evaluation at {n_used} random rational points"
            if equal and self._symbolically_equal(expr, reference):
                how = "symbolic (confirmed by " + how + ")"
            elif equal and not self._points_decide(reference, r_values):
                # the points cannot tell: a reference that is 0 at every point, or a unit that
                # is on one side of its kink at every point; only a proof may say "correct"
                equal, how = None, "undecided: equal at the sample points, but no proof"
            verdicts.append((equal, how, expr, (a_values, where)))
        target = f"∂{of}/∂{wrt_name}"
        steps = self._steps(target_text, sides, verdicts)
        final = sides[-1].expr
        if final == sympy.Derivative(names.symbol(of), names.symbol(wrt_name), evaluate=False):
            return Verdict(INCORRECT, f"the answer only restates {target}; write out what it equals",
                           wrt=wrt_name, of=of, decided_by="symbolic", mistake="no_answer",
                           steps=steps, expected_source=expected, note=note)
        undecided = next((k for k, v in enumerate(verdicts) if v[0] is None), None)
        bad = next((k for k, v in enumerate(verdicts) if v[0] is False), None)
        if bad is None and undecided is None and numbers and len(numbers) == len(sides) and not accept_numbers:
            shown = numbers[0][1]
            return Verdict(INCORRECT, f"right value at the given numbers ({target} = {shown} at the spec's data and "
                           "parameters); write the derivative symbolically, as the chain rule gives it",
                           wrt=wrt_name, of=of, decided_by="the value at the spec's data and parameters",
                           mistake="numeric_value", steps=steps, expected_source=expected, note=note)
        if bad is None and undecided is not None:
            zero = all(r is None or r.is_zero() for r in r_values)
            why = (f"{target} is 0 at every sample point but not identically 0"
                   if zero else "some ReLU-type unit is on the same side of its kink at every sample point"
                   f" ({', '.join(getattr(self, 'uncovered', ()))})")
            return Verdict(INCORRECT, f"not shown to be {target}: your answer agrees with it at the sample points, "
                           f"but {why}, and no symbolic proof was found; write it in the form of the chain rule",
                           wrt=wrt_name, of=of, decided_by="undecided (equal at the sample points only)",
                           mistake="undecided", steps=steps, expected_source=expected, note=note)
        if bad is None:
            methods = []
            for v in verdicts:
                if v[1] not in methods:
                    methods.append(v[1])
            feedback = f"this is {target}"
            if final.has(sympy.Derivative):
                feedback += " (the last line still contains ∂ factors; they were read as the graph's derivatives)"
            return Verdict(CORRECT, feedback + ".", wrt=wrt_name, of=of, decided_by=" and ".join(methods),
                           steps=steps, expected_source=expected, note=note)
        ok, how, expr, (a_values, where) = verdicts[bad]
        if bad in numbers:
            mistake, counterexample = "wrong_value", None
            if len(sides) > 1:
                message = f"at the spec's data and parameters {target} = {numbers[bad][1]}"
            else:
                message = (f"{sides[bad].text.strip()} is not {target} at the spec's data and parameters, "
                           f"where {target} = {numbers[bad][1]}")
        else:
            mistake, message, counterexample = self._diagnose(expr, reference, a_values, r_values, of, wrt_name,
                                                              where)
        first_bad_step = next((st for st in steps if not st.equal), None)
        if first_bad_step is not None and len(steps) > 1:
            message = f"step {first_bad_step.index} ({first_bad_step.left} = {first_bad_step.right}) " \
                      f"is not an equality; " + message
        elif len(sides) > 1:
            message = f"line {bad + 1} ({sides[bad].text.strip()}) is not {target}: " + message
        if where is not None:
            at = (counterexample or {}).get("at")
            how = f"exact evaluation: differs from {target} at a random rational point"
            if at == "a point with small values":
                how = f"exact evaluation: differs from {target} at a random rational point and at the point shown"
        math = self._feedback_math(message, of, wrt_name) if mistake in _NAMED_FACTOR else ()
        return Verdict(INCORRECT, message, wrt=wrt_name, of=of, decided_by=how, mistake=mistake,
                       steps=steps, counterexample=counterexample, expected_source=expected, note=note, math=math)

    @cached_property
    def _spec_point(self):
        """The spec's own numbers as an exact point (its first example; the others for ∂J/∂θ),
        or None when the spec does not give every input, target and parameter."""
        d, g = self.d, self.graph
        try:
            examples = d.examples()
            params = d.parameter_values()
        except (SymbackpropError, AttributeError, TypeError, ValueError):
            return None
        if not examples:
            return None

        def leaves(example):
            return {s: Rational(v) for s, v in {**params, **example}.items()}

        def resolve(point, sym):
            node = g.by_name.get(sym.name)
            if node is None or node.definition is None:
                raise _Undefined(f"the spec gives no value for {sym}")
            return point.evaluate(node.definition)

        try:
            first = ExactPoint(leaves(examples[0]), seed=self.seed)
            batch = [first] + [first.sibling(leaves(e)) for e in examples[1:]]
        except (TypeError, ValueError):
            return None
        for p in batch:
            p.resolve = resolve
        first.examples = lambda: batch
        return first

    def spec_value(self, of: str, wrt: str):
        """∂of/∂wrt at the spec's data and parameters (a Value), or None."""
        point = self._spec_point
        if point is None:
            return None
        try:
            return point.evaluate(self.derivative(of, wrt))
        except (_Undefined, _Kink, ZeroDivisionError, OverflowError):
            return None

    def _spec_value_match(self, number, of, wrt):
        """(equal?, the value for display) for an answer that is a number; None when the spec's
        numbers do not give the value.  A decimal with k digits after the point matches a value
        that rounds to it (|value − number| ≤ ½·10^−k); any other number must be exact."""
        value = self.spec_value(of, wrt)
        if value is None:
            return None
        r = Rational(number)
        q = int(r.q)
        k = 0
        while q % 10 == 0:
            q //= 10
            k += 1
        if q == 1 and k > 0:
            ok = abs(value.num - _MP.mpf(r.p) / r.q) <= _MP.mpf(5) / 10 ** (k + 1) * (1 + _MP.mpf(10) ** -30)
        else:
            ok = value.equals(Value.rational(r))
        exact = value.constant()
        shown = readable_number(exact) if exact is not None and exact.q <= 20 else value.readable()
        return bool(ok), shown

    def _steps(self, target_text, sides, verdicts) -> tuple:
        """Each ``=`` of the chain: equal when both sides are ∂of/∂wrt, or neither is but they agree."""
        texts = ([target_text] if target_text is not None else []) + [side.text for side in sides]
        status = ([(True, None)] if target_text is not None else []) + [(v[0], v) for v in verdicts]
        steps = []
        for k in range(1, len(texts)):
            (ok_left, v_left), (ok_right, v_right) = status[k - 1], status[k]
            if ok_left and ok_right:
                equal = True
            elif ok_left != ok_right:
                equal = False
            else:
                equal = self._agree(v_left[2], v_right[2], v_left[3][0], v_right[3][0])
            steps.append(Step(k, texts[k - 1].strip(), texts[k].strip(), equal))
        return tuple(steps)

    def _agree(self, left, right, left_values, right_values) -> bool:
        """Two wrong lines that are still equal to each other (a correct step from a wrong line)."""
        if self._symbolically_equal(left, right):
            return True
        pairs = [(a, b) for a, b in zip(left_values, right_values) if a is not None or b is not None]
        return bool(pairs) and all(a is not None and b is not None and a.equals(b) for a, b in pairs)

    def _note(self, of, lhs: bool = True) -> str | None:
        n = self.d.n_examples
        if of == COST and COST not in self.graph.by_name:
            if self.d.reduction == "mean":
                return (f"read as ∂J/∂θ, the cost J = (1/n) Σ_e L_e over the spec's n = {n} "
                        f"example{'s' if n != 1 else ''} (its mean)")
            return f"read as ∂J/∂θ, the cost J = Σ_e L_e over the spec's n = {n} example{'s' if n != 1 else ''} (its sum)"
        if of == self.graph.output and self.d.reduction == "mean" and n > 1:
            return (f"checked against the per-example gradient ∂L/∂θ ({'the left-hand side' if lhs else 'no left-hand side: the lectures’ convention'}); "
                    f"the spec's mean over n = {n} examples makes ∂J/∂θ (1/{n}) times the sum of it over the examples")
        if of == self.graph.output and not lhs and self.graph.mode == "network":
            return "read as ∂L/∂θ for one example (no left-hand side)"
        return None

    # -- feedback ------------------------------------------------------------------------
    def _value_at(self, expr, i):
        """The exact value of ``expr`` at point i (None where undefined), memoized."""
        key = (expr, i)
        cache = self._point_values
        if key not in cache:
            p = self.points()[i]
            try:
                cache[key] = p.evaluate(expr)
            except (_Undefined, _Kink, ZeroDivisionError):
                cache[key] = None
            if len(cache) > 50000:  # pragma: no cover - a bound, not a policy
                cache.clear()
        return cache[key]

    @property
    def _point_values(self) -> dict:
        return self.__dict__.setdefault("_point_value_cache", {})

    def _everywhere(self, usable, test) -> bool:
        """``test(i)`` at the first usable point, then at the others (cheap rejection first)."""
        try:
            return all(test(i) for i in usable)
        except (ZeroDivisionError, _Undefined, _Kink):
            return False

    def _diagnose(self, expr, reference, a_values, r_values, of, wrt, where):
        pts = self.points()
        usable = [i for i, r in enumerate(r_values) if r is not None]
        defined = all(a_values[i] is not None for i in usable)
        target = f"∂{of}/∂{wrt}"
        if defined and usable:
            if all(r_values[i].is_zero() for i in usable) and self._symbolically_equal(reference, sympy.S.Zero):
                return ("counterexample", f"{target} is 0: {of} does not depend on {wrt} along any path",
                        self._counterexample(expr, reference, a_values, r_values, where, of))
            if not expr.free_symbols and reference.free_symbols:
                cx = self._counterexample(expr, reference, a_values, r_values, where, of)
                return ("counterexample", "your answer is a number; write the derivative as an expression in "
                        "the spec's symbols (it depends on "
                        + ", ".join(sorted(s.name for s in reference.free_symbols)) + ")", cx)
            nonzero = [i for i in usable if not r_values[i].is_zero()]
            # a constant ratio: sign, 1/n, a stray 2
            ratios = [(a_values[i] / r_values[i]).constant() for i in nonzero]
            if ratios and all(r is not None for r in ratios) and len(set(ratios)) == 1:
                return self._constant_message(ratios[0], of, wrt)
            # a named factor missing or extra: the local derivatives on the paths first
            for cand in self._candidates(of, wrt):
                found = self._factor_relation(cand.expr, a_values, r_values, usable)
                if found is None:
                    continue
                if found == "missing":
                    if cand.activation:
                        return ("activation_derivative_missing",
                                f"the activation's derivative is missing: multiply by {cand.label}", None)
                    return "missing_factor", f"missing the factor {cand.label}", None
                if found == "missing_neg":
                    return "missing_factor", f"missing the factor {cand.label}, and the sign is wrong", None
                if found == "extra":
                    if cand.activation and cand.expr in self._path_factor_exprs(of, wrt):
                        return ("activation_derivative_twice",
                                f"the activation's derivative {cand.label} is applied twice", None)
                    return "extra_factor", f"extra factor {cand.label}: it does not belong in {target}", None
                if found == "extra_neg":
                    return "extra_factor", f"extra factor {cand.label}, and the sign is wrong", None
            # any one symbol of the spec as the missing or extra factor
            for node in self.graph.nodes:
                found = self._factor_relation(node.symbol, a_values, r_values, usable)
                if found in ("missing", "missing_neg"):
                    sign = ", and the sign is wrong" if found == "missing_neg" else ""
                    return "missing_factor", f"missing the factor {self._name(node.name)}{sign}", None
                if found in ("extra", "extra_neg"):
                    sign = ", and the sign is wrong" if found == "extra_neg" else ""
                    return ("extra_factor", f"extra factor {self._name(node.name)}: it does not belong in {target}{sign}",
                            None)
            partial = self._partial_paths(expr, a_values, r_values, usable, of, wrt)
            if partial is not None:
                return "missing_path", partial, None
            swap = self._wrong_index(expr, r_values, usable)
            if swap is not None:
                wrote, meant = swap
                return ("wrong_index", f"wrong index: you wrote {self._name(wrote)} where {self._name(meant)} belongs",
                        None)
        cx = self._counterexample(expr, reference, a_values, r_values, where, of)
        return "counterexample", self._counterexample_message(cx, of, wrt), cx

    def _factor_relation(self, factor, a_values, r_values, usable):
        """'missing' when answer * factor = reference, 'extra' when answer = reference * factor (± variants)."""
        pts = self.points()
        # each relation as (left, right): missing means answer * factor = reference, and so on
        relations = {"missing": lambda a, r, f: (a * f, r), "missing_neg": lambda a, r, f: (a * f, -r),
                     "extra": lambda a, r, f: (a, r * f), "extra_neg": lambda a, r, f: (a, -r * f)}
        for name, rel in relations.items():
            def test(i, rel=rel):
                f = self._value_at(factor, i)
                if f is None:
                    return False
                left, right = rel(a_values[i], r_values[i], f)
                return left.equals(right)
            if self._everywhere(usable, test):
                return name
        return None

    def _path_factor_exprs(self, of, wrt) -> set:
        if of != self.graph.output:
            return set()
        return {f.expression for p in self.d.paths(wrt, limit=50) for f in p.factors}

    def _constant_message(self, c, of, wrt):
        target = f"∂{of}/∂{wrt}"
        n = self.d.n_examples
        if c == -1:
            return "sign", f"sign error: your answer is −1 times {target}", None
        if n > 1 and c == Rational(1, n):
            return ("constant_factor", f"constant factor off: your answer has the batch mean's 1/n = 1/{n}; "
                    f"{target} per example (the lectures' convention) has no 1/n", None)
        if n > 1 and c == Rational(-1, n):
            return ("constant_factor", f"constant factor off: your answer has −1/n = −1/{n}; the per-example "
                    f"{target} has neither the 1/n nor the minus sign", None)
        if c == 2:
            why = ("; with the ½ in ½(y − ŷ)² the power rule's 2 cancels"
                   if self.graph.loss == "half_squared_error" and of == self.graph.output else "")
            return "constant_factor", f"constant factor off: a stray 2 (your answer is 2 times {target}{why})", None
        if c == Rational(1, 2):
            return ("constant_factor", f"constant factor off: a factor 2 is missing (your answer is ½ times {target}; "
                    "the power rule brings down the exponent 2)", None)
        if c == 0:
            return "counterexample", f"your answer is 0 but {target} is not", None
        return "constant_factor", f"constant factor off: your answer is {_lecture_number(c)} times {target}", None

    def _candidates(self, of, wrt) -> list:
        """Factors the feedback can name: the local derivatives on the paths from wrt to of (memoized)."""
        cache = self.__dict__.setdefault("_candidate_cache", {})
        if (of, wrt) not in cache:
            cache[(of, wrt)] = self._make_candidates(of, wrt)
        return cache[(of, wrt)]

    def _name(self, name: str) -> str:
        """A node's name as the lectures write it: ŷ and y for the output and target, else as it is."""
        return _plain(names.symbol(name), self.shown) if name in self.shown else name

    def _feedback_math(self, message: str, of, wrt) -> tuple:
        """(text, LaTeX) of the expressions the message prints, for the web's typesetting."""
        out = []
        for cand in self._candidates(of, wrt):
            for t, x in cand.math:
                if t in message and (t, x) not in out:
                    out.append((t, x))
        return tuple(out)

    def _make_candidates(self, of, wrt) -> list:
        out: list[_Candidate] = []
        seen = set()
        g = self.graph
        if of == g.output:
            paths = self.d.paths(wrt, limit=50)
            factors = [f for p in paths for f in p.factors]
        else:
            factors = []
        from ..derivation.chain_rule import local_derivative

        if not factors and of != g.output:
            for n in g.nodes:
                for p in n.parents:
                    factors.append(local_derivative(g, n.name, p))
        for f in factors:
            expr = f.expression
            if expr in seen or expr.is_Number:
                continue
            seen.add(expr)
            child = g.by_name[f.child]
            is_act = child.kind == "activation"
            shown = _plain(expr, self.shown)
            math = [(shown, _tex(expr, self.shown))]
            edge = f"(∂{_plain(names.symbol(f.child), self.shown)}/∂{_plain(names.symbol(f.parent), self.shown)})"
            label = f"{shown} {edge}"
            if is_act:
                act = {"sigmoid": "σ", "tanh": "tanh", "relu": "ReLU"}.get(child.activation, child.activation)
                head = f"{act}′({_plain(names.symbol(f.parent), self.shown)})"
                tex_head = {"σ": r"\sigma", "ReLU": r"\operatorname{ReLU}"}.get(act, rf"\operatorname{{{act}}}") \
                    + f"'({_tex(names.symbol(f.parent), self.shown)})"
                label = f"{head} = {shown} {edge}"
                math = [(f"{head} = {shown}", f"{tex_head} = {math[0][1]}")]
            out.append(_Candidate(expr, label, is_act, tuple(math)))
        # the loss factor ∂L/∂ŷ as one piece
        return out[:40]

    def _wrong_index(self, expr, r_values, usable):
        """(wrote, meant) when swapping one indexed symbol of the answer for another gives the reference."""
        symbols = sorted((s for s in expr.free_symbols if s.name in self.graph.by_name), key=lambda s: s.name)
        tried = 0
        for s in symbols:
            parts = names.split_indexed(s.name)
            if parts is None:
                continue
            family = [n for n in self.graph.nodes if n.name != s.name
                      and (names.split_indexed(n.name) or ("",))[0] == parts[0]]
            for other in family:
                tried += 1
                if tried > 80:
                    return None
                swapped = expr.xreplace({s: other.symbol})

                def test(i, swapped=swapped):
                    v = self._value_at(swapped, i)
                    return v is not None and v.equals(r_values[i])

                if self._everywhere(usable, test):
                    return s.name, other.name
        return None

    def _partial_paths(self, expr, a_values, r_values, usable, of, wrt):
        """A message when the answer sums only some of the paths of influence (the multivariable chain rule)."""
        if of != self.graph.output:
            return None
        paths = self.d.paths(wrt, limit=12)
        if len(paths) < 2 or len(paths) > 8:
            return None
        import itertools

        for size in range(1, len(paths)):
            for subset in itertools.combinations(range(len(paths)), size):
                def test(i, subset=subset):
                    vals = [self._value_at(paths[k].product, i) for k in subset]
                    return all(v is not None for v in vals) and sum(vals[1:], vals[0]).equals(a_values[i])

                if self._everywhere(usable, test):
                    missing = [paths[k] for k in range(len(paths)) if k not in subset]
                    shown = "; ".join(" → ".join(self._name(n) for n in p.nodes) for p in missing)
                    return (f"only {size} of the {len(paths)} paths of influence are summed "
                            f"(the chain rule adds every path); missing: {shown}")
        return None

    def _friendly_points(self) -> list:
        """Points with small friendly values (½, −¾, ⅖, …; never 0 or ±1) where no sigmoid
        saturates, for a counterexample a person can follow; built once, only when needed."""
        cached = self.__dict__.get("_friendly_cache")
        if cached is not None:
            return cached
        out = []
        g = self.graph
        leaves = [n for n in g.nodes if n.is_leaf]
        k = len(FRIENDLY)
        for shift in range(6):
            values = {}
            for i, n in enumerate(leaves):
                values[n.symbol] = FRIENDLY[(i * (2 * shift + 1) + shift) % k]
            targets = [n.symbol for n in leaves if n.kind == "target"] if g.mode == "network" else []
            if targets and g.loss == "cross_entropy":
                weights = [1 + (i + shift) % 3 for i in range(len(targets))]
                values.update({t: Rational(w, sum(weights)) for t, w in zip(targets, weights)})
            elif targets and g.loss == "bce":
                values.update({t: (Rational(1, 2), Rational(1, 4), Rational(3, 4))[(i + shift) % 3]
                               for i, t in enumerate(targets)})
            point = ExactPoint(values, seed=1000 + shift)
            try:
                for n in g.nodes:
                    if not n.is_leaf:
                        point.values[n.symbol] = point.evaluate(n.definition)
            except (_Undefined, _Kink, ZeroDivisionError, OverflowError):
                continue
            out.append(point)
        self.__dict__["_friendly_cache"] = out
        return out

    def _friendly_counterexample(self, expr, reference):
        """(point, answer value, reference value) at the first friendly point where both are
        defined and differ, or None."""
        for p in self._friendly_points():
            try:
                r = p.evaluate(reference)
            except (_Undefined, _Kink, ZeroDivisionError, OverflowError, TypeError, AttributeError):
                continue
            try:
                a = p.evaluate(expr)
            except (_Undefined, _Kink, ZeroDivisionError, OverflowError, TypeError, AttributeError):
                continue   # undefined there: the random point that decided explains it better
            if not a.equals(r):
                return p, a, r
        return None

    def _counterexample(self, expr, reference, a_values, r_values, where, of=None):
        """The point where the answer differs, with both values: a friendly point (small fractions)
        when the answer differs there too, else the random sample point that decided."""
        if not self.lazy and of != COST and not expr.has(example_sum) and not reference.has(example_sum):
            found = self._friendly_counterexample(expr, reference)
            if found is not None:
                p, a, r = found
                leaves = {n.name: p.values[n.symbol] for n in self.graph.nodes if n.is_leaf}
                return self._cx_dict(leaves, a, r, "a point with small values")
        pts = self.points()
        idx = where
        if idx is None:
            idx = next((i for i, (a, r) in enumerate(zip(a_values, r_values)) if r is not None), 0)
        p = pts[idx]
        if self.lazy:
            shown = sorted((s for s in (expr.free_symbols | reference.free_symbols) if s.name in self.graph.by_name),
                           key=lambda s: s.name)[:12]
            leaves = {}
            for s in shown:
                try:
                    leaves[s.name] = p.evaluate(s)
                except (_Undefined, _Kink, ZeroDivisionError):
                    pass
        else:
            leaves = {n.name: p.values[n.symbol] for n in self.graph.nodes if n.is_leaf}
        return self._cx_dict(leaves, a_values[idx], r_values[idx], "a random sample point")

    def _cx_dict(self, leaves, a, r, which) -> dict:
        shown_names = self.shown
        return {
            "point": {k: v.display() for k, v in leaves.items()},
            "answer": None if a is None else a.display(),
            "expected": None if r is None else r.display(),
            "at": which,
            "shown": {
                "point": {_plain(names.symbol(k), shown_names) if k in shown_names else k: v.readable()
                          for k, v in leaves.items()},
                "answer": None if a is None else a.readable(),
                "expected": None if r is None else r.readable(),
            },
        }

    def _counterexample_message(self, cx, of, wrt):
        shown = cx["shown"]
        point = ", ".join(f"{k} = {v}" for k, v in shown["point"].items())
        where = f"at {cx['at']} ({point})" if point else f"at {cx['at']}"
        if shown["answer"] is None:
            return f"your answer is undefined {where}, where ∂{of}/∂{wrt} = {shown['expected']}"
        return (f"not equal to ∂{of}/∂{wrt}: {where} your answer is {shown['answer']} "
                f"but ∂{of}/∂{wrt} = {shown['expected']}")


# ---------------------------------------------------------------------------------------
# Names an answer may use


def answer_names(derivation) -> dict:
    r"""Every spelling an answer may use, as canonical name -> SymPy symbol.

    The graph's nodes and aliases (``a^{1}_{j}`` = x_j, ``yhat`` = a^{L}_{1}), plus the
    lectures' other spellings: ``\hat{y}_i``, ``y_i`` (example i), ``x^{j}_{i}`` (feature j of
    example i, as in x_i^1), ``a^{L}_{k}``/``z^{L}_{k}``, the matrix form's names for
    width-1 layers (``z_2`` = z^{3}_{1} in a 2-2-1 network), and ``n`` (number of examples)
    when no node is called n.
    """
    g = derivation.graph
    out: dict = {n.name: n.symbol for n in g.nodes}
    for alias, canonical in g.aliases:
        out.setdefault(alias, names.symbol(canonical))

    def add(alias, canonical):
        if canonical in g.by_name:
            out.setdefault(alias, names.symbol(canonical))

    if g.mode == "network":
        depth = len(g.layers)
        outputs = [n.name for n in g.outputs]
        for k, name in enumerate(outputs, start=1):
            add(f"yhat_{{{k}}}", name)
            add(f"a^{{L}}_{{{k}}}", name)
            add(f"z^{{L}}_{{{k}}}", names.pre_activation(depth, k))
            add(f"y_{{{k}}}", names.target(k))
        if len(outputs) == 1:
            add("yhat_{i}", outputs[0])
            add("yhat", outputs[0])
            add("y_{i}", names.target(1))
            add("y", names.target(1))
            add("a^{L}", outputs[0])
            add("z^{L}", names.pre_activation(depth, 1))
        for j in range(1, g.layers[0] + 1):
            add(f"x^{{{j}}}_{{i}}", names.feature(j))
            add(f"a^{{1}}_{{{j}}}", names.feature(j))
        # one bias per layer (the widely read step-by-step example's b1, b2): b_m = b^{m}
        if g.shared_biases:
            for m in range(1, depth):
                add(f"b_{{{m}}}", names.shared_bias(m))
        # matrix notation for width-1 layers: z_m, a_m (layer m + 1), b_m
        for m in range(1, depth):
            if g.layers[m] == 1:
                add(f"z_{{{m}}}", names.pre_activation(m + 1, 1))
                add(f"a_{{{m}}}", names.activation(m + 1, 1))
                add(f"b_{{{m}}}", names.bias(m, 1))
                if g.layers[m - 1] == 1:
                    add(f"w_{{{m}}}", names.weight(m, 1, 1))
                    add(f"W_{{{m}}}", names.weight(m, 1, 1))
    else:
        if "L" not in out:
            add("L", g.output)
    # the lectures' delta^{k}_{i} = ∂L/∂z^{k}_{i}
    for n in g.nodes:
        if n.kind == "pre_activation":
            parts = names.split_indexed(n.name)
            if parts is not None and parts[1] is not None:
                out.setdefault(names.activation(parts[1], parts[2][0]).replace("a^", "delta^", 1),
                               sympy.Derivative(names.symbol(g.output), n.symbol, evaluate=False))
    if "n" not in out:
        out["n"] = sympy.Integer(max(derivation.n_examples, 1))
    if "m" not in out:  # the batch size in courses that write m
        out["m"] = sympy.Integer(max(derivation.n_examples, 1))
    # the cost J = (1/n) Σ_e L_e (or Σ_e L_e): J, C, E, \mathcal{L}
    for word in COST_NAMES:
        if word not in out:
            out[word] = names.symbol(COST)
    return out


#: the cost's names in the courses' notations (J, C, E, \mathcal{L} read as ``mathcalL``)
COST = "J"
COST_NAMES = ("J", "C", "E", "mathcalL", "mathcalJ", "mathcalC")


@lru_cache(maxsize=16)
def _checker_for(path: str, mtime: float) -> AnswerChecker:
    from ..derivation.chain_rule import derive
    from ..spec.load import load_spec

    spec = load_spec(path)
    matrix = spec.network is not None and (spec.notation == "matrix" or _parameter_count(spec) > SCALAR_MAX_PARAMETERS)
    # matrix specs: the per-scalar derivation is built on first use (a matrix answer never needs it)
    return AnswerChecker(spec if matrix else derive(spec))


def checker_for_spec(path) -> AnswerChecker:
    """A cached checker for a spec file (re-read when the file changes)."""
    import os

    p = os.fspath(path)
    try:
        mtime = os.path.getmtime(p)
    except OSError:
        mtime = 0.0
    return _checker_for(p, mtime)


def check_answer(derivation_or_checker, text: str, wrt: str | None = None) -> Verdict:
    """Check one answer (see :class:`AnswerChecker`)."""
    checker = derivation_or_checker if isinstance(derivation_or_checker, AnswerChecker) \
        else AnswerChecker(derivation_or_checker)
    return checker.check(text, wrt)


def _lecture_number(c) -> str:
    """A constant as the lectures write it (½, −⅓, 3/2): render.printers, never sympy.sstr."""
    from ..render.printers import text

    return text(c)
