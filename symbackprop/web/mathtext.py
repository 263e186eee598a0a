r"""The web layer's text transformations: MathLive's LaTeX into our grammar, feedback into prose and math.

``normalize_mathlive(text)`` rewrites the LaTeX a MathLive ``<math-field>`` produces into the forms
the answer grammar reads, and says what it changed (the grammar itself is the answers engineer's):

=================================  =====================  ==========================================
MathLive writes                    we pass on             why
=================================  =====================  ==========================================
``\mathrm{d}``, ``\operatorname{x}``  ``d``, ``x``        upright names are still names
``\mathit{..}``, ``\mathbf{..}``     the letters
``\placeholder{}``                   (removed)            an empty box of a template
``\mleft(`` ``\mright)``             ``\left(`` ``\right)``
``\left.`` ``\right.``               (removed)            invisible delimiters
``^{\prime}``, ``^\prime``           ``'``                 σ'(z)
``\dfrac``, ``\tfrac``               ``\frac``
``\!`` ``\:`` ``\>`` ``\ `` ``~``     a space              spacing
``\differentialD``, ``\exponentialE``  ``d``, ``e``
``\displaystyle``, ``\textstyle``   (removed)
``−``, ``·``, ``×``                  ``-``, ``\cdot``, ``\times``
``\frac12``, ``\frac{a}2``           ``\frac{1}{2}``, ``\frac{a}{2}``  MathLive's compact fractions
``\timesa_1``                        ``\times a_1``       a command glued to the next letter
=================================  =====================  ==========================================

Nothing here evaluates the text; it is only rewritten, then parsed by the library's own grammar.

``feedback_parts(text, shown)`` cuts the checker's feedback (prose with names like ``a^{3}_{1}`` and
``∂L/∂w^{2}_{1,1}`` in it) into ``{"text": ...}`` and ``{"tex": ...}`` pieces for KaTeX, in the
lectures' notation (``shown`` maps the output activation to ``\hat{y}``, the target to ``y``).
Expressions come typeset from the checker (``Verdict.math``: the LaTeX printed with the text, by
:mod:`symbackprop.render.printers`); only names, ∂A/∂B and ŷ, σ′, −, · in the prose are recognized.
"""
from __future__ import annotations

import re

MAX_GROUP = 200  # \mathrm{...} contents longer than this are left alone (the parser will say why)

_SIMPLE = [
    (r"\mleft", r"\left", r"\mleft/\mright read as \left/\right"),
    (r"\mright", r"\right", None),
    (r"\left.", "", r"invisible \left. and \right. removed"),
    (r"\right.", "", None),
    (r"^{\prime}", "'", r"^{\prime} read as a prime '"),
    (r"^\prime", "'", None),
    (r"\prime", "'", None),
    (r"\dfrac", r"\frac", r"\dfrac/\tfrac read as \frac"),
    (r"\tfrac", r"\frac", None),
    (r"\differentialD", "d", r"\differentialD read as d"),
    (r"\exponentialE", "e", r"\exponentialE read as e"),
    (r"\displaystyle", "", r"\displaystyle removed"),
    (r"\textstyle", "", None),
    ("\u2212", "-", "− read as -"),
    ("\u00b7", r"\cdot ", "· read as \\cdot"),
    ("\u00d7", r"\times ", None),
    (r"\ast", "*", None),
]
_SPACES = re.compile(r"\\[!:>]|\\ |~|\\enspace|\\qquad|\\thinspace|\\medspace|\\thickspace")
_WRAPPERS = re.compile(r"\\(mathrm|operatorname|mathit|mathbf|boldsymbol|mathnormal|textit|textrm)\{([^{}\\]{0,%d})\}"
                       % MAX_GROUP)
# commands the grammar knows (a glued \\timesa is split after the longest of these; \\left and \\right
# are left out because MathLive always writes a delimiter after them)
KNOWN_COMMANDS = ("frac", "dfrac", "tfrac", "cdot", "times", "odot", "sigma", "sigmoid", "exp", "log", "ln", "tanh",
                  "relu", "softplus", "hat", "widehat", "sum", "partial", "quad", "left", "right",
                  "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "eta", "theta", "lambda", "mu",
                  "nu", "xi", "rho", "tau", "phi", "varphi", "chi", "psi", "omega", "Delta")
_SPLITTABLE = sorted((c for c in KNOWN_COMMANDS if c not in ("left", "right")), key=len, reverse=True)
_COMMAND = re.compile(r"\\([A-Za-z]+)")
_FRAC_COMPACT = [
    (re.compile(r"\\frac\s*([0-9A-Za-z])\s*([0-9A-Za-z])"), r"\\frac{\1}{\2}"),
    (re.compile(r"\\frac\s*([0-9A-Za-z])\s*\{"), r"\\frac{\1}{"),
    (re.compile(r"\\frac\s*(\{[^{}]{0,%d}\})\s*([0-9A-Za-z])" % MAX_GROUP), r"\\frac\1{\2}"),
]


def _split_glued(m):
    name = m.group(1)
    if name in KNOWN_COMMANDS:
        return m.group(0)
    for c in _SPLITTABLE:
        if name.startswith(c) and len(name) > len(c):
            return f"\\{c} {name[len(c):]}"
    return m.group(0)


_PLACEHOLDER = re.compile(r"\\placeholder(\[[^\]]{0,40}\])?\{([^{}]{0,%d})\}" % MAX_GROUP)


def normalize_mathlive(text: str) -> tuple[str, list]:
    """``(text for the grammar, [what was changed])``; ``text`` unchanged when nothing applies."""
    changes: list = []
    out = text
    for old, new, note in _SIMPLE:
        if old in out:
            if old == r"\prime" and r"\prime" not in out:
                continue
            out = out.replace(old, new)
            if note and note not in changes:
                changes.append(note)
    if _SPACES.search(out):
        out = _SPACES.sub(" ", out)
        changes.append(r"spacing commands (\!, \:, \ , ~) read as spaces")

    def unwrap(m):  # \cdot\mathrm{yhat} -> \cdot yhat, never \cdotyhat
        before = m.string[m.start() - 1] if m.start() else ""
        return (" " if before.isalpha() else "") + m.group(2)

    new = _WRAPPERS.sub(unwrap, out)
    if new != out:
        kinds = sorted(set(m.group(1) for m in _WRAPPERS.finditer(out)))
        changes.append(", ".join(f"\\{k}{{…}}" for k in kinds) + " read as the letters inside")
        out = new
    new = _PLACEHOLDER.sub(lambda m: (" " if m.start() and out[m.start() - 1].isalpha() else "") + m.group(2), out)
    if new != out:
        changes.append(r"empty boxes (\placeholder{}) left out")
        out = new
    new = out
    for pat, rep in _FRAC_COMPACT:
        new = pat.sub(rep, new)
    if new != out:
        changes.append(r"compact fractions such as \frac12 read as \frac{1}{2}")
        out = new
    new = _COMMAND.sub(_split_glued, out)
    if new != out:
        changes.append(r"a command glued to the next letter (\timesa) read apart (\times a)")
        out = new
    return out, changes


# ---------------------------------------------------------------------------------------------
# feedback


_SCRIPT = r"(?:[\^_](?:\{[^{}\s]{1,40}\}|[A-Za-z0-9]))"
_NAME = (r"(?:∂[A-Za-zŷ]+" + _SCRIPT + r"*/∂[A-Za-zŷ]+" + _SCRIPT + r"*"   # ∂L/∂w^{2}_{1,1}
         r"|σ['′]|σ|ŷ(?:" + _SCRIPT + r")*"
         r"|[A-Za-z]{1,6}" + _SCRIPT + r"+ᵀ?)")                              # a^{3}_{1}, dz_2, a_1ᵀ
_ATOM = r"(?:" + _NAME + r"|\d+(?:\.\d+)?(?:e-?\d+)?|\((?:[^()]{0,80})\))"
_OP = r"(?:\s*(?:[*+/=·]|−|-|⊙)\s*)"
_SPAN = re.compile(r"(?<![A-Za-z\\{])(?:" + _NAME + r"(?:\((?:[^()]{0,80})\))?)(?:" + _OP + _ATOM + r"|\((?:[^()]{0,80})\))*")


def lecture_tex(tex: str, shown: dict) -> str:
    """Canonical names in LaTeX replaced by the lectures' (``a^{3}_{1}`` -> ``\\hat{y}``, ``y_{1}`` -> ``y``)."""
    if not tex:
        return tex
    for canonical in sorted(shown, key=len, reverse=True):
        tex = re.sub(re.escape(canonical) + r"(?![_^0-9])", lambda m: shown[canonical], tex)
    return tex


def _span_tex(span: str, shown: dict) -> str:
    t = span
    t = re.sub(r"∂([A-Za-zŷ]+" + _SCRIPT + r"*)/∂([A-Za-zŷ]+" + _SCRIPT + r"*)",
               lambda m: rf"\frac{{\partial {m.group(1)}}}{{\partial {m.group(2)}}}", t)
    t = (t.replace("ŷ", r"\hat{y}").replace("σ", r"\sigma ").replace("ᵀ", "^{T}").replace("−", "-")
         .replace("⊙", r"\odot ").replace("′", "'").replace("*", r"\,"))
    t = re.sub(r"\s*·\s*", r" \\cdot ", t)
    t = re.sub(r"_(\d{2,})", r"_{\1}", t)
    return lecture_tex(t, shown)


def feedback_parts(text: str, shown: dict | None = None, math=()) -> list:
    """The feedback as [{"text": prose} | {"tex": math}] (math in the lectures' notation).

    ``math`` is the verdict's (text, LaTeX) pairs (``Verdict.math``): each expression the checker
    printed is typeset from the LaTeX it printed alongside, never read back from the text; names
    and ∂A/∂B between them are recognized in the prose."""
    shown = shown or {}
    if not text:
        return []
    pairs = sorted(((t, x) for t, x in (math or ()) if t), key=lambda p: len(p[0]), reverse=True)
    for t, x in pairs:
        k = text.find(t)
        if k >= 0:
            return (feedback_parts(text[:k], shown, pairs) + [{"tex": x}]
                    + feedback_parts(text[k + len(t):], shown, pairs))
    parts = []
    pos = 0
    first_line = text  # the pointer drawing of a parse error is for terminals; keep it as text
    for m in _SPAN.finditer(first_line):
        span = m.group(0).rstrip()
        if not span or ("\\" in span):
            continue
        if m.start() > pos:
            parts.append({"text": first_line[pos:m.start()]})
        parts.append({"tex": _span_tex(span, shown)})
        pos = m.start() + len(span)
    if pos < len(first_line):
        parts.append({"text": first_line[pos:]})
    return parts
