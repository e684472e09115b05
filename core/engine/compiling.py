"""train.compile: whether the network is compiled (torch.compile, TorchInductor) before it trains.

Measured on this project's 2-core CPU (benchmarks/compile_cpu.py, docs/performance.md): a
compiled network trained slower even once compiled — the practical CNN 7.4 steps a second
against 9.8 eager, so a 16-epoch Shapes-10 run took 0.52× as long eagerly with compiling's 25 s
counted; the circles MLP 0.29× — so `auto` leaves it off on a CPU. It has not been measured on
a GPU yet, and `auto` leaves it off there too until a GPU check shows that it pays. `on`
compiles the network in place (nn.Module.compile: its state dict keeps its names, so weights.pt
and every view read it as before). The run's first line says which: "eager" or "compiled".
"""

from __future__ import annotations


def choose(setting: str, implementation: str) -> tuple[bool, str]:
    """(compile the network?, the words the run's first line adds: "compiled", "eager", or
    why not; "" for Part 1's hand-written steps, which have nothing to compile)."""
    if setting != "on":  # off, and auto (see the module)
        return False, "eager" if implementation == "optim" else ""
    if implementation != "optim":
        return False, "not compiled: Part 1's hand-written steps bypass the torch.nn layers"
    return True, "compiled"
