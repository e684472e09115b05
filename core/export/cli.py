"""`python -m core export SOURCE --csv F | --script F | --tensorboard DIR | --onnx F | --html F`:
take a run, a study or an experiment away (several exports at once allowed).

SOURCE is a run folder (every export), a study folder (--csv: the table of its rungs, --html)
or an experiment TOML file (--script only: the rest need a trained run). Registered by
core.cli.main. Prints one line per file written. Exit codes: 0 written; 1 an export could not
be made (ExportError, a folder that cannot be written), 2 a bad argument (no export asked,
a missing source, an export this source cannot give). Every failure is one `error: …` line.
"""

from __future__ import annotations

import sys
from pathlib import Path

from core import ConfigError, ExportError, LearnScopeError, files
from core.export import EXPERIMENT, EXPORTS, STUDY, Export

DESCRIPTION = ("Write a run's metrics, its network or its report, a study's table, or an "
               "experiment as a plain PyTorch script. SOURCE is a run folder (every export), a "
               "study folder (--csv, --html) or an experiment TOML file (--script). Several "
               "exports may be asked at once; each file written is printed.")


def add_parser(sub) -> None:
    """Add the `export` command to core.cli.main's subparsers."""
    e = sub.add_parser("export", help="export a run, a study or an experiment (CSV, script, …)",
                       description=DESCRIPTION)
    e.add_argument("source", help="a run folder, a study folder or an experiment TOML file")
    for x in EXPORTS:
        e.add_argument(f"--{x.flag}", metavar=x.metavar, help=x.help)
    e.set_defaults(func=cmd_export)


class _Refused(Exception):
    """A bad argument (exit 2); the message is the sentence."""


def source_kind(source: Path) -> str:
    """Return RUN, STUDY or EXPERIMENT for SOURCE; _Refused says why it is none of them."""
    if source.is_dir():
        kind = files.kind_of(source)
        if kind is not None:
            return kind
        raise _Refused(f"{source} is neither a run folder (no config.toml) nor a study folder "
                       "(no study.json); give a folder `python -m core train` or `study` wrote.")
    if source.is_file():
        return EXPERIMENT
    raise _Refused(f"{source} does not exist; give a run folder, a study folder or an "
                   "experiment .toml file.")


def _needs(x: Export, kind: str, source: Path) -> str:
    if kind == EXPERIMENT:
        return (f"--{x.flag} needs a trained run, and {source.name} is an experiment file; "
                f"train it first (python -m core train {source}) and export the run folder.")
    if kind == STUDY:
        return (f"--{x.flag} exports one run, and {source.name} is a study folder; export one "
                "of its rung-… folders instead.")
    return f"--{x.flag} cannot export {source}."


def _asked(args) -> list[tuple[Export, Path]]:
    """Return the exports asked for with their targets, after checking them (_Refused)."""
    asked = [(x, Path(getattr(args, x.flag))) for x in EXPORTS if getattr(args, x.flag)]
    if not asked:
        flags = ", ".join(f"--{x.flag}" for x in EXPORTS)
        raise _Refused(f"export: say what to write with one or more of {flags}.")
    source = Path(args.source)
    kind = source_kind(source)
    for x, target in asked:
        if kind not in x.sources:
            raise _Refused(_needs(x, kind, source))
        try:
            if not x.folder:  # a file name the file system can hold
                files.path_name(target.name, f"--{x.flag}")
            if not x.folder and target.is_dir():
                raise _Refused(f"--{x.flag} {target}: that is a folder; give a file name.")
            if x.folder and target.exists() and not target.is_dir():
                raise _Refused(f"--{x.flag} {target}: that is a file; give a folder.")
            # the writers refuse it too (the window's File → Export); here it is exit 2
            written = target / source.resolve().name if x.folder else target
            files.refuse_own_input(source, written, f"--{x.flag}")
        except (ConfigError, ExportError) as e:
            raise _Refused(str(e)) from None
        except OSError as e:
            raise _Refused(f"--{x.flag} {target}: {e.strerror or e}; give another path.") from None
    return asked


def _paths(result) -> list[Path]:
    if isinstance(result, (list, tuple)):
        return [Path(p) for p in result]
    return [Path(result)]


def _missing_package(x: Export, e: ModuleNotFoundError) -> str:
    name = e.name or "a package"
    if name.partition(".")[0] == "core":
        return f"--{x.flag}: this LearnScope has no {name} (the export is not installed)."
    extra = f"pip install 'learnscope[{x.extra}]'" if x.extra else f"pip install {name}"
    return f"--{x.flag} needs the Python package {name}, which is not installed: {extra}."


def _cannot_write(x: Export, target: Path, e: OSError) -> str:
    where = target if x.folder else target.parent
    return (f"--{x.flag}: could not write into {where} ({e.strerror or e}); choose a folder you "
            "can write to, or free some disk space.")


def run_export(x: Export, kind: str, source: Path, target: Path) -> list[Path]:
    """Make one export; every failure becomes an ExportError-like sentence (LearnScopeError)."""
    try:
        return _paths(x.function(kind)(source, target))
    except LearnScopeError:
        raise
    except ModuleNotFoundError as e:
        raise LearnScopeError(_missing_package(x, e)) from None
    except OSError as e:
        raise LearnScopeError(_cannot_write(x, target, e)) from None
    except Exception as e:  # noqa: BLE001 - a sentence, never a traceback
        raise LearnScopeError(f"--{x.flag} failed unexpectedly: {type(e).__name__}: {e}") from None


def cmd_export(args) -> int:
    try:
        asked = _asked(args)
        source = Path(args.source)
        kind = source_kind(source)
    except _Refused as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for x, target in asked:
        try:
            written = run_export(x, kind, source, target)
        except LearnScopeError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        for path in written:
            print(f"wrote {path}")
    return 0
