"""Every derivations/*.tex is what the code generates from its .toml, byte for byte, and compiles.

Regenerate them with ``python -m symbackprop.render.latex --regenerate`` after changing the
renderer (or a spec). Oracle for the compiled text: the lecture notes' numbers.
"""
import os
import pathlib
import shutil
import subprocess
import unicodedata
from concurrent.futures import ThreadPoolExecutor

import pytest

from symbackprop import load_spec
from symbackprop.render.latex import spec_document

DERIVATIONS = pathlib.Path(__file__).resolve().parent.parent / "derivations"
SPECS = sorted(DERIVATIONS.glob("*.toml"))

def test_every_spec_has_its_tex_and_no_tex_is_orphaned():
    tex = {p.stem for p in DERIVATIONS.glob("*.tex")}
    toml = {p.stem for p in SPECS}
    assert toml - tex == set(), "run: python -m symbackprop.render.latex --regenerate"
    assert tex - toml == set()


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_committed_tex_is_regenerated_byte_for_byte(path):
    committed = path.with_suffix(".tex").read_bytes()
    generated = spec_document(load_spec(path)).encode("utf-8")
    assert generated == committed, (f"{path.with_suffix('.tex').name} is stale: "
                                    "run python -m symbackprop.render.latex --regenerate")


def test_the_cli_writes_the_same_document(tmp_path):
    from symbackprop.cli.__init__ import main

    for stem in ("lecture_2_2_1", "computational_graph", "gender"):
        out = tmp_path / f"{stem}.tex"
        assert main(["derive", str(DERIVATIONS / f"{stem}.toml"), "--latex", "-o", str(out)]) == 0
        assert out.read_bytes() == (DERIVATIONS / f"{stem}.tex").read_bytes()


def _need_pdflatex():
    if shutil.which("pdflatex") is None or shutil.which("pdftotext") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pdflatex and pdftotext are required in CI (texlive-latex-base, -recommended, "
                        "-pictures, lmodern, poppler-utils)")
        pytest.skip("pdflatex/pdftotext are not installed: derivations/*.tex are not compiled here")


def _compile(args):
    tex_path, folder = args
    shutil.copy(tex_path, os.path.join(folder, "doc.tex"))
    proc = subprocess.run(["pdflatex", "-halt-on-error", "-interaction=nonstopmode", "-no-shell-escape", "doc.tex"],
                          cwd=folder, capture_output=True, timeout=180)
    return tex_path, proc.returncode, proc.stdout.decode("latin-1")[-1500:], os.path.join(folder, "doc.pdf")


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    _need_pdflatex()
    jobs = [(str(p.with_suffix(".tex")), str(tmp_path_factory.mktemp(p.stem))) for p in SPECS]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_compile, jobs))
    return {pathlib.Path(t).stem: (rc, log, pdf) for t, rc, log, pdf in results}


def test_every_committed_tex_compiles(compiled):
    failed = {k: log for k, (rc, log, _) in compiled.items() if rc != 0}
    assert not failed, f"failed: {sorted(failed)}\n{next(iter(failed.values()), '')}"


def test_the_lecture_derivation_shows_the_notes_numbers(compiled):
    _, _, pdf = compiled["lecture_2_2_1"]
    text = subprocess.run(["pdftotext", pdf, "-"], capture_output=True, timeout=60).stdout.decode()
    text = "".join(unicodedata.normalize("NFC", text).replace("\u2212", "-").split())
    for needle in ("(1·1)+(1·0)+1=2", "σ(2)≈0.88", "+1≈2.76", "σ(2.76)≈0.94",
                   "1-0.1·(-0.00035)≈1.00003"):
        assert needle in text, needle
