"""Code generation: NumPy modules from a derivation, loaded or exported.

Takes a Derivation or MatrixDerivation; gives a :class:`~symbackprop.compile.numpy_backend.CompiledGradients`
(per-scalar or matrix backend) and exportable NumPy-only source. Generated code carries no user text.
"""
