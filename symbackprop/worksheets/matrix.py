r"""Worksheets and answer keys in the slides' matrix notation (``notation = "matrix"`` specs).

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
import re

import numpy as np
import sympy

from ..errors import SpecError, SymbackpropError
from ..ops.activations import numpy_code as registry_numpy_code
from ..ops.losses import get_loss
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
    evaluate,
    matrix_derive,
)
from ..render.matrix_latex import STEP_PROSE, gradient_symbol
from ..render.latex import format_number, preamble, tex_escape
from ..render.tikz import matrix_network_tikz, tikz_packages

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

_GIVEN = re.compile(r"^(x|y|W_\d+|b_\d+)$")


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
    biases = tuple(tuple(b[0]) for _, b in mats)
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
        b = [[_exact(rng.choice(bc)) for _ in range(N)]]
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


def _exact(v):
    return v if isinstance(v, sympy.Basic) else sympy.Integer(v)


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
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_VARIANTS:
        raise SpecError(f"--variants {count!r}: allowed a whole number from 1 to {MAX_VARIANTS}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise SpecError(f"--seed {seed!r}: allowed a whole number from 0 to {2**32 - 1}")
    check_size(spec)
    batch = matrix_options(spec)["batch"]
    rng = random.Random(seed)
    seen = {_numbers_key(spec)}
    template = None
    out = []
    for _ in range(MAX_ATTEMPTS):
        mats, X, Y = _draw(rng, spec, batch)
        if not _plausible(spec, mats, X, Y):
            continue
        cand = _spec_from_matrices(spec, mats, X, Y)
        k = _numbers_key(cand)
        if k in seen:
            continue
        seen.add(k)
        if template is None:
            template = matrix_derive(cand)
        if _acceptable(template, mats, X, Y):
            out.append(cand)
            if len(out) == count:
                return out
    raise SpecError(f"{spec.source or '<spec>'}: found only {len(out)} distinct hand-computable variants in "
                    f"{MAX_ATTEMPTS} draws; ask for fewer")


# ---------------------------------------------------------------------------------------------
# numbers as LaTeX


def _terminating_digits(q: int):
    a = b = 0
    while q % 2 == 0:
        q //= 2
        a += 1
    while q % 5 == 0:
        q //= 5
        b += 1
    return max(a, b) if q == 1 else None


def _significant(text: str) -> int:
    """Significant digits shown in a plain decimal ('0.01' -> 1, '0.012' -> 2, '1.00' -> 3)."""
    digits = text.lstrip("-").replace(".", "").lstrip("0")
    return len(digits)


DISPLAY_CHARS = 72   # a chain of matrices wider than this (in digits, estimated) is broken after its formula


def _display_width(tex: str) -> float:
    """A rough width of a display in digit widths: each bmatrix by its widest cell per column."""
    total = 0.0
    for m in re.finditer(r"\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}", tex):
        rows = [r.split("&") for r in m.group(1).split(r"\\")]
        cols = max(len(r) for r in rows)
        for c in range(cols):
            cells = [re.sub(r"\\times 10\^\{(-?\d+)\}", r"e\1", r[c]).strip() for r in rows if c < len(r)]
            total += max(len(x) for x in cells) + 1.5
        total += 2
    rest = re.sub(r"\\begin\{bmatrix\}.*?\\end\{bmatrix\}", "", tex)
    rest = re.sub(r"\\(left|right|quad|qquad|,)", "", rest)
    return total + len(rest) / 2.2


def _is_given(e) -> bool:
    """A matrix (or its transpose) the sheet gives: x, y, W_l, b_l (shown exactly)."""
    if isinstance(e, Transpose):
        e = e.arg
    return isinstance(e, Mat) and bool(_GIVEN.match(e.name))


def _rel(exact: bool) -> str:
    return "=" if exact else r"\approx"


def _paren(text: str) -> str:
    return f"({text})" if text.startswith("-") or "\\times" in text else text


class _Sheet:
    """The pieces of one matrix worksheet: a MatrixDerivation with numbers (exact) and the
    LaTeX of each section. Every number is read from ``env``, the derivation's own matrices."""

    def __init__(self, md: MatrixDerivation, decimals: int, wrt=None):
        self.md = md
        self.decimals = decimals
        self.env = md.environment(exact=True)
        self.steps = md.steps_for(wrt) if wrt else md.backward
        self.L = md.depth
        self.n = md.n_examples
        self.lr = md.spec.training.learning_rate
        self.loss = get_loss(md.loss)

    # -- numbers -----------------------------------------------------------------------------
    def entry(self, v, given: bool = False, decimals: int | None = None) -> tuple:
        """(text, exact) of one number: a given shown exactly when it terminates within 12 digits."""
        dec = self.decimals if decimals is None else decimals
        if given and getattr(v, "is_Rational", False):
            k = _terminating_digits(int(v.q))
            if k is not None and k <= 12:
                return format_number(v, max(dec, k))
        text, exact = format_number(v, dec)
        places = dec
        # small computed numbers keep 2 significant digits (0.0123 -> 0.012, not 0.01), so that the
        # worked sums add up to their rounded results
        if not exact and "\\times" not in text and _significant(text) == 0:
            return "0", False  # 0 to 40 digits (e.g. softmax of equal logits, which SymPy leaves unsimplified)
        while not exact and places < dec + 4 and "\\times" not in text and _significant(text) < 2:
            places += 1
            text, exact = format_number(v, places)
        return text, exact

    def bm(self, values, given: bool = False, decimals: int | None = None) -> tuple:
        """(bmatrix, all entries exact) of a 2-D array."""
        rows, exact = [], True
        for row in np.asarray(values, dtype=object):
            cells = []
            for v in row:
                t, e = self.entry(v, given, decimals)
                cells.append(t)
                exact = exact and e
            rows.append(" & ".join(cells))
        return r"\begin{bmatrix}" + r" \\ ".join(rows) + r"\end{bmatrix}", exact

    def named(self, name: str) -> tuple:
        return self.bm(self.env[name], given=bool(_GIVEN.match(name)))

    def tex(self, name: str) -> str:
        return self.md.matrices[name].latex()

    def value(self, expr):
        if isinstance(expr, Mat):
            return self.env[expr.name]
        return evaluate(expr, self.env, exact=True)

    def factor(self, f):
        f = _exact(f)
        return f.xreplace({N_SYMBOL: sympy.Integer(self.n)}) if f.free_symbols else f

    def subst(self, e) -> tuple:
        """The expression with every matrix replaced by its numbers: (LaTeX, exact). A composite
        factor of an elementwise product (a_1 \\odot (1 - a_1)) is shown as one matrix (see
        :meth:`aux_lines`)."""
        if isinstance(e, Mat):
            return self.named(e.name)
        if isinstance(e, Transpose) and isinstance(e.arg, Mat):
            return self.bm(self.env[e.arg.name].T, given=bool(_GIVEN.match(e.arg.name)))
        if isinstance(e, Scalar):
            return sympy.latex(self.factor(e.value)), True
        if isinstance(e, MatMul):
            (a, ea), (b, eb) = self.subst(e.left), self.subst(e.right)
            return f"{a} {b}", ea and eb
        if isinstance(e, (Add, Sub)):
            (a, ea), (b, eb) = self.subst(e.left), self.subst(e.right)
            return f"{a} {'+' if isinstance(e, Add) else '-'} {b}", ea and eb
        if isinstance(e, Hadamard):
            (a, ea) = self.subst(e.left)
            (b, eb) = self.subst(e.right) if isinstance(e.right, Mat) else self.bm(self.value(e.right))
            return rf"{a} \odot {b}", ea and eb
        if isinstance(e, Scale):
            (a, ea) = self.subst(e.arg)
            if not isinstance(e.arg, (Mat, Transpose)):
                a = rf"\left({a}\right)"
            return f"{sympy.latex(self.factor(e.factor))} {a}", ea
        if isinstance(e, RowSum):
            (a, ea) = self.subst(e.arg)
            return rf"\sum_{{\text{{rows}}}} {a}", ea
        if isinstance(e, Apply):
            (a, ea) = self.subst(e.arg)
            name = e.latex().split(r"\left(")[0]
            return rf"{name}\left({a}\right)", False
        return self.bm(self.value(e))

    def aux_lines(self, e) -> list:
        """'a_1 \\odot (1 - a_1) = [...]' for each composite factor of an elementwise product
        (the factor :meth:`subst` shows as one matrix)."""
        out = []
        children = list(getattr(e, "children", ()))
        if isinstance(e, Hadamard) and not isinstance(e.right, Mat):
            mat, exact = self.bm(self.value(e.right))
            out.append(rf"{e.right.latex()} {_rel(exact)} {mat}")
            children = [e.left]
        for c in children:
            out.extend(self.aux_lines(c))
        return out

    @staticmethod
    def chain(first: str, *rest: str) -> str:
        """A displayed chain 'lhs = formula = numbers = result' on one line when it fits, else
        aligned with a break before the numbers' result."""
        one = " ".join((first,) + rest)
        if _display_width(one) <= DISPLAY_CHARS or not rest:
            return rf"\[ {one} \]"
        rel, _, body = rest[-1].partition(" ")
        head = " ".join((first,) + rest[:-1])
        for sep in (" = ", r" \leftarrow "):
            lhs, found, tail = head.partition(sep)
            if found:
                return (r"\begin{align*}" + "\n" + rf"{lhs} &{sep.strip()} {tail} \\" + "\n" + rf"&{rel} {body}"
                        + "\n" + r"\end{align*}")
        return rf"\[ {one} \]"

    def worked_entry(self, target: str, e) -> str:
        """Entry [1, 1] of a product (plus a bias) written out: the sum over the inner dimension."""
        bias = None
        if isinstance(e, Add) and isinstance(e.left, MatMul):
            e, bias = e.left, e.right
        if not isinstance(e, MatMul):
            return ""
        A, B = self.value(e.left), self.value(e.right)
        gl, gr = _is_given(e.left), _is_given(e.right)
        terms = []
        exact = True
        for t in range(A.shape[1]):
            a, ea = self.entry(A[0, t], gl)
            b, eb = self.entry(B[t, 0], gr)
            exact = exact and ea and eb
            terms.append(rf"({_paren(a)} \cdot {_paren(b)})")
        text = " + ".join(terms)
        if bias is not None:
            bv, eb = self.entry(self.value(bias)[0, 0], True)
            exact = exact and eb
            text += f" + {_paren(bv)}"
        res, er = self.entry(self.env[target][0, 0])
        return (rf"{self.tex(target)}[1, 1] {_rel(exact)} {text} {_rel(exact and er)} {res}")

    def concrete(self, shapes_latex: str) -> str:
        """'(N_{1}, n)(n, N_{2})' with the sizes: '(2, 4)(4, 1)'."""
        sizes = {d.latex: str(d.size) for d in self.md.dims if d.size is not None}
        sizes["1"] = "1"

        def one(m):
            parts = [p.strip() for p in m.group(1).split(",")]
            if all(p in sizes for p in parts):
                return "(" + ", ".join(sizes[p] for p in parts) + ")"
            return m.group(0)

        text = re.sub(r"\(([^()]*)\)", one, shapes_latex)
        return text.replace(r" = \text{shape of }", r" = \text{the shape of }")

    # -- the setup ----------------------------------------------------------------------------
    def loss_formula(self) -> str:
        formula = self.loss.latex
        if self.md.layers[-1] == 1:
            formula = formula.replace(r"\sum_k ", "").replace("_k", "").replace(r"\frac{1}{K} ", "")
        return formula

    def cost_formula(self) -> str:
        if self.md.reduction == "mean":
            return r"J = \frac{1}{n} \sum_{e=1}^{n} L_e"
        return r"J = \sum_{e=1}^{n} L_e"

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
            "$j$, column $i$ = neuron $i$) and $b_l[1, i] = b^{l}_{i}$; for example "
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

    # -- shapes -------------------------------------------------------------------------------
    def shape_rows(self) -> list:
        """[(matrix, shape, why, gradient or None)] in forward order."""
        md = self.md
        rows = [("x", "a row per example, a column per input", None)]
        for l in range(1, self.L + 1):
            M, N = md.width(l - 1), md.width(l)
            prev = self.tex(md.activation_name(l - 1))
            rows.append((f"W_{l}", rf"${M.size}$ input{'s' if M.size != 1 else ''} to ${N.size}$ neuron{'s' if N.size != 1 else ''}: $(M, N)$", f"dW_{l}"))
            rows.append((f"b_{l}", "one bias per neuron, added to every row", f"db_{l}"))
            rows.append((f"z_{l}", rf"${prev} W_{{{l}}}$: $(n, {M.size})({M.size}, {N.size}) \rightarrow (n, {N.size})$",
                         f"dz_{l}"))
            a = md.activation_name(l)
            da = f"da_{l}" if f"da_{l}" in md.matrices else None
            how = "row by row" if md.activations[l - 1] == "softmax" else "elementwise"
            rows.append((a, f"{tex_escape(md.activations[l - 1])} {how}: shape of $z_{{{l}}}$", da))
        return rows

    def size(self, name: str) -> str:
        r, c = self.md.matrices[name].shape.sizes
        return f"$({r}, {c})$"

    def shapes_table(self, key: bool) -> str:
        blank = r"\rule{1.6cm}{0.4pt}"
        lines = [r"\begin{center}", r"\small"]
        if key:
            lines += [r"\begin{tabular}{llp{6.6cm}ll}", r"\toprule",
                      r"matrix & shape & why & gradient & shape \\", r"\midrule"]
        else:
            lines += [r"\begin{tabular}{llll}", r"\toprule", r"matrix & shape & gradient & shape \\", r"\midrule"]
        for m, why, g in self.shape_rows():
            shape = self.size(m) if (key or m == "x") else blank
            gt = f"${self.tex(g)}$" if g else "---"
            gs = (self.size(g) if key else blank) if g else ""
            if key:
                lines.append(f"${self.tex(m)}$ & {shape} & {why} & {gt} & {gs} \\\\")
            else:
                lines.append(f"${self.tex(m)}$ & {shape} & {gt} & {gs} \\\\")
        lines += [r"\bottomrule", r"\end{tabular}", r"\end{center}"]
        return "\n".join(lines) + "\n"

    # -- exercises ----------------------------------------------------------------------------
    def index_question(self) -> tuple:
        md = self.md
        j, i = (1, 2) if md.layers[1] >= 2 else (1, 1)
        return j, i, md.index_name("W_1", j, i)

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
            return f"{t}: ${of}$ is added to every row, one entry per neuron."
        if s.rule == "gradient into the previous layer":
            return f"{t}: ${of}$ reaches the loss only through the next weighted sum."
        if s.rule == "through the activation":
            act = self.md.activations[int(s.of.split("_")[1]) - 1]
            hint = r" (use $\sigma'(z) = a(1 - a)$)" if act == "sigmoid" else ""
            return f"{t}: the chain rule through the activation, entry by entry{hint}."
        return f"{t}."

    def exercises(self, space: str = "none") -> str:
        from .choices import answer_space, rounding_sentence

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

    # -- answers ------------------------------------------------------------------------------
    def answer_shapes(self) -> str:
        md = self.md
        rule = ("The slides' rule: the weights of a layer from $M$ inputs to $N$ neurons have shape $(M, N)$ "
                "(so the inner dimensions of each product match) and its bias has shape $(1, N)$, one per neuron, "
                "added to every row. Each gradient has the shape of the matrix it differentiates.")
        first = md.forward[0]
        return ("\\subsubsection*{1. Shapes}\n" + rule + "\n" + self.shapes_table(key=True)
                + rf"For example ${first.target.latex()} = {first.expression.latex()}$: "
                + f"${self.concrete(first.shapes_latex)}$.\n")

    def answer_index(self) -> str:
        j, i, wname = self.index_question()
        W = self.env["W_1"][j - 1, i - 1]
        dW = self.env["dW_1"][j - 1, i - 1]
        wt, _ = self.entry(W, True)
        dt, de = self.entry(dW)
        return ("\\subsubsection*{2. Index notation}\n"
                rf"$W_l[j, i] = w^{{l}}_{{i,j}}$: the weight from input node ${j}$ to neuron ${i}$ sits in row ${j}$, "
                rf"column ${i}$, so $W_{{1}}[{j}, {i}] = {wname} = {wt}$. Likewise "
                rf"$dW_{{1}}[{j}, {i}] = \partial J/\partial {wname} {_rel(de)} {dt}$ (computed in the backward "
                "pass below).\n")

    def answer_forward(self) -> str:
        out = ["\\subsubsection*{3. Forward pass}\n"]
        for s in self.md.forward:
            name = s.target.name
            res, er = self.named(name)
            if isinstance(s.expression, Apply):
                z = s.expression.arg
                zt, ze = self.entry(self.env[z.name][0, 0])
                at, ae = self.entry(self.env[name][0, 0])
                fn = s.expression.latex().split(r"\left(")[0]
                out.append(self.chain(f"{s.target.latex()} = {s.expression.latex()}", f"{_rel(er)} {res}"))
                if s.expression.function != "softmax":
                    out.append(rf"entry by entry, e.g.\ ${s.target.latex()}[1, 1] = {fn}({zt}) {_rel(ae)} {at}$.")
                continue
            sub, es = self.subst(s.expression)
            out.append(self.chain(f"{s.target.latex()} = {s.expression.latex()}", f"{_rel(es)} {sub}",
                                  f"{_rel(es and er)} {res}"))
            we = self.worked_entry(name, s.expression)
            if we:
                out.append(f"Shapes ${self.concrete(s.shapes_latex)}$; entry by entry, e.g.\\ ${we}$.")
        out.append(self.answer_loss())
        return "\n".join(out) + "\n"

    def per_example_losses(self) -> list:
        yhat, y, zL = self.env["yhat"], self.env["y"], self.env[f"z_{self.L}"]
        act = self.md.activations[-1]
        out = []
        for e in range(yhat.shape[0]):
            if act in self.loss.from_logits:
                out.append(self.loss.from_logits[act](list(y[e]), list(zL[e])))
            else:
                out.append(self.loss.per_example(list(y[e]), list(yhat[e])))
        return out

    def cost(self):
        r = sympy.Rational(1, self.n) if self.md.reduction == "mean" else sympy.S.One
        return r * sympy.Add(*self.per_example_losses())

    def answer_loss(self) -> str:
        losses = self.per_example_losses()
        col, ec = self.bm(np.array([[v] for v in losses], dtype=object))
        parts, ep = [], True
        for v in losses:
            t, e = self.entry(v)
            parts.append(_paren(t))
            ep = ep and e
        J, ej = self.entry(self.cost())
        if self.md.reduction == "mean":
            total = rf"J = \frac{{1}}{{{self.n}}}\left({' + '.join(parts)}\right) {_rel(ej and ep)} {J}"
        else:
            total = rf"J = {' + '.join(parts)} {_rel(ej and ep)} {J}"
        return (f"The loss of each example (one row each), ${self.loss_formula()}$:\n"
                rf"\[ L_e {_rel(ec)} {col}, \qquad {total} \]")

    def answer_step(self, s, label: str) -> str:
        md = self.md
        out = [rf"\paragraph{{{label} ${s.target.latex()} = {gradient_symbol(s)}$.}}"]
        out.append(STEP_PROSE.get(s.rule, tex_escape(s.rule) + ":"))
        if s.lines:
            body = list(s.lines)
            if s.justification_latex and s.rule not in ("loss and output activation (chain rule, the factors cancel)",
                                                        "derivative of the loss"):
                body.append(s.justification_latex)
            out.append(r"\begin{gather*}" + "\n" + (" \\\\\n".join(body)) + "\n" + r"\end{gather*}")
        elif s.justification_latex:
            out.append(rf"\[ {s.justification_latex} \]")
        has_per_example = s.per_example is not None and s.per_example != s.expression
        if s.rule.startswith("loss and output activation"):
            of = self.tex(s.of)
            out.append(rf"Per example this is the slides' boxed result $\partial L/\partial {of} = "
                       rf"{s.per_example.latex()}$, row by row.")
        if has_per_example:
            r = sympy.latex(self.factor(md.reduction_factor))
            out.append(rf"The cost is the {'mean' if md.reduction == 'mean' else 'sum'} over the $n = {self.n}$ "
                       rf"examples, so the factor $\frac{{1}}{{n}} = {r}$ enters here and every later step inherits "
                       r"it (the slides leave it out: their steps differentiate the per-example loss):")
        out.append(r"\[ \boxed{" + rf"{s.target.latex()} = {s.expression.latex()}" + "} \\]")
        if s.assumption_latex:
            out.append(rf"This uses that ${s.assumption_latex}$; in general "
                       rf"${s.target.latex()} = {s.general.latex()}$.")
        shapes = self.concrete(s.shapes_latex)
        out.append(rf"Shapes: ${s.shapes_latex}$, here ${shapes}$.")
        # numbers
        expr = s.expression
        result, er = self.named(s.target.name)
        if s.assumption is not None:
            val = self.value(expr)
            if any(sympy.simplify(a - b) != 0 for a, b in zip(val.flat, self.env[s.target.name].flat)):
                expr = s.reference
        aux = self.aux_lines(expr)
        if has_per_example:
            pe, epe = self.subst(s.per_example)
            pv, epv = self.bm(self.value(s.per_example))
            fac = sympy.latex(self.factor(md.reduction_factor))
            out.append("With the numbers:")
            out.append(self.chain(s.per_example.latex(), f"{_rel(epe)} {pe}", f"{_rel(epv)} {pv}"))
            out.append(self.chain(rf"{s.target.latex()} = {fac} \left({s.per_example.latex()}\right)",
                                  f"{_rel(epv)} {fac} {pv}", f"{_rel(er)} {result}"))
        else:
            sub, es = self.subst(expr)
            if aux:
                out.append("With the numbers, where")
                out.append(r"\[ " + r" ,\qquad ".join(aux) + r" \]")
            else:
                out.append("With the numbers:")
            out.append(self.chain(f"{s.target.latex()} = {expr.latex()}", f"{_rel(es)} {sub}",
                                  f"{_rel(es and er)} {result}"))
            we = self.worked_entry(s.target.name, expr)
            if we:
                out.append(f"Entry by entry, e.g.\\ ${we}$.")
        return "\n".join(out) + "\n"

    def answer_backward(self) -> str:
        out = ["\\subsubsection*{4. Backward pass}\n"]
        for k, s in enumerate(self.steps):
            out.append(self.answer_step(s, f"({chr(ord('a') + k)})" if k < 26 else f"({k + 1})"))
        return "\n".join(out)

    def answer_update(self) -> str:
        last = f"W_{self.L}"
        W = self.env[last]
        dW = self.env[f"d{last}"]
        new = np.array([[W[r, c] - self.lr * dW[r, c] for c in range(W.shape[1])] for r in range(W.shape[0])],
                       dtype=object)
        digits = [(_terminating_digits(int(v.q)) or 0) for v in W.flat if getattr(v, "is_Rational", False)]
        places = max([self.decimals] + [min(d, 6) for d in digits])
        Wt, _ = self.named(last)
        dWt, ed = self.named(f"d{last}")
        nt, en = self.bm(new, decimals=places)
        lr = self.entry(self.lr, True)[0]
        t = self.tex(last)
        return ("\\subsubsection*{5. One update}\n"
                + self.chain(rf"{t} \leftarrow {t} - \alpha\, d{t}", f"{_rel(ed)} {Wt} - {lr} {dWt}",
                             f"{_rel(ed and en)} {nt}") + "\n")

    def summary(self) -> str:
        rows = [rf"{s.target.latex()} &= {s.expression.latex()} && {s.target.shape.latex()}" for s in self.steps]
        return ("\\subsubsection*{Summary: the backward pass in matrix form}\n"
                + r"\begin{align*}" + "\n" + " \\\\\n".join(rows) + "\n" + r"\end{align*}" + "\n")

    def answers(self) -> str:
        return "\n".join(["\\subsection*{Answers}\n", self.answer_shapes(), self.answer_index(),
                          self.answer_forward(), self.answer_backward(), self.answer_update(), self.summary()])

    # -- from math to code ---------------------------------------------------------------------
    def code(self, key: bool) -> str:
        """The trainer's functions (latexify-py) and a table of the formulas as NumPy lines: the
        forward pass on the worksheet, and every backward step too in the key (on the worksheet
        they would give the answers away)."""
        from ..worksheets.index import code_functions, code_items

        md = self.md
        items = code_items(code_functions(md.activations, md.loss, md.reduction))
        rows = []
        for s in md.forward:
            rows.append(rf"& ${s.target.latex()} = {s.expression.latex()}$ & \texttt{{{tex_escape(numpy_line(s))}}} \\")
        for s in (self.steps if key else ()):
            rows.append(rf"{s.number} & ${s.target.latex()} = {s.expression.latex()}$ & "
                        rf"\texttt{{{tex_escape(numpy_line(s))}}} \\")
        table = ("\\begin{center}\n\\small\n\\begin{tabular}{rll}\n\\toprule\nstep & formula & NumPy \\\\\n\\midrule\n"
                 + "\n".join(rows) + "\n\\bottomrule\n\\end{tabular}\n\\end{center}\n")
        from ..worksheets.index import CODE_INTRO

        return ("\\subsection*{From math to code}\n\n" + CODE_INTRO
                + ("\\begin{itemize}\n" + "\n".join(items) + "\n\\end{itemize}\n" if items else "")
                + "In NumPy each matrix formula is one line (\\texttt{@} is the matrix product, \\texttt{*} the "
                "elementwise product, \\texttt{.T} the transpose"
                + (", \\texttt{r = 1 / n} with \\texttt{n = x.shape[0]}" if md.reduction == "mean" and key else "")
                + ("):\n" if key else
                   "); the backward steps are in the answer key:\n") + table)


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


def _header(spec, what: str) -> str:
    src = os.path.basename(spec.source) if spec.source else "<spec>"
    return (f"% {what} generated by symbackprop from {tex_escape(src)}; regenerate it, do not edit it by hand.\n"
            f"% Numbers are computed exactly and rounded only for display.\n")


def _wrap(spec, body: str, fragment: bool, what: str) -> str:
    from .layout import plain_parens

    head = _header(spec, what)
    # sigma(z_1) with parentheses of the text's size; tables' rows apart (the matrix displays fit as they are)
    body = plain_parens(body).replace("\\begin{tabular}", "\\renewcommand{\\arraystretch}{1.3}\\begin{tabular}")
    if fragment:
        return (head + "% Fragment: needs \\usepackage{amsmath,amssymb,booktabs,tikz} and "
                "\\usetikzlibrary{arrows.meta,positioning}.\n\n" + body)
    from .index import SPACING

    return head + preamble(tikz_packages()) + "\\begin{document}\n" + SPACING + "\n" + body + "\n\\end{document}\n"


def matrix_worksheet(spec, numbers=None, variant: int | None = None, decimals: int = 2, fragment: bool = False,
                     wrt=None, *, code: bool | None = None, space: str = "ruled"):
    """The exercises and the answer key in matrix notation for ``spec`` (a Spec, or a Derivation
    or MatrixDerivation of one) at ``numbers`` (a variant from :func:`variant_specs`; default the
    spec's own numbers). Returns a :class:`symbackprop.worksheets.index.Worksheet` whose ``numbers`` is
    the Spec the sheet was computed from."""
    from ..worksheets.index import Worksheet, sigmoid_table
    from .choices import check_space, network_name, variant_title

    check_space(space)
    base = _as_spec(spec)
    matrix_options(base)
    numbers = base if numbers is None else _as_spec(numbers)
    check_size(numbers)
    md = matrix_derive(numbers)
    sheet = _Sheet(md, decimals, wrt)
    title = tex_escape(base.title) if base.title else tex_escape(os.path.basename(base.source or "worksheet"))
    title = variant_title(title, variant, network_name(md.layers, md.activations, md.loss))
    head_ex = f"\\section*{{Worksheet: {title}}}\n\nName: \\rule{{7cm}}{{0.4pt}}\n"
    head_key = f"\\section*{{Answer key: {title}}}\n"
    setup = sheet.setup()
    pic = "\\begin{center}\n" + matrix_network_tikz(md) + "\\end{center}\n"
    pic_key = "\\begin{center}\n" + matrix_network_tikz(md, sheet.env, decimals) + "\\end{center}\n"
    caption = ("The drawing: above each column the matrices of that layer, between the columns the weight matrix "
               "and the bias; the arrow from input $j$ to neuron $i$ carries $W_l[j, i]$.\n")
    caption_key = ("In the key the drawing shows every shape and, in red below it, the gradients "
                   "$dW_l = \\partial J/\\partial W_l$ (entry $[j, i]$ for the arrow from input $j$ to neuron $i$).\n")
    table = sigmoid_table(md.activations, decimals)
    ex_body = "\n".join([head_ex, setup, pic, caption, table, sheet.exercises(space),
                         sheet.code(key=False) if code else ""])
    key_body = "\n".join([head_key, setup, pic_key, caption_key, table, sheet.exercises(), sheet.answers(),
                          sheet.code(key=True) if code is not False else ""])
    return Worksheet(_wrap(base, ex_body, fragment, "Worksheet"), _wrap(base, key_body, fragment, "Answer key"),
                     numbers, variant)


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
           "numpy_line", "MATRIX_WORKSHEET_KEYS"]
