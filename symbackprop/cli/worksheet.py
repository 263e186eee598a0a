"""The ``worksheet`` subcommand: exercises and answer keys (LaTeX, optionally PDF)."""
from __future__ import annotations

import argparse

from ..errors import SymbackpropError
from . import DECIMALS, SEED
from .core import index_targets


def register(sub):
    help_ = "write a worksheet (exercises) and its answer key as LaTeX, optionally compiled to PDF"
    p = sub.add_parser(
        "worksheet", help=help_, description=help_,
        epilog=("writes OUT.tex and OUT-answers.tex; with --variants N, OUT-1.tex ... OUT-N.tex and their\n"
                "-answers files (randomized, hand-computable numbers, reproducible from --seed).\n"
                "specs with notation = \"matrix\" get the slides' matrix notation (shapes, z_1 = x W_1 + b_1, ...).\n"
                "example:\n  symbackprop worksheet derivations/lecture_2_2_1.toml -o sheet.tex --variants 3 --seed 7 --pdf"),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", help="spec file (TOML)")
    p.add_argument("-o", "--output", metavar="OUT.tex", required=True, help="the exercises' file (must end in .tex)")
    p.add_argument("--variants", type=int, metavar="N", help="write N randomized variants instead of the spec's numbers")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the variants (default 0)")
    p.add_argument("--pdf", action="store_true", help="also compile each file with pdflatex")
    p.add_argument("--fragment", action="store_true", help="no preamble: for your own document")
    p.add_argument("--decimals", type=DECIMALS, default=2, help="decimals shown for numbers (0 to 12; default 2)")
    p.add_argument("--code", action=argparse.BooleanOptionalAction, default=None,
                   help="the 'From math to code' section: --code on the sheet and the key, --no-code on neither "
                        "(default: only in the key)")
    p.add_argument("--space", choices=("ruled", "box", "none"), default="ruled",
                   help="answer space under each exercise of the sheet: ruled lines, a box, or none (default ruled)")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="with --pdf, run N pdflatex processes at once (default 1)")
    p.add_argument("--wrt", action="append", metavar="NAME",
                   help="a weight of the chain-rule exercises (repeatable; any spelling verify --wrt reads; "
                        "default: [worksheet].wrt, else the spec's first and last weights)")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.set_defaults(func=run)


def with_worksheet_wrt(d, wrt: list):
    """The derivation ``d`` with ``[worksheet].wrt`` replaced by the canonical names ``wrt``."""
    from dataclasses import replace

    from ..derivation.chain_rule import Derivation

    options = dict(d.spec.worksheet)
    options["wrt"] = list(wrt)
    return Derivation(replace(d.spec, worksheet=tuple(sorted(options.items()))), d.graph)


def run(args) -> int:
    from ..derivation.chain_rule import derive
    from ..spec.load import load_spec
    from ..worksheets.index import write_worksheets

    if args.variants is not None and args.variants < 1:
        raise SymbackpropError("--variants must be at least 1")
    if args.jobs < 1:
        raise SymbackpropError(f"--jobs {args.jobs}: allowed a whole number from 1 up")
    if not 0 <= args.decimals <= 12:
        raise SymbackpropError("--decimals must be between 0 and 12")
    from ..worksheets.matrix import is_matrix_spec

    from ..fileio import refuse_inputs
    from ..worksheets.index import output_paths

    pairs = output_paths(args.output, args.variants)
    outs = [p for pair in pairs for p in pair]
    refuse_inputs(outs + ([p[:-4] + ".pdf" for p in outs] if args.pdf else []), [args.spec])
    spec = load_spec(args.spec)
    if args.wrt and is_matrix_spec(spec):
        raise SymbackpropError(f"{spec.source}: --wrt: a worksheet in matrix notation has an exercise for every "
                               "backward step; for one gradient use derive --wrt NAME")
    # notation = "matrix": the slides' matrix notation, from the matrix derivation (no per-scalar graph)
    d = spec if is_matrix_spec(spec) else derive(spec)
    given = dict(spec.worksheet).get("wrt") if not is_matrix_spec(spec) else None
    if isinstance(given, str):
        given = [given]
    if args.wrt:  # read as verify --wrt reads it; the sheet then takes the canonical names as [worksheet].wrt
        d = with_worksheet_wrt(d, index_targets(d, args.wrt))
    elif isinstance(given, list) and given and all(isinstance(w, str) for w in given):
        try:  # the spec's own [worksheet].wrt, read the same way
            d = with_worksheet_wrt(d, index_targets(d, given, option="[worksheet].wrt"))
        except SymbackpropError as exc:
            raise SymbackpropError(f"{spec.source}: {exc}") from None
    written = write_worksheets(d, args.output, variants=args.variants, seed=args.seed, pdf=args.pdf,
                               fragment=args.fragment, force=args.force, decimals=args.decimals,
                               code=args.code, space=args.space, jobs=args.jobs)
    for path in written:
        print(f"wrote {path}")
    return 0
