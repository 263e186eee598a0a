r"""Bulk grading: one verdict per CSV row, a summary, and no row can stop the batch.

Expected verdicts are the lectures' mathematics decided by hand (f = (x + y) z:
∂f/∂x = z, ∂f/∂z = x + y = q); the summary counts are counted by hand from the rows.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from symbackprop.verify.answers import AnswerChecker
from symbackprop.derivation.chain_rule import derive
from symbackprop.errors import SpecError
from symbackprop.verify.grading import (
    grade_rows,
    parse_answers_csv,
    read_answers,
    results_csv,
    summarize,
    write_atomically,
)
from symbackprop.spec.load import load_spec

ROOT = Path(__file__).resolve().parents[1]
GRAPH_SPEC = ROOT / "derivations" / "computational_graph.toml"
LECTURE_SPEC = ROOT / "derivations" / "lecture_2_2_1.toml"

CLASS_CSV = """student,wrt,answer
ada,x,z
bob,x,q
cy,,"\\frac{\\partial f}{\\partial z} = x + y"
dan,w,z
eve,x,"__import__('os').system('touch /tmp/symbackprop_pwned_grading')"
fay,y,"\\frac{\\partial f}{\\partial q}\\frac{\\partial q}{\\partial y}"
gus,z,-q
"""
EXPECTED = [
    ("ada", "correct", None),
    ("bob", "incorrect", "wrong_parameter"),
    ("cy", "correct", None),
    ("dan", "unparseable", None),    # w is no symbol of this graph
    ("eve", "unparseable", None),
    ("fay", "correct", None),
    ("gus", "incorrect", "sign"),
]


@pytest.fixture(scope="module")
def graph_checker():
    return AnswerChecker(derive(load_spec(GRAPH_SPEC)))


def test_grade_rows_verdicts_and_summary(graph_checker):
    report = grade_rows(graph_checker, parse_answers_csv(CLASS_CSV))
    got = [(r["student"], r["verdict"], r["mistake"]) for r in report["results"]]
    assert got == EXPECTED
    s = report["summary"]
    assert (s["total"], s["correct"], s["incorrect"], s["unparseable"]) == (7, 3, 2, 2)
    assert s["mistakes"] == {"wrong_parameter": 1, "sign": 1}
    assert s["by_wrt"]["x"] == {"total": 3, "correct": 1, "incorrect": 1, "unparseable": 1}
    assert s["by_wrt"]["z"]["total"] == 2  # cy's wrt comes from her Leibniz left-hand side


def test_every_result_has_the_documented_keys(graph_checker):
    report = grade_rows(graph_checker, parse_answers_csv(CLASS_CSV))
    for r in report["results"]:
        assert {"student", "wrt", "verdict", "feedback"} <= set(r)
        assert "\n" not in r["feedback"]
    unparseable = [r for r in report["results"] if r["verdict"] == "unparseable"]
    assert all("error" in r for r in unparseable)
    assert any(r["error"].get("column") == 1 for r in unparseable)


def test_one_bad_row_never_stops_the_batch(graph_checker, monkeypatch):
    real = graph_checker.check

    def flaky(text, wrt=None):
        if text == "q":
            raise RuntimeError("boom")
        return real(text, wrt)

    monkeypatch.setattr(graph_checker, "check", flaky)
    rows = parse_answers_csv(CLASS_CSV + 'hal,x\nivy,x,"z"\n')
    report = grade_rows(graph_checker, rows)
    verdicts = {r["student"]: r["verdict"] for r in report["results"]}
    assert verdicts["bob"] == "unparseable" and "boom" in report["results"][1]["feedback"]
    assert verdicts["hal"] == "unparseable"   # a row without an answer cell
    assert verdicts["ivy"] == "correct"        # the batch went on
    assert report["summary"]["total"] == 9


def test_hostile_row_executes_nothing(graph_checker):
    import os

    marker = "/tmp/symbackprop_pwned_grading"
    if os.path.exists(marker):
        os.remove(marker)
    grade_rows(graph_checker, parse_answers_csv(CLASS_CSV))
    assert not os.path.exists(marker)


def test_header_must_name_the_columns():
    with pytest.raises(SpecError, match="student, wrt, answer"):
        parse_answers_csv("name,question,text\na,b,c\n")
    with pytest.raises(SpecError, match="empty"):
        parse_answers_csv("")


def test_header_in_any_order_with_extra_columns_and_a_bom(tmp_path):
    f = tmp_path / "a.csv"
    f.write_bytes("\ufeffAnswer,Score,Student,WRT\nz,3,ada,x\n".encode("utf-8"))
    rows = read_answers(f)
    assert rows == [{"row": 1, "student": "ada", "wrt": "x", "answer": "z"}]


def test_unreadable_answers_file(tmp_path):
    with pytest.raises(SpecError, match="cannot read"):
        read_answers(tmp_path / "missing.csv")
    bad = tmp_path / "latin1.csv"
    bad.write_bytes(b"student,wrt,answer\n\xe9,x,z\n")
    with pytest.raises(SpecError, match="UTF-8"):
        read_answers(bad)


def test_results_csv_round_trips(graph_checker):
    report = grade_rows(graph_checker, parse_answers_csv(CLASS_CSV))
    rows = list(csv.DictReader(io.StringIO(results_csv(report))))
    assert [(r["student"], r["verdict"]) for r in rows] == [(s, v) for s, v, _ in EXPECTED]


def test_summarize_counts_by_hand():
    results = [{"wrt": "a", "verdict": "correct"}, {"wrt": "a", "verdict": "incorrect", "mistake": "sign"},
               {"wrt": "b", "verdict": "unparseable"}]
    s = summarize(results)
    assert (s["total"], s["correct"], s["incorrect"], s["unparseable"]) == (3, 1, 1, 1)
    assert s["by_wrt"] == {"a": {"total": 2, "correct": 1, "incorrect": 1, "unparseable": 0},
                           "b": {"total": 1, "correct": 0, "incorrect": 0, "unparseable": 1}}


def test_progress_bar_on_stderr(graph_checker):
    stream = io.StringIO()
    grade_rows(graph_checker, parse_answers_csv(CLASS_CSV), progress=True, stream=stream)
    text = stream.getvalue()
    assert "grading:" in text and "0/7" in text and "7/7" in text  # the shared tqdm bar, drawn at its total
    assert text.endswith("\r")                                       # and cleared: the terminal is left clean
    quiet = io.StringIO()
    grade_rows(graph_checker, parse_answers_csv(CLASS_CSV), progress=False, stream=quiet)
    assert quiet.getvalue() == ""


def test_grading_has_no_hand_written_bar():
    import symbackprop.verify.grading as grading

    from pathlib import Path

    source = Path(grading.__file__).read_text(encoding="utf-8")
    assert not hasattr(grading, "_Progress") and 'write(f"\\r' not in source and "from ..progress import" in source


def test_write_atomically_refuses_to_overwrite(tmp_path):
    f = tmp_path / "report.json"
    write_atomically(f, "one")
    with pytest.raises(SpecError, match="force=True") as info:
        write_atomically(f, "two")
    assert info.value.cli_message.endswith("exists; pass --force to overwrite it")
    assert f.read_text() == "one"
    write_atomically(f, "two", force=True)
    assert f.read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


# ---------------------------------------------------------------------------------------
# The grade command


def _main(argv, capsys):
    from symbackprop.cli.__init__ import main

    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_grade_json_is_deterministic(tmp_path, capsys):
    answers = tmp_path / "class.csv"
    answers.write_text(CLASS_CSV, encoding="utf-8")
    code, first, err = _main(["grade", str(GRAPH_SPEC), "--answers", str(answers), "--json", "--progress"], capsys)
    assert code == 0 and "grading:" in err and "7/7" in err
    data = json.loads(first)
    assert [r["verdict"] for r in data["results"]] == [v for _, v, _ in EXPECTED]
    assert data["summary"]["correct"] == 3
    code, second, _ = _main(["grade", str(GRAPH_SPEC), "--answers", str(answers), "--json", "--no-progress"], capsys)
    assert second == first


def test_cli_grade_output_file_and_csv(tmp_path, capsys):
    answers = tmp_path / "class.csv"
    answers.write_text(CLASS_CSV, encoding="utf-8")
    out = tmp_path / "report.csv"
    code, _, err = _main(["grade", str(GRAPH_SPEC), "--answers", str(answers), "--csv", "-o", str(out)], capsys)
    assert code == 0 and "7 answers: 3 correct" in err
    assert out.read_text(encoding="utf-8").startswith("row,student,wrt,verdict")
    code, _, err = _main(["grade", str(GRAPH_SPEC), "--answers", str(answers), "--csv", "-o", str(out)], capsys)
    assert code == 2 and "--force" in err


def test_cli_grade_text_report(tmp_path, capsys):
    answers = tmp_path / "class.csv"
    answers.write_text("student,wrt,answer\nada,\"w^{2}_{1,1}\",\"(\\hat y - y)\\hat y(1-\\hat y) a^{2}_{1}\"\n",
                       encoding="utf-8")
    code, out, _ = _main(["grade", str(LECTURE_SPEC), "--answers", str(answers)], capsys)
    assert code == 0
    assert "ada [w^{2}_{1,1}]: correct" in out and "1 answer: 1 correct" in out and "1 answers" not in out


def test_cli_grade_bad_header_is_one_line(tmp_path, capsys):
    answers = tmp_path / "class.csv"
    answers.write_text("who,what\n", encoding="utf-8")
    code, _, err = _main(["grade", str(GRAPH_SPEC), "--answers", str(answers)], capsys)
    assert code == 2 and "student, wrt, answer" in err and "Traceback" not in err


def test_generated_class_gets_every_verdict_right():
    """An independent oracle: a row is correct exactly when its mutation keeps the value."""
    from symbackprop.verify.grading import benchmark_rows

    checker = AnswerChecker(derive(load_spec(LECTURE_SPEC)))
    rows = benchmark_rows(checker.d, 60, seed=3)
    kinds = {r["kind"] for r in rows}
    assert {"same", "sigma", "sign", "double", "drop", "swap", "scale"} <= kinds
    report = grade_rows(checker, rows)
    for row, result in zip(rows, report["results"]):
        expected = "correct" if row["kind"] in ("same", "sigma", "scale") else "incorrect"
        assert result["verdict"] == expected, (row, result)
        if row["kind"] == "sign":
            assert result["mistake"] == "sign"
        if row["kind"] == "double":
            assert result["mistake"] == "constant_factor"


def test_unquoted_comma_in_wrt_gets_a_hint_not_a_parse_error():
    from symbackprop.verify.grading import parse_answers_csv

    rows = parse_answers_csv("student,wrt,answer\nana,w^{2}_{1,1},a^{2}_{1}\n", source="class.csv")
    assert "must be in double quotes" in rows[0]["error"] and "class.csv: line 2" in rows[0]["error"]
    rows = parse_answers_csv('student,wrt,answer\nana,"w^{2}_{1,1}",a^{2}_{1}\n', source="class.csv")
    assert "error" not in rows[0] and rows[0]["wrt"] == "w^{2}_{1,1}"
