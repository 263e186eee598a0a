r"""The matrix reader's sample points and the comparison of values there.

Random rational matrices (W_l, b_l, x, y with targets in the loss's domain), extended until every kink
is on both sides; every named matrix of a point computed lazily; values compared entry by entry, exactly.
A mixin of :class:`symbackprop.verify.matrix_reader.MatrixAnswerChecker`.
"""
from __future__ import annotations

import random
from functools import cached_property

import numpy as np
from sympy import Rational

from ..derivation.matrix_form import MatrixExpr, ShapeError
from ..errors import NotSupportedError
from .exact import _Kink, _Undefined, ExactPoint, Value
from .matrix_builder import _Side
from .matrix_eval import _equal_arrays, _Evaluator, _LazyEnv, _Point, EVAL_MAX_PRODUCTS
from .points import random_rational
from .verdict import Step


class _MatrixPoints:
    """Sample points of matrix answers and exact comparison there."""

    # ---- points ----------------------------------------------------------------------------
    @cached_property
    def eval_sizes(self) -> dict:
        """Sizes of the dimensions used for evaluation: the spec's, or smaller for big networks
        (the formulas are generic in the sizes; the shapes were checked by name)."""
        md = self.md
        n = md.n_examples or 3
        widths = list(md.layers)
        cost = n * sum(widths[l] * widths[l + 1] for l in range(md.depth))
        if cost > EVAL_MAX_PRODUCTS:
            n = min(n, 4)
            last = len(widths) - 1
            widths = [w if (l == last and w <= 10) else min(w, 3) for l, w in enumerate(widths)]
        sizes = {"n": n, "1": 1}
        sizes.update({f"N_{l}": w for l, w in enumerate(widths)})
        return sizes

    @property
    def reduced(self) -> bool:
        md = self.md
        return any(self.eval_sizes[f"N_{l}"] != w for l, w in enumerate(md.layers)) or \
            (md.n_examples is not None and self.eval_sizes["n"] != md.n_examples)

    def points(self) -> list:
        if self._points is None:
            self._points = self._make_points()
        return self._points

    def _targets_values(self, rng, n, K):
        loss = self.md.loss
        rows = []
        for _ in range(n):
            if loss == "cross_entropy":
                weights = [rng.randint(1, 5) for _ in range(K)]
                rows.append([Rational(w, sum(weights)) for w in weights])
            elif loss == "bce":
                row = []
                for _ in range(K):
                    q = rng.choice((3, 5, 7, 11, 13))
                    row.append(Rational(rng.randint(1, q - 1), q))
                rows.append(row)
            else:
                rows.append([random_rational(rng) for _ in range(K)])
        return rows

    def _make_points(self) -> list:
        md, pe, sizes = self.md, self.per_example, self.eval_sizes
        rng = random.Random(f"symbackprop-matrix-{self.seed}")
        n = sizes["n"]
        widths = [sizes[f"N_{l}"] for l in range(md.depth + 1)]
        kinked = [l for l in range(1, md.depth + 1)
                  if md.activations[l - 1] in ("relu", "leaky_relu")]
        seen = {(l, j): set() for l in kinked for j in range(widths[l])}
        out = []
        for attempt in range(1, 61 + 8 * len(seen)):
            missing = [k for k, v in seen.items() if len(v) < 2]
            if len(out) >= self.n_points and not missing:
                break
            if len(out) >= self.n_points + 2 * len(seen) or (len(out) >= self.n_points and attempt > 60 + 8 * len(seen)):
                break
            raw = {"x": [[random_rational(rng) for _ in range(widths[0])] for _ in range(n)],
                   "y": self._targets_values(rng, n, widths[-1])}
            for l in range(1, md.depth + 1):
                raw[f"W_{l}"] = [[random_rational(rng) for _ in range(widths[l])] for _ in range(widths[l - 1])]
                raw[f"b_{l}"] = [[random_rational(rng) for _ in range(1 if md.shared_biases else widths[l])]]
            exact = ExactPoint({}, seed=attempt)
            values = {}
            for name, rows in raw.items():
                arr = np.empty((len(rows), len(rows[0])), dtype=object)
                for i, row in enumerate(rows):
                    for j, v in enumerate(row):
                        arr[i, j] = Value.rational(v)
                values[name] = arr
            cache = {}
            env = _LazyEnv(values, self._definitions, exact, n, sizes, cache)
            try:
                for l in kinked:   # the kinks' sides are needed now; everything else when asked for
                    env[f"z_{l}"]
            except (_Undefined, _Kink, ZeroDivisionError, OverflowError):
                continue
            if len(out) >= self.n_points:
                # an extra point only when it shows a unit on a side of its kink not seen yet
                before = sum(len(v) for v in seen.values())
                self._record_kinks(env, seen)
                if sum(len(v) for v in seen.values()) == before:
                    continue
            else:
                self._record_kinks(env, seen)
            out.append(_Point(exact, raw, env, cache))
        self.uncovered = tuple(f"z_{l} column {j + 1}" for (l, j), v in seen.items() if len(v) < 2)
        if not out:
            raise NotSupportedError("could not find points where the network is defined; the answer cannot be checked")
        return out

    @cached_property
    def _definitions(self) -> dict:
        """name -> the matrix expression of its forward or backward step (per example)."""
        pe = self.per_example
        out = {s.target.name: s.expression for s in pe.forward}
        if "dyhat" in self.targets:
            out["dyhat"] = self.targets["dyhat"].reference
        for s in pe.backward:
            out[s.name] = s.reference
        return out

    @staticmethod
    def _record_kinks(env, seen) -> None:
        for (l, j) in seen:
            z = env.get(f"z_{l}")
            if z is None:
                continue
            for i in range(z.shape[0]):
                try:
                    seen[(l, j)].add(z[i, j].sign())
                except (_Undefined, _Kink):
                    pass

    def values(self, expr: MatrixExpr) -> list:
        """The exact value of ``expr`` at every point (None where it is undefined)."""
        out = []
        for p in self.points():
            try:
                out.append(_Evaluator(p.exact, p.env, self.eval_sizes["n"], self.eval_sizes, p.cache)(expr))
            except (_Undefined, _Kink, ZeroDivisionError):
                out.append(None)
        return out

    def reference_values(self, target: str) -> list:
        out = []
        for p in self.points():
            try:
                out.append(p.env[target])
            except (_Undefined, _Kink, ZeroDivisionError, OverflowError):
                out.append(None)
        return out

    @staticmethod
    def _equal(values, refs) -> bool:
        used = 0
        for a, r in zip(values, refs):
            if r is None:   # the reference is undefined at this point (a lazy point): not usable
                continue
            if a is None:
                return False
            used += 1
            if not _equal_arrays(a, r):
                return False
        return used > 0

    def _steps(self, target_text, sides) -> tuple:
        texts = ([target_text] if target_text is not None else []) + [s.text for s in sides]
        status = ([None] if target_text is not None else []) + list(sides)
        steps = []
        for k in range(1, len(texts)):
            left, right = status[k - 1], status[k]
            ok_left = True if left is None else left.equal
            ok_right = right.equal
            if ok_left and ok_right:
                equal = True
            elif ok_left != ok_right:
                equal = False
            else:
                equal = self._agree(left, right)
            steps.append(Step(k, texts[k - 1].strip(), texts[k].strip(), equal))
        return tuple(steps)

    def _agree(self, left: _Side, right: _Side) -> bool:
        """Two wrong lines that are still equal to each other (a correct step from a wrong line)."""
        if left.expr is None or right.expr is None:
            return False
        if left.expr == right.expr:
            return True
        ls, rs = left.expr.shape, right.expr.shape
        if (ls is None) != (rs is None) or (ls is not None and ls.labels != rs.labels):
            return False
        lv = left.values if left.values is not None else self.values(left.expr)
        rv = right.values if right.values is not None else self.values(right.expr)
        return self._equal(lv, rv)

    # ---- feedback ------------------------------------------------------------------------------
    def _value_equal(self, expr, refs) -> bool:
        try:
            return self._equal(self.values(expr), refs)
        except (_Undefined, _Kink, ZeroDivisionError, ShapeError):  # pragma: no cover - values() catches
            return False
