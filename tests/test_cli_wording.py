"""Wording a new user reads: a boolean where a number belongs names the key and what is allowed,
`train --plot` says what it wrote, like every other writer."""
import json
from pathlib import Path

import pytest

from symbackprop.cli import main

DERIVATIONS = Path(__file__).resolve().parent.parent / "derivations"

NET = '[network]\nlayers = [2, 1]\nactivations = ["sigmoid"]\nloss = "bce"\n'


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("extra, key, allowed", [
    ("[training]\nlearning_rate = true\n", "[training].learning_rate", "expected a number (such as 2 or 0.5)"),
    ("[training]\nepochs = false\n", "[training].epochs", "expected a whole number from 0 to"),
    ("[data]\nx = [[1, true]]\ny = [[1]]\n", "[data].x[0][1]", "expected a number (such as 2 or 0.5)"),
])
def test_a_boolean_for_a_number_names_the_key_and_what_is_allowed(tmp_path, capsys, extra, key, allowed):
    spec = tmp_path / "s.toml"
    spec.write_text(NET + extra, encoding="utf-8")
    code, out, err = _run(capsys, "grad", spec)
    assert code == 2 and out == ""
    line = err.strip()
    assert "\n" not in line and f"s.toml: {key}: {allowed}" in line
    assert "got the boolean " in line and "True" not in line and "False" not in line


def test_train_plot_says_what_it_wrote(tmp_path, capsys):
    plot = tmp_path / "loss.png"
    code, out, err = _run(capsys, "train", DERIVATIONS / "gender.toml", "--epochs", "5", "--plot", plot, "--no-progress")
    assert code == 0 and plot.stat().st_size > 0
    assert out.splitlines()[-1] == f"wrote {plot}" and err == ""
    again = tmp_path / "loss.svg"
    code, out, err = _run(capsys, "train", DERIVATIONS / "gender.toml", "--epochs", "5", "--plot", again, "--json",
                          "--no-progress")
    assert code == 0 and again.read_text(encoding="utf-8").lstrip().startswith("<?xml")
    assert len(json.loads(out)["loss_history"]) == 6                    # stdout stays one JSON document
    assert err.strip() == f"wrote {again}"


def test_grad_names_the_cost_and_counts_its_examples(capsys):
    code, out, _ = _run(capsys, "grad", DERIVATIONS / "gender.toml")
    first = out.splitlines()[0]
    assert code == 0 and first.startswith("J (mean of the loss over 4 examples) = ")
    assert out.splitlines()[1].startswith("  ∂J/∂")
    # the number is the slides' mean BCE over the 4 people, recomputed by the independent trainer
    from symbackprop.check import trainer
    from symbackprop.derivation.matrix_form import matrix_derive
    from symbackprop.spec.load import load_spec

    md = matrix_derive(load_spec(DERIVATIONS / "gender.toml"))
    X, Y = md.spec_data()
    J = trainer.loss_value(trainer.Network([2, 2, 1], "sigmoid", "bce"), md.spec_matrices, X, Y)
    assert float(first.split(" = ")[1]) == pytest.approx(J, rel=1e-5)
    code, out, _ = _run(capsys, "grad", DERIVATIONS / "lecture_2_2_1.toml")
    assert out.startswith("J (mean of the loss over 1 example) = ")


def test_an_existing_output_names_the_flag_of_each_face(tmp_path, capsys):
    """The command line is told --force, Python callers force=True: never both in one sentence."""

    from symbackprop.errors import SymbackpropError
    from symbackprop.fileio import check_writable

    out = tmp_path / "lecture.tex"
    out.write_text("mine\n")
    spec = Path(__file__).parent.parent / "derivations" / "lecture_2_2_1.toml"
    assert main(["derive", str(spec), "--latex", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "exists; pass --force to overwrite it" in err and "force=True" not in err
    assert out.read_text() == "mine\n"
    with pytest.raises(SymbackpropError, match="pass force=True to overwrite it") as info:
        check_writable(str(out), force=False)
    assert "--force" not in str(info.value)
