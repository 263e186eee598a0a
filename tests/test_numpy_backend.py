"""The generated NumPy code: stable for large |z|, exported module standalone, API shapes."""
import subprocess
import sys

import numpy as np
import pytest

from symbackprop import compile_gradients, derive, export_module, parse_spec
from symbackprop.check.compare import trainer_gradients
from symbackprop.errors import SymbackpropError

NET = """
[network]
layers = [3, 4, 2]
activations = ["{hidden}", "{out}"]
loss = "{loss}"
[parameters]
seed = 1
"""


@pytest.mark.parametrize("backend", ["per-scalar", "matrix"])
@pytest.mark.parametrize("hidden,out,loss", [
    ("sigmoid", "sigmoid", "bce"), ("tanh", "softmax", "cross_entropy"), ("relu", "sigmoid", "half_squared_error"),
    ("softplus", "identity", "mse"), ("leaky_relu", "tanh", "squared_error"),
])
def test_no_overflow_or_nan_for_large_z(hidden, out, loss, backend):
    d = derive(parse_spec(NET.format(hidden=hidden, out=out, loss=loss)))
    c = compile_gradients(d, backend=backend)
    rng = np.random.default_rng(0)
    params = {k: float(rng.normal(0, 30)) for k in d.parameters}
    X = rng.normal(0, 40, size=(50, 3))
    Y = np.eye(2)[rng.integers(0, 2, 50)] if loss in ("bce", "cross_entropy") else rng.normal(size=(50, 2))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        grads = c.gradients(params, X, Y)
        value = c.loss(params, X, Y)
    assert np.isfinite(value) and all(np.isfinite(v) for v in grads.values())
    theirs = trainer_gradients(d, params, X, Y)
    for k, v in grads.items():
        assert abs(v - theirs[k]) <= 1e-9 * max(1.0, abs(theirs[k])), k


def test_bce_loss_from_logits_is_exact_when_the_sigmoid_saturates():
    d = derive(parse_spec(NET.format(hidden="identity", out="sigmoid", loss="bce").replace("[3, 4, 2]", "[1, 1, 1]")
                          .replace('["identity", "sigmoid"]', '["identity", "sigmoid"]')))
    c = compile_gradients(d)
    params = {k: 1.0 for k in d.parameters}
    params["b^{2}_{1}"] = -2000.0  # x = 0: z^{2} = 1, a^{2} = 1, z^{3} = -1999: ŷ underflows, y = 1 costs 1999
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert c.loss(params, [[0.0]], [[1.0]]) == pytest.approx(1999.0, rel=1e-15)
        g = c.gradients(params, [[0.0]], [[1.0]])
    assert g["b^{2}_{1}"] == pytest.approx(-1.0)  # ŷ − y


def test_exported_module_needs_only_numpy(tmp_path):
    d = derive(parse_spec(NET.format(hidden="sigmoid", out="sigmoid", loss="bce")))
    path = tmp_path / "grads.py"
    export_module(d, str(path))
    with pytest.raises(SymbackpropError, match="exists"):
        export_module(d, str(path))
    code = (f"import sys; sys.modules['sympy'] = None; sys.modules['symbackprop'] = None\n"
            f"import importlib.util\n"
            f"spec = importlib.util.spec_from_file_location('g', {str(path)!r}); m = importlib.util.module_from_spec(spec)\n"
            f"spec.loader.exec_module(m)\n"
            f"import numpy as np\n"
            f"p = {{k: 0.1 for k in m.PARAMETERS}}\n"
            f"print(repr(m.gradients(p, np.ones((2, 3)), [[1, 0], [0, 1]])['w^{{1}}_{{1,1}}']))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    params = {k: 0.1 for k in d.parameters}
    theirs = trainer_gradients(d, params, np.ones((2, 3)), np.array([[1.0, 0], [0, 1]]))
    assert float(out) == pytest.approx(theirs["w^{1}_{1,1}"], rel=1e-12)


def test_generated_source_is_deterministic_and_readable():
    text = NET.format(hidden="sigmoid", out="sigmoid", loss="half_squared_error")
    a = compile_gradients(derive(parse_spec(text)), backend="per-scalar").source
    b = compile_gradients(derive(parse_spec(text)), backend="per-scalar").source
    assert a == b
    assert "z_2_1 = " in a and "d_z_3_1 = " in a and "numpy.logaddexp" in a


def test_graph_mode_gradients_take_a_dict_of_inputs():
    d = derive(parse_spec('[graph]\nequations = ["q = x + y", "f = q * z"]\n[data]\nx = -2\ny = 5\nz = -4\n'))
    c = compile_gradients(d)
    g = c.node_gradients({}, {"x": [-2.0, 1.0], "y": [5.0, 1.0], "z": [-4.0, 2.0]})
    assert g["x"].tolist() == [-4.0, 2.0] and g["z"].tolist() == [3.0, 2.0]
