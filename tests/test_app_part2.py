"""The Part 2 tab driven through its real widgets: a tiny ladder from a study file, its table,
bar chart and overlaid curves, a click on a rung, resuming, Stop mid-ladder, a bad file."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt

from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings; window)
import lab
from app.panels.study_results import COLUMN
from core.experiment import config as cfg
from core import study as studies
from core.store.reader import default_root

PART2 = 4  # the Part 2 tab's index

TINY = """
[study]
name = "tiny ladder"
kind = "cumulative"
preset = "circles-mlp"
text = "Three quick rungs on the circles."
[train]
epochs = 10
device = "cpu"
[[study.variant]]
label = "baseline"
text = "The MLP as given."
[[study.variant]]
label = "+ lr 0.3"
question = 11
set = ["optim.lr=0.3"]
[[study.variant]]
label = "+ hidden 6"
set = ["model.hidden=[6]"{more}]
"""


def study_file(tmp_path: Path, more: str = "") -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY.format(more=more), encoding="utf-8")
    return path


def click(qtbot, widget, pos=None):
    if pos is None:
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)
    else:
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=pos)


def open_study(w, path: Path):
    """Choose "Open study file…" in the study choice, the dialog answering path."""
    p = w.part2_panel
    p.ask_file = lambda: str(path)
    p.study_choice.setCurrentIndex(p.study_choice.count() - 1)
    return p


def untick(p, k: int) -> None:
    p.rung_list.item(k).setCheckState(Qt.CheckState.Unchecked)


def run_study(qtbot, p, timeout=60_000) -> list[dict]:
    with qtbot.waitSignal(p.trainer.finished, timeout=timeout) as done:
        click(qtbot, p.run_button)
    return done.args[0]


def stored_rows() -> list[dict]:
    return json.loads((default_root() / "tiny-ladder" / "study.json").read_text())["rungs"]


def test_the_part2_tab_lists_the_built_in_ladders_shapes_cnn_first(window):
    w = window(lab.circles(), tab=PART2)
    p = w.part2_panel
    assert w.tabs.tabText(PART2) == "Part 2"
    names = [p.study_choice.itemText(i) for i in range(p.study_choice.count())]
    assert names[0] == "ladder-shapes-cnn" and "ladder-cifar-cnn" in names
    assert names[-1] == "Open study file…"
    study = studies.builtin("ladder-shapes-cnn")
    assert p.rung_list.count() == len(study.variants)
    assert p.rung_list.item(0).toolTip() == study.variants[0].text
    assert p.study_text.text() == study.text


def test_a_tiny_ladder_fills_the_table_and_overlays_a_curve_per_rung(qtbot, window, tmp_path):
    w = window(lab.circles(), tab=PART2)
    p = open_study(w, study_file(tmp_path))
    assert p.study.name == "tiny ladder" and p.rung_list.count() == 3
    ticked_at_start = []  # the runs overlaid as each rung starts: the rungs finished so far
    p.trainer.rung_started.connect(lambda *_: ticked_at_start.append(
        (len(w.runs_panel.checked_runs()), len(w.plots.overlay_items))))
    rows = run_study(qtbot, p)
    assert [r["status"] for r in rows] == ["done"] * 3
    assert ticked_at_start[0][0] == 0 and ticked_at_start[2][0] == 2
    assert ticked_at_start[1][1] > 0  # rung 1's curves drawn while rung 2 trains

    stored = stored_rows()
    t = p.results.table
    assert t.rowCount() == 3
    for i, r in enumerate(stored):
        assert t.item(i, 0).text() == f"{i + 1}. {r['label']}"
        assert t.item(i, COLUMN["train"]).text() == f"{r['train_accuracy']:.1f}"
        assert t.item(i, COLUMN["test"]).text() == f"{r['test_accuracy']:.1f}"
        assert t.item(i, COLUMN["status"]).text() == "done"
        if i:  # the change against the rung above, in points, green up and red down
            assert t.item(i, COLUMN["change"]).text().endswith(f"{r['change']:+.1f}")
            if r["change"]:
                assert t.item(i, COLUMN["change"]).foreground().color().name() == (
                    "#2e7d32" if r["change"] > 0 else "#c62828")

    # each rung overlaid in the main plots, in the colour its row and bar have
    assert len(w.runs_panel.checked_runs()) == 3
    colours = p.results.colours()
    assert len(set(colours)) == 3
    drawn = {item.opts["pen"].color().name() for _, item in w.plots.overlay_items}
    assert drawn == set(colours)
    bars = [b.color().name() for b in p.results.bars.opts["brushes"]]
    assert bars == colours
    assert [t.item(i, 0).foreground().color().name() for i in range(3)] == colours
    assert list(p.results.bars.opts["height"]) == [r["test_accuracy"] for r in stored]
    # the panels keep the last rung, the network the plots and the Inspect views show
    last = studies.experiments(p.study)[-1][1]
    assert w.current_experiment() == last and w.experiment.name == last.name


def test_a_click_on_a_rung_loads_its_settings_and_its_run(qtbot, window, tmp_path):
    w = window(lab.circles(), tab=PART2)
    p = open_study(w, study_file(tmp_path))
    run_study(qtbot, p)
    rungs = studies.experiments(p.study)
    t = p.results.table
    w.runs_panel.untick_all()
    with qtbot.waitSignal(w.inspect.inspected, timeout=20_000) as shown:
        with qtbot.waitSignal(p.results.rung_opened, timeout=5_000):
            click(qtbot, t.viewport(), t.visualItemRect(t.item(1, COLUMN["test"])).center())
    assert cfg.to_dict(w.current_experiment()) == cfg.to_dict(rungs[1][1])
    assert shown.args[0] is not None  # its trained network in the Inspect views
    ticked = [r.folder.name for r in w.runs_panel.checked_runs()]
    assert ticked == [stored_rows()[1]["run_folder"]]

    chart = p.results.chart  # a click on the third bar loads the third rung
    spot = chart.mapFromScene(p.results.bar_position(2))
    with qtbot.waitSignal(p.results.rung_opened, timeout=5_000) as opened:
        click(qtbot, chart.viewport(), spot)
    assert opened.args[0]["index"] == 3
    assert cfg.to_dict(w.current_experiment()) == cfg.to_dict(rungs[2][1])
    assert w.current_experiment().optim.lr == 0.3  # a ladder's rung keeps the earlier switches


def test_a_second_run_resumes_and_trains_only_the_rungs_left(qtbot, window, tmp_path):
    w = window(lab.circles(), tab=PART2)
    p = open_study(w, study_file(tmp_path))
    untick(p, 2)
    first = run_study(qtbot, p)
    assert [r["status"] for r in first] == ["done", "done", "pending"]
    p.study_choice.setCurrentIndex(0)  # another study, then this one again: its last results
    assert p.results.table.rowCount() == 0  # the built-in ladder: never run here
    p.study_choice.setCurrentIndex(p.study_choice.findText("tiny.toml"))
    assert [p.results.table.item(i, COLUMN["status"]).text() for i in range(3)] == ["done", "done", "pending"]
    assert "Run resumes it" in p.progress.text()
    untick(p, 2)
    started, lines = [], []
    w.run_started.connect(started.append)
    p.trainer.progressed.connect(lines.append)
    p.rung_list.item(2).setCheckState(Qt.CheckState.Checked)
    # where the events go changes no number: the rungs done are still kept
    w.training_panel.tensorboard.setText(str(tmp_path / "tb"))
    second = run_study(qtbot, p)
    assert len(started) == 1  # only the third rung trained
    assert [r["status"] for r in second] == ["done"] * 3
    assert [r["run_folder"] for r in second[:2]] == [r["run_folder"] for r in first[:2]]
    assert lines[0] == "Kept 2 finished rungs with the same settings from tiny-ladder; training 1."
    assert lines[-1].startswith("Done: 1 rung trained") and p.progress.text() == lines[-1]
    third = cfg.load(default_root() / "tiny-ladder" / second[2]["run_folder"] / "config.toml")
    assert third.optim.lr == 0.3 and third.model.hidden == [6]  # rung 2's switch too
    assert third.train.tensorboard == str(tmp_path / "tb")  # the training bar's folder
    assert p.results.table.rowCount() == 3 and p.results.table.item(2, COLUMN["status"]).text() == "done"


def test_stop_mid_ladder_keeps_the_finished_rungs(qtbot, window, tmp_path):
    w = window(lab.circles(), tab=PART2)
    p = open_study(w, study_file(tmp_path, more=', "train.epochs=100000"'))
    with qtbot.waitSignal(p.trainer.finished, timeout=60_000) as done:
        click(qtbot, p.run_button)
        assert p.stop_button.isEnabled() and not p.run_button.isEnabled()
        qtbot.waitUntil(lambda: p.trainer.current == 2 and len(w.plots.records) >= 2,
                        timeout=40_000)
        assert "Rung 3/3: + hidden 6 · epoch" in p.progress.text()
        click(qtbot, p.stop_button)
    rows = done.args[0]
    assert [r["status"] for r in rows] == ["done", "done", "stopped"]
    assert [r["status"] for r in stored_rows()] == ["done", "done", "stopped"]
    assert "cancelled" not in p.progress.text() and "2/3" in p.progress.text()
    assert p.run_button.isEnabled() and not w.is_training()
    assert p.results.table.item(2, COLUMN["status"]).text() == "stopped"


def test_a_bad_study_file_gets_a_banner_naming_the_entry_and_field(qtbot, window, tmp_path):
    w = window(lab.circles(), tab=PART2)
    shown = w.part2_panel.study.name
    p = open_study(w, study_file(tmp_path, more=', "optim.lr=-1"'))
    text = w.banner.text.text()
    assert w.banner.isVisible() and w.banner.kind == "error"
    assert "study.variant[2]" in text and "lr" in text
    assert p.study.name == shown and p.study_choice.currentIndex() == 0  # the last study stays


def test_a_study_the_cli_trains_now_is_refused_with_where(qtbot, window, tmp_path):
    """One lock per study folder: the tab does not train beside the CLI (or another window)."""
    from core.files.folder_lock import FolderLock
    w = window(lab.circles(), tab=PART2)
    p = open_study(w, study_file(tmp_path))
    folder = default_root() / "tiny-ladder"
    with FolderLock(folder):  # as `python -m core study` holds it while it trains
        click(qtbot, p.run_button)
        assert w.banner.isVisible() and w.banner.kind == "error"
        assert "already running" in w.banner.text.text() and str(folder) in w.banner.text.text()
        assert not p.trainer.running() and not list(folder.glob("rung-*"))
    rows = run_study(qtbot, p)  # once the other lets go, the tab trains it
    assert [r["status"] for r in rows] == ["done"] * 3
    with FolderLock(folder) as lock:  # and the tab let it go at the end
        assert lock.held


def test_a_rung_opened_on_the_results_page_shows_its_network_on_the_train_page(
        qtbot, window, tmp_path):
    from app.window_pages import RESULTS, TRAIN
    w = window(lab.circles(), tab=PART2)
    p = open_study(w, study_file(tmp_path))
    run_study(qtbot, p)
    w.pages.setCurrentIndex(RESULTS)
    table = p.results.table
    assert table.isVisible()
    with qtbot.waitSignal(w.inspect.inspected, timeout=30_000):
        click(qtbot, table.viewport(), table.visualItemRect(table.item(0, 0)).center())
    assert not w.inspect.isVisible()  # loaded while hidden…
    w.pages.setCurrentIndex(TRAIN)
    view = w.inspect.current()
    qtbot.waitUntil(lambda: view._stack.currentWidget() is view.body)  # …drawn once shown


def test_the_results_page_opens_on_the_last_results_of_the_study_shown(qtbot, window, tmp_path):
    """The Part 2 tab opens on the built-in ladder with its last results: the Results page
    shows them from the start (they were read before the page existed)."""
    import shutil
    from app.window_pages import RESULTS
    w = window(lab.circles(), tab=PART2)
    rows = run_study(qtbot, open_study(w, study_file(tmp_path)))
    ladder = default_root() / "ladder-shapes-cnn"
    ladder.mkdir()
    shutil.copy(default_root() / "tiny-ladder" / "study.json", ladder / "study.json")
    again = window(lab.circles())
    again.pages.setCurrentIndex(RESULTS)
    assert again.results_page.current() is again.part2_panel.results
    assert again.part2_panel.results.table.rowCount() == len(rows) == 3


def test_rungs_trained_elsewhere_arrive_in_the_table_while_the_tab_shows_the_study(qtbot, window):
    """A study the command line (or a Dask cluster) trains into the runs folder: the tab that
    shows it reads its study.json again as each rung lands, no button pressed."""
    from core.study.runner import StudyRunner, train_rung
    default_root().mkdir(parents=True, exist_ok=True)
    w = window(lab.tiny_shapes(1), tab=PART2)
    panel = w.part2_panel
    assert panel.study.name == "ladder-shapes-cnn" and panel.results.rows == []
    runner = StudyRunner(studies.builtin("ladder", "shapes-cnn"), default_root(), extra=[
        "train.epochs=1", "data.n_train=64", "data.n_test=64", "train.batch_size=32",
        "train.device=cpu"])
    todo = runner.begin()  # elsewhere: the folder and study.json appear
    k = todo[0]
    runner.end_rung(k, train_rung(runner.rungs[k][1], runner.start_rung(k)))
    runner.finish()
    qtbot.waitUntil(lambda: len(panel.results.rows) == 8
                    and panel.results.rows[0]["status"] == "done", timeout=10_000)
    assert "Last results from ladder-shapes-cnn" in panel.progress.text()


def test_other_runs_landing_in_the_runs_folder_do_not_turn_the_results_page(qtbot, window):
    """The tab watches the runs folder until its study's folder exists: a run of something else
    landing there leaves its (unchanged) table, and the Results page, as they were."""
    from app.window_pages import RESULTS
    default_root().mkdir(parents=True, exist_ok=True)
    w = window(lab.tiny_shapes(1), tab=PART2)
    panel = w.part2_panel
    w.pages.setCurrentIndex(RESULTS)  # the Results page: nothing on it yet
    assert w.results_page.current() is None and panel.results.rows == []
    with qtbot.waitSignal(panel._reread.timeout, timeout=5_000):
        (default_root() / "another-run").mkdir()
    assert w.results_page.current() is None  # not turned to an empty Part 2 table
