r"""The likely mistakes of an index answer that concern whole paths of influence and parameters.

Generated from the derivation (the paths from θ to L, :meth:`symbackprop.derivation.chain_rule.Derivation.paths`):

- a neighbouring parameter's gradient (the transposed index convention w^{l}_{j,k} for w^{l}_{k,j},
  or another weight or bias of the layer, named with the local derivatives that belong to its paths),
  and an extra path (that gradient, or one of its paths, added to the right one; the paths through a
  softmax that enter the output layer at one z^{L}_{k} taken as one);
- every weight of one layer on the paths written with its indices swapped (w^{2}_{1,j} for
  w^{2}_{j,1} inside Σ_j);
- the paths through one node left out (a term of the sum over a layer's units dropped, e.g. in a
  softmax network, where the paths are too many to try every subset);
- the error of another output unit where this one's belongs: every path from θ to L enters the
  output layer at one unit i (z^{L}_{i}), so ∂L/∂θ = ∂L/∂z^{L}_{i} · ∂z^{L}_{i}/∂θ; the mutation is
  ∂L/∂z^{L}_{j} · ∂z^{L}_{i}/∂θ for j ≠ i (ŷ_2 − y_2 where ŷ_1 − y_1 belongs, softmax + cross-entropy).

A mixin of :class:`symbackprop.verify.mutations._Mutations` (it uses its helpers and :mod:`.diagnose`'s).
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from ..spec import names
from .vocabulary import COST

#: at most this many mutations per target (a bound on the work for big networks)
MAX_MUTATIONS = 400
#: at most this many paths of influence are mutated one factor at a time
MAX_PATHS = 24
#: at most this many nodes are tried in place of one node factor
MAX_SWAPS = 40


@dataclass(frozen=True)
class _Mutation:
    """A likely wrong answer (node symbols), the mistake's kind and the sentence that names it."""

    expr: sympy.Expr
    mistake: str
    message: str
    math: tuple = ()


class _PathMutations:
    """Mutations of the parameter and of the set of paths (see the module's docstring)."""

    def _transposed_weights(self, paths, wrap) -> list:
        """Every weight w^{l}_{j,k} of one layer on the paths written w^{l}_{k,j} (the index convention
        swapped, e.g. w^{2}_{1,j} for w^{2}_{j,1} inside Σ_j), where the transposed weight exists."""
        g = self.graph
        by_layer: dict = {}
        for p in paths:
            for h in p.factors:
                e = h.expression
                parts = names.split_indexed(e.name) if e.is_Symbol else None
                if parts is None or parts[1] is None or len(parts[2]) != 2 or g.by_name.get(e.name) is None \
                        or g.by_name[e.name].kind != "parameter":
                    continue
                swapped = f"{parts[0]}^{{{parts[1]}}}_{{{parts[2][1]},{parts[2][0]}}}"
                if swapped != e.name and swapped in g.by_name:
                    by_layer.setdefault((parts[0], parts[1]), {})[e] = g.by_name[swapped].symbol
        out = []
        for (base, layer), swaps in by_layer.items():
            total = sympy.S.Zero
            for p in paths:
                term = sympy.S.One
                for h in p.factors:
                    term *= swaps.get(h.expression, h.expression)
                total += term
            wrote = ", ".join(self._name(v.name) for v in swaps.values())
            meant = ", ".join(self._name(k.name) for k in swaps)
            out.append(_Mutation(wrap(total), "transposed_indices",
                                 f"swapped weight indices: you wrote {wrote} where {meant} belong{'s' if len(swaps) == 1 else ''}; "
                                 f"in {base}^{{{layer}}}_{{j,k}} the first index j is the unit the weight leads to "
                                 "and the second k the one it comes from"))
        return out

    def _output_unit(self, wrt):
        """(i, [(node of unit k, k) for every output unit k]) when every path from ``wrt`` to L enters
        the output layer at one unit i: through its pre-activation z^{L}_{i} (every path), else
        through its output ŷ_i; None for one output, or paths through several units."""
        g = self.graph
        outputs = g.outputs if g.mode == "network" else ()
        if len(outputs) < 2 or wrt not in g.by_name:
            return None
        paths = self.d.paths(wrt, limit=MAX_PATHS + 1)
        if not paths or len(paths) > MAX_PATHS:
            return None
        depth = len(g.layers)
        pre = [names.pre_activation(depth, k) if names.pre_activation(depth, k) in g.by_name else None
               for k in range(1, len(outputs) + 1)]
        for level in (pre, [y.name for y in outputs]):
            if None in level:
                continue
            entered = {k for k, node in enumerate(level) for p in paths if node in p.nodes}
            if len(entered) == 1:
                return entered.pop(), level
        return None

    def _output_unit_mutations(self, of, wrt) -> list:
        """The error ∂L/∂z^{L}_{j} of another output unit j where unit i's belongs (see the module's
        docstring), each named with both errors as the lectures write them."""
        if of != self.graph.output:
            return []
        cache = self.__dict__.setdefault("_output_unit_cache", {})
        if wrt in cache:
            return cache[wrt]
        found = self._output_unit(wrt)
        out = []
        if found is not None:
            i, level = found
            mine = level[i]
            downstream = sympy.S.One if mine == wrt else self._total_derivative(mine, wrt)
            for j, other in enumerate(level):
                if j == i:
                    continue
                expr = self.derivative(of, other) * downstream
                where = (f"belongs (output unit {i + 1})" if mine == wrt else
                         f"(∂{self._name(of)}/∂{self._name(mine)}) belongs: {self._name(wrt)} reaches "
                         f"{self._name(of)} only through {self._name(mine)}, output unit {i + 1}")
                out.append(_Mutation(expr, "wrong_output_unit",
                                     f"wrong output unit: your answer has {self._unit_error(other, j)}, the error "
                                     f"∂{self._name(of)}/∂{self._name(other)} of output unit {j + 1}, where "
                                     f"{self._unit_error(mine, i)} {where}"))
        cache[wrt] = out
        return out

    def _unit_error(self, node: str, k: int) -> str:
        """∂L/∂node of output unit k as the lectures write it: ŷ_k − y_k where it equals that (softmax
        with cross-entropy, the targets a probability vector), else the derivation's expression."""
        g = self.graph
        output = g.outputs[k]
        target = g.by_name.get(names.target(k + 1))
        exact = self.derivative(g.output, node)
        if target is not None:
            simple = output.symbol - target.symbol
            values, wanted = self._values(simple), self._values(exact)
            if all(v is not None and w is not None and v.equals(w) for v, w in zip(values, wanted)):
                return self._shown(simple)
        return self._shown(exact)

    def _dropped_node_paths(self, paths, wrap, wrt) -> list:
        """The paths through one node left out (the chain rule's sum over that node's branch dropped),
        e.g. the term of z^{3}_{2} in Σ_k (ŷ_k − y_k) w^{2}_{k,2} of a softmax net."""
        if len(paths) < 2:
            return []
        counts: dict = {}
        for p in paths:
            for node in set(p.nodes[1:-1]):
                counts[node] = counts.get(node, 0) + 1
        out = []
        for node in sorted(counts, key=lambda n: (counts[n], n)):
            if counts[node] == len(paths):
                continue
            kept = [p for p in paths if node not in p.nodes]
            total = sympy.Add(*[p.product for p in kept])
            out.append(_Mutation(wrap(total), "missing_path",
                                 f"a missing path: your answer leaves out the {counts[node]} path"
                                 f"{'s' if counts[node] > 1 else ''} of influence through {self._name(node)} "
                                 f"(the chain rule adds every path from {self._name(wrt)} to "
                                 f"{self._name(self.graph.output)})"))
            if len(out) >= 12:
                break
        return out

    def _family(self, wrt) -> list:
        """The other parameters of wrt's kind and layer (w^{1}_{·,·} for w^{1}_{1,2}), by name; in a
        graph spec (names without indices) the other inputs and parameters (x, y, z of f = (x + y) z)."""
        g = self.graph
        parts = names.split_indexed(wrt)
        if parts is None or parts[1] is None:
            if g.mode == "network" or not g.by_name[wrt].is_leaf:
                return []
            return sorted(n.name for n in g.nodes if n.is_leaf and n.name != wrt and n.kind != "target")[:24]
        return sorted((n.name for n in g.nodes if n.kind == "parameter" and n.name != wrt
                       and (names.split_indexed(n.name) or (None, None))[:2] == parts[:2]))[:24]

    def _layer_others(self, wrt) -> list:
        """The parameters of wrt's layer of the other kind (the biases b^{1}_{·} for w^{1}_{1,1}, the
        weights for a bias), by name, at most 24: an answer for one of them, or a path from one added."""
        g = self.graph
        parts = names.split_indexed(wrt)
        if g.mode != "network" or parts is None or parts[1] is None:
            return []
        return sorted(n.name for n in g.nodes if n.kind == "parameter" and n.name != wrt
                      and (names.split_indexed(n.name) or (None, None))[1] == parts[1]
                      and names.split_indexed(n.name)[0] != parts[0])[:24]

    def _parameter_mutations(self, of, wrt, wrap) -> list:
        out = []
        parts = names.split_indexed(wrt)
        target = self._target_text(of, wrt)
        for q in self._family(wrt):
            other = self.derivative(of, q)
            q_parts = names.split_indexed(q)
            theirs = self._target_text(of, q)
            if parts is not None and q_parts is not None and len(parts[2]) == 2 and q_parts[2] == parts[2][::-1]:
                child = next(iter(self.graph.children[wrt]), None)
                source = None
                if child is not None:
                    coefficient = sympy.diff(self.graph.by_name[child].definition, self.graph.by_name[wrt].symbol)
                    source = self._shown(coefficient) if coefficient.is_Symbol else None
                where = (f"; in {self._name(wrt)} the first index is the unit it leads to ({self._name(child)}) "
                         f"and the second the one it comes from ({source})" if source else "")
                out.append(_Mutation(other, "transposed_indices",
                                     f"transposed indices: your answer is {theirs}, not {target}{where}"))
            else:
                out.append(_Mutation(other, "wrong_parameter",
                                     f"this is {theirs}: the gradient of {self._name(q)}, not of {self._name(wrt)}"
                                     + self._differing_factors(of, wrt, q)))
        children = self.graph.children
        for q in self._layer_others(wrt):
            if children.get(q) == children.get(wrt):
                continue   # the same unit's w and b differ by the factor ∂z/∂θ, which the factor diagnosis names
            out.append(_Mutation(self.derivative(of, q), "wrong_parameter",
                                 f"this is {self._target_text(of, q)}: the gradient of {self._name(q)}, not of "
                                 f"{self._name(wrt)}" + self._differing_factors(of, wrt, q)))
        own = self.derivative(of, wrt)
        for q in self._family(wrt) + self._layer_others(wrt):
            other = self.derivative(of, q)
            theirs = self._target_text(of, q)
            paths = self._coarse_paths(q) if of != COST else []
            through = f" ({paths[0][0]})" if len(paths) == 1 else ""
            out.append(_Mutation(own + other, "extra_path",
                                 f"an extra path: your answer adds {theirs}{through}, a path that does not start "
                                 f"at {self._name(wrt)}; the chain rule sums only the paths from {self._name(wrt)} "
                                 f"to {self._name(self.graph.output)}"))
            if 1 < len(paths) <= 6:
                for shown, term in paths:
                    out.append(_Mutation(own + term, "extra_path",
                                         f"an extra path: your answer adds the term of the path {shown}, which does "
                                         f"not start at {self._name(wrt)}; the chain rule sums only the paths from "
                                         f"{self._name(wrt)} to {self._name(self.graph.output)}"))
        return out

    def _coarse_paths(self, q) -> list:
        """[(the path as text, its term)] for the paths from ``q`` to L, those that enter the output
        layer at the same z^{L}_{k} taken as one: a student adds the term ∂L/∂z^{L}_{k} · (the product
        up to z^{L}_{k}), not one of the K paths through a softmax (w^{1}_{2,1} → z^{2}_{2} → a^{2}_{2}
        → z^{3}_{1} → ŷ_1, ŷ_2, ŷ_3 → L).  Empty for more than :data:`MAX_PATHS` paths."""
        g = self.graph
        paths = self.d.paths(q, limit=MAX_PATHS + 1)
        if not paths or len(paths) > MAX_PATHS:
            return []
        depth = len(g.layers) if g.mode == "network" else None
        entry = {names.pre_activation(depth, k) for k in range(1, len(g.outputs) + 1)} if depth else set()
        groups: dict = {}
        for p in paths:
            cut = next((i for i, n in enumerate(p.nodes) if n in entry), None)
            key = p.nodes if cut is None else p.nodes[:cut + 1]
            groups.setdefault(key, []).append(p)
        out = []
        for key, members in groups.items():
            if len(members) == 1:
                shown = " → ".join(self._name(n) for n in members[0].nodes)
            else:
                after = list(dict.fromkeys(n for p in members for n in p.nodes[len(key):-1]))
                shown = " → ".join([self._name(n) for n in key] + [", ".join(self._name(n) for n in after),
                                                                   self._name(g.output)])
            out.append((shown, sympy.Add(*[p.product for p in members])))
        return out

    def _differing_factors(self, of, wrt, q) -> str:
        """' (your …, … belong to the path of q)': the local derivatives on q's paths and not on wrt's."""
        if of != self.graph.output:
            return ""
        mine = {h.expression for p in self.d.paths(wrt, limit=MAX_PATHS) for h in p.factors}
        theirs = []
        for p in self.d.paths(q, limit=MAX_PATHS):
            for h in p.factors:
                if h.expression not in mine and not h.expression.is_Number and h.expression not in theirs:
                    theirs.append(h.expression)
        if not theirs or len(theirs) > 4:
            return ""
        shown = ", ".join(self._shown(e) for e in theirs)
        return (f" (your {shown} belong{'s' if len(theirs) == 1 else ''} to the path{'s' if len(self.d.paths(q, limit=2)) > 1 else ''} "
                f"of {self._name(q)})")
