r"""TikZ pictures of a derivation's network or computational graph (the lectures' drawings).

Network mode draws the lecture notes' picture: one column per layer, nodes a^{k}_{j}
(the inputs x_j, the output a^{L}_{1} = \hat{y}), an arrow per weight labelled w^{k}_{i,j}
(joining node j of layer k to node i of layer k + 1), the bias b^{k}_{i} above each node
it belongs to, and the loss L fed by \hat{y} and the target y. With ``values`` (an answer
key) each node also shows its forward values (z, a) and its upstream gradient
\partial L/\partial z, and each weight's arrow the gradient \partial L/\partial w.

Graph mode draws the slides' circuit for f = (x + y) z: the inputs on the left, one node
per equation in columns by depth, no arrow through a node (:mod:`~symbackprop.render.graph_layout`),
and in the key, on an arrow out of each node, its forward value and the gradient
\partial f/\partial v below it (or, when they do not all fit, a table of them).

Matrix mode (``matrix_network_tikz``) draws the same network as the slides think of it: one
column per matrix of the batch (x, then z_l, a_l, then \hat{y}), headed by its name and, in the
key, its shape (n, N_l); between two columns the weight matrix W_l and the bias b_l with their
shapes; each arrow from input j to neuron i labelled with the entry it uses, W_l[j, i]
(= w^{l}_{i,j} of the lecture notes), and in the key the gradient dW_l[j, i] in red.

Everything is read from the Derivation's graph (or the MatrixDerivation) and, for numbers, from a
:class:`symbackprop.render.latex.Evaluation` or the matrix environment (exact values, rounded for
display).
The pictures need ``\usepackage{tikz}`` (``tikz_packages()``).
"""
from __future__ import annotations

import sympy

from ..spec import names
from ..render.latex import Notation, format_number

from .graph_layout import layered_layout
from .tikz_layout import (GRADIENT_COLOR, NODE_CM, TEXT_WIDTH_CM, VALUE_COLOR, Box, NetworkLayout,  # noqa: F401
                          Placer, along, arrow_positions, arrowheads, label_size_cm,
                          math_width_pt)

MAX_LABELLED_EDGES = 24   # more arrows than this: the weight names are left out (they would overlap)
MAX_LAYER_WIDTH = 12      # wider layers are drawn with their first and last nodes and a gap


def tikz_packages() -> tuple:
    """Preamble lines the pictures need."""
    return (r"\usepackage{tikz}", r"\usetikzlibrary{arrows.meta,positioning}")


def _num(value, decimals) -> str:
    text, exact = format_number(value, decimals)
    return ("= " if exact else r"\approx ") + text


def drawing(d, ev=None, example: int = 0, decimals: int = 2, scale: float = 1.0) -> str:
    """The picture for ``d``: the network (network mode) or the computational graph.

    ``ev``: an Evaluation to show forward values and gradients of ``example`` (the key);
    None draws the bare picture (the exercises).
    """
    if d.graph.mode == "network":
        return network_tikz(d, ev, example, decimals, scale)
    return graph_tikz(d, ev, example, decimals, scale)


def _shown_indices(width: int) -> list:
    if width <= MAX_LAYER_WIDTH:
        return list(range(1, width + 1))
    return [1, 2, 3, None, width - 1, width]


def network_layout(d, ev=None, example: int = 0, decimals: int = 2) -> NetworkLayout:
    """The measured layout of the network drawing (see :class:`NetworkLayout`)."""
    return NetworkLayout(d, ev, example, decimals)


def network_tikz(d, ev=None, example: int = 0, decimals: int = 2, scale: float = 1.0) -> str:
    """The network as the lecture draws it (Figure 3 of the notes), optionally with values.

    Every label is placed by :class:`NetworkLayout` where its box meets no other label, node or
    arrow; a gap whose arrows cannot all be labelled that way is drawn without the weight names
    (the caption says where the weights are: the matrices W^{k} of the setup). In the key, node
    values (green) and gradients (red, with their "\\partial") go under the nodes when they fit,
    else into a table beside the drawing (:func:`network_values_table`)."""
    lay = NetworkLayout(d, ev, example, decimals)
    g, nt = d.graph, lay.nt
    lines = [
        rf"\begin{{tikzpicture}}[x={scale:.2f}cm, y={scale:.2f}cm, >={{Stealth[length=2.2mm]}},",
        r"  neuron/.style={circle, draw, thick, minimum size=11mm, inner sep=1pt, fill=white},",
        r"  lossnode/.style={rectangle, rounded corners, draw, thick, minimum size=8mm, fill=white},",
        r"  lab/.style={fill=white, inner sep=0.5pt, font=\scriptsize, align=center}]",
    ]
    for (k, j), (x, y) in lay.nodes.items():
        name = names.feature(j) if k == 1 else names.activation(k, j)
        lines.append(rf"\node[neuron] (n{k}-{j}) at ({x:.3f},{y:.3f}) {{${sympy.latex(names.symbol(name))}$}};")
    for (k, j), (ki, i), name, (a, b) in lay.edges:
        lines.append(rf"\draw[->] ({a[0]:.3f},{a[1]:.3f}) -- ({b[0]:.3f},{b[1]:.3f});")
    lx, ly = lay.loss_at
    tx, ty = lay.target_at
    lines.append(rf"\node[lossnode] (loss) at ({lx:.3f},{ly:.3f}) {{${nt.out_tex}$}};")
    lines.append(rf"\node (target) at ({tx:.3f},{ty:.3f}) {{$y$}};")
    for _, (a, b) in lay.segments[len(lay.edges):]:   # the output arrows and the target's, as measured
        lines.append(rf"\draw[->] ({a[0]:.3f},{a[1]:.3f}) -- ({b[0]:.3f},{b[1]:.3f});")
    for n, (box, text) in enumerate(lay.labels, start=1):
        cx, cy = box.centre
        lines.append(rf"\node[lab] (lab{n}) at ({cx:.3f},{cy:.3f}) {{{text}}};")
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines) + "\n"


def network_caption(d, ev=None, example: int = 0, decimals: int = 2) -> str:
    """What the drawing leaves to the text: where the weight names are, what the colours mean."""
    lay = NetworkLayout(d, ev, example, decimals)
    parts = []
    bare = [k for k in range(1, lay.depth) if k not in lay.labelled_gaps]
    if bare:
        which = ", ".join(f"$W^{{{k}}}$" for k in bare)
        parts.append("The arrow from node $j$ of layer $k$ to node $i$ of layer $k + 1$ carries the weight "
                     f"$w^{{k}}_{{i,j}}$; the arrows of {which} are too many to label: their weights are given "
                     "above.")
    if ev is not None:
        grad = rf"\textcolor{{{GRADIENT_COLOR}}}{{the gradient $\partial {lay.nt.out_tex}/\partial z$ in red}}"
        if lay.info_in_drawing:
            parts.append(rf"Under each node: its values in \textcolor{{{VALUE_COLOR}}}{{green}} and {grad}.")
            parts.append(r"The weights' gradients are in red below the drawing.")
        else:
            parts.append(rf"The table below gives each node's values $z$ and $a$ and {grad}; the weights' "
                         "gradients follow it.")
    return " ".join(parts) + ("\n" if parts else "")


def uniform_numbers(rows, decimals: int = 2, most: int = 8) -> list:
    """A matrix of exact numbers as text, every entry with the same number of decimals: ``decimals``,
    or more (up to ``most``) when the smallest non-zero entry needs them for two significant digits;
    exact zeros and whole numbers stay as they are."""
    from decimal import ROUND_HALF_UP, Decimal

    nonzero = [abs(float(v)) for r in rows for v in r if float(v) != 0]
    places = decimals
    if nonzero:
        small = min(nonzero)
        if small < 10 ** (-decimals):
            import math

            places = min(most, -math.floor(math.log10(small)) + 1)
    out = []
    for r in rows:
        line = []
        for v in r:
            if getattr(v, "is_Integer", False) or isinstance(v, int):
                line.append(str(v))
                continue
            dec = Decimal(str(sympy.Float(sympy.N(v, 40) if isinstance(v, sympy.Basic) else v, 30)))
            q = dec.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
            line.append(f"{q:.{places}f}")
        out.append(line)
    return out


DISPLAY_ROOM_PT = 440.0   # the text width is 472 pt (a4, 2.2 cm margins); the rest is slack


def _display_pt(rows, k) -> float:
    """The width (pt, 11 pt display) of ``\\frac{\\partial J}{\\partial W^{k}} \\approx [rows]``: the
    glyph table's widths scaled from 8 pt, the widest row, 10 pt between columns, the brackets."""
    scale = 11 / 8
    cols = max(len(r) for r in rows)
    widest = max(sum(math_width_pt(e) for e in r) for r in rows)
    frac = math_width_pt(rf"\partial W^{{{k}}}")
    return scale * (widest + frac + 6.6 + 2 * 2.78) + 10 * (cols - 1) + 2 * 5 + 12


def network_values_table(d, ev, example: int = 0, decimals: int = 2) -> str:
    """The key's numbers beside the drawing: per node z, a and dL/dz when they did not fit under
    the nodes, and per layer the weights' gradients dL/dW^{k} and dL/db^{k} as matrices."""
    lay = NetworkLayout(d, ev, example, decimals)
    g, nt = d.graph, lay.nt
    values, grads = ev.values[example], ev.gradients[example]
    out = []
    if not lay.info_in_drawing:
        rows = []
        for k in range(2, lay.depth + 1):
            for j in range(1, g.layers[k - 1] + 1):
                z, a = names.pre_activation(k, j), names.activation(k, j)
                gz = format_number(grads[z], decimals)[0] if z in grads else ""
                rows.append(f"${sympy.latex(names.symbol(a))}$ & ${format_number(values[z], decimals)[0]}$ & "
                            f"${format_number(values[a], decimals)[0]}$ & "
                            rf"$\color{{{GRADIENT_COLOR}}}{gz}$ \\")
        head = (rf"node & $z$ & $a$ & \textcolor{{{GRADIENT_COLOR}}}{{$\partial {nt.out_tex}/\partial z$}} \\")
        half = (len(rows) + 1) // 2 if len(rows) > 12 else len(rows)
        tabs = []
        for chunk in (rows[:half], rows[half:]):
            if chunk:
                tabs.append("\\begin{tabular}{cccc}\n\\toprule\n" + head + "\n\\midrule\n" + "\n".join(chunk)
                            + "\n\\bottomrule\n\\end{tabular}")
        out.append("\\begin{center}\n\\small\n" + "\\qquad\n".join(tabs) + "\n\\end{center}\n")
    mats = []
    for k in range(1, lay.depth):
        Wv = [[grads.get(names.weight(k, i, j), sympy.S.Zero) for j in range(1, g.layers[k - 1] + 1)]
              for i in range(1, g.layers[k] + 1)]
        if g.shared_biases:  # one bias for the layer: one number, the sum over the nodes it is added to
            bv = [[grads.get(names.shared_bias(k), sympy.S.Zero)]]
        else:
            bv = [[grads.get(names.bias(k, i), sympy.S.Zero)] for i in range(1, g.layers[k] + 1)]
        W, b = uniform_numbers(Wv, decimals), uniform_numbers(bv, decimals)
        mw = r"\begin{bmatrix} " + r" \\ ".join(" & ".join(r) for r in W) + r" \end{bmatrix}"
        mb = (b[0][0] if g.shared_biases else
              r"\begin{bmatrix} " + r" \\ ".join(" & ".join(r) for r in b) + r" \end{bmatrix}")
        lw = rf"\frac{{\partial {nt.out_tex}}}{{\partial W^{{{k}}}}} \approx {mw}"
        lb = rf"\frac{{\partial {nt.out_tex}}}{{\partial b^{{{k}}}}} \approx {mb}"
        if _display_pt(W, k) + _display_pt(b, k) + 30 <= DISPLAY_ROOM_PT:
            mats.append(lw + r",\qquad " + lb)
        else:
            mats += [lw, lb]
    out.append(rf"{{\color{{{GRADIENT_COLOR}}}" + "\n\\begin{gather*}\n" + " \\\\\n".join(mats)
               + "\n\\end{gather*}\n}\n")
    out.append("Each matrix is rounded to one number of decimals: the sheet's, or more where its smallest "
               "entry needs them for two significant digits.\n")
    return "\n".join(out)


def _layout(g) -> dict:
    """The `picture` command's graph layout (lessons/plots.py; the TikZ and web drawings are :class:`GraphDrawing`'s).
    {node name: (column, y)}: a leaf sits just left of the first node it feeds; a node's row
    follows the nodes it feeds (so f = (x + y) z reads like the slides: x, y -> q, then q, z -> f)."""
    influencing = [n for n in g.nodes if g.influences(n.name)]
    column = {}
    for n in influencing:
        column[n.name] = 0 if n.is_leaf else 1 + max(column.get(p, 0) for p in n.parents if p in column or True)
    for n in influencing:
        if n.is_leaf:
            kids = [column[c] for c in g.children[n.name] if c in column]
            column[n.name] = max(min(kids) - 1, 0) if kids else 0
    # recompute defined nodes' columns after moving leaves (a node stays right of its parents)
    for n in influencing:
        if not n.is_leaf:
            column[n.name] = max([column[n.name]] + [column[p] + 1 for p in n.parents if p in column])
    order = {n.name: i for i, n in enumerate(influencing)}
    y = {}
    for col in sorted(set(column.values()), reverse=True):
        members = [n for n in influencing if column[n.name] == col]
        desired = {}
        for n in members:
            kids = [y[c] for c in g.children[n.name] if c in y]
            desired[n.name] = sum(kids) / len(kids) if kids else 0.0
        members.sort(key=lambda n: (-desired[n.name], n.is_leaf, order[n.name]))
        centre = sum(desired.values()) / len(members)
        top = centre + (len(members) - 1) / 2
        for r, n in enumerate(members):
            y[n.name] = top - r
    return {name: (column[name], y[name]) for name in column}


GRAPH_NODE_CM = 1.0      # the operations' diameter (minimum size=10mm)


class GraphDrawing:
    r"""The computational graph's drawing, measured (cm): nodes in columns by depth, arrows routed
    between the nodes (:func:`~symbackprop.render.graph_layout.layered_layout`), and in the key each
    node's value and gradient on one of its outgoing arrows, where its box meets no node, no other
    label and no other arrow. ``labelled``: every label found its place (otherwise the drawing has
    none and :func:`graph_values_table` lists them)."""

    def __init__(self, d, ev=None, example: int = 0, decimals: int = 2, scale: float = 1.0):
        g = d.graph
        self.g, self.nt = g, Notation(d)
        nt = self.nt
        shown = [n for n in g.nodes if g.influences(n.name)]
        self.nodes = shown
        self.leaves = {n.name for n in shown if n.is_leaf}
        names_ = [n.name for n in shown]
        parents = {n.name: [p for p in n.parents if p in names_] for n in shown}
        half = {}
        for n in shown:
            if n.is_leaf:
                w, h = label_size_cm([nt.tex(n.name)])
                half[n.name] = (w * 11 / 8 / 2 + 0.07, h * 11 / 8 / 2 + 0.07)
            else:
                half[n.name] = (GRAPH_NODE_CM / 2, GRAPH_NODE_CM / 2)
        self.half = half
        columns = max(_columns_of(names_, parents, self.leaves)) + 1.8
        self.dx = min(4.6, TEXT_WIDTH_CM / columns) * scale
        self.dy = (2.1 if ev is not None else 1.8) * scale
        lay = layered_layout(names_, parents, self.leaves, half, self.dx, self.dy)
        self.at, self.routes = lay.at, lay.routes
        out = g.output
        self.end = (self.at[out][0] + 0.8 * self.dx, self.at[out][1])
        self.arrows = []   # (source, [points]) from the source's boundary to the arrowhead
        for (p, c), pts in self.routes.items():
            self.arrows.append((p, self._clip(pts, p, c)))
        self.arrows.append((out, self._clip([self.at[out], self.end], out, None)))
        pl = Placer()
        for n in shown:
            x, y = self.at[n.name]
            hw, hh = half[n.name]
            if n.is_leaf:
                pl.boxes.append(Box(x, y, 2 * hw, 2 * hh, n.name))
            else:
                pl.circles.append((x, y, hw + 0.02, n.name))
        for k, (p, pts) in enumerate(self.arrows):
            for a, b in zip(pts, pts[1:]):
                pl.segments.append((f"from {p}", (a, b)))
        pl.circles += arrowheads([(name, seg) for name, seg in pl.segments])
        self.placer = pl
        self.labelled = True
        if ev is not None:
            values, grads = ev.values[example], ev.gradients[example]
            items = []
            for n in shown:
                if n.name not in values:
                    continue
                v = nt.tex(n.name)
                info = [rf"\color{{{VALUE_COLOR}}}{v} {_num(values[n.name], decimals)}"]
                if n.name in grads:
                    info.append(rf"\color{{{GRADIENT_COLOR}}}\partial {nt.out_tex}/\partial {v} "
                                f"{_num(grads[n.name], decimals)}")
                cands = []
                for p, pts in self.arrows:
                    if p == n.name:
                        ts = sorted(arrow_positions(False, True), key=lambda t: (abs(t - 0.45), t))
                        cands += along(pts[0], pts[1], ts)
                text = r"\\".join(f"${m}$" for m in info)
                items.append((text, info, cands, f"from {n.name}", f"values {n.name}"))
            self.labelled = pl.place_all(items)

    def _clip(self, pts, p, c) -> list:
        """The route's ends moved from the centres to the boundaries (the arrowhead 1 mm off ``c``)."""
        def towards(a, b, r):
            ln = ((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2) ** 0.5 or 1.0
            return (a[0] + (b[0] - a[0]) * r / ln, a[1] + (b[1] - a[1]) * r / ln)

        first = towards(pts[0], pts[1], self._reach(p, pts[0], pts[1]))
        last = pts[-1] if c is None else towards(pts[-1], pts[-2], self._reach(c, pts[-1], pts[-2]) + 0.1)
        return [first] + list(pts[1:-1]) + [last]

    def _reach(self, name, a, b) -> float:
        """From the centre of node ``name`` at ``a`` towards ``b``: the distance to its boundary."""
        hw, hh = self.half[name]
        if name not in self.leaves:
            return hw
        ux, uy = abs(b[0] - a[0]), abs(b[1] - a[1])
        ln = (ux * ux + uy * uy) ** 0.5 or 1.0
        return min(hw * ln / ux if ux else float("inf"), hh * ln / uy if uy else float("inf"))


def _columns_of(names_, parents, leaves) -> list:
    depth = {}
    for v in names_:
        depth[v] = 0 if v in leaves else 1 + max((depth[p] for p in parents[v]), default=0)
    return list(depth.values())


def graph_tikz(d, ev=None, example: int = 0, decimals: int = 2, scale: float = 1.0) -> str:
    r"""The computational graph as the slides draw it: the inputs on the left, one node per equation.

    The nodes are in columns by depth and no arrow passes through a node (an arrow across several
    columns bends between the nodes there: :mod:`~symbackprop.render.graph_layout`). In the key each
    node's value (green, ``q = 3``) and, below it, the output's gradient with respect to it (red,
    always named: ``\partial f/\partial q = -4``) sit on one of its arrows, where the box meets no
    node, no other label and no other arrow; when they cannot all be placed so, the drawing has
    none and :func:`graph_values_table` lists them."""
    lay = GraphDrawing(d, ev, example, decimals, scale)
    nt = lay.nt
    lines = [
        r"\begin{tikzpicture}[x=1cm, y=1cm, >={Stealth[length=2.2mm]},",
        r"  op/.style={circle, draw, thick, minimum size=10mm, inner sep=1pt, fill=white},",
        r"  leaf/.style={inner sep=2pt},",
        r"  lab/.style={fill=white, inner sep=0.5pt, font=\scriptsize, align=center}]",
    ]
    ident = {}
    for n in lay.nodes:
        ident[n.name] = f"v{len(ident)}"
        x, y = lay.at[n.name]
        style = "leaf" if n.is_leaf else "op"
        lines.append(rf"\node[{style}] ({ident[n.name]}) at ({x:.3f},{y:.3f}) {{${nt.tex(n.name)}$}};")
    for _, pts in lay.arrows:
        path = " -- ".join(f"({x:.3f},{y:.3f})" for x, y in pts)
        lines.append(rf"\draw[->] {path};")
    if ev is not None and lay.labelled:
        for k, (box, text) in enumerate(lay.placer.labels, start=1):
            cx, cy = box.centre
            lines.append(rf"\node[lab] (lab{k}) at ({cx:.3f},{cy:.3f}) {{{text}}};")
    lowest = min(y - lay.half[name][1] for name, (_, y) in lay.at.items())
    label_low = min((box.y0 for box, _ in lay.placer.labels), default=lowest) if lay.labelled else lowest
    route_low = min(y for _, pts in lay.arrows for _, y in pts)   # a wire may pass below every node
    foot = min(lowest, label_low, route_low) - 0.3
    defs = r",\quad ".join(f"${nt.tex(n.name)} = {_definition(nt, n)}$" for n in lay.nodes if not n.is_leaf)
    left = min(x - lay.half[name][0] for name, (x, _) in lay.at.items())
    lines.append(rf"\node[anchor=north west, font=\small, text width={TEXT_WIDTH_CM:.1f}cm, align=left] "
                 rf"at ({left:.3f},{foot:.3f}) {{{defs}}};")
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines) + "\n"


def graph_caption(d, ev=None, example: int = 0, decimals: int = 2) -> str:
    """What the key's drawing leaves to the text: what the colours mean, or where the numbers are."""
    if ev is None:
        return ""
    lay = GraphDrawing(d, ev, example, decimals)
    out = lay.nt.out_tex
    grad = rf"\textcolor{{{GRADIENT_COLOR}}}{{the gradient $\partial {out}/\partial v$ in red}}"
    first = " of the first example" if ev.n > 1 else ""
    if lay.labelled:
        return (rf"On an arrow out of each node $v$: its value{first} in \textcolor{{{VALUE_COLOR}}}{{green}} "
                f"and {grad}.\n")
    return (f"The table gives each node's value $v${first} and {grad} (there is no room for them on "
            "the arrows).\n" + graph_values_table(d, ev, example, decimals))


def graph_values_table(d, ev, example: int = 0, decimals: int = 2) -> str:
    """Each node's value and the output's gradient with respect to it, in the equations' order."""
    g, nt = d.graph, Notation(d)
    values, grads = ev.values[example], ev.gradients[example]
    rows = []
    for n in g.nodes:
        if n.name not in values or not g.influences(n.name):
            continue
        gv = format_number(grads[n.name], decimals)[0] if n.name in grads else ""
        rows.append(f"${nt.tex(n.name)}$ & ${format_number(values[n.name], decimals)[0]}$ & "
                    rf"$\color{{{GRADIENT_COLOR}}}{gv}$ \\")
    head = rf"$v$ & value & \textcolor{{{GRADIENT_COLOR}}}{{$\partial {nt.out_tex}/\partial v$}} \\"
    half = (len(rows) + 1) // 2 if len(rows) > 8 else len(rows)
    tabs = ["\\begin{tabular}{ccc}\n\\toprule\n" + head + "\n\\midrule\n" + "\n".join(chunk)
            + "\n\\bottomrule\n\\end{tabular}" for chunk in (rows[:half], rows[half:]) if chunk]
    return "\\begin{center}\n\\small\n" + "\\qquad\n".join(tabs) + "\n\\end{center}\n"


def _definition(nt, n) -> str:
    return nt.latex(n.definition)


_ACTIVATION_LABELS = {"sigmoid": r"\sigma", "tanh": r"\tanh", "relu": r"\mathrm{ReLU}", "leaky_relu": r"\mathrm{LReLU}",
                      "softplus": r"\mathrm{sp}", "softmax": r"\mathrm{sm}", "identity": r"\Sigma"}


def matrix_network_tikz(md, env=None, decimals: int = 2, scale: float = 1.0, given_shapes=("x",)) -> str:
    r"""The network in the slides' matrix notation: a column per layer, its neurons (the
    activation's symbol inside, the input columns x_j), the matrix names above each column and,
    between columns, ``W_l`` and ``b_l``; each arrow from input ``j`` to neuron ``i`` is labelled
    ``W_l[j, i]`` (the weight it carries, w^{l}_{i,j} in index notation), the arrows into the loss
    J with \hat{y}.

    ``md``: a MatrixDerivation (its dimension sizes are the shapes shown). ``env``: the matrices'
    values ({name: 2-D array}, e.g. ``md.environment(exact=True)``) for the answer key: every shape
    is shown with its sizes, and below the drawing, in red, the gradients
    ``dW_l = \partial J/\partial W_l`` as matrices (never a bare red number on an arrow). Without
    ``env`` (the exercises) only the shapes in ``given_shapes`` are shown, so the shapes stay an
    exercise.

    The labels are placed like the index drawing's (:class:`~symbackprop.render.tikz_layout.Placer`:
    no label on another label, a neuron, a heading or an arrow but its own); a gap whose arrows
    cannot all be labelled gets the label of its first arrow only, ``W_l[1, 1]``, and the rule
    ``W_l[j, i]`` for the others is in the heading.
    """
    layers = md.layers
    L = md.depth
    key = env is not None
    dx = min(4.6 if key else 4.0, TEXT_WIDTH_CM / (L + 0.9)) * scale
    dy = (1.9 if key else 1.6) * scale
    rad = 0.45
    shown = [_shown_indices(w) for w in layers]
    tallest = max(len(idx) for idx in shown)
    top_y = ((tallest - 1) / 2 + 0.55) * dy
    bottom_y = -((tallest - 1) / 2 + 0.55) * dy
    pl = Placer()
    lines = [
        r"\begin{tikzpicture}[x=1cm, y=1cm, >={Stealth[length=2.2mm]},",
        r"  neuron/.style={circle, draw, thick, minimum size=9mm, inner sep=1pt, fill=white},",
        r"  lossnode/.style={rectangle, rounded corners, draw, thick, minimum size=8mm, fill=white},",
        r"  lab/.style={fill=white, inner sep=0.5pt, font=\scriptsize, align=center},",
        r"  head/.style={font=\small, align=center},",
        r"  info/.style={font=\scriptsize, align=center}]",
    ]

    def shape_text(name):
        r, c = md.matrices[name].shape.sizes
        return f"({r}, {c})" if key or name in given_shapes else ""

    def heading(x, y, text, maths, style="head"):
        lines.append(rf"\node[{style}] at ({x:.3f},{y:.3f}) {{{text}}};")
        w, h = label_size_cm(maths)
        f = 1.25 if style == "head" else 1.0   # \small against \scriptsize
        pl.boxes.append(Box(x, y, w * f, h * f, "heading"))

    pos = {}
    for l, width in enumerate(layers):
        idx = shown[l]
        top = (len(idx) - 1) / 2
        for r_, j in enumerate(idx):
            x, y = l * dx, (top - r_) * dy
            if j is None:
                lines.append(rf"\node at ({x:.3f},{y:.3f}) {{$\vdots$}};")
                pl.boxes.append(Box(x, y, 0.3, 0.5, "dots"))
                continue
            pos[(l, j)] = (x, y)
            label = f"x_{{{j}}}" if l == 0 else _ACTIVATION_LABELS.get(md.activations[l - 1], "g")
            lines.append(rf"\node[neuron] (m{l}-{j}) at ({x:.3f},{y:.3f}) {{${label}$}};")
            pl.circles.append((x, y, rad + 0.02, f"m{l}-{j}"))
        names_ = ["x"] if l == 0 else [f"z_{l}", md.activation_name(l)]
        maths = [md.matrices[nm].latex() for nm in names_]
        heading(l * dx, top_y, r",\ ".join(f"${m}$" for m in maths), [r",\ ".join(maths)])
        shp = shape_text(names_[0])
        if shp:
            heading(l * dx, bottom_y, f"${shp}$", [shp], "info")
        if l >= 1:
            parts = []
            for nm in (f"W_{l}", f"b_{l}"):
                s_ = shape_text(nm)
                parts.append(md.matrices[nm].latex() + (r"\ " + s_ if s_ else ""))
            heading((l - 0.5) * dx, top_y + 0.35 * dy, r",\quad ".join(f"${p}$" for p in parts),
                    [r",\quad ".join(parts)])
    out_idx = [i for i in shown[L] if i is not None]
    loss_at = ((L + 0.7) * dx, sum(pos[(L, i)][1] for i in out_idx) / len(out_idx))
    target_at = (loss_at[0], loss_at[1] - 0.8 * dy)
    pl.boxes += [Box(*loss_at, 0.9, 0.8, "loss"), Box(*target_at, 0.4, 0.45, "target")]
    gaps = {}
    for l in range(1, L + 1):
        for i in shown[l]:
            for j in shown[l - 1]:
                if i is None or j is None:
                    continue
                a, b = pos[(l - 1, j)], pos[(l, i)]
                ln = ((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2) ** 0.5
                ux, uy = (b[0] - a[0]) / ln, (b[1] - a[1]) / ln
                seg = ((a[0] + ux * rad, a[1] + uy * rad), (b[0] - ux * (rad + 0.1), b[1] - uy * (rad + 0.1)))
                name = f"W_{l}[{j},{i}]"
                pl.segments.append((name, seg))
                gaps.setdefault(l, []).append((name, seg, a[1], b[1], j, i))
    yhats = []
    for i in out_idx:
        a, b = pos[(L, i)], loss_at
        ln = ((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2) ** 0.5
        ux, uy = (b[0] - a[0]) / ln, (b[1] - a[1]) / ln
        yh = r"\hat{y}" if len(out_idx) == 1 else rf"\hat{{y}}_{{{i}}}"
        seg = ((a[0] + ux * rad, a[1] + uy * rad), (b[0] - ux * 0.55, b[1] - uy * 0.45))
        pl.segments.append((yh, seg))
        yhats.append((yh, seg))
    pl.segments.append(("target", ((target_at[0], target_at[1] + 0.22), (loss_at[0], loss_at[1] - 0.4))))
    pl.circles += arrowheads(pl.segments)
    for yh, (a, b) in yhats:
        pl.place(f"${yh}$", [yh], along(a, b, arrow_positions(a[1] > b[1], abs(a[1] - b[1]) < 1e-9)), yh,
                 f"output {yh}")
    n_edges = sum(len(g) for g in gaps.values())
    for l, gap in sorted(gaps.items()):
        items = []
        for name, (a, b), ya, yb, j, i in gap:
            text = f"W_{{{l}}}[{j},{i}]"
            items.append((f"${text}$", [text], along(a, b, arrow_positions(yb < ya, ya == yb)), name, f"weight {name}"))
        if n_edges > MAX_LABELLED_EDGES or len(items) > 16 or not pl.place_all(items):
            pl.place(*items[0][:4], items[0][4])   # the first arrow only: W_l[1, 1] shows the rule
    lines.append(rf"\node[lossnode] (loss) at ({loss_at[0]:.3f},{loss_at[1]:.3f}) {{$J$}};")
    lines.append(rf"\node[info] (target) at ({target_at[0]:.3f},{target_at[1]:.3f}) {{$y$}};")
    for _, (a, b) in pl.segments:
        lines.append(rf"\draw[->] ({a[0]:.3f},{a[1]:.3f}) -- ({b[0]:.3f},{b[1]:.3f});")
    for n, (box, text) in enumerate(pl.labels, start=1):
        cx, cy = box.centre
        lines.append(rf"\node[lab] (lab{n}) at ({cx:.3f},{cy:.3f}) {{{text}}};")
    if key:
        grads = []
        for l in range(1, L + 1):
            g_ = env.get(f"dW_{l}") if hasattr(env, "get") else None
            if g_ is None or len(g_) > 6 or len(g_[0]) > 6:
                grads = []
                break
            rows = uniform_numbers([list(r) for r in g_], decimals)
            grads.append(rf"$dW_{{{l}}} = \dfrac{{\partial J}}{{\partial W_{{{l}}}}} \approx "
                         r"\begin{bmatrix} " + r" \\ ".join(" & ".join(r) for r in rows) + r" \end{bmatrix}$")
        if grads:
            wide = sum(len(env[f"dW_{l}"][0]) for l in range(1, L + 1)) > 6
            lines.append(rf"\node[anchor=north west, font=\small, align=left, text={GRADIENT_COLOR}] at "
                         rf"(-0.5,{bottom_y - 0.45:.3f}) {{" + (r"\\[3pt] " if wide else r"\quad ").join(grads) + "};")
    lines.append(r"\end{tikzpicture}")
    note = "" if n_edges <= MAX_LABELLED_EDGES else f"% {n_edges} arrows: entry labels left out so they do not overlap\n"
    return note + "\n".join(lines) + "\n"


__all__ = ["drawing", "network_tikz", "network_layout", "network_caption", "network_values_table", "uniform_numbers", "graph_tikz", "graph_caption", "graph_values_table", "GraphDrawing", "matrix_network_tikz", "tikz_packages"]
