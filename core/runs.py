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
                              "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
        atomic_write_text(self.folder / "config.toml", cfg.dumps(exp))
        self._metrics = open(self.folder / "metrics.jsonl", "a", encoding="utf-8")
        self._next_save = 0.0
        self._unsaved: dict[str, torch.Tensor] | None = None  # the last epoch's weights, not yet saved
        self._write_summary()

    def _write_summary(self) -> None:
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
    return isinstance(v, (int, float)) and not isinstance(v, bool)


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
                  "started": (str, "a date and time"), "finished": (str, "a date and time")}


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
            ok = isinstance(value, kind[0]) or (key == "name" and value is None)
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
    except cfg.ConfigError as e:
        exp, problem = None, f"config.toml: {e}"
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
        atomic_write_text(real / "summary.json", json.dumps(_clean(raw), indent=2))
    except OSError as e:
        raise RunError(f"Could not rename the run ({e.strerror or e}).") from None
    return name
