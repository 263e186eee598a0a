"""How `derive --latex` (and the text derivation, and a worksheet key) scale with the network (issue 15).

Every spec here has data (one example), seeded weights, sigmoid everywhere and the squared error,
so the LaTeX shows numbers: the forward values and every per-example gradient are evaluated
(``render.latex_parts.Evaluation``) and rounded for display.

For each net [2,2,1], [4,8,8,1], [10,16,16,1], [20,32,32,1], [30,48,48,1]:

- ``cli``: ``python -m symbackprop derive SPEC --latex -o FILE`` end to end in a fresh process
  (start-up included: what a user waits for);
- in process, SymPy's cache cleared before each run: ``derive`` (graph + chain rule),
  ``evaluation`` (the numbers for display), ``latex`` (the whole document, evaluation
  included) and ``text`` (``derive`` without ``--latex``);
- the exponent of each column in the number of parameters, fitted over the three largest nets.

A worksheet prints every weight, so it refuses nets wider than 6; its key is measured on
[2,2,1] and [4,6,6,1] and, for the big nets, the key's own path (``Evaluation`` of the
derivation at the key's numbers) is the ``evaluation`` column.

Usage: ``python benchmarks/latex_scaling.py [--quick] [--json]``. ``measure(quick)`` returns
``{"latex_30_48_48_1_s": ..., "nets": {...}, ...}`` for ``benchmarks/run.py``.
Timings go here and in docs/performance.md, never in tests.
"""
from __future__ import annotations

import argparse
import gc
import json
import math
import os
import subprocess
import sys
import tempfile
import time

NETS = ([2, 2, 1], [4, 8, 8, 1], [10, 16, 16, 1], [20, 32, 32, 1], [30, 48, 48, 1])
WORKSHEET_NETS = ([2, 2, 1], [4, 6, 6, 1])
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tag(layers) -> str:
    return "_".join(str(n) for n in layers)


def n_parameters(layers) -> int:
    return sum(layers[i] * layers[i + 1] + layers[i + 1] for i in range(len(layers) - 1))


def spec_text(layers, seed: int = 1) -> str:
    """A sigmoid / squared-error net with seeded weights and one example (x in [-0.5, 0.5], y = 1)."""
    xs = ", ".join(f"{0.1 * ((j * 7) % 11) - 0.5:.1f}" for j in range(layers[0]))
    acts = ", ".join('"sigmoid"' for _ in range(len(layers) - 1))
    return (f'title = "sigmoid {list(layers)}"\nnotation = "index"\n\n[network]\nlayers = {list(layers)}\n'
            f'activations = [{acts}]\nloss = "squared_error"\nreduction = "mean"\n\n'
            f'[parameters]\nseed = {seed}\n\n[data]\nx = [[{xs}]]\ny = [[1]]\n\n'
            f'[training]\nlearning_rate = 0.1\n')


def _median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else 0.5 * (xs[len(xs) // 2 - 1] + xs[len(xs) // 2])


def _cold():
    from sympy.core.cache import clear_cache

    clear_cache()
    gc.collect()


def _time(fn, repeats):
    samples = []
    for _ in range(repeats):
        _cold()
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return _median(samples)


def measure_in_process(layers, repeats: int = 1) -> dict:
    """Seconds for derive, evaluation, latex (derive excluded) and text (derive excluded)."""
    from symbackprop.derivation.chain_rule import derive
    from symbackprop.render.latex import derivation_document
    from symbackprop.render.latex_parts import Evaluation, Numbers
    from symbackprop.render.text import derivation_text
    from symbackprop.spec.load import parse_spec

    spec = parse_spec(spec_text(layers), source=f"sigmoid_{tag(layers)}.toml")
    out = {"parameters": n_parameters(layers)}
    out["derive_s"] = _time(lambda: derive(spec), repeats)
    d = derive(spec)
    numbers = Numbers.from_spec(d)
    out["evaluation_s"] = _time(lambda: Evaluation(d, numbers), repeats)
    out["latex_s"] = _time(lambda: derivation_document(derive(spec)), repeats) - out["derive_s"]
    out["text_s"] = _time(lambda: derivation_text(derive(spec)), repeats) - out["derive_s"]
    return out


def measure_cli(layers, repeats: int = 1, extra=("--latex",)) -> float:
    """Median seconds of ``python -m symbackprop derive SPEC --latex -o FILE`` in a fresh process."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    samples = []
    with tempfile.TemporaryDirectory() as tmp:
        spec = os.path.join(tmp, f"sigmoid_{tag(layers)}.toml")
        with open(spec, "w") as f:
            f.write(spec_text(layers))
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "symbackprop", "derive", spec, *extra, "-o",
                            os.path.join(tmp, "out.txt"), "--force"], check=True, env=env,
                           stdout=subprocess.DEVNULL)
            samples.append(time.perf_counter() - t0)
    return _median(samples)


def measure_worksheet_key(layers, repeats: int = 1) -> float:
    """Seconds for one worksheet (exercises and key) of ``layers`` at the spec's numbers."""
    from symbackprop.derivation.chain_rule import derive
    from symbackprop.spec.load import parse_spec
    from symbackprop.worksheets.index import worksheet

    spec = parse_spec(spec_text(layers), source=f"sigmoid_{tag(layers)}.toml")
    d = derive(spec)
    return _time(lambda: worksheet(d), repeats)


def exponent(rows: list, key: str) -> float | None:
    """Least-squares slope of log(time) against log(parameters) over the three largest nets."""
    pts = [(math.log(r["parameters"]), math.log(r[key])) for r in rows[-3:] if r.get(key, 0) > 0]
    if len(pts) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    num = sum((x - mx) * (y - my) for x, y in pts)
    den = sum((x - mx) ** 2 for x, _ in pts)
    return num / den if den else None


def measure(quick: bool) -> dict:
    """Every figure above, measured (quick: one run each; full: median of three)."""
    repeats = 1 if quick else 3
    rows = []
    nets = {}
    for layers in NETS:
        row = measure_in_process(layers, repeats)
        row["cli_latex_s"] = measure_cli(layers, repeats)
        row["cli_text_s"] = measure_cli(layers, repeats, extra=())
        rows.append(row)
        nets[tag(layers)] = row
    result = {
        "latex_30_48_48_1_s": nets["30_48_48_1"]["cli_latex_s"],
        "latex_in_process_30_48_48_1_s": nets["30_48_48_1"]["latex_s"] + nets["30_48_48_1"]["derive_s"],
        "nets": nets,
        "exponents": {k: exponent(rows, k) for k in ("derive_s", "evaluation_s", "latex_s", "text_s",
                                                     "cli_latex_s", "cli_text_s")},
        "worksheet_s": {tag(l): measure_worksheet_key(l, repeats) for l in WORKSHEET_NETS},
    }
    for k, row in nets.items():
        result[f"latex_{k}_s"] = row["cli_latex_s"]
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="one run per figure")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    args = p.parse_args(argv)
    res = measure(args.quick)
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    cols = ("parameters", "cli_latex_s", "cli_text_s", "derive_s", "evaluation_s", "latex_s", "text_s")
    print("net            " + " ".join(f"{c:>13}" for c in cols))
    for k, row in res["nets"].items():
        print(f"{k:<15}" + " ".join(f"{row[c]:>13.3f}" if c != "parameters" else f"{row[c]:>13d}" for c in cols))
    print("exponent       " + " ".join(f"{'':>13}" if c == "parameters" else
                                      (f"{res['exponents'][c]:>13.2f}" if res["exponents"][c] is not None else f"{'-':>13}")
                                      for c in cols))
    for k, v in res["worksheet_s"].items():
        print(f"worksheet {k}: {v:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
