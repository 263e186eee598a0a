r"""Grade a whole class at once: one answer per CSV row, one verdict per row, and a summary.

The CSV has a header with the columns ``student``, ``wrt`` and ``answer`` (any order, more
columns ignored; ``wrt`` may be empty when the answer starts with a Leibniz left-hand side
``\frac{\partial L}{\partial w^{1}_{1,1}} = ...``).  Each row is checked by
:class:`symbackprop.verify.answers.AnswerChecker` (one checker per spec, so the reference
derivatives are computed once); a row that cannot be read or checked becomes an
``unparseable`` result with the reason, and the batch goes on.

>>> report = grade_rows(checker, [{"student": "ada", "wrt": "x", "answer": "z"}])
>>> report["summary"]["correct"]
1
"""
from __future__ import annotations

import csv
import io
import os
import sys
import time

from ..verify.checker import AnswerChecker
from ..verify.verdict import CORRECT, INCORRECT, UNPARSEABLE
from ..errors import SpecError, SymbackpropError
from ..fileio import write_atomic

MAX_CSV_BYTES = 20_000_000
MAX_ROWS = 100_000
BATCH_SECONDS = 600.0  # the whole batch; each answer also has its own budget (answers.ANSWER_SECONDS)
NOT_CHECKED = "not checked: time budget"
REQUIRED_COLUMNS = ("student", "wrt", "answer")
RESULT_COLUMNS = ("row", "student", "wrt", "verdict", "mistake", "decided_by", "feedback")


def read_answers(path) -> list[dict]:
    """The rows of an answers CSV as dicts with ``student``, ``wrt``, ``answer`` (and ``row``, 1 = first data row)."""
    from ..fileio import read_text

    p = os.fspath(path)
    text = read_text(p, what="answers file", max_bytes=MAX_CSV_BYTES, error=SpecError)
    return parse_answers_csv(text, source=p)


def parse_answers_csv(text: str, *, source: str = "<answers>") -> list[dict]:
    """Rows from CSV text; the header must name ``student``, ``wrt`` and ``answer``."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)  # strict: a broken quote is an error, not a merged field
    try:
        header = next(reader)
    except StopIteration:
        raise SpecError(f"{source}: empty file; expected a header 'student,wrt,answer'") from None
    except csv.Error as exc:
        raise SpecError(f"{source}: line 1 (the header): {_malformed(exc, _unclosed(exc), header=True)}") from None
    columns = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise SpecError(f"{source}: line 1: the header needs the columns student, wrt, answer "
                        f"(missing: {', '.join(missing)}; found: {', '.join(columns) or 'nothing'})")
    index = {c: columns.index(c) for c in REQUIRED_COLUMNS}
    rows = []
    row_no = 0
    offset = 0  # lines before the reader's text (after an unclosed quote, the reader starts again below it)
    while True:
        start = offset + reader.line_num + 1  # the line this record starts on (a quoted field may span lines)
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            row_no += 1
            spanned = _unclosed(exc) or offset + reader.line_num > start  # a quote that runs past its line
            rows.append({"row": row_no, "student": "", "wrt": "", "answer": None,
                         "error": f"{source}: line {start}: {_malformed(exc, spanned)}"})
            if spanned:  # read on from the next line, as if the broken line had ended there
                offset = start
                reader = csv.reader(io.StringIO("".join(text.splitlines(True)[start:]), newline=""), strict=True)
            continue
        if not record or all(not cell.strip() for cell in record):
            continue
        row_no += 1
        if row_no > MAX_ROWS:
            raise SpecError(f"{source}: more than {MAX_ROWS} rows; split the file")
        row = {"row": row_no}
        for c in REQUIRED_COLUMNS:
            i = index[c]
            row[c] = record[i] if i < len(record) else None
        if row["answer"] is None:
            row["error"] = (f"{source}: line {start}: malformed CSV row: {len(record)} field"
                            f"{'s' if len(record) != 1 else ''} for the {len(columns)} columns {', '.join(columns)}, "
                            "so it has no answer")
        elif len(record) > len(columns):
            row["error"] = (f"{source}: line {start}: {len(record)} fields for {len(columns)} columns; "
                            f"a field that contains a comma must be in double quotes, e.g. \"w^{{1}}_{{1,1}}\"")
        rows.append(row)
    return rows


def _wanted(progress):
    """``progress``: True/False forces the bar on stderr on/off; None shows it only on a terminal."""
    return None if progress is None else bool(progress)


def grade_rows(checker: AnswerChecker, rows, *, progress=False, stream=None, budget: float | None = None,
               clock=time.monotonic, accept_numbers: bool = False) -> dict:
    """Check every row; ``{"results": [...], "summary": {...}}``.  A bad row never stops the batch.

    ``progress``: the shared bar (:mod:`symbackprop.progress`) on ``stream`` (stderr): True/False
    force it on/off, None shows it only on a terminal.
    ``budget``: seconds for the whole batch; once spent, the remaining rows get the verdict
    ``"not checked: time budget"`` (never a hang; each answer also has its own per-answer budget).
    """
    from ..progress import progress as bar_for

    rows = list(rows)
    memo = _VerdictMemo(checker, accept_numbers)
    results = []
    deadline = None if budget is None else clock() + budget
    with bar_for(len(rows), desc="grading", unit="answer", enabled=_wanted(progress), stream=stream) as bar:
        for row in rows:
            results.append(_grade_row(memo, row, deadline, budget, clock))
            bar.update()
    return {"results": results, "summary": summarize(results)}


def _grade_row(memo, row, deadline, budget, clock) -> dict:
    if deadline is not None and clock() >= deadline:
        message = f"the batch's time budget of {budget:g} s ran out before this row (grade --budget SECONDS)"
        return {"row": row.get("row"), "student": row.get("student") or "", "wrt": row.get("wrt") or "",
                "verdict": NOT_CHECKED, "mistake": None, "decided_by": None, "feedback": message}
    return memo.grade(row)


# ---------------------------------------------------------------------------------------
# grade --jobs N: the rows in chunks across worker processes, the results in row order

MAX_JOBS = 64
_WORKER: dict = {}


def _init_worker(spec_path, deadline, budget, accept_numbers=False) -> None:
    from ..verify.checker import checker_for_spec

    checker = checker_for_spec(spec_path)
    _WORKER.update(memo=_VerdictMemo(checker, accept_numbers), deadline=deadline, budget=budget)


def _grade_chunk(rows) -> list:
    w = _WORKER
    return [_grade_row(w["memo"], row, w["deadline"], w["budget"], time.monotonic) for row in rows]


def _pool_context():
    import multiprocessing
    import threading

    # fork shares the imported modules (no start-up per worker); only safe without other threads
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def grade_rows_parallel(spec_path, rows, jobs: int, *, progress=False, stream=None,
                        budget: float | None = None, accept_numbers: bool = False) -> dict:
    """:func:`grade_rows` across ``jobs`` worker processes, each with its own checker and memo.
    Verdicts depend only on the spec and the row, so the report is the same as with one process
    (byte for byte; tests/test_grading_jobs.py).  A chunk whose worker dies (killed, out of
    memory) is graded again in this process, so every row still gets its verdict."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from ..progress import progress as bar_for

    rows = list(rows)
    deadline = None if budget is None else time.monotonic() + budget
    size = max(20, -(-len(rows) // (jobs * 8)))
    chunks = [rows[i:i + size] for i in range(0, len(rows), size)]
    results: list = []
    local = None
    with ProcessPoolExecutor(max_workers=jobs, mp_context=_pool_context(), initializer=_init_worker,
                             initargs=(str(spec_path), deadline, budget, accept_numbers)) as pool:
        futures = [pool.submit(_grade_chunk, chunk) for chunk in chunks]
        # the bar after the workers are forked (tqdm's monitor is a thread; fork wants none)
        with bar_for(len(rows), desc="grading", unit="answer", enabled=_wanted(progress), stream=stream) as bar:
            for chunk, future in zip(chunks, futures):
                try:
                    part = future.result()
                except BrokenProcessPool:
                    if local is None:
                        from ..verify.checker import checker_for_spec

                        local = _VerdictMemo(checker_for_spec(spec_path), accept_numbers)
                    part = [_grade_row(local, row, deadline, budget, time.monotonic) for row in chunk]
                results.extend(part)
                bar.update(len(part))
    return {"results": results, "summary": summarize(results)}


def _unclosed(exc: csv.Error) -> bool:
    text = str(exc)
    return "end of data" in text or "EOF" in text


def _malformed(exc: csv.Error, spanned: bool = False, header: bool = False) -> str:
    """What a CSV syntax error means for the person who wrote the file."""
    text = str(exc)
    if spanned:
        return ("malformed CSV: a double quote opened on this line is not closed on it"
                + ("" if header else " (the rows below are read from the next line on)")
                + "; close it, e.g. \"w^{1}_{1,1}\", or remove it")
    if "expected after" in text:
        return ("malformed CSV: text after a closing double quote; put the whole field in quotes and write a "
                "quote inside it as two (\"\")")
    return f"malformed CSV: {text}"


class _VerdictMemo:
    """Verdicts memoized within one run by (resolved target, answer): a class writes the same
    answer many times, and a verdict depends only on the spec, the target and the text (the
    sample points are fixed per checker).  The answer is the exact text: columns in an error
    message refer to it.  The row's own fields (row, student) are never taken from the memo."""

    MAX = 200_000

    def __init__(self, checker: AnswerChecker, accept_numbers: bool = False):
        self.checker, self.accept_numbers = checker, accept_numbers
        self.verdicts: dict = {}
        self.targets: dict = {}
        self.problems: dict = {}

    def target(self, wrt):
        """The canonical name of an index-notation ``wrt`` (``w_{1,1}^1`` -> ``w^{1}_{1,1}``), else the text."""
        if wrt is None:
            return None
        if wrt not in self.targets:
            resolved = wrt
            if getattr(self.checker, "_matrix", None) is False:  # index notation only: names resolve
                try:
                    resolved = ("index", self.checker.resolve_wrt(wrt))
                except Exception:  # noqa: BLE001 - the check itself reports a bad name
                    resolved = wrt
            self.targets[wrt] = resolved
        return self.targets[wrt]

    def problem(self, wrt):
        """Why the row's ``wrt`` names nothing of the spec (one line, in the column's name), or None."""
        if wrt is None:
            return None
        if wrt not in self.problems:
            self.problems[wrt] = _wrt_problem(self.checker, wrt)
        return self.problems[wrt]

    def grade(self, row: dict) -> dict:
        if row.get("error"):
            return _grade_one(self.checker, row, self.accept_numbers)
        wrt = (row.get("wrt") or "").strip() or None
        answer = row.get("answer") or ""
        key = (self.target(wrt), answer)
        hit = self.verdicts.get(key)
        if hit is None:
            hit = _verdict_fields(self.checker, answer, wrt, self.accept_numbers, problem=self.problem(wrt))
            if len(self.verdicts) < self.MAX:
                self.verdicts[key] = hit
        base = {"row": row.get("row"), "student": row.get("student") or "", "wrt": row.get("wrt") or ""}
        return {**base, **hit}


def _grade_one(checker: AnswerChecker, row: dict, accept_numbers: bool = False) -> dict:
    base = {"row": row.get("row"), "student": row.get("student") or "", "wrt": row.get("wrt") or ""}
    if row.get("error"):
        return {**base, "verdict": UNPARSEABLE, "mistake": None, "decided_by": None,
                "feedback": row["error"], "error": {"message": row["error"]}}
    wrt = (row.get("wrt") or "").strip() or None
    return {**base, **_verdict_fields(checker, row.get("answer") or "", wrt, accept_numbers)}


def _wrt_problem(checker: AnswerChecker, wrt) -> str | None:
    """Why a row's ``wrt`` names nothing of the spec, in the column's name (``wrt: unknown name ...``), or None."""
    from .wrt import wrt_problem

    try:
        error = wrt_problem(checker, wrt, option="wrt")
    except Exception:  # noqa: BLE001 - one bad row never stops the batch: the check itself reports it
        return None
    return None if error is None else str(error)


def _verdict_fields(checker: AnswerChecker, answer: str, wrt, accept_numbers: bool = False, *,
                    problem: str | None | bool = False) -> dict:
    """The result's fields that depend only on the answer and the target (``wrt`` only when the
    verdict names it).  ``problem``: :func:`_wrt_problem` of ``wrt`` when the caller knows it."""
    if problem is False:
        problem = _wrt_problem(checker, wrt)
    if problem is not None:  # the name is read as verify --wrt and derive --wrt read it
        return {"verdict": UNPARSEABLE, "mistake": None, "decided_by": None, "feedback": problem,
                "error": {"message": problem}}
    try:
        verdict = checker.check(answer, wrt, accept_numbers=True) if accept_numbers else checker.check(answer, wrt)
    except Exception as exc:  # one bad row never stops the batch
        message = f"could not check this answer ({type(exc).__name__}: {exc})"
        return {"verdict": UNPARSEABLE, "mistake": None, "decided_by": None,
                "feedback": message, "error": {"message": message}}
    feedback = verdict.feedback
    if verdict.verdict == UNPARSEABLE and verdict.error is not None:
        # one line: the message with its column (the pointer drawing is for terminals)
        feedback = verdict.feedback.splitlines()[0]
    if feedback.startswith("--wrt "):  # in a class's CSV the name is the wrt column, not an option
        feedback = feedback[2:]
    out = {"verdict": verdict.verdict, "mistake": verdict.mistake, "decided_by": verdict.decided_by,
           "feedback": feedback}
    if verdict.wrt:
        out = {"wrt": verdict.wrt, **out}
    if verdict.error is not None:
        out["error"] = verdict.error
    if verdict.counterexample is not None:
        out["counterexample"] = verdict.counterexample
    return out


def summarize(results) -> dict:
    """Counts per verdict, per mistake and per derivative asked."""
    summary = {"total": len(results), CORRECT: 0, INCORRECT: 0, UNPARSEABLE: 0, "mistakes": {}, "by_wrt": {}}
    if any(r["verdict"] == NOT_CHECKED for r in results):
        summary[NOT_CHECKED] = 0
    for r in results:
        summary[r["verdict"]] = summary.get(r["verdict"], 0) + 1
        if r.get("mistake"):
            summary["mistakes"][r["mistake"]] = summary["mistakes"].get(r["mistake"], 0) + 1
        w = summary["by_wrt"].setdefault(r.get("wrt") or "", {"total": 0, CORRECT: 0, INCORRECT: 0, UNPARSEABLE: 0})
        w["total"] += 1
        w[r["verdict"]] = w.get(r["verdict"], 0) + 1
    summary["mistakes"] = dict(sorted(summary["mistakes"].items()))
    summary["by_wrt"] = dict(sorted(summary["by_wrt"].items()))
    return summary


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A cell safe to open in a spreadsheet: text starting with = + - @ tab or CR gets a leading ' (OWASP)."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        text = "'" + text
    return text.replace("\r\n", "\n").replace("\r", "\n")  # a CR inside a cell: quoted as a newline


def results_csv(report: dict) -> str:
    """One line per row: row, student, wrt, verdict, mistake, decided_by, feedback (cells escaped by :func:`csv_cell`)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RESULT_COLUMNS)
    for r in report["results"]:
        writer.writerow([csv_cell(r.get(c)) for c in RESULT_COLUMNS])
    return out.getvalue()


def summary_text(report: dict) -> str:
    s = report["summary"]
    lines = [f"{s['total']} answer{'' if s['total'] == 1 else 's'}: {s[CORRECT]} correct, {s[INCORRECT]} incorrect, {s[UNPARSEABLE]} unparseable"
             + (f", {s[NOT_CHECKED]} not checked (time budget)" if s.get(NOT_CHECKED) else "")]
    if s["mistakes"]:
        lines.append("mistakes: " + ", ".join(f"{k} {v}" for k, v in s["mistakes"].items()))
    for wrt, w in s["by_wrt"].items():
        lines.append(f"  {wrt or '(from the answer)'}: {w[CORRECT]}/{w['total']} correct")
    return "\n".join(lines)


def report_text(report: dict) -> str:
    lines = []
    for r in report["results"]:
        who = r["student"] or f"row {r['row']}"
        lines.append(f"{who} [{r['wrt'] or '?'}]: {r['verdict']}"
                     + (f" ({r['mistake']})" if r.get("mistake") else "") + f": {r['feedback']}")
    lines.append(summary_text(report))
    return "\n".join(lines) + "\n"


def write_atomically(path, text: str, *, force: bool = False) -> None:
    """Write ``text`` to ``path`` atomically; never overwrite without force (see ``fileio``)."""
    try:
        write_atomic(path, text, force=force)
    except SymbackpropError as exc:
        error = SpecError(str(exc))
        error.cli_message = getattr(exc, "cli_message", str(exc))  # --force on the command line
        raise error from None


def grade_file(spec_path, answers_path, *, progress=False, stream=None, budget: float | None = BATCH_SECONDS,
               jobs: int = 1, accept_numbers: bool = False) -> dict:
    """Load the spec and the CSV, grade every row (the convenience behind ``symbackprop grade``);
    ``jobs`` > 1 grades in that many worker processes (the same report)."""
    from ..verify.checker import checker_for_spec

    checker = checker_for_spec(spec_path)  # a broken spec fails here, once, before any worker starts
    rows = read_answers(answers_path)
    started = time.perf_counter()
    if jobs > 1 and len(rows) > 1:
        report = grade_rows_parallel(spec_path, rows, min(jobs, MAX_JOBS), progress=progress, stream=stream,
                                     budget=budget, accept_numbers=accept_numbers)
    else:
        report = grade_rows(checker, rows, progress=progress, stream=stream, budget=budget,
                            accept_numbers=accept_numbers)
    report["_seconds"] = time.perf_counter() - started  # not part of the JSON output (determinism)
    return report


def benchmark_rows(derivation, n: int = 1000, seed: int = 0) -> list[dict]:
    """``n`` answer rows for a network spec, like a class would write them (deterministic from ``seed``).

    Each row takes a parameter's per-example gradient (in node symbols) and, at random,
    keeps it, writes σ(z) for a, flips the sign, doubles it, drops a factor, or swaps an
    index, then prints it as LaTeX; so about half are correct, in varied forms.
    """
    import random

    import sympy

    from ..spec import names

    rng = random.Random(seed)
    g = derivation.graph
    params = [p.name for p in g.parameters]
    act_of = {n.symbol: n.definition for n in g.nodes if n.kind == "activation"}
    rows = []
    for k in range(n):
        wrt = rng.choice(params)
        expr = derivation.per_example_gradient(wrt)
        kind = rng.choice(["same", "sigma", "sign", "double", "drop", "swap", "scale"])
        before = expr
        if kind == "sigma" and act_of:
            expr = expr.xreplace({s: d for s, d in act_of.items() if rng.random() < 0.5})
        elif kind == "sign":
            expr = -expr
        elif kind == "double":
            expr = 2 * expr
        elif kind == "drop" and isinstance(expr, sympy.Mul):
            factors = list(expr.args)
            factors.pop(rng.randrange(len(factors)))
            expr = sympy.Mul(*factors)
        elif kind == "swap":
            symbols = sorted((s for s in expr.free_symbols if s.name.startswith("w")), key=lambda s: s.name)
            if symbols:
                s = rng.choice(symbols)
                others = [p for p in params if p.startswith("w") and p != s.name]
                if others:
                    expr = expr.xreplace({s: names.symbol(rng.choice(others))})
        elif kind == "scale":
            c = sympy.Rational(rng.randint(1, 9), rng.randint(1, 9))
            expr = sympy.Mul(c, expr, evaluate=False) / c  # the same value, written differently
        if expr == before and kind not in ("same", "sigma", "scale"):
            kind = "same"  # the mutation did not apply (e.g. no weight to swap)
        rows.append({"row": k + 1, "student": f"s{k + 1:04d}", "wrt": wrt, "answer": sympy.latex(expr), "kind": kind})
    return rows


def write_benchmark_csv(spec_path, csv_path, n: int = 10000, seed: int = 0) -> None:
    """A CSV of ``n`` answers from :func:`benchmark_rows` (seeded), for ``grade`` benchmarks."""
    from ..derivation.chain_rule import derive
    from ..spec.load import load_spec

    rows = benchmark_rows(derive(load_spec(spec_path)), n, seed)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "wrt", "answer"])
    for r in rows:
        writer.writerow([r["student"], r["wrt"], r["answer"]])
    with open(csv_path, "w", encoding="utf-8", newline="") as fh:
        fh.write(out.getvalue())


def benchmark(spec_path="derivations/lecture_2_2_1.toml", n: int = 1000, seed: int = 0, stream=None) -> dict:
    """Grade ``n`` generated answers and report the time (a benchmark, not a test).

    ``python -c "from symbackprop.verify.grading import benchmark; benchmark()"`` from the project root.
    """
    from ..verify.checker import AnswerChecker
    from ..derivation.chain_rule import derive
    from ..spec.load import load_spec

    stream = stream if stream is not None else sys.stdout
    started = time.perf_counter()
    checker = AnswerChecker(derive(load_spec(spec_path)))
    rows = benchmark_rows(checker.d, n, seed)
    setup = time.perf_counter() - started
    times = []
    results = []
    for row in rows:
        t0 = time.perf_counter()
        results.append(_grade_one(checker, row))
        times.append(time.perf_counter() - t0)
    times.sort()
    total = sum(times)
    out = {
        "spec": str(spec_path), "answers": n, "setup_seconds": round(setup, 3), "total_seconds": round(total, 3),
        "median_ms": round(1000 * times[len(times) // 2], 2), "p90_ms": round(1000 * times[int(0.9 * len(times))], 2),
        "max_ms": round(1000 * times[-1], 2), "summary": summarize(results),
    }
    stream.write(f"graded {n} answer{'' if n == 1 else 's'} in {total:.2f} s (setup {setup:.2f} s): median {out['median_ms']} ms, "
                 f"p90 {out['p90_ms']} ms, max {out['max_ms']} ms; "
                 f"{out['summary']['correct']} correct, {out['summary']['incorrect']} incorrect, "
                 f"{out['summary']['unparseable']} unparseable\n")
    return out
