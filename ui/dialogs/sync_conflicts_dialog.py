"""Tools > Sync conflicts… (and the status bar's conflicts link): what the school server
could not merge, for a person to decide, side by side.

The list shows each open conflict: when, what kind, the row (a student by number and
name) and the column. Choosing one shows the value it started from, this desktop's and
the server's side by side, and the choices that kind offers (app.sync.resolve.choices);
every choice is previewed — what deciding would change, from a dry run — before Decide
applies it. Several selected conflicts of one kind can be decided alike ("the server's
version for all of these"), also after a preview. Decisions are ordinary changes: they
go to the server at the next sync.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.wording import counted
from app.sync.conflicts import ConflictRow, open_conflicts
from app.sync.resolve import (
    Resolution,
    choices,
    describe_conflict_row,
    resolve_conflict,
    resolve_many,
)
from ui.ops import Op
from ui.widgets.readonly_table import readonly_table

KIND_WORDS = {
    "column": "Both changed",
    "edit_delete": "Changed here, deleted there",
    "delete_edit": "Deleted here, changed there",
    "duplicate_key": "Made on two desktops",
    "missing_row": "Not on the server",
    "refused": "Refused",
}


def value_text(value: Any) -> str:
    """A value as a person reads it: text as it is, nothing as "(empty)"."""
    if value is None:
        return "(empty)"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _row_words(value: Any) -> str:
    """A whole row kept by a conflict, a field per line."""
    if not isinstance(value, dict):
        return value_text(value)
    hidden = {"id", "school_id", "row_version", "updated_at", "created_at"}
    return "\n".join(f"{k}: {value_text(v)}" for k, v in value.items() if k not in hidden)


def _load(session, ctx, _job) -> list[tuple[ConflictRow, str]]:
    return [(c, describe_conflict_row(session, c.entity, c.entity_id,
                                      c.server if isinstance(c.server, dict) else
                                      c.local if isinstance(c.local, dict) else None))
            for c in open_conflicts(session, ctx.school_id)]  # fmt: skip


class SyncConflictsDialog(QDialog):
    #: conflicts were decided (the status bar's count is out of date)
    decided = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sync conflicts")
        self.resize(980, 640)
        self.conflicts: list[tuple[ConflictRow, str]] = []
        intro = QLabel("Changes the school server could not merge with what it already had. "
                       "Choose what to keep for each; your decision is sent to the server at "
                       "the next sync.")  # fmt: skip
        intro.setWordWrap(True)
        self.table = readonly_table(["When", "What happened", "Row", "Column"])
        header = self.table.horizontalHeader()
        for column in range(3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._selected_changed)

        # Side by side: where both started, this desktop, the server.
        self.sides = QGroupBox("Values")
        grid = QGridLayout(self.sides)
        self.side_views: dict[str, QPlainTextEdit] = {}
        for column, (key, title) in enumerate((("base", "Before both changes"),
                                              ("local", "This desktop"),
                                              ("server", "School server"))):  # fmt: skip
            caption = QLabel(f"<b>{title}</b>")
            view = QPlainTextEdit()
            view.setReadOnly(True)
            view.setObjectName(f"side_{key}")
            view.setMaximumHeight(120)
            grid.addWidget(caption, 0, column)
            grid.addWidget(view, 1, column)
            self.side_views[key] = view

        self.choice_box = QGroupBox("Keep")
        self.choice_layout = QFormLayout(self.choice_box)
        self.choice_group = QButtonGroup(self)
        self.choice_group.buttonToggled.connect(lambda *_: self._preview())
        self.value_edit = QLineEdit()
        self.preview = QPlainTextEdit()
        self.preview.setReadOnly(True)
        self.preview.setObjectName("preview")
        self.preview.setPlaceholderText("What deciding would change appears here.")
        self.preview.setMaximumHeight(110)

        self.like_button = QPushButton("Select &all like this")
        self.like_button.setToolTip("Every conflict of the same kind about the same table and "
                                    "column, to decide them alike (after a preview)")  # fmt: skip
        self.like_button.clicked.connect(self.select_alike)
        self.row_button = QPushButton("Whole &row")
        self.row_button.setToolTip("Every conflict about the same row (a student changed in "
                                   "several columns on both sides), to decide the row at once")  # fmt: skip
        self.row_button.clicked.connect(lambda: self.select_alike(whole_row=True))
        self.decide_button = QPushButton("&Decide")
        self.decide_button.setEnabled(False)
        self.decide_button.clicked.connect(self.decide)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.like_button)
        buttons.addWidget(self.row_button)
        buttons.addWidget(self.decide_button)
        buttons.addWidget(close)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.sides)
        layout.addWidget(self.choice_box)
        layout.addWidget(QLabel("Preview:"))
        layout.addWidget(self.preview)
        layout.addLayout(buttons)
        self._preview_op: Op | None = None
        self.refresh()

    # ------------------------------------------------------------ listing

    def refresh(self) -> None:
        Op(self, _load, read_only=True, title="Reading the conflicts…").success(self._show).run()

    def _show(self, conflicts: list[tuple[ConflictRow, str]]) -> None:
        self.conflicts = conflicts
        self.table.setRowCount(len(conflicts))
        for r, (c, label) in enumerate(conflicts):
            kind = KIND_WORDS.get(c.kind, c.kind)
            if c.from_pull:
                kind += " (server's row)"
            column = c.column.replace("_", " ").capitalize()  # "first_name": "First name"
            for col, value in enumerate((f"{c.created_at.astimezone():%Y-%m-%d %H:%M}", kind,
                                         label, column)):  # fmt: skip
                self.table.setItem(r, col, QTableWidgetItem(value))
        if conflicts:
            self.table.selectRow(0)
            self.status.setText(f"{counted(len(conflicts), 'conflict')} to decide.")
        else:
            self.status.setText("No conflicts wait for a decision.")
            self._clear()
        self.table.setFocus()

    def select_alike(self, *, whole_row: bool = False) -> None:
        """Select every conflict like the current one ("the server's version for all
        the attendance marks"), or every one about its row."""
        current = self.table.currentRow()
        if not 0 <= current < len(self.conflicts):
            return
        like = self.conflicts[current][0]

        def key(c: ConflictRow) -> tuple:
            if whole_row:
                return (c.kind, c.entity, c.entity_id, c.from_pull)
            return (c.kind, c.entity, c.column, c.from_pull)

        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        for row, (c, _label) in enumerate(self.conflicts):
            if key(c) == key(like):
                self.table.selectRow(row)
        self.table.setSelectionMode(mode)

    def selected(self) -> list[ConflictRow]:
        rows = sorted({i.row() for i in self.table.selectedItems()})
        return [self.conflicts[r][0] for r in rows if r < len(self.conflicts)]

    def _clear(self) -> None:
        for view in self.side_views.values():
            view.setPlainText("")
        self._set_choices([])
        self.preview.setPlainText("")
        self.decide_button.setEnabled(False)

    # ------------------------------------------------------------ choosing

    def _selected_changed(self) -> None:
        chosen = self.selected()
        if not chosen:
            self._clear()
            return
        first = chosen[0]
        alike = all(c.kind == first.kind and c.from_pull == first.from_pull for c in chosen)
        if len(chosen) == 1:
            self._show_sides(first)
        else:
            for view in self.side_views.values():
                view.setPlainText(f"{len(chosen)} conflicts selected")
        offered = choices(first.kind, first.from_pull) if alike else []
        if len(chosen) > 1:  # one value for many rows would rarely be meant
            offered = [c for c in offered if c[0] != "value"]
        self._set_choices(offered)
        if not alike:
            self.preview.setPlainText("Select conflicts of one kind to decide them alike.")

    def _show_sides(self, c: ConflictRow) -> None:
        if c.kind == "column":
            values = {"base": c.base, "local": c.local, "server": c.server}
            texts = {k: value_text(v) for k, v in values.items()}
        else:
            texts = {"base": "", "local": _row_words(c.local),
                     "server": _row_words(c.server) if c.server else c.detail or ""}  # fmt: skip
            if c.kind == "edit_delete":
                texts["server"] = "Deleted\n" + texts["server"]
            elif c.kind == "delete_edit":
                texts["local"] = "Deleted"
            elif c.kind == "duplicate_key" and not c.from_pull:
                texts["server"] = f"Already has this key: {c.detail or ''}"
        for key, view in self.side_views.items():
            view.setPlainText(texts[key])

    def _set_choices(self, offered: list[tuple[str, str]]) -> None:
        for button in self.choice_group.buttons():
            self.choice_group.removeButton(button)
        while self.choice_layout.rowCount():
            self.choice_layout.removeRow(0)  # deletes its widgets, the value field too
        self.value_edit = QLineEdit()
        self.value_edit.setPlaceholderText("the value to keep")
        self.value_edit.textEdited.connect(lambda _t: self._preview())
        for number, (take, words) in enumerate(offered, start=1):
            button = QRadioButton(f"&{number} {words}")
            button.setProperty("take", take)
            self.choice_group.addButton(button)
            if take == "value":
                self.choice_layout.addRow(button, self.value_edit)
                button.toggled.connect(lambda on: on and self.value_edit.setFocus())
            else:
                self.choice_layout.addRow(button)
        if offered:
            self.choice_group.buttons()[0].setChecked(True)

    def choice(self) -> tuple[str | None, str | None]:
        button = self.choice_group.checkedButton()
        if button is None:
            return None, None
        take = button.property("take")
        return take, (self.value_edit.text() if take == "value" else None)

    # ------------------------------------------------------------ preview and decide

    def _preview(self) -> None:
        take, value = self.choice()
        chosen = self.selected()
        if take is None or not chosen or (take == "value" and not (value or "").strip()):
            self.preview.setPlainText("" if take != "value" else "Type the value to keep.")
            self.decide_button.setEnabled(False)
            return
        if self._preview_op is not None:
            self._preview_op.cancel()
        ids = [c.id for c in chosen]
        self._preview_op = Op(self, lambda s, ctx, job: _decide(s, ctx, ids, take, value,
                                                                dry_run=True),
                              show_progress=False)  # fmt: skip
        self._preview_op.success(self._show_preview).failure(self._preview_failed).run()

    def _show_preview(self, outcomes: list[Resolution]) -> None:
        lines = [line for o in outcomes for line in o.changes]
        lines += [f"kept: {line}" for o in outcomes for line in o.kept_existing]
        self.preview.setPlainText("\n".join(lines) or "Nothing changes here.")
        self.decide_button.setEnabled(True)

    def _preview_failed(self, error: BaseException) -> None:
        self.preview.setPlainText(f"Cannot be decided this way: {error}")
        self.decide_button.setEnabled(False)

    def decide(self) -> None:
        take, value = self.choice()
        chosen = self.selected()
        if take is None or not chosen:
            return
        if len(chosen) > 1:
            answer = QMessageBox.question(
                self, "Decide alike",
                f"Decide {counted(len(chosen), 'conflict')} the same way "
                f"({self.choice_group.checkedButton().text().replace('&', '')[2:]})?")  # fmt: skip
            if answer != QMessageBox.StandardButton.Yes:
                return
        ids = [c.id for c in chosen]
        self.decide_button.setEnabled(False)
        Op(self, lambda s, ctx, job: _decide(s, ctx, ids, take, value),
           title="Deciding…").success(self._decided).run()  # fmt: skip

    def _decided(self, outcomes: list[Resolution]) -> None:
        closed = sum(o.resolved for o in outcomes)
        self.status.setText(f"Decided; {counted(closed, 'conflict')} closed. The server gets "
                            "the decision at the next sync.")  # fmt: skip
        self.decided.emit()
        self.refresh()


def _decide(session, ctx, ids: list[uuid.UUID], take: str, value: str | None, *,
            dry_run: bool = False) -> list[Resolution]:  # fmt: skip
    if value is not None:
        return [resolve_conflict(session, ctx, ids[0], take, value, dry_run=dry_run)]
    return resolve_many(session, ctx, ids, take, dry_run=dry_run)
