"""The Generate panel: prompt template with {class}, settings, LoRAs with scales, and a results grid.

It talks to the engine only through `EngineBridge` jobs; each finished image (an event of the job) appears
in the grid as soon as it is written. Double-click (or "Open in review desk") hands images to the review
desk via a signal.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from engine.api import (
    DEFAULT_TEMPLATE,
    GENERATE_NEGATIVE,
    SCHEDULER_CHOICES,
    Cancelled,
    Failed,
    GenerateRequest,
    Job,
    Outcome,
    Succeeded,
)
from gui.bridge import EngineBridge
from gui.widgets.forms import int_spin, show_done, show_progress, widget_row
from gui.widgets.lora_picker import LoraPicker
from gui.widgets.remember import remember

THUMB = 160


class GeneratePanel(QWidget):
    """Text-to-image with SD 1.5 + LoRAs.

    Signals: `images_generated(list[Path])` after a run (also a cancelled one, with what was written);
    `open_in_review(list[Path])` when the user asks to review images (double-click or the button).
    """

    images_generated = Signal(list)
    open_in_review = Signal(list)

    def __init__(self, bridge: EngineBridge, output_dir: Path | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.bridge = bridge
        self.job: Job | None = None
        self._written: list[Path] = []
        self._build(output_dir or Path.home() / "ShootStudio" / "generated")

    # -- building --------------------------------------------------------------------------------------
    def _build(self, output_dir: Path) -> None:
        self.template = QPlainTextEdit(DEFAULT_TEMPLATE)
        self.template.setMaximumHeight(64)
        self.template.setToolTip("{class} is replaced by each product class in turn")
        self.classes = QLineEdit("hand bag")
        self.classes.setPlaceholderText("comma-separated, e.g. hand bag, shoe")
        self.negative = QLineEdit(GENERATE_NEGATIVE)
        self.width_box, self.height_box = int_spin(64, 2048, 512, 8), int_spin(64, 2048, 512, 8)
        self.steps = int_spin(1, 500, 30)
        self.guidance = QDoubleSpinBox()
        self.guidance.setRange(0.0, 50.0)
        self.guidance.setValue(7.5)
        self.scheduler = QComboBox()
        self.scheduler.addItems(SCHEDULER_CHOICES)
        self.seed = int_spin(-1, 2**31 - 1, -1)
        self.seed.setSpecialValueText("random")
        self.count = int_spin(1, 100, 4)
        self.loras = LoraPicker()
        self.output = QLineEdit(str(output_dir))
        browse = QPushButton("…")
        browse.clicked.connect(self._choose_output)

        form = QFormLayout()
        form.addRow("Prompt template", self.template)
        form.addRow("Product classes", self.classes)
        form.addRow("Negative prompt", self.negative)
        form.addRow("Size", widget_row(self.width_box, QLabel("×"), self.height_box))
        form.addRow("Steps / guidance", widget_row(self.steps, self.guidance))
        form.addRow("Scheduler", self.scheduler)
        form.addRow("Seed / images per class", widget_row(self.seed, self.count))
        form.addRow("LoRAs", self.loras)
        form.addRow("Output folder", widget_row(self.output, browse))
        remember(
            "generate",
            {
                "template": self.template,
                "classes": self.classes,
                "negative": self.negative,
                "width": self.width_box,
                "height": self.height_box,
                "steps": self.steps,
                "guidance": self.guidance,
                "sampler": self.scheduler,
                "count": self.count,
            },
        )

        self.generate_button, self.cancel_button = QPushButton("Generate"), QPushButton("Cancel")
        self.generate_button.setDefault(True)
        self.cancel_button.setEnabled(False)
        self.generate_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        settings = QWidget()
        left = QVBoxLayout(settings)
        left.addLayout(form)
        left.addWidget(widget_row(self.generate_button, self.cancel_button))
        left.addWidget(self.progress)
        left.addWidget(self.status)
        left.addStretch(1)

        self.results = QListWidget()
        self.results.setViewMode(QListView.ViewMode.IconMode)
        self.results.setIconSize(QSize(THUMB, THUMB))
        self.results.setResizeMode(QListView.ResizeMode.Adjust)
        self.results.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.results.itemDoubleClicked.connect(lambda item: self.open_in_review.emit([self._path(item)]))
        review = QPushButton("Open in review desk")
        review.clicked.connect(self._review_selected)
        grid = QWidget()
        right = QVBoxLayout(grid)
        right.addWidget(self.results)
        right.addWidget(review)
        splitter = QSplitter()
        splitter.addWidget(settings)
        splitter.addWidget(grid)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    def _choose_output(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Output folder", self.output.text())
        if folder:
            self.output.setText(folder)

    # -- running ---------------------------------------------------------------------------------------
    def request(self) -> GenerateRequest:
        """The settings as an engine request (validated: raises the engine's error with its message)."""
        request = GenerateRequest(
            template=self.template.toPlainText(),
            classes=[c.strip() for c in self.classes.text().split(",") if c.strip()],
            negative_prompt=self.negative.text(),
            width=self.width_box.value(),
            height=self.height_box.value(),
            steps=self.steps.value(),
            guidance=self.guidance.value(),
            scheduler=self.scheduler.currentText(),
            seed=None if self.seed.value() < 0 else self.seed.value(),
            count=self.count.value(),
            loras=self.loras.specs(),
            out_dir=Path(self.output.text()).expanduser(),
        )
        request.validate()
        return request

    def start(self) -> Job | None:
        if self.job is not None:
            return None
        problem = self.bridge.engine.model_problem("txt2img")
        if problem is not None:  # said before any work, not after a failed run
            self.status.setText(problem)
            return None
        try:
            request = self.request()
        except Exception as error:  # the engine's message is written for the user
            QMessageBox.warning(self, "Generate", str(error))
            return None
        self._written = []
        self.job = self.bridge.submit(
            self.bridge.engine.generate(request),
            on_done=self._finished,
            on_progress=lambda progress: show_progress(self.progress, self.status, progress),
            on_event=self._add_result,
            owner=self,
        )
        self.generate_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status.setText("Starting…")
        self.progress.setRange(0, 0)
        return self.job

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.status.setText("Cancelling after the current step…")

    def _add_result(self, image) -> None:
        """A `GeneratedImage` the job just wrote."""
        self._written.append(image.path)
        picture = QImage(str(image.path))
        icon = QIcon(QPixmap.fromImage(picture.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio)))
        item = QListWidgetItem(icon, f"{image.product_class or 'image'} · {image.seed}")
        item.setData(Qt.ItemDataRole.UserRole, str(image.path))
        item.setToolTip(f"{image.prompt}\nseed {image.seed}\n{image.path}")
        self.results.insertItem(0, item)

    def _finished(self, outcome: Outcome) -> None:
        self.job = None
        self.generate_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        show_done(self.progress)
        if isinstance(outcome, Succeeded):
            self.status.setText(f"{len(outcome.value)} image(s) in {self.output.text()}")
        elif isinstance(outcome, Cancelled):
            self.status.setText(f"Cancelled; {len(self._written)} image(s) kept.")
        elif isinstance(outcome, Failed):
            self.status.setText(f"Failed: {outcome.message}")
        self.images_generated.emit(list(self._written))

    @staticmethod
    def _path(item: QListWidgetItem) -> Path:
        return Path(item.data(Qt.ItemDataRole.UserRole))

    def _review_selected(self) -> None:
        items = self.results.selectedItems() or [self.results.item(i) for i in range(self.results.count())]
        if items:
            self.open_in_review.emit([self._path(item) for item in items])
