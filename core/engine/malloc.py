"""Keep the memory a CPU training step frees for the next step (glibc's malloc on Linux).

Each step of a CNN on the CPU allocates and frees tens of megabytes of activations and
gradients. With glibc's defaults, freed memory above a threshold (64 MB at most) is handed
back to the kernel and chunks above 32 MB are mapped afresh each time, so every step faults
its pages in again: hundreds of thousands of page faults a second. A thread other than the
main one, as the window's training thread, also gets an arena of its own, whose heaps are
trimmed the same way and are capped at 64 MB.

Measured with the practical CNN on Shapes-10 on the 2-core VM (images/s, median of three
4-second runs): trained in the main thread 941 → 1,160, in a worker thread 844 → 1,146. The
price: up to TRIM bytes freed stay with the process until it exits.
"""

from __future__ import annotations

import ctypes
import sys

# mallopt's parameters (glibc's malloc.h)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8
TRIM = 256 << 20  # free memory kept at the top of the heap before it is returned
MMAP = 64 << 20   # larger allocations are mapped (glibc before 2.26 accepts 32 MB at most)
#: the same settings as glibc reads them from the environment as a process starts (a process
#: started for training elsewhere: Dask's worker processes, core.study.cluster)
ENVIRONMENT = {"MALLOC_TRIM_THRESHOLD_": str(TRIM), "MALLOC_MMAP_THRESHOLD_": str(MMAP),
               "MALLOC_ARENA_MAX": "1"}


def keep_freed_memory() -> bool:
    """Tune malloc for training; return whether it was (glibc only, else nothing happens).

    Call it first thing in a process, before any other thread has allocated: the arena limit
    only holds for threads that have not yet got an arena of their own."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # one arena for every thread: the training thread then shares the main heap's settings
    ok = mallopt(M_ARENA_MAX, 1) == 1
    ok &= mallopt(M_TRIM_THRESHOLD, TRIM) == 1
    ok &= mallopt(M_MMAP_THRESHOLD, MMAP) == 1 or mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1
    return bool(ok)
