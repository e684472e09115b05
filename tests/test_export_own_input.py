"""No writer writes over what it reads: every export of a run, a study or an experiment file
refuses a target inside what it exports (exit 2 from the CLI, an ExportError from the
functions the window's File → Export and the report dialog call), and the source is unchanged
to the byte. Output names the file system cannot hold are a sentence too, never a traceback."""

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.experiment import config as cfg
from core import report
from core import ExportError
from core.export import csv_files, onnx_model, script, tensorboard_logs
from core.study.runner import run_study
from core import study as studies
from core.engine.train import Trainer
from core.store.writers import recorded
from tests import lab


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    return Path(recorded(Trainer(lab.circles(2)), root).fit().run_folder)


@pytest.fixture
def run(trained, tmp_path) -> Path:
    folder = tmp_path / trained.name
    shutil.copytree(trained, folder)
    return folder


def cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "core", "export", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("flag,name", [("--csv", "metrics.jsonl"), ("--html", "summary.json"),
                                       ("--script", "config.toml"), ("--onnx", "weights.pt"),
                                       ("--csv", "new.csv"), ("--tensorboard", "tb")])
def test_an_export_into_its_own_run_is_refused_and_the_run_unchanged(run, flag, name):
    before = digest(run)
    r = cli(run, flag, run / name, cwd=run.parent)
    assert r.returncode == 2, r.stdout
    assert "inside the run it exports" in r.stderr and "Traceback" not in r.stderr
    assert digest(run) == before


def test_a_tensorboard_export_into_the_runs_own_parent_is_refused(run):
    """--tensorboard DIR writes DIR/<run name>/: with DIR the run's parent, that is the run."""
    before = digest(run)
    r = cli(run, "--tensorboard", run.parent, cwd=run.parent)
    assert r.returncode == 2 and "inside the run" in r.stderr
    with pytest.raises(ExportError, match="inside the run"):
        tensorboard_logs.export_run(run, run.parent)
    assert digest(run) == before


@pytest.mark.parametrize("export,name", [
    (csv_files.export_run, "metrics.jsonl"), (script.export, "config.toml"),
    (onnx_model.export_run, "weights.pt"), (report.write_html, "summary.json"),
    (csv_files.export_run, "sub/new.csv")])
def test_the_writers_themselves_refuse_their_own_run(run, export, name):
    """The window's File → Export and the report dialog call these functions directly."""
    before = digest(run)
    with pytest.raises(ExportError, match="inside the run it exports"):
        export(run, run / name)
    assert digest(run) == before


def test_a_study_report_or_table_inside_the_study_is_refused(tmp_path):
    study = studies.Study("s", "independent", lab.circles(1), (studies.Variant("a"),))
    run_study(study, tmp_path)
    folder = tmp_path / "s"
    before = digest(folder)
    for export, name in ((csv_files.export_study, "study.json"), (report.write_html, "r.html")):
        with pytest.raises(ExportError, match="inside the study it exports"):
            export(folder, folder / name)
    assert cli(folder, "--csv", folder / "study.json", cwd=tmp_path).returncode == 2
    assert digest(folder) == before


def test_a_script_over_its_own_experiment_file_is_refused(tmp_path):
    toml = tmp_path / "e.toml"
    cfg.save(lab.circles(1), toml)
    text = toml.read_text()
    r = cli(toml, "--script", toml, cwd=tmp_path)
    assert r.returncode == 2 and "is the file it exports" in r.stderr
    with pytest.raises(ExportError, match="is the file it exports"):
        script.export(toml, tmp_path / "." / "e.toml")
    assert toml.read_text() == text


def test_an_output_name_too_long_for_the_file_system_is_a_sentence(run, tmp_path):
    r = cli(run, "--csv", tmp_path / ("a" * 300 + ".csv"), cwd=tmp_path)
    assert r.returncode == 2 and "too long" in r.stderr and "Traceback" not in r.stderr


def test_the_pdf_report_refuses_its_own_run(qapp, run):
    from app.report_pdf import write_pdf
    before = digest(run)
    with pytest.raises(ExportError, match="inside the run it exports"):
        write_pdf(run, run / "weights.pt")
    assert digest(run) == before
