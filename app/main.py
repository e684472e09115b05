"""Entry point `learnscope`: open the main window, or render it offscreen into a PNG."""

from __future__ import annotations

import argparse
import os
import signal
import sys

from app.views.registry import VIEWS  # the Inspect dock's views (names only: imports no Qt)

TABS = {"data": 0, "model": 1, "optim": 2, "optimisation": 2, "part1": 3}


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="learnscope", description="LearnScope, a lab for deep learning for vision.")
    p.add_argument("--preset", help="experiment to open (default: the last one, or circles-mlp; "
                   "see python -m core presets)")
    p.add_argument("--screenshot", metavar="FILE.png", help="render the window offscreen and save it")
    p.add_argument("--train-seconds", type=float, default=0.0, metavar="S",
                   help="with --screenshot: train S seconds before saving it")
    p.add_argument("--tab", choices=sorted(TABS), default="data",
                   help="with --screenshot: which experiment panel to show")
    p.add_argument("--view", choices=list(VIEWS), metavar="NAME",
                   help="with --screenshot: save this Inspect view instead of the window: "
                   + "|".join(VIEWS))
    p.add_argument("--size", default="1600x1000", metavar="WxH", help="with --screenshot: window size")
    return p.parse_args(argv)


EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143  # 128 + SIGINT, 128 + SIGTERM, as a shell reports


def main(argv: list[str] | None = None) -> int:
    """Open LearnScope; Ctrl+C (or SIGTERM) at any moment quits with one line, exit 130 (143):
    a run training then is stopped first, so that it reads "stopped" in the Runs list."""
    try:
        return _main(argv)
    except KeyboardInterrupt:  # while Qt or torch import, or the first windows are built
        print("Interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except RuntimeError as e:  # Ctrl+C inside a class statement while torch imports: Python
        if not _interrupted(e):  # wraps it ("Error calling __set_name__ …")
            raise
        print("Interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED


def _interrupted(e: BaseException) -> bool:
    """Whether e was caused, however indirectly, by a KeyboardInterrupt."""
    seen = set()
    while e is not None and id(e) not in seen:
        if isinstance(e, KeyboardInterrupt):
            return True
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return False


def _quit_on_signals(app, window) -> list:
    """While the window runs: SIGINT and SIGTERM stop its run and quit; return the list that
    receives the signal's number. Qt's event loop runs no Python code by itself, so a timer
    lets Python see the signal within a fifth of a second."""
    from PySide6.QtCore import QTimer
    received: list[int] = []

    def handle(signum, _frame):
        received.append(signum)
        window.shutdown()
        window.save_settings()
        app.quit()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handle)
    timer = QTimer(window)
    timer.timeout.connect(lambda: None)
    timer.start(200)
    return received


def _main(argv: list[str] | None) -> int:
    from core.engine import malloc
    malloc.keep_freed_memory()  # before Qt or torch start threads: CPU training a fifth faster
    args = parse(argv)
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtWidgets import QApplication

    from core.experiment import presets
    from core import ConfigError

    try:  # a wrong name is answered before any window opens
        exp = presets.load(args.preset) if args.preset else None
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("LearnScope")
    app.setOrganizationName("LearnScope")
    if args.screenshot:
        from app.window import MainWindow  # after QApplication: pyqtgraph reads its settings
        return _screenshot(app, MainWindow(exp, persist=False), args)
    return _run(app, exp)


def _run(app, exp) -> int:
    """Show a first window at once (before the second that `import torch` takes), then the
    main window in its place; run until it closes or a signal stops it."""
    from app.settings import open_settings
    from app.startup import FirstWindow, Probe, probe_main_window, warm_up_training
    probe = Probe.from_env()
    first = FirstWindow(open_settings())
    first.show_now(app)
    probe.mark("window")
    from app.window import MainWindow  # after QApplication: pyqtgraph reads its settings

    window = MainWindow(exp, persist=True)
    probe_main_window(probe, app, window)
    warm_up_training(window)
    first.hand_over(window)
    received = _quit_on_signals(app, window)
    code = app.exec()
    if received:
        print("Interrupted.", file=sys.stderr)
        return EXIT_TERMINATED if received[-1] == signal.SIGTERM else EXIT_INTERRUPTED
    return code


def _screenshot(app, window, args) -> int:
    """Render the window (or one Inspect view, --view) offscreen into args.screenshot, after
    training args.train_seconds; return 0 when the file was written."""
    from PySide6.QtCore import QTimer

    from app.window_pages import INSPECT
    w, h = (int(v) for v in args.size.lower().split("x"))
    window.resize(w, h)
    window.tabs.setCurrentIndex(TABS[args.tab])
    window.show()
    if args.view:  # the view alone, on the Inspect page, so that it reads well
        window.inspect.select(args.view)
        window.pages.setCurrentIndex(INSPECT)
    saved = []

    def shoot():
        window.tick()
        window.plots.redraw(everything=True)  # every plot as of now, not as last paced
        if args.view:
            window.inspect.tick(force=True)
            if hasattr(window.inspect.current(), "refresh_all"):
                window.inspect.current().refresh_all()
        app.processEvents()
        saved.append((window.inspect if args.view else window).grab().save(args.screenshot))
        window.shutdown()
        window.close()
        app.quit()

    if args.train_seconds > 0:
        window.start_training()
    QTimer.singleShot(int(args.train_seconds * 1000) + 200, shoot)
    app.exec()
    return 0 if saved and saved[0] else 1


if __name__ == "__main__":
    sys.exit(main())
