"""Edit session: open a lesson of a series, edit its topics with the keyboard, save the
change for this and the following lessons; cancel lessons with a reason."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import Qt, QTime
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select

from app.db.models import ClassSession
from app.domain.enums import SessionFrequency
from app.domain.recurrence import Recurrence
from app.services.class_sessions import SessionPlan, schedule_sessions, update_session
from app.services.courses import create_course
from ui.dialogs.session_dialog import ScopeDialog, SessionDialog, open_session_dialog

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
Key = Qt.Key
Mod = Qt.KeyboardModifier


@pytest.fixture
def lessons(db, ctx) -> list[uuid.UUID]:
    """Six Tuesday lessons from 1 Sep 2026; the fourth (22 Sep) is completed, the third
    has two planned topics."""
    with db.sessions.begin() as s:
        create_course(s, ctx, "Biology")
        plan = SessionPlan("Biology", Recurrence(SessionFrequency.WEEKLY, first=date(2026, 9, 1),
                                                 until=date(2026, 10, 6)),
                           "09:00", "09:45", location="Lab 2")  # fmt: skip
        ids = schedule_sessions(s, ctx, plan).session_ids
        update_session(s, ctx, ids[2], {"topics": ["Cells", "Mitosis"]})
        update_session(s, ctx, ids[3], {"status": "in-progress"})
        update_session(s, ctx, ids[3], {"status": "completed"})
    return ids


def _opened(qtbot: QtBot, session_id: uuid.UUID) -> SessionDialog:
    dialog = SessionDialog(session_id)
    qtbot.addWidget(dialog)
    dialog.open()
    qtbot.waitUntil(lambda: dialog.details is not None, timeout=10_000)
    return dialog


def _scope_dialog(qtbot: QtBot, parent: SessionDialog) -> ScopeDialog:
    qtbot.waitUntil(lambda: parent.findChild(ScopeDialog) is not None, timeout=5000)
    ask = parent.findChild(ScopeDialog)
    qtbot.waitExposed(ask)
    # A desktop's window manager activates the new dialog; the offscreen platform has none.
    ask.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is ask, timeout=5000)
    return ask


def _column(db, name: str) -> list:
    with db.sessions() as s:
        return list(s.scalars(select(getattr(ClassSession, name))
                              .order_by(ClassSession.session_date)))  # fmt: skip


def test_edit_topics_by_keyboard_and_save_for_the_following_lessons(qtbot, ops_hub, db, lessons):
    dialog = _opened(qtbot, lessons[2])
    assert "session 3 of 6 of a weekly series" in dialog.heading.text()
    assert dialog.topics.topics() == ["Cells", "Mitosis"]
    # Only the current status and the ones it may become are offered.
    assert [dialog.status.itemData(i) for i in range(dialog.status.count())] == [
        "scheduled", "in-progress", "cancelled"]  # fmt: skip
    # Add a topic with Enter (which must not save), remove one with Delete, move with Ctrl+Up.
    dialog.topics.entry.setFocus()
    qtbot.keyClicks(dialog.topics.entry, "Meiosis")
    qtbot.keyClick(dialog.topics.entry, Key.Key_Return)
    assert dialog.isVisible() and dialog.findChild(ScopeDialog) is None
    assert dialog.topics.topics() == ["Cells", "Mitosis", "Meiosis"]
    qtbot.keyClick(dialog.topics.entry, Key.Key_Tab, Mod.ShiftModifier)  # back to the list
    assert QApplication.focusWidget() is dialog.topics.list
    qtbot.keyClick(dialog.topics.list, Key.Key_Up, Mod.ControlModifier)
    assert dialog.topics.topics() == ["Cells", "Meiosis", "Mitosis"]
    dialog.topics.list.setCurrentRow(0)
    qtbot.keyClick(dialog.topics.list, Key.Key_Delete)
    assert dialog.topics.topics() == ["Meiosis", "Mitosis"]
    dialog.end.setTime(QTime(9, 50))
    assert dialog.duration.text() == "50 minutes"
    assert dialog.changes() == {"topics": ["Meiosis", "Mitosis"],
                                "end_time": QTime(9, 50).toPython()}  # fmt: skip

    qtbot.keyClick(dialog.location, Key.Key_S, Mod.ControlModifier)  # Ctrl+S saves
    ask = _scope_dialog(qtbot, dialog)
    assert ask.this.isChecked()  # Enter alone changes only this lesson
    assert ask.following.text() == "This and the &following sessions (4)"
    qtbot.keyClick(ask.this, Key.Key_Down)  # the arrow keys move between the choices
    assert ask.scope() == "following"
    with qtbot.waitSignal(dialog.saved, timeout=10_000) as saved:
        qtbot.keyClick(ask.following, Key.Key_Return)
    assert saved.args[0].summary == "3 sessions changed; 1 completed session left as it was."
    assert not dialog.isVisible()
    assert _column(db, "topics") == [[], [], ["Meiosis", "Mitosis"], [],
                                     ["Meiosis", "Mitosis"], ["Meiosis", "Mitosis"]]  # fmt: skip
    assert _column(db, "duration_minutes") == [45, 45, 50, 45, 50, 50]


def test_a_refusal_is_shown_in_the_dialog_which_stays_open(qtbot, ops_hub, db, lessons):
    dialog = _opened(qtbot, lessons[0])
    dialog.location.clear()
    dialog.save()
    ask = _scope_dialog(qtbot, dialog)
    ask.series.setChecked(True)
    ask.accept()
    qtbot.waitUntil(lambda: "needs a location" in dialog.message.text(), timeout=10_000)
    assert dialog.isVisible() and dialog.save_button.isEnabled()
    assert set(_column(db, "location")) == {"Lab 2"}


def test_a_new_date_offers_this_session_only(qtbot, ops_hub, db, lessons):
    dialog = _opened(qtbot, lessons[1])
    dialog.date.setDate(date(2026, 9, 9))
    dialog.save()
    ask = _scope_dialog(qtbot, dialog)
    assert not ask.following.isEnabled() and not ask.series.isEnabled()
    with qtbot.waitSignal(dialog.saved, timeout=10_000):
        ask.accept()
    assert date(2026, 9, 9) in _column(db, "session_date")


def test_cancel_lessons_with_a_reason(qtbot, ops_hub, db, lessons):
    dialog = _opened(qtbot, lessons[0])
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    ask = _scope_dialog(qtbot, dialog)
    qtbot.keyClick(ask.this, Key.Key_Return)  # Enter keeps them: cancelling is deliberate
    qtbot.waitUntil(lambda: not shiboken6.isValid(ask), timeout=5000)  # closed and gone
    assert dialog.isVisible() and set(_column(db, "status")) == {"scheduled", "completed"}
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    ask = _scope_dialog(qtbot, dialog)
    ask.series.setChecked(True)
    ask.reason.setText("Lab closed for works")
    with qtbot.waitSignal(dialog.saved, timeout=10_000) as saved:
        ask.accept()
    done = saved.args[0]
    assert done.summary == "5 sessions cancelled; 1 completed session left as it was."
    assert done.reason == "Lab closed for works"
    assert _column(db, "status") == ["cancelled"] * 3 + ["completed"] + ["cancelled"] * 2
    with db.sessions() as s:  # nothing deleted
        assert s.scalar(select(func.count()).select_from(ClassSession)) == 6


def test_render_the_dialog(qtbot, ops_hub, db, lessons):
    """Pictures for a person to look at: the dialog filled in, and Cancel session…"""
    dialog = _opened(qtbot, lessons[2])
    dialog.covered.set_topics(["Cells", "The cell membrane"])
    dialog.topics.list.setCurrentRow(1)
    dialog.alarm.setChecked(True)
    dialog.featured.setChecked(True)
    dialog.resize(dialog.sizeHint())
    QApplication.processEvents()
    ARTIFACTS.mkdir(exist_ok=True)
    dialog.grab().save(str(ARTIFACTS / "session_dialog.png"))
    dialog.cancel_session()
    ask = _scope_dialog(qtbot, dialog)
    ask.grab().save(str(ARTIFACTS / "session_cancel_question.png"))
    ask.reject()
    dialog.reject()


def test_open_session_dialog_opens_it_and_it_goes_when_closed(qtbot, ops_hub, db, lessons):
    dialog = open_session_dialog(None, lessons[4])
    qtbot.waitUntil(lambda: dialog.details is not None, timeout=10_000)
    assert dialog.isVisible() and dialog.date.date().toPython() == date(2026, 9, 29)
    dialog.reject()
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog), timeout=5000)
