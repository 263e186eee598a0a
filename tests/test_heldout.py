"""The held-out answer set of issue 12 (benchmarks/heldout/): soundness, and the oracle checked.

The truth of every answer comes from benchmarks/heldout/heldout_oracle.py (``sympy.diff`` of the loss
rebuilt from the spec's TOML, no code shared with the checker) and heldout_torch.py (PyTorch
autograd, for the gender network in matrix notation).  Here:

- the oracle agrees with central finite differences of a separate plain-float forward pass, for
  every parameter of each index spec at the spec's numbers and at a random point, and PyTorch's
  autograd with finite differences on the gender network;
- every ReLU pre-activation is on both sides of its kink over the oracle's points (asserted when
  the oracle is built), although the ReLU spec has three units dead at its data;
- the author's label of each answer is what the oracle decides (so the set is what it claims);
- no wrong answer is graded ``correct`` by the checker (public API only), and a sample of the
  right ones is.  The verdict accuracy and the feedback figures are measured by
  ``benchmarks/heldout/run.py``, not asserted here.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import sympy

HELDOUT = Path(__file__).resolve().parent.parent / "benchmarks" / "heldout"
sys.path.insert(0, str(HELDOUT))

from heldout_oracle import IndexOracle, fd_check, spec_path  # noqa: E402

_spec = importlib.util.spec_from_file_location("heldout_run", HELDOUT / "run.py")
heldout = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(heldout)

HAVE_TORCH = importlib.util.find_spec("torch") is not None
INDEX_SPECS = [s for s in heldout.SPECS if s not in heldout.MATRIX_SPECS]


def _answers():
    return [a for a in heldout.ANSWERS if HAVE_TORCH or a.spec not in heldout.MATRIX_SPECS]


@pytest.fixture(scope="module")
def oracles():
    return heldout.Oracles()


@pytest.fixture(scope="module")
def truths(oracles):
    return {a.id: heldout.truth(a, oracles) for a in _answers()}


def test_the_set_is_big_and_varied():
    answers = heldout.ANSWERS
    assert len(answers) >= 150 and len({a.spec for a in answers}) >= 5
    assert len({a.id for a in answers}) == len(answers)
    right = sum(a.right for a in answers)
    assert 0.4 <= right / len(answers) <= 0.6
    kinds = {a.kind for a in answers if not a.right}
    for k in ("sign", "swap_indices", "neighbour_param", "drop_local", "double_local", "sigma_prime_at_a",
              "z_for_a", "drop_path", "add_path", "drop_one_minus_a", "factor_2", "factor_n", "transpose", "reorder"):
        assert k in kinds, k


@pytest.mark.parametrize("spec", INDEX_SPECS)
def test_oracle_agrees_with_finite_differences(spec, oracles):
    o = oracles.get(spec)
    # every parameter the set asks about, and for the small nets every parameter
    targets = sorted({a.target for a in heldout.ANSWERS if a.spec == spec and not a.cost and not a.target.startswith("x")})
    assert fd_check(o, params=targets) < 1e-6
    if len(o.net.params) <= 10:
        assert fd_check(o) < 1e-6


def test_finite_differences_can_fail(oracles):
    """The check above is not vacuous: a reference with one factor dropped disagrees."""
    o = IndexOracle(spec_path(heldout.SPECS["lecture"]))
    good = o.ref("w^{2}_{1,1}")
    o._refs[("w^{2}_{1,1}", False)] = good * 2
    assert fd_check(o, params=["w^{2}_{1,1}"]) > 1e-3


def test_relu_spec_has_dead_units_at_its_data(oracles):
    """The spec's own numbers kill z^{2}_{3}, z^{2}_{4}, z^{3}_{2}; the oracle's points do not."""
    o = oracles.get("relu")
    vals = {k: sympy.Float(str(v)) for k, v in o.net.spec_values().items()}
    dead = [arg for arg in o.net.one.kinks if arg.xreplace(vals) < 0]
    assert len(dead) == 3
    assert o.spec_value("w^{2}_{2,3}") == 0 and o.spec_value("w^{3}_{1,2}") == 0
    assert any(v != 0 for v in o.ref_values("w^{3}_{1,2}"))


@pytest.mark.skipif(not HAVE_TORCH, reason="PyTorch is the oracle of matrix answers")
def test_torch_oracle_agrees_with_finite_differences(oracles):
    from heldout_torch import torch_fd_check
    assert torch_fd_check(oracles.get("gender")) < 1e-6


def test_labels_are_what_the_oracle_decides(truths):
    wrong_labels = [a.id for a in _answers() if truths[a.id] != a.right]
    assert wrong_labels == []


def test_no_wrong_answer_is_graded_correct(truths):
    checkers = {}
    graded_correct = []
    sample_right = []
    for i, a in enumerate(_answers()):
        if truths[a.id] and i % 4:
            continue                                   # a quarter of the right answers
        if a.spec not in checkers:
            checkers[a.spec] = heldout.make_checker(a.spec)
        got = heldout.grade(a, checkers[a.spec])
        if not truths[a.id] and got["verdict"] == "correct":
            graded_correct.append((a.id, a.tex))
        if truths[a.id]:
            sample_right.append(got["verdict"])
    assert graded_correct == []
    assert sample_right and sample_right.count("correct") >= 0.75 * len(sample_right)
