r"""The sample points of the index reader: random rational points where the whole graph is defined.

Extended until every kink of the graph is on both sides at some point; each point carries its batch
(for Σ_e in ∂J/∂θ).  A mixin of :class:`symbackprop.verify.checker.AnswerChecker`.
"""
from __future__ import annotations

import functools
import itertools
import random

from sympy import Rational

from ..errors import NotSupportedError
from .exact import _Kink, _Undefined, ExactPoint, Value
from .points import (
    EXHAUSTIVE_KINKS,
    PATTERN_POINTS,
    _additive_leaf,
    _DENOMINATORS,
    _kink_arguments,
    _near_rational,
    _record_signs,
    _signs_of,
    at_kink,
    random_rational,
)


class _SamplePoints:
    """Exact sample points and the values of expressions there."""

    # -- points ------------------------------------------------------------------------
    def points(self) -> list:
        """``n_points`` exact points (deterministic from the seed) where the whole graph is defined
        (lazy points for big networks: see :meth:`_make_lazy_points`)."""
        if self._points is None:
            self._points = self._make_lazy_points() if self.lazy else self._make_points()
        return self._points

    def _make_points(self) -> list:
        """Random rational points (see :func:`random_rational`) where the whole graph is defined,
        extended until every kink (ReLU-type function) of the graph is on both sides of its
        kink at some point: each unit active somewhere and inactive somewhere."""
        rng = random.Random(self.seed)
        leaves = [n for n in self.graph.nodes if n.is_leaf]
        kinks = self._kinks
        out = []
        attempts = 0
        while len(out) < self.n_points:
            attempts += 1
            if attempts > 80:
                raise NotSupportedError("could not find points where the graph is defined (e.g. log of a negative "
                                        "number everywhere); the answer cannot be checked")
            point = self._random_point(rng, leaves, positive=attempts > 40, seed=attempts)
            if point is not None:
                out.append(point)
        self.uncovered = ()
        if kinks:
            seen = {k: set() for k in kinks}
            for p in out:
                _record_signs(p, kinks, seen)
            tries = 0
            while tries < 24 * len(kinks) and len(out) < self.n_points + 4 * len(kinks):
                missing = [(k, s) for k in kinks for s in (1, -1) if s not in seen[k]]
                if not missing:
                    break
                tries += 1
                arg, sign = missing[tries % len(missing)]
                attempts += 1
                point = self._random_point(rng, leaves, positive=False, seed=attempts,
                                           push=(arg, sign))
                if point is None:
                    continue
                before = sum(len(v) for v in seen.values())
                _record_signs(point, kinks, seen)
                if sum(len(v) for v in seen.values()) > before:
                    out.append(point)
            self.uncovered = tuple(sorted(str(k) for k in kinks if len(seen[k]) < 2))
            out.extend(self._pattern_points(rng, leaves, kinks, out, attempts))
        for k, p in enumerate(out):
            p.examples = (lambda p=p, k=k: self._examples_of(p, k))
        return out

    @property
    def _kinks(self) -> tuple:
        """The graph's kink expressions (see :func:`symbackprop.verify.points.kinks_of`), computed once."""
        cached = self.__dict__.get("_kink_cache")
        if cached is None:
            cached = self.__dict__["_kink_cache"] = _kink_arguments(self.graph)
        return cached

    def _examples_of(self, point, k) -> list:
        """The batch at point k: the point itself and n − 1 more examples (new inputs and targets,
        the same parameters), for Σ_e in ∂J/∂θ."""
        cache = self.__dict__.setdefault("_example_cache", {})
        if k in cache:
            return cache[k]
        n = max(self.d.n_examples, 1)
        if n > 32:
            raise NotSupportedError(f"∂J/∂θ sums over the spec's n = {n} examples, too many to check; "
                                    "answer ∂L/∂θ for one example")
        if self.lazy:
            out = [point]
            for e in range(1, n):
                ex = point.sibling({})
                ex.resolve = functools.partial(self._resolve_example, point, k, e)
                out.append(ex)
            cache[k] = out
            return out
        rng = random.Random(f"symbackprop-examples-{self.seed}-{k}")
        leaves = [nd for nd in self.graph.nodes if nd.is_leaf]
        out = [point]
        while len(out) < n:
            values = {nd.symbol: point.values[nd.symbol].q for nd in leaves if nd.kind == "parameter"}
            for nd in leaves:
                if nd.kind == "input":
                    values[nd.symbol] = random_rational(rng)
            values.update(self._targets(rng))
            for nd in leaves:
                if nd.symbol not in values:
                    values[nd.symbol] = random_rational(rng)
            ex = point.sibling(values)
            try:
                for nd in self.graph.nodes:
                    if not nd.is_leaf:
                        ex.values[nd.symbol] = ex.evaluate(nd.definition)
            except (_Undefined, _Kink, ZeroDivisionError, OverflowError):
                continue
            if at_kink(ex, self._kinks):
                continue
            out.append(ex)
        cache[k] = out
        return out

    def _pattern_points(self, rng, leaves, kinks, have, attempts) -> list:
        """More points, one per sign pattern of the graph's ReLU-type units, so that a mistake seen
        only when several units are on given sides of their kinks at once (a relu′ dropped where
        its unit is off while the units before it are on) cannot agree by luck.  With at most
        :data:`EXHAUSTIVE_KINKS` units every pattern gets a point (each region of the piecewise
        function is then tested); with more, :data:`PATTERN_POINTS` random patterns, so a mistake
        visible only in one pattern of m given units is missed with probability ≤ (1 − 2^−m)^P
        (P = 128: below 10^−7 for m ≤ 3)."""
        if len(kinks) <= EXHAUSTIVE_KINKS:
            patterns = list(itertools.product((1, -1), repeat=len(kinks)))
        else:
            prng = random.Random(f"symbackprop-patterns-{self.seed}")
            patterns = [tuple(prng.choice((1, -1)) for _ in kinks) for _ in range(PATTERN_POINTS)]
        seen = {_signs_of(p, kinks) for p in have}
        by_symbol = {n.symbol for n in self.graph.nodes if not n.is_leaf}
        out = []
        for pattern in patterns:
            if pattern in seen:
                continue
            attempts += 1
            if all(k in by_symbol for k in kinks):
                point = self._pattern_point(rng, leaves, dict(zip(kinks, pattern)), attempts)
            else:
                point = self._random_point(rng, leaves, positive=False, seed=attempts, push=list(zip(kinks, pattern)))
            if point is None:
                continue
            got = _signs_of(point, kinks)
            if got not in seen:
                seen.add(got)
                out.append(point)
        return out

    def _pattern_point(self, rng, leaves, wanted: dict, seed):
        """One point whose units z have the signs ``wanted`` ({z: ±1}), in one pass over the graph
        in its order: where a unit has the wrong sign its own bias is moved (z = w a + b, so the
        new z is known at once) before anything downstream is computed.  None where undefined."""
        values = self._leaf_values(rng, positive=False)
        point = ExactPoint(values, seed=seed)
        biases = self.__dict__.setdefault("_bias_leaves", {})
        try:
            for n in self.graph.nodes:
                if n.is_leaf:
                    continue
                v = point.evaluate(n.definition)
                sign = wanted.get(n.symbol)
                if sign is not None and v.sign() != sign:
                    if n.symbol not in biases:
                        biases[n.symbol] = _additive_leaf(self.graph, n.symbol)
                    leaf = biases[n.symbol]
                    if leaf is not None:
                        moved = -float(v.num) + sign * float(random_rational(rng, positive=True))
                        values[leaf] = _near_rational(float(values[leaf]) + moved, rng)
                        point.values[leaf] = Value.rational(values[leaf])
                        point._memo.clear()
                        v = point.evaluate(n.definition)
                point.values[n.symbol] = v
        except (_Undefined, _Kink, ZeroDivisionError, OverflowError):
            return None
        return None if at_kink(point, self._kinks) else point

    def _leaf_values(self, rng, *, positive) -> dict:
        """Random rationals for the leaves (distinct), and targets as the loss wants them."""
        values = {}
        used: set = set()
        for n in self.graph.nodes:
            if not n.is_leaf or (n.kind == "target" and self.graph.mode == "network"):
                continue
            v = random_rational(rng, positive=positive)
            while v in used:
                v = random_rational(rng, positive=positive)
            used.add(v)
            values[n.symbol] = v
        values.update(self._targets(rng))
        return values

    def _random_point(self, rng, leaves, *, positive, seed, push=None):
        """One point (None when the graph is undefined there).  ``push = (arg, sign)`` or a list of
        them (in the graph's order): shift the additive leaf of each ``arg`` (the bias b of
        z = w a + b) so that ``arg`` gets that sign."""
        if push is not None and not isinstance(push, list):
            push = [push]
        values = self._leaf_values(rng, positive=positive)
        for _ in range(4 * len(push) if push is not None else 1):
            point = ExactPoint(values, seed=seed)
            try:
                for n in self.graph.nodes:
                    if not n.is_leaf:
                        point.values[n.symbol] = point.evaluate(n.definition)
            except (_Undefined, _Kink, ZeroDivisionError, OverflowError):
                return None
            if at_kink(point, self._kinks):
                return None
            if push is None:
                return point
            try:
                wrong = next(((arg, sign, now) for arg, sign in push
                              for now in (point.evaluate(arg),) if now.sign() != sign), None)
            except (_Undefined, _Kink, ZeroDivisionError):
                return None
            if wrong is None:
                return point
            arg, sign, now = wrong
            leaf = _additive_leaf(self.graph, arg)
            if leaf is None:
                return point
            shift = float(now.num)
            target = -shift + sign * float(random_rational(rng, positive=True))
            base = values[leaf]
            values[leaf] = _near_rational(float(base) + target, rng)
        return point

    def _targets(self, rng) -> dict:
        """Targets in the loss's valid domain: a probability vector for cross-entropy, [0, 1] for BCE."""
        targets = [n.symbol for n in self.graph.nodes if n.kind == "target"]
        if not targets or self.graph.mode != "network":
            return {}
        if self.graph.loss == "cross_entropy":
            weights = [rng.randint(1, 5) for _ in targets]
            return {t: Rational(w, sum(weights)) for t, w in zip(targets, weights)}
        if self.graph.loss == "bce":
            out = {}
            for t in targets:
                q = rng.choice(_DENOMINATORS)
                out[t] = Rational(rng.randint(1, q - 1), q)
            return out
        out = {}
        for t in targets:
            out[t] = random_rational(rng)
        return out

    def _values(self, expr, points=None) -> list:
        """Exact values of ``expr`` at the points (None where it is undefined)."""
        out = []
        for p in points or self.points():
            try:
                out.append(p.evaluate(expr))
            except (_Undefined, _Kink, ZeroDivisionError):
                out.append(None)
        return out
