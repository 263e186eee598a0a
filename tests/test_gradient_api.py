"""Issue 15: the documented gradient API takes and returns a name dict, [(W, b), ...] or a flat vector,
and the buffered matrix code (workspace reuse, in-place σ′) gives the same numbers.

Oracles that share no code with the generated module: the hand-written trainer
(``symbackprop.check.trainer``), PyTorch autograd where installed, central finite differences."""
import threading

import numpy as np
import pytest

from symbackprop import compile_gradients, derive, parse_spec
from symbackprop.check import trainer
from symbackprop.compile.matrix_numpy import compile_matrix_gradients, random_batch, random_matrices
from symbackprop.derivation.matrix_form import matrix_derive

NET = """
[network]
layers = {layers}
activations = {acts}
loss = "{loss}"
reduction = "{red}"
[parameters]
seed = 2
"""

CASES = [
    ((2, 2, 1), ["sigmoid", "sigmoid"], "bce", "mean"),
    ((4, 8, 8, 1), ["sigmoid", "sigmoid", "sigmoid"], "bce", "mean"),
    ((5, 7, 3), ["sigmoid", "softmax"], "cross_entropy", "mean"),
    ((3, 4, 2), ["sigmoid", "sigmoid"], "bce", "sum"),
    ((3, 4, 2), ["tanh", "identity"], "half_squared_error", "mean"),  # not the buffered path: the general one
]


def _md(layers, acts, loss, red):
    text = NET.format(layers=list(layers), acts=str(list(acts)).replace("'", '"'), loss=loss, red=red)
    return matrix_derive(parse_spec(text))


def _rel(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def _trainer(md, mats, X, Y):
    net = trainer.Network(tuple(md.layers), tuple(md.activations), md.loss, md.reduction)
    return trainer.gradients(net, mats, X, Y)


@pytest.mark.parametrize("layers, acts, loss, red", CASES)
@pytest.mark.parametrize("n", [1, 7, 300])
def test_three_forms_agree_with_the_trainer(layers, acts, loss, red, n):
    md = _md(layers, acts, loss, red)
    c = compile_matrix_gradients(md)
    m = c.module
    rng = np.random.default_rng(n)
    mats = random_matrices(md, rng)
    X, Y = random_batch(md, rng, n)
    theirs = _trainer(md, mats, X, Y)
    pairs = c.gradients(mats, X, Y)
    for (dW, db), (e, f) in zip(pairs, theirs):
        assert dW.shape == e.shape and db.shape == (1, e.shape[1])
        assert _rel(dW, e) <= 1e-12 and _rel(db, f) <= 1e-12
    v = m.matrices_to_vector(mats)
    gv = c.gradients(v, X, Y)
    assert isinstance(gv, np.ndarray) and gv.shape == (len(c.parameters),)
    assert _rel(gv, m.matrices_to_vector(theirs)) <= 1e-12
    gl = c.gradients(v.tolist(), X, Y)  # a plain list of numbers is a flat vector too
    assert _rel(gl, gv) <= 1e-15
    names = dict(zip(c.parameters, v.tolist()))
    gd = c.gradients(names, X, Y)
    assert list(gd) == list(c.parameters)
    assert _rel(list(gd.values()), gv) <= 1e-15
    shuffled = dict(reversed(list(names.items())))  # any key order: looked up by name
    assert _rel(list(c.gradients(shuffled, X, Y).values()), gv) <= 1e-15


def test_flat_vector_is_in_parameters_order():
    """w^{l}_{i,j} = W_l[j, i]: the vector's entry for each name is the matrix entry the lectures give."""
    md = _md((3, 4, 2), ["sigmoid", "sigmoid"], "bce", "mean")
    m = compile_matrix_gradients(md).module
    mats = random_matrices(md, np.random.default_rng(0))
    v = m.matrices_to_vector(mats)
    by_name = dict(zip(m.PARAMETERS, v))
    for l, (W, b) in enumerate(mats, start=1):
        for j in range(W.shape[0]):
            for i in range(W.shape[1]):
                assert by_name["w^{%d}_{%d,%d}" % (l, i + 1, j + 1)] == W[j, i]
        for i in range(W.shape[1]):
            assert by_name["b^{%d}_{%d}" % (l, i + 1)] == b[0, i]
    back = m.vector_to_matrices(v)
    for (W, b), (W2, b2) in zip(mats, back):
        assert np.array_equal(W, W2) and np.array_equal(b, b2)


def test_vector_gradient_matches_finite_differences():
    md = _md((4, 8, 8, 1), ["sigmoid", "sigmoid", "sigmoid"], "bce", "mean")
    c = compile_matrix_gradients(md)
    rng = np.random.default_rng(5)
    v = c.module.matrices_to_vector(random_matrices(md, rng))
    X, Y = random_batch(md, rng, 20)
    g = c.gradients(v, X, Y)
    for k in rng.choice(len(v), 12, replace=False):
        h = 1e-6
        up, down = v.copy(), v.copy()
        up[k] += h
        down[k] -= h
        fd = (c.loss(up, X, Y) - c.loss(down, X, Y)) / (2 * h)
        assert g[k] == pytest.approx(fd, rel=1e-6, abs=1e-9)


def test_buffers_are_reused_but_results_never_alias_them():
    md = _md((4, 8, 8, 1), ["sigmoid", "sigmoid", "sigmoid"], "bce", "mean")
    c = compile_matrix_gradients(md)
    rng = np.random.default_rng(1)
    mats = random_matrices(md, rng)
    X1, Y1 = random_batch(md, rng, 50)
    X2, Y2 = random_batch(md, rng, 50)
    first = c.matrix_gradients(mats, X1, Y1)
    kept = [(dW.copy(), db.copy()) for dW, db in first]
    c.matrix_gradients(mats, X2, Y2)  # same n: the same buffers
    c.matrix_gradients(mats, X2[:9], Y2[:9])  # another n: new buffers
    for (dW, db), (e, f) in zip(first, kept):
        assert np.array_equal(dW, e) and np.array_equal(db, f)
    v = c.module.matrices_to_vector(mats)
    a = c.gradients(v, X1, Y1)
    b = c.gradients(v, X2, Y2)
    assert not np.shares_memory(a, b) and _rel(a, c.module.matrices_to_vector(kept)) <= 1e-15
    c.module.clear_workspace()
    assert _rel(c.gradients(v, X1, Y1), a) == 0.0


def test_threads_have_their_own_buffers():
    md = _md((4, 8, 8, 1), ["sigmoid", "sigmoid", "sigmoid"], "bce", "mean")
    c = compile_matrix_gradients(md)
    rng = np.random.default_rng(2)
    mats = random_matrices(md, rng)
    batches = [random_batch(md, rng, 2000) for _ in range(4)]
    expected = [c.module.matrices_to_vector(_trainer(md, mats, X, Y)) for X, Y in batches]
    errors = []

    def work(k):
        X, Y = batches[k]
        for _ in range(20):
            got = c.module.matrices_to_vector(c.matrix_gradients(mats, X, Y))
            if _rel(got, expected[k]) > 1e-12:
                errors.append(k)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_saturated_sigmoids_stay_finite_and_exact():
    """|z| in the thousands: the clip at e^709 and σ' = s a² keep every number finite and equal to the trainer's."""
    md = _md((3, 4, 2), ["sigmoid", "sigmoid"], "bce", "mean")
    c = compile_matrix_gradients(md)
    rng = np.random.default_rng(0)
    mats = [(W * 60.0, b * 60.0) for W, b in random_matrices(md, rng)]
    X = rng.normal(0, 40, size=(64, 3))
    Y = rng.integers(0, 2, size=(64, 2)).astype(float)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        ours = c.matrix_gradients(mats, X, Y)
    theirs = _trainer(md, mats, X, Y)
    for (dW, db), (e, f) in zip(ours, theirs):
        assert np.all(np.isfinite(dW)) and np.all(np.isfinite(db))
        assert np.max(np.abs(dW - e)) <= 1e-12 * max(1.0, np.max(np.abs(e)))


def test_bad_vector_is_a_clear_error():
    md = _md((2, 2, 1), ["sigmoid", "sigmoid"], "bce", "mean")
    c = compile_matrix_gradients(md)
    with pytest.raises(ValueError, match="9 entries"):
        c.gradients(np.zeros(8), [[0.0, 1.0]], [[1.0]])
    with pytest.raises(KeyError, match="missing"):
        c.gradients({"w^{1}_{1,1}": 1.0}, [[0.0, 1.0]], [[1.0]])


def test_auto_backend_takes_arrays():
    d = derive(parse_spec(NET.format(layers=[2, 3, 1], acts='["sigmoid", "sigmoid"]', loss="bce", red="mean")))
    c = compile_gradients(d)
    assert c.kind == "matrix"
    params = {k: 0.1 * i - 0.4 for i, k in enumerate(c.parameters)}
    g = c.gradients(params, [[0.5, -1.0], [2.0, 0.3]], [[1.0], [0.0]])
    v = c.gradients(np.array(list(params.values())), [[0.5, -1.0], [2.0, 0.3]], [[1.0], [0.0]])
    assert _rel(v, list(g.values())) <= 1e-15


@pytest.mark.parametrize("layers, acts, loss", [((4, 8, 8, 1), ["sigmoid"] * 3, "bce"),
                                                ((10, 16, 3), ["sigmoid", "softmax"], "cross_entropy")])
def test_agrees_with_pytorch(layers, acts, loss):
    torch = pytest.importorskip("torch")
    md = _md(layers, acts, loss, "mean")
    c = compile_matrix_gradients(md)
    rng = np.random.default_rng(4)
    mats = random_matrices(md, rng)
    X, Y = random_batch(md, rng, 500)
    ps = [torch.tensor(a, requires_grad=True) for W, b in mats for a in (W, b)]
    A = torch.from_numpy(X)
    for l in range(len(mats)):
        Z = A @ ps[2 * l] + ps[2 * l + 1]
        A = torch.sigmoid(Z)
    Yt = torch.from_numpy(Y)
    if loss == "bce":
        J = torch.nn.functional.binary_cross_entropy_with_logits(Z, Yt, reduction="sum") / len(X)
    else:
        J = -(Yt * torch.log_softmax(Z, dim=1)).sum() / len(X)
    grads = torch.autograd.grad(J, ps)
    ours = c.matrix_gradients(mats, X, Y)
    for l, (dW, db) in enumerate(ours):
        assert _rel(dW, grads[2 * l].numpy()) <= 1e-12 and _rel(db, grads[2 * l + 1].numpy()) <= 1e-12
