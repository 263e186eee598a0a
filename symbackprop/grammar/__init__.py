"""The lark grammar of the lectures' LaTeX and the reader that turns text into SymPy, never evaluating it.

Takes a string (a graph-spec equation or a student's answer); gives a SymPy expression over the spec's names,
or a :class:`~symbackprop.errors.ParseError` with its column.
"""
