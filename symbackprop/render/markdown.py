r"""A short Markdown view of a derivation, for Jupyter (``Derivation._repr_markdown_``).

For each parameter (the first few): its paths of influence, the chain rule
∂L/∂θ = Σ_c ∂L/∂c · ∂c/∂θ, and the per-example gradient in node symbols, as
``$$ ... $$`` blocks that MathJax renders. The full document is ``render_latex``'s.
"""
from __future__ import annotations

import sympy


def _tex(expr) -> str:
    return sympy.latex(expr)


def derivation_markdown(d, wrt=None, limit: int = 6) -> str:
    g = d.graph
    title = (d.spec.title or d.spec.source) if d.spec is not None else "derivation"
    out = [f"**{title}**", ""]
    loss_node = g.node(g.output)
    out.append(f"$${g.output} = {_tex(loss_node.definition)}$$")
    out.append(f"Reduction: {d.reduction} over $n = {d.n_examples}$, so "
               rf"$\frac{{\partial J}}{{\partial \theta}} = {_tex(d.reduction_factor)} \sum_e "
               rf"\frac{{\partial L_e}}{{\partial \theta}}$.")
    names = [d.resolve(w) for w in wrt] if wrt else list(d.parameters or [n.name for n in g.inputs])
    for name in names[:limit]:
        out.append("")
        paths = d.paths(name, limit=20)
        for p in paths:
            out.append("Path: $" + r" \rightarrow ".join(p.nodes) + "$")
            factors = r" \cdot ".join(rf"\frac{{\partial {f.child}}}{{\partial {f.parent}}}" for f in reversed(p.factors))
            values = r" \cdot ".join(rf"\left({_tex(f.expression)}\right)" for f in reversed(p.factors))
            out.append(rf"$$\text{{this path contributes }} {factors} = {values}$$"
                       if len(paths) > 1 else
                       rf"$$\frac{{\partial {g.output}}}{{\partial {name}}} = {factors} = {values}$$")
        out.append(rf"$$\frac{{\partial {g.output}}}{{\partial {name}}} = {_tex(d.per_example_gradient(name))}$$")
    if len(names) > limit:
        out.append(f"\n… and {len(names) - limit} more parameters (see `render_latex.derivation_document`).")
    return "\n".join(out) + "\n"
