"""The pieces of the LaTeX derivation that are not the document: escaping text, the numbers' rule
(:mod:`symbackprop.render.numbers`, re-exported here), the bottom-up ``Evaluation`` of a derivation at
the spec's numbers, the ``Notation`` of nodes, and the rules' LaTeX. (Split out of ``render.latex``,
which re-exports every name.)
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import sympy

from ..spec import names
from ..derivation.chain_rule import Derivation, upstream_symbol
from ..errors import SymbackpropError
from ..ops.losses import reduction_factor
from ..ops.rules import rule_formulas
from .printers import LectureLatexPrinter, constant_names, lecture_forms, rule_as_written
from .numbers import (  # noqa: F401  (the numbers' rule lives there; re-exported)
    DEFAULT_DECIMALS,
    MAX_DECIMALS,
    _EXACT_INTEGERS,
    _LARGE,
    _NUMERIC_MEMO,
    _PRECISION,
    _WIDE,
    _decimal,
    _distinguishing,
    _not_real,
    _numeric,
    _paren,
    _plain,
    _round,
    _scientific,
    _shown,
    _sign,
    _terminating_digits,
    format_given,
    format_number,
)


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


def untypesettable(text: str) -> list:
    """The characters of ``text`` that :func:`tex_escape` cannot typeset with the installed fonts
    (CJK, emoji, …: they become ``?``), each once, in order of appearance."""
    out = []
    for ch in str(text):
        if ch not in out and ch != "?" and "?" in tex_escape(ch):
            out.append(ch)
    return out


def pdf_title(title: str) -> str:
    r"""The PDF's /Title entry for ``title``, every character kept (CJK, emoji): pdfTeX's ``\pdfinfo``
    with a UTF-16BE hexadecimal PDF string, so the user's text is only hex digits in the source (nothing
    TeX or PDF would read as a command). Empty outside pdfTeX."""
    title = str(title)
    if _PLAIN_TITLE.fullmatch(title) and _balanced(title):   # readable in the .tex: a literal PDF string
        return rf"\ifdefined\pdfinfo\pdfinfo{{/Title ({title})}}\fi"
    units = title.encode("utf-16-be").hex().upper()
    return rf"\ifdefined\pdfinfo\pdfinfo{{/Title <FEFF{units}>}}\fi"


#: what a literal PDF string may hold as it is, with TeX reading nothing in it as a command
_PLAIN_TITLE = re.compile(r"[A-Za-z0-9 ,.:;'!?+=/()*-]*")


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def warn_untypesettable(title: str, where: str) -> None:
    """One stderr line naming the title's characters pdflatex cannot typeset here (they show as ``?``
    in the document; the PDF's title metadata keeps them)."""
    missing = untypesettable(title)
    if missing:
        import sys

        shown = " ".join(f"{ch} (U+{ord(ch):04X})" for ch in missing)
        sys.stderr.write(f"{where}: title: no font here for {shown}: the document shows '?' for "
                         f"{'them' if len(missing) > 1 else 'it'}; the PDF's title metadata keeps the title whole\n")


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
    output's name (L or f) in every partial derivative, and numbers substituted for symbols; Euler's
    exp as \\exp(w) where the spec has its own e (``printers.constant_names``)."""

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
        self._tex: dict = {}  # name -> its LaTeX, each written once (a node is named many times)
        self.symbol_names = {names.symbol(k): v for k, v in display.items()}
        self.symbol_names.update(constant_names(g))   # a spec with its own e: exp(w), never e^{w}
        for n in g.nodes:
            self.symbol_names[upstream_symbol(n.name)] = self.grad(n.name)

    # names
    def tex(self, name: str) -> str:
        hit = self._tex.get(name)
        if hit is None:
            hit = self.display[name] if name in self.display else sympy.latex(names.symbol(name))
            self._tex[name] = hit
        return hit

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
        """``expr`` in the lectures' LaTeX (:class:`~symbackprop.render.printers.LectureLatexPrinter`):
        ŷ and y, positive terms first (½(y − ŷ)²), ŷ(1 − ŷ), \\tanh(z), fractions."""
        return LectureLatexPrinter(self.symbol_names, kw).doprint(expr)

    def rule_tex(self, rule: str) -> str:
        """:func:`rule_tex` as this page writes it (exp(x) rather than e^x where the spec has its own e)."""
        return rule_tex(rule, self.symbol_names)

    def factor(self, expr) -> str:
        """An expression as a factor of a product (parenthesized when it is a sum or negative)."""
        expr = lecture_forms(expr)   # ŷ − ŷ² is the product ŷ(1 − ŷ), not a sum
        text = self.latex(expr)
        if isinstance(expr, sympy.Add) or text.startswith("-"):
            return rf"\left({text}\right)"
        return text

    def factor_text(self, expr, text: str) -> str:
        """``text`` (``expr`` written out) parenthesized as a factor when needed (a sum as it prints:
        ŷ − ŷ² is ŷ(1 − ŷ), ELU's 1 + a(1 − 1[z > 0]) is elu′(z))."""
        if isinstance(lecture_forms(expr), sympy.Add) or text.startswith("-"):
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
        return _tidy(LectureLatexPrinter(sn, kw, numbers=True).doprint(expr)), exact


_DOUBLE_PAREN = re.compile(r"\\left\(\((-[^()]*)\)\s*\\right\)")
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


def rule_tex(rule: str, names: dict | None = None) -> str:
    r"""A rule's words (``LocalDerivative.rule``, pieces joined by "; ") as LaTeX text with inline math:
    each piece that a registry entry writes (an activation's, a loss's, :mod:`symbackprop.ops.rules`)
    as its name and its formula's LaTeX (``derivative of the sigmoid, $\sigma'(z) = …$``), the rest
    escaped (``sum rule``, ``product rule``). ``names`` as the page's printer has them: where the spec
    has its own e, ``\frac{d}{dx} \exp(x) = \exp(x)`` (``printers.rule_as_written``)."""
    formulas = rule_formulas()
    pieces = []
    for piece in rule.split("; "):
        name, sep, _ = piece.partition(": ")
        if piece in formulas and sep:
            pieces.append(f"{tex_escape(name)}, ${rule_as_written(formulas[piece], names, latex=True)}$")
        else:
            pieces.append(tex_escape(rule_as_written(piece, names)))
    return "; ".join(pieces)


_DELIMITER = re.compile(r"\\(left|right)(\(|\)|\[|\]|\\\{|\\\}|\.|\||\\\|)")
#: what makes parentheses worth growing: a fraction, a big operator, an environment
_TALL = ("\\frac", "\\dfrac", "\\sum", "\\prod", "\\int", "\\begin", "\\binom", "\\left[", "\\left\\{")


def plain_parentheses(tex: str) -> str:
    r"""``\left( … \right)`` as plain ``( … )`` unless what they enclose is tall (a fraction, a sum,
    an environment): ``\sigma\left(z^{2}_{1}\right)`` → ``\sigma(z^{2}_{1})``, whose parentheses
    ``\left`` would stretch over the superscript and subscript, as the lecture notes never do;
    ``\left(\frac{1}{2}\right)`` keeps them. Pairs are matched as TeX matches them (nested,
    any delimiter), so an unbalanced or mixed pair is left as it is."""
    if "\\left(" not in tex:
        return tex
    stack, plain = [], []
    for m in _DELIMITER.finditer(tex):
        if m.group(1) == "left":
            stack.append(m)
        elif stack:
            opening = stack.pop()
            if opening.group(2) == "(" and m.group(2) == ")":
                inner = tex[opening.end():m.start()]
                if not any(t in inner for t in _TALL):
                    plain.append((opening.start(), opening.end(), "("))
                    plain.append((m.start(), m.end(), ")"))
    if not plain:
        return tex
    out, last = [], 0
    for start, end, text in sorted(plain):
        out.append(tex[last:start])
        out.append(text)
        last = end
    out.append(tex[last:])
    return "".join(out)
