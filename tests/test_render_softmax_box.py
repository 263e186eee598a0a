"""The derivation document's softmax / cross-entropy box, as the lectures write it.

The chain rule's terms as they stand, each cancelled, the general ŷ_1 y_1 + ŷ_1 y_2 − y_1, and, when
the targets sum to 1, the boxed ŷ_1 − y_1 with the reason; other targets keep the general box.
Oracles: sympy.diff of the loss written out by hand, and central differences at the spec's numbers."""
import math

import pytest
import sympy

from symbackprop import derive, load_spec
from symbackprop.render.latex import derivation_document

SOFTMAX = """title = "softmax"
[network]
layers = [2, 2, 2]
activations = ["tanh", "softmax"]
loss = "cross_entropy"
[parameters]
weights = [[[1, -1], [1, 2]], [[1, -1], [-1, 2]]]
biases = [[0, 1], [0, 0]]
[data]
x = [[1, 0]]
y = [[{y1}, {y2}]]
"""


def _document(tmp_path, y1, y2):
    p = tmp_path / "s.toml"
    p.write_text(SOFTMAX.format(y1=y1, y2=y2))
    return derivation_document(derive(load_spec(str(p))))


def _box(doc, k):
    start = doc.index(f"derived step by step at $z^{{3}}_{{{k}}}$")
    return doc[start:doc.index(r"\end{align*}", start)]


def _dL_dz(y, h=1e-6):
    """dL/dz^{3}_k of −Σ y_k log softmax(z)_k by central differences, at the spec's z^{3}."""
    a = [math.tanh(1), math.tanh(1 + 1)]          # x = (1, 0): z^{2} = (1·1 + 0, 1·1 + 1)
    z = [1 * a[0] - 1 * a[1], -1 * a[0] + 2 * a[1]]

    def loss(zz):
        m = max(zz)
        s = sum(math.exp(v - m) for v in zz)
        return -sum(yk * (zk - m - math.log(s)) for yk, zk in zip(y, zz))

    grads = []
    for k in range(2):
        up = list(z); up[k] += h
        dn = list(z); dn[k] -= h
        grads.append((loss(up) - loss(dn)) / (2 * h))
    yhat = [math.exp(v) / sum(math.exp(u) for u in z) for v in z]
    return grads, yhat


def test_the_oracle_sympy_diff_of_the_written_out_loss():
    z1, z2, y1, y2 = sympy.symbols("z1 z2 y1 y2")
    s1 = sympy.exp(z1) / (sympy.exp(z1) + sympy.exp(z2))
    L = -(y1 * sympy.log(s1) + y2 * sympy.log(sympy.exp(z2) / (sympy.exp(z1) + sympy.exp(z2))))
    general = sympy.diff(L, z1)
    assert sympy.simplify(general - (s1 * y1 + s1 * y2 - y1)) == 0
    assert sympy.simplify(general.subs(y2, 1 - y1) - (s1 - y1)) == 0


@pytest.mark.parametrize("y1, y2, why", [(1, 0, "one-hot targets"), (0.75, 0.25, "targets that sum to 1")])
def test_targets_that_sum_to_one_box_yhat_minus_y(tmp_path, y1, y2, why):
    doc = _document(tmp_path, y1, y2)
    fd, yhat = _dL_dz([y1, y2])
    assert all(abs(g - (p - t)) < 1e-6 for g, p, t in zip(fd, yhat, [y1, y2]))   # the box's claim, numerically
    for k in (1, 2):
        box = _box(doc, k)
        # the chain rule's terms as they stand, the softmax factor as the lectures write it
        assert rf"\hat{{y}}_{{{k}}}(1 - \hat{{y}}_{{{k}}})" in box
        assert rf"\hat{{y}}_{{{k}}} - \hat{{y}}_{{{k}}}^{{2}}" not in doc
        cancelled = rf"y_{{{k}}}(1 - \hat{{y}}_{{{k}}})"                       # −y_k/ŷ_k · ŷ_k(1 − ŷ_k)
        assert f"&= -{cancelled}" in box or f" - {cancelled}" in box
        general = rf"\hat{{y}}_{{{k}}} y_{{1}} + \hat{{y}}_{{{k}}} y_{{2}} - y_{{{k}}}"
        assert rf"&= {general} \\" in box and rf"\boxed{{{general}}}" not in box
        assert rf"&= \boxed{{\hat{{y}}_{{{k}}} - y_{{{k}}}}} && \text{{{why}: }} y_{{1}} + y_{{2}} = 1" in box
    assert (r"(The first factors combine into $\partial L/\partial z^{3}_{1} = \hat{y}_{1} y_{1} + \hat{y}_{1} y_{2}"
            rf" - y_{{1}}$, with {why} the boxed $\hat{{y}}_{{1}} - y_{{1}}$ derived above.)") in doc


def test_other_targets_keep_the_general_box(tmp_path):
    doc = _document(tmp_path, 0.5, 0.25)
    fd, yhat = _dL_dz([0.5, 0.25])
    assert abs(fd[0] - (yhat[0] * 0.75 - 0.5)) < 1e-6 and abs(fd[0] - (yhat[0] - 0.5)) > 1e-3
    assert r"\boxed{\hat{y}_{1} y_{1} + \hat{y}_{1} y_{2} - y_{1}}" in _box(doc, 1)
    assert r"\boxed{\hat{y}_{1} - y_{1}}" not in doc and "one-hot" not in doc and "sum to 1" not in doc


def test_derive_text_writes_the_softmax_factors_as_the_lectures(tmp_path):
    """The text face: ∂ŷ_1/∂z^{3}_1 = ŷ_1(1 − ŷ_1) (not ŷ_1 − ŷ_1²), a negative factor in parentheses,
    and tanh′ = 1 − (a^{2}_{1})²."""
    import io
    from contextlib import redirect_stdout

    from symbackprop.cli import main

    p = tmp_path / "s.toml"
    p.write_text(SOFTMAX.format(y1=1, y2=0))
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["derive", str(p)]) == 0
    shown = out.getvalue()
    assert "∂ŷ_1/∂z^{3}_{1} = ŷ_1(1 − ŷ_1)    (derivative of softmax: ∂a_i/∂z_j = a_i(δ_ij − a_j))" in shown
    assert "(−y_1/ŷ_1 · ŷ_1(1 − ŷ_1) · w^{2}_{1,1} · (1 − (a^{2}_{1})²) · x_{1})" in shown
    assert "−y_2/ŷ_2 · (−ŷ_1 · ŷ_2) · w^{2}_{1,1}" in shown
    assert "ŷ_1²" not in shown and "a^{2}_{1}²" not in shown
