"""docs/tutorial.ipynb run by a real Jupyter kernel (nbclient + ipykernel), its outputs asserted.

The numbers are checked against an oracle written here in plain Python (the lecture's 2-2-1 network,
x = [1, 0], every weight and bias 1, y = 1, L = ½(y − ŷ)²), sharing no code with symbackprop."""
import math
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parent.parent


def _lecture_gradient_w111() -> float:
    """∂L/∂w^{1}_{1,1} by central differences of the lecture network written out by hand."""
    def loss(w111):
        s = lambda z: 1 / (1 + math.exp(-z))
        x1, x2 = 1.0, 0.0
        a1 = s(w111 * x1 + 1 * x2 + 1)
        a2 = s(1 * x1 + 1 * x2 + 1)
        yhat = s(a1 + a2 + 1)
        return 0.5 * (1 - yhat) ** 2
    h = 1e-5
    return (loss(1 + h) - loss(1 - h)) / (2 * h)


@pytest.fixture(scope="module")
def executed():
    nb = nbformat.read(ROOT / "docs" / "tutorial.ipynb", as_version=4)
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    return nb


def _outputs(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out["text"])
        data = out.get("data", {})
        parts.append(data.get("text/markdown", ""))
    return "".join(parts)


def test_every_cell_ran_without_error(executed):
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert code and all(c.get("execution_count") for c in code)
    assert not any(o.get("output_type") == "error" for c in code for o in c.get("outputs", []))


def test_the_derivation_displays_in_the_lectures_notation(executed):
    shown = _outputs(executed.cells[3])
    assert r"L = \frac{1}{2} (y - \hat{y})^{2}" in shown
    assert r"J = \frac{1}{n} \sum_{e=1}^{n} L_e" in shown
    assert r"\hat{y} \approx 0.94" in shown            # the lecture's forward pass, at derive's 2 decimals
    assert r"\hat{y}(1 - \hat{y})" in shown           # σ′ = ŷ(1 − ŷ)
    for internal in ("**", "render_latex", "symbackprop.", "\\left("):
        assert internal not in shown


def test_the_gradient_matches_finite_differences_of_the_lecture_network(executed):
    printed = _outputs(executed.cells[5])
    value = float(re.search(r"= (-?\d+\.\d+)", printed).group(1))
    assert value == pytest.approx(_lecture_gradient_w111(), rel=1e-6)


def test_a_matrix_spec_displays_the_matrix_form(executed):
    shown = _outputs(executed.cells[7])
    assert "matrix form" in shown
    assert r"dz_{2} = \frac{1}{n} (\hat{y} - y)" in shown
    assert r"dW_{2} = a_{1}^T dz_{2}" in shown
