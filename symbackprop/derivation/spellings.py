r"""The names an index-notation answer may use: every spelling of a node, the cost J and its aliases.

Takes a per-scalar derivation and gives canonical name -> SymPy symbol for the grammar's resolver.
"""
from __future__ import annotations

import sympy

from ..grammar.vocabulary import SPEC_CONSTANTS
from ..spec import names


def answer_names(derivation) -> dict:
    r"""Every spelling an answer may use, as canonical name -> SymPy symbol.

    The graph's nodes and aliases (``a^{1}_{j}`` = x_j, ``yhat`` = a^{L}_{1}), plus the
    lectures' other spellings: ``\hat{y}_i``, ``y_i`` (example i), ``x^{j}_{i}`` (feature j of
    example i, as in x_i^1), ``a^{L}_{k}``/``z^{L}_{k}``, the matrix form's names for
    width-1 layers (``z_2`` = z^{3}_{1} in a 2-2-1 network), and ``n`` (number of examples)
    when no node is called n.
    """
    g = derivation.graph
    out: dict = {n.name: n.symbol for n in g.nodes}
    for word, constant in SPEC_CONSTANTS.items():   # pi (and e) are the constants unless the spec names them
        if word != "e":
            out.setdefault(word, constant)
    for alias, canonical in g.aliases:
        out.setdefault(alias, names.symbol(canonical))

    def add(alias, canonical):
        if canonical in g.by_name:
            out.setdefault(alias, names.symbol(canonical))

    if g.mode == "network":
        depth = len(g.layers)
        outputs = [n.name for n in g.outputs]
        out.setdefault("K", sympy.Integer(len(outputs)))  # K outputs: the mse's \frac{1}{K}; a node K stays the node
        for k, name in enumerate(outputs, start=1):
            add(f"yhat_{{{k}}}", name)
            add(f"a^{{L}}_{{{k}}}", name)
            add(f"z^{{L}}_{{{k}}}", names.pre_activation(depth, k))
            add(f"y_{{{k}}}", names.target(k))
        if len(outputs) == 1:
            add("yhat_{i}", outputs[0])
            add("yhat", outputs[0])
            add("y_{i}", names.target(1))
            add("y", names.target(1))
            add("a^{L}", outputs[0])
            add("z^{L}", names.pre_activation(depth, 1))
        for j in range(1, g.layers[0] + 1):
            add(f"x^{{{j}}}_{{i}}", names.feature(j))
            add(f"a^{{1}}_{{{j}}}", names.feature(j))
        # one bias per layer (the widely read step-by-step example's b1, b2): b_m = b^{m}
        if g.shared_biases:
            for m in range(1, depth):
                add(f"b_{{{m}}}", names.shared_bias(m))
        # matrix notation for width-1 layers: z_m, a_m (layer m + 1), b_m
        for m in range(1, depth):
            if g.layers[m] == 1:
                add(f"z_{{{m}}}", names.pre_activation(m + 1, 1))
                add(f"a_{{{m}}}", names.activation(m + 1, 1))
                add(f"b_{{{m}}}", names.bias(m, 1))
                if g.layers[m - 1] == 1:
                    add(f"w_{{{m}}}", names.weight(m, 1, 1))
                    add(f"W_{{{m}}}", names.weight(m, 1, 1))
    else:
        if "L" not in out:
            add("L", g.output)
    # the lectures' delta^{k}_{i} = ∂L/∂z^{k}_{i}
    for n in g.nodes:
        if n.kind == "pre_activation":
            parts = names.split_indexed(n.name)
            if parts is not None and parts[1] is not None:
                out.setdefault(names.activation(parts[1], parts[2][0]).replace("a^", "delta^", 1),
                               sympy.Derivative(names.symbol(g.output), n.symbol, evaluate=False))
    if "n" not in out:
        out["n"] = sympy.Integer(max(derivation.n_examples, 1))
    if "m" not in out:  # the batch size in courses that write m
        out["m"] = sympy.Integer(max(derivation.n_examples, 1))
    # the cost J = (1/n) Σ_e L_e (or Σ_e L_e): J, C, E, \mathcal{L}
    for word in COST_NAMES:
        if word not in out:
            out[word] = names.symbol(COST)
    return out


#: the cost's names in the courses' notations (J, C, E, \mathcal{L} read as ``mathcalL``)
COST = "J"
COST_NAMES = ("J", "C", "E", "mathcalL", "mathcalJ", "mathcalC")


def output_spellings(graph) -> list:
    r"""How a person types the network's output: ``\hat{y}`` (or ``\hat{y}_{k}`` for several outputs)."""
    if getattr(graph, "mode", None) != "network":
        return []
    outputs = list(graph.outputs)
    return [r"\hat{y}"] if len(outputs) == 1 else [rf"\hat{{y}}_{{{k}}}" for k in range(1, len(outputs) + 1)]


def name_spellings(table: dict) -> list:
    """The spellings of :func:`answer_names` that name a node (a typo suggestion may offer them), not the
    constants it also reads (pi, n, m, K): ``--wrt '\\pi'`` is no typo of a name ``pi``."""
    return [k for k, v in table.items() if isinstance(v, (sympy.Symbol, sympy.Derivative))]
