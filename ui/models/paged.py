"""A table model that pages rows in lazily from a service query.

The model never holds the whole table: it knows the row count (asked for separately,
shortly after the first page, so the first paint does not wait for it) and keeps a
bounded cache of pages. A row that is not loaded yet shows a placeholder and its page
is requested from the database worker; when the page arrives the view repaints it.
Sorting and filtering change the query and run in SQL; the rows on screen stay until
the new query's first page arrives, so a search goes from the old rows straight to
the new ones, and a new query drops the fetches still queued for the one it replaces.
After any operation that changed this model's entities the cache is marked stale and
visible rows refetched, keeping the scroll position and selection.
"""

from __future__ import annotations

import itertools
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, time
from decimal import Decimal
from enum import Enum
from typing import Any, ClassVar, Generic, TypeVar

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QModelRoleDataSpan,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)  # fmt: skip
from PySide6.QtGui import QBrush, QColor
from sqlalchemy.orm import Session

from app.domain.context import ServiceContext
from app.domain.rows import Page
from ui.ops import Op, error_text, hub, show_error

RowT = TypeVar("RowT")
QueryT = TypeVar("QueryT")
ModelIndex = QModelIndex | QPersistentModelIndex

PLACEHOLDER = "…"
# The row count is asked for this long after the first page has arrived: the view
# paints the new rows first, without the count's work on the worker competing for the
# interpreter.
COUNT_DELAY_MS = 30
ERROR_BRUSH = QBrush(QColor("#f8d7da"))


class Editor(Enum):
    TEXT = "text"
    CHOICE = "choice"  # combo box of fixed values
    DATE = "date"
    INTEGER = "integer"
    CHECK = "check"  # boolean shown as a check box


@dataclass(frozen=True)
class Column(Generic[RowT]):
    title: str
    value: Callable[[Any], Any]
    sort_key: str | None = None
    editor: Editor | None = None
    field: str | None = None  # what the service calls it, for edits
    choices: tuple[str, ...] = ()
    align_right: bool = False
    tooltip: str = ""
    width: int = 120


@dataclass(frozen=True)
class ListSource(Generic[RowT, QueryT]):
    """The service functions that read a whole list (File > Export). Plain functions of
    a session, not model methods: the database worker calls them while the model, a
    QObject, stays on the GUI thread."""

    count: Callable[[Session, ServiceContext, QueryT], int]
    stream: Callable[[Session, ServiceContext, QueryT, int], Iterator[list[RowT]]]


@dataclass
class _CellError:
    row_id: uuid.UUID
    column: int
    message: str


@dataclass
class _State(Generic[QueryT]):
    query: QueryT
    generation: int = 0
    row_count: int = 0
    count_known: bool = False
    pages: OrderedDict[int, list[Any]] = field(default_factory=OrderedDict)
    last_read_page: int = -1
    count_pending: bool = False
    pending: set[int] = field(default_factory=set)
    # The page and count fetches queued or running for this state, so that a state
    # that is replaced can drop those nobody will read.
    fetches: set[Op[Any]] = field(default_factory=set)

    def cancel_fetches(self) -> None:
        for fetch in list(self.fetches):
            fetch.cancel()
        self.fetches.clear()
        self.pending.clear()
        self.count_pending = False


class PagedTableModel(QAbstractTableModel, Generic[RowT, QueryT]):
    PAGE_SIZE: ClassVar[int] = 200
    MAX_CACHED_PAGES: ClassVar[int] = 40  # ~8,000 rows, whatever the table size
    entities: ClassVar[frozenset[str]] = frozenset()
    #: how File > Export reads the whole list; None for a list that cannot be exported
    source: ClassVar[ListSource | None] = None

    #: (row count, whether it is final) after every count or first page
    row_count_changed = Signal(int, bool)
    #: a new filter or sort was asked for; its rows replace the shown ones when they come
    query_started = Signal()
    #: the new filter's first page could not be read (the error is shown); the table is empty
    query_failed = Signal()
    #: a page arrived (tests and the benchmark wait for it)
    page_loaded = Signal(int)
    #: an edit was refused: (index, message); the page shows it at the cell
    edit_failed = Signal(QModelIndex, str)
    #: an edit was saved
    edit_saved = Signal(QModelIndex)

    def __init__(self, columns: list[Column[RowT]], query: QueryT, parent=None) -> None:
        super().__init__(parent)
        self.columns = columns
        self._column_flags = [self._flags_for(column) for column in columns]
        self._alignments = [_RIGHT if column.align_right else None for column in columns]
        self._checkable = [column.editor is Editor.CHECK for column in columns]
        self._generations = itertools.count(1)
        self._state: _State[QueryT] = _State(query)
        # A new query whose first page is on its way; until it arrives the table keeps
        # showing the rows of ``_state``.
        self._incoming: _State[QueryT] | None = None
        self._cell_error: _CellError | None = None
        hub().changed.connect(self._on_entities_changed)

    # ------------------------------------------------------------ to override
    def fetch_page(
        self, session: Session, ctx: ServiceContext, query: QueryT, offset: int, limit: int
    ) -> Page[RowT]:
        raise NotImplementedError

    def count(self, session: Session, ctx: ServiceContext, query: QueryT) -> int:
        raise NotImplementedError

    def save_edit(
        self, session: Session, ctx: ServiceContext, row: RowT, column: Column[RowT], value: Any
    ) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------ query
    @property
    def query(self) -> QueryT:
        """The latest query asked for (its rows may still be on their way)."""
        return (self._incoming or self._state).query

    def set_query(self, query: QueryT) -> None:
        """New filter or sort: start over from the first page.

        The model resets when that page arrives, not now: clearing the table at once
        would paint it empty while the database works, then paint it again. The
        fetches still queued for the query it replaces are dropped (typing a search
        queues one query per pause): the previous new query's first page, and the
        pages and count of the rows on screen, which this query's rows replace.
        """
        if self._incoming is not None:
            self._incoming.cancel_fetches()
        self._state.cancel_fetches()
        self._incoming = _State(query, generation=next(self._generations))
        self._request_page(0, self._incoming)
        self.query_started.emit()

    def preset_query(self, query: QueryT) -> None:
        """Set the query before anything is loaded (restoring a remembered sort order)."""
        self._state.query = query

    def reload(self) -> None:
        self.set_query(self.query)

    def refresh(self) -> None:
        """Data changed elsewhere: refetch what is shown, keep scroll position and selection."""
        if self._incoming is not None:
            self.set_query(self._incoming.query)  # what is shown is about to be replaced
            return
        state = self._state
        state.cancel_fetches()  # answers of the old generation would be dropped anyway
        state.generation = next(self._generations)
        state.pages.clear()
        # The old total may be wrong now; a page fetched meanwhile must not be read
        # from the far end by it (a mirrored read of a stale total misses rows).
        state.count_known = False
        self._request_count()
        if state.row_count:
            self.dataChanged.emit(
                self.index(0, 0), self.index(state.row_count - 1, len(self.columns) - 1)
            )
        else:
            self._request_page(0)

    def _on_entities_changed(self, changed: frozenset[str]) -> None:
        if changed & self.entities:
            self.refresh()

    @property
    def is_loading(self) -> bool:
        return bool(self._state.pending) or self._incoming is not None

    @property
    def row_count_is_final(self) -> bool:
        return self._incoming is None and self._state.count_known

    @property
    def shows_latest_query(self) -> bool:
        """Whether the rows are those of the latest query (not an earlier one's, kept on
        screen until the new first page arrives)."""
        return self._incoming is None

    # ------------------------------------------------------------ paging
    def row_at(self, row: int) -> RowT | None:
        """The loaded row, or None (and its page is requested, unless a new query's
        rows are about to replace these)."""
        if row < 0 or row >= self._state.row_count:
            return None
        page_no, offset = divmod(row, self.PAGE_SIZE)
        page = self._state.pages.get(page_no)
        if page is None:
            if self._incoming is None:
                self._request_page(page_no)
            return None
        if page_no != self._state.last_read_page:
            self._state.pages.move_to_end(page_no)  # least recently read pages go first
            self._state.last_read_page = page_no
        return page[offset] if offset < len(page) else None

    def _request_page(self, page_no: int, state: _State[QueryT] | None = None) -> None:
        state = state or self._state
        if page_no in state.pending:
            return
        state.pending.add(page_no)
        generation, query = state.generation, state.query
        offset = page_no * self.PAGE_SIZE
        total = state.row_count if state.count_known else None
        fetch = Op(
            None,
            lambda s, ctx, job: self._fetch(s, ctx, query, offset, self.PAGE_SIZE, total),
            show_progress=False,
            read_only=True,
        )
        fetch.success(lambda page: self._page_arrived(generation, page_no, page)).failure(
            lambda error: self._fetch_failed(generation, page_no, error)
        ).finally_(lambda: state.fetches.discard(fetch))
        state.fetches.add(fetch)
        fetch.run()

    def _fetch(
        self, session: Session, ctx: ServiceContext, query: QueryT, offset: int, limit: int,
        total: int | None,
    ) -> Page[RowT]:  # fmt: skip
        """Fetch a page; pages in the second half are read from the other end.

        An OFFSET costs a walk over every skipped row, so the last page of a million
        would take a full index walk. Reversing the sort order (every list ends with
        a unique tie-break, so the reversed order is the exact mirror) turns the
        far end into a near one: no page is ever more than half the list away.
        """
        if total is None or offset + limit <= total // 2 or not hasattr(query, "descending"):
            return self.fetch_page(session, ctx, query, offset, limit)
        end = min(offset + limit, total)
        mirrored = replace(query, descending=not query.descending)  # type: ignore[type-var]
        page = self.fetch_page(session, ctx, mirrored, total - end, end - offset)
        return Page(list(reversed(page.rows)), offset, limit, end < total)

    def _request_count(self) -> None:
        state = self._state
        state.count_pending = True
        generation, query = state.generation, state.query
        fetch = Op(
            None, lambda s, ctx, job: self.count(s, ctx, query), show_progress=False, read_only=True
        )
        fetch.success(lambda total: self._count_arrived(generation, total)).finally_(
            lambda: state.fetches.discard(fetch)
        )
        state.fetches.add(fetch)
        fetch.run()

    def _page_arrived(self, generation: int, page_no: int, page: Page[RowT]) -> None:
        incoming = self._incoming
        if incoming is not None and generation == incoming.generation:
            self._show_incoming(incoming, page)
            return
        state = self._state
        if generation != state.generation:
            return  # an answer to a query nobody is looking at any more
        state.pending.discard(page_no)
        self._keep_page(state, page_no, page)
        if not state.count_known:
            loaded_end = page.offset + len(page.rows)
            if page_no == 0 and not page.has_more:
                self._resize(loaded_end)  # the whole list is this page: its size is final
                state.count_known = True
            elif loaded_end > state.row_count:
                self._resize(loaded_end)
            if page_no == 0:
                if page.has_more and not state.count_pending:
                    self._request_count_soon(state)
                self.row_count_changed.emit(state.row_count, state.count_known)
        first = page_no * self.PAGE_SIZE
        last = min(first + len(page.rows), state.row_count) - 1
        if last >= first:
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(self.columns) - 1))
        self.page_loaded.emit(page_no)

    def _keep_page(self, state: _State[QueryT], page_no: int, page: Page[RowT]) -> None:
        state.pages[page_no] = page.rows
        while len(state.pages) > self.MAX_CACHED_PAGES:
            state.pages.popitem(last=False)

    def _show_incoming(self, incoming: _State[QueryT], first_page: Page[RowT] | None) -> None:
        """Replace the rows on screen by the new query's first page (none when it
        failed): one reset, from the old rows straight to the new."""
        self.beginResetModel()
        incoming.pending.discard(0)
        if first_page is None:
            incoming.count_known = True  # nothing more will be read for it
        else:
            self._keep_page(incoming, 0, first_page)
            incoming.row_count = len(first_page.rows)
            incoming.count_known = not first_page.has_more
        self._state, self._incoming, self._cell_error = incoming, None, None
        self.endResetModel()
        if first_page is None:
            return
        if first_page.has_more:
            self._request_count_soon(incoming)
        self.row_count_changed.emit(incoming.row_count, incoming.count_known)
        self.page_loaded.emit(0)

    def _request_count_soon(self, state: _State[QueryT]) -> None:
        """Ask for the row count a moment after the first page arrived.

        Asked at once, the worker thread running the count would take the GIL from the
        GUI thread while it lays out and paints the new rows (for up to the
        interpreter's switch interval each time). The status line can wait that long.
        """
        state.count_pending = True
        generation = state.generation

        def request() -> None:
            # Not for rows that are no longer shown, nor for rows a new query is about
            # to replace (it asks for its own count).
            if state is self._state and generation == state.generation and self._incoming is None:
                self._request_count()

        QTimer.singleShot(COUNT_DELAY_MS, request)

    def _count_arrived(self, generation: int, total: int) -> None:
        state = self._state
        if generation != state.generation:
            return
        state.count_pending = False
        state.count_known = True
        self._resize(total)
        self.row_count_changed.emit(total, True)

    def _fetch_failed(self, generation: int, page_no: int, error: BaseException) -> None:
        incoming = self._incoming
        if incoming is not None and generation == incoming.generation:
            self._show_incoming(incoming, None)  # an empty table under the new filter
            self.query_failed.emit()
        if generation == self._state.generation:
            self._state.pending.discard(page_no)
        show_error(None, error)

    def _resize(self, total: int) -> None:
        current = self._state.row_count
        if total > current:
            self.beginInsertRows(QModelIndex(), current, total - 1)
            self._state.row_count = total
            self.endInsertRows()
        elif total < current:
            self.beginRemoveRows(QModelIndex(), total, current - 1)
            self._state.row_count = total
            for page_no in [p for p in self._state.pages if p * self.PAGE_SIZE >= total]:
                del self._state.pages[page_no]
            self.endRemoveRows()

    # ------------------------------------------------------------ Qt model API
    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else self._state.row_count

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.columns):
            column = self.columns[section]
            if role == Qt.ItemDataRole.DisplayRole:
                return column.title
            if role == Qt.ItemDataRole.ToolTipRole and column.tooltip:
                return column.tooltip
        elif orientation == Qt.Orientation.Vertical and role == Qt.ItemDataRole.DisplayRole:
            return str(section + 1)
        return None

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return self._column_flags[index.column()]

    def _flags_for(self, column: Column[RowT]) -> Qt.ItemFlag:
        # Worked out once per column: combining flags costs more than the rest of a
        # flags() call, and the view asks for every visible cell on every repaint.
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if column.editor is Editor.CHECK:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        elif column.editor is not None:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row_no = index.row()
        if not (0 <= row_no < self._state.row_count) or role not in _ROLES_SERVED:
            return None
        return self._cell_value(self.row_at(row_no), index.column(), role)

    def multiData(self, index: ModelIndex, roles: QModelRoleDataSpan) -> None:  # noqa: N802
        # The delegate asks for seven roles of every visible cell on every paint; in
        # one call they cost one crossing into Python instead of seven, and the row
        # is looked up once.
        row_no = index.row()
        if not (0 <= row_no < self._state.row_count):
            for role_data in roles:
                role_data.clearData()
            return
        row, number = self.row_at(row_no), index.column()
        for role_data in roles:
            role = role_data.role()
            if role in _ROLES_SERVED:
                role_data.setData(self._cell_value(row, number, role))
            else:
                role_data.clearData()

    def _cell_value(self, row: RowT | None, number: int, role: int) -> Any:
        """What data() answers for a cell of ``row`` (None: not loaded yet)."""
        if role == _DISPLAY:
            if row is None:
                return PLACEHOLDER
            value = self.columns[number].value(row)
            if self._checkable[number]:
                return "Yes" if value else "No"
            return display_text(value)
        if role == _ALIGNMENT:
            return self._alignments[number]
        if row is None:
            return None
        if role == _CHECK:
            if not self._checkable[number]:
                return None
            return (
                Qt.CheckState.Checked
                if self.columns[number].value(row)
                else Qt.CheckState.Unchecked
            )
        if role == _EDIT:
            return None if self._checkable[number] else self.columns[number].value(row)
        if not self._is_refused_cell(row, number):
            return None  # background and tooltip: only the cell whose edit was refused
        assert self._cell_error is not None
        return ERROR_BRUSH if role == _BACKGROUND else self._cell_error.message

    def _is_refused_cell(self, row: RowT, number: int) -> bool:
        """The cell whose edit was just refused (shown with its message)."""
        error = self._cell_error
        return (
            error is not None
            and error.column == number
            and error.row_id == getattr(row, "id", None)
        )

    def setData(self, index: ModelIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if not index.isValid():
            return False
        column = self.columns[index.column()]
        row = self.row_at(index.row())
        if row is None or column.editor is None:
            return False
        if column.editor is Editor.CHECK:
            if role != Qt.ItemDataRole.CheckStateRole:
                return False
            value = Qt.CheckState(value) == Qt.CheckState.Checked
        elif role != Qt.ItemDataRole.EditRole:
            return False
        if value == column.value(row):
            return False
        persistent = QPersistentModelIndex(index)
        row_id = getattr(row, "id", None)
        Op(
            None,
            lambda s, ctx, job: self.save_edit(s, ctx, row, column, value),
            title=f"Saving {column.title.lower()}…",
        ).success(lambda _: self._edit_done(persistent)).failure(
            lambda error: self._edit_refused(persistent, row_id, error)
        ).run()
        return True

    def _edit_done(self, index: QPersistentModelIndex) -> None:
        self._cell_error = None
        if index.isValid():
            self.edit_saved.emit(QModelIndex(index))

    def _edit_refused(
        self, index: QPersistentModelIndex, row_id: uuid.UUID | None, error: BaseException
    ) -> None:
        message = error_text(error)
        if row_id is not None and index.isValid():
            self._cell_error = _CellError(row_id, index.column(), message)
            # The cache still holds the stored value: repainting reverts the cell.
            self.dataChanged.emit(QModelIndex(index), QModelIndex(index))
            self.edit_failed.emit(QModelIndex(index), message)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self.columns):
            return
        key = self.columns[column].sort_key
        if key is None:
            return
        self.set_query(
            replace(  # type: ignore[type-var]
                self.query, sort=key, descending=order == Qt.SortOrder.DescendingOrder
            )
        )

    def sort_column_for(self, key: str) -> int:
        for number, column in enumerate(self.columns):
            if column.sort_key == key:
                return number
        return -1


# Plain ints: QModelRoleData.role() hands out ints, and comparing those is cheapest.
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_EDIT = int(Qt.ItemDataRole.EditRole)
_CHECK = int(Qt.ItemDataRole.CheckStateRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_BACKGROUND = int(Qt.ItemDataRole.BackgroundRole)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
_ROLES_SERVED = frozenset({_DISPLAY, _EDIT, _CHECK, _TOOLTIP, _BACKGROUND, _ALIGNMENT})
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


def display_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.0f}"
    return str(value)
