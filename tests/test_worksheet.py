r"""Worksheets and answer keys: content, variants, files, and the compiled PDFs.

Oracles: the lecture notes' numbers (2, 0.88, 2.76, 0.94), the slides' graph (-4, -4, 3), the slides'
boxed BCE result (dL/dz_2 = yhat - y), the independent NumPy trainer (hidden pre-activations of
every variant), exact rationals, and the rendered page's pixels (the drawing is there).
"""
import os
import pathlib
import shutil
import subprocess
import sys
import unicodedata
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib
import sympy

from symbackprop import derive, load_spec

from symbackprop.check import trainer
from symbackprop.check.compare import to_matrices
from symbackprop.cli.__init__ import main
from symbackprop.errors import SpecError, SymbackpropError
from symbackprop.render.latex import Evaluation
from symbackprop.worksheets.index import (default_wrt, output_paths, variant_numbers, worksheet,
                                   write_worksheets)

DERIVATIONS = pathlib.Path(__file__).resolve().parent.parent / "derivations"


def spec_file(name):
    return DERIVATIONS / name


def _has_numbers(path) -> bool:
    """Specs a worksheet can be made for: networks with [data], any graph (cheap: no derivation)."""
    with open(path, "rb") as fh:
        table = tomllib.load(fh)
    return "graph" in table or bool(table.get("data"))


WORKSHEET_SPECS = [p for p in sorted(DERIVATIONS.glob("*.toml")) if _has_numbers(p)]


@pytest.fixture(scope="module")
def lecture():
    return derive(load_spec(spec_file("lecture_2_2_1.toml")))


@pytest.fixture(scope="module")
def graph():
    return derive(load_spec(spec_file("computational_graph.toml")))


# -- content -------------------------------------------------------------------------------------


def test_lecture_worksheet_asks_the_self_assessment_and_the_key_answers_it(lecture):
    ws = worksheet(lecture)
    assert default_wrt(lecture) == ["w^{1}_{2,1}", "w^{2}_{1,1}"]  # the notes' problem 5, and the last layer
    ex, key = ws.exercises, ws.answers
    assert "\\begin{tikzpicture}" in ex and "\\begin{tikzpicture}" in key
    assert r"$\partial L/\partial w^{1}_{2,1}$" in ex and "Forward pass." in ex and "One update." in ex
    # the exercises carry no answers ...
    assert r"\approx 0.94" not in ex and r"\approx 2.76" not in ex and "\\leftarrow w^{1}_{2,1}" not in ex
    # ... the key carries them all, as the notes compute them
    assert r"(1 \cdot 1) + (1 \cdot 0) + 1 = 2" in key
    assert r"\approx (1 \cdot 0.88) + (1 \cdot 0.88) + 1 \approx 2.76" in key
    assert r"\approx \sigma(2.76) \approx 0.94" in key
    assert r"Path of influence: $w^{1}_{2,1} \to z^{2}_{2} \to a^{2}_{2} \to z^{3}_{1} \to \hat{y} \to L$" in key
    assert "\\leftarrow w^{1}_{2,1}" in key


def test_math_to_code_shows_the_trainers_functions(lecture):
    ws = worksheet(lecture)
    assert "From math to code" not in ws.exercises     # off on the student sheet by default
    assert "From math to code" in ws.answers
    ex = worksheet(lecture, code=True).exercises
    assert "From math to code" in ex
    for name in ("sigmoid", "sigmoid derivative", "half squared error", "reduce mean", "gradient descent update"):
        assert f"\\item {name}: " in ex
    # the sheet's symbols, not Python names: alpha and dJ/dw, J where the sheet uses J
    assert (r"\mathrm{gradient\ descent\ update}(w, \frac{\partial J}{\partial w}, \alpha) = w - \alpha"
            in ex)
    assert r"$w \leftarrow w - \alpha\, \partial J/\partial w$" in ex
    assert "np." not in ex  # latexify's prefixes={"np"} drops the module
    body = ex[ex.index("From math to code"):]
    for internal in ("symbackprop", "latexify", "trainer", "y\\_hat", "learning\\_rate", "textasciicircum",
                     "\\texttt"):
        assert internal not in body, internal
    assert body.count("softplus") == 1 + body.count(r"\mathrm{softplus}(u) = \log(1 + e^{u})")  # defined where used
    assert "From math to code" not in worksheet(lecture, code=False).answers


def test_answer_space_and_rounding_are_stated(lecture):
    ruled = worksheet(lecture).exercises
    assert ruled.count(r"\noindent\rule{\linewidth}{0.3pt}") >= 10
    assert r"\rule{\linewidth}" not in worksheet(lecture).answers  # the key answers instead
    box = worksheet(lecture, space="box").exercises
    assert box.count(r"\fbox{\parbox[t]") == box.count(r"\item \textbf") == 3 and r"\rule{\linewidth}" not in box
    none = worksheet(lecture, space="none").exercises
    assert r"\rule{\linewidth}" not in none and r"\fbox" not in none
    assert "Round every number to 2 decimals; one that would round to 0 keeps 2 significant digits" in ruled
    with pytest.raises(SpecError, match=r"--space 'wide': allowed ruled, box, none"):
        worksheet(lecture, space="wide")


def test_graph_worksheet_asks_for_local_and_upstream_gradients(graph):
    ws = worksheet(graph)
    assert "Local gradients." in ws.exercises and "Backward pass." in ws.exercises
    assert r"(-4) \cdot 1 = -4" in ws.answers and r"\frac{\partial f}{\partial z} &= q = 3" in ws.answers


def test_worksheet_options_from_the_spec(tmp_path):
    text = spec_file("lecture_2_2_1.toml").read_text() + '\n[worksheet]\nwrt = ["b^{1}_{2}"]\n'
    path = tmp_path / "s.toml"
    path.write_text(text)
    d = derive(load_spec(path))
    key = worksheet(d).answers
    assert r"\subsubsection*{The gradient $\partial L/\partial b^{1}_{2}$}" in key
    assert r"The gradient $\partial L/\partial w^{1}_{2,1}$" not in key
    path.write_text(spec_file("lecture_2_2_1.toml").read_text() + "\n[worksheet]\nwidth = 3\n")
    with pytest.raises(SpecError, match=r"\[worksheet\]\.width: unknown key \(allowed: wrt, example\)"):
        worksheet(derive(load_spec(path)))


def test_a_network_without_data_gets_a_clear_error(tmp_path):
    path = tmp_path / "n.toml"
    path.write_text('[network]\nlayers = [2, 1]\nactivations = "sigmoid"\nloss = "bce"\n')
    with pytest.raises(SpecError, match="needs numbers"):
        worksheet(derive(load_spec(path)))


# -- variants -------------------------------------------------------------------------------------------


def test_variants_are_distinct_reproducible_and_hand_computable(lecture):
    vs = variant_numbers(lecture, 5, seed=11)
    again = variant_numbers(lecture, 5, seed=11)
    assert vs == again
    keys = {(tuple(sorted((s.name, v) for s, v in n.parameters.items())),
             tuple(sorted((s.name, v) for s, v in n.examples[0].items()))) for n in vs}
    assert len(keys) == 5
    assert variant_numbers(lecture, 5, seed=12) != vs
    net = trainer.Network([2, 2, 1], "sigmoid", "half_squared_error")
    for n in vs:
        assert all(v.is_Integer for v in n.parameters.values()) and all(v.is_Integer for v in n.examples[0].values())
        params = {s.name: float(v) for s, v in n.parameters.items()}
        x = np.array([[float(n.examples[0][sympy.Symbol("x_{1}", real=True)]),
                       float(n.examples[0][sympy.Symbol("x_{2}", real=True)])]])
        (z_hidden, _), _ = trainer.forward(net, to_matrices(lecture, params), x)
        # the independent trainer agrees: whole-number hidden z inside the printed sigma table
        assert np.all(np.abs(z_hidden) <= 4) and np.all(z_hidden == np.round(z_hidden))
        ev = Evaluation(lecture, n)
        assert all(ev.total(w) != 0 for w in default_wrt(lecture))  # no trivial zero answers


def test_graph_variants_stay_in_the_domain():
    d = derive(load_spec(spec_file("bce_table.toml")))
    for n in variant_numbers(d, 3, seed=0):
        for ex in n.examples:
            by_name = {s.name: v for s, v in ex.items()}
            assert by_name["y"] in (0, 1) and 0 < by_name["yhat"] < 1
            assert (by_name["yhat"] * 100).is_Integer  # shown exactly at 2 decimals


def test_variant_limits(lecture):
    with pytest.raises(SpecError, match="1 to 200"):
        variant_numbers(lecture, 0)
    with pytest.raises(SpecError, match="seed"):
        variant_numbers(lecture, 2, seed=-1)


# -- files -------------------------------------------------------------------------------------------------


def test_output_names():
    assert output_paths("ws.tex") == [("ws.tex", "ws-answers.tex")]
    assert output_paths("a/ws.tex", 2) == [("a/ws-1.tex", "a/ws-1-answers.tex"), ("a/ws-2.tex", "a/ws-2-answers.tex")]
    with pytest.raises(SpecError, match=r"end in \.tex"):
        output_paths("ws.pdf")


def test_same_spec_and_seed_give_the_same_bytes(tmp_path, capsys):
    spec = str(spec_file("computational_graph.toml"))
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        assert main(["worksheet", spec, "-o", str(tmp_path / folder / "ws.tex"), "--variants", "2", "--seed", "5"]) == 0
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["ws-1-answers.tex", "ws-1.tex", "ws-2-answers.tex", "ws-2.tex"]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "ws-1.tex").read_bytes() != (tmp_path / "a" / "ws-2.tex").read_bytes()
    assert "wrote" in capsys.readouterr().out


def test_never_overwrites_without_force_and_never_half_writes(tmp_path, monkeypatch, capsys, graph):
    out = tmp_path / "ws.tex"
    (tmp_path / "ws-answers.tex").write_text("mine")
    spec = str(spec_file("computational_graph.toml"))
    assert main(["worksheet", spec, "-o", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    assert not out.exists() and (tmp_path / "ws-answers.tex").read_text() == "mine"  # nothing half done
    assert main(["worksheet", spec, "-o", str(out), "--force"]) == 0
    assert (tmp_path / "ws-answers.tex").read_text().startswith("% Answer key generated by symbackprop")
    # a failing PDF compile writes nothing at all (compiling happens before any file is written)
    import symbackprop.render.pdf as pdf

    def broken(*a, **k):
        raise SymbackpropError("pdflatex failed on ws.tex")

    monkeypatch.setattr(pdf, "compile_tex", broken)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    with pytest.raises(SymbackpropError, match="pdflatex failed"):
        write_worksheets(graph, str(fresh / "ws.tex"), pdf=True)
    assert list(fresh.iterdir()) == []


def test_fragment_mode(graph):
    ws = worksheet(graph, fragment=True)
    for text in (ws.exercises, ws.answers):
        assert "\\documentclass" not in text and "\\begin{document}" not in text
        assert "\\begin{tikzpicture}" in text


# -- compiled PDFs ---------------------------------------------------------------------------------------


def _need_pdflatex():
    if shutil.which("pdflatex") is None or shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pdflatex, pdftotext and pdftoppm are required in CI "
                        "(texlive-latex-base, -recommended, -pictures, lmodern, poppler-utils)")
        pytest.skip("pdflatex/poppler-utils are not installed: the worksheets are not compiled here")


def _compile(job):
    name, tex, folder = job
    with open(os.path.join(folder, name + ".tex"), "w") as fh:
        fh.write(tex)
    proc = subprocess.run(["pdflatex", "-halt-on-error", "-interaction=nonstopmode", "-no-shell-escape",
                           name + ".tex"], cwd=folder, capture_output=True, timeout=120)
    log = proc.stdout.decode("latin-1")
    return name, proc.returncode, log[-1500:]


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory):
    """Every spec's worksheet and key, and three variants of the lecture network and of the slides'
    graph, compiled with pdflatex -halt-on-error (two at a time, each in its own folder)."""
    _need_pdflatex()
    jobs = []
    for path in WORKSHEET_SPECS:
        d = derive(load_spec(path))
        sheets = [(path.stem, worksheet(d))]
        if path.stem in ("lecture_2_2_1", "computational_graph"):
            sheets += [(f"{path.stem}-{k}", worksheet(d, n, k))
                       for k, n in enumerate(variant_numbers(d, 3, seed=2024), start=1)]
        for stem, ws in sheets:
            for suffix, tex in (("", ws.exercises), ("-answers", ws.answers)):
                folder = str(tmp_path_factory.mktemp(stem + suffix))
                jobs.append((stem + suffix, tex, folder))
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_compile, jobs))
    failed = [(name, log) for name, rc, log in results if rc != 0]
    assert not failed, f"{len(failed)} documents failed to compile; first: {failed[0][0]}\n{failed[0][1]}"
    return {name: os.path.join(folder, name + ".pdf") for name, _, folder in jobs}


def _text(pdf):
    """The PDF's text, normalized (NFC, minus sign as '-') and without any whitespace, since
    pdftotext's spacing inside formulas varies."""
    out = subprocess.run(["pdftotext", pdf, "-"], capture_output=True, timeout=60).stdout.decode()
    return "".join(unicodedata.normalize("NFC", out).replace("\u2212", "-").split())


def _has(text, needle):
    return "".join(needle.split()) in text


def test_every_worksheet_key_and_variant_compiles(pdfs):
    assert len(pdfs) == 2 * len(WORKSHEET_SPECS) + 12
    assert all(os.path.getsize(p) > 1000 for p in pdfs.values())


def test_lecture_key_shows_the_notes_numbers(pdfs):
    text = _text(pdfs["lecture_2_2_1-answers"])
    assert _has(text, "(1 · 1) + (1 · 0) + 1 = 2")
    assert _has(text, "σ(2) ≈ 0.88")
    assert _has(text, "(1 · 0.88) + (1 · 0.88) + 1 ≈ 2.76")
    assert _has(text, "σ(2.76) ≈ 0.94")
    exercises = _text(pdfs["lecture_2_2_1"])
    assert not _has(exercises, "≈ 0.94") and not _has(exercises, "≈ 2.76")


def test_graph_key_shows_the_slides_gradients(pdfs):
    text = _text(pdfs["computational_graph-answers"])
    assert text.count("".join("(-4) · 1 = -4".split())) >= 2   # df/dx and df/dy, upstream times local
    assert _has(text, "= q = 3")                               # df/dz
    assert _has(text, "f = qz = 3 · (-4) = -12")


def test_gender_key_shows_the_boxed_bce_gradient(pdfs):
    text = _text(pdfs["gender-answers"])
    assert _has(text, "∂L/∂z2 = ŷ - y")
    assert _has(text, "ŷ - y")


def test_page_one_shows_the_drawing(pdfs, tmp_path):
    """Render page 1 of the worksheet and of the same page with the picture made invisible
    (\\phantom keeps the layout): the pixels that differ are the drawing, and there are many."""
    import matplotlib.image as mpimg

    def dark(pdf, stem):
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", pdf,
                        str(tmp_path / stem)], check=True, timeout=60)
        img = mpimg.imread(str(tmp_path / f"{stem}.png"))
        return img[..., :3].mean(axis=2) < 0.75

    shown = dark(pdfs["lecture_2_2_1"], "shown")
    d = derive(load_spec(spec_file("lecture_2_2_1.toml")))
    tex = worksheet(d).exercises
    start, end = tex.index("\\begin{tikzpicture}"), tex.index("\\end{tikzpicture}") + len("\\end{tikzpicture}")
    folder = tmp_path / "hidden"
    folder.mkdir()
    _, rc, log = _compile(("hidden", tex[:start] + "\\phantom{" + tex[start:end] + "}" + tex[end:], str(folder)))
    assert rc == 0, log
    hidden = dark(str(folder / "hidden.pdf"), "hidden")
    assert shown.shape == hidden.shape
    assert hidden.sum() > 1000                     # the rest of the page is there in both
    drawing = shown & ~hidden
    assert drawing.sum() > 800, drawing.sum()      # circles, arrows and labels
    rows, cols = np.nonzero(drawing)
    width, height = drawing.shape[1], drawing.shape[0]
    assert cols.max() - cols.min() > 0.4 * width   # it spans a network's width ...
    assert rows.max() - rows.min() > 0.08 * height  # ... and several rows of nodes


# -- issue 14: instructor choices and typesetting slips ---------------------------------------------------

DATA = pathlib.Path(__file__).resolve().parent / "data"


def test_softmax_variants_have_one_hot_targets_and_the_simplified_exercise():
    d = derive(load_spec(DATA / "tanh_softmax_3_4_2.toml"))
    ys = [n.symbol for n in d.graph.targets]
    for k, v in enumerate(variant_numbers(d, 5, seed=3), start=1):
        assert sorted(v.examples[0][y] for y in ys) == [0, 1]
        ws = worksheet(d, v, k)
        assert f"Worksheet: 3-4-2 network (tanh, softmax, cross-entropy), variant {k}}}" in ws.exercises
        # one exercise for both outputs (the same derivation at each), asking for both
        claims = " and ".join(rf"$\partial L/\partial z^{{3}}_{{{i}}} = \hat{{y}}_{{{i}}} - y_{{{i}}}$" for i in (1, 2))
        assert f"Show step by step that {claims}" in ws.exercises
        assert ws.exercises.count("A simplification.") == 1
        assert r"y_{1} + y_{2} = 1" in ws.exercises
    # the oracle: with y_1 + y_2 = 1, dL/dz^3_1 of -sum y log softmax(z) is softmax(z)_1 - y_1
    z1, z2, y1 = sympy.symbols("z1 z2 y1")
    s1 = sympy.exp(z1) / (sympy.exp(z1) + sympy.exp(z2))
    L = -(y1 * sympy.log(s1) + (1 - y1) * sympy.log(1 - s1))
    assert sympy.simplify(sympy.diff(L, z1) - (s1 - y1)) == 0


def test_no_typesetting_slips_of_the_issue(lecture):
    key = worksheet(lecture).answers
    assert r"\frac{1}{1}" not in key and "(1/1)" not in key
    assert r"\setlength{\lineskiplimit}{2pt}\setlength{\lineskip}{3pt}" in key   # inline fractions keep apart
    assert r"\left(z" not in key and r"\sigma(z^{2}_{1})" in key
    from symbackprop.worksheets.matrix import matrix_worksheet

    gkey = matrix_worksheet(load_spec(DERIVATIONS / "gender.toml")).answers
    assert "$1$ neuron:" in gkey and "1$ neurons" not in gkey and "$2$ inputs to $2$ neurons" in gkey
    assert "= g(z_" not in gkey and r"a_{1} = \sigma(z_{1}) \Rightarrow" in gkey
    assert r"\sigma\left(z" not in gkey


def test_the_cli_takes_the_instructors_choices(tmp_path, capsys):
    spec = str(DERIVATIONS / "lecture_2_2_1.toml")
    assert main(["worksheet", spec, "-o", str(tmp_path / "a.tex"), "--code", "--space", "box"]) == 0
    ex = (tmp_path / "a.tex").read_text()
    assert "From math to code" in ex and r"\fbox{\parbox[t]" in ex
    assert main(["worksheet", spec, "-o", str(tmp_path / "b.tex"), "--no-code", "--space", "none"]) == 0
    assert "From math to code" not in (tmp_path / "b-answers.tex").read_text()
    assert r"\rule{\linewidth}" not in (tmp_path / "b.tex").read_text()
    capsys.readouterr()
    assert main(["worksheet", spec, "-o", str(tmp_path / "c.tex"), "--jobs", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--jobs 0: allowed a whole number from 1 up" in err and "\n" not in err
