# The two commands a newcomer runs: `make demo` and `make test`. Both set up .venv first.
# `make test-slurm` runs the workflow through the SLURM profiles on a one-node cluster it
# starts here (as root, with Debian's slurm-wlm; skipped where that cannot run).
PYTHON ?= python3.11
VENV ?= .venv
CORES ?= 2
# Data for the demo: torchvision (official download) or a local source, e.g.
#   make demo DATA=../shared/data/cifar10-jpeg.tar.gz
DATA ?= torchvision
# The demo's declared subset of the paper: Tables 1, 2, 4 and 5 (hard-label chain,
# teacher, baseline), Figure 1 and the report, at the `demo` scale of config.yaml.
DEMO_CONFIG ?= scale=demo "report_tables=[table1, table2, table4, table5]" \
	"tables={table4: [hard], table5: [hard]}"
BIN := $(VENV)/bin

# The GPU check's bundle (gpu/, ignored): the data archive, the anchor's job commands as
# Snakemake would run them, the paper's image counts, wheels for the image's Python 3.12.
# The rehearsal uses it where it exists, a small synthetic archive elsewhere (a user's clone).
GPU_DATA ?= $(wildcard ../shared/data/cifar10-jpeg.tar.gz)

.PHONY: demo small paper-teacher test test-slurm lint setup gpu-bundle gpu-rehearsal

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# Only its frost photographs are used (CIFAR-10-C "frost"); its code is never imported.
	$(BIN)/python -m pip install --quiet --no-deps imagecorruptions==1.1.2
	touch $@

demo: $(VENV)/.installed
	$(BIN)/snakemake --cores $(CORES) --rerun-incomplete \
		--config $(DEMO_CONFIG) data_source=$(DATA) -- results/report.md

# Does self-training help at the paper's data and balancing sizes? The teacher, two ResNet-26
# students (with and without model noise) and their yardstick, ~1 h on 2 cores
# (benchmarks/README.md). Its final outputs go to results/small/ (config `run`).
small: $(VENV)/.installed
	$(BIN)/snakemake --cores $(CORES) --rerun-incomplete \
		--config scale=small run=small data_source=$(DATA) -- results/small/self_training.csv

# The paper's first number: the 10%-label ResNet-20 teacher at the paper's settings (5,000
# labels, 5,000,000 images, batch 512), scored on all 10,000 test images, its candidates at
# 0.8 counted, beside Tables 1, 4 and 5 (results/paper/teacher_check.csv). README: wall time.
paper-teacher: $(VENV)/.installed
	$(BIN)/snakemake --cores $(CORES) --rerun-incomplete \
		--config scale=paper run=paper data_source=$(DATA) -- results/paper/teacher_check.csv
	@column -s, -t < results/paper/teacher_check.csv

test: $(VENV)/.installed
	$(BIN)/python -m pytest -q

# Starts the cluster (tests/slurm/start.sh), runs tests/slurm, stops the cluster.
test-slurm: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[slurm]'
	@status=0; tests/slurm/start.sh || status=$$?; \
	if [ $$status = 3 ]; then echo "make test-slurm: skipped, no SLURM cluster here"; exit 0; fi; \
	[ $$status = 0 ] || { tests/slurm/stop.sh; exit $$status; }; \
	NOISY_SLURM_TESTS=1 PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -q tests/slurm \
		|| status=$$?; \
	tests/slurm/stop.sh; exit $$status

# What travels to a lent GPU beside the repository (docs/running.md, "GPU check"); prints its size.
gpu-bundle: $(VENV)/.installed
	@test -n "$(GPU_DATA)" || { echo "make gpu-bundle: name the CIFAR-10 archive, GPU_DATA=PATH"; exit 2; }
	$(BIN)/python -m devtools gpu-bundle --out gpu --data $(GPU_DATA) --device cuda \
		--python-version 3.12

# The GPU check rehearsed here as bare as the GPU machine (a copy of the repository, a fresh
# environment with the GPU image's packages only, no network): `gpu-check --device cpu
# --quick`, a few minutes (devtools/gpu_rehearsal.py). Needs no git: a copy without .git
# (a downloaded archive) travels the files its .gitignore does not ignore.
gpu-rehearsal: $(VENV)/.installed
	$(BIN)/python -m devtools gpu-rehearsal $(if $(GPU_DATA),--data $(GPU_DATA))

lint: $(VENV)/.installed
	$(BIN)/ruff check noisy devtools tests
	$(BIN)/snakemake --lint
