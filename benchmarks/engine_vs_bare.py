"""Train the practical's CNN with LearnScope's engine and with a bare PyTorch loop; print images/s.

Same data (Shapes-10, uint8 on the device), same model, batch size, optimiser and device, in
one process, measured epoch by epoch after a warm-up epoch; the two alternate --rounds times
and the medians are printed.

    .venv/bin/python benchmarks/engine_vs_bare.py [--device cpu|cuda] [--n 2048] [--epochs 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core import malloc  # noqa: E402

malloc.keep_freed_memory()  # as `learnscope` and `python -m core` do, before any thread

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from core import config as cfg  # noqa: E402
from core import models, presets  # noqa: E402
from core.data.shapes import make_shapes  # noqa: E402
from core.train import Observer, Trainer, resolve_device  # noqa: E402


def experiment(n: int, epochs: int, batch: int, device: str) -> cfg.Experiment:
    return cfg.with_overrides(presets.load("shapes-cnn"), [
        f"data.n_train={n}", "data.n_test=256", f"train.epochs={epochs}",
        f"train.batch_size={batch}", f"train.device={device}", "optim.lr=0.05",
        "optim.momentum=0.0", "data.standardize=none"])  # the same plain SGD as the bare loop


def engine_rates(exp: cfg.Experiment) -> list[float]:
    class Rates(Observer):
        def __init__(self):
            self.rates = []

        def on_epoch_end(self, record):
            self.rates.append(record.images_per_s)

    rates = Rates()
    result = Trainer(exp, [rates], record=False).fit()
    assert result.status == "done", result.message
    return rates.rates


def bare_rates(exp: cfg.Experiment, device: torch.device) -> list[float]:
    """The loop a student writes: float tensors in memory, randperm batches, .item() per step."""
    torch.manual_seed(exp.train.seed)
    x, y = make_shapes(exp.data.n_train, 2 * exp.train.seed, 32)
    x = (x.float() / 255).to(device)
    y = y.to(device)
    model = models.build(exp.model, (3, 32, 32), 10).to(device)
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
            out = model(x[idx])
            loss = F.cross_entropy(out, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total_loss += loss.item() * len(idx)
            correct += (out.argmax(1) == y[idx]).sum().item()
        rates.append(len(y) / (time.perf_counter() - t0))
    return rates


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--n", type=int, default=2048, help="training images per epoch")
    p.add_argument("--epochs", type=int, default=3, help="epochs per contender (the first is warm-up)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--rounds", type=int, default=3, help="bare and engine runs alternate this many times")
    args = p.parse_args()
    device = resolve_device(args.device)
    exp = experiment(args.n, args.epochs, args.batch, args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"practical CNN, Shapes-10, {args.n} images/epoch, batch {args.batch}, {name}")
    bare, engine = [], []
    for _ in range(args.rounds):  # alternate: this machine's speed drifts from minute to minute
        bare.append(statistics.median(bare_rates(exp, device)[1:]))
        engine.append(statistics.median(engine_rates(exp)[1:]))
    b, e = statistics.median(bare), statistics.median(engine)
    print(f"bare PyTorch loop : {b:10,.0f} images/s   (rounds: {', '.join(f'{v:,.0f}' for v in bare)})")
    print(f"LearnScope engine : {e:10,.0f} images/s   (rounds: {', '.join(f'{v:,.0f}' for v in engine)})")
    print(f"engine / bare     : {e / b:10.2f}")


if __name__ == "__main__":
    main()
