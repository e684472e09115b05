"""What keeps a run: the writers a caller attaches to a Trainer, which writes nothing itself.

The command line, a study's rungs and the window attach the same ones, with `recorded`: the
run folder (RunRecorder), the network's snapshots and, when train.tensorboard names a
folder, TensorBoard events. They
come first among the observers, so a run's files hold an epoch before the window shows it.
"""

from __future__ import annotations

from pathlib import Path

from core.engine.records import BatchChunk, EpochRecord, FitResult
from core.engine.train import Observer, Trainer
from core.experiment import config as cfg
from core.store.runs import RunWriter
from core.store.snapshots import SnapshotWriter
from core.store.tensorboard import EventWriter


class RunRecorder(Observer):
    """Writes the run folder as the run trains (core.store.runs.RunWriter): a new folder in
    run_root (the default runs folder if None), or `folder` itself (a study's rung)."""

    def __init__(self, run_root: Path | str | None = None, folder: Path | str | None = None):
        self.run_root, self.folder = run_root, folder
        self.writer: RunWriter | None = None
        self.model = None
        self.before_finish: list = []  # what must be kept before the summary says "ended"

    def on_run_start(self, exp: cfg.Experiment, model, precision) -> str:
        self.writer = RunWriter(exp, self.run_root, folder=self.folder)
        self.model = model
        # the summary says what the run computed in, and why auto chose it
        self.writer.summary.update(precision=precision.name, memory_format=precision.memory_format,
                                   precision_reason=precision.reason)
        return str(self.writer.folder)

    def on_fit_start(self, info) -> None:
        if self.writer is not None:  # the run's first line: format, compiled or eager, CUDA graphs
            self.writer.summary.update(execution=info.precision)

    def on_batch_end(self, chunk: BatchChunk) -> None:
        if self.writer is not None:  # kept for batches.jsonl, written with the epoch's metrics
            self.writer.batches(chunk)

    def on_epoch_end(self, record: EpochRecord) -> None:
        if self.writer is not None:
            self.writer.epoch(record, self.model)

    def on_run_end(self, result: FitResult) -> None:
        for finish in self.before_finish:  # the snapshots still being written
            finish(result)
        writer, self.writer, self.model = self.writer, None, None
        if writer is None:  # the run ended before its network was built: no folder
            return
        try:
            writer.finish(result.status, result.message)
        except OSError as e:
            result.message += f" (The run's summary could not be written: {e}.)"


def writers_for(exp: cfg.Experiment, run_root: Path | str | None = None,
                folder: Path | str | None = None) -> list[Observer]:
    """The writers a run of exp gets: its folder, its snapshots (core.store.snapshots), and
    TensorBoard events if it asks for them."""
    recorder = RunRecorder(run_root, folder)
    found: list[Observer] = [recorder, SnapshotWriter(recorder)]
    if exp.train.tensorboard:
        found.append(EventWriter(exp))
    return found


def recorded(trainer: Trainer, run_root: Path | str | None = None,
             folder: Path | str | None = None) -> Trainer:
    """Attach the run's writers to trainer, before its other observers; return trainer."""
    trainer.observers[:0] = writers_for(trainer.exp, run_root, folder)
    return trainer
