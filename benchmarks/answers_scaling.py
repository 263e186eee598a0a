#!/usr/bin/env python
r"""Where users wait for answer checks (issue 15): one answer on a big network, a class of
10,000 answers, ``symbackprop verify`` and ``symbackprop --help`` end to end.

    python benchmarks/answers_scaling.py            # the full run, JSON on the last line
    python benchmarks/answers_scaling.py --quick    # fewer repeats

``measure(quick)`` returns

    {"check_answer_median_10_16_16_1_s": ..., "grade_10000_s": ..., "verify_cli_s": ..., "help_cli_s": ...}

(seconds; ``benchmarks/run.py`` calls it).  What each figure is:

- ``check_answer_median_10_16_16_1_s``: the median over answers of one ``AnswerChecker.check``
  on the [10,16,16,1] sigmoid/BCE network (index notation) with a fresh checker and SymPy's
  cache cleared before each answer (what one ``verify`` does after start-up); the answers are
  ``symbackprop.verify.grading.benchmark_rows`` (each parameter's gradient kept, rewritten with
  σ(z), sign-flipped, doubled, a factor dropped, an index swapped), about half right.  The
  derivation is built once, outside the timing.  The matrix-notation figure (the same network,
  ``notation = "matrix"``) is reported too, as ``check_answer_matrix_median_10_16_16_1_s``.
- ``grade_10000_s``: ``symbackprop grade derivations/lecture_2_2_1.toml --answers A.csv --json``
  in a fresh process on 10,000 rows written by ``benchmark_rows`` (seed 0), start-up included.
- ``verify_cli_s`` / ``help_cli_s``: the median wall time of a fresh ``python -m symbackprop
  verify`` (the lecture spec, one right answer) and ``python -m symbackprop --help``.

Nothing here is a test: no timing is asserted.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

LECTURE = ROOT / "derivations" / "lecture_2_2_1.toml"
BIG = (10, 16, 16, 1)


def _spec_text(layers, notation="index") -> str:
    return (f'title = "benchmark {list(layers)}"\nnotation = "{notation}"\n[network]\nlayers = {list(layers)}\n'
            f'activations = "sigmoid"\nloss = "bce"\nreduction = "mean"\n[parameters]\nseed = 0\n')


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _wall(argv, repeats: int, cpu: list | None = None) -> float:
    """Median wall seconds of a fresh ``python argv``; ``cpu`` collects each run's user + system
    seconds (a figure that a loaded machine inflates less than the wall time)."""
    import resource

    times = []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, *argv], cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if cpu is not None:
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(times)


def check_answer_median(layers=BIG, count: int = 24, notation: str = "index") -> float:
    """Median seconds of one cold ``check`` (fresh checker, SymPy cache cleared) over ``count`` answers."""
    from sympy.core.cache import clear_cache

    from symbackprop.derivation.chain_rule import derive
    from symbackprop.spec.load import parse_spec
    from symbackprop.verify.answers import AnswerChecker
    from symbackprop.verify.grading import benchmark_rows

    index_spec = parse_spec(_spec_text(layers), source="benchmark")
    d = derive(index_spec)
    if notation == "matrix":
        spec = parse_spec(_spec_text(layers, "matrix"), source="benchmark")
        n = len(layers) - 1
        rows = [(f"dW_{n}", f"a_{n - 1}^T dz_{n}"), (f"dz_{n}", r"\hat{y} - y"), (f"db_{n}", rf"\sum dz_{n}"),
                (f"dz_{n - 1}", rf"dz_{n} W_{n}^T \odot a_{n - 1}(1 - a_{n - 1})"),
                (f"dz_{n - 1}", rf"dz_{n} W_{n}^T"), ("dW_1", "x^T dz_1"), ("dW_1", "dz_1^T x"),
                (f"dW_{n}", f"a_{n - 1} dz_{n}")]
        rows = (rows * (count // len(rows) + 1))[:count]
        make = lambda: AnswerChecker(spec)  # noqa: E731
    else:
        rows = [(r["wrt"], r["answer"]) for r in benchmark_rows(d, count, seed=1)]
        make = lambda: AnswerChecker(d)  # noqa: E731
    AnswerChecker(d).check(*reversed(rows[0]))  # imports and one-time set-up out of the figure
    times = []
    for wrt, text in rows:
        clear_cache()
        t0 = time.perf_counter()
        make().check(text, wrt)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def grade_seconds(count: int = 10000, jobs: int = 1, cpu: list | None = None) -> float:
    """Wall seconds of ``symbackprop grade`` on ``count`` generated answers, in a fresh process."""
    from symbackprop.verify.grading import write_benchmark_csv

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "answers.csv"
        write_benchmark_csv(LECTURE, path, count, seed=0)
        argv = ["-m", "symbackprop", "grade", str(LECTURE), "--answers", str(path), "--json", "--no-progress"]
        if jobs > 1:
            argv += ["--jobs", str(jobs)]
        return _wall(argv, 1, cpu)


VERIFY_ARGV = ["-m", "symbackprop", "verify", str(LECTURE), "--wrt", "w^{2}_{1,1}", "--answer",
               r"(\hat{y} - y)\hat{y}(1-\hat{y}) a^{2}_{1}"]


def measure(quick: bool) -> dict:
    """The four figures of issue 15 (seconds), plus the matrix-notation check, the same with
    ``--jobs 2``, the CPU seconds of each command (user + system, less inflated by a loaded
    machine than wall time), and ``python -c pass`` as the floor of any command."""
    repeats = 3 if quick else 7
    grade_cpu, verify_cpu, help_cpu, bare_cpu = [], [], [], []
    out = {
        "check_answer_median_10_16_16_1_s": check_answer_median(count=12 if quick else 40),
        "check_answer_matrix_median_10_16_16_1_s": check_answer_median(count=8 if quick else 24, notation="matrix"),
        "check_answer_median_lecture_s": check_answer_median((2, 2, 1), count=12 if quick else 40),
        "grade_10000_s": grade_seconds(10000, cpu=grade_cpu),
        "verify_cli_s": _wall(VERIFY_ARGV, repeats, verify_cpu),
        "help_cli_s": _wall(["-m", "symbackprop", "--help"], repeats, help_cpu),
        "python_bare_s": _wall(["-c", "pass"], repeats, bare_cpu),
    }
    if not quick:
        out["grade_10000_jobs2_s"] = grade_seconds(10000, jobs=2)
    out.update({"grade_10000_cpu_s": statistics.median(grade_cpu), "verify_cli_cpu_s": statistics.median(verify_cpu),
                "help_cli_cpu_s": statistics.median(help_cpu), "python_bare_cpu_s": statistics.median(bare_cpu)})
    return {k: round(v, 4) for k, v in out.items()}


if __name__ == "__main__":
    result = measure("--quick" in sys.argv[1:])
    print(json.dumps(result))
