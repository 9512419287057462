"""The tuning journal: append-only YAML, hash chain, validation, tracking sheet, reports."""
import base64
import json
import os
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402

from playbook_kit import journal as journal_mod  # noqa: E402
from playbook_kit.decisions.adoption import adoption_decision  # noqa: E402
from playbook_kit.journal import (  # noqa: E402
    SCHEMA_VERSION, TRACKING_COLUMNS, Journal, JournalError, decision_method, study_record)
from playbook_kit.results.study_results import StudyResults  # noqa: E402


def _study(name="wd_0", **kw):
    s = {"name": name, "path": f"runs/{name}", "n_trials": 20, "best_objective": 0.81,
         "config": {"learning_rate": 1e-3, "weight_decay": 0.0},
         "command": f"playbook-kit study run {name}.yaml"}
    s.update(kw)
    return s


def _round(j, goal="Does weight decay help?", **kw):
    args = dict(scientific=["weight_decay"], nuisance=["learning_rate", "beta1"],
                fixed={"batch_size": 128, "optimizer": "adam"},
                studies=[_study("wd_0"), _study("wd_1e-4", best_objective=0.83,
                                                config=None, config_path="cfg/wd.yaml")],
                findings=["weight decay 1e-4 beats none", "best lr not at the edge"],
                decision={"recommendation": "adopt", "text": "gain 0.02 > variance"},
                new_baseline={"learning_rate": 1e-3, "weight_decay": 1e-4},
                notes="first round")
    args.update(kw)
    return j.add_round(goal, **args)


@pytest.fixture
def jpath(tmp_path):
    return tmp_path / "work" / "journal.yaml"


def _line_of(text, needle):
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# ----------------------------------------------------------------- writing, reading

def test_rounds_round_trip_through_the_file(jpath):
    j = Journal(jpath)
    assert j.rounds == [] and not jpath.exists()
    assert _round(j) == 1
    assert _round(j, goal="Is a cosine schedule better?", decision="keep baseline",
                  new_baseline=None) == 2
    again = Journal(jpath)
    assert [r["round"] for r in again.rounds] == [1, 2]
    r1 = again.rounds[0]
    assert r1["goal"] == "Does weight decay help?"
    assert r1["hyperparameters"] == {"scientific": ["weight_decay"],
                                     "nuisance": ["learning_rate", "beta1"],
                                     "fixed": {"batch_size": 128, "optimizer": "adam"}}
    assert r1["caveats"]["batch_size"] == "fixed at 128: conclusions hold only for this value"
    assert r1["studies"][1]["config_path"] == "cfg/wd.yaml"
    assert r1["decision"]["recommendation"] == "adopt"
    assert again.baseline == {"learning_rate": 1e-3, "weight_decay": 1e-4}
    assert len(again) == 2


def test_file_is_plain_multi_document_yaml_with_schema_version(jpath):
    j = Journal(jpath, title="CIFAR-10 ResNet")
    _round(j)
    docs = list(yaml.safe_load_all(jpath.read_text()))
    assert [d["kind"] for d in docs] == ["journal", "round"]
    assert all(d["schema_version"] == SCHEMA_VERSION for d in docs)
    assert docs[0]["title"] == "CIFAR-10 ResNet" and docs[0]["prev_hash"] is None
    assert docs[1]["prev_hash"] == docs[0]["hash"]
    assert Journal(jpath).title == "CIFAR-10 ResNet"


def test_folder_path_uses_journal_yaml(tmp_path):
    _round(Journal(tmp_path))
    assert (tmp_path / "journal.yaml").is_file()
    assert Journal(tmp_path / "new_project").path == tmp_path / "new_project" / "journal.yaml"
    assert Journal(tmp_path / "j.yml").path == tmp_path / "j.yml"
    with pytest.raises(ValueError, match="title=''"):
        Journal(tmp_path, title="")


def test_append_keeps_earlier_bytes_as_prefix(jpath):
    j = Journal(jpath)
    _round(j)
    before = jpath.read_bytes()
    _round(j, goal="round two")
    j.record_final_evaluation({"learning_rate": 1e-3}, "ckpt/best.keras",
                              {"test_accuracy": 0.91})
    after = jpath.read_bytes()
    assert after.startswith(before) and len(after) > len(before)


def test_two_journal_objects_on_one_file_both_append(jpath):
    a, b = Journal(jpath), Journal(jpath)
    assert _round(a) == 1
    assert _round(b, goal="second") == 2  # b re-reads the file before appending
    assert [r["goal"] for r in Journal(jpath).rounds] == ["Does weight decay help?", "second"]


def test_multiline_text_with_document_marker_survives(jpath):
    notes = "line one\n---\nline three"
    _round(Journal(jpath), notes=notes, findings=["a\n---\nb"])
    r = Journal(jpath).rounds[0]
    assert r["notes"] == notes and r["findings"] == ["a\n---\nb"]


def test_unusual_characters_round_trip(jpath):
    texts = ["NEL\x85inside", "a\u2028b\n---\nc", "cr\rlf\r\n", "tab\tform\x0cfeed",
             "yes", "2024-01-01", "é 日本", "\n\nleading", "trailing  \n"]
    j = Journal(jpath)
    for t in texts:
        _round(j, goal=t, notes=t, findings=[t], fixed={t: float("nan")}, caveats={})
    back = Journal(jpath).rounds
    assert [r["notes"] for r in back] == texts
    assert [list(r["hyperparameters"]["fixed"]) for r in back] == [[t] for t in texts]


def test_adoption_decision_object_is_recorded(jpath):
    d = adoption_decision([0.80, 0.81, 0.79], [0.85, 0.86, 0.84], n_boot=200)
    _round(Journal(jpath), decision=d)
    journal = Journal(jpath)
    stored = journal.rounds[0]["decision"]
    assert stored["recommendation"] == "adopt" and stored["text"] == d.reason
    assert stored["details"]["difference"] == pytest.approx(d.difference)
    assert stored["details"]["baseline"]["n"] == 3
    assert stored["details"]["method"] == "welch_t" and stored["details"]["n_boot"] is None
    assert stored["details"]["min_detectable_gain"] == pytest.approx(d.min_detectable_gain)
    assert decision_method(stored) == "welch_t"
    assert "**Decision:** **\u2713 adopt** (Welch t interval) -- Adopt: the whole 95% Welch t " \
           "interval" in journal.to_markdown()
    assert "<strong>\u2713 adopt</strong> (Welch t interval) -- Adopt:" in journal.to_html()


BEFORE_ISSUE_20 = Path(__file__).with_name("journal_before_issue_20.yaml")


def test_a_journal_written_before_the_method_was_stored_keeps_its_methods(tmp_path):
    """The file playbook-kit wrote before decisions stored their method (its adoption
    rule: the percentile bootstrap, at 3 seeds a side): it loads, its decision is
    reported with the method it was made with, and new rounds append to it."""
    path = tmp_path / "journal.yaml"
    path.write_bytes(BEFORE_ISSUE_20.read_bytes())
    journal = Journal(path)
    old, by_hand = (r["decision"] for r in journal.rounds)
    assert "method" not in old["details"] and old["details"]["n_boot"] == 1000
    assert (decision_method(old), decision_method(by_hand)) == ("percentile_bootstrap", None)
    markdown = journal.to_markdown()
    assert "**Decision:** **\u2713 adopt** (percentile bootstrap interval) -- Adopt: the whole 95% " \
           "interval" in markdown
    assert "**Decision:** **\u2717 keep baseline** -- by eye" in markdown
    assert "<strong>\u2713 adopt</strong> (percentile bootstrap interval) --" in journal.to_html()
    # the same runs today: the legacy method reproduces the recorded decision, the
    # calibrated rule cannot tell the gain from retrain variance at 3 seeds
    runs = ([0.80, 0.81, 0.79], [0.82, 0.83, 0.81])
    again = adoption_decision(*runs, n_boot=1000, method=decision_method(old))
    assert (again.recommendation, again.ci_low, again.ci_high) == (
        "adopt", pytest.approx(old["details"]["ci_low"]),
        pytest.approx(old["details"]["ci_high"]))
    now = adoption_decision(*runs)
    assert now.recommendation == "inconclusive: run more seeds"
    journal.add_round("the same question with the calibrated rule", decision=now)
    back = Journal(path)
    assert [decision_method(r["decision"]) for r in back.rounds] == [
        "percentile_bootstrap", None, "welch_t"]
    assert back.baseline == {"depth": 2}


def test_final_evaluation(jpath):
    j = Journal(jpath)
    _round(j)
    assert j.record_final_evaluation("cfg/final.yaml", "ckpt/best", {"test_acc": 0.9}) == 2
    assert len(j.rounds) == 1
    (final,) = Journal(jpath).final_evaluations
    assert final["config"] == "cfg/final.yaml" and final["metrics"] == {"test_acc": 0.9}
    with pytest.raises(ValueError, match="metrics"):
        j.record_final_evaluation({}, "ckpt", {})
    with pytest.raises(ValueError, match="checkpoint"):
        j.record_final_evaluation({}, "", {"a": 1.0})


# ------------------------------------------------------------------------ validation

@pytest.mark.parametrize("kwargs, pattern", [
    (dict(goal="  "), r"goal='  ': must be a non-empty string"),
    (dict(nuisance=["weight_decay"]), r"scientific and nuisance: \['weight_decay'\]"),
    (dict(fixed={"learning_rate": 0.1}), r"nuisance and fixed: \['learning_rate'\]"),
    (dict(scientific="weight_decay"), r"scientific='weight_decay': must be a list"),
    (dict(caveats={"beta1": "x"}), r"caveats: \['beta1'\] are not fixed"),
    (dict(studies=[_study(command="")]), r"studies\[0\]\.command .*non-empty"),
    (dict(studies=[_study(n_trials=-1)]), r"studies\[0\]\.n_trials=-1"),
    (dict(studies=[_study(config=None)]), r"studies\[0\]: give exactly one of config_path"),
    (dict(studies=[_study(confg={})]), r"studies\[0\]: unknown keys \['confg'\]"),
    (dict(studies=[_study(), _study()]), r"names \['wd_0'\] appear more than once"),
    (dict(decision=3), r"decision=3"),
    (dict(new_baseline=[1]), r"new_baseline=\[1\]: must be a dict"),
    (dict(new_baseline=None), r"new_baseline=None: the decision is 'adopt'"),
    (dict(decision="keep baseline"), r"new_baseline=.*'keep baseline', so new_baseline"),
    (dict(new_baseline={"f": object()}), r"new_baseline\['f'\]=.*cannot be stored"),
])
def test_invalid_round_is_rejected_before_writing(jpath, kwargs, pattern):
    j = Journal(jpath)
    goal = kwargs.pop("goal", "valid goal")
    with pytest.raises(ValueError, match=pattern):
        _round(j, goal=goal, **kwargs)
    assert not jpath.exists()
    _round(j)
    before = jpath.read_bytes()
    with pytest.raises(ValueError):
        _round(j, goal=goal, **kwargs)
    assert jpath.read_bytes() == before


def test_custom_caveat_replaces_default(jpath):
    _round(Journal(jpath), caveats={"optimizer": "Adam only; SGD untested"})
    cav = Journal(jpath).rounds[0]["caveats"]
    assert cav["optimizer"] == "Adam only; SGD untested"
    assert cav["batch_size"].startswith("fixed at 128")


# ---------------------------------------------------------------- tamper detection

def test_hand_edit_of_past_round_names_its_line(jpath):
    j = Journal(jpath)
    _round(j)
    _round(j, goal="round two")
    text = jpath.read_text()
    assert "best_objective: 0.81" in text
    edited = text.replace("best_objective: 0.81", "best_objective: 0.91", 1)
    jpath.write_text(edited)
    round1_start = _line_of(edited, "entry: 1") - 2  # its "---" line
    with pytest.raises(JournalError, match=rf"^journal\.yaml line {round1_start}: entry 1 "
                                           r"\(round 1, lines \d+-\d+\) was changed"):
        Journal(jpath)


def test_deleted_round_breaks_the_chain(jpath):
    j = Journal(jpath)
    for g in ("one", "two", "three"):
        _round(j, goal=g)
    docs = re.split(r"(?m)^(?=---$)", jpath.read_text())  # comment, header, r1, r2, r3
    jpath.write_text("".join(docs[:2] + docs[3:]))
    with pytest.raises(JournalError, match=r"line \d+: entry number 2 where 1 was expected"):
        Journal(jpath)


def test_truncated_file_is_detected(jpath):
    j = Journal(jpath)
    _round(j)
    _round(j, goal="two")
    text = jpath.read_text()
    cut = text[: text.rindex("prev_hash:")]  # e.g. a copy interrupted mid-file
    jpath.write_text(cut)
    start = cut[: cut.rindex("---\n")].count("\n") + 1
    with pytest.raises(JournalError, match=rf"^journal\.yaml line {start}: entry 2 "
                                           r"\(round 2\) has no 'prev_hash'"):
        Journal(jpath)


def test_invalid_yaml_names_the_line(jpath):
    _round(Journal(jpath))
    text = jpath.read_text()
    start = text.count("\n") + 1
    jpath.write_text(text + "---\nkind: round\n  bad: indent\n")
    with pytest.raises(JournalError, match=rf"^journal\.yaml line {start + 2}: not valid "
                                           rf"YAML .* entry 2, which starts at line {start}"):
        Journal(jpath)


def test_newer_schema_version_is_refused(jpath):
    _round(Journal(jpath))
    docs = list(yaml.safe_load_all(jpath.read_text()))
    extra = {"schema_version": SCHEMA_VERSION + 1, "entry": 2, "kind": "round",
             "prev_hash": docs[-1]["hash"]}
    extra["hash"] = journal_mod._entry_hash(extra)
    with open(jpath, "a") as fh:
        fh.write(journal_mod._dump_entry(extra))
    with pytest.raises(JournalError, match="newer than this playbook-kit"):
        Journal(jpath)


def test_appending_to_a_corrupt_journal_is_refused(jpath):
    j = Journal(jpath)
    _round(j)
    corrupt = jpath.read_text().replace("goal: Does", "goal: Did")
    jpath.write_text(corrupt)
    with pytest.raises(JournalError, match="was changed"):
        _round(j, goal="two")
    assert jpath.read_text() == corrupt


# ------------------------------------------------------------- crash-safe writes

@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_failed_write_leaves_file_intact(jpath, monkeypatch, failing):
    j = Journal(jpath)
    _round(j)
    before = jpath.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(journal_mod.os, failing, boom)
    with pytest.raises(OSError, match="disk full"):
        _round(j, goal="two")
    monkeypatch.undo()
    assert jpath.read_bytes() == before
    assert sorted(p.name for p in jpath.parent.iterdir()) == ["journal.yaml"]
    assert [r["round"] for r in Journal(jpath).rounds] == [1]
    assert _round(j, goal="two") == 2


def test_write_interrupted_mid_file_leaves_file_intact(jpath, monkeypatch):
    j = Journal(jpath)
    _round(j)
    before = jpath.read_bytes()
    real_fdopen = os.fdopen

    class HalfWriter:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, data):
            self.fh.write(data[: len(data) // 2])
            raise KeyboardInterrupt  # e.g. the notebook kernel interrupted mid-write

    monkeypatch.setattr(journal_mod.os, "fdopen", lambda *a, **k: HalfWriter(real_fdopen(*a, **k)))
    with pytest.raises(KeyboardInterrupt):
        _round(j, goal="two")
    monkeypatch.undo()
    assert jpath.read_bytes() == before
    assert sorted(p.name for p in jpath.parent.iterdir()) == ["journal.yaml"]


def test_file_changed_during_write_is_refused(jpath, monkeypatch):
    j = Journal(jpath)
    _round(j)
    real_fsync = os.fsync

    def fsync_then_other_writer(fd):
        real_fsync(fd)
        with open(jpath, "ab") as fh:
            fh.write(b"# someone else\n")

    monkeypatch.setattr(journal_mod.os, "fsync", fsync_then_other_writer)
    with pytest.raises(JournalError, match="changed on disk"):
        _round(j, goal="two")
    monkeypatch.undo()
    assert jpath.read_bytes().endswith(b"# someone else\n")


# ----------------------------------------------------------------------- exports

def test_tracking_sheet_csv(jpath, tmp_path):
    j = Journal(jpath)
    _round(j)
    _round(j, goal="Is a cosine schedule better?",
           studies=[_study("cosine", n_trials=12, best_objective=None, notes="3 diverged")])
    out = tmp_path / "sheet" / "tracking.csv"
    sheet = j.to_tracking_sheet(out)
    back = pd.read_csv(out)
    assert list(back.columns) == TRACKING_COLUMNS == list(sheet.columns)
    assert list(back["study name"]) == ["wd_0", "wd_1e-4", "cosine"]
    assert list(back["round"]) == [1, 1, 2]
    assert json.loads(back["config"][0]) == {"learning_rate": 1e-3, "weight_decay": 0.0}
    assert back["config"][1] == "cfg/wd.yaml"
    assert list(back["number of trials"]) == [20, 20, 12]
    assert back["best validation result"][1] == 0.83
    assert pd.isna(back["best validation result"][2])
    assert back["notes"][0] == "round 1: Does weight decay help?"
    assert back["notes"][2] == "3 diverged"
    assert back["command to reproduce"][2] == "playbook-kit study run cosine.yaml"


def test_study_record_from_study_results(jpath):
    trials = pd.DataFrame({"trial_id": ["0", "1"], "status": ["completed", "completed"],
                           "objective": [0.7, 0.8], "learning_rate": [0.1, 0.01],
                           "momentum": [float("nan"), 0.9]})
    hps = pd.DataFrame({"name": ["learning_rate", "momentum"]})
    study = StudyResults(name="lr", trials=trials, curves=pd.DataFrame(),
                         hyperparameters=hps, objective="val_accuracy", path="runs/lr")
    rec = study_record(study, command="playbook-kit study run lr.yaml")
    assert rec["config"] == {"learning_rate": 0.01, "momentum": 0.9}
    assert rec["n_trials"] == 2 and rec["best_objective"] == 0.8
    _round(Journal(jpath), studies=[rec])
    assert Journal(jpath).rounds[0]["studies"][0]["objective"] == "val_accuracy"


def test_markdown_report(jpath, tmp_path):
    j = Journal(jpath, title="Workshop")
    _round(j)
    j.record_final_evaluation({"learning_rate": 1e-3}, "ckpt/best", {"test_accuracy": 0.9})
    md = j.to_markdown(tmp_path / "report.md")
    assert (tmp_path / "report.md").read_text() == md
    assert md.startswith("# Workshop")
    assert "## Round 1: Does weight decay help?" in md
    assert "**Decision:** **\u2713 adopt** -- gain 0.02 > variance" in md
    assert "| wd_1e-4 | 20 | 0.83 | cfg/wd.yaml |" in md
    # configs as tables, not JSON strings: hyperparameter, value, role, the tuned ones first
    assert ("| wd_0 | 20 | 0.81 | weight_decay=0 (scientific)<br>learning_rate=0.001 "
            "(nuisance) |") in md
    assert ("**New baseline:**\n\n| hyperparameter | value | role |\n|---|---|---|\n"
            "| weight_decay | 0.0001 | scientific |\n| learning_rate | 0.001 | nuisance |") in md
    assert "**Config:**\n\n| hyperparameter | value |\n|---|---|\n| learning_rate | 0.001 |" in md
    assert "{" not in md
    assert "`batch_size` fixed at 128" in md
    assert "## Final evaluation" in md and "test_accuracy:** 0.9" in md


def test_html_report_shows_configs_as_tables_with_roles(jpath):
    j = Journal(jpath)
    _round(j, new_baseline={"learning_rate": 1e-3, "width": 64, "weight_decay": 1e-4})
    j.record_final_evaluation({"learning_rate": 1e-3}, "ckpt/best", {"test_accuracy": 0.9})
    page = j.to_html()
    rows = re.findall(r"<tr><td>(\w+)</td><td>([\w.]+)</td>(?:<td>([\w ()]+)</td>)?</tr>", page)
    assert rows == [("weight_decay", "0", "scientific"), ("learning_rate", "0.001", "nuisance"),
                    ("weight_decay", "0.0001", "scientific"),
                    ("learning_rate", "0.001", "nuisance"), ("width", "64", "fixed (default)"),
                    ("learning_rate", "0.001", "")]
    assert "<summary>2 hyperparameters</summary>" in page and "{&#34;" not in page


def test_html_report_embeds_figures(jpath, tmp_path):
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    png = tmp_path / "axis_plot.png"
    fig.savefig(png)
    plt.close(fig)
    j = Journal(jpath)
    _round(j, goal="a <b> & c")
    _round(j, goal="two", figures=[png], notes="two\nlines")
    page = j.to_html(tmp_path / "report.html", figures={1: png})
    assert "two<br>lines" in page
    assert page == (tmp_path / "report.html").read_text()
    assert "a &lt;b&gt; &amp; c" in page and "<b>" not in page
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(embedded) == 2
    assert base64.b64decode(embedded[0]) == png.read_bytes()
    assert "<table>" in page and "<h2>Round 1" in page
    with pytest.raises(ValueError, match=r"figures\[3\]: no such round"):
        j.to_html(figures={3: png})
    with pytest.raises(ValueError, match="does not exist"):
        j.to_html(figures={1: tmp_path / "missing.png"})
    (tmp_path / "not.png").write_text("hello")
    with pytest.raises(ValueError, match="is not a PNG"):
        j.to_html(figures={1: tmp_path / "not.png"})
    with pytest.raises(ValueError, match=r"figures\[0\]: .*is not a PNG"):
        _round(j, goal="three", figures=[tmp_path / "not.png"])
    assert len(Journal(jpath)) == 2


def test_round_figures_are_stored_relative_to_the_journal(jpath):
    jpath.parent.mkdir(parents=True)
    png = jpath.parent / "figs" / "axis.png"
    png.parent.mkdir()
    fig, ax = plt.subplots(figsize=(1, 1))
    fig.savefig(png)
    plt.close(fig)
    j = Journal(jpath)
    _round(j, figures=[png])
    assert j.rounds[0]["figures"] == ["figs/axis.png"]
    png.unlink()  # a figure that moved later is reported in the page, not fatal
    assert "figure 1 not found: figs/axis.png" in j.to_html()


# ------------------------------------------------------- the hash chain itself

def _rewrite(jpath, edit):
    """Apply ``edit(entries)`` to the parsed entries and write them back as the toolkit
    would, each edited entry with its own hash recomputed (a careful forger's edit)."""
    entries = list(yaml.safe_load_all(jpath.read_text()))
    for k in edit(entries):
        entries[k]["hash"] = journal_mod._entry_hash(entries[k])
    jpath.write_text(journal_mod._HEADER_COMMENT
                     + "".join(journal_mod._dump_entry(e) for e in entries))
    return jpath.read_text()


def _starts(text):
    """Line number of each entry's '---' line."""
    return [i for i, line in enumerate(text.split("\n"), 1) if line == "---"]


def _three_rounds(jpath):
    j = Journal(jpath)
    for goal in ("one", "two", "three"):
        _round(j, goal=goal)


def test_past_round_edited_with_its_own_hash_recomputed_breaks_the_next_link(jpath):
    _three_rounds(jpath)

    def edit(entries):
        entries[1]["studies"][0]["best_objective"] = 0.99
        return [1]
    text = _rewrite(jpath, edit)
    assert "best_objective: 0.99" in text
    with pytest.raises(JournalError, match=(
            rf"^journal\.yaml line {_starts(text)[2]}: entry 2 \(round 2\) does not follow "
            r"entry 1 \(prev_hash mismatch\); an entry was removed, reordered or inserted "
            r"by hand, or entry 1 was changed and its hash recomputed: restore the file")):
        Journal(jpath)


def test_header_edit_is_detected_with_or_without_its_hash_recomputed(jpath):
    _three_rounds(jpath)
    original = jpath.read_text()
    jpath.write_text(original.replace("title: tuning journal", "title: another project", 1))
    with pytest.raises(JournalError, match=(
            rf"^journal\.yaml line {_starts(original)[0]}: entry 0 \(header, lines \d+-\d+\) "
            r"was changed after it was written")):
        Journal(jpath)
    jpath.write_text(original)

    def edit(entries):
        entries[0]["title"] = "another project"
        return [0]
    text = _rewrite(jpath, edit)
    with pytest.raises(JournalError, match=(
            rf"^journal\.yaml line {_starts(text)[1]}: entry 1 \(round 1\) does not follow "
            r"entry 0 \(prev_hash mismatch\)")):
        Journal(jpath)


def test_reordered_rounds_are_detected_even_when_renumbered_and_rehashed(jpath):
    _three_rounds(jpath)
    original = jpath.read_text()
    docs = re.split(r"(?m)^(?=---$)", original)  # comment, header, r1, r2, r3
    jpath.write_text("".join([docs[0], docs[1], docs[3], docs[2], docs[4]]))
    with pytest.raises(JournalError, match=(
            rf"^journal\.yaml line {_starts(original)[1]}: entry number 2 where 1 was "
            r"expected; an entry was removed, reordered or inserted by hand")):
        Journal(jpath)
    jpath.write_text(original)

    def swap(entries):
        entries[1], entries[2] = entries[2], entries[1]
        for k in (1, 2):
            entries[k]["entry"] = entries[k]["round"] = k
        return [1, 2]
    text = _rewrite(jpath, swap)
    assert [e.get("goal") for e in yaml.safe_load_all(text)] == [None, "two", "one", "three"]
    with pytest.raises(JournalError, match=(
            rf"^journal\.yaml line {_starts(text)[1]}: entry 1 \(round 1\) does not follow "
            r"entry 0 \(prev_hash mismatch\)")):
        Journal(jpath)


def test_removed_round_is_detected_even_when_the_rest_are_renumbered_and_rehashed(jpath):
    _three_rounds(jpath)

    def drop_round_two(entries):
        del entries[2]
        entries[2]["entry"] = entries[2]["round"] = 2
        return [2]
    text = _rewrite(jpath, drop_round_two)
    with pytest.raises(JournalError, match=(
            rf"^journal\.yaml line {_starts(text)[2]}: entry 2 \(round 2\) does not follow "
            r"entry 1 \(prev_hash mismatch\)")):
        Journal(jpath)


def test_text_before_the_first_entry_is_refused(jpath):
    _three_rounds(jpath)
    original = jpath.read_text()
    jpath.write_text("# a comment is allowed\n\nnote: added by hand\n" + original)
    with pytest.raises(JournalError, match=(
            r"^journal\.yaml line 3: text before the first entry \('---'\); only comments "
            r"are allowed there")):
        Journal(jpath)
    jpath.write_text("# only a comment\n\n" + original)
    assert [r["goal"] for r in Journal(jpath).rounds] == ["one", "two", "three"]
    jpath.write_text("round: 1\ngoal: a journal without entries\n")
    with pytest.raises(JournalError, match=(
            r"^journal\.yaml line 1: not a playbook-kit journal \(no '---' entry found\)")):
        Journal(jpath)


def test_file_that_is_not_utf8_is_refused_with_its_line(jpath):
    _three_rounds(jpath)
    data = jpath.read_bytes()
    at = data.index(b"goal: two")
    jpath.write_bytes(data[:at] + b"goal: \xe9t\xe9\n" + data[at:])
    line = data[:at].count(b"\n") + 1
    with pytest.raises(JournalError, match=rf"^journal\.yaml line {line}: not UTF-8 text"):
        Journal(jpath)
