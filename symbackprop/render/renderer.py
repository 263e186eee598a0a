"""The ``Renderer``: one derivation's steps written out as LaTeX, target by target.

A Renderer is the derivation (``d``), its graph (``g``), the :class:`Notation` of its nodes (``nt``),
the ``decimals`` shown, the ``numbers`` it is evaluated at and their :class:`Evaluation` (``ev``),
and the heading level of its sections. Its sections live in their own modules, one each, and all
share these:

- :class:`~symbackprop.render.forward.ForwardPass` (``forward.py``): the forward pass, the loss and
  the reduction over the examples;
- :class:`~symbackprop.render.backward.BackwardPass` (``backward.py``): the backward pass node by
  node and the lectures' boxed simplifications;
- :class:`~symbackprop.render.paths.PathSteps` (``paths.py``): per target, the paths, the chain-rule
  products and each local derivative with its rule;
- :class:`~symbackprop.render.update.NumbersAndUpdate` (``update.py``): per target, the numbers,
  the reduction, one gradient-descent step, and the summary table.

This module holds what they share: the number helpers, the example labels and the set-up section
(the network, its conventions and its parameters). (Split out of ``render.latex``, which re-exports it.)
"""
from __future__ import annotations

from ..spec import names
from ..derivation.chain_rule import Derivation
from ..ops.losses import get_loss
from .backward import BackwardPass
from .blocks import MAX_SUM_ROW, _align, _display, _sum_rows  # noqa: F401  (re-exported)
from .forward import ForwardPass
from .latex_parts import MAX_EXAMPLES_SHOWN, Notation, Numbers, _evaluation, format_given, format_number, tex_escape
from .parameters import parameter_block
from .paths import PathSteps
from .update import NumbersAndUpdate


#: example vectors longer than this may break across lines after a comma
LONG_VECTOR = 6


class Renderer(ForwardPass, BackwardPass, PathSteps, NumbersAndUpdate):
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
            # a long vector may break after its commas (inline math breaks only after = and +)
            xt = (", " if len(xs) <= LONG_VECTOR else ",\\allowbreak ").join(self.given(v) for v in xs)
            yt = (", " if len(ys) <= LONG_VECTOR else ",\\allowbreak ").join(self.given(v) for v in ys)
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
        """The weights and biases, layer by layer: inline for a small layer as the lecture lists them,
        else as the matrix W^{k} and the vector b^{k} (:func:`~symbackprop.render.parameters.parameter_block`),
        so a wide network stays on the page."""
        return parameter_block(self.d, self)

    def numbers_intro(self, e: int) -> str:
        """'With the numbers of the example (x = ...)' (or of example e, or the parameters' values)."""
        phrase = self.example_label_phrase(e)
        return "With the parameters' values" if phrase == "the parameters' values" else f"With the numbers of {phrase}"

    def example_label_phrase(self, e: int) -> str:
        if self.ev.n == 1:
            label = self.example_label(e)
            return f"the example (${label}$)" if label else "the parameters' values"
        return f"example {e + 1} (${self.example_label(e)}$)"
