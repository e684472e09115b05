"""What surrounds the practical CNN's training step on this machine: evaluation (batch size,
no_grad against inference_mode, fp32 against bf16), drawing Shapes-10, and augmentation.

    .venv/bin/python benchmarks/around_step.py [--device cpu] [--rounds 3]

Each figure is the median of --rounds timings, in images per second.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.engine import malloc  # noqa: E402

malloc.keep_freed_memory()

import torch  # noqa: E402

from core.experiment import config as cfg  # noqa: E402
from core.nets import models
from core.engine import precision
from core.experiment import presets  # noqa: E402
from core.data import loader  # noqa: E402
from core.data.shapes import make_shapes  # noqa: E402
from core.engine.train import resolve_device  # noqa: E402


def _rate(n: int, fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return n / statistics.median(times)


def evaluation(data, net, device, rounds: int) -> None:
    split = data.test
    for fmt in (precision.Precision("fp32"), precision.Precision("bf16", True)):
        model = net.to(memory_format=torch.channels_last if fmt.channels_last else torch.contiguous_format)
        for size in (128, 512):
            for mode, ctx in (("no_grad", torch.no_grad), ("inference_mode", torch.inference_mode)):
                def run():
                    with ctx():
                        for xb, _ in data.batches(split, size, train=False):
                            fmt.forward(model, xb, device).argmax(1)
                print(f"evaluation, {fmt.describe():<28} batch {size:>4}, {mode:<15}: "
                      f"{_rate(len(split), run, rounds):10,.0f} images/s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    device = resolve_device(args.device)
    print(f"{device}, {torch.get_num_threads()} threads, native bf16: {precision.native_bf16(device)}")
    exp = cfg.with_overrides(presets.load("shapes-cnn"), ["data.n_train=2048", "data.n_test=2048",
                                                           "data.crop=28", "data.flip=true"])
    print(f"Shapes-10 drawn        : {_rate(2048, lambda: make_shapes(2048, 0, 32), args.rounds):10,.0f} images/s")
    data = loader.load(exp.data, 0, device)
    g = torch.Generator(device=device).manual_seed(0)
    x = data.train.x[:128]
    for train, what in ((True, "standardise + crop 28 + flip"), (False, "standardise + centre crop")):
        rate = _rate(128 * 50, lambda: [data.prepare(x, train, g) for _ in range(50)], args.rounds)
        print(f"batch of 128, {what:<29}: {rate:10,.0f} images/s")
    torch.manual_seed(0)
    net = models.build(exp.model, data.input_shape, 10).to(device).eval()
    evaluation(data, net, device, args.rounds)


if __name__ == "__main__":
    main()
