r"""The chain-rule derivation: reverse mode over named intermediates.

For every node v (per example) the lectures' chain rule

    \frac{\partial L}{\partial v} = \sum_{c \in children(v)} \frac{\partial L}{\partial c} \frac{\partial c}{\partial v}

is kept as data: each edge's ``LocalDerivative`` (with the rule it uses), each
node's ``NodeGradient`` (the sum over children of upstream gradient times local
derivative), and, on demand, every ``Path`` of influence with the product of its
factors. Nothing here calls ``diff`` on more than one node's definition, so the
size stays linear in the number of parameters.

The batch loss is the reduction of the per-example losses,
J = r \sum_e L_e with r = 1/n (``mean``) or 1 (``sum``), hence
\partial J / \partial \theta = r \sum_e \partial L_e / \partial \theta: the factor r is
applied explicitly (``Derivation.reduction_factor``).

Example (the lecture network)::

    >>> d = derive(load_spec("derivations/lecture_2_2_1.toml"))
    >>> d.path_products("w^{1}_{1,1}")[0]      # one path: w -> z^{2}_{1} -> a^{2}_{1} -> z^{3}_{1} -> a^{3}_{1} -> L
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import sympy

from ..spec import names
from ..ops.activations import ACTIVATIONS, get_activation
from ..ops.rules import FUNCTION_RULES, RULES
from ..derivation.graph import (ACTIVATION, INTERMEDIATE, LOSS, PARAMETER, PRE_ACTIVATION, Graph, build_graph,
                                canonical_spec, symbol_product)
from ..ops.losses import get_loss, reduction_factor


@dataclass(frozen=True)
class LocalDerivative:
    """The local derivative ∂child/∂parent on one edge, in node symbols, and the rule used."""

    child: str
    parent: str
    expression: sympy.Expr
    rule: str


@dataclass(frozen=True)
class NodeGradient:
    """∂L/∂node per example: ``sum(upstream(child) * local.expression for child, local in terms)``.

    ``expression`` writes each upstream gradient as its symbol (∂L/∂child);
    ``simplified`` is set where the lectures box a simplification (BCE with a sigmoid
    output: ∂L/∂z = ŷ − y; cross-entropy with softmax: ∂L/∂z_j = ŷ_j Σ_k y_k − y_j),
    derived by multiplying the factors out and cancelling, not asserted.
    """

    name: str
    terms: tuple
    expression: sympy.Expr
    simplified: sympy.Expr | None = None
    product: sympy.Expr | None = None  # the unsimplified product the simplification starts from

    def has_direct_term(self, output: str) -> bool:
        """The node feeds the output directly *and* through other nodes: the output's own local
        derivative ∂output/∂node is then one term of the sum (marked ``|direct`` where it is printed)."""
        return len(self.terms) > 1 and any(child == output for child, _ in self.terms)


@dataclass(frozen=True)
class Path:
    """A path of influence v -> ... -> L, with the local derivative on each edge."""

    nodes: tuple
    factors: tuple

    @property
    def product(self) -> sympy.Expr:
        return sympy.Mul(*[f.expression for f in self.factors])


def upstream_name(name: str, output: str = names.LOSS) -> str:
    r"""The canonical name of ∂output/∂name, e.g. ``\frac{\partial L}{\partial z^{2}_{1}}``."""
    return rf"\frac{{\partial {output}}}{{\partial {name}}}"


def upstream_symbol(name: str, output: str = names.LOSS) -> sympy.Symbol:
    """The symbol that stands for the upstream gradient ∂output/∂name in a chain-rule sum."""
    return names.symbol(upstream_name(name, output))


def _edge_rule(graph: Graph, child, parent) -> str:
    if child.kind == PRE_ACTIVATION:
        if parent.kind == PARAMETER and parent.name.startswith("b"):
            return "the bias enters the weighted sum with coefficient 1"
        if parent.kind == PARAMETER:
            return "a weighted sum is linear in each weight"
        return "a weighted sum is linear in each input"
    if child.kind == ACTIVATION:
        return get_activation(child.activation).rule
    if child.kind == LOSS and graph.mode == "network" and get_loss(graph.loss).rule:
        return get_loss(graph.loss).rule
    return _generic_rule(child.definition, parent.symbol)


def _generic_rule(expr, sym) -> str:
    """The differentiation rules a person uses for d expr / d sym, named as the lectures name them
    (:mod:`symbackprop.ops.rules`; an activation's and a loss's from their registry entries): the
    slides' f = q z gives ∂f/∂q = z by the product rule, q = x + y gives ∂q/∂x = 1 by the sum rule."""
    rules = []

    def walk(e):
        if not e.has(sym):
            return
        if e == sym:
            return
        if isinstance(e, sympy.Add):
            if sum(1 for t in e.args if t.has(sym)) > 1 or len(e.args) > 1:
                rules.append(RULES["sum"].text)
            for t in e.args:
                walk(t)
        elif isinstance(e, sympy.Mul):
            varying = [f for f in e.args if f.has(sym)]
            if len(varying) == 1:
                others = [f for f in e.args if not f.has(sym)]
                if any(not f.is_number for f in others):
                    # the slides: f = q z is a product; df/dq holds the other factor, z
                    rules.append(RULES["product"].text)
                elif others:
                    rules.append(RULES["constant_multiple"].text)
                walk(varying[0])
            else:
                rules.append(RULES["product"].text)
                for f in varying:
                    walk(f)
        elif isinstance(e, sympy.Pow):
            if e.exp.is_number:
                rules.append(RULES["power"].text)
                if e.base != sym:
                    rules.append(RULES["chain"].text)
                    walk(e.base)
            else:
                rules.append(RULES["general_power"].text)
        else:
            name = type(e).__name__
            if name in ACTIVATIONS:
                rules.append(ACTIVATIONS[name].rule)
            elif name in FUNCTION_RULES:
                rules.append(RULES[FUNCTION_RULES[name]].text)
            else:
                rules.append(f"derivative of {name}")
            if len(e.args) == 1 and e.args[0] != sym:
                rules.append(RULES["chain"].text)
                walk(e.args[0])

    walk(expr)
    if not rules:
        return RULES["identity"].text if expr == sym else RULES["definition"].text
    return "; ".join(dict.fromkeys(rules))


def _diff_definition(definition: sympy.Expr, sym: sympy.Symbol) -> sympy.Expr:
    """d definition / d sym, term by term for sums (much faster for long weighted sums).

    Only the terms that contain ``sym`` are differentiated (found once per definition), and
    a term ``c · sym · rest`` in which ``sym`` is one plain factor gives ``c · rest`` directly:
    what ``diff`` returns, without its machinery (a weighted sum's edges are all of this kind).
    """
    if isinstance(definition, sympy.Add):
        return sympy.Add(*[_diff_term(t, sym) for t in _terms_by_symbol(definition).get(sym, ())])
    return _diff_term(definition, sym)


_TERMS_BY_SYMBOL: dict = {}


def _terms_by_symbol(definition: sympy.Add) -> dict:
    """{symbol: the terms of ``definition`` that contain it}, built once per definition object.

    Keyed by identity, not equality: an equal definition of another graph (a benchmark or a
    server deriving the same net again) would otherwise be compared term by term on every hit.
    """
    hit = _TERMS_BY_SYMBOL.get(id(definition))
    if hit is not None and hit[0] is definition:
        return hit[1]
    out: dict = {}
    for t in definition.args:
        for s in t.free_symbols:
            out.setdefault(s, []).append(t)
    if len(_TERMS_BY_SYMBOL) >= 8192:
        _TERMS_BY_SYMBOL.clear()
    _TERMS_BY_SYMBOL[id(definition)] = (definition, out)  # the object is kept, so its id stays unique
    return out


def _diff_term(t: sympy.Expr, sym: sympy.Symbol) -> sympy.Expr:
    if t == sym:
        return sympy.S.One
    if isinstance(t, sympy.Mul):
        hits = [i for i, f in enumerate(t.args) if f.has(sym)]
        if len(hits) == 1 and t.args[hits[0]] == sym:
            i = hits[0]
            return sympy.Mul(*(t.args[:i] + t.args[i + 1:]))
    return t.diff(sym)


def local_derivative(graph: Graph, child_name: str, parent_name: str) -> LocalDerivative:
    """∂child/∂parent, written as the lectures write it (in terms of outputs where customary)."""
    child, parent = graph.by_name[child_name], graph.by_name[parent_name]
    psym = parent.symbol
    if child.kind == ACTIVATION:
        act = get_activation(child.activation)
        if act.derivative is not None:
            expr = act.derivative(child.symbol, psym)
        else:
            expr = _diff_definition(child.definition, psym)
            siblings = [graph.by_name[c] for c in graph.children[parent_name] if graph.by_name[c].kind == ACTIVATION]
            expr = expr.xreplace({s.definition: s.symbol for s in siblings})
    else:
        expr = _diff_definition(child.definition, psym)
        if child.kind in (INTERMEDIATE, LOSS) and child.definition is not None and not child.definition.is_Symbol:
            expr = expr.xreplace({child.definition: child.symbol})
    return LocalDerivative(child_name, parent_name, expr, _edge_rule(graph, child, parent))


class Derivation:
    """Every ∂L/∂node and ∂L/∂θ of one spec, by the chain rule, as data.

    Read by every later stage (LaTeX, NumPy, answer checking); never re-derived.
    """

    def __init__(self, spec, graph: Graph):
        self.spec = spec
        self.graph = graph
        self.local_derivatives: dict = {}
        self.node_gradients: dict = {}
        self._derive()

    # -- the derivation ---------------------------------------------------
    def _derive(self):
        g = self.graph
        out = g.output
        fused_layer = self._fused_output_pair()
        self.node_gradients[out] = NodeGradient(out, (), sympy.S.One)
        for node in reversed(g.nodes):
            if node.name == out or not g.influences(node.name):
                continue
            terms = []
            for c in g.children[node.name]:
                if not g.influences(c):
                    continue
                ld = local_derivative(g, c, node.name)
                self.local_derivatives[(c, node.name)] = ld
                terms.append((c, ld))
            expression = sympy.Add(*[
                ld.expression if c == out else symbol_product(upstream_symbol(c, out), ld.expression)
                for c, ld in terms
            ])
            simplified = product = None
            if fused_layer and node.kind == PRE_ACTIVATION and node.layer == len(g.layers):
                product = self._in_node_symbols_shallow(expression)
                simplified = sympy.factor_terms(sympy.cancel(sympy.expand(product)))
            self.node_gradients[node.name] = NodeGradient(node.name, tuple(terms), expression, simplified, product)

    def _fused_output_pair(self) -> bool:
        g = self.graph
        if g.mode != "network":
            return False
        return g.activations[-1] in get_loss(g.loss).pairs_with

    def _in_node_symbols_shallow(self, expression):
        subs = {}
        for s in expression.free_symbols:
            for name, ng in self.node_gradients.items():
                if upstream_symbol(name, self.graph.output) == s:
                    subs[s] = self._in_node_symbols_shallow(ng.expression)
        return expression.xreplace(subs)

    def upstream_symbol(self, name: str) -> sympy.Symbol:
        """The symbol standing for ∂(output)/∂name (∂L/∂z^{2}_{1}; ∂f/∂q in graph mode)."""
        return upstream_symbol(name, self.graph.output)

    def _repr_markdown_(self) -> str:
        """Jupyter shows a derivation as Markdown with MathJax blocks."""
        from ..render.markdown import derivation_markdown

        return derivation_markdown(self)

    def __repr__(self) -> str:
        title = (self.spec.title or self.spec.source) if self.spec is not None else "graph"
        return f"<Derivation of {title!r}: {len(self.parameters)} parameters, {len(self.graph.nodes)} nodes>"

    # -- reading it ---------------------------------------------------------
    @property
    def reduction(self) -> str:
        return self.spec.reduction if self.spec is not None else "mean"

    @property
    def n_examples(self) -> int:
        return self.spec.n_examples if self.spec is not None else 1

    @property
    def reduction_factor(self) -> sympy.Expr:
        """r in ∂J/∂θ = r Σ_e ∂L_e/∂θ: 1/n for a mean over n examples, 1 for a sum."""
        return reduction_factor(self.reduction, sympy.Integer(max(self.n_examples, 1)))

    @property
    def parameters(self) -> tuple:
        return tuple(n.name for n in self.graph.parameters)

    def resolve(self, name: str) -> str:
        """The canonical node name for any spelling ``verify --wrt`` reads (see :func:`resolve_name`):
        ``W^{[2]}_{11}``, ``w^{(1)}_{11}``, ``w_{11}^1``, ``\\hat{y}``, ``z_2`` (a width-1 layer)."""
        return resolve_name(self.graph, name, derivation=self)

    def node_gradient(self, name: str) -> NodeGradient:
        """∂L/∂name per example (zero gradient when the output does not depend on it)."""
        name = self.resolve(name)
        return self.node_gradients.get(name, NodeGradient(name, (), sympy.S.Zero))

    def upstream_expression(self, name: str) -> sympy.Expr:
        """∂L/∂name with the simplification applied where there is one (used by code generation)."""
        ng = self.node_gradient(name)
        return ng.simplified if ng.simplified is not None else ng.expression

    @cached_property
    def _in_nodes(self) -> dict:
        return {}

    def per_example_gradient(self, name: str) -> sympy.Expr:
        """∂L/∂name per example, in node symbols only (z, a, w, b, x, y); upstream gradients substituted.

        Only the nodes between ``name`` and the output are visited (each once, shared by later calls).
        """
        name = self.resolve(name)
        memo = self._in_nodes
        if name in memo:
            return memo[name]
        if name not in self.node_gradients:
            return sympy.S.Zero
        needed, stack = set(), [name]
        while stack:
            n = stack.pop()
            if n in needed or n in memo:
                continue
            needed.add(n)
            stack.extend(c for c, _ in self.node_gradients[n].terms if c in self.node_gradients)
        for node in reversed(self.graph.nodes):
            n = node.name
            if n not in needed:
                continue
            expr = self.upstream_expression(n)
            expr = expr.xreplace({self.upstream_symbol(c): memo[c] for c, _ in self.node_gradients[n].terms if c in memo})
            memo[n] = expr
        return memo.get(name, sympy.S.Zero)

    def expand(self, expr: sympy.Expr) -> sympy.Expr:
        """Substitute every intermediate's definition: an expression in inputs, targets and parameters only."""
        return self.graph.substitute(expr)

    def expanded_gradient(self, name: str) -> sympy.Expr:
        """∂L/∂name per example, fully substituted (small graphs only: this grows quickly)."""
        return self.expand(self.per_example_gradient(name))

    def paths(self, name: str, limit: int = 10_000) -> list:
        """Every path of influence from ``name`` to the output, each with its local derivatives."""
        name = self.resolve(name)
        g = self.graph
        out = []

        def walk(node, trail, factors):
            if len(out) >= limit:
                return
            if node == g.output:
                out.append(Path(tuple(trail), tuple(factors)))
                return
            for c in g.children[node]:
                ld = self.local_derivatives.get((c, node))
                if ld is not None:
                    walk(c, trail + [c], factors + [ld])

        if name in self.node_gradients:
            walk(name, [name], [])
        return out

    def path_products(self, name: str) -> list:
        return [p.product for p in self.paths(name)]

    # -- numbers ------------------------------------------------------------
    def examples(self) -> list:
        """One dict {leaf symbol: exact value} per example (inputs and targets), from the spec's data."""
        spec = self.spec
        g = self.graph
        if g.mode == "network":
            rows = []
            for xr, yr in zip(spec.x, spec.y):
                d = {names.symbol(names.feature(j + 1)): v for j, v in enumerate(xr)}
                d.update({names.symbol(names.target(k + 1)): v for k, v in enumerate(yr)})
                rows.append(d)
            return rows
        data = spec.data_dict
        n = spec.n_examples
        rows = []
        for e in range(n):
            rows.append({names.symbol(k): (v[e] if len(v) > 1 else v[0]) for k, v in data.items()})
        return rows

    def parameter_values(self) -> dict:
        """{parameter symbol: exact value} from the spec."""
        spec = self.spec
        g = self.graph
        if g.mode == "network":
            out = {}
            for k, mat in enumerate(spec.weights, start=1):
                for i, row in enumerate(mat, start=1):
                    for j, v in enumerate(row, start=1):
                        out[names.symbol(names.weight(k, i, j))] = v
            for k, vec in enumerate(spec.biases, start=1):
                for i, v in enumerate(vec, start=1):
                    out[names.symbol(names.layer_bias(k, i, g.shared_biases))] = v
            return out
        return {names.symbol(k): v for k, v in spec.parameter_values}

    def exact_values(self, example: dict, parameters: dict | None = None) -> dict:
        """Forward pass in exact arithmetic: {node name: exact SymPy number} for one example."""
        values = dict(self.parameter_values() if parameters is None else parameters)
        values.update(example)
        out = {s.name: v for s, v in values.items()}
        for n in self.graph.nodes:
            if n.is_leaf:
                if n.symbol not in values:
                    from ..errors import SpecError

                    raise SpecError(f"{self.spec.source if self.spec else '<spec>'}: no value for {n.name} "
                                    f"(give it in [data] or [parameters])")
                continue
            v = n.definition.xreplace({names.symbol(p): values[names.symbol(p)] for p in n.parents})
            values[n.symbol] = v
            out[n.name] = v
        return out

    def exact_node_gradients(self, values: dict) -> dict:
        """∂L/∂node for one example, exactly, from exact forward ``values`` ({name: number})."""
        subs = {names.symbol(k): v for k, v in values.items()}
        grads = {}
        for n in reversed(self.graph.nodes):
            if n.name not in self.node_gradients:
                continue
            value = self.upstream_expression(n.name).xreplace(subs)
            grads[n.name] = value
            subs[self.upstream_symbol(n.name)] = value
        return grads

    def numeric_evaluation(self, examples=None, parameters: dict | None = None) -> tuple:
        """Forward values and ∂L/∂node at each example, for display: ``(values, gradients)``.

        Two lists (one dict {name: SymPy number} per example) like ``exact_values`` and
        ``exact_node_gradients``, computed bottom-up (``symbackprop.derivation.numeric.Point``):
        exact rationals where the values are rationals of bounded size, otherwise Floats of at
        least 60 digits (more where a sum cancels), ``oo`` for an overflow, a complex Float,
        ``zoo`` or ``nan`` where the value is not real. Linear in the size of the derivation.
        """
        from . import numeric as _numeric

        examples = self.examples() if examples is None else list(examples)
        params = self.parameter_values() if parameters is None else parameters
        sizes: dict = {}
        for dps in _numeric.PRECISIONS:
            values, grads, insufficient = [], [], False
            for ex in examples:
                v, g, bad = self._numeric_point(ex, params, dps, sizes)
                values.append(v)
                grads.append(g)
                insufficient = insufficient or bad
            if not insufficient:
                break
        return values, grads

    def _numeric_point(self, example: dict, params: dict, dps: int, sizes: dict):
        from . import numeric as _numeric

        point = _numeric.Point(dps, sizes)
        given = dict(params)
        given.update(example)
        out = {}
        for s, v in given.items():
            point.set(s, v)
            out[s.name] = v
        for n in self.graph.nodes:
            if n.is_leaf:
                if n.symbol not in given:
                    from ..errors import SpecError

                    raise SpecError(f"{self.spec.source if self.spec else '<spec>'}: no value for {n.name} "
                                    f"(give it in [data] or [parameters])")
                continue
            point.define(n.symbol, n.definition)
            out[n.name] = point.value_of(n.symbol)
        grads = {}
        for n in reversed(self.graph.nodes):
            if n.name not in self.node_gradients:
                continue
            sym = self.upstream_symbol(n.name)
            point.define(sym, self.upstream_expression(n.name))
            grads[n.name] = point.value_of(sym)
        return out, grads, point.insufficient

    def exact_gradients(self, parameters: dict | None = None) -> dict:
        """∂J/∂θ of the reduced loss over the spec's examples, exactly: {name: number}."""
        total = {p: sympy.S.Zero for p in self.parameters}
        for ex in self.examples():
            vals = self.exact_values(ex, parameters)
            grads = self.exact_node_gradients(vals)
            for p in total:
                total[p] += grads.get(p, sympy.S.Zero)
        r = self.reduction_factor
        return {p: r * v for p, v in total.items()}


MAX_PER_SCALAR_PARAMETERS = 20_000
"""Per-scalar derivation costs about a millisecond per parameter; beyond this, use the matrix form."""


def derive(spec) -> Derivation:
    """Derive every ∂L/∂θ and ∂L/∂node of a Spec by the chain rule (per scalar).

    Networks with more than ``MAX_PER_SCALAR_PARAMETERS`` parameters are refused with a
    pointer to the matrix form (``symbackprop.matrix_derive``), which costs a few steps per layer.
    """
    if spec.network is not None:
        L = spec.network.layers
        count = sum(L[k] * L[k + 1] + L[k + 1] for k in range(len(L) - 1))
        if count > MAX_PER_SCALAR_PARAMETERS:
            from ..errors import NotSupportedError

            raise NotSupportedError(
                f"{spec.source}: {count} parameters is too many for a per-scalar derivation (at most "
                f"{MAX_PER_SCALAR_PARAMETERS}); use the matrix form: notation = \"matrix\" in the spec, "
                f"or symbackprop.matrix_derive(spec) from Python")
    spec = canonical_spec(spec)
    return Derivation(spec, build_graph(spec))


def resolve_name(graph, name: str, derivation=None) -> str:
    """The canonical node name for any spelling ``verify --wrt`` reads.

    ``w^{1}_{1,1}``, ``w^1_{1,1}``, ``w^{1}_{11}``, ``w_{11}^1`` and ``\\hat{y}``/``yhat`` (for ŷ)
    all name a node by the answers' grammar; an unknown name is a SpecError whose
    suggestion (if any) is only ever a typo of a real name, never a different parameter.
    """
    try:
        return graph.resolve(name)
    except KeyError:
        pass
    from ..errors import ParseError, SpecError, typo_suggestion

    known = [n.name for n in graph.nodes]
    if isinstance(name, str) and name.strip() and len(name) <= 200:
        from ..grammar.parser import parse_expression

        from ..grammar.notation import normalize
        from .spellings import answer_names

        if derivation is not None:   # the answers' spellings: \hat{y}, z_2, b_2, delta, other courses' layers
            table = answer_names(derivation)
            text = normalize(name).text
        else:
            table = {n.name: n.symbol for n in graph.nodes}
            for alias, canonical in graph.aliases:
                table.setdefault(alias, graph.by_name[canonical].symbol)
            text = name
        try:
            expr = parse_expression(text, resolve=table)
        except (ParseError, SpecError, ValueError, TypeError, RecursionError):
            expr = None
        if isinstance(expr, sympy.Symbol) and expr.name in graph.by_name:
            return expr.name
    shown = repr(name) if len(str(name)) <= 60 else repr(str(name)[:60]) + "..."
    raise SpecError(f"unknown name {shown}{typo_suggestion(name, known)} (known: {', '.join(known[:40])}"
                    f"{', ...' if len(known) > 40 else ''})") from None
