r"""The matrix reader's public names, where they have always been imported from
(the reader is :mod:`symbackprop.verify.matrix_reader`; see :mod:`symbackprop.verify.answers`)."""
from __future__ import annotations

from .matrix_eval import Elementwise, EVAL_MAX_PRODUCTS, MAX_TRIES, Power
from .matrix_names import COST_WORDS
from .matrix_reader import MatrixAnswerChecker

__all__ = ['COST_WORDS', 'Elementwise', 'EVAL_MAX_PRODUCTS', 'MatrixAnswerChecker', 'MAX_TRIES', 'Power']
