r"""Checking students' hand derivations: verdicts, feedback, the exact field, hostile answers.

The oracle for every verdict is the lectures' mathematics, decided by hand when the case
was written (e.g. ∂L/∂w^{1}_{1,1} = (ŷ − y) ŷ(1 − ŷ) w^{2}_{1,1} a^{2}_{1}(1 − a^{2}_{1}) x_1
for the notes' 2-2-1 network; ∂L/∂z_2 = ŷ − y for BCE with a sigmoid on the slides).
Correct answers are additionally confirmed against ``sympy.diff`` of the fully expanded
loss at an exact rational point (an oracle independent of the chain-rule engine).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symbackprop.spec import names
from symbackprop.verify.answers import AnswerChecker, ExactPoint, answer_names, check_answer
from symbackprop.derivation.chain_rule import derive
from symbackprop.ops.functions import sigmoid
from symbackprop.grammar.parser import parse_chain
from symbackprop.spec.load import load_spec

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "derivations"

LECTURE = "lecture_2_2_1"
GENDER = "gender"
GRAPH = "computational_graph"
CHAIN = "chain_rule_u_squared"
PARTIAL = "partial_derivatives"
POWER = "power_rule"
LINREG = "linear_regression"


@pytest.fixture(scope="module")
def checkers():
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = AnswerChecker(derive(load_spec(SPECS / f"{name}.toml")))
        return cache[name]

    return get


W111 = "w^{1}_{1,1}"
# the lecture notes' product of five local derivatives, in the notes' own notation and ours
LECTURE_W111 = r"(\hat{y} - y)\,\hat{y}(1 - \hat{y})\, w^{2}_{1,1}\, a^{2}_{1}(1 - a^{2}_{1})\, x_1"
FULL_B21 = (r"\left(\sigma\left(w^{2}_{1,1}\sigma(w^{1}_{1,1} x_1 + w^{1}_{1,2} x_2 + b^{1}_{1}) + "
            r"w^{2}_{1,2}\sigma(w^{1}_{2,1} x_1 + w^{1}_{2,2} x_2 + b^{1}_{2}) + b^{2}_{1}\right) - y\right)"
            r"\sigma'\left(w^{2}_{1,1}\sigma(w^{1}_{1,1} x_1 + w^{1}_{1,2} x_2 + b^{1}_{1}) + "
            r"w^{2}_{1,2}\sigma(w^{1}_{2,1} x_1 + w^{1}_{2,2} x_2 + b^{1}_{2}) + b^{2}_{1}\right)")

# (spec, wrt or None, answer, verdict, mistake)
CASES = [
    # --- the lecture notes' 2-2-1 network, L = ½(y − ŷ)², sigmoid everywhere -----------------
    (LECTURE, None, r"\frac{\partial L}{\partial w^{1}_{1,1}} = " + LECTURE_W111, "correct", None),
    (LECTURE, None, r"\frac{\partial L}{\partial w_{1,1}^1} = (\hat{y}_i - y_i) \cdot \hat{y}_i (1 - \hat{y}_i) "
                    r"\cdot w_{1,1}^2 \cdot a_1^2 (1 - a_1^2) \cdot x_i^1", "correct", None),
    (LECTURE, W111, r"(\hat y - y)\,\hat y\,(1-\hat y)\,w^2_{11}\,a^2_1(1-a^2_1)\,x_1", "correct", None),
    (LECTURE, W111, r"(\sigma(z^{3}_{1}) - y)\,\sigma(z^{3}_{1})(1 - \sigma(z^{3}_{1}))\, w^{2}_{1,1}\,"
                    r"\sigma(z^{2}_{1})\left(1 - \sigma(z^{2}_{1})\right) x_{1}", "correct", None),
    (LECTURE, W111, r"-(y - \hat{y}) \frac{e^{-z^{3}_{1}}}{(1+e^{-z^{3}_{1}})^2} w^{2}_{1,1} "
                    r"\frac{\exp(-z^{2}_{1})}{(1+\exp(-z^{2}_{1}))^{2}} x_1", "correct", None),
    (LECTURE, "w_{1,1}^1", "(yhat - y) * yhat * (1 - yhat) * w^{2}_{1,1} * sigma(z^{2}_{1}) * (1 - sigma(z^{2}_{1})) * x_1",
     "correct", None),
    (LECTURE, None, r"""\frac{\partial L}{\partial w_{1,1}^1} = \frac{\partial L}{\partial \hat{y}_i} \times
        \frac{\partial \hat{y}_i}{\partial z_1^3} \times \frac{\partial z_1^3}{\partial a_1^2} \times
        \frac{\partial a_1^2}{\partial z_1^2} \times \frac{\partial z_1^2}{\partial w_{1,1}^1} \\
        &= (\hat{y}_i - y_i)\,\hat{y}_i(1-\hat{y}_i)\, w_{1,1}^2\, a_1^2(1-a_1^2)\, x_1^1""", "correct", None),
    (LECTURE, W111, r"(\hat y - y)\,\sigma'(z^{3}_{1})\, w^{2}_{1,1}\, \sigma'(z^{2}_{1})\, x_1", "correct", None),
    (LECTURE, W111, r"\delta^{3}_{1}\, w^{2}_{1,1}\, a^{2}_{1}(1 - a^{2}_{1})\, x_1", "correct", None),
    (LECTURE, "b^{2}_{1}", FULL_B21, "correct", None),
    (LECTURE, "x_1", r"\sum_{j=1}^{2} (\hat y - y)\hat y(1-\hat y)\, w^{2}_{1,j}\, a^{2}_{j}(1-a^{2}_{j})\, w^{1}_{j,1}",
     "correct", None),
    (LECTURE, "x_1", r"(\hat y - y)\hat y(1-\hat y) \sum_j w^{2}_{1,j} a^{2}_{j}(1-a^{2}_{j}) w^{1}_{j,1}", "correct", None),
    (LECTURE, "b^{1}_{1}", r"(\hat y - y)\hat y(1-\hat y) w^{2}_{1,1} a^{2}_{1}(1-a^{2}_{1})", "correct", None),
    (LECTURE, None, r"\frac{\partial L}{\partial \hat{y}} = \frac{\partial}{\partial \hat{y}}"
                    r"\left[\frac{1}{2}(y - \hat{y})^2\right] = (y - \hat{y}) \cdot (-1) = \hat{y} - y", "correct", None),
    (LECTURE, "z^{3}_{1}", r"(\hat y - y)\hat y(1 - \hat y)", "correct", None),
    (LECTURE, W111, r"(y - \hat{y})\,\hat{y}(1 - \hat{y})\, w^{2}_{1,1}\, a^{2}_{1}(1 - a^{2}_{1})\, x_1", "incorrect", "sign"),
    (LECTURE, W111, r"(\hat{y} - y)\,\hat{y}(1 - \hat{y})\, a^{2}_{1}(1 - a^{2}_{1})\, x_1", "incorrect", "missing_factor"),
    (LECTURE, W111, r"(\hat{y} - y)\, w^{2}_{1,1}\, a^{2}_{1}(1 - a^{2}_{1})\, x_1", "incorrect",
     "activation_derivative_missing"),
    (LECTURE, W111, r"(\hat{y} - y)\,\hat{y}(1 - \hat{y})\, w^{2}_{1,1}\, x_1", "incorrect", "activation_derivative_missing"),
    (LECTURE, W111, r"(\hat{y} - y)\,[\hat{y}(1 - \hat{y})]^2\, w^{2}_{1,1}\, a^{2}_{1}(1 - a^{2}_{1})\, x_1", "incorrect",
     "activation_derivative_twice"),
    (LECTURE, W111, r"(\hat{y} - y)\,\hat{y}(1 - \hat{y})\, w^{2}_{1,2}\, a^{2}_{1}(1 - a^{2}_{1})\, x_1", "incorrect",
     "wrong_index"),
    (LECTURE, W111, r"(\hat{y} - y)\,\hat{y}(1 - \hat{y})\, w^{2}_{1,1}\, a^{2}_{1}(1 - a^{2}_{1})\, x_2", "incorrect",
     "wrong_index"),
    (LECTURE, W111, r"2(\hat{y} - y)\,\hat{y}(1 - \hat{y})\, w^{2}_{1,1}\, a^{2}_{1}(1 - a^{2}_{1})\, x_1", "incorrect",
     "constant_factor"),
    (LECTURE, "x_1", r"(\hat y - y)\hat y(1-\hat y)\, w^{2}_{1,1}\, a^{2}_{1}(1-a^{2}_{1})\, w^{1}_{1,1}", "incorrect",
     "missing_path"),
    (LECTURE, "b^{1}_{1}", r"(\hat y - y)\hat y(1-\hat y) w^{2}_{1,1} a^{2}_{1}(1-a^{2}_{1}) x_1", "incorrect", "extra_factor"),
    (LECTURE, "w^{2}_{1,1}", r"\hat{y} - y", "incorrect", "counterexample"),
    (LECTURE, "w^{2}_{1,1}", r"\frac{\partial L}{\partial w^{2}_{1,1}}", "incorrect", "no_answer"),
    (LECTURE, W111, r"(\hat y - y", "unparseable", None),
    (LECTURE, W111, r"(\hat y - y) x_3", "unparseable", None),
    (LECTURE, W111, r"__import__('os').system('touch /tmp/symbackprop_pwned_answers')", "unparseable", None),
    # --- the slides' gender network: BCE with a sigmoid output (matrix names for width-1 layers) ---
    (GENDER, None, r"\frac{\partial L}{\partial \hat{y}} = -\frac{y}{\hat{y}} + \frac{1 - y}{1 - \hat{y}}", "correct", None),
    (GENDER, None, r"\frac{\partial L}{\partial \hat{y}} = \frac{\hat{y} - y}{\hat{y}(1 - \hat{y})}", "correct", None),
    (GENDER, None, r"\frac{\partial L}{\partial z_2} = \frac{\partial L}{\partial \hat{y}} \cdot \frac{\partial \hat{y}}"
                   r"{\partial z_2} = \frac{\hat{y} - y}{\hat{y}(1 - \hat{y})} \cdot \hat{y}(1 - \hat{y}) = \hat{y} - y",
     "correct", None),
    (GENDER, "z_2", r"\sigma(z_2) - y", "correct", None),
    (GENDER, "z_2", r"y - \hat{y}", "incorrect", "sign"),
    (GENDER, "z_2", r"\frac{1}{n}(\hat y - y)", "incorrect", "constant_factor"),
    (GENDER, "z_2", r"(\hat y - y)\hat y(1 - \hat y)", "incorrect", "activation_derivative_twice"),
    (GENDER, "w^{2}_{1,1}", r"(\hat y - y)\, a^{2}_{1}", "correct", None),
    (GENDER, None, r"\frac{\partial L}{\partial z_2} = \frac{\hat{y} - y}{\hat{y}(1 - \hat{y})} = \hat{y} - y",
     "incorrect", "activation_derivative_missing"),
    # --- the slides' computational graph f = (x + y) z ---------------------------------------------
    (GRAPH, None, r"\frac{\partial f}{\partial x} = z", "correct", None),
    (GRAPH, None, r"\frac{\partial f}{\partial x} = \frac{\partial f}{\partial q}\frac{\partial q}{\partial x} = z \cdot 1",
     "correct", None),
    (GRAPH, None, r"\frac{\partial f}{\partial y} = \frac{\partial f}{\partial q}\frac{\partial q}{\partial y} = z",
     "correct", None),
    (GRAPH, None, r"\frac{\partial f}{\partial z} = q", "correct", None),
    (GRAPH, "z", r"x + y", "correct", None),
    (GRAPH, None, r"\frac{\partial f}{\partial q} = z", "correct", None),
    (GRAPH, None, r"\frac{\partial q}{\partial y} = 1", "correct", None),
    (GRAPH, "x", r"q", "incorrect", "wrong_parameter"),       # q is ∂f/∂z, answered for x
    (GRAPH, "x", r"x + z", "incorrect", "counterexample"),
    (GRAPH, "x", r"-z", "incorrect", "sign"),
    # --- the handwritten notes: y = u², u = 3x; f = x² + 2xy + y²; f = 4x³ --------------------------
    (CHAIN, None, r"\frac{dy}{dx} = \frac{dy}{du} \cdot \frac{du}{dx} = 2u \cdot 3 = 6u = 6(3x) = 18x", "correct", None),
    (CHAIN, None, r"\frac{dy}{du} = 2u", "correct", None),
    (CHAIN, "x", r"6x", "incorrect", "constant_factor"),
    (PARTIAL, None, r"\frac{\partial f}{\partial x} = \frac{\partial}{\partial x} (x^2 + 2xy + y^2) = 2x + 2y", "correct", None),
    (PARTIAL, None, r"\frac{\partial f}{\partial y} = 2x + 2y", "correct", None),
    (PARTIAL, "y", r"2x + y", "incorrect", "counterexample"),
    (POWER, "x", r"12x^2", "correct", None),
    (POWER, "x", r"3 \cdot 4 x^{3-1}", "correct", None),
    (POWER, "x", r"12x^3", "incorrect", "extra_factor"),
    # --- the slides' linear regression, per example -------------------------------------------------
    (LINREG, None, r"\frac{\partial L}{\partial w} = -2x(y - (wx + b))", "correct", None),
    (LINREG, None, r"\frac{\partial L}{\partial w} = -2x(y - \hat{y})", "correct", None),
    (LINREG, None, r"\frac{\partial L}{\partial b} = 2(\hat y - y)", "correct", None),
    (LINREG, None, r"\frac{\partial L}{\partial w} = -\frac{2}{n} x(y - (wx + b))", "incorrect", "constant_factor"),
    (LINREG, None, r"\frac{\partial L}{\partial b} = 2(y - (wx + b))", "incorrect", "sign"),
    (LINREG, None, r"\frac{\partial L}{\partial w} = -2(y - (wx + b))", "incorrect", "missing_factor"),
]


def test_at_least_forty_cases():
    assert len(CASES) >= 40
    assert sum(1 for c in CASES if c[3] == "correct") >= 20
    assert len({c[0] for c in CASES}) == 7


@pytest.mark.parametrize("spec, wrt, answer, verdict, mistake", CASES,
                         ids=[f"{c[0]}-{i}-{c[3]}" for i, c in enumerate(CASES)])
def test_verdicts(checkers, spec, wrt, answer, verdict, mistake):
    result = checkers(spec).check(answer, wrt)
    assert result.verdict == verdict, result.feedback
    if mistake is not None:
        assert result.mistake == mistake, result.feedback
    if verdict == "correct":
        assert result.decided_by and ("symbolic" in result.decided_by or "exact evaluation" in result.decided_by)
    if verdict == "unparseable":
        assert result.error and "message" in result.error


# ---------------------------------------------------------------------------------------
# An oracle independent of the engine: sympy.diff of the fully expanded loss


def _expanded_loss_diff(d, wrt):
    g = d.graph
    loss = g.substitute(names.symbol(g.output))
    return sympy.diff(loss, names.symbol(wrt))


@pytest.mark.parametrize("spec, wrt, answer", [
    (LECTURE, W111, LECTURE_W111),
    (LECTURE, "b^{2}_{1}", FULL_B21),
    (GENDER, "z^{3}_{1}", r"\hat{y} - y"),
    (GRAPH, "x", "z"),
    (LINREG, "w", r"-2x(y - (wx + b))"),
    (CHAIN, "x", "18x"),
])
def test_correct_answers_match_sympy_diff_of_the_expanded_loss(checkers, spec, wrt, answer):
    checker = checkers(spec)
    d = checker.d
    expr = parse_chain(answer, resolve=answer_names(d)).sides[-1].expr
    ours = d.graph.substitute(expr)
    if wrt.startswith("z^"):
        # ∂L/∂z is not a leaf derivative: compare through ∂L/∂b^{2}_{1} = ∂L/∂z^{3}_{1} · 1
        oracle = _expanded_loss_diff(d, "b^{2}_{1}")
    else:
        oracle = _expanded_loss_diff(d, wrt)
    point = {n.symbol: sympy.Rational(k % 5 - 2, 3) or sympy.Rational(1, 2) for k, n in enumerate(d.graph.nodes)
             if n.is_leaf}
    value = (ours - oracle).xreplace(point)
    value = value.rewrite(sympy.exp) if value.has(sigmoid) else value
    assert abs(sympy.N(value, 40)) < 1e-30
    assert checker.check(answer, wrt).verdict == "correct"


# ---------------------------------------------------------------------------------------
# The slides' own steps


def test_slides_bce_steps_verify(checkers):
    c = checkers(GENDER)
    step1 = c.check(r"\frac{\partial L}{\partial \hat{y}} = \frac{\hat{y} - y}{\hat{y}(1 - \hat{y})}")
    step2 = c.check(r"\frac{\partial L}{\partial z_2} = \hat{y} - y")
    sigmoid_step = c.check(r"\frac{\partial \hat{y}}{\partial z_2} = \hat{y}(1 - \hat{y})")
    assert (step1.verdict, step2.verdict, sigmoid_step.verdict) == ("correct", "correct", "correct")
    assert step1.wrt == "a^{3}_{1}" and step2.wrt == "z^{3}_{1}" and sigmoid_step.of == "a^{3}_{1}"
    assert "n = 4" in step2.note  # the mean's 1/n is named, not silently dropped


def test_lecture_notes_steps_verify(checkers):
    c = checkers(LECTURE)
    steps = [
        (r"\frac{\partial \hat{y}_i}{\partial z_1^3} = \hat{y}_i(1 - \hat{y}_i)", "correct"),
        (r"\frac{\partial z_1^3}{\partial a_1^2} = w_{1,1}^2", "correct"),
        (r"\frac{\partial a_1^2}{\partial z_1^2} = a_1^2(1 - a_1^2)", "correct"),
        (r"\frac{\partial z_1^2}{\partial w_{1,1}^1} = x_1^1", "correct"),
        (r"\frac{\partial z_1^2}{\partial w_{1,1}^1} = x_2^1", "incorrect"),
    ]
    for text, verdict in steps:
        assert c.check(text).verdict == verdict, text


# ---------------------------------------------------------------------------------------
# Feedback per kind of mistake


def test_feedback_names_the_missing_factor(checkers):
    r = checkers(LECTURE).check(r"(\hat{y} - y)\,\hat{y}(1 - \hat{y})\, a^{2}_{1}(1 - a^{2}_{1})\, x_1", W111)
    assert r.mistake == "missing_factor"
    assert "missing the factor w^{2}_{1,1}" in r.feedback


def test_feedback_names_the_extra_factor(checkers):
    r = checkers(POWER).check("12 x^3", "x")
    assert r.mistake == "extra_factor" and "extra factor x" in r.feedback


def test_feedback_sign(checkers):
    r = checkers(GENDER).check(r"y - \hat y", "z_2")
    assert r.mistake == "sign" and "sign error" in r.feedback


def test_feedback_missing_one_over_n(checkers):
    r = checkers(LINREG).check(r"-\frac{2}{n} x(y - \hat y)", "w")
    assert r.mistake == "constant_factor" and "1/n = 1/4" in r.feedback


def test_feedback_stray_two_mentions_the_half(checkers):
    r = checkers(LECTURE).check(r"2(\hat y - y)\hat y (1 - \hat y)", "z^{3}_{1}")
    assert r.mistake == "constant_factor" and "stray 2" in r.feedback and "½" in r.feedback


def test_feedback_activation_derivative_missing(checkers):
    r = checkers(LECTURE).check(r"(\hat y - y) a^{2}_{1}", "w^{2}_{1,1}")
    assert r.mistake == "activation_derivative_missing"
    assert "σ′(z^{3}_{1}) = ŷ(1 − ŷ)" in r.feedback and "∂ŷ/∂z^{3}_{1}" in r.feedback and "*" not in r.feedback


def test_feedback_activation_derivative_twice(checkers):
    r = checkers(GENDER).check(r"(\hat y - y)\hat y(1 - \hat y)", "z_2")
    assert r.mistake == "activation_derivative_twice" and "applied twice" in r.feedback


def test_feedback_wrong_index(checkers):
    r = checkers(LECTURE).check(r"(\hat{y} - y)\hat{y}(1 - \hat{y}) w^{2}_{1,2} a^{2}_{1}(1 - a^{2}_{1}) x_1", W111)
    assert r.mistake == "wrong_index"
    assert "you wrote w^{2}_{1,2} where w^{2}_{1,1} belongs" in r.feedback


def test_feedback_missing_path(checkers):
    r = checkers(LECTURE).check(r"(\hat y - y)\hat y(1-\hat y) w^{2}_{1,1} a^{2}_{1}(1-a^{2}_{1}) w^{1}_{1,1}", "x_1")
    assert r.mistake == "missing_path" and "z^{2}_{2}" in r.feedback


def test_feedback_counterexample_gives_both_values(checkers):
    r = checkers(GRAPH).check("x + z", "x")
    assert r.mistake == "counterexample"
    cx = r.counterexample
    point = {k: sympy.Rational(v) for k, v in cx["point"].items()}
    # independent: at the point, the answer is x + z and df/dx = z
    assert sympy.Rational(cx["answer"]) == point["x"] + point["z"]
    assert sympy.Rational(cx["expected"]) == point["z"]
    assert cx["shown"]["answer"] in r.feedback and cx["shown"]["expected"] in r.feedback


def test_feedback_names_the_first_wrong_step(checkers):
    r = checkers(CHAIN).check(r"\frac{dy}{dx} = 2u \cdot 3 = 6u = 6x")
    assert r.verdict == "incorrect"
    assert [s.equal for s in r.steps] == [True, True, False]
    assert r.feedback.startswith("step 3 (6u = 6x) is not an equality")


def test_a_wrong_line_followed_by_a_correct_algebra_step(checkers):
    r = checkers(CHAIN).check(r"\frac{dy}{dx} = 2u \cdot 4 = 8u")
    assert [s.equal for s in r.steps] == [False, True]
    assert r.feedback.startswith("step 1")


# ---------------------------------------------------------------------------------------
# How the verdict was decided


def test_symbolic_and_exact_evaluation_are_both_used(checkers):
    c = checkers(LECTURE)
    node_form = c.check(r"(\hat y - y)\hat y(1 - \hat y)", "z^{3}_{1}")
    exp_form = c.check(r"(\hat y - y)\frac{e^{-z^{3}_{1}}}{(1 + e^{-z^{3}_{1}})^2}", "z^{3}_{1}")
    wrong = c.check(r"(\hat y - y)\hat y", "z^{3}_{1}")
    assert node_form.decided_by == "symbolic (confirmed by exact evaluation at 6 random rational points)"
    assert exp_form.decided_by == "exact evaluation at 6 random rational points"
    assert wrong.decided_by.startswith("exact evaluation: differs")


def test_exact_values_are_rational_where_the_math_is():
    x, y = names.symbol("x"), names.symbol("y")
    point = ExactPoint({x: sympy.Rational(-3, 2), y: sympy.Integer(5)})
    v = point.evaluate((x + y) ** 2 / 4 - sympy.Rational(1, 3) * x * y)
    assert v.q == (sympy.Rational(-3, 2) + 5) ** 2 / 4 - sympy.Rational(1, 3) * sympy.Rational(-3, 2) * 5
    assert v.display() == str(v.q)


def test_exact_point_identities_of_the_activations():
    z = names.symbol("z")
    point = ExactPoint({z: sympy.Integer(2)})
    s = point.evaluate(sigmoid(z))
    assert s.q is None  # σ(2) is not rational
    # σ(2) = e²/(e² + 1) exactly; σ(z)(1 − σ(z)) = e^{−z}/(1 + e^{−z})², and it is not σ(z)²
    assert s.equals(point.evaluate(sympy.exp(2) / (sympy.exp(2) + 1)))
    lhs = point.evaluate(sigmoid(z) * (1 - sigmoid(z)))
    assert lhs.equals(point.evaluate(sympy.exp(-z) / (1 + sympy.exp(-z)) ** 2))
    assert not lhs.equals(point.evaluate(sigmoid(z) ** 2))
    # tanh' = 1 − tanh² = 4 e^{2z}/(e^{2z} + 1)²; log 4 = 2 log 2; exp(log u) = u; log(e^{3}) = 3
    assert point.evaluate(1 - sympy.tanh(z) ** 2).equals(
        point.evaluate(4 * sympy.exp(2 * z) / (sympy.exp(2 * z) + 1) ** 2))
    assert point.evaluate(sympy.log(2 * z)).equals(point.evaluate(2 * sympy.log(z)))
    log_s = point.evaluate(sympy.log(sigmoid(z)))
    assert point.exp(log_s).equals(s) and point.exp(2 * log_s + 1).equals(s * s * point.e)
    assert point.log(point.exp(point.evaluate(sigmoid(z)))).equals(s)
    assert point.evaluate(sympy.log(sympy.exp(z + 1))).q == 3
    # the difference of two different numbers is never mistaken for 0
    assert not point.evaluate(sigmoid(z)).equals(point.evaluate(sigmoid(z + sympy.Rational(1, 10 ** 30))))


def test_exact_point_agrees_with_high_precision_numbers():
    x, y = names.symbol("x"), names.symbol("y")
    point = ExactPoint({x: sympy.Integer(-3), y: sympy.Rational(5, 2)})
    expr = sigmoid(x * y + sigmoid(x)) * sympy.log(1 + sympy.exp(y)) - sympy.tanh(y / 2)
    value = point.evaluate(expr)
    oracle = sympy.N(expr.rewrite(sympy.exp).xreplace({x: -3, y: sympy.Rational(5, 2)}), 60)
    assert abs(sympy.Float(str(value.num), 60) - oracle) < 1e-50


# ---------------------------------------------------------------------------------------
# Hostile answers, determinism, speed


def test_hostile_answer_executes_nothing(checkers):
    marker = "/tmp/symbackprop_pwned_answers"
    if os.path.exists(marker):
        os.remove(marker)
    for text in ["__import__('os').system('touch /tmp/symbackprop_pwned_answers')",
                 "\\frac{\\partial L}{\\partial w^{1}_{1,1}} = __import__('os').system('touch /tmp/symbackprop_pwned_answers')",
                 "eval(\"__import__('os').system('touch /tmp/symbackprop_pwned_answers')\")"]:
        r = checkers(LECTURE).check(text, W111)
        assert r.verdict == "unparseable"
        assert r.error["column"] >= 1
    assert not os.path.exists(marker)


@pytest.mark.parametrize("text", ["x^" * 300 + "x", "(" * 40 + "x" + ")" * 40, "x" * 3000, "2^2^2^2^2", "",
                                  "\\frac{\\partial L}{\\partial x}", "\x00", "((10^30)^64)^64"])
def test_bounded_answers_end_in_a_verdict(checkers, text):
    r = checkers(GRAPH).check(text, "x")
    assert r.verdict in ("unparseable", "incorrect")


def test_unknown_wrt_is_unparseable_and_lists_the_weights_without_suggesting_another(checkers):
    r = checkers(LECTURE).check("x_1", "w^{9}_{1,1}")   # w^{9} is no typo of w^{2}: another layer
    assert r.verdict == "unparseable" and "did you mean" not in r.feedback and r.exit_code == 2
    assert "w^{2}_{1,1}" in r.feedback and "weights" in r.feedback
    r = checkers(LECTURE).check("x_1", r"\hat{yy}")   # a typo gets its suggestion
    assert r.verdict == "unparseable" and "did you mean" in r.feedback


def test_same_answer_same_json(checkers):
    text = r"(\hat{y} - y)\hat{y}(1 - \hat{y}) w^{2}_{1,2} a^{2}_{1}(1 - a^{2}_{1}) x_1"
    first = json.dumps(checkers(LECTURE).check(text, W111).to_json(), sort_keys=True)
    fresh = AnswerChecker(derive(load_spec(SPECS / f"{LECTURE}.toml")))
    assert json.dumps(fresh.check(text, W111).to_json(), sort_keys=True) == first


def test_check_answer_convenience(checkers):
    assert check_answer(checkers(GRAPH), "z", "x").verdict == "correct"
    assert check_answer(checkers(GRAPH).d, "z", "x").exit_code == 0


# ---------------------------------------------------------------------------------------
# The verify command


def _main(argv, capsys):
    from symbackprop.cli.__init__ import main

    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_verify_exit_codes(capsys):
    spec = str(SPECS / f"{LECTURE}.toml")
    code, out, _ = _main(["verify", spec, "--wrt", "w^{2}_{1,1}", "--answer",
                          r"(\hat{y} - y)\hat{y}(1-\hat{y}) a^{2}_{1}"], capsys)
    assert code == 0 and out.startswith("correct")
    code, out, _ = _main(["verify", spec, "--wrt", "w^{2}_{1,1}", "--answer", r"(y - \hat{y})\hat{y}(1-\hat{y}) a^{2}_{1}",
                          "--json"], capsys)
    data = json.loads(out)
    assert code == 1 and data["verdict"] == "incorrect" and data["mistake"] == "sign"
    code, out, _ = _main(["verify", spec, "--wrt", "w^{2}_{1,1}", "--answer", r"(\hat{y} - y", "--json"], capsys)
    data = json.loads(out)
    assert code == 2 and data["verdict"] == "unparseable" and data["error"]["column"] == len(r"(\hat{y} - y") + 1  # just past the end


def test_cli_verify_answer_file_and_stdin(tmp_path, capsys, monkeypatch):
    import io

    spec = str(SPECS / f"{GRAPH}.toml")
    f = tmp_path / "answer.tex"
    f.write_text(r"\frac{\partial f}{\partial z} = x + y" + "\n", encoding="utf-8")
    code, out, _ = _main(["verify", spec, "--answer-file", str(f)], capsys)
    assert code == 0
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"q\n"), encoding="utf-8"))
    code, out, _ = _main(["verify", spec, "--wrt", "x", "--json"], capsys)
    assert code == 1 and json.loads(out)["verdict"] == "incorrect"


def test_cli_verify_bad_spec_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[graph]\nequations = ["f = __import__(1)"]\n', encoding="utf-8")
    code, out, err = _main(["verify", str(bad), "--wrt", "x", "--answer", "1"], capsys)
    assert code == 2 and "Traceback" not in err and err.strip()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.text(alphabet="xyzqf+-*/^_(){}= 0123456789.\\partialfrac", max_size=40))
def test_fuzz_any_answer_ends_in_a_verdict(checkers, text):
    r = checkers(GRAPH).check(text, "x")
    assert r.verdict in ("correct", "incorrect", "unparseable")
    assert r.exit_code in (0, 1, 2)
