"""The per-layer rules of the matrix form as data, lifted from the registry.

``lift`` turns a scalar rule of ``ops`` (σ' = a(1 − a), ∂L/∂ŷ = ŷ − y) into a matrix expression
entry by entry (a ⊙ (1 − a)); ``ACTIVATION_RULES`` and ``LOSS_RULES`` are views of the registries;
``FUSED_RULES`` hold the loss + output activation pairs that cancel to ŷ − y, with the slides' lines.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from ..ops.activations import A as A_SYMBOL, ACTIVATIONS, ELEMENTWISE, Z as Z_SYMBOL
from ..errors import NotSupportedError
from ..ops.losses import H as H_SYMBOL, LOSSES, Y as Y_SYMBOL

from .matrix_expr import (
    Add,
    Apply,
    Hadamard,
    HadamardDiv,
    MatMul,
    MatrixExpr,
    Neg,
    Scalar,
    Scale,
    Sub,
)


# ---------------------------------------------------------------------------------------
# The per-layer rules as data
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ActivationRule:
    """g'(z) as a matrix expression, written as the lectures write it (in terms of a where
    customary): ``derivative(z, a)``; ``None`` for softmax (its Jacobian is not diagonal)."""

    name: str
    function: str | None  # the FUNCTIONS key of g (None: identity)
    derivative: object
    rule: str
    rule_latex: str


def lift(expr, symbols: dict) -> MatrixExpr | None:
    """The matrix form of a scalar rule from the registry, lifted elementwise.

    ``symbols`` maps the rule's SymPy symbols (a, z, or h, y) to matrices; products become
    ⊙, quotients ⊘, x² becomes x ⊙ x, numbers stay numbers (broadcast), c·(…) a scaling,
    and a registered function f(x) the elementwise ``Apply``. So a(1 − a) becomes
    a ⊙ (1 − a) and the rule is written once, in ``ops``. ``1`` lifts to None (dz = da)."""
    if expr == 1:
        return None
    return _lift(expr, symbols)


def _lift(e, symbols):
    if isinstance(e, sympy.UnevaluatedExpr):
        return _lift(e.args[0], symbols)
    if e in symbols:
        return symbols[e]
    if e.is_number:
        return Scalar(e)
    if isinstance(e, sympy.Add):
        terms = list(e.args)
        terms.sort(key=lambda t: (t.could_extract_minus_sign(), not t.is_number))
        out = _lift(terms[0], symbols)
        for t in terms[1:]:
            out = Sub(out, _lift(-t, symbols)) if t.could_extract_minus_sign() else Add(out, _lift(t, symbols))
        return out
    if isinstance(e, sympy.Mul):
        coeff, factors = e.as_coeff_mul()
        if coeff == -1:
            return Neg(_lift(sympy.Mul(*factors, evaluate=False) if len(factors) > 1 else factors[0], symbols))
        if coeff != 1:
            rest = factors[0] if len(factors) == 1 else sympy.Mul(*factors, evaluate=False)
            return Scale(coeff, _lift(rest, symbols))
        num = [f for f in factors if not (isinstance(f, sympy.Pow) and f.exp == -1)]
        den = [f.base for f in factors if isinstance(f, sympy.Pow) and f.exp == -1]
        out = _lift(num[0], symbols) if len(num) == 1 else None
        if out is None:
            out = _lift(num[0], symbols)
            for f in num[1:]:
                out = Hadamard(out, _lift(f, symbols))
        if den:
            d = _lift(den[0], symbols)
            for f in den[1:]:
                d = Hadamard(d, _lift(f, symbols))
            out = HadamardDiv(out, d)
        return out
    if isinstance(e, sympy.Pow) and e.exp == 2:
        b = _lift(e.base, symbols)
        return Hadamard(b, b)
    if isinstance(e, sympy.Pow) and e.exp == -1:
        return HadamardDiv(Scalar(sympy.S.One), _lift(e.base, symbols))
    if isinstance(e, sympy.Function) and len(e.args) == 1:
        name = next((k for k, v in ELEMENTWISE.items() if v.function == type(e)), None)
        if name is not None:
            return Apply(name, _lift(e.args[0], symbols))
    raise NotSupportedError(f"the rule {e} has no elementwise matrix form")


def _activation_rule(act) -> "ActivationRule":
    d = act.scalar_derivative()
    if d is None:
        derivative = None
    else:
        derivative = (lambda z, a, _d=d: lift(_d, {A_SYMBOL: a, Z_SYMBOL: z}))
    rule = act.rule + (", so dz = da" if act.name == "identity" else "")
    return ActivationRule(act.name, None if act.name == "identity" else act.name, derivative, rule, act.rule_latex)


class _RegistryView(dict):
    """A read-only view of a registry, each entry built on first use (entries added to the
    registry later, e.g. in a test, appear too)."""

    def __init__(self, registry, build):
        super().__init__()
        self._registry, self._build = registry, build

    def _sync(self):
        for k, v in self._registry.items():
            if not dict.__contains__(self, k):
                dict.__setitem__(self, k, self._build(v))

    def __getitem__(self, k):
        self._sync()
        return dict.__getitem__(self, k)

    def __contains__(self, k):
        self._sync()
        return dict.__contains__(self, k)

    def __iter__(self):
        self._sync()
        return dict.__iter__(self)

    def items(self):
        self._sync()
        return dict.items(self)

    def keys(self):
        self._sync()
        return dict.keys(self)

    def values(self):
        self._sync()
        return dict.values(self)

    def get(self, k, default=None):
        self._sync()
        return dict.get(self, k, default)

    def __len__(self):
        self._sync()
        return dict.__len__(self)


#: ``{name: ActivationRule}``: the registry's activations with their derivative lifted elementwise.
ACTIVATION_RULES = _RegistryView(ACTIVATIONS, _activation_rule)


@dataclass(frozen=True)
class LossRule:
    """∂L_e/∂ŷ for one per-example loss as a matrix expression ``gradient(yhat, y, K)``
    (entry [e, k] is ∂L_e/∂ŷ_k), with its rule in words and in LaTeX."""

    name: str
    gradient: object
    rule: str
    rule_latex: str


def _loss_rule(loss) -> "LossRule":
    def gradient(h, y, K, _loss=loss):
        return lift(_loss.scalar_gradient(K), {H_SYMBOL: h, Y_SYMBOL: y})
    return LossRule(loss.name, gradient, loss.rule, loss.rule_latex)


#: ``{name: LossRule}``: the registry's losses with ∂L/∂ŷ lifted elementwise.
LOSS_RULES = _RegistryView(LOSSES, _loss_rule)


@dataclass(frozen=True)
class FusedRule:
    """A loss and output activation whose product of local derivatives cancels to ŷ − y.

    ``general(yhat, y, ones)`` is the identity without assumptions; ``simple`` (ŷ − y)
    holds under ``assumption`` (None: always); ``lines`` is the slides' derivation."""

    loss: str
    activation: str
    general: object
    assumption: str | None
    assumption_latex: str | None
    lines: tuple
    rule: str


FUSED_RULES = {
    ("bce", "sigmoid"): FusedRule(
        "bce", "sigmoid", lambda h, y, ones: Sub(h, y), None, None,
        (r"\frac{\partial L}{\partial \hat{y}} = -\frac{y}{\hat{y}} + \frac{1 - y}{1 - \hat{y}} "
         r"= \frac{\hat{y} - y}{\hat{y}(1 - \hat{y})}",
         r"\hat{y} = \sigma(z_{L}) \Rightarrow \frac{\partial \hat{y}}{\partial z_{L}} = \hat{y}(1 - \hat{y})",
         r"\frac{\partial L}{\partial z_{L}} = \frac{\partial L}{\partial \hat{y}} \cdot "
         r"\frac{\partial \hat{y}}{\partial z_{L}} = \frac{\hat{y} - y}{\hat{y}(1 - \hat{y})} \cdot "
         r"\hat{y}(1 - \hat{y}) = \hat{y} - y"),
        "chain rule through the binary cross-entropy and the sigmoid: ∂L/∂ŷ = (ŷ − y)/(ŷ(1 − ŷ)) times "
        "∂ŷ/∂z = ŷ(1 − ŷ) cancels to ŷ − y, entry by entry"),
    ("cross_entropy", "softmax"): FusedRule(
        "cross_entropy", "softmax", lambda h, y, ones: Sub(Hadamard(h, MatMul(y, ones)), y),
        "each row of y sums to 1 (one-hot targets)",
        r"\text{each row of } y \text{ sums to } 1 \text{ (one-hot targets)}",
        (r"\frac{\partial L}{\partial \hat{y}_k} = -\frac{y_k}{\hat{y}_k}, \qquad "
         r"\frac{\partial \hat{y}_k}{\partial z_j} = \hat{y}_k\left(\delta_{kj} - \hat{y}_j\right)",
         r"\frac{\partial L}{\partial z_j} = \sum_k -\frac{y_k}{\hat{y}_k}\, \hat{y}_k\left(\delta_{kj} - "
         r"\hat{y}_j\right) = \hat{y}_j \sum_k y_k - y_j",
         r"\sum_k y_k = 1 \Rightarrow \frac{\partial L}{\partial z_{L}} = \hat{y} - y"),
        "chain rule through the cross-entropy and the softmax: Σ_k (−y_k/ŷ_k) ŷ_k(δ_kj − ŷ_j) = "
        "ŷ_j Σ_k y_k − y_j, which is ŷ_j − y_j when the targets of a row sum to 1"),
}


