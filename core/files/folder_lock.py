"""One writer per study folder: `with FolderLock(folder): …` or acquire() / release().

A second start of the same study (another terminal, the window beside the CLI) would train
every rung twice into the same table. The lock is the operating system's (flock on Linux and
macOS, msvcrt.locking on Windows) on `<folder>/study.lock`, so it ends with the process that
holds it however that process ends, kill -9 included: no stale lock is ever left to clear by
hand. The file names who holds it, for the sentence the second start prints.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from core import LearnScopeError

LOCK_FILE = "study.lock"

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt


class FolderBusy(LearnScopeError):
    """The folder is locked by another process (or another runner in this one)."""


def _try_lock(fd: int) -> bool:
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


def _holder(path: Path) -> str:
    try:
        who = json.loads(path.read_text(encoding="utf-8"))
        return f"process {int(who['pid'])} on {who['host']}, since {who['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


class FolderLock:
    """An exclusive lock on a study folder, held until release() or the process ends."""

    def __init__(self, folder: Path | str, what: str = "study"):
        self.folder, self.what = Path(folder), what
        self.path = self.folder / LOCK_FILE
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock; FolderBusy says who has it and where, when another does."""
        if self._fd is not None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o666)
        if not _try_lock(fd):
            os.close(fd)
            raise FolderBusy(f"The {self.what} is already running ({_holder(self.path)}) in "
                             f"{self.folder}; wait for it to end or stop it there, then run it "
                             "again to resume.")
        who = {"pid": os.getpid(), "host": socket.gethostname(),
               "since": time.strftime("%Y-%m-%dT%H:%M:%S")}
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(who).encode("utf-8"))
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)  # the next holder writes its own name; the file itself stays
        except OSError:
            pass
        os.close(fd)  # closing the descriptor lets the lock go

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
