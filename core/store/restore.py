"""A stored run's trained network, rebuilt from its config and saved weights, without training.

So that a finished run can be looked at again after a restart (the GUI's Inspect views, a
notebook): the run's experiment gives the data (the same seed gives the same splits) and
the network's shape, weights.pt its weights, read without unpickling (weights_only=True).
"""

from __future__ import annotations

import math
import pickle
from dataclasses import dataclass
from pathlib import Path

import torch

from core.experiment import config as cfg
from core.nets import models
from core.store import runs as store
from core.store import reader as run_reader
from core.data import loader
from core import ConfigError, LearnScopeError
from core.engine.devices import resolve_device


@dataclass
class RestoredRun:
    """What a look at a trained network needs: the experiment, its data and the model (in eval
    mode). It answers the few questions the GUI's views ask of a trainer (model, data, exp,
    parked), so that they show it as they show a run that just ended."""

    folder: Path
    name: str
    exp: cfg.Experiment
    data: loader.Data
    model: torch.nn.Module
    epochs: int
    steps: int          # training steps the weights have taken (epochs × steps per epoch)
    device: torch.device
    parked: bool = True  # never training: views compute on it directly
    stored: bool = True  # a run read back from its folder (a view may say what it lacks)


def final_weights(run: run_reader.Run) -> dict[str, torch.Tensor]:
    """The run's weights.pt as tensors; RunError says why they cannot be had."""
    path = run.folder / "weights.pt"
    if not path.is_file():
        epochs = run.summary.get("epochs", 0)
        why = ("it ended before its first epoch finished" if not epochs else
               "the file is missing")
        raise store.RunError(f"The run {run.name} has no saved weights (weights.pt): {why}, so "
                             "there is no trained network to inspect.")
    try:
        state = run_reader.load_weights(run.folder)
    except pickle.UnpicklingError as e:
        if "unsupported global" in str(e).lower():  # it names code, which torch refused to load
            raise store.RunError(f"The run {run.name}'s weights.pt holds more than tensors; "
                                 "LearnScope reads only plain weights and did not open it.") from None
        raise store.RunError(f"The run {run.name}'s weights.pt is damaged and cannot be read; "
                             "train the run again to inspect it.") from None
    except Exception as e:  # a truncated or overwritten file: zip, EOF, runtime errors
        raise store.RunError(f"The run {run.name}'s weights.pt is damaged and cannot be read "
                             f"({type(e).__name__}); train the run again to inspect it.") from None
    if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise store.RunError(f"The run {run.name}'s weights.pt does not hold a network's weights.")
    return state


def restore(run: run_reader.Run, device: str | None = None) -> RestoredRun:
    """Rebuild a stored run's data and trained network; RunError or DataError say why not.

    device: where to put them (default: the run's own train.device, or the CPU when this
    machine does not have it)."""
    exp = run.experiment
    if exp is None:
        raise store.RunError(f"Cannot inspect the run {run.name}: "
                             f"{run.problem or 'its config.toml cannot be read'}.")
    state = final_weights(run)  # before the data: a missing file is said at once
    try:
        dev = resolve_device(device or exp.train.device)
    except ConfigError:
        dev = torch.device("cpu")
    dtype = torch.float64 if exp.train.dtype == "float64" else torch.float32
    data = loader.load(exp.data, exp.train.seed, dev, dtype=dtype)  # DataError says what is missing
    try:
        with torch.device("meta"):  # built empty: nothing drawn from torch's random generator
            model = models.build(exp.model, data.input_shape, len(data.classes))
    except LearnScopeError as e:
        raise store.RunError(f"Cannot rebuild the run {run.name}'s network: {e}") from None
    model = model.to_empty(device=dev).to(dtype)
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        lines = [line.strip() for line in str(e).strip().splitlines()[1:] if line.strip()]
        why = "; ".join(lines)[:300] or type(e).__name__
        raise store.RunError(f"The run {run.name}'s weights.pt does not fit the network its "
                             f"config.toml describes ({why}).") from None
    model.eval()
    epochs = int(run.summary.get("epochs") or 0)
    n = len(data.train)
    steps = epochs * math.ceil(n / max(1, min(exp.train.batch_size, n)))
    return RestoredRun(run.folder, run.name, exp, data, model, epochs, steps, dev)
