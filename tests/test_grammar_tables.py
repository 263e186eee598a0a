"""The answer grammar's shipped LALR tables (issue 15: start-up): plain JSON data for exactly
this grammar.lark and this lark, read without pickle; a parser from them parses as the parser
built from the grammar does, with and without positions."""
from __future__ import annotations

import json

from lark import Lark

from symbackprop.grammar import parser as P
from symbackprop.grammar import tables as T

SAMPLES = [r"(\hat{y} - y)\hat{y}(1-\hat{y}) a^{2}_{1}",
           r"\frac{\partial L}{\partial w^{1}_{1,1}} = \sum_{j=1}^{2} w^{2}_{1,j} a^{2}_{j} \cdot \sigma'(z)",
           "x^2 + 3(x+1)/y = 2^3^2", r"dz_2 W_2^T \odot a_1(1 - a_1)", r"\left[ e^{-z} \right] \approx 0.5"]


def test_the_shipped_tables_belong_to_this_grammar():
    grammar = P.grammar_text()
    blob = json.loads(P.TABLES.read_text(encoding="ascii"))
    assert blob["key"] == P._tables_key(grammar), \
        "grammar.lark changed: run python -m symbackprop.grammar.parser --write-tables"
    # (the LALR state numbering differs between builds, so the file is not compared byte for byte)


def test_the_loaded_parser_parses_as_the_built_one():
    built = Lark(P.grammar_text(), propagate_positions=True, **P._LARK_OPTIONS)
    for text in SAMPLES:
        assert P._lark(True).parse(text) == built.parse(text)
        assert P._lark(False).parse(text) == built.parse(text)
    assert not P._lark(False).options.propagate_positions


def test_stale_tables_are_ignored(tmp_path, monkeypatch):
    stale = tmp_path / "tables.json"
    stale.write_text(json.dumps({"key": "not this grammar", "data": {}, "memo": {}}), encoding="ascii")
    monkeypatch.setattr(T, "TABLES", stale)  # where the loader reads it
    P._lark.cache_clear()
    try:
        assert P._lark(True).parse(SAMPLES[0]) is not None
    finally:
        P._lark.cache_clear()


def test_errors_keep_their_columns_without_positions():
    import pytest

    with pytest.raises(P.ParseError) as exc:
        P.parse_chain(r"x + \bogus{y}", resolve={"x": None, "y": None})
    assert exc.value.column == 5
    chain = P.parse_chain(r"\frac{dy}{dx} = 2 x = 2x", resolve=None)
    assert [s.text for s in chain.sides] == [r"\frac{dy}{dx}", "2 x", "2x"]
