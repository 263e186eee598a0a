r"""Matrix answers for matrix specs (issue 5): the slides' backward steps verify, and the usual
mistakes get the right verdict and feedback (a missing transpose with the shapes that do not fit).

Oracles independent of the checker's exact machinery: the trainer's hand-written backprop
(dW_l, db_l) and the core engine's per-scalar chain rule (dz_l, da_l), both in floats at the spec's
numbers, and the shapes the slides teach ((n, N_1) = (4, 2) for a_1 of the gender network).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symbackprop.check import trainer
from symbackprop.verify.answers import AnswerChecker, checker_for_spec
from symbackprop.verify.answers_matrix import Elementwise, MatrixAnswerChecker, Power
from symbackprop.cli.__init__ import main
from symbackprop.derivation.chain_rule import derive
from symbackprop.errors import ParseError
from symbackprop.derivation.matrix_form import LOSS_RULES, ShapeError, evaluate, walk
from symbackprop.spec.load import load_spec

ROOT = Path(__file__).resolve().parents[1]
GENDER = ROOT / "derivations" / "gender.toml"


@pytest.fixture(scope="module")
def gender():
    return AnswerChecker(load_spec(GENDER))


# (wrt or None, answer, verdict, mistake) for the slides' gender network (2-2-1, sigmoid, BCE, mean over 4)
CASES = [
    # --- the slides' seven steps, in several forms --------------------------------------------------
    ("dz_2", r"\hat{y} - y", "correct", None),
    ("dz_2", r"\sigma(z_2) - y", "correct", None),
    ("dz_2", r"\frac{1}{1 + e^{-z_2}} - y", "correct", None),
    (None, r"dz_2 = \frac{\partial L}{\partial \hat{y}} \odot \frac{\partial \hat{y}}{\partial z_2} = "
           r"\frac{\hat{y} - y}{\hat{y}(1 - \hat{y})} \odot \hat{y}(1 - \hat{y}) = \hat{y} - y", "correct", None),
    ("dW_2", r"a_1^T dz_2", "correct", None),
    ("dW_2", r"a_1^{T} \cdot dz_2", "correct", None),
    ("dW_2", r"a_1^\top (\hat{y} - y)", "correct", None),
    ("dW_2", r"(dz_2^T a_1)^T", "correct", None),
    (None, r"\frac{\partial L}{\partial W_2} = a_1^T \cdot dz_2", "correct", None),
    (None, r"\frac{\partial L}{\partial w_2} = a_1^T \cdot dz_2", "correct", None),  # the slides' lowercase w_2
    ("db_2", r"\sum dz_2", "correct", None),
    ("b_2", r"\sum_{\text{rows}} (\hat y - y)", "correct", None),
    ("da_1", r"dz_2 W_2^T", "correct", None),
    (None, r"\frac{\partial L}{\partial a_1} = dz_2 \cdot w_2^T", "correct", None),
    ("dz_1", r"dz_2 W_2^T \odot a_1(1 - a_1)", "correct", None),
    ("dz_1", r"da_1 \odot a_1 \odot (1 - a_1)", "correct", None),
    ("dz_1", r"\sigma'(z_1) ⊙ dz_2 W_2^T", "correct", None),
    (None, r"dz_1 = \frac{\partial L}{\partial a_1} \cdot a_1 \cdot (1 - a_1)", "correct", None),
    (None, r"\frac{\partial L}{\partial z_1} = \frac{\partial L}{\partial a_1} \cdot \frac{\partial a_1}{\partial z_1}",
     "correct", None),
    ("dW_1", r"x^T dz_1", "correct", None),
    ("dW_1", r"X^T \delta_1", "correct", None),
    ("db_1", r"\sum dz_1", "correct", None),
    (r"d\hat{y}", r"-\frac{y}{\hat y} + \frac{1 - y}{1 - \hat y}", "correct", None),
    # --- the usual mistakes ---------------------------------------------------------------------
    ("dW_2", r"a_1 dz_2", "incorrect", "missing_transpose"),
    ("dW_2", r"dz_2 a_1^T", "incorrect", "wrong_order"),
    ("dW_2", r"dz_2^T a_1", "incorrect", "wrong_order"),
    ("dW_1", r"dz_1^T x", "incorrect", "wrong_order"),
    ("dz_1", r"dz_2 W_2 \odot a_1(1 - a_1)", "incorrect", "missing_transpose"),
    ("dz_1", r"W_2^T dz_2 \odot a_1(1 - a_1)", "incorrect", "wrong_order"),
    ("dW_2", r"x^T dz_2", "incorrect", "wrong_matrix"),
    ("dz_1", r"dz_2 W_2^T", "incorrect", "activation_derivative_missing"),
    ("dz_1", r"dz_2 W_2^T \odot a_1", "incorrect", "missing_factor"),
    ("dz_1", r"dz_2 W_2^T \odot a_1(1 - a_1) \odot a_1(1 - a_1)", "incorrect", "activation_derivative_twice"),
    ("dz_1", r"dz_2 W_2^T \odot z_1(1 - z_1)", "incorrect", "wrong_matrix"),
    ("dW_1", r"x^T (dz_2 W_2^T)", "incorrect", "activation_derivative_missing"),
    ("dz_2", r"y - \hat{y}", "incorrect", "sign"),
    ("dz_2", r"\frac{1}{n}(\hat{y} - y)", "correct", None),          # dz_2 read as ∂J/∂z_2 (Ng's dZ)
    ("dz_2", r"\frac{\partial L}{\partial z_2} = \frac{1}{n}(\hat{y} - y)", "incorrect", "constant_factor"),
    ("dz_2", r"(\hat{y} - y) \odot \hat{y}(1 - \hat{y})", "incorrect", "activation_derivative_twice"),
    ("dz_2", r"\frac{\hat y - y}{\hat y (1 - \hat y)}", "incorrect", "activation_derivative_missing"),
    ("db_2", r"dz_2", "incorrect", "missing_sum"),
    ("dz_2", r"\sum dz_2", "incorrect", "extra_sum"),
    ("db_2", r"0", "incorrect", "shape_mismatch"),
    ("dz_1", r"dz_2 W_2^T \odot \log(a_1)", "incorrect", "counterexample"),
    ("dW_2", r"dW_2", "incorrect", "no_answer"),
    # --- unreadable -----------------------------------------------------------------------------
    ("dW_2", r"a_3^T dz_2", "unparseable", None),
    ("dW_2", r"a_1^{-1} dz_2", "unparseable", None),
    ("dW_2", r"a_1^T dz_2 +", "unparseable", None),
    (None, r"a_1^T dz_2", "unparseable", None),
    ("dW_2", r"__import__('os').system('touch /tmp/symbackprop_pwned_matrix')", "unparseable", None),
]


def test_enough_cases():
    assert len(CASES) >= 15
    assert sum(1 for c in CASES if c[2] == "correct") >= 8
    assert {c[3] for c in CASES} >= {"missing_transpose", "wrong_order", "sign", "constant_factor",
                                     "activation_derivative_missing", "missing_factor", "counterexample"}


@pytest.mark.parametrize("wrt, answer, verdict, mistake", CASES, ids=[f"{i}-{c[2]}" for i, c in enumerate(CASES)])
def test_matrix_verdicts(gender, wrt, answer, verdict, mistake):
    marker = "/tmp/symbackprop_pwned_matrix"
    if os.path.exists(marker):
        os.remove(marker)
    result = gender.check(answer, wrt)
    assert result.verdict == verdict, result.feedback
    assert result.mistake == mistake, result.feedback
    if verdict != "unparseable":
        assert result.notation == "matrix" and result.to_json()["notation"] == "matrix"
    if verdict == "correct":
        assert "exact evaluation of every entry" in result.decided_by
    if verdict == "unparseable":
        assert result.error and result.error["message"]
    assert not os.path.exists(marker)


# ---------------------------------------------------------------------------------------
# Independent oracles: the trainer (dW, db) and the per-scalar chain rule (dz, da), in floats


def _oracle(md_sum, d, target):
    """The gradient of Σ_e L_e at the spec's numbers, from code that shares nothing with the checker."""
    of = md_sum.gradient_of(target) if target != "dyhat" else "yhat"
    if of.startswith(("W_", "b_")):
        net = trainer.Network(md_sum.layers, md_sum.activations, md_sum.loss, "sum")
        X, Y = md_sum.spec_data()
        grads = trainer.gradients(net, md_sum.spec_matrices, X, Y)
        l = int(of[2:])
        return grads[l - 1][0 if of.startswith("W_") else 1]
    rows = []
    for example in d.examples():
        values = d.exact_values(example)
        node_grads = d.exact_node_gradients(values)
        width = md_sum.layers[md_sum.depth if of == "yhat" else int(of[2:])]
        rows.append([float(sympy.N(node_grads[md_sum.index_name(of, 1, i)], 30)) for i in range(1, width + 1)])
    return np.array(rows)


def test_verdicts_agree_with_the_trainer_and_the_per_scalar_chain_rule(gender):
    m = gender.matrix
    md_sum = m.per_example
    d = derive(load_spec(GENDER))
    env = md_sum.environment()
    env["dyhat"] = evaluate(LOSS_RULES["bce"].gradient(md_sum.matrix("yhat"), md_sum.matrix("y"), 1), env)
    checked = 0
    for wrt, answer, verdict, mistake in CASES:
        if verdict == "unparseable" or wrt is None or mistake == "no_answer":
            continue
        target = m.target_name(wrt)
        try:
            sides = m.parse(answer)
        except ShapeError:
            assert verdict == "incorrect"
            continue
        tree = sides[-1]
        if tree.shape is None or tree.shape.labels != m.targets[target].mat.shape.labels:
            assert verdict == "incorrect"
            continue
        if any(isinstance(e, (Elementwise, Power)) for e in walk(tree)):
            continue  # float evaluation of the matrix form has no exp/log nodes
        value = np.asarray(evaluate(tree, env), dtype=float)
        expected = _oracle(md_sum, d, target)
        close = np.allclose(value, expected, rtol=1e-9, atol=1e-12)
        if wrt.startswith("d") and "partial" not in answer:   # dz_2 without a ∂ may also be Ng's ∂J/∂z_2 = (1/n) ∂L/∂z_2
            n = np.asarray(env["x"], dtype=float).shape[0]
            close = close or np.allclose(value, expected / n, rtol=1e-9, atol=1e-12)
        assert close == (verdict == "correct"), (answer, value, expected)
        checked += 1
    assert checked >= 25


# ---------------------------------------------------------------------------------------
# Feedback


def test_missing_transpose_names_both_shapes(gender):
    r = gender.check("a_1 dz_2", "dW_2")
    assert r.mistake == "missing_transpose"
    assert "a_1ᵀ dz_2" in r.feedback
    # the slides' shapes: a_1 is (n, N_1) = (4, 2) (4 examples, 2 hidden neurons), dz_2 is (n, N_2) = (4, 1)
    assert "a_1 is (n, N_1) = (4, 2)" in r.feedback and "dz_2 is (n, N_2) = (4, 1)" in r.feedback
    assert r.shapes["left"] == {"expression": "a_1", "shape": "(n, N_1) = (4, 2)"}
    assert r.shapes["right"] == {"expression": "dz_2", "shape": "(n, N_2) = (4, 1)"}
    assert r.shapes["fix"] == "a_1ᵀ dz_2"


def test_wrong_order_names_the_shapes(gender):
    r = gender.check("dz_2 a_1^T", "dW_2")
    assert r.mistake == "wrong_order" and "write a_1ᵀ dz_2" in r.feedback
    assert "(N_1, n) = (2, 4)" in r.feedback


def test_transposed_weight_gradient_is_caught_by_dimension_names_when_sizes_agree(gender):
    # gender: N_0 = N_1 = 2, so dz_1ᵀ x has the same sizes as dW_1 but not the same dimensions
    r = gender.check("dz_1^T x", "dW_1")
    assert r.verdict == "incorrect" and r.mistake == "wrong_order"
    assert r.shapes == {"answer": "(N_1, N_0) = (2, 2)", "expected": "(N_0, N_1) = (2, 2)", "fix": "xᵀ dz_1"}
    assert "the sizes agree, but the dimensions do not" in r.feedback


def test_missing_activation_derivative_is_named(gender):
    r = gender.check(r"dz_2 W_2^T", "dz_1")
    assert "a_1 ⊙ (1 − a_1)" in r.feedback and "∂a_1/∂z_1" in r.feedback
    r = gender.check(r"dz_2 W_2^T \odot a_1", "dz_1")
    assert "missing the ⊙ factor 1 − a_1" in r.feedback   # under each reading of dz_1 (∂L, ∂J)


def test_one_over_n_is_a_constant_factor_and_the_mean_is_noted(gender):
    r = gender.check(r"\frac{\partial L}{\partial W_2} = \frac{1}{n} a_1^T dz_2")
    assert r.mistake == "constant_factor" and "1/n = 1/4" in r.feedback
    assert gender.check(r"\frac{1}{n} a_1^T dz_2", "dW_2").verdict == "correct"   # dW_2 may be ∂J/∂W_2
    ok = gender.check(r"\hat y - y", "dz_2")
    assert ok.verdict == "correct" and "∂L/∂z_2" in ok.feedback and "1/n = ¼" in ok.note


def test_counterexample_gives_an_entry_and_both_values(gender):
    r = gender.check(r"dz_2 W_2^T \odot \log(a_1)", "dz_1")
    cx = r.counterexample
    assert cx["entry"] == [1, 1] or len(cx["entry"]) == 2
    assert set(cx["point"]) == {"x", "y", "W_1", "b_1", "W_2", "b_2"}
    assert np.array(cx["point"]["W_1"]).shape == (2, 2) and np.array(cx["point"]["x"]).shape == (4, 2)
    assert cx["shown"]["answer"] in r.feedback and cx["shown"]["expected"] in r.feedback
    # independent: recompute the entry in floats from the point
    P = {k: np.array([[float(sympy.Rational(v)) for v in row] for row in rows]) for k, rows in cx["point"].items()}
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    a1 = sig(P["x"] @ P["W_1"] + P["b_1"])
    yhat = sig(a1 @ P["W_2"] + P["b_2"])
    dz1 = ((yhat - P["y"]) @ P["W_2"].T) * a1 * (1 - a1)
    answer = ((yhat - P["y"]) @ P["W_2"].T) * np.log(a1)
    i, j = cx["entry"][0] - 1, cx["entry"][1] - 1
    assert float(cx["expected"]) == pytest.approx(dz1[i, j], rel=1e-8)
    assert float(cx["answer"]) == pytest.approx(answer[i, j], rel=1e-8)


def test_verdicts_are_deterministic(gender):
    text = r"dz_2 W_2^T \odot \log(a_1)"
    first = json.dumps(gender.check(text, "dz_1").to_json(), sort_keys=True, ensure_ascii=False)
    fresh = AnswerChecker(load_spec(GENDER))
    assert json.dumps(fresh.check(text, "dz_1").to_json(), sort_keys=True, ensure_ascii=False) == first


def test_a_chain_is_checked_step_by_step(gender):
    r = gender.check(r"dW_2 = a_1^T dz_2 = a_1^T (y - \hat{y})")
    assert r.verdict == "incorrect" and r.mistake == "sign"
    assert [s.equal for s in r.steps] == [True, False]
    assert "step 2" in r.feedback


def test_index_notation_still_works_on_a_matrix_spec(gender):
    r = gender.check(r"(\hat y - y)\, a^{2}_{1}", "w^{2}_{1,1}")
    assert r.verdict == "correct" and r.notation is None
    # z_2 of a width-1 layer is also the index node z^{3}_{1}: the index reading comes first
    r = gender.check(r"\hat y - y", "z_2")
    assert r.verdict == "correct" and r.wrt == "z^{3}_{1}"
    # b_2 with a sum over the batch can only be the matrix db_2
    r = gender.check(r"\sum dz_2", "b_2")
    assert r.verdict == "correct" and r.wrt == "db_2"


def test_unknown_wrt_lists_the_gradients(gender):
    r = gender.check("a_1", "dW_3")
    assert r.verdict == "unparseable" and "dW_2" in r.feedback and "dz_1" in r.feedback


def test_parse_gives_shape_errors_that_name_both_shapes(gender):
    with pytest.raises(ShapeError, match=r"N_1 columns against n rows"):
        gender.matrix.parse("a_1 dz_2")
    with pytest.raises(ParseError):
        gender.matrix.parse(r"a_1^T \frac{")


# ---------------------------------------------------------------------------------------
# Another network: tanh hidden layer, sigmoid output, squared error (no fused output step)

OTHER = """
title = "tanh-sigmoid, squared error"
notation = "matrix"

[network]
layers = [3, 4, 2]
activations = ["tanh", "sigmoid"]
loss = "squared_error"
reduction = "sum"

[parameters]
seed = 1

[data]
x = [[1, 0, 2], [0, -1, 1], [2, 1, 0]]
y = [[0, 1], [1, 0], [1, 1]]
"""


@pytest.fixture(scope="module")
def other(tmp_path_factory):
    path = tmp_path_factory.mktemp("spec") / "other.toml"
    path.write_text(OTHER, encoding="utf-8")
    return MatrixAnswerChecker(load_spec(path))


@pytest.mark.parametrize("wrt, answer, verdict, mistake", [
    (r"d\hat{y}", r"2(\hat y - y)", "correct", None),
    ("dz_2", r"2(\hat y - y) \odot \hat y (1 - \hat y)", "correct", None),
    ("dz_2", r"d\hat{y} \odot \sigma'(z_2)", "correct", None),
    ("dz_1", r"dz_2 W_2^T \odot (1 - a_1^2)", "correct", None),
    ("dz_1", r"dz_2 W_2^T \odot (1 - \tanh^2(z_1))", "correct", None),
    ("dW_1", r"x^T (dz_2 W_2^T \odot (1 - a_1 \odot a_1))", "correct", None),
    ("dz_2", r"(\hat y - y) \odot \hat y (1 - \hat y)", "incorrect", "constant_factor"),
    ("dz_1", r"dz_2 W_2^T \odot a_1 (1 - a_1)", "incorrect", "wrong_activation_derivative"),
    ("dW_1", r"x dz_1", "incorrect", "missing_transpose"),
    ("dz_2", r"\hat y - y", "incorrect", "activation_derivative_missing"),
])
def test_a_network_without_the_fused_step(other, wrt, answer, verdict, mistake):
    r = other.check(answer, wrt)
    assert (r.verdict, r.mistake) == (verdict, mistake), r.feedback
    assert r.note is None  # reduction = "sum": nothing to note


def test_sizes_of_the_other_network_in_shape_messages(other):
    r = other.check("x dz_1", "dW_1")
    # x is (n, N_0) = (3, 3) and dz_1 is (n, N_1) = (3, 4): 3 examples, 3 inputs, 4 hidden neurons
    assert "x is (n, N_0) = (3, 3)" in r.feedback and "dz_1 is (n, N_1) = (3, 4)" in r.feedback


# ---------------------------------------------------------------------------------------
# The command line


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_verify_matrix_answers(capsys):
    code, out, _ = _run(capsys, "verify", GENDER, "--wrt", "dW_2", "--answer", "a_1^T dz_2")
    assert code == 0 and out.startswith("correct") and "note:" in out
    code, out, _ = _run(capsys, "verify", GENDER, "--wrt", "dz_1", "--answer", r"dz_2 W_2^T \odot a_1(1 - a_1)")
    assert code == 0
    code, out, _ = _run(capsys, "verify", GENDER, "--wrt", "dz_2", "--answer", r"\hat{y} - y")
    assert code == 0
    code, out, _ = _run(capsys, "verify", GENDER, "--wrt", "db_2", "--answer", r"\sum dz_2")
    assert code == 0


def test_cli_verify_missing_transpose_exits_1_with_the_shapes(capsys):
    code, out, _ = _run(capsys, "verify", GENDER, "--wrt", "dW_2", "--answer", "a_1 dz_2", "--json")
    assert code == 1
    report = json.loads(out)
    assert report["verdict"] == "incorrect" and report["mistake"] == "missing_transpose"
    assert report["wrt"] == "dW_2" and report["notation"] == "matrix"
    assert report["shapes"]["left"]["shape"] == "(n, N_1) = (4, 2)"


def test_cli_verify_unparseable_exits_2(capsys):
    code, out, err = _run(capsys, "verify", GENDER, "--wrt", "dW_2", "--answer", "a_1^T dz_2 +", "--json")
    assert code == 2
    report = json.loads(out)
    assert report["verdict"] == "unparseable" and report["error"]["column"] == 13
    code, out, err = _run(capsys, "verify", GENDER, "--wrt", "dW_9", "--answer", "a_1")
    assert code == 2 and "Traceback" not in err


def test_cli_grade_mixes_matrix_and_index_answers(tmp_path, capsys):
    csv_path = tmp_path / "class.csv"
    csv_path.write_text("student,wrt,answer\n"
                        "ada,dW_2,a_1^T dz_2\n"
                        "bob,dW_2,a_1 dz_2\n"
                        "cy,,\"dz_1 = dz_2 W_2^T \\odot a_1(1 - a_1)\"\n"
                        "dee,\"w^{2}_{1,1}\",(\\hat y - y) a^{2}_{1}\n", encoding="utf-8")
    code, out, _ = _run(capsys, "grade", GENDER, "--answers", csv_path, "--json")
    assert code == 0
    report = json.loads(out)
    assert [r["verdict"] for r in report["results"]] == ["correct", "incorrect", "correct", "correct"]
    assert report["results"][1]["mistake"] == "missing_transpose"


# ---------------------------------------------------------------------------------------
# Bounds and fuzz


def test_big_network_is_checked_in_matrix_form_only():
    c = checker_for_spec(ROOT / "derivations" / "mnist_784_128_10.toml")
    r = c.check(r"dz_2 W_2^T \odot a_1(1 - a_1)", "dz_1")
    assert r.mistake == "wrong_activation_derivative" and "1[z_1 > 0]" in r.feedback
    r = c.check(r"dz_2 W_2^T \odot relu'(z_1)", "dz_1")
    assert r.verdict == "correct" and "widths 3, 3, 10" in r.decided_by
    r = c.check("a_1 dz_2", "dW_2")
    assert r.mistake == "missing_transpose" and "(n, N_1) = (n, 128)" in r.feedback
    assert c.check("x_1", "w^{1}_{1,1}").verdict == "unparseable"  # no per-scalar derivation of 100k weights


def test_long_and_deep_answers_are_refused(gender):
    assert gender.check("a_1^T dz_2 + " * 300 + "a_1^T dz_2", "dW_2").verdict == "unparseable"
    assert gender.check("(" * 40 + "dz_2" + ")" * 40, "dz_2").verdict == "unparseable"
    r = gender.check("a_1^{65}", "dz_1")
    assert r.verdict == "unparseable" and "65" in r.feedback


_TOKENS = ["a_1", "dz_2", "W_2", "x", "y", r"\hat{y}", "^T", r"^\top", "ᵀ", r"\odot", "⊙", r"\cdot", "*", "+", "-",
           "(", ")", "1", "2", "n", r"\sum", r"\frac{", "}{", "}", r"\sigma", "'", r"\log", "=", "dW_2", "z_1",
           "^2", "^{-1}", r"\partial", "/", "e^{", "db_1", r"\sum_{\text{rows}}"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_TOKENS), max_size=14))
def test_fuzz_any_token_soup_gives_a_verdict(tokens):
    checker = _FUZZ_CHECKER
    r = checker.check(" ".join(tokens), "dz_1")
    assert r.verdict in ("correct", "incorrect", "unparseable")
    assert r.exit_code in (0, 1, 2)


_FUZZ_CHECKER = MatrixAnswerChecker(load_spec(GENDER))
