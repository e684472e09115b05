"""Reading the stored runs: a run folder's summary, config, epoch records and training steps,
and the list of them all (the Runs panel, a notebook, restoring a run's network, the exports).

A damaged, hand-edited or half-written file never stops a listing: what cannot be read is
left out and Run.problem (or Run.metrics_problem, Run.batches_problem) says what and why.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from core.experiment import config as cfg
from core import files
from core.store.liveness import INTERRUPTED, run_is_gone
from core.engine.records import SPLITS, EpochRecord, is_number

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
        text = files.read_bytes(path).decode("utf-8")
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
class StudyInfo:
    """A study folder of the run store (core.study.runner writes it): its name and kind, and the
    rows of its study.json ([] when unreadable: problem says why)."""
    folder: Path
    name: str
    kind: str = ""
    rows: list = field(default_factory=list)
    problem: str = ""


@dataclass
class Run:
    folder: Path
    summary: dict
    experiment: cfg.Experiment | None
    #: why part of the run could not be read ("" when all of it could): the runs list shows it
    problem: str = ""
    #: why some epoch records were left out by the last metrics() ("" when none were)
    metrics_problem: str = ""
    #: why some lines of batches.jsonl were left out by the last batches() ("" when none were)
    batches_problem: str = ""
    #: the study whose rung this run is (None: a run of its own), its rung number and label
    study: StudyInfo | None = None
    rung: int | None = None
    rung_label: str = ""

    @property
    def name(self) -> str:
        """The name the runs list shows: the one given by renaming, or the experiment's."""
        return self.summary.get("name") or self.folder.name

    def metrics(self) -> list[EpochRecord]:
        """Return the epoch records; lines that are not records (a torn last line of a killed
        writer, a hand-edited file) are left out, and metrics_problem says how many."""
        out, bad = [], 0
        try:
            text = files.read_bytes(self.folder / "metrics.jsonl", files.LOG_LIMIT).decode(
                "utf-8", errors="replace")
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

    def batches(self) -> Batches:
        """Return the training steps of batches.jsonl (none for a run of an older LearnScope);
        lines that are not a record of steps are left out, and batches_problem says how many."""
        out, self.batches_problem = read_batches(self.folder)
        return out


@dataclass(frozen=True)
class Batches:
    """A run's training steps, one entry each, numbered across epochs from 1 (batches.jsonl):
    the batch's mean loss and accuracy (%) and the epoch's learning rate; NaN where the file
    holds something that is not a number."""
    steps: np.ndarray
    epoch: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray
    lr: np.ndarray

    def __len__(self) -> int:
        return len(self.steps)


def _numbers_of(values, n: int) -> np.ndarray | None:
    """values, a list of n numbers, as floats (NaN for null or text); None if it is no such list."""
    if not isinstance(values, list) or len(values) != n:
        return None
    return np.array([float(v) if is_number(v) else np.nan for v in values], dtype=np.float64)


def _steps_line(d) -> tuple[np.ndarray, ...] | None:
    """(steps, epoch, loss, accuracy, lr) of one batches.jsonl line, or None when it is not a
    table with a whole epoch number and whole step numbers, and as many losses and accuracies."""
    if not isinstance(d, dict):
        return None
    epoch, steps = d.get("epoch"), d.get("steps")
    if type(epoch) is not int or not isinstance(steps, list) \
            or not all(type(s) is int and 0 < s < 1 << 53 for s in steps):
        return None
    n = len(steps)
    loss, accuracy = _numbers_of(d.get("loss"), n), _numbers_of(d.get("accuracy"), n)
    if loss is None or accuracy is None or not 0 <= epoch < 1 << 53:
        return None
    lr = float(d["lr"]) if is_number(d.get("lr")) else np.nan
    return (np.array(steps, dtype=np.int64), np.full(n, epoch, dtype=np.int64), loss, accuracy,
            np.full(n, lr))


def read_batches(folder: Path) -> tuple[Batches, str]:
    """Return a run folder's training steps and why some lines were left out ("" if none were):
    a torn last line of a killed writer is not an error, as in metrics.jsonl."""
    parts, bad = [], 0
    try:
        text = files.read_bytes(Path(folder) / "batches.jsonl", files.LOG_LIMIT).decode(
            "utf-8", errors="replace")
    except OSError:
        text = ""
    lines = text.split("\n")
    lines.pop()  # after the last newline: "" or a line still being written
    for line in lines:
        if not line.strip():
            continue
        try:
            part = _steps_line(json.loads(line))
        except (ValueError, RecursionError):
            part = None
        if part is None:
            bad += 1
        else:
            parts.append(part)
    columns = [np.concatenate(c) for c in zip(*parts)] if parts else list(_EMPTY)
    problem = "" if not bad else (
        "1 line of batches.jsonl is not a record of training steps and was left out" if bad == 1
        else f"{bad} lines of batches.jsonl are not records of training steps and were left out")
    return Batches(*columns), problem


_EMPTY = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0),
          np.zeros(0))


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


def _study_toml(folder: Path) -> dict:
    """Return study.toml's [study] table, or {} when it cannot be read (a fallback only)."""
    try:
        table = tomllib.loads(files.read_bytes(folder / "study.toml").decode("utf-8")).get("study")
    except (OSError, ValueError, RecursionError):
        return {}
    return table if isinstance(table, dict) else {}


def open_study(folder: Path) -> StudyInfo:
    """Return a study folder's name, kind and study.json rows; a damaged study.json leaves the
    rows empty and says why (the name then comes from study.toml, or the folder's)."""
    folder = Path(folder)
    raw, problem = read_json(folder / "study.json")
    if not problem and not isinstance(raw, dict):
        problem = f"study.json holds {short_repr(raw)}, not a study's table"
    table = raw if not problem else _study_toml(folder)
    name, kind = table.get("name"), table.get("kind")
    rows = table.get("rungs") if not problem else []
    if not isinstance(rows, list):
        problem, rows = f"study.json: 'rungs' is {short_repr(rows)}, not a list of rungs", []
    rows = [r for r in rows if isinstance(r, dict)]
    return StudyInfo(folder, name if isinstance(name, str) and name else folder.name,
                     kind if isinstance(kind, str) else "", rows, problem)


_RUNG_FOLDER = re.compile(r"rung-(\d+)(?:-|$)")


def _as_rung(run: Run, study: StudyInfo) -> Run:
    """Tell run its study, rung number and label: its study.json row's, else its folder's name
    (an earlier attempt of a rung that was trained again says so)."""
    name, run.study = run.folder.name, study
    match = _RUNG_FOLDER.match(name)
    row = next((r for r in study.rows if r.get("run_folder") == name), None)
    index = row.get("index") if row else None
    run.rung = index if type(index) is int else int(match.group(1)) if match else None
    label = row.get("label") if row else None
    if not isinstance(label, str):
        again = next((r.get("label") for r in study.rows if r.get("index") == run.rung), None)
        label = (f"{again} (earlier attempt)" if row is None and isinstance(again, str)
                 else name[match.end():] if match else name)
    run.rung_label = label
    if study.problem:  # said on each of its rungs, as a damaged file of the run's own would be
        run.problem = "; ".join(p for p in (run.problem, study.problem) if p)
    return run


def list_runs(root: Path | None = None, configs: dict | None = None) -> list[Run]:
    """Return every run under root, oldest first, the rungs of a study folder (`<root>/<study>/
    rung-NN-*/`) in its place and knowing their study (configs: see open_run)."""
    root = Path(root) if root else default_root()
    try:
        folders = sorted(root.iterdir()) if root.is_dir() else []
    except OSError:  # unreadable folder: no runs to show, the same as an empty one
        return []
    out = []
    for p in folders:
        kind = files.kind_of(p)
        if kind == files.RUN:
            out.append(open_run(p, configs))
        elif kind == files.STUDY and p.is_dir() and not p.is_symlink():
            study = open_study(p)
            try:
                rungs = sorted(q for q in p.iterdir() if files.kind_of(q) == files.RUN)
            except OSError:
                rungs = []
            out.extend(_as_rung(open_run(q, configs), study) for q in rungs)
    return out


def load_weights(folder: Path) -> dict[str, torch.Tensor]:
    """Return a run's saved state dict, read without unpickling code (weights_only=True)."""
    return torch.load(Path(folder) / "weights.pt", map_location="cpu", weights_only=True)
