#!/usr/bin/env bash
# The prepared GPU check (not part of CI; about 8 minutes on one H200). It runs
#   1. the CI-scale workflow end to end on the device (a supervised model, a student chain,
#      the robustness table),
#   2. python -m noisy benchmark --device DEVICE --overhead,
#   3. training and inference throughput of ResNet-20/26/32/38 with 1, 2 and 4 jobs
#      sharing the device (python -m noisy throughput),
#   4. the whole-paper estimate (python -m noisy estimate results/report.md, paper scale)
#      from the 1-job and the 4-job figures.
# Usage: benchmarks/gpu_check.sh [--device cuda|cuda:N|cpu] [--quick] [--data PATH]
#   --quick  scaled down (a smaller workflow target, tiny benchmark and probe) so the
#            check finishes in minutes on a CPU; the steps are the same.
#   --data   CIFAR-10 source for step 1 (default: a synthetic 10-class image tarball).
# Outputs go to $WORK (default: a new folder under /tmp); the interpreter is $PYTHON
# (default: .venv/bin/python when present, else python3).
set -euo pipefail

DEVICE=cuda
QUICK=0
DATA=""
while [ $# -gt 0 ]; do
    case "$1" in
        --device) DEVICE="$2"; shift 2 ;;
        --quick) QUICK=1; shift ;;
        --data) DATA="$2"; shift 2 ;;
        *) echo "unknown argument: $1 (see the header of $0)" >&2; exit 2 ;;
    esac
done

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi
WORK="${WORK:-$(mktemp -d /tmp/gpu_check.XXXXXX)}"
mkdir -p "$WORK"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
START=$SECONDS

step() { echo; echo "== $* [$(date -u +%H:%M:%S), $((SECONDS - START)) s in]"; }

step "0. machine and device ($DEVICE); outputs in $WORK"
"$PYTHON" -c "import torch; print('torch', torch.__version__, '| cuda available:',
torch.cuda.is_available(), '|', torch.cuda.get_device_name(0) if torch.cuda.is_available()
else 'no GPU')"
if [[ "$DEVICE" == cuda* ]]; then nvidia-smi --query-gpu=name,memory.total,driver_version \
    --format=csv,noheader; fi

step "1. CI-scale workflow end to end on $DEVICE"
if [ -z "$DATA" ]; then
    DATA="$WORK/cifar.tar.gz"
    (cd "$ROOT/tests" && "$PYTHON" -c "
from pathlib import Path
from conftest import make_archive, make_image_folder
classes = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship',
           'truck']
make_image_folder(Path('$WORK/tree'), n_train_per_class=12, n_test_per_class=4,
                  classes=classes)
make_archive(Path('$WORK/tree'), Path('$DATA'))
print('synthetic 10-class image tarball:', '$DATA')")
fi
CONFIG=(scale=ci split_mode=stratified "device=$DEVICE" "data_source=$DATA"
        "table1={networks: [resnet20, resnet26], labeled_ratios: [1.0, 0.1]}"
        "student_defaults={chain: [resnet20, resnet26, resnet32]}"
        "robustness={corruptions: [gaussian_noise, contrast], perturbations: [gaussian_noise, translate], baseline_network: resnet26}"
        "tables={table5: [hard]}")
if [ "$QUICK" = 1 ]; then
    TARGETS=(results/table2.csv)
else
    TARGETS=(results/table1.csv results/table2.csv results/table5.csv)
fi
"$PYTHON" -m snakemake -s "$ROOT/Snakefile" --configfile "$ROOT/config.yaml" -d "$WORK/run" \
    --cores "$(nproc)" --resources gpu=4 --quiet rules --config "${CONFIG[@]}" -- "${TARGETS[@]}"
for table in "${TARGETS[@]}"; do echo "--- $table"; cat "$WORK/run/$table"; done
echo "--- devices the trainings ran on:"
grep -rhoE "on (cpu|cuda(:[0-9]+)?); monitoring" "$WORK/run/results/models" | sort | uniq -c

step "2. python -m noisy benchmark --device $DEVICE --overhead"
if [ "$QUICK" = 1 ]; then
    "$PYTHON" -m noisy benchmark --device "$DEVICE" --overhead --networks resnet20 \
        --batches 1 --repeats 1 --workers 1 --epoch-images 512 --monitor-images 1000
else
    "$PYTHON" -m noisy benchmark --device "$DEVICE" --overhead
fi

step "3. throughput with 1, 2 and 4 jobs sharing $DEVICE"
if [ "$QUICK" = 1 ]; then PROBE=(--batch-size 64 --steps 1); else PROBE=(--steps 40); fi
for jobs in 1 2 4; do
    "$PYTHON" -m noisy throughput --device "$DEVICE" --jobs "$jobs" "${PROBE[@]}" \
        --out "$WORK/rates_$jobs.json" > /dev/null
    "$PYTHON" -c "
import json
rates = json.load(open('$WORK/rates_$jobs.json'))
print(f\"{rates['jobs']} job(s) at once, batch {rates['batch_size']}, images/s summed over jobs:\")
for network in rates['train']:
    print(f\"  {network}: train {rates['train'][network]:9.0f}  infer {rates['infer'][network]:9.0f}\")"
done

step "4. the whole paper (results/report.md at scale=paper) from those figures"
for jobs in 1 4; do
    (cd "$WORK" && "$PYTHON" -m noisy estimate results/report.md --all \
        --config scale=paper "device=$DEVICE" --rates "$WORK/rates_$jobs.json" 2>/dev/null)
    echo
done

step "done in $((SECONDS - START)) s"
