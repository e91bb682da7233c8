"""The mask editor's state: one place for the tool, the brush and the overlay, with events."""

from __future__ import annotations

import pytest

from engine.project.editor import MAX_BRUSH_RADIUS, EditorState
from engine.project.mask_ops import Brush


def test_changes_are_announced_once_and_clamped():
    editor = EditorState()
    tools, brushes, overlays = [], [], []
    editor.tool_changed.connect(tools.append)
    editor.brush_changed.connect(brushes.append)
    editor.overlay_changed.connect(
        lambda: overlays.append((editor.opacity, editor.outline, editor.show_mask))
    )
    editor.set_tool("sam")
    editor.set_tool("sam")  # no change, no event
    assert tools == ["sam"]
    with pytest.raises(ValueError, match="unknown tool"):
        editor.set_tool("lasso")

    editor.set_brush(radius=10, hardness=0.5)
    editor.scale_brush(2.0)
    editor.adjust_hardness(0.8)  # past 1: clamped
    editor.set_brush(radius=1e9)
    assert brushes == [Brush(10, 0.5), Brush(20, 0.5), Brush(20, 1.0), Brush(MAX_BRUSH_RADIUS, 1.0)]
    editor.set_brush(radius=0)
    assert editor.brush.radius == 1.0

    editor.set_overlay(opacity=1.7, outline=True)
    editor.set_overlay(show=False)
    assert overlays == [(1.0, True, True), (1.0, True, False)]
