"""The mask editor's state: the tool, the brush and how the mask is overlaid.

Plain Python with psygnal events: the menus, the Mask panel and the canvas all change it through these
methods and redraw on its events, so no widget keeps its own copy (napari's layer pattern).
"""

from __future__ import annotations

from psygnal import Signal

from engine.project.mask_ops import Brush

TOOLS = ("sam", "brush", "eraser")
MAX_BRUSH_RADIUS = 2000.0


class EditorState:
    tool_changed = Signal(str)
    brush_changed = Signal(object)  # Brush
    overlay_changed = Signal()

    def __init__(self) -> None:
        self.tool = "brush"
        self.brush = Brush(radius=40.0, hardness=0.8)
        self.opacity = 0.45  # of the mask overlay
        self.outline = False  # draw the mask's edge only
        self.show_mask = True

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}; one of {', '.join(TOOLS)}")
        if tool != self.tool:
            self.tool = tool
            self.tool_changed.emit(tool)

    def set_brush(self, radius: float | None = None, hardness: float | None = None) -> None:
        radius = self.brush.radius if radius is None else min(MAX_BRUSH_RADIUS, max(1.0, float(radius)))
        hardness = self.brush.hardness if hardness is None else min(1.0, max(0.0, float(hardness)))
        brush = Brush(radius, hardness)
        if brush != self.brush:
            self.brush = brush
            self.brush_changed.emit(brush)

    def scale_brush(self, factor: float) -> None:
        """[ and ]: a larger or smaller brush."""
        self.set_brush(radius=self.brush.radius * factor)

    def adjust_hardness(self, delta: float) -> None:
        """Shift+[ and Shift+]: a softer or harder edge."""
        self.set_brush(hardness=self.brush.hardness + delta)

    def set_overlay(
        self, opacity: float | None = None, outline: bool | None = None, show: bool | None = None
    ) -> None:
        if opacity is not None:
            self.opacity = min(1.0, max(0.0, float(opacity)))
        if outline is not None:
            self.outline = bool(outline)
        if show is not None:
            self.show_mask = bool(show)
        self.overlay_changed.emit()
