"""Turning raw rows into roster records, field by field, with reasons for every refusal.

Nothing here touches the database; rules that need it (a student number that belongs
to another e-mail) are checked set-based when the plan is made.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from app.domain.enums import StudentStatus
from app.domain.errors import ValidationError
from app.domain.student_fields import EMAIL_PATTERN, parse_grade
from app.imports.mapping import FIELD_LABELS, ColumnMapping, Field, split_full_name
from app.imports.reading import RawTable
from app.runs.rejections import Rejection

EXCEL_SCIENTIFIC = re.compile(r"^\d+(?:[.,]\d+)?[eE]\+?\d+$")
ISO_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
OTHER_DATE = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})$")
STATUS_WORDS = {
    "active": "active", "enrolled": "active", "inactive": "inactive",
    "withdrawn": "withdrawn", "left": "withdrawn", "tobedeleted": "inactive",
}  # fmt: skip
STUDENT_FIELDS = ("student_no", "email", "first_name", "last_name", "class_name",
                  "grade_level", "birth_date", "status")  # fmt: skip


class DateFormat(StrEnum):
    ISO = "YMD"  # 2011-04-23
    DAY_FIRST = "DMY"  # 23/04/2011
    MONTH_FIRST = "MDY"  # 04/23/2011


@dataclass(frozen=True)
class ImportOptions:
    date_format: DateFormat = DateFormat.ISO
    all_or_nothing: bool = False


@dataclass(slots=True)  # not frozen: a 100,000-row file builds 100,000 of these
class RosterRecord:
    line: int
    student_no: str | None
    email: str | None
    first_name: str | None
    last_name: str | None
    class_name: str | None
    grade_level: int | None
    birth_date: date | None
    status: str | None
    course: str | None
    sourced_id: str | None = None  # OneRoster sourcedId

    @property
    def key(self) -> str:
        return self.student_no or f"@{(self.email or '').lower()}"

    def student_values(self) -> tuple:
        """What must agree between two rows about the same student (e-mail ignoring case)."""
        return (self.student_no, self.email.lower() if self.email else None, self.first_name,
                self.last_name, self.class_name, self.grade_level, self.birth_date, self.status)  # fmt: skip


@dataclass
class ValidationResult:
    records: list[RosterRecord] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    merged_duplicates: int = 0
    total_rows: int = 0
    # Enrollments the file ends (OneRoster's tobedeleted): (student key, course name).
    ended: list[tuple[str, str]] = field(default_factory=list)


def parse_date(value: str, fmt: DateFormat) -> date:
    """A date in ISO form, or in the file's chosen day/month order."""
    text = value.strip()
    if match := ISO_DATE.match(text):
        year, month, day = (int(p) for p in match.groups())
        return _make_date(year, month, day, value)
    match = OTHER_DATE.match(text)
    if not match:
        raise ValidationError("birth_date", f"{value!r} is not a date; use YYYY-MM-DD.")
    first, second, year = (int(p) for p in match.groups())
    if year < 100:
        year += 2000 if year <= date.today().year % 100 else 1900
    if fmt is DateFormat.ISO:
        if first <= 12 and second <= 12 and first != second:
            raise ValidationError(
                "birth_date",
                f"{value!r} is ambiguous: it could be {first} {_month(second)} or "
                f"{second} {_month(first)}. Choose the file's date format (day first or "
                "month first) and validate again.",
            )
        raise ValidationError(
            "birth_date",
            f"{value!r} is not in YYYY-MM-DD form; choose the file's date format "
            f"({'day first' if first > 12 else 'month first'}) and validate again.",
        )
    day, month = (first, second) if fmt is DateFormat.DAY_FIRST else (second, first)
    return _make_date(year, month, day, value)


def _month(number: int) -> str:
    return date(2000, number, 1).strftime("%B") if 1 <= number <= 12 else str(number)


def _make_date(year: int, month: int, day: int, original: str) -> date:
    try:
        parsed = date(year, month, day)
    except ValueError:
        raise ValidationError("birth_date", f"{original!r} is not a real date.") from None
    if parsed > date.today() or parsed.year < 1900:
        raise ValidationError("birth_date", f"{original!r} is not a plausible birth date.")
    return parsed


def suggest_date_format(values: list[str]) -> DateFormat | None:
    """Day-first if any value has a first part above 12, month-first if a second part does."""
    for value in values:
        if match := OTHER_DATE.match(value.strip()):
            first, second = int(match.group(1)), int(match.group(2))
            if first > 12:
                return DateFormat.DAY_FIRST
            if second > 12:
                return DateFormat.MONTH_FIRST
    return None


class _RowError(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


class _Columns:
    """Where each field sits in a row, worked out once per file, not once per cell."""

    def __init__(self, mapping: ColumnMapping) -> None:
        self.mapping = mapping
        self.index = {target: mapping.index_of(target) for target in Field}

    def name(self, target: Field) -> str:
        index = self.index[target]
        return self.mapping.header[index] if index is not None else FIELD_LABELS[target]


def _record(
    line: int, values: list[str], columns: _Columns, options: ImportOptions
) -> RosterRecord:
    index, width, mapping = columns.index, len(values), columns.mapping

    def get(target: Field) -> str | None:
        position = index[target]
        if position is None or position >= width:
            return None
        return values[position] or None

    column_name = columns.name

    student_no = get(Field.STUDENT_NO)
    if student_no and EXCEL_SCIENTIFIC.match(student_no):
        raise _RowError(column_name(Field.STUDENT_NO),
                        f"{student_no!r} looks like a number Excel turned into scientific "
                        "notation; the real student number is lost. Format the column as "
                        "Text in Excel, fix the numbers and export again.")  # fmt: skip
    email = get(Field.EMAIL)
    if not student_no and not email:
        target = Field.STUDENT_NO if mapping.has(Field.STUDENT_NO) else Field.EMAIL
        raise _RowError(column_name(target), "A student number or an e-mail is required to "
                        "know which student this row is.")  # fmt: skip
    if email and not EMAIL_PATTERN.match(email):
        raise _RowError(column_name(Field.EMAIL), f"{email!r} is not a valid e-mail address.")
    first, last = get(Field.FIRST_NAME), get(Field.LAST_NAME)
    full = get(Field.FULL_NAME)
    if full and not (first or last):
        first, last = split_full_name(full)
    if not (first or last):
        target = Field.FULL_NAME if mapping.has(Field.FULL_NAME) else Field.LAST_NAME
        raise _RowError(column_name(target), "The student's name is missing.")
    status = get(Field.STATUS)
    if status is not None:
        word = STATUS_WORDS.get(status.lower().replace(" ", ""))
        if word is None:
            allowed = ", ".join(s.value for s in StudentStatus)
            raise _RowError(column_name(Field.STATUS),
                            f"{status!r} is not a student status; use {allowed}.")  # fmt: skip
        status = word
    try:
        grade = parse_grade(get(Field.GRADE))
    except ValidationError as exc:
        raise _RowError(column_name(Field.GRADE), str(exc)) from None
    birth = get(Field.BIRTH_DATE)
    try:
        birth_date = parse_date(birth, options.date_format) if birth else None
    except ValidationError as exc:
        raise _RowError(column_name(Field.BIRTH_DATE), str(exc)) from None
    course = get(Field.COURSE)
    return RosterRecord(
        line=line,
        student_no=student_no,
        email=email,
        first_name=first,
        last_name=last,
        class_name=get(Field.CLASS_NAME),
        grade_level=grade,
        birth_date=birth_date,
        status=status,
        course=" ".join(course.split()) if course else None,
    )


def validate(table: RawTable, mapping: ColumnMapping, options: ImportOptions) -> ValidationResult:
    """Every row either becomes a record or a rejection naming its line and column."""
    result = ValidationResult(total_rows=table.row_count)
    header = list(mapping.header)
    records: list[RosterRecord] = []
    columns = _Columns(mapping)
    for line, values in table.rows:
        try:
            records.append(_record(line, values, columns, options))
        except _RowError as exc:
            raw = {h: (values[i] if i < len(values) else "") for i, h in enumerate(header)}
            if len(values) > len(header):
                raw.update({f"column {i + 1}": v for i, v in enumerate(values) if i >= len(header)})
            result.rejections.append(Rejection(line, exc.column, exc.message, raw))
    raw_by_line = {line: values for line, values in table.rows}
    _resolve_duplicates(records, result, header, raw_by_line)
    return result


def _resolve_duplicates(
    records: list[RosterRecord],
    result: ValidationResult,
    header: list[str],
    raw_by_line: dict[int, list[str]],
) -> None:
    """Identical rows merge; rows about one student that disagree are all rejected."""
    by_key: dict[str, list[RosterRecord]] = defaultdict(list)
    by_email: dict[str, set[str]] = defaultdict(set)
    values_of: dict[int, tuple] = {}
    for record in records:
        by_key[record.key].append(record)
        values_of[record.line] = record.student_values()
        if record.email:
            by_email[record.email.lower()].add(record.key)

    def raw(line: int) -> dict[str, str]:
        values = raw_by_line[line]
        return {h: (values[i] if i < len(values) else "") for i, h in enumerate(header)}

    seen_rows: set[tuple] = set()
    for key, group in by_key.items():
        distinct = {values_of[r.line] for r in group}
        emails = {r.email.lower() for r in group if r.email}
        email_keys = set().union(*(by_email[e] for e in emails)) if emails else set()
        if len(distinct) > 1 or len(email_keys) > 1:
            lines = [r.line for r in group]
            if len(email_keys) > 1:
                others = sorted(r.line for k in email_keys - {key} for r in by_key[k])
                lines += others
            for record in group:
                other_lines = ", ".join(str(n) for n in sorted(set(lines)) if n != record.line)
                what = (
                    _difference(group)
                    if len(distinct) > 1
                    else "the same e-mail with another student number"
                )
                result.rejections.append(Rejection(
                    record.line, "student", f"Conflicts with line(s) {other_lines}: {what}. "
                    "Keep one version of this student and import again.", raw(record.line)))  # fmt: skip
            continue
        for record in group:
            identity = (values_of[record.line], (record.course or "").lower())
            if identity in seen_rows:
                result.merged_duplicates += 1
                continue
            seen_rows.add(identity)
            result.records.append(record)
    result.rejections.sort(key=lambda r: r.line)
    result.records.sort(key=lambda r: r.line)


def _difference(group: list[RosterRecord]) -> str:
    for index, name in enumerate(STUDENT_FIELDS):
        values = {r.student_values()[index] for r in group}
        if len(values) > 1:
            shown = " vs ".join(repr(v) for v in sorted(values, key=str))
            return f"{name.replace('_', ' ')} differs ({shown})"
    return "the rows differ"
