r"""A number as an answer (issue 12): compared with the derivative's value at the spec's data and
parameters.  The oracle is the lecture's example worked by hand here in floats (x = [1, 0], every
weight and bias 1, y = 1, ½(y − ŷ)², sigmoid): z² = 2, a² = σ(2), z³ = 2σ(2) + 1, ŷ = σ(z³)."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from symbackprop.verify.answers import checker_for_spec

LECTURE = Path(__file__).resolve().parents[1] / "derivations" / "lecture_2_2_1.toml"


def _sigma(z):
    return 1 / (1 + math.exp(-z))


A2 = _sigma(2)
YHAT = _sigma(2 * A2 + 1)
DW2 = (YHAT - 1) * YHAT * (1 - YHAT) * A2          # ∂L/∂w^{2}_{1,1}
DW1_12 = 0.0                                        # ∂L/∂w^{1}_{1,2} has the factor x_2 = 0


@pytest.fixture(scope="module")
def checker():
    return checker_for_spec(LECTURE)


def test_the_value_at_the_spec_is_the_hand_computed_one(checker):
    assert abs(float(checker.spec_value("L", "w^{2}_{1,1}").num) - DW2) < 1e-15
    assert checker.spec_value("L", "w^{1}_{1,2}").is_zero()


@pytest.mark.parametrize("text", [f"{DW2:.4f}", f"{DW2:.2e}".replace("e-03", r"\cdot 10^{-3}"), f"{DW2:.6f}"])
def test_the_right_number_is_not_yet_the_derivative(checker, text):
    v = checker.check(text, "w^{2}_{1,1}")
    assert (v.verdict, v.mistake) == ("incorrect", "numeric_value"), v.feedback
    assert v.feedback.startswith("right value at the given numbers") and "symbolically" in v.feedback
    assert checker.check(text, "w^{2}_{1,1}", accept_numbers=True).verdict == "correct"


def test_zero_where_an_input_is_zero(checker):
    v = checker.check("0", "w^{1}_{1,2}")
    assert v.mistake == "numeric_value"


@pytest.mark.parametrize("text", ["-0.01", "0.0029", "0", r"\frac{1}{4}"])
def test_a_wrong_number(checker, text):
    v = checker.check(text, "w^{2}_{1,1}")
    assert (v.verdict, v.mistake) == ("incorrect", "wrong_value")
    assert checker.check(text, "w^{2}_{1,1}", accept_numbers=True).verdict == "incorrect"


def test_a_chain_ending_in_the_number(checker):
    right = rf"(\hat{{y}} - y)\hat{{y}}(1-\hat{{y}}) a^{{2}}_{{1}} \approx {DW2:.4f}"
    assert checker.check(right, "w^{2}_{1,1}").verdict == "correct"
    wrong = r"(\hat{y} - y)\hat{y}(1-\hat{y}) a^{2}_{1} = -0.01"
    v = checker.check(wrong, "w^{2}_{1,1}")
    assert (v.verdict, v.mistake) == ("incorrect", "wrong_value")
    assert [s.equal for s in v.steps] == [False]
