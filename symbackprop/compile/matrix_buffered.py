r"""The buffered gradient code of the matrix form: every batch-sized array in a reused buffer.

``_fast_gradient_lines(md)`` prints the body of ``gradient_matrices`` (and, with ``vector=True``,
of ``gradient_vector``) for sigmoid hidden layers with a fused output (sigmoid + BCE or softmax +
cross-entropy, where dz_L = r(ŷ − y)): the slides' steps in the same order, each written into a
buffer with ``out=`` or in place, so a call allocates only the small gradients it returns.
Per sigmoid layer three (n, N_l) buffers: t_l (−z_l, then e^{−z_l}, then σ′(z_l)), a_l and dz_l
(da_l first, then dz_l in place). ``_workspace_source`` prints the free list that keeps them.
Other networks get the general code of ``matrix_numpy`` (one expression per step).
"""
from __future__ import annotations

from ..derivation.matrix_form import MatrixDerivation

#: Output (loss, activation) pairs the buffered gradient code covers: dz_L = r (ŷ − y) for both.
_FAST_OUTPUTS = (("bce", "sigmoid"), ("cross_entropy", "softmax"))


def _fast_supported(md: MatrixDerivation) -> bool:
    """Sigmoid hidden layers and a fused output pair: the buffered, in-place gradient code applies."""
    return all(a == "sigmoid" for a in md.activations[:-1]) and (md.loss, md.activations[-1]) in _FAST_OUTPUTS


def _fast_gradient_lines(md: MatrixDerivation, vector: bool = False) -> list:
    """The body of ``gradient_matrices`` for sigmoid hidden layers and a fused output, with every
    array of the batch in a reused per-thread buffer (``_workspace``) and every step in place.

    Per sigmoid layer l the buffer t_l holds −z_l = a_{l−1}(−W_l) − b_l, then s_l = e^{−z_l}
    (clipped at e^{709}), then σ'(z_l) = s_l a_l² = a_l ⊙ (1 − a_l) (a product: no cancellation);
    a_l = 1/(1 + s_l). Backward, da_l = dz_{l+1} W_{l+1}ᵀ is written into dz_l's buffer and
    multiplied by σ'(z_l) in place; row totals are ``ones @ dz`` (one BLAS call).
    ``vector``: the parameters come as views of the flat vector ``v`` and dW_lᵀ, db_l are written
    straight into the flat gradient ``g`` (PARAMETERS order: per layer the block [dW_l; db_l]ᵀ, or with one
    shared bias per layer dW_lᵀ followed by db_l, the sum of ``ones @ dz_l`` over the layer's nodes)."""
    L = md.depth
    shared = md.shared_biases
    steps = {s.name: s for s in md.backward}

    def note(name):
        s = steps.get(name)
        return f"  # {s.number}. {s.name} = {s.reference.text()}" if s is not None else ""

    def act(l):
        return "x" if l == 0 else ("yhat" if l == L else f"a_{l}")

    bufs = []
    for l in range(1, L + 1):
        bufs += [f"t_{l}", act(l), f"dz_{l}"]
    out = []
    starts = {}
    if vector:
        off = 0
        for l in range(1, L + 1):
            M, N = md.layers[l - 1], md.layers[l]
            starts[l] = off
            if shared:  # W_lᵀ (N, M), then the layer's one bias
                out.append(f"    W_{l} = v[{off}:{off + N * M}].reshape({N}, {M}).T")
                out.append(f"    b_{l} = v[{off + N * M}:{off + N * M + 1}].reshape(1, 1)")
                off += N * M + 1
                continue
            k = N * (M + 1)
            out.append(f"    B_{l} = v[{off}:{off + k}].reshape({N}, {M + 1})")
            out.append(f"    W_{l} = B_{l}[:, :{M}].T")
            out.append(f"    b_{l} = B_{l}[:, {M}:].T")
            off += k
        out.append(f"    g = numpy.empty({off})")
        off = 0
        for l in range(1, L + 1):
            M, N = md.layers[l - 1], md.layers[l]
            if shared:
                out.append(f"    G_{l} = g[{off}:{off + N * M}].reshape({N}, {M})")
                off += N * M + 1
                continue
            k = N * (M + 1)
            out.append(f"    G_{l} = g[{off}:{off + k}].reshape({N}, {M + 1})")
            off += k
    out.append("    ws = _workspace(x.shape[0])")
    out.append(f"    {', '.join(bufs)}, ones = ws[1]")
    for l in range(1, L + 1):
        a_prev, a = act(l - 1), act(l)
        if l == L and md.activations[-1] == "softmax":
            out.append(f"    numpy.matmul({a_prev}, W_{l}, out=t_{l})")
            out.append(f"    t_{l} += b_{l}  # z_{l} = {a_prev} W_{l} + b_{l}")
            out.append(f"    t_{l} -= numpy.max(t_{l}, axis=1, keepdims=True)")
            out.append(f"    numpy.exp(t_{l}, out={a})")
            out.append(f"    {a} /= numpy.sum({a}, axis=1, keepdims=True)  # {a} = softmax(z_{l})")
            continue
        out.append(f"    numpy.matmul({a_prev}, numpy.negative(W_{l}), out=t_{l})")
        out.append(f"    t_{l} -= b_{l}  # t_{l} = -z_{l} = -({a_prev} W_{l} + b_{l})")
        out.append(f"    numpy.minimum(t_{l}, 709.0, out=t_{l})")
        out.append(f"    numpy.exp(t_{l}, out=t_{l})  # t_{l} = s_{l} = e^(-z_{l})")
        out.append(f"    numpy.add(t_{l}, 1.0, out={a})")
        out.append(f"    numpy.divide(1.0, {a}, out={a})  # {a} = 1/(1 + s_{l}) = σ(z_{l})")
        if l < L:
            out.append(f"    t_{l} *= {a}")
            out.append(f"    t_{l} *= {a}  # t_{l} = s_{l} {a}^2 = {a} ⊙ (1 − {a}) = σ'(z_{l})")
    out.append(f"    numpy.subtract(yhat, y, out=dz_{L})")
    out.append(f"    dz_{L} *= r" + note(f"dz_{L}"))
    grads = []
    for l in range(L, 0, -1):
        M = md.layers[l - 1]
        if vector and shared:
            N = md.layers[l]
            out.append(f"    numpy.matmul(dz_{l}.T, {act(l - 1)}, out=G_{l})" + note(f"dW_{l}") + " (transposed)")
            out.append(f"    g[{starts[l] + N * M}] = numpy.sum(ones @ dz_{l})" + note(f"db_{l}"))
        elif vector:
            out.append(f"    numpy.matmul(dz_{l}.T, {act(l - 1)}, out=G_{l}[:, :{M}])" + note(f"dW_{l}") + " (transposed)")
            out.append(f"    numpy.matmul(ones, dz_{l}, out=G_{l}[:, {M}])" + note(f"db_{l}"))
        elif shared:
            out.append(f"    dW_{l} = {act(l - 1)}.T @ dz_{l}" + note(f"dW_{l}"))
            out.append(f"    db_{l} = numpy.sum(ones @ dz_{l}).reshape(1, 1)" + note(f"db_{l}"))
        else:
            out.append(f"    dW_{l} = {act(l - 1)}.T @ dz_{l}" + note(f"dW_{l}"))
            out.append(f"    db_{l} = (ones @ dz_{l}).reshape(1, -1)" + note(f"db_{l}"))
        if l > 1:
            out.append(f"    numpy.matmul(dz_{l}, W_{l}.T, out=dz_{l - 1})" + note(f"da_{l - 1}"))
            out.append(f"    dz_{l - 1} *= t_{l - 1}" + note(f"dz_{l - 1}"))
        grads.append(f"(dW_{l}, db_{l})")
    out.append("    _release(ws)")
    return out


def _workspace_source(md: MatrixDerivation) -> str:
    """``_workspace(n)`` / ``_release(ws)``: the batch buffers of the gradient code, reused between calls.

    A free list (``_POOL``, at most two sets): a call takes a set of the right batch size or makes
    one, and gives it back at the end, so threads never share a buffer (list.pop/append are atomic)
    and memory stays bounded; no import beyond NumPy."""
    shapes = []
    for l in range(1, md.depth + 1):
        shapes += [md.layers[l]] * 3
    return "\n".join([
        f"_WIDTHS = {tuple(shapes)!r}",
        "_POOL = []",
        "",
        "",
        "def _workspace(n):",
        '    """(n, (t_1, a_1, dz_1, ..., ones)): float arrays of n rows, reused from an earlier call of the',
        '    same batch size when one is free (the gradients returned are always fresh arrays)."""',
        "    try:",
        "        ws = _POOL.pop()",
        "    except IndexError:",
        "        ws = None",
        "    if ws is None or ws[0] != n:",
        "        ws = (n, tuple(numpy.empty((n, k)) for k in _WIDTHS) + (numpy.ones(n),))",
        "    return ws",
        "",
        "",
        "def _release(ws):",
        "    if len(_POOL) < 2:",
        "        _POOL.append(ws)",
        "",
        "",
        "def clear_workspace():",
        '    """Free the reused batch buffers."""',
        "    _POOL.clear()",
    ])
