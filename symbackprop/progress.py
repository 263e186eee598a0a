"""One progress bar for every long loop: grading a class, training, ``check --trials``, worksheet variants.

A thin wrapper around tqdm, so that every command shows the same bar on stderr, only when stderr is a
terminal (or when forced with ``enabled=True``), and a Ctrl-C leaves the terminal clean; standard
output is never touched, so it is byte-identical with or without the bar::

    with progress(total=len(rows), desc="grading", unit="answer") as bar:
        for row in rows:
            ...
            bar.update()

``symbackprop.check.trainer`` (the independent oracle) imports nothing of this: it calls an
``on_epoch(epoch, loss)`` hook, and the ``train`` command updates the bar from it.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager


class _Silent:
    """The bar when it is off: same interface, no output."""

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, text: str = "", refresh: bool = True) -> None:
        pass


def _wanted(enabled, stream) -> bool:
    if enabled is not None:
        return bool(enabled)
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


@contextmanager
def progress(total: int, desc: str = "", unit: str = "it", enabled=None, stream=None):
    """A bar of ``total`` steps on ``stream`` (stderr); ``enabled=None`` shows it only on a terminal."""
    stream = stream if stream is not None else sys.stderr
    if not _wanted(enabled, stream) or total <= 0:
        yield _Silent()
        return
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit=unit, file=stream, leave=False, dynamic_ncols=True,
               mininterval=0.2, ascii=not _unicode(stream))
    try:
        yield bar
        bar.refresh()  # the last state is drawn once (a fast loop redraws at most every 0.2 s), then cleared
    finally:
        bar.close()


def _unicode(stream) -> bool:
    encoding = (getattr(stream, "encoding", None) or "").lower()
    return "utf" in encoding
