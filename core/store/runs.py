"""Run store: one folder per run with config.toml, metrics.jsonl, batches.jsonl, summary.json
and weights.

Written as the run goes: metrics are appended and flushed each epoch, every other file is
written to a temporary name and renamed, so a run killed mid-way keeps each finished epoch
and never leaves a half-written file behind. Forcing files onto the disk (fsync) and saving
the weights happen at most every SAVE_EVERY_S and at the end: a small network finishes a
hundred epochs a second, and three fsyncs per epoch slowed its training by about 8 %.
The training loss of every batch goes to batches.jsonl, one line per epoch (its steps, losses
and accuracies as lists): the chunks the trainer reads back are kept in memory and written with
the epoch's metrics line, so a step costs nothing more than it did.

This module writes, renames and deletes run folders (a study's rungs, in its folder, too) and
deletes study folders; core.store.reader reads and lists them (its names are importable from
here too).
"""

from __future__ import annotations

import io
import json
import os
import re
import time
from pathlib import Path

import numpy as np
import torch

from core.experiment import config as cfg
from core import files
from core.files.atomic import atomic_write_bytes, atomic_write_text
from core import LearnScopeError
from core.store.liveness import writer_identity
from core.engine.records import SPLITS, BatchChunk, EpochRecord
from core.store.reader import default_root, read_json, short_repr

SNAPSHOTS = "snapshots"  # core.store.snapshots' folder in a run (that module imports this one)
SNAPSHOT = re.compile(r"^epoch-\d{4,}\.safetensors$")

# what it writes and edits; reading a run back is core.store.reader's
__all__ = ["RUN_FILES", "SAVE_EVERY_S", "RunError", "RunWriter", "delete_run", "delete_study",
           "json_safe", "rename_run"]

SAVE_EVERY_S = 1.0


def json_safe(value):
    """Return value with NaN/inf replaced by None: a result file never holds NaN."""
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


class RunWriter:
    """Writes one run's files as training goes (used by the CLI and the GUI alike)."""

    def __init__(self, exp: cfg.Experiment, root: Path | None = None, folder: Path | None = None):
        root = Path(root) if root else default_root()
        if folder is None:
            slug = files.path_name(files.slug(exp.name or exp.data.dataset, "run"), "name",
                                   files.STAMPED)
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
        self._batches = open(self.folder / "batches.jsonl", "a", encoding="utf-8")
        self._chunks: list[BatchChunk] = []  # this epoch's training steps, not written yet
        self._next_save = 0.0
        self._unsaved: dict[str, torch.Tensor] | None = None  # the last epoch's weights, not yet saved
        self._write_summary()

    def _write_summary(self) -> None:
        self.summary["heartbeat"] = time.time()  # a reader on another host tells a dead run by it
        atomic_write_text(self.folder / "summary.json", json.dumps(json_safe(self.summary), indent=2))

    def batches(self, chunk: BatchChunk) -> None:
        """Keep a chunk of training steps for batches.jsonl (written with its epoch's line)."""
        self._chunks.append(chunk)

    def _write_batches(self) -> None:
        """Append the kept steps as one line (an epoch's, or the part of one a stop ended)."""
        chunks, self._chunks = self._chunks, []
        if not chunks:
            return
        line = {"epoch": chunks[0].epoch, "lr": json_safe(chunks[0].lr)}
        for name in ("steps", "loss", "accuracy"):
            values = np.concatenate([getattr(c, name) for c in chunks])
            # finite as the trainer reports them (it stops at a NaN), so no per-step cleaning
            line[name] = values.tolist() if np.isfinite(values).all() else json_safe(values.tolist())
        self._batches.write(json.dumps(line) + "\n")
        self._batches.flush()

    def epoch(self, record: EpochRecord, model: torch.nn.Module | None = None) -> None:
        """Append one epoch's metrics and batches (flushed: a killed process keeps them), and
        at most every SAVE_EVERY_S force them to disk and refresh summary and weights."""
        self._write_batches()
        self._metrics.write(json.dumps(json_safe(record.to_dict())) + "\n")
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
        os.fsync(self._batches.fileno())
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
            self._write_batches()  # the steps of an epoch a stop or a divergence ended
            self._save(self._unsaved)
        finally:
            self._metrics.close()
            self._batches.close()


class RunError(LearnScopeError):
    """A stored run cannot be changed as asked (deleted, renamed); the message says why."""


#: the files a RunWriter leaves in a run folder (and its temporary ones, ".NAME.*.tmp")
# notes.json: the lab report's notes under each figure; rung.json: a study rung's result
RUN_FILES = ("config.toml", "metrics.jsonl", "batches.jsonl", "summary.json", "weights.pt",
             "notes.json", "rung.json")


def _in_a_study(real: Path, root: Path) -> bool:
    """Whether real (resolved) is a rung's folder: in a study folder directly inside root."""
    study = real.parent
    return (study.parent == root and files.kind_of(study) == files.STUDY
            and not (root / study.name).is_symlink())


def _run_folder(folder: Path, root: Path | None) -> Path:
    """Return folder resolved, after checking that it is a run folder directly inside root, or
    a rung's folder inside a study folder of root."""
    root = (Path(root) if root else default_root()).resolve()
    folder = Path(folder)
    if folder.is_symlink() or not folder.is_dir():
        raise RunError(f"{folder} is not a run folder (it is a link or not a folder).")
    real = folder.resolve()
    if real.parent != root and not _in_a_study(real, root):
        raise RunError(f"{folder} is not a run folder inside {root}.")
    if files.kind_of(real) != files.RUN:
        raise RunError(f"{folder} holds no config.toml, so it is not a run folder.")
    return real


def _snapshot_file(name: str) -> bool:
    return bool(SNAPSHOT.match(name)) or (name.startswith(".epoch-") and name.endswith(".tmp"))


def _written_by_runs(p: Path) -> bool:
    name = p.name
    if name == SNAPSHOTS and p.is_dir() and not p.is_symlink():  # core.store.snapshots
        return all(_snapshot_file(q.name) and q.is_file() and not q.is_symlink()
                   for q in p.iterdir())
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
            if p.name == SNAPSHOTS and p.is_dir() and not p.is_symlink():
                for q in p.iterdir():
                    q.unlink(missing_ok=True)
                p.rmdir()
            else:
                p.unlink(missing_ok=True)
        real.rmdir()
    except OSError as e:
        raise RunError(f"Could not delete the run folder {real} ({e.strerror or e}).") from None


#: the files core.study.runner leaves in a study folder beside its rungs' folders
STUDY_FILES = ("study.toml", "study.json", "notes.json", "study.lock")


def _written_by_study(p: Path) -> bool:
    name = p.name
    ours = name in STUDY_FILES or (name.startswith(".") and name.endswith(".tmp")
                                   and any(name.startswith(f".{f}.") for f in STUDY_FILES))
    return ours and (p.is_symlink() or p.is_file())


def _study_parts(real: Path) -> tuple[list[Path], list[Path], list[Path]]:
    """Return a study folder's rung folders, its empty reserved rung folders (an attempt killed
    before it began) and its own files; refuse anything else it holds."""
    rungs, empty, own, others = [], [], [], []
    for p in sorted(real.iterdir()):
        if _written_by_study(p):
            own.append(p)
        elif p.is_dir() and not p.is_symlink() and files.kind_of(p) == files.RUN:
            rungs.append(p)
        elif p.is_dir() and not p.is_symlink() and p.name.startswith("rung-") \
                and not any(p.iterdir()):
            empty.append(p)
        else:
            others.append(p.name)
    for rung in rungs:
        others += [f"{rung.name}/{q.name}" for q in rung.iterdir() if not _written_by_runs(q)]
    if others:
        raise RunError(f"The study folder {real} also holds {', '.join(others[:3])}"
                       f"{' …' if len(others) > 3 else ''}, which LearnScope did not write; "
                       "nothing was deleted. Move those out first, or delete the folder in the "
                       "file manager.")
    return rungs, empty, own


def delete_study(folder: Path, root: Path | None = None) -> None:
    """Delete a study folder directly inside root: its rungs' run folders and its study.toml
    and study.json. Refuses, and deletes nothing, if it holds anything else."""
    root = (Path(root) if root else default_root()).resolve()
    folder = Path(folder)
    if folder.is_symlink() or not folder.is_dir() or files.kind_of(folder) != files.STUDY:
        raise RunError(f"{folder} is not a study folder (no study.toml or study.json in it).")
    real = folder.resolve()
    if real.parent != root:
        raise RunError(f"{folder} is not a study folder inside {root}.")
    try:
        rungs, empty, own = _study_parts(real)
        for rung in rungs:
            delete_run(rung, root)
        for p in empty:
            p.rmdir()
        for p in own:
            p.unlink(missing_ok=True)
        real.rmdir()
    except OSError as e:
        raise RunError(f"Could not delete the study folder {real} ({e.strerror or e}).") from None


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
        text = json.dumps(json_safe(raw), indent=2)
    except RecursionError:  # readable, but too deep to write back (hand-edited)
        raise RunError("Cannot rename the run: summary.json is nested too deeply to "
                       "rewrite.") from None
    try:
        atomic_write_text(real / "summary.json", text)
    except OSError as e:
        raise RunError(f"Could not rename the run ({e.strerror or e}).") from None
    return name
