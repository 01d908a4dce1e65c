"""Microsoft School Data Sync (SDS) v1 CSV folders (or zips) as a roster import.

The v1 format is six files: School.csv, Section.csv, Student.csv, StudentEnrollment.csv,
Teacher.csv and TeacherRoster.csv (names and headers as Microsoft's samples write them;
Rollbook reads both in any case). Students become students, sections become courses,
StudentEnrollment.csv rows become enrollments; schools, teachers and teacher rosters are
not Rollbook's business (Teacher.csv only tells a teacher enrolled as a student apart
from an unknown id). Only Student.csv is required: a users-only export has no sections.

A student's number is ``Student Number`` when given, else ``SIS ID``; the SIS ID is kept
as the student's sourced id, so later imports match. ``Username`` is the e-mail when it
is an address. The records go through the same plan/apply as OneRoster's.
"""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path

from sqlalchemy.orm import Session

from app.domain.context import ServiceContext
from app.domain.errors import ValidationError
from app.domain.student_fields import EMAIL_PATTERN, parse_grade
from app.imports.oneroster import (
    CsvFolder,
    OneRosterFile,
    OneRosterOutcome,
    PendingEnrollment,
    Row,
    StudentBook,
    _class_names,
    check_student_lengths,
    import_oneroster,
)
from app.imports.reading import UnreadableFile
from app.imports.validation import (
    OTHER_DATE,
    STATUS_WORDS,
    DateFormat,
    RosterRecord,
    parse_date,
)
from app.jobs import Job
from app.runs.plan import Plan
from app.runs.rejections import Rejection
from app.services.permissions import Permission, needs

FORMAT = "School Data Sync v1"
# Read with lower-case keys: exporters do not agree on "SIS ID" / "SIS Id".
COLUMNS = {
    "student.csv": ("sis id", "school sis id", "username"),
    "section.csv": ("sis id", "school sis id", "section name"),
    "studentenrollment.csv": ("section sis id", "sis id"),
    "teacher.csv": ("sis id",),
}


def is_sds_folder(path: Path) -> bool:
    """Whether ``path`` (a folder or a zip) looks like an SDS v1 export: a Student.csv
    whose header has ``SIS ID`` and ``School SIS ID``. Reads the header only; never
    raises."""
    try:
        folder = CsvFolder(Path(path), "School Data Sync")
        if "student.csv" not in folder:
            return False
        header = {h.lower() for h in folder.header("student.csv")}
        return {"sis id", "school sis id"} <= header
    except (UnreadableFile, OSError, zipfile.BadZipFile, ValueError):
        return False


def read_sds(path: Path) -> OneRosterFile:
    """Read an SDS v1 folder or zip. Raises UnreadableFile when it cannot be read at all;
    rows that cannot be used become rejections."""
    folder = CsvFolder(Path(path), "School Data Sync")
    result = OneRosterFile(Path(path).name, format=FORMAT)
    if "student.csv" not in folder:
        raise UnreadableFile(f"{Path(path).name} has no Student.csv; a School Data Sync v1 "
                             "export needs Student.csv (and Section.csv and "
                             "StudentEnrollment.csv for classes).")  # fmt: skip
    if "studentenrollment.csv" in folder and "section.csv" not in folder:
        raise UnreadableFile(f"{Path(path).name} has StudentEnrollment.csv but no Section.csv; "
                             "the sections the students are enrolled in are needed.")  # fmt: skip
    students = folder.rows("student.csv", COLUMNS["student.csv"], lower=True)
    result.students = len(students)
    order = _date_order(result, [s.get("birthdate", "") for s in students])
    book = StudentBook("Student.csv", "SIS ID")
    for line, row in enumerate(students, start=2):
        book.add(line, row, row["sis id"], lambda n, r: _student(n, r, order),
                 result.rejections)  # fmt: skip
    schools = sorted({s["school sis id"] for s in students if s["school sis id"]})
    if len(schools) > 1:
        result.warnings.append(f"Student.csv holds students of {len(schools)} schools "
                               f"({', '.join(schools[:5])}); all are imported into this "
                               "school.")  # fmt: skip
    teachers = {}
    if "teacher.csv" in folder:
        teachers = {t["sis id"]: "teacher"
                    for t in folder.rows("teacher.csv", COLUMNS["teacher.csv"], lower=True)}  # fmt: skip
    enrolled: set[str] = set()
    if "section.csv" in folder:
        sections = folder.rows("section.csv", COLUMNS["section.csv"], lower=True)
        names, bad_names = _class_names([
            {"sourcedId": s["sis id"], "title": s["section name"],
             "classCode": s.get("section number", "")} for s in sections
        ])  # fmt: skip
        result.classes = len(sections)
        enrollments = []
        if "studentenrollment.csv" in folder:
            enrollments = folder.rows("studentenrollment.csv", COLUMNS["studentenrollment.csv"],
                                      lower=True)  # fmt: skip
        for line, row in enumerate(enrollments, start=2):
            sid, section = row["sis id"], row["section sis id"]
            student = book.students.get(sid)
            problem = None
            if student is None and (sid in book.rejected or sid in teachers):
                problem = ("SIS ID", book.missing(sid, teachers, "Teacher.csv")[1])
            elif section not in names:
                problem = ("Section SIS ID",
                           f"The section {section} is not in Section.csv; not enrolled.")  # fmt: skip
            elif section in bad_names:
                problem = ("Section SIS ID", f"The section {section}: {bad_names[section]}")
            if problem is not None:
                result.rejections.append(Rejection(line, f"StudentEnrollment.csv: {problem[0]}",
                                                   problem[1], row))  # fmt: skip
            elif student is None:  # perhaps a student Rollbook has from an earlier import
                result.pending.append(PendingEnrollment(
                    line, row, sid, None, section, names[section], "enroll",
                    ("StudentEnrollment.csv", "Student.csv")))  # fmt: skip
            else:
                enrolled.add(sid)
                result.records.append(replace(student, course=names[section], line=line))
    result.records.extend(s for sid, s in book.students.items() if sid not in enrolled)
    return result


def _date_order(result: OneRosterFile, values: list[str]) -> DateFormat | None:
    """The day/month order of the file's slash dates, settled by its unambiguous values
    (13/4/2000 is day first, 4/13/2000 month first). None when no value settles it: then
    such dates are left out, with a warning."""
    ambiguous = None
    for value in values:
        if match := OTHER_DATE.match(value):
            first, second = int(match[1]), int(match[2])
            if first > 12:
                return DateFormat.DAY_FIRST
            if second > 12:
                return DateFormat.MONTH_FIRST
            if first != second:
                ambiguous = ambiguous or value
    if ambiguous:
        result.warnings.append(f"Birthdate values in Student.csv such as {ambiguous} could be "
                               "day first or month first and none settles it; those birth "
                               "dates were left out (write them as YYYY-MM-DD).")  # fmt: skip
    return None


def _student(line: int, row: Row, order: DateFormat | None) -> RosterRecord:
    username = row["username"]
    email = username if EMAIL_PATTERN.match(username) else None
    first, last = row.get("first name", ""), row.get("last name", "")
    if not (first or last):
        raise ValidationError("First Name", "The student's name is missing (First Name and "
                              "Last Name are empty).")  # fmt: skip
    status_text = row.get("status", "")
    status = STATUS_WORDS.get(status_text.lower().replace(" ", "")) if status_text else "active"
    if status is None:
        raise ValidationError("Status", f"{status_text!r} is not a status Rollbook knows; use "
                              "Active or Inactive.")  # fmt: skip
    try:
        grade_level = parse_grade(row.get("grade", ""))
    except ValidationError:
        grade_level = None  # SDS grade codes like "PS" or "Other" carry no level
    record = RosterRecord(
        line=line, student_no=row.get("student number") or row["sis id"], email=email,
        first_name=first or None, last_name=last or None, class_name=None,
        grade_level=grade_level, birth_date=_birth_date(row.get("birthdate", ""), order),
        status=status, course=None, sourced_id=row["sis id"],
    )  # fmt: skip
    check_student_lengths(record)
    return record


def _birth_date(value: str, order: DateFormat | None):
    if not value:
        return None
    if len(value) == 8 and value.isdigit():  # YYYYMMDD, as SDS recommends besides ISO
        value = f"{value[:4]}-{value[4:6]}-{value[6:]}"
    match = OTHER_DATE.match(value)
    if match and order is None:
        if int(match[1]) != int(match[2]):
            return None  # ambiguous in this file: left out (warned once)
        order = DateFormat.DAY_FIRST  # 5/5/2000 reads the same either way
    try:
        return parse_date(value, order or DateFormat.ISO)
    except ValidationError as exc:
        raise ValidationError("Birthdate", str(exc)) from None


@needs(Permission.IMPORT_ROSTERS)
def import_sds(
    session: Session, ctx: ServiceContext, file: OneRosterFile, *, commit: bool,
    plan: Plan | None = None, job: Job | None = None,
) -> OneRosterOutcome:  # fmt: skip
    """The dry run or (``commit``) the import of a folder ``read_sds`` read."""
    return import_oneroster(session, ctx, file, commit=commit, plan=plan, job=job)
