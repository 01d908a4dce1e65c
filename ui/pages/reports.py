"""Reports page: choose a report on the left, its filters on the right (only those the
report uses), see the first rows of its main sheet, then Export… (Ctrl+E) it to an
Excel workbook, with progress and Cancel; a bar then says what was saved, with Open
file and Show in folder.

The preview follows the filters a moment after they change (a newer preview replaces
the one queued), and the Preview button or F5 runs it at once. A report that would be
empty says so calmly where the rows would be, and Export… waits for filters that select
something; a filter the report cannot use (a course no one has) is said in one red line
under the filters. The course, class and event names the filters complete from are read
once when the page is first shown, and again after F5 or a change made elsewhere.

Everything the report does runs through app.reports.catalog, on the database worker.
The catalog loads a report's module (and openpyxl with it) there, on first use, so the
start of the window never waits for it.
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.errors import Cancelled, NotFound, RollbookError, ValidationError
from app.domain.rows import CourseRow, EventRow
from app.domain.wording import counted
from app.reports import catalog
from app.reports.kinds import PREVIEW_ROWS, REPORTS, EmptyReport, ReportFilters, report_info
from app.services import courses, events, students
from ui.ops import Op, error_text, hub, show_error
from ui.widgets.date_range import DateRange, school_year_so_far
from ui.widgets.names_edit import NamesEdit
from ui.widgets.readonly_table import readonly_table
from ui.widgets.report_list import ReportList
from ui.widgets.result_bar import ResultBar
from ui.widgets.student_number_edit import StudentNumberEdit

if TYPE_CHECKING:
    from app.reports.kinds import ReportInfo, ReportPreview, ReportSaved

log = logging.getLogger(__name__)

PREVIEW_DEBOUNCE_MS = 500  # typing a name pauses this long before the preview follows
LOADING_NOTICE_MS = 200  # a preview slower than this says it is coming
REPORT_SETTING = "reports/report"
THRESHOLD_SETTING = "reports/threshold"
FOLDER_SETTING = "folders/reports"
DEFAULT_THRESHOLD_PERCENT = 80
MAX_COLUMN_WIDTH = 280  # px: a long comment column must not push the rest off the page
REFUSED = "#a61b1b"  # the red of a refusal (ui.dialogs.parts)

# The filter rows, in the order shown, and the ReportFilters fields each one sets.
FILTER_FIELDS = {
    "courses": ("courses",),
    "classes": ("classes",),
    "student_no": ("student_no",),
    "events": ("events",),
    "dates": ("date_from", "date_to"),
    "threshold": ("threshold",),
}


def cell_text(value: Any, column: str) -> str:
    """A preview cell as the workbook will show it: dates in words, rates as percent."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return f"{value:%-d %b %Y %H:%M}"
    if isinstance(value, date):
        return f"{value:%-d %b %Y}"
    if isinstance(value, time):
        return f"{value:%H:%M}"
    if isinstance(value, float):
        title = column.lower()
        if "rate" in title or "%" in title:
            return f"{value:.0%}"
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def event_choices(rows: list[EventRow]) -> tuple[list[str], dict[str, str]]:
    """The names the events field completes from, and, for a name several events share
    (the fair held every year), each one's name with its date standing for its id."""
    times = Counter(row.name.lower() for row in rows)
    shared = {name for name, count in times.items() if count > 1}
    names: list[str] = []
    values: dict[str, str] = {}
    for row in rows:
        if row.name.lower() in shared:
            shown = f"{row.name} ({row.starts_on:%-d %b %Y})"
            values[shown] = str(row.id)
            names.append(shown)
        else:
            names.append(row.name)
    return names, values


class ReportsPage(QWidget):
    status_message = Signal(str)
    title = "Reports"
    menu_text = "Re&ports"  # in the View menu
    preview_limit: int | None = None  # rows previewed; None for the catalog's PREVIEW_ROWS

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._shown_once = False
        self._preview_op: Op | None = None
        self._export_op: Op | None = None
        self._choices_op: Op | None = None
        # The report and filters the preview shows (or is being read for).
        self._wanted: tuple[str, ReportFilters] | None = None
        self._stale = False  # something changed elsewhere since the preview was read
        self._exportable = False  # the last preview found rows to save
        self.report_list = ReportList()
        self.report_list.setFixedWidth(300)
        self.report_list.currentItemChanged.connect(lambda *_: self._report_chosen())
        self._add_reports()
        self._build_filters()
        self._build_preview()
        self._lay_out()
        self._show_filters(())
        hub().changed.connect(self._data_changed)

    # ------------------------------------------------------------ building
    def _build_filters(self) -> None:
        self.courses = NamesEdit()
        self.courses.setPlaceholderText("All courses; or type course names, separated by commas")
        self.classes = NamesEdit()
        self.classes.setPlaceholderText("All classes; or type classes, e.g. 7A, 7B")
        self.student = StudentNumberEdit()
        self.events = NamesEdit()
        self.events.setPlaceholderText("Type or pick the events, separated by commas")
        first, last = school_year_so_far(date.today())
        self.dates = DateRange(first, last)
        self.threshold = QSpinBox()
        self.threshold.setRange(1, 100)
        self.threshold.setSuffix(" %")
        self.threshold.setValue(int(QSettings().value(THRESHOLD_SETTING,
                                                      DEFAULT_THRESHOLD_PERCENT)))  # fmt: skip
        self.threshold.setToolTip("Attendance rates under this are highlighted in the workbook")
        self.threshold.valueChanged.connect(
            lambda value: QSettings().setValue(THRESHOLD_SETTING, value)
        )
        self.filter_fields: dict[str, QWidget] = {
            "courses": self.courses, "classes": self.classes, "student_no": self.student,
            "events": self.events, "dates": self.dates, "threshold": self.threshold,
        }  # fmt: skip
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        labels = {"courses": "&Courses:", "classes": "Cl&asses:", "student_no": "&Student:",
                  "events": "&Events:", "dates": "&Dates:", "threshold": "Highlight &below:"}  # fmt: skip
        widest = max(QLabel(text.replace("&", "")).sizeHint().width() for text in labels.values())
        for name, field in self.filter_fields.items():
            label = QLabel(labels[name])
            label.setBuddy(field)
            # As wide as the widest: the fields stay in place when the report changes.
            label.setMinimumWidth(widest)
            self.form.addRow(label, field)
        for edit in (self.courses, self.classes, self.student, self.events):
            edit.textChanged.connect(lambda _text: self._filters_changed())
            edit.returnPressed.connect(lambda: self.preview(force=True))
        self.dates.changed.connect(self._filters_changed)
        self.threshold.valueChanged.connect(lambda _v: self._filters_changed())

    def _build_preview(self) -> None:
        self.problem = QLabel("")
        self.problem.setObjectName("filterProblem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(f"QLabel#filterProblem {{ color: {REFUSED}; }}")
        self.problem.hide()
        self.summary = QLabel("")
        self.summary.setObjectName("previewSummary")
        self.summary.setWordWrap(True)
        self.preview_button = QPushButton("&Preview")
        self.preview_button.setToolTip("Read the preview again with the filters as they are (F5)")
        self.preview_button.clicked.connect(lambda: self.preview(force=True))
        self.export_button = QPushButton("E&xport…")
        self.export_button.setToolTip("Save the report as an Excel workbook (Ctrl+E)")
        self.export_button.clicked.connect(self.export)
        self.export_button.setEnabled(False)
        self.table = readonly_table([])
        self.table.setObjectName("reportPreview")
        # Columns as wide as their contents: a stretched last column would set its
        # figures apart from the rest.
        self.table.horizontalHeader().setStretchLastSection(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.hide()
        self.message = QLabel("Loading the reports…")
        self.message.setObjectName("previewMessage")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.message.setStyleSheet(
            "QLabel#previewMessage { color: palette(placeholder-text); background: palette(base);"
            " border: 1px solid palette(mid); padding: 24px; font-size: 11pt; }"
        )
        self.result_bar = ResultBar()
        self._loading_notice = QTimer(self, singleShot=True, interval=LOADING_NOTICE_MS)
        self._loading_notice.timeout.connect(self._show_loading)
        self._preview_timer = QTimer(self, singleShot=True, interval=PREVIEW_DEBOUNCE_MS)
        self._preview_timer.timeout.connect(self.preview)

    def _lay_out(self) -> None:
        report_label = QLabel("&Report:")
        report_label.setBuddy(self.report_list)
        left = QVBoxLayout()
        left.addWidget(report_label)
        left.addWidget(self.report_list, 1)
        filters = QWidget()
        filters.setMaximumWidth(760)  # long fields read badly on a wide window
        filters.setLayout(self.form)
        self.form.setContentsMargins(0, 0, 0, 0)
        actions = QHBoxLayout()
        actions.addWidget(self.summary, 1)
        actions.addWidget(self.preview_button)
        actions.addWidget(self.export_button)
        right = QVBoxLayout()
        right.addWidget(filters)
        right.addWidget(self.problem)
        right.addSpacing(4)
        right.addLayout(actions)
        right.addWidget(self.table, 1)
        right.addWidget(self.message, 1)
        right.addWidget(self.result_bar)
        columns = QHBoxLayout()
        columns.addLayout(left)
        columns.addSpacing(12)
        columns.addLayout(right, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(QLabel(f"<h2 style='margin:0'>{self.title}</h2>"))
        layout.addLayout(columns, 1)
        order = [self.report_list, self.courses, self.classes, self.student, self.events,
                 self.dates.date_from, self.dates.date_to, self.dates.all_dates, self.threshold,
                 self.preview_button, self.export_button, self.table,
                 self.result_bar.open_button, self.result_bar.folder_button,
                 self.result_bar.dismiss_button]  # fmt: skip
        for before, after in itertools.pairwise(order):
            QWidget.setTabOrder(before, after)

    # ------------------------------------------------------------ life cycle
    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if not self._shown_once:  # read from the database when first looked at
            self._shown_once = True
            self._load_choices()
            self._report_chosen()
        elif self._stale:
            self.refresh()

    def focus_start(self) -> None:
        """Where the keyboard starts when the window shows the page: the reports."""
        self.report_list.setFocus()

    def refresh(self) -> None:
        """F5: the names to complete from and the preview, read again."""
        self._stale = False
        self._load_choices()
        self.preview(force=True)

    def _data_changed(self, _tables: frozenset[str]) -> None:
        # Refreshed when the page is shown again: the page shown takes no edits, and a
        # report is read again when it is asked for anyway.
        self._stale = True

    def _add_reports(self) -> None:
        self.report_list.blockSignals(True)  # the choice is acted on when first shown
        for info in REPORTS.values():
            self.report_list.add_report(info.kind.value, info.title, info.description)
        if not self.report_list.choose(str(QSettings().value(REPORT_SETTING, ""))):
            self.report_list.setCurrentRow(0)
        self.report_list.blockSignals(False)

    def _load_choices(self) -> None:
        """The course, class and event names the filters complete from."""
        if self._choices_op is not None:
            self._choices_op.cancel()

        def work(s, ctx, job) -> tuple[list[CourseRow], list[str], list[EventRow]]:
            return (courses.list_courses(s, ctx), students.list_class_names(s, ctx),
                    events.list_events(s, ctx))  # fmt: skip

        op = Op(self, work, show_progress=False, read_only=True)
        # Without them the fields still take typed names; the preview says what is wrong.
        op.success(lambda found: self._choices_loaded(op, *found)).failure(lambda _e: None)
        self._choices_op = op
        op.run()

    def _choices_loaded(self, op: Op, course_rows: list[CourseRow], class_names: list[str],
                        event_rows: list[EventRow]) -> None:  # fmt: skip
        if op is not self._choices_op:
            return
        self._choices_op = None
        self.courses.set_names([row.name for row in course_rows])
        self.classes.set_names(class_names)
        self.events.set_names(*event_choices(event_rows))

    # ------------------------------------------------------------ the report and filters
    def chosen_info(self) -> ReportInfo | None:
        kind = self.report_list.chosen()
        return None if kind is None else report_info(kind)

    def _report_chosen(self) -> None:
        info = self.chosen_info()
        if info is None:
            return
        QSettings().setValue(REPORT_SETTING, info.kind.value)
        self._show_filters(info.filters)
        self.result_bar.hide()  # it was about the report left
        self.preview()

    def _show_filters(self, used: tuple[str, ...]) -> None:
        for name, fields in FILTER_FIELDS.items():
            self.form.setRowVisible(self.filter_fields[name], any(f in used for f in fields))

    def shown_filters(self) -> list[str]:
        """The filter rows the chosen report shows (``FILTER_FIELDS`` names)."""
        return [name for name, field in self.filter_fields.items() if self.form.isRowVisible(field)]

    def filters(self) -> ReportFilters | None:
        """The chosen report's filters as the fields say; None before a report is chosen."""
        info = self.chosen_info()
        if info is None:
            return None
        date_from, date_to = self.dates.chosen()
        values: dict[str, Any] = {
            "courses": self.courses.values(), "classes": tuple(self.classes.typed_names()),
            "student_no": self.student.student_no(), "events": self.events.values(),
            "date_from": date_from, "date_to": date_to,
            "threshold": self.threshold.value() / 100,
        }  # fmt: skip
        return ReportFilters(**{k: v for k, v in values.items() if k in info.filters})

    def _filters_changed(self) -> None:
        self._preview_timer.start()

    # ------------------------------------------------------------ preview
    def preview(self, *, force: bool = False) -> None:
        """Read the preview for the report and filters as they are, unless it shows (or
        is being read for) them already; ``force`` reads it again anyway."""
        self._preview_timer.stop()
        info, filters = self.chosen_info(), self.filters()
        if info is None or filters is None:
            return
        wanted = (info.kind.value, filters)
        if wanted == self._wanted and not force:
            return
        self._wanted = wanted
        if self._preview_op is not None:
            self._preview_op.cancel()  # a newer preview replaces the one queued
        kind = info.kind
        limit = self.preview_limit or PREVIEW_ROWS
        # In a transaction of its own (not read_only): reports read through server-side
        # cursors, which live in a transaction.
        op = Op(self, lambda s, ctx, job: catalog.preview_report(s, ctx, kind, filters, limit),
                show_progress=False)  # fmt: skip
        op.success(lambda shown: self._previewed(op, shown)).failure(
            lambda error: self._preview_failed(op, error))  # fmt: skip
        self._preview_op = op
        self._loading_notice.start()
        op.run()

    def preview_pending(self) -> bool:
        """A preview is queued, being read, or waiting for the typing to pause."""
        return self._preview_op is not None or self._preview_timer.isActive()

    def _show_loading(self) -> None:
        if self._preview_op is not None:
            self.summary.setText("Reading the preview…")

    def _settled(self, op: Op) -> bool:
        """Whether ``op`` is the latest preview (then it is settled now)."""
        if op is not self._preview_op:
            return False  # an answer to filters since changed
        self._preview_op = None
        self._loading_notice.stop()
        return True

    def _previewed(self, op: Op, shown: ReportPreview) -> None:
        if not self._settled(op):
            return
        self._show_problem("")
        self._fill_table(shown)
        parts = [shown.summary] if shown.summary else []
        if shown.total_rows > len(shown.rows):
            parts.append(f"showing the first {len(shown.rows):,} of "
                         f"{counted(shown.total_rows, 'row')}")  # fmt: skip
        self.summary.setText(" — ".join(parts) or counted(shown.total_rows, "row"))
        self.message.hide()
        self.table.show()
        self._set_exportable(True)

    def _preview_failed(self, op: Op, error: BaseException) -> None:
        if not self._settled(op):
            return
        self.summary.setText("")
        self._set_exportable(False)
        if isinstance(error, EmptyReport):
            self._show_problem("")
            self._show_message(str(error))
        elif isinstance(error, ValidationError | NotFound):
            self._show_problem(str(error))
            self._show_message("The preview shows once the filters above are corrected.")
        else:
            # Said where the rows would be, not in a box: the preview runs on its own at
            # every change, and a box each time would be in the way.
            if not isinstance(error, RollbookError):
                log.error("report preview failed", exc_info=error)
            self._show_problem("")
            self._show_message(error_text(error))

    def _set_exportable(self, exportable: bool) -> None:
        self._exportable = exportable
        self.export_button.setEnabled(exportable and self._export_op is None)

    def _show_problem(self, text: str) -> None:
        self.problem.setText(text)
        self.problem.setVisible(bool(text))

    def _show_message(self, text: str) -> None:
        """A calm line where the rows would be (an empty report, nothing to show yet)."""
        self.message.setText(text)
        self.table.hide()
        self.message.show()

    def _fill_table(self, shown: ReportPreview) -> None:
        table = self.table
        table.setUpdatesEnabled(False)
        table.clear()
        table.setColumnCount(len(shown.columns))
        table.setHorizontalHeaderLabels(list(shown.columns))
        table.setRowCount(len(shown.rows))
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for row_number, row in enumerate(shown.rows):
            for column, value in enumerate(row):
                item = QTableWidgetItem(cell_text(value, shown.columns[column]))
                if isinstance(value, int | float) and not isinstance(value, bool):
                    item.setTextAlignment(right)
                table.setItem(row_number, column, item)
        table.resizeColumnsToContents()
        header = table.horizontalHeader()
        for column in range(len(shown.columns)):
            header.resizeSection(column, min(header.sectionSize(column), MAX_COLUMN_WIDTH))
        table.setUpdatesEnabled(True)

    # ------------------------------------------------------------ export
    def export(self) -> None:
        """Export… (and the window's File > Export…, Ctrl+E): ask where, then write the
        chosen report with the filters as they are."""
        info, filters = self.chosen_info(), self.filters()
        if info is None or filters is None or self._export_op:
            return
        if not self._exportable:  # the preview said why, in the page; the status bar too
            why = self.problem.text() or (self.message.text() if self.message.isVisible() else "")
            self.status_message.emit(why or "Nothing to export yet.")
            return
        from ui.actions.save_file import XLSX, ask_save_path  # loaded on first use

        path = ask_save_path(self, f"Export {info.title.lower()}", info.suggested_name,
                             folder_key=FOLDER_SETTING, formats=(XLSX,))  # fmt: skip
        if path is None:
            return
        kind = info.kind
        self.result_bar.hide()
        self.export_button.setEnabled(False)
        op = Op(self, lambda s, ctx, job: catalog.write_report(s, ctx, job, kind, filters, path),
                title=f"Saving {path.name}…")  # fmt: skip
        op.success(self._saved).failure(lambda error: self._not_saved(path, error)).finally_(
            self._export_done)  # fmt: skip
        self._export_op = op
        op.run()

    def _saved(self, saved: ReportSaved) -> None:
        text = (f"Saved {saved.path.name} ({counted(len(saved.sheets), 'sheet')}, "
                f"{counted(saved.rows, 'row')})")  # fmt: skip
        self.result_bar.show_saved(saved.path, text)
        self.status_message.emit(f"{text}.")

    def _not_saved(self, path: Path, error: BaseException) -> None:
        if isinstance(error, Cancelled):
            self.result_bar.show_not_saved("Cancelled; nothing was saved.")
        elif isinstance(error, RollbookError):
            self.result_bar.show_not_saved(f"{path.name} was not saved. {error}")
        else:
            self.result_bar.show_not_saved(f"{path.name} was not saved.")
            show_error(self, error)
        self.status_message.emit(self.result_bar.text.text())

    def _export_done(self) -> None:
        self._export_op = None
        # Export… is there again unless a preview since says there is nothing to save.
        self._set_exportable(self._exportable)

    def export_running(self) -> bool:
        return self._export_op is not None
