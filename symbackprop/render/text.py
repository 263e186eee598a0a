r"""``symbackprop derive``'s plain text: the chain rule as the lecture notes write it, in their notation.

For each parameter (or, in a graph without parameters, each input):

    ∂L/∂w^{1}_{1,1}:
      path: w^{1}_{1,1} → z^{2}_{1} → a^{2}_{1} → z^{3}_{1} → ŷ → L
        ∂L/∂ŷ = ŷ − y    (…the rule…)
        ∂ŷ/∂z^{3}_{1} = ŷ(1 − ŷ)    (…)
        …
      chain rule: ∂L/∂w^{1}_{1,1} = ∂L/∂ŷ · ∂ŷ/∂z^{3}_{1} · … = (ŷ − y) · ŷ(1 − ŷ) · w^{2}_{1,1} · …
      at example 1: −0.0003

The local derivatives are listed from the loss down, as the notes' product reads, unit factors
included (∂q/∂x = 1 in the slides' graph); several paths are summed. Every expression goes
through :mod:`symbackprop.render.printers`: ŷ and y, ½(y − ŷ)², σ′ = ŷ(1 − ŷ), never ``**``.
"""
from __future__ import annotations

import sympy

from ..errors import SymbackpropError
from .numbers import DEFAULT_DECIMALS, format_number
from .printers import lecture_forms, output_names, rule_as_written, text


def number(value, decimals: int = DEFAULT_DECIMALS) -> str:
    """A number as ``derive`` prints it, rounded exactly as the LaTeX documents round it.

    ``decimals`` places (0 to 12), two significant digits where that would show 0 (−0.00035),
    scientific from 10^15 on, and a word for what is not a real number.
    """
    from ..errors import NotSupportedError

    try:
        shown, _ = format_number(value, decimals)
    except NotSupportedError:
        return "undefined (not a real number)"
    except (TypeError, ValueError, OverflowError, ArithmeticError):
        return "?"
    shown = shown.replace("\\times 10^{", "× 10^").replace("\\text{too large to show}", "too large to show")
    shown = shown.replace("}", "").replace("{", "")
    return shown.replace("-", "−")


def _cost_line(d, output: str | None = None) -> str:
    """J over the examples: the cost of the losses L_e (a network), or, for a graph without a loss,
    the mean (or sum) of its ``output`` f_e, spoken of as the output, never as a loss."""
    n = d.n_examples
    examples = f"{n} example" + ("" if n == 1 else "s")
    mean = d.reduction == "mean"
    if output is None:
        if mean:
            return f"cost: J = (1/n) Σ_e L_e, the mean over n = {examples}, so ∂J/∂θ = (1/n) Σ_e ∂L_e/∂θ"
        return f"cost: J = Σ_e L_e, the sum over n = {examples}, so ∂J/∂θ = Σ_e ∂L_e/∂θ"
    f = output
    if mean:
        return (f"over the examples: J = (1/n) Σ_e {f}_e, the mean of the output {f} over n = {examples}, "
                f"so ∂J/∂v = (1/n) Σ_e ∂{f}_e/∂v")
    return f"over the examples: J = Σ_e {f}_e, the sum of the output {f} over n = {examples}, so ∂J/∂v = Σ_e ∂{f}_e/∂v"


#: per-example expressions larger than this (SymPy tree nodes) are not printed in full
MAX_PRINTED_TREE = 2000


def _display_values(d):
    """Forward values at the first example and ∂L_e/∂node at every example (bottom-up, one memo),
    or (None, None): ``(values of example 1, [gradients of example e, …])``."""
    spec = d.spec
    if spec is None or not (spec.x or spec.data) or d.n_examples > MAX_EXAMPLES_EVALUATED:
        return None, None
    try:
        values, grads = d.numeric_evaluation(d.examples())
        return values[0], grads
    except (SymbackpropError, ArithmeticError, ValueError, TypeError):
        return None, None


#: with more examples than this the text shows no numbers (it says so); `grad` gives them
MAX_EXAMPLES_EVALUATED = 50

#: the per-example gradients written out one by one in the cost line up to this many examples
MAX_EXAMPLES_WRITTEN = 4


def _cost_gradient_line(d, out_name: str, target_name: str, per_example: list, decimals: int) -> str:
    """∂J/∂θ over the examples, as the cost line says: (1/n)(∂L_1/∂θ + … + ∂L_n/∂θ) = value.

    The value is reduced from the unrounded per-example numbers (the derivation's own reduction
    factor, 1/n or 1), then rounded once."""
    n = len(per_example)
    value = d.reduction_factor * sympy.Add(*per_example)
    written = ([number(v, decimals) for v in per_example] if n <= MAX_EXAMPLES_WRITTEN else None)
    if written is not None:
        parts = " + ".join(f"({w})" if w.startswith("−") else w for w in written)
        body = f"(1/{n})({parts})" if d.reduction == "mean" else parts
    else:
        body = f"(1/{n}) Σ_e ∂{out_name}_e/∂{target_name}" if d.reduction == "mean" else \
            f"Σ_e ∂{out_name}_e/∂{target_name}"
    return f"  over the {n} examples: ∂J/∂{target_name} = {body} = {number(value, decimals)}"


def derivation_text(d, wrt=None, decimals: int = DEFAULT_DECIMALS) -> str:
    """The whole text of ``derive`` for the per-scalar derivation ``d`` (see the module docstring)."""
    from ..derivation.numeric import tree_size

    g = d.graph
    shown = output_names(g)
    def name(v: str) -> str:  # a node's name as the printer writes it: ŷ, y, λ for lambda
        return shown.get(v) or text(sympy.Symbol(v), shown)
    out_name = name(g.output)
    if wrt:
        targets = list(dict.fromkeys(d.resolve(w) for w in wrt))
    elif d.parameters:
        targets = list(d.parameters)
    else:
        targets = [n.name for n in g.nodes if n.name != g.output and n.name in d.node_gradients and n.kind != "target"]
    title = " ".join(str(d.spec.title or d.spec.source).split()) if d.spec is not None else "derivation"
    lines = [f"# {title}"]
    definition = text(g.node(g.output).definition, shown)
    if g.mode == "network":
        lines.append(f"loss per example: L = {definition}")
        lines.append(_cost_line(d))
    else:
        lines.append(f"output: {out_name} = {definition}")
        if d.n_examples > 1:
            lines.append(_cost_line(d, None if g.has_loss else out_name))
    for note in getattr(g, "notes", ()):
        lines.append(f"note: {note}")
    values, grads = _display_values(d)
    local = {}
    for target in targets:
        lines.append("")
        lines.append(f"∂{out_name}/∂{name(target)}:")
        paths = d.paths(target, limit=MAX_PATHS_SHOWN + 1)  # a deep net has exponentially many
        more = len(paths) > MAX_PATHS_SHOWN
        paths = paths[:MAX_PATHS_SHOWN]
        if not paths:
            lines.append(f"  {out_name} does not depend on {name(target)}: the gradient is 0")
            continue
        contributions = []
        for p in paths:
            lines.append("  path: " + " → ".join(name(v) for v in p.nodes))
            top_down = list(reversed(p.factors))
            for f in top_down:
                key = (f.child, f.parent)
                if key not in local:  # one local derivative recurs in many paths: printed once
                    local[key] = (text(f.expression, shown), _factor(f.expression, shown))
                lines.append(f"    {_local_name(d, f, name)} = {local[key][0]}    ({rule_as_written(f.rule, shown)})")
            symbols = " · ".join(_local_name(d, f, name) for f in top_down)
            factors = _times([local[(f.child, f.parent)][1] for f in top_down])
            contributions.append((symbols, factors))
        if more:
            lines.append(f"  ... more than {MAX_PATHS_SHOWN} paths: the first {MAX_PATHS_SHOWN} are shown; "
                         "the gradient sums them all")
        elif len(paths) == 1 and len(paths[0].factors) == 1:
            pass  # the one local derivative is the gradient
        elif len(paths) == 1:
            symbols, factors = contributions[0]
            lines.append(f"  chain rule: ∂{out_name}/∂{name(target)} = {symbols} = {factors}")
        else:
            lines.append(f"  sum over the {len(paths)} paths: ∂{out_name}/∂{name(target)} = "
                         + _signed_sum([f"{factors}" if len(contributions) < 4 else f"({factors})"
                                        for _, factors in contributions]))
            per_example = d.per_example_gradient(target)
            lines.append(f"  = {text(per_example, shown)}" if tree_size(per_example) <= MAX_PRINTED_TREE else
                         "  = (too long to print in full: the sum above, substituted)")
        ng = d.node_gradient(target)
        if ng.simplified is not None and tree_size(ng.simplified) <= MAX_PRINTED_TREE:
            lines.append(f"  simplified: {text(ng.simplified, shown)}")
        if grads is not None:
            lines.append(f"  at example 1: {number(grads[0].get(target, 0), decimals)}")
            if len(grads) > 1:
                lines.append(_cost_gradient_line(d, out_name, name(target),
                                                 [g.get(target, 0) for g in grads], decimals))
    if values is None and d.spec is not None and (d.spec.x or d.spec.data) and d.n_examples > MAX_EXAMPLES_EVALUATED:
        lines.append("")
        lines.append(f"numbers: not shown for {d.n_examples} examples (at most {MAX_EXAMPLES_EVALUATED}); "
                     "`symbackprop grad SPEC` gives ∂J/∂θ, and `derive --latex` shows the first examples")
    if values is not None:
        lines.append("")
        lines.append("forward pass at example 1: " + ", ".join(
            f"{name(k)} = {number(v, decimals)}" for k, v in values.items() if g.by_name[k].is_leaf is False))
    return "\n".join(lines) + "\n"


MAX_PATHS_SHOWN = 8


def _factor(expr, shown) -> str:
    """A local derivative as a factor of a product: a sum in parentheses, ŷ − ŷ² as the product
    ŷ(1 − ŷ) it prints as (so without them)."""
    expr = lecture_forms(expr)
    body = text(expr, shown)
    return f"({body})" if expr.is_Add else body


def _times(factors: list) -> str:
    """Factors joined with ·, a negative one after the first in parentheses: −y_2/ŷ_2 · (−ŷ_1 · ŷ_2)."""
    return " · ".join(f"({f})" if i and f.startswith("−") else f for i, f in enumerate(factors))


def _local_name(d, f, name) -> str:
    """∂child/∂parent, marked ``|direct`` for the output's own local derivative when ``parent`` also
    reaches the output through other nodes (the bare ∂g/∂f would read as the whole gradient), as
    :meth:`symbackprop.render.backward.BackwardPass.local_frac` writes it in LaTeX."""
    frac = f"∂{name(f.child)}/∂{name(f.parent)}"
    ng = d.node_gradients.get(f.parent)
    if f.child == d.graph.output and ng is not None and ng.has_direct_term(f.child):
        return frac + "|direct"
    return frac


def _signed_sum(terms) -> str:
    """``a + b − c``: a term that starts with a minus is subtracted, never written ``+ −c``."""
    out = terms[0] if terms else "0"
    for t in terms[1:]:
        out += f" − {t[1:]}" if t.startswith("−") else f" + {t}"
    return out
