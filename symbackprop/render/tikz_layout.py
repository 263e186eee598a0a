r"""Where the labels of a network drawing go, with every label's box measured (cm).

A label is a TikZ node (``font=\scriptsize``, ``inner sep=0.5pt``, white fill) whose text is one
or more lines of math. Its box is computed here, before anything is compiled:

- **width**: the glyphs' advance widths at 8 pt (``\scriptsize`` of the 11 pt article class, Latin
  Modern) and at 6 pt for scripts, measured once with pdflatex (``\settowidth``) and kept in
  :data:`TEXT_PT` and :data:`SCRIPT_PT`; TeX's spacing between atoms (a relation such as ``=``
  gets 5 mu on each side, a binary ``-`` 4 mu, a unary one none; nothing in a script), and for a
  nucleus with scripts ``nucleus + max(superscript, subscript) + \scriptspace`` (0.5 pt);
- **height**: per line the height and depth of what it holds (digits 5.3 pt, a superscript
  7.4 pt, a subscript 2.4 pt below the baseline, ...), lines 9.5 pt apart (``\scriptsize``).

:class:`Placer` puts labels where their box meets no node, no other label and no arrow but its
own: every label of a gap between two layers is tried at positions along its own arrow, and a
small backtracking search finds positions for all of them at once (or says that none exist, and
the gap's weights go into a table instead). ``tests/test_tikz_layout.py`` compiles drawings and
checks these boxes against the ones pdflatex actually makes.
"""
from __future__ import annotations

import re

import sympy

from ..spec import names
from .latex_parts import Notation, format_number

PT = 2.54 / 72.27          # cm per TeX point
INNER_SEP_PT = 0.5         # the labels' inner sep
PAD_PT = 0.6               # safety margin around every computed box (each side)
LINE_PT = 9.5              # \scriptsize baseline skip
SCRIPTSPACE_PT = 0.5
MU_PT = 8.5 / 18           # 1 mu at 8 pt (the symbol font's quad is 8.5 pt)
REL_SPACE, BIN_SPACE, THIN_SPACE = 5 * MU_PT, 4 * MU_PT, 3 * MU_PT

#: advance widths (pt) in math at \scriptsize (8 pt) and in its scripts (6 pt), measured with pdflatex
TEXT_PT = {"a": 4.515, "b": 3.636, "d": 4.374, "i": 2.894, "j": 3.899, "k": 4.639, "l": 2.632, "n": 5.157,
           "w": 6.315, "x": 4.785, "y": 4.488, "z": 4.292, "J": 5.395, "L": 5.781, "W": 9.200, "X": 7.615,
           "0": 4.25, ".": 2.361, ",": 2.361, "-": 6.611, "+": 6.611, "=": 6.611, "/": 4.250, "[": 2.390,
           "]": 2.361, "(": 3.306, ")": 3.306, r"\partial": 4.950, r"\approx": 6.611, r"\sigma": 5.145,
           r"\delta": 4.061, r"\times": 6.611, r"\cdot": 2.361}
SCRIPT_PT = {"a": 4.049, "b": 3.286, "d": 3.855, "i": 2.674, "j": 3.417, "k": 4.090, "l": 2.410, "n": 4.618,
             "w": 5.521, "x": 4.187, "y": 4.014, "z": 3.812, "J": 4.657, "L": 5.078, "W": 7.878, "X": 6.472,
             "0": 3.667, ".": 2.278, ",": 2.278, "-": 5.778, "+": 5.611, "=": 5.611, "/": 3.833, "[": 2.111,
             "]": 2.111, "(": 2.889, ")": 2.889, r"\partial": 4.341, r"\approx": 5.778, r"\sigma": 4.515,
             r"\delta": 3.605, r"\times": 5.778, r"\cdot": 2.278}
ITALIC_PT = {"w": 0.21, "W": 1.0, "J": 0.75, "y": 0.03, "x": 0.0, "z": 0.03, "L": 0.0}  # taken back before a subscript
UNKNOWN_PT = 7.0           # a glyph not in the tables counts as wide
_RELATIONS = {"=", r"\approx", r"\le", r"\ge"}
_BINARY = {"-", "+", r"\times", r"\cdot"}
_SKIP_ARG = {r"\color"}                    # a command whose argument prints nothing
_SAME_WIDTH = {r"\hat", r"\mathrm", r"\mathbf"}   # the (last) argument's width
_SPACES = {r"\,": THIN_SPACE, r"\;": REL_SPACE, r"\ ": 3.0, r"\!": -THIN_SPACE, r"\quad": 8.0}
_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|[{}^_]|\s+|.", re.S)


def _group(toks, i):
    """(tokens inside the group or the single token at i, index after it)."""
    if i >= len(toks):
        return [], i
    if toks[i] != "{":
        return [toks[i]], i + 1
    depth = 0
    for k in range(i, len(toks)):
        depth += toks[k] == "{"
        depth -= toks[k] == "}"
        if depth == 0:
            return toks[i + 1:k], k + 1
    return toks[i + 1:], len(toks)


def _atoms(toks, script):
    """[(class, width, italic, has_sup, has_sub, height_pt, depth_pt)] of a token list."""
    table = SCRIPT_PT if script else TEXT_PT
    out = []
    i = 0
    while i < len(toks):
        t = toks[i]
        i += 1
        if t.isspace() or t == "}":
            continue
        if t in ("^", "_"):
            arg, i = _group(toks, i)
            if not out:
                out.append(["ord", 0.0, 0.0, None, None, 0.0, 0.0])
            w, _, _ = _measure(arg, True)
            out[-1][3 if t == "^" else 4] = max(w, out[-1][3 if t == "^" else 4] or 0.0)
            f = 0.7 if script else 1.0
            if t == "^":   # a superscript's top is 6.7 pt up; a subscript reaches 2.7 pt down (3.9 with a comma)
                out[-1][5] = max(out[-1][5], 6.7 * f)
            else:
                out[-1][6] = max(out[-1][6], (3.9 if "," in arg else 2.7) * f)
            continue
        if t in _SPACES:
            out.append(["space", _SPACES[t], 0.0, None, None, 0.0, 0.0])
            continue
        if t in _SKIP_ARG:
            _, i = _group(toks, i)
            continue
        if t == r"\textcolor":   # \textcolor{colour}{text}: the text's width
            _, i = _group(toks, i)
            arg, i = _group(toks, i)
            w, h, dp = _measure(arg, script)
            out.append(["ord", w, 0.0, None, None, h, dp])
            continue
        if t in _SAME_WIDTH:
            arg, i = _group(toks, i)
            w, h, dp = _measure(arg, script)
            out.append(["ord", w, 0.0, None, None, h + (1.5 if t == r"\hat" else 0.0), dp])
            continue
        if t == "{":
            arg, i = _group(toks, i - 1)
            w, h, dp = _measure(arg, script)
            out.append(["ord", w, 0.0, None, None, h, dp])
            continue
        key = "0" if t.isdigit() else t
        w = table.get(key, UNKNOWN_PT * (0.8 if script else 1.0))
        cls = "rel" if t in _RELATIONS else "bin" if t in _BINARY else "punct" if t == "," else "ord"
        h = 6.1 if t in (r"\partial", "/", "(", ")", "[", "]", "J", "L", "W", "X", "b", "d", "k", "l") else 5.3
        dp = 2.1 if t in ("/", "(", ")", "[", "]") else 1.6 if t in ("y", "j", ",") else 0.9 if t in ("-", r"\times") else 0.0
        out.append([cls, w, ITALIC_PT.get(t, 0.0), None, None, h * (0.75 if script else 1.0),
                    dp * (0.75 if script else 1.0)])
    return out


def _measure(toks, script=False):
    """(width, height, depth) in pt of a token list (text style at 8 pt, or script style at 6 pt)."""
    atoms = _atoms(toks, script)
    # a binary operator with nothing (or an operator, a relation, punctuation) before it is unary
    prev = None
    for a in atoms:
        if a[0] == "bin" and prev in (None, "bin", "rel", "punct"):
            a[0] = "ord"
        if a[0] != "space":
            prev = a[0]
    width = height = depth = 0.0
    prev = None
    for a in atoms:
        cls, w, italic, sup, sub = a[:5]
        if not script and prev is not None and cls != "space":
            pair = {prev, cls}
            if "rel" in pair and pair != {"rel"} and "punct" not in pair:
                width += REL_SPACE
            elif "bin" in pair and pair != {"bin"}:
                width += BIN_SPACE
            elif prev == "punct":
                width += THIN_SPACE
        if sup is not None or sub is not None:
            w = w - (italic if sub is not None else 0.0) + max(sup or 0.0, (sub or 0.0)) + SCRIPTSPACE_PT
            if sub is not None and sup is None:
                w = max(w, a[1] + SCRIPTSPACE_PT)
        width += w
        height, depth = max(height, a[5]), max(depth, a[6])
        if cls != "space":
            prev = cls
    return width, height, depth


def math_width_pt(tex: str) -> float:
    """The width in points of the math ``tex`` set at \\scriptsize (``$`` signs allowed)."""
    return _measure(_TOKEN.findall(tex.replace("$", " ")))[0]


def label_size_cm(lines) -> tuple:
    """(width, height) in cm of a label node holding the math ``lines`` (one per line, centred),
    inner sep and the safety margin included."""
    sizes = [_measure(_TOKEN.findall(m.replace("$", " "))) for m in lines]
    w = max(s[0] for s in sizes)
    h = sizes[0][1] + (len(sizes) - 1) * LINE_PT + sizes[-1][2]
    return ((w + 2 * INNER_SEP_PT + 2 * PAD_PT) * PT, (h + 2 * INNER_SEP_PT + 2 * PAD_PT) * PT)


class Box:
    """An axis-aligned box (cm): a label, or a node's bounding square."""

    def __init__(self, cx, cy, w, h, what):
        self.x0, self.x1, self.y0, self.y1, self.what = cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2, what

    @property
    def centre(self):
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2

    def overlaps(self, o) -> bool:
        return self.x0 < o.x1 and o.x0 < self.x1 and self.y0 < o.y1 and o.y0 < self.y1

    def meets_circle(self, cx, cy, r) -> bool:
        px, py = min(max(cx, self.x0), self.x1), min(max(cy, self.y0), self.y1)
        return (px - cx) ** 2 + (py - cy) ** 2 < r * r

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


class Placer:
    """Labels placed among obstacles: circles (the neurons), boxes (the loss, headings) and
    segments (the arrows, each with a name so that a label may sit on its own arrow).

    ``labels``: [(Box, tikz text)] in the order placed."""

    SEARCH_STEPS = 20000

    def __init__(self):
        self.circles, self.boxes, self.segments, self.labels = [], [], [], []

    def free(self, box, own=None) -> bool:
        if any(box.meets_circle(*c[:3]) for c in self.circles):
            return False
        if any(box.overlaps(o) for o in self.boxes):
            return False
        if any(box.overlaps(lab) for lab, _ in self.labels):
            return False
        return not any(box.hits_segment(a, b) for name, (a, b) in self.segments if name != own)

    def place(self, text, lines, candidates, own=None, what="") -> bool:
        """Put ``text`` (math ``lines``) at the first free candidate centre; False if none is free."""
        w, h = label_size_cm(lines)
        for cx, cy in candidates:
            box = Box(cx, cy, w, h, what)
            if self.free(box, own):
                self.labels.append((box, text))
                return True
        return False

    def place_all(self, items) -> bool:
        """Place every ``(text, lines, candidates, own, what)`` of ``items`` or none of them: a
        depth-first search (most constrained label first) over the candidates that are free of
        what is already there, such that no two of the new labels overlap."""
        options = []
        for text, lines, cands, own, what in items:
            w, h = label_size_cm(lines)
            free = [Box(cx, cy, w, h, what) for cx, cy in cands]
            free = [b for b in free if self.free(b, own)]
            if not free:
                return False
            options.append((text, free))
        order = sorted(range(len(options)), key=lambda n: (len(options[n][1]), n))
        chosen = [None] * len(options)
        steps = [0]

        def search(depth):
            if depth == len(order):
                return True
            n = order[depth]
            for box in options[n][1]:
                steps[0] += 1
                if steps[0] > self.SEARCH_STEPS:
                    return False
                if any(c is not None and box.overlaps(c) for c in chosen):
                    continue
                chosen[n] = box
                if search(depth + 1):
                    return True
                chosen[n] = None
            return False

        if not search(0):
            return False
        for (text, _), box in zip(options, chosen):
            self.labels.append((box, text))
        return True

    def overlaps(self) -> list:
        """Pairs that overlap (none, by construction): a label with a label, a node, a box, or an
        arrow other than its own (``what`` = ``"weight NAME"`` / ``"output NAME"`` owns the
        segment ``NAME``)."""
        bad = []
        for n, (b, _) in enumerate(self.labels):
            for c, _ in self.labels[n + 1:]:
                if b.overlaps(c):
                    bad.append((b.what, c.what))
            for c in self.circles:
                if b.meets_circle(*c[:3]):
                    bad.append((b.what, c[3]))
            for o in self.boxes:
                if b.overlaps(o):
                    bad.append((b.what, o.what))
            own = b.what.split(" ", 1)[1] if b.what.split(" ", 1)[0] in ("weight", "output") else None
            for name, (p, q) in self.segments:
                if name != own and b.hits_segment(p, q):
                    bad.append((b.what, name))
        return bad


ARROWHEAD_CM = 0.22        # Stealth[length=2.2mm]


def arrowheads(segments) -> list:
    """A circle (x, y, r, what) around the tip of every arrow: no label covers an arrowhead, not
    even its own arrow's."""
    out = []
    for name, ((xa, ya), (xb, yb)) in segments:
        ln = ((xb - xa) ** 2 + (yb - ya) ** 2) ** 0.5 or 1.0
        t = ARROWHEAD_CM * 0.5 / ln
        out.append((xb - (xb - xa) * t, yb - (yb - ya) * t, ARROWHEAD_CM * 0.6, f"tip {name}"))
    return out


def along(a, b, ts) -> list:
    """Points of the segment a-b at the fractions ``ts``."""
    return [(a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t) for t in ts]


def arrow_positions(falling: bool, level: bool) -> list:
    """Fractions along an arrow to try for its label, best first: a third of the way from the
    node it leaves (where arrows of one source are still apart), then further along."""
    grid = [0.1 + 0.025 * n for n in range(33)]
    pref = 0.5 if level else 0.3 if falling else 0.7
    return sorted(grid, key=lambda t: (abs(t - pref), t))




# ---------------------------------------------------------------------------------------------
# the network drawing (index notation)

NODE_CM = 1.1             # the neurons' diameter (minimum size=11mm)
TEXT_WIDTH_CM = 14.5      # the drawings fit the page (16.6 cm of text width)
MAX_GAP_LABELS = 16       # more arrows than this between two layers: their weights go into a table

VALUE_COLOR = "green!45!black"
GRADIENT_COLOR = "red!75!black"


def _num(value, decimals) -> str:
    text, exact = format_number(value, decimals)
    return ("= " if exact else r"\approx ") + text


def _unit(a, b):
    ln = ((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2) ** 0.5
    return (b[0] - a[0]) / ln, (b[1] - a[1]) / ln


class NetworkLayout(Placer):
    r"""Where everything of a network drawing goes (cm), and every label's box.

    ``nodes``: {(layer, j): (x, y)}; ``edges``: [((k, j), (k + 1, i), name, ends)] with ``ends``
    the segment between the two circles; ``out_edges``: [((L, i), ends)] into the loss;
    ``labels``: [(Box, tikz text)] for every label placed (biases above their nodes, the output
    arrows' \hat{y}, in the key the node values under the nodes, the weights on their arrows);
    ``labelled_gaps``: the gaps k (between layers k and k + 1) whose arrows carry their weights'
    names (the others' weights go into a table); ``info_in_drawing``: the key's node values are
    under the nodes (else in a table).
    """

    def __init__(self, d, ev=None, example=0, decimals=2, room_for_values=True):
        super().__init__()
        g = d.graph
        self.g, self.nt = g, Notation(d)
        layers = g.layers
        self.depth = len(layers)
        self.key = ev is not None
        values = ev.values[example] if ev is not None else None
        grads = ev.gradients[example] if ev is not None else None
        widest = max(layers)
        self.dx = min(4.8, TEXT_WIDTH_CM / self.depth)
        self.dy = (1.8 if widest <= 4 else 1.5) + (0.85 if self.key and room_for_values else 0.0)
        self.nodes = {}
        for k, w in enumerate(layers, start=1):
            for r in range(w):
                self.nodes[(k, r + 1)] = ((k - 1) * self.dx, ((w - 1) / 2 - r) * self.dy)
        rad = NODE_CM / 2
        self.edges = []
        for k in range(1, self.depth):
            for i in range(1, layers[k] + 1):
                for j in range(1, layers[k - 1] + 1):
                    a, b = self.nodes[(k, j)], self.nodes[(k + 1, i)]
                    ux, uy = _unit(a, b)
                    ends = ((a[0] + ux * rad, a[1] + uy * rad), (b[0] - ux * (rad + 0.1), b[1] - uy * (rad + 0.1)))
                    self.edges.append(((k, j), (k + 1, i), names.weight(k, i, j), ends))
        outs = [(self.depth, i) for i in range(1, layers[-1] + 1)]
        ys = [self.nodes[o][1] for o in outs]
        self.loss_at = ((self.depth - 1) * self.dx + min(2.1, self.dx * 0.75), sum(ys) / len(ys))
        self.target_at = (self.loss_at[0], self.loss_at[1] - 0.95)
        self.out_edges = []
        for o in outs:
            a, b = self.nodes[o], self.loss_at
            ux, uy = _unit(a, b)
            self.out_edges.append((o, ((a[0] + ux * rad, a[1] + uy * rad), (b[0] - ux * 0.55, b[1] - uy * 0.45))))
        self.circles = [(x, y, rad + 0.02, f"node {k},{j}") for (k, j), (x, y) in self.nodes.items()]
        self.circles += arrowheads(self.edges_segments())
        self.boxes = [Box(*self.loss_at, 0.9, 0.8, "loss"), Box(*self.target_at, 0.4, 0.45, "target")]
        self.segments = ([(name, e) for _, _, name, e in self.edges]
                         + [(self._yhat(o, len(outs)), e) for o, e in self.out_edges]
                         + [("target", ((self.target_at[0], self.target_at[1] + 0.22),
                                        (self.loss_at[0], self.loss_at[1] - 0.4)))])
        # biases above their nodes (a shared bias b^{k-1} above every node of the layer it is added to)
        shared = bool(getattr(d.graph, "shared_biases", False))
        for (k, j), (x, y) in self.nodes.items():
            if k > 1:
                t = f"b^{{{k - 1}}}" if shared else f"b^{{{k - 1}}}_{{{j}}}"
                cands = ([(x + dx_, y + rad + dy_) for dy_ in (0.2, 0.12, 0.3, 0.4) for dx_ in (0, 0.25, -0.25, 0.45, -0.45)]
                         + [(x + 0.8, y + dy_) for dy_ in (0.15, -0.15, 0.35, -0.35)])
                self.place(f"${t}$", [t], cands, None, f"bias {k},{j}")
        # the output arrows: y-hat into the loss
        for o, (a, b) in self.out_edges:
            yh = self._yhat(o, len(outs))
            level = abs(a[1] - b[1]) < 1e-9
            self.place(f"${yh}$", [yh], along(a, b, arrow_positions(a[1] > b[1], level)), yh, f"output {yh}")
        # the key: node values under the nodes, or all of them in a table
        self.node_info = {}
        if values is not None and room_for_values:
            for (k, j), (x, y) in self.nodes.items():
                info = self._info(k, j, values, grads, decimals)
                hh = label_size_cm(info)[1] / 2
                cands = [(x + dx_, y - rad - 0.05 - hh - dy_) for dy_ in (0, 0.08, 0.16) for dx_ in (0, 0.2, -0.2, 0.4, -0.4)]
                self.node_info[(k, j)] = self.place(r"\\".join(f"${m}$" for m in info), info, cands, None,
                                                    f"values {k},{j}")
        self.info_in_drawing = values is None or (room_for_values and all(self.node_info.values()))
        if not self.info_in_drawing and room_for_values:
            # the values go into a table: draw the key as compactly as the sheet
            self.__init__(d, ev, example, decimals, room_for_values=False)
            return
        # weight names on their arrows: all of a gap's or none (then its weights are in a table)
        self.labelled_gaps = set()
        for k in range(1, self.depth):
            gap = [e for e in self.edges if e[0][0] == k]
            if len(gap) > MAX_GAP_LABELS:
                continue
            items = []
            for src, dst, name, (a, b) in gap:
                text = sympy.latex(names.symbol(name))
                ya, yb = self.nodes[src][1], self.nodes[dst][1]
                items.append((f"${text}$", [text], along(a, b, arrow_positions(yb < ya, ya == yb)), name,
                              f"weight {name}"))
            if self.place_all(items):
                self.labelled_gaps.add(k)

    def edges_segments(self):
        return [(name, e) for _, _, name, e in self.edges] + [(f"out {o}", e) for o, e in self.out_edges]

    @staticmethod
    def _yhat(o, n_out):
        return r"\hat{y}" if n_out == 1 else rf"\hat{{y}}_{{{o[1]}}}"

    def _info(self, k, j, values, grads, decimals):
        if k == 1:
            name = names.feature(j)
            return [f"{sympy.latex(names.symbol(name))} {_num(values[name], decimals)}"]
        z = names.pre_activation(k, j)
        out = [rf"\color{{{VALUE_COLOR}}}z {_num(values[z], decimals)}",
               rf"\color{{{VALUE_COLOR}}}a {_num(values[names.activation(k, j)], decimals)}"]
        if z in grads:
            out.append(rf"\color{{{GRADIENT_COLOR}}}\partial {self.nt.out_tex}/\partial z {_num(grads[z], decimals)}")
        return out


__all__ = ["Box", "Placer", "NetworkLayout", "math_width_pt", "label_size_cm", "along", "arrow_positions", "PT",
           "NODE_CM", "TEXT_WIDTH_CM", "VALUE_COLOR", "GRADIENT_COLOR"]
