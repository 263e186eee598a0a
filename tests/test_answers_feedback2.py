r"""Feedback that names the mistake, part 2 (issue 12's measured targets): mistakes generated from the
derivation on networks other than the held-out set's, each confirmed by an oracle that shares no code
with the checker.

The oracle is the loss written out by hand as one SymPy expression of the leaves
(``test_answers_mistakes._network``), differentiated with ``sympy.diff`` and compared at random points
in 40-digit floats: every case is a wrong answer, and undoing the named mistake gives ``sympy.diff``
of the loss, so a test fails when the checker names another mistake or the case is not what it claims.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import sympy

from symbackprop.verify.answers import checker_for_spec
from test_answers_mistakes import _agree, _leaves, _network

ROOT = Path(__file__).resolve().parents[1]
RELU = ROOT / "tests" / "data" / "relu_2_3_3_1.toml"
SOFTMAX = ROOT / "tests" / "data" / "tanh_softmax_3_4_2.toml"
GENDER = ROOT / "derivations" / "gender.toml"
SHARED = ROOT / "derivations" / "step_by_step_shared_biases.toml"

S = sympy.Symbol


def _spec(tmp_path, name, layers, activations, loss, *, x, y, extra=""):
    path = tmp_path / f"{name}.toml"
    path.write_text(f'title = "{name}"\nnotation = "index"\n\n[network]\nlayers = {layers}\n'
                    f'activations = {activations}\nloss = "{loss}"\nreduction = "mean"\n\n'
                    f'[parameters]\n{extra or "seed = 7"}\n\n[data]\nx = {x}\ny = {y}\n'.replace("'", '"'))
    return path


def _named(checker, wrt, latex, mistake, words):
    v = checker.check(latex, wrt=wrt)
    assert v.verdict == "incorrect" and v.mistake == mistake, (v.mistake, v.feedback)
    for w in words:
        assert w in v.feedback, v.feedback
    assert "**" not in v.feedback and "*" not in v.feedback
    return v


def _confirm(L, wrt, answer, undone, *, softmax=False, n=6):
    oracle = sympy.diff(L, S(wrt))
    leaves = _leaves(L)
    assert not _agree(answer, oracle, leaves, n=n, softmax=softmax), "the case must be a wrong answer"
    assert _agree(undone, oracle, leaves, n=n, softmax=softmax), "undoing the mistake must give sympy.diff of L"


# --- activations' derivatives -----------------------------------------------------------------

def test_z_written_where_a_belongs_in_a_tanh_layer_of_a_softmax_net():
    L, nd = _network([3, 4, 2], ["tanh", "softmax"], "cross_entropy")
    yh, y = [nd["yhat_1"], nd["yhat_2"]], [S("y_{1}"), S("y_{2}")]
    z22, a22, x3 = nd["z^{2}_{2}"], nd["a^{2}_{2}"], S("x_{3}")
    core = sum((yh[k] - y[k]) * S(f"w^{{2}}_{{{k + 1},2}}") for k in range(2))
    _confirm(L, "w^{1}_{2,3}", core * (1 - z22 ** 2) * x3, core * (1 - a22 ** 2) * x3, softmax=True)
    _named(checker_for_spec(SOFTMAX), "w^{1}_{2,3}",
           r"\sum_{k=1}^{2} (\hat{y}_k - y_k) w^{2}_{k,2} (1 - (z^{2}_{2})^2) x_3",
           "activation_derivative_in_z", ["where a^{2}_{2} belongs", "tanh′(z) = 1 − a²"])


def test_half_of_tanh_prime_is_named_as_the_missing_part():
    L, nd = _network([3, 4, 2], ["tanh", "softmax"], "cross_entropy")
    yh, y = [nd["yhat_1"], nd["yhat_2"]], [S("y_{1}"), S("y_{2}")]
    a24, x1 = nd["a^{2}_{4}"], S("x_{1}")
    core = sum((yh[k] - y[k]) * S(f"w^{{2}}_{{{k + 1},4}}") for k in range(2))
    _confirm(L, "w^{1}_{4,1}", core * (1 - a24) * x1, core * (1 - a24 ** 2) * x1, softmax=True)
    _named(checker_for_spec(SOFTMAX), "w^{1}_{4,1}",
           r"\left((\hat{y}_1 - y_1) w^{2}_{1,4} + (\hat{y}_2 - y_2) w^{2}_{2,4}\right)(1 - a^{2}_{4}) x_1",
           "activation_derivative_incomplete", ["tanh′(z^{2}_{4}) = 1 − (a^{2}_{4})²", "without"])


def test_another_node_inside_sigma_prime(tmp_path):
    spec = _spec(tmp_path, "sig321", [3, 2, 1], ["sigmoid", "sigmoid"], "half_squared_error",
                 x=[[1, 2, -1]], y=[[0]])
    L, nd = _network([3, 2, 1], ["sigmoid", "sigmoid"], "half_squared_error")
    yh, y, a21, x2 = nd["yhat_1"], S("y_{1}"), nd["a^{2}_{1}"], S("x_{2}")
    out = (yh - y) * yh * (1 - yh) * S("w^{2}_{1,1}")
    _confirm(L, "w^{1}_{1,2}", out * x2 * (1 - x2) * x2, out * a21 * (1 - a21) * x2)
    _named(checker_for_spec(spec), "w^{1}_{1,2}",
           r"(\hat{y} - y)\hat{y}(1 - \hat{y}) w^{2}_{1,1} x_2(1 - x_2) x_2",
           "activation_derivative_wrong_node", ["x_{2}(1 − x_{2}) is written in x_{2} where a^{2}_{1} belongs"])


def test_the_relu_value_where_its_derivative_belongs():
    """a^{3}_{1} = ReLU(z^{3}_{1}) for ReLU′(z^{3}_{1}): equal to the gradient times z^{3}_{1} where the unit
    is on, so "an extra factor z" was said before; the mutation names the activation used for its derivative."""
    L, nd = _network([2, 3, 3, 1], ["relu", "relu", "identity"], "half_squared_error")
    yh, y, z31, a31, a22 = nd["yhat_1"], S("y_{1}"), nd["z^{3}_{1}"], nd["a^{3}_{1}"], nd["a^{2}_{2}"]
    w = S("w^{3}_{1,1}")
    _confirm(L, "w^{2}_{1,2}", (yh - y) * w * a31 * a22, (yh - y) * w * sympy.Heaviside(z31) * a22, n=12)
    checker = checker_for_spec(RELU)
    for text in (r"(\hat{y} - y) w^{3}_{1,1} a^{3}_{1} a^{2}_{2}", r"(\hat{y} - y) w^{3}_{1,1} \operatorname{relu}(z^{3}_{1}) a^{2}_{2}"):
        v = _named(checker, "w^{2}_{1,2}", text, "activation_for_derivative",
                   ["the activation itself where its derivative belongs", "ReLU′(z^{3}_{1}) = 1[z^{3}_{1} > 0]"])
        assert "extra factor" not in v.feedback


def test_an_extra_factor_is_named_as_written():
    """a^{2}_{3} where the unit is on equals z^{2}_{3}: the feedback names the a the student wrote."""
    L, nd = _network([2, 3, 3, 1], ["relu", "relu", "identity"], "half_squared_error")
    yh, y, z31, a22, a23 = nd["yhat_1"], S("y_{1}"), nd["z^{3}_{1}"], nd["a^{2}_{2}"], nd["a^{2}_{3}"]
    right = (yh - y) * S("w^{3}_{1,1}") * sympy.Heaviside(z31) * a22
    _confirm(L, "w^{2}_{1,2}", right * a23, right, n=12)
    _named(checker_for_spec(RELU), "w^{2}_{1,2}",
           r"(\hat{y} - y) w^{3}_{1,1} \mathbb{1}[z^{3}_{1} > 0] a^{2}_{2} a^{2}_{3}", "extra_factor", ["a^{2}_{3}"])


# --- paths and indices --------------------------------------------------------------------------

def _relu_delta3(nd, j):
    return (nd["yhat_1"] - S("y_{1}")) * S(f"w^{{3}}_{{1,{j}}}") * sympy.Heaviside(nd[f"z^{{3}}_{{{j}}}"])


def test_one_spurious_path_added_to_the_sum():
    L, nd = _network([2, 3, 3, 1], ["relu", "relu", "identity"], "half_squared_error")
    step = lambda k: sympy.Heaviside(nd[f"z^{{2}}_{{{k}}}"])  # noqa: E731
    right = sum(_relu_delta3(nd, j) * S(f"w^{{2}}_{{{j},1}}") for j in (1, 2, 3)) * step(1)
    spurious = _relu_delta3(nd, 2) * S("w^{2}_{2,3}") * step(3)
    _confirm(L, "b^{1}_{1}", right + spurious, right, n=12)
    _named(checker_for_spec(RELU), "b^{1}_{1}",
           r"\sum_{j=1}^{3} \delta^{3}_{j} w^{2}_{j,1} \mathbb{1}[z^{2}_{1} > 0] + \delta^{3}_{2} w^{2}_{2,3} \mathbb{1}[z^{2}_{3} > 0]",
           "extra_path", ["an extra path", "b^{1}_{3} → z^{2}_{3}"])


def test_swapped_weight_indices_inside_a_sum():
    L, nd = _network([2, 3, 3, 1], ["relu", "relu", "identity"], "half_squared_error")
    step = sympy.Heaviside(nd["z^{2}_{2}"])
    wrong = sum(_relu_delta3(nd, j) * S(f"w^{{2}}_{{2,{j}}}") for j in (1, 2, 3)) * step
    right = sum(_relu_delta3(nd, j) * S(f"w^{{2}}_{{{j},2}}") for j in (1, 2, 3)) * step
    _confirm(L, "b^{1}_{2}", wrong, right, n=12)
    _named(checker_for_spec(RELU), "b^{1}_{2}",
           r"\sum_{j=1}^{3} \delta^{3}_{j}\, w^{2}_{2,j}\, \mathbb{1}[z^{2}_{2} > 0]",
           "transposed_indices", ["swapped weight indices", "w^{2}_{2,1}, w^{2}_{2,3} where w^{2}_{1,2}, w^{2}_{3,2} belong"])


def test_the_paths_through_one_output_unit_dropped():
    L, nd = _network([3, 4, 2], ["tanh", "softmax"], "cross_entropy")
    yh, y, a23, x1 = [nd["yhat_1"], nd["yhat_2"]], [S("y_{1}"), S("y_{2}")], nd["a^{2}_{3}"], S("x_{1}")
    term = [(yh[k] - y[k]) * S(f"w^{{2}}_{{{k + 1},3}}") * (1 - a23 ** 2) * x1 for k in range(2)]
    _confirm(L, "w^{1}_{3,1}", term[0], term[0] + term[1], softmax=True)
    _named(checker_for_spec(SOFTMAX), "w^{1}_{3,1}", r"(\hat{y}_1 - y_1) w^{2}_{1,3} (1 - (a^{2}_{3})^2) x_1",
           "missing_path", ["z^{3}_{2}"])


def test_a_neighbours_gradient_names_the_factors_of_its_path(tmp_path):
    spec = _spec(tmp_path, "sig321", [3, 2, 1], ["sigmoid", "sigmoid"], "half_squared_error",
                 x=[[1, 2, -1]], y=[[0]])
    L, nd = _network([3, 2, 1], ["sigmoid", "sigmoid"], "half_squared_error")
    yh, y, a21, a22, x3 = nd["yhat_1"], S("y_{1}"), nd["a^{2}_{1}"], nd["a^{2}_{2}"], S("x_{3}")
    out = (yh - y) * yh * (1 - yh)
    _confirm(L, "w^{1}_{1,3}", out * S("w^{2}_{1,2}") * a22 * (1 - a22) * x3, out * S("w^{2}_{1,1}") * a21 * (1 - a21) * x3)
    v = _named(checker_for_spec(spec), "w^{1}_{1,3}",
               r"(\hat{y} - y)\hat{y}(1 - \hat{y}) w^{2}_{1,2} a^{2}_{2}(1 - a^{2}_{2}) x_3", "wrong_parameter",
               ["this is ∂L/∂w^{1}_{2,3}", "w^{2}_{1,2}", "belong to the path of w^{1}_{2,3}"])
    assert "a^{2}_{2}(1 − a^{2}_{2})" in v.feedback


# --- constants with n = 2 -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def two_examples(tmp_path_factory):
    """2-2-1 sigmoid, squared error without ½, mean over n = 2: a 1/n and a power rule's 2 are both ½."""
    return _spec(tmp_path_factory.mktemp("n2"), "se221", [2, 2, 1], ["sigmoid", "sigmoid"], "squared_error",
                 x=[[1, 2], [0.5, -1]], y=[[1], [0]])


def _se221():
    L, nd = _network([2, 2, 1], ["sigmoid", "sigmoid"], "half_squared_error")
    return 2 * L, nd                                # (y − ŷ)², no ½


def test_a_missing_power_rule_2_is_not_blamed_on_the_batch_mean(two_examples):
    L, nd = _se221()
    yh, y, a21 = nd["yhat_1"], S("y_{1}"), nd["a^{2}_{1}"]
    half = (yh - y) * yh * (1 - yh) * a21
    _confirm(L, "w^{2}_{1,1}", half, 2 * half)
    v = _named(checker_for_spec(two_examples), "w^{2}_{1,1}", r"(\hat{y} - y)\hat{y}(1 - \hat{y}) a^{2}_{1}",
               "constant_factor", ["a factor 2 is missing", "power rule"])
    assert "mean" not in v.feedback and "1/n" not in v.feedback


def test_a_written_2_over_n_names_the_1_over_n_not_a_missing_2(two_examples):
    """n = 2: ½ of the per-example gradient could be a missing power-rule 2 or the mean's 1/n; an
    answer that writes its 2 (2/n) has the 2, so only the 1/n is named."""
    L, nd = _se221()
    yh, y, a21 = nd["yhat_1"], S("y_{1}"), nd["a^{2}_{1}"]
    right = 2 * (yh - y) * yh * (1 - yh) * a21
    _confirm(L, "w^{2}_{1,1}", right / 2, right)
    v = _named(checker_for_spec(two_examples), "w^{2}_{1,1}", r"\frac{2}{n}(\hat{y} - y)\hat{y}(1 - \hat{y}) a^{2}_{1}",
               "constant_factor", ["batch mean's 1/n = 1/2"])
    assert "either" not in v.feedback and "factor 2 is missing" not in v.feedback, v.feedback
    v = _named(checker_for_spec(two_examples), "w^{2}_{1,1}", r"(\hat{y} - y)\hat{y}(1 - \hat{y}) a^{2}_{1}",
               "constant_factor", ["a factor 2 is missing"])


def test_a_sum_for_the_mean_cost_says_what_J_is(two_examples):
    L, nd = _se221()
    yh, y, a21 = nd["yhat_1"], S("y_{1}"), nd["a^{2}_{1}"]
    per_example = 2 * (yh - y) * yh * (1 - yh) * a21      # ∂L_e/∂w; ∂J/∂w = (1/2) Σ_e of it
    _confirm(L, "w^{2}_{1,1}", per_example / 2, per_example)
    v = _named(checker_for_spec(two_examples), None,
               r"\frac{\partial J}{\partial w^{2}_{1,1}} = \sum_{i=1}^{n} 2(\hat{y}_i - y_i)\hat{y}_i(1 - \hat{y}_i) a^{2}_{1}",
               "constant_factor", ["the mean's 1/n is missing", "J is the mean"])
    assert "stray 2" not in v.feedback


# --- numbers, sech, error lines --------------------------------------------------------------------

def test_a_decimal_whose_fraction_is_not_over_a_power_of_ten(tmp_path):
    """1-1-1 ReLU/identity at w = 1/2, b = 1/4, w' = 3/2, x = 1, y = 0: ∂L/∂b^{1}_{1} = 27/16 = 1.6875,
    written 1.688 (= 211/125): it rounds to the value, so the chain is right."""
    spec = _spec(tmp_path, "relu111", [1, 1, 1], ["relu", "identity"], "half_squared_error", x=[[1]], y=[[0]],
                 extra="weights = [[[0.5]], [[1.5]]]\nbiases = [[0.25], [0]]")
    w1, b1, w2, b2, x, y = sympy.symbols("w1 b1 w2 b2 x y")
    L = (y - (w2 * sympy.Max(0, w1 * x + b1) + b2)) ** 2 / 2
    value = sympy.diff(L, b1).subs({w1: sympy.Rational(1, 2), b1: sympy.Rational(1, 4), w2: sympy.Rational(3, 2),
                                    b2: 0, x: 1, y: 0})
    assert value == sympy.Rational(27, 16)
    checker = checker_for_spec(spec)
    chain = r"\frac{\partial L}{\partial b^{1}_{1}} = \delta^{2}_{1} \approx "
    assert checker.check(chain + "1.688").verdict == "correct"
    assert checker.check(chain + "1.69").verdict == "correct"
    v = checker.check(chain + "1.689")
    assert (v.verdict, v.mistake) == ("incorrect", "wrong_value")
    v = checker.check(r"(\hat{y} - y) w^{2}_{1,1} \approx 1.7", wrt="b^{1}_{1}")
    assert v.verdict == "incorrect" and "line 2" not in v.feedback


def test_sech_squared_is_tanh_prime(tmp_path):
    spec = _spec(tmp_path, "tanh21", [2, 1], ["tanh"], "half_squared_error", x=[[1, 2]], y=[[0.5]])
    x1, w, b, y = S("x_{1}"), [S("w^{1}_{1,1}"), S("w^{1}_{1,2}")], S("b^{1}_{1}"), S("y_{1}")
    z = w[0] * x1 + w[1] * S("x_{2}") + b
    L = (y - sympy.tanh(z)) ** 2 / 2
    sech2 = (2 / (sympy.exp(z) + sympy.exp(-z))) ** 2
    assert _agree(sympy.diff(L, w[0]), (sympy.tanh(z) - y) * sech2 * x1, _leaves(L))
    checker = checker_for_spec(spec)
    for f in (r"\operatorname{sech}^2(z^{2}_{1})", r"\text{sech}^2(z^{2}_{1})", r"\frac{1}{\cosh^2(z^{2}_{1})}"):
        v = checker.check(rf"(\hat{{y}} - y) {f} x_1", wrt="w^{1}_{1,1}")
        assert v.verdict == "correct", (f, v.feedback)
    v = checker.check(r"(\hat{y} - y) \operatorname{sech}(z^{2}_{1}) x_1", wrt="w^{1}_{1,1}")
    assert v.verdict == "incorrect"
    v = checker.check(r"(\hat{y} - y) \operatorname{coth}^2(z^{2}_{1}) x_1", wrt="w^{1}_{1,1}")
    assert v.verdict == "unparseable" and "unknown function \\operatorname{coth}" in v.feedback
    assert "unknown LaTeX command \\operatorname" not in v.feedback


def test_error_lines_show_the_students_text():
    v = checker_for_spec(ROOT / "derivations" / "lecture_2_2_1.toml").check(r"W^{(2)}_{11} a^{(2)}_{1} + \foo")
    assert v.verdict == "unparseable"
    assert r"W^{(2)}_{11} a^{(2)}_{1} + \foo" in v.feedback and "W^{2}  _{11}" not in v.feedback


# --- matrix answers -----------------------------------------------------------------------------------

def test_shared_biases_in_matrix_notation(tmp_path):
    """One bias per layer: db_2 = (Σ_rows dz_2) 1 = Σ_i dz_2[i], the sum over every use of b^{2}
    (sympy.diff of the expanded loss with one b2 in both units says so)."""
    text = SHARED.read_text()
    spec = tmp_path / "shared.toml"
    spec.write_text(text.replace("[network]", 'notation = "matrix"\n\n[network]', 1))
    x1, x2, b1, b2 = sympy.symbols("x1 x2 b1 b2")
    W1 = sympy.Matrix(2, 2, sympy.symbols("w1:5"))
    W2 = sympy.Matrix(2, 2, sympy.symbols("v1:5"))
    y = sympy.symbols("y1:3")
    sig = lambda t: 1 / (1 + sympy.exp(-t))  # noqa: E731
    a1 = [sig(t + b1) for t in sympy.Matrix([[x1, x2]]) * W1]
    z2 = [t + b2 for t in sympy.Matrix([a1]) * W2]
    a2 = [sig(t) for t in z2]
    L = sum((yi - ai) ** 2 for yi, ai in zip(y, a2)) / 2
    dz2 = [(ai - yi) * ai * (1 - ai) for ai, yi in zip(a2, y)]
    assert _agree(sympy.diff(L, b2), sum(dz2), sorted(L.free_symbols, key=str))
    checker = checker_for_spec(spec)
    for answer in (r"(\sum_{rows} dz_2)\mathbf{1}", r"\mathbf{1}^T dz_2 \mathbf{1}"):
        v = checker.check(answer, wrt="db_2")
        assert v.verdict == "correct", (answer, v.feedback)
    assert checker.check(r"a_1^T dz_2", wrt="dW_2").verdict == "correct"
    v = checker.check(r"\sum dz_2", wrt="db_2")   # Σ over every entry: the examples and the layer's nodes
    assert v.verdict == "correct" and "every entry" in v.note, (v.feedback, v.note)
    v = checker.check(r"\mathbf{1} + dz_2", wrt="db_2")
    assert v.verdict == "unparseable" and "vector of ones" in v.feedback


def test_matrix_relu_derivative_as_an_indicator(tmp_path):
    spec = tmp_path / "relu_m.toml"
    spec.write_text('title = "relu"\nnotation = "matrix"\n[network]\nlayers = [3, 4, 2]\n'
                    'activations = ["relu", "sigmoid"]\nloss = "bce"\nreduction = "mean"\n[parameters]\nseed = 5\n'
                    '[data]\nx = [[0.5, -1, 2], [1, 0, -0.5]]\ny = [[1, 0], [0, 1]]\n')
    checker = checker_for_spec(spec)
    for f in (r"\mathbb{1}[z_1 > 0]", "[z_1 > 0]", "step(z_1)", "H(z_1)"):
        assert checker.check(rf"dz_2 W_2^T \odot {f}", wrt="dz_1").verdict == "correct", f
    assert checker.check(r"dz_2 W_2^T \odot \mathbb{1}[z_1 < 0]", wrt="dz_1").verdict == "incorrect"
    v = checker.check(r"dz_2 W_2^T \odot \text{here} z_1", wrt="dz_1")
    assert v.verdict == "unparseable" and "annotation" in v.feedback


def test_a_transpose_on_the_wrong_factor():
    checker = checker_for_spec(GENDER)
    assert checker.check(r"a_1^T dz_2", wrt="dW_2").verdict == "correct"
    v = checker.check(r"a_1 dz_2^T", wrt="dW_2")
    assert (v.verdict, v.mistake) == ("incorrect", "misplaced_transpose")
    assert "the transpose is on the wrong factor: write a_1ᵀ dz_2" in v.feedback
