"""Exports from the window (app.exports_menu): File → Export on the last run trained in the
window and on the panels' settings, a run's and a study's Export actions in the Runs dock, the
files read back, and every refusal a banner with nothing written. The file dialogs are answered
through Exports.ask_file / ask_folder, as RunsPanel.confirm is in its tests."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

import lab
from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings)
from app import exports_menu
from core import study as studies
from core.study.runner import StudyRunner


def train(qtbot, w) -> Path:
    with qtbot.waitSignal(w.run_finished, timeout=60_000) as blocker:
        qtbot.mouseClick(w.training_panel.start, Qt.MouseButton.LeftButton)
    assert blocker.args[0].status == "done", blocker.args[0].message
    return Path(blocker.args[0].run_folder)


def file_export(w, text: str):
    """The action of File → Export whose text is text."""
    (menu,) = [a.menu() for a in w.menuBar().actions()[0].menu().actions() if a.text() == "Export"]
    menu.aboutToShow.emit()  # what opening the menu does: the actions suit the last run
    (action,) = [a for a in menu.actions() if a.text() == text]
    return action


def answer(w, path: Path) -> list:
    """Answer the next file (or folder) dialog with path; return the starts it was offered."""
    offered = []
    w.exports.ask_file = lambda title, start, _filter: (offered.append(start), str(path))[1]
    w.exports.ask_folder = lambda title, start: (offered.append(start), str(path))[1]
    return offered


def refuse_dialogs(w) -> None:
    def refuse(*_a):
        raise AssertionError("no file dialog expected")
    w.exports.ask_file = w.exports.ask_folder = refuse


def rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def metrics(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


def run_menu(w, folder: Path):
    """The Export submenu of the run's context menu in the Runs dock."""
    p = w.runs_panel
    p.refresh()
    p.table.selectRow(next(p.row_of(i) for i, r in enumerate(p.runs) if r.folder == folder))
    (menu,) = [a.menu() for a in p.context_menu().actions() if a.text() == "Export"]
    return {a.text(): a for a in menu.actions()}


def test_file_menu_exports_the_last_run_as_csv_and_the_settings_as_a_script(qtbot, window,
                                                                             tmp_path):
    w = window(lab.circles(2))
    refuse_dialogs(w)
    file_export(w, "Metrics as CSV…").trigger()  # nothing trained yet: no dialog, a sentence
    assert w.banner.kind == "info" and exports_menu.NO_RUN in w.banner.message()
    folder = train(qtbot, w)
    out = tmp_path / "out" / "m.csv"
    offered = answer(w, out)
    with qtbot.waitSignal(w.exports.exported) as done:
        file_export(w, "Metrics as CSV…").trigger()
    assert offered[0].endswith(f"{folder.name}.csv")  # the dialog proposes the run's name
    assert done.args[0] == [out, tmp_path / "out" / "m-batches.csv"]
    assert w.banner.kind == "info" and "Exported" in w.banner.message()
    assert str(out) in w.banner.message()
    table = rows(out)
    assert [int(r["epoch"]) for r in table] == [m["epoch"] for m in metrics(folder)] == [1, 2]
    assert [float(r["train_loss"]) for r in table] == [m["train"]["loss"] for m in metrics(folder)]
    assert len(rows(done.args[0][1])) == len(w.runs_panel.runs[0].batches()) > 0
    # the script is of the settings in the panels now, not of the run trained before
    w.load_experiment(lab.circles(2, **{"optim.lr": 0.2}))
    script = tmp_path / "train.py"
    answer(w, script)
    with qtbot.waitSignal(w.exports.exported) as done:
        file_export(w, "Plain PyTorch script…").trigger()
    assert done.args[0] == [script]
    assert "LR = 0.2 " in script.read_text() and "import learnscope" not in script.read_text()


def test_a_runs_context_menu_exports_csv_and_onnx_and_a_run_without_weights_cannot(
        qtbot, window, tmp_path):
    from app.report_dialog import ReportDialog
    onnx = pytest.importorskip("onnx")
    w = window(lab.circles(1))
    folder = train(qtbot, w)
    actions = run_menu(w, folder)
    assert list(actions) == ["Metrics as CSV…", "Plain PyTorch script…", "TensorBoard logs…",
                             "ONNX model…", "Replay as GIF…", "Replay as PNGs…", "Lab report…"]
    answer(w, tmp_path / "run.csv")
    actions["Metrics as CSV…"].trigger()
    assert [int(r["epoch"]) for r in rows(tmp_path / "run.csv")] == [1]
    answer(w, tmp_path / "net.onnx")
    with qtbot.waitSignal(w.exports.exported, timeout=60_000):
        run_menu(w, folder)["ONNX model…"].trigger()
    onnx.checker.check_model(onnx.load(str(tmp_path / "net.onnx")))
    assert "net.onnx" in w.banner.message()
    run_menu(w, folder)["Lab report…"].trigger()  # the report's dialog, on this run
    qtbot.waitUntil(lambda: any(d.isVisible() for d in w.findChildren(ReportDialog)))
    (dialog,) = [d for d in w.findChildren(ReportDialog) if d.isVisible()]
    assert dialog.folder() == folder
    dialog.close()

    (folder / "weights.pt").unlink()
    refuse_dialogs(w)
    gone = run_menu(w, folder)["ONNX model…"]
    assert not gone.isEnabled() and gone.toolTip() == exports_menu.NO_WEIGHTS
    last = file_export(w, "ONNX model…")  # the last run is that run: the same reason
    assert not last.isEnabled() and last.toolTip() == exports_menu.NO_WEIGHTS


def test_a_run_replays_as_a_gif_and_pngs_and_one_without_snapshots_says_so(qtbot, window,
                                                                           tmp_path):
    from PIL import Image
    w = window(lab.circles(3))
    folder = train(qtbot, w)
    answer(w, tmp_path / "boundary.gif")
    with qtbot.waitSignal(w.exports.exported, timeout=60_000):
        file_export(w, "Replay as GIF…").trigger()  # File → Export: the run just trained
    with Image.open(tmp_path / "boundary.gif") as gif:
        assert gif.n_frames == 4  # the initial weights and three epochs
    answer(w, tmp_path / "frames")
    run_menu(w, folder)["Replay as PNGs…"].trigger()
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == [
        f"epoch-{e:04d}.png" for e in range(4)]
    for p in (folder / "snapshots").iterdir():  # a run from before snapshots were kept
        p.unlink()
    answer(w, tmp_path / "none.gif")
    run_menu(w, folder)["Replay as GIF…"].trigger()
    assert "kept no snapshots" in w.banner.message() and not (tmp_path / "none.gif").exists()


def test_an_unwritable_folder_is_an_error_banner_and_no_file(qtbot, window, tmp_path):
    w = window(lab.circles(1))
    train(qtbot, w)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    answer(w, blocker / "m.csv")
    with qtbot.waitSignal(w.exports.failed) as failed:
        file_export(w, "Metrics as CSV…").trigger()
    assert "choose a folder you can write to" in failed.args[0]
    assert w.banner.kind == "error" and "Cannot export" in w.banner.message()
    assert str(blocker) in w.banner.message()
    assert list(tmp_path.glob("**/*.csv")) == [] and blocker.read_text() == "not a folder"


def test_tensorboard_logs_and_without_the_package_the_install_line(qtbot, window, tmp_path,
                                                                   monkeypatch):
    w = window(lab.circles(1))
    folder = train(qtbot, w)
    answer(w, tmp_path / "tb")
    with qtbot.waitSignal(w.exports.exported) as done:
        file_export(w, "TensorBoard logs…").trigger()
    assert done.args[0] == [tmp_path / "tb" / folder.name]
    assert list((tmp_path / "tb" / folder.name).glob("events.out.tfevents.*"))
    assert f"tensorboard --logdir {tmp_path / 'tb'}" in w.banner.message()
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails as if absent
    answer(w, tmp_path / "tb2")
    with qtbot.waitSignal(w.exports.failed) as failed:
        file_export(w, "TensorBoard logs…").trigger()
    assert "pip install 'learnscope[tensorboard]'" in failed.args[0]
    assert w.banner.kind == "error" and "pip install" in w.banner.message()
    assert not (tmp_path / "tb2").exists()


def test_a_study_header_exports_its_table_and_opens_its_report(qtbot, window, tmp_path):
    from app.report_dialog import ReportDialog
    variants = (studies.Variant("lr 0.01", ("optim.lr=0.01",)),
                studies.Variant("lr 1", ("optim.lr=1.0",)))
    study = studies.Study("two rates", "independent", lab.circles(1), variants, "")
    runner = StudyRunner(study, out=tmp_path / "runs")  # the window's runs folder (conftest)
    runner.run()
    w = window(lab.circles(1))
    p = w.runs_panel
    p.refresh()
    p.table.selectRow(next(i for i, e in enumerate(p.shown) if p.groups.at(i) is e))
    actions = {a.text(): a for a in p.context_menu().actions()}
    assert {"Tick all its runs", "Rung table as CSV…", "Lab report…"} <= set(actions)
    answer(w, tmp_path / "rungs.csv")
    with qtbot.waitSignal(w.exports.exported):
        actions["Rung table as CSV…"].trigger()
    table = json.loads((runner.folder / "study.json").read_text())["rungs"]
    assert [r["label"] for r in rows(tmp_path / "rungs.csv")] == [r["label"] for r in table]
    actions["Lab report…"].trigger()
    qtbot.waitUntil(lambda: any(d.isVisible() for d in w.findChildren(ReportDialog)))
    (dialog,) = [d for d in w.findChildren(ReportDialog) if d.isVisible()]
    assert dialog.folder() == runner.folder
    dialog.close()
