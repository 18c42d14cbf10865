# The two commands a newcomer runs: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3.11
VENV ?= .venv
CORES ?= 2
# Data for the demo: torchvision (official download) or a local source, e.g.
#   make demo DATA=../shared/data/cifar10-jpeg.tar.gz
DATA ?= torchvision
BIN := $(VENV)/bin

.PHONY: demo test lint setup

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/snakemake --cores $(CORES) --config scale=demo data_source=$(DATA)

test: $(VENV)/.installed
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed
	$(BIN)/ruff check noisy tests
	$(BIN)/snakemake --lint
