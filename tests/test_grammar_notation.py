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
