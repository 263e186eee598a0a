"""The core subcommands: derive, grad, check, train, export."""
from __future__ import annotations

import argparse
import sys

import numpy as np
import sympy

from ..derivation.chain_rule import derive
from ..derivation.matrix_form import MATRIX_MIN_PARAMETERS, parameter_count, uses_matrix_form
from ..errors import SymbackpropError
from ..fileio import refuse_inputs
from ..spec.load import load_spec
from . import json_text, DECIMALS, MAX_EPOCHS, MAX_TRIALS, SEED, bounded


def _add(sub, name, help_, example):
    return sub.add_parser(name, help=help_, description=help_, epilog=f"example:\n  {example}",
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def register(sub):
    p = _add(sub, "derive", "derive dL/dw by the chain rule: paths, local derivatives, products, result",
             'symbackprop derive derivations/lecture_2_2_1.toml --wrt "w^{1}_{1,1}"')
    p.add_argument("spec", help="spec file (TOML)")
    p.add_argument("--wrt", action="append", metavar="NAME", help="parameter or node (repeatable; default: all parameters)")
    p.add_argument("--latex", action="store_true", help="write the step-by-step derivation as LaTeX")
    p.add_argument("--fragment", action="store_true", help="with --latex: no preamble, for your own document")
    p.add_argument("--decimals", type=DECIMALS, default=2, help="decimals shown for numbers (0 to 12; default 2, as the lectures)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    p.set_defaults(func=run_derive)

    p = _add(sub, "grad", "gradients of the reduced loss at the spec's parameters and data",
             "symbackprop grad derivations/lecture_2_2_1.toml --json")
    p.add_argument("spec")
    p.add_argument("--json", action="store_true", help="print JSON: loss, values, gradients, node_gradients")
    p.add_argument("--matrices", action="store_true", help="(matrix notation) also report whole matrices")
    p.add_argument("--wrt", action="append", metavar="NAME",
                   help="only this parameter's or node's gradient (repeatable; any spelling verify --wrt reads)")
    p.set_defaults(func=run_grad)

    p = _add(sub, "check", "check our gradients against the independent trainer and finite differences",
             "symbackprop check derivations/gender.toml")
    p.add_argument("spec")
    p.add_argument("--trials", type=bounded(int, 0, MAX_TRIALS), default=3,
                   help=f"random parameter draws (0 to {MAX_TRIALS}; default 3)")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the random draws (0 to 4294967295; default 0)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_check)

    p = _add(sub, "train", "train the network with the independent NumPy trainer (gradient descent)",
             "symbackprop train derivations/gender.toml --epochs 1000 --json")
    p.add_argument("spec")
    p.add_argument("--epochs", type=bounded(int, 0, MAX_EPOCHS), help=f"override [training].epochs (0 to {MAX_EPOCHS})")
    p.add_argument("--learning-rate", type=bounded(float, None, 1e6, positive=True),
                   help="override [training].learning_rate (finite, > 0, at most 1e6)")
    p.add_argument("--json", action="store_true", help='print {"loss_history": [...], "parameters": {...}}')
    p.add_argument("--plot", metavar="FILE", help="save the loss curve as PNG or SVG")
    p.add_argument("--force", action="store_true", help="overwrite the plot file if it exists")
    bar = p.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="always show the per-epoch progress bar on stderr (default: only on a terminal)")
    bar.add_argument("--no-progress", dest="progress", action="store_false", help="never show it")
    p.set_defaults(func=run_train)

    p = _add(sub, "export", "write the gradients as a standalone Python module that needs only NumPy",
             "symbackprop export derivations/lecture_2_2_1.toml -o lecture_grads.py")
    p.add_argument("spec")
    p.add_argument("-o", "--output", metavar="FILE.py", required=True)
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=run_export)


def _emit(text: str, output: str | None, force: bool):
    if output:
        from ..fileio import write_atomic

        write_atomic(output, text, force=force)
        print(f"wrote {output}")  # as worksheet, export and train do: the text went to the file
    else:
        sys.stdout.write(text)
        if not text.endswith("\n"):
            sys.stdout.write("\n")


def index_targets(d, wrts, option: str = "--wrt") -> list:
    """The canonical names of ``wrts`` (every spelling ``verify --wrt`` reads, by its own reader), each
    once, in the order given: ``--wrt`` repeated derives each name."""
    wrts = list(wrts)
    if all(isinstance(w, str) and w in d.graph.by_name for w in wrts):
        return list(dict.fromkeys(wrts))
    from ..verify.checker import AnswerChecker
    from ..verify.wrt import resolve_wrt

    checker = AnswerChecker(d)
    return list(dict.fromkeys(resolve_wrt(checker, w, option=option) for w in wrts))


def matrix_targets(spec, md, wrts, option: str = "--wrt") -> list:
    """For a matrix spec: each of ``wrts`` as a name the matrix derivation places (an index entry
    such as ``w^{1}_{1,1}``, or a gradient matrix such as ``dW_2``), read as ``verify --wrt`` reads it."""
    wrts = list(wrts)
    if all(isinstance(w, str) and w in md.matrices for w in wrts):  # canonical matrix names: nothing to read
        try:
            md.steps_for(wrts)
            return list(dict.fromkeys(wrts))
        except SymbackpropError:
            pass  # x, y: the reader below says what to write instead
    from ..verify.checker import AnswerChecker
    from ..verify.wrt import resolve_matrix_wrt

    checker = AnswerChecker(spec)
    return list(dict.fromkeys(resolve_matrix_wrt(checker, md, w, option=option) for w in wrts))


def derivation_text(d, wrt=None, decimals=2) -> str:
    """The chain rule for each parameter as plain text (see :mod:`symbackprop.render.text`)."""
    from ..render.text import derivation_text as text

    return text(d, wrt, decimals=decimals)


def run_derive(args) -> int:
    refuse_inputs([args.output], [args.spec])
    if args.output:
        from ..fileio import check_writable

        check_writable(args.output, args.force)  # before the work, not after it
    spec = load_spec(args.spec)
    if uses_matrix_form(spec):
        from ..derivation.matrix_form import matrix_derivation_text, matrix_derive

        md = matrix_derive(spec)
        if args.wrt:
            args.wrt = matrix_targets(spec, md, args.wrt)
        if args.latex:
            from ..render.matrix_latex import matrix_derivation_document

            text = matrix_derivation_document(md, decimals=args.decimals, fragment=args.fragment, wrt=args.wrt)
        else:
            text = matrix_derivation_text(md, wrt=args.wrt, decimals=args.decimals)
        _emit(text, args.output, args.force)
        return 0
    if not 0 <= args.decimals <= 12:
        raise SymbackpropError(f"--decimals {args.decimals}: allowed 0 to 12")
    d = derive(spec)
    if args.wrt:
        args.wrt = index_targets(d, args.wrt)
    if args.latex:
        from ..render.latex import derivation_document

        text = derivation_document(d, wrt=args.wrt, decimals=args.decimals, fragment=args.fragment)
    else:
        text = derivation_text(d, args.wrt, decimals=args.decimals)
    _emit(text, args.output, args.force)
    return 0


def _clean(v: float):
    """A JSON number: None for inf/nan, and 0.0 for −0.0 (a dead ReLU's gradient is zero, not signed)."""
    v = float(v)
    return (0.0 if v == 0 else v) if np.isfinite(v) else None


def grad_report(d) -> dict:
    """The `grad --json` object at the spec's parameters and data."""
    from ..compile.numpy_backend import compile_gradients, spec_data, spec_parameters

    c = compile_gradients(d)
    params = spec_parameters(d)
    missing = [p for p in d.parameters if p not in params]
    if missing:
        raise SymbackpropError(f"{d.spec.source}: [parameters]: no value for {', '.join(missing)}")
    has_data = bool(d.spec.x) or bool(d.spec.data) or not d.graph.inputs
    if not has_data:
        raise SymbackpropError(f"{d.spec.source}: [data]: needed for grad (x and y rows, or a value per input symbol)")
    X, Y = spec_data(d)
    values = c.forward(params, X, Y)
    node_grads = c.node_gradients(params, X, Y)
    gradients = {k: _clean(v) for k, v in c.gradients(params, X, Y).items()}
    report = {
        "loss": _clean(c.loss(params, X, Y)),
        "reduction": d.reduction,
        "n_examples": d.n_examples,
        "values": {k: [_clean(x) for x in v] for k, v in values.items()},
        "gradients": gradients,
        "node_gradients": {k: [_clean(x) for x in v] for k, v in node_grads.items()},
    }
    if d.graph.mode == "graph":
        # the slides ask for df/dx, df/dy, df/dz of the inputs too: per example in input_gradients,
        # and in gradients beside the parameters' when there is one example
        inputs = [n.name for n in d.graph.inputs]
        report["output"] = d.graph.output
        report["input_gradients"] = {k: report["node_gradients"][k] for k in inputs if k in report["node_gradients"]}
        if d.n_examples == 1:
            for k, v in report["input_gradients"].items():
                gradients.setdefault(k, v[0])
    return report


def _grad_targets(spec, wrts) -> list:
    """``grad --wrt``: the canonical index names (a matrix spec's too: its gradients are reported per entry)."""
    from ..verify.checker import AnswerChecker
    from ..verify.wrt import resolve_wrt

    checker = AnswerChecker(spec if uses_matrix_form(spec) else derive(spec))
    return list(dict.fromkeys(resolve_wrt(checker, w) for w in wrts))


def only(report: dict, wanted) -> dict:
    """The grad report restricted to the ``wanted`` names (``grad --wrt``), which it lists under ``wrt``."""
    keep = lambda table: {k: v for k, v in table.items() if k in wanted}  # noqa: E731
    out = {**report, "wrt": list(wanted)}
    for key in ("gradients", "node_gradients", "input_gradients"):
        if key in out:
            out[key] = keep(out[key])
    return out


def run_grad(args) -> int:
    spec = load_spec(args.spec)
    wanted = _grad_targets(spec, args.wrt) if args.wrt else None  # a bad name fails before the work
    if spec.network is not None and (args.matrices or uses_matrix_form(spec)):
        from ..compile.matrix_numpy import matrix_grad_report

        report = matrix_grad_report(spec, matrices=args.matrices)
    else:
        if args.matrices:
            raise SymbackpropError(f"{spec.source}: --matrices needs a [network] spec")
        with np.errstate(all="ignore"):  # an undefined value is reported as such, not as a NumPy warning
            report = grad_report(derive(spec))
    if wanted is not None:
        report = only(report, wanted)
    if args.json:
        print(json_text(report, indent=2))
    else:
        out = report.get("output")
        loss = _shown_value(report["loss"])
        if out is None:
            n = report["n_examples"]
            print(f"J ({report['reduction']} of the loss over {n} example{'' if n == 1 else 's'}) = {loss}")
        else:
            print(f"{out} = {loss}" if report["n_examples"] == 1 else
                  f"{out} ({report['reduction']} over {report['n_examples']} examples) = {loss}")
        top = "J" if out is None or report["n_examples"] > 1 else out
        from ..render.printers import text as _text

        shown = lambda name: _text(sympy.Symbol(name))  # noqa: E731  (λ for lambda; canonical names otherwise)
        for k, v in report["gradients"].items():
            print(f"  ∂{top}/∂{shown(k)} = " + ("undefined" if v is None else f"{v:.6g}"))
        for k, v in report.get("input_gradients", {}).items():
            if report["n_examples"] > 1:
                print(f"  ∂{out}/∂{shown(k)} per example = "
                      + ", ".join("undefined" if x is None else f"{x + 0.0:.6g}" for x in v))  # no -0
        per_example = out or "L"
        for k in report.get("wrt", ()):  # a node asked for by --wrt: its gradient per example
            if k in report["gradients"] or k in report.get("input_gradients", {}):
                continue
            v = report["node_gradients"].get(k)
            values = ", ".join("undefined" if x is None else f"{x + 0.0:.6g}" for x in v or ())  # no -0
            print(f"  ∂{per_example}/∂{shown(k)} " + ("= 0 (nothing depends on it)" if v is None else
                                                      f"= {values}" if len(v) == 1 else f"per example = {values}"))
    return 0


def _shown_value(v) -> str:
    """A reported number for people: 6 significant digits, or why there is none (JSON gives null)."""
    if v is None:
        return "undefined (not a finite real number: the point is outside the functions' domain, or overflows)"
    return f"{v:.6g}"


def run_check(args) -> int:
    from ..check.compare import CheckReport, check

    spec = load_spec(args.spec)
    if uses_matrix_form(spec):
        from ..check.matrix import check_matrix

        report = check_matrix(spec, trials=args.trials, seed=args.seed)
        if parameter_count(spec.network.layers) <= MATRIX_MIN_PARAMETERS:
            from dataclasses import replace

            scalar = check(derive(spec), trials=args.trials, seed=args.seed)
            report = CheckReport(tuple(replace(c, trial="per-scalar: " + c.trial) for c in scalar.comparisons)
                                 + tuple(replace(c, trial="matrix: " + c.trial) for c in report.comparisons))
    else:
        report = check(derive(spec), trials=args.trials, seed=args.seed)
    if sum(c.compared for c in report.comparisons) == 0:
        raise SymbackpropError(f"{spec.source}: nothing to check: the output depends on no parameter and no input "
                               "(give [graph].parameters or inputs in the equations)")
    if args.json:
        print(json_text({"ok": report.ok, "comparisons": [
            {"oracle": c.oracle, "trial": c.trial, "max_relative_error": c.max_relative_error, "message": c.message or None,
             "worst_parameter": c.worst_parameter, "tolerance": c.tolerance, "ok": c.ok,
             "compared": c.compared, "zeros": c.zeros, "beyond_allowance": c.beyond_allowance,
             "summary": c.message or c.summary()}
            for c in report.comparisons]}, indent=2))
    else:
        for line in report.lines():
            print(line)
        print("all gradients agree" if report.ok else "MISMATCH: the gradients disagree")
    return 0 if report.ok else 1


def run_train(args) -> int:
    from ..check import trainer

    spec = load_spec(args.spec)
    if spec.network is None:
        raise SymbackpropError(f"{spec.source}: train needs a [network] spec")
    from ..compile.matrix_numpy import compile_matrix_gradients
    from ..derivation.matrix_form import matrix_derive

    if not spec.x:
        raise SymbackpropError(f"{spec.source}: [data]: train needs x and y rows")
    shared = spec.network.shared_biases
    md = None if shared else matrix_derive(spec)
    epochs = spec.training.epochs if args.epochs is None else args.epochs
    if epochs < 0 or epochs > MAX_EPOCHS:
        raise SymbackpropError(f"--epochs must be between 0 and {MAX_EPOCHS}")
    lr = float(spec.training.learning_rate) if args.learning_rate is None else args.learning_rate
    if not lr > 0:
        raise SymbackpropError("--learning-rate must be positive")
    if args.plot:
        from ..lessons.plots import check_writable

        refuse_inputs([args.plot], [args.spec])
        check_writable(args.plot, args.force)
    net = trainer.Network(list(spec.network.layers), list(spec.network.activations), spec.network.loss,
                          spec.network.reduction, shared_biases=shared)
    if shared:  # per-scalar names; the trainer keeps b^{k} as a row b_k of equal entries
        from ..check.compare import from_matrices, to_matrices
        from ..compile.numpy_backend import spec_data, spec_parameters

        d = derive(spec)
        X, Y = spec_data(d)
        start = to_matrices(d, spec_parameters(d))
    else:
        X, Y = md.spec_data()
        start = md.spec_matrices
    result = _train_with_bar(trainer, net, start, X, Y, lr, epochs, spec.training, args.progress)
    params = from_matrices(d, result.params) if shared else compile_matrix_gradients(md).module.from_matrices(result.params)
    if args.plot:
        from ..lessons.plots import loss_curve

        loss_curve(result.loss_history, args.plot, title=spec.title or spec.source, force=True)
    if args.json:
        print(json_text({"loss_history": [float(v) for v in result.loss_history], "parameters": params}))
    else:
        hist = result.loss_history
        print(f"loss: {hist[0]:.6g} -> {hist[-1]:.6g} after {epochs} epoch{'' if epochs == 1 else 's'} (learning rate {lr:g})")
        for k, v in params.items():
            print(f"  {k} = {v:.6g}")
    if args.plot:  # like every other writer; on stderr with --json, so stdout stays one JSON document
        print(f"wrote {args.plot}", file=sys.stderr if args.json else sys.stdout)
    return 0


#: without --progress/--no-progress the bar shows only on a terminal and for at least this many updates
PROGRESS_MIN_STEPS = 20_000


def _train_with_bar(trainer, net, start, X, Y, lr, epochs, training, wanted):
    """``trainer.train`` with the shared progress bar (symbackprop.progress) driven by its
    ``on_epoch`` hook: one step per epoch, the loss after it as the bar's postfix, on stderr."""
    from ..progress import progress

    n = len(X)
    size = training.batch_size
    batch = min(size, n) if isinstance(size, int) and not isinstance(size, bool) and size >= 1 else n
    if wanted is None and epochs * -(-n // max(batch, 1)) < PROGRESS_MIN_STEPS:
        wanted = False  # a short run: no bar even on a terminal
    with progress(total=epochs, desc="training", unit="epoch", enabled=wanted) as bar:
        def on_epoch(epoch, loss):
            bar.set_postfix_str(f"loss {loss:.6g}", refresh=False)
            bar.update()

        return trainer.train(net, start, X, Y, learning_rate=lr, epochs=epochs, batch_size=training.batch_size,
                             seed=training.seed, on_epoch=on_epoch)


def run_export(args) -> int:
    from ..compile.numpy_backend import export_module

    if not args.output.endswith(".py"):
        raise SymbackpropError(f"{args.output}: the exported module's file name must end in .py")
    refuse_inputs([args.output], [args.spec])
    spec = load_spec(args.spec)
    if uses_matrix_form(spec):
        from ..compile.matrix_numpy import export_matrix_module

        export_matrix_module(spec, args.output, force=args.force)
    else:
        export_module(derive(spec), args.output, force=args.force)
    print(f"wrote {args.output}")
    return 0
