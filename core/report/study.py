"""The lab report of a study folder (core.study.runner): the base experiment's settings, what each
rung changes, the rung table of study.json, a bar of test accuracy per rung and every rung's
test accuracy per epoch."""

from __future__ import annotations

import math
from pathlib import Path

from core.report import parts as parts
from core.report import questions as questions
from core.report import svg as svg
from core import study as studies
from core import ExportError, LearnScopeError, files
from core.engine.records import EpochRecord, is_number
from core.report.model import Figure, Report, Section, Table, Text
from core.store.reader import open_run, read_json

#: short words: a PDF page holds the eleven columns side by side
RUNG_HEADER = ("#", "rung", "Q", "status", "train acc.", "test acc.", "best (by, epoch)",
               "change", "step", "epochs", "s")


def _pct(v) -> str:
    return f"{v:.2f} %" if is_number(v) and math.isfinite(v) else "—"


def _rung_row(row: dict) -> tuple[str, ...]:
    best, by = row.get("best_test"), row.get("best_by", "test")
    best_text = ("—" if not is_number(best) else
                 f"{by} {best:.2f} % ({row.get('best_epoch')})")
    change = row.get("change")
    step, seconds = row.get("effective_step"), row.get("seconds")
    return (str(row.get("index", "")), str(row.get("label", "")),
            "" if row.get("question") is None else f"Q{row['question']}",
            str(row.get("status", "")) + (" (stalled)" if row.get("stalled") else ""),
            _pct(row.get("train_accuracy")), _pct(row.get("test_accuracy")), best_text,
            f"{change:+.2f}" if is_number(change) else "—",
            f"{step:.3g}" if is_number(step) else "—", str(row.get("epochs", 0)),
            f"{seconds:.1f}" if is_number(seconds) else "—")


def _rows(folder: Path) -> tuple[dict, list[dict]]:
    table, problem = read_json(folder / "study.json")
    if problem or not isinstance(table, dict) or not isinstance(table.get("rungs"), list):
        raise ExportError(f"Cannot report on the study in {folder}: "
                          f"{problem or 'study.json holds no table of rungs'}.")
    rows = [r for r in table["rungs"] if isinstance(r, dict)]
    if not any(is_number(r.get("epochs")) and r["epochs"] > 0 for r in rows):
        raise ExportError(f"The study {table.get('name', folder.name)} has no rung with a "
                          "finished epoch yet, so there is nothing to report; train it first.")
    return table, rows


def _rung_records(folder: Path, rows: list[dict]) -> list[tuple[dict, list[EpochRecord]]]:
    out = []
    for row in rows:
        name = row.get("run_folder")
        if isinstance(name, str) and name and "/" not in name and (folder / name).is_dir():
            out.append((row, open_run(folder / name).metrics()))
    return out


def _study_curves(rungs: list[tuple[dict, list[EpochRecord]]], kind: str) -> Figure:
    series = []
    for i, (row, records) in enumerate(r for r in rungs if r[1]):
        ys = tuple(r.held().accuracy if r.held() is not None else math.nan for r in records)
        series.append(svg.Series(f"{row.get('index', i + 1)}. {row.get('label', '')}",
                                 svg.PALETTE[i % len(svg.PALETTE)],
                                 tuple(float(r.epoch) for r in records), ys))
    drawing = svg.charts([svg.Panel("Test accuracy", "accuracy (%)", tuple(series))], 760, 340)
    return Figure("study-curves", questions.title("study-curves", kind), svg=drawing,
                  caption="One line per rung (test split, or validation where there is none).")


def _base(folder: Path, rungs) -> tuple[list, str]:
    """The base experiment's settings and what each variant sets, from study.toml; the model
    kind (the last rung's, which holds every change of a ladder)."""
    try:
        study = studies.load(folder / "study.toml")
    except (LearnScopeError, OSError, ValueError) as e:
        return [Text(f"The study's settings cannot be read from study.toml ({e}).")], "mlp"
    variants = Table("variants", "What each rung sets (on top of the previous ones)"
                     if study.kind == "cumulative" else "What each run changes",
                     ("rung", "question", "settings", "why"),
                     [(v.label, "" if v.question is None else f"Q{v.question}",
                       ", ".join(v.overrides) or "(the base)", v.text) for v in study.variants])
    return [*parts.settings_tables(study.base), variants], study.base.model.kind


def _network(folder: Path, rows: list[dict], kind: str) -> list:
    for row in reversed(rows):  # the last rung that kept its config: every change of a ladder
        name = row.get("run_folder")
        if isinstance(name, str) and files.kind_of(folder / name) == files.RUN:
            run = open_run(folder / name)
            if run.experiment is not None:
                return [Text(f"The network of rung {row.get('index')} ({row.get('label')})."),
                        *parts.layer_table(run.experiment, None)]
    return [Text("No rung kept its config.toml, so there is no layer table.")]


def _kind(folder: Path) -> str:
    try:
        return studies.load(folder / "study.toml").base.model.kind
    except (LearnScopeError, OSError, ValueError):
        return "mlp"


def study_outline(folder: Path) -> list[tuple[str, str]]:
    """Return (id, title) of the figures study_report makes, without reading the rungs."""
    table, _problem = read_json(folder / "study.json")
    rows = table.get("rungs") if isinstance(table, dict) else None
    rows = [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []
    return [("study-bars", questions.study_bars_title([r.get("question") for r in rows])),
            ("study-curves", questions.title("study-curves", _kind(folder)))]


def study_report(folder: Path) -> Report:
    """Return the report of a study folder; ExportError when study.json cannot be read or no
    rung has finished an epoch."""
    table, rows = _rows(folder)
    name = str(table.get("name") or folder.name)
    facts = [("Study", name), ("Folder", str(folder)), ("Kind", str(table.get("kind", ""))),
             ("Rungs", f"{sum(r.get('status') in ('done', 'diverged') for r in rows)} of "
                       f"{len(rows)} ended"), ("Updated", str(table.get("updated", "")))]
    report = Report(f"Lab report — study {name}", "study", folder, facts)
    settings, kind = _base(folder, rows)
    rungs = _rung_records(folder, rows)
    results = [Text(str(table["text"]))] if table.get("text") else []
    results.append(Table("rungs", questions.rungs_title(str(table.get("kind", ""))), RUNG_HEADER,
                         [_rung_row(r) for r in rows], (True, False, False, False) + (True,) * 7))
    results += [Text(f"Rung {r.get('index')} ({r.get('label')}): {r['message']}") for r in rows
                if r.get("message") and (r.get("stalled") or r.get("status") != "done")]
    bars_title = questions.study_bars_title([r.get("question") for r in rows])
    bars = svg.bars([f"{r.get('index')}. {r.get('label', '')}" for r in rows],
                    [r.get("test_accuracy") if is_number(r.get("test_accuracy")) else None
                     for r in rows])
    results.append(Figure("study-bars", bars_title, svg=bars,
                          caption="The test accuracy after each rung's last epoch."))
    if any(records for _row, records in rungs):
        results.append(_study_curves(rungs, kind))
    report.sections = [Section("Results", results), Section("Settings", settings),
                       Section("Network", _network(folder, rows, kind))]
    return report
