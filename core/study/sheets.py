"""Lab sheets: the practical's questions, each with what to do in LearnScope and what to look at.

A sheet is a TOML file a teacher can write (resources/sheets/ holds Part 1's and Part 2's):

    [sheet]
    title = "Part 1 — Introduction to neural networks"
    part = 1
    intro = "…"                       # optional

    [[question]]
    number = 10
    text = "Full-batch, mini-batch or online gradient descent: what changes?"
    look = "The three runs' loss curves, overlaid on the Train page."
    answer = "…"                      # optional model answer
    answer_hidden = true              # default: shown only when the student asks
    pen = "…"                         # a pen-and-paper question: why, and what helps

    [[question.do]]                   # one or more actions, done in order
    preset = "circles-mlp"            # load a preset…
    set = ["optim.lr=0.3"]            # …then these settings (as --set)
    train = true                      # train it (epochs = N: that many)
    shortcut = "batch"                # or Part 1's shortcut: batch, lr, loss, n
    study = "ladder-shapes-cnn"       # or a built-in study
    view = "decision-boundary"        # open an Inspect view
    show = "equations"                # or a part of the window (SHOWS)

Every question needs at least one action, or `pen` saying why there is none. A bad sheet is
refused with a sentence naming the question and the field (ConfigError).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from core import ConfigError, files
from core.experiment import config as cfg
from core.experiment import presets
from core.study import builtin_names
from core.study.sweeps import SHORTCUTS

#: the Inspect views a question may open (the window's registry: app/views/registry.py)
VIEWS = ("filters", "feature-maps", "receptive-field", "decision-boundary", "confusion", "batch",
         "health")
#: the parts of the window a question may show
SHOWS = {"equations": "the MLP's equations with their live shapes (Part 1 tab)",
         "gradcheck": "the gradient check of the hand-written backward (Part 1 tab)",
         "layers": "the layer table: output shape, weights, biases, receptive field (Model tab)",
         "results": "the Results page: the last study's table and chart",
         "runs": "the Runs page: every stored run"}
_DO_FIELDS = ("preset", "set", "train", "epochs", "shortcut", "study", "view", "show")
_QUESTION_FIELDS = ("number", "text", "look", "answer", "answer_hidden", "pen", "do")


@dataclass(frozen=True)
class Action:
    preset: str = ""
    set: tuple[str, ...] = ()
    train: bool = False
    epochs: int = 0           # 0: the experiment's own
    shortcut: str = ""
    study: str = ""
    view: str = ""
    show: str = ""

    @property
    def runs(self) -> bool:
        """Whether it trains something (a run, a shortcut's runs, a study's rungs)."""
        return self.train or bool(self.shortcut or self.study)


@dataclass(frozen=True)
class Question:
    number: int
    text: str
    look: str = ""
    answer: str = ""
    answer_hidden: bool = True
    pen: str = ""
    do: tuple[Action, ...] = ()

    @property
    def key(self) -> str:
        return str(self.number)


@dataclass(frozen=True)
class Sheet:
    title: str
    part: int
    questions: tuple[Question, ...]
    intro: str = ""
    name: str = field(default="", compare=False)  # the file's stem: "part1"

    def question(self, number: int) -> Question:
        return next(q for q in self.questions if q.number == number)


def _text(where: str, value, required: bool = False) -> str:
    if value is None:
        if required:
            raise ConfigError(f"{where}: missing; give it as text")
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise ConfigError(f"{where}: must be text, got {value!r}")
    return value.strip()


def _action(where: str, raw) -> Action:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a table ([[question.do]]), got {raw!r}")
    unknown = [k for k in raw if k not in _DO_FIELDS]
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown field (allowed: {', '.join(_DO_FIELDS)})")
    a = Action(preset=_text(f"{where}.preset", raw.get("preset")),
               set=tuple(_sets(f"{where}.set", raw.get("set", []))),
               train=_flag(f"{where}.train", raw.get("train", False)),
               epochs=_count(f"{where}.epochs", raw.get("epochs", 0)),
               shortcut=_text(f"{where}.shortcut", raw.get("shortcut")),
               study=_text(f"{where}.study", raw.get("study")),
               view=_text(f"{where}.view", raw.get("view")),
               show=_text(f"{where}.show", raw.get("show")))
    _one_of(f"{where}.preset", a.preset, presets.names())
    _one_of(f"{where}.shortcut", a.shortcut, list(SHORTCUTS))
    _one_of(f"{where}.study", a.study, builtin_names())
    _one_of(f"{where}.view", a.view, VIEWS)
    _one_of(f"{where}.show", a.show, list(SHOWS))
    if sum(map(bool, (a.train, a.shortcut, a.study))) > 1:
        raise ConfigError(f"{where}: give one of train, shortcut and study per action")
    if not (a.preset or a.set or a.runs or a.view or a.show):
        raise ConfigError(f"{where}: does nothing; give a preset, set, train, shortcut, study, "
                          "view or show")
    return a


def _sets(where: str, raw) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        raise ConfigError(f"{where}: must be a list of SECTION.FIELD=VALUE texts, got {raw!r}")
    for s in raw:
        try:
            cfg.parse_override(s)
        except ConfigError as e:
            raise ConfigError(f"{where}: {e}") from None
    return raw


def _flag(where: str, raw) -> bool:
    if not isinstance(raw, bool):
        raise ConfigError(f"{where}: must be true or false, got {raw!r}")
    return raw


def _count(where: str, raw) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < 0:
        raise ConfigError(f"{where}: must be a whole number of epochs (0: the experiment's "
                          f"own), got {raw!r}")
    return raw


def _one_of(where: str, value: str, known) -> None:
    if value and value not in known:
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(known)}")


def _question(i: int, raw) -> Question:
    where = f"question[{i}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a table ([[question]]), got {raw!r}")
    number = raw.get("number")
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise ConfigError(f"{where}.number: must be the question's number (1, 2, …), got "
                          f"{number!r}")
    where = f"question {number}"
    unknown = [k for k in raw if k not in _QUESTION_FIELDS]
    if unknown:
        raise ConfigError(f"{where}: {unknown[0]}: unknown field (allowed: "
                          f"{', '.join(_QUESTION_FIELDS)})")
    do = raw.get("do", [])
    if not isinstance(do, list):
        raise ConfigError(f"{where}: do: must be a list of [[question.do]] tables")
    q = Question(number, _text(f"{where}: text", raw.get("text"), required=True),
                 look=_text(f"{where}: look", raw.get("look")),
                 answer=_text(f"{where}: answer", raw.get("answer")),
                 answer_hidden=_flag(f"{where}: answer_hidden", raw.get("answer_hidden", True)),
                 pen=_text(f"{where}: pen", raw.get("pen")),
                 do=tuple(_action(f"{where}: do[{k + 1}]", a) for k, a in enumerate(do)))
    if not q.do and not q.pen:
        raise ConfigError(f"{where}: has nothing to do and no pen; give a [[question.do]] "
                          "action, or pen = why it is a pen-and-paper question")
    return q


def from_dict(d: dict, name: str = "") -> Sheet:
    head = d.get("sheet")
    if not isinstance(head, dict):
        raise ConfigError("sheet: missing; start the file with a [sheet] table (title, part)")
    part = head.get("part")
    if part not in (1, 2):
        raise ConfigError(f"sheet.part: must be 1 or 2, got {part!r}")
    raw = d.get("question")
    if not isinstance(raw, list) or not raw:
        raise ConfigError("question: the sheet has no [[question]]")
    questions = tuple(_question(i + 1, q) for i, q in enumerate(raw))
    seen = set()
    for q in questions:
        if q.number in seen:
            raise ConfigError(f"question {q.number}: number: given twice")
        seen.add(q.number)
    return Sheet(_text("sheet.title", head.get("title"), required=True), part, questions,
                 _text("sheet.intro", head.get("intro")), name)


def loads(text: str, name: str = "sheet") -> Sheet:
    try:
        d = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{name}: not valid TOML ({e})") from None
    try:
        return from_dict(d, name)
    except ConfigError as e:
        raise ConfigError(f"{name}: {e}") from None


def load(path: str | Path) -> Sheet:
    path = Path(path)
    try:
        text = files.read_bytes(path).decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"Cannot read the lab sheet {path} ({e}).") from None
    return loads(text, path.stem)


def _files() -> dict:
    folder = resources.files("resources").joinpath("sheets")
    return {p.name[:-5]: p for p in folder.iterdir() if p.name.endswith(".toml")}


def builtin_sheets() -> list[str]:
    return sorted(_files())


def builtin(name: str) -> Sheet:
    """A built-in sheet: "part1" or "part2"."""
    found = _files()
    if name not in found:
        raise ConfigError(f"lab sheet: no built-in sheet {name!r} (known: "
                          f"{', '.join(sorted(found))}; or give a sheet FILE.toml)")
    return loads(found[name].read_text(encoding="utf-8"), name)
