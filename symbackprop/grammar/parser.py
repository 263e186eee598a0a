r"""Parse the lectures' notation into SymPy, with our own lark grammar (never eval).

One LALR grammar (``grammar.lark``) reads both

- the spec's graph equations, ``q = x + y``, ``f = q z``, ``z^{2}_{1} = w^{1}_{1,1} x_1 + b^{1}_{1}``, and
- students' answers in the lectures' LaTeX, ``\frac{\partial L}{\partial w^{1}_{1,1}} =
  (\hat{y} - y)\,\hat{y}(1 - \hat{y})\, w^{2}_{1,1}\, a^{2}_{1}(1 - a^{2}_{1})\, x_1``.

The parse tree is turned into a SymPy expression by :class:`~symbackprop.grammar.builder._Builder`:
numbers become exact Rationals (``0.5`` is 1/2), names become
``names.symbol(canonical)`` (``x_1`` -> ``x_{1}``, ``w_{1,1}^{1}`` -> ``w^{1}_{1,1}``),
``\sigma`` is :class:`symbackprop.ops.functions.sigmoid`, and so on.

What a superscript means is decided here.  Without a ``resolve`` (spec equations) the
rule is syntactic: ``w^{1}_{1,1}`` (superscript first) is a name, ``x^2`` and ``x_1^2`` are
powers.  With ``resolve`` (answers, which know the spec's names) every reading is
tried against the known names: ``a_1^2`` is the node a^{2}_{1} when that node exists,
``(a^{2}_{1})^2`` is a power, ``w^1_{11}`` is w^{1}_{1,1}; a reading that stays ambiguous
is a :class:`ParseError`, never a guess.

Hard bounds (each violation is a ParseError with a column): text length
:data:`MAX_LENGTH`, bracket nesting :data:`MAX_NESTING`, parse-tree depth
:data:`MAX_DEPTH`, numeric exponents ``|p| <= MAX_EXPONENT``, number literals of at
most :data:`MAX_DIGITS` digits, exact numbers of at most :data:`MAX_BITS` bits.

The reader is split by stage: :mod:`.vocabulary` (bounds, functions), :mod:`.tables` (the lark parser and
its shipped tables), :mod:`.syntax` (text -> tree, errors with columns), :mod:`.resolve` (names),
:mod:`.builder` with :mod:`.build_arith` and :mod:`.build_calculus` (tree -> SymPy).  Every name they
had here stays importable from this module.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from ..errors import ParseError  # noqa: F401 (re-exported)
from ..spec import names  # noqa: F401 (the doctests)
# every name the reader had when it was one module (verify.answers_matrix and the tests import them from here)
from .builder import _BAD, _Builder, _build, _expr_depth, _finish, _lhs_name, _sides, _span, _trees  # noqa: F401
from .resolve import _NAMEBASES, _canonical, _NameReading, _Resolver, _sub_variants, _Unknown  # noqa: F401
from .syntax import (_ALLOWED_LATEX, _TOKEN_WORDS, _check_depth, _check_text, _describe_expected, _error,
                     _lark_error, _line_col, _parse_tree, _pos, _unbox)  # noqa: F401
from .tables import GRAMMAR, TABLES, _LARK_OPTIONS, _decode, _encode, _lark, _tables_key, grammar_text, tables_json  # noqa: F401
from .vocabulary import (_USUP_DIGITS, FUNCTIONS, MAX_BITS, MAX_DEPTH, MAX_DIGITS, MAX_EXPONENT, MAX_LENGTH,
                         MAX_NESTING, MAX_PRIMES, MAX_SCRIPTS, MAX_SUM_TERMS, SPEC_CONSTANTS, _is_example_sum,
                         activation_derivative, example_sum)  # noqa: F401

# ---------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Side:
    """One side of a chain ``A = B = C``: its expression and where it is in the text."""

    expr: sympy.Expr
    start: int
    end: int
    source: str

    @property
    def text(self) -> str:
        return self.source[self.start:self.end]


@dataclass(frozen=True)
class Chain:
    """``A = B = ...``, a multi-line derivation read as one chain of equalities."""

    sides: tuple[Side, ...]
    source: str


# ---------------------------------------------------------------------------------------
# Public API


def parse_chain(text: str, resolve=None) -> Chain:
    r"""Parse ``A = B = C`` (one or more sides; ``\\``, newlines, ``&`` and ``$`` are layout).

    Each side becomes a SymPy expression; a Leibniz fraction
    ``\frac{\partial L}{\partial w^{1}_{1,1}}`` becomes an unevaluated
    ``Derivative(L, w^{1}_{1,1})`` that the answer checker reads as "the graph's derivative".
    """
    try:
        return _parse_chain(text, resolve, positions=False)
    except ParseError:
        return _parse_chain(text, resolve, positions=True)  # the error again, with lark's positions


def _parse_chain(text: str, resolve, positions: bool) -> Chain:
    tree = _parse_tree(text, positions)
    resolver = _Resolver(resolve)
    sides = []
    for side in _sides(tree):
        expr = _build(side, text, resolver)
        start, end = _span(side) if not positions or side.meta.empty else (side.meta.start_pos, side.meta.end_pos)
        sides.append(Side(expr, start, end, text))
    return Chain(tuple(sides), text)


def parse_expression(text: str, resolve=None) -> sympy.Expr:
    r"""Parse one expression (no ``=``) into SymPy.

    >>> parse_expression("3(x + 1)") == 3 * (names.symbol("x") + 1)
    True

    ``resolve``: None (any well-formed name is a fresh real symbol; spec equations), or the
    names the text may use: a mapping canonical name -> expression (aliases such as
    ``yhat`` -> a^{3}_{1}), a callable name -> expression or None, or a collection of
    canonical names.  With ``resolve`` an unknown name is a ParseError.
    """
    tree = _parse_tree(text)
    sides = _sides(tree)
    if len(sides) != 1:
        second = sides[1]
        raise _error("expected one expression, found '='", text, second.meta.start_pos - 1)
    return _build(sides[0], text, _Resolver(resolve))


def parse_equation(text: str, resolve=None, *, shadowed=()) -> tuple[str, sympy.Expr]:
    """Parse ``name = expression`` (a spec's graph equation) into (canonical name, SymPy expression).

    The one rule for names: ``e`` and ``pi`` are the constants e and π only when nothing in the
    spec defines them; ``shadowed`` lists those the spec defines (an equation's left-hand side,
    a [data] key or a parameter), which are then plain symbols, as in ``e = c - d``, ``f = e^2``.

    >>> parse_equation("q = x + y")
    ('q', x + y)
    >>> parse_equation("z^{2}_{1} = w_{1,1}^{1} x_1 + b^1_1")[0]
    'z^{2}_{1}'
    """
    tree = _parse_tree(text)
    sides = _sides(tree)
    if len(sides) != 2:
        where = len(text) if len(sides) < 2 else sides[2].meta.start_pos - 1
        raise _error("expected one equation 'name = expression'", text, where)
    lhs, rhs = sides
    name = _lhs_name(lhs, text)
    return name, _build(rhs, text, _Resolver(resolve, shadowed))


if __name__ == "__main__":  # pragma: no cover - a maintainer's tool
    import sys

    if sys.argv[1:] == ["--write-tables"]:
        TABLES.write_text(tables_json(), encoding="ascii")
        print(f"wrote {TABLES}")
    else:
        print("usage: python -m symbackprop.grammar.parser --write-tables", file=sys.stderr)
        sys.exit(2)
