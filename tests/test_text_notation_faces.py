"""Every face a person reads shows the lectures' notation: σ′(z), −, ², never ``sigma'``, ``**`` or ``*``.

For each bundled spec, the text of ``derive`` (index form, and the matrix form of network specs),
``grad --json``'s strings and the worksheets' answer keys are searched for SymPy's and ASCII's
spellings. The expectation is the lecture notes' own: σ′(z) = σ(z)(1 − σ(z))."""
import io
import json
import pathlib
import re
from contextlib import redirect_stdout

import pytest

from symbackprop.cli import main

ROOT = pathlib.Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "derivations").glob("*.toml"))
SMALL = [p for p in SPECS if "mnist" not in p.stem]   # the 784-128-10 spec prints the matrix form only

#: ASCII that never stands in text a person reads: the rule words' old spellings, SymPy's operators
ASCII = re.compile(r"sigma'|tanh'|softplus'|\*")


def _run(argv) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(argv) == 0
    return out.getvalue()


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _assert_lecture_notation(shown: str, where: str):
    bad = ASCII.search(shown)
    assert bad is None, f"{where}: {shown[max(0, bad.start() - 60):bad.end() + 60]!r}"


@pytest.mark.parametrize("path", SMALL, ids=[p.stem for p in SMALL])
def test_derive_text_is_in_the_lectures_notation(path):
    _assert_lecture_notation(_run(["derive", str(path)]), f"derive {path.name}")


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_matrix_text_and_json_are_in_the_lectures_notation(path):
    from symbackprop import load_spec
    from symbackprop.derivation.matrix_form import matrix_derivation_text, matrix_derive

    spec = load_spec(path)
    if spec.network is not None:
        _assert_lecture_notation(matrix_derivation_text(matrix_derive(spec)), f"matrix text {path.name}")
    if path.stem != "mnist_784_128_10":
        for s in _strings(json.loads(_run(["grad", str(path), "--json"]))):
            _assert_lecture_notation(s, f"grad --json {path.name}")


def test_the_sigmoid_rule_reads_as_lecture_1_writes_it():
    """Lecture 1: σ′(z) = σ(z)(1 − σ(z)); the rule words say so on the matrix text and in derive."""
    from symbackprop import load_spec
    from symbackprop.derivation.matrix_form import matrix_derivation_text, matrix_derive

    shown = matrix_derivation_text(matrix_derive(load_spec(ROOT / "derivations/lecture_2_2_1.toml")))
    assert "σ′(z) = σ(z)(1 − σ(z)) = a(1 − a)" in shown



WORKSHEET_SPECS = [ROOT / f"derivations/{s}.toml" for s in ("lecture_2_2_1", "gender", "bce_table")]


@pytest.mark.parametrize("path", WORKSHEET_SPECS, ids=[p.stem for p in WORKSHEET_SPECS])
def test_worksheet_and_key_are_in_the_lectures_notation(path, tmp_path):
    """The worksheet and its key are LaTeX: \\sigma' is the lectures' σ′ there, but a bare ``sigma'``,
    ``**`` or a ``*`` outside ``\\section*``, ``align*`` and code (``\\texttt``) is SymPy's or
    ASCII's spelling leaking through."""
    out = tmp_path / "sheet.tex"
    assert main(["worksheet", str(path), "-o", str(out)]) == 0
    for tex in sorted(tmp_path.glob("*.tex")):
        shown = re.sub(r"\\(sub)*section\*|\{[a-z]+\*\}|\\\\\*|\\texttt\{[^}]*\}", "", tex.read_text(encoding="utf-8"))
        bad = re.search(r"(?<!\\)sigma'|(?<!\\)tanh'|\*", shown)
        assert bad is None, f"{tex.name}: {shown[max(0, bad.start() - 60):bad.end() + 60]!r}"
