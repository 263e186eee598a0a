r"""The web pages in a real headless Chromium (Debian's chromium + chromium-driver), driven by Selenium.

Answers are typed key by key into MathLive's <math-field> (so the LaTeX MathLive emits, \left(\right),
\cdot, its subscript forms, goes through our grammar), verdicts read from the page; the instructor
page uploads a class CSV and downloads the graded file; screenshots at desktop and phone widths are
checked (not blank, no horizontal overflow, the verdict on screen) and kept in
``$SYMBACKPROP_WEB_SHOTS`` (default: the temp folder's ``symbackprop-web-shots/``) for a person to look at.  Skipped with the reason when no browser is
installed; failed instead when CI=true.
"""
from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHOTS = os.environ.get("SYMBACKPROP_WEB_SHOTS") or os.path.join(tempfile.gettempdir(), "symbackprop-web-shots")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def _missing() -> str | None:
    if CHROMIUM is None or CHROMEDRIVER is None:
        return "no chromium/chromedriver installed (apt-get install chromium chromium-driver)"
    for mod in ("selenium", "uvicorn", "starlette", "python_multipart"):
        try:
            __import__(mod)
        except ImportError:
            return f"{mod} is not installed (pip install '.[test]')"
    return None


_reason = _missing()
if _reason is not None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests cannot run in CI: {_reason}", pytrace=False)
    pytest.skip(_reason, allow_module_level=True)

import uvicorn  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

from symbackprop.web.app import Settings, create_app  # noqa: E402

R = Keys.ARROW_RIGHT
# (ŷ − y) ŷ(1 − ŷ) w^{2}_{1,1} a^{2}_{1}(1 − a^{2}_{1}) x_1, typed as a student would in MathLive
RIGHT_W1 = ["(yhat-y)*yhat*(1-yhat)*w_1,1", R, "^2", R, "*a_1", R, "^2", R, "*(1-a_1", R, "^2", R, ")*x_1"]
WRONG_W1 = ["(yhat-y)*yhat*(1-yhat)*w_1,1", R, "^2", R, "*x_1"]  # σ'(z^{2}_{1}) left out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    app = create_app(Settings(port=port, workers=2))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    srv = uvicorn.Server(config)
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    deadline = time.monotonic() + 60
    while not srv.started:
        assert time.monotonic() < deadline and th.is_alive(), "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    th.join(30)


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    return str(tmp_path_factory.mktemp("downloads"))


@pytest.fixture(scope="module")
def browser(downloads):
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1280,800", "--hide-scrollbars", "--force-device-scale-factor=1"):
        o.add_argument(a)
    o.add_experimental_option("prefs", {"download.default_directory": downloads,
                                        "download.prompt_for_download": False})
    d = webdriver.Chrome(options=o, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    d.set_page_load_timeout(30)
    os.makedirs(SHOTS, exist_ok=True)
    yield d
    d.quit()


def _open(d, url):
    d.get(url)
    WebDriverWait(d, 20).until(lambda d: d.execute_script("return document.body.dataset.ready") == "1")


def _student(d, server, spec="lecture_2_2_1", wrt=None):
    _open(d, f"{server}/?spec={spec}")
    _field(d)
    if wrt is not None:
        # the spec's targets arrive asynchronously (a matrix spec takes longer on a loaded machine)
        WebDriverWait(d, 30).until(lambda d: d.execute_script(
            "return [...document.getElementById('wrt').options].some(o => o.value === arguments[0])", wrt))
        Select(d.find_element(By.ID, "wrt")).select_by_value(wrt)


def _field(d):
    """The math field, on screen and ready for keys (MathLive mounts it a moment after the page)."""
    from selenium.webdriver.support import expected_conditions as EC

    mf = WebDriverWait(d, 20).until(EC.element_to_be_clickable((By.ID, "mathfield")))
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", mf)
    WebDriverWait(d, 10).until(lambda d: mf.is_displayed() and mf.size["height"] > 0)
    return mf


def _type_and_check(d, keys, submit="enter"):
    from selenium.common.exceptions import ElementNotInteractableException, StaleElementReferenceException

    for attempt in range(3):  # the page may still be laying out the spec it loaded (drawing, given values)
        mf = _field(d)
        try:
            mf.click()
            d.execute_script("document.getElementById('mathfield').value = ''")
            d.execute_script("document.getElementById('verdict').dataset.verdict = 'pending'")
            mf.send_keys(*keys)
            break
        except (ElementNotInteractableException, StaleElementReferenceException):
            if attempt == 2:
                raise
            time.sleep(1)
    if submit == "enter":
        mf.send_keys(Keys.ENTER)
    else:
        d.find_element(By.ID, "check").click()
    return _verdict(d)


def _verdict(d):
    WebDriverWait(d, 20).until(
        lambda d: d.execute_script("return document.getElementById('verdict').dataset.verdict") not in (None, "pending"))
    box = d.find_element(By.ID, "verdict")
    return box.get_attribute("data-verdict"), box


def _no_horizontal_overflow(d):
    sw, iw = d.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert sw <= iw, f"the page is {sw} px wide in a {iw} px window"


def _screenshot(d, name, width, height, scroll_to=None):
    d.set_window_size(width, height)
    inner = d.execute_script("return [window.innerWidth, window.innerHeight]")
    # the window's frame: make the viewport itself width x height
    d.set_window_size(width + (width - inner[0]), height + (height - inner[1]))
    time.sleep(0.3)
    if scroll_to is not None:
        d.execute_script("arguments[0].scrollIntoView({block: 'center'})", scroll_to)
        time.sleep(0.2)
    path = os.path.join(SHOTS, name)
    d.save_screenshot(path)
    from PIL import Image

    img = Image.open(path).convert("L")
    assert img.size[0] == width
    lo, hi = img.getextrema()
    colours = len(img.getcolors(maxcolors=1 << 16) or [])
    assert hi - lo > 100 and colours > 20, f"{name} looks blank"
    _no_horizontal_overflow(d)
    if scroll_to is not None:
        top, bottom = d.execute_script(
            "const r = arguments[0].getBoundingClientRect(); return [r.top, r.bottom]", scroll_to)
        assert 0 <= top < bottom <= d.execute_script("return window.innerHeight") + 1, "the verdict is off screen"
    return path


def test_student_lecture_network_right_and_wrong(browser, server):
    d = browser
    d.set_window_size(1280, 800)
    _student(d, server, wrt="w^{1}_{1,1}")
    assert d.find_elements(By.CSS_SELECTOR, "#drawing svg circle")  # the network drawing
    assert d.find_elements(By.CSS_SELECTOR, "#loss .katex")         # the loss, typeset
    verdict, box = _type_and_check(d, RIGHT_W1)
    value = d.execute_script("return document.getElementById('mathfield').value")
    assert r"\left(" in value and r"\cdot" in value and "w_{1,1}^2" in value  # MathLive's own LaTeX
    assert verdict == "correct", box.text
    assert "Correct" in box.text
    verdict, box = _type_and_check(d, WRONG_W1, submit="button")
    assert verdict == "incorrect", box.text
    assert "derivative is missing" in box.text
    assert box.find_elements(By.CSS_SELECTOR, ".feedback .katex")  # σ'(z) = a(1 − a) as math
    _screenshot(d, "student-1280x800.png", 1280, 800, scroll_to=box)
    _screenshot(d, "student-390x844.png", 390, 844, scroll_to=box)
    d.set_window_size(1280, 800)


def test_mathlive_spaces_primes_and_fractions(browser, server):
    d = browser
    _student(d, server, wrt="w^{2}_{1,1}")
    # spaces, σ' (MathLive writes ^{\prime}), yhat shown as ŷ
    verdict, box = _type_and_check(d, ["(yhat - y) sigma'(z_1", R, "^3", R, ") a_1", R, "^2"])
    value = d.execute_script("return document.getElementById('mathfield').value")
    assert r"\hat{y}" in value and r"\prime" in value and r"\," in value
    assert verdict == "correct", box.text
    assert "read as a prime" in box.text  # the page says what it rewrote
    # 1/2 typed: MathLive writes \frac12; ∂L/∂b^{2}_{1} of the half squared error is (ŷ − y) ŷ(1 − ŷ)
    _student(d, server, wrt="b^{2}_{1}")
    verdict, box = _type_and_check(d, ["2*1/2", R, "*(yhat-y)*yhat*(1-yhat)"])
    assert r"\frac12" in d.execute_script("return document.getElementById('mathfield').value")
    assert verdict == "correct", box.text


def test_hint_then_solution(browser, server):
    d = browser
    _student(d, server, wrt="w^{1}_{1,1}")
    d.find_element(By.ID, "hint").click()
    WebDriverWait(d, 20).until(lambda d: d.find_element(By.ID, "hint-box").is_displayed())
    assert "path(s) of influence" in d.find_element(By.ID, "hint-box").text
    d.find_element(By.ID, "solution").click()
    WebDriverWait(d, 20).until(lambda d: d.find_element(By.ID, "solution-box").is_displayed())
    assert d.find_elements(By.CSS_SELECTOR, "#solution-box .katex-display")


def test_matrix_answer_on_the_gender_network(browser, server):
    d = browser
    _student(d, server, spec="gender", wrt="dW_2")
    verdict, box = _type_and_check(d, ["a_1", R, "^T", R, "dz_2"])
    assert verdict == "correct", box.text
    verdict, box = _type_and_check(d, ["dz_2", R, "a_1", R, "^T"])
    assert verdict == "incorrect" and "wrong order" in box.text


def test_raw_latex_with_preview_multi_line(browser, server):
    d = browser
    _student(d, server, wrt="w^{2}_{1,1}")
    d.find_element(By.ID, "tab-latex").click()
    ta = d.find_element(By.ID, "latex")
    ta.clear()
    ta.send_keys(r"\frac{\partial L}{\partial w^{2}_{1,1}} = (\hat{y}-y)\hat{y}(1-\hat{y})a^{2}_{1}", Keys.ENTER,
                 r"= (\hat{y}-y)a^{2}_{1}")
    assert len(d.find_elements(By.CSS_SELECTOR, "#preview .katex")) == 2  # one preview per line
    d.execute_script("document.getElementById('verdict').dataset.verdict = 'pending'")
    ta.send_keys(Keys.CONTROL, Keys.ENTER)
    verdict, box = _verdict(d)
    assert verdict == "incorrect"
    steps = box.find_elements(By.CSS_SELECTOR, ".steps li")
    assert [s.get_attribute("class") for s in steps] == ["ok", "wrong"]  # the first wrong step highlighted


def test_keyboard_only(browser, server):
    d = browser
    _student(d, server, wrt="w^{1}_{1,1}")
    d.execute_script("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
    body = d.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    for _ in range(25):
        if d.execute_script("return document.activeElement && document.activeElement.id") == "mathfield":
            break
        d.switch_to.active_element.send_keys(Keys.TAB)
    else:
        pytest.fail("Tab never reached the math field")
    d.execute_script("document.getElementById('verdict').dataset.verdict = 'pending'")
    d.switch_to.active_element.send_keys(*RIGHT_W1)
    d.switch_to.active_element.send_keys(Keys.ENTER)
    verdict, box = _verdict(d)
    assert verdict == "correct", box.text
    # and on to the Check button by Tab, then Enter
    d.switch_to.active_element.send_keys(Keys.TAB)
    for _ in range(6):
        if d.execute_script("return document.activeElement.id") == "check":
            break
        d.switch_to.active_element.send_keys(Keys.TAB)
    assert d.execute_script("return document.activeElement.id") == "check"
    d.execute_script("document.getElementById('verdict').dataset.verdict = 'pending'")
    d.switch_to.active_element.send_keys(Keys.ENTER)
    assert _verdict(d)[0] == "correct"


def test_instructor_grades_a_csv_and_downloads_it(browser, server, downloads, tmp_path):
    d = browser
    d.set_window_size(1280, 800)
    csv_path = tmp_path / "class.csv"
    csv_path.write_text("student,wrt,answer\n"
                        "ada,\"w^{2}_{1,1}\",\"(\\hat{y} - y)\\hat{y}(1 - \\hat{y}) a^{2}_{1}\"\n"
                        "bob,\"w^{2}_{1,1}\",\"(\\hat{y} - y) a^{2}_{1}\"\n"
                        "cy,\"w^{2}_{1,1}\",\"(\\hat{y}\"\n", encoding="utf-8")
    _open(d, f"{server}/instructor")
    d.find_element(By.ID, "csv").send_keys(str(csv_path))
    d.find_element(By.ID, "grade").click()
    WebDriverWait(d, 30).until(lambda d: d.execute_script("return document.body.dataset.graded") == "1")
    summary = d.find_element(By.ID, "summary").text
    assert "3 answers: 1 correct, 1 incorrect, 1 unreadable" in summary
    assert "activation derivative missing" in summary
    d.find_element(By.ID, "dl-csv").click()
    target = os.path.join(downloads, "graded-lecture_2_2_1.csv")
    deadline = time.monotonic() + 15
    while not os.path.exists(target):
        assert time.monotonic() < deadline, os.listdir(downloads)
        time.sleep(0.1)
    import csv

    with open(target, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["student"], r["verdict"]) for r in rows] == [("ada", "correct"), ("bob", "incorrect"),
                                                           ("cy", "unparseable")]
    _screenshot(d, "instructor-1280x800.png", 1280, 800, scroll_to=d.find_element(By.ID, "summary"))
    _screenshot(d, "instructor-390x844.png", 390, 844, scroll_to=d.find_element(By.ID, "summary"))
    d.set_window_size(1280, 800)


def test_instructor_full_derivation(browser, server):
    d = browser
    _open(d, f"{server}/instructor")
    d.find_element(By.ID, "show-doc").click()
    WebDriverWait(d, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#document .katex-display"))
    _no_horizontal_overflow(d)
