"""Running the filter from the Filter panel (gui/browse/filter_panel.py): the proposals choice (remembered
in the desk's settings), the run buttons, the job through the engine bridge, verdicts filling in while
it runs, and what it could not process.

`FilterPanel` inherits `FilterRunning`; the mixin uses the panel's document, browser, bridge, tasks,
classes, filter settings, problem label and `_scores_loaded`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QGroupBox, QHBoxLayout, QPushButton

from engine.api import ERROR, Failed, FilterRequest, Job, Outcome, StoredScores, Succeeded
from gui.settings import user_settings

PROPOSAL_MODES = (
    ("Exact", "exact", "SAM's masks over the whole point grid (the reference; slowest)"),
    ("Coarse to fine", "coarse", "A coarse grid first, the full grid only around likely products (~2x)"),
    ("By name", "grounded", "The detector finds the classes by name, SAM masks each box (fastest)"),
)
MODE_KEY = "filter/proposals"  # the last proposals choice, in the desk's settings


class FilterRunning:
    """The Filter panel's "Run the filter" box and its job (a mixin of `FilterPanel`)."""

    def _build_run_box(self) -> QGroupBox:
        """The proposals choice and the run buttons."""
        run = QGroupBox("Run the filter")
        run_layout = QHBoxLayout(run)
        self.mode_combo = QComboBox()  # the proposals: `filter --proposals` on the command line
        for label, mode, tip in PROPOSAL_MODES:
            self.mode_combo.addItem(label, mode)
            self.mode_combo.setItemData(self.mode_combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.mode_combo.setCurrentIndex(max(0, self.mode_combo.findData(user_settings().value(MODE_KEY))))
        self.mode_combo.currentIndexChanged.connect(
            lambda: user_settings().setValue(MODE_KEY, self.mode_combo.currentData())
        )
        run_layout.addWidget(self.mode_combo)
        self.run_folder = QPushButton("Whole folder")
        self.run_folder.clicked.connect(lambda: self.run(selection=False))
        self.run_selection = QPushButton("Selection")
        self.run_selection.clicked.connect(lambda: self.run(selection=True))
        run_layout.addWidget(self.run_folder)
        run_layout.addWidget(self.run_selection)
        return run

    def set_problem(self, message: str | None) -> None:
        """Disable running the filter with the reason (a missing model role and how to fix it)."""
        for button in (self.run_folder, self.run_selection):
            button.setEnabled(message is None)
            button.setToolTip(message or "")
        self.problem_label.setText(message or "")
        self.problem_label.setVisible(bool(message))

    def run(self, selection: bool = False) -> Job | None:
        folder = self.document.folder
        if folder is None or self.class_set is None:
            return None
        rows = self.browser.selected_rows() if selection else range(len(self.document.images))
        paths = [self.document.images[r].path for r in rows]
        if not paths:
            return None
        mode = self.mode_combo.currentData()
        request = FilterRequest(folder, paths, self.class_set, self.filter_settings, proposals_mode=mode)
        self._job = self.bridge.submit(self.bridge.engine.filter(request), on_done=self._finished, owner=self)
        self._refresh_timer.start()
        return self._job

    def _refresh_entries(self) -> None:
        store = self.document.store
        if store is not None:
            self.tasks.run(
                "refresh-entries",
                lambda: {entry.path: entry for entry in store.images()},
                self.document.apply_index,
            )

    def _finished(self, outcome: Outcome) -> None:
        self._job = None
        self._refresh_timer.stop()
        self._refresh_entries()
        store = self.document.store
        if isinstance(outcome, Succeeded) and store is not None:
            run = outcome.value
            self.tasks.run(
                "filter-panel-scores", lambda: StoredScores.load(store, run.run_key), self._scores_loaded
            )
            if run.failed:
                self._show_failures(run.failed)
        elif isinstance(outcome, Failed):
            self.problem_label.setText(f"The filter stopped: {outcome.message}")
            self.problem_label.setVisible(True)

    def _show_failures(self, failed: dict) -> None:
        """Images the filter could not process get the error badge and the reason in their tooltip."""
        rows = []
        for row, image in enumerate(self.document.images):
            if image.path in failed:
                image.verdict, image.reason, image.classes = ERROR, failed[image.path], {}
                rows.append(row)
        self.document.entries_updated.emit(rows)
        first = next(iter(failed.values()))
        self.problem_label.setText(f"The filter failed on {len(failed)} image(s), e.g. {first}")
        self.problem_label.setVisible(True)
