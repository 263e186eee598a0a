r"""Worksheets with answer keys in the lecture notes' index notation, and the worksheets' entry point.

This module is the per-scalar *view* (:class:`IndexView`) of the one worksheet builder
(:mod:`~symbackprop.worksheets.builder`, which lays out the sheet and the key), and the public
entry point for both notations: :func:`worksheet`, :func:`variant_numbers` and
:func:`write_worksheets` hand a ``notation = "matrix"`` spec to the matrix view
(:mod:`~symbackprop.worksheets.matrix`).

A worksheet for a spec holds

- a TikZ drawing of the network (nodes a^{k}_{j}, arrows labelled w^{k}_{i,j}) or of the
  computational graph; in the key the same drawing carries the forward values and gradients;
- exercises: a forward pass for the given input, the chain rule for chosen parameters
  (by default the notes' problem 5, \partial L/\partial w^{1}_{2,1}, and a weight of the last layer),
  where the lectures box a simplification its derivation (BCE after a sigmoid: \partial L/\partial z = \hat{y} - y),
  and one gradient-descent step w \leftarrow w - \alpha \partial L/\partial w;
- "from math to code": the trainer's own NumPy functions (activation, loss, reduction,
  update) rendered by latexify-py, so the sheet shows the code the numbers come from;
- the answer key: the same exercises worked out by :mod:`symbackprop.render.latex` from the one
  Derivation (numbers exact, rounded for display).

Randomized variants keep the derivation and change the numbers: small whole-number inputs,
weights, biases and targets, chosen so that the first hidden layer's pre-activations are whole
numbers in [-4, 4] (a table of \sigma or tanh is printed; a later hidden layer's, sums of σ or tanh
values, are inside [-4, 4]) and no answer is trivially 0; all variants are distinct and
reproducible from the seed (``random.Random(seed)``). The same spec and seed give
byte-identical files.

Options in the spec's ``[worksheet]`` table:

- ``wrt``: list of names for the chain-rule exercise (default: see :func:`default_wrt`);
- ``example``: which example of ``[data]`` the network exercises use (1-based, default 1).
"""
from __future__ import annotations

import random

import sympy

from ..spec import names
from ..derivation.chain_rule import Derivation
from ..errors import SpecError, SymbackpropError
from ..derivation.graph import INPUT, PARAMETER
from ..derivation.numeric import is_finite_number
from ..render.latex import (
    Evaluation,
    Numbers,
    Renderer,
    _plain_title,
    _title,
    tex_escape,
)
from ..render.backward import one_hot_form
from ..render.parameters import parameter_block
from ..render.tikz import drawing
from .builder import (CODE_INTRO, SPACING, Worksheet, assemble, check_count_seed, code_functions, code_items,
                      code_section, loss_formula, search_variants, sigmoid_table,
                      value_tables)
from .choices import answer_space, check_space, network_name, rounding_sentence, variant_title
from .files import compile_all, output_paths, write_sheets
from .layout import fit_page

WORKSHEET_KEYS = ("wrt", "example")
MAX_VARIANTS = 200
MAX_ATTEMPTS = 4000
GRAPH_EXAMPLES_KEPT = 4   # graph specs with at most this many examples keep them all
TABLED = ("sigmoid", "tanh")   # activations the sheet prints a table of (z = -4 ... 4)

INPUT_CHOICES = (-1, 0, 1, 2)
WEIGHT_CHOICES = (-1, 1, 2)
BIAS_CHOICES = (-1, 0, 1)
TARGET_CHOICES = (0, 1)
GRAPH_CHOICES = tuple(v for v in range(-5, 6) if v != 0)


# ---------------------------------------------------------------------------------------------
# options


def options(d: Derivation) -> dict:
    """The validated ``[worksheet]`` table of the spec."""
    raw = dict(d.spec.worksheet) if d.spec is not None else {}
    src = d.spec.source if d.spec is not None else "<spec>"
    for key in raw:
        if key not in WORKSHEET_KEYS:
            raise SpecError(f"{src}: [worksheet].{key}: unknown key (allowed: {', '.join(WORKSHEET_KEYS)})")
    out = {}
    if "wrt" in raw:
        wrt = raw["wrt"]
        if isinstance(wrt, str):
            wrt = [wrt]
        if not isinstance(wrt, list) or not wrt or not all(isinstance(w, str) for w in wrt):
            raise SpecError(f"{src}: [worksheet].wrt: expected a list of names, e.g. [\"w^{{1}}_{{2,1}}\"]")
        resolved = []
        for w in wrt:
            try:
                name = d.resolve(w)
            except SpecError as exc:
                raise SpecError(f"{src}: [worksheet].wrt: {exc}") from None
            if name not in resolved:
                resolved.append(name)
        out["wrt"] = resolved
    if "example" in raw:
        ex = raw["example"]
        n = len(d.examples()) if _has_data(d) else 0
        if isinstance(ex, bool) or not isinstance(ex, int) or not 1 <= ex <= max(n, 1):
            raise SpecError(f"{src}: [worksheet].example: expected a whole number from 1 to {max(n, 1)}")
        out["example"] = ex
    return out


def _has_data(d: Derivation) -> bool:
    spec = d.spec
    if spec is None:
        return False
    return bool(spec.x) if d.graph.mode == "network" else True


def default_wrt(d: Derivation) -> list:
    """The parameters the chain-rule exercise asks for.

    Network: w^{1}_{2,1} (the notes' self-assessment problem 5; w^{1}_{1,1} when layer 2 has one
    node) and the first weight of the last layer. Graph: every parameter, else every input.
    """
    g = d.graph
    if g.mode == "network":
        out = []
        first = names.weight(1, 2, 1) if names.weight(1, 2, 1) in g.by_name else names.weight(1, 1, 1)
        last = names.weight(len(g.layers) - 1, 1, 1)
        for name in (first, last):
            if name not in out:
                out.append(name)
        return out
    params = [p for p in d.parameters if g.influences(p)]
    if params:
        return params
    return [n.name for n in g.nodes if n.kind == INPUT and g.influences(n.name)]


def base_numbers(d: Derivation) -> Numbers:
    """The numbers of the worksheet without variants: the spec's parameters and, for a network,
    one example (``[worksheet].example``, default the first); graph specs keep their examples
    when there are few."""
    opts = options(d)
    numbers = Numbers.from_spec(d)
    if numbers is None:
        src = d.spec.source if d.spec is not None else "<spec>"
        raise SpecError(f"{src}: [data]: a worksheet needs numbers (x and y rows, or a value per input symbol)")
    e = opts.get("example", 1) - 1
    if d.graph.mode == "network" or len(numbers.examples) > GRAPH_EXAMPLES_KEPT:
        numbers = Numbers(numbers.parameters, (numbers.examples[e],), numbers.learning_rate)
    return numbers


# ---------------------------------------------------------------------------------------------
# randomized variants


def _finite(value) -> bool:
    return is_finite_number(value)  # one bottom-up pass, no precision retries (symbackprop.derivation.numeric)


def _in_table(z, first: bool) -> bool:
    """A hidden sigmoid or tanh layer's z as the sheet's table covers it: whole and in [-4, 4] in the
    first hidden layer (whole inputs, weights and biases make it whole); in a later one, whose inputs
    are σ or tanh values, z is not whole (no draw of 4000 for a 3-4-3-3 network passed), so
    only inside [-4, 4], where the table still brackets it and the calculator does the rest."""
    if first:
        return bool(z.is_Integer) and abs(z) <= 4
    return abs(float(z)) <= 4


def _acceptable(d: Derivation, numbers: Numbers, wrt: list) -> bool:
    """Numbers a student can work with: finite everywhere, the first hidden layer's z whole and in
    the table of a sigmoid or tanh layer (a later hidden layer's inside its range, ``_in_table``),
    no z exactly 0 under a kinked activation, and no asked-for gradient exactly 0."""
    try:
        ev = Evaluation(d, numbers)
    except (SymbackpropError, ZeroDivisionError, ValueError, TypeError):
        return False
    g = d.graph
    for values, grads in zip(ev.values, ev.gradients):
        if not all(_finite(v) for v in values.values()) or not all(_finite(v) for v in grads.values()):
            return False
        if g.mode == "network":
            for n in g.nodes:
                if n.kind != "pre_activation":
                    continue
                z = values[n.name]
                act = g.activations[n.layer - 2]
                if act in ("relu", "leaky_relu") and z == 0:
                    return False
                if n.layer < len(g.layers) and act in TABLED and not _in_table(z, first=n.layer == 2):
                    return False
    for w in wrt:
        if g.node(w).kind == PARAMETER and ev.total(w) == 0:
            return False
        if g.node(w).kind != PARAMETER and ev.gradients[0].get(w, 0) == 0:
            return False
    return True


def _draw(d: Derivation, rng: random.Random, base: Numbers) -> Numbers:
    g = d.graph
    I = sympy.Integer
    if g.mode == "network":
        params = {}
        for n in g.parameters:
            choices = BIAS_CHOICES if n.name.startswith("b") else WEIGHT_CHOICES
            params[n.symbol] = I(rng.choice(choices))
        examples = []
        for _ in base.examples:
            ex = {}
            xs = [I(rng.choice(INPUT_CHOICES)) for _ in g.inputs]
            if all(v == 0 for v in xs):
                xs[rng.randrange(len(xs))] = I(1)
            for n, v in zip(g.inputs, xs):
                ex[n.symbol] = v
            if g.loss == "cross_entropy":   # a class label: one-hot, as the softmax output's targets are
                hot = rng.randrange(len(g.targets))
                for k, n in enumerate(g.targets):
                    ex[n.symbol] = I(1 if k == hot else 0)
            else:
                for n in g.targets:
                    ex[n.symbol] = I(rng.choice(TARGET_CHOICES))
            examples.append(ex)
        return Numbers(params, tuple(examples), base.learning_rate)
    pools = _graph_pools(base)
    params = {s: rng.choice(pools[s]) for s in sorted(base.parameters, key=lambda s: s.name)}
    examples = []
    for ex in base.examples:
        examples.append({s: rng.choice(pools[s]) for s in sorted(ex, key=lambda s: s.name)})
    return Numbers(params, tuple(examples), base.learning_rate)


def _graph_pools(base: Numbers) -> dict:
    """Candidate values per symbol, near the spec's own: o, -o, 2o, o/2, o +- 1, o +- 2 (and small
    whole numbers when the spec's values are whole); kept whole when the spec's are whole and
    inside [0, 1] for probabilities and 0/1 labels."""
    originals = {}
    for s, v in base.parameters.items():
        originals.setdefault(s, set()).add(v)
    for ex in base.examples:
        for s, v in ex.items():
            originals.setdefault(s, set()).add(v)
    half = sympy.Rational(1, 2)
    pools = {}
    for s, vals in originals.items():
        whole = all(v.is_Integer for v in vals)
        # probabilities (some fraction, all in [0, 1]) and binary labels (exactly {0, 1}) stay in [0, 1]
        unit = all(0 <= v <= 1 for v in vals) and (not whole or set(vals) == {0, 1})
        cand = set()
        for o in vals:
            cand.update({o, -o, 2 * o, o * half, o + 1, o - 1, o + 2, o - 2})
        if whole:
            cand.update(sympy.Integer(v) for v in GRAPH_CHOICES)
            cand = {c for c in cand if c.is_Integer and abs(c) <= 10}
        if unit:
            cand = {c for c in cand if 0 <= c <= 1}
        cand = {c for c in cand if (c * 100).is_Integer}  # the givens are shown exactly at 2 decimals
        pools[s] = sorted(cand)
    return pools


def _key(numbers: Numbers) -> tuple:
    p = tuple(sorted((s.name, v) for s, v in numbers.parameters.items()))
    e = tuple(tuple(sorted((s.name, v) for s, v in ex.items())) for ex in numbers.examples)
    return p, e


def _matrix_spec(d):
    """The spec when its worksheet is written in the slides' matrix notation (``notation =
    "matrix"``), else None. ``d`` may be a Derivation, a Spec or a MatrixDerivation."""
    from ..worksheets.matrix import is_matrix_spec

    spec = getattr(d, "spec", d)
    try:
        return spec if is_matrix_spec(spec) else None
    except AttributeError:
        return None


def variant_numbers(d: Derivation, count: int, seed: int = 0, wrt=None) -> list:
    """``count`` distinct sets of hand-computable numbers for the spec, reproducible from ``seed``.

    For a matrix-notation spec each variant is a copy of the Spec with other numbers
    (:func:`symbackprop.worksheets.matrix.variant_specs`)."""
    mspec = _matrix_spec(d)
    if mspec is not None:
        from ..worksheets.matrix import variant_specs

        return variant_specs(mspec, count, seed)
    check_count_seed(count, seed, MAX_VARIANTS)
    check_sheet_size(d)
    base = base_numbers(d)
    wrt = list(wrt) if wrt else (options(d).get("wrt") or default_wrt(d))
    rng = random.Random(seed)
    return search_variants(lambda: _draw(d, rng, base), _key, lambda cand: _acceptable(d, cand, wrt), {_key(base)},
                           count, MAX_ATTEMPTS, d.spec.source if d.spec else '<spec>')


# ---------------------------------------------------------------------------------------------
# the documents


def _code_functions(d: Derivation) -> list:
    """Names in ``trainer.CODE_FUNCTIONS`` that compute this spec's numbers."""
    g = d.graph
    if g.mode == "network":
        return code_functions(g.activations, g.loss, d.reduction)
    # a graph: the cost's reduction only over several examples, the update only for parameters
    wanted = {"reduce_mean", "reduce_sum"} if d.n_examples > 1 else set()
    if g.parameters:
        wanted.add("gradient_descent_update")
    return [f for f in code_functions((), None, d.reduction) if f in wanted]


def math_to_code(d: Derivation) -> str:
    """The trainer's NumPy functions for this spec, rendered by latexify-py (``prefixes={"np"}``)."""
    return code_section(_code_functions(d))


def _value_tables(d: Derivation, decimals: int) -> str:
    if d.graph.mode != "network":
        return ""
    return value_tables(d.graph.activations, decimals)


MAX_SHEET_WIDTH = 6       # nodes per layer a per-scalar worksheet shows (every weight as a matrix entry)
MAX_SHEET_DEPTH = 4       # weight layers


def check_sheet_size(d: Derivation) -> None:
    """A worksheet shows every weight: refuse networks it cannot print, saying what to do."""
    g = d.graph
    if g.mode != "network":
        return
    src = d.spec.source if d.spec is not None else "<spec>"
    depth, widest = len(g.layers) - 1, max(g.layers)
    if depth > MAX_SHEET_DEPTH or widest > MAX_SHEET_WIDTH:
        raise SpecError(f"{src}: [network].layers = {list(g.layers)}: a worksheet prints every weight, so it takes "
                        f"at most {MAX_SHEET_DEPTH} weight layers of at most {MAX_SHEET_WIDTH} nodes; use "
                        "`symbackprop derive --matrix` (the matrix form) or `derive --wrt NAME` for one gradient "
                        "of a bigger network")


def _layer_words(g) -> str:
    """'3 inputs, a hidden layer of 4 nodes (tanh) and an output layer of 2 nodes (softmax)'."""
    def nodes(n):
        return f"{n} node" + ("s" if n != 1 else "")

    parts = [f"{g.layers[0]} input" + ("s" if g.layers[0] != 1 else "")]
    hidden = g.layers[1:-1]
    for k, w in enumerate(hidden, start=2):
        which = "a hidden layer" if len(hidden) == 1 else f"hidden layer {k}"
        parts.append(f"{which} of {nodes(w)} ({tex_escape(g.activations[k - 2])})")
    parts.append(f"an output layer of {nodes(g.layers[-1])} ({tex_escape(g.activations[-1])})")
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _setup(d: Derivation, r: Renderer, wrt: list) -> str:
    g, nt = d.graph, r.nt
    out = []
    if g.mode == "network":
        formula = loss_formula(g.loss, len(g.outputs))
        out.append(
            f"The network below has {_layer_words(g)}; the loss is ${formula}$. "
            "Notation of the lecture notes: $w^{k}_{i,j}$ joins node $j$ of layer $k$ to node $i$ of layer "
            "$k + 1$; $z^{k}_{i}$ is the weighted sum plus the bias $b^{k-1}_{i}$, $a^{k}_{i}$ its activation, "
            "$a^{1}_{j} = x_j$ and $\\hat{y}$ the output.\n")
        out.append(parameter_block(d, r))
        out.append(f"Input and target: ${r.example_label(0)}$. Learning rate: "
                   f"$\\alpha = {r.given(r.numbers.learning_rate)}$.\n")
    else:
        # one formula per equation, so that a line breaks between equations, never inside one
        eqs = [f"${nt.tex(n.name)} = {r.definition_tex(n)}$" for n in g.nodes if not n.is_leaf]
        listed = eqs[0] if len(eqs) == 1 else ", ".join(eqs[:-1]) + " and " + eqs[-1]
        out.append(f"The computational graph below computes {listed}; the output is ${nt.out_tex}$.\n")
        ns = r.numbers
        if len(ns.examples) == 1:
            if r.example_label(0):
                out.append(f"Inputs: ${r.example_label(0)}$.\n")
        else:
            rows = "\n".join(f"\\item ${r.example_label(e)}$" for e in range(len(ns.examples)))
            out.append(f"The {len(ns.examples)} examples:\n\\begin{{itemize}}\n{rows}\n\\end{{itemize}}\n")
        if g.parameters:
            vals = ", ".join(f"{nt.tex(n.name)} = {r.given(ns.parameters[n.symbol])}"
                             for n in g.parameters if n.symbol in ns.parameters)
            out.append(f"Parameters: ${vals}$. Learning rate: "
                       f"$\\alpha = {r.given(ns.learning_rate)}$.\n")
            if len(ns.examples) > 1:
                red = "mean" if d.reduction == "mean" else "sum"
                out.append(f"The cost is the {red} of the per-example values, "
                           + ("$J = \\frac{1}{n}\\sum_{e=1}^{n} " if red == "mean" else "$J = \\sum_{e=1}^{n} ")
                           + f"{nt.out_tex}_e$.\n")
    return "\n".join(o for o in out if o)


def _exercises(d: Derivation, r: Renderer, wrt: list, space: str = "none") -> str:
    g, nt = d.graph, r.nt
    dec = r.decimals
    grads = ", ".join(f"${nt.inline_grad(w)}$" for w in wrt)
    items = []
    defined = [n for n in g.nodes if not n.is_leaf]
    if g.mode == "network":
        listed = [r.lhs_tex(n).split(" = ")[-1] if n.name not in nt.display else nt.display[n.name]
                  for n in defined if n.kind != "loss"]
        which = "$" + "$, $".join(listed) + "$" if len(listed) <= 12 else "every $z$ and $a$"
        items.append((f"\\textbf{{Forward pass.}} For this input compute {which} and the loss ${nt.out_tex}$. "
                     + rounding_sentence(dec), min(2 + len(listed) // 2, 12)))
        boxes = [n for n in defined if d.node_gradients.get(n.name) is not None
                 and d.node_gradients[n.name].simplified is not None]
        if boxes:   # one exercise for all the outputs (the same derivation at each)
            shown = [_simplification(d, d.node_gradients[n.name].simplified, r.numbers) for n in boxes]
            claims = " and ".join(f"${nt.inline_grad(n.name)} = {nt.latex(e)}$" for n, (e, _) in zip(boxes, shown))
            note = next((t for _, t in shown if t), "")
            items.append((f"\\textbf{{A simplification.}} Show step by step that {claims} "
                          f"(the chain rule through $\\hat{{y}}${note}; name the rules you use).",
                          min(6 + 2 * (len(boxes) - 1), 12)))
        items.append((f"\\textbf{{Chain rule.}} For {grads}: write the path of influence to ${nt.out_tex}$, "
                      "the chain rule as a product of local derivatives, each local derivative with the rule it "
                      "uses, and evaluate the gradient at your forward pass.", min(5 * len(wrt), 14)))
        params = [w for w in wrt if g.node(w).kind == PARAMETER]
        if params:
            items.append(("\\textbf{One update.} With the learning rate $\\alpha$, do one step of gradient "
                          "descent, $w \\leftarrow w - \\alpha \\tfrac{\\partial J}{\\partial w}$, on "
                          + ", ".join(f"${nt.tex(p)}$" for p in params) + "." + _one_example_cost(r),
                          2 * len(params)))
    else:
        items.append(("\\textbf{Forward pass.} Compute the value of every node"
                      + (" for each example" if len(r.numbers.examples) > 1 else "") + ". "
                      + rounding_sentence(dec), 4))
        items.append(("\\textbf{Local gradients.} At every node write the local gradient with respect to each "
                      "of its inputs, and name the rule you use.", 6))
        items.append((f"\\textbf{{Backward pass.}} Starting from $\\partial {nt.out_tex}/\\partial {nt.out_tex} = 1$, "
                      "compute the gradient at every node as upstream gradient times local gradient"
                      + (" (for the first example)" if len(r.numbers.examples) > 1 else "") + ".", 6))
        items.append((f"\\textbf{{Chain rule.}} For {grads}: write the path(s) of influence and the chain rule "
                      "as a product of local derivatives; evaluate it.", 6))
        params = [w for w in wrt if g.node(w).kind == PARAMETER]
        if params:
            items.append(("\\textbf{One update.} Do one step of gradient descent, "
                          "$\\theta \\leftarrow \\theta - \\alpha \\tfrac{\\partial J}{\\partial \\theta}$, on "
                          + ", ".join(f"${nt.tex(p)}$" for p in params) + "." + _one_example_cost(r, "\\theta"),
                          2 * len(params)))
    return "\\subsection*{Exercises}\n\\begin{enumerate}\n" + "\n".join(
        f"\\item {text}{answer_space(space, lines)}" for text, lines in items) + "\n\\end{enumerate}\n"


def _one_example_cost(r: Renderer, var: str = "w") -> str:
    """The update exercise asks for the cost's gradient: say what J is when the sheet never defines it."""
    if len(r.numbers.examples) != 1:
        return ""   # the setup states J as the mean or sum over the examples
    out = r.nt.out_tex
    return (f" (With one example the cost $J$ is that example's ${out}$, so "
            f"$\\partial J/\\partial {var} = \\partial {out}/\\partial {var}$.)")


#: what the exercise asks the student to use, after the reason :func:`one_hot_form` gives
_ONE_HOT_NOTES = {"one-hot targets": ", and that the targets are one-hot, ${ys} = 1$",
                  "targets that sum to 1": ", and that the targets sum to 1, ${ys} = 1$"}


def _simplification(d: Derivation, expr, numbers: Numbers) -> tuple:
    """The boxed simplification as a student is asked to show it (the key's
    :func:`~symbackprop.render.backward.one_hot_form`: with cross-entropy and targets that sum to 1,
    ŷ_1 y_1 + ŷ_1 y_2 − y_1 is ŷ_1 − y_1); returns (expression, note)."""
    shown, why = one_hot_form(d, expr, numbers)
    if shown is None:
        return expr, ""
    ys = " + ".join(f"y_{{{k}}}" for k in range(1, len(d.graph.targets) + 1))
    return shown, _ONE_HOT_NOTES[why].replace("{ys}", ys)


def _answers(d: Derivation, r: Renderer, wrt: list) -> str:
    g = d.graph
    out = ["\\subsection*{Answers}\n"]
    if g.mode == "network":
        out.append("\\subsubsection*{1. Forward pass}\n")
        out.append(r.forward_numbers(0, include_loss=True))
        out.append(r.backward())
    else:
        out.append(r.forward())
        out.append(r.loss_and_reduction())
        out.append(r.backward())
    for w in wrt:
        out.append(r.target(w))
    out.append(r.summary(wrt))
    return "\n".join(o for o in out if o)


class IndexView:
    """The per-scalar notation's pieces of a worksheet (see :mod:`~symbackprop.worksheets.builder`):
    the lecture notes' w^{k}_{i,j} for a network, the slides' nodes for a computational graph."""

    def __init__(self, d: Derivation, r: Renderer, wrt: list, variant: int | None):
        self.d, self.r, self.wrt = d, r, wrt
        self.numbers = r.numbers
        self.source = d.spec.source if d.spec is not None else None
        g = d.graph
        self.plain_title = _plain_title(d)
        self.title = variant_title(_title(d), variant,
                                   network_name(g.layers, g.activations, g.loss) if g.mode == "network" else None)

    def setup(self) -> str:
        return _setup(self.d, self.r, self.wrt)

    def drawing(self, key: bool) -> str:
        return drawing(self.d, self.r.ev, 0, self.r.decimals) if key else drawing(self.d)

    def caption(self, key: bool) -> str:
        d, ev, dec = self.d, self.r.ev, self.r.decimals
        if d.graph.mode == "network":
            from ..render.tikz import network_caption, network_values_table

            return network_caption(d, ev, 0, dec) + network_values_table(d, ev, 0, dec) if key else network_caption(d)
        from ..render.tikz import graph_caption

        return graph_caption(d, ev, 0, dec) if key else ""

    def table(self) -> str:
        return _value_tables(self.d, self.r.decimals)

    def exercises(self, space: str) -> str:
        return _exercises(self.d, self.r, self.wrt, space)

    def answers(self) -> str:
        return _answers(self.d, self.r, self.wrt)

    def code(self, key: bool) -> str:
        return math_to_code(self.d)

    def fit(self, body: str) -> str:
        return fit_page(body)


def worksheet(d: Derivation, numbers: Numbers | None = None, variant: int | None = None,
              decimals: int = 2, fragment: bool = False, wrt=None, *, code: bool | None = None,
              space: str = "ruled") -> Worksheet:
    """The exercises and the answer key for ``d`` at ``numbers`` (default: :func:`base_numbers`).

    ``code``: the "From math to code" section on both (True), on neither (False), or only in the
    key (None, the default: students work by hand). ``space``: answer space under each exercise
    of the student sheet, ``"ruled"``, ``"box"`` or ``"none"``.

    Specs with ``notation = "matrix"`` get the slides' matrix notation
    (:func:`symbackprop.worksheets.matrix.matrix_worksheet`; ``d`` may then also be the Spec)."""
    mspec = _matrix_spec(d)
    if mspec is not None:
        from ..worksheets.matrix import matrix_worksheet

        return matrix_worksheet(mspec, numbers, variant, decimals, fragment, wrt, code=code, space=space)
    check_space(space)
    check_sheet_size(d)
    if numbers is None:
        numbers = base_numbers(d)
    if wrt:
        wrt = [d.resolve(w) for w in ([wrt] if isinstance(wrt, str) else wrt)]
    else:
        wrt = options(d).get("wrt") or default_wrt(d)
    r = _renderer(d, decimals, numbers)
    if r.ev is None:
        raise SpecError(f"{d.spec.source if d.spec else '<spec>'}: the worksheet's numbers cannot be evaluated")
    return assemble(IndexView(d, r, wrt, variant), fragment=fragment, code=code, space=space, variant=variant)


def _renderer(d: Derivation, decimals: int, numbers: Numbers) -> Renderer:
    """The key's Renderer, evaluated bottom-up by :class:`Evaluation` (exact small rationals, else 60-digit floats; fast at any depth)."""
    r = Renderer(d, decimals, None, heading="subsection")
    r.numbers = numbers
    try:
        r.ev = Evaluation(d, numbers)
    except (SymbackpropError, ZeroDivisionError, ValueError, TypeError):
        r.ev = None
    return r


# ---------------------------------------------------------------------------------------------
# writing files


def write_worksheets(d: Derivation, out: str, *, variants: int | None = None, seed: int = 0, pdf: bool = False,
                     fragment: bool = False, force: bool = False, decimals: int = 2, timeout: float = 120.0,
                     code: bool | None = None, space: str = "ruled", jobs: int = 1, progress: bool | None = None,
                     stream=None) -> list:
    """Write the worksheet(s) and key(s) (and their PDFs with ``pdf``), in either notation;
    returns the paths written (:func:`symbackprop.worksheets.files.write_sheets`).

    Every target is checked before anything is written, so an existing file without ``force``
    leaves nothing half done; each file is written atomically. With ``variants`` the shared
    progress bar (:mod:`symbackprop.progress`) counts the sheets on ``stream`` (stderr), by default
    only on a terminal (``progress`` True or False forces it); nothing else is printed.
    """
    from ..progress import progress as progress_bar

    if pdf and fragment:
        raise SpecError("--pdf needs whole documents; leave out --fragment")
    pairs = output_paths(out, variants)
    if variants:
        sheets = []
        with progress_bar(total=variants, desc="variants", unit="sheet", enabled=progress, stream=stream) as bar:
            for k, nums in enumerate(variant_numbers(d, variants, seed), start=1):
                sheets.append(worksheet(d, nums, k, decimals, fragment, code=code, space=space))
                bar.update()
    else:
        sheets = [worksheet(d, None, None, decimals, fragment, code=code, space=space)]
    return write_sheets(sheets, pairs, out, pdf=pdf, force=force, timeout=timeout, jobs=jobs)


__all__ = ["Worksheet", "worksheet", "variant_numbers", "base_numbers", "default_wrt", "math_to_code",
           "write_worksheets", "output_paths", "options", "code_functions", "code_items", "sigmoid_table",
           "IndexView", "compile_all", "CODE_INTRO", "SPACING"]
