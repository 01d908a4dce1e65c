"""OneRoster 1.1 CSV bulk files (a zip or a folder) as a roster import.

users.csv (role student) become students, classes.csv become courses, student rows of
enrollments.csv become course enrollments. ``status = tobedeleted`` deactivates the
student or ends the enrollment; what a bulk file omits is never touched.
The records then go through the same plan/apply as a CSV roster.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from app.domain.context import ServiceContext
from app.domain.errors import ValidationError
from app.domain.student_fields import EMAIL_PATTERN, parse_grade
from app.imports.reading import UnreadableFile
from app.imports.roster import RosterOutcome, apply_roster, plan_roster
from app.imports.validation import RosterRecord, ValidationResult
from app.jobs import Job
from app.runs.plan import Plan
from app.runs.rejections import Rejection

REQUIRED = {
    "manifest.csv": ("propertyName", "value"),
    "users.csv": ("sourcedId", "role", "givenName", "familyName"),
    "classes.csv": ("sourcedId", "title"),
    "enrollments.csv": ("classSourcedId", "userSourcedId", "role"),
}
OPTIONAL = ("courses.csv", "academicSessions.csv", "orgs.csv")


@dataclass
class OneRosterFile:
    name: str
    records: list[RosterRecord] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    ended_enrollments: list[tuple[str, str]] = field(default_factory=list)  # (student key, course)
    students: int = 0
    classes: int = 0


def _open_tables(path: Path) -> dict[str, list[dict[str, str]]]:
    if path.is_dir():

        def read(name: str) -> str | None:
            candidate = path / name
            return candidate.read_text(encoding="utf-8-sig") if candidate.exists() else None
    elif zipfile.is_zipfile(path):
        archive = zipfile.ZipFile(path)
        names = {Path(n).name: n for n in archive.namelist()}

        def read(name: str) -> str | None:
            return archive.read(names[name]).decode("utf-8-sig") if name in names else None
    else:
        raise UnreadableFile(f"{path.name} is neither a folder nor a zip file of OneRoster CSVs.")
    tables: dict[str, list[dict[str, str]]] = {}
    for name, columns in {**REQUIRED, **{n: () for n in OPTIONAL}}.items():
        try:
            text = read(name)
        except UnicodeDecodeError:
            raise UnreadableFile(
                f"{name} in {path.name} is not UTF-8, as OneRoster requires."
            ) from None
        if text is None:
            if name in REQUIRED:
                raise UnreadableFile(f"{path.name} has no {name}; a OneRoster 1.1 bulk file "
                                     "needs manifest, users, classes and enrollments.")  # fmt: skip
            continue
        rows = list(csv.DictReader(io.StringIO(text)))
        header = rows[0].keys() if rows else csv.DictReader(io.StringIO(text)).fieldnames or []
        missing = [c for c in columns if c not in header]
        if missing:
            raise UnreadableFile(f"{name} in {path.name} lacks the column(s) {', '.join(missing)}.")
        tables[name] = [{k: (v or "").strip() for k, v in row.items() if k} for row in rows]
    return tables


def read_oneroster(path: Path) -> OneRosterFile:
    tables = _open_tables(path)
    result = OneRosterFile(path.name)
    class_names = _class_names(tables["classes.csv"])
    result.classes = len(class_names)
    students: dict[str, RosterRecord] = {}
    for line, row in enumerate(tables["users.csv"], start=2):
        if row["role"].lower() != "student":
            continue
        result.students += 1
        try:
            record = _student(line, row)
        except ValidationError as exc:
            result.rejections.append(Rejection(line, f"users.csv: {exc.field}", str(exc), row))
            continue
        students[row["sourcedId"]] = record
    enrolled: set[str] = set()
    for line, row in enumerate(tables["enrollments.csv"], start=2):
        if row["role"].lower() != "student":
            continue
        student = students.get(row["userSourcedId"])
        course = class_names.get(row["classSourcedId"])
        if student is None or course is None:
            what = "student" if student is None else "class"
            result.rejections.append(Rejection(
                line, f"enrollments.csv: {what}",
                f"The {what} {row['userSourcedId' if student is None else 'classSourcedId']} "
                f"is not in {'users' if student is None else 'classes'}.csv (or was rejected).",
                row))  # fmt: skip
            continue
        if row.get("status", "").lower() == "tobedeleted":
            result.ended_enrollments.append((student.key, course))
            continue
        enrolled.add(row["userSourcedId"])
        result.records.append(_with_course(student, course, line))
    for sourced_id, student in students.items():
        if sourced_id not in enrolled:
            result.records.append(student)
    return result


def _class_names(classes: list[dict[str, str]]) -> dict[str, str]:
    """Course name per class; titles used by several classes get their class code."""
    titles = [c["title"] for c in classes]
    names = {}
    for row in classes:
        title = " ".join(row["title"].split())
        if titles.count(row["title"]) > 1:
            title = f"{title} ({row.get('classCode') or row['sourcedId']})"
        names[row["sourcedId"]] = title
    return names


def _student(line: int, row: dict[str, str]) -> RosterRecord:
    email = row.get("email") or None
    if email and not EMAIL_PATTERN.match(email):
        raise ValidationError("email", f"{email!r} is not a valid e-mail address.")
    number = row.get("identifier") or row.get("username") or row["sourcedId"]
    if not (row["givenName"] or row["familyName"]):
        raise ValidationError("givenName", "The student's name is missing.")
    grade = (row.get("grades") or "").split(",")[0].strip()
    try:
        grade_level = parse_grade(grade) if grade else None
    except ValidationError:
        grade_level = None  # OneRoster grade codes like "PR" or "Other" carry no level
    inactive = (
        row.get("status", "").lower() == "tobedeleted"
        or row.get("enabledUser", "true").lower() == "false"
    )
    return RosterRecord(
        line=line, student_no=number, email=email, first_name=row["givenName"] or None,
        last_name=row["familyName"] or None, class_name=None, grade_level=grade_level,
        birth_date=None, status="inactive" if inactive else "active", course=None,
        sourced_id=row["sourcedId"],
    )  # fmt: skip


def _with_course(student: RosterRecord, course: str, line: int) -> RosterRecord:
    from dataclasses import replace

    return replace(student, course=course, line=line)


def oneroster_validation(file: OneRosterFile) -> ValidationResult:
    """The file as a roster import's input: its students and enrollments, its rejected
    rows and the enrollments it ends."""
    return ValidationResult(records=file.records, rejections=file.rejections,
                            total_rows=len(file.records) + len(file.rejections),
                            ended=list(file.ended_enrollments))  # fmt: skip


@dataclass
class OneRosterOutcome:
    roster: RosterOutcome
    students_in_file: int
    classes_in_file: int

    @property
    def enrollments_ended(self) -> int:
        return self.roster.enrollments_ended


def import_oneroster(
    session: Session, ctx: ServiceContext, file: OneRosterFile, *, commit: bool,
    plan: Plan | None = None, job: Job | None = None,
) -> OneRosterOutcome:  # fmt: skip
    """The dry run or (``commit``) the import of a file ``read_oneroster`` read."""
    validation = oneroster_validation(file)
    params = {"file": file.name, "format": "OneRoster 1.1"}
    if commit:
        roster = apply_roster(session, ctx, validation, plan=plan, params=params, job=job)
    else:
        roster = plan_roster(session, ctx, validation, params=params, job=job)
    return OneRosterOutcome(roster, file.students, file.classes)
