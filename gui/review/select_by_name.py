""" "Select: hand bag" on the review desk: the `detector` role finds the named product on the image under
review and SAM masks it; the mask is added to the current mask as a SAM click's is, in one undo step.

    selector = SelectByName(bridge, document)          # submits `select_by_name` jobs off the UI thread
    mask_panel.add_section(SelectByNameBox(selector), 1)   # a name (the shoot's classes or free text)

A result for another image, or for a mask edited meanwhile, is dropped (it would undo the edit).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QComboBox, QGroupBox, QHBoxLayout, QPushButton, QWidget

from engine.api import Failed, Outcome, SamImage, SelectRequest, SelectResult, Succeeded, load_shoot_classes
from engine.project.document import ShootDocument
from gui.bridge import EngineBridge


class SelectByName(QObject):
    """Runs "Select: NAME" for the image under review and applies its mask."""

    message = Signal(str)  # for the status bar
    selected = Signal(str)  # a mask was added for this name
    names_changed = Signal(list)  # the shoot's class names, when a folder opens

    def __init__(self, bridge: EngineBridge, document: ShootDocument, parent: QObject | None = None):
        super().__init__(parent)
        self.bridge, self.document = bridge, document
        self._revision = -1
        document.folder_opened.connect(self._folder_opened)

    def _folder_opened(self, folder: Path) -> None:
        store = self.document.store
        classes = load_shoot_classes(store.root) if store is not None else None
        self.names_changed.emit(classes.names if classes is not None else [])

    def select(self, text: str) -> bool:
        """Ask the engine for `text`'s mask on the image under review; False when there is nothing to ask."""
        text = " ".join(text.split())
        review, folder = self.document.review, self.document.folder
        if not text or review is None or folder is None:
            self.message.emit("Select needs an image and a name, e.g. hand bag.")
            return False
        self._revision = review.revision
        request = SelectRequest(SamImage(folder, review.image_id, review.rgb), review.mask.copy(), text)
        self.message.emit(f"Looking for {text}…")
        self.bridge.submit(self.bridge.engine.select_by_name(request), on_done=self._done, owner=self)
        return True

    def _done(self, outcome: Outcome) -> None:
        if isinstance(outcome, Failed):
            self.message.emit(f"Select failed: {outcome.message}")
            return
        if not isinstance(outcome, Succeeded):
            return
        result: SelectResult = outcome.value
        review = self.document.review
        if review is None or review.image_id != result.image_id:
            return  # the user moved on to another image
        if result.mask is None:
            self.message.emit(f"No {result.text} found in this image.")
            return
        if review.revision != self._revision:
            self.message.emit(f"The mask changed meanwhile: select {result.text} again.")
            return
        self.document.replace_mask(result.mask, f"select {result.text}")
        self.message.emit(f"Selected {result.text} (detector {result.detector_score:.2f}).")
        self.selected.emit(result.text)


class SelectByNameBox(QGroupBox):
    """The Mask panel's "Select" section: a product name (the shoot's classes, or typed) and Select."""

    def __init__(self, selector: SelectByName, parent: QWidget | None = None):
        super().__init__("Select by name", parent)
        self.selector = selector
        row = QHBoxLayout(self)
        self.name = QComboBox()
        self.name.setEditable(True)  # a class of the shoot, or free text
        self.name.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.name.setToolTip("A product to find and mask: one of the shoot's classes, or any words")
        self.name.lineEdit().setPlaceholderText("hand bag")
        self.name.lineEdit().returnPressed.connect(self.select)
        self.select_button = QPushButton("Select")
        self.select_button.setToolTip("Find the product by name (detector model) and add its SAM mask")
        self.select_button.clicked.connect(self.select)
        row.addWidget(self.name, 1)
        row.addWidget(self.select_button)
        selector.names_changed.connect(self._set_names)
        selector.document.review_changed.connect(lambda review: self._update())
        self._update()

    def select(self) -> None:
        self.selector.select(self.name.currentText())

    def _set_names(self, names: list) -> None:
        text = self.name.currentText()
        self.name.clear()
        self.name.addItems(names)
        self.name.setCurrentText(text or (names[0] if names else ""))

    def _update(self) -> None:
        self.select_button.setEnabled(self.selector.document.review is not None)
