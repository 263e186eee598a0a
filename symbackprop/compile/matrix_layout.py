"""The flat-vector layout of the generated matrix-form module: where each layer's block lies
(``_views``), every parameter's name in order (``_parameter_order``, and the same function as source
text, ``_PARAMETER_NAMES_SOURCE``, so the module builds PARAMETERS on first use), and the shared-bias
variant of the runtime's flat-vector functions (one b^{l} after each layer's weights). Split from
``matrix_numpy`` to keep that module readable; it is data and small functions, no SymPy."""
from __future__ import annotations


def _block_size(M: int, N: int, shared: bool = False) -> int:
    """Entries of one layer in a flat vector: N (M + 1), or N M + 1 with one shared bias."""
    return N * M + 1 if shared else N * (M + 1)


def _views(layers, shared: bool = False) -> tuple:
    """(start, stop, N, M) of each layer's block in a flat parameter vector: the (N, M + 1) block
    [W_l; b_l]ᵀ, or with a shared bias the (N, M) block W_lᵀ followed by the one b_l."""
    out, off = [], 0
    for M, N in zip(layers[:-1], layers[1:]):
        out.append((off, off + _block_size(M, N, shared), N, M))
        off += _block_size(M, N, shared)
    return tuple(out)


def _parameter_order(layers, shared: bool = False) -> list:
    """Every parameter's name in the per-scalar module's order: per neuron i its weights, then its bias
    (with shared biases: every neuron's weights, then the layer's one bias b^{l})."""
    out = []
    for l in range(1, len(layers)):
        for i in range(1, layers[l] + 1):
            out.extend("w^{%d}_{%d,%d}" % (l, i, j) for j in range(1, layers[l - 1] + 1))
            if not shared:
                out.append("b^{%d}_{%d}" % (l, i))
        if shared:
            out.append("b^{%d}" % l)
    return out


#: The generated module builds PARAMETERS from LAYERS and SHARED_BIASES on first use (the order of
#: ``_parameter_order``; ``parameter_names()`` and a module ``__getattr__``, so its top level stays
#: data and functions): a literal of every name made [4096, 488, 1] (2 million names) cost 11.6 s
#: and 2.1 GB to compile.
_PARAMETER_NAMES_SOURCE = '''def _parameter_names(layers, shared):
    """Every parameter's index-notation name: per layer, per neuron i its weights w^{l}_{i,1..M}, then
    b^{l}_{i}; with shared biases every neuron's weights, then the layer's one bias b^{l}."""
    out = []
    for l in range(1, len(layers)):
        columns = ["%d}" % j for j in range(1, layers[l - 1] + 1)]
        for i in range(1, layers[l] + 1):
            row = "w^{%d}_{%d," % (l, i)
            out.extend([row + c for c in columns])
            if not shared:
                out.append("b^{%d}_{%d}" % (l, i))
        if shared:
            out.append("b^{%d}" % l)
    return tuple(out)'''


_SHARED_VECTOR = r'''def vector_to_matrices(v):
    """The flat vector in PARAMETERS order -> [(W_l (N_{l-1}, N_l), b_l (1, 1))]: per layer the (N, M)
    block W_lᵀ (copied C-contiguous, transposed) followed by the layer's one shared bias b^{l}."""
    if not (isinstance(v, numpy.ndarray) and v.dtype == numpy.float64):
        v = numpy.asarray(v, dtype=float)
    if v.shape != (_SIZE,):
        raise ValueError(f"a flat parameter vector has {_SIZE} entries (PARAMETERS order), not shape {v.shape}")
    mats = []
    for start, stop, N, M in _VIEWS:
        mats.append((numpy.ascontiguousarray(v[start:stop - 1].reshape(N, M).T), v[stop - 1:stop].reshape(1, 1)))
    return mats


def matrices_to_vector(mats):
    """[(W_l, b_l)] -> the flat vector in PARAMETERS order (b_l: the layer's one bias, shape (1, 1))."""
    out = numpy.empty(_SIZE)
    for l, ((start, stop, N, M), (W, b)) in enumerate(zip(_VIEWS, mats), start=1):
        b = numpy.asarray(b, dtype=float)
        if b.size != 1:
            raise ValueError(f"b_{l}: one shared bias per layer, shape (1, 1), not {b.shape}")
        out[start:stop - 1].reshape(N, M)[:] = numpy.asarray(W, dtype=float).reshape(M, N).T
        out[stop - 1] = b.reshape(())
    return out


'''
_SHARED_COMMENT = """# ---- index-notation names (the lecture notes): W_l[j, i] = w^{l}_{i,j}, b_l[1, 1] = b^{l} ----
# A flat vector lists the parameters in PARAMETERS order: per layer, per neuron i its weights
# w^{l}_{i,1..M}, then the layer's one shared bias b^{l}; so layer l's block is W_lᵀ (N, M), then b^{l}.
"""
