"""A RAW on the canvas: its embedded JPEG preview shows at once (nothing to edit on it), and the canvas
swaps to the working image (here LibRaw's full decode, the preview being small) once that is ready."""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtGui import QImage

from engine.imaging import raw
from tests.fixtures.filter import shoot_image
from tests.fixtures.gui import drop
from tests.fixtures.raw import write_dng


def _pixels(widget) -> np.ndarray:
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    array = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return array[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


def test_canvas_shows_the_embedded_preview_then_the_full_decode(qtbot, window, tmp_path, monkeypatch):
    folder = tmp_path / "shoot"
    folder.mkdir()
    # 128×96 sensor (bright left half, neutral grey once decoded), 64×48 preview (red left, blue right)
    write_dng(folder / "IMG_0001.dng")
    decode_may_finish = threading.Event()
    real_decode = raw._decode

    def slow_decode(path):  # a 24 MP RAW takes seconds: hold the decode until the preview was seen
        assert decode_may_finish.wait(20)
        return real_decode(path)

    monkeypatch.setattr(raw, "_decode", slow_decode)
    canvas = window.canvas
    try:
        drop(window, [folder])
        qtbot.waitUntil(lambda: canvas.preview is not None, timeout=10000)
        assert canvas.content is None and window.document.review is None  # nothing to edit on a preview
        assert canvas.preview.size == (64, 48)
        assert "embedded preview" in canvas.busy_message
        qtbot.waitUntil(lambda: canvas.frames > 0)
        pixels = _pixels(canvas)
        h, w = pixels.shape[:2]
        left = pixels[h // 2, w // 2 - 20].astype(int)
        right = pixels[h // 2, w // 2 + 20].astype(int)
        assert left[0] > 150 and left[2] < 90, left  # the preview's red half ...
        assert right[2] > 150 and right[0] < 90, right  # ... and its blue half
    finally:
        decode_may_finish.set()
    with qtbot.waitSignal(window.review_shown, timeout=20000):
        pass
    assert canvas.preview is None and canvas.content is not None
    assert canvas.content.image.shape[:2] == (96, 128)  # the full decode, not the 64×48 preview
    left = canvas.content.review.rgb[48, 10].astype(int)
    assert abs(left[0] - left[2]) < 30  # neutral grey: the sensor data, not the preview's red


def test_a_cached_working_image_opens_without_the_preview(qtbot, window, tmp_path):
    folder = tmp_path / "shoot"
    folder.mkdir()
    write_dng(folder / "IMG_0001.dng")
    with qtbot.waitSignal(window.review_shown, timeout=20000):
        drop(window, [folder])
    store = window.document.store
    assert raw.screen_preview(folder / "IMG_0001.dng", store.raw_cache) is None  # cached: not needed
    assert raw.screen_preview(folder / "IMG_0001.dng", tmp_path / "empty-cache").shape == (48, 64, 3)


def test_the_zoom_readout_is_blank_while_a_preview_stands_in(qtbot, window, tmp_path, monkeypatch):
    """Stepping from a shown image to a RAW: the status bar's zoom was the previous image's."""
    folder = tmp_path / "shoot"
    shoot_image(folder / "A.png")
    write_dng(folder / "IMG_0001.dng")
    decode_may_finish = threading.Event()
    real_decode = raw._decode
    monkeypatch.setattr(raw, "_decode", lambda path: decode_may_finish.wait(20) and real_decode(path))
    try:
        with qtbot.waitSignal(window.review_shown, timeout=10000):
            drop(window, [folder])
        assert window.zoom_label.text().endswith("%")
        window.step(1)
        qtbot.waitUntil(lambda: window.canvas.preview is not None, timeout=10000)
        assert window.zoom_label.text() == ""
    finally:
        decode_may_finish.set()
    qtbot.waitUntil(lambda: window.canvas.content is not None, timeout=20000)
    assert window.zoom_label.text().endswith("%")
