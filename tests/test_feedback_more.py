r"""Feedback that names the mistake, part 3 (issue 12): short counterexamples on bigger networks,
the path actually added, the wrong output unit of a softmax, π in a graph, the Huber loss's branches,
an indicator at a dead unit, tanh′ without its square.

The oracle shares no code with the checker: each network's loss is written out here by hand as one
SymPy expression of its leaves (z^{l+1}_i = Σ_j w^{l}_{i,j} a^{l}_j + b^{l}_i, the lectures'
definitions), differentiated with ``sympy.diff`` and evaluated in 40-digit floats.  Every wrong answer
is confirmed wrong by it, and undoing the named mistake gives ``sympy.diff`` of the loss.
"""
from __future__ import annotations

import random

import pytest
import sympy

from symbackprop import derive, load_spec
from symbackprop.verify.answers import AnswerChecker

S = sympy.Symbol


def _sigmoid(z):
    return 1 / (1 + sympy.exp(-z))


def _huber(r):
    """The Huber function with δ = 1: ½r² for |r| ≤ 1, |r| − ½ beyond (no Abs, so sympy.diff differentiates it)."""
    half = sympy.Rational(1, 2)
    return sympy.Piecewise((r ** 2 / 2, (r <= 1) & (r >= -1)), (r - half, r > 1), (-r - half, True))


ACT = {"sigmoid": _sigmoid, "tanh": sympy.tanh, "relu": lambda z: sympy.Max(0, z), "identity": lambda z: z}


def _network(layers, acts, loss):
    """(L, nodes): the per-example loss and the nodes z^{l}_{i}, a^{l}_{i} as expressions of the leaves."""
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
    if loss == "half_squared_error":
        L = sum((t - o) ** 2 for t, o in zip(y, a)) / 2
    elif loss == "cross_entropy":
        L = -sum(t * sympy.log(o) for t, o in zip(y, a))
    elif loss == "huber":
        L = sum(_huber(t - o) for t, o in zip(y, a))
    else:
        raise AssertionError(loss)
    return L, nodes


def _spec(tmp_path, name, layers, acts, loss, *, x, y, parameters="weights = 0.5\nbiases = -0.25"):
    path = tmp_path / f"{name}.toml"
    path.write_text(f'title = "{name}"\n[network]\nlayers = {layers}\nactivations = {acts}\nloss = "{loss}"\n'
                    f'[parameters]\n{parameters}\n[data]\nx = {x}\ny = {y}\n'.replace("'", '"'))
    return path


def _point(rng, leaves, *, softmax_targets=False, scale=3):
    v = {s: sympy.Rational(rng.randint(-10 * scale, 10 * scale), rng.choice((7, 11, 13))) for s in leaves}
    ys = [s for s in leaves if s.name.startswith("y_")]
    if softmax_targets:
        w = [rng.randint(1, 5) for _ in ys]
        v.update({s: sympy.Rational(wi, sum(w)) for s, wi in zip(ys, w)})
    return v


def _agree(f, g, leaves, *, n=8, seed=0, softmax_targets=False, points=None):
    rng = random.Random(seed)
    for point in points or [_point(rng, leaves, softmax_targets=softmax_targets) for _ in range(n)]:
        a, b = sympy.N(f.xreplace(point), 40), sympy.N(g.xreplace(point), 40)
        if abs(a - b) > 1e-25 * (1 + abs(b)):
            return False
    return True


def _leaves(expr):
    return sorted(expr.free_symbols, key=lambda s: s.name)


def _checker(path):
    return AnswerChecker(derive(load_spec(path)))


# --- 1. a counterexample shows what the answer and the reference depend on --------------------------

def test_a_counterexample_on_a_3_4_2_network_shows_only_what_matters(tmp_path):
    spec = _spec(tmp_path, "sig342", [3, 4, 2], ["sigmoid", "sigmoid"], "half_squared_error",
                 x=[[0.5, -1, 2]], y=[[1, 0]])
    L, nd = _network([3, 4, 2], ["sigmoid", "sigmoid"], "half_squared_error")
    w111 = S("w^{1}_{1,1}")
    answer_tex = (r"(\hat{y}_1 - y_1)\hat{y}_1(1-\hat{y}_1) w^{2}_{1,1} a^{2}_{1}(1-a^{2}_{1}) x_1 + 3 x_2")
    yh1, a21 = nd["a^{3}_{1}"], nd["a^{2}_{1}"]
    answer = (yh1 - S("y_{1}")) * yh1 * (1 - yh1) * S("w^{2}_{1,1}") * a21 * (1 - a21) * S("x_{1}") + 3 * S("x_{2}")
    oracle = sympy.diff(L, w111)
    assert not _agree(answer, oracle, _leaves(L))
    v = _checker(spec).check(answer_tex, wrt="w^{1}_{1,1}")
    cx = v.counterexample
    assert v.mistake == "counterexample" and cx["at"] == "a point with small values"
    assert len(v.feedback) < 420, v.feedback          # it was 1,700 characters: every leaf of the network
    assert "the other parameters at the spec's values" in v.feedback
    shown = cx["shown"]["point"]
    assert set(shown) == {"x_{1}", "x_{2}", "x_{3}", "y_1", "y_2", "w^{2}_{1,1}", "w^{2}_{2,1}"}
    assert set(cx["shown"]["nodes"]) == {"a^{2}_{1}", "ŷ_1", "ŷ_2"}
    shown_text = v.feedback.split("values (", 1)[1].split(")")[0]
    assert "w^{1}_" not in shown_text and "b^{" not in shown_text
    # every leaf is in the JSON point; the ones not shown are the spec's (weights ½, biases −¼)
    point = {S(k): sympy.Rational(s) for k, s in cx["point"].items()}
    assert set(point) == set(_leaves(L))
    for s, value in point.items():
        if s.name.startswith(("w^{1}", "b^{")):
            assert value == (sympy.Rational(1, 2) if s.name.startswith("w") else sympy.Rational(-1, 4))
    # oracle: the two numbers at that point, and a node's value shown there
    assert float(cx["expected"]) == pytest.approx(float(sympy.N(oracle.xreplace(point), 30)), rel=1e-8)
    assert float(cx["answer"]) == pytest.approx(float(sympy.N(answer.xreplace(point), 30)), rel=1e-8)
    assert cx["shown"]["nodes"]["a^{2}_{1}"] == f"{float(sympy.N(a21.xreplace(point), 30)):.4g}"


# --- 2. the path actually added ---------------------------------------------------------------------

def test_an_extra_path_names_the_parameter_it_starts_at(tmp_path):
    spec = _spec(tmp_path, "sig221", [2, 2, 1], ["sigmoid", "sigmoid"], "half_squared_error", x=[[1, 0]], y=[[1]])
    L, nd = _network([2, 2, 1], ["sigmoid", "sigmoid"], "half_squared_error")
    yh, y, a1, a2 = nd["a^{3}_{1}"], S("y_{1}"), nd["a^{2}_{1}"], nd["a^{2}_{2}"]
    out = (yh - y) * yh * (1 - yh)
    checker = _checker(spec)
    cases = [  # (wrt, LaTeX, the added term, the parameter the added path starts at)
        ("w^{1}_{1,1}", r"+ (\hat{y}-y)\hat{y}(1-\hat{y}) w^{2}_{1,2} a^{2}_{2}(1-a^{2}_{2}) x_1",
         out * S("w^{2}_{1,2}") * a2 * (1 - a2) * S("x_{1}"), "w^{1}_{2,1}"),
        ("w^{1}_{1,1}", r"+ (\hat{y}-y)\hat{y}(1-\hat{y}) w^{2}_{1,2} a^{2}_{2}(1-a^{2}_{2})",
         out * S("w^{2}_{1,2}") * a2 * (1 - a2), "b^{1}_{2}"),
        ("b^{1}_{1}", r"+ (\hat{y}-y)\hat{y}(1-\hat{y}) w^{2}_{1,2} a^{2}_{2}(1-a^{2}_{2}) x_2",
         out * S("w^{2}_{1,2}") * a2 * (1 - a2) * S("x_{2}"), "w^{1}_{2,2}"),
    ]
    for wrt, extra_tex, extra, start in cases:
        own = sympy.diff(L, S(wrt))
        assert _agree(extra, sympy.diff(L, S(start)), _leaves(L)), "the added term is the path from " + start
        assert not _agree(own + extra, own, _leaves(L))
        mine = {"w^{1}_{1,1}": r"x_1", "b^{1}_{1}": r"1"}[wrt]
        tex = rf"(\hat{{y}}-y)\hat{{y}}(1-\hat{{y}}) w^{{2}}_{{1,1}} a^{{2}}_{{1}}(1-a^{{2}}_{{1}}) \cdot {mine} {extra_tex}"
        v = checker.check(tex, wrt=wrt)
        assert v.mistake == "extra_path" and f"∂L/∂{start}" in v.feedback, v.feedback
        assert f"{start} → z^{{2}}_{{2}} → a^{{2}}_{{2}} → z^{{3}}_{{1}} → ŷ → L" in v.feedback


def test_an_extra_path_through_a_softmax_is_the_term_that_enters_the_output_layer(tmp_path):
    spec = _spec(tmp_path, "soft233", [2, 3, 3], ["sigmoid", "softmax"], "cross_entropy", x=[[1, 0.5]], y=[[0, 1, 0]])
    L, nd = _network([2, 3, 3], ["sigmoid", "softmax"], "cross_entropy")
    yh, y = [nd[f"a^{{3}}_{{{k}}}"] for k in (1, 2, 3)], [S(f"y_{{{k}}}") for k in (1, 2, 3)]
    a = {j: nd[f"a^{{2}}_{{{j}}}"] for j in (1, 2, 3)}
    x1 = S("x_{1}")
    own = sum((yh[k] - y[k]) * S(f"w^{{2}}_{{{k + 1},1}}") for k in range(3)) * a[1] * (1 - a[1]) * x1
    extra = (yh[0] - y[0]) * S("w^{2}_{1,2}") * a[2] * (1 - a[2]) * x1     # w^{1}_{2,1} → … → z^{3}_{1} → L
    assert _agree(own, sympy.diff(L, S("w^{1}_{1,1}")), _leaves(L), softmax_targets=True)
    assert not _agree(own + extra, own, _leaves(L), softmax_targets=True)
    v = _checker(spec).check(r"\sum_{k=1}^{3}(\hat{y}_k - y_k) w^{2}_{k,1} a^{2}_{1}(1-a^{2}_{1}) x_1 + "
                             r"(\hat{y}_1 - y_1) w^{2}_{1,2} a^{2}_{2}(1-a^{2}_{2}) x_1", wrt="w^{1}_{1,1}")
    assert v.mistake == "extra_path", v.feedback
    assert "w^{1}_{2,1} → z^{2}_{2} → a^{2}_{2} → z^{3}_{1} → ŷ_1, ŷ_2, ŷ_3 → L" in v.feedback


# --- 3. the wrong output unit of a softmax -----------------------------------------------------------

@pytest.mark.parametrize("width", [2, 3])
def test_the_other_output_units_error_is_named_as_such(tmp_path, width):
    y_row = [[1, 0]] if width == 2 else [[0, 1, 0]]
    spec = _spec(tmp_path, f"soft2{width}", [2, 2, width], ["sigmoid", "softmax"], "cross_entropy", x=[[0.5, -1]], y=y_row)
    L, nd = _network([2, 2, width], ["sigmoid", "softmax"], "cross_entropy")
    yh = [nd[f"a^{{3}}_{{{k}}}"] for k in range(1, width + 1)]
    y = [S(f"y_{{{k}}}") for k in range(1, width + 1)]
    checker = _checker(spec)
    for wrt, factor_tex, factor in (("b^{2}_{1}", "", 1), ("w^{2}_{1,2}", "a^{2}_{2}", nd["a^{2}_{2}"])):
        oracle = sympy.diff(L, S(wrt))
        assert _agree((yh[0] - y[0]) * factor, oracle, _leaves(L), softmax_targets=True)   # ŷ_1 − y_1 belongs
        wrong = (yh[1] - y[1]) * factor
        assert not _agree(wrong, oracle, _leaves(L), softmax_targets=True)
        v = checker.check(rf"(\hat{{y}}_2 - y_2) {factor_tex}", wrt=wrt)
        assert v.mistake == "wrong_output_unit", v.feedback
        assert "ŷ_2 − y_2" in v.feedback and "ŷ_1 − y_1" in v.feedback and "output unit 2" in v.feedback
        assert "sign" not in v.feedback
    # the same unit with the sign flipped is still a sign error
    assert checker.check(r"y_1 - \hat{y}_1", wrt="b^{2}_{1}").mistake == "sign"


# --- 4. π in a graph spec ------------------------------------------------------------------------------

def test_pi_in_a_graph_spec_is_the_constant_at_the_sample_points(tmp_path):
    spec = tmp_path / "pi.toml"
    spec.write_text('title = "pi"\n[graph]\nequations = ["f = pi * x^2 + y"]\n[data]\nx = 2\ny = 1\n')
    checker = _checker(spec)
    x, y = S("x"), S("y")
    oracle = sympy.diff(sympy.pi * x ** 2 + y, x)
    v = checker.check("2 x", wrt="x")
    assert v.verdict == "incorrect" and v.mistake == "counterexample", v.feedback
    point = {S(k): sympy.Rational(s) for k, s in v.counterexample["point"].items()}
    assert float(v.counterexample["expected"]) == pytest.approx(float(oracle.xreplace(point)), rel=1e-9)
    # the right answer, once the answer's names include π (the vocabulary edit the report describes)
    checker.names["pi"] = sympy.pi
    assert checker.check(r"2 pi x", wrt="x").verdict == "correct"
    assert checker.check(r"2 pi x + 1", wrt="x").verdict == "incorrect"


def test_a_spec_that_defines_pi_makes_it_its_own_symbol(tmp_path):
    spec = tmp_path / "pivar.toml"
    spec.write_text('title = "pi var"\n[graph]\nequations = ["f = pi * x^2"]\n[data]\nx = 2\npi = 3\n')
    checker = _checker(spec)
    assert checker.check("2 pi x", wrt="x").verdict == "correct"
    assert checker.check("x^2", wrt="pi").verdict == "correct"
    assert checker.check("3 x^2", wrt="pi").verdict == "incorrect"


# --- 5. the Huber loss: both branches get points --------------------------------------------------------

def test_huber_answers_are_checked_on_both_branches(tmp_path):
    spec = _spec(tmp_path, "huber", [2, 2, 1], ["sigmoid", "identity"], "huber", x=[[1, 0]], y=[[1]],
                 parameters="weights = 1.0\nbiases = 1.0")
    L, nd = _network([2, 2, 1], ["sigmoid", "identity"], "huber")
    yh, y, a21 = nd["a^{3}_{1}"], S("y_{1}"), nd["a^{2}_{1}"]
    oracle = sympy.diff(L, S("w^{2}_{1,1}"))
    checker = _checker(spec)
    kinks = checker._kinks
    signs = {tuple(p.evaluate(k).sign() for k in kinks) for p in checker.points()}
    assert {(-1, -1), (-1, 1), (1, 1)} <= signs      # ŷ − y below −1, within [−1, 1], above 1
    inner = (yh - y) * a21                            # right only where |ŷ − y| ≤ 1
    # oracle points on each branch: y = ŷ − r for a chosen r (the target moves the branch, ŷ stays)
    rng = random.Random(3)
    for r in (sympy.Rational(1, 3), sympy.Rational(5, 2), sympy.Rational(-7, 3)):
        point = _point(rng, [s for s in _leaves(L) if s != y], scale=1)
        point[y] = sympy.nsimplify(sympy.N(yh.xreplace(point), 30), rational=True) - r
        agrees = _agree(inner, oracle, _leaves(L), points=[point])
        assert agrees == (abs(r) <= 1)
    v = checker.check(r"(\hat{y}-y) a^{2}_{1}", wrt="w^{2}_{1,1}")
    assert v.verdict == "incorrect" and "could not find points" not in v.feedback
    clipped = (r"\left((\hat{y}-y)\mathbb{1}[\hat{y} - y < 1]\mathbb{1}[\hat{y}-y > -1] + \mathbb{1}[\hat{y}-y > 1]"
               r" - \mathbb{1}[\hat{y}-y < -1]\right) a^{2}_{1}")
    assert checker.check(clipped, wrt="w^{2}_{1,1}").verdict == "correct"
    assert checker.check(r"\frac{\partial L}{\partial \hat{y}} a^{2}_{1}", wrt="w^{2}_{1,1}").verdict == "correct"


# --- 6. an indicator at a dead unit ---------------------------------------------------------------------

def test_an_indicator_of_a_dead_units_activation_is_defined(tmp_path):
    spec = _spec(tmp_path, "relu2331", [2, 3, 3, 1], ["relu", "relu", "identity"], "half_squared_error",
                 x=[[1, -2]], y=[[1]], parameters="seed = 4")
    L, nd = _network([2, 3, 3, 1], ["relu", "relu", "identity"], "half_squared_error")
    yh, y, z31, a22 = nd["a^{4}_{1}"], S("y_{1}"), nd["z^{3}_{1}"], nd["a^{2}_{2}"]
    w = S("w^{3}_{1,1}")
    oracle = sympy.diff(L, S("w^{2}_{1,2}"))
    step_a = sympy.Heaviside(sympy.Max(0, z31), 0)   # 1[a > 0], 0 at a dead unit
    assert _agree((yh - y) * w * step_a * a22, oracle, _leaves(L), n=12)
    checker = _checker(spec)
    for tex in (r"(\hat{y} - y) w^{3}_{1,1} \mathbb{1}[a^{3}_{1} > 0] a^{2}_{2}",
                r"(\hat{y} - y) w^{3}_{1,1} \mathbb{1}[z^{3}_{1} > 0] a^{2}_{2}"):
        v = checker.check(tex, wrt="w^{2}_{1,2}")
        assert v.verdict == "correct", v.feedback
    # a dead unit's indicator is 0, not "undefined", in a wrong answer's counterexample too
    v = checker.check(r"(\hat{y} - y) \mathbb{1}[a^{3}_{1} > 0] a^{2}_{2}", wrt="w^{2}_{1,2}")
    assert v.verdict == "incorrect" and "undefined" not in v.feedback


# --- 7. tanh′ without its square -------------------------------------------------------------------------

def test_tanh_prime_without_its_square_is_named(tmp_path):
    spec = _spec(tmp_path, "tanh221", [2, 2, 1], ["tanh", "identity"], "half_squared_error", x=[[1, 0]], y=[[1]])
    L, nd = _network([2, 2, 1], ["tanh", "identity"], "half_squared_error")
    yh, y, z21, x1 = nd["a^{3}_{1}"], S("y_{1}"), nd["z^{2}_{1}"], S("x_{1}")
    core = (yh - y) * S("w^{2}_{1,1}") * x1
    oracle = sympy.diff(L, S("w^{1}_{1,1}"))
    assert _agree(core * sympy.sech(z21) ** 2, oracle, _leaves(L))
    checker = _checker(spec)
    for tex, wrong, written in ((r"\operatorname{sech}(z^{2}_{1})", sympy.sech(z21), "sech(z^{2}_{1})"),
                                (r"(1 - \tanh(z^{2}_{1}))", 1 - sympy.tanh(z21), "1 − a^{2}_{1}")):
        assert not _agree(core * wrong, oracle, _leaves(L))
        v = checker.check(rf"(\hat{{y}} - y) w^{{2}}_{{1,1}} {tex} x_1", wrt="w^{1}_{1,1}")
        assert v.mistake == "activation_derivative_incomplete", v.feedback
        assert "tanh′(z^{2}_{1}) = 1 − (a^{2}_{1})²" in v.feedback and "without the square" in v.feedback
        assert f"your answer has {written}" in v.feedback
    assert "sech²(z^{2}_{1})" in checker.check(r"(\hat{y} - y) w^{2}_{1,1} \operatorname{sech}(z^{2}_{1}) x_1",
                                               wrt="w^{1}_{1,1}").feedback


# --- robustness found on the way ---------------------------------------------------------------------

def test_a_saturated_sigmoid_at_a_sample_point_is_no_crash(tmp_path):
    """[2,5,3,1] ReLU net with a sigmoid output: at one sample point z^{4}_{1} ≈ 234, so 1 − ŷ is below
    the 100-digit approximation; the quotient answer/reference was a ZeroDivisionError there."""
    spec = _spec(tmp_path, "relu2531", [2, 5, 3, 1], ["relu", "relu", "sigmoid"], "half_squared_error",
                 x=[[0.5, -1]], y=[[1]], parameters="seed = 1")
    checker = _checker(spec)
    own = r"(\hat{y} - y)\hat{y}(1 - \hat{y}) a^{3}_{1}"
    assert checker.check(own, wrt="w^{3}_{1,1}").verdict == "correct"
    v = checker.check(own + r" + (\hat{y} - y)\hat{y}(1 - \hat{y}) a^{3}_{2}", wrt="w^{3}_{1,1}")
    assert v.mistake == "extra_path" and "w^{3}_{1,2}" in v.feedback, v.feedback
    assert checker.check(r"-" + own, wrt="w^{3}_{1,1}").mistake == "sign"


def test_a_non_strict_indicator_of_a_relu_output_is_not_relu_prime(tmp_path):
    spec = _spec(tmp_path, "relu2331", [2, 3, 3, 1], ["relu", "relu", "identity"], "half_squared_error",
                 x=[[1, -2]], y=[[1]], parameters="seed = 4")
    L, nd = _network([2, 3, 3, 1], ["relu", "relu", "identity"], "half_squared_error")
    yh, y, a22 = nd["a^{4}_{1}"], S("y_{1}"), nd["a^{2}_{2}"]
    assert not _agree((yh - y) * S("w^{3}_{1,1}") * a22, sympy.diff(L, S("w^{2}_{1,2}")), _leaves(L), n=12)
    v = _checker(spec).check(r"(\hat{y} - y) w^{3}_{1,1} \mathbb{1}[a^{3}_{1} \ge 0] a^{2}_{2}", wrt="w^{2}_{1,2}")
    assert v.verdict == "incorrect"
    assert v.mistake == "activation_derivative_missing" and "1[a ≥ 0], is 1 everywhere" in v.feedback, v.feedback
    right = _checker(spec).check(r"(\hat{y} - y) w^{3}_{1,1} \mathbb{1}[z^{3}_{1} > 0] a^{2}_{2}", wrt="w^{2}_{1,2}")
    assert _agree((yh - y) * S("w^{3}_{1,1}") * sympy.Heaviside(nd["z^{3}_{1}"], 0) * a22,
                  sympy.diff(L, S("w^{2}_{1,2}")), _leaves(L), n=12) == (right.verdict == "correct"), right.feedback
