"""`check` says what it compared: an exact match is called one (never "0.00e+00 (at -)"), gradients
that are 0 on both sides are counted, and finite differences show their plain error."""
import json
from pathlib import Path

from symbackprop.check.compare import Comparison, error_stats
from symbackprop.cli import main

DERIVATIONS = Path(__file__).resolve().parent.parent / "derivations"


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_no_line_reads_as_an_error_of_zero_at_nothing(capsys):
    for spec in ("lecture_2_2_1.toml", "gender.toml", "learning_rate.toml", "vanishing_gradient_relu.toml"):
        code, out, _ = _run(capsys, "check", DERIVATIONS / spec, "--trials", "1")
        assert code == 0 and "all gradients agree" in out
        assert "at -" not in out and "0.00e+00" not in out, out


def test_the_lectures_zero_gradients_are_counted(capsys):
    # the lecture's example has x = (1, 0): every weight from input 2 has the gradient 0 (slides 2.2.1),
    # so 2 of the 9 gradients are 0 on both sides at the spec's parameters
    code, out, _ = _run(capsys, "check", DERIVATIONS / "lecture_2_2_1.toml", "--trials", "0", "--json")
    data = json.loads(out)
    spec_rows = [c for c in data["comparisons"] if c["trial"] == "spec parameters"]
    assert {c["oracle"] for c in spec_rows} == {"trainer backprop", "finite differences"}
    assert all(c["compared"] == 9 and c["zeros"] == 2 for c in spec_rows)
    assert all("2 of them 0 on both sides" in c["summary"] for c in spec_rows)
    fd = next(c for c in spec_rows if c["oracle"] == "finite differences")
    assert 0 < fd["max_relative_error"] < 1e-6        # a real difference quotient is never exact here
    assert fd["beyond_allowance"] is not None and fd["beyond_allowance"] <= fd["max_relative_error"]


def test_summary_words():
    exact = Comparison("trainer backprop", "t", 0.0, "w", 1e-9, compared=6)
    assert exact.summary() == "all 6 gradients are equal exactly (tolerance 1e-09)"
    dead = Comparison("trainer backprop", "t", 0.0, "w", 1e-9, compared=6, zeros=6)
    assert "all 6 are 0 on both sides, so this point tests only that" in dead.summary()
    one = Comparison("finite differences", "t", 0.0, "w", 1e-4, compared=1)
    assert one.summary().startswith("1 gradient (w): the two values are equal exactly")
    rescued = Comparison("finite differences", "t", 3e-4, "w", 1e-4, compared=2, beyond_allowance=5e-5)
    assert rescued.ok and "max relative error 3.00e-04 (at w; 2 gradients" in rescued.summary()
    assert "after each difference's own error estimate: 5.00e-05" in rescued.summary()
    assert not Comparison("finite differences", "t", 3e-4, "w", 1e-4, compared=2, beyond_allowance=2e-4).ok


def test_error_stats_keep_the_plain_error_and_the_verdicts_apart():
    stats = error_stats({"a": 1.0, "b": 0.0, "c": 2.0}, {"a": 1.0 + 1e-3, "b": 0.0, "c": 2.0},
                        floor=1e-4, slack={"a": 2e-3})
    assert stats["at"] == "a" and abs(stats["error"] - 1e-3 / (1 + 1e-3)) < 1e-15
    assert stats["beyond"] == 0.0 and stats["zeros"] == 1
    assert error_stats({"x": 0.0}, {"x": 0.0}) == {"error": 0.0, "at": "x", "beyond": 0.0, "beyond_at": "x",
                                                   "zeros": 1}
