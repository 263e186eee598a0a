"""Wide networks stay on the page (issue 13): ``derive --latex`` of a 3-4-3-3 sigmoid net, a 4-6-3
sigmoid net, a 2-5-3-1 ReLU net and a 3-4-2 tanh/softmax net (and of other parameters, of a
20-input net, and of all 51 parameters of the 4-6-3 net) compiles with no overfull box.

Oracle: pdflatex's own log (its Overfull/Underfull lines), and its own box widths for the estimate
``render.widths`` makes before compiling. Without pdflatex the tests skip (and fail when ``CI=true``).
"""
from __future__ import annotations

import os
import pathlib
import re
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest

from symbackprop.cli.__init__ import main
from symbackprop.render.pdf import box_warnings, compile_tex_log

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
WIDE = {
    "sigmoid_3_4_3_3": ([], DATA / "wide" / "sigmoid_3_4_3_3.toml"),
    "sigmoid_4_6_3": ([], DATA / "sigmoid_4_6_3.toml"),
    "relu_2_5_3_1": ([], DATA / "relu_2_5_3_1.toml"),
    "tanh_softmax_3_4_2": ([], DATA / "tanh_softmax_3_4_2.toml"),
    # parameters the default document does not pick (it shows one weight and one bias per layer)
    "sigmoid_3_4_3_3-wrt": (["--wrt", "w^{2}_{3,4}", "--wrt", "b^{1}_{4}", "--wrt", "w^{1}_{4,3}"],
                            DATA / "wide" / "sigmoid_3_4_3_3.toml"),
    "tanh_softmax_3_4_2-wrt": (["--wrt", "w^{1}_{3,2}", "--wrt", "b^{2}_{2}"], DATA / "tanh_softmax_3_4_2.toml"),
    # 20 inputs: the example's x = (…) must break inside the paragraph
    "sigmoid_20_32_32_1": ([], DATA / "sigmoid_20_32_32_1.toml"),
}
#: every one of the 51 parameters: the summary table is taller than a page
EVERY_PARAMETER = DATA / "sigmoid_4_6_3.toml"


def _need_pdflatex():
    if shutil.which("pdflatex") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pdflatex is required in CI (texlive-latex-base, -recommended, lmodern)")
        pytest.skip("pdflatex is not installed")


def _derive_latex(tmp, name, extra, spec) -> str:
    out = tmp / f"{name}.tex"
    assert main(["derive", str(spec), "--latex", *extra, "-o", str(out)]) == 0
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    _need_pdflatex()
    tmp = tmp_path_factory.mktemp("wide")
    texts = {name: _derive_latex(tmp, name, extra, spec) for name, (extra, spec) in WIDE.items()}
    from symbackprop import derive, load_spec
    from symbackprop.render.latex import derivation_document

    d = derive(load_spec(EVERY_PARAMETER))
    texts["sigmoid_4_6_3-every-parameter"] = derivation_document(d, wrt=list(d.parameters))

    def one(name):
        return name, (texts[name], compile_tex_log(texts[name], name="doc", timeout=300)[1])

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, texts))


@pytest.mark.parametrize("name", [*WIDE, "sigmoid_4_6_3-every-parameter"])
def test_wide_network_derivation_has_no_overfull_box(compiled, name):
    tex, log = compiled[name]
    assert "Output written" in log
    assert [w for w in box_warnings(log) if w[0] == "Overfull"] == [], f"{name}: {box_warnings(log)}"
    assert box_warnings(log) == [], f"{name}: {box_warnings(log)}"


def test_wide_parameter_tables_are_matrices_with_every_given_number(compiled):
    from symbackprop import derive, load_spec

    tex, _ = compiled["sigmoid_4_6_3"]
    assert r"W^{1} = \begin{bmatrix}" in tex and r"W^{2} = \begin{bmatrix}" in tex
    assert "(see the spec)" not in tex
    d = derive(load_spec(DATA / "sigmoid_4_6_3.toml"))
    values = {s.name: v for s, v in d.parameter_values().items()}
    # W^{1} is 6 x 4: its row 2 holds w^{1}_{2,1..4}, in the order the spec gives them
    block = tex[tex.index(r"W^{1} = \begin{bmatrix}"):]
    block = block[:block.index(r"\end{bmatrix}")]
    rows = [r.split("&") for r in block.split(r"\begin{bmatrix}")[1].split(r"\\")]
    assert len(rows) == 6 and all(len(r) == 4 for r in rows)
    for i in range(6):
        for j in range(4):
            shown = float(rows[i][j].strip())
            assert shown == pytest.approx(float(values[f"w^{{1}}_{{{i + 1},{j + 1}}}"]), abs=5e-5)


def test_the_width_estimate_errs_wide_against_pdflatex(compiled):
    """Every display row of the wide documents, measured by pdflatex (\\wd of a \\displaystyle box):
    the estimate is never more than 3 pt short, and within 15 % on average."""
    from symbackprop.render.latex import preamble
    from symbackprop.render.widths import math_width_pt

    rows = []
    for tex, _ in compiled.values():
        for block in re.findall(r"\\begin\{align\*\}\n(.*?)\n\\end\{align\*\}", tex, re.S):
            rows += [r.strip() for r in block.split(" \\\\\n")]
    rows = sorted(set(rows))[:300]
    body = "\n".join(rf"\setbox0\hbox{{$\displaystyle {r.replace('&', '')}$}}\typeout{{W{i} \the\wd0}}"
                     for i, r in enumerate(rows))
    _, log = compile_tex_log(preamble() + "\\begin{document}\n" + body + "\nx\n\\end{document}\n", name="w")
    real = {int(m.group(1)): float(m.group(2)) for m in re.finditer(r"W(\d+) ([0-9.]+)pt", log)}
    assert len(real) == len(rows) > 100
    short = [(rows[i], real[i], math_width_pt(rows[i])) for i in real if math_width_pt(rows[i]) < real[i] - 3]
    assert short == []
    wide = [math_width_pt(rows[i]) / real[i] - 1 for i in real if real[i] > 50]
    assert sum(wide) / len(wide) < 0.15
