"""Whether the process writing a run still runs: a summary that says "running" may be left by
one that was killed or crashed, and the runs list must then say "interrupted".

A summary records its writer (pid, host, boot); on the same host the pid is asked, elsewhere
the summary's age tells.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

from core.engine.records import is_number

#: a "running" run written on another host whose summary is older than this reads as
#: interrupted (its process cannot be asked there); the summary is rewritten at each epoch's end
#: at most every core.store.runs.SAVE_EVERY_S, so only an epoch longer than this is mistaken for a dead one
STALE_AFTER_S = 6 * 3600.0
INTERRUPTED = ("The process that trained it ended without finishing (killed or crashed); its "
               "finished epochs are kept.")


def _boot_id() -> str:
    """This boot of the machine (Linux), so that a pid left from before a restart is not taken
    for a live process; "" where the system does not say."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def writer_identity() -> dict:
    """What a summary records of the process writing it: pid, host, boot (see run_is_gone)."""
    import socket
    return {"pid": os.getpid(), "host": socket.gethostname(), "boot": _boot_id()}


def _pid_alive(pid: int) -> bool | None:
    """Whether a process with this pid runs on this machine (None: cannot tell)."""
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would end the process there: ask through OpenProcess
        try:
            import ctypes
            k32 = ctypes.WinDLL("kernel32", use_last_error=True)
            handle = k32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
            if not handle:  # 5: access denied (it exists); 87: no such process
                return {5: True, 87: False}.get(ctypes.get_last_error())
            code = ctypes.c_ulong()
            ok = k32.GetExitCodeProcess(handle, ctypes.byref(code))
            k32.CloseHandle(handle)
            return code.value == 259 if ok else None  # 259: STILL_ACTIVE
        except (OSError, AttributeError, ValueError, OverflowError):
            return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except (OSError, OverflowError):
        return None
    try:  # a killed child its parent has not waited for yet is a zombie: it trains no more
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2:][:1] != "Z"
    except (OSError, ValueError):
        return True


def run_is_gone(summary: dict, summary_mtime: float | None = None) -> bool:
    """Whether a summary that says "running" was left by a process that ended without finishing:
    on this host, its pid is not alive (or the machine restarted since); elsewhere, or for a
    summary without a pid (written by an older LearnScope), it is older than STALE_AFTER_S."""
    import socket
    pid, host, boot = summary.get("pid"), summary.get("host"), summary.get("boot")
    if isinstance(pid, int) and host == socket.gethostname():
        if boot and _boot_id() and boot != _boot_id():
            return True
        alive = _pid_alive(pid)
        if alive is not None:
            return not alive
    beat = summary.get("heartbeat")
    if not is_number(beat) or not math.isfinite(beat):
        beat = summary_mtime
    return beat is not None and time.time() - beat > STALE_AFTER_S
