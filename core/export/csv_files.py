"""Metrics as CSV: a run's epochs (`export_run`) and a study's rungs (`export_study`).

Numbers are written as Python writes floats (the shortest text that reads back as the same
float), so a spreadsheet or `csv` + `float()` gets exactly the values of metrics.jsonl and
study.json; a value the run store holds as null (a NaN or infinite loss, a rung not trained
yet) is an empty cell. Text that a spreadsheet would take for a formula (`=`, `+`, `-`, `@`, a
tab or a carriage return first) gets a leading single quote (cell). Files are written atomically
(core.files.atomic).

Per-batch losses: `export_run` also writes `<stem>-batches.csv` beside the epoch table, one
row per training step (step, epoch, loss, accuracy, lr) with the values of the run folder's
batches.jsonl. A run of an older LearnScope has no batches.jsonl: it gets the epoch table only.
Lines of batches.jsonl that cannot be read are left out, as the runs list leaves them out.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from core import files
from core.files.atomic import atomic_write_text
from core import ExportError
from core.engine.records import SPLITS, is_number
from core.store.reader import Batches, read_batches, read_json

#: the metrics of a split, in the order of their columns (train_loss, train_accuracy, …)
SPLIT_FIELDS = ("loss", "accuracy", "top5")
#: the epoch record's other numbers, in metrics.jsonl's key names
EPOCH_FIELDS = ("lr", "seconds", "images_per_s")
#: the first characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value) -> str:
    """Return a value as a CSV cell: numbers exactly (repr), null as empty, true/false as such,
    and text that a spreadsheet would run as a formula (a study label `=HYPERLINK(…)`) behind a
    single quote, as OWASP advises, so that it stays text. Only text: a number such as -0.5 is
    written as a number, which no spreadsheet runs."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return str(value)


def _table(header: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _write(out_file: Path, text: str) -> Path:
    """Write text to out_file atomically; ExportError names the folder when it cannot."""
    out_file = Path(out_file)
    try:
        atomic_write_text(out_file, text)
    except OSError as e:
        raise ExportError(f"Could not write {out_file.name} in {out_file.parent} "
                          f"({e.strerror or e}); choose a folder you can write to.") from None
    return out_file


def epoch_records(run_folder: Path) -> list[dict]:
    """Return metrics.jsonl's lines as dicts, leaving out any that is not an epoch record (a
    torn last line of a killed run, a hand-edited one), as the runs list does."""
    path = Path(run_folder) / "metrics.jsonl"
    if files.kind_of(run_folder) != files.RUN:
        raise ExportError(f"{run_folder} is not a run folder (it holds no config.toml); give the "
                          "folder of a run, such as one `python -m core train` wrote.")
    try:
        text = files.read_bytes(path, files.LOG_LIMIT).decode("utf-8", errors="replace")
    except FileNotFoundError:
        raise ExportError(f"The run {Path(run_folder).name} has no metrics.jsonl: it finished no "
                          "epoch, so there is nothing to export; train it first.") from None
    except OSError as e:
        raise ExportError(f"Could not read {path} ({e.strerror or e}).") from None
    out = []
    for line in text.split("\n"):
        try:
            d = json.loads(line) if line.strip() else None
        except (ValueError, RecursionError):
            continue
        if isinstance(d, dict) and is_number(d.get("epoch")) and float(d["epoch"]).is_integer():
            out.append(d)
    if not out:
        raise ExportError(f"The run {Path(run_folder).name} has no finished epoch in "
                          "metrics.jsonl, so there is nothing to export.")
    return out


def epoch_columns(records: list[dict]) -> list[tuple[str, str | None, str]]:
    """Return (column name, split or None, field) for every metric some epoch holds."""
    cols: list[tuple[str, str | None, str]] = [("epoch", None, "epoch")]
    for split in SPLITS:
        for f in SPLIT_FIELDS:
            if any(isinstance(r.get(split), dict) and f in r[split] for r in records):
                cols.append((f"{split}_{f}", split, f))
    cols += [(f, None, f) for f in EPOCH_FIELDS if any(f in r for r in records)]
    return cols


def _value(record: dict, split: str | None, field: str):
    holder = record.get(split) if split else record
    value = holder.get(field) if isinstance(holder, dict) else None
    return value if is_number(value) else None


#: the columns of the per-batch table, in the order of Batches' fields they come from
BATCH_COLUMNS = (("step", "steps"), ("epoch", "epoch"), ("loss", "loss"),
                 ("accuracy", "accuracy"), ("lr", "lr"))


def batches_file(out_file: Path) -> Path:
    """Where the per-batch table of an export to out_file goes: `<stem>-batches.csv` beside it."""
    return out_file.with_name(f"{out_file.stem}-batches.csv")


def batch_table(batches: Batches) -> str:
    """The per-batch table: whole numbers as such, a NaN (a value not stored) as an empty cell."""
    columns = [getattr(batches, field).tolist() for _, field in BATCH_COLUMNS]
    rows = [[cell(v if v == v else None) for v in row] for row in zip(*columns)]
    return _table([name for name, _ in BATCH_COLUMNS], rows)


def export_run(run_folder: Path | str, out_file: Path | str) -> list[Path]:
    """Write a run's epochs to out_file, one row each (epoch, every split's loss, accuracy and
    top-5, learning rate, seconds, images/s), and its training steps to `<stem>-batches.csv`
    beside it (batches_file; not when the run folder holds none); return the paths written."""
    folder, out = Path(run_folder), Path(out_file)
    for target in (out, batches_file(out)):
        files.refuse_own_input(folder, target, "the CSV")
    records = epoch_records(folder)
    cols = epoch_columns(records)
    rows = [[cell(_value(r, split, f)) for _, split, f in cols] for r in records]
    written = [_write(out, _table([name for name, _, _ in cols], rows))]
    batches, _problem = read_batches(folder)  # damaged lines are left out, as in the runs list
    if len(batches):
        written.append(_write(batches_file(out), batch_table(batches)))
    return written


def study_rows(study_folder: Path) -> list[dict]:
    """Return study.json's rows; ExportError says why there are none to export."""
    raw, problem = read_json(Path(study_folder) / "study.json")
    if problem:
        raise ExportError(f"{study_folder} is not a study folder that can be read ({problem}); "
                          "give the folder `python -m core study` wrote.")
    rows = raw.get("rungs") if isinstance(raw, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ExportError(f"study.json in {study_folder} holds no table of rungs; run the study "
                          "again to rewrite it.")
    return rows


def export_study(study_folder: Path | str, out_file: Path | str) -> list[Path]:
    """Write a study's table (study.json's rows, one per rung) to out_file; return the paths."""
    files.refuse_own_input(study_folder, out_file, "the CSV")
    rows = study_rows(Path(study_folder))
    header: list[str] = []
    for r in rows:  # every row has the same fields; an older table may lack some
        header += [k for k in r if k not in header]
    lines = [[cell(r.get(k)) for k in header] for r in rows]
    # the header too: study.json is a file that travels, and its keys are text like any other
    return [_write(Path(out_file), _table([cell(k) for k in header], lines))]
