r"""The picture subcommands: vanishing, picture, descent.

- ``symbackprop vanishing --depth N [--width W] [--seed S] [--plot FILE] [--json]``: the gradient's
  size ‖∂L/∂W^{k}‖ layer by layer through N hidden layers of sigmoid, tanh and ReLU (same
  weights), and why the sigmoid's vanishes: σ′(z) = a(1 − a) ≤ ¼.
  ``--json`` prints ``{"depth", "width", "seed", "activations", "weight_layers",
  "weight_gradient_norms": {activation: [...]}, "delta_layers", "delta_norms",
  "largest_local_derivative", "loss", "sigmoid_bound": {"maximum", "argmax_z", "steps", "latex"},
  "plot"}``.
- ``symbackprop picture SPEC -o FILE [--example E]``: the computational graph of a spec with
  each node's forward value and upstream gradient ∂L/∂v.
- ``symbackprop descent [-o FILE] [--learning-rate A ...] [--json]``: gradient descent on
  L(w) = (w − w*)² for several learning rates.
"""
from __future__ import annotations

import argparse

from ..errors import SpecError
from . import json_text, SEED, bounded


def _add(sub, name, help_, examples):
    return sub.add_parser(name, help=help_, description=help_,
                          epilog="examples:\n" + "\n".join(f"  {e}" for e in examples),
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def register(sub):
    p = _add(sub, "vanishing", "the vanishing gradient: ‖∂L/∂W‖ layer by layer through sigmoid, tanh and ReLU "
             "layers, and why σ′(z) ≤ ¼",
             ["symbackprop vanishing --depth 10 --plot vanishing.png",
              "symbackprop vanishing --depth 6 --width 2 --json"])
    p.add_argument("--depth", type=int, default=10, help="number of hidden layers (1 to 60; default 10)")
    p.add_argument("--width", type=int, default=8, help="neurons per hidden layer (1 to 16; default 8)")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the weights and the input (default 0)")
    p.add_argument("--plot", metavar="FILE", help="save the picture as .png, .svg or .pdf")
    p.add_argument("--force", action="store_true", help="overwrite the plot file if it exists")
    p.add_argument("--json", action="store_true", help="print the magnitudes and the derivation as JSON")
    p.set_defaults(func=run_vanishing)

    p = _add(sub, "picture", "draw the computational graph of a spec with forward values and gradients",
             ["symbackprop picture derivations/computational_graph.toml -o graph.png",
              "symbackprop picture derivations/gender.toml --example 2 -o gender.svg"])
    p.add_argument("spec", help="spec file (TOML)")
    p.add_argument("-o", "--output", metavar="FILE", required=True, help="picture file: .png, .svg or .pdf")
    p.add_argument("--example", type=int, default=1, help="which example's values to show (default 1)")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    p.set_defaults(func=run_picture)

    p = _add(sub, "descent", "gradient descent on L(w) = (w − w*)² for several learning rates",
             ["symbackprop descent -o learning_rate.png",
              "symbackprop descent --learning-rate 0.1 --learning-rate 1.1 --steps 5 --json"])
    p.add_argument("--learning-rate", type=bounded(float, None, 100.0, positive=True), action="append", metavar="ALPHA",
                   help="a learning rate α (repeatable, at most 6; default 0.05 0.3 0.8 1.05)")
    p.add_argument("--w0", type=bounded(float, -1e6, 1e6), default=0.0, help="the starting point w_0 (default 0)")
    p.add_argument("--w-star", type=bounded(float, -1e6, 1e6), default=3.0, help="the minimum w* (default 3)")
    p.add_argument("--steps", type=int, default=10, help="number of steps (default 10)")
    p.add_argument("-o", "--output", metavar="FILE", help="save the picture as .png, .svg or .pdf")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    p.add_argument("--json", action="store_true", help='print {"learning_rates": {alpha: {"w": [...], "loss": [...]}}}')
    p.set_defaults(func=run_descent)


def _check_new_file(path, force):
    if path:
        from ..lessons.plots import check_writable

        check_writable(path, force)


def run_vanishing(args) -> int:
    from ..lessons.topics import sigmoid_derivative_bound, vanishing_gradient_magnitudes

    _check_new_file(args.plot, args.force)
    if args.seed < 0 or args.seed > 2**32 - 1:
        raise SpecError(f"--seed {args.seed}: expected a whole number from 0 to 4294967295")
    result = vanishing_gradient_magnitudes(args.depth, width=args.width, seed=args.seed)
    bound = sigmoid_derivative_bound(args.depth)
    if args.plot:
        from ..lessons.plots import vanishing_gradient

        vanishing_gradient(args.depth, args.plot, force=args.force, width=args.width, seed=args.seed,
                           result=result)
    if args.json:
        out = result.to_json()
        out["sigmoid_bound"] = {"maximum": str(bound.maximum), "argmax_z": str(bound.argmax_z),
                                "steps": list(bound.steps), "latex": list(bound.latex)}
        out["plot"] = args.plot
        print(json_text(out, indent=2, ensure_ascii=False))
        return 0
    print(result.text(), end="")
    print()
    print("why the sigmoid's gradient vanishes:")
    for line in bound.steps:
        print("  " + line)
    if args.plot:
        print(f"wrote {args.plot}")
    return 0


def run_picture(args) -> int:
    from ..derivation.chain_rule import derive
    from ..lessons.plots import graph_picture
    from ..spec.load import load_spec

    from ..fileio import refuse_inputs

    refuse_inputs([args.output], [args.spec])
    _check_new_file(args.output, args.force)
    d = derive(load_spec(args.spec))
    graph_picture(d, args.output, force=args.force, example=args.example)
    print(f"wrote {args.output}")
    return 0


def run_descent(args) -> int:
    from ..lessons.plots import DEFAULT_LEARNING_RATES, MAX_LEARNING_RATES, learning_rate_descent
    from ..lessons.topics import descent_behaviour, descent_path

    rates = tuple(args.learning_rate) if args.learning_rate else DEFAULT_LEARNING_RATES
    if len(rates) > MAX_LEARNING_RATES:
        raise SpecError(f"--learning-rate given {len(rates)} times; at most {MAX_LEARNING_RATES}")
    _check_new_file(args.output, args.force)
    paths = {a: descent_path(a, w0=args.w0, w_star=args.w_star, steps=args.steps) for a in rates}
    if args.output:
        learning_rate_descent(args.output, rates, w0=args.w0, w_star=args.w_star, steps=args.steps, force=args.force)
    if args.json:
        print(json_text({
            "loss": f"L(w) = (w - {args.w_star:g})^2", "w0": args.w0, "w_star": args.w_star, "steps": args.steps,
            "learning_rates": {f"{a:g}": {"behaviour": descent_behaviour(a),
                                           "w": [float(s.w) for s in p], "loss": [float(s.loss) for s in p]}
                               for a, p in paths.items()},
            "plot": args.output}, indent=2, ensure_ascii=False))
        return 0
    print(f"gradient descent on L(w) = (w − {args.w_star:g})², ∂L/∂w = 2(w − {args.w_star:g}), from w = {args.w0:g}:")
    print("each step multiplies w − w* by 1 − 2α")
    for a, p in paths.items():
        ws = ", ".join(f"{float(s.w):.4g}" for s in p[: min(len(p), 6)])
        more = ", ..." if len(p) > 6 else ""
        print(f"  α = {a:g} (1 − 2α = {1 - 2 * a:g}): {descent_behaviour(a)}; w = {ws}{more}; "
              f"L(w_{len(p) - 1}) = {float(p[-1].loss):.4g}")
    if args.output:
        print(f"wrote {args.output}")
    return 0
