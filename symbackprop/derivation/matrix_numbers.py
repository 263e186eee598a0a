"""The numbers of the matrix form: the spec's parameters and data as matrices in the slides' shapes,
and every named matrix evaluated from the steps' formulas (``environment``).

Takes the spec a ``MatrixDerivation`` was built from; gives float or exact (SymPy) arrays.
``MatrixNumbers`` is a mixin of ``MatrixDerivation`` (split out of ``matrix_form``).
"""
from __future__ import annotations

from functools import cached_property

import numpy as np
import sympy

from ..errors import SpecError

from .matrix_expr import evaluate


def _to_float(v) -> float:
    if isinstance(v, sympy.Rational):
        return v.p / v.q
    return float(v)


class MatrixNumbers:
    """The numeric side of ``MatrixDerivation``: needs ``spec``, ``depth``, ``layers``, ``forward`` and
    ``backward``."""

    @cached_property
    def spec_matrices(self):
        """The spec's parameters in the slides' shapes, floats: [(W_1, b_1), ...] with W_l (N_{l-1}, N_l)
        and b_l (1, N_l), or (1, 1) with shared biases."""
        if self.spec is None or self.spec.weights is None:
            raise SpecError("no parameters: the matrix derivation was built without a spec")
        out = []
        for l in range(1, self.depth + 1):
            w = self.spec.weights[l - 1]
            Wt = np.array([[_to_float(v) for v in row] for row in w], dtype=float).reshape(self.layers[l], self.layers[l - 1])
            bb = np.array([_to_float(v) for v in self._layer_biases(l)], dtype=float).reshape(1, -1)
            out.append((np.ascontiguousarray(Wt.T), bb))
        return out

    def spec_exact_matrices(self):
        """The spec's parameters as exact object arrays [(W_l, b_l)] (small networks)."""
        out = []
        for l in range(1, self.depth + 1):
            w = self.spec.weights[l - 1]
            Wt = np.array(w, dtype=object).reshape(self.layers[l], self.layers[l - 1])
            out.append((Wt.T.copy(), np.array([list(self._layer_biases(l))], dtype=object)))
        return out

    def _layer_biases(self, l: int) -> tuple:
        """The spec's biases of layer l: one per node, or the layer's one shared bias (the spec keeps it
        once per node, all equal)."""
        biases = tuple(self.spec.biases[l - 1])
        return biases[:1] if getattr(self, "shared_biases", False) else biases

    def per_node_biases(self, mats) -> list:
        """[(W_l, b_l)] with each shared (1, 1) bias repeated across its layer's N_l nodes, the (1, N_l) rows
        a per-node consumer such as the independent trainer (``shared_biases=True``) takes; as is otherwise."""
        if not getattr(self, "shared_biases", False):
            return list(mats)
        return [(W, np.repeat(np.reshape(b, (1, 1)), self.layers[l], axis=1)) for l, (W, b) in enumerate(mats, start=1)]

    def has_data(self) -> bool:
        return self.spec is not None and bool(self.spec.x)

    def spec_data(self, exact: bool = False):
        """(X, Y) from the spec: (n, N_0) and (n, N_L) arrays (floats, or exact object arrays)."""
        if not self.has_data():
            raise SpecError(f"{self.spec.source if self.spec else '<spec>'}: [data]: no x and y rows")
        if exact:
            return (np.array(self.spec.x, dtype=object).reshape(len(self.spec.x), -1),
                    np.array(self.spec.y, dtype=object).reshape(len(self.spec.y), -1))
        X = np.array([[_to_float(v) for v in row] for row in self.spec.x], dtype=float).reshape(len(self.spec.x), -1)
        Y = np.array([[_to_float(v) for v in row] for row in self.spec.y], dtype=float).reshape(len(self.spec.y), -1)
        return X, Y

    def environment(self, mats=None, X=None, Y=None, *, exact: bool = False, general: bool = True) -> dict:
        """Every named matrix at the given parameters and data, computed by evaluating the
        forward and backward steps in order (the formulas themselves, not generated code):
        {'x', 'y', 'W_l', 'b_l', 'z_l', 'a_l', 'yhat', 'dz_l', 'da_l', 'dW_l', 'db_l', 'n'}.
        Defaults: the spec's parameters and data. ``exact=True``: object arrays of SymPy numbers.
        ``general=False`` evaluates each step's ``expression`` (ŷ − y for cross-entropy, which
        assumes one-hot targets) instead of its ``reference``."""
        if mats is None:
            mats = self.spec_exact_matrices() if exact else self.spec_matrices
        if X is None or Y is None:
            X0, Y0 = self.spec_data(exact=exact)
            X = X0 if X is None else X
            Y = Y0 if Y is None else Y
        env = {"x": X, "y": Y, "n": np.shape(X)[0]}
        for l, (Wl, bl) in enumerate(mats, start=1):
            env[f"W_{l}"] = Wl
            env[f"b_{l}"] = bl
        for s in self.forward:
            env[s.target.name] = evaluate(s.expression, env, exact=exact)
        for s in self.backward:
            env[s.target.name] = evaluate(s.reference if general else s.expression, env, exact=exact)
        return env


__all__ = ["MatrixNumbers"]
