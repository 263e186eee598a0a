r"""Every name argument reads like ``verify --wrt`` (issue 13): derive, grad, worksheet, verify and grade.

Each spelling is run through ``python -m symbackprop`` and must name the parameter verify names; the
gradient reported for it is compared with an oracle written here: ``sympy.diff`` of the 2-2-1 lecture
network's loss, built from scratch (no symbackprop code), and central finite differences of the slides'
gender network (NumPy, written here) at the parameters the independent trainer reports.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy

ROOT = Path(__file__).resolve().parents[1]
LECTURE = "derivations/lecture_2_2_1.toml"
GENDER = "derivations/gender.toml"


def run(*argv, check_rc=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "symbackprop", *argv], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    if check_rc is not None:
        assert out.returncode == check_rc, (out.returncode, out.stdout, out.stderr)
    return out


# -- the oracle: the lecture's 2-2-1 network, written out by hand ---------------------------------------

def _lecture_oracle():
    """{canonical name: exact ∂J/∂name} at x = [1, 0], y = 1, every weight and bias 1 (one example)."""
    w1 = {(i, j): sympy.Symbol(f"w1_{i}{j}") for i in (1, 2) for j in (1, 2)}
    b1 = {i: sympy.Symbol(f"b1_{i}") for i in (1, 2)}
    w2 = {(1, j): sympy.Symbol(f"w2_1{j}") for j in (1, 2)}
    b2 = sympy.Symbol("b2_1")
    yhat_s, z3_s = sympy.symbols("yhat z3")
    sig = lambda t: 1 / (1 + sympy.exp(-t))  # noqa: E731
    x, y = (1, 0), 1
    a2 = {i: sig(w1[i, 1] * x[0] + w1[i, 2] * x[1] + b1[i]) for i in (1, 2)}
    z3 = w2[1, 1] * a2[1] + w2[1, 2] * a2[2] + b2
    loss = sympy.Rational(1, 2) * (y - sig(z3)) ** 2
    ones = {s: 1 for s in [*w1.values(), *b1.values(), *w2.values(), b2]}
    out = {f"w^{{1}}_{{{i},{j}}}": sympy.diff(loss, s).subs(ones) for (i, j), s in w1.items()}
    out.update({f"b^{{1}}_{{{i}}}": sympy.diff(loss, s).subs(ones) for i, s in b1.items()})
    out.update({f"w^{{2}}_{{1,{j}}}": sympy.diff(loss, s).subs(ones) for (_, j), s in w2.items()})
    out["b^{2}_{1}"] = sympy.diff(loss, b2).subs(ones)
    # nodes: ∂L/∂ŷ and ∂L/∂z^{3}_{1} from L written in them
    yhat_value = sig(z3).subs(ones)
    out["a^{3}_{1}"] = sympy.diff(sympy.Rational(1, 2) * (y - yhat_s) ** 2, yhat_s).subs(yhat_s, yhat_value)
    out["z^{3}_{1}"] = sympy.diff(sympy.Rational(1, 2) * (y - sig(z3_s)) ** 2, z3_s).subs(z3_s, z3.subs(ones))
    return {k: float(v) for k, v in out.items()}


ORACLE = _lecture_oracle()

#: every spelling verify --wrt reads, and the node it names (W^{[l]} leads into layer l, the input being
#: layer 0, so W^{[2]} is the lectures' w^{2}; z_2 and b_2 are the matrix form's names of width-1 layer 2)
SPELLINGS = {
    "W^{[2]}_{11}": "w^{2}_{1,1}",
    "W^{[1]}_{21}": "w^{1}_{2,1}",
    "w^{(1)}_{11}": "w^{1}_{1,1}",
    "w^1_{1,1}": "w^{1}_{1,1}",
    "w^{1}_{11}": "w^{1}_{1,1}",
    "w_{11}^1": "w^{1}_{1,1}",
    "w_{12}^{2}": "w^{2}_{1,2}",
    r"\hat{y}": "a^{3}_{1}",
    "yhat": "a^{3}_{1}",
    "z_2": "z^{3}_{1}",
    "b_2": "b^{2}_{1}",
}


def _grad_value(report, name):
    if name in report["gradients"]:
        return report["gradients"][name]
    (value,) = report["node_gradients"][name]  # one example: ∂J/∂v = ∂L/∂v
    return value


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_every_spelling_names_verify_s_parameter_and_its_gradient(spelling):
    expected = SPELLINGS[spelling]
    verdict = json.loads(run("verify", LECTURE, "--wrt", spelling, "--answer", "0", "--json").stdout)
    assert verdict["wrt"] == expected
    report = json.loads(run("grad", LECTURE, "--wrt", spelling, "--json", check_rc=0).stdout)
    assert report["wrt"] == [expected]
    assert _grad_value(report, expected) == pytest.approx(ORACLE[expected], rel=1e-12, abs=1e-15)
    derived = run("derive", LECTURE, "--wrt", spelling, check_rc=0).stdout
    headings = [line for line in derived.splitlines() if line.startswith("∂L/∂")]
    assert len(headings) == 1 and headings[0].startswith("∂L/∂")
    if expected.startswith(("w", "b")):
        assert headings[0] == f"∂L/∂{expected}:"


def test_repeated_wrt_derives_each_name_once_in_order():
    out = run("derive", LECTURE, "--wrt", "w_{11}^2", "--wrt", "b_2", "--wrt", "w^{2}_{1,1}", check_rc=0).stdout
    assert [line for line in out.splitlines() if line.startswith("∂L/∂")] == ["∂L/∂w^{2}_{1,1}:", "∂L/∂b^{2}_{1}:"]
    report = json.loads(run("grad", LECTURE, "--wrt", "W^{[1]}_{21}", "--wrt", "b_2", "--json", check_rc=0).stdout)
    assert report["wrt"] == ["w^{1}_{2,1}", "b^{2}_{1}"]
    for name in report["wrt"]:
        assert report["gradients"][name] == pytest.approx(ORACLE[name], rel=1e-12)
    twice = run("verify", LECTURE, "--wrt", "w^{2}_{1,1}", "--wrt", "b_2", "--answer", "0", check_rc=2)
    assert len(twice.stderr.strip().splitlines()) == 1 and "--wrt given twice" in twice.stderr


# -- names that are not in the spec -----------------------------------------------------------------------

WEIGHTS = "(the spec's weights: w^{1}_{1,1}, w^{1}_{1,2}, w^{1}_{2,1}, w^{1}_{2,2}, w^{2}_{1,1}, w^{2}_{1,2})"


@pytest.mark.parametrize("name", ["w^{3}_{1,1}", "w^{1}_{1,3}", "W^{[3]}_{11}"])
def test_another_weight_is_never_suggested(name):
    for argv in (("derive", LECTURE), ("grad", LECTURE), ("derive", GENDER)):
        err = run(*argv, "--wrt", name, check_rc=2).stderr
        assert err == f"symbackprop: error: --wrt: unknown name '{name}' {WEIGHTS}\n"
    verdict = json.loads(run("verify", LECTURE, "--wrt", name, "--answer", "0", "--json").stdout)
    assert verdict["verdict"] == "unparseable" and "did you mean" not in verdict["feedback"]
    assert verdict["feedback"] == f"--wrt: unknown name '{name}' {WEIGHTS}"


def test_a_typo_is_suggested_and_matrix_names_list_the_gradients():
    err = run("derive", LECTURE, "--wrt", r"\hat{yy}", check_rc=2).stderr
    assert err == ("symbackprop: error: --wrt: unknown name '\\hat{yy}'; did you mean '\\hat{y}'? "
                   "(the spec's outputs: \\hat{y})\n")
    err = run("derive", GENDER, "--wrt", "W_3", check_rc=2).stderr
    assert "did you mean" not in err and "unknown name 'W_3'" in err and "dW_2" in err
    assert len(err.splitlines()) == 1


def test_grade_names_the_wrt_column_and_quotes_a_name_once(tmp_path):
    answers = tmp_path / "class.csv"
    answers.write_text('student,wrt,answer\nana,"w^{9}_{1,1}",0\nben,"w_{11}^1",0\n', encoding="utf-8")
    out = run("grade", LECTURE, "--answers", str(answers), "--csv", check_rc=0).stdout
    lines = out.splitlines()
    assert lines[1] == f"1,ana,\"w^{{9}}_{{1,1}}\",unparseable,,,\"wrt: unknown name 'w^{{9}}_{{1,1}}' {WEIGHTS}\""
    assert "'--wrt" not in out and "did you mean" not in out
    assert lines[2].startswith('2,ben,"w^{1}_{1,1}",incorrect')


# -- the matrix form: the same names, and the slides' gradient names ----------------------------------------

def _gender_fd(params, name, h=1e-6):
    """Central finite difference of the mean BCE of the slides' gender network (sigmoid 2-2-1), by hand."""
    X = np.array([[-2, -1], [25, 6], [17, 4], [-15, -6]], dtype=float)
    Y = np.array([1, 0, 0, 1], dtype=float)

    def cost(p):
        a = [1 / (1 + np.exp(-(p[f"w^{{1}}_{{{i},1}}"] * X[:, 0] + p[f"w^{{1}}_{{{i},2}}"] * X[:, 1]
                              + p[f"b^{{1}}_{{{i}}}"]))) for i in (1, 2)]
        yhat = 1 / (1 + np.exp(-(p["w^{2}_{1,1}"] * a[0] + p["w^{2}_{1,2}"] * a[1] + p["b^{2}_{1}"])))
        return float(np.mean(-(Y * np.log(yhat) + (1 - Y) * np.log(1 - yhat))))

    up, down = dict(params), dict(params)
    up[name] += h
    down[name] -= h
    return (cost(up) - cost(down)) / (2 * h)


def test_matrix_spec_reads_index_spellings_with_the_finite_difference_value():
    params = json.loads(run("train", GENDER, "--epochs", "0", "--json", check_rc=0).stdout)["parameters"]
    for spelling, name in (("W^{[1]}_{21}", "w^{1}_{2,1}"), ("w_{12}^2", "w^{2}_{1,2}"), ("b_2", "b^{2}_{1}")):
        report = json.loads(run("grad", GENDER, "--wrt", spelling, "--json", check_rc=0).stdout)
        assert list(report["gradients"]) == [name]
        assert report["gradients"][name] == pytest.approx(_gender_fd(params, name), rel=1e-6)
    # derive selects the backward steps of the matrix that holds the entry, as for the matrix's own name
    by_entry = run("derive", GENDER, "--wrt", "W^{[2]}_{11}", check_rc=0).stdout
    assert by_entry == run("derive", GENDER, "--wrt", "dW_2", check_rc=0).stdout
    assert by_entry == run("derive", GENDER, "--wrt", "W_2", check_rc=0).stdout
    assert "dW_1" not in by_entry.split("backward:")[1]


def test_worksheet_wrt_reads_the_same_spellings(tmp_path):
    out = tmp_path / "sheet.tex"
    printed = run("worksheet", LECTURE, "-o", str(out), "--wrt", "W^{[1]}_{21}", "--decimals", "6", check_rc=0).stdout
    assert printed.splitlines() == [f"wrote {out}", f"wrote {tmp_path / 'sheet-answers.tex'}"]
    key = (tmp_path / "sheet-answers.tex").read_text(encoding="utf-8")
    assert r"\partial w^{1}_{1,1}" not in key  # the default's first weight gave way to the one asked for
    section = key.split(r"\subsubsection*{The gradient $\partial L/\partial w^{1}_{2,1}$}")[1].split(r"\subsubsection*")[0]
    assert rf"\partial J/\partial w^{{1}}_{{2,1}} = \partial L/\partial w^{{1}}_{{2,1}} \approx {ORACLE['w^{1}_{2,1}']:.6f}$" in section
    err = run("worksheet", LECTURE, "-o", str(tmp_path / "t.tex"), "--wrt", "w^{3}_{1,1}", check_rc=2).stderr
    assert err == f"symbackprop: error: --wrt: unknown name 'w^{{3}}_{{1,1}}' {WEIGHTS}\n"


def test_graph_spec_names_are_its_own():
    """The slides' linear regression at w = b = 0: ∂J/∂w = (1/n) Σ −2 x_i y_i = −35, ∂J/∂b = (1/n) Σ −2 y_i = −12."""
    spec = "derivations/linear_regression.toml"
    x, y = np.array([1, 2, 3, 4.0]), np.array([3, 5, 7, 9.0])
    report = json.loads(run("grad", spec, "--wrt", "w", "--wrt", "b", "--json", check_rc=0).stdout)
    assert report["gradients"] == pytest.approx({"w": np.mean(-2 * x * y), "b": np.mean(-2 * y)}, rel=1e-12)
    err = run("grad", spec, "--wrt", "w_1", check_rc=2).stderr
    assert err == "symbackprop: error: --wrt: unknown name 'w_1' (the spec's names: b, w, x, y, yhat, L)\n"
    assert "did you mean 'w'?" in run("derive", spec, "--wrt", "W", check_rc=2).stderr  # a change of case is a typo


def test_the_python_api_reads_names_like_verify(tmp_path):
    """Derivation.resolve and the lookups built on it (node_gradient, paths) read every spelling that
    verify --wrt reads; the gradient it names is sympy.diff of the lecture's loss at x = (1, 0), y = 1,
    every weight and bias 1."""
    import sympy
    from symbackprop import derive, load_spec

    d = derive(load_spec("derivations/lecture_2_2_1.toml"))
    for spelling, name in [("W^{[2]}_{11}", "w^{2}_{1,1}"), ("w^{(1)}_{11}", "w^{1}_{1,1}"),
                           ("w_{11}^1", "w^{1}_{1,1}"), (r"\hat{y}", "a^{3}_{1}"), ("z_2", "z^{3}_{1}")]:
        assert d.resolve(spelling) == name
    assert [p.nodes for p in d.paths("W^{[2]}_{11}")] == [p.nodes for p in d.paths("w^{2}_{1,1}")]
    s = lambda t: 1 / (1 + sympy.exp(-t))  # noqa: E731
    w = sympy.symbols("w1:7")
    a1, a2 = s(w[0] * 1 + w[1] * 0 + 1), s(w[2] * 1 + w[3] * 0 + 1)
    loss = (1 - s(w[4] * a1 + w[5] * a2 + 1)) ** 2 / 2
    oracle = sympy.diff(loss, w[4]).subs({v: 1 for v in w})
    mine = d.exact_gradients()[d.resolve("W^{[2]}_{11}")]
    assert abs(float(mine) - float(oracle)) < 1e-12 and abs(float(oracle)) > 1e-3
    with pytest.raises(Exception) as info:
        d.resolve("w^{3}_{1,1}")
    assert "did you mean" not in str(info.value)


def test_a_constant_is_never_suggested_as_a_name(tmp_path):
    r"""pi is read as the constant π in answers, but it names no node: --wrt '\pi' lists the graph's names and
    suggests nothing (the old message offered 'pi', which --wrt refuses in turn)."""
    spec = tmp_path / "pi.toml"
    spec.write_text('title = "pi"\n[graph]\nequations = ["q = pi*x", "f = q*y"]\n[data]\nx = 2\ny = 3\n')
    r = subprocess.run([sys.executable, "-m", "symbackprop", "derive", str(spec), "--wrt", r"\pi"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "unknown name" in r.stderr and "did you mean" not in r.stderr and "x" in r.stderr, r.stderr
