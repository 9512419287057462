"""A damaged, hand-edited or foreign journal file: one line naming the file, the line,
what is wrong and what to do, as a JournalError (a ValueError); never a traceback from
deep inside YAML, JSON or a report. Also: every user text in the HTML report escaped."""
import re

import pytest
import yaml

from playbook_kit.journal import Journal, JournalError
from playbook_kit.journal.chain import HEADER_COMMENT, _dump_entry, _entry_hash

RESTORE = ("restore the file from a backup or version control, and record corrections as "
           "a new round")


@pytest.fixture
def jpath(tmp_path):
    """A journal of a header and two rounds. Its entries start ('---') at lines 4
    (header), 12 (round 1) and 33 (round 2); round 1's notes are on line 29."""
    j = Journal(tmp_path / "journal.yaml", title="T")
    j.add_round("one", scientific=["a"], notes="n")
    j.add_round("two", scientific=["a"])
    lines = j.path.read_text().split("\n")
    assert [i + 1 for i, line in enumerate(lines) if line == "---"] == [4, 12, 33]
    assert lines[28] == "notes: n"
    return j.path


def _error(path) -> str:
    with pytest.raises(JournalError) as info:
        Journal(path)
    message = str(info.value)
    assert "\n" not in message and info.value.__cause__ is None
    assert info.value.__suppress_context__ or info.value.__context__ is None
    return message


def _rewrite(path, edit):
    """Rewrite the file's entries through ``edit(docs)``, hashes recomputed as a careful
    hand-editor would (each entry's own hash only, unless ``edit`` chains them)."""
    docs = list(yaml.safe_load_all(path.read_text()))
    edit(docs)
    path.write_text(HEADER_COMMENT + "".join(_dump_entry(d) for d in docs))


def _rehash(doc):
    doc["hash"] = _entry_hash(doc)


def test_journal_error_is_a_value_error():
    assert issubclass(JournalError, ValueError)


def test_truncated_file(jpath):
    text = jpath.read_text()
    jpath.write_text(text[: text.index("hyperparameters:", text.index("round: 2"))])
    assert _error(jpath) == (
        "journal.yaml line 33: entry 2 (round 2) has no 'prev_hash'; the file was "
        f"truncated or edited by hand: {RESTORE}")


def test_truncated_inside_a_quoted_string(jpath):
    text = jpath.read_text()
    jpath.write_text(text[: text.index("recorded_at: '", text.index("round: 2")) + 20])
    assert _error(jpath) == (
        "journal.yaml line 38: not valid YAML (found unexpected end of stream) in entry 2, "
        f"which starts at line 33; the file was truncated or edited by hand: {RESTORE}")


def test_broken_yaml(jpath):
    jpath.write_text(jpath.read_text().replace("notes: n\n", "notes: [n\n", 1))
    assert _error(jpath) == (
        "journal.yaml line 30: not valid YAML (expected ',' or ']', but got ':') in "
        f"entry 1, which starts at line 12; the file was truncated or edited by hand: "
        f"{RESTORE}")


def test_impossible_date_is_reported_as_yaml(jpath):
    # YAML reads 2024-13-45 as a date and fails with a ValueError, not a YAMLError
    jpath.write_text(jpath.read_text().replace("notes: n\n", "notes: 2024-13-45\n", 1))
    assert _error(jpath) == (
        "journal.yaml line 12: not valid YAML (month must be in 1..12) in entry 1, which "
        f"starts at line 12; the file was truncated or edited by hand: {RESTORE}")


def test_value_the_journal_never_writes(jpath):
    jpath.write_text(jpath.read_text().replace("notes: n\n", "notes: 2024-01-01\n", 1))
    assert _error(jpath) == (
        "journal.yaml line 12: entry 1 (round 1) holds a value that the journal never "
        "writes (Object of type date is not JSON serializable); it was edited by hand: "
        f"{RESTORE}")


def test_not_utf8(jpath):
    data = jpath.read_bytes().replace(b"notes: n\n", b"notes: caf\xe9\n", 1)
    jpath.write_bytes(data)
    start = data.index(b"caf\xe9") + 3
    assert _error(jpath) == (
        f"journal.yaml line 29: not UTF-8 text (byte {start}); the file was damaged or "
        f"saved in another encoding: save it as UTF-8, or {RESTORE}")


def test_utf8_byte_order_mark_is_accepted(jpath):
    jpath.write_bytes(b"\xef\xbb\xbf" + jpath.read_bytes())
    assert [r["goal"] for r in Journal(jpath).rounds] == ["one", "two"]


def test_past_round_edited_with_its_hash_recomputed(jpath):
    def edit(docs):
        docs[1]["goal"] = "one, edited"
        _rehash(docs[1])
    _rewrite(jpath, edit)
    assert _error(jpath) == (
        "journal.yaml line 33: entry 2 (round 2) does not follow entry 1 (prev_hash "
        "mismatch); an entry was removed, reordered or inserted by hand, or entry 1 was "
        f"changed and its hash recomputed: {RESTORE}")


def test_header_edit(jpath):
    jpath.write_text(jpath.read_text().replace("title: T\n", "title: U\n", 1))
    assert _error(jpath) == (
        "journal.yaml line 4: entry 0 (header, lines 4-11) was changed after it was "
        "written (its hash does not match its content). The journal is append-only: "
        "restore the original text, and record corrections as a new round")


def test_reordered_rounds(jpath):
    _rewrite(jpath, lambda docs: docs.insert(1, docs.pop(2)))
    assert _error(jpath) == (
        "journal.yaml line 12: entry number 2 where 1 was expected; an entry was removed, "
        f"reordered or inserted by hand: {RESTORE}")


def test_text_before_the_first_entry(jpath):
    jpath.write_text("my notes\n" + jpath.read_text())
    assert _error(jpath) == (
        "journal.yaml line 1: text before the first entry ('---'); only comments are "
        "allowed there: delete it or start it with '#'")


def test_foreign_file(tmp_path):
    path = tmp_path / "oracle.json"
    path.write_text('{"ongoing_trials": {}}\n')
    assert _error(path) == (
        "oracle.json line 1: not a playbook-kit journal (no '---' entry found); give "
        "Journal the project's journal.yaml, or a path that does not exist yet for a new "
        "journal")


def test_unreadable_path(tmp_path):
    (tmp_path / "journal.yaml").mkdir()
    assert _error(tmp_path) == (
        f"{tmp_path / 'journal.yaml'}: cannot read the journal (Is a directory); check "
        "that the path is a file you may read")


# -- the last entry, rewritten with a valid chain: only the content check can see it

def test_last_round_without_a_goal(jpath):
    def edit(docs):
        del docs[2]["goal"]
        _rehash(docs[2])
    _rewrite(jpath, edit)
    assert _error(jpath) == (
        "journal.yaml line 33: entry 2 (round 2) has no 'goal'; the entry was written by "
        f"hand or by another program: {RESTORE}")


@pytest.mark.parametrize("field, value, problem", [
    ("kind", "note", "has kind 'note'; this playbook-kit knows ['journal', 'round', "
                     "'final_evaluation'] (upgrade playbook-kit if a newer one wrote it)"),
    ("round", 3, "has round=3 where 2 was expected"),
    ("studies", [{"name": "s"}], "has no 'studies[0].n_trials'"),
    ("hyperparameters", {"scientific": ["a"], "nuisance": [1], "fixed": {}},
     "has hyperparameters.nuisance=[1], not a list of strings"),
    ("caveats", {"batch_size": None}, "has caveats={'batch_size': None}, not all strings"),
    ("decision", {"text": "x"}, "has decision={'text': 'x'}, without a recommendation"),
    ("findings", "x", "has findings='x', not a list of strings"),
    ("new_baseline", [1], "has new_baseline=[1], not the type this journal writes"),
])
def test_last_round_with_a_field_the_journal_never_writes(jpath, field, value, problem):
    def edit(docs):
        docs[2][field] = value
        _rehash(docs[2])
    _rewrite(jpath, edit)
    name = "note" if field == "kind" else "round 3" if field == "round" else "round 2"
    assert _error(jpath) == (
        f"journal.yaml line 33: entry 2 ({name}) {problem}; the entry was written by hand "
        f"or by another program: {RESTORE}")


def test_last_final_evaluation_with_a_metric_that_is_not_a_number(jpath):
    Journal(jpath).record_final_evaluation({"a": 1}, "ckpt", {"acc": 0.9})
    start = jpath.read_text().split("\n").index("kind: final_evaluation") - 2

    def edit(docs):
        docs[3]["metrics"] = {"acc": "high"}
        _rehash(docs[3])
    _rewrite(jpath, edit)
    assert _error(jpath) == (
        f"journal.yaml line {start}: entry 3 (final_evaluation) has metrics={{'acc': "
        "'high'}, not all numbers; the entry was written by hand or by another program: "
        f"{RESTORE}")


def test_damaged_journal_is_not_appended_to(jpath):
    j = Journal(jpath)
    damaged = jpath.read_bytes().replace(b"title: T", b"title: U")
    jpath.write_bytes(damaged)
    with pytest.raises(JournalError, match=r"^journal\.yaml line 4: entry 0 \(header"):
        j.add_round("three")
    assert jpath.read_bytes() == damaged


# ------------------------------------------------------------------ escaped reports

SCRIPT = "<script>alert(1)</script>"


def test_every_user_text_in_the_html_report_is_escaped(tmp_path):
    j = Journal(tmp_path / "journal.yaml", title=f"title {SCRIPT}")
    j.add_round(f"goal {SCRIPT}", scientific=[f"sci{SCRIPT}"], nuisance=[f"nui{SCRIPT}"],
                fixed={f"fixed{SCRIPT}": SCRIPT}, caveats={f"fixed{SCRIPT}": SCRIPT},
                studies=[{"name": SCRIPT, "n_trials": 1, "best_objective": 0.5,
                          "objective": SCRIPT, "config": {SCRIPT: SCRIPT},
                          "command": SCRIPT, "notes": SCRIPT}],
                findings=[SCRIPT], decision={"recommendation": SCRIPT, "text": SCRIPT},
                new_baseline={SCRIPT: 1}, notes=f"round note {SCRIPT}")
    j.record_final_evaluation({SCRIPT: 1}, SCRIPT, {SCRIPT: 0.9}, notes=SCRIPT)
    page = j.to_html()
    assert "<script" not in page and "alert(1)</" not in page
    assert ("<p><strong>Notes:</strong> round note &lt;script&gt;alert(1)&lt;/script&gt;"
            "</p>") in page
    assert "<title>title &lt;script&gt;alert(1)&lt;/script&gt;</title>" in page
    # title twice (<title>, <h1>); goal, 2 names; fixed name and value twice (list,
    # caveat); study: name, objective, config key and value, command, notes; finding;
    # decision: recommendation, text; baseline key; round notes; final: config key,
    # checkpoint, metric name, notes
    assert len(re.findall(r"&lt;script&gt;alert\(1\)&lt;/script&gt;", page)) == 24


def test_markdown_in_notes_is_rendered_but_unsafe_links_are_not(tmp_path):
    j = Journal(tmp_path / "journal.yaml")
    j.add_round("goal", notes="**bold** `code`\n[x](javascript:alert(1))")
    page = j.to_html()
    assert ("<p><strong>Notes:</strong> <strong>bold</strong> <code>code</code><br>"
            "[x](javascript:alert(1))</p>") in page


def test_html_report_embeds_a_matplotlib_figure(tmp_path):
    import base64

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1, 1))
    plt.close(fig)
    j = Journal(tmp_path / "journal.yaml")
    j.add_round("goal")
    (data,) = re.findall(r'<img alt="round 1 figure 1" src="data:image/png;base64,([^"]+)">',
                         j.to_html(figures={1: fig}))
    assert base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n")
