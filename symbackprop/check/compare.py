r"""Proof in numbers: the compiled chain-rule gradients against independent oracles.

Three computations that share no code:

1. the lambdified chain-rule gradients (``numpy_backend``),
2. the hand-written matrix-form trainer (``trainer``: dW_l = A_{l-1}^T dZ_l, ...),
3. central finite differences (J(θ + h) − J(θ − h)) / 2h of a loss evaluated
   independently of the derivation (the trainer's loss in network mode; the
   lambdified, fully substituted output expression in graph mode).

``check`` compares them at the spec's parameters and at random ones, on the spec's
data (or random data when the spec has none), and reports the largest relative
errors. Float64 methods agree to about 1e-14 relative, so 1e-9 is the tolerance
against the trainer; finite differences get their own, looser one.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..spec import names
from ..check import trainer
from ..derivation.chain_rule import Derivation
from ..compile.numpy_backend import compile_gradients, spec_data, spec_parameters


@dataclass(frozen=True)
class Comparison:
    """One oracle against our gradients: the worst relative error and where it occurred."""

    oracle: str
    trial: str
    max_relative_error: float
    worst_parameter: str
    tolerance: float
    compared: int = 1  # how many gradients were compared; 0 compares nothing and is never "ok"
    message: str = ""  # why it failed, when a value was not a finite real number
    note: str = ""     # what the reader should know although it agrees (e.g. a kink at the point)
    zeros: int = 0     # how many of the compared gradients are exactly 0 on both sides
    #: finite differences: the largest relative error beyond each difference's own error estimate
    #: (the verdict's number; ``max_relative_error`` is the plain one); None where no allowance applies
    beyond_allowance: float | None = None

    @property
    def verdict_error(self) -> float:
        return self.max_relative_error if self.beyond_allowance is None else self.beyond_allowance

    @property
    def ok(self) -> bool:
        return (self.compared > 0 and not self.message and bool(np.isfinite(self.verdict_error))
                and self.verdict_error <= self.tolerance)

    def summary(self) -> str:
        """What was compared and how closely, for people: never "0.00e+00 at -" for an exact match."""
        n = f"{self.compared} gradient{'s' if self.compared != 1 else ''}"
        zeros = ""
        if self.zeros:
            zeros = (f"; all {self.zeros} are 0 on both sides, so this point tests only that"
                     if self.zeros == self.compared else f"; {self.zeros} of them 0 on both sides")
        if self.max_relative_error == 0:
            what = (f"{'both' if self.compared == 2 else 'all'} {n} are equal exactly" if self.compared > 1
                    else f"1 gradient ({self.worst_parameter}): the two values are equal exactly")
            return f"{what}{zeros} (tolerance {self.tolerance:.0e})"
        allowance = ""
        if self.beyond_allowance is not None and self.max_relative_error > self.tolerance:
            allowance = f", after each difference's own error estimate: {self.beyond_allowance:.2e}"
        return (f"max relative error {self.max_relative_error:.2e} (at {self.worst_parameter}; {n}{zeros}; "
                f"tolerance {self.tolerance:.0e}{allowance})")


@dataclass(frozen=True)
class CheckReport:
    comparisons: tuple = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """True only when something was compared and every comparison agrees."""
        return bool(self.comparisons) and all(c.ok for c in self.comparisons)

    @property
    def compared(self) -> int:
        return sum(c.compared for c in self.comparisons)

    def lines(self) -> list:
        out = []
        for c in self.comparisons:
            mark = "ok  " if c.ok else "FAIL"
            if c.compared == 0:
                out.append(f"FAIL {c.trial:<32} vs {c.oracle:<24} nothing was compared")
                continue
            if c.message:
                out.append(f"FAIL {c.trial:<32} vs {c.oracle:<24} {c.message}")
                continue
            out.append(f"{mark} {c.trial:<32} vs {c.oracle:<24} {c.summary()}")
            if c.note:
                out.append(f"     note: {c.note}")
        if not self.comparisons:
            out.append("FAIL nothing was compared: the spec has no parameters and no inputs to differentiate")
        return out


def _real(value):
    """``float(value)``, or None when it is complex, infinite or NaN (never a verdict of "agree")."""
    try:
        v = complex(np.asarray(value).reshape(-1)[0]) if np.ndim(value) else complex(value)
    except (TypeError, ValueError, IndexError):
        return None
    if v.imag != 0 or not np.isfinite(v.real):
        return None
    return float(v.real)


def non_finite(ours: dict, theirs: dict) -> str:
    """A message naming the first gradient that is not a finite real number, or ``""``."""
    for side, values in (("our", ours), ("the oracle's", theirs)):
        for name, value in values.items():
            if _real(value) is None:
                return (f"{side} gradient for {name} is {value}, not a finite real number "
                        "(the point is outside the functions' domain, or overflows)")
    return ""


def error_stats(ours: dict, theirs: dict, floor: float = 1e-8, slack: dict | None = None) -> dict:
    """The comparison of two {name: value} dicts: ``error``, the largest relative error
    |ours − theirs| / max(|theirs|, |ours|, floor), at ``at`` (the first name when every error is 0);
    ``beyond``/``beyond_at``, the same after subtracting each name's ``slack`` (an absolute error
    the oracle itself may have: finite differences' truncation and rounding), the verdict's number;
    ``zeros``, how many names are exactly 0 on both sides. A non-finite or complex value gives an
    infinite error at its name."""
    worst, where, beyond, beyond_at, zeros = 0.0, None, 0.0, None, 0
    for name, value in ours.items():
        a, b = _real(value), _real(theirs[name])
        if a is None or b is None:
            return {"error": float("inf"), "at": name, "beyond": float("inf"), "beyond_at": name, "zeros": zeros}
        zeros += a == 0 and b == 0
        scale = max(abs(a), abs(b), floor)
        raw = abs(a - b) / scale
        net = max(abs(a - b) - (slack or {}).get(name, 0.0), 0.0) / scale
        if where is None or raw > worst:
            worst, where = raw, name
        if beyond_at is None or net > beyond:
            beyond, beyond_at = net, name
    return {"error": worst, "at": where or "-", "beyond": beyond, "beyond_at": beyond_at or "-", "zeros": zeros}


def relative_errors(ours: dict, theirs: dict, floor: float = 1e-8, slack: dict | None = None) -> tuple:
    """(the verdict's error, its name) of :func:`error_stats`: after each name's ``slack``."""
    stats = error_stats(ours, theirs, floor, slack)
    return stats["beyond"], stats["beyond_at"]


#: the finite-difference step's scale: h = eps^(1/3) * max(1, |θ|) balances truncation (∝ h²) and rounding (∝ eps/h)
FD_STEP = float(np.finfo(float).eps) ** (1 / 3)


def network_from_graph(d: Derivation) -> trainer.Network:
    g = d.graph
    return trainer.Network(list(g.layers), list(g.activations), g.loss, d.reduction)


def matrices_from_names(layers, params: dict) -> list:
    """{w^{k}_{i,j}: v, b^{k}_{i}: v} -> [(W_k, b_k)] in the slides' shapes: W_k (M, N) with
    W_k[j-1, i-1] = w^{k}_{i,j}, and b_k (1, N); a layer's shared bias b^{k} fills its row b_k."""
    out = []
    for k in range(1, len(layers)):
        m, n = layers[k - 1], layers[k]
        W = np.empty((m, n))
        b = np.empty((1, n))
        for i in range(1, n + 1):
            for j in range(1, m + 1):
                W[j - 1, i - 1] = params[names.weight(k, i, j)]
            b[0, i - 1] = params[names.bias(k, i)] if names.bias(k, i) in params else params[names.shared_bias(k)]
        out.append((W, b))
    return out


def to_matrices(d: Derivation, params: dict) -> list:
    """The parameters of a network derivation as the slides' matrices (see ``matrices_from_names``)."""
    return matrices_from_names(d.graph.layers, params)


def from_matrices(d: Derivation, mats: list) -> dict:
    """The inverse of ``to_matrices``: parameter values by name. A layer's shared bias b^{k} is the
    (equal) entries of its row b_k, so it takes the first."""
    layers, shared = d.graph.layers, d.graph.shared_biases
    out = {}
    for k in range(1, len(layers)):
        W, b = mats[k - 1]
        W = np.asarray(W).reshape(layers[k - 1], layers[k])
        b = np.asarray(b).reshape(-1)
        for i in range(1, layers[k] + 1):
            for j in range(1, layers[k - 1] + 1):
                out[names.weight(k, i, j)] = float(W[j - 1, i - 1])
            out[names.layer_bias(k, i, shared)] = float(b[0] if shared else b[i - 1])
    return out


def trainer_gradients(d: Derivation, params: dict, X, Y) -> dict:
    net = network_from_graph(d)
    mats = trainer.gradients(net, to_matrices(d, params), X, Y)
    grads = from_matrices(d, mats)
    if d.graph.shared_biases:  # the trainer has a bias per node; a shared b^{k} gets the sum over its uses
        for k, (_, db) in enumerate(mats, start=1):
            grads[names.shared_bias(k)] = float(np.sum(db))
    return grads


def _independent_loss(d: Derivation):
    """A loss function J(params) that does not read the derivation's gradients."""
    if d.graph.mode == "network":
        net = network_from_graph(d)
        return lambda params, X, Y: trainer.loss_value(net, to_matrices(d, params), X, Y)
    outputs = _independent_outputs(d)
    reduction = d.reduction

    def loss(params, data, _Y=None):
        vals = outputs(params, data)
        return float(vals.mean() if reduction == "mean" else vals.sum())

    return loss


def _independent_outputs(d: Derivation):
    """Graph mode: the output f at each example, from the fully substituted expression (no gradients read)."""
    import sympy

    g = d.graph
    full = g.substitute(g.node(g.output).symbol)
    leaves = [n for n in g.nodes if n.is_leaf]
    f = sympy.lambdify([n.symbol for n in leaves], full, modules="numpy")

    def outputs(params, data):
        n = max([len(np.atleast_1d(v)) for v in data.values()] + [1])
        args = [params[leaf.name] if leaf.name in params else np.atleast_1d(np.asarray(data[leaf.name], dtype=float))
                for leaf in leaves]
        return np.broadcast_to(np.asarray(f(*args), dtype=float), (n,))

    return outputs


def input_gradient_comparison(d: Derivation, compiled, params: dict, data: dict, label: str,
                              *, step: float = FD_STEP, rtol: float = 1e-4) -> Comparison:
    """Graph mode: ∂f/∂x of every input x at every example against central differences of f."""
    outputs = _independent_outputs(d)
    ours_all = compiled.node_gradients(params, data, None)
    ours, fd = {}, {}
    data = {k: np.atleast_1d(np.asarray(v, dtype=float)) for k, v in data.items()}
    for leaf in d.graph.inputs:
        col = data[leaf.name]
        for e in range(len(col)):
            h = step * max(1.0, abs(col[e]))
            up, down = dict(data), dict(data)
            up[leaf.name] = col.copy()
            down[leaf.name] = col.copy()
            up[leaf.name][e] += h
            down[leaf.name][e] -= h
            key = leaf.name if len(col) == 1 else f"{leaf.name} (example {e + 1})"
            fd[key] = (outputs(params, up)[e] - outputs(params, down)[e]) / (2 * h)
            ours[key] = np.atleast_1d(ours_all[leaf.name])[e]
    stats = error_stats(ours, fd, floor=1e-4)
    return Comparison("finite differences (inputs)", label, stats["error"], stats["at"], rtol, compared=len(ours),
                      message=non_finite(ours, fd), zeros=stats["zeros"])


def finite_difference_gradients(loss, params: dict, X, Y, *, step: float = FD_STEP, names_=None,
                                 errors: dict | None = None, kinks: dict | None = None) -> dict:
    """Central differences (J(θ+h) − J(θ−h)) / 2h with h = step · max(1, |θ|).

    With ``errors`` (a dict), also estimates each difference's own error: the truncation error from
    the same difference at 2h (|D(h) − D(2h)| ≈ 3 · h² |J‴|/6, the curvature term) plus the rounding
    error 4 · eps · |J| / h; ``check`` allows that much on top of its relative tolerance.
    With ``kinks`` (a dict), records (lower, upper) one-sided slope for each parameter whose slopes
    (J(θ+h) − J(θ))/h and (J(θ) − J(θ−h))/h differ by more than curvature and rounding explain:
    a kink between θ − h and θ + h (a ReLU unit at z = 0).
    """
    out = {}
    eps = float(np.finfo(float).eps)
    J0 = float(loss(params, X, Y)) if errors is not None or kinks is not None else 0.0

    def moved(name, delta):
        shifted = dict(params)
        shifted[name] += delta
        return float(loss(shifted, X, Y))

    for name in names_ or params:
        h = step * max(1.0, abs(params[name]))
        up, down = moved(name, h), moved(name, -h)
        out[name] = (up - down) / (2 * h)
        if errors is not None:
            errors[name] = abs(out[name] - (moved(name, 2 * h) - moved(name, -2 * h)) / (4 * h)) + 4 * eps * abs(J0) / h
        if kinks is not None:
            right, left = (up - J0) / h, (J0 - down) / h
            if abs(right - left) > 1e-3 * max(1.0, abs(right), abs(left)) + 8 * eps * abs(J0) / h:
                kinks[name] = (min(left, right), max(left, right))
    return out


def _kink_note(ours: dict, fd: dict, kinks: dict, rtol: float) -> str:
    """At a kink (a ReLU unit at z = 0) the central difference averages two slopes, so it is no
    oracle there: a gradient between the one-sided slopes (ReLU′(0) = 0 picks one of them) is taken
    as agreeing (``fd`` is updated) and named in the note; one outside them still fails."""
    named = []
    for name, (lo, hi) in kinks.items():
        v = _real(ours.get(name))
        if v is None:
            continue
        tol = rtol * max(1.0, abs(lo), abs(hi))
        if lo - tol <= v <= hi + tol:
            fd[name] = v
            named.append(name)
    if not named:
        return ""
    shown = ", ".join(named[:4]) + (", ..." if len(named) > 4 else "")
    return (f"{shown}: not differentiable at this point (a unit at its kink, z = 0; ReLU′(0) = 0 by convention); "
            "the gradient lies between the one-sided slopes, so finite differences cannot decide more")


def random_parameters(d: Derivation, rng) -> dict:
    return {name: float(rng.normal(0.0, 1.0)) for name in d.parameters}


def random_data(d: Derivation, rng, n: int = 5):
    g = d.graph
    if g.mode == "network":
        X = rng.normal(0.0, 1.0, size=(n, g.layers[0]))
        k = g.layers[-1]
        if g.loss == "cross_entropy":
            Y = np.eye(k)[rng.integers(0, k, size=n)]
        elif g.loss == "bce":
            Y = rng.integers(0, 2, size=(n, k)).astype(float)
        else:
            Y = rng.normal(0.0, 1.0, size=(n, k))
        return X, Y
    return {leaf.name: rng.uniform(0.5, 1.5, size=n) for leaf in g.inputs}, None


def check(d: Derivation, *, trials: int = 3, seed: int = 0, rtol: float = 1e-9, fd_rtol: float = 1e-4,
          fd_sample: int | None = 200, compiled=None) -> CheckReport:
    """Compare our gradients with the trainer's (network mode) and with finite differences.

    ``fd_sample`` limits finite differences to a random sample of that many parameters
    (all when there are fewer), which keeps big networks fast.
    """
    rng = np.random.default_rng(seed)
    compiled = compiled or compile_gradients(d)
    indep = _independent_loss(d)
    cases = []
    has_data = bool(d.spec.x) if d.graph.mode == "network" else bool(d.spec.data)
    base_params = None
    try:
        base_params = spec_parameters(d)
    except Exception:
        base_params = None
    if has_data:
        X, Y = spec_data(d)
        if base_params is not None and (d.graph.mode == "network" or set(base_params) >= set(d.parameters)):
            cases.append(("spec parameters", base_params, X, Y))
        for t in range(trials if d.parameters else 0):  # without parameters every trial would be the same
            cases.append((f"random parameters #{t + 1}", random_parameters(d, rng), X, Y))
    for t in range(trials if not has_data else 1):
        X, Y = random_data(d, rng)
        if has_data and d.graph.mode == "graph":
            # near the spec's own data, so that inputs stay in the equations' domain (log(1 - ŷ) needs ŷ < 1)
            X = {k: np.atleast_1d(np.asarray(v, dtype=float)) * (1 + rng.uniform(-0.01, 0.01, size=np.shape(np.atleast_1d(v))))
                 for k, v in spec_data(d)[0].items()}
        cases.append((f"random data #{t + 1}", random_parameters(d, rng), X, Y))
    comparisons = []
    from ..progress import progress

    with np.errstate(all="ignore"), progress(total=len(cases) if len(cases) > 10 else 0,
                                             desc="check", unit="trial") as bar:  # inf/NaN: failures, not warnings
        for label, params, X, Y in cases:
            bar.update()
            with np.errstate(all="ignore"):
                # the parameters' (a graph module also gives its inputs' df/dx; those are compared below)
                ours = {k: v for k, v in compiled.gradients(params, X, Y).items() if k in params}
            bad = non_finite(ours, {})
            if d.graph.mode == "network":
                with np.errstate(all="ignore"):
                    theirs = trainer_gradients(d, params, X, Y)
                stats = error_stats(ours, theirs)
                comparisons.append(Comparison("trainer backprop", label, stats["error"], stats["at"], rtol,
                                              compared=len(ours), message=bad or non_finite({}, theirs),
                                              zeros=stats["zeros"]))
            pick = list(ours)
            if fd_sample is not None and len(pick) > fd_sample:
                pick = sorted(rng.choice(pick, size=fd_sample, replace=False).tolist())
            if pick:
                slack, kinks = {}, {}
                with np.errstate(all="ignore"):
                    fd = finite_difference_gradients(indep, params, X, Y, names_=pick, errors=slack, kinks=kinks)
                note = _kink_note(ours, fd, kinks, fd_rtol)
                stats = error_stats({k: ours[k] for k in pick}, fd, floor=1e-4, slack=slack)
                comparisons.append(Comparison("finite differences", label, stats["error"], stats["at"], fd_rtol,
                                              compared=len(pick), message=bad or non_finite({}, fd), note=note,
                                              zeros=stats["zeros"], beyond_allowance=stats["beyond"]))
            if d.graph.mode == "graph" and d.graph.inputs:
                comparisons.append(input_gradient_comparison(d, compiled, params, X, label, rtol=fd_rtol))
    return CheckReport(tuple(comparisons))
