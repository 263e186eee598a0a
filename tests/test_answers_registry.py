r"""Answers on networks with the registry's extra activations (issue 11): elu and silu are read
by the grammar (\operatorname{elu}, elu'(z)) and evaluated exactly through their elementary
forms; a missing derivative is still caught.  The oracle is sympy.diff of the loss written out
here by hand (no symbackprop code), evaluated at the checker's exact points."""
from __future__ import annotations

import pytest
import sympy

from symbackprop.derivation.chain_rule import derive
from symbackprop.spec.load import parse_spec
from symbackprop.verify.answers import AnswerChecker


def _net(act):
    return derive(parse_spec(f'title = "t"\nnotation = "index"\n[network]\nlayers = [2, 2, 1]\n'
                             f'activations = ["{act}", "sigmoid"]\nloss = "half_squared_error"\n'
                             'reduction = "mean"\n[parameters]\nseed = 0\n', source="t.toml"))


def _hand_derivative(act):
    x1, x2, y = sympy.symbols("x1 x2 y")
    w = sympy.symbols("w111 w112 w121 w122")
    b = sympy.symbols("b11 b12")
    v1, v2, c = sympy.symbols("v1 v2 c")
    z1 = w[0] * x1 + w[1] * x2 + b[0]
    z2 = w[2] * x1 + w[3] * x2 + b[1]
    if act == "elu":
        g = lambda z: sympy.Piecewise((z, z > 0), (sympy.exp(z) - 1, True))  # noqa: E731
    else:
        g = lambda z: z / (1 + sympy.exp(-z))  # noqa: E731
    yhat = 1 / (1 + sympy.exp(-(v1 * g(z1) + v2 * g(z2) + c)))
    L = (y - yhat) ** 2 / 2
    names = {"x_{1}": x1, "x_{2}": x2, "y_{1}": y, "w^{1}_{1,1}": w[0], "w^{1}_{1,2}": w[1], "w^{1}_{2,1}": w[2],
             "w^{1}_{2,2}": w[3], "b^{1}_{1}": b[0], "b^{1}_{2}": b[1], "w^{2}_{1,1}": v1, "w^{2}_{1,2}": v2,
             "b^{2}_{1}": c}
    return sympy.diff(L, w[0]), names


@pytest.mark.parametrize("act", ["elu", "silu"])
def test_registry_activation_answers(act):
    d = _net(act)
    checker = AnswerChecker(d)
    right = (rf"(\hat{{y}} - y)\hat{{y}}(1 - \hat{{y}}) w^{{2}}_{{1,1}} \operatorname{{{act}}}'(z^{{2}}_{{1}}) x_1")
    v = checker.check(right, "w^{1}_{1,1}")
    assert v.verdict == "correct", v.feedback
    plain = rf"(\hat{{y}} - y)\hat{{y}}(1 - \hat{{y}}) w^{{2}}_{{1,1}} {act}'(z^{{2}}_{{1}}) x_1"
    assert checker.check(plain, "w^{1}_{1,1}").verdict == "correct"
    missing = r"(\hat{y} - y)\hat{y}(1 - \hat{y}) w^{2}_{1,1} x_1"
    assert checker.check(missing, "w^{1}_{1,1}").verdict == "incorrect"
    # the checker's reference equals the hand-written sympy.diff at its exact points
    oracle, names = _hand_derivative(act)
    for point, value in zip(checker.points(), checker.reference_values(d.graph.output, "w^{1}_{1,1}")):
        leaf = {n.name: point.values[n.symbol].q for n in d.graph.nodes if n.is_leaf}
        at = {sym: leaf[name] for name, sym in names.items()}
        expected = sympy.N(oracle.subs(at), 40)
        assert abs(sympy.Float(str(value.num), 40) - expected) < sympy.Float("1e-25")
