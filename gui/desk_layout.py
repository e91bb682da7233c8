"""The desk's layout, mixed into the main window: a large canvas area in the middle (the mask canvas or a
page shown in its place, such as the Enhance compare), the browser as a grid beside it or a filmstrip
under it (G / E), side panels that scroll inside their docks and collapse (F7, Alt+N), and the geometry,
dock layout, splitter and panel fields remembered per user (gui/settings.py).

Expects the window to have `splitter`, `viewer`, `browser`, `canvas`, `browser_mode`, `tools_menu` and
`panels_menu`.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDockWidget, QFrame, QScrollArea, QWidget

from gui.settings import user_settings
from gui.widgets import remember

PREFERRED_SIZE = QSize(1440, 900)
PANEL_MIN_WIDTH = 260  # a docked panel scrolls rather than forcing the window wider or taller
FILMSTRIP_HEIGHT = 196  # one row of cells plus the horizontal scroll bar
STATE_VERSION = 2  # bump when the dock layout changes, so an old saved layout is not restored onto it


class DeskLayout:
    """Layout methods of `MainWindow` (a QMainWindow)."""

    def _fit_to_screen(self) -> None:
        """The preferred size, or the screen's available area on a smaller (laptop) screen."""
        screen = QGuiApplication.primaryScreen()
        size = QSize(PREFERRED_SIZE)
        if screen is not None:
            size = size.boundedTo(screen.availableGeometry().size())
        self.resize(size)

    def add_panel(
        self, title: str, widget: QWidget, area=Qt.DockWidgetArea.RightDockWidgetArea
    ) -> QDockWidget:
        """Dock a side panel (Mask, Filter, Enhance, Generate, ...) and list it in the Tools menu.

        Panels on the same side share one tabbed dock area. Each panel scrolls inside its dock, so a tall
        panel never sets the window's minimum height (the desk must fit a 1280×720 laptop)."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{title}")
        scroller = QScrollArea()
        scroller.setObjectName(f"scroll-{title}")
        scroller.setWidget(widget)
        scroller.setWidgetResizable(True)
        scroller.setFrameShape(QFrame.Shape.NoFrame)
        scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        scroller.setMinimumWidth(PANEL_MIN_WIDTH)
        dock.setWidget(scroller)
        existing = [
            d for d in self.findChildren(QDockWidget) if d is not dock and self.dockWidgetArea(d) == area
        ]
        self.addDockWidget(area, dock)
        if existing:
            self.tabifyDockWidget(existing[-1], dock)
            existing[0].raise_()
        self.tools_menu.addAction(dock.toggleViewAction())
        number = len(self.panels_menu.actions()) + 1
        show = self.panels_menu.addAction(f"{title} Panel")
        show.setShortcut(f"Alt+{number}")
        show.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        show.triggered.connect(lambda: self.show_panel(dock))
        return dock

    def show_panel(self, dock: QDockWidget) -> None:
        """Bring a panel to the front (Alt+1, Alt+2, ...), showing the panels if they were hidden."""
        dock.show()
        dock.raise_()
        dock.widget().widget().setFocus(Qt.FocusReason.ShortcutFocusReason)

    def toggle_panels(self) -> None:
        """F7: hide every panel for a full-size canvas, or bring back the ones that were open."""
        docks = self.findChildren(QDockWidget)
        shown = [d for d in docks if d.isVisible()]
        if shown:
            self._hidden_panels = shown
            for dock in shown:
                dock.hide()
        else:
            for dock in getattr(self, "_hidden_panels", None) or docks:
                dock.show()

    def set_browser_mode(self, mode: str) -> None:
        """G: the grid beside the canvas; E: the loupe (large canvas) with a filmstrip under it."""
        mode = mode if mode in ("grid", "filmstrip") else "filmstrip"
        if mode == self.browser_mode:
            return
        self.browser_mode = mode
        self.browser.set_mode(mode)
        if mode == "grid":
            self.splitter.setOrientation(Qt.Orientation.Horizontal)
            self.splitter.insertWidget(0, self.browser)
            self.browser.setMaximumHeight(16777215)
            self.splitter.setStretchFactor(0, 1)  # resizing keeps the grid and canvas in proportion
            self.splitter.setStretchFactor(1, 1)
            total = max(self.splitter.width(), 800)
            self.splitter.setSizes([total * 55 // 100, total * 45 // 100])
        else:
            self.splitter.setOrientation(Qt.Orientation.Vertical)
            self.splitter.insertWidget(0, self.viewer)
            self.browser.setMaximumHeight(FILMSTRIP_HEIGHT)
            self.splitter.setStretchFactor(0, 1)  # the canvas takes every extra pixel
            self.splitter.setStretchFactor(1, 0)
            total = max(self.splitter.height(), 400)
            self.splitter.setSizes([total - FILMSTRIP_HEIGHT, FILMSTRIP_HEIGHT])
        user_settings().setValue("browser/mode", mode)

    def show_view(self, page: QWidget) -> None:
        """Show `page` (e.g. the Enhance compare) in the canvas's place; show_view(canvas) goes back."""
        if self.viewer.indexOf(page) < 0:
            self.viewer.addWidget(page)
        self.viewer.setCurrentWidget(page)
        page.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- remembered layout -------------------------------------------------------------------
    def save_layout(self) -> None:
        settings = user_settings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/state", self.saveState(STATE_VERSION))
        settings.setValue(f"window/splitter-{self.browser_mode}", self.splitter.saveState())
        remember.save_all(settings)  # every panel's remembered fields

    def restore_layout(self) -> None:
        """The geometry, docks and splitter the user left (nothing on a first start)."""
        settings = user_settings()
        for key, restore in (
            ("window/geometry", self.restoreGeometry),
            ("window/state", lambda data: self.restoreState(data, STATE_VERSION)),
            (f"window/splitter-{self.browser_mode}", self.splitter.restoreState),
        ):
            value = settings.value(key)
            if isinstance(value, QByteArray) and not value.isEmpty():
                restore(value)
