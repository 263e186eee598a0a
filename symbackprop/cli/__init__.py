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

#: every command, its module and its one-line help, so that ``symbackprop --help`` and one command's run
#: import only what they need (tests/test_cli_lazy.py checks this table against the modules' own parsers)
COMMANDS = {
    "derive": ("symbackprop.cli.core", "derive dL/dw by the chain rule: paths, local derivatives, products, result"),
    "grad": ("symbackprop.cli.core", "gradients of the reduced loss at the spec's parameters and data"),
    "check": ("symbackprop.cli.core", "check our gradients against the independent trainer and finite differences"),
    "train": ("symbackprop.cli.core", "train the network with the independent NumPy trainer (gradient descent)"),
    "export": ("symbackprop.cli.core", "write the gradients as a standalone Python module that needs only NumPy"),
    "verify": ("symbackprop.cli.verify", "check a hand derivation of a derivative (LaTeX or plain text)"),
    "grade": ("symbackprop.cli.verify", "grade a class: one answer per CSV row (student,wrt,answer)"),
    "worksheet": ("symbackprop.cli.worksheet",
                  "write a worksheet (exercises) and its answer key as LaTeX, optionally compiled to PDF"),
    "vanishing": ("symbackprop.cli.extras", "the vanishing gradient: ‖∂L/∂W‖ layer by layer through sigmoid, tanh "
                  "and ReLU layers, and why σ′(z) ≤ ¼"),
    "picture": ("symbackprop.cli.extras", "draw the computational graph of a spec with forward values and gradients"),
    "descent": ("symbackprop.cli.extras", "gradient descent on L(w) = (w − w*)² for several learning rates"),
    "serve": ("symbackprop.web.cli", "serve the student and instructor web pages (offline, 127.0.0.1 by default)"),
}

EPILOG = """examples:
  symbackprop derive derivations/lecture_2_2_1.toml --wrt "w^{1}_{1,1}"
  symbackprop grad derivations/lecture_2_2_1.toml --json
  symbackprop check derivations/gender.toml
  symbackprop verify derivations/lecture_2_2_1.toml --wrt "w^{2}_{1,1}" --answer "(\\hat{y} - y)\\hat{y}(1-\\hat{y}) a^{2}_{1}"
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors: one line, exit 2
        message = " ".join(str(message).split())
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        raise SystemExit(2)


def bounded(kind, lo=None, hi=None, *, positive=False):
    """An argparse ``type``: ``kind`` (int or float), finite, within [lo, hi] (and > 0 with ``positive``)."""
    import math

    def convert(text):
        try:
            value = kind(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"{text!r} is not a {'whole number' if kind is int else 'number'}")
        if kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if positive and not value > 0:
            raise argparse.ArgumentTypeError(f"{text} must be greater than 0")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"{text} is out of range (allowed: {lo if lo is not None else '-inf'} "
                                             f"to {hi if hi is not None else 'inf'})")
        return value

    convert.__name__ = kind.__name__
    return convert


SEED = bounded(int, 0, 2**32 - 1)
DECIMALS = bounded(int, 0, 12)
MAX_TRIALS = 100_000
MAX_EPOCHS = 10**6
#: options whose value may start with '-' (an answer such as -x): ``--answer -x`` is read as ``--answer=-x``
DASH_VALUES = ("--answer", "--wrt")


def _join_dash_values(argv, parser) -> list:
    known = set()
    for action in parser._actions:  # the subparsers' option strings too
        known.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                for a in sub._actions:
                    known.update(a.option_strings)
    out, i = [], 0
    argv = list(argv)
    while i < len(argv):
        tok = argv[i]
        if tok == "--":
            out.extend(argv[i:])
            break
        if tok in DASH_VALUES and i + 1 < len(argv) and argv[i + 1].startswith("-") and argv[i + 1] not in known:
            out.append(f"{tok}={argv[i + 1]}")
            i += 2
            continue
        out.append(tok)
        i += 1
    return out


def finite(value):
    """``value`` with every inf/NaN float replaced by None, so JSON stays valid (no Infinity/NaN)."""
    import math

    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def json_text(value, **kwargs) -> str:
    """``json.dumps`` that never writes Infinity or NaN: non-finite numbers become null."""
    import json

    return json.dumps(finite(value), allow_nan=False, **kwargs)


class Terminated(BaseException):
    """SIGTERM as an exception, so ``with`` blocks (temporary folders) clean up before exit."""


def _on_sigterm(signum, frame):
    raise Terminated()


def _command_of(argv) -> str | None:
    """The command named in ``argv`` (its first word that is not an option), or None."""
    for tok in argv:
        if tok == "--":
            return None
        if not tok.startswith("-"):
            return tok
    return None


def _module_exists(modname: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(modname) is not None
    except (ImportError, ValueError):
        return False


def build_parser(command: str | None = None, *, lazy: bool = False) -> argparse.ArgumentParser:
    """The whole parser; with ``lazy=True`` only ``command``'s module is imported and the other
    commands are placeholders with their one-line help (enough for ``--help`` and for errors)."""
    parser = _Parser(
        prog="symbackprop",
        description="Exact, step-by-step backpropagation mathematics for small networks and graphs, proven in numbers.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"symbackprop {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    wanted = COMMANDS.get(command, (None,))[0] if lazy else None
    for modname in COMMAND_MODULES:
        if lazy and modname != wanted:
            if _module_exists(modname):
                for name, (owner, help_) in COMMANDS.items():
                    if owner == modname:
                        sub.add_parser(name, help=help_, description=help_)
            continue
        try:
            module = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name == modname:
                continue
            raise
        module.register(sub)
    return parser


def main(argv=None) -> int:
    import signal
    import threading

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command_of(argv), lazy=True)
    argv = _join_dash_values(argv, parser)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return int(args.func(args) or 0)
    except SymbackpropError as exc:
        print(f"symbackprop: error: {getattr(exc, 'cli_message', exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("symbackprop: interrupted (Ctrl-C); nothing more was written", file=sys.stderr)
        return 130
    except Terminated:
        print("symbackprop: terminated; nothing more was written", file=sys.stderr)
        return 143
    except BrokenPipeError:
        return 0
    except RecursionError:
        print("symbackprop: error: the input is nested too deeply to process", file=sys.stderr)
        return 2
    except MemoryError:
        print("symbackprop: error: out of memory; the input is too large", file=sys.stderr)
        return 2
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
