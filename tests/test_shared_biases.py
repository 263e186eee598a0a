"""One bias per layer ([network].biases = "shared"), on the widely read step-by-step example.

Matt Mazur's "A Step by Step Backpropagation Example" (2015): a 2-2-2 sigmoid network, inputs
0.05, 0.10, targets 0.01, 0.99, w1..w8 = 0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55, one bias
per layer b1 = 0.35, b2 = 0.60, E = Σ ½(target − out)². Published: E_total = 0.298371109,
∂E/∂w5 = 0.082167041, ∂E/∂w1 = 0.000438568, and after one step with η = 0.5
w5 = 0.35891648, w6 = 0.408666186, w7 = 0.511301270, w8 = 0.561370121, w1 = 0.149780716,
w2 = 0.19956143, w3 = 0.24975114, w4 = 0.29950229.

His w1, w2 feed h1 (our w^{1}_{1,1}, w^{1}_{1,2}), w3, w4 feed h2, w5, w6 feed o1 from h1, h2
(our w^{2}_{1,1}, w^{2}_{1,2}), w7, w8 feed o2. The other oracle is ``sympy.diff`` of the loss
written out here by hand, sharing no code with symbackprop's graph.
"""
import json
import math
from fractions import Fraction
from pathlib import Path

import pytest
import sympy

from symbackprop import SpecError, load_spec, parse_spec
from symbackprop.cli.__init__ import main

SPEC = Path(__file__).resolve().parent.parent / "derivations" / "step_by_step_shared_biases.toml"
MAZUR = {"w^{1}_{1,1}": "w1", "w^{1}_{1,2}": "w2", "w^{1}_{2,1}": "w3", "w^{1}_{2,2}": "w4",
         "w^{2}_{1,1}": "w5", "w^{2}_{1,2}": "w6", "w^{2}_{2,1}": "w7", "w^{2}_{2,2}": "w8",
         "b^{1}": "b1", "b^{2}": "b2"}
START = {"w1": "0.15", "w2": "0.20", "w3": "0.25", "w4": "0.30", "w5": "0.40", "w6": "0.45",
         "w7": "0.50", "w8": "0.55", "b1": "0.35", "b2": "0.60"}


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def hand_written_loss():
    """E = ½(t1 − o1)² + ½(t2 − o2)² of the example, in its own symbols."""
    s = {k: sympy.Symbol(k) for k in START}
    sig = lambda z: 1 / (1 + sympy.exp(-z))  # noqa: E731
    i1, i2, t1, t2 = sympy.Rational(5, 100), sympy.Rational(10, 100), sympy.Rational(1, 100), sympy.Rational(99, 100)
    h1 = sig(s["w1"] * i1 + s["w2"] * i2 + s["b1"])
    h2 = sig(s["w3"] * i1 + s["w4"] * i2 + s["b1"])
    o1 = sig(s["w5"] * h1 + s["w6"] * h2 + s["b2"])
    o2 = sig(s["w7"] * h1 + s["w8"] * h2 + s["b2"])
    return s, sympy.Rational(1, 2) * (t1 - o1) ** 2 + sympy.Rational(1, 2) * (t2 - o2) ** 2


def test_the_published_loss_and_gradients(capsys):
    code, out, _ = run(capsys, "grad", SPEC, "--json")
    assert code == 0
    report = json.loads(out)
    assert report["loss"] == pytest.approx(0.298371109, abs=5e-10)
    g = report["gradients"]
    assert set(g) == set(MAZUR)                  # ten parameters: eight weights and two biases
    assert g["w^{2}_{1,1}"] == pytest.approx(0.082167041, abs=5e-10)
    assert g["w^{1}_{1,1}"] == pytest.approx(0.000438568, abs=5e-10)


def test_every_gradient_is_sympy_diff_of_the_hand_written_loss(capsys):
    s, E = hand_written_loss()
    point = {s[k]: sympy.Rational(v) for k, v in START.items()}
    code, out, _ = run(capsys, "grad", SPEC, "--json")
    ours = json.loads(out)["gradients"]
    for name, theirs in MAZUR.items():
        exact = sympy.diff(E, s[theirs]).subs(point).evalf(30)
        assert ours[name] == pytest.approx(float(exact), rel=1e-12, abs=1e-15), name
    # the shared bias's gradient is the sum over its uses: ∂E/∂b1 = Σ_i ∂E/∂z^{2}_{i} ≠ either term
    assert abs(ours["b^{1}"]) > 0 and ours["b^{1}"] != pytest.approx(ours["w^{1}_{1,1}"] / 0.05)


def test_check_agrees_with_the_trainer_and_finite_differences(capsys):
    code, out, _ = run(capsys, "check", SPEC, "--trials", "2")
    assert code == 0 and "all gradients agree" in out
    assert "10 gradients" in out                 # b^{1} and b^{2} compared, not b^{k}_{i}


def test_the_derivation_sums_the_shared_bias_over_its_paths(capsys):
    code, out, _ = run(capsys, "derive", SPEC, "--wrt", "b^{1}")
    assert code == 0
    assert out.count("path: b^{1} → z^{2}_{") == 4      # through both hidden nodes, to both outputs
    assert "∂z^{2}_{1}/∂b^{1} = 1" in out and "∂z^{2}_{2}/∂b^{1} = 1" in out
    assert "sum over the 4 paths: ∂L/∂b^{1}" in out
    code, tex, _ = run(capsys, "derive", SPEC, "--latex", "--fragment", "--wrt", "b^{2}")
    assert "+ b^{2}" in tex and "b^{2}_{1}" not in tex


def test_one_training_step_matches_the_published_updates(capsys):
    code, out, _ = run(capsys, "train", SPEC, "--epochs", "1", "--learning-rate", "0.5", "--json")
    assert code == 0
    p = json.loads(out)["parameters"]
    published = {"w^{2}_{1,1}": 0.35891648, "w^{2}_{1,2}": 0.408666186, "w^{2}_{2,1}": 0.511301270,
                 "w^{2}_{2,2}": 0.561370121, "w^{1}_{1,1}": 0.149780716, "w^{1}_{1,2}": 0.19956143,
                 "w^{1}_{2,1}": 0.24975114, "w^{1}_{2,2}": 0.29950229}
    for name, value in published.items():
        assert p[name] == pytest.approx(value, abs=5e-9), name
    s, E = hand_written_loss()
    point = {s[k]: sympy.Rational(v) for k, v in START.items()}
    for name in ("b^{1}", "b^{2}"):   # the article keeps its biases; ours move by −η ∂E/∂b
        step = float(sympy.diff(E, s[MAZUR[name]]).subs(point).evalf(30))
        assert p[name] == pytest.approx(float(START[MAZUR[name]]) - 0.5 * step, rel=1e-12)
    assert "b^{1}_{1}" not in p


def test_verify_reads_the_shared_bias_and_catches_a_missing_path(capsys):
    right = r"(\hat{y}_1 - y_1)\hat{y}_1(1-\hat{y}_1) + (\hat{y}_2 - y_2)\hat{y}_2(1-\hat{y}_2)"
    code, out, _ = run(capsys, "verify", SPEC, "--wrt", "b^{2}", "--answer", right)
    assert code == 0 and out.startswith("correct")
    code, out, _ = run(capsys, "verify", SPEC, "--wrt", "b_2", "--answer", right)   # the article's b2
    assert code == 0 and out.startswith("correct") and "∂L/∂b^{2}" in out
    one_node = r"(\hat{y}_1 - y_1)\hat{y}_1(1-\hat{y}_1)"
    code, out, _ = run(capsys, "verify", SPEC, "--wrt", "b^{2}", "--answer", one_node)
    assert code != 0 and out.startswith("incorrect") and "missing: b^{2} → z^{3}_{2}" in out
    every_path = (r"\sum_{k=1}^{2} \sum_{j=1}^{2} (\hat{y}_k - y_k)\hat{y}_k(1-\hat{y}_k) w^{2}_{k,j} "
                  r"a^{2}_{j}(1-a^{2}_{j})")
    code, out, _ = run(capsys, "verify", SPEC, "--wrt", "b^{1}", "--answer", every_path)
    assert code == 0 and out.startswith("correct")
    code, out, err = run(capsys, "verify", SPEC, "--wrt", "b^{1}_{1}", "--answer", one_node)
    assert code != 0 and "unknown name 'b^{1}_{1}'" in err + out


def test_the_exported_module_takes_the_shared_biases_by_name(tmp_path, capsys):
    import importlib.util

    target = tmp_path / "mazur_grads.py"
    assert run(capsys, "export", SPEC, "-o", target)[0] == 0
    spec_ = importlib.util.spec_from_file_location("mazur_grads", target)
    module = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(module)
    assert "b^{1}" in module.PARAMETERS and "b^{1}_{1}" not in module.PARAMETERS
    import numpy as np

    params = {name: float(START[MAZUR[name]]) for name in module.PARAMETERS}
    X, Y = np.array([[0.05, 0.10]]), np.array([[0.01, 0.99]])
    assert float(module.loss(params, X, Y)) == pytest.approx(0.298371109, abs=5e-10)
    assert float(module.gradients(params, X, Y)["w^{2}_{1,1}"]) == pytest.approx(0.082167041, abs=5e-10)
    vector = np.array([params[name] for name in module.PARAMETERS])      # the flat form, PARAMETERS order
    flat = module.gradients(vector, X, Y)
    assert flat.shape == (10,) and flat[module.PARAMETERS.index("w^{1}_{1,1}")] == pytest.approx(0.000438568, abs=5e-10)
    with pytest.raises(ValueError, match=r"X: expected one row per example with 2 columns"):
        module.gradients(params, np.zeros((1, 3)), Y)
    with pytest.raises(TypeError, match="no \\(W, b\\) matrices"):
        module.gradients([(np.zeros((2, 2)), np.zeros((1, 2)))] * 2, X, Y)


@pytest.mark.parametrize("change,message", [
    (('biases = "shared"', 'biases = "sharde"'), "[network].biases: unknown bias layout 'sharde'; did you mean 'shared'?"),
    (("biases = [0.35, 0.60]", "biases = [[0.35, 0.35], [0.6, 0.6]]"),
     '[parameters].biases[0]: [network].biases is "shared": expected one number b^{1} for the whole layer'),
    (("biases = [0.35, 0.60]", "biases = [0.35]"), "expected one number, or 2 numbers (one shared bias per layer)"),
    (('activations = "sigmoid"', 'activations = ["sigmoid", "softmax"]')
     , "a bias shared by the whole softmax output layer adds the same number to every z"),
])
def test_bad_shared_bias_specs_are_one_line_errors(change, message):
    text = SPEC.read_text(encoding="utf-8").replace(*change)
    with pytest.raises(SpecError) as err:
        parse_spec(text, source="course.toml")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_one_number_for_all_shared_biases_and_the_default_layout():
    spec = parse_spec(SPEC.read_text(encoding="utf-8").replace("biases = [0.35, 0.60]", "biases = 0.5"))
    assert spec.network.shared_biases and spec.biases == ((Fraction(1, 2),) * 2,) * 2
    assert not load_spec(SPEC.parent / "lecture_2_2_1.toml").network.shared_biases


def test_the_worksheet_gives_one_bias_per_layer(capsys, tmp_path):
    code, out, err = run(capsys, "worksheet", SPEC, "-o", tmp_path / "w.tex")
    assert code == 0, err
    sheet = (tmp_path / "w.tex").read_text(encoding="utf-8")
    key = (tmp_path / "w-answers.tex").read_text(encoding="utf-8")
    assert "b^{1} = 0.35" in sheet and "b^{2} = 0.6" in sheet
    assert "b^{1}_{1} =" not in sheet and "b^{2}_{2} =" not in sheet
    assert sheet.count("{$b^{1}$}") == 2 and "{$b^{1}_{1}$}" not in sheet   # the drawing: b^{1} on both nodes
    assert "+ b^{1} = (0.15 \\cdot 0.05) + (0.2 \\cdot 0.1) + 0.35" in key


def test_pytorch_agrees_where_installed(capsys):
    torch = pytest.importorskip("torch")
    t = {k: torch.tensor(float(v), dtype=torch.float64, requires_grad=True) for k, v in START.items()}
    x1, x2 = 0.05, 0.10
    h1 = torch.sigmoid(t["w1"] * x1 + t["w2"] * x2 + t["b1"])
    h2 = torch.sigmoid(t["w3"] * x1 + t["w4"] * x2 + t["b1"])
    o1 = torch.sigmoid(t["w5"] * h1 + t["w6"] * h2 + t["b2"])
    o2 = torch.sigmoid(t["w7"] * h1 + t["w8"] * h2 + t["b2"])
    E = 0.5 * (0.01 - o1) ** 2 + 0.5 * (0.99 - o2) ** 2
    E.backward()
    ours = json.loads(run(capsys, "grad", SPEC, "--json")[1])["gradients"]
    for name, theirs in MAZUR.items():
        assert ours[name] == pytest.approx(t[theirs].grad.item(), rel=1e-12, abs=1e-16)
    assert math.isfinite(E.item())
