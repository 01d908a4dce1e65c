"""The run history: past imports and maintenance runs, newest first, each opening its
report (parameters, summary, the students behind each number, every change it made)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.enums import RunKind
from app.runs.history import (
    RunReport,
    RunRow,
    flat_text,
    list_runs,
    run_report,
    write_report_csv,
)
from ui.actions.save_file import ask_save_path
from ui.ops import Op
from ui.widgets.readonly_table import readonly_table

KIND_LABELS = {"import": "Import", "audit": "Audit", "backfill": "Backfill",
               "consistency": "Consistency check", "repair": "Repair", "sync": "Sync",
               "requests": "Request decisions"}  # fmt: skip
_SUMMARY_ORDER = {key: n for n, key in enumerate((
    "rows", "memberships", "pairs", "covered", "inactive", "missing", "coverage_percent",
    "verdict", "created", "updated", "unchanged", "groups_created", "members_created",
    "members_updated", "members_unchanged", "enrollments_created", "enrollments_reactivated",
    "courses_created", "merged_duplicates", "rejected", "error"))}  # fmt: skip


def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
    table.setRowCount(len(rows))
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            table.setItem(r, c, QTableWidgetItem(value))


class RunHistoryView(QWidget):
    """A table of runs with Open report…; ``refresh()`` reloads it."""

    def __init__(self, kinds: tuple[RunKind, ...] = (), parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kinds = kinds
        self.runs: list[RunRow] = []
        self.table = readonly_table(["Started", "Run", "Mode", "Status", "By", "Result"])
        header = self.table.horizontalHeader()
        for column in range(5):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.doubleClicked.connect(lambda _index: self.open_selected())
        self.open_button = QPushButton("&Open report…")
        self.open_button.clicked.connect(self.open_selected)
        self.open_button.setEnabled(False)
        self.table.itemSelectionChanged.connect(
            lambda: self.open_button.setEnabled(bool(self.table.selectedItems()))
        )
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

    def refresh(self) -> None:
        kinds = self.kinds
        Op(self, lambda s, ctx, job: list_runs(s, ctx, kinds=kinds),
           title="Loading the run history…").success(self._show).run()  # fmt: skip

    def _show(self, runs: list[RunRow]) -> None:
        self.runs = runs
        _fill(self.table, [[f"{run.started_at.astimezone():%Y-%m-%d %H:%M}",
                            KIND_LABELS.get(run.kind, run.kind),
                            "preview" if run.dry_run else "applied", run.status, run.actor,
                            run.headline] for run in runs])  # fmt: skip
        if runs:
            self.table.selectRow(0)

    def open_selected(self) -> None:
        row = self.table.currentRow()
        if 0 <= row < len(self.runs):
            open_run_report(self, self.runs[row].id)


def open_run_report(parent: QWidget, run_id) -> None:
    Op(parent, lambda s, ctx, job: run_report(s, ctx, run_id),
       title="Loading the report…").success(lambda r: RunReportDialog(r, parent).open()).run()  # fmt: skip


class RunReportDialog(QDialog):
    """One run's report, savable as CSV."""

    def __init__(self, report: RunReport, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report = report
        run = report.run
        self.setWindowTitle(f"{KIND_LABELS.get(run.kind, run.kind)} run — "
                            f"{run.started_at.astimezone():%Y-%m-%d %H:%M}")  # fmt: skip
        self.resize(860, 560)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        backup = f"<br>Backup taken just before: {run.backup_file}" if run.backup_file else ""
        heading = QLabel(f"<b>{run.headline or run.status}</b><br>"
                         f"{'Preview (nothing changed)' if run.dry_run else 'Applied'} by "
                         f"{run.actor}; status {run.status}. Run id {run.id}.{backup}")  # fmt: skip
        heading.setWordWrap(True)
        heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        tabs = QTabWidget()
        facts = readonly_table(["Item", "Value"])
        # JSON keeps no order; the numbers read best in the order the run computed them
        summary = sorted(run.summary.items(), key=lambda kv: _SUMMARY_ORDER.get(kv[0], 99))
        rows = [[k.replace("_", " ").capitalize(), flat_text(v)] for k, v in run.params.items()]
        rows += [[k.replace("_", " ").capitalize(), flat_text(v)] for k, v in summary
                 if k != "lists"]  # fmt: skip
        _fill(facts, rows)
        facts.resizeColumnToContents(0)
        tabs.addTab(facts, "Su&mmary")  # Alt+S saves
        for state, students in (run.summary.get("lists") or {}).items():
            if not students:
                continue
            table = readonly_table(["Student no", "Student", "Course"])
            _fill(table, [[s.get("student_no", ""), s.get("name", ""), s.get("course", "")]
                          for s in students])  # fmt: skip
            tabs.addTab(table, f"{state.capitalize()} ({run.summary.get(state, len(students)):,})")
        if report.changes:
            changes = readonly_table(["What", "Student", "Course", "Before", "After", "Row id"])
            _fill(changes, [[c.what, c.student, c.course, c.before, c.after,
                             str(c.entity_id or "")]
                            for c in report.changes])  # fmt: skip
            changes.resizeColumnsToContents()
            tabs.addTab(changes, f"&Changes ({report.change_count:,})")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        # GNOME names it "&Close", which would take Alt+C from Changes; Esc closes.
        buttons.button(QDialogButtonBox.StandardButton.Close).setText("Close")
        save = buttons.addButton("&Save as CSV…", QDialogButtonBox.ButtonRole.ActionRole)
        save.clicked.connect(lambda: self.save_csv())
        if run.backup_file and not run.dry_run:
            undo = buttons.addButton("&Undo this run…", QDialogButtonBox.ButtonRole.ActionRole)
            undo.setToolTip(f"Restore {run.backup_file}, the backup taken just before this "
                            "run, after showing what else changed since")  # fmt: skip
            undo.clicked.connect(self.undo_run)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(tabs, 1)
        layout.addWidget(buttons)

    def undo_run(self) -> None:
        from ui.dialogs.backups_dialog import BackupsDialog

        dialog = BackupsDialog(self, undo_file=self.report.run.backup_file)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.backups_dialog = dialog

    def save_csv(self, path: str | None = None) -> Path | None:
        if path is None:
            run = self.report.run
            path = ask_save_path(self, "Save the report",
                                f"rollbook-{run.kind}-{run.started_at:%Y%m%d-%H%M}.csv",
                                folder_key="folders/reports")  # fmt: skip
            if path is None:
                return None
        write_report_csv(Path(path), self.report)
        return Path(path)


class RunHistoryDialog(QDialog):
    """Tools > Run history…"""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Run history")
        self.resize(900, 520)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        intro = QLabel("Every import, audit, backfill, repair and request decision is recorded "
                       "here, with what it found and what it changed. Open a run to see its "
                       "report.")  # fmt: skip
        intro.setWordWrap(True)
        self.view = RunHistoryView(parent=self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.view, 1)
        layout.addWidget(buttons)
        self.view.refresh()
