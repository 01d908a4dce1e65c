"""Alt+letter shortcuts (mnemonics) of a window: which letters are taken, and by what.

Two controls with the same letter in one window make Alt+letter cycle between them
instead of doing what it says (Alt+S landing on "Student number" instead of Save). The
tests walk every dialog and wizard page with ``mnemonic_clashes``.
"""

from __future__ import annotations

import re

from PySide6.QtWidgets import QAbstractButton, QGroupBox, QLabel, QWidget, QWizard, QWizardPage

_MNEMONIC = re.compile(r"&([^&\s])")


def mnemonic(text: str) -> str | None:
    """The Alt+letter of a control's text ("Cl&ass" → "a"); "&&" is a plain ampersand."""
    found = _MNEMONIC.search(text.replace("&&", ""))
    return found.group(1).lower() if found else None


def _texts(widget: QWidget) -> list[tuple[str, str]]:
    """(text, kind) of the controls in ``widget`` that are shown and could take Alt."""
    found: list[tuple[str, str]] = []
    for child in [widget, *widget.findChildren(QWidget)]:
        if isinstance(child, QWizard) and child is not widget:
            continue
        if not child.isVisibleTo(widget) and child is not widget:
            continue
        if isinstance(child, QAbstractButton):
            found.append((child.text(), "button"))
        elif isinstance(child, QLabel) and child.buddy() is not None:
            found.append((child.text(), "label"))
        elif isinstance(child, QGroupBox):
            found.append((child.title(), "group"))
    return found


def mnemonic_clashes(widget: QWidget, extra: list[str] | None = None) -> dict[str, list[str]]:
    """Letters used by more than one control of ``widget`` (and the ``extra`` texts,
    such as a wizard's own buttons), with the texts that use them."""
    used: dict[str, list[str]] = {}
    for text in [t for t, _kind in _texts(widget)] + list(extra or []):
        letter = mnemonic(text)
        if letter:
            used.setdefault(letter, []).append(text)
    return {letter: texts for letter, texts in used.items() if len(texts) > 1}


def wizard_button_texts(page: QWizardPage) -> list[str]:
    """The wizard's buttons as this page shows them (a page may rename Next)."""
    buttons = (QWizard.WizardButton.BackButton, QWizard.WizardButton.NextButton,
               QWizard.WizardButton.FinishButton, QWizard.WizardButton.CancelButton,
               QWizard.WizardButton.CommitButton)  # fmt: skip
    return [page.buttonText(b) for b in buttons]
