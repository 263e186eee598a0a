r"""The held-out answers in matrix notation: the slides' gender network (derivations/gender.toml,
[2, 2, 1], sigmoid, BCE, the mean over n = 4).

Each answer is its LaTeX and, next to it, the same answer by hand as a PyTorch function of the
oracle's point ``m`` (``m.a1``, ``m.W2``, ``m.dz2`` = autograd's ∂(Σ_e L_e)/∂z_2, ``m.one`` a
(1, n) row of ones).  Targets: ``dW_2`` etc. are gradients of the summed loss (the slides'
per-example convention, dz_2 = ŷ − y); ``J:W_2`` of the mean J.
"""
from __future__ import annotations

from heldout_schema import Answer


def _sp(t):                      # σ′ from the activation, elementwise
    return t * (1 - t)


def _rows(t):                    # the sum over the batch
    return t.sum(dim=0, keepdim=True)


def _sig(t):
    import torch
    return torch.sigmoid(t)


def _gender():
    S = "gender"
    out = []

    def R(i, target, tex, fn, form, **kw):
        out.append(Answer(f"gen-{i}", S, target, tex, fn, True, form, **kw))

    def W(i, target, tex, fn, kind, **kw):
        out.append(Answer(f"gen-{i}", S, target, tex, fn, False, kind, **kw))

    t = "dz_2"
    R(1, t, r"a_2 - y", lambda m: m.a2 - m.y, "a_2", wrt=t)
    R(2, t, r"\frac{\partial L}{\partial z_2} = \sigma(z_2) - y", lambda m: _sig(m.z2) - m.y, "sigma_of_z")
    R(3, t, r"dZ^{[2]} = A^{[2]} - y", lambda m: m.a2 - m.y, "bracketed")
    W(4, t, r"y - \hat{y}", lambda m: m.y - m.yh, "sign", wrt=t)
    W(5, t, r"\frac{\partial L}{\partial z_2} = \frac{1}{4}(a_2 - y)", lambda m: (m.a2 - m.y) / 4, "factor_n")
    W(6, t, r"(\hat{y} - y) \odot \hat{y} \odot (1 - \hat{y})", lambda m: (m.yh - m.y) * _sp(m.yh), "double_local", wrt=t)

    t = "dW_2"
    R(10, t, r"\mathbf{a}_1^T dz_2", lambda m: m.a1.T @ m.dz2, "mathbf", wrt=t)
    R(11, t, r"a_1' * dz_2", lambda m: m.a1.T @ m.dz2, "matlab_transpose", wrt=t)
    R(12, t, r"dW^{[2]} = A^{[1]T} dZ^{[2]}", lambda m: m.a1.T @ m.dz2, "bracketed")
    R(13, t, r"(dz_2^T a_1)^T", lambda m: (m.dz2.T @ m.a1).T, "transpose_of_product", wrt=t)
    R(14, t, r"\sigma(x W_1 + b_1)^T (\hat{y} - y)", lambda m: _sig(m.x @ m.W1 + m.b1).T @ (m.yh - m.y), "forward_written",
      wrt=t)
    R(15, t, r"a_1^{\top} (a_2 - y)", lambda m: m.a1.T @ (m.a2 - m.y), "top", wrt=t)
    R(16, t, r"dW_2 = a_1^T \cdot \delta_2", lambda m: m.a1.T @ m.dz2, "delta")
    W(17, t, r"a_1 dz_2", lambda m: m.a1 @ m.dz2, "transpose", wrt=t)
    W(18, t, r"dz_2^T a_1", lambda m: m.dz2.T @ m.a1, "reorder", wrt=t)
    W(19, t, r"x^T dz_2", lambda m: m.x.T @ m.dz2, "wrong_matrix", wrt=t, culprit=("x",))
    W(20, t, r"z_1^T dz_2", lambda m: m.z1.T @ m.dz2, "z_for_a", wrt=t, culprit=("z_1",))
    W(21, t, r"a_1^T (y - \hat{y})", lambda m: m.a1.T @ (m.y - m.yh), "sign", wrt=t)
    W(22, t, r"\frac{\partial L}{\partial W_2} = \frac{1}{n} a_1^T dz_2", lambda m: m.a1.T @ m.dz2 / m.n, "factor_n")
    W(23, t, r"a_1^T (dz_2 \odot \hat{y} \odot (1 - \hat{y}))", lambda m: m.a1.T @ (m.dz2 * _sp(m.yh)), "double_local",
      wrt=t)

    t = "J:W_2"
    R(30, t, r"\frac{\partial J}{\partial W_2} = \frac{1}{n} a_1^T (\hat{y} - y)", lambda m: m.a1.T @ (m.yh - m.y) / m.n,
      "cost_1_over_n")
    R(31, t, r"\frac{\partial J}{\partial W^{[2]}} = \frac{1}{m} A^{[1]T} dZ^{[2]}", lambda m: m.a1.T @ m.dz2 / m.n,
      "cost_bracketed")
    R(32, t, r"\frac{\partial J}{\partial W_2} = \frac{1}{4} a_1^T dz_2", lambda m: m.a1.T @ m.dz2 / 4, "cost_number_n")
    W(33, t, r"\frac{\partial J}{\partial W_2} = a_1^T (\hat{y} - y)", lambda m: m.a1.T @ (m.yh - m.y), "factor_n")
    W(34, t, r"\frac{\partial J}{\partial W_2} = \frac{2}{n} a_1^T (\hat{y} - y)", lambda m: 2 * m.a1.T @ (m.yh - m.y) / m.n,
      "factor_2")
    W(35, t, r"\frac{\partial J}{\partial W_2} = \frac{1}{n} (\hat{y} - y)^T a_1", lambda m: (m.yh - m.y).T @ m.a1 / m.n,
      "reorder")

    t = "db_2"
    R(40, t, r"\mathbf{1}^T dz_2", lambda m: m.one @ m.dz2, "ones_row", wrt=t)
    R(41, t, r"\operatorname{sum}(dz_2)", lambda m: _rows(m.dz2), "operatorname_sum", wrt=t)
    R(42, t, r"\sum_e (\hat{y} - y)", lambda m: _rows(m.yh - m.y), "sum_e", wrt=t)
    R(43, t, r"\sum_{\text{rows}} (a_2 - y)", lambda m: _rows(m.a2 - m.y), "sum_rows", wrt=t)
    W(44, t, r"dz_2", lambda m: m.dz2, "missing_sum", wrt=t)
    W(45, t, r"-\sum dz_2", lambda m: -_rows(m.dz2), "sign", wrt=t)

    t = "J:b_2"
    R(46, t, r"\frac{\partial J}{\partial b_2} = \frac{1}{n} \sum dz_2", lambda m: _rows(m.dz2) / m.n, "cost_1_over_n")
    W(47, t, r"\frac{\partial J}{\partial b_2} = \sum dz_2", lambda m: _rows(m.dz2), "factor_n")

    t = "da_1"
    R(50, t, r"dz_2 W_2^T", lambda m: m.dz2 @ m.W2.T, "plain", wrt=t)
    R(51, t, r"(\hat{y} - y) W_2^{\top}", lambda m: (m.yh - m.y) @ m.W2.T, "top", wrt=t)
    W(52, t, r"dz_2 W_2", lambda m: m.dz2 @ m.W2, "transpose", wrt=t)
    W(53, t, r"W_2^T dz_2", lambda m: m.W2.T @ m.dz2, "reorder", wrt=t)
    W(54, t, r"dz_2 W_2^T \odot a_1 (1 - a_1)", lambda m: (m.dz2 @ m.W2.T) * _sp(m.a1), "extra_factor", wrt=t)

    t = "dz_1"
    R(60, t, r"dz_2 W_2^T \odot a_1 \odot (1 - a_1)", lambda m: (m.dz2 @ m.W2.T) * _sp(m.a1), "odot", wrt=t)
    R(61, t, r"da_1 \odot \sigma'(z_1)", lambda m: m.da1 * _sp(_sig(m.z1)), "sigma_prime", wrt=t)
    R(62, t, r"(dz_2 W_2^T) \circ a_1(1 - a_1)", lambda m: (m.dz2 @ m.W2.T) * _sp(m.a1), "circ", wrt=t)
    R(63, t, r"\delta_2 W_2^T \odot \frac{\partial a_1}{\partial z_1}", lambda m: (m.dz2 @ m.W2.T) * _sp(m.a1), "leibniz",
      wrt=t)
    R(64, t, r"dZ^{[1]} = dZ^{[2]} W^{[2]T} \odot A^{[1]} \odot (1 - A^{[1]})", lambda m: (m.dz2 @ m.W2.T) * _sp(m.a1),
      "bracketed")
    R(65, t, r"(\hat{y} - y) W_2^T \odot \sigma(z_1)(1 - \sigma(z_1))", lambda m: ((m.yh - m.y) @ m.W2.T) * _sp(_sig(m.z1)),
      "sigma_of_z", wrt=t)
    W(66, t, r"dz_2 W_2^T \odot a_1", lambda m: (m.dz2 @ m.W2.T) * m.a1, "drop_one_minus_a", wrt=t)
    W(67, t, r"dz_2 W_2^T \odot z_1(1 - z_1)", lambda m: (m.dz2 @ m.W2.T) * _sp(m.z1), "z_for_a", wrt=t, culprit=("z_1",))
    W(68, t, r"dz_2 W_2^T", lambda m: m.dz2 @ m.W2.T, "drop_local", wrt=t)
    W(69, t, r"dz_2 W_2^T \odot \sigma'(a_1)", lambda m: (m.dz2 @ m.W2.T) * _sp(_sig(m.a1)), "sigma_prime_at_a", wrt=t)
    W(70, t, r"dz_2 W_2 \odot a_1(1 - a_1)", lambda m: (m.dz2 @ m.W2) * _sp(m.a1), "transpose", wrt=t)
    W(71, t, r"-dz_2 W_2^T \odot a_1(1 - a_1)", lambda m: -(m.dz2 @ m.W2.T) * _sp(m.a1), "sign", wrt=t)

    t = "dW_1"
    R(80, t, r"x^T dz_1", lambda m: m.x.T @ m.dz1, "plain", wrt=t)
    R(81, t, r"X^T (dz_2 W_2^T \odot a_1 (1 - a_1))", lambda m: m.x.T @ ((m.dz2 @ m.W2.T) * _sp(m.a1)), "expanded_chain",
      wrt=t)
    R(82, t, r"(dz_1^T x)^T", lambda m: (m.dz1.T @ m.x).T, "transpose_of_product", wrt=t)
    W(83, t, r"dz_1^T x", lambda m: m.dz1.T @ m.x, "reorder", wrt=t)
    W(84, t, r"x^T (dz_2 W_2^T)", lambda m: m.x.T @ (m.dz2 @ m.W2.T), "drop_local", wrt=t)
    W(85, t, r"a_1^T dz_1", lambda m: m.a1.T @ m.dz1, "wrong_matrix", wrt=t, culprit=("a_1",))
    W(86, t, r"x\, dz_1^T", lambda m: m.x @ m.dz1.T, "transpose", wrt=t)

    t = "db_1"
    R(90, t, r"\sum dz_1", lambda m: _rows(m.dz1), "plain", wrt=t)
    R(91, t, r"\operatorname{sum}(da_1 \odot a_1 \odot (1 - a_1))", lambda m: _rows(m.da1 * _sp(m.a1)), "operatorname_sum",
      wrt=t)
    W(92, t, r"\sum da_1", lambda m: _rows(m.da1), "drop_local", wrt=t)
    return out


ANSWERS = _gender()
