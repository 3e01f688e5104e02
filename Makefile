# Fresh-machine entry points. Every target installs what it needs into the project-local .venv.
PYTHON ?= python3
# bash with pipefail: a recipe that filters a command's output still fails when the command fails.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
# Re-install when the package metadata changes.
INSTALLED := $(VENV)/.installed
DEMO_DIR ?= runs/demo
# Where reproduce-table<N> writes (converted data, runs, table<N>/): one directory for all five
# tables, so the meta-trained network of a contrast is trained once and reused.
TABLE_DIR ?= runs/brats_tables
LOGDIR ?= runs
# The LDA paper's experiments (make reproduce-lda EXPERIMENT=table1 ...): output, profile, images.
LDA_DIR ?= runs/lda
# The U-LDA paper's experiments (make reproduce-ulda EXPERIMENT=table2 ...): output, converted data.
ULDA_DIR ?= runs/ulda
# EXPERIMENT given on the command line (or in the environment), else U-LDA's default table2.
ULDA_EXPERIMENT = $(if $(filter command line environment,$(origin EXPERIMENT)),$(EXPERIMENT),table2)
EXPERIMENT ?= table1
PROFILE ?= quick
BRATS_URL := https://www.med.upenn.edu/sbia/brats2018/data.html
# The task-correlation experiment (paper 004; docs/task_correlation.md): its output directory.
TASK_CORRELATION_DIR ?= runs/task_correlation

# TensorFlow's C++ start-up messages (CUDA probing on a CPU machine, CPU instruction notes) are
# filtered out of the reproductions' output (with pipefail the command's exit status is kept).
# Bit-identical runs (docs/reproducibility.md): the binaries set TensorFlow's op determinism
# (--deterministic, the default); two fresh clones' `make demo` printed identical tables.
EXPERIMENT_ENV := PYTHONUNBUFFERED=1

FILTER_TF_NOISE := grep --line-buffered -v -E '^(WARNING: All log messages|[IWE][0-9]{4} |To enable the following instructions)'

REPRODUCE_TABLES := reproduce-table1 reproduce-table2 reproduce-table3 reproduce-table4 reproduce-table5

PY_SOURCES := lda_tf experiments data_prep benchmarks tests setup.py

.PHONY: install lint test test-slow demo tensorboard check-brats clean reproduce-lda reproduce-task-correlation \
	reproduce-ulda $(REPRODUCE_TABLES)

$(VENV_PYTHON):
	$(PYTHON) -m venv $(VENV)
	$(VENV_PYTHON) -m pip install --quiet --upgrade pip

$(INSTALLED): $(VENV_PYTHON) setup.py pyproject.toml
	$(VENV_PYTHON) -m pip install --quiet -e ".[test]"
	touch $(INSTALLED)

install: $(INSTALLED)

# ruff's format check and lint (settings: pyproject.toml); `$(VENV)/bin/ruff format .` fixes the format.
lint: $(INSTALLED)
	$(VENV)/bin/ruff format --check $(PY_SOURCES)
	$(VENV)/bin/ruff check $(PY_SOURCES)

test: $(INSTALLED)
	$(VENV_PYTHON) -m pytest

# The tests marked slow (kept out of `make test`): every LDA-paper experiment end to end.
test-slow: $(INSTALLED)
	$(VENV_PYTHON) -m pytest -m slow

# Table 1 of the meta paper in miniature on the embedded sample (quick profile, CPU); resumes if
# interrupted. `make demo DEMO_ARGS=--overwrite` starts afresh.
demo: $(INSTALLED)
	@# TensorFlow's C++ start-up messages (CUDA probing on a CPU machine) are filtered out.
	$(EXPERIMENT_ENV) $(VENV_PYTHON) experiments/reproduce.py --table=1 --profile=quick --output_dir=$(DEMO_DIR) \
		$(DEMO_ARGS) 2>&1 | $(FILTER_TF_NOISE)

# Stops at once, before installing anything, when BRATS_DIR is missing or not a directory; the
# layout inside it is checked by reproduce.py before any work.
check-brats:
	@if [ -z "$(BRATS_DIR)" ]; then \
		echo "error: BRATS_DIR is not set. Usage: make reproduce-tableN BRATS_DIR=/path/to/brats2018" >&2; \
		echo "  BRATS_DIR must hold the unpacked BraTS 2018 releases MICCAI_BraTS_2018_Data_Training/ (with HGG/)" >&2; \
		echo "  and MICCAI_BraTS_2018_Data_Validation/. Obtain them (registration required) at $(BRATS_URL)" >&2; \
		exit 2; \
	fi
	@if [ ! -d "$(BRATS_DIR)" ]; then \
		echo "error: BRATS_DIR=$(BRATS_DIR) is not a directory; see $(BRATS_URL)" >&2; exit 2; \
	fi

$(REPRODUCE_TABLES): reproduce-table%: check-brats $(INSTALLED)
	$(EXPERIMENT_ENV) $(VENV_PYTHON) experiments/reproduce.py --table=$* --profile=paper --brats_dir="$(BRATS_DIR)" \
		--output_dir=$(TABLE_DIR) $(REPRODUCE_ARGS) 2>&1 | $(FILTER_TF_NOISE)

# One experiment of the LDA paper: EXPERIMENT=table1..table5, figure6 or figure7; PROFILE=quick
# (CPU), paper or smoke; TRAIN_DIR / TEST_DIR image folders (default: scikit-image's images),
# DATASET_DIR a converted brain dataset for table3 (default: the embedded sample).
reproduce-lda: $(INSTALLED)
	@case "$(EXPERIMENT)" in table[1-5]) which="--table=$(subst table,,$(EXPERIMENT))";; \
		figure[67]) which="--figure=$(subst figure,,$(EXPERIMENT))";; \
		*) echo "error: EXPERIMENT=$(EXPERIMENT); expected table1..table5, figure6 or figure7" >&2; exit 2;; esac; \
	$(EXPERIMENT_ENV) $(VENV_PYTHON) experiments/reproduce.py --paper=lda $$which --profile=$(PROFILE) \
		--output_dir=$(LDA_DIR) $(if $(TRAIN_DIR),--train_dir=$(TRAIN_DIR)) $(if $(TEST_DIR),--test_dir=$(TEST_DIR)) \
		$(if $(DATASET_DIR),--dataset_dir=$(DATASET_DIR)) $(REPRODUCE_ARGS) 2>&1 \
		| $(FILTER_TF_NOISE)

# The task-correlation experiment (paper 004, docs/task_correlation.md): PROFILE=quick on the
# embedded sample (CPU), PROFILE=paper with DATASET_DIR a converted BraTS dataset
# (data_prep/brats.py), PROFILE=smoke to check the chain. There are no published numbers.
reproduce-task-correlation: $(INSTALLED)
	$(EXPERIMENT_ENV) $(VENV_PYTHON) experiments/reproduce.py --paper=task_correlation --profile=$(PROFILE) \
		--output_dir=$(TASK_CORRELATION_DIR) $(if $(DATASET_DIR),--dataset_dir=$(DATASET_DIR)) $(REPRODUCE_ARGS) 2>&1 \
		| $(FILTER_TF_NOISE)

# One experiment of the U-LDA paper: EXPERIMENT=table1..table6, figure6 or figure7 (default table2);
# PROFILE=quick (CPU, offline stand-ins: the embedded sample and scikit-image's images), paper or
# smoke; DATA_ROOT the folder of converted datasets (fastmri_brain/, fastmri_knee/, cardiac/, ...;
# docs/ulda.md), which the paper profile needs: without it, it stops at once naming what is missing.
reproduce-ulda: $(INSTALLED)
	@case "$(ULDA_EXPERIMENT)" in table[1-6]) which="--table=$(subst table,,$(ULDA_EXPERIMENT))";; \
		figure[67]) which="--figure=$(subst figure,,$(ULDA_EXPERIMENT))";; \
		*) echo "error: EXPERIMENT=$(ULDA_EXPERIMENT); expected table1..table6, figure6 or figure7" >&2; exit 2;; esac; \
	$(EXPERIMENT_ENV) $(VENV_PYTHON) experiments/reproduce.py --paper=ulda $$which --profile=$(PROFILE) \
		--output_dir=$(ULDA_DIR) $(if $(DATA_ROOT),--data_root=$(DATA_ROOT)) $(REPRODUCE_ARGS) 2>&1 \
		| $(FILTER_TF_NOISE)

tensorboard: $(INSTALLED)
	$(VENV)/bin/tensorboard --logdir $(LOGDIR)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
