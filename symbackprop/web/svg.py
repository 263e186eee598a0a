r"""The network (or computational graph) drawing as SVG, from the same layout as the TikZ pictures.

Network mode reads :class:`symbackprop.render.tikz.NetworkLayout` (node places, arrows, and every
label's measured box) and graph mode the TikZ graph's columns, so the page shows the lectures'
picture: x_j on the left, a^{k}_{j} in the middle, \hat{y} into the loss L with the target y.
Every label is LaTeX in a ``data-tex`` attribute of a ``<foreignObject>``, typeset by KaTeX in the
page (its text content is the same LaTeX, readable without JavaScript).  All names come from the
derivation (generated, not typed by a user) and are XML-escaped anyway.
"""
from __future__ import annotations

from html import escape

import sympy

from ..spec import names

PX = 46.0  # pixels per cm of the TikZ layout
MARGIN = 30.0


class _Canvas:
    def __init__(self):
        self.items: list = []
        self.xs: list = []
        self.ys: list = []

    def _pt(self, x, y):
        self.xs.append(x)
        self.ys.append(y)

    def line(self, a, b, arrow=True, cls="edge"):
        self._pt(*a)
        self._pt(*b)
        self.items.append(("line", a, b, arrow, cls))

    def circle(self, c, r, cls="node"):
        self._pt(c[0] - r, c[1] - r)
        self._pt(c[0] + r, c[1] + r)
        self.items.append(("circle", c, r, cls))

    def rect(self, c, w, h, cls="lossnode"):
        self._pt(c[0] - w / 2, c[1] - h / 2)
        self._pt(c[0] + w / 2, c[1] + h / 2)
        self.items.append(("rect", c, w, h, cls))

    def label(self, c, w, h, tex, cls="label"):
        self._pt(c[0] - w / 2, c[1] - h / 2)
        self._pt(c[0] + w / 2, c[1] + h / 2)
        self.items.append(("label", c, w, h, tex, cls))

    def svg(self, title: str) -> str:
        x0, x1 = min(self.xs) - MARGIN / PX, max(self.xs) + MARGIN / PX
        y0, y1 = min(self.ys) - MARGIN / PX, max(self.ys) + MARGIN / PX
        W, H = (x1 - x0) * PX, (y1 - y0) * PX

        def P(x, y):  # cm, y up -> px, y down
            return (x - x0) * PX, (y1 - y) * PX

        out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="drawing" viewBox="0 0 {W:.0f} {H:.0f}" '
               f'width="{W:.0f}" height="{H:.0f}" role="img" aria-label="{escape(title)}">',
               '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
               'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker></defs>']
        for it in self.items:
            if it[0] == "line":
                (ax, ay), (bx, by) = P(*it[1]), P(*it[2])
                marker = ' marker-end="url(#arrow)"' if it[3] else ""
                out.append(f'<line class="{it[4]}" x1="{ax:.1f}" y1="{ay:.1f}" x2="{bx:.1f}" y2="{by:.1f}" '
                           f'stroke="#333" stroke-width="1.3"{marker}/>')
        for it in self.items:
            if it[0] == "circle":
                cx, cy = P(*it[1])
                out.append(f'<circle class="{it[3]}" cx="{cx:.1f}" cy="{cy:.1f}" r="{it[2] * PX:.1f}" '
                           f'fill="#fff" stroke="#222" stroke-width="1.8"/>')
            elif it[0] == "rect":
                cx, cy = P(*it[1])
                w, h = it[2] * PX, it[3] * PX
                out.append(f'<rect class="{it[4]}" x="{cx - w / 2:.1f}" y="{cy - h / 2:.1f}" width="{w:.1f}" '
                           f'height="{h:.1f}" rx="6" fill="#fff" stroke="#222" stroke-width="1.8"/>')
        for it in self.items:
            if it[0] == "label":
                cx, cy = P(*it[1])
                w, h = it[2] * PX, it[3] * PX
                tex = escape(it[4], quote=True)
                out.append(f'<foreignObject x="{cx - w / 2:.1f}" y="{cy - h / 2:.1f}" width="{w:.1f}" '
                           f'height="{h:.1f}"><div xmlns="http://www.w3.org/1999/xhtml" class="svg-label {it[5]}">'
                           f'<span class="tex" data-tex="{tex}">{tex}</span></div></foreignObject>')
        out.append("</svg>")
        return "\n".join(out)


def _strip_dollars(text: str) -> str:
    text = text.strip()
    if text.startswith("$") and text.endswith("$"):
        return text[1:-1]
    return text


def network_svg(d) -> str:
    from ..render.tikz import NODE_CM, network_layout

    lay = network_layout(d)
    nt = lay.nt
    c = _Canvas()
    rad = NODE_CM / 2
    for (k, j), (x, y) in lay.nodes.items():
        name = names.feature(j) if k == 1 else names.activation(k, j)
        c.circle((x, y), rad)
        tex = nt.display.get(name) or sympy.latex(names.symbol(name))
        c.label((x, y), NODE_CM * 0.95, NODE_CM * 0.6, tex, "node-label")
    for _, _, _, (a, b) in lay.edges:
        c.line(a, b)
    c.rect(lay.loss_at, 0.8, 0.8)
    c.label(lay.loss_at, 0.8, 0.6, nt.out_tex, "node-label")
    for _, (a, b) in lay.out_edges:
        c.line(a, b)
    tx, ty = lay.target_at
    c.label((tx, ty), 0.5, 0.5, "y", "node-label")
    c.line((tx, ty + 0.25), (lay.loss_at[0], lay.loss_at[1] - 0.42))
    for box, text in lay.labels:
        cx, cy = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
        w, h = (box.x1 - box.x0) * 1.35, (box.y1 - box.y0) * 1.45
        c.label((cx, cy), w, h, _strip_dollars(text))
    title = "the network: " + "-".join(str(w) for w in lay.g.layers)
    return c.svg(title)


def graph_svg(d) -> str:
    """The computational graph as the worksheets draw it (:class:`~symbackprop.render.tikz.GraphDrawing`):
    nodes in columns by depth, each arrow routed between the nodes, never through one."""
    from ..render.tikz import GraphDrawing

    g = d.graph
    drawing = GraphDrawing(d)
    nt = drawing.nt
    at = drawing.at
    c = _Canvas()
    for _source, points in drawing.arrows:
        for k in range(len(points) - 1):
            c.line(points[k], points[k + 1], arrow=k == len(points) - 2)
    for n in drawing.nodes:
        x, y = at[n.name]
        hw, hh = drawing.half[n.name]
        if not n.is_leaf:
            c.circle((x, y), hw)
        c.label((x, y), 2 * hw, 2 * hh, nt.tex(n.name), "node-label")
    lowest = min(y for _, y in at.values())
    defs = ",\\quad ".join(f"{nt.tex(n.name)} = {nt.latex(n.definition)}" for n in drawing.nodes if not n.is_leaf)
    width = max(x for x, _ in list(at.values()) + [drawing.end]) + 0.5
    c.label((width / 2, lowest - 0.9), max(width, 4.0), 0.7, defs, "defs")
    return c.svg("the computational graph")


def drawing_svg(d) -> str | None:
    """The SVG picture of ``d`` (None when the network is too wide to draw usefully)."""
    g = d.graph
    if g.mode == "network":
        if max(g.layers) > 12 or len(g.layers) > 7:
            return None
        return network_svg(d)
    return graph_svg(d)
