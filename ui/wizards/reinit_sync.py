"""Tools > Re-initialise from the server…: a fresh copy of the school after a long
absence, without losing what was done here offline (app.sync.reinit).

1. Preview: every change made here and not yet sent (when, who, which row, what), the
   open conflicts that stay, and what is replaced. Nothing has happened yet.
2. Re-initialise: the waiting changes are sent, then this desktop's copy is brought to
   the server's, with progress and Cancel (a cancelled copy is rolled back whole).
3. Done: what was sent, written and removed; conflicts to decide, if any.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from app.domain.wording import counted
from app.sync.reinit import ReinitPreview, ReinitReport, preview_reinit, reinitialise
from app.sync.server import accepted_revisions
from ui.ops import Op, error_text, hub
from ui.widgets.readonly_table import readonly_table
from ui.wizards.apply_page import ApplyPage, ask_to_stop


class PreviewPage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle("What re-initialising does")
        self.setSubTitle("This desktop's copy of the school is replaced by a fresh one from "
                         "the school server. Nothing has changed yet.")  # fmt: skip
        self.summary = QLabel("Reading the changes waiting on this desktop…")
        self.summary.setWordWrap(True)
        self.table = readonly_table(["When", "Who", "Row", "Change"])
        header = self.table.horizontalHeader()
        for column in range(3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.after = QLabel("")
        self.after.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.after)
        self.preview: ReinitPreview | None = None

    def initializePage(self) -> None:  # noqa: N802 - Qt override
        self.preview = None
        self.completeChanged.emit()
        Op(self, lambda session, ctx, _job: preview_reinit(session, ctx.school_id),
           read_only=True, title="Reading the waiting changes…").success(self._show).failure(
            lambda error: self.summary.setText(error_text(error))).run()  # fmt: skip

    def _show(self, preview: ReinitPreview) -> None:
        self.preview = preview
        last = (f"last synced {preview.last_sync_at.astimezone():%Y-%m-%d %H:%M}"
                if preview.last_sync_at else "never synced")  # fmt: skip
        waiting = len(preview.waiting)
        if waiting == 1:
            first = "First, the change made here and not yet sent goes to the server, so none is lost:"
        elif waiting:
            first = (f"First, the {waiting:,} changes made here and not yet sent go to the "
                     "server, so none is lost:")  # fmt: skip
        else:
            first = "No change made here is waiting to be sent."
        self.summary.setText(f"Device \"{preview.device_name}\" with {preview.server}, {last}. "
                             f"{first}")  # fmt: skip
        self.table.setRowCount(waiting)
        for row, change in enumerate(preview.waiting):
            what = change.action + (f": {', '.join(c.replace('_', ' ') for c in change.columns)}"
                                    if change.columns and change.action == "changed" else "")  # fmt: skip
            for column, text in enumerate((f"{change.at.astimezone():%Y-%m-%d %H:%M}",
                                           change.actor, change.row, what)):  # fmt: skip
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.setVisible(bool(waiting))
        lines = [f"Then this desktop's {counted(preview.local_rows, 'row')} are brought to "
                 "the server's: rows that differ are written, rows the server no longer has "
                 "are removed here. Cancel at any point leaves this desktop as it is now."]  # fmt: skip
        if preview.open_conflicts:
            lines.append(f"{counted(preview.open_conflicts, 'open sync conflict')} and the rows "
                         f"{'it is' if preview.open_conflicts == 1 else 'they are'} about stay, "
                         "to decide afterwards.")  # fmt: skip
        lines.append("Press Next to start.")
        self.after.setText("\n\n".join(lines))
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802 - Qt override
        return self.preview is not None


class ReinitPage(ApplyPage):
    network = True

    def __init__(self) -> None:
        super().__init__(title="Re-initialising",
                         subtitle="Sending this desktop's waiting changes, then bringing its "
                         "copy to the server's.",
                         working="Sending the waiting changes…",
                         cancel_label="&Cancel",
                         nothing_changed="This desktop's copy is as it was; any changes "
                         "already sent stay sent.")  # fmt: skip
        self.report: ReinitReport | None = None
        self.error = ""

    def work(self):
        database = hub().database
        sessions, settings = database.sessions, database.settings

        def run(job) -> ReinitReport:
            return reinitialise(sessions, settings.server_url, school_code=settings.school_code,
                                device_name=settings.device_name,
                                revision=accepted_revisions()[0], job=job)  # fmt: skip

        return run

    def keep(self, result: Any) -> None:
        self.report = result

    def keep_error(self, text: str) -> None:
        self.error = text

    def has_result(self) -> bool:
        return self.report is not None


class DonePage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Re-initialised")
        self.text = QLabel("")
        self.text.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addStretch(1)

    def initializePage(self) -> None:  # noqa: N802 - Qt override
        wizard: ReinitWizard = self.wizard()  # type: ignore[assignment]
        report = wizard.reinit_page.report
        assert report is not None
        self.text.setText(report.message + "\n\nThis desktop syncs as usual from now on.")


class ReinitWizard(QWizard):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Re-initialise from the school server")
        self.resize(760, 520)
        self.preview_page = PreviewPage()
        self.reinit_page = ReinitPage()
        self.addPage(self.preview_page)
        self.addPage(self.reinit_page)
        self.addPage(DonePage())

    def reject(self) -> None:
        if ask_to_stop(self, self.reinit_page, "Re-initialise from the school server",
                       "Stop re-initialising? This desktop's copy stays as it was."):  # fmt: skip
            super().reject()
