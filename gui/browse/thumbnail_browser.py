"""The thumbnail browser: a model over the document's images, a delegate that draws verdict and flag
badges, and a grid view that asks only for what it shows.

Qt's list view calls `data()` only for the items it paints (with uniform item sizes), so a thumbnail is
requested only when it scrolls into view; a background task decodes it (engine/imaging/thumbnails.py),
newest request first, and the model repaints that one cell. Scrolling never waits: a cell without its
thumbnail yet draws a placeholder, and requests that scrolled away are dropped before they start.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QImage, QPainter, QPalette, QPen
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from engine.api import ERROR, PICK, PRODUCT, REJECT, SKIPPED, UNCERTAIN, Thumbnail, ThumbnailCache
from engine.project.document import ShootDocument, ShootImage
from gui.background import BackgroundTasks
from gui.browse.badges import paint_culling, paint_sam_ready
from gui.browse.sort_filter import CullCriteria

ImageRole = Qt.ItemDataRole.UserRole + 1
ErrorRole = Qt.ItemDataRole.UserRole + 2  # why the thumbnail cannot be shown, or None
MEMORY_THUMBNAILS = 1500  # ~130 kB each: the LRU holds a few screens of a big folder
CELL = QSize(176, 168)
VERDICT_COLOURS = {
    PRODUCT: QColor(46, 160, 90),
    SKIPPED: QColor(110, 110, 110),
    UNCERTAIN: QColor(215, 150, 30),
    ERROR: QColor(200, 50, 50),
}


class ThumbnailModel(QAbstractListModel):
    thumbnails_shown = Signal(int)  # how many thumbnails have arrived since the folder opened

    def __init__(self, document: ShootDocument, cache_dir: Path | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.document = document
        self._cache_dir = cache_dir
        self._cache: ThumbnailCache | None = None
        self._images: OrderedDict[Path, QImage] = OrderedDict()
        self._errors: dict[Path, str] = {}
        self._requested: set[Path] = set()  # asked for, not arrived yet
        self._row_of: dict[Path, int] = {}
        self.arrived = 0
        self.tasks = BackgroundTasks(workers=2, newest_first=True, parent=self)
        # Cache writes (an encode and an fsync each) wait on their own thread, after the cell is shown.
        self.writes = BackgroundTasks(workers=1, parent=self)
        document.folder_opened.connect(self._reset)
        document.folder_closed.connect(lambda: self._reset(None))
        document.entries_updated.connect(self._rows_changed)

    def close(self) -> None:
        self.tasks.close()
        self.writes.close()

    def _reset(self, folder: Path | None) -> None:
        """A folder opened (or, with None, closed): start over with its images."""
        self.beginResetModel()
        self.tasks.retain(lambda key: False)
        self._images.clear()
        self._errors.clear()
        self._requested.clear()
        self._row_of = {image.path: row for row, image in enumerate(self.document.images)}
        self.arrived = 0
        store = self.document.store
        self._cache = None
        if store is not None:
            self._cache = ThumbnailCache(self._cache_dir or store.root / "cache" / "thumbnails")
        self.endResetModel()

    def _decode(self, cache: ThumbnailCache, path: Path) -> QImage | str:
        """On a background thread: QImage (unlike QPixmap) may be built here; copy() detaches it."""
        thumb: Thumbnail = cache.load(path, keep=False)
        if thumb.rgb is None:
            return thumb.error
        if not thumb.from_cache:
            self.writes.run(path, lambda: cache.keep(thumb))
        rgb = np.ascontiguousarray(thumb.rgb)
        image = QImage(rgb.data, rgb.shape[1], rgb.shape[0], rgb.strides[0], QImage.Format.Format_RGB888)
        return image.copy()

    def _on_ready(self, cache: ThumbnailCache, path: Path, image: QImage | str) -> None:
        if cache is not self._cache:
            return  # another folder opened meanwhile
        self._requested.discard(path)
        if isinstance(image, str):
            self._errors[path] = image
        else:
            self._images[path] = image
            while len(self._images) > MEMORY_THUMBNAILS:
                self._images.popitem(last=False)
        self.arrived += 1
        row = self._row_of.get(path)
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])
        self.thumbnails_shown.emit(self.arrived)

    def _rows_changed(self, rows: list[int]) -> None:
        for row in rows:
            index = self.index(row)
            self.dataChanged.emit(index, index)

    # -- the model ---------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self.document.images)

    def image_at(self, row: int) -> ShootImage:
        return self.document.images[row]

    def thumbnail(self, path: Path) -> QImage | None:
        image = self._images.get(path)
        if image is not None:
            self._images.move_to_end(path)
            return image
        cache = self._cache
        if cache is not None and path not in self._errors and path not in self._requested:
            self._requested.add(path)
            self.tasks.run(
                path,
                lambda: self._decode(cache, path),
                lambda result: self._on_ready(cache, path, result),
                lambda error: self._on_ready(cache, path, f"{path.name}: {error}"),
            )
        return None

    def has_arrived(self, path: Path) -> bool:
        """Whether the cell of `path` shows its thumbnail, or why it has none."""
        return path in self._images or path in self._errors

    def keep_only(self, rows: range) -> None:
        """Forget pending requests outside `rows` (they scrolled away before decoding)."""
        wanted = {self.document.images[r].path for r in rows if 0 <= r < len(self.document.images)}
        self.tasks.retain(lambda path: path in wanted)
        self._requested &= wanted

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self.document.images):
            return None
        image = self.document.images[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return image.path.name
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbnail(image.path)
        if role == Qt.ItemDataRole.ToolTipRole:
            return _tooltip(image, self._errors.get(image.path))
        if role == ImageRole:
            return image
        if role == ErrorRole:
            return self._errors.get(image.path)
        return None


def _tooltip(image: ShootImage, error: str | None) -> str:
    lines = [image.path.name]
    if image.verdict:
        classes = ", ".join(f"{name} ×{count}" for name, count in image.classes.items())
        lines.append(f"filter: {image.verdict}" + (f" ({classes})" if classes else ""))
    if image.reason:
        lines.append(image.reason)
    if image.flag:
        lines.append(f"flag: {image.flag}")
    if error:
        lines.append(f"cannot show: {error}")
    return "\n".join(lines)


class BrowserFilter(QSortFilterProxyModel):
    """Show only images matching the chosen verdicts, class and flag."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.verdicts: set[str | None] | None = None  # None: any; the set may hold None (not filtered yet)
        self.class_name: str = ""
        self.flag: str | None = "any"  # "any", None (unflagged), "pick", "reject"
        self.culling = CullCriteria()  # rating, label and sort order (gui/browse/sort_filter.py)

    def set_criteria(self, verdicts=None, class_name: str = "", flag: str | None = "any") -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9; invalidateRowsFilter is deprecated there
            self.beginFilterChange()
            self.verdicts, self.class_name, self.flag = verdicts, class_name.strip().casefold(), flag
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.verdicts, self.class_name, self.flag = verdicts, class_name.strip().casefold(), flag
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, row: int, parent) -> bool:
        image: ShootImage = self.sourceModel().image_at(row)
        if self.verdicts is not None and image.verdict not in self.verdicts:
            return False
        if self.class_name and not any(self.class_name == c.casefold() for c in image.classes):
            return False
        if not self.culling.accepts(image):
            return False
        return self.flag == "any" or image.flag == self.flag

    def set_culling(self, criteria: CullCriteria) -> None:
        """Rating/label criteria and the sort order; "name" keeps the folder's order."""
        self.culling = criteria
        self.invalidate()
        self.sort(-1 if criteria.sort == "name" else 0)

    def lessThan(self, left, right) -> bool:
        model = self.sourceModel()
        key = self.culling.sort_key
        return key(model.image_at(left.row())) < key(model.image_at(right.row()))


class ThumbnailDelegate(QStyledItemDelegate):
    """A cell: the thumbnail, the file name, the verdict chip, the pick/reject flag, and a teal dot when the
    image's SAM embedding is cached (a click there answers at once)."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.sam_ready: set[str] = set()  # image ids; the review desk shares its SamController's set

    def sizeHint(self, option, index) -> QSize:
        return CELL

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        image: ShootImage | None = index.data(ImageRole)
        if image is None:  # the folder is being replaced; the model resets right after
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        cell = option.rect.adjusted(3, 3, -3, -3)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        palette = option.palette  # the theme's colours (gui/theme.py), dark or light
        painter.fillRect(
            cell, palette.color(QPalette.ColorRole.Highlight if selected else QPalette.ColorRole.Window)
        )
        picture_area = QRect(cell.x() + 6, cell.y() + 6, cell.width() - 12, cell.height() - 34)
        thumb = index.data(Qt.ItemDataRole.DecorationRole)
        if isinstance(thumb, QImage) and not thumb.isNull():
            size = thumb.size().scaled(picture_area.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, size.width(), size.height())
            target.moveCenter(picture_area.center())
            if image.flag == REJECT:
                painter.setOpacity(0.35)
            painter.drawImage(target, thumb)
            painter.setOpacity(1.0)
        else:
            painter.fillRect(picture_area, palette.color(QPalette.ColorRole.Button))
            if index.data(ErrorRole):  # unreadable: say so on the tile, not only after a filter run
                self._chip(
                    painter,
                    picture_area.adjusted(0, 0, 0, -picture_area.height() // 2 + 11),
                    "cannot read",
                    VERDICT_COLOURS[ERROR],
                )
        painter.setPen(
            palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        )
        name_rect = QRect(cell.x() + 6, cell.bottom() - 24, cell.width() - 12, 20)
        name = painter.fontMetrics().elidedText(
            image.path.name, Qt.TextElideMode.ElideMiddle, name_rect.width()
        )
        painter.drawText(name_rect, Qt.AlignmentFlag.AlignCenter, name)
        if image.verdict:
            label = ", ".join(image.classes) if image.verdict == PRODUCT and image.classes else image.verdict
            self._chip(painter, picture_area, label, VERDICT_COLOURS.get(image.verdict, QColor(90, 90, 90)))
        if image.flag:
            self._flag(painter, picture_area, image.flag)
        paint_culling(painter, picture_area, image)
        if image.image_id is not None and image.image_id in self.sam_ready:
            paint_sam_ready(painter, picture_area)
        if image.has_edited_mask:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(255, 64, 96))
            painter.drawEllipse(picture_area.right() - 12, picture_area.bottom() - 12, 9, 9)
        if selected:
            painter.setPen(QPen(QColor(120, 170, 255), 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(cell)
        painter.restore()

    def _chip(self, painter: QPainter, area: QRect, text: str, colour: QColor) -> None:
        metrics = painter.fontMetrics()
        text = metrics.elidedText(text, Qt.TextElideMode.ElideRight, area.width() - 40)
        rect = QRect(area.x() + 4, area.bottom() - 22, metrics.horizontalAdvance(text) + 12, 18)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawRoundedRect(rect, 6, 6)
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)

    def _flag(self, painter: QPainter, area: QRect, flag: str) -> None:
        rect = QRect(area.right() - 26, area.y() + 4, 22, 22)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(40, 170, 80) if flag == PICK else QColor(210, 50, 50))
        painter.drawEllipse(rect)
        painter.setPen(QPen(QColor(255, 255, 255), 2.2))
        if flag == PICK:  # a tick
            painter.drawPolyline([rect.center() + QPoint(dx, dy) for dx, dy in ((-6, 0), (-2, 5), (6, -5))])
        else:  # a cross
            c = rect.center()
            painter.drawLine(c.x() - 5, c.y() - 5, c.x() + 5, c.y() + 5)
            painter.drawLine(c.x() - 5, c.y() + 5, c.x() + 5, c.y() - 5)


class ThumbnailBrowser(QListView):
    """The grid of thumbnails. Arrow keys move; selection drives the canvas."""

    def __init__(self, model: ThumbnailModel, parent=None):
        super().__init__(parent)
        self.source_model = model
        self.proxy = BrowserFilter(self)
        self.proxy.setSourceModel(model)
        self.setModel(self.proxy)
        self.setItemDelegate(ThumbnailDelegate(self))
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)  # no per-item size queries: data() only for painted cells
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(500)
        self.setGridSize(CELL)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setFrameShape(QListView.Shape.NoFrame)  # background from the theme (gui/theme.py)
        self._trim = QTimer(self, singleShot=True, interval=120)
        self._trim.timeout.connect(self._drop_invisible_requests)
        self.verticalScrollBar().valueChanged.connect(lambda _: self._trim.start())
        self.horizontalScrollBar().valueChanged.connect(lambda _: self._trim.start())
        self.mode = "grid"

    def set_mode(self, mode: str) -> None:
        """`grid`: cells wrap in rows (Lightroom's G); `filmstrip`: one scrolling row under the canvas (E)."""
        filmstrip = mode == "filmstrip"
        self.mode = mode
        self.setWrapping(not filmstrip)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setHorizontalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAsNeeded if filmstrip else Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        )
        self.setVerticalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAlwaysOff if filmstrip else Qt.ScrollBarPolicy.ScrollBarAsNeeded
        )
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        index = self.currentIndex()
        if index.isValid():
            self.scrollTo(index)

    def visible_rows(self) -> range:
        """Source rows currently on screen (for dropping stale thumbnail requests)."""
        viewport = self.viewport().rect()
        first = self.indexAt(viewport.topLeft() + QPoint(8, 8))
        if not first.isValid():
            return range(0)
        rows = []
        # Cells on screen are consecutive in the grid: walk from the first until one starts below.
        for proxy_row in range(first.row(), self.proxy.rowCount()):
            rect = self.visualRect(self.proxy.index(proxy_row, 0))
            if rect.top() > viewport.bottom() or rect.left() > viewport.right():  # grid / filmstrip
                break
            if rect.intersects(viewport):
                rows.append(self.proxy.mapToSource(self.proxy.index(proxy_row, 0)).row())
        return range(min(rows), max(rows) + 1) if rows else range(0)

    def _drop_invisible_requests(self) -> None:
        self.source_model.keep_only(self.visible_rows())

    def selected_rows(self) -> list[int]:
        return sorted(self.proxy.mapToSource(i).row() for i in self.selectionModel().selectedIndexes())

    def current_row(self) -> int | None:
        index = self.currentIndex()
        return self.proxy.mapToSource(index).row() if index.isValid() else None

    def select_row(self, row: int) -> None:
        index = self.proxy.mapFromSource(self.source_model.index(row))
        if index.isValid():
            self.setCurrentIndex(index)
            self.scrollTo(index)

    def rows_in_order(self) -> list[int]:
        """The document rows the browser shows, in its (sorted, filtered) order: the embed-ahead order."""
        proxy = self.proxy
        return [proxy.mapToSource(proxy.index(i, 0)).row() for i in range(proxy.rowCount())]
