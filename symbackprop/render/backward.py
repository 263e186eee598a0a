"""The backward pass node by node: at each node the upstream gradient times the local gradient (the
slides' picture), with values, and the lectures' boxed simplifications derived in steps.

:class:`BackwardPass` is one of the sections :class:`~symbackprop.render.renderer.Renderer` is made of;
it reads ``self.d``, ``self.g``, ``self.nt``, ``self.ev`` and the Renderer's helpers.
"""
from __future__ import annotations

import sympy

from ..spec import names
from ..derivation.graph import INPUT, PARAMETER, PRE_ACTIVATION, TARGET
from .blocks import _align, _display, chain_rows, rhs_room
from .latex_parts import _paren, _rel, rule_tex
from .printers import lecture_forms


class BackwardPass:
    """Every node's gradient from the output backwards, and the boxes (BCE after a sigmoid: ŷ − y)."""

    # -- 4. backward pass node by node --------------------------------------------------------------
    def backward_nodes(self) -> list:
        """The nodes whose gradient the node-by-node pass shows, output first."""
        g = self.g
        out = []
        for n in reversed(g.nodes):
            if n.name not in self.d.node_gradients:
                continue
            if g.mode == "network" and n.kind in (INPUT, TARGET, PARAMETER):
                continue
            if n.kind == TARGET or (n.kind == INPUT and g.parameters):
                continue
            out.append(n)
        if g.mode == "network":  # within a layer, nodes in index order (1, 2, ...)
            rank = {}
            for n in out:
                rank.setdefault((n.layer, n.kind), len(rank))
            out.sort(key=lambda n: (rank[(n.layer, n.kind)], n.index))
        return out

    def backward(self) -> str:
        g, nt = self.g, self.nt
        out = [f"\\{self.sub}*{{Backward pass, node by node}}\n"]
        out.append(
            "Going backwards from the output, each node's gradient is the chain rule at that node: "
            "the sum over the nodes it feeds of the \\emph{upstream gradient} (already known) times the "
            "\\emph{local gradient} of that edge,\n"
            + _display(rf"\frac{{\partial {nt.out_tex}}}{{\partial v}} = \sum_{{c}} "
                       rf"\underbrace{{\frac{{\partial {nt.out_tex}}}{{\partial c}}}}_{{\text{{upstream}}}}\,"
                       rf"\underbrace{{\frac{{\partial c}}{{\partial v}}}}_{{\text{{local}}}}."))
        direct = self.feeds_output_and_more()
        if direct:
            out.append(self.direct_sentence(direct))
        if g.mode == "graph":
            out.append(self.local_gradients())
        boxes = [n for n in self.backward_nodes() if self.d.node_gradients[n.name].simplified is not None]
        if self.ev and self.ev.n == 1:
            out.append(self.example_heading(0) + "\n")
            out.append(_align(self.backward_rows(0, symbolic=True)))
        else:
            out.append(_align(self.backward_rows(None, symbolic=True)))
            for e in self.shown_examples():
                out.append(self.numbers_intro(e) + ":\n")
                out.append(_align(self.backward_rows(e, symbolic=False)))
        for n in boxes:
            out.append(self.box(n))
        return "\n".join(out)


    def chain_fracs(self, n) -> str:
        r"""The chain rule at n as fractions, one term per node n feeds (the output included):
        ``\sum_c \partial L/\partial c \cdot \partial c/\partial n``. A node that feeds the output's own
        equation and other nodes too gets the output's term as ``\partial L/\partial n|_direct`` (its
        upstream gradient is \partial L/\partial L = 1), so the sum is over every consumer, as the slides sum
        over every path. '' when n feeds only the output (the local gradient is the gradient)."""
        nt = self.nt
        ng = self.d.node_gradients[n.name]
        if all(c == self.g.output for c, _ in ng.terms):
            return ""
        return " + ".join(self.direct(n.name) if c == self.g.output else f"{nt.grad(c)}\\,{nt.local(c, n.name)}"
                          for c, _ in ng.terms)

    def direct(self, name: str, inline: bool = False) -> str:
        r"""``\left.\frac{\partial g}{\partial f}\right|_{\text{direct}}``: the output's equation
        differentiated with respect to ``name`` (a local gradient, not the whole gradient)."""
        grad = self.nt.inline_grad(name) if inline else self.nt.grad(name)
        return rf"\left.{grad}\right|_{{\text{{direct}}}}"

    def direct_sentence(self, nodes) -> str:
        """What the direct term means, said once where a node feeds the output and other nodes."""
        nt, out = self.nt, self.g.output
        v = nodes[0].name
        which = ", ".join(f"${nt.tex(n.name)}$" for n in nodes)
        return (f"The output ${nt.tex(out)}$ is itself one of the nodes that {which} "
                f"feed{'s' if len(nodes) == 1 else ''}: its term is its own local gradient "
                f"${self.direct(v, inline=True)}$, the derivative of its equation with respect to ${nt.tex(v)}$ "
                f"(the upstream gradient there is ${nt.inline_grad(out)} = 1$).\n")

    def local_frac(self, child: str, parent: str) -> str:
        r"""The local derivative \partial child/\partial parent as a fraction; the output's own one is
        marked ``|_direct`` when ``parent`` also reaches the output through other nodes (then the bare
        fraction would read as the whole gradient \partial L/\partial parent)."""
        ng = self.d.node_gradients.get(parent)
        if child == self.g.output and ng is not None and ng.has_direct_term(child):
            return self.direct(parent)
        return self.nt.local(child, parent)

    def feeds_output_and_more(self) -> list:
        """The nodes whose chain rule has a direct term (they feed the output and other nodes)."""
        out = self.g.output
        return [n for n in self.backward_nodes() if n.name != out and self.d.node_gradients[n.name].has_direct_term(out)]

    def chain_expression(self, n) -> str:
        """sum_c dL/dc * (local derivative written out); the output's own term is its local derivative."""
        nt = self.nt
        ng = self.d.node_gradients[n.name]
        exprs = []
        for c, ld in ng.terms:
            if c == self.g.output:
                exprs.append(nt.latex(ld.expression))
            else:
                exprs.append(f"{nt.grad(c)} \\cdot {nt.factor(ld.expression)}")
        return _signed_sum(exprs)

    def chain_at_node(self, n) -> str:
        """sum_c dL/dc dc/dn = sum_c dL/dc * (local derivative), in symbols."""
        fracs, expr = self.chain_fracs(n), self.chain_expression(n)
        return f"{fracs} = {expr}" if fracs else expr

    def chain_numbers(self, n, e: int) -> tuple[str, bool]:
        """The chain rule at n with example e's numbers: upstream values times local values."""
        nt = self.nt
        vals = self.sym_values(e)
        grads = self.ev.gradients[e]
        ng = self.d.node_gradients[n.name]
        if ng.simplified is not None:
            return nt.with_numbers(ng.simplified, vals, self.decimals)
        parts, exact = [], True
        for c, ld in ng.terms:
            lt, lex = nt.with_numbers(ld.expression, vals, self.decimals)
            exact = exact and lex
            if c == self.g.output:
                parts.append(lt)
            else:
                ut, uex = self.fmt(grads[c])
                exact = exact and uex
                parts.append(f"{_paren(ut)} \\cdot {nt.factor_text(ld.expression, lt)}")
        return _signed_sum(parts), exact

    def backward_rows(self, e, symbolic: bool = True) -> list:
        """One row per node: dL/dv = (chain rule in symbols) = (numbers) = value; a row too wide for
        the page goes on below (the numbers on their own row, a long sum cut at its terms)."""
        nt = self.nt
        chains = []
        for n in self.backward_nodes():
            ng = self.d.node_gradients[n.name]
            if n.name == self.g.output:
                if symbolic:
                    chains.append((nt.grad(n.name), ["= 1"]))
                continue
            chain = []
            if symbolic:
                fracs = self.chain_fracs(n)
                if fracs:
                    chain.append(fracs)
                if ng.simplified is not None:
                    chain.append(nt.latex(ng.simplified) + r"\quad\text{(the box below)}" if e is None else
                                 nt.latex(ng.simplified))
                else:
                    chain.append(self.chain_expression(n))
            pieces = [f"= {c}" for c in chain]
            if e is not None:
                subst, exact = self.chain_numbers(n, e)
                value = self.ev.gradients[e][n.name]
                v, vex = self.fmt(value)
                last = chain[-1] if chain else None
                if subst != last and subst != v:
                    pieces.append(f"{_rel(exact)} {subst}")
                zero = vex and value == 0   # exactly 0 (a dead ReLU's 1[z > 0] = 0): = 0, whatever was rounded
                if v != last or not (exact and vex):
                    pieces.append(f"{_rel((exact and vex) or zero)} {v}")
            chains.append((nt.grad(n.name), pieces))
        room = rhs_room([lhs for lhs, _ in chains])
        return [row for lhs, pieces in chains for row in chain_rows(lhs, pieces, room)]

    def local_gradients(self) -> str:
        """Graph mode: every node's local gradients with the rule used (the slides' first step)."""
        nt = self.nt
        out = ["The local gradients at each node:\n"]
        items = []
        for n in self.g.nodes:
            if n.is_leaf:
                continue
            locs = [ld for (c, p), ld in self.d.local_derivatives.items() if c == n.name]
            if not locs:
                continue
            order = {p: i for i, p in enumerate(n.parents)}
            locs.sort(key=lambda ld: order.get(ld.parent, 0))
            eqs = ",\\quad ".join(f"{nt.local(n.name, ld.parent)} = {nt.latex(ld.expression)}" for ld in locs)
            rules = "; ".join(f"${nt.inline_grad(ld.parent, nt.tex(n.name))}$: {nt.rule_tex(ld.rule)}" for ld in locs)
            items.append(f"\\item ${nt.tex(n.name)} = {self.definition_tex(n)}$:\\quad ${eqs}$\\\\\n"
                         f"{{\\small {rules}}}")
        if not items:
            return ""
        return "\n".join(out) + "\\begin{itemize}\n" + "\n".join(items) + "\n\\end{itemize}\n"

    def box(self, n) -> str:
        """The lectures' boxed simplification at ``n`` (BCE after a sigmoid: dL/dz = yhat - y), in steps."""
        nt = self.nt
        ng = self.d.node_gradients[n.name]
        out = []
        lines = []
        if len(ng.terms) == 1 and ng.terms[0][0] in self.d.node_gradients:
            a, ld_act = ng.terms[0]
            up = self.d.node_gradients[a]
            if len(up.terms) == 1 and up.terms[0][0] == self.g.output:
                ld_loss = up.terms[0][1]
                loss_expr = ld_loss.expression
                together = sympy.together(loss_expr)
                num, den = sympy.fraction(together)
                combined = sympy.expand(num) / den
                combined_ok = sympy.cancel(combined - loss_expr) == 0
                out.append(
                    f"The simplification the slides box, derived step by step: by the chain rule through "
                    f"${nt.tex(a)}$,\n")
                lines.append(f"{nt.grad(n.name)} &= {nt.grad(a)} \\cdot {nt.local(a, n.name)}")
                step = f"{nt.grad(a)} &= {nt.latex(loss_expr)}"
                if combined_ok and combined != loss_expr:
                    step += f" = {nt.latex(combined)}"
                lines.append(step + f" && \\text{{{rule_tex(ld_loss.rule)}}}")
                lines.append(f"{nt.local(a, n.name)} &= {nt.latex(ld_act.expression)}"
                             f" && \\text{{{rule_tex(ld_act.rule)}}}")
                shown = combined if combined_ok else loss_expr
                lines.append(f"{nt.grad(n.name)} &= {nt.factor(shown)} \\cdot {nt.factor(ld_act.expression)}")
                lines.append(f"&= \\boxed{{{nt.latex(ng.simplified)}}}")
                out.append(_align(lines))
                out.append(f"The factor ${nt.latex(ld_act.expression)}$ cancels.")
                out.append(self._matrix_remark(n, ng))
                return "\n".join(out)
        out.append(f"The simplification the lectures box, derived step by step at ${nt.tex(n.name)}$:\n")
        out.append(_align(self._box_rows(n, ng)))
        out.append(self._matrix_remark(n, ng))
        return "\n".join(out)

    def _box_rows(self, n, ng) -> list:
        """The rows of a box that sums over the outputs (softmax and cross-entropy): the chain rule's
        terms as they stand, each term cancelled, the general result ŷ_1 y_1 + ŷ_1 y_2 − y_1, and, when
        the targets sum to 1, the lectures' boxed ŷ_1 − y_1 with the reason."""
        nt = self.nt
        ups = [self.d.node_gradients.get(c) for c, _ in ng.terms]
        if len(ng.terms) < 2 or any(up is None or [t[0] for t in up.terms] != [self.g.output] for up in ups):
            product = ng.product if ng.product is not None else ng.expression
            return [f"{nt.grad(n.name)} &= {nt.latex(product)}", f"&= \\boxed{{{nt.latex(ng.simplified)}}}"]
        chain = [(up.terms[0][1].expression, ld.expression) for up, (_, ld) in zip(ups, ng.terms)]
        rows = [f"{nt.grad(n.name)} &= " + " + ".join(f"{nt.factor(u)} \\cdot {nt.factor(l)}" for u, l in chain)]
        cancelled = [u * lecture_forms(l) for u, l in chain]   # −y_1/ŷ_1 · ŷ_1(1 − ŷ_1) = −y_1(1 − ŷ_1)
        rows.append("&= " + _signed_sum([nt.latex(t) for t in cancelled]))
        simple, why = one_hot_form(self.d, ng.simplified, self.numbers)
        if simple is None:
            rows.append(f"&= \\boxed{{{nt.latex(ng.simplified)}}}")
            return rows
        rows.append(f"&= {nt.latex(ng.simplified)}")
        ys = " + ".join(nt.tex(t.name) for t in self.g.targets)
        rows.append(f"&= \\boxed{{{nt.latex(simple)}}} && \\text{{{why}: }} {ys} = 1")
        return rows

    def _matrix_remark(self, n, ng) -> str:
        """In matrix notation (the slides), z^{L} is z_{L-1}: state the boxed result in those names."""
        if self.g.mode != "network" or n.kind != PRE_ACTIVATION or len(self.g.outputs) != 1:
            return ""
        k = n.layer - 1
        yhat, y = names.symbol(self.g.outputs[0].name), names.symbol(names.target(1))
        if sympy.expand(ng.simplified - (yhat - y)) != 0:
            return ""
        where = "In the slides' matrix notation"
        return (f"{where} ($z_{{{k}}} = a_{{{k - 1}}} W_{{{k}}} + b_{{{k}}}$, $\\hat{{y}} = \\sigma(z_{{{k}}})$) "
                f"this is the boxed result $\\partial L/\\partial z_{{{k}}} = \\hat{{y}} - y$.\n"
                if k > 1 else
                f"{where} ($z_{{1}} = x W_{{1}} + b_{{1}}$, $\\hat{{y}} = \\sigma(z_{{1}})$) this is the boxed result "
                f"$\\partial L/\\partial z_{{1}} = \\hat{{y}} - y$.\n")



def _signed_sum(terms: list) -> str:
    """Printed terms joined as a sum: ``a + b``, ``a - b`` for a term printed ``-b``."""
    out = terms[0]
    for t in terms[1:]:
        out += f" - {t[1:]}" if t.startswith("-") else f" + {t}"
    return out


def one_hot_form(d, expr, numbers) -> tuple:
    """The boxed softmax / cross-entropy gradient as the lectures write it when every example's
    targets sum to 1: ŷ_1 y_1 + ŷ_1 y_2 − y_1 is ŷ_1 − y_1 (substituting y_k = 1 − the others).
    Returns ``(expression, reason)`` (reason ``one-hot targets`` or ``targets that sum to 1``), or
    ``(None, "")`` for other losses, other targets, or without numbers."""
    g = d.graph
    targets = [t.symbol for t in g.targets]
    if g.mode != "network" or g.loss != "cross_entropy" or len(targets) < 2 or numbers is None \
            or not numbers.examples or expr is None:
        return None, ""
    if any(sum(ex.get(t, 0) for t in targets) != 1 for ex in numbers.examples):
        return None, ""
    total = sum(targets, sympy.S.Zero)
    shown = min((sympy.expand(expr.subs(t, 1 - (total - t))) for t in targets), key=sympy.count_ops)
    if sympy.count_ops(shown) >= sympy.count_ops(expr):
        return None, ""
    one_hot = all(ex.get(t, 0) in (0, 1) for ex in numbers.examples for t in targets)
    return shown, "one-hot targets" if one_hot else "targets that sum to 1"
