"""The lab report of one run folder: its settings, layer table, curves, final metrics, the first
layer's filters (from weights.pt) and the held-out split's confusion matrix at the last epoch."""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from core.nets import inspect as ins
from core.report import parts as parts
from core.report import questions as questions
from core.report import svg as svg
from core.data import registry as datasets
from core import ExportError, LearnScopeError
from core.report.model import LEARNED, Figure, Report, Section, Text
from core.report.png import filters_png
from core.store.restore import restore
from core.store.reader import Run, load_weights, open_run


def _weights(run: Run) -> tuple[dict[str, torch.Tensor] | None, str]:
    """Return the run's saved weights (None if it has none it can read) and why not."""
    if not (run.folder / "weights.pt").is_file():
        return None, "The run has no saved weights (weights.pt)"
    try:
        state = load_weights(run.folder)
    except (pickle.UnpicklingError, RuntimeError, OSError, EOFError, ValueError) as e:
        return None, f"The run's weights.pt cannot be read ({type(e).__name__})"
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        return None, "The run's weights.pt does not hold a network's weights"
    return state, ""


def _confusion(run: Run, kind: str) -> Figure | Text:
    """The confusion counts of the held-out split, from the saved weights (which are the last
    epoch's: metrics.jsonl does not keep the counts the trainer measured)."""
    try:
        restored = restore(run, device="cpu")
    except LearnScopeError as e:
        return Text(f"No confusion matrix: {e}")
    data = restored.data
    split, name = (data.test, "test") if len(data.test) else (data.val, "validation")
    if not len(split):
        return Text("No confusion matrix: this run has neither a test nor a validation split.")
    counts = ins.confusion_matrix(restored.model, data, split)
    title = questions.title("confusion", kind)
    right = int(counts.trace())
    return Figure("confusion", title, svg=svg.confusion(counts, list(data.classes)),
                  caption=f"The {name} split after epoch {restored.epochs}: {right} of "
                          f"{int(counts.sum())} right. Row = true class, column = predicted.")


def _facts(run: Run, last_epoch: int) -> list[tuple[str, str]]:
    s = run.summary
    status = s.get("status", "unknown") + (f" — {s['message']}" if s.get("message") else "")
    facts = [("Run", run.name), ("Folder", str(run.folder)), ("Status", status),
             ("Epochs", f"{last_epoch} of {run.experiment.train.epochs}")]
    facts += [(label, s[key]) for key, label in (("started", "Started"), ("finished", "Finished"),
                                                 ("host", "Host")) if s.get(key)]
    return facts


def _learned(run: Run, state, why_not: str, kind: str) -> Section:
    section = Section(LEARNED)
    if state is None:
        section.items.append(Text(f"{why_not}, so its filters and confusion matrix are not shown."))
        return section
    shape, _classes = datasets.input_shape(run.experiment.data)
    pic = filters_png(state, shape)
    if pic is not None:
        png, caption = pic
        section.items.append(Figure("filters", questions.title("filters", kind), png=png,
                                    caption=caption))
    section.items += _replay_strip(run, kind)
    section.items.append(_confusion(run, kind))
    return section


STRIP = 6  # epochs in the report's strip: enough to see the change, small enough for a page


def _replay_strip(run: Run, kind: str) -> list:
    """The run's picture (filters, or the decision boundary) at a few kept epochs, side by
    side; nothing for a run without snapshots, a sentence for one whose cannot be drawn."""
    from core.report import replay
    from core.report.png import encode_png
    from core.store import snapshots
    kept = snapshots.epochs(run.folder)
    if len(kept) < 2:
        return []
    shown = replay.spread(kept, STRIP)
    try:
        made = replay.frames(run.folder, None, shown)
    except LearnScopeError as e:
        return [Text(f"The replay of its epochs cannot be drawn: {e}")]
    view = replay.view_for(datasets.input_shape(run.experiment.data)[0])
    return [Figure("replay", questions.title("replay", kind), png=encode_png(replay.strip(made)),
                   caption=f"{replay.VIEWS[view].capitalize()} at epochs "
                           f"{', '.join(map(str, shown))} (epoch 0: the initial weights), "
                           "from the snapshots the run kept; the Inspect timeline shows every "
                           "kept epoch.")]


def run_report(folder: Path) -> Report:
    """Return the report of a run folder; ExportError when it cannot be read or has no epoch."""
    run = open_run(folder)
    if run.experiment is None:
        raise ExportError(f"Cannot report on the run {run.name}: "
                          f"{run.problem or 'its config.toml cannot be read'}.")
    records = run.metrics()
    if not records:
        raise ExportError(f"The run {run.name} has no finished epoch (its metrics.jsonl holds "
                          "none), so there is nothing to report; train it for at least one epoch.")
    exp = run.experiment
    kind = exp.model.kind
    state, why_not = _weights(run)
    report = Report(f"Lab report — {run.name}", "run", run.folder, _facts(run, records[-1].epoch))
    if run.metrics_problem:
        report.facts.append(("Note", run.metrics_problem))
    report.sections = [
        Section("Settings", parts.settings_tables(exp)),
        Section("Network", parts.layer_table(exp, state)),
        Section("Training", [parts.curves(records, kind), *parts.metrics_table(records, kind)]),
        _learned(run, state, why_not, kind)]
    return report
