"""The ``symbackprop`` command: parses arguments and calls library functions.

``main(argv=None) -> int``: 0 success, 1 a check or verdict failed, 2 invalid input
(one clear line on stderr, never a traceback). Each group of subcommands lives in
its own module with ``register(subparsers)``.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import SymbackpropError

COMMAND_MODULES = (
    "symbackprop.cli.core",       # derive, grad, check, train, export
    "symbackprop.cli.verify",     # verify, grade
    "symbackprop.cli.worksheet",  # worksheet
    "symbackprop.cli.extras",     # vanishing, graph pictures
    "symbackprop.web.cli",        # serve (the web pages; needs the web extra to run)
)

EPILOG = """examples:
  symbackprop derive derivations/lecture_2_2_1.toml --wrt "w^{1}_{1,1}"
  symbackprop grad derivations/lecture_2_2_1.toml --json
  symbackprop check derivations/gender.toml
  symbackprop verify derivations/lecture_2_2_1.toml --wrt "w^{2}_{1,1}" --answer "(\\hat{y} - y)\\hat{y}(1-\\hat{y}) a^{2}_{1}"
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors: one line, exit 2
        self.print_usage(sys.stderr)
        sys.stderr.write(f"symbackprop: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="symbackprop",
        description="Exact, step-by-step backpropagation mathematics for small networks and graphs, proven in numbers.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"symbackprop {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for modname in COMMAND_MODULES:
        try:
            module = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name == modname:
                continue
            raise
        module.register(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except SymbackpropError as exc:
        print(f"symbackprop: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("symbackprop: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
