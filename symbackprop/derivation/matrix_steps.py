r"""The steps of the matrix form, one builder per kind of step.

Takes a ``MatrixDerivation`` under construction (its widths, activations, loss and reduction,
and ``_mat`` to name a matrix); gives its ``forward`` and ``backward`` tuples:

* ``forward_steps``: z_l = a_{l-1} W_l + b_l and a_l = g_l(z_l) for every layer;
* ``output_delta_step``: the first backward step, dz_L = r(ŷ − y) for a fused loss and output
  activation, else dŷ = r ∂L/∂ŷ followed by ``activation_step``;
* ``weight_gradient_step`` (dW_l = a_{l-1}ᵀ dz_l), ``bias_gradient_step`` (db_l = Σ_rows dz_l),
  ``previous_layer_step`` (da_{l-1} = dz_l W_lᵀ) and ``activation_step`` (dz_l = da_l ⊙ g'(z_l));
* ``reduction_sentence``: where the batch reduction's factor r enters.

Each builder returns one step's fields (a dict); ``backward_steps`` numbers them in order.
(Split out of ``matrix_form``, which re-exports ``ForwardStep`` and ``MatrixStep``.)
"""
from __future__ import annotations

from dataclasses import dataclass

from ..spec import names
from ..ops.activations import ACTIVATIONS

from .matrix_expr import (
    Add,
    Apply,
    Hadamard,
    Mat,
    MatMul,
    MatrixExpr,
    ONE,
    Ones,
    RowSum,
    Scale,
    Shape,
    Sub,
    Transpose,
)
from .matrix_rules import ACTIVATION_RULES, LOSS_RULES


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


# ---------------------------------------------------------------------------------------
# Forward
# ---------------------------------------------------------------------------------------

def forward_steps(md) -> tuple:
    """The forward steps z_l = a_{l-1} W_l + b_l, a_l = g_l(z_l); names x, y, W_l, b_l, z_l, a_l (ŷ last)
    in ``md.matrices`` and keeps them as ``md._W``, ``md._b``, ``md._z``, ``md._a`` for the backward builders."""
    L = md.depth
    n = md.batch
    x = md._mat("x", Shape(n, md.width(0)))
    md._mat("y", Shape(n, md.width(L)))
    W, b, z, a = {}, {}, {}, {0: x}
    forward = []
    for l in range(1, L + 1):
        Ml, Nl = md.width(l - 1), md.width(l)
        W[l] = md._mat(f"W_{l}", Shape(Ml, Nl))
        b[l] = md._mat(f"b_{l}", Shape(ONE, ONE) if md.shared_biases else Shape(ONE, Nl))
        z[l] = md._mat(f"z_{l}", Shape(n, Nl))
        forward.append(_weighted_sum_step(md, l, a[l - 1], W[l], b[l], z[l]))
        act = md.activations[l - 1]
        if l == L:
            a[l] = md._mat("yhat", Shape(n, Nl), r"\hat{y}", "ŷ")
        else:
            a[l] = md._mat(f"a_{l}", Shape(n, Nl))
        rule = ACTIVATION_RULES[act]
        aexpr = z[l] if rule.function is None else Apply(rule.function, z[l])
        how = "row by row" if act == "softmax" else "elementwise"
        forward.append(ForwardStep(
            a[l], aexpr, f"({n.label}, {Nl.label}) → ({n.label}, {Nl.label})",
            rf"({n.latex}, {Nl.latex}) \rightarrow ({n.latex}, {Nl.latex})",
            f"the activation {act} acts {how}, so the shape stays ({n.label}, {Nl.label})",
            f"{a[l].text()}[e, i] = {names.activation(l + 1, 'i')}",
            rf"{a[l].latex()}[e, i] = a^{{{l + 1}}}_{{i}}"))
    md._W, md._b, md._z, md._a = W, b, z, a
    return tuple(forward)


def _weighted_sum_step(md, l: int, prev: Mat, Wl: Mat, bl: Mat, zl: Mat) -> ForwardStep:
    """z_l = a_{l-1} W_l + b_l: the shapes, why the inner dimensions match, and the index form."""
    if md.shared_biases:
        return _shared_bias_weighted_sum_step(md, l, prev, Wl, bl, zl)
    n = md.batch
    Ml, Nl = md.width(l - 1), md.width(l)
    expr = Add(MatMul(prev, Wl), bl)
    pm = f"{prev.text()} W_{l}"
    shapes = (f"{_shape_product_text(prev.shape, Wl.shape)} + (1, {Nl.label}) → ({n.label}, {Nl.label})")
    shapes_latex = (rf"({n.latex}, {Ml.latex})({Ml.latex}, {Nl.latex}) + (1, {Nl.latex}) "
                    rf"\rightarrow ({n.latex}, {Nl.latex})")
    remark = (f"the inner dimensions of {pm} match ({Ml.label}{'' if Ml.size is None else ' = ' + str(Ml.size)}):"
              f" W_{l} takes {Ml.label} inputs to {Nl.label} neurons, so it is ({Ml.label}, {Nl.label}); "
              f"b_{l} is (1, {Nl.label}), one bias per neuron, added to every row")
    return ForwardStep(
        zl, expr, shapes, shapes_latex, remark,
        f"z_{l}[e, i] = Σ_j {prev.text()}[e, j] W_{l}[j, i] + b_{l}[1, i], i.e. "
        f"{names.pre_activation(l + 1, 'i')} = Σ_j {names.weight(l, 'i', 'j')} "
        f"{names.activation(l, 'j') if l > 1 else names.feature('j')} + {names.bias(l, 'i')}",
        rf"z_{{{l}}}[e, i] = \sum_j {prev.latex() if l > 1 else 'x'}[e, j]\, W_{{{l}}}[j, i] + b_{{{l}}}[1, i]"
        rf" \;\Leftrightarrow\; z^{{{l + 1}}}_{{i}} = \sum_j w^{{{l}}}_{{i,j}}\, "
        rf"{'a^{' + str(l) + '}_{j}' if l > 1 else 'x_{j}'} + b^{{{l}}}_{{i}}")


def _shared_bias_weighted_sum_step(md, l: int, prev: Mat, Wl: Mat, bl: Mat, zl: Mat) -> ForwardStep:
    """z_l = a_{l-1} W_l + b_l 1: one bias b_l (1, 1) for the layer, put in every column by a row of ones."""
    n = md.batch
    Ml, Nl = md.width(l - 1), md.width(l)
    ones = Ones(Shape(ONE, Nl))
    expr = Add(MatMul(prev, Wl), MatMul(bl, ones))
    shapes = (f"{_shape_product_text(prev.shape, Wl.shape)} + (1, 1)(1, {Nl.label}) → ({n.label}, {Nl.label})")
    shapes_latex = (rf"({n.latex}, {Ml.latex})({Ml.latex}, {Nl.latex}) + (1, 1)(1, {Nl.latex}) "
                    rf"\rightarrow ({n.latex}, {Nl.latex})")
    remark = (f"the inner dimensions of {prev.text()} W_{l} match ({Ml.label}"
              f"{'' if Ml.size is None else ' = ' + str(Ml.size)}): W_{l} takes {Ml.label} inputs to {Nl.label} "
              f"neurons, so it is ({Ml.label}, {Nl.label}); b_{l} is (1, 1), one bias shared by the layer: "
              f"b_{l} {ones.text()} puts it in every column, and it is added to every row")
    inp = names.activation(l, 'j') if l > 1 else names.feature('j')
    return ForwardStep(
        zl, expr, shapes, shapes_latex, remark,
        f"z_{l}[e, i] = Σ_j {prev.text()}[e, j] W_{l}[j, i] + b_{l}, i.e. "
        f"{names.pre_activation(l + 1, 'i')} = Σ_j {names.weight(l, 'i', 'j')} {inp} + {names.shared_bias(l)} "
        f"(the same b^{{{l}}} for every node i)",
        rf"z_{{{l}}}[e, i] = \sum_j {prev.latex() if l > 1 else 'x'}[e, j]\, W_{{{l}}}[j, i] + b_{{{l}}}"
        rf" \;\Leftrightarrow\; z^{{{l + 1}}}_{{i}} = \sum_j w^{{{l}}}_{{i,j}}\, "
        rf"{'a^{' + str(l) + '}_{j}' if l > 1 else 'x_{j}'} + b^{{{l}}}")


# ---------------------------------------------------------------------------------------
# Backward
# ---------------------------------------------------------------------------------------

def backward_steps(md) -> tuple:
    """The backward steps from the output to the first layer, numbered from 1: the output delta,
    then per layer l = L..1 dW_l, db_l and (for l > 1) da_{l-1}, dz_{l-1}."""
    fields = []
    dz = {md.depth: output_delta_step(md, fields)}
    for l in range(md.depth, 0, -1):
        fields.append(weight_gradient_step(md, l, dz[l]))
        fields.append(bias_gradient_step(md, l, dz[l]))
        if l == 1:
            continue
        da = md._mat(f"da_{l - 1}", Shape(md.batch, md.width(l - 1)))
        fields.append(previous_layer_step(md, l, dz[l], da))
        dz[l - 1] = md._mat(f"dz_{l - 1}", Shape(md.batch, md.width(l - 1)))
        fields.append(activation_step(md, l - 1, da, dz[l - 1]))
    return tuple(MatrixStep(number=k, **kw) for k, kw in enumerate(fields, start=1))


def output_delta_step(md, fields: list) -> Mat:
    """Appends the first backward step(s) to ``fields`` and returns dz_L: r(ŷ − y) when the loss and the
    output activation cancel (``md.fused``), else dŷ = r ∂L/∂ŷ and then dz_L = dŷ ⊙ g'(z_L)."""
    L, n, r = md.depth, md.batch, md.reduction_factor
    yhat, y, K = md._a[L], md.matrices["y"], md.layers[-1]
    fused = md.fused
    dz_L = md._mat(f"dz_{L}", Shape(n, md.width(L))) if fused is not None else None
    if fused is None:
        lrule = LOSS_RULES[md.loss]
        da_L = md._mat(f"da_{L}", Shape(n, md.width(L)), rf"d\hat{{y}}", "dŷ")
        grad = lrule.gradient(yhat, y, K)
        fields.append(dict(
            target=da_L, of="yhat", expression=grad if r == 1 else Scale(r, grad), per_example=grad,
            rule="derivative of the loss", justification=lrule.rule + "; " + reduction_sentence(md),
            justification_latex=reduction_sentence(md, latex=True),
            lines=(lrule.rule_latex,),
            shapes=f"({n.label}, {md.width(L).label}), the shape of ŷ",
            shapes_latex=rf"({n.latex}, {md.width(L).latex})",
            index_form=f"dŷ[e, k] = r ∂L_e/∂{names.activation(L + 1, 'k')}",
            index_form_latex=rf"d\hat{{y}}[e, k] = r\, \frac{{\partial L_e}}{{\partial a^{{{L + 1}}}_{{k}}}}"))
        dz_L = md._mat(f"dz_{L}", Shape(n, md.width(L)))
        fields.append(activation_step(md, L, da_L, dz_L))
        return dz_L
    ones = Ones(Shape(md.width(L), md.width(L)))
    simple = Sub(yhat, y)
    general = fused.general(yhat, y, ones)
    expr = simple if r == 1 else Scale(r, simple)
    gen = None
    if fused.assumption is not None:
        gen = general if r == 1 else Scale(r, general)
    lines = tuple(line.replace("z_{L}", f"z_{{{L}}}") for line in fused.lines)
    fields.append(dict(
        target=dz_L, of=f"z_{L}", expression=expr, per_example=simple, general=gen,
        assumption=fused.assumption, assumption_latex=fused.assumption_latex,
        rule="loss and output activation (chain rule, the factors cancel)",
        justification=fused.rule + "; " + reduction_sentence(md),
        justification_latex=reduction_sentence(md, latex=True),
        lines=lines,
        shapes=f"({n.label}, {md.width(L).label}), the shape of z_{L}",
        shapes_latex=rf"({n.latex}, {md.width(L).latex})",
        index_form=f"dz_{L}[e, k] = r ∂L_e/∂{names.pre_activation(L + 1, 'k')}",
        index_form_latex=rf"dz_{{{L}}}[e, k] = r\, \frac{{\partial L_e}}{{\partial z^{{{L + 1}}}_{{k}}}}"))
    return dz_L


def weight_gradient_step(md, l: int, dz: Mat) -> dict:
    """dW_l = a_{l-1}ᵀ dz_l: the sum over the examples is the product's inner dimension."""
    prev, n = md._a[l - 1], md.batch
    Ml, Nl = md.width(l - 1), md.width(l)
    dW = md._mat(f"dW_{l}", Shape(Ml, Nl))
    return dict(
        target=dW, of=f"W_{l}", expression=MatMul(Transpose(prev), dz),
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


def bias_gradient_step(md, l: int, dz: Mat) -> dict:
    """db_l = Σ_rows dz_l: the bias is added to every row, so its gradient is summed across the batch."""
    if md.shared_biases:
        return _shared_bias_gradient_step(md, l, dz)
    n, Nl = md.batch, md.width(l)
    db = md._mat(f"db_{l}", Shape(ONE, Nl))
    return dict(
        target=db, of=f"b_{l}", expression=RowSum(dz), rule="bias gradient",
        justification=(f"b_{l} is added to every row of z_{l} with coefficient 1, so "
                       f"db_{l}[1, i] = Σ_e dz_{l}[e, i]: the bias gradient is summed across the batch"),
        justification_latex=(rf"\frac{{\partial z_{{{l}}}[e, i]}}{{\partial b_{{{l}}}[1, i]}} = 1 "
                             rf"\Rightarrow db_{{{l}}}[1, i] = \sum_e dz_{{{l}}}[e, i]"),
        shapes=f"({n.label}, {Nl.label}) → (1, {Nl.label}), the shape of b_{l}",
        shapes_latex=rf"({n.latex}, {Nl.latex}) \rightarrow (1, {Nl.latex}) = \text{{shape of }} b_{{{l}}}",
        index_form=f"db_{l}[1, i] = ∂J/∂{names.bias(l, 'i')}",
        index_form_latex=rf"db_{{{l}}}[1, i] = \frac{{\partial J}}{{\partial b^{{{l}}}_{{i}}}}")


def _shared_bias_gradient_step(md, l: int, dz: Mat) -> dict:
    """db_l = (Σ_rows dz_l) 1: one bias added to every entry of z_l, so its gradient is the sum over its
    uses, over the examples (the rows) and over the layer's nodes (the columns)."""
    n, Nl = md.batch, md.width(l)
    db = md._mat(f"db_{l}", Shape(ONE, ONE))
    ones = Ones(Shape(Nl, ONE))
    return dict(
        target=db, of=f"b_{l}", expression=MatMul(RowSum(dz), ones), rule="bias gradient",
        justification=(f"b_{l} is one number added to every entry of z_{l} (every node i of every example e) "
                       f"with coefficient 1, so db_{l} = Σ_e Σ_i dz_{l}[e, i]: the shared bias's gradient is the "
                       f"sum over its uses, Σ_rows over the examples and the product with {ones.text()} over the "
                       f"nodes"),
        justification_latex=(rf"\frac{{\partial z_{{{l}}}[e, i]}}{{\partial b_{{{l}}}}} = 1 \text{{ for every }} "
                             rf"e, i \Rightarrow db_{{{l}}} = \sum_e \sum_i dz_{{{l}}}[e, i]"),
        shapes=(f"({n.label}, {Nl.label}) → (1, {Nl.label}), then (1, {Nl.label})({Nl.label}, 1) → (1, 1), "
                f"the shape of b_{l}"),
        shapes_latex=(rf"({n.latex}, {Nl.latex}) \rightarrow (1, {Nl.latex}),\ (1, {Nl.latex})({Nl.latex}, 1) "
                      rf"\rightarrow (1, 1) = \text{{shape of }} b_{{{l}}}"),
        index_form=f"db_{l} = ∂J/∂{names.shared_bias(l)} = Σ_i ∂J/∂{names.pre_activation(l + 1, 'i')} summed over e",
        index_form_latex=(rf"db_{{{l}}} = \frac{{\partial J}}{{\partial b^{{{l}}}}} = \sum_e \sum_i r\, "
                          rf"\frac{{\partial L_e}}{{\partial z^{{{l + 1}}}_{{i}}}}"))


def previous_layer_step(md, l: int, dz: Mat, da: Mat) -> dict:
    """da_{l-1} = dz_l W_lᵀ: the activations reach the loss only through the next weighted sum."""
    n = md.batch
    Ml, Nl = md.width(l - 1), md.width(l)
    return dict(
        target=da, of=f"a_{l - 1}", expression=MatMul(dz, Transpose(md._W[l])),
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


def activation_step(md, l: int, da: Mat, dzm: Mat) -> dict:
    """dz_l = da_l ⊙ g'(z_l) (or the softmax Jacobian product)."""
    act = md.activations[l - 1]
    rule = ACTIVATION_RULES[act]
    z, a = md._z[l], md._a[l]
    n, Nl = md.batch, md.width(l)
    if act == "softmax":
        ones = Ones(Shape(Nl, Nl))
        expr = Hadamard(a, Sub(da, MatMul(Hadamard(da, a), ones)))
        just = ("chain rule through the softmax, row by row: ∂ŷ_k/∂z_j = ŷ_k(δ_kj − ŷ_j), so "
                "dz[e, j] = ŷ[e, j](da[e, j] − Σ_k da[e, k] ŷ[e, k]); multiplying by the all-ones matrix "
                "puts each row's total in every column")
        jl = (r"\frac{\partial \hat{y}_k}{\partial z_j} = \hat{y}_k(\delta_{kj} - \hat{y}_j) \Rightarrow "
              rf"dz_{{{l}}}[e, j] = \hat{{y}}[e, j]\left(d\hat{{y}}[e, j] - \sum_k d\hat{{y}}[e, k]\, "
              r"\hat{y}[e, k]\right)")
    else:
        deriv = rule.derivative(z, a)
        expr = da if deriv is None else Hadamard(da, deriv)
        gp = "1" if deriv is None else deriv.text()
        g_of_z = z if rule.function is None else Apply(rule.function, z)  # σ(z_2), as the lectures write it
        just = (f"chain rule through the activation, entry by entry: {a.text()} = {g_of_z.text()}, "
                f"∂{a.text()}/∂z_{l} = {gp} ({rule.rule})")
        jl = (rf"{a.latex()} = {ACTIVATIONS[act].latex_name}(z_{{{l}}}) \Rightarrow \frac{{\partial {a.latex()}}}{{\partial z_{{{l}}}}} = "
              rf"{'1' if deriv is None else deriv.latex()} \text{{ (elementwise)}}")
    return dict(
        target=dzm, of=f"z_{l}", expression=expr, rule="through the activation", justification=just,
        justification_latex=jl, lines=(rule.rule_latex,),
        shapes=f"({n.label}, {Nl.label}) ⊙ ({n.label}, {Nl.label}) → ({n.label}, {Nl.label}), the shape of z_{l}",
        shapes_latex=(rf"({n.latex}, {Nl.latex}) \odot ({n.latex}, {Nl.latex}) \rightarrow "
                      rf"({n.latex}, {Nl.latex})"),
        index_form=f"dz_{l}[e, i] = r ∂L_e/∂{names.pre_activation(l + 1, 'i')}",
        index_form_latex=rf"dz_{{{l}}}[e, i] = r\, \frac{{\partial L_e}}{{\partial z^{{{l + 1}}}_{{i}}}}")


def reduction_sentence(md, latex: bool = False) -> str:
    """Where the batch reduction's factor enters: 1/n in the first step for a mean, none for a sum."""
    n = md.n_examples
    if md.reduction == "mean":
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


__all__ = ["ForwardStep", "MatrixStep", "activation_step", "backward_steps", "bias_gradient_step",
           "forward_steps", "output_delta_step", "previous_layer_step", "reduction_sentence",
           "weight_gradient_step"]
