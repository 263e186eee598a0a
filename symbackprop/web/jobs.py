r"""What the web app's workers compute: each job is a pure function of a spec file and the request's text.

Runs inside a worker process (:mod:`symbackprop.web.workers`), never in the server: a job may be
slow or hostile and is killed when it runs past its limit.  Every spec comes by a path the server
chose from its fixed list (never a path from a request); the request's text (an answer, a ``wrt``)
only reaches the library's own parser, never ``eval``.

Each job returns plain JSON-able data (and ``bytes`` for downloads):

- ``info``: title, notation, loss and reduction (LaTeX), the targets one may differentiate
  (``name``, ``latex``), the network drawing as SVG (:mod:`symbackprop.web.svg`) and the given numbers.
- ``verify``: the verdict of :class:`symbackprop.verify.answers.AnswerChecker`, its feedback cut into
  prose and math (:func:`symbackprop.web.mathtext.feedback_parts`), the first wrong step.
- ``hint``: level 1 the path(s) of influence, level 2 also the local derivatives, never the product.
- ``solution``: the worked derivation as one LaTeX ``aligned`` block (the student page).
- ``document``: the full derivation as HTML with LaTeX in ``data-tex`` (the instructor page).
- ``worksheet``: a zip of the worksheet, key and variants as .tex (and PDF when pdflatex is there).
- ``grade``: rows of a class CSV graded (a chunk at a time, so the server can show progress).
"""
from __future__ import annotations

import io
import os
import tempfile
import zipfile
from functools import lru_cache

from ..errors import NotSupportedError, SpecError

#: Networks with more parameters than this get no per-scalar derivation here (the library's bound)
SCALAR_MAX_PARAMETERS = 5000
MAX_TARGETS_LISTED = 80


def _parameter_count(spec) -> int:
    if spec.network is None:
        return 0
    L = spec.network.layers
    return sum(L[k] * L[k + 1] + L[k + 1] for k in range(len(L) - 1))


@lru_cache(maxsize=32)
def _loaded(path: str, mtime: float):
    """(spec, derivation or None, matrix derivation or None) for a spec file, cached per file version."""
    from ..derivation.chain_rule import derive
    from ..spec.load import load_spec

    spec = load_spec(path)
    scalar_ok = _parameter_count(spec) <= SCALAR_MAX_PARAMETERS
    d = derive(spec) if scalar_ok else None
    md = None
    if spec.network is not None and (spec.notation == "matrix" or not scalar_ok):
        from ..derivation.matrix_form import matrix_derive

        md = matrix_derive(spec)
    return spec, d, md


def _mtime(path: str) -> float:
    try:
        return os.path.getmtime(path)
    except OSError:
        raise SpecError(f"{os.path.basename(path)}: the spec file is gone") from None


def loaded(path: str):
    return _loaded(path, _mtime(path))


def _checker(path: str):
    from ..verify.checker import checker_for_spec

    return checker_for_spec(path)


# ---------------------------------------------------------------------------------------------
# info


def _reduction_tex(spec) -> str:
    if spec.reduction == "mean":
        return r"\frac{1}{n}\sum_{e=1}^{n} L_e" + rf"\quad (n = {spec.n_examples})"
    return r"\sum_{e=1}^{n} L_e" + rf"\quad (n = {spec.n_examples})"


def _given_numbers(spec, d) -> list:
    """The given numbers as LaTeX lines: x and y of each example, the weights and biases (or the graph's data)."""
    import sympy

    out = []
    if spec.network is not None:
        for e, (xs, ys) in enumerate(zip(spec.x[:6], spec.y[:6]), start=1):
            xt = ", ".join(sympy.latex(v) for v in xs[:8]) + (r", \ldots" if len(xs) > 8 else "")
            yt = ", ".join(sympy.latex(v) for v in ys[:8])
            out.append(rf"\text{{example {e}:}}\; x = ({xt}),\; y = ({yt})")
        if len(spec.x) > 6:
            out.append(rf"\ldots\ \text{{{len(spec.x)} examples in all}}")
        if spec.weights is not None and _parameter_count(spec) <= 60:
            for k, (W, b) in enumerate(zip(spec.weights, spec.biases), start=1):
                rows = r" \\ ".join(" & ".join(sympy.latex(v) for v in row) for row in W)
                bias = r" \\ ".join(sympy.latex(v) for v in b)
                shown = (rf"b^{{{k}}} = {sympy.latex(b[0])}\;\text{{(one bias for the layer)}}"
                         if spec.network.shared_biases else rf"b^{{{k}}} = \begin{{pmatrix}} {bias} \end{{pmatrix}}")
                out.append(rf"W^{{{k}}} = \begin{{pmatrix}} {rows} \end{{pmatrix}},\; {shown}")
            out.append(r"\text{row } i \text{, column } j \text{ of } W^{k} \text{ is } w^{k}_{i,j}")
        elif spec.weights is not None:
            out.append(r"\text{weights and biases: from the spec (too many to list)}")
    else:
        from ..render.latex import Notation

        nt = Notation(d)
        for name, values in spec.data:
            vs = ", ".join(sympy.latex(v) for v in values[:8])
            out.append(f"{nt.tex(name)} = {vs}")
        for name, value in spec.parameter_values:
            out.append(f"{nt.tex(name)} = {sympy.latex(value)}")
    return out


def info(path: str) -> dict:
    from . import svg

    spec, d, md = loaded(path)
    targets = []
    if md is not None:
        for s in md.backward:
            targets.append({"name": s.name, "latex": s.target.latex(), "kind": "matrix"})
    if d is not None:
        from ..render.latex import Notation

        nt = Notation(d)
        g = d.graph
        for name in d.parameters:
            targets.append({"name": name, "latex": nt.tex(name), "kind": "parameter"})
        for n in g.nodes:
            if n.name == g.output or n.name in d.parameters:
                continue
            if n.is_leaf and (g.mode == "network" or not g.influences(n.name)):
                continue
            targets.append({"name": n.name, "latex": nt.tex(n.name), "kind": "node"})
    if spec.network is not None:
        from ..ops.losses import get_loss

        loss = get_loss(spec.network.loss).latex
        loss_name = spec.network.loss
    else:
        from ..render.latex import Notation

        nt = Notation(d)
        out = d.graph.node(d.graph.output)
        loss = f"{nt.tex(out.name)} = {nt.latex(out.definition)}"
        loss_name = "graph output"
    drawing = svg.drawing_svg(d) if d is not None else None
    return {
        "title": spec.title or os.path.splitext(os.path.basename(path))[0],
        "mode": spec.mode,
        "notation": "matrix" if md is not None else "index",
        "layers": list(spec.network.layers) if spec.network is not None else None,
        "loss": loss,
        "loss_name": loss_name,
        "reduction": spec.reduction,
        "reduction_latex": _reduction_tex(spec),
        "targets": targets[:MAX_TARGETS_LISTED],
        "targets_total": len(targets),
        "drawing_svg": drawing,
        "given": _given_numbers(spec, d) if d is not None or spec.network is not None else [],
    }


# ---------------------------------------------------------------------------------------------
# verify


def _display_names(path: str) -> dict:
    """{canonical LaTeX name: lecture LaTeX}: the output activation as \\hat{y}, the target as y."""
    spec, d, md = loaded(path)
    if d is None or d.graph.mode != "network":
        return {}
    from ..render.latex import Notation

    nt = Notation(d)
    import sympy

    from ..spec import names

    return {sympy.latex(names.symbol(k)): v for k, v in nt.display.items()}


def verify(path: str, answer: str, wrt: str | None) -> dict:
    from .mathtext import feedback_parts, lecture_tex, normalize_mathlive

    text, changes = normalize_mathlive(answer)
    verdict = _checker(path).check(text, wrt)
    out = verdict.to_json()
    shown = _display_names(path)
    out["normalized"] = changes
    out["checked_text"] = text
    out["feedback_parts"] = feedback_parts(verdict.feedback, shown, getattr(verdict, "math", ()))
    out["decided_by_parts"] = feedback_parts(verdict.decided_by, shown) if verdict.decided_by else []
    out["expected_latex"] = lecture_tex(verdict.expected, shown) if verdict.expected else None
    wrong = [s for s in verdict.steps if not s.equal]
    out["first_wrong_step"] = wrong[0].index if wrong else None
    if verdict.note:
        out["note_parts"] = feedback_parts(verdict.note, shown)
    return out


# ---------------------------------------------------------------------------------------------
# hint and solution


def _resolve_scalar(d, wrt: str) -> str:
    """The node ``wrt`` names, read as ``verify --wrt`` reads it (one reader for every face)."""
    from ..verify.wrt import wrt_name

    return wrt_name(d, wrt)


def _matrix_step_name(md, wrt: str):
    try:
        return md.step(wrt)
    except SpecError:
        return None


def hint(path: str, wrt: str, level: int) -> dict:
    spec, d, md = loaded(path)
    step = _matrix_step_name(md, wrt) if md is not None else None
    if step is not None:
        used = [m for m in step.expression.matrices()]
        lines = [rf"{step.target.latex()}\ \text{{is computed from}}\ " + ",\\ ".join(_mat_tex(m) for m in used)]
        if level >= 2:
            lines.append(rf"\text{{shapes: }} {step.shapes_latex}")
            if step.justification_latex:
                lines.append(step.justification_latex)
        return {"level": min(level, 2), "lines": lines, "more": level < 2}
    if d is None:
        raise NotSupportedError("this network is too big for per-weight hints; ask for a gradient matrix (dW_1, ...)")
    from ..render.latex import Numbers, Renderer

    name = _resolve_scalar(d, wrt)
    r = Renderer(d, 2, Numbers.from_spec(d))
    nt = r.nt
    paths = d.paths(name, limit=9)
    if not paths:
        return {"level": 1, "lines": [rf"{nt.tex(name)}\ \text{{does not influence}}\ {nt.out_tex}"], "more": False}
    lines = []
    for p in paths[:8]:
        chain = r" \to ".join(nt.tex(v) for v in p.nodes)
        lines.append(rf"\text{{path of influence: }} {chain}")
    if len(paths) > 8:
        lines.append(r"\ldots\ \text{and more paths}")
    if len(paths) <= 8:
        sums = [" ".join(r.path_product_fracs(p)) for p in paths]
        lines.append(f"{nt.grad(name)} = " + " + ".join(sums))
    if level >= 2:
        seen = set()
        for p in paths[:8]:
            for f in reversed(p.factors):
                key = (f.child, f.parent)
                if key in seen:
                    continue
                seen.add(key)
                lines.append(f"{nt.local(f.child, f.parent)} = {nt.latex(f.expression)}")
    return {"level": min(level, 2), "lines": lines, "more": level < 2}


def _mat_tex(name: str) -> str:
    import re

    if name == "yhat":
        return r"\hat{y}"
    m = re.fullmatch(r"([A-Za-z]+)_(\d+)", name)
    return f"{m.group(1)}_{{{m.group(2)}}}" if m else name


def solution(path: str, wrt: str) -> dict:
    spec, d, md = loaded(path)
    step = _matrix_step_name(md, wrt) if md is not None else None
    if step is not None:
        rows = []
        for s in md.steps_for([wrt]):
            rows.append(rf"{s.target.latex()} &= {s.expression.latex()} && \text{{({s.rule})}}")
        return {"latex": "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}",
                "details": [ln for ln in step.lines] + ([step.justification_latex] if step.justification_latex else [])}
    if d is None:
        raise NotSupportedError("this network is too big for a per-weight solution; ask for a gradient matrix")
    from ..render.latex import derivation_math

    name = _resolve_scalar(d, wrt)
    return {"latex": derivation_math(d, name), "details": []}


def document(path: str) -> dict:
    from ..render.latex import spec_document
    from .texhtml import tex_to_html

    spec, d, md = loaded(path)
    tex = spec_document(spec, fragment=True)
    return {"html": tex_to_html(tex)}


# ---------------------------------------------------------------------------------------------
# worksheets and grading


def worksheet(path: str, variants: int | None, seed: int, pdf: bool) -> dict:
    from ..render.pdf import pdflatex_path
    from ..worksheets.index import write_worksheets
    from ..worksheets.matrix import is_matrix_spec

    spec, d, md = loaded(path)
    if pdf and pdflatex_path() is None:
        raise NotSupportedError("no PDF: pdflatex is not installed on the server (download the .tex and "
                                "compile it yourself, or install TeX Live)")
    source = spec if is_matrix_spec(spec) else d
    if source is None:
        raise NotSupportedError("this network is too big for a worksheet (at most 6 nodes per layer)")
    stem = os.path.splitext(os.path.basename(path))[0]
    with tempfile.TemporaryDirectory(prefix="symbackprop-web-") as tmp:
        out = os.path.join(tmp, f"{stem}-sheet.tex")
        written = write_worksheets(source, out, variants=variants, seed=seed, pdf=pdf)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for p in sorted(written):
                info_ = zipfile.ZipInfo(os.path.basename(p), date_time=(1980, 1, 1, 0, 0, 0))
                info_.compress_type = zipfile.ZIP_DEFLATED
                with open(p, "rb") as fh:
                    z.writestr(info_, fh.read())
        names_ = [os.path.basename(p) for p in sorted(written)]
    return {"zip": buf.getvalue(), "files": names_, "name": f"{stem}-worksheets.zip"}


def grade(path: str, rows: list) -> list:
    from ..verify.grading import grade_rows

    checker = _checker(path)
    return grade_rows(checker, rows)["results"]


def parse_csv(text: str) -> list:
    from ..verify.grading import parse_answers_csv

    return parse_answers_csv(text, source="the uploaded CSV")


JOBS = {
    "ping": lambda: "pong",
    "info": info,
    "verify": verify,
    "hint": hint,
    "solution": solution,
    "document": document,
    "worksheet": worksheet,
    "grade": grade,
    "parse_csv": parse_csv,
}


def run(kind: str, payload: dict):
    """Run job ``kind`` with keyword arguments ``payload`` (the worker's entry point)."""
    try:
        fn = JOBS[kind]
    except KeyError:
        raise SpecError(f"unknown job {kind!r}") from None
    return fn(**payload)
