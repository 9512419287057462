# Two commands do everything on a fresh clone with only python3:
#   make tour   - create .venv, install, execute every guided notebook into runs/
#   make test   - create .venv, install, run unit tests and nbval over the notebooks
#                 (and the notebooks in JupyterLab in headless Chromium, when installed)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONHASHSEED := 0

.PHONY: tour test browser lab bench install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

tour: $(STAMP)
	$(BIN)/playbook-kit tour --output runs

test: $(STAMP)
	rm -rf runs/notebooks
	$(BIN)/python -m pytest tests --nbval-lax notebooks

browser: $(STAMP)
	$(BIN)/python -m pytest tests/test_browser.py

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks

bench: $(STAMP)
	for script in bench/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf runs .pytest_cache build *.egg-info
