r"""The answer checker's public names, where they have always been imported from.

The checker itself is one core read by two readers, in small modules of this package:

- the core: :mod:`.exact` (exact numbers at a point), :mod:`.points` (sample points, kinks),
  :mod:`.limits` (time limits), :mod:`.verdict` (verdicts, one-line failures);
- the index reader: :mod:`.checker` (:class:`AnswerChecker`, which routes matrix answers to the matrix
  reader), :mod:`.index_reader`, :mod:`.index_reference`, :mod:`.index_points`, :mod:`.index_lazy`,
  :mod:`.diagnose`, :mod:`.counterexample`, :mod:`.vocabulary`;
- the matrix reader: :mod:`.matrix_reader` (:class:`MatrixAnswerChecker`), :mod:`.matrix_builder`,
  :mod:`.matrix_names`, :mod:`.matrix_eval`, :mod:`.matrix_points`, :mod:`.matrix_diagnose`,
  :mod:`.matrix_shapes`.

>>> from symbackprop import derive, load_spec
>>> checker = AnswerChecker(derive(load_spec("derivations/computational_graph.toml")))
>>> checker.check(r"\frac{\partial f}{\partial x} = z").verdict
'correct'
"""
from __future__ import annotations

from .checker import AnswerChecker, check_answer, checker_for_spec
from .exact import _MP, ExactPoint, N_ASSIGNMENTS, NUMERIC_DIGITS, PRIME, readable_number, Value
from .limits import ANSWER_SECONDS, SYMBOLIC_SECONDS
from .points import FRIENDLY, LAZY_MIN_PARAMETERS, N_POINTS, random_rational, SCALAR_MAX_PARAMETERS
from .verdict import CORRECT, failure_verdict, INCORRECT, LazyExpected, Step, UNPARSEABLE, Verdict
from .vocabulary import answer_names, COST, COST_NAMES

__all__ = ['_MP', 'answer_names', 'ANSWER_SECONDS', 'AnswerChecker', 'check_answer', 'checker_for_spec', 'CORRECT', 'COST', 'COST_NAMES', 'ExactPoint', 'failure_verdict', 'FRIENDLY', 'INCORRECT', 'LAZY_MIN_PARAMETERS', 'LazyExpected', 'N_ASSIGNMENTS', 'N_POINTS', 'NUMERIC_DIGITS', 'PRIME', 'random_rational', 'readable_number', 'SCALAR_MAX_PARAMETERS', 'Step', 'SYMBOLIC_SECONDS', 'UNPARSEABLE', 'Value', 'Verdict']
