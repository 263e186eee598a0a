"""Hostile titles, paths and node names never become code; no on-disk cache is trusted;
graph-mode NumPy stays finite and right at large |z|.

Oracles share no code with the generator: ``ast`` (what the module is made of), the titles
themselves (round trip through ``TITLE``), closed-form gradients and central finite differences
written here in plain Python, and mpmath at 50 digits.
"""
import ast
import dataclasses
import hashlib
import json
import keyword
import math
import os
import stat
import subprocess
import sys
import tempfile
import types

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symbackprop import compile_gradients, derive, parse_spec
from symbackprop.compile import numpy_backend as nb
from symbackprop.compile.matrix_numpy import export_matrix_module, generate_matrix_source
from symbackprop.compile.numpy_backend import export_module, generate_source
from symbackprop.derivation.matrix_form import matrix_derive
from symbackprop.spec.load import load_spec

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

HOSTILE_TITLES = [
    'x"""; __import__("os").system("touch PWNED"); """',
    "x'''; __import__('os').system('touch PWNED'); '''",
    '"""', "'''", '"', "'", '\\', 'ends with a backslash \\', '\\"""; import os; os.system("touch PWNED") #',
    r"\N", r"\N{BULLET", r"\x", r"\x4", r"\U", r"\U0001", r"\u12", r"C:\Users\new\x41\N\U",
    "nul\x00byte", "new\nline\n__import__('os').system('touch PWNED')", "cr\rreturn", "tab\tform\x0cfeed\x0b",
    "line\u2028separator\u2029para", "bidi \u202e\u2066 override", "emoji \U0001F600 é ŷ σ′ ∂",
    "{0} {title} %s %(x)s", "# comment\n__import__('os').system('touch PWNED')", "\x1b[31mred\x1b[0m",
    "\ufeffbom", "",
]

NET = """
[network]
layers = [2, 2, 1]
activations = ["sigmoid", "sigmoid"]
loss = "half_squared_error"
[parameters]
seed = 3
[data]
x = [[1, 0], [0.5, -2]]
y = [[1], [0]]
"""


def _check_module_is_only_data_and_functions(src: str, title: str | None = None):
    """The module compiles, its top level is a docstring, ``import numpy``, literal assignments and
    function definitions only, and TITLE (when given) is exactly the title as data."""
    tree = ast.parse(src)
    compile(src, "<test>", "exec", dont_inherit=True)  # compiled only, never run here
    seen = {}
    for k, node in enumerate(tree.body):
        if k == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the fixed module docstring
        if isinstance(node, ast.Import):
            assert [a.name for a in node.names] == ["numpy"] and node.names[0].asname is None
            continue
        if isinstance(node, ast.FunctionDef):
            assert not node.decorator_list
            continue
        assert isinstance(node, ast.Assign), ast.dump(node)
        assert len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
        seen[node.targets[0].id] = ast.literal_eval(node.value)  # data only, or this raises
        assert ast.get_source_segment(src, node).isascii()  # user text as escaped ASCII literals only
    for node in ast.walk(tree):
        assert not isinstance(node, (ast.ImportFrom,)), "imports only numpy"
        if isinstance(node, ast.Import):
            assert [a.name for a in node.names] == ["numpy"]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in ("eval", "exec", "__import__", "open", "compile", "getattr")
    if title is not None:
        assert seen["TITLE"] == title
    for fn in [n for n in tree.body if isinstance(n, ast.FunctionDef)]:
        doc = ast.get_docstring(fn, clean=False)
        assert doc is None or title is None or not title or title not in doc or len(title) < 3
    if title and len(title) >= 3:
        assert title not in (ast.get_docstring(tree, clean=False) or "")
    return seen


def _sigma(z):
    return 1.0 / (1.0 + math.exp(-z))


def _net_loss(p, X, Y):
    """J of the [2, 2, 1] sigmoid network with half squared error (mean), written out by hand."""
    total = 0.0
    for (x1, x2), (y,) in zip(X, Y):
        a = [_sigma(p[f"w^{{1}}_{{{i},1}}"] * x1 + p[f"w^{{1}}_{{{i},2}}"] * x2 + p[f"b^{{1}}_{{{i}}}"]) for i in (1, 2)]
        yhat = _sigma(p["w^{2}_{1,1}"] * a[0] + p["w^{2}_{1,2}"] * a[1] + p["b^{2}_{1}"])
        total += 0.5 * (y - yhat) ** 2
    return total / len(X)


def _fd(f, p, name, h=1e-6):
    up, down = dict(p), dict(p)
    up[name] += h
    down[name] -= h
    return (f(up) - f(down)) / (2 * h)


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def net_spec():
    return parse_spec(NET)


@pytest.mark.parametrize("backend", ["per-scalar", "matrix"])
@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_network_title_is_data_in_both_backends(net_spec, title, backend, in_tmp):
    d = derive(dataclasses.replace(net_spec, title=title))
    c = compile_gradients(d, backend=backend)
    assert c.kind == backend
    _check_module_is_only_data_and_functions(c.source, title or d.spec.source)
    assert c.module.TITLE == (title or d.spec.source)  # an empty title falls back to the file name
    assert not (in_tmp / "PWNED").exists() and os.listdir(in_tmp) == []
    params = {k: 0.3 * (i % 3) - 0.4 for i, k in enumerate(d.parameters)}
    X, Y = [[1.0, 0.0], [0.5, -2.0]], [[1.0], [0.0]]
    grads = c.gradients(params, X, Y)
    for k in d.parameters:
        assert grads[k] == pytest.approx(_fd(lambda q: _net_loss(q, X, Y), params, k), rel=1e-6, abs=1e-9), k


@pytest.mark.parametrize("title", HOSTILE_TITLES[:8] + HOSTILE_TITLES[13:18])
def test_untitled_spec_named_by_a_hostile_path(net_spec, title, in_tmp):
    """The file name stands in for a missing title: it is data too (NUL cannot be a file name,
    so paths are checked by the source field)."""
    path = "C:\\Users\\new\\" + title + ".toml"
    d = derive(dataclasses.replace(net_spec, title=None, source=path))
    for src in (generate_source(d), generate_matrix_source(matrix_derive(d))):
        assert _check_module_is_only_data_and_functions(src, path)["TITLE"] == path
    assert not (in_tmp / "PWNED").exists()


def test_hostile_file_name_through_the_loader_and_the_cli(in_tmp):
    """Untitled specs whose file names are code, through export (index and matrix form), grad and check."""
    name = 'a""";__import__("os").system("touch PWNED");""" \\N \\x \\U'
    (in_tmp / (name + ".toml")).write_text(NET, encoding="utf-8")
    (in_tmp / (name + "m.toml")).write_text('notation = "matrix"\n' + NET, encoding="utf-8")
    (in_tmp / (name + "g.toml")).write_text('[graph]\nequations = ["p = x + y", "q = p * z"]\n'
                                              '[data]\nx = [1, 2]\ny = [3, 4]\nz = [5, -6]\n', encoding="utf-8")
    spec = load_spec(str(in_tmp / (name + ".toml")))
    c = compile_gradients(derive(spec), backend="per-scalar")
    assert c.module.TITLE == str(in_tmp / (name + ".toml"))
    env = dict(os.environ, PYTHONPATH=ROOT)
    for args in (["export", name + ".toml", "-o", "out.py"], ["export", name + "m.toml", "-o", "out_m.py"],
                 ["export", name + "g.toml", "-o", "out_g.py"], ["grad", name + ".toml", "--json"],
                 ["grad", name + "g.toml", "--json"], ["check", name + "m.toml"], ["check", name + "g.toml"]):
        r = subprocess.run([sys.executable, "-m", "symbackprop", *args], capture_output=True, text=True, env=env,
                           cwd=in_tmp, timeout=120)
        assert r.returncode == 0, (args, r.stderr)
    assert not (in_tmp / "PWNED").exists()
    for out, tail in (("out.py", ".toml"), ("out_m.py", "m.toml"), ("out_g.py", "g.toml")):
        src = (in_tmp / out).read_text(encoding="utf-8")
        _check_module_is_only_data_and_functions(src, name + tail)
    assert "LAYERS = " in (in_tmp / "out_m.py").read_text(encoding="utf-8")  # the matrix-form module


def _run_exported(path, params, X, Y):
    code = ("import sys, json; sys.modules['sympy'] = None; sys.modules['symbackprop'] = None\n"
            "import importlib.util\n"
            f"s = importlib.util.spec_from_file_location('g', {str(path)!r}); m = importlib.util.module_from_spec(s)\n"
            "s.loader.exec_module(m)\n"
            f"print(json.dumps([m.TITLE, m.gradients({params!r}, {X!r}, {Y!r})]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60,
                         cwd=os.path.dirname(path))
    return json.loads(out.stdout)


@pytest.mark.parametrize("which", ["per-scalar", "matrix"])
def test_exported_modules_hold_no_user_text_and_need_only_numpy(net_spec, which, in_tmp):
    title = HOSTILE_TITLES[0] + HOSTILE_TITLES[13] + "\x00\n\u202e"
    d = derive(dataclasses.replace(net_spec, title=title))
    path = in_tmp / f"exported_{which}.py"
    (export_module if which == "per-scalar" else export_matrix_module)(d, str(path))
    _check_module_is_only_data_and_functions(path.read_text(encoding="utf-8"), title)
    params = {k: 0.2 + 0.1 * i for i, k in enumerate(d.parameters)}
    X, Y = [[1.0, 0.0], [0.5, -2.0]], [[1.0], [0.0]]
    got_title, grads = _run_exported(str(path), params, X, Y)
    assert got_title == title
    assert not (in_tmp / "PWNED").exists()
    for k in d.parameters:
        assert grads[k] == pytest.approx(_fd(lambda q: _net_loss(q, X, Y), params, k), rel=1e-6, abs=1e-9), k


# ------------------------------------------------------------------ graph mode: hostile node names

TITLE_PIECES = ['"""', "'''", "\\", "\\N", "\\x", "\\U", "\x00", "\n", "\r", '"', "'", "#", "\u202e"]
GRAPH_NAMES = ["lambda", "class", "None", "True", "False", "def", "import", "print", "exec", "eval", "numpy",
               "X", "Y", "r", "params", "v0", "v1", "d", "dx", "NAMES", "TITLE", "forward", "yield", "await",
               "match", "case", "type", "self", "L", "f", "g", "x", "y", "z"]


def _graph(a, b, c, p, q, title='x"""; __import__("os").system("touch PWNED"); """'):
    """p = a + b, q = p * c (as the issue's `lambda = x + None`, `class = lambda * z`)."""
    spec = parse_spec(f'[graph]\nequations = ["{p} = {a} + {b}", "{q} = {p} * {c}"]\n[data]\n'
                      f'{a} = [-2, 0.5]\n{b} = [5, 1.5]\n{c} = [-4, 3]\n')
    return derive(dataclasses.replace(spec, title=title))


def _check_graph(d, a, b, c, p, q, folder):
    cg = compile_gradients(d)
    _check_module_is_only_data_and_functions(cg.source)
    names = cg.module.NAMES
    assert sorted(names.values()) == sorted({a, b, c, p, q}) and len(names) == 5
    assert all(k.isidentifier() and not keyword.iskeyword(k) and k.isascii() for k in names)
    data = {a: [-2.0, 0.5], b: [5.0, 1.5], c: [-4.0, 3.0]}
    values = cg.forward({}, data)
    grads = cg.node_gradients({}, data)
    for e in range(2):
        va, vb, vc = data[a][e], data[b][e], data[c][e]
        assert values[p][e] == va + vb and values[q][e] == (va + vb) * vc
        f = lambda u, v, w: (u + v) * w  # noqa: E731
        h = 1e-6
        fd = [(f(va + h, vb, vc) - f(va - h, vb, vc)) / (2 * h), (f(va, vb + h, vc) - f(va, vb - h, vc)) / (2 * h),
              (f(va, vb, vc + h) - f(va, vb, vc - h)) / (2 * h)]
        for name, want in zip((a, b, c), fd):
            assert grads[name][e] == pytest.approx(want, rel=1e-8)
        assert grads[p][e] == vc and grads[q][e] == 1.0
    assert not (folder / "PWNED").exists()


def test_graph_nodes_named_as_python_keywords(in_tmp):
    for a, b, c, p, q in [("x", "None", "z", "lambda", "class"), ("True", "False", "print", "def", "import"),
                          ("X", "Y", "r", "params", "numpy"), ("v1", "v0", "d", "NAMES", "TITLE"),
                          ("exec", "eval", "type", "yield", "await")]:
        _check_graph(_graph(a, b, c, p, q), a, b, c, p, q, in_tmp)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.sampled_from(GRAPH_NAMES + keyword.kwlist + list(keyword.softkwlist)),
                          st.from_regex(r"\A[A-Za-z][A-Za-z0-9]{0,5}\Z")), min_size=5, max_size=5, unique=True),
       st.lists(st.one_of(st.characters(blacklist_categories=("Cs",)), st.sampled_from(TITLE_PIECES)),
                max_size=20).map("".join))
def test_fuzz_graph_names_and_titles(in_tmp, picked, title):
    a, b, c, p, q = picked
    try:
        d = _graph(a, b, c, p, q, title=title)
    except Exception as exc:  # a name the grammar reads as a function or a number is a spec error, not code
        from symbackprop.errors import SymbackpropError
        assert isinstance(exc, SymbackpropError), exc
        return
    src = generate_source(d)
    assert _check_module_is_only_data_and_functions(src, title or d.spec.source)["TITLE"] == (title or d.spec.source)
    _check_graph(d, a, b, c, p, q, in_tmp)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12), min_size=1,
                max_size=8, unique=True))
def test_any_unicode_node_names_map_to_safe_identifiers(node_names):
    """Names the grammar never produces (Unicode, quotes, NULs) still only reach the source as data."""
    fake = types.SimpleNamespace(graph=types.SimpleNamespace(nodes=[types.SimpleNamespace(name=n) for n in node_names]))
    m = nb._ident_map(fake)
    assert len(set(m.values())) == len(node_names)
    for ident in m.values():
        assert ident.isascii() and ident.isidentifier() and not keyword.iskeyword(ident)
        assert ident not in ("numpy", "X", "Y", "r", "params")
    literal = nb._lit({v: k for k, v in m.items()})
    assert literal.isascii() and ast.literal_eval(literal) == {v: k for k, v in m.items()}
    assert ast.literal_eval(nb._lit(tuple(node_names))) == tuple(node_names)


# ------------------------------------------------------------------ no trusted cache on disk

def _old_cache_path(tmpdir, source):
    uid = os.getuid() if hasattr(os, "getuid") else "u"
    return os.path.join(tmpdir, f"symbackprop-{uid}", f"grad_{hashlib.sha256(source.encode()).hexdigest()[:20]}.py")


@pytest.mark.parametrize("mode", [0o700, 0o777])
def test_a_planted_module_in_the_old_cache_folder_is_never_imported(net_spec, tmp_path, monkeypatch, mode):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    pwned = tmp_path / "PWNED"
    planted = f"open({str(pwned)!r}, 'w').close()\nPARAMETERS = ('planted',)\n"
    d = derive(dataclasses.replace(net_spec, title=f"planted {mode:o}"))
    sources = {"per-scalar": generate_source(d), "matrix": generate_matrix_source(matrix_derive(d))}
    for src in sources.values():
        path = _old_cache_path(str(tmp_path), src)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.chmod(os.path.dirname(path), mode)
        with open(path, "w") as fh:
            fh.write(planted)
    before = sorted(os.path.join(r, f) for r, _, fs in os.walk(tmp_path) for f in fs)
    for backend, src in sources.items():
        c = compile_gradients(d, backend=backend)
        assert c.source == src
        assert "planted" not in c.parameters and len(c.parameters) == 9
    assert not pwned.exists()
    after = sorted(os.path.join(r, f) for r, _, fs in os.walk(tmp_path) for f in fs)
    assert after == before  # nothing written: no cache, no __pycache__, no XDG folder
    assert not (tmp_path / "xdg").exists()
    assert stat.S_IMODE(os.stat(os.path.dirname(_old_cache_path(str(tmp_path), src))).st_mode) == mode


def test_generated_modules_have_no_file_and_show_their_lines_in_tracebacks(net_spec):
    c = compile_gradients(derive(net_spec), backend="per-scalar")
    assert getattr(c.module, "__file__", None) is None
    assert c.module.__spec__.origin.startswith("<symbackprop generated")
    import traceback

    with pytest.raises(KeyError) as info:
        c.gradients({}, [[1.0, 0.0]], [[1.0]])
    text = "".join(traceback.format_exception(info.value))
    assert "symbackprop generated" in text and "params[name]" in text


# ------------------------------------------------------------------ graph mode at large |z|

PREC = 1500  # digits: enough for 1 − σ(2000) and e^{−1600} to be far from zero


def _mp_sigma(z):
    return 1 / (1 + mpmath.exp(-z))


STABLE = [
    # (equations, inputs, mpmath f(x))
    ("f = log(sigma(1000 x))", lambda x: mpmath.log(_mp_sigma(1000 * x))),
    ("f = log(1 - sigma(1000 x))", lambda x: mpmath.log(1 - _mp_sigma(1000 * x))),
    ("f = softplus(800 x)", lambda x: mpmath.log(1 + mpmath.exp(800 * x))),
    ("f = log(1 + exp(900 x))", lambda x: mpmath.log(1 + mpmath.exp(900 * x))),
    ("f = log(exp(800 x) + exp(-800 x))", lambda x: mpmath.log(mpmath.exp(800 * x) + mpmath.exp(-800 * x))),
    ("f = exp(900 x) / (1 + exp(900 x))", lambda x: mpmath.exp(900 * x) / (1 + mpmath.exp(900 * x))),
    ("f = sigma(40 x) (1 - sigma(40 x))", lambda x: _mp_sigma(40 * x) * (1 - _mp_sigma(40 * x))),
    ("f = tanh(30 x)", lambda x: mpmath.tanh(30 * x)),
]
POINTS = [-1.0, -0.75, -0.5, -0.05, 0.0, 0.03, 0.5, 1.0]


@pytest.mark.parametrize("equation,exact", STABLE, ids=[s[0] for s in STABLE])
def test_graph_mode_is_finite_and_right_at_large_z(equation, exact):
    d = derive(parse_spec(f'[graph]\nequations = ["{equation}"]\n[data]\nx = {POINTS}\n'))
    c = compile_gradients(d)
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        value = c.forward({}, {"x": POINTS})["f"]
        grad = c.node_gradients({}, {"x": POINTS})["x"]
    for k, x in enumerate(POINTS):
        with mpmath.workdps(PREC):
            want = exact(mpmath.mpf(x))
            dwant = mpmath.diff(exact, mpmath.mpf(x))
        for got, ref in ((value[k], want), (grad[k], dwant)):
            ref = float(ref)
            assert np.isfinite(got), (equation, x)
            # relative to the value, with an absolute floor far below any double a gradient rounds to
            assert abs(got - ref) <= 1e-10 * abs(ref) + 1e-300, (equation, x, got, ref)


def test_graph_logistic_regression_saturated_is_finite_and_exact():
    """BCE written as graph equations: log(s) and log(1 − s) of a node s = σ(u), and ∂L/∂u = s − y."""
    d = derive(parse_spec('[graph]\nequations = ["u = w x + b", "s = sigma(u)", '
                          '"L = -(y log(s) + (1 - y) log(1 - s))"]\nparameters = ["w", "b"]\nreduction = "sum"\n'
                          '[data]\nx = [-1, 1, 2]\ny = [1, 1, 0]\n[parameters]\nw = 2\nb = 0\n'))
    c = compile_gradients(d)
    data = {"x": [-1.0, 1.0, 2.0], "y": [1.0, 1.0, 0.0]}
    for w, b in ((1000.0, 0.0), (-800.0, 3.0), (0.7, -0.2)):
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            J = c.loss({"w": w, "b": b}, data)
            g = c.gradients({"w": w, "b": b}, data)

        def J_mp(W, B):
            total = 0
            for x, y in zip(data["x"], data["y"]):
                s = _mp_sigma(W * x + B)
                total += -(y * mpmath.log(s) + (1 - y) * mpmath.log(1 - s))
            return total
        with mpmath.workdps(PREC):
            W, B = mpmath.mpf(w), mpmath.mpf(b)
            want = [float(J_mp(W, B)), float(mpmath.diff(lambda t: J_mp(t, B), W)),
                    float(mpmath.diff(lambda t: J_mp(W, t), B))]
        assert J == pytest.approx(want[0], rel=1e-12)
        assert g["w"] == pytest.approx(want[1], rel=1e-12, abs=1e-300)
        assert g["b"] == pytest.approx(want[2], rel=1e-12, abs=1e-300)


def test_grad_json_loss_is_a_number_for_a_saturated_log_sigma(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('[graph]\nequations = ["f = log(sigma(1000 x))"]\n[data]\nx = [-1, 1]\n', encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "symbackprop", "grad", str(spec), "--json"], capture_output=True,
                       text=True, env=dict(os.environ, PYTHONPATH=ROOT), timeout=120)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["loss"] == pytest.approx(-500.0, rel=1e-12)  # mean of log σ(−1000) ≈ −1000 and log σ(1000) ≈ 0


def test_in_memory_modules_are_bounded_and_reused():
    first = nb._load_source("VALUE = -1\n", "t")
    assert nb._load_source("VALUE = -1\n", "t") is first  # same source, same module, compiled once
    mods = [nb._load_source(f"VALUE = {k}\n", "t") for k in range(nb._MAX_MODULES + 6)]
    assert len(nb._MODULES) <= nb._MAX_MODULES
    assert [m.VALUE for m in mods[-3:]] == [nb._MAX_MODULES + 3, nb._MAX_MODULES + 4, nb._MAX_MODULES + 5]
    assert first.__name__ not in sys.modules  # evicted (its objects still work for whoever holds them)
    assert first.VALUE == -1
