r"""The symbolic model: a graph of named scalar nodes, in topological order.

Network mode builds the lecture notes' index notation (per example):

    a^{1}_{j} = x_j
    z^{k+1}_{i} = \sum_j w^{k}_{i,j} a^{k}_{j} + b^{k}_{i}
    a^{k+1}_{i} = g(z^{k+1}_{i})
    \hat{y}_i = a^{L}_{i},   L = loss(y, \hat{y})

so the 2-2-1 network has z^{2}_{1} = w^{1}_{1,1} x_1 + w^{1}_{1,2} x_2 + b^{1}_{1}.
(The input layer's nodes are named ``x_{j}``; ``a^{1}_{j}`` is accepted as an alias.)
Graph mode takes the spec's equations in order; the last left-hand side is the output.

Each node's ``definition`` is an expression in its parents' symbols only, so a
local derivative is one ``diff`` of one definition.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

import sympy
from sympy.core.mul import _mulsort
from sympy.core.parameters import global_parameters

from ..spec import names
from ..ops.activations import get_activation
from ..errors import SpecError, did_you_mean
from ..ops.losses import get_loss

def symbol_product(a, b):
    """``a * b``, built as SymPy's ``Mul(a, b)`` builds it, but without ``Mul.flatten`` when both are
    distinct commutative symbols (a weighted sum's w·a, an upstream gradient times a weight):
    the two factors in SymPy's canonical order. Anything else goes through ``a * b``.
    """
    if (a.is_Symbol and b.is_Symbol and a is not b and a != b and a.is_commutative and b.is_commutative
            and global_parameters.evaluate):
        args = [a, b]
        _mulsort(args)
        return sympy.Mul._from_args(args, True)
    return a * b


# kinds of node
INPUT, TARGET, PARAMETER = "input", "target", "parameter"
PRE_ACTIVATION, ACTIVATION, INTERMEDIATE, LOSS = "pre_activation", "activation", "intermediate", "loss"
LEAF_KINDS = (INPUT, TARGET, PARAMETER)


@dataclass(frozen=True)
class Node:
    """One named scalar: a leaf (input, target, parameter) or a defined node.

    ``definition`` is an expression over the symbols of ``parents`` (None for leaves);
    ``layer`` and ``index`` locate network nodes (z^{layer}_{index}); ``activation`` names
    the registry entry of an activation node.
    """

    name: str
    kind: str
    definition: sympy.Expr | None = None
    parents: tuple = ()
    layer: int | None = None
    index: tuple = ()
    activation: str | None = None

    @property
    def symbol(self) -> sympy.Symbol:
        return names.symbol(self.name)

    @property
    def is_leaf(self) -> bool:
        return self.definition is None


@dataclass(frozen=True)
class Graph:
    """Nodes in topological order (leaves first); ``output`` is the node differentiated (L or f)."""

    nodes: tuple
    output: str
    mode: str = "network"
    layers: tuple = ()
    activations: tuple = ()
    loss: str | None = None
    aliases: tuple = field(default=())  # (alias, canonical) pairs, e.g. ("a^{1}_{1}", "x_{1}")
    notes: tuple = field(default=())  # remarks for the reader, e.g. that the spec's own e is not Euler's number
    shared_biases: bool = False  # network mode: one bias b^{k} per layer, a parent of every z^{k+1}_{i}

    @cached_property
    def by_name(self) -> dict:
        return {n.name: n for n in self.nodes}

    def node(self, name: str) -> Node:
        return self.by_name[self.resolve(name)]

    def resolve(self, name: str) -> str:
        """The canonical name for ``name`` or an alias of it; KeyError when unknown."""
        if name in self.by_name:
            return name
        alias = dict(self.aliases)
        if name in alias:
            return alias[name]
        raise KeyError(name)

    @cached_property
    def children(self) -> dict:
        out = {n.name: [] for n in self.nodes}
        for n in self.nodes:
            for p in n.parents:
                out[p].append(n.name)
        return {k: tuple(v) for k, v in out.items()}

    def of_kind(self, *kinds) -> tuple:
        return tuple(n for n in self.nodes if n.kind in kinds)

    @property
    def has_loss(self) -> bool:
        """Whether the output is a loss: a network's L, or a graph whose output is named L as the
        lectures name a loss (the slides' L(w, b)); the slides' f = (x + y) z is an output, not a loss,
        and the faces speak of it as the output."""
        return self.mode == "network" or self.output == names.LOSS

    @property
    def parameters(self) -> tuple:
        return self.of_kind(PARAMETER)

    @property
    def inputs(self) -> tuple:
        return self.of_kind(INPUT)

    @property
    def targets(self) -> tuple:
        return self.of_kind(TARGET)

    @property
    def outputs(self) -> tuple:
        """The network's prediction nodes a^{L}_{i} (ŷ); in graph mode, the output node."""
        if self.mode == "network":
            depth = len(self.layers)
            return tuple(n for n in self.nodes if n.kind == ACTIVATION and n.layer == depth)
        return (self.node(self.output),)

    @property
    def defined(self) -> tuple:
        return tuple(n for n in self.nodes if not n.is_leaf)

    def influences(self, name: str) -> bool:
        """True when the output depends on ``name`` (some path leads from it to the output)."""
        return name in self._reaches_output

    @cached_property
    def _reaches_output(self) -> frozenset:
        reach = {self.output}
        for n in reversed(self.nodes):
            if n.name in reach:
                reach.update(n.parents)
        return frozenset(reach)

    def substitute(self, expr: sympy.Expr) -> sympy.Expr:
        """Replace every defined node's symbol by its definition, recursively, down to the leaves."""
        full = self.full_definitions
        return expr.xreplace({names.symbol(k): v for k, v in full.items()})

    @cached_property
    def full_definitions(self) -> dict:
        """Each defined node as an expression in the leaves only (grows fast: small graphs only)."""
        full = {}
        for n in self.nodes:
            if n.is_leaf:
                continue
            full[n.name] = n.definition.xreplace({names.symbol(p): full[p] for p in n.parents if p in full})
        return full


def network_graph(net) -> Graph:
    """Build the per-example graph of a ``NetworkSpec`` in the lectures' index notation."""
    layers = net.layers
    depth = len(layers)
    nodes = []
    aliases = []
    loss = get_loss(net.loss)
    shared = bool(getattr(net, "shared_biases", False))
    for j in range(1, layers[0] + 1):
        nodes.append(Node(names.feature(j), INPUT, layer=1, index=(j,)))
        aliases.append((names.activation(1, j), names.feature(j)))
    for k in range(1, depth):
        for i in range(1, layers[k] + 1):
            nodes.append(Node(names.weight(k, i, 1), PARAMETER, layer=k, index=(i, 1)))
            for j in range(2, layers[k - 1] + 1):
                nodes.append(Node(names.weight(k, i, j), PARAMETER, layer=k, index=(i, j)))
            if not shared:
                nodes.append(Node(names.bias(k, i), PARAMETER, layer=k, index=(i,)))
        if shared:
            nodes.append(Node(names.shared_bias(k), PARAMETER, layer=k, index=()))
    for i in range(1, layers[-1] + 1):
        nodes.append(Node(names.target(i), TARGET, index=(i,)))
    previous = [names.feature(j) for j in range(1, layers[0] + 1)]
    for k in range(1, depth):
        act = get_activation(net.activations[k - 1])
        zs = []
        for i in range(1, layers[k] + 1):
            w = [names.weight(k, i, j) for j in range(1, len(previous) + 1)]
            b = names.layer_bias(k, i, shared)
            terms = [symbol_product(names.symbol(wj), names.symbol(aj)) for wj, aj in zip(w, previous)]
            definition = sympy.Add(*terms, names.symbol(b))
            z = names.pre_activation(k + 1, i)
            parents = tuple(w) + tuple(previous) + (b,)
            nodes.append(Node(z, PRE_ACTIVATION, definition, parents, layer=k + 1, index=(i,)))
            zs.append(z)
        zsyms = [names.symbol(z) for z in zs]
        current = []
        for i, z in enumerate(zs, start=1):
            a = names.activation(k + 1, i)
            parents = tuple(zs) if act.layerwise else (z,)
            nodes.append(Node(a, ACTIVATION, act.apply(names.symbol(z), zsyms), parents,
                              layer=k + 1, index=(i,), activation=act.name))
            current.append(a)
        previous = current
    ys = [names.symbol(names.target(i)) for i in range(1, layers[-1] + 1)]
    yhat = [names.symbol(a) for a in previous]
    definition = loss.per_example(ys, yhat)
    parents = tuple(previous) + tuple(names.target(i) for i in range(1, layers[-1] + 1))
    nodes.append(Node(names.LOSS, LOSS, definition, parents))
    if layers[-1] == 1:
        aliases.append(("yhat", previous[0]))
        aliases.append(("y", names.target(1)))
    return Graph(tuple(nodes), names.LOSS, "network", tuple(layers), tuple(net.activations), net.loss, tuple(aliases),
                 shared_biases=shared)


def equations_graph(graph_spec, *, source: str = "<spec>", parse_equation=None, given=()) -> Graph:
    """Build the graph of a ``GraphSpec``: each equation defines its left-hand side.

    Free symbols that no equation defines are leaves: parameters when listed in
    ``[graph].parameters``, inputs otherwise.  ``given``: the names the spec's [data] gives.

    One rule for names: ``e`` and ``pi`` are the constants e and π unless the spec defines them
    (an equation's left-hand side, a [data] key or a listed parameter); then they are the spec's
    symbols everywhere, and the graph carries a note saying so.
    """
    if parse_equation is None:
        from ..grammar.parser import parse_equation, SPEC_CONSTANTS
    else:
        SPEC_CONSTANTS = {}

    def parse_all(shadowed):
        out = []
        for i, text in enumerate(graph_spec.equations):
            try:
                out.append(parse_equation(text, shadowed=shadowed) if shadowed else parse_equation(text))
            except SpecError:
                raise
            except Exception as exc:  # ParseError carries the column; keep the message on one line
                raise SpecError(f"{source}: [graph].equations[{i}] {_shown(text)}: {_one_line(exc)}") from None
        return out

    parsed = parse_all(())
    own = {lhs for lhs, _ in parsed} | set(given) | set(graph_spec.parameters)
    shadowed = tuple(sorted(c for c in SPEC_CONSTANTS if c in own))
    notes = []
    if shadowed:
        parsed = parse_all(shadowed)
        for c in shadowed:
            what = "Euler's number e" if c == "e" else "the constant \u03c0"
            notes.append(f"{c} is the spec's own symbol here, not {what}")
    position = {}  # the first equation defining each name, to report use-before-definition in O(1)
    for i, (lhs, _) in enumerate(parsed):
        position.setdefault(lhs, i)
    defined: dict[str, sympy.Expr] = {}
    order: list[str] = []
    for i, (lhs, rhs) in enumerate(parsed):
        if lhs in defined:
            raise SpecError(f"{source}: [graph].equations[{i}]: {lhs} is defined twice (each symbol once, in order)")
        for s in rhs.free_symbols:
            if s.name == lhs:
                raise SpecError(f"{source}: [graph].equations[{i}]: {lhs} is defined in terms of itself")
            if s.name not in defined and position.get(s.name, -1) > i:
                raise SpecError(f"{source}: [graph].equations[{i}]: {s.name} is used before the equation that defines it")
        defined[lhs] = rhs
        order.append(lhs)
    leaves = sorted({s.name for e in defined.values() for s in e.free_symbols} - set(defined))
    params = set(graph_spec.parameters)
    for p in graph_spec.parameters:
        if p in defined:
            raise SpecError(f"{source}: [graph].parameters: {_shown(p)} is defined by an equation, so it cannot be a parameter")
        if p not in leaves:
            raise SpecError(f"{source}: [graph].parameters: {_shown(p)} does not appear in any equation "
                            f"(symbols: {_listed(leaves)})")
    nodes = [Node(name, PARAMETER if name in params else INPUT) for name in leaves]
    for lhs in order:
        rhs = defined[lhs]
        parents = tuple(sorted(s.name for s in rhs.free_symbols))
        nodes.append(Node(lhs, INTERMEDIATE, rhs, parents))
    output = order[-1]
    nodes[-1] = Node(output, LOSS, defined[output], nodes[-1].parents)
    return Graph(tuple(nodes), output, "graph", notes=tuple(notes))


def _one_line(exc) -> str:
    """The first line of an error (a ParseError adds the text and a ^ pointer below its message)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _shown(text: str, limit: int = 60) -> str:
    """A user's string as it may appear in a one-line message: repr()-escaped, shortened."""
    text = str(text)
    if len(text) > limit:
        return repr(text[:limit]) + "..."
    return repr(text)


def _listed(items, limit: int = 20) -> str:
    items = list(items)
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "") if items else "none"


def _unused(spec, key: str) -> str:
    """Why a given symbol is no input: no equation writes it, or it cancels where it is written
    (q = x − x simplifies to 0, so nothing depends on x)."""
    word = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(str(key))}(?![A-Za-z0-9_])")
    equations = getattr(getattr(spec, "graph", None), "equations", None) or ()
    if any(word.search(str(text)) for text in equations):
        return (f"{key} is written in the equations but cancels there (it simplifies away), so nothing depends "
                f"on it: remove it from the spec")
    return "no equation uses this symbol"


def check_graph_values(spec, graph: Graph) -> None:
    """Every [data] key an input, every [parameters] key a parameter, and no input or parameter left without a value.

    Raises SpecError naming the key and listing what is allowed. Without [data] (or without
    [parameters]) the derivation is symbolic only, so nothing is required then.
    """
    source = spec.source
    inputs = [n.name for n in graph.inputs]
    params = [n.name for n in graph.parameters]
    defined = {n.name for n in graph.defined}
    data = dict(spec.data)
    for key in data:
        if key in inputs:
            continue
        if key in params:
            why = f"{key} is a parameter (listed in [graph].parameters): give its value in [parameters]"
        elif key in defined:
            why = f"{key} is defined by an equation, so it cannot be given a value"
        else:
            why = _unused(spec, key)
        raise SpecError(f"{source}: [data].{_key(key)}: {why}{did_you_mean(key, inputs)} (inputs: {_listed(inputs)})")
    values = dict(spec.parameter_values)
    for key in values:
        if key in params:
            continue
        if key in inputs:
            why = f"{key} is an input: give it in [data], or list it in [graph].parameters"
        elif key in defined:
            why = f"{key} is defined by an equation, so it cannot be given a value"
        else:
            why = _unused(spec, key)
        raise SpecError(f"{source}: [parameters].{_key(key)}: {why}{did_you_mean(key, params)} "
                        f"(parameters: {_listed(params)})")
    if data:
        missing = [x for x in inputs if x not in data]
        if missing:
            raise SpecError(f"{source}: [data]: no value for {_listed(missing)} (every input needs one: {_listed(inputs)})")
    if values:
        missing = [p for p in params if p not in values]
        if missing:
            raise SpecError(f"{source}: [parameters]: no value for {_listed(missing)} "
                            f"(every parameter needs one: {_listed(params)})")


def _key(key: str) -> str:
    """A TOML key as written in a message: bare when it is a plain name, else quoted and escaped."""
    import re

    return key if re.fullmatch(r"[A-Za-z0-9_-]{1,60}", key) else _shown(key)


def canonical_spec(spec):
    """A graph spec whose [graph].parameters, [parameters] and [data] keys are spelled as the
    equations' grammar spells them (``x_1`` → ``x_{1}``, ``theta_0`` → ``theta_{0}``,
    ``\\lambda`` → ``lambda``), so a key names the same symbol however it is written. Network
    specs, and keys the grammar does not read as one name, are left as they are (the checks that
    follow name them). Two keys for one symbol are a SpecError."""
    import dataclasses

    if spec.graph is None:
        return spec
    from ..grammar.parser import parse_equation

    cache: dict = {}

    def canonical(key: str) -> str:
        if key not in cache:
            try:
                _, rhs = parse_equation(f"q = {key}") if len(key) <= 100 else (None, None)
            except Exception:  # not one name: kept, and reported by the checks that follow
                rhs = None
            cache[key] = rhs.name if isinstance(rhs, sympy.Symbol) else key
        return cache[key]

    def renamed(pairs, where):
        out, seen = [], {}
        for key, value in pairs:
            name = canonical(key)
            if name in seen:
                raise SpecError(f"{spec.source}: {where}: {_shown(seen[name])} and {_shown(key)} are the same "
                                f"symbol {name}: give it once")
            seen[name] = key
            out.append((name, value))
        return tuple(out)

    params = renamed(((p, None) for p in spec.graph.parameters), "[graph].parameters")
    data = renamed(spec.data, "[data]")
    values = renamed(spec.parameter_values, "[parameters]")
    if (tuple(k for k, _ in params) == tuple(spec.graph.parameters) and data == tuple(spec.data)
            and values == tuple(spec.parameter_values)):
        return spec
    graph = dataclasses.replace(spec.graph, parameters=tuple(k for k, _ in params))
    return dataclasses.replace(spec, graph=graph, data=data, parameter_values=values)


def build_graph(spec) -> Graph:
    """The graph of a Spec (network or equations); graph-mode [data] and [parameters] keys are checked."""
    if spec.network is not None:
        return network_graph(spec.network)
    graph = equations_graph(spec.graph, source=spec.source, given=tuple(dict(spec.data)))
    check_graph_values(spec, graph)
    return graph
