"""Small CLI messages (issue 13): derive -o says what it wrote, spec errors list what is allowed (from the
registry), and the documented example error is the one the command prints."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LECTURE = str(ROOT / "derivations" / "lecture_2_2_1.toml")


def run(*argv, cwd=ROOT):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "symbackprop", *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_derive_output_says_wrote_and_never_overwrites_without_force(tmp_path):
    target = tmp_path / "lecture.txt"
    first = run("derive", LECTURE, "--wrt", "w_{11}^1", "-o", str(target))
    assert (first.returncode, first.stdout, first.stderr) == (0, f"wrote {target}\n", "")
    assert target.read_text(encoding="utf-8") == run("derive", LECTURE, "--wrt", "w^{1}_{1,1}").stdout
    again = run("derive", LECTURE, "-o", str(target))
    assert again.returncode == 2 and again.stdout == ""
    assert again.stderr == f"symbackprop: error: {target} exists; pass --force to overwrite it\n"
    forced = run("derive", LECTURE, "--latex", "-o", str(target), "--force")
    assert (forced.returncode, forced.stdout) == (0, f"wrote {target}\n")
    assert "\\documentclass" in target.read_text(encoding="utf-8")


def _graph_error(tmp_path, equation) -> str:
    """What derive says about a one-equation graph spec g.toml (run in its folder, so the message names g.toml)."""
    (tmp_path / "g.toml").write_text(f'title = "g"\n[graph]\nequations = ["{equation}"]\n', encoding="utf-8")
    return run("derive", "g.toml", cwd=tmp_path).stderr


def test_unknown_function_lists_the_registry_s_functions_and_suggests_only_a_typo(tmp_path):
    from symbackprop.ops.activations import ACTIVATIONS
    from symbackprop.spec.load import allowed_functions

    allowed = allowed_functions()
    assert {"exp", "log"} | {a for a, act in ACTIVATIONS.items() if not act.layerwise and a != "identity"} <= set(allowed)
    listing = ", ".join(allowed)
    err = _graph_error(tmp_path, "f = sigmod(x)")
    assert err == ("symbackprop: error: g.toml: [graph].equations[0]: unknown function sigmod in 'f = sigmod(x)'; "
                   f"did you mean 'sigmoid'? (functions: {listing}; for a product write sigmod*(...))\n")
    err = _graph_error(tmp_path, "f = g(x)")
    assert "did you mean" not in err and f"(functions: {listing};" in err


def test_sech_and_cosh_are_answers_only_and_the_message_says_how_to_write_them(tmp_path):
    from symbackprop.grammar.vocabulary import ANSWER_FUNCTIONS
    from symbackprop.spec.load import ANSWER_ONLY_FUNCTIONS

    assert set(ANSWER_ONLY_FUNCTIONS) == set(ANSWER_FUNCTIONS)
    err = _graph_error(tmp_path, "f = cosh(x)")
    assert err.startswith("symbackprop: error: g.toml: [graph].equations[0]: cosh in 'f = cosh(x)' is read in "
                          "answers but not in spec equations")
    assert "(exp(u) + exp(-u))/2" in err and len(err.splitlines()) == 1
    # and what it says to write is read, with the derivative of cosh: sinh(2) at x = 2
    spec = tmp_path / "c.toml"
    spec.write_text('title = "c"\n[graph]\nequations = ["f = (exp(x) + exp(-x))/2"]\n[data]\nx = 2\n', encoding="utf-8")
    out = run("grad", str(spec), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    import math

    value = float(re.search(r"∂f/∂x = (\S+)", out.stdout).group(1))
    assert abs(value - math.sinh(2)) < 1e-5


def test_docs_spec_example_error_is_the_one_printed(tmp_path):
    docs = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
    (documented,) = [line.strip() for line in docs.splitlines() if "unknown activation 'sigmod'" in line]
    course = tmp_path / "course.toml"
    course.write_text('title = "c"\n[network]\nlayers = [2, 1]\nactivations = "sigmod"\nloss = "squared_error"\n',
                      encoding="utf-8")
    assert run("derive", "course.toml", cwd=tmp_path).stderr.strip() == documented
    (listed,) = [line for line in docs.splitlines() if line.startswith("the functions `elu`")]
    from symbackprop.spec.load import allowed_functions

    prose = docs.split("the functions ", 1)[1].split("(every activation", 1)[0]
    assert set(re.findall(r"`(\w+)`", prose)) == set(allowed_functions()), listed


def test_grade_output_says_wrote_too(tmp_path):
    answers = tmp_path / "class.csv"
    answers.write_text('student,wrt,answer\nana,"w^{2}_{1,1}",(yhat - y) yhat (1 - yhat) a^{2}_{1}\n', encoding="utf-8")
    report = tmp_path / "report.csv"
    out = run("grade", LECTURE, "--answers", str(answers), "--csv", "-o", str(report), "--no-progress")
    assert (out.returncode, out.stdout) == (0, f"wrote {report}\n")
    assert out.stderr.startswith("1 answer: 1 correct, 0 incorrect, 0 unparseable")
    again = run("grade", LECTURE, "--answers", str(answers), "--csv", "-o", str(report))
    assert again.returncode == 2 and again.stderr == f"symbackprop: error: {report} exists; pass --force to overwrite it\n"


def test_a_symbol_that_cancels_is_named_as_cancelling_not_unused(tmp_path):
    """q = x − x + y: x is written but cancels, so [data].x is refused with the reason (not "no equation uses it")."""
    spec = tmp_path / "cancel.toml"
    spec.write_text('title = "cancel"\n[graph]\nequations = ["q = x - x + y", "f = q*y"]\n[data]\nx = 2\ny = 3\n')
    out = subprocess.run([sys.executable, "-m", "symbackprop", "derive", str(spec)], capture_output=True, text=True)
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert "[data].x" in out.stderr and "cancels" in out.stderr and "no equation uses" not in out.stderr, out.stderr
    spec.write_text('title = "unused"\n[graph]\nequations = ["q = y + 1", "f = q*y"]\n[data]\nx = 2\ny = 3\n')
    out = subprocess.run([sys.executable, "-m", "symbackprop", "derive", str(spec)], capture_output=True, text=True)
    assert "no equation uses this symbol" in out.stderr, out.stderr


def test_grad_json_writes_a_dead_units_zero_gradient_without_a_sign(tmp_path):
    """A ReLU unit with z = −1 < 0 has ∂L/∂z = (ŷ − y)·w·relu′(z) = (0 − 1)·2·0 = 0 exactly; NumPy's product is
    −0.0 (the sign of −2 times 0.0), and JSON says 0.0."""
    spec = tmp_path / "dead.toml"
    spec.write_text('title = "dead"\n[network]\nlayers = [1, 1, 1]\nactivations = ["relu", "identity"]\n'
                    'loss = "half_squared_error"\n[parameters]\nweights = [[[-1]], [[2]]]\nbiases = [[0], [0]]\n'
                    "[data]\nx = [[1]]\ny = [[1]]\n")
    out = subprocess.run([sys.executable, "-m", "symbackprop", "grad", str(spec), "--json"], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    assert "-0.0" not in out.stdout
    import json
    report = json.loads(out.stdout)
    assert report["gradients"]["w^{1}_{1,1}"] == 0.0 and report["node_gradients"]["z^{2}_{1}"] == [0.0]
