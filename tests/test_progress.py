"""The shared progress bar: shown when asked (or on a terminal), silent otherwise, closed on Ctrl-C."""
import io

import pytest

from symbackprop.progress import progress


def test_forced_bar_reaches_its_total():
    out = io.StringIO()
    with progress(total=5, desc="grading", unit="answer", enabled=True, stream=out) as bar:
        for _ in range(5):
            bar.update()
        assert bar.n == 5
    text = out.getvalue()
    assert "grading" in text and "0/5" in text


def test_off_when_not_a_terminal():
    out = io.StringIO()
    with progress(total=3, stream=out) as bar:
        bar.update(3)
    assert out.getvalue() == ""


def test_ctrl_c_closes_the_bar():
    out = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        with progress(total=10, enabled=True, stream=out) as bar:
            bar.update()
            raise KeyboardInterrupt
    assert bar.disable  # tqdm marks a closed bar disabled
    assert "0/10" in out.getvalue()
