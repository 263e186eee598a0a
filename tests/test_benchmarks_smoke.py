"""The benchmark's helpers on fake timings: ratios, medians, round-robin, the JSON summary.

Nothing here runs the real benchmark or times anything: every clock is fake and every
number is made up, so each expected ratio is known exactly.
"""
import importlib.util
import json
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("benchmarks_run_under_test", ROOT / "benchmarks" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


class FakeClock:
    """A clock that only moves when a fake method 'runs'."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def method(self, cost):
        def run():
            self.now += cost
        return run


def test_ratio_and_median(bench):
    assert bench.ratio(3.0, 4.0) == 0.75
    assert bench.ratio(None, 1.0) is None
    assert bench.ratio(1.0, None) is None
    assert bench.ratio(1.0, 0.0) is None
    assert bench.median([5.0, 1.0, 3.0]) == 3.0
    assert bench.median([4.0, None, 2.0, float("nan")]) == 3.0
    assert bench.median([]) is None


def test_round_robin_medians_on_a_fake_clock(bench):
    clock = FakeClock()
    calls = []

    def broken():
        raise ValueError("boom")

    def traced(name, cost):
        inner = clock.method(cost)

        def run():
            calls.append(name)
            inner()
        return run

    methods = {"a": traced("a", 0.002), "b": traced("b", 0.5), "bad": broken}
    timings = bench.round_robin(methods, 4, target_seconds=0.01, clock=clock, collect=False)
    assert timings["a"].median == pytest.approx(0.002)
    assert timings["b"].median == pytest.approx(0.5)
    assert len(timings["a"].samples) == len(timings["b"].samples) == 4
    assert timings["bad"].median is None and "ValueError: boom" in timings["bad"].error
    # a cheap method is averaged over several calls per sample (0.01 / 0.002 = 5), an expensive one is not
    assert calls.count("a") == 1 + 4 * 5 and calls.count("b") == 1 + 4
    # round-robin: warm-up a, b; then rounds a b | b a | a b | b a (the first method rotates)
    block = {"a": ["a"] * 5, "b": ["b"]}
    expected = ["a", "b"] + [c for first, second in [("a", "b"), ("b", "a")] * 2 for c in block[first] + block[second]]
    assert calls == expected


def test_timing_lower_bound_and_text(bench):
    t = bench.Timing(limit=120.0)
    assert t.median is None and t.bound == 120.0 and t.is_lower_bound
    assert t.text() == "> 120"
    done = bench.Timing(samples=[0.25, 0.5, 0.75])
    assert done.bound == 0.5 and not done.is_lower_bound and done.text(1e-3) == "500"
    failed = bench.Timing(error="disagrees")
    assert failed.bound is None and failed.text().startswith("error")


def test_target_status(bench):
    assert bench.target_status("derive_10_16_16_1_s", 0.4) == "met"
    assert bench.target_status("derive_10_16_16_1_s", 1.5) == "missed"
    assert bench.target_status("naive_over_ours_10_16_16_1", 250.0, lower_bound=True) == "met"
    assert bench.target_status("naive_over_ours_10_16_16_1", 20.0, lower_bound=True).startswith("unknown")
    assert bench.target_status("grade_1000_s", None) == "not measured"


def _quick_plan(bench):
    return bench.make_plan(bench.argparse.Namespace(quick=True, naive_limit=None, no_naive=False, no_pdf=True,
                                                    no_crossover=True))


def fake_results(bench, plan):
    """Results shaped like run_all's for ``plan``, with made-up timings:
    trainer 10 ms, its forward 4 ms, ours 12 ms, torch 8 ms (per case); derive 0.5 s;
    naive over the limit; plan.grade_count answers graded in 6 s; the worksheets in 0.4 s; the API forms
    at 1.05x (arrays) and 3x (dict) of the matrix path; our JAX code 11 ms against jit(grad)'s 10 ms;
    the other owners' scripts as dicts."""
    T = bench.Timing
    derive = {}
    for key, _ in bench.SCALAR_NETS:
        derive[key] = {"ours": T([0.5, 0.4, 0.6]), "latex": T([0.05]), "compile": T([0.2])}
    for key in plan.naive_nets:
        derive[key]["naive"] = T(limit=plan.naive_limit)
    derive["784_128_10_matrix"] = {"ours": T([0.01])}
    grad = {}
    for key, batch in plan.grad_cases:
        grad[(key, batch)] = {"trainer": T([0.010]), "trainer_forward": T([0.004]), "ours": T([0.012]),
                              "torch": T([0.008]), "jax": T(error="not installed")}
    grad[("784_128_10", 1_000)]["jax"] = T([0.010])
    grad[("784_128_10", 1_000)]["jax_ours"] = T([0.011])
    api = {(key, batch): {"matrix": T([0.002]), "pairs": T([0.0021]), "vector": T([0.00205]), "dict": T([0.006])}
           for key, batch in plan.api_cases}
    return {
        "derive": derive,
        "grad": grad,
        "api": api,
        "external": {"latex_scaling": {"latex_30_48_48_1_s": 4.5}, "answers_scaling": {
            "check_answer_median_10_16_16_1_s": 0.02, "grade_10000_s": 4.0}},
        "answers": {"check_cold": T([0.03, 0.04, 0.02]), "check_warm": T([0.01]), "checker_setup": T([0.001]),
                    "grade": T([6.0]), "grade_count": plan.grade_count},
        "worksheets": {"variants": plan.worksheet_variants, "no_pdf": T([0.4])},
        "notes": {"latex": "fake", "matrix_latex": "fake", "compile_gradients_kind_4_8_8_1": "per-scalar"},
        "meta": {"mode": "quick", "wall_s": 1.0},
    }


def test_summary_holds_the_required_keys_with_the_right_ratios(bench):
    plan = _quick_plan(bench)
    summary = bench.summarize(fake_results(bench, plan))
    assert set(bench.REQUIRED_KEYS) <= set(summary)
    # every key measured, except the naive ratio: its baseline was stopped, so there is no ratio
    assert [k for k in bench.REQUIRED_KEYS if summary[k] is None] == ["naive_over_ours_10_16_16_1"]
    assert summary["derive_10_16_16_1_s"] == pytest.approx(0.5)
    assert summary["derive_20_32_32_1_s"] == pytest.approx(0.5)
    # naive stopped at the limit: "> limit", never turned into a ratio
    assert summary["naive_over_ours_10_16_16_1"] is None
    assert summary["naive_over_ours_10_16_16_1_lower_bound"] is True
    assert summary["naive_10_16_16_1_limit_s"] == plan.naive_limit
    assert summary["grad_over_trainer_4_8_8_1_1e5"] == pytest.approx(1.2)
    assert summary["grad_over_forward_4_8_8_1_1e5"] == pytest.approx(3.0)
    assert summary["grad_over_trainer_784_128_10"] == pytest.approx(1.2)
    assert summary["grad_over_torch_4_8_8_1_1e5"] == pytest.approx(1.5)
    assert summary["check_answer_median_s"] == pytest.approx(0.03)
    # quick mode times what it prints: 1,000 answers and 100 worksheet variants, nothing scaled
    assert plan.grade_count == 1000 and plan.worksheet_variants == 100
    assert summary["grade_1000_s"] == pytest.approx(6.0)
    assert summary["worksheet_100_s"] == pytest.approx(0.4)
    assert not any(k.endswith("_extrapolated") for k in summary)
    assert summary["api_arrays_over_matrix_max"] == pytest.approx(1.05)
    assert summary["dict_over_matrix_784_128_10"] == pytest.approx(3.0)
    assert summary["jax_over_jitgrad_max"] == pytest.approx(1.1)
    assert summary["grad_over_torch_max_1e5"] == pytest.approx(1.5)
    assert summary["latex_30_48_48_1_s"] == 4.5 and summary["grade_10000_s"] == 4.0
    assert summary["check_answer_median_10_16_16_1_s"] == 0.02
    assert summary["targets"]["api_arrays_over_matrix_max"] == "met"
    assert summary["targets"]["jax_over_jitgrad_max"] == "met"
    assert summary["jax_4_8_8_1_1e5_error"] == "not installed"
    assert summary["targets"]["derive_10_16_16_1_s"] == "met"
    assert summary["targets"]["grad_over_forward_max"] == "met"
    assert summary["targets"]["grad_over_torch_max_1e5"] == "missed"


def test_quick_json_last_line_has_the_required_keys(bench, monkeypatch, capsys, tmp_path):
    """main(--quick --json) with the measurements replaced by fake results: the last stdout
    line is one JSON object with every required key, and --markdown keeps the hand-written text."""
    plan = _quick_plan(bench)
    seen = []

    def fake_run_all(plan_, use_torch=True, use_jax=True):
        seen.append(plan_)
        return fake_results(bench, plan_)

    monkeypatch.setattr(bench, "run_all", fake_run_all)
    monkeypatch.setattr(bench, "machine_info", lambda: {"cpu": "fake CPU", "cores": 2, "python": "3.x",
                                                       "numpy": "n", "sympy": "s", "blas": [], "env": {}})
    doc = tmp_path / "performance.md"
    doc.write_text(f"# Performance\n\nhand-written intro\n\n{bench.BEGIN_MARK}\nold table\n{bench.END_MARK}\n\nanalysis\n")
    assert bench.main(["--quick", "--json", "--markdown", str(doc)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    last = json.loads(lines[-1])
    assert set(bench.REQUIRED_KEYS) <= set(last)
    assert last["grad_over_trainer_4_8_8_1_1e5"] == pytest.approx(1.2)
    assert last["machine"]["cpu"] == "fake CPU"
    text = doc.read_text()
    assert "hand-written intro" in text and "analysis" in text and "old table" not in text
    assert "fake CPU" in text and "| [4, 8, 8, 1] | 100,000 |" in text
    # the stopped baseline prints "> limit" and no ratio
    assert f"> {plan.naive_limit:g}" in text and "stopped: no ratio" in text and "≥" not in text
    assert "scaled" not in text and "1,000 answers graded" in text
    assert [p.grad_cases for p in seen] == [plan.grad_cases] and seen[0].quick


def test_quick_plan_covers_every_required_key(bench):
    plan = _quick_plan(bench)
    assert ("4_8_8_1", 100_000) in plan.grad_cases
    assert any(key == "784_128_10" for key, _ in plan.grad_cases)
    assert "10_16_16_1" in plan.naive_nets


def test_flatten_agrees_across_the_gradient_layouts(bench):
    np = pytest.importorskip("numpy")
    layers = (2, 3, 1)
    pairs = [(np.arange(6.0).reshape(2, 3), np.array([[10.0, 11.0, 12.0]])), (np.array([[20.0], [21.0], [22.0]]),
                                                                              np.array([[30.0]]))]
    by_name = {}
    for k, (W, b) in enumerate(pairs, start=1):
        for i in range(W.shape[1]):
            for j in range(W.shape[0]):
                by_name[f"w^{{{k}}}_{{{i + 1},{j + 1}}}"] = W[j, i]
            by_name[f"b^{{{k}}}_{{{i + 1}}}"] = b[0, i]
    expected = np.array([0, 1, 2, 3, 4, 5, 10, 11, 12, 20, 21, 22, 30], dtype=float)
    assert np.array_equal(bench.flatten(layers, pairs), expected)
    assert np.array_equal(bench.flatten(layers, by_name), expected)
    assert np.array_equal(bench.flatten(layers, {"dW_1": pairs[0][0], "db_1": pairs[0][1],
                                                 "dW_2": pairs[1][0], "db_2": pairs[1][1]}), expected)


def test_specs_of_the_derive_rows_have_data(bench):
    text = bench.network_spec_text((3, 4, 2), "sigmoid", "bce")
    assert "[data]" in text and "x = [[-0.5, -0.25, 0.0]]" in text and "y = [[1.0, 0.0]]" in text


def test_full_plan_runs_the_naive_baseline_to_completion_at_10_16_16_1(bench):
    plan = bench.make_plan(bench.argparse.Namespace(quick=False, naive_limit=None, no_naive=False, no_pdf=True,
                                                    no_crossover=True))
    assert plan.naive_limits["10_16_16_1"] >= 600 and "10_16_16_1" in plan.naive_nets
    assert all(b <= 1000 for _, b in plan.api_cases) and ("784_128_10", 1) in plan.api_cases


def test_external_scripts_by_path(bench, tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "EXTERNAL_SCRIPTS", ("fake_scaling", "missing_scaling"))
    (tmp_path / "fake_scaling.py").write_text("def measure(quick):\n    return {'grade_10000_s': 1.5 if quick else 2.5}\n")
    got = bench.measure_external(True, folder=tmp_path)
    assert got["fake_scaling"] == {"grade_10000_s": 1.5}
    assert "absent" in got["missing_scaling"]["note"]
