r"""Numbers of exact expressions, fast, for display and sanity checks (never for deciding equality).

The exact forward pass of a worksheet variant nests: z^{3}_{1} = 1 + 2σ(2), a^{3}_{1} = σ(1 + 2σ(2)),
and every gradient repeats those subtrees. ``sympy.N`` evaluates such a value from scratch at
each level and retries at higher precision, so one number can cost tens of milliseconds.
``numeric(value, digits)`` evaluates bottom-up in mpmath at ``digits + 20`` working digits, each
distinct subexpression once. Where it cannot vouch for the digits — a sum that cancels below
10^-(digits + 5) of its largest term (an exact 0 looks like that), or a function it does not
know — it returns ``sympy.N(value, digits)`` instead, so the result is what ``sympy.N`` gives.
``is_finite_number`` needs no digits at all: a sum of finite terms is finite, cancelling or not.
"""
from __future__ import annotations

import mpmath
import sympy
from sympy import Add, Mul, Pow

from ..ops import functions


class _Fallback(Exception):
    """The fast evaluation cannot vouch for the result: use sympy.N."""


def _ev(e, memo: dict, guard):
    """The mpmath value of ``e``; ``guard`` (or None: no check) bounds the cancellation of a sum."""
    hit = memo.get(e)
    if hit is not None:
        return hit
    if e.is_Rational:
        r = mpmath.mpf(int(e.p)) / int(e.q)
    elif e.is_Float:
        r = mpmath.mpf(e._mpf_)
    elif e is sympy.E:
        r = mpmath.e
    elif isinstance(e, Add):
        terms = [_ev(a, memo, guard) for a in e.args]
        r = mpmath.fsum(terms)
        if guard is not None:
            big = max(abs(t) for t in terms)
            if big != 0 and abs(r) < big * guard:
                raise _Fallback()
    elif isinstance(e, Mul):
        r = mpmath.fprod([_ev(a, memo, guard) for a in e.args])
    elif isinstance(e, Pow):
        base, power = _ev(e.base, memo, guard), _ev(e.exp, memo, guard)
        if base == 0 and power < 0 or base < 0 and not e.exp.is_Integer:
            raise _Fallback()
        r = mpmath.power(base, power)
    elif isinstance(e, sympy.exp):
        r = mpmath.exp(_ev(e.args[0], memo, guard))
    elif isinstance(e, sympy.log):
        arg = _ev(e.args[0], memo, guard)
        if arg <= 0:
            raise _Fallback()
        r = mpmath.log(arg)
    elif isinstance(e, sympy.tanh):
        r = mpmath.tanh(_ev(e.args[0], memo, guard))
    elif isinstance(e, functions.sigmoid):
        r = 1 / (1 + mpmath.exp(-_ev(e.args[0], memo, guard)))
    elif isinstance(e, functions.softplus):
        r = mpmath.log1p(mpmath.exp(_ev(e.args[0], memo, guard)))
    else:
        raise _Fallback()
    memo[e] = r
    return r


def _as_expr(value):
    if isinstance(value, bool):
        raise TypeError("not a number")
    if isinstance(value, int):
        return sympy.Integer(value)
    if isinstance(value, float):
        return sympy.Float(value)
    return value


def numeric(value, digits: int = 15):
    """``sympy.N(value, digits)``, computed bottom-up with shared subexpressions evaluated once."""
    value = _as_expr(value)
    if getattr(value, "is_Rational", False) or getattr(value, "is_Float", False):
        return sympy.N(value, digits)
    try:
        with mpmath.workdps(digits + 20):
            r = _ev(value, {}, mpmath.mpf(10) ** (-(digits + 5)))
            if not mpmath.isfinite(r):
                raise _Fallback()
            return sympy.Float(r, digits)
    except (_Fallback, ZeroDivisionError, ValueError, TypeError, OverflowError, AttributeError):
        return sympy.N(value, digits)


def is_finite_number(value) -> bool:
    """Whether ``value`` is a finite real number (one bottom-up pass; sympy.N when unsure)."""
    value = _as_expr(value)
    if getattr(value, "is_Rational", False):
        return True
    try:
        with mpmath.workdps(30):
            r = _ev(value, {}, None)
        return isinstance(r, mpmath.mpf) and bool(mpmath.isfinite(r))
    except (_Fallback, ZeroDivisionError, ValueError, TypeError, OverflowError, AttributeError):
        pass
    try:
        f = sympy.N(value, 20)
    except (TypeError, ValueError, ZeroDivisionError):
        return False
    return bool(getattr(f, "is_Number", False) and f.is_real and f.is_finite)
