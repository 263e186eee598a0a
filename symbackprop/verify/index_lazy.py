r"""Lazy sample points for big index-notation networks (at least LAZY_MIN_PARAMETERS parameters).

A point computes a value only when an expression needs it, in coordinates where each free node z
(with its own bias b) is sampled directly, so each ReLU-type unit is active at some point and inactive
at another by construction.  A mixin of :class:`symbackprop.verify.checker.AnswerChecker`.
"""
from __future__ import annotations

import functools
import random
from functools import cached_property

import sympy

from .exact import _Kink, _Undefined, ExactPoint, Value
from .points import _kink_owners_of, kinks_of, LAZY_MIN_PARAMETERS, LAZY_PATTERN_POINTS, random_rational


class _LazyPoints:
    """Lazy points in free coordinates (see the module docstring)."""

    @cached_property
    def lazy(self) -> bool:
        """Big networks (at least LAZY_MIN_PARAMETERS parameters) get lazy points in free coordinates."""
        g = self.graph
        return g.mode == "network" and sum(n.kind == "parameter" for n in g.nodes) >= LAZY_MIN_PARAMETERS

    @cached_property
    def _free_nodes(self) -> tuple:
        """({node symbol: (bias symbol, rest)}, {bias symbol: node symbol}) for the nodes sampled
        directly: a node z = rest + b whose additive parameter b is its own (b has no other
        child and rest does not contain b).  Then (b ↦ z) is a change of coordinates: for any
        values of the other leaves every z is reached by exactly one b = z − rest, so a function
        of the leaves is identically equal to another exactly when the two are equal as functions
        of z and the other leaves, and random points may be drawn in those coordinates."""
        g = self.graph
        free, biases = {}, {}
        for n in g.nodes:
            d = n.definition
            if d is None or not d.is_Add:
                continue
            for term in sorted((t for t in d.args if t.is_Symbol), key=lambda t: t.name):
                leaf = g.by_name.get(term.name)
                if leaf is None or leaf.kind != "parameter" or tuple(g.children[leaf.name]) != (n.name,):
                    continue
                rest = d - term
                if term in rest.free_symbols or term in biases:
                    continue
                free[n.symbol], biases[term] = (term, rest), n.symbol
                break
        return free, biases

    def _make_lazy_points(self) -> list:
        """Points whose values are computed only when an expression needs them (memoized per
        point for the run), in the coordinates of :attr:`_free_nodes`: every free node
        (z = w·a + b with its own bias b) gets a random rational directly, b is derived as
        z − w·a only if something asks for it, every other leaf gets a random rational (seeded
        by the point and the name, so the order of evaluation changes nothing).  A free node's
        signs over the points include both + and − (each ReLU-type unit active at some point and
        inactive at another, by construction); the cost of one answer is that of the sub-graph
        its reference and answer depend on, not of the network."""
        if _kink_owners_of(self.graph):
            # random sign patterns: a mistake seen only when m given units are on given sides at once
            # is missed with probability (1 − 2^−m)^P (P = 96: below 10^−5 for m ≤ 3)
            self.n_points = max(self.n_points, LAZY_PATTERN_POINTS)
        out = []
        for i in range(self.n_points):
            p = ExactPoint({}, seed=i + 1)
            p.resolve = functools.partial(self._resolve_lazy, i)
            p.examples = (lambda p=p, k=i: self._examples_of(p, k))
            out.append(p)
        self.uncovered = ()
        return out

    def _free_signs(self, sym) -> tuple:
        cache = self.__dict__.setdefault("_free_sign_cache", {})
        signs = cache.get(sym)
        if signs is None:
            rng = random.Random(f"symbackprop-signs-{self.seed}-{sym.name}")
            signs = [rng.choice((1, -1)) for _ in range(self.n_points)]
            if self.n_points > 1 and len(set(signs)) == 1:
                signs[rng.randrange(self.n_points)] *= -1
            signs = cache[sym] = tuple(signs)
        return signs

    def _lazy_targets(self, key) -> dict:
        cache = self.__dict__.setdefault("_lazy_target_cache", {})
        if key not in cache:
            cache[key] = self._targets(random.Random(f"symbackprop-targets-{self.seed}-{key}"))
        return cache[key]

    def _resolve_lazy(self, i, point, sym) -> Value:
        g = self.graph
        node = g.by_name.get(sym.name)
        if node is None:
            raise _Undefined(f"no value for {sym}")
        free, biases = self._free_nodes
        if sym in free:
            rng = random.Random(f"symbackprop-free-{self.seed}-{i}-{sym.name}")
            return Value.rational(self._free_signs(sym)[i] * random_rational(rng, positive=True))
        if sym in biases:
            z = biases[sym]
            return point.evaluate(z) - point.evaluate(free[z][1])
        if node.is_leaf:
            if node.kind == "target" and g.mode == "network":
                return Value.rational(self._lazy_targets(i)[sym])
            return Value.rational(random_rational(random.Random(f"symbackprop-leaf-{self.seed}-{i}-{sym.name}")))
        return point.evaluate(node.definition)

    def _resolve_example(self, main, k, e, point, sym) -> Value:
        """Example e of the batch at point k: the parameters of point k, its own inputs and targets."""
        g = self.graph
        node = g.by_name.get(sym.name)
        if node is None:
            raise _Undefined(f"no value for {sym}")
        if node.is_leaf:
            if node.kind == "parameter":
                return main.evaluate(sym)
            if node.kind == "target" and g.mode == "network":
                return Value.rational(self._lazy_targets(f"{k}-{e}")[sym])
            return Value.rational(random_rational(random.Random(f"symbackprop-leaf-{self.seed}-{k}-{e}-{sym.name}")))
        return point.evaluate(node.definition)

    @cached_property
    def _kink_owners(self) -> tuple:
        """(argument, node) for every ReLU-type kink in the graph's definitions."""
        return tuple(_kink_owners_of(self.graph))

    def _lazy_uncovered(self, reference) -> tuple:
        """The kinks the reference depends on that are not on free nodes and are on one side at
        every point (the free nodes' signs cover theirs by construction)."""
        free = self._free_nodes[0]
        pending = [(arg, owner) for arg, owner in self._kink_owners if not (arg.is_Symbol and arg in free)]
        for arg in kinks_of(reference):
            if not (arg.is_Symbol and arg in free):
                pending.append((arg, None))
        if not pending:
            return ()
        g = self.graph
        needed, stack = set(), [s.name for s in reference.free_symbols if s.name in g.by_name]
        while stack:
            name = stack.pop()
            if name in needed:
                continue
            needed.add(name)
            if sympy.Symbol(name) in free:
                continue
            stack.extend(g.by_name[name].parents)
        out = []
        for arg, owner in pending:
            if owner is not None and owner not in needed:
                continue
            signs = set()
            for p in self.points():
                try:
                    signs.add(p.evaluate(arg).sign())
                except (_Undefined, _Kink, ZeroDivisionError):
                    pass
            if not {1, -1} <= signs:
                out.append(str(arg))
        return tuple(sorted(set(out)))
