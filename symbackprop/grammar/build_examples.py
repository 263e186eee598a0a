r"""The builder's "example i": ``x_i``, ``y_i``, ``\hat{y}_i``, ``y^{(i)}``, ``x_1^{(i)}`` inside a sum over the examples.

A mixin of :class:`~symbackprop.grammar.builder._Builder`.  Inside ``\sum_{i=1}^{n}`` (or ``\sum_i``, ``\sum_e``:
an :class:`~symbackprop.grammar.vocabulary.example_sum`) the sum's index written on a name says "of example i",
so the script is dropped and the spec's own name is read: ``x_i`` is x, ``y^{(i)}`` is y, ``x_1^{(i)}`` is x_1.
A name the spec has as it is written (a one-output network's aliases ``y_{i}``, ``\hat{y}_{i}``, ``x^{j}_{i}``)
is that name.  Where the spec has indexed names of that letter (inputs x_1, x_2; outputs y_1, y_2), ``x_i`` could
number them as well as the examples: that is a ParseError that says so, never a guess.
"""
from __future__ import annotations

from lark import Tree

from ..errors import ParseError
from .resolve import _canonical, _Unknown
from .syntax import _pos


def _only_tree(node):
    """``{x}`` / ``(x)`` -> x (one expression in braces or parentheses), else None."""
    if isinstance(node, Tree) and node.data in ("group", "paren"):
        inner = [c for c in node.children if isinstance(c, Tree)]
        if len(inner) == 1:
            return inner[0]
    return None


def _tex(name: str) -> str:
    """A canonical name as the lectures write it (``yhat_{1}`` -> ``\\hat{y}_{1}``)."""
    return "\\hat{y}" + name[4:] if name.startswith("yhat") else name


class _ExampleIndex:
    """Names of example i inside a sum over the examples."""

    example_var: str | None = None

    def build_example_sum(self, var: str, body):
        """The body of a sum over the examples, with ``var`` read as the example's index."""
        outer, self.example_var = self.example_var, var
        try:
            return self.build(body)
        finally:
            self.example_var = outer

    def _example_script(self, scripts) -> int | None:
        """Where in the leading ^/_ run the example index is: ``_i`` / ``_{i}`` or ``^{(i)}`` / ``^(i)``."""
        var = self.example_var
        for k, s in enumerate(scripts[:2]):
            if s.data not in ("superscript", "subscript"):
                return None
            arg = s.children[-1]
            if s.data == "subscript":
                if isinstance(arg, Tree) and arg.data == "group":
                    arg = _only_tree(arg)
                if isinstance(arg, Tree) and arg.data == "name" and str(arg.children[0]) == var:
                    return k
                continue
            inner = _only_tree(arg) if isinstance(arg, Tree) and arg.data == "group" else arg
            if isinstance(inner, Tree) and inner.data == "paren":
                inner = _only_tree(inner)
                if isinstance(inner, Tree) and inner.data == "name" and str(inner.children[0]) == var:
                    return k
        return None

    def example_name(self, nb: Tree, scripts: list, node):
        """The name of example i (see the module docstring), or None when no script is the example index."""
        k = self._example_script(scripts)
        if k is None:
            return None
        var, self.example_var = self.example_var, None
        try:
            if scripts[k].data == "subscript":  # a name the spec has as written (y_{i}); ^{(i)} is never a power
                try:
                    return self.resolve_name(nb, scripts, node)
                except (ParseError, _Unknown):
                    pass
            rest = scripts[:k] + scripts[k + 1:]
            if scripts[k].data == "subscript":
                base = self.base_name(nb)
                sup = None
                for s in rest[:1]:
                    items = self.index_items(s.children[-1]) if s.data == "superscript" else None
                    sup = items[0] if items and len(items) == 1 else None
                prefix = _canonical(base, sup, None) + "_{"
                siblings = sorted(n for n in self.resolver._known if n.startswith(prefix))
                if siblings:
                    written = self.text[_pos(node):self._end(node)]
                    shown = ", ".join(_tex(n) for n in siblings[:3]) + (", ..." if len(siblings) > 3 else "")
                    first = _tex(siblings[0])
                    raise self.fail(f"{written!r} is ambiguous in this sum over the examples: the spec has several "
                                    f"{_tex(_canonical(base, sup, None))} ({shown}), so {var} could number them or the "
                                    f"examples; write {first}^{{({var})}} for {first} of example {var}, "
                                    f"or give the sum over them its bounds, as in \\sum_{{{var}=1}}^{{{len(siblings)}}}",
                                    node)
            return self.resolve_name(nb, rest, node)
        finally:
            self.example_var = var
