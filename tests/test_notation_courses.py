r"""The notation students of other courses write (issue 12), read as each course means it.

Every answer here is graded through the verify API, and its truth is decided by an oracle that shares no
code with the checker: the network's loss written out below with plain SymPy (sigmoid as 1/(1 + e^{−z}),
ReLU as a Piecewise, the Huber function as a Piecewise), differentiated with ``sympy.diff``, and compared
with the answer's formula (also written out here, in the oracle's symbols) at random rational points.
Each notation has a right answer (graded correct, the oracle agrees) and a wrong one (graded incorrect, the
oracle disagrees).
"""
import random
import tomllib
from pathlib import Path

import pytest
import sympy
from sympy import Piecewise, Rational, Symbol, exp

from symbackprop.grammar.notation import normalize, readings
from symbackprop.grammar.parser import parse_expression
from symbackprop.verify.answers import checker_for_spec
from test_grammar_notation import _agree as _agree_at_points

ROOT = Path(__file__).resolve().parents[1]
LECTURE = ROOT / "derivations" / "lecture_2_2_1.toml"
GENDER = ROOT / "derivations" / "gender.toml"
RELU = ROOT / "tests" / "data" / "relu_2_3_3_1.toml"


def _sigmoid(z):
    return 1 / (1 + exp(-z))


def _relu(z):
    return Piecewise((z, z > 0), (0, True))


def _step(z):
    return Piecewise((1, z > 0), (0, True))


def _huber(r):
    return Piecewise((r ** 2 / 2, abs(r) <= 1), (abs(r) - Rational(1, 2), True))


def _clip(r):
    """huber′(r): r clipped to [−1, 1]."""
    return Piecewise((-1, r < -1), (r, r <= 1), (1, True))


_ACTIVATIONS = {"sigmoid": _sigmoid, "tanh": sympy.tanh, "relu": _relu, "identity": lambda z: z}
_LOSSES = {
    "half_squared_error": lambda y, h: (y - h) ** 2 / 2,
    "squared_error": lambda y, h: (y - h) ** 2,
    "huber": lambda y, h: _huber(y - h),
    "bce": lambda y, h: -(y * sympy.log(h) + (1 - y) * sympy.log(1 - h)),
}


class Net:
    """A one-output MLP written out in plain SymPy: x_j, y, w[l, i, j] (node j of layer l to node i of
    layer l + 1), b[l, i], and the forward values z[k][i], a[k][i] (layer k, input layer 1), yhat, L."""

    def __init__(self, layers, activations, loss):
        self.x = [Symbol(f"x{j}", real=True) for j in range(1, layers[0] + 1)]
        self.y = Symbol("y", real=True)
        self.w = {(l, i, j): Symbol(f"w{l}_{i}{j}", real=True)
                  for l in range(1, len(layers)) for i in range(1, layers[l] + 1) for j in range(1, layers[l - 1] + 1)}
        self.b = {(l, i): Symbol(f"b{l}_{i}", real=True) for l in range(1, len(layers)) for i in range(1, layers[l] + 1)}
        self.z, self.a = {}, {1: list(self.x)}
        for l in range(1, len(layers)):
            z = [sum(self.w[l, i, j] * self.a[l][j - 1] for j in range(1, layers[l - 1] + 1)) + self.b[l, i]
                 for i in range(1, layers[l] + 1)]
            self.z[l + 1] = z
            self.a[l + 1] = [_ACTIVATIONS[activations[l - 1]](v) for v in z]
        self.yhat = self.a[len(layers)][0]
        self.L = _LOSSES[loss](self.y, self.yhat)

    @property
    def symbols(self):
        return [*self.x, self.y, *self.w.values(), *self.b.values()]


def _net(path) -> Net:
    net = tomllib.loads(Path(path).read_text(encoding="utf-8"))["network"]
    acts = net["activations"]
    acts = [acts] * (len(net["layers"]) - 1) if isinstance(acts, str) else acts
    return Net(net["layers"], acts, net["loss"])


def _agree(a, b, symbols, seed=3, trials=6) -> bool:
    """a == b at random rational points (to 40 significant digits)."""
    return _agree_at_points(a, b, random.Random(seed), symbols, trials)


def _spec(tmp_path, name, network: str, notation="index", data="x = [[1, 2]]\ny = [[3]]") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(f'title = "{name}"\nnotation = "{notation}"\n\n[network]\n{network}\n\n'
                    f"[parameters]\nseed = 2\n\n[data]\n{data}\n", encoding="utf-8")
    return path


def _sigma_prime(a):
    return a * (1 - a)


# ---- index notation: (spec, wrt, answer, formula(net), oracle(net), right?) --------------------------------

INDEX = [
    # the bracketed layer g^{[l]\prime}: the activation derivative of layer l (the lectures' layer l + 1)
    (LECTURE, "b^{1}_{1}", r"(\hat{y} - y)\,\hat{y}(1 - \hat{y})\,w^{2}_{1,1}\,g^{[1]'}(z^{[1]}_{1})",
     lambda n: (n.yhat - n.y) * _sigma_prime(n.yhat) * n.w[2, 1, 1] * _sigma_prime(n.a[2][0]),
     lambda n: sympy.diff(n.L, n.b[1, 1]), True),
    (LECTURE, "b^{1}_{1}", r"(\hat{y} - y)\,\hat{y}(1 - \hat{y})\,w^{2}_{1,1}\,g^{[1]\prime}(z^{[1]}_{2})",
     lambda n: (n.yhat - n.y) * _sigma_prime(n.yhat) * n.w[2, 1, 1] * _sigma_prime(n.a[2][1]),
     lambda n: sympy.diff(n.L, n.b[1, 1]), False),
    # Goodfellow et al.'s h^{(1)}: the first hidden layer (the lectures' a^{2})
    (LECTURE, "w^{2}_{1,1}", r"(\hat{y} - y)\,\hat{y}(1 - \hat{y})\,h^{(1)}_{1}",
     lambda n: (n.yhat - n.y) * _sigma_prime(n.yhat) * n.a[2][0], lambda n: sympy.diff(n.L, n.w[2, 1, 1]), True),
    (LECTURE, "w^{2}_{1,1}", r"(\hat{y} - y)\,\hat{y}(1 - \hat{y})\,h^{(1)}_{2}",
     lambda n: (n.yhat - n.y) * _sigma_prime(n.yhat) * n.a[2][1], lambda n: sympy.diff(n.L, n.w[2, 1, 1]), False),
    # Nielsen's \nabla_a C: the cost's gradient by the output activations
    (LECTURE, "b^{2}_{1}", r"\nabla_a C \odot \sigma'(z^{3}_{1})",
     lambda n: (n.yhat - n.y) * _sigma_prime(n.yhat), lambda n: sympy.diff(n.L, n.b[2, 1]), True),
    (LECTURE, "b^{2}_{1}", r"\nabla_a C",
     lambda n: n.yhat - n.y, lambda n: sympy.diff(n.L, n.b[2, 1]), False),
    # x^{[0]}: the input as the bracketed layer 0; dz^{[1](i)}: layer [1] of example i
    (LECTURE, "w^{1}_{1,1}", r"dz^{[1](i)}_{1}\, x^{[0](i)}_{1}",
     lambda n: sympy.diff(n.L, n.b[1, 1]) * n.x[0], lambda n: sympy.diff(n.L, n.w[1, 1, 1]), True),
    (LECTURE, "w^{1}_{1,1}", r"dz^{[1](i)}_{1}\, x^{[0]}_{2}",
     lambda n: sympy.diff(n.L, n.b[1, 1]) * n.x[1], lambda n: sympy.diff(n.L, n.w[1, 1, 1]), False),
    # the ReLU derivative as an indicator \mathbf{1}[z > 0] (the network's only path through z^{3}_{1})
    (RELU, "b^{2}_{1}", r"(\hat{y} - y)\, w^{3}_{1,1}\, \mathbf{1}[z^{3}_{1} > 0]",
     lambda n: (n.yhat - n.y) * n.w[3, 1, 1] * _step(n.z[3][0]), lambda n: sympy.diff(n.L, n.b[2, 1]), True),
    (RELU, "b^{2}_{1}", r"(\hat{y} - y)\, w^{3}_{1,1}\, \mathbf{1}[z^{4}_{1} > 0]",
     lambda n: (n.yhat - n.y) * n.w[3, 1, 1] * _step(n.z[4][0]), lambda n: sympy.diff(n.L, n.b[2, 1]), False),
]


@pytest.mark.parametrize("spec, wrt, answer, formula, oracle, right", INDEX, ids=[c[2] for c in INDEX])
def test_other_courses_index_notation(spec, wrt, answer, formula, oracle, right):
    net = _net(spec)
    assert _agree(formula(net), oracle(net), net.symbols) == right   # the oracle's truth
    verdict = checker_for_spec(spec).check(answer, wrt)
    assert verdict.verdict == ("correct" if right else "incorrect"), verdict.feedback


TANH = 'layers = [2, 2, 1]\nactivations = ["tanh", "identity"]\nloss = "squared_error"\nreduction = "mean"'
TANH_RIGHT = [r"2(\hat{y} - y)\, w^{2}_{1,1}\, \operatorname{sech}^2(z^{2}_{1})",
              r"2(\hat{y} - y)\, w^{2}_{1,1}\, \operatorname{sech}(z^{2}_{1})^2",
              r"2(\hat{y} - y)\, w^{2}_{1,1}\, \operatorname{sech}(z^{2}_{1})\operatorname{sech}(z^{2}_{1})",
              r"2(\hat{y} - y)\, w^{2}_{1,1} / \cosh^2(z^{2}_{1})"]
TANH_WRONG = [r"2(\hat{y} - y)\, w^{2}_{1,1}\, \operatorname{sech}(z^{2}_{1})",       # sech without its square
              r"2(\hat{y} - y)\, w^{2}_{1,1}\, \cosh^2(z^{2}_{1})"]


@pytest.mark.parametrize("answer", TANH_RIGHT + TANH_WRONG)
def test_sech_and_cosh_are_read(tmp_path, answer):
    """tanh′ = sech²: \\operatorname{sech} with or without a power, \\cosh, read as the functions they are."""
    n = Net([2, 2, 1], ["tanh", "identity"], "squared_error")
    sech = 2 / (exp(n.z[2][0]) + exp(-n.z[2][0]))
    right = answer in TANH_RIGHT
    formula = 2 * (n.yhat - n.y) * n.w[2, 1, 1] * (sech ** 2 if right else
                                                   sech if "sech" in answer else 1 / sech ** 2)
    assert _agree(formula, sympy.diff(n.L, n.b[1, 1]), n.symbols) == right
    verdict = checker_for_spec(_spec(tmp_path, "tanh", TANH)).check(answer, "b^{1}_{1}")
    assert verdict.verdict == ("correct" if right else "incorrect"), verdict.feedback


HUBER = 'layers = [2, 2, 1]\nactivations = ["sigmoid", "identity"]\nloss = "huber"\nreduction = "mean"'


def test_huber_prime_is_the_clipped_residual():
    r"""\operatorname{huber}'(r) is the Huber function's derivative: r clipped to [−1, 1] (sympy.diff of the
    Piecewise), at points on both sides of each kink."""
    r = Symbol("r", real=True)
    read = parse_expression(r"\operatorname{huber}'(r)", resolve={"r": r})
    for value in (Rational(-7, 3), Rational(-1, 2), Rational(2, 5), Rational(9, 4)):
        assert read.subs(r, value) == sympy.diff(_huber(r), r).subs(r, value) == _clip(value)


@pytest.mark.parametrize("answer, right", [(r"\operatorname{huber}'(\hat{y} - y)\, a^{2}_{1}", True),
                                           (r"-\operatorname{huber}'(\hat{y} - y)\, a^{2}_{1}", False)])
def test_huber_prime_in_an_answer(tmp_path, answer, right):
    n = Net([2, 2, 1], ["sigmoid", "identity"], "huber")
    formula = (1 if right else -1) * _clip(n.yhat - n.y) * n.a[2][0]
    assert _agree(formula, sympy.diff(n.L, n.w[2, 1, 1]), n.symbols) == right
    verdict = checker_for_spec(_spec(tmp_path, "huber", HUBER)).check(answer, "w^{2}_{1,1}")
    assert verdict.verdict == ("correct" if right else "incorrect"), verdict.feedback


# ---- Nielsen's w^{l}_{jk}: into layer l (the lectures' w^{l−1}_{j,k}) --------------------------------------

def _graded(checker, text, wrt=None):
    """(the note, the verdict): the checker tries every reading and its note names the convention."""
    verdict = checker.check(text, wrt)
    return verdict.note or "", verdict


NIELSEN = [
    # only Nielsen's reading exists: a 2-2-1 network has no w^{3}, b^{3}
    (r"\frac{\partial C}{\partial w^{3}_{11}} = (a^{3}_{1} - y)\, a^{3}_{1}(1 - a^{3}_{1})\, a^{2}_{1}",
     lambda n: (n.yhat - n.y) * _sigma_prime(n.yhat) * n.a[2][0], lambda n: n.w[2, 1, 1], True),
    (r"\frac{\partial C}{\partial b^{3}_{1}} = \delta^{3}_{1}",
     lambda n: (n.yhat - n.y) * _sigma_prime(n.yhat), lambda n: n.b[2, 1], True),
    (r"\frac{\partial C}{\partial w^{2}_{11}} = (a^{3}_{1} - y)\, a^{3}_{1}(1 - a^{3}_{1})\, w^{3}_{11}\, "
     r"a^{2}_{1}(1 - a^{2}_{1})\, x_1",
     lambda n: (n.yhat - n.y) * _sigma_prime(n.yhat) * n.w[2, 1, 1] * _sigma_prime(n.a[2][0]) * n.x[0],
     lambda n: n.w[1, 1, 1], True),
    # both readings exist; Nielsen's is right (∂C/∂w^{2}_{12} = δ^{2}_{1} a^{1}_{2}), the lectures' is not
    (r"\frac{\partial C}{\partial w^{2}_{12}} = \delta^{2}_{1}\, x_2",
     lambda n: sympy.diff(n.L, n.b[1, 1]) * n.x[1], lambda n: n.w[1, 1, 2], True),
    # wrong in both readings (the wrong unit's δ)
    (r"\frac{\partial C}{\partial w^{2}_{12}} = \delta^{2}_{2}\, x_2",
     lambda n: sympy.diff(n.L, n.b[1, 2]) * n.x[1], lambda n: n.w[1, 1, 2], False),
]


@pytest.mark.parametrize("answer, formula, wrt, right", NIELSEN, ids=[c[0] for c in NIELSEN])
def test_nielsen_weights_lead_into_layer_l(answer, formula, wrt, right):
    """The lecture network has n = 1 example, so Nielsen's cost C is its loss L."""
    net = _net(LECTURE)
    assert _agree(formula(net), sympy.diff(net.L, wrt(net)), net.symbols) == right
    both = readings(answer)
    assert len(both) == 2 and "Nielsen" in both[1].note and "the lectures' w^{l}_{j,k}" in both[0].note
    note, verdict = _graded(checker_for_spec(LECTURE), answer)
    assert verdict.verdict == ("correct" if right else "incorrect"), verdict.feedback
    if right:
        assert "as Nielsen's (the weight into layer l" in note   # named: Nielsen's convention


def test_the_lectures_comma_has_one_reading():
    """w^{2}_{1,1} (the lectures' comma) and a bracketed or parenthesised layer are never Nielsen's."""
    for text in (r"(\hat{y} - y)\,\hat{y}(1 - \hat{y})\, w^{2}_{1,1}\, a^{2}_{1}(1 - a^{2}_{1})\, x_1",
                 r"W^{[2]}_{11}", r"w^{(2)}_{11}", r"w^{1}_{11} x_1"):
        assert len(readings(text)) == 1, text


def test_the_checker_tries_nielsens_reading():
    verdict = checker_for_spec(LECTURE).check(NIELSEN[0][0])
    assert verdict.verdict == "correct" and "Nielsen" in (verdict.note or "")


# ---- matrix notation: the gender network (sigmoid, BCE) and ReLU / tanh hidden layers ---------------------

class MatNet:
    """A matrix MLP over the spec's data, written out in plain SymPy: W_l (rows = inputs), b_l, Z_l, A_l, Ŷ
    and the summed loss S = Σ_e L_e (the slides' per-example convention)."""

    def __init__(self, path):
        spec = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        layers, acts = spec["network"]["layers"], spec["network"]["activations"]
        acts = [acts] * (len(layers) - 1) if isinstance(acts, str) else acts
        self.X = sympy.Matrix([[Rational(str(v)) for v in row] for row in spec["data"]["x"]])
        self.Y = sympy.Matrix([[Rational(str(v)) for v in row] for row in spec["data"]["y"]])
        n = self.X.rows
        self.n = n
        self.W, self.b, self.Z, self.A = {}, {}, {}, {0: self.X}
        for l in range(1, len(layers)):
            self.W[l] = sympy.Matrix(layers[l - 1], layers[l], lambda j, i: Symbol(f"W{l}_{j}{i}", real=True))
            self.b[l] = sympy.Matrix(1, layers[l], lambda _, i: Symbol(f"b{l}_{i}", real=True))
            self.Z[l] = self.A[l - 1] * self.W[l] + sympy.ones(n, 1) * self.b[l]
            self.A[l] = self.Z[l].applyfunc(_ACTIVATIONS[acts[l - 1]])
        self.Yhat = self.A[len(layers) - 1]
        self.loss = _LOSSES[spec["network"]["loss"]]
        self.S = sum(self.loss(self.Y[e, 0], self.Yhat[e, 0]) for e in range(n))
        self.dZ2 = self.Yhat - self.Y   # BCE after a sigmoid: ∂S/∂Z_2

    @property
    def symbols(self):
        return [s for l in self.W for s in (*self.W[l], *self.b[l])]

    def _by(self, f):
        """∂S/∂t_e of S = Σ_e loss(y_e, f(t_e)), at t_e = Z_2[e] (or Ŷ[e]): by one output per example."""
        t = [Symbol(f"t{e}", real=True) for e in range(self.n)]
        loss = self.loss
        s = sum(loss(self.Y[e, 0], f(t[e])) for e in range(self.n))
        at = self.Z[2] if f is _sigmoid else self.Yhat
        return sympy.Matrix(self.n, 1, lambda e, _: sympy.diff(s, t[e]).subs(t[e], at[e, 0]))

    def by_pre_activation(self):
        return self._by(_sigmoid)

    def by_output_activation(self):
        return self._by(lambda v: v)

    def gradient(self, M, of=None):
        of = self.S if of is None else of
        return M.applyfunc(lambda s: sympy.diff(of, s))


def _hadamard(a, b):
    return a.multiply_elementwise(b)


def _matrices_agree(a, b, symbols, seed=5, trials=3) -> bool:
    return a.shape == b.shape and all(_agree(u, v, symbols, seed + k, trials) for k, (u, v) in enumerate(zip(a, b)))


MATRIX_NET = 'layers = [2, 3, 1]\nactivations = ["{0}", "sigmoid"]\nloss = "bce"\nreduction = "mean"'
MATRIX_DATA = "x = [[1, -1], [2, 0.5], [-0.5, 1]]\ny = [[1], [0], [1]]"


def _dz1(m, derivative):
    return _hadamard(m.dZ2 * m.W[2].T, m.Z[1].applyfunc(derivative))


MATRIX = [
    ("sigmoid", "dW_1", r"X^T (dZ^{[2]} W^{[2]T} \odot g^{[1]\prime}(Z^{[1]}))",
     lambda m: m.X.T * _dz1(m, lambda z: _sigmoid(z) * (1 - _sigmoid(z))), lambda m: m.gradient(m.W[1]), True),
    ("sigmoid", "dW_1", r"X^T (dZ^{[2]} W^{[2]T})",
     lambda m: m.X.T * (m.dZ2 * m.W[2].T), lambda m: m.gradient(m.W[1]), False),
    ("sigmoid", "dW_2", r"a_1^T dZ^{[2](i)}", lambda m: m.A[1].T * m.dZ2, lambda m: m.gradient(m.W[2]), True),
    ("sigmoid", "dW_2", r"x^{[0]T} dZ^{[2](i)}", lambda m: m.X.T * m.dZ2, lambda m: m.gradient(m.W[2]), False),
    ("sigmoid", "dW_1", r"x^T (dz_2 W_2^T \odot h^{(1)}(1 - h^{(1)}))",
     lambda m: m.X.T * _hadamard(m.dZ2 * m.W[2].T, _hadamard(m.A[1], sympy.ones(*m.A[1].shape) - m.A[1])),
     lambda m: m.gradient(m.W[1]), True),
    ("sigmoid", "dW_2", r"\nabla_{W^{[2]}} J = \frac{1}{m} A^{[1]T} dZ^{[2]}",
     lambda m: m.A[1].T * m.dZ2 / m.n, lambda m: m.gradient(m.W[2], m.S / m.n), True),
    ("sigmoid", "dW_2", r"\nabla_{W_2} J = A^{[1]T} dZ^{[2]}",   # J's 1/m missing
     lambda m: m.A[1].T * m.dZ2, lambda m: m.gradient(m.W[2], m.S / m.n), False),
    ("sigmoid", "dz_2", r"\nabla_a C \odot \sigma'(z_2)",
     lambda m: _hadamard(m.by_output_activation(), _hadamard(m.Yhat, sympy.ones(m.n, 1) - m.Yhat)),
     lambda m: m.by_pre_activation(), True),
    ("sigmoid", "dz_2", r"\nabla_a C", lambda m: m.by_output_activation(), lambda m: m.by_pre_activation(), False),
    ("relu", "dW_1", r"X^T (dZ^{[2]} W^{[2]T} \odot \mathbb{1}[Z^{[1]}>0])",
     lambda m: m.X.T * _dz1(m, _step), lambda m: m.gradient(m.W[1]), True),
    ("relu", "dW_1", r"x^T (dz_2 W_2^T \odot \mathbf{1}[z_1 > 0])",
     lambda m: m.X.T * _dz1(m, _step), lambda m: m.gradient(m.W[1]), True),
    ("relu", "dW_1", r"x^T (dz_2 W_2^T \odot \mathbf{1}[a_1 < 0])",
     lambda m: m.X.T * _dz1(m, lambda z: 1 - _step(z)), lambda m: m.gradient(m.W[1]), False),
    ("tanh", "dW_1", r"x^T (dz_2 W_2^T \odot \operatorname{sech}^2(z_1))",
     lambda m: m.X.T * _dz1(m, lambda z: 1 - sympy.tanh(z) ** 2), lambda m: m.gradient(m.W[1]), True),
    ("tanh", "dW_1", r"x^T (dz_2 W_2^T \odot \operatorname{sech}(z_1))",
     lambda m: m.X.T * _dz1(m, lambda z: 2 / (exp(z) + exp(-z))), lambda m: m.gradient(m.W[1]), False),
]


@pytest.mark.parametrize("hidden, wrt, answer, formula, oracle, right", MATRIX, ids=[f"{c[0]}: {c[2]}" for c in MATRIX])
def test_other_courses_matrix_notation(tmp_path, hidden, wrt, answer, formula, oracle, right):
    spec = _spec(tmp_path, hidden, MATRIX_NET.format(hidden), "matrix", MATRIX_DATA)
    m = MatNet(spec)
    assert _matrices_agree(formula(m), oracle(m), m.symbols) == right
    verdict = checker_for_spec(spec).check(answer, wrt)
    assert verdict.verdict == ("correct" if right else "incorrect"), verdict.feedback


@pytest.mark.parametrize("answer, which", [(r"\nabla_{W^{2}} J = \frac{1}{m} A^{[1]T} dZ^{[2]}", 0),   # the lectures' W^{2}
                                           (r"\nabla_{W^{3}} J = \frac{1}{m} A^{[1]T} dZ^{[2]}", 1)])  # Nielsen's W^{3}
def test_a_plain_matrix_superscript_has_both_readings(tmp_path, answer, which):
    """W^{l} in matrix notation: the lectures' w^{l} (the slides' W_l) or Nielsen's (into layer l: W_{l−1})."""
    spec = _spec(tmp_path, "sigmoid", MATRIX_NET.format("sigmoid"), "matrix", MATRIX_DATA)
    m = MatNet(spec)
    assert _matrices_agree(m.A[1].T * m.dZ2 / m.n, m.gradient(m.W[2], m.S / m.n), m.symbols)
    both = readings(answer, matrix=True)
    assert len(both) == 2 and "Nielsen" in both[1].note
    graded = [checker_for_spec(spec).check(r.text, "dW_2").verdict for r in both]
    assert graded[which] == "correct" and graded[1 - which] != "correct"


@pytest.mark.parametrize("answer, right", [(r"\nabla_W C = \frac{1}{n} x^T (\hat{y} - y)", True),
                                           (r"\nabla_b C = \frac{1}{n} \sum (\hat{y} - y)", True),
                                           (r"\nabla_W C = x^T (\hat{y} - y)", False)])  # C's 1/n missing
def test_nabla_w_of_a_one_layer_network(tmp_path, answer, right):
    """\\nabla_W C: the cost's gradient by the one weight matrix W (= W_1) of logistic regression."""
    spec = _spec(tmp_path, "logreg", 'layers = [2, 1]\nactivations = ["sigmoid"]\nloss = "bce"\nreduction = "mean"',
                 "matrix", MATRIX_DATA)
    m = MatNet(spec)
    by_w = "W" in answer
    param = m.W[1] if by_w else m.b[1]
    residual = m.Yhat - m.Y
    formula = m.X.T * residual if by_w else sympy.ones(1, m.n) * residual
    formula = formula / m.n if right else formula
    assert _matrices_agree(formula, m.gradient(param, m.S / m.n), m.symbols) == right
    verdict = checker_for_spec(spec).check(answer)
    assert verdict.verdict == ("correct" if right else "incorrect"), verdict.feedback


def test_a_layerless_w_in_a_deeper_network_asks_for_its_layer():
    verdict = checker_for_spec(GENDER).check(r"\nabla_W C = \frac{1}{n} x^T (\hat{y} - y)")
    assert verdict.verdict == "unparseable" and "give the layer (W_1, W_2)" in verdict.feedback


def test_the_verdict_names_the_convention_it_read():
    note = checker_for_spec(GENDER).check(r"X^T (dZ^{[2]} W^{[2]T} \odot g^{[1]\prime}(Z^{[1]}))", "dW_1").note
    assert "bracketed layer numbers from input layer 0" in note
    note = checker_for_spec(LECTURE).check(r"(\hat{y} - y)\,\hat{y}(1 - \hat{y})\,h^{(1)}_{1}", "w^{2}_{1,1}").note
    assert "h^{(l)} as hidden layer l" in note


# ---- what is refused, and how -----------------------------------------------------------------------------

RIGHT = r"(\hat{y} - y)\,\hat{y}(1 - \hat{y})\,a^{2}_{1}"


@pytest.mark.parametrize("text", [RIGHT + "!", RIGHT + "!\\quad", RIGHT + r" \cdot 2!"])
def test_a_factorial_is_refused_by_name(text):
    """A right answer with a stray '!' is not graded correct: one line names the character."""
    verdict = checker_for_spec(LECTURE).check(text, "w^{2}_{1,1}")
    assert verdict.verdict == "unparseable"
    first = verdict.feedback.split("\n", 1)[0]
    assert "unexpected character '!'" in first and "factorial" in first


@pytest.mark.parametrize("text", [RIGHT + r" \text{(chain rule)}", RIGHT + ".", RIGHT + r"\,.", RIGHT + r"\!"])
def test_annotations_and_a_final_period_stay_ignored(text):
    assert checker_for_spec(LECTURE).check(text, "w^{2}_{1,1}").verdict == "correct"


def test_a_sum_bound_says_its_limit():
    verdict = checker_for_spec(LECTURE).check(RIGHT + r" + \sum_{j=1}^{100000000} 0", "w^{2}_{1,1}")
    assert verdict.verdict == "unparseable"
    assert "sum bounds must be whole numbers no larger than 1000000" in verdict.feedback


def test_rewrites_keep_columns():
    """The rewrites that shorten keep the text's length, so an error's column points at what was written."""
    for text in (r"g^{[1]\prime}(z^{[1]}_{1})", r"h^{(1)}_{1}", r"x^{[0]}_{1}", r"dZ^{[2](i)}"):
        assert len(normalize(text).text) == len(text)
        assert len(normalize(text, matrix=True).text) == len(text)


@pytest.mark.parametrize("convention", [None, "lectures", "nielsen"])
def test_a_spec_declares_its_courses_weight_convention(tmp_path, convention):
    r"""``w^{2}_{11}`` is the lectures' w^{2}_{1,1} (out of layer 2) or Nielsen's w^{1}_{1,1} (into layer 2);
    ``convention`` in the spec keeps one reading, and without it either is accepted (the oracle: sympy.diff
    of the 2-2-1 network's loss, written out here)."""
    network = 'layers = [2, 2, 1]\nactivations = "sigmoid"\nloss = "half_squared_error"'
    path = _spec(tmp_path, "conv", network)
    if convention:
        path.write_text(f'convention = "{convention}"\n' + path.read_text(encoding="utf-8"), encoding="utf-8")
    net = _net(path)
    a21, yh = net.a[2][0], net.yhat
    out_layer = (yh - net.y) * yh * (1 - yh) * a21           # the lectures' ∂L/∂w^{2}_{1,1}
    assert _agree(sympy.diff(net.L, net.w[2, 1, 1]), out_layer, net.symbols)
    assert not _agree(sympy.diff(net.L, net.w[1, 1, 1]), out_layer, net.symbols)
    checker = checker_for_spec(path)
    answer = r"\frac{\partial L}{\partial w^{2}_{11}} = (\hat y - y)\hat y(1 - \hat y) a^{2}_{1}"
    v = checker.check(answer)
    assert v.verdict == ("incorrect" if convention == "nielsen" else "correct"), (v.feedback, v.note)
    nielsen = r"\frac{\partial L}{\partial w^{3}_{11}} = (\hat y - y)\hat y(1 - \hat y) a^{2}_{1}"   # into layer 3
    v = checker.check(nielsen)
    assert v.verdict == ("unparseable" if convention == "lectures" else "correct"), (v.feedback, v.note)
    if v.verdict == "correct":
        assert "Nielsen" in v.note and (convention is None or 'convention = "nielsen"' in v.note)


def test_an_unknown_convention_is_one_line_naming_the_key(tmp_path):
    path = _spec(tmp_path, "conv", 'layers = [2, 2, 1]\nactivations = "sigmoid"\nloss = "half_squared_error"')
    path.write_text('convention = "ng"\n' + path.read_text(encoding="utf-8"), encoding="utf-8")
    from symbackprop import load_spec
    from symbackprop.errors import SpecError
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert "convention" in str(info.value) and "lectures" in str(info.value) and "\n" not in str(info.value)


def test_a_wrt_only_nielsens_convention_can_read_is_read_in_it_with_the_answer(tmp_path):
    r"""In a 3-layer net w^{3}_{12} exists only as Nielsen's (into layer 3 from unit 2: the lectures' w^{2}_{1,2});
    ``--wrt`` and the answer are read in the same convention, the note says so, and the step keeps the student's
    spelling. Oracle: sympy.diff of the [2,2,1] loss written out here."""
    network = 'layers = [2, 2, 1]\nactivations = "sigmoid"\nloss = "half_squared_error"'
    path = _spec(tmp_path, "nielsen_wrt", network)
    net = _net(path)
    yh, a22 = net.yhat, net.a[2][1]
    right = (yh - net.y) * yh * (1 - yh) * a22
    assert _agree(sympy.diff(net.L, net.w[2, 1, 2]), right, net.symbols)
    checker = checker_for_spec(path)
    v = checker.check(r"(\hat y - y)\hat y(1 - \hat y) a^{2}_{2}", "w^{3}_{12}")
    assert v.verdict == "correct" and v.wrt == "w^{2}_{1,2}" and "Nielsen" in v.note, (v.feedback, v.note)
    v = checker.check(r"(\hat y - y)\hat y(1 - \hat y) a^{2}_{1}", "w^{3}_{12}")   # Nielsen's w^{3}_{11}'s gradient
    assert v.verdict == "incorrect"
    v = checker.check(r"\frac{\partial L}{\partial w^{3}_{12}} = (\hat y - y)\hat y(1 - \hat y) a^{2}_{2}")
    assert v.verdict == "correct" and v.steps[0].left == r"\frac{\partial L}{\partial w^{3}_{12}}", v.steps
    from symbackprop.verify.wrt import wrt_name
    assert wrt_name(checker, "w^{3}_{12}") == "w^{2}_{1,2}"   # derive and grad read it the same way
