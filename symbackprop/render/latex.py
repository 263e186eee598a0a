r"""Step-by-step LaTeX derivations that read like the lectures, rendered from one Derivation.

Everything here is a *view* of a :class:`~symbackprop.derivation.chain_rule.Derivation`: the
forward pass is read from the graph's node definitions, every derivative from
``d.local_derivatives`` / ``d.node_gradients`` / ``d.paths``, every number from
``d.exact_values`` and ``d.exact_node_gradients`` (exact; rounded only for display).
Nothing is differentiated again.

A document (network mode, the lecture notes' 2-2-1 example) reads

1. the network and its conventions (w^{k}_{i,j} joins node j of layer k to node i of layer k + 1);
2. the forward pass node by node, first in symbols
   (z^{2}_{1} = w^{1}_{1,1} x_1 + w^{1}_{1,2} x_2 + b^{1}_{1}, a^{2}_{1} = \sigma(z^{2}_{1}), ...),
   then with numbers (z^{2}_{1} = (1 \cdot 1) + (1 \cdot 0) + 1 = 2, a^{2}_{1} = \sigma(2) \approx 0.88, ...);
3. the loss and the reduction it is differentiated with (mean: J = \frac{1}{n} \sum_e L_e, the 1/n explicit);
4. the backward pass node by node: at each node the upstream gradient times the local gradient
   (the slides' picture), with values; where the lectures box a simplification
   (binary cross-entropy after a sigmoid: \partial L / \partial z = \hat{y} - y) it is derived in visible steps;
5. per parameter: its path(s) of influence, the chain-rule product (the notes' line for
   \partial L / \partial w^{1}_{1,1}), each local derivative on its own line with the rule it uses,
   the assembled gradient, the sum over paths where there are several, the numbers substituted,
   the reduction over the examples and one gradient-descent step w \leftarrow w - \alpha \partial J / \partial w;
6. a table of every gradient and update.

Graph mode (f = (x + y) z) shows the local gradients at each node, then the backward pass
with upstream and local gradients and values (q = 3, f = -12, \partial f/\partial x = -4, ...).

Numbers: exact values whose decimal expansion ends within ``decimals`` digits are printed
exactly with ``=``; anything else is rounded half up with ``\approx`` (a value that would round
to 0 keeps two significant digits instead). The output is pure ASCII and byte-identical for
the same derivation.

Public API: :func:`derivation_document`, :func:`derivation_math` (for notebooks, valid inside
``$$ ... $$``), :func:`format_number`, :func:`tex_escape`, :func:`regenerate`
(``python -m symbackprop.render.latex --regenerate`` rewrites ``derivations/*.tex``).
"""
from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from dataclasses import dataclass
from decimal import MAX_EMAX, MIN_EMIN, ROUND_HALF_UP, Context, Decimal

import sympy
from mpmath import libmp as mlib

from ..spec import names
from ..ops.activations import get_activation
from ..derivation.chain_rule import Derivation, upstream_symbol
from ..errors import NotSupportedError, SymbackpropError
from ..derivation.graph import ACTIVATION, INPUT, LOSS, PARAMETER, PRE_ACTIVATION, TARGET
from ..ops.losses import get_loss, reduction_factor
from ..derivation.numeric import numeric

__all__ = [
    "Numbers", "derivation_document", "derivation_body", "derivation_math", "format_number", "format_given",
    "tex_escape",
    "preamble", "regenerate", "spec_document", "uses_matrix_form", "Notation",
]

#: packages every generated document needs (all in texlive-latex-base/-recommended and lmodern)
from .latex_parts import (  # noqa: F401  (re-exported)
    Evaluation,
    FACTORS_PER_LINE,
    MAX_DECIMALS,
    MAX_EXAMPLES_SHOWN,
    MAX_PATHS_SHOWN,
    MAX_TARGETS,
    MAX_TERMS_WRITTEN,
    Notation,
    Numbers,
    PACKAGES,
    _ACCENTS,
    _DOUBLE_PAREN,
    _EXACT_INTEGERS,
    _KNOWN_FORMULAS,
    _KNOWN_RULES,
    _LARGE,
    _LEADING_NEGATIVE,
    _PRECISION,
    _SPECIAL,
    _UNICODE,
    _WIDE,
    _decimal,
    _distinguishing,
    _evaluation,
    _latin1,
    _not_real,
    _num,
    _numeric,
    _paren,
    _plain,
    _rel,
    _round,
    _scientific,
    _shown,
    _sign,
    _terminating_digits,
    _tidy,
    format_given,
    format_number,
    rule_tex,
    tex_escape,
)
from .renderer import (  # noqa: F401  (re-exported)
    Renderer,
    _align,
    _display,
)


# ---------------------------------------------------------------------------------------------
# the document


def preamble(extra: tuple = ()) -> str:
    """The preamble of every generated document (pdflatex; text extractable with pdftotext)."""
    lines = [r"\documentclass[11pt,a4paper]{article}", *PACKAGES, *extra,
             r"\ifdefined\pdfgentounicode\input{glyphtounicode}\pdfgentounicode=1\fi",
             r"\setlength{\parindent}{0pt}",
             r"\setlength{\parskip}{0.6em}",
             r"\allowdisplaybreaks",
             r"\emergencystretch=3em",
             r"\setlength{\jot}{7pt}"]
    return "\n".join(lines) + "\n"


def _header_comment(d: Derivation, what: str) -> str:
    src = os.path.basename(d.spec.source) if d.spec is not None and d.spec.source else "<spec>"
    return (f"% {what} generated by symbackprop from {tex_escape(src)}; regenerate it, do not edit it by hand.\n"
            f"% Numbers are computed exactly and rounded only for display.\n")


def _title(d: Derivation) -> str:
    spec = d.spec
    if spec is not None and spec.title:
        return tex_escape(spec.title)
    if spec is not None and spec.source:
        return tex_escape(os.path.basename(spec.source))
    return "Derivation"


def _resolve_targets(d: Derivation, wrt) -> tuple[list, str | None]:
    """The names to differentiate with respect to (canonical), and a note when shortened."""
    if wrt:
        if isinstance(wrt, str):
            wrt = [wrt]
        out = []
        for w in wrt:
            name = d.resolve(w)
            if name not in out:
                out.append(name)
        return out, None
    g = d.graph
    if d.parameters:
        params = [p for p in d.parameters if g.influences(p)]
        if len(params) <= MAX_TARGETS or g.mode != "network":
            return params, None
        picked = []
        for k in range(1, len(g.layers)):
            for name in (names.weight(k, 1, 1), names.bias(k, 1)):
                if name in g.by_name:
                    picked.append(name)
        note = (f"The network has {len(params)} parameters; shown here is one weight and one bias per layer. "
                r"The others follow the same pattern (use \texttt{--wrt NAME} for any one of them).")
        return picked, note
    return [n.name for n in g.nodes if n.kind == INPUT and g.influences(n.name)], None


def derivation_document(d: Derivation, wrt=None, decimals: int = 2, fragment: bool = False) -> str:
    """The step-by-step derivation of ``d`` as a LaTeX document (or, with ``fragment``, its body only).

    ``wrt``: a name or list of names to differentiate with respect to (default: every parameter;
    in graph mode without parameters, every input). Specs with ``notation = "matrix"`` (and
    networks too big for per-scalar steps, as the CLI decides) are rendered by
    ``symbackprop.render.matrix_latex`` when that module is present and ``wrt`` is not given;
    otherwise in index notation.
    """
    if not isinstance(decimals, int) or isinstance(decimals, bool) or not 0 <= decimals <= 12:
        raise NotSupportedError(f"--decimals {decimals!r}: allowed a whole number from 0 to 12")
    if d.spec is not None and not wrt and uses_matrix_form(d.spec):
        return _matrix_module().matrix_derivation_document(d, decimals=decimals, fragment=fragment)
    body = derivation_body(d, wrt=wrt, decimals=decimals)
    head = _header_comment(d, "Derivation")
    if fragment:
        return (head + "% Fragment: needs \\usepackage{amsmath,amssymb} and \\usepackage{booktabs}.\n\n"
                + body)
    return (head + preamble() + "\\begin{document}\n\n" + body + "\n\\end{document}\n")


def _matrix_module():
    try:
        return importlib.import_module("symbackprop.render.matrix_latex")
    except ModuleNotFoundError as exc:
        if exc.name == "symbackprop.render.matrix_latex":
            return None
        raise


def derivation_body(d: Derivation, wrt=None, decimals: int = 2, numbers: Numbers | None = None,
                    title: bool = True, heading: str = "section") -> str:
    """The document body (sections and equations) in index notation; see :func:`derivation_document`."""
    targets, note = _resolve_targets(d, wrt)
    if numbers is None:
        numbers = Numbers.from_spec(d)
    r = Renderer(d, decimals, numbers, heading=heading)
    out = []
    if title:
        out.append(f"\\{heading}*{{{_title(d)}}}\n")
    out.append(r.setup())
    out.append(r.forward())
    out.append(r.loss_and_reduction())
    out.append(r.backward())
    if note:
        out.append(note + "\n")
    for t in targets:
        out.append(r.target(t))
    out.append(r.summary(targets))
    return "\n".join(s for s in out if s)


# ---------------------------------------------------------------------------------------------
# notebooks


def derivation_math(d: Derivation, wrt=None, decimals: int = 2) -> str:
    """The derivation as one ``aligned`` block, valid inside ``$$ ... $$`` (Jupyter's MathJax).

    For each target: the path product, each local derivative, and the value at the first
    example. Use it for ``_repr_latex_``: ``"$$" + derivation_math(d) + "$$"``.
    """
    targets, _ = _resolve_targets(d, wrt)
    r = Renderer(d, decimals, Numbers.from_spec(d))
    nt = r.nt
    rows = []
    for name in targets[:MAX_TARGETS]:
        paths = d.paths(name, limit=MAX_PATHS_SHOWN + 1)
        if not paths:
            rows.append(f"{nt.grad(name)} &= 0")
            continue
        if len(paths) <= MAX_PATHS_SHOWN:
            terms = [" ".join(r.path_product_fracs(p)) for p in paths]
            rows.append(f"{nt.grad(name)} &= {' + '.join(terms)}")
            prods = [" \\cdot ".join(nt.factor(f.expression) for f in reversed(p.factors)) for p in paths]
            rows.append(f"&= {' + '.join(prods)}")
        else:
            rows.append(f"{nt.grad(name)} &= {r.chain_at_node(d.graph.node(name))}")
        if r.ev:
            v, ex = r.fmt(r.ev.gradients[0].get(name, sympy.S.Zero))
            rows.append(f"&{_rel(ex)} {v} \\quad \\text{{(example 1)}}")
    return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"


# ---------------------------------------------------------------------------------------------
# regenerating derivations/*.tex


def uses_matrix_form(spec) -> bool:
    """True when ``symbackprop derive --latex`` renders this spec in matrix form: ``notation =
    "matrix"`` or a network too big for per-scalar derivation (the CLI's rule), and the matrix
    renderer is installed."""
    if spec.network is None or _matrix_module() is None:
        return False
    from ..derivation.matrix_form import uses_matrix_form as rule

    return rule(spec)


def spec_document(spec, decimals: int = 2, fragment: bool = False) -> str:
    """The LaTeX document of a spec as ``symbackprop derive SPEC --latex`` writes it: the matrix
    form (without building the per-scalar derivation) when :func:`uses_matrix_form`, else
    :func:`derivation_document` of ``derive(spec)``."""
    if uses_matrix_form(spec):
        return _matrix_module().matrix_derivation_document(spec, decimals=decimals, fragment=fragment)
    from ..derivation.chain_rule import derive

    return derivation_document(derive(spec), decimals=decimals, fragment=fragment)


def regenerate(folder: str = "derivations", check: bool = False, decimals: int = 2) -> list:
    """Rewrite ``folder/*.tex`` from ``folder/*.toml`` (or, with ``check``, list the stale ones).

    Returns the paths written (or stale). Each file is written atomically.
    """
    from ..fileio import write_atomic
    from ..spec.load import load_spec

    changed = []
    for fname in sorted(os.listdir(folder)):
        if not fname.endswith(".toml"):
            continue
        spec_path = os.path.join(folder, fname)
        tex_path = spec_path[:-5] + ".tex"
        text = spec_document(load_spec(spec_path), decimals=decimals)
        old = None
        if os.path.exists(tex_path):
            with open(tex_path, encoding="utf-8") as fh:
                old = fh.read()
        if old != text:
            changed.append(tex_path)
            if not check:
                write_atomic(tex_path, text, force=True)
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m symbackprop.render.latex",
                                     description="regenerate derivations/*.tex from derivations/*.toml")
    parser.add_argument("--regenerate", action="store_true", help="rewrite every stale .tex")
    parser.add_argument("--check", action="store_true", help="only list stale .tex files (exit 1 if any)")
    parser.add_argument("--folder", default="derivations")
    args = parser.parse_args(argv)
    if not (args.regenerate or args.check):
        parser.print_help()
        return 2
    try:
        changed = regenerate(args.folder, check=args.check)
    except SymbackpropError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for p in changed:
        print(("stale: " if args.check else "wrote: ") + p)
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
