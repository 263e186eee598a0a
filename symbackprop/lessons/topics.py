r"""The lectures' remaining topics, computed: each function returns the numbers and the
formulas a worksheet or a picture shows, from symbackprop's own derivation where there is
one.

- :func:`bce_table`: the slides' table of binary cross-entropy values (y, ŷ, L) with
  L = −[y log ŷ + (1 − y) log(1 − ŷ)]; the slides round −log 0.95 ≈ 0.0513 to 0.05 and
  −log 0.05 ≈ 2.996 to 3.
- :func:`mse_vs_half_cost`: the handwritten notes' loss (1/n) Σ (y − ŷ)² (MSE) against
  their cost 1/(2n) Σ (y − ŷ)²: the ½ cancels the 2 of the power rule, so the cost's
  gradient is exactly half the MSE's; same minimum, as if the learning rate were halved.
- :func:`linear_regression`: the slides' L(w, b) = (1/n) Σ (y_i − (w x_i + b))², with
  ∂L/∂w = −(2/n) Σ x_i (y_i − (w x_i + b)) and ∂L/∂b = −(2/n) Σ (y_i − (w x_i + b)).
- :func:`descent_path`: the update w ← w − α ∂L/∂w on L(w) = (w − w*)², the learning
  rate's effect.
- :func:`sigmoid_derivative_bound` and :func:`vanishing_gradient_magnitudes`: why a deep
  stack of sigmoids has a vanishing gradient (σ′(z) = a(1 − a) ≤ 1/4), and the
  gradient's size layer by layer against tanh and ReLU.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy

from ..spec import names
from ..errors import SpecError
from ..render.printers import text

# ---------------------------------------------------------------------------------------
# Binary cross-entropy: the table of values
# ---------------------------------------------------------------------------------------

#: the rows of the slides' table (y, ŷ), plus (0, 0.05), the fourth combination
BCE_TABLE_PAIRS = ((1, 0.95), (1, 0.05), (0, 0.95), (0, 0.05))

#: the slides' rounded "Loss (approx)" column
SLIDES_BCE_APPROX = {(1, 0.95): 0.05, (1, 0.05): 3, (0, 0.95): 3}


@dataclass(frozen=True)
class BCERow:
    """One row: target y, prediction ŷ, the exact loss (e.g. −log(19/20)) and its value."""

    y: sympy.Integer
    y_hat: sympy.Rational
    loss: sympy.Expr
    value: float
    slides: float | None  # the slides' rounded value, when the slides list this row

    @property
    def confident_and_wrong(self) -> bool:
        return abs(float(self.y) - float(self.y_hat)) > 0.5


def _exact_number(v, place: str) -> sympy.Rational:
    if isinstance(v, bool):
        raise SpecError(f"{place}: expected a number, got {v!r}")
    if isinstance(v, sympy.Rational):
        return v
    if isinstance(v, int):
        return sympy.Integer(v)
    if isinstance(v, float) and math.isfinite(v):
        return sympy.Rational(repr(v))
    raise SpecError(f"{place}: expected a finite number, got {v!r}")


def bce_table(pairs=BCE_TABLE_PAIRS) -> tuple:
    """The BCE table of values: for each (y, ŷ) the per-example loss from the loss registry,
    L = −[y log ŷ + (1 − y) log(1 − ŷ)], exactly (``-log(19/20)``) and as a float.

    A confident right prediction costs little (y = 1, ŷ = 0.95: −log 0.95 ≈ 0.0513), a
    confident wrong one a lot (y = 1, ŷ = 0.05: −log 0.05 ≈ 2.996).
    """
    from ..ops.losses import get_loss

    bce = get_loss("bce")
    rows = []
    for i, (y, y_hat) in enumerate(pairs):
        y_ = _exact_number(y, f"bce_table: pair {i + 1}: y")
        p = _exact_number(y_hat, f"bce_table: pair {i + 1}: ŷ")
        if y_ not in (0, 1):
            raise SpecError(f"bce_table: pair {i + 1}: y = {y} must be 0 or 1")
        if not 0 < p < 1:
            raise SpecError(f"bce_table: pair {i + 1}: ŷ = {y_hat} must lie strictly between 0 and 1")
        loss = bce.per_example([y_], [p])
        slides = SLIDES_BCE_APPROX.get((int(y_), float(p)))
        rows.append(BCERow(y_, p, loss, float(sympy.N(loss, 30)), slides))
    return tuple(rows)


def bce_table_text(rows=None, decimals: int = 4) -> str:
    """The table as text: y, ŷ, the exact loss, its value to ``decimals`` places, and the slides' rounding.

    ::

        y  ŷ      L = −[y log ŷ + (1 − y) log(1 − ŷ)]     value   slides
        1  0.95   −log(19/20)                              0.0513  ≈ 0.05
    """
    rows = bce_table() if rows is None else rows
    lines = [f"{'y':<3}{'ŷ':<7}{'L = −[y log ŷ + (1 − y) log(1 − ŷ)]':<38}{'value':<{decimals + 4}}slides"]
    for r in rows:
        exact = text(r.loss)
        slides = "–" if r.slides is None else f"≈ {r.slides:g}"
        lines.append(f"{int(r.y):<3}{float(r.y_hat):<7g}{exact:<38}{r.value:<{decimals + 4}.{decimals}f}{slides}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------
# Linear regression, MSE (1/n) against the cost 1/(2n)
# ---------------------------------------------------------------------------------------

#: the data of derivations/linear_regression.toml: four points on y = 2x + 1
LINEAR_DATA = {"x": [1, 2, 3, 4], "y": [3, 5, 7, 9]}


def linear_regression_spec(half: bool = False, w=0, b=0, data=None) -> dict:
    """The spec (as a TOML table) of linear regression ŷ = w x + b with the per-example loss
    (y − ŷ)² (``half=False``: the MSE (1/n) Σ (y − ŷ)²) or ½ (y − ŷ)² (``half=True``: the
    notes' cost 1/(2n) Σ (y − ŷ)²), reduced by the mean over the examples."""
    loss = "L = (y - yhat)^2 / 2" if half else "L = (y - yhat)^2"
    return {
        "title": "Linear regression with the cost 1/(2n)" if half else "Linear regression with the mean squared error",
        "graph": {"equations": ["yhat = w x + b", loss], "parameters": ["w", "b"], "reduction": "mean"},
        "parameters": {"w": w, "b": b},
        "data": dict(data or LINEAR_DATA),
    }


def _derive_table(table: dict, source: str):
    from ..derivation.chain_rule import derive
    from ..spec.load import spec_from_dict

    return derive(spec_from_dict(table, source=source))


@dataclass(frozen=True)
class LinearRegression:
    r"""Linear regression's gradients, from the derivation.

    ``per_example``: {θ: ∂L_e/∂θ} in x, y, w, b (``x*(2*b + 2*w*x - 2*y)`` for w);
    ``formulas``: the reduced gradients as the slides write them (LaTeX);
    ``gradients``: {θ: exact ∂J/∂θ} at the spec's parameters and data (−35 and −12 at
    w = b = 0 on the four points of y = 2x + 1).
    """

    per_example: dict
    formulas: dict
    gradients: dict
    reduction_factor: sympy.Expr
    n: int


def linear_regression(spec=None, half: bool = False) -> LinearRegression:
    """∂L/∂w and ∂L/∂b of linear regression, derived by the chain rule through ŷ = w x + b.

    ``spec``: a spec path (or a loaded Spec) of the same shape, e.g.
    ``derivations/linear_regression.toml``; default: :func:`linear_regression_spec`.
    """
    from ..derivation.chain_rule import derive
    from ..spec.load import Spec, load_spec

    if spec is None:
        d = _derive_table(linear_regression_spec(half=half), "<linear regression>")
    else:
        d = derive(spec if isinstance(spec, Spec) else load_spec(spec))
    for p in ("w", "b"):
        if p not in d.parameters:
            raise SpecError(f"{d.spec.source}: linear regression needs the parameters w and b (found: "
                            f"{', '.join(d.parameters) or 'none'})")
    per_example = {p: sympy.factor(d.expanded_gradient(p)) for p in ("w", "b")}
    c = "1/n" if half else "2/n"
    formulas = {
        "w": rf"\frac{{\partial L}}{{\partial w}} = -\frac{{{c[0]}}}{{{c[2:]}}} \sum_{{i=1}}^{{n}} "
             r"x_i \left(y_i - (w x_i + b)\right)",
        "b": rf"\frac{{\partial L}}{{\partial b}} = -\frac{{{c[0]}}}{{{c[2:]}}} \sum_{{i=1}}^{{n}} "
             r"\left(y_i - (w x_i + b)\right)",
    }
    return LinearRegression(per_example, formulas, d.exact_gradients(), d.reduction_factor, d.n_examples)


@dataclass(frozen=True)
class MSEvsCost:
    """The MSE J = (1/n) Σ (y − ŷ)² against the cost C = 1/(2n) Σ (y − ŷ)².

    ``mse_gradient`` and ``cost_gradient``: ∂/∂ŷ_e of the reduced losses, written with the
    symbol n (−2(y − ŷ)/n and −(y − ŷ)/n); ``ratio``: their quotient (2);
    ``mse_numbers`` / ``cost_numbers``: {θ: exact ∂/∂θ} for linear regression on the
    default data at w = b = 0 ({w: −35, b: −12} and {w: −35/2, b: −6}).
    """

    mse_gradient: sympy.Expr
    cost_gradient: sympy.Expr
    ratio: sympy.Expr
    mse_numbers: dict
    cost_numbers: dict

    def text(self) -> str:
        mse = text(self.mse_gradient)
        cost = text(self.cost_gradient)
        lines = [
            "MSE (loss):  J = (1/n) Σ_i (y_i − ŷ_i)²     ∂J/∂ŷ_i = " + mse,
            "cost:        C = 1/(2n) Σ_i (y_i − ŷ_i)²    ∂C/∂ŷ_i = " + cost,
            f"ratio ∂J/∂ŷ_i ÷ ∂C/∂ŷ_i = {text(self.ratio)}: the ½ cancels the 2 of the power rule.",
            "Both are smallest at the same parameters (where the gradient is 0), but a step",
            "w ← w − α ∂C/∂w is the step w ← w − (α/2) ∂J/∂w: halving the loss halves the step.",
            "Linear regression at w = b = 0 on (1, 3), (2, 5), (3, 7), (4, 9):",
            "  MSE:  " + ", ".join(f"∂J/∂{k} = {text(v)}" for k, v in self.mse_numbers.items()),
            "  cost: " + ", ".join(f"∂C/∂{k} = {text(v)}" for k, v in self.cost_numbers.items()),
        ]
        return "\n".join(lines) + "\n"


def mse_vs_half_cost() -> MSEvsCost:
    """Derive both losses with symbackprop and compare their gradients.

    The per-example gradient ∂L_e/∂ŷ comes from each derivation (−2(y − ŷ) for (y − ŷ)²,
    −(y − ŷ) for ½(y − ŷ)²); the mean reduction multiplies by 1/n.
    """
    n = sympy.Symbol("n", positive=True, integer=True)
    mse_d = _derive_table(linear_regression_spec(half=False), "<mse>")
    cost_d = _derive_table(linear_regression_spec(half=True), "<cost 1/(2n)>")
    mse_g = sympy.factor(mse_d.per_example_gradient("yhat")) / n
    cost_g = sympy.factor(cost_d.per_example_gradient("yhat")) / n
    ratio = sympy.simplify(mse_g / cost_g)
    return MSEvsCost(mse_g, cost_g, ratio, mse_d.exact_gradients(), cost_d.exact_gradients())


# ---------------------------------------------------------------------------------------
# The learning rate
# ---------------------------------------------------------------------------------------

MAX_DESCENT_STEPS = 10_000


@dataclass(frozen=True)
class DescentStep:
    """Step t of gradient descent on L(w) = (w − w*)²: w_t, L(w_t) and ∂L/∂w at w_t (exact)."""

    t: int
    w: sympy.Rational
    loss: sympy.Rational
    gradient: sympy.Rational


def descent_behaviour(learning_rate, short: bool = False) -> str:
    """What the update w ← w − α·2(w − w*) does: it multiplies w − w* by r = 1 − 2α."""
    r = 1 - 2 * _exact_number(learning_rate, "learning rate")
    if r == 0:
        return "one step" if short else "reaches w* in one step"
    if 0 < r < 1:
        if r >= sympy.Rational(1, 2):
            return "slow" if short else "slow, steady"
        return "fast"
    if -1 < r < 0:
        return "oscillates, converges" if short else "overshoots, oscillates, converges"
    if r == -1:
        return "oscillates forever"
    return "diverges" if short else "overshoots and diverges"


def descent_path(learning_rate, w0=0, w_star=3, steps: int = 10) -> tuple:
    """Gradient descent w_{t+1} = w_t − α ∂L/∂w(w_t) on L(w) = (w − w*)², exactly.

    The power rule gives ∂L/∂w = 2(w − w*), so w_{t+1} − w* = (1 − 2α)(w_t − w*).
    Returns ``steps + 1`` :class:`DescentStep` (t = 0 is the start).
    """
    alpha = _exact_number(learning_rate, "learning rate")
    if alpha <= 0:
        raise SpecError(f"learning rate {learning_rate!r}: must be positive")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 0 <= steps <= MAX_DESCENT_STEPS:
        raise SpecError(f"steps {steps!r}: expected a whole number from 0 to {MAX_DESCENT_STEPS}")
    w = _exact_number(w0, "w0")
    target = _exact_number(w_star, "w*")
    out = []
    for t in range(steps + 1):
        grad = 2 * (w - target)
        out.append(DescentStep(t, w, (w - target) ** 2, grad))
        w = w - alpha * grad
    return tuple(out)


# ---------------------------------------------------------------------------------------
# The vanishing gradient
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SigmoidBound:
    """The derivation of σ′(z) ≤ 1/4, each step checked by SymPy when it is built.

    ``maximum`` is max σ′(z) (1/4), reached at ``argmax_z`` (0); ``steps`` are plain-text
    lines and ``latex`` the same steps in LaTeX (one ``align*`` row each).
    """

    maximum: sympy.Rational
    argmax_z: sympy.Expr
    steps: tuple
    latex: tuple

    def text(self) -> str:
        return "\n".join(self.steps) + "\n"


def sigmoid_derivative_bound(depth: int | None = None) -> SigmoidBound:
    """Why σ′(z) ≤ 1/4, derived with SymPy (not asserted).

    σ(z) = 1/(1 + e^{−z}) has σ′(z) = σ(z)(1 − σ(z)) = a(1 − a); a(1 − a) = 1/4 − (a − 1/2)²,
    largest (1/4) at a = 1/2, i.e. at z = 0. Each sigmoid layer multiplies the backpropagated
    gradient by σ′(z)·w, so N layers multiply it by at most (1/4)^N Π|w_k|. tanh′(z) = 1 − a²
    reaches 1 and ReLU′(z) is 1 for z > 0: those layers multiply it by w alone.
    """
    z = sympy.Symbol("z", real=True)
    a = sympy.Symbol("a", real=True)
    sigma = 1 / (1 + sympy.exp(-z))
    dsigma = sympy.diff(sigma, z)
    if sympy.simplify(dsigma - sigma * (1 - sigma)) != 0:  # pragma: no cover - SymPy would be broken
        raise AssertionError("σ′ ≠ σ(1 − σ)")
    f = a * (1 - a)
    critical = sympy.solve(sympy.diff(f, a), a)
    if critical != [sympy.Rational(1, 2)] or sympy.diff(f, a, 2) >= 0:  # pragma: no cover
        raise AssertionError("a(1 − a) has no single maximum")
    a_star = critical[0]
    maximum = f.subs(a, a_star)
    square = sympy.expand(maximum - (a - a_star) ** 2 - f)
    if square != 0:  # pragma: no cover
        raise AssertionError("completing the square failed")
    z_star = sympy.solve(sympy.Eq(sigma, a_star), z)
    z_star = z_star[0] if z_star else sympy.S.Zero
    dtanh = sympy.simplify(sympy.diff(sympy.tanh(z), z) - (1 - sympy.tanh(z) ** 2))
    if dtanh != 0:  # pragma: no cover
        raise AssertionError("tanh′ ≠ 1 − tanh²")
    q = f"(1/4)^{depth} · Π|w_k| = Π|w_k| / {4 ** depth}" if depth else "(1/4)^N · Π|w_k|"
    # every expression through the lectures' printer: σ′(z), tanh′(z), ReLU′(z), ¼ − (a − ½)²
    from ..ops.functions import relu, sigmoid

    zk = sympy.Symbol("z^(k)")
    s_prime, t_prime, r_prime = (text(sympy.Derivative(g(z), z)) for g in (sigmoid, sympy.tanh, relu))
    s_prime_zk = text(sympy.Derivative(sigmoid(zk), zk))
    s_prime_at = text(sympy.Subs(sympy.Derivative(sigmoid(z), z), z, z_star))
    bound = text(maximum)
    steps = (
        f"σ(z) = {text(sigma)},  {s_prime} = {text(dsigma)} = {text(sigmoid(z) * (1 - sigmoid(z)))} = {text(f)}",
        f"{text(f)} = {text(maximum - (a - a_star) ** 2)}  ≤  {bound}   (a square is never negative)",
        f"equality only at a = {text(a_star)}, i.e. z = {text(z_star)}: {s_prime} ≤ {s_prime_at} = {bound} for every z",
        f"backpropagation through one sigmoid layer: ∂L/∂z^(k) = ∂L/∂a^(k) · {s_prime_zk}, and"
        " ∂L/∂a^(k) = Σ w · ∂L/∂z^(k+1)",
        f"so each layer multiplies the gradient by {s_prime} · w ≤ |w|/4; through N layers by at most {q}:",
        "the early layers' ∂L/∂w is a small number and w_new = w_old − η · (small number) ≈ w_old",
        f"{t_prime} = {text(1 - a ** 2)} ≤ 1 (= 1 at z = 0) and {r_prime} = 1 for z > 0 (0 for z ≤ 0): their"
        " factor is w alone, so the gradient need not shrink",
    )
    latex = (
        r"\sigma(z) &= \frac{1}{1 + e^{-z}}, \quad \sigma'(z) = \frac{e^{-z}}{(1 + e^{-z})^2}"
        r" = \sigma(z)\left(1 - \sigma(z)\right) = a(1 - a)",
        r"a(1 - a) &= \frac{1}{4} - \left(a - \frac{1}{2}\right)^2 \le \frac{1}{4}",
        r"\sigma'(z) &\le \sigma'(0) = \frac{1}{4} \quad \text{(equality only at } a = \tfrac{1}{2},\ z = 0\text{)}",
        r"\frac{\partial L}{\partial z^{(k)}} &= \sigma'(z^{(k)}) \sum w\, \frac{\partial L}{\partial z^{(k+1)}}"
        r" \quad\Rightarrow\quad \left|\frac{\partial L}{\partial z^{(1)}}\right| \le \left(\frac{1}{4}\right)^{N}"
        r" \prod_k |w_k| \left|\frac{\partial L}{\partial \hat{y}}\right|",
        r"\tanh'(z) &= 1 - a^2 \le 1, \qquad \operatorname{ReLU}'(z) = \mathbb{1}[z > 0]",
    )
    return SigmoidBound(maximum, z_star, steps, latex)


def local_derivative_curves(z) -> dict:
    """g′(z) on an array z for sigmoid (a(1 − a)), tanh (1 − a²) and ReLU (1 if z > 0, else 0)."""
    z = np.asarray(z, dtype=float)
    s = 0.5 * (1.0 + np.tanh(0.5 * z))  # σ(z) without overflow
    t = np.tanh(z)
    return {"sigmoid": s * (1.0 - s), "tanh": 1.0 - t * t, "relu": (z > 0).astype(float)}


VANISHING_ACTIVATIONS = ("sigmoid", "tanh", "relu")
MAX_VANISHING_DEPTH = 60
MAX_VANISHING_WIDTH = 16
MAX_VANISHING_PARAMETERS = 5000


def vanishing_spec(depth: int, activation: str = "sigmoid", *, width: int = 8, seed: int = 0) -> dict:
    """The spec (as a TOML table) of the vanishing-gradient network: ``width`` inputs,
    ``depth`` hidden layers of ``width`` neurons with ``activation``, one linear output,
    L = ½(y − ŷ)², y = 1.

    Weights are drawn once from ``numpy.random.default_rng(seed)`` with the spread
    √(2/fan-in) (He's scaling, so ReLU's signal keeps its size) and rounded to 4 decimals;
    biases are 0; the input x is drawn from the same generator (2 decimals). The weights do
    not depend on ``activation``: the three networks differ only in g.
    """
    _check_vanishing(depth, width)
    rng = np.random.default_rng(seed)
    layers = [width] * (depth + 1) + [1]
    weights = []
    for k in range(len(layers) - 1):
        m, n = layers[k], layers[k + 1]
        w = rng.standard_normal((n, m)) * math.sqrt(2.0 / m)
        weights.append([[round(float(v), 4) for v in row] for row in w])
    x = [round(float(v), 2) for v in rng.standard_normal(width)]
    return {
        "title": f"{depth} hidden {activation} layers of width {width}",
        "network": {"layers": layers, "activations": [activation] * depth + ["identity"],
                    "loss": "half_squared_error", "reduction": "mean"},
        "parameters": {"weights": weights, "biases": 0},
        "data": {"x": [x], "y": [[1]]},
    }


def _check_vanishing(depth, width):
    if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= MAX_VANISHING_DEPTH:
        raise SpecError(f"--depth {depth!r}: expected a whole number of hidden layers from 1 to {MAX_VANISHING_DEPTH}")
    if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= MAX_VANISHING_WIDTH:
        raise SpecError(f"--width {width!r}: expected a whole number of neurons per layer from 1 to "
                        f"{MAX_VANISHING_WIDTH}")
    n_params = depth * (width * width + width) + width * width + width + width + 1
    if n_params > MAX_VANISHING_PARAMETERS:
        raise SpecError(f"--depth {depth} --width {width}: {n_params} parameters; at most "
                        f"{MAX_VANISHING_PARAMETERS} (lower the depth or the width)")


@dataclass(frozen=True)
class VanishingGradient:
    """The gradient's size layer by layer in ``depth`` hidden layers of each activation.

    ``weight_gradient_norms[g][k-1]`` = ‖∂L/∂W^{k}‖ (Frobenius: √Σ_{i,j} (∂L/∂w^{k}_{i,j})²)
    for weight layers k = 1 .. depth + 1 (w^{k} feeds layer k + 1; k = 1 is next to the input);
    ``delta_norms[g][k-2]`` = ‖∂L/∂z^{k}‖ for the layers k = 2 .. depth + 2;
    ``largest_local_derivative[g][k-2]`` = max_i g′(z^{k}_{i}) for the hidden layers
    k = 2 .. depth + 1 (at most 1/4 for the sigmoid); ``loss[g]`` = L at the input.
    """

    depth: int
    width: int
    seed: int
    activations: tuple
    weight_gradient_norms: dict
    delta_norms: dict
    largest_local_derivative: dict
    loss: dict

    def to_json(self) -> dict:
        return {
            "depth": self.depth, "width": self.width, "seed": self.seed,
            "activations": list(self.activations),
            "weight_layers": list(range(1, self.depth + 2)),
            "weight_gradient_norms": {k: list(v) for k, v in self.weight_gradient_norms.items()},
            "delta_layers": list(range(2, self.depth + 3)),
            "delta_norms": {k: list(v) for k, v in self.delta_norms.items()},
            "largest_local_derivative": {k: list(v) for k, v in self.largest_local_derivative.items()},
            "loss": dict(self.loss),
        }

    def text(self) -> str:
        acts = self.activations
        head = "layer k  " + "".join(f"{'‖∂L/∂W^(k)‖ ' + a:>24}" for a in acts)
        lines = [f"{self.depth} hidden layers of width {self.width}, the same weights (seed {self.seed}) "
                 f"for each activation; k = 1 is next to the input", head]
        for k in range(self.depth + 1):
            lines.append(f"{k + 1:>7}  " + "".join(f"{self.weight_gradient_norms[a][k]:>24.3e}" for a in acts))
        first = {a: self.weight_gradient_norms[a][0] for a in acts}
        last = {a: self.weight_gradient_norms[a][-1] for a in acts}
        lines.append("first ÷ last layer: " + ", ".join(
            f"{a} {first[a] / last[a]:.2e}" if last[a] else f"{a} -" for a in acts))
        if "sigmoid" in acts:
            lines.append("largest σ′(z) in any sigmoid layer: "
                         f"{max(self.largest_local_derivative['sigmoid']):.4f} (never above 1/4)")
        return "\n".join(lines) + "\n"


def vanishing_gradient_magnitudes(depth: int, *, width: int = 8, seed: int = 0,
                                  activations=VANISHING_ACTIVATIONS) -> VanishingGradient:
    """Derive the gradients of :func:`vanishing_spec` for each activation with symbackprop
    (chain rule → compiled NumPy) and measure them layer by layer."""
    from ..compile.numpy_backend import compile_gradients, spec_data, spec_parameters

    _check_vanishing(depth, width)
    for a in activations:
        if a not in VANISHING_ACTIVATIONS:
            raise SpecError(f"activation {a!r}: the vanishing-gradient picture compares "
                            f"{', '.join(VANISHING_ACTIVATIONS)}")
    wnorms, dnorms, local, losses = {}, {}, {}, {}
    for act in activations:
        d = _derive_table(vanishing_spec(depth, act, width=width, seed=seed), f"<vanishing {act}>")
        c = compile_gradients(d)
        params = spec_parameters(d)
        X, Y = spec_data(d)
        grads = c.gradients(params, X, Y)
        node_grads = c.node_gradients(params, X, Y)
        values = c.forward(params, X, Y)
        per_layer = [0.0] * (depth + 1)
        for name, g in grads.items():
            parts = names.split_indexed(name)
            if parts and parts[0] == "w":
                per_layer[parts[1] - 1] += float(g) ** 2
        wnorms[act] = tuple(math.sqrt(v) for v in per_layer)
        dn, ld = [], []
        for k in range(2, depth + 3):
            zs = [names.pre_activation(k, i) for i in range(1, (width if k <= depth + 1 else 1) + 1)]
            dn.append(math.sqrt(sum(float(np.asarray(node_grads[z])[0]) ** 2 for z in zs)))
            if k <= depth + 1:
                zv = np.array([float(np.asarray(values[z])[0]) for z in zs])
                ld.append(float(local_derivative_curves(zv)[act].max()))
        dnorms[act], local[act] = tuple(dn), tuple(ld)
        losses[act] = float(c.loss(params, X, Y))
    return VanishingGradient(depth, width, seed, tuple(activations), wnorms, dnorms, local, losses)
