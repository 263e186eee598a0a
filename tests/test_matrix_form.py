"""The matrix form (the slides' batch backprop) against independent oracles.

- Entry by entry, exactly: every backward matrix (dz_l, da_l, dW_l, db_l) of random networks
  with 1 to 4 weight layers, every activation and every loss, evaluated from the matrix
  formulas in exact arithmetic, equals the core engine's per-scalar chain rule
  (``Derivation.exact_gradients`` and ``exact_node_gradients``) at exact rational points.
- The generated vectorized NumPy against the per-scalar compiled code (1e-10 relative),
  the independent trainer, and finite differences (``check_matrix``).
- The slides (001): the gender network's seven steps, shapes and reduction.
- The rule tables against ``sympy.diff`` of the registries' losses and activations.
"""
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys

import numpy as np
import pytest
import sympy

from symbackprop import compile_gradients, derive, load_spec, parse_spec

from symbackprop.check import trainer
from symbackprop.ops.activations import get_activation
from symbackprop.check.compare import network_from_graph, to_matrices
from symbackprop.errors import NotSupportedError, SymbackpropError
from symbackprop.ops.losses import get_loss
from symbackprop.derivation.matrix_form import (ACTIVATION_RULES, LOSS_RULES, Mat, ShapeError, evaluate, matrix_derivation_text,
                                     matrix_derive, to_sympy)
from symbackprop.render.matrix_latex import matrix_derivation_document
from symbackprop.check.matrix import check_matrix
from symbackprop.compile.matrix_numpy import (compile_matrix_gradients, export_matrix_module,
                                      generate_matrix_source, matrix_grad_report)
from symbackprop.spec.load import NetworkSpec

from conftest import DERIVATIONS

GENDER = DERIVATIONS / "gender.toml"


# --------------------------------------------------------------------------------------
# Random networks with exact rational numbers
# --------------------------------------------------------------------------------------

def _num(rng):
    return rng.choice([-1, 1]) * rng.randint(1, 12) / 8  # exact in binary, so exact as a Rational


def network_toml(layers, acts, loss, reduction, n, rng, one_hot=True):
    """A spec with exact random weights (index form: row i, column j = w^{k}_{i,j}), biases and data."""
    W = [[[_num(rng) for _ in range(layers[k])] for _ in range(layers[k + 1])] for k in range(len(layers) - 1)]
    B = [[_num(rng) for _ in range(layers[k + 1])] for k in range(len(layers) - 1)]
    X = [[_num(rng) for _ in range(layers[0])] for _ in range(n)]
    K = layers[-1]
    if loss == "cross_entropy":
        if one_hot:
            Y = []
            for _ in range(n):
                hot = rng.randrange(K)
                Y.append([1.0 if k == hot else 0.0 for k in range(K)])
        else:  # rows that do not sum to 1: the general form ŷ ⊙ (y 1) − y is needed
            Y = [[rng.choice([0.0, 0.5, 1.0]) for _ in range(K)] for _ in range(n)]
    elif loss == "bce":
        Y = [[float(rng.randint(0, 1)) for _ in range(K)] for _ in range(n)]
    else:
        Y = [[_num(rng) for _ in range(K)] for _ in range(n)]
    return (f'notation = "matrix"\n[network]\nlayers = {list(layers)}\nactivations = {list(acts)}\n'
            f'loss = "{loss}"\nreduction = "{reduction}"\n[parameters]\nweights = {W}\nbiases = {B}\n'
            f'[data]\nx = {X}\ny = {Y}\n')


def exactly_equal(a, b) -> bool:
    d = a - b
    if d == 0:
        return True
    d = sympy.expand(d)
    return d == 0 or sympy.cancel(d) == 0


# Every activation and every loss, 1 to 4 weight layers, both reductions.
CATALOG = [
    ((2, 2, 1), ("sigmoid", "sigmoid"), "bce", "mean"),                       # the slides' network
    ((3, 2), ("softmax",), "cross_entropy", "mean"),                           # one weight layer
    ((2, 1), ("identity",), "squared_error", "sum"),
    ((2, 3, 2), ("tanh", "softmax"), "cross_entropy", "mean"),
    ((3, 2, 2), ("relu", "softmax"), "half_squared_error", "mean"),
    ((2, 3, 2), ("leaky_relu", "tanh"), "half_squared_error", "sum"),
    ((2, 2, 2, 2), ("softplus", "leaky_relu", "identity"), "mse", "sum"),
    ((2, 2, 2, 2), ("relu", "sigmoid", "softplus"), "squared_error", "mean"),
    ((2, 2, 2, 2, 2), ("sigmoid", "tanh", "relu", "sigmoid"), "squared_error", "mean"),
    ((2, 2, 2, 2, 1), ("sigmoid", "sigmoid", "sigmoid", "sigmoid"), "bce", "mean"),
]


def _exact_case(layers, acts, loss, reduction, seed, one_hot=True):
    rng = random.Random(seed)
    spec = parse_spec(network_toml(layers, acts, loss, reduction, 2, rng, one_hot=one_hot))
    return spec, derive(spec), matrix_derive(spec)


def _assert_matrix_equals_per_scalar(d, md, env):
    grads = d.exact_gradients()
    r = d.reduction_factor
    per_example = [d.exact_node_gradients(d.exact_values(ex)) for ex in d.examples()]
    checked = 0
    for step in md.backward:
        M = env[step.name]
        assert M.shape == tuple(dim.size for dim in (step.target.shape.rows, step.target.shape.cols))
        for (row, col), value in np.ndenumerate(M):
            name = md.index_name(step.name, row + 1, col + 1)
            if step.name.startswith(("dW_", "db_")):
                reference = grads[name]                     # ∂J/∂θ of the reduced loss
            else:
                reference = r * per_example[row][name]      # dz_l[e, i] = r ∂L_e/∂z^{l+1}_{i}
            assert exactly_equal(value, reference), (step.name, row, col)
            checked += 1
    return checked


@pytest.mark.parametrize("layers, acts, loss, reduction", CATALOG,
                         ids=["-".join(map(str, c[0])) + "-" + "-".join(c[1]) + "-" + c[2] + "-" + c[3] for c in CATALOG])
def test_every_matrix_entry_equals_the_per_scalar_chain_rule_exactly(layers, acts, loss, reduction):
    spec, d, md = _exact_case(layers, acts, loss, reduction, seed=len(layers) * 7 + len(loss))
    env = md.environment(exact=True)
    checked = _assert_matrix_equals_per_scalar(d, md, env)
    n_weights = sum(layers[k] * layers[k + 1] + layers[k + 1] for k in range(len(layers) - 1))
    assert checked >= n_weights
    # the slides' form (ŷ − y) gives the same numbers when the targets are one-hot
    if md.fused is not None:
        simple = md.environment(exact=True, general=False)
        for step in md.backward:
            assert all(exactly_equal(a, b) for a, b in zip(simple[step.name].ravel(), env[step.name].ravel()))


def test_cross_entropy_without_one_hot_targets_needs_the_general_form():
    spec, d, md = _exact_case((2, 2, 2, 3), ("tanh", "softplus", "softmax"), "cross_entropy", "mean", 5,
                              one_hot=False)
    assert any(sum(row) != 1 for row in spec.y)
    env = md.environment(exact=True)
    _assert_matrix_equals_per_scalar(d, md, env)
    simple = md.environment(exact=True, general=False)
    step = md.backward[0]
    assert step.assumption and "one-hot" in step.assumption
    assert not all(exactly_equal(a, b) for a, b in zip(simple[step.name].ravel(), env[step.name].ravel()))


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_random_networks_exactly(seed):
    rng = random.Random(seed)
    depth = rng.randint(1, 4)
    layers = tuple(rng.randint(1, 2) for _ in range(depth + 1))
    hidden = [rng.choice(["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus"]) for _ in range(depth - 1)]
    loss = rng.choice(["squared_error", "half_squared_error", "mse", "bce", "cross_entropy"])
    out = {"bce": "sigmoid", "cross_entropy": "softmax"}.get(loss, rng.choice(["identity", "tanh", "sigmoid"]))
    spec, d, md = _exact_case(layers, tuple(hidden + [out]), loss, rng.choice(["mean", "sum"]), seed)
    _assert_matrix_equals_per_scalar(d, md, md.environment(exact=True))


# --------------------------------------------------------------------------------------
# The rule tables against sympy.diff of the registries
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(LOSS_RULES))
def test_loss_rule_is_the_derivative_of_the_registry_loss(name):
    K = 3
    ys = sympy.symbols("y1:4", real=True)
    hs = sympy.symbols("h1:4", positive=True)
    L = get_loss(name).per_example(list(ys), list(hs))
    h = Mat("yhat", matrix_derive(NetworkSpec((1, K), ("sigmoid",), name)).matrices["yhat"].shape)
    y = Mat("y", h.shape)
    expr = LOSS_RULES[name].gradient(h, y, K)
    value = evaluate(expr, {"yhat": np.array([hs], dtype=object), "y": np.array([ys], dtype=object), "n": 1},
                     exact=True)
    for k in range(K):
        assert sympy.simplify(value[0, k] - sympy.diff(L, hs[k])) == 0


@pytest.mark.parametrize("name", sorted(n for n in ACTIVATION_RULES if n != "softmax"))
def test_activation_rule_is_the_derivative_of_the_registry_function(name):
    md = matrix_derive(NetworkSpec((1, 1, 1), (name, "identity"), "squared_error"))
    z, a = md.matrices["z_1"], md.matrices["a_1"]
    deriv = ACTIVATION_RULES[name].derivative(z, a)
    act = get_activation(name)
    for t in (sympy.Rational(3, 7), sympy.Rational(-5, 4)):
        ref = sympy.diff(act.apply(sympy.Symbol("t", real=True)), sympy.Symbol("t", real=True)).subs(
            sympy.Symbol("t", real=True), t)
        if deriv is None:
            value = sympy.S.One
        else:
            value = evaluate(deriv, {"z_1": np.array([[t]], dtype=object),
                                     "a_1": np.array([[act.apply(t)]], dtype=object), "n": 1}, exact=True)[0, 0]
        assert exactly_equal(sympy.S(value), ref), (name, t)


# --------------------------------------------------------------------------------------
# The slides' gender network
# --------------------------------------------------------------------------------------

def test_gender_network_reproduces_the_slides_seven_steps():
    md = matrix_derive(load_spec(GENDER))
    steps = [(s.name, s.expression.text()) for s in md.backward]
    assert steps == [
        ("dz_2", "1/n (ŷ − y)"),
        ("dW_2", "a_1ᵀ dz_2"),
        ("db_2", "Σ_rows dz_2"),
        ("da_1", "dz_2 W_2ᵀ"),
        ("dz_1", "da_1 ⊙ a_1 ⊙ (1 − a_1)"),
        ("dW_1", "xᵀ dz_1"),
        ("db_1", "Σ_rows dz_1"),
    ]
    first = md.backward[0]
    assert first.per_example.text() == "ŷ − y"                # the slides' boxed result, per example
    assert first.assumption is None and "1/n" in first.justification and "drop" in first.justification
    assert [s.expression.latex() for s in md.backward[1:]] == [
        r"a_{1}^T dz_{2}", r"\sum_{\text{rows}} dz_{2}", r"dz_{2} W_{2}^T",
        r"da_{1} \odot a_{1} \odot \left(1 - a_{1}\right)", r"x^T dz_{1}", r"\sum_{\text{rows}} dz_{1}"]
    assert [f"{s.target.text()} = {s.expression.text()}" for s in md.forward] == [
        "z_1 = x W_1 + b_1", "a_1 = σ(z_1)", "z_2 = a_1 W_2 + b_2", "ŷ = σ(z_2)"]


def test_gender_shapes_are_the_slides_shapes():
    md = matrix_derive(load_spec(GENDER))
    sizes = {name: m.shape.sizes for name, m in md.matrices.items()}
    # input (4, 2); 2 features -> 2 neurons: W (2, 2), b (1, 2); output layer W (2, 1), b (1, 1)
    assert sizes["x"] == (4, 2) and sizes["W_1"] == (2, 2) and sizes["b_1"] == (1, 2)
    assert sizes["W_2"] == (2, 1) and sizes["b_2"] == (1, 1) and sizes["yhat"] == (4, 1)
    for s in md.backward:
        if s.name.startswith(("dW", "db")):
            assert s.target.shape.labels == md.matrices[s.of].shape.labels
    assert md.matrices["z_1"].shape.text() == "(n, N_1) = (4, 2)"


def test_gender_numbers_dz2_is_yhat_minus_y_per_example():
    spec = load_spec(GENDER)
    md = matrix_derive(spec)
    env = md.environment()
    X, Y = md.spec_data()
    net = trainer.Network([2, 2, 1], "sigmoid", "bce")
    (Z1, A1), (Z2, A2) = trainer.forward(net, md.spec_matrices, X)
    np.testing.assert_allclose(env["yhat"], A2, rtol=1e-12)
    # the slides: dz_2 = ŷ − y per example; with the mean, dz_2 = (1/n)(ŷ − y)
    np.testing.assert_allclose(env["dz_2"] * 4, A2 - Y, rtol=1e-12)
    np.testing.assert_allclose(env["dz_2"] * 4, trainer.output_delta(net, Z2, A2, Y), rtol=1e-12)
    grads = trainer.gradients(net, md.spec_matrices, X, Y)
    for l, (dW, db) in enumerate(grads, start=1):
        np.testing.assert_allclose(env[f"dW_{l}"], dW, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(env[f"db_{l}"], db, rtol=1e-12, atol=1e-15)


def test_index_notation_mapping_is_the_transpose():
    spec = load_spec(GENDER)
    md = matrix_derive(spec)
    assert md.index_name("W_1", 1, 2) == "w^{1}_{2,1}"     # W_1[j, i] = w^{1}_{i,j}
    assert md.index_name("dW_2", 2, 1) == "w^{2}_{1,2}"
    assert md.index_name("b_1", 1, 2) == "b^{1}_{2}"
    assert md.index_name("z_2", 3, 1) == "z^{3}_{1}" and md.index_name("a_1", 1, 2) == "a^{2}_{2}"
    W1 = md.spec_matrices[0][0]
    for i in range(2):
        for j in range(2):
            assert W1[j, i] == float(spec.weights[0][i][j])
    d = derive(spec)
    mats = to_matrices(d, {s.name: float(v) for s, v in d.parameter_values().items()})  # the lead's mapping
    np.testing.assert_array_equal(mats[0][0], W1)


def test_gender_text_and_latex_state_the_reduction():
    md = matrix_derive(load_spec(GENDER))
    text = matrix_derivation_text(md)
    assert "1/n" in text and "n = 4" in text and "dW_2 = a_1ᵀ dz_2" in text
    doc = matrix_derivation_document(md)
    assert r"\frac{1}{n}" in doc and "drop" in doc and "seven steps" in doc
    assert r"\boxed{dW_{2} = \frac{\partial J}{\partial W_{2}} = a_{1}^T dz_{2}}" in doc
    assert r"W_l[j, i] = w^{l}_{i,j}" in doc
    assert matrix_derivation_document(md) == doc            # deterministic


def _pdflatex(tmp_path, name, text):
    path = tmp_path / f"{name}.tex"
    path.write_text(text)
    result = subprocess.run(["pdflatex", "-halt-on-error", "-interaction=nonstopmode", path.name],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:]
    return tmp_path / f"{name}.pdf"


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_documents_compile_with_pdflatex(tmp_path):
    gender = _pdflatex(tmp_path, "gender", matrix_derivation_document(load_spec(GENDER)))
    assert gender.stat().st_size > 0
    deep = NetworkSpec((3, 12, 11, 10, 2), ("tanh", "relu", "leaky_relu", "softmax"), "half_squared_error", "sum")
    body = matrix_derivation_document(deep, fragment=True)
    assert r"\documentclass" not in body
    doc = ("\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n\\setcounter{MaxMatrixCols}{20}\n"
           "\\begin{document}\n" + body + "\\end{document}\n")
    assert _pdflatex(tmp_path, "deep", doc).stat().st_size > 0


# --------------------------------------------------------------------------------------
# Shapes: a missing transpose is a shape error that names the shapes
# --------------------------------------------------------------------------------------

def test_missing_transpose_is_a_shape_error():
    md = matrix_derive(load_spec(GENDER))
    m = md.matrix
    with pytest.raises(ShapeError) as err:
        m("a_1") @ m("dz_2")                                  # should be a_1ᵀ dz_2
    assert "inner dimensions do not match" in str(err.value)
    assert "(n, N_1) = (4, 2)" in str(err.value) and "(n, N_2) = (4, 1)" in str(err.value)
    with pytest.raises(ShapeError):
        m("dz_2") @ m("W_2")                                  # should be dz_2 W_2ᵀ
    with pytest.raises(ShapeError):
        m("dz_1") * m("a_1").T                                # elementwise needs equal shapes
    ok = (m("dz_2") @ m("W_2").T) * m("a_1") * (1 - m("a_1"))   # the answer
    assert ok.shape.labels == ("n", "N_1")
    assert ok.text() == "dz_2 W_2ᵀ ⊙ a_1 ⊙ (1 − a_1)"
    env = md.environment()
    np.testing.assert_allclose(evaluate(ok, env), env["dz_1"], rtol=1e-12)
    # the transposed product has a valid but different shape, caught generically (N_1 = N_0 = 2 here)
    wrong = m("dz_1").T @ m("x")
    assert wrong.shape.labels != md.step("dW_1").target.shape.labels


def test_aliases_resolve_to_the_slides_names():
    md = matrix_derive(load_spec(GENDER))
    assert [md.resolve(a) for a in ("X", "dZ_2", "A_1", "w_2", r"\hat{y}", "a_2", "a_0")] == \
        ["x", "dz_2", "a_1", "W_2", "yhat", "yhat", "x"]
    with pytest.raises(SymbackpropError):
        md.resolve("q_7")


def test_to_sympy_matches_the_evaluator():
    md = matrix_derive(load_spec(GENDER))
    env = md.environment(exact=True)
    n = sympy.Symbol("n", positive=True, integer=True)
    for step in md.backward:
        e = to_sympy(step.expression)
        subs = {s: sympy.Matrix(env[s.name].tolist()) for s in e.atoms(sympy.MatrixSymbol)}
        value = sympy.Matrix(e.xreplace(subs).xreplace({n: 4}).doit().as_explicit())
        assert value.shape == env[step.name].shape
        assert all(exactly_equal(a, b) for a, b in zip(value, env[step.name].ravel()))


def test_graph_specs_have_no_matrix_form():
    with pytest.raises(NotSupportedError):
        matrix_derive(load_spec(DERIVATIONS / "computational_graph.toml"))


# --------------------------------------------------------------------------------------
# Vectorized NumPy: per-scalar code, trainer, finite differences
# --------------------------------------------------------------------------------------

def _rel(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-12)))


@pytest.mark.parametrize("layers, acts, loss, reduction", CATALOG[:8])
def test_compiled_matrix_code_equals_per_scalar_code(layers, acts, loss, reduction):
    spec = parse_spec(network_toml(layers, acts, loss, reduction, 2, random.Random(3)))
    d = derive(spec)
    per_scalar, matrix = compile_gradients(d, backend="per-scalar"), compile_matrix_gradients(d)
    rng = np.random.default_rng(len(layers))
    n, K = 9, layers[-1]
    X = rng.normal(size=(n, layers[0]))
    Y = (np.eye(K)[rng.integers(0, K, n)] if loss == "cross_entropy" else
         rng.integers(0, 2, (n, K)).astype(float) if loss == "bce" else rng.normal(size=(n, K)))
    params = {p: float(rng.normal()) for p in d.parameters}
    g1, g2 = per_scalar.gradients(params, X, Y), matrix.gradients(params, X, Y)
    assert list(g1) == list(g2) == list(matrix.parameters)
    assert max(_rel(g1[k], g2[k]) for k in g1) < 1e-10
    for method in ("forward", "node_gradients"):
        a, b = getattr(per_scalar, method)(params, X, Y), getattr(matrix, method)(params, X, Y)
        assert list(a) == list(b)
        assert max(_rel(a[k], b[k]) for k in a) < 1e-10, method
    assert _rel(per_scalar.loss(params, X, Y), matrix.loss(params, X, Y)) < 1e-12
    mats = to_matrices(d, params)
    ours = matrix.matrix_gradients(mats, X, Y)
    theirs = trainer.gradients(network_from_graph(d), mats, X, Y)
    for (a, b), (c, e) in zip(ours, theirs):
        assert a.shape == c.shape and b.shape == e.shape
        assert _rel(a, c) < 1e-10 and _rel(b, e) < 1e-10


def test_saturated_logits_stay_finite_and_agree_with_the_trainer():
    layers = [3, 4, 2]
    for acts, loss in ((["sigmoid", "sigmoid"], "bce"), (["tanh", "softmax"], "cross_entropy")):
        md = matrix_derive(NetworkSpec(tuple(layers), tuple(acts), loss))
        c = compile_matrix_gradients(md)
        rng = np.random.default_rng(0)
        mats = [(rng.normal(size=(3, 4)) * 300, rng.normal(size=(1, 4))),
                (rng.normal(size=(4, 2)) * 300, rng.normal(size=(1, 2)))]
        X = rng.normal(size=(6, 3))
        Y = np.eye(2)[rng.integers(0, 2, 6)]
        ours = c.matrix_gradients(mats, X, Y)
        theirs = trainer.gradients(trainer.Network(layers, acts, loss), mats, X, Y)
        assert np.isfinite(c.matrix_loss(mats, X, Y))
        for (a, b), (e, f) in zip(ours, theirs):
            assert np.all(np.isfinite(a)) and np.all(np.isfinite(b))
            np.testing.assert_allclose(a, e, rtol=1e-9, atol=1e-300)
            np.testing.assert_allclose(b, f, rtol=1e-9, atol=1e-300)


def test_check_matrix_passes_on_the_gender_network_and_catches_a_wrong_gradient():
    md = matrix_derive(load_spec(GENDER))
    report = check_matrix(md)
    assert report.ok and len(report.comparisons) == 8
    good = compile_matrix_gradients(md)

    class Off:
        def matrix_gradients(self, mats, X, Y):
            grads = good.matrix_gradients(mats, X, Y)
            return [(dW * (1 + 1e-6), db) for dW, db in grads]

    bad = check_matrix(md, compiled=Off())
    assert not bad.ok
    assert any(not c.ok and c.oracle == "trainer backprop" and c.worst_parameter.startswith("w^")
               for c in bad.comparisons)


def test_check_matrix_names_a_non_finite_gradient_instead_of_an_error_of_inf():
    md = matrix_derive(load_spec(GENDER))
    good = compile_matrix_gradients(md)

    class NaNAtW2:
        def matrix_gradients(self, mats, X, Y):
            grads = [(np.array(dW, dtype=float), np.array(db, dtype=float))
                     for dW, db in good.matrix_gradients(mats, X, Y)]
            grads[1][0][1, 0] = np.nan          # dW_2 (a_1^T dz_2: rows are inputs), entry (2, 1): w^{2}_{1,2}
            return grads

    report = check_matrix(md, compiled=NaNAtW2(), trials=1)
    assert not report.ok
    failed = [c for c in report.comparisons if not c.ok]
    assert failed and all("not a finite real number" in c.message for c in failed)
    assert all("w^{2}_{1,2}" in c.message for c in failed)
    lines = [line for line in report.lines() if line.startswith("FAIL")]
    assert lines and all("nan" in line and "inf" not in line.split("nan")[0] for line in lines)
    counted = {c.oracle: c.compared for c in check_matrix(md, trials=1).comparisons}
    assert counted["trainer backprop"] == 2 * 2 + 2 + 2 * 1 + 1     # every entry of W_1, b_1, W_2, b_2


def test_a_784_128_10_softmax_network_checks_on_a_batch_of_64():
    spec = parse_spec('notation = "matrix"\n[network]\nlayers = [784, 128, 10]\n'
                      'activations = ["relu", "softmax"]\nloss = "cross_entropy"\n')
    md = matrix_derive(spec)                     # no per-scalar graph: one step per layer
    assert md.parameter_count == 784 * 128 + 128 + 128 * 10 + 10
    assert [s.name for s in md.backward] == ["dz_2", "dW_2", "db_2", "da_1", "dz_1", "dW_1", "db_1"]
    report = check_matrix(md, trials=1, batch=64, fd_sample=100)
    assert report.ok, "\n".join(report.lines())
    assert len(report.comparisons) == 4
    assert all(c.trial.endswith("64") or c.trial.startswith("random data") for c in report.comparisons)


def test_exported_module_needs_only_numpy(tmp_path):
    md = matrix_derive(load_spec(GENDER))
    path = tmp_path / "gender_matrix.py"
    source = export_matrix_module(md, str(path))
    assert source == generate_matrix_source(md) and "sympy" not in source
    with pytest.raises(SymbackpropError):
        export_matrix_module(md, str(path))                 # never overwrites without force
    export_matrix_module(md, str(path), force=True)
    X, Y = md.spec_data()
    code = (
        "import sys, json, importlib.util\n"
        "sys.modules['sympy'] = None\n"                        # importing SymPy would fail
        f"spec = importlib.util.spec_from_file_location('m', {str(path)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "import numpy\n"
        f"X = numpy.array({X.tolist()}); Y = numpy.array({Y.tolist()})\n"
        f"mats = [(numpy.array(W), numpy.array(b)) for W, b in {[(W.tolist(), b.tolist()) for W, b in md.spec_matrices]}]\n"
        "print(json.dumps([[dW.tolist(), db.tolist()] for dW, db in m.matrix_gradients(mats, X, Y)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    grads = json.loads(out.stdout)
    theirs = trainer.gradients(trainer.Network([2, 2, 1], "sigmoid", "bce"), md.spec_matrices, X, Y)
    for (dW, db), (e, f) in zip(grads, theirs):
        assert _rel(dW, e) < 1e-12 and _rel(db, f) < 1e-12


def test_generated_source_is_deterministic_and_shows_the_steps():
    md = matrix_derive(load_spec(GENDER))
    source = generate_matrix_source(md)
    assert source == generate_matrix_source(matrix_derive(load_spec(GENDER)))
    for line in ("dW_2 = a_1.T @ dz_2", "da_1 = dz_2 @ W_2.T", "dW_1 = x.T @ dz_1", "dz_2 = r * (yhat - y)"):
        assert line in source
    assert "for " not in source.split("def gradient_matrices")[1].split("def all_matrices")[0]  # no loops


def test_grad_report_matches_the_per_scalar_report():
    from symbackprop.cli.core import grad_report

    spec = load_spec(GENDER)
    theirs = grad_report(derive(spec))
    ours = matrix_grad_report(spec, matrices=True)
    for key in ("values", "gradients", "node_gradients"):
        assert list(ours[key]) == list(theirs[key])
        for name in theirs[key]:
            assert _rel(ours[key][name], theirs[key][name]) < 1e-10, (key, name)
    assert ours["reduction"] == "mean" and ours["n_examples"] == 4
    assert abs(ours["loss"] - theirs["loss"]) < 1e-12
    assert ours["shapes"]["dW_1"] == [2, 2] and ours["shapes"]["dz_2"] == [4, 1]
    mats = ours["matrices"]
    assert mats["dW_1"][1][0] == pytest.approx(ours["gradients"]["w^{1}_{1,2}"], rel=1e-12)  # W_1[j, i] = w_{i,j}


def test_matrix_gradients_of_the_compiled_module_can_be_imported_by_path(tmp_path):
    md = matrix_derive(NetworkSpec((4, 8, 8, 1), ("sigmoid", "sigmoid", "sigmoid"), "bce"))
    path = tmp_path / "net.py"
    export_matrix_module(md, str(path))
    spec = importlib.util.spec_from_file_location("net_mod", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(2)
    mats = trainer.init_params([4, 8, 8, 1], 3)
    X, Y = rng.normal(size=(50, 4)), rng.integers(0, 2, (50, 1)).astype(float)
    ours = module.matrix_gradients(mats, X, Y)
    theirs = trainer.gradients(trainer.Network([4, 8, 8, 1], "sigmoid", "bce"), mats, X, Y)
    for (a, b), (c, e) in zip(ours, theirs):
        assert _rel(a, c) < 1e-10 and _rel(b, e) < 1e-10
    assert os.path.getsize(path) < 20_000   # the code is per layer, not per scalar


def test_steps_for_a_parameter_are_the_path_back_to_it():
    md = matrix_derive(load_spec(GENDER))
    assert [s.name for s in md.steps_for(["w^{1}_{1,1}"])] == ["dz_2", "da_1", "dz_1", "dW_1"]
    assert [s.name for s in md.steps_for(["W_2"])] == ["dz_2", "dW_2"]
    assert [s.name for s in md.steps_for(["db_1"])] == ["dz_2", "da_1", "dz_1", "db_1"]
    text = matrix_derivation_text(md, wrt=["dW_2"])
    assert "dW_2 = a_1ᵀ dz_2" in text and "dW_1" not in text.split("backward:")[1].split("numbers")[0]
