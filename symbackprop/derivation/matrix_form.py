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

With one bias per layer (``[network] biases = "shared"``, the convention of the well-known
step-by-step example) b_l is a (1, 1) matrix, put in every column by a row of ones and so added
to every entry of z_l::

    z_l  = a_{l-1} W_l + b_l 1_{1×N_l}
    db_l = (\sum_{rows} dz_l) 1_{N_l×1}     the shared bias's gradient is the sum over its uses:
                                          over the examples (rows) and the nodes (columns)

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

import re

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
from .matrix_numbers import MatrixNumbers, _to_float  # noqa: F401
from .matrix_steps import (  # noqa: F401  (re-exported)
    ForwardStep,
    MatrixStep,
    _latex_name,
    _shape_product_text,
    backward_steps,
    forward_steps,
)


# ---------------------------------------------------------------------------------------
# The derivation
# ---------------------------------------------------------------------------------------

class MatrixDerivation(MatrixNumbers):
    """The matrix-form derivation of a network spec: forward steps, loss, backward steps.

    Attributes: ``spec`` (or None), ``layers`` (N_0..N_L), ``activations``, ``loss``,
    ``reduction``, ``n_examples`` (None without data), ``depth`` (L, weight layers),
    ``dims``, ``matrices`` ({name: Mat}), ``forward`` and ``backward`` (tuples of steps),
    ``reduction_factor`` (1/n with the symbol n, or 1), ``shared_biases`` (one bias per layer:
    b_l is (1, 1), added to every entry of z_l, and db_l sums dz_l over the examples and the nodes).
    """

    def __init__(self, network, spec=None):
        self.spec = spec
        self.network = network
        self.layers = tuple(network.layers)
        self.activations = tuple(network.activations)
        self.loss = network.loss
        self.reduction = network.reduction
        self.shared_biases = bool(getattr(network, "shared_biases", False))
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
        from ..errors import typo_suggestion

        known = list(self.matrices)
        raise SpecError(f"unknown matrix {name!r}{typo_suggestion(s, known)} (known: {', '.join(known)})")

    def matrix(self, name: str) -> Mat:
        return self.matrices[self.resolve(name)]

    def index_name(self, name: str, row: int, col: int) -> str:
        """The index-notation name of entry [row, col] (1-based) of a matrix, or of the
        quantity a gradient matrix differentiates: W_l[j, i] -> w^{l}_{i,j}, b_l[1, i] -> b^{l}_{i}
        (b_l[1, 1] -> b^{l} when the layer shares one bias),
        z_l[e, i] -> z^{l+1}_{i} (example e), a_l[e, i] -> a^{l+1}_{i}, x[e, j] -> x_{j}, y[e, k] -> y_{k};
        dW_l[j, i] -> w^{l}_{i,j} (dW_l[j, i] = ∂J/∂w^{l}_{i,j}) and so on."""
        name = self.resolve(name)
        base = name[1:] if name.startswith("d") else name
        if base == f"a_{self.depth}":
            base = "yhat"
        if base.startswith("W_"):
            return names.weight(int(base[2:]), col, row)
        if base.startswith("b_"):
            return names.layer_bias(int(base[2:]), col, self.shared_biases)
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

    # -- building the steps (one builder per kind of step, in ``matrix_steps``) -----------
    def _build(self):
        self.forward = forward_steps(self)
        self.backward = backward_steps(self)

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
        compact = name.replace(" ", "")
        m = re.fullmatch(r"b\^\{?(\d+)\}?", compact)
        if m and self.shared_biases and 1 <= int(m.group(1)) <= self.depth:  # a shared bias b^{l}
            return f"db_{int(m.group(1))}"
        parts = names.split_indexed(compact)
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

    def bias_shape(self, l: int) -> tuple:
        """The shape of b_l in numbers: (1, N_l), or (1, 1) when the layer shares one bias."""
        return (1, 1) if self.shared_biases else (1, self.layers[l])

    @property
    def parameter_names(self) -> tuple:
        """``('W_1', 'b_1', ..., 'W_L', 'b_L')``."""
        return tuple(x for l in range(1, self.depth + 1) for x in (f"W_{l}", f"b_{l}"))

    @property
    def parameter_count(self) -> int:
        return parameter_count(self.layers, self.shared_biases)

    def loss_latex(self) -> str:
        """The per-example loss as the lectures write it (index form over the outputs k)."""
        return get_loss(self.loss).latex


MATRIX_MIN_PARAMETERS = 5000
"""Network specs with more parameters than this are derived in matrix form only: per-scalar
derivation is linear in the parameters but a few milliseconds each, far too slow at 100k."""


def parameter_count(layers, shared_biases: bool = False) -> int:
    """Σ_l (N_{l-1} N_l + N_l): every weight and bias of a fully connected network
    (Σ_l (N_{l-1} N_l + 1) with one shared bias per layer)."""
    return sum(layers[k] * layers[k + 1] + (1 if shared_biases else layers[k + 1]) for k in range(len(layers) - 1))


def uses_matrix_form(spec) -> bool:
    """True for network specs with ``notation = "matrix"`` or more than ``MATRIX_MIN_PARAMETERS``
    parameters: the CLI derives, renders, checks and exports these in matrix form."""
    if spec.network is None:
        return False
    shared = bool(getattr(spec.network, "shared_biases", False))  # one bias per layer: b_l is (1, 1)
    return spec.notation == "matrix" or parameter_count(spec.network.layers, shared) > MATRIX_MIN_PARAMETERS


def matrix_derive(source) -> MatrixDerivation:
    """The matrix-form derivation of a network: from a ``Spec``, a ``Derivation`` (its spec),
    a ``NetworkSpec`` (no numbers) or a ``MatrixDerivation`` (returned as is).

    Builds no per-scalar graph: the cost is one step per layer, whatever the widths."""
    if isinstance(source, MatrixDerivation):
        return source
    from ..spec.load import NetworkSpec, Spec

    spec = None
    if isinstance(source, NetworkSpec):
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
    bias_note = ("b_l[1, 1] = b^{l}, one bias shared by every node of the layer" if md.shared_biases
                 else "b_l[1, i] = b^{l}_{i}")
    lines.append(f"index notation: W_l[j, i] = w^{{l}}_{{i,j}} (row = input j, column = neuron i), {bias_note}; "
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
            lines.append(f"  {s.target.text()} = [{rows}]" + _shared_bias_sum(md, s, env, decimals))
    return "\n".join(lines) + "\n"


def _shared_bias_sum(md: MatrixDerivation, step, env, decimals: int) -> str:
    """For a shared bias's gradient db_l with a few uses: ``, the sum over its uses: 0.1385 + (−0.0381)``."""
    name = step.target.name
    if not (md.shared_biases and name.startswith("db_")):
        return ""
    uses = np.asarray(env[f"dz_{name[3:]}"], dtype=float).ravel()
    if uses.size > 12:
        return f", the sum over its {uses.size} uses (every entry of dz_{name[3:]})"
    terms = [_fmt(u, decimals) for u in uses]
    terms = [f"(−{t[1:]})" if t.startswith("-") else t for t in terms]
    return f", the sum over its uses (the entries of dz_{name[3:]}): " + " + ".join(terms)


def _fmt(x: float, decimals: int) -> str:
    """A matrix entry rounded to ``decimals``, by the rule of every face (docs/cli.md): a nonzero value
    that would show as 0 keeps two significant digits (0.00031, never 0.00 or 0)."""
    x = float(x)
    s = f"{x:.{decimals}f}"
    if float(s) == 0 and x != 0 and np.isfinite(x):
        s = np.format_float_positional(x, precision=2, unique=False, fractional=False, trim="-")
    if s.startswith("-") and float(s) == 0:
        s = s[1:]
    return s


__all__ = [
    "ACTIVATION_RULES", "Add", "Apply", "Dim", "FUSED_RULES", "ForwardStep", "Hadamard", "HadamardDiv", "LOSS_RULES",
    "Mat", "MatMul", "MatrixDerivation", "MatrixExpr", "MatrixStep", "N_SYMBOL", "Neg", "Ones", "RowSum", "Scalar",
    "Scale", "Shape", "ShapeError", "Sub", "Transpose", "evaluate", "exact_array", "matrix_derivation_text",
    "matrix_derive", "to_sympy", "walk",
]

