r"""The index reader: one answer in index notation (``(\hat{y} - y)\hat{y}(1 - \hat{y}) a^{2}_{1}``) to a verdict.

Reads the chain ``A = B = ...`` with the grammar, takes the target from the left-hand side (∂L/∂θ,
∂J/∂θ; ∂𝓛/∂θ read both ways, as the cost J and as the per-example loss L) or ``--wrt``, decides each
side against the reference (exact evaluation, then a proof), and hands a wrong side to the diagnosis
(a Σ_e too many or missing in a ∂J answer is named here: J = r Σ_e L_e sums a parameter's
gradient over the examples, never a node's).  A mixin of :class:`symbackprop.verify.checker.AnswerChecker`.
"""
from __future__ import annotations

import dataclasses

import sympy

from ..errors import ParseError
from ..grammar.notation import normalize, padded_end
from ..grammar.parser import example_sum, parse_chain
from ..grammar.syntax import with_source
from ..spec import names
from .verdict import (_as_written, _mistake_rank, _plain, both_readings, CORRECT, INCORRECT, LazyExpected, Step,
                      Verdict)
from .vocabulary import COST


#: ``\mathcal{L}`` as the grammar's normalization writes it (a name the vocabulary reads as the cost J)
_CALLIGRAPHIC_L = "mathcalL"


def _joined(*notes) -> str | None:
    kept = [n for n in notes if n]
    return "; ".join(kept) if kept else None


_NAMED_FACTOR = ("missing_factor", "extra_factor", "activation_derivative_missing", "activation_derivative_twice",
                 "activation_derivative_at_a", "activation_derivative_in_z", "activation_derivative_incomplete",
                 "wrong_activation_derivative")


class _IndexReader:
    """Reads and decides one index-notation answer."""

    def _check(self, text, wrt_name, accept_numbers: bool = False, reading=None) -> Verdict:
        normalized = reading if reading is not None else normalize(text)
        try:
            chain = parse_chain(normalized.text, resolve=self.names)
        except ParseError as exc:
            raise with_source(exc, text, normalized.text) from None
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
                raise ParseError(f"the left-hand side is {self._target_text(of_sym.name, wrt_sym.name)} but --wrt is "
                                 f"{self._name(wrt_name)}")
            of, wrt_name = of_sym.name, wrt_sym.name
            target_text = sides[0].text
            sides = sides[1:]
        if wrt_name is None:
            raise ParseError("say what is differentiated: give --wrt NAME or start the answer with "
                             "\\frac{\\partial L}{\\partial NAME} = ...")
        if of == COST and COST not in self.graph.by_name and target_text is not None and _CALLIGRAPHIC_L in target_text:
            verdict = self._either_loss(sides, wrt_name, target_text, normalized.note, accept_numbers)
        else:
            verdict = self._decide(sides, of, wrt_name, target_text, normalized.note, accept_numbers)
        return _steps_as_written(verdict, text, normalized.text, chain.sides)

    def _either_loss(self, sides, wrt_name, target_text, normalized_note, accept_numbers) -> Verdict:
        """∂𝓛/∂θ: 𝓛 is the cost J in some courses and the per-example loss L in others (Ng's, where J
        is the cost): correct when the answer is either, naming the reading; else both readings."""
        output = self.graph.output
        loss = self._name(output)
        readings = [(COST, "reading 𝓛 as the cost J"),
                    (output, f"reading 𝓛 as the per-example loss {loss}, as in Ng's course, where J is the cost")]
        short = {COST: "𝓛 as the cost J", output: f"𝓛 as the per-example loss {loss}"}
        both = f"𝓛 is the cost J in some courses and the per-example loss {loss} in others (Ng's)"
        verdicts = [(self._decide(sides, of, wrt_name, target_text, normalized_note, accept_numbers), why)
                    for of, why in readings]
        for v, why in verdicts:
            if v.verdict == CORRECT:
                return dataclasses.replace(v, feedback=f"{v.feedback[:-1]}, {why}.",
                                           note=_joined(f"{both}: either reading is accepted", v.note))
        if any(v.verdict != INCORRECT for v, _ in verdicts):
            return next(v for v, _ in verdicts if v.verdict != INCORRECT)
        means_j = self._writes_mean(sides[-1])
        ranked = sorted(zip(verdicts, readings), key=lambda vr: (_mistake_rank(vr[0][0].mistake),
                                                                 (vr[1][0] == COST) != means_j))
        ((first, _), (of_first, _)), ((second, _), (of_second, _)) = ranked
        wrt = self._name(wrt_name)
        what = {COST: f"∂J/∂{wrt} ({short[COST]})", output: f"∂{loss}/∂{wrt} ({short[output]})"}
        feedback = both_readings(what[of_first], first.mistake, first.feedback, what[of_second], second.mistake,
                                 second.feedback)
        return dataclasses.replace(first, feedback=feedback[0].upper() + feedback[1:],
                                   note=_joined(f"{both}: the answer is neither", first.note))

    def _writes_mean(self, side) -> bool:
        """Whether an answer line writes the batch mean's 1/n (1/m, or 1/4 with n = 4)."""
        from .feedback import written_constants

        n = self.d.n_examples
        if n < 2:
            return False
        written = written_constants(side.expr, side.text, n, self.names) or set()
        return sympy.Rational(1, n) in written

    def _decide(self, sides, of, wrt_name, target_text, normalized_note, accept_numbers) -> Verdict:
        """The verdict on the chain ``sides`` as ∂of/∂wrt (of = L, a node, or the cost J)."""
        reference = self.derivative(of, wrt_name)
        r_values = self.reference_values(of, wrt_name)
        note = self._note(of, lhs=target_text is not None, wrt=wrt_name)
        if normalized_note:
            note = normalized_note + ("; " + note if note else "")
        expected = LazyExpected(reference, self.shown)

        # each side against the reference (∂ factors read as the graph's derivatives)
        verdicts = []
        numbers: dict = {}   # side index -> (right value?, the value at the spec's numbers)
        n_used = sum(v is not None for v in r_values)
        for k, side in enumerate(sides):
            expr = self._replace_derivatives(side.expr)
            a_values = self._values(expr)
            if expr.is_Number and reference.free_symbols:
                found = self._spec_value_match(expr, of, wrt_name, side.text)
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
        target = self._target_text(of, wrt_name)
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
                feedback += (" (the last line still contains δ's or ∂ factors; they were read as the graph's "
                             "derivatives)")
            return Verdict(CORRECT, feedback + ".", wrt=wrt_name, of=of, decided_by=" and ".join(methods),
                           steps=steps, expected_source=expected, note=note)
        ok, how, expr, (a_values, where) = verdicts[bad]
        if bad in numbers:
            mistake, counterexample = "wrong_value", None
            if len(sides) > 1 and len(steps) > 1:
                message = f"at the spec's data and parameters {target} = {numbers[bad][1]}"
            else:
                message = (f"the number {sides[bad].text.strip()} is not {target} at the spec's data and parameters, "
                           f"where {target} = {numbers[bad][1]}")
        else:
            found = self._example_sum_mistake(a_values, of, wrt_name)
            if found is not None:
                (mistake, message), counterexample = found, None
            else:
                mistake, message, counterexample = self._diagnose(expr, reference, a_values, r_values, of, wrt_name,
                                                                  where, sides[bad].text)
        first_bad_step = next((st for st in steps if not st.equal), None)
        if first_bad_step is not None and len(steps) > 1:
            message = f"step {first_bad_step.index} ({first_bad_step.left} = {first_bad_step.right}) " \
                      f"is not an equality; " + message
        elif len(sides) > 1 and bad not in numbers:
            # one line A ≈ B or A = B (no left-hand side): name the expression, not a "line"
            message = f"{sides[bad].text.strip()} is not {target}: " + message
        if where is not None:
            at = (counterexample or {}).get("at")
            how = f"exact evaluation: differs from {target} at a random rational point"
            if at == "a point with small values":
                how = f"exact evaluation: differs from {target} at a random rational point and at the point shown"
        math = self._feedback_math(message, of, wrt_name) if mistake in _NAMED_FACTOR else ()
        return Verdict(INCORRECT, message, wrt=wrt_name, of=of, decided_by=how, mistake=mistake,
                       steps=steps, counterexample=counterexample, expected_source=expected, note=note, math=math)

    def _example_sum_mistake(self, a_values, of, wrt):
        """(mistake, message) for a ∂J answer that sums over the examples where it must not, or
        does not where it must; None otherwise.

        J = r Σ_e L_e: a parameter θ is in every L_e (∂J/∂θ = r Σ_e ∂L_e/∂θ); a node z of example
        e is only in L_e (∂J/∂z = r ∂L_e/∂z, no Σ_e)."""
        if of != COST or COST in self.graph.by_name or self.d.n_examples < 2:
            return None
        r = self.d.reduction_factor
        per_example = self.d.per_example_gradient(wrt)
        shared = self.is_shared(wrt)
        wrong = r * per_example if shared else r * example_sum(per_example)
        equal, _ = self._equal_at_points(a_values, self._values(wrong))
        if not equal:
            return None
        name, r_text = self._name(wrt), _plain(r)
        if shared:
            return ("missing_sum", f"the sum over the examples is missing: {name} is in every example's loss L_e, so "
                    f"∂J/∂{name} = {r_text} Σ_e ∂L_e/∂{name}; your answer is {r_text}·∂L_e/∂{name} of one example")
        return ("extra_sum", f"extra sum over the examples: {name} is one example's own value (it enters only that "
                f"example's L_e), so ∂J/∂{name} = {r_text}·∂L_e/∂{name} of that example, with no Σ_e")

    def _steps(self, target_text, sides, verdicts) -> tuple:
        """Each ``=`` of the chain: equal when both sides are ∂of/∂wrt, or neither is but they agree."""
        texts = [_as_written(t)   # \mathcal{L} as the student wrote it
                 for t in ([target_text] if target_text is not None else []) + [side.text for side in sides]]
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

    def _note(self, of, lhs: bool = True, wrt: str | None = None) -> str | None:
        n = self.d.n_examples
        if of == COST and COST not in self.graph.by_name and wrt is not None and not self.is_shared(wrt):
            node = self._name(wrt)
            r = f"1/{n}" if self.d.reduction == "mean" and n != 1 else "1"
            j = "(1/n) Σ_e L_e (its mean)" if self.d.reduction == "mean" else "Σ_e L_e (its sum)"
            return (f"read as ∂J/∂{node} of one example e: J = {j} over the spec's n = {n} "
                    f"example{'s' if n != 1 else ''}, and {node} of example e enters only L_e, so "
                    f"∂J/∂{node} = ({r})·∂L_e/∂{node}, no Σ_e")
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


def _steps_as_written(verdict, text: str, read: str, sides) -> Verdict:
    """The steps in the student's own spelling where a second reading renamed them (Nielsen's
    w^{3}_{12} read as the lectures' w^{2}_{12} keeps its columns, so each side is cut from ``text``)."""
    if read == normalize(text).text or len(read) != len(text) or len(verdict.steps) != len(sides) - 1:
        return verdict
    shown = [text[side.start:padded_end(read, side.end)].strip() for side in sides]
    steps = tuple(dataclasses.replace(st, left=shown[st.index - 1], right=shown[st.index]) for st in verdict.steps)
    return dataclasses.replace(verdict, steps=steps)
