"""Run store: one folder per run with config.toml, metrics.jsonl, summary.json and weights.

Written as the run goes: metrics are appended and flushed each epoch, every other file is
written to a temporary name and renamed, so a run killed mid-way keeps each finished epoch
and never leaves a half-written file behind. Forcing files onto the disk (fsync) and saving
the weights happen at most every SAVE_EVERY_S and at the end: a small network finishes a
hundred epochs a second, and three fsyncs per epoch slowed its training by about 8 %.

This module writes, renames and deletes run folders; core.run_reader reads and lists them
(its names are importable from here too).
"""

from __future__ import annotations

import io
import json
import os
import re
import time
from pathlib import Path

import torch

from core import config as cfg
from core.atomic import atomic_write_bytes, atomic_write_text
from core.errors import LearnScopeError
from core.liveness import INTERRUPTED, STALE_AFTER_S, run_is_gone, writer_identity
from core.records import SPLITS, EpochRecord
from core.run_reader import (SUMMARY_FIELDS, Run, default_root, list_runs, load_weights,
                             open_run, read_json, short_repr)

__all__ = ["INTERRUPTED", "RUN_FILES", "SAVE_EVERY_S", "STALE_AFTER_S", "SUMMARY_FIELDS",
           "Run", "RunError", "RunWriter", "atomic_write_bytes", "atomic_write_text",
           "default_root", "delete_run", "list_runs", "load_weights", "open_run", "rename_run",
           "run_is_gone", "writer_identity"]

SAVE_EVERY_S = 1.0


def _clean(value):
    """Return value with NaN/inf replaced by None: a result file never holds NaN."""
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


class RunWriter:
    """Writes one run's files as training goes (used by the CLI and the GUI alike)."""

    def __init__(self, exp: cfg.Experiment, root: Path | None = None, folder: Path | None = None):
        root = Path(root) if root else default_root()
        if folder is None:
            slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", exp.name or exp.data.dataset).strip("-") or "run"
            stamp = time.strftime("%Y%m%d-%H%M%S")
            folder = root / f"{stamp}-{slug}"
            n = 1
            while folder.exists():
                n += 1
                folder = root / f"{stamp}-{slug}-{n}"
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.summary: dict = {"status": "running", "name": exp.name, "epochs": 0,
                              "started": time.strftime("%Y-%m-%dT%H:%M:%S"), **writer_identity()}
        atomic_write_text(self.folder / "config.toml", cfg.dumps(exp))
        self._metrics = open(self.folder / "metrics.jsonl", "a", encoding="utf-8")
        self._next_save = 0.0
        self._unsaved: dict[str, torch.Tensor] | None = None  # the last epoch's weights, not yet saved
        self._write_summary()

    def _write_summary(self) -> None:
        self.summary["heartbeat"] = time.time()  # a reader on another host tells a dead run by it
        atomic_write_text(self.folder / "summary.json", json.dumps(_clean(self.summary), indent=2))

    def epoch(self, record: EpochRecord, model: torch.nn.Module | None = None) -> None:
        """Append one epoch's metrics (flushed: a killed process keeps them), and at most every
        SAVE_EVERY_S force them to disk and refresh summary and weights."""
        self._metrics.write(json.dumps(_clean(record.to_dict())) + "\n")
        self._metrics.flush()
        self.summary["epochs"] = record.epoch
        for split in SPLITS:
            metrics = record.split(split)
            if metrics is not None:
                self.summary[split] = metrics.to_dict()
        state = None if model is None else {k: v.detach() for k, v in model.state_dict().items()}
        now = time.monotonic()
        if now < self._next_save:
            if state is not None:  # kept on the CPU, saved by the next save or by finish()
                self._unsaved = {k: v.to("cpu", copy=True) for k, v in state.items()}
            return
        self._next_save = now + SAVE_EVERY_S
        self._save(state)

    def _save(self, state: dict[str, torch.Tensor] | None) -> None:
        os.fsync(self._metrics.fileno())
        if state is not None:
            self.save_weights(state)
        self._unsaved = None
        self._write_summary()

    def save_weights(self, weights: torch.nn.Module | dict[str, torch.Tensor]) -> None:
        """Write a model's (or a state dict's) weights as weights.pt, tensors only."""
        if isinstance(weights, torch.nn.Module):
            weights = weights.state_dict()
        buf = io.BytesIO()
        torch.save({k: v.detach().cpu() for k, v in weights.items()}, buf)
        atomic_write_bytes(self.folder / "weights.pt", buf.getvalue())

    def finish(self, status: str, message: str = "", **extra) -> None:
        """Record the final status ('done', 'stopped', 'diverged', 'failed') and close."""
        self.summary.update(status=status, message=message,
                            finished=time.strftime("%Y-%m-%dT%H:%M:%S"), **extra)
        try:
            self._save(self._unsaved)
        finally:
            self._metrics.close()


class RunError(LearnScopeError):
    """A stored run cannot be changed as asked (deleted, renamed); the message says why."""


#: the files a RunWriter leaves in a run folder (and its temporary ones, ".NAME.*.tmp")
RUN_FILES = ("config.toml", "metrics.jsonl", "summary.json", "weights.pt")


def _run_folder(folder: Path, root: Path | None) -> Path:
    """Return folder resolved, after checking that it is a run folder directly inside root."""
    root = (Path(root) if root else default_root()).resolve()
    folder = Path(folder)
    if folder.is_symlink() or not folder.is_dir():
        raise RunError(f"{folder} is not a run folder (it is a link or not a folder).")
    real = folder.resolve()
    if real.parent != root:
        raise RunError(f"{folder} is not a run folder inside {root}.")
    if not (real / "config.toml").is_file():
        raise RunError(f"{folder} holds no config.toml, so it is not a run folder.")
    return real


def _written_by_runs(p: Path) -> bool:
    name = p.name
    ours = name in RUN_FILES or (name.startswith(".") and name.endswith(".tmp")
                                 and any(name.startswith(f".{f}.") for f in RUN_FILES))
    return ours and (p.is_symlink() or p.is_file())


def delete_run(folder: Path, root: Path | None = None) -> None:
    """Delete a run folder inside root (default: default_root()) and the files a run writes.

    Refuses, and deletes nothing, if folder is not a run folder directly inside root or holds
    anything a run did not write (a file of the user's is never deleted by LearnScope)."""
    real = _run_folder(folder, root)
    try:
        entries = list(real.iterdir())
    except OSError as e:
        raise RunError(f"Could not read the run folder {real} ({e.strerror or e}).") from None
    others = sorted(p.name for p in entries if not _written_by_runs(p))
    if others:
        raise RunError(f"The run folder {real} also holds {', '.join(others[:3])}"
                       f"{' …' if len(others) > 3 else ''}, which LearnScope did not write; "
                       "nothing was deleted. Move those out first, or delete the folder in the "
                       "file manager.")
    try:
        for p in entries:
            p.unlink(missing_ok=True)
        real.rmdir()
    except OSError as e:
        raise RunError(f"Could not delete the run folder {real} ({e.strerror or e}).") from None


def rename_run(folder: Path, name: str, root: Path | None = None) -> str:
    """Give a run the name the runs list shows (summary.json "name", rewritten atomically);
    return the name as stored (spaces collapsed)."""
    real = _run_folder(folder, root)
    name = " ".join(str(name).split())
    if not name:
        raise RunError("A run's name cannot be empty.")
    raw, problem = read_json(real / "summary.json")
    if problem or not isinstance(raw, dict):
        reason = problem or f"summary.json holds {short_repr(raw)}, not a table of results"
        raise RunError(f"Cannot rename the run: {reason}.")
    raw["name"] = name
    try:
        text = json.dumps(_clean(raw), indent=2)
    except RecursionError:  # readable, but too deep to write back (hand-edited)
        raise RunError("Cannot rename the run: summary.json is nested too deeply to "
                       "rewrite.") from None
    try:
        atomic_write_text(real / "summary.json", text)
    except OSError as e:
        raise RunError(f"Could not rename the run ({e.strerror or e}).") from None
    return name
