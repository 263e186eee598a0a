r"""Diagnosis of a wrong matrix answer: a constant factor (1/n, a sign), a ⊙ factor missing
or extra (named), a wrong activation derivative, a wrong matrix (z_1 where a_1 belongs).

A mixin of :class:`symbackprop.verify.matrix_reader.MatrixAnswerChecker`.
"""
from __future__ import annotations

import numpy as np
import sympy
from sympy import Rational

from ..derivation.matrix_form import ACTIVATION_RULES, Hadamard, HadamardDiv, Mat, N_SYMBOL, Scalar, ShapeError, walk
from .matrix_builder import _Candidate, _Side, _Target
from .matrix_eval import _equal_arrays, _substitute, MAX_TRIES
from .feedback import constant_factor_message
from .verdict import _lecture_number


class _MatrixDiagnosis:
    """Names the mistake of a wrong matrix answer."""

    def _diagnose(self, side: _Side, t: _Target, refs, label=None, cost=None):
        """(mistake, message, decided_by, extra) for a wrong side against ``refs`` (the gradient named
        ``label``; ``cost`` "mean" or "sum" when that is the cost J's gradient, None for the slides' ∂L)."""
        label = label or t.mat.text()
        if side.shape_error is not None:
            return self._diagnose_shape_error(side, t, refs)
        expr = side.expr
        if expr.shape is None or expr.shape.labels != t.mat.shape.labels:
            return self._diagnose_shape(expr, t, refs)
        values = side.values
        where = next((i for i, (a, r) in enumerate(zip(values, refs)) if a is None or not _equal_arrays(a, r)), 0)
        decided = f"exact evaluation: differs from {label} at a random rational point"
        if all(v is not None for v in values):
            c = self._constant_ratio(values, refs)
            if c is not None:
                mistake, message = self._constant_message(c, label, expr, cost)
                return mistake, message, decided, {}
            found = self._factor(expr, t, refs)
            if found is not None:
                return found[0], found[1], decided, {}
            found = self._inner_factor(expr, t, values)
            if found is not None:
                return found[0], found[1], decided, {}
            found = self._wrong_activation(t, values)
            if found is not None:
                return found[0], found[1], decided, {}
            swap = self._wrong_matrix(expr, t, refs)
            if swap is not None:
                wrote, meant = swap
                return "wrong_matrix", f"wrong matrix: you wrote {wrote} where {meant} belongs", decided, {}
        cx = self._counterexample(values, refs, where, t)
        return "counterexample", cx.pop("message"), decided, {"counterexample": cx}

    def _constant_ratio(self, values, refs, allow_one: bool = False):
        c = None
        for a, r in zip(values, refs):
            a, r = np.broadcast_arrays(a, r)
            for idx in np.ndindex(*a.shape):
                if r[idx].is_zero():
                    continue
                c = (a[idx] / r[idx]).constant()
                break
            if c is not None:
                break
        if c is None or (c == 1 and not allow_one):
            return None
        for a, r in zip(values, refs):
            a, r = np.broadcast_arrays(a, r)
            if not all(a[idx].equals(r[idx] * c) for idx in np.ndindex(*a.shape)):
                return None
        return c

    def _constant_message(self, c, label, expr=None, cost=None):
        n_eval = self.eval_sizes["n"]
        if n_eval > 1 and c == n_eval:
            return ("constant_factor", f"constant factor off: your answer is n = {n_eval} times {label}; "
                    "the cost J = (1/n) Σ_e L_e carries the mean's 1/n")
        return self._constant_message_base(c, label, expr, cost)

    def _constant_message_base(self, c, label, expr=None, cost=None):
        spec_n = self.md.n_examples
        n = self.eval_sizes["n"]
        written = None
        if expr is not None:
            # what the answer writes decides between readings that the ratio alone cannot (n = 2: ½ is a
            # missing power-rule 2 or an extra 1/n); a 2 the answer writes is not missing
            mean = self._writes_mean(expr)
            if cost is None and n == 2 and c == Rational(1, 2) and mean and self._writes_two(expr):
                return ("constant_factor", f"constant factor off: your answer has the batch mean's 1/n = 1/{spec_n or n}; "
                        f"{label} in the slides' per-example convention has no 1/n")
            written = {Rational(1, n)} if mean else set()
        return constant_factor_message(
            c, label, n=n, n_shown=spec_n, written=written,
            per_example=f"{label} in the slides' per-example convention (the gradient of Σ_e L_e, as the slides' "
                        "backward steps)",
            per_example_short=f"{label} in the slides' per-example convention",
            half_squared=self.md.loss == "half_squared_error", cost=cost)

    @staticmethod
    def _scalars(expr):
        """The numbers an answer writes: each Scale's factor and each Scalar's value (SymPy expressions)."""
        for e in walk(expr):
            value = getattr(e, "factor", None)
            if value is None and isinstance(e, Scalar):
                value = e.value
            if isinstance(value, sympy.Expr):
                yield value

    def _writes_mean(self, expr) -> bool:
        """Whether a matrix answer writes the batch mean's 1/n (or 1/m, or 1/4 with n = 4)."""
        if expr is None:
            return False
        n = self.md.n_examples
        for value in self._scalars(expr):
            for part in sympy.preorder_traversal(value):
                if part.is_Pow and part.base == N_SYMBOL and part.exp.is_negative:
                    return True
                if part.is_Rational and n and part.q == n:
                    return True
        return False

    def _writes_two(self, expr) -> bool:
        """Whether a matrix answer writes a factor 2 (2, 2/n, 2/m), as the power rule brings down."""
        for value in self._scalars(expr):
            for part in sympy.preorder_traversal(value):
                if part.is_Rational and part.p % 2 == 0:
                    return True
        return False

    # the ⊙ factors the feedback can name
    def _candidates(self, layer: int) -> list:
        md = self.md
        if layer is None or not 1 <= layer <= md.depth:
            return []
        act = md.activations[layer - 1]
        rule = ACTIVATION_RULES[act]
        a = self.mats["yhat"] if layer == md.depth else self.mats[f"a_{layer}"]
        z = self.mats[f"z_{layer}"]
        out = []
        if rule.derivative is not None:
            deriv = rule.derivative(z, a)
            if deriv is not None:
                from ..ops.activations import derivative_names

                prime = derivative_names().get(act, (None, act + "′"))[1]   # the registry's σ′, tanh′, ReLU′
                out.append(_Candidate(deriv, f"{prime}(z_{layer}) = {deriv.text()} (∂{a.text()}/∂z_{layer})", layer, True))
                if isinstance(deriv, Hadamard):
                    for piece in (deriv.left, deriv.right):
                        out.append(_Candidate(piece, piece.text(), layer, False))
        for m in (a, z):
            if all(c.expr != m for c in out):
                out.append(_Candidate(m, m.text(), layer, False))
        return out

    def _chain_layers(self, t: _Target) -> set:
        """The layers whose g' is already in the target (dz_l and every gradient computed from it)."""
        L = self.md.depth
        if t.name == "dyhat":
            return set()
        if t.of.startswith("a_"):
            return set(range(t.layer + 1, L + 1))
        return set(range(t.layer, L + 1))

    def _factor(self, expr, t: _Target, refs):
        """A ⊙ factor missing from the answer, or one too many (the layer's g', its pieces, a_l, z_l)."""
        if not t.of.startswith(("z_", "a_", "yhat")):
            return None
        in_chain = self._chain_layers(t)
        values = self.values(expr)
        label = t.mat.text()
        for cand in self._candidates(t.layer):
            if cand.expr.shape is None or cand.expr.shape.labels != t.mat.shape.labels:
                continue
            fv = self.values(cand.expr)
            if any(f is None for f in fv):
                continue

            def holds(rel):
                return all(_equal_arrays(*rel(a, r, f)) for a, r, f in zip(values, refs, fv))

            c = self._constant_ratio([a * f for a, f in zip(values, fv)], refs, allow_one=True)
            if c is not None and c != 0:
                also = "" if c == 1 else ("; and the sign is wrong" if c == -1 else
                                          f"; even then your answer is {_lecture_number(c)} times {label}")
                if cand.activation:
                    return ("activation_derivative_missing",
                            f"the activation's derivative is missing: multiply elementwise by {cand.label}{also}")
                return "missing_factor", f"missing the ⊙ factor {cand.label}{also}"
            if holds(lambda a, r, f: (a, r * f)):
                if cand.activation and cand.layer in in_chain:
                    return "activation_derivative_twice", f"the activation's derivative {cand.label} is applied twice"
                return "extra_factor", f"extra ⊙ factor {cand.label}: it does not belong in {label}"
            if holds(lambda a, r, f: (a, -(r * f))):
                return "extra_factor", f"extra ⊙ factor {cand.label}, and the sign is wrong"
        return None

    def _inner_factor(self, expr, t: _Target, values):
        """The answer is the reference with a dz_l inside missing its g' (or a piece of it), or with g' twice."""
        if t.of.startswith(("z_", "yhat")):
            return None
        inner = [m for m in walk(t.reference) if isinstance(m, Mat) and m.name.startswith("dz_")]
        for dz in dict.fromkeys(inner):
            layer = int(dz.name.rsplit("_", 1)[1])
            da = self.mats.get(f"da_{layer}")
            for cand in self._candidates(layer):
                without = da if (cand.activation and da is not None) else HadamardDiv(dz, cand.expr)
                for kind, repl in (("missing", without), ("twice", Hadamard(dz, cand.expr))):
                    try:
                        formula = _substitute(t.reference, {dz: repl})
                    except ShapeError:
                        continue
                    if not self._equal(values, self.values(formula)):
                        continue
                    if kind == "missing" and cand.activation:
                        if layer < self.md.depth:
                            return ("activation_derivative_missing",
                                    f"the activation's derivative is missing: your answer uses da_{layer} where "
                                    f"{dz.text()} = da_{layer} ⊙ g′(z_{layer}) belongs; multiply da_{layer} "
                                    f"elementwise by {cand.label}")
                        return ("activation_derivative_missing",
                                f"the activation's derivative is missing in {dz.text()}: multiply elementwise by "
                                f"{cand.label}")
                    if kind == "missing":
                        return "missing_factor", f"missing the ⊙ factor {cand.label} in {dz.text()}"
                    if cand.activation:
                        return ("activation_derivative_twice",
                                f"the activation's derivative {cand.label} is applied twice ({dz.text()} already has it)")
                    return "extra_factor", f"extra ⊙ factor {cand.label} on {dz.text()}"
        return None

    def _wrong_activation(self, t: _Target, values):
        """The answer is right but for the derivative of another activation (σ' on a ReLU layer)."""
        md = self.md
        for l in range(1, md.depth + 1):
            da, dz = self.mats.get(f"da_{l}"), self.mats.get(f"dz_{l}")
            if da is None or dz is None:
                continue  # the fused output step has no separate g'
            if t.name == dz.name:
                place = None
            elif dz in set(walk(t.reference)):
                place = dz
            else:
                continue
            act = md.activations[l - 1]
            a = self.mats["yhat"] if l == md.depth else self.mats[f"a_{l}"]
            z = self.mats[f"z_{l}"]
            right = ACTIVATION_RULES[act].derivative
            right = None if right is None else right(z, a)
            for other, rule in ACTIVATION_RULES.items():
                if other in (act, "identity") or rule.derivative is None:
                    continue
                alt = rule.derivative(z, a)
                if alt is None:
                    continue
                repl = Hadamard(da, alt)
                try:
                    formula = repl if place is None else _substitute(t.reference, {place: repl})
                except ShapeError:  # pragma: no cover - same shapes
                    continue
                if self._equal(values, self.values(formula)):
                    shown = "1" if right is None else right.text()
                    return ("wrong_activation_derivative",
                            f"wrong activation derivative: layer {l} uses {act}, so ∂{a.text()}/∂z_{l} = {shown}, "
                            f"not {alt.text()} (the derivative of {other})")
        return None

    def _wrong_matrix(self, expr, t: _Target, refs):
        """(wrote, meant) when swapping one matrix of the answer for another gives the gradient."""
        leaves = sorted({m for m in walk(expr) if isinstance(m, Mat)}, key=lambda m: m.name)
        tries = 0
        for m in leaves:
            for other in self.mats.values():
                if other == m or other.name == t.name:
                    continue
                tries += 1
                if tries > MAX_TRIES:
                    return None
                try:
                    swapped = _substitute(expr, {m: other})
                except ShapeError:
                    continue
                if swapped.shape is None or swapped.shape.labels != t.mat.shape.labels:
                    continue
                if self._value_equal(swapped, refs):
                    return m.text(), other.text()
        return None
