"""Certificates dialog: a preview with every registration's reason, Issue giving the
numbers in one transaction after asking, merit certificates to the ticked ones, and the
Issued tab's Revoke (a reason is required) and Clear flag."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from event_setup import build_events
from mnemonics import window_clashes
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QInputDialog, QMessageBox, QWidget
from sqlalchemy import select, text

from app.db.models import Certificate
from ui.dialogs.certificates_dialog import CertificatesDialog

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WAIT = 10_000


def answer(*replies: Callable[[QWidget], None]) -> list[str]:
    """Answer the next modal questions (message boxes, input dialogs), one reply each,
    in order; returns the texts they asked, filled in as they come."""
    asked: list[str] = []
    remaining = list(replies)
    handled: set[int] = set()

    def attempt() -> None:
        box = QApplication.activeModalWidget()
        if box is None or id(box) in handled:
            QTimer.singleShot(20, attempt)
            return
        handled.add(id(box))
        asked.append(box.labelText() if isinstance(box, QInputDialog) else box.text())
        remaining.pop(0)(box)
        if remaining:
            QTimer.singleShot(20, attempt)

    QTimer.singleShot(0, attempt)
    return asked


def yes(box: QWidget) -> None:
    assert isinstance(box, QMessageBox)
    box.button(QMessageBox.StandardButton.Yes).click()


def reason(typed: str) -> Callable[[QWidget], None]:
    def reply(box: QWidget) -> None:
        assert isinstance(box, QInputDialog)
        box.setTextValue(typed)
        box.accept()

    return reply


def _column(table, column: int) -> list[str]:
    return [table.item(row, column).text() for row in range(table.rowCount())]


def _open(qtbot, event_id) -> CertificatesDialog:
    dialog = CertificatesDialog(event_id)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    qtbot.waitUntil(lambda: dialog.details is not None, timeout=WAIT)
    return dialog


def _preview(qtbot, dialog: CertificatesDialog) -> None:
    dialog.plan = None
    qtbot.mouseClick(dialog.preview_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=WAIT)


def test_preview_then_issue_numbered_certificates(qtbot, ops_hub, db, ctx):
    with db.sessions.begin() as s:
        ids = build_events(s, ctx)
    dialog = _open(qtbot, ids["fair"])
    assert dialog.windowTitle() == "Certificates — Science Fair"
    assert "needs 2 days attended" in dialog.heading.text()
    assert not dialog.issue_button.isEnabled()  # nothing to issue before the preview

    _preview(qtbot, dialog)
    assert dialog.counts.text() == "<b>2 get a certificate</b>, 4 do not."
    table = dialog.preview_table
    assert list(zip(_column(table, 0), _column(table, 4), _column(table, 5), strict=True)) == [
        ("REG-2026-00001", "✔ gets one", "attended 2 days (2 required)"),
        ("REG-2026-00002", "✖ not", "attended 1 of 2 required days"),
        ("REG-2026-00003", "✖ not", "waitlisted"),
        ("REG-2026-00004", "✖ not", "registration cancelled"),
        ("REG-2026-00005", "✖ not", "already holds CERT-2025-00012"),
        ("REG-2026-00006", "✔ gets one", "attended 2 days (2 required)"),
    ]
    assert _column(table, 1)[0] == "Ada Marsh (S1)"
    assert dialog.issue_button.isEnabled() and dialog.issue_button.text() == "I&ssue 2 certificates"
    dialog.grab().save(str(ARTIFACTS / "certificates_preview.png"))

    asked = answer(yes)
    qtbot.mouseClick(dialog.issue_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.last_issued is not None, timeout=WAIT)
    assert asked[0].startswith("Issue 2 participation certificates for Science Fair?")
    assert "Issued 2 participation certificates: CERT-2026-00001 to CERT-2026-00002." in (
        dialog.outcome.text())  # fmt: skip
    with db.sessions() as s:
        issued = s.execute(select(Certificate.certificate_no, Certificate.kind)
                           .order_by(Certificate.certificate_no)).all()  # fmt: skip
    assert issued == [("CERT-2025-00012", "participation"), ("CERT-2026-00001", "participation"),
                      ("CERT-2026-00002", "participation")]  # fmt: skip
    # The preview is read again at once: nobody is left to get one.
    qtbot.waitUntil(lambda: dialog.counts.text().startswith("<b>0 get"), timeout=WAIT)
    assert not dialog.issue_button.isEnabled()
    assert _column(dialog.preview_table, 5)[0] == "already holds CERT-2026-00001"

    # Merit: to the ticked registrations; who cannot get one is listed with why.
    qtbot.mouseClick(dialog.kind_group.button(1), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.award_list.count() == 6, timeout=WAIT)
    assert window_clashes(dialog) == {}
    waitlisted = dialog.award_list.item(2)
    assert waitlisted.text().endswith("— waitlisted")
    assert not waitlisted.flags() & Qt.ItemFlag.ItemIsEnabled
    assert not dialog.issue_button.isEnabled()
    dialog.award_list.item(1).setCheckState(Qt.CheckState.Checked)  # Ben
    assert dialog.issue_button.text() == "I&ssue 1 certificate"
    asked = answer(yes)
    qtbot.mouseClick(dialog.issue_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.last_issued.kind == "merit", timeout=WAIT)
    assert asked[0].startswith("Issue 1 merit certificate for Science Fair?")
    assert "Issued 1 merit certificate: CERT-2026-00003." in dialog.outcome.text()
    qtbot.waitUntil(lambda: "already holds CERT-2026-00003" in dialog.award_list.item(1).text(),
                    timeout=WAIT)  # fmt: skip
    # A winner's certificate is another kind: Ben may get one, and no tick carries over.
    dialog.award_list.item(0).setCheckState(Qt.CheckState.Checked)
    qtbot.mouseClick(dialog.kind_group.button(2), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.awards_kind == "winner", timeout=WAIT)
    assert dialog.ticked() == [] and not dialog.issue_button.isEnabled()
    assert dialog.award_list.item(1).text() == "REG-2026-00002   Ben Marsh (S2)"


def test_revoke_with_a_reason_and_clear_a_flag(qtbot, ops_hub, db, ctx):
    with db.sessions.begin() as s:
        ids = build_events(s, ctx)
    dialog = _open(qtbot, ids["fair"])
    _preview(qtbot, dialog)
    answer(yes)
    qtbot.mouseClick(dialog.issue_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.last_issued is not None, timeout=WAIT)

    dialog.tabs.setCurrentIndex(1)
    table = dialog.issued_table
    qtbot.waitUntil(lambda: table.rowCount() == 3, timeout=WAIT)
    assert window_clashes(dialog) == {}
    assert _column(table, 0) == ["CERT-2025-00012", "CERT-2026-00001", "CERT-2026-00002"]
    assert _column(table, 2) == ["Eve Marsh (S5)", "Ada Marsh (S1)", "Finn Marsh (S6)"]
    assert set(_column(table, 5)) == {"valid"}
    assert dialog.issued_summary.text() == "3 certificates: 3 valid, 0 revoked."
    assert not dialog.revoke_button.isEnabled()  # nothing highlighted

    table.selectRow(1)
    assert dialog.revoke_button.isEnabled() and not dialog.clear_button.isEnabled()
    # A reason is required: an empty one is asked again; the reason is kept.
    asked = answer(reason("   "), reason("Printed with a typo"))
    qtbot.mouseClick(dialog.revoke_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: table.item(1, 5).text().startswith("revoked "), timeout=WAIT)
    assert asked[0].startswith("Why is CERT-2026-00001 (Ada Marsh, participation) revoked?")
    assert asked[1].startswith("A reason is needed to revoke CERT-2026-00001")
    assert table.item(1, 6).text() == "Printed with a typo"
    assert dialog.issued_note.text() == "Revoked CERT-2026-00001 (Ada Marsh): Printed with a typo."
    assert not dialog.revoke_button.isEnabled()  # a revoked certificate stays revoked
    with db.sessions() as s:
        kept = s.execute(select(Certificate.revoke_reason, Certificate.revoked_by)
                         .where(Certificate.certificate_no == "CERT-2026-00001")).one()  # fmt: skip
    assert tuple(kept) == ("Printed with a typo", ops_hub.context().actor)
    # Ada may be given a new one: the preview (shown before) says so again.
    qtbot.waitUntil(lambda: dialog.counts.text() == "<b>1 gets a certificate</b>, 5 do not.",
                    timeout=WAIT)  # fmt: skip

    # The consistency repair flagged Finn's; the person keeps it.
    with db.sessions.begin() as s:
        s.execute(text("UPDATE certificate SET revocation_flagged_at = now(), "
                       "revocation_flag_reason = 'attended 1 of 2 required days' "
                       "WHERE certificate_no = 'CERT-2026-00002'"))  # fmt: skip
    qtbot.mouseClick(dialog.refresh_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: table.item(2, 5).text().startswith("flagged "), timeout=WAIT)
    assert table.item(2, 6).text() == "attended 1 of 2 required days"
    assert dialog.issued_summary.text() == ("3 certificates: 2 valid, 1 revoked, 1 flagged by "
                                            "the consistency check.")  # fmt: skip
    table.selectRow(2)
    assert dialog.clear_button.isEnabled()
    asked = answer(yes)
    qtbot.mouseClick(dialog.clear_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: table.item(2, 5).text() == "valid", timeout=WAIT)
    assert asked[0].startswith("Keep CERT-2026-00002 (Finn Marsh)?")
    assert dialog.issued_note.text() == "Kept CERT-2026-00002 (Finn Marsh): the flag is cleared."
    with db.sessions() as s:
        flag = s.scalar(select(Certificate.revocation_flagged_at)
                        .where(Certificate.certificate_no == "CERT-2026-00002"))  # fmt: skip
    assert flag is None


def test_an_event_that_is_gone_says_so(qtbot, ops_hub, db, ctx):
    with db.sessions.begin() as s:
        ids = build_events(s, ctx)
    dialog = CertificatesDialog(ids["S1"])  # not an event's id
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: "That event no longer exists" in dialog.message.text(), timeout=WAIT)
