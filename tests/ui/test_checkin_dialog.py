"""Check-in dialog: a scanner types a number and Enter; the answer is one big line, the
field keeps the focus for the next scan, and who is in and who is missing follow."""

from __future__ import annotations

from pathlib import Path

from event_setup import FAIR_DAYS, build_events
from PySide6.QtCore import Qt

from app.services.checkin import list_feedback
from ui.dialogs.checkin_dialog import CheckInDialog

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WAIT = 10_000


def _open(qtbot, event_id) -> CheckInDialog:
    dialog = CheckInDialog(event_id)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    qtbot.waitUntil(lambda: dialog.day_shown is not None, timeout=WAIT)
    return dialog


def _type(qtbot, widget, number: str) -> None:
    """As a barcode scanner does: the characters, then Enter."""
    qtbot.keyClicks(widget, number)
    qtbot.keyClick(widget, Qt.Key.Key_Return)


def _column(table, column: int) -> list[str]:
    return [table.item(row, column).text() for row in range(table.rowCount())]


def _in_and_missing(dialog: CheckInDialog) -> tuple[str, list[str], str, list[str]]:
    return (dialog.present_label.text(), _column(dialog.present, 1),
            dialog.missing_label.text(), _column(dialog.missing, 0))  # fmt: skip


def test_scans_at_the_door(qtbot, ops_hub, db, ctx):
    with db.sessions.begin() as s:
        ids = build_events(s, ctx, attended=False)
    dialog = _open(qtbot, ids["fair"])
    # The fair is not today: the first of its two days is chosen, and only its days.
    assert dialog.chosen_day() == FAIR_DAYS[0]
    assert [dialog.day.itemData(n) for n in range(dialog.day.count())] == list(FAIR_DAYS)
    assert "Science Fair" in dialog.heading.text() and "Sat 10 Oct 2026" in dialog.heading.text()
    assert dialog.number.placeholderText() == "Scan or type a student or registration number"
    assert _in_and_missing(dialog) == ("&In (0)", [], "&Missing (4)", [
        "Ada Marsh (S1)", "Ben Marsh (S2)", "Eve Marsh (S5)", "Finn Marsh (S6)"])  # fmt: skip
    assert dialog.focusWidget() is dialog.number

    _type(qtbot, dialog.number, "S1")
    assert dialog.number.text() == ""  # emptied at once, ready for the next card
    qtbot.waitUntil(lambda: dialog.outcome() == "in", timeout=WAIT)
    ada_time = dialog.present.item(0, 0).text()
    assert dialog.result.text() == f"✔  Checked in Ada Marsh (S1) at {ada_time}."
    # Two cards scanned before the first answer is back: both are answered, in order.
    _type(qtbot, dialog.number, "reg-2026-00002")
    _type(qtbot, dialog.number, "S1")
    qtbot.waitUntil(lambda: dialog.outcome() == "already", timeout=WAIT)
    assert dialog.result.text() == f"●  Ada Marsh (S1) already checked in at {ada_time}."
    assert _in_and_missing(dialog) == ("&In (2)", ["Ada Marsh (S1)", "Ben Marsh (S2)"],
                                       "&Missing (2)", ["Eve Marsh (S5)", "Finn Marsh (S6)"])  # fmt: skip
    assert _column(dialog.present, 2) == ["REG-2026-00001", "REG-2026-00002"]

    _type(qtbot, dialog.number, "S3")
    qtbot.waitUntil(lambda: dialog.outcome() == "refused", timeout=WAIT)
    assert dialog.result.text() == (
        "✖  Cleo Marsh (S3) is on the waiting list for Science Fair (REG-2026-00003), not "
        "registered; only registered students check in."
    )
    assert dialog.present.rowCount() == 2 and dialog.checked_in == 2
    assert dialog.focusWidget() is dialog.number and dialog.number.text() == ""
    dialog.grab().save(str(ARTIFACTS / "checkin_dialog.png"))

    # A card scanned while a list has the focus still checks in.
    dialog.missing.setFocus()
    dialog.missing.selectRow(0)
    _type(qtbot, dialog.missing, "S5")
    qtbot.waitUntil(lambda: dialog.present.rowCount() == 3, timeout=WAIT)
    assert dialog.result.text().startswith("✔  Checked in Eve Marsh (S5) at ")
    assert dialog.focusWidget() is dialog.number
    assert _in_and_missing(dialog)[2:] == ("&Missing (1)", ["Finn Marsh (S6)"])

    # The second day starts empty; a check-in there is that day's.
    dialog.day.setCurrentIndex(1)
    qtbot.waitUntil(lambda: dialog.day_shown.day == FAIR_DAYS[1], timeout=WAIT)
    assert _in_and_missing(dialog)[0] == "&In (0)"
    _type(qtbot, dialog.number, "REG-2026-00001")
    qtbot.waitUntil(lambda: dialog.outcome() == "in", timeout=WAIT)
    assert _in_and_missing(dialog)[:2] == ("&In (1)", ["Ada Marsh (S1)"])


def test_feedback_for_the_highlighted_participant(qtbot, ops_hub, db, ctx):
    with db.sessions.begin() as s:
        ids = build_events(s, ctx, attended=False)
    dialog = _open(qtbot, ids["fair"])
    assert not dialog.feedback_button.isEnabled()  # nobody highlighted yet
    _type(qtbot, dialog.number, "S2")
    qtbot.waitUntil(lambda: dialog.outcome() == "in", timeout=WAIT)
    # The one just checked in is highlighted: the desk asks them for feedback.
    assert dialog.highlighted().student_no == "S2" and dialog.feedback_button.isEnabled()
    qtbot.mouseClick(dialog.feedback_button, Qt.MouseButton.LeftButton)
    form = dialog.feedback_dialog
    assert form is not None and form.isVisible() and "Ben Marsh (S2)" in form.heading.text()
    qtbot.waitUntil(lambda: form.earlier.text() == "No feedback yet.", timeout=WAIT)
    assert not form.save_button.isEnabled()  # a rating first
    qtbot.mouseClick(form.rating.button(4), Qt.MouseButton.LeftButton)
    qtbot.keyClicks(form.comments, "Loved the robots")
    with qtbot.waitSignal(form.accepted, timeout=WAIT):
        qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    assert dialog.note.text() == "Feedback saved for Ben Marsh: 4 of 5."
    qtbot.waitUntil(lambda: dialog.feedback_dialog is None, timeout=WAIT)
    assert dialog.focusWidget() is dialog.number  # back to scanning
    with db.sessions() as s:
        saved = list_feedback(s, ctx, ids["fair"])
    assert [(f.registration_no, f.rating, f.comments) for f in saved] == [
        ("REG-2026-00002", 4, "Loved the robots")]  # fmt: skip

    # Opened again (from the Missing list this time, for someone else, then for Ben),
    # the form shows what was given.
    dialog.missing.setFocus()
    dialog.missing.selectRow(0)
    assert dialog.highlighted().student_no == "S1" and not dialog.present.selectedItems()
    dialog.present.setFocus()
    dialog.present.selectRow(0)
    qtbot.keyClick(dialog.present, Qt.Key.Key_Return)  # Enter on a row: Feedback…
    again = dialog.feedback_dialog
    assert again is not None
    qtbot.waitUntil(lambda: again.rating.checkedId() == 4, timeout=WAIT)
    assert again.comments.toPlainText() == "Loved the robots"
    assert again.earlier.text().startswith("Feedback given on ")
    again.reject()


def test_an_event_that_is_gone_says_so(qtbot, ops_hub, db, ctx):
    with db.sessions.begin() as s:
        ids = build_events(s, ctx, attended=False)
    dialog = CheckInDialog(ids["S1"])  # not an event's id
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.outcome() == "refused", timeout=WAIT)
    assert "That event no longer exists" in dialog.result.text()
    assert not dialog.number.isEnabled()
