r"""The differentiation rules that are not an activation's or a loss's, one entry each.

A local derivative names the rule it uses (``LocalDerivative.rule``). An activation's rule and a
loss's rule are their registry entries' (``ACTIVATIONS[name].rule``, ``LOSSES[name].rule``); the
rules here are the ones a graph's equations need besides them, written as the handwritten notes
(002) write them: the power rule f′(x) = n xⁿ⁻¹, the derivative of eˣ and of log x, and the
structural rules whose names the slides and the notes use (sum rule, product rule, chain rule,
constant multiple rule). Each entry has its words (plain text, the lectures' notation: ′, ⁿ, −,
never ``'`` or ``^``) and, where it has a formula, the formula's LaTeX; :func:`rule_formulas`
gathers every registry's words → LaTeX, for the LaTeX faces.

    >>> RULES["power"].text
    'power rule: d/dx xⁿ = n xⁿ⁻¹'
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """A rule's words (``text``: "name: formula", or only a name) and its formula's LaTeX (or "")."""

    text: str
    latex: str = ""

    @property
    def name(self) -> str:
        return self.text.partition(": ")[0]


RULES: dict[str, Rule] = {
    "sum": Rule("sum rule"),
    "product": Rule("product rule"),
    "constant_multiple": Rule("constant multiple rule"),
    "chain": Rule("chain rule"),
    "identity": Rule("d/dx x = 1", r"\frac{d}{dx} x = 1"),
    "power": Rule("power rule: d/dx xⁿ = n xⁿ⁻¹", r"\frac{d}{dx} x^n = n x^{n-1}"),
    "general_power": Rule("derivative of a power: d/dx aˣ = aˣ log a", r"\frac{d}{dx} a^x = a^x \log a"),
    "exp": Rule("derivative of exp: d/dx eˣ = eˣ", r"\frac{d}{dx} e^x = e^x"),
    "log": Rule("derivative of the logarithm: d/dx log x = 1/x", r"\frac{d}{dx} \log x = \frac{1}{x}"),
    "huber": Rule("derivative of the Huber function (δ = 1): huber′(r) = r if |r| ≤ 1, else sign(r)",
                  r"\operatorname{huber}'(r) = \begin{cases} r & |r| \le 1 \\ \operatorname{sign}(r) & "
                  r"\text{otherwise} \end{cases}"),
    "definition": Rule("differentiate the definition"),
}

#: SymPy function names (``type(e).__name__``) → the rule for their derivative, besides the activations
FUNCTION_RULES = {"exp": "exp", "log": "log", "huber": "huber"}


def rule_formulas() -> dict:
    """Every rule's words → its formula's LaTeX: the activations', the losses' and :data:`RULES`
    (an entry without a formula is left out). Built from the registries, never restated."""
    from .activations import ACTIVATIONS
    from .losses import LOSSES

    out = {r.text: r.latex for r in RULES.values() if r.latex}
    out.update({a.rule: a.rule_latex for a in ACTIVATIONS.values() if a.rule and a.rule_latex})
    out.update({l.rule: l.rule_latex for l in LOSSES.values() if l.rule and l.rule_latex})
    return out
