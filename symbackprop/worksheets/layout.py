r"""Fitting generated LaTeX to the page: long display rows broken, parentheses sized to their content.

The key's derivation (:mod:`symbackprop.render.latex`) writes each step as one display row; for
wide layers a row (a weighted sum of four terms with its numbers, a chain rule summed over eight
paths) runs far past the right margin. :func:`fit_page` rewrites the document's displays so that
every row fits the text width:

- each ``align*`` row and ``\[ ... \]`` display whose estimated width exceeds the line is broken,
  first before its relations (``=``, ``\approx``: the continuation rows start ``&\approx``), then
  before a ``+`` or ``-`` at the lowest bracket depth (``&\quad + ...``), then between the factors
  of a product (``&\quad \cdot ...``);
- ``\left( ... \right)`` around content that is no taller than a line (no fraction, sum or
  matrix) becomes plain ``( ... )`` (TeX's ``\left`` makes the parentheses around
  ``\sigma(z^{2}_{1})`` taller than the text), which also lets a line break inside them;
- tables get a little more room between their rows (``\arraystretch``).

The width of a formula is estimated from its glyphs (11 pt Latin Modern: a letter or digit about
5.5 pt, a script 70 % of that, a binary operator or relation with its spaces 8--9 pt), on the safe
side; the tests compile every generated document and assert that pdflatex reports no overfull
box.
"""
from __future__ import annotations

import re

LINE_PT = 440.0          # the text width is 472 pt (a4, 2.2 cm margins); the rest is slack for the estimate
CONTINUATION_PT = 30.0   # the "&\quad" of a continuation row
_TALL = ("\\frac", "\\sum", "\\begin", "\\prod", "\\int", "\\dfrac", "\\binom", "\\sqrt")
_RELATIONS = ("=", "\\approx", "\\leftarrow", "\\to", "\\le", "\\ge", "\\ne", "\\equiv")
_WORDS = {"\\log": 16.0, "\\tanh": 22.0, "\\exp": 18.0, "\\sigma": 6.5, "\\partial": 6.0, "\\cdot": 8.5,
          "\\approx": 14.0, "\\quad": 11.0, "\\qquad": 22.0, "\\times": 12.0, "\\odot": 12.0, "\\to": 15.0,
          "\\leftarrow": 15.0, "\\sum": 16.0, "\\mathrm": 0.0, "\\operatorname": 0.0, "\\text": 0.0,
          "\\hat": 0.0, "\\left": 0.0, "\\right": 0.0, "\\bigl": 0.0, "\\bigr": 0.0, "\\Big": 0.0,
          "\\,": 2.0, "\\;": 3.5, "\\ ": 3.7, "\\!": -2.0, "\\alpha": 7.0, "\\theta": 6.0, "\\delta": 5.5}


# ---------------------------------------------------------------------------------------------
# tokens


_TOKEN = re.compile(r"\\[A-Za-z]+\*?|\\.|[{}]|\s+|.", re.S)


def tokens(text: str) -> list:
    return _TOKEN.findall(text)


def _group_end(toks: list, i: int) -> int:
    """Index just past the brace group that starts at ``toks[i] == '{'``."""
    depth = 0
    for k in range(i, len(toks)):
        if toks[k] == "{":
            depth += 1
        elif toks[k] == "}":
            depth -= 1
            if depth == 0:
                return k + 1
    return len(toks)


SAFETY = 1.1


_MATRIX = re.compile(r"\\begin\{([bp]?matrix)\}(.*?)\\end\{\1\}", re.S)


def width(text: str, scale: float = 1.0) -> float:
    """The estimated width of math ``text`` in points (11 pt type), generously; a matrix counts
    with its widest row."""
    if "\\begin{" in text:
        def widest(m):
            rows = re.split(r"\\\\", m.group(2))
            best = max(rows, key=lambda r: _width(tokens(r), 0, len(tokens(r)), 1.0))
            return "(" + best.replace("&", "\\quad ") + ")"
        text = _MATRIX.sub(widest, text)
    toks = tokens(text)
    return SAFETY * _width(toks, 0, len(toks), scale)


def _lines(toks: list, cuts: list, limit: float) -> list:
    """Split ``toks`` at some of ``cuts`` into lines of at most ``limit`` points, balanced: as
    few lines as greedy filling needs, each about as long as the others."""
    def greedy(lim):
        line_start, last_ok, lines = 0, None, []
        for k in cuts + [len(toks)]:
            if width("".join(toks[line_start:k])) > lim and last_ok is not None and last_ok > line_start:
                lines.append("".join(toks[line_start:last_ok]))
                line_start = last_ok
            last_ok = k
        lines.append("".join(toks[line_start:]))
        return [x for x in (s.strip() for s in lines) if x]

    plain = greedy(limit)
    if len(plain) <= 1:
        return plain
    total = width("".join(toks))
    target = min(limit, total / len(plain) * 1.12)
    balanced = greedy(target)
    if len(balanced) <= len(plain) and all(width(x) <= limit for x in balanced):
        return balanced
    return plain


def _width(toks, i, j, scale) -> float:
    w = 0.0
    while i < j:
        t = toks[i]
        if t.isspace():
            i += 1
            continue
        if t in ("^", "_"):
            i += 1
            if i < j and toks[i] == "{":
                end = _group_end(toks, i)
                w += _width(toks, i + 1, end - 1, scale * 0.72)
                i = end
            elif i < j:
                w += _width(toks, i, i + 1, scale * 0.72)
                i += 1
            continue
        if t == "\\frac":
            a_end = _group_end(toks, i + 1)
            b_end = _group_end(toks, a_end)
            wa = _width(toks, i + 2, a_end - 1, scale)
            wb = _width(toks, a_end + 1, b_end - 1, scale)
            w += max(wa, wb) + 3 * scale
            i = b_end
            continue
        if t in ("\\text", "\\mathrm", "\\textbf", "\\operatorname") and i + 1 < j and toks[i + 1] == "{":
            end = _group_end(toks, i + 1)
            inner = "".join(toks[i + 2:end - 1])
            w += 5.6 * scale * len(inner)
            i = end
            continue
        if t in ("{", "}"):
            i += 1
            continue
        if t in _WORDS:
            w += _WORDS[t] * scale
        elif t in ("+", "-", "="):
            w += (9.5 if t != "=" else 9.0) * scale
        elif t in ("(", ")", ",", ".", "|", "[", "]"):
            w += 3.6 * scale
        elif t.startswith("\\"):
            w += 7.0 * scale
        else:
            w += 5.8 * scale
        i += 1
    return w


# ---------------------------------------------------------------------------------------------
# parentheses


def plain_parens(text: str) -> str:
    r"""``\left( X \right)`` becomes ``(X)`` where X holds nothing taller than a line."""
    toks = tokens(text)
    out = list(toks)
    stack = []
    for k, t in enumerate(toks):
        if t == "\\left":
            stack.append(k)
        elif t == "\\right" and stack:
            s = stack.pop()
            inner = toks[s + 2:k]
            if any(x in _TALL for x in inner) or "\\left" in inner and _tall_group(inner):
                continue
            if s + 1 < len(toks) and k + 1 < len(toks) and toks[s + 1] in "([|" and toks[k + 1] in ")]|":
                out[s] = ""
                out[k] = ""
    return "".join(out)


def _tall_group(inner) -> bool:
    return any(x in _TALL for x in inner)


# ---------------------------------------------------------------------------------------------
# breaking rows


def _split_points(toks: list, kinds) -> list:
    """Token indices where a row may be broken: at brace depth 0 and outside \\left...\\right,
    before a relation ("rel") or a + / - ("sum", lowest parenthesis depth first)."""
    depth = 0
    lr = 0
    paren = 0
    out = []
    prev = None
    for k, t in enumerate(toks):
        if t == "{":
            depth += 1
        elif t == "}":
            depth -= 1
        elif t == "\\left":
            lr += 1
        elif t == "\\right":
            lr -= 1
        if depth or lr or (k and toks[k - 1] in ("\\left", "\\right")):
            if not t.isspace():
                prev = t
            continue
        if t in "([":
            paren += 1
        elif t in ")]":
            paren -= 1
        if "rel" in kinds and t in _RELATIONS and k > 0:
            out.append((0, k))
        if "sum" in kinds and t in ("+", "-") and prev is not None and prev not in ("(", "[", "{", "&") \
                and prev not in _RELATIONS and prev not in ("+", "-", "\\cdot"):
            out.append((1 + paren, k))
        if not t.isspace():
            prev = t
    return out


def _break_at(pieces: list, kind: str, limit: float) -> list:
    """Break each piece that is too wide at its ``kind`` split points, greedily."""
    out = []
    for piece in pieces:
        if width(piece) <= limit:
            out.append(piece)
            continue
        toks = tokens(piece)
        points = _split_points(toks, (kind,))
        if not points:
            out.append(piece)
            continue
        if kind == "sum":
            lowest = min(p for p, _ in points)
            cut = [k for p, k in points if p == lowest]
            if lowest > 1 and not _fits_split(toks, cut, limit):
                cut = sorted(k for _, k in points)
        else:
            cut = [k for _, k in points]
        out.extend(_lines(toks, cut, limit))
    return out


def _fits_split(toks, cut, limit) -> bool:
    bounds = [0] + cut + [len(toks)]
    return all(width("".join(toks[a:b])) <= limit for a, b in zip(bounds, bounds[1:]))


def _break_products(pieces: list, limit: float) -> list:
    """Last resort: break between the top-level factors of a product (``(...) (...)`` or ``\\cdot``)."""
    out = []
    for piece in pieces:
        if width(piece) <= limit:
            out.append(piece)
            continue
        toks = tokens(piece)
        depth = lr = paren = 0
        cuts = []
        for k, t in enumerate(toks):
            if t == "{":
                depth += 1
            elif t == "}":
                depth -= 1
            elif t == "\\left":
                lr += 1
                if depth == 0 and lr == 1 and paren == 0 and k:
                    cuts.append(k)
            elif t == "\\right":
                lr -= 1
            elif not depth and not lr and t == "(":
                if paren == 0 and k:
                    cuts.append(k)
                paren += 1
            elif not depth and not lr and t == ")":
                paren -= 1
            elif not depth and not lr and not paren and t == "\\cdot":
                cuts.append(k)
        if not cuts:
            out.append(piece)
            continue
        lines = _lines(toks, cuts, limit)
        out.extend([lines[0]] + [(s if s.startswith("\\cdot") else "\\cdot " + s) for s in lines[1:]])
    return out


def break_row(row: str, limit: float = LINE_PT) -> list:
    """An align row ``lhs &= rhs`` as one or more rows that each fit ``limit`` points."""
    if width(row.replace("&", "")) <= limit:
        return [row]
    if "&" in row:
        lhs, rhs = row.split("&", 1)
    else:
        lhs, rhs = "", row
    lw = width(lhs)
    room = max(limit - lw - 10, 160.0)
    rhs = rhs.strip()
    pieces = _break_at([rhs], "rel", room)
    pieces = _break_at(pieces, "sum", room - CONTINUATION_PT)
    pieces = _break_products(pieces, room - CONTINUATION_PT)
    rows = []
    for n, p in enumerate(pieces):
        starts_rel = any(p.startswith(r) for r in _RELATIONS)
        if n == 0:
            rows.append(f"{lhs}&{p}" if starts_rel or not lhs else f"{lhs}&{p}")
        elif starts_rel:
            rows.append(f"&{p}")
        else:
            rows.append(f"&\\quad {p}")
    return rows


_ALIGN = re.compile(r"\\begin\{align\*\}\n(.*?)\n\\end\{align\*\}", re.S)
_DISPLAY = re.compile(r"\\\[\n(.*?)\n\\\]", re.S)


def _fit_align(m) -> str:
    body = m.group(1)
    rows = [r.strip() for r in re.split(r"\\\\\s*\n", body)]
    out = []
    for r in rows:
        out.extend(break_row(r))
    return "\\begin{align*}\n" + " \\\\\n".join(out) + "\n\\end{align*}"


def _fit_display(m) -> str:
    body = m.group(1).strip()
    if width(body) <= LINE_PT or "\\begin" in body:
        return m.group(0)
    toks = tokens(body)
    rel = [k for p, k in _split_points(toks, ("rel",))]
    if rel:
        k = rel[0]
        row = "".join(toks[:k]) + "&" + "".join(toks[k:])
    else:
        row = "&" + body
    return "\\begin{align*}\n" + " \\\\\n".join(break_row(row)) + "\n\\end{align*}"


def fit_page(tex: str) -> str:
    """The document with its displays fitted to the text width (see the module's docstring)."""
    tex = _ALIGN.sub(lambda m: _fit_align(type("M", (), {"group": lambda self, i=0: plain_parens(m.group(i))})()),
                     tex)
    tex = _DISPLAY.sub(lambda m: _fit_display(type("M", (), {"group": lambda self, i=0: plain_parens(m.group(i))})()),
                       tex)
    tex = fit_inline(tex)
    # every table's rows apart (sub- and superscripts of neighbouring rows never touch)
    tex = re.sub(r"(?<!\{1\.3\}\n)\\begin\{tabular\}", lambda m: "\\renewcommand{\\arraystretch}{1.3}\n\\begin{tabular}",
                 tex.replace("\\begin{center}\n\\begin{tabular}", "\\begin{center}\n\\renewcommand{\\arraystretch}{1.3}"
                             "\n\\begin{tabular}"))
    return tex




def _slash_fracs(math: str) -> str:
    r"""``\frac{\partial A}{\partial B}`` as ``\partial A/\partial B`` (inline: a text-style fraction
    is as tall as two lines and touches the line below)."""
    toks = tokens(math)
    out = []
    i = 0
    while i < len(toks):
        if toks[i] == "\\frac" and i + 1 < len(toks) and toks[i + 1] == "{":
            a_end = _group_end(toks, i + 1)
            if a_end < len(toks) and toks[a_end] == "{":
                b_end = _group_end(toks, a_end)
                a = "".join(toks[i + 2:a_end - 1]).strip()
                b = "".join(toks[a_end + 1:b_end - 1]).strip()
                if a.startswith("\\partial") and b.startswith("\\partial") and "\\frac" not in a + b:
                    out.append(f"{a}/{b}")
                    i = b_end
                    continue
        out.append(toks[i])
        i += 1
    return "".join(out)


def fit_inline(tex: str) -> str:
    r"""Inline math made line-high: ``\frac{\partial A}{\partial B}`` as ``\partial A/\partial B``,
    ``\left( \right)`` around line-high content as plain parentheses."""
    out = []
    i, start, n = 0, None, len(tex)
    last = 0
    while i < n:
        c = tex[i]
        if c == "\\":
            i += 2
            continue
        if c == "%" and start is None:
            j = tex.find("\n", i)
            i = n if j < 0 else j
            continue
        if c == "$":
            if i + 1 < n and tex[i + 1] == "$":
                i += 2
                continue
            if start is None:
                start = i
            else:
                out.append(tex[last:start + 1])
                out.append(plain_parens(_slash_fracs(tex[start + 1:i])))
                last = i
                start = None
        i += 1
    out.append(tex[last:])
    return "".join(out)


__all__ = ["fit_page", "fit_inline", "break_row", "width", "plain_parens", "tokens"]
