# Fresh-machine entry points. Every target installs what it needs into the project-local .venv.
PYTHON ?= python3
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
# Re-install when the package metadata changes.
INSTALLED := $(VENV)/.installed

.PHONY: install test clean

$(VENV_PYTHON):
	$(PYTHON) -m venv $(VENV)
	$(VENV_PYTHON) -m pip install --quiet --upgrade pip

$(INSTALLED): $(VENV_PYTHON) setup.py
	$(VENV_PYTHON) -m pip install --quiet -e ".[test]"
	touch $(INSTALLED)

install: $(INSTALLED)

test: $(INSTALLED)
	$(VENV_PYTHON) -m pytest

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
