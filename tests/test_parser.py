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

from symbackprop.spec import names
from symbackprop.errors import ParseError
from symbackprop.ops.functions import leaky_relu, relu, sigmoid, softplus
from symbackprop.grammar.parser import (
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


# ---------------------------------------------------------------------------------------
# Phase 2: the lectures' LaTeX, with names resolved against a spec's names


NET = {n: S(n) for n in [
    "x_{1}", "x_{2}", "y_{1}", "w^{1}_{1,1}", "w^{1}_{1,2}", "w^{1}_{2,1}", "w^{1}_{2,2}", "b^{1}_{1}", "b^{1}_{2}",
    "w^{2}_{1,1}", "w^{2}_{1,2}", "b^{2}_{1}", "z^{2}_{1}", "z^{2}_{2}", "a^{2}_{1}", "a^{2}_{2}", "z^{3}_{1}",
    "a^{3}_{1}", "L"]}
NET.update({"yhat": S("a^{3}_{1}"), "y": S("y_{1}"), "a^{1}_{1}": S("x_{1}"), "a^{1}_{2}": S("x_{2}")})
a21, a31, w211, w212, x1, x2 = (S(n) for n in ["a^{2}_{1}", "a^{3}_{1}", "w^{2}_{1,1}", "w^{2}_{1,2}", "x_{1}", "x_{2}"])
yhat, y1 = S("a^{3}_{1}"), S("y_{1}")


@pytest.mark.parametrize(
    "text, expected",
    [
        # node names in either index order, braced or not; w^1_{11} when unambiguous
        (r"w^{2}_{1,1}", w211),
        (r"w_{1,1}^{2}", w211),
        (r"w^2_{11}", w211),
        (r"w_{11}^2", w211),
        (r"a_1^2", a21),
        (r"a^2_1", a21),
        (r"a^{1}_{1}", x1),
        (r"x_1", x1),
        # a superscript on a node is a power only outside the name
        (r"(a^{2}_{1})^2", a21 ** 2),
        (r"{a^{2}_{1}}^{2}", a21 ** 2),
        (r"a^{2}_{1}^2", a21 ** 2),
        (r"x_1^2", x1 ** 2),
        # hats and ASCII
        (r"\hat{y}", yhat),
        (r"\hat y", yhat),
        (r"ŷ", yhat),
        (r"yhat", yhat),
        (r"y_hat", yhat),
        # the operators the lectures write
        (r"\frac{1}{2}(y - \hat{y})^2", (y1 - yhat) ** 2 / 2),
        (r"\dfrac{a^{2}_{1}}{2}", a21 / 2),
        (r"a^{2}_{1} \cdot w^{2}_{1,1}", a21 * w211),
        (r"a^{2}_{1} \times w^{2}_{1,1}", a21 * w211),
        (r"a^{2}_{1}\,w^{2}_{1,1}", a21 * w211),
        (r"a^{2}_{1} * w^{2}_{1,1}", a21 * w211),
        (r"a^{2}_{1} · w^{2}_{1,1}", a21 * w211),
        (r"\left(1 - a^{2}_{1}\right) a^{2}_{1}", (1 - a21) * a21),
        (r"\left[1 - a^{2}_{1}\right]", 1 - a21),
        (r"\sigma(z^{2}_{1})", sigmoid(S("z^{2}_{1}"))),
        (r"\sigma\left(z^{2}_{1}\right)", sigmoid(S("z^{2}_{1}"))),
        (r"sigma(z^{2}_{1})", sigmoid(S("z^{2}_{1}"))),
        (r"σ(z^{2}_{1})", sigmoid(S("z^{2}_{1}"))),
        (r"\sigma'(z^{2}_{1})", sigmoid(S("z^{2}_{1}")) * (1 - sigmoid(S("z^{2}_{1"  "}")))),
        (r"\exp(-z^{3}_{1})", exp(-S("z^{3}_{1}"))),
        (r"e^{-z^{3}_{1}}", exp(-S("z^{3}_{1}"))),
        (r"\log \hat{y}", log(yhat)),
        (r"\ln(1 - \hat{y})", log(1 - yhat)),
        (r"\tanh(z^{2}_{1})", tanh(S("z^{2}_{1}"))),
        (r"\operatorname{ReLU}(z^{2}_{1})", relu(S("z^{2}_{1}"))),
        (r"a^{2}_{1}(1-a^{2}_{1})", a21 * (1 - a21)),
        (r"2 \hat y", 2 * yhat),
        (r"x_1 x_2", x1 * x2),
        (r"-y \log(\hat y)", -y1 * log(yhat)),
        # sums with explicit and inferred bounds
        (r"\sum_{j=1}^{2} w^{2}_{1,j} a^{2}_{j}", w211 * a21 + w212 * S("a^{2}_{2}")),
        (r"\sum_j w^{2}_{1,j} a^{2}_{j} + b^{2}_{1}", w211 * a21 + w212 * S("a^{2}_{2}") + S("b^{2}_{1}")),
        (r"\sum_{k=1}^{2} k\, x_k", x1 + 2 * x2),
    ],
)
def test_latex_answers(text, expected):
    assert same(parse_expression(text, resolve=NET), expected)


def test_leibniz_fractions_become_derivative_placeholders():
    d = parse_expression(r"\frac{\partial L}{\partial w_{1,1}^1}", resolve=NET)
    assert d == sympy.Derivative(S("L"), S("w^{1}_{1,1}"), evaluate=False)
    chain = parse_chain(r"\frac{\partial L}{\partial \hat{y}} \frac{\partial \hat{y}}{\partial z^{3}_{1}}", resolve=NET)
    factors = chain.sides[0].expr.args
    assert set(factors) == {sympy.Derivative(S("L"), yhat, evaluate=False),
                            sympy.Derivative(yhat, S("z^{3}_{1}"), evaluate=False)}
    ascii_form = parse_expression("∂L/∂ŷ", resolve=NET)
    assert ascii_form == sympy.Derivative(S("L"), yhat, evaluate=False)


def test_d_notation_in_answers_only():
    names_ = {"x": x, "y": y, "u": u}
    assert parse_expression(r"\frac{dy}{dx}", resolve=names_) == sympy.Derivative(y, x, evaluate=False)
    assert parse_expression(r"\frac{d y}{d x}", resolve=names_) == sympy.Derivative(y, x, evaluate=False)
    assert parse_expression("dy/du", resolve=names_) == sympy.Derivative(y, u, evaluate=False)
    # in a spec equation 'dy' and 'dx' are just names
    assert parse_expression("dy/dx") == S("dy") / S("dx")


def test_derivative_operator_is_applied():
    expr = parse_expression(r"\frac{\partial}{\partial x}(x^2 + 2xy + y^2)", resolve={"x": x, "y": y})
    assert same(expr, 2 * x + 2 * y)


def test_multi_line_derivation_is_one_chain():
    text = "\\frac{\\partial L}{\\partial \\hat{y}} &= (y - \\hat{y}) \\cdot (-1) \\\\\n &= \\hat{y} - y"
    chain = parse_chain(text, resolve=NET)
    assert len(chain.sides) == 3
    assert same(chain.sides[1].expr, -(y1 - yhat)) and same(chain.sides[2].expr, yhat - y1)
    assert chain.sides[2].text.strip() == "\\hat{y} - y"


def test_ambiguous_superscript_is_reported_not_guessed():
    names_ = {"a_{1}": S("a_{1}"), "a^{2}_{1}": a21}
    with pytest.raises(ParseError, match="ambiguous"):
        parse_expression("a_1^2", resolve=names_)
    assert parse_expression("(a_1)^2", resolve=names_) == S("a_{1}") ** 2
    assert parse_expression("a^{2}_{1}", resolve=names_) == a21
    names_ = {"w^{1}_{1,1}": S("w^{1}_{1,1}"), "w^{1}_{11}": S("w^{1}_{11}")}
    with pytest.raises(ParseError, match="ambiguous"):
        parse_expression("w^1_{11}", resolve=names_)


def test_unknown_names_are_errors_with_suggestions():
    with pytest.raises(ParseError, match=r"unknown name 'x_\{3\}'; did you mean 'x_\{1\}'|did you mean 'x_\{2\}'") as info:
        parse_expression(r"2 x_3", resolve=NET)
    assert info.value.column == 3
    with pytest.raises(ParseError, match="unknown name"):
        parse_expression(r"\sum_j w^{9}_{1,j}", resolve=NET)


def test_letters_run_together_split_into_known_names():
    names_ = {"x": x, "y": y, "z": z, "q": q}
    assert parse_expression("2xy", resolve=names_) == 2 * x * y
    assert parse_expression("qz", resolve=names_) == q * z
    with pytest.raises(ParseError, match="unknown name 'xw'"):
        parse_expression("xw", resolve=names_)


def test_resolver_may_be_a_set_or_a_callable():
    assert parse_expression("x_1 + b^1_1", resolve={"x_{1}", "b^{1}_{1}"}) == S("x_{1}") + S("b^{1}_{1}")
    lookup = {"x_{1}": S("x_{1}")}.get
    assert parse_expression("x_1", resolve=lookup) == S("x_{1}")
    with pytest.raises(ParseError):
        parse_expression("x_2", resolve=lookup)


@pytest.mark.parametrize("text, message", [
    (r"\frac{1}{2", "end of input"),
    (r"\sigma'''' (z)", "primes"),
    (r"x'", "prime"),
    (r"\sum_{j} w_j", "bounds"),
    (r"\foo", "unknown LaTeX command"),
    ("x_1_2", "at most one subscript"),
    ("(x)_1", "subscript"),
])
def test_latex_errors(text, message):
    with pytest.raises(ParseError, match=message):
        parse_expression(text)


def test_function_powers_and_boxed_answers():
    zz = S("z^{2}_{1}")
    assert parse_expression(r"1 - \tanh^2(z^{2}_{1})", resolve=NET) == 1 - tanh(zz) ** 2
    assert parse_expression(r"\sigma^{2}(z^{2}_{1})", resolve=NET) == sigmoid(zz) ** 2
    with pytest.raises(ParseError, match="positive whole number"):
        parse_expression(r"\sigma^{-1}(z^{2}_{1})", resolve=NET)
    chain = parse_chain(r"\boxed{\frac{\partial L}{\partial z^{3}_{1}} = \hat{y} - y}", resolve=NET)
    assert [side.text for side in chain.sides] == [r"\frac{\partial L}{\partial z^{3}_{1}}", r"\hat{y} - y"]
    with pytest.raises(ParseError) as info:
        parse_expression(r"\boxed{x + } ", resolve={"x": x})
    assert info.value.column == len(r"\boxed{x + } ") + 1  # the end of the text as written
