"""Worksheets after issue 11: one builder for both notations; and issue 14's follow-ups in the keys.

Oracles: sympy.diff of the loss written out by hand, finite differences on the independent
trainer's forward pass, Python's math.tanh, and the sheets' own structure read back.
"""
import math
import pathlib
import re

import numpy as np
import pytest
import sympy

from symbackprop import derive, load_spec
from symbackprop.check import trainer
from symbackprop.check.compare import to_matrices
from symbackprop.worksheets.index import base_numbers, variant_numbers, worksheet
from symbackprop.worksheets.matrix import matrix_worksheet

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
DERIVATIONS = ROOT / "derivations"
PACKAGE = ROOT / "symbackprop" / "worksheets"


def _spec(tmp_path, text, name="s.toml"):
    p = tmp_path / name
    p.write_text(text)
    return load_spec(str(p))


SOFTMAX = """title = "softmax"
[network]
layers = [2, 2, 2]
activations = ["tanh", "softmax"]
loss = "cross_entropy"
[parameters]
weights = [[[1, -1], [1, 2]], [[1, -1], [-1, 2]]]
biases = [[0, 1], [0, 0]]
[data]
x = [[1, 0]]
y = [[{y1}, {y2}]]
"""


# -- one builder, two views -----------------------------------------------------------------------


def test_the_layout_is_written_once():
    """The sections of a sheet and a key are laid out in builder.py only; the views supply pieces."""
    for name in ("index.py", "matrix.py", "matrix_numbers.py", "matrix_key.py"):
        text = (PACKAGE / name).read_text()
        assert "\\\\section*{{Worksheet:" not in text and "Name: \\\\rule" not in text, name
        assert "\\\\begin{document}" not in text and "preamble(" not in text, name
    builder = (PACKAGE / "builder.py").read_text()
    assert builder.count("\\\\section*{{Worksheet: {title}}}") == 1


@pytest.mark.parametrize("spec", [DERIVATIONS / "lecture_2_2_1.toml", DERIVATIONS / "gender.toml"])
def test_both_notations_share_the_order_of_sections(spec):
    ws = worksheet(load_spec(str(spec)) if "gender" in spec.name else derive(load_spec(str(spec))), code=True)
    for doc, first, marks in ((ws.exercises, "Worksheet:", ["Name:"]), (ws.answers, "Answer key:", [])):
        order = [first, *marks, "\\begin{tikzpicture}", "Values of the sigmoid", "\\subsection*{Exercises}",
                 *(["\\subsection*{Answers}"] if doc is ws.answers else []), "\\subsection*{From math to code}"]
        at = [doc.index(m) for m in order]
        assert at == sorted(at), (spec.name, order)


# -- the boxed softmax / cross-entropy result ------------------------------------------------------


def _dL_dz_by_finite_differences(d, spec):
    """dL/dz^{3}_k of -sum_k y_k log softmax(z)_k at the trainer's z^{3}, by central differences."""
    nums = base_numbers(d)
    params = {s.name: float(v) for s, v in nums.parameters.items()}
    net = trainer.Network(list(spec.network.layers), list(spec.network.activations), "cross_entropy")
    x = np.array([[float(v) for v in spec.x[0]]])
    y = np.array([float(v) for v in spec.y[0]])
    (_, _), (z3, yhat) = trainer.forward(net, to_matrices(d, params), x)
    z3 = z3[0]

    def loss(z):
        p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        return -(y * np.log(p)).sum()

    h = 1e-6
    grads = [(loss(z3 + h * e) - loss(z3 - h * e)) / (2 * h) for e in np.eye(len(z3))]
    return np.array(grads), yhat[0], y


def test_the_key_boxes_yhat_minus_y_for_one_hot_targets(tmp_path):
    spec = _spec(tmp_path, SOFTMAX.format(y1=1, y2=0))
    d = derive(spec)
    key = worksheet(d).answers
    for k in (1, 2):
        general = rf"\hat{{y}}_{{{k}}} y_{{1}} + \hat{{y}}_{{{k}}} y_{{2}} - y_{{{k}}}"
        assert rf"&= \boxed{{\hat{{y}}_{{{k}}} - y_{{{k}}}}} && \text{{one-hot targets: }} y_{{1}} + y_{{2}} = 1" in key
        assert rf"&= {general} \\" in key                  # the step before it, true for any targets
        assert rf"\boxed{{{general}}}" not in key
    # the oracles: sympy.diff of the loss written out, with y_2 = 1 - y_1 ...
    z1, z2, y1 = sympy.symbols("z1 z2 y1")
    s1 = sympy.exp(z1) / (sympy.exp(z1) + sympy.exp(z2))
    s2 = sympy.exp(z2) / (sympy.exp(z1) + sympy.exp(z2))
    L = -(y1 * sympy.log(s1) + (1 - y1) * sympy.log(s2))
    assert sympy.simplify(sympy.diff(L, z1) - (s1 - y1)) == 0
    # ... and finite differences at the sheet's numbers agree with yhat - y, the number in the key
    fd, yhat, y = _dL_dz_by_finite_differences(d, spec)
    assert np.allclose(fd, yhat - y, atol=1e-6)
    row = next(line for line in key.splitlines() if line.startswith(r"\frac{\partial L}{\partial z^{3}_{1}} &="))
    assert row.rstrip(" \\").endswith(f"\\approx {fd[0]:.2f}")


def test_targets_that_do_not_sum_to_one_keep_the_general_box(tmp_path):
    spec = _spec(tmp_path, SOFTMAX.format(y1=0.5, y2=0.25))
    d = derive(spec)
    ws = worksheet(d)
    assert r"\boxed{\hat{y}_{1} y_{1} + \hat{y}_{1} y_{2} - y_{1}}" in ws.answers
    assert r"\boxed{\hat{y}_{1} - y_{1}}" not in ws.answers and "one-hot" not in ws.answers
    # the oracle: without y_1 + y_2 = 1 the gradient is yhat_1 (y_1 + y_2) - y_1, not yhat_1 - y_1
    fd, yhat, y = _dL_dz_by_finite_differences(d, spec)
    assert np.allclose(fd, yhat * y.sum() - y, atol=1e-6) and not np.allclose(fd, yhat - y, atol=1e-3)


def test_soft_targets_that_sum_to_one_are_not_called_one_hot(tmp_path):
    ws = worksheet(derive(_spec(tmp_path, SOFTMAX.format(y1=0.75, y2=0.25))))
    assert r"\boxed{\hat{y}_{1} - y_{1}} && \text{targets that sum to 1: }" in ws.answers
    assert "one-hot" not in ws.answers and "one-hot" not in ws.exercises
    assert "the targets sum to 1, $y_{1} + y_{2} = 1$" in ws.exercises


# -- the tanh table --------------------------------------------------------------------------------


def _tanh_row(doc):
    m = re.search(r"\$\\tanh z\$ & (.*?) \\\\", doc)
    assert m, "no tanh table"
    return [float(c.strip("$ ")) for c in m.group(1).split("&")]


def test_tanh_sheets_print_a_table_of_tanh():
    d = derive(load_spec(str(DATA / "tanh_softmax_3_4_2.toml")))
    ws = worksheet(d)
    for doc in (ws.exercises, ws.answers):
        assert _tanh_row(doc) == [round(math.tanh(z), 4) for z in range(-4, 5)]   # 4 decimals: tanh 3 != tanh 4
        assert "Values of the sigmoid" not in doc
    # the matrix view prints the same table (same builder)
    text = (DATA / "tanh_softmax_3_4_2.toml").read_text().replace('notation = "index"', 'notation = "matrix"')
    mws = matrix_worksheet(load_spec_text(text))
    assert _tanh_row(mws.exercises) == [round(math.tanh(z), 4) for z in range(-4, 5)]
    # a sigmoid sheet has no tanh table
    assert r"$\tanh z$ &" not in worksheet(derive(load_spec(str(DERIVATIONS / "lecture_2_2_1.toml")))).exercises


def load_spec_text(text):
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        p = pathlib.Path(tmp) / "m.toml"
        p.write_text(text)
        return load_spec(str(p))


def test_tanh_variants_keep_the_hidden_z_inside_the_table():
    d = derive(load_spec(str(DATA / "tanh_softmax_3_4_2.toml")))
    net = trainer.Network([3, 4, 2], ["tanh", "softmax"], "cross_entropy")
    xs = [sympy.Symbol(f"x_{{{j}}}", real=True) for j in (1, 2, 3)]
    for v in variant_numbers(d, 4, seed=5):
        params = {s.name: float(val) for s, val in v.parameters.items()}
        x = np.array([[float(v.examples[0][s]) for s in xs]])
        (z_hidden, _), _ = trainer.forward(net, to_matrices(d, params), x)
        assert np.all(np.abs(z_hidden) <= 4) and np.all(z_hidden == np.round(z_hidden))


# -- the update exercise says what J is ------------------------------------------------------------


def test_the_update_exercise_defines_the_cost_it_differentiates():
    ex = worksheet(derive(load_spec(str(DERIVATIONS / "lecture_2_2_1.toml")))).exercises
    item = ex[ex.index("One update."):]
    item = item[:item.index("\\item") if "\\item" in item else len(item)]
    assert r"\tfrac{\partial J}{\partial w}" in item
    assert r"(With one example the cost $J$ is that example's $L$, so $\partial J/\partial w = \partial L/\partial w$.)" in item
    # the setup never defined J: the exercise is where it is said
    setup = ex[ex.index("\\begin{document}"):ex.index("\\subsection*{Exercises}")]
    assert "$J" not in setup and "J =" not in setup and "J$" not in setup
