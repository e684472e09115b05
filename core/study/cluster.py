"""A study's rungs as Dask tasks (`--executor dask`): on a scheduler the teacher started (a lab's
PCs, a GPU server, Slurm through dask-jobqueue) or on a LocalCluster started for the study.

Each rung trains with the same engine code as at home (core.study.runner.train_rung), in a
temporary folder on the worker; its files come back through Dask and this process writes them
into the rung's reserved run folder, atomically, as the local writer does — so the study
folder is the same whether or not the workers share this machine's disk, and only this
process writes study.json. The engine is Dask's: retries of a rung whose worker died
(`distributed.scheduler.allowed-failures`, once), cancelling, and the dashboard.

A stop (Ctrl+C, SIGTERM, the window's Stop) sets a Dask Event every rung watches, so the
running rungs end at their next batch; the outstanding ones are cancelled, and a LocalCluster
started here is closed with its worker processes. Dask distributed is an optional extra:
`pip install 'learnscope[cluster]'`.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable

from core import LearnScopeError
from core.engine import malloc
from core.files.atomic import atomic_write_bytes

TOPIC = "learnscope-rung"  # the workers' events: a rung started on this worker
CONNECT_S = 10             # seconds to reach a scheduler before saying it cannot be reached
ALLOWED_FAILURES = 1       # a rung whose worker died is retried once elsewhere, then fails
POLL_S = 0.2
ENDED = ("finished", "error", "cancelled", "lost")  # a future's status once it will not run on



class ClusterError(LearnScopeError):
    """Dask cannot be used: not installed, or the scheduler cannot be reached."""


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ClusterError("--executor dask needs Dask distributed, which is not installed: "
                           "pip install 'learnscope[cluster]'.") from None
    return distributed


def rung_task(exp, name: str, threads: int | None, stop_name: str) -> tuple[dict, dict, str]:
    """On a worker: train one rung in a temporary folder; return (what measure() says, the run
    folder's files as {relative path: bytes}, the worker's address)."""
    from distributed import Event, get_client, get_worker

    from core.study.runner import train_rung
    worker = get_worker()
    worker.log_event(TOPIC, {"rung": name, "worker": worker.address})
    if threads is None:  # a worker of its own machine: its cores shared by its task slots
        threads = max(1, (os.cpu_count() or 1) // max(1, worker.state.nthreads))
    with tempfile.TemporaryDirectory(prefix="learnscope-rung-", dir=worker.local_directory) as tmp:
        folder = Path(tmp) / name
        # the worker's client named: train_rung's watch waits on it from a thread of its own
        stop = _Stop(Event(stop_name, client=get_client()))
        measured = train_rung(exp, folder, threads, stop_event=stop)
        files = {p.relative_to(folder).as_posix(): p.read_bytes()
                 for p in sorted(folder.rglob("*")) if p.is_file()}
    return measured, files, worker.address


class _Stop:
    """The study's stop Event as train_rung waits on it: a scheduler or worker that is going
    away (the study is closing) is no stop, and is not a traceback either."""

    def __init__(self, event):
        self.event = event

    def wait(self, timeout: float) -> bool:
        try:
            return bool(self.event.wait(timeout))
        except Exception:  # noqa: BLE001 - the connection closed: the rung has ended
            time.sleep(timeout)
            return False


def land(folder: Path, files: dict[str, bytes]) -> None:
    """Write a rung's files into its reserved run folder, each atomically; a path that would
    leave the folder is refused (the files came over the network)."""
    root = folder.resolve()
    for relative, data in files.items():
        target = (folder / relative).resolve()
        if root not in target.parents:
            raise ClusterError(f"A worker sent a file outside the rung's folder ({relative!r}); "
                               "it was not written.")
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, data)


class DaskExecutor:
    """Trains a StudyRunner's rungs on Dask: connect() first (a sentence when it cannot), then
    call it with the runner and the rungs to train, as StudyRunner.run() does — once per study
    (the lab sheets' prepare trains several on one cluster) — and close() at the end."""

    def __init__(self, scheduler: str | None = None, workers: int = 2,
                 say: Callable[[str], None] = print, local_directory: str | None = None):
        self.scheduler, self.workers, self.say = scheduler, max(1, int(workers)), say
        self.local_directory = local_directory  # the local cluster's workers' scratch space
        self.client = self.cluster = None
        self.threads: int | None = None  # torch threads a rung gets (None: its worker decides)
        self.stop_event = None
        self.started: set[str] = set()  # the rungs (their folders' names) a worker has begun
        # rung → (when its worker began it, when its files had landed here), time.time() of
        # both machines (benchmarks/study_dask.py: Dask's cost a rung)
        self.timings: dict[str, list[float]] = {}

    def connect(self) -> None:
        """Reach the scheduler, or start a LocalCluster of `workers` processes."""
        distributed = _distributed()
        import dask
        dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
                         # glibc reads these as a worker process starts: training's freed
                         # memory kept for the next step, as core.engine.malloc does at home
                         # (Dask's own default, a 64 kB trim threshold, faults every page in
                         # again at each step)
                         "distributed.nanny.pre-spawn-environ": {
                             **dask.config.get("distributed.nanny.pre-spawn-environ", {}),
                             **malloc.ENVIRONMENT}})
        if self.scheduler:
            try:
                self.client = distributed.Client(self.scheduler, timeout=f"{CONNECT_S}s")
            except (OSError, TimeoutError, ValueError) as e:
                raise ClusterError(f"Cannot reach the Dask scheduler at {self.scheduler} "
                                   f"({type(e).__name__}: {e}); start it with `dask scheduler` "
                                   "and check the address and port.") from None
            self.threads = None
        else:
            threads = max(1, (os.cpu_count() or 1) // self.workers)
            self.cluster = distributed.LocalCluster(
                n_workers=self.workers, threads_per_worker=1, processes=True,
                dashboard_address=":0", silence_logs=40,  # any free port: two studies at once
                local_directory=self.local_directory)
            self.client = distributed.Client(self.cluster)
            self.threads = threads  # the machine's cores shared by its workers
        self.client.subscribe_topic(TOPIC, self._started)
        where = self.scheduler or f"a local cluster of {self.workers} worker processes"
        try:
            import bokeh  # noqa: F401 - the scheduler's dashboard draws with it
            dashboard = f"its dashboard at {self.client.dashboard_link}"
        except ImportError:
            dashboard = "no dashboard (pip install bokeh to see the tasks live)"
        self.say(f"Dask: {where}; {dashboard}")

    def _started(self, event) -> None:
        when, info = event
        self.started.add(info.get("rung"))
        self.timings[info.get("rung")] = [when]
        self.say(f"  {info.get('rung')} started on {info.get('worker')}")

    def __call__(self, runner, todo: list[int]) -> None:
        if self.client is None:
            self.connect()
        # this study's stop (the lab sheets' prepare trains several on one cluster)
        self.stop_event = _distributed().Event(f"learnscope-stop-{uuid.uuid4().hex}", self.client)
        running: dict = {}
        try:
            for k in todo:
                if runner.stopped:
                    break
                folder = runner.start_rung(k)
                future = self.client.submit(rung_task, runner.rungs[k][1], folder.name,
                                            self.threads, self.stop_event.name, pure=False,
                                            key=f"rung-{k + 1}-{uuid.uuid4().hex[:8]}")
                running[future] = (k, folder)
            stopping = False
            while running:
                if runner.stopped and not stopping:
                    stopping = True
                    self.stop_event.set()  # running rungs end at their next batch, their
                    # finished epochs kept; the others never start
                    self.client.cancel([f for f, (_k, folder) in running.items()
                                        if folder.name not in self.started])
                # polled, not distributed.wait(): it raises on a cancelled future and on a
                # timeout, and the stop must be looked at every POLL_S anyway
                done = [f for f in running if f.status in ENDED]
                if not done:
                    time.sleep(POLL_S)
                for future in done:
                    k, folder = running.pop(future)
                    runner.end_rung(k, self._result(future, folder))
        finally:  # an error here: nothing left running for it (the owner closes the cluster)
            if running and self.client is not None:
                self.client.cancel(list(running), force=True)

    def _result(self, future, folder: Path) -> dict:
        """What a finished task measured, its files landed in the rung's folder; a failed
        rung's sentence otherwise."""
        distributed = _distributed()
        stopped = {"status": "stopped", "message": "Stopped before it started; run the study "
                   "again to train it."}
        if future.status == "cancelled":
            return stopped
        try:
            measured, files, worker = future.result()
        except distributed.client.FutureCancelledError:
            return stopped
        except distributed.KilledWorker as e:
            return {"status": "failed", "message": f"The worker training it died twice (the "
                    f"last: {getattr(e, 'last_worker', None) or e}); see that machine's log."}
        except Exception as e:  # noqa: BLE001 - a rung's failure is its row's sentence
            return {"status": "failed", "message": f"The rung's task failed: "
                    f"{type(e).__name__}: {e}"}
        land(folder, files)
        self.timings.setdefault(folder.name, [math.nan]).append(time.time())
        measured = dict(measured, message=measured.get("message") or "")
        self.say(f"  {folder.name} {measured['status']} on {worker}")
        return measured

    def close(self) -> None:
        """Let the cluster go (a LocalCluster's processes end with it)."""
        if self.client is None:
            return
        try:
            self.client.close(timeout=5)
        finally:
            if self.cluster is not None:
                self.cluster.close(timeout=10)
            self.client = self.cluster = None
