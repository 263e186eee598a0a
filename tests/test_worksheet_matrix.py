r"""Worksheets in the slides' matrix notation (notation = "matrix", the gender network).

Oracles: the independent NumPy trainer (forward pass, loss, dW_l, db_l, one update), the slides'
backward steps computed by hand in floats here (dz_2 = (yhat - y)/n, da_1 = dz_2 W_2^T,
dz_1 = da_1 * a_1 (1 - a_1)), the slides' shapes ((4, 2) input, (2, 2) W_1, (1, 2) b_1, ...),
and pdftotext of the compiled key (the slides' boxed dL/dz_2 = yhat - y and dW_2 = a_1^T dz_2).
Every number the key shows is parsed back from the LaTeX and must round to the oracle's value.
"""
import os
import pathlib
import re
import shutil
import subprocess
import unicodedata

import numpy as np
import pytest

from symbackprop import derive, load_spec

from symbackprop.check import trainer
from symbackprop.cli.__init__ import main
from symbackprop.errors import SpecError, SymbackpropError
from symbackprop.spec.load import parse_spec
from symbackprop.worksheets.index import variant_numbers, worksheet, write_worksheets
from symbackprop.worksheets.matrix import matrix_worksheet, numpy_line, variant_specs

DERIVATIONS = pathlib.Path(__file__).resolve().parent.parent / "derivations"
GENDER = DERIVATIONS / "gender.toml"


@pytest.fixture(scope="module")
def gender():
    return load_spec(GENDER)


@pytest.fixture(scope="module")
def gender_sheet(gender):
    return matrix_worksheet(gender)


# -- the oracle -------------------------------------------------------------------------------------------


def _floats(spec):
    """The spec's numbers in the slides' shapes, read directly from the spec (w^{k}_{i,j} = W_k[j, i])."""
    params = [(np.array(w, dtype=float).T, np.array([b], dtype=float)) for w, b in zip(spec.weights, spec.biases)]
    return params, np.array(spec.x, dtype=float), np.array(spec.y, dtype=float)


def oracle(spec) -> dict:
    """Every matrix of a 2-layer sigmoid/BCE key: forward from the trainer, the slides' seven steps by
    hand (floats), and dW_l, db_l, the loss and the update from the trainer."""
    net = trainer.Network(spec.network.layers, spec.network.activations, spec.network.loss, spec.network.reduction)
    params, X, Y = _floats(spec)
    (z1, a1), (z2, yhat) = trainer.forward(net, params, X)
    n = X.shape[0]
    r = 1.0 / n if spec.network.reduction == "mean" else 1.0
    dz2 = r * (yhat - Y)
    da1 = dz2 @ params[1][0].T
    dz1 = da1 * a1 * (1 - a1)
    (dW1, db1), (dW2, db2) = trainer.gradients(net, params, X, Y)
    lr = float(spec.training.learning_rate)
    return {"z_{1}": z1, "a_{1}": a1, "z_{2}": z2, r"\hat{y}": yhat, "dz_{2}": dz2, "dW_{2}": dW2, "db_{2}": db2,
            "da_{1}": da1, "dz_{1}": dz1, "dW_{1}": dW1, "db_{1}": db1,
            "update": params[1][0] - lr * dW2, "J": trainer.loss_value(net, params, X, Y)}


# -- reading the key back -----------------------------------------------------------------------------------


def _number(cell: str):
    """(value, tolerance of the shown rounding) of one displayed number: '-0.084', '7.8 \\times 10^{-6}'."""
    cell = cell.strip()
    m = re.fullmatch(r"(-?\d+(?:\.(\d+))?) \\times 10\^\{(-?\d+)\}", cell)
    if m:
        digits = len(m.group(2) or "")
        return float(m.group(1)) * 10.0 ** int(m.group(3)), 0.5 * 10.0 ** (int(m.group(3)) - digits)
    m = re.fullmatch(r"-?\d+(?:\.(\d+))?", cell)
    assert m, f"not a number: {cell!r}"
    digits = len(m.group(1) or "")
    return float(cell), 0.5 * 10.0 ** (-digits)


def _matrices(tex: str) -> list:
    return [[[_number(c) for c in row.split("&")] for row in m.split(r"\\")]
            for m in re.findall(r"\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}", tex)]


def _display(key: str, start: str) -> str:
    """The first display (\\[ ... \\] or align*) with numbers whose first line starts with ``start``."""
    for m in re.finditer(r"\\\[(.*?)\\\]|\\begin\{align\*\}(.*?)\\end\{align\*\}", key, re.S):
        body = (m.group(1) or m.group(2)).strip()
        if body.replace(" &=", " =").replace(r" &\leftarrow", r" \leftarrow").startswith(start) and "bmatrix" in body:
            return body
    raise AssertionError(f"no display starting with {start!r}")


def _assert_close(shown, expected, what):
    expected = np.atleast_2d(np.asarray(expected, dtype=float))
    assert np.shape(shown)[:2] == expected.shape, (what, np.shape(shown), expected.shape)
    for r, row in enumerate(shown):
        for c, (value, tol) in enumerate(row):
            assert abs(value - expected[r, c]) <= tol * 1.0001 + 1e-12, (what, r, c, value, expected[r, c])


def check_key_numbers(key: str, spec):
    """Every forward and backward matrix, the update and J in the key round to the oracle's values."""
    ref = oracle(spec)
    for name in ("z_{1}", "a_{1}", "z_{2}", r"\hat{y}", "dz_{2}", "dW_{2}", "db_{2}", "da_{1}", "dz_{1}",
                 "dW_{1}", "db_{1}"):
        shown = _matrices(_display(key, name + " = "))[-1]   # the result is the last matrix of the chain
        _assert_close(shown, ref[name], name)
    shown = _matrices(_display(key, r"W_{2} \leftarrow W_{2} - \alpha\, dW_{2}"))[-1]
    _assert_close(shown, ref["update"], "update")
    m = re.search(r"J = \\frac\{1\}\{\d+\}(?:\\left)?\(.*?(?:\\right)?\) \\approx (-?[\d.]+)", key)
    value, tol = _number(m.group(1))
    assert abs(value - ref["J"]) <= tol


# -- content ----------------------------------------------------------------------------------------------


def test_the_gender_key_shows_the_slides_shapes_steps_and_mapping(gender_sheet):
    key, ex = gender_sheet.answers, gender_sheet.exercises
    # the slides' forward pass and "finding the shape of weights and biases"
    assert r"z_{1} = x W_{1} + b_{1},\quad a_{1} = \sigma(z_{1}),\quad z_{2} = a_{1} W_{2} + b_{2}" in key
    for row in (r"$x$ & $(4, 2)$", r"$W_{1}$ & $(2, 2)$", r"$b_{1}$ & $(1, 2)$", r"$z_{1}$ & $(4, 2)$",
                r"$W_{2}$ & $(2, 1)$", r"$b_{2}$ & $(1, 1)$", r"$\hat{y}$ & $(4, 1)$"):
        assert row in key
    assert r"$x$ & $(4, 2)$" in ex and r"$W_{1}$ & $(2, 2)$" not in ex   # the shapes stay an exercise
    # the mapping to index notation, with the spec's own w^{1}_{2,1} = 0.4528 at W_1[1, 2]
    assert r"$W_l[j, i] = w^{l}_{i,j}$" in key
    assert r"$W_{1}[1, 2] = w^{1}_{2,1} = 0.4528$" in key
    # the slides' seven steps, in order, boxed
    boxed = re.findall(r"\\boxed\{(.*?)\} \\\]", key)
    assert boxed == [r"dz_{2} = \frac{1}{n} (\hat{y} - y)", r"dW_{2} = a_{1}^T dz_{2}",
                     r"db_{2} = \sum_{\text{rows}} dz_{2}", r"da_{1} = dz_{2} W_{2}^T",
                     r"dz_{1} = da_{1} \odot a_{1} \odot (1 - a_{1})", r"dW_{1} = x^T dz_{1}",
                     r"db_{1} = \sum_{\text{rows}} dz_{1}"]
    assert r"boxed result $\partial L/\partial z_{2} = \hat{y} - y$" in key
    assert r"\frac{1}{n} = \frac{1}{4}" in key          # the mean's 1/n, stated with its value
    # the exercises ask, the key answers
    assert "Backward pass:} the slides' seven steps" in ex
    assert r"\boxed" not in ex and "a_{1}^T" not in ex and "dW\\_2 = a\\_1.T" not in ex
    assert "From math to code" not in ex and "From math to code" in key   # students work by hand
    assert re.search(r"\\item bce from logits delta: \$(\\frac\{\\partial L\}\{\\partial z\}|\\partial L/\\partial z) = \\hat\{y\} - y\$", key)
    assert r"\texttt{dW\_2 = a\_1.T @ dz\_2}" in key
    ex = matrix_worksheet(load_spec(GENDER), code=True).exercises
    assert r"\texttt{z\_1 = x @ W\_1 + b\_1}" in ex and r"\texttt{dW\_2 = a\_1.T" not in ex
    code = ex[ex.index("From math to code"):]
    assert "symbackprop" not in code and "latexify" not in code and "y\\_hat" not in code


def test_the_gender_key_numbers_match_the_trainer(gender, gender_sheet):
    check_key_numbers(gender_sheet.answers, gender)
    # the one update and dW_2 as the trainer computes them (W_2 <- W_2 - 0.1 dW_2)
    ref = oracle(gender)
    assert abs(ref["dW_{2}"][0, 0] - 0.0899) < 1e-4 and abs(ref["update"][0, 0] - (-0.3878)) < 1e-4
    assert r"\approx \begin{bmatrix}-0.3878 \\ 0.2349\end{bmatrix}" in gender_sheet.answers


def test_the_numpy_lines_of_the_key_compute_the_trainers_gradients(gender):
    """The 'from math to code' lines, run as written, give the trainer's gradients."""
    md = __import__("symbackprop.derivation.matrix_form", fromlist=["matrix_derive"]).matrix_derive(gender)
    params, X, Y = _floats(gender)
    ns = {"np": np, "sigmoid": trainer.sigmoid, "x": X, "y": Y, "r": 1.0 / X.shape[0]}
    for l, (W, b) in enumerate(params, start=1):
        ns[f"W_{l}"], ns[f"b_{l}"] = W, b
    lines = [numpy_line(s) for s in md.forward + md.backward]
    assert lines[4:] == ["dz_2 = r * (yhat - y)", "dW_2 = a_1.T @ dz_2", "db_2 = np.sum(dz_2, axis=0, keepdims=True)",
                         "da_1 = dz_2 @ W_2.T", "dz_1 = da_1 * (a_1 * (1 - a_1))", "dW_1 = x.T @ dz_1",
                         "db_1 = np.sum(dz_1, axis=0, keepdims=True)"]
    for line in lines:
        exec(line, ns)  # test only: the lines the worksheet prints
    net = trainer.Network([2, 2, 1], "sigmoid", "bce")
    (dW1, db1), (dW2, db2) = trainer.gradients(net, params, X, Y)
    for mine, ref in ((ns["dW_1"], dW1), (ns["db_1"], db1), (ns["dW_2"], dW2), (ns["db_2"], db2)):
        np.testing.assert_allclose(mine, ref, rtol=1e-10, atol=1e-14)


def test_worksheet_dispatches_on_the_spec_notation(gender):
    """The per-scalar Derivation, the Spec and worksheet() all give the same matrix sheet."""
    a = worksheet(derive(gender))
    b = worksheet(gender)
    assert a.exercises == b.exercises and a.answers == b.answers
    assert "Shapes} (the slides'" in a.exercises


# -- variants ------------------------------------------------------------------------------------------------


def test_variants_are_distinct_reproducible_and_hand_computable(gender):
    vs = variant_specs(gender, 5, seed=3)
    assert [(v.weights, v.biases, v.x, v.y) for v in vs] == \
        [(v.weights, v.biases, v.x, v.y) for v in variant_specs(gender, 5, seed=3)]
    keys = {(v.weights, v.biases, v.x, v.y) for v in vs}
    assert len(keys) == 5 and (gender.weights, gender.biases, gender.x, gender.y) not in keys
    assert variant_specs(gender, 5, seed=4) != vs
    for v in vs:
        assert len(v.x) == 3                                     # few examples: [worksheet].batch default
        assert all(e.is_Integer for row in v.x for e in row) and all(e in (0, 1) for row in v.y for e in row)
        assert {row[0] for row in v.y} == {0, 1}                 # both classes, like F and M
        assert all(e.is_Integer for row in v.weights[0] for e in row)
        assert all((10 * e).is_Integer for w in v.weights for row in w for e in row)   # one decimal at most
        params, X, Y = _floats(v)
        (z1, _), _ = trainer.forward(trainer.Network([2, 2, 1], "sigmoid", "bce"), params, X)
        assert np.all(z1 == np.round(z1)) and np.all(np.abs(z1) <= 4)   # sigma(z_1) from the printed table
        grads = trainer.gradients(trainer.Network([2, 2, 1], "sigmoid", "bce"), params, X, Y)
        assert all(np.all(np.abs(dW) > 1e-9) for dW, _ in grads)        # no trivially zero answer


def test_variant_keys_match_the_trainer(gender):
    for k, v in enumerate(variant_numbers(gender, 3, seed=2024), start=1):
        sheet = worksheet(gender, v, k)
        # a variant's data are made up: titled by its network, not "Gender from weight and height"
        assert f"Answer key: 2-2-1 network (sigmoid, BCE), variant {k}}}" in sheet.answers
        assert "Gender" not in sheet.answers.split("\\begin{document}")[1][:400]
        assert r"$x$ & $(3, 2)$" in sheet.answers
        check_key_numbers(sheet.answers, v)


def test_batch_option_and_errors(tmp_path, gender):
    text = GENDER.read_text()
    path = tmp_path / "g.toml"
    path.write_text(text + "\n[worksheet]\nbatch = 2\n")
    vs = variant_specs(load_spec(path), 2, seed=0)
    assert all(len(v.x) == 2 for v in vs)
    path.write_text(text + "\n[worksheet]\nbatch = 0\n")
    with pytest.raises(SpecError, match=r"\[worksheet\]\.batch: expected a whole number from 1 to 8"):
        variant_specs(load_spec(path), 2)
    path.write_text(text + '\n[worksheet]\nwrt = ["w^{1}_{1,1}"]\n')
    with pytest.raises(SpecError, match=r"\[worksheet\]\.wrt: unknown key .* \(allowed: batch\)"):
        matrix_worksheet(load_spec(path))
    wide = parse_spec('notation = "matrix"\n[network]\nlayers = [2, 7, 1]\nactivations = "sigmoid"\nloss = "bce"\n'
                      "[data]\nx = [[1, 2]]\ny = [[1]]\n", source="wide.toml")
    with pytest.raises(SpecError, match=r"wide.toml: \[network\]\.layers = \[2, 7, 1\]: .* at most 6 neurons"):
        matrix_worksheet(wide)
    with pytest.raises(SpecError, match="1 to 50"):
        variant_specs(gender, 0)


@pytest.mark.parametrize("text", [
    # softmax with cross-entropy (the fused dz = yhat - y with one-hot rows), ReLU hidden layer, summed loss
    'notation = "matrix"\n[network]\nlayers = [2, 3, 2]\nactivations = ["relu", "softmax"]\nloss = "cross_entropy"\n'
    'reduction = "sum"\n[data]\nx = [[1, 0], [0, 1]]\ny = [[1, 0], [0, 1]]\n',
    # three weight layers, tanh, identity output, squared error: the unfused first step dŷ
    'notation = "matrix"\n[network]\nlayers = [1, 2, 2, 1]\nactivations = ["tanh", "tanh", "identity"]\n'
    'loss = "mse"\n[data]\nx = [[1], [2]]\ny = [[0], [1]]\n',
])
def test_other_networks_get_matrix_worksheets_matching_the_trainer(text):
    spec = parse_spec(text, source="net.toml")
    net = trainer.Network(spec.network.layers, spec.network.activations, spec.network.loss, spec.network.reduction)
    for k, v in enumerate([spec] + variant_specs(spec, 2, seed=1)):
        key = worksheet(v, None if k == 0 else v, k or None).answers
        params, X, Y = _floats(v)
        for l, (dW, db) in enumerate(trainer.gradients(net, params, X, Y), start=1):
            _assert_close(_matrices(_display(key, f"dW_{{{l}}} = "))[-1], dW, f"dW_{l}")
            _assert_close(_matrices(_display(key, f"db_{{{l}}} = "))[-1], db, f"db_{l}")


# -- files -----------------------------------------------------------------------------------------------------


def test_cli_writes_byte_identical_files_and_never_overwrites(tmp_path, capsys):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        assert main(["worksheet", str(GENDER), "-o", str(tmp_path / folder / "g.tex"), "--variants", "3",
                     "--seed", "9"]) == 0
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["g-1-answers.tex", "g-1.tex", "g-2-answers.tex", "g-2.tex", "g-3-answers.tex", "g-3.tex"]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    texts = {(tmp_path / "a" / n).read_text() for n in names if "answers" not in n}
    assert len(texts) == 3
    capsys.readouterr()
    (tmp_path / "a" / "g-2-answers.tex").write_text("mine")
    assert main(["worksheet", str(GENDER), "-o", str(tmp_path / "a" / "g.tex"), "--variants", "3", "--seed", "1"]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert (tmp_path / "a" / "g-2-answers.tex").read_text() == "mine"
    assert (tmp_path / "a" / "g-1.tex").read_bytes() == (tmp_path / "b" / "g-1.tex").read_bytes()
    assert main(["worksheet", str(GENDER), "-o", str(tmp_path / "a" / "g.tex"), "--fragment"]) == 0
    frag = (tmp_path / "a" / "g-answers.tex").read_text()
    assert "\\documentclass" not in frag and "\\begin{tikzpicture}" in frag and "\\boxed" in frag
    leftovers = [p.name for p in (tmp_path / "a").iterdir() if p.name.startswith(".tmp-")]
    assert leftovers == []


# -- compiled PDFs ----------------------------------------------------------------------------------------------


def _need_pdflatex():
    if shutil.which("pdflatex") is None or shutil.which("pdftotext") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pdflatex and pdftotext are required in CI "
                        "(texlive-latex-base, -recommended, -pictures, lmodern, poppler-utils)")
        pytest.skip("pdflatex/poppler-utils are not installed: the matrix worksheets are not compiled here")


@pytest.fixture(scope="module")
def pdf_folder(tmp_path_factory):
    """The gender worksheet and key, and three variants with keys, compiled by the CLI's --pdf
    (pdflatex -halt-on-error; a failure would raise and write nothing)."""
    _need_pdflatex()
    folder = tmp_path_factory.mktemp("matrix-pdfs")
    assert main(["worksheet", str(GENDER), "-o", str(folder / "gender.tex"), "--pdf"]) == 0
    assert main(["worksheet", str(GENDER), "-o", str(folder / "v.tex"), "--variants", "3", "--seed", "7", "--pdf"]) == 0
    return folder


def _text(pdf) -> str:
    out = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, timeout=60).stdout.decode()
    return "".join(unicodedata.normalize("NFC", out).replace("\u2212", "-").split())


def test_gender_worksheet_key_and_three_variants_compile(pdf_folder):
    pdfs = sorted(p.name for p in pdf_folder.glob("*.pdf"))
    assert pdfs == ["gender-answers.pdf", "gender.pdf", "v-1-answers.pdf", "v-1.pdf", "v-2-answers.pdf", "v-2.pdf",
                    "v-3-answers.pdf", "v-3.pdf"]
    for name in pdfs:
        assert (pdf_folder / name).read_bytes().startswith(b"%PDF")


def test_compiled_gender_key_reads_like_the_slides(pdf_folder, gender):
    text = _text(pdf_folder / "gender-answers.pdf")
    assert "∂L/∂z2=ŷ-y" in text                  # the slides' boxed result
    assert "dW2=aT1dz2" in text                  # dW_2 = a_1^T dz_2 (pdftotext puts the T before the 1)
    assert "db2=" in text and "da1=dz2W2T" in text and "dW1=xTdz1" in text
    assert "Wl[j,i]=wi,j" in text and "W1[1,2]=w2,1" in text   # the mapping (pdftotext moves the superscript)
    ref = oracle(gender)
    # dW_2 and the updated W_2 as the trainer computes them, rounded as the key rounds
    assert f"{ref['dW_{2}'][1, 0]:.2f}" in text and f"{ref['dW_{1}'][0, 0]:.2f}" in text
    assert f"{ref['update'][0, 0]:.4f}" in text and f"≈{ref['J']:.2f}" in text
    exercises = _text(pdf_folder / "gender.pdf")
    assert "dW2=aT1dz2" not in exercises and "Shapes" in exercises and "W1[1,2]" in exercises


def test_compiled_variant_shows_its_own_batch(pdf_folder):
    texts = [_text(pdf_folder / f"v-{k}-answers.pdf") for k in (1, 2, 3)]
    assert len(set(texts)) == 3
    for t in texts:
        assert "(3,2)" in t and "∂L/∂z2=ŷ-y" in t and "dW2=aT1dz2" in t


def test_a_failing_compile_writes_nothing(tmp_path, monkeypatch, gender):
    import symbackprop.render.pdf as pdf

    def broken(*a, **k):
        raise SymbackpropError("pdflatex failed on g.tex")

    monkeypatch.setattr(pdf, "compile_tex", broken)
    with pytest.raises(SymbackpropError, match="pdflatex failed"):
        write_worksheets(gender, str(tmp_path / "g.tex"), variants=2, seed=1, pdf=True)
    assert list(tmp_path.iterdir()) == []


def test_fragment_compiles_inside_an_instructors_document(tmp_path, gender):
    """--fragment: the body needs only what its header comment names."""
    _need_pdflatex()
    frag = matrix_worksheet(gender, fragment=True).answers
    needs = re.search(r"needs \\usepackage\{(.*?)\} and \\usetikzlibrary\{(.*?)\}", frag)
    doc = ("\\documentclass{article}\n\\usepackage[margin=2cm]{geometry}\n"
           f"\\usepackage{{{needs.group(1)}}}\n\\usetikzlibrary{{{needs.group(2)}}}\n"
           "\\begin{document}\nMy own text.\n" + frag + "\\end{document}\n")
    (tmp_path / "mine.tex").write_text(doc)
    proc = subprocess.run(["pdflatex", "-halt-on-error", "-interaction=nonstopmode", "-no-shell-escape", "mine.tex"],
                          cwd=tmp_path, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stdout.decode("latin-1")[-1500:]
    assert "dW2=aT1dz2" in _text(tmp_path / "mine.pdf")
