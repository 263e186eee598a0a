"""Compile LaTeX to PDF with pdflatex: in a fresh temporary directory, bounded in time.

``pdflatex -halt-on-error -interaction=nonstopmode -no-shell-escape`` runs in its own
temporary directory (so parallel runs never share auxiliary files) and is killed after
``timeout`` seconds. A failure raises :class:`~symbackprop.errors.SymbackpropError` with the
error lines of the log, never a hang. Writing a PDF next to its .tex is atomic and refuses
to overwrite without ``force``; the file gets the permissions the user's umask allows
(``0o666 & ~umask``), like any file an editor would create.

The same source gives the same PDF bytes: pdflatex runs with ``SOURCE_DATE_EPOCH`` (the
caller's, else 0) and ``FORCE_SOURCE_DATE=1``, and :data:`REPRODUCIBLE` (``\\pdftrailerid{}``,
``\\pdfinfoomitdate=1``, ``\\pdfsuppressptexinfo=-1``) goes in front of the source, so neither the
creation date nor the document ID changes between runs. :func:`compile_tex_log` also returns
the log, and :func:`box_warnings` reads its overfull and underfull boxes.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile

from .. import fileio
from ..errors import NotSupportedError, SymbackpropError

DEFAULT_TIMEOUT = 60.0
PDFLATEX = "pdflatex"
REPRODUCIBLE = (r"\ifdefined\pdftrailerid\pdftrailerid{}\fi"
                r"\ifdefined\pdfinfoomitdate\pdfinfoomitdate=1\fi"
                r"\ifdefined\pdfsuppressptexinfo\pdfsuppressptexinfo=-1\fi" + "\n")
MISSING = ("pdflatex is not installed (Debian: apt-get install texlive-latex-base texlive-latex-recommended "
           "texlive-pictures lmodern)")
_BOX = re.compile(r"^(Overfull|Underfull) \\[hv]box \((?:([0-9.]+)pt too (?:wide|high)|badness (\d+))\)"
                  r"(.*)$", re.M)


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


def box_warnings(log: str) -> list:
    """The overfull and underfull boxes a pdflatex log reports: ``[(kind, amount, where)]``, kind
    ``"Overfull"`` or ``"Underfull"``, amount the points too wide/high (overfull) or the badness."""
    out = []
    for m in _BOX.finditer(log):
        amount = float(m.group(2)) if m.group(2) is not None else float(m.group(3))
        out.append((m.group(1), amount, m.group(4).strip()))
    return out


def compile_tex(text: str, *, timeout: float = DEFAULT_TIMEOUT, runs: int = 1, name: str = "document") -> bytes:
    """Compile LaTeX source ``text`` and return the PDF's bytes.

    Raises NotSupportedError when pdflatex is missing, SymbackpropError when it fails or
    takes longer than ``timeout`` seconds (the process is killed).
    """
    return compile_tex_log(text, timeout=timeout, runs=runs, name=name)[0]


def compile_tex_log(text: str, *, timeout: float = DEFAULT_TIMEOUT, runs: int = 1,
                    name: str = "document") -> tuple:
    """:func:`compile_tex`, returning ``(pdf bytes, log text)``."""
    exe = pdflatex_path()
    if exe is None:
        raise NotSupportedError(MISSING)
    if not 1 <= runs <= 3:
        raise ValueError("runs must be 1 to 3")
    with tempfile.TemporaryDirectory(prefix="symbackprop-tex-") as tmp:
        tex_path = os.path.join(tmp, f"{name}.tex")
        with open(tex_path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(REPRODUCIBLE + text)
        cmd = [exe, "-halt-on-error", "-interaction=nonstopmode", "-no-shell-escape", f"{name}.tex"]
        env = dict(os.environ, TEXMFOUTPUT=tmp, openout_any="p", openin_any="p", FORCE_SOURCE_DATE="1")
        env.setdefault("SOURCE_DATE_EPOCH", "0")
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
        log_path = os.path.join(tmp, f"{name}.log")
        log = ""
        if os.path.exists(log_path):
            with open(log_path, encoding="latin-1") as fh:
                log = fh.read()
        with open(pdf_path, "rb") as fh:
            return fh.read(), log


def _umask() -> int:
    """The process's umask (read from /proc where it can be, else set and restored)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_output(path: str, data, *, force: bool = False) -> str:
    """Write ``data`` (str as UTF-8, or bytes) to ``path`` atomically (:func:`fileio.write_atomic`),
    then give it the mode a newly created file gets under the user's umask (``0o666 & ~umask``;
    the atomic writer's temporary file is created 0600)."""
    fileio.write_atomic(path, data, force=force)
    os.chmod(path, 0o666 & ~_umask())
    return path


def write_pdf(text: str, pdf_path: str, *, force: bool = False, timeout: float = DEFAULT_TIMEOUT) -> str:
    """Compile ``text`` and write the PDF to ``pdf_path`` atomically (never over an existing file
    unless ``force``). Returns ``pdf_path``."""
    pdf_path = fileio.check_writable(pdf_path, force)
    stem = os.path.splitext(os.path.basename(pdf_path))[0] or "document"
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)
    data = compile_tex(text, timeout=timeout, name=safe)
    write_output(pdf_path, data, force=force)
    return pdf_path


MAX_JOBS = 64


def _one_line(tex_path: str, exc: Exception) -> str:
    """``path: pdflatex failed: <the log's first error and its line>`` on one line."""
    text = str(exc)
    if "\n" in text:
        head, _, excerpt = text.partition("\n")
        bits = [b.strip() for b in excerpt.splitlines() if b.strip()]
        first = bits[0] if bits else head
        where = next((b for b in bits if re.match(r"l\.\d+", b)), "")
        text = "pdflatex failed: " + first + (f" (at {where})" if where else "")
    else:
        text = re.sub(r" (?:on|for) \S+\.tex", "", text)
    return f"{tex_path}: {text}"


def compile_many(tex_paths, jobs: int | None = None, *, timeout: float = DEFAULT_TIMEOUT, runs: int = 1,
                 force: bool = False, pdf_paths=None) -> list:
    """Compile every ``.tex`` file of ``tex_paths`` to the PDF next to it (``x.tex`` -> ``x.pdf``, or
    ``pdf_paths`` in the same order), ``jobs`` pdflatex processes at a time (default: the number of
    CPUs). Returns the PDF paths written.

    Each document compiles in its own temporary directory with the same settings as
    :func:`compile_tex` (so the bytes are those of a serial compile, and the same on every run),
    and is stopped after ``timeout`` seconds. All or nothing: every document is compiled before
    anything is written, and the PDFs are then written with :func:`symbackprop.fileio.write_all`;
    if one fails, no PDF is written and the error is one line naming that file and the log's first
    error (``sheet-2.tex: pdflatex failed: ! Undefined control sequence. (at l.12 \\foo)``). An
    existing PDF is overwritten only with ``force``.
    """
    from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

    tex_paths = [os.fspath(p) for p in tex_paths]
    if jobs is None:
        jobs = min(os.cpu_count() or 1, MAX_JOBS)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or not 1 <= jobs <= MAX_JOBS:
        raise SymbackpropError(f"jobs={jobs!r}: allowed 1 to {MAX_JOBS} parallel pdflatex runs")
    if pdf_paths is None:
        for p in tex_paths:
            if not p.endswith(".tex"):
                raise SymbackpropError(f"{p}: a LaTeX file name must end in .tex")
        pdf_paths = [p[:-4] + ".pdf" for p in tex_paths]
    pdf_paths = [os.fspath(p) for p in pdf_paths]
    if len(pdf_paths) != len(tex_paths):
        raise ValueError("pdf_paths must name one PDF per .tex file")
    if pdflatex_path() is None:
        raise NotSupportedError(MISSING)
    for p in pdf_paths:
        fileio.check_writable(p, force)
    sources = [fileio.read_text(p, what="LaTeX file") for p in tex_paths]

    def job(n):
        stem = os.path.splitext(os.path.basename(pdf_paths[n]))[0] or "document"
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)
        try:
            return compile_tex(sources[n], timeout=timeout, runs=runs, name=safe)
        except SymbackpropError as exc:
            raise SymbackpropError(_one_line(tex_paths[n], exc)) from None

    results = [None] * len(tex_paths)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(job, n): n for n in range(len(tex_paths))}
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        failed = sorted((futures[f] for f in done if f.exception() is not None))
        if failed:
            for f in futures:
                f.cancel()
            wait(futures)   # the running ones end (each within its timeout); none of them is written
            raise next(f for f, k in futures.items() if k == failed[0]).exception()
        for f, n in futures.items():
            results[n] = f.result()
    fileio.write_all(list(zip(pdf_paths, results)), force=force)
    mode = 0o666 & ~_umask()
    for p in pdf_paths:
        os.chmod(p, mode)
    return pdf_paths


__all__ = ["compile_many", "compile_tex", "compile_tex_log", "box_warnings", "write_pdf", "write_output", "pdflatex_path",
           "DEFAULT_TIMEOUT", "REPRODUCIBLE"]
