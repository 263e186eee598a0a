r"""Parse the lectures' notation into SymPy, with our own lark grammar (never eval).

One LALR grammar (``grammar.lark``) reads both

- the spec's graph equations, ``q = x + y``, ``f = q z``, ``z^{2}_{1} = w^{1}_{1,1} x_1 + b^{1}_{1}``, and
- students' answers in the lectures' LaTeX, ``\frac{\partial L}{\partial w^{1}_{1,1}} =
  (\hat{y} - y)\,\hat{y}(1 - \hat{y})\, w^{2}_{1,1}\, a^{2}_{1}(1 - a^{2}_{1})\, x_1``.

The parse tree is turned into a SymPy expression by :class:`_Builder`:
numbers become exact Rationals (``0.5`` is 1/2), names become
``names.symbol(canonical)`` (``x_1`` -> ``x_{1}``, ``w_{1,1}^{1}`` -> ``w^{1}_{1,1}``),
``\sigma`` is :class:`symbackprop.ops.functions.sigmoid`, and so on.

What a superscript means is decided here.  Without a ``resolve`` (spec equations) the
rule is syntactic: ``w^{1}_{1,1}`` (superscript first) is a name, ``x^2`` and ``x_1^2`` are
powers.  With ``resolve`` (answers, which know the spec's names) every reading is
tried against the known names: ``a_1^2`` is the node a^{2}_{1} when that node exists,
``(a^{2}_{1})^2`` is a power, ``w^1_{11}`` is w^{1}_{1,1}; a reading that stays ambiguous
is a :class:`ParseError`, never a guess.

Hard bounds (each violation is a ParseError with a column): text length
:data:`MAX_LENGTH`, bracket nesting :data:`MAX_NESTING`, parse-tree depth
:data:`MAX_DEPTH`, numeric exponents ``|p| <= MAX_EXPONENT``, number literals of at
most :data:`MAX_DIGITS` digits, exact numbers of at most :data:`MAX_BITS` bits.

Public API: :func:`parse_expression`, :func:`parse_equation`, :func:`parse_chain`.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import sympy
from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ..ops import functions
from ..spec import names
from ..errors import ParseError, did_you_mean

MAX_LENGTH = 2000
MAX_NESTING = 30
MAX_DEPTH = 160
MAX_EXPONENT = 64
MAX_DIGITS = 30
MAX_BITS = 4096
MAX_SUM_TERMS = 64
MAX_PRIMES = 3
MAX_SCRIPTS = 8

class example_sum(sympy.Function):
    r"""\sum_{i=1}^{n} f_i over the examples of the batch: its argument is written in one example's
    names (y_i, \hat{y}_i, x_i^1), and the answer checker sums it over the spec's examples."""

    nargs = 1


def _is_example_sum(limits, var: str) -> bool:
    r"""``\sum_{i=1}^{n}``, ``\sum_{i=1}^{m}``, ``\sum_i``, ``\sum_{e}``: a sum over the examples."""
    if limits.data == "sum_bounds":
        upper = [c for c in limits.children if isinstance(c, Tree)][-1]
        return isinstance(upper, Tree) and upper.data == "name" and str(upper.children[0]) in ("n", "m", "N")
    return var in ("i", "e", "n")


class activation_derivative(sympy.Function):
    """g'(z) as a student writes it: the derivative of whatever activation the layer of z has
    (the answer checker replaces it by the registry's derivative, e.g. a(1 − a) for the sigmoid)."""

    nargs = 1


#: the functions of the grammar's FUNC token, by their spelling without ``\`` or \operatorname{}
FUNCTIONS: dict[str, Callable] = {
    "exp": sympy.exp,
    "log": sympy.log,
    "ln": sympy.log,
    "tanh": sympy.tanh,
    "sigma": functions.sigmoid,
    "sigmoid": functions.sigmoid,
    "σ": functions.sigmoid,
    "relu": functions.relu,
    "ReLU": functions.relu,
    "ReLu": functions.relu,
    "softplus": functions.softplus,
    "leaky_relu": functions.leaky_relu,
    "lrelu": functions.leaky_relu,
    "LReLU": functions.leaky_relu,
}


def _registry_functions() -> dict:
    """Every registry activation's spellings (``elu``, ``silu``, ...), from the one registry."""
    from ..ops.activations import answer_spellings

    return {k: f for k, f in answer_spellings().items() if "{" not in k and k not in FUNCTIONS}


FUNCTIONS.update(_registry_functions())

_TOKEN_WORDS = {
    "NUMBER": "a number", "NAME": "a name", "FUNC": "a function (\\sigma, \\exp, \\log, \\tanh, relu)",
    "GREEK": "a Greek letter", "HAT": "\\hat", "UHAT": "ŷ", "FRAC": "\\frac", "PARTIAL": "\\partial",
    "SUM": "\\sum", "TIMES": "'*' or \\cdot", "POW": "'**'", "DIV": "'/'", "PLUS": "'+'", "MINUS": "'-'",
    "EQ": "'='", "ACTFN": "g' or f'", "SUP": "'^'", "SUB": "'_'", "USUP": "a superscript digit", "PRIME": "a prime '",
    "LPAR": "'('", "RPAR": "')'", "LBRACK": "'['", "RBRACK": "']'", "LBRACE": "'{'", "RBRACE": "'}'",
    "COMMA": "','", "$END": "the end of the input",
    "HADAMARD": "\\odot", "TOP": "\\top", "TSUP": "ᵀ", "ROWS": "\\text{rows}",
}

_ALLOWED_LATEX = (r"\frac \cdot \times \odot \left( \right) \sigma \exp \log \ln \tanh \hat{y} \sum "
                  r"\partial \, \; \quad and Greek letters")

_USUP_DIGITS = {c: str(i) for i, c in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")}


GRAMMAR = Path(__file__).with_name("grammar.lark")
#: the LALR tables of grammar.lark, serialized as plain JSON data (never pickle, never code): loading
#: them takes a few ms where building the parser takes ~0.1 s.  Regenerate with
#: ``python -m symbackprop.grammar.parser --write-tables`` (a test checks that they are up to date;
#: stale or missing tables are ignored and the parser is built from the grammar).
TABLES = Path(__file__).with_name("grammar_tables.json")
_LARK_OPTIONS = {"parser": "lalr", "lexer": "basic", "maybe_placeholders": False}


def _tables_key(grammar: str) -> str:
    import hashlib
    import lark

    text = f"{lark.__version__}\n{sorted(_LARK_OPTIONS.items())}\n{grammar}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _encode(o):
    """JSON for lark's serialized parser: dicts with non-string keys and tuples are tagged."""
    if isinstance(o, dict):
        if all(isinstance(k, str) and not k.startswith("\u0000") for k in o):
            return {k: _encode(v) for k, v in o.items()}
        return {"\u0000d": [[_encode(k), _encode(v)] for k, v in o.items()]}
    if isinstance(o, tuple):
        return {"\u0000t": [_encode(v) for v in o]}
    if isinstance(o, list):
        return [_encode(v) for v in o]
    if o is None or isinstance(o, (str, int, float, bool)):
        return o
    raise TypeError(f"cannot serialize {type(o).__name__}")


def _decode(d: dict):
    if len(d) == 1:
        if "\u0000d" in d:
            return {k: v for k, v in d["\u0000d"]}
        if "\u0000t" in d:
            return tuple(d["\u0000t"])
    return d


def tables_json(grammar: str | None = None) -> str:
    """The serialized parser of ``grammar`` (default grammar.lark) as JSON text."""
    import lark

    grammar = grammar_text() if grammar is None else grammar
    parser = Lark(grammar, propagate_positions=True, **_LARK_OPTIONS)
    data, memo = parser.memo_serialize([lark.lexer.TerminalDef, lark.grammar.Rule])
    return json.dumps({"key": _tables_key(grammar), "data": _encode(data), "memo": _encode(memo)},
                      ensure_ascii=True, separators=(",", ":"), sort_keys=True) + "\n"


def grammar_text() -> str:
    """grammar.lark with its FUNC token spelled out from :data:`FUNCTIONS`."""
    names = sorted((re.escape(k) for k in FUNCTIONS if k != "σ"), key=lambda k: (-len(k), k))
    return GRAMMAR.read_text(encoding="utf-8").replace("@FUNCS@", "|".join(names))


@lru_cache(maxsize=2)
def _lark(positions: bool = True) -> Lark:
    """The answer grammar's parser, built once per process (per ``positions``): from the shipped
    tables when they belong to this grammar and this lark, else from the grammar."""
    grammar = grammar_text()
    try:
        blob = json.loads(TABLES.read_text(encoding="ascii"), object_hook=_decode)
        if blob.get("key") == _tables_key(grammar):
            return Lark._load_from_dict(blob["data"], blob["memo"], propagate_positions=positions)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, LarkError):
        pass
    return Lark(grammar, propagate_positions=positions, **_LARK_OPTIONS)


# ---------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Side:
    """One side of a chain ``A = B = C``: its expression and where it is in the text."""

    expr: sympy.Expr
    start: int
    end: int
    source: str

    @property
    def text(self) -> str:
        return self.source[self.start:self.end]


@dataclass(frozen=True)
class Chain:
    """``A = B = ...``, a multi-line derivation read as one chain of equalities."""

    sides: tuple[Side, ...]
    source: str


# ---------------------------------------------------------------------------------------
# Name resolution

#: names that are constants in spec equations unless the spec defines them (see parse_equation)
SPEC_CONSTANTS = {"e": sympy.E, "pi": sympy.pi}


class _Unknown(Exception):
    """Internal: a name that the resolver does not know (inside a \\sum with inferred bounds)."""


class _Resolver:
    """Turns a canonical name into an expression.

    ``strict`` resolvers know every allowed name (answers); the syntactic one (spec
    equations) makes a fresh symbol of any well-formed name.
    """

    def __init__(self, resolve, shadowed=()):
        self.strict = resolve is not None
        # constants (e, pi) that the spec defines as its own symbols: then they are those symbols
        self.shadowed = frozenset(shadowed)
        self._known: tuple[str, ...] = ()
        if resolve is None:
            self._lookup = None
        elif isinstance(resolve, Mapping):
            self._lookup = resolve.get
            self._known = tuple(resolve)
        elif callable(resolve):
            self._lookup = resolve
            self._known = tuple(getattr(resolve, "names", ()) or ())
        elif isinstance(resolve, Iterable) and not isinstance(resolve, (str, bytes)):
            known = {str(n): names.symbol(str(n)) for n in resolve}
            self._lookup = known.get
            self._known = tuple(known)
        else:
            raise TypeError("resolve must be None, a mapping name -> expression, a callable or a collection of names")

    def lookup(self, name: str):
        if self._lookup is None:
            return names.symbol(name)
        value = self._lookup(name)
        if value is None:
            return None
        if isinstance(value, str):
            return names.symbol(value)
        return sympy.Integer(value) if isinstance(value, int) else value

    def suggestion(self, name: str) -> str:
        return did_you_mean(name, self._known) if self._known else ""


def _canonical(base: str, sup: str | None, sub: tuple[str, ...] | None) -> str:
    """``('w', '1', ('1', '1'))`` -> ``'w^{1}_{1,1}'``; ``('x', None, ('1',))`` -> ``'x_{1}'``."""
    if sub == ("hat",) and sup is None:
        return base + "hat"
    out = base
    if sup is not None:
        out += "^{" + sup + "}"
    if sub is not None:
        out += "_{" + ",".join(sub) + "}"
    return out


def _sub_variants(sub: tuple[str, ...] | None, strict: bool) -> list[tuple[str, ...] | None]:
    """``('11',)`` may mean ``('1', '1')`` (the lectures' w_{11}); only tried against known names."""
    if sub is None:
        return [None]
    out = [sub]
    if strict and len(sub) == 1 and sub[0].isdigit() and 2 <= len(sub[0]) <= 4:
        digits = sub[0]
        for cut in range(1, len(digits)):
            left, right = digits[:cut], digits[cut:]
            if left[0] != "0" and right[0] != "0":
                out.append((left, right))
    return out


# ---------------------------------------------------------------------------------------
# Errors with positions


def _line_col(text: str, pos: int) -> tuple[int, int, str]:
    pos = max(0, min(pos, len(text)))
    line_no = text.count("\n", 0, pos) + 1
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    if line_end < 0:
        line_end = len(text)
    return line_no, pos - line_start + 1, text[line_start:line_end]


def _error(message: str, text: str, pos: int | None) -> ParseError:
    if pos is None:
        return ParseError(message)
    line_no, col, line_text = _line_col(text, pos)
    where = f"line {line_no}, column {col}" if "\n" in text else f"column {col}"
    # a window of the line around the column, so a long input is not echoed whole
    start = max(0, col - 1 - 40)
    shown = line_text[start:start + 80]
    prefix = "..." if start > 0 else ""
    suffix = "..." if start + 80 < len(line_text) else ""
    pointer = " " * (len(prefix) + col - 1 - start) + "^"
    err = ParseError(f"{message} ({where})\n  {prefix}{shown}{suffix}\n  {pointer}", column=col)
    err.text = line_text
    return err


def _pos(node) -> int | None:
    if isinstance(node, Token):
        return node.start_pos
    meta = getattr(node, "meta", None)
    if meta is not None and not meta.empty:
        return meta.start_pos
    for child in getattr(node, "children", ()):
        p = _pos(child)
        if p is not None:
            return p
    return None


def _check_text(text) -> None:
    if not isinstance(text, str):
        raise ParseError(f"expected text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise _error(f"input is {len(text)} characters long; at most {MAX_LENGTH} are allowed", text, MAX_LENGTH)  # column MAX_LENGTH + 1
    if not text.strip():
        raise ParseError("empty input; expected an expression such as 'x + y' or '\\sigma(z)(1 - \\sigma(z))'")
    depth = 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
            if depth > MAX_NESTING:
                raise _error(f"brackets nested more than {MAX_NESTING} deep", text, i)
        elif ch in ")]}":
            depth -= 1


def _check_depth(tree: Tree, text: str) -> None:
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _error(f"expression nested more than {MAX_DEPTH} levels deep", text, _pos(node))
        if isinstance(node, Tree):
            stack.extend((c, depth + 1) for c in node.children)


def _describe_expected(expected) -> str:
    words = sorted({_TOKEN_WORDS.get(t, t) for t in expected})
    if len(words) > 8:
        return "; expected a number, a name, a function or '('"
    return "; expected " + ", ".join(words)


def _lark_error(exc: UnexpectedInput, text: str) -> ParseError:
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream
        cmd = re.match(r"\\[A-Za-z]+", text[pos:])
        if cmd:
            return _error(f"unknown LaTeX command {cmd.group(0)}; allowed: {_ALLOWED_LATEX}", text, pos)
        return _error(f"unexpected character {text[pos]!r}", text, pos)
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        if tok.type == "$END":
            return _error("unexpected end of input" + _describe_expected(exc.expected), text, len(text))
        pos = tok.start_pos if tok.start_pos is not None else 0
        hint = ""
        if tok.type == "PRIME":
            hint = "; a prime only follows a function name, as in \\sigma'(z)"
        elif tok.type == "COMMA":
            hint = "; commas only separate indices, as in w^{1}_{1,1}"
        elif tok.type == "EQ":
            hint = "; '=' only joins the sides of an equation"
        return _error(f"unexpected {tok.value!r}" + (hint or _describe_expected(exc.expected)), text, pos)
    if isinstance(exc, UnexpectedEOF):
        return _error("unexpected end of input", text, len(text))
    return _error(f"cannot parse: {exc}", text, None)


def _unbox(text: str) -> str:
    r"""``\boxed{A = B}`` -> ``       A = B `` (same length, so every column stays where it was)."""
    out = list(text)
    for m in re.finditer(r"\\boxed\s*\{", text):
        depth = 0
        for j in range(m.end() - 1, len(text)):
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
                if depth == 0:
                    for k in range(m.start(), m.end()):
                        out[k] = " "
                    out[j] = " "
                    break
    return "".join(out)


def _parse_tree(text: str, positions: bool = True) -> Tree:
    """The parse tree; ``positions=False`` skips lark's position bookkeeping on every node (about
    half of the parsing time): tokens keep their positions, so :func:`_pos` and :func:`_span`
    still work, and callers re-parse with positions only to report an error."""
    _check_text(text)
    try:
        tree = _lark(positions).parse(_unbox(text) if "\\boxed" in text else text)
    except UnexpectedInput as exc:
        raise _lark_error(exc, text) from None
    except LarkError as exc:  # pragma: no cover - defensive
        raise _error(f"cannot parse: {exc}", text, None) from None
    _check_depth(tree, text)
    return tree


# ---------------------------------------------------------------------------------------
# Tree -> SymPy


def _trees(node: Tree) -> list:
    """The children that carry meaning (named tokens like '(' dropped)."""
    return [c for c in node.children
            if isinstance(c, Tree) or c.type in ("NUMBER", "NAME", "GREEK", "FUNC", "PRIME", "USUP", "UHAT", "SUP", "SUB")]


_NAMEBASES = ("name", "greek", "hat", "uhat")
_BAD = (sympy.zoo, sympy.nan, sympy.oo, -sympy.oo)


class _Builder:
    """Evaluates a parse tree to SymPy, bottom up, with the bounds checked at each step."""

    def __init__(self, text: str, resolver: _Resolver):
        self.text = text
        self.resolver = resolver
        self.env: dict[str, int] = {}   # bound \sum indices

    def fail(self, message: str, node) -> ParseError:
        return _error(message, self.text, _pos(node))

    # ---- dispatch -------------------------------------------------------------
    def build(self, node) -> sympy.Expr:
        if isinstance(node, Token):
            raise self.fail(f"unexpected {node.value!r}", node)
        method = getattr(self, "_" + node.data, None)
        if method is None:
            raise self.fail(f"cannot use {node.data} here", node)
        return method(node)

    # ---- arithmetic -------------------------------------------------------------
    def _add(self, node):
        a, _, b = node.children
        return self.build(a) + self.build(b)

    def _subtract(self, node):
        a, _, b = node.children
        return self.build(a) - self.build(b)

    def _mul(self, node):
        a, _, b = node.children
        return self.build(a) * self.build(b)

    def _imul(self, node):
        a, b = node.children
        return self.build(a) * self.build(b)

    def _hadamard(self, node):
        # the elementwise product of two numbers is their product (matrices: answers_matrix.py)
        a, _, b = node.children
        return self.build(a) * self.build(b)

    def _top(self, node):
        raise self.fail("^\\top (a transpose) is matrix notation; this answer is read in index notation, "
                        "where every quantity is a number", node)

    def _sum_all(self, node):
        raise self.fail("give the index of the \\sum and its bounds, as in \\sum_{j=1}^{2} w^{2}_{1,j} a^{2}_{j} "
                        "(a \\sum over the rows of a matrix is matrix notation)", node)

    def _div(self, node):
        a, _, b = node.children
        d = self._d_notation(a, b)
        if d is not None:
            return d
        return self._divide(self.build(a), self.build(b), node)

    def _divide(self, num, den, node):
        if den == 0:
            raise self.fail("division by zero", node)
        return num / den

    def _negate(self, node):
        return -self.build(node.children[-1])

    def _unary_plus(self, node):
        return self.build(node.children[-1])

    def _paren(self, node):
        inner = [c for c in node.children if isinstance(c, Tree) or c.type not in
                 ("LPAR", "RPAR", "LBRACK", "RBRACK", "LBRACE", "RBRACE")]
        return self.build(inner[0])

    def _group(self, node):
        items = [c for c in node.children if isinstance(c, Tree) or c.type not in ("LBRACE", "RBRACE", "COMMA")]
        if len(items) != 1:
            raise self.fail("a list of indices {i,j} can only follow a name's '_'", node)
        return self.build(items[0])

    def _number(self, node):
        tok = node.children[0] if isinstance(node, Tree) else node
        return self.number(tok)

    def number(self, tok: Token) -> sympy.Rational:
        s = str(tok)
        digits = s.replace(".", "")
        if len(digits) > MAX_DIGITS:
            raise self.fail(f"number {s[:12]}... has more than {MAX_DIGITS} digits", tok)
        if "." in s:
            whole, frac = s.split(".")
            return sympy.Rational(int((whole or "0") + frac), 10 ** len(frac))
        return sympy.Integer(int(s))

    def _frac(self, node):
        parts = [c for c in node.children if isinstance(c, Tree) or c.type not in ("FRAC", "LBRACE", "RBRACE")]
        num, den = parts
        d = self._d_notation(num, den)
        if d is not None:
            return d
        return self._divide(self.build(num), self.build(den), node)

    # ---- powers -------------------------------------------------------------------
    def power(self, base, exponent, node):
        """base^exponent with the bounds: |numeric exponent| <= MAX_EXPONENT, exact results <= MAX_BITS."""
        if exponent.is_Number:
            if not exponent.is_Rational:
                raise self.fail("exponents must be exact numbers or expressions", node)
            if abs(exponent.p) > MAX_EXPONENT or exponent.q > MAX_EXPONENT:
                raise self.fail(f"exponent {exponent} is too large; |exponent| <= {MAX_EXPONENT} is allowed", node)
            if base.is_Rational:
                if base == 0 and exponent.is_negative:
                    raise self.fail("division by zero (0 to a negative power)", node)
                bits = max(abs(base.p).bit_length(), base.q.bit_length()) * abs(exponent.p)
                if bits > MAX_BITS:
                    raise self.fail(f"the number {base}^{exponent} would have about {bits} bits; at most {MAX_BITS} are allowed", node)
        elif exponent.is_number and base.is_number and not exponent.is_real:
            raise self.fail("complex exponents are not allowed", node)
        result = sympy.Pow(base, exponent)
        if isinstance(result, sympy.Pow) and result.exp.is_Rational and (
                abs(result.exp.p) > MAX_EXPONENT or result.exp.q > MAX_EXPONENT):
            raise self.fail(f"the combined exponent {result.exp} is too large; |exponent| <= {MAX_EXPONENT} is allowed", node)
        return result

    def script_value(self, sarg):
        """The value of a ^ argument: ``2``, ``{n+1}``, ``(x)``, ``-1``, ``y``."""
        return self.build(sarg)

    def apply_scripts(self, base, scripts, node):
        """Apply powers (``^``, ``**``, ``²``) to a value; consecutive powers are right-associative."""
        exps = []
        for s in scripts:
            kind = s.data
            if kind == "subscript":
                raise self.fail("a subscript '_' must follow a name, as in x_1 or w^{1}_{1,1}", s)
            if kind == "tsup":
                raise self.fail("ᵀ (a transpose) is matrix notation; this answer is read in index notation, "
                                "where every quantity is a number", s)
            if kind == "usup":
                exps.append((sympy.Integer(int("".join(_USUP_DIGITS[c] for c in str(s.children[0])))), s))
            else:
                exps.append((self.script_value(s.children[-1]), s))
        if not exps:
            return base
        exponent, last = exps[-1]
        for value, s in reversed(exps[:-1]):
            exponent = self.power(value, exponent, last)
            last = s
        return self.power(base, exponent, last)

    def _scripted(self, node):
        primary, *scripts = node.children
        if len(scripts) > MAX_SCRIPTS:
            raise self.fail(f"more than {MAX_SCRIPTS} '^' and '_' in a row", scripts[MAX_SCRIPTS])
        if isinstance(primary, Tree) and primary.data in _NAMEBASES:
            return self.resolve_name(primary, scripts, node)
        return self.apply_scripts(self.build(primary), scripts, node)

    # ---- names ----------------------------------------------------------------------
    def base_name(self, nb: Tree) -> str:
        kind = nb.data
        toks = [c for c in nb.children if isinstance(c, Token) and c.type in ("NAME", "GREEK", "UHAT")]
        if kind == "name":
            return str(toks[0])
        if kind == "greek":
            return str(toks[0]).lstrip("\\")
        if kind == "hat":
            return str(toks[0]) + "hat"
        return "yhat"  # uhat: ŷ

    def _name(self, node):
        return self.resolve_name(node, [], node)

    _greek = _name
    _hat = _name
    _uhat = _name

    def index_items(self, sarg) -> tuple[str, ...] | None:
        """The indices in a ``_`` or ``^``: ``1`` -> ('1',), ``{1,2}`` -> ('1','2'), ``{i}`` -> ('i',); None if not indices."""
        if isinstance(sarg, Tree) and sarg.data == "group":
            items = [c for c in sarg.children if isinstance(c, Tree) or c.type not in ("LBRACE", "RBRACE", "COMMA")]
        else:
            items = [sarg]
        out = []
        for item in items:
            one = self.index_item(item)
            if one is None:
                return None
            out.append(one)
        return tuple(out)

    def index_item(self, item) -> str | None:
        if isinstance(item, Token):
            return None
        if item.data == "number":
            s = str(item.children[0])
            return str(int(s)) if s.isdigit() else None
        if item.data == "name":
            word = str(item.children[0])
            if word in self.env:
                return str(self.env[word])
            return word
        if item.data in ("add", "subtract") and self.env:
            # k+1 inside a \sum
            try:
                value = self.build(item)
            except ParseError:
                return None
            if value.is_Integer:
                return str(int(value))
        return None

    def resolve_name(self, nb: Tree, scripts: list, node):
        """A name with its scripts: decide which scripts belong to the name and which are powers."""
        base = self.base_name(nb)
        if nb.data == "name" and base in self.env and not scripts:
            return sympy.Integer(self.env[base])
        # the leading run of ^ and _ (each at most once) may belong to the name
        lead = []
        for s in scripts:
            if s.data not in ("superscript", "subscript") or any(t.data == s.data for t in lead):
                break
            lead.append(s)
        readings = []   # (expr, scripts consumed, canonical name)
        seen = set()
        for k in range(len(lead), -1, -1):
            if any(s.data == "subscript" for s in scripts[k:]):
                continue  # a subscript left over can only belong to the name
            sup = sub = None
            ok = True
            for s in lead[:k]:
                items = self.index_items(s.children[-1])
                if items is None:
                    ok = False
                    break
                if s.data == "superscript":
                    if len(items) != 1:
                        ok = False
                        break
                    sup = items[0]
                else:
                    sub = items
            if not ok:
                continue
            if not self.resolver.strict:
                if (k == 0 and base == "e" and "e" not in self.resolver.shadowed and scripts
                        and scripts[0].data in ("superscript", "power")):
                    return self.apply_scripts(sympy.E, scripts, node)  # e^{x} is exp(x)
                if k == 0 and nb.data == "name" and base in SPEC_CONSTANTS and base not in self.resolver.shadowed:
                    return self.apply_scripts(SPEC_CONSTANTS[base], scripts, node)
                name = self._syntactic_name(base, lead[:k], sup, sub)
                if name is None:
                    continue
                return self.apply_scripts(names.symbol(name), scripts[k:], node)
            for variant in _sub_variants(sub, True):
                name = _canonical(base, sup, variant)
                if name in seen:
                    continue
                seen.add(name)
                value = self.resolver.lookup(name)
                if value is not None:
                    readings.append((value, k, name))
        if not self.resolver.strict:
            raise self.fail(f"cannot read {self.text[_pos(node):self._end(node)]!r} as a name: a name has at most "
                            "one subscript '_' and one superscript '^', as in w^{1}_{1,2}", node)
        # Euler's number: e^{...} when no name 'e' exists
        if base == "e" and not any(r[1] == 0 for r in readings) and scripts and scripts[0].data in ("superscript", "power"):
            if not readings:
                return self.apply_scripts(sympy.E, scripts, node)
        if not readings:
            return self.unknown_name(base, lead, nb, scripts, node)
        distinct = {r[2]: r for r in readings}
        if len(distinct) > 1:
            options = []
            for value, k, name in distinct.values():
                rest = scripts[k:]
                options.append(name if not rest else f"({name}) with the power {self.text[_pos(rest[0]):self._end(rest[-1])]}")
            raise self.fail(f"ambiguous name: {self.text[_pos(node):self._end(node)]!r} could be "
                            + " or ".join(options) + "; write the name with braces, as in w^{1}_{1,1}, "
                            "and put a power outside parentheses, as in (a^{2}_{1})^2", node)
        value, k, _ = readings[0]
        return self.apply_scripts(value, scripts[k:], node)

    def _syntactic_name(self, base, lead, sup, sub):
        """Spec equations: superscript-then-subscript (or a two-index subscript) is a name; a lone ^ is a power."""
        kinds = [s.data for s in lead]
        if kinds == []:
            return base
        if kinds == ["subscript"]:
            return _canonical(base, None, sub)
        if kinds == ["superscript", "subscript"]:
            return _canonical(base, sup, sub)
        if kinds == ["subscript", "superscript"] and sub is not None and len(sub) > 1:
            return _canonical(base, sup, sub)
        return None

    def _end(self, node) -> int:
        if isinstance(node, Token):
            return node.end_pos
        meta = getattr(node, "meta", None)
        if meta is not None and not meta.empty:
            return meta.end_pos
        return len(self.text)

    def unknown_name(self, base, lead, nb, scripts, node):
        # implicit multiplication inside one word: 'qz' = q z when both are names and 'qz' is not
        if nb.data == "name" and len(base) > 1 and base.isalpha() and len(base) <= 12:
            split = self._segment(base)
            if split is not None:
                *first, last = split
                value = sympy.Integer(1)
                for piece in first:
                    value *= self.resolver.lookup(piece)
                fake = Tree("name", [Token("NAME", last, start_pos=_pos(nb))], meta=nb.meta)
                return value * self.resolve_name(fake, scripts, node)
        shown = _canonical(base, *self._shown_indices(lead))
        if self.env:
            raise _Unknown(shown)
        raise self.fail(f"unknown name {shown!r}" + (self.resolver.suggestion(shown) or
                        "; names are the spec's nodes, inputs, targets and parameters"), node)

    def _shown_indices(self, lead):
        sup = sub = None
        for s in lead:
            items = self.index_items(s.children[-1])
            if items is None:
                continue
            if s.data == "superscript" and len(items) == 1:
                sup = items[0]
            elif s.data == "subscript":
                sub = items
        return sup, sub

    def _segment(self, word: str):
        """The one way to write ``word`` as known names (all but the last without indices), else None."""
        ways: list[list[str]] = []

        def go(i, acc):
            if len(ways) > 1:
                return
            if i == len(word):
                ways.append(list(acc))
                return
            for j in range(i + 1, len(word) + 1):
                piece = word[i:j]
                if piece == word:
                    continue
                if j == len(word) or self.resolver.lookup(piece) is not None:
                    if j == len(word) and not any(
                            self.resolver.lookup(n) is not None for n in self._names_with_base(piece)):
                        continue
                    acc.append(piece)
                    go(j, acc)
                    acc.pop()

        go(0, [])
        return ways[0] if len(ways) == 1 else None

    def _names_with_base(self, piece):
        yield piece
        for known in self.resolver._known:
            if known.startswith(piece + "_") or known.startswith(piece + "^"):
                yield known

    # ---- derivatives ------------------------------------------------------------------
    def dname(self, node) -> sympy.Symbol:
        nb = node.children[0]
        scripts = []
        children = node.children[1:]
        for i in range(0, len(children), 2):
            tok, arg = children[i], children[i + 1]
            kind = "superscript" if tok.type == "SUP" else "subscript"
            scripts.append(Tree(kind, [tok, arg], meta=getattr(arg, "meta", None)))
        value = self.resolve_name(nb, scripts, node)
        if not isinstance(value, sympy.Symbol):
            raise self.fail("\\partial must be followed by one variable's name, as in \\partial w^{1}_{1,1}", node)
        return value

    def _leibniz(self, node):
        dnames = [c for c in node.children if isinstance(c, Tree) and c.data == "dname"]
        top, bottom = (self.dname(d) for d in dnames)
        return sympy.Derivative(top, bottom, evaluate=False)

    def _dop(self, node):
        dnames = [c for c in node.children if isinstance(c, Tree) and c.data == "dname"]
        var = self.dname(dnames[0])
        operand = self.build(node.children[-1])
        return sympy.diff(operand, var)

    def _d_notation(self, num, den):
        """``\\frac{dy}{dx}`` or ``dy/dx`` (answers only): the derivative, when 'dy' is no name itself."""
        if not self.resolver.strict:
            return None
        a, b = self._d_name(num), self._d_name(den)
        if a is None or b is None:
            return None
        try:
            top, bottom = self.resolve_name(*a), self.resolve_name(*b)
        except (ParseError, _Unknown):
            return None
        if isinstance(top, sympy.Symbol) and isinstance(bottom, sympy.Symbol):
            return sympy.Derivative(top, bottom, evaluate=False)
        return None

    def _d_name(self, node):
        """(namebase, scripts, node) when ``node`` reads 'd' followed by a name ('dy', 'd y', 'dz_2')."""
        scripts = []
        if isinstance(node, Tree) and node.data == "scripted":
            node, scripts = node.children[0], node.children[1:]
        if isinstance(node, Tree) and node.data == "name":
            word = str(node.children[0])
            if len(word) > 1 and word[0] == "d":
                lead = _canonical(word, None, None)
                if self.resolver.lookup(lead) is None or scripts:
                    if self.resolver.lookup(word) is not None and not scripts:
                        return None
                    rest = Tree("name", [Token("NAME", word[1:], start_pos=node.children[0].start_pos + 1)], meta=node.meta)
                    return rest, scripts, node
            return None
        if isinstance(node, Tree) and node.data == "imul" and not scripts:
            left, right = node.children
            if isinstance(left, Tree) and left.data == "name" and str(left.children[0]) == "d" \
                    and self.resolver.lookup("d") is None:
                inner, sc = right, []
                if isinstance(right, Tree) and right.data == "scripted":
                    inner, sc = right.children[0], right.children[1:]
                if isinstance(inner, Tree) and inner.data in _NAMEBASES:
                    return inner, sc, right
        return None

    # ---- functions --------------------------------------------------------------------
    def _call(self, node):
        func_tok = node.children[0]
        primes = sum(1 for c in node.children if isinstance(c, Token) and c.type == "PRIME")
        arg = self.build(node.children[-1])
        spelled = re.sub(r"^\\(operatorname|mathrm|text)\{(.*)\}$", r"\2", str(func_tok)).lstrip("\\")
        f = FUNCTIONS[spelled]
        if primes == 0:
            return f(arg)
        if primes > MAX_PRIMES:
            raise self.fail(f"at most {MAX_PRIMES} primes", node)
        t = sympy.Dummy("t", real=True)
        derivative = f(t)
        for _ in range(primes):
            derivative = sympy.diff(derivative, t)
        return derivative.subs(t, arg)

    def _act_prime(self, node):
        """``g'(z^{3}_{1})``, ``f'(z)``: the derivative of the layer's activation at z (left to the checker,
        which knows which activation the layer has)."""
        primes = sum(1 for c in node.children if isinstance(c, Token) and c.type == "PRIME")
        if primes > 1:
            raise self.fail("g'' is not a derivative the chain rule needs; write g'(z)", node)
        return activation_derivative(self.build(node.children[-1]))

    def _call_power(self, node):
        r"""``\tanh^2(z)`` = (tanh z)^2: the lectures' power of a function's value (a positive whole power)."""
        func_tok, _, exponent, arg = node.children
        power = self.build(exponent)
        if not (power.is_Integer and power > 0):
            raise self.fail("a power written on a function name must be a positive whole number, as in "
                            "\\tanh^2(z); write (\\sigma(z))^{-1} for other powers", exponent)
        value = self._call(Tree("call", [func_tok, arg], meta=node.meta))
        return self.power(value, power, node)

    # ---- sums --------------------------------------------------------------------------
    def _sum(self, node):
        _, limits, body = node.children
        if limits.data == "sum_rows":
            raise self.fail("a \\sum over the rows of a matrix is matrix notation; in index notation give the "
                            "index and its bounds, as in \\sum_{j=1}^{2}", limits)
        var = str(next(c for c in limits.children if isinstance(c, Token) and c.type == "NAME"))
        if self.resolver.strict and _is_example_sum(limits, var):
            # \sum_{i=1}^{n} over the examples: the body is one example's (y_i, \hat{y}_i, x_i^1)
            return example_sum(self.build(body))
        if var in self.env:
            raise self.fail(f"the index {var} is already used by an outer \\sum", limits)
        exprs = [c for c in limits.children if isinstance(c, Tree)]
        if limits.data == "sum_bounds":
            lo, hi = self.int_bound(exprs[0]), self.int_bound(exprs[1])
            if hi - lo + 1 > MAX_SUM_TERMS:
                raise self.fail(f"a \\sum may have at most {MAX_SUM_TERMS} terms", limits)
            return sympy.Add(*[self.with_index(var, v, body) for v in range(lo, hi + 1)])
        lo = self.int_bound(exprs[0]) if limits.data == "sum_from" else 1
        if not self.resolver.strict:
            raise self.fail(f"give the bounds of the \\sum, as in \\sum_{{{var}=1}}^{{2}}", limits)
        terms = []
        for v in range(lo, lo + MAX_SUM_TERMS):
            try:
                terms.append(self.with_index(var, v, body))
            except _Unknown as exc:
                if not terms:
                    raise self.fail(f"unknown name {exc.args[0]!r} in the \\sum at {var} = {v}", body) from None
                break
        return sympy.Add(*terms)

    def with_index(self, var, value, body):
        self.env[var] = value
        try:
            return self.build(body)
        finally:
            del self.env[var]

    def int_bound(self, node) -> int:
        value = self.build(node)
        if not value.is_Integer or not (0 <= int(value) <= 10 ** 6):
            raise self.fail("the bounds of a \\sum must be whole numbers", node)
        return int(value)


def _expr_depth(expr) -> int:
    deepest = 0
    stack = [(expr, 1)]
    while stack:
        e, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            break
        stack.extend((a, depth + 1) for a in e.args)
    return deepest


def _finish(expr, text: str, node) -> sympy.Expr:
    """Reject results that are not finite real expressions, too deep, or exact numbers too large to use."""
    if not isinstance(expr, sympy.Expr):
        raise _error("not an expression", text, _pos(node))
    if _expr_depth(expr) > MAX_DEPTH // 2:
        raise _error(f"expression nested more than {MAX_DEPTH // 2} levels deep", text, _pos(node))
    for sub in sympy.preorder_traversal(expr):
        if sub in _BAD or sub is sympy.S.ComplexInfinity or sub is sympy.S.NaN:
            raise _error("the expression is undefined (division by zero or log of 0)", text, _pos(node))
        if sub.is_Rational and max(abs(sub.p).bit_length(), sub.q.bit_length()) > MAX_BITS:
            raise _error(f"a number in the expression has more than {MAX_BITS} bits", text, _pos(node))
        if sub.is_Pow and sub.exp.is_Rational and (abs(sub.exp.p) > MAX_EXPONENT or sub.exp.q > MAX_EXPONENT):
            raise _error(f"the combined exponent {sub.exp} is too large; |exponent| <= {MAX_EXPONENT} is allowed",
                         text, _pos(node))
        if sub is sympy.I:
            raise _error("the expression is not real", text, _pos(node))
    return expr


def _build(node, text: str, resolver: _Resolver) -> sympy.Expr:
    builder = _Builder(text, resolver)
    try:
        expr = builder.build(node)
    except ParseError:
        raise
    except _Unknown as exc:  # pragma: no cover - only raised inside \sum
        raise _error(f"unknown name {exc.args[0]!r}", text, _pos(node)) from None
    except (ValueError, TypeError, ArithmeticError, RecursionError, AttributeError, IndexError, KeyError) as exc:
        raise _error(f"cannot build this expression ({type(exc).__name__})", text, _pos(node)) from None
    return _finish(expr, text, node)


def _span(node) -> tuple:
    """(start, end) of a subtree in the text, from its first and last tokens."""
    first = last = None
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Token):
            if first is None or n.start_pos < first:
                first = n.start_pos
            if last is None or n.end_pos > last:
                last = n.end_pos
        else:
            stack.extend(n.children)
    return first, last


def _sides(tree: Tree) -> list:
    chain = tree.children[0]
    return [c for c in chain.children if isinstance(c, Tree)]


# ---------------------------------------------------------------------------------------
# Public API


def parse_chain(text: str, resolve=None) -> Chain:
    r"""Parse ``A = B = C`` (one or more sides; ``\\``, newlines, ``&`` and ``$`` are layout).

    Each side becomes a SymPy expression; a Leibniz fraction
    ``\frac{\partial L}{\partial w^{1}_{1,1}}`` becomes an unevaluated
    ``Derivative(L, w^{1}_{1,1})`` that the answer checker reads as "the graph's derivative".
    """
    try:
        return _parse_chain(text, resolve, positions=False)
    except ParseError:
        return _parse_chain(text, resolve, positions=True)  # the error again, with lark's positions


def _parse_chain(text: str, resolve, positions: bool) -> Chain:
    tree = _parse_tree(text, positions)
    resolver = _Resolver(resolve)
    sides = []
    for side in _sides(tree):
        expr = _build(side, text, resolver)
        start, end = _span(side) if not positions or side.meta.empty else (side.meta.start_pos, side.meta.end_pos)
        sides.append(Side(expr, start, end, text))
    return Chain(tuple(sides), text)


def parse_expression(text: str, resolve=None) -> sympy.Expr:
    r"""Parse one expression (no ``=``) into SymPy.

    >>> parse_expression("3(x + 1)") == 3 * (names.symbol("x") + 1)
    True

    ``resolve``: None (any well-formed name is a fresh real symbol; spec equations), or the
    names the text may use: a mapping canonical name -> expression (aliases such as
    ``yhat`` -> a^{3}_{1}), a callable name -> expression or None, or a collection of
    canonical names.  With ``resolve`` an unknown name is a ParseError.
    """
    tree = _parse_tree(text)
    sides = _sides(tree)
    if len(sides) != 1:
        second = sides[1]
        raise _error("expected one expression, found '='", text, second.meta.start_pos - 1)
    return _build(sides[0], text, _Resolver(resolve))


def parse_equation(text: str, resolve=None, *, shadowed=()) -> tuple[str, sympy.Expr]:
    """Parse ``name = expression`` (a spec's graph equation) into (canonical name, SymPy expression).

    The one rule for names: ``e`` and ``pi`` are the constants e and π only when nothing in the
    spec defines them; ``shadowed`` lists those the spec defines (an equation's left-hand side,
    a [data] key or a parameter), which are then plain symbols, as in ``e = c - d``, ``f = e^2``.

    >>> parse_equation("q = x + y")
    ('q', x + y)
    >>> parse_equation("z^{2}_{1} = w_{1,1}^{1} x_1 + b^1_1")[0]
    'z^{2}_{1}'
    """
    tree = _parse_tree(text)
    sides = _sides(tree)
    if len(sides) != 2:
        where = len(text) if len(sides) < 2 else sides[2].meta.start_pos - 1
        raise _error("expected one equation 'name = expression'", text, where)
    lhs, rhs = sides
    name = _lhs_name(lhs, text)
    return name, _build(rhs, text, _Resolver(resolve, shadowed))


def _lhs_name(node, text: str) -> str:
    builder = _Builder(text, _Resolver(None))
    scripts = []
    if isinstance(node, Tree) and node.data == "scripted":
        node, scripts = node.children[0], node.children[1:]
    if isinstance(node, Tree) and node.data in _NAMEBASES:
        base = builder.base_name(node)
        if not scripts:
            return base
        if all(s.data in ("superscript", "subscript") for s in scripts) and len({s.data for s in scripts}) == len(scripts):
            sup = sub = None
            for s in scripts:
                items = builder.index_items(s.children[-1])
                if items is None:
                    break
                if s.data == "superscript":
                    sup = items[0] if len(items) == 1 else None
                else:
                    sub = items
            else:
                name = builder._syntactic_name(base, scripts, sup, sub)
                if name is not None:
                    return name
    raise _error("the left-hand side must be a name, as in 'q = x + y' or 'z^{2}_{1} = ...'", text, _pos(node))


if __name__ == "__main__":  # pragma: no cover - a maintainer's tool
    import sys

    if sys.argv[1:] == ["--write-tables"]:
        TABLES.write_text(tables_json(), encoding="ascii")
        print(f"wrote {TABLES}")
    else:
        print("usage: python -m symbackprop.grammar.parser --write-tables", file=sys.stderr)
        sys.exit(2)
