"""Checks on every notebook cell that nbval executes (``pytest --nbval-lax notebooks``),
and how the full suite shares its slow work. It sits at the repository's root so that it
applies to notebooks/ as well as tests/.

nbval in lax mode compares no outputs, so a table whose reasons pandas cut to "..." passed
unnoticed. Here a cell fails when any table cell in its outputs ends in a truncation mark
(:func:`playbook_kit.teaching.notebooks.truncated_cells`), naming the notebook, the cell and the
cut text.

Sharing (``make test`` runs on both cores with pytest-xdist, ``--dist loadgroup``): the
notebooks executed by nbval and then in the browser form one group, run by one worker in
that order, so that the browser test reuses the studies nbval trained
(:data:`NBVAL_STUDIES`) instead of training them again; the Binder, wheel and docs tests
form another, sharing one fresh environment and the tour the wheel runs there; the xdist
controller creates that environment in the background while the workers test
(``tests/fresh_environment.py``).
"""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
NBVAL_STUDIES = ROOT / "runs" / "notebooks" / "studies"
"""Where the guided notebooks, run in place by nbval, store their studies."""
NBVAL_RESULTS = pytest.StashKey[dict]()
"""Per notebook nbval ran in this session: whether every one of its cells passed."""
SLOW = (
    # the conformance corpus: 115 CPU s of the unit tests' 490 measured here
    "tests/test_keras_code.py",
    # processes of their own, each importing TensorFlow: 16 to 32 CPU s each
    "tests/test_study.py::test_two_workers_run_every_trial_exactly_once_the_first_serving_the_oracle",
    "tests/test_study.py::test_a_lost_worker_is_not_a_lost_study",
    "tests/test_study.py::test_a_lost_oracle_host_stops_the_others_cleanly_and_a_rerun_resumes",
    "tests/test_study.py::test_kill_9_mid_study_then_resume_gives_the_full_budget",
    "tests/test_distribute.py",
    # 42 and 26 s on the 2 workers of make check, each its own processes or 400 trials
    "tests/test_programs.py::test_memory_stays_flat_whatever_the_architectures",
    "tests/test_resume.py::test_sigterm_stops_a_study_cleanly_and_a_rerun_finishes_it_exactly",
)
"""Unit tests marked ``slow``: ``make check`` (the fast loop) leaves them out, ``make test``
runs them. Chosen by their CPU seconds: the corpus and the tests of several processes
were 200 of the unit tests' 490 CPU seconds, measured one test at a time; the lost-host
test and the last two were the slowest left in ``make check`` (``--durations``), which took
197 s with them at load 2 to 3."""
ORDER = ("nbval", "browser", "binder", "wheel", "docs")
"""The order of the slow tests within their groups (the rest keep theirs, first)."""
FRESH_ENVIRONMENT = {"fresh_environment", "wheel_tour", "executed_tour"}
"""The fixtures that wait for the fresh environment the controller creates."""


def _kind(item) -> str | None:
    if hasattr(item, "raise_cell_error"):  # nbval's IPyNbCell
        return "nbval"
    return next((k for k in ORDER[1:] if item.get_closest_marker(k)), None)


def _rank(item) -> tuple:
    """Where a test goes in the run: the ungrouped tests first; in a group, the tests that
    do not wait for the fresh environment before those that do (the docs sites and the
    build use the time it takes), then by :data:`ORDER`."""
    kind = _kind(item)
    if kind is None:
        return (0,)
    needs = FRESH_ENVIRONMENT & set(getattr(item, "fixturenames", ()))  # not on nbval cells
    return (1, bool(needs), ORDER.index(kind))


@pytest.hookimpl(tryfirst=True)  # before xdist's, which reads the groups it adds
def pytest_collection_modifyitems(config, items):
    """nbval's cells and the browser test run in one xdist group, cells first; the Binder,
    wheel and docs tests in another (the Binder and wheel tests carry the mark themselves),
    where the worker builds the wheel and the small docs sites while the environment is
    still being created; the tests of :data:`SLOW` are marked ``slow``."""
    for item in items:
        kind = _kind(item)
        if kind in ("nbval", "browser"):
            item.add_marker(pytest.mark.xdist_group("notebooks"))
        elif kind == "docs" and item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group("fresh_environment"))
        if any(item.nodeid == s or item.nodeid.startswith(f"{s}::")
               or item.nodeid.startswith(f"{s}[") for s in SLOW):
            item.add_marker(pytest.mark.slow)
    items.sort(key=_rank)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    """As soon as a worker has collected, start the fresh environment that the Binder and
    wheel tests share, when they are among its tests."""
    from tests.fresh_environment import prepare_in_background

    prepare_in_background(node.config._tmp_path_factory.getbasetemp(), ids)  # noqa: SLF001


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if _kind(item) == "nbval" and report.when == "call":
        results = item.config.stash.setdefault(NBVAL_RESULTS, {})
        results[item.path.stem] = results.get(item.path.stem, True) and report.passed
    return report


@pytest.fixture(scope="session")
def nbval_studies(request):
    """``trained(stems)``: :data:`NBVAL_STUDIES` when nbval ran every cell of those
    notebooks in this session, all passing (so the studies there come from this code),
    else None."""
    def trained(stems):
        results = request.config.stash.get(NBVAL_RESULTS, {})
        ran = all(results.get(stem) for stem in stems)
        return NBVAL_STUDIES if ran and NBVAL_STUDIES.is_dir() else None

    return trained


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    outputs = getattr(item, "test_outputs", None)   # set by nbval's IPyNbCell only
    if outputs is not None and hasattr(item, "raise_cell_error"):
        from playbook_kit.teaching.notebooks import truncated_cells

        cut = truncated_cells(outputs)
        if cut:
            item.raise_cell_error(
                f"{len(cut)} table cell(s) in the outputs of {item.path.name} end in a "
                f"truncation mark, first {cut[0]!r}", "\n".join(map(repr, cut)))
    return result
