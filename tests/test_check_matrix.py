"""The matrix-form check's finite differences: one trainer forward pass per case, each moved entry
updated from it, and the same loss as the trainer's full forward pass at the moved parameters."""
import numpy as np
import pytest

from symbackprop.check import trainer
from symbackprop.check.matrix import _MovedLoss, check_matrix
from symbackprop.compile.matrix_numpy import compile_matrix_gradients
from symbackprop.derivation.matrix_form import matrix_derive
from symbackprop.spec.load import parse_spec

NETS = [
    ([5, 4, 3, 3], ["relu", "tanh", "softmax"], "cross_entropy", "mean"),
    ([4, 6, 1], ["leaky_relu", "sigmoid"], "bce", "sum"),
    ([3, 2, 2, 2], ["sigmoid", "softplus", "identity"], "squared_error", "mean"),
]


def _data(layers, loss, rng, n=7):
    X = rng.normal(size=(n, layers[0]))
    K = layers[-1]
    if loss == "cross_entropy":
        Y = np.eye(K)[rng.integers(0, K, size=n)]
    elif loss == "bce":
        Y = rng.integers(0, 2, size=(n, K)).astype(float)
    else:
        Y = rng.normal(size=(n, K))
    return X, Y


@pytest.mark.parametrize("layers, acts, loss, reduction", NETS)
def test_a_moved_entry_gives_the_trainers_full_forward_loss(layers, acts, loss, reduction):
    rng = np.random.default_rng(3)
    net = trainer.Network(layers, acts, loss, reduction)
    mats = [(rng.normal(size=(m, n)), rng.normal(size=(1, n))) for m, n in zip(layers[:-1], layers[1:])]
    X, Y = _data(layers, loss, rng)
    kinked = [k for k, a in enumerate(acts) if a in ("relu", "leaky_relu")]
    moved_loss = _MovedLoss(trainer, net, mats, X, Y, kinked)
    for l in range(1, len(layers)):
        for which in (0, 1):
            shape = mats[l - 1][which].shape
            for idx in [(0, 0), (shape[0] - 1, shape[1] - 1), (shape[0] // 2, shape[1] // 2)]:
                for delta in (0.37, -1e-5):
                    moved = [(W.copy(), b.copy()) for W, b in mats]
                    moved[l - 1][which][idx] += delta
                    expected = trainer.loss_value(net, moved, X, Y)            # the full forward pass
                    got, pattern = moved_loss(l, which, idx, delta)
                    assert got == pytest.approx(expected, rel=1e-12, abs=1e-13)
                    full = trainer.forward(net, moved, X)
                    assert all(np.array_equal(p, full[k][0] > 0) for p, k in zip(pattern, kinked))


def test_finite_differences_of_every_entry_catch_one_wrong_entry():
    spec = parse_spec('notation = "matrix"\n[network]\nlayers = [6, 5, 2]\n'
                      'activations = ["tanh", "softmax"]\nloss = "cross_entropy"\n')
    md = matrix_derive(spec)
    good = compile_matrix_gradients(md)

    class OneEntryOff:  # dW_1[2, 3] (w^{1}_{4,3}) off by 1 %: the finite differences must name it
        def matrix_gradients(self, mats, X, Y):
            grads = [(np.array(dW), np.array(db)) for dW, db in good.matrix_gradients(mats, X, Y)]
            grads[0][0][2, 3] *= 1.01
            return grads

    assert check_matrix(md, trials=1, fd_sample=None).ok
    report = check_matrix(md, compiled=OneEntryOff(), trials=1, fd_sample=None)
    fd = [c for c in report.comparisons if c.oracle.startswith("finite differences")]
    assert fd and all(not c.ok and c.worst_parameter == "w^{1}_{4,3}" for c in fd)


def test_one_trainer_forward_pass_per_case_whatever_the_sample(monkeypatch):
    spec = parse_spec('notation = "matrix"\n[network]\nlayers = [300, 40, 1]\n'
                      'activations = ["relu", "sigmoid"]\nloss = "bce"\n')
    md = matrix_derive(spec)
    calls = []
    real = trainer._forward
    monkeypatch.setattr(trainer, "_forward", lambda *a: calls.append(1) or real(*a))
    report = check_matrix(md, trials=2, fd_sample=200)
    assert report.ok, "\n".join(report.lines())
    cases = len(report.comparisons) // 2
    # the trainer's gradients (one forward each) and the finite differences' base pass (one each);
    # before, every sampled entry cost two full forward passes (800 here)
    assert len(calls) <= 2 * cases
