"""Studies: named groups of matched runs made from one base experiment and a list of variants.

A *cumulative* study is a ladder (rung k = the base plus the overrides of variants 0..k, as in
Part 2 of the practical: standardisation, then augmentation on top, …); an *independent* one
differs from the base in one thing per variant (Part 1's shortcuts). Every rung keeps the
base's seed, so two rungs with the same architecture start from the same weights and see the
batches in the same order: a difference between them is the switch's doing, not luck.

Studies are TOML: a `[study]` table (name, kind, text, and a preset or the usual sections as
the base) and `[[study.variant]]` entries (label, question, set = ["section.field=value"],
text). Built-in ones live in resources/studies/. core.study.runner trains them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from core.experiment import config as cfg
from core import files
from core.experiment import presets, schema
from core import ConfigError
from core.experiment.schema import show

KINDS = ("cumulative", "independent")
_STUDY_KEYS = {"name", "kind", "preset", "text", "variant"}
_VARIANT_KEYS = {"label", "question", "set", "text"}


@dataclass(frozen=True)
class Variant:
    """One rung: its label, its `--set` overrides ("data.standardize=channel"), the practical's
    question it answers, and a sentence shown beside its results."""
    label: str
    overrides: tuple[str, ...] = ()
    question: int | None = None
    text: str = ""


@dataclass(frozen=True)
class Study:
    name: str
    kind: str  # "cumulative" | "independent"
    base: cfg.Experiment
    variants: tuple[Variant, ...]
    text: str = ""


def effective_step(exp: cfg.Experiment) -> float:
    """Return the step size that explains a run, as a step along the batch's *mean* gradient:
    η/(1 − m) for SGD with momentum m, else η; times the batch size B where the loss sums
    over the batch (optim.reduction = "sum"): each step is then B mean-gradient steps, and a
    full batch of N takes steps N/B times a mini-batch's (question 10)."""
    o = exp.optim
    step = o.lr / (1.0 - o.momentum) if o.optimizer == "sgd" and o.momentum > 0 else o.lr
    if o.reduction == "sum":
        n = round(exp.data.n_train * (1 - exp.data.val_fraction))
        step *= min(exp.train.batch_size, n) if n else exp.train.batch_size
    return step


def too_short(study: Study, epochs: int) -> str | None:
    """The sentence a study's table needs when its rungs trained fewer epochs than the study
    asks for (None when they did not): a short ladder flags rungs "stalled" that a full one
    would not, and its table then says nothing about what each change adds."""
    need = study.base.train.epochs
    if not 0 < epochs < need:
        return None
    return (f"These rungs trained {epochs} epoch{'s' * (epochs != 1)}; {study.name} asks for "
            f"{need}. After so few epochs most rungs have barely left chance, so they read "
            "\"stalled\" and their changes are noise: train the study's own epochs before "
            "drawing a conclusion from its table.")


def rung_overrides(study: Study, k: int) -> list[str]:
    """Return the overrides rung k applies to the base (0-based)."""
    if study.kind == "cumulative":
        return [o for v in study.variants[:k + 1] for o in v.overrides]
    return list(study.variants[k].overrides)


def experiments(study: Study, extra: tuple[str, ...] | list[str] = ()
                ) -> list[tuple[Variant, cfg.Experiment]]:
    """Return each variant with its experiment: the base plus its rung's overrides (and extra,
    e.g. the CLI's --epochs, applied to every rung last), named "<study> · <label>", with the
    base's seed. A ConfigError names the variant whose rung fails.

    A ladder's rungs are built one on the other (each variant's overrides applied once to the
    previous rung's table), so a study of n rungs costs n validations, not n²/2 overrides."""
    base = cfg.to_dict(study.base)
    ladder = copy.deepcopy(base)
    out = []
    for k, v in enumerate(study.variants):
        try:
            if study.kind == "cumulative":
                table = copy.deepcopy(schema.override_table(ladder, v.overrides, cfg.SECTIONS))
            else:
                table = schema.override_table(copy.deepcopy(base), v.overrides, cfg.SECTIONS)
            exp = cfg.from_dict(schema.override_table(table, extra, cfg.SECTIONS))
            exp.train.seed = study.base.train.seed  # matched runs, whatever a variant says
            exp.name = f"{study.name} · {v.label}"
            out.append((v, cfg.validate(exp)))
        except ConfigError as e:
            raise ConfigError(f"study.variant[{k}].set: rung {k + 1} ({v.label}): {e}") from None
    return out


def folder_name(study: Study) -> str:
    """The study's folder name (its name's slug, lower case); ConfigError naming study.name
    when it cannot be one (`..`, too long)."""
    return files.path_name(files.slug(study.name, "study").lower(), "study.name", files.STAMPED)


def rung_folder_name(k: int, label: str) -> str:
    """Rung k's (0-based) run folder name in the study's folder, before any `-2` suffix."""
    return files.path_name(f"rung-{k + 1:02d}-{files.slug(label, 'study').lower()}",
                           f"study.variant[{k}].label", room=4)


# ---------------------------------------------------------------- TOML in
def _text(path: str, value, default: str = "") -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        raise ConfigError(f"{path}: must be text, got {show(value)}")
    schema.check_text(path, value)
    return value


def _variant(i: int, raw) -> Variant:
    where = f"study.variant[{i}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a table (label, question, set, text), got {show(raw)}")
    unknown = sorted(set(raw) - _VARIANT_KEYS)
    if unknown:
        raise ConfigError(f"{where}.{schema.key(unknown[0])}: unknown field (allowed: "
                          f"{', '.join(sorted(_VARIANT_KEYS))})")
    label = _text(f"{where}.label", raw.get("label"))
    if not label.strip():
        raise ConfigError(f"{where}.label: every variant needs a label, e.g. \"+ dropout\"")
    q = raw.get("question")
    if q is not None and (type(q) is not int or q < 1):
        raise ConfigError(f"{where}.question: must be a question number (1 or more), got {show(q)}")
    sets = raw.get("set", [])
    if not isinstance(sets, list):
        raise ConfigError(f"{where}.set: must be a list of \"section.field=value\" texts, "
                          f"got {show(sets)}")
    for j, s in enumerate(sets):
        _check_override(f"{where}.set[{j}]", s)
    return Variant(label.strip(), tuple(sets), q, _text(f"{where}.text", raw.get("text")))


def _check_override(where: str, text) -> None:
    """Refuse an override that names no field or holds a value its field cannot take."""
    if not isinstance(text, str):
        raise ConfigError(f"{where}: must be a \"section.field=value\" text, got {show(text)}")
    try:
        section, name, value = cfg.parse_override(text)
        if section not in cfg.SECTIONS:
            raise ConfigError(f"--set {show(text)}: unknown section {section!r} (allowed: "
                              f"{', '.join(cfg.SECTIONS)})")
        cfg.check_fields(section, {name: value})
    except ConfigError as e:
        msg = str(e)
        raise ConfigError(f"{where}: {msg if msg.startswith('--set') else f'--set {text}: {msg}'}") \
            from None


def _base(d: dict, study: dict) -> cfg.Experiment:
    """Return the base experiment: the preset (if named) with the file's sections laid over it."""
    sections = {k: v for k, v in d.items() if k != "study"}
    preset = study.get("preset")
    if preset is None:
        return cfg.from_dict(sections)
    if not isinstance(preset, str):
        raise ConfigError(f"study.preset: must be a preset's name, got {show(preset)}")
    try:
        table = cfg.to_dict(presets.load(preset))
    except ConfigError as e:
        raise ConfigError(f"study.preset: {e}") from None
    for s, fields in sections.items():
        if s in cfg.SECTIONS and isinstance(fields, dict) and isinstance(table.get(s), dict):
            table[s] = {**table[s], **fields}
        else:
            table[s] = fields  # from_dict names what is wrong with it
    return cfg.from_dict(table)


def from_dict(d: dict) -> Study:
    """Return a Study from the nested tables of a study file; validate every rung."""
    study = d.get("study") if isinstance(d, dict) else None
    if not isinstance(study, dict):
        raise ConfigError("study: a study file needs a [study] table (name, kind, preset or the "
                          "base's sections, and [[study.variant]] entries)")
    unknown = sorted(set(study) - _STUDY_KEYS)
    if unknown:
        raise ConfigError(f"study.{schema.key(unknown[0])}: unknown field (allowed: "
                          f"{', '.join(sorted(_STUDY_KEYS))})")
    name = _text("study.name", study.get("name")).strip()
    if not name:
        raise ConfigError("study.name: a study needs a name, e.g. \"ladder\"")
    kind = study.get("kind", "cumulative")
    if kind not in KINDS:
        raise ConfigError(f"study.kind: must be one of {', '.join(map(repr, KINDS))}, got {show(kind)}")
    raw = study.get("variant", [])
    if not isinstance(raw, list) or not raw:
        raise ConfigError("study.variant: a study needs at least one [[study.variant]] entry")
    variants = tuple(_variant(i, v) for i, v in enumerate(raw))
    labels = [v.label for v in variants]
    for i, label in enumerate(labels):
        if label in labels[:i]:
            raise ConfigError(f"study.variant[{i}].label: {label!r} is already the label of "
                              f"study.variant[{labels.index(label)}]; each rung needs its own")
    s = Study(name, kind, _base(d, study), variants, _text("study.text", study.get("text")))
    check(s)
    return s


def check(study: Study, extra: tuple[str, ...] | list[str] = ()
          ) -> list[tuple[Variant, cfg.Experiment]]:
    """Validate the folder names the study will write and every rung's experiment; return
    the rungs (experiments()). A ConfigError names the field (study.name, the variant)."""
    folder_name(study)
    for k, v in enumerate(study.variants):
        rung_folder_name(k, v.label)
    return experiments(study, extra)


def loads(text: str, source: str = "study") -> Study:
    """Return the Study described by TOML text; every failure is a ConfigError that starts
    with source (the file's name) and names the entry and the field."""
    d = schema.read_toml(text, source)
    try:
        return from_dict(d)
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None


def load(path: str | Path) -> Study:
    p = Path(path)
    return loads(schema.read_text(p), str(p))


def dumps(study: Study) -> str:
    """Return the study as TOML with its base written out in full (the study as run)."""
    table = cfg.to_dict(study.base)
    variants = [{k: v for k, v in (("label", x.label), ("question", x.question),
                                   ("set", list(x.overrides)), ("text", x.text)) if v is not None}
                for x in study.variants]
    table["study"] = {"name": study.name, "kind": study.kind, "text": study.text,
                      "variant": variants}
    return schema.write_toml(table)


# ---------------------------------------------------------------- built-in studies
def _files() -> dict:
    folder = resources.files("resources").joinpath("studies")
    return {p.name[:-5]: p for p in folder.iterdir() if p.name.endswith(".toml")}


def builtin_names() -> list[str]:
    return sorted(_files())


def builtin(name: str, preset: str | None = None) -> Study:
    """Return a built-in study: `builtin("ladder", "shapes-cnn")` reads ladder-shapes-cnn.toml."""
    files = _files()
    full = f"{name}-{preset}" if preset else name
    if full not in files:
        known = ", ".join(builtin_names())
        raise ConfigError(f"study: no built-in study {full!r} (known: {known}; or give a "
                          "study FILE.toml)")
    return loads(files[full].read_text(encoding="utf-8"), f"{full}.toml")
