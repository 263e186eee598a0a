r"""The likely mistakes of an index answer, generated from the derivation, and the one an answer makes.

The correct answer ∂L/∂θ is the sum over the paths of influence of the products of the local
derivatives on their edges (:meth:`symbackprop.derivation.chain_rule.Derivation.paths`).  Each
mutation changes that sum the way a student's derivation goes wrong:

- a neighbouring parameter's gradient, an extra path, a layer's weights with swapped indices, the
  paths through one node dropped (:mod:`.mutations_paths`);
- one local derivative dropped or doubled (on every path that has it);
- an activation's derivative taken at a instead of z, written in z (z(1 − z) for a(1 − a)) or in
  another node (x_1(1 − x_1)), only part of it (a for a(1 − a); its square dropped: 1 − a, i.e.
  1 − tanh z, for tanh′ = 1 − a², and sech z for sech² z), the activation itself (a^{3}_{2} or ReLU(z) for ReLU′(z)), or another
  activation's (a(1 − a) in a tanh layer, whose tanh′(z) = 1 − a²: the forms come from the
  registry entries, ``ops.activations``);
- one factor that is a node (x_1, a^{2}_{1}, w^{2}_{1,1}) replaced by another node.

Signs, 1/n and stray 2s are constant ratios (:mod:`.diagnose`), dropped paths are subsets of the
paths (``_partial_paths``).  An answer matches a mutation when the two are *exactly* equal at every
sample point (the exact field of :mod:`.exact`), and the mutation differs from the right answer at
one of them; the first mutation that matches names the mistake and the factor or edge involved.
A mixin of :class:`symbackprop.verify.checker.AnswerChecker` (it uses :mod:`.diagnose`'s helpers).
"""
from __future__ import annotations

import sympy

from ..spec import names
from .mutations_paths import _Mutation, _PathMutations, MAX_MUTATIONS, MAX_PATHS, MAX_SWAPS
from .verdict import _lecture_form, _plain, _tex
from .vocabulary import COST

__all__ = ["_Mutation", "_Mutations", "MAX_MUTATIONS", "MAX_PATHS", "MAX_SWAPS"]

#: an activation's derivative that the courses also write as a square h(z)²: (h's name, h), so that h
#: without the square is named (tanh′(z) = sech²(z), sech z = 2/(e^z + e^{−z}) as the grammar reads it)
_SQUARE_FORMS = {"tanh": ("sech", lambda z: 2 / (sympy.exp(z) + sympy.exp(-z)))}


class _Mutations(_PathMutations):
    """Generates the likely mistakes of ∂L/∂θ from the derivation and matches an answer against them."""

    def _mutations(self, of, wrt) -> list:
        cache = self.__dict__.setdefault("_mutation_cache", {})
        if (of, wrt) not in cache:
            cache[(of, wrt)] = self._make_mutations(of, wrt)[:MAX_MUTATIONS]
        return cache[(of, wrt)]

    def _wrong_output_unit(self, expr, a_values, usable, of, wrt):
        """The wrong-output-unit mutation the answer equals, when the answer names another output
        unit (its ŷ_j, y_j or z^{L}_{j}); else None.  Tried before the constant ratios: with two
        softmax outputs ŷ_2 − y_2 = −(ŷ_1 − y_1), and the student wrote the other unit, not a sign."""
        mutations = self._output_unit_mutations(of, wrt)
        if not mutations:
            return None
        g = self.graph
        named = {s.name for s in expr.free_symbols}
        i, level = self._output_unit(wrt)
        units = [{g.outputs[k].name, level[k], names.target(k + 1)} for k in range(len(level))]
        others = [m for k, m in zip((k for k in range(len(level)) if k != i), mutations) if named & units[k]]
        return self._first_matching(others, a_values, None, usable)

    def _matching_mutation(self, a_values, r_values, usable, of, wrt):
        """The first mutation equal to the answer at every usable point (and not to the reference), or None."""
        return self._first_matching(self._mutations(of, wrt), a_values, r_values, usable)

    def _first_matching(self, mutations, a_values, r_values, usable):
        """The first of ``mutations`` equal to the answer at every usable point (and, given the
        reference's values, not equal to the reference everywhere), or None."""
        for m in mutations:
            def same(i, m=m):
                v = self._value_at(m.expr, i)
                return v is not None and v.equals(a_values[i])

            def right(i, m=m):
                v = self._value_at(m.expr, i)
                return v is not None and v.equals(r_values[i])

            if self._everywhere(usable, same) and (r_values is None or not self._everywhere(usable, right)):
                return m
        return None

    # -- generation ------------------------------------------------------------------------
    def _make_mutations(self, of, wrt) -> list:
        g = self.graph
        if of not in (g.output, COST) or (of == COST and COST in g.by_name) or wrt not in g.by_name:
            return []
        if of == COST:
            wrap = self.cost_reduction(wrt)   # r Σ_e for a parameter, r alone for one example's node
        else:
            def wrap(e):
                return e
        out = list(self._output_unit_mutations(of, wrt))
        out.extend(self._parameter_mutations(of, wrt, wrap))
        paths = self.d.paths(wrt, limit=MAX_PATHS + 1)
        if not paths or len(paths) > MAX_PATHS:
            return out
        out.extend(self._transposed_weights(paths, wrap))
        out.extend(self._dropped_node_paths(paths, wrap, wrt))
        for f in self._distinct_factors(paths):
            out.extend(self._factor_mutations(paths, f, of, wrt, wrap))
        return out

    @staticmethod
    def _distinct_factors(paths) -> list:
        seen, out = set(), []
        for p in paths:
            for f in p.factors:
                key = (f.child, f.parent)
                if key not in seen and not f.expression.is_Number:
                    seen.add(key)
                    out.append(f)
        return out

    @staticmethod
    def _replaced(paths, f, new) -> sympy.Expr:
        """Σ over the paths of the product of the local derivatives, with the edge of ``f`` giving ``new``
        (left unevaluated: it is only evaluated at the points, and SymPy's canonical products of
        hundreds of mutations of a big network took seconds)."""
        edge = (f.child, f.parent)
        return sympy.Add(*[sympy.Mul(*[new if (h.child, h.parent) == edge else h.expression for h in p.factors],
                                     evaluate=False) for p in paths], evaluate=False)

    def _edge(self, f) -> str:
        return f"∂{self._name(f.child)}/∂{self._name(f.parent)}"

    def _shown(self, expr) -> str:
        return _plain(_lecture_form(expr), self.shown)

    def _factor_mutations(self, paths, f, of, wrt, wrap) -> list:
        g = self.graph
        child = g.by_name[f.child]
        expr = f.expression
        shown = self._shown(expr)
        edge = self._edge(f)
        out = []
        entry = self._activation_entry(child)
        if entry is not None:
            head, tex_head = self._derivative_head(child, f.parent)
            named = f"{head} = {shown}"
            math = ((named, f"{tex_head} = {_tex(_lecture_form(expr), self.shown)}"),)
            out.append(_Mutation(wrap(self._replaced(paths, f, sympy.S.One)), "activation_derivative_missing",
                                 f"the activation's derivative is missing: multiply by {named} ({edge})", math))
            out.append(_Mutation(wrap(self._replaced(paths, f, expr ** 2)), "activation_derivative_twice",
                                 f"the activation's derivative {named} is applied twice", math))
            out.extend(self._activation_mutations(paths, f, entry, head, named, wrap, math))
        else:
            out.append(_Mutation(wrap(self._replaced(paths, f, sympy.S.One)), "missing_factor",
                                 f"missing the factor {shown} ({edge})"))
            out.append(_Mutation(wrap(self._replaced(paths, f, expr ** 2)), "extra_factor",
                                 f"the factor {shown} ({edge}) appears twice"))
        if expr.is_Symbol and expr.name in g.by_name:
            out.extend(self._swap_mutations(paths, f, wrap))
        return out

    def _activation_entry(self, child):
        if child.kind != "activation" or child.activation is None:
            return None
        from ..ops.activations import get_activation

        entry = get_activation(child.activation)
        return None if entry.layerwise or entry.derivative is None or entry.name == "identity" else entry

    def _activation_mutations(self, paths, f, entry, head, named, wrap, math) -> list:
        from ..ops.activations import ACTIVATIONS, derivative_names

        a, z = self.graph.by_name[f.child].symbol, self.graph.by_name[f.parent].symbol
        expr = f.expression
        prime = derivative_names()[entry.name][1]
        generic = _plain(_lecture_form(entry.scalar_derivative()))
        out = []
        at_a = entry.derivative(entry.function(a), a)
        out.append(_Mutation(wrap(self._replaced(paths, f, at_a)), "activation_derivative_at_a",
                             f"the activation's derivative is taken at {self._name(f.child)} instead of "
                             f"{self._name(f.parent)}: {named}, not {prime}({self._name(f.child)})", math))
        if expr.has(a):
            in_z = expr.xreplace({a: z})
            out.append(_Mutation(wrap(self._replaced(paths, f, in_z)), "activation_derivative_in_z",
                                 f"{self._shown(in_z)} is written in {self._name(f.parent)} where "
                                 f"{self._name(f.child)} belongs: {named} is in terms of the output "
                                 f"{self._name(f.child)} ({prime}(z) = {generic})", math))
        for wrong, written, square in self._square_slips(expr, entry, f):
            out.append(_Mutation(wrap(self._replaced(paths, f, wrong)), "activation_derivative_incomplete",
                                 f"part of the activation's derivative is missing: {named}"
                                 f"{' = ' + square if square else ''}; your answer has {written}, without the square",
                                 math))
        for part in self._parts(expr):
            rest = sympy.cancel(expr / part)
            out.append(_Mutation(wrap(self._replaced(paths, f, rest)), "activation_derivative_incomplete",
                                 f"part of the activation's derivative is missing: {named}, your answer has "
                                 f"{self._shown(rest)} without {self._shown(part)}", math))
        # the activation's value where its derivative belongs (a^{3}_{2} or ReLU(z^{3}_{2}) for ReLU′(z^{3}_{2})),
        # unless that is part of it (a for σ′ = a(1 − a) is named as the missing 1 − a)
        parts = self._parts(expr)
        if expr != a and a not in parts:
            value = prime.rstrip("′'")
            out.append(_Mutation(wrap(self._replaced(paths, f, a)), "activation_for_derivative",
                                 f"the activation itself where its derivative belongs: {self._name(f.child)} = "
                                 f"{value}({self._name(f.parent)}) is not ∂{self._name(f.child)}/∂"
                                 f"{self._name(f.parent)}; {named}", math))
        # another node in place of the activation inside its derivative (x_1(1 − x_1) for a^{2}_{1}(1 − a^{2}_{1}))
        if expr.has(a):
            for node in self._nearby_values(f):
                wrong = expr.xreplace({a: node.symbol})
                out.append(_Mutation(wrap(self._replaced(paths, f, wrong)), "activation_derivative_wrong_node",
                                     f"{self._shown(wrong)} is written in {self._name(node.name)} where "
                                     f"{self._name(f.child)} belongs: {named}", math))
        for other_name, other in ACTIVATIONS.items():
            if other_name in (entry.name, "identity") or other.layerwise or other.derivative is None:
                continue
            theirs = other.derivative(a, z)
            if theirs == expr:
                continue
            other_prime = derivative_names()[other_name][1]
            out.append(_Mutation(wrap(self._replaced(paths, f, theirs)), "wrong_activation_derivative",
                                 f"wrong activation derivative: {self._shown(theirs)} is {other_prime} "
                                 f"({other_prime}(z) = {_plain(_lecture_form(other.scalar_derivative()))}), but the layer "
                                 f"is {entry.name}: {prime}(z) = {generic}, here {named}", math))
        return out

    def _square_slips(self, expr, entry, f) -> list:
        """(wrong local derivative, how it reads, the square it drops) for a derivative with a square in
        it, the square dropped: 1 − a for tanh′ = 1 − a² (1 − tanh z for 1 − tanh² z), and h(z) for a
        derivative the courses also write h(z)² (sech z for tanh′ = sech² z, :data:`_SQUARE_FORMS`)."""
        out = []
        dropped = expr.replace(lambda e: e.is_Pow and e.exp == 2, lambda e: e.base)
        if dropped != expr:
            out.append((dropped, self._shown(dropped), None))
        form = _SQUARE_FORMS.get(entry.name)
        if form is not None:
            word, h = form
            z = self._name(f.parent)
            out.append((h(self.graph.by_name[f.parent].symbol), f"{word}({z})", f"{word}²({z})"))
        return out

    @staticmethod
    def _parts(expr) -> list:
        """The factors of a local derivative a student may drop: a(1 − a) -> a, 1 − a; 1 − a² -> 1 − a, 1 + a."""
        if expr.is_Mul:
            return [p for p in expr.args if not p.is_Number]
        try:
            coefficient, factors = sympy.factor_list(expr)
        except (sympy.PolynomialError, ValueError, TypeError):
            return []
        if len(factors) < 2:
            return []
        out = [base for base, _ in factors]
        if coefficient.is_negative:
            # 1 − a² = −(a − 1)(a + 1): the sign goes into the first factor, (1 − a)(1 + a), so that the
            # part kept when the other is dropped reads as written (1 + a, not −a − 1)
            out[0] = -out[0]
        return out

    def _nearby_values(self, f) -> list:
        """Nodes a student may write in place of the activation a = g(z) inside g′: the inputs of z
        (x_1 for a^{2}_{1}) and the other activations of a's layer, at most 8."""
        g = self.graph
        z = g.by_name[f.parent]
        out = []
        for name in list(z.parents) + sorted(g.by_name):
            node = g.by_name[name]
            if node.name == f.child or node.kind not in ("input", "activation") or node in out:
                continue
            if name not in z.parents and self._closeness(f.child, node)[0] > 1:
                continue
            out.append(node)
        return out[:8]

    def _closeness(self, name: str, node) -> tuple:
        """The order in which nodes are tried in place of ``name``: the same unit first (z^{3}_{2} for
        a^{3}_{2}), then the same kind of node in the same layer, then the others, each by name."""
        mine, theirs = names.split_indexed(name), names.split_indexed(node.name)
        kind = self.graph.by_name[name].kind
        if mine is not None and theirs is not None and mine[1:] == theirs[1:]:
            rank = 0
        elif node.kind == kind and mine is not None and theirs is not None and mine[1] == theirs[1]:
            rank = 1
        elif node.kind == kind:
            rank = 2
        else:
            rank = 3
        return rank, node.name

    def _swap_mutations(self, paths, f, wrap) -> list:
        g = self.graph
        old = f.expression
        out = []
        tried = 0
        for node in sorted(g.nodes, key=lambda n: self._closeness(old.name, n)):
            if node.symbol == old or node.kind not in ("input", "activation", "parameter", "pre_activation", "intermediate"):
                continue
            tried += 1
            if tried > MAX_SWAPS:
                break
            out.append(_Mutation(wrap(self._replaced(paths, f, node.symbol)), "wrong_factor",
                                 f"wrong factor: you wrote {self._name(node.name)} where {self._name(old.name)} "
                                 f"belongs ({self._edge(f)} = {self._name(old.name)})"))
        return out
