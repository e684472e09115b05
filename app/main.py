"""Entry point `learnscope`: open the main window (or save a screenshot of it, offscreen)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="learnscope", description="LearnScope, a lab for deep learning for vision.")
    parser.add_argument("--preset", default="circles-mlp", help="experiment to open (see python -m core presets)")
    parser.add_argument("--screenshot", metavar="FILE.png", help="render the window offscreen and save it")
    args = parser.parse_args(argv)
    if args.screenshot:
        import os
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtWidgets import QApplication

    from app.window import MainWindow
    from core import presets

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("LearnScope")
    window = MainWindow(presets.load(args.preset))
    window.resize(1000, 640)
    window.show()
    if args.screenshot:
        app.processEvents()
        return 0 if window.grab().save(args.screenshot) else 1
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
