r"""The ``verify`` and ``grade`` subcommands (checking students' hand derivations).

``symbackprop verify SPEC --wrt NAME --answer LATEX`` (or ``--answer-file F``, or the answer
on standard input) prints the verdict and its feedback; ``--json`` prints
``{"verdict": "correct" | "incorrect" | "unparseable", "feedback": ..., ...}``.
Exit status: 0 correct, 1 incorrect, 2 unparseable or invalid input (with the error's position).
For a spec with ``notation = "matrix"`` the answer may be in the slides' matrix notation
(``--wrt dW_2 --answer "a_1^T dz_2"``; see :mod:`symbackprop.verify.answers_matrix`): a missing
transpose or a wrong order is reported with the shapes that do not fit.

``symbackprop grade SPEC --answers FILE.csv`` (columns ``student,wrt,answer``) checks every
row, shows a progress bar on stderr, and prints a report per row and a summary (``--json``:
``{"results": [...], "summary": {...}}``; ``--csv``: one line per row).
"""
from __future__ import annotations

import argparse
import sys

from ..verify.checker import checker_for_spec
from ..verify.limits import ANSWER_SECONDS
from ..verify.wrt import wrt_problem
from ..errors import SpecError
from . import json_text, bounded
from ..verify.grading import BATCH_SECONDS, MAX_JOBS, grade_file, report_text, results_csv, summary_text, write_atomically
from ..grammar.parser import MAX_LENGTH

MAX_ANSWER_BYTES = 4 * MAX_LENGTH  # the parser refuses more than MAX_LENGTH characters anyway



class _Once(argparse.Action):
    """An option that may be given once: a second --wrt or --answer is an error, never silently the last."""

    def __call__(self, parser, namespace, values, option_string=None):
        if getattr(namespace, self.dest, None) is not None:
            parser.error(f"{option_string} given twice; verify checks one answer for one name "
                         "(use grade with a CSV for several)")
        setattr(namespace, self.dest, values)

def _add(sub, name, help_, example):
    return sub.add_parser(name, help=help_, description=help_, epilog=f"example:\n  {example}",
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def _add_accept(p):
    p.add_argument("--accept", choices=["numbers"], action="append", default=[], metavar="numbers",
                   help="--accept numbers: an answer that is only the right number (the derivative's value at "
                        "the spec's data and parameters) is correct; by default it is 'right value at the given "
                        "numbers; write the derivative symbolically'")


def add_verify_parser(subparsers):
    p = _add(subparsers, "verify", "check a hand derivation of a derivative (LaTeX or plain text)",
             'symbackprop verify derivations/lecture_2_2_1.toml --wrt "w^{2}_{1,1}" '
             '--answer "(\\hat{y} - y)\\hat{y}(1-\\hat{y}) a^{2}_{1}"')
    p.add_argument("spec", help="spec file (TOML)")
    p.add_argument("--wrt", metavar="NAME", action=_Once,
                   help="the parameter or node differentiated (optional when the answer starts with "
                        "\\frac{\\partial L}{\\partial NAME} =); for matrix specs also a gradient matrix "
                        "such as dW_2 or dz_1")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--answer", metavar="TEXT", action=_Once, help="the answer (default: read from standard input)")
    src.add_argument("--answer-file", metavar="FILE", help="read the answer from FILE")
    p.add_argument("--json", action="store_true", help='print {"verdict": ..., "feedback": ..., ...}')
    _add_accept(p)
    p.set_defaults(func=run_verify)
    return p


def add_grade_parser(subparsers):
    p = _add(subparsers, "grade", "grade a class: one answer per CSV row (student,wrt,answer)",
             "symbackprop grade derivations/lecture_2_2_1.toml --answers answers.csv --json")
    p.add_argument("spec", help="spec file (TOML)")
    p.add_argument("--answers", metavar="FILE.csv", required=True, help="CSV with the columns student,wrt,answer")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help='print {"results": [...], "summary": {...}}')
    fmt.add_argument("--csv", action="store_true", help="print one CSV line per row")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of standard output")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    p.add_argument("--budget", type=bounded(float, None, 86400.0, positive=True), default=BATCH_SECONDS,
                   metavar="SECONDS", help=f"time for the whole batch (default {BATCH_SECONDS:g} s); rows left "
                                           "when it runs out get the verdict 'not checked: time budget'")
    _add_accept(p)
    p.add_argument("--jobs", type=bounded(int, 1, MAX_JOBS), default=1, metavar="N",
                   help=f"grade in N worker processes (1 to {MAX_JOBS}; the same report as with one)")
    bar = p.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="always show the progress bar on stderr")
    bar.add_argument("--no-progress", dest="progress", action="store_false", help="never show it")
    p.set_defaults(func=run_grade)
    return p


def register(subparsers):
    """Hook for ``symbackprop.cli.__init__``: adds ``verify`` and ``grade``."""
    add_verify_parser(subparsers)
    add_grade_parser(subparsers)


def _read_answer(args) -> str:
    if args.answer is not None:
        return args.answer
    if args.answer_file is not None:
        from ..fileio import read_bytes

        raw = read_bytes(args.answer_file, what="answer file", max_bytes=MAX_ANSWER_BYTES, error=SpecError)
        source = args.answer_file
    else:
        stdin = sys.stdin
        if stdin is None or (hasattr(stdin, "isatty") and stdin.isatty()):
            raise SpecError("no answer: give --answer TEXT, --answer-file FILE, or the answer on standard input")
        buffer = getattr(stdin, "buffer", None)
        raw = buffer.read(MAX_ANSWER_BYTES + 1) if buffer is not None else stdin.read(MAX_ANSWER_BYTES + 1).encode()
        source = "<stdin>"
    if len(raw) > MAX_ANSWER_BYTES:
        raise SpecError(f"{source}: the answer is longer than {MAX_ANSWER_BYTES} bytes")
    try:
        return raw.decode("utf-8-sig").strip()
    except UnicodeDecodeError as exc:
        raise SpecError(f"{source}: not UTF-8 text (byte {exc.start})") from None


def run_verify(args) -> int:
    """Print the verdict; exit 0 correct, 1 incorrect, 2 unparseable or invalid input."""
    checker = checker_for_spec(args.spec)  # a broken spec raises SpecError: one line, exit 2
    try:
        text = _read_answer(args)
    except SpecError as exc:
        if args.json:
            print(json_text({"verdict": "unparseable", "feedback": str(exc), "error": {"message": str(exc)}},
                             ensure_ascii=False))
            return 2
        raise
    problem = wrt_problem(checker, args.wrt)  # a name in no notation of the spec: one line, as derive says it
    if problem is not None:
        from ..verify.verdict import failure_verdict

        verdict = failure_verdict(problem, args.wrt)
    else:
        verdict = checker.check(text, args.wrt, accept_numbers="numbers" in args.accept)
    if args.json:
        print(json_text(verdict.to_json(), ensure_ascii=False, indent=2))
    else:
        # the verdict, what it means, the steps and the note; how it was decided comes last
        print(verdict.verdict)
        print(verdict.feedback)
        for step in verdict.steps:
            mark = "=" if step.equal else "≠"
            print(f"  step {step.index}: {step.left} {mark} {step.right}")
        if verdict.note:
            print(f"note: {verdict.note}")
        if verdict.decided_by:
            print(f"decided by {verdict.decided_by}")
        if verdict.verdict == "unparseable":
            print(f"symbackprop: answer not checked: {verdict.error.get('message') if verdict.error else ''}",
                  file=sys.stderr)
    return verdict.exit_code


def run_grade(args) -> int:
    """Grade every row; exit 0 when the batch ran (whatever the verdicts), 2 on invalid input."""
    progress = args.progress  # None: only on a terminal (grade_rows decides)
    shown = progress if progress is not None else bool(getattr(sys.stderr, "isatty", lambda: False)())
    if args.output:
        from ..fileio import check_writable, refuse_inputs

        refuse_inputs([args.output], [args.spec, args.answers])
        check_writable(args.output, args.force)
    report = grade_file(args.spec, args.answers, progress=progress, stream=sys.stderr,
                        budget=args.budget, jobs=args.jobs, accept_numbers="numbers" in args.accept)
    seconds = report.pop("_seconds", None)
    if args.json:
        text = json_text(report, ensure_ascii=False, indent=2) + "\n"
    elif args.csv:
        text = results_csv(report)
    else:
        text = report_text(report)
    if args.output:
        write_atomically(args.output, text, force=args.force)
        print(summary_text(report), file=sys.stderr)
        print(f"wrote {args.output}")  # as every command that writes a file says
    else:
        sys.stdout.write(text)
    if seconds is not None and shown:
        n = max(report["summary"]["total"], 1)
        total = report["summary"]["total"]
        print(f"graded {total} answer{'s' if total != 1 else ''} in {seconds:.1f} s "
              f"({1000 * seconds / n:.0f} ms each; at most {ANSWER_SECONDS:g} s per answer)", file=sys.stderr)
    return 0
