"""The plain PyTorch script never runs text taken from an experiment, a run or a path: every
such string is written as a literal. Each hostile text below tries to end the string it lands
in and run `open(MARK, "w")`; the scripts must compile, run, and leave no MARK behind."""

import ast
import json
import os
import runpy
import subprocess
import sys

import numpy as np
import pytest

from core.experiment import config as cfg
from core.export import script as export_script
from tests import lab

MARK = "PWNED"
RUN = f'open("{MARK}", "w")'
#: texts a name, a label or a folder may hold (printable: validation refuses control characters)
HOSTILE = [
    f'x"""+{RUN}+"""',
    f"x'''+{RUN}+'''",
    f'x"+{RUN}+"',
    f'={RUN}',                     # a data.root beginning with "=" was once written as code
    "C:\\Users\\me",               # \U: a unicode escape that does not compile
    "ends in a backslash \\",
    'ends in a quote "',
    '"""',
    "{0} %s {name} $CLASS",        # format fields and the generator's own $-templates
    f"# {RUN}",
    "line\u2028separator",         # not printable: written with repr()'s escape
]
#: a run folder's name (a path) may also hold line breaks and other control characters
HOSTILE_FOLDERS = HOSTILE + [f"a\n{RUN}\n", "tab\there\rcr", "\x85nel"]


def assert_inert(script, folder):
    """The script compiles, its docstring reads back, and running its settings ran nothing."""
    text = script.read_text(encoding="utf-8")
    ast.parse(text)  # a SyntaxError here: user text broke out of its string
    assert not (folder / MARK).exists()
    return ast.get_docstring(ast.parse(text), clean=False)


def run_script(script, capsys, run_name="__main__"):
    """Run the script in this process, from its folder (a payload that ran would leave MARK
    there); return its namespace and what it printed."""
    here = os.getcwd()
    os.chdir(script.parent)
    try:
        namespace = runpy.run_path(str(script), run_name=run_name)
    finally:
        os.chdir(here)
    assert not (script.parent / MARK).exists(), "the script ran code taken from the experiment"
    return namespace, capsys.readouterr().out


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_experiment_names_stay_text_in_the_script(tmp_path, capsys, name):
    exp = lab.circles(1, **{"data.n_train": 40, "data.n_test": 20})
    exp.name = name
    script = tmp_path / "lab.py"
    export_script.export(cfg.validate(exp), script)
    doc = assert_inert(script, tmp_path)
    assert doc.startswith(f"{name}: the lab's MLP")  # the name reads back exactly
    assert "epoch 1/1" in run_script(script, capsys)[1]


@pytest.mark.parametrize("folder_name", HOSTILE_FOLDERS)
def test_hostile_run_folder_names_stay_text_in_the_script(tmp_path, capsys, folder_name):
    exp = lab.circles(1, **{"data.n_train": 40, "data.n_test": 20})
    run = tmp_path / "runs" / folder_name
    run.mkdir(parents=True)
    cfg.save(exp, run / "config.toml")  # all a script export reads of a run
    out = tmp_path / "out"
    out.mkdir()
    script = out / "lab.py"
    export_script.export(run, script)
    doc = assert_inert(script, out)
    words = lambda text: " ".join(text.split())  # noqa: E731 - the docstring is wrapped
    assert words(f"from the run {folder_name}.") in words(doc)
    assert "epoch 1/1" in run_script(script, capsys)[1]


@pytest.mark.parametrize("root_name", [f'={RUN}', f'x"+{RUN}+"', "C:\\Users\\me"])
def test_hostile_data_roots_stay_text_in_the_script(tmp_path, capsys, root_name):
    from PIL import Image
    root = tmp_path / root_name
    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        (root / cls).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).save(
                root / cls / f"{i}.png")
    exp = cfg.with_overrides(lab.tiny_shapes(), ['data.dataset="folder"', "data.image_size=8",
                                                 "data.crop=0", "data.n_test=2",
                                                 f"data.root={json.dumps(str(root))}"])
    script = tmp_path / "lab.py"
    export_script.export(exp, script)
    assert_inert(script, tmp_path)
    settings, _ = run_script(script, capsys, run_name="exported")
    assert settings["ROOT"] == str(root)  # the folder, as a string, not code run
    (x, _), _, classes = settings["load_data"]()
    assert classes == ("cat", "dog") and len(x) > 0
    assert not (tmp_path / MARK).exists()


def test_the_issues_hostile_name_through_the_cli_runs_nothing(tmp_path):
    """`python -m core export e.toml --script lab.py; python lab.py` as the issue ran it."""
    exp = lab.circles(1, **{"data.n_train": 40, "data.n_test": 20})
    exp.name = 'x"""+__import__("os").system("touch PWNED")+"""'
    cfg.save(cfg.validate(exp), tmp_path / "e.toml")
    r = subprocess.run([sys.executable, "-m", "core", "export", "e.toml", "--script", "lab.py"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "lab.py"], cwd=tmp_path, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and "epoch 1/1" in r.stdout, r.stderr[-3000:]
    assert not (tmp_path / MARK).exists()
