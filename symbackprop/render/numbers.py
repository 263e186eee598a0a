r"""Numbers as the faces show them: exact when they can be, rounded for display only, one rule for all.

:func:`format_number` is the one rounding of ``derive``'s text, its LaTeX documents, the worksheets
and the notebook view (docs/cli.md, docs/latex.md): ``decimals`` places, rounded half up and marked
inexact; a value whose decimal expansion ends within them exactly; a nonzero value that would show 0
with two significant digits instead (−0.00035, never −0.00); scientific from 10^15 on.
It reads no derivation (so the notebook view, imported by ``Derivation``, may use it).
"""
from __future__ import annotations

import re
from decimal import MAX_EMAX, MIN_EMIN, ROUND_HALF_UP, Context, Decimal

import sympy
from mpmath import libmp as mlib

from ..derivation.numeric import numeric
from ..errors import NotSupportedError, SymbackpropError


def format_number(value, decimals: int = 2, *, significant: int = 2) -> tuple[str, bool]:
    r"""An exact number as LaTeX, rounded for display only: ``(text, exact)``.

    >>> format_number(sympy.Integer(2))
    ('2', True)
    >>> format_number(sympy.Rational(-35, 1)), format_number(sympy.Rational(1, 10))
    (('-35', True), ('0.1', True))
    >>> from symbackprop.ops.functions import sigmoid
    >>> format_number(sigmoid(2))              # sigma(2) = 0.8807...
    ('0.88', False)
    >>> format_number(sympy.Rational(-61, 200000))   # would round to -0.00: keep 2 significant digits
    ('-0.00031', False)
    >>> format_number(sympy.exp(1000))        # from 10^15 on: scientific, ``decimals`` in the mantissa
    ('1.97 \\times 10^{434}', False)
    >>> format_number(sympy.oo)
    ('\\text{too large to show}', False)

    A value that is not a real number (1/0, the log of a negative number) raises NotSupportedError.
    """
    if isinstance(value, bool):
        raise TypeError("not a number")
    if isinstance(value, int):
        value = sympy.Integer(value)
    if decimals < 0 or decimals > MAX_DECIMALS:
        raise NotSupportedError(f"decimals={decimals}: allowed 0 to {MAX_DECIMALS}")
    if getattr(value, "is_Rational", False):
        p, q = int(value.p), int(value.q)
        if q == 1 and abs(p) < _EXACT_INTEGERS:
            return str(p), True
        k = _terminating_digits(q) if q != 1 else 0
        if k is not None and k <= decimals and abs(p) < _EXACT_INTEGERS * q:
            return _plain(_WIDE.divide(Decimal(p), Decimal(q)), k), True
        dec = _WIDE.divide(Decimal(p), Decimal(q))
    else:
        dec = _decimal(value)
        if dec is None:
            return (r"\text{too large to show}" if value is not sympy.S.NegativeInfinity and _sign(value) > 0
                    else r"-\text{too large to show}"), False
    return _round(dec, decimals, significant), False


MAX_DECIMALS = 12
#: the lectures' two decimals, the one default of every face (derive's text and LaTeX, the notebook view)
DEFAULT_DECIMALS = 2
_EXACT_INTEGERS = 10 ** 16      # integers (and terminating decimals) this large or more: scientific
_LARGE = Decimal(10) ** 15      # rounded values from here on: scientific
# wide exponent range and enough digits for any quantize below (never an InvalidOperation)
_WIDE = Context(prec=100, rounding=ROUND_HALF_UP, Emax=MAX_EMAX, Emin=MIN_EMIN)


def format_given(value, decimals: int = 2) -> str:
    """A given number (from the spec), exactly when its decimal expansion ends within 12 digits
    (0.0889 stays 0.0889), else rounded like :func:`format_number`."""
    if getattr(value, "is_Rational", False):
        k = _terminating_digits(int(value.q))
        if k is not None and k <= 12:
            return format_number(value, max(decimals, k))[0]
    return format_number(value, decimals)[0]


def _terminating_digits(q: int):
    """Digits after the point of p/q when the expansion ends (q = 2^a 5^b), else None."""
    a = b = 0
    while q % 2 == 0:
        q //= 2
        a += 1
    while q % 5 == 0:
        q //= 5
        b += 1
    return max(a, b) if q == 1 else None


_NUMERIC_MEMO: dict = {}
_PRECISION = 40


def _numeric(expr):
    """``expr`` evaluated to a 40-digit Float, each distinct subexpression once.

    The exact values of a network nest (a = sigma(w sigma(...) + ...)) and repeat; SymPy's own
    ``N`` evaluates a repeated subexpression again each time it meets it, which grows with the
    depth. ``symbackprop.derivation.numeric`` evaluates bottom-up in mpmath with 20 guard digits and falls
    back to ``sympy.N`` where a sum cancels (an exact 0 that is not written as 0 stays 0).
    """
    hit = _NUMERIC_MEMO.get(expr)
    if hit is not None:
        return hit
    val = numeric(expr, _PRECISION)
    if len(_NUMERIC_MEMO) > 200_000:
        _NUMERIC_MEMO.clear()
    _NUMERIC_MEMO[expr] = val
    return val


def _not_real(value, f) -> NotSupportedError:
    if f is sympy.zoo:
        what = "undefined (a division by zero)"
    elif f is sympy.nan or f is None:
        what = "undefined (not a number, e.g. 0 times infinity)"
    else:
        try:
            re, im = (format_number(sympy.Float(t, 20), 4)[0] for t in f.as_real_imag())
            what = f"not a real number ({re} + {im}i: e.g. the log or square root of a negative number)"
        except (SymbackpropError, TypeError, ValueError):
            what = "not a real number"
    return NotSupportedError(f"a value is {what}, so it cannot be shown as a real number; "
                             "choose data inside the functions' domains")


def _sign(value) -> int:
    f = _numeric(value)
    return -1 if f is sympy.S.NegativeInfinity or (getattr(f, "is_negative", False)) else 1


def _decimal(value) -> Decimal | None:
    """``value`` as a Decimal (None for an overflow: ±oo); NotSupportedError when it is not real."""
    if getattr(value, "is_Float", False):  # a computed value (Evaluation): its digits, directly
        return Decimal(mlib.to_str(value._mpf_, _PRECISION))
    f = _numeric(value)
    if f is sympy.oo or f is sympy.S.NegativeInfinity:
        return None
    if not (getattr(f, "is_Number", False) and f.is_real and f.is_finite):
        raise _not_real(value, f)
    if f.is_Rational:
        return _WIDE.divide(Decimal(int(f.p)), Decimal(int(f.q)))
    try:
        dec = Decimal(str(f))
    except ArithmeticError:
        return None
    if dec.is_infinite() or dec.adjusted() > MAX_EMAX // 2 or dec.adjusted() < MIN_EMIN // 2:
        return None if dec.adjusted() > 0 else Decimal(0)
    return dec


def _plain(dec: Decimal, k: int) -> str:
    s = f"{dec:.{k}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _scientific(dec: Decimal, significant: int) -> str:
    """m \\times 10^{e} with ``significant`` digits in m (rounded half up)."""
    exponent = dec.adjusted()
    mantissa = _WIDE.quantize(_WIDE.scaleb(dec, -exponent), Decimal(1).scaleb(1 - significant))
    if abs(mantissa) >= 10:
        mantissa, exponent = _WIDE.divide(mantissa, Decimal(10)), exponent + 1
    return f"{mantissa:.{significant - 1}f} \\times 10^{{{exponent}}}"


def _round(dec: Decimal, decimals: int, significant: int) -> str:
    if dec.copy_abs() >= _LARGE:
        return _scientific(dec, decimals + 1)
    q = _WIDE.quantize(dec, Decimal(1).scaleb(-decimals))
    if q == 0 and dec != 0:
        exponent = dec.adjusted()
        if exponent < -4:  # 0.0000096 is easier to read as 9.6 x 10^{-6}
            return _scientific(dec, significant)
        places = -exponent + significant - 1
        q = _WIDE.quantize(dec, Decimal(1).scaleb(-places))
        return f"{q:.{places}f}"
    s = f"{q:.{decimals}f}"
    return s[1:] if s.startswith("-") and Decimal(s) == 0 else s


def _shown(text: str) -> Decimal | None:
    """The number a formatted text shows (``1.2 \\times 10^{-5}`` too); None for text that is no number."""
    m = re.fullmatch(r"(-?[0-9.]+)(?: \\times 10\^\{(-?[0-9]+)\})?", text)
    if not m:
        return None
    return Decimal(m.group(1)).scaleb(int(m.group(2) or 0), _WIDE)


def _distinguishing(new, old, decimals: int) -> tuple[str, bool]:
    """``new`` shown with enough decimals that it visibly differs from ``old`` (for updates).

    At most :data:`MAX_DECIMALS` decimals: a step too small to show there is written
    ``1.000000000000\\ (\\text{unchanged at 12 decimals})``. Never raises for a real ``new``.
    """
    text, exact = format_number(new, decimals)
    if exact or new == old:
        return text, exact
    try:
        old_dec = _decimal(old)
    except NotSupportedError:
        return text, exact
    if old_dec is None:
        return text, exact
    for places in range(decimals, MAX_DECIMALS + 1):
        text, exact = format_number(new, places)
        shown = _shown(text)
        if exact or shown is None or shown != _WIDE.quantize(old_dec, Decimal(1).scaleb(-places)):
            return text, exact
    return f"{text}\\ (\\text{{unchanged at {MAX_DECIMALS} decimals}})", False


def _paren(text: str) -> str:
    """A number as a factor: negative numbers and powers of ten in parentheses."""
    return f"({text})" if text.startswith("-") or "\\times" in text or "\\text" in text else text
