#!/usr/bin/env bash
# The practical's CNN at its best on a GPU (issue 28), one script for a lent GPU machine, under
# 8 minutes on an H100:
#   1. a captured run's first line, and the engine with CUDA graphs (and without) against the
#      bare eager loop at batch 128 (target: 3.5× or more);
#   2. the ladder's batch-norm rung and "+ a modern recipe" (preset cifar-cnn-best) on 45,000 of
#      CIFAR-10's training images for 30 epochs, tested on the other 5,000 (target: 87 % or more).
#
#   bash benchmarks/device_check.sh        (carry .data/cifar10-train-jpeg.tar.gz; python3 with torch)
#   DEVICE=cpu EPOCHS=1 N=2000 bash benchmarks/device_check.sh   (a dry run of the script on a CPU)
set -uo pipefail
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 LEARNSCOPE_RUNS=/tmp/runs LEARNSCOPE_CACHE=/tmp/cache
PY=${PY:-python3}
DEVICE=${DEVICE:-cuda}
EPOCHS=${EPOCHS:-30}
N=${N:-0}        # CIFAR-10 training images (0: all 45,000 the folder's split keeps for training)
BENCH_N=${BENCH_N:-20000}
[ "$DEVICE" = cuda ] && nvidia-smi -L
$PY -c "import torch; print('torch', torch.__version__)"

echo "== a captured run's first line"
timeout 120 $PY -m core train --preset shapes-cnn --device "$DEVICE" --set train.epochs=1 2>&1 | head -1

echo "== engine (CUDA graphs; train.cuda_graphs = off) against the bare eager loop, batch 128"
timeout 150 $PY benchmarks/engine_vs_bare.py --device "$DEVICE" --n "$BENCH_N" --epochs 4 --rounds 2

echo "== CIFAR-10, 45,000 / 5,000 images, $EPOCHS epochs: the batch-norm rung, then + a modern recipe"
mkdir -p /tmp/cifar && tar xzf .data/cifar10-train-jpeg.tar.gz -C /tmp/cifar
# the recipe-cifar-cnn study's base, written against the preset: what the recipe rung changes
BN_RUNG="optim.label_smoothing=0,optim.nesterov=false,optim.weight_decay=0,optim.lr=0.01"
BN_RUNG="$BN_RUNG,optim.scheduler=exponential,optim.gamma=0.95,data.crop_padding=0,data.flip_test=false"
timeout 330 $PY benchmarks/preset_accuracy.py --preset cifar-cnn-best --set data.dataset=folder \
  --set data.root=/tmp/cifar/train --set "train.device=$DEVICE" --set "train.epochs=$EPOCHS" \
  --set "data.n_train=$N" --variant "$BN_RUNG" --variant ""
