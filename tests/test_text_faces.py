"""The lectures' notation and one rounding on every face: ``derive``'s text, its LaTeX, the notebook view.

Each test runs the real command (``python -m symbackprop derive …``) or the notebook hook
(``Derivation._repr_markdown_``) and compares the numbers it prints with an independent oracle:
the loss written out by hand here (σ(t) = 1/(1 + e^{−t}), ELU and Huber as Piecewise), differentiated
by ``sympy.diff`` and rounded by this file's own reading of docs/cli.md's rule (half up to N places;
a nonzero value that would show 0 keeps two significant digits). Nothing here calls the code that
prints the numbers, except through its command line.
"""
import json
import os
import pathlib
import re
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal

import pytest
import sympy
from sympy import Abs, Piecewise, Rational, exp

ROOT = pathlib.Path(__file__).resolve().parent.parent
LECTURE = ROOT / "derivations" / "lecture_2_2_1.toml"
GRAPH = ROOT / "derivations" / "computational_graph.toml"

#: what never stands in text a person reads (SymPy's operators, ASCII primes, internal names)
ASCII = re.compile(r"\*|sigma'|tanh'|σ'|huber_slope|step\(")
#: the same in LaTeX, where \section* is LaTeX's own star
LATEX_ASCII = re.compile(r"\*\*|(?<!\\)sigma'|(?<!\\)tanh'|huber_slope|step\(")


def run(*args) -> str:
    """The real command line: ``python -m symbackprop ARGS`` in the repository, its stdout."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "symbackprop", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def shown(value, decimals: int) -> str:
    """docs/cli.md's rule, written independently: half up to ``decimals`` places; a nonzero value that
    would show 0 keeps two significant digits. ``value`` is irrational here, so always rounded."""
    q = Decimal(str(sympy.N(value, 40)))
    r = q.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    if r == 0 and q != 0:
        r = q.quantize(Decimal(1).scaleb(q.adjusted() - 1), rounding=ROUND_HALF_UP)
    return format(r, "f")


# ---------------------------------------------------------------------------------------------
# the oracle: the lecture network's loss written out (000: x = [1, 0], every weight and bias 1, y = 1)

def sigma(t):
    return 1 / (1 + exp(-t))


W111, W112, W121, W122, B11, B12, W211, W212, B21 = sympy.symbols("w111 w112 w121 w122 b11 b12 w211 w212 b21")
ONES = {s: 1 for s in (W111, W112, W121, W122, B11, B12, W211, W212, B21)}


def lecture_forward(x1=1, x2=0):
    a1 = sigma(W111 * x1 + W112 * x2 + B11)
    a2 = sigma(W121 * x1 + W122 * x2 + B12)
    y_hat = sigma(W211 * a1 + W212 * a2 + B21)
    return a1, y_hat, Rational(1, 2) * (1 - y_hat) ** 2


def oracle_lecture():
    a1, y_hat, loss = lecture_forward()
    return {"a": a1.subs(ONES), "yhat": y_hat.subs(ONES), "L": loss.subs(ONES),
            "dw111": sympy.diff(loss, W111).subs(ONES)}


def _text_numbers(out: str) -> dict:
    forward = re.search(r"forward pass at example 1: (.*)", out).group(1)
    values = dict(part.split(" = ") for part in forward.split(", "))
    at = re.search(r"at example 1: (\S+)", out).group(1)
    return {"a": values["a^{2}_{1}"], "yhat": values["ŷ"], "L": values["L"], "dw111": at.replace("−", "-")}


def _latex_numbers(out: str) -> dict:
    a = re.search(r"^a\^\{2\}_\{1\} &= .* (?:\\approx|=) (\S+) \\\\$", out, re.M).group(1)
    y_hat = re.search(r"^\\hat\{y\} = a\^\{3\}_\{1\} &= .* (?:\\approx|=) (\S+)$", out, re.M).group(1)
    loss = re.search(r"^L &= .* (?:\\approx|=) (\S+)$", out, re.M).group(1)
    grad = re.search(r"With one example, \$\\frac\{\\partial J\}\{\\partial w\^\{1\}_\{1,1\}\} = "
                     r"\\frac\{\\partial L\}\{\\partial w\^\{1\}_\{1,1\}\} (?:\\approx|=) (\S+)\$", out).group(1)
    return {"a": a, "yhat": y_hat, "L": loss, "dw111": grad}


@pytest.mark.parametrize("decimals", [0, 1, 2, 3])
def test_text_and_latex_round_the_lecture_network_the_same_way(decimals):
    expected = {k: shown(v, decimals) for k, v in oracle_lecture().items()}
    text = run("derive", LECTURE, "--wrt", "w^{1}_{1,1}", "--decimals", decimals)
    tex = run("derive", LECTURE, "--wrt", "w^{1}_{1,1}", "--decimals", decimals, "--latex", "--fragment")
    assert _text_numbers(text) == expected
    assert _latex_numbers(tex) == expected


def test_small_numbers_keep_two_significant_digits_and_more_decimals_round_them():
    # docs/cli.md's table: L = 0.00177… is 0.0018 at 0, 1 and 2 decimals (it would show 0), 0.002 at 3
    assert [shown(oracle_lecture()["L"], d) for d in (0, 1, 2, 3)] == ["0.0018", "0.0018", "0.0018", "0.002"]
    assert shown(oracle_lecture()["dw111"], 3) == "-0.00035"


def test_the_notebook_view_rounds_as_derive_does_by_default():
    from symbackprop import derive, load_spec

    view = derive(load_spec(LECTURE))._repr_markdown_()
    expected = {k: shown(v, 2) for k, v in oracle_lecture().items()}
    text = _text_numbers(run("derive", LECTURE, "--wrt", "w^{1}_{1,1}"))
    assert text == expected                                   # derive's default is the lectures' 2
    assert rf"\hat{{y}} \approx {expected['yhat']}" in view
    assert rf"L \approx {expected['L']}" in view
    assert rf"a^{{2}}_{{1}} \approx {expected['a']}" in view
    assert rf"x_{{1}} \approx {expected['dw111']}$$" in view    # ∂L/∂w^{1}_{1,1}'s line
    # ∂L/∂w^{1}_{1,2} has the factor x_2 = 0: exactly 0, written with =
    assert re.search(r"x_\{2\} = 0\$\$", view)
    assert not ASCII.search(view) and "0.9406" not in view


# ---------------------------------------------------------------------------------------------
# the slides' graph f = (x + y) z at x = −2, y = 5, z = −4 (001)

X, Y, Z = sympy.symbols("x y z")
F = (X + Y) * Z
AT = {X: -2, Y: 5, Z: -4}


def test_graph_text_names_the_slides_rules_and_keeps_the_unit_factor():
    out = run("derive", GRAPH)
    assert "∂f/∂q = z    (product rule)" in out            # f = q z: the slides' ∂f/∂q = z
    assert "∂q/∂x = 1    (sum rule)" in out
    assert "∂f/∂z = q    (product rule)" in out
    assert "chain rule: ∂f/∂x = ∂f/∂q · ∂q/∂x = z · 1" in out   # the slides write both factors
    assert "constant multiple" not in out
    blocks = {m.group(1): m.group(2) for m in re.finditer(r"∂f/∂(\w):\n(?:.*\n)*?  at example 1: (\S+)", out)}
    for v in (X, Y, Z):
        assert blocks[v.name].replace("−", "-") == str(sympy.diff(F, v).subs(AT))


def test_graph_faces_speak_of_the_output_not_of_a_loss():
    from symbackprop import derive, load_spec

    text = run("derive", GRAPH)
    tex = run("derive", GRAPH, "--latex", "--fragment")
    view = derive(load_spec(GRAPH))._repr_markdown_()
    for face in (text, tex, view):
        assert not re.search(r"reduction|loss|cost", face, re.I), face
    assert r"\frac{\partial f}{\partial z} = q = 3$$" in view    # one factor: written once
    assert r"\frac{\partial f}{\partial x} = \frac{\partial f}{\partial q} \cdot \frac{\partial q}{\partial x} = z \cdot 1 = -4" in view


def test_graph_over_several_examples_is_the_mean_of_its_output(tmp_path):
    spec = tmp_path / "three.toml"
    spec.write_text('title = "three examples"\n[graph]\nequations = ["q = x + y", "f = q * z"]\n'
                    "[data]\nx = [-2, 1, 3]\ny = [5, 2, 1]\nz = [-4, 3, 2]\n", encoding="utf-8")
    rows = [{X: -2, Y: 5, Z: -4}, {X: 1, Y: 2, Z: 3}, {X: 3, Y: 1, Z: 2}]
    mean = {v: Rational(1, 3) * sum(sympy.diff(F, v).subs(r) for r in rows) for v in (X, Y, Z)}   # 1/3, 1/3, 10/3
    text = run("derive", spec)
    tex = run("derive", spec, "--latex", "--fragment")
    from symbackprop import derive, load_spec

    view = derive(load_spec(spec))._repr_markdown_()
    assert "the mean of the output f over n = 3 examples" in text
    assert r"$J$ is the mean of the output $f$ over the $n = 3$ examples" in tex
    assert r"The output over the examples: $J = \frac{1}{n} \sum_{e=1}^{n} f_e$ with $n = 3$." in view
    for face in (text, tex, view):
        assert not re.search(r"loss|reduction", face, re.I)
    for v in (X, Y, Z):
        value = shown(mean[v], 2)
        assert f"∂J/∂{v.name} = (1/3)(" in text and re.search(rf"∂J/∂{v.name} = .* = {re.escape(value)}\n", text)
        assert rf"{{\partial {v.name}}} \approx {value}$$ (over the $n = 3$ examples)" in view


# ---------------------------------------------------------------------------------------------
# ELU and Huber written by name (docs/notation.md): elu′(z), huber′(ŷ − y), with the branches that matter

ELU_HUBER = """title = "ELU and Huber"
[network]
layers = [2, 2, 1]
activations = ["elu", "identity"]
loss = "huber"
[parameters]
weights = -1.0
biases = 0.5
[data]
x = [[1, 0]]
y = [[1]]
"""


def elu(t):
    return Piecewise((t, t > 0), (exp(t) - 1, True))


def huber(r):
    return Piecewise((r ** 2 / 2, Abs(r) <= 1), (Abs(r) - Rational(1, 2), True))


def test_elu_and_huber_derivatives_print_by_name_with_the_right_numbers(tmp_path):
    spec = tmp_path / "elu_huber.toml"
    spec.write_text(ELU_HUBER, encoding="utf-8")
    values = {s: -1 for s in (W111, W112, W121, W122, W211, W212)} | {B11: Rational(1, 2), B12: Rational(1, 2),
                                                                       B21: Rational(1, 2)}
    a1, a2 = elu(W111 + B11), elu(W121 + B12)     # x = [1, 0]: z = −1/2 < 0, the e^z − 1 branch
    y_hat = W211 * a1 + W212 * a2 + B21           # identity output, ŷ ≈ 1.29: |y − ŷ| ≤ 1, the ½r² branch
    loss = huber(1 - y_hat)
    grad = sympy.diff(loss, W111).subs(values)    # (ŷ − y) · w^{2}_{1,1} · e^{z} · x_1 ≈ −0.174
    text = run("derive", spec, "--wrt", "w^{1}_{1,1}")
    tex = run("derive", spec, "--wrt", "w^{1}_{1,1}", "--latex", "--fragment")
    from symbackprop import derive, load_spec

    view = derive(load_spec(spec))._repr_markdown_()
    assert "∂L/∂ŷ = huber′(ŷ − y)" in text
    assert "∂a^{2}_{1}/∂z^{2}_{1} = elu′(z^{2}_{1})    (derivative of ELU (α = 1): elu′(z) = 1 if z > 0, else eᶻ = a + 1)" in text
    assert "= huber′(ŷ − y) · 1 · w^{2}_{1,1} · elu′(z^{2}_{1}) · x_{1}" in text
    assert f"at example 1: {shown(grad, 2)}".replace("-", "−") in text
    assert r"\operatorname{elu}'(z^{2}_{1})" in tex and r"\operatorname{huber}'(\hat{y} - y)" in tex
    assert r"\operatorname{huber}'(\hat{y} - y) \cdot 1 \cdot w^{2}_{1,1} \cdot \operatorname{elu}'(z^{2}_{1}) \cdot x_{1}" in view
    assert rf"x_{{1}} \approx {shown(grad, 2)}$$" in view
    for face in (text, tex, view):
        assert "mathbb{1}" not in face and "1[z" not in face
    assert not ASCII.search(text) and not ASCII.search(view) and not LATEX_ASCII.search(tex)


# ---------------------------------------------------------------------------------------------
# the rules' words and the lessons' text

def test_rule_lines_are_the_registries_words_and_typeset_whole():
    tex = run("derive", ROOT / "derivations" / "power_rule.toml", "--latex", "--fragment")
    rules = re.findall(r"Rule: (.*)\.\}", tex)
    assert rules and all("?" not in r for r in rules)   # no character tex_escape could not write
    assert any(r"power rule, $\frac{d}{dx} x^n = n x^{n-1}$" in r for r in rules)
    text = run("derive", ROOT / "derivations" / "power_rule.toml")
    assert "power rule: d/dx xⁿ = n xⁿ⁻¹" in text and "x^(n-1)" not in text
    lecture = run("derive", LECTURE, "--wrt", "w^{1}_{1,1}")
    assert "(power rule: ∂/∂ŷ ½(y − ŷ)² = ŷ − y)" in lecture   # the loss registry's rule
    assert "(derivative of the sigmoid: σ′(z) = σ(z)(1 − σ(z)) = a(1 − a))" in lecture


@pytest.mark.parametrize("stem", ["lecture_2_2_1", "computational_graph", "partial_derivatives", "power_rule",
                                  "chain_rule_u_squared", "linear_regression", "bce_table"])
def test_no_ascii_in_derive_text(stem):
    out = run("derive", ROOT / "derivations" / f"{stem}.toml")
    assert not ASCII.search(out), ASCII.search(out)
    assert "'" not in out.replace("slides'", "").replace("lecture's", "").replace("notes'", "")


def test_vanishing_json_writes_the_lectures_primes():
    data = json.loads(run("vanishing", "--json", "--depth", "4"))
    steps = data["sigmoid_bound"]["steps"]
    assert "σ(z) = 1/(1 + e^(−z)),  σ′(z) = e^(−z)/(1 + e^(−z))² = σ(z)(1 − σ(z)) = a(1 − a)" in steps
    assert any("σ′(z) ≤ σ′(0) = ¼ for every z" in s for s in steps)
    assert any(s.startswith("tanh′(z) = 1 − a² ≤ 1") and "ReLU′(z) = 1 for z > 0" in s for s in steps)
    assert not any(re.search(r"[σh]'|\*", s) for s in steps)
    # the bound itself, from the oracle: max over a of a(1 − a) is ¼, at a = ½
    a = sympy.Symbol("a")
    assert sympy.maximum(a * (1 - a), a) == Rational(1, 4) == sympy.Rational(data["sigmoid_bound"]["maximum"])


def test_verdict_keeps_no_second_printer():
    import symbackprop.verify.verdict as verdict

    assert not hasattr(verdict, "_as_shown")
    from symbackprop.ops.functions import step
    from symbackprop.render.printers import text

    z = sympy.Symbol("z")
    assert verdict._plain(step(z) * (1 - z)) == text(step(z) * (1 - z)) == "(1 − z) · 1[z > 0]"


def test_a_node_feeding_the_output_and_more_marks_the_direct_term_and_subtracts(tmp_path):
    """u = x y, v = u − 3x, f = v − 10/u at x = 2, y = 3: ∂f/∂x = y + 10y/u² − 3 = 5/6 (sympy.diff), and the
    text says ∂f/∂u|direct for the output's own local derivative, never '+ −'."""
    x, y = sympy.symbols("x y")
    u = x * y
    f = (u - 3 * x) - 10 / u
    assert sympy.diff(f, x).subs({x: 2, y: 3}) == Rational(5, 6)
    spec = tmp_path / "three.toml"
    spec.write_text('title = "three paths"\n[graph]\nequations = ["u = x*y", "v = u - 3*x", "f = v - 10/u"]\n'
                    "[data]\nx = 2\ny = 3\n")
    out = run("derive", str(spec), "--wrt", "x")
    assert "∂f/∂u|direct = 10/u²" in out, out
    assert "+ −" not in out and "+ -" not in out, out
    assert "sum over the 3 paths: ∂f/∂x = 1 · 1 · y + 10/u² · y + 1 · (−3)" in out, out
    assert "at example 1: 0.83" in out, out
