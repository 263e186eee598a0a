r"""Lazy points for big networks (issue 15): an answer on [4,8,8,1] or [10,16,16,1] evaluates only
the sub-graph it needs, in the coordinates where every pre-activation z = w·a + b is drawn
directly and its bias b = z − w·a is derived (docs/answers.md, "How sure a "correct" is").

The oracle shares no code with the checker: a forward pass written here by hand in mpmath at
the point's leaf values (every b derived by the checker is read back as a leaf), and the
gradient by a central difference of that forward pass at 60 digits.
"""
from __future__ import annotations

import mpmath
import pytest
import sympy

from symbackprop.derivation.chain_rule import derive
from symbackprop.spec.load import parse_spec
from symbackprop.verify.answers import AnswerChecker


def _spec(layers, activation, loss="bce"):
    acts = [activation] * (len(layers) - 2) + ["sigmoid"]
    acts = "[" + ", ".join(f'"{a}"' for a in acts) + "]"
    return parse_spec(f'title = "lazy"\nnotation = "index"\n[network]\nlayers = {list(layers)}\n'
                      f'activations = {acts}\nloss = "{loss}"\nreduction = "mean"\n'
                      '[parameters]\nseed = 0\n', source="lazy.toml")


@pytest.fixture(scope="module")
def relu_net():
    return derive(_spec((4, 8, 8, 1), "relu"))


@pytest.fixture(scope="module")
def sigmoid_net():
    return derive(_spec((4, 8, 8, 1), "sigmoid"))


def _loss_by_hand(layers, activation, leaf):
    """BCE of the network at the leaf values ``leaf(name) -> mpf`` (the last layer is sigmoid)."""
    a = [leaf(f"x_{{{k}}}") for k in range(1, layers[0] + 1)]
    for l in range(1, len(layers)):
        z = [sum(leaf(f"w^{{{l}}}_{{{j},{k}}}") * a[k - 1] for k in range(1, layers[l - 1] + 1))
             + leaf(f"b^{{{l}}}_{{{j}}}") for j in range(1, layers[l] + 1)]
        last = l == len(layers) - 1
        if last or activation == "sigmoid":
            a = [1 / (1 + mpmath.exp(-v)) for v in z]
        else:
            a = [v if v > 0 else mpmath.mpf(0) for v in z]
    y, yhat = leaf("y_{1}"), a[0]
    return -y * mpmath.log(yhat) - (1 - y) * mpmath.log(1 - yhat)


def _oracle_gradient(checker, point, wrt, layers, activation):
    mpmath.mp.dps = 60
    names = {n.name: n.symbol for n in checker.graph.nodes if n.is_leaf}
    base = {name: mpmath.mpf(point.evaluate(sym).num) for name, sym in names.items()}
    h = mpmath.mpf(10) ** -25

    def at(shift):
        return _loss_by_hand(layers, activation, lambda name: base[name] + (shift if name == wrt else 0))

    return (at(h) - at(-h)) / (2 * h)


@pytest.mark.parametrize("wrt", ["w^{3}_{1,2}", "b^{2}_{3}", "w^{2}_{4,5}", "w^{1}_{2,3}", "b^{1}_{7}"])
@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_reference_at_lazy_points_matches_a_hand_written_forward_pass(relu_net, sigmoid_net, activation, wrt):
    d = relu_net if activation == "relu" else sigmoid_net
    checker = AnswerChecker(d)
    assert checker.lazy
    values = checker.reference_values("L", wrt)
    for point, value in zip(checker.points(), values):
        if value is None:
            continue
        oracle = _oracle_gradient(checker, point, wrt, (4, 8, 8, 1), activation)
        assert abs(mpmath.mpf(value.num) - oracle) <= mpmath.mpf(10) ** -15 * (1 + abs(oracle))


def test_every_relu_unit_is_on_both_sides_of_its_kink(relu_net):
    checker = AnswerChecker(relu_net)
    pts = checker.points()
    for node in relu_net.graph.nodes:
        if node.kind == "pre_activation" and node.layer < 4 and node.symbol in checker._free_nodes[0]:
            signs = {p.evaluate(node.symbol).sign() for p in pts}
            assert signs == {1, -1}, node.name


def test_only_the_needed_sub_graph_is_evaluated(sigmoid_net):
    checker = AnswerChecker(sigmoid_net)
    v = checker.check(r"(\hat{y} - y) a^{3}_{2}", "w^{3}_{1,2}")
    assert v.verdict == "correct"
    evaluated = set().union(*(p.values for p in checker.points()))
    assert not any(s.name.startswith(("x_", "w^{1}", "z^{2}")) for s in evaluated)


def _tex(expr) -> str:
    """LaTeX an answer may use: relu'(z) for the printer's 1[z > 0]."""
    return sympy.latex(expr).replace(r"\mathbb{1}\left[", r"\operatorname{relu}'\left(").replace(r" > 0\right]", r"\right)")


@pytest.mark.parametrize("wrt", ["w^{3}_{1,2}", "w^{2}_{4,5}", "w^{1}_{2,3}", "b^{1}_{7}"])
def test_right_and_wrong_answers_on_a_relu_network(relu_net, wrt):
    checker = AnswerChecker(relu_net)
    right = relu_net.per_example_gradient(wrt)
    v = checker.check(_tex(right), wrt)
    assert v.verdict == "correct", v.feedback
    for wrong in ("0", _tex(-right), _tex(2 * right), _tex(right + 1)):
        v = checker.check(wrong, wrt)
        assert v.verdict == "incorrect", (wrong, v.feedback)


def test_a_dropped_relu_derivative_is_never_correct(relu_net):
    checker = AnswerChecker(relu_net)
    right = relu_net.per_example_gradient("w^{1}_{2,3}")
    steps = [s for s in right.atoms(sympy.Function) if type(s).__name__ in ("step", "Heaviside")]
    assert steps
    dropped = right.xreplace({steps[0]: sympy.S.One})
    assert checker.check(_tex(dropped), "w^{1}_{2,3}").verdict == "incorrect"


def test_cost_answers_use_the_batch_at_the_same_parameters():
    d = derive(parse_spec('title = "lazy"\nnotation = "index"\n[network]\nlayers = [4, 8, 8, 1]\n'
                          'activations = "sigmoid"\nloss = "bce"\nreduction = "mean"\n[parameters]\nseed = 0\n'
                          '[data]\nx = [[1, 2, 3, 4], [0, 1, 0, 1]]\ny = [[1], [0]]\n', source="lazy.toml"))
    checker = AnswerChecker(d)
    assert checker.lazy
    right = r"\frac{\partial J}{\partial b^{3}_{1}} = \frac{1}{n} \sum_i (\hat{y}_i - y_i)"
    v = checker.check(right)
    assert v.verdict == "correct", v.feedback
    assert checker.check(r"\frac{\partial J}{\partial b^{3}_{1}} = \sum_i (\hat{y}_i - y_i)").verdict == "incorrect"
