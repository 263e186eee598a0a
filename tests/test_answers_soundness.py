"""Never "correct" for a wrong answer (issue 12); the oracle is sympy.diff of the expanded loss."""
from __future__ import annotations

import random

import pytest
import sympy

from symbackprop import derive, load_spec
from symbackprop.spec import names
from symbackprop.verify.answers import AnswerChecker

RELU = "tests/data/relu_2_5_3_1.toml"


@pytest.mark.parametrize("answer", ["z x^2", "x x z", "z^{y}", "z^{x}", "x z", "z + x - x^2 + x^2 y - x^2 y"])
def test_computational_graph_wrong_powers_are_incorrect(answer):
    c = AnswerChecker(derive(load_spec("derivations/computational_graph.toml")))
    assert c.check(answer, wrt="x").verdict == "incorrect"


def _oracle_gradient(wrt):
    """sympy.diff of the fully expanded loss of the [2,5,3,1] ReLU net (its own forward pass)."""
    S = names.symbol
    relu = lambda v: sympy.Max(0, v)
    layers = [2, 5, 3, 1]
    a = [S("x_{1}"), S("x_{2}")]
    for l in range(1, 4):
        z = [sum(S(f"w^{{{l}}}_{{{j},{k}}}") * a[k - 1] for k in range(1, layers[l - 1] + 1)) + S(f"b^{{{l}}}_{{{j}}}")
             for j in range(1, layers[l] + 1)]
        a = [relu(v) for v in z] if l < 3 else z
    loss = (S("y_{1}") - a[0]) ** 2 / 2
    return sympy.diff(loss, S(wrt))


def test_relu_net_every_unit_both_sides_of_its_kink():
    c = AnswerChecker(derive(load_spec(RELU)))
    c.points()
    assert c.uncovered == ()
    for z in [f"z^{{{l}}}_{{{j}}}" for l, w in ((2, 5), (3, 3)) for j in range(1, w + 1)]:
        signs = {p.values[names.symbol(z)].sign() for p in c.points()}
        assert signs == {1, -1}, z


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_relu_net_wrong_answers_never_correct(seed):
    c = AnswerChecker(derive(load_spec(RELU)), seed=seed, n_points=3)
    right = r"(\hat{y}-y) w^{3}_{1,1} relu'(z^{3}_{1})"
    assert c.check(right, wrt="b^{2}_{1}").verdict == "correct"
    for wrong in ["0", r"-(\hat{y}-y) w^{3}_{1,1} relu'(z^{3}_{1})",
                  r"17 (\hat{y}-y) w^{3}_{1,2} relu'(z^{3}_{1})", r"(\hat{y}-y) w^{3}_{1,1}",
                  r"(\hat{y}-y) w^{3}_{1,1} relu'(z^{3}_{2})"]:
        assert c.check(wrong, wrt="b^{2}_{1}").verdict == "incorrect", wrong


def test_relu_oracle_agrees_with_the_reference_at_random_points():
    # the checker's reference is the oracle's derivative (sympy.diff of the expanded loss)
    c = AnswerChecker(derive(load_spec(RELU)))
    oracle = _oracle_gradient("b^{2}_{1}")
    g = c.graph
    rng = random.Random(3)
    for _ in range(20):
        values = {n.symbol: sympy.Rational(rng.randint(-40, 40), 7) for n in g.nodes if n.is_leaf}
        env = dict(values)
        for n in g.nodes:
            if not n.is_leaf:
                env[n.symbol] = n.definition.xreplace(env)
        ref = c.derivative(g.output, "b^{2}_{1}").xreplace(env)
        ref = ref.replace(lambda e: type(e).__name__ == "step", lambda e: sympy.Integer(1 if e.args[0] > 0 else 0))
        assert sympy.simplify(ref - oracle.xreplace(values).doit()) == 0
