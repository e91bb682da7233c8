"""Guards the PySide6 pin in pyproject.toml: PySide6 6.12.0 on Python 3.11 drops a reference to None on
every void call (update(), processEvents(), QPainter.save(), ...), so the app aborts with "Fatal Python
error: none_dealloc: deallocating None" after a few thousand paints. (None is immortal from 3.12 on.)"""

from __future__ import annotations

import sys

import pytest
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QWidget


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal: its count never reaches 0")
def test_void_qt_calls_keep_the_reference_count_of_none(qapp):
    widget = QWidget()
    image = QImage(8, 8, QImage.Format.Format_RGB32)
    painter = QPainter(image)
    before = sys.getrefcount(None)
    for _ in range(500):
        widget.update()
        painter.save()
        painter.restore()
        qapp.processEvents()
    after = sys.getrefcount(None)
    painter.end()
    # A healthy binding leaves the count where it was (give or take a few cached objects);
    # the broken one loses 2,000 here.
    assert after - before > -100, f"None lost {before - after} references: use PySide6 < 6.12"
