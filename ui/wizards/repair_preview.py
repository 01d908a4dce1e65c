"""Consistency check wizard: choose -> check -> pick repairs -> apply -> summary.

The check's page also says when sync conflicts wait for a decision, with a link to
decide them side by side (ui/dialogs/sync_conflicts_dialog.py).

The check runs on the database worker with progress and Cancel and changes nothing.
The person then ticks the repairs to make (all are ticked; per kind or one by one);
Apply re-checks each ticked item against the data as it is now, skips and lists the
ones that changed meanwhile, and applies the rest in one transaction. A failure rolls
everything back and is recorded as a failed run.
"""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableView,
    QTableWidgetItem,
    QVBoxLayout,
    QWizard,
    QWizardPage,
)

from app.domain.wording import counted, plural
from app.maintenance.consistency import KINDS, Finding, plan_consistency, record_check
from app.maintenance.repair import RepairOutcome, apply_repair, write_report
from app.runs.plan import Plan
from app.sync.engine import open_conflict_count
from ui.actions.save_file import ask_save_path
from ui.ops import Op, error_text
from ui.widgets.readonly_table import readonly_table
from ui.wizards.apply_page import ApplyPage as BaseApplyPage
from ui.wizards.apply_page import ask_to_stop

ModelIndex = QModelIndex | QPersistentModelIndex


class Step(IntEnum):
    """The wizard's pages, in order."""

    CHOOSE = 0
    CHECK = 1
    SELECT = 2
    APPLY = 3
    SUMMARY = 4


class RepairState:
    """What the pages share."""

    def __init__(self) -> None:
        self.kinds: list[str] = [kind.name for kind in KINDS]
        self.plan: Plan | None = None
        self.chosen: list[Finding] = []
        self.outcome: RepairOutcome | None = None
        self.error: str = ""

    @property
    def total(self) -> int:
        return sum(self.plan.summary.values()) if self.plan else 0


class RepairItemsModel(QAbstractTableModel):
    """The proposed repairs, each with a check box (column 0). Plain Python list: the
    plan is already capped at MAX_LISTED_ITEMS rows."""

    HEADERS = ("Kind", "Student", "Course / event", "Before → after", "Reason")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.items: list[Finding] = []
        self.checked: list[bool] = []

    def set_items(self, items: list[Finding]) -> None:
        self.beginResetModel()
        self.items = list(items)
        self.checked = [True] * len(items)
        self.endResetModel()

    def selected(self) -> list[Finding]:
        return [item for item, on in zip(self.items, self.checked, strict=True) if on]

    def set_kind_checked(self, kind: str, on: bool) -> None:
        for row, item in enumerate(self.items):
            if item.kind == kind:
                self.checked[row] = on
        if self.items:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.items) - 1, 0),
                                  [Qt.ItemDataRole.CheckStateRole])  # fmt: skip

    def kind_state(self, kind: str) -> Qt.CheckState:
        states = {
            on for item, on in zip(self.items, self.checked, strict=True) if item.kind == kind
        }
        if states == {True}:
            return Qt.CheckState.Checked
        if states == {False} or not states:
            return Qt.CheckState.Unchecked
        return Qt.CheckState.PartiallyChecked

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802  # fmt: skip
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(self.HEADERS)):  # fmt: skip
            return self.HEADERS[section]
        return None

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == 0:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.items):
            return None
        item, column = self.items[index.row()], index.column()
        if column == 0 and role == Qt.ItemDataRole.CheckStateRole:
            return Qt.CheckState.Checked if self.checked[index.row()] else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{item.label}\n{item.before_text} → {item.after_text}\n{item.reason}"
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        return (item.label, item.student, item.target, f"{item.before_text} → {item.after_text}",
                item.reason)[column]  # fmt: skip

    def setData(self, index: ModelIndex, value: Any,
                role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802  # fmt: skip
        if not index.isValid() or index.column() != 0 or role != Qt.ItemDataRole.CheckStateRole:
            return False
        self.checked[index.row()] = Qt.CheckState(value) == Qt.CheckState.Checked
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.CheckStateRole])
        return True


def _error_label() -> QLabel:
    label = QLabel("")
    label.setWordWrap(True)
    label.setStyleSheet("color: #a61b1b;")
    return label


class ChooseKindsPage(QWizardPage):
    def __init__(self, state: RepairState) -> None:
        super().__init__()
        self.state = state
        self.setTitle("Consistency check")
        self.setSubTitle("Rollbook looks for data that breaks its own rules, such as progress "
                         "without an enrollment or certificates nobody earned. The check "
                         "changes nothing; you choose what to repair afterwards.")  # fmt: skip
        self.boxes: dict[str, QCheckBox] = {}
        grid = QGridLayout()
        for n, kind in enumerate(KINDS):
            box = QCheckBox(kind.label)
            box.setChecked(True)
            box.setToolTip(f"--kind {kind.name} on the command line")
            box.toggled.connect(self.completeChanged)
            grid.addWidget(box, n // 2, n % 2)
            self.boxes[kind.name] = box
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Check for:"))
        layout.addLayout(grid)
        layout.addStretch(1)

    def isComplete(self) -> bool:  # noqa: N802
        return any(box.isChecked() for box in self.boxes.values())

    def validatePage(self) -> bool:  # noqa: N802
        self.state.kinds = [name for name, box in self.boxes.items() if box.isChecked()]
        return True


class CheckPage(QWizardPage):
    """Runs the check (on the worker) and shows what it found per kind."""

    def __init__(self, state: RepairState) -> None:
        super().__init__()
        self.state = state
        self.setTitle("What the check found")
        self.setSubTitle("Nothing has been changed. Next shows the proposed repairs.")
        self.label = QLabel("Checking…")
        self.label.setWordWrap(True)
        self.bar = QProgressBar()
        self.counts = readonly_table(["Kind", "Found", "Proposed repair"])
        self.counts.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.counts.horizontalHeader().setStretchLastSection(False)
        self.counts.setColumnWidth(1, 80)
        self.counts.setColumnWidth(2, 300)
        self.error = _error_label()
        # Sync conflicts are decided in their own dialog, side by side; the check says
        # when some wait, so one look at the data shows everything to decide.
        self.sync_conflicts = QLabel("")
        self.sync_conflicts.setObjectName("syncConflicts")
        self.sync_conflicts.setWordWrap(True)
        self.sync_conflicts.linkActivated.connect(lambda _link: self._open_sync_conflicts())
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.counts, 1)
        layout.addWidget(self.sync_conflicts)
        layout.addWidget(self.error)
        self.op: Op | None = None
        self._done = False

    def initializePage(self) -> None:  # noqa: N802
        self._done = False
        self.state.plan = None
        self.counts.setRowCount(0)
        self.error.setText("")
        self.label.setText("Checking…")
        self.bar.setRange(0, 0)
        self.bar.show()
        kinds = list(self.state.kinds)

        def work(session, ctx, job) -> Plan:
            plan = plan_consistency(session, ctx, kinds=kinds, job=job)
            record_check(session, ctx, plan)
            return plan

        self.sync_conflicts.setText("")
        self.op = Op(self, work, show_progress=False)
        self.op.on_progress(self._progress).success(self._checked).failure(self._failed).run()
        Op(self, lambda s, ctx, job: open_conflict_count(s, ctx.school_id), read_only=True,
           show_progress=False).success(self._show_sync_conflicts).run()  # fmt: skip

    def _show_sync_conflicts(self, count: int) -> None:
        if count:
            waits = "waits" if count == 1 else "wait"
            self.sync_conflicts.setText(
                f"{counted(count, 'sync conflict')} also {waits} for a decision: changes the "
                'school server could not merge. <a href="sync">Decide them side by side…</a>')  # fmt: skip

    def _open_sync_conflicts(self) -> None:
        from ui.dialogs.sync_conflicts_dialog import SyncConflictsDialog

        dialog = SyncConflictsDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.sync_dialog = dialog

    def cleanupPage(self) -> None:  # noqa: N802 - Back: stop a check still running
        if self.op is not None and not self._done:
            self.op.job.cancel()

    def _progress(self, report) -> None:
        if report.total:
            self.bar.setRange(0, report.total)
            self.bar.setValue(report.done)
        self.label.setText(report.text or "Checking…")

    def _checked(self, plan: Plan) -> None:
        self.state.plan = plan
        self._done = True
        self.bar.hide()
        total = self.state.total
        examples = {item.kind: item for item in plan.items}
        self.counts.setRowCount(len(plan.summary))
        for row, (name, count) in enumerate(plan.summary.items()):
            kind = next(k for k in KINDS if k.name == name)
            example = examples.get(name)
            repair = example.after_text if example else ""
            for column, text in enumerate((kind.label, f"{count:,}", repair)):
                cell = QTableWidgetItem(text)
                if column == 1:
                    cell.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.counts.setItem(row, column, cell)
        if total == 0:
            self.label.setText("<b>Everything is consistent.</b> There is nothing to repair.")
            self.setSubTitle("Nothing has been changed, and nothing needs to be.")
            self.setFinalPage(True)
        else:
            listed = len(plan.items)
            more = (f" The first {listed:,} are listed on the next page; run the check again "
                    "after repairing them." if plan.items_truncated else "")  # fmt: skip
            self.label.setText(f"<b>{counted(total, 'inconsistency')}</b> found.{more}")
            self.setSubTitle("Nothing has been changed. Next shows the proposed repairs.")
            self.setFinalPage(False)
        self.completeChanged.emit()

    def _failed(self, error: BaseException) -> None:
        self._done = True
        self.bar.hide()
        self.label.setText("The check did not finish.")
        self.error.setText(error_text(error))
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802
        return self._done and self.state.plan is not None

    def nextId(self) -> int:  # noqa: N802
        return -1 if self.state.plan is not None and self.state.total == 0 else super().nextId()


class SelectPage(QWizardPage):
    """The proposed repairs with check boxes; a box per kind ticks or clears them all."""

    def __init__(self, state: RepairState) -> None:
        super().__init__()
        self.state = state
        self.setTitle("Choose the repairs")
        self.setSubTitle("Untick what you want to leave as it is. Nothing is deleted: rows are "
                         "created, re-activated, set aside, withdrawn with a note or flagged.")  # fmt: skip
        self.setButtonText(QWizard.WizardButton.NextButton, "&Apply")
        self.model = RepairItemsModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        # Two lines per row, wrapped: the long columns (before → after, reason) are read
        # whole instead of cut off while the page below the list stays empty. A fixed
        # height, not sized to each row's text: the list may hold ten thousand rows.
        self.table.setWordWrap(True)
        self.table.verticalHeader().setDefaultSectionSize(
            2 * self.table.fontMetrics().lineSpacing() + 10
        )
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        for column, width in enumerate((215, 165, 115)):
            header.resizeSection(column, width)
        for column in (3, 4):  # before → after, reason: share what the window has left
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
        self.kind_boxes: dict[str, QCheckBox] = {}
        self.kind_row = QGridLayout()
        self.count = QLabel("")
        self.model.dataChanged.connect(lambda *_: self._sync())
        layout = QVBoxLayout(self)
        layout.addLayout(self.kind_row)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.count)

    def initializePage(self) -> None:  # noqa: N802
        plan = self.state.plan
        assert plan is not None
        self.model.set_items([item for item in plan.items if isinstance(item, Finding)])
        for box in self.kind_boxes.values():
            self.kind_row.removeWidget(box)
            box.deleteLater()
        self.kind_boxes = {}
        found = [kind for kind in KINDS if plan.summary.get(kind.name)]
        for n, kind in enumerate(found):
            listed = sum(1 for item in self.model.items if item.kind == kind.name)
            box = QCheckBox(f"{kind.label} ({listed:,})")
            box.setTristate(False)
            box.setChecked(True)
            box.setToolTip(f"Tick or clear every {kind.label.lower()} repair")
            box.clicked.connect(lambda on, name=kind.name: self.model.set_kind_checked(name, on))
            self.kind_row.addWidget(box, n // 2, n % 2)
            self.kind_boxes[kind.name] = box
        self._sync()

    def _sync(self) -> None:
        for name, box in self.kind_boxes.items():
            state = self.model.kind_state(name)
            box.blockSignals(True)
            box.setCheckState(state)
            box.blockSignals(False)
        chosen = len(self.model.selected())
        self.count.setText(f"{chosen:,} of {counted(len(self.model.items), 'repair')} chosen.")
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802
        return bool(self.model.selected())

    def validatePage(self) -> bool:  # noqa: N802
        self.state.chosen = self.model.selected()
        return True


class ApplyPage(BaseApplyPage):
    def __init__(self, state: RepairState) -> None:
        super().__init__(
            title="Repairing", working="Repairing…", cancel_label="&Cancel repair",
            subtitle="Every chosen repair is checked again and applied together; Cancel "
            "leaves Rollbook exactly as it was.",
        )  # fmt: skip
        self.state = state

    def initializePage(self) -> None:  # noqa: N802
        self.state.outcome = None
        self.state.error = ""
        super().initializePage()

    def work(self):
        chosen = list(self.state.chosen)
        # A failure or Cancel is recorded with the run, then raised for this page to show.
        return lambda s, ctx, job: apply_repair(s, ctx, chosen, job=job).value_or_raise()

    def keep(self, result: RepairOutcome) -> None:
        self.state.outcome = result

    def keep_error(self, text: str) -> None:
        self.state.error = text

    def has_result(self) -> bool:
        return self.state.outcome is not None


class SummaryPage(QWizardPage):
    def __init__(self, state: RepairState) -> None:
        super().__init__()
        self.state = state
        self.setTitle("Repair finished")
        self.setSubTitle("Every change is in the audit log with this run.")
        self.text = QLabel("")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.skipped = readonly_table(["Kind", "Student", "Course / event", "Why it was skipped"])
        self.skipped.horizontalHeader().setStretchLastSection(True)
        for column, width in enumerate((230, 200, 160)):
            self.skipped.setColumnWidth(column, width)
        self.save_button = QPushButton("&Save report as CSV…")
        self.save_button.clicked.connect(lambda: self.save_report())
        self.again_button = QPushButton("Check &again")
        self.again_button.clicked.connect(self.check_again)
        self.again = QLabel("")
        self.again.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.again_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(self.skipped, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.again)

    def initializePage(self) -> None:  # noqa: N802
        outcome = self.state.outcome
        assert outcome is not None
        lines = "".join(
            f"<li>{kind.label}: {outcome.applied_counts[kind.name]:,}</li>"
            for kind in KINDS
            if outcome.applied_counts.get(kind.name)
        )
        skipped = len(outcome.skipped)
        self.text.setText(
            f"<p><b>{counted(outcome.applied_total, 'repair')} applied</b> (run {outcome.run_id}).</p>"
            + (f"<ul>{lines}</ul>" if lines else "")
            + (f"<p><b>{skipped:,} skipped</b> because the data changed since the preview:</p>"
               if skipped else "<p>Nothing was skipped.</p>")
        )  # fmt: skip
        self.skipped.setVisible(bool(skipped))
        self.skipped.setRowCount(skipped)
        for row, item in enumerate(outcome.skipped):
            f = item.finding
            for column, text in enumerate((f.label, f.student, f.target, item.why)):
                self.skipped.setItem(row, column, QTableWidgetItem(text))
        self.again.setText("")

    def save_report(self, *, path: str | None = None) -> None:
        outcome = self.state.outcome
        assert outcome is not None
        if path is None:
            path = ask_save_path(self, "Save repair report", f"repair-{str(outcome.run_id)[:8]}.csv",
                                folder_key="folders/reports")  # fmt: skip
            if path is None:
                return
        try:
            count = write_report(Path(path), outcome)
        except OSError as exc:
            QMessageBox.warning(self, "Rollbook", f"The report could not be saved: {exc.strerror} "
                                f"({path}). Choose another folder.")  # fmt: skip
            return
        self.again.setText(f"Saved {counted(count, 'row')} to {Path(path).name}.")

    def check_again(self) -> None:
        kinds = list(self.state.kinds)
        self.again.setText("Checking again…")
        Op(self, lambda s, ctx, job: plan_consistency(s, ctx, kinds=kinds, job=job),
           title="Checking again…").success(self._checked_again).run()  # fmt: skip

    def _checked_again(self, plan: Plan) -> None:
        total = sum(plan.summary.values())
        self.again.setText("<b>Consistent:</b> the check finds nothing left to repair."
                           if total == 0 else
                           f"<b>{counted(total, 'inconsistency')}</b> {plural(total, 'remains', 'remain')}; "
                           f"open the check again to repair {plural(total, 'it')}.")  # fmt: skip


class RepairWizard(QWizard):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Consistency check")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage)
        self.resize(1100, 680)
        self.state = RepairState()
        self.choose_page = ChooseKindsPage(self.state)
        self.check_page = CheckPage(self.state)
        self.select_page = SelectPage(self.state)
        self.apply_page = ApplyPage(self.state)
        self.summary_page = SummaryPage(self.state)
        for step, page in ((Step.CHOOSE, self.choose_page), (Step.CHECK, self.check_page),
                           (Step.SELECT, self.select_page), (Step.APPLY, self.apply_page),
                           (Step.SUMMARY, self.summary_page)):  # fmt: skip
            self.setPage(step, page)

    def reject(self) -> None:
        if ask_to_stop(self, self.apply_page, "Cancel repair",
                       "Stop the repair? Nothing will be changed."):  # fmt: skip
            super().reject()
