r"""What is differentiated is what the answer says (issue 12): the cost J against the per-example loss L,
for parameters *and* nodes, in index and matrix notation.

J = r Σ_e L_e (r = 1/n for the mean).  A parameter θ is in every L_e, so ∂J/∂θ = r Σ_e ∂L_e/∂θ; a node
(z, a, ŷ) of example e is in L_e only, so ∂J/∂z^{(e)} = r ∂L_e/∂z^{(e)}, no Σ_e.  ``\mathcal{L}`` is
the cost in some courses and the per-example loss in others (Ng's): either reading is accepted and
named.  In matrix notation ``dz_2`` without a ∂ is ∂L/∂z_2 (the slides) or ∂J/∂z_2 (with 1/n); an
answer whose shapes fit only with examples as columns (Ng's X of features × examples) is read so.

Oracles, none sharing code with symbackprop: ``sympy.diff`` of the cost written out below from the spec's
numbers (index answers), PyTorch autograd (matrix answers).  Each answer is also written by hand as a
function next to its LaTeX; the oracle decides whether it is right, and the checker must agree.
"""
from __future__ import annotations

import random
import tomllib
from pathlib import Path

import pytest
import sympy

try:
    import torch
except ImportError:   # PyTorch is the optional oracle of the matrix answers (pip install torch==2.13.0)
    torch = None

from symbackprop.verify.answers import checker_for_spec

ROOT = Path(__file__).resolve().parent.parent
GENDER = ROOT / "derivations" / "gender.toml"
LINEAR = ROOT / "derivations" / "linear_regression.toml"

TANH4 = """
title = "2-3-2-1 tanh network, squared error, mean over n = 3"
[network]
layers = [2, 3, 2, 1]
activations = "tanh"
loss = "squared_error"
reduction = "mean"
[parameters]
weights = [[[0.5, -0.5], [1, 0.25], [-0.75, 0.5]], [[0.5, -1, 0.25], [0.75, 0.5, -0.5]], [[1, -0.5]]]
biases = [[0.1, -0.2, 0.3], [0.2, -0.1], [0.25]]
[data]
x = [[0.5, -1], [1, 2], [-1, 0.5]]
y = [[0.5], [-0.5], [0.25]]
"""

SOFTMAX2 = """
title = "2-3-3 sigmoid/softmax, cross-entropy, mean over n = 2"
[network]
layers = [2, 3, 3]
activations = ["sigmoid", "softmax"]
loss = "cross_entropy"
reduction = "mean"
[parameters]
weights = [[[0.5, -1], [0.25, 0.75], [-0.5, 0.5]], [[1, -1, 0.5], [-0.5, 0.75, 1], [0.25, 0.5, -0.75]]]
biases = [[0, 0.5, -0.25], [0.1, -0.1, 0.2]]
[data]
x = [[1, 0.5], [-0.5, 2]]
y = [[0, 1, 0], [1, 0, 0]]
"""

SHARED = """
title = "2-3-2 sigmoid, one bias per layer, mean over n = 3, matrix notation"
notation = "matrix"
[network]
layers = [2, 3, 2]
activations = "sigmoid"
loss = "half_squared_error"
reduction = "mean"
biases = "shared"
[parameters]
weights = [[[0.15, 0.20], [0.25, 0.30], [-0.5, 0.1]], [[0.40, 0.45, -0.2], [0.50, 0.55, 0.3]]]
biases = [0.35, 0.60]
[data]
x = [[0.05, 0.10], [1, -0.5], [-0.3, 0.8]]
y = [[0.01, 0.99], [0.5, 0.25], [0.9, 0.1]]
"""

SQUARED2 = """
title = "2-2-1 sigmoid, squared error, mean over n = 2, matrix notation"
notation = "matrix"
[network]
layers = [2, 2, 1]
activations = "sigmoid"
loss = "squared_error"
reduction = "mean"
[parameters]
weights = [[[0.5, -0.5], [1, 0.25]], [[0.75, -1]]]
biases = [[0.1, -0.2], [0.3]]
[data]
x = [[0.5, -1], [1, 2]]
y = [[1], [0]]
"""


@pytest.fixture(scope="module")
def specs(tmp_path_factory):
    d = tmp_path_factory.mktemp("cost_targets")
    out = {"gender": GENDER, "linear": LINEAR}
    for name, text in (("tanh4", TANH4), ("softmax2", SOFTMAX2), ("shared", SHARED), ("squared2", SQUARED2)):
        (d / f"{name}.toml").write_text(text, encoding="utf-8")
        out[name] = d / f"{name}.toml"
    return out


# ---- the sympy oracle: the network and its cost written out from the spec's TOML ----------------------
def _sigmoid(z):
    return 1 / (1 + sympy.exp(-z))


_ACT = {"sigmoid": _sigmoid, "tanh": sympy.tanh, "identity": lambda z: z}


class Net:
    """The spec's network rebuilt in SymPy: weights as symbols w_k_i_j (w^{k}_{i,j}), inputs and targets
    the spec's numbers, the cost J = r Σ_e L_e; ``node`` replaces one example's z^{l}_{i} by a symbol."""

    def __init__(self, path):
        spec = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        net = spec["network"]
        self.layers = net["layers"]
        acts = net["activations"]
        self.acts = [acts] * (len(self.layers) - 1) if isinstance(acts, str) else acts
        self.loss, self.mean = net["loss"], net.get("reduction", "mean") == "mean"
        self.x = [[sympy.Rational(str(v)) for v in row] for row in spec["data"]["x"]]
        self.y = [[sympy.Rational(str(v)) for v in row] for row in spec["data"]["y"]]
        self.n = len(self.x)
        self.w = {(k, i, j): sympy.Symbol(f"w_{k}_{i}_{j}") for k in range(1, len(self.layers))
                  for i in range(1, self.layers[k] + 1) for j in range(1, self.layers[k - 1] + 1)}
        self.b = {(k, i): sympy.Symbol(f"b_{k}_{i}") for k in range(1, len(self.layers))
                  for i in range(1, self.layers[k] + 1)}

    def forward(self, x, override=None):
        """z[l][i], a[l][i] of one example (layers numbered from 1, the input; override: {(l, i): symbol})."""
        a = {1: {j + 1: v for j, v in enumerate(x)}}
        z = {}
        for k in range(1, len(self.layers)):
            l = k + 1
            z[l] = {i: sum(self.w[(k, i, j)] * a[k][j] for j in a[k]) + self.b[(k, i)]
                    for i in range(1, self.layers[k] + 1)}
            for (ol, oi), sym in (override or {}).items():
                if ol == l:
                    z[l][oi] = sym
            act = self.acts[k - 1]
            if act == "softmax":
                total = sum(sympy.exp(v) for v in z[l].values())
                a[l] = {i: sympy.exp(v) / total for i, v in z[l].items()}
            else:
                a[l] = {i: _ACT[act](v) for i, v in z[l].items()}
        return z, a

    def example_loss(self, yhat, y):
        if self.loss == "bce":
            return -sum(t * sympy.log(p) + (1 - t) * sympy.log(1 - p) for p, t in zip(yhat, y))
        if self.loss == "cross_entropy":
            return -sum(t * sympy.log(p) for p, t in zip(yhat, y))
        if self.loss == "squared_error":
            return sum((t - p) ** 2 for p, t in zip(yhat, y))
        return sum((t - p) ** 2 for p, t in zip(yhat, y)) / 2   # half_squared_error

    def cost(self, override=None):
        total = 0
        for e, (x, y) in enumerate(zip(self.x, self.y)):
            _, a = self.forward(x, override if e == 0 else None)
            total += self.example_loss(list(a[len(self.layers)].values()), y)
        return total / self.n if self.mean else total

    def point(self, seed):
        rng = random.Random(seed)
        return {s: sympy.Rational(rng.choice([-1, 1]) * rng.randint(1, 9), rng.choice([3, 5, 7])) for s in
                [*self.w.values(), *self.b.values()]}

    def quantities(self, at):
        """Every example's z, a, ŷ, y at the parameter point ``at`` (numbers), for the hand-written answers."""
        out = []
        for x, y in zip(self.x, self.y):
            z, a = self.forward(x)
            L = len(self.layers)
            out.append({"z": {l: {i: v.subs(at) for i, v in zl.items()} for l, zl in z.items()},
                        "a": {l: {i: v.subs(at) for i, v in al.items()} for l, al in a.items()},
                        "yhat": [a[L][i].subs(at) for i in sorted(a[L])], "y": y})
        return out

    def oracle(self, target, at, of_cost=True):
        """∂J/∂target (or ∂L_1/∂target of example 1) at ``at``: ``target`` is ('w', k, i, j), ('b', k, i)
        or ('z', l, i) (a node of the first example)."""
        if target[0] == "z":
            zeta = sympy.Symbol("zeta")
            z, _ = self.forward(self.x[0])
            value = z[target[1]][target[2]].subs(at)
            f = self.cost({(target[1], target[2]): zeta}) if of_cost else self._first_loss({(target[1], target[2]): zeta})
            return sympy.diff(f, zeta).subs(at).subs(zeta, value)
        sym = self.w[target[1:]] if target[0] == "w" else self.b[target[1:]]
        f = self.cost() if of_cost else self._first_loss()
        return sympy.diff(f, sym).subs(at)

    def _first_loss(self, override=None):
        _, a = self.forward(self.x[0], override)
        return self.example_loss(list(a[len(self.layers)].values()), self.y[0])


def _close(a, b) -> bool:
    return bool(abs(sympy.N(a - b, 40)) < sympy.Rational(1, 10 ** 25) * (1 + abs(sympy.N(b, 40))))


def _tanh_prime(a):
    return 1 - a ** 2


# (spec, answer, target, of_cost, hand-written answer of the quantities q and n, right?, expected feedback text)
INDEX = [
    ("gender", r"\frac{\partial J}{\partial z_2} = \frac{1}{n}(\hat{y} - y)", ("z", 3, 1), "J",
     lambda q, n: (q[0]["yhat"][0] - q[0]["y"][0]) / n, True, "∂J/∂z^{3}_{1}"),
    ("gender", r"\frac{\partial J}{\partial z_2} = \hat{y} - y", ("z", 3, 1), "J",
     lambda q, n: q[0]["yhat"][0] - q[0]["y"][0], False, "1/n is missing"),
    ("gender", r"\frac{\partial J}{\partial z_2} = \frac{1}{n}\sum_i (\hat{y}_i - y_i)", ("z", 3, 1), "J",
     lambda q, n: sum(e["yhat"][0] - e["y"][0] for e in q) / n, False, "extra sum over the examples"),
    ("gender", r"\frac{\partial J}{\partial b^{2}_{1}} = \frac{1}{n}\sum_i (\hat{y}_i - y_i)", ("b", 2, 1), "J",
     lambda q, n: sum(e["yhat"][0] - e["y"][0] for e in q) / n, True, "∂J/∂b^{2}_{1}"),
    ("gender", r"\frac{\partial J}{\partial b^{2}_{1}} = \frac{1}{n}(\hat{y} - y)", ("b", 2, 1), "J",
     lambda q, n: (q[0]["yhat"][0] - q[0]["y"][0]) / n, False, "sum over the examples is missing"),
    ("gender", r"\frac{\partial \mathcal{L}}{\partial z_2} = \hat{y} - y", ("z", 3, 1), "L",
     lambda q, n: q[0]["yhat"][0] - q[0]["y"][0], True, "𝓛 as the per-example loss"),
    ("gender", r"\frac{\partial \mathcal{L}}{\partial z_2} = \frac{1}{n}(\hat{y} - y)", ("z", 3, 1), "J",
     lambda q, n: (q[0]["yhat"][0] - q[0]["y"][0]) / n, True, "𝓛 as the cost J"),
    ("gender", r"\frac{\partial \mathcal{L}}{\partial z_2} = \hat{y}(\hat{y} - y)", ("z", 3, 1), None,
     lambda q, n: q[0]["yhat"][0] * (q[0]["yhat"][0] - q[0]["y"][0]), False, "per-example loss"),
    ("tanh4", r"\frac{\partial J}{\partial z^{4}_{1}} = \frac{2}{n}(\hat y - y)(1 - \hat y^2)", ("z", 4, 1), "J",
     lambda q, n: 2 * (q[0]["yhat"][0] - q[0]["y"][0]) * _tanh_prime(q[0]["yhat"][0]) / n, True, "∂J/∂z^{4}_{1}"),
    ("tanh4", r"\frac{\partial J}{\partial z^{4}_{1}} = \frac{2}{n}(\hat y - y)", ("z", 4, 1), "J",
     lambda q, n: 2 * (q[0]["yhat"][0] - q[0]["y"][0]) / n, False, "tanh′"),
    ("tanh4", r"\frac{\partial J}{\partial z^{3}_{1}} = \frac{2}{n}(\hat y - y)(1 - \hat y^2)\, w^{3}_{1,1}(1 - (a^{3}_{1})^2)",
     ("z", 3, 1), "J", lambda q, n: 2 * (q[0]["yhat"][0] - q[0]["y"][0]) * _tanh_prime(q[0]["yhat"][0])
     * sympy.Symbol("w_3_1_1") * _tanh_prime(q[0]["a"][3][1]) / n, True, "∂J/∂z^{3}_{1}"),
    ("tanh4", r"\frac{\partial \mathcal{L}}{\partial z^{4}_{1}} = 2(\hat y - y)(1 - \hat y^2)", ("z", 4, 1), "L",
     lambda q, n: 2 * (q[0]["yhat"][0] - q[0]["y"][0]) * _tanh_prime(q[0]["yhat"][0]), True, "per-example loss"),
    ("softmax2", r"\frac{\partial J}{\partial z^{3}_{1}} = \frac{1}{n}(\hat y_1 - y_1)", ("z", 3, 1), "J",
     lambda q, n: (q[0]["yhat"][0] - q[0]["y"][0]) / n, True, "∂J/∂z^{3}_{1}"),
    ("softmax2", r"\frac{\partial J}{\partial z^{3}_{1}} = \hat y_1 - y_1", ("z", 3, 1), "J",
     lambda q, n: q[0]["yhat"][0] - q[0]["y"][0], False, "1/n is missing"),
]


@pytest.mark.parametrize("case", INDEX, ids=[f"{c[0]}-{k}" for k, c in enumerate(INDEX)])
def test_index_cost_targets_against_sympy(specs, case):
    spec, answer, target, reading, hand, right, says = case
    net = Net(specs[spec])
    at = net.point(7)
    q = net.quantities(at)
    value = sympy.sympify(hand(q, net.n)).subs(at)   # the hand-written answer's own value (not the student's text)
    truths = {"J": _close(value, net.oracle(target, at, True)), "L": _close(value, net.oracle(target, at, False))}
    truth = truths["J"] or truths["L"] if "mathcal" in answer else truths["J"]
    assert truth is right, (truths, answer)
    if reading is not None and right:
        assert truths[reading]
    verdict = checker_for_spec(specs[spec]).check(answer)
    assert verdict.verdict == ("correct" if right else "incorrect"), verdict.feedback
    assert says in verdict.feedback + (verdict.note or ""), verdict.feedback


def test_linear_regression_node_of_the_mean(specs):
    """L = (y − ŷ)², J = ¼ Σ_e L_e: ∂J/∂ŷ of one example is (2/n)(ŷ − y); ∂J/∂w sums over the examples."""
    w, b, yhat1 = sympy.symbols("w b yhat1")
    xs, ys = [1, 2, 3, 4], [3, 5, 7, 9]
    J = ((ys[0] - yhat1) ** 2 + sum((y - (w * x + b)) ** 2 for x, y in zip(xs[1:], ys[1:]))) / 4
    at = {w: sympy.Rational(2, 3), b: sympy.Rational(-1, 5)}
    yhat_value = (w * xs[0] + b).subs(at)
    dj_dyhat = sympy.diff(J, yhat1).subs(at).subs(yhat1, yhat_value)
    assert dj_dyhat == 2 * (yhat_value - ys[0]) / 4
    checker = checker_for_spec(specs["linear"])
    right = checker.check(r"\frac{\partial J}{\partial \hat y} = \frac{2}{n}(\hat y - y)")
    assert right.verdict == "correct", right.feedback
    assert "no Σ_e" in right.note
    assert checker.check(r"\frac{\partial J}{\partial \hat y} = 2(\hat y - y)").mistake == "constant_factor"
    Jw = sum((y - (w * x + b)) ** 2 for x, y in zip(xs, ys)) / 4
    assert sympy.diff(Jw, w) == sympy.expand(sum(2 * ((w * x + b) - y) * x for x, y in zip(xs, ys)) / 4)
    assert checker.check(r"\frac{\partial J}{\partial w} = \frac{2}{n}\sum_i (\hat y_i - y_i) x_i").verdict == "correct"


def test_calligraphic_loss_shows_both_readings_when_neither(specs):
    v = checker_for_spec(specs["gender"]).check(r"\frac{\partial \mathcal{L}}{\partial z_2} = 2(\hat y - y)")
    assert v.verdict == "incorrect"
    assert "cost J" in v.feedback and "per-example loss" in v.feedback, v.feedback
    assert "\\mathcal{L}" in v.steps[0].left   # the student's own spelling, not the normalized one


# ---- matrix answers, against PyTorch autograd ------------------------------------------------------------
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch (the optional oracle) is not installed")


class Torch:
    """The gender network (slides' layout: x is (n, N_0), W_l is (N_{l-1}, N_l)) at a random point, with
    autograd's gradients of the summed loss (the slides' dz_2 = ŷ − y) and of the mean J."""

    def __init__(self, path, seed=3):
        spec = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        g = torch.Generator().manual_seed(seed)
        self.x = torch.tensor(spec["data"]["x"], dtype=torch.float64)
        self.y = torch.tensor(spec["data"]["y"], dtype=torch.float64)
        self.n = self.x.shape[0]
        widths = spec["network"]["layers"]
        shared = spec["network"].get("biases") == "shared"
        self.W = [torch.randn(widths[k], widths[k + 1], generator=g, dtype=torch.float64).requires_grad_()
                  for k in range(len(widths) - 1)]
        self.b = [torch.randn(1, 1 if shared else widths[k + 1], generator=g, dtype=torch.float64).requires_grad_()
                  for k in range(len(widths) - 1)]
        self.loss = spec["network"]["loss"]
        self.grads = {}
        for reduction in ("sum", "mean"):
            a, zs, acts = self.x, [], [self.x]
            for W, b in zip(self.W, self.b):
                z = a @ W + b
                z.retain_grad()
                a = torch.sigmoid(z)
                a.retain_grad()
                zs.append(z)
                acts.append(a)
            per_example = (-(self.y * torch.log(a) + (1 - self.y) * torch.log(1 - a)).sum(dim=1)
                           if self.loss == "bce" else 0.5 * ((self.y - a) ** 2).sum(dim=1))
            L = per_example.sum() if reduction == "sum" else per_example.mean()
            for t in [*self.W, *self.b]:
                t.grad = None
            L.backward()
            self.grads[reduction] = {"W_1": self.W[0].grad.clone(), "W_2": self.W[1].grad.clone(),
                                     "b_1": self.b[0].grad.clone(), "b_2": self.b[1].grad.clone(),
                                     "z_2": zs[1].grad.clone(), "z_1": zs[0].grad.clone(), "a_1": acts[1].grad.clone()}
            self.a1, self.yhat = acts[1].detach(), a.detach()
        self.dz2 = self.grads["sum"]["z_2"]
        self.dz1 = self.grads["sum"]["z_1"]


def _right(value, oracle) -> bool:
    return value.shape == oracle.shape and torch.allclose(value, oracle, rtol=1e-10, atol=1e-12)


# (wrt, answer, target, hand-written answer of the torch point m (the slides' layout), readings it may match)
MATRIX = [
    ("dz_2", r"dz_2 = \frac{1}{n}(\hat y - y)", "z_2", lambda m: (m.yhat - m.y) / m.n, ("sum", "mean"),
     "read as ∂J/∂z_2"),
    ("dz_2", r"dz_2 = \hat y - y", "z_2", lambda m: m.yhat - m.y, ("sum", "mean"), "read as ∂L/∂z_2"),
    ("dz_2", r"dz_2 = 2(\hat y - y)", "z_2", lambda m: 2 * (m.yhat - m.y), ("sum", "mean"), "stray 2"),
    ("dW_2", r"\frac{1}{m} dZ^{[2]} A^{[1]T}", "W_2", lambda m: ((m.dz2.T @ m.a1) / m.n).T, ("sum", "mean"),
     "examples as columns"),
    ("dW_2", r"\frac{1}{n} dz_2^T a_1", "W_2", lambda m: m.dz2.T @ m.a1 / m.n, ("sum", "mean"),
     "transpose of dW_2"),   # Ng's dW's shape from the slides' matrices: the wrong order in either layout
    # Ng's order in the slides' names: wrong in this spec's layout (examples as rows), and the feedback says whose it is
    ("dW_2", r"dz_2 a_1^T", "W_2", None, ("sum", "mean"), "right with examples as columns"),
    ("W_2", r"\frac{1}{n} dz_2 a_1^T", "W_2", None, ("sum",), "inner dimensions do not match"),
    ("dW_2", r"dz_2^T a_1", "W_2", lambda m: m.dz2.T @ m.a1, ("sum", "mean"), "wrong order"),
    ("dW_2", r"\frac{\partial \mathcal{L}}{\partial W_2} = a_1^T dz_2", "W_2", lambda m: m.a1.T @ m.dz2,
     ("sum", "mean"), "𝓛 as the per-example loss"),
    ("dW_2", r"\frac{\partial \mathcal{L}}{\partial W_2} = \frac{1}{n} a_1^T dz_2", "W_2",
     lambda m: m.a1.T @ m.dz2 / m.n, ("sum", "mean"), "𝓛 as the cost J"),
    ("dW_2", r"\frac{\partial \mathcal{L}}{\partial W_2} = a_1 dz_2", "W_2", None, ("sum", "mean"), "missing transpose"),
    ("dW_2", r"\frac{\partial L}{\partial W_2} = \frac{1}{n} a_1^T dz_2", "W_2", lambda m: m.a1.T @ m.dz2 / m.n,
     ("sum",), "1/n"),
    ("db_2", r"\frac{1}{m} \sum dZ^{[2]}", "b_2", lambda m: m.dz2.sum(dim=0, keepdim=True) / m.n, ("sum", "mean"),
     "∂J/∂b_2"),   # one output: the same (1, 1) in either layout
    ("da_1", r"W_2^T dz_2", "a_1", None, ("sum", "mean"), "right with examples as columns"),
    (r"\frac{\partial J}{\partial W_2}", r"\frac{1}{n} a_1^T dz_2", "W_2", lambda m: m.a1.T @ m.dz2 / m.n, ("mean",),
     "∂J/∂W_2"),   # --wrt says J: the cost's gradient only
    (r"\frac{\partial J}{\partial W_2}", r"a_1^T dz_2", "W_2", lambda m: m.a1.T @ m.dz2, ("mean",), "n = 4 times"),
]


@needs_torch
@pytest.mark.parametrize("case", MATRIX, ids=[f"gender-{k}" for k in range(len(MATRIX))])
def test_matrix_readings_against_torch(specs, case):
    wrt, answer, target, hand, readings, says = case
    m = Torch(specs["gender"])
    right = hand is not None and any(_right(hand(m), m.grads[r][target]) for r in readings)
    verdict = checker_for_spec(specs["gender"]).check(answer, wrt)
    assert verdict.verdict == ("correct" if right else "incorrect"), verdict.feedback
    assert says in verdict.feedback + " " + (verdict.note or ""), (verdict.feedback, verdict.note)


@needs_torch
def test_torch_oracle_confirms_the_expected_truths(specs):
    """The table's truths as the oracle sees them (so a wrong table cannot pass the test above)."""
    m = Torch(specs["gender"])
    truths = [hand is not None and any(_right(hand(m), m.grads[r][t]) for r in rs) for _, _, t, hand, rs, _ in MATRIX]
    assert truths == [True, True, False, True, False, False, False, False, True, True, False, False, True, False, True,
                      False]


def test_ambiguous_name_without_a_match_shows_both_readings(specs):
    v = checker_for_spec(specs["gender"]).check(r"(\hat y - y) \odot \hat y", "dz_2")
    assert v.verdict == "incorrect"
    assert "∂L/∂z_2" in v.feedback and "∂J/∂z_2" in v.feedback, v.feedback
    assert "two readings" in v.note and "neither" in v.note


SHARED_CASES = [   # (answer, hand-written answer (None: no hand form needed, the shape cannot fit), right?, says)
    (r"db_2 = \sum dz_2", lambda m: m.dz2.sum().reshape(1, 1), True, "sum over every entry"),
    (r"db_2 = \frac{1}{n} \sum dz_2", lambda m: m.dz2.sum().reshape(1, 1) / m.n, True, "∂J/∂b_2"),
    (r"db_2 = \mathbf{1}^T dz_2 \mathbf{1}", lambda m: m.dz2.sum().reshape(1, 1), True, "db_2"),
    (r"db_1 = \sum dz_1", lambda m: m.dz1.sum().reshape(1, 1), True, "sum over every entry"),
    (r"db_2 = 2 \sum dz_2", lambda m: 2 * m.dz2.sum().reshape(1, 1), False, "stray 2"),
    (r"db_2 = dz_2", lambda m: m.dz2, False, "missing the sum over the examples and the nodes"),
    (r"db_2 = \sum_{\text{rows}} dz_2", lambda m: m.dz2.sum(dim=0, keepdim=True), False,
     "missing the sum over the layer's nodes"),
    (r"db_2 = \mathbf{1}^T dz_2", lambda m: m.dz2.sum(dim=0, keepdim=True), False, "missing the sum over the layer's nodes"),
]


@needs_torch
@pytest.mark.parametrize("case", SHARED_CASES, ids=[f"shared-{k}" for k in range(len(SHARED_CASES))])
def test_shared_bias_sums_against_torch(specs, case):
    """One bias per layer: b_l is added to every entry of z_l, so db_l sums dz_l over the examples and the nodes."""
    answer, hand, right, says = case
    m = Torch(specs["shared"])
    target = "b_2" if answer.startswith("db_2") else "b_1"
    assert any(_right(hand(m), m.grads[r][target]) for r in ("sum", "mean")) is right
    v = checker_for_spec(specs["shared"]).check(answer)
    assert v.verdict == ("correct" if right else "incorrect"), v.feedback
    assert says in v.feedback + " " + (v.note or ""), (v.feedback, v.note)
    if "missing the sum" in says:
        assert v.mistake == "missing_sum"


def test_written_two_is_not_read_as_a_missing_two(specs):
    """n = 2: ½ of the per-example gradient is a missing power-rule 2 or an extra 1/n; the answer's own
    numbers decide (a 2/n it writes has its 2), and ∂J's own 1/n is not an extra one."""
    checker = checker_for_spec(specs["squared2"])
    body = r"a_1^T ((\hat y - y) \odot \hat y \odot (1 - \hat y))"
    v = checker.check(r"\frac{2}{n} " + body, "W_2")
    assert v.mistake == "constant_factor" and "batch mean's 1/n" in v.feedback and "either" not in v.feedback, v.feedback
    v = checker.check(body, "W_2")
    assert "a factor 2 is missing" in v.feedback and "either" not in v.feedback, v.feedback
    v = checker.check(r"da_2 = \frac{1}{n}(\hat y - y)")
    assert "a factor 2 is missing" in v.feedback and "either" not in v.feedback, v.feedback
    assert checker.check(r"da_2 = \frac{2}{n}(\hat y - y)").verdict == "correct"
