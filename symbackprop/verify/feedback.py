r"""Feedback both readers give in the same words: a wrong answer that is a constant times the right one.

Takes the constant c (answer = c · the gradient, exactly at every sample point) and gives the mistake
and its sentence in the lectures' terms: a sign error, the batch mean's 1/n, a stray 2 (the power
rule's 2 that the ½ of ½(y − ŷ)² cancels), a missing 2, or c itself (½, −⅓, 3/2).
"""
from __future__ import annotations

from sympy import Rational

from .verdict import _lecture_number


def constant_factor_message(c, target: str, *, n: int, n_shown, per_example: str, per_example_short: str,
                            half_squared: bool) -> tuple:
    """(mistake, message) for an answer that is ``c`` times ``target``.

    ``n`` is the batch size the ratio 1/n is read against and ``n_shown`` the spec's (printed
    ``1/n = 1/4``; None prints ``1/n``); ``per_example`` and ``per_example_short`` name the per-example convention the
    reader checks against; ``half_squared``: the loss is ½(y − ŷ)² (then a stray 2 is explained).
    """
    n_text = f"1/n = 1/{n_shown}" if n_shown else "1/n"
    if c == -1:
        return "sign", f"sign error: your answer is −1 times {target}"
    if n > 1 and c == Rational(1, n):
        return ("constant_factor", f"constant factor off: your answer has the batch mean's {n_text}; "
                f"{per_example} has no 1/n")
    if n > 1 and c == Rational(-1, n):
        return ("constant_factor", f"constant factor off: your answer has −{n_text.replace('= 1/', '= −1/')}; {per_example_short} "
                "has neither the 1/n nor the minus sign")
    if c == 2:
        why = "; with the ½ in ½(y − ŷ)² the power rule's 2 cancels" if half_squared else ""
        return "constant_factor", f"constant factor off: a stray 2 (your answer is 2 times {target}{why})"
    if c == Rational(1, 2):
        return ("constant_factor", f"constant factor off: a factor 2 is missing (your answer is ½ times {target}; "
                "the power rule brings down the exponent 2)")
    if c == 0:
        return "counterexample", f"your answer is 0 but {target} is not"
    return "constant_factor", f"constant factor off: your answer is {_lecture_number(c)} times {target}"
