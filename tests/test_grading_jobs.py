"""grade's memo and --jobs (issue 15): a class's answers graded with verdicts memoized per
(target, answer) within the run, and across worker processes, give exactly the report of one
fresh check per row in one process."""
from __future__ import annotations

import contextlib
import csv
import io
import json
from pathlib import Path

import pytest

from symbackprop import cli
from symbackprop.derivation.chain_rule import derive
from symbackprop.spec.load import load_spec
from symbackprop.verify.answers import AnswerChecker
from symbackprop.verify.grading import _grade_one, benchmark_rows, grade_rows

LECTURE = Path(__file__).resolve().parents[1] / "derivations" / "lecture_2_2_1.toml"

EXTRA = [("ada", "w_{1,1}^2", r"(\hat{y} - y)\hat{y}(1-\hat{y}) a^{2}_{1}"),
         ("bob", "w^{2}_{1,1}", r"(\hat{y} - y)\hat{y}(1-\hat{y}) a^{2}_{1}"),
         ("cy", "w^{2}_{1,1}", r"(\hat{y} - y)\hat{y}(1-\hat{y}) a^{2}_{1} +"),
         ("dee", "w^{9}_{9,9}", "x_1"), ("eve", "", r"\frac{\partial L}{\partial b^{2}_{1}} = \hat{y} - y"),
         ("fay", "b^{2}_{1}", "0"), ("gus", "b^{2}_{1}", r"2(\hat{y} - y)\hat{y}(1-\hat{y})")]


def _rows(n: int, seed: int) -> list:
    d = derive(load_spec(LECTURE))
    rows = [(r["student"], r["wrt"], r["answer"]) for r in benchmark_rows(d, n, seed)]
    return rows + EXTRA * 3


def _csv(path: Path, rows) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["student", "wrt", "answer"])
        w.writerows(rows)
    return path


def _grade(args) -> str:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert cli.main(args) == 0, err.getvalue()
    return out.getvalue()


def test_memoized_verdicts_are_the_fresh_ones():
    rows = [{"row": k + 1, "student": s, "wrt": w, "answer": a} for k, (s, w, a) in enumerate(_rows(120, 5))]
    d = derive(load_spec(LECTURE))
    report = grade_rows(AnswerChecker(d), rows)
    fresh = [_grade_one(AnswerChecker(d), row) for row in rows]
    assert report["results"] == fresh
    assert len({(r["wrt"], r["answer"]) for r in rows}) < len(rows)  # the memo was used


@pytest.mark.parametrize("fmt", ["--json", "--csv"])
def test_jobs_give_the_same_bytes(tmp_path, fmt):
    path = _csv(tmp_path / "class.csv", _rows(300, 7))
    one = _grade(["grade", str(LECTURE), "--answers", str(path), fmt, "--no-progress"])
    three = _grade(["grade", str(LECTURE), "--answers", str(path), fmt, "--no-progress", "--jobs", "3"])
    assert one == three
    if fmt == "--json":
        summary = json.loads(one)["summary"]
        assert summary["total"] == 300 + 3 * len(EXTRA) and summary["correct"] > 0 and summary["incorrect"] > 0


def test_jobs_is_bounded(tmp_path):
    path = _csv(tmp_path / "class.csv", EXTRA)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exc:
        cli.main(["grade", str(LECTURE), "--answers", str(path), "--jobs", "0"])
    assert exc.value.code == 2 and "--jobs" in err.getvalue()
