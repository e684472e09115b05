"""Train the practical's CNN with LearnScope's engine and with a bare PyTorch loop; print images/s.

Same data (Shapes-10), same model, batch size, optimiser and device, in one process, measured
epoch by epoch after a warm-up epoch. The contenders alternate --rounds times: the bare fp32
loop (the practical's own code shape), the bare loop in the number format the engine chose
(bf16 autocast with channels-last where the device computes bf16 natively; left out when that
is fp32), and the engine with train.precision = --precision (default auto) and its other
settings at auto — on a CUDA device that captures the step as a CUDA graph, so the engine runs
a second time without (train.cuda_graphs = off). --compile adds the engine with
train.compile = on beside auto's choice, and prints its first epoch (the compile) too. The
medians are printed, and the ratios as the median of the rounds' ratios.

    .venv/bin/python benchmarks/engine_vs_bare.py [--device cpu|cuda] [--precision auto|fp32|bf16|fp16]
        [--n 2048] [--epochs 3] [--batch 128] [--rounds 3] [--compile]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.engine import malloc  # noqa: E402

malloc.keep_freed_memory()  # as `learnscope` and `python -m core` do, before any thread

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from core.experiment import config as cfg  # noqa: E402
from core.nets import models
from core.engine import precision
from core.experiment import presets  # noqa: E402
from core.data.shapes import make_shapes  # noqa: E402
from core.engine.train import Observer, Trainer, resolve_device  # noqa: E402


def experiment(n: int, epochs: int, batch: int, device: str, number: str) -> cfg.Experiment:
    return cfg.with_overrides(presets.load("shapes-cnn"), [
        f"data.n_train={n}", "data.n_test=256", f"train.epochs={epochs}",
        f"train.batch_size={batch}", f"train.device={device}", "optim.lr=0.05",
        f"train.precision={number}",
        "optim.momentum=0.0", "data.standardize=none"])  # the same plain SGD as the bare loop


class _Rates(Observer):
    def __init__(self):
        self.rates, self.seconds, self.how = [], [], ""

    def on_fit_start(self, info):
        self.how = info.precision  # the run's first line: number format, compile, CUDA graphs

    def on_epoch_end(self, record):
        self.rates.append(record.images_per_s)
        self.seconds.append(record.seconds)


def engine_run(exp: cfg.Experiment, *sets: str) -> _Rates:
    seen = _Rates()
    result = Trainer(cfg.with_overrides(exp, list(sets)), [seen]).fit()
    assert result.status == "done", result.message
    return seen


def bare_rates(exp: cfg.Experiment, device: torch.device, low: torch.dtype | None = None,
               channels_last: bool = False) -> list[float]:
    """The loop a student writes: float tensors in memory, randperm batches, .item() per step;
    with low, the forward pass under torch.autocast as the PyTorch docs show it."""
    torch.manual_seed(exp.train.seed)
    x, y = make_shapes(exp.data.n_train, 2 * exp.train.seed, 32)
    x = (x.float() / 255).to(device)
    y = y.to(device)
    model = models.build(exp.model, (3, 32, 32), 10).to(device)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    x = x.contiguous(memory_format=fmt)
    opt = torch.optim.SGD(model.parameters(), lr=exp.optim.lr)
    rates = []
    for _ in range(exp.train.epochs):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        order = torch.randperm(len(y), device=device)
        total_loss, correct = 0.0, 0
        for i in range(0, len(y), exp.train.batch_size):
            idx = order[i:i + exp.train.batch_size]
            with torch.autocast(device.type, dtype=low or torch.float32, enabled=low is not None):
                out = model(x[idx])
            loss = F.cross_entropy(out.float(), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total_loss += loss.item() * len(idx)
            correct += (out.argmax(1) == y[idx]).sum().item()
        rates.append(len(y) / (time.perf_counter() - t0))
    return rates


def _line(name: str, rates: list[float]) -> str:
    return f"{name:<40}: {statistics.median(rates):10,.0f} images/s   (rounds: " \
           f"{', '.join(f'{v:,.0f}' for v in rates)})"


def _ratio(name: str, top: list[float], bottom: list[float]) -> str:
    ratios = [a / b for a, b in zip(top, bottom)]
    return f"{name:<40}: {statistics.median(ratios):10.2f}   (rounds: " \
           f"{', '.join(f'{r:.2f}' for r in ratios)})"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"),
                   help="the engine's train.precision")
    p.add_argument("--n", type=int, default=2048, help="training images per epoch")
    p.add_argument("--epochs", type=int, default=3, help="epochs per contender (the first is warm-up)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--rounds", type=int, default=3, help="the contenders alternate this many times")
    p.add_argument("--compile", action="store_true",
                   help="add the engine with train.compile = on beside auto's choice")
    args = p.parse_args()
    device = resolve_device(args.device)
    exp = experiment(args.n, args.epochs, args.batch, args.device, args.precision)
    fmt = precision.choose(args.precision, device, cnn=True)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else \
        f"CPU, {torch.get_num_threads()} threads, native bf16: {precision.native_bf16(device)}"
    print(f"practical CNN, Shapes-10, {args.n} images/epoch, batch {args.batch}, {name}")
    print(f"engine: train.precision = {args.precision!r} -> {fmt.describe()} ({fmt.reason})")
    engines = {"LearnScope engine": ()}  # its settings at auto
    if device.type == "cuda":
        engines["engine, train.cuda_graphs = off"] = ("train.cuda_graphs=\"off\"",)
    if args.compile:
        engines["engine, train.compile = on"] = ("train.compile=\"on\"",)
    bare, same = [], []
    rates = {name: [] for name in engines}
    firsts = {name: [] for name in engines}
    hows = {}
    for _ in range(args.rounds):  # alternate: this machine's speed drifts from minute to minute
        bare.append(statistics.median(bare_rates(exp, device)[1:]))
        if not fmt.plain:
            same.append(statistics.median(bare_rates(exp, device, fmt.autocast_dtype,
                                                     fmt.channels_last)[1:]))
        for name, sets in engines.items():
            seen = engine_run(exp, *sets)
            rates[name].append(statistics.median(seen.rates[1:]))
            firsts[name].append(seen.seconds[0])
            hows[name] = seen.how
    print(_line("bare PyTorch loop, fp32", bare))
    if same:
        print(_line(f"bare loop, {fmt.describe()}", same))
    for name in engines:
        print(_line(name, rates[name]))
        print(f"{'':<4}runs as: {hows[name]}; its first epoch (warm-up"
              f"{', compiling' if 'compile' in name else ''}) per round: "
              f"{', '.join(f'{t:.2f}' for t in firsts[name])} s")
    for name in engines:
        print(_ratio(f"{name} / bare fp32", rates[name], bare))
        if same:
            print(_ratio(f"{name} / bare {fmt.name}", rates[name], same))

if __name__ == "__main__":
    main()
