"""Writing output files: atomically, and never over an existing file without ``force``.

Every file symbackprop writes (LaTeX, PDF, plots, exported modules, reports) goes through
``write_atomic``: the bytes go to a temporary file in the same folder, which is then renamed
over the target, so a crash or an interrupt never leaves a half-written file.
"""
from __future__ import annotations

import os
import tempfile

from .errors import SymbackpropError


def check_writable(path, force: bool = False) -> str:
    """``path`` as a string, after checking its folder exists and that it may be (over)written."""
    path = os.fspath(path)
    if os.path.exists(path) and not force:
        raise SymbackpropError(f"{path} exists; pass --force (force=True) to overwrite it")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise SymbackpropError(f"{path}: the folder {folder} does not exist")
    return path


def write_atomic(path, data, *, force: bool = False) -> str:
    """Write ``data`` (str as UTF-8 with \\n line ends, or bytes) to ``path`` atomically."""
    path = check_writable(path, force)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix="-" + os.path.basename(path))
    try:
        if isinstance(data, str):
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(data)
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
