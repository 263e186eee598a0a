r"""The grammar's vocabulary: its hard bounds, the functions it knows, and the SymPy heads of what it reads
but leaves to the answer checker (a sum over the examples, the layer's activation derivative g').

Takes nothing; gives the constants and tables the tables loader, the syntax reader and the builder share.
"""
from __future__ import annotations

from collections.abc import Callable

import sympy
from lark import Tree

from ..ops import functions

MAX_LENGTH = 2000
MAX_NESTING = 30
MAX_DEPTH = 160
MAX_EXPONENT = 64
MAX_DIGITS = 30
MAX_BITS = 4096
MAX_SUM_TERMS = 64
#: the largest bound a \sum may write (its terms are counted by MAX_SUM_TERMS)
MAX_SUM_BOUND = 10 ** 6
MAX_PRIMES = 3
MAX_SCRIPTS = 8

class example_sum(sympy.Function):
    r"""\sum_{i=1}^{n} f_i over the examples of the batch: its argument is written in one example's
    names (y_i, \hat{y}_i, x_i^1), and the answer checker sums it over the spec's examples."""

    nargs = 1


def _is_example_sum(limits, var: str) -> bool:
    r"""``\sum_{i=1}^{n}``, ``\sum_{i=1}^{m}``, ``\sum_i``, ``\sum_{e}``, ``\sum_x``: a sum over the examples."""
    if limits.data == "sum_bounds":
        upper = [c for c in limits.children if isinstance(c, Tree)][-1]
        while isinstance(upper, Tree) and upper.data in ("group", "paren"):  # ^{n} as ^n
            inner = [c for c in upper.children if isinstance(c, Tree)]
            if len(inner) != 1 or len(upper.children) - len(inner) > 2:
                break
            upper = inner[0]
        return isinstance(upper, Tree) and upper.data == "name" and str(upper.children[0]) in ("n", "m", "N")
    return var in ("i", "e", "n", "x")  # \sum_x: Nielsen's sum over the training inputs x


class activation_derivative(sympy.Function):
    """g'(z) as a student writes it: the derivative of whatever activation the layer of z has
    (the answer checker replaces it by the registry's derivative, e.g. a(1 − a) for the sigmoid)."""

    nargs = 1


#: the functions of the grammar's FUNC token, by their spelling without ``\`` or \operatorname{}
FUNCTIONS: dict[str, Callable] = {
    "exp": sympy.exp,
    "log": sympy.log,
    "ln": sympy.log,
    "tanh": sympy.tanh,
    "sigma": functions.sigmoid,
    "sigmoid": functions.sigmoid,
    "σ": functions.sigmoid,
    "relu": functions.relu,
    "ReLU": functions.relu,
    "ReLu": functions.relu,
    "softplus": functions.softplus,
    "leaky_relu": functions.leaky_relu,
    "lrelu": functions.leaky_relu,
    "LReLU": functions.leaky_relu,
}


def _registry_functions() -> dict:
    """Every registry activation's spellings (``elu``, ``silu``, ...), from the one registry."""
    from ..ops.activations import answer_spellings

    return {k: f for k, f in answer_spellings().items() if "{" not in k and k not in FUNCTIONS}


FUNCTIONS.update(_registry_functions())

#: functions read in answers but not spec equations (a spec's ``sech(x)`` is an unknown function
#: there, see ``spec.load.FUNCTION_WORDS``): tanh′(z) = sech² z = 1 − tanh² z, written through exp
#: so that the checker evaluates them exactly; huber(r) (δ = 1), so that ``\operatorname{huber}'(ŷ − y)``
#: is its derivative, r clipped to [−1, 1]
ANSWER_FUNCTIONS: dict[str, Callable] = {
    "sech": lambda z: 2 / (sympy.exp(z) + sympy.exp(-z)),
    "cosh": lambda z: (sympy.exp(z) + sympy.exp(-z)) / 2,
    "huber": functions.huber,
}
#: every function the grammar's FUNC token reads
ALL_FUNCTIONS: dict[str, Callable] = {**FUNCTIONS, **ANSWER_FUNCTIONS}


_USUP_DIGITS = {c: str(i) for i, c in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")}

#: names that are constants in spec equations unless the spec defines them (see parse_equation)
SPEC_CONSTANTS = {"e": sympy.E, "pi": sympy.pi}
