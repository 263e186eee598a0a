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
from .numbers import DEFAULT_DECIMALS, format_number
from .printers import latex, lecture_forms, output_names

#: the view's limits: parameters written out, examples evaluated, graph nodes evaluated
MAX_TARGETS_SHOWN, MAX_EXAMPLES_EVALUATED, MAX_NODES_EVALUATED = 6, 50, 200


def _number(value, decimals: int = DEFAULT_DECIMALS) -> str:
    r"""``= 2`` or ``\approx 0.88``: a value rounded as ``derive`` and the LaTeX documents round it
    (``render.numbers.format_number``: ``decimals`` places, two significant digits for a value
    that would show 0), with = where the value is exact and ≈ where it is rounded."""
    from ..errors import NotSupportedError

    try:
        shown, exact = format_number(value, decimals)
    except NotSupportedError:
        return r"= \text{undefined}"
    except (TypeError, ValueError, OverflowError, ArithmeticError):
        return r"= \text{?}"
    return ("= " if exact else r"\approx ") + shown


def _reduction(d, of: str = "L") -> str:
    """J over the examples as the derivation reduces them: (1/n) Σ_e L_e (mean) or Σ_e L_e (sum)."""
    if d.reduction == "mean":
        return rf"$J = \frac{{1}}{{n}} \sum_{{e=1}}^{{n}} {of}_e$ with $n = {d.n_examples}$"
    return rf"$J = \sum_{{e=1}}^{{n}} {of}_e$ with $n = {d.n_examples}$"


def _dfrac(of: str, wrt: str) -> str:
    return rf"\frac{{\partial {of}}}{{\partial {wrt}}}"


def derivation_markdown(d, wrt=None, limit: int = MAX_TARGETS_SHOWN, decimals: int = DEFAULT_DECIMALS) -> str:
    r"""Markdown with ``$$…$$`` blocks (MathJax) for the derivation ``d``, numbers rounded to
    ``decimals`` places as ``derive`` rounds them.

    A network speaks of its loss L and the cost J over the examples; a graph without a loss of its
    output (the slides' f) and, with several examples, of J = (1/n) Σ_e f_e."""
    spec = d.spec
    if spec is not None and getattr(spec, "notation", None) == "matrix":
        return matrix_markdown(d)
    g = d.graph
    shown = output_names(g)
    title = (spec.title or "derivation") if spec is not None else "derivation"
    out = [f"### {_escaped(title)}", ""]
    out_node = g.node(g.output)
    out_name = latex(_sym(g.output), shown)
    n = d.n_examples
    if g.mode == "network":
        out.append(f"$$L = {latex(out_node.definition, shown)}$$")
        out.append(f"Cost over the examples: {_reduction(d)}.")
    else:
        out.append(f"$${out_name} = {latex(out_node.definition, shown)}$$")
        if n > 1:
            over = "Cost over the examples" if g.has_loss else "The output over the examples"
            out.append(f"{over}: {_reduction(d, out_name)}.")
    values = grads = None
    examples = d.examples() if spec is not None and (spec.x or spec.data) else []
    if examples and n <= MAX_EXAMPLES_EVALUATED and len(g.nodes) <= MAX_NODES_EVALUATED:
        try:
            # bottom-up at 60+ digits (linear in the graph), not the exact nested trees
            value_rows, grads = d.numeric_evaluation(examples)
            values = value_rows[0]
        except (SymbackpropError, ArithmeticError, ValueError, TypeError):
            values = grads = None
    if values is not None:
        forward = [n_ for n_ in g.nodes if n_.kind in ("pre_activation", "activation", "intermediate", "loss")]
        shown_values = ", ".join(f"{latex(_sym(n_.name), shown)} {_number(values.get(n_.name), decimals)}"
                                 for n_ in forward[:12])
        more = r", \ldots" if len(forward) > 12 else ""
        out.append("")
        out.append(f"Forward pass at example 1: ${shown_values}{more}$")
    names = [d.resolve(w) for w in wrt] if wrt else list(d.parameters or [n_.name for n_ in g.inputs])
    for name in names[:limit]:
        out.append("")
        paths = d.paths(name, limit=20)
        target = latex(_sym(name), shown)
        if not paths:
            out.append(f"${_dfrac(out_name, target)} = 0$: ${out_name}$ does not depend on ${target}$.")
            continue
        for p in paths:
            out.append("Path: $" + r" \rightarrow ".join(latex(_sym(v), shown) for v in p.nodes) + "$")
            factors = r" \cdot ".join(_dfrac(latex(_sym(f.child), shown), latex(_sym(f.parent), shown))
                                      for f in reversed(p.factors))
            local = r" \cdot ".join(_factor(f.expression, shown) for f in reversed(p.factors))
            lead = r"\text{this path: }" if len(paths) > 1 else _dfrac(out_name, target) + " = "
            chain = local if len(p.factors) == 1 else f"{factors} = {local}"   # one factor: it is the gradient
            out.append(f"$${lead}{chain}$$")
        value = f" {_number(grads[0].get(name, 0), decimals)}" if grads is not None else ""
        if value and len(grads) > 1:
            value += r" \quad \text{(example 1)}"
        if len(paths) > 1:
            out.append(f"$${_dfrac(out_name, target)} = {latex(d.per_example_gradient(name), shown)}{value}$$"
                       f" (the sum over its {len(paths)} paths)")
        elif value:
            out[-1] = out[-1][:-2] + value + "$$"
        if grads is not None and len(grads) > 1:
            out.append(_over_examples(d, out_name, target, [row.get(name, 0) for row in grads], decimals))

    if len(names) > limit:
        out.append("")
        out.append(f"… and {len(names) - limit} more: `symbackprop derive SPEC --wrt NAME` shows any one of them, "
                   "and `symbackprop derive SPEC --latex` writes them all.")
    return "\n".join(out) + "\n"


def _over_examples(d, out_name: str, target: str, per_example: list, decimals: int) -> str:
    r"""∂J/∂θ = \frac{1}{n} Σ_e ∂L_e/∂θ with its value, reduced from the unrounded per-example numbers
    (the derivation's own factor 1/n or 1), then rounded once, as ``derive`` does."""
    import sympy

    total = d.reduction_factor * sympy.Add(*per_example)
    one_over_n = r"\frac{1}{n}" if d.reduction == "mean" else ""
    return (f"$${_dfrac('J', target)} = {one_over_n} \\sum_{{e=1}}^{{n}} {_dfrac(out_name + '_e', target)} "
            f"{_number(total, decimals)}$$ (over the $n = {d.n_examples}$ examples)")


def _escaped(title: str) -> str:
    """A spec's title as Markdown text: its markup characters shown, not obeyed, and on one line."""
    title = " ".join(str(title).split())
    return "".join("\\" + c if c in "\\`*_{}[]()#+-.!|<>$" else c for c in title)


def _factor(expr, shown) -> str:
    """A local derivative as a factor: a sum in parentheses, a(1 − a) and elu′(z) without them."""
    expr = lecture_forms(expr)
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
