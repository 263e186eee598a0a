r"""The builder's calculus: Leibniz derivatives and d-notation, functions and their primes, and sums.

A mixin of :class:`~symbackprop.grammar.builder._Builder`; every method takes a parse-tree node and gives
a SymPy expression (``\frac{\partial L}{\partial w}`` an unevaluated Derivative, ``\sum_{i=1}^{n}`` an
:class:`~symbackprop.grammar.vocabulary.example_sum`).
"""
from __future__ import annotations

import re

import sympy
from lark import Token, Tree

from ..errors import ParseError
from ..ops import functions
from .resolve import _NAMEBASES, _canonical, _Unknown
from .vocabulary import ALL_FUNCTIONS, MAX_PRIMES, MAX_SUM_BOUND, MAX_SUM_TERMS, _is_example_sum, activation_derivative, example_sum


class _Calculus:
    """Derivatives, functions and sums."""

    # ---- derivatives ------------------------------------------------------------------
    def dname(self, node) -> sympy.Symbol:
        nb = node.children[0]
        scripts = []
        children = node.children[1:]
        for i in range(0, len(children), 2):
            tok, arg = children[i], children[i + 1]
            kind = "superscript" if tok.type == "SUP" else "subscript"
            scripts.append(Tree(kind, [tok, arg], meta=getattr(arg, "meta", None)))
        value = self.resolve_name(nb, scripts, node)
        if not isinstance(value, sympy.Symbol):
            raise self.fail("\\partial must be followed by one variable's name, as in \\partial w^{1}_{1,1}", node)
        return value

    def _leibniz(self, node):
        dnames = [c for c in node.children if isinstance(c, Tree) and c.data == "dname"]
        top, bottom = (self.dname(d) for d in dnames)
        return sympy.Derivative(top, bottom, evaluate=False)

    def _dop(self, node):
        dnames = [c for c in node.children if isinstance(c, Tree) and c.data == "dname"]
        var = self.dname(dnames[0])
        operand = self.build(node.children[-1])
        return sympy.diff(operand, var)

    def _d_notation(self, num, den):
        """``\\frac{dy}{dx}`` or ``dy/dx`` (answers only): the derivative, when 'dy' is no name itself."""
        if not self.resolver.strict:
            return None
        a, b = self._d_name(num), self._d_name(den)
        if a is None or b is None:
            return None
        try:
            top, bottom = self.resolve_name(*a), self.resolve_name(*b)
        except (ParseError, _Unknown):
            return None
        if isinstance(top, sympy.Symbol) and isinstance(bottom, sympy.Symbol):
            return sympy.Derivative(top, bottom, evaluate=False)
        return None

    def _d_name(self, node):
        """(namebase, scripts, node) when ``node`` reads 'd' followed by a name ('dy', 'd y', 'dz_2')."""
        scripts = []
        if isinstance(node, Tree) and node.data == "scripted":
            node, scripts = node.children[0], node.children[1:]
        if isinstance(node, Tree) and node.data == "name":
            word = str(node.children[0])
            if len(word) > 1 and word[0] == "d":
                lead = _canonical(word, None, None)
                if self.resolver.lookup(lead) is None or scripts:
                    if self.resolver.lookup(word) is not None and not scripts:
                        return None
                    rest = Tree("name", [Token("NAME", word[1:], start_pos=node.children[0].start_pos + 1)], meta=node.meta)
                    return rest, scripts, node
            return None
        if isinstance(node, Tree) and node.data == "imul" and not scripts:
            left, right = node.children
            if isinstance(left, Tree) and left.data == "name" and str(left.children[0]) == "d" \
                    and self.resolver.lookup("d") is None:
                inner, sc = right, []
                if isinstance(right, Tree) and right.data == "scripted":
                    inner, sc = right.children[0], right.children[1:]
                if isinstance(inner, Tree) and inner.data in _NAMEBASES:
                    return inner, sc, right
        return None

    # ---- functions --------------------------------------------------------------------
    def _call(self, node):
        func_tok = node.children[0]
        primes = sum(1 for c in node.children if isinstance(c, Token) and c.type == "PRIME")
        arg = self.build(node.children[-1])
        spelled = re.sub(r"^\\(operatorname|mathrm|text)\{(.*)\}$", r"\2", str(func_tok)).lstrip("\\")
        f = ALL_FUNCTIONS[spelled]
        if primes == 0:
            return f(arg)
        if primes > MAX_PRIMES:
            raise self.fail(f"at most {MAX_PRIMES} primes", node)
        t = sympy.Dummy("t", real=True)
        derivative = f(t)
        for _ in range(primes):
            derivative = sympy.diff(derivative, t)
        return derivative.subs(t, arg)

    def _act_prime(self, node):
        """``g'(z^{3}_{1})``, ``f'(z)``: the derivative of the layer's activation at z (left to the checker,
        which knows which activation the layer has)."""
        primes = sum(1 for c in node.children if isinstance(c, Token) and c.type == "PRIME")
        if primes > 1:
            raise self.fail("g'' is not a derivative the chain rule needs; write g'(z)", node)
        return activation_derivative(self.build(node.children[-1]))

    def _indicator(self, node):
        r"""``\mathbb{1}[z > 0]``, ``\mathbb{1}_{z>0}``, ``[z > 0]``: the unit step of the difference d (relu′,
        0 at the kink like the registry's); a non-strict ``\ge``/``\le`` is 1 − step(−d), 1 at d = 0.

        The two differ only where d = 0, which matters: ``\mathbb{1}[a \ge 0]`` of a ReLU unit is 1
        everywhere (a is never negative), the dropped relu′, while ``\mathbb{1}[a > 0]`` is relu′(z)."""
        cond = next(c for c in node.children if isinstance(c, Tree) and c.data in ("greater", "less"))
        left, op, right = cond.children
        a, b = self.build(left), self.build(right)
        d = a - b if cond.data == "greater" else b - a
        strict = not re.search(r"ge|le|≥|≤|=", str(op))
        return functions.step(d) if strict else 1 - functions.step(-d)

    def _step_call(self, node):
        """``step(z)``, ``H(z)`` (Heaviside): the unit step, unless the spec has a name H (then H times (z))."""
        word = re.sub(r"^\\(operatorname|mathrm|text)\{(.*)\}$", r"\2", str(node.children[0]))
        arg = self.build(node.children[-2])
        if not self.resolver.strict:
            return self.resolver.lookup(word) * arg   # spec equations: the name times the parenthesis
        value = self.resolver.lookup(word)
        if value is not None:
            return value * arg
        return functions.step(arg)

    def _call_power(self, node):
        r"""``\tanh^2(z)`` = (tanh z)^2: the lectures' power of a function's value (a positive whole power)."""
        func_tok, _, exponent, arg = node.children
        power = self.build(exponent)
        if not (power.is_Integer and power > 0):
            raise self.fail("a power written on a function name must be a positive whole number, as in "
                            "\\tanh^2(z); write (\\sigma(z))^{-1} for other powers", exponent)
        value = self._call(Tree("call", [func_tok, arg], meta=node.meta))
        return self.power(value, power, node)

    # ---- sums --------------------------------------------------------------------------
    def _sum(self, node):
        _, limits, body = node.children
        if limits.data == "sum_rows":
            raise self.fail("a \\sum over the rows of a matrix is matrix notation; in index notation give the "
                            "index and its bounds, as in \\sum_{j=1}^{2}", limits)
        var = str(next(c for c in limits.children if isinstance(c, Token) and c.type == "NAME"))
        if self.resolver.strict and _is_example_sum(limits, var):
            # \sum_{i=1}^{n} over the examples: the body is one example's (y_i, \hat{y}_i, x_i^1)
            return example_sum(self.build_example_sum(var, body))
        if var in self.env:
            raise self.fail(f"the index {var} is already used by an outer \\sum", limits)
        exprs = [c for c in limits.children if isinstance(c, Tree)]
        if limits.data == "sum_bounds":
            lo, hi = self.int_bound(exprs[0]), self.int_bound(exprs[1])
            if hi - lo + 1 > MAX_SUM_TERMS:
                raise self.fail(f"a \\sum may have at most {MAX_SUM_TERMS} terms", limits)
            return sympy.Add(*self.terms(var, range(lo, hi + 1), body, inferred=False))
        lo = self.int_bound(exprs[0]) if limits.data == "sum_from" else 1
        if not self.resolver.strict:
            raise self.fail(f"give the bounds of the \\sum, as in \\sum_{{{var}=1}}^{{2}}", limits)
        terms = self.terms(var, range(lo, lo + MAX_SUM_TERMS), body, inferred=True)
        if len(terms) == MAX_SUM_TERMS:
            raise self.fail(f"the \\sum over {var} does not end (its body does not use {var}, or every {var} names "
                            f"something): give its bounds, as in \\sum_{{{var}=1}}^{{2}}", limits)
        return sympy.Add(*terms)

    def terms(self, var, values, body, *, inferred: bool) -> list:
        """The body at var = each value.  With inferred bounds (\\sum_k) the sum ends before the first value
        at which the body names something unknown (w^{3}_{1,4} in a layer of 3 units); an unknown name at
        the first value is an error, decided by the outermost \\sum (\\sum_j \\sum_k w^{3}_{1j}: at j = 4
        the sum over j ends, not the one over k), and it says where: at j = 1, k = 1."""
        terms = []
        for v in values:
            try:
                terms.append(self.with_index(var, v, body))
            except _Unknown as exc:
                if inferred and terms:
                    break
                name, where, *inner = exc.args
                if self.env:
                    raise _Unknown(name, where, f"{var} = {v}", *inner) from None
                raise self.fail(f"unknown name {name!r} in the \\sum at " + ", ".join([f"{var} = {v}", *inner]),
                                where) from None
        return terms

    def with_index(self, var, value, body):
        self.env[var] = value
        try:
            return self.build(body)
        finally:
            del self.env[var]

    def int_bound(self, node) -> int:
        value = self.build(node)
        if not value.is_Integer or not (0 <= int(value) <= MAX_SUM_BOUND):
            raise self.fail(f"sum bounds must be whole numbers no larger than {MAX_SUM_BOUND} "
                            f"(and a \\sum has at most {MAX_SUM_TERMS} terms)", node)
        return int(value)
