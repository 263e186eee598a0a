"""One export interface (issue 13): `symbackprop export` and `export_module` give the same names, whichever backend.

Oracle: central finite differences of each module's own `loss`, and the two backends against each other."""
import importlib.util
import subprocess
import sys

import numpy as np
import pytest

from conftest import DERIVATIONS

INTERFACE = ("PARAMETERS", "parameter_names", "parameter_template", "loss", "forward", "gradients", "BACKEND",
             "BACKEND_REASON")


def export(spec, path):
    r = subprocess.run([sys.executable, "-m", "symbackprop", "export", str(spec), "-o", str(path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    s = importlib.util.spec_from_file_location(path.stem, path)
    m = importlib.util.module_from_spec(s)
    s.loader.exec_module(m)
    return m


@pytest.mark.parametrize("stem, backend", [("gender", "matrix"), ("lecture_2_2_1", "per-scalar")])
def test_both_backends_have_one_interface(tmp_path, stem, backend):
    m = export(DERIVATIONS / f"{stem}.toml", tmp_path / f"{stem}_grads.py")
    for name in INTERFACE:
        assert hasattr(m, name), name
    assert m.BACKEND == backend
    assert tuple(m.parameter_names()) == tuple(m.PARAMETERS) and set(m.parameter_template()) == set(m.PARAMETERS)
    rng = np.random.default_rng(3)
    params = {k: float(rng.normal()) for k in m.PARAMETERS}
    X, Y = [[0.3, -0.7]], [[1.0]]
    g = m.gradients(params, X, Y)
    for k in m.PARAMETERS[:4]:
        h = 1e-6
        up, down = dict(params), dict(params)
        up[k] += h
        down[k] -= h
        fd = (m.loss(up, X, Y) - m.loss(down, X, Y)) / (2 * h)
        assert g[k] == pytest.approx(fd, rel=1e-5, abs=1e-9)


def test_the_two_backends_agree_on_the_same_network(tmp_path):
    """The lecture network through both: the matrix module of gender.toml's shape against the per-scalar one."""
    from symbackprop import derive, load_spec
    from symbackprop.compile.matrix_numpy import export_matrix_module
    from symbackprop.compile.numpy_backend import export_module

    spec = load_spec(DERIVATIONS / "lecture_2_2_1.toml")
    a, b = tmp_path / "a_grads.py", tmp_path / "b_grads.py"
    export_module(derive(spec), str(a))
    from symbackprop.derivation.matrix_form import matrix_derive
    export_matrix_module(matrix_derive(spec), str(b))
    mods = []
    for p in (a, b):
        s = importlib.util.spec_from_file_location(p.stem, p)
        m = importlib.util.module_from_spec(s)
        s.loader.exec_module(m)
        mods.append(m)
    assert mods[0].PARAMETERS == mods[1].PARAMETERS
    params = {k: 0.1 * i - 0.3 for i, k in enumerate(mods[0].PARAMETERS)}
    ga, gb = (m.gradients(params, [[1, 0]], [[1]]) for m in mods)
    for k in ga:
        assert ga[k] == pytest.approx(gb[k], rel=1e-12, abs=1e-15)


NETS = [  # (layers, activations, shared biases)
    ([2, 2, 1], '"sigmoid"', False),
    ([3, 4, 2, 2], '["tanh", "relu", "identity"]', False),
    ([2, 3, 2], '"sigmoid"', True),
]


@pytest.mark.parametrize("layers, acts, shared", NETS)
def test_the_matrix_module_builds_parameters_at_import_in_the_old_order(tmp_path, layers, acts, shared):
    """PARAMETERS is built from LAYERS (and SHARED_BIASES) on first use, no longer a literal of every name:
    the same tuple as the old literal (its generator, _parameter_order) and as the per-scalar module's."""
    import ast

    from symbackprop import derive, parse_spec
    from symbackprop.compile.matrix_layout import _parameter_order
    from symbackprop.compile.matrix_numpy import export_matrix_module
    from symbackprop.compile.numpy_backend import export_module
    from symbackprop.compile.source import _lit
    from symbackprop.derivation.matrix_form import matrix_derive

    text = (f"[network]\nlayers = {layers}\nactivations = {acts}\nloss = \"squared_error\"\n"
            + ('biases = "shared"\n' if shared else "") + "[parameters]\nseed = 1\n")
    spec = parse_spec(text, source="net.toml")
    a, b = tmp_path / "scalar_grads.py", tmp_path / "matrix_grads.py"
    export_module(derive(spec), str(a))
    source = export_matrix_module(matrix_derive(spec), str(b))
    assigned = {t.id for node in ast.parse(source).body if isinstance(node, ast.Assign) for t in node.targets}
    assert "PARAMETERS" not in assigned and "LAYERS" in assigned   # the module's top level: data and functions
    assert "'w^{1}_{1,1}'" not in source                           # no name is written out
    mods = []
    for p in (a, b):
        s = importlib.util.spec_from_file_location(p.stem, p)
        m = importlib.util.module_from_spec(s)
        s.loader.exec_module(m)
        mods.append(m)
    old_literal = ast.literal_eval(_lit(tuple(_parameter_order(layers, shared))))
    assert mods[1].PARAMETERS == old_literal == mods[0].PARAMETERS
    assert type(mods[1].PARAMETERS) is tuple and mods[1].SHARED_BIASES is shared
    assert mods[1].parameter_names() is mods[1].PARAMETERS and "PARAMETERS" in vars(mods[1]).get("_NAMES", {})
    with pytest.raises(AttributeError):
        mods[1].PARAMETER
    assert len(mods[1].PARAMETERS) == sum(m * n + (1 if shared else n) for m, n in zip(layers[:-1], layers[1:]))
