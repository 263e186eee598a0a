"""Writing worksheets: the file names, the refusal to overwrite, the PDFs, all or nothing.

``-o OUT.tex`` names ``OUT.tex`` (the exercises) and ``OUT-answers.tex`` (the key); with
variants ``OUT-1.tex``, ``OUT-1-answers.tex``, .... Every target is checked before anything is
written, the PDFs are compiled before any file is written, and each file is written atomically.
"""
from __future__ import annotations

import os

from ..errors import SpecError, SymbackpropError


def output_paths(out: str, variants: int | None = None) -> list:
    """[(exercises.tex, answers.tex), ...] for ``-o out.tex`` (with variants: out-1.tex, ...)."""
    if not out.endswith(".tex"):
        raise SpecError(f"{out}: the worksheet's file name must end in .tex")
    stem = out[:-4]
    if not variants:
        return [(out, f"{stem}-answers.tex")]
    return [(f"{stem}-{k}.tex", f"{stem}-{k}-answers.tex") for k in range(1, variants + 1)]


def write_sheets(sheets: list, pairs: list, out: str, *, pdf: bool = False, force: bool = False,
                 timeout: float = 120.0, jobs: int = 1) -> list:
    """Write each :class:`~symbackprop.worksheets.builder.Worksheet` of ``sheets`` to its pair of
    ``pairs`` (and the PDFs with ``pdf``); returns the paths written."""
    from ..fileio import write_all

    targets = [p for pair in pairs for p in pair]
    if pdf:
        targets += [p[:-4] + ".pdf" for p in targets]
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise SpecError(f"{out}: the folder {folder} does not exist")
    if not force:
        existing = [p for p in targets if os.path.exists(p)]
        if existing:
            raise SymbackpropError(f"{existing[0]} exists; pass --force to overwrite"
                                   + (f" ({len(existing)} files would be overwritten)" if len(existing) > 1 else ""))
    files = [(path, text) for (ex_path, key_path), sheet in zip(pairs, sheets)
             for path, text in ((ex_path, sheet.exercises), (key_path, sheet.answers))]
    if pdf:  # compile first: a failing compile writes nothing
        files += compile_all([(path[:-4] + ".pdf", text) for path, text in files], timeout=timeout, jobs=jobs)
    return write_all(files, force=force)  # all or nothing: a failure leaves no half-written set


def compile_all(jobs_: list, *, timeout: float = 120.0, jobs: int = 1) -> list:
    """[(pdf path, pdf bytes)] for [(pdf path, LaTeX)], compiled by ``jobs`` pdflatex processes at
    once (each in its own temporary folder); the order of the input is kept."""
    from concurrent.futures import ThreadPoolExecutor

    from ..render.pdf import compile_tex

    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise SpecError(f"--jobs {jobs!r}: allowed a whole number from 1 up")

    def one(job):
        p, t = job
        return p, compile_tex(t, timeout=timeout, name=_safe(os.path.basename(p)[:-4]))

    if jobs == 1 or len(jobs_) == 1:
        return [one(j) for j in jobs_]
    with ThreadPoolExecutor(max_workers=jobs) as pool:   # the work is in the pdflatex subprocesses
        return list(pool.map(one, jobs_))


def _safe(stem: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in stem) or "worksheet"


__all__ = ["output_paths", "write_sheets", "compile_all"]
