"""Keep freed memory for the next tensor instead of returning it to the OS (glibc's malloc).

glibc serves every allocation above its mmap threshold (128 KB to start, adjusted up to 32 MB) from fresh
pages of its own and unmaps them on free, so each new multi-MB CPU tensor is page-faulted and zeroed by the
kernel again. The filter's decoder makes and drops thousands of 1-15 MB tensors an image: with the
threshold at 16 MB (and freed memory kept up to 512 MB at the top of the heap) its transformer took
7.9-8.9 s per 1,024 prompts instead of 10.5-12.7 s (engine/segment/factored.py; the reordered decoder
10.5-12.5 s instead of 19-20 s; 2-core Zen 4 VM; 64 MB measured the same). Not higher: a canvas-size
array (24-96 MB at 24 MP) made with calloc gets untouched zero pages from mmap, but from the heap it
would be zeroed whole. The cost: memory freed below 16 MB is reused by the process rather than given
back at once. Elsewhere than glibc (macOS, Windows, musl) it does nothing, and
`SHOOTSTUDIO_KEEP_FREED_MEMORY=0` leaves glibc's defaults (to measure against them).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

MMAP_THRESHOLD = 16 << 20  # allocations below this come from the heap and are reused
TRIM_THRESHOLD = 512 << 20  # free memory at the top of the heap kept for reuse
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
_done = False


def keep_freed_memory() -> bool:
    """Set glibc's thresholds once per process; True where they took effect."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux") or os.environ.get("SHOOTSTUDIO_KEEP_FREED_MEMORY") == "0":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    _done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    return _done
