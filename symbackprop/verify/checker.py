r"""Check a student's hand derivation against the derivation, with feedback in the lectures' terms.

An answer such as

    \frac{\partial L}{\partial w^{1}_{1,1}} = (\hat{y} - y)\,\hat{y}(1 - \hat{y})\, w^{2}_{1,1}\, a^{2}_{1}(1 - a^{2}_{1})\, x_1

is correct when it equals the chain-rule derivative ∂L/∂w^{1}_{1,1} of the spec *as a function of
the inputs, targets and parameters*, whatever legitimate form it takes (σ(z) or a, a(1 − a) or
σ(z)(1 − σ(z)), expanded or factored, intermediates or fully substituted).  What is
differentiated is what the answer says: ∂L/∂θ (or no left-hand side) is per example, as the lectures
write it; ∂J/∂θ (also C, E) is the cost J = r Σ_e L_e (r = 1/n for the mean): r Σ_e ∂L_e/∂θ for a
parameter, r ∂L_e/∂z of one example e for a node z (z of example e is in L_e only);
∂𝓛/∂θ is either (𝓛 is the cost in some courses, the per-example loss in Ng's), the verdict naming
the reading.  The note says which was assumed.

How it is decided (the verdict's ``decided_by`` says which):

1. **exact evaluation** (always): both are evaluated at 6 or more random rational points (p/q with
   q a prime from 3 to 31, never an integer; different for every leaf; targets in the loss's
   domain; every ReLU kink seen on both sides, see :mod:`.points`) *exactly*: the forward pass
   runs in the field Q(e, exp(u_1), ..., log 2, ...) of independent transcendental atoms
   (σ(2) is e²/(e² + 1), never a float), and two numbers of that field are compared through
   two random homomorphisms into GF(2^61 − 1) (see :class:`Value`).  Different at one point:
   incorrect, with that point as the counterexample.
2. **symbolic** (when the points agree): the answer and the reference, both written in node
   symbols (σ(z^{2}_{1}) read as a^{2}_{1}, every ∂A/∂B replaced by the graph's derivative),
   differ by an expression that ``sympy.cancel`` reduces to 0 within a time bound: a proof.

Floats are used only to read the sign of a number known to be non-zero (ReLU, log) and to print
a counterexample.

Feedback (``mistake``): ``sign``, ``constant_factor`` (a stray 2, a missing ½, the batch's
1/n; with n = 2 both readings when both fit), ``missing_factor`` / ``extra_factor`` (named, with
the edge it belongs to), ``activation_derivative_missing`` / ``activation_derivative_twice``,
``missing_path`` (only some paths of influence summed), ``wrong_index``, then the likely mistakes
generated from the derivation (:mod:`.mutations`, :mod:`.mutations_paths`: ``transposed_indices``,
``wrong_parameter``, ``extra_path``, ``activation_derivative_at_a`` / ``_in_z`` / ``_wrong_node`` /
``_incomplete``, ``activation_for_derivative``, ``wrong_activation_derivative``, ``wrong_factor``),
else ``counterexample``.
A multi-line derivation ``A = B = C`` is checked step by step; the first step that is not an
equality is named.

Matrix specs (``notation = "matrix"``) also accept the slides' matrix notation
(``dW_2 = a_1^T dz_2``), checked by :mod:`symbackprop.verify.answers_matrix` (shapes by dimension name,
then every entry exactly, with the same exact field).

>>> from symbackprop import derive, load_spec
>>> checker = AnswerChecker(derive(load_spec("derivations/computational_graph.toml")))
>>> checker.check(r"\frac{\partial f}{\partial x} = z").verdict
'correct'
"""
from __future__ import annotations

import dataclasses
import re
from functools import cached_property, lru_cache

from ..errors import NotSupportedError, ParseError, SpecError, SymbackpropError
from .counterexample import _Counterexamples
from .diagnose import _Diagnosis
from .index_lazy import _LazyPoints
from .index_points import _SamplePoints
from .index_reader import _IndexReader
from .index_reference import _References
from .limits import _Budget, _time_limit, ANSWER_SECONDS
from .mutations import _Mutations
from .points import _parameter_count, N_POINTS, SCALAR_MAX_PARAMETERS
from ..grammar.notation import readings
from .verdict import _progress, _unparseable, CORRECT, failure_verdict, UNPARSEABLE, Verdict
from .vocabulary import answer_names


_MATRIX_GRADIENT = re.compile(r"\s*d(W|w|Z|z|b|B|a|A|\\hat|\\delta)")


#: an indicator written with a non-strict comparison: 1[a \ge 0], \mathbb{1}[a ≥ 0]
_NON_STRICT_INDICATOR = re.compile(r"(?:\\math(?:bb|bf)\s*\{?\s*1\s*\}?|\b1)\s*(?:\\left)?\s*\[[^\]]*(?:\\geq?|≥)")


class AnswerChecker(_References, _SamplePoints, _LazyPoints, _IndexReader, _Diagnosis, _Mutations,
                    _Counterexamples):
    """Checks answers against one derivation; caches reference values per ``wrt``.

    ``check(text, wrt=None)``: ``wrt`` is the parameter or node (any accepted spelling:
    ``w^{1}_{1,1}``, ``w_{1,1}^1``, ``\\hat{y}``); a Leibniz left-hand side in the answer
    can give it instead.

    ``AnswerChecker(derivation)`` or ``AnswerChecker(spec)`` (the per-scalar derivation is then
    built only when an index-notation answer needs it).  For a spec with ``notation = "matrix"``
    (or a network too big for per-scalar derivation) answers in the slides' matrix notation are
    accepted too (``dW_2 = a_1^T dz_2``; see :mod:`symbackprop.verify.answers_matrix`): an answer is
    read in index notation first and, when that reading fails, in matrix notation.
    """

    def __init__(self, derivation, *, seed: int = 0, n_points: int = N_POINTS):
        from ..spec.load import Spec

        if isinstance(derivation, Spec):
            self.spec, self._d = derivation, None
        else:
            self.spec, self._d = getattr(derivation, "spec", None), derivation
        self.seed = seed
        self.n_points = n_points
        self._points = None
        self._reference_cache: dict = {}
        self._value_cache: dict = {}
        self._total_cache: dict = {}
        self._matrix = None

    @property
    def d(self):
        """The per-scalar derivation (built on first use when the checker was made from a spec)."""
        if self._d is None:
            n = _parameter_count(self.spec)
            if n > SCALAR_MAX_PARAMETERS:
                raise NotSupportedError(f"this network has {n} parameters, too many for per-scalar answers; "
                                        "write the answer in matrix notation, e.g. --wrt dW_1 --answer 'x^T dz_1'")
            from ..derivation.chain_rule import derive

            self._d = derive(self.spec)
        return self._d

    @property
    def graph(self):
        return self.d.graph

    @cached_property
    def names(self) -> dict:
        return answer_names(self.d)

    @cached_property
    def shown(self) -> dict:
        """The lectures' display names of the output and target (ŷ, y) for printing feedback."""
        from ..render.printers import output_names

        try:
            return output_names(self.graph)
        except (AttributeError, TypeError):  # pragma: no cover - a graph without outputs
            return {}

    @cached_property
    def _activation_form(self) -> dict:
        return {
            n.definition: n.symbol for n in self.graph.nodes
            if n.definition is not None and n.kind == "activation" and not n.definition.is_Symbol
        }

    @property
    def matrix(self):
        """The matrix-notation checker (:class:`symbackprop.verify.answers_matrix.MatrixAnswerChecker`) for
        matrix specs and big networks, else None."""
        if self._matrix is None:
            spec = self.spec
            wanted = spec is not None and getattr(spec, "network", None) is not None and (
                getattr(spec, "notation", "index") == "matrix" or _parameter_count(spec) > SCALAR_MAX_PARAMETERS)
            if not wanted:
                self._matrix = False
            else:
                from .matrix_reader import MatrixAnswerChecker

                try:
                    self._matrix = MatrixAnswerChecker(spec, seed=self.seed, n_points=self.n_points)
                except SymbackpropError:  # no matrix rule for this network: index notation only
                    self._matrix = False
        return self._matrix or None

    def check(self, text: str, wrt: str | None = None, *, accept_numbers: bool = False) -> Verdict:
        """Check one answer; never raises for bad answers (they get ``unparseable``).

        An answer that is only a number is compared with the derivative's value at the spec's data
        and parameters: the right value is ``incorrect`` with mistake ``numeric_value`` ("right value
        at the given numbers; write the derivative symbolically") unless ``accept_numbers``; a chain
        whose last step is a number needs the right value there."""
        try:
            with _time_limit(ANSWER_SECONDS):
                matrix = self.matrix
                if matrix is None:
                    return self._scalar_verdict(text, wrt, accept_numbers)
                return self._routed(text, wrt, matrix, accept_numbers)
        except _Budget:
            return Verdict(UNPARSEABLE, f"the answer could not be checked within {ANSWER_SECONDS:g} s; "
                           "write it more simply", wrt=wrt, error={"message": "time limit"})
        except Exception as exc:  # every input ends in a verdict, never a traceback
            return failure_verdict(exc, wrt)

    def _scalar_verdict(self, text, wrt, accept_numbers: bool = False) -> Verdict:
        """The index-notation check (raises only _Budget).

        An answer (or a ``--wrt``) that could be read in two conventions (Nielsen's w^{l}_{jk}) is read
        in each, the answer and its ``--wrt`` in the same one: the first right reading, else the first
        that could be read (each reading's note names its convention)."""
        convention = getattr(self.d.spec, "convention", None)
        answers = readings(text, convention=convention)
        names = (None,) if wrt is None or wrt in self.graph.by_name else readings(wrt, convention=convention)
        pairs = [(answers[min(k, len(answers) - 1)], names[min(k, len(names) - 1)], k)
                 for k in range(max(len(answers), len(names)))]
        verdicts, wrt_error = [], None
        for reading, name_reading, k in pairs:
            try:
                as_read = wrt if (k == 0 and convention != "nielsen") else getattr(name_reading, "text", wrt)
                wrt_name = None if wrt is None else self.resolve_wrt(as_read)
            except SymbackpropError as exc:
                wrt_error = wrt_error or exc
                continue
            except RecursionError:
                return Verdict(UNPARSEABLE, "the name is nested too deeply", error={"message": "nested too deeply"})
            verdict = self._reading_verdict(text, wrt_name, accept_numbers, reading)
            if len(names) > 1 and len(answers) == 1:   # only the --wrt had two readings: say which was read
                said = name_reading.conventions[-1]
                verdict = dataclasses.replace(verdict, note="; ".join(n for n in (verdict.note, f"--wrt: {said}") if n))
            if verdict.verdict == CORRECT:
                return verdict
            verdicts.append(verdict)
        if not verdicts:
            return _unparseable(wrt_error)
        return next((v for v in verdicts if v.verdict != UNPARSEABLE), verdicts[0])

    def _reading_verdict(self, text, wrt_name, accept_numbers, reading) -> Verdict:
        try:
            verdict = self._check(text, wrt_name, accept_numbers, reading)
            if verdict.mistake == "activation_derivative_missing" and _NON_STRICT_INDICATOR.search(text):
                verdict = dataclasses.replace(verdict, feedback=verdict.feedback + (
                    "; an indicator with ≥ of a ReLU unit's output, 1[a ≥ 0], is 1 everywhere (a is never "
                    "negative): ReLU′(z) = 1[z > 0]"))
            return verdict
        except ParseError as exc:
            return _unparseable(exc, wrt_name)
        except (NotSupportedError, SpecError) as exc:
            return _unparseable(exc, wrt_name)
        except RecursionError:
            return Verdict(UNPARSEABLE, "the answer is nested too deeply to check; write it more simply",
                           wrt=wrt_name, error={"message": "nested too deeply"})

    def _scalar_wrt_ok(self, wrt) -> bool:
        try:
            self.resolve_wrt(wrt)
        except (SymbackpropError, RecursionError):
            return False
        return True

    def _routed(self, text, wrt, matrix, accept_numbers: bool = False) -> Verdict:
        """A matrix spec: index notation for index names, matrix notation for matrix names; when
        both readings are possible (``z_2``, ``b_2`` of a width-1 layer, or no ``--wrt``), the
        index reading first and the matrix reading when that one cannot be read."""
        if wrt is not None:
            as_matrix = matrix.is_target(wrt)
            # a gradient's name (dW_2, dz_1, d\hat{y}) is never an index name: no per-scalar derivation for it
            as_scalar = False if as_matrix and _MATRIX_GRADIENT.match(wrt) else self._scalar_wrt_ok(wrt)
            if as_matrix and not as_scalar:
                return matrix.verdict(text, wrt)
            if as_scalar and not as_matrix:
                return self._scalar_verdict(text, wrt, accept_numbers)
            if not as_scalar and not as_matrix:
                # report in the notation the name is written in: w^{1}_{9,9} is index notation
                if "^{" in wrt or "," in wrt:
                    return self._scalar_verdict(text, wrt, accept_numbers)
                return matrix.verdict(text, wrt)  # its message lists the gradient matrices
        scalar = self._scalar_verdict(text, wrt, accept_numbers)
        if scalar.verdict != UNPARSEABLE:
            return scalar
        matrix_verdict = matrix.verdict(text, wrt)
        if matrix_verdict.verdict != UNPARSEABLE:
            return matrix_verdict
        # neither reading works: report the one that read further into the answer
        return scalar if _progress(scalar) > _progress(matrix_verdict) else matrix_verdict


@lru_cache(maxsize=16)
def _checker_for(path: str, mtime: float) -> AnswerChecker:
    from ..derivation.chain_rule import derive
    from ..spec.load import load_spec

    spec = load_spec(path)
    matrix = spec.network is not None and (spec.notation == "matrix" or _parameter_count(spec) > SCALAR_MAX_PARAMETERS)
    # matrix specs: the per-scalar derivation is built on first use (a matrix answer never needs it)
    return AnswerChecker(spec if matrix else derive(spec))


def checker_for_spec(path) -> AnswerChecker:
    """A cached checker for a spec file (re-read when the file changes)."""
    import os

    p = os.fspath(path)
    try:
        mtime = os.path.getmtime(p)
    except OSError:
        mtime = 0.0
    return _checker_for(p, mtime)


def check_answer(derivation_or_checker, text: str, wrt: str | None = None) -> Verdict:
    """Check one answer (see :class:`AnswerChecker`)."""
    checker = derivation_or_checker if isinstance(derivation_or_checker, AnswerChecker) \
        else AnswerChecker(derivation_or_checker)
    return checker.check(text, wrt)
