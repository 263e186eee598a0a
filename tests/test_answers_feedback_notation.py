"""Feedback in the lectures' notation (issue 12): every verdict over a set of wrong answers is printed
by render.printers (ŷ, σ′ = ŷ(1 − ŷ), ·, fractions), never SymPy's ``*``/``**``; counterexamples are
rounded for reading and, where the answer also differs there, given at a point of small fractions."""
from __future__ import annotations

import json
import math
import re
from fractions import Fraction
from pathlib import Path

import pytest
import sympy

from symbackprop import derive, load_spec
from symbackprop.verify.answers import FRIENDLY, AnswerChecker, readable_number

SPECS = Path(__file__).resolve().parents[1] / "derivations"
DATA = Path(__file__).resolve().parent / "data"

TANH = """title = "tanh 2-2-1"
notation = "index"
[network]
layers = [2, 2, 1]
activations = ["tanh", "sigmoid"]
loss = "half_squared_error"
reduction = "mean"
[parameters]
seed = 3
[data]
x = [[1, 0]]
y = [[1]]
"""
SOFTMAX = TANH.replace('"tanh", "sigmoid"', '"sigmoid", "softmax"').replace("[2, 2, 1]", "[2, 2, 2]") \
    .replace('"half_squared_error"', '"cross_entropy"').replace("y = [[1]]", "y = [[1, 0]]")

# wrong answers (wrt, answer): a dropped σ′, a stray 2, a swapped index, a wrong sign, a number,
# a missing path, an extra factor, a wrong node; none contains '*' itself
INDEX_WRONG = [
    ("w^{2}_{1,1}", r"(\hat{y} - y) a^{2}_{1}"),
    ("w^{2}_{1,1}", r"2(\hat{y} - y)\hat{y}(1 - \hat{y}) a^{2}_{1}"),
    ("w^{2}_{1,1}", r"(y - \hat{y})\hat{y}(1 - \hat{y}) a^{2}_{1}"),
    ("w^{2}_{1,1}", r"(\hat{y} - y)\hat{y}(1 - \hat{y}) a^{2}_{2}"),
    ("w^{2}_{1,1}", r"(\hat{y} - y)\hat{y}(1 - \hat{y}) a^{2}_{1} a^{2}_{1}"),
    ("w^{2}_{1,1}", r"(\hat{y} - y) z^{3}_{1}(1 - z^{3}_{1}) a^{2}_{1}"),
    ("w^{2}_{1,1}", "0"),
    ("w^{2}_{1,1}", "3"),
    ("w^{1}_{1,1}", r"(\hat{y} - y)\hat{y}(1 - \hat{y}) w^{2}_{1,1} x_1"),
    ("w^{1}_{1,1}", r"(\hat{y} - y)\hat{y}(1 - \hat{y}) w^{2}_{1,1} a^{2}_{1}(1 - a^{2}_{1}) x_2"),
    ("w^{1}_{1,1}", r"(\hat{y} - y)\hat{y}(1 - \hat{y}) w^{2}_{1,2} a^{2}_{1}(1 - a^{2}_{1}) x_1"),
    ("w^{1}_{1,1}", r"\frac{1}{2}(\hat{y} - y) w^{2}_{1,1} x_1"),
    ("x_1", r"(\hat{y} - y)\hat{y}(1 - \hat{y}) w^{2}_{1,1} a^{2}_{1}(1 - a^{2}_{1}) w^{1}_{1,1}"),
    ("b^{2}_{1}", r"(\hat{y} - y)^{2}"),
    ("b^{2}_{1}", r"\hat{y} - y"),
    ("b^{1}_{1}", r"e^{x_1} + \log(2)"),
]
GRAPH_WRONG = [("x", "q"), ("x", "z y"), ("x", r"z^{2}"), ("y", "x"), ("z", "q^{2}"), ("z", "0"), ("x", r"\frac{z}{3}")]
MATRIX_WRONG = [("dW_2", "a_1^T dz_2 dz_2"), ("dW_2", "dz_2^T a_1"), ("dz_1", r"dz_2 W_2^T \odot \log(a_1)"),
                ("dW_1", "x^T dz_2"), ("db_2", "dz_2")]

FORBIDDEN = re.compile(r"\*|sympy|Symbol\(|Rational\(|\de[-+]?\d|= -\d")


def _texts(verdict) -> list:
    """Every string a person reads in the verdict (text and its JSON)."""
    j = verdict.to_json()
    out = [verdict.feedback, verdict.note or "", verdict.decided_by or "", verdict.expected or "",
           verdict.expected_text or ""]
    cx = j.get("counterexample") or {}
    out.append(json.dumps(cx.get("shown"), ensure_ascii=False))
    out.append(cx.get("message") or "")
    out += [m["tex"] for m in j.get("feedback_math", [])]
    return out


@pytest.fixture(scope="module")
def checkers(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("specs")
    (tmp / "tanh.toml").write_text(TANH)
    (tmp / "softmax.toml").write_text(SOFTMAX)
    paths = {"lecture": SPECS / "lecture_2_2_1.toml", "graph": SPECS / "computational_graph.toml",
             "relu": DATA / "relu_2_5_3_1.toml", "tanh": tmp / "tanh.toml", "softmax": tmp / "softmax.toml"}
    return {k: AnswerChecker(derive(load_spec(p))) for k, p in paths.items()}


def _cases(checkers):
    for key in ("lecture", "tanh", "softmax"):
        for wrt, answer in INDEX_WRONG:
            if key == "softmax":
                answer = answer.replace(r"\hat{y}", r"\hat{y}_1").replace(" y)", " y_1)").replace("(y ", "(y_1 ")
            yield key, wrt, answer
    for wrt, answer in GRAPH_WRONG:
        yield "graph", wrt, answer
    for wrt, answer in [("w^{3}_{1,1}", r"(\hat{y} - y)"), ("w^{2}_{1,1}", "x_1"), ("b^{3}_{1}", "2")]:
        yield "relu", wrt, answer


def test_every_verdict_is_in_the_lectures_notation(checkers):
    seen = 0
    wrong = 0
    for key, wrt, answer in _cases(checkers):
        v = checkers[key].check(answer, wrt)
        seen += 1
        wrong += v.verdict == "incorrect"
        for t in _texts(v):
            assert not FORBIDDEN.search(t), (key, wrt, answer, t)
            assert "**" not in t
    assert seen >= 55 and wrong >= seen - 4     # nearly all of them are wrong answers, as meant


def test_matrix_verdicts_are_in_the_lectures_notation():
    checker = AnswerChecker(load_spec(SPECS / "gender.toml"))
    for wrt, answer in MATRIX_WRONG:
        v = checker.check(answer, wrt)
        assert v.verdict == "incorrect", (wrt, answer, v.feedback)
        for t in _texts(v):
            assert not FORBIDDEN.search(t), (wrt, answer, t)


def test_sigma_prime_reads_yhat_one_minus_yhat(checkers):
    v = checkers["lecture"].check(r"(\hat{y} - y) a^{2}_{1}", "w^{2}_{1,1}")
    assert v.mistake == "activation_derivative_missing"
    assert "σ′(z^{3}_{1}) = ŷ(1 − ŷ) (∂ŷ/∂z^{3}_{1})" in v.feedback
    assert ("σ′(z^{3}_{1}) = ŷ(1 − ŷ)", r"\sigma'(z^{3}_{1}) = \hat{y}(1 - \hat{y})") in v.math
    # the hidden layer's σ′ keeps its node: a^{2}_{1}(1 − a^{2}_{1})
    v = checkers["lecture"].check(r"(\hat{y} - y)\hat{y}(1 - \hat{y}) w^{2}_{1,1} x_1", "w^{1}_{1,1}")
    assert "σ′(z^{2}_{1}) = a^{2}_{1}(1 − a^{2}_{1})" in v.feedback


def test_expected_is_the_reference_in_lecture_notation(checkers):
    v = checkers["lecture"].check(r"(\hat{y} - y) a^{2}_{1}", "w^{2}_{1,1}")
    assert r"\hat{y}(1 - \hat{y})" in v.expected and "a^{3}_{1}" not in v.expected
    assert "ŷ(1 − ŷ)" in v.expected_text and "(ŷ − y)" in v.expected_text
    # oracle: the printed reference is ∂L/∂w^{2}_{1,1} by sympy.diff of the expanded loss, at a point
    a2, w2, b2, y = sympy.symbols("a2 w2 b2 y")
    yhat = 1 / (1 + sympy.exp(-(w2 * a2 + b2)))
    truth = sympy.diff((y - yhat) ** 2 / 2, w2)
    at = {a2: sympy.Rational(1, 3), w2: sympy.Rational(2, 5), b2: sympy.Rational(-1, 2), y: sympy.Rational(3, 4)}
    yv = yhat.subs(at)
    mine = at[a2] * yv * (1 - yv) * (yv - at[y])
    assert sympy.simplify(truth.subs(at) - mine) == 0


def test_expected_is_printed_only_when_read(checkers, monkeypatch):
    import symbackprop.render.printers as printers

    calls = []
    real = printers.latex
    monkeypatch.setattr(printers, "latex", lambda *a, **k: calls.append(1) or real(*a, **k))
    v = checkers["lecture"].check(r"(\hat{y} - y)\hat{y}(1 - \hat{y}) a^{2}_{2}", "w^{2}_{1,1}")
    assert v.verdict == "incorrect" and calls == []
    assert v.expected.startswith("a^{2}_{1}") and len(calls) == 1
    assert v.expected == v.to_json()["expected"] and len(calls) == 1    # computed once


@pytest.mark.parametrize("value, shown", [
    (sympy.Rational(-3, 4), "−3/4"), (sympy.Rational(7), "7"), (sympy.Rational(123456789, 1000), "123500"),
    (7.859788075e-6, "7.86 × 10⁻⁶"), (-5.7e-13, "−5.7 × 10⁻¹³"), (0.0029371, "0.002937"),
    (9.99996, "10"), (12345678, "1.235 × 10⁷"), (0.5, "0.5"), (-0.2500004, "−0.25"), (1e-4, "0.0001"),
    (999999.4, "1 × 10⁶"), (sympy.Rational(1, 111), "0.009009"),
])
def test_readable_numbers(value, shown):
    from symbackprop.verify.answers import _MP

    v = value if isinstance(value, sympy.Rational) else (_MP.mpf(value) if isinstance(value, float) else value)
    assert readable_number(v) == shown


def test_counterexample_at_a_friendly_point_with_the_right_numbers(checkers):
    v = checkers["graph"].check("x + z", "x")       # f = q z, q = x + y: ∂f/∂x = z, the answer x + z
    cx = v.counterexample
    assert cx["at"] == "a point with small values"
    point = {k: Fraction(s) for k, s in cx["point"].items()}
    assert all(Fraction(p) in {Fraction(f.p, f.q) for f in FRIENDLY} for p in point.values())
    assert all(p not in (0, 1, -1) for p in point.values())
    # oracle: the values, computed by hand from the point
    assert Fraction(cx["answer"]) == point["x"] + point["z"] and Fraction(cx["expected"]) == point["z"]
    assert "at a point with small values (" in v.feedback
    assert f"your answer is {readable_number(sympy.Rational(point['x'] + point['z']))}" in v.feedback


def test_counterexample_rounded_to_four_digits(checkers):
    v = checkers["lecture"].check(r"(\hat{y} - y)\hat{y}^2 a^{2}_{1}", "w^{2}_{1,1}")   # no likely mistake
    cx = v.counterexample
    shown = cx["shown"]
    for key in ("answer", "expected"):
        text = shown[key]
        assert "e" not in text and "×" not in text
        digits = re.sub(r"[^0-9]", "", text).lstrip("0")
        assert len(digits) <= 4
        assert float(text.replace("−", "-")) == pytest.approx(float(cx[key]), rel=1e-3)
