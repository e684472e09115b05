"""Where a run trains: the torch device a config names, the CPU threads a step should use, and
what to say when the device runs out of memory."""

from __future__ import annotations

import torch

from core.engine import memory
from core.nets import models
from core import ConfigError


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def resolve_device(name: str) -> torch.device:
    """Return the torch device for 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError):
        raise ConfigError(f"train.device: must be auto, cpu, cuda, cuda:N or mps, got {name!r}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"train.device: {name!r} is not available on this machine (no CUDA "
                              "GPU found); use 'auto' or 'cpu'")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ConfigError(f"train.device: {name!r} does not exist; this machine has "
                              f"{torch.cuda.device_count()} CUDA device(s)")
    elif dev.type == "mps" and not _mps_available():
        raise ConfigError("train.device: 'mps' is not available on this machine; use 'auto' or 'cpu'")
    elif dev.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"train.device: must be auto, cpu, cuda, cuda:N or mps, got {name!r}")
    return dev


def device_name(dev: torch.device) -> str:
    """The device as the run's start line names it: 'cuda:0 (NVIDIA H200)', 'cpu'."""
    if dev.type == "cuda":
        return f"{dev} ({torch.cuda.get_device_name(dev)})"
    return str(dev)


#: below this many multiply-accumulates per training step (forward, one batch) torch's extra
#: CPU threads cannot help: each operation is a few microseconds of work, and the idle
#: threads spin between steps, taking a whole core from the GUI for nothing (the circles MLP)
TINY_STEP_MACS = 1_000_000


def cpu_threads_for(table: list[models.LayerInfo], batch_size: int, available: int) -> int:
    """Return how many intra-op threads a CPU training step of this network should use."""
    macs = sum(t.macs for t in table) * batch_size
    return 1 if macs < TINY_STEP_MACS else max(1, available)


def out_of_memory_message(e: BaseException, exp, dev: torch.device | None,
                          model: models.Network | None) -> str:
    """Return the sentence for a run that ran out of memory: where, the batch size, the
    largest layer, and what to try."""
    where = "the GPU" if dev is not None and dev.type == "cuda" else "the CPU"
    size = memory.failed_allocation(e)
    text = f"{where[0].upper()}{where[1:]} ran out of memory" + (
        f" (an allocation of {size} failed)" if size else "")
    try:  # the layer table of the built model, or else the config's (shapes only)
        parts = memory.needs(exp, model.table if model is not None else None)
        layers = [p for p in parts if p.what.startswith(("model.", "the output"))]
        if layers:
            text += f"; the largest layer is {layers[0].what}, {memory.gb(layers[0].bytes)} with " \
                    "its gradients and the optimiser's state"
    except Exception:  # noqa: BLE001 - the sentence must come out whatever the config
        pass
    text += (f". train.batch_size is {exp.train.batch_size}: lower it, or use fewer units "
             "or channels in the largest layer")
    if where == "the GPU":
        text += ", or train on the CPU (train.device = 'cpu')"
    return text + "."
