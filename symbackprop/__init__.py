"""symbackprop: exact, step-by-step backpropagation mathematics, proven in numbers.

The flow is one way, one folder per stage: spec → ops → grammar → derivation → render → compile → check →
worksheets → verify (docs/architecture.md). The public names below are loaded on first use, so that
``import symbackprop`` (and ``symbackprop --help``) do not pay for SymPy and NumPy until they are needed.

>>> from symbackprop import load_spec, derive, compile_gradients
>>> d = derive(load_spec("derivations/lecture_2_2_1.toml"))
>>> grads = compile_gradients(d)          # grads.gradients(params, X, Y) -> {name: float}
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

from .errors import NotSupportedError, ParseError, SpecError, SymbackpropError  # noqa: E402  (no heavy imports)

_PUBLIC = {
    "ACTIVATIONS": ".ops.activations", "Activation": ".ops.activations",
    "LOSSES": ".ops.losses", "Loss": ".ops.losses",
    "Spec": ".spec.load", "load_spec": ".spec.load", "parse_spec": ".spec.load",
    "Graph": ".derivation.graph", "Node": ".derivation.graph", "build_graph": ".derivation.graph",
    "Derivation": ".derivation.chain_rule", "LocalDerivative": ".derivation.chain_rule",
    "NodeGradient": ".derivation.chain_rule", "Path": ".derivation.chain_rule", "derive": ".derivation.chain_rule",
    "MatrixDerivation": ".derivation.matrix_form", "matrix_derive": ".derivation.matrix_form",
    "CompiledGradients": ".compile.numpy_backend", "compile_gradients": ".compile.numpy_backend",
    "export_module": ".compile.numpy_backend", "spec_data": ".compile.numpy_backend",
    "spec_parameters": ".compile.numpy_backend",
    "check_matrix": ".check.matrix", "compile_matrix_gradients": ".compile.matrix_numpy",
    "wrt_name": ".verify.wrt",
}

__all__ = sorted([*_PUBLIC, "NotSupportedError", "ParseError", "SpecError", "SymbackpropError"])


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'symbackprop' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
