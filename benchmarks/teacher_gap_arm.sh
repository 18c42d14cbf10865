#!/bin/sh
# One arm of docs/teacher_gap.md: the paper's ResNet-20 teacher (5,000 labels of split seed 0)
# trained on 1,000,000 images, then scored on the 10,000 JPEG test images, the 1,000 lossless
# test images and their 1,000 JPEG twins. Run it alone on the machine; rerun the same line
# to resume a killed arm from its last checkpoint (state.pt).
#   benchmarks/teacher_gap_arm.sh DIR NAME TRAIN_DATA PRECISION SEED
# DIR holds what benchmarks/teacher_gap_data.py and `python -m noisy split` wrote (split.npz,
# png-test.npz, jpeg-twins.npz, jpeg.npz); TRAIN_DATA is jpeg.npz or png-train.npz there.
set -eu
dir=$1 name=$2 data=$3 precision=$4 seed=$5
python=${PYTHON:-.venv/bin/python}
threads=${THREADS:-2}
arm=$dir/$name
mkdir -p "$arm"
settings=$(cat <<JSON
{"arch": {"network": "resnet20", "final_survival": 1.0, "stochastic_depth_mode": "batch",
          "dropout": 0.0},
 "train": {"budget_images": 1000000, "batch_size": 512, "lr": 0.1, "momentum": 0.9,
           "weight_decay": 0.0001, "lr_milestones": [0.5, 0.75], "lr_gamma": 0.1,
           "randaugment_n": 2, "randaugment_m": 27, "mixup_alpha": 0.0,
           "input_pipeline": "batched", "seed": $seed, "monitor_epochs": 50,
           "precision": "$precision", "compile": false},
 "monitor_test_size": 10000}
JSON
)
test -f "$arm/model.pt" || "$python" -m noisy train --data "$dir/$data" --split "$dir/split.npz" \
  --settings "$settings" --device cpu --threads "$threads" --checkpoint-interval-s 60 \
  --state "$arm/state.pt" --out "$arm/model.pt" --history "$arm/history.csv" \
  --definition "$arm/stage.json" >> "$arm/train.log" 2>&1
for test_set in jpeg png-test jpeg-twins; do
  "$python" -m noisy evaluate --data "$dir/$test_set.npz" --model "$arm/model.pt" \
    --settings '{"test_per_class": null}' --device cpu --threads "$threads" \
    --out "$arm/eval-$test_set.json" > "$arm/eval-$test_set.log" 2>&1
done
