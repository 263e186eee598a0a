r"""Per target, with numbers: each example's factors and their product, the reduction over the
examples, one gradient-descent step ``w \leftarrow w - \alpha \partial J / \partial w``, and the
summary table of every gradient and update.

:class:`NumbersAndUpdate` is one of the sections :class:`~symbackprop.render.renderer.Renderer` is made
of; it reads ``self.d``, ``self.g``, ``self.nt``, ``self.ev``, ``self.numbers`` and the other sections'
methods (``fused_node``, ``numbers_intro``).
"""
from __future__ import annotations

import sympy

from ..spec import names
from ..derivation.graph import PARAMETER
from .blocks import _align, _display, _sum_rows
from .latex_parts import MAX_EXAMPLES_SHOWN, _distinguishing, _paren, _rel


#: rows of one summary table; more parameters get several tables (a tabular does not break across pages)
SUMMARY_ROWS = 36


class NumbersAndUpdate:
    """The numbers substituted per example, the reduction, the update step and the summary."""

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
                        row = f"{self.local_frac(f.child, f.parent)} &= {nt.latex(f.expression)}"
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
                        rows[-1] = rows[-1].replace(self.local_frac(paths[0].factors[0].child, name), lhs, 1)
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
        head = ("\\begin{center}\n\\begin{tabular}{cccc}\n\\toprule\n"
                "$\\theta$ & value & $\\partial J/\\partial\\theta$ & $\\theta - \\alpha\\, \\partial J/\\partial\\theta$ \\\\\n"
                "\\midrule\n")
        tables = [head + "\n".join(rows[k:k + SUMMARY_ROWS]) + "\n\\bottomrule\n\\end{tabular}\n\\end{center}\n"
                  for k in range(0, len(rows), SUMMARY_ROWS)]  # a table never taller than a page
        return f"\\{self.sub}*{{Summary: gradients and one update step ($\\alpha = {lt}$)}}\n" + "".join(tables)
