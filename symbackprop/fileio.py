"""Reading input files and writing output files, safely.

Reading (:func:`read_bytes`, :func:`read_text`): only regular files. A device (``/dev/zero``), a FIFO, a
socket or a directory is refused with one line *before* anything is read: the path is ``stat``-ed, then
opened with ``O_NONBLOCK`` (a FIFO never blocks the open) and ``fstat``-ed again, and at most
``max_bytes + 1`` bytes are read. Text is UTF-8, with or without a byte-order mark.

Writing (:func:`write_atomic`, :func:`write_all`): the bytes go to a temporary file with a short name
(``.sbp-XXXXXXXX.tmp``, so a long target name never overflows the file-name limit) in the target's folder,
created with mode ``0o666`` so the user's umask decides the permissions, then

- without ``force`` the temporary file is *linked* to the target name (``os.link`` fails if the name
  exists, so the existence check and the final rename are one atomic step: of two concurrent writers
  one wins, the other gets "exists"), and the temporary name is removed;
- with ``force`` it is renamed over the target (``os.replace``).

:func:`write_all` writes several files all-or-nothing (a worksheet and its key, variants): every
temporary file is written first; only then are they committed, and if a commit fails the files
already committed are put back as they were. Every ``OSError`` becomes one
:class:`~symbackprop.errors.SymbackpropError` line naming the file and what to do (permission,
file name too long, no space left, read-only file system, ...).

:func:`refuse_inputs` refuses an output that is one of the inputs (``grade --answers a.csv -o a.csv``).
"""
from __future__ import annotations

import errno
import os
import secrets
import stat

from .errors import SymbackpropError, WouldOverwrite

MAX_INPUT_BYTES = 20_000_000

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def _os_message(exc: OSError) -> str:
    """A short, helpful reason for an OSError (without the path, which the caller names)."""
    code = exc.errno
    hints = {
        errno.EACCES: "permission denied: choose a folder and file you may write to",
        errno.EPERM: "operation not permitted: choose a folder and file you may write to",
        errno.ENAMETOOLONG: "the file name is too long for this file system: choose a shorter name",
        errno.ENOSPC: "no space left on the device: free some space or write elsewhere",
        errno.EDQUOT: "disk quota exceeded: free some space or write elsewhere",
        errno.EROFS: "the file system is read-only: write elsewhere",
        errno.ENOENT: "no such file or folder",
        errno.ENOTDIR: "a part of the path is not a folder",
        errno.EISDIR: "it is a directory",
        errno.EIO: "input/output error",
        errno.EXDEV: "cannot rename across file systems",
    }
    return hints.get(code) or (exc.strerror or type(exc).__name__).lower()


# ---------------------------------------------------------------------------------------------
# reading


def read_bytes(path, *, what: str = "file", max_bytes: int = MAX_INPUT_BYTES, error=SymbackpropError) -> bytes:
    """The bytes of the regular file ``path`` (at most ``max_bytes``); a one-line ``error`` otherwise."""
    p = os.fspath(path)
    try:
        st = os.stat(p)
    except (OSError, ValueError) as exc:
        reason = _os_message(exc) if isinstance(exc, OSError) else "invalid path"
        raise error(f"{p}: cannot read the {what} ({reason})") from None
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{p}: the {what} is {_kind(st.st_mode)}; give a regular file")
    if st.st_size > max_bytes:
        raise error(f"{p}: the {what} is {st.st_size} bytes; at most {max_bytes} are allowed")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(p, flags)
    except OSError as exc:
        raise error(f"{p}: cannot read the {what} ({_os_message(exc)})") from None
    try:
        st = os.fstat(fd)  # the file opened may not be the one stat-ed (a swap in between)
        if not stat.S_ISREG(st.st_mode):
            raise error(f"{p}: the {what} is {_kind(st.st_mode)}; give a regular file")
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise error(f"{p}: cannot read the {what} ({_os_message(exc)})") from None
    finally:
        os.close(fd)
    if total > max_bytes:
        raise error(f"{p}: the {what} is more than {max_bytes} bytes; at most {max_bytes} are allowed")
    return b"".join(chunks)


def decode_text(raw: bytes, source: str, what: str = "file", error=SymbackpropError) -> str:
    """UTF-8 text (a leading byte-order mark is dropped); one line naming the byte when it is not UTF-8."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{source}: the {what} is not UTF-8 text (byte {exc.start})") from None


def read_text(path, *, what: str = "file", max_bytes: int = MAX_INPUT_BYTES, error=SymbackpropError) -> str:
    """:func:`read_bytes` decoded by :func:`decode_text`."""
    return decode_text(read_bytes(path, what=what, max_bytes=max_bytes, error=error), os.fspath(path), what, error)


# ---------------------------------------------------------------------------------------------
# writing


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def refuse_inputs(outputs, inputs) -> None:
    """SymbackpropError if an output path names one of the input files (it would destroy the input)."""
    for out in outputs:
        if not out:
            continue
        for inp in inputs:
            if inp and _same_file(os.fspath(out), os.fspath(inp)):
                raise SymbackpropError(f"{out}: this output is also an input ({inp}); write the output to another file")


def check_writable(path, force: bool = False) -> str:
    """``path`` as a string, after checking its folder exists and that it may be (over)written."""
    path = os.fspath(path)
    if not path or "\0" in path:
        raise SymbackpropError(f"{path!r}: not a valid file name")
    if os.path.isdir(path):
        raise SymbackpropError(f"{path}: is a directory; give a file name")
    if os.path.lexists(path) and not force:
        raise WouldOverwrite(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise SymbackpropError(f"{path}: the folder {folder} does not exist")
    return path


def _error(path: str, exc: OSError) -> SymbackpropError:
    return SymbackpropError(f"{path}: cannot write the file ({_os_message(exc)})")


def _write_temp(path: str, data) -> str:
    """A new temporary file with ``data`` next to ``path`` (short name, mode 0o666 & ~umask)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    folder = os.path.dirname(os.path.abspath(path))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(20):
        tmp = os.path.join(folder, f".sbp-{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise _error(path, exc) from None
    else:  # pragma: no cover
        raise SymbackpropError(f"{path}: cannot create a temporary file in {folder}")
    try:
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException as exc:
        _unlink(tmp)
        if isinstance(exc, OSError):
            raise _error(path, exc) from None
        raise
    return tmp


def _unlink(p: str) -> None:
    try:
        os.unlink(p)
    except OSError:
        pass


def _commit(tmp: str, path: str, force: bool) -> str | None:
    """Move ``tmp`` to ``path``; returns the name of a backup of the file it replaced (with force), or None."""
    if not force:
        try:
            os.link(tmp, path)  # atomic: fails when path exists (even if created a moment ago)
        except FileExistsError:
            raise SymbackpropError(f"{path} exists (another program created it meanwhile); "
                                   "pass --force to overwrite it") from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS):
                raise _error(path, exc) from None
            try:  # no hard links here (e.g. FAT): claim the name with O_EXCL, then rename over it
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except FileExistsError:
                raise SymbackpropError(f"{path} exists (another program created it meanwhile); "
                                       "pass --force to overwrite it") from None
            except OSError as exc2:
                raise _error(path, exc2) from None
            try:
                os.replace(tmp, path)
            except OSError as exc2:
                _unlink(path)
                raise _error(path, exc2) from None
            return None
        _unlink(tmp)
        return None
    backup = None
    if os.path.lexists(path) and not os.path.isdir(path):
        backup = os.path.join(os.path.dirname(os.path.abspath(path)), f".sbp-{secrets.token_hex(4)}.bak")
        try:
            os.link(path, backup)
        except OSError:
            backup = None  # no undo possible for this one; the replace below is still atomic
    try:
        os.replace(tmp, path)
    except OSError as exc:
        if backup:
            _unlink(backup)
        raise _error(path, exc) from None
    return backup


def write_all(files, *, force: bool = False) -> list:
    """Write every ``(path, data)`` of ``files`` (str as UTF-8, or bytes), all or nothing.

    All targets are checked, then all temporary files written; then each is committed. If anything
    fails, the temporary files are removed and the targets already committed are restored (removed,
    or, with ``force``, given back their old content), and one SymbackpropError says what went wrong.
    """
    files = [(os.fspath(p), d) for p, d in files]
    paths = [p for p, _ in files]
    seen = set()
    for p in paths:
        key = os.path.abspath(p)
        if key in seen:
            raise SymbackpropError(f"{p}: named twice among the outputs")
        seen.add(key)
        check_writable(p, force)
    temps = []
    try:
        for p, data in files:
            temps.append(_write_temp(p, data))
    except BaseException:
        for t in temps:
            _unlink(t)
        raise
    done = []  # (path, backup or None)
    try:
        for (p, _), t in zip(files, temps):
            done.append((p, _commit(t, p, force)))
    except BaseException:
        for t in temps:
            _unlink(t)
        for p, backup in reversed(done):
            if backup:
                try:
                    os.replace(backup, p)
                except OSError:
                    pass
            else:
                _unlink(p)
        raise
    for _, backup in done:
        if backup:
            _unlink(backup)
    return paths


def write_atomic(path, data, *, force: bool = False) -> str:
    """Write ``data`` (str as UTF-8 with \\n line ends, or bytes) to ``path`` atomically."""
    return write_all([(path, data)], force=force)[0]
