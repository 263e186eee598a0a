r"""Feedback both readers give in the same words: a wrong answer that is a constant times the right one.

Takes the constant c (answer = c · the gradient, exactly at every sample point) and gives the mistake
and its sentence in the lectures' terms: a sign error, the batch mean's 1/n, a stray 2 (the power
rule's 2 that the ½ of ½(y − ŷ)² cancels), a missing 2, or c itself (½, −⅓, 3/2).
"""
from __future__ import annotations

import sympy
from sympy import Rational

from ..errors import SymbackpropError

from .verdict import _lecture_number


def constant_factor_message(c, target: str, *, n: int, n_shown, per_example: str, per_example_short: str,
                            half_squared: bool, cost: str | None = None, written: set | None = None) -> tuple:
    """(mistake, message) for an answer that is ``c`` times ``target``.

    ``n`` is the batch size the ratio 1/n is read against and ``n_shown`` the spec's (printed
    ``1/n = 1/4``; None prints ``1/n``); ``per_example`` and ``per_example_short`` name the per-example convention the
    reader checks against; ``half_squared``: the loss is ½(y − ŷ)² (then a stray 2 is explained).
    ``cost``: the target is the cost J, "mean" or "sum" of the per-example losses (the message says
    which); ``written``: the rational factors the answer writes (None: unknown).  With n = 2 a ratio ½
    is a missing power-rule 2 or an extra 1/n, and 2 a stray 2 or the mean's missing 1/n: the answer's
    own numbers decide where they can (an answer that writes no 1/n has no extra 1/n); where both
    readings fit, the message gives both.
    """
    n_text = f"1/n = 1/{n_shown}" if n_shown else "1/n"
    j_text = ""
    if cost == "mean":
        j_text = f"; J is the mean (1/n) Σ_e L_e over the {f'n = {n_shown} ' if n_shown else ''}examples"
    elif cost == "sum":
        j_text = f"; J is the sum Σ_e L_e over the {f'n = {n_shown} ' if n_shown else ''}examples (no 1/n)"
    has_1_over_n = written is None or Rational(1, n) in written or Rational(1, n * n) in written
    if c == -1:
        return "sign", f"sign error: your answer is −1 times {target}{j_text}"
    if n > 1 and c == Rational(1, n):
        # an extra 1/n: the answer must write one (twice, for the mean's J, which has one)
        extra_mean = (written is None or (Rational(1, n * n) in written if cost == "mean" else has_1_over_n))
        power = c == Rational(1, 2)
        if power and extra_mean and written is not None and 2 in written:   # it writes its 2: the 1/n is extra
            power = False
        if power and not extra_mean:
            return ("constant_factor", f"constant factor off: a factor 2 is missing (your answer is ½ times {target}; "
                    f"the power rule brings down the exponent 2){j_text}")
        if power:
            return ("constant_factor", f"constant factor off: your answer is ½ times {target}; with n = 2 that is either "
                    "a missing factor 2 (the power rule brings down the exponent 2) or the batch mean's "
                    f"{n_text}, which {per_example_short if cost is None else target} does not have{j_text}")
        return ("constant_factor", f"constant factor off: your answer has the batch mean's {n_text}; "
                f"{per_example} has no 1/n" if cost is None else
                f"constant factor off: your answer has the mean's {n_text} twice{j_text}")
    if n > 1 and c == Rational(-1, n):
        return ("constant_factor", f"constant factor off: your answer has −{n_text.replace('= 1/', '= −1/')}; {per_example_short} "
                "has neither the 1/n nor the minus sign")
    if n > 1 and c == n and cost == "mean":
        missing_mean = written is None or Rational(1, n) not in written
        stray = c == 2 and (written is None or not missing_mean)
        if missing_mean and not stray:
            return ("constant_factor", f"constant factor off: the mean's 1/n is missing (your answer is n = {n} times "
                    f"{target}){j_text}")
        if missing_mean:
            return ("constant_factor", f"constant factor off: your answer is 2 times {target}; with n = 2 that is either "
                    f"the mean's missing 1/n or a stray 2{j_text}")
    if c == 2:
        why = "; with the ½ in ½(y − ŷ)² the power rule's 2 cancels" if half_squared else ""
        return "constant_factor", f"constant factor off: a stray 2 (your answer is 2 times {target}{why}){j_text}"
    if c == Rational(1, 2):
        return ("constant_factor", f"constant factor off: a factor 2 is missing (your answer is ½ times {target}; "
                f"the power rule brings down the exponent 2){j_text}")
    if c == 0:
        return "counterexample", f"your answer is 0 but {target} is not"
    return "constant_factor", f"constant factor off: your answer is {_lecture_number(c)} times {target}{j_text}"


def written_constants(expr, text, n: int, names: dict) -> set | None:
    """The rational factors the answer writes (its 2, its 1/n as 1/n: ``\\frac{2}{n}`` with n = 2
    folds to 1, so the line is read again with n and m kept as a name); None when unknown."""
    if expr is None:
        return None
    out = _rational_factors(expr)
    if text is None or n < 2:
        return out
    from ..grammar.notation import normalize
    from ..grammar.parser import parse_chain

    batch = sympy.Symbol("n_batch", positive=True)
    try:
        again = parse_chain(normalize(text).text, resolve={**names, "n": batch, "m": batch}).sides[-1].expr
    except (SymbackpropError, RecursionError, ValueError, TypeError):  # a second reading only refines the message
        return out
    if any(e.is_Pow and e.base == batch and e.exp.is_negative for e in sympy.preorder_traversal(again)):
        out.add(Rational(1, n))
    out.update(_rational_factors(again))
    return out


def _rational_factors(expr) -> set:
    """The rational numbers an answer writes as factors or terms (its ½, its 2)."""
    out = set()
    for e in sympy.preorder_traversal(expr):
        if e.is_Mul or e.is_Add:
            out.update(a for a in e.args if a.is_Rational)
    return out
