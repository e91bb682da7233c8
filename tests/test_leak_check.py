"""The autouse leak check (tests/fixtures/leaks.py) fails a test that leaves a thread or a timer running,
and passes one that cleans up."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBES = """
from PySide6.QtCore import QTimer

from engine.runtime.worker import EngineWorker


def test_leaves_the_engine_thread_running():
    EngineWorker()


def test_leaves_a_timer_running(qapp):
    timer = QTimer()
    timer.setInterval(1000)
    timer.start()
    test_leaves_a_timer_running.timer = timer


def test_stops_what_it_started(qapp):
    worker = EngineWorker()
    timer = QTimer()
    timer.start(1000)
    timer.stop()
    assert worker.shutdown(5)
"""


def test_the_leak_check_fails_tests_that_leave_a_thread_or_a_timer(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    pytester.makeconftest('pytest_plugins = ["tests.fixtures.leaks"]')
    pytester.makepyfile(test_probes=PROBES)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, errors=2)
    result.stdout.fnmatch_lines(["*the test left threads running: *shootstudio-engine*"])
    result.stdout.fnmatch_lines(["*the test left timers running*"])
