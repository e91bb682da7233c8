"""The main window, offscreen: the empty shoot view and opening a folder by drag and drop."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent

from gui.main_window import MainWindow


def _drop(widget, paths: list[Path]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(
        QPoint(10, 10),  # PySide6 6.11 (pinned): QDragEnterEvent takes a QPoint
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    widget.dragEnterEvent(enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    widget.dropEvent(drop)


def test_an_empty_window_invites_a_folder_drop(qtbot, tmp_path):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    assert window.pages.currentWidget() is window.drop_hint
    image = window.grab().toImage()
    assert image.width() > 0
    window.grab().save(str(tmp_path / "empty.png"))
    assert "Drop a shoot folder here" in [
        w.text() for w in window.drop_hint.findChildren(type(window.job_label))
    ]
    window.shutdown_engine()


def test_dropping_a_folder_opens_it(qtbot, tmp_path):
    shoot = tmp_path / "shoot 2026 — été"
    shoot.mkdir()
    window = MainWindow()
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.folder_opened, timeout=2000) as opened:
        _drop(window, [shoot])
    assert opened.args == [shoot]
    assert window.folder == shoot and shoot.name in window.windowTitle()
    window.shutdown_engine()
