"""The registries of pieces: activations and losses, each one entry, and their SymPy functions.

Takes nothing from the other stages; gives :data:`~symbackprop.ops.activations.ACTIVATIONS` and
:data:`~symbackprop.ops.losses.LOSSES`, whose entries carry the SymPy function, its derivative written as the
lectures write it (σ′ = a(1 − a)), the LaTeX name, the rule's words and the NumPy form.
"""
