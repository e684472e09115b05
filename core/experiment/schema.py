"""The rules of a config field and the checks that apply them: one place for the CLI's TOML,
`--set` and the GUI's widgets.

A field is a dataclass field whose metadata (made by `setting`) holds its help text, its
bounds and how a panel shows it; its type hint says what it holds (`int`, `float`, `bool`,
`str`, `list[int]`, a list of a config dataclass, or a `Literal[...]` of its choices). Hints
are resolved with `typing.get_type_hints`, never compared as strings.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import reprlib
import tomllib
import typing
import unicodedata
from pathlib import Path
from typing import Any, Callable, Literal

import tomli_w

from core import files
from core import ConfigError

INT_MAX = 2**63 - 1  # TOML's integers are 64-bit: a larger one would not load back elsewhere
FLOAT32_MAX = 3.4028234663852886e38
_SHOW = reprlib.Repr()
_SHOW.maxstring, _SHOW.maxother, _SHOW.maxlist, _SHOW.maxdict, _SHOW.maxlevel = 60, 60, 6, 6, 3


def setting(default, help: str, *, label: str = "", group: str = "", order: int = 0,
            choices: Callable[[], dict] | None = None, shown: dict | None = None,
            min: float | None = None, max: float | None = None, min_open: bool = False,
            each_min: int | None = None, step: float | None = None, special: str = "",
            check_text: str = ""):
    """Return a dataclass field with its rule and its presentation in the metadata.

    help: the tooltip, in the practical's words. label: what the window calls the field (its
    row in a panel, and its name in the window's messages). group: the panel box it sits in
    (see `Schema.fields_of`), at its order there. choices: for a `str` field whose choices
    live in a registry, a function returning its table, name → entry (read at validation
    time; an entry's `label` is what a choice box shows; a `Literal` hint needs none).
    shown: for a Literal, value → the words its choice box shows. min / max (min_open: min
    itself is refused), each_min (every item of a list): the bounds. step: a number box's
    single step; special: the text a number box shows for 0 ('off', 'all'); check_text: the
    words beside a check box (the label goes in the row's label then; without it the label
    is the check box's words)."""
    meta = {"help": help, "label": label, "group": group, "order": order, "choices": choices,
            "shown": shown, "min": min, "max": max, "min_open": min_open, "each_min": each_min,
            "step": step, "special": special, "check_text": check_text}
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda d=default: list(d), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@functools.cache
def hints(cls: type) -> dict[str, Any]:
    """Return the resolved type hints of a config dataclass (cached: classes do not change)."""
    return typing.get_type_hints(cls)


def choices_of(cls: type, f: dataclasses.Field) -> tuple:
    """Return the values a field allows: its Literal's, its registry's, or () for any."""
    tp = hints(cls)[f.name]
    if typing.get_origin(tp) is Literal:
        return typing.get_args(tp)
    source = f.metadata.get("choices")
    return tuple(source()) if source is not None else ()


class Schema:
    """What the panels read about the fields of a set of config sections (name → dataclass),
    plus aliases such as 'block' for a conv block inside model.blocks."""

    def __init__(self, sections: dict[str, type], aliases: dict[str, type]):
        self.sections, self.aliases = sections, aliases

    def section_class(self, section: str) -> type:
        """Return the dataclass of a section or alias (KeyError for any other name)."""
        cls = self.aliases.get(section) or self.sections.get(section)
        if cls is None:
            raise KeyError(f"no config section {section!r} (sections: "
                           f"{', '.join([*self.aliases, *self.sections])})")
        return cls

    def field_of(self, section: str, name: str) -> dataclasses.Field:
        """Return the dataclass field section.name (KeyError when there is none)."""
        for f in dataclasses.fields(self.section_class(section)):
            if f.name == name:
                return f
        raise KeyError(f"no config field {section}.{name}")

    def field_type(self, section: str, name: str) -> Any:
        """Return a field's resolved type hint: int, float, bool, str, list[int], a Literal…"""
        self.field_of(section, name)
        return hints(self.section_class(section))[name]

    def choices(self, section: str, name: str) -> tuple:
        """Return the values a field allows (its Literal's or its registry's; () for any)."""
        return choices_of(self.section_class(section), self.field_of(section, name))

    def choice_words(self, section: str, name: str) -> dict:
        """Return value → the words a choice box shows: a registry entry's label, the
        field's `shown` words, or the value itself."""
        f = self.field_of(section, name)
        shown = f.metadata.get("shown") or {}
        source = f.metadata.get("choices")
        entries = source() if source is not None else {}
        words = {c: getattr(entries.get(c), "label", None) if isinstance(entries, dict) else None
                 for c in self.choices(section, name)}
        return {c: w or shown.get(c, str(c)) for c, w in words.items()}

    def field_help(self, section: str, name: str) -> str:
        """Return the tooltip text of a field."""
        return self.field_of(section, name).metadata.get("help", "")

    def field_label(self, section: str, name: str) -> str:
        """Return what the window calls a field (its panel row; its name in messages)."""
        return self.field_of(section, name).metadata.get("label") or name

    def fields_of(self, group: str) -> list[tuple[str, str]]:
        """Return (section, name) of the fields in one panel box, by their order (ties: in the
        order the sections and their fields are declared)."""
        found = [(f.metadata.get("order", 0), s, f.name)
                 for s, cls in self.sections.items() for f in dataclasses.fields(cls)
                 if f.metadata.get("group") == group]
        return [(s, name) for _order, s, name in sorted(found, key=lambda t: t[0])]


def show(value: Any) -> str:
    """Return a short repr of a value for an error message (long or deep values are cut)."""
    try:
        return _SHOW.repr(value)
    except (RecursionError, ValueError):  # e.g. int too large to write out
        return f"a {type(value).__name__}"


def key(name: str) -> str:
    """Return a TOML key as it is written in a config (quoted when it is not a bare key)."""
    bare = name and all(c.isascii() and (c.isalnum() or c in "-_") for c in name)
    return name if bare else show(name)


def check_text(path: str, value: str) -> None:
    """Refuse control characters (tabs and line breaks included) and lone surrogates in a
    text field: they make the saved config.toml and the runs list unreadable."""
    for i, ch in enumerate(value):
        if unicodedata.category(ch) in ("Cc", "Cs"):
            raise ConfigError(f"{path}: contains the control character U+{ord(ch):04X} at "
                              f"position {i + 1}; remove it (text settings are one line of "
                              "printable characters)")


def _check_bounds(path: str, m: typing.Mapping, value: Any) -> None:
    lo, hi = m.get("min"), m.get("max")
    if lo is not None and (value <= lo if m.get("min_open") else value < lo):
        raise ConfigError(f"{path}: must be {'>' if m.get('min_open') else '>='} {lo}, "
                          f"got {show(value)}")
    if hi is not None and value > hi:
        raise ConfigError(f"{path}: must be <= {hi}, got {show(value)}")
    if m.get("each_min") is not None:
        for i, v in enumerate(value):
            if v < m["each_min"]:
                raise ConfigError(f"{path}[{i}]: must be >= {m['each_min']}, got {show(v)}")
            if v > INT_MAX:
                raise ConfigError(f"{path}[{i}]: must be at most {INT_MAX}, got {show(v)}")


def check_value(path: str, cls: type, f: dataclasses.Field, value: Any) -> None:
    """Check a coerced value against the field's choices and bounds."""
    allowed = choices_of(cls, f)
    if allowed and value not in allowed:
        raise ConfigError(f"{path}: must be one of {', '.join(repr(c) for c in allowed)}, "
                          f"got {show(value)}")
    _check_bounds(path, f.metadata, value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{path}: must be a finite number, got {value!r}")
    if type(value) is int and not -INT_MAX - 1 <= value <= INT_MAX:
        raise ConfigError(f"{path}: must be at most {INT_MAX} (a 64-bit whole number), got "
                          f"{show(value)}")
    if isinstance(value, str):
        check_text(path, value)


def _coerce_list(path: str, item: Any, value: Any) -> list:
    if dataclasses.is_dataclass(item):
        if not isinstance(value, list):
            what = getattr(item, "plural", f"{item.__name__} tables")
            raise ConfigError(f"{path}: must be a list of {what}, got {show(value)}")
        return [build(f"{path}[{i}]", item, v) for i, v in enumerate(value)]
    if item is int:
        if not isinstance(value, list) or not all(type(v) is int for v in value):
            raise ConfigError(f"{path}: must be a list of whole numbers, got {show(value)}")
        return list(value)
    raise TypeError(f"{path}: no rule for a list of {item!r}")


def coerce(path: str, tp: Any, value: Any) -> Any:
    """Return value converted to the type hint tp, or raise ConfigError naming the field."""
    if typing.get_origin(tp) is list:
        return _coerce_list(path, typing.get_args(tp)[0], value)
    if typing.get_origin(tp) is Literal:  # the choices are checked with the bounds
        kinds = {type(c) for c in typing.get_args(tp)}
        tp = kinds.pop() if len(kinds) == 1 else str
    if tp is bool:
        if type(value) is not bool:
            raise ConfigError(f"{path}: must be true or false, got {show(value)}")
        return value
    if tp is int:
        if type(value) is not int:
            raise ConfigError(f"{path}: must be a whole number, got {show(value)}")
        return value
    if tp is float:
        if type(value) not in (int, float):
            raise ConfigError(f"{path}: must be a number, got {show(value)}")
        try:
            return float(value)
        except OverflowError:  # a whole number with hundreds of digits
            raise ConfigError(f"{path}: must be a finite number, got a whole number of "
                              f"{len(str(abs(value)))} digits") from None
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: must be text, got {show(value)}")
        return value
    raise TypeError(f"{path}: no rule for the type {tp!r}")


def as_dict(obj) -> Any:
    """Return plain nested dicts/lists (what TOML holds) for a config dataclass."""
    if dataclasses.is_dataclass(obj):
        return {f.name: as_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, list):
        return [as_dict(v) for v in obj]
    return obj


def build(path: str, cls: type, table: Any):
    """Return cls built from a table of settings (or a cls instance), each value checked
    against its field's type and rule; a ConfigError names the first that breaks one."""
    if isinstance(table, cls):
        table = as_dict(table)
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: must be a table of settings, got {show(table)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise ConfigError(f"{path}.{key(unknown[0])}: unknown setting (allowed: {', '.join(fields)})")
    types = hints(cls)
    values = {}
    for name, value in table.items():
        values[name] = coerce(f"{path}.{name}", types[name], value)
        check_value(f"{path}.{name}", cls, fields[name], values[name])
    return cls(**values)


# ---------------------------------------------------------------- TOML text in and out
def read_toml(text: str, source: str) -> dict:
    """Return the table TOML text holds; every failure is a ConfigError starting with source."""
    if not isinstance(text, str):
        raise ConfigError(f"{source}: must be TOML text, got {type(text).__name__}")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:  # its message names the line and column
        raise ConfigError(f"{source}: not valid TOML ({e}); fix that line") from None
    except RecursionError:
        raise ConfigError(f"{source}: not a config LearnScope can read (arrays or tables are "
                          "nested hundreds deep); a setting holds at most a list of numbers or "
                          "a list of conv-block tables") from None
    except (ValueError, TypeError, OverflowError) as e:  # tomllib's own limits on odd input
        raise ConfigError(f"{source}: not valid TOML ({e})") from None


def read_text(path: Path) -> str:
    """Return a config file's UTF-8 text (a ConfigError names the file and, if need be, the line)."""
    try:
        data = files.read_bytes(path)  # a regular file of a sane size: never a FIFO or a device
    except OSError as e:
        raise ConfigError(f"{path}: cannot read it ({e.strerror or e})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise ConfigError(f"{path} is not UTF-8 text (byte 0x{data[e.start]:02x} on line {line} "
                          "cannot be decoded); save it as UTF-8") from None


def write_toml(table: dict) -> str:
    """Return table as TOML text (tomli_w escapes control characters). A lone surrogate,
    which validation refuses, has no UTF-8 form: a ValueError here, not an unwritable file."""
    text = tomli_w.dumps(table)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"cannot write the lone surrogate U+{ord(e.object[e.start]):04X} "
                         "as TOML") from None
    return text


def parse_override(text: str, sections) -> tuple[str, str, Any]:
    """Return (section, field, value) from 'section.field=value' (value read as TOML)."""
    shown = show(text)
    for i, ch in enumerate(text):
        if unicodedata.category(ch) in ("Cc", "Cs") and ch != "\t":
            what = "a line break" if ch in "\n\r" else f"the control character U+{ord(ch):04X}"
            raise ConfigError(f"--set {shown}: contains {what} at position {i + 1}; give one "
                              "setting on one line, e.g. --set optim.lr=0.01")
    key_text, sep, raw = text.partition("=")
    section, dot, name = (part.strip() for part in key_text.strip().partition("."))
    if not sep or not dot:
        raise ConfigError(f"--set {shown}: expected section.field=value, e.g. optim.lr=0.01")
    if not section or not name:
        missing = "a section before the dot" if not section else "a field after the dot"
        raise ConfigError(f"--set {shown}: the key {key_text.strip()!r} lacks {missing}; write "
                          f"section.field=value with a section of {', '.join(sections)}, e.g. "
                          "optim.lr=0.01")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        value = raw  # bare words such as cifar10 or cuda are text
    return section, name, value


def override_table(d: dict, overrides, sections) -> dict:
    """Apply 'section.field=value' overrides to a config table (as_dict's) in place, without
    validating it yet; return it."""
    for text in overrides:
        section, name, value = parse_override(text, sections)
        if section == "name" or section not in sections:
            raise ConfigError(f"--set {show(text)}: unknown section {section!r} (allowed: "
                              f"{', '.join(sections)})")
        d[section][name] = value
    return d
