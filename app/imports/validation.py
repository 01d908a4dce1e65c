"""Turning raw rows into roster records, field by field, with reasons for every refusal.

Nothing here touches the database; rules that need it (a student number that belongs
to another e-mail) are checked set-based when the plan is made.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum

from app.domain.enums import StudentStatus
from app.domain.errors import ValidationError
from app.domain.student_fields import EMAIL_PATTERN, parse_grade
from app.domain.text_limits import COURSE_TEXT_LIMITS, STUDENT_TEXT_LIMITS, too_long_message
from app.imports.mapping import FIELD_LABELS, ColumnMapping, Field, split_full_name
from app.imports.reading import RawTable, cyclic_gc_paused, unfold_runaway_quotes
from app.runs.rejections import Rejection

EXCEL_SCIENTIFIC = re.compile(r"^\d+(?:[.,]\d+)?[eE]\+?\d+$")
ISO_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
OTHER_DATE = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})$")
# Other systems' statuses, by the nearest Rollbook one (keys without case, spaces,
# underscores or hyphens; README "Columns and values Rollbook recognises").
STATUS_WORDS = {
    "active": "active", "enrolled": "active", "current": "active", "true": "active",
    "yes": "active", "y": "active", "1": "active",
    "inactive": "inactive", "suspended": "inactive", "onhold": "inactive",
    "tobedeleted": "inactive", "false": "inactive", "no": "inactive", "n": "inactive",
    "0": "inactive",
    "withdrawn": "withdrawn", "left": "withdrawn", "deleted": "withdrawn",
    "graduated": "withdrawn", "transferred": "withdrawn", "transferredout": "withdrawn",
    "completed": "withdrawn", "dropped": "withdrawn", "expelled": "withdrawn",
}  # fmt: skip
_STATUS_KEY = re.compile(r"[\s_\-]+")
STUDENT_FIELDS = ("student_no", "email", "first_name", "last_name", "class_name",
                  "grade_level", "birth_date", "status", "sourced_id", "state_id")  # fmt: skip

# Characters that show as nothing: zero-width space and joiners, word joiner, BOM, bidi
# marks, embeddings, overrides and isolates, soft hyphen. Removed from identifiers,
# trimmed from the ends of names (inside a name a joiner can be part of the spelling).
_INVISIBLE = ("\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202a\u202b\u202c\u202d"
              "\u202e\u2066\u2067\u2068\u2069\u00ad")  # fmt: skip
_DROP_INVISIBLE = str.maketrans(dict.fromkeys(_INVISIBLE))
_INVISIBLE_ENDS = re.compile(f"^[\\s{_INVISIBLE}]+|[\\s{_INVISIBLE}]+$")


def without_invisible(value: str | None) -> str | None:
    """An identifier (number, e-mail, id) without invisible characters; None if empty."""
    if not value or value.isascii():
        return value
    return value.translate(_DROP_INVISIBLE).strip() or None


def trim_invisible(value: str | None) -> str | None:
    """A name without invisible characters (or spaces) at its ends; None if empty."""
    if not value or value.isascii():
        return value
    return _INVISIBLE_ENDS.sub("", value) or None


class DateFormat(StrEnum):
    ISO = "YMD"  # 2011-04-23
    DAY_FIRST = "DMY"  # 23/04/2011
    MONTH_FIRST = "MDY"  # 04/23/2011


@dataclass(frozen=True)
class ImportOptions:
    # None: the day/month order is inferred from the file's unambiguous dates.
    date_format: DateFormat | None = None
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
    sourced_id: str | None = None  # OneRoster sourcedId, Canvas user_id, Clever sis_id
    state_id: str | None = None  # Ed-Fi StudentUniqueId, a state's student id

    @property
    def key(self) -> str:
        return self.student_no or f"@{(self.email or '').lower()}"

    def student_values(self) -> tuple:
        """What must agree between two rows about the same student (e-mail ignoring case)."""
        return (self.student_no, self.email.lower() if self.email else None, self.first_name,
                self.last_name, self.class_name, self.grade_level, self.birth_date, self.status,
                self.sourced_id, self.state_id)  # fmt: skip


@dataclass
class ValidationResult:
    records: list[RosterRecord] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    merged_duplicates: int = 0
    total_rows: int = 0
    # Enrollments the file ends (OneRoster's tobedeleted): (student key, course name).
    ended: list[tuple[str, str]] = field(default_factory=list)
    # The day/month order the file's dates were read with, and whether it was inferred.
    date_format: DateFormat | None = None
    date_format_inferred: bool = False


def parse_date(value: str, fmt: DateFormat | None) -> date:
    """A date in ISO form, or in the file's day/month order (None: the file's dates
    did not settle it, so only ISO dates can be read)."""
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
    if fmt is None:
        if first <= 12 and second <= 12 and first != second:
            raise ValidationError(
                "birth_date",
                f"{value!r} is ambiguous ({first} {_month(second)} or {second} "
                f"{_month(first)}) and no date in the file settles the order; add "
                "--date-format DMY or --date-format MDY.",
            )
        fmt = DateFormat.DAY_FIRST  # 05/05/2012 reads the same either way
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
    if month > 12 and day <= 12:
        day_first = fmt is DateFormat.DAY_FIRST
        other, order = ("MDY", "day first") if day_first else ("DMY", "month first")
        raise ValidationError(
            "birth_date",
            f"{value!r} cannot be {order} ({month} is not a month), and the file's dates "
            f"were read {order} ({fmt.value}); fix this date, or add --date-format {other} "
            "if the whole file is written that way.",
        )
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
    """The day/month order the file's unambiguous dates settle: the one more of them
    can only be read in (day first on a tie); None when every value is ambiguous."""
    day_first = month_first = 0
    for value in values:
        if match := OTHER_DATE.match(value):
            first, second = int(match.group(1)), int(match.group(2))
            if first > 12 >= second:
                day_first += 1
            elif second > 12 >= first:
                month_first += 1
    if not (day_first or month_first):
        return None
    return DateFormat.DAY_FIRST if day_first >= month_first else DateFormat.MONTH_FIRST


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
        self.courses = mapping.indexes_of(Field.COURSE)

    def name(self, target: Field) -> str:
        index = self.index[target]
        return self.mapping.header[index] if index is not None else FIELD_LABELS[target]


# Below this length no value can be over its limit: most rows skip the checks.
_SHORTEST_LIMIT = min(*STUDENT_TEXT_LIMITS.values(), COURSE_TEXT_LIMITS["name"])


def _check_lengths(columns: _Columns, checks: list[tuple[Field, str, str | None]]) -> None:
    """Reject the row at the first value longer than its field keeps."""
    for target, name, value in checks:
        limit = STUDENT_TEXT_LIMITS[name]
        if value is not None and len(value) > limit:
            raise _RowError(columns.name(target), too_long_message(name, limit, len(value)))


def _record(
    line: int, values: list[str], columns: _Columns, options: ImportOptions
) -> list[RosterRecord]:
    """The row's student, once per course it names (once if it names none)."""
    index, width, mapping = columns.index, len(values), columns.mapping

    def get(target: Field) -> str | None:
        position = index[target]
        if position is None or position >= width:
            return None
        return values[position] or None

    column_name = columns.name
    long_row = width and max(map(len, values)) > _SHORTEST_LIMIT

    student_no = without_invisible(get(Field.STUDENT_NO))
    email = without_invisible(get(Field.EMAIL))
    if long_row:
        _check_lengths(columns, [(Field.STUDENT_NO, "student_no", student_no),
                                 (Field.EMAIL, "email", email)])  # fmt: skip
    if student_no and EXCEL_SCIENTIFIC.match(student_no):
        raise _RowError(column_name(Field.STUDENT_NO),
                        f"{student_no!r} looks like a number Excel turned into scientific "
                        "notation; the real student number is lost. Format the column as "
                        "Text in Excel, fix the numbers and export again.")  # fmt: skip
    if not student_no and not email:
        target = Field.STUDENT_NO if mapping.has(Field.STUDENT_NO) else Field.EMAIL
        raise _RowError(column_name(target), "A student number or an e-mail is required to "
                        "know which student this row is.")  # fmt: skip
    if email and not EMAIL_PATTERN.match(email):
        raise _RowError(column_name(Field.EMAIL), f"{email!r} is not a valid e-mail address.")
    first, last = trim_invisible(get(Field.FIRST_NAME)), trim_invisible(get(Field.LAST_NAME))
    full = trim_invisible(get(Field.FULL_NAME))
    if full and not (first or last):
        first, last = split_full_name(full)
        first, last = first or None, last or None
        if long_row:
            _check_lengths(columns, [(Field.FULL_NAME, "first_name", first),
                                     (Field.FULL_NAME, "last_name", last)])  # fmt: skip
    if not (first or last):
        target = Field.FULL_NAME if mapping.has(Field.FULL_NAME) else Field.LAST_NAME
        raise _RowError(column_name(target), "The student's name is missing.")
    class_name = trim_invisible(get(Field.CLASS_NAME))
    sourced_id = without_invisible(get(Field.SOURCED_ID))
    state_id = without_invisible(get(Field.STATE_ID))
    if long_row:
        _check_lengths(columns, [
            (Field.FIRST_NAME, "first_name", first), (Field.LAST_NAME, "last_name", last),
            (Field.CLASS_NAME, "class_name", class_name),
            (Field.SOURCED_ID, "sourced_id", sourced_id), (Field.STATE_ID, "state_id", state_id),
        ])  # fmt: skip
    status = get(Field.STATUS)
    if status is not None:
        word = STATUS_WORDS.get(_STATUS_KEY.sub("", status.lower()))
        if word is None:
            allowed = ", ".join(s.value for s in StudentStatus)
            shown = status if len(status) <= 40 else status[:40] + "…"
            raise _RowError(column_name(Field.STATUS),
                            f"{shown!r} is not a student status; use {allowed} (or a status "
                            "the README lists as recognised).")  # fmt: skip
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
    courses: list[str | None] = []
    for position in columns.courses:
        course = trim_invisible(values[position] if position < width else None)
        if course:
            course = " ".join(course.split())
            if long_row and len(course) > COURSE_TEXT_LIMITS["name"]:
                raise _RowError(mapping.header[position], too_long_message(
                    "name", COURSE_TEXT_LIMITS["name"], len(course)))  # fmt: skip
            if not courses or course.lower() not in {c.lower() for c in courses}:
                courses.append(course)
    record = RosterRecord(
        line=line,
        student_no=student_no,
        email=email,
        first_name=first,
        last_name=last,
        class_name=class_name,
        grade_level=grade,
        birth_date=birth_date,
        status=status,
        course=courses[0] if courses else None,
        sourced_id=sourced_id,
        state_id=state_id,
    )
    if len(courses) <= 1:
        return [record]
    return [record, *(replace(record, course=course) for course in courses[1:])]


def validate(table: RawTable, mapping: ColumnMapping, options: ImportOptions) -> ValidationResult:
    """Every row either becomes a record or a rejection naming its line and column."""
    with cyclic_gc_paused():
        return _validate(table, mapping, options)


def _validate(table: RawTable, mapping: ColumnMapping, options: ImportOptions) -> ValidationResult:
    # A quote never closed swallows the rows after it: reject it, read them again.
    mapped = {i for i, f in enumerate(mapping.fields) if f is not None}
    runaways = unfold_runaway_quotes(table, mapped)
    result = ValidationResult(total_rows=table.row_count + len(runaways), rejections=runaways)
    header = list(mapping.header)
    records: list[RosterRecord] = []
    columns = _Columns(mapping)
    options = _with_date_format(table, mapping, options, result)
    for line, values in table.rows:
        try:
            records.extend(_record(line, values, columns, options))
        except _RowError as exc:
            raw = {h: (values[i] if i < len(values) else "") for i, h in enumerate(header)}
            if len(values) > len(header):
                raw.update({f"column {i + 1}": v for i, v in enumerate(values) if i >= len(header)})
            result.rejections.append(Rejection(line, exc.column, exc.message, raw))
    raw_by_line = {line: values for line, values in table.rows}
    _resolve_duplicates(records, result, header, raw_by_line)
    return result


def _with_date_format(table: RawTable, mapping: ColumnMapping, options: ImportOptions,
                      result: ValidationResult) -> ImportOptions:  # fmt: skip
    """The options with the file's day/month order when none was chosen: the order its
    unambiguous dates settle (12/19/1997 is month first, 23/04/2011 day first)."""
    if options.date_format is not None:
        result.date_format = options.date_format
        return options
    birth = mapping.index_of(Field.BIRTH_DATE)
    if birth is None:
        return options
    inferred = suggest_date_format([v[birth] for _, v in table.rows if birth < len(v)])
    result.date_format, result.date_format_inferred = inferred, inferred is not None
    return replace(options, date_format=inferred)


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
            for record in {r.line: r for r in group}.values():  # one per line, not per course
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
