r"""The Jupyter view of a derivation (``Derivation._repr_markdown_``), in the lectures' notation.

What a student sees in a notebook cell that ends with ``d``:

- the loss per example, L = ½(y − ŷ)², and the cost J = (1/n) Σ_e L_e (or Σ_e) with n;
- the forward pass at the first example, with its numbers, when the spec gives data;
- for each parameter (the first ``limit``): each path of influence, the chain rule as the
  product of the local derivatives along it, the gradient per example and its value;
- for a matrix spec (``notation = "matrix"``), the slides' matrix form instead.

Every expression goes through :mod:`symbackprop.render.printers` (ŷ, ``\cdot``, plain parentheses).
"""
from __future__ import annotations

import math

from ..errors import SymbackpropError
from .printers import latex, output_names


def _number(value, decimals: int = 4) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        return "?"
    if not math.isfinite(v):
        return "?"
    return f"{v:.{decimals}f}"


def _reduction(d) -> str:
    if d.reduction == "mean":
        return rf"$J = \frac{{1}}{{n}} \sum_{{e=1}}^{{n}} L_e$ with $n = {d.n_examples}$"
    return rf"$J = \sum_{{e=1}}^{{n}} L_e$ with $n = {d.n_examples}$"


def _dfrac(of: str, wrt: str) -> str:
    return rf"\frac{{\partial {of}}}{{\partial {wrt}}}"


def derivation_markdown(d, wrt=None, limit: int = 6) -> str:
    """Markdown with ``$$…$$`` blocks (MathJax) for the derivation ``d``."""
    spec = d.spec
    if spec is not None and getattr(spec, "notation", None) == "matrix":
        return matrix_markdown(d)
    g = d.graph
    shown = output_names(g)
    title = (spec.title or "derivation") if spec is not None else "derivation"
    out = [f"### {_escaped(title)}", ""]
    out_node = g.node(g.output)
    out_name = g.output
    if g.mode == "network":
        out.append(f"$$L = {latex(out_node.definition, shown)}$$")
        out.append(f"Cost over the examples: {_reduction(d)}.")
    else:
        out.append(f"$${g.output} = {latex(out_node.definition, shown)}$$")
    values = grads = None
    examples = d.examples() if spec is not None and (spec.x or spec.data) else []
    if examples and d.n_examples <= 50 and len(g.nodes) <= 200:
        try:
            # bottom-up at 60+ digits (linear in the graph), not the exact nested trees
            value_rows, grad_rows = d.numeric_evaluation(examples[:1])
            values, grads = value_rows[0], grad_rows[0]
        except (SymbackpropError, ArithmeticError, ValueError, TypeError):
            values = grads = None
    if values is not None:
        forward = [n for n in g.nodes if n.kind in ("pre_activation", "activation", "intermediate", "loss")]
        shown_values = ", ".join(f"{latex(_sym(n.name), shown)} = {_number(values.get(n.name))}" for n in forward[:12])
        more = r", \ldots" if len(forward) > 12 else ""
        out.append("")
        out.append(f"Forward pass at example 1: ${shown_values}{more}$")
    names = [d.resolve(w) for w in wrt] if wrt else list(d.parameters or [n.name for n in g.inputs])
    for name in names[:limit]:
        out.append("")
        paths = d.paths(name, limit=20)
        target = latex(_sym(name), shown)
        if not paths:
            out.append(f"${_dfrac(out_name, target)} = 0$: {g.output} does not depend on ${target}$.")
            continue
        for p in paths:
            out.append("Path: $" + r" \rightarrow ".join(latex(_sym(v), shown) for v in p.nodes) + "$")
            factors = r" \cdot ".join(_dfrac(latex(_sym(f.child), shown), latex(_sym(f.parent), shown))
                                      for f in reversed(p.factors))
            local = r" \cdot ".join(_factor(f.expression, shown) for f in reversed(p.factors))
            lead = r"\text{this path: }" if len(paths) > 1 else _dfrac(out_name, target) + " = "
            out.append(f"$${lead}{factors} = {local}$$")
        value = rf" \approx {_number(grads.get(name, 0))}" if grads is not None else ""
        if len(paths) > 1:
            out.append(f"$${_dfrac(out_name, target)} = {latex(d.per_example_gradient(name), shown)}{value}$$"
                       f" (the sum over its {len(paths)} paths)")
        elif value:
            out[-1] = out[-1][:-2] + value + "$$"

    if len(names) > limit:
        out.append("")
        out.append(f"… and {len(names) - limit} more; `derivation_markdown(d, wrt=[...])` shows chosen ones, "
                   "and `symbackprop derive SPEC --latex` writes them all.")
    return "\n".join(out) + "\n"


def _escaped(title: str) -> str:
    """A spec's title as Markdown text: its markup characters shown, not obeyed, and on one line."""
    title = " ".join(str(title).split())
    return "".join("\\" + c if c in "\\`*_{}[]()#+-.!|<>$" else c for c in title)


def _factor(expr, shown) -> str:
    body = latex(expr, shown)
    return f"({body})" if expr.is_Add else body


def _sym(name: str):
    import sympy

    return sympy.Symbol(name)


def matrix_markdown(d) -> str:
    """The slides' matrix form (forward, the backward steps with their shapes) as Markdown."""
    from ..derivation.matrix_form import matrix_derive

    md = matrix_derive(d.spec)
    title = d.spec.title or "derivation"
    out = [f"### {_escaped(title)} (matrix form)", ""]
    out.append(f"Cost over the examples: {_reduction(d)}.")
    out.append("")
    out.append("Forward:")
    for line in _matrix_lines(md, "forward"):
        out.append(f"$${line}$$")
    out.append("")
    out.append("Backward:")
    for line in _matrix_lines(md, "backward"):
        out.append(f"$${line}$$")
    return "\n".join(out).replace(r"\left(", "(").replace(r"\right)", ")") + "\n"


def _matrix_lines(md, part: str) -> list:
    lines = []
    if part == "forward":
        for step in md.forward:
            lines.append(rf"{step.target.latex()} = {step.expression.latex()} \quad {step.shapes_latex}")
        return lines
    for step in md.backward:
        target = step.target if isinstance(step.target, str) else step.target.latex()
        lines.append(rf"{_matrix_name(target)} = {step.expression.latex()} \quad {step.shapes_latex}")
    return lines


def _matrix_name(text: str) -> str:
    """``dz_2`` → ``dz_{2}``: the slides' names of the gradients."""
    head, sep, tail = text.partition("_")
    return f"{head}_{{{tail}}}" if sep and not tail.startswith("{") else text
