r"""A generated LaTeX fragment (our own derivation documents) as HTML with its math left for KaTeX.

Only the constructs our renderers write are understood: ``\section*``/``\subsection*`` headings,
``itemize``/``enumerate`` lists, display math (``align*``, ``gather*``, ``equation*``, ``\[..\]``), inline
``$..$`` and paragraphs.  TikZ pictures are replaced by a note (the page shows its own SVG
drawing).  Math goes into ``data-tex`` attributes (HTML-escaped); everything else is escaped text,
so nothing in it can become markup.
"""
from __future__ import annotations

import re
from html import escape

_ENV = re.compile(r"\\begin\{(align\*|gather\*|equation\*|tikzpicture|itemize|enumerate|center|figure)\}(.*?)"
                  r"\\end\{\1\}", re.S)
_DISPLAY = re.compile(r"\\\[(.*?)\\\]", re.S)
_HEAD = re.compile(r"\\(section|subsection|subsubsection|paragraph)\*?\{((?:[^{}]|\{[^{}]*\})*)\}")
_INLINE = re.compile(r"\$((?:[^$\\]|\\.)+)\$")
_TEXT_CMDS = [(re.compile(r"\\(?:emph|textbf|textit)\{([^{}]*)\}"), r"\1"),
              (re.compile(r"\\(?:noindent|medskip|bigskip|smallskip|par|newpage|clearpage)\b"), ""),
              (re.compile(r"\\label\{[^{}]*\}"), ""),
              (re.compile(r"~"), " "),
              (re.compile(r"\\%"), "%"),
              (re.compile(r"\\&"), "&"),
              (re.compile(r"\\_"), "_")]


def _text(s: str) -> str:
    """Prose with inline math: escaped text and ``<span class="tex" data-tex>`` pieces."""
    out = []
    pos = 0
    for m in _INLINE.finditer(s):
        out.append(_plain(s[pos:m.start()]))
        tex = m.group(1)
        out.append(f'<span class="tex" data-tex="{escape(tex, quote=True)}">{escape(tex)}</span>')
        pos = m.end()
    out.append(_plain(s[pos:]))
    return "".join(out)


def _plain(s: str) -> str:
    for pat, rep in _TEXT_CMDS:
        s = pat.sub(rep, s)
    s = s.replace("\\item[$\\bullet$]", "").replace("\\\\", " ")
    return escape(s)


def _display(tex: str, env: str) -> str:
    body = tex.strip()
    if env in ("align*",):
        body = "\\begin{aligned}" + body + "\\end{aligned}"
    elif env == "gather*":
        body = "\\begin{gathered}" + body + "\\end{gathered}"
    return f'<div class="tex display" data-tex="{escape(body, quote=True)}">{escape(body)}</div>'


def _list(body: str, ordered: bool) -> str:
    items = [it.strip() for it in re.split(r"\\item(?:\[[^\]]*\])?", body) if it.strip()]
    tag = "ol" if ordered else "ul"
    return f"<{tag}>" + "".join(f"<li>{_block(it)}</li>" for it in items) + f"</{tag}>"


def _block(s: str) -> str:
    """A piece of LaTeX as HTML (recursive over environments)."""
    out = []
    pos = 0
    for m in _ENV.finditer(s):
        out.append(_paragraphs(s[pos:m.start()]))
        env, body = m.group(1), m.group(2)
        if env == "tikzpicture":
            out.append('<p class="note">(the drawing is shown above)</p>')
        elif env in ("itemize", "enumerate"):
            out.append(_list(body, env == "enumerate"))
        elif env in ("center", "figure"):
            out.append(_block(body))
        else:
            out.append(_display(body, env))
        pos = m.end()
    out.append(_paragraphs(s[pos:]))
    return "".join(out)


def _paragraphs(s: str) -> str:
    out = []
    pos = 0
    pieces = []
    for m in _DISPLAY.finditer(s):
        pieces.append(("text", s[pos:m.start()]))
        pieces.append(("math", m.group(1)))
        pos = m.end()
    pieces.append(("text", s[pos:]))
    for kind, chunk in pieces:
        if kind == "math":
            out.append(_display(chunk, "display"))
            continue
        hpos = 0
        for h in _HEAD.finditer(chunk):
            out.extend(_paras(chunk[hpos:h.start()]))
            level = {"section": 3, "subsection": 4}.get(h.group(1), 5)
            out.append(f"<h{level}>{_text(h.group(2))}</h{level}>")
            hpos = h.end()
        out.extend(_paras(chunk[hpos:]))
    return "".join(out)


def _paras(s: str) -> list:
    lines = [ln for ln in s.splitlines() if not ln.lstrip().startswith("%")]
    text = "\n".join(lines)
    return [f"<p>{_text(p.strip())}</p>" for p in re.split(r"\n\s*\n", text) if p.strip()]


def tex_to_html(tex: str) -> str:
    """HTML for one of our LaTeX fragments (see the module docstring)."""
    tex = re.sub(r"\\(documentclass|usepackage|usetikzlibrary)(\[[^\]]*\])?\{[^{}]*\}", "", tex)
    tex = tex.replace("\\begin{document}", "").replace("\\end{document}", "")
    return _block(tex)
