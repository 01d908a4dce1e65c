"""Alt+letter shortcuts (mnemonics) of a window: which letters are taken, and by what.

Two controls with the same letter in one window make Alt+letter cycle between them
instead of doing what it says (Alt+S landing on "Student number" instead of Save). The
tests walk every dialog, wizard page, main-window page and menu with these helpers.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from PySide6.QtCore import QCoreApplication, QEvent, QTranslator
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractButton,
    QGroupBox,
    QLabel,
    QMenuBar,
    QStackedWidget,
    QTabBar,
    QTabWidget,
    QWidget,
    QWizard,
    QWizardPage,
)

_MNEMONIC = re.compile(r"&([^&\s])")


def mnemonic(text: str) -> str | None:
    """The Alt+letter of a control's text ("Cl&ass" → "a"); "&&" is a plain ampersand."""
    found = _MNEMONIC.search(text.replace("&&", ""))
    return found.group(1).lower() if found else None


def _texts(widget: QWidget) -> list[tuple[str, str]]:
    """(text, kind) of the controls in ``widget`` that are shown and could take Alt."""
    found: list[tuple[str, str]] = []
    # A dialog opened from this one is a window of its own, with its own letters.
    shown = [child for child in widget.findChildren(QWidget)
             if child.window() is widget.window() and child.isVisibleTo(widget)]  # fmt: skip
    for child in [widget, *shown]:
        if isinstance(child, QAbstractButton):
            found.append((child.text(), "button"))
        elif isinstance(child, QLabel) and child.buddy() is not None:
            found.append((child.text(), "label"))
        elif isinstance(child, QGroupBox):
            found.append((child.title(), "group"))
        elif isinstance(child, QTabBar):  # a tab's letter brings the tab forward
            found += [(child.tabText(i), "tab") for i in range(child.count())
                      if child.isTabVisible(i)]  # fmt: skip
        elif isinstance(child, QMenuBar):  # Alt+letter opens the menu
            found += [(action.text(), "menu") for action in child.actions()
                      if action.isVisible()]  # fmt: skip
    return found


def letters_used(widget: QWidget, extra: Iterable[str] = ()) -> dict[str, list[str]]:
    """Each Alt+letter of ``widget`` (and the ``extra`` texts, such as a wizard's own
    buttons) with the texts that use it."""
    used: dict[str, list[str]] = {}
    for text in [t for t, _kind in _texts(widget)] + list(extra):
        letter = mnemonic(text)
        if letter:
            used.setdefault(letter, []).append(text)
    return used


def mnemonic_clashes(widget: QWidget, extra: Iterable[str] = ()) -> dict[str, list[str]]:
    """Letters used by more than one control of ``widget`` (and the ``extra`` texts),
    with the texts that use them."""
    return {letter: texts for letter, texts in letters_used(widget, extra).items()
            if len(texts) > 1}  # fmt: skip


def wizard_button_texts(page: QWizardPage) -> list[str]:
    """The wizard's buttons as this page shows them (a page may rename Next)."""
    buttons = (QWizard.WizardButton.BackButton, QWizard.WizardButton.NextButton,
               QWizard.WizardButton.FinishButton, QWizard.WizardButton.CancelButton,
               QWizard.WizardButton.CommitButton)  # fmt: skip
    return [page.buttonText(b) for b in buttons]


def screens(window: QWidget) -> Iterator[tuple[str, QWidget, list[str]]]:
    """Each thing ``window`` shows at one time: (name, widget to walk, extra texts).

    A wizard shows one page at a time beside its own buttons; a window with a stack
    (the main window's pages, the first-run window's stages) one page of the stack.
    """
    if isinstance(window, QWizard):
        for page_id in window.pageIds():
            page = window.page(page_id)
            yield type(page).__name__, page, wizard_button_texts(page)
        return
    stacks = [stack for stack in window.findChildren(QStackedWidget)
              if not isinstance(stack.parent(), QTabWidget)]  # fmt: skip
    if not stacks:
        yield type(window).__name__, window, []
    for stack in stacks:
        shown = stack.currentIndex()
        for index in range(stack.count()):
            stack.setCurrentIndex(index)
            yield f"{type(stack.widget(index)).__name__} {index}", window, []
        stack.setCurrentIndex(shown)


def window_clashes(window: QWidget) -> dict[str, dict[str, list[str]]]:
    """The clashes of every screen of ``window``, by screen; empty when there are none."""
    found = {}
    for name, widget, extra in screens(window):
        if clashes := mnemonic_clashes(widget, extra):
            found[name] = clashes
    return found


def menu_problems(menus: dict[str, list[QAction]]) -> dict[str, dict[str, list[str]]]:
    """Per menu (its name and its items): letters two items share, and under "none"
    the items without a letter.

    An open menu takes a bare letter key: two items on one letter make it only move
    between them, and an item without one can be reached with the arrow keys only.
    """
    found = {}
    for name, actions in menus.items():
        items = [a for a in actions if a.isVisible() and not a.isSeparator()]
        used: dict[str, list[str]] = {}
        for action in items:
            if letter := mnemonic(action.text()):
                used.setdefault(letter, []).append(action.text())
        problems = {letter: texts for letter, texts in used.items() if len(texts) > 1}
        if missing := [a.text() for a in items if mnemonic(a.text()) is None]:
            problems["none"] = missing
        if problems:
            found[name] = problems
    return found


# GNOME's theme (and so every desktop using the GTK one) names four standard buttons
# with a letter (Qt's qgnometheme.cpp); on the offscreen test platform they have none,
# so a clash with them would pass here and bite a person on Linux.
_LETTERED_ON_GNOME = frozenset({"OK", "Save", "Cancel", "Close"})


class _GnomeButtonTexts(QTranslator):
    def translate(self, context: str, source_text: str, disambiguation: str | None = None,
                  n: int = -1) -> str | None:  # fmt: skip
        if context == "QPlatformTheme" and source_text in _LETTERED_ON_GNOME:
            return f"&{source_text}"
        return None  # not translated: Qt keeps the source text


@contextmanager
def standard_buttons_as_on_gnome() -> Iterator[None]:
    """Dialogs built inside get OK, Save, Cancel and Close with their GNOME letters
    (a button the dialog renamed keeps the name it was given)."""
    app = QCoreApplication.instance()
    translator = _GnomeButtonTexts()
    app.installTranslator(translator)
    # Installing posts a language change to every window open now, which hands it on to
    # its children; delivered after a dialog was built as one of those children, it
    # would put the theme's text back on buttons the dialog renamed. Walk inside too:
    # removing the translator posts another.
    QCoreApplication.sendPostedEvents(None, QEvent.Type.LanguageChange)
    try:
        yield
    finally:
        app.removeTranslator(translator)


def subclasses_in(package: str, base: type) -> set[type]:
    """Every subclass of ``base`` defined in ``package`` (all its modules imported)."""
    root = importlib.import_module(package)
    for module in pkgutil.walk_packages(root.__path__, f"{package}."):
        importlib.import_module(module.name)
    found: set[type] = set()
    pending = [base]
    while pending:
        for sub in pending.pop().__subclasses__():
            pending.append(sub)
            if sub.__module__.startswith(f"{package}."):
                found.add(sub)
    return found
