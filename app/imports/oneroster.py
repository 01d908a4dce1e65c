"""OneRoster 1.0, 1.1 and 1.2 CSV files (a zip or a folder, bulk or delta) as a roster
import.

Student users become students, classes become courses, student rows of enrollments.csv
become course enrollments. Where the role comes from depends on the version: users.csv
``role`` in 1.0 and 1.1, roles.csv in 1.2 (a user is a student when one of their roles
is). ``status = tobedeleted`` deactivates the student or ends the enrollment; a class
marked tobedeleted is never created: enrollments in it end where Rollbook has them and
are rejected rows otherwise. A delta file is read like a bulk file: what a file omits is
never touched. OneRoster 1.0 has no manifest.csv; a 1.1 or 1.2 folder without one is read
from its columns, with a warning. The records then go through the same plan/apply as a
CSV roster.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Course, CourseEnrollment, Student
from app.domain.context import ServiceContext
from app.domain.errors import ValidationError
from app.domain.student_fields import EMAIL_PATTERN, parse_grade
from app.domain.text_limits import (
    COURSE_TEXT_LIMITS,
    STUDENT_TEXT_LIMITS,
    check_length,
    too_long_message,
)
from app.domain.wording import counted
from app.imports.reading import UnreadableFile
from app.imports.roster import RosterOutcome, apply_roster, plan_roster
from app.imports.validation import RosterRecord, ValidationResult
from app.jobs import Job
from app.runs.plan import Plan
from app.runs.rejections import Rejection
from app.services.permissions import Permission, needs

SUPPORTED_VERSIONS = ("1.0", "1.1", "1.2")
CORE_FILES = ("users.csv", "classes.csv", "enrollments.csv")
COLUMNS = {
    "manifest.csv": ("propertyName", "value"),
    "users.csv": ("sourcedId", "givenName", "familyName"),
    "classes.csv": ("sourcedId", "title"),
    "enrollments.csv": ("classSourcedId", "userSourcedId", "role"),
    "roles.csv": ("userSourcedId", "role"),
}
Row = dict[str, str]


@dataclass
class OneRosterFile:
    """A OneRoster (or School Data Sync) export read into roster records."""

    name: str
    records: list[RosterRecord] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    ended_enrollments: list[tuple[str, str]] = field(default_factory=list)  # (student key, course)
    students: int = 0
    classes: int = 0
    # Said once on stderr by the CLI, listed by --json and the wizard (a missing manifest).
    warnings: list[str] = field(default_factory=list)
    format: str = "OneRoster 1.1"  # "OneRoster 1.2 (delta)", "School Data Sync v1"
    classes_tobedeleted: int = 0
    # Enrollments decided against the database when imported: those of users the file
    # does not list (a delta file's existing students, found by sourced id) and those in
    # classes marked tobedeleted (ended where Rollbook has them, rejected otherwise).
    pending: list[PendingEnrollment] = field(default_factory=list)


@dataclass(frozen=True)
class PendingEnrollment:
    line: int
    row: Row
    user: str  # the user's id in the file (sourcedId, SIS ID)
    key: str | None  # the student's key when the file lists them, else found by ``user``
    class_id: str
    course: str
    action: str  # "enroll", "end" (tobedeleted enrollment) or "dropped" (tobedeleted class)
    files: tuple[str, str] = ("enrollments.csv", "users.csv")  # enrollments, students


class CsvFolder:
    """The CSV files of a folder or a zip, found by name in any case (``Student.csv`` and
    ``student.csv`` are the same file), wherever they sit in a zip."""

    def __init__(self, path: Path, what: str) -> None:
        self.path, self.what = path, what
        self._archive: zipfile.ZipFile | None = None
        if path.is_dir():
            entries = [p.name for p in path.iterdir() if p.is_file()]
            self._names = {name.lower(): name for name in entries}
        elif path.is_file() and zipfile.is_zipfile(path):
            self._archive = zipfile.ZipFile(path)
            self._names = {}
            for member in self._archive.namelist():
                base = Path(member).name
                if not base or member.endswith("/") or base.startswith("._"):
                    continue  # folders and macOS resource forks
                if base.lower() in self._names:
                    raise UnreadableFile(
                        f"{path.name} holds {base} twice ({self._names[base.lower()]} and "
                        f"{member}); put one {what} export in the zip."
                    )
                self._names[base.lower()] = member
        elif not path.exists():
            raise UnreadableFile(f"Cannot open {path}: there is no such file or folder.")
        else:
            raise UnreadableFile(f"{path.name} is neither a folder nor a zip file of {what} CSVs.")

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._names

    def text(self, name: str) -> str:
        stored = self._names[name.lower()]
        try:
            if self._archive is not None:
                return self._archive.read(stored).decode("utf-8-sig")
            return (self.path / stored).read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise UnreadableFile(
                f"{stored} in {self.path.name} is not UTF-8, as {self.what} requires; "
                "save it as UTF-8 and try again."
            ) from None

    def header(self, name: str) -> list[str]:
        first = next(csv.reader(io.StringIO(self.text(name))), [])
        return [cell.strip() for cell in first]

    def rows(self, name: str, columns: tuple[str, ...] = (), *, lower: bool = False) -> list[Row]:
        """The rows of ``name`` with blank-trimmed values; refuses a file that lacks one
        of ``columns``. ``lower``: keys (and ``columns``) in lower case, for formats whose
        exporters do not agree on the case of the header."""
        reader = csv.DictReader(io.StringIO(self.text(name)))
        header = [(h or "").strip() for h in reader.fieldnames or []]
        reader.fieldnames = [h.lower() for h in header] if lower else header
        missing = [c for c in columns if (c.lower() if lower else c) not in reader.fieldnames]
        if missing:
            raise UnreadableFile(
                f"{self._names[name.lower()]} in {self.path.name} lacks the column(s) "
                f"{', '.join(missing)}."
            )
        return [{k: (v or "").strip() for k, v in row.items() if isinstance(k, str) and k}
                for row in reader]  # fmt: skip


def is_oneroster_folder(path: Path) -> bool:
    """Whether ``path`` (a folder or a zip) looks like a OneRoster export: a manifest
    naming a OneRoster version, or users, classes and enrollments with OneRoster headers.
    Reads headers only; never raises."""
    try:
        folder = CsvFolder(Path(path), "OneRoster")
        if "manifest.csv" in folder and "oneroster.version" in folder.text("manifest.csv"):
            return True
        return _plainly_oneroster(folder)
    except (UnreadableFile, OSError, zipfile.BadZipFile, csv.Error):
        return False


def _plainly_oneroster(folder: CsvFolder) -> bool:
    if not all(name in folder for name in CORE_FILES):
        return False
    return all(set(COLUMNS[name]) <= set(folder.header(name)) for name in CORE_FILES)


def _manifest(folder: CsvFolder) -> dict[str, str]:
    return {row["propertyName"]: row["value"]
            for row in folder.rows("manifest.csv", COLUMNS["manifest.csv"])}  # fmt: skip


def _declared_version(text: str) -> str:
    """``1.2``, ``1.2.0``, ``v1p2`` → ``1.2``; anything else as written."""
    match = re.fullmatch(r"v?(\d+)[.p](\d+)(?:\.0)?", text.strip().lower())
    return f"{match[1]}.{match[2]}" if match else text.strip()


def _version_from_columns(folder: CsvFolder) -> str:
    users = folder.header("users.csv")
    if "role" in users:
        return "1.1" if "enabledUser" in users else "1.0"  # enabledUser came with 1.1
    return "1.2"


def _read_format(folder: CsvFolder, result: OneRosterFile) -> None:
    """Sets ``result.format`` (version and bulk/delta) and its warnings; refuses a
    version Rollbook cannot read, or a folder that is not OneRoster at all."""
    name = folder.path.name
    manifest = _manifest(folder) if "manifest.csv" in folder else None
    declared = _declared_version(manifest.get("oneroster.version", "")) if manifest else ""
    if declared and declared not in SUPPORTED_VERSIONS:
        raise UnreadableFile(f"OneRoster {declared} is not supported; Rollbook reads 1.0, 1.1 "
                             f"and 1.2 ({name} says oneroster.version {declared}).")  # fmt: skip
    missing = [f for f in CORE_FILES if f not in folder]
    if missing:
        if manifest is None:
            raise UnreadableFile(f"{name} is not a OneRoster export: it has no manifest.csv "
                                 f"and no {', '.join(missing)}.")  # fmt: skip
        raise UnreadableFile(f"{name} has no {missing[0]}; a OneRoster file needs users, "
                             "classes and enrollments.")  # fmt: skip
    version = declared or _version_from_columns(folder)
    if manifest is None and version != "1.0":  # 1.0 had no manifest; 1.1 and 1.2 require it
        result.warnings.append(
            f"{name} has no manifest.csv, which OneRoster {version} requires; it was read as "
            f"OneRoster {version} from its columns. Check that the export is complete."
        )
    elif manifest is not None and not declared:
        result.warnings.append(f"manifest.csv in {name} names no oneroster.version; it was "
                               f"read as OneRoster {version} from its columns.")  # fmt: skip
    modes = {(manifest or {}).get(f"file.{f.removesuffix('.csv')}", "").lower()
             for f in CORE_FILES}  # fmt: skip
    result.format = f"OneRoster {version}" + (" (delta)" if "delta" in modes else "")


def _roles(folder: CsvFolder, users: list[Row]) -> tuple[dict[str, set[str]], str]:
    """Each user's roles (lower case) and the file they come from."""
    if "role" in folder.header("users.csv"):
        return {u["sourcedId"]: {u["role"].lower()} for u in users}, "users.csv"
    if "roles.csv" not in folder:
        raise UnreadableFile(
            f"users.csv in {folder.path.name} has no role column and there is no roles.csv; "
            "OneRoster 1.2 keeps each user's roles in roles.csv."
        )
    roles: dict[str, set[str]] = {}
    for row in folder.rows("roles.csv", COLUMNS["roles.csv"]):
        if row.get("status", "").lower() != "tobedeleted":
            roles.setdefault(row["userSourcedId"], set()).add(row["role"].lower())
    return roles, "roles.csv"


def read_oneroster(path: Path) -> OneRosterFile:
    """Read a OneRoster 1.0, 1.1 or 1.2 zip or folder (bulk or delta). Raises
    UnreadableFile for what cannot be read at all; rows that cannot be used become
    rejections."""
    folder = CsvFolder(Path(path), "OneRoster")
    result = OneRosterFile(Path(path).name)
    _read_format(folder, result)
    users = folder.rows("users.csv", COLUMNS["users.csv"])
    classes = folder.rows("classes.csv", COLUMNS["classes.csv"])
    enrollments = folder.rows("enrollments.csv", COLUMNS["enrollments.csv"])
    roles, role_file = _roles(folder, users)
    # A delta file lists a changed user without their unchanged roles: one the file
    # enrolls as a student is taken for a student.
    as_student = {e["userSourcedId"] for e in enrollments if e["role"].lower() == "student"}
    for user in users:
        if not roles.get(user["sourcedId"]) and user["sourcedId"] in as_student:
            roles[user["sourcedId"]] = {"student"}
    no_role = [u["sourcedId"] for u in users if not roles.get(u["sourcedId"])]
    if no_role:
        result.warnings.append(
            f"{counted(len(no_role), 'user')} in users.csv {'has' if len(no_role) == 1 else 'have'} "
            f"no role in {role_file} and {'was' if len(no_role) == 1 else 'were'} not read as "
            f"a student ({', '.join(no_role[:3])}{', …' if len(no_role) > 3 else ''})."
        )
    student_rows = [(line, u) for line, u in enumerate(users, start=2)
                    if "student" in roles.get(u["sourcedId"], set())]  # fmt: skip
    result.students = len(student_rows)
    book = StudentBook("users.csv", "sourcedId")
    for line, row in student_rows:
        book.add(line, row, row["sourcedId"], _student, result.rejections)
    others = {uid: sorted(r)[0] for uid, r in roles.items() if r and "student" not in r}
    dropped = {c["sourcedId"] for c in classes if c.get("status", "").lower() == "tobedeleted"}
    names, bad_names = _class_names(classes)
    result.classes = len(classes) - len(dropped)
    result.classes_tobedeleted = len(dropped)
    enrolled: set[str] = set()
    for line, row in enumerate(enrollments, start=2):
        if row["role"].lower() != "student":
            continue  # teachers' and others' enrollments are not Rollbook's business
        uid, cid = row["userSourcedId"], row["classSourcedId"]
        student = book.students.get(uid)
        problem = None
        if student is None and (uid in book.rejected or uid in others):
            problem = book.missing(uid, others, role_file)
        elif cid not in names:
            problem = ("class", f"The class {cid} is not in classes.csv; not enrolled.")
        elif cid in bad_names:
            problem = ("class", f"The class {cid}: {bad_names[cid]}")
        if problem is not None:
            result.rejections.append(Rejection(line, f"enrollments.csv: {problem[0]}", problem[1],
                                               row))  # fmt: skip
            continue
        action = ("end" if row.get("status", "").lower() == "tobedeleted"
                  else "dropped" if cid in dropped else "enroll")  # fmt: skip
        if student is None or action != "enroll":
            result.pending.append(PendingEnrollment(line, row, uid, student and student.key,
                                                    cid, names[cid], action))  # fmt: skip
        else:
            enrolled.add(uid)
            result.records.append(replace(student, course=names[cid], line=line))
    result.records.extend(s for uid, s in book.students.items() if uid not in enrolled)
    return result


class StudentBook:
    """The students of a file by their id there, refusing a second row with the same id
    or the same student number (two people are never merged into one)."""

    def __init__(self, file: str, id_column: str) -> None:
        self.file, self.id_column = file, id_column
        self.students: dict[str, RosterRecord] = {}
        self.rejected: dict[str, int] = {}  # id → line
        self._numbers: dict[str, tuple[str, int]] = {}  # student number → (id, line)
        self._lines: dict[str, int] = {}

    def add(self, line: int, row: Row, uid: str, make, rejections: list[Rejection]) -> None:
        if uid in self._lines or uid in self.rejected:
            first = self._lines.get(uid) or self.rejected[uid]
            rejections.append(Rejection(line, f"{self.file}: {self.id_column}",
                                        f"{self.id_column} {uid} is also on line {first} of "
                                        f"{self.file}; the second row is not used.", row))  # fmt: skip
            return
        try:
            record = make(line, row)
            other = self._numbers.get(record.student_no or "")
            if other is not None:
                raise ValidationError("student_no", f"Student number {record.student_no} is "
                                      f"also {self.id_column} {other[0]}'s (line {other[1]}); "
                                      "two students cannot share it.")  # fmt: skip
        except ValidationError as exc:
            self.rejected[uid] = line
            rejections.append(Rejection(line, f"{self.file}: {exc.field}", str(exc), row))
            return
        self._lines[uid] = line
        self.students[uid] = record
        if record.student_no:
            self._numbers[record.student_no] = (uid, line)

    def missing(self, uid: str, others: dict[str, str], role_file: str) -> tuple[str, str]:
        """Why ``uid`` cannot be enrolled as a student."""
        if uid in self.rejected:
            return ("student", f"The student {uid} was rejected on line {self.rejected[uid]} "
                    f"of {self.file}; not enrolled.")  # fmt: skip
        if uid in others:
            return ("student", f"{uid} is a {others[uid]} in {role_file}, not a student; "
                    "not enrolled.")  # fmt: skip
        return ("student", f"The student {uid} is not in {self.file}; not enrolled.")


def _class_names(classes: list[Row]) -> tuple[dict[str, str], dict[str, str]]:
    """Course name per class; titles used by several classes get their class code.
    Classes marked tobedeleted count too, so that a class keeps the name it was imported
    under (its enrollments are found by that name to end them). Second: the classes whose
    name is too long for a course, with the message."""
    titles = [c["title"] for c in classes]
    names, too_long = {}, {}
    limit = COURSE_TEXT_LIMITS["name"]
    for row in classes:
        title = " ".join(row["title"].split())
        if titles.count(row["title"]) > 1:
            title = f"{title} ({row.get('classCode') or row['sourcedId']})"
        names[row["sourcedId"]] = title
        if len(title) > limit:
            too_long[row["sourcedId"]] = too_long_message("name", limit, len(title))
    return names, too_long


def check_student_lengths(record: RosterRecord) -> None:
    """Raise ValidationError when a value is longer than Rollbook keeps."""
    for name in ("student_no", "email", "first_name", "last_name", "sourced_id"):
        check_length(name, getattr(record, name), STUDENT_TEXT_LIMITS)


def _student(line: int, row: Row) -> RosterRecord:
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
    record = RosterRecord(
        line=line, student_no=number, email=email, first_name=row["givenName"] or None,
        last_name=row["familyName"] or None, class_name=None, grade_level=grade_level,
        birth_date=None, status="inactive" if inactive else "active", course=None,
        sourced_id=row["sourcedId"],
    )  # fmt: skip
    check_student_lengths(record)
    return record


def _students_by_sourced_id(session: Session, ctx: ServiceContext,
                            ids: set[str]) -> dict[str, str]:  # fmt: skip
    """Student number per sourced id, for the students Rollbook has of ``ids``."""
    if not ids:
        return {}
    query = select(Student.sourced_id, Student.student_no).where(
        Student.school_id == ctx.school_id, Student.deleted_at.is_(None),
        Student.sourced_id.in_(sorted(ids)))  # fmt: skip
    return {sourced: number for sourced, number in session.execute(query)}


def _enrolled_now(session: Session, ctx: ServiceContext,
                  pairs: list[tuple[str, str]]) -> set[tuple[str, str]]:  # fmt: skip
    """Which (student number, course name in lower case) pairs Rollbook has an active
    enrollment for."""
    if not pairs:
        return set()
    numbers = sorted({key for key, _course in pairs})
    query = (
        select(Student.student_no, func.lower(Course.name))
        .join(CourseEnrollment, CourseEnrollment.student_id == Student.id)
        .join(Course, Course.id == CourseEnrollment.course_id)
        .where(Student.school_id == ctx.school_id, Student.deleted_at.is_(None),
               Student.student_no.in_(numbers), Course.deleted_at.is_(None),
               CourseEnrollment.active, CourseEnrollment.deleted_at.is_(None))
    )  # fmt: skip
    return {(number, course) for number, course in session.execute(query)}


def oneroster_validation(
    file: OneRosterFile, known: dict[str, str] | None = None,
    enrolled_now: set[tuple[str, str]] | None = None,
) -> ValidationResult:  # fmt: skip
    """The file as a roster import's input: its students and enrollments, its rejected
    rows and the enrollments it ends. ``known``: student number per sourced id of the
    Rollbook students the file's enrollments name without listing them; ``enrolled_now``:
    the (student number, lower-case course) enrollments Rollbook has, which a class marked
    tobedeleted ends."""
    records, rejections = list(file.records), list(file.rejections)
    ended = list(file.ended_enrollments)
    for item in file.pending:
        key = item.key or (known or {}).get(item.user)
        enrollments_file, students_file = item.files
        if key is None:
            rejections.append(Rejection(
                item.line, f"{enrollments_file}: student",
                f"The student {item.user} is not in {students_file}, and no Rollbook student "
                "has that sourced id; not enrolled.", item.row))  # fmt: skip
        elif item.action == "end" or (
            item.action == "dropped" and (key, item.course.lower()) in (enrolled_now or set())
        ):
            ended.append((key, item.course))
        elif item.action == "dropped":
            rejections.append(Rejection(
                item.line, f"{enrollments_file}: class",
                f"The class {item.class_id} ({item.course}) is marked tobedeleted in "
                "classes.csv; Rollbook does not create it or enroll anyone in it.", item.row))  # fmt: skip
        else:  # a student Rollbook has: enrolled, nothing else about them changes
            records.append(RosterRecord(
                line=item.line, student_no=key, email=None, first_name=None, last_name=None,
                class_name=None, grade_level=None, birth_date=None, status=None,
                course=item.course, sourced_id=item.user))  # fmt: skip
    return ValidationResult(records=records, rejections=rejections,
                            total_rows=len(records) + len(rejections), ended=ended)  # fmt: skip


@needs(Permission.IMPORT_ROSTERS)
def resolve_oneroster(session: Session, ctx: ServiceContext,
                      file: OneRosterFile) -> ValidationResult:  # fmt: skip
    """``oneroster_validation`` with what it needs from the database."""
    known = _students_by_sourced_id(session, ctx,
                                    {p.user for p in file.pending if p.key is None})  # fmt: skip
    pairs = [(p.key or known.get(p.user, ""), p.course) for p in file.pending
             if p.action == "dropped"]  # fmt: skip
    return oneroster_validation(file, known, _enrolled_now(session, ctx, pairs))


@dataclass
class OneRosterOutcome:
    roster: RosterOutcome
    students_in_file: int
    classes_in_file: int

    @property
    def enrollments_ended(self) -> int:
        return self.roster.enrollments_ended


@needs(Permission.IMPORT_ROSTERS)
def import_oneroster(
    session: Session, ctx: ServiceContext, file: OneRosterFile, *, commit: bool,
    plan: Plan | None = None, job: Job | None = None,
) -> OneRosterOutcome:  # fmt: skip
    """The dry run or (``commit``) the import of a file ``read_oneroster`` (or
    ``read_sds``) read."""
    validation = resolve_oneroster(session, ctx, file)
    params = {"file": file.name, "format": file.format}
    if commit:
        roster = apply_roster(session, ctx, validation, plan=plan, params=params, job=job)
    else:
        roster = plan_roster(session, ctx, validation, params=params, job=job)
    return OneRosterOutcome(roster, file.students, file.classes)
