r"""Spec files (TOML): what network or graph to derive, with which numbers.

A spec is read once into a frozen ``Spec``; every number is kept exact
(``0.1`` becomes the Rational 1/10) so derivations can be computed exactly and
only rounded for display. The format is documented in ``docs/spec.md``.

Network mode::

    [network]
    layers = [2, 2, 1]                  # widths, input layer first
    activations = ["sigmoid", "sigmoid"]  # or one string for all layers
    loss = "half_squared_error"
    reduction = "mean"                  # or "sum"
    [parameters]                        # optional: random from seed when absent
    weights = 1.0                       # or one matrix per layer, row i, column j = w^{k}_{i,j}
    biases = 1.0                        # or one list per layer
    seed = 0
    [data]
    x = [[1, 0]]
    y = [[1]]

Graph mode replaces ``[network]`` by ``[graph] equations = ["q = x + y", "f = q * z"]``
(optional ``parameters = ["w", "b"]`` and ``reduction``); ``[data]`` then gives a
number (or a list, one per example) per input symbol and ``[parameters]`` a number
per parameter.
"""
from __future__ import annotations

import math
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any

import sympy

from ..ops.activations import ACTIVATIONS, answer_spellings, get_activation
from ..errors import SpecError, did_you_mean
from ..ops.losses import REDUCTIONS, get_loss

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MAX_SPEC_BYTES = 2_000_000
MAX_LAYERS = 64
MAX_WIDTH = 4096
MAX_PARAMETERS = 2_000_000
MAX_EXAMPLES = 1_000_000
MAX_EQUATIONS = 500
MAX_NESTING = 8  # a list of weight matrices in [parameters] is 4 deep
MAX_MAGNITUDE = 10**15
MAX_EPOCHS = 10**6

#: the conventions a spec may declare for its answers' plain-superscript weights (the lectures' w^{l}_{j,k}
#: out of layer l, Nielsen's w^{l}_{jk} into layer l); omitted, an answer that could mean either is read both ways
CONVENTIONS = ("lectures", "nielsen")
TOP_KEYS = ("title", "notation", "convention", "network", "graph", "parameters", "data", "training", "worksheet")
NETWORK_KEYS = ("layers", "activations", "loss", "reduction", "biases")
BIAS_LAYOUTS = ("per_node", "shared")
GRAPH_KEYS = ("equations", "parameters", "reduction", "output")
TRAINING_KEYS = ("learning_rate", "epochs", "batch_size", "seed")
NOTATIONS = ("index", "matrix")


@dataclass(frozen=True)
class NetworkSpec:
    """A fully connected network: ``layers[0]`` inputs, one activation per later layer."""

    layers: tuple
    activations: tuple
    loss: str
    reduction: str = "mean"
    shared_biases: bool = False  # [network].biases = "shared": one bias b^{k} per layer, added to every node

    @property
    def depth(self) -> int:
        """L, the number of layers including the input layer (the output is layer L)."""
        return len(self.layers)


@dataclass(frozen=True)
class GraphSpec:
    """A computational graph: equations in order, the last left-hand side is the output."""

    equations: tuple
    parameters: tuple = ()
    reduction: str = "mean"


@dataclass(frozen=True)
class TrainingSpec:
    learning_rate: sympy.Rational = sympy.Rational(1, 10)
    epochs: int = 1000
    batch_size: int | None = None
    seed: int = 0


@dataclass(frozen=True)
class Spec:
    """A validated spec. Numbers are exact SymPy Rationals.

    Network mode: ``weights[k-1][i-1][j-1]`` is w^{k}_{i,j}, ``biases[k-1][i-1]`` is b^{k}_{i},
    ``x`` and ``y`` are tuples of rows (one per example).
    Graph mode: ``data`` maps each input symbol to a tuple of values (one per example)
    and ``parameter_values`` each parameter to its value.
    """

    source: str
    title: str | None
    notation: str
    network: NetworkSpec | None = None
    graph: GraphSpec | None = None
    weights: tuple | None = None
    biases: tuple | None = None
    seed: int = 0
    x: tuple = ()
    y: tuple = ()
    data: tuple = ()  # graph mode: ((name, (values...)), ...)
    parameter_values: tuple = ()  # graph mode: ((name, value), ...)
    training: TrainingSpec = field(default_factory=TrainingSpec)
    worksheet: tuple = ()  # raw [worksheet] options, (key, value) pairs
    convention: str | None = None  # answers' plain-superscript weights: "lectures", "nielsen", None (both read)

    @property
    def mode(self) -> str:
        return "network" if self.network is not None else "graph"

    @property
    def reduction(self) -> str:
        return (self.network or self.graph).reduction

    @property
    def n_examples(self) -> int:
        if self.mode == "network":
            return len(self.x)
        return max((len(v) for _, v in self.data), default=1)

    @property
    def data_dict(self) -> dict:
        return dict(self.data)

    @property
    def parameter_dict(self) -> dict:
        return dict(self.parameter_values)


class _Where:
    """Formats 'file: [section].key' prefixes for error messages."""

    def __init__(self, source: str):
        self.source = source

    def error(self, place: str, message: str) -> SpecError:
        return SpecError(f"{self.source}: {place}: {message}")


def load_spec(path: str | os.PathLike) -> Spec:
    """Read and validate a TOML spec file; raises SpecError with file, key and what is allowed.

    Only a regular file is read (a device, FIFO or directory is refused before anything is read),
    at most ``MAX_SPEC_BYTES``; a UTF-8 byte-order mark is accepted.
    """
    from ..fileio import read_text

    path = os.fspath(path)
    text = read_text(path, what="spec file", max_bytes=MAX_SPEC_BYTES, error=SpecError)
    return parse_spec(text, source=path)


def parse_spec(text: str, *, source: str = "<spec>") -> Spec:
    """Parse TOML text into a Spec (arrays and tables nested at most ``MAX_NESTING`` deep)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{source}: not valid TOML: {_one_line(exc)}") from None
    except ValueError as exc:  # e.g. a whole number of more than 4300 digits
        raise SpecError(f"{source}: not a valid spec: {_one_line(exc)[:200]}") from None
    except RecursionError:
        raise SpecError(f"{source}: arrays or tables nested too deeply (at most {MAX_NESTING} levels)") from None
    _check_nesting(table, source)
    return spec_from_dict(table, source=source)


def _one_line(exc) -> str:
    return " ".join(str(exc).split())


def _check_nesting(table, source: str) -> None:
    """SpecError when lists or tables nest deeper than ``MAX_NESTING`` (checked without recursion)."""
    stack = [(table, 1, "")]
    while stack:
        value, depth, place = stack.pop()
        if depth > MAX_NESTING:
            raise SpecError(f"{source}: {place or 'the spec'}: nested {depth} levels deep; "
                            f"at most {MAX_NESTING} are allowed")
        if isinstance(value, dict):
            stack.extend((v, depth + 1, f"{place}.{k}" if place else str(k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, depth + 1, place) for v in value)


def _exact(value: Any, where: _Where, place: str) -> sympy.Rational:
    """An exact Rational for a TOML number: finite and at most ``MAX_MAGNITUDE`` (1e15) in size,
    floats as for whole numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise where.error(place, f"expected a number (such as 2 or 0.5), got {_got(value)}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise where.error(place, f"expected a finite number, got {value!r}")
        if abs(value) > MAX_MAGNITUDE:
            raise where.error(place, f"the number {value!r} is too large (at most 1e15 in size)")
        return sympy.Rational(repr(value))
    if abs(value) > MAX_MAGNITUDE:
        raise where.error(place, f"the number {_short(value)} is too large (at most 1e15 in size)")
    return sympy.Integer(value)


def _short(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _got(value) -> str:
    """A TOML value as a message names it: true/false as TOML writes them, text quoted, a list or a table by kind."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()} (true and false are not numbers)"
    if isinstance(value, str):
        return f"the text {_short(value)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return _short(value)


def _check_keys(table: dict, allowed, where: _Where, place: str):
    if not isinstance(table, dict):
        raise where.error(place, f"expected a table, got {type(table).__name__}")
    for key in table:
        if key not in allowed:
            raise where.error(
                f"{place}.{key}" if place else key,
                f"unknown key{did_you_mean(key, allowed)} (allowed: {', '.join(allowed)})",
            )


def _int(value, where, place, lo, hi) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise where.error(place, f"expected a whole number from {lo} to {hi}, got {_got(value)}")
    if not lo <= value <= hi:
        raise where.error(place, f"{value} is out of range (allowed: {lo} to {hi})")
    return value


def _rows(value, where, place, width, what) -> tuple:
    if not isinstance(value, list) or not value:
        raise where.error(place, f"expected a list of rows (one per example) with {width} {what} each")
    if len(value) > MAX_EXAMPLES:
        raise where.error(place, f"{len(value)} examples; at most {MAX_EXAMPLES} are allowed")
    rows = []
    for r, row in enumerate(value):
        if not isinstance(row, list):
            row = [row] if width == 1 else row
        if not isinstance(row, list) or len(row) != width:
            raise where.error(f"{place}[{r}]", f"expected {width} {what}, got {row!r}")
        rows.append(tuple(_exact(v, where, f"{place}[{r}][{c}]") for c, v in enumerate(row)))
    return tuple(rows)


def _network(table, where) -> NetworkSpec:
    _check_keys(table, NETWORK_KEYS, where, "[network]")
    for key in ("layers", "activations", "loss"):
        if key not in table:
            raise where.error(f"[network].{key}", "missing (required in network mode)")
    layers = table["layers"]
    if not isinstance(layers, list) or len(layers) < 2:
        raise where.error("[network].layers", "expected a list of at least two widths, input layer first, e.g. [2, 2, 1]")
    if len(layers) > MAX_LAYERS:
        raise where.error("[network].layers", f"{len(layers)} layers; at most {MAX_LAYERS} are allowed")
    layers = tuple(_int(w, where, f"[network].layers[{i}]", 1, MAX_WIDTH) for i, w in enumerate(layers))
    n_params = sum(layers[k] * layers[k + 1] + layers[k + 1] for k in range(len(layers) - 1))
    if n_params > MAX_PARAMETERS:
        raise where.error("[network].layers", f"{n_params} parameters; at most {MAX_PARAMETERS} are allowed")
    acts = table["activations"]
    if isinstance(acts, str):
        acts = [acts] * (len(layers) - 1)
    if not isinstance(acts, list) or len(acts) != len(layers) - 1:
        raise where.error(
            "[network].activations",
            f"expected one activation per layer after the input ({len(layers) - 1}), or one string for all",
        )
    for i, name in enumerate(acts):
        if not isinstance(name, str):
            raise where.error(f"[network].activations[{i}]", f"expected an activation name, got {name!r}")
        try:
            act = get_activation(name, where="[network].activations")
        except SpecError as exc:
            raise SpecError(f"{where.source}: {exc}") from None
        if act.output_only and i != len(acts) - 1:
            raise where.error(f"[network].activations[{i}]", f"{name} is allowed only on the output layer")
        if isinstance(layers[i + 1], int) and layers[i + 1] < act.min_width:
            raise where.error(f"[network].activations[{i}]", f"{name} on a layer of {layers[i + 1]} node"
                              f"{'s' if layers[i + 1] != 1 else ''}: {act.min_width_reason}")
    loss = table["loss"]
    if not isinstance(loss, str):
        raise where.error("[network].loss", f"expected a loss name, got {loss!r}")
    try:
        loss_entry = get_loss(loss, where="[network].loss")
    except SpecError as exc:
        raise SpecError(f"{where.source}: {exc}") from None
    if loss_entry.needs_pair and acts[-1] not in loss_entry.pairs_with:
        raise where.error("[network].loss", loss_entry.needs_pair)
    reduction = table.get("reduction", "mean")
    if reduction not in REDUCTIONS:
        raise where.error("[network].reduction", f"unknown reduction {reduction!r}{did_you_mean(reduction, REDUCTIONS)} (allowed: mean, sum)")
    layout = table.get("biases", "per_node")
    if layout not in BIAS_LAYOUTS:
        raise where.error("[network].biases", f"unknown bias layout {layout!r}{did_you_mean(str(layout), BIAS_LAYOUTS)} "
                          "(allowed: per_node, one bias b^{k}_{i} per node (the default); shared, one bias b^{k} "
                          "per layer)")
    if layout == "shared" and get_activation(acts[-1]).shift_invariant:
        raise where.error("[network].biases", f"a bias shared by the whole {acts[-1]} output layer adds the same "
                          f"number to every z, which {acts[-1]} ignores, so its gradient is always 0: use "
                          "per_node biases (or another output activation)")
    return NetworkSpec(layers, tuple(acts), loss, reduction, shared_biases=layout == "shared")


def _random_parameters(layers, seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    weights, biases = [], []
    for k in range(len(layers) - 1):
        m, n = layers[k], layers[k + 1]
        w = rng.normal(0.0, 1.0 / math.sqrt(m), size=(n, m))
        weights.append(tuple(tuple(sympy.Rational(int(round(float(v) * 10**4)), 10**4) for v in row) for row in w))
        biases.append(tuple(sympy.Integer(0) for _ in range(n)))
    return tuple(weights), tuple(biases)


def _network_parameters(table, net: NetworkSpec, where):
    _check_keys(table, ("weights", "biases", "seed"), where, "[parameters]")
    seed = _int(table.get("seed", 0), where, "[parameters].seed", 0, 2**32 - 1)
    layers = net.layers
    # only when the spec leaves some parameters random (numpy is not imported otherwise)
    rand_w, rand_b = _random_parameters(layers, seed) if "weights" not in table or "biases" not in table else (None, None)
    weights = rand_w
    if "weights" in table:
        value = table["weights"]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            v = _exact(value, where, "[parameters].weights")
            weights = tuple(tuple(tuple(v for _ in range(layers[k])) for _ in range(layers[k + 1])) for k in range(len(layers) - 1))
        else:
            if not isinstance(value, list) or len(value) != len(layers) - 1:
                raise where.error("[parameters].weights", f"expected one number, or {len(layers) - 1} matrices (one per layer)")
            mats = []
            for k, mat in enumerate(value):
                place = f"[parameters].weights[{k}]"
                n, m = layers[k + 1], layers[k]
                if not isinstance(mat, list) or len(mat) != n:
                    raise where.error(place, f"expected a {n}x{m} matrix: {n} rows (nodes of layer {k + 2}), {m} columns (nodes of layer {k + 1}); row i, column j is w^{{{k + 1}}}_{{i,j}}")
                mats.append(_rows(mat, where, place, m, "columns"))
            weights = tuple(mats)
    biases = rand_b
    if "biases" in table:
        value = table["biases"]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            v = _exact(value, where, "[parameters].biases")
            biases = tuple(tuple(v for _ in range(layers[k + 1])) for k in range(len(layers) - 1))
        else:
            if not isinstance(value, list) or len(value) != len(layers) - 1:
                raise where.error("[parameters].biases", f"expected one number, or {len(layers) - 1} "
                                  + ("numbers (one shared bias per layer)" if net.shared_biases else
                                     "lists (one per layer)"))
            lists = []
            for k, vec in enumerate(value):
                place = f"[parameters].biases[{k}]"
                if net.shared_biases:
                    if isinstance(vec, list):
                        raise where.error(place, f"[network].biases is \"shared\": expected one number b^{{{k + 1}}} "
                                          "for the whole layer, not a list")
                    v = _exact(vec, where, place)
                    lists.append(tuple(v for _ in range(layers[k + 1])))
                    continue
                if not isinstance(vec, list) or len(vec) != layers[k + 1]:
                    raise where.error(place, f"expected {layers[k + 1]} numbers (one per node of layer {k + 2})")
                lists.append(tuple(_exact(v, where, f"{place}[{i}]") for i, v in enumerate(vec)))
            biases = tuple(lists)
    return weights, biases, seed


def _graph(table, where) -> GraphSpec:
    _check_keys(table, GRAPH_KEYS, where, "[graph]")
    eqs = table.get("equations")
    if not isinstance(eqs, list) or not eqs or not all(isinstance(e, str) for e in eqs):
        raise where.error("[graph].equations", 'expected a list of equations as strings, e.g. ["q = x + y", "f = q * z"]')
    if len(eqs) > MAX_EQUATIONS:
        raise where.error("[graph].equations", f"{len(eqs)} equations; at most {MAX_EQUATIONS} are allowed")
    params = table.get("parameters", [])
    if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
        raise where.error("[graph].parameters", 'expected a list of symbol names, e.g. ["w", "b"]')
    reduction = table.get("reduction", "mean")
    if reduction not in REDUCTIONS:
        raise where.error("[graph].reduction", f"unknown reduction {reduction!r}{did_you_mean(reduction, REDUCTIONS)} (allowed: mean, sum)")
    return GraphSpec(tuple(eqs), tuple(params), reduction)


def spec_from_dict(table: dict, *, source: str = "<spec>") -> Spec:
    """Validate a parsed TOML table (see the module docstring for the format)."""
    where = _Where(source)
    _check_keys(table, TOP_KEYS, where, "")
    title = table.get("title")
    if title is not None and not isinstance(title, str):
        raise where.error("title", "expected a string")
    notation = table.get("notation", "index")
    if notation not in NOTATIONS:
        raise where.error("notation", f"unknown notation {notation!r}{did_you_mean(notation, NOTATIONS)} (allowed: index, matrix)")
    convention = table.get("convention")
    if convention is not None and convention not in CONVENTIONS:
        raise where.error("convention", f"unknown convention {convention!r}{did_you_mean(str(convention), CONVENTIONS)} "
                          "(allowed: lectures (w^{l}_{j,k} leads out of layer l), nielsen (w^{l}_{jk} leads into "
                          "layer l); omit it to read both where an answer could mean either)")
    has_net, has_graph = "network" in table, "graph" in table
    if has_net == has_graph:
        raise where.error("[network]/[graph]", "a spec needs exactly one of [network] or [graph]")
    training = _training(table.get("training", {}), where)
    worksheet = table.get("worksheet", {})
    if not isinstance(worksheet, dict):
        raise where.error("[worksheet]", "expected a table")
    worksheet = tuple(sorted(worksheet.items()))
    if has_net:
        net = _network(table["network"], where)
        weights, biases, seed = _network_parameters(table.get("parameters", {}), net, where)
        data = table.get("data", {})
        _check_keys(data, ("x", "y"), where, "[data]")
        x = y = ()
        if data:
            if "x" not in data or "y" not in data:
                raise where.error("[data]", "needs both x (one row per example) and y (one row per example)")
            x = _rows(data["x"], where, "[data].x", net.layers[0], "inputs")
            y = _rows(data["y"], where, "[data].y", net.layers[-1], "targets")
            if len(x) != len(y):
                raise where.error("[data]", f"x has {len(x)} rows but y has {len(y)}: one row each per example")
            _check_targets(y, net.loss, where)
        return Spec(source, title, notation, network=net, weights=weights, biases=biases, seed=seed,
                    x=x, y=y, training=training, worksheet=worksheet, convention=convention)
    graph = _graph(table["graph"], where)
    params = table.get("parameters", {})
    if not isinstance(params, dict):
        raise where.error("[parameters]", "expected a table of parameter = number")
    seed = 0
    values = []
    for key, value in params.items():
        if key == "seed":
            seed = _int(value, where, "[parameters].seed", 0, 2**32 - 1)
            continue
        values.append((key, _exact(value, where, f"[parameters].{key}")))
    data = table.get("data", {})
    if not isinstance(data, dict):
        raise where.error("[data]", "expected a table of symbol = number (or list of numbers)")
    cols = []
    n = None
    for key, value in data.items():
        vals = value if isinstance(value, list) else [value]
        if not vals or len(vals) > MAX_EXAMPLES:
            raise where.error(f"[data].{key}", f"expected a number or a list of 1 to {MAX_EXAMPLES} numbers")
        col = tuple(_exact(v, where, f"[data].{key}[{i}]") for i, v in enumerate(vals))
        if len(col) > 1:  # a single number (or a one-item list) is the same in every example
            if n is not None and len(col) != n:
                raise where.error(f"[data].{key}", f"has {len(col)} values but other symbols have {n}: one value "
                                  "per example (or a single number, the same in every example)")
            n = len(col)
        cols.append((key, col))
    _check_calls(graph, {k for k, _ in cols} | {k for k, _ in values}, where)
    return Spec(source, title, notation, graph=graph, seed=seed, data=tuple(cols),
                parameter_values=tuple(values), training=training, worksheet=worksheet, convention=convention)


#: the spellings of grammar.parser.FUNCTIONS (the spec stage may not import the grammar; a test keeps them equal)
FUNCTION_WORDS = frozenset({"exp", "log", "ln", "tanh", "sigma", "sigmoid", "σ", "relu", "ReLU", "ReLu", "softplus",
                            "leaky_relu", "lrelu", "LReLU"}) | frozenset(
    k for k in answer_spellings() if "{" not in k)  # and every registry activation (elu, silu, ...)
_CALL = re.compile(r"(?<![\\\w{}^_])([A-Za-z][A-Za-z0-9]*)\s*\(")


def _check_calls(graph: GraphSpec, given: set, where: _Where) -> None:
    """``f = g(x)`` with ``g`` neither a function nor a symbol of the spec is an unknown function g
    (and not g·x): a SpecError naming it. A symbol the spec defines may still multiply: ``q(x + 1)``."""
    known = set(given) | set(graph.parameters)
    for text in graph.equations:
        lhs, sep, _ = text.partition("=")
        if sep:
            known.add(lhs.strip())
    for i, text in enumerate(graph.equations):
        rhs = text.partition("=")[2]
        for m in _CALL.finditer(rhs):
            name = m.group(1)
            if name not in FUNCTION_WORDS and name not in known:
                raise where.error(f"[graph].equations[{i}]", unknown_function(name, text))


#: functions answers read (grammar.vocabulary.ANSWER_FUNCTIONS; a test keeps the names equal) that spec
#: equations do not: they are no registry entry, so a derivation would have no rule to name for them
ANSWER_ONLY_FUNCTIONS = {"sech": "sech(u) = 2/(exp(u) + exp(-u))", "cosh": "cosh(u) = (exp(u) + exp(-u))/2",
                         "huber": 'huber(r) = r^2/2 for |r| <= 1, |r| - 1/2 beyond (as a loss: loss = "huber")'}


def allowed_functions() -> list:
    """The functions a spec equation may call, one spelling each as the docs list them (from the registry)."""
    return sorted(w for w in FUNCTION_WORDS if w.isascii() and w.islower() and w != "lrelu")


def unknown_function(name: str, text: str) -> str:
    """Why ``name(...)`` in the equation ``text`` is refused, and what is allowed, in one line."""
    from ..errors import typo_suggestion

    allowed = ", ".join(allowed_functions())
    if name in ANSWER_ONLY_FUNCTIONS:
        return (f"{name} in {_short(text)} is read in answers but not in spec equations (no registry rule "
                f"for it); write it out, {ANSWER_ONLY_FUNCTIONS[name]} (functions: {allowed})")
    return (f"unknown function {name} in {_short(text)}{typo_suggestion(name, FUNCTION_WORDS)} "
            f"(functions: {allowed}; for a product write {name}*(...))")


def _check_targets(y, loss: str, where: _Where) -> None:
    """Targets inside the loss's domain: bce y in [0, 1]; cross_entropy y >= 0."""
    for r, row in enumerate(y):
        if loss == "bce":
            for c, v in enumerate(row):
                if not 0 <= v <= 1:
                    raise where.error(f"[data].y[{r}][{c}]", f"{v} is outside [0, 1]: bce targets are "
                                      "probabilities (usually 0 or 1)")
        elif loss == "cross_entropy":
            for c, v in enumerate(row):
                if v < 0:
                    raise where.error(f"[data].y[{r}][{c}]", f"{v} is negative: cross_entropy targets are "
                                      "probabilities (one-hot, e.g. [0, 1, 0])")
            # rows that do not sum to 1 are allowed: the matrix form then uses the general
            # dZ = softmax · Σy − y instead of ŷ − y (see derivation.matrix_form)

def _training(table, where) -> TrainingSpec:
    _check_keys(table, TRAINING_KEYS, where, "[training]")
    lr = table.get("learning_rate", 0.1)
    lr = _exact(lr, where, "[training].learning_rate")
    if lr <= 0:
        raise where.error("[training].learning_rate", "must be positive")
    epochs = _int(table.get("epochs", 1000), where, "[training].epochs", 0, MAX_EPOCHS)
    bs = table.get("batch_size")
    if bs is not None:
        bs = _int(bs, where, "[training].batch_size", 1, MAX_EXAMPLES)
    seed = _int(table.get("seed", 0), where, "[training].seed", 0, 2**32 - 1)
    return TrainingSpec(lr, epochs, bs, seed)


_ = ACTIVATIONS  # registry import kept so spec errors list current activations
