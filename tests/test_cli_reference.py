"""docs/cli.md names every command and every option the parser accepts (so the reference cannot rot)."""
import argparse
import pathlib

from symbackprop.cli.__init__ import build_parser

DOC = (pathlib.Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text(encoding="utf-8")


def subcommands():
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices
    return {}


def test_every_command_has_a_section_and_every_option_is_documented():
    cmds = subcommands()
    assert {"derive", "grad", "check", "train", "export", "verify", "grade", "worksheet"} <= set(cmds)
    for name, sub in cmds.items():
        assert f"## {name}\n" in DOC, f"docs/cli.md has no section for {name}"
        section = DOC.split(f"## {name}\n", 1)[1].split("\n## ", 1)[0]
        for action in sub._actions:
            for opt in action.option_strings:
                if opt in ("-h", "--help"):
                    continue
                assert opt in section, f"docs/cli.md: `{name}` does not mention {opt}"


def test_every_command_help_shows_an_example():
    for name, sub in subcommands().items():
        assert "example" in (sub.epilog or ""), f"`symbackprop {name} --help` shows no example"
