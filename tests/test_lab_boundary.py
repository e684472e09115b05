"""The window only lays things out: panels, views, studies, sweeps, files, exports and the
report talk to the Lab (app.lab_model), never to the main window. Outside the window's own
files no module imports the window's modules or takes a `window` (the convention that named
it) — checked on the source, with a sample that breaks the rule to show the check can fail."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: the window's own files: the window, its docks, menus, pages, the Lab page's actions and
#: presentation mode, and the start
SHELL = {"app/window.py", "app/window_docks.py", "app/window_menus.py", "app/window_pages.py",
         "app/window_lab.py", "app/presentation.py", "app/main.py", "app/startup.py"}
WINDOW_MODULES = {"app.window", "app.window_docks", "app.window_menus", "app.window_pages",
                  "app.window_lab", "app.presentation", "app.main", "app.startup"}


def reaches_the_window(source: str) -> list[str]:
    """What in this module's source imports the window or receives it."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = {node.module} | {f"{node.module}.{a.name}" for a in node.names}
            found += [f"line {node.lineno}: imports {n}" for n in sorted(names & WINDOW_MODULES)]
        elif isinstance(node, ast.Import):
            found += [f"line {node.lineno}: imports {a.name}" for a in node.names
                      if a.name in WINDOW_MODULES]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = node.args
            for a in args.posonlyargs + args.args + args.kwonlyargs:
                if a.arg in ("window", "main_window") or "MainWindow" in ast.unparse(
                        a.annotation or ast.Constant("")):
                    found.append(f"line {node.lineno}: receives {a.arg}")
    return found


def test_the_check_sees_a_module_that_reaches_the_window():
    bad = ("from app.window import MainWindow\n"
           "class Panel:\n    def __init__(self, window, parent=None):\n        self.w = window\n")
    assert reaches_the_window(bad) == ["line 1: imports app.window", "line 3: receives window"]
    assert reaches_the_window("def f(lab, runs_panel):\n    pass\n") == []


def test_no_module_outside_the_window_imports_or_receives_it():
    broken = {}
    for path in sorted((ROOT / "app").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel not in SHELL:
            found = reaches_the_window(path.read_text(encoding="utf-8"))
            if found:
                broken[rel] = found
    assert not broken, broken
