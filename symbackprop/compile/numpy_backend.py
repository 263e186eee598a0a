r"""From the derivation to fast NumPy: one straight-line function per spec.

The generated code is the derivation read top to bottom: the forward pass
(z^{2}_{1} = w^{1}_{1,1} x_1 + ...; a^{2}_{1} = σ(z^{2}_{1})), the loss, then one
assignment per upstream gradient ∂L/∂v in reverse order, then each
∂J/∂θ = r Σ_e ∂L_e/∂θ with r = 1/n (mean) or 1 (sum). Every named intermediate
is computed once, so no extra common-subexpression pass is needed.
Arrays run over the examples of a batch (vectorized), parameters are scalars.

Numerically honest: σ is exp(−log(1 + e^{−z})), BCE with a sigmoid output is
evaluated from the logit (softplus(z) − y z) and its upstream gradient is the
simplified ŷ − y, softmax and log-sum-exp subtract the running maximum. Graph-mode
equations get the same care by rewriting (``_Stabilizer``): log σ(z) = −softplus(−z),
1 − σ(z) = σ(−z), 1 − tanh² = sech², log Σ e^{a} = logsumexp, one exponential per
product, also across equations (a node s = σ(u) under a log, and ∂L/∂u = s − y for BCE).

No user text is ever part of the source: titles, file names and node names appear only as
``ascii()`` string literals (``TITLE``, ``NAMES``, ``PARAMETERS``, ...); identifiers are built
from a fixed letter set and integers (``w_1_1_2``) or numbered (``v3``). The module is compiled
in memory from that source (no file, no cache on disk that another user could plant).
The source is readable and importable on its own (it needs only NumPy):
``CompiledGradients.source`` and ``export_module(...)``.
"""
from __future__ import annotations

import keyword
import math
from dataclasses import dataclass

import numpy as np
import sympy
from sympy.printing.numpy import NumPyPrinter

from ..spec import names
from ..derivation.chain_rule import Derivation, upstream_name
from ..errors import NotSupportedError, SpecError
from ..fileio import write_atomic  # noqa: F401  (re-exported: other modules import it from here)
from ..compile.source import _MAX_MODULES, _MODULES, _MemoryLoader, _lit, _load_source, spec_title  # noqa: F401
from ..derivation.graph import LOSS
from ..ops.functions import logsumexp, sigmoid, softmax, softplus
from ..ops.losses import get_loss


class _Printer(NumPyPrinter):
    def __init__(self):
        super().__init__({"fully_qualified_modules": True, "inline": True, "allow_unknown_functions": False})

    def _print_Integer(self, expr):
        if abs(expr.p) < 10**300:
            return str(expr.p)
        return "numpy.inf" if expr.p > 0 else "(-numpy.inf)"  # beyond any float (and NumPy's int64)

    def _print_Rational(self, expr):
        if expr.q == 1 and abs(expr.p) < 10**300:
            return str(expr.p) + ".0"
        try:
            value = float(expr)
        except OverflowError:  # pragma: no cover (SymPy returns ±inf)
            value = math.inf if expr > 0 else -math.inf
        if math.isfinite(value):
            return repr(value)
        return "numpy.inf" if value > 0 else "(-numpy.inf)"


#: Names the generated functions use themselves (never a node's identifier).
_RESERVED = frozenset({"numpy", "params", "X", "Y", "r"})
#: Letters whose indexed names (``w^{1}_{1,2}``, ``x_{3}``) keep a readable identifier (``w_1_1_2``, ``x_3``).
_LETTERS = frozenset("abwxyzLfghpqstuv")


def _readable(name: str):
    """``w_1_1_2`` for ``w^{1}_{1,2}``, ``x_3`` for ``x_{3}``, ``L`` for ``L``, else None.

    Built only from a fixed letter set and re-printed integers, never by pasting the name:
    every other node name (``lambda``, ``None``, Unicode, ...) becomes ``v<k>`` instead."""
    if len(name) == 1 and name in _LETTERS:
        return name
    parts = names.split_indexed(name)
    if parts is None:
        return None
    letter, layer, idx = parts
    if len(letter) != 1 or letter not in _LETTERS or any(i > 10**6 for i in idx) or (layer or 0) > 10**6:
        return None
    nums = ([layer] if layer is not None else []) + list(idx)
    return "_".join([letter, *(str(int(i)) for i in nums)])


def _ident_map(d: Derivation) -> dict:
    """{node name: Python identifier}: a readable one for index-notation names, ``v<k>`` otherwise.

    The identifiers are ours (a fixed letter, integers, or a counter), so no node name ever
    enters the generated source except as an ``ascii()`` string literal (the NAMES table)."""
    m = {}
    used = set()
    for k, n in enumerate(d.graph.nodes):
        ident = _readable(n.name)
        if ident is None or ident in used or ident in _RESERVED or keyword.iskeyword(ident):
            ident = f"v{k}"
        assert ident.isidentifier() and ident.isascii() and not keyword.iskeyword(ident)
        used.add(ident)
        m[n.name] = ident
    return m


class _sech2(sympy.Function):
    """sech²(z) = 1 − tanh²(z), printed as 4e/(1 + e)² with e = e^{−2|z|} (no cancellation, no overflow)."""

    def _numpycode(self, printer):
        z = printer._print(self.args[0])
        return f"(lambda _e: 4.0*_e/(1.0 + _e)**2)(numpy.exp(-2.0*numpy.abs({z})))"


def _exp_sum_arguments(e):
    """[a_1, ..., a_k] when ``e`` is Σ c_i e^{a_i} + Σ c (positive constants c, c_i), else None:
    log(e) is then logsumexp(a_i + log c_i, log c), which never overflows."""
    if not isinstance(e, sympy.Add):
        return None
    out, has_exp = [], False
    for t in e.args:
        coeff, rest = t.as_coeff_Mul()
        if rest is sympy.S.One and t.is_Number and t.is_positive:
            out.append(sympy.log(t))
        elif isinstance(rest, sympy.exp) and coeff.is_positive:
            has_exp = True
            out.append(rest.args[0] if coeff == 1 else rest.args[0] + sympy.log(coeff))
        else:
            return None
    return out if has_exp else None


def _log_of_exp_sum(args):
    if len(args) == 2 and sympy.S.Zero in args:
        return softplus(args[1] if args[0] == 0 else args[0])  # log(1 + e^a) = logaddexp(0, a)
    return logsumexp(*args)


class _Stabilizer:
    """Rewrites an expression into forms that stay finite and accurate for large |z| in NumPy.

    - log σ(z) = −softplus(−z); R − R σ(z) = R σ(−z) (so log(1 − σ(z)) = −softplus(z) and
      σ(1 − σ) = σ(z) σ(−z)); R − R tanh²(z) = R sech²(z)
    - log(Σ e^{a_i} + c) = logsumexp(a_i, log c) (softplus for 1 + e^a); 1/(Σ e^{a_i} + c)^k =
      e^{−k logsumexp(...)}, and a product of exponentials is one exponential
      (so e^a/(1 + e^a) is e^{a − softplus(a)}, never ∞/∞); log softmax = z_i − logsumexp
    ``nodes`` maps a node symbol to its definition when that is σ(z) or tanh(z) (graph mode), so
    log(a), 1 − a and 1 − a² of such a node get the same rewrites across equations."""

    def __init__(self, nodes=None):
        self.nodes = dict(nodes or {})  # node symbol -> its definition σ(z) or tanh(z)
        self.memo = {}

    def __call__(self, e):
        if e.is_Atom:
            return e
        hit = self.memo.get(e)
        if hit is not None:
            return hit
        args = [self(a) for a in e.args]
        out = e.func(*args) if any(a is not b for a, b in zip(args, e.args)) else e
        out = self._rule(out)
        self.memo[e] = out
        return out

    def _sigmoid_argument(self, e):
        if isinstance(e, sigmoid):
            return e.args[0]
        if e.is_Symbol and isinstance(self.nodes.get(e), sigmoid):
            return self.nodes[e].args[0]
        return None

    def _tanh_argument(self, e):
        if isinstance(e, sympy.tanh):
            return e.args[0]
        if e.is_Symbol and isinstance(self.nodes.get(e), sympy.tanh):
            return self.nodes[e].args[0]
        return None

    def _rule(self, e):
        if isinstance(e, sympy.log):
            x = e.args[0]
            z = self._sigmoid_argument(x)
            if z is not None:
                return -softplus(-z)
            if isinstance(x, sympy.Pow) and x.exp.is_Number and self._sigmoid_argument(x.base) is not None:
                return -x.exp * softplus(-self._sigmoid_argument(x.base))
            if isinstance(x, softmax):
                return x.args[0] - logsumexp(*x.args[1:])
            args = _exp_sum_arguments(x)
            if args is not None:
                return _log_of_exp_sum(args)
            return e
        if isinstance(e, sympy.Pow) and e.exp.is_Number and e.exp.is_negative:
            args = _exp_sum_arguments(e.base)
            if args is not None and len(args) == 2 and sympy.S.Zero in args:
                a = args[1] if args[0] == 0 else args[0]
                return sigmoid(-a) ** (-e.exp)  # (1 + e^a)^{-k} = σ(−a)^k
            if args is not None:
                return sympy.exp(e.exp * _log_of_exp_sum(args))
            return e
        if isinstance(e, sympy.Mul):
            return self._product(e)
        if isinstance(e, sympy.Add):
            return self._pairs(e)
        return e

    def _product(self, e):
        """e^{ka} σ(−a)^k -> σ(a)^k; exponentials multiplied into one e^{Σ}, also into a sum's terms
        (so no ∞ · 0 when one factor overflows and another underflows)."""
        factors = list(e.args)
        for k, f in enumerate(factors):
            base, power = (f.base, f.exp) if isinstance(f, sympy.Pow) else (f, sympy.S.One)
            if not isinstance(base, sigmoid) or not power.is_Number:
                continue
            for j, h in enumerate(factors):
                if j != k and isinstance(h, sympy.exp) and sympy.expand(h.args[0] + power * base.args[0]) == 0:
                    rest = [x for i, x in enumerate(factors) if i not in (j, k)]
                    return self._rule(sympy.Mul(*rest, sigmoid(-base.args[0]) ** power))
        exps = [f for f in factors if isinstance(f, sympy.exp)]
        if not exps:
            return e
        rest = [f for f in factors if not isinstance(f, sympy.exp)]
        sums = [f for f in rest if isinstance(f, sympy.Add) and any(t.has(sympy.exp) for t in f.args)]
        if len(exps) == 1 and not sums:
            return e
        total = sympy.Add(*[f.args[0] for f in exps])
        if sums:
            s = sums[0]
            others = [f for f in rest if f is not s]
            return sympy.Add(*[self._rule(sympy.Mul(*others, t, sympy.exp(total))) for t in s.args])
        return sympy.Mul(*rest, sympy.exp(total))

    def _pairs(self, e):
        """R − R σ(z) -> R σ(−z) and R − R tanh²(z) -> R sech²(z) inside a sum."""
        terms = list(e.args)
        index = {}
        for k, t in enumerate(terms):
            index.setdefault(t, k)
        done = set()
        merged = {}  # k -> the rewritten pair that replaces terms k and j
        for k, t in enumerate(terms):
            if k in done:
                continue
            factors = t.args if isinstance(t, sympy.Mul) else (t,)
            for f in factors:
                base = f.base if isinstance(f, sympy.Pow) and f.exp.is_Integer and f.exp > 1 else f
                z = self._sigmoid_argument(base)
                if z is not None:  # R σ^k − R σ^{k−1} = −R σ^{k−1} σ(−z)
                    make, f = sigmoid(-z), base
                elif isinstance(f, sympy.Pow) and f.exp == 2 and self._tanh_argument(f.base) is not None:
                    make = _sech2(self._tanh_argument(f.base))
                else:
                    continue
                partner = -(t / f)
                j = index.get(partner)
                if j is not None and j != k and j not in done:
                    done.update((j, k))
                    merged[k] = partner * make
                    break
        if not merged:
            return e
        out = [merged[k] if k in merged else t for k, t in enumerate(terms) if k in merged or k not in done]
        return sympy.Add(*out)


def _through_sigmoids(assignments, sigmoid_nodes, budget: int = 200):
    """Graph mode's ŷ − y: when ∂L/∂a of a node a = σ(z) divides by a or 1 − a (a log-loss),
    ∂L/∂z = ∂L/∂a · a(1 − a) is computed with ∂L/∂a substituted and the fraction cancelled
    (BCE gives a − y), so a saturated σ (a = 1.0 or 0.0 in floats) never makes 0/0.
    Only small expressions (``budget`` operations) are cancelled; others stay as they are."""
    if not sigmoid_nodes:
        return assignments
    by_lhs = dict(assignments)
    out = []
    for lhs, expr in assignments:
        for a in sigmoid_nodes:
            da = sympy.Symbol("d_" + a.name, real=True)
            D = by_lhs.get(da.name)
            if D is None or lhs == da.name or da not in expr.free_symbols:
                continue
            if sympy.count_ops(expr) > budget or sympy.count_ops(D) > budget:
                continue
            if a not in sympy.fraction(sympy.together(D))[1].free_symbols:
                continue
            cand = sympy.cancel(expr.xreplace({da: D}))
            if a not in sympy.fraction(cand)[1].free_symbols:
                expr = cand
        out.append((lhs, expr))
    return out


def _fused_loss(d: Derivation):
    """The loss written in logits when the output activation pairs with the loss (stable NumPy)."""
    g = d.graph
    if g.mode != "network":
        return None
    loss = get_loss(g.loss)
    f = loss.from_logits.get(g.activations[-1])
    if f is None:
        return None
    depth = len(g.layers)
    zs = [names.symbol(names.pre_activation(depth, i)) for i in range(1, g.layers[-1] + 1)]
    ys = [names.symbol(names.target(i)) for i in range(1, g.layers[-1] + 1)]
    return f(ys, zs)


def _tuple(items) -> str:
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def generate_source(d: Derivation) -> str:
    """The Python source (NumPy only) that computes forward values, loss and every gradient."""
    g = d.graph
    ident = _ident_map(d)
    sym_map = {names.symbol(k): sympy.Symbol(v, real=True) for k, v in ident.items()}
    sym_map.update({d.upstream_symbol(k): sympy.Symbol("d_" + v, real=True) for k, v in ident.items()})
    printer = _Printer()

    leaves_param = [n.name for n in g.parameters]
    leaves_in = [n.name for n in g.inputs]
    leaves_tgt = [n.name for n in g.targets]
    args = [ident[n] for n in leaves_param + leaves_in + leaves_tgt]
    defined = [n for n in g.nodes if not n.is_leaf]
    fused = _fused_loss(d)

    assignments = []  # (identifier, expression in identifier symbols), in execution order
    for n in defined:
        expr = fused if (n.kind == LOSS and fused is not None) else n.definition
        assignments.append((ident[n.name], expr.xreplace(sym_map)))
    # graph mode: a node defined as σ(z) is known as such to later log(node) and 1 − node
    squashing = {sympy.Symbol(lhs, real=True): e for lhs, e in assignments
                 if g.mode != "network" and isinstance(e, (sigmoid, sympy.tanh))}
    sigmoid_nodes = {a: e.args[0] for a, e in squashing.items() if isinstance(e, sigmoid)}
    grad_nodes = [n for n in reversed(g.nodes) if n.name in d.node_gradients]
    for n in grad_nodes:
        assignments.append(("d_" + ident[n.name], d.upstream_expression(n.name).xreplace(sym_map)))
    assignments = _through_sigmoids(assignments, sigmoid_nodes)
    stable = _Stabilizer(squashing)
    assignments = [(lhs, stable(expr)) for lhs, expr in assignments]

    def body(wanted):
        """The assignments needed for ``wanted`` identifiers, in order (dead code pruned)."""
        need = set(wanted)
        keep = []
        for lhs, expr in reversed(assignments):
            if lhs in need:
                keep.append((lhs, expr))
                need.update(s.name for s in expr.free_symbols)
        out = []
        for lhs, expr in reversed(keep):
            if lhs == "d_" + ident[g.output]:
                continue
            out.append(f"    {lhs} = {printer.doprint(expr)}")
        return out

    out_ident = ident[g.output]
    param_grads = ["d_" + ident[p] if p in d.node_gradients else "0.0" for p in leaves_param]
    # The reduced gradient r * sum_e dL_e/dtheta, fused: dW = a * dz summed over the batch is one dot product.
    grad_exprs = dict(assignments)
    reduced = []
    for p, pid in zip(leaves_param, param_grads):
        if pid == "0.0":
            reduced.append("0.0")
            continue
        e = grad_exprs[pid]
        factors = e.args if isinstance(e, sympy.Mul) else (e,)
        if g.mode == "network" and isinstance(e, sympy.Mul) and len(factors) == 2 and all(f.is_Symbol for f in factors):
            reduced.append(f"_r * numpy.dot({factors[0].name}, {factors[1].name})")
        elif g.mode == "network" and e.is_Symbol:
            reduced.append(f"_r * numpy.sum({e.name})")
        else:
            reduced.append(f"_r * numpy.sum(numpy.broadcast_to({printer.doprint(e)}, (_n,)))")
    reduced_needs = sorted({s.name for pid in param_grads if pid != "0.0" for s in grad_exprs[pid].free_symbols})
    value_ids = [ident[n.name] for n in defined]
    order = leaves_in + leaves_tgt + [n.name for n in defined]
    node_grad_ids = ["d_" + ident[n] if n in d.node_gradients else "0.0" for n in order]
    title = spec_title(d.spec, "a graph")
    lines = [
        '"""Gradients generated by symbackprop (TITLE names the spec).',
        "",
        "Straight-line code from the chain-rule derivation: the forward pass, the loss, then",
        "each upstream gradient dL/dv in reverse order. Needs only NumPy.",
        "NAMES maps each identifier of this module to the node it computes.",
        '"""',
        "import numpy",
        "",
        f"TITLE = {_lit(title)}",
        f"MODE = {_lit(g.mode)}",
        f"NAMES = {_lit({ident[n.name]: n.name for n in g.nodes})}",
        f"PARAMETERS = {_lit(tuple(leaves_param))}",
        f"INPUTS = {_lit(tuple(leaves_in))}",
        f"TARGETS = {_lit(tuple(leaves_tgt))}",
        f"NODES = {_lit(tuple(n.name for n in defined))}",
        'BACKEND = "per-scalar"',
        'BACKEND_REASON = "per-scalar chain rule: one lambdified expression per parameter (small network or graph)"',
        "",
        "",
        "def parameter_names():",
        '    """Every parameter\'s name, in order (the same interface as the matrix-form module)."""',
        "    return PARAMETERS",
        "",
        "",
        "def parameter_template(value=0.0):",
        '    """A parameter dict {name: value} with every name, to fill in."""',
        "    return {name: float(value) for name in PARAMETERS}",
        "",
        f"OUTPUT = {_lit(g.output)}",
        f"REDUCTION = {_lit(d.reduction)}",
        f"NODE_GRADIENTS = {_lit(tuple(order))}",
        "",
        "",
        f"def loss_and_gradients_per_example({', '.join(args)}):",
        '    """The per-example loss L_e and dL_e/dtheta for every parameter."""',
        "    d_" + out_ident + " = 1.0",
        *body([out_ident] + param_grads),
        f"    return {out_ident}, {_tuple(param_grads)}",
        "",
        "",
        f"def reduced_gradients(_n, _r, {', '.join(args)}):",
        '    """dJ/dtheta = r * sum_e dL_e/dtheta for every parameter (one dot product per weight)."""',
        *body(reduced_needs),
        f"    return {_tuple(reduced)}",
        "",
        "",
        f"def forward_per_example({', '.join(args)}):",
        '    """Every node\'s value (forward pass only)."""',
        *body(value_ids),
        f"    return {_tuple(value_ids)}",
        "",
        "",
        f"def node_gradients_per_example({', '.join(args)}):",
        '    """dL_e/dv for every input, target and node (inf where the derivative is unbounded)."""',
        "    d_" + out_ident + " = 1.0",
        "    with numpy.errstate(divide='ignore', invalid='ignore'):",
        *(["    " + line for line in body([x for x in node_grad_ids if x != "0.0"])] or ["        pass"]),
        f"    return {_tuple(node_grad_ids)}",
        "",
        "",
        "def _as_dict(params):",
        "    if hasattr(params, 'keys'):",
        "        return params",
        "    try:",
        "        vector = numpy.asarray(params, dtype=float)",
        "    except (TypeError, ValueError):",
        "        vector = None",
        "    if vector is None or vector.ndim != 1 or vector.shape[0] != len(PARAMETERS):",
        "        raise TypeError('params: a dict {name: value} over PARAMETERS, or a flat vector of '",
        "                        + str(len(PARAMETERS)) + ' numbers in PARAMETERS order (this per-scalar module has '",
        "                        'no (W, b) matrices)')",
        "    return dict(zip(PARAMETERS, vector))",
        "",
        "",
        "_GIVE_PARAMETERS = 'give a value for every name in PARAMETERS (parameter_template() is a dict of them to fill in)'",
        "_GIVE_DATA = 'give X as {name: value or one value per example} for every name in INPUTS and TARGETS'",
        "",
        "",
        "def _missing(what, given, expected, hint):",
        '    """Raise the KeyError for a parameter dict without some names of PARAMETERS (or graph data without',
        '    some of INPUTS): one line naming them (the first 5), the given names that are none, and what to give."""',
        "    missing = [name for name in expected if name not in given]",
        "    known = set(expected)",
        "    unknown = [repr(k) for k in given if k not in known]",
        "    raise KeyError(",
        "        what + ': no value for ' + ', '.join(missing[:5]) + (', ...' if len(missing) > 5 else '')",
        "        + ' (' + str(len(missing)) + ' of ' + str(len(expected)) + ' missing'",
        "        + ('; not names here: ' + ', '.join(unknown[:3]) + (', ...' if len(unknown) > 3 else '') if unknown else '')",
        "        + '); ' + hint)",
        "",
        "",
        "def _arguments(params, X, Y):",
        "    params = _as_dict(params)",
        "    args = [params[name] if name in params else _missing('params', params, PARAMETERS, _GIVE_PARAMETERS)",
        "            for name in PARAMETERS]",
        "    if MODE == 'network':",
        "        X = numpy.atleast_2d(numpy.asarray(X, dtype=float))",
        "        if X.ndim != 2 or X.shape[1] != len(INPUTS):",
        "            raise ValueError('X: expected one row per example with ' + str(len(INPUTS)) + ' columns (the '",
        "                             'inputs ' + ', '.join(INPUTS) + '), got shape ' + str(X.shape))",
        "        n = X.shape[0]",
        "        args += [X[:, j] for j in range(X.shape[1])]",
        "        Y = numpy.zeros((n, len(TARGETS))) if Y is None else numpy.asarray(Y, dtype=float)",
        "        if Y.size != n * len(TARGETS):",
        "            raise ValueError('Y: expected ' + str(n) + ' rows (one per row of X) of ' + str(len(TARGETS))",
        "                             + ' targets, got shape ' + str(Y.shape))",
        "        Y = Y.reshape(n, len(TARGETS))",
        "        args += [Y[:, k] for k in range(Y.shape[1])]",
        "    else:",
        "        data = {k: numpy.atleast_1d(numpy.asarray(v, dtype=float)) for k, v in (X or {}).items()}",
        "        args += [data[name] if name in data else _missing('X', data, INPUTS + TARGETS, _GIVE_DATA)",
        "                 for name in INPUTS + TARGETS]",
        "        n = max([len(v) for v in data.values()] + [1])",
        "    return args, n",
        "",
        "",
        "def _reduce(values, n):",
        "    total = numpy.sum(numpy.broadcast_to(values, (n,)))",
        "    return float(total / n) if REDUCTION == 'mean' else float(total)",
        "",
        "",
        "def forward(params, X, Y=None):",
        '    """Every node\'s value, one entry per example: {node name: array}."""',
        "    args, n = _arguments(params, X, Y)",
        "    values = forward_per_example(*args)",
        "    return {name: numpy.broadcast_to(v, (n,)).astype(float) for name, v in zip(NODES, values)}",
        "",
        "",
        "def loss(params, X, Y=None):",
        '    """The reduced loss J = r * sum_e L_e (r = 1/n for mean, 1 for sum)."""',
        "    args, n = _arguments(params, X, Y)",
        "    return _reduce(forward_per_example(*args)[NODES.index(OUTPUT)], n)",
        "",
        "",
        "def gradients(params, X, Y=None):",
        '    """dJ/dtheta of the reduced loss for every parameter: {name: float}, or a flat vector in',
        '    PARAMETERS order when params is one; a graph spec with one example also gives df/dx of',
        '    every input (as grad --json does)."""',
        "    args, n = _arguments(params, X, Y)",
        "    r = 1.0 / n if REDUCTION == 'mean' else 1.0",
        "    grads = reduced_gradients(n, r, *args)",
        "    if not hasattr(params, 'keys'):",
        "        return numpy.array([float(g) for g in grads])",
        "    out = {name: float(g) for name, g in zip(PARAMETERS, grads)}",
        "    if MODE == 'graph' and n == 1:  # the slides' df/dx of the inputs too, as grad --json gives them",
        "        for name, g in zip(NODE_GRADIENTS, node_gradients_per_example(*args)):",
        "            if name in INPUTS:",
        "                out.setdefault(name, float(numpy.ravel(g)[0]))",
        "    return out",
        "",
        "",
        "def node_gradients(params, X, Y=None):",
        '    """dL_e/dv per example for every input, target and node: {name: array}."""',
        "    args, n = _arguments(params, X, Y)",
        "    grads = node_gradients_per_example(*args)",
        "    return {name: numpy.broadcast_to(g, (n,)).astype(float) for name, g in zip(NODE_GRADIENTS, grads)}",
        "",
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class CompiledGradients:
    """NumPy functions for one derivation.

    ``gradients(params, X, Y) -> {name: float}`` (the reduced loss's gradient),
    ``loss(params, X, Y) -> float``, ``forward(params, X) -> {node: array}``,
    ``node_gradients(params, X, Y) -> {node: array}`` (per example).
    ``params`` maps canonical names (``w^{1}_{1,1}``) to numbers; ``X`` is (n, inputs)
    and ``Y`` (n, outputs) in network mode; in graph mode ``X`` maps input names to values.
    """

    source: str
    module: object
    kind: str = "per-scalar"

    @property
    def parameters(self):
        return self.module.PARAMETERS

    def gradients(self, params, X, Y=None):
        return self.module.gradients(params, X, Y)

    def loss(self, params, X, Y=None):
        return self.module.loss(params, X, Y)

    def forward(self, params, X, Y=None):
        return self.module.forward(params, X, Y)

    def node_gradients(self, params, X, Y=None):
        return self.module.node_gradients(params, X, Y)

    __call__ = gradients


def choose_backend(d: Derivation) -> str:
    """``"per-scalar"`` or ``"matrix"``: which generated code is faster for this derivation.

    Matrix-form code (one matrix product per layer, BLAS) is about as fast as per-scalar code
    (one NumPy operation per named scalar) for the smallest network and faster from there on:
    per-scalar time / matrix time is 0.86-2.5 at [2,2,1] (9 parameters; below 1 only for batches
    of at most 100), 1.2-2.5 at 15-45 parameters and 1.8-14 from 91 parameters up, at batch sizes
    10 to 10^5 (the crossover table in docs/performance.md, measured by benchmarks/run.py). So
    every network the matrix form covers gets matrix-form code; graph-mode specs, and networks
    with an activation or loss the matrix form has no rule for, get per-scalar code.
    """
    if d.graph.mode != "network":
        return "per-scalar"
    from ..derivation.matrix_form import matrix_derive

    try:
        matrix_derive(d)
    except NotSupportedError:
        return "per-scalar"
    return "matrix"


def compile_gradients(d: Derivation, backend: str = "auto"):
    """Generate and load NumPy code for a derivation.

    ``backend``: ``"per-scalar"`` (the derivation's own straight-line code), ``"matrix"``
    (the slides' matrix form, network specs only), ``"jax"`` (the matrix form in ``jax.numpy``,
    jitted; needs the ``[jax]`` extra) or ``"auto"`` (``choose_backend``; never JAX).
    Both return objects with the same ``gradients/loss/forward/node_gradients`` API and
    index-notation names; ``.kind`` says which one was used.
    """
    if backend == "auto":
        backend = choose_backend(d)
    if backend == "matrix":
        from ..compile.matrix_numpy import compile_matrix_gradients

        return compile_matrix_gradients(d)
    if backend == "jax":
        from ..compile.matrix_jax import compile_jax_gradients

        return compile_jax_gradients(d)
    if backend != "per-scalar":
        raise ValueError(f"unknown backend {backend!r} (allowed: auto, per-scalar, matrix, jax)")
    source = generate_source(d)
    return CompiledGradients(source, _load_source(source, "grad"))


def export_module(d: Derivation, path: str, *, force: bool = False) -> str:
    """Write the generated gradient module to ``path`` (a standalone file needing only NumPy)."""
    source = generate_source(d)
    write_atomic(path, source, force=force)
    return source


def spec_parameters(d: Derivation) -> dict:
    """The spec's parameter values as floats: {canonical name: float}."""
    return {s.name: float(v) for s, v in d.parameter_values().items()}


def spec_data(d: Derivation):
    """The spec's data as arrays: (X, Y) in network mode, ({input: array}, None) in graph mode."""
    spec = d.spec
    if d.graph.mode == "network":
        X = np.array([[float(v) for v in row] for row in spec.x], dtype=float).reshape(len(spec.x), -1)
        Y = np.array([[float(v) for v in row] for row in spec.y], dtype=float).reshape(len(spec.y), -1)
        return X, Y
    n = spec.n_examples
    return {k: np.array([float(x) for x in (v if len(v) == n else v * n)]) for k, v in spec.data}, None


_ = (upstream_name, SpecError)
