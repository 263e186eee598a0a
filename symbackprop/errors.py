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
