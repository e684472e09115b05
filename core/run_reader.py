"""Reading the stored runs: a run folder's summary, config and epoch records, and the list of
them all (the Runs panel, a notebook, restoring a run's network).

A damaged, hand-edited or half-written file never stops a listing: what cannot be read is
left out and Run.problem (or Run.metrics_problem) says what and why.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from core import config as cfg
from core.liveness import INTERRUPTED, run_is_gone
from core.records import SPLITS, EpochRecord, is_number

def default_root() -> Path:
    """Return the folder that holds every run (GUI and CLI share it)."""
    if os.environ.get("LEARNSCOPE_RUNS"):
        return Path(os.environ["LEARNSCOPE_RUNS"])
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "learnscope" / "runs"


def short_repr(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "…"


def read_json(path: Path):
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
    raw, problem = read_json(folder / "summary.json")
    if problem:
        return {"status": "unknown"}, problem
    if not isinstance(raw, dict):
        return {"status": "unknown"}, f"summary.json holds {short_repr(raw)}, not a table of results"
    out, bad = {}, []
    for key, value in raw.items():
        kind = SUMMARY_FIELDS.get(key)
        if kind is not None:
            ok = (isinstance(value, kind[0]) and not isinstance(value, bool)
                  or (key == "name" and value is None))
            expected = kind[1]
        elif key == "epochs":
            ok = is_number(value) and value >= 0 and (isinstance(value, int) or value.is_integer())
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
            bad.append(f"{key!r} is {short_repr(value)}, not {expected}")
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
    return {k: v for k, v in d.items() if is_number(v) or v is None}


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

    def metrics(self) -> list[EpochRecord]:
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
                out.append(EpochRecord.from_dict(json.loads(line)))
            except (ValueError, RecursionError):
                bad += 1
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
