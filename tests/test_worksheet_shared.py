"""Worksheets of shared-bias matrix specs and of deep networks, and the variants' progress bar (issue 13).

Oracles: the independent NumPy trainer (``shared_biases=True``: a shared bias's gradient is the sum
over its uses) for the numbers each key shows, a forward pass written here in plain NumPy for the
hand-computable criteria of a 3-4-3-3 network's variants, and the files themselves (byte-identical
with and without the bar).
"""
import io
import pathlib
import re
import sys

import numpy as np
import pytest

from symbackprop import derive, load_spec
from symbackprop.check import trainer
from symbackprop.cli.__init__ import main
from symbackprop.spec.load import parse_spec
from symbackprop.worksheets.index import variant_numbers, write_worksheets
from symbackprop.worksheets.matrix import matrix_worksheet, variant_specs

ROOT = pathlib.Path(__file__).resolve().parent.parent
MAZUR = ROOT / "derivations" / "step_by_step_shared_biases.toml"
WIDE = ROOT / "tests" / "data" / "wide" / "sigmoid_3_4_3_3.toml"


def mazur_matrix_text() -> str:
    return MAZUR.read_text(encoding="utf-8").replace("title =", 'notation = "matrix"\ntitle =', 1)


@pytest.fixture(scope="module")
def mazur():
    return parse_spec(mazur_matrix_text(), source="mazur_matrix.toml")


def _shown_bias_gradients(key: str) -> dict:
    """{l: the number the key shows for db_l} (a shared bias: one (1, 1) matrix)."""
    out = {}
    for l, value in re.findall(r"db_\{(\d)\} &= [^\n]*\n&(?:=|\\approx) \\begin\{bmatrix\}([^\\&]+)\\end\{bmatrix\}", key):
        out[int(l)] = value.strip()
    return out


def _trainer_gradients(spec):
    """dW_l, db_l of the spec's numbers from the independent trainer (per-node biases, shared)."""
    net = trainer.Network(spec.network.layers, spec.network.activations, spec.network.loss, spec.network.reduction,
                          shared_biases=True)
    params = [(np.array(w, dtype=float).T, np.array([b], dtype=float)) for w, b in zip(spec.weights, spec.biases)]
    return trainer.gradients(net, params, np.array(spec.x, dtype=float), np.array(spec.y, dtype=float))


def _agrees(shown: str, value: float) -> bool:
    digits = len(shown.split(".")[1]) if "." in shown else 0
    return abs(float(shown.replace("{,}", "")) - value) <= 0.5 * 10 ** -digits + 1e-12


def test_shared_matrix_variants_are_found_and_their_keys_show_the_sum_over_the_uses(mazur):
    variants = variant_specs(mazur, 3, seed=0)                    # before: 0 in 4000 draws
    assert len({(v.weights, v.biases, v.x, v.y) for v in variants}) == 3
    for v in variants:
        assert v.network.shared_biases
        assert all(len(set(b)) == 1 and len(b) == n for b, n in zip(v.biases, v.network.layers[1:]))
        key = matrix_worksheet(mazur, numbers=v, variant=1).answers
        shown = _shown_bias_gradients(key)
        grads = _trainer_gradients(v)
        assert sorted(shown) == [1, 2]
        for l, text in shown.items():
            db = grads[l - 1][1]
            assert np.allclose(db, db[0, 0])                      # the trainer puts the sum in every entry
            assert _agrees(text, float(db[0, 0])), (l, text, db)


def test_the_shared_key_and_sheet_say_one_bias_for_the_layer(mazur):
    sheet = matrix_worksheet(mazur)
    for text in (sheet.exercises, sheet.answers):
        assert "one bias per neuron" not in text and "one entry per neuron" not in text
        assert "$b_l[1, i] = b^{l}_{i}$" not in text and "$b_l[1, 1] = b^{l}$" in text
    assert "one bias for the layer" in sheet.answers and "has shape $(1, 1)$" in sheet.answers
    per_node = matrix_worksheet(load_spec(ROOT / "derivations" / "gender.toml"))
    assert "one bias per neuron" in per_node.answers and "one entry per neuron" in per_node.exercises


def test_a_variant_of_a_deep_sigmoid_network_is_found_and_hand_computable():
    d = derive(load_spec(WIDE))
    variants = variant_numbers(d, 2, seed=0)                      # before: 0 in 4000 draws
    layers = d.graph.layers
    for numbers in variants:
        value = {s.name: v for s, v in numbers.parameters.items()}
        (ex,) = numbers.examples
        a = np.array([float(ex[s]) for s in sorted(ex, key=lambda s: s.name) if s.name.startswith("x")])
        for l in range(1, len(layers)):
            W = np.array([[float(value["w^{%d}_{%d,%d}" % (l, i, j)]) for j in range(1, layers[l - 1] + 1)]
                          for i in range(1, layers[l] + 1)])
            b = np.array([float(value["b^{%d}_{%d}" % (l, i)]) for i in range(1, layers[l] + 1)])
            z = W @ a + b
            if l == 1:   # whole numbers in the sigma table
                assert np.allclose(z, np.round(z)) and np.all(np.abs(z) <= 4)
            elif l < len(layers) - 1:
                assert np.all(np.abs(z) <= 4)
            a = 1 / (1 + np.exp(-z))


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_variants_get_the_shared_bar_and_the_files_do_not_change(tmp_path):
    d = derive(load_spec(ROOT / "derivations" / "lecture_2_2_1.toml"))
    shown, quiet = io.StringIO(), io.StringIO()
    write_worksheets(d, str(tmp_path / "a.tex"), variants=3, seed=4, progress=True, stream=shown)
    write_worksheets(d, str(tmp_path / "b.tex"), variants=3, seed=4, progress=False, stream=quiet)
    text = shown.getvalue()
    assert "variants" in text and "0/3" in text and "3/3" in text and "sheet" in text
    assert quiet.getvalue() == ""
    for k in (1, 2, 3):
        for suffix in ("", "-answers"):
            assert (tmp_path / f"a-{k}{suffix}.tex").read_bytes() == (tmp_path / f"b-{k}{suffix}.tex").read_bytes()


def test_the_worksheet_command_draws_the_bar_on_a_terminal_and_its_stdout_does_not_change(tmp_path, capsys,
                                                                                           monkeypatch):
    spec = tmp_path / "mazur_matrix.toml"
    spec.write_text(mazur_matrix_text(), encoding="utf-8")
    assert main(["worksheet", str(spec), "-o", str(tmp_path / "q.tex"), "--variants", "2"]) == 0
    quiet_out, quiet_err = capsys.readouterr()
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["worksheet", str(spec), "-o", str(tmp_path / "t.tex"), "--variants", "2"]) == 0
    out, _ = capsys.readouterr()
    assert "variants" in terminal.getvalue() and "2/2" in terminal.getvalue()
    assert "variants" not in quiet_err
    assert out == quiet_out.replace("q-", "t-")
    for k in (1, 2):
        assert (tmp_path / f"t-{k}-answers.tex").read_bytes() == (tmp_path / f"q-{k}-answers.tex").read_bytes()


def test_a_shared_matrix_variant_compiles_without_overfull_boxes(mazur):
    import os
    import shutil

    if shutil.which("pdflatex") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but pdflatex missing")
        pytest.skip("needs pdflatex (texlive)")
    from symbackprop.render.pdf import box_warnings, compile_tex_log

    (v,) = variant_specs(mazur, 1, seed=7)
    sheet = matrix_worksheet(mazur, numbers=v, variant=1)
    # the key's NumPy line of a shared bias's gradient: the sum of every entry of dz_l
    assert r"\texttt{db\_2 = np.sum(dz\_2, keepdims=True)}" in sheet.answers
    for text in (sheet.exercises, sheet.answers):
        _, log = compile_tex_log(text, name="doc")
        assert "Output written" in log and box_warnings(log) == []
