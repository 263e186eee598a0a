"""Compile LaTeX to PDF with pdflatex: in a fresh temporary directory, bounded in time.

``pdflatex -halt-on-error -interaction=nonstopmode -no-shell-escape`` runs in its own
temporary directory (so parallel runs never share auxiliary files) and is killed after
``timeout`` seconds. A failure raises :class:`~symbackprop.errors.SymbackpropError` with the
error lines of the log, never a hang. Writing a PDF next to its .tex is atomic and refuses
to overwrite without ``force``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

from .. import fileio
from ..errors import NotSupportedError, SymbackpropError

DEFAULT_TIMEOUT = 60.0
PDFLATEX = "pdflatex"


def pdflatex_path() -> str | None:
    """The pdflatex executable, or None when it is not installed."""
    return shutil.which(PDFLATEX)


def _log_errors(log: str, limit: int = 12) -> str:
    """The '! ...' lines of a TeX log and the lines right after them."""
    lines = log.splitlines()
    out = []
    for i, line in enumerate(lines):
        if line.startswith("!"):
            out.extend(lines[i:i + 3])
            if len(out) >= limit:
                break
    return "\n".join(out[:limit]) or "\n".join(lines[-limit:])


def compile_tex(text: str, *, timeout: float = DEFAULT_TIMEOUT, runs: int = 1, name: str = "document") -> bytes:
    """Compile LaTeX source ``text`` and return the PDF's bytes.

    Raises NotSupportedError when pdflatex is missing, SymbackpropError when it fails or
    takes longer than ``timeout`` seconds (the process is killed).
    """
    exe = pdflatex_path()
    if exe is None:
        raise NotSupportedError("pdflatex is not installed (Debian: apt-get install texlive-latex-base "
                                "texlive-latex-recommended texlive-pictures lmodern)")
    if not 1 <= runs <= 3:
        raise ValueError("runs must be 1 to 3")
    with tempfile.TemporaryDirectory(prefix="symbackprop-tex-") as tmp:
        tex_path = os.path.join(tmp, f"{name}.tex")
        with open(tex_path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        cmd = [exe, "-halt-on-error", "-interaction=nonstopmode", "-no-shell-escape", f"{name}.tex"]
        env = dict(os.environ, TEXMFOUTPUT=tmp, openout_any="p", openin_any="p")
        for _ in range(runs):
            try:
                proc = subprocess.run(cmd, cwd=tmp, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, timeout=timeout, env=env)
            except subprocess.TimeoutExpired:
                raise SymbackpropError(f"pdflatex took longer than {timeout:g} s on {name}.tex and was stopped") from None
            if proc.returncode != 0:
                log_path = os.path.join(tmp, f"{name}.log")
                log = ""
                if os.path.exists(log_path):
                    with open(log_path, encoding="latin-1") as fh:
                        log = fh.read()
                else:
                    log = proc.stdout.decode("latin-1", "replace")
                raise SymbackpropError(f"pdflatex failed on {name}.tex:\n{_log_errors(log)}")
        pdf_path = os.path.join(tmp, f"{name}.pdf")
        if not os.path.exists(pdf_path):
            raise SymbackpropError(f"pdflatex produced no PDF for {name}.tex")
        with open(pdf_path, "rb") as fh:
            return fh.read()


def write_pdf(text: str, pdf_path: str, *, force: bool = False, timeout: float = DEFAULT_TIMEOUT) -> str:
    """Compile ``text`` and write the PDF to ``pdf_path`` atomically (never over an existing file
    unless ``force``). Returns ``pdf_path``."""
    pdf_path = fileio.check_writable(pdf_path, force)
    stem = os.path.splitext(os.path.basename(pdf_path))[0] or "document"
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)
    data = compile_tex(text, timeout=timeout, name=safe)
    fileio.write_atomic(pdf_path, data, force=force)
    return pdf_path


__all__ = ["compile_tex", "write_pdf", "pdflatex_path", "DEFAULT_TIMEOUT"]
