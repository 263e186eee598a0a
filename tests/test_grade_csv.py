r"""A broken class CSV is named as such, at the line where it breaks, and the rows after it are still
graded. Verdicts are the slides' f = (x + y) z: ∂f/∂x = z, ∂f/∂z = x + y."""
import pytest

from symbackprop.derivation.chain_rule import derive
from symbackprop.errors import SpecError
from symbackprop.spec.load import load_spec
from symbackprop.verify.answers import AnswerChecker
from symbackprop.verify.grading import grade_rows, parse_answers_csv, summary_text
from conftest import DERIVATIONS


@pytest.fixture(scope="module")
def checker():
    return AnswerChecker(derive(load_spec(DERIVATIONS / "computational_graph.toml")))


def test_an_unclosed_quote_is_malformed_csv_at_its_line_and_the_next_rows_are_read(checker):
    rows = parse_answers_csv('student,wrt,answer\nada,"x,z\nbob,x,z\ncy,z,"x + y"\n', source="class.csv")
    assert [r["student"] for r in rows] == ["", "bob", "cy"]
    assert rows[0]["error"].startswith("class.csv: line 2: malformed CSV: a double quote opened on this line "
                                       "is not closed on it")
    assert "no 'answer' column" not in rows[0]["error"]
    report = grade_rows(checker, rows)
    assert [r["verdict"] for r in report["results"]] == ["unparseable", "correct", "correct"]


def test_a_quoted_field_over_two_lines_is_still_one_answer(checker):
    rows = parse_answers_csv('student,wrt,answer\nada,z,"x\n+ y"\nbob,x,z\n')
    assert [(r["student"], r["answer"]) for r in rows] == [("ada", "x\n+ y"), ("bob", "z")]
    assert [r["verdict"] for r in grade_rows(checker, rows)["results"]] == ["correct", "correct"]


def test_a_short_row_and_text_after_a_quote_are_named(checker):
    rows = parse_answers_csv('student,wrt,answer\nada\nbob,x,"z"q\ncy,x,z\n', source="c.csv")
    assert rows[0]["error"] == ("c.csv: line 2: malformed CSV row: 1 field for the 3 columns student, wrt, answer, "
                                "so it has no answer")
    assert rows[1]["error"].startswith("c.csv: line 3: malformed CSV: text after a closing double quote")
    assert rows[2]["student"] == "cy" and "error" not in rows[2]


def test_a_broken_header_is_one_line():
    with pytest.raises(SpecError) as info:
        parse_answers_csv('student,"wrt,answer\nada,x,z\n', source="c.csv")
    text = str(info.value)
    assert text.startswith("c.csv: line 1 (the header): malformed CSV: a double quote") and "\n" not in text


def test_one_answer_is_singular(checker):
    one = grade_rows(checker, parse_answers_csv("student,wrt,answer\nada,x,z\n"))
    assert summary_text(one).startswith("1 answer: 1 correct, 0 incorrect, 0 unparseable")
    two = grade_rows(checker, parse_answers_csv("student,wrt,answer\nada,x,z\nbob,x,y\n"))
    assert summary_text(two).startswith("2 answers: 1 correct, 1 incorrect")


def test_progress_none_shows_the_bar_only_on_a_terminal(checker):
    import io

    class Terminal(io.StringIO):
        encoding = "utf-8"

        def isatty(self):
            return True

    rows = parse_answers_csv("student,wrt,answer\nada,x,z\nbob,z,x + y\n")
    pipe, tty = io.StringIO(), Terminal()
    quiet = grade_rows(checker, rows, progress=None, stream=pipe)
    shown = grade_rows(checker, rows, progress=None, stream=tty)
    assert pipe.getvalue() == "" and "grading:" in tty.getvalue() and "2/2" in tty.getvalue()
    assert quiet == shown and [r["verdict"] for r in shown["results"]] == ["correct", "correct"]
