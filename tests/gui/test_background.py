"""The GUI's one helper for short background work: latest wins by key, no two tasks of a key at once,
newest first when asked, results on the UI thread."""

from __future__ import annotations

import threading
import time

import pytest

from gui.background import BackgroundTasks


@pytest.fixture
def tasks(qapp):
    tasks = BackgroundTasks(workers=2)
    yield tasks
    tasks.close()


def gate():
    """A task body that blocks until released, recording that it started."""
    started, release = threading.Event(), threading.Event()

    def body(value):
        def run():
            started.set()
            assert release.wait(5)
            return value

        return run

    return body, started, release


def test_a_result_arrives_on_the_ui_thread(qtbot, tasks):
    got = []
    tasks.run(
        "k", lambda: threading.current_thread().name, lambda v: got.append((v, threading.current_thread()))
    )
    qtbot.waitUntil(lambda: bool(got), timeout=5000)
    (worker_thread, delivered_on), *_ = got
    assert worker_thread.startswith("gui-background")
    assert delivered_on is threading.main_thread()


def test_a_waiting_task_is_replaced_and_a_running_ones_result_is_dropped(qtbot, tasks):
    body, started, release = gate()
    done, ran = [], []
    tasks.run("save", body("first"), done.append)
    assert started.wait(5)  # "first" is running
    tasks.run("save", lambda: ran.append("second") or "second", done.append)  # waits: same key
    tasks.run("save", lambda: ran.append("third") or "third", done.append)  # replaces "second"
    release.set()
    qtbot.waitUntil(lambda: done == ["third"], timeout=5000)
    assert tasks.flush(5)
    qtbot.wait(50)
    assert done == ["third"]  # "first" ran but was superseded: its result is dropped
    assert ran == ["third"]  # "second" never ran


def test_two_tasks_of_one_key_never_overlap_so_the_newest_write_lands_last(qtbot, tasks):
    written, active, overlaps = [], [0], []
    lock = threading.Lock()
    older_started, newer_submitted = threading.Event(), threading.Event()

    def write(value, wait_for=None):
        def run():
            with lock:
                active[0] += 1
                overlaps.append(active[0])
            if wait_for is not None:
                older_started.set()
                assert wait_for.wait(5)
                time.sleep(0.1)  # slower than the newer write would be, if it could start
            written.append(value)
            with lock:
                active[0] -= 1

        return run

    tasks.run("classes", write("older", wait_for=newer_submitted))
    assert older_started.wait(5)  # the older write is under way on one thread; the other is idle
    tasks.run("classes", write("newer"))
    newer_submitted.set()
    assert tasks.flush(5)
    assert written == ["older", "newer"] and max(overlaps) == 1


def test_newest_first_and_retain_drop_what_scrolled_away(qtbot, qapp):
    tasks = BackgroundTasks(workers=1, newest_first=True)
    try:
        body, started, release = gate()
        order = []
        tasks.run("busy", body("busy"), order.append)
        assert started.wait(5)  # the single thread is taken
        for i in range(6):
            tasks.run(i, lambda i=i: i, order.append)
        tasks.retain(lambda key: key == "busy" or key >= 3)  # 0, 1, 2 scrolled out of view
        release.set()
        qtbot.waitUntil(lambda: len(order) == 4, timeout=5000)
        assert order == ["busy", 5, 4, 3]
    finally:
        tasks.close()


def test_a_generator_task_streams_items_and_stops_when_superseded(qtbot, tasks):
    items, stop_seen, keep_going = [], [], threading.Event()

    def produce(stopped):
        for i in range(1000):
            if stopped():
                stop_seen.append(i)
                return
            yield i
            if i == 2:
                keep_going.wait(5)

    tasks.run_iter("index", produce, items.append)
    qtbot.waitUntil(lambda: items == [0, 1, 2], timeout=5000)
    tasks.run("index", lambda: None)  # a new folder: the old indexing stops at its next step
    keep_going.set()
    assert tasks.flush(5)
    qtbot.wait(50)
    assert items == [0, 1, 2] and stop_seen == [3]


def test_errors_arrive_as_data_and_close_stops_the_threads(qtbot, qapp):
    tasks = BackgroundTasks(workers=2)
    errors = []
    tasks.run("bad", lambda: 1 / 0, on_error=errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert isinstance(errors[0], ZeroDivisionError)
    tasks.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("gui-background")]
    tasks.run("late", lambda: 1, errors.append)  # after close: ignored, nothing runs
    qtbot.wait(50)
    assert len(errors) == 1
