"""The main window's menu bar: every action and its keyboard shortcut in one place.

Shortcuts are application-wide (Qt.ApplicationShortcut): they work whatever widget has focus, floating
docks included. Text fields still get their own keys, because Qt offers a key to the focused field first
(ShortcutOverride) and a line edit claims the characters it types.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox

from engine.api import PICK, REJECT
from gui.browse.culling import add_rating_actions
from gui.icons import icon


def _action(window, menu, text: str, slot, shortcut=None, checkable: bool = False) -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
    action.setCheckable(checkable)
    action.triggered.connect(slot)
    menu.addAction(action)
    return action


def build_menus(window) -> None:
    """File, Edit, View, Review, Tools, Settings and Help, with the review desk's shortcuts.

    `window` is the MainWindow (its public methods); tools and brush go to its editor state. The Tools
    menu is kept as `window.tools_menu` for side panels, the View → Panels menu as `window.panels_menu`."""
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    _action(window, file_menu, "&Open Folder…", window.choose_folder, QKeySequence.StandardKey.Open).setIcon(
        icon("open")
    )
    window.recent_menu = file_menu.addMenu("Open &Recent")
    window.recent_menu.aboutToShow.connect(lambda: _fill_recent(window))
    _action(window, file_menu, "&Export…", window.show_export_dialog, "Ctrl+Shift+E")
    file_menu.addSeparator()
    _action(window, file_menu, "&Quit", window.close, QKeySequence.StandardKey.Quit)

    edit = bar.addMenu("&Edit")
    _action(window, edit, "&Undo", window.undo.undo, "Ctrl+Z")
    _action(window, edit, "&Redo", window.undo.redo, "Ctrl+Shift+Z")

    view = bar.addMenu("&View")
    _action(window, view, "&Grid", lambda: window.set_browser_mode("grid"), "G")
    _action(window, view, "&Loupe with Filmstrip", lambda: window.set_browser_mode("filmstrip"), "E")
    view.addSeparator()
    _action(window, view, "&Fit in Window", window.canvas.fit, "Ctrl+0")
    _action(window, view, "&Actual Pixels (100%)", window.canvas.actual_size, "Ctrl+1")
    _action(window, view, "Zoom &In", lambda: window.zoom(1.25), "Ctrl+=")
    _action(window, view, "Zoom &Out", lambda: window.zoom(0.8), "Ctrl+-")
    _action(window, view, "&Before / After (Enhance compare)", window.toggle_before, "\\")
    view.addSeparator()
    _action(window, view, "Show/Hide &Panels", window.toggle_panels, "F7")
    window.panels_menu = view.addMenu("Pa&nels")  # add_panel() lists each panel here with Alt+N

    review = bar.addMenu("&Review")
    _action(window, review, "&Pick", lambda: window.flag_selection(PICK), "P")
    _action(window, review, "Re&ject", lambda: window.flag_selection(REJECT), "X")
    _action(window, review, "&Unflag", lambda: window.flag_selection(None), "U")
    add_rating_actions(window, review)  # 0-5 stars, 6-9 colour labels (gui/browse/culling.py)
    review.addSeparator()
    _action(window, review, "&Next Image", lambda: window.step(1), "Ctrl+Right")
    _action(window, review, "P&revious Image", lambda: window.step(-1), "Ctrl+Left")

    window.tools_menu = bar.addMenu("&Tools")
    editor, tools = window.editor, window.tools_menu
    _action(window, tools, "&Brush", lambda: editor.set_tool("brush"), "B")
    _action(window, tools, "&Eraser", lambda: editor.set_tool("eraser"), "Shift+E")
    _action(window, tools, "&SAM Prompts", lambda: editor.set_tool("sam"), "S")
    _action(window, tools, "Larger Brush", lambda: editor.scale_brush(1.2), "]")
    _action(window, tools, "Smaller Brush", lambda: editor.scale_brush(1 / 1.2), "[")
    _action(window, tools, "Harder Brush", lambda: editor.adjust_hardness(0.1), "Shift+]")
    _action(window, tools, "Softer Brush", lambda: editor.adjust_hardness(-0.1), "Shift+[")
    _action(window, tools, "End SAM Prompt (Enter on the canvas)", window.prompts.end)
    window.tools_menu.addSeparator()  # panels added with add_panel() list themselves below

    settings = bar.addMenu("&Settings")
    _action(window, settings, "&Models…", window.show_models_dialog)
    window.theme_menu = settings.addMenu("&Theme")
    _action(window, window.theme_menu, "&Dark", lambda: window.set_theme("dark"))
    _action(window, window.theme_menu, "&Light", lambda: window.set_theme("light"))
    help_menu = bar.addMenu("&Help")
    _action(window, help_menu, "&Keyboard Shortcuts", window.show_shortcuts, "Ctrl+/")
    _action(window, help_menu, "&Find Models…", lambda: _show_welcome(window))
    _action(
        window,
        help_menu,
        "&About ShootStudio",
        lambda: QMessageBox.about(window, "ShootStudio", "ShootStudio: review and enhance product shoots."),
    )


def make_application_wide(window) -> None:
    """Every menu shortcut works whatever has focus, floating panels included (hooks add actions too)."""
    for action in window.findChildren(QAction):
        if not action.shortcut().isEmpty():
            action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)


def _fill_recent(window) -> None:
    window.recent_menu.clear()
    for folder in window.recent_folders():
        action = window.recent_menu.addAction(folder)
        action.triggered.connect(lambda _=False, f=folder: window.open_folder(Path(f)))
    if not window.recent_menu.actions():
        window.recent_menu.addAction("(none yet)").setEnabled(False)


def menu_shortcuts(window) -> list[tuple[str, str, str]]:
    """(menu, action, shortcut) for every action with a shortcut: the Help → Keyboard Shortcuts sheet."""
    rows = []

    def walk(menu, title: str) -> None:
        for action in menu.actions():
            if action.menu() is not None:
                walk(action.menu(), f"{title} → {action.menu().title().replace('&', '')}")
            elif not action.shortcut().isEmpty():
                text = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
                rows.append((title, action.text().replace("&", ""), text))

    for top in window.menuBar().actions():
        if top.menu() is not None:
            walk(top.menu(), top.menu().title().replace("&", ""))
    return rows


def _show_welcome(window) -> None:
    from gui.widgets.welcome_dialog import show_welcome  # its discovery code loads only when asked

    show_welcome(window)
