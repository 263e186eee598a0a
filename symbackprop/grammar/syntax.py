r"""Text -> lark parse tree, with the hard bounds checked and every error a :class:`ParseError` with its column.

Takes a string; gives the parse tree (:func:`_parse_tree`), or an error that shows the line and points at
the column (:func:`_error`, used by the builder too).
"""
from __future__ import annotations

import re

from lark import Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ..errors import ParseError
from . import tables
from .vocabulary import MAX_DEPTH, MAX_LENGTH, MAX_NESTING

_TOKEN_WORDS = {
    "NUMBER": "a number", "NAME": "a name", "FUNC": "a function (\\sigma, \\exp, \\log, \\tanh, relu)",
    "GREEK": "a Greek letter", "HAT": "\\hat", "UHAT": "ŷ", "FRAC": "\\frac", "PARTIAL": "\\partial",
    "SUM": "\\sum", "TIMES": "'*' or \\cdot", "POW": "'**'", "DIV": "'/'", "PLUS": "'+'", "MINUS": "'-'",
    "EQ": "'='", "ACTFN": "g' or f'", "SUP": "'^'", "SUB": "'_'", "USUP": "a superscript digit", "PRIME": "a prime '",
    "LPAR": "'('", "RPAR": "')'", "LBRACK": "'['", "RBRACK": "']'", "LBRACE": "'{'", "RBRACE": "'}'",
    "COMMA": "','", "$END": "the end of the input",
    "HADAMARD": "\\odot", "TOP": "\\top", "TSUP": "ᵀ", "ROWS": "\\text{rows}",
    "INDICATOR": "\\mathbb{1}", "STEPFN": "step(", "GT": "'>'", "LT": "'<'", "TEXT": "\\text{...}",
}

_ALLOWED_LATEX = (r"\frac \cdot \times \odot \left( \right) \sigma \exp \log \ln \tanh \hat{y} \sum \mathbb{1}[z > 0] "
                  r"\partial \, \; \quad and Greek letters")


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


def with_source(exc: ParseError, original: str, normalized: str) -> ParseError:
    """The error re-pointed into the student's own line: the grammar reads the normalized text
    (W^{(3)}_{11} as W^{3}  _{11}), which keeps every column when it keeps the length; then the
    line shown is the original one.  Otherwise (or without a column) the error as it is."""
    column = getattr(exc, "column", None)
    if not column or not isinstance(original, str) or len(original) != len(normalized) \
            or original.count("\n") != normalized.count("\n"):
        return exc
    head = _as_typed(str(exc).split("\n", 1)[0], original, normalized, column)
    pos = 0
    line_no = int(m.group(1)) if (m := re.search(r"\(line (\d+), column \d+\)$", head)) else 1
    for _ in range(line_no - 1):
        pos = original.index("\n", pos) + 1
    line_text = original[pos:].split("\n", 1)[0]
    start = max(0, column - 1 - 40)
    prefix = "..." if start > 0 else ""
    suffix = "..." if start + 80 < len(line_text) else ""
    pointer = " " * (len(prefix) + column - 1 - start) + "^"
    err = ParseError(f"{head}\n  {prefix}{line_text[start:start + 80]}{suffix}\n  {pointer}", column=column)
    err.text = line_text
    return err


def _as_typed(head: str, original: str, normalized: str, column: int) -> str:
    """The message's quoted text as the student typed it: ``unknown name 'W^{3}  _{1q}'`` (the rewritten
    W^{[3]}_{1q}) -> ``unknown name 'W^{[3]}_{1q}'``; the same length keeps every place, so the quoted
    text's place in the normalized answer (the one nearest the column) is its place in the original."""
    m = re.search(r"'([^'\n]+)'", head)
    if m is None:
        return head
    quoted = m.group(1)
    places = [p.start() for p in re.finditer(re.escape(quoted), normalized)]
    if not places:
        return head
    at = min(places, key=lambda p: abs(p - (column - 1)))
    typed = original[at:at + len(quoted)]
    if typed == quoted or "'" in typed:
        return head
    return head[:m.start(1)] + typed + head[m.end(1):]


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


def _known_functions() -> str:
    """The function names an answer may write (``\\operatorname{NAME}`` or ``\\NAME``), for an error line."""
    from .vocabulary import ALL_FUNCTIONS as FUNCTIONS

    return ", ".join(sorted({k for k in FUNCTIONS if k.isascii()}, key=str.lower)[:30]) + \
        ", step, H, and g', f', \\sigma' for a layer's activation derivative"


def _lark_error(exc: UnexpectedInput, text: str) -> ParseError:
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream
        named = re.match(r"\\(operatorname|mathrm|text)\{\s*([^{}]{1,40}?)\s*\}", text[pos:])
        if named:
            return _error(f"unknown function {named.group(0)}: {named.group(2)!r} is not a function the answers "
                          f"know; known: {_known_functions()}", text, pos)
        cmd = re.match(r"\\[A-Za-z]+", text[pos:])
        if cmd:
            return _error(f"unknown LaTeX command {cmd.group(0)}; allowed: {_ALLOWED_LATEX}", text, pos)
        if text[pos] == "!":
            return _error("unexpected character '!': a factorial (or a stray '!') is not part of a derivative; "
                          "remove it", text, pos)
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
        elif tok.type in ("GT", "LT"):
            hint = "; a comparison is only read inside an indicator, as in \\mathbb{1}[z > 0] or [z > 0]"
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
        tree = tables._lark(positions).parse(_unbox(text) if "\\boxed" in text else text)
    except UnexpectedInput as exc:
        raise _lark_error(exc, text) from None
    except LarkError as exc:  # pragma: no cover - defensive
        raise _error(f"cannot parse: {exc}", text, None) from None
    _check_depth(tree, text)
    return tree
