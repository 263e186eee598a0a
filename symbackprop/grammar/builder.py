r"""Parse tree -> SymPy: :class:`_Builder`, bottom up, and the checks on what it built.

Takes a lark tree of one side and a :class:`~symbackprop.grammar.resolve._Resolver`; gives a finite real SymPy
expression (:func:`_build`) or a ParseError with the column.  The builder is put together from one mixin per
construct: arithmetic and powers (build_arith), names (resolve), example i inside a sum over the examples
(build_examples), derivatives, functions and sums (build_calculus).
"""
from __future__ import annotations

import sympy
from lark import Token, Tree

from ..errors import ParseError
from .build_arith import _Arithmetic
from .build_calculus import _Calculus
from .build_examples import _ExampleIndex
from .resolve import _NAMEBASES, _NameReading, _Resolver, _Unknown
from .syntax import _error, _pos
from .vocabulary import MAX_BITS, MAX_DEPTH, MAX_EXPONENT

def _trees(node: Tree) -> list:
    """The children that carry meaning (named tokens like '(' dropped)."""
    return [c for c in node.children
            if isinstance(c, Tree) or c.type in ("NUMBER", "NAME", "GREEK", "FUNC", "PRIME", "USUP", "UHAT", "SUP", "SUB")]


_BAD = (sympy.zoo, sympy.nan, sympy.oo, -sympy.oo)


class _Builder(_Arithmetic, _NameReading, _ExampleIndex, _Calculus):
    """Evaluates a parse tree to SymPy, bottom up, with the bounds checked at each step."""

    def __init__(self, text: str, resolver: _Resolver):
        self.text = text
        self.resolver = resolver
        self.env: dict[str, int] = {}   # bound \sum indices

def _expr_depth(expr) -> int:
    deepest = 0
    stack = [(expr, 1)]
    while stack:
        e, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            break
        stack.extend((a, depth + 1) for a in e.args)
    return deepest


def _finish(expr, text: str, node) -> sympy.Expr:
    """Reject results that are not finite real expressions, too deep, or exact numbers too large to use."""
    if not isinstance(expr, sympy.Expr):
        raise _error("not an expression", text, _pos(node))
    if _expr_depth(expr) > MAX_DEPTH // 2:
        raise _error(f"expression nested more than {MAX_DEPTH // 2} levels deep", text, _pos(node))
    for sub in sympy.preorder_traversal(expr):
        if sub in _BAD or sub is sympy.S.ComplexInfinity or sub is sympy.S.NaN:
            raise _error("the expression is undefined (division by zero or log of 0)", text, _pos(node))
        if sub.is_Rational and max(abs(sub.p).bit_length(), sub.q.bit_length()) > MAX_BITS:
            raise _error(f"a number in the expression has more than {MAX_BITS} bits", text, _pos(node))
        if sub.is_Pow and sub.exp.is_Rational and (abs(sub.exp.p) > MAX_EXPONENT or sub.exp.q > MAX_EXPONENT):
            raise _error(f"the combined exponent {sub.exp} is too large; |exponent| <= {MAX_EXPONENT} is allowed",
                         text, _pos(node))
        if sub is sympy.I:
            raise _error("the expression is not real", text, _pos(node))
    return expr


def _build(node, text: str, resolver: _Resolver) -> sympy.Expr:
    builder = _Builder(text, resolver)
    try:
        expr = builder.build(node)
    except ParseError:
        raise
    except _Unknown as exc:  # pragma: no cover - only raised inside \sum
        raise _error(f"unknown name {exc.args[0]!r}", text, _pos(node)) from None
    except (ValueError, TypeError, ArithmeticError, RecursionError, AttributeError, IndexError, KeyError) as exc:
        raise _error(f"cannot build this expression ({type(exc).__name__})", text, _pos(node)) from None
    return _finish(expr, text, node)


def _span(node) -> tuple:
    """(start, end) of a subtree in the text, from its first and last tokens."""
    first = last = None
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Token):
            if first is None or n.start_pos < first:
                first = n.start_pos
            if last is None or n.end_pos > last:
                last = n.end_pos
        else:
            stack.extend(n.children)
    return first, last


def _sides(tree: Tree) -> list:
    chain = tree.children[0]
    return [c for c in chain.children if isinstance(c, Tree)]


def _lhs_name(node, text: str) -> str:
    builder = _Builder(text, _Resolver(None))
    scripts = []
    if isinstance(node, Tree) and node.data == "scripted":
        node, scripts = node.children[0], node.children[1:]
    if isinstance(node, Tree) and node.data in _NAMEBASES:
        base = builder.base_name(node)
        if not scripts:
            return base
        if all(s.data in ("superscript", "subscript") for s in scripts) and len({s.data for s in scripts}) == len(scripts):
            sup = sub = None
            for s in scripts:
                items = builder.index_items(s.children[-1])
                if items is None:
                    break
                if s.data == "superscript":
                    sup = items[0] if len(items) == 1 else None
                else:
                    sub = items
            else:
                name = builder._syntactic_name(base, scripts, sup, sub)
                if name is not None:
                    return name
    raise _error("the left-hand side must be a name, as in 'q = x + y' or 'z^{2}_{1} = ...'", text, _pos(node))
