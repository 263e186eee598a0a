r"""The held-out answer set of issue 12, graded by the checker and judged by an independent oracle.

    PYTHONPATH=. python benchmarks/heldout/run.py                 # prints the report, writes report.{json,md}
    PYTHONPATH=. python benchmarks/heldout/run.py --no-write --sample 40
    PYTHONPATH=. python benchmarks/heldout/run.py --via-grade 2    # also through `symbackprop grade --jobs 2`

The checker is used only through its public API (``symbackprop.verify.answers.checker_for_spec``
and ``AnswerChecker.check(text, wrt)``, the verdict's ``verdict``, ``mistake``, ``feedback``,
``decided_by``).  The truth of every answer comes from ``heldout_oracle.py`` (``sympy.diff`` of the loss
rebuilt here from the spec's TOML) or ``heldout_torch.py`` (PyTorch autograd), which share no code
with the checker.  An answer is right when its hand-written expression equals the derivative as a
function of all leaves at every oracle point and, if it ends in a number, that number is the
derivative's value at the spec's data and parameters to the digits written; a bare number is
wrong (numbers are not accepted unless the instructor says so).

Measured: verdict accuracy (right ⇒ ``correct``, wrong ⇒ ``incorrect``), wrong answers graded
``correct`` (the soundness count), the share of wrong answers whose feedback names the mistake
(``NAMES`` below: the mistake code is a diagnosis, not ``counterexample``, the feedback matches
the kind's keyword rule, and it names one of the answer's ``culprit`` nodes when it has any), the
parse rate of the right answers (notations accepted), and the median and p95 time per answer
(``check`` alone; the checker's setup once per spec is reported apart).  A benchmark: nothing here
asserts a time.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
for p in (str(HERE), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)

import mpmath  # noqa: E402

from heldout_index import ANSWERS as INDEX_ANSWERS  # noqa: E402
from heldout_matrix import ANSWERS as MATRIX_ANSWERS  # noqa: E402
from heldout_oracle import IndexOracle, spec_path  # noqa: E402

SPECS = {
    "lecture": "derivations/lecture_2_2_1.toml",
    "relu": "relu_dead_2_5_3_1.toml",
    "tanh": "tanh_2_3_2_1.toml",
    "softmax": "softmax_2_3_3.toml",
    "gender": "derivations/gender.toml",
}
MATRIX_SPECS = {"gender"}
ANSWERS = INDEX_ANSWERS + MATRIX_ANSWERS

# kind -> the keyword rule (a regex on the normalised feedback) that "names" that mistake; a
# dropped or doubled 2 blamed on the batch mean's 1/n (n = 2) is a wrong diagnosis, not a name
NAMES = {
    "sign": r"sign",
    "factor_2": r"^(?!.*batch mean).*(stray 2|\b2 times|1/2 times|power rule|factor 2)",
    "factor_n": r"1/n|\bn = \d|\bmean\b|batch",
    "swap_indices": r"index|indices|swap|transpos|convention",
    "neighbour_param": r"belongs|this is ∂|instead|you wrote|answer for",
    "drop_local": r"missing|multiply by",
    "double_local": r"twice|extra|double|squared",
    "extra_factor": r"extra|does not belong|twice",
    "sigma_prime_at_a": r"(σ'|tanh'|relu'|g'|derivative)[^;]*z(\^\{\d\}|_\d)|(a(\^\{\d\}_\{\d\}|_\d)|ŷ) where z",
    "z_for_a": r"belongs|instead|where",
    "wrong_node": r"belongs|instead|where",
    "wrong_matrix": r"belongs|instead|where",
    "drop_path": r"path",
    "add_path": r"path",
    "drop_one_minus_a": r"1 - ",
    "wrong_act_derivative": r"tanh|softmax|activation|derivative",
    "transpose": r"transpos",
    "reorder": r"order|revers|transpos",
    "missing_sum": r"\bsum\b|Σ",
    "number_only": r"symbolic",
    "wrong_number": r"value|spec's data",
}
NOT_A_DIAGNOSIS = {None, "", "counterexample", "undecided"}


def normalise(text: str) -> str:
    return (text or "").replace("′", "'").replace("−", "-").replace("ᵀ", "^T").replace("\u2009", " ")


def names_mistake(answer, mistake, feedback) -> bool:
    rule = NAMES.get(answer.kind)
    if rule is None or mistake in NOT_A_DIAGNOSIS:
        return False
    fb = normalise(feedback)
    if not re.search(rule, fb):
        return False
    return not answer.culprit or any(c.lower() in fb.lower() for c in answer.culprit)  # ReLU′ names relu


# --- truth ---------------------------------------------------------------------------------------

class Oracles:
    """One oracle per spec, built on first use."""

    def __init__(self):
        self._made = {}

    def get(self, spec: str):
        if spec not in self._made:
            path = spec_path(SPECS[spec])
            if spec in MATRIX_SPECS:
                from heldout_torch import MatrixOracle
                self._made[spec] = MatrixOracle(path)
            else:
                self._made[spec] = IndexOracle(path)
        return self._made[spec]


def truth(answer, oracles: Oracles) -> bool:
    """Whether the answer is right, by the oracle alone (the label ``answer.right`` is not read)."""
    if answer.fn is None:
        return False                                   # a bare number: not accepted
    o = oracles.get(answer.spec)
    if answer.spec in MATRIX_SPECS:
        return o.equal(answer.fn, answer.target)
    if not o.equal(answer.fn, answer.target, answer.cost):
        return False
    if answer.value is not None:
        number, digits = answer.value
        exact = o.spec_value(answer.target, answer.cost)
        with mpmath.workdps(40):
            return abs(mpmath.mpf(str(number)) - exact) <= mpmath.mpf(5) * mpmath.mpf(10) ** (-digits - 1)
    return True


# --- the checker, as a black box -----------------------------------------------------------------

def make_checker(spec: str):
    """The checker of docs/answers.md's Python API (``checker_for_spec``)."""
    try:
        from symbackprop.verify.answers import checker_for_spec
    except ImportError:                                # the verify stage re-exports it
        from symbackprop.verify import checker_for_spec
    return checker_for_spec(str(spec_path(SPECS[spec])))


def grade(answer, checker) -> dict:
    t0 = time.perf_counter()
    try:
        v = checker.check(answer.tex, wrt=answer.wrt)
        out = {"verdict": getattr(v, "verdict", None), "mistake": getattr(v, "mistake", None),
               "feedback": getattr(v, "feedback", "") or "", "decided_by": getattr(v, "decided_by", None)}
    except Exception as exc:                           # a crash is a result too
        out = {"verdict": "crash", "mistake": None, "feedback": f"{type(exc).__name__}: {exc}", "decided_by": None}
    out["seconds"] = time.perf_counter() - t0
    return out


def run(answers=None, progress=None) -> dict:
    answers = ANSWERS if answers is None else answers
    oracles = Oracles()
    checkers, setup = {}, {}
    rows = []
    for a in answers:
        if a.spec not in checkers:
            t0 = time.perf_counter()
            checkers[a.spec] = make_checker(a.spec)
            setup[a.spec] = time.perf_counter() - t0
        got = grade(a, checkers[a.spec])
        right = truth(a, oracles)
        expected = "correct" if right else "incorrect"
        row = {"id": a.id, "spec": a.spec, "target": a.target, "cost": a.cost, "wrt": a.wrt, "tex": a.tex,
               "kind": a.kind, "label": a.right, "truth": right, **got}
        row["verdict_ok"] = got["verdict"] == expected
        row["names"] = (not right and got["verdict"] == "incorrect"
                        and names_mistake(a, got["mistake"], got["feedback"]))
        rows.append(row)
        if progress:
            progress(row)
    return {"rows": rows, "summary": summarise(rows, setup)}


def via_grade(answers, jobs: int = 1) -> dict:
    """The same answers through ``symbackprop grade --json`` (one CSV per spec, a fresh process):
    {id: (verdict, mistake)}.  The CLI is the other public way in; the runner compares the two."""
    import csv
    import subprocess
    import tempfile
    out = {}
    by_spec = {}
    for a in answers:
        by_spec.setdefault(a.spec, []).append(a)
    with tempfile.TemporaryDirectory() as tmp:
        for spec, group in by_spec.items():
            path = Path(tmp) / f"{spec}.csv"
            with path.open("w", newline="", encoding="utf-8") as f:
                w = csv.writer(f)
                w.writerow(["student", "wrt", "answer"])
                for a in group:
                    w.writerow([a.id, a.wrt or "", a.tex])
            cmd = [sys.executable, "-m", "symbackprop", "grade", str(spec_path(SPECS[spec])), "--answers", str(path),
                   "--json", "--no-progress", "--jobs", str(jobs)]
            env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
            r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
            for row in json.loads(r.stdout)["results"]:
                out[row["student"]] = (row["verdict"], row.get("mistake"))
    return out


def _pct(num, den):
    return round(100.0 * num / den, 1) if den else None


def summarise(rows, setup) -> dict:
    right = [r for r in rows if r["truth"]]
    wrong = [r for r in rows if not r["truth"]]
    named_pool = [r for r in wrong if r["kind"] in NAMES]
    times = sorted(r["seconds"] for r in rows)
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))] if times else None
    by_spec = {}
    for r in rows:
        s = by_spec.setdefault(r["spec"], {"answers": 0, "right": 0, "verdict_ok": 0})
        s["answers"] += 1
        s["right"] += r["truth"]
        s["verdict_ok"] += r["verdict_ok"]
    return {
        "answers": len(rows), "right": len(right), "wrong": len(wrong), "specs": len(by_spec),
        "label_disagrees_with_oracle": [r["id"] for r in rows if r["label"] != r["truth"]],
        "verdict_accuracy_pct": _pct(sum(r["verdict_ok"] for r in rows), len(rows)),
        "wrong_graded_correct": [r["id"] for r in wrong if r["verdict"] == "correct"],
        "right_graded_incorrect": [r["id"] for r in right if r["verdict"] == "incorrect"],
        "unparseable": [r["id"] for r in rows if r["verdict"] == "unparseable"],
        "crashes": [r["id"] for r in rows if r["verdict"] == "crash"],
        "notations_accepted_pct": _pct(sum(r["verdict"] in ("correct", "incorrect") for r in right), len(right)),
        "names_mistake_pct": _pct(sum(r["names"] for r in named_pool), len(named_pool)),
        "names_pool": len(named_pool),
        "not_named": [r["id"] for r in named_pool if not r["names"]],
        "median_ms": round(1000 * statistics.median(times), 2) if times else None,
        "p95_ms": round(1000 * p95, 2) if times else None,
        "max_ms": round(1000 * times[-1], 2) if times else None,
        "setup_s": {k: round(v, 3) for k, v in setup.items()},
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "names_by_kind": {k: [sum(r["names"] for r in named_pool if r["kind"] == k),
                              sum(1 for r in named_pool if r["kind"] == k)]
                          for k in sorted({r["kind"] for r in named_pool})},
        "by_spec": by_spec,
    }


def markdown(report) -> str:
    s = report["summary"]
    lines = [
        "# Held-out answer set (issue 12): measured",
        "",
        f"{s['answers']} answers over {s['specs']} specs ({s['right']} right, {s['wrong']} wrong), "
        "truth by the independent oracle (sympy.diff of the rebuilt loss; PyTorch for matrix answers).",
        "",
        "| figure | value | target |",
        "| --- | --- | --- |",
        f"| verdict accuracy | {s['verdict_accuracy_pct']} % | 100 % |",
        f"| wrong answers graded correct | {len(s['wrong_graded_correct'])} | 0 |",
        f"| right answers graded incorrect | {len(s['right_graded_incorrect'])} | 0 |",
        f"| feedback names the mistake | {s['names_mistake_pct']} % of {s['names_pool']} | ≥ 90 % |",
        f"| notations accepted (right answers parsed) | {s['notations_accepted_pct']} % | 100 % |",
        f"| unparseable / crashes | {len(s['unparseable'])} / {len(s['crashes'])} | 0 / 0 |",
        f"| time per answer, median / p95 / max | {s['median_ms']} / {s['p95_ms']} / {s['max_ms']} ms | median ≤ 50 ms |",
        "",
        f"(load average during the run: {s['load_average']}; checker setup per spec: {s['setup_s']} s)",
        *([f"`symbackprop grade --jobs {s['grade_cli']['jobs']}` on the same {s['grade_cli']['answers']} answers: "
           f"{len(s['grade_cli']['verdicts_differ'])} verdicts differ from the Python API "
           f"{s['grade_cli']['verdicts_differ'] or ''}", ""] if "grade_cli" in s else []),
        "",
        "| mistake kind | feedback names it |",
        "| --- | --- |",
        *[f"| {k} | {v[0]} of {v[1]} |" for k, v in s["names_by_kind"].items()],
        "",
        "| spec | answers | right | verdicts right |",
        "| --- | --- | --- | --- |",
    ]
    for k, v in s["by_spec"].items():
        lines.append(f"| {k} | {v['answers']} | {v['right']} | {v['verdict_ok']} |")
    bad = [r for r in report["rows"] if not r["verdict_ok"] or (not r["truth"] and not r["names"] and r["kind"] in NAMES)]
    if bad:
        lines += ["", "## What the checker gets wrong", "", "| id | kind | truth | verdict | mistake | answer | feedback |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for r in bad:
            fb = r["feedback"].replace("|", "\\|").replace("\n", " ")
            if len(fb) > 160:
                fb = fb[:157] + "..."
            tex = r["tex"].replace("|", "\\|")
            lines.append(f"| {r['id']} | {r['kind']} | {'right' if r['truth'] else 'wrong'} | {r['verdict']} | "
                         f"{r['mistake']} | `{tex}` | {fb} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default=str(HERE / "report.json"))
    ap.add_argument("--markdown", default=str(HERE / "report.md"))
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--sample", type=int, default=0, help="every k-th answer only, k = len/N")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--via-grade", type=int, default=0, metavar="JOBS",
                    help="also grade every answer with `symbackprop grade --json --jobs JOBS` and compare")
    args = ap.parse_args(argv)
    answers = ANSWERS
    if args.sample:
        step = max(1, len(answers) // args.sample)
        answers = answers[::step]

    def show(row):
        if args.verbose or not row["verdict_ok"]:
            print(f"{row['id']:9} {'right' if row['truth'] else 'wrong':5} {row['verdict']:11} "
                  f"{str(row['mistake']):30} {row['feedback'][:120]}", file=sys.stderr)

    report = run(answers, progress=show)
    if args.via_grade:
        cli = via_grade(answers, args.via_grade)
        differ = [r["id"] for r in report["rows"] if cli.get(r["id"], (None,))[0] != r["verdict"]]
        report["summary"]["grade_cli"] = {"jobs": args.via_grade, "answers": len(cli), "verdicts_differ": differ}
    md = markdown(report)
    print(md)
    if not args.no_write:
        Path(args.json).write_text(json.dumps(report, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
        Path(args.markdown).write_text(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
