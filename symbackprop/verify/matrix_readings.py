r"""What a matrix answer differentiates, and how it is read: its readings and their feedback.

Two readings of the target where the courses differ, and the answer's own words decide which are open:

- **∂L or ∂J.**  ``dW_2``, ``dz_2`` without a ∂ (as a left-hand side or ``--wrt``) are the slides'
  gradients of the summed per-example loss Σ_e L_e (dz_2 = ŷ − y) *or* the cost's, ∂J/∂W_2 = r ×
  those with J = r Σ_e L_e (r = 1/n for the mean; courses that write dW for ∂J/∂W, Ng's dW^{[2]} =
  (1/m) dZ^{[2]} A^{[1]T}).  ``\frac{\partial J}{\partial W_2}`` (also C, E) is J only,
  ``\frac{\partial L}{\partial W_2}`` L only, ``\mathcal{L}`` either (the cost in some courses, the
  per-example loss in Ng's).  Correct when the answer is one of the open readings, and the verdict
  names it; when it is neither, the feedback gives the more telling diagnosis and names the other.
- **The layout.**  An answer whose shapes fit only with examples as columns (X of features × examples,
  Ng's course) is read in that layout (:mod:`.matrix_columns`): every matrix transposed, the result
  compared transposed.  For a shared bias (one b_l per layer, a (1, 1) matrix) ``\sum dz_l`` is the
  sum over every entry, the examples and the layer's nodes.

A mixin of :class:`symbackprop.verify.matrix_reader.MatrixAnswerChecker`.
"""
from __future__ import annotations

import dataclasses
import re

from sympy import Rational

from ..derivation.matrix_form import MatMul, ONE, Ones, RowSum, Shape, walk
from ..errors import ParseError
from ..grammar.notation import normalize
from ..grammar.parser import _parse_tree, _sides
from .matrix_builder import _AnswerShapeError, _MatrixBuilder, _Side, _Target
from .matrix_columns import columns_reading
from .verdict import _lecture_number


class _MatrixReadings:
    """The readings of a matrix answer's target and of its sides."""

    def _readings(self, t: _Target, lhs: str, cost: bool, calligraphic: bool) -> tuple:
        """What the answer may mean it differentiates: the per-example (summed) loss L, the cost J, or
        either.

        ``lhs`` is ``"leibniz"`` (∂L/∂W_2, ∂J/∂W_2), ``"dname"`` (``dW_2`` or ``--wrt dW_2`` without a ∂:
        the slides' dW_2 = ∂L/∂W_2, or the cost's gradient ∂J/∂W_2 of courses that write dW for it) or
        ``"plain"`` (``--wrt W_2``: the slides' convention).  ``\\mathcal{L}`` is the cost in some courses
        and the per-example loss in others (Ng's).  Where J = L (a sum over one example, r = 1) one
        reading is left."""
        of = self.mats[t.of].text() if t.of in self.mats else t.mat.text()
        r = self.cost_factor()
        mean = self.md.reduction == "mean"
        loss, cost_word = ("𝓛 as the per-example loss, as in Ng's course, where J is the cost; ",
                           "𝓛 as the cost J; ") if calligraphic else ("", "")
        written = f"∂𝓛/∂{of}" if calligraphic else t.mat.text()
        per_example = _Reading("L", t.mat.text(), None, f"∂L/∂{of} ({loss}the slides' per-example gradient, no 1/n)",
                               written)
        includes = (f"the cost's gradient, which includes 1/n = {_lecture_number(r)}" if mean
                    else "the gradient of J = Σ_e L_e")
        whole = _Reading("J", f"∂J/∂{of}", r, f"∂J/∂{of} ({cost_word}{includes})", written)
        if calligraphic:
            readings = (whole, per_example)
        elif cost:
            readings = (whole,)
        elif lhs == "dname":
            readings = (per_example, whole)
        else:
            readings = (per_example,)
        return readings[:1] if r == 1 else readings

    def _wrt_says(self, wrt, calligraphic: bool) -> tuple:
        """(lhs kind, cost?, 𝓛?) of ``--wrt``: ``dW_2`` a gradient's name, ``\\frac{\\partial J}{\\partial W_2}``
        the cost's gradient, ``W_2`` or ``\\frac{\\partial L}{\\partial W_2}`` the slides'."""
        if wrt is None:
            return "plain", False, calligraphic
        if not _LEIBNIZ.search(wrt):
            return ("dname" if _D_NAME.match(wrt) else "plain"), False, calligraphic
        text, with_l = _as_cost_names(normalize(wrt, matrix=True).text)
        builder = _MatrixBuilder(text, self)
        try:
            self._build(text, _sides(_parse_tree(text))[0], builder=builder)
        except (ParseError, _AnswerShapeError):   # pragma: no cover - target_name has read it already
            return "leibniz", False, calligraphic
        return "leibniz", builder.cost, calligraphic or with_l

    def cost_factor(self):
        """J = (1/n) Σ_e L_e with the mean (n the batch evaluated), Σ_e L_e with the sum."""
        return Rational(1, self.eval_sizes["n"]) if self.md.reduction == "mean" else Rational(1)

    def _cost_note(self, scale) -> str:
        if self.md.reduction == "mean":
            n = self.md.n_examples
            return (f"read as the gradient of the cost J = (1/n) Σ_e L_e (the spec's mean over "
                    f"{'n = ' + str(n) if n else 'the n'} examples): the slides' per-example gradient times 1/n")
        return "read as the gradient of the cost J = Σ_e L_e (the spec's sum over the examples)"

    def _alternatives(self, text: str, side: _Side, node, t: _Target, written: str = "") -> list:
        """The side's readings as the slides' matrix of the gradient's shape: as built, else with
        examples as columns (Ng's layout), or Σ over every entry for a shared bias: (expr, note)."""
        out = []
        expr = side.expr
        if expr is not None and expr.shape is not None and expr.shape.labels == t.mat.shape.labels:
            out.append((expr, None))
            return out
        if self._shared_bias(t) and expr is not None and expr.shape is not None and expr.shape.rows == ONE \
                and expr.shape.cols.label == f"N_{t.layer}" and not _ROWS_ONLY.search(side.text) \
                and any(isinstance(e, RowSum) for e in walk(expr)):
            total = MatMul(expr, Ones(Shape(expr.shape.cols, ONE)))
            out.append((total, f"Σ read as the sum over every entry (the examples and the layer's nodes), as the "
                               f"shared bias {self.mats[t.of].text()} needs"))
        if _NG_LAYOUT.search(written):   # Ng's own names: read in Ng's layout; the slides' names keep theirs
            columns = columns_reading(self, text, node)
            if columns is not None and columns.shape.labels == t.mat.shape.labels:
                out.append((columns, COLUMNS_NOTE))
        return out

    def columns_hint(self, text: str, node, t: _Target, refs, written: str = "") -> str | None:
        """For a wrong answer in the slides' names that is right with examples as columns (Ng's
        ``dz_2 a_1^T``): say so, since this spec's matrices put one example per row."""
        if _NG_LAYOUT.search(written):
            return None
        columns = columns_reading(self, text, node)
        if columns is None or columns.shape.labels != t.mat.shape.labels or not self._equal(self.values(columns), refs):
            return None
        return ("that order is right with examples as columns (as in Ng's course); this spec puts one example "
                "per row")

    def _shared_bias(self, t: _Target) -> bool:
        return self.md.shared_biases and t.of.startswith("b_")

    def _diagnose_reading(self, side: _Side, alternatives: list, t: _Target, refs, label, cost=None):
        """The diagnosis of one wrong side against one reading's reference: as built, and, when that
        only says the shapes do not fit, in the reading whose shapes do (examples as columns, Σ over
        every entry of a shared bias's gradient)."""
        found = self._diagnose(side, t, refs, label, cost)
        if found[0] != "shape_mismatch":
            return found
        for expr, why, values in alternatives:
            if why is None:
                continue
            other = _Side(side.text, expr=expr, values=values, tree=side.tree, source=side.source)
            mistake, message, decided, extra = self._diagnose(other, t, refs, label, cost)
            return mistake, f"{why}: {message}", decided, extra
        return found

    def _reading_note(self, readings, chosen) -> str | None:
        """What the verdict was checked against, in the note."""
        if len(readings) > 1:
            said = "either is accepted" if chosen is not None else "the answer is neither"
            return f"{readings[0].written} has two readings, {readings[0].why} and {readings[1].why}: {said}"
        if readings[0].of == "J":
            return self._cost_note(readings[0].scale)
        return self._note()

    def _correct_feedback(self, t: _Target, chosen, ambiguous: bool) -> str:
        of = self.mats[t.of].text() if t.of in self.mats else None
        if ambiguous:
            return f"this is {t.mat.text()}, read as {chosen.why}."
        if chosen.of == "J":
            return f"this is {chosen.label}, the gradient of the cost (the slides' {t.mat.text()} times {chosen.scale})."
        return f"this is {chosen.label}" + (f" (∂L/∂{of})" if of else "") + "."


@dataclasses.dataclass(frozen=True)
class _Reading:
    """One meaning of what a matrix answer differentiates: ``of`` is "L" (the slides' per-example
    gradients, of Σ_e L_e) or "J" (the cost's, ``scale`` = r times those); ``why`` says it for people."""

    of: str
    label: str
    scale: object
    why: str
    written: str = ""   # how the answer names the target (dz_2, ∂𝓛/∂W_2)


#: a left-hand side or ``--wrt`` written as a derivative (∂L/∂W_2, \frac{dL}{dW_2}, dL/dW_2)
_LEIBNIZ = re.compile(r"\\partial|∂|\\frac|/")

#: a gradient's name without a ∂ (dW_2, dz_2, dZ^{[2]}, d\hat{y})
_D_NAME = re.compile(r"\s*d\s*(?:[A-Za-z]|\\hat)")

#: a sum written over the rows only (Σ_rows, 1ᵀ M): for a shared bias, the sum over the nodes is still missing
_ROWS_ONLY = re.compile(r"rows|\\math(?:bf|bb)\s*\{?\s*1|𝟏")

#: an answer written in Ng's names (a bracketed layer, W^{[2]}, dZ^{[2]}, A^{[1]T}): examples may be columns
_NG_LAYOUT = re.compile(r"\^\s*\{?\s*\[")

#: the note of an answer read with examples as columns
COLUMNS_NOTE = ("read with examples as columns, as in Ng's course (X is features × examples; each matrix the "
                "slides' transposed)")

#: cost names as the normalization spells them -> the name the matrix reader knows (columns kept)
_CALLIGRAPHIC = {"mathcalL": "L", "mathcalJ": "J", "mathcalC": "C"}


def _as_cost_names(text: str) -> tuple:
    """``text`` with \\mathcal{L}, \\mathcal{J}, \\mathcal{C} (normalized to ``mathcalL``, ...) as
    L, J, C, padded to keep the columns, and whether an \\mathcal{L} was there (it has two readings)."""
    calligraphic = "mathcalL" in text
    for spelled, name in _CALLIGRAPHIC.items():
        text = re.sub(rf"(?<![A-Za-z]){spelled}(?![A-Za-z])", name.ljust(len(spelled)), text)
    return text, calligraphic


