"""Small pieces: no module in core/ or app/ over 400 lines, no function over 60 lines unless
its first body line is a comment starting `# long:` that says why it reads better whole."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE, MAX_FUNCTION = 400, 60
SOURCES = sorted(p for d in ("core", "app") for p in (ROOT / d).rglob("*.py"))


def _long_functions(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    out = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            body = node.body[1:] if ast.get_docstring(node) and len(node.body) > 1 else node.body
            # the comment sits between the signature (or docstring) and the first statement
            said = any(line.strip().startswith("# long:")
                       for line in lines[node.lineno - 1:body[0].lineno - 1])
            if length > MAX_FUNCTION and not said:
                out.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}() is {length} lines")
    return out


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_and_functions_are_small(path):
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_MODULE, f"{path.relative_to(ROOT)} has {n} lines (at most {MAX_MODULE})"
    assert _long_functions(path) == []


def test_the_check_sees_a_long_function(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION + 1))
    (tmp_path / "m.py").write_text(f"def f():\n{body}\n", encoding="utf-8")
    global ROOT
    old, ROOT = ROOT, tmp_path
    try:
        assert _long_functions(tmp_path / "m.py") == [f"m.py:1 f() is {MAX_FUNCTION + 2} lines"]
        (tmp_path / "m.py").write_text(f"def f():\n    # long: a table\n{body}\n", encoding="utf-8")
        assert _long_functions(tmp_path / "m.py") == []
    finally:
        ROOT = old
