"""The student's notes under the lab report's figures, kept with the run: `notes.json` in the run
or study folder, {figure id: text}, written atomically, read back when the report is made again."""

from __future__ import annotations

import json
from pathlib import Path

from core.files.atomic import atomic_write_text
from core import ExportError
from core.store.reader import read_json

NOTES_FILE = "notes.json"


def read_notes(folder: Path | str) -> dict[str, str]:
    """Return the notes kept in folder ({} when there are none or the file is damaged: a
    report is still made, without them)."""
    raw, problem = read_json(Path(folder) / NOTES_FILE)
    if problem or not isinstance(raw, dict):
        return {}
    return {k: v for k, v in raw.items() if isinstance(k, str) and isinstance(v, str) and v.strip()}


def write_notes(folder: Path | str, notes: dict[str, str]) -> dict[str, str]:
    """Keep notes in folder (empty ones are dropped); return what was kept. Nothing is written
    when they equal the kept ones, so a read-only run still exports its report."""
    kept = {str(k): str(v).strip() for k, v in notes.items() if str(v).strip()}
    if kept == read_notes(folder):
        return kept
    path = Path(folder) / NOTES_FILE
    try:
        atomic_write_text(path, json.dumps(kept, indent=2, ensure_ascii=False) + "\n")
    except OSError as e:
        raise ExportError(f"Could not keep the notes in {path} ({e.strerror or e}); nothing was "
                          "exported. Make the folder writable, or export without changing the "
                          "notes.") from None
    return kept
