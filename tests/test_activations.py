"""Every registry entry: the derivative (as the lectures write it) against sympy.diff of the
elementary form, the NumPy form against the exact value and finite differences, the LaTeX name."""
import numpy as np
import pytest
import sympy
from sympy import Rational, exp

from symbackprop.ops.activations import ACTIVATIONS
from symbackprop.ops.functions import rewrite_elementary
from symbackprop.ops.losses import LOSSES

Z = sympy.Symbol("z", real=True)
POINTS = [Rational(-7, 3), Rational(-1, 2), Rational(1, 5), Rational(9, 4)]
ELEMENTWISE = [a for a in ACTIVATIONS.values() if not a.layerwise]


@pytest.mark.parametrize("act", ELEMENTWISE, ids=lambda a: a.name)
def test_derivative_in_terms_of_output_equals_sympy_diff(act):
    a_of_z = act.apply(Z)
    oracle = sympy.diff(rewrite_elementary(a_of_z).rewrite(sympy.Piecewise), Z)
    ours = rewrite_elementary(act.derivative(a_of_z, Z))
    for p in POINTS:
        assert sympy.N(oracle.subs(Z, p) - ours.subs(Z, p), 50) == 0 or abs(sympy.N(oracle.subs(Z, p) - ours.subs(Z, p), 50)) < 1e-45


@pytest.mark.parametrize("act", ELEMENTWISE, ids=lambda a: a.name)
def test_numpy_form_matches_exact_value_and_is_stable(act):
    f = sympy.lambdify([Z], act.apply(Z), modules="numpy")
    for p in POINTS:
        assert abs(f(np.float64(float(p))) - float(sympy.N(act.apply(p), 30))) < 1e-14
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is honest
        big = f(np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0]))
    assert np.all(np.isfinite(big))


@pytest.mark.parametrize("act", ELEMENTWISE, ids=lambda a: a.name)
def test_numpy_derivative_matches_finite_differences(act):
    a_sym = sympy.Symbol("a", real=True)
    f = sympy.lambdify([Z], act.apply(Z), modules="numpy")
    df = sympy.lambdify([Z, a_sym], act.derivative(a_sym, Z), modules="numpy")
    for p in (-1.3, -0.2, 0.4, 2.5):
        h = 1e-6
        fd = (f(p + h) - f(p - h)) / (2 * h)
        assert abs(df(p, f(p)) - fd) < 1e-7


@pytest.mark.parametrize("act", list(ACTIVATIONS.values()), ids=lambda a: a.name)
def test_latex_and_rule_text(act):
    assert act.latex_name.strip() and act.rule and act.rule_latex
    zs = (Z, sympy.Symbol("w", real=True))
    text = sympy.latex(act.apply(Z, zs))
    assert "\\" in text or act.name == "identity"


def test_relu_convention_at_zero_is_zero_everywhere():
    from symbackprop.ops.functions import leaky_step, relu, step

    assert sympy.diff(relu(Z), Z).subs(Z, 0) == 0 and step(0) == 0
    assert leaky_step(0) == Rational(1, 100)
    d = sympy.lambdify([Z], step(Z), modules="numpy")
    assert d(np.float64(0.0)) == 0.0


def test_softmax_jacobian_is_a_i_delta_ij_minus_a_j():
    from symbackprop.ops.functions import softmax

    z1, z2, z3 = sympy.symbols("z1 z2 z3", real=True)
    zs = (z1, z2, z3)
    a = [softmax(z, *zs) for z in zs]
    plain = [exp(z) / sum(exp(t) for t in zs) for z in zs]
    point = {z1: Rational(1, 3), z2: Rational(-2), z3: Rational(5, 7)}
    for i in range(3):
        for j in range(3):
            ours = sympy.diff(a[i], zs[j])
            oracle = sympy.diff(plain[i], zs[j])
            assert abs(sympy.N((ours - oracle).subs(point), 50)) < 1e-45


@pytest.mark.parametrize("loss", list(LOSSES.values()), ids=lambda l: l.name)
def test_from_logits_form_equals_the_lectures_form(loss):
    """BCE(σ(z)) = softplus(z) − y z and CE(softmax(z)) = Σ y (logsumexp(z) − z): exact identities."""
    from symbackprop.ops.activations import ACTIVATIONS as A

    for act_name, f in loss.from_logits.items():
        zs = sympy.symbols("z1 z2", real=True)
        ys = sympy.symbols("y1 y2", real=True)
        act = A[act_name]
        yhat = [act.apply(z, zs) for z in zs]
        lhs = rewrite_elementary(loss.per_example(ys, yhat))
        rhs = rewrite_elementary(f(ys, zs))
        point = {zs[0]: Rational(3, 2), zs[1]: Rational(-1, 3), ys[0]: Rational(1, 4), ys[1]: Rational(3, 4)}
        assert abs(sympy.N((lhs - rhs).subs(point), 50)) < 1e-45
