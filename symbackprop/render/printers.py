r"""The lectures' notation as plain text: one printer for every face that is not LaTeX.

``derive``'s text, the answer checker's feedback, JSON strings and Markdown all print SymPy
expressions through :func:`text`, never through ``str(expr)``:

- the network's output is ŷ (ŷ_1, ŷ_2, … for several outputs) and its target y;
- sums are written with their positive terms first, so ½(y − ŷ)² reads as the lectures write it;
- products use juxtaposition before a parenthesis and · elsewhere: ŷ(1 − ŷ), x_1 · w^{2}_{1,1};
  ``a − a²`` is written a(1 − a) (:func:`lecture_forms`), one factor order for text and LaTeX
  (:func:`factor_order`);
- numeric factors as fractions (½, 1/n), small powers as superscripts (x², ŷ³), other powers ^(…);
- the activations by their lecture names: σ(z), tanh(z), ReLU(z), and derivatives of
  activations as σ′(z);
- Euler's exp as e^(w), or as exp(w) on a page whose spec has its own symbol e
  (:func:`constant_names`), where e^(w) would read as that e raised to the power w.

Example::

    >>> import sympy
    >>> a, y = sympy.symbols("a^{3}_{1} y_{1}")
    >>> text((y - a) ** 2 / 2, {a: "ŷ", y: "y"})
    '½(y − ŷ)²'
"""
from __future__ import annotations

import functools
import re
import unicodedata

import sympy
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.latex import LatexPrinter, accepted_latex_functions
from sympy.printing.str import StrPrinter

from ..ops import losses as _losses  # noqa: F401  (registers the losses' helpers: huber′)
from ..ops.activations import ACTIVATIONS, ELEMENTWISE

_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_VULGAR = {(1, 2): "½", (1, 3): "⅓", (2, 3): "⅔", (1, 4): "¼", (3, 4): "¾"}
_FUNCTION_NAMES = {"sigmoid": "σ", "relu": "ReLU", "leaky_relu": "LReLU", "exp": "exp", "log": "log",
                   "tanh": "tanh", "softplus": "softplus"}


#: Greek letters by name, as the LaTeX printer writes \lambda (upper case where the name is capitalized)
GREEK = {name: chr(code) for name, code in (
    ("alpha", 0x3B1), ("beta", 0x3B2), ("gamma", 0x3B3), ("delta", 0x3B4), ("epsilon", 0x3B5), ("zeta", 0x3B6),
    ("eta", 0x3B7), ("theta", 0x3B8), ("iota", 0x3B9), ("kappa", 0x3BA), ("lambda", 0x3BB), ("mu", 0x3BC),
    ("nu", 0x3BD), ("xi", 0x3BE), ("rho", 0x3C1), ("sigma", 0x3C3), ("tau", 0x3C4), ("upsilon", 0x3C5),
    ("phi", 0x3C6), ("chi", 0x3C7), ("psi", 0x3C8), ("omega", 0x3C9),
    ("Gamma", 0x393), ("Delta", 0x394), ("Theta", 0x398), ("Lambda", 0x39B), ("Xi", 0x39E), ("Pi", 0x3A0),
    ("Sigma", 0x3A3), ("Phi", 0x3A6), ("Psi", 0x3A8), ("Omega", 0x3A9))}


class TextPrinter(StrPrinter):
    """SymPy's string printer taught the lectures' notation (see the module docstring)."""

    printmethod = "_symbackprop_text"

    def doprint(self, expr):
        return super().doprint(lecture_forms(expr))

    def __init__(self, names: dict | None = None, settings: dict | None = None):
        super().__init__(settings or {})
        names, self._exp_by_name = _without_euler(names)
        self._names = {k.name if isinstance(k, sympy.Symbol) else str(k): v for k, v in names.items()}

    # names -------------------------------------------------------------------------------------
    def _print_Symbol(self, expr):
        name = self._names.get(expr.name)
        if name is not None:
            return name
        head, sep, tail = expr.name.partition("_")   # a Greek name is its letter: lambda → λ, theta_{0} → θ_{0}
        if len(head) == 4 and head.endswith("hat") and head[0].isalpha():   # yhat → ŷ, as LaTeX writes \hat{y}
            return unicodedata.normalize("NFC", head[0] + "\u0302") + sep + tail
        return GREEK.get(head, head) + sep + tail

    _print_Dummy = _print_Symbol

    # sums: positive terms first, minus signs written −, as the lectures write (y − ŷ) and (1 − a)
    def _print_Add(self, expr, order=None):
        terms = list(expr.as_ordered_terms())
        positive = [t for t in terms if not _is_negative(t)]
        negative = [t for t in terms if _is_negative(t)]
        pieces = []
        for t in positive + negative:
            if _is_negative(t):
                body = self._print_term(-t)
                pieces.append(("−", body))
            else:
                pieces.append(("+", self._print_term(t)))
        out = ""
        for i, (sign, body) in enumerate(pieces):
            if i == 0:
                out = body if sign == "+" else f"−{body}"
            else:
                out += f" {sign} {body}"
        return out

    def _print_term(self, t):
        if t.is_Add:
            return f"({self._print(t)})"
        return self._print(t)

    # products ----------------------------------------------------------------------------------
    def _print_Mul(self, expr):
        if _is_negative(expr):
            return "−" + self._print(-expr) if not (-expr).is_Add else f"−({self._print(-expr)})"
        coeff, rest = expr.as_coeff_Mul()
        coeff = sympy.Rational(coeff)
        numer, denom = [], []
        for f in sympy.Mul.make_args(rest):
            if f.is_Pow and f.exp.is_Rational and f.exp.is_negative:
                denom.append(f.base if f.exp == -1 else f.base ** -f.exp)
            elif f != 1:
                numer.append(f)
        if coeff.q != 1 and not denom and numer and (coeff.p, coeff.q) in _VULGAR:
            return self._joined(_VULGAR[(coeff.p, coeff.q)], self._product(numer))
        if coeff.q != 1:
            denom.insert(0, sympy.Integer(coeff.q))
        top = self._product(numer)
        if coeff.p != 1:
            top = self._joined(str(coeff.p), top) if numer else str(coeff.p)
        elif not numer:
            top = "1"
        if not denom:
            return top
        bottom = self._product(denom)
        if len(denom) > 1 and not bottom.startswith("("):
            bottom = f"({bottom})"
        elif len(denom) > 1:
            bottom = f"({bottom})"
        if len(numer) + (coeff.p != 1) > 1 and " · " in top:   # 2(y − ŷ)/n and 2x/n need none
            top = f"({top})"
        return f"{top}/{bottom}"

    @staticmethod
    def _joined(prefix: str, body: str) -> str:
        if not body:
            return prefix
        return f"{prefix}{body}" if body.startswith("(") or not body[:1].isdigit() else f"{prefix} · {body}"

    def _product(self, factors) -> str:
        out, previous = "", None
        for f in factor_order(factors):
            piece = f"({self._print(f)})" if f.is_Add else self.parenthesize(f, PRECEDENCE["Mul"], strict=False)
            if not out:
                out = piece
            elif piece.startswith("(") and (not out.endswith((")", "]")) or _completes(previous, f)):
                out += piece  # ŷ(1 − ŷ), σ(z)(1 − σ(z)); but 1[z > 0] · (ŷ − y)
            elif len(piece) == 1 and piece.isalpha() and len(out) == 1 and out.isalpha():
                out += piece  # qz, as the slides write f = qz
            else:
                out += " · " + piece
            previous = f
        return out

    # powers ------------------------------------------------------------------------------------
    def _print_Pow(self, expr, rational=False):
        base, exp_ = expr.base, expr.exp
        if exp_ == sympy.Rational(1, 2):
            return f"√({self._print(base)})"
        if exp_.is_Rational and exp_.is_negative:
            return self._print_Mul(sympy.Mul(sympy.Integer(1), expr, evaluate=False)) if exp_ != -1 \
                else f"1/{self.parenthesize(base, PRECEDENCE['Pow'])}"
        b = self.parenthesize(base, PRECEDENCE["Pow"], strict=True)
        if base.is_Add or base.is_Mul or "^" in b:   # (a^{2}_{1})², as LaTeX writes it, never a^{2}_{1}²
            b = f"({self._print(base)})"
        if exp_.is_Integer and 0 <= exp_ <= 9:
            return b + str(exp_).translate(_SUPERSCRIPTS)
        return f"{b}^({self._print(exp_)})"

    def _print_Rational(self, expr):
        if expr.q == 1:
            return str(expr.p)
        return _VULGAR.get((abs(expr.p), expr.q), f"{abs(expr.p)}/{expr.q}").join(["−" if expr.p < 0 else "", ""])

    def _print_Integer(self, expr):
        return str(expr.p) if expr.p >= 0 else f"−{-expr.p}"

    def _print_Exp1(self, expr):
        return "exp(1)" if self._exp_by_name else "e"

    def _print_Pi(self, expr):
        return "π"

    def _print_exp(self, expr):
        argument = self._print(expr.args[0])
        return f"exp({argument})" if self._exp_by_name else f"e^({argument})"

    # functions ---------------------------------------------------------------------------------
    def _print_Function(self, expr):
        name = type(expr).__name__
        template = _helper_template(name)
        if template is not None:   # the registry's helpers as it writes them: 1[z > 0], LReLU′(z)
            return template.format(*(self._print(a) for a in expr.args))
        shown = _FUNCTION_NAMES.get(name, name)
        return f"{shown}({', '.join(self._print(a) for a in expr.args)})"

    def _print_Derivative(self, expr):
        f = expr.expr
        if isinstance(f, sympy.Function) and len(expr.variables) == 1:
            name = type(f).__name__
            shown = _FUNCTION_NAMES.get(name, name)
            return f"{shown}′({', '.join(self._print(a) for a in f.args)})"
        return super()._print_Derivative(expr)

    def _print_Subs(self, expr):
        d, old, new = expr.args
        if isinstance(d, sympy.Derivative) and isinstance(d.expr, sympy.Function) and len(old) == 1:
            name = type(d.expr).__name__
            return f"{_FUNCTION_NAMES.get(name, name)}′({self._print(new[0])})"
        return super()._print_Subs(expr)


def lecture_forms(expr):
    """``expr`` with every ``a − a²`` written ``a(1 − a)``, as the lectures write σ′ = ŷ(1 − ŷ) and the
    softmax's ∂ŷ_1/∂z_1 = ŷ_1(1 − ŷ_1) (SymPy expands them to ŷ − ŷ²), and each derivative that its
    registry entry names (``named_derivative``: ELU's 1 + a(1 − 1[z > 0]) is elu′(z), which is 1 for
    z > 0 and a + 1 otherwise) written by its name; the value is unchanged."""
    if not isinstance(expr, sympy.Basic):
        return expr
    expr = _named_derivatives(expr)
    if not expr.has(sympy.Pow):
        return expr
    return expr.replace(_is_a_minus_a_squared, lambda e: _a_of(e) * (1 - _a_of(e)))


def _named_derivatives(expr):
    """``expr`` with each g′(z) = ``ACTIVATIONS[g].derivative(a, z)`` of an entry that names its
    derivative replaced by :func:`_derivative_shown` (printed g′(z), valued as before)."""
    for act, helpers in _named_entries():
        if not expr.has(*helpers):
            continue

        def match(e, act=act, helpers=helpers):
            if not isinstance(e, sympy.Add):
                return None
            for z in {f.args[0] for f in e.atoms(*helpers) if len(f.args) == 1}:
                for a in e.free_symbols - z.free_symbols:
                    if e == act.derivative(a, z):
                        return _derivative_shown(act.name)(z, a)
            return None

        expr = expr.replace(lambda e: match(e) is not None, match)
    return expr


_A, _Z = sympy.Dummy("a"), sympy.Dummy("z")


def _named_entries() -> tuple:
    """``(entry, the helper functions its derivative is written with)`` for each registry entry that
    names its derivative (ELU: step), looked up once per registry size."""
    return _named_entries_of(len(ACTIVATIONS))


@functools.lru_cache(maxsize=4)
def _named_entries_of(_size: int) -> tuple:
    out = []
    for act in ACTIVATIONS.values():
        if act.named_derivative:
            helpers = tuple({type(f) for f in act.derivative(_A, _Z).atoms(sympy.Function)})
            if helpers:
                out.append((act, helpers))
    return tuple(out)


@functools.lru_cache(maxsize=None)
def _derivative_shown(name: str):
    """A print-only SymPy function for g′ written by its name: ``(z, a)`` prints g′(z) in text
    (``elu′(z)``) and LaTeX (``\\operatorname{elu}'(z)``); its value is the registry's g′ at (a, z)."""
    act = ACTIVATIONS[name]
    shown = act.text_name or name

    def as_text(self, printer):
        return f"{shown}′({printer._print(self.args[0])})"

    def as_latex(self, printer, exp=None):
        body = rf"{act.latex_name}'\left({printer._print(self.args[0])}\right)"
        return body if exp is None else rf"\left({body}\right)^{{{exp}}}"

    def value(self, prec):
        return act.derivative(self.args[1], self.args[0])._eval_evalf(prec)

    return type(f"{name}_prime_shown", (sympy.Function,),
                {"_symbackprop_text": as_text, "_latex": as_latex, "_eval_evalf": value,
                 "_eval_rewrite_as_Piecewise": lambda self, z, a, **kw: act.derivative(a, z)})


def _a_of(e):
    return next(t for t in e.args if not (t.is_Mul and _is_negative(t)))


def _is_a_minus_a_squared(e) -> bool:
    if not (isinstance(e, sympy.Add) and len(e.args) == 2):
        return False
    first, second = e.args
    for a, b in ((first, second), (second, first)):
        if not a.is_number and b == -a ** 2:
            return True
    return False


def factor_order(factors) -> list:
    """The order both printers write a product's factors in, the loss's and the lectures' written
    order: SymPy's canonical order (symbols, then groups, then functions: y log(ŷ), (1 − y) log(1 − ŷ),
    (ŷ − y) 1[z > 0]), except that a factor that a group is written in comes right before it, as
    in σ′ = ŷ(1 − ŷ) and σ(z)(1 − σ(z))."""
    factors = list(factors)
    groups = [f for f in factors if f.is_Add]
    loose = [f for f in factors if not f.is_Add]
    pairs = []
    for group in groups:
        partner = next((f for f in loose if not f.is_number and _completes(f, group)), None)
        if partner is not None:
            loose.remove(partner)
            pairs += [partner, group]
        else:
            pairs.append(group)
    head = [f for f in loose if not isinstance(f, sympy.Function)]
    tail = [f for f in loose if isinstance(f, sympy.Function)]
    return head + pairs + tail


def _completes(factor, group) -> bool:
    """Whether ``group`` is a sum with ``factor`` as one of its terms (1 − ŷ after ŷ, 1 − σ(z) after σ(z))."""
    if factor is None or not getattr(group, "is_Add", False):
        return False
    return any(t == factor or t == -factor for t in group.args)


def _helper_template(name: str):
    """The registry's text template for the functions derivatives are written with (step → 1[z > 0],
    leaky_step → LReLU′(z)); None for activations and SymPy's own functions, printed by name."""
    entry = ELEMENTWISE.get(name)
    if entry is None or name in ACTIVATIONS:
        return None
    return entry.text


def _is_negative(t) -> bool:
    coeff, _ = t.as_coeff_Mul()
    return bool(coeff.is_number and coeff.is_negative)


def text(expr, names: dict | None = None) -> str:
    """``expr`` in the lectures' plain-text notation; ``names`` maps symbols to display names (ŷ, y)."""
    return TextPrinter(names).doprint(_as_basic(expr))


def _as_basic(value) -> sympy.Basic:
    """A SymPy object for a value the derivation produced: SymPy objects as they are, Python numbers
    converted exactly; anything else (a string above all) is refused, never parsed."""
    if isinstance(value, sympy.Basic):
        return value
    if isinstance(value, bool):
        raise TypeError("expected a SymPy expression or a number, got a bool")
    if isinstance(value, int):
        return sympy.Integer(value)
    if isinstance(value, float):
        return sympy.Float(value)
    from fractions import Fraction

    if isinstance(value, Fraction):
        return sympy.Rational(value.numerator, value.denominator)
    raise TypeError(f"expected a SymPy expression or a number, got {type(value).__name__}")


def output_names(graph) -> dict:
    """The names every face prints ``graph``'s expressions with: the network's output and targets as
    ŷ and y (ŷ_k and y_k for several outputs), and Euler's number as exp when the spec has its own e
    (:func:`constant_names`).

    Graph specs keep their own names (the slides' f, q, …)."""
    return {**_output_and_target_names(graph), **constant_names(graph)}


#: the ``names`` entry that makes every printer write Euler's number as the function exp (see :func:`constant_names`)
EXP_BY_NAME = {sympy.E: "exp"}


def constant_names(graph) -> dict:
    r"""How a page writes Euler's number when its spec has a symbol of its own named e (an equation
    defines e, or e is an input or a parameter: ``equations_graph`` then reads every e as that symbol
    and notes it): :data:`EXP_BY_NAME`, with which both printers write exp(w) and ``\exp(w)`` where
    they would write e^(w) and ``e^{w}`` (that would read as the spec's e to the power w), and the
    bare constant as exp(1); ``{}`` otherwise.

    π needs no entry: a spec that defines pi has no constant π (its pi is its own symbol everywhere).

    Example: a graph with ``e = w x + b`` and ``g = exp(w)`` prints g = exp(w), never g = e^(w)."""
    return dict(EXP_BY_NAME) if "e" in getattr(graph, "by_name", {}) else {}


def _without_euler(names: dict | None) -> tuple[dict, bool]:
    """``names`` without its Euler entry, and whether it had one (:func:`constant_names`)."""
    names = dict(names or {})
    return names, names.pop(sympy.E, None) == "exp"


def rule_as_written(words: str, names: dict | None = None, *, latex: bool = False) -> str:
    r"""A rule's words or formula (``LocalDerivative.rule``, a registry's ``rule_latex``) as the page
    writes it: with :data:`EXP_BY_NAME` among ``names``, each power of e written exp(…), as the
    printers write Euler's exp there (``d/dx eˣ = eˣ`` → ``d/dx exp(x) = exp(x)``; in LaTeX
    ``\frac{d}{dx} e^x = e^x`` → ``\frac{d}{dx} \exp(x) = \exp(x)``); unchanged otherwise."""
    if not _without_euler(names)[1]:
        return words
    if latex:
        return _LATEX_E_POWER.sub(lambda m: rf"\exp({m.group(1) or m.group(2)})", words)
    return _TEXT_E_POWER.sub(lambda m: f"exp({_SUPERSCRIPT_LETTERS[m.group(1)]})", words)


_SUPERSCRIPT_LETTERS = {"ˣ": "x", "ᶻ": "z", "ʸ": "y", "ᵘ": "u", "ᵛ": "v", "ʷ": "w", "ᵗ": "t"}
_TEXT_E_POWER = re.compile(rf"(?<![A-Za-z])e([{''.join(_SUPERSCRIPT_LETTERS)}])")
_LATEX_E_POWER = re.compile(r"(?<![A-Za-z\\])e\^(?:\{([^{}]*)\}|([A-Za-z0-9]))")


def _output_and_target_names(graph) -> dict:
    """ŷ and y (ŷ_k and y_k) for a network's outputs and targets; {} for a graph spec."""
    if getattr(graph, "mode", None) != "network":
        return {}
    outputs, targets = list(graph.outputs), list(graph.targets)
    outputs = [o if isinstance(o, str) else o.name for o in outputs]
    targets = [t if isinstance(t, str) else t.name for t in targets]
    if not outputs or len(outputs) != len(targets):
        return {}
    if len(outputs) == 1:
        return {outputs[0]: "ŷ", targets[0]: "y"}
    return {**{o: f"ŷ_{k}" for k, o in enumerate(outputs, 1)}, **{t: f"y_{k}" for k, t in enumerate(targets, 1)}}


class LectureLatexPrinter(LatexPrinter):
    r"""SymPy's LaTeX printer with the lectures' habits, for every LaTeX face (documents, worksheets,
    Markdown, feedback):

    - ``\hat{y}`` and ``y`` (or any ``names``); other symbols as SymPy writes them (``\lambda``);
    - positive terms first: ``y - \hat{y}``, ``1 - a``, so ½(y − ŷ)² reads in the loss's written order;
    - a fraction coefficient in front (``\frac{1}{2} (y - \hat{y})^{2}``), an integer one juxtaposed
      (``2 x``), ``\cdot`` between factors, but a group right after a letter: ``\hat{y}(1 - \hat{y})``
      (σ′ = ŷ(1 − ŷ)); after a number (``0.53 \cdot (1 - 0.53)``) or a parenthesis the ``\cdot`` stays;
    - functions with their arguments in parentheses: ``\tanh(z)``, ``\log(\hat{y})``, ``\sigma(z)``;
    - Euler's exp as ``e^{w}``, or ``\exp(w)`` with :data:`EXP_BY_NAME` among the ``names`` (a spec
      with its own e, :func:`constant_names`).

    Parentheses are written ``\left( \right)``: :func:`latex` makes them all plain (Markdown,
    feedback), the documents keep them only around something tall (``render.latex_parts.plain_parentheses``).
    """

    def __init__(self, names: dict | None = None, settings: dict | None = None, numbers: bool = False):
        names, self._exp_by_name = _without_euler(names)
        shown = {k.name if isinstance(k, sympy.Symbol) else str(k): v for k, v in names.items()}
        self._shown = {n: _LATEX_NAMES.get(v, v) for n, v in shown.items()}
        self._numbers = numbers   # names are numbers (an expression with its values): \cdot between all factors
        super().__init__({"mul_symbol": "dot", **(settings or {})})

    def doprint(self, expr):
        return super().doprint(lecture_forms(expr))

    def _print_Symbol(self, expr, style="plain"):
        shown = self._shown.get(expr.name)
        return shown if shown is not None else super()._print_Symbol(expr, style)

    _print_Dummy = _print_Symbol

    def _print_Add(self, expr, order=None):
        terms = list(expr.as_ordered_terms())
        ordered = [t for t in terms if not _is_negative(t)] + [t for t in terms if _is_negative(t)]
        out = ""
        for i, t in enumerate(ordered):
            if _is_negative(t):
                body = self._print(-t)
                if (-t).is_Add:
                    body = self._add_parens(body)
                out += f" - {body}" if i else f"-{body}"
            else:
                body = self._print(t)
                out += f" + {body}" if i else body
        return out

    def _print_Mul(self, expr):
        coeff, rest = expr.as_coeff_Mul()
        if _is_negative(expr) and coeff.is_Rational:
            body = self._print(-expr)
            return "-" + (self._add_parens(body) if (-expr).is_Add else body)
        no_denominator = all(not (f.is_Pow and f.exp.is_Rational and f.exp.is_negative)
                             for f in sympy.Mul.make_args(rest))
        if not no_denominator:  # \frac{numerator}{denominator}, each a product printed as above
            top, bottom = [sympy.Integer(coeff.p)], [sympy.Integer(coeff.q)]
            for f in sympy.Mul.make_args(rest):
                if f.is_Pow and f.exp.is_Rational and f.exp.is_negative:
                    bottom.append(f.base ** -f.exp)
                else:
                    top.append(f)
            return rf"\frac{{{self._print(sympy.Mul(*top))}}}{{{self._print(sympy.Mul(*bottom))}}}"
        if coeff.is_Rational and coeff.q != 1 and rest != 1:
            body = self._print(rest)
            if rest.is_Add:
                body = self._add_parens(body)
            return rf"\frac{{{coeff.p}}}{{{coeff.q}}} {body}"
        out, previous = "", None
        for f in factor_order(sympy.Mul.make_args(rest)):
            piece = self.parenthesize(f, PRECEDENCE["Mul"], strict=False) if f.is_Add else self._print(f)
            joint = r" \cdot " if self._numbers else _joint(out, piece, bool(f.is_Add))
            if _completes(previous, f) and not self._numbers:
                joint = ""   # σ(z)(1 − σ(z)), as ŷ(1 − ŷ)
            out = piece if not out else out + joint + piece
            previous = f
        if coeff == 1:
            return out
        joint = r" \cdot " if self._numbers else _joint("1", out, False, coefficient=True)
        return self._print(coeff) + joint + out

    def _add_parens(self, s) -> str:
        return rf"\left({s}\right)"

    def _add_parens_lspace(self, s) -> str:
        return rf"\left({s}\right)"

    def _print_Function(self, expr, exp=None):
        name = type(expr).__name__
        if name in _LATEX_FUNCTIONS or (name in accepted_latex_functions and len(expr.args) == 1):
            args = ", ".join(self._print(a) for a in expr.args)
            head = _LATEX_FUNCTIONS.get(name, "\\" + name)
            return (rf"{head}^{{{exp}}}" if exp else head) + self._add_parens(args)
        return super()._print_Function(expr, exp)

    def _print_ExpBase(self, expr, exp=None):
        r"""e^{w}, or ``\exp(w)`` where the spec has its own e (:func:`constant_names`)."""
        if not self._exp_by_name:
            return super()._print_ExpBase(expr, exp)
        body = r"\exp" + self._add_parens(self._print(expr.args[0]))
        return body if exp is None else rf"\left({body}\right)^{{{exp}}}"

    def _print(self, expr, **kwargs):
        if expr is sympy.E and self._exp_by_name:   # SymPy's own E._latex would win over a _print_Exp1
            return r"\exp(1)"
        return super()._print(expr, **kwargs)

    def _print_log(self, expr, exp=None):
        if len(expr.args) != 1:
            return super()._print_log(expr, exp)
        return (rf"\log^{{{exp}}}" if exp else r"\log") + self._add_parens(self._print(expr.args[0]))


def _joint(left: str, right: str, group: bool, coefficient: bool = False) -> str:
    r"""What stands between two printed factors: nothing before a group that follows a letter
    (``\hat{y}(1 - \hat{y})``), a space between letters as the lectures write them (``q z``,
    ``2 x y``, ``y \log(\hat{y})``), and ``\cdot`` wherever a number meets a number or a
    parenthesis (``0.53 \cdot (1 - 0.53)``, ``2 \cdot (-0.5)``, ``(1 - y) \cdot (1 - \hat{y})``)."""
    numeric_left = left[-1:].isdigit() or left[-1:] == "." or left[-1:] == ")" and group
    numeric_right = right[:1].isdigit() or right[:1] in "(-." or right.startswith(r"\frac")
    if coefficient:
        return r" \cdot " if numeric_right else " "
    if group and not numeric_left:
        return ""
    if numeric_left and (group or numeric_right or right.startswith(r"\left(")) or numeric_right:
        return r" \cdot "
    return " "


_LATEX_NAMES = {"ŷ": r"\hat{y}"}
_LATEX_NAMES.update({f"ŷ_{k}": rf"\hat{{y}}_{{{k}}}" for k in range(1, 100)})
_LATEX_NAMES.update({f"y_{k}": f"y_{{{k}}}" for k in range(1, 100)})
_LATEX_FUNCTIONS = {"sigmoid": r"\sigma", "relu": r"\operatorname{ReLU}", "leaky_relu": r"\operatorname{LReLU}",
                    "softplus": r"\operatorname{softplus}"}


def latex(expr, names: dict | None = None) -> str:
    """``expr`` in the lectures' LaTeX; ``names`` as for :func:`text` (ŷ becomes ``\\hat{y}``)."""
    out = LectureLatexPrinter(names).doprint(expr)
    # plain parentheses (\left( \right) makes σ(z)'s oversized), juxtaposed before a group: \hat{y}(1 - \hat{y})
    return out.replace(r"\left(", "(").replace(r"\right)", ")").replace(r" \cdot (", "(")
