r"""The activation registry: one entry per activation g, a = g(z).

Each entry holds the SymPy function, the derivative written in terms of the
output as the lectures write it (σ′ = a(1 − a), tanh′ = 1 − a²), the LaTeX
name, and the rule's name for step-by-step text, in the lectures' notation (σ′, −, ², never
``sigma'`` or ``**``: every face shows it as it is). Adding an activation means
adding an entry here; ``tests/test_activations.py`` checks every entry
(derivative against ``sympy.diff``, NumPy form against finite differences, LaTeX).

ReLU's derivative at 0 is 0 everywhere in symbackprop (``step(0) = 0``), and
leaky ReLU's is 0.01 there; the trainer uses the same conventions.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sympy

from ..errors import SpecError, did_you_mean
from ..ops.functions import elu, leaky_relu, leaky_step, relu, sigmoid, silu, softmax, softplus, step


@dataclass(frozen=True)
class Activation:
    """An activation a = g(z) and its derivative.

    ``derivative(a, z)`` is g'(z) written as the lectures write it, in terms of the
    output a where that is the custom (a (1 - a) for the sigmoid) and of z otherwise.
    ``layerwise`` activations (softmax) take the whole layer: ``function`` then
    receives ``(z_i, zs)`` and the derivative is given by SymPy's chain rule.
    """

    name: str
    function: Callable
    derivative: Callable | None
    latex_name: str
    rule: str
    rule_latex: str
    layerwise: bool = False
    output_only: bool = False
    text_name: str = ""
    min_width: int = 1       # the fewest nodes a layer of it may have
    min_width_reason: str = ""
    shift_invariant: bool = False  # g(z + c) = g(z) for a common c (softmax): a layer-wide bias does nothing
    named_derivative: bool = False  # the printers write the derivative by its name, g′(z) (ELU's elu′(z))

    def apply(self, z, layer_zs=None):
        return self.function(z, tuple(layer_zs)) if self.layerwise else self.function(z)

    def scalar_derivative(self):
        """g'(z) as a SymPy expression in the symbols ``a`` and ``z`` (None for layerwise ones)."""
        if self.derivative is None:
            return None
        return self.derivative(A, Z)


#: The symbols the derivatives are written in: a = g(z) and z.
A, Z = sympy.Symbol("a"), sympy.Symbol("z")


@dataclass(frozen=True)
class Elementwise:
    """An elementwise function as the matrix form, its LaTeX and the NumPy backends see it.

    ``latex`` is a template with ``{}`` for the argument, ``text`` likewise; the NumPy form
    is the SymPy function's own ``_numpycode`` (see :func:`numpy_code`).
    """

    name: str
    function: Callable
    latex: str
    text: str


ACTIVATIONS: dict[str, Activation] = {}
ELEMENTWISE: dict[str, Elementwise] = {}


def register_elementwise(name: str, function, latex: str, text: str) -> Elementwise:
    entry = Elementwise(name, function, latex, text)
    ELEMENTWISE[name] = entry
    return entry


def register(activation: Activation) -> Activation:
    ACTIVATIONS[activation.name] = activation
    if activation.name != "identity":
        text = activation.text_name or activation.name
        register_elementwise(activation.name, activation.function if not activation.layerwise else softmax,
                             activation.latex_name + r"\left({}\right)", text + "({})")
    return activation


def numpy_code(name: str, arg_code: str) -> str:
    """The NumPy source of ``name`` applied elementwise to the array expression ``arg_code``
    (``numpy.`` prefix), from the SymPy function's ``_numpycode``: one NumPy form per entry."""
    from sympy.printing.numpy import NumPyPrinter

    if name == "softmax":
        raise SpecError("softmax acts on whole rows; it has no elementwise NumPy form")
    printer = NumPyPrinter({"fully_qualified_modules": True, "inline": True, "allow_unknown_functions": False})
    code = printer.doprint(ELEMENTWISE[name].function(sympy.Symbol("_ARG_")))
    return code.replace("_ARG_", f"({arg_code})" if not arg_code.isidentifier() else arg_code)


def float_function(name: str):
    """The float NumPy callable of ``name`` (elementwise), from the same ``_numpycode``."""
    return _float_function(name)


def _float_function(name, _cache={}):
    if name not in _cache:
        t = sympy.Symbol("t")
        _cache[name] = sympy.lambdify(t, ELEMENTWISE[name].function(t), "numpy")
    return _cache[name]


def derivative_names() -> dict:
    """How a person may name g' for each activation: ``{"sigmoid": ("\\sigma'", "σ′"), ...}``,
    for the answer checker (LaTeX name with a prime, text name with a prime)."""
    return {name: (act.latex_name + "'", (act.text_name or name) + "′")
            for name, act in ACTIVATIONS.items() if act.derivative is not None and name != "identity"}


register(Activation(
    "identity", lambda z: z, lambda a, z: sympy.S.One, r"\operatorname{id}",
    "the identity's derivative is 1",
    r"g(z) = z \Rightarrow g'(z) = 1"))
register(Activation(
    "sigmoid", sigmoid, lambda a, z: a * (1 - a), r"\sigma",
    "derivative of the sigmoid: σ′(z) = σ(z)(1 − σ(z)) = a(1 − a)",
    r"\sigma'(z) = \sigma(z)\left(1 - \sigma(z)\right) = a\left(1 - a\right)", text_name="σ"))
register(Activation(
    "tanh", sympy.tanh, lambda a, z: 1 - a**2, r"\tanh",
    "derivative of tanh: tanh′(z) = 1 − tanh²(z) = 1 − a²",
    r"\tanh'(z) = 1 - \tanh^2(z) = 1 - a^2"))
register(Activation(
    "relu", relu, lambda a, z: step(z), r"\operatorname{ReLU}",
    "derivative of ReLU: 1 if z > 0, else 0 (0 at z = 0 by convention)",
    r"\operatorname{ReLU}'(z) = \mathbb{1}\left[z > 0\right] \text{ (0 at } z = 0\text{)}", text_name="ReLU"))
register(Activation(
    "leaky_relu", leaky_relu, lambda a, z: leaky_step(z), r"\operatorname{LReLU}",
    "derivative of leaky ReLU: 1 if z > 0, else 0.01",
    r"\operatorname{LReLU}'(z) = 1 \text{ if } z > 0 \text{, else } 0.01", text_name="LReLU"))
register(Activation(
    "softplus", softplus, lambda a, z: sigmoid(z), r"\operatorname{softplus}",
    "derivative of softplus: softplus′(z) = σ(z)",
    r"\operatorname{softplus}'(z) = \sigma(z)"))
register(Activation(
    "softmax", lambda z, zs: softmax(z, *zs), None, r"\operatorname{softmax}",
    "derivative of softmax: ∂a_i/∂z_j = a_i(δ_ij − a_j)",
    r"\frac{\partial a_i}{\partial z_j} = a_i\left(\delta_{ij} - a_j\right)",
    layerwise=True, output_only=True, min_width=2, shift_invariant=True,
    min_width_reason="a softmax over one node is always 1, so every gradient would be 0: "
                     "use 'sigmoid' (with loss 'bce') for one output"))

register(Activation(
    "elu", elu, lambda a, z: 1 + a * (1 - step(z)), r"\operatorname{elu}",
    "derivative of ELU (α = 1): elu′(z) = 1 if z > 0, else eᶻ = a + 1",
    r"\operatorname{elu}'(z) = \begin{cases} 1 & z > 0 \\ e^{z} = a + 1 & \text{otherwise} \end{cases}",
    text_name="elu", named_derivative=True))

register(Activation(
    "silu", silu, lambda a, z: sigmoid(z) + a * (1 - sigmoid(z)), r"\operatorname{silu}",
    "derivative of SiLU (swish), a = z σ(z): σ(z) + z σ(z)(1 − σ(z)) = σ(z) + a(1 − σ(z))",
    r"\operatorname{silu}'(z) = \sigma(z) + z\,\sigma(z)\left(1 - \sigma(z)\right) = \sigma(z) + a\left(1 - \sigma(z)\right)",
    text_name="silu"))

# The functions the derivatives are written with (not activations of their own).
register_elementwise("step", step, r"\mathbb{1}\left[{} > 0\right]", "1[{} > 0]")
register_elementwise("leaky_step", leaky_step, r"\operatorname{LReLU}'\left({}\right)", "LReLU′({})")


def get_activation(name: str, *, where: str = "activation") -> Activation:
    """The registry entry for ``name``, or a SpecError naming what is allowed."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        allowed = ", ".join(sorted(ACTIVATIONS))
        raise SpecError(
            f"unknown activation {name!r} in {where}{did_you_mean(name, ACTIVATIONS)} (allowed: {allowed})"
        ) from None


def answer_spellings() -> dict:
    """How a student may spell each registry activation in an answer, for the answer checker's
    grammar: ``{"elu": elu, "operatorname{elu}": elu, "σ": sigmoid, ...}`` (spelling without the
    leading backslash -> SymPy function; a prime after it means the derivative, via ``fdiff``).
    ``verify``/``grammar`` should build their FUNC token and function table from this instead of
    naming the lectures' functions one by one."""
    out = {}
    for name, act in ACTIVATIONS.items():
        if act.layerwise or name == "identity":
            continue
        f = act.function
        for spelling in {name, act.text_name or name, act.latex_name.lstrip("\\")}:
            out[spelling] = f
        inner = act.latex_name
        if inner.startswith("\\operatorname{") and inner.endswith("}"):
            out[inner[len("\\operatorname{"):-1]] = f
    return out
