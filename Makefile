# Two commands do everything on a fresh clone with only python3:
#   make tour   - create .venv, install, execute every guided notebook into runs/
#   make test   - create .venv, install, run the full suite (docs/development.md): unit
#                 tests, nbval over the notebooks, the notebooks in JupyterLab in headless
#                 Chromium, a fresh Binder environment with the wheel installed in it,
#                 the documentation build
# and, while you work:
#   make check  - the unit tests alone (no notebooks, browser, Binder, wheel or docs build)
#   make docs   - the documentation site into docs/_build/html (runs the tour first when
#                 runs/ holds none: the site shows the tour's executed notebooks)
#   make dist   - the sdist and the wheel into dist/, checked with twine
#   make mutation - mutation testing of the playbook's rules (docs/development.md)
#   make workshop - install, then pre-run the studies notebooks 01-04 read (docs/WORKSHOP.md)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONHASHSEED := 0

.PHONY: tour test check docs dist browser lab bench mutation install clean workshop

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

tour: $(STAMP)
	$(BIN)/playbook-kit tour --output runs

# Both cores (pytest-xdist). loadgroup keeps each group of slow tests on one worker, in
# order (conftest.py): nbval's notebooks then the browser test, which reuses their studies;
# the Binder, wheel and docs tests, which share one fresh environment and the wheel's tour.
test: $(STAMP)
	rm -rf runs/notebooks
	$(BIN)/python -m pytest -n 2 --dist loadgroup tests --nbval-lax notebooks

check: $(STAMP)
	$(BIN)/python -m pytest -n 2 tests -m 'not slow and not browser and not binder and not wheel and not docs'

docs: $(STAMP)
	@test -n "$$(ls -d runs/tour-* 2>/dev/null)" || $(MAKE) tour
	$(BIN)/python -m sphinx -W -n --keep-going -q -b html docs docs/_build/html
	@echo "the site is in docs/_build/html/index.html"

dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/python -m twine check --strict dist/*

browser: $(STAMP)
	$(BIN)/python -m pytest tests/test_browser.py

# The notebooks' default study folder is runs/notebooks/studies: executing 01-04 there with
# their defaults stores every study a learner's run would train, so any notebook opens in
# seconds. The journal is removed so that each learner's rounds start at 1 (04 then takes
# its adopted_depth parameter). `make test` deletes runs/notebooks: run this afterwards.
WORKSHOP_NOTEBOOKS := $(sort $(wildcard notebooks/0[1-4]_*.ipynb))

workshop: $(STAMP)
	$(BIN)/playbook-kit run $(WORKSHOP_NOTEBOOKS) --output runs/workshop
	rm -f runs/notebooks/studies/journal.yaml
	@echo "studies stored in runs/notebooks/studies; executed copies (with outputs) in runs/workshop"

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks

bench: $(STAMP)
	for script in bench/*.py; do $(BIN)/python $$script || exit 1; done

# What `make mutation` mutates and counts: mutmut mutant names, <module>.x_<function>__*
# (a method is <module>.x?<Class>?<method>__*). Only the functions that hold the playbook's
# rules are listed; plots, tables and text output are left out to keep the run short. The
# files are listed once more in pyproject.toml [tool.mutmut] only_mutate, the fast tests
# that run against the mutants in pytest_add_cli_args_test_selection there.
MUTATION_SCOPE := \
	'playbook_kit.decisions._statistics.x__check_*' \
	'playbook_kit.decisions.adoption.x__check_*' \
	'playbook_kit.decisions.adoption.x__bootstrap*' \
	'playbook_kit.decisions.adoption.x__percentile_bootstrap_gain__*' \
	'playbook_kit.decisions.adoption.x__welch*' \
	'playbook_kit.decisions.adoption.x__confidence_above_zero__*' \
	'playbook_kit.decisions._statistics.x__variance__*' \
	'playbook_kit.decisions.retrain_variance.x_mean_interval__*' \
	'playbook_kit.decisions.retrain_variance.x_retrain_summary__*' \
	'playbook_kit.decisions.retrain_variance.x_runs_from_study__*' \
	'playbook_kit.decisions.retrain_variance.x_runs_by_trial__*' \
	'playbook_kit.decisions.adoption.x_adoption_decision__*' \
	'playbook_kit.decisions.adoption.x__suggest_runs__*' \
	'playbook_kit.decisions.adoption.x__power__*' \
	'playbook_kit.decisions.adoption.x__detectable*' \
	'playbook_kit.core.rules.x_*' \
	'playbook_kit.core.validation.x_*' \
	'playbook_kit.insight._common.x_search_range__*' \
	'playbook_kit.insight.boundaries.x_boundary_check__*' \
	'playbook_kit.insight.boundaries.x__boundary_row__*' \
	'playbook_kit.insight.boundaries.x__edge_rules__*' \
	'playbook_kit.insight.boundaries.x__instability__*' \
	'playbook_kit.insight.boundaries.x__verdict__*' \
	'playbook_kit.insight.curves.x_resolve_thresholds__*' \
	'playbook_kit.insight.curves.x__slope__*' \
	'playbook_kit.insight.curves.x__curve_checks__*' \
	'playbook_kit.insight.curves.x__rising_check__*' \
	'playbook_kit.insight.curves.x_diagnose_curves__*' \
	'playbook_kit.insight.curves.x_flagged_checks__*' \
	'playbook_kit.search.hyperparameter.x?Hyperparameter?to_unit__*' \
	'playbook_kit.search.hyperparameter.x?Hyperparameter?from_unit__*' \
	'playbook_kit.search.hyperparameter.x?Hyperparameter?contains__*' \
	'playbook_kit.search.space.x?SearchSpace?_validate*' \
	'playbook_kit.search.serialization.x?SpaceDictForm?_add_entry__*' \
	'playbook_kit.search.space.x?SearchSpace?validate_config__*' \
	'playbook_kit.search.space.x?SearchSpace?is_active__*' \
	'playbook_kit.search.space.x?SearchSpace?config_from_unit__*' \
	'playbook_kit.search.space.x?SearchSpace?unit_from_config__*' \
	'playbook_kit.training.trial_record.x__check_steps__*' \
	'playbook_kit.training.trial_record.x_divergence_reason__*' \
	'playbook_kit.search.oracle_base.x_is_infeasible__*'

mutation: $(STAMP)
	rm -rf mutants
	$(BIN)/mutmut run --max-children 2 $(MUTATION_SCOPE)
	$(BIN)/python tools/mutation_report.py --survivors $(MUTATION_SCOPE)

clean:
	rm -rf runs .pytest_cache build dist *.egg-info mutants docs/_build docs/reference docs/tour
