"""The test suite's own structure: what ``make check`` leaves out exists, and the slow
tests run in the order and groups that let them share their work (conftest.py)."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def root_conftest():
    import importlib.util

    spec = importlib.util.spec_from_file_location("root_conftest", ROOT / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_slow_test_named_exists():
    """A renamed test would silently leave SLOW and slow the fast loop down."""
    for entry in root_conftest().SLOW:
        path, _, name = entry.partition("::")
        assert (ROOT / path).is_file(), entry
        if name:
            functions = {node.name for node in ast.walk(ast.parse((ROOT / path).read_text()))
                         if isinstance(node, ast.FunctionDef)}
            assert name in functions, entry


def test_the_make_targets_select_what_they_say():
    """make check leaves out the slow, notebook, browser, Binder, wheel and docs tests and
    runs on two processes; make test runs everything, nbval included, grouped."""
    makefile = (ROOT / "Makefile").read_text()
    check = makefile.split("\ncheck: $(STAMP)\n")[1].split("\n\n")[0]
    test = makefile.split("\ntest: $(STAMP)\n")[1].split("\n\n")[0]
    assert "-m 'not slow and not browser and not binder and not wheel and not docs'" in check
    assert "-n 2" in check and "--nbval-lax" not in check
    assert "-n 2 --dist loadgroup" in test and "tests --nbval-lax notebooks" in test
    assert " -m '" not in test, "make test deselects nothing"
