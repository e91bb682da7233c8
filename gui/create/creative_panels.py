"""Wire the enhancement and generation panels and the LoRA training dialog into the review desk.

They all go through the window's engine bridge, so SAM, CLIP and SD 1.5 live in one model registry and
are loaded once and released together under one memory budget.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction

from gui.create.compare_desk import CompareDesk
from gui.create.enhance_panel import EnhancePanel
from gui.create.generate_panel import GeneratePanel
from gui.create.image_preview import ImagePreview
from gui.create.training_dialog import TrainingDialog

OUTPUT_FOLDER = "ShootStudio output"  # beside the originals, never over them; not listed as a shoot image


class CreativePanels:
    """Owns the Enhance and Generate docks and the Train LoRA dialog of one main window."""

    def __init__(self, window):
        self.window = window
        self.enhance = EnhancePanel(window.bridge)
        self.generate = GeneratePanel(window.bridge)
        self.enhance_dock = window.add_panel("Enhance", self.enhance)
        self.generate_dock = window.add_panel("Generate", self.generate)
        window.mask_dock.raise_()
        self.training: TrainingDialog | None = None
        train = QAction("&Train a Product LoRA…", window)
        train.triggered.connect(self.show_training)
        window.tools_menu.addAction(train)

        window.folder_opened.connect(self._folder_opened)
        window.review_shown.connect(self._review_changed)
        # Variants compare large on the canvas area, not in the dock.
        self.compare = CompareDesk(self.enhance)
        self.compare.back.connect(lambda: window.show_view(window.canvas))
        self.enhance.run_finished.connect(self._run_finished)
        self.enhance.strip.itemClicked.connect(lambda _: window.show_view(self.compare))
        self.generate.open_in_review.connect(self._open_generated)
        self.enhance.variant_accepted.connect(
            lambda path: window.statusBar().showMessage(f"Saved {path.name} in {path.parent}", 10000)
        )

    def _folder_opened(self, folder: Path) -> None:
        output = folder / OUTPUT_FOLDER
        self.enhance.set_output_dir(output / "enhanced")
        self.enhance.set_batch_folder(folder)
        self.generate.output.setText(str(output / "generated"))

    def _run_finished(self, outcome: str) -> None:
        if outcome == "done":
            self.window.show_view(self.compare)

    def _review_changed(self, review) -> None:
        self.window.show_view(self.window.canvas)  # another image: its mask, not the old variants
        if review is None:
            return
        image = self.window.document.images[review.row]
        product_class = next(iter(image.classes), "") if image.classes else ""
        # The live mask (edited in place by the canvas); the panel snapshots it when a run starts, so
        # strokes cost no 24 MP copy and do not clear the variants on show.
        self.enhance.set_image(review.path, review.mask, product_class)

    def _open_generated(self, paths: list[Path]) -> ImagePreview | None:
        """Look at generated images without switching the shoot (and without a store in the output)."""
        preview = None
        for path in paths[:4]:
            preview = ImagePreview(path, parent=self.window)
            preview.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            preview.show()
        return preview

    def show_training(self) -> TrainingDialog:
        if self.training is None or not self.training.isVisible():
            self.training = TrainingDialog(self.window.bridge, self.window.folder, parent=self.window)
        self.training.show()
        self.training.raise_()
        return self.training
