r"""Time limits of the answer checker, in the main thread, worker threads and worker processes.

Gives :func:`_time_limit` (raises :class:`_Budget` when the time runs out) and the bounds
``ANSWER_SECONDS`` (one answer) and ``SYMBOLIC_SECONDS`` (one attempt at a proof).
"""
from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager


SYMBOLIC_SECONDS = 0.25
ANSWER_SECONDS = 5.0


class _Budget(Exception):
    """The time bound for one answer ran out."""


_DEADLINES = threading.local()   # per thread: the stack of active deadlines (time.monotonic())


def _outer_expired() -> bool:
    """True when an enclosing time limit of this thread has run out (an inner limit that catches
    _Budget must then re-raise it, so the outer limit is never lost)."""
    stack = getattr(_DEADLINES, "stack", [])
    return bool(stack) and time.monotonic() >= min(stack)


@contextmanager
def _time_limit(seconds: float):
    """Raise _Budget in the checking thread after ``seconds``, in any thread.

    In the main thread with SIGALRM: a timer signal.  In other threads (grading with worker
    threads, a web server's pool): a watchdog thread raises _Budget asynchronously in the
    checking thread (``PyThreadState_SetAsyncExc``), which interrupts pure-Python work such as
    SymPy's; the input bounds of the parser keep every single C-level operation short.  A
    worker process is a main thread of its own, so the signal applies there.
    """
    if seconds is None:
        yield
        return
    stack = _DEADLINES.__dict__.setdefault("stack", [])
    stack.append(time.monotonic() + seconds)
    try:
        if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
            with _signal_limit(seconds):
                yield
        else:
            with _thread_limit(seconds):
                yield
    finally:
        stack.pop()


@contextmanager
def _signal_limit(seconds: float):
    def handler(signum, frame):
        raise _Budget()

    old = signal.signal(signal.SIGALRM, handler)
    previous = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        if previous[0] > 0:  # an outer timer keeps running
            signal.setitimer(signal.ITIMER_REAL, max(previous[0] - seconds, 1e-3))


@contextmanager
def _thread_limit(seconds: float):
    import ctypes

    tid = threading.get_ident()
    lock = threading.Lock()
    state = {"active": True}

    def fire():
        with lock:
            if state["active"]:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(tid), ctypes.py_object(_Budget))

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with lock:
            state["active"] = False
            timer.cancel()
            if not _outer_expired():
                # a pending exception not yet delivered is withdrawn
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(tid), None)
