"""`python -m core export SOURCE --csv F | --script F | --tensorboard DIR | --onnx F | --html F`:
take a run, a study or an experiment away (several exports at once allowed).

SOURCE is a run folder (every export), a study folder (--csv: the table of its rungs, --html)
or an experiment TOML file (--script only: the rest need a trained run). Registered by
core.__main__. Prints one line per file written. Exit codes: 0 written; 1 an export could not
be made (ExportError, a folder that cannot be written), 2 a bad argument (no export asked,
a missing source, an export this source cannot give). Every failure is one `error: …` line.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from core import files
from core.errors import ConfigError, ExportError, LearnScopeError

RUN, STUDY, EXPERIMENT = "run", "study", "experiment"
DESCRIPTION = ("Write a run's metrics, its network or its report, a study's table, or an "
               "experiment as a plain PyTorch script. SOURCE is a run folder (every export), a "
               "study folder (--csv, --html) or an experiment TOML file (--script). Several "
               "exports may be asked at once; each file written is printed.")


@dataclass(frozen=True)
class Export:
    flag: str            # the option: "csv"
    metavar: str
    help: str
    sources: tuple[str, ...]  # the kinds of source it takes
    extra: str = ""      # the optional package it may need (pip install 'learnscope[extra]')
    folder: bool = False  # it writes a folder (TensorBoard's event files), not a file


EXPORTS = (
    Export("csv", "FILE", "the metrics per epoch (a run) or the table of rungs (a study)",
           (RUN, STUDY)),
    Export("script", "FILE.py", "one plain PyTorch script that trains the same experiment",
           (RUN, EXPERIMENT)),
    Export("tensorboard", "DIR", "TensorBoard event files of a run's metrics and filters",
           (RUN,), extra="tensorboard", folder=True),
    Export("onnx", "FILE.onnx", "the trained network as ONNX (Netron, onnxruntime)", (RUN,),
           extra="onnx"),
    Export("html", "FILE.html", "the lab report of a run or a study", (RUN, STUDY)),
)


def add_parser(sub) -> None:
    """Add the `export` command to core.__main__'s subparsers."""
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
        if (source / "config.toml").is_file():
            return RUN
        if (source / "study.json").is_file() or (source / "study.toml").is_file():
            return STUDY
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


def _function(x: Export, kind: str) -> Callable:
    """Return the function that makes an export (the TensorBoard, ONNX and report modules are
    imported only when asked: they import their optional packages)."""
    if x.flag == "csv":
        from core.export import csv_files as export_csv
        return export_csv.export_study if kind == STUDY else export_csv.export_run
    if x.flag == "script":
        from core.export import script as export_script
        return export_script.export
    if x.flag == "tensorboard":
        from core.export import tensorboard_logs as export_tb
        return export_tb.export_run
    if x.flag == "onnx":
        from core.export import onnx_model as export_onnx
        return export_onnx.export_run
    from core import report
    return report.write_html


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
        return _paths(_function(x, kind)(source, target))
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
