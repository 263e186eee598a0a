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
