"""core.engine.malloc: memory a training step frees is kept for the next one, in the training thread.

What the project asks of glibc (one arena, a high trim and mmap threshold) is checked on a
stand-in for the C library, so it holds on any machine; where there is no glibc the call does
nothing. The last test measures the effect with the real glibc: a worker thread's steps stop
faulting their memory in again.
"""

import platform
import subprocess
import sys
from pathlib import Path

import pytest

from core.engine import malloc

ROOT = Path(__file__).resolve().parents[1]


class FakeLibc:
    """What ctypes.CDLL(None) gives: a mallopt that records its calls and refuses some."""

    def __init__(self, refuse=()):
        self.calls, self.refuse = [], set(refuse)
        lib = self

        def mallopt(param, value):
            lib.calls.append((param, value))
            return 0 if (param, value) in lib.refuse else 1
        self.mallopt = mallopt


@pytest.fixture
def libc(monkeypatch):
    """Install a FakeLibc (refusing what the test says) as the C library, on Linux."""
    made = []

    def install(refuse=()):
        fake = FakeLibc(refuse)
        made.append(fake)
        monkeypatch.setattr(malloc.sys, "platform", "linux")
        monkeypatch.setattr(malloc.ctypes, "CDLL", lambda name: fake)
        return fake
    return install


def test_one_arena_and_high_trim_and_mmap_thresholds(libc):
    fake = libc()
    assert malloc.keep_freed_memory() is True
    assert fake.calls == [(malloc.M_ARENA_MAX, 1), (malloc.M_TRIM_THRESHOLD, 256 << 20),
                          (malloc.M_MMAP_THRESHOLD, 64 << 20)]
    assert (malloc.M_ARENA_MAX, malloc.M_TRIM_THRESHOLD, malloc.M_MMAP_THRESHOLD) == (-8, -1, -3)


def test_a_glibc_that_caps_the_mmap_threshold_gets_32_mb(libc):
    fake = libc(refuse={(malloc.M_MMAP_THRESHOLD, 64 << 20)})  # glibc before 2.26
    assert malloc.keep_freed_memory() is True
    assert fake.calls[-2:] == [(malloc.M_MMAP_THRESHOLD, 64 << 20), (malloc.M_MMAP_THRESHOLD, 32 << 20)]


def test_a_refused_setting_is_reported(libc):
    libc(refuse={(malloc.M_ARENA_MAX, 1)})
    assert malloc.keep_freed_memory() is False


@pytest.mark.parametrize("missing", [OSError("no C library"), AttributeError("no mallopt")])
def test_without_glibc_it_does_nothing_and_says_so(monkeypatch, missing):
    monkeypatch.setattr(malloc.sys, "platform", "linux")

    def cdll(name):  # musl has no mallopt; a system without a C library to load
        raise missing
    monkeypatch.setattr(malloc.ctypes, "CDLL", cdll)
    assert malloc.keep_freed_memory() is False


@pytest.mark.parametrize("system", ["darwin", "win32"])
def test_other_systems_are_left_alone(monkeypatch, system):
    def cdll(name):
        raise AssertionError("the C library was opened")
    monkeypatch.setattr(malloc.sys, "platform", system)
    monkeypatch.setattr(malloc.ctypes, "CDLL", cdll)
    assert malloc.keep_freed_memory() is False


def test_the_command_line_tunes_malloc_before_anything_else(monkeypatch, capsys):
    from core.cli import main as cli
    seen = []
    monkeypatch.setattr(cli.malloc, "keep_freed_memory", lambda: seen.append("malloc") or True)
    monkeypatch.setattr(cli, "cmd_presets", lambda args: seen.append("command") or 0)
    assert cli.main(["presets"]) == 0
    assert seen == ["malloc", "command"]


# A training step in a worker thread, as the window's: tens of megabytes allocated, written and
# freed, six times over; prints the page faults of the steps after the first two.
STEPS = """
import ctypes, resource, sys, threading
sys.path.insert(0, sys.argv[1])
import torch  # the entry points' imports come first, and torch starts a thread
from core.engine import malloc
assert malloc.keep_freed_memory()
libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
SIZES = [24 << 20, 24 << 20, 40 << 20]

def steps(faults):
    for _ in range(6):
        before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
        chunks = [libc.malloc(n) for n in SIZES]
        for p, n in zip(chunks, SIZES):
            ctypes.memset(p, 1, n)
        for p in chunks:
            libc.free(p)
        faults.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before)

faults = []
t = threading.Thread(target=steps, args=(faults,))
t.start()
t.join()
print(sum(faults[2:]))
"""
PAGES = 4 * (88 << 20) // 4096  # the pages the last four steps write


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")
def test_tuned_malloc_keeps_a_steps_memory_for_the_next_in_a_worker_thread():
    out = subprocess.run([sys.executable, "-c", STEPS, str(ROOT)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split()[-1]) < PAGES // 100
