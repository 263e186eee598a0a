"""Every command and code block in README.md and docs/*.md runs (so the docs cannot rot).

Blocks fenced as ```bash run in bash, ```python in Python, in a temporary folder holding a copy
of derivations/. A block whose first line is ``# expect exit N`` must exit with N. ``pip install``
steps are the set-up (already done here) and are skipped, as is the README's test command.
Blocks fenced as ```text, ```toml or ```console are shown, not run.
"""
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.S | re.M)


def blocks():
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for f in files:
        text = f.read_text(encoding="utf-8")
        for i, m in enumerate(FENCE.finditer(text)):
            lang, body = m.group(1), m.group(2)
            if lang in ("bash", "python"):
                line = text[: m.start()].count("\n") + 1
                yield pytest.param(lang, body, id=f"{f.relative_to(ROOT)}:{line}")


def strip_setup(body: str) -> str:
    out = []
    for line in body.splitlines():
        parts = [p.strip() for p in line.split("&&")]
        parts = [p for p in parts if not p.startswith("pip install") and "pytest" not in p]
        if parts:
            out.append(" && ".join(parts))
    return "\n".join(out)


@pytest.mark.parametrize("lang,body", list(blocks()))
def test_doc_block_runs(lang, body, tmp_path):
    shutil.copytree(ROOT / "derivations", tmp_path / "derivations")
    expect = 0
    first = body.lstrip().splitlines()[0] if body.strip() else ""
    m = re.match(r"#\s*expect exit (\d+)", first)
    if m:
        expect = int(m.group(1))
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    bindir = pathlib.Path(sys.executable).parent
    env["PATH"] = str(bindir) + os.pathsep + env.get("PATH", "")
    if lang == "bash":
        script = strip_setup(body)
        if not script.strip():
            pytest.skip("set-up only")
        cmd = ["bash", "-e", "-o", "pipefail", "-c", script]
    else:
        cmd = [sys.executable, "-c", body]
    r = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == expect, f"exit {r.returncode}\nstdout:\n{r.stdout[-3000:]}\nstderr:\n{r.stderr[-3000:]}"
    assert "Traceback" not in r.stderr
