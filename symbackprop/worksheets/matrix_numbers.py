r"""A matrix worksheet's numbers as LaTeX: the slides' matrices with the derivation's exact values.

:class:`MatrixNumbers` holds one :class:`~symbackprop.derivation.matrix_form.MatrixDerivation`
with its matrices evaluated exactly (``environment(exact=True)``) and writes them for a sheet:
one number rounded for display (:meth:`MatrixNumbers.entry`: 2 decimals, and 2 significant
digits for smaller ones, so that the worked sums add up), a matrix as a ``bmatrix``, a formula
with its matrices replaced by their numbers, entry [1, 1] of a product written out as a sum, a
shape (N_{1}, n) with its sizes, and the table of every matrix's shape. The exercises and the
answers (:mod:`~symbackprop.worksheets.matrix`, :mod:`~symbackprop.worksheets.matrix_key`)
are written with it.
"""
from __future__ import annotations

import re

import numpy as np
import sympy

from ..derivation.matrix_form import (
    N_SYMBOL,
    Add,
    Apply,
    Hadamard,
    Mat,
    MatMul,
    MatrixDerivation,
    RowSum,
    Scalar,
    Scale,
    Sub,
    Transpose,
    evaluate,
)
from ..ops.losses import get_loss
from ..render.latex import format_number, tex_escape
from ..render.numbers import _terminating_digits  # noqa: F401  (matrix_key imports it from here)
from .builder import loss_formula

_GIVEN = re.compile(r"^(x|y|W_\d+|b_\d+)$")


def _exact(v):
    return v if isinstance(v, sympy.Basic) else sympy.Integer(v)



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


class MatrixNumbers:
    """A MatrixDerivation with numbers (exact), and each of its numbers, matrices and formulas as
    LaTeX. Every number is read from ``env``, the derivation's own matrices."""

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

    def loss_formula(self) -> str:
        return loss_formula(self.md.loss, self.md.layers[-1])

    def cost_formula(self) -> str:
        if self.md.reduction == "mean":
            return r"J = \frac{1}{n} \sum_{e=1}^{n} L_e"
        return r"J = \sum_{e=1}^{n} L_e"

    # -- shapes -------------------------------------------------------------------------------
    def shape_rows(self) -> list:
        """[(matrix, shape, why, gradient or None)] in forward order."""
        md = self.md
        rows = [("x", "a row per example, a column per input", None)]
        for l in range(1, self.L + 1):
            M, N = md.width(l - 1), md.width(l)
            prev = self.tex(md.activation_name(l - 1))
            rows.append((f"W_{l}", rf"${M.size}$ input{'s' if M.size != 1 else ''} to ${N.size}$ neuron{'s' if N.size != 1 else ''}: $(M, N)$", f"dW_{l}"))
            rows.append((f"b_{l}", "one bias for the layer, added to every entry" if md.shared_biases else
                         "one bias per neuron, added to every row", f"db_{l}"))
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


__all__ = ["MatrixNumbers"]
