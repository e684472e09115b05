"""The Runs dock's study groups, driven through the real widgets (offscreen): a header per
study folder over its indented rungs, folding, ticking a study at once, its context menu
(tick, open, delete), a damaged study.json, and the hook for extra actions on a run's menu."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction

from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings)
import lab
from core import study as studies
from core.study.runner import run_study
from core.engine.train import Trainer
from core.store.writers import recorded


@pytest.fixture
def root(tmp_path) -> Path:
    """A run of its own, then a study folder of two one-epoch rungs (η 0.03, then 0.3)."""
    r = tmp_path / "runs"
    exp = lab.circles(1, **{"data.n_train": 40})
    recorded(Trainer(exp), r).fit()
    run_study(studies.Study("pair", "cumulative", exp, (
        studies.Variant("baseline"), studies.Variant("+ lr 0.3", ("optim.lr=0.3",), 11))), r)
    return r


@pytest.fixture
def panel(qtbot, root):
    return open_runs_panel(qtbot, root)


def names(p) -> list[str]:
    return [p.table.item(i, 0).text() for i in range(p.table.rowCount())]


def visible(p) -> list[bool]:
    return [not p.table.isRowHidden(i) for i in range(p.table.rowCount())]


def menu_texts(p) -> list[str]:
    return [a.text() for a in p.context_menu().actions() if not a.isSeparator()]


def click(qtbot, p, row: int, col: int = 2, x: int | None = None) -> None:
    rect = p.table.visualRect(p.table.model().index(row, col))
    pos = rect.center() if x is None else QPoint(rect.left() + x, rect.center().y())
    qtbot.mouseClick(p.table.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def test_a_study_is_a_header_over_its_indented_rungs_beside_a_run(qtbot, panel, root):
    p = panel
    assert names(p) == ["▾ pair", "    rung 1 · baseline", "    rung 2 · + lr 0.3", "circles-mlp"]
    best = max(r.summary["test"]["accuracy"] for r in p.runs[:2])
    assert p.table.item(0, 2).text().startswith("cumulative study · 2/2 rungs done · best test "
                                                f"{best:.2f} %")
    assert p.table.item(0, 4).text() == "done" and p.table.item(0, 3).text() == "2/2"
    assert [r.folder.parent for r in p.runs] == [root / "pair", root / "pair", root]
    assert [p.row_of(i) for i in range(3)] == [1, 2, 3]
    shutil.copytree(root / "pair" / "rung-01-baseline", root / "pair" / "rung-03-more")
    qtbot.waitUntil(lambda: p.table.rowCount() == 5)  # the study's folder is watched too
    assert names(p)[3] == "    rung 3 · more"
    shutil.rmtree(root / "pair" / "rung-03-more")
    for rung in (root / "pair").glob("rung-*/summary.json"):  # a study older than the run
        summary = json.loads(rung.read_text())
        rung.write_text(json.dumps({**summary, "started": "2001-01-01T00:00:00"}))
    p.refresh()
    assert names(p) == ["circles-mlp", "▾ pair", "    rung 1 · baseline", "    rung 2 · + lr 0.3"]


def test_a_click_on_a_header_folds_its_rungs_and_the_arrow_keys_too(qtbot, panel):
    p = panel
    click(qtbot, p, 0)
    assert visible(p) == [True, False, False, True] and names(p)[0] == "▸ pair"
    p.refresh()  # a refresh keeps it folded
    assert visible(p) == [True, False, False, True]
    p.table.setFocus()
    p.table.selectRow(0)
    qtbot.keyClick(p.table, Qt.Key.Key_Right)
    assert visible(p) == [True] * 4 and names(p)[0] == "▾ pair"
    p.table.selectRow(2)  # ← on a rung folds its study and goes to its header
    qtbot.keyClick(p.table, Qt.Key.Key_Left)
    assert visible(p) == [True, False, False, True] and p.table.currentRow() == 0
    click(qtbot, p, 0)
    assert visible(p) == [True] * 4


def test_ticking_a_header_ticks_its_rungs_and_overlays_them(qtbot, panel):
    from app.views.curves import RUN_COLOURS
    p = panel
    header = p.table.item(0, 0)
    with qtbot.waitSignal(p.overlays_changed):
        header.setCheckState(Qt.CheckState.Checked)
    assert p.checked_runs() == p.runs[:2]
    assert [label for label, _ in p.overlays()] == ["1. baseline", "2. + lr 0.3"]  # by rung
    colours = [p.table.item(r, 0).foreground().color().name() for r in (1, 2)]
    assert colours == RUN_COLOURS[:2]
    with qtbot.waitSignal(p.overlays_changed):
        p.set_checked(1, False)  # one rung off: the header reads "some"
    assert header.checkState() == Qt.CheckState.PartiallyChecked
    assert p.checked_runs() == [p.runs[0]]
    p.table.selectRow(0)
    with qtbot.waitSignal(p.overlays_changed):
        [a for a in p.context_menu().actions() if a.text() == "Tick all its runs"][0].trigger()
    assert p.checked_runs() == p.runs[:2] and header.checkState() == Qt.CheckState.Checked
    click(qtbot, p, 0, col=0, x=10)  # on the header's box: unticks, and does not fold
    assert p.checked_runs() == [] and visible(p) == [True] * 4


def test_deleting_a_study_asks_then_removes_its_folder_but_never_while_it_trains(qtbot, panel, root):
    p = panel
    p.table.selectRow(0)
    assert menu_texts(p) == ["Tick all its runs", "Open its folder", "Delete the study…\tDel"]
    opened = []
    p.open_url = lambda url: opened.append(url.toLocalFile()) or True
    [a for a in p.context_menu().actions() if a.text() == "Open its folder"][0].trigger()
    assert opened == [str(root / "pair")]
    p.set_running(root / "pair" / "rung-02-lr-0.3")
    p.table.selectRow(0)
    (delete,) = [a for a in p.context_menu().actions() if a.text().startswith("Delete")]
    assert not delete.isEnabled() and "training now" in delete.toolTip()
    p.confirm = lambda title, text: True
    p.table.setFocus()
    qtbot.keyClick(p.table, Qt.Key.Key_Delete)
    assert (root / "pair").exists() and "training now" in p.messages[-1][2]
    p.set_running(None)
    asked = []
    p.confirm = lambda title, text: asked.append(text) or False  # the person says Cancel
    p.table.selectRow(0)
    qtbot.keyClick(p.table, Qt.Key.Key_Delete)
    assert "“pair”" in asked[0] and "its 2 runs" in asked[0] and (root / "pair").exists()
    p.confirm = lambda title, text: True
    p.table.selectRow(0)
    [a for a in p.context_menu().actions() if a.text().startswith("Delete")][0].trigger()
    assert not (root / "pair").exists() and names(p) == ["circles-mlp"]


def test_a_rung_is_renamed_and_deleted_like_any_run(qtbot, panel, root):
    p = panel
    p.table.selectRow(1)
    assert menu_texts(p) == ["Inspect", "Load settings", "Rename…\tF2", "Delete…\tDel",
                             "Open folder"]
    p.ask_name = lambda current: "first"
    p.table.setFocus()
    qtbot.keyClick(p.table, Qt.Key.Key_F2)
    assert names(p)[1] == "    rung 1 · first"
    p.confirm = lambda title, text: True
    p.table.selectRow(2)
    qtbot.keyClick(p.table, Qt.Key.Key_Delete)
    assert not (root / "pair" / "rung-02-lr-0.3").exists()
    assert names(p) == ["▾ pair", "    rung 1 · first", "circles-mlp"]
    assert p.table.item(0, 2).text().startswith("cumulative study · 1/2 rungs done")


def test_a_damaged_study_json_shows_its_rungs_and_says_why(panel, root):
    (root / "pair" / "study.json").write_bytes(b'{"name": "pair", "rungs": [')
    p = panel
    p.refresh()
    assert names(p) == ["▾ pair", "    rung 1 · baseline", "    rung 2 · lr-0.3", "circles-mlp"]
    assert "(unreadable: study.json is not valid JSON" in p.table.item(0, 2).text()
    assert "2/2 rungs done" in p.table.item(0, 2).text()  # counted from its rungs' folders
    assert "study.json is not valid JSON" in p.table.item(1, 2).text()
    assert p.runs[0].experiment is not None


def test_extra_menu_actions_end_a_runs_menu_and_get_the_run(panel):
    p = panel
    got = []

    def export(run) -> list[QAction]:
        got.append(run)
        return [QAction("Export…", p)]
    p.extra_menu_actions.append(export)
    p.table.selectRow(3)
    assert menu_texts(p)[-1] == "Export…" and got == [p.runs[2]]
    p.table.selectRow(0)  # a study's header has its own menu
    assert "Export…" not in menu_texts(p)


def test_a_studys_ticked_rungs_are_keyed_by_their_rungs(qtbot, panel):
    # a ladder's rungs differ in everything the rungs below added: their own labels say more
    p = panel
    with qtbot.waitSignal(p.overlays_changed):
        p.set_checked(0, True)
    with qtbot.waitSignal(p.overlays_changed):
        p.set_checked(1, True)
    assert [label for label, _ in p.overlays()] == ["1. baseline", "2. + lr 0.3"]
    with qtbot.waitSignal(p.overlays_changed):
        p.set_checked(2, True)  # with a run of its own: keyed by what differs, as before
    labels = [label for label, _ in p.overlays()]
    assert len(labels) == 3 and "1. baseline" not in labels and "η = 0.3" in labels[1], labels


def test_a_study_started_elsewhere_appears_once_its_bare_folder_fills(qtbot, panel, root):
    """Another process's study is a bare folder (its lock) before it holds study.toml: the
    list watches that folder from the first moment and shows the study as it fills."""
    p = panel
    bare = root / "later"
    with qtbot.waitSignal(p._watcher.directoryChanged, timeout=3000):
        bare.mkdir()  # as core.files.folder_lock makes it
    qtbot.waitUntil(lambda: str(bare) in p._watcher.directories(), timeout=3000)  # refreshed
    for name in ("study.toml", "study.json"):
        shutil.copy(root / "pair" / name, bare / name)
    shutil.copytree(root / "pair" / "rung-01-baseline", bare / "rung-01-baseline")
    qtbot.waitUntil(lambda: names(p).count("▾ pair") == 2, timeout=3000)  # no Refresh pressed
