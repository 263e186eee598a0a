"""symbackprop: exact, step-by-step backpropagation mathematics, proven in numbers.

The flow is one way: spec -> graph -> derivation -> {LaTeX, NumPy, checks}.

>>> from symbackprop import load_spec, derive, compile_gradients
>>> d = derive(load_spec("derivations/lecture_2_2_1.toml"))
>>> grads = compile_gradients(d)          # grads.gradients(params, X, Y) -> {name: float}
"""
__version__ = "0.1.0"

from .activations import ACTIVATIONS, Activation
from .derivation import Derivation, LocalDerivative, NodeGradient, Path, derive
from .errors import NotSupportedError, ParseError, SpecError, SymbackpropError
from .graph import Graph, Node, build_graph
from .losses import LOSSES, Loss
from .numpy_backend import CompiledGradients, compile_gradients, export_module, spec_data, spec_parameters
from .spec import Spec, load_spec, parse_spec
from .matrix_form import MatrixDerivation, matrix_derive
from .matrix_numpy import check_matrix, compile_matrix_gradients

__all__ = [
    "ACTIVATIONS", "Activation", "CompiledGradients", "Derivation", "Graph", "LOSSES", "LocalDerivative", "Loss",
    "Node", "NodeGradient", "NotSupportedError", "ParseError", "Path", "Spec", "SpecError", "SymbackpropError",
    "build_graph", "compile_gradients", "derive", "export_module", "load_spec", "parse_spec", "spec_data",
    "spec_parameters", "MatrixDerivation", "matrix_derive", "check_matrix", "compile_matrix_gradients",
]
