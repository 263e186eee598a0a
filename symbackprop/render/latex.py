r"""Step-by-step LaTeX derivations that read like the lectures, rendered from one Derivation.

Everything here is a *view* of a :class:`~symbackprop.derivation.chain_rule.Derivation`: the
forward pass is read from the graph's node definitions, every derivative from
``d.local_derivatives`` / ``d.node_gradients`` / ``d.paths``, every number from
``d.exact_values`` and ``d.exact_node_gradients`` (exact; rounded only for display).
Nothing is differentiated again.

A document (network mode, the lecture notes' 2-2-1 example) reads

1. the network and its conventions (w^{k}_{i,j} joins node j of layer k to node i of layer k + 1);
2. the forward pass node by node, first in symbols
   (z^{2}_{1} = w^{1}_{1,1} x_1 + w^{1}_{1,2} x_2 + b^{1}_{1}, a^{2}_{1} = \sigma(z^{2}_{1}), ...),
   then with numbers (z^{2}_{1} = (1 \cdot 1) + (1 \cdot 0) + 1 = 2, a^{2}_{1} = \sigma(2) \approx 0.88, ...);
3. the loss and the reduction it is differentiated with (mean: J = \frac{1}{n} \sum_e L_e, the 1/n explicit);
4. the backward pass node by node: at each node the upstream gradient times the local gradient
   (the slides' picture), with values; where the lectures box a simplification
   (binary cross-entropy after a sigmoid: \partial L / \partial z = \hat{y} - y) it is derived in visible steps;
5. per parameter: its path(s) of influence, the chain-rule product (the notes' line for
   \partial L / \partial w^{1}_{1,1}), each local derivative on its own line with the rule it uses,
   the assembled gradient, the sum over paths where there are several, the numbers substituted,
   the reduction over the examples and one gradient-descent step w \leftarrow w - \alpha \partial J / \partial w;
6. a table of every gradient and update.

Graph mode (f = (x + y) z) shows the local gradients at each node, then the backward pass
with upstream and local gradients and values (q = 3, f = -12, \partial f/\partial x = -4, ...).

Numbers: exact values whose decimal expansion ends within ``decimals`` digits are printed
exactly with ``=``; anything else is rounded half up with ``\approx`` (a value that would round
to 0 keeps two significant digits instead). The output is pure ASCII and byte-identical for
the same derivation.

Public API: :func:`derivation_document`, :func:`derivation_math` (for notebooks, valid inside
``$$ ... $$``), :func:`format_number`, :func:`tex_escape`, :func:`regenerate`
(``python -m symbackprop.render.latex --regenerate`` rewrites ``derivations/*.tex``).
"""
from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from dataclasses import dataclass
from decimal import MAX_EMAX, MIN_EMIN, ROUND_HALF_UP, Context, Decimal

import sympy
from mpmath import libmp as mlib

from ..spec import names
from ..ops.activations import get_activation
from ..derivation.chain_rule import Derivation, upstream_symbol
from ..errors import NotSupportedError, SymbackpropError
from ..derivation.graph import ACTIVATION, INPUT, LOSS, PARAMETER, PRE_ACTIVATION, TARGET
from ..ops.losses import get_loss, reduction_factor
from ..derivation.numeric import numeric

__all__ = [
    "Numbers", "derivation_document", "derivation_body", "derivation_math", "format_number", "format_given",
    "tex_escape",
    "preamble", "regenerate", "spec_document", "uses_matrix_form", "Notation",
]

#: packages every generated document needs (all in texlive-latex-base/-recommended and lmodern)
PACKAGES = (
    r"\usepackage[T1]{fontenc}",
    r"\usepackage{lmodern}",
    r"\usepackage{amsmath,amssymb}",
    r"\usepackage[margin=2.2cm]{geometry}",
    r"\usepackage{booktabs}",
)

MAX_PATHS_SHOWN = 6          # more paths than this: the node-by-node form only
MAX_EXAMPLES_SHOWN = 4       # forward passes and per-example numbers shown in full
MAX_TERMS_WRITTEN = 4        # wider weighted sums are written with \sum
MAX_TARGETS = 24             # default targets beyond this: one representative per layer
FACTORS_PER_LINE = 6

_SPECIAL = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
    "^": r"\textasciicircum{}", "_": r"\_", "%": r"\%", "~": r"\textasciitilde{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
}
_UNICODE = {
    "ŷ": r"$\hat{y}$", "σ": r"$\sigma$", "α": r"$\alpha$", "δ": r"$\delta$", "∂": r"$\partial$",
    "→": r"$\to$", "←": r"$\leftarrow$", "≈": r"$\approx$", "−": "-", "–": "--", "—": "---", "·": r"$\cdot$",
    "×": r"$\times$", "Σ": r"$\Sigma$", "∑": r"$\sum$", "′": "'", "’": "'", "‘": "`", "“": "``", "”": "''",
    "²": r"$^2$", "³": r"$^3$", "⊙": r"$\odot$", "…": r"\dots{}", "θ": r"$\theta$", "η": r"$\eta$",
    "λ": r"$\lambda$", "ε": r"$\varepsilon$", "μ": r"$\mu$", "½": r"$\tfrac{1}{2}$", "⊤": r"$\top$",
    "ᵀ": r"$^{T}$", "∈": r"$\in$", "≤": r"$\le$", "≥": r"$\ge$", "≠": r"$\ne$", "∞": r"$\infty$",
}


def tex_escape(text: str) -> str:
    """User or rule text -> LaTeX text mode, ASCII only (so no injected commands, no font errors).

    Specials are escaped, a few mathematical characters become math, Latin-1 letters become
    their accent commands, anything else becomes ``?``.
    """
    out = []
    for ch in str(text):
        if ch in _SPECIAL:
            out.append(_SPECIAL[ch])
        elif ch in _UNICODE:
            out.append(_UNICODE[ch])
        elif ch == "\n" or ch == "\t":
            out.append(" ")
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            out.append(_latin1(ch))
    return "".join(out)


_ACCENTS = {"\u0300": "`", "\u0301": "'", "\u0302": "^", "\u0303": "~", "\u0308": '"', "\u030a": "r", "\u0327": "c"}


def _latin1(ch: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFD", ch)
    if len(decomposed) == 2 and decomposed[0].isascii() and decomposed[0].isalpha() and decomposed[1] in _ACCENTS:
        acc = _ACCENTS[decomposed[1]]
        return f"\\{acc}{{{decomposed[0]}}}" if acc.isalpha() else f"\\{acc}{{{decomposed[0]}}}"
    return {"ß": r"\ss{}", "æ": r"\ae{}", "Æ": r"\AE{}", "ø": r"\o{}", "Ø": r"\O{}", "å": r"\aa{}"}.get(ch, "?")


# ---------------------------------------------------------------------------------------------
# numbers


def format_number(value, decimals: int = 2, *, significant: int = 2) -> tuple[str, bool]:
    r"""An exact number as LaTeX, rounded for display only: ``(text, exact)``.

    >>> format_number(sympy.Integer(2))
    ('2', True)
    >>> format_number(sympy.Rational(-35, 1)), format_number(sympy.Rational(1, 10))
    (('-35', True), ('0.1', True))
    >>> from symbackprop.ops.functions import sigmoid
    >>> format_number(sigmoid(2))              # sigma(2) = 0.8807...
    ('0.88', False)
    >>> format_number(sympy.Rational(-61, 200000))   # would round to -0.00: keep 2 significant digits
    ('-0.00031', False)
    >>> format_number(sympy.exp(1000))        # from 10^15 on: scientific, ``decimals`` in the mantissa
    ('1.97 \\times 10^{434}', False)
    >>> format_number(sympy.oo)
    ('\\text{too large to show}', False)

    A value that is not a real number (1/0, the log of a negative number) raises NotSupportedError.
    """
    if isinstance(value, bool):
        raise TypeError("not a number")
    if isinstance(value, int):
        value = sympy.Integer(value)
    if decimals < 0 or decimals > MAX_DECIMALS:
        raise NotSupportedError(f"decimals={decimals}: allowed 0 to {MAX_DECIMALS}")
    if getattr(value, "is_Rational", False):
        p, q = int(value.p), int(value.q)
        if q == 1 and abs(p) < _EXACT_INTEGERS:
            return str(p), True
        k = _terminating_digits(q) if q != 1 else 0
        if k is not None and k <= decimals and abs(p) < _EXACT_INTEGERS * q:
            return _plain(_WIDE.divide(Decimal(p), Decimal(q)), k), True
        dec = _WIDE.divide(Decimal(p), Decimal(q))
    else:
        dec = _decimal(value)
        if dec is None:
            return (r"\text{too large to show}" if value is not sympy.S.NegativeInfinity and _sign(value) > 0
                    else r"-\text{too large to show}"), False
    return _round(dec, decimals, significant), False


MAX_DECIMALS = 12
_EXACT_INTEGERS = 10 ** 16      # integers (and terminating decimals) this large or more: scientific
_LARGE = Decimal(10) ** 15      # rounded values from here on: scientific
# wide exponent range and enough digits for any quantize below (never an InvalidOperation)
_WIDE = Context(prec=100, rounding=ROUND_HALF_UP, Emax=MAX_EMAX, Emin=MIN_EMIN)


def format_given(value, decimals: int = 2) -> str:
    """A given number (from the spec), exactly when its decimal expansion ends within 12 digits
    (0.0889 stays 0.0889), else rounded like :func:`format_number`."""
    if getattr(value, "is_Rational", False):
        k = _terminating_digits(int(value.q))
        if k is not None and k <= 12:
            return format_number(value, max(decimals, k))[0]
    return format_number(value, decimals)[0]


def _terminating_digits(q: int):
    """Digits after the point of p/q when the expansion ends (q = 2^a 5^b), else None."""
    a = b = 0
    while q % 2 == 0:
        q //= 2
        a += 1
    while q % 5 == 0:
        q //= 5
        b += 1
    return max(a, b) if q == 1 else None


_NUMERIC_MEMO: dict = {}
_PRECISION = 40


def _numeric(expr):
    """``expr`` evaluated to a 40-digit Float, each distinct subexpression once.

    The exact values of a network nest (a = sigma(w sigma(...) + ...)) and repeat; SymPy's own
    ``N`` evaluates a repeated subexpression again each time it meets it, which grows with the
    depth. ``symbackprop.derivation.numeric`` evaluates bottom-up in mpmath with 20 guard digits and falls
    back to ``sympy.N`` where a sum cancels (an exact 0 that is not written as 0 stays 0).
    """
    hit = _NUMERIC_MEMO.get(expr)
    if hit is not None:
        return hit
    val = numeric(expr, _PRECISION)
    if len(_NUMERIC_MEMO) > 200_000:
        _NUMERIC_MEMO.clear()
    _NUMERIC_MEMO[expr] = val
    return val


def _not_real(value, f) -> NotSupportedError:
    if f is sympy.zoo:
        what = "undefined (a division by zero)"
    elif f is sympy.nan or f is None:
        what = "undefined (not a number, e.g. 0 times infinity)"
    else:
        try:
            re, im = (format_number(sympy.Float(t, 20), 4)[0] for t in f.as_real_imag())
            what = f"not a real number ({re} + {im}i: e.g. the log or square root of a negative number)"
        except (SymbackpropError, TypeError, ValueError):
            what = "not a real number"
    return NotSupportedError(f"a value is {what}, so it cannot be shown as a real number; "
                             "choose data inside the functions' domains")


def _sign(value) -> int:
    f = _numeric(value)
    return -1 if f is sympy.S.NegativeInfinity or (getattr(f, "is_negative", False)) else 1


def _decimal(value) -> Decimal | None:
    """``value`` as a Decimal (None for an overflow: ±oo); NotSupportedError when it is not real."""
    if getattr(value, "is_Float", False):  # a computed value (Evaluation): its digits, directly
        return Decimal(mlib.to_str(value._mpf_, _PRECISION))
    f = _numeric(value)
    if f is sympy.oo or f is sympy.S.NegativeInfinity:
        return None
    if not (getattr(f, "is_Number", False) and f.is_real and f.is_finite):
        raise _not_real(value, f)
    if f.is_Rational:
        return _WIDE.divide(Decimal(int(f.p)), Decimal(int(f.q)))
    try:
        dec = Decimal(str(f))
    except ArithmeticError:
        return None
    if dec.is_infinite() or dec.adjusted() > MAX_EMAX // 2 or dec.adjusted() < MIN_EMIN // 2:
        return None if dec.adjusted() > 0 else Decimal(0)
    return dec


def _plain(dec: Decimal, k: int) -> str:
    s = f"{dec:.{k}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _scientific(dec: Decimal, significant: int) -> str:
    """m \\times 10^{e} with ``significant`` digits in m (rounded half up)."""
    exponent = dec.adjusted()
    mantissa = _WIDE.quantize(_WIDE.scaleb(dec, -exponent), Decimal(1).scaleb(1 - significant))
    if abs(mantissa) >= 10:
        mantissa, exponent = _WIDE.divide(mantissa, Decimal(10)), exponent + 1
    return f"{mantissa:.{significant - 1}f} \\times 10^{{{exponent}}}"


def _round(dec: Decimal, decimals: int, significant: int) -> str:
    if dec.copy_abs() >= _LARGE:
        return _scientific(dec, decimals + 1)
    q = _WIDE.quantize(dec, Decimal(1).scaleb(-decimals))
    if q == 0 and dec != 0:
        exponent = dec.adjusted()
        if exponent < -4:  # 0.0000096 is easier to read as 9.6 x 10^{-6}
            return _scientific(dec, significant)
        places = -exponent + significant - 1
        q = _WIDE.quantize(dec, Decimal(1).scaleb(-places))
        return f"{q:.{places}f}"
    s = f"{q:.{decimals}f}"
    return s[1:] if s.startswith("-") and Decimal(s) == 0 else s


def _shown(text: str) -> Decimal | None:
    """The number a formatted text shows (``1.2 \\times 10^{-5}`` too); None for text that is no number."""
    m = re.fullmatch(r"(-?[0-9.]+)(?: \\times 10\^\{(-?[0-9]+)\})?", text)
    if not m:
        return None
    return Decimal(m.group(1)).scaleb(int(m.group(2) or 0), _WIDE)


def _distinguishing(new, old, decimals: int) -> tuple[str, bool]:
    """``new`` shown with enough decimals that it visibly differs from ``old`` (for updates).

    At most :data:`MAX_DECIMALS` decimals: a step too small to show there is written
    ``1.000000000000\\ (\\text{unchanged at 12 decimals})``. Never raises for a real ``new``.
    """
    text, exact = format_number(new, decimals)
    if exact or new == old:
        return text, exact
    try:
        old_dec = _decimal(old)
    except NotSupportedError:
        return text, exact
    if old_dec is None:
        return text, exact
    for places in range(decimals, MAX_DECIMALS + 1):
        text, exact = format_number(new, places)
        shown = _shown(text)
        if exact or shown is None or shown != _WIDE.quantize(old_dec, Decimal(1).scaleb(-places)):
            return text, exact
    return f"{text}\\ (\\text{{unchanged at {MAX_DECIMALS} decimals}})", False


def _paren(text: str) -> str:
    """A number as a factor: negative numbers and powers of ten in parentheses."""
    return f"({text})" if text.startswith("-") or "\\times" in text or "\\text" in text else text


# ---------------------------------------------------------------------------------------------
# the numbers a derivation is evaluated at


@dataclass(frozen=True)
class Numbers:
    """Exact numbers to evaluate the derivation at: parameters, examples, learning rate.

    ``parameters`` maps parameter symbols to exact values, ``examples`` is a tuple of
    ``{leaf symbol: exact value}`` (inputs and targets), as ``Derivation.examples()`` returns.
    """

    parameters: dict
    examples: tuple
    learning_rate: object

    @classmethod
    def from_spec(cls, d: Derivation) -> "Numbers | None":
        """The spec's own numbers, or None when the spec has no data to evaluate at."""
        spec = d.spec
        if spec is None:
            return None
        if d.graph.mode == "network" and not spec.x:
            return None
        try:
            examples = tuple(d.examples())
            params = d.parameter_values()
        except SymbackpropError:
            return None
        if not examples:
            return None
        return cls(params, examples, spec.training.learning_rate)


class Evaluation:
    """Forward values and per-example gradients of a derivation at some Numbers.

    Each value is exact (a SymPy Rational) where it is a rational of bounded size, else a Float
    of at least 60 digits (``Derivation.numeric_evaluation``): only ever rounded for display.
    """

    def __init__(self, d: Derivation, numbers: Numbers):
        self.d = d
        self.numbers = numbers
        # bottom-up, exact where the values are small rationals, else 60+ digit Floats (bounded)
        self.values, self.gradients = d.numeric_evaluation(numbers.examples, numbers.parameters)
        self.n = len(self.values)
        self.factor = reduction_factor(d.reduction, sympy.Integer(max(self.n, 1)))

    def total(self, name: str):
        """dJ/dname of the reduced loss: r * sum_e dL_e/dname (parameters)."""
        return self.factor * sympy.Add(*[g.get(name, sympy.S.Zero) for g in self.gradients])

    def value(self, e: int, name: str):
        return self.values[e][name]

    def symbol_values(self, e: int) -> dict:
        """{symbol: value} of example e (leaves and forward values), built once per example."""
        cache = self.__dict__.setdefault("_symbol_values", {})
        if e not in cache:
            cache[e] = {names.symbol(k): v for k, v in self.values[e].items()}
        return cache[e]


def _evaluation(d, numbers):
    if numbers is None:
        return None
    try:
        return Evaluation(d, numbers)
    except SymbackpropError:
        return None


# ---------------------------------------------------------------------------------------------
# names as the lectures write them


class Notation:
    """How node names are written: \\hat{y} for the output activation, y for the target, the
    output's name (L or f) in every partial derivative, and numbers substituted for symbols."""

    def __init__(self, d: Derivation):
        self.d = d
        g = d.graph
        self.graph = g
        self.mode = g.mode
        self.output = g.output
        self.out_tex = sympy.latex(names.symbol(g.output))
        display = {}
        if g.mode == "network":
            outs = g.outputs
            if len(outs) == 1:
                display[outs[0].name] = r"\hat{y}"
                display[names.target(1)] = "y"
            else:
                for n in outs:
                    display[n.name] = rf"\hat{{y}}_{{{n.index[0]}}}"
        self.display = display
        self.symbol_names = {names.symbol(k): v for k, v in display.items()}
        for n in g.nodes:
            self.symbol_names[upstream_symbol(n.name)] = self.grad(n.name)

    # names
    def tex(self, name: str) -> str:
        if name in self.display:
            return self.display[name]
        return sympy.latex(names.symbol(name))

    def partial(self, num: str, den: str) -> str:
        return rf"\frac{{\partial {num}}}{{\partial {den}}}"

    def local(self, child: str, parent: str) -> str:
        """\\frac{\\partial child}{\\partial parent}."""
        return self.partial(self.tex(child), self.tex(parent))

    def grad(self, name: str) -> str:
        """\\frac{\\partial L}{\\partial name} (per example)."""
        return self.partial(self.out_tex, self.tex(name))

    def inline_grad(self, name: str, num: str | None = None) -> str:
        return rf"\partial {num or self.out_tex}/\partial {self.tex(name)}"

    # expressions
    def latex(self, expr, **kw) -> str:
        return sympy.latex(expr, symbol_names=self.symbol_names, **kw)

    def factor(self, expr) -> str:
        """An expression as a factor of a product (parenthesized when it is a sum or negative)."""
        text = self.latex(expr)
        if isinstance(expr, sympy.Add) or text.startswith("-"):
            return rf"\left({text}\right)"
        return text

    def factor_text(self, expr, text: str) -> str:
        """``text`` (``expr`` written out) parenthesized as a factor when needed."""
        if isinstance(expr, sympy.Add) or text.startswith("-"):
            return rf"\left({text}\right)"
        return text

    def number(self, sym, value, decimals: int) -> tuple[str, bool]:
        """A leaf's given value exactly (when it can be), a computed one rounded for display."""
        node = self.graph.by_name.get(sym.name)
        if node is not None and node.is_leaf:
            text = format_given(value, decimals)
            return text, format_number(value, decimals)[1] or text == format_given(value, 12)
        return format_number(value, decimals)

    def with_numbers(self, expr, numbers: dict, decimals: int, **kw) -> tuple[str, bool]:
        """``expr`` with each symbol replaced by its (displayed) number; ``exact`` is False when
        a shown number is rounded."""
        if isinstance(expr, sympy.Symbol) and expr in numbers:
            return self.number(expr, numbers[expr], decimals)
        exact = True
        sn = dict(self.symbol_names)
        for s in expr.free_symbols:
            if s in numbers:
                text, ex = self.number(s, numbers[s], decimals)
                exact = exact and ex
                sn[s] = _paren(text)
        return _tidy(sympy.latex(expr, symbol_names=sn, mul_symbol="dot", **kw)), exact


_DOUBLE_PAREN = re.compile(r"\\left\(\((-[^()]*)\)\\right\)")
_LEADING_NEGATIVE = re.compile(r"^\((-[0-9.]+)\)(?=\s*[-+]|$)")


def _tidy(text: str) -> str:
    """sigma((-0.98)) -> sigma(-0.98); a leading (-2) + 5 -> -2 + 5."""
    return _LEADING_NEGATIVE.sub(r"\1", _DOUBLE_PAREN.sub(r"\\left(\1\\right)", text))


def _rel(exact: bool) -> str:
    return "=" if exact else r"\approx"


def _num(value, decimals) -> tuple[str, bool]:
    return format_number(value, decimals)


# ---------------------------------------------------------------------------------------------
# rule names


_KNOWN_FORMULAS = {
    "d/dx x^n = n x^(n-1)": r"\frac{d}{dx} x^n = n x^{n-1}",
    "d/dx e^x = e^x": r"\frac{d}{dx} e^x = e^x",
    "d/dx log x = 1/x": r"\frac{d}{dx} \log x = \frac{1}{x}",
    "d/dŷ log ŷ = 1/ŷ": r"\frac{d}{d\hat{y}} \log \hat{y} = \frac{1}{\hat{y}}",
    "sigma'(z) = sigma(z)(1 - sigma(z))": r"\sigma'(z) = \sigma(z)\left(1 - \sigma(z)\right)",
    "sigma'(z) = sigma(z)(1 - sigma(z)) = a(1 - a)": r"\sigma'(z) = \sigma(z)\left(1 - \sigma(z)\right) = a(1 - a)",
    "1 - tanh^2": r"1 - \tanh^2",
    "tanh'(z) = 1 - tanh(z)^2 = 1 - a^2": r"\tanh'(z) = 1 - \tanh^2(z) = 1 - a^2",
    "softplus'(z) = sigma(z)": r"\operatorname{softplus}'(z) = \sigma(z)",
    "d a_i / d z_j = a_i (delta_ij - a_j)": r"\frac{\partial a_i}{\partial z_j} = a_i(\delta_{ij} - a_j)",
    "d/dx x = 1": r"\frac{d}{dx} x = 1",
}
_KNOWN_RULES = {
    "power rule and chain rule on (y - ŷ)^2": r"power rule and chain rule on $(y - \hat{y})^2$",
}


def rule_tex(rule: str) -> str:
    """A rule's plain-text name (``LocalDerivative.rule``) as LaTeX text with inline math."""
    if rule in _KNOWN_RULES:
        return _KNOWN_RULES[rule]
    pieces = []
    for piece in rule.split("; "):
        if piece in _KNOWN_RULES:
            pieces.append(_KNOWN_RULES[piece])
            continue
        name, sep, formula = piece.partition(": ")
        if sep and formula in _KNOWN_FORMULAS:
            pieces.append(f"{tex_escape(name)}, ${_KNOWN_FORMULAS[formula]}$")
        elif sep and name.startswith("derivative of ReLU"):
            pieces.append(f"{tex_escape(name)}: {tex_escape(formula)}")
        else:
            pieces.append(tex_escape(piece))
    return "; ".join(pieces)


# ---------------------------------------------------------------------------------------------
# the document


def preamble(extra: tuple = ()) -> str:
    """The preamble of every generated document (pdflatex; text extractable with pdftotext)."""
    lines = [r"\documentclass[11pt,a4paper]{article}", *PACKAGES, *extra,
             r"\ifdefined\pdfgentounicode\input{glyphtounicode}\pdfgentounicode=1\fi",
             r"\setlength{\parindent}{0pt}",
             r"\setlength{\parskip}{0.6em}",
             r"\allowdisplaybreaks",
             r"\emergencystretch=3em",
             r"\setlength{\jot}{7pt}"]
    return "\n".join(lines) + "\n"


def _header_comment(d: Derivation, what: str) -> str:
    src = os.path.basename(d.spec.source) if d.spec is not None and d.spec.source else "<spec>"
    return (f"% {what} generated by symbackprop from {tex_escape(src)}; regenerate it, do not edit it by hand.\n"
            f"% Numbers are computed exactly and rounded only for display.\n")


def _title(d: Derivation) -> str:
    spec = d.spec
    if spec is not None and spec.title:
        return tex_escape(spec.title)
    if spec is not None and spec.source:
        return tex_escape(os.path.basename(spec.source))
    return "Derivation"


def _resolve_targets(d: Derivation, wrt) -> tuple[list, str | None]:
    """The names to differentiate with respect to (canonical), and a note when shortened."""
    if wrt:
        if isinstance(wrt, str):
            wrt = [wrt]
        out = []
        for w in wrt:
            name = d.resolve(w)
            if name not in out:
                out.append(name)
        return out, None
    g = d.graph
    if d.parameters:
        params = [p for p in d.parameters if g.influences(p)]
        if len(params) <= MAX_TARGETS or g.mode != "network":
            return params, None
        picked = []
        for k in range(1, len(g.layers)):
            for name in (names.weight(k, 1, 1), names.bias(k, 1)):
                if name in g.by_name:
                    picked.append(name)
        note = (f"The network has {len(params)} parameters; shown here is one weight and one bias per layer. "
                r"The others follow the same pattern (use \texttt{--wrt NAME} for any one of them).")
        return picked, note
    return [n.name for n in g.nodes if n.kind == INPUT and g.influences(n.name)], None


def derivation_document(d: Derivation, wrt=None, decimals: int = 2, fragment: bool = False) -> str:
    """The step-by-step derivation of ``d`` as a LaTeX document (or, with ``fragment``, its body only).

    ``wrt``: a name or list of names to differentiate with respect to (default: every parameter;
    in graph mode without parameters, every input). Specs with ``notation = "matrix"`` (and
    networks too big for per-scalar steps, as the CLI decides) are rendered by
    ``symbackprop.render.matrix_latex`` when that module is present and ``wrt`` is not given;
    otherwise in index notation.
    """
    if not isinstance(decimals, int) or isinstance(decimals, bool) or not 0 <= decimals <= 12:
        raise NotSupportedError(f"--decimals {decimals!r}: allowed a whole number from 0 to 12")
    if d.spec is not None and not wrt and uses_matrix_form(d.spec):
        return _matrix_module().matrix_derivation_document(d, decimals=decimals, fragment=fragment)
    body = derivation_body(d, wrt=wrt, decimals=decimals)
    head = _header_comment(d, "Derivation")
    if fragment:
        return (head + "% Fragment: needs \\usepackage{amsmath,amssymb} and \\usepackage{booktabs}.\n\n"
                + body)
    return (head + preamble() + "\\begin{document}\n\n" + body + "\n\\end{document}\n")


def _matrix_module():
    try:
        return importlib.import_module("symbackprop.render.matrix_latex")
    except ModuleNotFoundError as exc:
        if exc.name == "symbackprop.render.matrix_latex":
            return None
        raise


def derivation_body(d: Derivation, wrt=None, decimals: int = 2, numbers: Numbers | None = None,
                    title: bool = True, heading: str = "section") -> str:
    """The document body (sections and equations) in index notation; see :func:`derivation_document`."""
    targets, note = _resolve_targets(d, wrt)
    if numbers is None:
        numbers = Numbers.from_spec(d)
    r = Renderer(d, decimals, numbers, heading=heading)
    out = []
    if title:
        out.append(f"\\{heading}*{{{_title(d)}}}\n")
    out.append(r.setup())
    out.append(r.forward())
    out.append(r.loss_and_reduction())
    out.append(r.backward())
    if note:
        out.append(note + "\n")
    for t in targets:
        out.append(r.target(t))
    out.append(r.summary(targets))
    return "\n".join(s for s in out if s)


def _align(rows) -> str:
    rows = [r for r in rows if r]
    if not rows:
        return ""
    return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}\n"


def _display(text: str) -> str:
    return "\\[\n" + text + "\n\\]\n"


class Renderer:
    """Renders the pieces of a derivation; every method returns LaTeX text (a block).

    Used by :func:`derivation_document` and by the worksheets (which pick pieces and may pass
    other Numbers, e.g. a randomized variant: the derivation itself is the same).
    """

    def __init__(self, d: Derivation, decimals: int = 2, numbers: Numbers | None = None, heading: str = "section"):
        self.d = d
        self.g = d.graph
        self.nt = Notation(d)
        self.decimals = decimals
        self.numbers = numbers
        self.ev = _evaluation(d, numbers)
        self.sub = {"section": "subsection", "subsection": "subsubsection"}.get(heading, "paragraph")
        self.subsub = {"section": "subsubsection"}.get(heading, "paragraph")

    # -- helpers -----------------------------------------------------------------------------
    def fmt(self, value) -> tuple[str, bool]:
        return format_number(value, self.decimals)

    def given(self, value) -> str:
        """A number the spec gives (input, target, parameter, learning rate): exact when it can be."""
        return format_given(value, self.decimals)

    def sym_values(self, e: int) -> dict:
        """{symbol: exact value} of example e (leaves and forward values)."""
        return self.ev.symbol_values(e)

    def shown_examples(self) -> list:
        return list(range(min(self.ev.n, MAX_EXAMPLES_SHOWN))) if self.ev else []

    def example_label(self, e: int) -> str:
        """'x = (1, 0), y = 1' for a network example; 'x = -2, y = 5, z = -4' in graph mode."""
        ex = self.numbers.examples[e]
        if self.g.mode == "network":
            xs = [ex[n.symbol] for n in self.g.inputs]
            ys = [ex[n.symbol] for n in self.g.targets]
            xt = ", ".join(self.given(v) for v in xs)
            yt = ", ".join(self.given(v) for v in ys)
            x_part = f"x = ({xt})" if len(xs) > 1 else f"x = {xt}"
            y_part = f"y = ({yt})" if len(ys) > 1 else f"y = {yt}"
            return f"{x_part},\\ {y_part}"
        parts = []
        for s, v in sorted(ex.items(), key=lambda kv: kv[0].name):
            parts.append(f"{self.nt.latex(s)} = {self.given(v)}")
        return ",\\ ".join(parts)

    def example_heading(self, e: int) -> str:
        label = self.example_label(e)
        if self.ev.n == 1:
            return f"At the example ${label}$:" if label else "With the parameters' values:"
        return f"Example {e + 1} (${label}$):"

    # -- 1. setup -------------------------------------------------------------------------------
    def setup(self) -> str:
        g, nt = self.g, self.nt
        out = []
        if g.mode == "network":
            layers = g.layers
            acts = ", ".join(tex_escape(a) for a in g.activations)
            loss = get_loss(g.loss)
            out.append(f"\\{self.sub}*{{The network}}\n")
            out.append(
                f"A fully connected network with layers of widths ${', '.join(str(w) for w in layers)}$ "
                f"(input layer first), activations {acts} (layer 2 onwards) and the "
                f"{tex_escape(loss.description)} loss. "
                "Index notation as in the lecture notes: $a^{k}_{j}$ is the output of node $j$ of layer $k$ "
                "(layer 1 is the input, $a^{1}_{j} = x_j$), $z^{k}_{j}$ its weighted sum before the activation, "
                "and $w^{k}_{i,j}$ the weight that joins node $j$ of layer $k$ to node $i$ of layer $k + 1$, "
                "with bias $b^{k}_{i}$.\n")
            if self.numbers is not None:
                out.append(self.parameter_table())
        else:
            out.append(f"\\{self.sub}*{{The computational graph}}\n")
            params = [n.name for n in g.parameters]
            inputs = [n.name for n in g.inputs]
            parts = []
            if inputs:
                parts.append(f"the input{'s are' if len(inputs) > 1 else ' is'} "
                             f"${', '.join(nt.tex(n) for n in inputs)}$")
            if params:
                parts.append(f"the parameter{'s are' if len(params) > 1 else ' is'} "
                             f"${', '.join(nt.tex(n) for n in params)}$")
            out.append(f"The output is ${nt.out_tex}$" + ("; " + " and ".join(parts) if parts else "") + ".\n")
            if self.numbers is not None and params:
                vals = ", ".join(f"{nt.tex(p)} = {self.given(self.numbers.parameters[names.symbol(p)])}"
                                 for p in params if names.symbol(p) in self.numbers.parameters)
                out.append(f"Parameter values: ${vals}$.\n")
        return "\n".join(out)

    def parameter_table(self) -> str:
        """The weights and biases, layer by layer, as the lecture lists them."""
        g, nt = self.g, self.nt
        rows = []
        vals = self.numbers.parameters
        for k in range(1, len(g.layers)):
            ws = [n for n in g.parameters if n.layer == k and n.name.startswith("w")]
            bs = [n for n in g.parameters if n.layer == k and n.name.startswith("b")]
            if len(ws) + len(bs) > 12:
                rows.append(f"\\text{{layer {k}: {len(ws)} weights and {len(bs)} biases (see the spec)}}")
                continue
            items = [f"{nt.tex(n.name)} = {self.given(vals[n.symbol])}" for n in ws + bs]
            rows.append(",\\quad ".join(items))
        if not rows:
            return ""
        return "Parameters:\n" + _display(" \\\\\n".join([r"\begin{gathered}", *rows]).replace(
            r"\begin{gathered} \\", r"\begin{gathered}") + "\n\\end{gathered}")

    # -- 2. forward pass ---------------------------------------------------------------------------
    def definition_tex(self, node) -> str:
        """The right-hand side of a node's definition, as the lectures write it."""
        nt = self.nt
        if node.kind == PRE_ACTIVATION and self.g.mode == "network":
            k, i = node.layer - 1, node.index[0]
            prev = self._previous(node)
            if len(prev) > MAX_TERMS_WRITTEN:
                j = "j"
                a = "x_{j}" if k == 1 else f"a^{{{k}}}_{{j}}"
                return (rf"\sum_{{j=1}}^{{{len(prev)}}} w^{{{k}}}_{{{i},j}} {a} + "
                        f"{nt.tex(names.bias(k, i))}").replace("{j}", "{" + j + "}")
            terms = [f"{nt.tex(names.weight(k, i, j))} {nt.tex(p)}" for j, p in enumerate(prev, start=1)]
            return " + ".join(terms + [nt.tex(names.bias(k, i))])
        if node.kind == LOSS and self.g.mode == "network":
            return nt.latex(node.definition, order="none")
        return nt.latex(node.definition)

    def _previous(self, node) -> list:
        k = node.layer - 1
        width = self.g.layers[k - 1]
        return [names.feature(j) if k == 1 else names.activation(k, j) for j in range(1, width + 1)]

    def lhs_tex(self, node) -> str:
        nt = self.nt
        if node.name in nt.display and node.kind == ACTIVATION:
            return f"{nt.display[node.name]} = {sympy.latex(node.symbol)}"
        return nt.tex(node.name)

    def definition_numbers(self, node, e: int) -> tuple[str, bool]:
        """The definition with the example's numbers substituted (as the notes do)."""
        values = self.sym_values(e)
        if node.kind == PRE_ACTIVATION and self.g.mode == "network":
            k, i = node.layer - 1, node.index[0]
            prev = self._previous(node)
            if len(prev) > MAX_TERMS_WRITTEN:
                return "", True
            exact = True
            parts = []
            num = self.nt.number
            for j, p in enumerate(prev, start=1):
                w = names.symbol(names.weight(k, i, j))
                wt, we = num(w, values[w], self.decimals)
                at, ae = num(names.symbol(p), values[names.symbol(p)], self.decimals)
                exact = exact and we and ae
                parts.append(rf"({wt} \cdot {_paren(at)})")
            b = names.symbol(names.bias(k, i))
            bt, be = num(b, values[b], self.decimals)
            exact = exact and be
            parts.append(_paren(bt))
            return " + ".join(parts), exact
        order = "none" if node.kind == LOSS and self.g.mode == "network" else None
        kw = {"order": order} if order else {}
        return self.nt.with_numbers(node.definition, values, self.decimals, **kw)

    def forward(self) -> str:
        g = self.g
        out = [f"\\{self.sub}*{{Forward pass}}\n"]
        defined = [n for n in g.nodes if not n.is_leaf]
        if g.mode == "network":
            out.append("Each node takes the weighted sum of the previous layer's outputs plus its bias, then "
                       "applies its activation; the last layer's output is the prediction $\\hat{y}$.\n")
        else:
            out.append("Each node computes its equation from its inputs, in order.\n")
        if not self.ev or self.ev.n > 1:
            rows = [f"{self.lhs_tex(n)} &= {self.definition_tex(n)}" for n in defined
                    if n.kind != LOSS or g.mode == "graph"]
            out.append(_align(rows))
        if not self.ev:
            out.append("The spec gives no data, so the derivation stays symbolic.\n")
            return "\n".join(out)
        for e in self.shown_examples():
            out.append(self.example_heading(e) + "\n")
            out.append(self.forward_numbers(e, include_loss=g.mode == "graph"))
        if self.ev.n > MAX_EXAMPLES_SHOWN:
            out.append(f"The other {self.ev.n - MAX_EXAMPLES_SHOWN} examples are computed the same way.\n")
        return "\n".join(out)

    def forward_numbers(self, e: int, include_loss: bool = True) -> str:
        """z^{2}_{1} = w^{1}_{1,1} x_1 + ... = (1 . 1) + (1 . 0) + 1 = 2, a^{2}_{1} = sigma(2) ~ 0.88, ..."""
        rows = []
        for n in self.g.nodes:
            if n.is_leaf or (n.kind == LOSS and not include_loss):
                continue
            subst, exact = self.definition_numbers(n, e)
            value, vexact = self.fmt(self.ev.value(e, n.name))
            lhs = self.lhs_tex(n)
            symbolic = self.definition_tex(n)
            if subst:
                rows.append(f"{lhs} &= {symbolic} {_rel(exact)} {subst} {_rel(exact and vexact)} {value}")
            else:
                rows.append(f"{lhs} &= {symbolic} {_rel(vexact)} {value}")
        return _align(rows)

    # -- 3. loss and reduction ------------------------------------------------------------------------
    def loss_and_reduction(self) -> str:
        g, nt = self.g, self.nt
        n_ex = self.ev.n if self.ev else 1
        if g.mode == "graph" and not g.parameters and n_ex == 1:
            return ""
        out = [f"\\{self.sub}*{{{'Loss' if g.mode == 'network' else 'Reduction over the examples'}}}\n"]
        out_node = g.node(g.output)
        if g.mode == "network":
            loss = get_loss(g.loss)
            formula = loss.latex
            if len(g.outputs) == 1:
                formula = (formula.replace(r"\sum_k ", "").replace("_k", "")
                           .replace(r"\frac{1}{K} ", ""))
            out.append(f"Per example, the {tex_escape(loss.description)}:\n")
            out.append(_display(formula + ("" if len(g.outputs) == 1 else
                                           " = " + self.definition_tex(out_node))))
        else:
            out.append(f"The output ${nt.out_tex} = {self.definition_tex(out_node)}$ is computed per example.\n")
        n = self.ev.n if self.ev else (self.d.n_examples or 1)
        L = nt.out_tex
        if self.d.reduction == "mean":
            out.append(f"The cost $J$ is the mean of the per-example losses over the $n = {n}$ "
                       f"example{'s' if n != 1 else ''}, so every gradient carries the factor "
                       "$\\frac{1}{n}$ explicitly:")
            out.append(_display(
                f"J = \\frac{{1}}{{n}} \\sum_{{e=1}}^{{n}} {L}_e, \\qquad "
                f"\\frac{{\\partial J}}{{\\partial \\theta}} = \\frac{{1}}{{n}} \\sum_{{e=1}}^{{n}} "
                f"\\frac{{\\partial {L}_e}}{{\\partial \\theta}}, \\qquad n = {n}."))
            if n == 1:
                out.append("With one example the mean is that example's loss ($J = " + L + "$).\n")
        else:
            out.append(f"The cost $J$ is the sum of the per-example losses over the $n = {n}$ "
                       f"example{'s' if n != 1 else ''} (no factor $\\frac{{1}}{{n}}$):")
            out.append(_display(
                f"J = \\sum_{{e=1}}^{{n}} {L}_e, \\qquad "
                f"\\frac{{\\partial J}}{{\\partial \\theta}} = \\sum_{{e=1}}^{{n}} "
                f"\\frac{{\\partial {L}_e}}{{\\partial \\theta}}, \\qquad n = {n}."))
        if self.ev:
            rows = []
            for e in self.shown_examples():
                subst, exact = self.definition_numbers(out_node, e)
                val, vex = self.fmt(self.ev.value(e, out_node.name))
                lhs = f"{L}_{{{e + 1}}}" if self.ev.n > 1 else L
                if g.mode == "network":
                    rows.append(f"{lhs} &= {self.definition_tex(out_node)} {_rel(exact)} {subst} "
                                f"{_rel(exact and vex)} {val}")
                else:
                    rows.append(f"{lhs} &{_rel(vex)} {val}")
            if self.ev.n > 1:
                total = self.ev.factor * sympy.Add(*[v[out_node.name] for v in self.ev.values])
                tv, tex_ = self.fmt(total)
                parts = [self.fmt(v[out_node.name]) for v in self.ev.values]
                shown = [_paren(t) for t, _ in parts]
                if len(shown) > 8:
                    shown = shown[:3] + [r"\dots"] + shown[-2:]
                pre = f"\\frac{{1}}{{{self.ev.n}}}" if self.d.reduction == "mean" else ""
                ex_all = all(x for _, x in parts)
                rows.append(f"J &{_rel(ex_all)} {pre}\\left({' + '.join(shown)}\\right) {_rel(ex_all and tex_)} {tv}")
            out.append(_align(rows))
        return "\n".join(out)

    # -- 4. backward pass node by node --------------------------------------------------------------
    def backward_nodes(self) -> list:
        """The nodes whose gradient the node-by-node pass shows, output first."""
        g = self.g
        out = []
        for n in reversed(g.nodes):
            if n.name not in self.d.node_gradients:
                continue
            if g.mode == "network" and n.kind in (INPUT, TARGET, PARAMETER):
                continue
            if n.kind == TARGET or (n.kind == INPUT and g.parameters):
                continue
            out.append(n)
        if g.mode == "network":  # within a layer, nodes in index order (1, 2, ...)
            rank = {}
            for n in out:
                rank.setdefault((n.layer, n.kind), len(rank))
            out.sort(key=lambda n: (rank[(n.layer, n.kind)], n.index))
        return out

    def backward(self) -> str:
        g, nt = self.g, self.nt
        out = [f"\\{self.sub}*{{Backward pass, node by node}}\n"]
        out.append(
            "Going backwards from the output, each node's gradient is the chain rule at that node: "
            "the sum over the nodes it feeds of the \\emph{upstream gradient} (already known) times the "
            "\\emph{local gradient} of that edge,\n"
            + _display(rf"\frac{{\partial {nt.out_tex}}}{{\partial v}} = \sum_{{c}} "
                       rf"\underbrace{{\frac{{\partial {nt.out_tex}}}{{\partial c}}}}_{{\text{{upstream}}}}\,"
                       rf"\underbrace{{\frac{{\partial c}}{{\partial v}}}}_{{\text{{local}}}}."))
        if g.mode == "graph":
            out.append(self.local_gradients())
        boxes = [n for n in self.backward_nodes() if self.d.node_gradients[n.name].simplified is not None]
        if self.ev and self.ev.n == 1:
            out.append(self.example_heading(0) + "\n")
            out.append(_align(self.backward_rows(0, symbolic=True)))
        else:
            out.append(_align(self.backward_rows(None, symbolic=True)))
            for e in self.shown_examples():
                out.append(self.numbers_intro(e) + ":\n")
                out.append(_align(self.backward_rows(e, symbolic=False)))
        for n in boxes:
            out.append(self.box(n))
        return "\n".join(out)

    def numbers_intro(self, e: int) -> str:
        """'With the numbers of the example (x = ...)' (or of example e, or the parameters' values)."""
        phrase = self.example_label_phrase(e)
        return "With the parameters' values" if phrase == "the parameters' values" else f"With the numbers of {phrase}"

    def example_label_phrase(self, e: int) -> str:
        if self.ev.n == 1:
            label = self.example_label(e)
            return f"the example (${label}$)" if label else "the parameters' values"
        return f"example {e + 1} (${self.example_label(e)}$)"

    def chain_fracs(self, n) -> str:
        """sum_c dL/dc dc/dn as fractions ('' when n feeds only the output)."""
        nt = self.nt
        ng = self.d.node_gradients[n.name]
        fracs = [f"{nt.grad(c)}\\,{nt.local(c, n.name)}" for c, _ in ng.terms if c != self.g.output]
        return " + ".join(fracs)

    def chain_expression(self, n) -> str:
        """sum_c dL/dc * (local derivative written out)."""
        nt = self.nt
        ng = self.d.node_gradients[n.name]
        exprs = []
        for c, ld in ng.terms:
            if c == self.g.output:
                exprs.append(nt.latex(ld.expression))
            else:
                exprs.append(f"{nt.grad(c)} \\cdot {nt.factor(ld.expression)}")
        return " + ".join(exprs)

    def chain_at_node(self, n) -> str:
        """sum_c dL/dc dc/dn = sum_c dL/dc * (local derivative), in symbols."""
        fracs, expr = self.chain_fracs(n), self.chain_expression(n)
        return f"{fracs} = {expr}" if fracs else expr

    def chain_numbers(self, n, e: int) -> tuple[str, bool]:
        """The chain rule at n with example e's numbers: upstream values times local values."""
        nt = self.nt
        vals = self.sym_values(e)
        grads = self.ev.gradients[e]
        ng = self.d.node_gradients[n.name]
        if ng.simplified is not None:
            return nt.with_numbers(ng.simplified, vals, self.decimals)
        parts, exact = [], True
        for c, ld in ng.terms:
            lt, lex = nt.with_numbers(ld.expression, vals, self.decimals)
            exact = exact and lex
            if c == self.g.output:
                parts.append(lt)
            else:
                ut, uex = self.fmt(grads[c])
                exact = exact and uex
                parts.append(f"{_paren(ut)} \\cdot {nt.factor_text(ld.expression, lt)}")
        return " + ".join(parts), exact

    def backward_rows(self, e, symbolic: bool = True) -> list:
        """One row per node: dL/dv = (chain rule in symbols) = (numbers) = value."""
        nt = self.nt
        rows = []
        for n in self.backward_nodes():
            ng = self.d.node_gradients[n.name]
            if n.name == self.g.output:
                if symbolic:
                    rows.append(f"{nt.grad(n.name)} &= 1")
                continue
            chain = []
            if symbolic:
                fracs = self.chain_fracs(n)
                if fracs:
                    chain.append(fracs)
                if ng.simplified is not None:
                    chain.append(nt.latex(ng.simplified) + r"\quad\text{(the box below)}" if e is None else
                                 nt.latex(ng.simplified))
                else:
                    chain.append(self.chain_expression(n))
            text = f"{nt.grad(n.name)} &= " + " = ".join(chain) if chain else f"{nt.grad(n.name)} &"
            if e is not None:
                subst, exact = self.chain_numbers(n, e)
                v, vex = self.fmt(self.ev.gradients[e][n.name])
                last = chain[-1] if chain else None
                if subst != last and subst != v:
                    text += f" {_rel(exact)} {subst}" if chain else f"{_rel(exact)} {subst}"
                    text += f" {_rel(exact and vex)} {v}"
                else:
                    text += f" {_rel(exact and vex)} {v}" if chain else f"{_rel(exact and vex)} {v}"
            rows.append(text)
        return rows

    def local_gradients(self) -> str:
        """Graph mode: every node's local gradients with the rule used (the slides' first step)."""
        nt = self.nt
        out = ["The local gradients at each node:\n"]
        items = []
        for n in self.g.nodes:
            if n.is_leaf:
                continue
            locs = [ld for (c, p), ld in self.d.local_derivatives.items() if c == n.name]
            if not locs:
                continue
            order = {p: i for i, p in enumerate(n.parents)}
            locs.sort(key=lambda ld: order.get(ld.parent, 0))
            eqs = ",\\quad ".join(f"{nt.local(n.name, ld.parent)} = {nt.latex(ld.expression)}" for ld in locs)
            rules = "; ".join(f"${nt.inline_grad(ld.parent, nt.tex(n.name))}$: {rule_tex(ld.rule)}" for ld in locs)
            items.append(f"\\item ${nt.tex(n.name)} = {self.definition_tex(n)}$:\\quad ${eqs}$\\\\\n"
                         f"{{\\small {rules}}}")
        if not items:
            return ""
        return "\n".join(out) + "\\begin{itemize}\n" + "\n".join(items) + "\n\\end{itemize}\n"

    def box(self, n) -> str:
        """The lectures' boxed simplification at ``n`` (BCE after a sigmoid: dL/dz = yhat - y), in steps."""
        nt = self.nt
        ng = self.d.node_gradients[n.name]
        out = []
        lines = []
        if len(ng.terms) == 1 and ng.terms[0][0] in self.d.node_gradients:
            a, ld_act = ng.terms[0]
            up = self.d.node_gradients[a]
            if len(up.terms) == 1 and up.terms[0][0] == self.g.output:
                ld_loss = up.terms[0][1]
                loss_expr = ld_loss.expression
                together = sympy.together(loss_expr)
                num, den = sympy.fraction(together)
                combined = sympy.expand(num) / den
                combined_ok = sympy.cancel(combined - loss_expr) == 0
                out.append(
                    f"The simplification the slides box, derived step by step: by the chain rule through "
                    f"${nt.tex(a)}$,\n")
                lines.append(f"{nt.grad(n.name)} &= {nt.grad(a)} \\cdot {nt.local(a, n.name)}")
                step = f"{nt.grad(a)} &= {nt.latex(loss_expr)}"
                if combined_ok and combined != loss_expr:
                    step += f" = {nt.latex(combined)}"
                lines.append(step + f" && \\text{{{rule_tex(ld_loss.rule)}}}")
                lines.append(f"{nt.local(a, n.name)} &= {nt.latex(ld_act.expression)}"
                             f" && \\text{{{rule_tex(ld_act.rule)}}}")
                shown = combined if combined_ok else loss_expr
                lines.append(f"{nt.grad(n.name)} &= {nt.factor(shown)} \\cdot {nt.factor(ld_act.expression)}")
                lines.append(f"&= \\boxed{{{nt.latex(ng.simplified)}}}")
                out.append(_align(lines))
                out.append(f"The factor ${nt.latex(ld_act.expression)}$ cancels.")
                out.append(self._matrix_remark(n, ng))
                return "\n".join(out)
        product = ng.product if ng.product is not None else ng.expression
        out.append(f"The simplification the lectures box, derived step by step at ${nt.tex(n.name)}$:\n")
        out.append(_align([f"{nt.grad(n.name)} &= {nt.latex(product)}",
                           f"&= \\boxed{{{nt.latex(ng.simplified)}}}"]))
        out.append(self._matrix_remark(n, ng))
        return "\n".join(out)

    def _matrix_remark(self, n, ng) -> str:
        """In matrix notation (the slides), z^{L} is z_{L-1}: state the boxed result in those names."""
        if self.g.mode != "network" or n.kind != PRE_ACTIVATION or len(self.g.outputs) != 1:
            return ""
        k = n.layer - 1
        yhat, y = names.symbol(self.g.outputs[0].name), names.symbol(names.target(1))
        if sympy.expand(ng.simplified - (yhat - y)) != 0:
            return ""
        where = "In the slides' matrix notation"
        return (f"{where} ($z_{{{k}}} = a_{{{k - 1}}} W_{{{k}}} + b_{{{k}}}$, $\\hat{{y}} = \\sigma(z_{{{k}}})$) "
                f"this is the boxed result $\\partial L/\\partial z_{{{k}}} = \\hat{{y}} - y$.\n"
                if k > 1 else
                f"{where} ($z_{{1}} = x W_{{1}} + b_{{1}}$, $\\hat{{y}} = \\sigma(z_{{1}})$) this is the boxed result "
                f"$\\partial L/\\partial z_{{1}} = \\hat{{y}} - y$.\n")

    # -- 5. per target ------------------------------------------------------------------------------
    def fused_node(self, path) -> int | None:
        """Index in ``path.nodes`` of the first node (after the start) with a boxed simplification."""
        for i, name in enumerate(path.nodes):
            ng = self.d.node_gradients.get(name)
            if ng is not None and ng.simplified is not None:
                return i
        return None

    def target(self, name: str) -> str:
        """Everything about one parameter (or node): paths, chain rule, local derivatives, numbers, update."""
        d, nt, g = self.d, self.nt, self.g
        out = [f"\\{self.sub}*{{The gradient ${nt.inline_grad(name)}$}}\n"]
        paths = d.paths(name, limit=MAX_PATHS_SHOWN + 1)
        if not paths:
            out.append(f"The output ${nt.out_tex}$ does not depend on ${nt.tex(name)}$: the gradient is $0$.\n")
            return "\n".join(out)
        many = len(paths) > MAX_PATHS_SHOWN
        if many:
            out.append(f"There are more than {MAX_PATHS_SHOWN} paths of influence from ${nt.tex(name)}$ to "
                       f"${nt.out_tex}$; backpropagation sums them node by node, so the gradient is the "
                       "upstream gradient of the nodes it feeds times the local gradients:\n")
            out.append(_display(f"{nt.grad(name)} = {self.chain_at_node(g.node(name))}"))
            out.append("The local derivatives:\n")
            out.append(self.local_list([ld for _, ld in d.node_gradients[name].terms]))
        else:
            out.append(self.paths_block(name, paths))
        if self.ev:
            out.append(self.target_numbers(name, paths if not many else None))
        return "\n".join(out)

    def path_tex(self, path) -> str:
        return r" \to ".join(self.nt.tex(n) for n in path.nodes)

    def path_product_fracs(self, path) -> list:
        """The chain-rule factors of a path, in the lecture's order (from the output backwards)."""
        return [self.nt.local(f.child, f.parent) for f in reversed(path.factors)]

    def paths_block(self, name: str, paths) -> str:
        nt = self.nt
        out = []
        if len(paths) == 1:
            out.append(f"Path of influence: ${self.path_tex(paths[0])}$.\n")
        else:
            out.append(f"${nt.tex(name)}$ influences ${nt.out_tex}$ along {len(paths)} paths:\n")
            out.append("\\begin{itemize}\n" + "\n".join(f"\\item ${self.path_tex(p)}$" for p in paths)
                       + "\n\\end{itemize}\n")
        direct = len(paths) == 1 and len(paths[0].factors) == 1  # the output is a function of it directly
        if not direct:
            out.append("Applying the chain rule" + (" along the path:" if len(paths) == 1 else
                                                    ", one product per path, summed over the paths:") + "\n")
            rows = []
            for i, p in enumerate(paths):
                fr = self.path_product_fracs(p)
                lhs = nt.grad(name) if i == 0 else ""
                rows.extend(self._long_product(lhs, fr, " \\cdot ", first_rel="=" if i == 0 else "+"))
            out.append(_align(rows))
        # local derivatives, each once, in the lecture's order
        seen, lds = set(), []
        for p in paths:
            for f in reversed(p.factors):
                if (f.child, f.parent) not in seen:
                    seen.add((f.child, f.parent))
                    lds.append(f)
        out.append(("Each local derivative, with the rule it uses:" if not direct else
                    f"${nt.out_tex}$ depends on ${nt.tex(name)}$ directly:") + "\n")
        out.append(self.local_list(lds))
        if direct:
            return self._in_terms_of_inputs(name, "\n".join(out))
        # assembled
        out.append("Multiplying the local derivatives" + (" and summing over the paths" if len(paths) > 1 else "")
                   + ":\n")
        rows = []
        for i, p in enumerate(paths):
            factors = [self.nt.factor(f.expression) for f in reversed(p.factors)]
            lhs = nt.grad(name) if i == 0 else ""
            rows.extend(self._long_product(lhs, factors, " \\cdot ", first_rel="=" if i == 0 else "+"))
        fused = [self.fused_node(p) for p in paths]
        if any(f is not None for f in fused):
            terms = []
            for p, fi in zip(paths, fused):
                if fi is None:
                    terms.append(" \\cdot ".join(self.nt.factor(f.expression) for f in reversed(p.factors)))
                    continue
                node = p.nodes[fi]
                simp = self.d.node_gradients[node].simplified
                rest = [self.nt.factor(f.expression) for f in reversed(p.factors[:fi])]
                terms.append(" \\cdot ".join([self.nt.factor(simp)] + rest))
            rows.append(f"&= {' + '.join(terms)}")
        per_example = self.d.per_example_gradient(name)
        final = nt.latex(per_example)
        if (len(paths) > 1 or any(f is not None for f in fused)) and not rows[-1].endswith(final) \
                and len(final) < 400:
            rows.append(f"&= {final}")
        out.append(_align(rows))
        if any(f is not None for f in fused):
            node = paths[0].nodes[[f for f in fused if f is not None][0]]
            out.append(f"(The first factors combine into the boxed "
                       f"${nt.inline_grad(node)} = {nt.latex(self.d.node_gradients[node].simplified)}$ derived above.)\n")
        ng = self.d.node_gradients.get(name)
        if ng is not None and ng.terms and not all(c == self.g.output for c, _ in ng.terms):
            out.append("Backpropagation reaches the same product by reusing the upstream gradient "
                       "of the node" + ("s" if len(ng.terms) > 1 else "") + f" ${nt.tex(name)}$ feeds:\n")
            out.append(_display(f"{nt.grad(name)} = {self.chain_at_node(self.g.node(name))}"))
        return self._in_terms_of_inputs(name, "\n".join(out))

    def _in_terms_of_inputs(self, name: str, text: str) -> str:
        """Graph mode: the gradient written in the inputs when that is short (6u = 18x)."""
        if self.g.mode != "graph":
            return text
        nt = self.nt
        per_example = self.d.per_example_gradient(name)
        expanded = self.d.expanded_gradient(name)
        if expanded != per_example and sympy.count_ops(expanded) <= 30:
            text += (f"\nIn terms of the inputs: ${nt.grad(name)} = {nt.latex(per_example)} = "
                     f"{nt.latex(expanded)}$.\n")
        return text

    def _long_product(self, lhs: str, factors: list, sep: str, first_rel: str = "=") -> list:
        rows = []
        for start in range(0, max(len(factors), 1), FACTORS_PER_LINE):
            chunk = sep.join(factors[start:start + FACTORS_PER_LINE])
            if start == 0:
                rows.append(f"{lhs} &{first_rel} {chunk}")
            else:
                rows.append(f"&\\quad \\cdot {chunk}")
        return rows

    def local_list(self, lds) -> str:
        """Each local derivative on its own line, with what it measures and the rule used."""
        items = []
        for ld in lds:
            items.append("\\item " + self.local_item(ld))
        return "\\begin{enumerate}\n" + "\n".join(items) + "\n\\end{enumerate}\n"

    def describe_edge(self, ld) -> str:
        g = self.g
        child, parent = g.node(ld.child), g.node(ld.parent)
        if g.mode != "network":
            return f"how ${self.nt.tex(ld.child)}$ changes with ${self.nt.tex(ld.parent)}$"
        if child.kind == LOSS:
            return "the derivative of the loss with respect to the prediction"
        if child.kind == ACTIVATION:
            return f"the derivative of layer {child.layer}'s activation function"
        if child.kind == PRE_ACTIVATION:
            if parent.kind == PARAMETER and parent.name.startswith("b"):
                return "how the weighted sum changes with its bias"
            if parent.kind == PARAMETER:
                return "how the weighted sum changes with the weight"
            return "how the weighted sum changes with the input it weighs"
        return f"how ${self.nt.tex(ld.child)}$ changes with ${self.nt.tex(ld.parent)}$"

    def local_item(self, ld) -> str:
        nt, g = self.nt, self.g
        child = g.node(ld.child)
        lhs = nt.local(ld.child, ld.parent)
        result = nt.latex(ld.expression)
        if child.kind == ACTIVATION and child.activation and not get_activation(child.activation).layerwise:
            act = get_activation(child.activation)
            middle = rf"{act.latex_name}'\left({nt.tex(ld.parent)}\right)"
            rule = f"{tex_escape(ld.rule.split(':')[0])}, ${act.rule_latex}$"
        else:
            middle = rf"\frac{{\partial}}{{\partial {nt.tex(ld.parent)}}}\left[{self.definition_tex(child)}\right]"
            rule = rule_tex(ld.rule)
        return (f"${lhs}$, {self.describe_edge(ld)}.\\\\\n{{\\small Rule: {rule}.}}\n"
                + _display(f"{lhs} = {middle} = {result}"))

    def target_numbers(self, name: str, paths) -> str:
        nt, ev = self.nt, self.ev
        out = []
        is_param = self.g.node(name).kind == PARAMETER
        for e in self.shown_examples():
            vals = self.sym_values(e)
            rows = []
            if paths is not None:
                seen = set()
                for p in paths:
                    fi = self.fused_node(p)
                    if fi is not None and p.nodes[fi] not in seen:
                        node = p.nodes[fi]
                        seen.add(node)
                        simp = self.d.node_gradients[node].simplified
                        subst, ex = nt.with_numbers(simp, vals, self.decimals)
                        v, vex = self.fmt(self.ev.gradients[e][node])
                        rows.append(f"{nt.grad(node)} &= {nt.latex(simp)} {_rel(ex)} {subst} {_rel(ex and vex)} {v}")
                    for f in reversed(p.factors[:fi] if fi is not None else p.factors):
                        if (f.child, f.parent) in seen:
                            continue
                        seen.add((f.child, f.parent))
                        subst, ex = nt.with_numbers(f.expression, vals, self.decimals)
                        v, vex = self.fmt(f.expression.xreplace(vals))
                        row = f"{nt.local(f.child, f.parent)} &= {nt.latex(f.expression)}"
                        if subst != nt.latex(f.expression) and subst != v:
                            row += f" {_rel(ex)} {subst}"
                        if v != nt.latex(f.expression):
                            row += f" {_rel(ex and vex)} {v}"
                        rows.append(row)
                terms, exact = [], True
                for p in paths:
                    fi = self.fused_node(p)
                    factors = []
                    if fi is not None:
                        node = p.nodes[fi]
                        t, tex_ = self.fmt(ev.gradients[e][node])
                        factors.append(_paren(t))
                        exact = exact and tex_
                        use = p.factors[:fi]
                    else:
                        use = p.factors
                    for f in reversed(use):
                        t, tex_ = self.fmt(f.expression.xreplace(vals))
                        factors.append(f"({t})")
                        exact = exact and tex_
                    terms.append(" ".join(factors))
                v, vex = self.fmt(ev.gradients[e].get(name, sympy.S.Zero))
                lhs = nt.grad(name) + (f"\\Big|_{{e={e + 1}}}" if ev.n > 1 else "")
                if len(paths) == 1 and len(paths[0].factors) == 1:  # the row above is the gradient
                    if ev.n > 1:
                        rows[-1] = rows[-1].replace(nt.local(paths[0].factors[0].child, name), lhs, 1)
                else:
                    rows.append(f"{lhs} &{_rel(exact)} {' + '.join(terms)} {_rel(exact and vex)} {v}")
            else:
                v, vex = self.fmt(ev.gradients[e].get(name, sympy.S.Zero))
                rows.append(f"{nt.grad(name)} &{_rel(vex)} {v}")
            out.append((self.numbers_intro(e)
                        + (" (the factors are rounded for display; the product is computed exactly)" if not all(
                            self.fmt(f.expression.xreplace(vals))[1] for p in (paths or []) for f in p.factors) else "")
                        + ":\n"))
            out.append(_align(rows))
        if ev.n > MAX_EXAMPLES_SHOWN:
            out.append(f"The other {ev.n - MAX_EXAMPLES_SHOWN} examples are computed the same way.\n")
        if not is_param:
            return "\n".join(out)
        out.append(self.reduction_and_update(name))
        return "\n".join(out)

    def reduction_and_update(self, name: str) -> str:
        nt, ev = self.nt, self.ev
        total = ev.total(name)
        tv, tex_ = self.fmt(total)
        out = []
        if ev.n == 1:
            red = (f"With one example, $\\frac{{\\partial J}}{{\\partial {nt.tex(name)}}} = "
                   f"{'' if self.d.reduction == 'sum' else chr(92) + 'frac{1}{1}'}"
                   f"{nt.grad(name)} {_rel(tex_)} {tv}$.\n")
            out.append(red)
        else:
            parts = []
            exact = True
            for g_ in ev.gradients:
                t, te = self.fmt(g_.get(name, sympy.S.Zero))
                exact = exact and te
                parts.append(_paren(t))
            shown = parts if len(parts) <= 8 else parts[:3] + [r"\dots"] + parts[-2:]
            factor = f"\\frac{{1}}{{{ev.n}}}" if self.d.reduction == "mean" else ""
            one_over_n = "\\frac{1}{n}" if self.d.reduction == "mean" else ""
            out.append("The reduction over the examples:\n")
            out.append(_display(
                f"\\frac{{\\partial J}}{{\\partial {nt.tex(name)}}} = "
                f"{one_over_n}\\sum_{{e=1}}^{{n}} "
                f"{nt.grad(name)}\\Big|_{{e}} {_rel(exact)} {factor}\\left({' + '.join(shown)}\\right) "
                f"{_rel(exact and tex_)} {tv}"))
        out.append(self.update_line(name))
        return "\n".join(out)

    def update_line(self, name: str) -> str:
        """One gradient-descent step w <- w - alpha dJ/dw, with its numbers."""
        nt, ev = self.nt, self.ev
        sym = names.symbol(name)
        old = self.numbers.parameters[sym]
        lr = self.numbers.learning_rate
        total = ev.total(name)
        new = old - lr * total
        ot, oe = self.fmt(old)
        lt, le = self.given(lr), True
        gt, ge = self.fmt(total)
        nt_, ne = _distinguishing(new, old, self.decimals)
        return ("One step of gradient descent with learning rate "
                f"$\\alpha = {lt}$:\n"
                + _display(f"{nt.tex(name)} \\leftarrow {nt.tex(name)} - \\alpha "
                           f"\\frac{{\\partial J}}{{\\partial {nt.tex(name)}}} {_rel(oe and le and ge)} "
                           f"{ot} - {lt} \\cdot {_paren(gt)} {_rel(ne)} {nt_}"))

    # -- 6. summary ----------------------------------------------------------------------------------
    def summary(self, targets) -> str:
        if not self.ev:
            return ""
        nt = self.nt
        params = [t for t in targets if self.g.node(t).kind == PARAMETER]
        if not params:
            rows = [f"${nt.tex(t)}$ & ${self.fmt(self.ev.gradients[0].get(t, 0))[0]}$ \\\\" for t in targets]
            if not rows or self.ev.n != 1:
                return ""
            return (f"\\{self.sub}*{{Summary}}\n\\begin{{center}}\n\\begin{{tabular}}{{cc}}\n\\toprule\n"
                    f"$v$ & ${nt.partial(nt.out_tex, 'v')}$ \\\\\n\\midrule\n"
                    + "\n".join(rows) + "\n\\bottomrule\n\\end{tabular}\n\\end{center}\n")
        lr = self.numbers.learning_rate
        rows = []
        for t in params:
            old = self.numbers.parameters[names.symbol(t)]
            total = self.ev.total(t)
            new = old - lr * total
            rows.append(f"${nt.tex(t)}$ & ${self.fmt(old)[0]}$ & ${self.fmt(total)[0]}$ & "
                        f"${_distinguishing(new, old, self.decimals)[0]}$ \\\\")
        lt = self.given(lr)
        return (f"\\{self.sub}*{{Summary: gradients and one update step ($\\alpha = {lt}$)}}\n"
                "\\begin{center}\n\\begin{tabular}{cccc}\n\\toprule\n"
                "$\\theta$ & value & $\\partial J/\\partial\\theta$ & $\\theta - \\alpha\\, \\partial J/\\partial\\theta$ \\\\\n"
                "\\midrule\n" + "\n".join(rows) + "\n\\bottomrule\n\\end{tabular}\n\\end{center}\n")


# ---------------------------------------------------------------------------------------------
# notebooks


def derivation_math(d: Derivation, wrt=None, decimals: int = 2) -> str:
    """The derivation as one ``aligned`` block, valid inside ``$$ ... $$`` (Jupyter's MathJax).

    For each target: the path product, each local derivative, and the value at the first
    example. Use it for ``_repr_latex_``: ``"$$" + derivation_math(d) + "$$"``.
    """
    targets, _ = _resolve_targets(d, wrt)
    r = Renderer(d, decimals, Numbers.from_spec(d))
    nt = r.nt
    rows = []
    for name in targets[:MAX_TARGETS]:
        paths = d.paths(name, limit=MAX_PATHS_SHOWN + 1)
        if not paths:
            rows.append(f"{nt.grad(name)} &= 0")
            continue
        if len(paths) <= MAX_PATHS_SHOWN:
            terms = [" ".join(r.path_product_fracs(p)) for p in paths]
            rows.append(f"{nt.grad(name)} &= {' + '.join(terms)}")
            prods = [" \\cdot ".join(nt.factor(f.expression) for f in reversed(p.factors)) for p in paths]
            rows.append(f"&= {' + '.join(prods)}")
        else:
            rows.append(f"{nt.grad(name)} &= {r.chain_at_node(d.graph.node(name))}")
        if r.ev:
            v, ex = r.fmt(r.ev.gradients[0].get(name, sympy.S.Zero))
            rows.append(f"&{_rel(ex)} {v} \\quad \\text{{(example 1)}}")
    return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"


# ---------------------------------------------------------------------------------------------
# regenerating derivations/*.tex


def uses_matrix_form(spec) -> bool:
    """True when ``symbackprop derive --latex`` renders this spec in matrix form: ``notation =
    "matrix"`` or a network too big for per-scalar derivation (the CLI's rule), and the matrix
    renderer is installed."""
    if spec.network is None or _matrix_module() is None:
        return False
    from ..derivation.matrix_form import uses_matrix_form as rule

    return rule(spec)


def spec_document(spec, decimals: int = 2, fragment: bool = False) -> str:
    """The LaTeX document of a spec as ``symbackprop derive SPEC --latex`` writes it: the matrix
    form (without building the per-scalar derivation) when :func:`uses_matrix_form`, else
    :func:`derivation_document` of ``derive(spec)``."""
    if uses_matrix_form(spec):
        return _matrix_module().matrix_derivation_document(spec, decimals=decimals, fragment=fragment)
    from ..derivation.chain_rule import derive

    return derivation_document(derive(spec), decimals=decimals, fragment=fragment)


def regenerate(folder: str = "derivations", check: bool = False, decimals: int = 2) -> list:
    """Rewrite ``folder/*.tex`` from ``folder/*.toml`` (or, with ``check``, list the stale ones).

    Returns the paths written (or stale). Each file is written atomically.
    """
    from ..fileio import write_atomic
    from ..spec.load import load_spec

    changed = []
    for fname in sorted(os.listdir(folder)):
        if not fname.endswith(".toml"):
            continue
        spec_path = os.path.join(folder, fname)
        tex_path = spec_path[:-5] + ".tex"
        text = spec_document(load_spec(spec_path), decimals=decimals)
        old = None
        if os.path.exists(tex_path):
            with open(tex_path, encoding="utf-8") as fh:
                old = fh.read()
        if old != text:
            changed.append(tex_path)
            if not check:
                write_atomic(tex_path, text, force=True)
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m symbackprop.render.latex",
                                     description="regenerate derivations/*.tex from derivations/*.toml")
    parser.add_argument("--regenerate", action="store_true", help="rewrite every stale .tex")
    parser.add_argument("--check", action="store_true", help="only list stale .tex files (exit 1 if any)")
    parser.add_argument("--folder", default="derivations")
    args = parser.parse_args(argv)
    if not (args.regenerate or args.check):
        parser.print_help()
        return 2
    try:
        changed = regenerate(args.folder, check=args.check)
    except SymbackpropError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for p in changed:
        print(("stale: " if args.check else "wrote: ") + p)
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
