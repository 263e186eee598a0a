r"""Counterexamples a person can follow: a point with small friendly values where no sigmoid
saturates, else the random sample point that decided, with both values rounded for reading.

Only the values the answer and the reference depend on are shown: the inputs and targets (of every
example a Σ_e sums over), the parameters either of them names, and the nodes they name (a^{2}_{1},
ŷ_1) as computed there; the other parameters are held at the spec's own values ("the other
parameters at the spec's values"), so the shown point is complete and true in a dozen values even
for a [3, 4, 2] network.  The JSON ``counterexample.point`` has every leaf.

A mixin of :class:`symbackprop.verify.checker.AnswerChecker`.
"""
from __future__ import annotations

import functools
from functools import cached_property

from sympy import Rational

from ..errors import SymbackpropError
from ..grammar.parser import example_sum
from ..spec import names
from .exact import _Kink, _Undefined, ExactPoint, Value
from .points import at_kink, FRIENDLY



#: a graph with at most this many leaves (f = (x + y) z, a linear regression) shows every leaf
SHOW_EVERY_LEAF = 8


class _Counterexamples:
    """The point where an answer differs, for people and for programs."""

    def _friendly_points(self, keep=frozenset()) -> list:
        """Points with small friendly values (½, −¾, ⅖, …; never 0 or ±1) where no sigmoid
        saturates, for a counterexample a person can follow; built once per ``keep``, only when
        needed.  ``keep``: the parameters held at the spec's values instead.  No point is at a kink
        of the graph.  Each carries its batch (the same parameters, friendly inputs and targets of
        its own) for Σ_e in ∂J/∂θ; for big networks (lazy points) a value is computed only when an
        expression needs it."""
        cache = self.__dict__.setdefault("_friendly_cache", {})
        if keep in cache:
            return cache[keep]
        g = self.graph
        leaves = [n for n in g.nodes if n.is_leaf]
        index = {n.name: i for i, n in enumerate(leaves)}
        targets = [n for n in leaves if n.kind == "target"] if g.mode == "network" else []
        tindex = {n.name: i for i, n in enumerate(targets)}
        out = []
        for shift in range(6):
            point = self._friendly_point(shift, 0, index, tindex, None, keep)
            if point is None:
                continue
            point.examples = functools.partial(self._friendly_batch, point, shift, index, tindex, keep)
            out.append(point)
        cache[keep] = out
        return out

    @cached_property
    def _spec_parameters(self) -> dict:
        """{parameter symbol: the spec's exact value} (empty when the spec gives none)."""
        try:
            return {s: Rational(v) for s, v in self.d.parameter_values().items()}
        except (SymbackpropError, AttributeError, TypeError, ValueError, KeyError):
            return {}

    def _held(self, expr, reference) -> frozenset:
        """The parameters a counterexample holds at the spec's values: those neither the answer nor the
        reference names (nor a Σ_e over the examples needs by name), when the spec gives them."""
        if self.lazy or sum(n.is_leaf for n in self.graph.nodes) <= SHOW_EVERY_LEAF:
            return frozenset()
        named = expr.free_symbols | reference.free_symbols
        spec = self._spec_parameters
        return frozenset(n.symbol for n in self.graph.nodes
                         if n.is_leaf and n.kind == "parameter" and n.symbol not in named and n.symbol in spec)

    def _friendly_value(self, node, shift: int, offset: int, index: dict, tindex: dict) -> Rational:
        """A leaf's friendly value; targets in the loss's domain (a probability vector for
        cross-entropy, ½, ¼ or ¾ for BCE)."""
        g = self.graph
        if node.name in tindex and g.loss in ("cross_entropy", "bce"):
            t = tindex[node.name]
            if g.loss == "cross_entropy":
                weights = [1 + (j + shift + offset) % 3 for j in range(len(tindex))]
                return Rational(weights[t], sum(weights))
            return (Rational(1, 2), Rational(1, 4), Rational(3, 4))[(t + shift + offset) % 3]
        return FRIENDLY[(index[node.name] * (2 * shift + 1) + shift + offset) % len(FRIENDLY)]

    def _friendly_point(self, shift, offset, index, tindex, main, keep=frozenset()):
        """The friendly point ``shift`` (an example of ``main``'s batch when ``main`` is given: its
        parameters, inputs and targets moved by ``offset``; the parameters in ``keep`` at the spec's
        values), or None where the graph is undefined or at one of its kinks."""
        g = self.graph
        if self.lazy:
            point = ExactPoint({}, seed=1000 + shift) if main is None else main.sibling({})
            point.resolve = functools.partial(self._resolve_friendly, shift, offset, index, tindex, main)
            return point
        values = {}
        for n in g.nodes:
            if not n.is_leaf:
                continue
            if main is not None and n.kind == "parameter":
                values[n.symbol] = main.values[n.symbol].q
            elif n.symbol in keep:
                values[n.symbol] = self._spec_parameters[n.symbol]
            else:
                values[n.symbol] = self._friendly_value(n, shift, offset, index, tindex)
        point = ExactPoint(values, seed=1000 + shift) if main is None else main.sibling(values)
        try:
            for n in g.nodes:
                if not n.is_leaf:
                    point.values[n.symbol] = point.evaluate(n.definition)
        except (_Undefined, _Kink, ZeroDivisionError, OverflowError):
            return None
        return None if at_kink(point, self._kinks) else point

    def _resolve_friendly(self, shift, offset, index, tindex, main, point, sym) -> Value:
        """A value at a lazy friendly point: in the coordinates of the lazy points (``_free_nodes``),
        so every free node z = w·a + b is itself friendly (no sigmoid saturates however wide the
        layer) and its bias is derived; in the other examples of the batch, the same parameters."""
        g = self.graph
        node = g.by_name.get(sym.name)
        if node is None:
            raise _Undefined(f"no value for {sym}")
        if main is None:
            free, biases = self._free_nodes
            if sym in free:
                return Value.rational(FRIENDLY[(self._free_index[sym] * (2 * shift + 1) + shift) % len(FRIENDLY)])
            if sym in biases:
                z = biases[sym]
                return point.evaluate(z) - point.evaluate(free[z][1])
        if node.is_leaf:
            if main is not None and node.kind == "parameter":
                return main.evaluate(sym)
            return Value.rational(self._friendly_value(node, shift, offset, index, tindex))
        return point.evaluate(node.definition)

    @cached_property
    def _free_index(self) -> dict:
        """A free node's place for its friendly value: its position among the free nodes plus its
        layer, so that nodes of consecutive layers never share a value by the period of FRIENDLY."""
        free = self._free_nodes[0]
        out = {}
        for i, n in enumerate(n for n in self.graph.nodes if n.symbol in free):
            parts = names.split_indexed(n.name)
            out[n.symbol] = i + (parts[1] or 0 if parts else 0)
        return out

    def _friendly_batch(self, point, shift, index, tindex, keep=frozenset()) -> list:
        """The batch of a friendly point: itself and n − 1 examples with the same parameters."""
        cache = self.__dict__.setdefault("_friendly_batch_cache", {})
        if (keep, shift) not in cache:
            n = max(self.d.n_examples, 1)
            batch = [point]
            for e in range(1, min(n, 32)):
                ex = self._friendly_point(shift, 5 * e, index, tindex, point)
                if ex is None:
                    raise _Undefined("the graph is undefined at a friendly example")
                batch.append(ex)
            cache[(keep, shift)] = batch
        return cache[(keep, shift)]

    def _friendly_counterexample(self, expr, reference, keep=frozenset()):
        """(point, answer value, reference value) at the first friendly point where both are
        defined and differ, or None."""
        for p in self._friendly_points(keep):
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
        when the answer differs there too (first with the parameters neither names at the spec's
        values, then with every leaf friendly), else the random sample point that decided."""
        held = self._held(expr, reference)
        for keep in dict.fromkeys((held, frozenset())):
            found = self._friendly_counterexample(expr, reference, keep)
            if found is not None:
                p, a, r = found
                others = "the spec's" if keep else None
                return self._cx_dict(p, expr, reference, a, r, "a point with small values", others)
        pts = self.points()
        idx = where
        if idx is None:
            idx = next((i for i, (a, r) in enumerate(zip(a_values, r_values)) if r is not None), 0)
        return self._cx_dict(pts[idx], expr, reference, a_values[idx], r_values[idx], "a random sample point",
                             "this sample point's")

    def _shown_leaves(self, p, expr, reference) -> tuple:
        """(every leaf's value, the leaves shown, the nodes shown) at ``p``: the inputs and targets (and,
        for ∂J/∂θ, the other examples' inputs and targets), the parameters the answer or the reference
        names, and the values of the nodes they name; for big networks (lazy points) the nodes and
        leaves the answer and the reference name."""
        g = self.graph
        named = expr.free_symbols | reference.free_symbols
        if self.lazy:
            shown = sorted((s for s in named if s.name in g.by_name), key=lambda s: s.name)[:12]
            leaves = {}
            for s in shown:
                try:
                    leaves[s.name] = p.evaluate(s)
                except (_Undefined, _Kink, ZeroDivisionError):
                    pass
            return leaves, leaves, {}
        every = {n.name: p.values[n.symbol] for n in g.nodes if n.is_leaf}
        few = len(every) <= SHOW_EVERY_LEAF
        shown = {n.name: p.values[n.symbol] for n in g.nodes
                 if n.is_leaf and (few or n.kind != "parameter" or n.symbol in named)}
        batch = expr.has(example_sum) or reference.has(example_sum)
        if batch and p.examples is not None:
            for e, ex in enumerate(p.examples()[1:], start=2):
                for n in g.nodes:
                    if n.is_leaf and n.kind != "parameter":
                        every[f"{n.name} (example {e})"] = shown[f"{n.name} (example {e})"] = ex.values[n.symbol]
        nodes = {} if batch or few else {n.name: p.values[n.symbol] for n in g.nodes
                                         if not n.is_leaf and n.symbol in named and n.symbol in p.values}
        return every, shown, nodes

    def _cx_dict(self, p, expr, reference, a, r, which, others=None) -> dict:
        """The counterexample for programs (``point``: every leaf, exactly) and for people (``shown``:
        the values the answer and the reference depend on, rounded; ``others``: where the rest are)."""
        every, shown, nodes = self._shown_leaves(p, expr, reference)
        hidden = any(k not in shown for k in every)
        return {
            "point": {k: v.display() for k, v in every.items()},
            "answer": None if a is None else a.display(),
            "expected": None if r is None else r.display(),
            "at": which,
            "shown": {
                "point": {self._leaf_label(k): v.readable() for k, v in shown.items()},
                "nodes": {self._leaf_label(k): v.readable() for k, v in nodes.items()},
                "others": f"the other parameters at {others} values" if hidden and others else None,
                "answer": None if a is None else a.readable(),
                "expected": None if r is None else r.readable(),
            },
        }

    def _leaf_label(self, key: str) -> str:
        """A leaf as the feedback shows it: ŷ, y, λ; ``y_{1} (example 2)`` as ``y (example 2)``."""
        name, sep, example = key.partition(" (example ")
        return self._name(name) + (sep + example if sep else "")

    def _counterexample_message(self, cx, of, wrt):
        shown = cx["shown"]
        parts = [", ".join(f"{k} = {v}" for k, v in shown["point"].items())]
        if shown.get("others"):
            parts.append(shown["others"])
        if shown.get("nodes"):
            parts.append("there " + ", ".join(f"{k} = {v}" for k, v in shown["nodes"].items()))
        point = "; ".join(part for part in parts if part)
        where = f"at {cx['at']} ({point})" if point else f"at {cx['at']}"
        if shown["answer"] is None:
            return f"your answer is undefined {where}, where {self._target_text(of, wrt)} = {shown['expected']}"
        return (f"not equal to {self._target_text(of, wrt)}: {where} your answer is {shown['answer']} "
                f"but {self._target_text(of, wrt)} = {shown['expected']}")
