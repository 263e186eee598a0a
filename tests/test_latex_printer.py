r"""The LaTeX documents speak the lectures' notation (issue 13): one LaTeX printer
(``render.printers.LectureLatexPrinter``) for the documents, the worksheets, Markdown and feedback.

Oracles: the lectures' own written forms (seeds: the notes' L = ½(y − ŷ)² and σ′ = a(1 − a), the
slides' f = qz, the handwritten notes' x² + 2xy + y²), and for ``--decimals`` the gradient of the
lecture network computed here by central differences in plain Python, rounded by the rule stated
in ``format_number`` (half up; two significant digits where the decimals would show 0).
"""
from __future__ import annotations

import math
import pathlib
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
import sympy

from symbackprop import derive, load_spec
from symbackprop.render.latex import derivation_document, spec_document
from symbackprop.render.printers import LectureLatexPrinter, latex
from symbackprop.render.text import derivation_text

ROOT = pathlib.Path(__file__).resolve().parent.parent
DERIVATIONS = ROOT / "derivations"


@pytest.fixture(scope="module")
def lecture_doc():
    return derivation_document(derive(load_spec(DERIVATIONS / "lecture_2_2_1.toml")))


def test_the_notes_loss_and_sigmoid_derivative_as_the_notes_write_them(lecture_doc):
    # L = 1/2 (y - yhat)^2 in the loss's written order, not SymPy's (-yhat + y)^2 / 2
    assert r"\frac{\partial}{\partial \hat{y}}\left[\frac{1}{2} (y - \hat{y})^{2}\right] = \hat{y} - y" in lecture_doc
    assert r"L &= \frac{1}{2} (y - \hat{y})^{2} \approx \frac{1}{2} (1 - 0.94)^{2}" in lecture_doc
    # sigma' = a(1 - a), juxtaposed; with numbers the product keeps its dot
    assert r"\sigma'(z^{2}_{1}) = a^{2}_{1}(1 - a^{2}_{1})" in lecture_doc
    assert r"= \hat{y}(1 - \hat{y}) \approx 0.94 \cdot (1 - 0.94) \approx 0.06" in lecture_doc
    for sympy_habit in (r"- \hat{y} + y", r"\frac{(y - \hat{y})^{2}}{2}", r"\hat{y} (1", r"\left(- \hat{y}"):
        assert sympy_habit not in lecture_doc


def test_the_slides_graph_and_the_handwritten_polynomial():
    graph = spec_document(load_spec(DERIVATIONS / "computational_graph.toml"))
    assert "f &= q z = 3 \\cdot (-4) = -12" in graph                 # the slides: f = qz
    poly = spec_document(load_spec(DERIVATIONS / "partial_derivatives.toml"))
    assert r"f = x^{2} + 2 x y + y^{2}" in poly                      # the notes: x^2 + 2xy + y^2


def test_functions_take_plain_parentheses_not_sympy_braces():
    x, yh, y = sympy.Symbol("z^{2}_{1}"), sympy.Symbol("a^{3}_{1}"), sympy.Symbol("y_{1}")
    shown = {yh: "ŷ", y: "y"}
    assert latex(sympy.tanh(x), shown) == r"\tanh(z^{2}_{1})"
    assert latex(1 - sympy.tanh(x) ** 2, shown) == r"1 - \tanh^{2}(z^{2}_{1})"
    assert latex(-y * sympy.log(yh) - (1 - y) * sympy.log(1 - yh), shown) == \
        r"-y \log(\hat{y}) - (1 - y) \log(1 - \hat{y})"
    assert latex((yh - y) / (yh * (1 - yh)), shown) == r"\frac{\hat{y} - y}{\hat{y}(1 - \hat{y})}"
    # numbers in place of the symbols: a dot between every two factors
    numbers = LectureLatexPrinter({x: "2", y: "(-0.5)"}, numbers=True)
    assert numbers.doprint(2 * y) == r"2 \cdot (-0.5)"
    assert sorted(numbers.doprint(2 * x * y).split(r" \cdot ")) == ["(-0.5)", "2", "2"]


def _documents():
    docs = {p.stem: p.read_text(encoding="utf-8") for p in sorted(DERIVATIONS.glob("*.tex"))}
    for name in ("tanh_softmax_3_4_2", "relu_2_5_3_1"):
        docs[name] = spec_document(load_spec(ROOT / "tests" / "data" / f"{name}.toml"))
    return docs


def test_no_document_shows_sympy_s_habits():
    for name, doc in _documents().items():
        for habit in (r"\tanh{", r"\log{", r"{\left(", "**", r"\operatorname{ReLU}{", r"\exp{"):
            assert habit not in doc, (name, habit)
        # a negative term never leads a sum where a positive one can (SymPy's - \hat{y} + y, - 2 y + 2 \hat{y})
        assert r"- \hat{y} + y" not in doc and r"- 2 y + 2 \hat{y}" not in doc and r"- y + \hat{y}" not in doc, name


def _half_up(value: float, decimals: int) -> str:
    d = Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    if d == 0:
        exponent = Decimal(repr(value)).adjusted()
        places = -exponent + 1
        d = Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        return f"{d:.{places}f}"
    return f"{d:.{decimals}f}"


def _lecture_gradient_w111() -> float:
    def loss(w111):
        s = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
        a1 = s(w111 * 1 + 1 * 0 + 1)
        a2 = s(1 * 1 + 1 * 0 + 1)
        return 0.5 * (1 - s(a1 + a2 + 1)) ** 2
    h = 1e-6
    return (loss(1 + h) - loss(1 - h)) / (2 * h)


@pytest.mark.parametrize("decimals", [0, 1, 2, 3, 4, 5])
def test_decimals_round_the_same_way_in_text_and_latex(decimals):
    d = derive(load_spec(DERIVATIONS / "lecture_2_2_1.toml"))
    expected = _half_up(_lecture_gradient_w111(), decimals)
    text = derivation_text(d, wrt=["w^{1}_{1,1}"], decimals=decimals)
    shown_text = re.search(r"at example 1: (\S+)", text).group(1).replace("−", "-")
    doc = derivation_document(d, wrt="w^{1}_{1,1}", decimals=decimals)
    shown_latex = re.search(r"With one example, \$\\frac\{\\partial J\}\{\\partial w\^\{1\}_\{1,1\}\} = "
                            r"\\frac\{\\partial L\}\{\\partial w\^\{1\}_\{1,1\}\} \\approx (\S+)\$", doc).group(1)
    assert shown_text == shown_latex == expected
