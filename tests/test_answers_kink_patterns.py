"""A ReLU answer that drops relu′ is wrong only where its unit is off while the units before it are on:
the sample points must reach that joint pattern, not just each unit's two sides one at a time.

Seen by a new user: on a [2,5,3,1] ReLU network, `(ŷ − y) w^{3}_{1,3} a^{2}_{2}` (relu′(z^{3}_{3})
dropped) was graded correct at 6 points, and 5 of the 15 layer-2 weights' dropped-relu′ answers
passed; 10 of 64 on a [2,8,8,1] network (lazy points).  The oracle here is ``sympy.diff`` of the
loss written out with plain SymPy (``test_oracles.expanded_loss``), at random rational points: it
proves each such answer wrong (a point where the two differ) and the right one equal to it.
"""
import random

import pytest
import sympy

from symbackprop.verify.checker import AnswerChecker
from symbackprop import derive, load_spec
from test_oracles import expanded_loss

SPEC = """title = "relu {layers}"
[network]
layers = {layers}
activations = ["relu", "relu", "identity"]
loss = "half_squared_error"
[data]
x = [[0.5, 0.5]]
y = [[1]]
"""


_SYMBOLS: dict = {}


def _sym(name):
    """The oracle's own symbol of that name (it carries assumptions, so a plain Symbol would differ)."""
    return _SYMBOLS.get(name) or sympy.Symbol(name)


def _expanded_answer(layers, i, j, with_relu_prime):
    """(ŷ − y) w^{3}_{1,i} [relu′(z^{3}_{i})] a^{2}_{j}, written out in the leaves with plain SymPy."""
    relu = lambda t: sympy.Piecewise((t, t > 0), (0, True))  # noqa: E731
    step = lambda t: sympy.Piecewise((1, t > 0), (0, True))  # noqa: E731
    x = [_sym(f"x_{{{k}}}") for k in range(1, layers[0] + 1)]
    z2 = [sum(_sym(f"w^{{1}}_{{{r},{k}}}") * x[k - 1] for k in range(1, layers[0] + 1)) + _sym(f"b^{{1}}_{{{r}}}")
          for r in range(1, layers[1] + 1)]
    a2 = [relu(z) for z in z2]
    z3 = [sum(_sym(f"w^{{2}}_{{{r},{k}}}") * a2[k - 1] for k in range(1, layers[1] + 1)) + _sym(f"b^{{2}}_{{{r}}}")
          for r in range(1, layers[2] + 1)]
    a3 = [relu(z) for z in z3]
    yhat = sum(_sym(f"w^{{3}}_{{1,{k}}}") * a3[k - 1] for k in range(1, layers[2] + 1)) + _sym("b^{3}_{1}")
    out = (yhat - _sym("y_{1}")) * _sym(f"w^{{3}}_{{1,{i}}}") * a2[j - 1]
    return out * step(z3[i - 1]) if with_relu_prime else out


def _differ_somewhere(a, b, rng, tries=300):
    """A point (random rationals as floats) where the two differ by more than rounding."""
    symbols = sorted(a.free_symbols | b.free_symbols, key=str)
    fa, fb = (sympy.lambdify(symbols, e, "math") for e in (a, b))
    for _ in range(tries):
        point = [rng.choice([-1, 1]) * rng.randint(1, 60) / rng.randint(2, 13) for _ in symbols]
        va, vb = fa(*point), fb(*point)
        if abs(va - vb) > 1e-9 * (1 + abs(va) + abs(vb)):
            return True
    return False


@pytest.mark.parametrize("layers", [[2, 5, 3, 1]], ids=["2-5-3-1"])
def test_a_dropped_relu_prime_is_never_graded_correct(tmp_path, layers):
    p = tmp_path / "relu.toml"
    p.write_text(SPEC.format(layers=layers))
    checker = AnswerChecker(derive(load_spec(p)))
    assert not checker.lazy
    full = expanded_loss(layers, ["relu", "relu", "identity"], "half_squared_error")
    _SYMBOLS.clear()
    _SYMBOLS.update({str(s): s for s in full.free_symbols})
    rng = random.Random(7)
    # the oracle (sympy.diff through nested Piecewise) is slow: three weights, one the new user's
    for i, j in [(3, 2), (1, 4), (2, 5)]:
        wrt = f"w^{{2}}_{{{i},{j}}}"
        truth = sympy.diff(full, _sym(wrt))
        wrong = _expanded_answer(layers, i, j, with_relu_prime=False)
        right = _expanded_answer(layers, i, j, with_relu_prime=True)
        assert _differ_somewhere(truth, wrong, rng), wrt          # the oracle: this answer is wrong
        assert not _differ_somewhere(truth, right, rng, tries=40), wrt
        v = checker.check(rf"(\hat{{y}} - y) w^{{3}}_{{1,{i}}} a^{{2}}_{{{j}}}", wrt=wrt)
        assert v.verdict != "correct", (wrt, v.feedback)
        v = checker.check(rf"(\hat{{y}} - y) w^{{3}}_{{1,{i}}} \operatorname{{relu}}'(z^{{3}}_{{{i}}}) a^{{2}}_{{{j}}}",
                          wrt=wrt)
        assert v.verdict == "correct", (wrt, v.feedback)


def test_the_same_on_a_network_with_lazy_points(tmp_path):
    """[2,8,8,1] (105 parameters: lazy points). The answers are the same formulas as above, whose
    wrongness the oracle proved there; here every layer-2 weight is tried."""
    p = tmp_path / "relu.toml"
    p.write_text(SPEC.format(layers=[2, 8, 8, 1]))
    checker = AnswerChecker(derive(load_spec(p)))
    assert checker.lazy
    for i in range(1, 9):
        for j in range(1, 9):
            wrt = f"w^{{2}}_{{{i},{j}}}"
            v = checker.check(rf"(\hat{{y}} - y) w^{{3}}_{{1,{i}}} a^{{2}}_{{{j}}}", wrt=wrt)
            assert v.verdict != "correct", (wrt, v.feedback)
            v = checker.check(rf"(\hat{{y}} - y) w^{{3}}_{{1,{i}}} \operatorname{{relu}}'(z^{{3}}_{{{i}}}) a^{{2}}_{{{j}}}",
                              wrt=wrt)
            assert v.verdict == "correct", (wrt, v.feedback)
