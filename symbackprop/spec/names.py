r"""Canonical names, in the lectures' index notation, and their SymPy symbols.

A weight w^{k}_{i,j} joins node j of layer k to node i of layer k + 1; layer 1 is the
input layer (a^{1}_{j} = x_j), layer L the output (a^{L}_{i} = \hat{y}_i).

>>> weight(1, 1, 2), bias(1, 1), pre_activation(2, 1), activation(3, 1)
('w^{1}_{1,2}', 'b^{1}_{1}', 'z^{2}_{1}', 'a^{3}_{1}')

Every symbol is ``Symbol(canonical_name, real=True)``, so the parser, the graph and
the renderer agree on names without a lookup table; ``identifier`` gives the
Python name used in generated code (``w^{1}_{1,2}`` -> ``w_1_1_2``).
"""
from __future__ import annotations

import re
from functools import lru_cache

import sympy

LOSS = "L"


def weight(k: int, i: int, j: int) -> str:
    return f"w^{{{k}}}_{{{i},{j}}}"


def bias(k: int, i: int) -> str:
    return f"b^{{{k}}}_{{{i}}}"


def shared_bias(k: int) -> str:
    """The one bias of layer k + 1 when a spec shares biases ([network].biases = "shared"): b^{k}."""
    return f"b^{{{k}}}"


def layer_bias(k: int, i: int, shared: bool) -> str:
    """The bias added to node i of layer k + 1: b^{k}_{i}, or b^{k} when the layer shares one."""
    return shared_bias(k) if shared else bias(k, i)


def pre_activation(k: int, i: int) -> str:
    return f"z^{{{k}}}_{{{i}}}"


def activation(k: int, i: int) -> str:
    return f"a^{{{k}}}_{{{i}}}"


def feature(j: int) -> str:
    """The input x_j (the lectures' a^{1}_{j})."""
    return f"x_{{{j}}}"


def target(k: int) -> str:
    return f"y_{{{k}}}"


@lru_cache(maxsize=None)
def symbol(name: str) -> sympy.Symbol:
    """The one SymPy symbol for a canonical name (always real)."""
    return sympy.Symbol(name, real=True)


_INDEXED = re.compile(r"^([A-Za-z]+)\^\{(\d+)\}_\{(\d+(?:,\d+)*)\}$")
_SUBSCRIPTED = re.compile(r"^([A-Za-z]+)_\{?(\d+)\}?$")


def identifier(name: str) -> str:
    """A Python identifier for a canonical name (used in generated NumPy code)."""
    m = _INDEXED.match(name)
    if m:
        return "_".join([m.group(1), m.group(2), *m.group(3).split(",")])
    m = _SUBSCRIPTED.match(name)
    if m:
        return f"{m.group(1)}_{m.group(2)}"
    out = re.sub(r"[^0-9A-Za-z_]", "_", name)
    if not out or out[0].isdigit():
        out = "v_" + out
    return out


def split_indexed(name: str):
    """``'w^{1}_{1,2}'`` -> ``('w', 1, (1, 2))``; ``'x_{3}'`` -> ``('x', None, (3,))``; else None."""
    m = _INDEXED.match(name)
    if m:
        return m.group(1), int(m.group(2)), tuple(int(t) for t in m.group(3).split(","))
    m = _SUBSCRIPTED.match(name)
    if m:
        return m.group(1), None, (int(m.group(2)),)
    return None


#: what a network name's letter is, for messages that list "the known names of that kind"
NAME_KINDS = {"w": "weights", "b": "biases", "z": "pre-activations", "a": "activations", "x": "inputs",
              "y": "targets", "hat": "outputs"}

_TEX_COMMAND = re.compile(r"\\(?!hat)[A-Za-z]+")


def name_kind(text: str) -> str | None:
    r"""The kind a written name is of, by its letter: ``W^{[2]}_{11}`` -> ``"w"``, ``\hat{yy}`` -> ``"hat"``;
    None for a word that is no network name (``q2``, ``sigmoid``)."""
    text = str(text)
    if "hat" in text or "ŷ" in text:
        return "hat"
    m = re.match(r"[{(\s]*([A-Za-z]+)", _TEX_COMMAND.sub("", text))
    if m is None:
        return None
    word = m.group(1)
    return word.lower() if len(word) == 1 and word.lower() in NAME_KINDS else None


def quoted(text, limit: int = 60) -> str:
    r"""A user's name in a one-line message, quoted once as typed (``'\hat{y}'``, not ``'\\hat{y}'``);
    control characters escaped, long text shortened."""
    text = str(text)
    short = text[:limit]
    short = "".join(c if c.isprintable() else repr(c)[1:-1] for c in short)
    return f"'{short}'" + ("..." if len(text) > limit else "")


def unknown_name(text, known, *, spellings=(), outputs=(), option: str | None = "--wrt", limit: int = 30,
                 word: str | None = None, also: str = "") -> str:
    r"""The one-line message for a name that is in no spelling of the spec's names.

    ``known``: the canonical names (graph order); ``spellings``: the other accepted spellings
    (``yhat``, ``\hat{y}``, ``a^{1}_{1}``), used only to recognise a typo; ``outputs``: the output's
    spellings, listed for a ``\hat{...}``; ``option``: the argument named first (None: none, for Python);
    ``word``: what ``known`` are, when all of them are listed ("gradient matrices"); ``also``: said after
    the list.  Otherwise the names listed are those of the same kind (:data:`NAME_KINDS`: a weight lists
    the weights), or all of them.  A suggestion is offered only for a real typo
    (:func:`symbackprop.errors.typo_suggestion`), never another parameter:

    >>> unknown_name("w^{3}_{1,1}", ["x_{1}", "w^{1}_{1,1}", "w^{2}_{1,1}", "L"])
    "--wrt: unknown name 'w^{3}_{1,1}' (the spec's weights: w^{1}_{1,1}, w^{2}_{1,1})"
    """
    from ..errors import typo_suggestion

    known = [str(k) for k in known]
    kind = name_kind(text)
    if word is not None:
        same = known
    elif kind == "hat" and outputs:
        same, word = list(outputs), NAME_KINDS["hat"]
    else:
        same = [k for k in known if kind is not None and name_kind(k) == kind]
        word = NAME_KINDS.get(kind) if same else None
    if not same:
        same, word = known, "names"
    listing = ", ".join(same[:limit]) + (f", ... ({len(same)} in all)" if len(same) > limit else "")
    fix = typo_suggestion(text, [*known, *spellings, *outputs])
    lead = f"{option}: unknown name" if option else "unknown name"
    return f"{lead} {quoted(text)}{fix} (the spec's {word}: {listing}{also})"
