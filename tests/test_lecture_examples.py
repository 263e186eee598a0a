"""The lectures' worked examples, reproduced exactly (oracle: the lectures' own numbers and algebra)."""
import math

import sympy
from sympy import Rational, exp

from symbackprop import derive, load_spec
from symbackprop.spec.names import symbol
from symbackprop.compile.numpy_backend import compile_gradients, spec_data, spec_parameters


def sig(v):
    return 1 / (1 + exp(-v))


def test_forward_pass_of_the_lecture_network(spec_path):
    """000: x = [1, 0], all weights and biases 1: z = 2, a ≈ 0.88, z ≈ 2.76, ŷ ≈ 0.94."""
    d = derive(load_spec(spec_path("lecture_2_2_1.toml")))
    v = d.exact_values(d.examples()[0])
    assert v["z^{2}_{1}"] == 2 and v["z^{2}_{2}"] == 2
    assert sympy.simplify(v["a^{2}_{1}"].rewrite(exp) - sig(2)) == 0
    # exactly z^{3}_{1} = 1 + 2 σ(2), not the notes' rounded 2.76
    assert sympy.simplify(v["z^{3}_{1}"].rewrite(exp) - (1 + 2 * sig(2))) == 0
    z3 = float(sympy.N(v["z^{3}_{1}"], 30))
    assert abs(z3 - (1 + 2 / (1 + math.exp(-2)))) < 1e-15
    assert round(float(sympy.N(v["a^{2}_{1}"])), 4) == 0.8808
    assert round(z3, 4) == 2.7616
    yhat = float(sympy.N(v["a^{3}_{1}"], 30))
    assert abs(yhat - 1 / (1 + math.exp(-z3))) < 1e-15
    assert round(yhat, 2) == 0.94 and abs(yhat - 0.9405) < 1e-4  # 0.940565...


def test_self_assessment_forward_pass_x_0_1(spec_path):
    """000, problem 4: the same network with x = [0, 1] gives the same numbers by symmetry of the weights."""
    d = derive(load_spec(spec_path("lecture_2_2_1_x01.toml")))
    v = d.exact_values(d.examples()[0])
    assert v["z^{2}_{1}"] == 2 and v["z^{2}_{2}"] == 2
    assert round(float(sympy.N(v["a^{3}_{1}"])), 2) == 0.94


def test_chain_rule_for_w111_is_the_lectures_product_of_five_factors(spec_path):
    """000: ∂L/∂w^{1}_{1,1} = ∂L/∂ŷ · ∂ŷ/∂z^{3}_{1} · ∂z^{3}_{1}/∂a^{2}_{1} · ∂a^{2}_{1}/∂z^{2}_{1} · ∂z^{2}_{1}/∂w^{1}_{1,1}."""
    d = derive(load_spec(spec_path("lecture_2_2_1.toml")))
    (path,) = d.paths("w^{1}_{1,1}")
    assert path.nodes == ("w^{1}_{1,1}", "z^{2}_{1}", "a^{2}_{1}", "z^{3}_{1}", "a^{3}_{1}", "L")
    yhat, y = symbol("a^{3}_{1}"), symbol("y_{1}")
    a21, w211, x1 = symbol("a^{2}_{1}"), symbol("w^{2}_{1,1}"), symbol("x_{1}")
    expected = [x1, a21 * (1 - a21), w211, yhat * (1 - yhat), yhat - y]  # the notes' five terms, in path order
    assert [sympy.expand(f.expression - e) for f, e in zip(path.factors, expected)] == [0] * 5
    assert "sigmoid" in path.factors[1].rule and "linear in each weight" in path.factors[0].rule


def test_chain_rule_for_w121_self_assessment(spec_path):
    """000, problem 5: ∂L/∂w^{1}_{2,1} follows the path through the second hidden node."""
    d = derive(load_spec(spec_path("lecture_2_2_1.toml")))
    (path,) = d.paths("w^{1}_{2,1}")
    assert path.nodes == ("w^{1}_{2,1}", "z^{2}_{2}", "a^{2}_{2}", "z^{3}_{1}", "a^{3}_{1}", "L")
    assert path.factors[2].expression == symbol("w^{2}_{1,2}")


def test_lecture_gradient_numbers_exact(spec_path):
    """∂L/∂w^{1}_{1,1} at the lecture's point equals the product of the five numbers, computed by hand here."""
    d = derive(load_spec(spec_path("lecture_2_2_1.toml")))
    g = d.exact_gradients()
    a = 1 / (1 + math.exp(-2))
    z3 = 1 + 2 * a
    yh = 1 / (1 + math.exp(-z3))
    by_hand = (yh - 1) * yh * (1 - yh) * 1 * a * (1 - a) * 1
    assert abs(float(sympy.N(g["w^{1}_{1,1}"], 30)) - by_hand) < 1e-16
    assert g["w^{1}_{1,2}"] == 0  # x_2 = 0
    c = compile_gradients(d)
    X, Y = spec_data(d)
    num = c.gradients(spec_parameters(d), X, Y)
    assert abs(num["w^{1}_{1,1}"] - by_hand) < 1e-16


def test_computational_graph_of_the_slides(spec_path):
    """001: f = (x + y) z at (-2, 5, -4): q = 3, f = -12, ∂f/∂x = ∂f/∂y = z = -4, ∂f/∂z = q = 3."""
    d = derive(load_spec(spec_path("computational_graph.toml")))
    v = d.exact_values(d.examples()[0])
    assert v["q"] == 3 and v["f"] == -12
    g = d.exact_node_gradients(v)
    assert (g["x"], g["y"], g["z"], g["q"]) == (-4, -4, 3, -4)
    assert d.local_derivatives[("q", "x")].expression == 1
    assert d.local_derivatives[("f", "q")].expression == symbol("z")
    assert d.local_derivatives[("f", "z")].expression == symbol("q")


def test_chain_rule_u_squared_gives_18x(spec_path):
    """002: y = u², u = 3x: dy/dx = 2u · 3 = 6u = 18x."""
    d = derive(load_spec(spec_path("chain_rule_u_squared.toml")))
    x, u = symbol("x"), symbol("u")
    assert d.per_example_gradient("x") == 6 * u
    assert sympy.expand(d.expanded_gradient("x")) == 18 * x
    assert d.exact_node_gradients(d.exact_values(d.examples()[0]))["x"] == 36  # x = 2


def test_partial_derivatives_and_power_rule(spec_path):
    """002: f = x² + 2xy + y² gives 2x + 2y for both; f = 4x³ gives 12x²."""
    d = derive(load_spec(spec_path("partial_derivatives.toml")))
    x, y = symbol("x"), symbol("y")
    assert sympy.expand(d.per_example_gradient("x")) == 2 * x + 2 * y
    assert sympy.expand(d.per_example_gradient("y")) == 2 * x + 2 * y
    d = derive(load_spec(spec_path("power_rule.toml")))
    assert d.per_example_gradient("x") == 12 * x**2
    assert "power rule" in d.local_derivatives[("f", "x")].rule


def test_bce_with_sigmoid_output_gives_yhat_minus_y(spec_path):
    """001: ∂L/∂z_2 = (ŷ − y)/(ŷ(1 − ŷ)) · ŷ(1 − ŷ) = ŷ − y, derived by cancelling, exactly."""
    d = derive(load_spec(spec_path("gender.toml")))
    ng = d.node_gradient("z^{3}_{1}")
    yhat, y = symbol("a^{3}_{1}"), symbol("y_{1}")
    assert ng.simplified == yhat - y
    # the unsimplified product is the slides' two factors
    assert sympy.simplify(ng.product - ((-y / yhat + (1 - y) / (1 - yhat)) * yhat * (1 - yhat))) == 0
    # and it is the derivative of BCE(σ(z)) with respect to z (oracle: sympy.diff)
    z = sympy.Symbol("z", real=True)
    bce = -(y * sympy.log(sig(z)) + (1 - y) * sympy.log(1 - sig(z)))
    assert sympy.simplify(sympy.diff(bce, z) - (sig(z) - y)) == 0


def test_linear_regression_mse_gradient(spec_path):
    """001: L(w, b) = (1/n) Σ (y_i − (w x_i + b))²: ∂L/∂w = −(2/n) Σ x_i (y_i − ŷ_i), ∂L/∂b = −(2/n) Σ (y_i − ŷ_i)."""
    d = derive(load_spec(spec_path("linear_regression.toml")))
    xs, ys = [1, 2, 3, 4], [3, 5, 7, 9]
    w, b = 0, 0
    n = len(xs)
    dw = Rational(-2, n) * sum(x * (y - (w * x + b)) for x, y in zip(xs, ys))
    db = Rational(-2, n) * sum((y - (w * x + b)) for x, y in zip(xs, ys))
    g = d.exact_gradients()
    assert g["w"] == dw and g["b"] == db
    assert d.reduction_factor == Rational(1, 4)
