"""Which number format a run computes in: fp32, or bf16 / fp16 autocast, and its memory format.

`train.precision = "auto"` picks bf16 only where the device computes it natively — a CPU
with AMX or AVX-512 BF16, a CUDA device with bf16 — because elsewhere bf16 is emulated and
slower than fp32: a laptop without it must never be slowed. Autocast keeps the weights, the
optimiser's state, the loss, the softmax and batch norm's statistics in fp32; only the
convolutions and matrix products run in the low format. Channels-last goes with it for
convolutional networks: oneDNN's bf16 kernels want it (3× instead of 1.5× on the practical
CNN in a bare probe). The Part 1 MLP and float64 runs stay in their dtype.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path

import torch

from core import ConfigError


@dataclass(frozen=True)
class Precision:
    name: str                     # fp32 | bf16 | fp16
    channels_last: bool = False   # the convolutions' memory format
    reason: str = ""              # why auto chose it, for the run's summary
    cache: bool = True            # autocast's cache of cast weights (off for a captured step)

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.name)

    @property
    def memory_format(self) -> str:
        return "channels-last" if self.channels_last else "contiguous"

    @property
    def plain(self) -> bool:
        """fp32 in the default memory format: the step needs nothing of this module."""
        return self.name == "fp32" and not self.channels_last

    def describe(self) -> str:
        """One phrase for the training bar and the CLI's first line: 'bf16 autocast, channels-last'."""
        what = "fp32" if self.name == "fp32" else f"{self.name} autocast"
        return f"{what}, {self.memory_format}"

    def autocast(self, device: torch.device):
        """The context the forward pass runs in (the loss is computed after it, in fp32)."""
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=self.autocast_dtype, cache_enabled=self.cache)

    def for_capture(self) -> "Precision":
        """The same format for a step captured as a CUDA graph: autocast's cached casts would
        outlive the capture (PyTorch's CUDA graphs notes ask for cache_enabled=False)."""
        return dataclasses.replace(self, cache=False)

    def input(self, x: torch.Tensor) -> torch.Tensor:
        """A batch in the network's memory format."""
        if self.channels_last and x.dim() == 4:
            return x.contiguous(memory_format=torch.channels_last)
        return x

    def output(self, out: torch.Tensor) -> torch.Tensor:
        """Logits back in fp32, so the loss, softmax and metrics are computed in fp32."""
        return out.float() if out.dtype in (torch.bfloat16, torch.float16) else out

    def scaler(self, device: torch.device):
        """fp16 gradients underflow without loss scaling; bf16 has fp32's range and needs none."""
        return torch.amp.GradScaler(device.type) if self.name == "fp16" else None

    def forward(self, model: torch.nn.Module, x: torch.Tensor, device: torch.device) -> torch.Tensor:
        """The network's logits for a batch, computed in this format, returned in fp32."""
        if self.plain:
            return model(x)
        with self.autocast(device):
            return self.output(model(self.input(x)))


@functools.lru_cache(maxsize=None)
def _cpu_flags() -> frozenset[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:  # not Linux
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware (AMX tiles or AVX-512 BF16), asked of torch
    first and of the kernel's CPU flags where torch does not say."""
    probes = [getattr(torch.cpu, n, None) for n in ("_is_amx_tile_supported", "_is_avx512_bf16_supported")]
    try:
        if any(p() for p in probes if p is not None):
            return True
    except RuntimeError:
        pass
    return bool({"amx_bf16", "avx512_bf16"} & _cpu_flags())


def cuda_has_bf16(device: torch.device) -> bool:
    try:
        major, _ = torch.cuda.get_device_capability(device)
    except (RuntimeError, AssertionError):
        return False
    return major >= 8  # Ampere and later compute bf16 natively; older cards emulate it


def native_bf16(device: torch.device) -> bool:
    if device.type == "cpu":
        return cpu_has_native_bf16()
    if device.type == "cuda":
        return cuda_has_bf16(device)
    return False


def choose(setting: str, device: torch.device, *, cnn: bool, dtype: str = "float32",
           implementation: str = "optim") -> Precision:
    """Return the precision a run uses for train.precision = setting on this device (config
    has refused bf16 / fp16 for float64 and hand-written runs)."""
    if setting == "auto":
        if dtype != "float32":
            return Precision("fp32", reason=f"train.dtype is {dtype}")
        if not cnn or implementation != "optim":
            return Precision("fp32", reason="an MLP is too small for autocast to pay")
        if not native_bf16(device):
            return Precision("fp32", reason=f"{device.type} has no native bf16")
        return Precision("bf16", cnn, reason=f"{device.type} computes bf16 natively")
    if setting == "fp32":
        return Precision("fp32", reason="train.precision = 'fp32'")
    if setting == "fp16" and device.type != "cuda":
        raise ConfigError("train.precision: 'fp16' needs a CUDA device (CPUs compute bf16, not "
                          "fp16); use 'bf16' or 'auto'")
    return Precision(setting, cnn, reason=f"train.precision = {setting!r}")
