r"""Exact numbers at a point: the field Q(e, π, exp(u_1), ..., log 2, ...) of the answer checker.

Takes a point (rational values of the inputs, targets and parameters) and gives the exact value of
any expression of the graph there (:class:`ExactPoint`), as a :class:`Value`: a rational exactly, else
its images under two random homomorphisms into GF(2^61 − 1) plus a 100-digit approximation used only
to read signs and to print.  Both readers (index and matrix answers) evaluate with it.
"""
from __future__ import annotations

import math
import random
from fractions import Fraction

import sympy
from mpmath.ctx_mp import MPContext
from sympy import Rational

from ..grammar.parser import example_sum
from ..ops import functions


NUMERIC_DIGITS = 100


class _Undefined(Exception):
    """The expression has no real value at this point (log of a non-positive number, 1/0)."""


class _Kink(Exception):
    """A sign cannot be read at this precision (a number too close to 0), so a ReLU-type function
    or a branch condition cannot be decided here."""


PRIME = (1 << 61) - 1       # residues live in GF(PRIME)
N_ASSIGNMENTS = 2           # independent random images of the transcendental atoms
_MP = MPContext()
_MP.dps = NUMERIC_DIGITS


def _residue(r: Rational) -> int:
    return (int(r.p) % PRIME) * pow(int(r.q) % PRIME, -1, PRIME) % PRIME


_RATIONAL_VALUES: dict = {}   # Rational -> Value (immutable; rationals recur at every point)


class Value:
    r"""An exact number of the field Q(e, π, exp(u_1), ..., log p, ...) at one point.

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
        if q is None and self.num == 0:
            # non-zero (its images are) but below the approximation's precision (1 − σ(234)):
            # 1/v has no approximation to read signs or print with
            raise _Kink()
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

    ``e`` and ``π`` are atoms; exp(u) of a non-rational u is an atom, exp(k u + c) its k-th power times
    exp(c); log of a rational is a sum of ``log p`` atoms over its primes; log(c · exp(u)^k) is
    k u + log c; sigmoid, tanh, softplus are rewritten through exp(±z) and log; ReLU-type
    functions, |v| and the branches of a Piecewise (Huber) read the sign, with the registry's
    values at 0 (:data:`_BY_SIGN`).  Two expressions are equal at the point when their values are.
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
            # exp(r) = e^k · exp(f)^±1 with k = r truncated toward 0 and the atom exp(|f|), so that
            # exp(−r) = 1/exp(r) holds exactly (sech z = 2/(e^z + e^−z) against tanh z at a rational z)
            r = v.q
            whole = int(r)
            value = self.e ** whole
            frac = r - whole
            if frac:
                atom = self._keyed_atom(("exp", abs(frac)), _MP.exp(_MP.mpf(abs(frac).p) / abs(frac).q))
                value = value * (atom if frac > 0 else 1 / atom)
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
        if e is sympy.pi:
            return self._keyed_atom(("pi",), _MP.pi)   # π: one more transcendental atom
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
        by_sign = _BY_SIGN.get(type(e))
        if by_sign is not None:
            z = self.evaluate(e.args[0])
            return by_sign(z, z.sign())
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
        holds = _CONDITIONS.get(type(cond))
        if holds is not None:
            return holds(self.evaluate(cond.lhs - cond.rhs).sign())
        raise _Undefined(f"cannot decide the condition {cond}")


#: functions read through the sign s of their argument v, with the registry's conventions at v = 0
#: (ReLU(0) = 0, ReLU′(0) = 1[0 > 0] = 0, leaky ReLU′(0) = 0.01, |0| = 0): an indicator such as
#: 1[a^{3}_{1} > 0] at a dead unit (a = 0 exactly) is 0, defined; only a derivative at a kink of the
#: graph (z = 0) is not, and the sample points are never there (``points.at_kink``)
_BY_SIGN = {
    functions.relu: lambda v, s: v if s > 0 else Value.rational(0),
    functions.step: lambda v, s: Value.rational(1 if s > 0 else 0),
    functions.leaky_relu: lambda v, s: v if s > 0 else functions.LEAKY_SLOPE * v,
    functions.leaky_step: lambda v, s: Value.rational(1 if s > 0 else functions.LEAKY_SLOPE),
    sympy.Abs: lambda v, s: v if s >= 0 else -v,
    sympy.sign: lambda v, s: Value.rational(s),
}

#: a branch condition lhs ⋛ rhs from the sign s of lhs − rhs, exactly (also on the boundary s = 0:
#: the Huber function's |r| ≤ 1 holds at r = 1)
_CONDITIONS = {
    sympy.StrictGreaterThan: lambda s: s > 0,
    sympy.GreaterThan: lambda s: s >= 0,
    sympy.StrictLessThan: lambda s: s < 0,
    sympy.LessThan: lambda s: s <= 0,
}
