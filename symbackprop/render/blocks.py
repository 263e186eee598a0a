"""Layout helpers shared by the Renderer's sections: ``align*`` and display blocks, and the rows of
a long sum or chain of equalities, set over several rows when it would run past the margin (its
width estimated by :mod:`symbackprop.render.widths`)."""
from __future__ import annotations

from .widths import TEXT_WIDTH_PT, fits, math_width_pt


def _align(rows) -> str:
    rows = [r for r in rows if r]
    if not rows:
        return ""
    return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}\n"


def _display(text: str) -> str:
    return "\\[\n" + text + "\n\\]\n"


#: a sum of path products longer than this (characters of LaTeX) is set one path per row
MAX_SUM_ROW = 80


def _sum_rows(lhs: str, rel: str, terms: list, tail: str) -> list:
    r"""``lhs ≈ t_1 + t_2 + … ≈ v`` as align rows: on one row when it fits the line, else one path
    product per row (``&\quad + t_k``), the value on the last, so a sum of many paths stays on the page."""
    joined = " + ".join(terms)
    if (len(joined) <= MAX_SUM_ROW and fits(f"{rel} {joined} {tail}", rhs_room([lhs]))) or len(terms) == 1:
        return [f"{lhs} &{rel} {joined} {tail}"]
    rows = [f"{lhs} &{rel} {terms[0]}"]
    rows += [rf"&\quad + {t}" for t in terms[1:-1]]
    rows.append(rf"&\quad + {terms[-1]} {tail}")
    return rows


def top_level_terms(tex: str) -> list:
    r"""``tex`` cut at its top-level `` + `` and `` - `` (outside every brace and parenthesis), each
    piece after the first keeping its sign: ``a + \frac{b + c}{d} - e`` → ``['a', '+ \frac{b + c}{d}', '- e']``."""
    pieces, depth, start, i = [], 0, 0, 0
    while i < len(tex):
        ch = tex[i]
        if ch in "{([":
            depth += 1
        elif ch in "})]":
            depth -= 1
        elif depth == 0 and tex.startswith((" + ", " - "), i) and i > start:
            pieces.append(tex[start:i].strip())
            start = i + 1
            i += 2
            continue
        i += 1
    pieces.append(tex[start:].strip())
    return [p for p in pieces if p]


def chain_rows(lhs: str, pieces: list, room: float) -> list:
    r"""``lhs = e_1 = e_2 \approx e_3`` as align rows that stay within ``room`` points right of the
    alignment: ``pieces`` are the relation-led parts (``"= e_1"``, ``r"\approx e_3"``). When they do
    not fit on one row the first (the symbols) has a row of its own and the others (the numbers, the
    value) share the next rows while they fit (``&\approx e_2 \approx e_3``); a part
    wider than the room on its own is cut at its top-level sums, the rest of the sum on rows
    ``&\quad + …``. With everything on one row this is ``lhs &= e_1 = e_2 \approx e_3``."""
    rows, current = [], None
    whole = " ".join(pieces)
    if math_width_pt(whole) <= room:
        pieces = [whole]
    for k, piece in enumerate(pieces):
        if current is not None and k > 1 and math_width_pt(current + " " + piece) <= room:
            current += " " + piece
            continue
        if current is not None:
            rows.append(current)
        if math_width_pt(piece) <= room:
            current = piece
            continue
        current = None
        line = None
        for term in top_level_terms(piece):
            if line is None:
                line = term
            elif math_width_pt(line + " " + term) <= room:
                line += " " + term
            else:
                rows.append(line)
                line = r"\quad " + term
        current = line
    if current is not None:
        rows.append(current)
    head = f"{lhs} &" if lhs else "&"
    if not rows:
        return [head]
    return [head + rows[0]] + [f"&{r}" for r in rows[1:]]


def rhs_room(lhs_list) -> float:
    """Points left right of an align* block's alignment point, given the left-hand sides of its rows."""
    return TEXT_WIDTH_PT - max((math_width_pt(x) for x in lhs_list if x), default=0.0)
