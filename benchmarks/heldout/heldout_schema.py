"""One answer of the held-out set (shared by the answer lists, the runner and the test)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Answer:
    """``tex`` as a student writes it; ``fn`` the same answer by hand for the oracle (None: a bare
    number); ``right`` the author's label, checked against the oracle; ``kind`` the form (right)
    or the mistake (wrong); ``target`` what the oracle differentiates; ``wrt`` what the checker
    is told (None: the answer's left-hand side says it); ``cost`` ∂J/∂θ instead of ∂L/∂θ;
    ``value`` (number, digits after the point) a final numeric step; ``culprit`` names the
    feedback must contain to count as naming the mistake."""

    id: str
    spec: str
    target: str
    tex: str
    fn: Callable | None
    right: bool
    kind: str
    wrt: str | None = None
    cost: bool = False
    value: tuple | None = None
    culprit: tuple = ()
