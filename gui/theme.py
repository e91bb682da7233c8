"""The desk's look: one neutral grey theme (dark by default, light as an option) on Qt's Fusion style.

Neutral greys keep colour judgement honest (Lightroom and Capture One do the same): no tint in the
chrome around a photograph. A palette does the work (no style sheet); labels marked "warning" or "hint"
take those colours, chosen to pass WCAG AA (4.5:1) on the panel background (tests/gui/test_theme.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory, QWidget


@dataclass(frozen=True)
class Theme:
    name: str
    window: str  # panels and dialogs
    base: str  # fields, lists
    canvas: str  # behind the photograph and the thumbnails
    text: str
    dim_text: str  # hints, secondary text
    button: str
    highlight: str
    highlighted_text: str
    warning: str  # missing models, problems to fix
    disabled_text: str


DARK = Theme(
    name="dark",
    window="#2b2b2b",
    base="#232323",
    canvas="#1e1e1e",
    text="#dcdcdc",
    dim_text="#a8a8a8",
    button="#383838",
    highlight="#4a6a9a",
    highlighted_text="#ffffff",
    warning="#f0b44c",
    disabled_text="#7a7a7a",
)
LIGHT = Theme(
    name="light",
    window="#ececec",
    base="#fafafa",
    canvas="#9a9a9a",
    text="#1e1e1e",
    dim_text="#555555",
    button="#e0e0e0",
    highlight="#3d6bb3",
    highlighted_text="#ffffff",
    warning="#8a4b00",
    disabled_text="#8a8a8a",
)
THEMES = {theme.name: theme for theme in (DARK, LIGHT)}


def palette(theme: Theme) -> QPalette:
    pal = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    for r, colour in (
        (role.Window, theme.window),
        (role.WindowText, theme.text),
        (role.Base, theme.base),
        (role.AlternateBase, theme.window),
        (role.Text, theme.text),
        (role.Button, theme.button),
        (role.ButtonText, theme.text),
        (role.Highlight, theme.highlight),
        (role.HighlightedText, theme.highlighted_text),
        (role.ToolTipBase, theme.base),
        (role.ToolTipText, theme.text),
        (role.PlaceholderText, theme.dim_text),
        (role.Link, theme.highlight),
        (role.BrightText, theme.warning),
        (role.Mid, theme.dim_text),
    ):
        pal.setColor(r, QColor(colour))
    for r in (role.WindowText, role.Text, role.ButtonText):
        pal.setColor(group.Disabled, r, QColor(theme.disabled_text))
    return pal


def mark(widget: QWidget, role: str) -> QWidget:
    """Give a label the theme's "warning" or "hint" colour (and keep it across theme changes)."""
    widget.setProperty("theme_role", role)
    _colour(widget, current_theme())
    return widget


def _colour(widget: QWidget, theme: Theme) -> None:
    colour = {"warning": theme.warning, "hint": theme.dim_text}.get(widget.property("theme_role"))
    if colour is not None:
        pal = widget.palette()
        pal.setColor(QPalette.ColorRole.WindowText, QColor(colour))
        pal.setColor(QPalette.ColorRole.Text, QColor(colour))
        widget.setPalette(pal)


def apply_theme(app: QApplication, name: str = "dark") -> Theme:
    """Fusion style with the named theme's palette; returns the theme. A palette only, no style sheet:
    a sheet would make Qt polish every widget through its style-sheet engine (slower start-up)."""
    theme = THEMES.get(name, DARK)
    app.setStyle(QStyleFactory.create("Fusion"))
    app.setPalette(palette(theme))
    app.setProperty("shootstudio_theme", theme.name)
    for widget in app.allWidgets():
        if widget.property("theme_role"):
            _colour(widget, theme)
    return theme


def current_theme() -> Theme:
    app = QApplication.instance()
    name = app.property("shootstudio_theme") if app is not None else None
    return THEMES.get(name or "dark", DARK)


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2 contrast ratio between two colours (1 to 21)."""

    def luminance(colour: str) -> float:
        c = QColor(colour)
        channels = []
        for v in (c.redF(), c.greenF(), c.blueF()):
            channels.append(v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4)
        r, g, b_ = channels
        return 0.2126 * r + 0.7152 * g + 0.0722 * b_

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)
