#!/usr/bin/env bash
# The GPU checks behind the accuracy figures in docs/performance.md (presets and CIFAR-10 steps):
#   bash benchmarks/device_presets.sh   (needs .data/cifar10-train-jpeg.tar.gz and a python3 with torch)
set -uo pipefail
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 LEARNSCOPE_RUNS=/tmp/runs LEARNSCOPE_CACHE=/tmp/cache
PY=${PY:-python3}
nvidia-smi -L; $PY -c "import torch; print('torch', torch.__version__)"
echo "== circles MLP on cuda"; $PY -m core train --preset circles-mlp --device cuda | tail -4
echo "== engine vs bare, cuda"; $PY benchmarks/engine_vs_bare.py --device cuda --n 20000 --epochs 4
echo "== Shapes-10 preset variants"
$PY benchmarks/preset_accuracy.py --preset shapes-cnn --set train.device=cuda \
  --variant "" --variant "data.flip=true" --variant "data.crop=28,data.flip=true" \
  --variant "optim.lr=0.1" --variant "data.n_train=10000,train.epochs=10"
echo "== CIFAR-10 image folder"
mkdir -p /tmp/cifar && tar xzf .data/cifar10-train-jpeg.tar.gz -C /tmp/cifar
$PY benchmarks/image_folder_load.py /tmp/cifar/train
$PY benchmarks/preset_accuracy.py --preset cifar-cnn --set data.dataset=folder \
  --set data.root=/tmp/cifar/train --set train.device=cuda \
  --variant "" --variant "data.standardize=channel" \
  --variant "data.standardize=channel,data.crop=28,data.flip=true"
