"""Proof in numbers: the independent trainer, finite differences and the comparisons.

Takes a Derivation and its compiled gradients; gives a CheckReport. The trainer
(:mod:`~symbackprop.check.trainer`) is the deliberate exception to the one-registry rule: it is written by
hand in NumPy and imports nothing of the symbolic side, so that it can serve as an oracle.
"""
