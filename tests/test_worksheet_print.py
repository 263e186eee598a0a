"""Print quality of the worksheets, checked for real (issue 14).

Every sheet and key of six networks (the lecture's 2-2-1, the slides' gender network in matrix
notation, a 3-4-2 tanh/softmax, a 2-3-3-1 ReLU, a 4-6-3 sigmoid network and Mazur's shared-bias
example in matrix notation) is compiled with
pdflatex (two at a time) and

- its log has no overfull and no underfull \\hbox or \\vbox (read from the real log);
- its last page is not a widow: it holds more than a line or two of text (pdftotext per page);
- page 1 matches the reference image in tests/data/visual/ (pdftoppm at 20 dpi, greyscale),
  pixel by pixel within a tolerance. After an intended change of the layout regenerate the
  references with ``SYMBACKPROP_UPDATE_VISUAL=1 python -m pytest tests/test_worksheet_print.py``
  and look at the new images before committing them.

Without pdflatex/poppler the tests skip with a reason (and fail when ``CI=true``).
"""
from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor

import pytest

from symbackprop import derive, load_spec, parse_spec
from symbackprop.render.pdf import box_warnings, compile_tex_log
from symbackprop.worksheets.index import worksheet
from symbackprop.worksheets.matrix import is_matrix_spec

ROOT = pathlib.Path(__file__).resolve().parent.parent
SPECS = {
    "lecture_2_2_1": ROOT / "derivations" / "lecture_2_2_1.toml",
    "gender": ROOT / "derivations" / "gender.toml",
    "tanh_softmax_3_4_2": ROOT / "tests" / "data" / "tanh_softmax_3_4_2.toml",
    "relu_2_3_3_1": ROOT / "tests" / "data" / "relu_2_3_3_1.toml",
    "sigmoid_4_6_3": ROOT / "tests" / "data" / "sigmoid_4_6_3.toml",
    # Mazur's one-bias-per-layer example, read in matrix notation (b_l is (1, 1)): see _load
    "mazur_matrix": ROOT / "derivations" / "step_by_step_shared_biases.toml",
}
MATRIX_COPIES = {"mazur_matrix"}   # specs read with notation = "matrix" added
DOCS = [f"{name}{suffix}" for name in SPECS for suffix in ("", "-answers")]
VISUAL = ROOT / "tests" / "data" / "visual"
DPI = 20
UPDATE = os.environ.get("SYMBACKPROP_UPDATE_VISUAL") == "1"
MIN_LAST_PAGE_LINES = 3     # a last page with fewer lines of text is a widow
PIXEL_TOLERANCE = 48        # grey levels a pixel may differ by (anti-aliasing, font hinting)
MAX_CHANGED = 0.01          # the share of pixels allowed to differ by more


def _tools_or_skip():
    missing = [t for t in ("pdflatex", "pdftotext", "pdftoppm", "pdfinfo") if shutil.which(t) is None]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {', '.join(missing)} missing")
        pytest.skip(f"needs {', '.join(missing)} (texlive, poppler-utils)")


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """{doc name: (pdf path, log text)} for the ten documents, compiled two at a time."""
    _tools_or_skip()
    folder = tmp_path_factory.mktemp("print")
    texts = {}
    for name, path in SPECS.items():
        spec = _load(name, path)
        sheet = worksheet(spec if is_matrix_spec(spec) else derive(spec))
        texts[name] = sheet.exercises
        texts[name + "-answers"] = sheet.answers

    def one(doc):
        pdf, log = compile_tex_log(texts[doc], name="doc")
        out = folder / f"{doc}.pdf"
        out.write_bytes(pdf)
        return doc, (out, log)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, DOCS))


def _load(name, path):
    if name not in MATRIX_COPIES:
        return load_spec(path)
    text = path.read_text(encoding="utf-8").replace("title =", 'notation = "matrix"\ntitle =', 1)
    return parse_spec(text, source=f"{name}.toml")


def _pages(pdf) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[1] for line in info.splitlines() if line.startswith("Pages:")))


def _page_lines(pdf, page: int) -> list:
    text = subprocess.run(["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout
    # the page number in the footer is no content
    return [line for line in text.splitlines() if line.strip() and not line.strip().isdigit()]


@pytest.mark.parametrize("doc", DOCS)
def test_no_overfull_or_underfull_box(compiled, doc):
    pdf, log = compiled[doc]
    assert "Output written" in log
    assert box_warnings(log) == [], f"{doc}: {box_warnings(log)}"


@pytest.mark.parametrize("doc", DOCS)
def test_no_widow_last_page(compiled, doc):
    pdf, _ = compiled[doc]
    n = _pages(pdf)
    last = _page_lines(pdf, n)
    if n > 1 and not last:   # a page of answer space only: it must hold several ruled lines
        assert _ruled_lines(pdf, n) >= MIN_LAST_PAGE_LINES, f"{doc}: page {n} of {n} is (nearly) empty"
    elif n > 1 and len(last) < MIN_LAST_PAGE_LINES:
        # fine only when the page holds a whole exercise: it starts with the item's label ("5." or
        # "(h)"), not with the end of a paragraph from the page before, and its answer lines follow
        whole_item = re.match(r"\s*(\d+\.|\([a-z]\))\s", last[0]) and _ruled_lines(pdf, n) >= MIN_LAST_PAGE_LINES
        assert whole_item, f"{doc}: page {n} of {n} holds only {last}"


def _ruled_lines(pdf, page: int) -> int:
    """Answer lines on a page: pixel rows that are dark across most of the text width."""
    import numpy as np
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        stem = os.path.join(tmp, "p")
        subprocess.run(["pdftoppm", "-r", "72", "-gray", "-png", "-f", str(page), "-l", str(page), "-singlefile",
                        str(pdf), stem], check=True, capture_output=True)
        a = np.asarray(Image.open(stem + ".png").convert("L"))
    dark = (a < 160).mean(axis=1) > 0.6
    return int(np.sum(dark[1:] & ~dark[:-1]))   # runs of dark rows


def _page1_image(pdf, folder):
    from PIL import Image

    stem = folder / (pdf.stem + "-p1")
    subprocess.run(["pdftoppm", "-r", str(DPI), "-gray", "-png", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                    str(stem)], check=True, capture_output=True)
    return Image.open(f"{stem}.png").convert("L")


@pytest.mark.parametrize("doc", DOCS)
def test_page_one_looks_like_the_reference(compiled, doc, tmp_path):
    pytest.importorskip("PIL")
    import numpy as np
    from PIL import Image

    pdf, _ = compiled[doc]
    image = _page1_image(pdf, tmp_path)
    ref_path = VISUAL / f"{doc}.png"
    if UPDATE or not ref_path.exists():
        if not UPDATE:
            pytest.fail(f"no reference image {ref_path}; run with SYMBACKPROP_UPDATE_VISUAL=1 to create it")
        VISUAL.mkdir(parents=True, exist_ok=True)
        image.save(ref_path, optimize=True)
        return
    ref = Image.open(ref_path).convert("L")
    assert image.size == ref.size, f"{doc}: page size {image.size} != reference {ref.size}"
    a = np.asarray(image, dtype=np.int16)
    b = np.asarray(ref, dtype=np.int16)
    changed = float(np.mean(np.abs(a - b) > PIXEL_TOLERANCE))
    assert changed <= MAX_CHANGED, (f"{doc}: {changed:.1%} of page 1's pixels differ from {ref_path.name}; "
                                    "if intended, regenerate with SYMBACKPROP_UPDATE_VISUAL=1")
    # the comparison can fail: a page with its content shifted by a few lines differs a lot
    shifted = np.roll(b, 6, axis=0)
    assert float(np.mean(np.abs(shifted - b) > PIXEL_TOLERANCE)) > MAX_CHANGED
