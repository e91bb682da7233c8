"""The Filter panel: which images the browser shows (verdict, class, flag, with counts), the product
classes of the shoot, running the filter in the engine thread, and threshold sliders that re-decide the
shoot from stored scores while they move (no model runs)."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSlider,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.api import (
    ERROR,
    PICK,
    PRODUCT,
    REJECT,
    SKIPPED,
    UNCERTAIN,
    ClassSet,
    Job,
    ProductClass,
    StoredScores,
    load_shoot_classes,
    save_shoot_classes,
    save_verdicts,
)
from engine.project.document import ShootDocument
from gui.background import BackgroundTasks
from gui.bridge import EngineBridge
from gui.browse.filter_run import FilterRunning
from gui.browse.thumbnail_browser import ThumbnailBrowser
from gui.theme import mark

SHOWN = ((PRODUCT, "Product"), (UNCERTAIN, "Uncertain"), (SKIPPED, "Skipped"), (ERROR, "Error"))
NAME, THRESHOLD, MARGIN, PROMPTS = range(4)  # the class table's columns
MARGIN_TIP = "How far the class must beat the best 'other' prompt: P(class) − P(other) ≥ margin"
FLAG_CHOICES = (("Any flag", "any"), ("Picked", PICK), ("Rejected", REJECT), ("Unflagged", None))


class FilterPanel(FilterRunning, QWidget):
    def __init__(
        self,
        document: ShootDocument,
        browser: ThumbnailBrowser,
        bridge: EngineBridge,
        tasks: BackgroundTasks,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.document, self.browser, self.bridge, self.tasks = document, browser, bridge, tasks
        self.class_set: ClassSet | None = None
        self.scores = StoredScores(None)
        self._job: Job | None = None
        self.filter_settings = None  # engine/filter/run.FilterSettings; None: the filter's defaults
        layout = QVBoxLayout(self)

        show = QGroupBox("Show")
        grid = QGridLayout(show)
        self.verdict_boxes: dict[str | None, QCheckBox] = {}
        for i, (verdict, label) in enumerate((*SHOWN, (None, "Not filtered"))):
            box = QCheckBox(label)
            box.setChecked(True)
            box.toggled.connect(self._apply_criteria)
            grid.addWidget(box, i // 2, i % 2)
            self.verdict_boxes[verdict] = box
        self.class_combo = QComboBox()
        self.class_combo.currentIndexChanged.connect(self._apply_criteria)
        self.flag_combo = QComboBox()
        for label, value in FLAG_CHOICES:
            self.flag_combo.addItem(label, value)
        self.flag_combo.currentIndexChanged.connect(self._apply_criteria)
        grid.addWidget(self.class_combo, 3, 0)
        grid.addWidget(self.flag_combo, 3, 1)
        layout.addWidget(show)

        classes = QGroupBox("Product classes")
        class_layout = QVBoxLayout(classes)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Class", "Threshold", "Margin", "Prompts (; between)"])
        self.table.horizontalHeader().setSectionResizeMode(PROMPTS, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeaderItem(MARGIN).setToolTip(MARGIN_TIP)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.itemChanged.connect(self._table_edited)
        self.table.itemSelectionChanged.connect(self._class_selected)
        class_layout.addWidget(self.table)
        row = QHBoxLayout()
        add = QPushButton("Add")
        add.clicked.connect(self._add_class)
        remove = QPushButton("Remove")
        remove.clicked.connect(self._remove_class)
        row.addWidget(add)
        row.addWidget(remove)
        class_layout.addLayout(row)
        form = QFormLayout()
        self.threshold_slider = QSlider(Qt.Orientation.Horizontal)
        self.threshold_slider.setRange(0, 100)
        self.threshold_slider.valueChanged.connect(self._threshold_moved)
        self.threshold_slider.sliderReleased.connect(self._save_decisions)
        self.threshold_label = QLabel("")
        form.addRow(self.threshold_label, self.threshold_slider)
        # The margin decides as much as the threshold: at threshold 0 only the margin separates a class
        # from the "other" prompts, so it is shown and editable too.
        self.margin_slider = QSlider(Qt.Orientation.Horizontal)
        self.margin_slider.setRange(-100, 100)
        self.margin_slider.setToolTip(MARGIN_TIP)
        self.margin_slider.valueChanged.connect(self._margin_moved)
        self.margin_slider.sliderReleased.connect(self._save_decisions)
        self.margin_label = QLabel("")
        form.addRow(self.margin_label, self.margin_slider)
        class_layout.addLayout(form)
        self.counts_label = QLabel("")
        self.counts_label.setWordWrap(True)
        class_layout.addWidget(self.counts_label)
        layout.addWidget(classes)

        layout.addWidget(self._build_run_box())
        self.problem_label = QLabel("")
        self.problem_label.setWordWrap(True)
        mark(self.problem_label, "warning")  # the theme's AA-contrast warning colour
        layout.addWidget(self.problem_label)
        layout.addStretch(1)

        self._refresh_timer = QTimer(self, interval=700)  # verdicts fill in while the filter runs
        self._refresh_timer.timeout.connect(self._refresh_entries)
        document.folder_opened.connect(self._folder_opened)
        document.entries_updated.connect(lambda rows: self._show_counts())

    # -- the browser's criteria --------------------------------------------------------------
    def _apply_criteria(self) -> None:
        wanted = {v for v, box in self.verdict_boxes.items() if box.isChecked()}
        verdicts = None if len(wanted) == len(self.verdict_boxes) else wanted
        class_name = self.class_combo.currentData() or ""
        self.browser.proxy.set_criteria(verdicts, class_name, self.flag_combo.currentData())

    def _show_counts(self, counts: dict | None = None) -> None:
        if counts is None:
            counts = {}
            for image in self.document.images:
                counts[image.verdict] = counts.get(image.verdict, 0) + 1
        for verdict, box in self.verdict_boxes.items():
            label = dict((*SHOWN, (None, "Not filtered")))[verdict]
            box.setText(f"{label} ({counts.get(verdict, 0)})")

    # -- classes -----------------------------------------------------------------------------
    def _folder_opened(self, folder) -> None:
        store = self.document.store
        self.tasks.run(
            "filter-panel-load",
            lambda: (load_shoot_classes(store.root), StoredScores.load(store)),
            self._loaded,
        )

    def _loaded(self, value) -> None:
        self.class_set, self.scores = value
        self._fill_table()
        self._show_counts()
        self._reconcile()

    def _reconcile(self) -> None:
        """The verdicts shown must follow this table. Stored verdicts from a run with other classes (a
        command-line run with another classes file) are re-decided from their scores when every class
        here was scored, and otherwise said to be from that run."""
        if self.class_set is None or not self.scores.run_key:
            return
        scored = self.scores.scored_classes()
        unscored = [name for name in self.class_set.names if name not in scored]
        if not scored:
            return  # no regions stored: nothing to re-decide
        if unscored:
            self.counts_label.setText(
                f"The verdicts shown come from a filter run with the classes {', '.join(sorted(scored))}; "
                f"{', '.join(unscored)} was not scored. Run the filter to decide with this table."
            )
        else:
            self.redecide(save=False)

    def _fill_table(self) -> None:
        assert self.class_set is not None
        with QSignalBlocker(self.table):
            self.table.setRowCount(len(self.class_set.classes))
            for row, product_class in enumerate(self.class_set.classes):
                self.table.setItem(row, NAME, QTableWidgetItem(product_class.name))
                self.table.setItem(row, THRESHOLD, QTableWidgetItem(f"{product_class.threshold:.2f}"))
                self.table.setItem(row, MARGIN, QTableWidgetItem(f"{product_class.margin:+.2f}"))
                self.table.setItem(row, PROMPTS, QTableWidgetItem("; ".join(product_class.prompts)))
        with QSignalBlocker(self.class_combo):
            current = self.class_combo.currentData()
            self.class_combo.clear()
            self.class_combo.addItem("Any class", "")
            for name in self.class_set.names:
                self.class_combo.addItem(name, name)
            index = self.class_combo.findData(current)
            self.class_combo.setCurrentIndex(max(0, index))
        if self.table.currentRow() < 0 and self.class_set.classes:
            self.table.selectRow(0)
        self._class_selected()

    def _table_edited(self, item: QTableWidgetItem) -> None:
        """Rename, re-prompt or re-threshold a class from its row."""
        assert self.class_set is not None
        classes = list(self.class_set.classes)
        row = item.row()
        old = classes[row]
        name = " ".join(self.table.item(row, NAME).text().split()) or old.name
        prompts = tuple(p.strip() for p in self.table.item(row, PROMPTS).text().split(";") if p.strip())
        threshold = _number(self.table.item(row, THRESHOLD).text(), old.threshold, 0.0, 1.0)
        margin = _number(self.table.item(row, MARGIN).text(), old.margin, -1.0, 1.0)
        templated = tuple(t.format(old.name) for t in self.class_set.templates)
        if not prompts or (name != old.name and prompts == templated):
            # A renamed class whose prompts came from the templates gets them for its new name.
            prompts = tuple(t.format(name) for t in self.class_set.templates)
        classes[row] = ProductClass(name, prompts, threshold, margin)
        self._set_classes(
            ClassSet(
                tuple(classes), self.class_set.other, self.class_set.uncertain_band, self.class_set.templates
            )
        )
        if (threshold, margin) != (old.threshold, old.margin):
            self.redecide(save=True)

    def _add_class(self) -> None:
        if self.class_set is None:
            return
        name = "new class"
        n = 2
        while name in self.class_set.names:
            name, n = f"new class {n}", n + 1
        self._set_classes(self.class_set.select([*self.class_set.names, name]))
        self.table.selectRow(len(self.class_set.classes) - 1)

    def _remove_class(self) -> None:
        row = self.table.currentRow()
        if self.class_set is None or row < 0 or len(self.class_set.classes) <= 1:
            return
        names = [n for i, n in enumerate(self.class_set.names) if i != row]
        self._set_classes(self.class_set.select(names))

    def _set_classes(self, class_set: ClassSet) -> None:
        store = self.document.store
        prompts_changed = self.class_set is None or class_set.prompts_key() != self.class_set.prompts_key()
        self.class_set = class_set
        self._fill_table()
        if store is not None:  # latest wins: an older save never lands after a newer one
            self.tasks.run("save-classes", lambda: save_shoot_classes(store.root, class_set))
        if prompts_changed and self.scores.run_key:
            self.counts_label.setText("Classes or prompts changed: run the filter again to score them.")

    def _class_selected(self) -> None:
        row = self.table.currentRow()
        if self.class_set is None or not 0 <= row < len(self.class_set.classes):
            return
        product_class = self.class_set.classes[row]
        self.threshold_label.setText(f"{product_class.name}: {product_class.threshold:.2f}")
        self.margin_label.setText(f"margin {product_class.margin:+.2f}")
        with QSignalBlocker(self.threshold_slider):
            self.threshold_slider.setValue(round(product_class.threshold * 100))
        with QSignalBlocker(self.margin_slider):
            self.margin_slider.setValue(round(product_class.margin * 100))

    # -- thresholds: re-decide from stored scores --------------------------------------------
    def _threshold_moved(self, value: int) -> None:
        row = self.table.currentRow()
        if self.class_set is None or not 0 <= row < len(self.class_set.classes):
            return
        name = self.class_set.classes[row].name
        self.class_set = self.class_set.with_threshold(name, value / 100.0)
        self.threshold_label.setText(f"{name}: {value / 100:.2f}")
        with QSignalBlocker(self.table):
            self.table.item(row, THRESHOLD).setText(f"{value / 100:.2f}")
        self.redecide(save=not self.threshold_slider.isSliderDown())

    def _margin_moved(self, value: int) -> None:
        row = self.table.currentRow()
        if self.class_set is None or not 0 <= row < len(self.class_set.classes):
            return
        name = self.class_set.classes[row].name
        self.class_set = self.class_set.with_threshold(name, margin=value / 100.0)
        self.margin_label.setText(f"margin {value / 100:+.2f}")
        with QSignalBlocker(self.table):
            self.table.item(row, MARGIN).setText(f"{value / 100:+.2f}")
        self.redecide(save=not self.margin_slider.isSliderDown())

    def redecide(self, save: bool = False) -> None:
        """Verdicts for the current thresholds from the stored scores, computed off the UI thread (latest
        wins); with `save`, also recorded in the store with the classes."""
        class_set, scores, store = self.class_set, self.scores, self.document.store
        if class_set is None or store is None:
            return
        if save:  # the same key as class edits, so the newest classes always land last; saved even
            # when there are no stored scores to re-decide (nothing filtered yet, or no regions)
            self.tasks.run("save-classes", lambda: save_shoot_classes(store.root, class_set))
        if not scores.run_key:
            return
        if set(class_set.names) - scores.scored_classes():
            return  # a class the stored run never scored: the filter must run again

        def decide() -> dict:
            verdicts = scores.decide_all(class_set)
            if save:  # the slider was released: what the badges show is what the store records
                save_verdicts(store, scores.run_key, verdicts)
            return verdicts

        # Latest wins: while the slider moves only the newest position is decided; the release comes last.
        self.tasks.run("decide", decide, self._decided)

    def _decided(self, verdicts: dict) -> None:
        self.document.apply_verdicts(verdicts)
        counts = StoredScores.count(verdicts)
        counts[None] = len(self.document.images) - len(verdicts)
        self._show_counts(counts)

    def _save_decisions(self) -> None:
        self.redecide(save=True)

    def _scores_loaded(self, scores: StoredScores) -> None:
        self.scores = scores
        self.counts_label.setText("")
        self._show_counts()
        self._reconcile()


def _number(text: str, fallback: float, low: float, high: float) -> float:
    """A typed number clamped to [low, high]; the old value when it is not a number."""
    try:
        return min(high, max(low, float(text)))
    except ValueError:
        return fallback
