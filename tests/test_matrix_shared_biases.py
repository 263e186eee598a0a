"""One bias per layer in the matrix form (issue 13): b_l is (1, 1), z_l = a_{l-1} W_l + b_l 1, and
db_l = (Σ_rows dz_l) 1, the sum over the bias's uses (every example, every node of the layer).

Oracles, none sharing code with symbackprop: the published numbers of Matt Mazur's step-by-step
example (E = 0.298371109, ∂E/∂w5 = 0.082167041, ∂E/∂w1 = 0.000438568), ``sympy.diff`` of that
example's loss written out here by hand, PyTorch autograd on wider shared-bias networks with several
examples, and central finite differences of a loss written here in plain NumPy.
"""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import sympy

from symbackprop import SpecError, parse_spec
from symbackprop.cli.__init__ import main
from symbackprop.compile.matrix_numpy import (compile_matrix_gradients, generate_matrix_source, matrix_grad_report,
                                              random_matrices)
from symbackprop.derivation.matrix_form import matrix_derivation_text, matrix_derive, uses_matrix_form
from symbackprop.render.matrix_latex import matrix_derivation_document

MAZUR_TOML = Path(__file__).resolve().parent.parent / "derivations" / "step_by_step_shared_biases.toml"
MAZUR_TEXT = MAZUR_TOML.read_text(encoding="utf-8").replace("title =", 'notation = "matrix"\ntitle =', 1)
MAZUR = {"w^{1}_{1,1}": "w1", "w^{1}_{1,2}": "w2", "w^{1}_{2,1}": "w3", "w^{1}_{2,2}": "w4",
         "w^{2}_{1,1}": "w5", "w^{2}_{1,2}": "w6", "w^{2}_{2,1}": "w7", "w^{2}_{2,2}": "w8",
         "b^{1}": "b1", "b^{2}": "b2"}
START = {"w1": "0.15", "w2": "0.20", "w3": "0.25", "w4": "0.30", "w5": "0.40", "w6": "0.45",
         "w7": "0.50", "w8": "0.55", "b1": "0.35", "b2": "0.60"}


def mazur():
    return parse_spec(MAZUR_TEXT, source="mazur_matrix.toml")


def mazur_exact_gradients():
    """∂E/∂θ from sympy.diff of E = ½(t1 − o1)² + ½(t2 − o2)², the article's network in its own symbols."""
    s = {k: sympy.Symbol(k) for k in START}
    sig = lambda z: 1 / (1 + sympy.exp(-z))  # noqa: E731
    i1, i2, t1, t2 = (sympy.Rational(v, 100) for v in (5, 10, 1, 99))
    h1 = sig(s["w1"] * i1 + s["w2"] * i2 + s["b1"])
    h2 = sig(s["w3"] * i1 + s["w4"] * i2 + s["b1"])
    o1 = sig(s["w5"] * h1 + s["w6"] * h2 + s["b2"])
    o2 = sig(s["w7"] * h1 + s["w8"] * h2 + s["b2"])
    E = sympy.Rational(1, 2) * (t1 - o1) ** 2 + sympy.Rational(1, 2) * (t2 - o2) ** 2
    point = {s[k]: sympy.Rational(v) for k, v in START.items()}
    return {ours: float(sympy.diff(E, s[theirs]).subs(point).evalf(30)) for ours, theirs in MAZUR.items()}


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


# ---- Mazur's example in matrix notation --------------------------------------------------------

def test_the_spec_is_read_and_routed_to_the_matrix_form():
    spec = mazur()
    assert spec.network.shared_biases and spec.notation == "matrix" and uses_matrix_form(spec)
    md = matrix_derive(spec)
    assert md.shared_biases and md.parameter_count == 10
    assert [md.matrices[f"b_{l}"].shape.sizes for l in (1, 2)] == [(1, 1), (1, 1)]
    assert [np.shape(b) for _, b in md.spec_matrices] == [(1, 1), (1, 1)]
    assert md.index_name("b_1", 1, 1) == "b^{1}" and md.index_name("db_2", 1, 1) == "b^{2}"
    assert md.steps_for(["b^{1}"])[-1].name == "db_1"


def test_matrix_gradients_are_the_published_numbers_and_sympy_diff():
    report = matrix_grad_report(mazur())
    assert report["loss"] == pytest.approx(0.298371109, abs=5e-10)
    g = report["gradients"]
    assert set(g) == set(MAZUR)                       # b^{1}, b^{2}: one number each, no b^{k}_{i}
    assert g["w^{2}_{1,1}"] == pytest.approx(0.082167041, abs=5e-10)
    assert g["w^{1}_{1,1}"] == pytest.approx(0.000438568, abs=5e-10)
    exact = mazur_exact_gradients()
    for name, value in exact.items():
        assert g[name] == pytest.approx(value, rel=1e-12, abs=1e-16), name


def test_the_shared_bias_gradient_is_the_sum_over_its_uses_in_numbers():
    md = matrix_derive(mazur())
    env = md.environment(exact=True)
    exact = mazur_exact_gradients()
    for l, name in ((1, "b^{1}"), (2, "b^{2}")):
        dz = env[f"dz_{l}"]
        assert env[f"db_{l}"].shape == (1, 1)
        assert env[f"db_{l}"][0, 0] == sympy.Add(*dz.ravel())          # exactly Σ_e Σ_i dz_l[e, i]
        assert float(env[f"db_{l}"][0, 0]) == pytest.approx(exact[name], rel=1e-12)
        assert all(abs(float(v) - exact[name]) > 1e-3 for v in dz.ravel())  # no single use is the whole gradient


def test_text_and_latex_show_the_sum_over_the_uses():
    md = matrix_derive(mazur())
    text = matrix_derivation_text(md)
    assert "z_1 = x W_1 + b_1 1[1×N_1]" in text and "db_2 = Σ_rows dz_2 1[N_2×1]    shape (1, 1)" in text
    assert "the shared bias's gradient is the sum over its uses" in text
    assert "b_l[1, 1] = b^{l}, one bias shared by every node of the layer" in text
    assert "db_2 = [0.1004]" in text and "db_1 = [0.0187]" in text   # ∂E/∂b2, ∂E/∂b1 from sympy.diff, rounded
    exact = mazur_exact_gradients()
    for l, name in ((1, "b^{1}"), (2, "b^{2}")):    # the uses printed beside db_l add up to ∂E/∂b^{l}
        line = next(t for t in text.splitlines() if t.startswith(f"  db_{l} = ["))
        uses = line.split(f"the sum over its uses (the entries of dz_{l}): ")[1].split(" + ")
        assert len(uses) == 2
        total = sum(float(u.strip("()").replace("−", "-")) for u in uses)
        assert total == pytest.approx(exact[name], abs=1.5e-4)
    tex = matrix_derivation_document(md, decimals=4)
    assert r"z_{1} &= x W_{1} + b_{1} \mathbf{1}_{1 \times N_{1}}" in tex
    assert r"\boxed{db_{2} = \frac{\partial J}{\partial b_{2}} = \sum_{\text{rows}} dz_{2} \mathbf{1}_{N_{2} \times 1}}" in tex
    assert "the shared bias's gradient is the sum over its uses" in tex
    assert r"db_{1} = \sum_e \sum_i dz_{1}[e, i]" in tex
    assert r"db_{2} = \begin{bmatrix}0.1004\end{bmatrix} = 0.1385 + (-0.0381) \text{ (the entries of } dz_{2}" in tex
    assert "one per neuron, has shape $(1, N)$" not in tex and "$b_{1}$ is $(1, 1)$, one bias for the layer" in tex
    assert "**" not in text + tex


def test_cli_derive_grad_and_export_use_the_matrix_form(capsys, tmp_path):
    spec_path = tmp_path / "mazur_matrix.toml"
    spec_path.write_text(MAZUR_TEXT, encoding="utf-8")
    code, out, _ = run(capsys, "derive", spec_path, "--wrt", "b^{1}")
    assert code == 0 and "(matrix form)" in out and "db_1 = Σ_rows dz_1 1[N_1×1]" in out
    code, out, _ = run(capsys, "grad", spec_path, "--json", "--matrices")
    report = json.loads(out)
    assert report["shapes"]["b_1"] == [1, 1] and report["shapes"]["db_2"] == [1, 1]
    assert report["matrices"]["db_1"][0][0] == pytest.approx(mazur_exact_gradients()["b^{1}"], rel=1e-12)
    assert "b_l[1, 1] = b^{l}" in report["index_notation"]
    target = tmp_path / "mazur_grads.py"
    assert run(capsys, "export", spec_path, "-o", target)[0] == 0
    spec_ = importlib.util.spec_from_file_location("mazur_matrix_grads", target)
    module = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(module)
    assert module.BACKEND == "matrix" and module.SHARED_BIASES
    assert module.PARAMETERS == ("w^{1}_{1,1}", "w^{1}_{1,2}", "w^{1}_{2,1}", "w^{1}_{2,2}", "b^{1}",
                                 "w^{2}_{1,1}", "w^{2}_{1,2}", "w^{2}_{2,1}", "w^{2}_{2,2}", "b^{2}")
    params = {name: float(START[MAZUR[name]]) for name in module.PARAMETERS}
    X, Y = np.array([[0.05, 0.10]]), np.array([[0.01, 0.99]])
    assert module.loss(params, X, Y) == pytest.approx(0.298371109, abs=5e-10)
    exact = mazur_exact_gradients()
    by_name = module.gradients(params, X, Y)
    flat = module.gradients(np.array([params[k] for k in module.PARAMETERS]), X, Y)
    for k, name in enumerate(module.PARAMETERS):
        assert by_name[name] == pytest.approx(exact[name], rel=1e-12) and flat[k] == pytest.approx(exact[name], rel=1e-12)
    mats = module.to_matrices(params)
    assert [b.shape for _, b in mats] == [(1, 1), (1, 1)] and module.from_matrices(mats) == params
    with pytest.raises(ValueError, match=r"b_1: one shared bias per layer, shape \(1, 1\), not \(1, 2\)"):
        module.matrices_to_vector([(mats[0][0], np.zeros((1, 2))), mats[1]])


# ---- wider networks, several examples: PyTorch and finite differences --------------------------

WIDE = """notation = "matrix"
[network]
layers = [3, 4, 2]
activations = {acts}
loss = "{loss}"
reduction = "{reduction}"
biases = "shared"
[parameters]
seed = 3
[data]
x = [[0.5, -1.0, 0.25], [1.5, 0.2, -0.7], [-0.3, 0.8, 1.1], [0.9, -0.4, 0.6], [-1.2, 0.3, -0.5]]
y = {y}
"""
ZERO_ONE = "[[1, 0], [0, 1], [1, 1], [0, 0], [1, 0]]"
REAL = "[[0.2, -0.4], [1.0, 0.3], [-0.5, 0.7], [0.1, 0.1], [0.6, -0.9]]"
CASES = [  # sigmoid + bce takes the buffered code path; the others the general one
    ('["sigmoid", "sigmoid"]', "bce", "mean", ZERO_ONE),
    ('["tanh", "identity"]', "squared_error", "sum", REAL),
    ('["relu", "sigmoid"]', "half_squared_error", "mean", ZERO_ONE),
    ('["softplus", "tanh"]', "mse", "mean", REAL),
]


def wide(acts, loss, reduction, y):
    return parse_spec(WIDE.format(acts=acts, loss=loss, reduction=reduction, y=y), source="wide.toml")


def random_point(md, seed):
    mats = random_matrices(md, np.random.default_rng(seed))
    X, Y = md.spec_data()
    return mats, X, Y


def torch_gradients(md, mats, X, Y):
    """J and [(dJ/dW_l, dJ/db_l)] by PyTorch autograd, each layer's one bias a 0-d tensor."""
    torch = pytest.importorskip("torch")
    acts = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "identity": lambda z: z,
            "softplus": torch.nn.functional.softplus}
    params = [(torch.tensor(W, dtype=torch.float64, requires_grad=True),
               torch.tensor(float(np.asarray(b).reshape(())), dtype=torch.float64, requires_grad=True))
              for W, b in mats]
    a = torch.tensor(X, dtype=torch.float64)
    y = torch.tensor(Y, dtype=torch.float64)
    for (W, b), act in zip(params, md.activations):
        a = acts[act](a @ W + b)                      # the same b for every node and every example
    per_example = {
        "bce": lambda: -(y * torch.log(a) + (1 - y) * torch.log(1 - a)).sum(dim=1),
        "squared_error": lambda: ((y - a) ** 2).sum(dim=1),
        "half_squared_error": lambda: 0.5 * ((y - a) ** 2).sum(dim=1),
        "mse": lambda: ((y - a) ** 2).mean(dim=1),
    }[md.loss]()
    J = per_example.mean() if md.reduction == "mean" else per_example.sum()
    J.backward()
    return float(J.detach()), [(W.grad.numpy(), b.grad.numpy().reshape(1, 1)) for W, b in params]


@pytest.mark.parametrize("acts, loss, reduction, y", CASES, ids=[c[1] for c in CASES])
def test_every_matrix_backend_agrees_with_pytorch(acts, loss, reduction, y):
    md = matrix_derive(wide(acts, loss, reduction, y))
    c = compile_matrix_gradients(md)
    assert ("_FAST = True" in c.source) == (loss == "bce")   # the buffered path is exercised
    for seed in (0, 1, 2):
        mats, X, Y = random_point(md, seed)
        J, theirs = torch_gradients(md, mats, X, Y)
        assert c.matrix_loss(mats, X, Y) == pytest.approx(J, rel=1e-12)
        ours = c.matrix_gradients(mats, X, Y)
        for (dW, db), (tW, tb) in zip(ours, theirs):
            assert db.shape == (1, 1)
            np.testing.assert_allclose(dW, tW, rtol=1e-10, atol=1e-14)
            np.testing.assert_allclose(db, tb, rtol=1e-10, atol=1e-14)
        v = c.module.matrices_to_vector(mats)
        expected = c.module.matrices_to_vector(theirs)
        np.testing.assert_allclose(c.gradients(v, X, Y), expected, rtol=1e-10, atol=1e-14)   # flat vector
        named = c.gradients(c.module.vector_to_dict(v), X, Y)
        assert [k for k in named if k.startswith("b^")] == ["b^{1}", "b^{2}"]
        np.testing.assert_allclose(list(named.values()), expected, rtol=1e-10, atol=1e-14)
        try:
            import jax  # noqa: F401
        except ImportError:
            continue
        from symbackprop.compile.matrix_jax import compile_jax_gradients

        j = compile_jax_gradients(md)
        for (dW, db), (tW, tb) in zip(j.matrix_gradients(mats, X, Y), theirs):
            np.testing.assert_allclose(np.asarray(dW), tW, rtol=1e-10, atol=1e-14)
            np.testing.assert_allclose(np.asarray(db), tb, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("acts, loss, reduction, y", CASES, ids=[c[1] for c in CASES])
def test_the_independent_trainer_agrees_through_per_node_biases(acts, loss, reduction, y):
    """The trainer keeps a shared bias as a (1, N_l) row of equal entries and puts the sum over its uses in
    every entry of its gradient: ``per_node_biases`` is the bridge ``check`` needs (see check/matrix.py)."""
    from symbackprop.check import trainer

    md = matrix_derive(wide(acts, loss, reduction, y))
    c = compile_matrix_gradients(md)
    net = trainer.Network(tuple(md.layers), tuple(md.activations), md.loss, md.reduction, shared_biases=True)
    mats, X, Y = random_point(md, 11)
    rows = md.per_node_biases(mats)
    assert [b.shape for _, b in rows] == [(1, 4), (1, 2)] and all(np.all(b == b[0, 0]) for _, b in rows)
    for (dW, db), (tW, tb) in zip(c.matrix_gradients(mats, X, Y), trainer.gradients(net, rows, X, Y)):
        np.testing.assert_allclose(dW, tW, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(np.repeat(db, tb.shape[1], axis=1), tb, rtol=1e-12, atol=1e-15)


def numpy_loss(acts, loss, reduction, mats, X, Y):
    """J written out in plain NumPy, one scalar bias per layer (for finite differences)."""
    f = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0),
         "identity": lambda z: z, "softplus": lambda z: np.log1p(np.exp(z))}
    a = X
    for (W, b), act in zip(mats, acts):
        a = f[act](a @ W + float(np.asarray(b).reshape(())))
    L = {"bce": lambda: -(Y * np.log(a) + (1 - Y) * np.log(1 - a)).sum(axis=1),
         "squared_error": lambda: ((Y - a) ** 2).sum(axis=1),
         "half_squared_error": lambda: 0.5 * ((Y - a) ** 2).sum(axis=1),
         "mse": lambda: ((Y - a) ** 2).mean(axis=1)}[loss]()
    return L.mean() if reduction == "mean" else L.sum()


@pytest.mark.parametrize("acts, loss, reduction, y", CASES, ids=[c[1] for c in CASES])
def test_shared_bias_gradients_match_central_finite_differences(acts, loss, reduction, y):
    md = matrix_derive(wide(acts, loss, reduction, y))
    c = compile_matrix_gradients(md)
    mats, X, Y = random_point(md, 7)
    ours = c.matrix_gradients(mats, X, Y)
    h = 1e-6
    for l in range(md.depth):
        for which in (0, 1):
            A = np.asarray(mats[l][which], dtype=float)
            for idx in np.ndindex(A.shape):
                moved = []
                for sign in (1, -1):
                    B = A.copy()
                    B[idx] += sign * h
                    m = [list(p) for p in mats]
                    m[l][which] = B
                    moved.append(numpy_loss(md.activations, loss, reduction, m, X, Y))
                fd = (moved[0] - moved[1]) / (2 * h)
                assert float(ours[l][which][idx]) == pytest.approx(fd, rel=1e-6, abs=1e-9), (l, which, idx)


def test_a_large_shared_bias_network_takes_the_matrix_form():
    text = ('[network]\nlayers = [784, 16, 10]\nactivations = ["sigmoid", "sigmoid"]\nloss = "bce"\n'
            'biases = "shared"\n[parameters]\nseed = 0\n')
    spec = parse_spec(text, source="big.toml")
    assert uses_matrix_form(spec)                   # before: a one-line refusal over 5,000 parameters
    md = matrix_derive(spec)
    assert md.parameter_count == 784 * 16 + 1 + 16 * 10 + 1
    module = compile_matrix_gradients(md).module              # PARAMETERS is built from LAYERS on first use
    assert module.SHARED_BIASES and "b^{1}" in module.PARAMETERS and "b^{1}_{1}" not in module.PARAMETERS
    assert len(module.PARAMETERS) == md.parameter_count and len(set(module.PARAMETERS)) == md.parameter_count
    assert "_parameter_names(LAYERS, SHARED_BIASES)" in generate_matrix_source(md)


def test_a_shared_bias_on_a_softmax_output_is_still_refused():
    text = MAZUR_TEXT.replace('activations = "sigmoid"', 'activations = ["sigmoid", "softmax"]')
    with pytest.raises(SpecError) as err:
        parse_spec(text, source="course.toml")
    assert "softmax" in str(err.value) and "\n" not in str(err.value)
