r"""Sample points of the answer checker: random rationals and the kinks they must cover.

Takes a random generator or a graph and gives random rationals p/q (never an integer, so never 0, ±1
or ±2), the friendly values of counterexamples (½, −¾, ...), and the ReLU-type kinks of a graph whose
two sides the points must reach.  Shared by the index and the matrix reader.
"""
from __future__ import annotations

import sympy
from sympy import Rational

from ..ops import functions
from .exact import _Kink, _Undefined


N_POINTS = 6
_DENOMINATORS = (3, 5, 7, 11, 13, 17, 19, 23, 29, 31)
#: the values of a counterexample a person can follow: small fractions, never 0 or ±1
FRIENDLY = tuple(Rational(p, q) for p, q in ((1, 2), (-3, 4), (2, 5), (-1, 3), (3, 2), (-2, 5), (3, 4), (-1, 2),
                                             (1, 4), (-3, 2), (2, 3), (-1, 4), (5, 4), (-2, 3), (1, 3), (-5, 4)))


_SCALES = (Rational(1, 4), Rational(1, 2), Rational(1), Rational(2), Rational(4))


def random_rational(rng, *, positive: bool = False) -> Rational:
    r"""A random rational p/q, q a prime from 3 to 31 and p not a multiple of q: never an integer
    (so never 0, ±1 or ±2, where powers and products coincide), magnitudes from about 1/31 to 8."""
    q = rng.choice(_DENOMINATORS)
    top = max(2, int(rng.choice(_SCALES) * 2 * q))
    while True:
        p = rng.randint(1, top)
        if p % q:
            break
    sign = 1 if positive or rng.random() < 0.5 else -1
    return Rational(sign * p, q)


def _near_rational(x: float, rng) -> Rational:
    """A non-integer rational close to x (to shift a bias to a chosen value)."""
    q = rng.choice(_DENOMINATORS)
    p = round(x * q)
    if p % q == 0:
        p += 1
    return Rational(p, q)


#: where each piecewise function changes branch, as the expressions that are 0 there (their signs
#: name the branch): ReLU-type functions and |v| at v = 0; the Huber function (δ = 1) and its slope
#: huber′(r) = r clipped to [−1, 1] at r = ±1, so r − 1 and r + 1 (three branches: both negative,
#: r + 1 positive only, both positive); max(a, b) at a = b
_KINKS = {
    **{f: (lambda v: (v,)) for f in (functions.relu, functions.step, functions.leaky_relu, functions.leaky_step,
                                     functions.elu, sympy.Abs, sympy.Heaviside, sympy.sign)},
    functions.huber: lambda r: (r - 1, r + 1),
    functions.huber_slope: lambda r: (r - 1, r + 1),
    sympy.Max: lambda a, b, *rest: (a - b,) if not rest else (),
    sympy.Min: lambda a, b, *rest: (a - b,) if not rest else (),
}


def kinks_of(expr) -> list:
    """The expressions that are 0 where a piecewise function in ``expr`` changes branch (see
    :data:`_KINKS`), each once, numbers left out: [z^{2}_{1}] for relu(z^{2}_{1}), [r − 1, r + 1]
    for huber(r)."""
    out = []
    for sub in sympy.preorder_traversal(expr):
        rule = _KINKS.get(type(sub))
        if rule is None or not sub.args:
            continue
        for arg in rule(*sub.args):
            if not arg.is_Number and arg not in out:
                out.append(arg)
    return out


def _kink_owners_of(graph) -> list:
    """(kink expression, node name) for every branch change of a piecewise function in the graph's
    definitions (see :func:`kinks_of`)."""
    return [(arg, n.name) for n in graph.nodes if n.definition is not None for arg in kinks_of(n.definition)]


def _kink_arguments(graph) -> tuple:
    """The kink expressions of the piecewise functions in the graph's definitions, each once."""
    return tuple(dict.fromkeys(arg for arg, _ in _kink_owners_of(graph)))


def at_kink(point, kinks) -> bool:
    """True when one of the graph's kink expressions is exactly 0 at the point (z = 0 of a ReLU unit,
    |ŷ − y| = 1 of the Huber loss): the derivative through it is not defined there (a student may take
    either side), so no sample or counterexample point is put there."""
    for k in kinks:
        try:
            if point.evaluate(k).sign() == 0:
                return True
        except (_Undefined, _Kink, ZeroDivisionError):
            continue
    return False


def _record_signs(point, kinks, seen) -> None:
    for k in kinks:
        try:
            seen[k].add(point.evaluate(k).sign())
        except (_Undefined, _Kink, ZeroDivisionError):
            pass


def _signs_of(point, kinks) -> tuple:
    """The point's sign pattern: the side of its kink each unit is on (0 where undefined)."""
    out = []
    for k in kinks:
        try:
            out.append(point.evaluate(k).sign())
        except (_Undefined, _Kink, ZeroDivisionError):
            out.append(0)
    return tuple(out)


#: up to this many ReLU-type units, the points cover every sign pattern (2^K points at most)
EXHAUSTIVE_KINKS = 8
#: beyond it, this many points with random sign patterns
PATTERN_POINTS = 128
#: lazy points (big networks) with ReLU-type units: each unit's sign is random per point
LAZY_PATTERN_POINTS = 96


def _additive_leaf(graph, arg):
    """The leaf symbol b with ∂arg/∂b = 1 (the bias of z = w a + b), following one node symbol; a
    parameter first, then an input, then (for a loss whose targets are free) a target."""
    expr = arg
    if isinstance(arg, sympy.Symbol) and arg.name in graph.by_name:
        node = graph.by_name[arg.name]
        if node.definition is None:
            return arg if node.kind != "target" else None
        expr = node.definition
    for s in sorted(expr.free_symbols, key=lambda s: s.name):
        node = graph.by_name.get(s.name)
        if node is not None and node.is_leaf and node.kind == "parameter" and sympy.diff(expr, s) == 1:
            return s
    for s in sorted(expr.free_symbols, key=lambda s: s.name):
        node = graph.by_name.get(s.name)
        if node is not None and node.is_leaf and node.kind != "target" and sympy.diff(expr, s) == 1:
            return s
    if getattr(graph, "loss", None) not in _BOUNDED_TARGETS:
        # a kink of the loss itself (Huber's |y − ŷ| = 1): the target moves it, ŷ stays
        for s in sorted(expr.free_symbols, key=lambda s: s.name):
            node = graph.by_name.get(s.name)
            if node is not None and node.kind == "target" and sympy.diff(expr, s) == 1:
                return s
    return None


#: losses whose targets must stay in a domain (a probability vector, [0, 1]): never moved to reach a kink
_BOUNDED_TARGETS = ("cross_entropy", "bce")


#: Networks with more parameters than this are checked in matrix notation only (the per-scalar
#: derivation of 100k parameters would take minutes); the same bound as ``cli_core``'s.
SCALAR_MAX_PARAMETERS = 5000
LAZY_MIN_PARAMETERS = 64     # from this many parameters on, points are lazy (see AnswerChecker._make_lazy_points)


def _parameter_count(spec) -> int:
    if spec is None or getattr(spec, "network", None) is None:
        return 0
    L = spec.network.layers
    return sum(L[k] * L[k + 1] + L[k + 1] for k in range(len(L) - 1))
