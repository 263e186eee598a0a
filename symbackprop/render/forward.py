r"""The forward pass and the loss of a derivation document, as the lecture notes write them.

:class:`ForwardPass` is one of the sections :class:`~symbackprop.render.renderer.Renderer` is made of;
it reads ``self.d`` (the Derivation), ``self.g`` (its graph), ``self.nt`` (the Notation), ``self.ev``
(the Evaluation at the numbers, or None) and the Renderer's helpers (``fmt``, ``given``,
``sym_values``, ``shown_examples``, ``example_heading``).

- ``z^{2}_{1} = w^{1}_{1,1} x_1 + w^{1}_{1,2} x_2 + b^{1}_{1} = (1 \cdot 1) + (1 \cdot 0) + 1 = 2``, then
  ``a^{2}_{1} = \sigma(z^{2}_{1}) = \sigma(2) \approx 0.88``, node by node;
- the loss per example and the reduction over the examples (``J = \frac{1}{n} \sum_e L_e``).
"""
from __future__ import annotations

import sympy

from ..spec import names
from ..derivation.graph import ACTIVATION, LOSS, PRE_ACTIVATION
from ..ops.losses import get_loss
from .blocks import _align, _display, chain_rows, rhs_room
from .latex_parts import MAX_EXAMPLES_SHOWN, MAX_TERMS_WRITTEN, _paren, _rel, tex_escape


class ForwardPass:
    """The forward pass (symbols, then each example's numbers) and the loss and its reduction."""

    # -- 2. forward pass ---------------------------------------------------------------------------
    def definition_tex(self, node) -> str:
        """The right-hand side of a node's definition, as the lectures write it."""
        nt = self.nt
        if node.kind == PRE_ACTIVATION and self.g.mode == "network":
            k, i = node.layer - 1, node.index[0]
            prev = self._previous(node)
            if len(prev) > MAX_TERMS_WRITTEN:
                j = "j"
                a = "x_{j}" if k == 1 else f"a^{{{k}}}_{{j}}"
                return (rf"\sum_{{j=1}}^{{{len(prev)}}} w^{{{k}}}_{{{i},j}} {a} + "
                        f"{nt.tex(names.layer_bias(k, i, self.g.shared_biases))}").replace("{j}", "{" + j + "}")
            terms = [f"{nt.tex(names.weight(k, i, j))} {nt.tex(p)}" for j, p in enumerate(prev, start=1)]
            return " + ".join(terms + [nt.tex(names.layer_bias(k, i, self.g.shared_biases))])
        if node.kind == LOSS and self.g.mode == "network":
            return nt.latex(node.definition, order="none")
        return nt.latex(node.definition)

    def _previous(self, node) -> list:
        k = node.layer - 1
        width = self.g.layers[k - 1]
        return [names.feature(j) if k == 1 else names.activation(k, j) for j in range(1, width + 1)]

    def lhs_tex(self, node) -> str:
        nt = self.nt
        if node.name in nt.display and node.kind == ACTIVATION:
            return f"{nt.display[node.name]} = {sympy.latex(node.symbol)}"
        return nt.tex(node.name)

    def definition_numbers(self, node, e: int) -> tuple[str, bool]:
        """The definition with the example's numbers substituted (as the notes do)."""
        values = self.sym_values(e)
        if node.kind == PRE_ACTIVATION and self.g.mode == "network":
            k, i = node.layer - 1, node.index[0]
            prev = self._previous(node)
            if len(prev) > MAX_TERMS_WRITTEN:
                return "", True
            exact = True
            parts = []
            num = self.nt.number
            for j, p in enumerate(prev, start=1):
                w = names.symbol(names.weight(k, i, j))
                wt, we = num(w, values[w], self.decimals)
                at, ae = num(names.symbol(p), values[names.symbol(p)], self.decimals)
                exact = exact and we and ae
                parts.append(rf"({wt} \cdot {_paren(at)})")
            b = names.symbol(names.layer_bias(k, i, self.g.shared_biases))
            bt, be = num(b, values[b], self.decimals)
            exact = exact and be
            parts.append(_paren(bt))
            return " + ".join(parts), exact
        order = "none" if node.kind == LOSS and self.g.mode == "network" else None
        kw = {"order": order} if order else {}
        return self.nt.with_numbers(node.definition, values, self.decimals, **kw)

    def forward(self) -> str:
        g = self.g
        out = [f"\\{self.sub}*{{Forward pass}}\n"]
        defined = [n for n in g.nodes if not n.is_leaf]
        if g.mode == "network":
            out.append("Each node takes the weighted sum of the previous layer's outputs plus its bias, then "
                       "applies its activation; the last layer's output is the prediction $\\hat{y}$.\n")
        else:
            out.append("Each node computes its equation from its inputs, in order.\n")
        if not self.ev or self.ev.n > 1:
            rows = [f"{self.lhs_tex(n)} &= {self.definition_tex(n)}" for n in defined
                    if n.kind != LOSS or g.mode == "graph"]
            out.append(_align(rows))
        if not self.ev:
            out.append("The spec gives no data, so the derivation stays symbolic.\n")
            return "\n".join(out)
        for e in self.shown_examples():
            out.append(self.example_heading(e) + "\n")
            out.append(self.forward_numbers(e, include_loss=g.mode == "graph"))
        if self.ev.n > MAX_EXAMPLES_SHOWN:
            out.append(f"The other {self.ev.n - MAX_EXAMPLES_SHOWN} examples are computed the same way.\n")
        return "\n".join(out)

    def forward_numbers(self, e: int, include_loss: bool = True) -> str:
        """z^{2}_{1} = w^{1}_{1,1} x_1 + ... = (1 . 1) + (1 . 0) + 1 = 2, a^{2}_{1} = sigma(2) ~ 0.88, ..."""
        chains = []
        for n in self.g.nodes:
            if n.is_leaf or (n.kind == LOSS and not include_loss):
                continue
            subst, exact = self.definition_numbers(n, e)
            value, vexact = self.fmt(self.ev.value(e, n.name))
            pieces = [f"= {self.definition_tex(n)}"]
            if subst:
                pieces.append(f"{_rel(exact)} {subst}")
            pieces.append(f"{_rel(exact and vexact) if subst else _rel(vexact)} {value}")
            chains.append((self.lhs_tex(n), pieces))
        # a row too wide for the page goes on: the numbers, or the value, on a row of their own
        room = rhs_room([lhs for lhs, _ in chains])
        return _align([row for lhs, pieces in chains for row in chain_rows(lhs, pieces, room)])

    # -- 3. loss and reduction ------------------------------------------------------------------------
    def loss_and_reduction(self) -> str:
        g, nt = self.g, self.nt
        n_ex = self.ev.n if self.ev else 1
        if g.mode == "graph" and not g.parameters and n_ex == 1:
            return ""
        network, lossy = g.mode == "network", g.has_loss
        heading = ("Loss" if network else "Reduction over the examples" if lossy else
                   "The output" if n_ex == 1 else "The output over the examples")
        out = [f"\\{self.sub}*{{{heading}}}\n"]
        out_node = g.node(g.output)
        if network:
            loss = get_loss(g.loss)
            formula = loss.latex
            if len(g.outputs) == 1:
                formula = (formula.replace(r"\sum_k ", "").replace("_k", "")
                           .replace(r"\frac{1}{K} ", ""))
            out.append(f"Per example, the {tex_escape(loss.description)}:\n")
            out.append(_display(formula + ("" if len(g.outputs) == 1 else
                                           " = " + self.definition_tex(out_node))))
        else:
            out.append(f"The output ${nt.out_tex} = {self.definition_tex(out_node)}$ is computed per example.\n")
        n = self.ev.n if self.ev else (self.d.n_examples or 1)
        L = nt.out_tex
        # a network's cost is over its losses; a graph without a loss is spoken of by its output
        subject, what = ("The cost $J$", "per-example losses") if lossy else ("$J$", f"output ${L}$")
        if not lossy and n == 1:
            out.append(f"With one example, gradient descent lowers the output itself: $J = {L}$.\n")
        elif self.d.reduction == "mean":
            out.append(f"{subject} is the mean of the {what} over the $n = {n}$ "
                       f"example{'s' if n != 1 else ''}, so every gradient carries the factor "
                       "$\\frac{1}{n}$ explicitly:")
            out.append(_display(
                f"J = \\frac{{1}}{{n}} \\sum_{{e=1}}^{{n}} {L}_e, \\qquad "
                f"\\frac{{\\partial J}}{{\\partial \\theta}} = \\frac{{1}}{{n}} \\sum_{{e=1}}^{{n}} "
                f"\\frac{{\\partial {L}_e}}{{\\partial \\theta}}, \\qquad n = {n}."))
            if n == 1:
                out.append("With one example the mean is that example's loss ($J = " + L + "$).\n")
        else:
            out.append(f"{subject} is the sum of the {what} over the $n = {n}$ "
                       f"example{'s' if n != 1 else ''} (no factor $\\frac{{1}}{{n}}$):")
            out.append(_display(
                f"J = \\sum_{{e=1}}^{{n}} {L}_e, \\qquad "
                f"\\frac{{\\partial J}}{{\\partial \\theta}} = \\sum_{{e=1}}^{{n}} "
                f"\\frac{{\\partial {L}_e}}{{\\partial \\theta}}, \\qquad n = {n}."))
        if self.ev:
            rows = []
            for e in self.shown_examples():
                subst, exact = self.definition_numbers(out_node, e)
                val, vex = self.fmt(self.ev.value(e, out_node.name))
                lhs = f"{L}_{{{e + 1}}}" if self.ev.n > 1 else L
                if g.mode == "network":
                    rows.append(f"{lhs} &= {self.definition_tex(out_node)} {_rel(exact)} {subst} "
                                f"{_rel(exact and vex)} {val}")
                else:
                    rows.append(f"{lhs} &{_rel(vex)} {val}")
            if self.ev.n > 1:
                total = self.ev.factor * sympy.Add(*[v[out_node.name] for v in self.ev.values])
                tv, tex_ = self.fmt(total)
                parts = [self.fmt(v[out_node.name]) for v in self.ev.values]
                shown = [_paren(t) for t, _ in parts]
                if len(shown) > 8:
                    shown = shown[:3] + [r"\dots"] + shown[-2:]
                pre = f"\\frac{{1}}{{{self.ev.n}}}" if self.d.reduction == "mean" else ""
                ex_all = all(x for _, x in parts)
                rows.append(f"J &{_rel(ex_all)} {pre}\\left({' + '.join(shown)}\\right) {_rel(ex_all and tex_)} {tv}")
            out.append(_align(rows))
        return "\n".join(out)

