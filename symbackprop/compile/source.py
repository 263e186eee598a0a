"""What both NumPy backends share: literals that are data and never code, spec titles, and the
in-memory loader of generated modules (no file is written or read)."""
from __future__ import annotations

import hashlib
import importlib.abc
import importlib.util
import linecache
import sys
from collections import OrderedDict


def _lit(value) -> str:
    """A Python literal for a string, or a tuple or dict of strings, that is data and never code:
    ``ascii()`` escapes quotes, backslashes, NULs, newlines and every non-ASCII character."""
    if isinstance(value, str):
        return ascii(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(_lit(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_lit(k)}: {_lit(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no literal for {type(value).__name__}")  # pragma: no cover


def spec_title(spec, default: str) -> str:
    """The title shown for a spec (its title, else its file name) -- stored as data, never as code."""
    if spec is None:
        return default
    return spec.title or spec.source


class _MemoryLoader(importlib.abc.InspectLoader):
    """Loads a generated module from its source string in memory: no file is written or read.

    There is no on-disk cache (so nothing another user could plant or change): the module is
    compiled from the source symbackprop just generated, which holds no user text except as
    ``ascii()`` string literals. Compiling costs 1-50 ms per spec (docs/performance.md)."""

    def __init__(self, source: str, filename: str):
        self._source = source
        self._filename = filename

    def get_source(self, fullname):
        return self._source

    def is_package(self, fullname):
        return False

    def get_code(self, fullname):
        return self.source_to_code(self._source, self._filename)


#: Modules loaded in this process, by the SHA-256 of their source (in memory only), the most
#: recently used last; at most ``_MAX_MODULES`` are kept (a long-running server stays bounded).
_MODULES: OrderedDict = OrderedDict()
_MAX_MODULES = 64


def _load_source(source: str, tag: str):
    """The module for generated ``source`` (ours, never a user's text), compiled in memory."""
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
    module = _MODULES.get(digest)
    if module is not None:
        _MODULES.move_to_end(digest)
        return module
    while len(_MODULES) >= _MAX_MODULES:
        _, old = _MODULES.popitem(last=False)
        sys.modules.pop(old.__name__, None)
        linecache.cache.pop(old.__spec__.origin, None)
    modname = f"symbackprop_generated_{tag}_{digest[:24]}"
    filename = f"<symbackprop generated {tag} {digest[:24]}>"
    loader = _MemoryLoader(source, filename)
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(modname, loader, origin=filename))
    # tracebacks and warnings show the generated lines (an in-memory linecache entry, never a file)
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    loader.exec_module(module)
    _MODULES[digest] = module
    sys.modules[modname] = module  # so its functions pickle by reference
    return module
