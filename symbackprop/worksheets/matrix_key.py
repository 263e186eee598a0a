r"""The answer key of a matrix worksheet, in the slides' notation.

:class:`MatrixKey` answers the exercises of :mod:`~symbackprop.worksheets.matrix` in order:
the shapes with their reasons; the index notation (W_l[j, i] = w^{l}_{i,j}); the forward pass as
``z_1 = x W_1 + b_1 = [x][W_1] + [b_1] = [z_1]`` with entry [1, 1] written out; each backward
step of the MatrixDerivation (the chain rule, the boxed formula, its shapes with sizes, the
numbers substituted and the result, and the 1/n of a mean where it enters); one update; and a
summary of the backward pass.
"""
from __future__ import annotations

import numpy as np
import sympy

from ..derivation.matrix_form import Apply
from ..render.latex import tex_escape
from ..render.matrix_latex import STEP_PROSE, gradient_symbol
from .matrix_numbers import MatrixNumbers, _paren, _rel, _terminating_digits


class MatrixKey(MatrixNumbers):
    """The answers of a matrix worksheet (see the module's docstring)."""

    def answer_shapes(self) -> str:
        md = self.md
        rule = ("The slides' rule: the weights of a layer from $M$ inputs to $N$ neurons have shape $(M, N)$ "
                "(so the inner dimensions of each product match) and its bias has shape $(1, N)$, one per neuron, "
                "added to every row. Each gradient has the shape of the matrix it differentiates.")
        first = md.forward[0]
        return ("\\subsubsection*{1. Shapes}\n" + rule + "\n" + self.shapes_table(key=True)
                + rf"For example ${first.target.latex()} = {first.expression.latex()}$: "
                + f"${self.concrete(first.shapes_latex)}$.\n")

    def answer_index(self) -> str:
        j, i, wname = self.index_question()
        W = self.env["W_1"][j - 1, i - 1]
        dW = self.env["dW_1"][j - 1, i - 1]
        wt, _ = self.entry(W, True)
        dt, de = self.entry(dW)
        return ("\\subsubsection*{2. Index notation}\n"
                rf"$W_l[j, i] = w^{{l}}_{{i,j}}$: the weight from input node ${j}$ to neuron ${i}$ sits in row ${j}$, "
                rf"column ${i}$, so $W_{{1}}[{j}, {i}] = {wname} = {wt}$. Likewise "
                rf"$dW_{{1}}[{j}, {i}] = \partial J/\partial {wname} {_rel(de)} {dt}$ (computed in the backward "
                "pass below).\n")

    def answer_forward(self) -> str:
        out = ["\\subsubsection*{3. Forward pass}\n"]
        for s in self.md.forward:
            name = s.target.name
            res, er = self.named(name)
            if isinstance(s.expression, Apply):
                z = s.expression.arg
                zt, ze = self.entry(self.env[z.name][0, 0])
                at, ae = self.entry(self.env[name][0, 0])
                fn = s.expression.latex().split(r"\left(")[0]
                out.append(self.chain(f"{s.target.latex()} = {s.expression.latex()}", f"{_rel(er)} {res}"))
                if s.expression.function != "softmax":
                    out.append(rf"entry by entry, e.g.\ ${s.target.latex()}[1, 1] = {fn}({zt}) {_rel(ae)} {at}$.")
                continue
            sub, es = self.subst(s.expression)
            out.append(self.chain(f"{s.target.latex()} = {s.expression.latex()}", f"{_rel(es)} {sub}",
                                  f"{_rel(es and er)} {res}"))
            we = self.worked_entry(name, s.expression)
            if we:
                out.append(f"Shapes ${self.concrete(s.shapes_latex)}$; entry by entry, e.g.\\ ${we}$.")
        out.append(self.answer_loss())
        return "\n".join(out) + "\n"


    def answer_loss(self) -> str:
        losses = self.per_example_losses()
        col, ec = self.bm(np.array([[v] for v in losses], dtype=object))
        parts, ep = [], True
        for v in losses:
            t, e = self.entry(v)
            parts.append(_paren(t))
            ep = ep and e
        J, ej = self.entry(self.cost())
        if self.md.reduction == "mean":
            total = rf"J = \frac{{1}}{{{self.n}}}\left({' + '.join(parts)}\right) {_rel(ej and ep)} {J}"
        else:
            total = rf"J = {' + '.join(parts)} {_rel(ej and ep)} {J}"
        return (f"The loss of each example (one row each), ${self.loss_formula()}$:\n"
                rf"\[ L_e {_rel(ec)} {col}, \qquad {total} \]")

    def answer_step(self, s, label: str) -> str:
        md = self.md
        out = [rf"\paragraph{{{label} ${s.target.latex()} = {gradient_symbol(s)}$.}}"]
        out.append(STEP_PROSE.get(s.rule, tex_escape(s.rule) + ":"))
        if s.lines:
            body = list(s.lines)
            if s.justification_latex and s.rule not in ("loss and output activation (chain rule, the factors cancel)",
                                                        "derivative of the loss"):
                body.append(s.justification_latex)
            out.append(r"\begin{gather*}" + "\n" + (" \\\\\n".join(body)) + "\n" + r"\end{gather*}")
        elif s.justification_latex:
            out.append(rf"\[ {s.justification_latex} \]")
        has_per_example = s.per_example is not None and s.per_example != s.expression
        if s.rule.startswith("loss and output activation"):
            of = self.tex(s.of)
            out.append(rf"Per example this is the slides' boxed result $\partial L/\partial {of} = "
                       rf"{s.per_example.latex()}$, row by row.")
        if has_per_example:
            r = sympy.latex(self.factor(md.reduction_factor))
            out.append(rf"The cost is the {'mean' if md.reduction == 'mean' else 'sum'} over the $n = {self.n}$ "
                       rf"examples, so the factor $\frac{{1}}{{n}} = {r}$ enters here and every later step inherits "
                       r"it (the slides leave it out: their steps differentiate the per-example loss):")
        out.append(r"\[ \boxed{" + rf"{s.target.latex()} = {s.expression.latex()}" + "} \\]")
        if s.assumption_latex:
            out.append(rf"This uses that ${s.assumption_latex}$; in general "
                       rf"${s.target.latex()} = {s.general.latex()}$.")
        shapes = self.concrete(s.shapes_latex)
        out.append(rf"Shapes: ${s.shapes_latex}$, here ${shapes}$.")
        # numbers
        expr = s.expression
        result, er = self.named(s.target.name)
        if s.assumption is not None:
            val = self.value(expr)
            if any(sympy.simplify(a - b) != 0 for a, b in zip(val.flat, self.env[s.target.name].flat)):
                expr = s.reference
        aux = self.aux_lines(expr)
        if has_per_example:
            pe, epe = self.subst(s.per_example)
            pv, epv = self.bm(self.value(s.per_example))
            fac = sympy.latex(self.factor(md.reduction_factor))
            out.append("With the numbers:")
            out.append(self.chain(s.per_example.latex(), f"{_rel(epe)} {pe}", f"{_rel(epv)} {pv}"))
            out.append(self.chain(rf"{s.target.latex()} = {fac} \left({s.per_example.latex()}\right)",
                                  f"{_rel(epv)} {fac} {pv}", f"{_rel(er)} {result}"))
        else:
            sub, es = self.subst(expr)
            if aux:
                out.append("With the numbers, where")
                out.append(r"\[ " + r" ,\qquad ".join(aux) + r" \]")
            else:
                out.append("With the numbers:")
            out.append(self.chain(f"{s.target.latex()} = {expr.latex()}", f"{_rel(es)} {sub}",
                                  f"{_rel(es and er)} {result}"))
            we = self.worked_entry(s.target.name, expr)
            if we:
                out.append(f"Entry by entry, e.g.\\ ${we}$.")
        return "\n".join(out) + "\n"

    def answer_backward(self) -> str:
        out = ["\\subsubsection*{4. Backward pass}\n"]
        for k, s in enumerate(self.steps):
            out.append(self.answer_step(s, f"({chr(ord('a') + k)})" if k < 26 else f"({k + 1})"))
        return "\n".join(out)

    def answer_update(self) -> str:
        last = f"W_{self.L}"
        W = self.env[last]
        dW = self.env[f"d{last}"]
        new = np.array([[W[r, c] - self.lr * dW[r, c] for c in range(W.shape[1])] for r in range(W.shape[0])],
                       dtype=object)
        digits = [(_terminating_digits(int(v.q)) or 0) for v in W.flat if getattr(v, "is_Rational", False)]
        places = max([self.decimals] + [min(d, 6) for d in digits])
        Wt, _ = self.named(last)
        dWt, ed = self.named(f"d{last}")
        nt, en = self.bm(new, decimals=places)
        lr = self.entry(self.lr, True)[0]
        t = self.tex(last)
        return ("\\subsubsection*{5. One update}\n"
                + self.chain(rf"{t} \leftarrow {t} - \alpha\, d{t}", f"{_rel(ed)} {Wt} - {lr} {dWt}",
                             f"{_rel(ed and en)} {nt}") + "\n")

    def summary(self) -> str:
        rows = [rf"{s.target.latex()} &= {s.expression.latex()} && {s.target.shape.latex()}" for s in self.steps]
        return ("\\subsubsection*{Summary: the backward pass in matrix form}\n"
                + r"\begin{align*}" + "\n" + " \\\\\n".join(rows) + "\n" + r"\end{align*}" + "\n")

    def answers(self) -> str:
        return "\n".join(["\\subsection*{Answers}\n", self.answer_shapes(), self.answer_index(),
                          self.answer_forward(), self.answer_backward(), self.answer_update(), self.summary()])


__all__ = ["MatrixKey"]
