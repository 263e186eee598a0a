"""Start-up (issue 15): ``symbackprop --help`` imports neither SymPy, NumPy nor lark; one command
imports only its own module; the placeholders' help is the commands' own (this table is checked
against the modules' parsers, so the two can never drift apart)."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from symbackprop import cli

ROOT = Path(__file__).resolve().parents[1]


def _sub(parser):
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def test_the_command_table_is_the_modules_own():
    full = _sub(cli.build_parser())
    listed = {a.dest: a.help for a in full._choices_actions}
    assert listed == {name: help_ for name, (_, help_) in cli.COMMANDS.items()}
    for name, (module, _) in cli.COMMANDS.items():
        assert full.choices[name].prog.endswith(name)
        assert module in cli.COMMAND_MODULES


def test_lazy_help_is_the_full_help():
    assert cli.build_parser(None, lazy=True).format_help() == cli.build_parser().format_help()
    lazy = _sub(cli.build_parser("verify", lazy=True))
    full = _sub(cli.build_parser())
    assert lazy.choices["verify"].format_help() == full.choices["verify"].format_help()
    assert list(lazy.choices) == list(full.choices)


def _modules_after(argv) -> set:
    code = ("import sys\nfrom symbackprop.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
            "print(' '.join(sorted(m for m in ('sympy', 'numpy', 'lark', 'mpmath') if m in sys.modules)))" % (argv,))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return set(out.stdout.split("\n")[-2].split())


def test_help_imports_nothing_heavy():
    assert _modules_after(["--help"]) == set()
    assert _modules_after(["--version"]) == set()
    assert _modules_after(["no-such-command"]) == set()


def test_verify_on_an_index_spec_does_not_import_numpy():
    got = _modules_after(["verify", "derivations/lecture_2_2_1.toml", "--wrt", "w^{2}_{1,1}",
                          "--answer", r"(\hat{y} - y)\hat{y}(1-\hat{y}) a^{2}_{1}"])
    assert "sympy" in got and "numpy" not in got
