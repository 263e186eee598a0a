"""The pictures: each one is drawn, saved as PNG, read back and looked at (not blank, the right
number of curves or nodes), saved twice as SVG (byte-identical), and its numbers are checked
against an independent oracle (the lectures' numbers, a hand-written forward and backward pass,
the independent NumPy trainer, closed forms)."""
from __future__ import annotations

import json
import math
import os

import matplotlib.image
import numpy as np
import pytest
import sympy

from symbackprop import derive, load_spec

from symbackprop.lessons import plots, topics

from symbackprop.check import trainer
from symbackprop.cli.__init__ import main
from symbackprop.errors import NotSupportedError, SpecError, SymbackpropError
from symbackprop.spec.load import spec_from_dict


def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def shown_number(text: str) -> float:
    """'−3.489·10⁻⁴' -> -0.0003489 (the pictures' number format, read back independently)."""
    text = text.replace("−", "-")
    if "·10" in text:
        mantissa, power = text.split("·10")
        power = power.translate(str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-"))
        return float(mantissa) * 10.0 ** int(power)
    return float(text)


def png_pixels(path):
    img = matplotlib.image.imread(os.fspath(path))
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    return img[..., :3]


def assert_not_blank(path, min_ink=0.01):
    """At least ``min_ink`` of the pixels are not white, and the picture has more than a few colours."""
    rgb = png_pixels(path)
    ink = np.mean(np.any(rgb < 0.95, axis=2))
    assert ink > min_ink, f"{path} is (nearly) blank: {ink:.4f} of the pixels are inked"
    q = (rgb[::2, ::2] * 255).astype(np.uint32)
    colours = np.unique((q[..., 0] << 16) | (q[..., 1] << 8) | q[..., 2])
    assert len(colours) > 20


def contains_colour(path, hex_colour, tol=0.03, at_least=50):
    rgb = png_pixels(path)
    want = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    return int(np.sum(np.all(np.abs(rgb - want) < tol, axis=2))) >= at_least


def assert_svg_deterministic(fig, tmp_path, name):
    a, b = tmp_path / f"{name}-a.svg", tmp_path / f"{name}-b.svg"
    plots.save_figure(fig, a)
    plots.save_figure(fig, b)
    data = a.read_bytes()
    assert data == b.read_bytes()
    assert b"<dc:date>" not in data and b"Matplotlib v" not in data
    return data


# ---------------------------------------------------------------------------------------------
# the loss curve
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gender_history():
    d = derive(load_spec("derivations/gender.toml"))
    from symbackprop.check.compare import network_from_graph, to_matrices
    from symbackprop.compile.numpy_backend import spec_data, spec_parameters

    X, Y = spec_data(d)
    result = trainer.train(network_from_graph(d), to_matrices(d, spec_parameters(d)), X, Y,
                           learning_rate=0.1, epochs=300)
    return result.loss_history


def test_loss_curve_draws_one_curve_with_the_history(tmp_path, gender_history):
    path = tmp_path / "loss.png"
    fig = plots.loss_curve(gender_history, path, title="Gender")
    (ax,) = fig.axes
    assert len(ax.lines) == 1
    x, y = ax.lines[0].get_data()
    assert list(x) == list(range(301))
    np.testing.assert_array_equal(y, np.array(gender_history))
    assert ax.get_title() == "Gender"
    assert_not_blank(path)
    assert contains_colour(path, plots._CYCLE[0])


def test_loss_curve_is_deterministic_in_every_format(tmp_path, gender_history):
    fig = plots.loss_curve_figure(gender_history, "Gender")
    assert_svg_deterministic(fig, tmp_path, "loss")
    for fmt in ("png", "pdf"):
        assert plots.figure_bytes(fig, fmt) == plots.figure_bytes(plots.loss_curve_figure(gender_history, "Gender"),
                                                                  fmt)
    assert b"CreationDate" not in plots.figure_bytes(fig, "pdf")


def test_loss_curve_log_scale_when_the_loss_falls_far():
    assert plots.loss_curve_figure([1.0, 0.1, 0.001]).axes[0].get_yscale() == "log"
    assert plots.loss_curve_figure([1.0, 0.5]).axes[0].get_yscale() == "linear"


def test_writing_refuses_to_overwrite_and_is_atomic(tmp_path):
    path = tmp_path / "loss.svg"
    plots.loss_curve([3, 2, 1], path)
    first = path.read_bytes()
    with pytest.raises(SymbackpropError, match="exists; pass force=True"):
        plots.loss_curve([5, 4], path)
    assert path.read_bytes() == first
    plots.loss_curve([5, 4], path, force=True)
    assert path.read_bytes() != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loss.svg"]  # no temporary file left behind


@pytest.mark.parametrize("history, message", [([], "empty"), ([1.0, float("nan")], "non-finite"),
                                              (["a"], "list of numbers")])
def test_loss_curve_bad_history(tmp_path, history, message):
    with pytest.raises(SpecError, match=message):
        plots.loss_curve(history, tmp_path / "x.png")


def test_picture_file_names(tmp_path):
    with pytest.raises(SpecError, match=r"\.png, \.svg or \.pdf"):
        plots.loss_curve([1, 0.5], tmp_path / "x.gif")
    with pytest.raises(SymbackpropError, match="does not exist"):
        plots.loss_curve([1, 0.5], tmp_path / "no" / "x.png")


def test_train_plot_cli(tmp_path, capsys):
    path = tmp_path / "train.png"
    assert main(["train", "derivations/gender.toml", "--epochs", "50", "--plot", str(path)]) == 0
    assert_not_blank(path)
    assert main(["train", "derivations/gender.toml", "--epochs", "50", "--plot", str(path)]) == 2
    assert "--force" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# the computational graph
# ---------------------------------------------------------------------------------------------

def node_patches(fig):
    (ax,) = fig.axes
    return {p.get_gid()[5:]: p for p in ax.patches if (p.get_gid() or "").startswith("node:")}


def edge_patches(fig):
    (ax,) = fig.axes
    return [p.get_gid() for p in ax.patches if (p.get_gid() or "").startswith("edge:")]


def texts(fig):
    return [t.get_text() for t in fig.axes[0].texts]


def test_graph_picture_of_the_slides_graph(tmp_path):
    """f = (x + y) z at x = -2, y = 5, z = -4: q = 3, f = -12, df/dx = df/dy = -4, df/dz = 3 (the slides)."""
    d = derive(load_spec("derivations/computational_graph.toml"))
    path = tmp_path / "graph.png"
    fig = plots.graph_picture(d, path)
    assert set(node_patches(fig)) == {"x", "y", "z", "q", "f"}
    assert sorted(edge_patches(fig)) == sorted(["edge:x->q", "edge:y->q", "edge:q->f", "edge:z->f"])
    shown = texts(fig)
    for value in ("= −2", "= 5", "= −4", "= 3", "= −12"):
        assert value in shown
    slides = {"x": "−4", "y": "−4", "z": "3", "q": "−4", "f": "1"}
    for name, grad in slides.items():
        assert rf"$\partial f/\partial {name}$ = {grad}" in shown
    assert_not_blank(path)
    assert contains_colour(path, plots.COLORS["gradient"], at_least=20)


def test_graph_picture_of_the_lecture_network(tmp_path):
    """The 2-2-1 network: one box per node of the graph, the lecture's numbers on them."""
    d = derive(load_spec("derivations/lecture_2_2_1.toml"))
    layers = [2, 2, 1]
    n_params = sum(layers[k] * layers[k + 1] + layers[k + 1] for k in range(len(layers) - 1))
    n_nodes = layers[0] + n_params + layers[-1] + 2 * sum(layers[1:]) + 1  # x, θ, y, z and a, L
    path = tmp_path / "lecture.png"
    fig = plots.graph_picture(d, path)
    assert len(node_patches(fig)) == n_nodes == 19
    assert len(edge_patches(fig)) == sum(len(n.parents) for n in d.graph.nodes)
    # the forward pass by hand: z^{2} = 2, a^{2} = σ(2), z^{3} = 1 + 2σ(2), ŷ = σ(z^{3})
    a2 = sigmoid(2)
    z3 = 1 + 2 * a2
    yhat = sigmoid(z3)
    shown = texts(fig)
    for v in (a2, z3, yhat, 0.5 * (1 - yhat) ** 2):
        assert f"= {v:.4g}" in shown
    # ∂L/∂w^{1}_{1,1} by central finite differences of the loss written out by hand
    def loss(w):
        return 0.5 * (1 - sigmoid(sigmoid(w * 1 + 1) + sigmoid(2) + 1)) ** 2
    h = 1e-5
    fd = (loss(1 + h) - loss(1 - h)) / (2 * h)
    label = [t for t in shown if t.startswith(r"$\partial L/\partial w^{1}_{1,1}$")]
    assert len(label) == 1
    assert shown_number(label[0].split("= ")[1]) == pytest.approx(fd, rel=1e-3)
    assert_not_blank(path)


def test_graph_picture_shows_the_chosen_example(tmp_path):
    d = derive(load_spec("derivations/linear_regression.toml"))
    fig = plots.graph_picture_figure(d, example=3)      # x = 3, y = 7 at w = b = 0
    shown = texts(fig)
    assert "= 3" in shown and "= 7" in shown
    assert r"$\partial L/\partial \hat{y}$ = −14" in shown   # 2(ŷ − y) = −14
    assert any("example 3 of 4" in t for t in shown)
    with pytest.raises(SpecError, match="example 5 does not exist"):
        plots.graph_picture_figure(d, example=5)


def test_graph_picture_is_deterministic(tmp_path):
    d = derive(load_spec("derivations/computational_graph.toml"))
    assert_svg_deterministic(plots.graph_picture_figure(d), tmp_path, "graph")


def test_graph_picture_refuses_large_graphs(tmp_path):
    spec = spec_from_dict({"network": {"layers": [4, 8, 8, 1], "activations": "sigmoid", "loss": "bce"}},
                          source="big.toml")
    with pytest.raises(NotSupportedError, match="at most 80"):
        plots.graph_picture(derive(spec), tmp_path / "big.png")
    assert not (tmp_path / "big.png").exists()


def test_mathtext_names():
    assert plots.mathtext_name("w^{1}_{1,2}") == "$w^{1}_{1,2}$"
    assert plots.mathtext_name("yhat") == r"$\hat{y}$"
    assert plots.mathtext_name("alpha") == r"$\alpha$"
    assert plots.mathtext_name("loss") == r"$\mathrm{loss}$"


def test_picture_cli(tmp_path, capsys):
    path = tmp_path / "g.svg"
    assert main(["picture", "derivations/computational_graph.toml", "-o", str(path)]) == 0
    assert path.read_bytes().startswith(b"<?xml")
    assert main(["picture", "derivations/computational_graph.toml", "-o", str(path)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["picture", "derivations/computational_graph.toml", "-o", str(path), "--force"]) == 0


# ---------------------------------------------------------------------------------------------
# the vanishing gradient
# ---------------------------------------------------------------------------------------------

def trainer_norms(depth, width, activation, seed=0):
    """‖∂L/∂W_k‖ from the independent trainer on the same network (W_k[j, i] = w^{k}_{i,j})."""
    table = topics.vanishing_spec(depth, activation, width=width, seed=seed)
    params = [(np.array(w, dtype=float).T, np.zeros((1, len(w)))) for w in table["parameters"]["weights"]]
    net = trainer.Network(table["network"]["layers"], table["network"]["activations"], "half_squared_error")
    grads = trainer.gradients(net, params, np.array(table["data"]["x"], dtype=float), np.array([[1.0]]))
    return [float(np.linalg.norm(dW)) for dW, _ in grads]


@pytest.fixture(scope="module")
def vanishing6():
    """Six hidden layers of width 8 (seed 0), derived by symbackprop for each activation."""
    return topics.vanishing_gradient_magnitudes(6, width=8, seed=0)


def test_vanishing_magnitudes_agree_with_the_trainer(vanishing6):
    for act in ("sigmoid", "tanh", "relu"):
        ours = vanishing6.weight_gradient_norms[act]
        assert len(ours) == 7
        np.testing.assert_allclose(ours, trainer_norms(6, 8, act, seed=0), rtol=1e-9, atol=1e-300)


@pytest.mark.parametrize("activation, derivative", [
    ("sigmoid", lambda z: sigmoid(z) * (1 - sigmoid(z))),
    ("tanh", lambda z: 1 - math.tanh(z) ** 2),
])
def test_vanishing_chain_is_the_product_of_local_derivatives(activation, derivative):
    """One neuron per layer: ∂L/∂w^{k} = a^{k} · δ^{k+1}, δ^{k} = g'(z^{k}) · w^{k} · δ^{k+1}, by hand."""
    depth = 5
    table = topics.vanishing_spec(depth, activation, width=1, seed=3)
    w = [m[0][0] for m in table["parameters"]["weights"]]        # w^{1} .. w^{depth+1}
    g = math.tanh if activation == "tanh" else sigmoid
    a, zs = [table["data"]["x"][0][0]], []
    for k in range(depth):
        zs.append(w[k] * a[-1])
        a.append(g(zs[-1]))
    yhat = w[depth] * a[-1]                                        # linear output
    delta = yhat - 1.0                                             # ∂L/∂ŷ for ½(y − ŷ)², y = 1
    expected = [0.0] * (depth + 1)
    expected[depth] = abs(a[depth] * delta)
    for k in range(depth - 1, -1, -1):
        delta = derivative(zs[k]) * w[k + 1] * delta
        expected[k] = abs(a[k] * delta)
    result = topics.vanishing_gradient_magnitudes(depth, width=1, seed=3, activations=(activation,))
    np.testing.assert_allclose(result.weight_gradient_norms[activation], expected, rtol=1e-9)


def test_vanishing_sigmoid_shrinks_and_the_others_do_not(vanishing6):
    result = vanishing6
    n = result.weight_gradient_norms
    assert n["sigmoid"][0] / n["sigmoid"][-1] < 1e-2
    for act in ("tanh", "relu"):
        assert n[act][0] / n[act][-1] > 1e-1
    assert max(result.largest_local_derivative["sigmoid"]) <= 0.25
    assert max(result.largest_local_derivative["tanh"]) <= 1.0
    assert set(result.largest_local_derivative["relu"]) <= {0.0, 1.0}


def test_the_sigmoid_bound_is_derived_and_true():
    bound = topics.sigmoid_derivative_bound(10)
    assert bound.maximum == sympy.Rational(1, 4) and bound.argmax_z == 0
    z = np.linspace(-20, 20, 400_001)                       # includes z = 0
    s = 1 / (1 + np.exp(-z))
    assert np.max(s * (1 - s)) == pytest.approx(0.25, abs=1e-15)
    assert np.all(s * (1 - s) <= 0.25)
    assert "1/1048576" in bound.text().replace(" ", "") or "1048576" in bound.text()
    assert len(bound.latex) == 5


def test_vanishing_figure(tmp_path, vanishing6):
    small_vanishing = vanishing6
    path = tmp_path / "vanishing.png"
    fig = plots.vanishing_gradient(6, path, width=8, seed=0, result=small_vanishing)
    left, right = fig.axes
    assert len(left.lines) == 4                      # σ', tanh', ReLU' and the line 1/4
    assert len(right.lines) == 3                     # one curve per activation
    for line, act in zip(right.lines, ("sigmoid", "tanh", "relu")):
        x, y = line.get_data()
        assert list(x) == [1, 2, 3, 4, 5, 6, 7]
        mags = np.array(small_vanishing.weight_gradient_norms[act])
        np.testing.assert_array_equal(np.nan_to_num(y), np.where(mags > 0, mags, 0))
    assert right.get_yscale() == "log"
    np.testing.assert_allclose(left.lines[3].get_ydata(), 0.25)
    assert_not_blank(path)
    for act in ("sigmoid", "tanh", "relu"):
        assert contains_colour(path, plots.COLORS[act])
    assert_svg_deterministic(plots.vanishing_gradient_figure(small_vanishing), tmp_path, "vanishing")


def test_vanishing_limits():
    with pytest.raises(SpecError, match="from 1 to 60"):
        topics.vanishing_gradient_magnitudes(0)
    with pytest.raises(SpecError, match="width"):
        topics.vanishing_gradient_magnitudes(3, width=17)
    with pytest.raises(SpecError, match="parameters"):
        topics.vanishing_gradient_magnitudes(60, width=16)


def test_vanishing_cli(tmp_path, capsys):
    path = tmp_path / "v.svg"
    assert main(["vanishing", "--depth", "3", "--width", "2", "--plot", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["weight_layers"] == [1, 2, 3, 4]
    assert set(out["weight_gradient_norms"]) == {"sigmoid", "tanh", "relu"}
    np.testing.assert_allclose(out["weight_gradient_norms"]["tanh"], trainer_norms(3, 2, "tanh"), rtol=1e-9)
    assert out["sigmoid_bound"]["maximum"] == "1/4"
    assert path.exists()
    assert main(["vanishing", "--depth", "2", "--width", "2"]) == 0
    text = capsys.readouterr().out
    assert "a(1 − a) = ¼ − (a − ½)²" in text and "layer k" in text
    assert main(["vanishing", "--depth", "99"]) == 2
    assert "from 1 to 60" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# the learning rate
# ---------------------------------------------------------------------------------------------

def test_learning_rate_figure(tmp_path):
    rates = (0.05, 0.3, 0.8, 1.05)
    path = tmp_path / "lr.png"
    fig = plots.learning_rate_descent(path, rates, w0=0, w_star=3, steps=10)
    *minis, right = fig.axes
    assert len(minis) == len(rates) and len(right.lines) == len(rates)
    for ax in minis:
        assert len(ax.lines) == 2                    # the parabola and the path on it
    for line, alpha in zip(right.lines, rates):
        t, loss = line.get_data()
        closed_form = [9 * (1 - 2 * alpha) ** (2 * k) for k in range(11)]     # (w0 − w*)² (1 − 2α)^{2t}
        np.testing.assert_allclose(loss, closed_form, rtol=1e-12)
    assert right.get_yscale() == "log"
    assert_not_blank(path)
    assert_svg_deterministic(plots.learning_rate_figure(rates), tmp_path, "lr")


def test_descent_cli(tmp_path, capsys):
    assert main(["descent", "--learning-rate", "0.25", "--learning-rate", "1.5", "--steps", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["learning_rates"]["0.25"]["w"] == [0.0, 1.5, 2.25, 2.625]       # halves the distance to 3
    assert out["learning_rates"]["1.5"]["w"] == [0.0, 9.0, -9.0, 27.0]          # × (1 − 3) = −2 per step
    assert "diverges" in out["learning_rates"]["1.5"]["behaviour"]
    path = tmp_path / "d.png"
    assert main(["descent", "-o", str(path)]) == 0
    assert_not_blank(path)


@pytest.mark.parametrize("command", ["vanishing", "picture", "descent"])
def test_help_shows_an_example(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert f"examples:\n  symbackprop {command}" in capsys.readouterr().out


def test_graph_picture_subtitle_names_the_graphs_own_output(tmp_path):
    """A graph whose output is g2 (not a loss L): the subtitle speaks of ∂g2/∂v, and the drawn
    gradient of g2's input f is ∂g2/∂f = 1/2 − 10/f² at f = 49 (by hand: 0.4958)."""
    spec = tmp_path / "g2.toml"
    spec.write_text('title = "output g2"\n[graph]\nequations = ["e = c - d", "f = e^2", "g1 = f/2", "g2 = g1 + 10/f"]\n'
                    "[data]\nc = -1\nd = 6\n")
    fig = plots.graph_picture(derive(load_spec(spec)), tmp_path / "g2.png")
    shown = texts(fig)
    assert any("∂g2/∂v" in t for t in shown), shown
    assert not any("∂L/∂v" in t for t in shown)
    assert any(t.startswith(r"$\partial g2/\partial f$ = 0.49") for t in shown), shown
