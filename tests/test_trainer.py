"""Tests of the independent NumPy trainer (symbackprop/trainer.py).

Oracles, none of them the trainer itself:
- the lecture's 2-2-1 numbers and the slides' boxed dZ_L = ŷ − y, written out with ``math``;
- a pure-Python, per-scalar forward pass in the lecture notes' index notation
  (z^{k+1}_i = Σ_j w^{k}_{i,j} a^{k}_j + b^{k}_i with w^{k}_{i,j} = W_k[j, i]) and the
  loss definitions, for loss values;
- central finite differences of the loss for the gradients;
- the slides' gender table for training.
"""
from __future__ import annotations

import math
import random

import numpy as np
import pytest

from symbackprop.check import trainer
from symbackprop.errors import SpecError, SymbackpropError
from symbackprop.check.trainer import (
    CODE_FUNCTIONS,
    Network,
    TrainResult,
    forward,
    gradients,
    init_params,
    loss_value,
    output_delta,
    train,
)

# --------------------------------------------------------------------------------------
# The pure-Python reference (scalar loops, `math` only).
# --------------------------------------------------------------------------------------


def _sigmoid(z):
    return 1 / (1 + math.exp(-z))


REF_ACTIVATIONS = {
    "identity": lambda z: z,
    "sigmoid": _sigmoid,
    "tanh": math.tanh,
    "relu": lambda z: z if z > 0 else 0.0,
    "leaky_relu": lambda z: z if z > 0 else 0.01 * z,
    "softplus": lambda z: math.log(1 + math.exp(z)),
}


def ref_forward_example(activations, params, x):
    """One example, index notation: a^{1}_j = x_j; z^{k+1}_i = Σ_j w^{k}_{i,j} a^{k}_j + b^{k}_i."""
    a = [float(v) for v in x]
    for (W, b), name in zip(params, activations):
        M, N = W.shape
        z = [sum(float(W[j, i]) * a[j] for j in range(M)) + float(b[0, i]) for i in range(N)]
        if name == "softmax":
            exps = [math.exp(v) for v in z]
            a = [e / sum(exps) for e in exps]
        else:
            a = [REF_ACTIVATIONS[name](v) for v in z]
    return z, a


def ref_example_loss(loss, y, y_hat):
    K = len(y)
    if loss == "squared_error":
        return sum((yk - pk) ** 2 for yk, pk in zip(y, y_hat))
    if loss == "half_squared_error":
        return 0.5 * sum((yk - pk) ** 2 for yk, pk in zip(y, y_hat))
    if loss == "mse":
        return sum((yk - pk) ** 2 for yk, pk in zip(y, y_hat)) / K
    if loss == "bce":
        return -sum(yk * math.log(pk) + (1 - yk) * math.log(1 - pk) for yk, pk in zip(y, y_hat))
    if loss == "cross_entropy":
        return -sum(yk * math.log(pk) for yk, pk in zip(y, y_hat))
    raise AssertionError(loss)


def ref_loss(net, params, X, Y):
    total = 0.0
    for x, y in zip(X, Y):
        _, y_hat = ref_forward_example(net.activations, params, x)
        total += ref_example_loss(net.loss, list(y), y_hat)
    return total / len(X) if net.reduction == "mean" else total


def central_differences(net, params, X, Y, h=1e-6):
    """∂L/∂θ ≈ (L(θ + h) − L(θ − h)) / 2h for every weight and bias."""
    grads = []
    for W, b in params:
        pair = []
        for P in (W, b):
            G = np.zeros_like(P)
            for idx in np.ndindex(P.shape):
                saved = P[idx]
                P[idx] = saved + h
                up = loss_value(net, params, X, Y)
                P[idx] = saved - h
                down = loss_value(net, params, X, Y)
                P[idx] = saved
                G[idx] = (up - down) / (2 * h)
            pair.append(G)
        grads.append(tuple(pair))
    return grads


# Output activations on which each loss is defined.
VALID_OUTPUTS = {
    "squared_error": ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "softmax"],
    "half_squared_error": ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "softmax"],
    "mse": ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "softmax"],
    "bce": ["sigmoid", "softmax"],
    "cross_entropy": ["softmax", "sigmoid", "softplus"],
}
HIDDEN = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus"]
CASES = [
    (loss, out, depth)
    for loss, outs in VALID_OUTPUTS.items()
    for out in outs
    for depth in (1, 2, 3, 4)
]


def _random_case(loss, out, depth, seed):
    rnd = random.Random(seed)
    rng = np.random.default_rng(seed)
    K = rnd.randint(2, 3) if out == "softmax" else rnd.randint(1, 3)
    layers = [rnd.randint(1, 3)] + [rnd.randint(1, 3) for _ in range(depth - 1)] + [K]
    hidden = [HIDDEN[(seed + i) % len(HIDDEN)] for i in range(depth - 1)]
    net = Network(layers, hidden + [out], loss, "mean" if seed % 2 else "sum")
    params = [(rng.normal(size=W.shape), rng.normal(size=b.shape)) for W, b in init_params(layers, seed)]
    n = rnd.randint(1, 4)
    X = rng.normal(size=(n, layers[0]))
    if loss == "bce":
        Y = rng.uniform(0.0, 1.0, size=(n, K))
    elif loss == "cross_entropy":
        Y = rng.uniform(0.1, 1.0, size=(n, K))  # not normalised: exercises dZ_L = ŷ Σy − y
    else:
        Y = rng.normal(size=(n, K))
    return net, params, X, Y


@pytest.mark.parametrize("loss,out,depth", CASES, ids=[f"{l}-{o}-d{d}" for l, o, d in CASES])
def test_gradients_match_central_differences(loss, out, depth):
    seed = CASES.index((loss, out, depth))
    net, params, X, Y = _random_case(loss, out, depth, seed)
    grads = gradients(net, params, X, Y)
    numeric = central_differences(net, params, X, Y)
    assert len(grads) == len(params)
    for (dW, db), (nW, nb), (W, b) in zip(grads, numeric, params):
        assert dW.shape == W.shape and db.shape == b.shape
        np.testing.assert_allclose(dW, nW, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(db, nb, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("loss,out,depth", CASES, ids=[f"{l}-{o}-d{d}" for l, o, d in CASES])
def test_loss_value_matches_scalar_reference(loss, out, depth):
    seed = CASES.index((loss, out, depth))
    net, params, X, Y = _random_case(loss, out, depth, seed)
    assert loss_value(net, params, X, Y) == pytest.approx(ref_loss(net, params, X, Y), rel=1e-12, abs=1e-12)


# --------------------------------------------------------------------------------------
# The lecture's numbers.
# --------------------------------------------------------------------------------------

LECTURE_NET = Network([2, 2, 1], ["sigmoid", "sigmoid"], "half_squared_error")
ONES = [(np.ones((2, 2)), np.ones((1, 2))), (np.ones((2, 1)), np.ones((1, 1)))]


def test_lecture_2_2_1_forward_numbers():
    (Z1, A1), (Z2, A2) = forward(LECTURE_NET, ONES, np.array([[1.0, 0.0], [0.0, 1.0]]))
    np.testing.assert_array_equal(Z1, [[2.0, 2.0], [2.0, 2.0]])           # z^{2}_{i} = 1·1 + 1·0 + 1
    assert A1[0, 0] == pytest.approx(0.8808, abs=5e-5)                        # a^{2}_{1} = σ(2)
    assert A1[0, 0] == pytest.approx(1 / (1 + math.exp(-2)), rel=1e-15)
    assert Z2[0, 0] == pytest.approx(2.7616, abs=5e-5)                        # z^{3}_{1}
    assert Z2[0, 0] == pytest.approx(1 + 2 / (1 + math.exp(-2)), rel=1e-15)  # exactly 1 + 2σ(2)
    assert A2[0, 0] == pytest.approx(0.9405, abs=1e-4)                        # ŷ = a^{3}_{1} = 0.94056...
    assert A2[0, 0] == pytest.approx(_sigmoid(1 + 2 * _sigmoid(2)), rel=1e-15)
    np.testing.assert_array_equal(Z2[0], Z2[1])                                # x = [0, 1] gives the same


def test_lecture_chain_rule_products():
    """∂L/∂w^{1}_{1,1} and ∂L/∂w^{1}_{2,1} as the products of five local derivatives (notes 000)."""
    net = Network([2, 2, 1], "sigmoid", "half_squared_error", "sum")
    W1 = np.array([[0.5, -0.3], [0.8, 0.2]])      # W1[j, i] = w^{1}_{i,j}: asymmetric on purpose
    W2 = np.array([[1.5], [-0.7]])
    params = [(W1, np.array([[0.1, -0.2]])), (W2, np.array([[0.3]]))]
    x, y = [0.9, -0.4], 1.0
    z2 = [W1[0, i] * x[0] + W1[1, i] * x[1] + params[0][1][0, i] for i in range(2)]
    a2 = [_sigmoid(v) for v in z2]
    z3 = W2[0, 0] * a2[0] + W2[1, 0] * a2[1] + 0.3
    y_hat = _sigmoid(z3)
    common = (y_hat - y) * y_hat * (1 - y_hat)                        # ∂L/∂ŷ · ∂ŷ/∂z^{3}_{1}
    d_w111 = common * W2[0, 0] * a2[0] * (1 - a2[0]) * x[0]            # · w^{2}_{1,1} · σ'(z^{2}_{1}) · a^{1}_{1}
    d_w121 = common * W2[1, 0] * a2[1] * (1 - a2[1]) * x[0]            # · w^{2}_{1,2} · σ'(z^{2}_{2}) · a^{1}_{1}
    (dW1, db1), (dW2, db2) = gradients(net, params, [x], [[y]])
    assert dW1[0, 0] == pytest.approx(d_w111, rel=1e-12)
    assert dW1[0, 1] == pytest.approx(d_w121, rel=1e-12)
    assert db2[0, 0] == pytest.approx(common, rel=1e-12)
    assert dW2[1, 0] == pytest.approx(common * a2[1], rel=1e-12)


def test_bce_sigmoid_output_delta_is_y_hat_minus_y():
    """The slides' boxed result: (ŷ − y)/(ŷ(1 − ŷ)) · ŷ(1 − ŷ) = ŷ − y, per example."""
    net = Network([3, 2], "sigmoid", "bce", "sum")
    rng = np.random.default_rng(5)
    params = [(rng.normal(size=(3, 2)), rng.normal(size=(1, 2)))]
    X = rng.normal(size=(4, 3))
    Y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], dtype=float)
    (Z, A), = forward(net, params, X)
    y_hat = np.array([[_sigmoid(v) for v in row] for row in Z])
    np.testing.assert_allclose(output_delta(net, Z, A, Y), y_hat - Y, rtol=1e-14, atol=1e-15)
    slides = (y_hat - Y) / (y_hat * (1 - y_hat)) * (y_hat * (1 - y_hat))
    np.testing.assert_allclose(output_delta(net, Z, A, Y), slides, rtol=1e-12, atol=1e-14)
    (dW, db), = gradients(net, params, X, Y)
    np.testing.assert_allclose(db, (y_hat - Y).sum(axis=0, keepdims=True), rtol=1e-12)   # db = Σ dZ
    np.testing.assert_allclose(dW, X.T @ (y_hat - Y), rtol=1e-12)                          # dW = Xᵀ dZ
    mean = Network([3, 2], "sigmoid", "bce", "mean")
    np.testing.assert_allclose(gradients(mean, params, X, Y)[0][1], db / 4, rtol=1e-14)     # the 1/n


# --------------------------------------------------------------------------------------
# Numerical honesty at |z| ~ 1000.
# --------------------------------------------------------------------------------------

def test_saturated_logits_are_exact_and_warning_free():
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        net = Network([1, 1], "sigmoid", "bce", "sum")
        params = [(np.array([[1000.0]]), np.zeros((1, 1)))]
        X = np.array([[1.0], [1.0], [-1.0], [-1.0]])
        Y = np.array([[0.0], [1.0], [1.0], [0.0]])
        # per example softplus(z) − y z: 1000, 0, 1000, 0
        assert loss_value(net, params, X, Y) == 2000.0
        (dW, db), = gradients(net, params, X, Y)
        # dZ = ŷ − y = [1, 0, −1, 0]; dW = Xᵀ dZ = 1 + 1 = 2; db = 0
        assert dW[0, 0] == 2.0 and db[0, 0] == 0.0

        soft = Network([1, 2], "softmax", "cross_entropy", "sum")
        params = [(np.array([[1000.0, -1000.0]]), np.zeros((1, 2)))]
        assert loss_value(soft, params, [[1.0]], [[0.0, 1.0]]) == 2000.0
        (Z, A), = forward(soft, params, [[1.0]])
        np.testing.assert_array_equal(output_delta(soft, Z, A, np.array([[0.0, 1.0]])), [[1.0, -1.0]])

        ce_sig = Network([1, 1], "sigmoid", "cross_entropy", "sum")
        params = [(np.array([[-1000.0]]), np.zeros((1, 1)))]
        assert loss_value(ce_sig, params, [[1.0]], [[1.0]]) == 1000.0   # −log σ(−1000) = 1000


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("loss,out", [(l, o) for l, outs in VALID_OUTPUTS.items() for o in outs])
def test_large_inputs_give_finite_results_or_a_clear_error(hidden, loss, out):
    K = 2
    net = Network([2, 3, K], [hidden, out], loss)
    rng = np.random.default_rng(1)
    params = [(rng.normal(size=(2, 3)) * 1000, np.zeros((1, 3))), (rng.normal(size=(3, K)), np.zeros((1, K)))]
    X = np.array([[1.0, -1.0], [-1.0, 0.5], [0.3, 1.0]])
    Y = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        Z1, _ = forward(net, params, X)[0]
        assert np.max(np.abs(Z1)) > 500
        try:
            value = loss_value(net, params, X, Y)
            grads = gradients(net, params, X, Y)
        except SpecError as error:      # only a generic formula whose output left its domain
            assert (loss, out) not in trainer.FROM_LOGITS
            assert "defined for outputs in" in str(error)
            return
    assert math.isfinite(value)
    assert all(np.all(np.isfinite(dW)) and np.all(np.isfinite(db)) for dW, db in grads)


def test_stable_pairs_never_leave_their_domain_at_large_z():
    for loss, out in trainer.FROM_LOGITS:
        net = Network([1, 2], out, loss)
        params = [(np.array([[1e3, -1e3]]), np.zeros((1, 2)))]
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            assert math.isfinite(loss_value(net, params, [[1.0], [-1.0]], [[1.0, 0.0], [0.0, 1.0]]))


def test_sigmoid_has_no_overflow_and_keeps_tiny_values():
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        s = trainer.sigmoid(np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0]))
    assert s[0] == 0.0 and s[2] == 0.5 and s[4] == 1.0
    assert s[1] == pytest.approx(math.exp(-40) / (1 + math.exp(-40)), rel=1e-14)
    assert trainer.sigmoid_derivative(np.array([40.0]))[0] == pytest.approx(math.exp(-40), rel=1e-12)


def test_relu_conventions_at_zero():
    z = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(trainer.relu_derivative(z), [0.0, 0.0, 1.0])          # relu'(0) = 0
    np.testing.assert_array_equal(trainer.leaky_relu(z), [-0.01, 0.0, 2.0])
    np.testing.assert_array_equal(trainer.leaky_relu_derivative(z), [0.01, 0.01, 1.0])  # 0.01 at 0


# --------------------------------------------------------------------------------------
# Training.
# --------------------------------------------------------------------------------------

# The slides' table: weight (lb), height (in), gender with F = 1; shifted by (−135, −66).
GENDER_X = np.array([[133, 65], [160, 72], [152, 70], [120, 60]], dtype=float) - [135.0, 66.0]
GENDER_Y = np.array([[1.0], [0.0], [0.0], [1.0]])


def test_trainer_fits_the_gender_table():
    net = Network([2, 2, 1], "sigmoid", "bce")
    start = init_params([2, 2, 1], seed=0)
    result = train(net, start, GENDER_X, GENDER_Y, learning_rate=0.1, epochs=1000)
    assert isinstance(result, TrainResult)
    assert len(result.loss_history) == 1001
    assert result.loss_history[0] == pytest.approx(ref_loss(net, start, GENDER_X, GENDER_Y), rel=1e-12)
    assert result.loss_history[-1] == pytest.approx(ref_loss(net, result.params, GENDER_X, GENDER_Y), rel=1e-12)
    assert result.loss_history[-1] < 0.1 < result.loss_history[0]
    predictions = [ref_forward_example(net.activations, result.params, x)[1][0] for x in GENDER_X]
    assert [p > 0.5 for p in predictions] == [True, False, False, True]   # Alice F, Bob M, Charlie M, Diana F


def test_full_batch_epoch_is_one_gradient_step():
    net = Network([2, 2, 1], "sigmoid", "bce")
    start = init_params([2, 2, 1], seed=3)
    result = train(net, start, GENDER_X, GENDER_Y, learning_rate=0.05, epochs=1)
    # One step of w ← w − α ∂L/∂w with finite-difference gradients, to FD accuracy.
    numeric = central_differences(net, [(W.copy(), b.copy()) for W, b in start], GENDER_X, GENDER_Y)
    for (W, b), (nW, nb), (W1, b1) in zip(start, numeric, result.params):
        np.testing.assert_allclose(W1, W - 0.05 * nW, rtol=1e-8, atol=1e-9)
        np.testing.assert_allclose(b1, b - 0.05 * nb, rtol=1e-8, atol=1e-9)


def test_mini_batches_follow_the_seeded_shuffle():
    net = Network([2, 3, 1], ["tanh", "sigmoid"], "bce")
    start = init_params([2, 3, 1], seed=1)
    result = train(net, start, GENDER_X, GENDER_Y, learning_rate=0.1, epochs=1, batch_size=3, seed=11)
    order = np.random.default_rng(11).permutation(4)
    params = [(W.copy(), b.copy()) for W, b in start]
    for rows in (order[:3], order[3:]):         # batches of 3 then 1, each its own mean loss
        grads = gradients(net, params, GENDER_X[rows], GENDER_Y[rows])
        params = [(W - 0.1 * dW, b - 0.1 * db) for (W, b), (dW, db) in zip(params, grads)]
    for (W, b), (W1, b1) in zip(params, result.params):
        np.testing.assert_allclose(W1, W, rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(b1, b, rtol=1e-14, atol=1e-15)


def test_mini_batch_training_is_deterministic_for_a_seed():
    net = Network([2, 2, 1], "sigmoid", "bce")
    start = init_params([2, 2, 1], seed=2)
    kwargs = dict(learning_rate=0.1, epochs=20, batch_size=2)
    first = train(net, start, GENDER_X, GENDER_Y, seed=4, **kwargs)
    second = train(net, start, GENDER_X, GENDER_Y, seed=4, **kwargs)
    other = train(net, start, GENDER_X, GENDER_Y, seed=5, **kwargs)
    assert first.loss_history == second.loss_history
    for (W, b), (W2, b2) in zip(first.params, second.params):
        assert np.array_equal(W, W2) and np.array_equal(b, b2)
    assert first.loss_history != other.loss_history


def test_train_does_not_modify_its_inputs():
    net = Network([2, 2, 1], "sigmoid", "bce")
    start = init_params([2, 2, 1], seed=0)
    copies = [(W.copy(), b.copy()) for W, b in start]
    train(net, start, GENDER_X, GENDER_Y, learning_rate=0.1, epochs=3, batch_size=2)
    for (W, b), (W0, b0) in zip(start, copies):
        assert np.array_equal(W, W0) and np.array_equal(b, b0)


def test_divergence_is_a_clear_error():
    net = Network([2, 1], "identity", "squared_error")
    with pytest.raises(SpecError, match="learning_rate"):
        train(net, init_params([2, 1], 0), GENDER_X * 1e3, GENDER_Y, learning_rate=10.0, epochs=200)


def test_on_epoch_hook_sees_every_epoch_and_the_trainer_prints_nothing(capsys):
    net = Network([2, 2, 1], "sigmoid", "bce")
    start = init_params([2, 2, 1], seed=0)
    seen = []
    hooked = train(net, start, GENDER_X, GENDER_Y, learning_rate=0.1, epochs=5, batch_size=2,
                   on_epoch=lambda epoch, loss: seen.append((epoch, loss)))
    plain = train(net, start, GENDER_X, GENDER_Y, learning_rate=0.1, epochs=5, batch_size=2)
    assert capsys.readouterr() == ("", "")      # the oracle has no bar of its own
    assert [e for e, _ in seen] == [1, 2, 3, 4, 5]
    # each reported loss is the full-data loss after that epoch: the last one recomputed from the final parameters
    assert [loss for _, loss in seen] == hooked.loss_history[1:]
    assert seen[-1][1] == loss_value(net, plain.params, GENDER_X, GENDER_Y)
    assert all(np.array_equal(W, W2) and np.array_equal(b, b2)
               for (W, b), (W2, b2) in zip(hooked.params, plain.params))  # the hook changes nothing


def test_the_trainer_imports_no_progress_bar():
    import symbackprop.check.trainer as t

    from pathlib import Path

    source = Path(t.__file__).read_text(encoding="utf-8")
    assert not hasattr(t, "_ProgressBar")
    assert "tqdm" not in source and "symbackprop.progress" not in source and "sys.stderr" not in source


def test_init_params_is_deterministic_with_the_slides_shapes():
    a = init_params([3, 4, 2], seed=7)
    b = init_params([3, 4, 2], seed=7)
    assert [(W.shape, bias.shape) for W, bias in a] == [((3, 4), (1, 4)), ((4, 2), (1, 2))]
    assert all(np.array_equal(W, W2) for (W, _), (W2, _) in zip(a, b))
    assert all(not bias.any() for _, bias in a)
    assert not np.array_equal(a[0][0], init_params([3, 4, 2], seed=8)[0][0])


# --------------------------------------------------------------------------------------
# Errors.
# --------------------------------------------------------------------------------------

def test_bad_networks_and_shapes_are_clear_errors():
    with pytest.raises(SpecError, match="did you mean 'sigmoid'"):
        Network([2, 1], "sigmod", "bce")
    with pytest.raises(SpecError, match="output layer only"):
        Network([2, 2, 1], ["softmax", "sigmoid"], "mse")
    with pytest.raises(SpecError, match="loss"):
        Network([2, 1], "sigmoid", "hinge")
    with pytest.raises(SpecError, match="reduction"):
        Network([2, 1], "sigmoid", "bce", "max")
    with pytest.raises(SpecError, match="one per layer"):
        Network([2, 2, 1], ["sigmoid"], "bce")
    net = Network([2, 2, 1], "sigmoid", "bce")
    with pytest.raises(SpecError, match=r"need \(2, 2\)"):
        loss_value(net, [(np.ones((2, 3)), np.ones((1, 2))), (np.ones((2, 1)), np.ones((1, 1)))], GENDER_X, GENDER_Y)
    with pytest.raises(SpecError, match="data x"):
        loss_value(net, ONES, np.ones((4, 3)), GENDER_Y)
    with pytest.raises(SpecError, match="data y"):
        loss_value(net, ONES, GENDER_X, np.ones((3, 1)))
    with pytest.raises(SymbackpropError):
        train(net, ONES, GENDER_X, GENDER_Y, learning_rate=-1, epochs=1)


def test_loss_outside_its_domain_is_a_clear_error():
    net = Network([1, 1], "identity", "bce")
    with pytest.raises(SpecError, match=r"'bce' is defined for outputs in \(0, 1\)"):
        loss_value(net, [(np.array([[2.0]]), np.zeros((1, 1)))], [[1.0]], [[1.0]])
    # inside the domain the generic formula is used and is right
    assert loss_value(net, [(np.array([[0.25]]), np.zeros((1, 1)))], [[1.0]], [[1.0]]) == pytest.approx(-math.log(0.25))


# --------------------------------------------------------------------------------------
# The code shown in worksheets.
# --------------------------------------------------------------------------------------

def test_code_functions_render_with_latexify():
    latexify = pytest.importorskip("latexify")
    rendered = {name: latexify.get_latex(f, prefixes={"np"}) for name, f in CODE_FUNCTIONS.items()}
    assert all(getattr(trainer, name) is f for name, f in CODE_FUNCTIONS.items())
    assert r"\exp" in rendered["sigmoid"]
    assert r"\log" in rendered["bce"] and r"\sum" in rendered["bce"]
    assert rendered["gradient_descent_update"].endswith(r"= w - \mathrm{learning\_rate} \cdot \mathrm{grad}")
    assert rendered["half_squared_error"].endswith(r"= 0.5 \sum \mathopen{}\left( \mathopen{}\left( y - \mathrm{y\_hat} \mathclose{}\right)^{2} \mathclose{}\right)")
    assert "np." not in "".join(rendered.values())
