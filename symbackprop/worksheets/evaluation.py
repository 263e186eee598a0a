"""Forward values and gradients for a worksheet, fast at any depth.

:class:`symbackprop.render.latex.Evaluation` keeps every value exact: in a deep sigmoid network
each value nests all the ones before it (a = sigma(w sigma(...) + ...)), so a 3-3-3-3-3 network
takes minutes. A worksheet only shows numbers rounded to a few decimals, so
:class:`SheetEvaluation` keeps a value exact while it is a rational number (a whole-number
weighted sum, sigma(0) = 1/2, ReLU of a rational: shown with "=") and otherwise replaces it by a
40-digit float at once (shown with "\\approx"), so no expression ever nests. Same interface as
``Evaluation`` (``values``, ``gradients``, ``n``, ``factor``, ``total``, ``value``).
"""
from __future__ import annotations

import sympy

from ..derivation.chain_rule import Derivation, reduction_factor
from ..spec import names

DIGITS = 40


def _settle(value):
    """A rational stays exact; anything else becomes a ``DIGITS``-digit Float."""
    if getattr(value, "is_Rational", False):
        return value
    out = value.evalf(DIGITS)
    if getattr(out, "is_Rational", False):
        return out
    return out


class SheetEvaluation:
    """The forward values and per-example gradients of ``d`` at ``numbers``."""

    def __init__(self, d: Derivation, numbers):
        self.d = d
        self.numbers = numbers
        self.values = [self._forward(ex) for ex in numbers.examples]
        self.gradients = [self._backward(v) for v in self.values]
        self.n = len(self.values)
        self.factor = reduction_factor(d.reduction, sympy.Integer(max(self.n, 1)))

    def _forward(self, example: dict) -> dict:
        values = dict(self.numbers.parameters)
        values.update(example)
        out = {s.name: v for s, v in values.items()}
        for n in self.d.graph.nodes:
            if n.is_leaf:
                if n.symbol not in values:
                    from ..errors import SpecError

                    src = self.d.spec.source if self.d.spec is not None else "<spec>"
                    raise SpecError(f"{src}: no value for {n.name} (give it in [data] or [parameters])")
                continue
            v = _settle(n.definition.xreplace({names.symbol(p): values[names.symbol(p)] for p in n.parents}))
            values[n.symbol] = v
            out[n.name] = v
        return out

    def _backward(self, values: dict) -> dict:
        d = self.d
        subs = {names.symbol(k): v for k, v in values.items()}
        grads = {}
        for n in reversed(d.graph.nodes):
            if n.name not in d.node_gradients:
                continue
            v = _settle(d.upstream_expression(n.name).xreplace(subs))
            grads[n.name] = v
            subs[d.upstream_symbol(n.name)] = v
        return grads

    def total(self, name: str):
        """dJ/dname of the reduced loss: r * sum_e dL_e/dname (parameters)."""
        return _settle(self.factor * sympy.Add(*[g.get(name, sympy.S.Zero) for g in self.gradients]))

    def value(self, e: int, name: str):
        return self.values[e][name]


__all__ = ["SheetEvaluation"]
