r"""Feedback that names the mistake (issue 12): each wrong answer below is a likely mistake, and the
checker must say which one.

The oracle shares no code with the checker: the network's loss is written out here by hand as one
SymPy expression of its inputs, targets and parameters (``_network``), differentiated with
``sympy.diff`` and evaluated at random points in 40-digit floats.  For every case it confirms that
the answer is wrong, and that the answer *is* the named mistake (the same expression with the
mistake undone equals ``sympy.diff`` of the loss), so the test fails if the checker names the wrong
mistake or the case is not what it claims.
"""
from __future__ import annotations

import random
from fractions import Fraction
from pathlib import Path

import pytest
import sympy

from symbackprop.derivation.chain_rule import derive
from symbackprop.spec.load import load_spec
from symbackprop.verify.answers import FRIENDLY, AnswerChecker, checker_for_spec

ROOT = Path(__file__).resolve().parents[1]
LECTURE = ROOT / "derivations" / "lecture_2_2_1.toml"
RELU = ROOT / "tests" / "data" / "relu_2_3_3_1.toml"
SOFTMAX = ROOT / "tests" / "data" / "tanh_softmax_3_4_2.toml"
LINREG = ROOT / "derivations" / "linear_regression.toml"
BIG = ROOT / "tests" / "data" / "sigmoid_20_32_32_1.toml"

S = sympy.Symbol


def _sigmoid(z):
    return 1 / (1 + sympy.exp(-z))


ACT = {"sigmoid": _sigmoid, "tanh": sympy.tanh, "relu": lambda z: sympy.Max(0, z), "identity": lambda z: z}


def _network(layers, acts, loss):
    """(L, nodes): the per-example loss and every node (z^{l}_{i}, a^{l}_{i}, ŷ_k) as expressions of
    the leaves, written from the lectures' definitions: z^{l+1}_i = Σ_j w^{l}_{i,j} a^{l}_j + b^{l}_i."""
    a = [S(f"x_{{{j}}}") for j in range(1, layers[0] + 1)]
    nodes = {}
    for k in range(1, len(layers)):
        z = [sum(S(f"w^{{{k}}}_{{{i},{j}}}") * a[j - 1] for j in range(1, layers[k - 1] + 1)) + S(f"b^{{{k}}}_{{{i}}}")
             for i in range(1, layers[k] + 1)]
        if acts[k - 1] == "softmax":
            total = sum(sympy.exp(t) for t in z)
            a = [sympy.exp(t) / total for t in z]
        else:
            a = [ACT[acts[k - 1]](t) for t in z]
        for i, (zi, ai) in enumerate(zip(z, a), start=1):
            nodes[f"z^{{{k + 1}}}_{{{i}}}"], nodes[f"a^{{{k + 1}}}_{{{i}}}"] = zi, ai
    y = [S(f"y_{{{k}}}") for k in range(1, len(a) + 1)]
    for k, ak in enumerate(a, start=1):
        nodes[f"yhat_{k}"] = ak
    if loss == "half_squared_error":
        L = sum((t - o) ** 2 for t, o in zip(y, a)) / 2
    elif loss == "cross_entropy":
        L = -sum(t * sympy.log(o) for t, o in zip(y, a))
    else:
        raise AssertionError(loss)
    return L, nodes


def _leaves(expr):
    return sorted(expr.free_symbols, key=lambda s: s.name)


def _values(rng, symbols, targets_sum_to_one=False):
    v = {s: sympy.Rational(rng.randint(-40, 40), rng.choice((7, 11, 13))) for s in symbols}
    ys = [s for s in symbols if s.name.startswith("y_")]
    if targets_sum_to_one and ys:
        w = [rng.randint(1, 5) for _ in ys]
        v.update({s: sympy.Rational(wi, sum(w)) for s, wi in zip(ys, w)})
    return v


def _agree(f, g, leaves, *, n=5, seed=0, softmax=False):
    """f and g (expressions of the leaves) equal at n random points (40 digits)."""
    rng = random.Random(seed)
    for _ in range(n):
        point = _values(rng, leaves, softmax)
        a, b = sympy.N(f.xreplace(point), 40), sympy.N(g.xreplace(point), 40)
        if abs(a - b) > 1e-25 * (1 + abs(b)):
            return False
    return True


@pytest.fixture(scope="module")
def lecture():
    L, nodes = _network([2, 2, 1], ["sigmoid", "sigmoid"], "half_squared_error")
    return checker_for_spec(LECTURE), L, nodes


def _lecture_names(nodes):
    """The lecture's spellings as expressions of the leaves: ŷ, y, a^{2}_{j}, z^{2}_{j}."""
    return {"yhat": nodes["yhat_1"], "y": S("y_{1}"), "a1": nodes["a^{2}_{1}"], "a2": nodes["a^{2}_{2}"],
            "z1": nodes["z^{2}_{1}"], "z2": nodes["z^{2}_{2}"]}


def _s(name):
    return S(name)


# (wrt, answer LaTeX, the same answer as an expression (from the names), the answer with the
#  mistake undone (must equal sympy.diff), mistake, words the feedback must contain)
def _lecture_cases(n):
    yh, y, a1, a2, z1, z2 = n["yhat"], n["y"], n["a1"], n["a2"], n["z1"], n["z2"]
    w211, w212, x1, x2 = _s("w^{2}_{1,1}"), _s("w^{2}_{1,2}"), _s("x_{1}"), _s("x_{2}")
    out = (yh - y) * yh * (1 - yh)
    return [
        ("w^{1}_{1,2}", r"(\hat{y} - y)\hat{y}(1 - \hat{y}) w^{2}_{1,2} a^{2}_{2}(1 - a^{2}_{2}) x_1",
         out * w212 * a2 * (1 - a2) * x1, out * w211 * a1 * (1 - a1) * x2,
         "transposed_indices", ["∂L/∂w^{1}_{2,1}", "the first index is the unit it leads to"]),
        ("w^{1}_{1,2}", r"(\hat{y} - y)\hat{y}(1 - \hat{y}) w^{2}_{1,1} \sigma(a^{2}_{1})(1 - \sigma(a^{2}_{1})) x_2",
         out * w211 * _sigmoid(a1) * (1 - _sigmoid(a1)) * x2, out * w211 * a1 * (1 - a1) * x2,
         "activation_derivative_at_a", ["taken at a^{2}_{1} instead of z^{2}_{1}", "σ′(z^{2}_{1}) = a^{2}_{1}(1 − a^{2}_{1})"]),
        ("w^{1}_{1,2}", r"(\hat{y} - y)\hat{y}(1 - \hat{y}) w^{2}_{1,1} z^{2}_{1}(1 - z^{2}_{1}) x_2",
         out * w211 * z1 * (1 - z1) * x2, out * w211 * a1 * (1 - a1) * x2,
         "activation_derivative_in_z", ["z^{2}_{1}(1 − z^{2}_{1})", "σ′(z) = a(1 − a)"]),
        ("w^{1}_{1,2}", r"(\hat{y} - y)\hat{y}(1 - \hat{y}) w^{2}_{1,1} a^{2}_{1} x_2",
         out * w211 * a1 * x2, out * w211 * a1 * (1 - a1) * x2,
         "activation_derivative_incomplete", ["without 1 − a^{2}_{1}"]),
        ("w^{1}_{1,2}", r"(\hat{y} - y)\hat{y}(1 - \hat{y})(w^{2}_{1,1} a^{2}_{1}(1 - a^{2}_{1}) + "
                        r"w^{2}_{1,2} a^{2}_{2}(1 - a^{2}_{2})) x_2",
         out * (w211 * a1 * (1 - a1) + w212 * a2 * (1 - a2)) * x2, out * w211 * a1 * (1 - a1) * x2,
         "extra_path", ["an extra path", "z^{2}_{2}"]),
        ("w^{1}_{1,1}", r"(\hat{y} - y)\hat{y}(1 - \hat{y}) w^{2}_{1,2} a^{2}_{2}(1 - a^{2}_{2}) x_2",
         out * w212 * a2 * (1 - a2) * x2, out * w211 * a1 * (1 - a1) * x1,
         "wrong_parameter", ["∂L/∂w^{1}_{2,2}"]),
        ("w^{2}_{1,1}", r"(\hat{y} - y)\hat{y}(1 - \hat{y}) x_1",
         out * x1, out * a1, "wrong_factor", ["you wrote x_{1} where a^{2}_{1} belongs"]),
        ("w^{2}_{1,1}", r"(\hat{y} - y)\hat{y}(1 - \hat{y}) w^{2}_{1,1}",
         out * w211, out * a1, "wrong_factor", ["you wrote w^{2}_{1,1} where a^{2}_{1} belongs"]),
        # two paths from x_1; σ′(z^{2}_{1}) dropped on the first one only
        ("x_1", r"(\hat{y} - y)\hat{y}(1 - \hat{y})(w^{2}_{1,1} w^{1}_{1,1} + w^{2}_{1,2} a^{2}_{2}(1 - a^{2}_{2}) w^{1}_{2,1})",
         out * (w211 * _s("w^{1}_{1,1}") + w212 * a2 * (1 - a2) * _s("w^{1}_{2,1}")),
         out * (w211 * a1 * (1 - a1) * _s("w^{1}_{1,1}") + w212 * a2 * (1 - a2) * _s("w^{1}_{2,1}")),
         "activation_derivative_missing", ["σ′(z^{2}_{1}) = a^{2}_{1}(1 − a^{2}_{1})"]),
    ]


@pytest.mark.parametrize("k", range(9))
def test_the_likely_mistakes_of_the_lecture_network_are_named(lecture, k):
    checker, L, nodes = lecture
    wrt, latex, answer, undone, mistake, words = _lecture_cases(_lecture_names(nodes))[k]
    oracle = sympy.diff(L, S(wrt if wrt != "x_1" else "x_{1}"))
    leaves = _leaves(L)
    assert not _agree(answer, oracle, leaves), "the case must be a wrong answer"
    assert _agree(undone, oracle, leaves), "undoing the named mistake must give sympy.diff of the loss"
    v = checker.check(latex, wrt=wrt)
    assert v.verdict == "incorrect" and v.mistake == mistake, (v.mistake, v.feedback)
    for w in words:
        assert w in v.feedback, v.feedback
    assert "**" not in v.feedback and "*" not in v.feedback
    if mistake.startswith("activation_derivative"):       # the web typesets the named derivative
        assert ("σ′(z^{2}_{1}) = a^{2}_{1}(1 − a^{2}_{1})", r"\sigma'(z^{2}_{1}) = a^{2}_{1}(1 - a^{2}_{1})") in v.math


def test_a_missing_relu_derivative_is_named_not_a_factor_one(tmp_path):
    """ReLU′ = 1[z > 0] is 1 wherever the unit is active: the answer is "1 times" the gradient there
    and differs only where the unit is off. The feedback names the missing factor."""
    L, nodes = _network([2, 3, 3, 1], ["relu", "relu", "identity"], "half_squared_error")
    a21, w311, yh, y = nodes["a^{2}_{1}"], S("w^{3}_{1,1}"), nodes["yhat_1"], S("y_{1}")
    answer = a21 * w311 * (yh - y)
    oracle = sympy.diff(L, S("w^{2}_{1,1}"))
    leaves = _leaves(L)
    assert not _agree(answer, oracle, leaves, n=12)
    assert _agree(answer * sympy.Heaviside(nodes["z^{3}_{1}"], 0), oracle, leaves, n=12)
    v = checker_for_spec(RELU).check(r"a^{2}_{1} w^{3}_{1,1}(\hat{y} - y)", wrt="w^{2}_{1,1}")
    assert v.verdict == "incorrect" and v.mistake == "activation_derivative_missing", v.feedback
    assert "ReLU′(z^{3}_{1}) = 1[z^{3}_{1} > 0]" in v.feedback and "times" not in v.feedback


def test_a_wrong_tanh_derivative_names_the_registry_form(tmp_path):
    spec = tmp_path / "tanh.toml"
    spec.write_text(LECTURE.read_text().replace('activations = ["sigmoid", "sigmoid"]',
                                                 'activations = ["tanh", "sigmoid"]'))
    L, nodes = _network([2, 2, 1], ["tanh", "sigmoid"], "half_squared_error")
    yh, y, a1 = nodes["yhat_1"], S("y_{1}"), nodes["a^{2}_{1}"]
    out = (yh - y) * yh * (1 - yh) * S("w^{2}_{1,1}") * S("x_{1}")
    oracle = sympy.diff(L, S("w^{1}_{1,1}"))
    leaves = _leaves(L)
    assert not _agree(out * a1 * (1 - a1), oracle, leaves)
    assert _agree(out * (1 - a1 ** 2), oracle, leaves)
    v = checker_for_spec(spec).check(r"(\hat{y} - y)\hat{y}(1 - \hat{y}) w^{2}_{1,1} a^{2}_{1}(1 - a^{2}_{1}) x_1",
                                     wrt="w^{1}_{1,1}")
    assert v.mistake == "wrong_activation_derivative", v.feedback
    assert "tanh′(z) = 1 − a²" in v.feedback and "σ′" in v.feedback


def test_a_softmax_factor_prints_in_the_lectures_order():
    """∂ŷ_1/∂z^{3}_{1} = ŷ_1(1 − ŷ_1), never SymPy's ŷ_1 − ŷ_1² or −ŷ_1² + ŷ_1."""
    L, nodes = _network([3, 4, 2], ["tanh", "softmax"], "cross_entropy")
    z = [S("z1"), S("z2")]
    total = sympy.exp(z[0]) + sympy.exp(z[1])
    yh = [sympy.exp(t) / total for t in z]
    y = [S("y_{1}"), S("y_{2}")]
    loss = -(y[0] * sympy.log(yh[0]) + y[1] * sympy.log(yh[1]))
    oracle = sympy.diff(loss, z[0])
    dropped = -y[0] / yh[0] + (-y[1] / yh[1]) * (-yh[0] * yh[1])     # ∂ŷ_1/∂z_1 left out
    undone = -y[0] / yh[0] * yh[0] * (1 - yh[0]) + (-y[1] / yh[1]) * (-yh[0] * yh[1])
    assert not _agree(dropped, oracle, [*z, *y], softmax=True) and _agree(undone, oracle, [*z, *y], softmax=True)
    v = checker_for_spec(SOFTMAX).check(r"-\frac{y_1}{\hat{y}_1} + \frac{y_2}{\hat{y}_2}\hat{y}_1 \hat{y}_2",
                                        wrt="z^{3}_{1}")
    assert v.mistake == "missing_factor", v.feedback
    assert "ŷ_1(1 − ŷ_1)" in v.feedback and "ŷ_1²" not in v.feedback


def test_greek_names_print_as_letters(tmp_path):
    spec = tmp_path / "greek.toml"
    spec.write_text('title = "Greek"\n[graph]\nequations = ["q = lambda * x + theta", "L = q^2"]\n'
                    'parameters = ["lambda", "theta"]\n')
    lam, theta, x = S("lambda"), S("theta"), S("x")
    checker = checker_for_spec(spec)
    v = checker.check("x", wrt=r"\lambda")               # 2q missing: ∂L/∂λ = 2(λx + θ)·x
    assert v.mistake == "missing_factor" and "2q" in v.feedback
    assert "∂L/∂λ" in v.feedback + v.decided_by and "lambda" not in v.feedback + v.decided_by
    v = checker.check(r"x + \theta", wrt=r"\lambda")
    assert v.mistake == "counterexample"
    assert "λ = " in v.feedback and "θ = " in v.feedback and "lambda" not in v.feedback
    point = {S(k): sympy.Rational(s) for k, s in v.counterexample["point"].items()}
    assert sympy.Rational(v.counterexample["expected"]) == sympy.diff((lam * x + theta) ** 2, lam).subs(point)


def test_a_cost_answer_gets_a_friendly_counterexample():
    """∂J/∂w of the mean over the spec's four examples: the counterexample is at small friendly
    values, shows every example's x and y, and its numbers are sympy.diff of J there."""
    v = checker_for_spec(LINREG).check(r"\frac{\partial J}{\partial w} = \frac{1}{n}\sum_i 2x(\hat y - y) + 1")
    cx = v.counterexample
    assert v.mistake == "counterexample" and cx["at"] == "a point with small values"
    point = {k: Fraction(s) for k, s in cx["point"].items()}
    assert all(p in {Fraction(f.p, f.q) for f in FRIENDLY} for p in point.values())
    n = 4
    xs = [point["x"]] + [point[f"x (example {e})"] for e in range(2, n + 1)]
    ys = [point["y"]] + [point[f"y (example {e})"] for e in range(2, n + 1)]
    w, b = S("w"), S("b")
    J = sum((w * xe + b - ye) ** 2 for xe, ye in zip(xs, ys)) / n      # the spec's squared error, mean
    expected = sympy.diff(J, w).subs({w: point["w"], b: point["b"]})
    assert Fraction(cx["expected"]) == Fraction(str(expected))
    assert Fraction(cx["answer"]) == Fraction(str(expected)) + 1
    assert "x (example 4) = " in v.feedback


def test_a_big_network_gets_a_friendly_counterexample_without_saturation():
    checker = AnswerChecker(load_spec(BIG))
    assert checker.lazy
    v = checker.check(r"(\hat y - y) a^{3}_{1}", wrt="w^{3}_{1,1}")
    cx = v.counterexample
    assert v.mistake == "counterexample" and cx["at"] == "a point with small values"
    a, yh, y = (float(sympy.Rational(cx["point"][k])) for k in ("a^{3}_{1}", "a^{4}_{1}", "y_{1}"))
    assert 0.05 < a < 0.95 and 0.05 < yh < 0.95          # no sigmoid saturates
    # oracle: L = (y − ŷ)², ŷ = σ(z^{4}_{1}), z^{4}_{1} = Σ_j w^{3}_{1,j} a^{3}_{j} + b: ∂L/∂w^{3}_{1,1} = 2(ŷ − y)ŷ(1 − ŷ)a^{3}_{1}
    assert float(cx["expected"]) == pytest.approx(2 * (yh - y) * yh * (1 - yh) * a, rel=1e-8)
    assert float(cx["answer"]) == pytest.approx((yh - y) * a, rel=1e-8)


def test_feedback_is_deterministic():
    a = checker_for_spec(LECTURE).check(r"(\hat{y} - y)\hat{y}(1 - \hat{y}) x_1", wrt="w^{2}_{1,1}").to_json()
    b = AnswerChecker(derive(load_spec(LECTURE))).check(r"(\hat{y} - y)\hat{y}(1 - \hat{y}) x_1",
                                                        wrt="w^{2}_{1,1}").to_json()
    assert a == b


def test_a_constant_factor_is_never_read_from_a_unit_active_at_one_point():
    """On the [2,5,3,1] ReLU network a unit can be active at one sample point only; there any answer
    that vanishes with it is "some multiple" of the gradient. Only a true multiple may be called one."""
    L, nodes = _network([2, 5, 3, 1], ["relu", "relu", "identity"], "half_squared_error")
    oracle = sympy.diff(L, S("w^{3}_{1,2}"))
    leaves = _leaves(L)
    a32, yh, y = nodes["a^{3}_{2}"], nodes["yhat_1"], S("y_{1}")
    assert _agree(-a32 * (yh - y), -oracle, leaves, n=8)
    ratios = set()
    rng = random.Random(3)
    while len(ratios) < 2:
        point = _values(rng, leaves)
        g = oracle.xreplace(point)
        if g != 0:
            ratios.add(yh.xreplace(point) / g)
    assert len(ratios) == 2                      # ŷ is no constant multiple of the gradient
    checker = checker_for_spec(ROOT / "tests" / "data" / "relu_2_5_3_1.toml")
    v = checker.check(r"\hat{y}", wrt="w^{3}_{1,2}")
    assert v.verdict == "incorrect" and v.mistake != "constant_factor" and " times " not in v.feedback, v.feedback
    v = checker.check(r"-(a^{3}_{2}(\hat{y} - y))", wrt="w^{3}_{1,2}")
    assert v.mistake == "sign", v.feedback
    assert not _agree(nodes["z^{3}_{2}"] * (yh - y), oracle, leaves, n=8)
    v = checker.check(r"z^{3}_{2}(\hat{y} - y)", wrt="w^{3}_{1,2}")
    assert v.mistake == "wrong_factor" and "you wrote z^{3}_{2} where a^{3}_{2} belongs" in v.feedback
