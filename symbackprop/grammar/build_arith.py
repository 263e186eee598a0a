r"""The builder's arithmetic: numbers, + - · /, fractions, parentheses and powers (with their bounds).

A mixin of :class:`~symbackprop.grammar.builder._Builder`; every method takes a parse-tree node and gives
a SymPy expression.
"""
from __future__ import annotations

import sympy
from lark import Token, Tree

from ..errors import ParseError
from .resolve import _NAMEBASES
from .syntax import _error, _pos
from .vocabulary import _USUP_DIGITS, MAX_BITS, MAX_DIGITS, MAX_EXPONENT, MAX_SCRIPTS


_BRACKETS = ("LPAR", "RPAR", "LBRACK", "RBRACK", "LBRACE", "RBRACE")


class _Grouping:
    """``(x)``, ``[x]``, ``{x}`` are x; ``{i,j}`` is a list, which only a name's ``_`` reads; an error points
    at its node in ``self.text``.  Shared by the index builder and the matrix builder (each has ``build``;
    ``_LIST_MESSAGE`` says where a list goes)."""

    _LIST_MESSAGE = "a list of indices {i,j} can only follow a name's '_'"

    def fail(self, message: str, node) -> ParseError:
        return _error(message, self.text, _pos(node))

    def _paren(self, node):
        return self.build(next(c for c in node.children if isinstance(c, Tree) or c.type not in _BRACKETS))

    def _group(self, node):
        items = [c for c in node.children if isinstance(c, Tree) or c.type not in ("LBRACE", "RBRACE", "COMMA")]
        if len(items) != 1:
            raise self.fail(self._LIST_MESSAGE, node)
        return self.build(items[0])


class _Arithmetic(_Grouping):
    """Dispatch, arithmetic and powers."""

    # ---- dispatch -------------------------------------------------------------
    def build(self, node) -> sympy.Expr:
        if isinstance(node, Token):
            raise self.fail(f"unexpected {node.value!r}", node)
        method = getattr(self, "_" + node.data, None)
        if method is None:
            raise self.fail(f"cannot use {node.data} here", node)
        return method(node)

    # ---- arithmetic -------------------------------------------------------------
    def _add(self, node):
        a, _, b = node.children
        return self.build(a) + self.build(b)

    def _subtract(self, node):
        a, _, b = node.children
        return self.build(a) - self.build(b)

    def _mul(self, node):
        a, _, b = node.children
        return self.build(a) * self.build(b)

    def _imul(self, node):
        a, b = node.children
        return self.build(a) * self.build(b)

    def _hadamard(self, node):
        # the elementwise product of two numbers is their product (matrices: answers_matrix.py)
        a, _, b = node.children
        return self.build(a) * self.build(b)

    def _text(self, node):
        words = str(node.children[0])
        raise self.fail(f"{words} inside the expression: text is read only as an annotation, at the end of a line "
                        "(as in \\quad\\text{by the chain rule}) or in parentheses (\\text{(chain rule)}); move it "
                        "there or remove it", node)

    def _top(self, node):
        raise self.fail("^\\top (a transpose) is matrix notation; this answer is read in index notation, "
                        "where every quantity is a number", node)

    def _sum_all(self, node):
        raise self.fail("give the index of the \\sum and its bounds, as in \\sum_{j=1}^{2} w^{2}_{1,j} a^{2}_{j} "
                        "(a \\sum over the rows of a matrix is matrix notation)", node)

    def _div(self, node):
        a, _, b = node.children
        d = self._d_notation(a, b)
        if d is not None:
            return d
        return self._divide(self.build(a), self.build(b), node)

    def _divide(self, num, den, node):
        if den == 0:
            raise self.fail("division by zero", node)
        return num / den

    def _negate(self, node):
        return -self.build(node.children[-1])

    def _unary_plus(self, node):
        return self.build(node.children[-1])

    def _number(self, node):
        tok = node.children[0] if isinstance(node, Tree) else node
        return self.number(tok)

    def number(self, tok: Token) -> sympy.Rational:
        s = str(tok)
        shift = 0
        if "e" in s or "E" in s:  # 2.9e-3, 1E5: exact, with a bounded power of ten
            s, _, power = s.replace("E", "e").partition("e")
            shift = int(power)
            if abs(shift) > MAX_EXPONENT:
                raise self.fail(f"the power of ten in {tok} is too large; |exponent| <= {MAX_EXPONENT} is allowed", tok)
        if shift:
            return self.number(Token("NUMBER", s, start_pos=tok.start_pos)) * sympy.Rational(10) ** shift
        digits = s.replace(".", "")
        if len(digits) > MAX_DIGITS:
            raise self.fail(f"number {s[:12]}... has more than {MAX_DIGITS} digits", tok)
        if "." in s:
            whole, frac = s.split(".")
            return sympy.Rational(int((whole or "0") + frac), 10 ** len(frac))
        return sympy.Integer(int(s))

    def _frac(self, node):
        parts = [c for c in node.children if isinstance(c, Tree) or c.type not in ("FRAC", "LBRACE", "RBRACE")]
        num, den = parts
        d = self._d_notation(num, den)
        if d is not None:
            return d
        return self._divide(self.build(num), self.build(den), node)

    # ---- powers -------------------------------------------------------------------
    def power(self, base, exponent, node):
        """base^exponent with the bounds: |numeric exponent| <= MAX_EXPONENT, exact results <= MAX_BITS."""
        if exponent.is_Number:
            if not exponent.is_Rational:
                raise self.fail("exponents must be exact numbers or expressions", node)
            if abs(exponent.p) > MAX_EXPONENT or exponent.q > MAX_EXPONENT:
                raise self.fail(f"exponent {exponent} is too large; |exponent| <= {MAX_EXPONENT} is allowed", node)
            if base.is_Rational:
                if base == 0 and exponent.is_negative:
                    raise self.fail("division by zero (0 to a negative power)", node)
                bits = max(abs(base.p).bit_length(), base.q.bit_length()) * abs(exponent.p)
                if bits > MAX_BITS:
                    raise self.fail(f"the number {base}^{exponent} would have about {bits} bits; at most {MAX_BITS} are allowed", node)
        elif exponent.is_number and base.is_number and not exponent.is_real:
            raise self.fail("complex exponents are not allowed", node)
        result = sympy.Pow(base, exponent)
        if isinstance(result, sympy.Pow) and result.exp.is_Rational and (
                abs(result.exp.p) > MAX_EXPONENT or result.exp.q > MAX_EXPONENT):
            raise self.fail(f"the combined exponent {result.exp} is too large; |exponent| <= {MAX_EXPONENT} is allowed", node)
        return result

    def script_value(self, sarg):
        """The value of a ^ argument: ``2``, ``{n+1}``, ``(x)``, ``-1``, ``y``."""
        return self.build(sarg)

    def apply_scripts(self, base, scripts, node):
        """Apply powers (``^``, ``**``, ``²``) to a value; consecutive powers are right-associative."""
        exps = []
        for s in scripts:
            kind = s.data
            if kind == "subscript":
                raise self.fail("a subscript '_' must follow a name, as in x_1 or w^{1}_{1,1}", s)
            if kind == "tsup":
                raise self.fail("ᵀ (a transpose) is matrix notation; this answer is read in index notation, "
                                "where every quantity is a number", s)
            if kind == "usup":
                exps.append((sympy.Integer(int("".join(_USUP_DIGITS[c] for c in str(s.children[0])))), s))
            else:
                exps.append((self.script_value(s.children[-1]), s))
        if not exps:
            return base
        exponent, last = exps[-1]
        for value, s in reversed(exps[:-1]):
            exponent = self.power(value, exponent, last)
            last = s
        return self.power(base, exponent, last)

    def _scripted(self, node):
        primary, *scripts = node.children
        if len(scripts) > MAX_SCRIPTS:
            raise self.fail(f"more than {MAX_SCRIPTS} '^' and '_' in a row", scripts[MAX_SCRIPTS])
        if isinstance(primary, Tree) and primary.data in _NAMEBASES:
            return self.resolve_name(primary, scripts, node)
        return self.apply_scripts(self.build(primary), scripts, node)
