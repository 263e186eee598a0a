"""Layout helpers shared by the Renderer's sections: ``align*`` and display blocks, and the rows of
a long sum (one path product per row when it would run off the page)."""
from __future__ import annotations


def _align(rows) -> str:
    rows = [r for r in rows if r]
    if not rows:
        return ""
    return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}\n"


def _display(text: str) -> str:
    return "\\[\n" + text + "\n\\]\n"



#: a forward row whose definition and numbers together are longer than this (characters of LaTeX)
#: puts the numbers on a row of their own
MAX_FORWARD_ROW = 180

#: a sum of path products longer than this (characters of LaTeX) is set one path per row
MAX_SUM_ROW = 80


def _sum_rows(lhs: str, rel: str, terms: list, tail: str) -> list:
    r"""``lhs ≈ t_1 + t_2 + … ≈ v`` as align rows: on one row when it fits the line, else one path
    product per row (``&\quad + t_k``), the value on the last, so a sum of many paths stays on the page."""
    joined = " + ".join(terms)
    if len(joined) <= MAX_SUM_ROW or len(terms) == 1:
        return [f"{lhs} &{rel} {joined} {tail}"]
    rows = [f"{lhs} &{rel} {terms[0]}"]
    rows += [rf"&\quad + {t}" for t in terms[1:-1]]
    rows.append(rf"&\quad + {terms[-1]} {tail}")
    return rows
