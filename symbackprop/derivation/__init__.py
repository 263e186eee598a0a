"""The derivation: the graph of a spec, the chain rule over it, and the slides' matrix form.

Takes a Spec; gives a frozen :class:`~symbackprop.derivation.chain_rule.Derivation` (local derivatives on
every edge, upstream gradients at every node, paths of influence, per-parameter gradients and the reduction)
or a :class:`~symbackprop.derivation.matrix_form.MatrixDerivation`. Every later stage reads one of these.
"""
