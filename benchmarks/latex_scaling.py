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


def _time(fn, repeats, cpu: bool = False):
    """Median wall seconds of ``fn()`` (with ``cpu``: median CPU seconds of this process instead,
    which a loaded machine distorts much less)."""
    clock = time.process_time if cpu else time.perf_counter
    samples = []
    for _ in range(repeats):
        _cold()
        t0 = clock()
        fn()
        samples.append(clock() - t0)
    return _median(samples)


def measure_in_process(layers, repeats: int = 1) -> dict:
    """Seconds (wall, and CPU as ``*_cpu_s``) for derive, the evaluation, the whole LaTeX
    document and the whole text (derive included in ``latex_s`` and ``text_s``)."""
    from symbackprop.derivation.chain_rule import derive
    from symbackprop.render.latex import derivation_document
    from symbackprop.render.latex_parts import Evaluation, Numbers
    from symbackprop.render.text import derivation_text
    from symbackprop.spec.load import parse_spec

    spec = parse_spec(spec_text(layers), source=f"sigmoid_{tag(layers)}.toml")
    out = {"parameters": n_parameters(layers)}
    d = derive(spec)
    numbers = Numbers.from_spec(d)
    jobs = {"derive": lambda: derive(spec), "evaluation": lambda: Evaluation(d, numbers),
            "latex": lambda: derivation_document(derive(spec)), "text": lambda: derivation_text(derive(spec))}
    for key, fn in jobs.items():
        out[f"{key}_s"] = _time(fn, repeats)
        out[f"{key}_cpu_s"] = _time(fn, repeats, cpu=True)
    return out


def measure_cli(layers, repeats: int = 1, extra=("--latex",)) -> tuple:
    """Median (wall, CPU) seconds of ``python -m symbackprop derive SPEC --latex -o FILE`` in a
    fresh process, start-up included."""
    import resource

    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    samples, cpu = [], []
    with tempfile.TemporaryDirectory() as tmp:
        spec = os.path.join(tmp, f"sigmoid_{tag(layers)}.toml")
        with open(spec, "w") as f:
            f.write(spec_text(layers))
        for _ in range(repeats):
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "symbackprop", "derive", spec, *extra, "-o",
                            os.path.join(tmp, "out.txt"), "--force"], check=True, env=env,
                           stdout=subprocess.DEVNULL)
            samples.append(time.perf_counter() - t0)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    return _median(samples), _median(cpu)


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


def measure(quick: bool, nets_measured=NETS, worksheet_nets=WORKSHEET_NETS) -> dict:
    """Every figure above, measured (quick: one run each; full: median of three).

    ``latex_30_48_48_1_s`` is the end-to-end ``derive --latex`` wall time of the largest net
    (present when it is among ``nets_measured``), ``latex_cpu_30_48_48_1_s`` its CPU time.
    """
    repeats = 1 if quick else 3
    rows = []
    nets = {}
    for layers in nets_measured:
        row = measure_in_process(layers, repeats)
        row["cli_latex_s"], row["cli_latex_cpu_s"] = measure_cli(layers, repeats)
        row["cli_text_s"], row["cli_text_cpu_s"] = measure_cli(layers, repeats, extra=())
        rows.append(row)
        nets[tag(layers)] = row
    result = {}
    if "30_48_48_1" in nets:
        result["latex_30_48_48_1_s"] = nets["30_48_48_1"]["cli_latex_s"]
        result["latex_cpu_30_48_48_1_s"] = nets["30_48_48_1"]["cli_latex_cpu_s"]
        result["latex_in_process_30_48_48_1_s"] = nets["30_48_48_1"]["latex_s"]
    result["nets"] = nets
    result["exponents"] = {k: exponent(rows, k) for k in rows[0] if k.endswith("_s")}
    result["worksheet_s"] = {tag(l): measure_worksheet_key(l, repeats) for l in worksheet_nets}
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
    cols = ["parameters"] + [k for k in next(iter(res["nets"].values())) if k.endswith("_s")]
    print("seconds; *_cpu_s is CPU time (less distorted by load); latex_s and text_s include derive")
    for chunk in (cols[:1] + [c for c in cols if "cpu" not in c and c != "parameters"],
                  cols[:1] + [c for c in cols if "cpu" in c]):
        print("net           " + " ".join(f"{c.replace('_s', ''):>15}" for c in chunk))
        for k, row in res["nets"].items():
            print(f"{k:<14}" + " ".join(f"{row[c]:>15d}" if c == "parameters" else f"{row[c]:>15.3f}" for c in chunk))
        print("exponent      " + " ".join(f"{'':>15}" if c == "parameters" else
                                         (f"{res['exponents'][c]:>15.2f}" if res["exponents"][c] is not None else f"{'-':>15}")
                                         for c in chunk))
    for k, v in res["worksheet_s"].items():
        print(f"worksheet {k}: {v:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
