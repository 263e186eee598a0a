r"""How wide a row of display math will be on the page, in TeX points, before anything is compiled.

The derivation documents set long rows (a weighted sum with its numbers, the chain rule at a node
that feeds three others, a sum of path products) over several rows when one would run past the
margin. Counting LaTeX characters is a poor guide (``\frac{\partial L}{\partial z^{3}_{1}}`` is 37
characters and about 25 pt wide), so this module estimates the width the way TeX builds it, at the
documents' 11 pt in display style:

- glyphs at their advance widths (Latin Modern, 10.95 pt; scripts at 8 pt), from the table
  ``render.tikz_layout`` measured with pdflatex at 8 pt and 6 pt, scaled;
- TeX's spacing between atoms: 5 mu around a relation (=, \approx), 4 mu around a binary
  operator (+, -, \cdot; none for a unary minus), 3 mu after a comma;
- a script as wide as the wider of its superscript and subscript, plus \scriptspace;
- ``\frac{a}{b}`` as wide as the wider of a and b, ``\hat``, ``\boxed``, ``\text``, ``\operatorname``,
  ``\left( \right)`` and the spaces ``\,``, ``\quad`` for what they add.

It errs on the wide side (an unknown command counts as a wide glyph), so a row it accepts fits.
:data:`TEXT_WIDTH_PT` is the documents' text width (A4, 2.2 cm margins).
"""
from __future__ import annotations

import re

from .tikz_layout import SCRIPT_PT, TEXT_PT, _group as _tikz_group

TEXT_WIDTH_PT = (21.0 - 2 * 2.2) / 2.54 * 72.27      # 472.3 pt
_TEXT_SCALE = 10.95 / 8.0     # the table's 8 pt glyphs at 11 pt
_SCRIPT_SCALE = 8.0 / 6.0     # its 6 pt script glyphs at 8 pt
_MU = 10.95 / 18
_REL, _BIN, _THIN = 5 * _MU, 4 * _MU, 3 * _MU
_UNKNOWN = 7.5
#: glyphs the measured table lacks, in its units (pt at 8 pt)
_EXTRA = {r"\sigma": 5.145, r"\alpha": 5.35, r"\to": 8.0,
          r"\leftarrow": 8.5, r"\lambda": 4.9, r"\theta": 4.1, r"\eta": 4.1, r"\delta": 4.061, "|": 2.3,
          "'": 2.2, "!": 2.3, ":": 2.3, ";": 2.3, "<": 6.611, ">": 6.611, r"\ldots": 9.0, r"\dots": 9.0,
          r"\infty": 8.5, r"\odot": 6.611, r"\top": 6.0, r"\in": 5.0}
_OPERATORS = {r"\log": 12.0, r"\exp": 15.8, r"\tanh": 21.3, r"\ln": 8.7, r"\max": 18.6, r"\min": 16.4}
_RELATIONS = {"=", r"\approx", r"\le", r"\ge", r"\leftarrow", r"\to", r"\ne", "<", ">", r"\in"}
_BINARY = {"-", "+", r"\times", r"\cdot", r"\odot"}
_SPACES = {r"\,": 3 * _MU, r"\;": 5 * _MU, r"\ ": 3.65, r"\!": -3 * _MU, r"\quad": 10.95, r"\qquad": 21.9,
           "~": 3.65}
_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|[{}^_&]|\s+|.", re.S)
_IGNORED = {r"\left", r"\right", r"\displaystyle", r"\big", r"\Big", r"\bigg", r"\Bigg", r"\limits", "&",
            r"\nonumber", r"\notag"}


def _group(toks, i):
    """(the tokens of the group or single token at i, the index after it), after any spaces."""
    while i < len(toks) and toks[i].isspace():
        i += 1
    return _tikz_group(toks, i)


def _glyph(t: str, script: bool) -> float:
    key = "0" if t.isdigit() else t
    if script:
        w = SCRIPT_PT.get(key)
        return (w * _SCRIPT_SCALE) if w is not None else _EXTRA.get(key, _UNKNOWN / _TEXT_SCALE) * 0.73 * _TEXT_SCALE
    w = TEXT_PT.get(key, _EXTRA.get(key))
    if w is None:
        w = 5.2 if len(key) == 1 and key.isalpha() else _UNKNOWN / _TEXT_SCALE
    return w * _TEXT_SCALE


def _atoms(toks, script: bool) -> list:
    """[(class, width)] of a token list; scripts are folded into the atom before them."""
    out = []
    i = 0
    while i < len(toks):
        t = toks[i]
        i += 1
        if t.isspace() or t == "}" or t in _IGNORED:
            continue
        if t in ("^", "_"):
            arg, i = _group(toks, i)
            w = _width(arg, True)
            if not out:
                out.append(["ord", 0.0, 0.0, 0.0])
            slot = 2 if t == "^" else 3
            out[-1][slot] = max(out[-1][slot], w)
            continue
        if t in _SPACES:
            out.append(["space", _SPACES[t], 0.0, 0.0])
            continue
        if t in (r"\frac", r"\dfrac", r"\tfrac"):
            num, i = _group(toks, i)
            den, i = _group(toks, i)
            small = script or t == r"\tfrac"
            out.append(["ord", max(_width(num, small), _width(den, small)) + 2.4, 0.0, 0.0])
            continue
        if t in (r"\text", r"\mathrm", r"\textbf", r"\emph", r"\operatorname", r"\mathbf", r"\texttt"):
            arg, i = _group(toks, i)
            letters = "".join(a for a in arg if not a.startswith("\\"))
            w = len(letters) * (5.0 if not script else 3.8) * (1.1 if t == r"\texttt" else 1.0)
            out.append(["op" if t == r"\operatorname" else "ord", w + (0 if t != r"\operatorname" else 1.8),
                        0.0, 0.0])
            continue
        if t in (r"\hat", r"\bar", r"\tilde", r"\vec", r"\mathit"):
            arg, i = _group(toks, i)
            out.append(["ord", _width(arg, script), 0.0, 0.0])
            continue
        if t == r"\boxed":
            arg, i = _group(toks, i)
            out.append(["ord", _width(arg, script) + 6.8, 0.0, 0.0])
            continue
        if t in (r"\underbrace", r"\overbrace"):
            arg, i = _group(toks, i)
            out.append(["ord", _width(arg, script), 0.0, 0.0])
            continue
        if t in (r"\sum", r"\prod"):
            out.append(["op", 14.5 if not script else 10.6, 0.0, 0.0])
            continue
        if t in _OPERATORS:
            out.append(["op", _OPERATORS[t] * (0.73 if script else 1.0), 0.0, 0.0])
            continue
        if t == "{":
            arg, i = _group(toks, i - 1)
            out.append(["ord", _width(arg, script), 0.0, 0.0])
            continue
        cls = "rel" if t in _RELATIONS else "bin" if t in _BINARY else "punct" if t == "," else \
            "open" if t in ("(", "[") else "close" if t in (")", "]") else "ord"
        out.append([cls, _glyph(t, script), 0.0, 0.0])
    return out


def _width(toks, script: bool = False) -> float:
    atoms = _atoms(toks, script)
    prev = None
    for a in atoms:   # a binary operator after nothing, an operator, a relation or an opening is unary
        if a[0] == "bin" and prev in (None, "bin", "rel", "punct", "open"):
            a[0] = "ord"
        if a[0] != "space":
            prev = a[0]
    width, prev = 0.0, None
    for cls, w, sup, sub in atoms:
        if not script and prev is not None and cls != "space":
            pair = {prev, cls}
            if "rel" in pair and pair != {"rel"} and "punct" not in pair:
                width += _REL
            elif "bin" in pair and pair != {"bin"}:
                width += _BIN
            elif prev == "punct" or ("op" in pair and pair & {"ord", "op"}):
                width += _THIN
        width += w + (max(sup, sub) + 0.5 if (sup or sub) else 0.0)
        if cls != "space":
            prev = cls
    return width


def math_width_pt(tex: str) -> float:
    r"""The estimated width in points of display math ``tex`` at 11 pt (``&`` alignment marks ignored).

    >>> round(math_width_pt(r"\frac{\partial L}{\partial \hat{y}} = \hat{y} - y"))
    58
    """
    return _width(_TOKEN.findall(tex))


def fits(tex: str, room: float = TEXT_WIDTH_PT) -> bool:
    """True when ``tex`` (one row of display math) is estimated to fit in ``room`` points."""
    return math_width_pt(tex) <= room
