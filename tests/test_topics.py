"""The lectures' remaining topics, computed: the BCE table, MSE (1/n) against the cost 1/(2n),
linear regression's gradients, the learning rate, the sigmoid's bound and the vanishing-gradient
chains. Oracles: math.log, sympy.diff of the expanded losses, closed forms, hand-written chains."""
from __future__ import annotations

import math
import pathlib

import pytest
import sympy

from symbackprop import derive, load_spec

from symbackprop.lessons import topics
from symbackprop.errors import SpecError

DERIVATIONS = pathlib.Path(__file__).resolve().parent.parent / "derivations"
R = sympy.Rational


def sym(name):
    return sympy.Symbol(name, real=True)


# ---------------------------------------------------------------------------------------------
# every seed topic has a spec
# ---------------------------------------------------------------------------------------------

SEED_TOPIC_SPECS = {
    "MSE (1/n) against the cost 1/(2n)": ["mse_vs_half_cost_1_over_n.toml", "mse_vs_half_cost_1_over_2n.toml"],
    "the power rule": ["power_rule.toml"],
    "partial derivatives of x^2 + 2xy + y^2": ["partial_derivatives.toml"],
    "the BCE table of values": ["bce_table.toml"],
    "linear regression": ["linear_regression.toml"],
    "the learning rate": ["learning_rate.toml"],
    "the vanishing gradient and ReLU": ["vanishing_gradient_sigmoid.toml", "vanishing_gradient_relu.toml"],
}


@pytest.mark.parametrize("topic", sorted(SEED_TOPIC_SPECS))
def test_every_seed_topic_has_a_spec_that_derives(topic):
    for name in SEED_TOPIC_SPECS[topic]:
        d = derive(load_spec(DERIVATIONS / name))
        assert d.spec.title
        assert d.graph.output in d.node_gradients


# ---------------------------------------------------------------------------------------------
# binary cross-entropy: the table of values
# ---------------------------------------------------------------------------------------------

def test_bce_table_against_math_log():
    rows = topics.bce_table()
    assert [(int(r.y), float(r.y_hat)) for r in rows] == [(1, 0.95), (1, 0.05), (0, 0.95), (0, 0.05)]
    expected = [-math.log(0.95), -math.log(0.05), -math.log(1 - 0.95), -math.log(1 - 0.05)]
    for row, value in zip(rows, expected):
        assert row.value == pytest.approx(value, rel=1e-14)
        assert float(sympy.N(row.loss, 30)) == pytest.approx(value, rel=1e-14)
    assert rows[0].loss == -sympy.log(R(19, 20)) and rows[1].loss == sympy.log(20)


def test_bce_table_slides_rounding():
    """The slides round −log 0.95 ≈ 0.0513 to 0.05 and −log 0.05 ≈ 2.996 to 3."""
    rows = topics.bce_table()
    assert round(rows[0].value, 4) == 0.0513 and round(rows[1].value, 3) == 2.996
    for row in rows:
        if row.slides is not None:
            assert round(row.value, 2 if row.slides < 1 else 0) == row.slides
    assert [r.confident_and_wrong for r in rows] == [False, True, True, False]
    text = topics.bce_table_text()
    assert "0.0513" in text and "2.9957" in text and "≈ 3" in text


def test_bce_table_spec_gives_the_same_losses_and_the_slides_derivative():
    d = derive(load_spec(DERIVATIONS / "bce_table.toml"))
    losses = [d.exact_values(ex)["L"] for ex in d.examples()]
    assert [float(sympy.N(v)) for v in losses] == pytest.approx(
        [-math.log(0.95), -math.log(0.05), -math.log(0.05), -math.log(0.95)], rel=1e-14)
    y, yhat = sym("y"), sym("yhat")
    ours = d.per_example_gradient("yhat")
    slides = (yhat - y) / (yhat * (1 - yhat))                     # the slides' ∂L/∂ŷ
    for yv, pv in [(1, R(19, 20)), (0, R(1, 20)), (1, R(1, 3)), (0, R(5, 7))]:
        assert ours.subs({y: yv, yhat: pv}) == slides.subs({y: yv, yhat: pv})


@pytest.mark.parametrize("pair, message", [((2, 0.5), "0 or 1"), ((1, 1.0), "strictly between"),
                                           ((1, "a"), "number")])
def test_bce_table_bad_rows(pair, message):
    with pytest.raises(SpecError, match=message):
        topics.bce_table([pair])


# ---------------------------------------------------------------------------------------------
# MSE (1/n) against the cost 1/(2n); linear regression
# ---------------------------------------------------------------------------------------------

def test_mse_vs_half_cost_factor_two_against_sympy_diff():
    result = topics.mse_vs_half_cost()
    assert result.ratio == 2
    n = 3
    ys = sympy.symbols("y1:4", real=True)
    yhats = sympy.symbols("yh1:4", real=True)
    J = R(1, n) * sum((y - h) ** 2 for y, h in zip(ys, yhats))
    C = R(1, 2 * n) * sum((y - h) ** 2 for y, h in zip(ys, yhats))
    nn = [s for s in result.mse_gradient.free_symbols if s.name == "n"][0]
    for i in range(n):
        subs = {nn: n, sym("y"): ys[i], sym("yhat"): yhats[i]}
        assert sympy.simplify(result.mse_gradient.subs(subs) - sympy.diff(J, yhats[i])) == 0
        assert sympy.simplify(result.cost_gradient.subs(subs) - sympy.diff(C, yhats[i])) == 0
        assert sympy.simplify(sympy.diff(J, yhats[i]) / sympy.diff(C, yhats[i])) == 2


def test_mse_vs_half_cost_numbers_against_sympy_diff():
    w, b = sympy.symbols("w b", real=True)
    xs, ys = [1, 2, 3, 4], [3, 5, 7, 9]
    J = R(1, 4) * sum((y - (w * x + b)) ** 2 for x, y in zip(xs, ys))
    at0 = {w: 0, b: 0}
    expected_mse = {"w": sympy.diff(J, w).subs(at0), "b": sympy.diff(J, b).subs(at0)}
    result = topics.mse_vs_half_cost()
    assert result.mse_numbers == expected_mse == {"w": -35, "b": -12}
    assert result.cost_numbers == {k: v / 2 for k, v in expected_mse.items()}
    assert "ratio" in result.text() and "−35/2" in result.text()


@pytest.mark.parametrize("w0", [0, R(1, 3), 2, R(-5, 2)])
def test_mse_vs_half_cost_specs(w0):
    """The two spec files: the cost's gradient is half the MSE's at every w, by sympy.diff."""
    w = sym("w")
    xs, ys = [1, 2], [2, 4]
    J = R(1, 2) * sum((y - w * x) ** 2 for x, y in zip(xs, ys))
    C = R(1, 4) * sum((y - w * x) ** 2 for x, y in zip(xs, ys))
    mse = derive(load_spec(DERIVATIONS / "mse_vs_half_cost_1_over_n.toml"))
    cost = derive(load_spec(DERIVATIONS / "mse_vs_half_cost_1_over_2n.toml"))
    g_mse = mse.exact_gradients({w: w0})["w"]
    g_cost = cost.exact_gradients({w: w0})["w"]
    assert g_mse == sympy.diff(J, w).subs(w, w0)
    assert g_cost == sympy.diff(C, w).subs(w, w0)
    assert g_mse == 2 * g_cost
    if w0 == 0:
        assert (g_mse, g_cost) == (-10, -5)


def test_linear_regression_against_sympy_diff():
    w, b, x, y = (sym(s) for s in "wbxy")
    result = topics.linear_regression(DERIVATIONS / "linear_regression.toml")
    per_example = (y - (w * x + b)) ** 2
    assert sympy.expand(result.per_example["w"] - sympy.diff(per_example, w)) == 0
    assert sympy.expand(result.per_example["b"] - sympy.diff(per_example, b)) == 0
    xs, ys = [1, 2, 3, 4], [3, 5, 7, 9]
    L = R(1, 4) * sum((yi - (w * xi + b)) ** 2 for xi, yi in zip(xs, ys))
    assert result.gradients == {"w": sympy.diff(L, w).subs({w: 0, b: 0}), "b": sympy.diff(L, b).subs({w: 0, b: 0})}
    assert result.gradients == {"w": -35, "b": -12}
    assert result.reduction_factor == R(1, 4) and result.n == 4
    assert r"-\frac{2}{n}" in result.formulas["w"] and "x_i" in result.formulas["w"]
    assert topics.linear_regression().gradients == result.gradients     # the built-in spec is the same
    half = topics.linear_regression(half=True)
    assert half.gradients == {"w": R(-35, 2), "b": -6}
    assert r"-\frac{1}{n}" in half.formulas["b"]


# ---------------------------------------------------------------------------------------------
# the learning rate
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("alpha", [R(1, 20), R(3, 10), R(1, 2), R(4, 5), 1, R(21, 20)])
def test_descent_path_closed_form(alpha):
    """w_t − w* = (1 − 2α)^t (w_0 − w*) for L(w) = (w − w*)²."""
    path = topics.descent_path(alpha, w0=0, w_star=3, steps=8)
    assert len(path) == 9
    for step in path:
        assert step.w == 3 + (1 - 2 * alpha) ** step.t * (0 - 3)
        assert step.loss == (step.w - 3) ** 2
        assert step.gradient == sympy.diff((sym("w") - 3) ** 2, sym("w")).subs(sym("w"), step.w)
    losses = [s.loss for s in path]
    if alpha < 1:
        assert all(a > b for a, b in zip(losses, losses[1:])) or losses[1] == 0
    elif alpha == 1:
        assert len(set(losses)) == 1
    else:
        assert all(a < b for a, b in zip(losses, losses[1:]))


def test_descent_behaviour():
    assert topics.descent_behaviour(0.05) == "slow, steady"
    assert topics.descent_behaviour(0.3) == "fast"
    assert topics.descent_behaviour(0.5) == "reaches w* in one step"
    assert topics.descent_behaviour(0.8) == "overshoots, oscillates, converges"
    assert topics.descent_behaviour(1) == "oscillates forever"
    assert topics.descent_behaviour(1.05) == "overshoots and diverges"
    with pytest.raises(SpecError, match="positive"):
        topics.descent_path(0)
    with pytest.raises(SpecError, match="steps"):
        topics.descent_path(0.1, steps=10**6)


def test_learning_rate_spec_one_step():
    """The notes' update w_new = w_old − α ∂L/∂w on the spec: from 0 with α = 0.3 to 1.8."""
    d = derive(load_spec(DERIVATIONS / "learning_rate.toml"))
    alpha = d.spec.training.learning_rate
    assert alpha == R(3, 10)
    grad = d.exact_gradients()["w"]
    assert grad == -6 == topics.descent_path(alpha, steps=1)[0].gradient
    assert 0 - alpha * grad == R(9, 5) == topics.descent_path(alpha, steps=1)[1].w


# ---------------------------------------------------------------------------------------------
# the vanishing gradient, the sigmoid's bound, ReLU
# ---------------------------------------------------------------------------------------------

def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def test_sigmoid_chain_spec_is_the_product_of_local_derivatives():
    """x = 2, weights 1, biases 0: ∂L/∂w^{1} = (ŷ − y)·σ'(z⁴)·w·σ'(z³)·w·σ'(z²)·x, each σ' ≤ 1/4."""
    d = derive(load_spec(DERIVATIONS / "vanishing_gradient_sigmoid.toml"))
    grads = {k: float(sympy.N(v, 30)) for k, v in d.exact_gradients().items()}
    z2 = 2.0
    a2 = sigmoid(z2)
    a3 = sigmoid(a2)
    a4 = sigmoid(a3)
    local = [a2 * (1 - a2), a3 * (1 - a3), a4 * (1 - a4)]
    assert all(f <= 0.25 for f in local)
    by_hand = (a4 - 1) * local[2] * local[1] * local[0] * 2
    assert grads["w^{1}_{1,1}"] == pytest.approx(by_hand, rel=1e-12)
    assert grads["w^{3}_{1,1}"] == pytest.approx((a4 - 1) * local[2] * a3, rel=1e-12)
    assert abs(grads["w^{1}_{1,1}"]) < abs(grads["w^{2}_{1,1}"]) < abs(grads["w^{3}_{1,1}"])


def test_relu_chain_spec_passes_the_gradient_unchanged():
    d = derive(load_spec(DERIVATIONS / "vanishing_gradient_relu.toml"))
    grads = d.exact_gradients()
    # every z is 2 > 0, so ŷ = 2 and every ReLU' is 1: ∂L/∂w^{k} = (ŷ − y)·a^{k} = 1·2
    assert grads == {"w^{1}_{1,1}": 2, "b^{1}_{1}": 1, "w^{2}_{1,1}": 2, "b^{2}_{1}": 1,
                     "w^{3}_{1,1}": 2, "b^{3}_{1}": 1}


def test_sigmoid_bound_steps():
    bound = topics.sigmoid_derivative_bound()
    a = sym("a")
    assert sympy.expand(R(1, 4) - (a - R(1, 2)) ** 2 - a * (1 - a)) == 0     # the completed square
    assert bound.maximum == R(1, 4)
    assert any("(1/4)^N" in s for s in bound.steps)
    assert "σ′(z) ≤ σ′(0) = ¼" in bound.text()
    assert all(line.count("{") == line.count("}") for line in bound.latex)


def test_local_derivative_curves_against_finite_differences():
    import numpy as np

    z = np.array([-3.0, -0.5, 0.0, 0.7, 4.0])
    curves = topics.local_derivative_curves(z)
    h = 1e-6
    fs = {"sigmoid": lambda t: 1 / (1 + np.exp(-t)), "tanh": np.tanh, "relu": lambda t: np.maximum(t, 0)}
    for name, f in fs.items():
        fd = (f(z + h) - f(z - h)) / (2 * h)
        mask = z != 0 if name == "relu" else slice(None)           # ReLU'(0) = 0 by convention
        np.testing.assert_allclose(curves[name][mask], fd[mask], atol=1e-8)
    assert curves["relu"][2] == 0.0 and curves["sigmoid"][2] == 0.25 and curves["tanh"][2] == 1.0


def test_vanishing_spec_is_the_same_network_for_each_activation():
    tables = {a: topics.vanishing_spec(3, a, width=2, seed=5) for a in topics.VANISHING_ACTIVATIONS}
    weights = [t["parameters"]["weights"] for t in tables.values()]
    assert weights[0] == weights[1] == weights[2]
    assert tables["tanh"]["network"]["activations"] == ["tanh"] * 3 + ["identity"]
    assert tables["relu"]["network"]["layers"] == [2, 2, 2, 2, 1]
