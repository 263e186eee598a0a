"""The chain-rule derivation against independent oracles.

- ``sympy.diff`` of the fully expanded loss, built here from the lecture formulas with
  plain SymPy (exp, log, Piecewise), not from symbackprop's graph: equal exactly at random
  rational points when every function is rational there (identity, ReLU, leaky ReLU with
  squared losses), and to 40 significant digits otherwise (exp of a rational is transcendental);
- the independent NumPy trainer and central finite differences (``check``).
"""
import random

import pytest
import sympy
from sympy import Piecewise, Rational, exp, log

from symbackprop import derive, load_spec, parse_spec
from symbackprop.check.compare import check
from symbackprop.spec.names import bias, feature, symbol, target, weight

from conftest import all_spec_files

ELEMENTARY = {
    "identity": lambda z: z,
    "sigmoid": lambda z: 1 / (1 + exp(-z)),
    "tanh": sympy.tanh,
    "relu": lambda z: Piecewise((z, z > 0), (0, True)),
    "leaky_relu": lambda z: Piecewise((z, z > 0), (z / 100, True)),
    "softplus": lambda z: log(1 + exp(z)),
}
RATIONAL_ACTIVATIONS = {"identity", "relu", "leaky_relu"}


def expanded_loss(layers, activations, loss):
    """L per example, written out from the lecture formulas with plain SymPy."""
    a = [symbol(feature(j)) for j in range(1, layers[0] + 1)]
    for k in range(1, len(layers)):
        z = [sum(symbol(weight(k, i, j)) * a[j - 1] for j in range(1, layers[k - 1] + 1)) + symbol(bias(k, i))
             for i in range(1, layers[k] + 1)]
        name = activations[k - 1]
        if name == "softmax":
            den = sum(exp(zj) for zj in z)
            a = [exp(zi) / den for zi in z]
        else:
            a = [ELEMENTARY[name](zi) for zi in z]
    y = [symbol(target(i)) for i in range(1, layers[-1] + 1)]
    se = sum((yi - ai) ** 2 for yi, ai in zip(y, a))
    return {
        "squared_error": se,
        "half_squared_error": se / 2,
        "mse": se / len(y),
        "bce": -sum(yi * log(ai) + (1 - yi) * log(1 - ai) for yi, ai in zip(y, a)),
        "cross_entropy": -sum(yi * log(ai) for yi, ai in zip(y, a)),
    }[loss]


def random_network(rng: random.Random):
    depth = rng.randint(2, 5)  # 1 to 4 weight layers
    layers = [rng.randint(1, 3 if depth <= 3 else 2) for _ in range(depth)]
    hidden = [rng.choice(sorted(ELEMENTARY)) for _ in range(depth - 2)]
    loss = rng.choice(["squared_error", "half_squared_error", "mse", "bce", "cross_entropy"])
    if loss == "bce":
        out = "sigmoid"
    elif loss == "cross_entropy":
        out = "softmax"
        layers[-1] = max(layers[-1], 2)
    else:
        out = rng.choice(sorted(ELEMENTARY))
    return layers, hidden + [out], loss


def spec_text(layers, activations, loss, reduction="mean"):
    return (f"[network]\nlayers = {layers}\nactivations = {activations!r}\nloss = {loss!r}\n"
            f"reduction = {reduction!r}\n[parameters]\nseed = 3\n").replace("'", '"')


def random_point(rng, leaves, loss):
    point = {}
    for s in leaves:
        if s.name.startswith("y_"):
            point[s] = Rational(rng.randint(1, 9), 10) if loss in ("bce", "cross_entropy") else Rational(rng.randint(-9, 9), 4)
        else:
            point[s] = Rational(rng.choice([-1, 1]) * rng.randint(1, 40), rng.randint(3, 17))
    return point


NETWORKS = [random_network(random.Random(seed)) for seed in range(24)]


@pytest.mark.parametrize("layers,activations,loss", NETWORKS, ids=lambda v: str(v).replace(" ", ""))
def test_chain_rule_equals_sympy_diff_of_the_expanded_loss(layers, activations, loss):
    d = derive(parse_spec(spec_text(layers, activations, loss)))
    full = expanded_loss(layers, activations, loss)
    rng = random.Random(str((layers, activations, loss)))
    leaves = sorted(full.free_symbols, key=lambda s: s.name)
    exact = set(activations) <= RATIONAL_ACTIVATIONS and loss not in ("bce", "cross_entropy")
    for _ in range(2):
        point = random_point(rng, leaves, loss)
        for name in d.parameters:
            oracle = sympy.diff(full, symbol(name)).xreplace(point)
            ours = d.expanded_gradient(name).xreplace(point)
            if exact:
                assert ours.is_Rational and oracle.is_Rational, (name, ours, oracle)
                assert ours == oracle, name
            else:
                o, u = sympy.N(oracle, 50), sympy.N(ours, 50)
                assert abs(o - u) <= Rational(1, 10**40) * max(1, abs(o)), (name, o, u)


@pytest.mark.parametrize("layers,activations,loss", NETWORKS[:20], ids=lambda v: str(v).replace(" ", ""))
def test_lambdified_gradients_equal_trainer_and_finite_differences(layers, activations, loss):
    for reduction in ("mean", "sum"):
        d = derive(parse_spec(spec_text(layers, activations, loss, reduction)))
        report = check(d, trials=2, seed=7)
        assert report.ok, "\n".join(report.lines())
        assert {c.oracle for c in report.comparisons} == {"trainer backprop", "finite differences"}


def _small(path) -> bool:
    from symbackprop.derivation.matrix_form import parameter_count

    spec = load_spec(path)
    return spec.network is None or parameter_count(spec.network.layers) <= 200


@pytest.mark.parametrize("path", all_spec_files(), ids=lambda p: p.stem)
def test_every_lecture_spec_passes_check(path):
    if _small(path):
        report = check(derive(load_spec(path)), trials=2)
    else:  # the 784-128-10 network: matrix form, sampled finite differences
        from symbackprop.check.matrix import check_matrix

        report = check_matrix(load_spec(path), trials=1)
    assert report.ok, "\n".join(report.lines())


@pytest.mark.parametrize("path", [p for p in all_spec_files() if _small(p)], ids=lambda p: p.stem)
def test_every_lecture_spec_matches_sympy_diff_of_its_expanded_output(path):
    """For each spec: ∂(output)/∂leaf by the chain rule equals sympy.diff of the output fully substituted."""
    spec = load_spec(path)
    d = derive(spec)
    if spec.mode == "network":
        layers = list(spec.network.layers)
        full = expanded_loss(layers, list(spec.network.activations), spec.network.loss)
        if spec.network.shared_biases:  # one bias per layer: every b^{k}_{i} of the formulas is b^{k}
            full = full.xreplace({symbol(bias(k, i)): sympy.Symbol(f"b^{{{k}}}", real=True)
                                  for k in range(1, len(layers)) for i in range(1, layers[k] + 1)})
    else:
        from symbackprop.ops.functions import rewrite_elementary

        full = rewrite_elementary(d.graph.substitute(d.graph.node(d.graph.output).symbol))
    rng = random.Random(path.stem)
    leaves = sorted(full.free_symbols, key=lambda s: s.name)
    point = random_point(rng, leaves, spec.network.loss if spec.network else "")
    for leaf in leaves:
        oracle = sympy.N(sympy.diff(full, leaf).xreplace(point), 50)
        ours = sympy.N(d.expanded_gradient(leaf.name).xreplace(point), 50)
        assert abs(oracle - ours) <= Rational(1, 10**40) * max(1, abs(oracle)), leaf


def test_invariant_reduction_mean_is_sum_over_n():
    """J_mean = J_sum / n, so every gradient scales by exactly 1/n (exact arithmetic)."""
    base = spec_text([2, 2, 1], ["relu", "identity"], "squared_error")
    data = "[data]\nx = [[1, 2], [3, -1], [0, 5]]\ny = [[1], [2], [3]]\n"
    mean = derive(parse_spec(base + data)).exact_gradients()
    total = derive(parse_spec(base.replace('"mean"', '"sum"') + data)).exact_gradients()
    assert mean and all(total[k] == 3 * mean[k] for k in mean)


def _n_params(layers):
    return sum(layers[k] * layers[k + 1] + layers[k + 1] for k in range(len(layers) - 1))


SMOOTH = [net for net in NETWORKS if not set(net[1]) & {"relu", "leaky_relu"} and _n_params(net[0]) <= 10]


@pytest.mark.parametrize("layers,activations,loss", SMOOTH + [([2, 2, 1], ["sigmoid", "sigmoid"], "half_squared_error"),
                                                             ([2, 2, 1], ["sigmoid", "sigmoid"], "bce")],
                         ids=lambda v: str(v).replace(" ", ""))
def test_chain_rule_equals_sympy_diff_symbolically(layers, activations, loss):
    """Decided symbolically, not at points: simplify(ours − sympy.diff(expanded loss)) == 0 for every parameter."""
    from symbackprop.ops.functions import rewrite_elementary

    d = derive(parse_spec(spec_text(layers, activations, loss)))
    full = expanded_loss(layers, activations, loss)
    for name in d.parameters:
        ours = rewrite_elementary(d.expanded_gradient(name))
        assert sympy.simplify(ours - sympy.diff(full, symbol(name))) == 0, name
