"""An event's certificates (Events page: Certificates…): issue them, see the ones
issued, revoke one, keep one the consistency repair flagged.

Participation certificates are previewed first: every registration with whether it
gets one and why (not), the counts at the top. Issue then gives the previewed ones their
numbers in one transaction, after asking; the service decides again from the data as it
is then, so anyone who no longer qualifies is left out and said why. Merit and winner
certificates go to the registrations ticked in a list. The Issued tab lists the event's
certificates, revoked ones with when and why; Save PDF… saves the highlighted ones (or,
with none highlighted, every valid one) to print, one page each, in the school's design.
"""

from __future__ import annotations

import uuid
from html import escape
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QStackedWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.enums import CertificateKind
from app.domain.errors import Cancelled
from app.domain.wording import counted, plural
from app.services import certificate_print, certificates, event_setup
from app.services.certificate_print import PrintBatch
from app.services.certificates import (
    CertificateDecision,
    CertificatePlan,
    CertificateRow,
    IssueResult,
)
from app.services.event_setup import EventDetails
from ui.dialogs.parts import refusal_label
from ui.ops import Op, error_text
from ui.printing import ask_pdf_path, pdf_name, tell_saved, write_certificates_pdf
from ui.widgets.readonly_table import readonly_table

PARTICIPATION = CertificateKind.PARTICIPATION.value
KINDS = (("&Participation", CertificateKind.PARTICIPATION.value),
         ("&Merit", CertificateKind.MERIT.value),
         ("&Winner", CertificateKind.WINNER.value))  # fmt: skip
PREVIEW_COLUMNS = ["Registration", "Student", "Status", "Days", "Certificate", "Reason"]
ISSUED_COLUMNS = ["Number", "Kind", "Student", "Registration", "Issued", "State", "Why"]
GETS_ONE, GETS_NONE = QColor("#14532d"), QColor("#7f1d1d")
FLAGGED, REVOKED = QColor("#fef3c7"), QColor("#6b7280")


def issued_text(result: IssueResult) -> str:
    """ "Issued 14 participation certificates: CERT-2026-00001 to CERT-2026-00014." """
    numbers = [c.certificate_no for c in result.issued]
    if not numbers:
        return f"No {result.kind} certificate was issued."
    span = numbers[0] if len(numbers) == 1 else f"{numbers[0]} to {numbers[-1]}"
    return f"Issued {counted(len(numbers), f'{result.kind} certificate')}: {span}."


def counts_text(plan: CertificatePlan) -> str:
    gets, not_ = len(plan.receiving), len(plan.not_receiving)
    if not plan.decisions:
        return f"{plan.event_name} has no registrations."
    return (f"<b>{gets:,} {plural(gets, 'gets', 'get')} a certificate</b>, "
            f"{not_:,} {plural(not_, 'does', 'do')} not.")  # fmt: skip


class CertificatesDialog(QDialog):
    def __init__(self, event_id: uuid.UUID, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.event_id = event_id
        self.details: EventDetails | None = None
        self.plan: CertificatePlan | None = None  # the participation preview shown
        self.awards: list[CertificateDecision] = []  # the merit/winner list shown
        self.awards_kind: str | None = None  # and its kind
        self.issued_rows: list[CertificateRow] = []
        self.last_issued: IssueResult | None = None
        self._issued_stale = True
        self._issued_op: Op | None = None
        self._saving_pdf = False
        self.saved_pdf: Path | None = None  # the last PDF saved, and what said so
        self.saved_box: QMessageBox | None = None
        self.setWindowTitle("Certificates")
        self.resize(980, 640)
        self.heading = QLabel("Loading the event…")
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.heading.setWordWrap(True)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._issue_tab(), "&Issue")
        self.tabs.addTab(self._issued_tab(), "Issue&d")
        self.tabs.currentChanged.connect(lambda _i: self._tab_shown())
        self.message = refusal_label()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.button(QDialogButtonBox.StandardButton.Close).setText("Close")
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        # Nothing is issued or revoked by Enter landing on a default button.
        for button in self.findChildren(QPushButton):
            button.setAutoDefault(False)
        QShortcut(QKeySequence.StandardKey.Refresh, self, self.refresh)
        self._update_issue_button()
        self._load()

    # ------------------------------------------------------------ building
    def _issue_tab(self) -> QWidget:
        self.kind_group = QButtonGroup(self)
        kinds = QHBoxLayout()
        kinds.addWidget(QLabel("Kind:"))
        for n, (text, _kind) in enumerate(KINDS):
            button = QRadioButton(text)
            self.kind_group.addButton(button, n)
            kinds.addWidget(button)
        kinds.addStretch(1)
        self.kind_group.button(0).setChecked(True)
        self.kind_group.idToggled.connect(lambda _id, on: on and self._kind_chosen())
        self.panels = QStackedWidget()
        self.panels.addWidget(self._participation_panel())
        self.panels.addWidget(self._awards_panel())
        self.issue_button = QPushButton("I&ssue certificates")
        self.issue_button.clicked.connect(self.issue)
        self.outcome = QLabel("")
        self.outcome.setWordWrap(True)
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        issue_row = QHBoxLayout()
        issue_row.addWidget(self.issue_button)
        issue_row.addWidget(self.outcome, 1)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addLayout(kinds)
        layout.addWidget(self.panels, 1)
        layout.addLayout(issue_row)
        return tab

    def _participation_panel(self) -> QWidget:
        self.preview_button = QPushButton("Pre&view")
        self.preview_button.setToolTip("Who gets a participation certificate and why (not); "
                                       "nothing is issued yet")  # fmt: skip
        self.preview_button.clicked.connect(self.preview)
        self.counts = QLabel("Preview shows who gets a certificate and why; nothing is issued "
                             "until you press Issue.")  # fmt: skip
        self.counts.setWordWrap(True)
        self.preview_table = readonly_table(PREVIEW_COLUMNS)
        header = self.preview_table.horizontalHeader()
        for column, width in enumerate((130, 220, 90, 50, 110)):
            header.resizeSection(column, width)
        top = QHBoxLayout()
        top.addWidget(self.preview_button)
        top.addWidget(self.counts, 1)
        panel = QWidget()
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.preview_table, 1)
        return panel

    def _awards_panel(self) -> QWidget:
        self.award_list = QListWidget()
        self.award_list.itemChanged.connect(lambda _item: self._update_issue_button())
        label = QLabel("&Registrations to award:")
        label.setBuddy(self.award_list)
        self.award_hint = QLabel("")
        self.award_hint.setWordWrap(True)
        tick_all = QPushButton("Tick &all")
        tick_all.clicked.connect(lambda: self._tick_all(True))
        tick_none = QPushButton("Tick &none")
        tick_none.clicked.connect(lambda: self._tick_all(False))
        top = QHBoxLayout()
        top.addWidget(label)
        top.addWidget(self.award_hint, 1)
        top.addWidget(tick_all)
        top.addWidget(tick_none)
        panel = QWidget()
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.award_list, 1)
        return panel

    def _issued_tab(self) -> QWidget:
        self.issued_table = readonly_table(ISSUED_COLUMNS)
        # Several may be highlighted to print them; Revoke and Clear flag take one.
        self.issued_table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.issued_table.itemSelectionChanged.connect(self._update_issued_buttons)
        # One line a certificate; the reason (last, stretched) shows whole in its tooltip.
        self.issued_table.setWordWrap(False)
        self.issued_summary = QLabel("")
        self.issued_note = QLabel("")  # what Revoke or Clear flag just did
        self.issued_note.setWordWrap(True)
        self.revoke_button = QPushButton("&Revoke…")
        self.revoke_button.setToolTip("Revoke the highlighted certificate, with the reason; "
                                      "it stays on the list with its number")  # fmt: skip
        self.revoke_button.clicked.connect(self.revoke)
        self.clear_button = QPushButton("C&lear flag")
        self.clear_button.setToolTip("Keep the highlighted certificate the consistency check "
                                     "flagged: it stays valid")  # fmt: skip
        self.clear_button.clicked.connect(self.clear_flag)
        self.refresh_button = QPushButton("Re&fresh")
        self.refresh_button.setToolTip("Read the list again (F5)")
        self.refresh_button.clicked.connect(self.load_issued)
        self.pdf_button = QPushButton("Sav&e PDF…")
        self.pdf_button.setToolTip("Save the highlighted certificates, or every valid one "
                                   "when none is highlighted, as a PDF to print: one page "
                                   "each, in the school's design (Settings). Revoked "
                                   "certificates are never printed")  # fmt: skip
        self.pdf_button.clicked.connect(self.save_pdf)
        buttons = QHBoxLayout()
        buttons.addWidget(self.issued_summary, 1)
        buttons.addWidget(self.pdf_button)
        buttons.addWidget(self.revoke_button)
        buttons.addWidget(self.clear_button)
        buttons.addWidget(self.refresh_button)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(self.issued_table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.issued_note)
        self._update_issued_buttons()
        return tab

    # ------------------------------------------------------------ the event
    def _load(self) -> None:
        event_id = self.event_id
        Op(self, lambda s, ctx, job: event_setup.get_event(s, ctx, event_id), read_only=True,
           show_progress=False).success(self._loaded).failure(self._refused).run()  # fmt: skip

    def _loaded(self, event: EventDetails) -> None:
        self.details = event
        self.setWindowTitle(f"Certificates — {event.name}")
        needs = ("no attendance" if event.certificate_min_days == 0 else
                 f"{counted(event.certificate_min_days, 'day')} attended")  # fmt: skip
        days = (f"{event.starts_on:%a %d %b %Y}" if event.days == 1 else
                f"{event.starts_on:%a %d %b} – {event.ends_on:%a %d %b %Y}")  # fmt: skip
        self.heading.setText(f"<span style='font-size:x-large'><b>{escape(event.name)}</b></span>"
                             f" &nbsp; {days} &nbsp;·&nbsp; a participation certificate "
                             f"needs {needs}")  # fmt: skip

    def kind(self) -> str:
        return KINDS[self.kind_group.checkedId()][1]

    def _kind_chosen(self) -> None:
        participation = self.kind() == PARTICIPATION
        self.panels.setCurrentIndex(0 if participation else 1)
        self.outcome.setText("")
        if not participation:
            self.load_awards()
        self._update_issue_button()

    def refresh(self) -> None:
        """F5: what the current tab shows, read again."""
        if self.tabs.currentIndex() == 1:
            self.load_issued()
        elif self.kind() != PARTICIPATION:
            self.load_awards()
        elif self.plan is not None:
            self.preview()

    # ------------------------------------------------------------ participation
    def preview(self) -> None:
        event_id = self.event_id
        self.preview_button.setEnabled(False)
        Op(self, lambda s, ctx, job: certificates.plan_participation(s, ctx, event_id),
           read_only=True, show_progress=False).success(self._previewed).failure(
            self._refused).finally_(lambda: self.preview_button.setEnabled(True)).run()  # fmt: skip

    def _previewed(self, plan: CertificatePlan) -> None:
        self.plan = plan
        self.message.setText("")
        self.counts.setText(counts_text(plan))
        table = self.preview_table
        table.setRowCount(len(plan.decisions))
        for row, d in enumerate(plan.decisions):
            values = (d.registration_no, f"{d.name} ({d.student_no})", d.status,
                      str(d.days_attended), "✔ gets one" if d.gets_one else "✖ not",
                      d.reason)  # fmt: skip
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                if column == 3:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                if column == 4:
                    item.setForeground(GETS_ONE if d.gets_one else GETS_NONE)
                table.setItem(row, column, item)
        self._update_issue_button()

    def _plan_changed(self) -> None:
        """Certificates were issued, revoked or kept: a preview shown is read again, so
        the count on Issue is never one that no longer holds."""
        if self.plan is not None:
            self.preview()
        if self.kind() != PARTICIPATION:
            self.load_awards()

    # ------------------------------------------------------------ merit and winner
    def load_awards(self) -> None:
        event_id, kind = self.event_id, self.kind()

        def work(s, ctx, job) -> list[CertificateDecision]:
            everyone = certificates.plan_participation(s, ctx, event_id).decisions
            if not everyone:
                return []
            # The award plan of every registration says who may get one and why not.
            numbers = [d.registration_no for d in everyone]
            return certificates.plan_awards(s, ctx, event_id, kind, numbers).decisions

        if kind != self.awards_kind:
            # Ticks stay when the same list is read again, never across kinds: a tick
            # for a merit certificate is not one for a winner's.
            self.award_list.clear()
            self.awards, self.awards_kind = [], None
        self.award_hint.setText("Loading the registrations…")
        Op(self, work, read_only=True, show_progress=False).success(
            lambda rows, kind=kind: self._awards_loaded(kind, rows)).failure(self._refused).run()  # fmt: skip

    def _awards_loaded(self, kind: str, rows: list[CertificateDecision]) -> None:
        if kind != self.kind():
            return  # the person chose another kind meanwhile
        ticked = set(self.ticked())
        self.awards, self.awards_kind = rows, kind
        self.award_list.blockSignals(True)
        self.award_list.clear()
        for d in rows:
            text = f"{d.registration_no}   {d.name} ({d.student_no})"
            item = QListWidgetItem(text if d.gets_one else f"{text}   — {d.reason}")
            item.setData(Qt.ItemDataRole.UserRole, d.registration_no)
            if d.gets_one:
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if d.registration_no in ticked
                                   else Qt.CheckState.Unchecked)  # fmt: skip
            else:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
            self.award_list.addItem(item)
        self.award_list.blockSignals(False)
        able = sum(d.gets_one for d in rows)
        self.award_hint.setText(f"Tick who gets a {kind} certificate ({able:,} of "
                                f"{counted(len(rows), 'registration')} can).")  # fmt: skip
        self._update_issue_button()

    def ticked(self) -> list[str]:
        items = (self.award_list.item(n) for n in range(self.award_list.count()))
        return [item.data(Qt.ItemDataRole.UserRole) for item in items
                if item.checkState() == Qt.CheckState.Checked]  # fmt: skip

    def _tick_all(self, on: bool) -> None:
        self.award_list.blockSignals(True)
        for n in range(self.award_list.count()):
            item = self.award_list.item(n)
            if item.flags() & Qt.ItemFlag.ItemIsUserCheckable:
                item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        self.award_list.blockSignals(False)
        self._update_issue_button()

    # ------------------------------------------------------------ issuing
    def to_issue(self) -> list[str]:
        """The registration numbers Issue gives a certificate: the previewed ones that
        get one, or the ticked ones."""
        if self.kind() == PARTICIPATION:
            return [d.registration_no for d in self.plan.receiving] if self.plan else []
        return self.ticked()

    def _update_issue_button(self) -> None:
        count = len(self.to_issue())
        self.issue_button.setText(f"I&ssue {counted(count, 'certificate')}" if count
                                  else "I&ssue certificates")  # fmt: skip
        self.issue_button.setEnabled(count > 0)
        if self.kind() == PARTICIPATION and self.plan is None:
            self.issue_button.setToolTip("Preview first: it shows who gets one")
        else:
            self.issue_button.setToolTip("")

    def confirm(self, title: str, question: str) -> bool:
        answer = QMessageBox.question(self, title, question, QMessageBox.StandardButton.Yes
                                      | QMessageBox.StandardButton.Cancel,
                                      QMessageBox.StandardButton.Cancel)  # fmt: skip
        return answer == QMessageBox.StandardButton.Yes

    def issue(self) -> None:
        numbers, kind, event_id = self.to_issue(), self.kind(), self.event_id
        if not numbers or self.details is None:
            return
        question = (f"Issue {counted(len(numbers), f'{kind} certificate')} for "
                    f"{self.details.name}?\n\nEach gets the next certificate number. A number "
                    "once issued stays with its certificate, even if it is revoked.")  # fmt: skip
        if not self.confirm("Issue certificates", question):
            return
        self.issue_button.setEnabled(False)
        self.outcome.setText("")
        Op(self, lambda s, ctx, job: certificates.issue_certificates(
            s, ctx, event_id, kind, numbers, job=job), title="Issuing certificates…").success(
            self._issued).failure(self._refused).finally_(self._update_issue_button).run()  # fmt: skip

    def _issued(self, result: IssueResult) -> None:
        self.last_issued = result
        self.message.setText("")
        left_out = "".join(f"<br>{escape(d.registration_no)} {escape(d.name)}: not issued, "
                           f"{escape(d.reason)}." for d in result.not_issued)  # fmt: skip
        self.outcome.setText(f"<b style='color:#14532d'>{escape(issued_text(result))}</b>"
                             f"{left_out}")  # fmt: skip
        if self.kind() != PARTICIPATION:
            self._tick_all(False)
        self._issued_stale = True
        self._plan_changed()

    def _refused(self, error: BaseException) -> None:
        self.message.setText(error_text(error))

    # ------------------------------------------------------------ the issued list
    def _tab_shown(self) -> None:
        if self.tabs.currentIndex() == 1 and self._issued_stale:
            self.load_issued()

    def load_issued(self) -> None:
        event_id = self.event_id
        if self._issued_op is not None:
            self._issued_op.cancel()  # a list asked for before is not wanted any more
        self.issued_summary.setText("Reading the event's certificates…")
        self._issued_op = Op(
            self,
            lambda s, ctx, job: certificates.event_certificates(s, ctx, event_id),
            title="Reading the event's certificates…",
            read_only=True,
        )
        self._issued_op.success(self._issued_loaded).failure(
            lambda error: self.issued_summary.setText(error_text(error))).run()  # fmt: skip

    def _issued_loaded(self, rows: list[CertificateRow]) -> None:
        self._issued_stale = False
        self.issued_rows = rows
        self._show_issued()

    def _show_issued(self) -> None:
        chosen = self.highlighted_certificate()
        rows = self.issued_rows
        table = self.issued_table
        table.clearSelection()
        table.setRowCount(len(rows))
        for n, c in enumerate(rows):
            if c.revoked_at is not None:
                by = f" by {c.revoked_by}" if c.revoked_by else ""
                state, why = f"revoked {c.revoked_at.astimezone():%d %b %Y}{by}", c.revoke_reason
            elif c.flagged_at is not None:
                state, why = f"flagged {c.flagged_at.astimezone():%d %b %Y}", c.flag_reason
            else:
                state, why = "valid", ""
            issued = f"{c.issued_at.astimezone():%d %b %Y %H:%M}"
            if c.issued_by:
                issued += f" by {c.issued_by}"
            values = (c.certificate_no, c.kind, f"{c.name} ({c.student_no})", c.registration_no,
                      issued, state, why or "")  # fmt: skip
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                if column == len(values) - 1:
                    item.setToolTip(value)
                if c.revoked_at is not None:
                    item.setForeground(REVOKED)
                elif c.flagged_at is not None:
                    item.setBackground(FLAGGED)
                table.setItem(n, column, item)
            if chosen is not None and c.certificate_no == chosen.certificate_no:
                table.selectRow(n)
        # A short list (an event's): the columns fit what they hold, the reason the rest.
        for column in range(table.columnCount() - 1):
            table.resizeColumnToContents(column)
        live = sum(c.revoked_at is None for c in rows)
        flagged = sum(c.revoked_at is None and c.flagged_at is not None for c in rows)
        self.issued_summary.setText(
            f"{counted(len(rows), 'certificate')}: {live:,} valid, {len(rows) - live:,} revoked"
            + (f", {flagged:,} flagged by the consistency check" if flagged else "") + "."
        )  # fmt: skip
        self._update_issued_buttons()

    def highlighted_certificates(self) -> list[CertificateRow]:
        rows = sorted(index.row() for index in self.issued_table.selectionModel().selectedRows())
        return [self.issued_rows[row] for row in rows if row < len(self.issued_rows)]

    def highlighted_certificate(self) -> CertificateRow | None:
        """The one certificate highlighted (None for none, or several)."""
        chosen = self.highlighted_certificates()
        return chosen[0] if len(chosen) == 1 else None

    def to_print(self) -> list[str]:
        """The certificate numbers Save PDF prints: the valid highlighted ones; empty for
        every valid one of the event."""
        return [c.certificate_no for c in self.highlighted_certificates() if c.revoked_at is None]

    def _update_issued_buttons(self) -> None:
        chosen = self.highlighted_certificate()
        valid = chosen is not None and chosen.revoked_at is None
        self.revoke_button.setEnabled(valid)
        self.clear_button.setEnabled(valid and chosen.flagged_at is not None)
        highlighted = self.highlighted_certificates()
        printable = (bool(self.to_print()) if highlighted
                     else any(c.revoked_at is None for c in self.issued_rows))  # fmt: skip
        self.pdf_button.setEnabled(printable and not self._saving_pdf)

    def _replace(self, changed: CertificateRow) -> None:
        self.issued_rows = [changed if c.certificate_no == changed.certificate_no else c
                            for c in self.issued_rows]  # fmt: skip
        self._show_issued()
        self._plan_changed()

    def ask_reason(self, chosen: CertificateRow) -> str | None:
        """Why it is revoked, asked until one is given (it is kept with the certificate),
        or None when the person cancels."""
        question = (f"Why is {chosen.certificate_no} ({chosen.name}, {chosen.kind}) "
                    "revoked?\nThe reason is kept with the certificate.")  # fmt: skip
        while True:
            reason, ok = QInputDialog.getText(self, "Revoke certificate", question)
            if not ok:
                return None
            if reason.strip():
                return reason.strip()
            question = (f"A reason is needed to revoke {chosen.certificate_no}: type why it "
                        "is revoked, or Cancel to keep it.")  # fmt: skip

    def revoke(self) -> None:
        chosen = self.highlighted_certificate()
        if chosen is None or chosen.revoked_at is not None:
            return
        reason = self.ask_reason(chosen)
        if reason is None:
            return
        number = chosen.certificate_no
        Op(self, lambda s, ctx, job: certificates.revoke_certificate(s, ctx, number, reason),
           show_progress=False).success(self._revoked).failure(self._refused).run()  # fmt: skip

    def _revoked(self, row: CertificateRow) -> None:
        self.message.setText("")
        self._replace(row)
        self.issued_note.setText(f"Revoked {row.certificate_no} ({row.name}): {row.revoke_reason}.")

    def _kept(self, row: CertificateRow) -> None:
        self.message.setText("")
        self._replace(row)
        self.issued_note.setText(f"Kept {row.certificate_no} ({row.name}): the flag is cleared.")

    def clear_flag(self) -> None:
        chosen = self.highlighted_certificate()
        if chosen is None or chosen.flagged_at is None:
            return
        question = (f"Keep {chosen.certificate_no} ({chosen.name})? The consistency check "
                    f"flagged it: {chosen.flag_reason or 'no reason given'}.\n\nThe flag goes "
                    "and the certificate stays valid.")  # fmt: skip
        if not self.confirm("Clear flag", question):
            return
        number = chosen.certificate_no
        Op(self, lambda s, ctx, job: certificates.clear_flag(s, ctx, number),
           show_progress=False).success(self._kept).failure(self._refused).run()  # fmt: skip

    # ------------------------------------------------------------ printing
    def save_pdf(self) -> None:
        """Ask where, read the certificates (with the school's design), then draw the
        PDF on the file worker with progress and Cancel."""
        if self.details is None:
            return
        numbers, event_id = self.to_print(), self.event_id
        path = ask_pdf_path(self, "Save certificates as PDF", pdf_name(self.details.name))
        if path is None:
            return
        self._saving_pdf = True
        self._update_issued_buttons()
        self.message.setText("")
        Op(self, lambda s, ctx, job: certificate_print.certificates_to_print(
            s, ctx, event_id, certificate_nos=numbers or None),
           read_only=True, show_progress=False).success(
            lambda batch: self._write_pdf(batch, path)).failure(self._pdf_failed).run()  # fmt: skip

    def _write_pdf(self, batch: PrintBatch, path: Path) -> None:
        count = len(batch.certificates)
        Op(self, lambda job: write_certificates_pdf(batch, path, job), files=True,
           title=f"Saving {counted(count, 'certificate')} to {path.name}…").success(
            lambda pages: self._pdf_saved(pages, path)).failure(self._pdf_failed).finally_(
            self._pdf_done).run()  # fmt: skip

    def _pdf_saved(self, pages: int, path: Path) -> None:
        self.saved_pdf = path
        self.issued_note.setText(f"Saved {counted(pages, 'certificate')} to {path}.")
        self.saved_box = tell_saved(self, pages, path)

    def _pdf_failed(self, error: BaseException) -> None:
        if isinstance(error, Cancelled):
            self.issued_note.setText("Cancelled; no PDF was saved.")
        else:
            self.message.setText(error_text(error))
        self._pdf_done()

    def _pdf_done(self) -> None:
        self._saving_pdf = False
        self._update_issued_buttons()
