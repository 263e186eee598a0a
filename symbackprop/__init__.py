"""symbackprop: exact, step-by-step backpropagation mathematics, proven in numbers.

The flow is one way: spec -> graph -> derivation -> {LaTeX, NumPy, checks}.

>>> from symbackprop import load_spec, derive, compile_gradients
>>> d = derive(load_spec("derivations/lecture_2_2_1.toml"))
>>> grads = compile_gradients(d)          # grads.gradients(params, X, Y) -> {name: float}
"""
__version__ = "0.1.0"

from .ops.activations import ACTIVATIONS, Activation
from .derivation.chain_rule import Derivation, LocalDerivative, NodeGradient, Path, derive
from .errors import NotSupportedError, ParseError, SpecError, SymbackpropError
from .derivation.graph import Graph, Node, build_graph
from .ops.losses import LOSSES, Loss
from .compile.numpy_backend import (
    CompiledGradients,
    compile_gradients,
    export_module,
    spec_data,
    spec_parameters,
)
from .spec.load import Spec, load_spec, parse_spec
from .derivation.matrix_form import MatrixDerivation, matrix_derive
from .compile.matrix_numpy import check_matrix, compile_matrix_gradients

__all__ = [
    "ACTIVATIONS", "Activation", "CompiledGradients", "Derivation", "Graph", "LOSSES", "LocalDerivative", "Loss",
    "Node", "NodeGradient", "NotSupportedError", "ParseError", "Path", "Spec", "SpecError", "SymbackpropError",
    "build_graph", "compile_gradients", "derive", "export_module", "load_spec", "parse_spec", "spec_data",
    "spec_parameters", "MatrixDerivation", "matrix_derive", "check_matrix", "compile_matrix_gradients",
]
