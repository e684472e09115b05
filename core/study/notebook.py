"""A student's lab notebook: their answers to a sheet's questions, the figures they attached and
links to the runs behind them, in one folder per student and sheet.

    <notebooks>/<student>/<sheet>/
        answers.json     {"sheet": "part1", "answers": {"10": {"text": …, "updated": …}}}
        figures.json     [{"question": 10, "file": "figures/q10-1.png", "run": …, "epoch": …,
                           "view": "filters", "caption": …}]
        runs.json        {"10": ["<a run folder>", …]}   (the runs stay where they are)
        figures/q10-1.png

Every file is written whole (atomically), so a killed window leaves the last saved version.
The folder can be copied to another machine: figures travel with it, runs are links. A file
that cannot be read is moved aside (`answers.damaged-<time>.json`), never overwritten, and
`problems` says so in a sentence; the other files open as they are.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from core import LearnScopeError, files
from core.files.atomic import atomic_write_bytes, atomic_write_text
from core.store.reader import default_root

FILES = ("answers.json", "figures.json", "runs.json")


def default_notebooks() -> Path:
    """Where notebooks live: beside the runs folder (LEARNSCOPE_NOTEBOOKS overrides it)."""
    if os.environ.get("LEARNSCOPE_NOTEBOOKS"):
        return Path(os.environ["LEARNSCOPE_NOTEBOOKS"])
    return default_root().parent / "notebooks"


def student_name() -> str:
    """The student's name for their notebook's folder: the login name, else "student"."""
    for var in ("LEARNSCOPE_STUDENT", "USER", "USERNAME"):
        if os.environ.get(var):
            return os.environ[var]
    return "student"


@dataclass
class Figure:
    question: int
    file: str         # relative to the notebook's folder
    run: str = ""     # the run folder it shows ("" for none)
    epoch: int = 0
    view: str = ""    # the view or plot it is ("curves", "filters", …)
    caption: str = ""

    def to_dict(self) -> dict:
        return dict(self.__dict__)


class Notebook:
    """One student's notebook for one sheet (see the module)."""

    def __init__(self, folder: Path, sheet: str):
        self.folder, self.sheet = Path(folder), sheet
        self.problems: list[str] = []
        self.answers: dict[str, dict] = {}
        self.figures: list[Figure] = []
        self.runs: dict[str, list[str]] = {}

    @classmethod
    def open(cls, sheet: str, student: str | None = None, root: Path | None = None) -> Notebook:
        """Open (or start) the notebook of student for sheet under root."""
        student = files.path_name(files.slug(student or student_name(), "student"), "student")
        folder = Path(root or default_notebooks()) / student / files.path_name(sheet, "sheet")
        book = cls(folder, sheet)
        book._read()
        return book

    # -- reading
    def _read(self) -> None:
        answers = self._load("answers.json", dict)
        raw = answers.get("answers", {}) if isinstance(answers, dict) else {}
        self.answers = {k: v for k, v in raw.items()
                        if isinstance(v, dict) and isinstance(v.get("text"), str)}
        self.figures = []
        for f in self._load("figures.json", list) or []:
            try:
                self.figures.append(Figure(**f))
            except TypeError:
                continue  # a hand-edited entry: left out, the others kept
        runs = self._load("runs.json", dict) or {}
        self.runs = {k: [r for r in v if isinstance(r, str)] for k, v in runs.items()
                     if isinstance(v, list)}

    def _load(self, name: str, kind: type):
        path = self.folder / name
        if not path.exists():
            return kind()
        try:
            value = json.loads(files.read_bytes(path).decode("utf-8"))
            if not isinstance(value, kind):
                raise ValueError(f"not a JSON {kind.__name__}")
            return value
        except (OSError, ValueError, UnicodeDecodeError, RecursionError) as e:
            kept = path.with_name(f"{path.stem}.damaged-{time.strftime('%Y%m%d-%H%M%S')}.json")
            try:
                os.replace(path, kept)
                where = f"it was kept as {kept.name}"
            except OSError:
                where = "it was left as it is"
            self.problems.append(f"The notebook's {name} could not be read ({e}); {where}, and "
                                 f"what it held starts empty. Your other answers and figures "
                                 "are as they were.")
            return kind()

    # -- what a question has
    def answer(self, number: int) -> str:
        return self.answers.get(str(number), {}).get("text", "")

    def figures_of(self, number: int) -> list[Figure]:
        return [f for f in self.figures if f.question == number]

    def runs_of(self, number: int) -> list[str]:
        return list(self.runs.get(str(number), []))

    def status(self, number: int) -> str:
        """"answered", "run" (something ran for it) or "not started"."""
        if self.answer(number).strip():
            return "answered"
        return "run" if self.runs_of(number) or self.figures_of(number) else "not started"

    # -- writing (each file whole, atomically)
    def set_answer(self, number: int, text: str) -> None:
        if text == self.answer(number):
            return
        self.answers[str(number)] = {"text": text, "updated": time.strftime("%Y-%m-%dT%H:%M:%S")}
        self._write("answers.json", {"sheet": self.sheet, "answers": self.answers})

    def link_run(self, number: int, run_folder: str | Path) -> None:
        links = self.runs.setdefault(str(number), [])
        if str(run_folder) not in links:
            links.append(str(run_folder))
            self._write("runs.json", self.runs)

    def add_figure(self, number: int, png: bytes, run: str | Path | None = None, epoch: int = 0,
                   view: str = "", caption: str = "") -> Figure:
        """Keep a picture (PNG bytes) as one of question number's figures."""
        k = 1 + max((int(f.file.rsplit("-", 1)[-1].split(".")[0])
                     for f in self.figures_of(number) if f.file.rsplit("-", 1)[-1][:-4].isdigit()),
                    default=0)
        name = f"figures/q{number}-{k}.png"
        try:
            (self.folder / "figures").mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self.folder / name, png)
        except OSError as e:
            why = e.strerror or e
            raise LearnScopeError(f"The figure could not be saved in {self.folder} ({why}); free "
                                  "some disk space or check the folder.") from None
        figure = Figure(number, name, str(run or ""), epoch, view, caption)
        self.figures.append(figure)
        self._write("figures.json", [f.to_dict() for f in self.figures])
        return figure

    def _write(self, name: str, value) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.folder / name, json.dumps(value, indent=1, ensure_ascii=False))
        except OSError as e:
            raise LearnScopeError(f"The notebook's {name} could not be saved in {self.folder} "
                                  f"({e.strerror or e}); free some disk space or check the "
                                  "folder. What you typed is still in the window.") from None
