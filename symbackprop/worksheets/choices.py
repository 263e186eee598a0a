r"""The instructor's choices for a worksheet: answer space, the code section, the rounding
sentence and the variant's title.

- ``space``: ``"ruled"`` (lines to write on under each exercise, the default), ``"box"`` (a
  framed box) or ``"none"``; the amount grows with what the exercise asks (one line per two
  forward values, four per chain rule asked);
- the "From math to code" section is written as mathematics: each NumPy function of the
  trainer is captioned by the formula it computes, in the sheet's own symbols (\hat{y}, J,
  \alpha), and latexify-py's rendering has its Python names replaced (``y_hat`` becomes
  \hat{y}, ``learning_rate`` \alpha);
- :func:`rounding_sentence` states the one rounding rule the key applies;
- :func:`variant_title` names a variant by its network, not by the spec's data set (a variant's
  numbers are made up).
"""
from __future__ import annotations

import re

SPACES = ("ruled", "box", "none")
LINE_SKIP = "0.85cm"       # the distance between answer lines
BOX_LINE = 0.85            # cm of box per answer line
MAX_BOX_LINES = 14         # a box never gets taller than this (it cannot break across pages)


def check_space(space: str) -> str:
    from ..errors import SpecError

    if space not in SPACES:
        raise SpecError(f"--space {space!r}: allowed {', '.join(SPACES)}")
    return space


def answer_space(space: str, lines: int) -> str:
    """LaTeX for ``lines`` lines of answer space inside an exercise item (empty for ``"none"``)."""
    if space == "none" or lines <= 0:
        return ""
    if space == "box":
        h = BOX_LINE * min(lines, MAX_BOX_LINES)
        return ("\n\n\\noindent\\fbox{\\parbox[t][" + f"{h:.2f}cm" + "][t]{\\dimexpr\\linewidth-2\\fboxsep-2\\fboxrule"
                "\\relax}{\\mbox{}}}\n")
    rule = f"\\par\\vspace{{{LINE_SKIP}}}\\noindent\\rule{{\\linewidth}}{{0.3pt}}"
    return "\n\n{\\setlength{\\parskip}{0pt}" + "\n".join(rule for _ in range(lines)) + "\\par}\n"


def rounding_sentence(decimals: int, matrix: bool = False) -> str:
    """The rounding the key applies, stated once for the whole sheet."""
    if matrix:
        return (f"Round every number to {decimals} decimal{'s' if decimals != 1 else ''}, keeping at least 2 "
                "significant digits for small ones (as the key does), but keep full precision in your calculator.")
    small = "0.0031" if decimals == 2 else "2 significant digits"
    extra = f" (e.g. ${small}$)" if decimals == 2 else ""
    return (f"Round every number to {decimals} decimal{'s' if decimals != 1 else ''}; one that would round to 0 "
            f"keeps 2 significant digits{extra}, as the key does. Keep full precision in your calculator.")


def network_name(layers, activations, loss: str) -> str:
    """'2-2-1 network (sigmoid, BCE)'."""
    from ..render.latex import tex_escape

    acts = []
    for a in activations:
        if a not in acts:
            acts.append(a)
    loss_name = {"bce": "BCE", "cross_entropy": "cross-entropy", "mse": "MSE", "half_squared_error":
                 "half squared error", "squared_error": "squared error", "huber": "Huber"}.get(loss, loss)
    return (f"{'-'.join(str(w) for w in layers)} network ({tex_escape(', '.join(acts))}, "
            f"{tex_escape(loss_name)})")


def variant_title(title: str, variant: int | None, name: str | None) -> str:
    """The heading's title: the spec's for its own numbers; for a variant (made-up numbers) the
    network's name when there is one."""
    if variant is None:
        return title
    if name:
        return f"{name}, variant {variant}"
    return f"{title}, variant {variant}"


# ---------------------------------------------------------------------------------------------
# the code section as mathematics

CAPTIONS = {
    "identity": r"the identity, $g(z) = z$",
    "sigmoid": r"$\sigma(z) = \frac{1}{1 + e^{-z}}$",
    "sigmoid_derivative": r"$\sigma'(z) = \sigma(z)\,(1 - \sigma(z))$, at the output $\hat{y}(1 - \hat{y})$",
    "tanh": r"$\tanh z$",
    "tanh_derivative": r"$\tanh'(z) = 1 - \tanh^2 z$",
    "relu": r"$\mathrm{ReLU}(z) = \max(0, z)$",
    "relu_derivative": r"$\mathrm{ReLU}'(z) = 1$ for $z > 0$, else $0$",
    "leaky_relu": r"$z$ for $z > 0$, else a small multiple of $z$",
    "leaky_relu_derivative": r"$1$ for $z > 0$, else the small slope",
    "softplus": r"$\log(1 + e^{z})$",
    "softplus_derivative": r"$\sigma(z)$",
    "elu": r"$z$ for $z > 0$, else $e^{z} - 1$",
    "elu_derivative": r"$1$ for $z > 0$, else $e^{z}$",
    "silu": r"$z\,\sigma(z)$",
    "silu_derivative": r"$\sigma(z)\,(1 + z(1 - \sigma(z)))$",
    "softmax": r"$\hat{y}_k = \frac{e^{z_k}}{\sum_j e^{z_j}}$ (computed with $z - \max_j z_j$, the same value)",
    "log_softmax": r"$\log \hat{y}_k = z_k - \log \sum_j e^{z_j}$",
    "softmax_backward": (r"$\frac{\partial L}{\partial z_j} = \hat{y}_j\Bigl(\frac{\partial L}{\partial \hat{y}_j}"
                         r" - \sum_k \frac{\partial L}{\partial \hat{y}_k}\,\hat{y}_k\Bigr)$"),
    "squared_error": r"$L = \sum_k (y_k - \hat{y}_k)^2$",
    "half_squared_error": r"$L = \frac{1}{2} \sum_k (y_k - \hat{y}_k)^2$",
    "mse": r"$L = \frac{1}{K} \sum_k (y_k - \hat{y}_k)^2$",
    "huber": r"the Huber loss of $\hat{y} - y$",
    "huber_derivative": r"its derivative",
    "bce": r"$L = -[y \log \hat{y} + (1 - y) \log(1 - \hat{y})]$",
    "bce_derivative": r"$\frac{\partial L}{\partial \hat{y}} = \frac{\hat{y} - y}{\hat{y}(1 - \hat{y})}$",
    "bce_from_logits": r"the same $L$ written with $z$ ($\hat{y} = \sigma(z)$), $L = \log(1 + e^{z}) - y z$",
    "bce_from_logits_delta": r"$\frac{\partial L}{\partial z} = \hat{y} - y$",
    "cross_entropy": r"$L = -\sum_k y_k \log \hat{y}_k$",
    "cross_entropy_from_logits": r"the same $L$ written with $z$ ($\hat{y} = \mathrm{softmax}(z)$)",
    "cross_entropy_from_logits_delta": (r"$\frac{\partial L}{\partial z_k} = \hat{y}_k \sum_j y_j - y_k$, "
                                        r"that is $\hat{y}_k - y_k$ when the targets sum to 1"),
    "reduce_mean": r"the cost $J = \frac{1}{n} \sum_{e=1}^{n} L_e$",
    "reduce_sum": r"the cost $J = \sum_{e=1}^{n} L_e$",
    "gradient_descent_update": r"$w \leftarrow w - \alpha\, \frac{\partial J}{\partial w}$",
}

# latexify-py writes Python names; the sheet's symbols instead
_NAMES = ((r"\mathrm{y\_hat}", r"\hat{y}"), (r"\mathrm{learning\_rate}", r"\alpha"),
          (r"\mathrm{grad}", r"\frac{\partial J}{\partial w}"), (r"\mathrm{losses}", "L"),
          (r"\mathrm{upstream}", r"\frac{\partial L}{\partial \hat{y}}"))


def sheet_symbols(tex: str) -> str:
    """latexify-py's rendering with the Python names replaced by the sheet's symbols; a function's
    own name becomes a plain word (``softmax\\_backward`` → ``softmax backward``)."""
    for old, new in _NAMES:
        tex = tex.replace(old, new)
    return re.sub(r"\\mathrm\{([a-z]+(?:\\_[a-z]+)+)\}", lambda m: r"\mathrm{" + m.group(1).replace(r"\_", r"\ ")
                  + "}", tex)


__all__ = ["SPACES", "answer_space", "check_space", "rounding_sentence", "variant_title", "network_name",
           "CAPTIONS", "sheet_symbols"]
