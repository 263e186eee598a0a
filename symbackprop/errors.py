"""The error hierarchy: every problem a user can cause is one of these.

``SymbackpropError`` is the root; the CLI catches it and prints one line
(``file: place: what is wrong; what is allowed``) and exits 2, never a traceback.

- ``SpecError``: a spec file is unreadable, has an unknown key or name, or the
  wrong shape or type somewhere.
- ``ParseError``: an equation or answer does not follow our grammar (with the
  column of the problem).
- ``NotSupportedError``: valid input that symbackprop does not handle (yet).
"""
from __future__ import annotations

import difflib


class SymbackpropError(Exception):
    """Root of every error symbackprop raises on purpose."""


class WouldOverwrite(SymbackpropError):
    """An output file exists and ``force`` was not given. ``str()`` speaks to Python callers
    (``force=True``), ``cli_message`` to the command line (``--force``)."""

    def __init__(self, path: str, extra: str = ""):
        self.path = path
        self.cli_message = f"{path} exists; pass --force to overwrite it{extra}"
        super().__init__(f"{path} exists; pass force=True to overwrite it{extra}")


class SpecError(SymbackpropError, ValueError):
    """A spec file (or spec dictionary) is invalid."""


class ParseError(SymbackpropError, ValueError):
    """Text did not parse; ``column`` (1-based) says where, when known."""

    def __init__(self, message: str, *, text: str | None = None, column: int | None = None):
        self.text = text
        self.column = column
        if text is not None and column is not None:
            pointer = " " * (column - 1) + "^"
            message = f"{message} (column {column})\n  {text}\n  {pointer}"
        super().__init__(message)


class NotSupportedError(SymbackpropError):
    """Valid input that symbackprop does not support."""


def did_you_mean(word: str, allowed) -> str:
    """``"; did you mean 'sigmoid'?"`` when a close match exists, else ``""``."""
    close = difflib.get_close_matches(str(word), [str(a) for a in allowed], n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def typo_suggestion(word: str, allowed) -> str:
    """``"; did you mean 'sigmoid'?"`` only for a typo: never a different parameter or node.

    A candidate must match after ignoring case, spaces, braces and commas, or be very close
    (difflib ratio >= 0.85) with exactly the same digits in the same order, so that
    ``w_{11}^1`` is never "corrected" to ``w^{2}_{1,1}`` and ``x`` never to ``y``.
    """
    import re

    def squash(s):
        return re.sub(r"[\s{}(),\\]", "", str(s)).lower()

    def digits(s):
        return re.sub(r"\D", "", str(s))

    word = str(word)
    allowed = [str(a) for a in allowed]
    for a in allowed:
        if squash(a) == squash(word) and a != word:
            return f"; did you mean '{a}'?"
    same = [a for a in allowed if digits(a) == digits(word) and len(squash(a)) >= 3]
    close = difflib.get_close_matches(squash(word), [squash(a) for a in same], n=1, cutoff=0.85)
    if close:
        return f"; did you mean '{same[[squash(a) for a in same].index(close[0])]}'?"
    return ""
