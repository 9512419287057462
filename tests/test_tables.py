"""Tables a learner reads whole (playbook_kit.reporting.tables): in a notebook's HTML, in plain
text, and through pandas' own display once installed; a config as a table (pk.config_table)."""
import html
import re

import numpy as np
import pandas as pd
import pytest

from playbook_kit.core import statuses

from playbook_kit.reporting import tables

REASON = ("majority rule: 2 of the 3 best trials lie in the outer 20% of the range at the "
          "high edge ([0.0001, 0.001], log scale) & p < 0.05")


def boundary_like() -> pd.DataFrame:
    return pd.DataFrame({"name": ["learning_rate", "depth"], "status": ["expand", "ok"],
                         "best_value": [0.000657123, 2.0], "n_best": [3, 1234567],
                         "unstable": [True, False], "reason": [REASON, "inside"]})


@pytest.fixture
def pandas_defaults():
    """pandas' display as it ships to a terminal, given back afterwards whatever a test
    installed."""
    names = ("display.max_colwidth", "display.max_columns")
    saved = {name: pd.get_option(name) for name in names}
    tables.uninstall()
    pd.set_option("display.max_colwidth", 50)
    pd.set_option("display.max_columns", 0)
    yield
    tables.uninstall()
    for name, value in saved.items():
        pd.set_option(name, value)


# ------------------------------------------------------------------------------ HTML
def test_html_shows_text_whole_left_aligned_wrapped_and_escaped():
    page = tables.to_html(boundary_like())
    assert ">majority rule: 2 of the 3 best trials lie in the outer 20% of the range at the " \
           "high edge ([0.0001, 0.001], log scale) &amp; p &lt; 0.05</div></td>" in page
    wrapped = re.search(r'<td style="([^"]*)"><div style="([^"]*)">majority', page)
    assert "text-align:left" in wrapped.group(1)
    assert "white-space:pre-wrap" in wrapped.group(2) and "max-width:40em" in wrapped.group(2)
    assert '<td style="text-align:left;vertical-align:top">inside</td>' in page  # short: no div
    assert "<style" not in page and "..." not in page    # an untrusted notebook drops <style>


def test_html_marks_and_colours_statuses_and_the_findings_of_flag_columns():
    page = tables.to_html(boundary_like())
    cells = re.findall(r'<td style="([^"]*)">([^<]*)</td>', page)
    assert ("text-align:left;vertical-align:top;white-space:nowrap;font-weight:bold;"
            f"color:{statuses.COLORS['warn']}", "\u26a0\u00a0expand") in cells
    assert any(text == "\u2713\u00a0ok" and statuses.COLORS["good"] in style
               for style, text in cells)    # a no-break space keeps the mark with its word
    assert any(text == "\u2717\u00a0True" and statuses.COLORS["bad"] in style
               for style, text in cells)
    assert ("text-align:left;vertical-align:top", "False") in cells   # no finding: plain


def test_a_flag_column_marks_its_findings_whatever_its_boolean_dtype():
    frame = pd.DataFrame({"unstable": pd.array([True, None, False], dtype="boolean"),
                          "flagged": np.array([False, True, False])})
    rows = [[cell["text"] for cell in row] for row in tables.layout(frame)["rows"]]
    assert rows == [["0", "\u2717 True", "False"], ["1", "<NA>", "\u26a0 True"],
                    ["2", "False", "False"]]


def test_html_numbers_are_right_aligned_as_pandas_shows_them():
    page = tables.to_html(boundary_like())
    numbers = re.findall(r'<td style="text-align:right;vertical-align:top">([^<]*)</td>', page)
    assert numbers == ["0.000657123", "3", "2.0", "1234567"]
    assert '<th style="text-align:right;vertical-align:top">0</th>' in page   # the index


def test_cell_text():
    assert [tables.cell_text(v) for v in (None, pd.NA, np.nan, np.float64(2.0), 1e-7,
                                          np.int64(7), np.bool_(True), "a", [1, 2])] == [
        "None", "<NA>", "NaN", "2.0", "1e-07", "7", "True", "a", "[1, 2]"]


def test_a_long_table_leaves_rows_out_as_pandas_does_and_says_so():
    frame = pd.DataFrame({"step": range(100), "note": ["x"] * 100})
    layout = tables.layout(frame)
    assert len(layout["rows"]) == 11 and layout["rows"][5][0]["text"] == "\u2026"
    assert layout["footer"] == "100 rows \u00d7 2 columns"
    assert "<p>100 rows \u00d7 2 columns</p>" in tables.to_html(frame)


def test_multiindex_labels_are_joined():
    frame = pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")]),
                         index=pd.Index(["r"], name="row"))
    layout = tables.layout(frame)
    assert [c["text"] for c in layout["header"]] == ["row", "a / x", "a / y"]


# ------------------------------------------------------------------------ plain text
def test_plain_text_wraps_long_text_to_the_width_and_keeps_every_word():
    text = tables.to_text(boundary_like(), width=90)
    lines = text.splitlines()
    assert max(map(len, lines)) <= 90 and "..." not in text
    column = lines[0].index("reason")
    first_row = lines[2:lines.index("", 2)]         # rows that wrap are set apart by a blank
    assert len(first_row) > 1
    assert " ".join(line[column:] for line in first_row) == REASON
    assert first_row[0].split()[:6] == ["0", "learning_rate", "\u26a0", "expand",
                                        "0.000657123", "3"]
    assert "\u2717 True" in first_row[0]


def test_plain_text_fits_on_one_line_per_row_when_wide_enough():
    text = tables.to_text(boundary_like(), width=300, index=False)
    assert text.splitlines()[1].split() == ["learning_rate", "\u26a0", "expand", "0.000657123",
                                            "3", "\u2717", "True", *REASON.split()]
    assert len(text.splitlines()) == 3


# --------------------------------------------------------------------------- install
def test_install_shows_pandas_text_whole_and_uninstall_gives_it_back(pandas_defaults):
    frame = boundary_like()
    assert "..." in repr(frame)                        # pandas cuts at 50 characters
    tables.install()
    assert tables.installed() and REASON in repr(frame) and REASON in str(frame)
    assert pd.get_option("display.max_colwidth") is None
    assert "expand" in repr(frame)            # a terminal leaves no column out ("...")
    tables.uninstall()
    assert not tables.installed() and pd.get_option("display.max_colwidth") == 50
    assert pd.get_option("display.max_columns") == 0


@pytest.fixture
def ipython(pandas_defaults, monkeypatch):
    """What tables.install finds in a Jupyter kernel: a shell's display formatter (here
    without a shell, so that no IPython instance outlives the test)."""
    from types import SimpleNamespace

    from IPython.core.formatters import DisplayFormatter

    shell = SimpleNamespace(display_formatter=DisplayFormatter())
    monkeypatch.setattr(tables, "_shell", lambda: shell)
    yield shell
    tables.uninstall()


def test_ipython_displays_every_dataframe_through_the_tables(ipython):
    frame = boundary_like()
    before = ipython.display_formatter.format(frame)[0]
    assert REASON[:40] in before["text/html"] and "...</td>" in before["text/html"]  # cut
    tables.install()
    shown = ipython.display_formatter.format(frame)[0]
    assert shown["text/html"] == tables.to_html(frame)
    assert shown["text/plain"] == tables.to_text(frame)
    assert html.escape(REASON, quote=False) in shown["text/html"]
    assert "..." not in shown["text/html"] + shown["text/plain"]
    assert frame["status"].tolist() == ["expand", "ok"]   # the data is untouched
    tables.uninstall()
    assert ipython.display_formatter.format(frame)[0] == before


def test_setup_installs_the_tables_and_can_leave_them_out(pk, pandas_defaults):
    assert pk.setup(seed=0)["tables"] is True and tables.installed()
    assert pk.setup(seed=0, tables=False)["tables"] is False and not tables.installed()
    with pytest.raises(ValueError, match=r"setup: tables='yes' is not allowed; use True or "
                                         r"False"):
        pk.setup(seed=0, tables="yes")
    pk.setup(seed=0)


# ---------------------------------------------------------------------- config table
def test_config_table_gives_roles_from_the_space_tuned_first(pk):
    space = (pk.SearchSpace().scientific("depth", values=[1, 2])
             .nuisance("learning_rate", 1.0e-4, 1.0e-2, scale="log").fixed("optimizer", "adam"))
    config = {"model": "mlp", "optimizer": "adam", "learning_rate": 3.0e-3, "depth": 2}
    table = pk.config_table(config, space)
    assert list(table.columns) == ["hyperparameter", "value", "role"]
    assert table.values.tolist() == [["depth", 2, "scientific"],
                                     ["learning_rate", 3.0e-3, "nuisance"],
                                     ["optimizer", "adam", "fixed"],
                                     ["model", "mlp", "fixed (default)"]]
    assert pk.config_table('{"width": 64}')["role"].tolist() == ["fixed"]
    with pytest.raises(ValueError, match=r"config='not json' is not allowed; pass a dict"):
        pk.config_table("not json")
    with pytest.raises(ValueError, match=r"space=list is not allowed; pass a SearchSpace"):
        pk.config_table(config, ["depth"])


def test_config_table_reads_the_roles_of_a_study(pk):
    from insight_fixtures import hp, make_study

    study = make_study(pd.DataFrame({"trial_id": ["0"], "status": ["completed"],
                                     "objective": [0.9], "learning_rate": [1.0e-3]}),
                       [hp("learning_rate", "log", 1.0e-4, 1.0e-2)])
    table = pk.config_table({"width": 64, "learning_rate": 1.0e-3}, study)
    assert table["role"].tolist() == ["nuisance", "fixed (default)"]
