"""Worksheet benchmark (issue 14): for each of the five print-tested specs, the time to write
N variants with their keys (.tex only, and with --pdf), the pages per sheet and key, and the
overfull/underfull boxes in the pdflatex logs.

    PYTHONPATH=$PWD python benchmarks/worksheets.py                 # 100 variants, .tex only
    PYTHONPATH=$PWD python benchmarks/worksheets.py --pdf 10 --jobs 2  # plus 10 variants compiled

Timings are printed, never asserted (see docs/worksheets.md for the numbers measured).
"""
from __future__ import annotations

import argparse
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from symbackprop import derive, load_spec  # noqa: E402
from symbackprop.render.pdf import box_warnings, compile_tex_log  # noqa: E402
from symbackprop.worksheets.index import write_worksheets, worksheet  # noqa: E402
from symbackprop.worksheets.matrix import is_matrix_spec  # noqa: E402

SPECS = ["derivations/lecture_2_2_1.toml", "derivations/gender.toml", "tests/data/tanh_softmax_3_4_2.toml",
         "tests/data/relu_2_3_3_1.toml", "tests/data/sigmoid_4_6_3.toml"]


def pages(pdf: bytes) -> int:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as fh:
        fh.write(pdf)
        fh.flush()
        info = subprocess.run(["pdfinfo", fh.name], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[1] for line in info.splitlines() if line.startswith("Pages:")))


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--variants", type=int, default=100)
    p.add_argument("--pdf", type=int, default=0, metavar="N", help="also time N variants with --pdf")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--specs", nargs="*", default=SPECS)
    a = p.parse_args(argv)
    print("spec | boxes sheet/key | pages sheet/key | tex: s per variants | pdf: s per variants")
    for path in a.specs:
        spec = load_spec(ROOT / path)
        d = spec if is_matrix_spec(spec) else derive(spec)
        ws = worksheet(d)
        res = []
        for text in (ws.exercises, ws.answers):
            pdf, log = compile_tex_log(text, name="doc")
            res.append((len(box_warnings(log)), pages(pdf)))
        count = min(a.variants, 50) if is_matrix_spec(spec) else a.variants   # a matrix spec allows 50
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            write_worksheets(d, f"{tmp}/v.tex", variants=count, seed=1)
            tex_s = time.perf_counter() - t
        pdf_s = ""
        if a.pdf:
            with tempfile.TemporaryDirectory() as tmp:
                t = time.perf_counter()
                write_worksheets(d, f"{tmp}/v.tex", variants=a.pdf, seed=1, pdf=True, jobs=a.jobs)
                pdf_s = f"{time.perf_counter() - t:.1f} s / {a.pdf}"
        print(f"{pathlib.Path(path).stem} | {res[0][0]}/{res[1][0]} | {res[0][1]}/{res[1][1]} | "
              f"{tex_s:.1f} s / {count} | {pdf_s}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
