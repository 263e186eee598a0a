r"""A spec with its own node e: Euler's exp is printed exp(w) / \exp(w) on every face, never e^{w}.

Once a spec defines e (here e = b + w x), every e in it is that node, and the answers read e^{w} as
that node to the power w; a page printing g = e^{w} would read (b + w x)^w. The numbers' oracle is
sympy.diff of the loss written out here by hand, with e = b + w x as a plain SymPy expression and
σ(t) = 1/(1 + e^{−t}), sharing no code with symbackprop.
"""
import json

import pytest
import sympy

from symbackprop import derive, load_spec
from symbackprop.cli import main
from symbackprop.render.latex_parts import Notation, rule_tex
from symbackprop.render.printers import EXP_BY_NAME, constant_names, latex, output_names, rule_as_written, text

# the review's spec: exp through its own node g
WITH_G = """title = "graph with a node e and pi"
[graph]
equations = ["e = w*x + b", "u = sigma(e)", "v = pi*u^2 + x", "g = exp(w)", "f = ln(v)*g"]
parameters = ["w", "b"]
[parameters]
w = 0.5
b = -1
[data]
x = 2
"""
# the same f, exp(w) inside the local derivatives and the gradients themselves
INLINE = """title = "exp beside a node e"
[graph]
equations = ["e = w*x + b", "u = sigma(e)", "f = ln(pi*u^2 + x)*exp(w)"]
parameters = ["w", "b"]
[parameters]
w = 0.5
b = -1
[data]
x = 2
"""
# the same graph with its node called h: e is Euler's number there, printed e^{w} as before
NO_E = INLINE.replace("e = w*x + b", "h = w*x + b").replace("sigma(e)", "sigma(h)")

W, B, X = sympy.Rational(1, 2), sympy.Integer(-1), sympy.Integer(2)


def oracle() -> dict:
    """∂f/∂w and ∂f/∂b at the spec's numbers, by sympy.diff of f written out by hand."""
    w, b, x = sympy.symbols("w b x")
    e = b + w * x                                   # the spec's node e, a plain expression here
    u = 1 / (1 + sympy.exp(-e))
    f = sympy.log(sympy.pi * u ** 2 + x) * sympy.exp(w)
    at = {w: W, b: B, x: X}
    return {"w": sympy.diff(f, w).subs(at), "b": sympy.diff(f, b).subs(at)}


@pytest.fixture
def spec(tmp_path):
    def write(body, name="s.toml"):
        path = tmp_path / name
        path.write_text(body)
        return str(path)
    return write


def run(capsys, *args) -> str:
    assert main(list(args)) == 0
    return capsys.readouterr().out


# -- the printers ------------------------------------------------------------------------------


def test_printers_write_exp_by_name_with_the_euler_entry():
    w = sympy.Symbol("w")
    assert text(sympy.exp(w)) == "e^(w)" and latex(sympy.exp(w)) == "e^{w}"
    assert text(sympy.exp(w), EXP_BY_NAME) == "exp(w)"
    assert latex(sympy.exp(w), EXP_BY_NAME) == r"\exp(w)"
    assert latex(sympy.exp(-w) / 2, EXP_BY_NAME) == r"\frac{1}{2} \exp(-w)"
    assert text(sympy.E, EXP_BY_NAME) == "exp(1)" and latex(sympy.E, EXP_BY_NAME) == r"\exp(1)"
    assert text(sympy.Symbol("e") * sympy.exp(w), EXP_BY_NAME) == "e · exp(w)"   # the node e stays e


def test_constant_names_follow_the_graph(spec):
    with_e = derive(load_spec(spec(INLINE))).graph
    without = derive(load_spec(spec(NO_E, "h.toml"))).graph
    assert constant_names(with_e) == EXP_BY_NAME and output_names(with_e) == EXP_BY_NAME
    assert constant_names(without) == {} and output_names(without) == {}
    assert any("e is the spec's own symbol" in n for n in with_e.notes)


def test_rules_are_written_with_exp_where_the_spec_has_its_own_e():
    words = "product rule; derivative of exp: d/dx eˣ = eˣ"
    assert rule_as_written(words, EXP_BY_NAME) == "product rule; derivative of exp: d/dx exp(x) = exp(x)"
    assert rule_as_written(words, {}) == words
    assert rule_tex(words, EXP_BY_NAME) == r"product rule; derivative of exp, $\frac{d}{dx} \exp(x) = \exp(x)$"
    assert rule_tex(words) == r"product rule; derivative of exp, $\frac{d}{dx} e^x = e^x$"


# -- the faces ---------------------------------------------------------------------------------


def test_derive_latex_writes_exp_of_w(spec, capsys):
    for body in (WITH_G, INLINE):
        out = run(capsys, "derive", spec(body), "--latex")
        assert "e^{w}" not in out and "e^{0.5}" not in out
        assert r"\exp(w)" in out or r"\exp\left(w\right)" in out
    assert r"g &= \exp(w) = \exp(0.5) \approx 1.65" in run(capsys, "derive", spec(WITH_G), "--latex")
    assert "e^{w}" in run(capsys, "derive", spec(NO_E, "h.toml"), "--latex")   # Euler's e where e is free


def test_derive_text_writes_exp_of_w_and_the_oracles_numbers(spec, capsys):
    out = run(capsys, "derive", spec(INLINE))
    assert "e^(" not in out and "eˣ" not in out
    assert "∂f/∂u = (2πu · exp(w))/(π · u² + x)" in out
    assert "derivative of exp: d/dx exp(x) = exp(x)" in out
    expected = oracle()
    shown = [line.split(": ")[1] for line in out.splitlines() if line.strip().startswith("at example 1")]
    assert shown == [f"{float(expected['b']):.2f}", f"{float(expected['w']):.2f}"]   # b first, as listed
    assert "e^(w)" in run(capsys, "derive", spec(NO_E, "h.toml"))


@pytest.mark.parametrize("body", [WITH_G, INLINE])
def test_the_gradients_match_sympy_diff_of_the_loss_written_by_hand(spec, body):
    d = derive(load_spec(spec(body)))
    _, grads = d.numeric_evaluation(d.examples())
    for name, value in oracle().items():
        assert abs(sympy.N(grads[0][name] - value, 60)) < sympy.Rational(1, 10 ** 40), name


def test_worksheet_and_its_key_write_exp_of_w(spec, tmp_path, capsys):
    for body in (WITH_G, INLINE):
        out = tmp_path / "ws.tex"
        run(capsys, "worksheet", spec(body), "-o", str(out), "--force")
        for page in (out, tmp_path / "ws-answers.tex"):
            tex = page.read_text()
            assert "e^{w}" not in tex and "e^{0.5}" not in tex, page.name
        assert r"\exp(w)" in (tmp_path / "ws-answers.tex").read_text()


def test_verify_feedback_writes_exp_and_reads_back_as_correct(spec, capsys):
    path = spec(INLINE)
    main(["verify", path, "--wrt", "w", "--answer", "1", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "incorrect"
    assert "e^{" not in report["expected"] and r"\exp(w)" in report["expected"]
    assert "e^(" not in report["expected_text"] and "exp(w)" in report["expected_text"]
    for written in (report["expected"], report["expected_text"]):   # the reference, typed back, is right
        assert main(["verify", path, "--wrt", "w", "--answer", written]) == 0, written
        assert capsys.readouterr().out.startswith("correct")


def test_notation_carries_the_euler_entry(spec):
    nt = Notation(derive(load_spec(spec(INLINE))))
    assert nt.latex(sympy.exp(sympy.Symbol("w"))) == r"\exp\left(w\right)"
    assert nt.rule_tex("derivative of exp: d/dx eˣ = eˣ") == r"derivative of exp, $\frac{d}{dx} \exp(x) = \exp(x)$"


def test_markdown_writes_exp_of_w(spec):
    md = derive(load_spec(spec(INLINE)))._repr_markdown_()
    assert "e^{" not in md and r"$$f = \exp(w) \log(\pi u^{2} + x)$$" in md
