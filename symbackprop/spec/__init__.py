"""The spec: a TOML file read into a frozen, validated :class:`~symbackprop.spec.load.Spec`.

Takes a path or a dict; gives a Spec whose numbers are exact Rationals (network or graph mode), and the
canonical names of the lectures (``w^{1}_{1,1}``, ``z^{2}_{1}``, ``a^{3}_{1}``, ``x_{1}``, ``y_{1}``) in
:mod:`~symbackprop.spec.names`. Nothing later in the flow reads TOML.
"""
