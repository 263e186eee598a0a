r"""Names: which canonical name a written name with its ^ and _ is, against the spec's names.

Takes a parse tree's name with its scripts and a :class:`_Resolver` (the names an answer may use, or none
for spec equations); gives the name's expression, the powers that follow it, or a ParseError that says
which name was not known (with a suggestion only when it is the name meant) or which readings compete.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import sympy
from lark import Token, Tree

from ..errors import ParseError, did_you_mean, typo_suggestion
from ..spec import names
from .syntax import _pos
from .vocabulary import SPEC_CONSTANTS

_NAMEBASES = ("name", "greek", "hat", "uhat")
#: a weight matrix's letter whose entries (with a layer and two indices) are the lectures' w^{l}_{j,k}
_MATRIX_LETTERS = {"W": "w", "Theta": "w"}


class _Unknown(Exception):
    """Internal: a name that the resolver does not know (inside a \\sum with inferred bounds): its text and its node."""


class _Resolver:
    """Turns a canonical name into an expression.

    ``strict`` resolvers know every allowed name (answers); the syntactic one (spec
    equations) makes a fresh symbol of any well-formed name.
    """

    def __init__(self, resolve, shadowed=()):
        self.strict = resolve is not None
        # constants (e, pi) that the spec defines as its own symbols: then they are those symbols
        self.shadowed = frozenset(shadowed)
        self._known: tuple[str, ...] = ()
        if resolve is None:
            self._lookup = None
        elif isinstance(resolve, Mapping):
            self._lookup = resolve.get
            self._known = tuple(resolve)
        elif callable(resolve):
            self._lookup = resolve
            self._known = tuple(getattr(resolve, "names", ()) or ())
        elif isinstance(resolve, Iterable) and not isinstance(resolve, (str, bytes)):
            known = {str(n): names.symbol(str(n)) for n in resolve}
            self._lookup = known.get
            self._known = tuple(known)
        else:
            raise TypeError("resolve must be None, a mapping name -> expression, a callable or a collection of names")

    def lookup(self, name: str):
        if self._lookup is None:
            return names.symbol(name)
        value = self._lookup(name)
        if value is None:
            return None
        if isinstance(value, str):
            return names.symbol(value)
        return sympy.Integer(value) if isinstance(value, int) else value

    def suggestion(self, name: str) -> str:
        """A typo's fix, or a name of the same letter and shape (x_{3} -> x_{1}); never another letter
        (no 'y_{1}' for an a_{1} whose layer was not read), else the spec's names of that letter."""
        if not self._known:
            return ""
        shape = _shape(name)
        letter = shape[0] if shape else None
        # the same letter, or (for a word of several letters) the same word in another case: never E for e
        if letter is None:  # a plain word: a typo of a word of at least three letters
            candidates = [k for k in self._known if _shape(k) is None and len(name) >= 3]
        else:
            candidates = [k for k in self._known if (_shape(k) or (None,))[0] == letter]
        fix = typo_suggestion(name, candidates + [k for k in self._known if len(name) > 1 and k.lower() == name.lower()])
        if fix:
            return fix
        if shape is None:
            return did_you_mean(name, [k for k in self._known if _shape(k) is None]) if len(name) >= 3 else ""
        same_letter = [k for k in self._known if (_shape(k) or ("",))[0] == shape[0] and not _letter_index(k, name)]
        # x_{3} -> x_{1}: one index changed; a name two indices away is another quantity, so it is listed, not offered
        near = [k for k in same_letter if _shape(k) == shape and _index_distance(k, name) == 1]
        if near:
            return did_you_mean(name, near) or f"; did you mean '{near[0]}'?"
        if same_letter:
            return "; the spec's " + shape[0] + " are " + ", ".join(same_letter[:4]) + (", ..." if len(same_letter) > 4 else "")
        return ""


_SHAPE = re.compile(r"([A-Za-z]+)(\^\{[^{}]*\})?(_\{([^{}]*)\})?")


def _indices(name: str) -> list:
    return re.findall(r"[^{},^_]+", name.split("^", 1)[1] if "^" in name else name.split("_", 1)[1] if "_" in name else "")


def _index_distance(a: str, b: str) -> int:
    ia, ib = _indices(a), _indices(b)
    return sum(x != y for x, y in zip(ia, ib)) + abs(len(ia) - len(ib))


def _letter_index(known: str, written: str) -> bool:
    """An alias with a letter index (x^{1}_{i}: feature 1 of example i) that the written name does not have."""
    return any(not i.isdigit() for i in _indices(known)) and all(i.isdigit() for i in _indices(written))


def _shape(name: str):
    """``'w^{1}_{1,2}'`` -> ('w', True, 2): its letter, whether it has a superscript, how many indices; None for a plain word."""
    m = _SHAPE.fullmatch(name)
    if m is None or not (m.group(2) or m.group(3)):
        return None
    return m.group(1), bool(m.group(2)), len(m.group(4).split(",")) if m.group(3) else 0


def _canonical(base: str, sup: str | None, sub: tuple[str, ...] | None) -> str:
    """``('w', '1', ('1', '1'))`` -> ``'w^{1}_{1,1}'``; ``('x', None, ('1',))`` -> ``'x_{1}'``."""
    if sub == ("hat",) and sup is None:
        return base + "hat"
    out = base
    if sup is not None:
        out += "^{" + sup + "}"
    if sub is not None:
        out += "_{" + ",".join(sub) + "}"
    return out


def _sub_variants(sub: tuple[str, ...] | None, strict: bool) -> list[tuple[str, ...] | None]:
    """``('11',)`` may mean ``('1', '1')`` (the lectures' w_{11}); only tried against known names."""
    if sub is None:
        return [None]
    out = [sub]
    if strict and len(sub) == 1 and sub[0].isdigit() and 2 <= len(sub[0]) <= 4:
        digits = sub[0]
        for cut in range(1, len(digits)):
            left, right = digits[:cut], digits[cut:]
            if left[0] != "0" and right[0] != "0":
                out.append((left, right))
    return out


def _written_together(item, env: Mapping[str, int]) -> tuple[str, ...] | None:
    """``k1``, ``jk`` (one word) or ``1k``, ``k 1`` (a digit and a letter, which the grammar reads as a
    product) inside a \\sum: one index per character when every letter is a bound index (``env``); else None."""
    if not isinstance(item, Tree):
        return None
    if item.data == "name":
        word = str(item.children[0])
        if len(word) < 2 or word in env:
            return None
    elif item.data == "imul" and all(isinstance(c, Tree) and c.data in ("number", "name") for c in item.children):
        word = "".join(str(c.children[0]) for c in item.children)
        if len(item.children) != 2 or len(word) != 2:
            return None  # _{12k}, _{2 kj}: not two single characters
    else:
        return None
    if not (all(c in env or c.isdigit() for c in word) and any(c in env for c in word)):
        return None
    return tuple(str(env[c]) if c in env else c for c in word)


class _NameReading:
    """The builder's names (a mixin of :class:`~symbackprop.grammar.builder._Builder`)."""

    def base_name(self, nb: Tree) -> str:
        kind = nb.data
        toks = [c for c in nb.children if isinstance(c, Token) and c.type in ("NAME", "GREEK", "UHAT")]
        if kind == "name":
            return str(toks[0])
        if kind == "greek":
            return "pi" if str(toks[0]) == "π" else str(toks[0]).lstrip("\\")
        if kind == "hat":
            return str(toks[0]) + "hat"
        return "yhat"  # uhat: ŷ

    def _name(self, node):
        return self.resolve_name(node, [], node)

    _greek = _name
    _hat = _name
    _uhat = _name

    def index_items(self, sarg) -> tuple[str, ...] | None:
        """The indices in a ``_`` or ``^``: ``1`` -> ('1',), ``{1,2}`` -> ('1','2'), ``{i}`` -> ('i',); None if not indices.

        Inside a \\sum over k, indices written together without a comma are one index per character:
        at k = 2, ``_{k1}`` -> ('2','1'), ``_{1k}`` -> ('1','2'), ``_{jk}`` -> (j, '2').
        """
        if isinstance(sarg, Tree) and sarg.data == "group":
            items = [c for c in sarg.children if isinstance(c, Tree) or c.type not in ("LBRACE", "RBRACE", "COMMA")]
        else:
            items = [sarg]
        if len(items) == 1 and self.env:
            together = _written_together(items[0], self.env)
            if together is not None:
                return together
        out = []
        for item in items:
            one = self.index_item(item)
            if one is None:
                return None
            out.append(one)
        return tuple(out)

    def index_item(self, item) -> str | None:
        if isinstance(item, Token):
            return None
        if item.data == "number":
            s = str(item.children[0])
            return str(int(s)) if s.isdigit() else None
        if item.data == "name":
            word = str(item.children[0])
            if word in self.env:
                return str(self.env[word])
            return word
        if item.data in ("add", "subtract") and (self.env or self.resolver.strict):
            # k+1 inside a \sum, a^{3-1}_{1} in an answer
            try:
                value = self.build(item)
            except (ParseError, _Unknown):
                return None
            if value.is_Integer:
                return str(int(value))
        return None

    def resolve_name(self, nb: Tree, scripts: list, node):
        """A name with its scripts: decide which scripts belong to the name and which are powers."""
        base = self.base_name(nb)
        if nb.data == "name" and base in self.env and not scripts:
            return sympy.Integer(self.env[base])
        if self.example_var is not None and self.resolver.strict:
            value = self.example_name(nb, scripts, node)  # x_i, y^{(i)}: of example i (build_examples)
            if value is not None:
                return value
        # the leading run of ^ and _ (each at most once) may belong to the name
        lead = []
        for s in scripts:
            if s.data not in ("superscript", "subscript") or any(t.data == s.data for t in lead):
                break
            lead.append(s)
        readings = []   # (expr, scripts consumed, canonical name)
        seen = set()
        for k in range(len(lead), -1, -1):
            if any(s.data == "subscript" for s in scripts[k:]):
                continue  # a subscript left over can only belong to the name
            sup = sub = None
            ok = True
            for s in lead[:k]:
                items = self.index_items(s.children[-1])
                if items is None:
                    ok = False
                    break
                if s.data == "superscript":
                    if len(items) != 1:
                        ok = False
                        break
                    sup = items[0]
                else:
                    sub = items
            if not ok:
                continue
            if not self.resolver.strict:
                if (k == 0 and base == "e" and "e" not in self.resolver.shadowed and scripts
                        and scripts[0].data in ("superscript", "power")):
                    return self.apply_scripts(sympy.E, scripts, node)  # e^{x} is exp(x)
                if k == 0 and nb.data in ("name", "greek") and base in SPEC_CONSTANTS and base not in self.resolver.shadowed:
                    return self.apply_scripts(SPEC_CONSTANTS[base], scripts, node)
                name = self._syntactic_name(base, lead[:k], sup, sub)
                if name is None:
                    continue
                return self.apply_scripts(names.symbol(name), scripts[k:], node)
            for variant in _sub_variants(sub, True):
                name = _canonical(base, sup, variant)
                if name in seen:
                    continue
                seen.add(name)
                value = self.resolver.lookup(name)
                if value is not None:
                    readings.append((value, k, name))
        if not self.resolver.strict:
            raise self.fail(f"cannot read {self.text[_pos(node):self._end(node)]!r} as a name: a name has at most "
                            "one subscript '_' and one superscript '^', as in w^{1}_{1,2}", node)
        # Euler's number: e^{...} when no name 'e' exists
        if base == "e" and not any(r[1] == 0 for r in readings) and scripts and scripts[0].data in ("superscript", "power"):
            if not readings:
                return self.apply_scripts(sympy.E, scripts, node)
        if not readings and base in _MATRIX_LETTERS and {s.data for s in lead} == {"superscript", "subscript"}:
            # W^{2}_{1,1} (from W^{(2)}_{11}, W^{[2]}_{11}), \Theta^{(1)}_{11}: an entry of the matrix is the weight
            lower = Tree("name", [Token("NAME", _MATRIX_LETTERS[base], start_pos=_pos(nb))], meta=nb.meta)
            try:
                return self.resolve_name(lower, scripts, node)
            except (ParseError, _Unknown):
                pass
        if not readings and base in ("a", "z", "delta") and "L" not in self.env and any(
                s.data == "superscript" and "L" in self.text[_pos(s):self._end(s)] for s in lead):
            depth = self._output_layer()  # \delta^{L}_{1}, a^{L-1}_{1}: L is the output layer's number
            if depth is not None:
                self.env["L"] = depth
                try:
                    return self.resolve_name(nb, scripts, node)
                except (ParseError, _Unknown):
                    pass
                finally:
                    del self.env["L"]
        if not readings:
            return self.unknown_name(base, lead, nb, scripts, node)
        distinct = {r[2]: r for r in readings}
        if len(distinct) > 1:
            options = []
            for value, k, name in distinct.values():
                rest = scripts[k:]
                options.append(name if not rest else f"({name}) with the power {self.text[_pos(rest[0]):self._end(rest[-1])]}")
            raise self.fail(f"ambiguous name: {self.text[_pos(node):self._end(node)]!r} could be "
                            + " or ".join(options) + "; write the name with braces, as in w^{1}_{1,1}, "
                            "and put a power outside parentheses, as in (a^{2}_{1})^2", node)
        value, k, _ = readings[0]
        return self.apply_scripts(value, scripts[k:], node)

    def _syntactic_name(self, base, lead, sup, sub):
        """Spec equations: superscript-then-subscript (or a two-index subscript) is a name; a lone ^ is a power."""
        kinds = [s.data for s in lead]
        if kinds == []:
            return base
        if kinds == ["subscript"]:
            return _canonical(base, None, sub)
        if kinds == ["superscript", "subscript"]:
            return _canonical(base, sup, sub)
        if kinds == ["subscript", "superscript"] and sub is not None and len(sub) > 1:
            return _canonical(base, sup, sub)
        return None

    def _end(self, node) -> int:
        if isinstance(node, Token):
            return node.end_pos
        meta = getattr(node, "meta", None)
        if meta is not None and not meta.empty:
            return meta.end_pos
        return len(self.text)

    def unknown_name(self, base, lead, nb, scripts, node):
        value = self._d_prefixed(base, lead, nb, scripts, node) if nb.data == "name" else None
        if value is not None:
            return value
        value = self._one_unit(base, lead, scripts, node)
        if value is not None:
            return value
        # implicit multiplication inside one word: 'qz' = q z when both are names and 'qz' is not
        if nb.data == "name" and len(base) > 1 and base.isalpha() and len(base) <= 12:
            split = self._segment(base)
            if split is not None:
                *first, last = split
                value = sympy.Integer(1)
                for piece in first:
                    value *= self.resolver.lookup(piece)
                fake = Tree("name", [Token("NAME", last, start_pos=_pos(nb))], meta=nb.meta)
                return value * self.resolve_name(fake, scripts, node)
        shown = _canonical(base, *self._shown_indices(lead))
        if any(self.index_items(s.children[-1]) is None for s in lead):  # a script that is no index: as written
            written = self.text[_pos(node):self._end(node)].strip()
            if self.env:
                raise _Unknown(written, node)
            raise self.fail(f"unknown name {written!r}; names are the spec's nodes, inputs, targets and parameters, "
                            "with whole-number indices as in a^{2}_{1}", node)
        if self.env:
            raise _Unknown(shown, node)
        raise self.fail(f"unknown name {shown!r}" + (self.resolver.suggestion(shown) or
                        "; names are the spec's nodes, inputs, targets and parameters"), node)

    def _output_layer(self) -> int | None:
        """The output layer's number (3 in a 2-2-1 network), from the spec's name a^{L}_{1}."""
        value = self.resolver.lookup("a^{L}_{1}")
        m = re.fullmatch(r"a\^\{(\d+)\}_\{1\}", getattr(value, "name", "") or "")
        return int(m.group(1)) if m else None

    def _d_prefixed(self, base, lead, nb, scripts, node):
        """``dz^{2}_{1}``, ``dw^{1}_{1,1}`` (the courses' d for ∂L/∂): the loss's derivative by that node, when the
        spec has a loss L (only names with a layer superscript: the slides' ``dz_2`` is matrix notation)."""
        if not (self.resolver.strict and len(base) > 1 and base[0] == "d" and any(s.data == "superscript" for s in lead)):
            return None
        loss = self.resolver.lookup("L")
        if not isinstance(loss, sympy.Symbol):
            return None
        rest = Tree("name", [Token("NAME", base[1:], start_pos=(_pos(nb) or 0) + 1)], meta=nb.meta)
        try:
            value = self.resolve_name(rest, lead, node)
        except (ParseError, _Unknown):
            return None
        if not isinstance(value, sympy.Symbol) or value == loss:
            return None
        return self.apply_scripts(sympy.Derivative(loss, value, evaluate=False), scripts[len(lead):], node)

    def _one_unit(self, base, lead, scripts, node):
        """``\\delta^{(3)}``, ``a^{3}`` for a layer of one unit: that unit (``delta^{3}_{1}``), the only name of that
        layer; never when the layer has several units or the superscript is not a layer number."""
        if not (self.resolver.strict and base in ("a", "z", "delta", "b") and len(lead) == 1
                and lead[0].data == "superscript"):
            return None
        items = self.index_items(lead[0].children[-1])
        if not items or len(items) != 1 or not items[0].isdigit():
            return None
        prefix = _canonical(base, items[0], None) + "_{"
        units = [k for k in self.resolver._known if k.startswith(prefix)]
        if len(units) != 1 or units[0] != prefix + "1}":
            return None
        return self.apply_scripts(self.resolver.lookup(units[0]), scripts[1:], node)

    def _shown_indices(self, lead):
        sup = sub = None
        for s in lead:
            items = self.index_items(s.children[-1])
            if items is None:
                continue
            if s.data == "superscript" and len(items) == 1:
                sup = items[0]
            elif s.data == "subscript":
                sub = items
        return sup, sub

    def _segment(self, word: str):
        """The one way to write ``word`` as known names (all but the last without indices), else None."""
        ways: list[list[str]] = []

        def go(i, acc):
            if len(ways) > 1:
                return
            if i == len(word):
                ways.append(list(acc))
                return
            for j in range(i + 1, len(word) + 1):
                piece = word[i:j]
                if piece == word:
                    continue
                if j == len(word) or self.resolver.lookup(piece) is not None:
                    if j == len(word) and not any(
                            self.resolver.lookup(n) is not None for n in self._names_with_base(piece)):
                        continue
                    acc.append(piece)
                    go(j, acc)
                    acc.pop()

        go(0, [])
        return ways[0] if len(ways) == 1 else None

    def _names_with_base(self, piece):
        yield piece
        for known in self.resolver._known:
            if known.startswith(piece + "_") or known.startswith(piece + "^"):
                yield known
