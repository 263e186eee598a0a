"""Per target: the paths of influence, the chain-rule product along each, each local derivative with
the rule it uses, and the product assembled (the lecture notes' line for ∂L/∂w^{1}_{1,1}).

:class:`PathSteps` is one of the sections :class:`~symbackprop.render.renderer.Renderer` is made of;
it reads ``self.d``, ``self.g``, ``self.nt``, ``self.ev`` and the other sections' methods
(``definition_tex``, ``chain_at_node``, ``target_numbers``).
"""
from __future__ import annotations

import sympy

from ..ops.activations import get_activation
from ..derivation.graph import ACTIVATION, LOSS, PARAMETER, PRE_ACTIVATION
from .backward import one_hot_form
from .blocks import _align, _display, chain_rows, rhs_room
from .widths import fits
from .latex_parts import FACTORS_PER_LINE, MAX_PATHS_SHOWN, tex_escape


class PathSteps:
    """One target's paths, chain-rule products and local derivatives, in the lecture's order."""

    # -- 5. per target ------------------------------------------------------------------------------
    def fused_node(self, path) -> int | None:
        """Index in ``path.nodes`` of the first node (after the start) with a boxed simplification."""
        for i, name in enumerate(path.nodes):
            ng = self.d.node_gradients.get(name)
            if ng is not None and ng.simplified is not None:
                return i
        return None

    def target(self, name: str) -> str:
        """Everything about one parameter (or node): paths, chain rule, local derivatives, numbers, update."""
        d, nt, g = self.d, self.nt, self.g
        out = [f"\\{self.sub}*{{The gradient ${nt.inline_grad(name)}$}}\n"]
        paths = d.paths(name, limit=MAX_PATHS_SHOWN + 1)
        if not paths:
            out.append(f"The output ${nt.out_tex}$ does not depend on ${nt.tex(name)}$: the gradient is $0$.\n")
            return "\n".join(out)
        many = len(paths) > MAX_PATHS_SHOWN
        if many:
            out.append(f"There are more than {MAX_PATHS_SHOWN} paths of influence from ${nt.tex(name)}$ to "
                       f"${nt.out_tex}$; backpropagation sums them node by node, so the gradient is the "
                       "upstream gradient of the nodes it feeds times the local gradients:\n")
            out.append(_display(f"{nt.grad(name)} = {self.chain_at_node(g.node(name))}"))
            out.append("The local derivatives:\n")
            out.append(self.local_list([ld for _, ld in d.node_gradients[name].terms]))
        else:
            out.append(self.paths_block(name, paths))
        if self.ev:
            out.append(self.target_numbers(name, paths if not many else None))
        return "\n".join(out)

    def path_tex(self, path) -> str:
        return r" \to ".join(self.nt.tex(n) for n in path.nodes)

    def path_product_fracs(self, path) -> list:
        """The chain-rule factors of a path, in the lecture's order (from the output backwards)."""
        return [self.local_frac(f.child, f.parent) for f in reversed(path.factors)]

    def paths_block(self, name: str, paths) -> str:
        nt = self.nt
        out = []
        if len(paths) == 1:
            out.append(f"Path of influence: ${self.path_tex(paths[0])}$.\n")
        else:
            out.append(f"${nt.tex(name)}$ influences ${nt.out_tex}$ along {len(paths)} paths:\n")
            out.append("\\begin{itemize}\n" + "\n".join(f"\\item ${self.path_tex(p)}$" for p in paths)
                       + "\n\\end{itemize}\n")
        direct = len(paths) == 1 and len(paths[0].factors) == 1  # the output is a function of it directly
        if not direct:
            out.append("Applying the chain rule" + (" along the path:" if len(paths) == 1 else
                                                    ", one product per path, summed over the paths:") + "\n")
            rows = []
            for i, p in enumerate(paths):
                fr = self.path_product_fracs(p)
                lhs = nt.grad(name) if i == 0 else ""
                rows.extend(self._long_product(lhs, fr, " \\cdot ", first_rel="=" if i == 0 else "+"))
            out.append(_align(rows))
        # local derivatives, each once, in the lecture's order
        seen, lds = set(), []
        for p in paths:
            for f in reversed(p.factors):
                if (f.child, f.parent) not in seen:
                    seen.add((f.child, f.parent))
                    lds.append(f)
        out.append(("Each local derivative, with the rule it uses:" if not direct else
                    f"${nt.out_tex}$ depends on ${nt.tex(name)}$ directly:") + "\n")
        out.append(self.local_list(lds))
        if direct:
            return self._in_terms_of_inputs(name, "\n".join(out))
        # assembled
        out.append("Multiplying the local derivatives" + (" and summing over the paths" if len(paths) > 1 else "")
                   + ":\n")
        rows = []
        for i, p in enumerate(paths):
            factors = [self.nt.factor(f.expression) for f in reversed(p.factors)]
            rel = "=" if i == 0 else "+"
            if i and len(p.factors) == 1:   # a one-factor path is a term of the sum: + x, or − x, never + (−x)
                text = nt.latex(p.factors[0].expression)
                rel, factors = ("-", [text[1:].lstrip()]) if text.startswith("-") else ("+", [text])
            lhs = nt.grad(name) if i == 0 else ""
            rows.extend(self._long_product(lhs, factors, " \\cdot ", first_rel=rel))
        fused = [self.fused_node(p) for p in paths]
        if any(f is not None for f in fused):
            terms, combined = [], set()
            for p, fi in zip(paths, fused):
                if fi is not None:  # paths through the same boxed node below it are one term: ∂L/∂z times the rest
                    key = (p.nodes[fi], tuple((f.child, f.parent) for f in p.factors[:fi]))
                    if key in combined:
                        continue
                    combined.add(key)
                if fi is None:
                    terms.append(" \\cdot ".join(self.nt.factor(f.expression) for f in reversed(p.factors)))
                    continue
                node = p.nodes[fi]
                simp = self.d.node_gradients[node].simplified
                rest = [self.nt.factor(f.expression) for f in reversed(p.factors[:fi])]
                terms.append(" \\cdot ".join([self.nt.factor(simp)] + rest))
            rows.extend(chain_rows("", [f"= {' + '.join(terms)}"], rhs_room([nt.grad(name)])))
        per_example = self.d.per_example_gradient(name)
        final = nt.latex(per_example)
        if (len(paths) > 1 or any(f is not None for f in fused)) and not rows[-1].endswith(final) \
                and len(final) < 400 and fits(f"= {final}", rhs_room([nt.grad(name)])):  # else the sum above is it
            rows.append(f"&= {final}")
        out.append(_align(rows))
        if any(f is not None for f in fused):
            node = paths[0].nodes[[f for f in fused if f is not None][0]]
            general = self.d.node_gradients[node].simplified
            simple, why = one_hot_form(self.d, general, self.numbers)
            if simple is None:
                out.append(f"(The first factors combine into the boxed "
                           f"${nt.inline_grad(node)} = {nt.latex(general)}$ derived above.)\n")
            else:
                out.append(f"(The first factors combine into ${nt.inline_grad(node)} = {nt.latex(general)}$, "
                           f"with {why} the boxed ${nt.latex(simple)}$ derived above.)\n")
        ng = self.d.node_gradients.get(name)
        if ng is not None and ng.terms and not all(c == self.g.output for c, _ in ng.terms):
            out.append("Backpropagation reaches the same product by reusing the upstream gradient "
                       "of the node" + ("s" if len(ng.terms) > 1 else "") + f" ${nt.tex(name)}$ feeds:\n")
            out.append(_display(f"{nt.grad(name)} = {self.chain_at_node(self.g.node(name))}"))
        return self._in_terms_of_inputs(name, "\n".join(out))

    def _in_terms_of_inputs(self, name: str, text: str) -> str:
        """Graph mode: the gradient written in the inputs when that is short (6u = 18x)."""
        if self.g.mode != "graph":
            return text
        nt = self.nt
        per_example = self.d.per_example_gradient(name)
        expanded = self.d.expanded_gradient(name)
        if expanded != per_example and sympy.count_ops(expanded) <= 30:
            text += (f"\nIn terms of the inputs: ${nt.grad(name)} = {nt.latex(per_example)} = "
                     f"{nt.latex(expanded)}$.\n")
        return text

    def _long_product(self, lhs: str, factors: list, sep: str, first_rel: str = "=") -> list:
        """``lhs = f_1 · f_2 · …`` at most FACTORS_PER_LINE factors a row and never past the margin,
        the product going on at ``&\\quad \\cdot``."""
        room = rhs_room([self.nt.grad(self.g.output), lhs])
        chunks = [[]]
        for f in factors:
            chunk = chunks[-1]
            lead = f"{first_rel} " if len(chunks) == 1 else r"\quad \cdot "
            if chunk and (len(chunk) == FACTORS_PER_LINE or not fits(lead + sep.join(chunk + [f]), room)):
                chunks.append([f])
            else:
                chunk.append(f)
        rows = [f"{lhs} &{first_rel} {sep.join(chunks[0])}"]
        rows += [f"&\\quad \\cdot {sep.join(c)}" for c in chunks[1:]]
        return rows

    def local_list(self, lds) -> str:
        """Each local derivative on its own line, with what it measures and the rule used."""
        items = []
        for ld in lds:
            items.append("\\item " + self.local_item(ld))
        return "\\begin{enumerate}\n" + "\n".join(items) + "\n\\end{enumerate}\n"

    def describe_edge(self, ld) -> str:
        g = self.g
        child, parent = g.node(ld.child), g.node(ld.parent)
        if g.mode != "network":
            return f"how ${self.nt.tex(ld.child)}$ changes with ${self.nt.tex(ld.parent)}$"
        if child.kind == LOSS:
            return "the derivative of the loss with respect to the prediction"
        if child.kind == ACTIVATION:
            return f"the derivative of layer {child.layer}'s activation function"
        if child.kind == PRE_ACTIVATION:
            if parent.kind == PARAMETER and parent.name.startswith("b"):
                return "how the weighted sum changes with its bias"
            if parent.kind == PARAMETER:
                return "how the weighted sum changes with the weight"
            return "how the weighted sum changes with the input it weighs"
        return f"how ${self.nt.tex(ld.child)}$ changes with ${self.nt.tex(ld.parent)}$"

    def local_item(self, ld) -> str:
        nt, g = self.nt, self.g
        child = g.node(ld.child)
        lhs = self.local_frac(ld.child, ld.parent)
        result = nt.latex(ld.expression)
        if child.kind == ACTIVATION and child.activation and not get_activation(child.activation).layerwise:
            act = get_activation(child.activation)
            middle = rf"{act.latex_name}'\left({nt.tex(ld.parent)}\right)"
            rule = f"{tex_escape(ld.rule.split(':')[0])}, ${act.rule_latex}$"
        else:
            middle = rf"\frac{{\partial}}{{\partial {nt.tex(ld.parent)}}}\left[{self.definition_tex(child)}\right]"
            rule = nt.rule_tex(ld.rule)
        equation = f"{lhs} = {middle}" if middle == result else f"{lhs} = {middle} = {result}"
        return (f"${lhs}$, {self.describe_edge(ld)}.\\\\\n{{\\small Rule: {rule}.}}\n"
                + _display(equation))

