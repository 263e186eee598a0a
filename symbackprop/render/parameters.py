r"""A network's weights and biases on the page: small layers inline, bigger ones as matrices.

A layer with at most :data:`INLINE_PARAMETERS` weights and biases is listed inline
(``w^{1}_{1,1} = 1,\quad w^{1}_{1,2} = 1,\quad b^{1}_{1} = 1``), as the lecture notes list them.
A bigger one is the matrix ``W^{k}``, whose row ``i`` and column ``j`` hold ``w^{k}_{i,j}`` (the
weight from node ``j`` of layer ``k`` to node ``i`` of layer ``k + 1``), beside the column vector
``b^{k}`` (or the one number ``b^{k}`` of a shared bias); the index convention is stated once, with
an example. A layer too big for a matrix on the page (more than :data:`MAX_MATRIX_COLUMNS` inputs
or :data:`MAX_MATRIX_ROWS` nodes) is named in words. So every parameter block stays inside the
margins, however wide the network.

Used by the derivation documents (``Renderer.parameter_table``) and the worksheets.
"""
from __future__ import annotations

from ..spec import names

INLINE_PARAMETERS = 6     # a layer with at most this many weights and biases lists them inline
MAX_MATRIX_COLUMNS = 8    # wider W^{k}: the layer is named in words (the page holds about 8 numbers a row)
MAX_MATRIX_ROWS = 16      # taller W^{k} likewise


def _matrix_tex(rows) -> str:
    return r"\begin{bmatrix} " + r" \\ ".join(" & ".join(r) for r in rows) + r" \end{bmatrix}"


def parameter_block(d, r) -> str:
    """Every weight and bias of the network ``d`` (a Derivation) at ``r``'s numbers (a Renderer:
    ``r.nt`` names them, ``r.given`` writes the numbers): a small layer inline
    (w^{1}_{1,1} = 1, ...), a bigger one as the matrix W^{k} (row i, column j holds w^{k}_{i,j})
    and the column vector b^{k}."""
    g, nt = d.graph, r.nt
    vals = r.numbers.parameters
    inline, mats, words = [], [], []
    for k in range(1, len(g.layers)):
        rows_n, cols_n = g.layers[k], g.layers[k - 1]
        biases = list(dict.fromkeys(names.layer_bias(k, i, g.shared_biases) for i in range(1, rows_n + 1)))
        if rows_n * cols_n + rows_n <= INLINE_PARAMETERS:
            items = [f"{nt.tex(names.weight(k, i, j))} = {r.given(vals[names.symbol(names.weight(k, i, j))])}"
                     for i in range(1, rows_n + 1) for j in range(1, cols_n + 1)]
            items += [f"{nt.tex(b)} = {r.given(vals[names.symbol(b)])}" for b in biases]
            inline.append(",\\quad ".join(items))
            continue
        if cols_n > MAX_MATRIX_COLUMNS or rows_n > MAX_MATRIX_ROWS:
            words.append(f"layer {k}: {rows_n * cols_n} weights and {len(biases)} "
                         f"bias{'es' if len(biases) != 1 else ''} (see the spec)")
            continue
        W = [[r.given(vals[names.symbol(names.weight(k, i, j))]) for j in range(1, cols_n + 1)]
             for i in range(1, rows_n + 1)]
        if g.shared_biases:  # one number: the layer's bias b^{k}
            mats.append((k, f"W^{{{k}}} = {_matrix_tex(W)},\\qquad b^{{{k}}} = "
                            f"{r.given(vals[names.symbol(names.shared_bias(k))])}"))
            continue
        b = [[r.given(vals[names.symbol(names.bias(k, i))])] for i in range(1, rows_n + 1)]
        mats.append((k, f"W^{{{k}}} = {_matrix_tex(W)},\\qquad b^{{{k}}} = {_matrix_tex(b)}"))
    out = []
    if inline:
        out.append("Parameters:\n\\[\n\\begin{gathered}\n" + " \\\\\n".join(inline)
                   + "\n\\end{gathered}\n\\]\n")
    if mats:
        first = mats[0][0]
        i, j = (1, 2) if g.layers[first - 1] > 1 else (2, 1)   # an entry the first matrix has
        out.append(("The other weights and biases" if inline else "The weights and biases") +
                   f", layer by layer: the entry in row $i$ and column $j$ of $W^{{k}}$ is $w^{{k}}_{{i,j}}$ "
                   f"(from node $j$ of layer $k$ to node $i$ of layer $k + 1$), entry $i$ of $b^{{k}}$ is "
                   f"$b^{{k}}_{{i}}$; for example $w^{{{first}}}_{{{i},{j}}}$ is row {i}, column {j} of $W^{{{first}}}$.\n"
                   + "\\begin{gather*}\n" + " \\\\\n".join(m for _, m in mats) + "\n\\end{gather*}\n")
    if words:
        out.append("Too many to show here: " + "; ".join(words) + ".\n")
    return "\n".join(out)
