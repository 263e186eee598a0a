r"""Diagnosis of a wrong index answer: the mistake named in the lectures' terms.

Compared exactly at the sample points: a constant ratio (sign, 1/n, a stray 2), a local derivative of
the paths missing or extra (named with its edge), one symbol swapped for another of its family (a wrong
index), only some paths of influence summed.  A mixin of :class:`symbackprop.verify.checker.AnswerChecker`.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from sympy import Rational

from ..spec import names
from .exact import _Kink, _Undefined
from .feedback import constant_factor_message, written_constants
from .verdict import _lecture_form, _plain, _tex


@dataclass
class _Candidate:
    """A factor the feedback may name: its expression (node symbols) and what it is."""

    expr: sympy.Expr
    label: str
    activation: bool = False
    math: tuple = ()   # (text, LaTeX) of each expression in the label


def _constant_ratio(a_values, r_values, nonzero):
    """The rational c with answer = c · reference at every point where the reference is not 0, or
    None: read from the first point where the quotient can be formed (a saturated sigmoid's 1 − ŷ may
    be below the approximation's precision, see ``Value.inverse``), then confirmed exactly
    (a = r · c, no division) at every such point."""
    c = None
    for i in nonzero:
        try:
            c = (a_values[i] / r_values[i]).constant()
        except (_Undefined, _Kink, ZeroDivisionError):
            continue
        break
    if c is None:
        return None
    if all(a_values[i].equals(r_values[i] * c) for i in nonzero):
        return c
    return None


class _Diagnosis:
    """Names the mistake of a wrong answer."""

    # -- feedback ------------------------------------------------------------------------
    def _value_at(self, expr, i):
        """The exact value of ``expr`` at point i (None where undefined), memoized."""
        key = (expr, i)
        cache = self._point_values
        if key in cache:
            return cache[key]
        try:
            value = self.points()[i].evaluate(expr)
        except (_Undefined, _Kink, ZeroDivisionError):
            value = None
        if len(cache) > 50000:  # a bound, not a policy
            cache.clear()
        cache[key] = value
        return value

    @property
    def _point_values(self) -> dict:
        return self.__dict__.setdefault("_point_value_cache", {})

    def _everywhere(self, usable, test) -> bool:
        """``test(i)`` at the first usable point, then at the others (cheap rejection first)."""
        try:
            return all(test(i) for i in usable)
        except (ZeroDivisionError, _Undefined, _Kink):
            return False

    def _diagnose(self, expr, reference, a_values, r_values, of, wrt, where, text=None):
        usable = [i for i, r in enumerate(r_values) if r is not None]
        defined = all(a_values[i] is not None for i in usable)
        target = self._target_text(of, wrt)
        if defined and usable:
            if all(r_values[i].is_zero() for i in usable) and self._symbolically_equal(reference, sympy.S.Zero):
                return ("counterexample", f"{target} is 0: {self._name(of)} does not depend on {self._name(wrt)} "
                        "along any path",
                        self._counterexample(expr, reference, a_values, r_values, where, of))
            if not expr.free_symbols and reference.free_symbols:
                cx = self._counterexample(expr, reference, a_values, r_values, where, of)
                return ("counterexample", "your answer is a number; write the derivative as an expression in "
                        "the spec's symbols (it depends on "
                        + ", ".join(sorted(s.name for s in reference.free_symbols)) + ")", cx)
            nonzero = [i for i in usable if not r_values[i].is_zero()]
            # the other output unit's error where this one's belongs (before the constant ratio: with two
            # softmax outputs ŷ_2 − y_2 is also −(ŷ_1 − y_1))
            unit = self._wrong_output_unit(expr, a_values, usable, of, wrt)
            if unit is not None:
                return unit.mistake, unit.message, None
            # a constant ratio: sign, 1/n, a stray 2
            c = _constant_ratio(a_values, r_values, nonzero)
            if c is not None and self._constant_ratio_holds(c, nonzero, usable, a_values):
                return self._constant_message(c, of, wrt, expr, text)
            # a named factor missing or extra: the local derivatives on the paths first
            for cand in self._candidates(of, wrt):
                found = self._factor_relation(cand.expr, a_values, r_values, usable)
                if found is None:
                    continue
                if found == "missing":
                    if cand.activation:
                        return ("activation_derivative_missing",
                                f"the activation's derivative is missing: multiply by {cand.label}", None)
                    return "missing_factor", f"missing the factor {cand.label}", None
                if found == "missing_neg":
                    return "missing_factor", f"missing the factor {cand.label}, and the sign is wrong", None
                if found == "extra":
                    if cand.activation and cand.expr in self._path_factor_exprs(of, wrt):
                        return ("activation_derivative_twice",
                                f"the activation's derivative {cand.label} is applied twice", None)
                    return "extra_factor", f"extra factor {cand.label}: it does not belong in {target}", None
                if found == "extra_neg":
                    return "extra_factor", f"extra factor {cand.label}, and the sign is wrong", None
            partial = self._partial_paths(expr, a_values, r_values, usable, of, wrt)
            if partial is not None:
                return "missing_path", partial, None
            swap = self._wrong_index(expr, r_values, usable)
            if swap is not None:
                wrote, meant = swap
                return ("wrong_index", f"wrong index: you wrote {self._name(wrote)} where {self._name(meant)} belongs",
                        None)
            # a likely mistake generated from the derivation, matched exactly (names the edge or node)
            mutation = self._matching_mutation(a_values, r_values, usable, of, wrt)
            if mutation is not None:
                return mutation.mistake, mutation.message, None
            found = self._node_factor(expr, a_values, r_values, usable, target)
            if found is not None:
                return found
        cx = self._counterexample(expr, reference, a_values, r_values, where, of)
        return "counterexample", self._counterexample_message(cx, of, wrt), cx

    def _node_factor(self, expr, a_values, r_values, usable, target):
        """(mistake, message, None) when one node of the spec is the missing or extra factor."""
        # any one symbol of the spec as the missing or extra factor (the answer's own symbols first:
        # an extra a^{2}_{1} is named as written, not as the z^{2}_{1} it equals where the unit is active)
        own = expr.free_symbols
        for node in sorted(self.graph.nodes, key=lambda n: n.symbol not in own):
            found = self._factor_relation(node.symbol, a_values, r_values, usable)
            if found in ("missing", "missing_neg"):
                sign = ", and the sign is wrong" if found == "missing_neg" else ""
                return "missing_factor", f"missing the factor {self._name(node.name)}{sign}", None
            if found in ("extra", "extra_neg"):
                sign = ", and the sign is wrong" if found == "extra_neg" else ""
                return ("extra_factor", f"extra factor {self._name(node.name)}: it does not belong in {target}{sign}",
                        None)
        return None

    def _constant_ratio_holds(self, c, nonzero, usable, a_values) -> bool:
        """answer = c · reference at every usable point: c is not 1 (then they differ only where the
        reference is 0, e.g. a ReLU′ = 1[z > 0] missing) and the answer is 0 wherever the reference
        is.  Seen at one non-zero point only (a ReLU unit active at one point), any answer that
        vanishes with the reference is some multiple there, so only the likely constants count
        (−1, ±2, ±½, ±1/n: an unrelated answer hits one of them exactly with negligible chance)."""
        if c == 1:
            return False
        if len(nonzero) < min(2, len(usable)):
            n = max(self.d.n_examples, 1)
            if c not in (-1, 2, -2, Rational(1, 2), Rational(-1, 2), Rational(1, n), Rational(-1, n)):
                return False
        return all(a_values[i].is_zero() for i in usable if i not in nonzero)

    def _factor_relation(self, factor, a_values, r_values, usable):
        """'missing' when answer * factor = reference, 'extra' when answer = reference * factor (± variants)."""
        # each relation as (left, right): missing means answer * factor = reference, and so on
        relations = {"missing": lambda a, r, f: (a * f, r), "missing_neg": lambda a, r, f: (a * f, -r),
                     "extra": lambda a, r, f: (a, r * f), "extra_neg": lambda a, r, f: (a, -r * f)}
        # the relation must say something about the answer: "extra" (answer = reference · factor)
        # constrains it at every point, but needs one point where reference · factor ≠ 0; "missing"
        # (answer · factor = reference) says nothing where the factor is 0 (a ReLU′ off), so it
        # needs ≥ 2 points (all, if fewer) where the factor is not 0, one of them with reference ≠ 0
        # one pass over the points, each relation dropped where it fails (most factors fail at the first
        # point: a big network tries every node of its graph)
        alive = dict(relations)
        nonzero_f = both = 0
        for i in usable:
            f = self._value_at(factor, i)
            if f is None:
                return None
            if not f.is_zero():
                nonzero_f += 1
                both += not r_values[i].is_zero()
            for name, rel in list(alive.items()):
                left, right = rel(a_values[i], r_values[i], f)
                if not left.equals(right):
                    del alive[name]
            if not alive:
                return None
        if not both:
            return None
        return next((name for name in alive if not (name.startswith("missing") and nonzero_f < min(2, len(usable)))),
                    None)

    def _path_factor_exprs(self, of, wrt) -> set:
        if of != self.graph.output:
            return set()
        return {f.expression for p in self.d.paths(wrt, limit=50) for f in p.factors}

    def _constant_message(self, c, of, wrt, expr=None, text=None):
        from .vocabulary import COST

        target = self._target_text(of, wrt)
        n = self.d.n_examples
        cost = None
        if of == COST and COST not in self.graph.by_name:
            cost = self.d.reduction
        mistake, message = constant_factor_message(
            c, target, n=n, n_shown=n, per_example=f"{target} per example (the lectures' convention)",
            per_example_short=f"the per-example {target}",
            half_squared=self.graph.loss == "half_squared_error" and of == self.graph.output,
            cost=cost, written=written_constants(expr, text, n, self.names))
        return mistake, message, None

    def _candidates(self, of, wrt) -> list:
        """Factors the feedback can name: the local derivatives on the paths from wrt to of (memoized)."""
        cache = self.__dict__.setdefault("_candidate_cache", {})
        if (of, wrt) not in cache:
            cache[(of, wrt)] = self._make_candidates(of, wrt)
        return cache[(of, wrt)]

    def _name(self, name: str) -> str:
        """A node's name as the lectures write it: ŷ and y for the output and target, a Greek name as
        its letter (λ, θ_{0}), else as it is."""
        cache = self.__dict__.setdefault("_name_cache", {})
        if name not in cache:
            cache[name] = _plain(names.symbol(name), self.shown)
        return cache[name]

    def _target_text(self, of: str, wrt: str) -> str:
        """∂of/∂wrt as the feedback prints it (∂L/∂λ, ∂L/∂ŷ)."""
        return f"∂{self._name(of)}/∂{self._name(wrt)}"

    def _feedback_math(self, message: str, of, wrt) -> tuple:
        """(text, LaTeX) of the expressions the message prints, for the web's typesetting."""
        out = []
        for cand in self._candidates(of, wrt):
            for t, x in cand.math:
                if t in message and (t, x) not in out:
                    out.append((t, x))
        return tuple(out)

    def _make_candidates(self, of, wrt) -> list:
        out: list[_Candidate] = []
        seen = set()
        g = self.graph
        if of == g.output:
            paths = self.d.paths(wrt, limit=50)
            factors = [f for p in paths for f in p.factors]
        else:
            factors = []
        from ..derivation.chain_rule import local_derivative

        if not factors and of != g.output:
            for n in g.nodes:
                for p in n.parents:
                    factors.append(local_derivative(g, n.name, p))
        for f in factors:
            expr = f.expression
            if expr in seen or expr.is_Number:
                continue
            seen.add(expr)
            child = g.by_name[f.child]
            is_act = child.kind == "activation"
            shown = _plain(_lecture_form(expr), self.shown)
            tex = _tex(_lecture_form(expr), self.shown)
            math = [(shown, tex)]
            edge = f"(∂{self._name(f.child)}/∂{self._name(f.parent)})"
            label = f"{shown} {edge}"
            if is_act:
                head, tex_head = self._derivative_head(child, f.parent)
                if head == shown:   # a derivative printed by its name (elu′(z)): said once
                    label, math = f"{head} {edge}", [(shown, tex)]
                else:
                    label = f"{head} = {shown} {edge}" if head != edge[1:-1] else f"{head} = {shown}"
                    math = [(f"{head} = {shown}", f"{tex_head} = {tex}")]
            out.append(_Candidate(expr, label, is_act, tuple(math)))
        # the loss factor ∂L/∂ŷ as one piece
        return out[:40]

    def _derivative_head(self, child, parent: str) -> tuple:
        """(text, LaTeX) naming the local derivative ∂a/∂z of an activation node: the registry's
        name with a prime at z (σ′(z^{2}_{1}), ReLU′(z^{3}_{1}), tanh′(...)); the edge ∂ŷ_2/∂z^{3}_{1}
        for a layerwise activation (softmax), whose derivative is no function of one z."""
        from ..ops.activations import derivative_names

        primes = derivative_names()
        z = names.symbol(parent)
        if child.activation in primes:
            tex_name, text_name = primes[child.activation]
            return f"{text_name}({self._name(parent)})", f"{tex_name}({_tex(z, self.shown)})"
        return (f"∂{self._name(child.name)}/∂{self._name(parent)}",
                rf"\frac{{\partial {_tex(child.symbol, self.shown)}}}{{\partial {_tex(z, self.shown)}}}")

    def _wrong_index(self, expr, r_values, usable):
        """(wrote, meant) when swapping one indexed symbol of the answer for another gives the reference."""
        symbols = sorted((s for s in expr.free_symbols if s.name in self.graph.by_name), key=lambda s: s.name)
        tried = 0
        for s in symbols:
            parts = names.split_indexed(s.name)
            if parts is None:
                continue
            family = [n for n in self.graph.nodes if n.name != s.name
                      and (names.split_indexed(n.name) or ("",))[0] == parts[0]]
            for other in family:
                tried += 1
                if tried > 80:
                    return None
                swapped = expr.xreplace({s: other.symbol})

                def test(i, swapped=swapped):
                    v = self._value_at(swapped, i)
                    return v is not None and v.equals(r_values[i])

                if self._everywhere(usable, test):
                    return s.name, other.name
        return None

    def _partial_paths(self, expr, a_values, r_values, usable, of, wrt):
        """A message when the answer sums only some of the paths of influence (the multivariable chain rule)."""
        if of != self.graph.output:
            return None
        paths = self.d.paths(wrt, limit=12)
        if len(paths) < 2 or len(paths) > 8:
            return None
        import itertools

        for size in range(1, len(paths)):
            for subset in itertools.combinations(range(len(paths)), size):
                def test(i, subset=subset):
                    vals = [self._value_at(paths[k].product, i) for k in subset]
                    return all(v is not None for v in vals) and sum(vals[1:], vals[0]).equals(a_values[i])

                if self._everywhere(usable, test):
                    missing = [paths[k] for k in range(len(paths)) if k not in subset]
                    shown = "; ".join(" → ".join(self._name(n) for n in p.nodes) for p in missing)
                    return (f"only {size} of the {len(paths)} paths of influence are summed "
                            f"(the chain rule adds every path); missing: {shown}")
        return None
