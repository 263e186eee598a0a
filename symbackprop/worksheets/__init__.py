"""Worksheets: exercises, keys and randomized variants, in index or matrix notation.

Takes a Derivation (and a seed); gives LaTeX documents (and PDFs through :mod:`~symbackprop.render.pdf`),
with variants confirmed by the trainer. One builder (``builder``: the sections of a sheet and its
key, value tables, the code section, the search for variants) and two views that supply the
notation's pieces: ``index`` (the lecture notes' w^{k}_{i,j}; also the entry point for both) and
``matrix`` (the slides' z_1 = x W_1 + b_1, with ``matrix_numbers`` and ``matrix_key``); ``files``
writes them, ``layout`` fits them to the page, ``choices`` holds the instructor's options.
"""
