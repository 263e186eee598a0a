r"""The lark grammar: every parse is compared with the SymPy expression built by hand.

The oracle for each case is an expression written directly with SymPy constructors
(``S("x") + S("y")``), never the parser itself.  Errors are checked for their column;
hostile strings must end in a ParseError and execute nothing.
"""
from __future__ import annotations

import os
import string

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sympy import Rational, exp, log, tanh

from symbackprop import names
from symbackprop.errors import ParseError
from symbackprop.functions import leaky_relu, relu, sigmoid, softplus
from symbackprop.parser import (
    MAX_LENGTH,
    Chain,
    parse_chain,
    parse_equation,
    parse_expression,
)


def S(name: str) -> sympy.Symbol:
    return sympy.Symbol(name, real=True)


x, y, z, q, u, w, b = (S(n) for n in "xyzquwb")


def same(a, b) -> bool:
    """Structural equality first; a difference that simplifies to 0 also counts (e.g. 3(x+1) vs 3x+3)."""
    return a == b or sympy.simplify(a - b) == 0


# ---------------------------------------------------------------------------------------
# Phase 1: the spec's graph equations


@pytest.mark.parametrize(
    "text, name, expected",
    [
        # 001: f = (x + y) z as two equations
        ("q = x + y", "q", x + y),
        ("f = q * z", "f", q * z),
        ("f = q z", "f", q * z),
        ("f = (x + y) z", "f", (x + y) * z),
        # 002: y = u^2, u = 3x; f = x^2 + 2xy + y^2; f = 4x^3
        ("y = u^2", "y", u ** 2),
        ("y = u**2", "y", u ** 2),
        ("u = 3x", "u", 3 * x),
        ("u = 3 * x", "u", 3 * x),
        ("f = x^2 + 2 x y + y^2", "f", x ** 2 + 2 * x * y + y ** 2),
        ("f = x^2 + 2xy + y^2", "f", x ** 2 + 2 * S("xy") + y ** 2),  # 'xy' is one name in an equation
        ("f = 4x^3", "f", 4 * x ** 3),
        # 001: linear regression, one example
        ("L = (y - (w x + b))^2", "L", (y - (w * x + b)) ** 2),
        # index-notation names, in both orders, canonicalized with braces
        ("z^{2}_{1} = w^{1}_{1,1} x_1 + w^{1}_{1,2} x_2 + b^{1}_{1}", "z^{2}_{1}",
         S("w^{1}_{1,1}") * S("x_{1}") + S("w^{1}_{1,2}") * S("x_{2}") + S("b^{1}_{1}")),
        ("z^{2}_{1} = w_{1,1}^{1} x_{1} + b^1_1", "z^{2}_{1}",
         S("w^{1}_{1,1}") * S("x_{1}") + S("b^{1}_{1}")),
        ("a^{2}_{1} = sigma(z^{2}_{1})", "a^{2}_{1}", sigmoid(S("z^{2}_{1}"))),
        ("a_1 = sigmoid(z_1)", "a_{1}", sigmoid(S("z_{1}"))),
        ("g = w0*x0 + w1*x1 + w2", "g", S("w0") * S("x0") + S("w1") * S("x1") + S("w2")),
        # functions
        ("h = exp(-x) + log(y) + tanh(z)", "h", exp(-x) + log(y) + tanh(z)),
        ("h = relu(x) + softplus(y) + leaky_relu(z)", "h", relu(x) + softplus(y) + leaky_relu(z)),
        ("h = e^{-x}", "h", exp(-x)),
        ("h = 1 / (1 + e^(-x))", "h", 1 / (1 + exp(-x))),
        # numbers are exact rationals
        ("h = 0.5 x", "h", Rational(1, 2) * x),
        ("h = 0.1 + 0.2", "h", Rational(3, 10)),
        ("h = .25", "h", Rational(1, 4)),
    ],
)
def test_graph_equations(text, name, expected):
    got_name, got = parse_equation(text)
    assert got_name == name
    assert same(got, expected), (got, expected)


def test_symbols_are_the_canonical_real_symbols():
    _, expr = parse_equation("z^{2}_{1} = w_{1,1}^{1} x_1")
    assert expr.free_symbols == {names.symbol(names.weight(1, 1, 1)), names.symbol(names.feature(1))}
    assert all(s.is_real for s in expr.free_symbols)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("-x^2", -(x ** 2)),
        ("(-x)^2", x ** 2),
        ("2^3^2", sympy.Integer(512)),          # right-associative
        ("2**3**2", sympy.Integer(512)),
        ("x^-1", 1 / x),
        ("2^-1 x", x / 2),
        ("x / y / z", x / (y * z)),
        ("x - y - z", x - y - z),
        ("3(x + 1)", 3 * (x + 1)),
        ("2 x y", 2 * x * y),
        ("(x + 1)(y - 1)", (x + 1) * (y - 1)),
        ("x(1 - x)", x * (1 - x)),
        ("- - x", x),
        ("+x", x),
        ("1/2 x", x / 2),
        ("x_1^2", S("x_{1}") ** 2),                # syntactic: a subscript then a power
        ("x^{2}", x ** 2),
        ("2^{x+1}", 2 ** (x + 1)),
        ("sigma(x)(1 - sigma(x))", sigmoid(x) * (1 - sigmoid(x))),
        ("sigmoid(x)^2", sigmoid(x) ** 2),
        ("ln(x) - log(x)", sympy.Integer(0)),
    ],
)
def test_precedence_and_implicit_multiplication(text, expected):
    assert same(parse_expression(text), expected)


def test_numbers_are_exact_never_floats():
    expr = parse_expression("0.1 x + 0.2 x")
    assert expr == Rational(3, 10) * x
    assert not expr.atoms(sympy.Float)


# ---------------------------------------------------------------------------------------
# Errors: a ParseError naming the column


@pytest.mark.parametrize(
    "text, column",
    [
        ("x + * y", 5),
        ("x # y", 3),
        ("x^100", 2),
        ("2^2^2^2^2", 2),
        (r"\foo x", 1),
        ("x + ", 5),
        ("(x + y", 7),
        ("x + y)", 6),
        ("1/0", 1),
        ("f(x, y)", 4),
    ],
)
def test_error_columns(text, column):
    with pytest.raises(ParseError) as info:
        parse_expression(text)
    assert info.value.column == column, str(info.value)


def test_error_message_shows_the_text_and_a_pointer():
    with pytest.raises(ParseError) as info:
        parse_expression("x + * y")
    message = str(info.value)
    assert "column 5" in message
    assert "x + * y" in message
    assert message.splitlines()[-1].index("^") == 2 + 4


def test_equation_needs_a_name_on_the_left():
    with pytest.raises(ParseError, match="left-hand side"):
        parse_equation("x + 1 = y")
    with pytest.raises(ParseError, match="one equation"):
        parse_equation("x + 1")
    with pytest.raises(ParseError, match="one equation"):
        parse_equation("a = b = c")


def test_unknown_latex_command_is_named():
    with pytest.raises(ParseError, match=r"unknown LaTeX command \\alphax"):
        parse_expression(r"\alphax + 1")


# ---------------------------------------------------------------------------------------
# Hostile input: bounded, never executed


HOSTILE = [
    "__import__('os').system('touch /tmp/symbackprop_pwned_parser')",
    "q = __import__('os').system('touch /tmp/symbackprop_pwned_parser')",
    "exec('import os')",
    "eval('1')",
    "lambda: 1",
    "x.__class__",
    "().__class__.__bases__[0]",
    "open('/etc/passwd').read()",
    "x; import os",
    "`touch /tmp/symbackprop_pwned_parser`",
    "\x00",
    "x\x00y",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_strings_are_parse_errors_and_execute_nothing(text):
    marker = "/tmp/symbackprop_pwned_parser"
    if os.path.exists(marker):
        os.remove(marker)
    with pytest.raises(ParseError):
        if "=" in text:
            parse_equation(text)
        else:
            parse_expression(text)
    assert not os.path.exists(marker)


def test_length_bound():
    with pytest.raises(ParseError, match="characters long") as info:
        parse_expression("x + " * 600 + "x")
    assert info.value.column == MAX_LENGTH + 1  # the first character too many
    assert len(str(info.value)) < 300  # a window of the text, not all of it


def test_nesting_bound():
    with pytest.raises(ParseError, match="nested"):
        parse_expression("(" * 200 + "x" + ")" * 200)


def test_depth_bound_on_unary_chains():
    with pytest.raises(ParseError, match="nested"):
        parse_expression("-" * 1500 + "x")


@pytest.mark.parametrize(
    "text",
    [
        "2^2^2^2^2",
        "x^65",
        "x^{1/100}",
        "((10^30)^64)^64",
        "(x^64)^64",
        "x^64 x^64",
        "9" * 31,
        "1/(1 - 1)",
        "log(0)",
    ],
)
def test_blow_up_is_refused(text):
    with pytest.raises(ParseError):
        parse_expression(text)


def test_large_but_allowed_numbers_are_exact():
    assert parse_expression("(10^30)^2") == sympy.Integer(10) ** 60
    assert parse_expression("2^64") == sympy.Integer(2) ** 64


def test_empty_input():
    with pytest.raises(ParseError, match="empty"):
        parse_expression("   ")


def test_non_text_input_is_a_parse_error():
    with pytest.raises(ParseError):
        parse_expression(42)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------
# Fuzz: any text is an expression or a ParseError, nothing else


_ALPHABET = string.ascii_letters[:8] + "xyzew0123456789 +-*/^_(){}[].,='!\\" + "σŷ∂·×−²"
_TOKENS = ["x", "y", "z", "e", "w", "1", "2", "0.5", "64", "+", "-", "*", "/", "^", "**", "_", "(", ")",
           "{", "}", "[", "]", ",", "=", " ", r"\frac", r"\sigma", r"\partial", r"\hat", r"\sum", r"\cdot",
           r"\exp", r"\log", "sigma", "exp", "log", "relu", "tanh", "'", r"\left(", r"\right)", "{1,1}", "^{2}"]


def _outcome(text):
    try:
        result = parse_chain(text)
    except ParseError:
        return "error"
    assert isinstance(result, Chain)
    for side in result.sides:
        assert isinstance(side.expr, sympy.Expr)
    return "ok"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=_ALPHABET, max_size=40))
def test_fuzz_characters(text):
    _outcome(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_TOKENS), max_size=25))
def test_fuzz_tokens(tokens):
    _outcome(" ".join(tokens) if len(tokens) % 2 else "".join(tokens))


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60))
def test_fuzz_any_unicode(text):
    _outcome(text)
