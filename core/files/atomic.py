"""Atomic file writes: a temporary file in the same folder, flushed to disk, then renamed.

A reader (or a process killed mid-write) sees the old file or the new one, never half of one.
Imports nothing of LearnScope's, so core.experiment.config and core.store.runs can both use it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def _create_temporary(path: Path) -> tuple[int, str]:
    """Return (fd, name) of a new file beside path, with the mode the umask gives a saved file.

    tempfile.mkstemp makes every file 0600, so a colleague could not read a saved experiment;
    os.open with 0666 lets the umask decide (0644 usually), as any program's saved file does.
    """
    for _ in range(100):
        tmp = str(path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                           0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


def atomic_write_bytes(path: Path | str, data: bytes, durable: bool = True) -> None:
    """Write data to path through a temporary file in the same folder and a rename. durable:
    force it to the disk first (fsync); without, a killed process still leaves the old file or
    the new one, and only a power cut can lose it (a run's snapshots: one a second or more)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temporary(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path | str, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
