r"""The loss registry: one entry per per-example loss over the outputs k.

- ``squared_error``       L = \sum_k (y_k - \hat{y}_k)^2
- ``half_squared_error``  L = \frac{1}{2} \sum_k (y_k - \hat{y}_k)^2   (the lecture notes)
- ``mse``                 L = \frac{1}{K} \sum_k (y_k - \hat{y}_k)^2
- ``bce``                 L = -\sum_k [y_k \log \hat{y}_k + (1 - y_k) \log(1 - \hat{y}_k)]   (the slides)
- ``cross_entropy``       L = -\sum_k y_k \log \hat{y}_k   (with a softmax output)

The batch loss is the reduction of the per-example losses: ``mean`` (1/n) \sum_e L_e
or ``sum``. ``from_logits`` gives the same loss written in the output logits z for
the activation it pairs with (sigmoid + BCE, softmax + cross-entropy), which is how
NumPy evaluates it without overflow; the derivation still differentiates the
lectures' form and shows the a(1 - a) cancel to \hat{y} - y.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import sympy
from sympy import Add, Rational, log

from ..errors import SpecError, did_you_mean
from ..ops.activations import register_elementwise
from ..ops.functions import huber, huber_slope, logsumexp, softplus


@dataclass(frozen=True)
class FusedDelta:
    """∂L/∂z at the output when this loss follows ``activation``: the product of the two local
    derivatives cancels. ``delta`` is the identity without assumptions, a SymPy expression in
    ``H`` (ŷ_k), ``Y`` (y_k) and ``ROW_SUM_Y`` (Σ_k y_k of the example); under ``assumption``
    (None: always) it is ŷ − y. ``lines`` are the slides' steps in LaTeX, ``rule`` in words."""

    activation: str
    delta: object
    assumption: str | None
    assumption_latex: str | None
    lines: tuple
    rule: str


@dataclass(frozen=True)
class Loss:
    """A per-example loss L(y, ŷ) over K outputs; ``per_example(ys, yhats)`` builds it."""

    name: str
    per_example: Callable
    latex: str
    description: str
    from_logits: dict = field(default_factory=dict)
    pairs_with: tuple = ()
    gradient: Callable | None = None
    rule: str = ""
    rule_latex: str = ""
    needs_pair: str = ""     # non-empty: the output layer must be one of ``pairs_with``; the message why
    fused: tuple = ()        # FusedDelta entries: ∂L/∂z through the output activations it pairs with

    def scalar_gradient(self, K: int):
        """∂L/∂ŷ_k for one output as a SymPy expression in the symbols ``h`` (ŷ_k) and ``y`` (y_k),
        written as the lectures write it (unevaluated where SymPy would distribute a factor)."""
        return self.gradient(H, Y, K)


#: The symbols the gradients are written in: h = ŷ_k, y = y_k; ROW_SUM_Y = Σ_k y_k of one example.
H, Y = sympy.Symbol("h"), sympy.Symbol("y")
ROW_SUM_Y = sympy.Symbol("y_rowsum")


def _times(c, e):
    """c (e) kept as written: 2(ŷ − y), not 2ŷ − 2y."""
    return sympy.Mul(c, sympy.UnevaluatedExpr(e), evaluate=False)


LOSSES: dict[str, Loss] = {}


def register(loss: Loss) -> Loss:
    LOSSES[loss.name] = loss
    return loss


register(Loss(
    "squared_error",
    lambda ys, yh: Add(*[(y - h) ** 2 for y, h in zip(ys, yh)]),
    r"L = \sum_k \left(y_k - \hat{y}_k\right)^2",
    "squared error",
    gradient=lambda h, y, K: _times(2, h - y),
    rule="power rule: ∂/∂ŷ (y − ŷ)² = 2(ŷ − y)",
    rule_latex=r"L = \sum_k (y_k - \hat{y}_k)^2 \Rightarrow \frac{\partial L}{\partial \hat{y}} = 2(\hat{y} - y)"))
register(Loss(
    "half_squared_error",
    lambda ys, yh: Rational(1, 2) * Add(*[(y - h) ** 2 for y, h in zip(ys, yh)]),
    r"L = \frac{1}{2} \sum_k \left(y_k - \hat{y}_k\right)^2",
    "half squared error",
    gradient=lambda h, y, K: h - y,
    rule="power rule: ∂/∂ŷ ½(y − ŷ)² = ŷ − y",
    rule_latex=r"L = \frac{1}{2} \sum_k (y_k - \hat{y}_k)^2 \Rightarrow \frac{\partial L}{\partial \hat{y}} "
               r"= \hat{y} - y"))
register(Loss(
    "mse",
    lambda ys, yh: Rational(1, len(ys)) * Add(*[(y - h) ** 2 for y, h in zip(ys, yh)]),
    r"L = \frac{1}{K} \sum_k \left(y_k - \hat{y}_k\right)^2",
    "mean squared error over the outputs",
    gradient=lambda h, y, K: _times(Rational(2, K), h - y),
    rule="power rule: ∂/∂ŷ (1/K) Σ_k (y_k − ŷ_k)² = (2/K)(ŷ − y)",
    rule_latex=r"L = \frac{1}{K} \sum_k (y_k - \hat{y}_k)^2 \Rightarrow \frac{\partial L}{\partial \hat{y}} "
               r"= \frac{2}{K}(\hat{y} - y)"))
register(Loss(
    "bce",
    lambda ys, yh: -Add(*[y * log(h) + (1 - y) * log(1 - h) for y, h in zip(ys, yh)]),
    r"L = -\sum_k \left[y_k \log \hat{y}_k + \left(1 - y_k\right) \log\left(1 - \hat{y}_k\right)\right]",
    "binary cross-entropy",
    from_logits={"sigmoid": lambda ys, zs: Add(*[softplus(z) - y * z for y, z in zip(ys, zs)])},
    pairs_with=("sigmoid",),
    needs_pair="bce needs outputs in (0, 1): use a 'sigmoid' output layer",
    fused=(FusedDelta(
        "sigmoid", H - Y, None, None,
        (r"\frac{\partial L}{\partial \hat{y}} = -\frac{y}{\hat{y}} + \frac{1 - y}{1 - \hat{y}} "
         r"= \frac{\hat{y} - y}{\hat{y}(1 - \hat{y})}",
         r"\hat{y} = \sigma(z_{L}) \Rightarrow \frac{\partial \hat{y}}{\partial z_{L}} = \hat{y}(1 - \hat{y})",
         r"\frac{\partial L}{\partial z_{L}} = \frac{\partial L}{\partial \hat{y}} \cdot "
         r"\frac{\partial \hat{y}}{\partial z_{L}} = \frac{\hat{y} - y}{\hat{y}(1 - \hat{y})} \cdot "
         r"\hat{y}(1 - \hat{y}) = \hat{y} - y"),
        "chain rule through the binary cross-entropy and the sigmoid: ∂L/∂ŷ = (ŷ − y)/(ŷ(1 − ŷ)) times "
        "∂ŷ/∂z = ŷ(1 − ŷ) cancels to ŷ − y, entry by entry"),),
    gradient=lambda h, y, K: (h - y) / (h * (1 - h)),
    rule="derivative of the logarithm: ∂L/∂ŷ = −y/ŷ + (1 − y)/(1 − ŷ) = (ŷ − y)/(ŷ(1 − ŷ))",
    rule_latex=r"\frac{\partial L}{\partial \hat{y}} = -\frac{y}{\hat{y}} + \frac{1 - y}{1 - \hat{y}} "
               r"= \frac{\hat{y} - y}{\hat{y}(1 - \hat{y})}"))
register(Loss(
    "cross_entropy",
    lambda ys, yh: -Add(*[y * log(h) for y, h in zip(ys, yh)]),
    r"L = -\sum_k y_k \log \hat{y}_k",
    "cross-entropy",
    from_logits={"softmax": lambda ys, zs: Add(*[y * (logsumexp(*zs) - z) for y, z in zip(ys, zs)])},
    pairs_with=("softmax",),
    needs_pair="cross_entropy needs a softmax output layer (set the last activation to 'softmax')",
    fused=(FusedDelta(
        "softmax", H * ROW_SUM_Y - Y,
        "each row of y sums to 1 (one-hot targets)",
        r"\text{each row of } y \text{ sums to } 1 \text{ (one-hot targets)}",
        (r"\frac{\partial L}{\partial \hat{y}_k} = -\frac{y_k}{\hat{y}_k}, \qquad "
         r"\frac{\partial \hat{y}_k}{\partial z_j} = \hat{y}_k\left(\delta_{kj} - \hat{y}_j\right)",
         r"\frac{\partial L}{\partial z_j} = \sum_k -\frac{y_k}{\hat{y}_k}\, \hat{y}_k\left(\delta_{kj} - "
         r"\hat{y}_j\right) = \hat{y}_j \sum_k y_k - y_j",
         r"\sum_k y_k = 1 \Rightarrow \frac{\partial L}{\partial z_{L}} = \hat{y} - y"),
        "chain rule through the cross-entropy and the softmax: Σ_k (−y_k/ŷ_k) ŷ_k(δ_kj − ŷ_j) = "
        "ŷ_j Σ_k y_k − y_j, which is ŷ_j − y_j when the targets of a row sum to 1"),),
    gradient=lambda h, y, K: -y / h,
    rule="derivative of the logarithm: ∂/∂ŷ_k (−y_k log ŷ_k) = −y_k/ŷ_k",
    rule_latex=r"L = -\sum_k y_k \log \hat{y}_k \Rightarrow \frac{\partial L}{\partial \hat{y}_k} "
               r"= -\frac{y_k}{\hat{y}_k}"))

register(Loss(
    "huber",
    lambda ys, yh: Add(*[huber(y - h) for y, h in zip(ys, yh)]),
    r"L = \sum_k \operatorname{huber}\left(y_k - \hat{y}_k\right), \quad \operatorname{huber}(r) = "
    r"\begin{cases} \frac{1}{2} r^2 & |r| \le 1 \\ |r| - \frac{1}{2} & \text{otherwise} \end{cases}",
    "Huber loss (δ = 1)",
    gradient=lambda h, y, K: huber_slope(h - y),
    rule="derivative of the Huber function: ∂/∂ŷ huber(y − ŷ) = ŷ − y clipped to [−1, 1]",
    rule_latex=r"\frac{\partial L}{\partial \hat{y}_k} = \operatorname{huber}'\left(\hat{y}_k - y_k\right) = "
               r"\begin{cases} \hat{y}_k - y_k & |\hat{y}_k - y_k| \le 1 \\ "
               r"\operatorname{sign}\left(\hat{y}_k - y_k\right) & \text{otherwise} \end{cases}"))
register_elementwise("huber_slope", huber_slope, r"\operatorname{huber}'\left({}\right)", "huber′({})")

REDUCTIONS = ("mean", "sum")


def get_loss(name: str, *, where: str = "loss") -> Loss:
    """The registry entry for ``name``, or a SpecError naming what is allowed."""
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        allowed = ", ".join(sorted(LOSSES))
        raise SpecError(f"unknown loss {name!r} in {where}{did_you_mean(name, LOSSES)} (allowed: {allowed})") from None


def reduction_factor(reduction: str, n) -> sympy.Expr:
    """1/n for ``mean``, 1 for ``sum``."""
    return Rational(1, 1) / n if reduction == "mean" else sympy.S.One
