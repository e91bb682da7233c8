"""The theme: neutral greys, and warning / hint text readable on the panels (WCAG AA, 4.5:1)."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QPalette

from gui.theme import DARK, LIGHT, THEMES, apply_theme, contrast_ratio


def test_contrast_ratio_matches_the_wcag_reference_values():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic near-miss


@pytest.mark.parametrize("theme", [DARK, LIGHT], ids=lambda t: t.name)
def test_warnings_hints_and_text_pass_wcag_aa_on_the_panels(theme):
    for background in (theme.window, theme.base):
        assert contrast_ratio(theme.warning, background) >= 4.5
        assert contrast_ratio(theme.dim_text, background) >= 4.5
        assert contrast_ratio(theme.text, background) >= 7.0


@pytest.mark.parametrize("name", sorted(THEMES))
def test_the_chrome_is_neutral_grey(name):
    theme = THEMES[name]
    for colour in (theme.window, theme.base, theme.canvas, theme.button):
        c = QColor(colour)
        assert max(c.red(), c.green(), c.blue()) - min(c.red(), c.green(), c.blue()) <= 2


def test_the_warning_label_takes_the_theme_colour(qapp, qtbot):
    from PySide6.QtWidgets import QLabel

    from gui.theme import mark

    old_palette = qapp.palette()
    try:
        theme = apply_theme(qapp, "dark")
        label = mark(QLabel("Model 'sam' not found"), "warning")
        qtbot.addWidget(label)
        label.show()
        pixels = label.grab().toImage()
        colours = {
            pixels.pixelColor(x, y).name() for x in range(pixels.width()) for y in range(pixels.height())
        }
        assert qapp.palette().color(QPalette.ColorRole.Window).name() == theme.window
        warm = [QColor(c) for c in colours if QColor(c).red() > QColor(c).blue() + 60]
        assert warm, "the warning text is drawn in the warning colour"
        apply_theme(qapp, "light")  # a theme change recolours marked labels
        assert label.palette().color(QPalette.ColorRole.WindowText).name() == LIGHT.warning
    finally:
        qapp.setPalette(old_palette)
        qapp.setProperty("shootstudio_theme", None)


def test_the_auto_mask_colour_stays_visible_on_a_red_product_and_a_cyan_one():
    import numpy as np

    from gui.review.canvas_content import OVERLAY_COLOURS, contrasting_colour

    rgb = np.full((60, 80, 3), 230, np.uint8)
    mask = np.zeros((60, 80), np.uint8)
    mask[20:40, 20:60] = 255
    rgb[20:40, 20:60] = (200, 25, 30)  # a red bag
    on_red = contrasting_colour(rgb, mask)
    assert on_red != OVERLAY_COLOURS["pink"] and on_red[2] > on_red[0]
    rgb[20:40, 20:60] = (10, 190, 240)  # a cyan bottle
    assert contrasting_colour(rgb, mask) != OVERLAY_COLOURS["cyan"]


@pytest.mark.parametrize("name", ["dark", "light"])
def test_the_active_tool_is_drawn_in_the_highlight_and_keeps_its_size(qapp, qtbot, name):
    from PySide6.QtWidgets import QPushButton

    from gui.review.mask_panel import TOOL_BUTTON_STYLE

    old_palette = qapp.palette()
    try:
        theme = apply_theme(qapp, name)
        buttons = []
        for checked in (False, True):
            button = QPushButton("Brush (B)")
            button.setCheckable(True)
            button.setStyleSheet(TOOL_BUTTON_STYLE)
            button.setChecked(checked)
            qtbot.addWidget(button)
            button.show()
            buttons.append(button)
        off, on = (b.grab().toImage() for b in buttons)
        inside = (4, off.height() // 2)  # within the border, left of the text: the background
        assert on.pixelColor(*inside).name() == theme.highlight
        assert off.pixelColor(*inside).name() != theme.highlight
        assert buttons[0].sizeHint() == buttons[1].sizeHint()
    finally:
        qapp.setPalette(old_palette)
        qapp.setProperty("shootstudio_theme", None)
