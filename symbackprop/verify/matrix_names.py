r"""The matrix reader's names, scripts, derivatives and functions: ``dW_2``, ``a_1^T``,
``\frac{\partial L}{\partial W_2}``, ``\sigma'(z_1)``, ``\sum dz_2``.

A mixin of :class:`symbackprop.verify.matrix_builder._MatrixBuilder`.
"""
from __future__ import annotations

import re

import sympy
from lark import Token, Tree

from ..derivation.matrix_form import Apply, HadamardDiv, Mat, RowSum, Scalar, Transpose
from ..derivation.matrix_rules import ACTIVATION_RULES
from ..errors import did_you_mean
from ..grammar.notation import ONES_NAME
from ..grammar.parser import MAX_SCRIPTS
from ..grammar.vocabulary import ALL_FUNCTIONS as SCALAR_FUNCTIONS
from ..ops.activations import ACTIVATIONS, ELEMENTWISE, answer_spellings
from .matrix_eval import Elementwise, ELEMENTWISE_FUNCTIONS, OnesVector


#: spellings the registry does not list (the lectures' shorthands and other courses')
_ALIASES = {"sigma": "sigmoid", "σ": "sigmoid", "ReLu": "relu", "lrelu": "leaky_relu", "LReLU": "leaky_relu",
            "exp": "exp", "log": "log", "ln": "log", "sech": "sech", "cosh": "cosh"}


def _function_names() -> dict:
    """``{spelling: registry name}`` for every elementwise activation of ``ops`` (elu, silu, … as
    soon as they are registered), plus the shorthands above."""
    by_function = {act.function: name for name, act in ACTIVATIONS.items()}
    out = {spelled: by_function[f] for spelled, f in answer_spellings().items()
           if by_function.get(f) in ELEMENTWISE}
    out.update(_ALIASES)
    return out


_FUNCTION_NAMES = _function_names()


#: a network's parameters (and their gradients), which a one-layer network's answer may write without the layer
_LAYERLESS = ("W", "b", "dW", "db")

#: names of the cost J (the reduced loss) in the courses' notations: J, C, E, \mathcal{L}
COST_WORDS = ("J", "C", "E", "mathcal{L}", "mathcal{J}", "mathcal{C}")


class _MatrixNames:
    """Names, scripts, ∂ fractions, function calls and sums of a matrix answer."""

    # ---- names and scripts ------------------------------------------------------------
    def _name(self, node):
        return self.resolve(node, None, node)

    _greek = _hat = _uhat = _name

    def _word(self, nb) -> str:
        tok = next(c for c in nb.children if isinstance(c, Token) and c.type in ("NAME", "GREEK", "UHAT"))
        if nb.data == "name":
            return str(tok)
        if nb.data == "greek":
            return str(tok).lstrip("\\")
        if nb.data == "hat":
            return str(tok) + "hat"  # \hat{y}, \hat y
        return "yhat"  # ŷ

    def index(self, sarg) -> str:
        """The index of ``_``: ``2``, ``{2}``, ``{12}``, ``L``, ``{L-1}`` (L is the number of weight layers)."""
        if isinstance(sarg, Tree) and sarg.data in ("group", "paren"):
            items = [c for c in sarg.children if isinstance(c, Tree)]
            if len(items) != 1:
                raise self.fail("a matrix name has one index, as in W_2", sarg)
            return self.index(items[0])
        if isinstance(sarg, Tree) and sarg.data == "number":
            s = str(sarg.children[0])
            if not s.isdigit() or len(s) > 4:
                raise self.fail("the index of a matrix name is a layer number, as in W_2", sarg)
            return str(int(s))
        if isinstance(sarg, Tree) and sarg.data == "name":
            word = str(sarg.children[0])
            return str(self.c.md.depth) if word == "L" else word
        if isinstance(sarg, Tree) and sarg.data in ("add", "subtract"):
            left, _, right = sarg.children
            lv, rv = self.index(left), self.index(right)
            if lv.isdigit() and rv.isdigit():
                value = int(lv) + int(rv) if sarg.data == "add" else int(lv) - int(rv)
                if value >= 0:
                    return str(value)
        raise self.fail("the index of a matrix name is a layer number, as in W_2 or a_{L-1}", sarg)

    def lookup(self, word: str, index: str | None):
        """The matrix ``word_index``; a parameter written without its layer (``W``, ``b``, ``dW``, as in
        ``\\nabla_W C``) is layer 1's when the network has one weight layer (else None: it names none)."""
        value = self.c.lookup(word, index)
        if value is None and index is None and word in _LAYERLESS and self.c.md.depth == 1:
            value = self.c.lookup(word, "1")
        return value

    def _layer_hint(self, word: str, index: str | None) -> str:
        if index is not None or word not in _LAYERLESS:
            return ""
        layers = ", ".join(f"{word}_{k}" for k in range(1, self.c.md.depth + 1))
        return f": this network has {self.c.md.depth} weight layers, so give the layer ({layers})"

    def resolve(self, nb, index, node, prefix: str = ""):
        word = prefix + self._word(nb)
        if word == ONES_NAME and index is None and not prefix:
            return OnesVector()
        value = self.lookup(word, index)
        if value is None:
            shown = word if index is None else f"{word}_{index}"
            raise self.fail(f"unknown matrix {shown!r}{self._layer_hint(word, index)}"
                            f"{did_you_mean(shown, self.c.known_names)}; matrix answers use "
                            f"the slides' names: {', '.join(self.c.known_names)}", node)
        return value

    @staticmethod
    def _is_transpose(script) -> bool:
        if script.data == "tsup":
            return True
        if script.data not in ("superscript", "power"):
            return False
        arg = script.children[-1]
        if isinstance(arg, Tree) and arg.data == "group":
            inner = [c for c in arg.children if isinstance(c, Tree)]
            arg = inner[0] if len(inner) == 1 else arg
        if isinstance(arg, Tree) and arg.data == "top":
            return True
        return isinstance(arg, Tree) and arg.data == "name" and str(arg.children[0]) == "T"

    def _scripted(self, node):
        primary, *scripts = node.children
        if len(scripts) > MAX_SCRIPTS:
            raise self.fail(f"more than {MAX_SCRIPTS} '^' and '_' in a row", scripts[MAX_SCRIPTS])
        subs = [s for s in scripts if s.data == "subscript"]
        rest = [s for s in scripts if s.data != "subscript"]
        if isinstance(primary, Tree) and primary.data in ("name", "greek", "hat", "uhat"):
            if len(subs) > 1:
                raise self.fail("a matrix name has one subscript, as in W_2", subs[1])
            if subs:
                before = scripts[:scripts.index(subs[0])]
                if any(not self._is_transpose(s) for s in before):
                    raise self.fail("a superscript before the subscript is index notation (a^{2}_{1} is one node); "
                                    "in matrix notation write the layer as a subscript and a power after it, "
                                    "as in a_1 or a_1^2", node)
            index = self.index(subs[0].children[-1]) if subs else None
            word = self._word(primary)
            if word == "e" and index is None and rest and not self._is_transpose(rest[0]) \
                    and self.c.lookup("e", None) == Scalar(sympy.E):
                value = self.exp(self.build(rest[0].children[-1]), rest[0])  # e^{-z_2} = exp(-z_2)
                rest = rest[1:]
            else:
                value = self.resolve(primary, index, node)
        else:
            if subs:
                raise self.fail("a subscript '_' must follow a name, as in W_2", subs[0])
            value = self.build(primary)
        for s in rest:
            if self._is_transpose(s):
                value = value if isinstance(value, Scalar) else Transpose(value)
            elif s.data == "usup":
                digits = "".join(str("⁰¹²³⁴⁵⁶⁷⁸⁹".index(ch)) for ch in str(s.children[0]))
                value = self.power(value, Scalar(sympy.Integer(int(digits[:4]))), s)
            else:
                value = self.power(value, self.build(s.children[-1]), s)
        return value

    def _d_prefixed(self, a, b):
        """``d z_2``, ``d\\hat{y}``: 'd' written apart from the name of a gradient."""
        if not (isinstance(a, Tree) and a.data == "name" and str(a.children[0]) == "d"):
            return None
        if self.c.lookup("d", None) is not None:
            return None
        nb, subs = b, []
        if isinstance(b, Tree) and b.data == "scripted":
            nb, subs = b.children[0], list(b.children[1:])
        if not (isinstance(nb, Tree) and nb.data in ("name", "greek", "hat", "uhat")):
            return None
        if len(subs) > 1 or any(s.data != "subscript" for s in subs):
            return None
        index = self.index(subs[0].children[-1]) if subs else None
        return self.resolve(nb, index, b, prefix="d")

    # ---- derivatives --------------------------------------------------------------------
    def _dname(self, node):
        nb = node.children[0]
        children = node.children[1:]
        index = None
        for i in range(0, len(children), 2):
            tok, arg = children[i], children[i + 1]
            if tok.type != "SUB" or index is not None:
                raise self.fail("\\partial must be followed by one matrix name, as in \\partial W_2", node)
            index = self.index(arg)
        word = self._word(nb)
        if word in COST_WORDS and index is None and self.c.lookup(word, None) is None:
            self.cost = True
            return "L"
        if word == "L" and index is None:
            return "L"
        value = self.lookup(word, index)
        if not isinstance(value, Mat):
            shown = word if index is None else f"{word}_{index}"
            raise self.fail(f"unknown matrix {shown!r} after \\partial{self._layer_hint(word, index)}"
                            f"{did_you_mean(shown, self.c.known_names)}", node)
        return value

    def _leibniz(self, node):
        top, bottom = (self._dname(c) for c in node.children if isinstance(c, Tree) and c.data == "dname")
        if bottom == "L":
            raise self.fail("\\partial L can only be the numerator", node)
        if top == "L":
            return self.c.gradient_of(bottom, lambda m: self.fail(m, node))
        local = self.c.local_derivative(top, bottom)
        if local is None:
            raise self.fail(f"∂{top.text()}/∂{bottom.text()} is not a matrix of the slides' shapes; matrix answers use "
                            "∂L/∂M (the gradient dM) and the elementwise ∂a_l/∂z_l", node)
        return local

    def _d_fraction(self, num, den):
        """``\\frac{dL}{dW_2}`` = dW_2."""
        if not (isinstance(num, Tree) and num.data == "name" and str(num.children[0]) in ("dL", "dJ")):
            return None
        nb, subs = den, []
        if isinstance(den, Tree) and den.data == "scripted":
            nb, subs = den.children[0], list(den.children[1:])
        if not (isinstance(nb, Tree) and nb.data == "name" and str(nb.children[0]).startswith("d")):
            return None
        if len(subs) > 1 or any(s.data != "subscript" for s in subs):
            return None
        word = str(nb.children[0])[1:]
        index = self.index(subs[0].children[-1]) if subs else None
        value = self.lookup(word, index)
        if not isinstance(value, Mat):
            return None
        return self.c.gradient_of(value, lambda m: self.fail(m, den))

    def _dop(self, node):
        raise self.fail("the operator \\frac{\\partial}{\\partial ...}[...] is index notation; in matrix notation "
                        "write the gradient, e.g. dW_2 = a_1^T dz_2", node)

    # ---- functions ----------------------------------------------------------------------
    def exp(self, arg, node):
        if isinstance(arg, Scalar):
            return self.scalar(sympy.exp(arg.value), node)
        return Elementwise("exp", arg)

    def _call(self, node):
        func_tok = node.children[0]
        primes = sum(1 for c in node.children if isinstance(c, Token) and c.type == "PRIME")
        spelled = re.sub(r"^\\(operatorname|mathrm|text)\{(.*)\}$", r"\2", str(func_tok)).lstrip("\\")
        name = _FUNCTION_NAMES.get(spelled)
        arg = self.build(node.children[-1])
        if name is None and not isinstance(arg, Scalar):
            known = ", ".join(sorted({k for k in _FUNCTION_NAMES if k.isascii()}, key=str.lower))
            raise self.fail(f"{spelled} of a matrix is not read in matrix notation (there, entry by entry: {known})",
                            node)
        if primes and name in ("sech", "cosh") and not isinstance(arg, Scalar):
            raise self.fail(f"write the derivative of {spelled} out (tanh′ is sech² z_1 = 1 - \\tanh^2(z_1))", node)
        if primes > 1:
            raise self.fail("matrix notation takes one derivative of a function, as in \\sigma'(z_1)", node)
        if isinstance(arg, Scalar):
            f = SCALAR_FUNCTIONS[spelled]
            if primes == 0:
                return self.scalar(f(arg.value), node)
            t = sympy.Dummy("t", real=True)
            return self.scalar(sympy.diff(f(t), t).subs(t, arg.value), node)
        if primes == 0:
            return Elementwise(name, arg) if name in ELEMENTWISE_FUNCTIONS else Apply(name, arg)
        return self._derivative_of(name, arg)

    def _act_prime(self, node):
        """``g'(z_1)``: the derivative of layer 1's activation, entry by entry."""
        arg = self.build(node.children[-1])
        layer = None
        if isinstance(arg, Mat):
            m = re.fullmatch(r"z_(\d+)", arg.name)
            layer = int(m.group(1)) if m else None
        if layer is None or not 1 <= layer <= len(self.c.md.activations):
            raise self.fail("g' (or f') is the derivative of a layer's activation at its pre-activation; "
                            "write it as g'(z_1)", node)
        name = self.c.md.activations[layer - 1]
        rule = ACTIVATION_RULES.get(name)
        if rule is None or rule.derivative is None or ACTIVATIONS[name].layerwise:
            raise self.fail(f"g'(z_{layer}): layer {layer} has the activation {name}; write its derivative out", node)
        return self._derivative_of(name, arg)

    def _derivative_of(self, name, arg):
        """g'(A) entry by entry: the registry's derivative (written once in a and z, σ′ = a(1 − a))
        lifted elementwise with a = g(A) and z = A; exp′ = exp, log′ = 1/x."""
        if name == "exp":
            return Elementwise("exp", arg)
        if name == "log":
            return HadamardDiv(Scalar(sympy.S.One), arg)  # log' = 1/x
        lifted = ACTIVATION_RULES[name].derivative(arg, Apply(name, arg))
        return Scalar(sympy.S.One) if lifted is None else lifted

    def _indicator(self, node):
        r"""``\mathbb{1}[z_2 > 0]``, ``[z_2 > 0]``: ReLU′ entry by entry (the unit step of the difference)."""
        cond = next(c for c in node.children if isinstance(c, Tree) and c.data in ("greater", "less"))
        left, _, right = cond.children
        a, b = self.build(left), self.build(right)
        if cond.data == "less":
            a, b = b, a
        if isinstance(a, Scalar) and isinstance(b, Scalar):
            return self.scalar(sympy.Integer(1 if (a.value - b.value).is_positive else 0), node)
        diff = a if isinstance(b, Scalar) and b.value == 0 else self.elementwise(node, "-", a, b)
        return Apply("step", diff)

    def _step_call(self, node):
        """``step(z_2)``, ``H(z_2)`` (Heaviside): the unit step entry by entry."""
        arg = self.build(node.children[-2])
        if isinstance(arg, Scalar):
            return self.scalar(sympy.Integer(1 if arg.value.is_positive else 0), node)
        return Apply("step", arg)

    def _text(self, node):
        raise self.fail(f"{node.children[0]} inside the expression: text is read only as an annotation, at the end "
                        "of a line (as in \\quad\\text{by the chain rule}) or in parentheses (\\text{(chain rule)}); "
                        "move it there or remove it", node)

    def _call_power(self, node):
        func_tok, _, exponent, arg = node.children
        value = self._call(Tree("call", [func_tok, arg], meta=node.meta))
        return self.power(value, self.build(exponent), node)

    # ---- sums over the batch ------------------------------------------------------------
    def row_sum(self, body, node):
        value = self.build(body)
        if isinstance(value, Scalar):
            raise self.fail("\\sum sums the rows of a matrix; here it is applied to a number", node)
        return RowSum(value)

    def _sum_all(self, node):
        return self.row_sum(node.children[-1], node)

    def _sum(self, node):
        return self.row_sum(node.children[-1], node)

    def _top(self, node):
        raise self.fail("^T (a transpose) follows a matrix, as in a_1^T", node)
