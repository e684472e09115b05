#!/usr/bin/env bash
# Quick GPU re-check after engine changes: correctness on cuda and the engine/bare speed ratio.
set -uo pipefail
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 LEARNSCOPE_RUNS=/tmp/runs LEARNSCOPE_CACHE=/tmp/cache
PY=${PY:-python3}
nvidia-smi -L
$PY -m core train --preset circles-mlp --device cuda 2>/dev/null | tail -4
$PY -m core train --preset circles-mlp --device cuda --set model.implementation=manual 2>/dev/null | tail -3
$PY benchmarks/engine_vs_bare.py --device cuda --n 20000 --epochs 4
$PY benchmarks/engine_vs_bare.py --device cuda --n 20000 --epochs 4 --batch 512
$PY benchmarks/preset_accuracy.py --preset shapes-cnn --set train.device=cuda --variant "" --variant "data.flip=true"
