r"""The matrix-form derivation as a LaTeX document, step by step as the slides teach it.

``matrix_derivation_document(d)`` renders a ``MatrixDerivation`` (or a ``Derivation`` /
``Spec`` of a network): the shapes (x is (n, M), W is (M, N) for M inputs and N neurons,
b is (1, N); inner dimensions match), the forward pass with the shape of every matrix,
the loss and its reduction (the 1/n of a mean stated, and where it enters), then the
backward steps — the slides' seven for two layers, 4L − 1 (or 4L) for L layers — each
with its formula, shapes, reason and the entry in index notation (W_l[j, i] = w^{l}_{i,j}).
With data and a small network, every matrix is shown with numbers (``decimals``).

Everything shown is read from the derivation's expression trees: the renderer derives
nothing itself. The document compiles with ``pdflatex -halt-on-error`` (packages amsmath,
amssymb, geometry); ``fragment=True`` leaves out the preamble (needs amsmath and amssymb).
``render_latex.derivation_document`` delegates here for ``notation = "matrix"`` specs.
"""
from __future__ import annotations

import numpy as np

from ..ops.losses import get_loss
from ..derivation.matrix_form import MatrixDerivation, _fmt, matrix_derive
from .latex_parts import pdf_title, plain_parentheses, tex_escape, warn_untypesettable

#: Matrices are printed with numbers only up to this many rows and columns.
MAX_SHOWN_ROWS = 12
MAX_SHOWN_COLS = 10


def escape(text: str) -> str:
    """Plain text made safe for LaTeX: :func:`~symbackprop.render.latex_parts.tex_escape` (specials
    escaped, the lectures' symbols as math, accents as commands, what no font here has as '?')."""
    return tex_escape(text)


def _matrix_latex(values, decimals: int) -> str:
    v = np.asarray(values, dtype=float)
    rows = [" & ".join(_fmt(x, decimals) for x in row) for row in v]
    return r"\begin{bmatrix}" + r" \\ ".join(rows) + r"\end{bmatrix}"


def _shown(values) -> bool:
    r, c = np.shape(values)
    return r <= MAX_SHOWN_ROWS and c <= MAX_SHOWN_COLS


def _gradient_symbol(step) -> str:
    """\\frac{\\partial J}{\\partial W_{2}} for the step computing dW_2."""
    of = step.of
    md_latex = {"yhat": r"\hat{y}"}.get(of)
    if md_latex is None:
        base, _, sub = of.rpartition("_")
        md_latex = f"{base}_{{{sub}}}"
    return rf"\frac{{\partial J}}{{\partial {md_latex}}}"


def _uses_sum(md: MatrixDerivation, mat, env, decimals: int) -> str:
    """`` = 0.1385 + (-0.0381)`` after a shared bias's gradient db_l: the entries of dz_l it sums (up to 12)."""
    if not (md.shared_biases and mat.name.startswith("db_")):
        return ""
    uses = np.asarray(env[f"dz_{mat.name[3:]}"], dtype=float).ravel()
    if uses.size > 12:
        return ""
    terms = [_fmt(u, decimals) for u in uses]
    return " = " + " + ".join(f"({t})" if t.startswith("-") else t for t in terms) + r" \text{ (the entries of } " + \
        rf"dz_{{{mat.name[3:]}}}\text{{: the sum over its uses)}}"


_STEP_PROSE = {
    "loss and output activation (chain rule, the factors cancel)":
        "Start at the output: by the chain rule, the derivative of the loss with respect to the "
        "prediction times the derivative of the output activation. The factors cancel, entry by entry:",
    "derivative of the loss":
        "Start at the output: the derivative of the per-example loss with respect to the prediction, "
        "entry by entry:",
    "weight gradient":
        "The weighted sum is linear in each weight, so the local derivative of an entry of the weighted sum "
        "with respect to a weight is the input it multiplies; summing over the examples is a matrix product "
        "whose inner dimension is the batch:",
    "bias gradient":
        "The bias is added to every row of the weighted sum with coefficient 1, so its gradient is summed "
        "across the batch:",
    "shared bias gradient":
        "The layer's one bias is added to every entry of the weighted sum, for every node and every example, "
        "with coefficient 1. So the shared bias's gradient is the sum over its uses: over the examples (the "
        "rows) and over the layer's nodes (the columns):",
    "gradient into the previous layer":
        "We move backward into the previous layer: its activations affect the loss only through the next "
        "weighted sum, whose local derivative with respect to them is the weight:",
    "through the activation":
        "Chain rule through the activation, entry by entry (the upstream gradient times the local derivative):",
}


def matrix_derivation_document(d, decimals: int = 2, fragment: bool = False, wrt=None) -> str:
    """The step-by-step matrix-form derivation as LaTeX (a whole document, or a fragment).

    ``d``: a MatrixDerivation, Derivation, Spec or NetworkSpec of a network. ``wrt``: optional
    gradient matrices (``dW_1``) to restrict the backward steps to those they need."""
    md: MatrixDerivation = matrix_derive(d)
    L = md.depth
    out = []
    title = (md.spec.title or md.spec.source) if md.spec is not None else "A network"
    warn_untypesettable(title, md.spec.source if md.spec is not None and md.spec.source else "<spec>")
    if not fragment:
        out += [
            r"\documentclass[11pt]{article}",
            r"\usepackage{amsmath}",
            r"\usepackage{amssymb}",
            r"\usepackage[margin=2cm]{geometry}",
            r"\setcounter{MaxMatrixCols}{20}",
            r"\allowdisplaybreaks",
            r"\emergencystretch=3em",
            pdf_title(f"{title}: backpropagation in matrix form"),
            r"\begin{document}",
            "",
        ]
    else:
        out += ["% symbackprop matrix-form derivation (fragment): needs \\usepackage{amsmath,amssymb}", ""]
    out.append(rf"\section*{{{escape(title)}: backpropagation in matrix form}}")
    widths = ", ".join(f"$N_{{{l}}} = {w}$" for l, w in enumerate(md.layers))
    acts = ", ".join(escape(a) for a in md.activations)
    loss = get_loss(md.loss)
    n_text = f" over $n = {md.n_examples}$ examples" if md.n_examples else ""
    out.append(rf"A network with {L} weight layer{'s' if L != 1 else ''} and widths {widths} "
               rf"(input first); activations {acts}; loss: {escape(loss.description)}, "
               rf"reduced by the {md.reduction}{n_text}.")
    out.append("")

    # -- shapes and notation ---------------------------------------------------------------
    out.append(r"\subsection*{Shapes and notation}")
    out.append(r"\begin{itemize}")
    out.append(rf"\item[$\bullet$] The batch $x$ has shape $(n, N_0)$: one row per example"
               + (rf", here $(n, N_0) = ({md.n_examples}, {md.layers[0]})$." if md.n_examples else "."))
    if md.shared_biases:
        bias_shape = (r"and its bias, one number shared by all its neurons, has shape $(1, 1)$: "
                      r"$b\,\mathbf{1}_{1 \times N}$ puts it in every column, added to every row.")
    else:
        bias_shape = r"and its bias, one per neuron, has shape $(1, N)$, added to every row."
    out.append(r"\item[$\bullet$] For matrix multiplications the inner dimensions must match: "
               r"$(n, \text{inner})(\text{inner}, m) \rightarrow (n, m)$. So the weights of a layer taking "
               r"$M$ inputs to $N$ neurons have shape $(M, N)$, " + bias_shape)
    out.append(r"\item[$\bullet$] Index notation (the lecture notes) is the transpose: $W_l[j, i] = w^{l}_{i,j}$ "
               r"(row $j$ = input node, column $i$ = neuron), "
               + (r"$b_l = b^{l}$ (the layer's one bias)" if md.shared_biases else r"$b_l[1, i] = b^{l}_{i}$")
               + r"; row $e$ of $z_l$ and $a_l$ "
               r"holds $z^{l+1}_{i}$ and $a^{l+1}_{i}$ of example $e$ (the notes number the input layer 1), "
               r"$a_0 = x$ and $\hat{y} = a_{" + str(L) + r"}$.")
    out.append(r"\item[$\bullet$] $dz_l$, $da_l$, $dW_l$, $db_l$ are the gradients of the batch loss $J$ with respect to "
               r"$z_l$, $a_l$, $W_l$, $b_l$; each has the shape of the matrix it differentiates.")
    out.append(r"\end{itemize}")
    out.append("")

    # -- forward -------------------------------------------------------------------------------
    out.append(r"\subsection*{Forward pass}")
    out.append(r"\begin{align*}")
    rows = []
    for s in md.forward:
        rows.append(rf"{s.target.latex()} &= {s.expression.latex()} && {s.shapes_latex} "
                    rf"&& {s.target.shape.latex()}")
    out.append((r" \\" + "\n").join(rows))
    out.append(r"\end{align*}")
    inner = []
    for l in range(1, L + 1):
        prev = "x" if l == 1 else f"a_{{{l - 1}}}"
        M, N = md.width(l - 1), md.width(l)
        bias = (rf"$b_{{{l}}}$ is $(1, 1)$, one bias for the layer" if md.shared_biases else
                rf"$b_{{{l}}}$ is $(1, {N.latex}) = (1, {N.size})$")
        inner.append(rf"in $z_{{{l}}} = {prev} W_{{{l}}} + b_{{{l}}}$ the inner dimension is ${M.latex}"
                     + (rf" = {M.size}" if M.size is not None else "") + rf"$, so $W_{{{l}}}$ is "
                     rf"$({M.latex}, {N.latex}) = ({M.size}, {N.size})$ and " + bias)
    out.append("Shapes: " + "; ".join(inner) + ". Each activation acts elementwise"
               + (" (softmax row by row)" if "softmax" in md.activations else "") + ", so it keeps the shape.")
    out.append("Entry by entry, each weighted sum is the lecture notes' index form:")
    out.append(r"\begin{gather*}")
    out.append((r" \\" + "\n").join(s.index_form_latex for s in md.forward if s.target.name.startswith("z_")))
    out.append(r"\end{gather*}")
    out.append("")

    # -- loss ---------------------------------------------------------------------------------
    out.append(r"\subsection*{Loss and reduction}")
    out.append(rf"Per example $e$ (one row): \[ {loss.latex} \]")
    if md.reduction == "mean":
        num = rf" Here $n = {md.n_examples}$, so $\tfrac{{1}}{{n}} = \tfrac{{1}}{{{md.n_examples}}}$." \
            if md.n_examples else ""
        out.append(r"The batch loss is the mean \[ J = \frac{1}{n} \sum_{e=1}^{n} L_e , \] so every gradient "
                   r"carries the factor $\frac{1}{n}$: it enters in the first backward step and every later step "
                   r"inherits it. (The slides write the mean loss but drop the $\frac{1}{n}$ in their backward "
                   r"steps: they differentiate the per-example loss. Both forms are shown.)" + num)
    else:
        out.append(r"The batch loss is the sum \[ J = \sum_{e=1}^{n} L_e , \] so no factor enters the gradients.")
    out.append("")

    # -- backward -----------------------------------------------------------------------------
    out.append(r"\subsection*{Backward pass}")
    steps = md.steps_for(wrt) if wrt else md.backward
    seven = " (for two layers, the slides' seven steps)" if L == 2 and len(steps) == 7 else ""
    out.append(rf"From the output back to the input, {len(steps)} steps{seven}. Each gradient has the shape "
               r"of the matrix it differentiates, which checks every product.")
    out.append("")
    for s in steps:
        out.append(rf"\paragraph{{{s.number}. ${_gradient_symbol(s)}$}}")
        rule = "shared bias gradient" if s.rule == "bias gradient" and md.shared_biases else s.rule
        out.append(_STEP_PROSE.get(rule, escape(s.rule) + ":"))
        if s.lines:
            out.append(r"\begin{gather*}")
            body = list(s.lines)
            if s.justification_latex and s.rule not in ("loss and output activation (chain rule, the factors "
                                                        "cancel)", "derivative of the loss"):
                body.append(s.justification_latex)
            out.append((r" \\" + "\n").join(body))
            out.append(r"\end{gather*}")
        elif s.justification_latex:
            out.append(rf"\[ {s.justification_latex} \]")
        if s.per_example is not None and s.per_example != s.expression:
            out.append(rf"Per example (the slides' form) ${s.target.latex()} = {s.per_example.latex()}$; "
                       rf"with the reduction:")
        out.append(r"\[ \boxed{" + rf"{s.target.latex()} = {_gradient_symbol(s)} = {s.expression.latex()}" + "} \\]")
        if s.assumption_latex:
            out.append(rf"This uses that ${s.assumption_latex}$; in general "
                       rf"${s.target.latex()} = {s.general.latex()}$, where multiplying by the all-ones matrix "
                       r"puts each row's total in every column.")
        out.append(rf"Shapes: ${s.shapes_latex}$, i.e.\ ${s.target.shape.latex()}$. "
                   rf"In index notation: ${s.index_form_latex}$"
                   + ((r" with $r = \frac{1}{n}$." if md.reduction == "mean" else r" with $r = 1$.")
                      if "r\\," in s.index_form_latex else "."))
        out.append("")

    # -- summary ------------------------------------------------------------------------------
    out.append(r"\subsection*{Summary}")
    out.append(r"\begin{align*}")
    out.append((r" \\" + "\n").join(rf"{s.target.latex()} &= {s.expression.latex()} && {s.target.shape.latex()}"
                                     for s in steps))
    out.append(r"\end{align*}")

    # -- numbers ------------------------------------------------------------------------------
    if md.has_data():
        env = md.environment()
        shown = [(s.target, env[s.target.name]) for s in md.forward] + \
            [(s.target, env[s.target.name]) for s in steps]
        out.append(r"\subsection*{With numbers}")
        out.append(rf"At the spec's parameters and data (rounded to {decimals} decimals"
                   + (rf"; $n = {md.n_examples}$" if md.n_examples else "") + "):")
        params = [(md.matrices[f"W_{l}"], md.spec_matrices[l - 1][0]) for l in range(1, L + 1)] + \
            [(md.matrices[f"b_{l}"], md.spec_matrices[l - 1][1]) for l in range(1, L + 1)]
        X, Y = md.spec_data()
        for mat, values in [(md.matrices["x"], X), (md.matrices["y"], Y)] + params + shown:
            if _shown(values):
                out.append(rf"\[ {mat.latex()} = {_matrix_latex(values, decimals)}{_uses_sum(md, mat, env, decimals)} \]")
            else:
                r, c = np.shape(values)
                out.append(rf"${mat.latex()}$: a ${r} \times {c}$ matrix (too large to show).")
        out.append("")
    if not fragment:
        out.append(r"\end{document}")
    return plain_parentheses("\n".join(out) + "\n")  # σ(z), not \\left( \\right)-stretched


#: The prose that introduces each kind of backward step (keyed by ``MatrixStep.rule``); the
#: worksheets in matrix notation reuse it so the key reads like the derivation.
STEP_PROSE = _STEP_PROSE
gradient_symbol = _gradient_symbol

__all__ = ["matrix_derivation_document", "escape", "STEP_PROSE", "gradient_symbol"]
