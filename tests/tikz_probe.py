r"""Measure a TikZ picture as pdflatex draws it: every node's real box, every arrow, and the pairs
that overlap. An oracle that shares no code with :mod:`symbackprop.render.tikz_layout`.

The picture is compiled with a style that gives every node an extra name (``alias=P<n>``) and,
after the picture, writes each node's four corners (``south west``, ``south east``, ``north east``,
``north west``: a sloped label's box is a rotated rectangle) and its centre to the log. The arrows
are read from the ``\draw`` commands (coordinates in the picture's units, or node names, for which
the line between the nodes' centres is taken). A *label* is a node that is none of the named nodes
(neurons ``n..``/``m..``, ``loss``, ``target``) and not a heading. Counted as overlapping pairs:

- label / label (their rotated rectangles intersect, separating-axis test);
- label / neuron (the circle meets the rectangle) or label / loss or target box;
- label / arrow, unless it is the label's own arrow: the arrow it was drawn on (a ``node`` inside
  that ``\draw``), else the arrow that passes closest to the label's centre within half its
  height + 1.5 mm.
"""
from __future__ import annotations

import math
import os
import re
import subprocess
import tempfile

PT_CM = 2.54 / 72.27

PREAMBLE = r"""\documentclass[11pt,a4paper]{article}
\usepackage[T1]{fontenc}\usepackage{lmodern}\usepackage{amsmath,amssymb}
\usepackage[margin=2.2cm]{geometry}\usepackage{booktabs}
\usepackage{tikz}\usetikzlibrary{arrows.meta,positioning}
\newcount\probecnt
\makeatletter
\def\probecorner#1#2{\@ifundefined{pgf@sh@ns@#1}{}{\pgfpointanchor{#1}{#2}\typeout{PROBE #1 #2 \the\pgf@x\space\the\pgf@y}}}
\makeatother
\tikzset{every node/.append style={execute at begin node={\global\advance\probecnt1\relax}, alias=P\the\probecnt}}
\begin{document}
"""


def _dump(n_nodes: int) -> str:
    out = []
    for i in range(0, n_nodes + 1):
        for a in ("south west", "south east", "north east", "north west", "center"):
            out.append(rf"\probecorner{{P{i}}}{{{a}}}")
    return "\n".join(out)


def _names(tikz: str) -> list:
    return re.findall(r"\\node(?:\[.*\])?\s*\(([A-Za-z0-9-]+)\)\s*at", tikz)


def compile_probe(tikz: str, tmp: str | None = None) -> dict:
    """Compile ``tikz`` (one tikzpicture) and return ``{"nodes": {P<n>: (corners, centre)},
    "named": {name: P<n>}, "log": text}`` (cm)."""
    n_nodes = tikz.count(r"\node") + len(re.findall(r"[^\\]node\[", tikz)) + tikz.count("label={") + 40
    named = _names(tikz)
    body = tikz.replace(r"\end{tikzpicture}", _dump(n_nodes) + "\n" + "\n".join(
        rf"\probecorner{{{nm}}}{{center}}" for nm in named) + "\n\\end{tikzpicture}")
    src = PREAMBLE + body + "\n\\end{document}\n"
    own_tmp = tmp is None
    tmp = tmp or tempfile.mkdtemp(prefix="probe-")
    with open(os.path.join(tmp, "probe.tex"), "w", encoding="utf-8") as fh:
        fh.write(src)
    subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "probe.tex"], cwd=tmp,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    with open(os.path.join(tmp, "probe.log"), encoding="latin-1") as fh:
        log = fh.read()
    if own_tmp:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    pts = {}
    for m in re.finditer(r"PROBE (\S+) (south west|south east|north east|north west|center) "
                         r"(-?[0-9.]+)pt ?(-?[0-9.]+)pt", log.replace("\n", "")):
        pts.setdefault(m.group(1), {})[m.group(2)] = (float(m.group(3)) * PT_CM, float(m.group(4)) * PT_CM)
    nodes = {k: ([v[a] for a in ("south west", "south east", "north east", "north west")], v["center"])
             for k, v in pts.items() if k.startswith("P") and len(v) == 5}
    centres = {k: v["center"] for k, v in pts.items() if not k.startswith("P") and "center" in v}
    # a P<n> is the named node whose centre it shares (the order of creation is the order in the source)
    named = {}
    for nm, c in centres.items():
        for p, (_, pc) in nodes.items():
            if abs(pc[0] - c[0]) < 1e-4 and abs(pc[1] - c[1]) < 1e-4 and p not in named.values():
                named[nm] = p
                break
    return {"nodes": nodes, "named": named, "log": log}


def _units(tikz: str) -> tuple:
    m = re.search(r"\\begin\{tikzpicture\}\[x=([0-9.]+)cm, y=([0-9.]+)cm", tikz)
    return (float(m.group(1)), float(m.group(2))) if m else (1.0, 1.0)


def arrows(tikz: str, probe: dict) -> list:
    """[(start, end, line number)] of every \\draw (cm), node names taken at their centres."""
    ux, uy = _units(tikz)
    named = probe["named"]
    out = []
    for n, line in enumerate(tikz.splitlines()):
        if not line.lstrip().startswith(r"\draw"):
            continue
        ends = re.findall(r"\(([^()]*)\)(?![^{]*\})", re.sub(r"node\[[^\]]*\]\s*\{(?:[^{}]|\{[^{}]*\})*\}", "", line))
        pts = []
        for e in ends:
            if "," in e:
                x, y = e.split(",")
                pts.append((float(x) * ux, float(y) * uy))
            elif e in named:
                pts.append(probe["nodes"][named[e]][1])
        if len(pts) >= 2:
            out.append((pts[0], pts[-1], n))
    return out


def _axes(poly):
    for i in range(len(poly)):
        (x0, y0), (x1, y1) = poly[i], poly[(i + 1) % len(poly)]
        yield (y0 - y1, x1 - x0)


def _separated(p, q, eps=1e-6) -> bool:
    for ax in list(_axes(p)) + list(_axes(q)):
        if ax == (0, 0):
            continue
        pa = [x * ax[0] + y * ax[1] for x, y in p]
        qa = [x * ax[0] + y * ax[1] for x, y in q]
        if max(pa) <= min(qa) + eps or max(qa) <= min(pa) + eps:
            return True
    return False


def _seg_dist(p, a, b) -> float:
    (px, py), (ax, ay), (bx, by) = p, a, b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / ((dx * dx + dy * dy) or 1.0)))
    return math.hypot(px - ax - t * dx, py - ay - t * dy)


def _circle_meets(poly, c, r) -> bool:
    inside = not _separated(poly, [c, c, c])
    return inside or min(_seg_dist(c, poly[i], poly[(i + 1) % 4]) for i in range(4)) < r - 1e-6


def overlaps(tikz: str, probe: dict | None = None, heading_ids=()) -> list:
    """The overlapping pairs of the compiled picture (see the module's docstring)."""
    probe = probe or compile_probe(tikz)
    nodes, named = probe["nodes"], probe["named"]
    inv = {p: nm for nm, p in named.items()}
    neurons, boxes, labels = [], [], []
    for p, (corners, c) in nodes.items():
        nm = inv.get(p, "")
        w = math.dist(corners[0], corners[1])
        h = math.dist(corners[1], corners[2])
        if re.match(r"[nm]\d+-\d+$", nm):
            neurons.append((nm, c, max(w, h) / 2))
        elif nm in ("loss", "target"):
            boxes.append((nm, corners))
        elif p not in heading_ids and w > 0 and h > 0:
            labels.append((p, corners, c, h))
    segs = arrows(tikz, probe)
    draw_lines = [n for n, line in enumerate(tikz.splitlines()) if line.lstrip().startswith(r"\draw")]
    # labels drawn inside a \draw belong to it: P-numbers are given in source order
    owner = {}
    count = -1   # the first node is P0 (its alias is made before the counter steps)
    for n, line in enumerate(tikz.splitlines()):
        k = len(re.findall(r"\\node\b", line)) + len(re.findall(r"(?<!\\)\bnode\[", line)) + line.count("label={")
        for _ in range(k):
            count += 1
            if n in draw_lines:
                owner[f"P{count}"] = n
    bad = []
    for i, (p, poly, c, h) in enumerate(labels):
        for q, poly2, _, _ in labels[i + 1:]:
            if not _separated(poly, poly2):
                bad.append((p, q))
        for nm, cc, r in neurons:
            if _circle_meets(poly, cc, r):
                bad.append((p, nm))
        for nm, poly2 in boxes:
            if not _separated(poly, poly2):
                bad.append((p, nm))
        own = owner.get(p)
        if own is None:
            near = [(_seg_dist(c, a, b), n) for a, b, n in segs]
            if near:
                dist, n = min(near)
                if dist < h / 2 + 0.15:
                    own = n
        for a, b, n in segs:
            if n != own and not _separated(poly, [a, b]):
                bad.append((p, f"arrow line {n}"))
    return bad


def label_boxes(tikz: str, probe: dict) -> dict:
    """{label number n of ``(lab<n>)``: (x0, x1, y0, y1)} of the real label nodes (cm)."""
    out = {}
    for line in tikz.splitlines():
        m = re.search(r"\(lab(\d+)\)", line)
        if m:
            out[int(m.group(1))] = None
    for nm, p in probe["named"].items():
        m = re.match(r"lab(\d+)$", nm)
        if m:
            corners = probe["nodes"][p][0]
            xs, ys = [c[0] for c in corners], [c[1] for c in corners]
            out[int(m.group(1))] = (min(xs), max(xs), min(ys), max(ys))
    return out
