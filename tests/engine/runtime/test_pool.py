"""`ordered_map` and `map_batches`: results in the items' order, the work spread over threads, errors
raised; `map_batches` shares torch's threads out for the call."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from engine.runtime.device import batch_workers
from engine.runtime.pool import map_batches, ordered_map


def test_results_keep_the_items_order_and_run_on_several_threads(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    names = set()

    def slow_square(x: int) -> int:
        names.add(threading.current_thread().name)
        time.sleep(0.02 if x % 2 else 0.0)  # later items finish first
        return x * x

    assert ordered_map(slow_square, range(8)) == [x * x for x in range(8)]
    assert len(names) == 2 and all(name.startswith("gil-free") for name in names)
    assert ordered_map(slow_square, []) == []
    assert ordered_map(slow_square, [3]) == [9]


def test_the_first_error_is_raised_and_no_more_items_start(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    done = []

    def fails_on_two(x: int) -> int:
        if x == 2:
            raise OSError(28, "No space left on device")
        done.append(x)
        return x

    with pytest.raises(OSError, match="No space"):
        ordered_map(fails_on_two, range(5))
    assert {0, 1} <= set(done) and 2 not in done
    # (the pool is closed by then: the leak fixture fails the test if one of its threads still runs)


def test_batches_side_by_side_share_the_torch_threads_for_the_call():
    before = torch.get_num_threads()
    seen = []

    def batch(x: int) -> int:
        seen.append((threading.current_thread().name, torch.get_num_threads()))
        time.sleep(0.02 if x % 2 else 0.0)
        return -x

    try:
        torch.set_num_threads(2)
        assert map_batches(batch, list(range(6)), 2) == [-x for x in range(6)]
        assert {count for _, count in seen} == {1}  # two workers, one torch thread each
        assert len({name for name, _ in seen}) == 2 and torch.get_num_threads() == 2
        seen.clear()
        assert map_batches(batch, list(range(3)), 1) == [0, -1, -2]  # one worker: here, as it is
        assert {name for name, _ in seen} == {threading.current_thread().name}
        assert batch_workers(torch.device("cpu")) == 2 and batch_workers(torch.device("cuda")) == 1
        torch.set_num_threads(1)
        assert batch_workers(torch.device("cpu")) == 1
    finally:
        torch.set_num_threads(before)
