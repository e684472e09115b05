"""`python -m core export RUN_OR_CONFIG …`: take a run, a study or an experiment away.

Registered by core.__main__. Exit codes: 0 written, 1 could not write, 2 a bad argument.
"""

from __future__ import annotations


def add_parser(sub) -> None:
    """Add the `export` command to core.__main__'s subparsers."""
    e = sub.add_parser("export", help="export a run, a study or an experiment (CSV, script, …)")
    e.add_argument("source", help="a run folder, a study folder or an experiment TOML file")
    e.set_defaults(func=cmd_export)


def cmd_export(args) -> int:
    raise NotImplementedError("issue 17: export")
