#!/usr/bin/env python
r"""symbackprop's benchmark suite: every measurement side by side, in one process run.

    python benchmarks/run.py --quick --json                   # < 1 minute; last stdout line is JSON
    python benchmarks/run.py --markdown docs/performance.md   # the full run, table into the doc

What it measures (see benchmarks/README.md and docs/performance.md):

1. derivation: ``derive`` of every gradient (plus one parameter's LaTeX steps when
   ``symbackprop.render.latex`` exists) for [2,2,1], [4,8,8,1], [10,16,16,1], [20,32,32,1],
   the matrix form of [784,128,10], and the naive baseline (``sympy.diff`` of the fully
   expanded loss for every parameter) in a child process stopped after a time limit;
2. gradient evaluation at batches 10^3 and 10^5: ``compile_gradients``, the exported
   NumPy-only module, the matrix-form code (``symbackprop.compile.matrix_numpy`` when present),
   the independent trainer's hand-written backprop (the reference) and its forward pass,
   PyTorch CPU autograd and JAX ``jit(grad)`` when installed;
3. answer checking: one hand derivation (cold), 1,000 answers graded (``symbackprop grade``);
4. worksheets: 100 variants with keys, without and with pdflatex;
5. (full run) the crossover of per-scalar against matrix code over width x batch.

Fairness (as in shared/FINDINGS.md): one thread per library (threadpoolctl for NumPy's
BLAS, ``torch.set_num_threads(1)``, XLA single-threaded), methods timed round-robin in
the same process, medians, results reported as ratios to the trainer measured in the
same round. SymPy's cache is cleared before each derivation so every one runs cold.
Every method's gradient is compared with the trainer's before it is timed; a method
that disagrees is reported as wrong, not timed.

Nothing here is a test: no timings are asserted. tests/test_benchmarks_smoke.py checks
the helpers (ratios, medians, summary keys) on fake timings.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import importlib.util
import io
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: Keys that the last line of ``--json`` always holds (value null when not measured).
REQUIRED_KEYS = (
    "derive_10_16_16_1_s",
    "naive_over_ours_10_16_16_1",
    "grad_over_trainer_4_8_8_1_1e5",
    "grad_over_trainer_784_128_10",
    "grad_over_forward_4_8_8_1_1e5",
    "derive_20_32_32_1_s",
    "check_answer_median_s",
    "grade_1000_s",
    "latex_30_48_48_1_s",
    "check_answer_median_10_16_16_1_s",
    "grade_10000_s",
    "grad_over_torch_max_1e5",
    "dict_over_matrix_784_128_10",
)

#: Scripts by the other owners, each with ``measure(quick: bool) -> dict`` (flat JSON-able keys);
#: imported by path from this folder when present, otherwise the run notes their absence.
EXTERNAL_SCRIPTS = ("latex_scaling", "answers_scaling")

#: The issue's targets: key -> (comparison, bound, what it means).
TARGETS = {
    "derive_10_16_16_1_s": ("<=", 1.0, "derive every gradient of [10,16,16,1] (+ one LaTeX) in <= 1 s"),
    "naive_over_ours_10_16_16_1": (">=", 100.0, "[10,16,16,1] >= 100x faster than naive sympy.diff"),
    "derive_20_32_32_1_s": ("<=", 3.0, "derive every gradient of [20,32,32,1] in <= 3 s"),
    "derive_784_128_10_matrix_s": ("<=", 1.0, "matrix form of [784,128,10] in <= 1 s"),
    "grad_over_trainer_max": ("<=", 1.2, "our gradients within 1.2x of the trainer at every size and batch"),
    "grad_over_torch_max_1e5": ("<=", 1.0, "no slower than PyTorch CPU autograd at batch 1e5"),
    "api_arrays_over_matrix_max": ("<=", 1.1, "documented API with arrays within 1.1x of the matrix path (batch 1 to 1e3)"),
    "jax_over_jitgrad_max": ("<=", 1.2, "JAX backend within 1.2x of jax.jit(jax.grad(loss))"),
    "latex_30_48_48_1_s": ("<=", 5.0, "derive --latex with data on [30,48,48,1] in <= 5 s"),
    "check_answer_median_10_16_16_1_s": ("<=", 0.05, "one answer checked on [10,16,16,1] in <= 50 ms (median)"),
    "grade_10000_s": ("<=", 5.0, "10,000 answers graded in <= 5 s"),
    "grad_over_forward_max": ("<=", 3.0, "gradient / forward pass <= 3"),
    "check_answer_median_s": ("<=", 0.05, "one answer checked in <= 50 ms (median)"),
    "grade_1000_s": ("<=", 30.0, "1,000 answers graded in <= 30 s"),
    "worksheet_100_s": ("<=", 10.0, "100 worksheet variants with keys in <= 10 s (no pdflatex)"),
}

# Networks: (key, layers, activations, loss). Per-scalar nets: sigmoid + BCE (the slides' pair).
SCALAR_NETS = (
    ("2_2_1", (2, 2, 1)),
    ("4_8_8_1", (4, 8, 8, 1)),
    ("10_16_16_1", (10, 16, 16, 1)),
    ("20_32_32_1", (20, 32, 32, 1)),
)
MATRIX_NET = ("784_128_10", (784, 128, 10))
SCALAR_ACT, SCALAR_LOSS = "sigmoid", "bce"
MATRIX_ACTS, MATRIX_LOSS = ("sigmoid", "softmax"), "cross_entropy"

BEGIN_MARK = "<!-- BEGIN benchmarks/run.py output: regenerated by the benchmark, do not edit by hand -->"
END_MARK = "<!-- END benchmarks/run.py output -->"


_T0 = time.perf_counter()


def log(*parts):
    print(f"[{time.perf_counter() - _T0:6.1f} s]", *parts, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# Measurement helpers (pure; tested on fake timings)
# ---------------------------------------------------------------------------------------

def median(values):
    """The median of the finite numbers in ``values`` (None when there are none)."""
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return statistics.median(vals) if vals else None


def ratio(numerator, denominator):
    """numerator / denominator, or None when either is missing or the denominator is not positive."""
    if numerator is None or denominator is None:
        return None
    if not (math.isfinite(numerator) and math.isfinite(denominator)) or denominator <= 0:
        return None
    return numerator / denominator


@dataclass
class Timing:
    """Seconds per call of one method: ``samples`` (one per round), or ``error`` if it failed
    or disagreed with the reference. ``limit`` marks a lower bound ("> limit" seconds)."""

    samples: list = field(default_factory=list)
    error: str | None = None
    limit: float | None = None
    note: str | None = None

    @property
    def median(self):
        if self.error is not None:
            return None
        if self.limit is not None and not self.samples:
            return None
        return median(self.samples)

    @property
    def bound(self):
        """The median, or the time limit it exceeded (a lower bound), or None."""
        m = self.median
        if m is not None:
            return m
        return self.limit if self.error is None else None

    @property
    def is_lower_bound(self) -> bool:
        return self.median is None and self.limit is not None and self.error is None

    def text(self, unit: float = 1.0, digits: int = 3) -> str:
        if self.error is not None:
            return f"error: {self.error}" if len(self.error) < 60 else "error (see JSON)"
        if self.is_lower_bound:
            return f"> {self.limit / unit:g}"
        m = self.median
        return "–" if m is None else _fmt(m / unit, digits)


def _fmt(x, digits=3):
    if x is None:
        return "–"
    if x == 0:
        return "0"
    mag = math.floor(math.log10(abs(x)))
    decimals = max(0, digits - 1 - mag)
    return f"{x:.{decimals}f}"


def round_robin(methods: dict, repeats: int, *, target_seconds: float = 0.05, clock=time.perf_counter,
                max_inner: int = 1000, collect=True) -> dict:
    """Time each callable in ``methods`` ``repeats`` times, interleaved (round-robin, the
    starting method rotating every round), and return {name: Timing}.

    Each method first runs once (warm-up, and to choose how many calls one sample averages
    over so that a sample lasts about ``target_seconds``). A method that raises is reported
    with its error and dropped from later rounds. The garbage collector runs between samples
    and is off while a sample is timed."""
    timings = {name: Timing() for name in methods}
    inner = {}
    for name, fn in methods.items():
        try:
            t0 = clock()
            fn()
            dt = clock() - t0
        except Exception as exc:  # noqa: BLE001 - a benchmark reports, it does not stop
            timings[name].error = f"{type(exc).__name__}: {exc}"
            continue
        inner[name] = max(1, min(max_inner, int(target_seconds / dt) if dt > 0 else max_inner))
    names_ = [n for n in methods if n in inner]
    if collect:  # objects alive now (SymPy, PyTorch, JAX) are never garbage: keep gc.collect() cheap
        gc.collect()
        gc.freeze()
    try:
        _rounds(methods, timings, inner, names_, repeats, clock, collect)
    finally:
        if collect:
            gc.unfreeze()
    return timings


def _rounds(methods, timings, inner, names_, repeats, clock, collect):
    for r in range(repeats):
        order = names_[r % len(names_):] + names_[:r % len(names_)] if names_ else []
        for name in order:
            if timings[name].error is not None:
                continue
            fn, k = methods[name], inner[name]
            if collect:
                gc.collect()
            was_enabled = gc.isenabled()
            gc.disable()
            try:
                t0 = clock()
                for _ in range(k):
                    fn()
                dt = (clock() - t0) / k
            except Exception as exc:  # noqa: BLE001
                timings[name].error = f"{type(exc).__name__}: {exc}"
                continue
            finally:
                if was_enabled:
                    gc.enable()
            timings[name].samples.append(dt)


def target_status(key, value, lower_bound=False):
    """'met', 'missed', 'not measured', or 'unknown' (a lower bound that does not settle it)."""
    if key not in TARGETS or value is None:
        return "not measured"
    op, bound, _ = TARGETS[key]
    ok = value <= bound if op == "<=" else value >= bound
    if not lower_bound:
        return "met" if ok else "missed"
    # value is a lower bound of the true figure
    if op == ">=":
        return "met" if ok else "unknown (lower bound below the target)"
    return "missed" if not ok else "unknown (lower bound)"


# ---------------------------------------------------------------------------------------
# Results -> the JSON summary (pure; tested on fake results)
# ---------------------------------------------------------------------------------------

def summarize(results: dict) -> dict:
    """The flat JSON object printed last: REQUIRED_KEYS plus everything measured.

    ``results`` has the shape ``run_all`` builds:
    ``derive``: {net: {"ours": Timing, "latex": Timing, "compile": Timing, "naive": Timing}},
    ``grad``: {(net, batch): {method: Timing}}, ``answers``: {"check_cold": Timing, "check_warm": Timing,
    "grade": Timing, "grade_count": int}, ``worksheets``: {"no_pdf": Timing, "pdf": Timing, "variants": int},
    ``crossover``: {...}."""
    out = {key: None for key in REQUIRED_KEYS}
    derive = results.get("derive", {})
    for net, row in derive.items():
        ours = row.get("ours")
        if ours is not None and ours.median is not None:
            out[f"derive_{net}_s"] = ours.median
        for part in ("latex", "compile", "load_spec"):
            t = row.get(part)
            if t is not None and t.median is not None:
                out[f"{part}_{net}_s"] = t.median
        naive = row.get("naive")
        if naive is not None:
            out[f"naive_{net}_s"] = naive.median
            if naive.is_lower_bound:
                out[f"naive_{net}_limit_s"] = naive.limit
            if naive.error is not None:
                out[f"naive_{net}_error"] = naive.error
            if ours is not None:
                # a stopped baseline is "> limit", never a ratio (limit / ours would understate it)
                out[f"naive_over_ours_{net}"] = None if naive.is_lower_bound else ratio(naive.median, ours.median)
                out[f"naive_over_ours_{net}_lower_bound"] = naive.is_lower_bound
    grad_ratios, fwd_ratios, torch_ratios = [], [], []
    for (net, batch), methods in results.get("grad", {}).items():
        tag = f"{net}_{_batch_tag(batch)}"
        trainer = methods.get("trainer")
        forward = methods.get("trainer_forward")
        t_tr = trainer.median if trainer else None
        t_fw = forward.median if forward else None
        out[f"trainer_{tag}_s"] = t_tr
        out[f"trainer_forward_{tag}_s"] = t_fw
        for name, t in methods.items():
            if name in ("trainer", "trainer_forward"):
                continue
            out[f"{name}_{tag}_s"] = t.median
            out[f"{name}_over_trainer_{tag}"] = ratio(t.median, t_tr)
            if t.error is not None:
                out[f"{name}_{tag}_error"] = t.error
        ours = methods.get("ours")
        if ours is not None:
            g = ratio(ours.median, t_tr)
            f = ratio(ours.median, t_fw)
            out[f"grad_over_trainer_{tag}"] = g
            out[f"grad_over_forward_{tag}"] = f
            if g is not None:
                grad_ratios.append(g)
            if f is not None:
                fwd_ratios.append(f)
            torch_t = methods.get("torch")
            if torch_t is not None and batch >= 100_000:
                # the documented call with arrays where the tree has it, else with the name dict
                best = methods.get("ours_arrays") or ours
                r = ratio(best.median, torch_t.median)
                out[f"grad_over_torch_{tag}"] = r
                out[f"dict_over_torch_{tag}"] = ratio(ours.median, torch_t.median)
                if r is not None:
                    torch_ratios.append(r)
        out[f"trainer_grad_over_forward_{tag}"] = ratio(t_tr, t_fw)
    # the names: the 784-128-10 ratio is taken at batch 10^3 (the key has no batch)
    for batch in (1_000, 100_000):
        key = f"grad_over_trainer_784_128_10_{_batch_tag(batch)}"
        if out.get(key) is not None and out.get("grad_over_trainer_784_128_10") is None:
            out["grad_over_trainer_784_128_10"] = out[key]
            out["grad_over_trainer_784_128_10_batch"] = batch
    out["grad_over_trainer_max"] = max(grad_ratios) if grad_ratios else None
    out["grad_over_forward_max"] = max(fwd_ratios) if fwd_ratios else None
    out["grad_over_torch_max_1e5"] = max(torch_ratios) if torch_ratios else None

    answers = results.get("answers", {})
    for name in ("check_cold", "check_warm", "checker_setup"):
        t = answers.get(name)
        if t is not None:
            out[f"{name}_median_s"] = t.median
            if t.error is not None:
                out[f"{name}_error"] = t.error
    if answers.get("check_cold") is not None:
        out["check_answer_median_s"] = answers["check_cold"].median
    grade = answers.get("grade")
    if grade is not None:
        count = answers.get("grade_count") or 1000
        out["grade_measured_answers"] = count
        out[f"grade_{count}_s"] = grade.median  # measured as printed: never scaled from fewer answers
        if grade.error is not None:
            out["grade_error"] = grade.error
    sheets = results.get("worksheets", {})
    variants = sheets.get("variants") or 100
    for name in ("no_pdf", "pdf"):
        t = sheets.get(name)
        if t is not None:
            out[f"worksheet_{name}_{variants}_s"] = t.median
            if name == "no_pdf" and variants == 100:
                out["worksheet_100_s"] = t.median
            if t.error is not None:
                out[f"worksheet_{name}_error"] = t.error
    api_arrays = []
    for (net, batch), methods in results.get("api", {}).items():
        tag = f"{net}_{_batch_tag(batch)}"
        base = methods.get("matrix")
        for form in ("pairs", "vector", "dict"):
            t = methods.get(form)
            if t is None:
                continue
            r = ratio(t.median, base.median if base else None)
            out[f"api_{form}_over_matrix_{tag}"] = r
            if form != "dict" and r is not None:
                api_arrays.append(r)
    out["api_arrays_over_matrix_max"] = max(api_arrays) if api_arrays else None
    out["dict_over_matrix_784_128_10"] = out.get("api_dict_over_matrix_784_128_10_1e3")
    jax_ratios = []
    for (net, batch), methods in results.get("grad", {}).items():
        ours_j, theirs_j = methods.get("jax_ours"), methods.get("jax")
        if ours_j is not None and theirs_j is not None:
            r = ratio(ours_j.median, theirs_j.median)
            out[f"jax_over_jitgrad_{net}_{_batch_tag(batch)}"] = r
            if r is not None:
                jax_ratios.append(r)
    out["jax_over_jitgrad_max"] = max(jax_ratios) if jax_ratios else None
    for name, measured in results.get("external", {}).items():
        if isinstance(measured, dict):
            for k, v in measured.items():
                if (isinstance(v, (int, float, str, bool)) or v is None) and out.get(k) is None:
                    out[k] = v
    cross = results.get("crossover")
    if cross:
        out["crossover_per_scalar_over_matrix"] = {
            f"{'_'.join(map(str, net))}@{_batch_tag(b)}": r for (net, b), r in cross.get("ratios", {}).items()}
    statuses = {}
    for key in TARGETS:
        statuses[key] = target_status(key, out.get(key), bool(out.get(key + "_lower_bound")))
    out["targets"] = statuses
    out.update(results.get("meta", {}))
    return out


def _batch_tag(batch: int) -> str:
    """10**5 -> '1e5', 1000 -> '1e3', 64 -> '64'."""
    if batch > 0:
        e = round(math.log10(batch))
        if 10 ** e == batch:
            return f"1e{e}"
    return str(batch)


# ---------------------------------------------------------------------------------------
# Machine and library facts
# ---------------------------------------------------------------------------------------

def machine_info() -> dict:
    """CPU model (/proc/cpuinfo), cores, load, library versions, BLAS (threadpoolctl), thread variables."""
    info = {"python": platform.python_version(), "platform": platform.platform()}
    cpu = None
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info["cpu"] = cpu or platform.processor() or "unknown"
    info["cores"] = os.cpu_count()
    try:
        info["cores_usable"] = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    try:
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    from importlib.metadata import PackageNotFoundError, version

    for dist in ("numpy", "sympy", "torch", "jax", "threadpoolctl"):
        try:
            info[dist] = version(dist)
        except PackageNotFoundError:
            continue
    info["env"] = {k: os.environ[k] for k in sorted(os.environ) if k.startswith(("OPENBLAS_", "OMP_", "MKL_", "XLA_"))}
    try:
        importlib.import_module("numpy")  # loads the BLAS, so threadpoolctl can see it
        from threadpoolctl import threadpool_info

        info["blas"] = [
            {k: p.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "threading_layer")}
            for p in threadpool_info()
        ]
    except Exception:  # noqa: BLE001
        info["blas"] = []
    return info


# ---------------------------------------------------------------------------------------
# Specs and parameters
# ---------------------------------------------------------------------------------------

def network_spec_text(layers, activations, loss, notation="index", data=True) -> str:
    """A benchmark spec; with ``data`` one example (x_j = (j mod 5 − 2)/4, y one-hot / 1), so
    ``derive`` and its LaTeX carry numbers as a student's spec does."""
    acts = json.dumps(activations if isinstance(activations, str) else list(activations))
    text = (f'title = "benchmark {list(layers)}"\nnotation = "{notation}"\n[network]\nlayers = {list(layers)}\n'
            f'activations = {acts}\nloss = "{loss}"\nreduction = "mean"\n[parameters]\nseed = 0\n')
    if data:
        x = [((j % 5) - 2) / 4 for j in range(layers[0])]
        y = [1.0 if k == 0 else 0.0 for k in range(layers[-1])]
        text += f"[data]\nx = [{json.dumps(x)}]\ny = [{json.dumps(y)}]\n"
    return text


def scalar_spec(layers):
    from symbackprop.spec.load import parse_spec

    return parse_spec(network_spec_text(layers, SCALAR_ACT, SCALAR_LOSS), source=f"benchmark{list(layers)}")


def n_parameters(layers) -> int:
    return sum(layers[i] * layers[i + 1] + layers[i + 1] for i in range(len(layers) - 1))


def matrices_from_names(layers, params: dict):
    """{w^{k}_{i,j}: v, b^{k}_{i}: v} -> [(W_k (M, N), b_k (1, N))] with W_k[j-1, i-1] = w^{k}_{i,j}."""
    from symbackprop.check.compare import matrices_from_names as convert

    return convert(layers, params)


def flatten(layers, grads):
    """A method's gradient as one vector [dW_1, db_1, dW_2, ...] (slides' shapes), from a list of
    (dW, db) pairs, a {name: float} dict in index names, or a {'dW_1': ..., 'db_1': ...} dict."""
    import numpy as np

    if isinstance(grads, dict):
        if "dW_1" in grads or "W_1" in grads:
            pre = "d" if "dW_1" in grads else ""
            pairs = [(grads[f"{pre}W_{l}"], grads[f"{pre}b_{l}"]) for l in range(1, len(layers))]
        else:
            pairs = matrices_from_names(layers, grads)
    else:
        pairs = list(grads)
    parts = []
    for (dW, db), m, n in zip(pairs, layers[:-1], layers[1:]):
        parts.append(np.asarray(dW, dtype=float).reshape(m, n).ravel())
        parts.append(np.asarray(db, dtype=float).reshape(-1))
    return np.concatenate(parts)


def random_batch(layers, batch, loss, seed=1):
    """X standard normal (batch, N_0); Y one-hot rows for cross-entropy, 0/1 entries otherwise."""
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((batch, layers[0]))
    K = layers[-1]
    if loss == "cross_entropy":
        Y = np.zeros((batch, K))
        Y[np.arange(batch), rng.integers(0, K, size=batch)] = 1.0
    else:
        Y = rng.integers(0, 2, size=(batch, K)).astype(float)
    return X, Y


# ---------------------------------------------------------------------------------------
# 1. Derivation
# ---------------------------------------------------------------------------------------

def _render_latex_function():
    """symbackprop.render.latex.derivation_document, when that module exists (else None)."""
    try:
        mod = importlib.import_module("symbackprop.render.latex")
    except ImportError:
        return None
    return getattr(mod, "derivation_document", None)


def _clear_sympy_cache():
    from sympy.core.cache import clear_cache

    clear_cache()


def measure_derivation(layers, repeats, latex_fn, clock=time.perf_counter, compile_too=True):
    """(ours, latex, compile) Timings for the per-scalar network ``layers``; every run cold
    (SymPy's cache cleared). ``ours`` is derive + the LaTeX of w^{1}_{1,1}'s steps."""
    import symbackprop
    from symbackprop.spec import names

    ours, latex, comp = Timing(), Timing(), Timing()
    wrt = names.weight(1, 1, 1)
    for _ in range(repeats):
        spec = scalar_spec(layers)
        _clear_sympy_cache()
        gc.collect()
        try:
            t0 = clock()
            d = symbackprop.derive(spec)
            t1 = clock()
            if latex_fn is not None:
                latex_fn(d, wrt=[wrt])
            t2 = clock()
            if compile_too:
                symbackprop.compile_gradients(d)
            t3 = clock()
        except Exception as exc:  # noqa: BLE001
            ours.error = f"{type(exc).__name__}: {exc}"
            return ours, latex, comp
        ours.samples.append(t2 - t0)
        if latex_fn is not None:
            latex.samples.append(t2 - t1)
        if compile_too:
            comp.samples.append(t3 - t2)
    if latex_fn is None:
        latex.note = "symbackprop.render.latex absent: LaTeX not included"
    return ours, latex, comp


def _matrix_latex_function():
    """A whole-document renderer of the matrix form, if one exists; else the steps' own latex()."""
    for modname, fname in (("symbackprop.render.matrix_latex", "matrix_derivation_document"),
                           ("symbackprop.render.matrix_latex", "derivation_document"),
                           ("symbackprop.render.latex", "matrix_derivation_document")):
        try:
            mod = importlib.import_module(modname)
        except ImportError:
            continue
        fn = getattr(mod, fname, None)
        if fn is not None:
            return fn, f"{modname}.{fname}"

    def steps(md):
        return "\n".join(s.expression.latex() for s in list(md.forward) + list(md.backward))

    return steps, "each step's latex()"


def measure_matrix_derivation(layers, repeats, clock=time.perf_counter, load_spec_too=False):
    """(derive + LaTeX Timing, load_spec Timing or None, how the LaTeX was rendered) for the
    matrix form of ``layers`` (sigmoid hidden layers, softmax + cross-entropy)."""
    try:
        from symbackprop.derivation.matrix_form import matrix_derive
        from symbackprop.spec.load import NetworkSpec
    except ImportError as exc:
        return Timing(error=f"matrix form absent ({exc})"), None, ""
    render, how = _matrix_latex_function()
    t = Timing()
    net = NetworkSpec(tuple(layers), MATRIX_ACTS, MATRIX_LOSS, "mean")
    for _ in range(repeats):
        _clear_sympy_cache()
        try:
            t0 = clock()
            md = matrix_derive(net)
            render(md)
            t.samples.append(clock() - t0)
        except Exception as exc:  # noqa: BLE001
            t.error = f"{type(exc).__name__}: {exc}"
            break
    load = None
    if load_spec_too:
        from symbackprop.spec.load import parse_spec

        load = Timing()
        text = network_spec_text(layers, MATRIX_ACTS, MATRIX_LOSS, notation="matrix")
        t0 = clock()
        parse_spec(text, source="benchmark784")
        load.samples.append(clock() - t0)
        load.note = "parse_spec with [parameters] seed (random exact weights)"
    return t, load, how


NAIVE_CHILD = "--naive-child"


def naive_child(layers_text: str, limit: float) -> int:
    """In a child process: expand the loss down to the leaves, sympy.diff it by every
    parameter; print one JSON line {"seconds": ...} or {"timeout": limit} / {"error": ...}."""
    import signal

    import sympy

    from symbackprop.derivation.graph import build_graph

    layers = tuple(int(v) for v in layers_text.split(","))
    spec = scalar_spec(layers)

    class _Timeout(Exception):
        pass

    def on_alarm(signum, frame):
        raise _Timeout()

    signal.signal(signal.SIGALRM, on_alarm)
    t0 = time.perf_counter()
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        g = build_graph(spec)
        loss = g.substitute(g.node(g.output).symbol)
        for p in g.parameters:
            sympy.diff(loss, p.symbol)
        seconds = time.perf_counter() - t0
        signal.setitimer(signal.ITIMER_REAL, 0)
        print(json.dumps({"seconds": seconds}), flush=True)
    except _Timeout:
        print(json.dumps({"timeout": limit}), flush=True)
    except MemoryError:
        signal.setitimer(signal.ITIMER_REAL, 0)
        print(json.dumps({"error": "out of memory"}), flush=True)
    return 0


def measure_naive(layers, limit: float, memory_gib: float = 8.0) -> Timing:
    """The naive baseline in a child process (so a swelling expression cannot take the
    benchmark down): seconds, or '> limit' when it did not finish in ``limit`` seconds."""
    t = Timing()

    def limit_memory():  # pragma: no cover - runs in the child
        try:
            import resource

            cap = int(memory_gib * 2**30)
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        except (ImportError, ValueError, OSError):
            pass

    cmd = [sys.executable, str(Path(__file__).resolve()), NAIVE_CHILD, ",".join(map(str, layers)), repr(float(limit))]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=limit + 60, cwd=str(ROOT),
                              preexec_fn=limit_memory if os.name == "posix" else None)
    except subprocess.TimeoutExpired:
        t.limit = limit
        t.note = "killed by the parent"
        return t
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        err = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        t.error = "out of memory" if "MemoryError" in proc.stderr else f"child failed: {err}"
        return t
    res = json.loads(lines[-1])
    if "seconds" in res:
        t.samples.append(res["seconds"])
    elif "timeout" in res:
        t.limit = float(res["timeout"])
    else:
        t.error = res.get("error", "unknown")
    return t


# ---------------------------------------------------------------------------------------
# 2. Gradient evaluation
# ---------------------------------------------------------------------------------------

def _import_file(path: str, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Frameworks:
    """PyTorch and JAX, imported once and pinned to one thread; None where not installed."""

    def __init__(self, use_torch=True, use_jax=True):
        self.torch = self.jax = None
        self.notes = {}
        if use_torch:
            try:
                import torch

                torch.set_num_threads(1)
                with contextlib.suppress(RuntimeError):
                    torch.set_num_interop_threads(1)
                self.torch = torch
            except ImportError:
                self.notes["torch"] = "not installed (pip install -e '.[bench]')"
        if use_jax:
            os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
            try:
                import jax

                jax.config.update("jax_enable_x64", True)
                jax.config.update("jax_platforms", "cpu")
                self.jax = jax
            except ImportError:
                self.notes["jax"] = "not installed (optional)"


def torch_gradient(torch, activations, loss, mats, X, Y):
    """PyTorch autograd, written as a PyTorch user would: returns a zero-argument callable."""
    F = torch.nn.functional
    params = []
    for W, b in mats:
        params += [torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)]
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    n = X.shape[0]
    acts = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "identity": lambda z: z}

    def run():
        A = Xt
        for l in range(len(mats)):
            Z = A @ params[2 * l] + params[2 * l + 1]
            if l < len(mats) - 1:
                A = acts[activations[l]](Z)
        if loss == "bce":
            J = F.binary_cross_entropy_with_logits(Z, Yt, reduction="sum") / n
        else:
            J = -(Yt * torch.log_softmax(Z, dim=1)).sum() / n
        grads = torch.autograd.grad(J, params)
        return [(grads[2 * l].numpy(), grads[2 * l + 1].numpy()) for l in range(len(mats))]

    return run


def jax_gradient(jax, activations, loss, mats, X, Y):
    """jax.jit(jax.grad(loss)) in float64; compiled (warm) before it is timed."""
    jnp = jax.numpy
    acts = {"sigmoid": jax.nn.sigmoid, "tanh": jnp.tanh, "relu": jax.nn.relu, "identity": lambda z: z}

    def J(params, X, Y):
        A = X
        for l, (W, b) in enumerate(params):
            Z = A @ W + b
            if l < len(params) - 1:
                A = acts[activations[l]](Z)
        if loss == "bce":
            total = jnp.sum(jax.nn.softplus(Z) - Y * Z)
        else:
            total = -jnp.sum(Y * jax.nn.log_softmax(Z, axis=1))
        return total / X.shape[0]

    g = jax.jit(jax.grad(J))
    params = [(jnp.asarray(W), jnp.asarray(b)) for W, b in mats]
    Xj, Yj = jax.device_put(X), jax.device_put(Y)
    jax.block_until_ready(g(params, Xj, Yj))

    def run():
        out = jax.block_until_ready(g(params, Xj, Yj))
        return [(W, b) for W, b in out]

    return run


def textbook_gradient(activations, loss, mats, X, Y):
    """Backprop as written by hand from a textbook, plain NumPy: σ(z) = 1/(1 + e^{-z}) (overflow
    ignored), σ' = a(1 - a), dz_L = (ŷ - y)/n for the fused output pairs. No input checks."""
    import numpy as np

    if any(a != "sigmoid" for a in activations[:-1]) or (loss, activations[-1]) not in (
            ("bce", "sigmoid"), ("cross_entropy", "softmax")):
        raise ValueError("the textbook code covers sigmoid hidden layers with BCE or softmax cross-entropy")
    n = X.shape[0]

    def sigmoid(z):
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-z))

    def run():
        A = [X]
        for l, (W, b) in enumerate(mats):
            Z = A[-1] @ W + b
            if l < len(mats) - 1 or loss == "bce":
                A.append(sigmoid(Z))
            else:
                E = np.exp(Z - Z.max(axis=1, keepdims=True))
                A.append(E / E.sum(axis=1, keepdims=True))
        dZ = (A[-1] - Y) / n
        grads = [None] * len(mats)
        for l in range(len(mats) - 1, -1, -1):
            grads[l] = (A[l].T @ dZ, dZ.sum(axis=0, keepdims=True))
            if l:
                dZ = (dZ @ mats[l][0].T) * A[l] * (1.0 - A[l])
        return grads

    return run


def compiled_variants(d) -> dict:
    """{"ours": compile_gradients(d)} (its automatic choice), plus "per_scalar" and "matrix_dict"
    (compile_gradients with each backend forced) when compile_gradients takes ``backend``."""
    import inspect

    import symbackprop

    out = {"ours": symbackprop.compile_gradients(d)}
    if "backend" in inspect.signature(symbackprop.compile_gradients).parameters:
        out["per_scalar"] = symbackprop.compile_gradients(d, backend="per-scalar")
        if d.graph.mode == "network":
            with contextlib.suppress(Exception):
                out["matrix_dict"] = symbackprop.compile_gradients(d, backend="matrix")
    return out


def _matrix_numpy_gradient(md, mats, X, Y):
    """The matrix-form compiled code (symbackprop.compile.matrix_numpy) with matrices in and out,
    the trainer's contract; raises ImportError when the module is absent."""
    mod = importlib.import_module("symbackprop.compile.matrix_numpy")
    compiled = mod.compile_matrix_gradients(md)
    fn = compiled.matrix_gradients
    return lambda: fn(mats, X, Y)


def matrix_form_environment(md, mats, X, Y):
    """The matrix-form trees evaluated by matrix_form.evaluate (an interpreter, no generated code)."""
    depth = len(mats)

    def run():
        env = md.environment(mats, X, Y)
        return [(env[f"dW_{l}"], env[f"db_{l}"]) for l in range(1, depth + 1)]

    return run


def gradient_methods(key, layers, activations, loss, batch, *, compiled=None, exported=None, md=None,
                     params=None, mats=None, frameworks=None, include_environment=False):
    """{method name: zero-argument callable} for one network and batch, every method's max
    relative error to the trainer's gradient, and notes (methods that fail or disagree are
    dropped and noted).

    ``compiled``: {method name: an object with ``gradients(params, X, Y) -> {name: float}``}
    (``compile_gradients`` with each backend); ``md``: the matrix derivation, timed through
    ``compile_matrix_gradients(md).matrix_gradients`` (matrices in and out, like the trainer)."""
    import numpy as np
    from symbackprop.check import trainer

    X, Y = random_batch(layers, batch, loss)
    net = trainer.Network(tuple(layers), tuple(activations), loss, "mean")
    methods = {
        "trainer": lambda: trainer.gradients(net, mats, X, Y),
        "trainer_forward": lambda: trainer.forward(net, mats, X),
    }
    notes = {}
    for name, obj in (compiled or {}).items():
        methods[name] = (lambda obj=obj: obj.gradients(params, X, Y))
    ours_obj = (compiled or {}).get("ours")
    if ours_obj is not None and getattr(ours_obj, "kind", "") == "matrix" and hasattr(ours_obj.module, "matrices_to_vector"):
        methods["ours_arrays"] = lambda: ours_obj.gradients(mats, X, Y)  # the same call with [(W, b), ...]
    if exported is not None:
        methods["exported"] = lambda: exported.gradients(params, X, Y)
    if md is not None:
        try:
            methods["matrix_numpy"] = _matrix_numpy_gradient(md, mats, X, Y)
        except ImportError:
            notes["matrix_numpy"] = "symbackprop.compile.matrix_numpy absent"
        except Exception as exc:  # noqa: BLE001
            notes["matrix_numpy"] = f"{type(exc).__name__}: {exc}"
        if include_environment:
            methods["matrix_form_eval"] = matrix_form_environment(md, mats, X, Y)
    try:
        methods["textbook"] = textbook_gradient(activations, loss, mats, X, Y)
    except ValueError as exc:
        notes["textbook"] = str(exc)
    if frameworks is not None and frameworks.torch is not None:
        methods["torch"] = torch_gradient(frameworks.torch, activations, loss, mats, X, Y)
    if frameworks is not None and frameworks.jax is not None:
        try:
            methods["jax"] = jax_gradient(frameworks.jax, activations, loss, mats, X, Y)
        except Exception as exc:  # noqa: BLE001
            notes["jax"] = f"{type(exc).__name__}: {exc}"
        if md is not None:
            try:
                methods["jax_ours"] = jax_ours_gradient(frameworks.jax, md, mats, X, Y)
            except ImportError:
                notes["jax_ours"] = "symbackprop.compile.matrix_jax absent"
            except Exception as exc:  # noqa: BLE001
                notes["jax_ours"] = f"{type(exc).__name__}: {exc}"
    reference = flatten(layers, trainer.gradients(net, mats, X, Y))
    errors = {}
    for name, fn in list(methods.items()):
        if name in ("trainer", "trainer_forward"):
            continue
        try:
            got = flatten(layers, fn())
            err = float(np.max(np.abs(got - reference)) / max(np.max(np.abs(reference)), 1e-300))
        except Exception as exc:  # noqa: BLE001
            notes[name] = f"{type(exc).__name__}: {exc}"
            del methods[name]
            continue
        errors[name] = err
        if not err <= 1e-8:
            notes[name] = f"disagrees with the trainer (max relative error {err:.2e})"
            del methods[name]
    return methods, errors, notes


def _api_network(key):
    """(layers, MatrixDerivation) of a benchmark network key for the API comparison."""
    from symbackprop.derivation.matrix_form import matrix_derive
    from symbackprop.spec.load import NetworkSpec

    if key == MATRIX_NET[0]:
        return MATRIX_NET[1], matrix_derive(NetworkSpec(tuple(MATRIX_NET[1]), MATRIX_ACTS, MATRIX_LOSS, "mean"))
    layers = dict(SCALAR_NETS)[key]
    return layers, matrix_derive(NetworkSpec(tuple(layers), (SCALAR_ACT,) * (len(layers) - 1), SCALAR_LOSS, "mean"))


def measure_api(cases, repeats, sample_s):
    """{(key, batch): {"matrix", "pairs", "vector", "dict": Timing}}: the documented call
    ``compile_gradients(d).gradients(params, X, Y)`` with [(W, b)], a flat vector and the name dict,
    against ``matrix_gradients(mats, X, Y)`` (the matrix path), same round-robin rounds."""
    import numpy as np

    from symbackprop.compile.matrix_numpy import compile_matrix_gradients, random_matrices

    out = {}
    for key in dict.fromkeys(k for k, _ in cases):
        layers, md = _api_network(key)
        c = compile_matrix_gradients(md)
        m = c.module
        mats = random_matrices(md, np.random.default_rng(0))
        if not hasattr(m, "matrices_to_vector"):
            for k, b in cases:
                if k == key:
                    out[(k, b)] = {"matrix": Timing(error="this tree has no array API")}
            continue
        vec = m.matrices_to_vector(mats)
        names = m.vector_to_dict(vec)
        for k, batch in cases:
            if k != key:
                continue
            X, Y = random_batch(layers, batch, md.loss)
            log(f"API forms {list(layers)} batch {batch} ...")
            methods = {"matrix": lambda X=X, Y=Y: c.matrix_gradients(mats, X, Y),
                       "pairs": lambda X=X, Y=Y: c.gradients(mats, X, Y),
                       "vector": lambda X=X, Y=Y: c.gradients(vec, X, Y),
                       "dict": lambda X=X, Y=Y: c.gradients(names, X, Y)}
            ref = m.matrices_to_vector(c.matrix_gradients(mats, X, Y))
            bad = {}
            for name, fn in methods.items():
                got = fn()
                got = m.matrices_to_vector(got) if isinstance(got, list) else (
                    np.fromiter(got.values(), float) if isinstance(got, dict) else got)
                err = float(np.max(np.abs(got - ref)) / max(np.max(np.abs(ref)), 1e-300))
                if not err <= 1e-12:
                    bad[name] = f"disagrees with matrix_gradients ({err:.1e})"
            timings = round_robin({n: f for n, f in methods.items() if n not in bad}, repeats, target_seconds=sample_s)
            timings.update({n: Timing(error=e) for n, e in bad.items()})
            out[(k, batch)] = timings
    return out


def measure_external(quick: bool, folder=None) -> dict:
    """{script: its measure(quick) dict, or {"note": why not}} for EXTERNAL_SCRIPTS in ``folder``
    (this one by default)."""
    out = {}
    here = Path(folder) if folder is not None else Path(__file__).resolve().parent
    for name in EXTERNAL_SCRIPTS:
        path = here / f"{name}.py"
        if not path.exists():
            out[name] = {"note": f"benchmarks/{name}.py absent: not measured"}
            continue
        log(f"{name}.measure(quick={quick}) ...")
        try:
            module = _import_file(str(path), f"benchmarks_{name}")
            measured = module.measure(quick)
            out[name] = dict(measured) if isinstance(measured, dict) else {"note": "measure() returned no dict"}
        except Exception as exc:  # noqa: BLE001 - a benchmark reports, it does not stop
            out[name] = {"note": f"{type(exc).__name__}: {exc}"}
    return out


def jax_ours_gradient(jax, md, mats, X, Y):
    """symbackprop's JAX backend (the matrix steps in jax.numpy, jitted), on device arrays like jax_gradient."""
    from symbackprop.compile.matrix_jax import compile_jax_gradients

    c = compile_jax_gradients(md)
    args = [jax.device_put(X), jax.device_put(Y)] + [jax.numpy.asarray(a) for W, b in mats for a in (W, b)]
    r = 1.0 / X.shape[0]
    fn = c.jitted
    jax.block_until_ready(fn(*args, r))

    def run():
        return [(W, b) for W, b in jax.block_until_ready(fn(*args, r))]

    return run


# ---------------------------------------------------------------------------------------
# 3. Answers, 4. worksheets (through the CLI, the stable interface)
# ---------------------------------------------------------------------------------------

LECTURE_SPEC = ROOT / "derivations" / "lecture_2_2_1.toml"

#: (wrt, answer) pairs a student might write for the lecture's 2-2-1 network: right and wrong.
ANSWERS = (
    ("w^{2}_{1,1}", r"\frac{\partial L}{\partial w^{2}_{1,1}} = (\hat{y} - y)\hat{y}(1-\hat{y}) a^{2}_{1}"),
    ("w^{2}_{1,2}", r"(y - \hat{y})\hat{y}(1-\hat{y}) a^{2}_{2}"),
    ("w^{1}_{1,1}", r"(\hat{y} - y)\hat{y}(1-\hat{y}) w^{2}_{1,1} a^{2}_{1}(1 - a^{2}_{1}) x_1"),
    ("w^{1}_{1,1}", r"(\hat{y} - y) w^{2}_{1,1} a^{2}_{1}(1 - a^{2}_{1}) x_1"),
    ("w^{1}_{2,2}", r"(\hat{y} - y)\hat{y}(1-\hat{y}) w^{2}_{1,2} a^{2}_{2}(1 - a^{2}_{2}) x_2"),
    ("b^{2}_{1}", r"2(\hat{y} - y)\hat{y}(1-\hat{y})"),
    ("b^{1}_{1}", r"(\hat{y} - y)\hat{y}(1-\hat{y}) w^{2}_{1,1} a^{2}_{1}(1 - a^{2}_{1})"),
    ("w^{1}_{2,1}", r"(\hat{y} - y)\hat{y}(1-\hat{y}) w^{2}_{1,2} a^{2}_{2}(1 - a^{2}_{2}) x_2"),
)


def measure_check_answer(repeats: int, clock=time.perf_counter):
    """Cold: each answer with a fresh checker and SymPy's cache cleared (as one `verify` run
    after start-up); warm: the same answers again on a used checker (as in a grading batch)."""
    try:
        from symbackprop.verify.answers import AnswerChecker
    except ImportError as exc:
        t = Timing(error=f"symbackprop.verify.answers absent ({exc})")
        return t, t, t
    import symbackprop

    d = symbackprop.derive(symbackprop.load_spec(LECTURE_SPEC))
    cold, warm, setup = Timing(), Timing(), Timing()
    for _ in range(repeats):
        for wrt, text in ANSWERS:
            _clear_sympy_cache()
            gc.collect()
            try:
                t0 = clock()
                checker = AnswerChecker(d)
                t1 = clock()
                checker.check(text, wrt)
                t2 = clock()
            except Exception as exc:  # noqa: BLE001
                cold.error = f"{type(exc).__name__}: {exc}"
                return cold, warm, setup
            setup.samples.append(t1 - t0)
            cold.samples.append(t2 - t0)
    checker = AnswerChecker(d)
    for wrt, text in ANSWERS:
        checker.check(text, wrt)
    for _ in range(repeats):
        for wrt, text in ANSWERS:
            t0 = clock()
            checker.check(text, wrt)
            warm.samples.append(clock() - t0)
    return cold, warm, setup


def _run_cli(argv) -> tuple:
    """symbackprop's CLI in this process: (exit code, stdout, stderr)."""
    from symbackprop import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
    return code, out.getvalue(), err.getvalue()


def _has_command(name: str) -> bool:
    from symbackprop import cli

    try:
        parser = cli.build_parser()
    except Exception:  # noqa: BLE001
        return False
    for action in parser._actions:  # noqa: SLF001 - argparse has no public listing
        choices = getattr(action, "choices", None)
        if isinstance(choices, dict) and name in choices:
            return True
    return False


def answer_rows(count: int, seed: int = 0) -> tuple:
    """``count`` (student, wrt, answer) rows and where they come from:
    ``symbackprop.verify.grading.benchmark_rows`` (varied right and wrong forms of every parameter's
    gradient) when it exists, else draws from ANSWERS."""
    import random

    try:
        from symbackprop.verify.grading import benchmark_rows

        import symbackprop

        d = symbackprop.derive(symbackprop.load_spec(LECTURE_SPEC))
        rows = [(r["student"], r["wrt"], r["answer"]) for r in benchmark_rows(d, count, seed)]
        return rows, "symbackprop.verify.grading.benchmark_rows"
    except (ImportError, AttributeError, TypeError, KeyError):
        rng = random.Random(seed)
        rows = []
        for i in range(count):
            wrt, text = ANSWERS[rng.randrange(len(ANSWERS))]
            rows.append((f"student{i + 1:04d}", wrt, text))
        return rows, "benchmarks/run.py ANSWERS"


def answers_csv(path: Path, count: int, seed: int = 0) -> str:
    """Write ``count`` rows of student,wrt,answer; returns where the answers came from."""
    import csv

    rows, origin = answer_rows(count, seed)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["student", "wrt", "answer"])
        w.writerows(rows)
    return origin


def measure_grading(count: int, clock=time.perf_counter) -> Timing:
    """`symbackprop grade SPEC --answers FILE.csv --json` on ``count`` answers, in this process."""
    if not _has_command("grade"):
        return Timing(error="`symbackprop grade` absent")
    t = Timing()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "answers.csv"
        origin = answers_csv(csv_path, count)
        _clear_sympy_cache()
        t0 = clock()
        code, out, err = _run_cli(["grade", str(LECTURE_SPEC), "--answers", str(csv_path), "--json"])
        dt = clock() - t0
    if code not in (0, 1):
        t.error = f"exit {code}: {err.strip().splitlines()[-1] if err.strip() else out[-200:]}"
        return t
    t.samples.append(dt)
    t.note = f"answers from {origin}"
    try:
        got = json.loads(out)
        n = len(got.get("results", []))
        if n != count:
            t.note += f"; graded {n} of {count} rows"
        summary = got.get("summary") or {}
        if summary:
            t.note += "; " + ", ".join(f"{summary.get(k, 0)} {k}" for k in ("correct", "incorrect", "unparseable"))
    except (ValueError, AttributeError):
        t.note += "; output was not JSON"
    return t


def measure_worksheets(variants: int, pdf: bool, clock=time.perf_counter) -> Timing:
    """`symbackprop worksheet SPEC -o OUT.tex --variants N --seed 0 [--pdf]` in a temporary folder.

    When the command allows fewer than N variants per call ("allowed ... from 1 to M"), the N
    variants are made in calls of at most M (seeds 0, 1, ...), all inside the timing."""
    import re

    if not _has_command("worksheet"):
        return Timing(error="`symbackprop worksheet` absent")
    t = Timing()
    chunk, notes = variants, []
    with tempfile.TemporaryDirectory() as tmp:
        _clear_sympy_cache()
        total, done, call = 0.0, 0, 0
        while done < variants:
            count = min(chunk, variants - done)
            argv = ["worksheet", str(LECTURE_SPEC), "-o", str(Path(tmp) / f"sheet{call}.tex"), "--variants", str(count),
                    "--seed", str(call)]
            if pdf:
                argv.append("--pdf")
            t0 = clock()
            code, out, err = _run_cli(argv)
            dt = clock() - t0
            if code != 0:
                m = re.search(r"--variants \d+: allowed a whole number from 1 to (\d+)", err)
                if m and done == 0 and int(m.group(1)) < chunk:
                    chunk = int(m.group(1))
                    notes.append(f"at most {chunk} variants per call: {-(-variants // chunk)} calls")
                    continue
                t.error = f"exit {code}: {err.strip().splitlines()[-1] if err.strip() else 'no message'}"
                return t
            total += dt
            done += count
            call += 1
        made = sorted(p.name for p in Path(tmp).iterdir())
    t.samples.append(total)
    keys = [m for m in made if m.endswith("-answers.tex")]
    notes.insert(0, f"{len([m for m in made if m.endswith('.tex')])} .tex files ({len(keys)} keys)" + (
        f", {len([m for m in made if m.endswith('.pdf')])} PDFs" if pdf else ""))
    t.note = "; ".join(notes)
    return t


# ---------------------------------------------------------------------------------------
# 5. Crossover: per-scalar code against matrix-form code
# ---------------------------------------------------------------------------------------

CROSSOVER_NETS = ((2, 2, 1), (2, 2, 2, 1), (3, 3, 3, 1), (4, 4, 4, 1), (6, 6, 6, 1), (8, 8, 8, 1), (12, 12, 12, 1),
                  (16, 16, 16, 1))
CROSSOVER_BATCHES = (10, 100, 1_000, 10_000, 100_000)


def measure_crossover(nets, batches, repeats):
    """Per-scalar code time / matrix-form code time, through the same public call
    ``compile_gradients(d, backend=...).gradients(params, X, Y)`` (dicts of index names in and
    out: exactly what ``backend="auto"`` chooses between), on sigmoid + BCE networks.
    Falls back to the exported per-scalar module and ``matrix_numpy`` when ``compile_gradients``
    has no ``backend``. Returns {"ratios": {(layers, batch): r}, "how": text, ...}."""
    import symbackprop
    from symbackprop.compile import numpy_backend

    ratios, how = {}, ""
    for layers in nets:
        d = symbackprop.derive(scalar_spec(layers))
        params = numpy_backend.spec_parameters(d)
        variants = compiled_variants(d)
        if "per_scalar" in variants and "matrix_dict" in variants:
            per_scalar, matrix = variants["per_scalar"], variants["matrix_dict"]
            how = "`compile_gradients(d, backend=...).gradients(params, X, Y)`, both backends"
        else:
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, f"cross_{'_'.join(map(str, layers))}.py")
                numpy_backend.export_module(d, path)
                per_scalar = _import_file(path, f"bench_cross_{'_'.join(map(str, layers))}")
            from symbackprop.compile.matrix_numpy import compile_matrix_gradients

            matrix = compile_matrix_gradients(d)
            how = "the exported per-scalar module against `matrix_numpy`, both with dicts of names"
        for batch in batches:
            X, Y = random_batch(layers, batch, SCALAR_LOSS)
            methods = {"per_scalar": (lambda X=X, Y=Y: per_scalar.gradients(params, X, Y)),
                       "matrix": (lambda X=X, Y=Y: matrix.gradients(params, X, Y))}
            timings = round_robin(methods, repeats, target_seconds=0.02)
            r = ratio(timings["per_scalar"].median, timings["matrix"].median)
            ratios[(tuple(layers), batch)] = r
            log(f"  crossover {list(layers)} batch {batch}: per-scalar/matrix = {_fmt(r)}")
    return {"ratios": ratios, "how": how, "nets": [tuple(x) for x in nets], "batches": list(batches)}


# ---------------------------------------------------------------------------------------
# The whole run
# ---------------------------------------------------------------------------------------

@dataclass
class Plan:
    """What one run measures. ``grad_cases``: (network key, batch) pairs, per-scalar networks
    and the matrix network alike."""

    quick: bool
    derive_repeats: int
    compile_nets: tuple
    naive_limit: float
    naive_nets: tuple
    grad_cases: tuple
    grad_repeats: int
    grad_sample_s: float
    answer_repeats: int
    grade_count: int
    worksheet_variants: int
    worksheet_pdf: bool
    crossover: bool
    load_matrix_spec: bool
    naive_limits: dict = field(default_factory=dict)  # per network key; others use naive_limit
    api_cases: tuple = ()  # (network key, batch): the documented API's forms against the matrix path
    external: bool = True  # benchmarks/latex_scaling.py and answers_scaling.py, when present


def make_plan(args) -> Plan:
    if args.quick:
        plan = Plan(quick=True, derive_repeats=1, compile_nets=("2_2_1", "4_8_8_1", "10_16_16_1"),
                    naive_limit=10.0, naive_nets=("2_2_1", "10_16_16_1"),
                    grad_cases=(("4_8_8_1", 1_000), ("4_8_8_1", 100_000), ("10_16_16_1", 1_000),
                                ("784_128_10", 1_000)),
                    grad_repeats=3, grad_sample_s=0.03, answer_repeats=1, grade_count=1000, worksheet_variants=100,
                    worksheet_pdf=False, crossover=False, load_matrix_spec=False,
                    api_cases=(("2_2_1", 1), ("784_128_10", 1), ("784_128_10", 1_000)))
    else:
        keys = tuple(k for k, _ in SCALAR_NETS)
        plan = Plan(quick=False, derive_repeats=3, compile_nets=keys, naive_limit=150.0, naive_nets=keys,
                    grad_cases=tuple((k, b) for k in keys + (MATRIX_NET[0],) for b in (1_000, 100_000)),
                    grad_repeats=7, grad_sample_s=0.1, answer_repeats=3, grade_count=1000, worksheet_variants=100,
                    worksheet_pdf=not args.no_pdf, crossover=not args.no_crossover, load_matrix_spec=True,
                    # the naive baseline runs to completion where it can (142 s at [10,16,16,1] in FINDINGS);
                    # [20,32,32,1] does not finish in minutes and is stopped, reported as "> limit"
                    naive_limits={"2_2_1": 900.0, "4_8_8_1": 900.0, "10_16_16_1": 900.0, "20_32_32_1": 60.0},
                    api_cases=tuple((k, b) for k in ("2_2_1", "20_32_32_1", "784_128_10") for b in (1, 10, 1_000)))
    if args.naive_limit is not None:
        plan.naive_limit = args.naive_limit
        plan.naive_limits = {}
    if args.no_naive:
        plan.naive_nets = ()
    return plan


def run_all(plan: Plan, use_torch=True, use_jax=True) -> dict:
    """Every measurement of ``plan``, in this process, one thread per library."""

    results = {"derive": {}, "grad": {}, "api": {}, "answers": {}, "worksheets": {}, "external": {}, "notes": {}}
    start = time.perf_counter()
    frameworks = Frameworks(use_torch, use_jax)
    results["notes"].update(frameworks.notes)
    # every library with a thread pool is loaded now: pin them all to one thread
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        log("threadpoolctl is not installed: NumPy's BLAS is not pinned (pip install -e '.[bench]')")
        results["notes"]["threads"] = "threadpoolctl absent: BLAS threads not pinned"
        return _run_pinned(plan, results, frameworks, start)
    with threadpool_limits(limits=1):
        results["notes"]["threads"] = ", ".join(
            f"{p.get('internal_api')} ({os.path.basename(p.get('filepath') or '')}): {p.get('num_threads')}"
            for p in threadpool_info())
        return _run_pinned(plan, results, frameworks, start)


def _run_pinned(plan: Plan, results: dict, frameworks, start: float) -> dict:
    import symbackprop
    from symbackprop.compile import numpy_backend
    from symbackprop.check import trainer

    # 1. derivation
    latex_fn = _render_latex_function()
    results["notes"]["latex"] = ("symbackprop.render.latex.derivation_document(d, wrt=[w^{1}_{1,1}])"
                                 if latex_fn else "symbackprop.render.latex absent: derivation times exclude LaTeX")
    layers_of = dict(SCALAR_NETS)
    for key, layers in SCALAR_NETS:
        log(f"derive {list(layers)} ...")
        ours, latex, comp = measure_derivation(layers, plan.derive_repeats, latex_fn,
                                               compile_too=key in plan.compile_nets)
        results["derive"][key] = {"ours": ours, "latex": latex, "compile": comp}
    for key, layers in SCALAR_NETS:
        if key in plan.naive_nets:
            limit = plan.naive_limits.get(key, plan.naive_limit)
            log(f"naive sympy.diff {list(layers)} (limit {limit:g} s) ...")
            results["derive"][key]["naive"] = measure_naive(layers, limit)
    mkey, mlayers = MATRIX_NET
    log(f"matrix form {list(mlayers)} ...")
    mt, load, how = measure_matrix_derivation(mlayers, plan.derive_repeats, load_spec_too=plan.load_matrix_spec)
    results["derive"][f"{mkey}_matrix"] = {"ours": mt}
    if load is not None:
        results["derive"][f"{mkey}_matrix"]["load_spec"] = load
    results["notes"]["matrix_latex"] = how

    # 2. gradients
    cases = {}
    for key, batch in plan.grad_cases:
        cases.setdefault(key, []).append(batch)
    for key, batches in cases.items():
        compiled = exported = params = md = None
        if key == mkey:
            # the matrix network: matrix-form code only (no per-scalar derivation of 101,770 parameters)
            layers, acts, loss = mlayers, MATRIX_ACTS, MATRIX_LOSS
            mats = trainer.init_params(mlayers, seed=0)
            try:
                from symbackprop.derivation.matrix_form import matrix_derive
                from symbackprop.spec.load import NetworkSpec

                md = matrix_derive(NetworkSpec(tuple(mlayers), MATRIX_ACTS, MATRIX_LOSS, "mean"))
            except Exception as exc:  # noqa: BLE001
                results["notes"]["matrix_form_784"] = f"{type(exc).__name__}: {exc}"
        else:
            layers = layers_of[key]
            acts, loss = (SCALAR_ACT,) * (len(layers) - 1), SCALAR_LOSS
            spec = scalar_spec(layers)
            d = symbackprop.derive(spec)
            compiled = compiled_variants(d)
            results["notes"][f"compile_gradients_kind_{key}"] = getattr(compiled["ours"], "kind", "?")
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, f"bench_{key}.py")
                numpy_backend.export_module(d, path)
                exported = _import_file(path, f"bench_exported_{key}")
            params = numpy_backend.spec_parameters(d)
            mats = matrices_from_names(layers, params)
            try:
                from symbackprop.derivation.matrix_form import matrix_derive

                md = matrix_derive(spec)
            except Exception as exc:  # noqa: BLE001
                results["notes"]["matrix_form"] = f"{type(exc).__name__}: {exc}"
            del d
        for batch in batches:
            log(f"gradients {list(layers)} batch {batch} ...")
            methods, errors, notes = gradient_methods(
                key, layers, acts, loss, batch, compiled=compiled, exported=exported, md=md,
                params=params, mats=mats, frameworks=frameworks, include_environment=key == mkey)
            if key == mkey:  # at this size "ours" is the matrix-form code
                if "matrix_numpy" in methods:
                    methods["ours"] = methods.pop("matrix_numpy")
                    errors["ours"] = errors.pop("matrix_numpy", None)
                if "matrix_numpy" in notes:
                    notes["ours"] = notes.pop("matrix_numpy")
            timings = round_robin(methods, plan.grad_repeats, target_seconds=plan.grad_sample_s)
            for name, note in notes.items():
                timings[name] = Timing(error=note)
            results["grad"][(key, batch)] = timings
            results["notes"][f"max_rel_error_{key}_{_batch_tag(batch)}"] = errors
            del methods
            gc.collect()
        compiled = exported = None
        gc.collect()

    # 2b. the documented API's forms against the matrix path
    if plan.api_cases:
        results["api"] = measure_api(plan.api_cases, plan.grad_repeats, plan.grad_sample_s)

    # 3. answers
    log("answer checking ...")
    cold, warm, setup = measure_check_answer(plan.answer_repeats)
    results["answers"].update(check_cold=cold, check_warm=warm, checker_setup=setup)
    log(f"grading {plan.grade_count} answers ...")
    results["answers"]["grade"] = measure_grading(plan.grade_count)
    results["answers"]["grade_count"] = plan.grade_count

    # 4. worksheets
    log(f"worksheets: {plan.worksheet_variants} variants ...")
    results["worksheets"]["variants"] = plan.worksheet_variants
    results["worksheets"]["no_pdf"] = measure_worksheets(plan.worksheet_variants, pdf=False)
    if plan.worksheet_pdf:
        log(f"worksheets: {plan.worksheet_variants} variants with pdflatex ...")
        results["worksheets"]["pdf"] = measure_worksheets(plan.worksheet_variants, pdf=True)

    # 5. crossover
    if plan.crossover:
        log("crossover per-scalar / matrix ...")
        results["crossover"] = measure_crossover(CROSSOVER_NETS, CROSSOVER_BATCHES, max(3, plan.grad_repeats // 2))
    # 6. the other owners' scaling scripts (LaTeX with data, answer checks, grading at scale)
    if plan.external:
        results["external"] = measure_external(plan.quick)
    results["meta"] = {"mode": "quick" if plan.quick else "full", "wall_s": round(time.perf_counter() - start, 1)}
    return results


# ---------------------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------------------

METHOD_TITLES = (
    ("ours", "ours (`compile_gradients`, auto; name dict)"),
    ("ours_arrays", "ours (`compile_gradients`, auto; [(W, b)])"),
    ("per_scalar", "per-scalar backend"),
    ("matrix_dict", "matrix backend (dict API)"),
    ("matrix_numpy", "matrix form (`matrix_gradients`, matrices)"),
    ("exported", "exported per-scalar module"),
    ("matrix_form_eval", "matrix-form trees (`environment`)"),
    ("textbook", "textbook NumPy"),
    ("torch", "PyTorch autograd"),
    ("jax", "JAX jit(grad)"),
    ("jax_ours", "ours, JAX backend (jitted)"),
)


def markdown(results: dict, machine: dict, summary: dict) -> str:
    """The tables (Markdown) that go between the markers of docs/performance.md."""
    lines = []
    add = lines.append
    mode = summary.get("mode", "?")
    add(f"Run: `python benchmarks/run.py{' --quick' if mode == 'quick' else ''}` ({mode} mode, "
        f"{summary.get('wall_s', '?')} s wall), float64, one thread per library, medians of round-robin samples.")
    add("")
    add("### Machine")
    add("")
    add(f"- CPU: {machine.get('cpu')}, {machine.get('cores')} cores"
        + (f" ({machine.get('cores_usable')} usable)" if machine.get("cores_usable") else "")
        + (f"; load average at start {machine.get('load_average')}" if machine.get("load_average") else "")
        + (f", at end {[round(x, 2) for x in machine['load_average_end']]}" if machine.get("load_average_end") else ""))
    add(f"- Python {machine.get('python')}, NumPy {machine.get('numpy')}, SymPy {machine.get('sympy')}"
        + (f", PyTorch {machine['torch']}" if machine.get("torch") else ", PyTorch not installed")
        + (f", JAX {machine['jax']}" if machine.get("jax") else ", JAX not installed"))
    for b in machine.get("blas", []):
        add(f"- BLAS (threadpoolctl): {b.get('internal_api')} {b.get('version')}, kernel {b.get('architecture')}, "
            f"{b.get('num_threads')} thread(s) before pinning to 1")
    if results["notes"].get("threads"):
        add(f"- Threads while measuring (threadpoolctl): {results['notes']['threads']}; PyTorch 1 "
            "(`torch.set_num_threads`), XLA single-threaded (`XLA_FLAGS`)")
    env = machine.get("env") or {}
    add(f"- Environment: {', '.join(f'`{k}={v}`' for k, v in env.items()) or 'no OPENBLAS_/OMP_/MKL_/XLA_ variables'}")
    add("")

    add("### 1. Derivation (seconds, cold SymPy cache)")
    add("")
    add("| network | parameters | derive + LaTeX | of which LaTeX | compile_gradients | naive sympy.diff | naive / ours |")
    add("|---|---|---|---|---|---|---|")
    for key, layers in SCALAR_NETS:
        row = results["derive"].get(key)
        if not row:
            continue
        naive = row.get("naive")
        r = summary.get(f"naive_over_ours_{key}")
        if summary.get(f"naive_over_ours_{key}_lower_bound"):
            rtxt = "stopped: no ratio"
        else:
            rtxt = "–" if r is None else f"{r:,.0f}×"
        add(f"| {list(layers)} | {n_parameters(layers):,} | {row['ours'].text()} | {row['latex'].text()} | "
            f"{row['compile'].text()} | {naive.text() if naive else 'not run'} | {rtxt} |")
    mrow = results["derive"].get(f"{MATRIX_NET[0]}_matrix")
    if mrow:
        add(f"| {list(MATRIX_NET[1])} matrix form | {n_parameters(MATRIX_NET[1]):,} | {mrow['ours'].text(digits=2)} | "
            f"(included) | – | – | – |")
    add("")
    add(f"LaTeX: {results['notes'].get('latex')}; matrix form: {results['notes'].get('matrix_latex')}.")
    load = (mrow or {}).get("load_spec")
    if load is not None:
        add(f"Loading a {list(MATRIX_NET[1])} spec whose weights come from `[parameters] seed` (exact rationals): "
            f"{load.text()} s.")
    add("")

    add("### 2. Gradient evaluation (time / the trainer's hand-written backprop; lower is better)")
    add("")
    present = [(k, t) for k, t in METHOD_TITLES if any(k in m for m in results["grad"].values())]
    add("| network | batch | trainer grad (ms) | trainer forward (ms) | "
        + " | ".join(t for _, t in present) + " | ours grad / trainer forward |")
    add("|---|---|---|---|" + "---|" * len(present) + "---|")
    for (key, batch), methods in results["grad"].items():
        tr = methods.get("trainer")
        fw = methods.get("trainer_forward")
        cells = []
        for name, _ in present:
            t = methods.get(name)
            if t is None:
                cells.append("–")
            elif t.error is not None:
                cells.append("n/a" if "absent" in t.error else "error")
            else:
                cells.append(f"{_fmt(ratio(t.median, tr.median if tr else None))}×")
        layers = MATRIX_NET[1] if key == MATRIX_NET[0] else dict(SCALAR_NETS)[key]
        gf = summary.get(f"grad_over_forward_{key}_{_batch_tag(batch)}")
        add(f"| {list(layers)} | {batch:,} | {tr.text(1e-3) if tr else '–'} | {fw.text(1e-3) if fw else '–'} | "
            + " | ".join(cells) + f" | {_fmt(gf) + '×' if gf is not None else '–'} |")
    add("")
    kinds = sorted({f"{k.split('compile_gradients_kind_')[1]}: {v}" for k, v in results["notes"].items()
                    if k.startswith("compile_gradients_kind_")})
    add(f"`compile_gradients` (auto) chose: {', '.join(kinds) or '?'}. For {list(MATRIX_NET[1])} \"ours\" is the "
        "matrix-form code (`matrix_gradients`; no per-scalar derivation is built at that size). "
        "The trainer's own grad/forward ratio: "
        + ", ".join(f"{k.split('trainer_grad_over_forward_')[1]} {_fmt(v)}×" for k, v in summary.items()
                     if k.startswith("trainer_grad_over_forward_") and v is not None) + ".")
    problems = [f"{k[0]} @ {k[1]}: {n}: {t.error}" for k, m in results["grad"].items() for n, t in m.items()
                if t.error]
    if problems:
        add("")
        add("Not timed: " + "; ".join(sorted(set(problems))) + ".")
    add("")

    add("### 3. Answer checking")
    add("")
    a = results["answers"]
    add("| what | time |")
    add("|---|---|")
    if a.get("check_cold") is not None:
        add(f"| one answer, cold (fresh checker, SymPy cache cleared), median of {len(a['check_cold'].samples)} | "
            f"{a['check_cold'].text(1e-3)} ms |")
        add(f"| one answer, warm (checker reused), median | {a['check_warm'].text(1e-3)} ms |")
    g = a.get("grade")
    if g is not None:
        n = a.get("grade_count")
        extra = f"; {g.note}" if g.note else ""
        add(f"| {n:,} answers graded (`symbackprop grade --json`){extra} | {g.text()} s |")
    add("")

    add("### 4. Worksheets")
    add("")
    w = results["worksheets"]
    nv = w.get("variants")
    add("| what | time |")
    add("|---|---|")
    if w.get("no_pdf") is not None:
        t = w["no_pdf"]
        add(f"| {nv} variants with keys, no pdflatex{(' — ' + t.note) if t.note else ''} | {t.text()} s |")
    if w.get("pdf") is not None:
        t = w["pdf"]
        add(f"| {nv} variants with keys, with pdflatex{(' — ' + t.note) if t.note else ''} | {t.text()} s |")
    add("")

    api = results.get("api") or {}
    if api:
        add("### 2b. The documented API: `compile_gradients(d).gradients(params, X, Y)` / `matrix_gradients` (time ratio)")
        add("")
        add("| network | batch | matrix path (ms) | [(W, b), ...] | flat vector | name dict |")
        add("|---|---|---|---|---|---|")
        for (key, batch), m in api.items():
            layers = MATRIX_NET[1] if key == MATRIX_NET[0] else dict(SCALAR_NETS)[key]
            base = m.get("matrix")
            cells = []
            for form in ("pairs", "vector", "dict"):
                t = m.get(form)
                r = ratio(t.median, base.median) if (t is not None and base is not None) else None
                cells.append("–" if r is None else f"{_fmt(r)}×")
            add(f"| {list(layers)} | {batch:,} | {base.text(1e-3) if base else '–'} | " + " | ".join(cells) + " |")
        add("")
    ext = results.get("external") or {}
    if ext:
        add("### 6. LaTeX with data and answers at scale (the owners' scripts)")
        add("")
        add("| script | figure | value |")
        add("|---|---|---|")
        for name, measured in ext.items():
            for k, v in measured.items():
                if isinstance(v, float):
                    v = _fmt(v)
                if isinstance(v, (int, str, bool)) or v is None:
                    add(f"| `benchmarks/{name}.py` | {k} | {v} |")
        add("")

    cross = results.get("crossover")
    if cross:
        add("### 5. Crossover: per-scalar code time / matrix-form code time")
        add("")
        add(f"Measured with {cross['how']}; sigmoid + BCE. Below 1 the per-scalar code is faster.")
        add("")
        add("| network (parameters) | " + " | ".join(f"batch {b:,}" for b in cross["batches"]) + " |")
        add("|---|" + "---|" * len(cross["batches"]))
        for net in cross["nets"]:
            add(f"| {list(net)} ({n_parameters(net)}) | " + " | ".join(
                f"{_fmt(cross['ratios'].get((tuple(net), b)))}" for b in cross["batches"]) + " |")
        add("")

    add("### Targets")
    add("")
    add("| target | measured | status |")
    add("|---|---|---|")
    for key, (op, bound, text) in TARGETS.items():
        v = summary.get(key)
        lb = summary.get(key + "_lower_bound")
        if lb and v is None:
            vtxt = "stopped (> limit)"
        else:
            vtxt = "–" if v is None else (("≥ " if lb else "") + _fmt(v))
        add(f"| {text} | {vtxt} | {summary['targets'].get(key)} |")
    add("")
    return "\n".join(lines)


def update_markdown_file(path: Path, block: str, force: bool = False) -> None:
    """Put ``block`` between BEGIN_MARK and END_MARK in ``path`` (created if missing), keeping
    the hand-written text around it; atomically. A file without the markers is only
    replaced with ``force``."""
    block = f"{BEGIN_MARK}\n{block.rstrip()}\n{END_MARK}\n"
    if path.exists():
        text = path.read_text(encoding="utf-8")
        if BEGIN_MARK in text and END_MARK in text:
            head, rest = text.split(BEGIN_MARK, 1)
            tail = rest.split(END_MARK, 1)[1]
            new = head + block.rstrip("\n") + tail
        elif force:
            new = "# Performance\n\n" + block
        else:
            raise SystemExit(f"{path} exists without the benchmark markers; pass --force to replace it")
    else:
        new = "# Performance\n\n" + block
    fd, tmp = tempfile.mkstemp(dir=str(path.parent), prefix=".tmp-", suffix=path.name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(new)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _json_default(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == [NAIVE_CHILD]:
        return naive_child(argv[1], float(argv[2]))
    p = argparse.ArgumentParser(description="symbackprop benchmarks (not a test).")
    p.add_argument("--quick", action="store_true", help="a smaller run that finishes in under a minute")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line of stdout")
    p.add_argument("--markdown", metavar="FILE", help="write the tables into FILE between the benchmark markers")
    p.add_argument("--force", action="store_true", help="with --markdown: replace a file that has no markers")
    p.add_argument("--naive-limit", type=float, help="seconds before the naive baseline is stopped")
    p.add_argument("--no-naive", action="store_true", help="skip the naive sympy.diff baseline")
    p.add_argument("--no-pdf", action="store_true", help="skip the worksheet run with pdflatex")
    p.add_argument("--no-crossover", action="store_true", help="skip the per-scalar/matrix crossover grid")
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--no-jax", action="store_true")
    args = p.parse_args(argv)

    plan = make_plan(args)
    machine = machine_info()
    results = run_all(plan, use_torch=not args.no_torch, use_jax=not args.no_jax)
    machine["load_average_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    summary = summarize(results)
    summary["machine"] = machine
    summary["notes"] = results["notes"]
    text = markdown(results, machine, summary)
    print(text)
    if args.markdown:
        update_markdown_file(Path(args.markdown), text, force=args.force)
        log(f"wrote {args.markdown}")
    if args.json:
        print(json.dumps(summary, default=_json_default, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
