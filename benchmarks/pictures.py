#!/usr/bin/env python
r"""The network drawings measured on pdflatex's own boxes, and compile_many's speed-up.

    python benchmarks/pictures.py            # the tables of docs/pictures.md, then one JSON line

1. For the shapes 2-2-1, 2-3-3-1 (ReLU), 3-4-2 (tanh/softmax), 4-6-3, 6-6-6-6-6 and 1-1, the sheet's
   and the key's drawing are compiled and every node's box is read back from TikZ
   (``tests/tikz_probe.py``); the overlapping pairs (label/label, label/node, label/other arrow)
   are counted for this checkout's drawing and, when git has them, for two earlier ones: the
   first drawing (commit 28cec19, labels at fixed fractions of their arrows) and the one of
   issue 14's first round (d865564, placed boxes from a width estimate). Also: the number of
   gaps (of all) whose arrows carry their weight names.
2. ``compile_many`` of 8 worksheet keys, serial (jobs=1) and with jobs=2: wall time, and whether
   the bytes are the same.

Nothing here is a test: no timing is asserted anywhere.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

import tikz_probe  # noqa: E402

from symbackprop import derive, load_spec  # noqa: E402
from symbackprop.render import pdf, tikz  # noqa: E402
from symbackprop.render.latex import Evaluation  # noqa: E402
from symbackprop.worksheets.index import base_numbers, worksheet  # noqa: E402

SHAPES = {"2-2-1": ("sigmoid", "half_squared_error"), "2-3-3-1": ("relu", "half_squared_error"),
          "3-4-2": ("tanh", "cross_entropy"), "4-6-3": ("sigmoid", "half_squared_error"),
          "6-6-6-6-6": ("sigmoid", "half_squared_error"), "1-1": ("sigmoid", "half_squared_error")}
OLD = {"first drawing (28cec19)": "28cec19", "issue-14 round 1 (d865564)": "d865564"}


def spec_text(shape):
    layers = [int(s) for s in shape.split("-")]
    act, loss = SHAPES[shape]
    last = "softmax" if loss == "cross_entropy" else "identity" if act == "relu" else "sigmoid"
    acts = [act] * (len(layers) - 2) + [last]
    x = [round(0.5 - 0.25 * j, 2) for j in range(layers[0])]
    y = [1] + [0] * (layers[-1] - 1)
    return (f'title = "{shape}"\nnotation = "index"\n[network]\nlayers = {layers}\nactivations = {acts}\n'
            f'loss = "{loss}"\nreduction = "mean"\n[parameters]\nseed = 3\n[data]\nx = [{x}]\ny = [{y}]\n'
            ).replace("'", '"')


def derivation(shape, folder):
    p = os.path.join(folder, f"net{shape}.toml")
    with open(p, "w", encoding="utf-8") as fh:
        fh.write(spec_text(shape))
    return derive(load_spec(p))


def old_module(commit):
    try:
        src = subprocess.run(["git", "show", f"{commit}:symbackprop/render/tikz.py"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    fd, path = tempfile.mkstemp(suffix=".py")
    with os.fdopen(fd, "w") as fh:
        fh.write(src)
    spec = importlib.util.spec_from_file_location(f"symbackprop.render.tikz_{commit}", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    try:
        spec.loader.exec_module(mod)
    except Exception:   # an old drawing that needs what this checkout no longer has
        return None
    finally:
        os.unlink(path)
    return mod


def overlaps_table(folder):
    mods = {"now": tikz}
    for what, commit in OLD.items():
        m = old_module(commit)
        if m is not None:
            mods[what] = m
    rows = {}
    for shape in SHAPES:
        d = derivation(shape, folder)
        ev = Evaluation(d, base_numbers(d))
        row = {}
        for what, m in mods.items():
            for key in (None, ev):
                src = m.network_tikz(d, key, 0, 2)
                row[f"{what} {'key' if key else 'sheet'}"] = len(tikz_probe.overlaps(src))
        gaps = len(d.graph.layers) - 1
        row["labelled gaps now"] = f"{len(tikz.network_layout(d).labelled_gaps)}/{gaps}"
        for what, m in mods.items():
            if what != "now" and hasattr(m, "network_layout"):
                row[f"labelled gaps {what}"] = f"{len(m.network_layout(d).labelled_gaps)}/{gaps}"
        rows[shape] = row
    return rows


def compile_speed(folder):
    d = derive(load_spec(os.path.join(ROOT, "derivations", "lecture_2_2_1.toml")))
    from symbackprop.worksheets.index import variant_numbers

    paths = []
    for k, nums in enumerate(variant_numbers(d, 8, 0), start=1):
        p = os.path.join(folder, f"key-{k}.tex")
        with open(p, "w", encoding="utf-8") as fh:
            fh.write(worksheet(d, nums, k).answers)
        paths.append(p)
    out = {}
    pdfs = {}
    for jobs in (1, 2):
        dest = [os.path.join(folder, f"j{jobs}-key-{k}.pdf") for k in range(1, 9)]
        t0 = time.perf_counter()
        pdf.compile_many(paths, jobs=jobs, pdf_paths=dest)
        out[f"jobs={jobs} s"] = round(time.perf_counter() - t0, 2)
        pdfs[jobs] = [open(p, "rb").read() for p in dest]
    out["identical bytes"] = pdfs[1] == pdfs[2]
    out["cpus"] = os.cpu_count()
    return out


def main():
    with tempfile.TemporaryDirectory() as folder:
        rows = overlaps_table(folder)
        cols = list(next(iter(rows.values())))
        print("| shape | " + " | ".join(cols) + " |")
        print("|---" * (len(cols) + 1) + "|")
        for shape, row in rows.items():
            print(f"| {shape} | " + " | ".join(str(row[c]) for c in cols) + " |")
        speed = compile_speed(folder)
        print()
        print("compile_many, 8 keys of the 2-2-1 lecture sheet:", speed)
    print(json.dumps({"overlaps": rows, "compile_many": speed}))


if __name__ == "__main__":
    main()
