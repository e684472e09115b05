"""`python -m core export SOURCE --csv F | --script F | --tensorboard DIR | --onnx F | --html F`:
one line per file written; every failure one `error: …` line, exit 1 (could not export) or
2 (a bad argument), never a traceback."""

import csv
import errno
import subprocess
import sys
import types
from pathlib import Path

import pytest

from core.experiment import config as cfg
from core import study as studies
from core.cli.main import main
from core import ExportError
from core.study.runner import StudyRunner
from core.engine.train import Trainer
from core.store.writers import recorded
from tests import lab

ROOT = Path(__file__).resolve().parents[1]


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    result = recorded(Trainer(lab.circles(2)), root).fit()
    assert result.status == "done"
    return Path(result.run_folder)


def one_error(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_csv_and_script_of_a_run_at_once(capsys, tmp_path, run_folder):
    code, out, err = run_cli(capsys, "export", run_folder, "--csv", tmp_path / "m.csv",
                             "--script", tmp_path / "train.py")
    assert code == 0, err
    assert out.splitlines() == [f"wrote {tmp_path / name}"  # the epochs, the batches, the script
                                for name in ("m.csv", "m-batches.csv", "train.py")]
    rows = list(csv.DictReader(open(tmp_path / "m.csv", newline="")))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert "def epoch(data, model, criterion, optimizer=None" in (tmp_path / "train.py").read_text()


def test_a_study_folder_exports_its_table_of_rungs(capsys, tmp_path):
    study = studies.Study("cli study", "independent", lab.circles(1),
                          (studies.Variant("a", ("optim.lr=0.1",)), studies.Variant("b", ())))
    runner = StudyRunner(study, out=tmp_path)
    runner.run()
    code, out, _ = run_cli(capsys, "export", runner.folder, "--csv", tmp_path / "s.csv")
    assert code == 0 and out.strip() == f"wrote {tmp_path / 's.csv'}"
    assert [r["label"] for r in csv.DictReader(open(tmp_path / "s.csv", newline=""))] == ["a", "b"]
    code, _, err = run_cli(capsys, "export", runner.folder, "--script", tmp_path / "x.py")
    assert code == 2 and "rung-" in one_error(err)


def test_an_experiment_file_gives_a_script_and_nothing_that_needs_training(capsys, tmp_path):
    toml = tmp_path / "exp.toml"
    cfg.save(lab.circles(1), toml)
    code, out, _ = run_cli(capsys, "export", toml, "--script", tmp_path / "s.py")
    assert code == 0 and out.strip() == f"wrote {tmp_path / 's.py'}"
    for flag in ("--csv", "--onnx", "--tensorboard", "--html"):
        code, out, err = run_cli(capsys, "export", toml, flag, tmp_path / "x")
        assert code == 2 and out == ""
        assert f"{flag} needs a trained run" in one_error(err) and "python -m core train" in err


@pytest.mark.parametrize("args, words", [
    (["RUN"], "say what to write with one or more of --csv, --script"),
    (["nowhere", "--csv", "m.csv"], "does not exist"),
    (["EMPTY", "--csv", "m.csv"], "neither a run folder"),
    (["RUN", "--csv", "EMPTY"], "that is a folder; give a file name"),
])
def test_bad_arguments_exit_2_with_one_sentence(capsys, tmp_path, run_folder, args, words):
    (tmp_path / "empty").mkdir()
    names = {"RUN": run_folder, "EMPTY": tmp_path / "empty", "nowhere": tmp_path / "nowhere"}
    code, out, err = run_cli(capsys, "export", *[names.get(a, a) for a in args])
    assert code == 2 and out == "" and words in one_error(err)


def test_a_folder_that_cannot_be_written_exits_1_naming_it(capsys, tmp_path, run_folder):
    blocker = tmp_path / "file"
    blocker.write_text("")
    for flag in ("--csv", "--script"):
        code, out, err = run_cli(capsys, "export", run_folder, flag, blocker / "out")
        assert code == 1 and out == ""
        line = one_error(err)
        assert str(blocker) in line and "folder you can write to" in line


def fake_exports(monkeypatch, tmp_path, behaviour=None):
    """Stand-ins for the TensorBoard, ONNX and report exports (other parts write them): each
    records its call and writes its file, or does what behaviour says."""
    calls = []

    def maker(name):
        def export(source, target):
            calls.append((name, Path(source), Path(target)))
            if behaviour is not None:
                behaviour(name)
            Path(target).write_text(name)
            return Path(target)
        return export
    modules = {"export.tensorboard_logs": ("export_run", "tensorboard"),
               "export.onnx_model": ("export_run", "onnx"), "report": ("write_html", "html")}
    for module, (function, name) in modules.items():
        fake = types.SimpleNamespace(**{function: maker(name)})
        monkeypatch.setitem(sys.modules, f"core.{module}", fake)
        parent, _, leaf = f"core.{module}".rpartition(".")
        monkeypatch.setattr(sys.modules[parent], leaf, fake, raising=False)
    return calls


def test_tensorboard_onnx_and_html_call_their_exports(capsys, tmp_path, run_folder, monkeypatch):
    calls = fake_exports(monkeypatch, tmp_path)
    code, out, err = run_cli(capsys, "export", run_folder, "--tensorboard", tmp_path / "tb",
                             "--onnx", tmp_path / "n.onnx", "--html", tmp_path / "r.html")
    assert code == 0, err
    assert calls == [("tensorboard", run_folder, tmp_path / "tb"),
                     ("onnx", run_folder, tmp_path / "n.onnx"),
                     ("html", run_folder, tmp_path / "r.html")]
    assert out.splitlines() == [f"wrote {tmp_path / p}" for p in ("tb", "n.onnx", "r.html")]


def test_a_study_folder_gets_its_html_report(capsys, tmp_path, monkeypatch):
    calls = fake_exports(monkeypatch, tmp_path)
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "study.json").write_text('{"rungs": []}')
    code, _, _ = run_cli(capsys, "export", tmp_path / "s", "--html", tmp_path / "r.html")
    assert code == 0 and calls == [("html", tmp_path / "s", tmp_path / "r.html")]


@pytest.mark.parametrize("failure, words", [
    (ExportError("The run has no weights.pt; train it again."), "The run has no weights.pt"),
    (ModuleNotFoundError("No module named 'onnx'", name="onnx"), "pip install 'learnscope[onnx]'"),
    (OSError(errno.ENOSPC, "No space left on device"), "could not write into"),
    (RuntimeError("boom"), "--onnx failed unexpectedly: RuntimeError: boom"),
])
def test_an_export_that_fails_exits_1_with_one_sentence(capsys, tmp_path, run_folder,
                                                         monkeypatch, failure, words):
    def behaviour(name):
        raise failure
    fake_exports(monkeypatch, tmp_path, behaviour)
    code, out, err = run_cli(capsys, "export", run_folder, "--onnx", tmp_path / "n.onnx")
    assert code == 1 and out == "" and words in one_error(err)


def test_the_command_line_itself_never_prints_a_traceback(tmp_path, run_folder):
    r = subprocess.run([sys.executable, "-m", "core", "export", str(run_folder), "--csv",
                        str(tmp_path / "m.csv"), "--script", str(tmp_path / "missing" / "s.py")],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 3 and (tmp_path / "missing" / "s.py").is_file()
    r = subprocess.run([sys.executable, "-m", "core", "export", str(tmp_path / "gone")],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stdout == ""
    one_error(r.stderr)
