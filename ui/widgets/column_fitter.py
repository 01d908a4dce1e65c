"""ColumnFitter: sizes a DataTableView's columns to what they hold, so that every column
stays readable at any window width (the Students page at 1024 px beside its panel)."""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from PySide6.QtCore import QEvent, QObject, QSettings
from PySide6.QtWidgets import QStyle

from ui.models.paged import Editor, display_text
from ui.widgets.data_table import DataTableView

# Long text (names, e-mail addresses) gives up width before anything else, down to
# this many average characters: a typical name still reads, a long one ends in "…".
LONG_TEXT_MINIMUM_CHARS = 17
# No column grows wider than this from its values alone: one odd long value would
# push the other columns off the screen.
WIDEST_FROM_VALUES_CHARS = 60
# The longest values (by characters) of a column that are measured in pixels.
MEASURED_PER_COLUMN = 5


class ColumnFitter(QObject):
    """Keeps a table's columns readable at any window width.

    Each column is as wide as its header and the values of the first page of rows,
    measured once per new list (never while painting), within limits taken from the
    font, plus a little air. A table narrower than that first gives up the air, then
    takes width from the long text columns, down to their minimum, so every column
    stays on screen and only long values end in "…"; it scrolls sideways only when
    even that does not fit. A wider table gives the spare width to the long text
    columns instead of leaving it to whichever column is last.

    A column the user sizes by dragging its divider keeps that width, also after a
    restart (the header's saved state holds it); double-clicking the divider hands
    the column back to the fitter.
    """

    def __init__(self, table: DataTableView, long_text: Iterable[str]) -> None:
        super().__init__(table)
        self.table = table
        self.model = table.paged_model
        titles = [column.title for column in self.model.columns]
        self.long_columns = [titles.index(title) for title in long_text]
        self._hand_key = f"tables/{table.settings_key}/sized_by_hand"
        self.sized_by_hand = set(_titles(QSettings().value(self._hand_key))) & set(titles)
        # The widest value of each column with the cell's padding; until rows arrive,
        # the width the column was declared with.
        self._values_width = [column.width for column in self.model.columns]
        self._measured = False  # the declared widths stand until the first rows come
        self._fitting = False
        self._mouse_down = False
        self._moved_by_hand = False
        header = table.horizontalHeader()
        # The spare width goes to the long text, not to whichever column is last.
        header.setStretchLastSection(False)
        # Kept to tell the two apart: while the table is being destroyed, asking it
        # for its viewport fails.
        self._cells_area = table.viewport()
        self._cells_area.installEventFilter(self)
        header.viewport().installEventFilter(self)
        header.sectionResized.connect(self._section_resized)
        header.sectionHandleDoubleClicked.connect(self._handed_back)
        self.model.modelReset.connect(self.fit_to_rows)
        self._update_minimum_width()

    # ------------------------------------------------------------ measuring
    def fit_to_rows(self) -> None:
        """Size the columns to the header and the rows of the list just loaded.

        A column only ever widens for new rows: columns that narrowed with every
        search would jump under the eyes of someone typing one."""
        count = min(self.model.rowCount(), self.model.PAGE_SIZE)  # all on the first page
        rows = [row for row in map(self.model.row_at, range(count)) if row is not None]
        if not rows:
            return  # nothing to measure: an empty result keeps the widths it had
        cells = self.table.fontMetrics()
        padding = self._cell_padding()
        for number, column in enumerate(self.model.columns):
            # Measuring every text costs milliseconds on each search; the longest few
            # by length hold the widest in any text font.
            texts = {display_text(column.value(row)) for row in rows}
            longest = heapq.nlargest(MEASURED_PER_COLUMN, texts, key=len)
            widest = max(cells.horizontalAdvance(text) for text in longest)
            if column.editor is Editor.CHECK:
                widest = cells.horizontalAdvance("Yes") + self._check_box_width()
            grown = max(self._values_width[number], widest + padding) if self._measured else 0
            self._values_width[number] = max(grown, widest + padding)
        self._measured = True
        self._update_minimum_width()
        self.spread()

    def minimum(self, number: int) -> int:
        """The narrowest the fitter makes a column: its whole header text and, except
        for the long text columns, its widest value; a long text column keeps room
        for a typical name."""
        if number in self.long_columns:
            return max(self._header_width(number), self._chars(LONG_TEXT_MINIMUM_CHARS))
        return self._tight(number)

    def _tight(self, number: int) -> int:
        """Header and values without the air around them."""
        values = min(self._values_width[number], self._chars(WIDEST_FROM_VALUES_CHARS))
        if number in self.long_columns:
            return max(self.minimum(number), values)
        return max(self._header_width(number), values)

    def _wanted(self, number: int) -> int:
        return self._tight(number) + self._chars(1)

    def _chars(self, count: int) -> int:
        return self.table.fontMetrics().averageCharWidth() * count

    def _header_width(self, number: int) -> int:
        header = self.table.horizontalHeader()
        margin = header.style().pixelMetric(QStyle.PixelMetric.PM_HeaderMargin, None, header)
        width = header.fontMetrics().horizontalAdvance(self.model.columns[number].title)
        width += 2 * margin
        if header.isSortIndicatorShown() and header.sortIndicatorSection() == number:
            # The common style takes the sort arrow's room from the label (SE_HeaderLabel).
            width += header.sizeHint().height() // 2 + 2 * margin
        return width

    def _cell_padding(self) -> int:
        # The item delegate's text margin on each side (QCommonStyle: focus frame
        # margin + 1), and the grid line.
        margin = self.table.style().pixelMetric(
            QStyle.PixelMetric.PM_FocusFrameHMargin, None, self.table
        )
        return 2 * (margin + 1) + 1

    def _check_box_width(self) -> int:
        style = self.table.style()
        return style.pixelMetric(QStyle.PixelMetric.PM_IndicatorWidth, None, self.table) + (
            style.pixelMetric(QStyle.PixelMetric.PM_CheckBoxLabelSpacing, None, self.table)
        )

    def _update_minimum_width(self) -> None:
        # Never narrower than every column at its minimum: a splitter or layout takes
        # the room from its other widgets first.
        columns = sum(self.minimum(number) for number in range(len(self.model.columns)))
        scroll_bar = self.table.verticalScrollBar().sizeHint().width()
        self.table.setMinimumWidth(columns + scroll_bar + 2 * self.table.frameWidth())

    # ------------------------------------------------------------ sharing the width
    def spread(self) -> None:
        """Set the column widths for the table's current width."""
        header = self.table.horizontalHeader()
        shown = [n for n in range(len(self.model.columns)) if not header.isSectionHidden(n)]
        fitted = [n for n in shown if not self._by_hand(n)]
        widths = {n: header.sectionSize(n) for n in shown} | {n: self._wanted(n) for n in fitted}
        spare = self.table.viewport().width() - sum(widths.values())
        if spare > 0:
            sharing = [n for n in self.long_columns if n in fitted]
            shares = _shares(spare, [widths[n] for n in sharing])
            for number, extra in zip(sharing, shares, strict=True):
                widths[number] += extra
        # Too narrow: the air goes first, then the long text shrinks to its minimum.
        for floor in (self._tight, self.minimum):
            if spare < 0:
                spare += _cut_widest_first(widths, {n: floor(n) for n in fitted}, -spare)
        self._fitting = True
        try:
            for number, width in widths.items():
                if header.sectionSize(number) != width:
                    header.resizeSection(number, width)
        finally:
            self._fitting = False

    # ------------------------------------------------------------ sized by hand
    def _by_hand(self, number: int) -> bool:
        return self.model.columns[number].title in self.sized_by_hand

    def _section_resized(self, number: int, _old: int, _new: int) -> None:
        if self._fitting or not self._mouse_down:
            return  # the fitter's own work, or the header restoring its saved state
        self._moved_by_hand = True
        title = self.model.columns[number].title
        if title not in self.sized_by_hand:
            self.sized_by_hand.add(title)
            QSettings().setValue(self._hand_key, sorted(self.sized_by_hand))

    def _handed_back(self, number: int) -> None:
        self.sized_by_hand.discard(self.model.columns[number].title)
        QSettings().setValue(self._hand_key, sorted(self.sized_by_hand))
        self.spread()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        kind = event.type()
        if watched is self._cells_area:
            if kind == QEvent.Type.Resize and event.size().width() != event.oldSize().width():
                self.spread()
        elif kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick):
            self._mouse_down = True
        elif kind == QEvent.Type.MouseButtonRelease:
            self._mouse_down = False
            if self._moved_by_hand:  # the other columns fit around the new width
                self._moved_by_hand = False
                self.spread()
        return False


def _shares(amount: int, weights: list[int]) -> list[int]:
    """``amount`` split in proportion to ``weights``, in whole pixels adding up to it.

    The pixels left over by rounding down go to the largest remainders, one each: a
    share never exceeds its weight when ``amount`` does not exceed their sum.
    """
    if not weights:
        return []
    total = sum(weights)
    if total <= 0:
        weights, total = [1] * len(weights), len(weights)
    shares = [amount * weight // total for weight in weights]
    by_remainder = sorted(range(len(weights)), key=lambda i: -(amount * weights[i] % total))
    for i in by_remainder[: amount - sum(shares)]:
        shares[i] += 1
    return shares


def _cut_widest_first(widths: dict[int, int], floors: dict[int, int], amount: int) -> int:
    """Take up to ``amount`` pixels from the columns in ``floors`` (changing ``widths``),
    none below its floor and the widest first: the narrower values stay whole for as
    long as possible. Returns how much was taken."""
    amount = min(amount, sum(max(0, widths[n] - floor) for n, floor in floors.items()))
    if amount <= 0:
        return 0

    def taken_at(level: int) -> int:
        return sum(max(0, widths[n] - max(level, floor)) for n, floor in floors.items())

    # The highest level that cutting down to takes enough ...
    low, high = 0, max(widths[n] for n in floors)
    while low < high:
        middle = (low + high + 1) // 2
        if taken_at(middle) >= amount:
            low = middle
        else:
            high = middle - 1
    # ... and the pixels it takes too many go back, one to each column cut to it.
    give_back = taken_at(low) - amount
    for number, floor in floors.items():
        width = min(widths[number], max(low, floor))
        if give_back and width == low < widths[number]:
            width += 1
            give_back -= 1
        widths[number] = width
    return amount


def _titles(saved: object) -> list[str]:
    # QSettings hands back one remembered title as a plain string.
    if saved is None:
        return []
    if isinstance(saved, str):
        return [saved]
    return [str(title) for title in saved]  # type: ignore[attr-defined]
