"""The optional JAX backend (issue 15): the matrix steps in jax.numpy, jitted, agree with the trainer.
Skipped when JAX is not installed (``pip install 'symbackprop[jax]'``)."""
import numpy as np
import pytest

from symbackprop import compile_gradients, derive, parse_spec
from symbackprop.check import trainer
from symbackprop.compile.matrix_numpy import random_batch, random_matrices
from symbackprop.derivation.matrix_form import matrix_derive

jax = pytest.importorskip("jax")

NET = '[network]\nlayers = {layers}\nactivations = {acts}\nloss = "{loss}"\nreduction = "{red}"\n[parameters]\nseed = 1\n'


def _rel(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


@pytest.mark.parametrize("layers, acts, loss, red", [
    ((2, 2, 1), '["sigmoid", "sigmoid"]', "bce", "mean"),
    ((4, 8, 8, 1), '["sigmoid", "sigmoid", "sigmoid"]', "bce", "sum"),
    ((6, 5, 3), '["sigmoid", "softmax"]', "cross_entropy", "mean"),
    ((3, 4, 2), '["tanh", "identity"]', "half_squared_error", "mean"),
])
def test_jax_backend_agrees_with_the_trainer(layers, acts, loss, red):
    text = NET.format(layers=list(layers), acts=acts, loss=loss, red=red)
    d = derive(parse_spec(text))
    c = compile_gradients(d, backend="jax")
    assert c.kind == "jax" and "import jax" in c.source
    md = matrix_derive(d)
    rng = np.random.default_rng(0)
    mats = random_matrices(md, rng)
    X, Y = random_batch(md, rng, 40)
    net = trainer.Network(tuple(md.layers), tuple(md.activations), md.loss, md.reduction)
    theirs = trainer.gradients(net, mats, X, Y)
    ours = c.matrix_gradients(mats, X, Y)
    for (dW, db), (e, f) in zip(ours, theirs):
        assert _rel(dW, e) <= 1e-12 and _rel(db, f) <= 1e-12
    v = c.numpy_module.matrices_to_vector(mats)
    gv = c.gradients(v, X, Y)
    assert _rel(gv, c.numpy_module.matrices_to_vector(theirs)) <= 1e-12
    gd = c.gradients(dict(zip(c.parameters, v.tolist())), X, Y)
    assert list(gd) == list(c.parameters) and _rel(list(gd.values()), gv) <= 1e-15
