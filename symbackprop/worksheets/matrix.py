r"""Worksheets and answer keys in the slides' matrix notation (``notation = "matrix"`` specs).

This module is the matrix *view* (:class:`MatrixView`) of the one worksheet builder
(:mod:`~symbackprop.worksheets.builder`): the setup, the exercises, the code section and the
variants here; the numbers as LaTeX in :mod:`~symbackprop.worksheets.matrix_numbers`, the
answers in :mod:`~symbackprop.worksheets.matrix_key`.

The slides (001, "Training a simple neural network") push the whole batch through the network
at once, one row per example::

    z_1 = x W_1 + b_1,   a_1 = \sigma(z_1),   z_2 = a_1 W_2 + b_2,   \hat{y} = \sigma(z_2)

and backpropagate in seven matrix steps (for two layers)::

    dz_2 = \hat{y} - y (per example; with a mean the cost J = (1/n) \sum_e L_e adds 1/n),
    dW_2 = a_1^T dz_2,  db_2 = \sum_rows dz_2,  da_1 = dz_2 W_2^T,
    dz_1 = da_1 \odot a_1 (1 - a_1),  dW_1 = x^T dz_1,  db_1 = \sum_rows dz_1.

A matrix worksheet holds, for the spec's network and numbers (or a randomized variant):

1. the slides' "finding the shape of weights and biases": the shape of every matrix
   (x is (n, N_0); M inputs to N neurons give W of shape (M, N) and b of shape (1, N));
2. the mapping to the lecture notes' index notation, W_l[j, i] = w^{l}_{i,j};
3. the forward pass with every matrix in numbers, and the cost J;
4. the backward steps (:attr:`MatrixDerivation.backward`), each a formula to find, its
   shapes to check and its numbers to compute;
5. one gradient-descent update of the last weight matrix, W_L <- W_L - \alpha dW_L;

a TikZ drawing of the network with the matrices' names, the entry W_l[j, i] on each arrow and
(in the key) every shape and dW_l[j, i]; and "from math to code": the trainer's functions rendered
by latexify-py and each step as one line of NumPy.

Every formula is the MatrixDerivation's own expression tree, and every number is computed
exactly from it (:meth:`MatrixDerivation.environment` with ``exact=True``), rounded only for
display. Variants (``--variants N --seed S``) keep the network and draw a small batch
(``[worksheet].batch`` examples, default 3) of whole-number inputs in [-2, 2], first-layer
weights in {-2, -1, 1, 2} and biases in {-1, 0, 1} (so z_1 is a whole number in [-4, 4] and
sigma(z_1) comes from the printed table), later weights in {+-0.5, +-1, +-1.5} and biases in
{-0.5, 0, 0.5}, and 0/1 targets (one-hot rows for cross-entropy); all distinct, reproducible from
the seed, none with a weight gradient that is trivially 0.
"""
from __future__ import annotations

import dataclasses
import os
import random

import numpy as np
import sympy

from ..errors import SpecError, SymbackpropError
from ..ops.activations import numpy_code as registry_numpy_code
from ..derivation.matrix_form import (
    N_SYMBOL,
    Add,
    Apply,
    Hadamard,
    HadamardDiv,
    Mat,
    MatMul,
    MatrixDerivation,
    Neg,
    Ones,
    RowSum,
    Scalar,
    Scale,
    Sub,
    Transpose,
    matrix_derive,
)
from ..render.latex import tex_escape
from ..render.matrix_latex import gradient_symbol
from ..render.tikz import matrix_network_tikz
from .builder import assemble, check_count_seed, code_functions, code_section, search_variants, \
    value_tables
from .choices import answer_space, check_space, network_name, rounding_sentence, variant_title
from .layout import plain_parens
from .matrix_key import MatrixKey
from .matrix_numbers import MatrixNumbers, _exact

MATRIX_WORKSHEET_KEYS = ("batch",)
DEFAULT_BATCH = 3          # examples in a variant: few, and unlike every width of the slides' 2-2-1
MAX_BATCH = 8
MAX_ROWS = 12              # examples shown as matrix rows in a worksheet of the spec's own numbers
MAX_WIDTH = 6              # neurons per layer a worksheet shows as matrix columns
MAX_DEPTH = 4
MAX_VARIANTS = 50
MAX_ATTEMPTS = 4000
TABLE_LIMIT = 4            # |z_1| <= 4: sigma(z_1) is in the printed table

INPUT_CHOICES = (-2, -1, 0, 1, 2)
FIRST_WEIGHTS = (-2, -1, 1, 2)
FIRST_BIASES = (-1, 0, 1)
LATER_WEIGHTS = tuple(sympy.Rational(v) for v in ("-3/2", "-1", "-1/2", "1/2", "1", "3/2"))
LATER_BIASES = tuple(sympy.Rational(v) for v in ("-1/2", "0", "1/2"))
REGRESSION_TARGETS = (-1, 0, 1, 2)

# ---------------------------------------------------------------------------------------------
# options, sizes


def is_matrix_spec(spec) -> bool:
    """True when the worksheet of ``spec`` is written in matrix notation: a network spec with
    ``notation = "matrix"`` (or one too big for per-scalar derivation; it is then refused by
    :func:`check_size`)."""
    from ..derivation.matrix_form import uses_matrix_form

    return spec is not None and spec.network is not None and uses_matrix_form(spec)


def matrix_options(spec) -> dict:
    """The validated ``[worksheet]`` table of a matrix spec: ``batch`` (examples per variant)."""
    raw = dict(spec.worksheet)
    src = spec.source or "<spec>"
    for key in raw:
        if key not in MATRIX_WORKSHEET_KEYS:
            raise SpecError(f"{src}: [worksheet].{key}: unknown key for a matrix-notation worksheet "
                            f"(allowed: {', '.join(MATRIX_WORKSHEET_KEYS)})")
    out = {"batch": DEFAULT_BATCH}
    if "batch" in raw:
        b = raw["batch"]
        if isinstance(b, bool) or not isinstance(b, int) or not 1 <= b <= MAX_BATCH:
            raise SpecError(f"{src}: [worksheet].batch: expected a whole number from 1 to {MAX_BATCH} "
                            "(the examples in each variant)")
        out["batch"] = b
    return out


def check_size(spec) -> None:
    """A matrix worksheet shows every matrix: refuse networks and batches too big to print."""
    src = spec.source or "<spec>"
    layers = spec.network.layers
    if len(layers) - 1 > MAX_DEPTH or max(layers) > MAX_WIDTH:
        raise SpecError(f"{src}: [network].layers = {list(layers)}: a worksheet in matrix notation shows every "
                        f"matrix, so it allows at most {MAX_DEPTH} weight layers of at most {MAX_WIDTH} neurons; for this "
                        "network use `symbackprop derive --matrix` (the formulas without numbers) or "
                        "`derive --wrt NAME` for one gradient")
    if not spec.x:
        raise SpecError(f"{src}: [data]: a worksheet needs numbers (x and y rows)")
    if len(spec.x) > MAX_ROWS:
        raise SpecError(f"{src}: [data] has {len(spec.x)} examples: a worksheet in matrix notation shows one row "
                        f"per example, at most {MAX_ROWS}; use --variants (each has [worksheet].batch examples)")


# ---------------------------------------------------------------------------------------------
# numbers: the spec's, or a variant (a copy of the spec with other numbers)


def _spec_from_matrices(spec, mats, X, Y):
    """A copy of ``spec`` whose parameters are the slides' matrices ``[(W_l, b_l)]``
    (W_l[j, i] = w^{l}_{i,j}) and whose data are the rows of X and Y."""
    weights = tuple(tuple(tuple(W[j][i] for j in range(len(W))) for i in range(len(W[0]))) for W, _ in mats)
    # a shared bias b_l is (1, 1); the spec keeps it once per node, all equal
    biases = tuple(tuple(b[0]) * (len(W[0]) if len(b[0]) == 1 else 1) for W, b in mats)
    return dataclasses.replace(spec, weights=weights, biases=biases,
                               x=tuple(tuple(r) for r in X), y=tuple(tuple(r) for r in Y))


def _numbers_key(spec) -> tuple:
    return (spec.weights, spec.biases, spec.x, spec.y)


def _draw(rng: random.Random, spec, batch: int):
    layers = spec.network.layers
    I = sympy.Integer
    mats = []
    for l in range(1, len(layers)):
        M, N = layers[l - 1], layers[l]
        wc, bc = (FIRST_WEIGHTS, FIRST_BIASES) if l == 1 else (LATER_WEIGHTS, LATER_BIASES)
        W = [[_exact(rng.choice(wc)) for _ in range(N)] for _ in range(M)]
        b = [[_exact(rng.choice(bc)) for _ in range(1 if spec.network.shared_biases else N)]]  # b_l's shape
        mats.append((W, b))
    X = [[I(rng.choice(INPUT_CHOICES)) for _ in range(layers[0])] for _ in range(batch)]
    K = layers[-1]
    loss = spec.network.loss
    if loss == "cross_entropy":
        Y = []
        for _ in range(batch):
            k = rng.randrange(K)
            Y.append([I(1) if c == k else I(0) for c in range(K)])
    elif loss == "bce":
        Y = [[I(rng.choice((0, 1))) for _ in range(K)] for _ in range(batch)]
    else:
        Y = [[I(rng.choice(REGRESSION_TARGETS)) for _ in range(K)] for _ in range(batch)]
    return mats, X, Y


def _plausible(spec, mats, X, Y) -> bool:
    """Cheap checks on the draw before any evaluation: distinct, non-zero input rows, no input
    column all zero, both classes present for BCE, and z_1 = x W_1 + b_1 inside the sigma table."""
    rows = [tuple(r) for r in X]
    if len(set(rows)) != len(rows) or any(all(v == 0 for v in r) for r in rows):
        return False
    if len(rows) > 1 and any(all(r[j] == 0 for r in rows) for j in range(len(rows[0]))):
        return False
    if spec.network.loss == "bce" and len(rows) > 1:
        for k in range(len(Y[0])):
            if len({r[k] for r in Y}) < 2:
                return False
    if spec.network.activations[0] in ("sigmoid", "tanh"):
        W, b = mats[0]
        Xi = np.array([[int(v) for v in r] for r in X])
        Wi = np.array([[int(v) for v in r] for r in W])
        z = Xi @ Wi + np.array([int(v) for v in b[0]])
        if np.any(np.abs(z) > TABLE_LIMIT):
            return False
    return True


def _acceptable(md: MatrixDerivation, mats, X, Y) -> bool:
    """Numbers a student can work with (evaluated in floats): every matrix finite, the loss
    defined, no ReLU unit at its kink z = 0, and no weight gradient trivially 0 (for smooth
    activations no entry of any dW_l is 0; with ReLU-like ones, dW_L has no 0 entry and no
    dW_l is all 0)."""
    fm = [(np.array(W, dtype=float), np.array(b, dtype=float)) for W, b in mats]
    Xf, Yf = np.array(X, dtype=float), np.array(Y, dtype=float)
    with np.errstate(all="ignore"):
        try:
            env = md.environment(fm, Xf, Yf)
        except (SymbackpropError, ZeroDivisionError, ValueError, FloatingPointError):
            return False
    for v in env.values():
        if isinstance(v, np.ndarray) and not np.all(np.isfinite(v)):
            return False
    yhat = env["yhat"]
    if md.loss == "bce" and not np.all((yhat > 1e-9) & (yhat < 1 - 1e-9)):
        return False
    if md.loss == "cross_entropy" and not np.all(yhat[Yf != 0] > 1e-9):
        return False
    kinked = False
    for l, act in enumerate(md.activations, start=1):
        if act in ("relu", "leaky_relu"):
            kinked = True
            if np.any(np.abs(env[f"z_{l}"]) < 1e-12):
                return False
    for l in range(1, md.depth + 1):
        g = np.abs(env[f"dW_{l}"])
        if (not kinked or l == md.depth) and np.any(g < 1e-9):
            return False
        if np.all(g < 1e-9):
            return False
    return True


def variant_specs(spec, count: int, seed: int = 0) -> list:
    """``count`` copies of ``spec`` with distinct hand-computable numbers, reproducible from ``seed``
    (``random.Random(seed)``); see the module's docstring for the choices."""
    check_count_seed(count, seed, MAX_VARIANTS)
    check_size(spec)
    batch = matrix_options(spec)["batch"]
    rng = random.Random(seed)
    template = []   # the MatrixDerivation of the first candidate: every variant has the same formulas

    def draw():
        mats, X, Y = _draw(rng, spec, batch)
        if not _plausible(spec, mats, X, Y):
            return None
        return _spec_from_matrices(spec, mats, X, Y), mats, X, Y

    def acceptable(cand):
        if not template:
            template.append(matrix_derive(cand[0]))
        return _acceptable(template[0], *cand[1:])

    found = search_variants(draw, lambda cand: _numbers_key(cand[0]), acceptable, {_numbers_key(spec)}, count,
                            MAX_ATTEMPTS, spec.source or '<spec>')
    return [cand[0] for cand in found]


class MatrixView(MatrixKey):
    """The slides' matrix notation's pieces of a worksheet (see
    :mod:`~symbackprop.worksheets.builder`): the setup, the exercises and the code section here,
    the numbers in :class:`MatrixNumbers`, the answers in :class:`MatrixKey`."""

    def __init__(self, md: MatrixDerivation, decimals: int, wrt=None, *, title: str = "", source=None,
                 numbers=None, plain_title: str = ""):
        super().__init__(md, decimals, wrt)
        self.title, self.source, self.numbers = title, source, numbers
        self.plain_title = plain_title   # as the user wrote it: the PDF's title metadata

    def setup(self) -> str:
        md = self.md
        widths = ", ".join(str(w) for w in md.layers)
        acts = ", ".join(tex_escape(a) for a in dict.fromkeys(md.activations))
        forward = r",\quad ".join(f"{s.target.latex()} = {s.expression.latex()}" for s in md.forward)
        j, i = (1, 2) if md.layers[1] >= 2 else (1, 1)
        wname = md.index_name("W_1", j, i)
        out = [
            f"The network has layers of widths ${widths}$ (input first) and the activation{'s' if len(set(md.activations)) > 1 else ''} "
            f"{acts}. The loss per example and the cost, "
            f"{'the mean' if md.reduction == 'mean' else 'the sum'} over the $n = {self.n}$ examples of the batch, are",
            rf"\[ {self.loss_formula()}, \qquad {self.cost_formula()}. \]",
            "In the slides' matrix notation the whole batch goes through at once, one row per example:",
            rf"\[ {forward} \]",
            "The lecture notes' index notation is the transpose: $W_l[j, i] = w^{l}_{i,j}$ (row $j$ = input node "
            "$j$, column $i$ = neuron $i$) and "
            + ("$b_l[1, 1] = b^{l}$, the layer's one bias" if md.shared_biases else "$b_l[1, i] = b^{l}_{i}$")
            + "; for example "
            f"$W_{{1}}[{j}, {i}] = {wname}$.",
            f"The batch ($n = {self.n}$ examples, one per row) and the targets:",
            rf"\[ x = {self.named('x')[0]}, \qquad y = {self.named('y')[0]} \]",
            "The parameters (rows of $W_l$: inputs; columns: neurons) and the learning rate:",
        ]
        for l in range(1, self.L + 1):
            out.append(rf"\[ {self.tex(f'W_{l}')} = {self.named(f'W_{l}')[0]}, \qquad "
                       rf"{self.tex(f'b_{l}')} = {self.named(f'b_{l}')[0]} \]")
        out.append(rf"\[ \alpha = {self.entry(self.lr, True)[0]} \]")
        return "\n".join(out) + "\n"

    def step_question(self, s) -> str:
        t = f"${s.target.latex()} = {gradient_symbol(s)}$"
        of = self.tex(s.of) if s.of in self.md.matrices else s.of
        if s.rule.startswith("loss and output activation"):
            mean = (r" Then compute it for the batch, with the $\frac{1}{n}$ of the mean."
                    if self.md.reduction == "mean" else " Then compute it for the batch.")
            return (f"{t}: show with the chain rule through the loss and the output activation that, per example, "
                    rf"$\partial L/\partial {of} = {s.per_example.latex()}$ (name the rules you use).{mean}")
        if s.rule == "derivative of the loss":
            return f"{t}: differentiate the loss with respect to the prediction, entry by entry" + (
                r", with the $\frac{1}{n}$ of the mean." if self.md.reduction == "mean" else ".")
        if s.rule == "weight gradient":
            return f"{t}: a product of matrices you already have; its shape must be that of ${of}$."
        if s.rule == "bias gradient":
            if self.md.shared_biases:
                return (f"{t}: ${of}$, one number, is added to every entry (every example, every neuron): "
                        "its gradient is the sum over all of them.")
            return f"{t}: ${of}$ is added to every row, one entry per neuron."
        if s.rule == "gradient into the previous layer":
            return f"{t}: ${of}$ reaches the loss only through the next weighted sum."
        if s.rule == "through the activation":
            act = self.md.activations[int(s.of.split("_")[1]) - 1]
            hint = r" (use $\sigma'(z) = a(1 - a)$)" if act == "sigmoid" else ""
            return f"{t}: the chain rule through the activation, entry by entry{hint}."
        return f"{t}."

    def exercises(self, space: str = "none") -> str:
        md = self.md
        j, i, wname = self.index_question()
        fwd = ", ".join(f"${s.target.latex()}$" for s in md.forward)
        steps = "\n".join(rf"\item {self.step_question(s)}{answer_space(space, 4)}" for s in self.steps)
        n_steps = len(self.steps)
        seven = " the slides' seven steps" if n_steps == 7 and self.L == 2 else f" {n_steps} steps"
        last = f"W_{self.L}"
        items = [
            r"\textbf{Shapes} (the slides' ``finding the shape of weights and biases''). The batch $x$ has shape "
            rf"$(n, N_0) = {self.size('x')[1:-1]}$. In a matrix product the inner dimensions must match, "
            r"$(n, \text{inner})(\text{inner}, m) \rightarrow (n, m)$, and a bias is added to every row. "
            "Fill in the shape of every matrix and of its gradient:\n" + self.shapes_table(key=False),
            rf"\textbf{{Index notation.}} Which entry of $W_{{1}}$ is the lecture notes' ${wname}$, and what is its "
            rf"value? Which entry of $dW_{{1}}$ is $\partial J/\partial {wname}$?" + answer_space(space, 2),
            rf"\textbf{{Forward pass.}} Compute {fwd} as matrices (one row per example), the loss $L_e$ of each "
            rf"example and the cost ${self.cost_formula()}$. " + rounding_sentence(self.decimals, matrix=True)
            + answer_space(space, 8),
            rf"\textbf{{Backward pass:}}{seven}. For each gradient write its formula with matrices you already have, "
            "check its shape (a gradient has the shape of the matrix it differentiates) and compute it.\n"
            rf"\begin{{enumerate}}" + "\n" + steps + "\n" + r"\end{enumerate}",
            rf"\textbf{{One update.}} With the learning rate $\alpha$, do one step of gradient descent on "
            rf"${self.tex(last)}$: ${self.tex(last)} \leftarrow {self.tex(last)} - \alpha\, d{self.tex(last)}$." + answer_space(space, 3),
        ]
        return ("\\subsection*{Exercises}\n\\begin{enumerate}\n" + "\n".join(f"\\item {it}" for it in items)
                + "\n\\end{enumerate}\n")

    # -- from math to code ---------------------------------------------------------------------
    def code(self, key: bool) -> str:
        """The trainer's functions (latexify-py) and a table of the formulas as NumPy lines: the
        forward pass on the worksheet, and every backward step too in the key (on the worksheet
        they would give the answers away)."""
        md = self.md
        rows = []
        for s in md.forward:
            rows.append(rf"& ${s.target.latex()} = {s.expression.latex()}$ & \texttt{{{tex_escape(numpy_line(s))}}} \\")
        for s in (self.steps if key else ()):
            rows.append(rf"{s.number} & ${s.target.latex()} = {s.expression.latex()}$ & "
                        rf"\texttt{{{tex_escape(numpy_line(s))}}} \\")
        table = ("\\begin{center}\n\\small\n\\begin{tabular}{rll}\n\\toprule\nstep & formula & NumPy \\\\\n\\midrule\n"
                 + "\n".join(rows) + "\n\\bottomrule\n\\end{tabular}\n\\end{center}\n")
        return code_section(code_functions(md.activations, md.loss, md.reduction),
                            "In NumPy each matrix formula is one line (\\texttt{@} is the matrix product, \\texttt{*} "
                            "the elementwise product, \\texttt{.T} the transpose"
                            + (", \\texttt{r = 1 / n} with \\texttt{n = x.shape[0]}" if md.reduction == "mean" and key
                               else "")
                            + ("):\n" if key else "); the backward steps are in the answer key:\n") + table)

    # -- the view's other pieces ---------------------------------------------------------------
    def drawing(self, key: bool) -> str:
        return matrix_network_tikz(self.md, self.env, self.decimals) if key else matrix_network_tikz(self.md)

    def caption(self, key: bool) -> str:
        if key:
            return ("In the key the drawing shows every shape and, in red below it, the gradients "
                    "$dW_l = \\partial J/\\partial W_l$ (entry $[j, i]$ for the arrow from input $j$ to neuron $i$).\n")
        return ("The drawing: above each column the matrices of that layer, between the columns the weight matrix "
                "and the bias; the arrow from input $j$ to neuron $i$ carries $W_l[j, i]$.\n")

    def table(self) -> str:
        return value_tables(self.md.activations, self.decimals)

    @staticmethod
    def fit(body: str) -> str:
        # sigma(z_1) with parentheses of the text's size; tables' rows apart (the matrix displays fit as they are)
        return plain_parens(body).replace("\\begin{tabular}", "\\renewcommand{\\arraystretch}{1.3}\\begin{tabular}")


# ---------------------------------------------------------------------------------------------
# NumPy lines (the "from math to code" table)


_NUMPY_FUNCTIONS = {"sigmoid": "sigmoid({})", "tanh": "np.tanh({})", "relu": "relu({})", "leaky_relu": "leaky_relu({})",
                    "softplus": "softplus({})", "softmax": "softmax({})", "step": "np.where({} > 0, 1.0, 0.0)",
                    "leaky_step": "np.where({} > 0, 1.0, 0.01)"}


def numpy_code(e) -> str:
    """A matrix expression as one NumPy expression (``a_1.T @ dz_2``); the trainer's function
    names for the activations, ``r`` for the reduction factor 1/n, ``n`` for the batch size."""
    def atom(x):
        t = numpy_code(x)
        return t if isinstance(x, (Mat, Apply, Scalar, Ones, RowSum)) or (
            isinstance(x, Transpose) and isinstance(x.arg, Mat)) else f"({t})"

    if isinstance(e, Mat):
        return e.name
    if isinstance(e, Scalar):
        return str(e.value)
    if isinstance(e, Ones):
        r, c = e.mshape.sizes
        return f"np.ones(({r}, {c}))"
    if isinstance(e, Transpose):
        return f"{atom(e.arg)}.T"
    if isinstance(e, MatMul):
        if isinstance(e.left, RowSum) and isinstance(e.right, Ones) and e.right.mshape.sizes[1] == 1:
            # a shared bias's gradient: the row totals summed over the nodes, the sum of every entry
            return f"np.sum({numpy_code(e.left.arg)}, keepdims=True)"
        return f"{atom(e.left)} @ {atom(e.right)}"
    if isinstance(e, Hadamard):
        return f"{atom(e.left)} * {atom(e.right)}"
    if isinstance(e, HadamardDiv):
        return f"{atom(e.left)} / {atom(e.right)}"
    if isinstance(e, Add):
        return f"{numpy_code(e.left)} + {numpy_code(e.right)}"
    if isinstance(e, Sub):
        return f"{numpy_code(e.left)} - {atom(e.right)}"
    if isinstance(e, Neg):
        return f"-{atom(e.arg)}"
    if isinstance(e, Scale):
        f = _exact(e.factor)
        ft = "r" if f == 1 / N_SYMBOL else ("r * " + str(f * N_SYMBOL) if (f * N_SYMBOL).is_Number else str(f))
        return f"{ft} * {atom(e.arg)}"
    if isinstance(e, RowSum):
        return f"np.sum({numpy_code(e.arg)}, axis=0, keepdims=True)"
    if isinstance(e, Apply):
        template = _NUMPY_FUNCTIONS.get(e.function)
        if template is None:  # any other registry function: the registry's one NumPy form
            return registry_numpy_code(e.function, numpy_code(e.arg)).replace("numpy.", "np.")
        return template.format(numpy_code(e.arg))
    raise SymbackpropError(f"no NumPy form for {type(e).__name__}")


def numpy_line(step) -> str:
    """``dW_2 = a_1.T @ dz_2`` for a forward or backward step."""
    return f"{step.target.name} = {numpy_code(step.expression)}"


# ---------------------------------------------------------------------------------------------
# the documents


def matrix_worksheet(spec, numbers=None, variant: int | None = None, decimals: int = 2, fragment: bool = False,
                     wrt=None, *, code: bool | None = None, space: str = "ruled"):
    """The exercises and the answer key in matrix notation for ``spec`` (a Spec, or a Derivation
    or MatrixDerivation of one) at ``numbers`` (a variant from :func:`variant_specs`; default the
    spec's own numbers). Returns a :class:`symbackprop.worksheets.builder.Worksheet` whose ``numbers`` is
    the Spec the sheet was computed from."""
    check_space(space)
    base = _as_spec(spec)
    matrix_options(base)
    numbers = base if numbers is None else _as_spec(numbers)
    check_size(numbers)
    md = matrix_derive(numbers)
    title = tex_escape(base.title) if base.title else tex_escape(os.path.basename(base.source or "worksheet"))
    title = variant_title(title, variant, network_name(md.layers, md.activations, md.loss))
    view = MatrixView(md, decimals, wrt, title=title, source=base.source, numbers=numbers,
                      plain_title=base.title or os.path.basename(base.source or "worksheet"))
    return assemble(view, fragment=fragment, code=code, space=space, variant=variant)


def _as_spec(source):
    from ..spec.load import Spec

    if isinstance(source, Spec):
        return source
    if isinstance(source, MatrixDerivation):
        return source.spec
    spec = getattr(source, "spec", None)
    if isinstance(spec, Spec):
        return spec
    raise SpecError(f"a matrix worksheet needs a network spec, not {type(source).__name__}")


__all__ = ["matrix_worksheet", "variant_specs", "matrix_options", "check_size", "is_matrix_spec", "numpy_code",
           "numpy_line", "MATRIX_WORKSHEET_KEYS", "MatrixView", "MatrixNumbers", "MatrixKey"]
