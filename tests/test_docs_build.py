"""The documentation site builds (``make docs``) with warnings as errors: every reference
resolves, every exported name has its page, the guided notebooks show a tour's outputs;
and a broken reference, a dead internal link or an exported name without its docstring's
sections fails the build, naming the file and the line."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import playbook_kit as pk

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
pytestmark = pytest.mark.docs


def sphinx(source: Path, output: Path, *options, env=None) -> subprocess.CompletedProcess:
    """``make docs``' build: nitpicky, warnings as errors, the configuration of docs/."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3",
                   **(env or {})}
    return subprocess.run([sys.executable, "-m", "sphinx", "-W", "-n", "--keep-going", "-q",
                           "-b", "html", "-c", str(DOCS), *options, str(source), str(output)],
                          env=environment, capture_output=True, text=True, timeout=900)


def warnings_of(done) -> list[str]:
    return [line for line in done.stderr.splitlines() if "WARNING" in line
            and "absl::InitializeLog" not in line]


@pytest.mark.xdist_group("fresh_environment")   # the wheel's tour, in that session
def test_the_site_builds_with_every_exported_name_and_every_notebook(executed_tour, tmp_path):
    """Minutes: the whole site, from a tour's executed notebooks (the wheel test's tour in
    `make test`)."""
    source = tmp_path / "docs"
    for path in DOCS.rglob("*"):
        relative = path.relative_to(DOCS)
        if path.is_file() and relative.parts[0] not in ("_build", "reference", "tour"):
            (source / relative).parent.mkdir(parents=True, exist_ok=True)
            (source / relative).write_bytes(path.read_bytes())
    (tmp_path / "CHANGELOG.md").write_bytes((ROOT / "CHANGELOG.md").read_bytes())
    done = sphinx(source, tmp_path / "html", env={"PLAYBOOK_KIT_TOUR": str(executed_tour)})
    assert done.returncode == 0 and warnings_of(done) == [], done.stderr[-5000:]
    html = tmp_path / "html"
    for name, obj in ((n, getattr(pk, n)) for n in pk._EXPORTS):
        page = (html / "reference" / "generated" / f"playbook_kit.{name}.html").read_text()
        assert "Example" in page, name
        if callable(obj) and not isinstance(obj, type):
            for section in ("Returns", "Raises"):
                assert f">{section}" in page, (name, section)
    quickstart = (html / "tour" / "00_quickstart.html").read_text()
    assert "\u2713 the baseline beats chance (10%) at least three times over" in quickstart
    assert quickstart.count("<img") >= 1, "the tour's figures are on the page"
    assert str(executed_tour) not in quickstart, "outputs show runs/tour-..., not the machine"
    for page in ("index", "install", "notebooks", "benchmarks", "changelog", "WORKSHOP",
                 "guides/own-model-and-data", "guides/studies", "guides/speed"):
        assert (html / f"{page}.html").exists(), page


def small_site(tmp_path, text: str) -> Path:
    source = tmp_path / "src"
    source.mkdir()
    (source / "index.md").write_text(text)
    (source / "other.md").write_text("# Other\n\n## A section\n\nText.\n")
    return source


QUICK = ["-D", "playbook_kit_notebooks=0", "-D", "playbook_kit_api_only=setup"]


def test_a_small_site_of_good_references_builds(tmp_path):
    """The known good answer beside the failures below: the same pages, every target
    there. The page an earlier build generated for a name since renamed (``run_batch``)
    is removed, not left outside every toctree to fail the build."""
    source = small_site(tmp_path, "# Index\n\n```{toctree}\nother\nreference/index\n```\n\n"
                        "{func}`pk.setup <playbook_kit.setup>`, "
                        "{func}`playbook_kit.core.runtime.setup`, [a link](other.md#a-section)\n")
    stale = source / "reference" / "generated" / "playbook_kit.run_batch.rst"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text("playbook\\_kit.run\\_batch\n====================\n")
    done = sphinx(source, tmp_path / "html", *QUICK)
    assert done.returncode == 0 and warnings_of(done) == [], done.stderr[-3000:]
    assert not stale.exists()
    page = (tmp_path / "html" / "index.html").read_text()
    (paragraph,) = re.findall(r"<p>.*?a link.*?</p>", page, re.S)
    assert paragraph.count('href="reference/generated/playbook_kit.setup.html'
                           '#playbook_kit.setup"') == 2, \
        "a module path links to the exported name's page"


def test_a_broken_reference_or_link_fails_the_build_naming_file_and_line(tmp_path):
    """One page, three mistakes on lines 8, 10 and 12: each is named with its line."""
    source = small_site(tmp_path, "# Index\n\n```{toctree}\nother\nreference/index\n```\n\n"
                        "{func}`playbook_kit.no_such_function`\n\n"
                        "[a dead link](missing.md)\n\n"
                        "[a dead anchor](other.md#no-such-section)\n")
    done = sphinx(source, tmp_path / "html", *QUICK)
    assert done.returncode != 0
    found = warnings_of(done)
    for warning in (r"index\.md:8: WARNING: py:func reference target not found: "
                    r"playbook_kit\.no_such_function",
                    r"index\.md:10: WARNING: 'myst' cross-reference target not found: "
                    r"'missing\.md'",
                    r"index\.md:12: WARNING: local id not found in doc 'other': "
                    r"'no-such-section'"):
        assert any(re.search(warning, w) for w in found), (warning, done.stderr[-3000:])


def test_an_exported_name_without_its_docstrings_sections_fails_the_build(tmp_path):
    """``available_cores`` has a one-sentence docstring: exported, the build names what
    its page lacks."""
    source = small_site(tmp_path, "# Index\n\n```{toctree}\nother\nreference/index\n```\n")
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import playbook_kit\nplaybook_kit._EXPORTS['available_cores'] = 'core.runtime'\n")
    done = sphinx(source, tmp_path / "html", "-D", "playbook_kit_notebooks=0", "-D",
                  "playbook_kit_api_only=available_cores",
                  env={"PYTHONPATH": os.pathsep.join([str(hook), str(ROOT)])})
    assert done.returncode != 0
    found = warnings_of(done)
    assert any(re.search(r"WARNING: playbook_kit\.available_cores: the docstring has no "
                         r"Returns: section", w) for w in found), done.stderr[-3000:]
    assert any("has no Example: section" in w for w in found)
