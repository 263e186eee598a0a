"""Every input is an answer (issue 12): towers, huge numbers, deep nesting, threads, fuzzing.

Each check ends in a verdict or a one-line ``unparseable`` error, never a traceback, and the
time limit holds in the main thread, in worker threads and in worker processes.
"""
from __future__ import annotations

import concurrent.futures
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symbackprop import derive, load_spec
from symbackprop.verify import answers
from symbackprop.verify import checker as checker_module
from symbackprop.verify.answers import AnswerChecker

LECTURE = "derivations/lecture_2_2_1.toml"
VERDICTS = {"correct", "incorrect", "unparseable"}

HOSTILE = [
    r"e^{e^{e^{e^{e^{e^{e^{x_1}}}}}}}",
    r"e^{e^{e^{e^{e^{e^{e^{e^{e^{e^{\hat{y}}}}}}}}}}}",
    r"\exp(\exp(\exp(\exp(\exp(\exp(\exp(\exp(a^{2}_{1}))))))))",
    r"\log(\log(\log(\log(\log(\log(x_1))))))",
    r"10^{10^{10}}",
    r"999999999999999999999999999999^{64}",
    r"(\hat{y}^{64})^{64}",
    r"2^{2^{2^{2^{2^{2}}}}}",
    "(" * 40 + "x_1" + ")" * 40,
    r"\frac{1}{0}",
    r"\frac{1}{\hat{y} - \hat{y}}",
    r"\sigma(\sigma(\sigma(\sigma(\sigma(\sigma(\sigma(\sigma(e^{e^{e^{x_1}}}))))))))",
    r"\tanh(e^{e^{e^{e^{e^{x_1}}}}})",
    r"0.000000000000000000000000000001^{64}",
    "x_1 " * 500,
    "\\frac{\\partial L}{\\partial w^{1}_{1,1}} = " * 30,
]


@pytest.fixture(scope="module")
def checker():
    return AnswerChecker(derive(load_spec(LECTURE)))


def _one_line(v):
    assert v.verdict in VERDICTS
    assert "Traceback" not in v.feedback
    if v.verdict == "unparseable":
        assert v.error and "\n" not in v.error["message"]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_answers_end_in_a_verdict(checker, text):
    v = checker.check(text, wrt="w^{1}_{1,1}")
    _one_line(v)
    assert v.verdict != "correct"


def test_exp_tower_is_a_one_line_error(checker):
    v = checker.check(r"e^{e^{e^{e^{e^{e^{e^{x_1}}}}}}}", wrt="w^{2}_{1,1}")
    assert v.verdict == "unparseable"
    assert "too large" in v.feedback


def test_hostile_answers_in_worker_threads(checker):
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        verdicts = list(pool.map(lambda t: checker.check(t, wrt="w^{1}_{1,1}"), HOSTILE))
    for v in verdicts:
        _one_line(v)
        assert v.verdict != "correct"


def _slow(*args, **kwargs):
    # pure-Python work that never ends by itself: only the time limit stops it
    while True:
        sum(range(1000))


@pytest.mark.parametrize("where", ["main", "thread"])
def test_time_limit_holds_in_main_thread_and_worker_threads(monkeypatch, where):
    c = AnswerChecker(derive(load_spec(LECTURE)))
    monkeypatch.setattr(checker_module, "ANSWER_SECONDS", 0.3)   # the limit check() reads
    monkeypatch.setattr(AnswerChecker, "_check", _slow)
    out = {}

    def run():
        out["v"] = c.check("x_1", wrt="w^{1}_{1,1}")

    if where == "main":
        run()
    else:
        t = threading.Thread(target=run)
        t.start()
        t.join(30)
        assert not t.is_alive()
    assert out["v"].verdict == "unparseable"
    assert out["v"].error == {"message": "time limit"}


def _check_in_process(text):
    c = AnswerChecker(derive(load_spec(LECTURE)))
    return c.check(text, wrt="w^{1}_{1,1}").verdict


def test_hostile_answers_in_worker_processes():
    with concurrent.futures.ProcessPoolExecutor(max_workers=2) as pool:
        verdicts = list(pool.map(_check_in_process, HOSTILE[:6]))
    assert set(verdicts) <= VERDICTS and "correct" not in verdicts


def test_a_limit_that_ran_out_is_not_left_pending(checker):
    # after many bounded checks in a thread, no stray _Budget is raised later
    def run():
        for _ in range(20):
            checker.check(r"(\hat{y} - y) a^{2}_{1}", wrt="w^{2}_{1,1}")
        time.sleep(0.05)
        return "done"

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        assert list(pool.map(lambda _: run(), range(2))) == ["done", "done"]


FRAGMENTS = [r"\hat{y}", "y", "x_1", "x_2", "a^{2}_{1}", "z^{3}_{1}", "w^{2}_{1,1}", "b^{1}_{1}", "1", "2",
             "0.5", "999999999999999999", r"\sigma(", r"\exp(", "e^{", r"\log(", r"\tanh(", "(", ")", "{", "}",
             "^", "_", "+", "-", r"\cdot", r"\frac{", "}{", "=", r"\partial", "'", r"\sum_{j}", "^{64}",
             r"\left(", r"\right)", r"\text{ok}", ".", ",", r"\approx", r"\mathbf{", r"\mathcal{L}", "J", "^{(2)}",
             "^{[1]}", r"\over", "ŷ", "σ′", "⊙", "²"]


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=14))
def test_fuzz_latex_fragments(checker, parts):
    text = " ".join(parts)
    start = time.monotonic()
    v = checker.check(text, wrt="w^{1}_{1,1}")
    assert time.monotonic() - start < answers.ANSWER_SECONDS + 2
    _one_line(v)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.recursive(st.sampled_from(["x_1", r"\hat{y}", "a^{2}_{1}", "2", "10^{30}"]),
                    lambda inner: st.one_of(
                        inner.map(lambda t: "e^{" + t + "}"),
                        inner.map(lambda t: r"\log(" + t + ")"),
                        inner.map(lambda t: "(" + t + ")^{64}"),
                        st.tuples(inner, inner).map(lambda p: p[0] + "^{" + p[1] + "}"),
                        st.tuples(inner, inner).map(lambda p: r"\frac{" + p[0] + "}{" + p[1] + "}")),
                    max_leaves=8))
def test_fuzz_towers_of_exp_log_and_powers(checker, text):
    v = checker.check(text, wrt="w^{1}_{1,1}")
    _one_line(v)
    assert v.verdict != "correct"
