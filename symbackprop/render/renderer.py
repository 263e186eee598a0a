"""The ``Renderer``: one derivation's steps written out as LaTeX, target by target.

Long module: it holds one class and its two layout helpers.
Long class: ``Renderer`` (about 780 lines) writes every section of a derivation (forward pass, paths,
node-by-node products, per-example numbers, the reduction) sharing one numbering, one ``Notation`` and
one ``Evaluation``; cutting it into per-section writers is the next step (docs/architecture.md).
(Split out of ``render.latex``, which re-exports it.)
"""
from __future__ import annotations


import sympy

from ..spec import names
from ..ops.activations import get_activation
from ..derivation.chain_rule import Derivation
from ..derivation.graph import ACTIVATION, INPUT, LOSS, PARAMETER, PRE_ACTIVATION, TARGET
from ..ops.losses import get_loss

from .latex_parts import (  # noqa: F401
    Evaluation,
    FACTORS_PER_LINE,
    MAX_DECIMALS,
    MAX_EXAMPLES_SHOWN,
    MAX_PATHS_SHOWN,
    MAX_TARGETS,
    MAX_TERMS_WRITTEN,
    Notation,
    Numbers,
    PACKAGES,
    _ACCENTS,
    _DOUBLE_PAREN,
    _EXACT_INTEGERS,
    _KNOWN_FORMULAS,
    _KNOWN_RULES,
    _LARGE,
    _LEADING_NEGATIVE,
    _PRECISION,
    _SPECIAL,
    _UNICODE,
    _WIDE,
    _decimal,
    _distinguishing,
    _evaluation,
    _latin1,
    _not_real,
    _num,
    _numeric,
    _paren,
    _plain,
    _rel,
    _round,
    _scientific,
    _shown,
    _sign,
    _terminating_digits,
    _tidy,
    format_given,
    format_number,
    rule_tex,
    tex_escape,
)


def _align(rows) -> str:
    rows = [r for r in rows if r]
    if not rows:
        return ""
    return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}\n"


def _display(text: str) -> str:
    return "\\[\n" + text + "\n\\]\n"


class Renderer:
    """Renders the pieces of a derivation; every method returns LaTeX text (a block).

    Used by :func:`derivation_document` and by the worksheets (which pick pieces and may pass
    other Numbers, e.g. a randomized variant: the derivation itself is the same).
    """

    def __init__(self, d: Derivation, decimals: int = 2, numbers: Numbers | None = None, heading: str = "section"):
        self.d = d
        self.g = d.graph
        self.nt = Notation(d)
        self.decimals = decimals
        self.numbers = numbers
        self.ev = _evaluation(d, numbers)
        self.sub = {"section": "subsection", "subsection": "subsubsection"}.get(heading, "paragraph")
        self.subsub = {"section": "subsubsection"}.get(heading, "paragraph")

    # -- helpers -----------------------------------------------------------------------------
    def fmt(self, value) -> tuple[str, bool]:
        return format_number(value, self.decimals)

    def given(self, value) -> str:
        """A number the spec gives (input, target, parameter, learning rate): exact when it can be."""
        return format_given(value, self.decimals)

    def sym_values(self, e: int) -> dict:
        """{symbol: exact value} of example e (leaves and forward values)."""
        return self.ev.symbol_values(e)

    def shown_examples(self) -> list:
        return list(range(min(self.ev.n, MAX_EXAMPLES_SHOWN))) if self.ev else []

    def example_label(self, e: int) -> str:
        """'x = (1, 0), y = 1' for a network example; 'x = -2, y = 5, z = -4' in graph mode."""
        ex = self.numbers.examples[e]
        if self.g.mode == "network":
            xs = [ex[n.symbol] for n in self.g.inputs]
            ys = [ex[n.symbol] for n in self.g.targets]
            xt = ", ".join(self.given(v) for v in xs)
            yt = ", ".join(self.given(v) for v in ys)
            x_part = f"x = ({xt})" if len(xs) > 1 else f"x = {xt}"
            y_part = f"y = ({yt})" if len(ys) > 1 else f"y = {yt}"
            return f"{x_part},\\ {y_part}"
        parts = []
        for s, v in sorted(ex.items(), key=lambda kv: kv[0].name):
            parts.append(f"{self.nt.latex(s)} = {self.given(v)}")
        return ",\\ ".join(parts)

    def example_heading(self, e: int) -> str:
        label = self.example_label(e)
        if self.ev.n == 1:
            return f"At the example ${label}$:" if label else "With the parameters' values:"
        return f"Example {e + 1} (${label}$):"

    # -- 1. setup -------------------------------------------------------------------------------
    def setup(self) -> str:
        g, nt = self.g, self.nt
        out = []
        if g.mode == "network":
            layers = g.layers
            acts = ", ".join(tex_escape(a) for a in g.activations)
            loss = get_loss(g.loss)
            out.append(f"\\{self.sub}*{{The network}}\n")
            out.append(
                f"A fully connected network with layers of widths ${', '.join(str(w) for w in layers)}$ "
                f"(input layer first), activations {acts} (layer 2 onwards) and the "
                f"{tex_escape(loss.description)} loss. "
                "Index notation as in the lecture notes: $a^{k}_{j}$ is the output of node $j$ of layer $k$ "
                "(layer 1 is the input, $a^{1}_{j} = x_j$), $z^{k}_{j}$ its weighted sum before the activation, "
                "and $w^{k}_{i,j}$ the weight that joins node $j$ of layer $k$ to node $i$ of layer $k + 1$, "
                "with bias $b^{k}_{i}$.\n")
            if self.numbers is not None:
                out.append(self.parameter_table())
        else:
            out.append(f"\\{self.sub}*{{The computational graph}}\n")
            params = [n.name for n in g.parameters]
            inputs = [n.name for n in g.inputs]
            parts = []
            if inputs:
                parts.append(f"the input{'s are' if len(inputs) > 1 else ' is'} "
                             f"${', '.join(nt.tex(n) for n in inputs)}$")
            if params:
                parts.append(f"the parameter{'s are' if len(params) > 1 else ' is'} "
                             f"${', '.join(nt.tex(n) for n in params)}$")
            out.append(f"The output is ${nt.out_tex}$" + ("; " + " and ".join(parts) if parts else "") + ".\n")
            if self.numbers is not None and params:
                vals = ", ".join(f"{nt.tex(p)} = {self.given(self.numbers.parameters[names.symbol(p)])}"
                                 for p in params if names.symbol(p) in self.numbers.parameters)
                out.append(f"Parameter values: ${vals}$.\n")
        return "\n".join(out)

    def parameter_table(self) -> str:
        """The weights and biases, layer by layer, as the lecture lists them."""
        g, nt = self.g, self.nt
        rows = []
        vals = self.numbers.parameters
        for k in range(1, len(g.layers)):
            ws = [n for n in g.parameters if n.layer == k and n.name.startswith("w")]
            bs = [n for n in g.parameters if n.layer == k and n.name.startswith("b")]
            if len(ws) + len(bs) > 12:
                rows.append(f"\\text{{layer {k}: {len(ws)} weights and {len(bs)} biases (see the spec)}}")
                continue
            items = [f"{nt.tex(n.name)} = {self.given(vals[n.symbol])}" for n in ws + bs]
            rows.append(",\\quad ".join(items))
        if not rows:
            return ""
        return "Parameters:\n" + _display(" \\\\\n".join([r"\begin{gathered}", *rows]).replace(
            r"\begin{gathered} \\", r"\begin{gathered}") + "\n\\end{gathered}")

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
        rows = []
        for n in self.g.nodes:
            if n.is_leaf or (n.kind == LOSS and not include_loss):
                continue
            subst, exact = self.definition_numbers(n, e)
            value, vexact = self.fmt(self.ev.value(e, n.name))
            lhs = self.lhs_tex(n)
            symbolic = self.definition_tex(n)
            if subst and len(symbolic) + len(subst) > MAX_FORWARD_ROW:  # a wide sum: the numbers on a row of their own
                rows.append(f"{lhs} &= {symbolic}")
                rows.append(f"&{_rel(exact)} {subst} {_rel(exact and vexact)} {value}")
            elif subst:
                rows.append(f"{lhs} &= {symbolic} {_rel(exact)} {subst} {_rel(exact and vexact)} {value}")
            else:
                rows.append(f"{lhs} &= {symbolic} {_rel(vexact)} {value}")
        return _align(rows)

    # -- 3. loss and reduction ------------------------------------------------------------------------
    def loss_and_reduction(self) -> str:
        g, nt = self.g, self.nt
        n_ex = self.ev.n if self.ev else 1
        if g.mode == "graph" and not g.parameters and n_ex == 1:
            return ""
        out = [f"\\{self.sub}*{{{'Loss' if g.mode == 'network' else 'Reduction over the examples'}}}\n"]
        out_node = g.node(g.output)
        if g.mode == "network":
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
        if self.d.reduction == "mean":
            out.append(f"The cost $J$ is the mean of the per-example losses over the $n = {n}$ "
                       f"example{'s' if n != 1 else ''}, so every gradient carries the factor "
                       "$\\frac{1}{n}$ explicitly:")
            out.append(_display(
                f"J = \\frac{{1}}{{n}} \\sum_{{e=1}}^{{n}} {L}_e, \\qquad "
                f"\\frac{{\\partial J}}{{\\partial \\theta}} = \\frac{{1}}{{n}} \\sum_{{e=1}}^{{n}} "
                f"\\frac{{\\partial {L}_e}}{{\\partial \\theta}}, \\qquad n = {n}."))
            if n == 1:
                out.append("With one example the mean is that example's loss ($J = " + L + "$).\n")
        else:
            out.append(f"The cost $J$ is the sum of the per-example losses over the $n = {n}$ "
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

    def numbers_intro(self, e: int) -> str:
        """'With the numbers of the example (x = ...)' (or of example e, or the parameters' values)."""
        phrase = self.example_label_phrase(e)
        return "With the parameters' values" if phrase == "the parameters' values" else f"With the numbers of {phrase}"

    def example_label_phrase(self, e: int) -> str:
        if self.ev.n == 1:
            label = self.example_label(e)
            return f"the example (${label}$)" if label else "the parameters' values"
        return f"example {e + 1} (${self.example_label(e)}$)"

    def chain_fracs(self, n) -> str:
        """sum_c dL/dc dc/dn as fractions ('' when n feeds only the output)."""
        nt = self.nt
        ng = self.d.node_gradients[n.name]
        fracs = [f"{nt.grad(c)}\\,{nt.local(c, n.name)}" for c, _ in ng.terms if c != self.g.output]
        return " + ".join(fracs)

    def chain_expression(self, n) -> str:
        """sum_c dL/dc * (local derivative written out)."""
        nt = self.nt
        ng = self.d.node_gradients[n.name]
        exprs = []
        for c, ld in ng.terms:
            if c == self.g.output:
                exprs.append(nt.latex(ld.expression))
            else:
                exprs.append(f"{nt.grad(c)} \\cdot {nt.factor(ld.expression)}")
        return " + ".join(exprs)

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
        return " + ".join(parts), exact

    def backward_rows(self, e, symbolic: bool = True) -> list:
        """One row per node: dL/dv = (chain rule in symbols) = (numbers) = value."""
        nt = self.nt
        rows = []
        for n in self.backward_nodes():
            ng = self.d.node_gradients[n.name]
            if n.name == self.g.output:
                if symbolic:
                    rows.append(f"{nt.grad(n.name)} &= 1")
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
            text = f"{nt.grad(n.name)} &= " + " = ".join(chain) if chain else f"{nt.grad(n.name)} &"
            if e is not None:
                subst, exact = self.chain_numbers(n, e)
                v, vex = self.fmt(self.ev.gradients[e][n.name])
                last = chain[-1] if chain else None
                if subst != last and subst != v:
                    text += f" {_rel(exact)} {subst}" if chain else f"{_rel(exact)} {subst}"
                    text += f" {_rel(exact and vex)} {v}"
                else:
                    text += f" {_rel(exact and vex)} {v}" if chain else f"{_rel(exact and vex)} {v}"
            rows.append(text)
        return rows

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
            rules = "; ".join(f"${nt.inline_grad(ld.parent, nt.tex(n.name))}$: {rule_tex(ld.rule)}" for ld in locs)
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
        product = ng.product if ng.product is not None else ng.expression
        out.append(f"The simplification the lectures box, derived step by step at ${nt.tex(n.name)}$:\n")
        out.append(_align([f"{nt.grad(n.name)} &= {nt.latex(product)}",
                           f"&= \\boxed{{{nt.latex(ng.simplified)}}}"]))
        out.append(self._matrix_remark(n, ng))
        return "\n".join(out)

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
        return [self.nt.local(f.child, f.parent) for f in reversed(path.factors)]

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
            lhs = nt.grad(name) if i == 0 else ""
            rows.extend(self._long_product(lhs, factors, " \\cdot ", first_rel="=" if i == 0 else "+"))
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
            rows.append(f"&= {' + '.join(terms)}")
        per_example = self.d.per_example_gradient(name)
        final = nt.latex(per_example)
        if (len(paths) > 1 or any(f is not None for f in fused)) and not rows[-1].endswith(final) \
                and len(final) < 400:
            rows.append(f"&= {final}")
        out.append(_align(rows))
        if any(f is not None for f in fused):
            node = paths[0].nodes[[f for f in fused if f is not None][0]]
            out.append(f"(The first factors combine into the boxed "
                       f"${nt.inline_grad(node)} = {nt.latex(self.d.node_gradients[node].simplified)}$ derived above.)\n")
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
        rows = []
        for start in range(0, max(len(factors), 1), FACTORS_PER_LINE):
            chunk = sep.join(factors[start:start + FACTORS_PER_LINE])
            if start == 0:
                rows.append(f"{lhs} &{first_rel} {chunk}")
            else:
                rows.append(f"&\\quad \\cdot {chunk}")
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
        lhs = nt.local(ld.child, ld.parent)
        result = nt.latex(ld.expression)
        if child.kind == ACTIVATION and child.activation and not get_activation(child.activation).layerwise:
            act = get_activation(child.activation)
            middle = rf"{act.latex_name}'\left({nt.tex(ld.parent)}\right)"
            rule = f"{tex_escape(ld.rule.split(':')[0])}, ${act.rule_latex}$"
        else:
            middle = rf"\frac{{\partial}}{{\partial {nt.tex(ld.parent)}}}\left[{self.definition_tex(child)}\right]"
            rule = rule_tex(ld.rule)
        return (f"${lhs}$, {self.describe_edge(ld)}.\\\\\n{{\\small Rule: {rule}.}}\n"
                + _display(f"{lhs} = {middle} = {result}"))

    def target_numbers(self, name: str, paths) -> str:
        nt, ev = self.nt, self.ev
        out = []
        is_param = self.g.node(name).kind == PARAMETER
        for e in self.shown_examples():
            vals = self.sym_values(e)
            rows = []
            if paths is not None:
                seen = set()
                for p in paths:
                    fi = self.fused_node(p)
                    if fi is not None and p.nodes[fi] not in seen:
                        node = p.nodes[fi]
                        seen.add(node)
                        simp = self.d.node_gradients[node].simplified
                        subst, ex = nt.with_numbers(simp, vals, self.decimals)
                        v, vex = self.fmt(self.ev.gradients[e][node])
                        rows.append(f"{nt.grad(node)} &= {nt.latex(simp)} {_rel(ex)} {subst} {_rel(ex and vex)} {v}")
                    for f in reversed(p.factors[:fi] if fi is not None else p.factors):
                        if (f.child, f.parent) in seen:
                            continue
                        seen.add((f.child, f.parent))
                        subst, ex = nt.with_numbers(f.expression, vals, self.decimals)
                        v, vex = self.fmt(f.expression.xreplace(vals))
                        row = f"{nt.local(f.child, f.parent)} &= {nt.latex(f.expression)}"
                        if subst != nt.latex(f.expression) and subst != v:
                            row += f" {_rel(ex)} {subst}"
                        if v != nt.latex(f.expression):
                            row += f" {_rel(ex and vex)} {v}"
                        rows.append(row)
                terms, exact, combined = [], True, set()
                for p in paths:
                    fi = self.fused_node(p)
                    factors = []
                    if fi is not None:
                        key = (p.nodes[fi], tuple((f.child, f.parent) for f in p.factors[:fi]))
                        if key in combined:  # the boxed ∂L/∂z already sums the paths above it
                            continue
                        combined.add(key)
                        node = p.nodes[fi]
                        t, tex_ = self.fmt(ev.gradients[e][node])
                        factors.append(_paren(t))
                        exact = exact and tex_
                        use = p.factors[:fi]
                    else:
                        use = p.factors
                    for f in reversed(use):
                        t, tex_ = self.fmt(f.expression.xreplace(vals))
                        factors.append(f"({t})")
                        exact = exact and tex_
                    terms.append(" ".join(factors))
                v, vex = self.fmt(ev.gradients[e].get(name, sympy.S.Zero))
                lhs = nt.grad(name) + (f"\\Big|_{{e={e + 1}}}" if ev.n > 1 else "")
                if len(paths) == 1 and len(paths[0].factors) == 1:  # the row above is the gradient
                    if ev.n > 1:
                        rows[-1] = rows[-1].replace(nt.local(paths[0].factors[0].child, name), lhs, 1)
                else:
                    rows.extend(_sum_rows(lhs, _rel(exact), terms, f"{_rel(exact and vex)} {v}"))
            else:
                v, vex = self.fmt(ev.gradients[e].get(name, sympy.S.Zero))
                rows.append(f"{nt.grad(name)} &{_rel(vex)} {v}")
            out.append((self.numbers_intro(e)
                        + (" (the factors are rounded for display; the product is computed exactly)" if not all(
                            self.fmt(f.expression.xreplace(vals))[1] for p in (paths or []) for f in p.factors) else "")
                        + ":\n"))
            out.append(_align(rows))
        if ev.n > MAX_EXAMPLES_SHOWN:
            out.append(f"The other {ev.n - MAX_EXAMPLES_SHOWN} examples are computed the same way.\n")
        if not is_param:
            return "\n".join(out)
        out.append(self.reduction_and_update(name))
        return "\n".join(out)

    def reduction_and_update(self, name: str) -> str:
        nt, ev = self.nt, self.ev
        total = ev.total(name)
        tv, tex_ = self.fmt(total)
        out = []
        if ev.n == 1:
            red = (f"With one example, $\\frac{{\\partial J}}{{\\partial {nt.tex(name)}}} = "
                   f"{nt.grad(name)} {_rel(tex_)} {tv}$.\n")
            out.append(red)
        else:
            parts = []
            exact = True
            for g_ in ev.gradients:
                t, te = self.fmt(g_.get(name, sympy.S.Zero))
                exact = exact and te
                parts.append(_paren(t))
            shown = parts if len(parts) <= 8 else parts[:3] + [r"\dots"] + parts[-2:]
            factor = f"\\frac{{1}}{{{ev.n}}}" if self.d.reduction == "mean" else ""
            one_over_n = "\\frac{1}{n}" if self.d.reduction == "mean" else ""
            out.append("The reduction over the examples:\n")
            out.append(_display(
                f"\\frac{{\\partial J}}{{\\partial {nt.tex(name)}}} = "
                f"{one_over_n}\\sum_{{e=1}}^{{n}} "
                f"{nt.grad(name)}\\Big|_{{e}} {_rel(exact)} {factor}\\left({' + '.join(shown)}\\right) "
                f"{_rel(exact and tex_)} {tv}"))
        out.append(self.update_line(name))
        return "\n".join(out)

    def update_line(self, name: str) -> str:
        """One gradient-descent step w <- w - alpha dJ/dw, with its numbers."""
        nt, ev = self.nt, self.ev
        sym = names.symbol(name)
        old = self.numbers.parameters[sym]
        lr = self.numbers.learning_rate
        total = ev.total(name)
        new = old - lr * total
        ot, oe = self.fmt(old)
        lt, le = self.given(lr), True
        gt, ge = self.fmt(total)
        nt_, ne = _distinguishing(new, old, self.decimals)
        return ("One step of gradient descent with learning rate "
                f"$\\alpha = {lt}$:\n"
                + _display(f"{nt.tex(name)} \\leftarrow {nt.tex(name)} - \\alpha "
                           f"\\frac{{\\partial J}}{{\\partial {nt.tex(name)}}} {_rel(oe and le and ge)} "
                           f"{ot} - {lt} \\cdot {_paren(gt)} {_rel(ne)} {nt_}"))

    # -- 6. summary ----------------------------------------------------------------------------------
    def summary(self, targets) -> str:
        if not self.ev:
            return ""
        nt = self.nt
        params = [t for t in targets if self.g.node(t).kind == PARAMETER]
        if not params:
            rows = [f"${nt.tex(t)}$ & ${self.fmt(self.ev.gradients[0].get(t, 0))[0]}$ \\\\" for t in targets]
            if not rows or self.ev.n != 1:
                return ""
            return (f"\\{self.sub}*{{Summary}}\n\\begin{{center}}\n\\begin{{tabular}}{{cc}}\n\\toprule\n"
                    f"$v$ & ${nt.partial(nt.out_tex, 'v')}$ \\\\\n\\midrule\n"
                    + "\n".join(rows) + "\n\\bottomrule\n\\end{tabular}\n\\end{center}\n")
        lr = self.numbers.learning_rate
        rows = []
        for t in params:
            old = self.numbers.parameters[names.symbol(t)]
            total = self.ev.total(t)
            new = old - lr * total
            rows.append(f"${nt.tex(t)}$ & ${self.fmt(old)[0]}$ & ${self.fmt(total)[0]}$ & "
                        f"${_distinguishing(new, old, self.decimals)[0]}$ \\\\")
        lt = self.given(lr)
        return (f"\\{self.sub}*{{Summary: gradients and one update step ($\\alpha = {lt}$)}}\n"
                "\\begin{center}\n\\begin{tabular}{cccc}\n\\toprule\n"
                "$\\theta$ & value & $\\partial J/\\partial\\theta$ & $\\theta - \\alpha\\, \\partial J/\\partial\\theta$ \\\\\n"
                "\\midrule\n" + "\n".join(rows) + "\n\\bottomrule\n\\end{tabular}\n\\end{center}\n")


#: a forward row whose definition and numbers together are longer than this (characters of LaTeX)
#: puts the numbers on a row of their own
MAX_FORWARD_ROW = 180

#: a sum of path products longer than this (characters of LaTeX) is set one path per row
MAX_SUM_ROW = 80


def _sum_rows(lhs: str, rel: str, terms: list, tail: str) -> list:
    r"""``lhs ≈ t_1 + t_2 + … ≈ v`` as align rows: on one row when it fits the line, else one path
    product per row (``&\quad + t_k``), the value on the last, so a sum of many paths stays on the page."""
    joined = " + ".join(terms)
    if len(joined) <= MAX_SUM_ROW or len(terms) == 1:
        return [f"{lhs} &{rel} {joined} {tail}"]
    rows = [f"{lhs} &{rel} {terms[0]}"]
    rows += [rf"&\quad + {t}" for t in terms[1:-1]]
    rows.append(rf"&\quad + {terms[-1]} {tail}")
    return rows
