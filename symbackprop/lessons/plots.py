r"""Pictures, where people would rather look than read (matplotlib, Agg, deterministic).

Four pictures, each a ``*_figure`` builder that returns a ``matplotlib.figure.Figure``
and a writer that saves it (PNG, SVG or PDF, chosen by the file's extension):

- :func:`loss_curve`: the training loss J after every epoch of gradient descent
  (``symbackprop train SPEC --plot FILE``);
- :func:`graph_picture`: the computational graph of a spec, every node with its
  forward value and its upstream gradient ∂L/∂v for one example
  (``symbackprop picture SPEC -o FILE``);
- :func:`vanishing_gradient`: ‖∂L/∂W^{k}‖ layer by layer through a deep stack of
  sigmoids, against tanh and ReLU, next to the three derivatives g′(z) that explain it
  (σ′(z) = a(1 − a) ≤ 1/4) (``symbackprop vanishing --depth N --plot FILE``);
- :func:`learning_rate_descent`: gradient descent w ← w − α ∂L/∂w on the 1-D loss
  L(w) = (w − w*)² for several learning rates α.

Same input, same bytes: figures are built outside pyplot (no global state) with a fixed
style (DejaVu Sans, bundled with matplotlib), ``svg.hashsalt`` fixed, and no dates or
version strings in the file's metadata. Files are written atomically (a temporary file
in the same folder, then ``os.replace``) and never overwritten without ``force``.
"""
from __future__ import annotations

import io
import math
import os
import re
from contextlib import contextmanager
from functools import lru_cache

import numpy as np

from .. import fileio
from ..errors import NotSupportedError, SpecError
from ..fileio import write_atomic

#: the file formats a picture can be saved in, by extension
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}

#: file metadata: no dates, no version strings (byte-identical output)
METADATA = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": "symbackprop"},
    "pdf": {"CreationDate": None, "ModDate": None, "Creator": "symbackprop", "Producer": "symbackprop"},
}

STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "mathtext.fontset": "dejavusans",
    "svg.hashsalt": "symbackprop",
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 2.0,
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "standard",
    "axes.unicode_minus": True,
    "path.simplify": False,
}

#: colours (the Okabe-Ito palette: distinguishable with colour blindness)
COLORS = {"sigmoid": "#D55E00", "tanh": "#0072B2", "relu": "#009E73", "value": "#1f2a44",
          "gradient": "#C0392B", "edge": "#8a8f99", "guide": "#666666"}
_CYCLE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")

MAX_PICTURE_NODES = 80
MAX_HISTORY = 10_000_000


@contextmanager
def _style():
    import matplotlib

    with matplotlib.rc_context(STYLE):
        yield


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _power_of_ten(value, _pos=None) -> str:
    """Tick label '10⁻³' for an exact power of ten (plain Unicode: no mathtext, fast), else ''."""
    if value <= 0:
        return ""
    exponent = math.log10(value)
    if abs(exponent - round(exponent)) > 1e-9:
        return ""
    return "10" + str(int(round(exponent))).translate(_SUPERSCRIPT)


def _log_axis(ax) -> None:
    """A logarithmic y axis labelled 10⁰, 10⁻², ... at the decades."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(_power_of_ten))
    ax.yaxis.set_minor_formatter(NullFormatter())


def _new_figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _format_of(path) -> str:
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in FORMATS:
        raise SpecError(f"{path}: unknown picture format {ext or '(no extension)'!r}; "
                        f"name the file .png, .svg or .pdf")
    return FORMATS[ext]


def check_writable(path, force: bool) -> str:
    """The picture format of ``path``; SymbackpropError if it exists (without ``force``) or its folder does not."""
    fmt = _format_of(os.fspath(path))
    fileio.check_writable(path, force)
    return fmt


def figure_bytes(fig, fmt: str = "png") -> bytes:
    """The figure saved to memory in ``fmt`` (png, svg or pdf), with the fixed style and metadata."""
    if fmt not in METADATA:
        raise SpecError(f"unknown picture format {fmt!r} (allowed: png, svg, pdf)")
    buf = io.BytesIO()
    with _style():
        fig.savefig(buf, format=fmt, metadata=METADATA[fmt])
    return buf.getvalue()


def save_figure(fig, path, *, force: bool = False) -> None:
    """Save ``fig`` to ``path`` (format from the extension) atomically; refuse to overwrite
    an existing file unless ``force``."""
    fmt = check_writable(path, force)
    write_atomic(path, figure_bytes(fig, fmt), force=force)


def render_rgba(fig) -> np.ndarray:
    """The figure drawn by Agg as an (height, width, 4) uint8 array (what a PNG would show)."""
    with _style():
        fig.canvas.draw()
        return np.asarray(fig.canvas.buffer_rgba()).copy()


# ---------------------------------------------------------------------------------------
# The loss curve
# ---------------------------------------------------------------------------------------

def loss_curve_figure(history, title: str | None = None):
    """The loss J after each epoch: ``history[0]`` before training, ``history[t]`` after epoch t.

    J is the reduced loss of the whole data set (mean (1/n) Σ_e L_e or sum), as the trainer
    reports it. The y axis is logarithmic when the loss falls by more than a factor 100.
    One curve (one ``Line2D``); the first and last values are marked and written out.
    """
    try:
        values = np.asarray([float(v) for v in history], dtype=float)
    except (TypeError, ValueError):
        raise SpecError("loss history: expected a list of numbers (one per epoch)") from None
    if values.size == 0:
        raise SpecError("loss history: empty; train for at least 0 epochs to get the starting loss")
    if values.size > MAX_HISTORY:
        raise SpecError(f"loss history: {values.size} values; at most {MAX_HISTORY} can be drawn")
    if not np.all(np.isfinite(values)):
        raise SpecError("loss history: contains a non-finite loss (training diverged); lower the learning rate")
    epochs = np.arange(values.size)
    with _style():
        fig = _new_figure(6.4, 4.0)
        ax = fig.add_subplot(1, 1, 1)
        ax.plot(epochs, values, color=_CYCLE[0], label="loss J", solid_capstyle="round")
        ax.scatter([epochs[0], epochs[-1]], [values[0], values[-1]], color=_CYCLE[0], s=28, zorder=3)
        positive = bool(np.all(values > 0))
        if positive and values.max() / values.min() > 100:
            _log_axis(ax)
        ax.annotate(f"start: {_num(values[0])}", (epochs[0], values[0]), textcoords="offset points",
                    xytext=(8, 4), fontsize=9, color=COLORS["value"])
        ax.text(0.98, 0.96, f"after {epochs[-1]} epochs: {_num(values[-1])}", transform=ax.transAxes,
                ha="right", va="top", fontsize=9.5, color=COLORS["value"])
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss J (whole data set)")
        ax.set_xlim(0, max(int(epochs[-1]), 1))
        ax.set_title(_plain(title) if title else "Training loss")
        fig.subplots_adjust(left=0.12, right=0.96, bottom=0.13, top=0.9)
    return fig


def loss_curve(history, path, title: str | None = None, force: bool = False):
    """Draw the loss curve of a training run and save it to ``path`` (.png, .svg or .pdf).

    >>> loss_curve([0.7, 0.5, 0.3], "loss.png", title="gender")   # doctest: +SKIP
    """
    check_writable(path, force)
    fig = loss_curve_figure(history, title)
    save_figure(fig, path, force=force)
    return fig


# ---------------------------------------------------------------------------------------
# The computational graph
# ---------------------------------------------------------------------------------------

_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "eta", "theta", "lambda", "mu", "sigma", "tau", "phi",
          "omega", "rho", "kappa", "nu", "xi", "pi", "psi", "chi", "zeta", "iota"}


_SIMPLE_NAME = re.compile(r"^[A-Za-z]+(\^\{\d+\})?(_\{\d+(,\d+)*\})?(\^\{\d+\})?$")


@lru_cache(maxsize=4096)
def mathtext_name(name: str) -> str:
    r"""A node name as matplotlib mathtext: ``w^{1}_{1,2}`` stays, ``yhat`` -> ``\hat{y}``,
    ``alpha`` -> ``\alpha``, other words upright (``\mathrm{loss}``)."""
    base, rest = re.match(r"^([A-Za-z]*)(.*)$", name).groups()
    m = re.match(r"^([A-Za-z])hat$", base)
    if m:
        base = rf"\hat{{{m.group(1)}}}"
    elif base in _GREEK:
        base = "\\" + base
    elif len(base) > 1:
        base = rf"\mathrm{{{base}}}"
    text = f"${base}{rest}$"
    if _SIMPLE_NAME.match(name):  # canonical names (w^{1}_{1,2}, x_{1}, yhat): always valid mathtext
        return text
    return text if _mathtext_ok(text) else name.replace("$", r"\$")


def _mathtext_ok(text: str) -> bool:
    from matplotlib.mathtext import MathTextParser

    try:
        MathTextParser("path").parse(text)
    except ValueError:
        return False
    return True


def _plain(text: str) -> str:
    """Text drawn as is: a ``$`` would start mathtext, so escape it."""
    return str(text).replace("$", r"\$")


def _num(value, digits: int = 4) -> str:
    """A number for a picture: integers exactly, others to ``digits`` significant digits, with '−'."""
    import sympy

    if isinstance(value, sympy.Basic):
        if value.is_Integer:
            return str(int(value)).replace("-", "−")
        value = float(sympy.N(value, 30))
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    if value == int(value) and abs(value) < 1e6:
        return str(int(value)).replace("-", "−")
    if abs(value) < 1e-3 or abs(value) >= 1e6:
        mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
        return f"{mantissa}·10{str(int(exponent)).translate(_SUPERSCRIPT)}".replace("-", "−")
    text = f"{value:.{digits}g}"
    return text.replace("-", "−")


def _layout(graph) -> dict:
    """Columns and rows for each node: {name: (column, row)} (rows grow downwards, 1 apart at least).

    Defined nodes sit one column right of their latest defined parent; inputs in column 0;
    parameters and targets one column left of their first child. Within a column nodes are
    ordered by the mean row of their neighbours (barycentre sweeps, so few edges cross), then
    each node is pulled towards the mean row of its neighbours, keeping the order and a gap of 1.
    """
    from ..derivation.graph import INPUT

    nodes = graph.nodes
    children = graph.children
    col = {}
    for n in nodes:
        if not n.is_leaf:
            defined = [col[p] for p in n.parents if not graph.by_name[p].is_leaf]
            col[n.name] = 1 + max(defined, default=0)
    for n in nodes:
        if n.is_leaf:
            kids = [col[c] for c in children[n.name]]
            col[n.name] = 0 if (n.kind == INPUT or not kids) else max(min(kids) - 1, 0)
    columns: dict[int, list] = {}
    for n in nodes:
        columns.setdefault(col[n.name], []).append(n.name)
    row = {}
    for members in columns.values():
        for i, name in enumerate(members):
            row[name] = i - (len(members) - 1) / 2

    def pull(name):
        ns = [row[m] for m in list(graph.by_name[name].parents) + list(children[name]) if col[m] != col[name]]
        return sum(ns) / len(ns) if ns else row[name]

    order = sorted(columns)
    for sweep in range(8):
        for c in (order if sweep % 2 == 0 else order[::-1]):
            members = columns[c]
            wanted = {name: pull(name) for name in members}
            if sweep < 4:  # first fix the order, then only the spacing
                before = {name: i for i, name in enumerate(members)}
                members.sort(key=lambda name: (wanted[name], before[name]))
            placed = []
            for name in members:
                placed.append(max(wanted[name], placed[-1] + 1) if placed else wanted[name])
            shift = sum(wanted[m] for m in members) / len(members) - sum(placed) / len(placed)
            for name, y in zip(members, placed):
                row[name] = y + shift
    return {name: (col[name], row[name]) for name in col}


def graph_picture_data(d, example: int = 1) -> dict:
    """The numbers a graph picture shows, for example ``example`` (1-based):
    {node name: (forward value, ∂L_e/∂node)} in exact SymPy numbers (gradient 0 for a node
    the output does not depend on)."""
    import sympy

    examples = d.examples()
    if not examples:
        examples = [{}]
    if not 1 <= example <= len(examples):
        raise SpecError(f"{d.spec.source if d.spec else '<spec>'}: example {example} does not exist "
                        f"(the spec has {len(examples)} example(s): choose 1 to {len(examples)})")
    values = d.exact_values(examples[example - 1])
    grads = d.exact_node_gradients(values)
    return {n.name: (values.get(n.name), grads.get(n.name, sympy.S.Zero)) for n in d.graph.nodes}


def graph_picture_figure(d, example: int = 1, title: str | None = None):
    """The computational graph of a derivation, one box per node (a ``FancyBboxPatch`` with
    ``gid = "node:<name>"``), one arrow per edge parent → child (``gid = "edge:<parent>-><child>"``).

    Each box shows the node's name, its forward value v and its upstream gradient ∂L/∂v
    (red) for one example, as the slides draw f = (x + y) z at x = −2, y = 5, z = −4
    (q = 3, f = −12; ∂f/∂x = ∂f/∂y = −4, ∂f/∂z = 3). Values come from the derivation's
    exact forward pass and its chain rule (``Derivation.exact_values`` /
    ``exact_node_gradients``).
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch

    from ..derivation.graph import INPUT, LOSS, PARAMETER, TARGET

    graph = d.graph
    if len(graph.nodes) > MAX_PICTURE_NODES:
        raise NotSupportedError(
            f"{d.spec.source if d.spec else '<spec>'}: the graph has {len(graph.nodes)} nodes; pictures are drawn "
            f"for at most {MAX_PICTURE_NODES} (a [2, 2, 1] network has 19): use a smaller network")
    data = graph_picture_data(d, example)
    pos = _layout(graph)
    n_cols = 1 + max(c for c, _ in pos.values())
    dx, dy = 2.7, 1.25       # spacing between columns and rows (data units)
    bw, bh = 2.0, 0.98       # box width and height
    scale = 0.78             # inches per data unit
    fills = {INPUT: "#eef3fb", TARGET: "#eef3fb", PARAMETER: "#fdf3e1", LOSS: "#fbe9e7"}
    edges_of = {INPUT: "#6b8cc7", TARGET: "#6b8cc7", PARAMETER: "#d9a441", LOSS: "#c0392b"}
    xy = {name: (c * dx, -r * dy) for name, (c, r) in pos.items()}
    top = max(y for _, y in xy.values()) + bh / 2
    bottom = min(y for _, y in xy.values()) - bh / 2
    x_lo, x_hi = -bw / 2 - 0.3, (n_cols - 1) * dx + bw / 2 + 0.3
    if x_hi - x_lo < 7.0:  # room for the title over a small graph
        pad = (7.0 - (x_hi - x_lo)) / 2
        x_lo, x_hi = x_lo - pad, x_hi + pad
    y_lo, y_hi = bottom - 0.75, top + 1.3
    width, height = (x_hi - x_lo) * scale, (y_hi - y_lo) * scale
    with _style():
        fig = _new_figure(width, height)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        ax.set_aspect("equal")
        outgoing = {n.name: sorted(graph.children[n.name], key=lambda c: -xy[c][1]) for n in graph.nodes}
        for n in graph.nodes:
            incoming = sorted(n.parents, key=lambda p: -xy[p][1])
            for p in n.parents:
                (x0, y0), (x1, y1) = xy[p], xy[n.name]
                y0 += _spread(outgoing[p].index(n.name), len(outgoing[p]), bh)
                y1 += _spread(incoming.index(p), len(incoming), bh)
                arrow = FancyArrowPatch((x0 + bw / 2, y0), (x1 - bw / 2, y1), arrowstyle="-|>",
                                        mutation_scale=11, color=COLORS["edge"], lw=1.0, zorder=1,
                                        shrinkA=1, shrinkB=1)
                arrow.set_gid(f"edge:{p}->{n.name}")
                ax.add_patch(arrow)
        for n in graph.nodes:
            x, y = xy[n.name]
            box = FancyBboxPatch((x - bw / 2, y - bh / 2), bw, bh, boxstyle="round,pad=0.02,rounding_size=0.12",
                                 facecolor=fills.get(n.kind, "white"), edgecolor=edges_of.get(n.kind, "#7f8c8d"),
                                 lw=1.2, zorder=2)
            box.set_gid(f"node:{n.name}")
            ax.add_patch(box)
            value, grad = data[n.name]
            ax.text(x, y + 0.25, mathtext_name(n.name), ha="center", va="center", fontsize=11, zorder=3,
                    color="black")
            ax.text(x, y - 0.03, f"= {_num(value)}" if value is not None else "", ha="center", va="center",
                    fontsize=8.5, color=COLORS["value"], zorder=3)
            ax.text(x, y - 0.29, f"{_partial_label(graph, n.name)} = {_num(grad)}", ha="center", va="center",
                    fontsize=8, color=COLORS["gradient"], zorder=3)
        n_ex = max(len(d.examples()), 1)
        heading = title or (d.spec.title if d.spec is not None and d.spec.title else "Computational graph")
        sub = (f"forward values (black) and upstream gradients ∂{_out_label(graph)}/∂v (red)"
               + (f", example {example} of {n_ex}" if n_ex > 1 else ""))
        ax.text((n_cols - 1) * dx / 2, top + 0.72, _plain(heading), ha="center", va="bottom", fontsize=12,
                fontweight="bold")
        ax.text((n_cols - 1) * dx / 2, top + 0.3, _plain(sub), ha="center", va="bottom", fontsize=9,
                color="#444444")
        ax.set_xlim(x_lo, x_hi)
        ax.set_ylim(y_lo, y_hi)
        kinds = {n.kind for n in graph.nodes}
        key = [(INPUT, "input" if TARGET not in kinds else "input or target"), (PARAMETER, "parameter"),
               (None, "computed"), (LOSS, "output")]
        handles = [Patch(facecolor=fills.get(k, "white"), edgecolor=edges_of.get(k, "#7f8c8d"), label=label)
                   for k, label in key
                   if (k is None and kinds - {INPUT, TARGET, PARAMETER, LOSS}) or k in kinds
                   or (k == INPUT and TARGET in kinds)]
        ax.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8.5, handlelength=1.2,
                  borderaxespad=0.2, frameon=False)
    return fig


def _spread(i: int, m: int, bh: float) -> float:
    """Offset of the i-th of m arrow ends along a box's side, top to bottom (within ±0.3 bh)."""
    return 0.0 if m <= 1 else 0.6 * bh * (0.5 - i / (m - 1))


def _partial_label(graph, name: str) -> str:
    r"""``$\partial L/\partial w^{1}_{1,1}$`` (mathtext), or plain text when the name is not mathtext."""
    inner = mathtext_name(name)
    out = mathtext_name(graph.output)
    if inner.startswith("$") and out.startswith("$"):
        return rf"$\partial {out[1:-1]}/\partial {inner[1:-1]}$"
    return f"∂{graph.output}/∂{name}"


def _out_label(graph) -> str:
    """The output's own name (g2, f, L), drawn as plain text by :func:`_plain`."""
    return graph.output


def graph_picture(d, path, force: bool = False, example: int = 1):
    """Draw the computational graph of derivation ``d`` with forward values and gradients, save to ``path``."""
    check_writable(path, force)
    fig = graph_picture_figure(d, example)
    save_figure(fig, path, force=force)
    return fig


# ---------------------------------------------------------------------------------------
# The vanishing gradient
# ---------------------------------------------------------------------------------------

def vanishing_gradient_figure(result):
    """Two panels. Left: the local derivatives g′(z) of sigmoid, tanh and ReLU on z ∈ [−6, 6]
    with the line 1/4 (σ′(z) = a(1 − a) ≤ 1/4, highest at z = 0). Right: ‖∂L/∂W^{k}‖ for
    each weight layer k (k = 1 next to the input) on a log scale, one curve per activation.

    ``result`` is a :class:`symbackprop.lessons.topics.VanishingGradient`. Zero magnitudes (ReLU units
    that are all off, z ≤ 0) cannot be drawn on a log scale; they are listed in a note.
    """
    from ..lessons.topics import local_derivative_curves

    z = np.linspace(-6.0, 6.0, 601)
    curves = local_derivative_curves(z)
    with _style():
        fig = _new_figure(11.0, 4.3)
        left = fig.add_subplot(1, 2, 1)
        right = fig.add_subplot(1, 2, 2)
        labels = {"sigmoid": "σ′(z) = a(1 − a)", "tanh": "tanh′(z) = 1 − a²",
                  "relu": "ReLU′(z) = 1 if z > 0, else 0"}
        for name in ("sigmoid", "tanh", "relu"):
            kw = {"drawstyle": "steps-post"} if name == "relu" else {}
            left.plot(z, curves[name], color=COLORS[name], label=labels[name], **kw)
        left.axhline(0.25, color=COLORS["guide"], lw=1.0, ls="--")
        left.annotate("σ′(z) ≤ 1/4 (at z = 0)", (6, 0.25), xytext=(-2, 4), textcoords="offset points",
                      ha="right", va="bottom", fontsize=8.5, color=COLORS["guide"])
        left.set_xlim(-6, 6)
        left.set_ylim(-0.04, 1.12)
        left.set_xlabel("z")
        left.set_ylabel("local derivative g′(z)")
        left.set_title("Why: each layer multiplies the gradient by g′(z)·w")
        left.legend(loc="upper left", fontsize=8.5)

        layers = np.arange(1, result.depth + 2)
        notes = []
        for name in result.activations:
            mags = np.asarray(result.weight_gradient_norms[name], dtype=float)
            shown = np.where(mags > 0, mags, np.nan)
            right.plot(layers, shown, color=COLORS.get(name, "black"), marker="o", ms=4,
                       label=f"{_ACT_LABEL.get(name, name)}: {_ratio_text(mags, result.depth + 1)}")
            if np.any(mags == 0):
                zeros = [int(k) for k in layers[mags == 0]]
                notes.append(f"{_ACT_LABEL.get(name, name)}: exactly 0 at layer(s) {_ranges(zeros)}\n(every unit off there: z ≤ 0)")
        _log_axis(right)
        right.set_xlabel("weight layer k  (1 = next to the input, {} = next to the output)".format(result.depth + 1))
        right.set_ylabel(r"gradient magnitude $\Vert\partial L/\partial W^{(k)}\Vert$")
        right.set_title(f"The gradient layer by layer: {result.depth} hidden layers of width {result.width}")
        right.set_xlim(0.6, result.depth + 1.4)
        right.xaxis.get_major_locator().set_params(integer=True)
        right.legend(loc="best", title="\n".join(notes) if notes else None, title_fontsize=8,
                     alignment="left")
        fig.suptitle(f"The vanishing gradient: sigmoid against tanh and ReLU (same weights, seed {result.seed})",
                     fontsize=12, fontweight="bold")
        fig.subplots_adjust(left=0.065, right=0.985, bottom=0.12, top=0.83, wspace=0.2)
    return fig


_ACT_LABEL = {"sigmoid": "sigmoid", "tanh": "tanh", "relu": "ReLU"}


def _ratio_text(mags, last: int) -> str:
    """'layer 1 ÷ layer 11 ≈ 1/52 000' (or '≈ 0.27'; '-' when a magnitude is 0)."""
    if not (mags[0] > 0 and mags[-1] > 0):
        return f"layer 1 ÷ layer {last}: undefined (a zero gradient)"
    r = mags[0] / mags[-1]
    shown = f"1/{_sig2(1 / r)}" if r < 0.1 else f"{r:.2g}"
    return f"layer 1 ÷ layer {last} ≈ {shown}"


def _sig2(x: float) -> str:
    """A large number to 2 significant digits with thin spaces: 51 820 -> '52 000'; 3.2e9 -> '3.2·10⁹'."""
    if x >= 1e7:
        exp = int(math.floor(math.log10(x)))
        sup = str(exp).translate(_SUPERSCRIPT)
        return f"{x / 10 ** exp:.1f}·10{sup}"
    digits = int(math.floor(math.log10(x))) if x >= 1 else 0
    rounded = int(round(x, -max(digits - 1, 0)))
    return f"{rounded:,}".replace(",", "\u2009")


def _ranges(ks) -> str:
    out, start, prev = [], None, None
    for k in ks + [None]:
        if start is None:
            start = prev = k
        elif k is not None and k == prev + 1:
            prev = k
        else:
            out.append(f"{start}" if start == prev else f"{start}–{prev}")
            start = prev = k
    return ", ".join(out)


def vanishing_gradient(depth: int, path, force: bool = False, *, width: int = 8, seed: int = 0, result=None):
    """Compute (or take) the layer-by-layer gradient magnitudes of ``depth`` hidden layers of
    sigmoid, tanh and ReLU (:func:`symbackprop.lessons.topics.vanishing_gradient_magnitudes`), draw them
    and save to ``path``. Returns the figure."""
    check_writable(path, force)
    if result is None:
        from ..lessons.topics import vanishing_gradient_magnitudes

        result = vanishing_gradient_magnitudes(depth, width=width, seed=seed)
    fig = vanishing_gradient_figure(result)
    save_figure(fig, path, force=force)
    return fig


# ---------------------------------------------------------------------------------------
# The learning rate
# ---------------------------------------------------------------------------------------

DEFAULT_LEARNING_RATES = (0.05, 0.3, 0.8, 1.05)
MAX_LEARNING_RATES = 6


def learning_rate_figure(learning_rates=DEFAULT_LEARNING_RATES, w0=0, w_star=3, steps: int = 10):
    """Gradient descent on L(w) = (w − w*)² from w0, one path per learning rate α.

    By the power rule ∂L/∂w = 2(w − w*), so one step w ← w − α·2(w − w*) multiplies the
    distance to the minimum by (1 − 2α): slow for small α, fastest at α = 1/2, oscillating
    for 1/2 < α < 1 and diverging for α > 1.

    Left: one small panel per α with the parabola L(w) and the path w_0, w_1, ... on it
    (two curves each: L and the path). Right: L(w_t) against the step t, one curve per α,
    on a log scale.
    """
    from matplotlib.gridspec import GridSpec

    from ..lessons.topics import descent_behaviour, descent_path

    rates = list(learning_rates)
    if not 1 <= len(rates) <= MAX_LEARNING_RATES:
        raise SpecError(f"learning rates: give 1 to {MAX_LEARNING_RATES}, got {len(rates)}")
    paths = [descent_path(a, w0=w0, w_star=w_star, steps=steps) for a in rates]
    w0f, wsf = float(w0), float(w_star)
    if w0f == wsf:
        raise SpecError(f"w0 = w* = {w_star}: the descent starts at the minimum; choose w0 ≠ w*")
    span = abs(w0f - wsf) * 1.35
    n_rows = (len(rates) + 1) // 2
    with _style():
        fig = _new_figure(11.0, 2.15 * n_rows + 1.0)
        gs = GridSpec(n_rows, 4, figure=fig, width_ratios=(1, 1, 0.12, 2.1))
        minis = [fig.add_subplot(gs[i // 2, i % 2]) for i in range(len(rates))]
        right = fig.add_subplot(gs[:, 3])
        grid = np.linspace(wsf - span, wsf + span, 300)
        for i, (alpha, path) in enumerate(zip(rates, paths)):
            ax = minis[i]
            ws = np.array([float(p.w) for p in path])
            ls = np.array([float(p.loss) for p in path])
            color = _CYCLE[i % len(_CYCLE)]
            label = f"α = {_num(alpha)}: {descent_behaviour(alpha)}"
            ax.plot(grid, (grid - wsf) ** 2, color="#a9aeb5", lw=1.4)
            ax.plot(ws, ls, color=color, marker="o", ms=3.5, lw=1.0)
            ax.scatter([wsf], [0.0], marker="*", s=70, color="black", zorder=4)
            ax.set_xlim(wsf - span, wsf + span)
            ax.set_ylim(-0.06 * span ** 2, 1.08 * span ** 2)
            ax.set_title(f"α = {_num(alpha)}: {descent_behaviour(alpha, short=True)}", fontsize=10, color=color)
            ax.tick_params(labelsize=8)
            if i % 2 == 0:
                ax.set_ylabel("L(w)", fontsize=9)
            if i // 2 == n_rows - 1:
                ax.set_xlabel("w", fontsize=9)
            right.plot(np.arange(len(path)), np.where(ls > 0, ls, np.nan), color=color, marker="o", ms=3.5,
                       label=label)
        _log_axis(right)
        right.set_xlabel("step t")
        right.set_ylabel("loss L(w_t)")
        right.set_title("one step multiplies w − w* by 1 − 2α")
        right.set_xlim(0, max(steps, 1))
        right.xaxis.get_major_locator().set_params(integer=True)
        right.legend(loc="lower left", fontsize=8.5)
        fig.suptitle(f"The learning rate: w ← w − α ∂L/∂w on L(w) = (w − {_num(w_star)})², "
                     f"∂L/∂w = 2(w − {_num(w_star)}), from w = {_num(w0)}", fontsize=12, fontweight="bold")
        top = 1 - 0.75 / (2.15 * n_rows + 1.0)
        fig.subplots_adjust(left=0.06, right=0.985, bottom=0.6 / (2.15 * n_rows + 1.0) + 0.02, top=top,
                            hspace=0.55, wspace=0.3)
    return fig


def learning_rate_descent(path, learning_rates=DEFAULT_LEARNING_RATES, w0=0, w_star=3, steps: int = 10,
                          force: bool = False):
    """Draw gradient descent on L(w) = (w − w*)² for several learning rates and save to ``path``."""
    check_writable(path, force)
    fig = learning_rate_figure(learning_rates, w0=w0, w_star=w_star, steps=steps)
    save_figure(fig, path, force=force)
    return fig

