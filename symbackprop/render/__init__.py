"""Presentation of a derivation: LaTeX documents, Markdown, TikZ drawings and PDF compilation.

Takes a Derivation or MatrixDerivation; gives text. Rendering never derives again, never compiles or
evaluates gradients in NumPy.
"""
