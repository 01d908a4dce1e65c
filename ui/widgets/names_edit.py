"""A field for several names typed one after another, separated by commas ("7A, 7B"),
where each name completes from a list as it is typed: the Reports page's courses,
classes and events.

Only the name under the cursor is completed; picking a completion puts it in place of
what was typed and adds ", " for the next one. A known name that itself holds a comma
("Art, Design & Technology") is read as one name. Whether a name exists is not this
field's business: the service that uses the names says so (with the closest names).
"""

from __future__ import annotations

from PySide6.QtCore import QStringListModel, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QCompleter, QLineEdit, QWidget

SEPARATOR = ","
# The keys the completion popup answers itself (pick, close, move on): the field must
# not act on them as well while the popup is open.
_POPUP_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape, Qt.Key.Key_Tab,
               Qt.Key.Key_Backtab)  # fmt: skip


class NamesEdit(QLineEdit):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setClearButtonEnabled(True)
        self._names = QStringListModel(self)
        self._values: dict[str, str] = {}  # a shown name -> what the service is given
        self._known: dict[str, str] = {}  # lower-case name -> the name as listed
        # Not setCompleter(): that would complete the whole text, not the name being typed.
        self.completer_ = QCompleter(self._names, self)
        self.completer_.setWidget(self)
        self.completer_.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer_.setFilterMode(Qt.MatchFlag.MatchContains)
        self.completer_.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer_.setMaxVisibleItems(12)
        self.completer_.activated.connect(self._insert)
        self.textEdited.connect(lambda _text: self._complete())

    # ------------------------------------------------------------ the list
    def set_names(self, names: list[str], values: dict[str, str] | None = None) -> None:
        """The names to complete from; ``values`` maps a shown name to what ``values()``
        gives for it (an event's id where two events share a name)."""
        self._names.setStringList(names)
        self._values = dict(values or {})
        self._known = {name.lower(): name for name in names}

    def names(self) -> list[str]:
        return self._names.stringList()

    # ------------------------------------------------------------ reading
    def typed_names(self) -> list[str]:
        """The names in the field, each once, in the order typed; spaces tidied."""
        pieces = [" ".join(piece.split()) for piece in self.text().split(SEPARATOR)]
        found: list[str] = []
        index = 0
        while index < len(pieces):
            # The longest run of pieces that is a known name (a name with commas in it).
            for end in range(len(pieces), index, -1):
                joined = f"{SEPARATOR} ".join(pieces[index:end])
                if end - index == 1 or joined.lower() in self._known:
                    break
            if joined and joined.lower() not in (f.lower() for f in found):
                found.append(self._known.get(joined.lower(), joined))
            index = end
        return found

    def values(self) -> tuple[str, ...]:
        """What to hand the service: each name typed, or the value it stands for."""
        return tuple(self._values.get(name, name) for name in self.typed_names())

    # ------------------------------------------------------------ completing
    def _current(self) -> tuple[int, int]:
        """Where the name under the cursor starts and ends in the text."""
        text, cursor = self.text(), self.cursorPosition()
        start = text.rfind(SEPARATOR, 0, cursor) + 1
        end = text.find(SEPARATOR, cursor)
        return start, len(text) if end < 0 else end

    def _complete(self) -> None:
        start, end = self._current()
        typed = self.text()[start:end].strip()
        if not typed:
            self.completer_.popup().hide()
            return
        self.completer_.setCompletionPrefix(typed)
        if self.completer_.completionCount() == 0:
            self.completer_.popup().hide()
            return
        self.completer_.complete()

    def _insert(self, name: str) -> None:
        start, end = self._current()
        text = self.text()
        before = text[:start].rstrip()
        lead = " " if before else ""
        after = text[end:]
        # At the end, ready for the next name; in the middle, the rest stays as it was.
        self.setText(f"{before}{lead}{name}{SEPARATOR} " if not after.strip()
                     else f"{before}{lead}{name}{after}")  # fmt: skip
        self.setCursorPosition(len(f"{before}{lead}{name}") + (2 if not after.strip() else 0))

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if self.completer_.popup().isVisible() and event.key() in _POPUP_KEYS:
            event.ignore()  # the popup's own: pick, close, move on
            return
        super().keyPressEvent(event)
