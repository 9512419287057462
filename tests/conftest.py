import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import sys

import pytest


@pytest.fixture(autouse=True)
def _close_figures():
    """Figures a test leaves open in pyplot do not leak into the next test's count."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.fixture(scope="session")
def pk():
    import playbook_kit

    playbook_kit.setup(seed=0)
    return playbook_kit


@pytest.fixture(scope="session")
def digits(pk):
    return pk.load_digits(seed=0)


@pytest.fixture(scope="session")
def digits_workload(pk, digits):
    return pk.Workload(digits, defaults={"width": 32, "learning_rate": 3.0e-3})
