r"""The web app's JSON API (symbackprop serve), in-process with Starlette's TestClient.

Verdicts are compared with an oracle that shares no code with symbackprop: the lecture's 2-2-1
network written out by hand in SymPy and differentiated with sympy.diff.  The safety properties
(names, never paths; the token; the Host header; bounded bodies; a hostile answer killed by the
hard time limit while another student's check goes on) are asserted on the HTTP responses.
"""
from __future__ import annotations

import pathlib
import shutil
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile

import pytest

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from symbackprop.web.app import Settings, create_app  # noqa: E402
from symbackprop.web.mathtext import feedback_parts, normalize_mathlive  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASE = "http://127.0.0.1:8000"
LECTURE = "lecture_2_2_1"
RIGHT_W2 = r"(\hat{y} - y)\,\hat{y}(1 - \hat{y})\,a^{2}_{1}"
WRONG_W2 = r"(\hat{y} - y)\,a^{2}_{1}"
# exp(exp(exp(...)))^64 forty times: the library's own 5 s budget does not stop it (about 40 s)
HOSTILE = "*".join([r"\exp(\exp(\exp(x_1 w^{1}_{1,1})))^{64}"] * 40)


@pytest.fixture(scope="module")
def client():
    app = create_app(Settings(workers=2, timeout=20))
    with TestClient(app, base_url=BASE, raise_server_exceptions=False) as c:
        c.app_state = app.state
        yield c
    for pid in app.state.pool.pids():  # pragma: no cover - close() empties the list
        assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie counts as gone
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except OSError:
        return False


def _one_line_error(r):
    body = r.json()
    assert set(body) == {"error"}, body
    assert "\n" not in body["error"] and "Traceback" not in body["error"]
    return body["error"]


# ---------------------------------------------------------------------------------------------
# the oracle: the lecture's 2-2-1 network by hand (sigmoid everywhere, L = 1/2 (y - yhat)^2)


def _oracle_gradient_w2_11():
    import sympy as sp

    x1, x2, y = 1, 0, 1
    w = {k: sp.Integer(1) for k in ("w111", "w112", "w121", "w122", "b11", "b12", "w211", "w212", "b21")}
    W211 = sp.Symbol("W211")
    s = lambda t: 1 / (1 + sp.exp(-t))  # noqa: E731
    a21 = s(w["w111"] * x1 + w["w112"] * x2 + w["b11"])
    a22 = s(w["w121"] * x1 + w["w122"] * x2 + w["b12"])
    yhat = s(W211 * a21 + w["w212"] * a22 + w["b21"])
    L = sp.Rational(1, 2) * (y - yhat) ** 2
    g = sp.diff(L, W211).subs(W211, 1)
    return float(g), float(a21), float(yhat.subs(W211, 1))


def test_oracle_agrees_with_the_right_answer():
    # the answer we call right is right: (yhat - y) yhat (1 - yhat) a^2_1 equals sympy.diff of the loss
    g, a21, yhat = _oracle_gradient_w2_11()
    assert abs((yhat - 1) * yhat * (1 - yhat) * a21 - g) < 1e-12
    assert abs((yhat - 1) * a21 - g) > 1e-3  # and the wrong one is wrong


# ---------------------------------------------------------------------------------------------
# specs


def test_specs_list_the_lecture_examples(client):
    r = client.get("/api/specs")
    assert r.status_code == 200
    names = {s["name"] for s in r.json()["specs"]}
    assert {LECTURE, "gender", "computational_graph"} <= names
    assert all("/" not in n and ".." not in n for n in names)


def test_spec_info_has_drawing_loss_and_targets(client):
    r = client.get(f"/api/specs/{LECTURE}")
    assert r.status_code == 200
    info = r.json()
    assert info["drawing_svg"].startswith("<svg") and "<script" not in info["drawing_svg"]
    assert r"\hat{y}" in info["drawing_svg"] and "x_{1}" in info["drawing_svg"]
    assert info["loss"] == r"L = \frac{1}{2} \sum_k \left(y_k - \hat{y}_k\right)^2"
    assert info["reduction"] == "mean"
    targets = {t["name"]: t["latex"] for t in info["targets"]}
    assert targets["w^{1}_{1,1}"] == "w^{1}_{1,1}"
    assert targets["a^{3}_{1}"] == r"\hat{y}"
    assert len([t for t in info["targets"] if t["kind"] == "parameter"]) == 9  # 2*2+2 + 2*1+1
    g = client.get("/api/specs/gender").json()
    assert g["notation"] == "matrix" and "dW_1" in {t["name"] for t in g["targets"]}


# ---------------------------------------------------------------------------------------------
# verify


def test_verify_right_and_wrong(client):
    r = client.post("/api/verify", json={"spec": LECTURE, "wrt": "w^{2}_{1,1}", "answer": RIGHT_W2})
    assert r.status_code == 200 and r.json()["verdict"] == "correct"
    r = client.post("/api/verify", json={"spec": LECTURE, "wrt": "w^{2}_{1,1}", "answer": WRONG_W2})
    v = r.json()
    assert v["verdict"] == "incorrect" and v["mistake"] == "activation_derivative_missing"
    tex = " ".join(p["tex"] for p in v["feedback_parts"] if "tex" in p)
    assert r"\sigma'(z^{3}_{1}) = \hat{y}(1 - \hat{y})" in tex  # σ′ = ŷ(1 − ŷ), typeset by the checker
    assert "*" not in json.dumps(v["feedback_parts"]) and "*" not in v["feedback"]
    assert "ŷ(1 − ŷ)" in v["feedback"]


def test_verify_multi_line_first_wrong_step(client):
    answer = "\\frac{\\partial L}{\\partial w^{2}_{1,1}} = (\\hat{y}-y)\\hat{y}(1-\\hat{y})a^{2}_{1}\n= (\\hat{y}-y)a^{2}_{1}"
    v = client.post("/api/verify", json={"spec": LECTURE, "wrt": "w^{2}_{1,1}", "answer": answer}).json()
    assert v["verdict"] == "incorrect"
    assert [s["equal"] for s in v["steps"]] == [True, False]
    assert v["first_wrong_step"] == 2


def test_verify_mathlive_latex(client):
    # what MathLive emits for (yhat - y) * yhat * (1 - yhat) * a_1^2 typed in the field
    ml = r"\left(\mathrm{yhat}-y\right)\cdot\mathrm{yhat}\cdot\left(1-\mathrm{yhat}\right)\cdot a_1^2\placeholder{}"
    v = client.post("/api/verify", json={"spec": LECTURE, "wrt": "w^{2}_{1,1}", "answer": ml}).json()
    assert v["verdict"] == "correct", v
    assert any("mathrm" in c for c in v["normalized"]) and any("placeholder" in c for c in v["normalized"])


def test_verify_matrix_answer_on_gender(client):
    ok = client.post("/api/verify", json={"spec": "gender", "wrt": "dW_2", "answer": "a_1^T dz_2"}).json()
    assert ok["verdict"] == "correct"
    bad = client.post("/api/verify", json={"spec": "gender", "wrt": "dW_2", "answer": "dz_2 a_1^T"}).json()
    assert bad["verdict"] == "incorrect" and bad["mistake"] == "wrong_order"


def test_unparseable_answer_is_a_verdict_with_its_column(client):
    v = client.post("/api/verify", json={"spec": LECTURE, "wrt": "w^{2}_{1,1}", "answer": r"(\hat{y}"}).json()
    assert v["verdict"] == "unparseable" and v["error"]["column"] == 9  # the end of the 8 characters


# ---------------------------------------------------------------------------------------------
# hint and solution


def test_hint_levels_never_give_the_product(client):
    h1 = client.post("/api/hint", json={"spec": LECTURE, "wrt": "w^{1}_{1,1}", "level": 1}).json()
    assert any(r"w^{1}_{1,1} \to z^{2}_{1} \to a^{2}_{1} \to z^{3}_{1} \to \hat{y} \to L" in ln for ln in h1["lines"])
    assert h1["more"] is True
    h2 = client.post("/api/hint", json={"spec": LECTURE, "wrt": "w^{1}_{1,1}", "level": 2}).json()
    joined = "\n".join(h2["lines"])
    assert r"\frac{\partial \hat{y}}{\partial z^{3}_{1}} = \hat{y}\left(1 - \hat{y}\right)" in joined
    assert r"\frac{\partial z^{2}_{1}}{\partial w^{1}_{1,1}} = x_{1}" in joined
    assert r"\cdot" not in joined  # the product of the factors is the solution's, not the hint's
    bad = client.post("/api/hint", json={"spec": LECTURE, "wrt": "w^{1}_{1,1}", "level": 7})
    assert bad.status_code == 400 and "level" in _one_line_error(bad)


def test_solution_is_the_worked_derivation(client):
    s = client.get("/api/solution", params={"spec": LECTURE, "wrt": "w^{1}_{1,1}"}).json()
    assert s["latex"].startswith(r"\begin{aligned}")
    assert (r"\left(\hat{y} - y\right) \cdot \hat{y}\left(1 - \hat{y}\right) \cdot w^{2}_{1,1} \cdot a^{2}_{1}"
            r"\left(1 - a^{2}_{1}\right) \cdot x_{1}") in s["latex"]
    m = client.get("/api/solution", params={"spec": "gender", "wrt": "dW_1"}).json()
    assert "dW_{1} &= x^T dz_{1}" in m["latex"]


def test_document_is_html_with_math_for_katex(client):
    d = client.get("/api/document", params={"spec": LECTURE}).json()
    assert "<h3>" in d["html"] and 'data-tex="' in d["html"] and "<script" not in d["html"]


# ---------------------------------------------------------------------------------------------
# safety


@pytest.mark.parametrize("name", ["../etc/passwd", "..", "/etc/passwd", "lecture_2_2_1/../gender",
                                  "..%2F..%2Fetc%2Fpasswd", "derivations/lecture_2_2_1.toml", "lecture_2_2_1.toml",
                                  "%2e%2e", "C:\\Windows", "nul\x00"])
def test_no_path_from_a_request(client, name):
    r = client.post("/api/verify", json={"spec": name, "wrt": "w^{2}_{1,1}", "answer": RIGHT_W2})
    assert r.status_code == 404
    assert "spec" in _one_line_error(r)
    if "\x00" in name:
        return  # not even a URL
    r = client.get("/api/specs/" + name.replace("/", "%2F"))
    assert r.status_code == 404 and "passwd" not in r.text.replace(name, "")


def test_host_header_is_checked(client):
    r = client.get("/api/specs", headers={"host": "evil.example"})
    assert r.status_code == 421 and "Host" in _one_line_error(r)
    r = client.get("/api/specs", headers={"host": "evil.example:8000"})
    assert r.status_code == 421
    assert client.get("/api/specs", headers={"host": "localhost:8000"}).status_code == 200


def test_size_limits(client):
    r = client.post("/api/verify", json={"spec": LECTURE, "wrt": "x", "answer": "x+" * 1500})
    assert r.status_code == 413 and "answer" in _one_line_error(r)
    r = client.post("/api/verify", content=b"{" + b" " * 70_000 + b"}", headers={"content-type": "application/json"})
    assert r.status_code == 413
    r = client.post("/api/grade", files={"file": ("c.csv", b"student,wrt,answer\n" + b"a,b,c\n" * 600_000)},
                    data={"spec": LECTURE})
    assert r.status_code == 413
    r = client.post("/api/verify", content=b"not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "JSON" in _one_line_error(r)


def test_errors_are_one_line_json(client):
    for r in (client.get("/api/nothing"), client.delete("/api/verify"),
              client.post("/api/verify", json={"spec": LECTURE}),
              client.post("/api/verify", json={"spec": LECTURE, "answer": ["x"]}),
              client.get("/api/grade/0123456789abcdef"), client.get("/api/solution", params={"spec": LECTURE})):
        assert r.status_code in (400, 404, 405)
        _one_line_error(r)


def test_token_required_off_loopback():
    from symbackprop.errors import SymbackpropError

    with pytest.raises(SymbackpropError, match="token"):
        create_app(Settings(host="0.0.0.0"))
    token = "t0ken-for-the-tests-1234"
    app = create_app(Settings(host="0.0.0.0", token=token, workers=1, extra_hosts=("192.0.2.7",)))
    with TestClient(app, base_url="http://192.0.2.7:8000") as c:
        r = c.get("/api/specs")
        assert r.status_code == 401 and "token" in _one_line_error(r)
        assert c.get("/api/specs", headers={"x-symbackprop-token": "wrong-token-wrong-token"}).status_code == 401
        assert c.get("/api/specs", headers={"x-symbackprop-token": token}).status_code == 200
        r = c.get(f"/?token={token}")
        assert r.status_code == 200 and "symbackprop_token" in r.headers["set-cookie"]
        assert "SameSite=Strict" in r.headers["set-cookie"]
        assert c.get("/api/specs").status_code == 200  # the cookie now
        assert c.get("/api/specs", headers={"host": "evil.example:8000"}).status_code == 421


def test_hostile_answer_is_killed_and_others_go_on():
    app = create_app(Settings(workers=2, timeout=3))
    with TestClient(app, base_url=BASE) as c:
        pool = app.state.pool
        for _ in range(4):  # warm both workers
            c.post("/api/verify", json={"spec": LECTURE, "wrt": "w^{2}_{1,1}", "answer": RIGHT_W2})
        before = set(pool.pids())
        out = {}

        # the answer checker now grades HOSTILE itself within its own limit; a whole batch of them still
        # outlasts the server's hard limit, which must kill that worker and leave the other one serving
        hostile_verdict = c.post("/api/verify", json={"spec": LECTURE, "wrt": "w^{2}_{1,1}", "answer": HOSTILE})
        assert hostile_verdict.status_code == 503 or hostile_verdict.json()["verdict"] != "correct"
        before = set(pool.pids())
        spec_file = str(pathlib.Path(__file__).resolve().parent.parent / "derivations" / "lecture_2_2_1.toml")
        # distinct answers (grade memoizes the verdicts of identical ones within a run), enough of them
        # to outlast the limit however fast one check is (about 15 ms each)
        rows = [{"student": f"s{k}", "wrt": "w^{2}_{1,1}", "answer": HOSTILE + f" + {k}"} for k in range(2000)]

        def hostile():
            t = time.monotonic()
            try:
                pool.call("grade", {"path": spec_file, "rows": rows}, timeout=3)
                out["hostile"] = "finished"
            except Exception as exc:  # JobTimeout
                out["hostile"] = str(exc)
            out["hostile_s"] = time.monotonic() - t

        th = threading.Thread(target=hostile)
        th.start()
        time.sleep(0.3)
        t = time.monotonic()
        ok = c.post("/api/verify", json={"spec": LECTURE, "wrt": "w^{2}_{1,1}", "answer": RIGHT_W2})
        other_s = time.monotonic() - t
        th.join(30)
        assert ok.json()["verdict"] == "correct" and other_s < 2.5  # not stuck behind the hostile one
        assert "stopped after 3 s" in out["hostile"]
        assert out["hostile_s"] < 8
        assert pool.killed == 1
        after = set(pool.pids())
        assert len(after) == 2 and len(before - after) == 1
        assert not any(_alive(p) for p in before - after)
        again = c.post("/api/verify", json={"spec": LECTURE, "wrt": "w^{2}_{1,1}", "answer": WRONG_W2})
        assert again.json()["verdict"] == "incorrect"
    assert not any(_alive(p) for p in after)  # shutdown leaves no worker behind


# ---------------------------------------------------------------------------------------------
# instructor: grading, worksheets, uploads


CLASS_CSV = (
    "student,wrt,answer\n"
    f"ada,\"w^{{2}}_{{1,1}}\",\"{RIGHT_W2}\"\n"
    f"bob,\"w^{{2}}_{{1,1}}\",\"{WRONG_W2}\"\n"
    "cy,\"w^{2}_{1,1}\",\"(\\hat{y}\"\n"
    "dee,b^{2}_{1},\"(\\hat{y} - y)\\hat{y}(1 - \\hat{y})\"\n"
)


def _grade(client, csv_text):
    r = client.post("/api/grade", files={"file": ("class.csv", csv_text.encode())}, data={"spec": LECTURE})
    assert r.status_code == 202, r.text
    job = r.json()["job"]
    for _ in range(200):
        st = client.get(f"/api/grade/{job}").json()
        if st["state"] != "running":
            return job, st
        time.sleep(0.1)
    raise AssertionError("grading did not finish")


def test_grade_a_class_csv(client):
    job, st = _grade(client, CLASS_CSV)
    assert st["state"] == "done" and st["done"] == st["total"] == 4
    s = st["summary"]
    assert (s["correct"], s["incorrect"], s["unparseable"]) == (2, 1, 1)
    assert st["common_mistakes"] == [["activation_derivative_missing", 1]]
    r = client.get(f"/api/grade/{job}/results.csv")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    lines = r.text.strip().splitlines()
    assert lines[0] == "row,student,wrt,verdict,mistake,decided_by,feedback"
    assert [ln.split(",")[1] for ln in lines[1:]] == ["ada", "bob", "cy", "dee"]
    report = client.get(f"/api/grade/{job}/results.json").json()
    assert [x["verdict"] for x in report["results"]] == ["correct", "incorrect", "unparseable", "correct"]


def test_grade_bad_csv_is_one_line(client):
    r = client.post("/api/grade", files={"file": ("c.csv", b"name,answer\nx,y\n")}, data={"spec": LECTURE})
    assert r.status_code == 400 and "student, wrt, answer" in _one_line_error(r)


def test_upload_a_spec(client):
    with open(os.path.join(ROOT, "derivations", "computational_graph.toml"), encoding="utf-8") as fh:
        text = fh.read()
    r = client.post("/api/specs", content=text.encode(), headers={"content-type": "text/plain"})
    assert r.status_code == 200
    name = r.json()["name"]
    assert name.startswith("upload-")
    v = client.post("/api/verify", json={"spec": name, "wrt": "x", "answer": "z"}).json()
    assert v["verdict"] == "correct"  # f = (x + y) z: df/dx = z
    bad = client.post("/api/specs", content=b"[network]\nlayers = 3\n", headers={"content-type": "text/plain"})
    assert bad.status_code == 422
    msg = _one_line_error(bad)
    assert "[network]" in msg and "/tmp" not in msg and msg.startswith("upload-")


def test_worksheet_tex_download(client):
    r = client.post("/api/worksheet", json={"spec": LECTURE, "variants": 2, "seed": 7})
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    z = zipfile.ZipFile(io.BytesIO(r.content))
    assert sorted(z.namelist()) == sorted(["lecture_2_2_1-sheet-1.tex", "lecture_2_2_1-sheet-1-answers.tex",
                                           "lecture_2_2_1-sheet-2.tex", "lecture_2_2_1-sheet-2-answers.tex"])
    assert b"\\begin{document}" in z.read("lecture_2_2_1-sheet-1.tex")
    again = client.post("/api/worksheet", json={"spec": LECTURE, "variants": 2, "seed": 7})
    assert again.content == r.content  # same spec and seed, same bytes
    bad = client.post("/api/worksheet", json={"spec": LECTURE, "variants": 99})
    assert bad.status_code == 400 and "variants" in _one_line_error(bad)


def test_worksheet_without_pdflatex_says_so(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")  # the worker starts without TeX on its PATH
    app = create_app(Settings(workers=1))
    with TestClient(app, base_url=BASE) as c:
        monkeypatch.undo()
        r = c.post("/api/worksheet", json={"spec": LECTURE, "pdf": True})
        assert r.status_code == 422 and "pdflatex is not installed" in _one_line_error(r)


# ---------------------------------------------------------------------------------------------
# the text layer


def test_normalize_mathlive_forms():
    text, changes = normalize_mathlive(r"\mleft(\mathrm{yhat}-y\mright)\cdot\sigma^{\prime}\!\left(z\right)")
    assert text == r"\left(yhat-y\right)\cdot\sigma' \left(z\right)"
    assert len(changes) == 4
    assert normalize_mathlive(r"(\hat{y}-y)a^{2}_{1}") == (r"(\hat{y}-y)a^{2}_{1}", [])
    assert normalize_mathlive(r"\frac12\timesa_1")[0] == r"\frac{1}{2}\times a_1"
    assert normalize_mathlive(r"\frac{a}2 + \frac1{b}")[0] == r"\frac{a}{2} + \frac{1}{b}"
    assert normalize_mathlive(r"\cdot\mathrm{yhat}")[0] == r"\cdot yhat"
    assert normalize_mathlive(r"\left(x\right)\tanh(x)\varepsilon")[1] == []


def test_feedback_parts_in_lecture_notation():
    # the checker's expressions come with their LaTeX (Verdict.math): typeset from it, not re-read
    text = "multiply by σ′(z^{3}_{1}) = ŷ(1 − ŷ) (∂ŷ/∂z^{3}_{1})"
    math = [("σ′(z^{3}_{1}) = ŷ(1 − ŷ)", r"\sigma'(z^{3}_{1}) = \hat{y}(1 - \hat{y})")]
    parts = feedback_parts(text, {"a^{3}_{1}": r"\hat{y}"}, math)
    assert parts[0] == {"text": "multiply by "}
    assert parts[1] == {"tex": r"\sigma'(z^{3}_{1}) = \hat{y}(1 - \hat{y})"}
    assert {"tex": r"\frac{\partial \hat{y}}{\partial z^{3}_{1}}"} in parts
    assert "".join(p.get("text", "") for p in parts) == "multiply by  ()"
    # names and ∂A/∂B in prose without math pairs are still recognized
    parts = feedback_parts("missing the factor x_1 · w^{2}_{1,1} (∂L/∂a^{3}_{1})", {"a^{3}_{1}": r"\hat{y}"})
    assert {"tex": r"\frac{\partial L}{\partial \hat{y}}"} in parts
    assert any(p.get("tex") == r"x_1 \cdot w^{2}_{1,1}" for p in parts)


# ---------------------------------------------------------------------------------------------
# the command


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_command_starts_and_stops_cleanly():
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    p = subprocess.Popen([sys.executable, "-m", "symbackprop", "serve", "--port", str(port), "--workers", "1"],
                         stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env, cwd=ROOT, text=True)
    try:
        assert f"http://127.0.0.1:{port}/" in p.stderr.readline()
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5) as r:
                    health = json.load(r)
                break
            except OSError:
                assert time.monotonic() < deadline and p.poll() is None
                time.sleep(0.3)
        assert health == {"ok": True, "workers": 1}
        children = _children(p.pid)
        assert children  # the worker
    finally:
        p.terminate()
        p.wait(20)
        p.stderr.close()
    time.sleep(0.5)
    assert not any(_alive(c) for c in children)


def _children(pid: int) -> list:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return out


def test_serve_off_loopback_generates_a_token():
    from symbackprop.cli import build_parser

    args = build_parser().parse_args(["serve", "--host", "0.0.0.0", "--token", "short"])
    from symbackprop.errors import SymbackpropError
    from symbackprop.web.cli import run

    with pytest.raises(SymbackpropError, match="--token"):
        run(args)


@pytest.mark.skipif(shutil.which("pdflatex") is None or shutil.which("pdftotext") is None,
                    reason="pdflatex/pdftotext not installed")
def test_worksheet_pdf_download_compiles_for_real(client, tmp_path):
    """With pdflatex present the zip holds real PDFs whose text is the lecture sheet (pdftotext reads it)."""
    r = client.post("/api/worksheet", json={"spec": LECTURE, "variants": 1, "seed": 7, "pdf": True})
    assert r.status_code == 200, r.text[:300]
    z = zipfile.ZipFile(io.BytesIO(r.content))
    pdfs = sorted(n for n in z.namelist() if n.endswith(".pdf"))
    assert pdfs == ["lecture_2_2_1-sheet-1-answers.pdf", "lecture_2_2_1-sheet-1.pdf"]
    for name in pdfs:
        data = z.read(name)
        assert data.startswith(b"%PDF")
        (tmp_path / name).write_bytes(data)
        text = subprocess.run(["pdftotext", str(tmp_path / name), "-"], capture_output=True, text=True).stdout
        assert "w" in text and len(text) > 200
