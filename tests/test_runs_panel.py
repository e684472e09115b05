"""The Runs dock driven through its real widgets (offscreen): context menu (inspect, load,
rename, delete, open folder), damaged run files, overlay labels by what differs, inspecting a
finished run after a restart, and the running run's live row."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings)
import lab
from app.window_pages import RUNS
from core.experiment import config as cfg
from core.store import runs as store
from core.experiment.compare import differences
from core.engine.train import Trainer
from core.store.writers import recorded


def circles(epochs: int = 1, **sets) -> cfg.Experiment:
    return lab.circles(epochs, **sets)


def tiny_shapes() -> cfg.Experiment:
    return lab.tiny_shapes(epochs=1, n_test=32)


def make_run(root: Path, exp: cfg.Experiment | None = None) -> Path:
    return Path(recorded(Trainer(exp or circles()), root).fit().run_folder)


@pytest.fixture
def root(tmp_path) -> Path:
    r = tmp_path / "runs"
    r.mkdir()
    return r


@pytest.fixture
def panel(qtbot, root):
    return lambda: open_runs_panel(qtbot, root)


def menu_action(panel, text: str):
    """The context menu's action whose text starts with text (what a right-click shows)."""
    menu = panel.context_menu()
    (action,) = [a for a in menu.actions() if a.text().startswith(text)]
    return action


def row_of(panel, folder: Path) -> int:
    return next(i for i, r in enumerate(panel.runs) if r.folder.name == folder.name)


# -- delete, rename, open
def test_the_context_menu_offers_every_action(panel, root):
    make_run(root)
    p = panel()
    p.table.selectRow(0)
    texts = [a.text() for a in p.context_menu().actions() if not a.isSeparator()]
    assert texts == ["Inspect", "Load settings", "Rename…\tF2", "Delete…\tDel", "Open folder"]
    assert all(a.isEnabled() for a in p.context_menu().actions())
    loaded = []
    p.load_requested.connect(loaded.append)
    menu_action(p, "Load settings").trigger()
    assert loaded == [circles()]


def test_delete_asks_then_removes_the_run_folder(panel, root):
    keep, gone = make_run(root), make_run(root)
    p = panel()
    asked = []
    p.confirm = lambda title, text: asked.append(text) or False  # the person says Cancel
    p.table.selectRow(row_of(p, gone))
    menu_action(p, "Delete").trigger()
    assert asked and "cannot be undone" in asked[0] and gone.exists()
    p.confirm = lambda title, text: True
    menu_action(p, "Delete").trigger()
    assert not gone.exists() and keep.exists()
    assert p.table.rowCount() == 1 and p.runs[0].folder == keep


def test_a_0_epoch_stopped_run_and_a_multi_selection_are_deleted_with_the_delete_key(qtbot, panel, root):
    writer = store.RunWriter(circles(), root)
    writer.finish("stopped", "Stopped by the user during epoch 1; 0 finished epoch(s) kept.")
    empty = writer.folder
    other = make_run(root)
    p = panel()
    assert {r.summary.get("epochs") for r in p.runs} == {0, 1}
    p.confirm = lambda title, text: "these 2 runs" in text
    p.table.selectAll()
    p.table.setFocus()
    qtbot.keyClick(p.table, Qt.Key.Key_Delete)
    assert not empty.exists() and not other.exists() and p.table.rowCount() == 0


def test_the_run_training_now_cannot_be_deleted_or_renamed(qtbot, panel, root):
    folder = make_run(root)
    p = panel()
    p.set_running(folder)
    p.table.selectRow(0)
    delete, rename = menu_action(p, "Delete"), menu_action(p, "Rename")
    assert not delete.isEnabled() and "training now" in delete.toolTip()
    assert not rename.isEnabled()
    p.confirm = lambda title, text: True
    p.table.setFocus()
    qtbot.keyClick(p.table, Qt.Key.Key_Delete)
    assert folder.exists() and "training now" in p.messages[-1][2]
    p.set_running(None)
    assert menu_action(p, "Delete").isEnabled()


def test_delete_run_refuses_what_is_not_a_run_folder_of_the_root(root, tmp_path):
    outside = make_run(tmp_path / "elsewhere")
    with pytest.raises(store.RunError, match="not a run folder inside"):
        store.delete_run(outside, root)
    assert outside.exists()
    notes = make_run(root)
    (notes / "notes.txt").write_text("mine")
    with pytest.raises(store.RunError, match="notes.txt, which LearnScope did not write"):
        store.delete_run(notes, root)
    assert (notes / "notes.txt").exists() and (notes / "config.toml").exists()
    (root / "plain").mkdir()
    with pytest.raises(store.RunError, match="no config.toml"):
        store.delete_run(root / "plain", root)
    (root / "link").symlink_to(outside)
    with pytest.raises(store.RunError, match="link"):
        store.delete_run(root / "link", root)
    assert outside.exists()


def test_rename_shows_the_name_and_keeps_it_after_a_refresh(panel, root):
    folder = make_run(root)
    p = panel()
    p.table.selectRow(0)
    p.ask_name = lambda current: current == "circles-mlp" and "  baseline   η 0.03 "
    menu_action(p, "Rename").trigger()
    assert p.table.item(0, 0).text() == "baseline η 0.03"
    assert json.loads((folder / "summary.json").read_text())["name"] == "baseline η 0.03"
    again = panel()  # a new window on the same runs
    assert again.table.item(0, 0).text() == "baseline η 0.03"
    p.ask_name = lambda current: "   "
    menu_action(p, "Rename").trigger()
    assert "cannot be empty" in p.messages[-1][2] and p.table.item(0, 0).text() == "baseline η 0.03"


def test_open_folder_hands_the_folder_to_the_file_manager(panel, root):
    folder = make_run(root)
    p = panel()
    opened = []
    p.open_url = lambda url: opened.append(url.toLocalFile()) or True
    p.table.selectRow(0)
    menu_action(p, "Open folder").trigger()
    assert opened == [str(folder)]
    p.open_url = lambda url: False
    menu_action(p, "Open folder").trigger()
    assert "No file manager opened" in p.messages[-1][2]


# -- damaged files
BAD_SUMMARIES = {
    "list": (b"[1, 2, 3]", "holds [1, 2, 3], not a table of results"),
    "null": (b"null", "holds None, not a table of results"),
    "number": (b"42", "holds 42, not a table of results"),
    "types": (json.dumps({"status": "done", "started": 5, "epochs": "many", "test": [1]}).encode(),
              "'started' is 5, not a date and time (and 2 more)"),
    "bytes": (b'{"name": "\xff\xfe"}', "summary.json is not UTF-8 text"),
    "torn": (b'{"status": "do', "summary.json is not valid JSON"),
    "deep": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
}


def test_damaged_summaries_show_their_reason_and_never_crash_the_list(panel, root):
    folders = {}
    for name, (data, _why) in BAD_SUMMARIES.items():
        folders[name] = make_run(root, circles(**{"optim.lr": 0.01 + len(folders) / 100}))
        (folders[name] / "summary.json").write_bytes(data)
    p = panel()
    assert p.table.rowCount() == len(BAD_SUMMARIES)
    for name, (_data, why) in BAD_SUMMARIES.items():
        row = row_of(p, folders[name])
        settings = p.table.item(row, 2).text()
        assert settings.startswith("(unreadable: ") and why in settings, (name, settings)
        assert "circles · MLP" in settings  # its config still reads
    types = p.runs[row_of(p, folders["types"])]
    assert types.summary == {"status": "done"}  # the wrong-typed fields are left out
    assert p.table.item(row_of(p, folders["list"]), 4).text() == "unreadable"
    for i in range(p.table.rowCount()):
        p.set_checked(i, True)  # overlays read their metrics: still fine
    assert len(p.overlays()) == len(BAD_SUMMARIES)
    with pytest.raises(store.RunError, match="Cannot rename the run: summary.json holds"):
        store.rename_run(folders["list"], "x", root)


def test_damaged_metrics_lines_are_left_out_and_said(qtbot, panel, root):
    from app.views.plots import PlotsView
    folder = make_run(root, circles(epochs=2))
    good = (folder / "metrics.jsonl").read_bytes()
    (folder / "metrics.jsonl").write_bytes(
        b"[1, 2]\n" + b'{"lr": 0.1}\n' + b'{"epoch": "one"}\n' + b"\xff\xfe\n"
        + b'{"epoch": 3, "train": [1], "test": {"accuracy": "high", "loss": 0.5}, "lr": "fast"}\n'
        + good + b'{"epoch": 5, "tra')  # a torn last line, as a killed writer leaves it
    (folder / "config.toml").write_bytes(b"\xff not toml")
    p = panel()
    assert "config.toml is not UTF-8 text" in p.table.item(0, 2).text()
    records = p.runs[0].metrics()
    assert [r.epoch for r in records] == [3, 1, 2]
    first = records[0]  # what is a number is kept, the rest reads NaN (a curve leaves it out)
    assert first.test.loss == 0.5 and math.isnan(first.test.accuracy) and math.isnan(first.lr)
    assert math.isnan(first.train.loss) and first.val is None
    assert p.runs[0].metrics_problem.startswith("4 lines of metrics.jsonl are not epoch records")
    p.set_checked(0, True)
    plots = PlotsView()
    qtbot.addWidget(plots)
    plots.set_overlays(p.overlays())
    assert p.messages[-1][0] == "warning" and "4 lines" in p.messages[-1][2]
    drawn = [item for plot, item in plots.overlay_items if plot is plots.loss_plot]
    assert len(drawn) == 2 and list(drawn[0].xData) == [3, 1, 2]
    plots.set_overlays([("junk", [None, 5, {"epoch": True}, {"epoch": 1, "test": 7, "lr": None}])])
    assert len(plots.overlay_items) == 5


# -- overlays named by what differs
def test_differences_name_only_the_fields_that_differ_in_lab_words():
    base = circles()
    assert differences([base, cfg.with_overrides(base, ["optim.lr=0.3"])]) == ["η = 0.03", "η = 0.3"]
    assert differences([base, cfg.with_overrides(base, ["model.dropout=0.5"])]) == ["no dropout", "+ dropout"]
    four = [base] + [cfg.with_overrides(base, [o]) for o in
                     ("train.batch_size=1", "optim.loss=mse", "model.implementation=manual")]
    assert differences(four)[1:] == ["batch 1", "loss mse", "manual"]
    assert differences(four)[0] == "baseline"
    assert differences([base, cfg.with_overrides(base, ["optim.momentum=0.9", "data.n_train=50"])]) == [
        "m = 0 · N = 200", "m = 0.9 · N = 50"]
    assert differences([base, base, None]) == ["", "", ""]


def test_two_ticked_runs_differing_in_lr_are_labelled_by_it(qtbot, panel, root):
    from app.views.plots import PlotsView
    make_run(root, circles(**{"optim.lr": 0.3}))
    make_run(root, circles())  # 0.03, the preset's
    p = panel()
    p.set_checked(0, True)
    assert [label for label, _ in p.overlays()] == ["circles-mlp"]  # alone: nothing differs
    with qtbot.waitSignal(p.overlays_changed):
        p.set_checked(1, True)
    labels = sorted(label for label, _ in p.overlays())
    assert labels == ["η = 0.03", "η = 0.3"]
    # the settings column leads with the difference, in bold, and names loss and implementation
    cell = p.table.item(row_of(p, p.runs[1].folder), 2)
    assert cell.text().startswith("η = 0.") and cell.font().bold()
    assert "cross-entropy" in cell.text() and "(optim)" in cell.text()
    plots = PlotsView()
    qtbot.addWidget(plots)
    plots.set_overlays(p.overlays())
    key = plots.overlay_key.text()
    assert "η = 0.03" in key and "η = 0.3" in key and "solid: test, dashed: train" in key
    assert not plots.overlay_key.isHidden()
    p.set_checked(0, False)
    assert not p.table.item(1, 2).font().bold() and not p.table.item(1, 2).text().startswith("η")
    p.table.selectRow(1)
    p.ask_name = lambda current: "slow"  # a name given by hand leads the label
    menu_action(p, "Rename").trigger()
    p.set_checked(0, True)
    p.set_checked(1, True)
    assert sorted(label for label, _ in p.overlays()) == ["slow: η = 0.3", "η = 0.03"]


# -- inspecting a finished run after a restart
def new_window(qtbot, root, exp=None):
    from app.window import MainWindow
    w = MainWindow(exp or circles(), run_root=root, persist=False)
    qtbot.addWidget(w)
    w.resize(1280, 720)
    with qtbot.waitExposed(w):
        w.show()
    w.pages.setCurrentIndex(RUNS)  # the run list, where a person double-clicks a run
    return w


def double_click(qtbot, table, row: int) -> None:
    table.scrollToItem(table.item(row, 0))
    rect = table.visualItemRect(table.item(row, 0))
    assert table.viewport().rect().contains(rect.center())
    # a person's double-click: a click (selects the row), then the double-click event
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_a_finished_run_is_inspected_after_a_restart(qtbot, root):
    first = new_window(qtbot, root, circles(epochs=3))
    with qtbot.waitSignal(first.run_finished, timeout=60_000) as blocker:
        assert first.start_training()
    assert blocker.args[0].status == "done"
    first.close()
    recorded(Trainer(tiny_shapes()), root).fit()  # a CNN prepared from the CLI

    w = new_window(qtbot, root)  # the restart: nothing trained in this window
    decision = w.inspect.views["decision-boundary"]
    assert w.inspect.source.trainer is None
    row = next(i for i, r in enumerate(w.runs_panel.runs) if r.experiment.is_points)
    with qtbot.waitSignal(w.inspect.inspected, timeout=30_000) as shown:
        double_click(qtbot, w.runs_panel.table, row)
    assert shown.args[0] is not None and shown.args[0].epochs == 3
    assert w.inspect.current() is decision
    assert decision._stack.currentWidget() is decision.body, decision.message.text()
    assert decision.heat.image.shape == (40, 40)
    assert decision.title.text().startswith("Iter 60: acc train")
    assert f"acc test {blocker.args[0].last.test.accuracy:.1f}%" in decision.title.text()

    cnn = next(i for i, r in enumerate(w.runs_panel.runs) if not r.experiment.is_points)
    w.runs_panel.table.selectRow(cnn)
    with qtbot.waitSignal(w.inspect.inspected, timeout=30_000):
        menu_action(w.runs_panel, "Inspect").trigger()
    w.inspect.select("filters")
    filters = w.inspect.views["filters"]
    qtbot.waitUntil(lambda: getattr(filters, "mosaic", None) is not None, timeout=10_000)
    assert filters._stack.currentWidget() is filters.body
    health = _health(w)  # the layer health its snapshots kept
    assert health.steps and health._stack.currentWidget() is health.body

    unkept = tiny_shapes()
    unkept.train.snapshots = "none"
    folder = recorded(Trainer(unkept), root).fit().run_folder
    w.runs_panel.refresh()
    w.runs_panel.table.selectRow(next(i for i, r in enumerate(w.runs_panel.runs)
                                      if str(r.folder) == str(folder)))
    with qtbot.waitSignal(w.inspect.inspected, timeout=30_000):
        menu_action(w.runs_panel, "Inspect").trigger()
    assert "Train it again" in _health(w).message.text()
    w.shutdown(5000)


def _health(w):
    w.inspect.select("health")
    health = w.inspect.views["health"]
    health.tick(force=True)
    return health


def test_a_run_without_or_with_damaged_weights_says_so_in_the_banner(qtbot, root):
    writer = store.RunWriter(circles(), root)
    writer.finish("stopped", "Stopped during epoch 1.")
    broken = make_run(root)
    (broken / "weights.pt").write_bytes(b"not a weights file")
    w = new_window(qtbot, root)
    for folder, words in ((writer.folder, "ended before its first epoch finished"),
                          (broken, "weights.pt is damaged")):
        with qtbot.waitSignal(w.inspect.inspected, timeout=30_000) as shown:
            double_click(qtbot, w.runs_panel.table, row_of(w.runs_panel, folder))
        assert shown.args[0] is None
        assert "Cannot inspect that run." in w.banner.message() and words in w.banner.message()
    w.shutdown(5000)


# -- the running run's row
def test_the_running_runs_row_counts_its_epochs_and_cannot_be_inspected(qtbot, root):
    w = new_window(qtbot, root, circles(epochs=100_000))  # stopped below, long before its end
    panel = w.runs_panel
    with qtbot.waitSignal(w.run_started):
        assert w.start_training()

    def epochs_shown() -> int:
        row = panel._live_row
        text = panel.table.item(row, 3).text() if row is not None else ""
        return int(text.split("/")[0]) if "/" in text else 0

    qtbot.waitUntil(lambda: epochs_shown() >= 1, timeout=20_000)
    first = epochs_shown()
    qtbot.waitUntil(lambda: epochs_shown() > first, timeout=20_000)
    row = panel._live_row
    assert panel.table.item(row, 3).text().endswith("/100000")
    assert panel.table.item(row, 5).text().endswith("%")  # train accuracy follows too
    panel.table.selectRow(row)
    assert not menu_action(panel, "Inspect").isEnabled()
    assert not menu_action(panel, "Delete").isEnabled()
    with qtbot.waitSignal(w.run_finished, timeout=10_000):
        w.stop_training()
    assert panel.running_folder is None and menu_action(panel, "Delete").isEnabled()
    (run,) = panel.runs  # the finished row reads the run's summary again
    assert panel.table.item(0, 4).text() == "stopped"
    assert panel.table.item(0, 3).text() == str(run.summary["epochs"]) and run.summary["epochs"] > first


def test_a_narrow_runs_table_leaves_out_columns_rather_than_squeeze_the_settings(qtbot, root, panel):
    """At the Runs dock's width on a 1280×720 screen the settings stay readable: started, test
    loss and epochs go (their values stay in the name's tooltip), and come back when wide."""
    from app.panels import runs_table
    make_run(root)
    p = panel()
    table = p.table
    p.resize(560, 200)
    qtbot.waitUntil(lambda: table.isColumnHidden(1))
    assert table.columnWidth(2) >= runs_table.SETTINGS_MIN
    assert "test loss" in table.item(0, 0).toolTip() and "started" in table.item(0, 0).toolTip()
    p.resize(1500, 200)
    qtbot.waitUntil(lambda: not any(table.isColumnHidden(j) for j in range(table.columnCount())))


def test_runs_list_sees_cli_run_finish_within_a_second(qtbot, panel, root):
    """A run another process trains (`python -m core train`) ends inside its own folder, where
    the runs root's watcher sees nothing: its row says "done" within a second all the same."""
    writer = store.RunWriter(circles(), root)  # this process's pid: its writer is alive
    p = panel()
    status = lambda: p.table.item(row_of(p, writer.folder), 4).text()  # noqa: E731
    assert status() == "running" and p.running_folder is None
    writer.finish("done")  # summary.json rewritten as the CLI does: a temporary file, renamed
    assert json.loads((writer.folder / "summary.json").read_text())["status"] == "done"
    qtbot.waitUntil(lambda: status() == "done", timeout=1500)
