r"""TikZ pictures of a derivation's network or computational graph (the lectures' drawings).

Network mode draws the lecture notes' picture: one column per layer, nodes a^{k}_{j}
(the inputs x_j, the output a^{L}_{1} = \hat{y}), an arrow per weight labelled w^{k}_{i,j}
(joining node j of layer k to node i of layer k + 1), the bias b^{k}_{i} above each node
it belongs to, and the loss L fed by \hat{y} and the target y. With ``values`` (an answer
key) each node also shows its forward values (z, a) and its upstream gradient
\partial L/\partial z, and each weight's arrow the gradient \partial L/\partial w.

Graph mode draws the slides' circuit for f = (x + y) z: the inputs on the left, one node
per equation, and on every arrow the forward value above and (in the key) the gradient
\partial f/\partial v below.

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

MAX_LABELLED_EDGES = 24   # more arrows than this: the weight names are left out (they would overlap)
MAX_LAYER_WIDTH = 12      # wider layers are drawn with their first and last nodes and a gap
MATRIX_LABELLED_PER_GAP = 4  # matrix drawing: more arrows than this between two layers, only W_l[1, 1] is labelled
TEXT_WIDTH_CM = 14.5      # the drawings are scaled to fit the page (16.6 cm of text width)

VALUE_COLOR = "green!45!black"
GRADIENT_COLOR = "red!75!black"


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


PT = 0.03515              # cm per TeX point
NODE_CM = 1.1             # the neurons' diameter (minimum size=11mm)
LINE_PT = 9.5             # \scriptsize baseline skip
SCRIPT = 0.73             # \scriptsize against the 11 pt text


def _text_cm(tex_math: str) -> float:
    from ..worksheets.layout import width

    return width(tex_math) * SCRIPT * PT


class Box:
    """An axis-aligned box (cm): a label, or a node's bounding square."""

    def __init__(self, cx, cy, w, h, what):
        self.x0, self.x1, self.y0, self.y1, self.what = cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2, what

    def overlaps(self, o) -> bool:
        return self.x0 < o.x1 and o.x0 < self.x1 and self.y0 < o.y1 and o.y0 < self.y1

    def hits_segment(self, a, b) -> bool:
        """Does the segment a-b pass through the box (Liang-Barsky clipping)?"""
        (xa, ya), (xb, yb) = a, b
        dx, dy = xb - xa, yb - ya
        t0, t1 = 0.0, 1.0
        for p, q in ((-dx, xa - self.x0), (dx, self.x1 - xa), (-dy, ya - self.y0), (dy, self.y1 - ya)):
            if p == 0:
                if q < 0:
                    return False
                continue
            t = q / p
            if p < 0:
                t0 = max(t0, t)
            else:
                t1 = min(t1, t)
            if t0 > t1:
                return False
        return True


class NetworkLayout:
    """Where everything of a network drawing goes (cm), and every label's box.

    ``nodes``: {(layer, j): (x, y)}; ``edges``: [((k, j), (k + 1, i), name, ends)] with ``ends``
    the segment between the two circles; ``labels``: [(Box, tikz text)] for every label placed
    (weights on arrows, biases, node values, the output arrows); ``placed_edges``: whether the
    arrows carry their weight names (else the weights are the matrices' entries, see the setup).
    """

    def __init__(self, d, ev=None, example=0, decimals=2):
        g = d.graph
        self.g, self.nt = g, Notation(d)
        layers = g.layers
        self.depth = len(layers)
        self.key = ev is not None
        values = ev.values[example] if ev is not None else None
        grads = ev.gradients[example] if ev is not None else None
        widest = max(layers)
        self.dx = min(3.8, TEXT_WIDTH_CM / ((self.depth - 1) + 1.0))
        self.dy = 1.55 if widest <= 4 else 1.35
        if self.key:
            self.dy += 0.85
        self.nodes = {}
        for k, w in enumerate(layers, start=1):
            top = (w - 1) / 2
            for r in range(w):
                self.nodes[(k, r + 1)] = ((k - 1) * self.dx, (top - r) * self.dy)
        rad = NODE_CM / 2
        self.edges = []
        for k in range(1, self.depth):
            for i in range(1, layers[k] + 1):
                for j in range(1, layers[k - 1] + 1):
                    (xa, ya), (xb, yb) = self.nodes[(k, j)], self.nodes[(k + 1, i)]
                    ln = ((xb - xa) ** 2 + (yb - ya) ** 2) ** 0.5
                    ux, uy = (xb - xa) / ln, (yb - ya) / ln
                    ends = ((xa + ux * rad, ya + uy * rad), (xb - ux * (rad + 0.1), yb - uy * (rad + 0.1)))
                    self.edges.append(((k, j), (k + 1, i), names.weight(k, i, j), ends))
        last = self.depth
        outs = [(last, i) for i in range(1, layers[-1] + 1)]
        ys = [self.nodes[o][1] for o in outs]
        self.loss_at = ((last - 1) * self.dx + min(2.1, self.dx * 0.75), sum(ys) / len(ys))
        self.target_at = (self.loss_at[0], self.loss_at[1] - 0.95)
        self.out_edges = []
        for o in outs:
            (xa, ya) = self.nodes[o]
            (xb, yb) = self.loss_at
            ln = ((xb - xa) ** 2 + (yb - ya) ** 2) ** 0.5
            ux, uy = (xb - xa) / ln, (yb - ya) / ln
            self.out_edges.append((o, ((xa + ux * rad, ya + uy * rad), (xb - ux * 0.55, yb - uy * 0.45))))
        self.obstacles = [Box(x, y, NODE_CM, NODE_CM, f"node {k},{j}") for (k, j), (x, y) in self.nodes.items()]
        self.obstacles.append(Box(*self.loss_at, 0.9, 0.8, "loss"))
        self.obstacles.append(Box(*self.target_at, 0.4, 0.45, "target"))
        self.segments = [(name, e) for _, _, name, e in self.edges] + [(f"out {o}", e) for o, e in self.out_edges]
        self.segments.append(("target", ((self.target_at[0], self.target_at[1] + 0.22),
                                         (self.loss_at[0], self.loss_at[1] - 0.4))))
        self.labels = []
        self.node_info = {}
        # biases above their nodes, node values below (the key)
        for (k, j), (x, y) in self.nodes.items():
            if k > 1:
                t = f"$b^{{{k - 1}}}_{{{j}}}$"
                self._place(t, [(x + dx_, y + rad + dy_) for dy_ in (0.2, 0.12, 0.35) for dx_ in (0, 0.3, -0.3, 0.55)]
                            + [(x + 0.8, y + 0.15), (x + 0.8, y - 0.15)], None, f"bias {k},{j}", lines=1)
            if values is not None:
                info = self._info(k, j, values, grads, decimals)
                text = r"\\".join(info)
                hh = len(info) * LINE_PT * PT / 2
                ok = self._place(text, [(x + dx_, y - rad - 0.12 - hh - dy_) for dy_ in (0, 0.1) for dx_ in (0, 0.25, -0.25)],
                                 None,
                                 f"values {k},{j}", lines=len(info), math=info)
                self.node_info[(k, j)] = ok
        self.info_in_drawing = all(self.node_info.values()) if values is not None else True
        if not self.info_in_drawing:  # a table beside the drawing instead: drop the partial ones
            self.labels = [lab for lab in self.labels if not lab[0].what.startswith("values")]
        # weight names on the arrows, where every arrow of a gap finds a free place
        self.labelled_gaps = set()
        for k in range(1, self.depth):
            gap = [e for e in self.edges if e[0][0] == k]
            if len(gap) > 9:
                continue
            placed = list(self.labels)
            ok = True
            for src, dst, name, (a, b) in gap:
                text = f"${sympy.latex(names.symbol(name))}$"
                falling = self.nodes[dst][1] < self.nodes[src][1]
                order = (0.22, 0.3, 0.38, 0.15, 0.46) if falling else (0.78, 0.7, 0.62, 0.85, 0.54)
                if self.nodes[dst][1] == self.nodes[src][1]:
                    order = (0.5, 0.4, 0.6, 0.3, 0.7)
                cands = [(a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t) for t in order]
                if not self._place(text, cands, name, f"weight {name}", lines=1.15):
                    ok = False
                    break
            if ok:
                self.labelled_gaps.add(k)
            else:
                self.labels = placed
        # the output arrows: y-hat into the loss
        for n_, (o, (a, b)) in enumerate(self.out_edges):
            yh = r"\hat{y}" if len(outs) == 1 else rf"\hat{{y}}_{{{o[1]}}}"
            cands = [(a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t + dy_)
                     for t in (0.5, 0.35, 0.65) for dy_ in (0.2, -0.2)]
            self._place(f"${yh}$", cands, f"out {o}", f"output {o[1]}", lines=1)

    def _info(self, k, j, values, grads, decimals):
        nt = self.nt
        if k == 1:
            name = names.feature(j)
            return [f"${sympy.latex(names.symbol(name))} {_num(values[name], decimals)}$"]
        z = names.pre_activation(k, j)
        out = [rf"$\color{{{VALUE_COLOR}}}z {_num(values[z], decimals)}$",
               rf"$\color{{{VALUE_COLOR}}}a {_num(values[names.activation(k, j)], decimals)}$"]
        if z in grads:
            out.append(rf"$\color{{{GRADIENT_COLOR}}}\partial {nt.out_tex}/\partial z {_num(grads[z], decimals)}$")
        return out

    def _place(self, text, candidates, own_segment, what, lines=1, math=None):
        w = max(_text_cm(m) for m in (math or [text])) + 4 * PT
        h = lines * LINE_PT * PT + 3 * PT
        for cx, cy in candidates:
            box = Box(cx, cy, w, h, what)
            if any(box.overlaps(o) for o in self.obstacles):
                continue
            if any(box.overlaps(lab) for lab, _ in self.labels):
                continue
            if any(box.hits_segment(*seg) for name, seg in self.segments if name != own_segment):
                continue
            self.labels.append((box, text))
            return True
        return False

    def overlaps(self) -> list:
        """Pairs that overlap (should be none): labels with labels, nodes, and other arrows."""
        bad = []
        for n, (b, _) in enumerate(self.labels):
            for c, _ in self.labels[n + 1:]:
                if b.overlaps(c):
                    bad.append((b.what, c.what))
            for o in self.obstacles:
                if b.overlaps(o):
                    bad.append((b.what, o.what))
            own = b.what.split(" ", 1)[1] if b.what.startswith("weight ") else None
            for name, seg in self.segments:
                if name == own or (b.what.startswith("output ") and name == f"out {(self.depth, int(b.what.split()[1]))}"):
                    continue
                if b.hits_segment(*seg):
                    bad.append((b.what, name))
        return bad


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
    for o, (a, b) in lay.out_edges:
        lines.append(rf"\draw[->] ({a[0]:.3f},{a[1]:.3f}) -- (loss);")
    lines.append(rf"\node (target) at ({tx:.3f},{ty:.3f}) {{$y$}};")
    lines.append(r"\draw[->] (target) -- (loss);")
    for box, text in lay.labels:
        cx, cy = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
        lines.append(rf"\node[lab] at ({cx:.3f},{cy:.3f}) {{{text}}};")
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
                     f"$w^{{k}}_{{i,j}}$ (unlabelled arrows: the entries of {which} above).")
    if ev is not None:
        if lay.info_in_drawing:
            parts.append(rf"Under each node: its values in \textcolor{{{VALUE_COLOR}}}{{green}} and "
                         rf"\textcolor{{{GRADIENT_COLOR}}}{{the gradient $\partial {lay.nt.out_tex}/\partial z$ "
                         "in red}}.")
        parts.append(r"The weights' gradients are in the table below the drawing.")
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
            dec = Decimal(str(sympy.Float(v, 30)))
            q = dec.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
            line.append(f"{q:.{places}f}")
        out.append(line)
    return out


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
    from ..worksheets.layout import LINE_PT as ROOM, width

    mats = []
    for k in range(1, lay.depth):
        Wv = [[grads.get(names.weight(k, i, j), sympy.S.Zero) for j in range(1, g.layers[k - 1] + 1)]
              for i in range(1, g.layers[k] + 1)]
        bv = [[grads.get(names.layer_bias(k, i, g.shared_biases), sympy.S.Zero)] for i in range(1, g.layers[k] + 1)]
        W, b = uniform_numbers(Wv, decimals), uniform_numbers(bv, decimals)
        mw = r"\begin{bmatrix} " + r" \\ ".join(" & ".join(r) for r in W) + r" \end{bmatrix}"
        mb = r"\begin{bmatrix} " + r" \\ ".join(" & ".join(r) for r in b) + r" \end{bmatrix}"
        lw = rf"\frac{{\partial {nt.out_tex}}}{{\partial W^{{{k}}}}} \approx {mw}"
        lb = rf"\frac{{\partial {nt.out_tex}}}{{\partial b^{{{k}}}}} \approx {mb}"
        if width(lw + lb) + 30 <= ROOM:
            mats.append(lw + r",\qquad " + lb)
        else:
            mats += [lw, lb]
    out.append(rf"{{\color{{{GRADIENT_COLOR}}}" + "\n\\begin{gather*}\n" + " \\\\\n".join(mats)
               + "\n\\end{gather*}\n}\n")
    out.append("Each matrix is rounded to one number of decimals: the sheet's, or more where its smallest "
               "entry needs them for two significant digits.\n")
    return "\n".join(out)


def _layout(g) -> dict:
    """{node name: (column, y)}: a leaf sits just left of the first node it feeds; a node's row
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


def graph_tikz(d, ev=None, example: int = 0, decimals: int = 2, scale: float = 1.0) -> str:
    """The computational graph as the slides draw it: values above the arrows, gradients below."""
    g = d.graph
    nt = Notation(d)
    place = _layout(g)
    values = ev.values[example] if ev is not None else None
    grads = ev.gradients[example] if ev is not None else None
    n_columns = max(c for c, _ in place.values()) + 0.8
    dx = min(3.2, TEXT_WIDTH_CM / max(n_columns, 1))
    lines = [
        rf"\begin{{tikzpicture}}[x={dx * scale:.2f}cm, y={(2.1 if ev is not None else 1.8) * scale:.2f}cm, >={{Stealth[length=2.2mm]}},",
        r"  op/.style={circle, draw, thick, minimum size=10mm, inner sep=1pt, fill=white},",
        r"  leaf/.style={inner sep=2pt},",
        r"  val/.style={font=\footnotesize, text=" + VALUE_COLOR + "},",
        r"  grad/.style={font=\footnotesize, text=" + GRADIENT_COLOR + "}]",
    ]
    node_id = {}
    for n in g.nodes:
        if n.name not in place:
            continue
        ident = f"v{len(node_id)}"
        node_id[n.name] = ident
        col, yy = place[n.name]
        style = "leaf" if n.is_leaf else "op"
        lines.append(rf"\node[{style}] ({ident}) at ({col},{yy:.2f}) {{${nt.tex(n.name)}$}};")
    for n in g.nodes:
        if n.is_leaf or n.name not in place:
            continue
        for p in n.parents:
            if p in node_id:
                lines.append(_edge(node_id[p], node_id[n.name], p, values, grads, decimals))
    out = g.output
    col, yy = place[out]
    lines.append(rf"\node[leaf] (out) at ({col + 0.8},{yy:.2f}) {{}};")
    lines.append(_edge(node_id[out], "out", out, values, grads, decimals))
    lowest = min(v for _, v in place.values())
    defs = ",\\quad ".join(f"{nt.tex(n.name)} = {_definition(nt, n)}" for n in g.nodes
                           if not n.is_leaf and n.name in place)
    lines.append(rf"\node[anchor=north west, font=\small] at (-0.1,{lowest - 0.45:.2f}) {{${defs}$}};")
    if ev is not None:
        lines.append(rf"\node[anchor=north west, font=\footnotesize] at (-0.1,{lowest - 0.85:.2f}) "
                     rf"{{\textcolor{{{VALUE_COLOR}}}{{values above the arrows}},\ "
                     rf"\textcolor{{{GRADIENT_COLOR}}}{{gradients $\partial {nt.out_tex}/\partial v$ below}}}};")
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines) + "\n"


def _definition(nt, n) -> str:
    return nt.latex(n.definition)


def _edge(src: str, dst: str, name: str, values, grads, decimals) -> str:
    parts = [rf"\draw[->] ({src}) -- ({dst})"]
    if values is not None and name in values:
        parts.append(rf" node[val, above, pos=0.45] {{${format_number(values[name], decimals)[0]}$}}")
    if grads is not None and name in grads:
        parts.append(rf" node[grad, below, pos=0.45] {{${format_number(grads[name], decimals)[0]}$}}")
    return "".join(parts) + ";"


_ACTIVATION_LABELS = {"sigmoid": r"\sigma", "tanh": r"\tanh", "relu": r"\mathrm{ReLU}", "leaky_relu": r"\mathrm{LReLU}",
                      "softplus": r"\mathrm{sp}", "softmax": r"\mathrm{sm}", "identity": r"\Sigma"}


def matrix_network_tikz(md, env=None, decimals: int = 2, scale: float = 1.0, given_shapes=("x",)) -> str:
    """The network in the slides' matrix notation: a column per layer, its neurons (the
    activation's symbol inside, the input columns x_j), the matrix names above each column and,
    between columns, ``W_l`` and ``b_l``; each arrow from input ``j`` to neuron ``i`` is labelled
    ``W_l[j, i]`` (the weight it carries, w^{l}_{i,j} in index notation).

    ``md``: a MatrixDerivation (its dimension sizes are the shapes shown). ``env``: the matrices'
    values ({name: 2-D array}, e.g. ``md.environment(exact=True)``) for the answer key: every shape
    is shown with its sizes and each arrow also carries ``dW_l[j, i]`` (red). Without ``env`` (the
    exercises) only the shapes in ``given_shapes`` are shown, so the shapes stay an exercise.
    """
    layers = md.layers
    L = md.depth
    key = env is not None
    dx = min(4.6 if key else 4.0, TEXT_WIDTH_CM / (L + 0.9))
    dy = 1.9 if key else 1.6
    shown = [_shown_indices(w) for w in layers]
    n_edges = sum(len([i for i in shown[l] if i]) * len([j for j in shown[l - 1] if j]) for l in range(1, L + 1))
    label_edges = n_edges <= MAX_LABELLED_EDGES
    lines = [
        rf"\begin{{tikzpicture}}[x={dx * scale:.2f}cm, y={dy * scale:.2f}cm, >={{Stealth[length=2.2mm]}},",
        r"  neuron/.style={circle, draw, thick, minimum size=9mm, inner sep=1pt, fill=white},",
        r"  lossnode/.style={rectangle, rounded corners, draw, thick, minimum size=8mm, fill=white},",
        r"  wlabel/.style={fill=white, inner sep=1pt, font=\scriptsize},",
        r"  head/.style={font=\small, align=center},",
        r"  info/.style={font=\scriptsize, align=center}]",
    ]
    tallest = max(len(idx) for idx in shown)
    top_y = (tallest - 1) / 2 + 0.55
    bottom_y = -(tallest - 1) / 2 - 0.55
    pos = {}

    def shape_text(name):
        shp = md.matrices[name].shape
        r, c = shp.sizes
        if key or name in given_shapes:
            return f"$({r}, {c})$"
        return ""

    for l, width in enumerate(layers):
        idx = shown[l]
        top = (len(idx) - 1) / 2
        for r_, j in enumerate(idx):
            y = top - r_
            if j is None:
                lines.append(rf"\node at ({l},{y:.2f}) {{$\vdots$}};")
                continue
            pos[(l, j)] = y
            label = f"x_{{{j}}}" if l == 0 else _ACTIVATION_LABELS.get(md.activations[l - 1], "g")
            lines.append(rf"\node[neuron] (m{l}-{j}) at ({l},{y:.2f}) {{${label}$}};")
        if l == 0:
            names_ = ["x"]
        else:
            names_ = [f"z_{l}", md.activation_name(l)]
        head = r",\ ".join(f"${md.matrices[nm].latex()}$" for nm in names_)
        lines.append(rf"\node[head] at ({l},{top_y:.2f}) {{{head}}};")
        shp = shape_text(names_[0])
        if shp:
            lines.append(rf"\node[info] at ({l},{bottom_y:.2f}) {{{shp}}};")
        if l >= 1:
            wname, bname = f"W_{l}", f"b_{l}"
            parts = []
            for nm in (wname, bname):
                s_ = shape_text(nm)
                parts.append(f"${md.matrices[nm].latex()}$" + (r"\ " + s_ if s_ else ""))
            joined = r",\quad ".join(parts)
            lines.append(rf"\node[head] at ({l - 0.5:.2f},{top_y + 0.35:.2f}) {{{joined}}};")
    for l in range(1, L + 1):
        # more than 4 arrows between two columns: their labels would overlap, so only the top
        # arrow (input 1 to neuron 1) carries its entry; the caption states the rule for the others
        crowded = len([i for i in shown[l] if i]) * len([j for j in shown[l - 1] if j]) > MATRIX_LABELLED_PER_GAP
        for i in shown[l]:
            if i is None:
                continue
            for j in shown[l - 1]:
                if j is None:
                    continue
                if not label_edges or (crowded and (i, j) != (1, 1)):
                    lines.append(rf"\draw[->] (m{l - 1}-{j}) -- (m{l}-{i});")
                    continue
                ys, yt = pos[(l - 1, j)], pos[(l, i)]
                frac = 0.5 if ys == yt else (0.27 if yt < ys else 0.73)
                text = f"$W_{{{l}}}[{j},{i}]$"
                if key and f"dW_{l}" in env:
                    num = _num(env[f"dW_{l}"][j - 1][i - 1], decimals)
                    text = rf"\shortstack{{{text}\\$\color{{{GRADIENT_COLOR}}}{num}$}}"
                where = "above" if ys == yt else "sloped"
                lines.append(rf"\draw[->] (m{l - 1}-{j}) -- node[wlabel, pos={frac}, {where}] {{{text}}} (m{l}-{i});")
    out_idx = [i for i in shown[L] if i is not None]
    loss_x = L + 0.7
    mid = sum(pos[(L, i)] for i in out_idx) / len(out_idx)
    lines.append(rf"\node[lossnode] (loss) at ({loss_x:.2f},{mid:.2f}) {{$J$}};")
    for i in out_idx:
        lines.append(rf"\draw[->] (m{L}-{i}) -- (loss);")
    lines.append(rf"\node[info] (target) at ({loss_x:.2f},{mid - 0.8:.2f}) {{$y$}};")
    lines.append(r"\draw[->] (target) -- (loss);")
    if key:
        lines.append(rf"\node[info, anchor=west] at ({loss_x - 0.25:.2f},{bottom_y:.2f}) "
                     rf"{{\textcolor{{{GRADIENT_COLOR}}}{{red: $dW_l[j, i] = \partial J/\partial W_l[j, i]$}}}};")
    lines.append(r"\end{tikzpicture}")
    note = "" if label_edges else f"% {n_edges} arrows: entry labels left out so they do not overlap\n"
    return note + "\n".join(lines) + "\n"


__all__ = ["drawing", "network_tikz", "network_layout", "network_caption", "network_values_table", "uniform_numbers", "graph_tikz", "matrix_network_tikz", "tikz_packages"]
