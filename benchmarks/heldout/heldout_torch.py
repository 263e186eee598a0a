"""The held-out set's oracle for matrix answers: PyTorch autograd on the slides' layout.

z_l = a_{l-1} W_l + b_l (x = a_0 of shape (n, N_0), W_l of shape (N_{l-1}, N_l), b_l a (1, N_l) row),
a_l = σ(z_l), ŷ = a_L, and the BCE per example.  The targets of the set are PyTorch's gradients
of the summed loss Σ_e L_e (``dW_2``: the slides' convention, dz_2 = ŷ − y) or of the mean
J = (1/n) Σ_e L_e (``J:W_2``).  An answer is a hand-written function of :class:`MatNS` (``m.a1``,
``m.dz2``, ``m.W2``, …), whose gradient tensors are autograd's too (``retain_grad`` on z_l, a_l).
Values are compared at ``POINTS`` random points (x, y ∈ (0, 1), W, b) in float64; an answer whose
shapes do not fit (PyTorch raises) is not equal.
"""
from __future__ import annotations

import tomllib
from pathlib import Path

import torch

POINTS = 5


class MatNS:
    """One point: the forward tensors and autograd's gradients of the summed loss."""

    def __init__(self, layers, gen, n):
        dt = torch.float64
        self.n = n
        self.x = torch.randn(n, layers[0], generator=gen, dtype=dt) * 1.5
        self.y = torch.rand(n, layers[-1], generator=gen, dtype=dt) * 0.9 + 0.05
        self.W, self.B = {}, {}
        for l in range(1, len(layers)):
            self.W[l] = (torch.randn(layers[l - 1], layers[l], generator=gen, dtype=dt)).requires_grad_()
            self.B[l] = (torch.randn(1, layers[l], generator=gen, dtype=dt)).requires_grad_()
        self.Lcount = len(layers) - 1
        self.summed = self._grads(mean=False)
        self.mean = self._grads(mean=True)
        g = self.summed
        for l in range(1, len(layers)):
            setattr(self, f"W{l}", self.W[l].detach())
            setattr(self, f"b{l}", self.B[l].detach())
            setattr(self, f"z{l}", g["z"][l].detach())
            setattr(self, f"a{l}", g["a"][l].detach())
            setattr(self, f"dz{l}", g["z"][l].grad)
            setattr(self, f"da{l}", g["a"][l].grad)
            setattr(self, f"dW{l}", self.W[l].grad_s)
            setattr(self, f"db{l}", self.B[l].grad_s)
        self.yh = self.a2 if len(layers) == 3 else getattr(self, f"a{self.Lcount}")
        self.one = torch.ones(1, self.n, dtype=dt)

    def _grads(self, mean: bool) -> dict:
        for t in list(self.W.values()) + list(self.B.values()):
            t.grad = None
        a = {0: self.x}
        z = {}
        for l in range(1, self.Lcount + 1):
            z[l] = a[l - 1] @ self.W[l] + self.B[l]
            z[l].retain_grad()
            a[l] = torch.sigmoid(z[l])
            a[l].retain_grad()
        h = a[self.Lcount]
        per = -(self.y * torch.log(h) + (1 - self.y) * torch.log(1 - h)).sum(dim=1)
        loss = per.mean() if mean else per.sum()
        loss.backward()
        for l in self.W:
            if mean:
                self.W[l].grad_m, self.B[l].grad_m = self.W[l].grad.clone(), self.B[l].grad.clone()
            else:
                self.W[l].grad_s, self.B[l].grad_s = self.W[l].grad.clone(), self.B[l].grad.clone()
        return {"z": z, "a": a, "loss": loss}

    def target(self, name: str):
        """``dW_2`` (summed loss), ``J:W_2`` (the mean), ``dz_1`` …"""
        if name.startswith("J:"):
            kind, l = name[2], int(name[-1])
            return (self.W[l].grad_m if kind == "W" else self.B[l].grad_m)
        kind, l = name[1:-2], int(name[-1])
        return getattr(self, f"d{kind}{l}")

    @staticmethod
    def sig(t):
        return torch.sigmoid(t)


class MatrixOracle:
    def __init__(self, path, seed: int = 2026):
        toml = tomllib.loads(Path(path).read_text())
        self.layers = list(toml["network"]["layers"])
        self.n = len(toml["data"]["x"])
        gen = torch.Generator().manual_seed(seed)
        self.pts = [MatNS(self.layers, gen, self.n) for _ in range(POINTS)]

    def equal(self, fn, target: str) -> bool:
        for m in self.pts:
            ref = m.target(target)
            try:
                got = fn(m)
            except RuntimeError:           # shapes that do not fit
                return False
            if not isinstance(got, torch.Tensor):
                got = torch.full_like(ref, float(got))
            if tuple(got.shape) != tuple(ref.shape):
                return False
            if not torch.allclose(got, ref, rtol=1e-10, atol=1e-12):
                return False
        return True


def torch_fd_check(oracle: MatrixOracle, h: float = 1e-6) -> float:
    """Largest |autograd − central difference| of the summed BCE over every W and b entry."""
    m = oracle.pts[0]
    worst = 0.0

    def loss():
        a = m.x
        for l in range(1, m.Lcount + 1):
            a = torch.sigmoid(a @ m.W[l].detach() + m.B[l].detach())
        return float(-(m.y * torch.log(a) + (1 - m.y) * torch.log(1 - a)).sum())

    with torch.no_grad():
        for l in m.W:
            for t, g in ((m.W[l], getattr(m, f"dW{l}")), (m.B[l], getattr(m, f"db{l}"))):
                for idx in range(t.numel()):
                    flat = t.data.view(-1)
                    old = float(flat[idx])
                    flat[idx] = old + h
                    up = loss()
                    flat[idx] = old - h
                    dn = loss()
                    flat[idx] = old
                    fd = (up - dn) / (2 * h)
                    ex = float(g.reshape(-1)[idx])
                    worst = max(worst, abs(fd - ex) / (1 + abs(ex)))
    return worst
