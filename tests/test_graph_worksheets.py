"""Graph-mode worksheets and keys that are right and fit the page (issue 13).

Oracles that share no code with what they test: PyTorch autograd (micrograd's published test,
test_more_ops), the consumers of each node read off the equations' text with a regular expression,
a segment sampled densely against each node's rectangle parsed from the emitted TikZ, pdflatex's
own log and pdftotext's word boxes (nothing right of the margin).
"""
import re
import shutil
import subprocess
import sys

import pytest

from symbackprop import derive
from symbackprop.render.latex import derivation_document
from symbackprop.render.tikz import drawing
from symbackprop.spec.load import spec_from_dict
from symbackprop.worksheets.index import worksheet, write_worksheets

try:
    import torch
except ImportError:
    torch = None

EQUATIONS = ["c1 = a + b", "d1 = a*b + b^3", "c2 = c1 + c1 + 1", "c3 = c2 + 1 + c2 + (-a)",
             "d2 = d1 + d1*2 + relu(b + a)", "d3 = d2 + 3*d2 + relu(b - a)",
             "e = c3 - d3", "f = e^2", "g1 = f/2", "g = g1 + 10/f"]
MICROGRAD = {"title": "micrograd", "graph": {"equations": EQUATIONS}, "data": {"a": -4, "b": 2}}
SLIDES = {"title": "slides", "graph": {"equations": ["q = x + y", "f = q * z"]}, "data": {"x": -2, "y": 5, "z": -4}}
NETWORK_342 = {"title": "3-4-2", "notation": "index",
               "network": {"layers": [3, 4, 2], "activations": ["sigmoid", "sigmoid"],
                           "loss": "half_squared_error", "reduction": "mean"},
               "parameters": {"weights": 1.0, "biases": 1.0},
               "data": {"x": [[1, 0, 1]], "y": [[1, 0]]}}

TEX = {"c1": "c_{1}", "c2": "c_{2}", "c3": "c_{3}", "d1": "d_{1}", "d2": "d_{2}", "d3": "d_{3}", "g1": "g_{1}"}
needs_tex = pytest.mark.skipif(shutil.which("pdflatex") is None or shutil.which("pdftotext") is None,
                               reason="pdflatex/pdftotext are not installed")


def consumers() -> dict:
    """{v: the nodes whose equation uses v}, read off the equations' text."""
    out = {}
    for eq in EQUATIONS:
        lhs, rhs = (s.strip() for s in eq.split("="))
        for v in dict.fromkeys(re.findall(r"[a-z]\w*", rhs)):
            if v != "relu":
                out.setdefault(v, []).append(lhs)
    return out


def torch_node_gradients() -> dict:
    """dg/dv for every node of micrograd's test_more_ops, by PyTorch."""
    t = {n: torch.tensor(v, dtype=torch.float64, requires_grad=True) for n, v in (("a", -4.0), ("b", 2.0))}
    a, b = t["a"], t["b"]
    v = {"a": a, "b": b}
    v["c1"] = a + b
    v["d1"] = a * b + b ** 3
    v["c2"] = v["c1"] + v["c1"] + 1
    v["c3"] = v["c2"] + 1 + v["c2"] + (-a)
    v["d2"] = v["d1"] + v["d1"] * 2 + (b + a).relu()
    v["d3"] = v["d2"] + 3 * v["d2"] + (b - a).relu()
    v["e"] = v["c3"] - v["d3"]
    v["f"] = v["e"] ** 2
    v["g1"] = v["f"] / 2.0
    v["g"] = v["g1"] + 10.0 / v["f"]
    for x in v.values():
        x.retain_grad()
    v["g"].backward()
    return {n: x.grad.item() for n, x in v.items()}


def _frac(num, den):
    return rf"\frac{{\partial {TEX.get(num, num)}}}{{\partial {TEX.get(den, den)}}}"


def _row(tex: str, node: str) -> str:
    """The backward pass's row for node (with its continuation rows)."""
    lhs = _frac("g", node) + " &= "
    start = tex.index(lhs)
    end = tex.find(r"\end{align*}", start)
    rows = tex[start:end].split(" \\\\\n")
    out = [rows[0]]
    for r in rows[1:]:
        if not r.startswith("&"):
            break
        out.append(r)
    return " ".join(out)


@pytest.fixture(scope="module")
def micrograd():
    return derive(spec_from_dict(MICROGRAD))


@pytest.fixture(scope="module")
def key(micrograd):
    return worksheet(micrograd).answers


@pytest.mark.parametrize("where", ["key", "derive"])
def test_every_consumer_is_in_the_chain_rule(micrograd, key, where):
    tex = key if where == "key" else derivation_document(micrograd)
    section = tex[tex.index("node by node"):]
    for v, cs in consumers().items():
        if len(cs) < 2:
            continue
        row = _row(section, v)
        first = row.split("&= ")[1].split(" = ")[0]   # the fractions: one term per consumer
        for c in cs:
            term = (r"\left." + _frac("g", v) + r"\right|_{\text{direct}}" if c == "g"
                    else _frac("g", c) + r"\," + _frac(c, v))
            assert term in first, (v, c, row)
        assert first.count(" + ") == len(cs) - 1, row


def test_the_direct_path_f_to_g_and_minus_signs(key):
    row = _row(key[key.index("node by node"):], "f")
    assert (r"= \frac{\partial g}{\partial g_{1}}\,\frac{\partial g_{1}}{\partial f} + "
            r"\left.\frac{\partial g}{\partial f}\right|_{\text{direct}} = "
            r"\frac{\partial g}{\partial g_{1}} \cdot \frac{1}{2} - \frac{10}{f^{2}}") in row
    assert r"1 \cdot \frac{1}{2} - \frac{10}{49^{2}}" in row
    assert "+ -" not in key


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
def test_the_keys_numbers_are_pytorchs(key):
    grads = torch_node_gradients()
    section = key[key.index("node by node"):]
    for v, value in grads.items():
        if v == "g":
            continue
        shown = _row(section, v).rstrip().rsplit(" ", 1)[-1]
        assert float(shown) == pytest.approx(value, abs=0.005 + 1e-9), (v, shown, value)


def test_derive_latex_writes_no_plus_minus(micrograd):
    assert "+ -" not in derivation_document(micrograd)


# ---------------------------------------------------------------------------------------------
# the drawings: no arrow through a node

SIZES = {"op": (1.0, 1.0), "neuron": (1.1, 1.1), "lossnode": (0.8, 0.8), "leaf": (0.5, 0.5), "": (0.5, 0.5)}
NODE = re.compile(r"\\node(?:\[(\w*)[^\]]*\])? \((\w[\w-]*)\) at \((-?[\d.]+),(-?[\d.]+)\)")
DRAW = re.compile(r"\\draw\[->[^\]]*\] (.*);")
POINT = re.compile(r"\((-?[\d.]+),(-?[\d.]+)\)")


def parse(tikz: str):
    nodes = [(m.group(2), m.group(1) or "", float(m.group(3)), float(m.group(4))) for m in NODE.finditer(tikz)
             if not m.group(2).startswith("lab")]
    draws = [[(float(x), float(y)) for x, y in POINT.findall(m.group(1))] for m in DRAW.finditer(tikz)]
    return nodes, draws


def _inside(p, node):
    _, style, x, y = node
    w, h = SIZES[style]
    return abs(p[0] - x) < w / 2 and abs(p[1] - y) < h / 2


def crossings(tikz: str) -> list:
    nodes, draws = parse(tikz)
    assert nodes and draws
    bad = []
    for pts in draws:
        near = lambda p: min(nodes, key=lambda n: (n[2] - p[0]) ** 2 + (n[3] - p[1]) ** 2)  # noqa: E731
        ends = {near(pts[0])[0], near(pts[-1])[0]}
        for a, b in zip(pts, pts[1:]):
            for k in range(401):
                p = (a[0] + (b[0] - a[0]) * k / 400, a[1] + (b[1] - a[1]) * k / 400)
                for n in nodes:
                    if n[0] not in ends and _inside(p, n):
                        bad.append((n[0], a, b))
    return sorted(set(bad))


@pytest.mark.parametrize("spec", [MICROGRAD, SLIDES, NETWORK_342], ids=["micrograd", "slides", "3-4-2"])
@pytest.mark.parametrize("with_key", [False, True], ids=["sheet", "key"])
def test_no_arrow_passes_through_a_node(spec, with_key):
    d = derive(spec_from_dict(spec))
    if with_key:
        tex = worksheet(d).answers
        tikz = tex[tex.index(r"\begin{tikzpicture}"):tex.index(r"\end{tikzpicture}")]
    else:
        tikz = drawing(d)
    assert crossings(tikz) == []


def test_the_checker_sees_an_arrow_through_a_node():
    tikz = (r"\node[op] (v0) at (0,0) {$a$}; \node[op] (v1) at (2,0) {$b$}; \node[op] (v2) at (4,0) {$c$};"
            "\n" r"\draw[->] (0.5,0.000) -- (3.4,0.000);")
    assert crossings(tikz) == [("v1", (0.5, 0.0), (3.4, 0.0))]


def test_a_long_arrow_bends_around_the_node_in_its_way(micrograd):
    _, draws = parse(drawing(micrograd))
    assert any(len(pts) > 2 for pts in draws)   # a -> c3 passes c2's column: it bends


# ---------------------------------------------------------------------------------------------
# on the page: pdflatex's log and the words' boxes

A4_WIDTH_PT, MARGIN_PT = 595.28, 2.2 / 2.54 * 72


def _overfull(log: str) -> list:
    return [float(m) for m in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]


def _words_past_the_margins(pdf) -> list:
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    bad = []
    for m in re.finditer(r'xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>', out):
        if float(m.group(2)) > A4_WIDTH_PT - MARGIN_PT + 1 or float(m.group(1)) < MARGIN_PT - 1:
            bad.append(m.group(3))
    return bad


@needs_tex
@pytest.mark.parametrize("spec", [MICROGRAD, NETWORK_342], ids=["micrograd", "3-4-2"])
def test_sheet_and_key_fit_the_page(tmp_path, spec):
    w = worksheet(derive(spec_from_dict(spec)))
    for name, text in (("sheet", w.exercises), ("key", w.answers)):
        (tmp_path / f"{name}.tex").write_text(text, encoding="utf-8")
        r = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout[-2000:]
        log = (tmp_path / f"{name}.log").read_text(encoding="latin-1")
        assert [pt for pt in _overfull(log) if pt > 1.0] == [], name
        assert _words_past_the_margins(tmp_path / f"{name}.pdf") == [], name


@needs_tex
def test_same_spec_same_pdf_bytes(tmp_path):
    d = derive(spec_from_dict(MICROGRAD))
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    second.mkdir()
    write_worksheets(d, str(first / "s.tex"), pdf=True)
    write_worksheets(d, str(second / "s.tex"), pdf=True)
    for name in ("s.pdf", "s-answers.pdf"):
        assert (first / name).read_bytes() == (second / name).read_bytes()


HOSTILE = "Ünïcode 日本 \\input{/etc/passwd} $x$ } { % # & ~ ^ _ \\end{document}"


@needs_tex
def test_a_hostile_unicode_title_compiles_escaped_and_is_the_pdfs_title(tmp_path, capsys):
    spec = dict(SLIDES, title=HOSTILE)
    write_worksheets(derive(spec_from_dict(spec)), str(tmp_path / "h.tex"), pdf=True)
    assert "no font here for 日 (U+65E5) 本 (U+672C)" in capsys.readouterr().err
    key = (tmp_path / "h-answers.tex").read_text(encoding="utf-8")
    assert "\\input{/etc" not in key and "\\textbackslash{}input\\{/etc/passwd\\}" in key
    for name, what in (("h.pdf", "Worksheet"), ("h-answers.pdf", "Answer key")):
        info = subprocess.run(["pdfinfo", str(tmp_path / name)], capture_output=True, text=True, check=True).stdout
        assert re.search(r"^Title: +(.*)$", info, re.M).group(1) == f"{what}: {HOSTILE}"


def test_paths_name_the_outputs_own_local_derivative():
    """On the path e → f → g the factor ∂g/∂f is g's own local derivative (−10/f²), not the whole
    ∂g/∂f (½ − 10/f²): it is marked |direct wherever it stands for the local one."""
    key = worksheet(derive(spec_from_dict(dict(MICROGRAD, worksheet={"wrt": ["f", "e"]})))).answers
    direct = r"\left.\frac{\partial g}{\partial f}\right|_{\text{direct}}"
    section_e = key[key.index(r"The gradient $\partial g/\partial e$"):]
    assert f"&+ {direct} \\cdot \\frac{{\\partial f}}{{\\partial e}}" in section_e
    assert f"{direct} = \\frac{{\\partial}}{{\\partial f}}\\left[g_{{1}} + \\frac{{10}}{{f}}\\right] = -\\frac{{10}}{{f^{{2}}}}" in key
    section_f = key[key.index(r"The gradient $\partial g/\partial f$"):key.index(r"The gradient $\partial g/\partial e$")]
    assert "&= 1 \\cdot \\frac{1}{2} \\\\\n&- \\frac{10}{f^{2}}" in section_f


@pytest.mark.parametrize("seed", range(30))
def test_no_arrow_passes_through_a_node_in_random_graphs(seed):
    """Random DAGs of sums and squares over two or three inputs, the output using the last node and an
    earlier one (long arrows across several columns, several consumers per node)."""
    import random

    rng = random.Random(seed)
    names = ["x", "y", "z"][:rng.randint(2, 3)]
    eqs = []
    for k in range(rng.randint(3, 9)):
        ins = rng.sample(names, min(len(names), rng.randint(1, 3)))
        eqs.append(f"n{k} = " + " + ".join(f"{i}*{i}" if rng.random() < 0.3 else i for i in ins))
        names.append(f"n{k}")
    eqs.append(f"out = {names[-1]} + {rng.choice(names[:-1])}")
    data = {n: 1 for n in ("x", "y", "z") if any(re.search(rf"\b{n}\b", e.split("=")[1]) for e in eqs)}
    assert crossings(drawing(derive(spec_from_dict({"graph": {"equations": eqs}, "data": data})))) == []


def test_an_exact_zero_gradient_is_written_with_equals(tmp_path):
    """A dead ReLU unit (z = −1 < 0) has ∂L/∂z = ∂L/∂a · 1[z > 0] = 0 exactly: the key writes '= 0', not '≈ 0'."""
    spec = tmp_path / "dead.toml"
    spec.write_text('title = "dead unit"\n[network]\nlayers = [1, 2, 1]\nactivations = ["relu", "identity"]\n'
                    'loss = "half_squared_error"\n[parameters]\nweights = [[[-1], [0.7]], [[0.3, 0.6]]]\n'
                    "biases = [[0, 0.1], [0.2]]\n[data]\nx = [[1]]\ny = [[1]]\n")
    out = tmp_path / "sheet.tex"
    r = subprocess.run([sys.executable, "-m", "symbackprop", "worksheet", str(spec), "-o", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    key = (tmp_path / "sheet-answers.tex").read_text()
    dead = [line for line in key.splitlines() if r"\mathbb{1}[(-1) > 0]" in line]
    assert dead, key[-2000:]
    assert all(r"\approx 0 " not in line + " " and line.rstrip(" \\").endswith("= 0") for line in dead), dead
