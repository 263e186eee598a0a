"""The LaTeX with numbers at scale (issue 15): right numbers, the same expressions, no timing.

Oracles that share no code with the derivation: mpmath at 50 digits (a hand-written backward
pass below), central finite differences of the independent NumPy trainer, and SymPy's own
operators building the same expressions.
"""
import re

import mpmath
import numpy as np
import pytest
import sympy

from symbackprop.check import trainer
from symbackprop.cli import main
from symbackprop.derivation.chain_rule import derive
from symbackprop.spec import names
from symbackprop.spec.load import load_spec, parse_spec

from conftest import DERIVATIONS, ROOT

ROW = re.compile(r"^\$(?P<name>[wb]\^\{\d+\}_\{[\d,]+\})\$ & \$(?P<value>[^$]*)\$ & \$(?P<grad>[^$]*)\$ & "
                 r"\$(?P<update>[^$]*)\$ \\\\$", re.M)


def _summary(tex: str) -> dict:
    """{parameter: (gradient text, updated value text)} from the summary table."""
    table = tex[tex.index(r"\subsection*{Summary"):]
    return {m["name"]: (m["grad"], m["update"]) for m in ROW.finditer(table)}


def _latex(capsys, path, *extra) -> str:
    assert main(["derive", str(path), "--latex", *extra]) == 0
    return capsys.readouterr().out


def _mp_gradients(layers, weights, biases, x, y, loss):
    """∂J/∂θ for one example by a hand-written backward pass in mpmath (sigmoid everywhere)."""
    sig = lambda z: 1 / (1 + mpmath.exp(-z))
    acts = [[mpmath.mpf(v) for v in x]]
    for W, b in zip(weights, biases):
        acts.append([sig(mpmath.fsum(w * a for w, a in zip(row, acts[-1])) + bi) for row, bi in zip(W, b)])
    yhat = acts[-1]
    scale = 1 if loss == "half_squared_error" else 2
    da = [scale * (yh - mpmath.mpf(t)) for yh, t in zip(yhat, y)]
    grads = {}
    for k in range(len(weights), 0, -1):
        dz = [d * a * (1 - a) for d, a in zip(da, acts[k])]
        for i, dzi in enumerate(dz, start=1):
            grads[names.bias(k, i)] = dzi
            for j, a in enumerate(acts[k - 1], start=1):
                grads[names.weight(k, i, j)] = dzi * a
        W = weights[k - 1]
        da = [mpmath.fsum(W[i][j] * dz[i] for i in range(len(dz))) for j in range(len(acts[k - 1]))]
    return grads


def _rounded(value, decimals: int) -> str:
    """mpmath value -> text rounded half up at ``decimals`` (the lectures' display)."""
    from decimal import ROUND_HALF_UP, Decimal

    q = Decimal(mpmath.nstr(value, 45, strip_zeros=False)).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)
    text = f"{q:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def test_lecture_numbers_printed_match_mpmath_at_50_digits(capsys):
    """Every gradient and update in the lecture net's summary, at 12 decimals, is the 50-digit value rounded."""
    spec = load_spec(DERIVATIONS / "lecture_2_2_1.toml")
    tex = _latex(capsys, DERIVATIONS / "lecture_2_2_1.toml", "--decimals", "12")
    rows = _summary(tex)
    assert len(rows) == 9
    with mpmath.workdps(50):
        W = [[[mpmath.mpf(int(v.p)) / int(v.q) for v in row] for row in mat] for mat in spec.weights]
        B = [[mpmath.mpf(int(v.p)) / int(v.q) for v in vec] for vec in spec.biases]
        grads = _mp_gradients(spec.network.layers, W, B, spec.x[0], spec.y[0], spec.network.loss)
        lr = mpmath.mpf(1) / 10
        for name, (grad_text, update_text) in rows.items():
            k, rest = re.match(r"[wb]\^\{(\d+)\}_\{([\d,]+)\}", name).groups()
            idx = [int(t) - 1 for t in rest.split(",")]
            theta = W[int(k) - 1][idx[0]][idx[1]] if name.startswith("w") else B[int(k) - 1][idx[0]]
            assert grad_text == _rounded(grads[name], 12), name
            assert update_text == _rounded(theta - lr * grads[name], 12), name
    # the lecture's forward numbers at the default 2 decimals, from mpmath: σ(2), z^{3}_{1} = 1 + 2σ(2), ŷ = σ(z)
    default = _latex(capsys, DERIVATIONS / "lecture_2_2_1.toml")
    with mpmath.workdps(50):
        s2 = 1 / (1 + mpmath.exp(-2))
        z3 = 1 + 2 * s2
        yhat = 1 / (1 + mpmath.exp(-z3))
        shown = [_rounded(v, 2) for v in (s2, z3, yhat)]
    assert shown == ["0.88", "2.76", "0.94"]  # the notes' figures, as a check of the oracle itself
    assert rf"\sigma(2) \approx {shown[0]}" in default
    assert rf"(1 \cdot {shown[0]}) + (1 \cdot {shown[0]}) + 1 \approx {shown[1]}" in default
    assert rf"\sigma({shown[1]}) \approx {shown[2]}" in default

WRT = ("w^{1}_{3,7}", "b^{1}_{12}", "w^{2}_{10,4}", "b^{2}_{5}", "w^{3}_{1,32}", "b^{3}_{1}")


def test_20_32_32_1_latex_gradients_match_finite_differences_of_the_trainer(capsys):
    path = ROOT / "tests" / "data" / "sigmoid_20_32_32_1.toml"
    spec = load_spec(path)
    extra = ["--decimals", "12"]
    for w in WRT:
        extra += ["--wrt", w]
    rows = _summary(_latex(capsys, path, *extra))
    assert set(rows) == set(WRT)
    net = trainer.Network(spec.network.layers, "sigmoid", "squared_error", "mean")
    params = [(np.array([[float(v) for v in row] for row in mat]).T, np.array([[float(v) for v in vec]]))
              for mat, vec in zip(spec.weights, spec.biases)]
    X = np.array([[float(v) for v in spec.x[0]]])
    Y = np.array([[float(v) for v in spec.y[0]]])
    h = 1e-6
    for name in WRT:
        k, rest = re.match(r"[wb]\^\{(\d+)\}_\{([\d,]+)\}", name).groups()
        idx = [int(t) - 1 for t in rest.split(",")]
        where = (int(k) - 1, 0, idx[1], idx[0]) if name.startswith("w") else (int(k) - 1, 1, 0, idx[0])
        values = []
        for step in (h, -h):
            p = [(W.copy(), b.copy()) for W, b in params]
            p[where[0]][where[1]][where[2], where[3]] += step
            values.append(trainer.loss_value(net, p, X, Y))
        fd = (values[0] - values[1]) / (2 * h)
        shown = float(rows[name][0].replace(r" \times 10^{", "e").rstrip("}"))
        assert shown == pytest.approx(fd, rel=1e-6, abs=1e-9), name
        assert shown != 0


def _plain_sympy_graph(layers):
    """The [network] graph's definitions and node gradients built with SymPy's own operators only."""
    spec = parse_spec(f'[network]\nlayers = {list(layers)}\nactivations = "sigmoid"\nloss = "squared_error"\n'
                      '[parameters]\nseed = 3\n', source="plain.toml")
    return derive(spec)


def test_expressions_are_the_ones_sympys_operators_build():
    """The fast two-symbol products give exactly (same args, same order, same hash) what ``*`` gives."""
    d = _plain_sympy_graph([4, 8, 8, 1])
    g = d.graph
    for n in g.nodes:
        if n.kind == "pre_activation":
            want = sympy.Add(*[names.symbol(p) * names.symbol(a) for p, a in
                               zip(n.parents[:len(n.parents) // 2], n.parents[len(n.parents) // 2:-1])],
                             names.symbol(n.parents[-1]))
            assert n.definition == want and n.definition.args == want.args and hash(n.definition) == hash(want)
    for name, ng in d.node_gradients.items():
        if not ng.terms:
            continue
        want = sympy.Add(*[ld.expression if c == g.output else d.upstream_symbol(c) * ld.expression
                           for c, ld in ng.terms])
        assert ng.expression == want and ng.expression.args == want.args, name
        assert sympy.srepr(ng.expression) == sympy.srepr(want)


def test_the_scaling_benchmark_measures_what_it_names():
    """benchmarks/latex_scaling.py: its specs load with data, and one small run has every key (no timing asserted)."""
    import importlib.util

    path = ROOT / "benchmarks" / "latex_scaling.py"
    mod_spec = importlib.util.spec_from_file_location("latex_scaling", path)
    ls = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(ls)
    for layers in ls.NETS:
        spec = parse_spec(ls.spec_text(layers), source="bench.toml")
        assert list(spec.network.layers) == list(layers) and len(spec.x) == 1 and len(spec.x[0]) == layers[0]
    assert ls.n_parameters([30, 48, 48, 1]) == 3889
    rows = [{"parameters": p, "t_s": 2.0 * p} for p in (10, 100, 1000)]
    assert ls.exponent(rows, "t_s") == pytest.approx(1.0)
    res = ls.measure(True, nets_measured=([2, 2, 1],), worksheet_nets=([2, 2, 1],))
    row = res["nets"]["2_2_1"]
    for key in ("derive_s", "evaluation_s", "latex_s", "text_s", "cli_latex_s", "cli_text_s", "latex_cpu_s"):
        assert row[key] > 0, key
    assert res["worksheet_s"]["2_2_1"] > 0
