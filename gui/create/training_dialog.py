"""The LoRA training dialog: the `train-lora` options, a folder check, a live loss plot, sample images.

The engine does the work in one job; its step / checkpoint / sample events arrive here on the UI thread
through the bridge. The loss plot is drawn with QPainter (QtCharts is not part of PySide6-Essentials).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.api import (
    LR_SCHEDULERS,
    PRECISIONS,
    SAMPLE_TEMPLATE,
    SD15_BUCKET_STEP,
    Cancelled,
    CaptionRequest,
    CheckpointEvent,
    Failed,
    Job,
    Outcome,
    SampleEvent,
    SampleSettings,
    StepEvent,
    Succeeded,
    TrainingConfig,
    TrainingInputError,
    scan_folder,
)
from gui.bridge import EngineBridge
from gui.widgets.forms import float_spin, int_spin, show_done, show_progress, widget_row


class LossPlot(QWidget):
    """Loss per step (faint) and its moving average (bold), rescaled as points arrive."""

    WINDOW = 20

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.losses: list[float] = []
        self.total_steps = 0
        self.setMinimumSize(360, 180)

    def clear(self, total_steps: int = 0) -> None:
        self.losses, self.total_steps = [], total_steps
        self.update()

    def add(self, loss: float, total_steps: int) -> None:
        self.losses.append(loss)
        self.total_steps = total_steps
        self.update()

    def smoothed(self) -> list[float]:
        out, running = [], 0.0
        for i, value in enumerate(self.losses):
            running += value - (self.losses[i - self.WINDOW] if i >= self.WINDOW else 0.0)
            out.append(running / min(i + 1, self.WINDOW))
        return out

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), self.palette().base())
        area = self.rect().adjusted(48, 10, -10, -24)
        painter.setPen(self.palette().mid().color())
        painter.drawRect(area)
        painter.setPen(self.palette().text().color())
        if not self.losses:
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, "the loss appears here once training runs")
            return
        low, high = min(self.losses), max(self.losses)
        high = high if high > low else low + 1e-6
        steps = max(self.total_steps, len(self.losses), 2)

        def point(i: int, value: float) -> QPointF:
            x = area.left() + area.width() * i / (steps - 1)
            return QPointF(x, area.bottom() - area.height() * (value - low) / (high - low))

        painter.drawText(2, area.top() + 10, f"{high:.3f}")
        painter.drawText(2, area.bottom(), f"{low:.3f}")
        painter.drawText(area.left(), self.height() - 6, f"step {len(self.losses)} / {steps}")
        for values, pen in (
            (self.losses, QPen(QColor(70, 130, 200, 90), 1)),
            (self.smoothed(), QPen(QColor(40, 90, 170), 2)),
        ):
            path = QPainterPath(point(0, values[0]))
            for i, value in enumerate(values[1:], 1):
                path.lineTo(point(i, value))
            painter.setPen(pen)
            painter.drawPath(path)


class TrainingDialog(QDialog):
    """Train a product LoRA. Signal `training_finished(object)`: the engine's TrainingResult."""

    training_finished = Signal(object)

    def __init__(self, bridge: EngineBridge, folder: Path | None = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Train a product LoRA")
        self.bridge = bridge
        self.job: Job | None = None
        self._build()
        if folder is not None:
            self.folder.setText(str(folder))
            self.out.setText(str(folder.parent / f"{folder.name}-lora.safetensors"))
        self.check_folder()

    # -- building --------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.folder, self.out, self.resume = QLineEdit(), QLineEdit(), QLineEdit()
        self.folder.editingFinished.connect(self.check_folder)
        self.tag = QLineEdit("ppzocketv2")
        self.tag.editingFinished.connect(self.check_folder)
        self.rank, self.alpha = int_spin(1, 1024, 16), float_spin(0, 1024, 16, 1)
        self.lr, self.te_lr = float_spin(1e-7, 1, 1e-4, 1e-5, 6), float_spin(1e-7, 1, 5e-5, 1e-5, 6)
        self.train_te = QCheckBox("also train the text encoder")
        self.repeats, self.epochs, self.batch = (
            int_spin(1, 1000, 6),
            int_spin(1, 1000, 10),
            int_spin(1, 64, 2),
        )
        self.resolution = int_spin(64, 2048, 512, 64)
        self.resolution.valueChanged.connect(self.check_folder)
        self.precision, self.scheduler = QComboBox(), QComboBox()
        self.precision.addItems(PRECISIONS)
        self.scheduler.addItems(LR_SCHEDULERS)
        self.warmup, self.seed, self.save_every = (
            int_spin(0, 100000, 0),
            int_spin(0, 2**31 - 1, 42),
            int_spin(1, 1000, 1),
        )
        self.checkpointing = QCheckBox("gradient checkpointing (less memory, slower)")
        self.sample_every, self.sample_count = int_spin(0, 1000, 1), int_spin(1, 16, 1)
        self.sample_every.setSpecialValueText("never")
        self.sample_steps = int_spin(1, 200, 20)
        self.sample_template, self.sample_class = QLineEdit(SAMPLE_TEMPLATE), QLineEdit("product")

        form = QFormLayout()
        form.addRow("Photos folder", widget_row(self.folder, self._browse(self.folder, "dir")))
        form.addRow("Activation tag", self.tag)
        form.addRow("Save LoRA as", widget_row(self.out, self._browse(self.out, "save")))
        form.addRow("Rank / alpha", widget_row(self.rank, self.alpha))
        form.addRow("Learning rate (UNet / text)", widget_row(self.lr, self.te_lr))
        form.addRow("", self.train_te)
        form.addRow("Repeats / epochs / batch", widget_row(self.repeats, self.epochs, self.batch))
        form.addRow("Resolution", self.resolution)
        form.addRow("LR schedule / warm-up", widget_row(self.scheduler, self.warmup))
        form.addRow("Mixed precision (GPU)", self.precision)
        form.addRow("", self.checkpointing)
        form.addRow("Seed / checkpoint every", widget_row(self.seed, self.save_every))
        form.addRow("Resume from", widget_row(self.resume, self._browse(self.resume, "state")))
        samples = QGroupBox("Samples")
        sample_form = QFormLayout(samples)
        sample_form.addRow("Every N epochs / count", widget_row(self.sample_every, self.sample_count))
        sample_form.addRow("Template", self.sample_template)
        sample_form.addRow("Class / steps", widget_row(self.sample_class, self.sample_steps))

        self.folder_status = QLabel("")
        self.folder_status.setWordWrap(True)
        self.caption_button = QPushButton("Caption with BLIP")
        self.caption_button.clicked.connect(self.caption_folder)
        self.start_button, self.cancel_button = QPushButton("Start training"), QPushButton("Cancel")
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        self.progress, self.status = QProgressBar(), QLabel("")
        self.status.setWordWrap(True)
        self.plot = LossPlot()
        self.samples = QListWidget()
        self.samples.setViewMode(QListView.ViewMode.IconMode)
        self.samples.setIconSize(QSize(128, 128))
        self.samples.setMaximumHeight(170)

        left = QVBoxLayout()
        left.addLayout(form)
        left.addWidget(samples)
        left.addWidget(self.folder_status)
        right = QVBoxLayout()
        right.addWidget(QLabel("Loss"))
        right.addWidget(self.plot, 1)
        right.addWidget(QLabel("Samples"))
        right.addWidget(self.samples)
        right.addWidget(self.progress)
        right.addWidget(self.status)
        right.addWidget(widget_row(self.caption_button, self.start_button, self.cancel_button))
        layout = QHBoxLayout(self)
        layout.addLayout(left)
        layout.addLayout(right, 1)

    def _browse(self, target: QLineEdit, kind: str) -> QPushButton:
        button = QPushButton("…")

        def choose() -> None:
            if kind == "dir":
                name = QFileDialog.getExistingDirectory(self, "Photos folder", target.text())
            elif kind == "save":
                name, _ = QFileDialog.getSaveFileName(
                    self, "Save LoRA as", target.text(), "LoRA (*.safetensors)"
                )
            else:
                name, _ = QFileDialog.getOpenFileName(
                    self, "Resume from", target.text(), "State (*.resume.pt)"
                )
            if name:
                target.setText(name)
                self.check_folder()

        button.clicked.connect(choose)
        return button

    # -- the folder ------------------------------------------------------------------------------------
    def check_folder(self) -> bool:
        """Say what training would use (every image decoded, so unreadable ones are counted as skipped);
        False when it cannot start."""
        text = self.folder.text().strip()
        if not text:
            self.folder_status.setText("Choose the folder of product photos.")
            self.start_button.setEnabled(False)
            return False
        try:
            tag, resolution = self.tag.text().strip() or "tag", self.resolution.value()
            found = scan_folder(Path(text).expanduser(), tag, resolution, SD15_BUCKET_STEP)
        except TrainingInputError as error:
            self.folder_status.setText(str(error))
            self.start_button.setEnabled(False)
            return False
        captioned = sum(1 for image in found.images if image.caption != self.tag.text().strip())
        lines = [
            f"{len(found.images)} image(s), {captioned} with a caption, in {len(found.buckets)} bucket(s)."
        ]
        lines += found.warnings[:5] + (
            [f"… and {len(found.warnings) - 5} more"] if len(found.warnings) > 5 else []
        )
        self.folder_status.setText("\n".join(lines))
        self.start_button.setEnabled(self.job is None)
        return True

    def config(self) -> TrainingConfig:
        config = TrainingConfig(
            folder=Path(self.folder.text().strip()).expanduser(),
            tag=self.tag.text().strip(),
            out=Path(self.out.text().strip()).expanduser(),
            rank=self.rank.value(),
            alpha=self.alpha.value(),
            learning_rate=self.lr.value(),
            text_encoder_lr=self.te_lr.value(),
            train_text_encoder=self.train_te.isChecked(),
            repeats=self.repeats.value(),
            epochs=self.epochs.value(),
            batch_size=self.batch.value(),
            resolution=self.resolution.value(),
            mixed_precision=self.precision.currentText(),
            gradient_checkpointing=self.checkpointing.isChecked(),
            lr_scheduler=self.scheduler.currentText(),
            lr_warmup_steps=self.warmup.value(),
            seed=self.seed.value(),
            save_every_epochs=self.save_every.value(),
            resume=Path(self.resume.text().strip()).expanduser() if self.resume.text().strip() else None,
            sample=SampleSettings(
                every_epochs=self.sample_every.value(),
                template=self.sample_template.text(),
                product_class=self.sample_class.text(),
                count=self.sample_count.value(),
                steps=self.sample_steps.value(),
            ),
        )
        config.validate()
        return config

    # -- running ---------------------------------------------------------------------------------------
    def _submit(self, job: Job, message: str) -> Job:
        self.job = job
        for button in (self.start_button, self.caption_button):
            button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)
        self.status.setText(message)
        return self.bridge.submit(
            job,
            on_done=self._finished,
            on_progress=lambda progress: show_progress(self.progress, self.status, progress),
            on_event=self._on_event,
            owner=self,
        )

    def start(self) -> Job | None:
        if self.job is not None or not self.check_folder():
            return None
        try:
            config = self.config()
        except Exception as error:  # the engine's message is written for the user
            self.status.setText(str(error))
            return None
        self.plot.clear()
        self.samples.clear()
        return self._submit(self.bridge.engine.train(config), "Loading SD 1.5…")

    def caption_folder(self) -> Job | None:
        if self.job is not None or not self.check_folder():
            return None
        folder = Path(self.folder.text().strip()).expanduser()
        request = CaptionRequest(folder, self.tag.text().strip() or None)
        return self._submit(self.bridge.engine.caption(request), "Captioning…")

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.status.setText("Stopping after the current step (checkpoints are kept)…")

    def _on_event(self, event: object) -> None:
        if isinstance(event, StepEvent):
            self.plot.add(event.loss, event.total)
        elif isinstance(event, SampleEvent):
            for path in event.paths:
                pixmap = QPixmap(str(path)).scaled(128, 128, Qt.AspectRatioMode.KeepAspectRatio)
                item = QListWidgetItem(QIcon(pixmap), f"epoch {event.epoch}")
                item.setToolTip(str(path))
                self.samples.addItem(item)
        elif isinstance(event, CheckpointEvent):
            self.status.setText(f"Epoch {event.epoch} saved: {event.path.name}")

    def _finished(self, outcome: Outcome) -> None:
        self.job = None
        self.cancel_button.setEnabled(False)
        self.caption_button.setEnabled(True)
        if isinstance(outcome, Succeeded):
            show_done(self.progress)
        else:  # a failed or stopped run is not shown as complete
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
        if isinstance(outcome, Succeeded) and hasattr(outcome.value, "lora"):
            result = outcome.value
            self.status.setText(f"Saved {result.lora} ({result.steps} steps, {result.seconds:.0f} s).")
            self.training_finished.emit(result)
        elif isinstance(outcome, Succeeded):
            self.status.setText(outcome.value.summary())
        elif isinstance(outcome, Cancelled):
            self.status.setText(
                "Stopped. Epoch checkpoints are kept; choose the .resume.pt file to continue."
            )
        elif isinstance(outcome, Failed):
            self.status.setText(f"Failed: {outcome.message}")
        self.check_folder()

    def reject(self) -> None:
        """Closing the dialog stops a running job cleanly (its checkpoints stay)."""
        self.cancel()
        super().reject()
