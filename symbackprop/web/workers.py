"""Worker processes with a hard time limit: a hostile answer can stall only its own worker.

Every check the web app runs (``verify``, ``hint``, ``grade`` rows, worksheets) is sent to one of
``size`` long-lived worker processes over a pipe.  The worker keeps its caches (one checker per
spec file), so a warm check costs milliseconds.  When a job takes longer than its limit the
worker is killed (SIGKILL) and a fresh one takes its place; the request gets a one-line error and
every other student's request goes on in the other workers.

>>> pool = WorkerPool(size=2); pool.start()
>>> pool.call("ping", {}, timeout=30)
'pong'
>>> pool.close()
"""
from __future__ import annotations

import multiprocessing
import os
import queue
import threading

from ..errors import SymbackpropError


class JobTimeout(SymbackpropError):
    """A job ran past its hard time limit (its worker was killed and replaced)."""


class JobError(SymbackpropError):
    """A job failed with an error meant for the user (one line)."""


class PoolBusy(SymbackpropError):
    """Every worker is busy and the wait for one ran out."""


def _serve(conn) -> None:  # pragma: no cover - runs in the child process
    """The worker's loop: receive (kind, payload), answer ("ok", result) or ("error", line)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    from . import jobs

    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        kind, payload = message
        try:
            result = ("ok", jobs.run(kind, payload))
        except SymbackpropError as exc:
            result = ("error", (str(exc).splitlines() or [type(exc).__name__])[0])
        except RecursionError:
            result = ("error", "the input is nested too deeply to check")
        except MemoryError:
            result = ("error", "the input needs too much memory to check")
        except Exception as exc:  # never a traceback to the browser
            result = ("error", f"internal error while checking ({type(exc).__name__})")
        try:
            conn.send(result)
        except (EOFError, OSError):
            return


class _Worker:
    def __init__(self, ctx):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child,), daemon=True, name="symbackprop-web-worker")
        self.process.start()
        child.close()

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        try:
            self.process.kill()
        except Exception:  # pragma: no cover - already gone
            pass
        self.process.join(5)
        try:
            self.conn.close()
        except OSError:  # pragma: no cover
            pass

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.process.join(2)
        if self.process.is_alive():
            self.kill()
        else:
            self.conn.close()


class WorkerPool:
    """``size`` worker processes; ``call(kind, payload, timeout)`` runs one job in one of them.

    ``call`` blocks the calling thread (the app calls it from a thread pool); it waits at most
    ``wait`` seconds for a free worker (PoolBusy), then at most ``timeout`` seconds for the
    answer (JobTimeout, the worker killed and replaced).
    """

    def __init__(self, size: int | None = None, *, wait: float = 30.0):
        self.size = max(1, size or min(os.cpu_count() or 1, 4))
        self.wait = wait
        self._ctx = multiprocessing.get_context("spawn")
        self._idle: queue.Queue = queue.Queue()
        self._all: list = []
        self._lock = threading.Lock()
        self._closed = False
        self.killed = 0  # workers killed on a timeout (for the tests and the benchmark)

    def start(self) -> "WorkerPool":
        with self._lock:
            while len(self._all) < self.size:
                w = _Worker(self._ctx)
                self._all.append(w)
                self._idle.put(w)
        return self

    def pids(self) -> list:
        with self._lock:
            return [w.pid for w in self._all]

    def _replace(self, w: _Worker) -> None:
        w.kill()
        with self._lock:
            if w in self._all:
                self._all.remove(w)
            if self._closed:
                return
            fresh = _Worker(self._ctx)
            self._all.append(fresh)
        self._idle.put(fresh)

    def call(self, kind: str, payload: dict, timeout: float):
        if self._closed:
            raise PoolBusy("the server is shutting down")
        try:
            w = self._idle.get(timeout=self.wait)
        except queue.Empty:
            raise PoolBusy(f"the server is busy (every checker was busy for {self.wait:g} s); try again") from None
        if not w.process.is_alive():
            self._replace(w)
            return self.call(kind, payload, timeout)
        try:
            w.conn.send((kind, payload))
            ready = w.conn.poll(timeout)
            if not ready:
                self.killed += 1
                self._replace(w)
                raise JobTimeout(f"stopped after {timeout:g} s: this input takes too long to check "
                                 f"(shorten it, or split it into steps)")
            status, result = w.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            self._replace(w)
            raise JobError("the checker stopped unexpectedly; try again") from None
        except JobTimeout:
            raise
        except BaseException:
            self._replace(w)
            raise
        self._idle.put(w)
        if status != "ok":
            raise JobError(result)
        return result

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
        for w in workers:
            w.stop()
