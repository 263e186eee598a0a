"""The held-out set's oracle: what the true derivative is, with no code shared with the checker.

Index specs: the spec's TOML is read with ``tomllib`` and the network is rebuilt here from its
structure (layers, activations, loss, reduction), as SymPy expressions in the leaves only
(inputs x_i, targets y_k, weights w^{l}_{j,k}, biases b^{l}_j): z^{l+1}_j = Σ_k w^{l}_{j,k} a^{l}_k
+ b^{l}_j, a^{1} = x.  The reference is ``sympy.diff`` of that fully expanded loss.  An answer of
the set is a hand-written Python function of a :class:`Net` namespace (``n.yh[1]``, ``n.a[2][1]``,
``n.w[1][1][2]``, …), each name already an expression in the leaves, so an answer and the
reference are both functions of the leaves; they are compared at ``POINTS`` random points in
40-digit mpmath arithmetic, every ReLU pre-activation on both sides of its kink over the points
(asserted), targets in the loss's domain (a probability vector for cross-entropy).

Matrix specs (the gender network): PyTorch.  The forward pass is written here in the slides'
layout (z_l = a_{l-1} W_l + b_l, W_l of shape (N_{l-1}, N_l)), the gradients are PyTorch's
autograd of the summed loss Σ_e L_e (the slides' dz_2 = ŷ − y convention) or of the mean J, in
float64, at random points (x, y, W, b); an answer is a hand-written function of those tensors.

Finite differences check the oracle itself (``fd_check`` here, ``torch_fd_check`` in heldout_torch.py): a plain-float
forward pass written separately from the SymPy one.
"""
from __future__ import annotations

import math
import random
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import mpmath
import sympy
from sympy import Rational, Symbol

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
POINTS = 24
DIGITS = 40


def spec_path(name: str) -> Path:
    """A spec of the set: ``specs/…`` here, or a path from the repository root."""
    p = HERE / "specs" / name
    return p if p.exists() else ROOT / name


class Step(sympy.Function):
    """1[z > 0]: relu′, an opaque function whose derivative is 0 (away from the kink)."""

    @classmethod
    def eval(cls, z):
        if z.is_number and z.is_extended_real:
            return sympy.Integer(1) if z > 0 else sympy.Integer(0)
        return None

    def fdiff(self, argindex=1):
        return sympy.Integer(0)


def _relu(z):
    return z * Step(z)


_MODULES = [{"Step": lambda v: mpmath.mpf(1) if v > 0 else mpmath.mpf(0)}, "mpmath"]


def _sigmoid(z):
    return 1 / (1 + sympy.exp(-z))


ACT = {"sigmoid": _sigmoid, "tanh": sympy.tanh, "relu": _relu, "identity": lambda z: z}


class Net:
    """One spec's network as SymPy expressions in its leaves (one example, or all of them)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.toml = tomllib.loads(self.path.read_text())
        net = self.toml["network"]
        self.layers = list(net["layers"])
        acts = net["activations"]
        self.acts = [acts] * (len(self.layers) - 1) if isinstance(acts, str) else list(acts)
        self.loss = net["loss"]
        self.reduction = net.get("reduction", "mean")
        self.data_x = self.toml["data"]["x"]
        self.data_y = self.toml["data"]["y"]
        self.n = len(self.data_x)
        L = len(self.layers)
        self.w = {l: {j: {k: Symbol(f"w^{{{l}}}_{{{j},{k}}}") for k in range(1, self.layers[l - 1] + 1)}
                      for j in range(1, self.layers[l] + 1)} for l in range(1, L)}
        self.b = {l: {j: Symbol(f"b^{{{l}}}_{{{j}}}") for j in range(1, self.layers[l] + 1)}
                  for l in range(1, L)}
        self.params = [s for l in self.w for j in self.w[l] for s in
                       list(self.w[l][j].values()) + [self.b[l][j]]]
        self.one = Example(self, "")
        self.examples = [Example(self, f"e{e}") for e in range(1, self.n + 1)]
        self.kink_args = []          # every ReLU pre-activation, for the coverage check
        for ex in [self.one] + self.examples:
            self.kink_args += ex.kinks
        self.J = Rational(1, self.n if self.reduction == "mean" else 1) * sympy.Add(
            *[ex.Lexpr for ex in self.examples])

    # names -------------------------------------------------------------------------------------
    def param(self, name: str) -> Symbol:
        for s in self.params + list(self.one.x.values()):
            if s.name == name:
                return s
        raise KeyError(name)

    def reference(self, wrt: str, cost: bool = False):
        return sympy.diff(self.J if cost else self.one.Lexpr, self.param(wrt))

    # the spec's own numbers --------------------------------------------------------------------
    def spec_values(self) -> dict:
        p = self.toml.get("parameters", {})
        W, B = p.get("weights"), p.get("biases")
        vals = {}
        for l in self.w:
            for j in self.w[l]:
                for k in self.w[l][j]:
                    vals[self.w[l][j][k]] = W if isinstance(W, (int, float)) else W[l - 1][j - 1][k - 1]
                vals[self.b[l][j]] = B if isinstance(B, (int, float)) else B[l - 1][j - 1]
        for ex, xs, ys in [(self.one, self.data_x[0], self.data_y[0])] + list(
                zip(self.examples, self.data_x, self.data_y)):
            for i, v in enumerate(xs, 1):
                vals[ex.x[i]] = v
            for k, v in enumerate(ys, 1):
                vals[ex.y[k]] = v
        return {s: mpmath.mpf(str(v)) for s, v in vals.items()}

    # random points -----------------------------------------------------------------------------
    def leaves(self) -> list:
        out = list(self.params)
        for ex in [self.one] + self.examples:
            out += list(ex.x.values()) + list(ex.y.values())
        return out

    def points(self, count: int = POINTS, seed: int = 12) -> list:
        rng = random.Random(seed)
        pts = []
        for _ in range(count):
            pt = {}
            for s in self.params:
                pt[s] = _rand(rng)
            for ex in [self.one] + self.examples:
                for s in ex.x.values():
                    pt[s] = _rand(rng)
                ys = list(ex.y.values())
                if self.loss == "cross_entropy":     # a probability vector, exactly (Σ y_k = 1)
                    raw = [rng.uniform(0.05, 1) for _ in ys]
                    with mpmath.workdps(DIGITS):
                        tot = mpmath.fsum(raw)
                        for s, r in zip(ys[:-1], raw):
                            pt[s] = mpmath.mpf(r) / tot
                        pt[ys[-1]] = 1 - mpmath.fsum(pt[s] for s in ys[:-1])
                elif self.loss == "bce":
                    for s in ys:
                        pt[s] = mpmath.mpf(rng.uniform(0.05, 0.95))
                else:
                    for s in ys:
                        pt[s] = _rand(rng)
            pts.append(pt)
        return pts


def _rand(rng) -> mpmath.mpf:
    """Varied magnitudes and signs, never 0 or ±1 exactly."""
    return mpmath.mpf(rng.choice([-1, 1]) * rng.uniform(0.1, 2.5))


@dataclass
class Example:
    """One example's forward pass: ``x[i]``, ``y[k]``, ``z[l][j]``, ``a[l][j]``, ``yh[k]``, ``L``."""

    net: Net
    tag: str
    x: dict = field(default_factory=dict)
    y: dict = field(default_factory=dict)
    z: dict = field(default_factory=dict)
    a: dict = field(default_factory=dict)
    kinks: list = field(default_factory=list)

    def __post_init__(self):
        net, t = self.net, self.tag
        sep = f"_{t}" if t else ""
        self.x = {i: Symbol(f"x_{{{i}}}{sep}") for i in range(1, net.layers[0] + 1)}
        self.y = {k: Symbol(f"y_{{{k}}}{sep}") for k in range(1, net.layers[-1] + 1)}
        self.a = {1: dict(self.x)}
        for l in range(1, len(net.layers)):
            zs = {j: sympy.Add(*[net.w[l][j][k] * self.a[l][k] for k in self.a[l]]) + net.b[l][j]
                  for j in net.w[l]}
            self.z[l + 1] = zs
            act = net.acts[l - 1]
            if act == "softmax":
                m = sympy.Add(*[sympy.exp(v) for v in zs.values()])
                self.a[l + 1] = {j: sympy.exp(v) / m for j, v in zs.items()}
            else:
                if act == "relu":
                    self.kinks += list(zs.values())
                self.a[l + 1] = {j: ACT[act](v) for j, v in zs.items()}
        self.yh = self.a[len(net.layers)]
        ys, hs = [self.y[k] for k in self.y], [self.yh[k] for k in self.yh]
        if net.loss == "half_squared_error":
            self.Lexpr = Rational(1, 2) * sympy.Add(*[(y - h) ** 2 for y, h in zip(ys, hs)])
        elif net.loss == "squared_error":
            self.Lexpr = sympy.Add(*[(y - h) ** 2 for y, h in zip(ys, hs)])
        elif net.loss == "cross_entropy":
            self.Lexpr = -sympy.Add(*[y * sympy.log(h) for y, h in zip(ys, hs)])
        elif net.loss == "bce":
            self.Lexpr = -sympy.Add(*[y * sympy.log(h) + (1 - y) * sympy.log(1 - h) for y, h in zip(ys, hs)])
        else:
            raise ValueError(f"oracle: loss {net.loss!r} not written here")


class NS:
    """What an answer's hand-written function sees at one point: one example's names as numbers
    (``x[i]``, ``y[k]``, ``w[l][j][k]``, ``b[l][j]``, ``z[l][j]``, ``a[l][j]``, ``yh[k]``, ``n``), from a
    40-digit mpmath forward pass written here; ``ex(e)`` is example e (for ∂J answers)."""

    def __init__(self, net: Net, point: dict, ex: Example):
        self.net, self.point, self.n = net, point, net.n
        self._examples = {}
        self.w = {l: {j: {k: point[s] for k, s in row.items()} for j, row in net.w[l].items()} for l in net.w}
        self.b = {l: {j: point[s] for j, s in net.b[l].items()} for l in net.b}
        self.x = {i: point[s] for i, s in ex.x.items()}
        self.y = {k: point[s] for k, s in ex.y.items()}
        self.a, self.z = {1: dict(self.x)}, {}
        for l in range(1, len(net.layers)):
            zs = {j: mpmath.fsum(self.w[l][j][k] * self.a[l][k] for k in self.a[l]) + self.b[l][j]
                  for j in self.w[l]}
            self.z[l + 1] = zs
            act = net.acts[l - 1]
            if act == "softmax":
                tot = mpmath.fsum(mpmath.exp(v) for v in zs.values())
                self.a[l + 1] = {j: mpmath.exp(v) / tot for j, v in zs.items()}
            else:
                f = {"sigmoid": self.sig, "tanh": mpmath.tanh, "relu": self.relu, "identity": lambda v: v}[act]
                self.a[l + 1] = {j: f(v) for j, v in zs.items()}
        self.yh = self.a[len(net.layers)]

    def ex(self, e: int) -> "NS":
        if e not in self._examples:
            self._examples[e] = NS(self.net, self.point, self.net.examples[e - 1])
        return self._examples[e]

    @staticmethod
    def sig(z):
        return 1 / (1 + mpmath.exp(-z))

    @staticmethod
    def step(z):                   # relu′
        return mpmath.mpf(1) if z > 0 else mpmath.mpf(0)

    @staticmethod
    def relu(z):
        return z if z > 0 else mpmath.mpf(0)

    tanh = staticmethod(mpmath.tanh)
    exp = staticmethod(mpmath.exp)
    log = staticmethod(mpmath.log)


def _fn(expr, syms):
    """A 40-digit mpmath function of the leaves (renamed to identifiers first, which spares
    lambdify a slow substitution of its own)."""
    safe = [Symbol(f"v{i}") for i in range(len(syms))]
    return sympy.lambdify(safe, expr.xreplace(dict(zip(syms, safe))), modules=_MODULES, cse=True,
                           docstring_limit=0)


class IndexOracle:
    """Decides, for one index spec, whether an answer's hand-written expression is the derivative."""

    def __init__(self, path):
        self.net = Net(path)
        self.syms = self.net.leaves()
        self.pts = self.net.points()
        with mpmath.workdps(DIGITS):
            self._check_kinks()
        self._refs = {}
        self._ref_fns = {}
        self._ns = None
        self._ref_vals = {}

    def _check_kinks(self):
        """Every ReLU pre-activation is positive at some point and negative at another."""
        for arg in self.net.kink_args:
            f = _fn(arg, self.syms)
            vals = [f(*[p[s] for s in self.syms]) for p in self.pts]
            assert any(v > 0 for v in vals) and any(v < 0 for v in vals), f"kink {arg} one-sided"

    def ref(self, wrt: str, cost: bool = False):
        key = (wrt, cost)
        if key not in self._refs:
            self._refs[key] = self.net.reference(wrt, cost)
        return self._refs[key]

    def ref_fn(self, wrt: str, cost: bool = False):
        key = (wrt, cost)
        if key not in self._ref_fns:
            self._ref_fns[key] = _fn(self.ref(wrt, cost), self.syms)
        return self._ref_fns[key]

    def ref_values(self, wrt: str, cost: bool = False) -> list:
        key = (wrt, cost)
        if key not in self._ref_vals:
            with mpmath.workdps(DIGITS):
                f = self.ref_fn(wrt, cost)
                self._ref_vals[key] = [f(*[p[s] for s in self.syms]) for p in self.pts]
        return self._ref_vals[key]

    def answer_values(self, fn) -> list:
        """The hand-written answer ``fn(ns)`` at every point (the forward pass once per point)."""
        with mpmath.workdps(DIGITS):
            if self._ns is None:
                self._ns = [NS(self.net, p, self.net.one) for p in self.pts]
            return [mpmath.mpf(fn(ns)) for ns in self._ns]

    def equal(self, fn, wrt: str, cost: bool = False) -> bool:
        with mpmath.workdps(DIGITS):
            ra, rb = self.answer_values(fn), self.ref_values(wrt, cost)
            return all(abs(u - v) <= mpmath.mpf(10) ** (-25) * (1 + abs(v)) for u, v in zip(ra, rb))

    def spec_value(self, wrt: str, cost: bool = False) -> float:
        with mpmath.workdps(DIGITS):
            vals = self.net.spec_values()
            f = self.ref_fn(wrt, cost)
            return f(*[vals.get(s, mpmath.mpf(0)) for s in self.syms])


# --- finite differences on a plain-float forward pass (checks the oracle) -----------------------

def _float_loss(net: Net, params: dict, xs, ys) -> float:
    a = list(map(float, xs))
    for l in range(1, len(net.layers)):
        z = [sum(params[net.w[l][j][k]] * a[k - 1] for k in net.w[l][j]) + params[net.b[l][j]]
             for j in net.w[l]]
        act = net.acts[l - 1]
        if act == "sigmoid":
            a = [1 / (1 + math.exp(-v)) for v in z]
        elif act == "tanh":
            a = [math.tanh(v) for v in z]
        elif act == "relu":
            a = [max(v, 0.0) for v in z]
        elif act == "identity":
            a = z
        elif act == "softmax":
            m = max(z)
            e = [math.exp(v - m) for v in z]
            a = [v / sum(e) for v in e]
    if net.loss == "half_squared_error":
        return 0.5 * sum((y - h) ** 2 for y, h in zip(ys, a))
    if net.loss == "squared_error":
        return sum((y - h) ** 2 for y, h in zip(ys, a))
    if net.loss == "cross_entropy":
        return -sum(y * math.log(h) for y, h in zip(ys, a))
    return -sum(y * math.log(h) + (1 - y) * math.log(1 - h) for y, h in zip(ys, a))


def fd_check(oracle: IndexOracle, h: float = 1e-6, params=None) -> float:
    """Largest |sympy.diff − central difference| over every parameter, at the spec's numbers and at
    the first random point (one example, the per-example loss)."""
    net = oracle.net
    worst = 0.0
    spec = net.spec_values()
    p0 = oracle.pts[0]
    for vals in (spec, p0):
        xs = [float(vals[net.one.x[i]]) for i in net.one.x]
        ys = [float(vals[net.one.y[k]]) for k in net.one.y]
        theta = {s: float(vals[s]) for s in net.params}
        full = {s: vals.get(s, mpmath.mpf(0)) for s in oracle.syms}
        for s in (net.params if params is None else [net.param(p) for p in params]):
            up, dn = dict(theta), dict(theta)
            up[s] += h
            dn[s] -= h
            fd = (_float_loss(net, up, xs, ys) - _float_loss(net, dn, xs, ys)) / (2 * h)
            with mpmath.workdps(DIGITS):
                exact = float(oracle.ref_fn(s.name)(*[full[t] for t in oracle.syms]))
            worst = max(worst, abs(fd - exact) / (1 + abs(exact)))
    return worst
