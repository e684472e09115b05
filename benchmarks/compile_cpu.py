"""Does torch.compile pay on this machine's CPU? For the practical CNN (Shapes-10, batch 128)
and the circles MLP (batch 10), train a run's worth of steps eagerly and with the model
compiled (nn.Module.compile: TorchInductor), and print the compile time, the steps per second
once compiled, and the whole run's time each way — the figure train.compile = auto decides by.

    .venv/bin/python benchmarks/compile_cpu.py [--steps-cnn 400] [--steps-mlp 3000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.engine import malloc  # noqa: E402

malloc.keep_freed_memory()

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from core.experiment import presets  # noqa: E402
from core.nets import models  # noqa: E402


def run(exp, shape, classes: int, batch: int, steps: int, compiled: bool) -> tuple[float, float]:
    """(seconds of the first step — the compile, if any —, seconds of the other steps)."""
    torch.manual_seed(0)
    model = models.build(exp.model, shape, classes)
    if compiled:
        model.compile()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, *shape)
    y = torch.randint(0, classes, (batch,))

    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    t0 = time.perf_counter()
    step()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(steps - 1):
        step()
    return first, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps-cnn", type=int, default=400, help="a 16-epoch Shapes-10 run at "
                    "3,000 images is 400 steps of 128")
    ap.add_argument("--steps-mlp", type=int, default=3000, help="the circles MLP's 150 epochs "
                    "of 200 points at batch 10")
    args = ap.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    for name, preset, shape, classes, batch, steps in (
            ("practical CNN", "shapes-cnn", (3, 32, 32), 10, 128, args.steps_cnn),
            ("circles MLP", "circles-mlp", (2,), 2, 10, args.steps_mlp)):
        exp = presets.load(preset)
        eager = run(exp, shape, classes, batch, steps, False)
        try:
            compiled = run(exp, shape, classes, batch, steps, True)
        except Exception as e:  # noqa: BLE001 - a compiler missing is a result too
            print(f"{name}: torch.compile failed: {type(e).__name__}: {e}")
            continue
        rate = lambda r: (steps - 1) / r[1]  # noqa: E731
        print(f"{name}, {steps} steps of {batch}: eager {sum(eager):.1f} s "
              f"({rate(eager):.1f} steps/s); compiled {sum(compiled):.1f} s, of which "
              f"{compiled[0]:.1f} s compiling ({rate(compiled):.1f} steps/s once compiled); "
              f"the run {'faster' if sum(compiled) < sum(eager) else 'slower'} compiled "
              f"({sum(eager) / sum(compiled):.2f}×)")


if __name__ == "__main__":
    main()
