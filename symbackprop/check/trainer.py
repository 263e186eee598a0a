r"""The independent trainer: vectorized NumPy backpropagation in the slides' matrix form.

This module is the oracle the symbolic gradients are checked against, so it shares no
code with them: it imports nothing from SymPy and nothing from symbackprop except the
error classes. Everything here is written from the slides (001, "Training a simple
neural network"):

Shapes. ``X`` is ``(n, M)``, one row per example. A layer from ``M`` inputs to ``N``
neurons has ``W`` of shape ``(M, N)`` and ``b`` of shape ``(1, N)``. (In the lecture
notes' index notation ``W_k[j, i]`` is ``w^{k}_{i,j}``: row = input node ``j``,
column = neuron ``i``.)

Forward pass, for ``l = 1 .. L`` with ``A_0 = X``::

    Z_l = A_{l-1} W_l + b_l          (n, N_l)
    A_l = g_l(Z_l)                   (n, N_l)
    Ŷ   = A_L

Loss. A per-example loss ``L_i`` over the outputs ``k``, then the batch reduction:
``"mean"`` gives ``L = (1/n) Σ_i L_i``, ``"sum"`` gives ``L = Σ_i L_i``.

Backward pass (the slides' seven steps, for any depth)::

    dZ_L     = ∂L/∂Z_L              (ŷ − y for BCE with a sigmoid output)
    dW_l     = A_{l-1}ᵀ dZ_l
    db_l     = Σ_rows dZ_l
    dA_{l-1} = dZ_l W_lᵀ
    dZ_{l-1} = dA_{l-1} ⊙ g'(Z_{l-1})

The 1/n of the mean reduction is applied once, to ``dZ_L``; the slides' backward
steps leave it out because they differentiate the summed loss.

Numerical honesty: sigmoid and softplus never overflow (``|z| ~ 1e3`` is fine);
BCE with a sigmoid output and cross-entropy with a sigmoid or softmax output are
computed from the logits ``Z_L`` (``softplus(z) − y z`` and ``−y · log_softmax(z)``),
so saturated outputs give exact, finite losses and gradients. Any other pairing uses
the generic formulas; if an output then falls outside the loss's domain (for example
``bce`` on an ``identity`` output that left (0, 1)), a ``SpecError`` says so instead
of returning NaN.

Conventions: ``relu'(0) = 0``; ``leaky_relu(z) = z`` for ``z > 0`` else ``0.01 z``, with
derivative 0.01 for ``z <= 0``; softmax acts along axis 1 (over a row's outputs) and
is allowed on the output layer only.

The small top-level functions (activations, their derivatives, losses, reductions,
the update rule) are written so that ``latexify.function`` renders them; the ones meant
to be shown are collected in ``CODE_FUNCTIONS`` (render them with
``latexify.get_latex(f, prefixes={"np"})`` to drop the ``np.`` prefix).

Example, the lecture's 2-2-1 network with every weight and bias 1::

    >>> net = Network([2, 2, 1], "sigmoid", "half_squared_error")
    >>> params = [(np.ones((2, 2)), np.ones((1, 2))), (np.ones((2, 1)), np.ones((1, 1)))]
    >>> [(Z, A)] = forward(net, params, np.array([[1.0, 0.0]]))[-1:]
    >>> round(float(Z[0, 0]), 6), round(float(A[0, 0]), 6)    # z = 1 + 2σ(2), ŷ = σ(z)
    (2.761594, 0.940565)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from symbackprop.errors import SpecError, did_you_mean

__all__ = [
    "ACTIVATIONS",
    "CODE_FUNCTIONS",
    "LOSSES",
    "REDUCTIONS",
    "Network",
    "TrainResult",
    "forward",
    "gradients",
    "init_params",
    "loss_value",
    "output_delta",
    "per_example_loss",
    "train",
]

LEAKY_SLOPE = 0.01


# --------------------------------------------------------------------------------------
# Activations: forward g(z) and derivative g'(z), elementwise on arrays.
# --------------------------------------------------------------------------------------

def identity(z):
    """g(z) = z."""
    return z


def identity_derivative(z):
    """g'(z) = 1."""
    return np.ones_like(z)


def softplus(z):
    """softplus(z) = log(1 + e^z), computed as logaddexp(0, z): no overflow for large z."""
    return np.logaddexp(0.0, z)


def softplus_derivative(z):
    """softplus'(z) = σ(z)."""
    return sigmoid(z)


def sigmoid(z):
    """σ(z) = 1 / (1 + e^{-z}) = exp(−softplus(−z)): never overflows, keeps tiny values."""
    return np.exp(-softplus(-z))


def sigmoid_derivative(z):
    """σ'(z) = σ(z)(1 − σ(z)) = σ(z)σ(−z) (the second form avoids 1 − σ cancelling)."""
    return sigmoid(z) * sigmoid(-z)


def tanh(z):
    """tanh(z)."""
    return np.tanh(z)


def tanh_derivative(z):
    """tanh'(z) = 1 − tanh(z)²."""
    return 1.0 - np.tanh(z) ** 2


def relu(z):
    """relu(z) = max(z, 0)."""
    return np.maximum(z, 0.0)


def relu_derivative(z):
    """relu'(z) = 1 if z > 0 else 0 (convention: relu'(0) = 0)."""
    return np.where(z > 0, 1.0, 0.0)


def leaky_relu(z):
    """leaky_relu(z) = z if z > 0 else 0.01 z."""
    return np.where(z > 0, z, 0.01 * z)


def leaky_relu_derivative(z):
    """leaky_relu'(z) = 1 if z > 0 else 0.01 (so 0.01 at z = 0)."""
    return np.where(z > 0, 1.0, 0.01)


def elu(z):
    """elu(z) = z if z > 0 else e^z − 1 (α = 1); expm1 keeps tiny negative z exact."""
    return np.where(z > 0, z, np.expm1(np.minimum(z, 0.0)))


def elu_derivative(z):
    """elu'(z) = 1 if z > 0 else e^z (so 1 at z = 0)."""
    return np.where(z > 0, 1.0, np.exp(np.minimum(z, 0.0)))


def silu(z):
    """silu(z) = z σ(z) (swish)."""
    return z * sigmoid(z)


def silu_derivative(z):
    """silu'(z) = σ(z) + z σ(z)(1 − σ(z)) = σ(z)(1 + z(1 − σ(z)))."""
    s = sigmoid(z)
    return s * (1.0 + z * (1.0 - s))


def softmax(z):
    """softmax(z)_k = e^{z_k} / Σ_j e^{z_j} along axis 1, shifted by max(z) so nothing overflows."""
    e = np.exp(z - np.max(z, axis=1, keepdims=True))
    return e / np.sum(e, axis=1, keepdims=True)


def log_softmax(z):
    """log softmax(z)_k = z_k − log Σ_j e^{z_j} along axis 1 (stable log-sum-exp)."""
    m = np.max(z, axis=1, keepdims=True)
    return z - m - np.log(np.sum(np.exp(z - m), axis=1, keepdims=True))


def softmax_backward(z, upstream):
    """dZ from dA through softmax (a Jacobian-vector product, per row):
    dZ_k = Σ_j dA_j ∂a_j/∂z_k = a_k (dA_k − Σ_j dA_j a_j), since ∂a_j/∂z_k = a_j(δ_jk − a_k)."""
    a = softmax(z)
    return a * (upstream - np.sum(upstream * a, axis=1, keepdims=True))


@dataclass(frozen=True)
class Activation:
    """One entry of the activation table: ``forward(z)`` and ``derivative(z)``.

    ``derivative`` is ``None`` for softmax, whose Jacobian is not diagonal; its
    backward step is ``softmax_backward`` instead of ``dA ⊙ g'(Z)``.
    """

    name: str
    forward: Callable
    derivative: Optional[Callable]
    output_only: bool = False


ACTIVATIONS = {
    "identity": Activation("identity", identity, identity_derivative),
    "sigmoid": Activation("sigmoid", sigmoid, sigmoid_derivative),
    "tanh": Activation("tanh", tanh, tanh_derivative),
    "relu": Activation("relu", relu, relu_derivative),
    "leaky_relu": Activation("leaky_relu", leaky_relu, leaky_relu_derivative),
    "softplus": Activation("softplus", softplus, softplus_derivative),
    "softmax": Activation("softmax", softmax, None, output_only=True),
    "elu": Activation("elu", elu, elu_derivative),
    "silu": Activation("silu", silu, silu_derivative),
}


def activation_backward(name: str, z, upstream):
    """dZ = dA ⊙ g'(Z) for an elementwise activation, the softmax product otherwise."""
    entry = ACTIVATIONS[name]
    if entry.derivative is None:
        return softmax_backward(z, upstream)
    return upstream * entry.derivative(z)


# --------------------------------------------------------------------------------------
# Losses: per example (one value per row, summed over the outputs k), and dL_i/dŷ.
# --------------------------------------------------------------------------------------

def squared_error(y, y_hat):
    """L_i = Σ_k (y_k − ŷ_k)²."""
    return np.sum((y - y_hat) ** 2, axis=1)


def squared_error_derivative(y, y_hat):
    """∂L_i/∂ŷ_k = 2(ŷ_k − y_k)."""
    return 2.0 * (y_hat - y)


def half_squared_error(y, y_hat):
    """L_i = ½ Σ_k (y_k − ŷ_k)² (the lecture notes' loss)."""
    return 0.5 * np.sum((y - y_hat) ** 2, axis=1)


def half_squared_error_derivative(y, y_hat):
    """∂L_i/∂ŷ_k = ŷ_k − y_k."""
    return y_hat - y


def mse(y, y_hat):
    """L_i = (1/K) Σ_k (y_k − ŷ_k)², K = number of outputs."""
    return np.mean((y - y_hat) ** 2, axis=1)


def mse_derivative(y, y_hat):
    """∂L_i/∂ŷ_k = (2/K)(ŷ_k − y_k)."""
    return 2.0 * (y_hat - y) / y.shape[1]


def bce(y, y_hat):
    """L_i = −Σ_k [y_k log ŷ_k + (1 − y_k) log(1 − ŷ_k)] (binary cross-entropy)."""
    return -np.sum(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat), axis=1)


def bce_derivative(y, y_hat):
    """∂L_i/∂ŷ_k = −y/ŷ + (1 − y)/(1 − ŷ) = (ŷ − y) / (ŷ(1 − ŷ)) (the slides' step)."""
    return (y_hat - y) / (y_hat * (1 - y_hat))


def cross_entropy(y, y_hat):
    """L_i = −Σ_k y_k log ŷ_k."""
    return -np.sum(y * np.log(y_hat), axis=1)


def cross_entropy_derivative(y, y_hat):
    """∂L_i/∂ŷ_k = −y_k / ŷ_k."""
    return -y / y_hat


def bce_from_logits(y, z):
    """BCE with ŷ = σ(z): L_i = Σ_k [softplus(z_k) − y_k z_k] (exact, no log of 0)."""
    return np.sum(softplus(z) - y * z, axis=1)


def bce_from_logits_delta(y, z):
    """∂L_i/∂z_k = σ(z_k) − y_k = ŷ_k − y_k (the slides' boxed result)."""
    return sigmoid(z) - y


def cross_entropy_from_logits(y, z):
    """Cross-entropy with ŷ = softmax(z): L_i = −Σ_k y_k log_softmax(z)_k."""
    return -np.sum(y * log_softmax(z), axis=1)


def cross_entropy_from_logits_delta(y, z):
    """∂L_i/∂z_k = ŷ_k Σ_j y_j − y_k (= ŷ_k − y_k when the targets sum to 1)."""
    return softmax(z) * np.sum(y, axis=1, keepdims=True) - y


def cross_entropy_sigmoid_from_logits(y, z):
    """Cross-entropy with ŷ = σ(z): L_i = −Σ_k y_k log σ(z_k) = Σ_k y_k softplus(−z_k)."""
    return np.sum(y * softplus(-z), axis=1)


def cross_entropy_sigmoid_from_logits_delta(y, z):
    """∂L_i/∂z_k = −y_k σ(−z_k) = −y_k (1 − ŷ_k)."""
    return -y * sigmoid(-z)


def huber(y, y_hat):
    """L_i = Σ_k h(y_k − ŷ_k) with h(r) = ½ r² if |r| ≤ 1 else |r| − ½ (Huber, δ = 1)."""
    r = np.abs(y - y_hat)
    return np.sum(np.where(r <= 1.0, 0.5 * r * r, r - 0.5), axis=1)


def huber_derivative(y, y_hat):
    """∂L_i/∂ŷ_k = ŷ_k − y_k clipped to [−1, 1]."""
    return np.clip(y_hat - y, -1.0, 1.0)


@dataclass(frozen=True)
class Loss:
    """One entry of the loss table: per-example ``value(y, ŷ)``, ``derivative(y, ŷ)`` = ∂L_i/∂ŷ,
    and the open interval ``(low, high)`` of outputs where the formula is defined."""

    name: str
    value: Callable
    derivative: Callable
    low: float = -math.inf
    high: float = math.inf


LOSSES = {
    "squared_error": Loss("squared_error", squared_error, squared_error_derivative),
    "half_squared_error": Loss("half_squared_error", half_squared_error, half_squared_error_derivative),
    "mse": Loss("mse", mse, mse_derivative),
    "bce": Loss("bce", bce, bce_derivative, 0.0, 1.0),
    "cross_entropy": Loss("cross_entropy", cross_entropy, cross_entropy_derivative, 0.0, math.inf),
    "huber": Loss("huber", huber, huber_derivative),
}

# (loss, output activation) -> (per-example loss from Z_L, dL_i/dZ_L from Z_L).
FROM_LOGITS = {
    ("bce", "sigmoid"): (bce_from_logits, bce_from_logits_delta),
    ("cross_entropy", "softmax"): (cross_entropy_from_logits, cross_entropy_from_logits_delta),
    ("cross_entropy", "sigmoid"): (cross_entropy_sigmoid_from_logits, cross_entropy_sigmoid_from_logits_delta),
}


def reduce_mean(losses):
    """L = (1/n) Σ_i L_i."""
    return np.sum(losses) / len(losses)


def reduce_sum(losses):
    """L = Σ_i L_i."""
    return np.sum(losses)


REDUCTIONS = {"mean": reduce_mean, "sum": reduce_sum}


def gradient_descent_update(w, grad, learning_rate):
    """w ← w − α ∂L/∂w."""
    return w - learning_rate * grad


CODE_FUNCTIONS = {
    f.__name__: f
    for f in (
        identity, sigmoid, sigmoid_derivative, tanh, tanh_derivative, relu, relu_derivative,
        leaky_relu, leaky_relu_derivative, softplus, softplus_derivative, elu, elu_derivative, silu, silu_derivative, softmax, log_softmax,
        softmax_backward,
        squared_error, half_squared_error, mse, bce, cross_entropy, huber, huber_derivative,
        bce_derivative, bce_from_logits, bce_from_logits_delta,
        cross_entropy_from_logits, cross_entropy_from_logits_delta,
        reduce_mean, reduce_sum, gradient_descent_update,
    )
}


# --------------------------------------------------------------------------------------
# The network and its checks.
# --------------------------------------------------------------------------------------

def _check_name(kind: str, name, allowed, where: str) -> str:
    if not isinstance(name, str) or name not in allowed:
        raise SpecError(
            f"unknown {kind} {name!r} in {where}{did_you_mean(name, allowed)}"
            f" (allowed: {', '.join(allowed)})"
        )
    return name


@dataclass(frozen=True)
class Network:
    """A fully connected network: ``layers`` are the widths, input first (e.g. ``(2, 2, 1)``);
    ``activations`` one name per layer after the input (a single string means all);
    ``loss`` a per-example loss name; ``reduction`` ``"mean"`` (1/n) or ``"sum"``;
    ``shared_biases``: one bias per layer, kept as a row b_l of equal entries whose gradient is
    the sum over the layer's nodes, Σ_i Σ_rows dZ_l[:, i], put in every entry."""

    layers: tuple
    activations: tuple
    loss: str
    reduction: str = "mean"
    shared_biases: bool = False

    def __post_init__(self):
        layers = self.layers
        if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence) or len(layers) < 2:
            raise SpecError(
                f"network layers {layers!r}: need a list of at least two widths, input layer first"
            )
        widths = []
        for width in layers:
            if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 1:
                raise SpecError(f"network layers {list(layers)!r}: every width must be a positive integer, got {width!r}")
            widths.append(int(width))
        object.__setattr__(self, "layers", tuple(widths))

        activations = self.activations
        if isinstance(activations, str):
            activations = [activations] * (len(widths) - 1)
        activations = list(activations)
        if len(activations) != len(widths) - 1:
            raise SpecError(
                f"network activations {activations!r}: need one per layer after the input"
                f" ({len(widths) - 1}), or a single name for all"
            )
        for position, name in enumerate(activations):
            _check_name("activation", name, ACTIVATIONS, "network activations")
            if ACTIVATIONS[name].output_only and position != len(activations) - 1:
                raise SpecError(
                    f"activation {name!r} in network activations (layer {position + 2}) is allowed on the"
                    " output layer only"
                )
        object.__setattr__(self, "activations", tuple(activations))
        _check_name("loss", self.loss, LOSSES, "network loss")
        _check_name("reduction", self.reduction, REDUCTIONS, "network reduction")


@dataclass(frozen=True)
class TrainResult:
    """``params``: the trained ``[(W, b), ...]``; ``loss_history``: the full-data loss before
    training, then after each epoch (``epochs + 1`` floats)."""

    params: list
    loss_history: list


def _as_params(net: Network, params) -> list:
    """Validate and convert ``[(W, b), ...]`` to float arrays: W (M, N), b (1, N)."""
    try:
        params = list(params)
    except TypeError:
        raise SpecError("parameters: need a list of (W, b) pairs, one per layer after the input") from None
    if len(params) != len(net.layers) - 1:
        raise SpecError(
            f"parameters: got {len(params)} (W, b) pair{'' if len(params) == 1 else 's'} for {len(net.layers) - 1} "
            f"layer{'' if len(net.layers) == 2 else 's'} after the input (one pair per layer)"
        )
    out = []
    for l, pair in enumerate(params, start=1):
        try:
            W, b = pair
            W = np.asarray(W, dtype=float)
            b = np.asarray(b, dtype=float)
        except (TypeError, ValueError):
            raise SpecError(f"parameters of layer {l}: need a pair (W, b) of numeric arrays") from None
        M, N = net.layers[l - 1], net.layers[l]
        if b.ndim == 1:
            b = b.reshape(1, -1)
        if W.shape != (M, N):
            raise SpecError(f"parameters of layer {l}: W has shape {W.shape}, need ({M}, {N}) = (inputs, neurons)")
        if b.shape != (1, N):
            raise SpecError(f"parameters of layer {l}: b has shape {b.shape}, need (1, {N})")
        if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
            raise SpecError(f"parameters of layer {l}: every weight and bias must be a finite number")
        out.append((W, b))
    return out


def _as_data(net: Network, X, Y=None):
    """X as (n, M) floats (a 1-D X is one example); Y as (n, K) (a 1-D Y is reshaped to n rows)."""
    try:
        X = np.asarray(X, dtype=float)
    except (TypeError, ValueError):
        raise SpecError("data x: need a table of numbers, one row per example") from None
    if X.ndim == 1:
        X = X.reshape(1, -1)
    M, K = net.layers[0], net.layers[-1]
    if X.ndim != 2 or X.shape[1] != M or X.shape[0] < 1:
        raise SpecError(f"data x has shape {X.shape}, need (n, {M}): one row of {M} input{'' if M == 1 else 's'} per example")
    if not np.all(np.isfinite(X)):
        raise SpecError("data x: every input must be a finite number")
    if Y is None:
        return X, None
    n = X.shape[0]
    try:
        Y = np.asarray(Y, dtype=float)
    except (TypeError, ValueError):
        raise SpecError("data y: need a table of numbers, one row per example") from None
    if Y.ndim == 1 and Y.size == n * K:
        Y = Y.reshape(n, K)
    if Y.shape != (n, K):
        raise SpecError(f"data y has shape {Y.shape}, need ({n}, {K}): one row of {K} target{'' if K == 1 else 's'} per example")
    if not np.all(np.isfinite(Y)):
        raise SpecError("data y: every target must be a finite number")
    return X, Y


# --------------------------------------------------------------------------------------
# Forward, loss, backward.
# --------------------------------------------------------------------------------------

def _forward(net: Network, params: list, X):
    cache = []
    A = X
    for (W, b), name in zip(params, net.activations):
        Z = A @ W + b
        A = ACTIVATIONS[name].forward(Z)
        cache.append((Z, A))
    return cache


def forward(net: Network, params, X) -> list:
    """The forward pass: ``[(Z_1, A_1), ..., (Z_L, A_L)]``, one pair per layer after the input,
    with ``Z_l = A_{l-1} W_l + b_l``, ``A_l = g_l(Z_l)``, ``A_0 = X``; ``A_L`` is ŷ, shape (n, K)."""
    params = _as_params(net, params)
    X, _ = _as_data(net, X)
    return _forward(net, params, X)


_STABLE_PAIRS = ", ".join(f"{loss} with a {activation} output" for loss, activation in FROM_LOGITS)


def _check_domain(net: Network, y_hat) -> None:
    loss = LOSSES[net.loss]
    inside = np.all((y_hat > loss.low) & (y_hat < loss.high))
    if not inside:
        bad = y_hat[~((y_hat > loss.low) & (y_hat < loss.high))].flat[0]
        raise SpecError(
            f"loss {net.loss!r} is defined for outputs in ({loss.low:g}, {loss.high:g}), but the output"
            f" activation {net.activations[-1]!r} gave {float(bad)!r} (out of range or saturated); the pairs"
            f" computed from the logits, exact even when saturated, are {_STABLE_PAIRS}"
        )


def per_example_loss(net: Network, Z_L, A_L, Y):
    """L_i for each example (shape (n,)), from the output layer's ``Z_L`` and ``A_L = ŷ``."""
    pair = FROM_LOGITS.get((net.loss, net.activations[-1]))
    if pair is not None:
        return pair[0](Y, Z_L)
    _check_domain(net, A_L)
    return LOSSES[net.loss].value(Y, A_L)


def output_delta(net: Network, Z_L, A_L, Y):
    """dZ_L = ∂L_i/∂Z_L per example (shape (n, K)), before the batch reduction.

    From the logits for the stable pairs (BCE + sigmoid gives ŷ − y); otherwise
    ∂L_i/∂ŷ ⊙ g'(Z_L), or the softmax Jacobian-vector product."""
    pair = FROM_LOGITS.get((net.loss, net.activations[-1]))
    if pair is not None:
        return pair[1](Y, Z_L)
    _check_domain(net, A_L)
    upstream = LOSSES[net.loss].derivative(Y, A_L)
    return activation_backward(net.activations[-1], Z_L, upstream)


def _loss(net: Network, params: list, X, Y) -> float:
    Z_L, A_L = _forward(net, params, X)[-1]
    return float(REDUCTIONS[net.reduction](per_example_loss(net, Z_L, A_L, Y)))


def loss_value(net: Network, params, X, Y) -> float:
    """The reduced loss L = (1/n) Σ_i L_i (``"mean"``) or Σ_i L_i (``"sum"``)."""
    params = _as_params(net, params)
    X, Y = _as_data(net, X, Y)
    return _loss(net, params, X, Y)


def _gradients(net: Network, params: list, X, Y) -> list:
    cache = _forward(net, params, X)
    Z_L, A_L = cache[-1]
    dZ = output_delta(net, Z_L, A_L, Y)
    if net.reduction == "mean":
        dZ = dZ / X.shape[0]
    grads = [None] * len(params)
    for l in range(len(params) - 1, -1, -1):
        A_prev = X if l == 0 else cache[l - 1][1]
        W = params[l][0]
        dW = A_prev.T @ dZ                         # dW_l = A_{l-1}ᵀ dZ_l
        db = np.sum(dZ, axis=0, keepdims=True)     # db_l = Σ_rows dZ_l
        if net.shared_biases:                      # one b per layer: the sum over its uses, in every entry
            db = np.full_like(db, np.sum(db))
        grads[l] = (dW, db)
        if l > 0:
            dA_prev = dZ @ W.T                     # dA_{l-1} = dZ_l W_lᵀ
            dZ = activation_backward(net.activations[l - 1], cache[l - 1][0], dA_prev)
    return grads


def gradients(net: Network, params, X, Y) -> list:
    """``[(dW_1, db_1), ..., (dW_L, db_L)]``: the gradient of the reduced loss, same shapes as params."""
    params = _as_params(net, params)
    X, Y = _as_data(net, X, Y)
    return _gradients(net, params, X, Y)


# --------------------------------------------------------------------------------------
# Initialisation and training.
# --------------------------------------------------------------------------------------

def init_params(layers, seed=0) -> list:
    """Deterministic random parameters: W_l ~ Normal(0, 1) / sqrt(M) with shape (M, N), b_l = 0 (1, N).

    Draws from ``numpy.random.default_rng(seed)`` layer by layer, so the same layers
    and seed give the same numbers on every machine."""
    widths = list(layers)
    if len(widths) < 2 or any(isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1 for w in widths):
        raise SpecError(f"network layers {widths!r}: need at least two positive integer widths")
    rng = np.random.default_rng(seed)
    params = []
    for M, N in zip(widths[:-1], widths[1:]):
        W = rng.standard_normal((int(M), int(N))) / math.sqrt(M)
        b = np.zeros((1, int(N)))
        params.append((W, b))
    return params


def _check_training_options(learning_rate, epochs, batch_size, n):
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float, np.floating, np.integer)) \
            or not math.isfinite(learning_rate) or learning_rate <= 0:
        raise SpecError(f"training learning_rate {learning_rate!r}: need a positive finite number")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise SpecError(f"training epochs {epochs!r}: need a whole number >= 0")
    if batch_size is None:
        return n
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise SpecError(f"training batch_size {batch_size!r}: need a whole number >= 1 (or none for the full batch)")
    return min(int(batch_size), n)


def train(net: Network, params, X, Y, learning_rate, epochs, batch_size=None, seed=0,
          on_epoch: Optional[Callable[[int, float], None]] = None) -> TrainResult:
    """Gradient descent: for each epoch, shuffle the examples with ``default_rng(seed)`` (one
    permutation per epoch, only when mini-batching), split them into batches of ``batch_size``
    (the last one may be smaller; full batch when ``None``), and for each batch apply
    ``W ← W − α dW``, ``b ← b − α db`` with the gradient of the loss reduced over that batch.

    ``loss_history`` holds the full-data loss before training and after every epoch.
    ``on_epoch(epoch, loss)``, when given, is called after every epoch with the epoch (1 ..
    ``epochs``) and that full-data loss (the trainer prints nothing itself: the ``train`` command
    drives its progress bar from this hook).
    The input ``params`` are not modified. Raises ``SpecError`` if the loss stops being finite
    (the learning rate is too large)."""
    params = _as_params(net, params)
    X, Y = _as_data(net, X, Y)
    n = X.shape[0]
    batch = _check_training_options(learning_rate, epochs, batch_size, n)
    learning_rate = float(learning_rate)

    rng = np.random.default_rng(seed)
    params = [(W.copy(), b.copy()) for W, b in params]
    history = [_loss(net, params, X, Y)]
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(1, epochs + 1):
            order = rng.permutation(n) if batch < n else None
            for start in range(0, n, batch):
                if order is None:
                    Xb, Yb = X, Y
                else:
                    rows = order[start:start + batch]
                    Xb, Yb = X[rows], Y[rows]
                grads = _gradients(net, params, Xb, Yb)
                params = [
                    (gradient_descent_update(W, dW, learning_rate), gradient_descent_update(b, db, learning_rate))
                    for (W, b), (dW, db) in zip(params, grads)
                ]
            loss = _loss(net, params, X, Y)
            if not math.isfinite(loss) or not all(np.all(np.isfinite(W)) and np.all(np.isfinite(b)) for W, b in params):
                raise SpecError(
                    f"training diverged at epoch {epoch} (loss {loss!r}); lower training learning_rate"
                    f" (now {learning_rate:g})"
                )
            history.append(loss)
            if on_epoch is not None:
                on_epoch(epoch, loss)
    return TrainResult(params=params, loss_history=history)
