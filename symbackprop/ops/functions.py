"""Activation functions as real SymPy functions.

Each class is a ``sympy.Function`` with ``at_numbers`` (its value where SymPy can decide it,
e.g. relu(3) = 3; bound to the name ``eval`` that SymPy's Function protocol calls — no text is
ever evaluated), ``fdiff`` (its derivative), ``_latex``
(how the lectures write it) and ``_numpycode`` (a numerically stable NumPy form),
so ``diff``, ``latex`` and ``lambdify`` need no special cases.

- ``sigmoid(z) = 1 / (1 + e^{-z})``,  ``sigmoid'(z) = sigmoid(z) (1 - sigmoid(z))``
- ``relu(z) = max(z, 0)``,  ``relu'(z) = step(z)`` with the convention relu'(0) = 0
- ``step(z) = 1 if z > 0 else 0`` (so step(0) = 0)
- ``leaky_relu(z) = z if z > 0 else 0.01 z``, derivative ``leaky_step(z)`` (0.01 at 0)
- ``softplus(z) = log(1 + e^z)``,  ``softplus'(z) = sigmoid(z)``
- ``softmax(z_i, z_1, ..., z_K) = e^{z_i} / sum_k e^{z_k}``: the first argument is the
  numerator's logit, the rest the denominator's, so SymPy's chain rule over
  repeated arguments gives d a_i / d z_j = a_i (delta_ij - a_j).
"""
from __future__ import annotations

import sympy
from sympy import Function, Rational, S, exp, log

LEAKY_SLOPE = Rational(1, 100)


class sigmoid(Function):
    r"""The logistic function \sigma(z) = 1 / (1 + e^{-z})."""

    @staticmethod
    def elementary(z):
        return 1 / (1 + exp(-z))

    @classmethod
    def at_numbers(cls, z):
        if z is S.Zero:
            return S.Half
        if z is S.Infinity:
            return S.One
        if z is S.NegativeInfinity:
            return S.Zero

    eval = at_numbers  # the name SymPy calls to simplify f(number); not Python's eval

    def fdiff(self, argindex=1):
        return self * (1 - self)

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return 1 / (1 + exp(-z))

    def _eval_evalf(self, prec):
        return (1 / (1 + exp(-self.args[0])))._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        if self.args[0].is_extended_real:
            return True

    def _latex(self, printer, exp=None):
        body = r"\sigma\left(%s\right)" % printer._print(self.args[0])
        return body if exp is None else r"%s^{%s}" % (body, exp)

    def _numpycode(self, printer):
        # exp(-log(1 + e^{-z})) never overflows and keeps tiny values (no 1 - 1 cancellation).
        z = printer._print(self.args[0])
        return f"numpy.exp(-numpy.logaddexp(0, -({z})))"



class step(Function):
    r"""The unit step with step(0) = 0: the derivative of ReLU (convention relu'(0) = 0)."""

    @classmethod
    def at_numbers(cls, z):
        if z.is_number and z.is_extended_real:
            return S.One if z > 0 else S.Zero
        if z.is_positive:
            return S.One
        if z.is_nonpositive:
            return S.Zero

    eval = at_numbers  # the name SymPy calls to simplify f(number); not Python's eval

    def fdiff(self, argindex=1):
        return S.Zero

    def _latex(self, printer, exp=None):
        body = r"\mathbb{1}\left[%s > 0\right]" % printer._print(self.args[0])
        return body if exp is None else r"%s^{%s}" % (body, exp)

    def _numpycode(self, printer):
        z = printer._print(self.args[0])
        return f"numpy.greater({z}, 0).astype(float)"


class relu(Function):
    r"""ReLU(z) = max(z, 0); its derivative is ``step(z)``, 0 at z = 0 by convention."""

    @classmethod
    def at_numbers(cls, z):
        if z.is_number and z.is_extended_real:
            return z if z > 0 else S.Zero
        if z.is_nonnegative:
            return z
        if z.is_nonpositive:
            return S.Zero

    eval = at_numbers  # the name SymPy calls to simplify f(number); not Python's eval

    def fdiff(self, argindex=1):
        return step(self.args[0])

    def _eval_rewrite_as_Piecewise(self, z, **kwargs):
        return sympy.Piecewise((z, z > 0), (0, True))

    def _latex(self, printer, exp=None):
        body = r"\operatorname{ReLU}\left(%s\right)" % printer._print(self.args[0])
        return body if exp is None else r"%s^{%s}" % (body, exp)

    def _numpycode(self, printer):
        z = printer._print(self.args[0])
        return f"numpy.maximum({z}, 0.0)"


class leaky_step(Function):
    r"""Derivative of leaky ReLU: 1 for z > 0, else 0.01 (so 0.01 at z = 0)."""

    @classmethod
    def at_numbers(cls, z):
        if z.is_number and z.is_extended_real:
            return S.One if z > 0 else LEAKY_SLOPE

    eval = at_numbers  # the name SymPy calls to simplify f(number); not Python's eval

    def fdiff(self, argindex=1):
        return S.Zero

    def _latex(self, printer, exp=None):
        body = r"\operatorname{LReLU}'\left(%s\right)" % printer._print(self.args[0])
        return body if exp is None else r"%s^{%s}" % (body, exp)

    def _numpycode(self, printer):
        z = printer._print(self.args[0])
        return f"numpy.where(numpy.greater({z}, 0), 1.0, 0.01)"


class leaky_relu(Function):
    r"""Leaky ReLU: z for z > 0, else 0.01 z."""

    @classmethod
    def at_numbers(cls, z):
        if z.is_number and z.is_extended_real:
            return z if z > 0 else LEAKY_SLOPE * z

    eval = at_numbers  # the name SymPy calls to simplify f(number); not Python's eval

    def fdiff(self, argindex=1):
        return leaky_step(self.args[0])

    def _latex(self, printer, exp=None):
        body = r"\operatorname{LReLU}\left(%s\right)" % printer._print(self.args[0])
        return body if exp is None else r"%s^{%s}" % (body, exp)

    def _numpycode(self, printer):
        z = printer._print(self.args[0])
        return f"numpy.where(numpy.greater({z}, 0), {z}, 0.01*({z}))"


class softplus(Function):
    r"""softplus(z) = log(1 + e^z); its derivative is sigmoid(z)."""

    @staticmethod
    def elementary(z):
        return log(1 + exp(z))

    @classmethod
    def at_numbers(cls, z):
        if z is S.Zero:
            return log(2)

    eval = at_numbers  # the name SymPy calls to simplify f(number); not Python's eval

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_log(self, z, **kwargs):
        return log(1 + exp(z))

    def _eval_evalf(self, prec):
        return log(1 + exp(self.args[0]))._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        body = r"\operatorname{softplus}\left(%s\right)" % printer._print(self.args[0])
        return body if exp is None else r"%s^{%s}" % (body, exp)

    def _numpycode(self, printer):
        z = printer._print(self.args[0])
        return f"numpy.logaddexp(0, {z})"


class softmax(Function):
    r"""softmax(z_i; z_1..z_K) = e^{z_i} / \sum_k e^{z_k} (first argument is z_i)."""

    nargs = None

    @staticmethod
    def elementary(zi, *zs):
        return exp(zi) / sympy.Add(*[exp(a) for a in zs])


    @classmethod
    def at_numbers(cls, *args):
        if len(args) < 2:
            raise TypeError("softmax needs its own logit and the layer's logits")

    eval = at_numbers  # the name SymPy calls to simplify f(number); not Python's eval

    def fdiff(self, argindex=1):
        if argindex == 1:
            return self
        return -self * softmax(self.args[argindex - 1], *self.args[1:])

    def _eval_rewrite_as_exp(self, *args, **kwargs):
        return exp(args[0]) / sympy.Add(*[exp(a) for a in args[1:]])

    def _eval_evalf(self, prec):
        return (exp(self.args[0]) / sympy.Add(*[exp(a) for a in self.args[1:]]))._eval_evalf(prec)

    def _eval_is_positive(self):
        if all(a.is_extended_real for a in self.args):
            return True

    def _latex(self, printer, exp=None):
        num = printer._print(self.args[0])
        den = " + ".join(r"e^{%s}" % printer._print(a) for a in self.args[1:])
        body = r"\frac{e^{%s}}{%s}" % (num, den)
        return body if exp is None else r"\left(%s\right)^{%s}" % (body, exp)

    def _numpycode(self, printer):
        zs = [printer._print(a) for a in self.args[1:]]
        zi = printer._print(self.args[0])
        m = zs[0]
        for z in zs[1:]:
            m = f"numpy.maximum({m}, {z})"
        den = " + ".join(f"numpy.exp({z} - _m)" for z in zs)
        # a lambda binds the running maximum once, so no exp ever overflows
        return f"(lambda _m: numpy.exp({zi} - _m)/({den}))({m})"


class elu(Function):
    r"""ELU with α = 1: z for z > 0, else e^z − 1. Its derivative 1 + a·(1 − 1[z > 0]) is 1 for
    z > 0 and e^z = a + 1 otherwise (so elu'(0) = 1: with α = 1 the two sides meet smoothly)."""

    @staticmethod
    def elementary(z):
        return sympy.Piecewise((z, z > 0), (exp(z) - 1, True))

    @classmethod
    def at_numbers(cls, z):
        if z.is_number and z.is_extended_real and z.is_comparable:
            return z if z > 0 else exp(z) - 1
        if z.is_positive:
            return z

    eval = at_numbers  # the name SymPy calls to simplify f(number); not Python's eval

    def fdiff(self, argindex=1):
        return 1 + self * (1 - step(self.args[0]))

    def _eval_rewrite_as_Piecewise(self, z, **kwargs):
        return sympy.Piecewise((z, z > 0), (exp(z) - 1, True))

    def _eval_evalf(self, prec):
        return self.elementary(self.args[0])._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _latex(self, printer, exp=None):
        body = r"\operatorname{elu}\left(%s\right)" % printer._print(self.args[0])
        return body if exp is None else r"%s^{%s}" % (body, exp)

    def _numpycode(self, printer):
        z = printer._print(self.args[0])
        return f"numpy.where(numpy.greater({z}, 0), {z}, numpy.expm1(numpy.minimum({z}, 0)))"


class silu(Function):
    r"""SiLU (swish): z σ(z). Its derivative σ(z) + z σ(z)(1 − σ(z)) = σ(z) + a(1 − σ(z))."""

    @staticmethod
    def elementary(z):
        return z / (1 + exp(-z))

    @classmethod
    def at_numbers(cls, z):
        if z is S.Zero:
            return S.Zero

    eval = at_numbers  # the name SymPy calls to simplify f(number); not Python's eval

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s + self * (1 - s)

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return z / (1 + exp(-z))

    def _eval_evalf(self, prec):
        return self.elementary(self.args[0])._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _latex(self, printer, exp=None):
        body = r"\operatorname{silu}\left(%s\right)" % printer._print(self.args[0])
        return body if exp is None else r"%s^{%s}" % (body, exp)

    def _numpycode(self, printer):
        # z σ(z) with the overflow-free σ of sigmoid._numpycode
        z = printer._print(self.args[0])
        return f"({z})*numpy.exp(-numpy.logaddexp(0, -({z})))"


class huber_slope(Function):
    r"""The Huber function's derivative (δ = 1): r clipped to [−1, 1]."""

    @staticmethod
    def elementary(r):
        return sympy.Piecewise((-1, r < -1), (r, r <= 1), (1, True))

    @classmethod
    def at_numbers(cls, r):
        if r.is_number and r.is_extended_real and r.is_comparable:
            return S.NegativeOne if r < -1 else (S.One if r > 1 else r)
        if r.could_extract_minus_sign():
            return -cls(-r)  # odd: one canonical form, so huber'(y − ŷ) = −huber'(ŷ − y) simplifies

    eval = at_numbers  # the name SymPy calls to simplify f(number); not Python's eval

    def fdiff(self, argindex=1):
        r = self.args[0]
        return sympy.Piecewise((1, abs(r) <= 1), (0, True))

    def _eval_rewrite_as_Piecewise(self, r, **kwargs):
        return self.elementary(r)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _latex(self, printer, exp=None):
        body = r"\operatorname{huber}'\left(%s\right)" % printer._print(self.args[0])
        return body if exp is None else r"\left(%s\right)^{%s}" % (body, exp)

    def _numpycode(self, printer):
        r = printer._print(self.args[0])
        return f"numpy.clip({r}, -1.0, 1.0)"


class huber(Function):
    r"""The Huber function (δ = 1): ½ r² where |r| ≤ 1, else |r| − ½; its derivative is ``huber_slope``."""

    @staticmethod
    def elementary(r):
        return sympy.Piecewise((r**2 / 2, abs(r) <= 1), (abs(r) - Rational(1, 2), True))

    @classmethod
    def at_numbers(cls, r):
        if r.is_number and r.is_extended_real and r.is_comparable:
            return r**2 / 2 if abs(r) <= 1 else abs(r) - Rational(1, 2)

    eval = at_numbers  # the name SymPy calls to simplify f(number); not Python's eval

    def fdiff(self, argindex=1):
        return huber_slope(self.args[0])

    def _eval_rewrite_as_Piecewise(self, r, **kwargs):
        return self.elementary(r)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _latex(self, printer, exp=None):
        body = r"\operatorname{huber}\left(%s\right)" % printer._print(self.args[0])
        return body if exp is None else r"\left(%s\right)^{%s}" % (body, exp)

    def _numpycode(self, printer):
        r = printer._print(self.args[0])
        return (f"numpy.where(numpy.less_equal(numpy.abs({r}), 1), 0.5*({r})*({r}), "
                f"numpy.abs({r}) - 0.5)")


def rewrite_elementary(expr):
    """Rewrite every symbackprop function that has an ``elementary`` form (sigmoid, softplus,
    softmax, logsumexp, ...) into exp, log and Piecewise (for plain-SymPy oracles)."""
    return expr.replace(
        lambda e: isinstance(e, Function) and hasattr(type(e), "elementary"),
        lambda e: type(e).elementary(*e.args),
    )


ALL_FUNCTIONS = {
    "sigmoid": sigmoid,
    "relu": relu,
    "step": step,
    "leaky_relu": leaky_relu,
    "leaky_step": leaky_step,
    "softplus": softplus,
    "softmax": softmax,
    "elu": elu,
    "silu": silu,
    "huber": huber,
    "huber_slope": huber_slope,
}


class logsumexp(Function):
    r"""log \sum_k e^{z_k}, evaluated in NumPy as m + log \sum_k e^{z_k - m} (never overflows)."""

    nargs = None

    @staticmethod
    def elementary(*zs):
        return log(sympy.Add(*[exp(a) for a in zs]))


    def fdiff(self, argindex=1):
        return softmax(self.args[argindex - 1], *self.args)

    def _eval_rewrite_as_log(self, *args, **kwargs):
        return log(sympy.Add(*[exp(a) for a in args]))

    def _eval_evalf(self, prec):
        return log(sympy.Add(*[exp(a) for a in self.args]))._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        body = r"\log\left(%s\right)" % " + ".join(r"e^{%s}" % printer._print(a) for a in self.args)
        return body if exp is None else r"%s^{%s}" % (body, exp)

    def _numpycode(self, printer):
        zs = [printer._print(a) for a in self.args]
        m = zs[0]
        for z in zs[1:]:
            m = f"numpy.maximum({m}, {z})"
        s = " + ".join(f"numpy.exp({z} - _m)" for z in zs)
        return f"(lambda _m: _m + numpy.log({s}))({m})"


ALL_FUNCTIONS["logsumexp"] = logsumexp
