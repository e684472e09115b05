"""TensorBoard event files from a stored run: its curves, its batches and its first layer's
filters, with the same tags as a run written live (core.store.tensorboard), in
`<folder>/<its run folder's name>/` so a study's rungs land side by side and
`tensorboard --logdir <folder>` overlays them.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

import torch

from core import ExportError, files
from core.data import registry as datasets
from core.store import reader as run_reader
from core.store.tensorboard import (EVENT_PREFIX, _experiment_text, _summary_writer, _write_epoch,
                                    _write_image, _write_steps, filter_image)


# ---------------------------------------------------------------- from a stored run
def _run_state(run: run_reader.Run) -> dict[str, torch.Tensor] | None:
    """The run's saved weights, or None when it has none; ExportError when they are damaged."""
    if not (run.folder / "weights.pt").is_file():
        return None
    try:
        state = run_reader.load_weights(run.folder)
    except Exception as e:  # refused pickles, truncated files: weights_only=True reads tensors only
        raise ExportError(f"The run {run.name}'s weights.pt cannot be read ({type(e).__name__}); "
                          "train the run again to export its filters.") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ExportError(f"The run {run.name}'s weights.pt does not hold a network's weights.")
    return state


def _place(tmp: Path, out: Path) -> None:
    """Move the new event file from tmp into out, replacing an earlier export's."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob(EVENT_PREFIX + "*"):
        old.unlink()
    for new in tmp.iterdir():
        os.replace(new, out / new.name)
    tmp.rmdir()


def export_run(run_folder: Path | str, log_dir: Path | str) -> Path:
    """Write a stored run's curves (metrics.jsonl), the loss and accuracy of each of its
    batches (batches.jsonl, where it has one; damaged lines left out) and its saved weights'
    first-layer filters (once, at its last epoch) as TensorBoard events in
    `<log_dir>/<run folder's name>/`;
    return that folder. An earlier export there is replaced. A run without weights gets its
    curves only. ExportError says why nothing could be written."""
    summary_writer = _summary_writer(ExportError, "Exporting to TensorBoard ")
    folder = Path(run_folder).resolve()  # `export .` from inside a run: "." has no name
    if not (folder / "metrics.jsonl").is_file():
        raise ExportError(f"{folder} is not a run folder (it has no metrics.jsonl); give a "
                          "folder from the runs list.")
    run = run_reader.open_run(folder)
    records = run.metrics()
    if not records:
        raise ExportError(f"The run {run.name} has no finished epoch: there are no curves to "
                          "export.")
    state = _run_state(run)
    shape = datasets.input_shape(run.experiment.data)[0] if run.experiment else None
    out = Path(log_dir).expanduser() / folder.name
    files.refuse_own_input(folder, out, "--tensorboard")
    if files.inside(folder, out):  # out is replaced whole: it must not hold the run
        raise ExportError(f"--tensorboard: {out} holds the run it exports ({folder}) and would "
                          "be replaced; choose a folder outside it.")
    tmp = out.parent / f".{out.name}.{secrets.token_hex(4)}.tmp"  # never half an export in out
    try:
        tmp.mkdir(parents=True)
        writer = summary_writer(log_dir=str(tmp))
        try:
            if run.experiment is not None:
                writer.add_text("experiment", _experiment_text(run.experiment), 0)
            for r in records:
                _write_epoch(writer, r.to_dict(), r.epoch)
            steps = run.batches()
            _write_steps(writer, steps.steps, steps.loss, steps.accuracy)
            if state is not None:
                _write_image(writer, filter_image(state, shape), records[-1].epoch)
        finally:
            writer.close()
        _place(tmp, out)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ExportError(f"Cannot write TensorBoard event files in {out} ({e.strerror or e}); "
                          "choose a folder you can write to, or free some disk space.") from None
    return out
