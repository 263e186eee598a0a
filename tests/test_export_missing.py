"""An exported module called with a parameter dict (or graph data) that lacks names says which ones,
in one line, as a KeyError (as the matrix module's): for the per-scalar module (export_module, graph specs, small networks)
and the matrix module (`symbackprop export` of a network)."""
import importlib.util

import pytest

from conftest import DERIVATIONS
from symbackprop import derive, export_module, load_spec
from symbackprop.compile.matrix_numpy import export_matrix_module


def _load(path):
    s = importlib.util.spec_from_file_location(path.stem, path)
    m = importlib.util.module_from_spec(s)
    s.loader.exec_module(m)
    return m


def _one_line(exc) -> str:
    text = exc.args[0]
    assert isinstance(text, str) and "\n" not in text
    return text


def test_per_scalar_module_names_every_missing_parameter_and_the_unknown_ones(tmp_path):
    path = tmp_path / "lecture_grads.py"
    export_module(derive(load_spec(DERIVATIONS / "lecture_2_2_1.toml")), str(path))
    m = _load(path)
    params = m.parameter_template(0.5)
    del params["w^{1}_{1,2}"], params["b^{2}_{1}"]
    params["w_{1,2}^1 "] = 0.5                                  # a misspelling: not a name of this module
    with pytest.raises(KeyError) as info:
        m.gradients(params, [[1, 0]], [[1]])
    text = _one_line(info.value)
    assert text.startswith("params: no value for w^{1}_{1,2}, b^{2}_{1} (2 of 9 missing")
    assert "'w_{1,2}^1 '" in text and "PARAMETERS" in text and "parameter_template()" in text
    for call in (m.loss, m.forward):                           # every entry point says the same
        with pytest.raises(KeyError, match=r"no value for w\^\{1\}_\{1,2\}"):
            call(params, [[1, 0]], [[1]])
    assert set(m.gradients(m.parameter_template(0.5), [[1, 0]], [[1]])) == set(m.PARAMETERS)


def test_graph_module_names_a_missing_input(tmp_path):
    path = tmp_path / "graph_grads.py"
    export_module(derive(load_spec(DERIVATIONS / "computational_graph.toml")), str(path))
    m = _load(path)
    with pytest.raises(KeyError) as info:
        m.gradients({}, {"x": -2.0, "y": 5.0})
    text = _one_line(info.value)
    assert text.startswith("X: no value for z (1 of 3 missing)") and "INPUTS" in text
    # the slides' (x + y)z at x = -2, y = 5, z = -4: f = -12, and it has no parameters
    assert m.loss({}, {"x": -2.0, "y": 5.0, "z": -4.0}) == -12.0


def test_matrix_module_names_the_missing_parameter(tmp_path):
    path = tmp_path / "gender_matrix.py"
    export_matrix_module(load_spec(DERIVATIONS / "gender.toml"), str(path))
    m = _load(path)
    params = m.parameter_template(0.1)
    del params["w^{2}_{1,2}"]
    with pytest.raises(KeyError) as info:
        m.gradients(params, [[1.0, 2.0]], [[1.0]])
    assert "w^{2}_{1,2}" in str(info.value) and "PARAMETERS" in str(info.value)
