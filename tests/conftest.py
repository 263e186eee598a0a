import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
DERIVATIONS = ROOT / "derivations"


@pytest.fixture
def spec_path():
    def get(name):
        return DERIVATIONS / name
    return get


def all_spec_files():
    return sorted(DERIVATIONS.glob("*.toml"))


os.environ.setdefault("MPLBACKEND", "Agg")
