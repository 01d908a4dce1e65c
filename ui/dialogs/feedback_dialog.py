"""A participant's feedback (Check-in dialog: Feedback…): a rating from 1 to 5 and
comments, one per registration; saving again replaces the earlier one.

The form is filled with the feedback already given, so the desk sees what it is about to
replace. A refusal (a waitlisted or cancelled registration gives no feedback) is shown
in the form, which stays open.
"""

from __future__ import annotations

import uuid

from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.services import checkin
from app.services.checkin import RATINGS, FeedbackRow, FeedbackSaved
from ui.dialogs.parts import refusal_label, submit_buttons
from ui.ops import Op, error_text


class FeedbackDialog(QDialog):
    """``event_id``, when the opener knows it, lets the form show the feedback given
    before (the service lists feedback per event); ``who`` names the participant until
    then."""

    def __init__(
        self, registration_no: str, parent: QWidget | None = None, *,
        event_id: uuid.UUID | None = None, who: str = "",
    ) -> None:  # fmt: skip
        super().__init__(parent)
        self.registration_no = registration_no
        self.saved: FeedbackSaved | None = None
        self.setWindowTitle(f"Feedback — {registration_no}")
        self.setMinimumWidth(440)
        self.heading = QLabel(f"<b>{who or registration_no}</b>"
                              + (f" · {registration_no}" if who else ""))  # fmt: skip
        self.earlier = QLabel("")
        self.earlier.setWordWrap(True)
        self.rating = QButtonGroup(self)
        stars = QHBoxLayout()
        for value in RATINGS:
            # Alt+1 … Alt+5: the rating is one keystroke from anywhere in the form.
            button = QRadioButton(f"&{value}")
            self.rating.addButton(button, value)
            stars.addWidget(button)
        stars.addWidget(QLabel("(1 poor · 5 excellent)"))
        stars.addStretch(1)
        self.comments = QPlainTextEdit()
        self.comments.setPlaceholderText("What the participant said (optional)")
        self.comments.setTabChangesFocus(True)  # Tab leaves the box; it does not indent
        self.message = refusal_label()
        self.buttons = submit_buttons(self, "&Save", self.submit)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.save_button.setEnabled(False)  # until a rating is chosen
        self.rating.idToggled.connect(lambda _id, _on: self._rating_chosen())

        form = QFormLayout()
        form.addRow("Rating:", stars)
        comments_label = QLabel("&Comments:")
        comments_label.setBuddy(self.comments)
        form.addRow(comments_label, self.comments)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.earlier)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        if event_id is not None:
            self._load(event_id)

    def _load(self, event_id: uuid.UUID) -> None:
        Op(self, lambda s, ctx, job: checkin.list_feedback(s, ctx, event_id), read_only=True,
           show_progress=False).success(self._loaded).failure(
            lambda error: self.message.setText(error_text(error))).run()  # fmt: skip

    def _loaded(self, rows: list[FeedbackRow]) -> None:
        given = next((r for r in rows if r.registration_no == self.registration_no), None)
        if given is None:
            self.earlier.setText("No feedback yet.")
            return
        self.heading.setText(f"<b>{given.name} ({given.student_no})</b> · {given.registration_no}")
        when = f" on {given.updated_at.astimezone():%d %b %Y at %H:%M}" if given.updated_at else ""
        self.earlier.setText(f"Feedback given{when}; saving replaces it.")
        # Only what nobody has touched yet: a rating chosen while this loaded stays.
        if self.rating.checkedId() == -1:
            self.rating.button(given.rating).setChecked(True)
        if not self.comments.toPlainText():
            self.comments.setPlainText(given.comments or "")

    def _rating_chosen(self) -> None:
        self.save_button.setEnabled(self.rating.checkedId() in RATINGS)
        self.message.setText("")

    def submit(self) -> None:
        rating = self.rating.checkedId()
        if rating not in RATINGS:
            self.message.setText("Choose a rating from 1 to 5.")
            return
        number, comments = self.registration_no, self.comments.toPlainText()
        self.buttons.setEnabled(False)
        Op(self, lambda s, ctx, job: checkin.set_feedback(s, ctx, number, rating, comments),
           show_progress=False).success(self._saved).failure(
            lambda error: self.message.setText(error_text(error))).finally_(
            lambda: self.buttons.setEnabled(True)).run()  # fmt: skip

    def _saved(self, saved: FeedbackSaved) -> None:
        self.saved = saved
        self.accept()
