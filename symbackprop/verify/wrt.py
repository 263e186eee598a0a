r"""Names given as arguments (``--wrt``, a CSV's ``wrt`` column), read as ``verify --wrt`` reads them.

One reader for every command: the answer checker's own (:meth:`AnswerChecker.resolve_wrt`, the
answers' grammar over :func:`symbackprop.verify.vocabulary.answer_names`), so that

    W^{[2]}_{11} = w^{(2)}_{11} = w^2_{1,1} = w^{2}_{11} = w_{11}^2 = w^{2}_{1,1}   (index notation)

and ``\hat{y}``, ``yhat``, ``a^{L}_{1}``, and the matrix form's ``z_2``, ``b_2`` of a width-1 layer
all name one node for ``derive``, ``grad``, ``worksheet``, ``verify`` and ``grade`` alike.  A name that
is not in the spec gets one line (:func:`symbackprop.spec.names.unknown_name`): the names of its
kind, and a suggestion only for a real typo (``\hat{yy}`` -> ``\hat{y}``; ``w^{3}_{1,1}`` is no typo
of ``w^{2}_{1,1}``: it is another weight).

Matrix specs (``notation = "matrix"``) also read the slides' gradient names (``dW_2``, ``W_2``,
``dz_1``) with the matrix checker's reader (:meth:`MatrixAnswerChecker.target_name`).
"""
from __future__ import annotations

import re

from ..errors import NotSupportedError, ParseError, SpecError, SymbackpropError
from ..derivation.spellings import name_spellings as _name_spellings, output_spellings  # noqa: F401  (re-exported)
from ..spec.names import quoted, unknown_name


def _empty(option: str | None) -> SpecError:
    return SpecError((f"{option}: " if option else "") + "give the name of a parameter or node, e.g. w^{1}_{1,1}")


def _named(option: str | None, text) -> str:
    """``--wrt 'x +'`` in a message (or ``'x +'`` with no option: the Python API)."""
    return f"{option} {quoted(text)}" if option else quoted(text)


def resolve_wrt(checker, text, *, option: str | None = "--wrt") -> str:
    """The canonical node name for ``text`` in index notation, by verify's reader; a SpecError of one
    line otherwise (``option`` names the argument in it: ``--wrt``, or ``wrt`` for a CSV column)."""
    if not isinstance(text, str) or not text.strip():
        raise _empty(option)
    graph = checker.graph
    if text in graph.by_name:
        return text
    try:
        return _resolve_in_a_convention(checker, text)
    except RecursionError:
        raise SpecError(f"{_named(option, text)}: nested too deeply to be a name") from None
    except SymbackpropError as exc:
        first = str(exc).splitlines()[0]
        if isinstance(exc, ParseError) and "unknown name" not in first:
            # not a name at all (x +, \frac{): the grammar's reason, with its column
            reason = first.split(": ", 1)[1] if first.startswith("--wrt ") and ": " in first else first
            raise SpecError(f"{_named(option, text)} is not a name: {reason}") from None
        network = getattr(graph, "mode", None) == "network"  # a graph spec's names are its own: no kinds
        raise SpecError(unknown_name(text, [n.name for n in graph.nodes], spellings=_name_spellings(checker.names),
                                     outputs=output_spellings(graph), option=option,
                                     word=None if network else "names")) from None


def _resolve_in_a_convention(checker, text: str) -> str:
    """``text`` read as the lectures' name, else as Nielsen's w^{l}_{jk} (into layer l) when only that
    reading names something (``w^{3}_{12}`` in a 3-layer net is the lectures' w^{2}_{1,2}); a spec's
    ``convention`` keeps its reading alone. Raises the lectures' reading's error when neither names one."""
    from ..grammar.notation import readings

    convention = getattr(getattr(checker.d, "spec", None), "convention", None)
    tries = readings(text, convention=convention)
    first = None
    for k, reading in enumerate(tries):
        try:
            return checker.resolve_wrt(text if (k == 0 and convention != "nielsen") else reading.text)
        except SymbackpropError as exc:
            first = first or exc
    raise first


def _no_step(option, text, name, gradients) -> SpecError:
    which = _named(option, text) + ("" if name == text else f" (that is {name})")
    return SpecError(f"{which}: no backward step of the matrix form computes its gradient "
                     f"(the spec's gradient matrices: {', '.join(gradients)})")


def _index_reading(checker, text, option):
    """The index reading of ``text`` for a checker of a matrix spec: (name, None) or (None, error);
    a network too big for per-scalar derivation has no index reading."""
    try:
        return resolve_wrt(checker, text, option=option), None
    except NotSupportedError:
        return None, None
    except SpecError as exc:
        return None, exc


def resolve_matrix_wrt(checker, md, text, *, option: str | None = "--wrt") -> str:
    """For a matrix spec: a name ``md.steps_for`` places, read as ``verify --wrt`` reads it: the index
    reading first (``w_{11}^1``, ``\\hat{y}``, ``z_2``), then the slides' gradient names (``dW_2``, ``W_2``).
    Returns the canonical index name or the gradient matrix's name."""
    if not isinstance(text, str) or not text.strip():
        raise _empty(option)
    gradients = [s.name for s in md.backward]
    if text in gradients:
        return text
    if text in md.matrices:  # a canonical matrix name (W_2, z_1): the step of its gradient, as it is written
        try:
            md.steps_for([text])
            return text
        except SymbackpropError:
            raise _no_step(option, text, text, gradients) from None
    matrix = checker.matrix
    if matrix is not None and _MATRIX_NAME.fullmatch(text):  # dW_2, W_2, dz_1: no per-scalar derivation needed
        try:
            target = matrix.target_name(text)
            md.steps_for([target])
            return target
        except (SymbackpropError, RecursionError):
            pass
    name, index_error = _index_reading(checker, text, option)
    if name is not None:
        try:
            md.steps_for([name])
        except SymbackpropError:
            raise _no_step(option, text, name, gradients) from None
        return name
    if matrix is not None:
        try:
            return matrix.target_name(text)
        except (SymbackpropError, RecursionError):
            pass
    try:  # a matrix written another way (X for x): it has no gradient step, or it would have been read above
        other = md.resolve(text)
    except (SymbackpropError, RecursionError):
        other = None
    if other is not None:
        raise _no_step(option, text, other, gradients)
    raise _not_found(text, index_error, gradients, list(md.matrices), option)


_MATRIX_NAME = re.compile(r"\s*(d|\\partial\s*)?[A-Za-z]+_\{?\d+\}?\s*|\s*d\S*|\s*\\frac.*")


def _not_found(text, index_error, gradients, spellings, option) -> SpecError:
    """A name of a matrix spec read in neither notation: in the terms of the notation it is written in
    (``W_3``, ``dW_3`` in the slides' gradient matrices; ``w^{3}_{1,1}``, ``\\hat{yy}`` in index notation)."""
    if index_error is not None and not _MATRIX_NAME.fullmatch(text):
        return index_error
    return SpecError(unknown_name(text, gradients, spellings=spellings, option=option, word="gradient matrices",
                                  also="; or an entry in index notation, e.g. w^{1}_{1,1}"))


def wrt_problem(checker, text, *, option: str | None = "--wrt") -> SpecError | None:
    """Why ``text`` names nothing ``checker`` can check (the one-line error), or None when some
    reading of it (index notation, or a matrix spec's gradient names) names a node or gradient."""
    if text is None:
        return None
    matrix = checker.matrix
    if matrix is not None and matrix.is_target(text):  # a gradient's name: no per-scalar derivation needed
        return None
    try:
        resolve_wrt(checker, text, option=option)
        return None
    except NotSupportedError:
        error = None
    except SpecError as exc:
        error = exc
    if matrix is None:
        return error
    if error is None:  # no index reading (too many parameters) and no matrix one: the matrix checker says why
        return None
    gradients = [t.mat.text() for t in matrix.targets.values()]
    return _not_found(text, error, gradients, gradients, option)


def wrt_name(target, text: str) -> str:
    r"""The canonical name of ``text`` in a derivation (or spec), read exactly as ``verify --wrt`` reads it:

    >>> from symbackprop import derive, load_spec
    >>> d = derive(load_spec("derivations/lecture_2_2_1.toml"))
    >>> [wrt_name(d, t) for t in ("W^{[2]}_{11}", "w_{11}^1", r"\hat{y}", "z_2")]
    ['w^{2}_{1,1}', 'w^{1}_{1,1}', 'a^{3}_{1}', 'z^{3}_{1}']

    A SpecError of one line when it names nothing (:func:`symbackprop.spec.names.unknown_name`)."""
    from .checker import AnswerChecker

    checker = target if isinstance(target, AnswerChecker) else AnswerChecker(target)
    return resolve_wrt(checker, text, option=None)
