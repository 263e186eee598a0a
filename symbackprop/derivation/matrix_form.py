r"""Backpropagation in matrix form, as the slides (001) write it, for any depth.

A batch of n examples flows through the network one matrix product per layer.
With ``L`` weight layers, widths ``N_0`` (inputs) ... ``N_L`` (outputs) and a_0 = x::

    z_l = a_{l-1} W_l + b_l      (n, N_{l-1}) (N_{l-1}, N_l) + (1, N_l) -> (n, N_l)
    a_l = g_l(z_l)               (n, N_l), elementwise (softmax: row by row)
    \hat{y} = a_L

Shapes as the slides teach them: x is (n, M), one row per example; a layer from M
inputs to N neurons has W of shape (M, N) (the inner dimensions of x W match) and a
bias b of shape (1, N), added to every row. The index notation of the lecture notes
is the transpose: ``W_l[j, i] = w^{l}_{i,j}`` (row = input node j, column = neuron i),
``b_l[1, i] = b^{l}_{i}``, and row e of z_l, a_l holds z^{l+1}_{i}, a^{l+1}_{i} of example e
(the notes number the input layer 1, so matrix layer l is index layer l + 1).

``dz_l``, ``da_l``, ``dW_l``, ``db_l`` are the gradients of the batch loss
J = r \sum_e L_e (r = 1/n for a ``mean`` reduction, 1 for ``sum``) with respect to
z_l, a_l, W_l, b_l. The backward steps, the slides' seven steps for any depth::

    dz_L     = r (\hat{y} - y)            BCE + sigmoid output, cross-entropy + softmax output
    da_L     = r \partial L / \partial \hat{y}   other losses, then
    dz_L     = da_L \odot g'(z_L)          (or the softmax Jacobian product)
    dW_l     = a_{l-1}^T dz_l
    db_l     = \sum_{rows} dz_l
    da_{l-1} = dz_l W_l^T
    dz_{l-1} = da_{l-1} \odot g'(z_{l-1})  (\sigma' = a(1 - a), tanh' = 1 - a^2, ...)

The slides write the mean loss (1/n) \sum but their backward steps drop the 1/n: they
differentiate the per-example (summed) loss. Here the factor r is explicit in the first
step and every later step inherits it, so dW_l is exactly \partial J / \partial W_l.

Each formula is data: a small matrix expression tree (``Mat``, ``Transpose``,
``MatMul``, ``Hadamard``, ...) that knows its shape, checks that inner dimensions
match (``ShapeError`` otherwise), prints itself as LaTeX and text, evaluates in
floats or exactly (NumPy object arrays of SymPy numbers), and converts to a SymPy
``MatrixExpr``. ``matrix_numpy`` compiles the same trees to vectorized NumPy,
``matrix_latex`` renders them, and the answer checker compares answers with them.
Nothing here builds the per-scalar graph, so a 784-128-10 network derives instantly;
``tests/test_matrix_form.py`` proves every entry equal to the per-scalar chain rule.

Example (the slides' gender network)::

    >>> md = matrix_derive(load_spec("derivations/gender.toml"))
    >>> [f"{s.target.name} = {s.expression.text()}" for s in md.backward][:3]
    ['dz_2 = 1/n (ŷ − y)', 'dW_2 = a_1ᵀ dz_2', 'db_2 = Σ_rows dz_2']
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import sympy

from ..spec import names
from ..errors import NotSupportedError, SpecError
from ..ops.losses import get_loss
from ..ops.activations import ACTIVATIONS

from .matrix_expr import (  # noqa: F401  (re-exported: the public names of the matrix form)
    Add,
    Apply,
    Dim,
    FUNCTIONS,
    Hadamard,
    HadamardDiv,
    Mat,
    MatMul,
    MatrixExpr,
    N_SYMBOL,
    Neg,
    ONE,
    Ones,
    RowSum,
    Scalar,
    Scale,
    Shape,
    ShapeError,
    Sub,
    Transpose,
    _Binary,
    _ExactFunctions,
    _FLOAT_FUNCTIONS,
    _FloatFunctions,
    _as_expr,
    _elementwise_shape,
    _exact_functions,
    _exact_matmul,
    _shape_error,
    _softmax_rows,
    evaluate,
    exact_array,
    to_sympy,
    walk,
)
from .matrix_rules import (  # noqa: F401
    ACTIVATION_RULES,
    ActivationRule,
    FUSED_RULES,
    FusedRule,
    LOSS_RULES,
    LossRule,
    _RegistryView,
    _activation_rule,
    _lift,
    _loss_rule,
    lift,
)


# ---------------------------------------------------------------------------------------
# The derivation
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ForwardStep:
    """One forward formula ``target = expression`` with its shapes:
    ``shapes`` e.g. ``(n, N_0)(N_0, N_1) + (1, N_1) -> (n, N_1)`` and the inner-dimension remark."""

    target: Mat
    expression: MatrixExpr
    shapes: str
    shapes_latex: str
    remark: str
    index_form: str
    index_form_latex: str


@dataclass(frozen=True)
class MatrixStep:
    """One backward step ``target = expression``.

    ``number`` counts from 1 (the slides' seven steps for two layers), ``target`` is the
    gradient matrix (``dz_2``), ``of`` the matrix it is the gradient of (``z_2``),
    ``expression`` the formula with the batch reduction included (the first step
    carries r = 1/n for a mean); ``per_example`` the same without r (the slides' form),
    ``general`` a form valid without ``assumption`` (for cross-entropy: targets whose rows
    do not sum to 1), ``rule`` a short name, ``justification`` the reason in words,
    ``lines`` the chain-rule derivation in LaTeX, ``index_form`` the entry in the lecture
    notes' index notation, ``shapes`` the shape arithmetic."""

    number: int
    target: Mat
    of: str
    expression: MatrixExpr
    rule: str
    justification: str
    shapes: str
    shapes_latex: str
    index_form: str
    index_form_latex: str
    per_example: MatrixExpr | None = None
    general: MatrixExpr | None = None
    assumption: str | None = None
    assumption_latex: str | None = None
    lines: tuple = ()
    justification_latex: str = ""

    @property
    def name(self) -> str:
        return self.target.name

    @property
    def reference(self) -> MatrixExpr:
        """The formula an answer is compared with (``general`` when there is one)."""
        return self.general if self.general is not None else self.expression


def _latex_name(name: str) -> str:
    """``W_12`` -> ``W_{12}`` (a multi-digit subscript needs braces)."""
    base, sep, sub = name.rpartition("_")
    return f"{base}_{{{sub}}}" if sep and sub.isdigit() else name


def _shape_product_text(a: Shape, b: Shape) -> str:
    return f"({a.rows.label}, {a.cols.label})({b.rows.label}, {b.cols.label})"


class MatrixDerivation:
    """The matrix-form derivation of a network spec: forward steps, loss, backward steps.

    Attributes: ``spec`` (or None), ``layers`` (N_0..N_L), ``activations``, ``loss``,
    ``reduction``, ``n_examples`` (None without data), ``depth`` (L, weight layers),
    ``dims``, ``matrices`` ({name: Mat}), ``forward`` and ``backward`` (tuples of steps),
    ``reduction_factor`` (1/n with the symbol n, or 1).
    """

    def __init__(self, network, spec=None):
        self.spec = spec
        self.network = network
        self.layers = tuple(network.layers)
        self.activations = tuple(network.activations)
        self.loss = network.loss
        self.reduction = network.reduction
        self.n_examples = (spec.n_examples or None) if spec is not None else None
        self.depth = len(self.layers) - 1
        for i, name in enumerate(self.activations):
            if name not in ACTIVATION_RULES:
                raise NotSupportedError(f"activation {name!r} has no matrix rule (allowed: "
                                        f"{', '.join(sorted(ACTIVATION_RULES))})")
            if name == "softmax" and i != self.depth - 1:
                raise SpecError(f"softmax is allowed only on the output layer (layer {i + 1} of {self.depth})")
        if self.loss not in LOSS_RULES:
            raise NotSupportedError(f"loss {self.loss!r} has no matrix rule (allowed: {', '.join(sorted(LOSS_RULES))})")
        get_loss(self.loss)
        self.dims = (Dim("n", self.n_examples),) + tuple(Dim(f"N_{l}", w) for l, w in enumerate(self.layers))
        self.matrices = {}
        self._build()

    # -- names and shapes -----------------------------------------------------------
    @property
    def batch(self) -> Dim:
        return self.dims[0]

    def width(self, l: int) -> Dim:
        return self.dims[l + 1]

    @property
    def reduction_factor(self) -> sympy.Expr:
        """r in J = r Σ_e L_e: 1/n (with the symbol n) for a mean, 1 for a sum."""
        return 1 / N_SYMBOL if self.reduction == "mean" else sympy.S.One

    @property
    def reduction_value(self):
        """r at the spec's batch size (None for a mean without data)."""
        if self.reduction == "sum":
            return sympy.S.One
        return sympy.Rational(1, self.n_examples) if self.n_examples else None

    @property
    def fused(self) -> FusedRule | None:
        return FUSED_RULES.get((self.loss, self.activations[-1]))

    def _mat(self, name, shape, latex=None, text=None) -> Mat:
        m = Mat(name, shape, latex or _latex_name(name), text or name)
        self.matrices[name] = m
        return m

    def activation_name(self, l: int) -> str:
        """The name of a_l (``x`` for l = 0, ``yhat`` for l = L)."""
        if l == 0:
            return "x"
        return "yhat" if l == self.depth else f"a_{l}"

    def resolve(self, name: str) -> str:
        """The canonical matrix name for ``name`` or a common spelling of it:
        X → x, A_l / Z_l / dZ_l / dA_l → a_l / z_l / dz_l / da_l, a_0 → x, a_L / \\hat{y} / ŷ → yhat,
        Y → y, w_l → W_l, dw_l → dW_l. SpecError naming the known matrices otherwise."""
        raw = name.strip()
        s = raw.replace(" ", "").replace("{", "").replace("}", "")
        aliases = {"X": "x", "A_0": "x", "a_0": "x", "Y": "y", r"\hat{y}": "yhat", r"\haty": "yhat", "ŷ": "yhat",
                   "y_hat": "yhat", "\\hat y": "yhat", "Yhat": "yhat"}
        if f"da_{self.depth}" in self.matrices:
            for alias in ("dyhat", r"d\hat{y}", "dŷ", "d\\haty", "dy_hat"):
                aliases[alias] = f"da_{self.depth}"
        if raw in aliases:
            return aliases[raw]
        if s in aliases:
            return aliases[s]
        import re

        m = re.fullmatch(r"(d?)([AZWazwb])_?(\d+)", s)
        if m:
            d, letter, l = m.group(1), m.group(2), int(m.group(3))
            letter = {"A": "a", "Z": "z", "w": "W"}.get(letter, letter)
            cand = f"{d}{letter}_{l}"
            if not d and letter == "a" and l == self.depth:
                cand = "yhat"
            if not d and letter == "a" and l == 0:
                cand = "x"
            if cand in self.matrices:
                return cand
        if s in self.matrices:
            return s
        from ..errors import did_you_mean

        known = list(self.matrices)
        raise SpecError(f"unknown matrix {name!r}{did_you_mean(s, known)} (known: {', '.join(known)})")

    def matrix(self, name: str) -> Mat:
        return self.matrices[self.resolve(name)]

    def index_name(self, name: str, row: int, col: int) -> str:
        """The index-notation name of entry [row, col] (1-based) of a matrix, or of the
        quantity a gradient matrix differentiates: W_l[j, i] -> w^{l}_{i,j}, b_l[1, i] -> b^{l}_{i},
        z_l[e, i] -> z^{l+1}_{i} (example e), a_l[e, i] -> a^{l+1}_{i}, x[e, j] -> x_{j}, y[e, k] -> y_{k};
        dW_l[j, i] -> w^{l}_{i,j} (dW_l[j, i] = ∂J/∂w^{l}_{i,j}) and so on."""
        name = self.resolve(name)
        base = name[1:] if name.startswith("d") else name
        if base == f"a_{self.depth}":
            base = "yhat"
        if base.startswith("W_"):
            return names.weight(int(base[2:]), col, row)
        if base.startswith("b_"):
            return names.bias(int(base[2:]), col)
        if base.startswith("z_"):
            return names.pre_activation(int(base[2:]) + 1, col)
        if base.startswith("a_"):
            return names.activation(int(base[2:]) + 1, col)
        if base == "yhat":
            return names.activation(self.depth + 1, col)
        if base == "x":
            return names.feature(col)
        if base == "y":
            return names.target(col)
        raise SpecError(f"{name} has no index-notation entries")

    def gradient_of(self, name: str) -> str:
        """``dW_2`` -> ``W_2``: the matrix a gradient matrix differentiates."""
        name = self.resolve(name)
        for step in self.backward:
            if step.target.name == name:
                return step.of
        raise SpecError(f"{name} is not a gradient matrix (known: {', '.join(s.name for s in self.backward)})")

    # -- building the steps ------------------------------------------------------------
    def _build(self):
        L = self.depth
        n = self.batch
        x = self._mat("x", Shape(n, self.width(0)))
        y = self._mat("y", Shape(n, self.width(L)))
        W, b, z, a = {}, {}, {}, {0: x}
        forward = []
        for l in range(1, L + 1):
            Ml, Nl = self.width(l - 1), self.width(l)
            W[l] = self._mat(f"W_{l}", Shape(Ml, Nl))
            b[l] = self._mat(f"b_{l}", Shape(ONE, Nl))
            z[l] = self._mat(f"z_{l}", Shape(n, Nl))
            prev = a[l - 1]
            expr = Add(MatMul(prev, W[l]), b[l])
            pm = f"{prev.text()} W_{l}"
            shapes = (f"{_shape_product_text(prev.shape, W[l].shape)} + (1, {Nl.label}) → ({n.label}, {Nl.label})")
            shapes_latex = (rf"({n.latex}, {Ml.latex})({Ml.latex}, {Nl.latex}) + (1, {Nl.latex}) "
                            rf"\rightarrow ({n.latex}, {Nl.latex})")
            remark = (f"the inner dimensions of {pm} match ({Ml.label}{'' if Ml.size is None else ' = ' + str(Ml.size)}):"
                      f" W_{l} takes {Ml.label} inputs to {Nl.label} neurons, so it is ({Ml.label}, {Nl.label}); "
                      f"b_{l} is (1, {Nl.label}), one bias per neuron, added to every row")
            forward.append(ForwardStep(
                z[l], expr, shapes, shapes_latex, remark,
                f"z_{l}[e, i] = Σ_j {prev.text()}[e, j] W_{l}[j, i] + b_{l}[1, i], i.e. "
                f"{names.pre_activation(l + 1, 'i')} = Σ_j {names.weight(l, 'i', 'j')} "
                f"{names.activation(l, 'j') if l > 1 else names.feature('j')} + {names.bias(l, 'i')}",
                rf"z_{{{l}}}[e, i] = \sum_j {prev.latex() if l > 1 else 'x'}[e, j]\, W_{{{l}}}[j, i] + b_{{{l}}}[1, i]"
                rf" \;\Leftrightarrow\; z^{{{l + 1}}}_{{i}} = \sum_j w^{{{l}}}_{{i,j}}\, "
                rf"{'a^{' + str(l) + '}_{j}' if l > 1 else 'x_{j}'} + b^{{{l}}}_{{i}}"))
            act = self.activations[l - 1]
            if l == L:
                a[l] = self._mat("yhat", Shape(n, Nl), r"\hat{y}", "ŷ")
            else:
                a[l] = self._mat(f"a_{l}", Shape(n, Nl))
            rule = ACTIVATION_RULES[act]
            aexpr = z[l] if rule.function is None else Apply(rule.function, z[l])
            how = "row by row" if act == "softmax" else "elementwise"
            forward.append(ForwardStep(
                a[l], aexpr, f"({n.label}, {Nl.label}) → ({n.label}, {Nl.label})",
                rf"({n.latex}, {Nl.latex}) \rightarrow ({n.latex}, {Nl.latex})",
                f"the activation {act} acts {how}, so the shape stays ({n.label}, {Nl.label})",
                f"{a[l].text()}[e, i] = {names.activation(l + 1, 'i')}",
                rf"{a[l].latex()}[e, i] = a^{{{l + 1}}}_{{i}}"))
        self.forward = tuple(forward)
        self._W, self._b, self._z, self._a = W, b, z, a

        steps = []
        r = self.reduction_factor

        def add(**kw):
            steps.append(MatrixStep(number=len(steps) + 1, **kw))

        K = self.layers[-1]
        yhat = a[L]
        fused = self.fused
        dz = {}
        if fused is not None:
            dz[L] = self._mat(f"dz_{L}", Shape(n, self.width(L)))
            ones = Ones(Shape(self.width(L), self.width(L)))
            simple = Sub(yhat, y)
            general = fused.general(yhat, y, ones)
            expr = simple if r == 1 else Scale(r, simple)
            gen = None
            if fused.assumption is not None:
                gen = general if r == 1 else Scale(r, general)
            lines = tuple(line.replace("z_{L}", f"z_{{{L}}}") for line in fused.lines)
            red = self._reduction_sentence()
            add(target=dz[L], of=f"z_{L}", expression=expr, per_example=simple, general=gen,
                assumption=fused.assumption, assumption_latex=fused.assumption_latex,
                rule="loss and output activation (chain rule, the factors cancel)",
                justification=fused.rule + "; " + red,
                justification_latex=self._reduction_sentence(latex=True),
                lines=lines,
                shapes=f"({n.label}, {self.width(L).label}), the shape of z_{L}",
                shapes_latex=rf"({n.latex}, {self.width(L).latex})",
                index_form=f"dz_{L}[e, k] = r ∂L_e/∂{names.pre_activation(L + 1, 'k')}",
                index_form_latex=rf"dz_{{{L}}}[e, k] = r\, \frac{{\partial L_e}}{{\partial z^{{{L + 1}}}_{{k}}}}")
        else:
            lrule = LOSS_RULES[self.loss]
            da_L = self._mat(f"da_{L}", Shape(n, self.width(L)), rf"d\hat{{y}}", "dŷ")
            grad = lrule.gradient(yhat, y, K)
            add(target=da_L, of="yhat", expression=grad if r == 1 else Scale(r, grad), per_example=grad,
                rule="derivative of the loss", justification=lrule.rule + "; " + self._reduction_sentence(),
                justification_latex=self._reduction_sentence(latex=True),
                lines=(lrule.rule_latex,),
                shapes=f"({n.label}, {self.width(L).label}), the shape of ŷ",
                shapes_latex=rf"({n.latex}, {self.width(L).latex})",
                index_form=f"dŷ[e, k] = r ∂L_e/∂{names.activation(L + 1, 'k')}",
                index_form_latex=rf"d\hat{{y}}[e, k] = r\, \frac{{\partial L_e}}{{\partial a^{{{L + 1}}}_{{k}}}}")
            dz[L] = self._mat(f"dz_{L}", Shape(n, self.width(L)))
            self._add_activation_step(add, L, da_L, dz[L])
        for l in range(L, 0, -1):
            prev = a[l - 1]
            Ml, Nl = self.width(l - 1), self.width(l)
            dW = self._mat(f"dW_{l}", Shape(Ml, Nl))
            add(target=dW, of=f"W_{l}", expression=MatMul(Transpose(prev), dz[l]),
                rule="weight gradient",
                justification=(f"z_{l} = {prev.text()} W_{l} + b_{l} is linear in W_{l}: "
                               f"∂z_{l}[e, i]/∂W_{l}[j, i] = {prev.text()}[e, j], so "
                               f"dW_{l}[j, i] = Σ_e {prev.text()}[e, j] dz_{l}[e, i], the product "
                               f"{prev.text()}ᵀ dz_{l} (the sum over examples is the inner dimension)"),
                justification_latex=(rf"z_{{{l}}} = {prev.latex()} W_{{{l}}} + b_{{{l}}} \Rightarrow "
                                     rf"\frac{{\partial z_{{{l}}}[e, i]}}{{\partial W_{{{l}}}[j, i]}} = "
                                     rf"{prev.latex()}[e, j], \quad dW_{{{l}}}[j, i] = \sum_e "
                                     rf"{prev.latex()}[e, j]\, dz_{{{l}}}[e, i]"),
                shapes=f"({Ml.label}, {n.label})({n.label}, {Nl.label}) → ({Ml.label}, {Nl.label}), the shape of W_{l}",
                shapes_latex=(rf"({Ml.latex}, {n.latex})({n.latex}, {Nl.latex}) \rightarrow ({Ml.latex}, {Nl.latex})"
                              rf" = \text{{shape of }} W_{{{l}}}"),
                index_form=f"dW_{l}[j, i] = ∂J/∂{names.weight(l, 'i', 'j')}",
                index_form_latex=rf"dW_{{{l}}}[j, i] = \frac{{\partial J}}{{\partial w^{{{l}}}_{{i,j}}}}")
            db = self._mat(f"db_{l}", Shape(ONE, Nl))
            add(target=db, of=f"b_{l}", expression=RowSum(dz[l]), rule="bias gradient",
                justification=(f"b_{l} is added to every row of z_{l} with coefficient 1, so "
                               f"db_{l}[1, i] = Σ_e dz_{l}[e, i]: the bias gradient is summed across the batch"),
                justification_latex=(rf"\frac{{\partial z_{{{l}}}[e, i]}}{{\partial b_{{{l}}}[1, i]}} = 1 "
                                     rf"\Rightarrow db_{{{l}}}[1, i] = \sum_e dz_{{{l}}}[e, i]"),
                shapes=f"({n.label}, {Nl.label}) → (1, {Nl.label}), the shape of b_{l}",
                shapes_latex=rf"({n.latex}, {Nl.latex}) \rightarrow (1, {Nl.latex}) = \text{{shape of }} b_{{{l}}}",
                index_form=f"db_{l}[1, i] = ∂J/∂{names.bias(l, 'i')}",
                index_form_latex=rf"db_{{{l}}}[1, i] = \frac{{\partial J}}{{\partial b^{{{l}}}_{{i}}}}")
            if l == 1:
                continue
            da = self._mat(f"da_{l - 1}", Shape(n, Ml))
            add(target=da, of=f"a_{l - 1}", expression=MatMul(dz[l], Transpose(W[l])),
                rule="gradient into the previous layer",
                justification=(f"a_{l - 1} affects the loss through z_{l} = a_{l - 1} W_{l} + b_{l}: "
                               f"∂z_{l}[e, i]/∂a_{l - 1}[e, j] = W_{l}[j, i], so da_{l - 1}[e, j] = "
                               f"Σ_i dz_{l}[e, i] W_{l}[j, i], the product dz_{l} W_{l}ᵀ"),
                justification_latex=(rf"\frac{{\partial z_{{{l}}}[e, i]}}{{\partial a_{{{l - 1}}}[e, j]}} = "
                                     rf"W_{{{l}}}[j, i] \Rightarrow da_{{{l - 1}}}[e, j] = \sum_i dz_{{{l}}}[e, i]\, "
                                     rf"W_{{{l}}}[j, i]"),
                shapes=f"({n.label}, {Nl.label})({Nl.label}, {Ml.label}) → ({n.label}, {Ml.label}), the shape of a_{l - 1}",
                shapes_latex=(rf"({n.latex}, {Nl.latex})({Nl.latex}, {Ml.latex}) \rightarrow ({n.latex}, {Ml.latex})"
                              rf" = \text{{shape of }} a_{{{l - 1}}}"),
                index_form=f"da_{l - 1}[e, j] = r ∂L_e/∂{names.activation(l, 'j')}",
                index_form_latex=(rf"da_{{{l - 1}}}[e, j] = r\, \frac{{\partial L_e}}"
                                  rf"{{\partial a^{{{l}}}_{{j}}}}"))
            dz[l - 1] = self._mat(f"dz_{l - 1}", Shape(n, Ml))
            self._add_activation_step(add, l - 1, da, dz[l - 1])
        self.backward = tuple(steps)

    def _reduction_sentence(self, latex: bool = False) -> str:
        n = self.n_examples
        if self.reduction == "mean":
            num = f" (n = {n}, so 1/n = 1/{n})" if n else ""
            if latex:
                num = rf" (n = {n}, \text{{ so }} \tfrac{{1}}{{n}} = \tfrac{{1}}{{{n}}})" if n else ""
                return (r"\text{The loss is the mean } J = \frac{1}{n}\sum_e L_e" + num +
                        r"\text{: the factor } \frac{1}{n} \text{ enters here and every later step inherits it.}")
            return (f"the loss is the mean J = (1/n) Σ_e L_e{num}, so the factor 1/n enters here and every later "
                    f"step inherits it (the slides drop it: they differentiate the per-example loss)")
        if latex:
            return r"\text{The loss is the sum } J = \sum_e L_e\text{: no factor.}"
        return "the loss is the sum J = Σ_e L_e, so there is no factor"

    def _add_activation_step(self, add, l, da: Mat, dzm: Mat):
        """dz_l = da_l ⊙ g'(z_l) (or the softmax Jacobian product)."""
        act = self.activations[l - 1]
        rule = ACTIVATION_RULES[act]
        z, a = self._z[l], self._a[l]
        n, Nl = self.batch, self.width(l)
        if act == "softmax":
            ones = Ones(Shape(Nl, Nl))
            expr = Hadamard(a, Sub(da, MatMul(Hadamard(da, a), ones)))
            just = ("chain rule through the softmax, row by row: ∂ŷ_k/∂z_j = ŷ_k(δ_kj − ŷ_j), so "
                    "dz[e, j] = ŷ[e, j](da[e, j] − Σ_k da[e, k] ŷ[e, k]); multiplying by the all-ones matrix "
                    "puts each row's total in every column")
            jl = (r"\frac{\partial \hat{y}_k}{\partial z_j} = \hat{y}_k(\delta_{kj} - \hat{y}_j) \Rightarrow "
                  rf"dz_{{{l}}}[e, j] = \hat{{y}}[e, j]\left(d\hat{{y}}[e, j] - \sum_k d\hat{{y}}[e, k]\, "
                  r"\hat{y}[e, k]\right)")
            lines = (rule.rule_latex,)
        else:
            deriv = rule.derivative(z, a)
            expr = da if deriv is None else Hadamard(da, deriv)
            gp = "1" if deriv is None else deriv.text()
            just = (f"chain rule through the activation, entry by entry: {a.text()} = {act}(z_{l}), "
                    f"∂{a.text()}/∂z_{l} = {gp} ({rule.rule})")
            jl = (rf"{a.latex()} = {ACTIVATIONS[act].latex_name}(z_{{{l}}}) \Rightarrow \frac{{\partial {a.latex()}}}{{\partial z_{{{l}}}}} = "
                  rf"{'1' if deriv is None else deriv.latex()} \text{{ (elementwise)}}")
            lines = (rule.rule_latex,)
        add(target=dzm, of=f"z_{l}", expression=expr, rule="through the activation", justification=just,
            justification_latex=jl, lines=lines,
            shapes=f"({n.label}, {Nl.label}) ⊙ ({n.label}, {Nl.label}) → ({n.label}, {Nl.label}), the shape of z_{l}",
            shapes_latex=(rf"({n.latex}, {Nl.latex}) \odot ({n.latex}, {Nl.latex}) \rightarrow "
                          rf"({n.latex}, {Nl.latex})"),
            index_form=f"dz_{l}[e, i] = r ∂L_e/∂{names.pre_activation(l + 1, 'i')}",
            index_form_latex=rf"dz_{{{l}}}[e, i] = r\, \frac{{\partial L_e}}{{\partial z^{{{l + 1}}}_{{i}}}}")

    # -- reading it ----------------------------------------------------------------------
    def step(self, name: str) -> MatrixStep:
        """The backward step that computes ``name`` (``dW_1``, ``dz_2``, ``dZ_2``, ...)."""
        name = self.resolve(name)
        for s in self.backward:
            if s.target.name == name:
                return s
        raise SpecError(f"{name} is not computed by a backward step (steps: "
                        f"{', '.join(s.name for s in self.backward)})")

    def _gradient_name(self, name: str) -> str:
        """``dW_1`` as is; ``W_1`` -> ``dW_1``; an index-notation entry ``w^{1}_{2,1}`` / ``b^{1}_{2}`` /
        ``z^{3}_{1}`` / ``a^{2}_{1}`` -> the gradient matrix holding it (``dW_1``, ``db_1``, ``dz_2``, ``da_1``)."""
        parts = names.split_indexed(name.replace(" ", ""))
        if parts is not None and parts[1] is not None:
            letter, layer, _ = parts
            if letter in ("w", "b") and 1 <= layer <= self.depth:
                return f"d{'W' if letter == 'w' else 'b'}_{layer}"
            if letter in ("z", "a") and 2 <= layer <= self.depth + 1:
                cand = f"d{letter}_{layer - 1}"
                if cand in self.matrices:
                    return cand
                if letter == "a" and layer == self.depth + 1:
                    return f"dz_{self.depth}"
        resolved = self.resolve(name)
        if resolved in {s.name for s in self.backward}:
            return resolved
        for s in self.backward:
            if s.of == resolved:
                return s.name
        return resolved

    def steps_for(self, names_) -> tuple:
        """The backward steps needed to compute the given gradient matrices, in order. Names may
        be gradient matrices (``dW_1``), the matrices they differentiate (``W_1``) or index-notation
        entries (``w^{1}_{1,1}``, the step of the matrix that holds it)."""
        want = {self._gradient_name(nm) for nm in names_}
        by_name = {s.name: s for s in self.backward}
        for w in list(want):
            if w not in by_name:
                self.step(w)
        need = set(want)
        for s in reversed(self.backward):
            if s.name in need:
                need.update(m for m in s.expression.matrices() if m in by_name)
        return tuple(s for s in self.backward if s.name in need)

    def forward_step(self, name: str) -> ForwardStep:
        name = self.resolve(name)
        for s in self.forward:
            if s.target.name == name:
                return s
        raise SpecError(f"{name} is not computed by a forward step")

    @property
    def parameter_names(self) -> tuple:
        """``('W_1', 'b_1', ..., 'W_L', 'b_L')``."""
        return tuple(x for l in range(1, self.depth + 1) for x in (f"W_{l}", f"b_{l}"))

    @property
    def parameter_count(self) -> int:
        return sum(self.layers[l] * self.layers[l + 1] + self.layers[l + 1] for l in range(self.depth))

    def loss_latex(self) -> str:
        """The per-example loss as the lectures write it (index form over the outputs k)."""
        return get_loss(self.loss).latex

    # -- numbers -------------------------------------------------------------------------
    @cached_property
    def spec_matrices(self):
        """The spec's parameters in the slides' shapes, floats: [(W_1, b_1), ...] with W_l (N_{l-1}, N_l)."""
        if self.spec is None or self.spec.weights is None:
            raise SpecError("no parameters: the matrix derivation was built without a spec")
        out = []
        for l in range(1, self.depth + 1):
            w = self.spec.weights[l - 1]
            Wt = np.array([[_to_float(v) for v in row] for row in w], dtype=float).reshape(self.layers[l], self.layers[l - 1])
            bb = np.array([_to_float(v) for v in self.spec.biases[l - 1]], dtype=float).reshape(1, -1)
            out.append((np.ascontiguousarray(Wt.T), bb))
        return out

    def spec_exact_matrices(self):
        """The spec's parameters as exact object arrays [(W_l, b_l)] (small networks)."""
        out = []
        for l in range(1, self.depth + 1):
            w = self.spec.weights[l - 1]
            Wt = np.array(w, dtype=object).reshape(self.layers[l], self.layers[l - 1])
            out.append((Wt.T.copy(), np.array([list(self.spec.biases[l - 1])], dtype=object)))
        return out

    def has_data(self) -> bool:
        return self.spec is not None and bool(self.spec.x)

    def spec_data(self, exact: bool = False):
        """(X, Y) from the spec: (n, N_0) and (n, N_L) arrays (floats, or exact object arrays)."""
        if not self.has_data():
            raise SpecError(f"{self.spec.source if self.spec else '<spec>'}: [data]: no x and y rows")
        if exact:
            return (np.array(self.spec.x, dtype=object).reshape(len(self.spec.x), -1),
                    np.array(self.spec.y, dtype=object).reshape(len(self.spec.y), -1))
        X = np.array([[_to_float(v) for v in row] for row in self.spec.x], dtype=float).reshape(len(self.spec.x), -1)
        Y = np.array([[_to_float(v) for v in row] for row in self.spec.y], dtype=float).reshape(len(self.spec.y), -1)
        return X, Y

    def environment(self, mats=None, X=None, Y=None, *, exact: bool = False, general: bool = True) -> dict:
        """Every named matrix at the given parameters and data, computed by evaluating the
        forward and backward steps in order (the formulas themselves, not generated code):
        {'x', 'y', 'W_l', 'b_l', 'z_l', 'a_l', 'yhat', 'dz_l', 'da_l', 'dW_l', 'db_l', 'n'}.
        Defaults: the spec's parameters and data. ``exact=True``: object arrays of SymPy numbers.
        ``general=False`` evaluates each step's ``expression`` (ŷ − y for cross-entropy, which
        assumes one-hot targets) instead of its ``reference``."""
        if mats is None:
            mats = self.spec_exact_matrices() if exact else self.spec_matrices
        if X is None or Y is None:
            X0, Y0 = self.spec_data(exact=exact)
            X = X0 if X is None else X
            Y = Y0 if Y is None else Y
        env = {"x": X, "y": Y, "n": np.shape(X)[0]}
        for l, (Wl, bl) in enumerate(mats, start=1):
            env[f"W_{l}"] = Wl
            env[f"b_{l}"] = bl
        for s in self.forward:
            env[s.target.name] = evaluate(s.expression, env, exact=exact)
        for s in self.backward:
            env[s.target.name] = evaluate(s.reference if general else s.expression, env, exact=exact)
        return env


def _to_float(v) -> float:
    if isinstance(v, sympy.Rational):
        return v.p / v.q
    return float(v)


MATRIX_MIN_PARAMETERS = 5000
"""Network specs with more parameters than this are derived in matrix form only: per-scalar
derivation is linear in the parameters but a few milliseconds each, far too slow at 100k."""


def parameter_count(layers) -> int:
    """Σ_l (N_{l-1} N_l + N_l): every weight and bias of a fully connected network."""
    return sum(layers[k] * layers[k + 1] + layers[k + 1] for k in range(len(layers) - 1))


def uses_matrix_form(spec) -> bool:
    """True for network specs with ``notation = "matrix"`` or more than ``MATRIX_MIN_PARAMETERS``
    parameters: the CLI derives, renders, checks and exports these in matrix form."""
    if spec.network is None:
        return False
    if getattr(spec.network, "shared_biases", False):  # one bias per layer: index notation only
        if parameter_count(spec.network.layers) > MATRIX_MIN_PARAMETERS:
            from ..errors import SpecError

            raise SpecError(f"{spec.source}: [network].biases: shared biases are derived in index notation, "
                            f"which allows at most {MATRIX_MIN_PARAMETERS} parameters: use narrower layers, or "
                            "per-node biases for the matrix form")
        return False
    return spec.notation == "matrix" or parameter_count(spec.network.layers) > MATRIX_MIN_PARAMETERS


def matrix_derive(source) -> MatrixDerivation:
    """The matrix-form derivation of a network: from a ``Spec``, a ``Derivation`` (its spec),
    a ``NetworkSpec`` (no numbers) or a ``MatrixDerivation`` (returned as is).

    Builds no per-scalar graph: the cost is one step per layer, whatever the widths."""
    if isinstance(source, MatrixDerivation):
        return source
    from ..spec.load import NetworkSpec, Spec

    spec = None
    if isinstance(source, NetworkSpec):
        if getattr(source, "shared_biases", False):
            raise NotSupportedError("the matrix form has one bias per node; shared biases are derived per scalar")
        return MatrixDerivation(source)
    if isinstance(source, Spec):
        spec = source
    elif hasattr(source, "spec") and hasattr(source, "graph"):
        spec = source.spec
    else:
        raise TypeError(f"matrix_derive needs a Spec, Derivation or NetworkSpec, not {type(source).__name__}")
    if spec is None or spec.network is None:
        where = spec.source if spec is not None else "<spec>"
        raise NotSupportedError(f"{where}: the matrix form needs a [network] spec (layers, activations, loss); "
                                f"a [graph] spec is derived per scalar only")
    if getattr(spec.network, "shared_biases", False):
        raise NotSupportedError(f"{spec.source}: the matrix form has one bias per node (b_l of shape (1, N_l)); "
                                "a spec with shared biases is derived, compiled and checked per scalar")
    return MatrixDerivation(spec.network, spec)


def matrix_derivation_text(md: MatrixDerivation, wrt=None, decimals: int = 4) -> str:
    """The matrix-form derivation as plain text: shapes, forward steps, reduction, backward steps
    (those needed for ``wrt`` when given), with numbers for small networks with data."""
    md = matrix_derive(md)
    lines = []
    title = (md.spec.title or md.spec.source) if md.spec is not None else "network"
    lines.append(f"# {title} (matrix form)")
    lines.append(f"layers {list(md.layers)}, activations {', '.join(md.activations)}, loss {md.loss}, "
                 f"reduction {md.reduction}" + (f" over n = {md.n_examples} examples" if md.n_examples else ""))
    lines.append("index notation: W_l[j, i] = w^{l}_{i,j} (row = input j, column = neuron i), b_l[1, i] = b^{l}_{i}; "
                 "row e of z_l, a_l is z^{l+1}, a^{l+1} of example e")
    lines.append("")
    lines.append("forward:")
    for s in md.forward:
        lines.append(f"  {s.target.text()} = {s.expression.text()}    shape {s.target.shape.text()}")
        lines.append(f"      {s.shapes}; {s.remark}")
    lines.append("")
    lines.append(f"loss: {get_loss(md.loss).description} per example, J = "
                 + ("(1/n) Σ_e L_e" if md.reduction == "mean" else "Σ_e L_e"))
    lines.append("")
    lines.append("backward:")
    steps = md.steps_for(wrt) if wrt else md.backward
    for s in steps:
        lines.append(f"  {s.number}. {s.target.text()} = {s.expression.text()}    shape {s.target.shape.text()}")
        if s.per_example is not None and s.per_example != s.expression:
            lines.append(f"      per example (the slides' form): {s.target.text()} = {s.per_example.text()}")
        if s.assumption:
            lines.append(f"      assuming {s.assumption}; in general {s.general.text()}")
        lines.append(f"      {s.justification}")
        lines.append(f"      {s.shapes}; {s.index_form}")
    if md.has_data() and md.parameter_count <= 200 and md.n_examples <= 20:
        env = md.environment()
        lines.append("")
        lines.append("numbers (spec parameters and data):")
        for s in md.forward + steps:
            v = np.asarray(env[s.target.name], dtype=float)
            rows = "; ".join(", ".join(_fmt(x, decimals) for x in row) for row in v)
            lines.append(f"  {s.target.text()} = [{rows}]")
    return "\n".join(lines) + "\n"


def _fmt(x: float, decimals: int) -> str:
    s = f"{float(x):.{decimals}f}"
    if s.startswith("-") and float(s) == 0:
        s = s[1:]
    return s


__all__ = [
    "ACTIVATION_RULES", "Add", "Apply", "Dim", "FUSED_RULES", "ForwardStep", "Hadamard", "HadamardDiv", "LOSS_RULES",
    "Mat", "MatMul", "MatrixDerivation", "MatrixExpr", "MatrixStep", "N_SYMBOL", "Neg", "Ones", "RowSum", "Scalar",
    "Scale", "Shape", "ShapeError", "Sub", "Transpose", "evaluate", "exact_array", "matrix_derivation_text",
    "matrix_derive", "to_sympy", "walk",
]

