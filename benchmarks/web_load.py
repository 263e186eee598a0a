#!/usr/bin/env python
r"""Load on ``symbackprop serve``: simulated students verifying answers against a real local server.

    python benchmarks/web_load.py                      # 50 students for 60 s (the issue's figure)
    python benchmarks/web_load.py --students 10 --seconds 10 --think 0.5 --json

Starts ``python -m symbackprop serve`` as its own process (the real uvicorn server and its worker
processes), waits for ``/api/health``, then runs ``--students`` threads; each posts answers to
``POST /api/verify`` one after another (after ``--think`` seconds each) for ``--seconds``: right,
wrong and unreadable answers for the lecture's 2-2-1 network and matrix answers for the gender
network, picked from a fixed list by a seeded random generator.  Reports the latency's p50, p95,
p99 and maximum, the checks per second, the errors (any status other than 200 or a failed
connection; the target is 0), and whether any worker process is left after the server stops.

Nothing here is a test; the figures go in docs/web.md.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ANSWERS = [
    ("lecture_2_2_1", "w^{2}_{1,1}", r"(\hat{y} - y)\,\hat{y}(1 - \hat{y})\,a^{2}_{1}"),
    ("lecture_2_2_1", "w^{2}_{1,1}", r"(\hat{y} - y)\,a^{2}_{1}"),
    ("lecture_2_2_1", "w^{1}_{1,1}",
     r"\left(yhat-y\right)\cdot yhat\cdot\left(1-yhat\right)\cdot w_{1,1}^2\cdot a_1^2\cdot\left(1-a_1^2\right)\cdot x_1"),
    ("lecture_2_2_1", "w^{1}_{1,1}", r"\left(yhat-y\right)\cdot yhat\cdot\left(1-yhat\right)\cdot w_{1,1}^2\cdot x_1"),
    ("lecture_2_2_1", "b^{2}_{1}", r"(\hat{y} - y)\hat{y}(1 - \hat{y})"),
    ("lecture_2_2_1", "w^{2}_{1,1}", r"(\hat{y}"),
    ("lecture_2_2_1", None,
     "\\frac{\\partial L}{\\partial w^{2}_{1,1}} = (\\hat{y}-y)\\hat{y}(1-\\hat{y})a^{2}_{1}\n= (\\hat{y}-y)a^{2}_{1}"),
    ("gender", "dW_2", "a_1^T dz_2"),
    ("gender", "dW_2", "dz_2 a_1^T"),
    ("gender", "dz_1", r"da_1 \odot a_1 \odot (1 - a_1)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def percentile(values, q: float):
    """The q-th percentile (0..100) by the nearest-rank method; None for no values."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(q / 100 * len(s) + 0.5)) - 1))
    return s[k]


def student(base: str, seed: int, stop_at: float, think: float, out: list, errors: list, lock) -> None:
    rng = random.Random(seed)
    while time.monotonic() < stop_at:
        spec, wrt, answer = rng.choice(ANSWERS)
        body = json.dumps({"spec": spec, "wrt": wrt, "answer": answer}).encode()
        req = urllib.request.Request(f"{base}/api/verify", data=body, method="POST",
                                     headers={"content-type": "application/json"})
        t = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                verdict = json.load(r)["verdict"]
            dt = time.perf_counter() - t
            with lock:
                out.append((dt, verdict))
        except urllib.error.HTTPError as exc:
            with lock:
                errors.append(f"HTTP {exc.code}: {exc.read()[:120]!r}")
        except (OSError, ValueError) as exc:
            with lock:
                errors.append(f"{type(exc).__name__}: {exc}")
        if think:
            time.sleep(rng.uniform(0.5 * think, 1.5 * think))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--think", type=float, default=0.0, help="mean pause between a student's answers (s)")
    ap.add_argument("--workers", type=int, default=None, help="the server's checker processes (default: its own)")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    args = ap.parse_args(argv)

    port = _free_port()
    cmd = [sys.executable, "-m", "symbackprop", "serve", "--port", str(port)]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    server = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/health", timeout=5) as r:
                    health = json.load(r)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    print("the server did not start", file=sys.stderr)
                    return 1
                time.sleep(0.3)
        # warm each worker's caches the way the first students of a lecture would
        for spec, wrt, answer in ANSWERS * 2:
            body = json.dumps({"spec": spec, "wrt": wrt, "answer": answer}).encode()
            req = urllib.request.Request(f"{base}/api/verify", data=body, method="POST",
                                         headers={"content-type": "application/json"})
            with urllib.request.urlopen(req, timeout=120) as r:
                r.read()
        workers = _children(server.pid)
        results, errors, lock = [], [], threading.Lock()
        started = time.monotonic()
        stop_at = started + args.seconds
        threads = [threading.Thread(target=student, args=(base, k, stop_at, args.think, results, errors, lock))
                   for k in range(args.students)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:  # pragma: no cover
            server.kill()
            server.wait(10)
    time.sleep(0.5)
    leftover = [p for p in workers if _alive(p)]
    lat = [dt for dt, _ in results]
    verdicts = {}
    for _, v in results:
        verdicts[v] = verdicts.get(v, 0) + 1
    figures = {
        "students": args.students, "seconds": round(elapsed, 1), "think_s": args.think,
        "server_workers": health.get("workers"), "cpus": os.cpu_count(),
        "checks": len(results), "checks_per_s": round(len(results) / elapsed, 1),
        "p50_ms": round(1000 * percentile(lat, 50), 1) if lat else None,
        "p95_ms": round(1000 * percentile(lat, 95), 1) if lat else None,
        "p99_ms": round(1000 * percentile(lat, 99), 1) if lat else None,
        "max_ms": round(1000 * max(lat), 1) if lat else None,
        "errors": len(errors), "first_errors": errors[:3], "verdicts": verdicts,
        "worker_processes": len(workers), "leftover_processes": len(leftover),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"{args.students} students for {elapsed:.0f} s against {health.get('workers')} checker processes "
              f"on {os.cpu_count()} CPUs: {len(results)} checks ({figures['checks_per_s']}/s)")
        print(f"latency p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms, p99 {figures['p99_ms']} ms, "
              f"max {figures['max_ms']} ms")
        print(f"errors: {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
        print(f"verdicts: {verdicts}")
        print(f"worker processes left after the server stopped: {len(leftover)} of {len(workers)}")
    return 0 if not errors and not leftover else 1


if __name__ == "__main__":
    sys.exit(main())
