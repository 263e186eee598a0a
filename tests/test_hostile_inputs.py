"""Hostile inputs (issue 10): every one is exit 2 with one line on stderr naming the file, key or
flag, and no output file is created or changed. Each test runs ``main`` in-process."""
from __future__ import annotations

import errno
import os
import signal
import stat

import pytest

from symbackprop import fileio
from symbackprop.cli import main
from symbackprop.errors import SymbackpropError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LECTURE = os.path.join(ROOT, "derivations", "lecture_2_2_1.toml")

GRAPH = '[graph]\nequations = ["f = x * y"]\n[data]\nx = 2\ny = 3\n'
NET = ('[network]\nlayers = [1, 1]\nactivations = "sigmoid"\nloss = "{loss}"\n[parameters]\nweights = {w}\n'
       '[data]\nx = [[1]]\ny = [{y}]\n')


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def snapshot(folder):
    from pathlib import Path

    return {p.name: p.read_bytes() for p in sorted(Path(folder).iterdir()) if p.is_file() and not p.is_fifo()}


def assert_refused(capsys, tmp_path, argv, *, names):
    """Exit 2, one stderr line containing every string of ``names``, and the folder unchanged."""
    before = snapshot(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 2, (argv, code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for n in names:
        assert n in lines[0], (n, lines[0])
    assert "Traceback" not in err
    assert snapshot(tmp_path) == before
    return lines[0]


# ------------------------------------------------------------------------------------------------
# 1. reading: only regular files, bounded, BOM accepted, nesting bounded


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_a_device_as_spec_is_refused_without_reading(capsys, tmp_path, device):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    assert_refused(capsys, tmp_path, ["derive", device], names=[device, "character device", "regular file"])


def test_a_directory_as_spec_is_refused(capsys, tmp_path):
    assert_refused(capsys, tmp_path, ["derive", tmp_path], names=[str(tmp_path), "directory"])


def test_a_fifo_as_spec_or_answers_never_blocks(capsys, tmp_path):
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    assert_refused(capsys, tmp_path, ["derive", fifo], names=[str(fifo), "FIFO"])
    assert_refused(capsys, tmp_path, ["grade", LECTURE, "--answers", fifo], names=[str(fifo), "FIFO"])
    assert_refused(capsys, tmp_path, ["verify", LECTURE, "--wrt", "b^{2}_{1}", "--answer-file", fifo],
                   names=[str(fifo), "FIFO"])


def test_read_bytes_refuses_a_fifo_swapped_in_after_the_stat(tmp_path, monkeypatch):
    fifo = tmp_path / "p"
    os.mkfifo(fifo)
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda p, *a, **k: real_stat(LECTURE))  # the stat sees a regular file
    with pytest.raises(SymbackpropError, match="FIFO"):
        fileio.read_bytes(fifo)  # O_NONBLOCK open + fstat: no block, refused


def test_size_cap(capsys, tmp_path):
    big = tmp_path / "big.toml"
    big.write_bytes(b"# " + b"x" * 2_100_000 + b"\n")
    assert_refused(capsys, tmp_path, ["derive", big], names=[str(big), "at most 2000000"])


def test_bom_is_accepted(capsys, tmp_path):
    spec = tmp_path / "bom.toml"
    spec.write_bytes(b"\xef\xbb\xbf" + GRAPH.encode())
    code, out, err = run(capsys, "grad", spec, "--json")
    assert code == 0, err
    assert '"loss": 6.0' in out


def test_not_utf8(capsys, tmp_path):
    spec = tmp_path / "latin.toml"
    spec.write_bytes(b'title = "caf\xe9"\n' + GRAPH.encode())
    assert_refused(capsys, tmp_path, ["derive", spec], names=[str(spec), "UTF-8", "byte"])


@pytest.mark.parametrize("depth", [9, 5000, 50000])
def test_deep_nesting_is_one_line(capsys, tmp_path, depth):
    spec = tmp_path / "deep.toml"
    spec.write_text("a = " + "[" * depth + "]" * depth + "\n" + GRAPH)
    assert_refused(capsys, tmp_path, ["derive", spec], names=[str(spec), "nested"])


def test_huge_integer_literal(capsys, tmp_path):
    spec = tmp_path / "int.toml"
    spec.write_text(GRAPH.replace("x = 2", "x = " + "9" * 5000))
    assert_refused(capsys, tmp_path, ["derive", spec], names=[str(spec)])


# ------------------------------------------------------------------------------------------------
# 2. writing


def test_existing_output_needs_force_and_is_unchanged(capsys, tmp_path):
    out = tmp_path / "d.txt"
    out.write_text("mine")
    assert_refused(capsys, tmp_path, ["derive", LECTURE, "-o", out], names=[str(out), "exists", "--force"])
    assert out.read_text() == "mine"


def test_output_that_is_an_input_is_refused(capsys, tmp_path):
    answers = tmp_path / "class.csv"
    answers.write_text("student,wrt,answer\nada,b^{2}_{1},\\hat{y} - y\n")
    assert_refused(capsys, tmp_path, ["grade", LECTURE, "--answers", answers, "-o", answers, "--force"],
                   names=[str(answers), "also an input"])
    spec = tmp_path / "s.toml"
    spec.write_text(GRAPH)
    assert_refused(capsys, tmp_path, ["derive", spec, "-o", spec, "--force"], names=[str(spec), "also an input"])


def _immutable(folder, on: bool) -> bool:
    """``chattr +i``/``-i``: a folder even root cannot write to (False where the file system or the
    container does not allow it)."""
    import shutil
    import subprocess

    if shutil.which("chattr") is None:
        return False
    done = subprocess.run(["chattr", "+i" if on else "-i", str(folder)], capture_output=True)
    return done.returncode == 0


def test_read_only_folder(capsys, tmp_path):
    """A folder the user may not write to: mode 0500 for a normal user; as root (CI), which
    ignores modes, an immutable folder (chattr +i) refuses every write the same way."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() == 0:
        if not _immutable(folder, True):
            pytest.skip("root ignores folder permissions and chattr +i is not available here")
        expected = "not permitted"
    else:
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
        expected = "permission"
    try:
        line = assert_refused(capsys, folder, ["derive", LECTURE, "-o", folder / "d.txt"], names=["d.txt", expected])
        assert ".sbp-" not in line
        line = assert_refused(capsys, folder, ["export", LECTURE, "-o", folder / "g.py"], names=["g.py", expected])
        assert list(folder.iterdir()) == []
    finally:
        if os.geteuid() == 0:
            _immutable(folder, False)
        folder.chmod(0o755)


def test_long_name_is_not_pushed_over_the_limit(capsys, tmp_path):
    name = tmp_path / ("n" * 250 + ".txt")  # 254 bytes: valid; the temporary name is short
    code, out, err = run(capsys, "derive", LECTURE, "-o", name)
    assert code == 0, err
    assert name.exists()
    too_long = tmp_path / ("n" * 300 + ".txt")
    assert_refused(capsys, tmp_path, ["derive", LECTURE, "-o", too_long], names=["too long"])


@pytest.mark.parametrize("code_", [errno.ENOSPC, errno.EDQUOT, errno.EIO])
def test_write_errors_are_one_line_and_leave_nothing(capsys, tmp_path, monkeypatch, code_):
    def failing_write(fd, data):
        raise OSError(code_, os.strerror(code_))

    monkeypatch.setattr(os, "write", failing_write)
    assert_refused(capsys, tmp_path, ["derive", LECTURE, "-o", tmp_path / "d.txt"], names=["d.txt", "cannot write"])
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".sbp-")]


def test_failing_rename_is_one_line(capsys, tmp_path, monkeypatch):
    out = tmp_path / "d.txt"
    out.write_text("old")

    def failing_replace(a, b):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    assert_refused(capsys, tmp_path, ["derive", LECTURE, "-o", out, "--force"], names=["d.txt", "no space left"])
    assert out.read_text() == "old"


def test_worksheet_pair_is_all_or_nothing(capsys, tmp_path, monkeypatch):
    real_link = os.link
    calls = []

    def link_then_fail(src, dst, *a, **k):
        calls.append(dst)
        if len(calls) == 2:  # the key, after the worksheet was committed
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_link(src, dst, *a, **k)

    monkeypatch.setattr(os, "link", link_then_fail)
    assert_refused(capsys, tmp_path, ["worksheet", LECTURE, "-o", tmp_path / "ws.tex"], names=["no space left"])
    assert os.listdir(tmp_path) == []


def test_concurrent_writer_does_not_get_overwritten(tmp_path, monkeypatch):
    out = tmp_path / "r.txt"
    real_link = os.link

    def other_writer_first(src, dst, *a, **k):
        with open(dst, "x") as fh:  # another run passed the same existence check and won
            fh.write("theirs")
        return real_link(src, dst, *a, **k)

    monkeypatch.setattr(os, "link", other_writer_first)
    with pytest.raises(SymbackpropError, match="meanwhile"):
        fileio.write_atomic(out, "ours")
    assert out.read_text() == "theirs"
    assert os.listdir(tmp_path) == ["r.txt"]


def test_real_parallel_writers_one_wins_the_others_are_refused(tmp_path):
    """Eight processes write the same new file at once (no --force): exactly one writes it, whole;
    every other one exits 2 with one line, and no temporary file is left behind."""
    import subprocess
    import sys
    import textwrap

    out = tmp_path / "same.txt"
    script = textwrap.dedent("""
        import sys, time
        from symbackprop import fileio
        start = float(sys.argv[2])
        while time.time() < start:
            pass
        try:
            fileio.write_atomic(sys.argv[1], ("writer %s\\n" % sys.argv[3]) * 20000)
        except Exception as exc:
            print(" ".join(str(exc).split()), file=sys.stderr)
            sys.exit(2)
    """)
    import time

    start = str(time.time() + 1.5)  # every process waits for the same instant, then writes
    procs = [subprocess.Popen([sys.executable, "-c", script, str(out), start, str(k)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in range(8)]
    results = []
    for p in procs:
        _, err = p.communicate(timeout=120)
        results.append((p.returncode, err))
    assert sorted(code for code, _ in results) == [0] + [2] * 7, results
    for code, err in results:
        if code == 2:
            assert err.count("\n") == 1 and str(out) in err and ("exists" in err or "meanwhile" in err), err
    text = out.read_text()
    (line,) = set(text.splitlines())
    assert text == (line + "\n") * 20000            # one writer's whole content, not a mix
    assert os.listdir(tmp_path) == ["same.txt"]


def test_umask_is_honoured(tmp_path):
    old = os.umask(0o027)
    try:
        fileio.write_atomic(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "a.txt").st_mode) == 0o640


def test_sigterm_removes_temporary_folders(tmp_path, monkeypatch):
    """SIGTERM inside a ``with TemporaryDirectory`` (as around pdflatex) unwinds: the folder is gone, exit 143."""
    import tempfile

    import symbackprop.cli.core as core

    made = []

    def slow(args):
        with tempfile.TemporaryDirectory(prefix="symbackprop-tex-", dir=tmp_path) as tmp:
            made.append(tmp)
            os.kill(os.getpid(), signal.SIGTERM)
            signal.pause() if hasattr(signal, "pause") else None
        return 0

    monkeypatch.setattr(core, "run_derive", slow)
    assert main(["derive", LECTURE]) == 143
    assert made and not os.path.exists(made[0])


# ------------------------------------------------------------------------------------------------
# 3. arguments


@pytest.mark.parametrize("argv,flag", [
    (["check", LECTURE, "--seed", "-1"], "--seed"),
    (["check", LECTURE, "--seed", "4294967296"], "--seed"),
    (["check", LECTURE, "--trials", "-1"], "--trials"),
    (["check", LECTURE, "--trials", "100001"], "--trials"),
    (["derive", LECTURE, "--decimals", "-1"], "--decimals"),
    (["derive", LECTURE, "--decimals", "13"], "--decimals"),
    (["worksheet", LECTURE, "-o", "x.tex", "--decimals", "99"], "--decimals"),
    (["worksheet", LECTURE, "-o", "x.tex", "--seed", "-5"], "--seed"),
    (["train", LECTURE, "--epochs", "10000000"], "--epochs"),
    (["train", LECTURE, "--learning-rate", "0"], "--learning-rate"),
    (["train", LECTURE, "--learning-rate", "nan"], "--learning-rate"),
    (["train", LECTURE, "--learning-rate", "inf"], "--learning-rate"),
    (["descent", "--learning-rate", "1e308", "--json"], "--learning-rate"),
    (["vanishing", "--seed", "-1"], "--seed"),
    (["grade", LECTURE, "--answers", "a.csv", "--budget", "0"], "--budget"),
])
def test_argument_ranges(capsys, tmp_path, monkeypatch, argv, flag):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and flag in err[0], err
    assert os.listdir(tmp_path) == []


def test_an_answer_starting_with_a_minus(capsys):
    code, out, err = run(capsys, "verify", LECTURE, "--wrt", "b^{2}_{1}", "--answer", "-(y - \\hat{y})\\hat{y}(1-\\hat{y})")
    assert code == 0, out + err
    assert out.startswith("correct")


def test_ctrl_c_is_exit_130_one_line(capsys, monkeypatch):
    import symbackprop.cli.core as core

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(core, "run_check", interrupted)
    code, out, err = run(capsys, "check", LECTURE)
    assert code == 130 and len(err.strip().splitlines()) == 1


# ------------------------------------------------------------------------------------------------
# 4. limits and spec tracebacks


@pytest.mark.parametrize("loss,w,y,key", [
    ("half_squared_error", "1e16", "[1]", "[parameters].weights"),
    ("half_squared_error", "1e308", "[1]", "[parameters].weights"),
    ("half_squared_error", "-1e300", "[1]", "[parameters].weights"),
    ("half_squared_error", "1", "[1e20]", "[data].y[0][0]"),
    ("bce", "1", "[2]", "[data].y[0][0]"),
    ("bce", "1", "[-0.5]", "[data].y[0][0]"),
])
def test_numbers_out_of_range(capsys, tmp_path, loss, w, y, key):
    spec = tmp_path / "n.toml"
    spec.write_text(NET.format(loss=loss, w=w, y=y))
    assert_refused(capsys, tmp_path, ["grad", spec], names=[str(spec), key])


def test_cross_entropy_targets(capsys, tmp_path):
    spec = tmp_path / "ce.toml"
    base = ('[network]\nlayers = [1, 2]\nactivations = "softmax"\nloss = "cross_entropy"\n'
            '[data]\nx = [[1]]\ny = [{y}]\n')
    for y, key in (("[-1, 5]", "[data].y[0][0]"), ("[0.5, -0.6]", "[data].y[0][1]")):
        spec.write_text(base.format(y=y))
        assert_refused(capsys, tmp_path, ["grad", spec], names=[str(spec), key])
    spec.write_text(base.format(y="[0.25, 0.75]"))
    assert run(capsys, "grad", spec)[0] == 0


@pytest.mark.parametrize("text,names", [
    ('[graph]\nequations = ["f = x * y"]\n[data]\nx = 1\n', ["[data]", "y"]),
    ('[graph]\nequations = ["f = g(x)"]\n[data]\nx = 1\n', ["[graph].equations[0]", "unknown function g"]),
    ('[graph]\nequations = ["f = x"]\n[data]\nx = 1\nz = 2\n', ["z"]),
    ('[graph]\nequations = ["f = x"]\n[data]\nx = 1\n[parameters]\nq = 1\n', ["q"]),
])
def test_spec_tracebacks_of_item_5(capsys, tmp_path, text, names):
    spec = tmp_path / "g.toml"
    spec.write_text(text)
    for command in ("derive", "grad"):
        assert_refused(capsys, tmp_path, [command, spec], names=[str(spec)] + names)


def test_derive_latex_on_a_thin_deep_sigmoid_net(capsys, tmp_path):
    spec = tmp_path / "thin.toml"
    spec.write_text('[network]\nlayers = [2, 1, 1, 1, 1]\nactivations = "sigmoid"\nloss = "half_squared_error"\n'
                    '[data]\nx = [[1, 0]]\ny = [[1]]\n')
    code, out, err = run(capsys, "derive", "--latex", spec)
    assert code == 0, err
    assert "\\end{document}" in out


# ------------------------------------------------------------------------------------------------
# 5. verdicts


@pytest.mark.parametrize("equation,data", [("f = 1/x", "x = 0"), ("f = log(x)", "x = -1"),
                                           ("f = x^0.5", "x = -4"), ("f = exp(x)", "x = 1000")])
def test_non_finite_values_never_agree(capsys, equation, data, tmp_path):
    spec = tmp_path / "nf.toml"
    spec.write_text(f'[graph]\nequations = ["{equation}"]\n[data]\n{data}\n')
    code, out, err = run(capsys, "check", spec, "--trials", "1")
    assert code != 0, out
    assert "all gradients agree" not in out
    code, out, err = run(capsys, "check", spec, "--trials", "1", "--json")
    assert "Infinity" not in out and "NaN" not in out
    import json

    assert json.loads(out)["ok"] is False


def test_large_weights_that_the_trainer_confirms_pass(capsys, tmp_path):
    spec = tmp_path / "w.toml"
    spec.write_text('[network]\nlayers = [2, 2, 1]\nactivations = ["tanh", "sigmoid"]\nloss = "half_squared_error"\n'
                    '[parameters]\nweights = [[[3000.5, -2999.0], [1500.25, 12.0]], [[0.002, -0.001]]]\n'
                    'biases = [[-100.0, 7.5], [0.5]]\n[data]\nx = [[0.001, 0.002]]\ny = [[1]]\n')
    code, out, err = run(capsys, "check", spec, "--trials", "1")
    assert code == 0, out + err


def test_descent_json_is_valid(capsys):
    import json

    code, out, err = run(capsys, "descent", "--learning-rate", "100", "--steps", "200", "--json")
    assert code in (0, 2)
    if code == 0:
        json.loads(out)
        assert "Infinity" not in out


# ------------------------------------------------------------------------------------------------
# 6. grade: budget and CSV injection


def test_batch_budget_marks_rows_not_checked(tmp_path):
    from symbackprop.verify.answers import checker_for_spec
    from symbackprop.verify.grading import NOT_CHECKED, grade_rows

    ticks = iter(range(100))
    rows = [{"row": k, "student": f"s{k}", "wrt": "b^{2}_{1}", "answer": "\\hat{y} - y"} for k in range(1, 5)]
    report = grade_rows(checker_for_spec(LECTURE), rows, budget=2.5, clock=lambda: next(ticks))
    verdicts = [r["verdict"] for r in report["results"]]
    assert verdicts[-1] == NOT_CHECKED and verdicts[0] != NOT_CHECKED
    assert report["summary"][NOT_CHECKED] >= 1


@pytest.mark.parametrize("cell", ["=cmd|' /C calc'!A0", "+SUM(1,2)", "-2+3", "@HYPERLINK(\"x\")", "\tx", "\rx"])
def test_csv_formula_injection_is_escaped(capsys, tmp_path, cell):
    import csv
    import io

    answers = tmp_path / "a.csv"
    with open(answers, "w", newline="") as fh:
        csv.writer(fh).writerow(["student", "wrt", "answer"])
        csv.writer(fh).writerow([cell, "b^{2}_{1}", "\\hat{y} - y"])
    code, out, err = run(capsys, "grade", LECTURE, "--answers", answers, "--csv", "--no-progress")
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    for row in rows[1:]:
        for value in row:
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), row
    assert rows[1][1] == "'" + cell.replace("\r", "\n")


# ------------------------------------------------------------------------------------------------
# 7. no hang: the text derivation of a 64-layer net prints a bounded number of paths per parameter


def test_text_derivation_of_a_deep_net_is_bounded(capsys, tmp_path):
    spec = tmp_path / "deep.toml"
    spec.write_text("[network]\nlayers = [" + ", ".join(["2"] * 40 + ["1"]) + "]\nactivations = \"sigmoid\"\n"
                    "loss = \"half_squared_error\"\n[data]\nx = [[0.5, -0.25]]\ny = [[1]]\n")
    code, out, err = run(capsys, "derive", spec, "--wrt", "w^{1}_{1,1}")
    assert code == 0, err
    assert "more than 8 paths" in out  # 2^39 paths: never enumerated
    assert out.count("  path: ") == 8


def test_spec_function_words_match_the_grammar():
    from symbackprop.grammar.parser import FUNCTIONS
    from symbackprop.spec.load import FUNCTION_WORDS

    assert FUNCTION_WORDS == set(FUNCTIONS)
