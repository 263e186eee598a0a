"""symbackprop.derivation.numeric against sympy.N (the oracle): same digits, same fallbacks."""
import pytest
import sympy

from symbackprop.ops.functions import sigmoid, softplus
from symbackprop.derivation.numeric import is_finite_number, numeric

S2 = sigmoid(sympy.Integer(2))
Z3 = 1 + 2 * S2                      # the lecture's z^{3}_{1} with every weight 1 and x = (1, 0)
A3 = sigmoid(Z3)
NESTED = [
    S2, Z3, A3, A3 * (1 - A3) * (A3 - 1) * S2 * (1 - S2),
    softplus(Z3) - sympy.Rational(3, 7) * Z3, sympy.log(A3) + sympy.exp(-Z3) / 3,
    sympy.tanh(Z3) ** 2, sigmoid(-40 * Z3), (S2 - sympy.Rational(1, 3)) ** sympy.Rational(1, 2),
]


@pytest.mark.parametrize("value", NESTED)
@pytest.mark.parametrize("digits", [15, 40])
def test_numeric_gives_the_digits_of_sympy_N(value, digits):
    got, want = numeric(value, digits), sympy.N(value, digits)
    assert got.is_Float and abs(got - want) <= abs(want) * sympy.Float(10) ** (1 - digits)
    assert str(sympy.N(got, digits - 2)) == str(sympy.N(want, digits - 2))


def test_an_exact_zero_falls_back_to_sympy_N():
    zero = A3 * S2 - S2 * A3 + (S2 - sympy.exp(2) / (1 + sympy.exp(2)))
    assert numeric(zero, 20) == sympy.N(zero, 20)
    assert is_finite_number(zero)


def test_finiteness():
    assert is_finite_number(A3 * (1 - A3)) and is_finite_number(sympy.Rational(-3, 4)) and is_finite_number(2)
    assert not is_finite_number(sympy.zoo) and not is_finite_number(sympy.oo)
    assert not is_finite_number(sympy.log(S2 - 1))  # log of a negative number: not real
    with pytest.raises(TypeError):
        is_finite_number(True)
