r"""The network drawings stay readable as networks grow (issue 14).

The generator (:mod:`symbackprop.render.tikz_layout`) computes every label's box before anything is
compiled. These tests check that layout three ways:

- its own accounting (``overlaps()`` is empty) for many shapes, sheet and key;
- a brute-force check written here (points sampled along every arrow, corners of every box, the
  neurons' circles), sharing no code with the placer;
- the real render: pictures compiled by pdflatex, every node's box read back from TikZ
  (``tests/tikz_probe.py``), the overlaps counted on those boxes, and each computed label box
  compared with the real one (it contains it, and is at most a few points larger); the glyph-width
  table compared with ``\setbox``/``\wd`` of every label of the drawings.
"""
import math
import os
import re
import shutil
import subprocess
import sys

import pytest

from symbackprop import derive, load_spec
from symbackprop.render import tikz, tikz_layout
from symbackprop.render.latex import Evaluation
from symbackprop.worksheets.index import base_numbers

sys.path.insert(0, os.path.dirname(__file__))
import tikz_probe  # noqa: E402

SHAPES = ["2-2-1", "2-3-3-1", "3-4-2", "4-6-3", "6-6-6-6-6", "1-1", "1-3-1", "2-6-1", "5-5", "6-1", "3-3-3-3-3",
          "2-5-3-1"]
needs_pdflatex = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")


def _spec(tmp_path, shape, notation="index"):
    layers = [int(s) for s in shape.split("-")]
    soft = shape == "3-4-2"
    hidden = "tanh" if soft else "relu" if shape == "2-3-3-1" else "sigmoid"
    acts = [hidden] * (len(layers) - 2) + (["softmax"] if soft else ["sigmoid"])
    loss = "cross_entropy" if soft else "half_squared_error"
    x = [round(0.5 - 0.25 * j, 2) for j in range(layers[0])]
    y = [1] + [0] * (layers[-1] - 1)
    p = tmp_path / f"net{shape}.toml"
    p.write_text(f'title = "{shape}"\nnotation = "{notation}"\n[network]\nlayers = {layers}\n'
                 f'activations = {acts}\nloss = "{loss}"\nreduction = "mean"\n[parameters]\nseed = 3\n'
                 f'[data]\nx = [{x}]\ny = [{y}]\n'.replace("'", '"'), encoding="utf-8")
    return p


def _derive(tmp_path, shape):
    return derive(load_spec(_spec(tmp_path, shape)))


def _key(d):
    return Evaluation(d, base_numbers(d))


# ---------------------------------------------------------------------------------------------
# the layout, checked without compiling


def _brute_force_overlaps(lay):
    """Pairs found by sampling, independent of the placer's geometry."""
    bad = []
    labels = [(b.what, b.x0, b.x1, b.y0, b.y1) for b, _ in lay.labels]

    def inside(px, py, box):
        return box[1] < px < box[2] and box[3] < py < box[4]

    for n, a in enumerate(labels):
        for b in labels[n + 1:]:
            if a[1] < b[2] and b[1] < a[2] and a[3] < b[4] and b[3] < a[4]:
                bad.append((a[0], b[0]))
        for (x, y) in lay.nodes.values():   # the circle's points, every 5 degrees, and its centre
            r = tikz_layout.NODE_CM / 2
            if any(inside(x + r * math.cos(t / 36 * math.pi), y + r * math.sin(t / 36 * math.pi), a)
                   for t in range(72)) or inside(x, y, a):
                bad.append((a[0], "node"))
        own = a[0].split(" ", 1)[1] if a[0].startswith(("weight ", "output ")) else None
        for name, ((xa, ya), (xb, yb)) in lay.segments:
            if name == own:
                continue
            if any(inside(xa + (xb - xa) * t / 400, ya + (yb - ya) * t / 400, a) for t in range(401)):
                bad.append((a[0], name))
    return bad


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("key", [False, True], ids=["sheet", "key"])
def test_no_label_overlaps_a_label_a_node_or_another_arrow(tmp_path, shape, key):
    d = _derive(tmp_path, shape)
    lay = tikz.network_layout(d, _key(d) if key else None)
    assert lay.overlaps() == []
    assert _brute_force_overlaps(lay) == []
    # every label is where the TikZ source puts it, at its box's centre
    src = tikz.network_tikz(d, _key(d) if key else None)
    for n, (box, text) in enumerate(lay.labels, start=1):
        cx, cy = box.centre
        assert rf"\node[lab] (lab{n}) at ({cx:.3f},{cy:.3f}) {{{text}}};" in src


@pytest.mark.parametrize("shape,gaps", [("2-2-1", {1, 2}), ("2-3-3-1", {1, 2, 3}), ("3-4-2", {1, 2}), ("1-1", {1}),
                                        ("4-6-3", set()), ("6-6-6-6-6", set())])
def test_small_gaps_carry_every_weight_and_crowded_ones_none(tmp_path, shape, gaps):
    """A gap is labelled whole (every arrow its weight) or not at all (the weights are the setup's
    matrices W^k, and the caption says so); the lecture's 2-2-1 has every weight on its arrow."""
    d = _derive(tmp_path, shape)
    lay = tikz.network_layout(d)
    assert lay.labelled_gaps == gaps
    weights = {b.what.split(" ", 1)[1] for b, _ in lay.labels if b.what.startswith("weight ")}
    assert weights == {name for (k, _), _, name, _ in lay.edges if k in gaps}
    caption = tikz.network_caption(d)
    bare = sorted(set(range(1, len(d.graph.layers))) - gaps)
    for k in bare:
        assert f"$W^{{{k}}}$" in caption and "too many to label: their weights are given above" in caption
    if not bare:
        assert "too many to label" not in caption


@pytest.mark.parametrize("shape", ["2-2-1", "3-4-2", "6-1"])
def test_output_arrows_carry_y_hat_and_the_loss_is_named(tmp_path, shape):
    d = _derive(tmp_path, shape)
    lay = tikz.network_layout(d)
    outs = [b.what for b, _ in lay.labels if b.what.startswith("output ")]
    k = d.graph.layers[-1]
    assert outs == (["output \\hat{y}"] if k == 1 else [f"output \\hat{{y}}_{{{i}}}" for i in range(1, k + 1)])
    assert r"\node[lossnode] (loss)" in tikz.network_tikz(d)


@pytest.mark.parametrize("shape", ["2-2-1", "2-3-3-1", "4-6-3"])
def test_key_values_black_gradients_red_with_a_partial(tmp_path, shape):
    """No bare red number: whatever is red in the key's drawing or table starts with ∂ (the
    node labels) or is a matrix ∂J/∂W^k; the weight arrows carry names only (black)."""
    d = _derive(tmp_path, shape)
    ev = _key(d)
    src = tikz.network_tikz(d, ev)
    for line in src.splitlines():
        for m in re.finditer(r"\\color\{" + re.escape(tikz.GRADIENT_COLOR) + r"\}([^$]*)", line):
            assert m.group(1).startswith(r"\partial"), line
    for b, text in tikz.network_layout(d, ev).labels:
        if b.what.startswith("weight "):
            assert "color" not in text and re.fullmatch(r"\$w\^\{\d\}_\{\d,\d\}\$", text)
    table = tikz.network_values_table(d, ev)
    assert re.search(r"\\frac\{\\partial [JL]\}\{\\partial W\^\{1\}\}", table)


# ---------------------------------------------------------------------------------------------
# the real render


def _all_label_maths(tmp_path):
    out = set()
    for shape in ("2-2-1", "3-4-2", "4-6-3", "1-1"):
        d = _derive(tmp_path, shape)
        for ev in (None, _key(d)):
            for _, text in tikz.network_layout(d, ev).labels:
                out.update(m for m in re.findall(r"\$([^$]+)\$", text))
    return sorted(out)


@needs_pdflatex
def test_glyph_table_matches_pdflatex(tmp_path):
    maths = _all_label_maths(tmp_path)
    assert len(maths) > 40
    body = "\n".join(rf"\setbox0\hbox{{\scriptsize${m}$}}\typeout{{M{i} W\the\wd0 H\the\ht0 D\the\dp0}}"
                     for i, m in enumerate(maths))
    src = (tikz_probe.PREAMBLE.split(r"\newcount")[0] + "\\begin{document}\n" + body + "\n\\end{document}\n")
    (tmp_path / "w.tex").write_text(src, encoding="utf-8")
    subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "w.tex"], cwd=tmp_path,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120, check=True)
    log = (tmp_path / "w.log").read_text(encoding="latin-1").replace("\n", "")
    seen = 0
    for m in re.finditer(r"M(\d+) W([0-9.]+)pt ?H([0-9.]+)pt ?D([0-9.]+)pt", log):
        math_ = maths[int(m.group(1))]
        w, h, dp = tikz_layout._measure(tikz_layout._TOKEN.findall(math_))
        real_w, real_h, real_d = float(m.group(2)), float(m.group(3)), float(m.group(4))
        assert real_w - 0.05 <= w <= real_w + 1.0, (math_, w, real_w)
        assert real_h - 0.05 <= h <= real_h + 1.6, (math_, h, real_h)
        assert real_d - 0.05 <= dp <= real_d + 1.6, (math_, dp, real_d)
        seen += 1
    assert seen == len(maths)


def _check_render(tikz_src, layout_labels, tmp_path):
    probe = tikz_probe.compile_probe(tikz_src, str(tmp_path))
    assert tikz_probe.overlaps(tikz_src, probe) == []
    real = tikz_probe.label_boxes(tikz_src, probe)
    assert len(real) == len(layout_labels) and None not in real.values()
    slack_w, slack_h = 3.0 * tikz_layout.PT, 4.5 * tikz_layout.PT   # computed boxes hold the real ones, a few pt to spare
    for n, (box, _) in enumerate(layout_labels, start=1):
        x0, x1, y0, y1 = real[n]
        assert box.x0 <= x0 + 1e-3 and x1 <= box.x1 + 1e-3 and box.y0 <= y0 + 1e-3 and y1 <= box.y1 + 1e-3
        assert (x0 - box.x0) + (box.x1 - x1) <= slack_w and (y0 - box.y0) + (box.y1 - y1) <= slack_h


@needs_pdflatex
@pytest.mark.parametrize("shape", ["2-2-1", "3-4-2"])
@pytest.mark.parametrize("key", [False, True], ids=["sheet", "key"])
def test_real_render_has_no_overlap_and_the_boxes_match(tmp_path, shape, key):
    d = _derive(tmp_path, shape)
    ev = _key(d) if key else None
    _check_render(tikz.network_tikz(d, ev), tikz.network_layout(d, ev).labels, tmp_path)


@needs_pdflatex
def test_probe_sees_the_overlaps_of_the_old_drawing(tmp_path):
    """The oracle is not blind: the same 3-4-2 drawing with every label moved to the middle of
    its arrow (where the arrows cross) has overlapping labels."""
    d = _derive(tmp_path, "3-4-2")
    src = tikz.network_tikz(d)
    lay = tikz.network_layout(d)
    for n, (box, _) in enumerate(lay.labels, start=1):
        if box.what.startswith("weight "):
            name = box.what.split(" ", 1)[1]
            (a, b), = [e for _, _, nm, e in lay.edges if nm == name]
            cx, cy = box.centre
            src = src.replace(f"(lab{n}) at ({cx:.3f},{cy:.3f})",
                              f"(lab{n}) at ({(a[0] + b[0]) / 2:.3f},{(a[1] + b[1]) / 2:.3f})")
    assert len(tikz_probe.overlaps(src, tikz_probe.compile_probe(src, str(tmp_path)))) >= 5


@needs_pdflatex
@pytest.mark.parametrize("key", [False, True], ids=["sheet", "key"])
def test_gender_matrix_drawing(spec_path, tmp_path, key):
    """The gender sheet's drawing: the crossing arrows' labels apart, the arrow into J labelled
    y-hat, the key's gradients as red matrices (no red number on an arrow)."""
    from symbackprop.worksheets.index import worksheet

    ws = worksheet(load_spec(spec_path("gender.toml")))
    text = ws.answers if key else ws.exercises
    src = re.search(r"\\begin\{tikzpicture\}.*?\\end\{tikzpicture\}", text, re.S).group(0)
    labs = re.findall(r"\\node\[lab\] \(lab\d+\) at \([^)]*\) \{(.*)\};", src)
    assert labs[0] == r"$\hat{y}$"
    assert sorted(labs[1:]) == sorted(f"$W_{{{l}}}[{j},{i}]$" for l, (J, I) in ((1, (2, 2)), (2, (2, 1)))
                                      for j in range(1, J + 1) for i in range(1, I + 1))
    assert ("dW_{1} = \\dfrac{\\partial J}{\\partial W_{1}}" in src) == key
    probe = tikz_probe.compile_probe(src, str(tmp_path))
    heads = {p for p, (corners, c) in probe["nodes"].items() if p not in probe["named"].values()}
    assert tikz_probe.overlaps(src, probe, heading_ids=heads) == []


@needs_pdflatex
@pytest.mark.parametrize("name", ["computational_graph.toml", "linear_regression.toml"])
def test_graph_drawing_labels_on_their_arrows_named(spec_path, tmp_path, name):
    """Graph mode (the slides' f = (x + y) z): each arrow's value (green, ``q = 3``) and gradient
    (red, ``∂f/∂q = -4``) on the arrow, no bare red number, nothing overlapping in the real render."""
    d = derive(load_spec(spec_path(name)))
    src = tikz.graph_tikz(d, _key(d))
    labs = re.findall(r"\\node\[lab\] \(lab\d+\) at \([^)]*\) \{(.*)\};", src)
    arrows = [line for line in src.splitlines() if line.startswith(r"\draw[->]")]
    assert len(labs) == len(arrows)
    for lab in labs:
        value, grad = lab.split(r"\\")
        assert re.fullmatch(r"\$\\color\{" + re.escape(tikz.VALUE_COLOR) + r"\}\S+ (=|\\approx) -?[0-9.]+\$", value), lab
        assert grad.startswith(r"$\color{" + tikz.GRADIENT_COLOR + r"}\partial "), lab
    if name == "computational_graph.toml":
        assert r"\partial f/\partial q = -4" in src and r"q = 3" in src and r"\partial f/\partial z = 3" in src
    # the graph's nodes are obstacles for the probe like neurons (it knows them by their names n..-..)
    probe_src = re.sub(r"\((v\d+)\)", lambda m: "(n" + m.group(1)[1:] + "-0)", src)
    probe = tikz_probe.compile_probe(probe_src, str(tmp_path))
    heads = {p for p in probe["nodes"] if p not in probe["named"].values()}   # the definitions below
    assert tikz_probe.overlaps(probe_src, probe, heading_ids=heads) == []
