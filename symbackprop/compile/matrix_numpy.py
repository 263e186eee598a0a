r"""The matrix-form derivation compiled to vectorized NumPy: one matrix product per layer.

``generate_matrix_source(md)`` prints the forward steps and the backward steps of a
``MatrixDerivation`` (the same expression trees the LaTeX shows) as straight-line NumPy,
one line per step with the step as a comment::

    dz_2 = r * (yhat - y)                       # 1. dz_2 = 1/n (ŷ − y)
    dW_2 = a_1.T @ dz_2                         # 2. dW_2 = a_1ᵀ dz_2
    db_2 = numpy.sum(dz_2, axis=0, keepdims=True)   # 3. db_2 = Σ_rows dz_2
    da_1 = dz_2 @ W_2.T                         # 4. da_1 = dz_2 W_2ᵀ
    dz_1 = da_1 * a_1 * c_1                     # 5. dz_1 = da_1 ⊙ a_1 ⊙ (1 − a_1)

Products go to BLAS, so the cost is that of hand-written backprop at any width; this is
the code to use from width 8 up, where per-scalar code (``numpy_backend``) falls behind
(see ``docs/matrix.md``).

Numerically honest: σ(z) is exp(−softplus(−z)) with softplus(−z) = logaddexp(0, −z) kept,
so 1 − σ(z) = σ(−z) = exp(−(softplus(−z) + z)) costs one exp and never cancels; softmax
subtracts the row maximum; BCE with a sigmoid output and cross-entropy with a softmax
output are evaluated from the logits z_L (softplus(z) − y z and y (logsumexp(z) − z)).

The generated module needs only NumPy and works on its own (``export_matrix_module``):
``matrix_gradients([(W_1, b_1), ...], X, Y) -> [(dW_1, db_1), ...]`` on the slides' shapes,
and ``gradients({'w^{1}_{1,1}': ..., ...}, X, Y) -> {name: float}`` with the per-scalar
module's index-notation names (W_l[j, i] = w^{l}_{i,j}).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from sympy.printing.numpy import NumPyPrinter

from ..errors import SpecError
from ..ops.activations import numpy_code
from ..ops.losses import get_loss
from ..derivation.matrix_form import (
    LOSS_RULES,
    Add,
    Apply,
    Hadamard,
    HadamardDiv,
    Mat,
    MatMul,
    MatrixDerivation,
    MatrixExpr,
    Neg,
    Ones,
    RowSum,
    Scalar,
    Scale,
    Sub,
    Transpose,
    matrix_derive,
)
from ..compile.source import _lit, _load_source, spec_title
from .matrix_buffered import _fast_gradient_lines, _fast_supported, _workspace_source
from .matrix_layout import _PARAMETER_NAMES_SOURCE, _SHARED_COMMENT, _SHARED_VECTOR, _block_size, _views
from ..fileio import write_atomic

_ATOM, _POSTFIX = 9, 8
#: Activations whose derivative prints as a fresh float array (ReLU's is a boolean mask).
_NO_ELEMENTWISE_DERIVATIVE = ("identity", "softmax")


class _NumPyPrinter:
    """Prints a matrix expression tree as NumPy. ``stable`` maps sigmoid outputs a_l to the
    name of their cached softplus(−z_l), so 1 − a_l prints as exp(−(s_l + z_l))."""

    def __init__(self, md: MatrixDerivation, sigmoid_cache: dict):
        self.md = md
        self.sigmoid_cache = sigmoid_cache  # a_l name -> (s name, a name, z name), s = e^(-z)

    def _float(self, value) -> str:
        value = sympy.Rational(value) if not isinstance(value, sympy.Basic) else value
        if value == self.md.reduction_factor and value != 1:
            return "r"
        return repr(float(value))

    def _one_minus_sigmoid(self, e):
        """The name a when ``e`` is 1 − a for a cached sigmoid output a, else None."""
        if isinstance(e, Sub) and isinstance(e.left, Scalar) and e.left.value == 1 and isinstance(e.right, Mat) \
                and e.right.name in self.sigmoid_cache:
            return e.right.name
        return None

    def p(self, e: MatrixExpr) -> tuple:
        """(code, precedence): 9 atom, 8 postfix (.T), 7 unary minus, 6 * / @, 5 + -."""
        if isinstance(e, Mat):
            return e.name, _ATOM
        if isinstance(e, Scalar):
            return self._float(e.value), _ATOM
        if isinstance(e, Ones):
            raise SpecError("an all-ones matrix is printed only as a row total")  # pragma: no cover
        if isinstance(e, Transpose):
            return f"{self.w(e.arg, _POSTFIX)}.T", _POSTFIX
        if isinstance(e, MatMul):
            if isinstance(e.right, Ones) and e.left.shape.labels == ("1", "1") and e.right.shape.rows.label == "1":
                return self.p(e.left)  # b_l 1: a (1, 1) shared bias, which NumPy broadcasts to every entry
            if isinstance(e.right, Ones) and isinstance(e.left, RowSum) and e.right.shape.cols.label == "1":
                return f"numpy.sum({self.w(e.left.arg, 0)}, keepdims=True)", _ATOM  # (Σ_rows A) 1: every entry
            if isinstance(e.right, Ones):
                return f"numpy.sum({self.w(e.left, 0)}, axis=1, keepdims=True)", _ATOM
            return f"{self.w(e.left, 6)} @ {self.w(e.right, 7)}", 6
        if isinstance(e, Hadamard):
            if isinstance(e.left, Mat) and self._one_minus_sigmoid(e.right) == e.left.name:
                s_, a_, z = self.sigmoid_cache[e.left.name]
                return f"_sigmoid_slope({s_}, {a_})", _ATOM  # a(1 - a) = e^{-z} a^2 (no cancellation)
            return f"{self.w(e.left, 6)} * {self.w(e.right, 6)}", 6
        if isinstance(e, HadamardDiv):
            return f"{self.w(e.left, 6)} / {self.w(e.right, 7)}", 6
        if isinstance(e, Add):
            return f"{self.w(e.left, 5)} + {self.w(e.right, 5)}", 5
        if isinstance(e, Sub):
            a = self._one_minus_sigmoid(e)
            if a is not None:
                s_, a_, z = self.sigmoid_cache[a]
                return f"{s_} * {a_}", 6  # 1 - σ(z) = σ(-z) = e^{-z} σ(z)
            return f"{self.w(e.left, 5)} - {self.w(e.right, 6)}", 5
        if isinstance(e, Neg):
            return f"-{self.w(e.arg, 7)}", 7
        if isinstance(e, Scale):
            return f"{self._float(e.factor)} * {self.w(e.arg, 7)}", 6
        if isinstance(e, RowSum):
            return f"numpy.sum({self.w(e.arg, 0)}, axis=0, keepdims=True)", _ATOM
        if isinstance(e, Apply):
            z = self.w(e.arg, 0)
            # sigmoid and softplus use this module's runtime (no overflow, no cancellation);
            # every other function is the registry's one NumPy form.
            code = {"sigmoid": f"_sigmoid({z})", "softplus": f"_softplus({z})"}.get(e.function)
            return (code or numpy_code(e.function, z)), _ATOM
        raise SpecError(f"no NumPy form for {type(e).__name__}")  # pragma: no cover

    def w(self, e, outer) -> str:
        code, prec = self.p(e)
        return f"({code})" if prec < outer else code

    def __call__(self, e) -> str:
        return self.p(e)[0]


def _forward_lines(md: MatrixDerivation, pr: _NumPyPrinter, cache: dict, *, need_output: bool = True) -> list:
    """Forward pass lines; fills ``cache`` (a_l -> (s_l, z_l)) for sigmoid layers."""
    out = []
    for step in md.forward:
        t = step.target.name
        comment = f"  # {t} = {step.expression.text()}"
        e = step.expression
        if isinstance(e, Apply) and e.function == "sigmoid":
            z = e.arg.name
            k = "out" if t == "yhat" else t[2:]
            out.append(f"    {t}, s_{k} = _sigmoid_and_exp({z})" + comment + ", s = e^(-z)")
            cache[t] = (f"s_{k}", t, z)
        elif isinstance(e, Apply) and e.function == "softmax":
            z = e.arg.name
            out.append(f"    e_out = numpy.exp({z} - numpy.max({z}, axis=1, keepdims=True))")
            out.append(f"    {t} = e_out / numpy.sum(e_out, axis=1, keepdims=True)" + comment)
        else:
            if isinstance(e, Add) and e.broadcasts and isinstance(e.left, MatMul) and (
                    isinstance(e.right, Mat) or _is_shared_bias(e.right)):
                # z = a W, then the bias in place: one (n, N) array instead of two (large batches)
                out.append(f"    {t} = {pr(e.left)}")
                out.append(f"    {t} += {pr(e.right)}" + comment)
            else:
                out.append(f"    {t} = {pr(e)}" + comment)
    return out


def _is_shared_bias(e) -> bool:
    """True for b_l 1 (a (1, 1) shared bias times a row of ones)."""
    return isinstance(e, MatMul) and isinstance(e.left, Mat) and isinstance(e.right, Ones) and \
        e.left.shape.labels == ("1", "1")


def _loss_lines(md: MatrixDerivation) -> list:
    """L_e per example (n,) into ``L``, from the logits for the fused pairs."""
    L = md.depth
    z = f"z_{L}"
    out_act = md.activations[-1]
    loss = md.loss
    if (loss, out_act) == ("bce", "sigmoid"):
        return [f"    L = numpy.sum(_softplus({z}) - y * {z}, axis=1)  # softplus(z) - y z"]
    if (loss, out_act) == ("cross_entropy", "softmax"):
        return [f"    m = numpy.max({z}, axis=1, keepdims=True)",
                f"    lse = m + numpy.log(numpy.sum(numpy.exp({z} - m), axis=1, keepdims=True))",
                f"    L = numpy.sum(y * (lse - {z}), axis=1)  # -sum_k y_k log softmax(z)_k"]
    if loss not in _LOSS_LINES:
        return [f"    L = {_columns_code(get_loss(loss).per_example, md.layers[-1])}"]
    return [_LOSS_LINES[loss]]


def _columns_code(build, K) -> str:
    """NumPy source of a registry expression over the K outputs, column by column (y[:, k], yhat[:, k])."""
    ys = [sympy.Symbol(f"y[:, {k}]") for k in range(K)]
    hs = [sympy.Symbol(f"yhat[:, {k}]") for k in range(K)]
    return _SCALAR_PRINTER.doprint(build(ys, hs))


def _gradient_columns_code(loss, K) -> str:
    """NumPy source of ∂L/∂y as an (n, K) array, from sympy.diff of the registry's per-example loss."""
    ys = [sympy.Symbol(f"y[:, {k}]") for k in range(K)]
    hs = [sympy.Symbol(f"yhat[:, {k}]") for k in range(K)]
    L_e = get_loss(loss).per_example(ys, hs)
    cols = ", ".join(f"numpy.broadcast_to({_SCALAR_PRINTER.doprint(sympy.diff(L_e, yk))}, y.shape[:1])"
                     for yk in ys)
    return f"numpy.stack([{cols}], axis=1)"


_SCALAR_PRINTER = NumPyPrinter({"fully_qualified_modules": True, "inline": True})


#: Hand-tuned vectorized forms of the lectures' losses (a whole-array sum instead of K columns);
#: any other registry loss is printed from its per-example SymPy expression (``_columns_code``).
_LOSS_LINES = {
    "squared_error": "    L = numpy.sum((y - yhat) ** 2, axis=1)",
    "half_squared_error": "    L = 0.5 * numpy.sum((y - yhat) ** 2, axis=1)",
    "mse": "    L = numpy.mean((y - yhat) ** 2, axis=1)",
    "bce": "    L = -numpy.sum(y * numpy.log(yhat) + (1.0 - y) * numpy.log(1.0 - yhat), axis=1)",
    "cross_entropy": "    L = -numpy.sum(y * numpy.log(yhat), axis=1)",
}


def _target_gradient_line(md: MatrixDerivation) -> str:
    """dL_e/dy per example (the targets' node gradients)."""
    L = md.depth
    z = f"z_{L}"
    pair = (md.loss, md.activations[-1])
    if pair == ("bce", "sigmoid"):
        return f"    dy = -{z}  # log(1 - yhat) - log(yhat) = -z"
    if pair == ("cross_entropy", "softmax"):
        return (f"    dy = (numpy.max({z}, axis=1, keepdims=True) + numpy.log(numpy.sum(numpy.exp({z} - "
                f"numpy.max({z}, axis=1, keepdims=True)), axis=1, keepdims=True))) - {z}  # -log softmax(z)")
    K = md.layers[-1]
    if md.loss not in ("squared_error", "half_squared_error", "mse", "bce", "cross_entropy"):
        return f"    dy = {_gradient_columns_code(md.loss, K)}"
    return {
        "squared_error": "    dy = 2.0 * (y - yhat)",
        "half_squared_error": "    dy = y - yhat",
        "mse": f"    dy = {2.0 / K!r} * (y - yhat)",
        "bce": "    dy = numpy.log(1.0 - yhat) - numpy.log(yhat)",
        "cross_entropy": "    dy = -numpy.log(yhat)",
    }[md.loss]


def generate_matrix_source(md) -> str:
    """The Python source (NumPy only) of the matrix-form forward pass, loss and gradients."""
    md = matrix_derive(md)
    L = md.depth
    shared = md.shared_biases
    params = ", ".join(md.parameter_names)
    cache: dict = {}
    pr = _NumPyPrinter(md, cache)
    fwd = _forward_lines(md, pr, cache)
    fast = _fast_supported(md)
    back = []
    for s in md.backward:
        expr = s.reference
        comment = f"  # {s.number}. {s.name} = {expr.text()}"
        if (isinstance(expr, Hadamard) and isinstance(expr.left, Mat) and not isinstance(expr.right, Mat)
                and s.name.startswith("dz_") and md.activations[int(s.name[3:]) - 1] not in _NO_ELEMENTWISE_DERIVATIVE):
            # g'(z) first, then the upstream gradient in place (one array fewer)
            back.append(f"    {s.name} = {pr(expr.right)}")
            back.append(f"    {s.name} *= {expr.left.name}" + comment)
        else:
            back.append(f"    {s.name} = {pr(expr)}" + comment)
    step_names = [s.name for s in md.backward]
    fwd_names = [s.target.name for s in md.forward]
    grads = ", ".join(f"(dW_{l}, db_{l})" for l in range(1, L + 1))
    title = spec_title(md.spec, "a network")  # data only: an ascii() literal, never in a docstring or comment
    forward_doc = ", ".join(fwd_names)
    steps_doc = [f"    {s.number}. {s.name} = {s.reference.text()}" for s in md.backward]
    lines = [
        '"""Matrix-form gradients generated by symbackprop (TITLE names the spec).',
        "",
        "The slides' backward steps, one matrix product per layer. Needs only NumPy.",
        ("Shapes: x (n, N_0), W_l (N_{l-1}, N_l), b_l (1, 1), one bias shared by the layer; index notation "
         "W_l[j, i] = w^{l}_{i,j}, b_l = b^{l}." if shared else
         "Shapes: x (n, N_0), W_l (N_{l-1}, N_l), b_l (1, N_l); index notation W_l[j, i] = w^{l}_{i,j}."),
        "J = r * sum_e L_e with r = 1/n (mean) or 1 (sum); dX = dJ/dX.",
        "",
        *steps_doc,
        '"""',
        "import numpy",
        "",
        f"TITLE = {_lit(title)}",
        f"LAYERS = {tuple(md.layers)!r}",
        f"ACTIVATIONS = {_lit(tuple(md.activations))}",
        f"LOSS = {_lit(md.loss)}",
        f"REDUCTION = {_lit(md.reduction)}",
        f"FORWARD = {_lit(tuple(fwd_names))}",
        f"STEPS = {_lit(tuple(step_names))}",
        ("SHARED_BIASES = True  # one bias b^{l} per layer: b_l is (1, 1)" if shared else
         "SHARED_BIASES = False  # one bias b^{l}_{i} per neuron: b_l is (1, N_l)"),
        "",
        "",
        _PARAMETER_NAMES_SOURCE,
        "",
        "",
        "_NAMES = {}  # PARAMETERS, built from LAYERS on first use (parameter_names(); no literal of every name)",
        f"_VIEWS = {_views(md.layers, shared)!r}  # (start, stop, N_l, N_(l-1)) of each layer's block in a flat vector",
        f"_SIZE = {sum(_block_size(m, n, shared) for m, n in zip(md.layers[:-1], md.layers[1:]))}",
        'BACKEND = "matrix"',
        'BACKEND_REASON = "matrix form: one matrix product per layer (the spec asks for matrix notation or is large)"',
        "",
        "",
        f"def forward_matrices(x, {params}):",
        f'    """The forward pass: ({forward_doc})."""',
        *fwd,
        f"    return {', '.join(fwd_names)}",
        "",
        "",
        f"def loss_per_example(x, y, {params}):",
        '    """L_e for each example, shape (n,)."""',
        *_forward_lines(md, pr, {}),
        *_loss_lines(md),
        "    return L",
        "",
        "",
        f"def gradient_matrices(x, y, {params}, r):",
        f'    """[{grads}]: the gradient of J = r * sum_e L_e, each of its parameter\'s shape."""',
        *(_fast_gradient_lines(md) if fast else fwd + back),
        f"    return [{grads}]",
        "",
        "",
        *([f"def gradient_vector(x, y, v, r):",
           '    """The gradient of J as a flat vector in PARAMETERS order, from the flat parameter vector v."""',
           *(line.split("  # ")[0] for line in _fast_gradient_lines(md, vector=True)),  # the steps as above
           "    return g",
           "",
           ""] if fast else []),
        f"def all_matrices(x, y, {params}, r):",
        '    """Every matrix of the derivation, forward and backward, by name; da_0 = dJ/dx and',
        '    dy = dL_e/dy (per example, no factor r) are added for the node gradients."""',
        *fwd,
        *back,
        "    da_0 = dz_1 @ W_1.T",
        _target_gradient_line(md),
        "    with numpy.errstate(divide='ignore', invalid='ignore'):",
        f"        dyhat_e = {pr(LOSS_RULES[md.loss].gradient(md.matrices['yhat'], md.matrices['y'], md.layers[-1]))}"
        "  # dL_e/dyhat",
        *_loss_lines(md),
        "    return {" + ", ".join(f"{_lit(nm)}: {nm}" for nm in fwd_names + step_names + ["da_0", "dy", "dyhat_e", "L"]) + "}",
        "",
        "",
        _workspace_source(md) if fast else "def clear_workspace():\n    pass",
        "",
        "",
        f"_FAST = {fast!r}",
        "",
        "",
        _runtime(shared),
    ]
    return "\n".join(lines)


_RUNTIME = r'''def _sigmoid_and_exp(z):
    """(σ(z), s) with s = e^(-z) and σ(z) = 1/(1 + s), in place (two arrays, five passes).

    Relative error of a few ulps wherever σ(z) is a normal number: 1 + s never cancels, and z is
    clipped at -709 so s stays finite (below that σ(z) < 1.3e-308; the result is 1.2e-308)."""
    s = numpy.maximum(z, -709.0)
    numpy.negative(s, out=s)
    numpy.exp(s, out=s)
    a = s + 1.0
    numpy.reciprocal(a, out=a)
    return a, s


def _sigmoid_slope(s, a):
    """σ'(z) = σ(z)(1 − σ(z)) = e^(-z) σ(z)^2 = s a a: a product, no cancellation."""
    g = s * a
    g *= a
    return g


def _sigmoid(z):
    """σ(z) = 1/(1 + e^-z) without overflow: with e = e^(-|z|), 1/(1 + e) for z >= 0, e/(1 + e) below."""
    e = numpy.exp(-numpy.abs(z))
    d = 1.0 / (1.0 + e)
    return numpy.where(z >= 0.0, d, e * d)


def _softplus(z):
    """softplus(z) = log(1 + e^z) = max(z, 0) + log(1 + e^(-|z|)), without overflow."""
    return numpy.maximum(z, 0.0) + numpy.log1p(numpy.exp(-numpy.abs(z)))


def _reduction(n):
    return 1.0 / n if REDUCTION == "mean" else 1.0


def _flat(mats):
    out = []
    for W, b in mats:
        out.append(numpy.asarray(W, dtype=float))
        out.append(numpy.asarray(b, dtype=float).reshape(1, -1))
    return out


def _data(X, Y=None):
    X = numpy.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X.reshape(1, -1)
    if Y is not None:
        Y = numpy.asarray(Y, dtype=float).reshape(X.shape[0], -1)
    return X, Y


def matrix_gradients(mats, X, Y):
    """[(dW_1, db_1), ...] of the reduced loss; mats = [(W_1, b_1), ...] in the slides' shapes."""
    X, Y = _data(X, Y)
    return gradient_matrices(X, Y, *_flat(mats), _reduction(X.shape[0]))


def matrix_forward(mats, X):
    """[(z_1, a_1), ..., (z_L, yhat)]."""
    X, _ = _data(X)
    values = forward_matrices(X, *_flat(mats))
    return [(values[2 * k], values[2 * k + 1]) for k in range(len(values) // 2)]


def matrix_loss(mats, X, Y):
    """The reduced loss J = r * sum_e L_e."""
    X, Y = _data(X, Y)
    L = loss_per_example(X, Y, *_flat(mats))
    return float(numpy.sum(L) * _reduction(X.shape[0]))


def matrix_all(mats, X, Y, r=None):
    """Every named matrix (forward and backward) at these parameters and data; r defaults to the reduction's."""
    X, Y = _data(X, Y)
    return all_matrices(X, Y, *_flat(mats), _reduction(X.shape[0]) if r is None else r)


# ---- index-notation names (the lecture notes): W_l[j, i] = w^{l}_{i,j}, b_l[1, i] = b^{l}_{i} ----
# A flat vector lists the parameters in PARAMETERS order: per layer, per neuron i its weights
# w^{l}_{i,1..M}, then b^{l}_{i}; so layer l's block is the (N, M + 1) matrix [W_l; b_l]ᵀ.
def parameter_names():
    """Every parameter's index-notation name, in the per-scalar module's order (a tuple, built from
    LAYERS and SHARED_BIASES on first use; the module attribute PARAMETERS is the same tuple)."""
    names = _NAMES.get("PARAMETERS")
    if names is None:
        names = _NAMES["PARAMETERS"] = _parameter_names(LAYERS, SHARED_BIASES)
    return names


def __getattr__(name):
    """The module attribute PARAMETERS (``module.PARAMETERS``, ``from module import PARAMETERS``)."""
    if name == "PARAMETERS":
        return parameter_names()
    raise AttributeError("module " + repr(__name__) + " has no attribute " + repr(name))


# the one export interface, shared with the per-scalar module: PARAMETERS, parameter_names(),
# parameter_template(), loss, forward, gradients, BACKEND and BACKEND_REASON
def parameter_template(value=0.0):
    """A parameter dict {name: value} with every name, to fill in."""
    return dict.fromkeys(parameter_names(), float(value))


def _kind(params):
    """'dict' (names), 'pairs' ([(W_1, b_1), ...]) or 'vector' (flat, PARAMETERS order)."""
    if isinstance(params, numpy.ndarray):
        return "vector"
    if hasattr(params, "keys"):
        return "dict"
    if isinstance(params, (list, tuple)) and len(params) == len(LAYERS) - 1 and all(
            isinstance(p, (list, tuple)) and len(p) == 2 for p in params):
        return "pairs"
    return "vector"


def dict_to_vector(params):
    """{name: value} -> the flat vector in PARAMETERS order (names not in PARAMETERS are ignored)."""
    names = parameter_names()
    n = len(names)
    if len(params) == n and tuple(params) == names:
        return numpy.fromiter(params.values(), float, n)  # a dict made from PARAMETERS, in its order
    try:
        return numpy.fromiter(map(params.__getitem__, names), float, n)
    except KeyError:
        pass
    _missing(params)


def _missing(params):
    """Raise the KeyError for a parameter dict without some names of PARAMETERS: one line naming them
    (the first 5), how many, the given names that are none (the first 3), and what to give."""
    names = parameter_names()
    missing = [name for name in names if name not in params]
    known = set(names)
    unknown = [repr(k) for k in params if k not in known]
    raise KeyError(
        "params: no value for " + ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        + " (" + str(len(missing)) + " of " + str(len(names)) + " missing"
        + ("; not names here: " + ", ".join(unknown[:3]) + (", ..." if len(unknown) > 3 else "") if unknown else "")
        + "); give a value for every name in PARAMETERS (parameter_template() is a dict of them to fill in)")


def vector_to_dict(v):
    """The flat vector in PARAMETERS order -> {name: float}."""
    return dict(zip(parameter_names(), numpy.asarray(v, dtype=float).tolist()))


def vector_to_matrices(v):
    """The flat vector in PARAMETERS order -> [(W_l (N_{l-1}, N_l), b_l (1, N_l))]: W_l = B_l[:, :M]ᵀ
    (copied C-contiguous) and b_l = B_l[:, M:]ᵀ (a view) of the layer's (N, M + 1) block B_l = [W_l; b_l]ᵀ."""
    if not (isinstance(v, numpy.ndarray) and v.dtype == numpy.float64):
        v = numpy.asarray(v, dtype=float)
    if v.shape != (_SIZE,):
        raise ValueError(f"a flat parameter vector has {_SIZE} entries (PARAMETERS order), not shape {v.shape}")
    mats = []
    for start, stop, N, M in _VIEWS:
        block = v[start:stop].reshape(N, M + 1)
        mats.append((numpy.ascontiguousarray(block[:, :M].T), block[:, M:].T))
    return mats


def matrices_to_vector(mats):
    """[(W_l, b_l)] -> the flat vector in PARAMETERS order."""
    out = numpy.empty(_SIZE)
    for (start, stop, N, M), (W, b) in zip(_VIEWS, mats):
        block = out[start:stop].reshape(N, M + 1)
        block[:, :M] = numpy.asarray(W, dtype=float).reshape(M, N).T
        block[:, M] = numpy.asarray(b, dtype=float).reshape(N)
    return out


def to_matrices(params):
    """{'w^{l}_{i,j}': v, 'b^{l}_{i}': v} (or a flat vector, or [(W_l, b_l)]) -> [(W_l, b_l)]
    with W_l[j-1, i-1] = w^{l}_{i,j}."""
    kind = _kind(params)
    if kind == "pairs":
        return [(numpy.asarray(W, dtype=float), numpy.asarray(b, dtype=float).reshape(1, -1)) for W, b in params]
    return vector_to_matrices(dict_to_vector(params) if kind == "dict" else params)


def from_matrices(mats):
    """The inverse of to_matrices, in the per-scalar module's order: {name: float}."""
    return vector_to_dict(matrices_to_vector(mats))


def gradients(params, X, Y=None):
    """dJ/dtheta for every parameter, in the form of ``params``: a {name: float} dict for a name
    dict, [(dW_1, db_1), ...] for [(W_1, b_1), ...], a flat vector (PARAMETERS order) for a vector."""
    kind = _kind(params)
    if kind == "pairs":
        return matrix_gradients(params, X, Y)
    if kind == "vector":
        X, Y = _data(X, Y)
        if _FAST:
            if not (isinstance(params, numpy.ndarray) and params.dtype == numpy.float64):
                params = numpy.asarray(params, dtype=float)
            if params.shape != (_SIZE,):
                raise ValueError(f"a flat parameter vector has {_SIZE} entries (PARAMETERS order), not shape {params.shape}")
            return gradient_vector(X, Y, params, _reduction(X.shape[0]))
        return matrices_to_vector(gradient_matrices(X, Y, *_flat(vector_to_matrices(params)), _reduction(X.shape[0])))
    return vector_to_dict(matrices_to_vector(matrix_gradients(vector_to_matrices(dict_to_vector(params)), X, Y)))


def loss(params, X, Y=None):
    return matrix_loss(to_matrices(params), X, Y)


def forward(params, X, Y=None):
    """Every node's value per example by index-notation name: z^{l+1}_{i}, a^{l+1}_{i} and L."""
    mats = to_matrices(params)
    X, Yd = _data(X, Y)
    if Yd is None:
        Yd = numpy.zeros((X.shape[0], LAYERS[-1]))
    m = matrix_all(mats, X, Yd, 1.0)
    out = {}
    for l in range(1, len(LAYERS)):
        z = m["z_%d" % l]
        a = m["yhat" if l == len(LAYERS) - 1 else "a_%d" % l]
        for i in range(LAYERS[l]):
            out["z^{%d}_{%d}" % (l + 1, i + 1)] = z[:, i].copy()
        for i in range(LAYERS[l]):
            out["a^{%d}_{%d}" % (l + 1, i + 1)] = a[:, i].copy()
    out["L"] = m["L"].copy()
    return out


def node_gradients(params, X, Y=None):
    """dL_e/dv per example (no reduction factor) for every input, target and node."""
    mats = to_matrices(params)
    X, Yd = _data(X, Y)
    if Yd is None:
        Yd = numpy.zeros((X.shape[0], LAYERS[-1]))
    m = matrix_all(mats, X, Yd, 1.0)
    n = X.shape[0]
    out = {}
    for j in range(LAYERS[0]):
        out["x_{%d}" % (j + 1)] = m["da_0"][:, j].copy()
    for k in range(LAYERS[-1]):
        out["y_{%d}" % (k + 1)] = m["dy"][:, k].copy()
    depth = len(LAYERS) - 1
    for l in range(1, depth + 1):
        dz = m["dz_%d" % l]
        da = m.get("da_%d" % l)
        for i in range(LAYERS[l]):
            out["z^{%d}_{%d}" % (l + 1, i + 1)] = dz[:, i].copy()
        if l == depth:
            da = m["dyhat_e"]
        for i in range(LAYERS[l]):
            out["a^{%d}_{%d}" % (l + 1, i + 1)] = da[:, i].copy()
    out["L"] = numpy.ones(n)
    return out
'''


#: The per-node flat-vector layout of the runtime, and its shared-bias variant (one b^{l} after each
#: layer's weights), swapped in for specs with [network] biases = "shared".
_PER_NODE_VECTOR = _RUNTIME[_RUNTIME.index("def vector_to_matrices(v):"):_RUNTIME.index("def to_matrices(params):")]
_PER_NODE_COMMENT = _RUNTIME[_RUNTIME.index("# ---- index-notation names"):_RUNTIME.index("def parameter_names():")]
def _runtime(shared: bool) -> str:
    """The module's runtime: the per-node flat-vector layout, or the shared-bias one."""
    if not shared:
        return _RUNTIME
    return _RUNTIME.replace(_PER_NODE_VECTOR, _SHARED_VECTOR).replace(_PER_NODE_COMMENT, _SHARED_COMMENT)


@dataclass(frozen=True)
class CompiledMatrixGradients:
    """Vectorized NumPy for a matrix-form derivation (``kind == "matrix"``).

    Fast path on the slides' shapes: ``matrix_gradients([(W_1, b_1), ...], X, Y) -> [(dW_1, db_1), ...]``,
    ``matrix_loss``, ``matrix_forward``, ``matrix_all`` (every named matrix of the derivation).
    Same API as the per-scalar ``CompiledGradients`` with index-notation names:
    ``gradients(params, X, Y) -> {name: float}``, ``loss``, ``forward``, ``node_gradients``.
    ``source`` is the standalone module (NumPy only)."""

    source: str
    module: object
    derivation: MatrixDerivation
    kind: str = "matrix"

    @property
    def parameters(self) -> tuple:
        return self.module.parameter_names()

    def matrix_gradients(self, mats, X, Y):
        return self.module.matrix_gradients(mats, X, Y)

    def matrix_loss(self, mats, X, Y) -> float:
        return self.module.matrix_loss(mats, X, Y)

    def matrix_forward(self, mats, X):
        return self.module.matrix_forward(mats, X)

    def matrix_all(self, mats, X, Y, r=None) -> dict:
        return self.module.matrix_all(mats, X, Y, r)

    def gradients(self, params, X, Y=None):
        """A {name: float} dict for a name dict, [(dW_l, db_l)] for [(W_l, b_l)], a flat vector
        (``parameters`` order) for a flat vector."""
        return self.module.gradients(params, X, Y)

    def loss(self, params, X, Y=None) -> float:
        return self.module.loss(params, X, Y)

    def forward(self, params, X, Y=None) -> dict:
        return self.module.forward(params, X, Y)

    def node_gradients(self, params, X, Y=None) -> dict:
        return self.module.node_gradients(params, X, Y)

    __call__ = gradients


def compile_matrix_gradients(d) -> CompiledMatrixGradients:
    """Generate and load the matrix-form NumPy module of a ``Derivation``, ``Spec``,
    ``NetworkSpec`` or ``MatrixDerivation`` (network mode only)."""
    md = matrix_derive(d)
    source = generate_matrix_source(md)
    return CompiledMatrixGradients(source, _load_source(source, "matrix"), md)


def export_matrix_module(d, path: str, *, force: bool = False) -> str:
    """Write the matrix-form module to ``path`` (standalone, NumPy only); never overwrites without ``force``."""
    source = generate_matrix_source(matrix_derive(d))
    write_atomic(path, source, force=force)
    return source


# ---------------------------------------------------------------------------------------
# Proof in numbers at any size: the trainer and sampled finite differences
# ---------------------------------------------------------------------------------------

def random_matrices(md: MatrixDerivation, rng) -> list:
    """Random parameters in the slides' shapes: W_l ~ Normal(0, 1)/sqrt(N_{l-1}) (so wide layers
    do not saturate), b_l ~ Normal(0, 1/2) (nonzero, so bias gradients are exercised; (1, 1) when shared)."""
    out = []
    for l in range(1, md.depth + 1):
        M, N = md.layers[l - 1], md.layers[l]
        out.append((rng.normal(0.0, 1.0, size=(M, N)) / np.sqrt(M), rng.normal(0.0, 0.5, size=md.bias_shape(l))))
    return out


def random_batch(md: MatrixDerivation, rng, n: int = 64):
    """A random batch (X, Y): X ~ Normal(0, 1); Y one-hot (cross-entropy), 0/1 (bce), Normal otherwise."""
    X = rng.normal(0.0, 1.0, size=(n, md.layers[0]))
    K = md.layers[-1]
    if md.loss == "cross_entropy":
        Y = np.eye(K)[rng.integers(0, K, size=n)]
    elif md.loss == "bce":
        Y = rng.integers(0, 2, size=(n, K)).astype(float)
    else:
        Y = rng.normal(0.0, 1.0, size=(n, K))
    return X, Y


def matrix_grad_report(source, *, matrices: bool = False) -> dict:
    """The ``grad --json`` object for a network at the spec's parameters and data, computed by the
    matrix-form code: the same keys and index-notation names as the per-scalar report (loss,
    reduction, n_examples, values, gradients, node_gradients); ``matrices=True`` adds
    ``"matrices"`` (every forward and backward matrix by the slides' name, as nested lists)
    and ``"shapes"``."""
    md = matrix_derive(source)
    if not md.has_data():
        where = md.spec.source if md.spec is not None else "<spec>"
        raise SpecError(f"{where}: [data]: needed for grad (x and y rows)")
    c = compile_matrix_gradients(md)
    mats = md.spec_matrices
    X, Y = md.spec_data()
    params = c.module.from_matrices(mats)

    def clean(v):
        v = float(v)
        return v if np.isfinite(v) else None

    values = c.forward(params, X, Y)
    node_grads = c.node_gradients(params, X, Y)
    grads = c.module.from_matrices(c.matrix_gradients(mats, X, Y))
    report = {
        "loss": clean(c.matrix_loss(mats, X, Y)),
        "reduction": md.reduction,
        "n_examples": md.n_examples,
        "values": {k: [clean(x) for x in v] for k, v in values.items()},
        "gradients": {k: clean(v) for k, v in grads.items()},
        "node_gradients": {k: [clean(x) for x in v] for k, v in node_grads.items()},
    }
    if matrices:
        every = c.matrix_all(mats, X, Y)
        order = ["x", "y"] + list(md.parameter_names) + [s.target.name for s in md.forward] + \
            [s.name for s in md.backward]
        env = {"x": X, "y": Y}
        for l, (W, b) in enumerate(mats, start=1):
            env[f"W_{l}"], env[f"b_{l}"] = W, b
        env.update(every)
        report["matrices"] = {k: [[clean(v) for v in row] for row in np.asarray(env[k], dtype=float)] for k in order}
        report["shapes"] = {k: list(np.shape(env[k])) for k in order}
        report["index_notation"] = ("W_l[j, i] = w^{l}_{i,j}; "
                                    + ("b_l[1, 1] = b^{l} (one bias per layer)" if md.shared_biases else
                                       "b_l[1, i] = b^{l}_{i}") + "; row e of z_l, a_l: example e")
    return report


__all__ = ["CompiledMatrixGradients", "compile_matrix_gradients", "export_matrix_module",
           "generate_matrix_source", "matrix_grad_report", "random_batch", "random_matrices"]
