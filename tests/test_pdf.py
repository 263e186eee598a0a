"""PDFs: the same source gives the same bytes, files honour the umask, compile_many is parallel,
identical to serial, all-or-nothing and bounded in time (issue 14)."""
import os
import shutil
import stat
import time

import pytest

from symbackprop.errors import SymbackpropError
from symbackprop.render import pdf

pytestmark = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")

DOC = r"""\documentclass[11pt]{article}
\usepackage{tikz}
\begin{document}
Sheet %s: $\hat{y} = \sigma(z)$, $\sigma'(z) = \hat{y}(1 - \hat{y})$.
\tikz \draw[->] (0,0) -- (1,0) node[right] {$J$};
\end{document}
"""


def _umask(mask):
    old = os.umask(mask)
    return old


def test_same_source_same_bytes_at_another_time_and_place(monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    first = pdf.compile_tex(DOC % "A")
    time.sleep(1.2)                     # another second on the clock (and another temporary folder)
    second = pdf.compile_tex(DOC % "A")
    assert first == second
    assert first.startswith(b"%PDF")
    assert b"/CreationDate" not in first and b"/ModDate" not in first and b"/ID" not in first
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")   # the caller's epoch: still no date in the file
    assert pdf.compile_tex(DOC % "A") == first
    assert pdf.compile_tex(DOC % "B") != first


@pytest.mark.parametrize("mask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_pdf_files_honour_the_umask(tmp_path, mask, mode):
    old = _umask(mask)
    try:
        out = pdf.write_pdf(DOC % "A", str(tmp_path / "a.pdf"))
        (tmp_path / "b.tex").write_text(DOC % "B", encoding="utf-8")
        many = pdf.compile_many([str(tmp_path / "b.tex")], jobs=1)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(out).st_mode) == mode
    assert stat.S_IMODE(os.stat(many[0]).st_mode) == mode


def _sources(tmp_path, n, bad=None):
    paths = []
    for k in range(n):
        p = tmp_path / f"sheet-{k + 1}.tex"
        text = DOC % (k + 1)
        if k == bad:
            text = text.replace(r"\end{document}", "\\undefinedmacro\n\\end{document}")
        p.write_text(text, encoding="utf-8")
        paths.append(str(p))
    return paths


def test_compile_many_parallel_bytes_equal_serial(tmp_path):
    serial_dir, parallel_dir = tmp_path / "s", tmp_path / "p"
    serial_dir.mkdir()
    parallel_dir.mkdir()
    serial = pdf.compile_many(_sources(serial_dir, 4), jobs=1)
    parallel = pdf.compile_many(_sources(parallel_dir, 4), jobs=3)
    assert [os.path.basename(p) for p in parallel] == [f"sheet-{k}.pdf" for k in range(1, 5)]
    for a, b in zip(serial, parallel):
        with open(a, "rb") as fa, open(b, "rb") as fb:
            assert fa.read() == fb.read()
    # and the same as compiling one by one in memory
    with open(serial[0], "rb") as fh:
        assert fh.read() == pdf.compile_tex(DOC % 1, name="sheet-1")


def test_compile_many_is_all_or_nothing_and_names_the_failing_file(tmp_path):
    paths = _sources(tmp_path, 3, bad=1)
    with pytest.raises(SymbackpropError) as err:
        pdf.compile_many(paths, jobs=2)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(paths[1] + ": pdflatex failed: ! Undefined control sequence.")
    assert "undefinedmacro" in msg
    assert not list(tmp_path.glob("*.pdf")) and not list(tmp_path.glob(".sbp-*"))


def test_compile_many_refuses_to_overwrite_and_bad_jobs(tmp_path):
    paths = _sources(tmp_path, 2)
    (tmp_path / "sheet-2.pdf").write_bytes(b"old")
    with pytest.raises(SymbackpropError, match=r"sheet-2.pdf exists; pass force=True"):
        pdf.compile_many(paths, jobs=2)
    assert not (tmp_path / "sheet-1.pdf").exists()
    assert (tmp_path / "sheet-2.pdf").read_bytes() == b"old"
    pdf.compile_many(paths, jobs=2, force=True)
    assert (tmp_path / "sheet-2.pdf").read_bytes().startswith(b"%PDF")
    for jobs in (0, -1, 65, 1.5, True):
        with pytest.raises(SymbackpropError, match=r"jobs=.*: allowed 1 to 64"):
            pdf.compile_many(paths, jobs=jobs, force=True)
    with pytest.raises(SymbackpropError, match=r"missing.tex: cannot read the LaTeX file"):
        pdf.compile_many([str(tmp_path / "missing.tex")], jobs=1)


def test_compile_many_stops_a_document_that_never_ends(tmp_path):
    """A document that loops forever is stopped after ``timeout`` seconds, named in one line."""
    p = tmp_path / "loop.tex"
    p.write_text("\\documentclass{article}\\begin{document}\\def\\x{\\x}\\x\\end{document}\n", encoding="utf-8")
    ok = _sources(tmp_path, 1)
    with pytest.raises(SymbackpropError) as err:
        pdf.compile_many(ok + [str(p)], jobs=2, timeout=3)
    assert str(err.value) == f"{p}: pdflatex took longer than 3 s and was stopped"
    assert not list(tmp_path.glob("*.pdf"))
