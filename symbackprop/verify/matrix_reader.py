r"""Check matrix answers for matrix specs, as the slides (001) write backpropagation.

For a spec with ``notation = "matrix"`` (the slides' gender network ``derivations/gender.toml``),
a student writes the backward steps in the slides' matrix notation::

    dW_2 = a_1^T dz_2                       db_2 = \sum dz_2
    dz_1 = dz_2 W_2^T \odot a_1(1 - a_1)    \frac{\partial L}{\partial z_2} = \hat{y} - y

**Reading.** The answer is parsed by our lark grammar (``grammar.lark``, never eval) and built
into the matrix-expression tree of :mod:`symbackprop.derivation.matrix_form` (``Mat``, ``Transpose``,
``MatMul``, ``Hadamard``, ``RowSum``, ``Apply``, ``Scale``, ...). Names are resolved against the
matrix derivation's names (``x``/``X``, ``W_l``/``w_l``, ``b_l``, ``z_l``, ``a_l``, ``\hat{y}``/``ŷ``,
``y`` and the gradients ``dz_l``, ``da_l``, ``dW_l``, ``db_l``; ``\frac{\partial L}{\partial W_2}``
is ``dW_2``, ``\delta_l`` is ``dz_l``). ``A^T``, ``A^{T}``, ``A^\top``, ``Aᵀ`` transpose;
juxtaposition, ``\cdot`` and ``*`` are the matrix product, or, when the two factors have the
same shape and a product is impossible, the slides' elementwise product (``a_1(1 - a_1)``,
``\frac{\partial L}{\partial a_1} \cdot a_1 \cdot (1 - a_1)``); ``\odot``, ``\circ``, ``⊙`` are
the elementwise product (binding looser than a product); ``\frac{A}{B}`` of matrices is the
elementwise quotient; ``\sum A`` (and ``\sum_{\text{rows}}``, ``\sum_e``, ``\sum_{i=1}^{n}``) sums
over the rows, the batch; ``\sigma``, ``\tanh``, ReLU, ``\exp``, ``\log`` act entry by entry and
``\sigma'(z_1)`` is σ(z_1) ⊙ (1 − σ(z_1)); a whole power ``a_1^2`` is elementwise; ``n`` is the
batch size (``\frac{1}{n}``).

**Deciding.** First the shapes, symbolically, by dimension *name* (``n``, ``N_0``, ``N_1``, ...):
every product needs matching inner dimensions and the answer must have the shape of the
gradient, so ``dz_1^T x`` is caught in the gender network although ``N_0 = N_1 = 2``.
Then the values: the answer and the reference step of the matrix derivation are evaluated
entry by entry at random rational points (random W_l, b_l, x, y; targets in the loss's domain)
in the exact field of :class:`symbackprop.verify.answers.ExactPoint` (σ(2) is e²/(e² + 1); two numbers are
compared through random homomorphisms into GF(2⁶¹ − 1), as the index-notation checker does).
Floats never decide.

**Convention.** The reference is the slides' backward steps: the gradients of the summed
per-example loss Σ_e L_e, so ``dz_2 = ŷ − y`` and every later step builds on it.  What the answer
says it differentiates decides against what (:mod:`.matrix_readings`): ``\frac{\partial L}{\partial W_2}``
and ``--wrt W_2`` the slides' gradient; ``\frac{\partial J}{\partial W_2}`` the cost's,
r × it for J = r Σ_e L_e (r = 1/n with the mean); ``dW_2 = …`` or ``--wrt dW_2`` without a ∂ and
``\mathcal{L}`` either, and the verdict names the reading that matched.  An answer whose shapes fit
only with examples as columns is read in that layout (Ng's), and says so.

**Feedback** (``mistake``): ``missing_transpose``, ``misplaced_transpose`` (x dz_1ᵀ for xᵀ dz_1) and ``wrong_order`` (with the ShapeError's
shapes, e.g. ``a_1 is (n, N_1) = (4, 2), dz_2 is (n, N_2) = (4, 1)``, and the fix, confirmed by
evaluation), ``shape_mismatch``, ``missing_sum`` / ``extra_sum`` (the bias gradient sums over the
batch), ``sign``, ``constant_factor`` (1/n, a stray 2), ``activation_derivative_missing`` /
``activation_derivative_twice`` / ``missing_factor`` / ``extra_factor`` (a ⊙ factor such as
a_1 ⊙ (1 − a_1), named), ``wrong_matrix`` (z_1 where a_1 belongs), else ``counterexample`` (an
entry, both values and the point).
"""
from __future__ import annotations

import dataclasses

import sympy

from ..derivation.matrix_form import (
    ACTIVATION_RULES,
    LOSS_RULES,
    Mat,
    matrix_derive,
    MatrixDerivation,
    N_SYMBOL,
    Scalar,
)
from ..errors import NotSupportedError, ParseError, SpecError, SymbackpropError
from ..grammar.notation import normalize, padded_end, readings as notation_readings
from ..grammar.syntax import with_source
from ..grammar.parser import _error, _parse_tree, _pos, _sides
from .limits import _Budget, _time_limit, ANSWER_SECONDS
from .matrix_builder import _AnswerShapeError, _MatrixBuilder, _Side, _Target
from .matrix_diagnose import _MatrixDiagnosis
from .matrix_points import _MatrixPoints
from .matrix_readings import _as_cost_names, _D_NAME, _LEIBNIZ, _MatrixReadings
from .matrix_shapes import _MatrixShapes
from .points import N_POINTS
from .verdict import (_as_written, _mistake_rank, _unparseable, both_readings, CORRECT, INCORRECT, LazyExpected,
                      UNPARSEABLE, Verdict)


class MatrixAnswerChecker(_MatrixReadings, _MatrixPoints, _MatrixDiagnosis, _MatrixShapes):
    """Checks answers in the slides' matrix notation against a spec's matrix derivation.

    ``check(text, wrt=None)`` -> :class:`symbackprop.verify.answers.Verdict` (``notation = "matrix"``);
    ``wrt`` is a gradient (``dW_2``, ``dz_1``, ``db_2``), the matrix it differentiates (``W_2``),
    or ``\\frac{\\partial L}{\\partial W_2}``; a left-hand side ``dW_2 = ...`` can give it instead.
    """

    def __init__(self, source, *, seed: int = 0, n_points: int = N_POINTS):
        self.md: MatrixDerivation = matrix_derive(source)
        self.seed = seed
        self.n_points = n_points
        md = self.md
        if md.reduction == "sum":
            self.per_example = md
        else:
            network = dataclasses.replace(md.network, reduction="sum")
            self.per_example = MatrixDerivation(network, md.spec)
        pe = self.per_example
        self.mats: dict = dict(pe.matrices)
        self.targets: dict = {}
        L = md.depth
        yhat = self.mats["yhat"]
        if md.fused is not None:
            # the slides' ∂L/∂ŷ = (ŷ − y)/(ŷ(1 − ŷ)) before the fused step (a matrix of ŷ's shape)
            dyhat = Mat("dyhat", yhat.shape, r"d\hat{y}", "dŷ")
            self.mats["dyhat"] = dyhat
            grad = LOSS_RULES[md.loss].gradient(yhat, self.mats["y"], md.layers[-1])
            self.targets["dyhat"] = _Target("dyhat", dyhat, grad, "yhat", L)
        for s in pe.backward:
            layer = int(s.of.rsplit("_", 1)[1]) if "_" in s.of else L
            self.targets[s.name] = _Target(s.name, s.target, s.reference, s.of, layer)
        self.by_of = {t.of: t.name for t in self.targets.values()}
        self.known_names = tuple(m.text() for m in self.mats.values())
        self._points = None

    # ---- names ---------------------------------------------------------------------------
    def lookup(self, word: str, index):
        """The matrix (or number) a name means, or None."""
        if index is None and word in ("n", "m") and word not in self.mats:
            return Scalar(N_SYMBOL)
        if index is None and word == "e" and "e" not in self.mats:
            return Scalar(sympy.E)
        if word == "delta" and index is not None:
            word = "dz"
        if index is None and word == "dyhat" and "dyhat" in self.mats:
            return self.mats["dyhat"]
        candidate = word if index is None else f"{word}_{index}"
        try:
            name = self.md.resolve(candidate)
        except SpecError:
            return None
        return self.mats.get(name)

    def gradient_of(self, mat: Mat, fail):
        """dM for a matrix M (``W_2`` -> ``dW_2``); ``fail(message)`` builds the error."""
        if mat.name in self.targets:
            raise fail(f"{mat.text()} is already a gradient; ∂L/∂{mat.text()} is not part of backpropagation")
        name = self.by_of.get(mat.name)
        if name is None:
            raise fail(f"no backward step computes ∂L/∂{mat.text()} ({mat.text()} is data, not computed from "
                       f"the parameters); the gradients are {', '.join(self._target_names())}")
        return self.targets[name].mat

    def local_derivative(self, top: Mat, bottom: Mat):
        """∂a_l/∂z_l as the elementwise matrix g'(z_l) (``\\frac{\\partial a_1}{\\partial z_1} = a_1(1 - a_1)``)."""
        for l in range(1, self.md.depth + 1):
            a = self.mats["yhat"] if l == self.md.depth else self.mats[f"a_{l}"]
            z = self.mats[f"z_{l}"]
            if top == a and bottom == z:
                rule = ACTIVATION_RULES[self.md.activations[l - 1]]
                if rule.derivative is None:
                    return None
                deriv = rule.derivative(z, a)
                return Scalar(sympy.S.One) if deriv is None else deriv
        return None

    def parse(self, text: str) -> tuple:
        """The sides of ``A = B = ...`` as matrix expressions (ParseError; ShapeError, naming both
        shapes, when a product or an elementwise operation does not fit)."""
        tree = _parse_tree(text)
        out = []
        for node in _sides(tree):
            try:
                out.append(self._build(text, node))
            except _AnswerShapeError as exc:
                raise exc.error from None
        return tuple(out)

    def _target_names(self):
        return [self.targets[n].mat.text() for n in self.targets]

    def _wrt_expr(self, wrt: str):
        tree = _parse_tree(wrt)
        sides = _sides(tree)
        if len(sides) != 1:
            raise ParseError(f"--wrt {wrt!r}: give one name, e.g. dW_2")
        return self._build(wrt, sides[0])

    def target_name(self, wrt: str) -> str:
        """The gradient ``--wrt`` names: ``dW_2``, ``W_2``, ``dZ_2``, ``\\frac{\\partial L}{\\partial W_2}``."""
        if not isinstance(wrt, str) or not wrt.strip():
            raise SpecError("--wrt: give the name of a gradient, e.g. dW_2")
        if wrt in self.targets:
            return wrt
        listing = ", ".join(self._target_names())
        try:
            value = self._wrt_expr(_as_cost_names(normalize(wrt, matrix=True).text)[0])
        except (ParseError, SymbackpropError) as exc:
            raise SpecError(f"--wrt {wrt!r} is not a gradient of the matrix form ({listing}) nor a node of the "
                            f"index notation: {str(exc).splitlines()[0]}") from None
        if isinstance(value, Mat):
            if value.name in self.targets:
                return value.name
            if value.name in self.by_of:
                return self.by_of[value.name]
        raise SpecError(f"--wrt {wrt!r} is not a gradient of the matrix form; the gradients are {listing} "
                        f"(or the matrices they differentiate, e.g. W_2 for dW_2)")

    def is_target(self, wrt) -> bool:
        try:
            self.target_name(wrt)
        except (SymbackpropError, RecursionError):
            return False
        return True

    # ---- checking ----------------------------------------------------------------------------
    def check(self, text: str, wrt: str | None = None) -> Verdict:
        """Check one matrix answer (bounded: ANSWER_SECONDS); never raises for bad answers."""
        try:
            with _time_limit(ANSWER_SECONDS):
                return self.verdict(text, wrt)
        except _Budget:
            return Verdict(UNPARSEABLE, f"the answer could not be checked within {ANSWER_SECONDS:g} s; "
                           "write it more simply", wrt=wrt, error={"message": "time limit"}, notation="matrix")
        except Exception as exc:  # every input ends in a verdict, never a traceback
            from .verdict import failure_verdict

            return failure_verdict(exc, wrt, notation="matrix")

    def verdict(self, text: str, wrt: str | None = None) -> Verdict:
        """:meth:`check` without its own time bound (the caller bounds the time): the first reading
        of the notation that is correct (Nielsen's W^{l} is a second reading), else the first that
        could be read."""
        verdicts = []
        for reading in notation_readings(text, matrix=True, convention=getattr(self.md.spec, "convention", None)):
            verdict = self._reading_verdict(text, wrt, reading)
            if verdict.verdict == CORRECT:
                return verdict
            verdicts.append(verdict)
        return next((v for v in verdicts if v.verdict != UNPARSEABLE), verdicts[0])

    def _reading_verdict(self, text: str, wrt: str | None, reading) -> Verdict:
        target = None
        try:
            target = self.target_name(wrt) if wrt is not None else None
            try:
                return self._check(text, target, wrt, reading)
            except ParseError as exc:   # point into the student's own line, not the normalized one
                raise with_source(exc, text, reading.text) from None
        except (ParseError, NotSupportedError, SpecError) as exc:
            return dataclasses.replace(_unparseable(exc, target), notation="matrix")
        except RecursionError:
            return Verdict(UNPARSEABLE, "the answer is nested too deeply to check; write it more simply",
                           wrt=target, error={"message": "nested too deeply"}, notation="matrix")
        except SymbackpropError as exc:  # pragma: no cover - defensive: every error is one line
            return dataclasses.replace(_unparseable(exc, target), notation="matrix")

    def _note(self) -> str | None:
        md = self.md
        if md.reduction != "mean":
            return None
        n = md.n_examples
        r = f"1/{n}" if n else "1/n"
        over = f"n = {n} examples" if n else "the n examples of a batch"
        return (f"checked in the slides' per-example convention: gradients of the summed loss Σ_e L_e, as the slides' "
                f"backward steps write them (dz_{md.depth} = ŷ − y); the spec's mean over {over} makes each gradient "
                f"of J = (1/n) Σ_e L_e equal to {r} times these")

    def _decided(self) -> str:
        k = len(self.points())
        how = f"shapes checked by dimension name, then exact evaluation of every entry at {k} random rational points"
        if self.reduced:
            s = self.eval_sizes
            widths = ", ".join(str(s[f"N_{l}"]) for l in range(self.md.depth + 1))
            how += f" (evaluated with n = {s['n']} and widths {widths}: the formulas are generic in the sizes)"
        return how

    def _check(self, text: str, target: str | None, wrt: str | None = None, reading=None) -> Verdict:
        original = text
        normalized = reading if reading is not None else normalize(text, matrix=True)
        text, calligraphic = _as_cost_names(normalized.text)
        # the student's own line where the normalization kept the columns (\mathbf{1}^T, not \sum)
        shown_text = original if len(original) == len(normalized.text) else _as_written(normalized.text)
        tree = _parse_tree(text)
        nodes = _sides(tree)
        sides = [_Side(shown_text[n.meta.start_pos:padded_end(normalized.text, n.meta.end_pos)].strip(), tree=n,
                       source=text) for n in nodes]
        target_text = None
        lhs, cost, calligraphic = self._wrt_says(wrt, calligraphic)
        if len(nodes) > 1:
            lhs_builder = _MatrixBuilder(text, self)
            try:
                first = self._build(text, nodes[0], builder=lhs_builder)
            except _AnswerShapeError:
                first = None
            if isinstance(first, Mat) and first.name in self.targets:   # the left-hand side says what, not --wrt
                cost = lhs_builder.cost
                if target is not None and first.name != target:
                    raise ParseError(f"the left-hand side is {first.text()} but --wrt is "
                                     f"{self.targets[target].mat.text()}")
                target = first.name
                target_text = sides[0].text
                lhs = "leibniz" if _LEIBNIZ.search(target_text) else ("dname" if _D_NAME.match(target_text) else "plain")
                sides, nodes = sides[1:], nodes[1:]
        if target is None:
            raise ParseError("say what is differentiated: give --wrt dW_2 or start the answer with dW_2 = ... "
                             "or \\frac{\\partial L}{\\partial W_2} = ...")
        t = self.targets[target]
        readings = self._readings(t, lhs, cost, calligraphic)
        refs = self.reference_values(target)
        refs_of = {r.of: refs if r.scale is None else [None if v is None else v * r.scale for v in refs]
                   for r in readings}
        alternatives = []
        for side, node in zip(sides, nodes):
            try:
                side.expr = self._build(text, node)
            except _AnswerShapeError as exc:
                side.shape_error = exc
            alts = [(expr, note, self.values(expr)) for expr, note in self._alternatives(text, side, node, t, original)]
            alternatives.append(alts)
            if alts and alts[0][1] is None:
                side.values = alts[0][2]

        def matching(reading, k):
            return next((a for a in alternatives[k] if self._equal(a[2], refs_of[reading.of])), None)

        chosen = next((r for r in readings if all(matching(r, k) is not None for k in range(len(sides)))), None)
        reading = chosen or readings[0]
        for k, side in enumerate(sides):
            side.equal = matching(reading, k) is not None
        notes = [normalized.note] if normalized.note else []
        if chosen is not None:
            notes += [a[1] for k in range(len(sides)) for a in [matching(chosen, k)] if a[1]]
        notes.append(self._reading_note(readings, chosen))
        note = "; ".join(dict.fromkeys(n for n in notes if n)) or None
        common = dict(wrt=target, of=reading.of, expected_source=LazyExpected(t.reference), note=note,
                      notation="matrix")
        steps = self._steps(target_text, sides)
        if sides[-1].expr == t.mat:
            return Verdict(INCORRECT, f"the answer only restates {reading.label}; write out what it equals",
                           decided_by="symbolic", mistake="no_answer", steps=steps, **common)
        if chosen is not None and (getattr(self, "uncovered", ()) or all(
                r is None or all(v.is_zero() for v in r.flat) for r in refs)):
            label = chosen.label
            why = (f"some ReLU unit is on one side of its kink at every sample point ({', '.join(self.uncovered)})"
                   if getattr(self, "uncovered", ()) else f"{label} is 0 at every sample point")
            return Verdict(INCORRECT, f"not shown to be {label}: your answer agrees with it at the sample points, but "
                           f"{why}; write it in the slides' form", decided_by="undecided (equal at the sample points only)",
                           mistake="undecided", steps=steps, **common)
        if chosen is not None:
            return Verdict(CORRECT, self._correct_feedback(t, chosen, len(readings) > 1), decided_by=self._decided(),
                           steps=steps, **common)
        bad = next(k for k, s in enumerate(sides) if not s.equal)
        side = sides[bad]
        found = [(r, self._diagnose_reading(side, alternatives[bad], t, refs_of[r.of], r.label,
                                            self.md.reduction if r.of == "J" else None)) for r in readings]
        written = side.expr if side.expr is not None else next(iter(alternatives[bad]), (None,))[0]
        means_j = self._writes_mean(written)   # an answer that writes 1/n means J where both readings are off
        order = sorted(found, key=lambda f: (_mistake_rank(f[1][0]), (f[0].of == "J") != means_j))
        (first, (mistake, message, decided, extra)), *others = order
        if others:
            second, (other_mistake, other_message, _, _) = others[0]
            message = both_readings(first.why, mistake, message, second.why, other_mistake, other_message)
        hint = self.columns_hint(text, nodes[bad], t, refs_of[first.of], original)
        if hint:
            message = f"{message}; {hint}"
        first_bad_step = next((st for st in steps if not st.equal), None)
        if first_bad_step is not None and len(steps) > 1:
            message = f"step {first_bad_step.index} ({first_bad_step.left} = {first_bad_step.right}) " \
                      f"is not an equality; " + message
        elif len(sides) > 1:
            message = f"line {bad + 1} ({side.text.strip()}) is not {first.label}: " + message
        common["of"] = first.of
        return Verdict(INCORRECT, message, decided_by=decided, mistake=mistake, steps=steps,
                       counterexample=extra.get("counterexample"), shapes=extra.get("shapes"), **common)

    def _build(self, text, node, fixes=None, builder=None):
        """One side as a matrix expression: ParseError for what cannot be read, _AnswerShapeError for
        shapes that do not fit."""
        builder = builder or _MatrixBuilder(text, self, fixes)
        try:
            return builder.build(node)
        except (ParseError, _AnswerShapeError):
            raise
        except (ValueError, TypeError, ArithmeticError, AttributeError, IndexError, KeyError) as exc:
            raise _error(f"cannot build this expression ({type(exc).__name__})", text, _pos(node)) from None
