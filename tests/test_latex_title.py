"""A spec title pdflatex has no font for (CJK, emoji) among TeX specials and an \\input: the document
still compiles, the user is told in one stderr line which characters show as '?', and the PDF's
title metadata (what pdfinfo reads) keeps the title whole.

Oracle: poppler's pdfinfo, reading the compiled PDF."""
import shutil
import subprocess

import pytest

from symbackprop import derive, load_spec
from symbackprop.render.latex import derivation_document
from symbackprop.render.matrix_latex import matrix_derivation_document
from symbackprop.render.pdf import compile_tex

TITLE = r"反向传播 🚀 50% $x$ & #1 \input{/etc/passwd} ~^_{} (é)"
SPEC = """title = '{title}'
[network]
layers = [1, 1]
activations = ["sigmoid"]
loss = "half_squared_error"
[parameters]
weights = [[[0.5]]]
biases = [[0.1]]
[data]
x = [[1]]
y = [[1]]
"""

needs_tools = pytest.mark.skipif(shutil.which("pdflatex") is None or shutil.which("pdfinfo") is None,
                                 reason="pdflatex and pdfinfo (poppler) are needed")


def _spec(tmp_path):
    p = tmp_path / "hostile.toml"
    p.write_text(SPEC.replace("{title}", TITLE), encoding="utf-8")
    return load_spec(str(p))


def _pdf_title(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", "-enc", "UTF-8", str(path)], capture_output=True, timeout=60,
                          check=True).stdout.decode("utf-8")
    return next(line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("Title:"))


@needs_tools
@pytest.mark.parametrize("render", ["index", "matrix"])
def test_a_hostile_title_compiles_and_stays_whole_in_the_metadata(tmp_path, capsys, render):
    spec = _spec(tmp_path)
    tex = derivation_document(derive(spec)) if render == "index" else matrix_derivation_document(spec)
    err = capsys.readouterr().err
    assert "/etc/passwd}" not in tex.split("\\begin{document}")[1].replace("\\}", "")   # escaped, never read
    pdf = compile_tex(tex)
    assert pdf.startswith(b"%PDF")
    expected = TITLE if render == "index" else f"{TITLE}: backpropagation in matrix form"
    assert _pdf_title(pdf, tmp_path) == expected
    lines = [line for line in err.splitlines() if "title" in line]
    assert len(lines) == 1 and "hostile.toml" in lines[0]
    for ch in "反向传播🚀":
        assert f"{ch} (U+{ord(ch):04X})" in lines[0]
    assert "é" not in lines[0] and "$" not in lines[0]     # those are typeset (\'{e}, \$)


def test_a_typesettable_title_says_nothing(tmp_path, capsys):
    p = tmp_path / "plain.toml"
    p.write_text(SPEC.replace("{title}", "Gradient of σ′ at 50% (é)"), encoding="utf-8")
    tex = derivation_document(derive(load_spec(str(p))))
    assert capsys.readouterr().err == ""
    assert "\\pdfinfo{/Title <FEFF" in tex   # non-ASCII: the hexadecimal string
