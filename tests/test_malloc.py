"""core.malloc: memory a training step frees is kept for the next one, in the training thread."""

import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# A training step in a worker thread, as the window's: tens of megabytes allocated, written and
# freed, six times over; prints the page faults of the steps after the first two.
STEPS = """
import ctypes, resource, sys, threading
sys.path.insert(0, sys.argv[2])
import torch  # the entry points' imports come first, and torch starts a thread
from core import malloc
if sys.argv[1] == "tuned":
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


def later_step_faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", STEPS, mode, str(ROOT)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.split()[-1])


pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")


def test_without_tuning_each_step_faults_its_memory_in_again():
    # the premise: glibc's defaults hand a step's memory back and fault it in at the next
    assert later_step_faults("default") > PAGES // 4


def test_tuned_malloc_keeps_a_steps_memory_for_the_next_in_a_worker_thread():
    assert later_step_faults("tuned") < PAGES // 100
