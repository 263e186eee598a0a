r"""The lark parser of grammar.lark: built from the grammar, or loaded from its shipped LALR tables.

Takes grammar.lark (with its FUNC token spelled out from :data:`~symbackprop.grammar.vocabulary.ALL_FUNCTIONS`);
gives :func:`_lark`, the parser, built once per process.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from lark import Lark
from lark.exceptions import LarkError

from .vocabulary import ALL_FUNCTIONS

GRAMMAR = Path(__file__).with_name("grammar.lark")
#: the LALR tables of grammar.lark, serialized as plain JSON data (never pickle, never code): loading
#: them takes a few ms where building the parser takes ~0.1 s.  Regenerate with
#: ``python -m symbackprop.grammar.parser --write-tables`` (a test checks that they are up to date;
#: stale or missing tables are ignored and the parser is built from the grammar).
TABLES = Path(__file__).with_name("grammar_tables.json")
_LARK_OPTIONS = {"parser": "lalr", "lexer": "basic", "maybe_placeholders": False}


def _tables_key(grammar: str) -> str:
    import hashlib
    import lark

    text = f"{lark.__version__}\n{sorted(_LARK_OPTIONS.items())}\n{grammar}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _encode(o):
    """JSON for lark's serialized parser: dicts with non-string keys and tuples are tagged."""
    if isinstance(o, dict):
        if all(isinstance(k, str) and not k.startswith("\u0000") for k in o):
            return {k: _encode(v) for k, v in o.items()}
        return {"\u0000d": [[_encode(k), _encode(v)] for k, v in o.items()]}
    if isinstance(o, tuple):
        return {"\u0000t": [_encode(v) for v in o]}
    if isinstance(o, list):
        return [_encode(v) for v in o]
    if o is None or isinstance(o, (str, int, float, bool)):
        return o
    raise TypeError(f"cannot serialize {type(o).__name__}")


def _decode(d: dict):
    if len(d) == 1:
        if "\u0000d" in d:
            return {k: v for k, v in d["\u0000d"]}
        if "\u0000t" in d:
            return tuple(d["\u0000t"])
    return d


def tables_json(grammar: str | None = None) -> str:
    """The serialized parser of ``grammar`` (default grammar.lark) as JSON text."""
    import lark

    grammar = grammar_text() if grammar is None else grammar
    parser = Lark(grammar, propagate_positions=True, **_LARK_OPTIONS)
    data, memo = parser.memo_serialize([lark.lexer.TerminalDef, lark.grammar.Rule])
    return json.dumps({"key": _tables_key(grammar), "data": _encode(data), "memo": _encode(memo)},
                      ensure_ascii=True, separators=(",", ":"), sort_keys=True) + "\n"


def grammar_text() -> str:
    """grammar.lark with its FUNC token spelled out from :data:`ALL_FUNCTIONS` (the spec's and the answers')."""
    names = sorted((re.escape(k) for k in ALL_FUNCTIONS if k != "σ"), key=lambda k: (-len(k), k))
    return GRAMMAR.read_text(encoding="utf-8").replace("@FUNCS@", "|".join(names))


@lru_cache(maxsize=2)
def _lark(positions: bool = True) -> Lark:
    """The answer grammar's parser, built once per process (per ``positions``): from the shipped
    tables when they belong to this grammar and this lark, else from the grammar."""
    grammar = grammar_text()
    try:
        blob = json.loads(TABLES.read_text(encoding="ascii"), object_hook=_decode)
        if blob.get("key") == _tables_key(grammar):
            return Lark._load_from_dict(blob["data"], blob["memo"], propagate_positions=positions)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, LarkError):
        pass
    return Lark(grammar, propagate_positions=positions, **_LARK_OPTIONS)
