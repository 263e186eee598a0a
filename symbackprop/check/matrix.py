"""The matrix-form check: compiled matrix gradients against the independent trainer and finite
differences (``symbackprop check`` on a matrix spec). Moved here from ``compile.matrix_numpy`` so that
code generation never builds check reports: compile → check, never back."""
from __future__ import annotations

import numpy as np

from ..compile.matrix_numpy import compile_matrix_gradients, random_batch, random_matrices
from ..derivation.matrix_form import MatrixDerivation, matrix_derive


def _entry_name(md: MatrixDerivation, l: int, which: int, idx) -> str:
    """Index-notation name of entry idx (0-based) of W_l (which = 0) or b_l (which = 1)."""
    r, c = int(idx[0]), int(idx[1])
    return md.index_name(f"W_{l}", r + 1, c + 1) if which == 0 else md.index_name(f"b_{l}", 1, c + 1)


def _matrix_relative_errors(md, ours, theirs, floor):
    """(largest relative error, its entry's name, how many entries are 0 on both sides); the first
    entry's name when every error is 0."""
    worst, where, zeros = 0.0, None, 0
    for l, (pa, pb) in enumerate(zip(ours, theirs), start=1):
        for which in (0, 1):
            a = np.asarray(pa[which], dtype=float)
            b = np.asarray(pb[which], dtype=float)
            if a.shape != b.shape:
                return float("inf"), f"{'Wb'[which]}_{l} shape {a.shape} vs {b.shape}", zeros
            zeros += int(np.count_nonzero((a == 0) & (b == 0)))
            err = np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), floor)
            err = np.where(np.isfinite(err), err, np.inf)
            k = np.unravel_index(int(np.argmax(err)), err.shape)
            if where is None or err[k] > worst or (not np.isfinite(err[k]) and np.isfinite(worst)):
                worst, where = float(err[k]), _entry_name(md, l, which, k)
    return worst, where or "-", zeros


def _matrix_non_finite(md, grads, side: str) -> str:
    """A message naming the first entry of ``grads`` (``[(dW, db), …]``) that is not a finite real
    number, or ``""``: such a value is a verdict of its own, never a relative error of inf."""
    for l, pair in enumerate(grads, start=1):
        for which in (0, 1):
            a = np.asarray(pair[which])
            if np.iscomplexobj(a) or not np.all(np.isfinite(a)):
                bad = ~np.isfinite(a) if not np.iscomplexobj(a) else (a.imag != 0) | ~np.isfinite(a)
                k = np.unravel_index(int(np.argmax(bad)), a.shape) if a.ndim else ()
                value = a[k] if a.ndim else a
                where = _entry_name(md, l, which, k if len(k) == 2 else (0,) + tuple(k))
                return (f"{side} gradient for {where} is {value}, not a finite real number "
                        "(the point is outside the functions' domain, or overflows)")
    return ""


class _MovedLoss:
    """The trainer's reduced loss J with one entry of W_l or b_l moved by δ, for finite differences.

    Moving W_l[j, i] by δ changes only column i of Z_l = A_{l-1} W_l + b_l, by δ · A_{l-1}[:, j]
    (by δ for b_l[0, i]); so the layers before l are the case's forward pass (computed once, by the
    trainer), layer l is that column's update (its activation on that column: every activation but
    softmax, which the trainer allows only on the output layer, is elementwise), the next layer's Z
    adds the change of column i of A_l times row i of W_{l+1}, and only the layers after that are
    multiplied out again. For a
    [4096, 488, 1] network a moved entry costs O(n · 488) instead of a (64 × 4096)(4096 × 488) product.
    The activations and the loss are the trainer's own; nothing here reads the compiled gradients."""

    def __init__(self, trainer, net, mats, X, Y, kinked):
        self.trainer, self.net, self.kinked = trainer, net, list(kinked)
        self.mats = [(np.asarray(W, dtype=float), np.asarray(b, dtype=float).reshape(1, -1)) for W, b in mats]
        self.X = np.asarray(X, dtype=float)
        self.Y = np.asarray(Y, dtype=float)
        self.cache = trainer.forward(net, self.mats, self.X)

    def _activate(self, k, Z):
        return self.trainer.ACTIVATIONS[self.net.activations[k]].forward(Z)

    def __call__(self, l: int, which: int, idx, delta: float):
        """(J, [z > 0 of each kinked layer]) with entry ``idx`` of W_l (``which`` = 0) or b_l (1) moved by ``delta``."""
        t, cache = self.trainer, self.cache
        k = l - 1
        A_prev = self.X if k == 0 else cache[k - 1][1]
        Z = cache[k][0].copy()
        i = int(idx[1])
        Z[:, i] += delta * A_prev[:, int(idx[0])] if which == 0 else delta
        if self.net.activations[k] == "softmax":  # a whole row's function (the output layer only)
            A = self._activate(k, Z)
        else:  # elementwise: only column i of A_l changes
            A = cache[k][1].copy()
            A[:, i:i + 1] = self._activate(k, Z[:, i:i + 1])
        changed = {k: Z}
        for m in range(k + 1, len(self.mats)):
            W, b = self.mats[m]
            if m == k + 1 and self.net.activations[k] != "softmax":
                # Z_{l+1} changes by (the change of column i of A_l) times row i of W_{l+1}
                Z = cache[m][0] + (A[:, i:i + 1] - cache[k][1][:, i:i + 1]) @ W[i:i + 1, :]
            else:
                Z = A @ W + b
            A = self._activate(m, Z)
            changed[m] = Z
        J = float(t.REDUCTIONS[self.net.reduction](t.per_example_loss(self.net, Z, A, self.Y)))
        return J, [changed.get(m, cache[m][0]) > 0 for m in self.kinked]


def check_matrix(source, *, trials: int = 3, seed: int = 0, rtol: float = 1e-9, fd_rtol: float = 1e-5,
                 fd_sample: int | None = 200, batch: int = 64, step: float = 1e-5, compiled=None):
    """Check the matrix-form gradients against the independent trainer (every entry) and central
    finite differences of the trainer's loss (a random sample of ``fd_sample`` coordinates).

    Cases: the spec's parameters and data, then ``trials`` random parameter draws; without data,
    random batches of ``batch`` rows (the spec's parameters first). Returns ``check.CheckReport``
    (``.ok``, ``.lines()``), the report ``symbackprop check`` prints.

    Finite differences (J(θ + h) − J(θ − h)) / 2h with h = ``step`` · max(1, |θ|): when a ReLU
    kink lies between θ − h and θ + h (some z changes sign), h shrinks tenfold (up to three
    times). Their rounding noise is absolute (about 1e-11), so an entry's relative error is
    taken against max(|fd|, |ours|, 1e-6, 1e-4 · the largest gradient entry)."""
    from ..check import trainer
    from ..check.compare import CheckReport, Comparison

    md = matrix_derive(source)
    compiled = compiled or compile_matrix_gradients(md)
    net = trainer.Network(list(md.layers), list(md.activations), md.loss, md.reduction)
    kinked = [l for l, a in enumerate(md.activations) if a in ("relu", "leaky_relu")]
    rng = np.random.default_rng(seed)
    cases = []
    spec_mats = None
    if md.spec is not None and md.spec.weights is not None:
        spec_mats = md.spec_matrices
    if md.has_data():
        X, Y = md.spec_data()
        if spec_mats is not None:
            cases.append(("spec parameters", spec_mats, X, Y))
        for t in range(trials):
            cases.append((f"random parameters #{t + 1}", random_matrices(md, rng), X, Y))
    else:
        if spec_mats is not None:
            X, Y = random_batch(md, rng, batch)
            cases.append((f"spec params, batch {batch}", spec_mats, X, Y))
        for t in range(trials):
            X, Y = random_batch(md, rng, batch)
            cases.append((f"random data #{t + 1}", random_matrices(md, rng), X, Y))
    blocks = [(l, which) for l in range(1, md.depth + 1) for which in (0, 1)]
    sizes = [md.layers[l - 1] * md.layers[l] if which == 0 else md.layers[l] for l, which in blocks]
    total = int(sum(sizes))
    comparisons = []
    from ..progress import progress

    with progress(total=len(cases) if len(cases) > 10 else 0, desc="check", unit="trial") as bar:
        for label, mats, X, Y in cases:
            bar.update()
            comparisons.extend(_compare_case(md, compiled, trainer, net, kinked, rng, blocks, sizes, total,
                                             label, mats, X, Y, rtol, fd_rtol, fd_sample, step))
    return CheckReport(tuple(comparisons))


def _compare_case(md, compiled, trainer, net, kinked, rng, blocks, sizes, total, label, mats, X, Y,
                  rtol, fd_rtol, fd_sample, step) -> list:
    """One case's two comparisons: every entry against the trainer, a sample against finite differences."""
    from ..check.compare import Comparison

    comparisons = []
    ours = compiled.matrix_gradients(mats, X, Y)
    theirs = trainer.gradients(net, mats, X, Y)
    err, where, zeros = _matrix_relative_errors(md, ours, theirs, 1e-8)
    bad = _matrix_non_finite(md, ours, "our") or _matrix_non_finite(md, theirs, "the trainer's")
    comparisons.append(Comparison("trainer backprop", label, err, where, rtol, compared=total, message=bad,
                                  zeros=zeros))
    scale = max(float(np.max(np.abs(a))) for pair in ours for a in pair)
    floor = max(1e-6, 1e-4 * scale) if np.isfinite(scale) else 1e-6
    k = total if fd_sample is None else min(fd_sample, total)
    picks = np.sort(rng.choice(total, size=k, replace=False))
    moved_loss = _MovedLoss(trainer, net, mats, X, Y, kinked)
    worst, worst_at, fd_bad, fd_zeros = 0.0, "-", "", 0
    for flat in picks.tolist():
        for (l, which), size in zip(blocks, sizes):
            if flat < size:
                break
            flat -= size
        A = mats[l - 1][which]
        idx = np.unravel_index(flat, np.shape(A))
        theta = float(A[idx])
        h = step * max(1.0, abs(theta))
        for _ in range(4):
            values, patterns = [], []
            for delta in (h, -h):
                J, pattern = moved_loss(l, which, idx, delta)
                values.append(J)
                patterns.append(pattern)
            if all(np.array_equal(p, q) for p, q in zip(*patterns)):
                break
            h /= 10.0
        fd = (values[0] - values[1]) / (2 * h)
        if not np.isfinite(fd) and not fd_bad:
            fd_bad = (f"the finite difference for {_entry_name(md, l, which, idx)} is {fd}, not a finite "
                      "real number (the loss is outside its domain or overflows near this point)")
        g = float(np.asarray(ours[l - 1][which])[idx])
        fd_zeros += fd == 0 and g == 0
        e = abs(fd - g) / max(abs(fd), abs(g), floor)
        if not np.isfinite(e):
            e = float("inf")
        if e > worst or worst_at == "-":
            worst, worst_at = e, _entry_name(md, l, which, idx)
    comparisons.append(Comparison(f"finite differences ({k})", label, worst, worst_at, fd_rtol, compared=k,
                                  message=_matrix_non_finite(md, ours, "our") or fd_bad, zeros=int(fd_zeros)))
    return comparisons


__all__ = ["check_matrix"]
