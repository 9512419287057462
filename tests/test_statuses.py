"""Status words carry a mark that survives black and white, a colour-blind reader and a
renderer that strips styles (playbook_kit.core.statuses), in tables and in the HTML and Markdown
reports."""
import re
from pathlib import Path

import pytest

from playbook_kit.core import statuses
from playbook_kit.reporting.rendering import environment

ROOT = Path(__file__).resolve().parents[1]


def test_every_status_the_package_writes_has_a_mark():
    from playbook_kit.decisions.adoption import RECOMMENDATIONS
    from playbook_kit.insight.audit import CHECK_STATUSES
    from playbook_kit.core.rules import FINISHED_STATUSES

    source = "".join((ROOT / "playbook_kit" / name).read_text() for name in
                     ("insight/boundaries.py", "recipes/batch_size.py"))
    written = set(re.findall(r'status"?\]?\s*[=:]\s*"([a-z ]+)"', source))
    assert {"expand", "ok", "at bound", "instability", "not checked", "measured",
            "out of memory"} <= written
    words = {*RECOMMENDATIONS, *CHECK_STATUSES, *FINISHED_STATUSES, "running", "not run",
             *written}
    assert [w for w in words if statuses.tone(w) is None] == []


@pytest.mark.parametrize("word, shown", [
    ("pass", "\u2713 pass"), ("warn", "\u26a0 warn"), ("fail", "\u2717 fail"),
    ("skip", "\u25cb skip"), ("completed", "\u2713 completed"),
    ("infeasible", "\u2717 infeasible"), ("failed", "\u2717 failed"), ("adopt", "\u2713 adopt"),
    ("keep baseline", "\u2717 keep baseline"),
    ("inconclusive: run more seeds", "\u26a0 inconclusive: run more seeds"),
    ("expand", "\u26a0 expand"), ("Pass", "\u2713 Pass"),
    ("passed the test", "passed the test"), (3, "3"), (None, ""),
])
def test_a_status_is_marked_by_a_symbol_and_keeps_its_word(word, shown):
    assert statuses.mark(word) == shown


def test_each_tone_has_its_own_mark_and_colour():
    tones = (statuses.GOOD, statuses.WARN, statuses.BAD, statuses.NEUTRAL)
    assert len({statuses.MARKS[t] for t in tones}) == 4
    assert len({statuses.COLORS[t] for t in tones}) == 4
    assert statuses.color("fail") == statuses.COLORS[statuses.BAD]
    assert statuses.color("reason") is None


def test_templates_mark_statuses_and_still_escape_them():
    template = environment().from_string(
        '<td style="color:{{ word|status_color }}">{{ word|status }}</td>')
    assert template.render(word="fail") == (
        f'<td style="color:{statuses.COLORS["bad"]}">\u2717 fail</td>')
    assert template.render(word="<b>odd</b>") == (
        '<td style="color:inherit">&lt;b&gt;odd&lt;/b&gt;</td>')
