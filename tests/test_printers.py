"""The one text printer: the lectures' notation, never SymPy's ``**`` or ``*``.

Each expected string is written by hand from the lecture notes' way of writing the formula."""
import sympy
import pytest

from symbackprop import derive, load_spec
from symbackprop.ops.functions import sigmoid
from symbackprop.render.printers import output_names, text

a, y, x, w, a2, n, z = (sympy.Symbol(s) for s in ["a^{3}_{1}", "y_{1}", "x_{1}", "w^{2}_{1,1}", "a^{2}_{1}", "n", "z"])
HAT = {a: "ŷ", y: "y"}


@pytest.mark.parametrize("expr, expected", [
    ((y - a) ** 2 / 2, "½(y − ŷ)²"),
    (a * (1 - a), "ŷ(1 − ŷ)"),
    ((a - y) / (a * (1 - a)), "(ŷ − y)/(ŷ(1 − ŷ))"),
    (sigmoid(z).diff(z), "σ(z) · (1 − σ(z))"),  # a group after a call is never juxtaposed: log(u) · (1 − y)
    (sympy.Derivative(sigmoid(z), z), "σ′(z)"),
    ((a - y) / n, "(ŷ − y)/n"),
    (1 / (1 + sympy.exp(-z)), "1/(1 + e^(−z))"),
    (-x * w, "−w^{2}_{1,1} · x_{1}"),
    (x ** 3, "x_{1}³"),
    (sympy.Rational(-1, 2) * x, "−½x_{1}"),
])
def test_lecture_forms(expr, expected):
    assert text(expr, HAT) == expected


@pytest.mark.parametrize("expr", [(y - a) ** 2 / 2, a * (1 - a) * w * x ** 2 / n, sympy.exp(-z) / (1 + sympy.exp(-z)) ** 2])
def test_never_sympys_operators(expr):
    shown = text(expr, HAT)
    assert "**" not in shown and "*" not in shown and "-" not in shown


def test_output_and_target_are_yhat_and_y_on_the_lecture_network():
    d = derive(load_spec("derivations/lecture_2_2_1.toml"))
    names = output_names(d.graph)
    assert names == {"a^{3}_{1}": "ŷ", "y_{1}": "y"}
    loss = d.graph.node(d.graph.output).definition
    assert text(loss, names) == "½(y − ŷ)²"


def test_derive_text_reads_like_the_lecture_notes():
    """The notes' worked example: five local derivatives from L down, their product, −0.0003 (finite differences)."""
    from symbackprop.render.text import derivation_text

    shown = derivation_text(derive(load_spec("derivations/lecture_2_2_1.toml")), wrt=["w^{1}_{1,1}"])
    assert "loss per example: L = ½(y − ŷ)²" in shown
    assert ("chain rule: ∂L/∂w^{1}_{1,1} = ∂L/∂ŷ · ∂ŷ/∂z^{3}_{1} · ∂z^{3}_{1}/∂a^{2}_{1} · ∂a^{2}_{1}/∂z^{2}_{1}"
            " · ∂z^{2}_{1}/∂w^{1}_{1,1} = (ŷ − y) · ŷ(1 − ŷ) · w^{2}_{1,1} · a^{2}_{1}(1 − a^{2}_{1}) · x_{1}") in shown
    assert "**" not in shown and "*" not in shown
    import math
    s = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    f = lambda w: 0.5 * (1 - s(s(w + 1) + s(2) + 1)) ** 2  # noqa: E731
    fd = (f(1 + 1e-6) - f(1 - 1e-6)) / 2e-6
    assert f"at example 1: {fd:.4f}".replace("-", "−") in shown


def test_graph_text_keeps_the_unit_factor_and_speaks_of_the_output():
    """The slides' f = (x + y)z at x = −2, y = 5, z = −4: ∂f/∂x = ∂f/∂q · ∂q/∂x = z · 1 = −4; no reduction."""
    from symbackprop.render.text import derivation_text

    shown = derivation_text(derive(load_spec("derivations/computational_graph.toml")))
    assert "output: f = q · z" in shown
    assert "chain rule: ∂f/∂x = ∂f/∂q · ∂q/∂x = z · 1" in shown
    assert "reduction" not in shown and "cost" not in shown
    assert shown.count("at example 1: −4\n") == 3 and "at example 1: 3\n" in shown  # exact: the slides' −4, −4, 3
    assert "∂f/∂q = z    (product rule)" in shown  # the slides: f = q z, the product rule


def test_a_string_is_refused_never_parsed():
    """The printer reads SymPy objects and numbers only: text such as a user's title is never parsed as math."""
    with pytest.raises(TypeError):
        text('__import__("os").system("touch PWNED")')
    assert text(3) == "3" and text(sympy.Rational(1, 2)) == "½"


def test_a_hat_name_reads_as_the_letter_with_its_hat_like_the_latex():
    """A graph spec's ``yhat`` is ŷ in text, as SymPy's own LaTeX printer writes it \\hat{y}."""
    yhat, xhat_1 = sympy.Symbol("yhat"), sympy.Symbol("xhat_{1}")
    assert sympy.latex(yhat) == r"\hat{y}"
    assert text(yhat - sympy.Symbol("y")) == "ŷ − y"
    assert text(2 * xhat_1) == "2x̂_{1}"
    assert text(sympy.Symbol("that")) == "t̂" and sympy.latex(sympy.Symbol("that")) == r"\hat{t}"
