r"""Shape mistakes of a matrix answer (a missing transpose, the wrong order, with the shapes
that do not fit and the fix confirmed by evaluation) and the counterexample entry of a wrong value.

A mixin of :class:`symbackprop.verify.matrix_reader.MatrixAnswerChecker`.
"""
from __future__ import annotations

import numpy as np
import sympy

from ..derivation.matrix_form import MatMul, ONE, Ones, RowSum, Shape, Transpose
from ..errors import ParseError, SpecError
from .exact import readable_number
from .matrix_builder import (
    _AnswerShapeError,
    _ELEMENTWISE_FIXES,
    _MatrixBuilder,
    _PRODUCT_FIXES,
    _Side,
    _Target,
)
from .matrix_eval import _first_difference, _shape_text, _untranspose


class _MatrixShapes:
    """Shape mistakes and counterexamples of matrix answers."""

    def _shapes_json(self, exc: _AnswerShapeError) -> dict:
        return {"operation": exc.error.operation,
                "left": {"expression": exc.left.text(), "shape": _shape_text(exc.left.shape)},
                "right": {"expression": exc.right.text(), "shape": _shape_text(exc.right.shape)}}

    def _diagnose_shape_error(self, side: _Side, t: _Target, refs):
        exc = side.shape_error
        decided = "shapes checked by dimension name"
        shapes = self._shapes_json(exc)
        fixes = _PRODUCT_FIXES if exc.kind == "product" else _ELEMENTWISE_FIXES
        for fix, mistake in fixes:
            builder = _MatrixBuilder(side.source, self, fixes={id(exc.node): fix})
            try:
                fixed = self._build(side.source, side.tree, builder=builder)
            except (_AnswerShapeError, ParseError):
                continue
            if fixed.shape is None or fixed.shape.labels != t.mat.shape.labels:
                continue
            if not self._value_equal(fixed, refs):
                continue
            part = builder.fixed.get(id(exc.node))
            wrote = f"{exc.left.text()} {exc.right.text()}" if exc.kind == "product" else None
            shown = part.text() if part is not None else fixed.text()
            if mistake == "missing_transpose":
                which = exc.left if fix == "Lt" else exc.right
                head = f"missing transpose: write {_untranspose(which).text()} for {which.text()}" + \
                       (f" ({shown} is {t.mat.text()})" if part is not None and part == fixed else f" ({shown})")
            elif mistake == "misplaced_transpose":
                head = (f"the transpose is on the wrong factor: write {shown}" + (f", not {wrote}" if wrote else "")
                        + (f" ({shown} is {t.mat.text()})" if part is not None and part == fixed else ""))
            else:
                head = f"wrong order: write {shown}" + (f", not {wrote}" if wrote else "") + \
                       (f" ({shown} is {t.mat.text()})" if part is not None and part == fixed else "")
            shapes["fix"] = shown
            return mistake, f"{head}; {exc}", decided + f", the fix confirmed by exact evaluation at {len(self.points())} random rational points", {"shapes": shapes}
        return "shape_mismatch", f"{exc}", decided, {"shapes": shapes}

    def _diagnose_shape(self, expr, t: _Target, refs):
        decided = "shapes checked by dimension name"
        label = t.mat.text()
        want = t.mat.shape
        have = expr.shape
        shapes = {"answer": _shape_text(have), "expected": want.text()}
        if have is None:
            return ("shape_mismatch", f"your answer is a number, but {label} is a matrix of shape {want.text()}",
                    decided, {"shapes": shapes})
        base = f"your answer has shape {have.text()} but {label} has shape {want.text()}"
        if have.sizes == want.sizes and have.labels != want.labels:
            base += (f" (the sizes agree, but the dimensions do not: {label} has {want.rows.label} rows and "
                     f"{want.cols.label} columns)")
        confirmed = decided + f", the fix confirmed by exact evaluation at {len(self.points())} random rational points"
        if have.labels == (want.cols.label, want.rows.label) and self._value_equal(Transpose(expr), refs):
            if isinstance(expr, MatMul):
                fixed = MatMul(_untranspose(expr.right), _untranspose(expr.left))
                shapes["fix"] = fixed.text()
                return ("wrong_order", f"wrong order: your answer is the transpose of {label}; reverse the product "
                        f"and transpose each factor: {fixed.text()}; {base}", confirmed, {"shapes": shapes})
            shapes["fix"] = _untranspose(expr).text()
            return ("wrong_order", f"your answer is the transpose of {label}: write {_untranspose(expr).text()}; {base}",
                    confirmed, {"shapes": shapes})
        found = self._shared_bias_sum(expr, t, refs, base)
        if found is not None:
            shapes["fix"] = found[1]
            return found[0], found[2], confirmed, {"shapes": shapes}
        if want.is_row and not have.is_row and have.cols.label == want.cols.label \
                and self._value_equal(RowSum(expr), refs):
            shapes["fix"] = RowSum(expr).text()
            return ("missing_sum", f"missing the sum over the batch: {label} = Σ_rows {expr._wrap_text(4)} "
                    f"(the bias is added to every row, so its gradient sums the rows); {base}",
                    confirmed, {"shapes": shapes})
        if have.is_row and not want.is_row and isinstance(expr, RowSum) \
                and expr.arg.shape is not None and expr.arg.shape.labels == want.labels \
                and self._value_equal(expr.arg, refs):
            shapes["fix"] = expr.arg.text()
            why = (f"{label} has one row per example" if want.rows.label == "n"
                   else f"without the Σ, {expr.arg.text()} is {label}")
            return ("extra_sum", f"extra sum over the rows: {why}; {base}", confirmed, {"shapes": shapes})
        swap = self._wrong_matrix(expr, t, refs)
        if swap is not None:
            wrote, meant = swap
            return ("wrong_matrix", f"wrong matrix: you wrote {wrote} where {meant} belongs; {base}",
                    confirmed, {"shapes": shapes})
        return "shape_mismatch", base, decided, {"shapes": shapes}

    def _shared_bias_sum(self, expr, t: _Target, refs, base: str):
        """(mistake, fix, message) for a shared bias's gradient that is not summed over all its uses.

        One bias b_l is added to every entry of z_l (every example e, every node i), so
        db_l = Σ_e Σ_i dz_l[e, i] = Σ_rows dz_l 1: an (n, N_l) answer lacks both sums, a (1, N_l) one
        (Σ_rows dz_l, the per-node biases' gradients) the sum over the nodes."""
        if not (self.md.shared_biases and t.of.startswith("b_")) or expr.shape is None:
            return None
        have, nodes = expr.shape, f"N_{t.layer}"
        if have.cols.label != nodes:
            return None
        ones = Ones(Shape(have.cols, ONE))
        bias = self.mats[t.of].text() if t.of in self.mats else t.of
        why = (f"{bias} is one bias added to every entry of z_{t.layer} (every example and every node of the layer), "
               f"so {t.mat.text()} sums over all its uses")
        if have.rows.label == "n" and self._value_equal(MatMul(RowSum(expr), ones), refs):
            fix = f"Σ_rows {expr._wrap_text(4)} {ones.text()}"
            return ("missing_sum", fix, f"missing the sum over the examples and the nodes: {why}: "
                    f"{t.mat.text()} = {fix} (\\sum {expr.text()}, or \\mathbf{{1}}^T {expr.text()} \\mathbf{{1}}); {base}")
        if have.rows == ONE and self._value_equal(MatMul(expr, ones), refs):
            fix = f"{expr._wrap_text(4)} {ones.text()}"
            return ("missing_sum", fix, f"missing the sum over the layer's nodes: your answer sums over the examples "
                    f"only (one entry per node, as for one bias per node); {why}: {t.mat.text()} = {fix}; {base}")
        return None

    def _counterexample(self, values, refs, where, t: _Target) -> dict:
        p = self.points()[where]
        a, r = values[where], refs[where]
        label = t.mat.text()
        point = {k: [[str(v) for v in row] for row in rows] for k, rows in p.raw.items()}
        total = sum(len(rows) * len(rows[0]) for rows in p.raw.values())
        readable = {k: [[readable_number(sympy.Rational(v)) for v in row] for row in rows] for k, rows in point.items()}
        shown = "; ".join(f"{k} = [" + "; ".join(", ".join(row) for row in rows) + "]"
                          for k, rows in readable.items()) if total <= 40 else "a random point (see counterexample.point)"
        if a is None:
            return {"point": point, "entry": None, "answer": None, "expected": None,
                    "message": f"your answer is undefined at {shown}, where {label} is defined"}
        idx = _first_difference(a, r)
        aa, rr = np.broadcast_arrays(a, r)
        i, j = idx
        entry = f"[{i + 1}, {j + 1}]"
        index_name = ""
        try:
            entry_name = self.md.index_name(t.of, i + 1, j + 1)
        except (SpecError, ValueError, IndexError):  # pragma: no cover - every gradient has index names
            entry_name = None
        if entry_name is not None:
            index_name = (f" (∂L/∂{entry_name})" if t.of.startswith(("W_", "b_"))
                          else f" (∂L/∂{entry_name} of example {i + 1})")
        message = (f"not equal to {label}: at {shown}, entry {entry} of your answer is {aa[idx].readable()} but "
                   f"{label}{entry}{index_name} = {rr[idx].readable()}")
        return {"point": point, "entry": [i + 1, j + 1], "answer": aa[idx].display(), "expected": rr[idx].display(),
                "shown": {"answer": aa[idx].readable(), "expected": rr[idx].readable()}, "message": message}
