r"""Notation the answer grammar reads (issue 12), graded through the verify API on real specs.

Each right answer's truth is decided by an oracle that shares no code with the checker: the loss
written out here with plain SymPy from the spec's TOML (read with tomllib), differentiated with
``sympy.diff`` and compared with the answer's formula, also written out here, at random rational points.
A wrong variant of each answer must be graded incorrect (and the oracle must agree that it is wrong).
"""
import random
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import sympy
from sympy import Rational, exp, log, tanh

from symbackprop.verify.answers import checker_for_spec

ROOT = Path(__file__).resolve().parents[1]
LINREG = ROOT / "derivations" / "linear_regression.toml"
TANH_SOFTMAX = ROOT / "tests" / "data" / "tanh_softmax_3_4_2.toml"


def _data(path):
    return tomllib.loads(path.read_text(encoding="utf-8"))["data"]


def _agree(a, b, rng, symbols, trials=3) -> bool:
    """a == b at random rational points (to 40 significant digits)."""
    for _ in range(trials):
        point = {s: Rational(rng.choice([-1, 1]) * rng.randint(1, 40), rng.randint(3, 17)) for s in symbols}
        u, v = sympy.N(a.xreplace(point), 50), sympy.N(b.xreplace(point), 50)
        if abs(u - v) > Rational(1, 10 ** 40) * max(1, abs(u)):
            return False
    return True


# ---- linear regression: x_i, y_i, \hat{y}_i as example i -------------------------------------

W, B = sympy.symbols("w b", real=True)


def _linreg_oracle():
    """J(w, b) = (1/n) Σ_i (y_i − (w x_i + b))², from the spec's data; its sympy.diff."""
    data = _data(LINREG)
    xs, ys = data["x"], data["y"]
    n = len(xs)
    J = sum((Rational(y) - (W * Rational(x) + B)) ** 2 for x, y in zip(xs, ys)) / n
    return xs, ys, n, sympy.diff(J, W), sympy.diff(J, B)


def _linreg_formula(xs, ys, n, with_x: bool):
    """The answer's formula −(2/n) Σ_i [x_i] (y_i − (w x_i + b)), written out over the data."""
    return -Rational(2, n) * sum((Rational(x) if with_x else 1) * (Rational(y) - (W * Rational(x) + B))
                                 for x, y in zip(xs, ys))


RIGHT_DW = [
    r"\frac{\partial J}{\partial w} = -\frac{2}{n}\sum_i x_i (y_i - (w x_i + b))",
    r"\frac{\partial J}{\partial w} = -\frac{2}{n}\sum_{i=1}^{n} x_{i} (y_{i} - (w x_{i} + b))",
    r"\frac{\partial J}{\partial w} = -\frac{2}{n}\sum_{i=1}^{n} x^{(i)} (y^{(i)} - (w x^{(i)} + b))",
    r"\frac{\partial J}{\partial w} = -\frac{2}{m}\sum_{i=1}^{m} x_i (y_i - \hat{y}_i)",
    r"\frac{\partial J}{\partial w} = \frac{1}{n}\sum_{i=1}^{n} 2 (\hat{y}_i - y_i) x_i",
    r"\frac{\partial J}{\partial w} = -\frac{2}{n}\sum_n x^{(n)} (y^{(n)} - (w x^{(n)} + b))",  # not x to the power n
]
WRONG_DW = [
    r"\frac{\partial J}{\partial w} = -\frac{2}{n}\sum_i (y_i - (w x_i + b))",      # that is ∂J/∂b
    r"\frac{\partial J}{\partial w} = -2\sum_i x_i (y_i - (w x_i + b))",             # n times too large
    r"\frac{\partial J}{\partial w} = \frac{2}{n}\sum_{i=1}^{n} x^{(i)} (y^{(i)} - \hat{y}^{(i)})",  # sign
]


def test_the_oracle_decides_the_linear_regression_answers():
    xs, ys, n, dw, db = _linreg_oracle()
    rng = random.Random(5)
    assert _agree(_linreg_formula(xs, ys, n, True), dw, rng, [W, B])
    assert not _agree(_linreg_formula(xs, ys, n, False), dw, rng, [W, B])
    assert _agree(_linreg_formula(xs, ys, n, False), db, rng, [W, B])
    assert not _agree(n * _linreg_formula(xs, ys, n, True), dw, rng, [W, B])
    assert not _agree(-_linreg_formula(xs, ys, n, True), dw, rng, [W, B])


@pytest.mark.parametrize("text", RIGHT_DW)
def test_example_i_inside_a_sum_over_the_examples_is_read(text):
    v = checker_for_spec(LINREG).check(text)
    assert v.verdict == "correct", v.feedback


@pytest.mark.parametrize("text", WRONG_DW)
def test_wrong_sums_over_the_examples_are_graded_wrong(text):
    v = checker_for_spec(LINREG).check(text)
    assert v.verdict == "incorrect", v.feedback


def test_example_i_for_the_bias():
    v = checker_for_spec(LINREG).check(r"\frac{\partial J}{\partial b} = -\frac{2}{n}\sum_i (y_i - \hat{y}_i)")
    assert v.verdict == "correct", v.feedback


def test_example_i_through_the_command_line():
    run = subprocess.run([sys.executable, "-m", "symbackprop", "verify", str(LINREG), "--answer",
                          r"\frac{\partial J}{\partial w} = -\frac{2}{n}\sum_i x_i (y_i - (w x_i + b))"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0 and run.stdout.startswith("correct"), run.stdout + run.stderr


# ---- a two-example tanh/softmax network: \frac{1}{n}\sum_{i=1}^{n} ------------------------------


def _softmax_net(x, weights):
    """ŷ and a² of the 3-4-2 tanh/softmax network, written out (the lectures' w^{l}_{j,k}, b^{l}_{j})."""
    a = [tanh(sum(weights[f"w^{{1}}_{{{j},{k}}}"] * x[k - 1] for k in range(1, 4)) + weights[f"b^{{1}}_{{{j}}}"])
         for j in range(1, 5)]
    z = [sum(weights[f"w^{{2}}_{{{j},{k}}}"] * a[k - 1] for k in range(1, 5)) + weights[f"b^{{2}}_{{{j}}}"]
         for j in range(1, 3)]
    den = sum(exp(zj) for zj in z)
    return [exp(zj) / den for zj in z], a


def test_one_over_n_sum_to_n_on_a_two_example_spec():
    data = _data(TANH_SOFTMAX)
    names = [f"w^{{1}}_{{{j},{k}}}" for j in range(1, 5) for k in range(1, 4)] + [f"b^{{1}}_{{{j}}}" for j in range(1, 5)]
    names += [f"w^{{2}}_{{{j},{k}}}" for j in range(1, 3) for k in range(1, 5)] + [f"b^{{2}}_{{{j}}}" for j in range(1, 3)]
    weights = {n: sympy.Symbol(n, real=True) for n in names}
    examples = [([Rational(str(v)) for v in x], [Rational(v) for v in y]) for x, y in zip(data["x"], data["y"])]
    n = len(examples)
    J = sum(-sum(yk * log(ak) for yk, ak in zip(y, _softmax_net(x, weights)[0])) for x, y in examples) / n
    truth = sympy.diff(J, weights["w^{2}_{1,1}"])
    right = sum((_softmax_net(x, weights)[0][0] - y[0]) * _softmax_net(x, weights)[1][0] for x, y in examples) / n
    rng = random.Random(11)
    assert _agree(right, truth, rng, list(weights.values()))
    assert not _agree(n * right, truth, rng, list(weights.values()))

    checker = checker_for_spec(TANH_SOFTMAX)
    for text in (r"\frac{\partial J}{\partial w^{2}_{1,1}} = \frac{1}{n}\sum_{i=1}^{n} (\hat y_1 - y_1) a^{2}_{1}",
                 r"\frac{\partial J}{\partial w^{2}_{1,1}} = \frac{1}{n}\sum_{e} (\hat y_1 - y_1) a^{2}_{1}",
                 r"\frac{\partial J}{\partial w^{2}_{1,1}} = \frac{1}{m}\sum_{i=1}^{m} (\hat y_1^{(i)} - y_1^{(i)}) a^{2}_{1}"):
        v = checker.check(text)
        assert v.verdict == "correct", (text, v.feedback)
    v = checker.check(r"\frac{\partial J}{\partial w^{2}_{1,1}} = \sum_{i=1}^{n} (\hat y_1 - y_1) a^{2}_{1}")
    assert v.verdict == "incorrect", v.feedback
    # the per-example ∂L is not the mean over the examples
    v = checker.check(r"\frac{1}{n}\sum_{i=1}^{n} (\hat y_1 - y_1) a^{2}_{1}", "w^{2}_{1,1}")
    assert v.verdict == "incorrect", v.feedback


@pytest.mark.parametrize("text,letter", [
    (r"\frac{\partial J}{\partial w^{1}_{1,1}} = \frac{1}{n}\sum_{i} x_i", "x"),
    (r"\frac{\partial J}{\partial w^{2}_{1,1}} = \frac{1}{n}\sum_{i=1}^{n} (\hat{y}_i - y_1) a^{2}_{1}", r"\hat{y}"),
])
def test_x_i_with_several_inputs_is_refused_as_ambiguous(text, letter):
    v = checker_for_spec(TANH_SOFTMAX).check(text)
    assert v.verdict == "unparseable"
    first = v.feedback.splitlines()[0]
    assert "ambiguous" in first and f"several {letter} " in first and "did you mean" not in first, first


# ---- the lecture network and a ReLU network: oracles written out by hand ------------------------

from test_oracles import expanded_loss  # noqa: E402  (plain SymPy from the lecture formulas)

from symbackprop.spec.names import symbol  # noqa: E402

LECTURE = ROOT / "derivations" / "lecture_2_2_1.toml"
RELU = ROOT / "tests" / "data" / "relu_2_3_3_1.toml"


def _forward(layers, act, point=None):
    """a[l][j] (layer l = 1 is the input) of a network written out by hand, symbols by the lectures' names."""
    a = {1: [symbol(f"x_{{{j}}}") for j in range(1, layers[0] + 1)]}
    z = {}
    for l in range(1, len(layers)):
        z[l + 1] = [sum(symbol(f"w^{{{l}}}_{{{j},{k}}}") * a[l][k - 1] for k in range(1, layers[l - 1] + 1))
                    + symbol(f"b^{{{l}}}_{{{j}}}") for j in range(1, layers[l] + 1)]
        a[l + 1] = [act[l - 1](zj) for zj in z[l + 1]]
    return a, z


SIG = lambda t: 1 / (1 + exp(-t))  # noqa: E731
RELU_F = lambda t: sympy.Piecewise((t, t > 0), (0, True))  # noqa: E731
HEAVISIDE = lambda t: sympy.Piecewise((1, t > 0), (0, True))  # noqa: E731


def _lecture_truth(wrt):
    full = expanded_loss([2, 2, 1], ["sigmoid", "sigmoid"], "half_squared_error")
    return full, sympy.diff(full, symbol(wrt))


def _relu_truth(wrt):
    full = expanded_loss([2, 3, 3, 1], ["relu", "relu", "identity"], "half_squared_error")
    return full, sympy.diff(full, symbol(wrt))


def _exact_agree(a, b, symbols, rng, trials=8):
    for _ in range(trials):
        point = {s: Rational(rng.choice([-1, 1]) * rng.randint(1, 40), rng.randint(3, 17)) for s in symbols}
        if sympy.simplify(a.xreplace(point) - b.xreplace(point)) != 0:
            return False
    return True


def test_the_oracles_of_the_relu_and_lecture_answers():
    rng = random.Random(3)
    full, truth = _relu_truth("w^{2}_{1,1}")
    a, z = _forward([2, 3, 3, 1], [RELU_F, RELU_F, lambda t: t])
    y = symbol("y_{1}")
    right = (a[4][0] - y) * symbol("w^{3}_{1,1}") * HEAVISIDE(z[3][0]) * a[2][0]
    syms = sorted(full.free_symbols, key=str)
    assert _exact_agree(right, truth, syms, rng)
    assert not _exact_agree((a[4][0] - y) * symbol("w^{3}_{1,1}") * HEAVISIDE(-z[3][0]) * a[2][0], truth, syms, rng)
    assert not _exact_agree((a[4][0] - y) * symbol("w^{3}_{1,1}") * a[2][0], truth, syms, rng)

    full, truth = _lecture_truth("w^{1}_{1,1}")
    a, z = _forward([2, 2, 1], [SIG, SIG])
    yhat, y = a[3][0], symbol("y_{1}")
    right = (yhat - y) * yhat * (1 - yhat) * symbol("w^{2}_{1,1}") * a[2][0] * (1 - a[2][0]) * symbol("x_{1}")
    syms = sorted(full.free_symbols, key=str)
    assert _agree(right, truth, rng, syms)
    wrong = (yhat - y) * yhat * (1 - yhat) * symbol("w^{2}_{1,2}") * a[2][0] * (1 - a[2][0]) * symbol("x_{1}")
    assert not _agree(wrong, truth, rng, syms)


RELU_PRIME = [r"\mathbb{1}[z^{3}_{1} > 0]", r"\mathbb{1}\left[z^{3}_{1} > 0\right]", r"\mathbb{1}_{z^{3}_{1}>0}",
              r"\mathbf{1}_{z^{3}_{1} > 0}", r"[z^{3}_{1} > 0]", r"[0 < z^{3}_{1}]", r"1[z^{3}_{1} > 0]",
              r"\mathbb{1}\{z^{3}_{1} > 0\}", r"step(z^{3}_{1})", r"H(z^{3}_{1})", r"\operatorname{step}(z^{3}_{1})",
              r"\operatorname{relu}'(z^{3}_{1})"]


@pytest.mark.parametrize("factor", RELU_PRIME)
def test_relu_prime_as_the_courses_write_it(factor):
    v = checker_for_spec(RELU).check(rf"(\hat{{y}} - y) w^{{3}}_{{1,1}} {factor} a^{{2}}_{{1}}", "w^{2}_{1,1}")
    assert v.verdict == "correct", v.feedback


@pytest.mark.parametrize("factor", [r"\mathbb{1}[z^{3}_{1} < 0]", r"[-z^{3}_{1} > 0]", r"H(-z^{3}_{1})", "1"])
def test_wrong_relu_primes_are_graded_wrong(factor):
    v = checker_for_spec(RELU).check(rf"(\hat{{y}} - y) w^{{3}}_{{1,1}} {factor} a^{{2}}_{{1}}", "w^{2}_{1,1}")
    assert v.verdict == "incorrect", v.feedback


def test_our_own_printed_relu_prime_reads_back():
    checker = checker_for_spec(RELU)
    for wrt in ("w^{2}_{1,1}", "w^{1}_{1,1}"):
        expected = checker.check("0", wrt).expected
        assert r"\mathbb{1}" in expected
        v = checker.check(expected, wrt)
        assert v.verdict == "correct", (expected, v.feedback)


def test_a_comparison_outside_an_indicator_is_one_clear_error():
    v = checker_for_spec(RELU).check(r"z^{3}_{1} > 0", "w^{2}_{1,1}")
    assert v.verdict == "unparseable" and "only read inside an indicator" in v.feedback.splitlines()[0]


LECTURE_RIGHT = r"(\hat{y} - y)\hat{y}(1-\hat{y}) a^{2}_{1}"


@pytest.mark.parametrize("text", [
    LECTURE_RIGHT + r" \quad \text{by the chain rule}",
    LECTURE_RIGHT + r" \text{(chain rule)}",
    LECTURE_RIGHT + r" \; (\text{chain rule})",
    r"(\hat{y} - y) \text{(chain rule)} \hat{y}(1-\hat{y}) a^{2}_{1}",
    r"\frac{\partial L}{\partial w^{2}_{1,1}} \text{(chain rule)} = " + LECTURE_RIGHT,
    r"\frac{\partial L}{\partial w^{2}_{1,1}} = " + LECTURE_RIGHT + r", \quad",
])
def test_annotations_are_ignored(text):
    v = checker_for_spec(LECTURE).check(text, None if text.startswith(r"\frac") else "w^{2}_{1,1}")
    assert v.verdict == "correct", v.feedback


@pytest.mark.parametrize("text", [r"\text{hello} " + LECTURE_RIGHT, r"(\hat{y} - y)\hat{y}(1-\hat{y}) \text{hello} a^{2}_{1}",
                                  r"\text{hello} a^{2}_{1}"])
def test_text_inside_a_product_is_a_parse_error_naming_it(text):
    v = checker_for_spec(LECTURE).check(text, "w^{2}_{1,1}")
    assert v.verdict == "unparseable"
    first = v.feedback.splitlines()[0]
    assert first.startswith(r"\text{hello} inside the expression") and "annotation" in first, first


def test_text_that_hides_a_missing_factor_is_not_a_right_answer():
    """\\text{...} at the end is dropped: what is left must be graded on its own."""
    v = checker_for_spec(LECTURE).check(r"(\hat{y} - y)\hat{y}(1-\hat{y}) \text{times a}", "w^{2}_{1,1}")
    assert v.verdict == "incorrect"


@pytest.mark.parametrize("text", [
    LECTURE_RIGHT.replace("a^{2}_{1}", "") + r" W^{(2)}_{11} a^{2}_{1}(1 - a^{2}_{1}) x_1",
    LECTURE_RIGHT.replace("a^{2}_{1}", "") + r" W^{[2]}_{11} a^{[1]}_{1}(1 - a^{[1]}_{1}) x_1",
    LECTURE_RIGHT.replace("a^{2}_{1}", "") + r" W_{11}^{(2)} a^{(2)}_{1}(1 - a^{(2)}_{1}) x_1",
    LECTURE_RIGHT.replace("a^{2}_{1}", "") + r" \Theta^{(2)}_{11} a^{(2)}_{1}(1 - a^{(2)}_{1}) x_1",
    r"\delta^{(3)} w^{2}_{1,1} a^{2}_{1}(1 - a^{2}_{1}) x_1",          # a one-unit layer's δ
    r"dz^{[2]}_{1} W^{[2]}_{11} a^{[1]}_{1}(1 - a^{[1]}_{1}) x_1",      # Ng's dz^{[l]} = ∂L/∂z
    r"dz^{[1]}_{1} x_1",
    r"\delta^{3}_{1} w^{3-1}_{1,1} a^{3-1}_{1}(1 - a^{2}_{1}) x_1",   # index arithmetic
])
def test_upper_case_weights_and_other_courses_deltas(text):
    v = checker_for_spec(LECTURE).check(text, "w^{1}_{1,1}")
    assert v.verdict == "correct", (text, v.feedback)


@pytest.mark.parametrize("text", [
    LECTURE_RIGHT.replace("a^{2}_{1}", "") + r" W^{(2)}_{12} a^{2}_{1}(1 - a^{2}_{1}) x_1",   # the other weight
    r"dz^{[1]}_{2} x_1",                                                                        # the other unit
    r"dz^{[2]}_{1} W^{[2]}_{11} a^{[1]}_{1}(1 - a^{[1]}_{1}) x_2",
])
def test_wrong_upper_case_weights_and_deltas_are_graded_wrong(text):
    v = checker_for_spec(LECTURE).check(text, "w^{1}_{1,1}")
    assert v.verdict == "incorrect", (text, v.feedback)


def test_nielsens_sum_over_the_training_inputs():
    text = r"\frac{\partial C}{\partial w^{2}_{1,1}} = \frac{1}{n}\sum_x " + LECTURE_RIGHT
    assert checker_for_spec(LECTURE).check(text).verdict == "correct"


@pytest.mark.parametrize("text,must_not", [
    (r"q^{2}_{1}", "z^{2}_{1}"), (r"c^{3}_{1}", "a^{3}_{1}"), (r"dq^{2}_{1}", "z^{2}_{1}"), (r"v_{1}", "y_{1}"),
])
def test_unknown_names_never_suggest_another_letter(text, must_not):
    v = checker_for_spec(LECTURE).check(text, "w^{2}_{1,1}")
    assert v.verdict == "unparseable" and must_not not in v.feedback and "did you mean" not in v.feedback, v.feedback


def test_a_sum_with_inferred_bounds_that_never_ends_is_an_error():
    v = checker_for_spec(LECTURE).check(r"\sum_j a^{2}_{1}", "w^{2}_{1,1}")
    assert v.verdict == "unparseable" and "give its bounds" in v.feedback, v.feedback


@pytest.mark.parametrize("text", [
    LECTURE_RIGHT.replace("a^{2}_{1}", "a_{1}^{[1]}"),          # a bracketed layer after the subscript
    LECTURE_RIGHT.replace("a^{2}_{1}", r"\delta_1^{[2]}").replace(r"(\hat{y} - y)\hat{y}(1-\hat{y})", "") + " a_1^{[1]}",
    r"\frac12 \cdot 2 " + LECTURE_RIGHT,
    r"\frac{\partial L}{\partial w^{2}_{1,1}} = " + LECTURE_RIGHT + r" \approx -2.93e-3",
    r"\frac{\partial L}{\partial w^{2}_{1,1}} = " + LECTURE_RIGHT + r" \approx -2.927 \times 10^{-3}",
    "\\begin{aligned}\\frac{\\partial L}{\\partial w^{2}_{1,1}} &= " + LECTURE_RIGHT + " \\\\\n &\\approx -0.0029.\\end{aligned}",
    r"\boldsymbol{\delta}^{3}_{1} a^{2}_{1}",
])
def test_more_course_notation_on_the_lecture_network(text):
    v = checker_for_spec(LECTURE).check(text, None if "partial L" in text else "w^{2}_{1,1}")
    assert v.verdict == "correct", (text, v.feedback)


def test_the_oracle_of_the_numbers_and_the_wrong_bracketed_reading():
    """The lecture's ∂L/∂w^{2}_{1,1} at its data (x = (1, 0), y = 1, every weight and bias 1) is −0.0029...,
    and a_{1}^{[1]} is a^{2}_{1}: read as the lectures' a^{1}_{1} (= x_1 = 1) the answer is wrong."""
    full, truth = _lecture_truth("w^{2}_{1,1}")
    data = {symbol("x_{1}"): 1, symbol("x_{2}"): 0, symbol("y_{1}"): 1}
    ones = {s: 1 for s in full.free_symbols if s not in data}
    value = sympy.N(truth.xreplace({**data, **ones}), 30)
    assert abs(value - Rational(-2927, 10 ** 6)) < Rational(1, 10 ** 6) and abs(value - Rational(-29, 10 ** 4)) < Rational(1, 10 ** 4)
    v = checker_for_spec(LECTURE).check(r"\frac{\partial L}{\partial w^{2}_{1,1}} = " + LECTURE_RIGHT + r" \approx 2.93e-3")
    assert v.verdict == "incorrect"
    v = checker_for_spec(LECTURE).check(LECTURE_RIGHT.replace("a^{2}_{1}", "x_1"), "w^{2}_{1,1}")
    assert v.verdict == "incorrect"   # what a_{1}^{[1]} was misread as


def test_two_letter_indices_inside_a_sum():
    v = checker_for_spec(LECTURE).check(r"\sum_{k=1}^{1} \delta^{3}_{k} w^{2}_{k1} a^{2}_{1}(1-a^{2}_{1}) x_{1}", "w^{1}_{1,1}")
    assert v.verdict == "correct", v.feedback
    v = checker_for_spec(LECTURE).check(r"\sum_{k=1}^{1} \delta^{3}_{k} w^{2}_{k2} a^{2}_{1}(1-a^{2}_{1}) x_{1}", "w^{1}_{1,1}")
    assert v.verdict == "incorrect", v.feedback


@pytest.mark.parametrize("text,bad", [("2.9e-3 e", "'E'"), ("x^{0}_{1}", "x^{2}_{i}"), ("e_{1}", "'E'")])
def test_suggestions_are_never_another_quantity(text, bad):
    v = checker_for_spec(LECTURE).check(text, "w^{2}_{1,1}")
    assert bad not in v.feedback, v.feedback


def test_the_output_layer_L_in_a_layer_superscript():
    checker = checker_for_spec(LECTURE)
    assert checker.check(r"\delta^{L}_{1} a^{L-1}_{1}", "w^{2}_{1,1}").verdict == "correct"
    assert checker.check(r"\delta^{L}_{1} a^{L-1}_{2}", "w^{2}_{1,1}").verdict == "incorrect"
    assert checker.check(r"\delta^{L}_{1}", "b^{2}_{1}").verdict == "correct"
    # w^{L-1} is w^{2} in the lectures' convention but w^{1} in Nielsen's (w^{l} into layer l): not read
    assert checker.check(r"\delta^{L}_{1} w^{L-1}_{1,1} \sigma'(z^{2}_{1}) x_1", "w^{1}_{1,1}").verdict == "unparseable"


def test_frac12_in_matrix_answers_too():
    v = checker_for_spec(ROOT / "derivations" / "gender.toml").check(r"\frac12 \cdot 2\, a_1^T dz_2", "dW_2")
    assert v.verdict == "correct", v.feedback
    v = checker_for_spec(ROOT / "derivations" / "gender.toml").check(r"\frac12 a_1^T dz_2", "dW_2")
    assert v.verdict == "incorrect", v.feedback


@pytest.mark.parametrize("unit", [r"\text{a}", r"\text{a}x", r"\text{", r"(\text{a})", r"\text{(a)}", r"\frac12"])
def test_hostile_annotations_are_read_in_linear_time(unit):
    import time

    from symbackprop.grammar.notation import normalize

    text = unit * (7900 // len(unit))
    start = time.process_time()
    normalize(text)
    normalize(text, matrix=True)
    assert time.process_time() - start < 2.0   # was minutes (a quadratic scan per \text) before
    v = checker_for_spec(LECTURE).check(unit * (100_000 // len(unit)), "w^{2}_{1,1}")
    assert v.verdict == "unparseable" and "characters long" in v.feedback
