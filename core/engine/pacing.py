"""Pacing of periodic work by what it costs: refresh at most every `interval_s`, and less
often when one refresh costs more than `share` of its thread's time.

A picture refreshed at 20 Hz that takes 30 ms would take 60 % of the GUI thread; paced by
cost it waits cost / share between refreshes instead, so the thread stays free for input
(and, for work in the training thread, for training)."""

from __future__ import annotations

import time


class Pacer:
    """When periodic work is next due.

    due() says whether it is time; spent(cost) records what the work just cost and sets the
    next due time to now + max(interval_s, cost / share); now() makes it due at the next
    check (a forced refresh, or one waiting for numbers computed elsewhere). `spending` is
    the share of the thread the work takes at its pace (its last cost over its last gap)."""

    def __init__(self, interval_s: float, share: float) -> None:
        self.interval_s = float(interval_s)
        self.share = float(share)
        self.next = 0.0   # perf_counter time from which the work is due
        self.spending = 0.0

    def due(self, now: float | None = None) -> bool:
        return (time.perf_counter() if now is None else now) >= self.next

    def spent(self, cost_s: float, now: float | None = None) -> None:
        now = time.perf_counter() if now is None else now
        gap = max(self.interval_s, cost_s / self.share)
        self.next = now + gap
        self.spending = cost_s / max(gap, 1e-3)

    def now(self) -> None:
        self.next = -float("inf")
