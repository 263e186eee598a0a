r"""Indices written together inside a \sum: ``w^{3}_{1k}``, ``w^{2}_{k1}``, ``w^{2}_{jk}`` are two indices each.

The oracle shares no code with the checker: the [2, 3, 3, 1] ReLU network's loss L = ½(y − ŷ)² written out
below in plain SymPy (ReLU as a Piecewise), differentiated with ``sympy.diff``.  Each answer's formula is
written out here in the oracle's symbols and compared with that derivative at random rational points; then

- the grammar's reading of the answer (the oracle's expressions substituted for the spec's names) must
  equal ``sympy.diff`` (a right answer) or differ from it (a wrong one), and
- the checker's verdict on the spec must be correct or incorrect accordingly,

in the lectures' layer numbers, the parenthesised ones (``w^{(3)}_{1k}``) and the bracketed ones
(``W^{[3]}_{1k}``, ``z^{[2]}_k``: input layer 0).
"""
import random
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO

import pytest
import sympy
from sympy import Piecewise, Rational, Symbol

from symbackprop.cli import main
from symbackprop.grammar.notation import normalize
from symbackprop.grammar.parser import ParseError, parse_equation, parse_expression
from symbackprop.verify.answers import checker_for_spec

LAYERS = (2, 3, 3, 1)

#: the review's network (two hidden ReLU layers, an identity output), its unit z^{2}_{1} dead at x = (1, 2)
SPEC = """title = "2-3-3-1 ReLU with dead units"
[network]
layers = [2, 3, 3, 1]
activations = ["relu", "relu", "identity"]
loss = "half_squared_error"
[parameters]
weights = [[[1,-1],[0.5,0.5],[-1,0.2]], [[0.5,1,-0.5],[-1,-0.5,1],[0.3,0.2,0.4]], [[1,-0.7,0.5]]]
biases = [[0,0.1,0],[0,0,0.1],[0]]
[data]
x = [[1, 2]]
y = [[1]]
"""


def _relu(z):
    return Piecewise((z, z > 0), (0, True))


def _step(z):
    """ReLU′(z) away from the kink."""
    return Piecewise((1, z > 0), (0, True))


class Net:
    """The network by hand: x_j, y, w[l, j, k] (unit k of layer l to unit j of layer l + 1), b[l, j], and the
    forward values z[l][j], a[l][j] (layer l, input layer 1, j from 1), ŷ = z^{4}_{1}, L = ½(y − ŷ)²."""

    def __init__(self):
        self.x = {j: Symbol(f"x{j}", real=True) for j in range(1, LAYERS[0] + 1)}
        self.y = Symbol("y", real=True)
        self.w = {(l, j, k): Symbol(f"w{l}_{j}{k}", real=True) for l in range(1, len(LAYERS))
                  for j in range(1, LAYERS[l] + 1) for k in range(1, LAYERS[l - 1] + 1)}
        self.b = {(l, j): Symbol(f"b{l}_{j}", real=True)
                  for l in range(1, len(LAYERS)) for j in range(1, LAYERS[l] + 1)}
        self.a, self.z = {1: dict(self.x)}, {}
        for l in range(1, len(LAYERS)):
            self.z[l + 1] = {j: sum(self.w[l, j, k] * self.a[l][k] for k in range(1, LAYERS[l - 1] + 1)) + self.b[l, j]
                             for j in range(1, LAYERS[l] + 1)}
            last = l + 1 == len(LAYERS)
            self.a[l + 1] = {j: v if last else _relu(v) for j, v in self.z[l + 1].items()}
        self.yhat = self.a[len(LAYERS)][1]
        self.L = (self.y - self.yhat) ** 2 / 2

    @property
    def symbols(self):
        return [*self.x.values(), self.y, *self.w.values(), *self.b.values()]

    def names(self) -> dict:
        """The spec's names (as the lectures write them) -> the oracle's expressions, for the grammar."""
        out = {f"x_{{{j}}}": v for j, v in self.x.items()}
        out.update({"y": self.y, "y_{1}": self.y, "yhat": self.yhat})
        out.update({f"w^{{{l}}}_{{{j},{k}}}": v for (l, j, k), v in self.w.items()})
        out.update({f"b^{{{l}}}_{{{j}}}": v for (l, j), v in self.b.items()})
        for l, units in self.z.items():
            out.update({f"z^{{{l}}}_{{{j}}}": v for j, v in units.items()})
            out.update({f"a^{{{l}}}_{{{j}}}": v for j, v in self.a[l].items()})
        return out


NET = Net()


def _agree(a, b, seed=5, trials=8) -> bool:
    """a == b exactly at random rational points (no point lands on a ReLU kink: z = 0 has measure zero)."""
    rng = random.Random(seed)
    for _ in range(trials):
        point = {s: Rational(rng.choice([-1, 1]) * rng.randint(1, 40), rng.randint(3, 17)) for s in NET.symbols}
        if (a - b).xreplace(point) != 0:
            return False
    return True


def _db11(n, last=True):
    """∂L/∂b^{1}_{1} = (ŷ − y) Σ_k w^{3}_{1,k} ReLU′(z^{3}_k) w^{2}_{k,1} ReLU′(z^{2}_1) (without the last
    factor when ``last`` is False)."""
    return ((n.yhat - n.y) * sum(n.w[3, 1, k] * _step(n.z[3][k]) * n.w[2, k, 1] for k in (1, 2, 3))
            * (_step(n.z[2][1]) if last else 1))


def _dx1(n, w2=lambda n, j, k: n.w[2, j, k]):
    """∂L/∂x_1 = (ŷ − y) Σ_j Σ_k w^{3}_{1,j} ReLU′(z^{3}_j) w^{2}_{j,k} ReLU′(z^{2}_k) w^{1}_{k,1}."""
    return (n.yhat - n.y) * sum(n.w[3, 1, j] * _step(n.z[3][j]) * w2(n, j, k) * _step(n.z[2][k]) * n.w[1, k, 1]
                                for j in (1, 2, 3) for k in (1, 2, 3))


# (wrt, answer, its formula by hand, ∂L/∂wrt by sympy.diff, right?)
CASES = [
    # the review's answer, in the three layer conventions (the rest in the lectures' numbers)
    ("b^{1}_{1}", r"(\hat y - y) \sum_k w^{3}_{1k} step(z^{3}_k) w^{2}_{k1} step(z^{2}_1)", _db11, True),
    ("b^{1}_{1}", r"(\hat y - y) \sum_k w^{(3)}_{1k} step(z^{3}_k) w^{2}_{k1} step(z^{2}_1)", _db11, True),
    ("b^{1}_{1}", r"(\hat y - y) \sum_k W^{[3]}_{1k} step(z^{3}_k) w^{2}_{k1} step(z^{2}_1)", _db11, True),
    # each convention throughout: parenthesised layers as the lectures', bracketed from input layer 0
    ("b^{1}_{1}", r"(\hat y - y) \sum_k w^{(3)}_{1k} step(z^{(3)}_k) w^{(2)}_{k1} step(z^{(2)}_1)", _db11, True),
    ("b^{1}_{1}", r"(\hat y - y) \sum_k W^{[3]}_{1k} step(z^{[2]}_k) W^{[2]}_{k1} step(z^{[1]}_1)", _db11, True),
    # the comma form, and the indices apart (w^{3}_{1 k}, w^{2}_{k 1})
    ("b^{1}_{1}", r"(\hat y - y) \sum_k w^{3}_{1,k} step(z^{3}_k) w^{2}_{k,1} step(z^{2}_1)", _db11, True),
    ("b^{1}_{1}", r"(\hat y - y) \sum_k w^{3}_{1 k} step(z^{3}_k) w^{2}_{k 1} step(z^{2}_1)", _db11, True),
    # wrong: ReLU′(z^{2}_1) left out, in each convention
    ("b^{1}_{1}", r"(\hat y - y) \sum_k w^{3}_{1k} step(z^{3}_k) w^{2}_{k1}",
     lambda n: _db11(n, last=False), False),
    ("b^{1}_{1}", r"(\hat y - y) \sum_k w^{(3)}_{1k} step(z^{(3)}_k) w^{(2)}_{k1}",
     lambda n: _db11(n, last=False), False),
    ("b^{1}_{1}", r"(\hat y - y) \sum_k W^{[3]}_{1k} step(z^{[2]}_k) W^{[2]}_{k1}",
     lambda n: _db11(n, last=False), False),
    # wrong: w^{3}_{k1} (transposed) has k = 1 only (w^{3} is 1 × 3): the sum stops after one path
    ("b^{1}_{1}", r"(\hat y - y) \sum_k w^{3}_{k1} step(z^{3}_k) w^{2}_{k1} step(z^{2}_1)",
     lambda n: (n.yhat - n.y) * n.w[3, 1, 1] * _step(n.z[3][1]) * n.w[2, 1, 1] * _step(n.z[2][1]), False),
    # wrong: w^{2}_{1k} for w^{2}_{k1}
    ("b^{1}_{1}", r"(\hat y - y) \sum_k W^{[3]}_{1k} step(z^{[2]}_k) W^{[2]}_{1k} step(z^{[1]}_1)",
     lambda n: (n.yhat - n.y) * sum(n.w[3, 1, k] * _step(n.z[3][k]) * n.w[2, 1, k] for k in (1, 2, 3))
     * _step(n.z[2][1]), False),
    # two bound indices together: w^{2}_{jk} in \sum_j \sum_k, and its transpose w^{2}_{kj}
    ("x_1", r"(\hat y - y) \sum_j \sum_k w^{3}_{1j} step(z^{3}_j) w^{2}_{jk} step(z^{2}_k) w^{1}_{k1}", _dx1, True),
    ("x_1", r"(\hat y - y) \sum_j \sum_k W^{[3]}_{1j} step(z^{[2]}_j) W^{[2]}_{jk} step(z^{[1]}_k) W^{[1]}_{k1}",
     _dx1, True),
    ("x_1", r"(\hat y - y) \sum_j \sum_k w^{3}_{1j} step(z^{3}_j) w^{2}_{kj} step(z^{2}_k) w^{1}_{k1}",
     lambda n: _dx1(n, lambda n, j, k: n.w[2, k, j]), False),
]
_WRT = {"b^{1}_{1}": NET.b[1, 1], "x_1": NET.x[1]}


@pytest.mark.parametrize("wrt, answer, formula, right", CASES, ids=[c[1] for c in CASES])
def test_the_grammar_reads_the_oracles_formula(wrt, answer, formula, right):
    oracle = sympy.diff(NET.L, _WRT[wrt])
    assert _agree(formula(NET), oracle) == right            # the formula by hand is (or is not) ∂L/∂wrt
    read = parse_expression(normalize(answer).text, resolve=NET.names())
    assert _agree(read, formula(NET))                         # the grammar reads that formula


@pytest.fixture(scope="module")
def checker(tmp_path_factory):
    path = tmp_path_factory.mktemp("sumidx") / "s2.toml"
    path.write_text(SPEC, encoding="utf-8")
    return checker_for_spec(path)


@pytest.mark.parametrize("wrt, answer, formula, right", CASES, ids=[c[1] for c in CASES])
def test_the_checkers_verdict(checker, wrt, answer, formula, right):
    verdict = checker.check(answer, wrt)
    assert verdict.verdict == ("correct" if right else "incorrect"), verdict.feedback


def test_the_review_command(tmp_path):
    """The review's command line, in-process: exit 0 and "correct"."""
    spec = tmp_path / "s2.toml"
    spec.write_text(SPEC, encoding="utf-8")
    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["verify", str(spec), "--wrt", "b^{1}_{1}", "--answer",
                     r"(\hat y - y) \sum_k w^{3}_{1k} step(z^{3}_k) w^{2}_{k1} step(z^{2}_1)"])
    assert code == 0, out.getvalue() + err.getvalue()
    assert out.getvalue().startswith("correct")


@pytest.mark.parametrize("answer, quoted, column", [
    (r"\sum_k W^{[3]}_{1q} z^{3}_k", "W^{[3]}_{1q}", 8),
    (r"\sum_k z^{3}_k w^{(3)}_{1q}", "w^{(3)}_{1q}", 16),
    (r"W^{[3]}_{1q}", "W^{[3]}_{1q}", 1),
])
def test_an_unknown_name_is_quoted_as_typed(checker, answer, quoted, column):
    """The grammar reads the rewritten W^{3}  _{1q}; the message quotes what the student typed, at its place."""
    verdict = checker.check(answer, "b^{1}_{1}")
    assert verdict.verdict == "unparseable"
    first = verdict.feedback.split("\n")[0]
    assert f"unknown name '{quoted}'" in first and "  _" not in first, first
    assert verdict.error["column"] == column
    assert verdict.feedback.split("\n")[2].index("^") - 2 == column - 1   # the caret under the name


def test_nested_sums_say_where(checker):
    verdict = checker.check(r"(\hat y - y) \sum_j \sum_k w^{3}_{1j} w^{2}_{jk} w^{1}_{kq}", "x_1")
    assert verdict.verdict == "unparseable"
    assert "unknown name 'w^{1}_{kq}' in the \\sum at j = 1, k = 1" in verdict.feedback


def test_together_only_inside_a_sum():
    """Outside a \\sum, k is no index: w^{3}_{1k} stays an unknown name (never a guess)."""
    with pytest.raises(ParseError, match="unknown name"):
        parse_expression(r"w^{3}_{1k}", resolve=NET.names())


def test_spec_equations_with_bounds():
    """A spec's equation with a bounded \\sum reads w^{1}_{1k} and w^{1}_{k1} as two indices too."""
    for written, weights in ((r"w^{1}_{1k}", ("w^{1}_{1,1}", "w^{1}_{1,2}")),
                             (r"w^{1}_{k1}", ("w^{1}_{1,1}", "w^{1}_{2,1}"))):
        name, expr = parse_equation(rf"q = \sum_{{k=1}}^{{2}} {written} x_k")
        assert name == "q"
        by_name = {s.name: s for s in expr.free_symbols}
        assert set(by_name) == {"x_{1}", "x_{2}", *weights}
        assert sympy.expand(expr - by_name[weights[0]] * by_name["x_{1}"] - by_name[weights[1]] * by_name["x_{2}"]) == 0


def test_K_is_the_number_of_outputs_for_the_mse(tmp_path):
    r"""L = (1/K) Σ_k (y_k − ŷ_k)² with K = 2 outputs: ∂L/∂w^{2}_{1,1} = (2/K)(ŷ_1 − y_1) ŷ_1(1 − ŷ_1) a^{2}_{1}
    (sympy.diff of the loss written here); \frac{2}{K} reads K as 2, and \frac{1}{K} is a missing 2."""
    import sympy as sp
    from symbackprop.verify.answers import checker_for_spec

    yh1, yh2, y1, y2, a21 = sp.symbols("yh1 yh2 y1 y2 a21", positive=True)
    w = sp.Symbol("w")
    z = w * a21                                  # the part of z^{3}_{1} that depends on w^{2}_{1,1}
    s = 1 / (1 + sp.exp(-z))
    loss = ((y1 - s) ** 2 + (y2 - yh2) ** 2) / 2
    oracle = sp.diff(loss, w)
    mine = (sp.Integer(2) / 2) * (s - y1) * s * (1 - s) * a21
    assert sp.simplify(oracle - mine) == 0
    spec = tmp_path / "mse222.toml"
    spec.write_text('title = "mse 2-2-2"\n[network]\nlayers = [2, 2, 2]\nactivations = "sigmoid"\nloss = "mse"\n'
                    "[parameters]\nseed = 5\n[data]\nx = [[1, 2]]\ny = [[0.25, 0.75]]\n")
    checker = checker_for_spec(spec)
    body = r"(\hat{y}_1 - y_1)\hat{y}_1(1 - \hat{y}_1) a^{2}_{1}"
    assert checker.check(r"\frac{2}{K}" + body, "w^{2}_{1,1}").verdict == "correct"
    v = checker.check(r"\frac{1}{K}" + body, "w^{2}_{1,1}")
    assert v.verdict == "incorrect" and v.mistake == "constant_factor" and "2 is missing" in v.feedback, v.feedback
