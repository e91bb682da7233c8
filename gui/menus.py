"""The main window's menu bar: every action and its keyboard shortcut in one place."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox


def _action(window, menu, text: str, slot, shortcut=None, checkable: bool = False) -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.setCheckable(checkable)
    action.triggered.connect(slot)
    menu.addAction(action)
    return action


def build_menus(window) -> None:
    """File, Edit, View, Review, Tools, Settings and Help, with the review desk's shortcuts.

    `window` is the MainWindow; the Tools menu is kept as `window.tools_menu` for side panels."""
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    _action(window, file_menu, "&Open Folder…", window._choose_folder, QKeySequence.StandardKey.Open)
    window.recent_menu = file_menu.addMenu("Open &Recent")
    window.recent_menu.aboutToShow.connect(window._fill_recent)
    file_menu.addSeparator()
    _action(window, file_menu, "&Quit", window.close, QKeySequence.StandardKey.Quit)

    edit = bar.addMenu("&Edit")
    _action(window, edit, "&Undo", window.document.undo, "Ctrl+Z")
    _action(window, edit, "&Redo", window.document.redo, "Ctrl+Shift+Z")

    view = bar.addMenu("&View")
    _action(window, view, "&Fit in Window", window.canvas.fit, "Ctrl+0")
    _action(window, view, "&Actual Pixels (100%)", window.canvas.actual_size, "Ctrl+1")
    _action(window, view, "Zoom &In", lambda: window._zoom(1.25), "Ctrl+=")
    _action(window, view, "Zoom &Out", lambda: window._zoom(0.8), "Ctrl+-")

    review = bar.addMenu("&Review")
    _action(window, review, "&Pick", lambda: window._flag("pick"), "P")
    _action(window, review, "Re&ject", lambda: window._flag("reject"), "X")
    _action(window, review, "&Unflag", lambda: window._flag(None), "U")
    review.addSeparator()
    _action(window, review, "&Next Image", lambda: window._step(1), "Ctrl+Right")
    _action(window, review, "P&revious Image", lambda: window._step(-1), "Ctrl+Left")

    window.tools_menu = bar.addMenu("&Tools")
    _action(window, window.tools_menu, "&Brush", lambda: window.canvas.set_tool("brush"), "B")
    _action(window, window.tools_menu, "&Eraser", lambda: window.canvas.set_tool("eraser"), "E")
    _action(window, window.tools_menu, "&SAM Prompts", lambda: window.canvas.set_tool("sam"), "S")
    _action(window, window.tools_menu, "Larger Brush", lambda: window._brush_size(1.2), "]")
    _action(window, window.tools_menu, "Smaller Brush", lambda: window._brush_size(1 / 1.2), "[")
    _action(window, window.tools_menu, "Harder Brush", lambda: window._brush_hardness(0.1), "Shift+]")
    _action(window, window.tools_menu, "Softer Brush", lambda: window._brush_hardness(-0.1), "Shift+[")
    _action(window, window.tools_menu, "End SAM Prompt (Enter on the canvas)", window.sam.end_session)
    window.tools_menu.addSeparator()  # panels added with add_panel() list themselves below

    settings = bar.addMenu("&Settings")
    _action(window, settings, "&Models…", window.show_models_dialog)
    help_menu = bar.addMenu("&Help")
    _action(
        window,
        help_menu,
        "&About ShootStudio",
        lambda: QMessageBox.about(window, "ShootStudio", "ShootStudio: review and enhance product shoots."),
    )
