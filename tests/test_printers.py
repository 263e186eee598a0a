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
    (sigmoid(z).diff(z), "σ(z)(1 − σ(z))"),
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
