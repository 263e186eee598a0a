"""Worksheets: exercises, keys and randomized variants, in index or matrix notation.

Takes a Derivation (and a seed); gives LaTeX documents (and PDFs through :mod:`~symbackprop.render.pdf`),
with variants confirmed by the trainer.
"""
