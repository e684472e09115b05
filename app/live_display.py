"""What the window shows of the run training now, at each tick of its timer: the session's
buffered batches and epochs drained into the plots and the Runs row, the plots redrawn when
their pacing allows (but never much later than the data arrived), and the progress line."""

from __future__ import annotations

import time

from core.engine.pacing import Pacer

TICK_MS = 50          # the GUI redraws at 20 Hz from buffered values (the lower end of 20–30 Hz:
                      # every wake-up of the GUI thread stalls a torch thread of a CNN on a
                      # 2-core laptop)
PROGRESS_S = 0.2      # seconds between two updates of the progress line
DRAW_SHARE = 0.015    # at most this share of the time goes to repainting plots while training
MAX_LAG_S = 0.5       # ... but what the trainer sent is on the plots within this
# data that has waited this long is drawn at the next tick whatever the pacing says: it waited
# up to a tick to be drained, and the four plots, one a tick, take four more at most
LATE_S = MAX_LAG_S - 5 * TICK_MS / 1000


def redraw_due(now: float, paced: float, waiting_since: float | None) -> bool:
    """Whether the plots redraw now: at the paced time (a redraw's cost / the plots' share of
    the GUI thread after the last), but never later than LATE_S after data arrived — on a
    slow machine, or after costly repaints (the first paint of a run's axes, a crosshair moved
    over a paused run), the pacing alone left the plots seconds behind."""
    return now >= paced or (waiting_since is not None and now - waiting_since >= LATE_S)


class LiveDisplay:
    """Drains a TrainingSession's buffer into the plots, the Inspect dock and the Runs row.

    `draw` paces the plots' redraws by what they cost (DRAW_SHARE of the GUI thread, less
    what the visible Inspect view spends), `progress` the progress line (every PROGRESS_S)."""

    def __init__(self, plots, inspect, runs_panel, training_panel, on_epoch=None) -> None:
        """on_epoch(epoch): called with the epoch the progress line shows, as it shows it
        (the Lab's subject follows the line: the captions and the title agree with it)."""
        self.plots, self.inspect = plots, inspect
        self.runs_panel, self.training_panel = runs_panel, training_panel
        self.on_epoch = on_epoch or (lambda _epoch: None)
        self.draw = Pacer(0.0, DRAW_SHARE)   # the next tick after the paced time redraws
        self.progress = Pacer(PROGRESS_S, 1.0)
        self.session = None
        self.info = None                     # core.engine.train.FitInfo, once the fit started
        self.t0 = 0.0                        # when the run (then its fit) started
        self._painted = [0.0]                # the plots' paint seconds at the last redraw
        self._progress_shown = None          # the batch chunk the progress line last reported

    def start(self, session) -> None:
        """Follow a new run: the first redraw and progress line come at the next tick."""
        self.session, self.info, self.t0 = session, None, time.perf_counter()
        self._progress_shown = None
        self.draw.now()
        self.progress.now()

    def fit_started(self, info) -> None:
        self.info, self.t0 = info, time.perf_counter()

    def tick(self) -> None:
        """Drain the buffer, redraw when due (at most one setData per curve) and show the
        progress of what the curves show."""
        s = self.session
        if s is not None:
            records = s.buffer.drain_records()
            self.plots.add_records(records)
            if records:  # the running run's row follows (at most once a second)
                self.runs_panel.show_live(records[-1])
            self.plots.add_chunks(s.buffer.drain())
        if self.inspect.live:
            self.inspect.tick()
        self._redraw_when_due()
        if s is not None and not s.stopping:  # stopping: the line says so until the end
            self.show_progress()

    def _redraw_when_due(self) -> None:
        now = time.perf_counter()
        if not redraw_due(now, self.draw.next, self.plots.waiting_since()):
            return
        if self.plots.redraw(late=now - LATE_S):  # a late plot first
            # Painting holds Python's GIL, which the training thread needs between its
            # tensor operations, so the next redraw waits until redrawing (setData and the
            # repaints since the last one, which Qt does in the event loop) has used at most
            # DRAW_SHARE of the time: a slow, software-rendered machine redraws less often
            # instead of slowing training down.
            cost = time.perf_counter() - now + self.plots.canvas.painted_since(self._painted)
            # the plots and the visible Inspect view share one budget (down to half of it for
            # the plots): each GUI millisecond also stalls one of a CNN's torch threads
            self.draw.share = max(DRAW_SHARE - self.inspect.spending(), DRAW_SHARE / 2)
            self.draw.spent(cost, now)

    def show_progress(self) -> None:
        """Show the epoch and step of the batch curve's last point (the line and the curves
        agree), at most every PROGRESS_S (text that people read: 5 updates a second are
        plenty); while paused, only once more for the steps flushed at the pause."""
        s, info, shown = self.session, self.info, self.plots.shown
        now = time.perf_counter()
        if s is None or info is None or shown is None or not self.progress.due(now):
            return
        if s.paused and shown is self._progress_shown:
            return
        self.progress.spent(0.0, now)
        self._progress_shown = shown
        self.training_panel.show_progress(
            shown.epoch, info.epochs, int(shown.steps[-1]), info.epochs * info.steps_per_epoch,
            now - self.t0, shown.images_per_s, paused=s.paused, fmt=info.precision)
        self.on_epoch(shown.epoch)

    def paused(self) -> None:
        """Mark the progress line paused (once the first steps are drawn; before, the
        preparation's line)."""
        self.progress.now()
        self._progress_shown = None
        if self.plots.shown is None:
            self.training_panel.show_message(self.training_panel.status.text() + "   ·   paused")
        else:
            self.show_progress()

    def resumed(self) -> None:
        """Catch up at once: repaints while paused (a crosshair moved over the plots) are not
        the next redraw's cost."""
        self.plots.canvas.painted_since(self._painted)
        self.draw.now()
        self.progress.now()

    def finish(self) -> None:
        """Draw everything the run sent and the progress at its last step, then stop following."""
        self.draw.now()
        self.progress.now()
        self.tick()  # the last chunks
        self.plots.redraw(everything=True)
        self.progress.now()
        self.show_progress()
        self.session = None
