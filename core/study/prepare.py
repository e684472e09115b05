"""Prepared runs for class: every action of a lab sheet run headless, into one runs folder.

`python -m core lab prepare SHEET --out DIR [--epochs N] [--set S.F=V …] [--parallel K]` trains
what each question's **Do it** would train — its run, Part 1's shortcut or a study — so a teacher
can prepare overnight on a bigger machine. DIR is then a runs folder like any other, and
`prepared-<sheet>.json` in it says which runs are whose question's: the window opened on DIR
(LEARNSCOPE_RUNS=DIR) shows a question's runs instead of training them again. A study already
trained there is resumed, not retrained.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from core.experiment import config as cfg
from core.experiment import presets
from core.files.atomic import atomic_write_text
from core.study import builtin, folder_name, sheets
from core.study.sweeps import study as shortcut_study

#: the experiment a sheet's questions start from, before any preset
START = {1: "circles-mlp", 2: "shapes-cnn"}


def prepared_file(out: Path | str, sheet: str) -> Path:
    return Path(out) / f"prepared-{sheet}.json"


def read_prepared(out: Path | str, sheet: str) -> dict[int, list[str]]:
    """The prepared runs of a sheet in out, by question ({} when there are none or the file is
    damaged: the questions are then trained when asked, as without it)."""
    try:
        raw = json.loads(prepared_file(out, sheet).read_text(encoding="utf-8"))
        return {int(k): [str(Path(out) / f) for f in v] for k, v in raw.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def prepare(sheet: sheets.Sheet, out: Path | str, epochs: int = 0, sets=(), parallel: int = 1,
            say: Callable[[str], None] = print, executor=None) -> dict[int, list[str]]:
    """Run every action of sheet that trains, into out; return (and write) the runs of each
    question, as folder names relative to out. executor: where studies' rungs train
    (core.study.cluster.DaskExecutor; None: this machine)."""
    from core.engine.train import Trainer  # torch: only when something trains
    from core.store.writers import recorded
    from core.study.runner import run_study
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    extra = list(sets) + ([f"train.epochs={epochs}"] if epochs else [])
    done: dict[int, list[str]] = {}
    for q in sheet.questions:
        exp = presets.load(START[sheet.part])
        for a in q.do:
            if a.preset:
                exp = presets.load(a.preset)
            exp = cfg.with_overrides(exp, list(a.set) + (
                [f"train.epochs={a.epochs}"] if a.epochs and not a.study else []))
            if not a.runs:
                continue
            run = cfg.with_overrides(exp, extra)
            if a.train:
                say(f"question {q.number}: training {run.name or run.data.dataset}")
                result = recorded(Trainer(run), out).fit()
                folder = Path(result.run_folder) if result.run_folder else None
            else:
                study = shortcut_study(a.shortcut, run) if a.shortcut else builtin(a.study)
                say(f"question {q.number}: study {study.name}")
                # the question's epochs per rung, unless the teacher gave --epochs
                run_study(study, out, parallel=parallel, executor=executor,
                          extra=([f"train.epochs={a.epochs}"] if a.epochs else []) + extra)
                folder = out / folder_name(study)
            if folder is not None:
                done.setdefault(q.number, []).append(folder.name)
    atomic_write_text(prepared_file(out, sheet.name), json.dumps(done, indent=1))
    return done
