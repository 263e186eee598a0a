r"""Other courses' notation, rewritten into the lectures' before the grammar reads an answer.

Every rewrite keeps the text's length where it can (so an error's column still points at what
the student wrote) and is recorded, so the verdict can say which convention it read:

- **parenthesised layers** ``a^{(2)}_{1}``, ``w^{(2)}_{11}``, ``\delta^{(3)}_{1}``, ``\Theta^{(1)}``:
  layers numbered as the lectures do (input layer 1), so ``a^{(2)}_{1}`` is a^{2}_{1};
- **bracketed layers** ``a^{[1]}_{1}``, ``W^{[1]}``, ``dZ^{[2]}``, ``A^{[1]T}``: the input layer is
  layer 0 and W^{[l]}, b^{[l]} lead into layer l.  In index notation a^{[l]} is the lectures'
  a^{l+1} and W^{[l]} their w^{l}; in matrix notation (the slides' W_l, a_l, which number layers
  the same way) ``X^{[l]}`` is ``X_l``;
- ``\mathbf{a}``, ``\boldsymbol{a}``, ``\bm{a}``, ``\vec{a}`` are a; ``\mathbf{1}^T M`` is the
  column sum ``\sum M``; ``\operatorname{sum}(M)`` is ``\sum M``; ``\mathcal{L}`` is the cost
  (written ``mathcalL``);
- ``{a \over b}`` is ``\frac{a}{b}``, ``\frac12`` is ``\frac{1}{2}``;
- ``\text{(chain rule)}``, ``(\text{chain rule})``, ``\quad\text{by the chain rule}`` at the end of a line
  or before ``=``, and punctuation at the end of a line (``. , ; :``; never ``!``, which the grammar refuses
  by name) are annotations, ignored; other text (``\text{hello} z``) is left in place for the grammar, which
  refuses it by name; ``w^{2}_{1 1}`` is w^{2}_{1,1};
- ``x^{[0]}``, ``a^{[0]}``, ``A^{[0]}`` are the input x; ``g^{[1]\prime}(z)``, ``g^{[1]'}(z)`` are g'(z) (the
  layer is its argument's); ``^{[2](i)}`` is layer [2] of example i (one example's quantity, as answers are);
  Goodfellow et al.'s ``h^{(l)}`` is hidden layer l (the lectures' a^{l+1}, the slides' a_l);
- ``\nabla_{X} C`` is ``\frac{\partial C}{\partial X}``, and Nielsen's ``\nabla_a C`` is by the output
  activations (a^{L}; ŷ in matrix notation); ``\mathbf{1}[z > 0]`` stays the indicator (ReLU′);
- matrix notation: a plain layer superscript right after a layer's letter (``W^{2}``, ``a^{2}``) numbers
  layers as the lectures do, like a parenthesised one (W^{2} is W_2, a^{2} is a_1);
- matrix notation only: a MATLAB transpose ``a_1'`` is ``a_1^T`` (a prime after a function name,
  ``\sigma'(z)``, ``g'(z)``, stays a derivative);
- **Nielsen's** w^{l}_{jk} (into layer l) against the lectures' w^{l}_{j,k} (out of layer l): an answer that
  could be either has two readings, :func:`readings`, each naming its convention.

Nothing here evaluates anything: these are textual rewrites of a bounded string.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..spec.load import CONVENTIONS
from .vocabulary import MAX_LENGTH

#: \text{...} contents that mean something to the grammar (kept)
_MEANINGFUL_TEXT = re.compile(r"\s*(exp|log|ln|tanh|sech|cosh|huber|sigmoid|sigma|relu|ReLU|softplus|d|T|rows?|batch|examples|sum|step|H|"
                              r"Heaviside)\s*$")
#: texts longer than this are left as they are (the grammar reads at most MAX_LENGTH characters)
_MAX_TEXT = 4 * MAX_LENGTH
_WINDOW = 400
#: what may follow an annotation: layout and punctuation up to the end of the line or of the side
_ANNOTATION_END = re.compile(r"(\s|\\[,;:! ]|\\q?quad(?![A-Za-z])|[.,;:]|&|\$)*(\\\\|\n|$|=|\\approx(?![A-Za-z])|≈)")
_STYLE = re.compile(r"\\(mathbf|boldsymbol|bm|vec|mathit|mathrm|mathsf)\s*\{(\\?[A-Za-z0-9]+)\}")
#: what follows \mathbf{1} when it is the indicator (ReLU′): _{z>0}, [z > 0], (z > 0)
_INDICATOR_AFTER = re.compile(r"\s*(_|\[|\\\{|\((?=[^()]*[<>]))")
_CAL = re.compile(r"\\mathcal\s*\{([A-Za-z])\}")
#: a lone \mathbf{1} in a matrix answer (a vector of ones), as the name the matrix reader knows it by
ONES_NAME = "onesvec"
_ONES_T = re.compile(r"\\(mathbf|boldsymbol|bm|vec)\{1\}\s*\^\s*(\{\s*(T|\\top)\s*\}|T|\\top)")
_OPSUM = re.compile(r"\\(operatorname|mathrm|text)\{sum\}")
#: ^{(2)}, ^{[1]}, with an example index ^{[2](i)}, a transpose ^{[1]T} or a prime ^{[1]\\prime} (g^{[1]\\prime})
_LAYER = re.compile(r"\^\{\s*([(\[])\s*(\d+)\s*([)\]])\s*(\(\s*[a-z]\s*\))?\s*(T|\\top|'|′|\\prime)?\s*\}")
#: Goodfellow et al.'s hidden layer h^{(l)}: the l-th hidden layer (the lectures' a^{l+1}, the slides' a_l)
_HIDDEN = re.compile(r"(?<![\\A-Za-z])h(\s*)\^\{\s*\(\s*(\d+)\s*\)\s*\}")
#: the input as bracketed layer 0: x^{[0]}, X^{[0]}, a^{[0]}, A^{[0]} (optionally transposed)
_INPUT = re.compile(r"(?<![\\A-Za-z])([xXaA])(\s*)\^\{\s*\[\s*0\s*\]\s*(\(\s*[a-z]\s*\))?\s*(T|\\top)?\s*\}")
#: \nabla_{W^{2}} J, \nabla_W C, \nabla_a C: the gradient of a cost by one quantity
_NABLA = re.compile(r"\\nabla\s*_\s*(\{((?:[^{}]|\{[^{}]*\})*)\}|(\\?[A-Za-z]))\s*"
                    r"(C|J|L|E|mathcal[A-Z](?![A-Za-z]))")
#: matrix notation: a plain layer superscript right after a layer letter (W^{2}, b^2, a^{2}, dZ^{2}) counts
#: layers as the lectures do (input layer 1), as a parenthesised one does
_PLAIN_LAYER = re.compile(r"(?<![\\A-Za-z])(d?[WwbBaAzZ]|\\delta|\\Delta)(\s*)\^(\{\s*(\d+)\s*\}|(\d)(?!\d))")
#: Nielsen's weights and biases: w^{l}_{jk} (no comma), b^{l}_{j}, with the layer they lead into
_NIELSEN = re.compile(r"(?<![\\A-Za-z])(d?[WwbB])(\s*(?:_\s*(?:\{[^{}]*\}|[A-Za-z0-9])\s*)?)\^\s*(\{\s*(\d+)\s*\}|(\d)(?!\d))")
_COMMA_WEIGHT = re.compile(r"(?<![\\A-Za-z])[wW]\s*(\^\s*(\{[^{}]*\}|\w)\s*)?_\s*\{[^{}]*,[^{}]*\}")
#: (the lectures' reading, Nielsen's) of an answer that could be either, as the verdict's note says them
_INDEX_NOTES = ("w^{l}_{jk} as the lectures' w^{l}_{j,k} (out of layer l; in Nielsen's convention, into layer l, "
                "it would be the lectures' w^{l−1}_{j,k})",
                "w^{l}_{jk} as Nielsen's (the weight into layer l from unit k of layer l − 1: the lectures' "
                "w^{l−1}_{j,k}; b^{l}_{j} is the lectures' b^{l−1}_{j})")
_MATRIX_NOTES = ("W^{l} as the lectures' w^{l} (out of layer l: the slides' W_l; in Nielsen's convention, into "
                 "layer l, it would be W_{l−1})",
                 "W^{l} as Nielsen's (the weights into layer l: the slides' W_{l−1}, b^{l} their b_{l−1})")
_FUNC_BEFORE_PRIME = re.compile(
    r"(\\?(sigma|sigmoid|tanh|relu|ReLU|ReLu|softplus|leaky_relu|lrelu|LReLU|elu|silu|exp|log|ln)"
    r"|\\(operatorname|mathrm|text)\{[A-Za-z_]+\}|σ|\b[gf])['′]*$")
#: the layer kinds whose bracketed number counts from the input layer 0 (a^{[l]} = lecture a^{l+1})
_NODE_LETTERS = ("a", "z", "A", "Z", "delta", "Delta", "dZ", "dA", "dz", "da")


@dataclass(frozen=True)
class Normalized:
    """The rewritten text and the conventions that were read (for the feedback)."""

    text: str
    conventions: tuple = ()

    @property
    def note(self) -> str | None:
        if not self.conventions:
            return None
        return "read " + "; ".join(self.conventions)


def _blank(chars: list, start: int, end: int) -> None:
    for k in range(start, end):
        if chars[k] != "\n":
            chars[k] = " "


def _matching_brace(text: str, open_pos: int) -> int | None:
    depth = 0
    for j in range(open_pos, len(text)):
        if text[j] == "{" and (j == 0 or text[j - 1] != "\\"):
            depth += 1
        elif text[j] == "}" and (j == 0 or text[j - 1] != "\\"):
            depth -= 1
            if depth == 0:
                return j
    return None


def _brace_pairs(text: str) -> dict:
    """Every unescaped ``{`` position -> its matching ``}`` (one pass)."""
    pairs, stack = {}, []
    for j, ch in enumerate(text):
        if ch == "{" and (j == 0 or text[j - 1] != "\\"):
            stack.append(j)
        elif ch == "}" and (j == 0 or text[j - 1] != "\\") and stack:
            pairs[stack.pop()] = j
    return pairs


def _letter_before(text: str, pos: int) -> str:
    """The name whose superscript starts at pos (``a`` in ``a^{[1]}``, ``delta`` in ``\\delta^{(3)}``)."""
    m = re.search(r"(\\?[A-Za-z]+)\s*(_\s*(\{[^{}]*\}|[A-Za-z0-9]))?\s*$", text[:pos])  # a_{1}^{[1]} too
    return m.group(1).lstrip("\\") if m else ""


# ---- the rewrites, in order: each takes the text, whether it is matrix notation, and the list of
# conventions read so far (to which it adds the one it read), and gives the rewritten text

def _over(text, matrix, conventions):
    r"""``{a \over b}`` -> ``{\frac{a}{b}}`` (lengthens the text; only when \over is written)."""
    for _ in range(8):
        m = re.search(r"\\over(?![A-Za-z])", text)
        if not m:
            break
        depth, start = 0, None
        for j in range(m.start() - 1, -1, -1):
            if text[j] == "}":
                depth += 1
            elif text[j] == "{":
                if depth == 0:
                    start = j
                    break
                depth -= 1
        end = _matching_brace(text, start) if start is not None else None
        if start is None or end is None:
            break
        text = (text[:start] + "{\\frac{" + text[start + 1:m.start()] + "}{" + text[m.end():end] + "}}"
                + text[end + 1:])
    return text


def _frac_shorthand(text, matrix, conventions):
    r"""``\frac12`` (TeX's shorthand) -> ``\frac{1}{2}`` (lengthens the text by 4)."""
    return re.sub(r"\\([dt]?frac)\s*(\d)\s*(\d)", r"\\\1{\2}{\3}", text)


def _annotations(text, matrix, conventions):
    r"""``\text{...}`` annotations (not \text{exp}, \text{T}, ...) at the end of a line or side, or in
    parentheses, blanked; any other text is left for the grammar, which refuses it by name (text inside a
    product is no factor)."""
    chars = list(text)
    pairs = _brace_pairs(text)
    for m in reversed(list(re.finditer(r"\\(text|textrm|textbf|textit|mbox)\s*\{", text))):
        end = pairs.get(m.end() - 1)
        if end is None:
            continue
        inner = text[m.end():end]
        if _MEANINGFUL_TEXT.match(inner):
            continue
        # a window on each side (the later annotations already blanked): linear in the text, not quadratic
        lo = max(0, m.start() - _WINDOW)
        before, after = "".join(chars[lo:m.start()]).rstrip(), "".join(chars[end + 1:end + 1 + _WINDOW])
        ending = _ANNOTATION_END.match(after)
        ending = ending is not None and (ending.group(2) != "" or end + 1 + _WINDOW >= len(chars))
        if before.endswith("(") and after.lstrip().startswith(")"):  # (\text{chain rule})
            _blank(chars, lo + len(before) - 1, m.start())
            close = end + 1 + (len(after) - len(after.lstrip()))
            _blank(chars, end + 1, close + 1)
        elif not (re.fullmatch(r"\s*\(.*\)\s*", inner, re.S) or ending):
            continue
        _blank(chars, m.start(), end + 1)
    return "".join(chars)


def _faces(text, matrix, conventions):
    r"""``\mathbf{1}^T M`` and ``\operatorname{sum}(M)`` -> ``\sum M`` (the column sum over the batch);
    ``\mathcal{L}`` -> ``mathcalL`` (a name: the cost); ``\mathbf{a}`` -> a.  ``\mathbf{1}`` before
    ``_{z>0}``, ``[z > 0]`` or ``(z > 0)`` stays the indicator; in a matrix answer a lone ``\mathbf{1}`` is
    a vector of ones (the reader gives it the shape its neighbour needs: (Σ_rows dz_2) \mathbf{1} sums
    the columns)."""
    text = _ONES_T.sub(lambda m: "\\sum" + " " * (len(m.group(0)) - 4), text)
    text = _OPSUM.sub(lambda m: "\\sum" + " " * (len(m.group(0)) - 4), text)
    text = _CAL.sub(lambda m: ("mathcal" + m.group(1)).ljust(len(m.group(0))), text)
    return _STYLE.sub(lambda m: m.group(0) if m.group(2) == "1" and _INDICATOR_AFTER.match(text, m.end())
                      else (ONES_NAME if matrix and m.group(2) == "1" else m.group(2)).ljust(len(m.group(0))), text)


def _nabla(text, matrix, conventions):
    r"""``\nabla_{X} C`` -> ``\frac{\partial C}{\partial X}`` (lengthens the text); Nielsen's ``\nabla_a C``
    is by the output activations a^{L} (ŷ in matrix notation)."""
    def gradient(m):
        by = m.group(2) if m.group(2) is not None else m.group(3)
        if by.strip() == "a":
            by = "\\hat{y}" if matrix else "a^{L}"
        return f"\\frac{{\\partial {m.group(4)}}}{{\\partial {by}}}"

    return _NABLA.sub(gradient, text)


def _hidden(text, matrix, conventions):
    """Goodfellow et al.'s ``h^{(l)}``: hidden layer l, the lectures' a^{l+1} (the slides' a_l)."""
    if _HIDDEN.search(text) is None:
        return text
    _note(conventions, "h^{(l)} as hidden layer l (h^{(1)} is the lectures' a^{2}" + (", the slides' a_1)" if matrix else ")"))
    return _HIDDEN.sub(lambda m: ((f"a_{{{m.group(2)}}}" if matrix else f"a^{{{int(m.group(2)) + 1}}}")
                                  .ljust(len(m.group(0)))), text)


def _input(text, matrix, conventions):
    """``x^{[0]}``, ``A^{[0]}``: the input, layer 0 of the bracketed convention (x; ``a^{[0]}`` in index
    notation becomes a^{1} with the other bracketed layers, the lectures' name of x)."""
    inputs = list(_INPUT.finditer(text))
    if not inputs:
        return text
    _note(conventions, _BRACKET_NOTE[matrix])
    if any(m.group(3) for m in inputs):
        _note(conventions, _EXAMPLE_NOTE)

    def the_input(m):
        if not matrix and m.group(1) in "aA":
            return m.group(0)
        return ("x" + ("^T" if m.group(4) else "")).ljust(len(m.group(0)))

    return _INPUT.sub(the_input, text)


def _layers(text, matrix, conventions):
    """Parenthesised and bracketed layer superscripts (the module docstring), with an example index,
    a transpose or a prime: ``g^{[1]\\prime}`` is g' (the layer is its argument's)."""
    def layer(m):
        opening, number, closing, example, tail = m.group(1), int(m.group(2)), m.group(3), m.group(4), m.group(5)
        if (opening, closing) not in (("(", ")"), ("[", "]")):
            return m.group(0)
        letter = _letter_before(text, m.start())
        _note(conventions, _PAREN_NOTE[matrix] if opening == "(" else _BRACKET_NOTE[matrix])
        if example is not None:
            _note(conventions, _EXAMPLE_NOTE)
        prime = tail in ("'", "′", "\\prime")
        after = "'" if prime else ("^T" if tail else "")
        if prime and letter in ("g", "f", "sigma", "σ"):
            out = after
        elif opening == "(":
            shift = -1 if matrix and letter in _NODE_LETTERS else 0
            out = ("_{" if matrix else "^{") + str(number + shift) + "}" + after
        else:
            shift = 1 if not matrix and letter in _NODE_LETTERS else 0
            out = ("_{" if matrix else "^{") + str(number + shift) + "}" + after
        return out.ljust(len(m.group(0)))

    return _LAYER.sub(layer, text)


def _plain_layers(text, matrix, conventions):
    """Matrix notation: ``W^{2}``, ``a^{2}`` (a plain superscript right after a layer's letter) number
    layers as the lectures do: W^{2} is W_2, a^{2} is a_1."""
    if not matrix or _PLAIN_LAYER.search(text) is None:
        return text
    _note(conventions, "superscript layer numbers as the lectures' (input layer 1: W^{2} is the slides' W_2, "
                       "a^{2} their a_1)")

    def plain_layer(m):
        letter, number = m.group(1).lstrip("\\"), int(m.group(4) or m.group(5))
        shift = -1 if letter in _NODE_LETTERS else 0
        return (m.group(1) + f"_{{{number + shift}}}").ljust(len(m.group(0)))

    return _PLAIN_LAYER.sub(plain_layer, text)


def _spaced_indices(text, matrix, conventions):
    """``w^{2}_{1 1}`` -> ``w^{2}_{1,1}``."""
    return re.sub(r"_\{(\d+)( +)(\d+)\}", lambda m: "_{" + m.group(1) + "," + " " * (len(m.group(2)) - 1)
                  + m.group(3) + "}", text)


def _punctuation(text, matrix, conventions):
    """``. , ; :`` that end a line or the answer, blanked ("= 0." is still the number 0); never ``!``: a
    factorial or a stray ``!`` is refused by the grammar, naming it."""
    chars = list(text)
    for m in re.finditer(r"(?<!\\)[.,;:]+(?=(\s|\\[,;:! ]|\\q?quad(?![A-Za-z])|\\end\{[a-z]+\*?\}|\$)*(\\\\|\n|$))",
                         text):
        _blank(chars, m.start(), m.end())
    return "".join(chars)


def _matlab_transpose(text, matrix, conventions):
    """Matrix notation: a MATLAB transpose ``a_1'`` -> ``a_1ᵀ`` (a prime after a function name stays a derivative)."""
    if not matrix or ("'" not in text and "′" not in text):
        return text
    chars = list(text)
    for m in re.finditer(r"['′]", text):
        before = text[:m.start()]
        if _FUNC_BEFORE_PRIME.search(before):
            continue
        if before.rstrip()[-1:].isalnum() or before.rstrip()[-1:] in ")}":
            chars[m.start()] = "ᵀ"
    return "".join(chars)


#: the rewrites :func:`normalize` applies, in this order
REWRITES = (_over, _frac_shorthand, _annotations, _faces, _nabla, _hidden, _input, _layers, _plain_layers,
            _spaced_indices, _punctuation, _matlab_transpose)

_PAREN_NOTE = {False: "parenthesised layer numbers as the lectures' (input layer 1: a^{(2)} is a^{2})",
               True: "parenthesised layer numbers as the lectures' (input layer 1: a^{(2)} is a^{2}, the slides' a_1)"}
_BRACKET_NOTE = {False: "bracketed layer numbers from input layer 0 (a^{[1]} is the lectures' a^{2}, "
                        "W^{[1]} leads into layer [1]: w^{1})",
                 True: "bracketed layer numbers from input layer 0 (a^{[1]} is the lectures' a^{2}, "
                       "W^{[1]} leads into layer [1]: the slides' a_1, W_1)"}
_EXAMPLE_NOTE = "(i) as example i: one example's quantity, as the lectures write them"


def _note(conventions: list, note: str) -> None:
    if note not in conventions:
        conventions.append(note)


def padded_end(read: str, end: int) -> int:
    """Where a span of the normalized text ``read`` ends in the student's own text: the rewrites keep
    every token's start column and pad a shortened token with spaces (dW^{[2]} -> dW_{2}  ,
    w^{3}_{12} -> w^{2}_{12} in Nielsen's reading), so a span ends after them."""
    while end < len(read) and read[end] == " ":
        end += 1
    return end


def normalize(text: str, *, matrix: bool = False) -> Normalized:
    """The answer in the lectures' notation (see the module docstring): every rewrite of :data:`REWRITES`."""
    if not isinstance(text, str) or len(text) > _MAX_TEXT:  # the grammar refuses it by its length anyway
        return Normalized(text)
    conventions: list[str] = []
    for rewrite in REWRITES:
        text = rewrite(text, matrix, conventions)
    return Normalized(text, tuple(conventions))


def readings(text: str, *, matrix: bool = False, convention: str | None = None) -> tuple[Normalized, ...]:
    r"""Every reading of an answer, the lectures' first: one, or two where Nielsen's convention fits too.

    Nielsen writes w^{l}_{jk} for the weight *into* layer l from unit k of layer l − 1 and b^{l}_{j} for the
    bias of unit j of layer l; the lectures' w^{l}_{j,k} leads *out of* layer l.  Both number the input
    layer 1 (a^{l}, z^{l}, δ^{l} are the same), so Nielsen's w^{l}_{jk} is the lectures' w^{l−1}_{j,k}.
    An answer whose weights are written without a comma (``w^{3}_{11}``, ``w^2_{jk}``) or, in matrix
    notation, with a plain superscript (``W^{2}``) could be either: the second reading shifts every
    plain-superscript w, b (W, dW, ...) down one layer, and each reading names its convention.  A weight
    written with a comma (``w^{2}_{1,1}``, the lectures' own mark) or a layer in brackets or parentheses
    has one reading.  The checker accepts an answer when some reading is right and says which.  A spec
    that declares its course's ``convention`` ("lectures" or "nielsen") keeps that reading alone.

    >>> [r.text for r in readings("w^{3}_{11} a^{2}_{1}")]
    ['w^{3}_{11} a^{2}_{1}', 'w^{2}_{11} a^{2}_{1}']
    >>> len(readings("w^{2}_{1,1} a^{2}_{1}"))
    1
    """
    lecture = normalize(text, matrix=matrix)
    if not isinstance(text, str) or len(text) > _MAX_TEXT or _COMMA_WEIGHT.search(text):
        return (lecture,)
    found = [m for m in _NIELSEN.finditer(text) if matrix or m.group(1) in "wb"]
    if not found or not any(int(m.group(4) or m.group(5)) >= 2 for m in found):
        return (lecture,)

    def shift(m):
        if not matrix and m.group(1) not in "wb":
            return m.group(0)
        number = int(m.group(4) or m.group(5))
        return (m.group(1) + m.group(2) + "^{" + str(number - 1) + "}").ljust(len(m.group(0)))

    nielsen = normalize(_NIELSEN.sub(shift, text), matrix=matrix)
    if nielsen.text == lecture.text:
        return (lecture,)
    notes = _MATRIX_NOTES if matrix else _INDEX_NOTES
    both = (Normalized(lecture.text, lecture.conventions + (notes[0],)),
            Normalized(nielsen.text, nielsen.conventions + (notes[1],)))
    if convention in CONVENTIONS:   # the spec says which course's convention its answers use
        chosen = both[CONVENTIONS.index(convention)]
        return (Normalized(chosen.text, chosen.conventions[:-1] + (f"{chosen.conventions[-1]} (the spec's "
                                                                     f"convention = \"{convention}\")",)),)
    return both
