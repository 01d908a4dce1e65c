"""Maintenance wizard (Tools > Maintenance…): legacy audit and backfill.

choose -> (optional) load a legacy groups file -> audit with progress -> coverage with
the students behind each number -> backfill preview -> apply with progress and Cancel
-> summary with the run history. Nothing changes before the person presses Load or
Apply; an apply that fails or is cancelled leaves Rollbook exactly as it was.
"""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWizard,
    QWizardPage,
)

from app.domain.enums import RunKind
from app.domain.wording import counted, plural
from app.imports.legacy_groups import (
    LegacyFile,
    LegacyOutcome,
    apply_legacy_import,
    plan_legacy_import,
    read_legacy_file,
)
from app.imports.service import write_rejected_csv
from app.maintenance.backfill import BackfillPlan, BackfillResult, apply_backfill, plan_backfill
from app.maintenance.enrollment_audit import PAIR_STATES, AuditResult, audit_enrollments
from app.runs.recorder import RecordedRun
from ui.actions.save_file import ask_save_path
from ui.ops import Op, error_text
from ui.widgets.readonly_table import readonly_table
from ui.widgets.run_history import RunHistoryView
from ui.wizards.apply_page import ApplyPage as BaseApplyPage
from ui.wizards.apply_page import ask_to_stop


class Step(IntEnum):
    """The wizard's pages, in order."""

    CHOOSE = 0
    LEGACY = 1
    AUDIT = 2
    PREVIEW = 3
    APPLY = 4
    SUMMARY = 5


STATE_LABELS = {"missing": "No enrollment", "inactive": "Inactive enrollment",
                "covered": "Covered"}  # fmt: skip


class MaintenanceState:
    """What the pages share as the person moves through the wizard."""

    def __init__(self) -> None:
        self.backfill = False
        self.legacy_path: Path | None = None
        self.legacy: LegacyFile | None = None
        self.legacy_outcome: LegacyOutcome | None = None
        self.audit: AuditResult | None = None
        self.plan: BackfillPlan | None = None
        self.run: RecordedRun[BackfillResult] | None = None


def _set_rows(table, rows: list[list[str]]) -> None:
    table.setRowCount(len(rows))
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            table.setItem(r, c, QTableWidgetItem(value))


class ChoosePage(QWizardPage):
    def __init__(self, state: MaintenanceState) -> None:
        super().__init__()
        self.state = state
        self.setTitle("What do you want to do?")
        self.setSubTitle("Both start with a read-only audit; nothing changes until you apply.")
        self.audit_choice = QRadioButton("&Audit — how far course enrollments cover the groups "
                                         "students had in the older system")  # fmt: skip
        self.backfill_choice = QRadioButton("Bac&kfill — create or reactivate the enrollments "
                                            "those groups call for (with a preview first)")  # fmt: skip
        self.audit_choice.setChecked(True)
        choices = QButtonGroup(self)
        choices.addButton(self.audit_choice)
        choices.addButton(self.backfill_choice)
        self.load_file = QCheckBox("&Load a legacy groups file first (CSV: student_no or email, "
                                   "group_name, team_number, course, active)")  # fmt: skip
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("Legacy groups CSV file")
        self.registerField("legacy_path", self.path_edit)
        self.browse_button = QPushButton("B&rowse…")
        self.browse_button.clicked.connect(self.browse)
        self.load_file.toggled.connect(self._toggle_file)
        self._toggle_file(False)
        self.path_edit.textChanged.connect(self.completeChanged)
        self.load_file.toggled.connect(self.completeChanged)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(self.browse_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.audit_choice)
        layout.addWidget(self.backfill_choice)
        layout.addSpacing(16)
        layout.addWidget(self.load_file)
        layout.addLayout(row)
        layout.addStretch(1)

    def _toggle_file(self, on: bool) -> None:
        self.path_edit.setEnabled(on)
        self.browse_button.setEnabled(on)

    def browse(self) -> None:
        folder = QSettings().value("folders/import", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, "Legacy groups file", folder,
                                              "CSV files (*.csv *.txt);;All files (*)")  # fmt: skip
        if path:
            self.path_edit.setText(path)
            QSettings().setValue("folders/import", str(Path(path).parent))

    def isComplete(self) -> bool:  # noqa: N802
        return not self.load_file.isChecked() or bool(self.path_edit.text().strip())

    def validatePage(self) -> bool:  # noqa: N802
        self.state.backfill = self.backfill_choice.isChecked()
        self.state.legacy_path = None
        if self.load_file.isChecked():
            path = Path(self.path_edit.text().strip()).expanduser()
            if not path.is_file():
                QMessageBox.warning(self, "Maintenance", f"There is no file {path}.")
                return False
            self.state.legacy_path = path
        return True

    def nextId(self) -> int:  # noqa: N802
        return Step.LEGACY if self.load_file.isChecked() else Step.AUDIT


class LegacyFilePage(QWizardPage):
    """Shows what the file would load; Next loads it (one transaction)."""

    def __init__(self, state: MaintenanceState) -> None:
        super().__init__()
        self.state = state
        self.setTitle("Load legacy group memberships")
        self.setSubTitle("Nothing has been loaded yet. Press Load to add these memberships; "
                         "memberships the file does not mention are kept.")  # fmt: skip
        self.setButtonText(QWizard.WizardButton.NextButton, "&Load")
        self.counts = QLabel("Reading the file…")
        self.counts.setWordWrap(True)
        self.rejected = readonly_table(["Line", "Column", "Why the row is rejected"])
        self.save_button = QPushButton("&Save rejected rows…")
        self.save_button.clicked.connect(lambda: self.save_rejected())
        layout = QVBoxLayout(self)
        layout.addWidget(self.counts)
        layout.addWidget(self.rejected, 1)
        layout.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignLeft)
        self._planned = False
        self._loaded = False

    def initializePage(self) -> None:  # noqa: N802
        self._planned = self._loaded = False
        self.rejected.setRowCount(0)
        self.save_button.setVisible(False)
        path = self.state.legacy_path
        assert path is not None
        self.counts.setText(f"Reading {path.name}…")
        # The file is read on the file worker, then compared with Rollbook on the
        # database worker.
        Op(self, lambda job: read_legacy_file(path), title="Reading the legacy file…",
           files=True).success(self._read).failure(self._unreadable).run()  # fmt: skip

    def _read(self, legacy: LegacyFile) -> None:
        Op(self, lambda s, ctx, job: (legacy, plan_legacy_import(s, ctx, legacy, job=job)),
           title="Comparing with Rollbook…").success(self._shown).failure(
            self._unreadable).run()  # fmt: skip

    def _unreadable(self, error: BaseException) -> None:
        self.counts.setText(f"<b style='color:#a61b1b'>{error_text(error)}</b><br>Go Back to "
                            "choose another file.")  # fmt: skip

    def _shown(self, result: tuple[LegacyFile, LegacyOutcome]) -> None:
        legacy, outcome = result
        self.state.legacy, self.state.legacy_outcome = legacy, outcome
        warnings = "".join(f"<br><i>{w}</i>" for w in legacy.table.format.warnings)
        self.counts.setText(
            f"{counted(outcome.rows, 'row')} in {legacy.table.path.name}: <b>"
            f"{outcome.groups_created:,}</b> new {plural(outcome.groups_created, 'group')}, "
            f"<b>{outcome.members_created:,}</b> "
            f"{plural(outcome.members_created, 'membership')} to add, "
            f"<b>{outcome.members_updated:,}</b> to update, {outcome.members_unchanged:,} "
            f"already loaded; rejected rows: <b style='color:#a61b1b'>{len(outcome.rejected):,}"
            f"</b>.{warnings}"
        )
        _set_rows(self.rejected, [[str(r.line), r.column, r.message] for r in outcome.rejected])
        self.rejected.resizeColumnsToContents()
        self.rejected.horizontalHeader().setStretchLastSection(True)
        self.save_button.setVisible(bool(outcome.rejected))
        self._planned = True
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802
        return self._planned

    def validatePage(self) -> bool:  # noqa: N802
        if self._loaded:
            return True
        legacy, planned = self.state.legacy, self.state.legacy_outcome
        assert legacy is not None and planned is not None
        self._planned = False
        self.completeChanged.emit()
        Op(self, lambda s, ctx, job: apply_legacy_import(s, ctx, legacy, plan=planned.plan,
                                                         job=job),
           title="Loading memberships…").success(
            self._loaded_now).finally_(self._enable).run()  # fmt: skip
        return False  # the wizard moves on when the load has finished

    def _loaded_now(self, outcome: LegacyOutcome) -> None:
        self.state.legacy_outcome = outcome
        self._loaded = True
        if outcome.stale:
            QMessageBox.information(
                self, "Maintenance",
                f"{counted(len(outcome.stale), 'membership')} changed since this preview and "
                f"{plural(len(outcome.stale), 'was', 'were')} left as they are: " + ", ".join(item.label for item in outcome.stale[:10])
                + ("…" if len(outcome.stale) > 10 else "") + ". Load the file again to see them.",
            )  # fmt: skip
        self.wizard().next()

    def _enable(self) -> None:
        self._planned = True
        self.completeChanged.emit()

    def save_rejected(self, path: str | None = None) -> None:
        outcome, legacy = self.state.legacy_outcome, self.state.legacy
        assert outcome is not None and legacy is not None
        if path is None:
            path = ask_save_path(self, "Save rejected rows", f"{legacy.table.path.stem}-rejected.csv",
                                folder_key="folders/rejected",
                                default_folder=legacy.table.path.parent)  # fmt: skip
            if path is None:
                return
        write_rejected_csv(Path(path), list(legacy.table.header), outcome.rejected)


class AuditPage(QWizardPage):
    """Coverage of legacy memberships, with the students behind each number."""

    def __init__(self, state: MaintenanceState) -> None:
        super().__init__()
        self.state = state
        self.setTitle("Coverage of legacy memberships")
        self.setSubTitle("A student in several groups of one course counts once. Nothing has "
                         "been changed.")  # fmt: skip
        self.coverage = QLabel("Auditing…")
        self.coverage.setStyleSheet("font-size: 20pt; font-weight: 600;")
        self.numbers = QGridLayout()
        self.number_labels: dict[str, QLabel] = {}
        rows = [("memberships", "Active legacy memberships"), ("pairs", "Student–course pairs"),
                ("covered", "Covered by an active enrollment"),
                ("inactive", "Enrollment exists but is inactive"),
                ("missing", "No enrollment")]  # fmt: skip
        for r, (key, text) in enumerate(rows):
            value = QLabel("–")
            value.setAlignment(Qt.AlignmentFlag.AlignRight)
            self.number_labels[key] = value
            self.numbers.addWidget(QLabel(text), r, 0)
            self.numbers.addWidget(value, r, 1)
        self.numbers.setColumnStretch(2, 1)
        self.tabs = QTabWidget()
        self.lists = {}
        for state_name in PAIR_STATES:
            table = readonly_table(["Student no", "Student", "Class", "Course"])
            self.lists[state_name] = table
            self.tabs.addTab(table, STATE_LABELS[state_name])
        layout = QVBoxLayout(self)
        layout.addWidget(self.coverage)
        layout.addLayout(self.numbers)
        layout.addWidget(self.tabs, 1)
        self._done = False

    def initializePage(self) -> None:  # noqa: N802
        self._done = False
        self.coverage.setText("Auditing…")
        if self.state.backfill:
            self.setButtonText(QWizard.WizardButton.NextButton, "&Preview backfill")
        Op(self, lambda s, ctx, job: audit_enrollments(s, ctx, job=job),
           title="Comparing legacy memberships with enrollments…").success(self._shown).run()  # fmt: skip

    def _shown(self, result: AuditResult) -> None:
        self.state.audit = result
        self.coverage.setText(f"{result.coverage_percent:g}% covered")
        for key, label in self.number_labels.items():
            label.setText(f"{getattr(result, key):,}")
        for index, state_name in enumerate(PAIR_STATES):
            students = result.lists[state_name]
            total = result.count(state_name)
            _set_rows(self.lists[state_name],
                      [[s.student_no, s.name, s.class_name or "", s.course] for s in students])  # fmt: skip
            shown = f" (first {len(students):,})" if total > len(students) else ""
            self.tabs.setTabText(index, f"{STATE_LABELS[state_name]}: {total:,}{shown}")
            self.lists[state_name].resizeColumnsToContents()
            self.lists[state_name].horizontalHeader().setStretchLastSection(True)
        first_gap = 0 if result.missing else (1 if result.inactive else 2)
        self.tabs.setCurrentIndex(first_gap)
        self._done = True
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802
        return self._done

    def nextId(self) -> int:  # noqa: N802
        return Step.PREVIEW if self.state.backfill else Step.SUMMARY


class BackfillPreviewPage(QWizardPage):
    def __init__(self, state: MaintenanceState) -> None:
        super().__init__()
        self.state = state
        self.setTitle("Preview the backfill")
        self.setSubTitle("Nothing has been changed yet. Press Apply to make these changes in "
                         "one step; enrollments get source “backfill”.")  # fmt: skip
        self.setButtonText(QWizard.WizardButton.NextButton, "&Apply")
        self.counts = QLabel("Planning…")
        self.counts.setWordWrap(True)
        self.changes = readonly_table(["Change", "Student", "Course", "Before", "After", "Why"])
        self.changes.horizontalHeader().setSectionResizeMode(
            1, QHeaderView.ResizeMode.ResizeToContents
        )
        layout = QVBoxLayout(self)
        layout.addWidget(self.counts)
        layout.addWidget(self.changes, 1)
        self._done = False

    def initializePage(self) -> None:  # noqa: N802
        self._done = False
        Op(self, lambda s, ctx, job: plan_backfill(s, ctx, job=job),
           title="Planning the backfill…").success(self._shown).run()  # fmt: skip

    def _shown(self, planned: BackfillPlan) -> None:
        self.state.plan = planned
        c = planned.counts
        if not (c.enrollments_created or c.enrollments_reactivated):
            self.counts.setText("<b>Nothing to backfill</b>: every active legacy membership is "
                                "covered by an active enrollment.")  # fmt: skip
            self.setButtonText(QWizard.WizardButton.NextButton, "&Next")
        else:
            listed = (f" The first {len(planned.plan.items):,} are listed."
                      if planned.plan.items_truncated else "")  # fmt: skip
            skipped = (f" <b style='color:#a61b1b'>{c.skipped:,}</b> students are not "
                       "enrolled because they are not active (listed below)."
                       if c.skipped else "")  # fmt: skip
            self.counts.setText(
                f"Enrollments to create: <b>{c.enrollments_created:,}</b>; to reactivate: "
                f"<b>{c.enrollments_reactivated:,}</b>; new courses: <b>{c.courses_created:,}</b>. "
                f"Every enrollment gets its progress row.{skipped}{listed}"
            )
            self.setButtonText(QWizard.WizardButton.NextButton, "&Apply")
        labels = {"create_enrollment": "Enroll", "reactivate_enrollment": "Reactivate",
                  "skip_enrollment": "Not enrolled"}  # fmt: skip

        def row(i) -> list[str]:
            if i.kind == "skip_enrollment":
                who, _, course = i.key.partition(" → ")
                return [labels[i.kind], who, course, "", "", i.reason]
            return [
                labels.get(i.kind, i.kind),
                i.key,
                (i.after or {}).get("course", ""),
                "inactive" if i.before else "no enrollment",
                "active (backfill)",
                i.reason,
            ]

        _set_rows(self.changes, [row(i) for i in planned.plan.items])
        self._done = True
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802
        return self._done

    def nextId(self) -> int:  # noqa: N802
        plan = self.state.plan
        if plan and (plan.counts.enrollments_created or plan.counts.enrollments_reactivated):
            return Step.APPLY
        return Step.SUMMARY


class ApplyPage(BaseApplyPage):
    def __init__(self, state: MaintenanceState) -> None:
        super().__init__(
            title="Applying the backfill", working="Starting…", cancel_label="&Cancel backfill",
            subtitle="All changes are applied together; Cancel leaves Rollbook exactly as it was.",
        )  # fmt: skip
        self.state = state

    def work(self):
        planned = self.state.plan
        plan = planned.plan if planned is not None else None
        return lambda s, ctx, job: apply_backfill(s, ctx, plan=plan, job=job)

    def keep(self, result: RecordedRun) -> None:
        self.state.run = result

    def has_result(self) -> bool:
        return self.state.run is not None


class SummaryPage(QWizardPage):
    def __init__(self, state: MaintenanceState) -> None:
        super().__init__()
        self.state = state
        self.setTitle("Finished")
        self.setSubTitle("Every audit and backfill is kept in the run history below.")
        self.text = QLabel("")
        self.text.setWordWrap(True)
        self.audit_again = QPushButton("Audit &again")
        self.audit_again.clicked.connect(self.rerun_audit)
        self.history = RunHistoryView(kinds=(RunKind.AUDIT, RunKind.BACKFILL, RunKind.IMPORT))
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(self.audit_again, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(QLabel("<b>Run history</b>"))
        layout.addWidget(self.history, 1)

    def initializePage(self) -> None:  # noqa: N802
        self.text.setText(self._headline())
        self.history.refresh()

    def _headline(self) -> str:
        state = self.state
        run, plan, audit = state.run, state.plan, state.audit
        if run is not None:
            if run.succeeded and run.value is not None:
                v = run.value.counts
                stale = "".join(f"<li>{item.label}</li>" for item in run.value.stale[:20])
                more = (f"<li>… and {len(run.value.stale) - 20:,} more</li>"
                        if len(run.value.stale) > 20 else "")  # fmt: skip
                skipped = (f"; {counted(v.skipped, 'student')} not enrolled because "
                           f"{plural(v.skipped, 'the student is', 'they are')} not active"
                           if v.skipped else "")  # fmt: skip
                return (f"<p><b>Backfill applied.</b> {counted(v.enrollments_created, 'enrollment')} "
                        f"created, {v.enrollments_reactivated:,} reactivated, "
                        f"{counted(v.courses_created, 'new course')}{skipped}. Press Audit again to see "
                        "the coverage now.</p>"
                        + (f"<p><b>{v.stale:,} left alone</b> because they changed since the "
                           f"preview:</p><ul>{stale}{more}</ul>" if v.stale else "")
                        + (f"<p>{counted(v.new_since_plan, 'gap')} appeared since the preview; run the "
                           "backfill again for them.</p>" if v.new_since_plan else ""))  # fmt: skip
            reason = "" if run.status.value == "cancelled" else (run.error or "")
            return (f"<p><b style='color:#a61b1b'>The backfill was {run.status.value}; nothing "
                    f"was changed.</b> {reason.removesuffix(' Nothing was changed.')}</p>")  # fmt: skip
        if plan is not None:
            return "<p><b>Nothing to backfill</b>: every active legacy membership is covered.</p>"
        if audit is not None:
            return (f"<p><b>Audit recorded: {audit.coverage_percent:g}% covered.</b> "
                    f"{counted(audit.missing, 'pair')} {plural(audit.missing, 'has', 'have')} no "
                    f"enrollment and {audit.inactive:,} an inactive one. Run the wizard again and choose Backfill to fill the gaps."
                    "</p>" if audit.missing or audit.inactive else
                    f"<p><b>Audit recorded: {audit.coverage_percent:g}% covered.</b> Every active "
                    "legacy membership has an active enrollment.</p>")  # fmt: skip
        return ""

    def rerun_audit(self) -> None:
        self.audit_again.setEnabled(False)

        def shown(result: AuditResult) -> None:
            self.state.audit = result
            self.text.setText(self.text.text() + f"<p>Audit again: <b>{result.coverage_percent:g}%"
                              f"</b> covered ({result.missing:,} missing, {result.inactive:,} "
                              "inactive).</p>")  # fmt: skip
            self.history.refresh()

        Op(self, lambda s, ctx, job: audit_enrollments(s, ctx, job=job),
           title="Auditing…").success(shown).finally_(
            lambda: self.audit_again.setEnabled(True)).run()  # fmt: skip


class MaintenanceWizard(QWizard):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Maintenance: legacy audit and backfill")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage)
        self.resize(960, 660)
        self.state = MaintenanceState()
        self.choose_page = ChoosePage(self.state)
        self.legacy_page = LegacyFilePage(self.state)
        self.audit_page = AuditPage(self.state)
        self.preview_page = BackfillPreviewPage(self.state)
        self.apply_page = ApplyPage(self.state)
        self.summary_page = SummaryPage(self.state)
        for step, page in ((Step.CHOOSE, self.choose_page), (Step.LEGACY, self.legacy_page),
                           (Step.AUDIT, self.audit_page), (Step.PREVIEW, self.preview_page),
                           (Step.APPLY, self.apply_page), (Step.SUMMARY, self.summary_page)):  # fmt: skip
            self.setPage(step, page)

    def reject(self) -> None:
        if ask_to_stop(self, self.apply_page, "Cancel backfill",
                       "Stop the backfill? Nothing will be changed."):  # fmt: skip
            super().reject()
