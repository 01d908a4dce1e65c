"""Import roster wizard: file -> format -> columns -> validation -> preview -> import -> summary.

Each step is its own page. Nothing touches the file on the window's thread: sniffing,
the format preview (the first few KB), reading, OneRoster parsing and validation run on
the file worker, comparing with Rollbook on the database worker, so a large file never
freezes the window nor holds up the lists. Nothing is written until the person presses
Import on the preview page; the import then applies that preview (rows changed since
are left alone and listed), and Cancel during the import rolls everything back.
"""

from __future__ import annotations

import html
import json
from enum import IntEnum
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWizard,
    QWizardPage,
)

from app.domain.wording import counted, plural
from app.imports.mapping import (
    FIELD_LABELS,
    ColumnMapping,
    Field,
    auto_map,
    check_mapping,
    layout_key,
)
from app.imports.oneroster import OneRosterFile, import_oneroster
from app.imports.reading import (
    DELIMITERS,
    ENCODINGS,
    FileFormat,
    RawTable,
    UnreadableFile,
    detect_format,
    preview_lines,
    read_table,
    sample_table,
)
from app.imports.roster import RosterOutcome
from app.imports.service import (
    PreparedImport,
    read_roster_folder,
    run_import,
    write_rejected_csv,
)
from app.imports.validation import DateFormat, ImportOptions, suggest_date_format, validate
from ui.actions.save_file import ask_save_path
from ui.ops import Op
from ui.widgets.readonly_table import readonly_table
from ui.wizards.apply_page import ApplyPage as BaseApplyPage
from ui.wizards.apply_page import ask_to_stop

REJECTED_BRUSH = QBrush(QColor("#f8d7da"))
PREVIEW_ROWS = 500
# The mappings a person chose, one per header layout (app.imports.mapping.layout_key),
# the most recent last; the oldest are forgotten beyond this many.
REMEMBERED_LAYOUTS = 50
MAPPINGS_KEY = "import/mappings"


class Step(IntEnum):
    """The wizard's pages, in order."""

    PICK = 0
    FORMAT = 1
    MAPPING = 2
    VALIDATION = 3
    PLAN = 4
    APPLY = 5
    SUMMARY = 6


_LABELS = {"first_name": "First name", "last_name": "Last name", "email": "E-mail",
           "class_name": "Class", "grade_level": "Grade", "birth_date": "Birth date",
           "status": "Status", "sourced_id": "System id", "state_id": "State id"}  # fmt: skip


def _describe(values: dict | None) -> str:
    return "; ".join(f"{_LABELS.get(k, k)}: {v}" for k, v in (values or {}).items())


class ImportState:
    """What the pages share as the person moves through the wizard."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.format: FileFormat | None = None
        self.table = None
        self.mapping: ColumnMapping | None = None
        self.options = ImportOptions()
        self.prepared: PreparedImport | None = None
        self.plan: RosterOutcome | None = None
        self.result: RosterOutcome | None = None
        # A OneRoster or School Data Sync zip or folder: no format or column steps.
        self.oneroster = False
        self.oneroster_file: OneRosterFile | None = None

    def run(self, session, ctx, job, *, commit: bool) -> RosterOutcome:
        """The preview, or (``commit``) the import of the preview the person saw."""
        plan = self.plan.plan if commit and self.plan is not None else None
        if self.oneroster:
            assert self.oneroster_file is not None
            return import_oneroster(session, ctx, self.oneroster_file, commit=commit,
                                    plan=plan, job=job).roster  # fmt: skip
        assert self.prepared is not None
        return run_import(session, ctx, self.prepared, commit=commit, plan=plan, job=job)


class PickFilePage(QWizardPage):
    def __init__(self, state: ImportState) -> None:
        super().__init__()
        self.state = state
        self.setTitle("Choose the roster file")
        self.setSubTitle("A CSV file exported from a spreadsheet or another system, or the "
                         "folder or .zip of a OneRoster or School Data Sync export. You will "
                         "see what it contains before anything changes.")  # fmt: skip
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText(
            "Path to a .csv file, or a OneRoster / School Data Sync .zip or folder"
        )
        browse = QPushButton("B&rowse…")
        browse.clicked.connect(self.browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #a61b1b;")
        self.error.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.error)
        layout.addStretch(1)
        self.registerField("path*", self.path_edit)
        self._read_path: Path | None = None
        self._reading = False
        self.path_edit.textChanged.connect(lambda _text: setattr(self, "_read_path", None))

    def browse(self) -> None:
        folder = QSettings().value("folders/import", str(Path.home()))
        name, _ = QFileDialog.getOpenFileName(self, "Roster file", folder,
                                              "CSV files (*.csv *.txt);;All files (*)")  # fmt: skip
        if name:
            self.path_edit.setText(name)

    def nextId(self) -> int:  # noqa: N802
        if self.state.oneroster or _is_folder_export(self.path_edit.text()):
            return Step.PLAN
        return Step.FORMAT

    def validatePage(self) -> bool:  # noqa: N802
        """Next reads the file on the file worker; the wizard moves on when it could be
        read, or stays here with the reason."""
        path = Path(self.path_edit.text().strip()).expanduser()
        if self._read_path == path:
            return True
        if self._reading:
            return False
        self._reading = True
        self.error.setText(f"Reading {path.name}…")
        oneroster = _is_folder_export(str(path))

        def read(job):
            return read_roster_folder(path) if oneroster else detect_format(path)

        Op(self, read, title="Reading the file…", files=True).success(
            lambda result: self._read(path, oneroster, result)).failure(
            self._unreadable).finally_(self._done_reading).run()  # fmt: skip
        return False

    def _read(self, path: Path, oneroster: bool, result) -> None:
        self.state.path, self.state.oneroster = path, oneroster
        if oneroster:
            self.state.oneroster_file = result
        else:
            self.state.format = result
            QSettings().setValue("folders/import", str(path.parent))
        self.error.setText("")
        self._read_path = path
        self.wizard().next()

    def _unreadable(self, error: BaseException) -> None:
        self.error.setText(str(error))

    def _done_reading(self) -> None:
        self._reading = False

    def initializePage(self) -> None:  # noqa: N802
        self._read_path = None
        self._reading = False


class FormatPage(QWizardPage):
    def __init__(self, state: ImportState) -> None:
        super().__init__()
        self.state = state
        self.setTitle("Check how the file reads")
        self.setSubTitle("Accented letters should look right and columns should split "
                         "where you expect. Change the encoding or delimiter if not.")  # fmt: skip
        self.encoding = QComboBox()
        self.encoding.addItems(list(ENCODINGS))
        self.delimiter = QComboBox()
        for char, name in DELIMITERS.items():
            self.delimiter.addItem(name, char)
        self.warning = QLabel("")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #8a5a00;")
        self.raw = QPlainTextEdit()
        self.raw.setReadOnly(True)
        self.raw.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.columns = readonly_table([])
        form = QFormLayout()
        form.addRow("&Encoding", self.encoding)
        form.addRow("&Delimiter", self.delimiter)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.warning)
        layout.addWidget(QLabel("First lines of the file:"))
        layout.addWidget(self.raw, 1)
        layout.addWidget(QLabel("Read as a table:"))
        layout.addWidget(self.columns, 1)
        self.encoding.currentIndexChanged.connect(self.refresh)
        self.delimiter.currentIndexChanged.connect(self.refresh)
        self._asked = 0

    def initializePage(self) -> None:  # noqa: N802
        fmt = self.state.format
        assert fmt is not None
        for combo in (self.encoding, self.delimiter):
            combo.blockSignals(True)
        self.encoding.setCurrentText(fmt.encoding)
        self.delimiter.setCurrentIndex(max(0, self.delimiter.findData(fmt.delimiter)))
        for combo in (self.encoding, self.delimiter):
            combo.blockSignals(False)
        self.warning.setText("\n".join(fmt.warnings))
        self.refresh()

    def chosen_format(self) -> FileFormat:
        detected = self.state.format
        assert detected is not None
        encoding, delimiter = self.encoding.currentText(), self.delimiter.currentData()
        same = encoding == detected.encoding
        return FileFormat(encoding, delimiter, detected.warnings if same else ())

    def refresh(self) -> None:
        """Show the first lines and the first rows as the chosen format reads them (read
        on the file worker; only the latest choice is shown)."""
        path, fmt = self.state.path, self.chosen_format()
        assert path is not None
        self._asked += 1
        asked = self._asked

        def sample(job) -> tuple[list[str], RawTable | str]:
            lines = preview_lines(path, fmt)
            try:
                return lines, sample_table(path, fmt)
            except UnreadableFile as exc:
                return lines, str(exc)

        Op(self, sample, show_progress=False, files=True).success(
            lambda result: self._show(asked, *result)).run()  # fmt: skip

    def _show(self, asked: int, lines: list[str], table: RawTable | str) -> None:
        if asked != self._asked:
            return  # the person chose another format meanwhile
        self.raw.setPlainText("\n".join(lines))
        if isinstance(table, str):
            self.warning.setText(table)
            self.columns.setRowCount(0)
            return
        self.warning.setText("\n".join(self.chosen_format().warnings))
        self.columns.setColumnCount(len(table.header))
        self.columns.setHorizontalHeaderLabels(table.header)
        self.columns.setRowCount(len(table.rows))
        for r, (_, values) in enumerate(table.rows):
            for c, value in enumerate(values[: len(table.header)]):
                self.columns.setItem(r, c, QTableWidgetItem(value))

    def validatePage(self) -> bool:  # noqa: N802
        self.state.format = self.chosen_format()
        self.state.table = None  # read again, in the chosen format, by the next page
        return True


class MappingPage(QWizardPage):
    def __init__(self, state: ImportState) -> None:
        super().__init__()
        self.state = state
        self.setTitle("Match the columns")
        self.setSubTitle("Rollbook guessed what each column holds. Correct any guess, or "
                         "choose Ignore for columns you do not want imported.")  # fmt: skip
        self.grid = readonly_table(["Column in the file", "Example values", "Import as"])
        self.grid.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.grid.horizontalHeader().setStretchLastSection(False)
        self.grid.setColumnWidth(0, 200)
        self.grid.setColumnWidth(2, 200)
        self.date_format = QComboBox()
        self.date_format.addItem("Work it out from the file", "")
        self.date_format.addItem("YYYY-MM-DD (ISO)", DateFormat.ISO)
        self.date_format.addItem("Day first (23/04/2011)", DateFormat.DAY_FIRST)
        self.date_format.addItem("Month first (04/23/2011)", DateFormat.MONTH_FIRST)
        self.all_or_nothing = QCheckBox("All or nothing: import nothing if any row is rejected")
        # Which columns will not be imported, kept true as the person changes the choices.
        self.not_imported = QLabel("")
        self.not_imported.setWordWrap(True)
        self.not_imported.setStyleSheet("color: #8a5a00;")
        self.remembered_note = QLabel("")
        self.remembered_note.setWordWrap(True)
        self.problem = QLabel("")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #a61b1b;")
        form = QFormLayout()
        form.addRow("&Dates in the file", self.date_format)
        layout = QVBoxLayout(self)
        layout.addWidget(self.remembered_note)
        layout.addWidget(self.grid, 1)
        layout.addWidget(self.not_imported)
        layout.addLayout(form)
        layout.addWidget(self.all_or_nothing)
        layout.addWidget(self.problem)
        self.combos: list[QComboBox] = []

    def initializePage(self) -> None:  # noqa: N802
        self.combos = []
        self.grid.setRowCount(0)
        self.completeChanged.emit()
        if self.state.table is not None:
            self._fill(self.state.table)
            return
        path, fmt = self.state.path, self.state.format
        assert path is not None and fmt is not None
        self.problem.setText(f"Reading {path.name}…")
        Op(self, lambda job: read_table(path, fmt), title="Reading the file…",
           files=True).success(self._read).failure(
            lambda error: self.problem.setText(f"{error} Go Back to choose another format.")
        ).run()  # fmt: skip

    def _read(self, table: RawTable) -> None:
        self.state.table = table
        self.problem.setText("")
        self._fill(table)

    def _fill(self, table: RawTable) -> None:
        remembered = remembered_mapping(table.header)
        mapping = auto_map(table.header, remembered)
        self.remembered_note.setText(
            "The columns are matched as you chose last time for a file with these columns."
            if remembered
            else ""
        )
        self.remembered_note.setVisible(bool(remembered))
        self.grid.setRowCount(len(table.header))
        self.combos = []
        for row, column in enumerate(table.header):
            self.grid.setItem(row, 0, QTableWidgetItem(column))
            examples = [
                values[row] for _, values in table.rows[:5] if row < len(values) and values[row]
            ]
            self.grid.setItem(row, 1, QTableWidgetItem(", ".join(examples)))
            combo = QComboBox()
            combo.setAccessibleName(f"Import {column} as")
            combo.addItem("Ignore", None)
            for target in Field:
                combo.addItem(FIELD_LABELS[target], target)
            chosen = mapping.fields[row]
            combo.setCurrentIndex(max(0, combo.findData(chosen)) if chosen else 0)
            combo.currentIndexChanged.connect(self.completeChanged)
            self.grid.setCellWidget(row, 2, combo)
            self.combos.append(combo)
        self._describe_dates(table, mapping)
        self.completeChanged.emit()

    def _describe_dates(self, table: RawTable, mapping: ColumnMapping) -> None:
        """ "Work it out from the file" says what it worked out."""
        birth = mapping.index_of(Field.BIRTH_DATE)
        found = None
        if birth is not None:
            found = suggest_date_format([v[birth] for _, v in table.rows if birth < len(v)])
        words = {DateFormat.DAY_FIRST: "day first", DateFormat.MONTH_FIRST: "month first"}
        self.date_format.setItemText(
            0, f"Work it out from the file ({words[found]})" if found
            else "Work it out from the file",
        )  # fmt: skip
        self.date_format.setCurrentIndex(0)

    def mapping(self) -> ColumnMapping:
        assert self.state.table is not None
        # Qt hands enum data back as plain strings.
        fields = tuple(Field(c.currentData()) if c.currentData() else None for c in self.combos)
        return ColumnMapping(tuple(self.state.table.header), fields)

    def isComplete(self) -> bool:  # noqa: N802
        if not self.combos:
            return False
        mapping = self.mapping()
        ignored = mapping.ignored_columns
        self.not_imported.setText(
            f"Not imported: {', '.join(ignored)}. Choose what a column holds to import it."
            if ignored else ""
        )  # fmt: skip
        try:
            check_mapping(mapping)
        except UnreadableFile as exc:
            self.problem.setText(str(exc))
            return False
        self.problem.setText("")
        return True

    def validatePage(self) -> bool:  # noqa: N802
        self.state.mapping = self.mapping()
        chosen = self.date_format.currentData()
        self.state.options = ImportOptions(DateFormat(chosen) if chosen else None,
                                           all_or_nothing=self.all_or_nothing.isChecked())  # fmt: skip
        remember_mapping(self.state.mapping)
        return True


def remembered_mapping(header: list[str]) -> dict[str, str | None]:
    """The mapping chosen last time for a file with these columns, or nothing."""
    try:
        layouts = json.loads(QSettings().value(MAPPINGS_KEY, "{}") or "{}")
    except (TypeError, ValueError):
        return {}  # settings written by hand or by another version: start afresh
    chosen = layouts.get(layout_key(header)) if isinstance(layouts, dict) else None
    return chosen if isinstance(chosen, dict) else {}


def remember_mapping(mapping: ColumnMapping) -> None:
    try:
        layouts = json.loads(QSettings().value(MAPPINGS_KEY, "{}") or "{}")
    except (TypeError, ValueError):
        layouts = {}
    if not isinstance(layouts, dict):
        layouts = {}
    key = layout_key(mapping.header)
    layouts.pop(key, None)
    layouts[key] = mapping.as_dict()  # the most recent last
    while len(layouts) > REMEMBERED_LAYOUTS:
        layouts.pop(next(iter(layouts)))
    QSettings().setValue(MAPPINGS_KEY, json.dumps(layouts))


class ValidationPage(QWizardPage):
    """Validates on entry (on the worker); rejected rows are highlighted with the reason."""

    def __init__(self, state: ImportState) -> None:
        super().__init__()
        self.state = state
        self.setTitle("Check the rows")
        self.setSubTitle("Rejected rows are shown in red with the reason. They are kept and "
                         "can be saved to a file, fixed and imported again.")  # fmt: skip
        self.counts = QLabel("Validating…")
        self.counts.setWordWrap(True)
        self.rows = readonly_table([])
        layout = QVBoxLayout(self)
        layout.addWidget(self.counts)
        layout.addWidget(self.rows, 1)
        self._done = False

    def initializePage(self) -> None:  # noqa: N802
        self._done = False
        self.counts.setText("Validating…")
        state = self.state
        assert state.table is not None and state.mapping is not None
        table, mapping, options = state.table, state.mapping, state.options
        Op(self, lambda job: validate(table, mapping, options), title="Validating…",
           files=True).success(self._validated).run()  # fmt: skip

    def _validated(self, result) -> None:
        state = self.state
        assert state.table is not None and state.mapping is not None
        state.prepared = PreparedImport(state.table, state.mapping, result, state.options)
        rejected = {r.line: r for r in result.rejections}
        self.counts.setText(
            f"<b>{result.total_rows:,}</b> rows: <b>{len(result.records):,}</b> ready, "
            f"<b style='color:#a61b1b'>{len(rejected):,}</b> rejected"
            + (f", {result.merged_duplicates:,} identical duplicates merged" if result.merged_duplicates else "")
            + "."
            + (" <b>All or nothing is on: nothing will be imported while rows are rejected.</b>"
               if state.options.all_or_nothing and rejected else "")
            + _dates_read(result)
            + _not_imported(state.mapping.ignored_columns)
        )  # fmt: skip
        header = state.table.header
        shown = [(line, values) for line, values in state.table.rows if line in rejected]
        shown += [
            (line, values)
            for line, values in state.table.rows[:PREVIEW_ROWS]
            if line not in rejected
        ]
        shown.sort()
        self.rows.setColumnCount(len(header) + 2)
        self.rows.setHorizontalHeaderLabels(["Line", *header, "Problem"])
        self.rows.setRowCount(len(shown))
        for r, (line, values) in enumerate(shown):
            problem = rejected.get(line)
            cells = [str(line), *(values[i] if i < len(values) else "" for i in range(len(header))),
                     f"{problem.column}: {problem.message}" if problem else ""]  # fmt: skip
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if problem:
                    item.setBackground(REJECTED_BRUSH)
                    item.setToolTip(problem.message)
                self.rows.setItem(r, c, item)
        self.rows.resizeColumnsToContents()
        for column in range(self.rows.columnCount() - 1):
            self.rows.setColumnWidth(column, min(self.rows.columnWidth(column), 180))
        self._done = True
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802
        return self._done


class PlanPage(QWizardPage):
    """The dry run: exactly what will change."""

    def __init__(self, state: ImportState) -> None:
        super().__init__()
        self.state = state
        self.setTitle("Preview the changes")
        self.setSubTitle("Nothing has been changed yet. Press Import to apply these changes.")
        self.setButtonText(QWizard.WizardButton.NextButton, "&Import")
        self.counts = QLabel("Comparing with Rollbook…")
        self.counts.setWordWrap(True)
        self.changes = readonly_table(["Change", "Student / enrollment", "Before", "After"])
        self.changes.horizontalHeader().setSectionResizeMode(
            1, QHeaderView.ResizeMode.ResizeToContents
        )
        layout = QVBoxLayout(self)
        layout.addWidget(self.counts)
        layout.addWidget(self.changes, 1)
        self._done = False

    def initializePage(self) -> None:  # noqa: N802
        self._done = False
        state = self.state
        Op(self, lambda s, ctx, job: state.run(s, ctx, job, commit=False),
           title="Comparing with Rollbook…").success(self._planned).run()  # fmt: skip

    def _planned(self, outcome: RosterOutcome) -> None:
        self.state.plan = outcome
        self.counts.setText(
            f"Students: <b>{outcome.created:,}</b> to create, <b>{outcome.updated:,}</b> to update, "
            f"{outcome.unchanged:,} unchanged. Enrollments: <b>{outcome.enrollments_created:,}</b> "
            f"to create, <b>{outcome.enrollments_reactivated:,}</b> to reactivate"
            + (f", <b>{outcome.enrollments_ended:,}</b> to end" if outcome.enrollments_ended else "")
            + f". New courses: <b>{outcome.courses_created:,}</b>. Rejected rows: "
            f"<b style='color:#a61b1b'>{len(outcome.rejected):,}</b>."
            + (f" Not enrolled (the student is not active): <b style='color:#a61b1b'>"
               f"{outcome.enrollments_skipped:,}</b>." if outcome.enrollments_skipped else "")
            + _not_imported(outcome.ignored_columns)
            + self._folder_notes()
        )  # fmt: skip
        items = outcome.plan.items if outcome.plan else []
        labels = {"create": "New student", "update": "Update", "create_enrollment": "Enroll",
                  "reactivate_enrollment": "Re-enroll",
                  "skip_enrollment": "Not enrolled"}  # fmt: skip
        # Rejected rows first: a folder export has no rows step, and a CSV's rows may be
        # refused here too (a number that belongs to another e-mail in Rollbook).
        rejected = outcome.rejected[:PREVIEW_ROWS]
        self.changes.setRowCount(len(rejected) + len(items))
        for r, rejection in enumerate(rejected):
            cells = ["Rejected", f"line {rejection.line} ({rejection.column})", "",
                     rejection.message]  # fmt: skip
            for c, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                cell.setBackground(REJECTED_BRUSH)
                cell.setToolTip(rejection.message)
                self.changes.setItem(r, c, cell)
        for r, item in enumerate(items, start=len(rejected)):
            if item.kind == "skip_enrollment":
                before, after = "", item.reason
            elif item.entity == "course_enrollment":
                before = "ended" if item.before else ""
                after = "enrolled"
            else:
                before, after = _describe(item.before), _describe(item.after)
            for c, text in enumerate([labels.get(item.kind, item.kind), item.key, before, after]):
                self.changes.setItem(r, c, QTableWidgetItem(text))
        if outcome.plan and outcome.plan.items_truncated:
            self.counts.setText(
                self.counts.text() + f" (the first {len(items):,} changes are listed)"
            )
        self._done = True
        self.completeChanged.emit()

    def _folder_notes(self) -> str:
        """For a OneRoster or School Data Sync export: what it was read as, and its warnings."""
        file = self.state.oneroster_file
        if not self.state.oneroster or file is None:
            return ""
        warnings = "".join(f"<li>{html.escape(text)}</li>" for text in file.warnings)
        return (f"<p>Read as {html.escape(file.format)}.</p>"
                + (f"<p style='color:#8a5a00'>Warnings:</p><ul>{warnings}</ul>" if warnings else ""))  # fmt: skip

    def isComplete(self) -> bool:  # noqa: N802
        return self._done


def _not_imported(columns: list[str]) -> str:
    if not columns:
        return ""
    names = ", ".join(html.escape(c) for c in columns)
    return (f"<p style='color:#8a5a00'>Columns not imported: <b>{names}</b> — go Back to the "
            "columns step to import one.</p>")  # fmt: skip


def _dates_read(result) -> str:
    """Which day/month order the file's dates were read in, when it was worked out."""
    words = {DateFormat.DAY_FIRST: "day first (23/04/2011)",
             DateFormat.MONTH_FIRST: "month first (04/23/2011)"}  # fmt: skip
    if getattr(result, "date_format_inferred", False) and result.date_format in words:
        return f" Dates were read {words[result.date_format]}, as the file's dates show."
    if result.date_format is None and any("--date-format" in r.message for r in result.rejections):
        # The rows' reason names the command line's option; here the choice is a list.
        return (" <b>No date in the file settles whether it is day or month first:</b> go "
                "Back and choose the order under <i>Dates in the file</i>.")  # fmt: skip
    return ""


class ApplyPage(BaseApplyPage):
    def __init__(self, state: ImportState) -> None:
        super().__init__(
            title="Importing", working="Importing…", cancel_label="&Cancel import",
            subtitle="All changes are applied together; Cancel leaves Rollbook exactly as it was.",
            nothing_changed="Nothing was imported.",
        )  # fmt: skip
        self.state = state

    def work(self):
        state = self.state
        return lambda s, ctx, job: state.run(s, ctx, job, commit=True)

    def keep(self, result: RosterOutcome) -> None:
        self.state.result = result

    def keep_error(self, text: str) -> None:
        self.state.result = None

    def has_result(self) -> bool:
        return self.state.result is not None


class SummaryPage(QWizardPage):
    def __init__(self, state: ImportState) -> None:
        super().__init__()
        self.state = state
        self.setTitle("Import finished")
        self.setSubTitle("The students list shows the imported students now.")
        self.text = QLabel("")
        self.text.setWordWrap(True)
        self.save_button = QPushButton("&Save rejected rows…")
        self.save_button.clicked.connect(self.save_rejected)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)

    def initializePage(self) -> None:  # noqa: N802
        outcome = self.state.result
        assert outcome is not None
        if outcome.applied:
            headline = "The roster was imported."
        else:
            headline = ("Nothing was imported: rows were rejected (or changed since the "
                        "preview) and all or nothing was chosen.")  # fmt: skip
        stale = "".join(f"<li>{item.label}</li>" for item in outcome.stale[:20])
        skipped = "".join(f"<li>{text}</li>" for text in outcome.skipped[:20])
        self.text.setText(
            f"<p><b>{headline}</b></p><p>{counted(outcome.created, 'student')} created, "
            f"{outcome.updated:,} updated, {outcome.unchanged:,} unchanged; "
            f"{counted(outcome.enrollments_created, 'enrollment')} created, "
            f"{outcome.enrollments_reactivated:,} reactivated; "
            f"{counted(outcome.courses_created, 'new course')}.</p><p>"
            f"{counted(len(outcome.rejected), 'row')} "
            f"{plural(len(outcome.rejected), 'was')} rejected"
            + (" — save them, fix them in a spreadsheet and import the file again.</p>"
               if outcome.rejected else ".</p>")
            + (f"<p><b>{len(outcome.stale):,} left as they are</b> because they changed since "
               f"the preview (import the file again to see them now):</p><ul>{stale}</ul>"
               if outcome.stale else "")
            + (f"<p><b>{outcome.enrollments_skipped:,} not enrolled</b> because the student is "
               f"not active:</p><ul>{skipped}</ul>" if outcome.skipped else "")
            + _not_imported(outcome.ignored_columns).replace(
                " — go Back to the columns step to import one", "")
        )  # fmt: skip
        self.save_button.setVisible(bool(outcome.rejected))

    def save_rejected(self, *, path: str | None = None) -> None:
        outcome, source = self.state.result, self.state.path
        assert outcome is not None and source is not None
        header = list(self.state.table.header) if self.state.table else []
        if path is None:
            path = ask_save_path(self, "Save rejected rows", f"{source.stem}-rejected.csv",
                                folder_key="folders/rejected",
                                default_folder=source.parent)  # fmt: skip
            if path is None:
                return
        count = write_rejected_csv(Path(path), header, outcome.rejected)
        self.text.setText(
            self.text.text() + f"<p>Saved {count:,} rejected rows to {Path(path).name}.</p>"
        )


class CsvImportWizard(QWizard):
    def __init__(self, parent=None, path: str | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import roster")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage)
        self.resize(960, 660)
        self.state = ImportState()
        self.pick = PickFilePage(self.state)
        self.format_page = FormatPage(self.state)
        self.mapping_page = MappingPage(self.state)
        self.validation_page = ValidationPage(self.state)
        self.plan_page = PlanPage(self.state)
        self.apply_page = ApplyPage(self.state)
        self.summary_page = SummaryPage(self.state)
        pages = {Step.PICK: self.pick, Step.FORMAT: self.format_page,
                 Step.MAPPING: self.mapping_page, Step.VALIDATION: self.validation_page,
                 Step.PLAN: self.plan_page, Step.APPLY: self.apply_page,
                 Step.SUMMARY: self.summary_page}  # fmt: skip
        for step, page in pages.items():
            self.setPage(step, page)
        if path:
            self.pick.path_edit.setText(path)

    def reject(self) -> None:
        if ask_to_stop(self, self.apply_page, "Cancel import",
                       "Stop the import? Nothing will be changed."):  # fmt: skip
            super().reject()


def _is_folder_export(text: str) -> bool:
    """A zip or a folder: another system's export of several CSVs (OneRoster or School
    Data Sync), read by app.imports.service.read_roster_folder; not a single roster CSV."""
    path = Path(text.strip()).expanduser() if text.strip() else None
    return bool(path) and (path.suffix.lower() == ".zip" or path.is_dir())
