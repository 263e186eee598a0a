"""One rule for names in graph specs (issue 13): e and pi are constants only when the spec does not define them.

The oracle is PyTorch autograd on micrograd's published test (test_more_ops), written with its own
variable names (reassignments renamed): g = 24.7041, dg/da = 138.8338, dg/db = 645.5773.
"""
import json
import math
import subprocess
import sys

import pytest

from symbackprop import derive, load_spec
from symbackprop.spec.load import spec_from_dict

try:
    import torch
except ImportError:  # the published numbers are the oracle then; PyTorch confirms them where installed
    torch = None

PUBLISHED = (24.7041, 138.8338, 645.5773)  # micrograd's test_more_ops: g, dg/da, dg/db

MICROGRAD = {
    "title": "micrograd's test_more_ops",
    "graph": {"equations": [
        "c1 = a + b", "d1 = a*b + b^3", "c2 = c1 + c1 + 1", "c3 = c2 + 1 + c2 + (-a)",
        "d2 = d1 + d1*2 + relu(b + a)", "d3 = d2 + 3*d2 + relu(b - a)",
        "e = c3 - d3", "f = e^2", "g1 = f/2", "g = g1 + 10/f"]},
    "data": {"a": -4, "b": 2},
}


def torch_micrograd():
    if torch is None:
        return PUBLISHED
    a = torch.tensor(-4.0, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    c = a + b
    d = a * b + b ** 3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    return g.item(), a.grad.item(), b.grad.item()


def run(*args):
    return subprocess.run([sys.executable, "-m", "symbackprop", *args], capture_output=True, text=True, timeout=120)


def test_micrograd_names_e_f_g_against_pytorch(tmp_path):
    g, da, db = torch_micrograd()
    assert (round(g, 4), round(da, 4), round(db, 4)) == PUBLISHED
    path = tmp_path / "micrograd.toml"
    path.write_text('title = "micrograd"\n[graph]\nequations = ' + json.dumps(MICROGRAD["graph"]["equations"])
                    + "\n[data]\na = -4\nb = 2\n")
    r = run("grad", str(path), "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    tol = dict(rel=1e-12) if torch is not None else dict(abs=5e-5)
    assert report["loss"] == pytest.approx(g, **tol)
    assert report["gradients"]["a"] == pytest.approx(da, **tol)
    assert report["gradients"]["b"] == pytest.approx(db, **tol)
    assert report["values"]["e"] == [-7.0]


def test_shadowed_e_gets_a_note_and_is_a_symbol():
    d = derive(spec_from_dict(MICROGRAD))
    assert any("not Euler's number" in n for n in d.graph.notes)
    f = d.graph.node("f").definition
    assert f.free_symbols and not f.has(__import__("sympy").E)


@pytest.mark.parametrize("equation, x, expected", [
    ("f = e^x", 0.5, math.exp(0.5)),          # nothing defines e: Euler's number
    ("f = e**(2*x)", 0.25, 2 * math.exp(0.5)),
    ("f = pi*x^2", 1.5, 2 * math.pi * 1.5),   # nothing defines pi: the constant
])
def test_unshadowed_constants(equation, x, expected):
    spec = spec_from_dict({"graph": {"equations": [equation]}, "data": {"x": x}})
    d = derive(spec)
    assert not d.graph.notes
    if torch is not None:
        xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        f = {"f = e^x": lambda t: torch.exp(t), "f = e**(2*x)": lambda t: torch.exp(2 * t),
             "f = pi*x^2": lambda t: math.pi * t ** 2}[equation](xt)
        f.backward()
        assert xt.grad.item() == pytest.approx(expected, rel=1e-12)
    from symbackprop.cli.core import grad_report
    assert grad_report(d)["gradients"]["x"] == pytest.approx(expected, rel=1e-12)


def test_e_given_in_data_is_the_data():
    spec = spec_from_dict({"graph": {"equations": ["f = e^2 * x"]}, "data": {"e": 3, "x": 5}})
    d = derive(spec)
    from symbackprop.cli.core import grad_report
    rep = grad_report(d)
    assert rep["loss"] == pytest.approx(45.0)
    assert rep["gradients"]["e"] == pytest.approx(30.0) and rep["gradients"]["x"] == pytest.approx(9.0)


def test_slides_graph_reports_the_three_gradients(spec_path):
    """001: f = (x + y) z at x = -2, y = 5, z = -4: df/dx = df/dy = z = -4, df/dz = x + y = 3."""
    r = run("grad", str(spec_path("computational_graph.toml")), "--json")
    report = json.loads(r.stdout)
    assert report["gradients"] == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert report["input_gradients"] == {"x": [-4.0], "y": [-4.0], "z": [3.0]}
    text = run("grad", str(spec_path("computational_graph.toml"))).stdout
    assert "∂f/∂x = -4" in text and "∂f/∂z = 3" in text and "J" not in text


def test_check_compares_input_gradients(spec_path):
    r = run("check", str(spec_path("computational_graph.toml")))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "finite differences (inputs)" in r.stdout and "3 gradients" in r.stdout


def test_check_with_nothing_to_compare_is_an_error(tmp_path):
    path = tmp_path / "const.toml"
    path.write_text('[graph]\nequations = ["f = 3"]\n')
    r = run("check", str(path))
    assert r.returncode == 2
    assert "nothing to check" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_a_wrong_gradient_is_caught_by_the_input_comparison(spec_path):
    """The comparison can fail: corrupt the compiled input gradient and the check reports it."""
    from symbackprop.check.compare import check
    from symbackprop.compile.numpy_backend import compile_gradients

    d = derive(load_spec(spec_path("computational_graph.toml")))
    good = compile_gradients(d)

    class Wrong:
        def __getattr__(self, name):
            return getattr(good, name)

        def node_gradients(self, params, X, Y):
            out = dict(good.node_gradients(params, X, Y))
            out["x"] = out["x"] * 1.5
            return out

    report = check(d, compiled=Wrong())
    assert not report.ok


L2_LOGISTIC = {
    "title": "logistic regression with an L2 penalty",
    "graph": {"equations": ["z = w_1 x_1 + w_2 x_2 + b", "p = sigma(z)",
                            "L = -(y log(p) + (1 - y) log(1 - p)) + lambda/2 (w_1^2 + w_2^2)"],
              "parameters": ["w_1", "w_2", "b"]},
    "parameters": {"w_1": 0.5, "w_2": -1, "b": 0.1},
    "data": {"x_1": [1, 2], "x_2": [0.5, -1], "y": [1, 0], "lambda": 0.01},
}


def _l2_cost(w1, w2, b):
    """J = mean over the two examples of the penalized cross-entropy, written out here."""
    total = 0.0
    for x1, x2, y in ((1, 0.5, 1), (2, -1, 0)):
        p = 1 / (1 + math.exp(-(w1 * x1 + w2 * x2 + b)))
        total += -(y * math.log(p) + (1 - y) * math.log(1 - p)) + 0.01 / 2 * (w1 ** 2 + w2 ** 2)
    return total / 2


def test_spec_keys_name_the_symbols_however_they_are_spelled(capsys):
    """w_1 in [graph].parameters and [parameters], x_1 in [data], are the equations' w_{1}, x_{1};
    a single number in [data] (lambda) is the same in every example."""
    from symbackprop.cli.__init__ import main
    import tempfile, pathlib

    spec = spec_from_dict(L2_LOGISTIC)
    d = derive(spec)
    assert {n.name for n in d.graph.parameters} == {"w_{1}", "w_{2}", "b"}
    assert d.n_examples == 2 and all(ex[sympy_symbol("lambda")] == sympy_rational("0.01") for ex in d.examples())
    h = 1e-6
    base = (0.5, -1.0, 0.1)
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "l2.toml"
        path.write_text(_toml(L2_LOGISTIC), encoding="utf-8")
        assert main(["grad", str(path), "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        for k, name in enumerate(("w_{1}", "w_{2}", "b")):
            up = list(base); up[k] += h
            down = list(base); down[k] -= h
            fd = (_l2_cost(*up) - _l2_cost(*down)) / (2 * h)
            assert report["gradients"][name] == pytest.approx(fd, rel=1e-7), name
        assert main(["derive", str(path), "--wrt", "w_1"]) == 0
        text = capsys.readouterr().out
        assert "λ · w_{1}" in text and "lambda" not in text         # the Greek name printed as its letter


def test_two_spellings_of_one_symbol_are_one_clear_error():
    from symbackprop import SpecError

    twice = dict(L2_LOGISTIC, data=dict(L2_LOGISTIC["data"], **{"x_{1}": [3, 4]}))
    with pytest.raises(SpecError, match=r"\[data\]: 'x_1' and 'x_\{1\}' are the same symbol x_\{1\}"):
        derive(spec_from_dict(twice))
    uneven = dict(L2_LOGISTIC, data=dict(L2_LOGISTIC["data"], y=[1, 0, 1]))
    with pytest.raises(SpecError, match="has 3 values but other symbols have 2"):
        derive(spec_from_dict(uneven))


def sympy_symbol(name):
    import sympy

    return sympy.Symbol(name, real=True)


def sympy_rational(text):
    import sympy

    return sympy.Rational(text)


def _toml(table) -> str:
    """The little TOML the test needs (strings, numbers, lists, one level of tables)."""
    def value(v):
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return repr(v)

    lines = [f"title = {value(table['title'])}"]
    for section in ("graph", "parameters", "data"):
        lines.append(f"[{section}]")
        lines += [f"{json.dumps(k)} = {value(v)}" for k, v in table[section].items()]
    return "\n".join(lines) + "\n"
