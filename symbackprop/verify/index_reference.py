r"""The reference an index answer is compared with, and how "equal" is decided.

∂of/∂wrt in node symbols (the derivation's ∂L/∂θ, a total derivative inside the graph, or ∂J/∂θ of the
reduced cost), ∂ factors and g′(z) of an answer read as the graph's derivatives, the symbolic proof
(``sympy.cancel`` within a time bound), agreement at the points, and the value at the spec's own
numbers.  A mixin of :class:`symbackprop.verify.checker.AnswerChecker`.
"""
from __future__ import annotations

import re
from functools import cached_property

import sympy
from sympy import Rational

from ..errors import NotSupportedError, ParseError, SpecError, SymbackpropError
from ..grammar.notation import normalize
from ..grammar.parser import activation_derivative, example_sum, parse_chain
from .exact import _Kink, _MP, _Undefined, ExactPoint, readable_number, Value
from .limits import _Budget, _outer_expired, _time_limit, SYMBOLIC_SECONDS
from .verdict import _plain
from .vocabulary import COST


class _References:
    """Reference derivatives, equality at points and by proof, the spec's numbers."""

    # -- names ---------------------------------------------------------------------
    def resolve_wrt(self, text: str) -> str:
        """The canonical node name for ``--wrt`` (``w_{1,1}^1`` -> ``w^{1}_{1,1}``)."""
        if not isinstance(text, str) or not text.strip():
            raise SpecError("--wrt: give the name of a parameter or node, e.g. w^{1}_{1,1}")
        if text in self.graph.by_name:
            return text
        from ..spec.names import unknown_name
        from ..derivation.spellings import name_spellings as _name_spellings, output_spellings

        def unknown() -> SpecError:   # the names of its kind; a suggestion only for a typo, never another weight
            return SpecError(unknown_name(text, [n.name for n in self.graph.nodes], spellings=_name_spellings(self.names),
                                          outputs=output_spellings(self.graph)))
        try:
            expr = parse_chain(normalize(text).text, resolve=self.names).sides
        except ParseError as exc:
            if "unknown name" in str(exc):
                raise unknown() from None
            raise ParseError(f"--wrt {text!r}: {exc}") from None
        if len(expr) != 1 or not isinstance(expr[0].expr, sympy.Symbol) or expr[0].expr.name not in self.graph.by_name:
            raise unknown()
        return expr[0].expr.name

    # -- reference derivatives ---------------------------------------------------------
    def derivative(self, of: str, wrt: str) -> sympy.Expr:
        """∂of/∂wrt in node symbols: the derivation's ∂L/∂wrt, or a total derivative inside the graph."""
        key = (of, wrt)
        if key in self._total_cache:
            return self._total_cache[key]
        g = self.graph
        if of == COST and COST not in g.by_name:
            value = self.cost_reduction(wrt)(self.d.per_example_gradient(wrt))
        elif of == wrt:
            value = sympy.S.One
        elif of == g.output:
            value = self.d.per_example_gradient(wrt)
        else:
            value = self._total_derivative(of, wrt)
        self._total_cache[key] = value
        return value

    def is_shared(self, wrt: str) -> bool:
        """Whether ``wrt`` is shared by every example (a weight or bias), not one example's value
        (an input, a node z, a, ŷ, the per-example loss L)."""
        from ..derivation.graph import PARAMETER

        node = self.graph.by_name.get(wrt)
        return node is not None and node.kind == PARAMETER

    def cost_reduction(self, wrt: str):
        """The map from ∂L_e/∂wrt (per example) to ∂J/∂wrt of the cost J = r Σ_e L_e (r = 1/n for the
        mean, 1 for the sum).

        A parameter θ is shared by every L_e, so ∂J/∂θ = r Σ_e ∂L_e/∂θ; a node (z, a, ŷ, an input) is
        one example's own value: z^{(e)} enters only L_e, so ∂J/∂z^{(e)} = r ∂L_e/∂z^{(e)}, no sum.
        With n = 4 and the mean, ∂J/∂ŷ = (1/4)·2(ŷ − y) for L = (ŷ − y)², and ∂J/∂w = (1/4) Σ_e 2(ŷ_e − y_e) x_e.
        """
        r = self.d.reduction_factor
        if self.is_shared(wrt):
            return lambda e: r * example_sum(e)
        return lambda e: r * e

    def _total_derivative(self, of: str, wrt: str) -> sympy.Expr:
        from ..derivation.chain_rule import local_derivative

        g = self.graph
        ancestors = {of}
        for n in reversed(g.nodes):
            if n.name in ancestors:
                ancestors.update(n.parents)
        if wrt not in ancestors:
            return sympy.S.Zero
        grad = {of: sympy.S.One}
        for n in reversed(g.nodes):
            if n.name == of or n.name not in ancestors:
                continue
            total = sympy.S.Zero
            for c in g.children[n.name]:
                if c in grad and c in ancestors:
                    total += grad[c] * local_derivative(g, c, n.name).expression
            grad[n.name] = total
            if n.name == wrt:
                break
        return grad.get(wrt, sympy.S.Zero)

    def _replace_activation_derivatives(self, expr):
        """g'(z^{l}_{j}) -> the registry's derivative of layer l's activation (σ′ = a(1 − a), ...)."""
        if not expr.has(activation_derivative):
            return expr
        from ..ops.activations import get_activation

        g = self.graph

        def repl(call):
            z = call.args[0]
            node = g.by_name.get(z.name) if isinstance(z, sympy.Symbol) else None
            child = None
            if node is not None:
                child = next((g.by_name[c] for c in g.children[node.name]
                              if g.by_name[c].kind == "activation"), None)
            if child is None or child.activation is None:
                raise NotSupportedError(f"g′({_plain(z)}): g′ (or f′) is the derivative of a layer's activation "
                                        "at its pre-activation; write it as g'(z^{2}_{1})")
            entry = get_activation(child.activation)
            if entry.derivative is None:
                raise NotSupportedError(f"g′({_plain(z)}): the {child.activation} layer has no elementwise derivative; "
                                        "write the derivative out")
            return entry.derivative(child.symbol, z)

        return expr.replace(lambda e: isinstance(e, activation_derivative), repl)

    def _replace_derivatives(self, expr):
        expr = self._replace_activation_derivatives(expr)
        if not expr.has(sympy.Derivative):
            return expr
        def repl(dv):
            of = dv.expr
            wrt = dv.variables[0]
            if isinstance(of, sympy.Symbol) and of.name == COST and COST not in self.graph.by_name:
                return self.derivative(COST, wrt.name)
            if not isinstance(of, sympy.Symbol) or of.name not in self.graph.by_name:
                raise NotSupportedError(f"∂{of}/∂{wrt}: the numerator must be a node of the graph")
            return self.derivative(of.name, wrt.name)
        return expr.replace(lambda e: isinstance(e, sympy.Derivative), repl)

    def reference_values(self, of: str, wrt: str) -> list:
        key = (of, wrt)
        if key not in self._value_cache:
            self._value_cache[key] = self._values(self.derivative(of, wrt))
        return self._value_cache[key]

    # -- deciding ----------------------------------------------------------------------
    def node_form(self, expr):
        """σ(z^{2}_{1}) -> a^{2}_{1}: the answer written in node symbols where it names a node's definition."""
        return expr.xreplace(self._activation_form) if self._activation_form else expr

    def _symbolically_equal(self, a, b) -> bool:
        try:
            with _time_limit(SYMBOLIC_SECONDS):
                diff = self.node_form(a) - self.node_form(b)
                if diff == 0:
                    return True
                if sympy.count_ops(diff) > 400:
                    return False
                return sympy.cancel(sympy.together(diff)) == 0
        except _Budget:
            if _outer_expired():
                raise
            return False
        except (sympy.PolynomialError, TypeError, ValueError, ArithmeticError, RecursionError, MemoryError):
            return False

    def _points_decide(self, reference, r_values) -> bool:
        """Agreement at the points decides when the reference is non-zero at some point and every
        kink of the graph was seen on both sides (else only a proof may say "correct")."""
        self.points()
        if self.lazy:
            self.uncovered = self._lazy_uncovered(reference)
        if getattr(self, "uncovered", ()):
            return False
        usable = [r for r in r_values if r is not None]
        if len(usable) < min(3, self.n_points):
            return False
        return any(not r.is_zero() for r in usable)

    def _equal_at_points(self, a_values, r_values):
        """(equal everywhere both are defined, index of the first difference or None)."""
        usable = 0
        for i, (a, r) in enumerate(zip(a_values, r_values)):
            if r is None:
                continue
            if a is None:
                return False, i
            usable += 1
            if not a.equals(r):
                return False, i
        return usable > 0, None

    @cached_property
    def _spec_point(self):
        """The spec's own numbers as an exact point (its first example; the others for ∂J/∂θ),
        or None when the spec does not give every input, target and parameter."""
        d, g = self.d, self.graph
        try:
            examples = d.examples()
            params = d.parameter_values()
        except (SymbackpropError, AttributeError, TypeError, ValueError):
            return None
        if not examples:
            return None

        def leaves(example):
            return {s: Rational(v) for s, v in {**params, **example}.items()}

        def resolve(point, sym):
            node = g.by_name.get(sym.name)
            if node is None or node.definition is None:
                raise _Undefined(f"the spec gives no value for {sym}")
            return point.evaluate(node.definition)

        try:
            first = ExactPoint(leaves(examples[0]), seed=self.seed)
            batch = [first] + [first.sibling(leaves(e)) for e in examples[1:]]
        except (TypeError, ValueError):
            return None
        for p in batch:
            p.resolve = resolve
        first.examples = lambda: batch
        return first

    def spec_value(self, of: str, wrt: str):
        """∂of/∂wrt at the spec's data and parameters (a Value), or None."""
        point = self._spec_point
        if point is None:
            return None
        try:
            return point.evaluate(self.derivative(of, wrt))
        except (_Undefined, _Kink, ZeroDivisionError, OverflowError):
            return None

    def _spec_value_match(self, number, of, wrt, text: str | None = None):
        """(equal?, the value for display) for an answer that is a number; None when the spec's
        numbers do not give the value.  A decimal with k digits after the point (as written in
        ``text``: 2.084 has k = 3 although it reduces to 521/250) matches a value that rounds to it
        (|value − number| ≤ ½·10^−k); any other number (an integer, a fraction) must be exact."""
        value = self.spec_value(of, wrt)
        if value is None:
            return None
        r = Rational(number)
        k = _decimal_digits(text, r)
        if k:
            ok = abs(value.num - _MP.mpf(r.p) / r.q) <= _MP.mpf(5) / 10 ** (k + 1) * (1 + _MP.mpf(10) ** -30)
        else:
            ok = value.equals(Value.rational(r))
        exact = value.constant()
        shown = readable_number(exact) if exact is not None and exact.q <= 20 else value.readable()
        return bool(ok), shown


_DECIMAL = re.compile(r"(\d*)\.(\d+)(?:[eE]([+-]?\d+))?")


def _decimal_digits(text, r) -> int:
    """The decimal places of the decimal that ``text`` writes for the number ``r`` (2.084 has 3
    although it reduces to 521/250; 2.93e-3 has 5), else those of r's denominator when it is a
    power of 10; 0 (compared exactly) for an integer or a fraction."""
    for m in _DECIMAL.finditer((text or "").replace("{,}", ".")):
        if Rational(m.group(0).lower()) == abs(r):
            return max(len(m.group(2)) - int(m.group(3) or 0), 0)
    q, k = int(r.q), 0
    while q % 10 == 0:
        q //= 10
        k += 1
    return k if q == 1 else 0
