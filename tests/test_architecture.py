"""The package's shape: data flows one way, files a person can hold in mind.

The import graph of ``symbackprop`` is read with ``ast`` (every ``import``, also the ones inside
functions), so the test sees what the code says rather than what happens to be loaded. It asserts:

- no import circles among modules (beyond the pairs listed in ``KNOWN_CIRCLES``, each with its owner);
- no import from an earlier stage to a later one (``STAGES``; beyond ``KNOWN_BACKWARD``);
- no module over ``MAX_MODULE_LINES`` lines and no class over ``MAX_CLASS_LINES`` lines unless the
  module's docstring says why (a line starting ``Long module:`` / ``Long class:``) or it is listed in
  ``PENDING_SPLIT`` (modules to split, each with its owner).

The known lists are exact: an entry that is no longer true fails the test, so they only shrink.
"""
import ast
import pathlib

import symbackprop

ROOT = pathlib.Path(symbackprop.__file__).parent

#: The stages in the order data flows through them; a module may import its own stage and earlier ones.
STAGES = ["base", "ops", "spec", "grammar", "derivation", "render", "compile", "check", "worksheets",
          "verify", "lessons", "web", "cli"]
BASE = {"symbackprop", "symbackprop.errors", "symbackprop.fileio", "symbackprop.progress"}

#: Import circles still to break (module pairs), with the engineer who owns them.
KNOWN_CIRCLES: set = set()

#: Imports from an earlier stage to a later one that remain, and why.
KNOWN_BACKWARD = {
    # the thin Jupyter hook (Derivation._repr_markdown_), imported when a notebook displays it
    ("symbackprop.derivation.chain_rule", "symbackprop.render.markdown"),
}

MAX_MODULE_LINES = 800
MAX_CLASS_LINES = 300

#: Modules over the limits, to be split (owner in the comment); the test fails once one is split.
PENDING_SPLIT: set = set()


def _modules():
    mods = {}
    for p in sorted(ROOT.rglob("*.py")):
        rel = p.relative_to(ROOT.parent).with_suffix("")
        name = ".".join(rel.parts)
        if name.endswith(".__init__"):
            name = name[: -len(".__init__")]
        mods[name] = p
    return mods


def _edges(mods):
    edges = {m: set() for m in mods}
    for m, p in mods.items():
        pkg = m if p.name == "__init__.py" else m.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = pkg.split(".")
                    base = base[: len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                candidates = [target] + [f"{target}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                candidates = [a.name for a in node.names]
            else:
                continue
            edges[m].update(c for c in candidates if c in mods and c != m)
    return edges


def _stage(module: str) -> str:
    if module in BASE or module == "symbackprop.__main__":
        return "cli" if module.endswith("__main__") else "base"
    return module.split(".")[1]


def _circles(edges):
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]

    def visit(v):
        work = [(v, iter(sorted(edges[v])))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        while work:
            node, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                    break
                if w in on:
                    low[node] = min(low[node], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = set()
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.add(w)
                        if w == node:
                            break
                    if len(comp) > 1:
                        out.append(frozenset(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return set(out)


def test_every_module_belongs_to_a_stage():
    for m in _modules():
        assert _stage(m) in STAGES, m


def test_no_import_circles():
    assert _circles(_edges(_modules())) == KNOWN_CIRCLES


def test_no_import_from_an_earlier_stage_to_a_later_one():
    edges = _edges(_modules())
    backward = {(m, t) for m, ts in edges.items() for t in ts
                if STAGES.index(_stage(t)) > STAGES.index(_stage(m))}
    assert backward == KNOWN_BACKWARD


def test_code_generation_builds_no_check_reports_and_rendering_compiles_nothing():
    edges = _edges(_modules())
    for m, ts in edges.items():
        if _stage(m) == "compile":
            assert not any(_stage(t) == "check" for t in ts), m
        if _stage(m) == "render":
            assert not any(_stage(t) == "compile" for t in ts), m


def _too_long():
    long_modules, long_classes = set(), set()
    for p in sorted(ROOT.rglob("*.py")):
        text = p.read_text(encoding="utf-8")
        rel = str(p.relative_to(ROOT.parent))
        tree = ast.parse(text)
        doc = ast.get_docstring(tree) or ""
        if len(text.splitlines()) > MAX_MODULE_LINES and "Long module:" not in doc:
            long_modules.add(rel)
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES:
                if "Long class:" not in doc and "Long class:" not in (ast.get_docstring(node) or ""):
                    long_classes.add(rel)
    return long_modules, long_classes


def test_files_a_person_can_hold_in_mind():
    long_modules, long_classes = _too_long()
    assert (long_modules | long_classes) <= PENDING_SPLIT, sorted((long_modules | long_classes) - PENDING_SPLIT)
    assert PENDING_SPLIT <= (long_modules | long_classes), sorted(PENDING_SPLIT - (long_modules | long_classes))


def test_the_registry_is_the_only_place_that_names_the_lectures_rules():
    """The matrix form restates no derivative: its rules are views built from ``ops``."""
    from symbackprop.derivation import matrix_form
    from symbackprop.ops.activations import ACTIVATIONS
    from symbackprop.ops.losses import LOSSES

    assert set(matrix_form.ACTIVATION_RULES) == set(ACTIVATIONS)
    assert set(matrix_form.LOSS_RULES) == set(LOSSES)
    source = (ROOT / "derivation" / "matrix_form.py").read_text(encoding="utf-8")
    assert "Hadamard(a, Sub(Scalar(sympy.S.One), a))" not in source


def test_the_trainer_imports_nothing_of_the_symbolic_side():
    edges = _edges(_modules())
    assert edges["symbackprop.check.trainer"] <= {"symbackprop.errors"}
    text = (ROOT / "check" / "trainer.py").read_text(encoding="utf-8")
    assert "sympy" not in {a.name.split(".")[0] for n in ast.walk(ast.parse(text))
                           if isinstance(n, ast.Import) for a in n.names}
