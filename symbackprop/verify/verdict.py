r"""Verdicts of the answer checker: what one answer gets, for people and for programs.

Gives :class:`Verdict` (``correct``, ``incorrect`` or ``unparseable``, with feedback, the steps, the
counterexample and the expected answer printed lazily in the lectures' notation), the one-line verdicts
of answers that cannot be read or evaluated, and the printers feedback uses (never ``str(expr)``).
"""
from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass

import sympy

from ..errors import SymbackpropError


CORRECT, INCORRECT, UNPARSEABLE = "correct", "incorrect", "unparseable"


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
    (``symbolic (confirmed by exact evaluation at 6 random rational points)``, ``exact evaluation at 6 random
    rational points`` (``N_POINTS``, more where ReLU kinks need them), ``the value at the spec's data and parameters``); ``feedback`` is
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


def _plain(expr, shown: dict | None = None) -> str:
    """An expression as plain text in the lectures' notation (ŷ(1 − ŷ), ·, fractions; never ``*``);
    the registry's helper functions as the registry writes them (1[z > 0] for ReLU′): the text printer's."""
    from ..render.printers import text

    return text(expr, shown)


def _lecture_form(expr):
    """``expr`` with each s − s² written s(1 − s) as the lectures write σ′ = ŷ(1 − ŷ) (SymPy's own
    order prints ŷ − ŷ² or −ŷ² + ŷ), and s² − s as −s(1 − s); for printing only."""
    if not isinstance(expr, sympy.Basic) or not expr.has(sympy.Pow):
        return expr

    def logistic(e):
        if not e.is_Add or len(e.args) != 2 or len(e.free_symbols) != 1:
            return None
        s = next(iter(e.free_symbols))
        if sympy.expand(e - s * (1 - s)) == 0:
            return s * (1 - s)
        if sympy.expand(e + s * (1 - s)) == 0:
            return -s * (1 - s)
        return None

    return expr.replace(lambda e: logistic(e) is not None, logistic)


def _tex(expr, shown: dict | None = None) -> str:
    """An expression as LaTeX in the lectures' notation (``\\hat{y}(1 - \\hat{y})``)."""
    from ..render.printers import latex

    return latex(expr, shown)


def _lecture_number(c) -> str:
    """A constant as the lectures write it (½, −⅓, 3/2): render.printers, never sympy.sstr."""
    from ..render.printers import text

    return text(c)


def _as_written(text: str) -> str:
    """A normalized line with ``\\mathcal{L}`` written back (normalization spells it ``mathcalL`` and
    pads it to keep the columns)."""
    return _CALLIGRAPHIC.sub(lambda m: f"\\mathcal{{{m.group(1)}}}", text)


_CALLIGRAPHIC = re.compile(r"mathcal([A-Za-z])   ")


#: mistakes decided by the shapes alone: the same whichever of two readings (L or J) the answer means
SHAPE_MISTAKES = frozenset({"missing_transpose", "misplaced_transpose", "wrong_order", "shape_mismatch",
                            "missing_sum", "extra_sum"})


def _mistake_rank(mistake) -> int:
    """How much a mistake kind says: a named mistake (0), a constant factor (1), a bare counterexample,
    shape mismatch or undecided (2)."""
    return {"counterexample": 2, "shape_mismatch": 2, "undecided": 2, "constant_factor": 1}.get(mistake, 0)


def both_readings(first: str, mistake, message: str, second: str, other_mistake, other_message: str) -> str:
    """The feedback on an answer that is neither of two readings (∂L or ∂J; 𝓛 as L or as J), the more
    telling diagnosis ``message`` first: a shape mistake alone (it is the same in both readings); the
    second reading's diagnosis only where it names another mistake, else that the answer is not that
    either.  ``first``, ``second`` say each reading ("∂J/∂z_2 (the cost's gradient, …)")."""
    if {mistake, other_mistake} & SHAPE_MISTAKES:
        return message
    if other_mistake == mistake or _mistake_rank(other_mistake) == 2 or \
            {mistake, other_mistake} == {"constant_factor"}:
        return f"read as {first}: {message}; nor is it {second}"
    return f"read as {first}: {message}; read as {second}: {other_message}"
