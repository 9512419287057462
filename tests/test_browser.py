"""Every guided notebook runs in JupyterLab in a real (headless) browser: all cells execute,
every output renders, none is an error, no table shows a cell cut short ("..."), and the
widgets appear.

JupyterLab serves a temporary copy of notebooks/ on 127.0.0.1 (so nothing is written into
the repository); Chromium, driven by selenium, opens each notebook in teaching order in one
server (03 and 04 read the studies that 01 and 02 write), runs all cells and saves a
full-notebook screenshot to runs/browser/<notebook>.png.
"""
import ast
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from playbook_kit.teaching.notebooks import list_notebooks

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "runs" / "browser"
NOTEBOOKS = list_notebooks(ROOT / "notebooks")
INSTALL = ("sudo apt-get install chromium chromium-driver  (Debian/Ubuntu; selenium comes "
           "with pip install -e '.[test]')")
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--window-size=1400,1000"]
STUDY_NOTEBOOKS = ("01", "02", "03", "04", "07")
"""The notebooks whose studies (the round of notebooks/studies/depth.yaml, and 07's studies
of its own workloads) the browser test reuses from nbval's run."""
SERVER_START_S = 120
NOTEBOOK_RUN_S = 900
SCREENSHOT_MAX_HEIGHT = 16000

# JupyterLab user settings: every cell stays in the page (no windowing), so that outputs
# can be checked and photographed; no news or update toasts over the notebook.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
}

pytestmark = pytest.mark.browser


def find_browser() -> tuple[str, str] | str:
    """(chromium, chromedriver) paths, or why there is no browser to drive."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed"
    chromium = next(filter(None, map(shutil.which, ["chromium", "chromium-browser"])), None)
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        return f"chromium={chromium}, chromedriver={driver}"
    return chromium, driver


def require_browser() -> tuple[str, str]:
    """The browser's paths; without one, skip saying how to install it, or fail in CI."""
    found = find_browser()
    if isinstance(found, str):
        message = f"no headless browser for the notebook checks ({found}); install: {INSTALL}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must run the browser checks: {message}")
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def browser_paths():
    return require_browser()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def lab_environment(home: Path) -> dict:
    """The server's (and so the kernels') environment: the worktree's package first, Jupyter
    state in a temporary folder, matplotlib's inline backend as a user would have it."""
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(TF_CPP_MIN_LOG_LEVEL="2", PYTHONHASHSEED="0",
               JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"), IPYTHONDIR=str(home / "ipython"))
    for name, values in LAB_SETTINGS.items():
        path = home / "settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    return env


class Lab:
    """A JupyterLab server on the loopback address, with its token."""

    def __init__(self, root_dir: Path, home: Path):
        self.root = root_dir
        self.port, self.token = free_port(), secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (home / "lab.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
             f"--port={self.port}", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={root_dir}", "--ServerApp.port_retries=0",
             "--LabApp.expose_app_in_browser=True", "--allow-root"],
            cwd=root_dir, env=lab_environment(home), stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.process.returncode}; "
                                   f"see {home / 'lab.log'}")
            try:
                self.api("status")
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(f"{self.url}/api/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shut_down_kernels(self):
        for session in self.api("sessions"):
            self.api(f"sessions/{session['id']}", method="DELETE")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def lab(browser_paths, tmp_path_factory, nbval_studies):
    """The server, on a copy of notebooks/. When nbval already ran 01-04 and 07 in this
    session, their studies are copied beside it (where the notebooks' ``study_dir`` points), so
    the notebooks resume them, as after ``make workshop``, instead of training them a
    second time (07's too); 00, 05 and 06 train what they train either way."""
    work = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", work / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    studies = nbval_studies([p.stem for p in NOTEBOOKS if p.stem[:2] in STUDY_NOTEBOOKS])
    if studies is not None:
        shutil.copytree(studies, work / "runs" / "notebooks" / "studies",
                        ignore=shutil.ignore_patterns("journal.yaml"))
    server = Lab(work / "notebooks", work)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def chromium(browser_paths, tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = browser_paths
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


@pytest.mark.parametrize("ci", ["", "false"])
def test_without_a_browser_the_check_is_skipped_with_the_install_command(monkeypatch, ci):
    monkeypatch.setenv("CI", ci)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pytest.skip.Exception) as skipped:
        require_browser()
    assert str(skipped.value) == (
        "no headless browser for the notebook checks (chromium=None, chromedriver=None); "
        "install: " + INSTALL)


def test_without_a_browser_the_check_fails_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pytest.fail.Exception, match=r"^CI must run the browser checks: no "
                       r"headless browser .*install: sudo apt-get install chromium "
                       r"chromium-driver"):
        require_browser()


# Browser-side: the open notebook panel of `window.jupyterapp` (JupyterLab's application).
PANEL = "const app = window.jupyterapp; const panel = app && app.shell.currentWidget;"

READY = PANEL + """
return Boolean(panel && panel.content && panel.context && panel.context.isReady
    && panel.sessionContext.session && panel.sessionContext.session.kernel
    && panel.sessionContext.session.kernel.status === 'idle'
    && panel.context.path === arguments[0]);
"""

RUN_ALL = PANEL + """
app.shell.collapseLeft();
window.__runAll = {done: false};
app.commands.execute('notebook:run-all-cells').then(
    ok => { window.__runAll = {done: true, ok: ok}; },
    error => { window.__runAll = {done: true, ok: false, error: String(error)}; });
"""

FINISHED = PANEL + """
return window.__runAll.done && panel.sessionContext.session.kernel.status === 'idle'
    ? window.__runAll : null;
"""

# A code cell's rendered output nodes, one per output the kernel sent.
SHOWN = """const shown = cell => Array.from(cell.outputArea.node.querySelectorAll(
    ':scope > .jp-OutputArea-child > .jp-OutputArea-output'));
"""

# Per cell: the model's outputs (what the kernel sent) next to what the page rendered.
CELLS = PANEL + SHOWN + """
return panel.content.widgets.map((cell, index) => {
  const model = cell.model;
  if (model.type !== 'code') return {index: index, type: model.type};
  const rendered = shown(cell).map(node => ({
    mime: node.getAttribute('data-mime-type'),
    height: node.getBoundingClientRect().height,
    text: node.innerText.slice(0, 2000),
    images: node.querySelectorAll('img, svg, canvas').length,
    widgets: node.querySelectorAll('.jupyter-widgets').length,
    dropdowns: Array.from(node.querySelectorAll('.widget-dropdown select')).map(
        select => select.options.length),
    cut: Array.from(node.querySelectorAll('td, th')).map(
        cell => cell.innerText.trim()).filter(text => /(\.\.\.|\u2026)$/.test(text)),
  }));
  return {index: index, type: 'code', source: model.sharedModel.getSource(),
          execution_count: model.executionCount,
          outputs: model.outputs.toJSON().map(output => ({
            output_type: output.output_type, name: output.name || null,
            mimes: Object.keys(output.data || {}), ename: output.ename || null,
            evalue: output.evalue || null})),
          rendered: rendered};
});
"""

CONTENT_HEIGHT = PANEL + """
if (!panel || !panel.content) return 0;
const inner = panel.content.node.querySelector('.jp-WindowedPanel-inner') || panel.content.node;
return inner.scrollHeight + panel.content.node.getBoundingClientRect().top + 200;
"""

TO_TOP = PANEL + """
if (!panel || !panel.content) return;
panel.content.activeCellIndex = 0;
panel.content.deselectAll();
for (const node of [panel.node, ...panel.node.querySelectorAll('*')]) {
  if (node.scrollTop > 0) node.scrollTop = 0;
}
"""

WIDGET = "application/vnd.jupyter.widget-view+json"

# Whether every code cell shows as many outputs as the kernel sent, each widget output
# with its view: widget views render after the kernel went idle.
RENDERED = PANEL + SHOWN + """
return panel.content.widgets.every(cell => {
  if (cell.model.type !== 'code') return true;
  const nodes = shown(cell);
  const outputs = cell.model.outputs.toJSON();
  return nodes.length === outputs.length && outputs.every((output, i) =>
      !(output.data && output.data['""" + WIDGET + """'])
      || nodes[i].querySelectorAll('.jupyter-widgets').length > 0);
});
"""
POLL_S = 0.25
RENDER_S = 10


def wait_for(driver, script, timeout, *args, what="", required=True):
    """The script's first truthy result, polled every :data:`POLL_S`; after ``timeout``
    seconds a TimeoutError naming ``what``, or None when not ``required``."""
    deadline = time.monotonic() + timeout
    while True:
        result = driver.execute_script(script, *args)
        if result:
            return result
        if time.monotonic() > deadline:
            if not required:
                return None
            raise TimeoutError(f"{what} not within {timeout} s")
        time.sleep(POLL_S)


def settled_height(driver, timeout: float = 3.0) -> int:
    """The notebook's content height once two readings :data:`POLL_S` apart agree (the
    layout after a resize), or the last reading after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    height = int(driver.execute_script(CONTENT_HEIGHT))
    while time.monotonic() < deadline:
        time.sleep(POLL_S)
        again = int(driver.execute_script(CONTENT_HEIGHT))
        if again == height:
            break
        height = again
    return height


def run_in_browser(driver, lab, path: str) -> list[dict]:
    """Open the notebook (`path` inside the server's root) in a fresh workspace, run all
    cells, return the cells' state and, last, how the run ended."""
    driver.set_window_size(1400, 1000)
    workspace = Path(path).stem
    driver.get(f"{lab.url}/lab/workspaces/{workspace}/tree/{path}?token={lab.token}")
    wait_for(driver, READY, SERVER_START_S, path, what=f"{path} with a kernel")
    driver.execute_script(RUN_ALL)
    finished = wait_for(driver, FINISHED, NOTEBOOK_RUN_S, what=f"running {path}")
    wait_for(driver, RENDERED, RENDER_S, required=False)  # what is still missing is reported
    cells = driver.execute_script(CELLS)
    cells.append({"run_all": finished})
    return cells


def screenshot(driver, name: str) -> Path:
    """The whole notebook in one picture: the window grows to the notebook's height."""
    height = min(int(driver.execute_script(CONTENT_HEIGHT)), SCREENSHOT_MAX_HEIGHT)
    driver.set_window_size(1400, max(height, 1000))
    settled_height(driver)
    driver.execute_script(TO_TOP)
    time.sleep(POLL_S)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def shows_a_value(source: str) -> bool:
    """Whether a cell ends in a bare name, attribute or subscript: Jupyter displays it."""
    last = ast.parse(source).body[-1]
    return isinstance(last, ast.Expr) and isinstance(last.value,
                                                     (ast.Name, ast.Attribute, ast.Subscript))


def problems_of(cells: list[dict]) -> list[str]:
    """Everything that a reader would see as broken, one line per problem."""
    problems = []
    for cell in cells[:-1]:
        if cell["type"] != "code":
            continue
        where = f"cell {cell['index']} ({cell['source'].splitlines()[0][:60]!r})"
        if cell["execution_count"] is None:
            problems.append(f"{where} did not run")
        elif shows_a_value(cell["source"]) and not cell["rendered"]:
            problems.append(f"{where} shows nothing")
        elif "pk.plot_" in cell["source"] and not any(s["images"] for s in cell["rendered"]):
            problems.append(f"{where} draws no figure")
        for output in cell["outputs"]:
            if output["output_type"] == "error":
                problems.append(f"{where} raised {output['ename']}: {output['evalue']}")
            if output["output_type"] == "stream" and output["name"] == "stderr":
                problems.append(f"{where} wrote to stderr")
        if len(cell["rendered"]) != len(cell["outputs"]):
            problems.append(f"{where}: {len(cell['outputs'])} outputs, "
                            f"{len(cell['rendered'])} rendered")
        for output, shown in zip(cell["outputs"], cell["rendered"]):
            if shown["height"] < 1:
                problems.append(f"{where}: an output of type {shown['mime']} has no height")
            if shown["mime"] == "application/vnd.jupyter.stderr":
                problems.append(f"{where} shows an error: {shown['text'][:300]}")
            if WIDGET in output["mimes"] and shown["widgets"] == 0:
                problems.append(f"{where}: a widget did not render: {shown['text'][:200]!r}")
            if shown.get("cut"):
                problems.append(f"{where}: {len(shown['cut'])} table cell(s) end in a "
                                f"truncation mark, first {shown['cut'][0]!r}")
    return problems


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_renders_in_jupyterlab(chromium, lab, notebook):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        cells = run_in_browser(chromium, lab, notebook.name)
        (SCREENSHOTS / f"{notebook.stem}.json").write_text(json.dumps(cells, indent=1))
    finally:
        picture = screenshot(chromium, notebook.stem)
        lab.shut_down_kernels()
    code = [c for c in cells[:-1] if c["type"] == "code"]
    assert len(code) == sum(c["cell_type"] == "code"
                            for c in json.loads(notebook.read_text())["cells"])
    assert problems_of(cells) == [], f"see {picture}"
    assert cells[-1]["run_all"] == {"done": True, "ok": True}
    shown = [s for c in code for s in c["rendered"]]
    assert sum(s["images"] for s in shown) >= 1, "every guided notebook draws a figure"
    browsers = [c for c in code if "pk.trial_browser(" in c["source"]]
    assert len(browsers) == ("pk.trial_browser(" in notebook.read_text())
    options = [n for c in browsers for s in c["rendered"] for n in s["dropdowns"]]
    drawn = [sum(s["images"] for s in c["rendered"]) for c in browsers]
    assert len(options) == len(browsers), "each trial browser shows its dropdown"
    assert all(n >= 2 for n in options), f"the trial browser lists the trials: {options}"
    assert all(n >= 1 for n in drawn), "and draws the chosen trial"


def test_the_check_reports_an_error_and_the_cells_it_stopped(chromium, lab):
    """Known answer: a notebook that shows nothing where it should, shows a table pandas
    cut (no pk.setup), raises, and so never reaches its last cell."""
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("A notebook that breaks"),
        nbformat.v4.new_code_cell("print('fine')"),
        nbformat.v4.new_code_cell("nothing = None\nnothing"),
        nbformat.v4.new_code_cell("import pandas as pd\n"
                                  "pd.DataFrame({'reason': ['x' * 60]})"),
        nbformat.v4.new_code_cell("1 / 0"),
        nbformat.v4.new_code_cell("'never reached'"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}})
    (lab.root / "selfcheck").mkdir()
    nbformat.write(notebook, lab.root / "selfcheck" / "broken.ipynb")
    try:
        cells = run_in_browser(chromium, lab, "selfcheck/broken.ipynb")
    finally:
        lab.shut_down_kernels()
    assert cells[-1]["run_all"] == {"done": True, "ok": False}
    assert [c["execution_count"] for c in cells[1:-1]] == [1, 2, 3, 4, None]
    empty, cut, raised, shown, stopped = problems_of(cells)
    assert empty == "cell 2 ('nothing = None') shows nothing"
    assert re.fullmatch(r"cell 3 \('import pandas as pd'\): 1 table cell\(s\) end in a "
                        r"truncation mark, first 'x{40,50}\.\.\.'", cut)
    assert raised == "cell 4 ('1 / 0') raised ZeroDivisionError: division by zero"
    assert shown.startswith("cell 4 ('1 / 0') shows an error: ---")
    assert shown.endswith("\nZeroDivisionError: division by zero")
    assert stopped == "cell 5 (\"'never reached'\") did not run"
