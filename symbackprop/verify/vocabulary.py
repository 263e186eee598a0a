r"""The names an index-notation answer may use (:mod:`symbackprop.derivation.spellings`, where
``Derivation.resolve`` reads them too, so that every name argument reads like ``verify --wrt``)."""
from __future__ import annotations

from ..derivation.spellings import answer_names, COST, COST_NAMES

__all__ = ["answer_names", "COST", "COST_NAMES"]
