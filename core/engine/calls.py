"""Work queued from other threads and run by the training thread between two steps.

For work on the live model (the GUI's views): done there, it needs no copy of the weights
and does not fight the training thread for Python's GIL op by op.
"""

from __future__ import annotations

import collections
import threading
from concurrent.futures import Future
from typing import Callable

import torch


class StepCalls:
    """A queue of calls; add() from any thread, run() and cancel() from the training thread.

    wake, if given, is set at each add(): a training thread parked on it (paused) runs the
    call at once instead of at the next step."""

    def __init__(self, wake: threading.Event | None = None) -> None:
        self._queue: collections.deque[tuple[Future, Callable]] = collections.deque()
        self._wake = wake

    def __bool__(self) -> bool:
        return bool(self._queue)

    def add(self, fn: Callable) -> Future:
        """Queue fn and return a Future of its result."""
        fut: Future = Future()
        self._queue.append((fut, fn))
        if self._wake is not None:
            self._wake.set()
        return fut

    def run(self, device: torch.device) -> None:
        """Run every queued call, each inside torch.random.fork_rng (it may draw random numbers,
        dropout in train mode, without changing the run's); an exception from a call goes
        into its Future, and the calls after it still run."""
        devices = [device] if device.type == "cuda" else []
        while self._queue:
            fut, fn = self._queue.popleft()
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                with torch.random.fork_rng(devices=devices):
                    fut.set_result(fn())
            except BaseException as e:  # the run goes on; the caller gets the error
                fut.set_exception(e)

    def cancel(self) -> None:
        """Cancel every call still queued (the run has ended: nothing will run them)."""
        while self._queue:
            self._queue.popleft()[0].cancel()
