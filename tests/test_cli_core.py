"""The CLI in-process: return codes and output, against the lectures' numbers and the trainer."""
import json
import math

import pytest

from symbackprop.cli.__init__ import main
from symbackprop import derive, load_spec

from conftest import DERIVATIONS


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def sigmoid(v):
    return 1 / (1 + math.exp(-v))


def test_grad_json_for_the_lecture_network(capsys):
    code, out, _ = run(capsys, "grad", DERIVATIONS / "lecture_2_2_1.toml", "--json")
    assert code == 0
    report = json.loads(out)
    assert set(report) >= {"loss", "values", "gradients", "node_gradients"}
    a = sigmoid(2)
    yhat = sigmoid(1 + 2 * a)
    assert report["values"]["z^{2}_{1}"] == [2.0]
    assert report["values"]["a^{3}_{1}"][0] == pytest.approx(yhat, rel=1e-14)
    assert report["loss"] == pytest.approx(0.5 * (1 - yhat) ** 2, rel=1e-14)
    delta3 = (yhat - 1) * yhat * (1 - yhat)
    assert report["gradients"]["w^{2}_{1,1}"] == pytest.approx(delta3 * a, rel=1e-13)
    assert report["gradients"]["w^{1}_{1,1}"] == pytest.approx(delta3 * a * (1 - a), rel=1e-13)
    assert report["node_gradients"]["z^{3}_{1}"][0] == pytest.approx(delta3, rel=1e-13)
    assert len(report["gradients"]) == 9


def test_grad_json_graph_mode_uses_spec_names(capsys):
    code, out, _ = run(capsys, "grad", DERIVATIONS / "computational_graph.toml", "--json")
    report = json.loads(out)
    assert code == 0 and report["values"]["f"] == [-12.0]
    assert {k: report["node_gradients"][k][0] for k in "xyzq"} == {"x": -4.0, "y": -4.0, "z": 3.0, "q": -4.0}


def test_check_passes_and_exit_code(capsys):
    code, out, _ = run(capsys, "check", DERIVATIONS / "gender.toml")
    assert code == 0 and "all gradients agree" in out and "trainer backprop" in out


def test_train_fits_the_gender_table(capsys):
    code, out, _ = run(capsys, "train", DERIVATIONS / "gender.toml", "--json")
    assert code == 0
    result = json.loads(out)
    hist = result["loss_history"]
    assert hist[-1] < hist[0] / 10
    # classify the four people with the trained parameters (forward pass written out here)
    p = result["parameters"]
    people = [([-2, -1], 1), ([25, 6], 0), ([17, 4], 0), ([-15, -6], 1)]
    for x, label in people:
        h = [sigmoid(p[f"w^{{1}}_{{{i},1}}"] * x[0] + p[f"w^{{1}}_{{{i},2}}"] * x[1] + p[f"b^{{1}}_{{{i}}}"]) for i in (1, 2)]
        yhat = sigmoid(p["w^{2}_{1,1}"] * h[0] + p["w^{2}_{1,2}"] * h[1] + p["b^{2}_{1}"])
        assert (yhat > 0.5) == bool(label)


def test_train_shows_a_per_epoch_bar_only_when_asked_and_the_numbers_do_not_change(capsys):
    code, shown_out, shown_err = run(capsys, "train", DERIVATIONS / "gender.toml", "--epochs", "40", "--progress")
    assert code == 0 and "training" in shown_err and "40/40" in shown_err
    final = shown_out.split("-> ")[1].split()[0]           # "loss: J0 -> J40 after 40 epochs"
    assert f"loss {final}" in shown_err                    # the bar's last loss is the one printed
    code, quiet_out, quiet_err = run(capsys, "train", DERIVATIONS / "gender.toml", "--epochs", "40", "--no-progress")
    assert code == 0 and quiet_err == ""
    assert shown_out == quiet_out and "after 40 epochs" in quiet_out


def test_derive_text_shows_path_factors_and_result(capsys):
    code, out, _ = run(capsys, "derive", DERIVATIONS / "lecture_2_2_1.toml", "--wrt", "w^{1}_{1,1}")
    assert code == 0
    assert "w^{1}_{1,1} → z^{2}_{1} → a^{2}_{1} → z^{3}_{1} → ŷ → L" in out
    # the lecture's numbers at its 2 decimals: z = 2, a ≈ 0.88, z ≈ 2.76, ŷ ≈ 0.94
    assert "z^{2}_{1} = 2," in out and "a^{2}_{1} = 0.88," in out and "z^{3}_{1} = 2.76," in out and "ŷ = 0.94" in out
    assert "L = ½(y − ŷ)²" in out and "**" not in out and "*" not in out


TANH_NEURON = """title = "tanh neuron"
[graph]
equations = ["z = w*x + b", "a = tanh(z)", "L = (a - y)^2"]
parameters = ["w", "b"]
reduction = "REDUCTION"
[parameters]
w = 0.5
b = -0.25
[data]
x = [1.5, -2, 0.75]
y = [0.2, 0.7, -0.4]
"""


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_derive_text_reduces_the_example_gradients_to_the_cost_gradient(capsys, tmp_path, reduction):
    spec = tmp_path / "tanh.toml"
    spec.write_text(TANH_NEURON.replace("REDUCTION", reduction), encoding="utf-8")
    code, out, _ = run(capsys, "derive", spec, "--decimals", "4")
    assert code == 0

    def cost(w, b):  # J written out here: the mean or sum of (tanh(w x + b) − y)² over the three examples
        terms = [(math.tanh(w * x + b) - y) ** 2 for x, y in ((1.5, 0.2), (-2, 0.7), (0.75, -0.4))]
        return sum(terms) / (3 if reduction == "mean" else 1)

    h = 1e-6
    expected = {"w": (cost(0.5 + h, -0.25) - cost(0.5 - h, -0.25)) / (2 * h),
                "b": (cost(0.5, -0.25 + h) - cost(0.5, -0.25 - h)) / (2 * h)}
    for name, value in expected.items():
        line = next(l for l in out.splitlines() if l.strip().startswith(f"over the 3 examples: ∂J/∂{name} ="))
        shown = float(line.rsplit("= ", 1)[1].replace("−", "-"))
        assert shown == pytest.approx(value, abs=0.5e-4), line
        assert line.count("+") == 2 and (("(1/3)(" in line) == (reduction == "mean"))


def test_derive_wrt_reads_every_spelling_verify_reads(capsys):
    """w^1_{1,1}, w^{1}_{11}, w_{11}^1 all name w^{1}_{1,1}; \\hat{y} names ŷ; a wrong index gets no 'did you mean'."""
    texts = [run(capsys, "derive", DERIVATIONS / "lecture_2_2_1.toml", "--wrt", w)[1]
             for w in ("w^{1}_{1,1}", "w^1_{1,1}", "w^{1}_{11}", "w_{11}^1")]
    assert texts[0] and all(t == texts[0] for t in texts)
    code, out, _ = run(capsys, "derive", DERIVATIONS / "lecture_2_2_1.toml", "--wrt", "\\hat{y}")
    assert code == 0 and "∂L/∂ŷ:" in out
    code, _, err = run(capsys, "derive", DERIVATIONS / "lecture_2_2_1.toml", "--wrt", "w^{1}_{1,3}")
    assert code == 2 and "did you mean" not in err and "w^{1}_{1,3}" in err


def test_derive_decimals_are_the_latex_decimals(capsys, tmp_path):
    """The same gradient, the same digits in text and LaTeX, at every --decimals (finite differences oracle)."""
    import math
    s = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    f = lambda w: 0.5 * (1 - s(s(w + 1) + s(2) + 1)) ** 2  # noqa: E731
    fd = (f(1 + 1e-6) - f(1 - 1e-6)) / 2e-6   # -0.000346...
    for decimals, shown in [(0, "−0.00035"), (2, "−0.00035"), (3, "−0.00035"), (4, "−0.0003"), (6, f"{fd:.6f}".replace("-", "−"))]:
        out = run(capsys, "derive", DERIVATIONS / "lecture_2_2_1.toml", "--wrt", "w^{1}_{1,1}", "--decimals", str(decimals))[1]
        assert f"at example 1: {shown}\n" in out, (decimals, out[-300:])
        tex = tmp_path / f"d{decimals}.tex"
        assert run(capsys, "derive", DERIVATIONS / "lecture_2_2_1.toml", "--wrt", "w^{1}_{1,1}", "--latex",
                   "--decimals", str(decimals), "-o", tex)[0] == 0
        assert shown.replace("−", "-") in tex.read_text()


def test_export_writes_and_refuses_to_overwrite(tmp_path, capsys):
    target = tmp_path / "g.py"
    assert run(capsys, "export", DERIVATIONS / "lecture_2_2_1.toml", "-o", target)[0] == 0
    before = target.read_text()
    code, _, err = run(capsys, "export", DERIVATIONS / "lecture_2_2_1.toml", "-o", target)
    assert code == 2 and "--force" in err and target.read_text() == before


def test_help_shows_examples(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "examples:" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["grad", "--help"])
    assert "example:" in capsys.readouterr().out


def test_python_dash_m_entry_point():
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "symbackprop", "grad", str(DERIVATIONS / "power_rule.toml"), "--json"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and json.loads(r.stdout)["node_gradients"]["x"] == [48.0]


def test_verify_refuses_a_repeated_wrt(capsys):
    """A second --wrt is an error (exit 2, one line), never silently the last one."""
    with pytest.raises(SystemExit) as exc:  # argparse's own errors exit 2
        run(capsys, "verify", DERIVATIONS / "lecture_2_2_1.toml", "--wrt", "w^{2}_{1,1}", "--wrt", "b^{2}_{1}",
            "--answer", "x_1")
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "--wrt given twice" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("equation,value", [("f = log(x)", "-1"), ("f = 1 / x", "0")])
def test_grad_outside_the_domain_says_undefined_in_one_line(capsys, tmp_path, equation, value):
    spec = tmp_path / "outside.toml"
    spec.write_text(f'[graph]\nequations = ["{equation}"]\n[data]\nx = {value}\n', encoding="utf-8")
    code, out, err = run(capsys, "grad", spec)
    assert code == 0 and err == ""                      # no traceback, no NumPy warning
    assert out.splitlines()[0].startswith("f = undefined (not a finite real number")
    code, out, _ = run(capsys, "grad", spec, "--json")
    assert json.loads(out)["loss"] is None


def test_check_at_a_relu_kink_says_so_and_still_catches_a_wrong_gradient(capsys, tmp_path):
    """f = relu(w x) at w x = 0: central differences give the average slope ½, ReLU′(0) = 0 gives 0;
    that is a kink, not a mismatch. A gradient outside the one-sided slopes [0, 1] still fails."""
    from symbackprop.check.compare import check

    spec = tmp_path / "kink.toml"
    spec.write_text('[graph]\nequations = ["f = relu(w x)"]\nparameters = ["w"]\n[parameters]\nw = 0\n'
                    '[data]\nx = 1\n', encoding="utf-8")
    code, out, _ = run(capsys, "check", spec, "--trials", "1")
    assert code == 0 and "not differentiable at this point" in out and "w:" in out
    d = derive(load_spec(spec))

    from symbackprop.compile.numpy_backend import compile_gradients

    good = compile_gradients(d)

    class Off:  # ∂f/∂w = 3 at the kink: outside [0, 1]
        def gradients(self, params, X, Y=None):
            return {"w": 3.0}

        def node_gradients(self, params, X, Y=None):
            return good.node_gradients(params, X, Y)

    bad = check(d, compiled=Off(), trials=0)
    assert not bad.ok and not any(c.note for c in bad.comparisons)
