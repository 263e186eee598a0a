r"""The held-out answers in index notation: the lecture net, a ReLU net with dead units, a tanh
net and a softmax + cross-entropy net.

Each answer is its LaTeX as a student would write it and, next to it, the same answer written by
hand as a Python function of the oracle's namespace ``n`` (numbers at one point: ``n.yh[1]``,
``n.a[2][1]``, ``n.w[1][1][2]``, ``n.step(z)`` = relu′, …).  ``right`` is the author's label; the
oracle (not the label) decides the truth, and ``tests/test_heldout.py`` checks that they agree.
None of these answers is copied from the checker's tests.
"""
from __future__ import annotations

from heldout_schema import Answer


def ds(v):
    """σ′ from the activation: a(1 − a)."""
    return v * (1 - v)


def dt(v):
    """tanh′ from the activation: 1 − a²."""
    return 1 - v ** 2


# --- the lecture's 2-2-1 sigmoid network (½(y − ŷ)², all weights and biases 1, x = [1, 0], y = 1) --

def _d3(n):                       # δ^{3}_{1} = (ŷ − y) ŷ(1 − ŷ)
    return (n.yh[1] - n.y[1]) * ds(n.yh[1])


def _d2(n, j):                    # δ^{2}_{j}
    return _d3(n) * n.w[2][1][j] * ds(n.a[2][j])


def _lec():
    S = "lecture"
    out = []

    def R(i, target, tex, fn, form, **kw):
        out.append(Answer(f"lec-{i}", S, target, tex, fn, True, form, **kw))

    def W(i, target, tex, fn, kind, **kw):
        out.append(Answer(f"lec-{i}", S, target, tex, fn, False, kind, **kw))

    t = "w^{2}_{1,1}"
    R(1, t, r"\frac{\partial L}{\partial w^{2}_{1,1}} = (\hat y - y)\,\sigma'(z^{3}_{1})\,a^{2}_{1}",
      lambda n: _d3(n) * n.a[2][1], "sigma_prime")
    R(2, t, r"\frac{\partial L}{\partial w^{(2)}_{11}} = (a^{(3)}_{1} - y)\, a^{(3)}_{1}(1 - a^{(3)}_{1})\, a^{(2)}_{1}",
      lambda n: _d3(n) * n.a[2][1], "parenthesised")
    R(3, t, r"\frac{\partial L}{\partial W^{[2]}_{11}} = (a^{[2]}_{1} - y)\, a^{[2]}_{1}(1 - a^{[2]}_{1})\, a^{[1]}_{1}",
      lambda n: _d3(n) * n.a[2][1], "bracketed")
    R(4, t, r"\hat{y}^2 a^{2}_{1} - \hat{y}^3 a^{2}_{1} - y \hat{y} a^{2}_{1} + y \hat{y}^2 a^{2}_{1}",
      lambda n: n.yh[1] ** 2 * n.a[2][1] - n.yh[1] ** 3 * n.a[2][1] - n.y[1] * n.yh[1] * n.a[2][1]
      + n.y[1] * n.yh[1] ** 2 * n.a[2][1], "expanded", wrt=t)
    R(5, t, r"(\hat{y} - y)\hat{y}(1 - \hat{y}) a^{2}_{1} \approx -0.002927",
      lambda n: _d3(n) * n.a[2][1], "chain_number", wrt=t, value=(-0.002927, 6))
    R(6, t, r"(\sigma(z^{3}_{1}) - y)\,\sigma(z^{3}_{1})\,(1 - \sigma(z^{3}_{1}))\,\sigma(z^{2}_{1})",
      lambda n: _d3(n) * n.a[2][1], "sigma_of_z", wrt=t)
    R(7, t, r"\delta^{3}_{1} \cdot a^{2}_{1}", lambda n: _d3(n) * n.a[2][1], "delta", wrt=t)
    R(8, t, r"\frac{\partial L}{\partial w^{2}_{1,1}} = (\hat{y} - y)\, g'(z^{3}_{1})\, a^{2}_{1}.",
      lambda n: _d3(n) * n.a[2][1], "g_prime")
    W(9, t, r"(y - \hat{y})\hat{y}(1 - \hat{y}) a^{2}_{1}", lambda n: -_d3(n) * n.a[2][1], "sign", wrt=t)
    W(10, t, r"(\hat{y} - y) a^{2}_{1}", lambda n: (n.yh[1] - n.y[1]) * n.a[2][1], "drop_local",
      wrt=t, culprit=("z^{3}_{1}",))
    W(11, t, r"(\hat{y} - y)\hat{y}(1 - \hat{y}) a^{2}_{2}", lambda n: _d3(n) * n.a[2][2], "neighbour_param",
      wrt=t, culprit=("a^{2}_{2}",))
    W(12, t, r"(\hat{y} - y)\, z^{3}_{1}(1 - z^{3}_{1})\, a^{2}_{1}",
      lambda n: (n.yh[1] - n.y[1]) * ds(n.z[3][1]) * n.a[2][1], "z_for_a", wrt=t, culprit=("z^{3}_{1}",))
    W(13, t, r"2(\hat{y} - y)\hat{y}(1 - \hat{y}) a^{2}_{1}", lambda n: 2 * _d3(n) * n.a[2][1], "factor_2", wrt=t)
    W(14, t, r"(\hat{y} - y)\hat{y}\, a^{2}_{1}", lambda n: (n.yh[1] - n.y[1]) * n.yh[1] * n.a[2][1],
      "drop_one_minus_a", wrt=t)
    W(15, t, r"(\hat{y} - y)\,\sigma'(\hat{y})\, a^{2}_{1}",
      lambda n: (n.yh[1] - n.y[1]) * ds(n.sig(n.yh[1])) * n.a[2][1], "sigma_prime_at_a", wrt=t)
    W(16, t, r"(\hat{y} - y)\hat{y}^2(1 - \hat{y})^2 a^{2}_{1}",
      lambda n: (n.yh[1] - n.y[1]) * ds(n.yh[1]) ** 2 * n.a[2][1], "double_local", wrt=t)
    W(17, t, r"(\hat{y} - y)\hat{y}(1 - \hat{y}) a^{2}_{1} \approx -0.0293",
      lambda n: _d3(n) * n.a[2][1], "wrong_number", wrt=t, value=(-0.0293, 4))
    W(18, t, r"(\hat{y} - y)\hat{y}(1 - \hat{y})\, w^{2}_{1,1}", lambda n: _d3(n) * n.w[2][1][1],
      "wrong_node", wrt=t, culprit=("w^{2}_{1,1}",))

    R(80, t, r"(\hat{y} - y) \cdot f'(z^{3}_{1}) \cdot a^{2}_{1}", lambda n: _d3(n) * n.a[2][1], "f_prime", wrt=t)
    R(81, t, r"(ŷ − y) · σ′(z^{3}_{1}) · a^{2}_{1}", lambda n: _d3(n) * n.a[2][1], "unicode", wrt=t)
    R(82, t, r"\frac{\partial C}{\partial w^{2}_{1 1}} = \frac{1}{m}\sum_{i=1}^{m} (\hat{y}_i - y_i)\hat{y}_i(1 - \hat{y}_i)\, a^{2}_{1}",
      lambda n: _J(n, lambda e: _d3(e) * e.a[2][1]), "cost_C_space_indices", cost=True)
    R(83, t, r"\left(\hat{y} - y\right) \times \hat{y}\left(1 - \hat{y}\right) \times a^{2}_{1}",
      lambda n: _d3(n) * n.a[2][1], "times_left_right", wrt=t)
    R(84, t, r"\dfrac{\partial L}{\partial \hat{y}} \cdot \dfrac{\partial \hat{y}}{\partial z^{3}_{1}} \cdot "
             r"\dfrac{\partial z^{3}_{1}}{\partial w^{2}_{1,1}}", lambda n: _d3(n) * n.a[2][1], "leibniz_only", wrt=t)
    R(85, t, r"\frac{\partial \mathcal{L}}{\partial w^{2}_{1,1}} = \frac{1}{n}\sum_{i} (\hat{y}_i - y_i)\,\sigma'(z^{3}_{1})\, a^{2}_{1}",
      lambda n: _J(n, lambda e: _d3(e) * e.a[2][1]), "cost_mathcal_sum_i", cost=True)

    t = "w^{1}_{1,1}"
    R(20, t, r"\delta^{3}_{1}\, w^{2}_{1,1}\, \sigma'(z^{2}_{1})\, x_1", lambda n: _d2(n, 1) * n.x[1], "delta", wrt=t)
    R(21, t, r"\frac{\partial L}{\partial \hat{y}} \frac{\partial \hat{y}}{\partial z^{3}_{1}} "
             r"\frac{\partial z^{3}_{1}}{\partial a^{2}_{1}} \frac{\partial a^{2}_{1}}{\partial z^{2}_{1}} "
             r"\frac{\partial z^{2}_{1}}{\partial w^{1}_{1,1}} = (\hat{y} - y)\hat{y}(1 - \hat{y})\, w^{2}_{1,1}\, "
             r"a^{2}_{1}(1 - a^{2}_{1})\, x_1", lambda n: _d2(n, 1) * n.x[1], "leibniz_chain", wrt=t)
    R(22, t, r"(a^{(3)}_{1} - y)\, a^{(3)}_{1}(1 - a^{(3)}_{1})\, w^{(2)}_{11}\, a^{(2)}_{1}(1 - a^{(2)}_{1})\, x_1",
      lambda n: _d2(n, 1) * n.x[1], "parenthesised", wrt=t)
    R(23, t, r"(a^{[2]}_{1} - y)\, a^{[2]}_{1}(1 - a^{[2]}_{1})\, W^{[2]}_{11}\, a^{[1]}_{1}(1 - a^{[1]}_{1})\, x_1",
      lambda n: _d2(n, 1) * n.x[1], "bracketed", wrt=t)
    R(24, t, r"\frac{\partial L}{\partial w^{1}_{1,1}} = {(\hat{y} - y)\hat{y}(1 - \hat{y})\, w^{2}_{1,1}\, x_1 "
             r"\over 1 + e^{-z^{2}_{1}}}\,(1 - a^{2}_{1})", lambda n: _d2(n, 1) * n.x[1], "over_exp")
    R(25, t, r"(\hat{y} - y)\hat{y}(1 - \hat{y}) \cdot w^{2}_{1,1} \cdot a^{2}_{1}(1 - a^{2}_{1}) \cdot x_{1} "
             r"\quad \text{(chain rule)}.", lambda n: _d2(n, 1) * n.x[1], "annotated", wrt=t)
    R(26, t, r"(\hat{y} - y)\hat{y}(1 - \hat{y}) w^{2}_{1,1} a^{2}_{1}(1 - a^{2}_{1}) x_1 \approx -0.000349",
      lambda n: _d2(n, 1) * n.x[1], "chain_number", wrt=t, value=(-0.000349, 6))
    W(27, t, r"(\hat{y} - y)\hat{y}(1 - \hat{y})\, a^{2}_{1}(1 - a^{2}_{1})\, x_1",
      lambda n: _d3(n) * ds(n.a[2][1]) * n.x[1], "drop_local", wrt=t, culprit=("w^{2}_{1,1}",))
    W(28, t, r"(\hat{y} - y)\hat{y}(1 - \hat{y})\, w^{2}_{1,1}\, a^{2}_{1}\, x_1",
      lambda n: _d3(n) * n.w[2][1][1] * n.a[2][1] * n.x[1], "drop_one_minus_a", wrt=t)
    W(29, t, r"(\hat{y} - y)\hat{y}(1 - \hat{y})\, w^{2}_{1,1}\, x_1(1 - x_1)\, x_1",
      lambda n: _d3(n) * n.w[2][1][1] * ds(n.x[1]) * n.x[1], "wrong_node", wrt=t, culprit=("x_{1}",))
    W(30, t, r"(y - \hat{y})\hat{y}(1 - \hat{y}) w^{2}_{1,1} a^{2}_{1}(1 - a^{2}_{1}) x_1",
      lambda n: -_d2(n, 1) * n.x[1], "sign", wrt=t)
    W(31, t, r"\delta^{3}_{1}\, w^{2}_{1,1}\, \sigma'(a^{2}_{1})\, x_1",
      lambda n: _d3(n) * n.w[2][1][1] * ds(n.sig(n.a[2][1])) * n.x[1], "sigma_prime_at_a", wrt=t)
    W(32, t, r"\delta^{3}_{1}\, w^{2}_{1,1}\, z^{2}_{1}(1 - z^{2}_{1})\, x_1",
      lambda n: _d3(n) * n.w[2][1][1] * ds(n.z[2][1]) * n.x[1], "z_for_a", wrt=t, culprit=("z^{2}_{1}",))
    W(33, t, r"\delta^{3}_{1}\, w^{2}_{1,2}\, a^{2}_{2}(1 - a^{2}_{2})\, x_1", lambda n: _d2(n, 2) * n.x[1],
      "neighbour_param", wrt=t, culprit=("w^{2}_{1,2}", "a^{2}_{2}"))
    W(34, t, r"\delta^{3}_{1}\, w^{2}_{1,1}\, a^{2}_{1}(1 - a^{2}_{1})\, x_1 + \delta^{3}_{1}\, w^{2}_{1,2}\, "
             r"a^{2}_{2}(1 - a^{2}_{2})\, x_1", lambda n: (_d2(n, 1) + _d2(n, 2)) * n.x[1], "add_path", wrt=t)
    W(35, t, r"\delta^{3}_{1}\, w^{2}_{1,1}\, a^{2}_{1}(1 - a^{2}_{1})\, a^{2}_{1}(1 - a^{2}_{1})\, x_1",
      lambda n: _d2(n, 1) * ds(n.a[2][1]) * n.x[1], "double_local", wrt=t)

    t = "w^{1}_{1,2}"
    R(40, t, r"\delta^{3}_{1}\, w^{2}_{1,1}\, a^{2}_{1}(1 - a^{2}_{1})\, x_2", lambda n: _d2(n, 1) * n.x[2], "delta", wrt=t)
    W(41, t, r"\delta^{3}_{1}\, w^{2}_{1,2}\, a^{2}_{2}(1 - a^{2}_{2})\, x_1", lambda n: _d2(n, 2) * n.x[1],
      "swap_indices", wrt=t)
    W(42, t, r"0", None, "number_only", wrt=t)
    W(43, t, r"\delta^{3}_{1}\, w^{2}_{1,1}\, a^{2}_{1}(1 - a^{2}_{1})\, x_1", lambda n: _d2(n, 1) * n.x[1],
      "neighbour_param", wrt=t, culprit=("x_{1}",))

    W(46, t, r"\delta^{3}_{1}\, w^{2}_{1,1}\, a^{2}_{1}(1 - a^{2}_{1})\, x_2^2", lambda n: _d2(n, 1) * n.x[2] ** 2, "other",
      wrt=t)
    W(47, t, r"\delta^{3}_{1}\, w^{2}_{1,1}\, a^{2}_{1}(1 - a^{2}_{1})\, x_1 x_2", lambda n: _d2(n, 1) * n.x[1] * n.x[2],
      "extra_factor", wrt=t, culprit=("x_{1}",))

    t = "w^{1}_{2,1}"
    R(44, t, r"\frac{\partial L}{\partial w^{1}_{21}} = (\hat{y} - y)\hat{y}(1 - \hat{y}) w^{2}_{12} a^{2}_{2}(1 - a^{2}_{2}) x_1",
      lambda n: _d2(n, 2) * n.x[1], "compact_indices")
    W(45, t, r"(\hat{y} - y)\hat{y}(1 - \hat{y}) w^{2}_{1,1} a^{2}_{1}(1 - a^{2}_{1}) x_2", lambda n: _d2(n, 1) * n.x[2],
      "swap_indices", wrt=t)

    t = "b^{1}_{2}"
    R(50, t, r"\delta^{(3)}_{1}\, w^{(2)}_{12}\, a^{(2)}_{2}(1 - a^{(2)}_{2})", lambda n: _d2(n, 2), "parenthesised", wrt=t)
    R(51, t, r"(\hat{y} - y)\hat{y}(1 - \hat{y})\, w^{2}_{1,2}\, \frac{e^{-z^{2}_{2}}}{(1 + e^{-z^{2}_{2}})^2}",
      lambda n: _d2(n, 2), "exp_form", wrt=t)
    R(52, t, r"\frac{\partial L}{\partial b^{1}_{2}} = \delta^{3}_{1} w^{2}_{1,2} \sigma'(z^{2}_{2}) \approx -0.000349",
      lambda n: _d2(n, 2), "chain_number", value=(-0.000349, 6))
    W(53, t, r"\delta^{3}_{1}\, w^{2}_{1,2}\, a^{2}_{2}(1 - a^{2}_{2})\, x_2", lambda n: _d2(n, 2) * n.x[2],
      "extra_factor", wrt=t, culprit=("x_{2}",))
    W(54, t, r"\delta^{3}_{1}\, w^{2}_{1,1}\, a^{2}_{1}(1 - a^{2}_{1})", lambda n: _d2(n, 1), "neighbour_param",
      wrt=t, culprit=("w^{2}_{1,1}", "a^{2}_{1}"))
    W(55, t, r"\delta^{3}_{1}\, w^{2}_{1,2}\, (1 - a^{2}_{2})", lambda n: _d3(n) * n.w[2][1][2] * (1 - n.a[2][2]),
      "drop_local", wrt=t, culprit=("a^{2}_{2}",))

    t = "b^{2}_{1}"
    R(60, t, r"\frac{\partial L}{\partial b^{2}_{1}} = \frac{\partial L}{\partial \hat{y}}\frac{\partial \hat{y}}"
             r"{\partial z^{3}_{1}} = (\hat{y} - y)\,\sigma'(z^{3}_{1})", _d3, "leibniz_chain")
    R(61, t, r"\hat{y}^2 - \hat{y}^3 - y\hat{y} + y\hat{y}^2", _d3, "expanded", wrt=t)
    R(62, t, r"\frac{\partial J}{\partial b^{2}_{1}} = \frac{1}{n}\sum_{i=1}^{n} (\hat{y}_i - y_i)\hat{y}_i(1 - \hat{y}_i)",
      lambda n: _J(n, _d3), "cost_1_over_n", cost=True)
    R(63, t, r"(\hat{y} - y)\hat{y}(1 - \hat{y}) = -0.003323", _d3, "chain_number", wrt=t, value=(-0.003323, 6))
    W(64, t, r"(\hat{y} - y)\hat{y}", lambda n: (n.yh[1] - n.y[1]) * n.yh[1], "drop_one_minus_a", wrt=t)
    W(65, t, r"\hat{y} - y", lambda n: n.yh[1] - n.y[1], "drop_local", wrt=t, culprit=("z^{3}_{1}",))
    W(66, t, r"-(\hat{y} - y)\hat{y}(1 - \hat{y})", lambda n: -_d3(n), "sign", wrt=t)

    t = "x_{1}"
    R(70, t, r"\sum_{j=1}^{2} \delta^{3}_{1}\, w^{2}_{1,j}\, a^{2}_{j}(1 - a^{2}_{j})\, w^{1}_{j,1}",
      lambda n: _d2(n, 1) * n.w[1][1][1] + _d2(n, 2) * n.w[1][2][1], "sum_notation", wrt=t)
    R(71, t, r"\delta^{3}_{1}\left(w^{2}_{1,1}\sigma'(z^{2}_{1}) w^{1}_{1,1} + w^{2}_{1,2}\sigma'(z^{2}_{2}) w^{1}_{2,1}\right)",
      lambda n: _d2(n, 1) * n.w[1][1][1] + _d2(n, 2) * n.w[1][2][1], "factored", wrt=t)
    W(72, t, r"\delta^{3}_{1}\, w^{2}_{1,1}\, a^{2}_{1}(1 - a^{2}_{1})\, w^{1}_{1,1}",
      lambda n: _d2(n, 1) * n.w[1][1][1], "drop_path", wrt=t)
    W(73, t, r"\delta^{3}_{1}\left(w^{2}_{1,1}\sigma'(z^{2}_{1}) w^{1}_{1,1} + w^{2}_{1,2}\sigma'(z^{2}_{2}) w^{1}_{1,2}\right)",
      lambda n: _d2(n, 1) * n.w[1][1][1] + _d2(n, 2) * n.w[1][1][2], "swap_indices", wrt=t)
    return out


# --- the [2,5,3,1] ReLU net (relu, relu, identity; ½(y − ŷ)²); z^{2}_{3}, z^{2}_{4}, z^{3}_{2} dead at the data

def _e(n):                       # ∂L/∂ŷ = ∂L/∂z^{4}_{1}
    return n.yh[1] - n.y[1]


def _r3(n, j):                   # ∂L/∂z^{3}_{j}
    return _e(n) * n.w[3][1][j] * n.step(n.z[3][j])


def _r2(n, k):                   # ∂L/∂z^{2}_{k}
    return sum(_r3(n, j) * n.w[2][j][k] for j in (1, 2, 3)) * n.step(n.z[2][k])


def _relu():
    S = "relu"
    out = []

    def R(i, target, tex, fn, form, **kw):
        out.append(Answer(f"relu-{i}", S, target, tex, fn, True, form, **kw))

    def W(i, target, tex, fn, kind, **kw):
        out.append(Answer(f"relu-{i}", S, target, tex, fn, False, kind, **kw))

    t = "b^{3}_{1}"
    R(1, t, r"\hat{y} - y", _e, "plain", wrt=t)
    R(2, t, r"\frac{\partial L}{\partial b^{3}_{1}} = -(y - \hat{y})", _e, "sign_inside")
    R(3, t, r"\frac{\partial L}{\partial b^{(3)}_{1}} = a^{(4)}_{1} - y", _e, "parenthesised")
    R(4, t, r"\hat{y} - y \approx 3.031", _e, "chain_number", wrt=t, value=(3.031, 3))
    W(5, t, r"y - \hat{y}", lambda n: -_e(n), "sign", wrt=t)
    W(6, t, r"2(\hat{y} - y)", lambda n: 2 * _e(n), "factor_2", wrt=t)

    t = "w^{3}_{1,2}"
    R(10, t, r"(\hat{y} - y)\, a^{3}_{2}", lambda n: _e(n) * n.a[3][2], "factored", wrt=t)
    R(11, t, r"(\hat{y} - y) \operatorname{relu}(z^{3}_{2})", lambda n: _e(n) * n.relu(n.z[3][2]), "relu_of_z", wrt=t)
    R(12, t, r"\frac{\partial L}{\partial W^{[3]}_{12}} = (a^{[3]}_{1} - y)\, a^{[2]}_{2}",
      lambda n: _e(n) * n.a[3][2], "bracketed")
    R(13, t, r"\hat{y} a^{3}_{2} - y a^{3}_{2}", lambda n: _e(n) * n.a[3][2], "expanded", wrt=t)
    W(14, t, r"0", None, "number_only", wrt=t)
    W(15, t, r"(y - \hat{y})\, a^{3}_{2}", lambda n: -_e(n) * n.a[3][2], "sign", wrt=t)
    W(16, t, r"(\hat{y} - y)\, a^{3}_{1}", lambda n: _e(n) * n.a[3][1], "neighbour_param", wrt=t,
      culprit=("a^{3}_{1}",))
    W(17, t, r"17 (\hat{y} - y)\, w^{3}_{1,3}\, \operatorname{relu}'(z^{3}_{2})",
      lambda n: 17 * _e(n) * n.w[3][1][3] * n.step(n.z[3][2]), "other", wrt=t)
    W(18, t, r"(\hat{y} - y)\, z^{3}_{2}", lambda n: _e(n) * n.z[3][2], "z_for_a", wrt=t, culprit=("z^{3}_{2}",))

    R(19, t, r"(\hat{y} - y)\, \operatorname{relu}'(z^{3}_{2})\, z^{3}_{2}", lambda n: _e(n) * n.step(n.z[3][2]) * n.z[3][2],
      "step_times_z", wrt=t)
    W(31, t, r"(\hat{y} - y)\, \operatorname{relu}'(z^{3}_{2})", lambda n: _e(n) * n.step(n.z[3][2]), "other", wrt=t)
    W(32, t, r"(\hat{y} - y)\, (a^{3}_{2})^2", lambda n: _e(n) * n.a[3][2] ** 2, "other", wrt=t)

    t = "w^{2}_{2,3}"
    R(20, t, r"\delta^{4}_{1}\, w^{3}_{1,2}\, \operatorname{relu}'(z^{3}_{2})\, a^{2}_{3}",
      lambda n: _r3(n, 2) * n.a[2][3], "delta", wrt=t)
    R(21, t, r"(\hat{y} - y)\, w^{3}_{1,2}\, g'(z^{3}_{2})\, a^{2}_{3}", lambda n: _r3(n, 2) * n.a[2][3], "g_prime", wrt=t)
    R(22, t, r"(a^{(4)}_{1} - y)\, w^{(3)}_{12}\, \operatorname{relu}'(z^{(3)}_{2})\, a^{(2)}_{3}",
      lambda n: _r3(n, 2) * n.a[2][3], "parenthesised", wrt=t)
    R(23, t, r"\frac{\partial L}{\partial w^{2}_{2,3}} = (\hat{y} - y)\, w^{3}_{1,2}\, \operatorname{relu}'(z^{3}_{2})\, "
             r"a^{2}_{3} = 0", lambda n: _r3(n, 2) * n.a[2][3], "chain_number", value=(0, 0))
    R(24, t, r"\delta^{3}_{2}\, a^{2}_{3}", lambda n: _r3(n, 2) * n.a[2][3], "delta_hidden", wrt=t)
    W(25, t, r"(\hat{y} - y)\, w^{3}_{1,2}\, a^{2}_{3}", lambda n: _e(n) * n.w[3][1][2] * n.a[2][3], "drop_local",
      wrt=t, culprit=("relu",))
    W(26, t, r"(\hat{y} - y)\, w^{3}_{1,3}\, \operatorname{relu}'(z^{3}_{3})\, a^{2}_{2}",
      lambda n: _r3(n, 3) * n.a[2][2], "swap_indices", wrt=t)
    W(27, t, r"0", None, "number_only", wrt=t)
    W(28, t, r"(y - \hat{y})\, w^{3}_{1,2}\, \operatorname{relu}'(z^{3}_{2})\, a^{2}_{3}",
      lambda n: -_r3(n, 2) * n.a[2][3], "sign", wrt=t)
    W(29, t, r"(\hat{y} - y)\, w^{3}_{1,2}\, \operatorname{relu}'(z^{3}_{2})\, a^{2}_{2}",
      lambda n: _r3(n, 2) * n.a[2][2], "neighbour_param", wrt=t, culprit=("a^{2}_{2}",))
    W(30, t, r"(\hat{y} - y)\, w^{3}_{1,2}\, a^{3}_{2}\, a^{2}_{3}",
      lambda n: _e(n) * n.w[3][1][2] * n.a[3][2] * n.a[2][3], "wrong_act_derivative", wrt=t)

    W(33, t, r"(\hat{y} - y)\, w^{3}_{1,2}\, \operatorname{relu}'(z^{3}_{2})\, a^{2}_{3}\, a^{2}_{1}",
      lambda n: _r3(n, 2) * n.a[2][3] * n.a[2][1], "extra_factor", wrt=t, culprit=("a^{2}_{1}",))
    W(34, t, r"(\hat{y} - y)\, w^{3}_{1,2}\, \operatorname{relu}(z^{3}_{2})\, a^{2}_{3}",
      lambda n: _e(n) * n.w[3][1][2] * n.relu(n.z[3][2]) * n.a[2][3], "wrong_act_derivative", wrt=t)

    t = "b^{1}_{1}"
    R(40, t, r"\sum_{j=1}^{3} (\hat{y} - y)\, w^{3}_{1,j}\, \operatorname{relu}'(z^{3}_{j})\, w^{2}_{j,1}\, "
             r"\operatorname{relu}'(z^{2}_{1})", lambda n: _r2(n, 1), "sum_notation", wrt=t)
    R(41, t, r"(\hat{y} - y)\operatorname{relu}'(z^{2}_{1})\left(w^{3}_{1,1}\operatorname{relu}'(z^{3}_{1})w^{2}_{1,1} + "
             r"w^{3}_{1,2}\operatorname{relu}'(z^{3}_{2})w^{2}_{2,1} + w^{3}_{1,3}\operatorname{relu}'(z^{3}_{3})w^{2}_{3,1}\right)",
      lambda n: _r2(n, 1), "factored", wrt=t)
    R(42, t, r"\operatorname{relu}'(z^{2}_{1}) \sum_{j=1}^{3} w^{2}_{j,1}\, \delta^{3}_{j}", lambda n: _r2(n, 1),
      "delta_sum", wrt=t)
    R(43, t, r"\frac{\partial L}{\partial b^{1}_{1}} = \delta^{2}_{1} \approx 2.084", lambda n: _r2(n, 1), "chain_number",
      value=(2.084, 3))
    W(44, t, r"(\hat{y} - y)\operatorname{relu}'(z^{2}_{1})\left(w^{3}_{1,1}\operatorname{relu}'(z^{3}_{1})w^{2}_{1,1} + "
             r"w^{3}_{1,3}\operatorname{relu}'(z^{3}_{3})w^{2}_{3,1}\right)",
      lambda n: (_r3(n, 1) * n.w[2][1][1] + _r3(n, 3) * n.w[2][3][1]) * n.step(n.z[2][1]), "drop_path", wrt=t)
    W(45, t, r"\sum_{j=1}^{3} (\hat{y} - y)\, w^{3}_{1,j}\, \operatorname{relu}'(z^{3}_{j})\, w^{2}_{j,1}\, "
             r"\operatorname{relu}'(z^{2}_{1}) + (\hat{y} - y)\, w^{3}_{1,1}\, \operatorname{relu}'(z^{3}_{1})\, "
             r"w^{2}_{1,2}\, \operatorname{relu}'(z^{2}_{2})",
      lambda n: _r2(n, 1) + _r3(n, 1) * n.w[2][1][2] * n.step(n.z[2][2]), "add_path", wrt=t)
    W(46, t, r"\sum_{j=1}^{3} (\hat{y} - y)\, w^{3}_{1,j}\, \operatorname{relu}'(z^{3}_{j})\, w^{2}_{j,1}",
      lambda n: sum(_r3(n, j) * n.w[2][j][1] for j in (1, 2, 3)), "drop_local", wrt=t, culprit=("z^{2}_{1}",))
    W(47, t, r"\sum_{j=1}^{3} (\hat{y} - y)\, w^{3}_{1,j}\, \operatorname{relu}'(z^{3}_{j})\, w^{2}_{j,2}\, "
             r"\operatorname{relu}'(z^{2}_{2})", lambda n: _r2(n, 2), "neighbour_param", wrt=t)
    W(48, t, r"\sum_{j=1}^{3} (\hat{y} - y)\, w^{3}_{1,j}\, \operatorname{relu}'(z^{3}_{j})\, w^{2}_{1,j}\, "
             r"\operatorname{relu}'(z^{2}_{1})",
      lambda n: sum(_r3(n, j) * n.w[2][1][j] for j in (1, 2, 3)) * n.step(n.z[2][1]), "swap_indices", wrt=t)

    t = "w^{1}_{1,2}"
    R(50, t, r"\delta^{2}_{1}\, x_2", lambda n: _r2(n, 1) * n.x[2], "delta", wrt=t)
    R(51, t, r"x_2 \operatorname{relu}'(z^{2}_{1}) \sum_{j} w^{2}_{j,1} w^{3}_{1,j} \operatorname{relu}'(z^{3}_{j}) (\hat{y} - y)",
      lambda n: _r2(n, 1) * n.x[2], "sum_open", wrt=t)
    W(52, t, r"\delta^{2}_{2}\, x_1", lambda n: _r2(n, 2) * n.x[1], "swap_indices", wrt=t)
    W(53, t, r"\delta^{2}_{1}\, x_1", lambda n: _r2(n, 1) * n.x[1], "neighbour_param", wrt=t, culprit=("x_{1}",))
    W(54, t, r"-\delta^{2}_{1}\, x_2", lambda n: -_r2(n, 1) * n.x[2], "sign", wrt=t)

    t = "w^{1}_{3,1}"
    R(60, t, r"x_1 \operatorname{relu}'(z^{2}_{3}) \left(w^{2}_{1,3}\delta^{3}_{1} + w^{2}_{2,3}\delta^{3}_{2} + "
             r"w^{2}_{3,3}\delta^{3}_{3}\right)", lambda n: _r2(n, 3) * n.x[1], "delta_sum", wrt=t)
    W(61, t, r"x_1 \left(w^{2}_{1,3}\delta^{3}_{1} + w^{2}_{2,3}\delta^{3}_{2} + w^{2}_{3,3}\delta^{3}_{3}\right)",
      lambda n: sum(_r3(n, j) * n.w[2][j][3] for j in (1, 2, 3)) * n.x[1], "drop_local", wrt=t, culprit=("z^{2}_{3}",))
    W(62, t, r"x_1 \operatorname{relu}'(z^{2}_{3}) \left(w^{2}_{1,3}\delta^{3}_{1} + w^{2}_{3,3}\delta^{3}_{3}\right)",
      lambda n: (_r3(n, 1) * n.w[2][1][3] + _r3(n, 3) * n.w[2][3][3]) * n.step(n.z[2][3]) * n.x[1], "drop_path", wrt=t)
    return out


# --- the [2,3,2,1] tanh net (tanh, tanh, identity; (y − ŷ)², no ½; mean over n = 2) ---------------

def _t4(n):                        # ∂L/∂ŷ = 2(ŷ − y)
    return 2 * (n.yh[1] - n.y[1])


def _t3(n, j):                     # ∂L/∂z^{3}_{j}
    return _t4(n) * n.w[3][1][j] * dt(n.a[3][j])


def _t2(n, k):
    return sum(_t3(n, j) * n.w[2][j][k] for j in (1, 2)) * dt(n.a[2][k])


def _J(n, f):                      # (1/n) Σ_e f(example e)
    return sum(f(n.ex(e)) for e in range(1, n.n + 1)) / n.n


def _tanh():
    S = "tanh"
    out = []

    def R(i, target, tex, fn, form, **kw):
        out.append(Answer(f"tanh-{i}", S, target, tex, fn, True, form, **kw))

    def W(i, target, tex, fn, kind, **kw):
        out.append(Answer(f"tanh-{i}", S, target, tex, fn, False, kind, **kw))

    t = "b^{3}_{1}"
    R(1, t, r"2(\hat{y} - y)", _t4, "plain", wrt=t)
    R(2, t, r"-2(y - \hat{y})", _t4, "sign_inside", wrt=t)
    R(3, t, r"2\hat{y} - 2y", _t4, "expanded", wrt=t)
    R(4, t, r"\frac{\partial J}{\partial b^{3}_{1}} = \frac{1}{n}\sum_{i=1}^{n} 2(\hat{y}_i - y_i)",
      lambda n: _J(n, _t4), "cost_1_over_n", cost=True)
    R(5, t, r"\frac{\partial J}{\partial b^{3}_{1}} = \frac{2}{m}\sum_{i} (\hat{y}_i - y_i)",
      lambda n: _J(n, _t4), "cost_1_over_m", cost=True)
    R(6, t, r"\frac{\partial J}{\partial b^{3}_{1}} = \frac{1}{n}\sum_{i=1}^{n} 2(\hat{y}_i - y_i) \approx -0.4729",
      lambda n: _J(n, _t4), "cost_chain_number", cost=True, value=(-0.4729, 4))
    R(7, t, r"\frac{\partial \mathcal{L}}{\partial b^{3}_{1}} = \frac{2}{n}\sum_{i=1}^{n}(\hat{y}_i - y_i)",
      lambda n: _J(n, _t4), "cost_mathcal", cost=True)
    W(8, t, r"\hat{y} - y", lambda n: n.yh[1] - n.y[1], "factor_2", wrt=t)
    W(9, t, r"2(y - \hat{y})", lambda n: -_t4(n), "sign", wrt=t)
    W(10, t, r"\frac{\partial J}{\partial b^{3}_{1}} = \sum_{i=1}^{n} 2(\hat{y}_i - y_i)",
      lambda n: 2 * _J(n, _t4), "factor_n", cost=True)
    W(11, t, r"\frac{\partial J}{\partial b^{3}_{1}} = \frac{1}{n}\sum_{i=1}^{n} (\hat{y}_i - y_i)",
      lambda n: _J(n, _t4) / 2, "factor_2", cost=True)
    W(12, t, r"\frac{2}{n}(\hat{y} - y)", lambda n: _t4(n) / n.n, "factor_n", wrt=t)

    t = "w^{3}_{1,2}"
    R(20, t, r"2(\hat{y} - y)\tanh(z^{3}_{2})", lambda n: _t4(n) * n.a[3][2], "tanh_of_z", wrt=t)
    R(21, t, r"\frac{\partial L}{\partial W^{[3]}_{12}} = 2(a^{[3]}_{1} - y)\, a^{[2]}_{2}", lambda n: _t4(n) * n.a[3][2],
      "bracketed")
    W(22, t, r"2(\hat{y} - y)\, a^{3}_{1}", lambda n: _t4(n) * n.a[3][1], "neighbour_param", wrt=t, culprit=("a^{3}_{1}",))
    W(23, t, r"(\hat{y} - y)\, a^{3}_{2}", lambda n: _t4(n) * n.a[3][2] / 2, "factor_2", wrt=t)
    W(24, t, r"4(\hat{y} - y)\, a^{3}_{2}", lambda n: 2 * _t4(n) * n.a[3][2], "factor_2", wrt=t)

    t = "w^{2}_{2,3}"
    R(30, t, r"2(\hat{y} - y)\, w^{3}_{1,2}(1 - (a^{3}_{2})^2)\, a^{2}_{3}", lambda n: _t3(n, 2) * n.a[2][3], "factored", wrt=t)
    R(31, t, r"2(\hat{y} - y)\, w^{3}_{1,2}\left(1 - \tanh^2(z^{3}_{2})\right) a^{2}_{3}", lambda n: _t3(n, 2) * n.a[2][3],
      "tanh_squared", wrt=t)
    R(32, t, r"\delta^{3}_{2}\, a^{2}_{3}", lambda n: _t3(n, 2) * n.a[2][3], "delta", wrt=t)
    R(33, t, r"2(\hat{y} - y)\, w^{3}_{1,2}\, g'(z^{3}_{2})\, a^{2}_{3}", lambda n: _t3(n, 2) * n.a[2][3], "g_prime", wrt=t)
    R(34, t, r"2(\hat{y} - y)\, w^{3}_{1,2}\, \frac{4}{(e^{z^{3}_{2}} + e^{-z^{3}_{2}})^2}\, a^{2}_{3}",
      lambda n: _t3(n, 2) * n.a[2][3], "sech_exp", wrt=t)
    R(35, t, r"2(\hat{y} - y)\, w^{3}_{1,2}\, \tanh'(z^{3}_{2})\, a^{2}_{3}", lambda n: _t3(n, 2) * n.a[2][3],
      "tanh_prime", wrt=t)
    R(36, t, r"\frac{\partial L}{\partial w^{2}_{2,3}} = \delta^{3}_{2} a^{2}_{3} \approx -0.2307", lambda n: _t3(n, 2) * n.a[2][3],
      "chain_number", value=(-0.2307, 4))
    R(37, t, r"2\left(\hat{y} - y\right) w^{3}_{1,2} a^{2}_{3} - 2\left(\hat{y} - y\right) w^{3}_{1,2} (a^{3}_{2})^2 a^{2}_{3}",
      lambda n: _t3(n, 2) * n.a[2][3], "expanded", wrt=t)
    W(38, t, r"2(\hat{y} - y)\, w^{3}_{1,2}\, a^{3}_{2}(1 - a^{3}_{2})\, a^{2}_{3}",
      lambda n: _t4(n) * n.w[3][1][2] * ds(n.a[3][2]) * n.a[2][3], "wrong_act_derivative", wrt=t)
    W(39, t, r"2(\hat{y} - y)\, w^{3}_{1,2}(1 - (z^{3}_{2})^2)\, a^{2}_{3}",
      lambda n: _t4(n) * n.w[3][1][2] * dt(n.z[3][2]) * n.a[2][3], "z_for_a", wrt=t, culprit=("z^{3}_{2}",))
    W(40, t, r"2(\hat{y} - y)\, w^{3}_{1,2}(1 - \tanh^2(a^{3}_{2}))\, a^{2}_{3}",
      lambda n: _t4(n) * n.w[3][1][2] * dt(n.tanh(n.a[3][2])) * n.a[2][3], "sigma_prime_at_a", wrt=t)
    W(41, t, r"(\hat{y} - y)\, w^{3}_{1,2}(1 - (a^{3}_{2})^2)\, a^{2}_{3}", lambda n: _t3(n, 2) * n.a[2][3] / 2,
      "factor_2", wrt=t)
    W(42, t, r"2(\hat{y} - y)\, w^{3}_{1,2}(1 - a^{3}_{2})\, a^{2}_{3}",
      lambda n: _t4(n) * n.w[3][1][2] * (1 - n.a[3][2]) * n.a[2][3], "wrong_act_derivative", wrt=t)
    W(43, t, r"2(\hat{y} - y)\, w^{3}_{1,2}\, a^{2}_{3}", lambda n: _t4(n) * n.w[3][1][2] * n.a[2][3], "drop_local", wrt=t,
      culprit=("z^{3}_{2}",))

    R(44, t, r"2 (\hat{y} - y) \cdot w^{3}_{1,2} \cdot \operatorname{sech}^2(z^{3}_{2}) \cdot a^{2}_{3}",
      lambda n: _t3(n, 2) * n.a[2][3], "sech", wrt=t)
    R(45, t, r"\frac{\partial E}{\partial w^{2}_{2,3}} = \frac{1}{m}\sum_{i} 2(\hat{y}_i - y_i)\, w^{3}_{1,2}(1 - (a^{3}_{2})^2)\, a^{2}_{3}",
      lambda n: _J(n, lambda e: _t3(e, 2) * e.a[2][3]), "cost_E_sum_i", cost=True)
    R(46, t, r"2(ŷ − y) w^{3}_{1,2} (1 − (a^{3}_{2})²) a^{2}_{3}", lambda n: _t3(n, 2) * n.a[2][3], "unicode", wrt=t)
    W(47, t, r"\frac{\partial E}{\partial w^{2}_{2,3}} = \sum_{i} 2(\hat{y}_i - y_i)\, w^{3}_{1,2}(1 - (a^{3}_{2})^2)\, a^{2}_{3}",
      lambda n: 2 * _J(n, lambda e: _t3(e, 2) * e.a[2][3]), "factor_n", cost=True)

    t = "w^{2}_{1,2}"
    R(50, t, r"2(\hat{y} - y) w^{3}_{1,1}(1 - (a^{3}_{1})^2) a^{2}_{2}", lambda n: _t3(n, 1) * n.a[2][2], "factored", wrt=t)
    W(51, t, r"2(\hat{y} - y) w^{3}_{1,2}(1 - (a^{3}_{2})^2) a^{2}_{1}", lambda n: _t3(n, 2) * n.a[2][1], "swap_indices", wrt=t)
    W(52, t, r"-2(\hat{y} - y) w^{3}_{1,1}(1 - (a^{3}_{1})^2) a^{2}_{2}", lambda n: -_t3(n, 1) * n.a[2][2], "sign", wrt=t)

    t = "w^{1}_{1,1}"
    R(60, t, r"\sum_{j=1}^{2} 2(\hat{y} - y)\, w^{3}_{1,j}(1 - (a^{3}_{j})^2)\, w^{2}_{j,1}(1 - (a^{2}_{1})^2)\, x_1",
      lambda n: _t2(n, 1) * n.x[1], "sum_notation", wrt=t)
    R(61, t, r"\delta^{2}_{1}\, x_1", lambda n: _t2(n, 1) * n.x[1], "delta", wrt=t)
    R(62, t, r"x_1 (1 - (a^{2}_{1})^2)\left(w^{2}_{1,1}\delta^{3}_{1} + w^{2}_{2,1}\delta^{3}_{2}\right)",
      lambda n: _t2(n, 1) * n.x[1], "delta_sum", wrt=t)
    W(63, t, r"2(\hat{y} - y)\, w^{3}_{1,1}(1 - (a^{3}_{1})^2)\, w^{2}_{1,1}(1 - (a^{2}_{1})^2)\, x_1",
      lambda n: _t3(n, 1) * n.w[2][1][1] * dt(n.a[2][1]) * n.x[1], "drop_path", wrt=t)
    W(64, t, r"\delta^{2}_{1}\, x_1 + 2(\hat{y} - y)\, w^{3}_{1,1}(1 - (a^{3}_{1})^2)\, w^{2}_{1,2}(1 - (a^{2}_{2})^2)\, x_1",
      lambda n: _t2(n, 1) * n.x[1] + _t3(n, 1) * n.w[2][1][2] * dt(n.a[2][2]) * n.x[1], "add_path", wrt=t)
    W(65, t, r"x_1 \left(w^{2}_{1,1}\delta^{3}_{1} + w^{2}_{2,1}\delta^{3}_{2}\right)",
      lambda n: sum(_t3(n, j) * n.w[2][j][1] for j in (1, 2)) * n.x[1], "drop_local", wrt=t, culprit=("z^{2}_{1}",))
    W(66, t, r"x_1 (1 - a^{2}_{1})\left(w^{2}_{1,1}\delta^{3}_{1} + w^{2}_{2,1}\delta^{3}_{2}\right)",
      lambda n: sum(_t3(n, j) * n.w[2][j][1] for j in (1, 2)) * (1 - n.a[2][1]) * n.x[1], "wrong_act_derivative", wrt=t)
    W(67, t, r"x_2 (1 - (a^{2}_{1})^2)\left(w^{2}_{1,1}\delta^{3}_{1} + w^{2}_{2,1}\delta^{3}_{2}\right)",
      lambda n: _t2(n, 1) * n.x[2], "neighbour_param", wrt=t, culprit=("x_{2}",))
    return out


# --- the [2,3,3] sigmoid / softmax net, cross-entropy, one example (y = [0, 1, 0]) ------------------

def _s3(n, k):                     # ∂L/∂z^{3}_{k} = ŷ_k − y_k (y a probability vector)
    return n.yh[k] - n.y[k]


def _s2(n, j):                     # ∂L/∂z^{2}_{j}
    return sum(_s3(n, k) * n.w[2][k][j] for k in (1, 2, 3)) * ds(n.a[2][j])


def _softmax():
    S = "softmax"
    out = []

    def R(i, target, tex, fn, form, **kw):
        out.append(Answer(f"soft-{i}", S, target, tex, fn, True, form, **kw))

    def W(i, target, tex, fn, kind, **kw):
        out.append(Answer(f"soft-{i}", S, target, tex, fn, False, kind, **kw))

    def _sum(n, f):
        return sum(f(k) for k in (1, 2, 3))

    t = "b^{2}_{1}"
    R(1, t, r"\hat{y}_1 - y_1", lambda n: _s3(n, 1), "plain", wrt=t)
    R(2, t, r"\frac{e^{z^{3}_{1}}}{e^{z^{3}_{1}} + e^{z^{3}_{2}} + e^{z^{3}_{3}}} - y_1", lambda n: _s3(n, 1), "exp_form",
      wrt=t)
    R(3, t, r"-y_1(1 - \hat{y}_1) + y_2 \hat{y}_1 + y_3 \hat{y}_1", lambda n: _s3(n, 1), "paths_written", wrt=t)
    R(4, t, r"\frac{\partial L}{\partial b^{2}_{1}} = \hat{y}_1 - y_1 \approx 0.2369", lambda n: _s3(n, 1), "chain_number",
      value=(0.2369, 4))
    R(5, t, r"\frac{\partial L}{\partial b^{[2]}_{1}} = a^{[2]}_{1} - y_1", lambda n: _s3(n, 1), "bracketed")
    W(6, t, r"y_1 - \hat{y}_1", lambda n: -_s3(n, 1), "sign", wrt=t)
    W(7, t, r"\hat{y}_2 - y_2", lambda n: _s3(n, 2), "neighbour_param", wrt=t)
    W(8, t, r"-y_1(1 - \hat{y}_1)", lambda n: -n.y[1] * (1 - n.yh[1]), "drop_path", wrt=t)
    W(9, t, r"\hat{y}_1(1 - \hat{y}_1)(\hat{y}_1 - y_1)", lambda n: ds(n.yh[1]) * _s3(n, 1), "wrong_act_derivative", wrt=t)
    W(10, t, r"\hat{y}_1 - y_1 \approx 0.7631", lambda n: _s3(n, 1), "wrong_number", wrt=t, value=(0.7631, 4))
    W(11, t, r"-y_1(1 - \hat{y}_1) + y_2 \hat{y}_1", lambda n: -n.y[1] * (1 - n.yh[1]) + n.y[2] * n.yh[1], "drop_path",
      wrt=t)

    t = "w^{2}_{2,3}"
    R(20, t, r"(\hat{y}_2 - y_2)\, a^{2}_{3}", lambda n: _s3(n, 2) * n.a[2][3], "factored", wrt=t)
    R(21, t, r"(a^{(3)}_{2} - y_2)\, a^{(2)}_{3}", lambda n: _s3(n, 2) * n.a[2][3], "parenthesised", wrt=t)
    R(22, t, r"\delta^{3}_{2}\, \sigma(z^{2}_{3})", lambda n: _s3(n, 2) * n.a[2][3], "delta", wrt=t)
    R(23, t, r"\hat{y}_2 a^{2}_{3} - y_2 a^{2}_{3}", lambda n: _s3(n, 2) * n.a[2][3], "expanded", wrt=t)
    R(28, t, r"\frac{\partial L}{\partial w^{2}_{2,3}} = (\hat{y}_2 - y_2)\, a^{2}_{3} \approx -0.221",
      lambda n: _s3(n, 2) * n.a[2][3], "chain_number", value=(-0.221, 3))
    W(24, t, r"(\hat{y}_2 - y_2)\, a^{2}_{2}", lambda n: _s3(n, 2) * n.a[2][2], "neighbour_param", wrt=t,
      culprit=("a^{2}_{2}",))
    W(25, t, r"(y_2 - \hat{y}_2)\, a^{2}_{3}", lambda n: -_s3(n, 2) * n.a[2][3], "sign", wrt=t)
    W(26, t, r"(\hat{y}_2 - y_2)\, z^{2}_{3}", lambda n: _s3(n, 2) * n.z[2][3], "z_for_a", wrt=t, culprit=("z^{2}_{3}",))
    W(27, t, r"(\hat{y}_3 - y_3)\, a^{2}_{2}", lambda n: _s3(n, 3) * n.a[2][2], "swap_indices", wrt=t)

    t = "w^{1}_{2,1}"
    R(30, t, r"\sum_{k=1}^{3}(\hat{y}_k - y_k)\, w^{2}_{k,2}\, a^{2}_{2}(1 - a^{2}_{2})\, x_1", lambda n: _s2(n, 2) * n.x[1],
      "sum_notation", wrt=t)
    R(31, t, r"\left[(\hat{y}_1 - y_1) w^{2}_{1,2} + (\hat{y}_2 - y_2) w^{2}_{2,2} + (\hat{y}_3 - y_3) w^{2}_{3,2}\right] "
             r"\sigma'(z^{2}_{2})\, x_1", lambda n: _s2(n, 2) * n.x[1], "bracketed_sum", wrt=t)
    R(32, t, r"\delta^{2}_{2}\, x_1", lambda n: _s2(n, 2) * n.x[1], "delta", wrt=t)
    R(33, t, r"\frac{\partial L}{\partial w^{1}_{2,1}} = \delta^{2}_{2} x_1 \approx -0.09283", lambda n: _s2(n, 2) * n.x[1],
      "chain_number", value=(-0.09283, 5))
    W(34, t, r"\left[(\hat{y}_1 - y_1) w^{2}_{1,2} + (\hat{y}_3 - y_3) w^{2}_{3,2}\right] \sigma'(z^{2}_{2})\, x_1",
      lambda n: (_s3(n, 1) * n.w[2][1][2] + _s3(n, 3) * n.w[2][3][2]) * ds(n.a[2][2]) * n.x[1], "drop_path", wrt=t)
    W(35, t, r"\sum_{k=1}^{3}(\hat{y}_k - y_k)\, w^{2}_{k,1}\, a^{2}_{1}(1 - a^{2}_{1})\, x_2", lambda n: _s2(n, 1) * n.x[2],
      "swap_indices", wrt=t)
    W(36, t, r"\sum_{k=1}^{3}(\hat{y}_k - y_k)\, w^{2}_{k,2}\, a^{2}_{2}\, x_1",
      lambda n: _sum(n, lambda k: _s3(n, k) * n.w[2][k][2]) * n.a[2][2] * n.x[1], "drop_one_minus_a", wrt=t)
    W(37, t, r"\sum_{k=1}^{3}(\hat{y}_k - y_k)\, w^{2}_{k,2}\, z^{2}_{2}(1 - z^{2}_{2})\, x_1",
      lambda n: _sum(n, lambda k: _s3(n, k) * n.w[2][k][2]) * ds(n.z[2][2]) * n.x[1], "z_for_a", wrt=t,
      culprit=("z^{2}_{2}",))
    W(38, t, r"\sum_{k=1}^{3}(\hat{y}_k - y_k)\, w^{2}_{k,2}\, \sigma'(a^{2}_{2})\, x_1",
      lambda n: _sum(n, lambda k: _s3(n, k) * n.w[2][k][2]) * ds(n.sig(n.a[2][2])) * n.x[1], "sigma_prime_at_a", wrt=t)
    W(39, t, r"\sum_{k=1}^{3}(\hat{y}_k - y_k)\, w^{2}_{2,k}\, a^{2}_{2}(1 - a^{2}_{2})\, x_1",
      lambda n: _sum(n, lambda k: _s3(n, k) * n.w[2][2][k]) * ds(n.a[2][2]) * n.x[1], "swap_indices", wrt=t)
    W(40, t, r"\sum_{k=1}^{3}(\hat{y}_k - y_k)\, w^{2}_{k,2}\, x_1",
      lambda n: _sum(n, lambda k: _s3(n, k) * n.w[2][k][2]) * n.x[1], "drop_local", wrt=t, culprit=("z^{2}_{2}",))
    W(41, t, r"\sum_{k=1}^{3}(\hat{y}_k - y_k)\, w^{2}_{k,2}\, a^{2}_{2}(1 - a^{2}_{2})\, x_2",
      lambda n: _s2(n, 2) * n.x[2], "neighbour_param", wrt=t, culprit=("x_{2}",))
    W(42, t, r"-\delta^{2}_{2}\, x_1", lambda n: -_s2(n, 2) * n.x[1], "sign", wrt=t)
    return out


ANSWERS = _lec() + _relu() + _tanh() + _softmax()
