"""How much memory a run needs, estimated from its layer table before anything is allocated.

`check` refuses, with a ConfigError (CLI exit 2) naming the setting, a run whose estimate is
larger than what the training device has free: the CPU's MemAvailable (/proc/meminfo), or
a GPU's free memory (torch.cuda.mem_get_info). The estimate counts, in the run's dtype:
  - each layer's parameters × (weights + gradients + optimiser state: SGD momentum 1, Adam 2);
  - a training batch's activations × 2 (kept for the backward pass, and their gradients);
  - an evaluation batch's two largest consecutive activations (no gradients);
  - the data splits on the device (uint8 images or float points, int64 labels);
  - ZCA whitening: the d × d covariance and its eigendecomposition, about 5 d² float64.
It errs towards too little rather than too much, so that a run it refuses cannot fit;
`is_out_of_memory` recognises what torch raises when a run that passed still runs out.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

from core.experiment import config as cfg
from core.data import registry
from core import ConfigError
from core.data.units import gb

ZCA_COPIES = 5  # covariance on the device, its CPU copy, eigenvectors, the product, the result


def input_shape(exp: cfg.Experiment) -> tuple[tuple[int, ...], int]:
    """Return (the network's input shape, the number of classes) without loading data
    (an image folder's class count is unknown until it is read: 10 is assumed)."""
    return registry.input_shape(exp.data)


def image_shape(exp: cfg.Experiment) -> tuple[int, ...]:
    """Return the shape of one stored example (images before any crop)."""
    return registry.example_shape(exp.data)


def split_sizes(exp: cfg.Experiment) -> tuple[int, int]:
    """Return (training + validation examples, test examples); 0 where unknown (folders)."""
    d, ds = exp.data, registry.get(exp.data.dataset)
    n_train, n_test = d.n_train or ds.sizes[0], d.n_test or ds.sizes[1]
    if ds.whole:
        n_train, n_test = min(n_train, ds.sizes[0]), min(n_test, ds.sizes[1])
    return n_train, n_test


def available_bytes(device) -> int | None:
    """Return the memory free for a run on this device, or None when it cannot be told."""
    kind = getattr(device, "type", str(device))
    if kind == "cuda":
        import torch
        try:
            return int(torch.cuda.mem_get_info(device)[0])
        except (RuntimeError, AssertionError):
            return None
    if kind not in ("cpu", "mps"):  # mps shares the system's memory
        return None
    free = None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    free = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if free is None:
        try:
            free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    try:  # a container's limit (cgroup v2) may be below what the machine has free
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as f:
            limit = f.read().strip()
        with open("/sys/fs/cgroup/memory.current", encoding="ascii") as f:
            used = int(f.read().strip())
        with open("/sys/fs/cgroup/memory.stat", encoding="ascii") as f:  # page cache is reclaimed
            cache = {k: int(v) for k, v in (line.split() for line in f if line.count(" ") == 1)}
        used -= cache.get("inactive_file", 0)
        if limit.isdigit():
            free = min(free, max(int(limit) - used, 0))
    except (OSError, ValueError):
        pass
    return free


@dataclass(frozen=True)
class Need:
    """One part of a run's memory: what needs it, the setting that sets it, and how much."""
    what: str       # e.g. "model.hidden[1] (hidden2, 100,000 → 100,000)"
    bytes: int
    alone: int      # the part's irreducible core (a layer's weights alone)
    alone_what: str  # what that core is ("its weights alone")
    advice: str     # what to change


def _layer_setting(name: str, mc: cfg.ModelConfig) -> tuple[str, str]:
    """Return (the setting behind a table row, what to do about it)."""
    m = re.fullmatch(r"(hidden|fc|conv)(\d+)", name)
    if m:
        kind, i = m.group(1), int(m.group(2)) - 1
        field = {"hidden": "model.hidden", "fc": "model.fc", "conv": "model.blocks"}[kind]
        if kind == "conv":
            return f"{field}[{i}]", "use fewer channels, or more stride or pooling before it"
        return f"{field}[{i}]", "use fewer units"
    widths = mc.hidden if mc.kind == "mlp" else mc.fc
    if name == "output" and widths:
        return (f"{'model.hidden' if mc.kind == 'mlp' else 'model.fc'}[{len(widths) - 1}]",
                "use fewer units in the last hidden layer")
    return "the output layer", "use a smaller input or more pooling"


def needs(exp: cfg.Experiment, table=None, in_shape=None, n_classes=None) -> list[Need]:
    """Return the parts of the memory a run needs, largest first."""
    from core.nets import models
    if table is None:
        shape, k = input_shape(exp)
        table = models.layer_table(exp.model, in_shape or shape, n_classes or k)
    elem = 8 if exp.train.dtype == "float64" else 4
    o = exp.optim
    state = 2 if o.optimizer == "adam" else (1 if o.momentum > 0 else 0)
    copies = 2 + state
    out: list[Need] = []
    prev = table[0]
    for t in table[1:]:
        if t.params and t.kind in ("linear", "conv"):
            setting, advice = _layer_setting(t.name, exp.model)
            if t.kind == "linear":
                fan_in = t.weights // max(t.out_shape[0], 1)
                shape = f"{fan_in:,} → {t.out_shape[0]:,}"
            else:
                shape = f"{prev.out_shape[0]:,} → {t.out_shape[0]:,} channels"
            out.append(Need(f"{setting} ({t.name}, {shape})", t.params * elem * copies,
                            t.params * elem, "its weights alone", advice))
        if t.kind not in ("activation", "dropout", "flatten"):
            prev = t
    n_train, n_test = split_sizes(exp)
    bs = min(exp.train.batch_size, n_train) if n_train else exp.train.batch_size
    sizes = [math.prod(t.out_shape) for t in table]
    act = sum(sizes) * elem * 2
    biggest = max(table[1:], key=lambda t: math.prod(t.out_shape))
    out.append(Need(f"train.batch_size {bs:,} (a batch's activations: {biggest.name} alone holds "
                    f"{math.prod(biggest.out_shape):,} values per example)", act * bs,
                    act * bs // 2, "the forward pass alone", "lower train.batch_size"))
    eval_bs = (8192 if exp.is_points else 128) if n_test == 0 else min(n_test, 8192 if exp.is_points else 128)
    pair = max((a + b for a, b in zip(sizes, sizes[1:])), default=sizes[0])
    out.append(Need(f"evaluation ({eval_bs:,} examples a batch through {biggest.name})",
                    pair * elem * eval_bs, pair * elem * eval_bs, "that alone",
                    "use fewer units or channels in the widest layer"))
    stored = math.prod(image_shape(exp))
    per = (stored if not exp.is_points else stored * 4) + 8  # uint8 pixels or float32, int64 label
    if n_train + n_test:
        out.append(Need(f"data.n_train / data.n_test ({n_train:,} + {n_test:,} examples kept on the "
                        "device)", (n_train + n_test) * per, (n_train + n_test) * per, "that alone",
                        "use fewer examples (data.n_train, data.n_test) or a smaller data.image_size"))
    if exp.data.standardize == "zca" and not exp.is_points:
        d = stored
        out.append(Need(f"data.standardize = 'zca' at data.image_size {image_shape(exp)[1]} (a "
                        f"{d:,} × {d:,} covariance and its eigendecomposition)",
                        ZCA_COPIES * d * d * 8, d * d * 8, "the covariance alone",
                        "lower data.image_size, or use data.standardize = 'channel'"))
    return sorted(out, key=lambda n: -n.bytes)


def check(exp: cfg.Experiment, device, table=None) -> None:
    """Raise ConfigError naming the largest need when the run cannot fit the device's free memory."""
    free = available_bytes(device)
    if free is None:
        return
    parts = needs(exp, table)
    total = sum(p.bytes for p in parts)
    if total <= free:
        return
    top = parts[0]
    where = "the GPU" if getattr(device, "type", "") == "cuda" else "this machine"
    if top.alone > free:
        raise ConfigError(f"{top.what} needs {gb(top.alone)} for {top.alone_what}, and the run about "
                          f"{gb(total)} in all; {where} has {gb(free)} free: {top.advice}.")
    raise ConfigError(f"the run needs about {gb(total)} of memory and {where} has {gb(free)} free; "
                      f"the largest part is {top.what}, {gb(top.bytes)}: {top.advice}.")


_OOM_TEXT = ("out of memory", "not enough memory", "can't allocate memory", "cannot allocate memory",
             "defaultcpuallocator", "alloc_cpu.cpp", "failed to allocate")


def is_out_of_memory(e: BaseException) -> bool:
    """Return whether an exception is torch (or Python) running out of memory."""
    if isinstance(e, MemoryError):
        return True
    try:
        import torch
        if isinstance(e, torch.OutOfMemoryError):
            return True
    except (ImportError, AttributeError):
        pass
    if isinstance(e, OSError) and e.errno == 12:  # ENOMEM
        return True
    text = str(e).lower()
    return isinstance(e, RuntimeError) and any(s in text for s in _OOM_TEXT)


def failed_allocation(e: BaseException) -> str:
    """Return the size torch failed to allocate, as text ('40.0 GB'), or '' when not said."""
    text = str(e)
    m = re.search(r"allocate (\d+) bytes", text)
    if m:
        return gb(int(m.group(1)))
    m = re.search(r"[Tt]ried to allocate ([\d.]+ ?[KMGT]i?B)", text)
    return m.group(1) if m else ""
