"""The per-layer rules of the matrix form as data, lifted from the registry.

``lift`` turns a scalar rule of ``ops`` (σ' = a(1 − a), ∂L/∂ŷ = ŷ − y) into a matrix expression
entry by entry (a ⊙ (1 − a)); ``ACTIVATION_RULES`` and ``LOSS_RULES`` are views of the registries;
``FUSED_RULES`` the loss + output activation pairs that cancel to ŷ − y (the loss entries' ``fused``
deltas, lifted), with the slides' lines.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from ..ops.activations import A as A_SYMBOL, ACTIVATIONS, ELEMENTWISE, Z as Z_SYMBOL
from ..errors import NotSupportedError
from ..ops.losses import H as H_SYMBOL, LOSSES, ROW_SUM_Y as ROW_SUM_SYMBOL, Y as Y_SYMBOL

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


def _fused_rules() -> dict:
    """``{(loss, activation): FusedRule}`` from the loss entries' ``fused`` deltas, lifted to
    matrices: H → ŷ, Y → y, ROW_SUM_Y → y·1 (each row's sum, broadcast back across the row)."""
    out = {}
    for loss in LOSSES.values():
        for f in loss.fused:
            def general(h, y, ones, _delta=f.delta):
                return _lift(_delta, {H_SYMBOL: h, Y_SYMBOL: y, ROW_SUM_SYMBOL: MatMul(y, ones)})
            out[(loss.name, f.activation)] = FusedRule(loss.name, f.activation, general, f.assumption,
                                                        f.assumption_latex, f.lines, f.rule)
    return out


class _FusedView(_RegistryView):
    """The fused rules, rebuilt from the loss registry when a loss is added (e.g. in a test)."""

    def __init__(self):
        dict.__init__(self)

    def _sync(self):
        if dict.__len__(self) != sum(len(l.fused) for l in LOSSES.values()):
            dict.clear(self)
            dict.update(self, _fused_rules())


#: ``{(loss, output activation): FusedRule}``: a view of the loss entries' ``fused`` deltas.
FUSED_RULES = _FusedView()
