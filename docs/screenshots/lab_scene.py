"""A student's session on the Lab page, for take.sh's `lab` shots: run in a real X display.

Trains the circles MLP and a small Shapes-10 CNN as a student would, answers Part 1 Q2, Q10, Q11
and Part 2 Q19, Q23, Q34, attaches the decision boundary, the filters and the confusion
matrix, writes the lab report (PDF and HTML) to REPORT, shows Part 1 question 2 on the Lab
page and touches READY; then stays open until it is killed.

    .venv/bin/python docs/screenshots/lab_scene.py READY REPORT.pdf
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.window_pages import LAB, TRAIN  # noqa: E402
from core.engine import malloc  # noqa: E402
from core.experiment import config as cfg  # noqa: E402
from core.experiment import presets  # noqa: E402

ANSWERS = {
    ("part1", 2): "With N = 10 the boundary hugs the few points and test accuracy is poor; with "
                  "N = 200 or more it settles on the ring and train and test accuracy meet.",
    ("part1", 10): "Online (batch 1) is fast per step but noisy; full batch is smooth but takes "
                   "one step an epoch; mini-batches of 10 are the compromise.",
    ("part1", 11): "η = 0.003 crawls, 0.03 and 0.3 converge, 3.0 overshoots and the loss jumps.",
    ("part2", 19): "Each rung adds one change; standardisation and batch norm helped most here.",
    ("part2", 23): "Flips are wrong where left and right carry the class: arrow-left becomes "
                   "arrow-right, and digits or text read mirrored.",
    ("part2", 34): "Batch norm lets the network train with a larger step and regularises a "
                   "little; at test time it uses the running mean and variance.",
}


def wait(signal, ms: int = 600_000) -> list:
    got, loop = [], QEventLoop()

    def done(*args):
        got.extend(args)
        loop.quit()
    signal.connect(done)
    QTimer.singleShot(ms, loop.quit)
    loop.exec()
    signal.disconnect(done)
    return got


def settle(ms: int = 800) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def train(w, exp, view: str) -> str:
    """Train exp with view on screen; return the run's folder."""
    w.lab.load_experiment(exp)
    w.pages.setCurrentIndex(TRAIN)
    w.inspect.select(view)
    w.start_training()
    (result,) = wait(w.run_finished)
    settle(1500)  # the views draw the final network
    return result.run_folder


def answer(pane, sheet: str, number: int, figure: bool = False) -> None:
    pane.chooser.setCurrentIndex(pane.chooser.findData(sheet))
    pane.list.setCurrentRow([q.number for q in pane.sheet.questions].index(number))
    pane.answer.setPlainText(ANSWERS[(sheet, number)])
    pane.save()
    if figure:
        pane.add_figure.click()


def main() -> None:
    malloc.keep_freed_memory()
    ready, report = Path(sys.argv[1]), Path(sys.argv[2])
    app = QApplication(sys.argv[:1])
    from app.window import MainWindow
    w = MainWindow(presets.load("circles-mlp"), persist=False)
    w.showMaximized()
    settle()
    pane = w.lab_desk.pane
    circles = train(w, cfg.with_overrides(presets.load("circles-mlp"), ["train.epochs=60"]),
                    "decision-boundary")
    w.pages.setCurrentIndex(LAB)
    answer(pane, "part1", 2, figure=True)
    pane.book.link_run(2, circles)
    answer(pane, "part1", 10)
    answer(pane, "part1", 11)
    shapes = train(w, cfg.with_overrides(presets.load("shapes-cnn"), [
        "data.n_train=600", "data.n_test=300", "train.batch_size=32", "train.epochs=4"]),
        "filters")
    w.pages.setCurrentIndex(LAB)
    answer(pane, "part2", 19, figure=True)
    pane.book.link_run(19, shapes)
    w.inspect.select("confusion")
    w.pages.setCurrentIndex(TRAIN)
    settle(1500)
    w.pages.setCurrentIndex(LAB)
    answer(pane, "part2", 23, figure=True)
    answer(pane, "part2", 34)
    w.lab_desk.write_report(report)
    answer(pane, "part1", 2)
    w.lab.say("clear", "", "")  # the report's banner gone: the page as the student sees it
    settle(1000)
    ready.write_text("ready")
    app.exec()


if __name__ == "__main__":
    main()
