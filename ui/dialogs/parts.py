"""Pieces the dialogs that submit to a service share: the line that shows a refusal and
the Submit/Cancel buttons."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QWidget


def refusal_label() -> QLabel:
    """Where a dialog shows why the service refused: red, wrapped, empty until then."""
    label = QLabel("")
    label.setObjectName("dialogRefusal")
    label.setWordWrap(True)
    label.setStyleSheet("QLabel#dialogRefusal { color: #a61b1b; }")
    return label


def submit_buttons(dialog: QDialog, submit_text: str, submit) -> QDialogButtonBox:
    """OK (named ``submit_text``) runs ``submit``, which closes the dialog only when the
    service accepted; Cancel (and Esc) closes it."""
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
    )
    buttons.button(QDialogButtonBox.StandardButton.Ok).setText(submit_text)
    # GNOME names it "&Cancel", which would take Alt+C from the dialog's Course field;
    # Esc cancels.
    buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Cancel")
    buttons.accepted.connect(submit)
    buttons.rejected.connect(dialog.reject)
    return buttons


def buddy_label(text: str, buddy: QWidget) -> QLabel:
    """A label whose Alt+letter (``&`` in ``text``) moves the keyboard to ``buddy``: for
    a form row whose field is inside a layout, where QFormLayout cannot set the buddy."""
    label = QLabel(text)
    label.setBuddy(buddy)
    return label
