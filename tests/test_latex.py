r"""The LaTeX derivations read like the lectures, with the lectures' own numbers.

Oracles: the lecture notes' worked example (z = (1 . 1) + (1 . 0) + 1 = 2, a = sigma(2) ~ 0.88,
z ~ 2.76, yhat ~ 0.94), the slides' graph f = (x + y) z (q = 3, f = -12, df/dx = df/dy = -4, df/dz = 3),
the slides' MSE by hand (dJ/dw = (1/n) sum -2 x (y - (w x + b)) = -35 at w = b = 0), the slides'
BCE steps, and plain-float math for the update of w^{1}_{1,1}.
"""
import math
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

import pytest
import sympy

from symbackprop import derive, load_spec
from symbackprop.cli.__init__ import main
from symbackprop.errors import NotSupportedError, SpecError, SymbackpropError
from symbackprop.ops.functions import sigmoid
from symbackprop.render.latex import (derivation_body, derivation_document, derivation_math, format_given,
                                      format_number, preamble, tex_escape)


def sig(v):
    return 1 / (1 + math.exp(-v))


DERIVATIONS = pathlib.Path(__file__).resolve().parent.parent / "derivations"


def spec_path(name):
    return DERIVATIONS / name


@pytest.fixture(scope="module")
def lecture():
    return derive(load_spec(spec_path("lecture_2_2_1.toml")))


@pytest.fixture(scope="module")
def lecture_doc(lecture):
    return derivation_document(lecture)


# -- numbers ------------------------------------------------------------------------------------


def test_format_number_exact_and_rounded():
    assert format_number(sympy.Integer(2)) == ("2", True)
    assert format_number(sympy.Integer(-12)) == ("-12", True)
    assert format_number(sympy.Rational(7, 2)) == ("3.5", True)
    assert format_number(sympy.Rational(1, 10)) == ("0.1", True)
    assert format_number(sympy.Rational(1, 8)) == ("0.13", False)     # 0.125 rounds half up
    assert format_number(sympy.Rational(1, 8), 3) == ("0.125", True)
    assert format_number(sympy.Rational(-1, 3)) == ("-0.33", False)
    assert format_number(sigmoid(sympy.Integer(2))) == ("0.88", False)  # 0.8807...
    assert format_number(1 + 2 * sigmoid(sympy.Integer(2)), 4) == ("2.7616", False)  # the README's exact z


def test_format_number_never_shows_minus_zero():
    tiny = sympy.Rational(-61, 200000)  # -0.000305
    text, exact = format_number(tiny)
    assert text == "-0.00031" and not exact
    assert format_number(sympy.Rational(96, 10**8))[0] == r"9.6 \times 10^{-7}"
    assert format_number(sympy.Rational(-1, 1000), 2)[0] != "-0.00"


def test_format_given_keeps_the_specs_digits():
    assert format_given(sympy.Rational(889, 10000)) == "0.0889"
    assert format_given(sympy.Rational(1, 3)) == "0.33"


def test_tex_escape_neutralizes_latex_and_unicode():
    text = tex_escape(r"50% & $x_1$ \input{/etc/passwd} ŷ σ")
    assert "\\input" not in text.replace(r"\textbackslash{}input", "")
    assert r"\%" in text and r"\&" in text and r"\$" in text and r"\_" in text
    assert r"$\hat{y}$" in text and r"$\sigma$" in text
    assert all(ord(c) < 128 for c in text)


# -- the lecture network ---------------------------------------------------------------------------


def test_forward_pass_reads_like_the_notes(lecture_doc):
    assert r"z^{2}_{1} &= w^{1}_{1,1} x_{1} + w^{1}_{1,2} x_{2} + b^{1}_{1} = (1 \cdot 1) + (1 \cdot 0) + 1 = 2" \
        in lecture_doc
    assert r"a^{2}_{1} &= \sigma(z^{2}_{1}) = \sigma(2) \approx 0.88" in lecture_doc
    assert r"\approx (1 \cdot 0.88) + (1 \cdot 0.88) + 1 \approx 2.76" in lecture_doc
    assert r"\hat{y} = a^{3}_{1} &= \sigma(z^{3}_{1}) \approx \sigma(2.76) \approx 0.94" \
        in lecture_doc
    assert round(1 + 2 * sig(2), 2) == 2.76 and round(sig(1 + 2 * sig(2)), 2) == 0.94


def test_forward_pass_at_four_decimals_is_the_exact_value_not_the_notes_slip(lecture):
    doc = derivation_document(lecture, decimals=4)
    assert r"\approx 2.7616" in doc and r"\approx 0.9406" in doc
    assert f"{1 + 2 * sig(2):.4f}" == "2.7616"


def test_chain_rule_for_w111_is_the_notes_product_in_their_order(lecture):
    doc = derivation_document(lecture, wrt="w^{1}_{1,1}")
    assert r"Path of influence: $w^{1}_{1,1} \to z^{2}_{1} \to a^{2}_{1} \to z^{3}_{1} \to \hat{y} \to L$" in doc
    product = (r"\frac{\partial L}{\partial w^{1}_{1,1}} &= \frac{\partial L}{\partial \hat{y}} \cdot "
               r"\frac{\partial \hat{y}}{\partial z^{3}_{1}} \cdot \frac{\partial z^{3}_{1}}{\partial a^{2}_{1}} \cdot "
               r"\frac{\partial a^{2}_{1}}{\partial z^{2}_{1}} \cdot \frac{\partial z^{2}_{1}}{\partial w^{1}_{1,1}}")
    assert product in doc
    # each local derivative on its own line, with the notes' intermediate step and a rule
    assert (r"\frac{\partial z^{3}_{1}}{\partial a^{2}_{1}} = \frac{\partial}{\partial a^{2}_{1}}"
            r"\left[w^{2}_{1,1} a^{2}_{1} + w^{2}_{1,2} a^{2}_{2} + b^{2}_{1}\right] = w^{2}_{1,1}") in doc
    assert r"\frac{\partial a^{2}_{1}}{\partial z^{2}_{1}} = \sigma'(z^{2}_{1}) = a^{2}_{1}(1 - a^{2}_{1})" \
        in doc
    assert doc.count("Rule: ") == 5
    assert "derivative of the sigmoid" in doc and "linear in each weight" in doc
    # the assembled gradient, in the same order
    assert (r"&= (\hat{y} - y) \cdot \hat{y}(1 - \hat{y}) \cdot w^{2}_{1,1} \cdot "
            r"a^{2}_{1}(1 - a^{2}_{1}) \cdot x_{1}") in doc


def test_gradient_numbers_and_the_update_match_plain_float_math(lecture):
    doc = derivation_document(lecture, wrt="w^{1}_{1,1}")
    a = sig(2)
    yhat = sig(1 + 2 * a)
    grad = (yhat - 1) * yhat * (1 - yhat) * 1 * a * (1 - a) * 1
    assert f"{grad:.5f}" == "-0.00035"
    assert r"\frac{\partial L}{\partial w^{1}_{1,1}} &\approx (-0.06) (0.06) (1) (0.10) (1) \approx -0.00035" in doc
    new = 1 - 0.1 * grad
    assert f"{new:.5f}" == "1.00003"
    assert (r"w^{1}_{1,1} \leftarrow w^{1}_{1,1} - \alpha \frac{\partial J}{\partial w^{1}_{1,1}} \approx "
            r"1 - 0.1 \cdot (-0.00035) \approx 1.00003") in doc


def test_the_reduction_is_stated(lecture_doc):
    assert r"J = \frac{1}{n} \sum_{e=1}^{n} L_e" in lecture_doc
    assert "n = 1." in lecture_doc


def test_every_parameter_has_a_section_and_a_summary_row(lecture, lecture_doc):
    for p in lecture.parameters:
        assert f"\\subsection*{{The gradient $\\partial L/\\partial {p}$}}" in lecture_doc
        assert f"${p}$ & $1$ &" in lecture_doc


def test_rendering_never_differentiates_again(lecture, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("the renderer differentiated: it must only read the Derivation")

    monkeypatch.setattr(sympy.Expr, "diff", forbidden)
    monkeypatch.setattr(sympy, "diff", forbidden)
    monkeypatch.setattr(sympy.Derivative, "__new__", forbidden)
    doc = derivation_document(lecture)
    assert "Backward pass" in doc


def test_same_input_same_bytes(lecture):
    assert derivation_document(lecture) == derivation_document(derive(lecture.spec))


def test_fragment_has_no_preamble(lecture):
    frag = derivation_document(lecture, fragment=True)
    assert "\\documentclass" not in frag and "\\begin{document}" not in frag
    assert "\\section*{2-2-1 MLP from the lecture}" in frag


def test_errors_name_what_is_allowed(lecture):
    with pytest.raises(SpecError, match="unknown name"):
        derivation_document(lecture, wrt="w^{9}_{1,1}")
    with pytest.raises(NotSupportedError, match="0 to 12"):
        derivation_document(lecture, decimals=40)


# -- the slides' graph, linear regression, BCE ---------------------------------------------------------


def test_computational_graph_as_the_slides():
    d = derive(load_spec(spec_path("computational_graph.toml")))
    doc = derivation_document(d)
    assert r"q &= x + y = -2 + 5 = 3" in doc
    assert r"f &= q z = 3 \cdot (-4) = -12" in doc
    # local gradients, then upstream times local at each node
    assert r"\frac{\partial q}{\partial x} = 1,\quad \frac{\partial q}{\partial y} = 1" in doc
    assert r"\frac{\partial f}{\partial q} = z,\quad \frac{\partial f}{\partial z} = q" in doc
    assert r"\frac{\partial f}{\partial q} &= z = -4" in doc
    assert r"\frac{\partial f}{\partial z} &= q = 3" in doc
    assert (r"\frac{\partial f}{\partial x} &= \frac{\partial f}{\partial q}\,\frac{\partial q}{\partial x} = "
            r"\frac{\partial f}{\partial q} \cdot 1 = (-4) \cdot 1 = -4") in doc
    assert (r"\frac{\partial f}{\partial y} &= \frac{\partial f}{\partial q}\,\frac{\partial q}{\partial y} = "
            r"\frac{\partial f}{\partial q} \cdot 1 = (-4) \cdot 1 = -4") in doc


def test_linear_regression_mean_and_update_match_the_slides_formula():
    d = derive(load_spec(spec_path("linear_regression.toml")))
    doc = derivation_document(d)
    xs, ys, w, b = [1, 2, 3, 4], [3, 5, 7, 9], 0, 0
    dw = sum(-2 * x * (y - (w * x + b)) for x, y in zip(xs, ys)) / len(xs)
    db = sum(-2 * (y - (w * x + b)) for x, y in zip(xs, ys)) / len(xs)
    assert (dw, db) == (-35, -12)
    assert r"\frac{1}{4}((-6) + (-20) + (-42) + (-72)) = -35" in doc
    assert r"w \leftarrow w - \alpha \frac{\partial J}{\partial w} = 0 - 0.1 \cdot (-35) = 3.5" in doc
    assert r"b \leftarrow b - \alpha \frac{\partial J}{\partial b} = 0 - 0.1 \cdot (-12) = 1.2" in doc


def test_bce_sigmoid_box_is_derived_in_visible_steps():
    d = derive(load_spec(spec_path("gender.toml")))
    body = derivation_body(d, wrt=["w^{2}_{1,1}"])  # the index-notation view (the matrix one is delegated)
    steps = [
        r"\frac{\partial L}{\partial z^{3}_{1}} &= \frac{\partial L}{\partial \hat{y}} \cdot \frac{\partial \hat{y}}{\partial z^{3}_{1}}",
        r"\frac{\partial L}{\partial \hat{y}} &= \frac{1 - y}{1 - \hat{y}} - \frac{y}{\hat{y}} = "
        r"\frac{\hat{y} - y}{\hat{y}(1 - \hat{y})}",
        r"\frac{\partial \hat{y}}{\partial z^{3}_{1}} &= \hat{y}(1 - \hat{y})",
        r"\frac{\partial L}{\partial z^{3}_{1}} &= \frac{\hat{y} - y}{\hat{y}(1 - \hat{y})} \cdot \hat{y}(1 - \hat{y})",
        r"&= \boxed{\hat{y} - y}",
    ]
    positions = [body.index(s) for s in steps]
    assert positions == sorted(positions)
    assert r"$\partial L/\partial z_{2} = \hat{y} - y$" in body  # the slides' matrix names
    # the slides' algebra, checked independently: -y/yhat + (1-y)/(1-yhat) = (yhat - y)/(yhat(1-yhat))
    yh, y = sympy.symbols("yhat y")
    assert sympy.simplify(-y / yh + (1 - y) / (1 - yh) - (yh - y) / (yh * (1 - yh))) == 0


def test_matrix_notation_is_delegated_when_the_matrix_renderer_exists(monkeypatch):
    d = derive(load_spec(spec_path("gender.toml")))
    import importlib

    try:
        matrix = importlib.import_module("symbackprop.render.matrix_latex")
    except ModuleNotFoundError:
        matrix = None
    if matrix is not None:
        assert derivation_document(d) == matrix.matrix_derivation_document(d, decimals=2, fragment=False)
    real = importlib.import_module

    def missing(name, *a, **k):
        if name == "symbackprop.render.matrix_latex":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real(name, *a, **k)

    monkeypatch.setattr(importlib, "import_module", missing)
    doc = derivation_document(d)
    assert r"\boxed{\hat{y} - y}" in doc and "\\documentclass" in doc


# -- the CLI ----------------------------------------------------------------------------------------


def test_cli_writes_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "d.tex"
    spec = str(spec_path("computational_graph.toml"))
    assert main(["derive", spec, "--latex", "-o", str(out)]) == 0
    first = out.read_text()
    assert first.startswith("% Derivation generated by symbackprop")
    assert main(["derive", spec, "--latex", "-o", str(out), "--fragment"]) == 2
    assert "exists" in capsys.readouterr().err and out.read_text() == first
    assert main(["derive", spec, "--latex", "-o", str(out), "--fragment", "--force"]) == 0
    assert "\\documentclass" not in out.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["d.tex"]  # no temporary files left behind


# -- compiling ----------------------------------------------------------------------------------------


def _need_pdflatex():
    if shutil.which("pdflatex") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pdflatex is required in CI (texlive-latex-base, -recommended, -pictures, lmodern)")
        pytest.skip("pdflatex is not installed: the LaTeX is not compiled here")


def _compile(tex: str, workdir: str) -> str:
    path = os.path.join(workdir, "t.tex")
    with open(path, "w") as fh:
        fh.write(tex)
    proc = subprocess.run(["pdflatex", "-halt-on-error", "-interaction=nonstopmode", "-no-shell-escape", "t.tex"],
                          cwd=workdir, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stdout.decode("latin-1")[-2000:]
    return os.path.join(workdir, "t.pdf")


def test_fragment_notebook_math_and_escaped_title_compile(lecture):
    """The --fragment bodies (derivation and worksheet key) inside an instructor's document,
    derivation_math inside $$...$$ (what a notebook's MathJax receives), and a title full of LaTeX
    specials all compile."""
    _need_pdflatex()
    from symbackprop.spec.load import parse_spec

    hostile = parse_spec('title = "50% of {x_1} & $y$ \\\\input{x} #1 ~ ^ ŷ"\n[graph]\nequations = ["f = 2 x"]\n'
                         "[data]\nx = 3\n", source="hostile.toml")
    from symbackprop.render.tikz import tikz_packages
    from symbackprop.worksheets.index import worksheet

    body = "\n".join([
        derivation_document(lecture, wrt="w^{1}_{2,1}", fragment=True),
        "$$" + derivation_math(lecture, wrt=["w^{1}_{1,1}", "b^{2}_{1}"]) + "$$",
        derivation_document(derive(hostile), fragment=True),
        worksheet(derive(hostile), fragment=True).answers,
    ])
    tex = preamble(tikz_packages()) + "\\begin{document}\n" + body + "\n\\end{document}\n"
    with tempfile.TemporaryDirectory() as tmp:
        pdf = _compile(tex, tmp)
        text = subprocess.run(["pdftotext", pdf, "-"], capture_output=True, timeout=60).stdout.decode()
    assert "50% of {x_1} & $y$" in text


def test_derivation_math_is_one_aligned_block(lecture):
    math_ = derivation_math(lecture, wrt="w^{1}_{1,1}")
    assert math_.startswith("\\begin{aligned}") and math_.endswith("\\end{aligned}")
    assert "\\section" not in math_ and "align*" not in math_ and "$" not in math_
    assert re.search(r"\\approx -0\.00035", math_)


def test_errors_are_symbackprop_errors():
    assert issubclass(NotSupportedError, SymbackpropError)


def test_softmax_paths_through_one_boxed_delta_are_counted_once():
    """In a softmax network the paths via ŷ_1 and ŷ_2 meet in ∂L/∂z^{3}_{k}: the line that uses the
    boxed δ has one term per z^{3}_{k}, and its displayed products add up to the displayed gradient
    (a path counted twice would double it). Oracle: central differences of the trainer's loss."""
    import re

    import numpy as np

    from symbackprop.check import trainer
    from symbackprop.check.compare import matrices_from_names, network_from_graph
    from symbackprop.compile.numpy_backend import spec_data, spec_parameters
    from symbackprop.render.latex import derivation_document

    d = derive(load_spec(pathlib.Path(__file__).parent / "data" / "tanh_softmax_3_4_2.toml"))
    doc = derivation_document(d, wrt=["w^{1}_{1,1}"], decimals=8)
    boxed = [l for l in doc.splitlines() if l.startswith("&= (\\hat{y}_{1} y_{1}")]
    assert boxed and boxed[0].count(" + (") == 1            # two terms: through z^{3}_{1} and z^{3}_{2}
    net, params = network_from_graph(d), spec_parameters(d)
    X, Y = spec_data(d)
    lines = doc.splitlines()
    starts = [i for i, l in enumerate(lines) if "\\Big|_{e=" in l and "&\\approx" in l]
    assert len(starts) == d.n_examples
    for e, i in enumerate(starts):
        rows = [lines[i].split("&\\approx", 1)[1]]
        while lines[i + 1].startswith("&\\quad + "):   # a long sum is set one path per row
            i += 1
            rows.append(lines[i][len("&\\quad "):])
        line = " ".join(r.rstrip(" \\") for r in rows)
        sums, shown = line.rsplit("\\approx", 1)
        total = 0.0
        for term in sums.split(" + "):
            total += float(np.prod([float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", term)]))
        h = 1e-6

        def J(v):
            moved = dict(params, **{"w^{1}_{1,1}": v})
            return trainer.loss_value(net, matrices_from_names(d.graph.layers, moved), X[e:e + 1], Y[e:e + 1])

        fd = (J(params["w^{1}_{1,1}"] + h) - J(params["w^{1}_{1,1}"] - h)) / (2 * h)
        assert total == pytest.approx(float(shown), abs=1e-6)
        assert float(shown) == pytest.approx(fd, abs=1e-6)
