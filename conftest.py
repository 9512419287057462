"""Checks on every notebook cell that nbval executes (``pytest --nbval-lax notebooks``).

nbval in lax mode compares no outputs, so a table whose reasons pandas cut to "..." passed
unnoticed. Here a cell fails when any table cell in its outputs ends in a truncation mark
(:func:`playbook_kit.notebooks.truncated_cells`), naming the notebook, the cell and the
cut text. It sits at the repository's root so that it applies to notebooks/ as well as
tests/.
"""
import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    outputs = getattr(item, "test_outputs", None)   # set by nbval's IPyNbCell only
    if outputs is not None and hasattr(item, "raise_cell_error"):
        from playbook_kit.notebooks import truncated_cells

        cut = truncated_cells(outputs)
        if cut:
            item.raise_cell_error(
                f"{len(cut)} table cell(s) in the outputs of {item.path.name} end in a "
                f"truncation mark, first {cut[0]!r}", "\n".join(map(repr, cut)))
    return result
