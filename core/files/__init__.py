"""What LearnScope does with files a user is given or names: the rules in one place.

Experiments, studies, run folders and lab sheets travel between students, so each may be a
link to /dev/zero, a FIFO, a huge file, or carry a name built to escape its folder:

- `read_bytes` reads a file only if it is a regular file no larger than a limit (a FIFO is
  never waited on, a device never read); its refusals are OSErrors, so every reader's
  existing `except OSError` turns them into its own sentence.
- `path_name` is the one gate a user's text passes to become a file or folder name: `.`,
  `..`, separators and names the file system cannot hold are refused with the field named.
- `refuse_own_input` keeps every writer (the exports, the report) from writing over what it
  reads.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

from core import ConfigError, ExportError

#: a config, a study, a sheet, a summary: text a person writes or LearnScope writes small
TEXT_LIMIT = 8 * 1024 * 1024
#: a run's logs (metrics.jsonl, batches.jsonl): a line per epoch, long runs included
LOG_LIMIT = 512 * 1024 * 1024
#: bytes in one file or folder name on the file systems LearnScope runs on (ext4, APFS, NTFS)
NAME_BYTES = 255
#: what a run's or a fresh study's folder adds to its name: "20261201-085040-" and "-99"
STAMPED = 24

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
          (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))


class NotReadable(OSError):
    """A file LearnScope refuses to read: not a regular file, or too large. strerror is the
    reason, as the readers' `({e.strerror})` shows it."""

    def __init__(self, path: Path | str, reason: str):
        super().__init__(errno.EINVAL, reason, str(path))


def _kind(mode: int) -> str:
    return next((words for test, words in _KINDS if test(mode)), "not a regular file")


def read_bytes(path: Path | str, limit: int = TEXT_LIMIT) -> bytes:
    """Return the bytes of a regular file of at most limit bytes; NotReadable (an OSError)
    otherwise, and the usual OSErrors (missing, no permission) as they come."""
    # O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotReadable(path, f"it is {_kind(st.st_mode)}, not a file; give a regular file")
        if st.st_size > limit:
            raise NotReadable(path, f"it holds {st.st_size:,} bytes, more than the "
                                    f"{limit:,} LearnScope reads from such a file")
        chunks, size = [], 0
        while size <= limit:  # a file that grows while it is read stops at the limit too
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise NotReadable(path, f"it grew past the {limit:,} bytes LearnScope reads from "
                                    "such a file")
        return b"".join(chunks)
    finally:
        os.close(fd)


def slug(text: str, default: str) -> str:
    """Return text as a folder name's words: runs of anything but letters, digits, `_`, `.`
    and `-` become `-` (so no separator survives); default when nothing is left."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text or "").strip("-") or default


def path_name(text: str, field: str, room: int = 0) -> str:
    """Return text if it can be one file or folder name as it is, with room bytes to spare
    for what a caller adds to it (a time stamp, `-2`); ConfigError naming field (exit 2) if
    it is empty, `.` or `..`, holds a separator or NUL, or is too long."""
    shown = text if len(text) <= 40 else text[:37] + "…"
    if text in ("", ".", ".."):
        raise ConfigError(f"{field}: {text!r} cannot name a folder; give a name with letters "
                          "or digits")
    bad = next((ch for ch in ("/", "\\", "\0") if ch in text), None)
    if bad is not None:
        raise ConfigError(f"{field}: {shown!r} holds the separator {bad!r}, which would put "
                          "files in another folder; remove it")
    size = len(text.encode("utf-8", errors="surrogateescape"))
    if size + room > NAME_BYTES:
        raise ConfigError(f"{field}: {shown!r} is too long for a file or folder name ({size} "
                          f"bytes; a file system holds {NAME_BYTES - room} here); shorten it")
    return text


def _real(path: Path | str) -> Path:
    """The path with links and `..` resolved, as the file system will see it."""
    return Path(path).expanduser().resolve()


def inside(target: Path | str, folder: Path | str) -> bool:
    """Whether target is folder itself or lies anywhere under it."""
    t, f = _real(target), _real(folder)
    return t == f or f in t.parents


RUN, STUDY = "run", "study"


def kind_of(folder: Path | str) -> str | None:
    """What a folder is: RUN (it holds config.toml, which every run folder gets first), STUDY
    (study.toml or study.json: a study writes study.toml first) or None. The one test of a
    folder's kind: the runs list, the exports, the report and the deletes all ask it."""
    folder = Path(folder)
    if (folder / "config.toml").is_file():
        return RUN
    if (folder / "study.json").is_file() or (folder / "study.toml").is_file():
        return STUDY
    return None


def refuse_own_input(source, target: Path | str, what: str = "the export") -> None:
    """ExportError when target is the source (a run or study folder, an experiment file) or
    lies inside it. An experiment held in memory has no file to overwrite."""
    if not isinstance(source, (str, Path)):
        return
    src = Path(source)
    if src.is_dir() and inside(target, src):
        kind = kind_of(src)
        if kind is None:
            return  # neither: the exporter refuses the source itself, with its own sentence
        raise ExportError(f"{what}: {target} is inside the {kind} it exports ({src}); choose a "
                          f"place outside that folder, so the {kind} stays as it is.")
    if src.exists() and not src.is_dir() and _real(target) == _real(src):
        raise ExportError(f"{what}: {target} is the file it exports; choose another name, so "
                          "the experiment stays as it is.")
