r"""Counterexamples a person can follow: a point with small friendly values where no sigmoid
saturates, else the random sample point that decided, with both values rounded for reading.

A mixin of :class:`symbackprop.verify.checker.AnswerChecker`.
"""
from __future__ import annotations

from sympy import Rational

from ..grammar.parser import example_sum
from .exact import _Kink, _Undefined, ExactPoint
from .points import FRIENDLY

from .vocabulary import COST


class _Counterexamples:
    """The point where an answer differs, for people and for programs."""

    def _friendly_points(self) -> list:
        """Points with small friendly values (½, −¾, ⅖, …; never 0 or ±1) where no sigmoid
        saturates, for a counterexample a person can follow; built once, only when needed."""
        cached = self.__dict__.get("_friendly_cache")
        if cached is not None:
            return cached
        out = []
        g = self.graph
        leaves = [n for n in g.nodes if n.is_leaf]
        k = len(FRIENDLY)
        for shift in range(6):
            values = {}
            for i, n in enumerate(leaves):
                values[n.symbol] = FRIENDLY[(i * (2 * shift + 1) + shift) % k]
            targets = [n.symbol for n in leaves if n.kind == "target"] if g.mode == "network" else []
            if targets and g.loss == "cross_entropy":
                weights = [1 + (i + shift) % 3 for i in range(len(targets))]
                values.update({t: Rational(w, sum(weights)) for t, w in zip(targets, weights)})
            elif targets and g.loss == "bce":
                values.update({t: (Rational(1, 2), Rational(1, 4), Rational(3, 4))[(i + shift) % 3]
                               for i, t in enumerate(targets)})
            point = ExactPoint(values, seed=1000 + shift)
            try:
                for n in g.nodes:
                    if not n.is_leaf:
                        point.values[n.symbol] = point.evaluate(n.definition)
            except (_Undefined, _Kink, ZeroDivisionError, OverflowError):
                continue
            out.append(point)
        self.__dict__["_friendly_cache"] = out
        return out

    def _friendly_counterexample(self, expr, reference):
        """(point, answer value, reference value) at the first friendly point where both are
        defined and differ, or None."""
        for p in self._friendly_points():
            try:
                r = p.evaluate(reference)
            except (_Undefined, _Kink, ZeroDivisionError, OverflowError, TypeError, AttributeError):
                continue
            try:
                a = p.evaluate(expr)
            except (_Undefined, _Kink, ZeroDivisionError, OverflowError, TypeError, AttributeError):
                continue   # undefined there: the random point that decided explains it better
            if not a.equals(r):
                return p, a, r
        return None

    def _counterexample(self, expr, reference, a_values, r_values, where, of=None):
        """The point where the answer differs, with both values: a friendly point (small fractions)
        when the answer differs there too, else the random sample point that decided."""
        if not self.lazy and of != COST and not expr.has(example_sum) and not reference.has(example_sum):
            found = self._friendly_counterexample(expr, reference)
            if found is not None:
                p, a, r = found
                leaves = {n.name: p.values[n.symbol] for n in self.graph.nodes if n.is_leaf}
                return self._cx_dict(leaves, a, r, "a point with small values")
        pts = self.points()
        idx = where
        if idx is None:
            idx = next((i for i, (a, r) in enumerate(zip(a_values, r_values)) if r is not None), 0)
        p = pts[idx]
        if self.lazy:
            shown = sorted((s for s in (expr.free_symbols | reference.free_symbols) if s.name in self.graph.by_name),
                           key=lambda s: s.name)[:12]
            leaves = {}
            for s in shown:
                try:
                    leaves[s.name] = p.evaluate(s)
                except (_Undefined, _Kink, ZeroDivisionError):
                    pass
        else:
            leaves = {n.name: p.values[n.symbol] for n in self.graph.nodes if n.is_leaf}
        return self._cx_dict(leaves, a_values[idx], r_values[idx], "a random sample point")

    def _cx_dict(self, leaves, a, r, which) -> dict:
        return {
            "point": {k: v.display() for k, v in leaves.items()},
            "answer": None if a is None else a.display(),
            "expected": None if r is None else r.display(),
            "at": which,
            "shown": {
                "point": {self._name(k): v.readable() for k, v in leaves.items()},
                "answer": None if a is None else a.readable(),
                "expected": None if r is None else r.readable(),
            },
        }

    def _counterexample_message(self, cx, of, wrt):
        shown = cx["shown"]
        point = ", ".join(f"{k} = {v}" for k, v in shown["point"].items())
        where = f"at {cx['at']} ({point})" if point else f"at {cx['at']}"
        if shown["answer"] is None:
            return f"your answer is undefined {where}, where {self._target_text(of, wrt)} = {shown['expected']}"
        return (f"not equal to {self._target_text(of, wrt)}: {where} your answer is {shown['answer']} "
                f"but {self._target_text(of, wrt)} = {shown['expected']}")
