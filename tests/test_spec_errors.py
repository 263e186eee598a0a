"""Bad specs give one clear line naming the file, the key and what is allowed; nothing executes."""
import os

import pytest

from symbackprop import SpecError, load_spec, parse_spec
from symbackprop.cli.__init__ import main

GOOD = """
[network]
layers = [2, 2, 1]
activations = ["sigmoid", "sigmoid"]
loss = "half_squared_error"
[parameters]
weights = 1.0
biases = 1.0
[data]
x = [[1, 0]]
y = [[1]]
"""


def bad(old, new):
    assert old in GOOD
    return GOOD.replace(old, new)


@pytest.mark.parametrize("text,expected", [
    (bad('"sigmoid", "sigmoid"', '"sigmod", "sigmoid"'), "unknown activation 'sigmod' in [network].activations; did you mean 'sigmoid'?"),
    (bad('"half_squared_error"', '"half_squared_eror"'), "did you mean 'half_squared_error'?"),
    (bad("layers = [2, 2, 1]", "layers = [2, -2, 1]"), "[network].layers[1]: -2 is out of range"),
    (bad("layers = [2, 2, 1]", 'layers = "221"'), "[network].layers: expected a list"),
    (bad("weights = 1.0", "weights = [[[1, 1]], [[1, 1]]]"), "[parameters].weights[0]: expected a 2x2 matrix"),
    (bad("weights = 1.0", 'weights = "one"'), "[parameters].weights: expected one number"),
    (bad("x = [[1, 0]]", "x = [[1, 0, 3]]"), "[data].x[0]: expected 2 inputs"),
    (bad("x = [[1, 0]]", 'x = [[1, "a"]]'), "[data].x[0][1]: expected a number"),
    (bad("y = [[1]]", "y = [[1], [2]]"), "x has 1 rows but y has 2"),
    (bad("[data]", "[dta]"), "dta: unknown key; did you mean 'data'?"),
    (bad("loss =", "los ="), "[network].los: unknown key; did you mean 'loss'?"),
    (bad('"sigmoid", "sigmoid"', '"softmax", "sigmoid"'), "softmax is allowed only on the output layer"),
    (bad('"half_squared_error"', '"cross_entropy"'), "cross_entropy needs a softmax output layer"),
    (bad('"sigmoid", "sigmoid"', '"sigmoid", "tanh"').replace('"half_squared_error"', '"bce"'),
     "[network].loss: bce needs outputs in (0, 1): use a 'sigmoid' output layer"),
    (bad('"sigmoid", "sigmoid"', '"sigmoid", "softmax"').replace('"half_squared_error"', '"cross_entropy"'),
     "[network].activations[1]: softmax on a layer of 1 node: a softmax over one node is always 1"),
    (bad("weights = 1.0", "weights = nan"), "expected a finite number"),
    ("[network\nlayers = 1", "not valid TOML"),
    ("title = 3\n" + GOOD, "title: expected a string"),
])
def test_bad_spec_messages(text, expected):
    with pytest.raises(SpecError) as err:
        parse_spec(text, source="course.toml")
    message = str(err.value)
    assert message.startswith("course.toml: ") and expected in message, message
    assert "\n" not in message


def test_the_pairing_rules_come_from_the_registry_and_allow_what_they_should():
    from symbackprop.ops.activations import get_activation
    from symbackprop.ops.losses import get_loss

    assert get_loss("bce").needs_pair and get_loss("cross_entropy").needs_pair and not get_loss("mse").needs_pair
    assert get_activation("softmax").min_width == 2 and get_activation("sigmoid").min_width == 1
    ok = parse_spec(bad('"sigmoid", "sigmoid"', '"relu", "sigmoid"').replace('"half_squared_error"', '"bce"'))
    assert ok.network.loss == "bce" and ok.network.activations == ("relu", "sigmoid")
    two = GOOD.replace("[2, 2, 1]", "[2, 2, 2]").replace('"sigmoid", "sigmoid"', '"tanh", "softmax"')
    two = two.replace('"half_squared_error"', '"cross_entropy"').replace("y = [[1]]", "y = [[0, 1]]")
    assert parse_spec(two).network.layers == (2, 2, 2)


def test_graph_equation_errors_name_the_equation_and_column():
    with pytest.raises(SpecError) as err:
        from symbackprop import derive

        derive(parse_spec('[graph]\nequations = ["q = x + ", "f = q * z"]\n', source="g.toml"))
    assert "g.toml: [graph].equations[0]" in str(err.value)


def test_hostile_equation_executes_nothing(tmp_path):
    from symbackprop import derive

    marker = tmp_path / "pwned"
    text = f'[graph]\nequations = ["f = __import__(\'os\').system(\'touch {marker}\')"]\n'
    with pytest.raises(SpecError):
        derive(parse_spec(text, source="evil.toml"))
    assert not marker.exists()


def test_cli_bad_spec_prints_one_line_and_exits_2(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(bad('"sigmoid", "sigmoid"', '"sigmod", "sigmoid"'))
    assert main(["grad", str(path), "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "did you mean 'sigmoid'" in err and str(path) in err
    assert main(["grad", str(tmp_path / "missing.toml")]) == 2
    assert "cannot read the spec file" in capsys.readouterr().err


def test_unknown_wrt_is_a_clear_error(capsys):
    root = os.path.dirname(os.path.dirname(__file__))
    assert main(["derive", os.path.join(root, "derivations", "lecture_2_2_1.toml"), "--wrt", "w^{1}_{1,3}"]) == 2
    assert "unknown name 'w^{1}_{1,3}'" in capsys.readouterr().err


def test_load_spec_rejects_binary(tmp_path):
    p = tmp_path / "x.toml"
    p.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SpecError, match="not UTF-8"):
        load_spec(p)
