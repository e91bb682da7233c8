"""`keep_freed_memory`: a multi-MB buffer freed and made again reuses memory instead of faulting in
fresh pages (glibc only)."""

from __future__ import annotations

import resource
import sys

import numpy as np
import pytest

from engine.runtime.allocator import keep_freed_memory


def minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_a_freed_10_mb_buffer_is_reused_without_page_faults():
    if not keep_freed_memory():
        pytest.skip("not glibc, or turned off")
    size = 10 << 20  # a decoder temporary's size: 2,560 pages of 4 KB when faulted in afresh
    np.ones(size, np.uint8).sum()  # the heap grows once
    before = minor_faults()
    for _ in range(5):
        buffer = np.empty(size, np.uint8)
        buffer.fill(1)  # written: fresh pages would fault here
        del buffer
    assert minor_faults() - before < 100  # 0 measured; ~1,000 with glibc's defaults (huge pages help)
