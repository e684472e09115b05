"""Run store: one folder per run with config.toml, metrics.jsonl, summary.json and weights.

Written as the run goes: metrics are appended and flushed each epoch, every other file is
written to a temporary name and renamed, so a run killed mid-way keeps each finished epoch
and never leaves a half-written file behind. Forcing files onto the disk (fsync) and saving
the weights happen at most every SAVE_EVERY_S and at the end: a small network finishes a
hundred epochs a second, and three fsyncs per epoch slowed its training by about 8 %.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from core import config as cfg
from core.errors import LearnScopeError

SAVE_EVERY_S = 1.0


def default_root() -> Path:
    """Return the folder that holds every run (GUI and CLI share it)."""
    if os.environ.get("LEARNSCOPE_RUNS"):
        return Path(os.environ["LEARNSCOPE_RUNS"])
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "learnscope" / "runs"


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


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write data to path through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temporary(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _clean(value):
    """Return value with NaN/inf replaced by None: a result file never holds NaN."""
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


#: a "running" run written on another host whose summary is older than this reads as
#: interrupted (its process cannot be asked there); the summary is rewritten at each epoch's end
#: at most every SAVE_EVERY_S, so only an epoch longer than this is mistaken for a dead one
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
    if not _is_number(beat) or not math.isfinite(beat):
        beat = summary_mtime
    return beat is not None and time.time() - beat > STALE_AFTER_S


class RunWriter:
    """Writes one run's files as training goes (used by the CLI and the GUI alike)."""

    def __init__(self, exp: cfg.Experiment, root: Path | None = None, folder: Path | None = None):
        root = Path(root) if root else default_root()
        if folder is None:
            slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", exp.name or exp.data.dataset).strip("-") or "run"
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
        self._next_save = 0.0
        self._unsaved: dict[str, torch.Tensor] | None = None  # the last epoch's weights, not yet saved
        self._write_summary()

    def _write_summary(self) -> None:
        self.summary["heartbeat"] = time.time()  # a reader on another host tells a dead run by it
        atomic_write_text(self.folder / "summary.json", json.dumps(_clean(self.summary), indent=2))

    def epoch(self, record: dict, model: torch.nn.Module | None = None) -> None:
        """Append one epoch's metrics (flushed: a killed process keeps them), and at most every
        SAVE_EVERY_S force them to disk and refresh summary and weights."""
        self._metrics.write(json.dumps(_clean(record)) + "\n")
        self._metrics.flush()
        self.summary["epochs"] = record["epoch"]
        for split in ("train", "val", "test"):
            if split in record:
                self.summary[split] = record[split]
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
        if state is not None:
            self.save_weights(state)
        self._unsaved = None
        self._write_summary()

    def save_weights(self, weights: torch.nn.Module | dict[str, torch.Tensor]) -> None:
        """Write a model's (or a state dict's) weights as weights.pt, tensors only."""
        import io
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
            self._save(self._unsaved)
        finally:
            self._metrics.close()


SPLITS = ("train", "val", "test")


def _is_number(v) -> bool:
    """Whether v is a number a plot can draw (an int of hundreds of digits is no float)."""
    if isinstance(v, float):
        return True
    if isinstance(v, int) and not isinstance(v, bool):
        return -1e308 < v < 1e308
    return False


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "…"


def _read_json(path: Path):
    """Return (value, problem) of a JSON file: problem is "" or a sentence naming the file."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None, f"{path.name} is missing"
    except OSError as e:
        return None, f"{path.name} cannot be read ({e.strerror or e})"
    except UnicodeDecodeError:
        return None, f"{path.name} is not UTF-8 text"
    try:
        return json.loads(text), ""
    except json.JSONDecodeError as e:
        return None, f"{path.name} is not valid JSON ({e.msg}, line {e.lineno})"
    except RecursionError:
        return None, f"{path.name} is nested too deeply to read"
    except ValueError as e:
        return None, f"{path.name} cannot be read ({e})"


#: what each summary field must hold; a field that holds something else is left out
SUMMARY_FIELDS = {"status": (str, "text"), "name": (str, "text"), "message": (str, "text"),
                  "started": (str, "a date and time"), "finished": (str, "a date and time"),
                  "host": (str, "a host name"), "boot": (str, "text"),
                  "pid": (int, "a process id"), "heartbeat": ((int, float), "a time")}


def _summary(folder: Path) -> tuple[dict, str]:
    """Return a run's summary with every field of the expected type, and what was wrong ("" if
    nothing): a damaged or hand-edited summary.json must not stop the runs list from showing."""
    raw, problem = _read_json(folder / "summary.json")
    if problem:
        return {"status": "unknown"}, problem
    if not isinstance(raw, dict):
        return {"status": "unknown"}, f"summary.json holds {_short(raw)}, not a table of results"
    out, bad = {}, []
    for key, value in raw.items():
        kind = SUMMARY_FIELDS.get(key)
        if kind is not None:
            ok = (isinstance(value, kind[0]) and not isinstance(value, bool)
                  or (key == "name" and value is None))
            expected = kind[1]
        elif key == "epochs":
            ok = _is_number(value) and value >= 0 and (isinstance(value, int) or value.is_integer())
            value, expected = (int(value) if ok else value), "a count of epochs"
        elif key in SPLITS:
            ok = isinstance(value, dict)
            value = _numbers(value) if ok else value
            expected = "a table of metrics"
        else:
            ok, expected = True, ""
        if ok:
            out[key] = value
        else:
            bad.append(f"{key!r} is {_short(value)}, not {expected}")
    out.setdefault("status", "unknown")
    if out["status"] == "running":
        try:
            mtime = (folder / "summary.json").stat().st_mtime
        except OSError:
            mtime = None
        if run_is_gone(out, mtime):
            out["status"], out["message"] = "interrupted", INTERRUPTED
    if bad:
        problem = "summary.json: " + bad[0] + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else "")
    return out, problem


def _numbers(d: dict) -> dict:
    """Keep the entries of a metrics table that are numbers (a plot cannot draw anything else)."""
    return {k: v for k, v in d.items() if _is_number(v) or v is None}


def _record(value) -> dict | None:
    """Return an epoch record with only the fields a plot can draw, or None if it has no epoch."""
    if not isinstance(value, dict):
        return None
    epoch = value.get("epoch")
    if not _is_number(epoch) or (isinstance(epoch, float) and not math.isfinite(epoch)):
        return None
    out = {}
    for key, v in value.items():
        if key in SPLITS:
            if isinstance(v, dict):
                out[key] = _numbers(v)
        elif _is_number(v) or v is None:
            out[key] = v
    return out


@dataclass
class Run:
    folder: Path
    summary: dict
    experiment: cfg.Experiment | None
    #: why part of the run could not be read ("" when all of it could): the runs list shows it
    problem: str = ""
    #: why some epoch records were left out by the last metrics() ("" when none were)
    metrics_problem: str = ""

    @property
    def name(self) -> str:
        """The name the runs list shows: the one given by renaming, or the experiment's."""
        return self.summary.get("name") or self.folder.name

    def metrics(self) -> list[dict]:
        """Return the epoch records; lines that are not records (a torn last line of a killed
        writer, a hand-edited file) are left out, and metrics_problem says how many."""
        out, bad = [], 0
        try:
            text = (self.folder / "metrics.jsonl").read_bytes().decode("utf-8", errors="replace")
        except OSError:
            self.metrics_problem = ""
            return out
        lines = text.split("\n")
        lines.pop()  # after the last newline: "" or a line still being written, not an error
        for line in lines:
            if not line.strip():
                continue
            try:
                record = _record(json.loads(line))
            except (ValueError, RecursionError):
                record = None
            if record is None:
                bad += 1
            else:
                out.append(record)
        self.metrics_problem = "" if not bad else (
            "1 line of metrics.jsonl is not an epoch record and was left out" if bad == 1 else
            f"{bad} lines of metrics.jsonl are not epoch records and were left out")
        return out


def _config(path: Path, configs: dict | None) -> tuple[cfg.Experiment | None, str]:
    """Return a run's experiment (None if unreadable) and why not; configs caches it (open_run)."""
    try:
        st = path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
    except OSError:
        stamp = None
    known = configs.get(str(path)) if configs is not None else None
    if known is not None and stamp is not None and known[0] == stamp:
        return known[1], known[2]
    problem = ""
    try:
        exp = cfg.load(path)
    except cfg.ConfigError as e:  # load names the file: shorten its full path to config.toml
        text = str(e)
        exp, problem = None, ("config.toml" + text[len(str(path)):] if text.startswith(str(path))
                              else f"config.toml: {text}")
    except UnicodeDecodeError:
        exp, problem = None, "config.toml is not UTF-8 text"
    except (ValueError, RecursionError) as e:
        exp, problem = None, f"config.toml cannot be read ({e or type(e).__name__})"
    if configs is not None and stamp is not None:
        configs[str(path)] = (stamp, exp, problem)
    return exp, problem


def open_run(folder: Path, configs: dict | None = None) -> Run:
    """Return a stored run; a damaged config or summary leaves that part empty and says why
    in Run.problem.

    configs, if given, keeps parsed configs between calls ({path: (file stamp, Experiment,
    problem)}): a run's config is written once, when it starts, and parsing and checking it is
    most of what reading a run costs (0.5 ms), so a runs list refreshed at every run's start
    and end re-reads only the summaries."""
    folder = Path(folder)
    summary, problem = _summary(folder)
    exp, config_problem = _config(folder / "config.toml", configs)
    return Run(folder, summary, exp, "; ".join(p for p in (problem, config_problem) if p))


def list_runs(root: Path | None = None, configs: dict | None = None) -> list[Run]:
    """Return every run under root, oldest first (configs: see open_run)."""
    root = Path(root) if root else default_root()
    try:
        folders = sorted(root.iterdir()) if root.is_dir() else []
    except OSError:  # unreadable folder: no runs to show, the same as an empty one
        return []
    return [open_run(p, configs) for p in folders if (p / "config.toml").exists()]


def load_weights(folder: Path) -> dict[str, torch.Tensor]:
    """Return a run's saved state dict, read without unpickling code (weights_only=True)."""
    return torch.load(Path(folder) / "weights.pt", map_location="cpu", weights_only=True)


class RunError(LearnScopeError):
    """A stored run cannot be changed as asked (deleted, renamed); the message says why."""


#: the files a RunWriter leaves in a run folder (and its temporary ones, ".NAME.*.tmp")
RUN_FILES = ("config.toml", "metrics.jsonl", "summary.json", "weights.pt")


def _run_folder(folder: Path, root: Path | None) -> Path:
    """Return folder resolved, after checking that it is a run folder directly inside root."""
    root = (Path(root) if root else default_root()).resolve()
    folder = Path(folder)
    if folder.is_symlink() or not folder.is_dir():
        raise RunError(f"{folder} is not a run folder (it is a link or not a folder).")
    real = folder.resolve()
    if real.parent != root:
        raise RunError(f"{folder} is not a run folder inside {root}.")
    if not (real / "config.toml").is_file():
        raise RunError(f"{folder} holds no config.toml, so it is not a run folder.")
    return real


def _written_by_runs(p: Path) -> bool:
    name = p.name
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
            p.unlink(missing_ok=True)
        real.rmdir()
    except OSError as e:
        raise RunError(f"Could not delete the run folder {real} ({e.strerror or e}).") from None


def rename_run(folder: Path, name: str, root: Path | None = None) -> str:
    """Give a run the name the runs list shows (summary.json "name", rewritten atomically);
    return the name as stored (spaces collapsed)."""
    real = _run_folder(folder, root)
    name = " ".join(str(name).split())
    if not name:
        raise RunError("A run's name cannot be empty.")
    raw, problem = _read_json(real / "summary.json")
    if problem or not isinstance(raw, dict):
        reason = problem or f"summary.json holds {_short(raw)}, not a table of results"
        raise RunError(f"Cannot rename the run: {reason}.")
    raw["name"] = name
    try:
        text = json.dumps(_clean(raw), indent=2)
    except RecursionError:  # readable, but too deep to write back (hand-edited)
        raise RunError("Cannot rename the run: summary.json is nested too deeply to "
                       "rewrite.") from None
    try:
        atomic_write_text(real / "summary.json", text)
    except OSError as e:
        raise RunError(f"Could not rename the run ({e.strerror or e}).") from None
    return name
