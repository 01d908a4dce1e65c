"""Students: create, edit, deactivate, tombstone, and the paged, searchable list."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import date
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, func, select, text, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.models import CourseEnrollment, Student
from app.domain.context import ServiceContext
from app.domain.enums import StudentStatus
from app.domain.errors import Conflict, NotFound, ValidationError
from app.domain.rows import StudentPage, StudentRow, rows_from_values
from app.domain.student_fields import normalise_student
from app.services.paging import STREAM_BATCH, stream_batches
from app.services.permissions import REGISTRAR_ROLES, require_role
from app.services.search import quote_prefix, search_terms

EDITABLE_FIELDS = (
    "student_no", "first_name", "last_name", "email", "class_name",
    "grade_level", "birth_date", "status", "state_id", "sourced_id",
)  # fmt: skip


@dataclass(frozen=True)
class StudentInput:
    student_no: str
    first_name: str
    last_name: str
    email: str | None = None
    class_name: str | None = None
    grade_level: int | None = None
    birth_date: date | None = None
    status: str = StudentStatus.ACTIVE.value
    state_id: str | None = None
    sourced_id: str | None = None


StudentSort = Literal[
    "name", "student_no", "email", "class_name", "grade_level", "status", "active_courses"
]


@dataclass(frozen=True)
class StudentQuery:
    search: str = ""
    status: str | None = None
    class_name: str | None = None
    course_id: uuid.UUID | None = None
    sort: StudentSort = "name"
    descending: bool = False
    offset: int = 0
    limit: int = 100


# ---------------------------------------------------------------- reads


def _active_course_count():
    return (
        select(func.count())
        .where(
            CourseEnrollment.student_id == Student.id,
            CourseEnrollment.active,
            CourseEnrollment.deleted_at.is_(None),
        )
        .correlate(Student)
        .scalar_subquery()
    )


# The columns a StudentRow is built from; the list selects exactly these (plain tuples
# are several times cheaper than ORM entities at a page of 100 rows).
ROW_COLUMNS = (
    Student.id, Student.student_no, Student.first_name, Student.last_name, Student.email,
    Student.class_name, Student.grade_level, Student.birth_date, Student.status,
    Student.state_id, Student.sourced_id, Student.row_version, Student.updated_at,
)  # fmt: skip


def _to_row(student: Student, active_course_count: int = 0) -> StudentRow:
    return StudentRow(
        id=student.id,
        student_no=student.student_no,
        first_name=student.first_name,
        last_name=student.last_name,
        email=student.email,
        class_name=student.class_name,
        grade_level=student.grade_level,
        birth_date=student.birth_date,
        status=student.status,
        state_id=student.state_id,
        sourced_id=student.sourced_id,
        row_version=student.row_version,
        updated_at=student.updated_at,
        active_course_count=active_course_count,
    )


def _live_student(session: Session, ctx: ServiceContext, student_id: uuid.UUID) -> Student:
    student = session.scalar(
        select(Student).where(
            Student.id == student_id,
            Student.school_id == ctx.school_id,
            Student.deleted_at.is_(None),
        )
    )
    if student is None:
        raise NotFound("That student no longer exists; refresh the list and try again.")
    return student


def get_student(session: Session, ctx: ServiceContext, student_id: uuid.UUID) -> StudentRow:
    student = _live_student(session, ctx, student_id)
    count = session.scalar(select(_active_course_count()).where(Student.id == student.id))
    return _to_row(student, count or 0)


def find_student_by_number(
    session: Session, ctx: ServiceContext, student_no: str
) -> StudentRow | None:
    student = session.scalar(
        select(Student).where(
            Student.school_id == ctx.school_id,
            Student.student_no == student_no.strip(),
            Student.deleted_at.is_(None),
        )
    )
    return None if student is None else get_student(session, ctx, student.id)


def _tsquery_param(literal: str, name: str):
    return text(f"CAST(rollbook_fold(:{name}) AS tsquery)").bindparams(**{name: literal})


SHORT_WORD = 3  # letters; a word this short is a prefix of a large part of any school


def _has_digit(term: str) -> bool:
    return any(c.isdigit() for c in term)


def _weight(term: str) -> int:
    """How selective a search word is likely to be: its length, less one for a word with
    digits, as student numbers share their first characters ("S0" begins every number;
    "S0995" only a thousand)."""
    return len(term) - (1 if _has_digit(term) else 0)


def _search_split(search: str) -> tuple[str | None, str | None]:
    """The tsquery looked up in the GIN index, and the one checked on the rows it finds
    (None when there is none), for what a person typed.

    Only the longest word is looked up; the others are checked on the rows it found. A
    short word ("Le", "S07") is a prefix of a large part of the school, and intersecting
    its posting list would cost more than checking it on the few rows the long word
    finds. When every word is short ("Má Hä") each alone matches a large part of the
    school, and intersecting them in the index is cheaper than reading the tens of
    thousands of rows any one of them finds. Not a number prefix, though: "S0" begins a
    million different student numbers, each its own index entry; nor a single letter.
    """
    terms = search_terms(search)
    # A word that begins another ("Mar Martí") asks nothing more of a student.
    terms = [t for t in terms if not any(o != t and o.startswith(t) for o in terms)]
    if not terms:
        return None, None
    lookup = max(terms, key=_weight)
    looked_up = [lookup]
    if _weight(lookup) <= SHORT_WORD:
        # A single letter begins a twentieth of all words in the index; looking it up
        # costs more than checking it on the rows another word finds.
        looked_up = [t for t in terms if not _has_digit(t) and len(t) > 1] or [lookup]
    others = [t for t in terms if t not in looked_up]

    def literal(words: list[str]) -> str | None:
        return " & ".join(quote_prefix(word) for word in words) if words else None

    return literal(looked_up), literal(others)


def student_search_predicate(
    search: str, source=Student, *, lookup_only: bool = False
) -> ColumnElement[bool]:
    """Every word of ``search`` is a prefix of a word of the student (name, number,
    e-mail). Folded in SQL with the same function that built the vector, so "jose"
    and "José" meet; the GIN index on search_vector answers it (see _search_split for
    which words it looks up; ``|| ''::tsvector`` keeps the index away from the others).
    """
    looked_up, others = _search_split(search)
    if looked_up is None:
        return true()
    predicate = source.search_vector.op("@@")(_tsquery_param(looked_up, "search_tsquery"))
    if others is None or lookup_only:
        return predicate
    checked = source.search_vector.op("||")(text("''::tsvector")).op("@@")(
        _tsquery_param(others, "search_other_tsquery")
    )
    return and_(predicate, checked)


def _filtered(
    query: StudentQuery, ctx: ServiceContext, stmt: Select, *, lookup_only: bool = False
) -> Select:
    # Every value is a named parameter, so a compiled list statement can be run again
    # with other values (see _run_cached).
    stmt = stmt.where(
        Student.school_id == bindparam("school", ctx.school_id), Student.deleted_at.is_(None)
    )
    if query.search.strip():
        stmt = stmt.where(student_search_predicate(query.search, lookup_only=lookup_only))
    if query.status:
        stmt = stmt.where(Student.status == bindparam("status", query.status))
    if query.class_name:
        stmt = stmt.where(Student.class_name == bindparam("class_name", query.class_name))
    if query.course_id:
        stmt = stmt.where(
            exists().where(
                and_(
                    CourseEnrollment.student_id == Student.id,
                    CourseEnrollment.course_id == bindparam("course_id", query.course_id),
                    CourseEnrollment.active,
                    CourseEnrollment.deleted_at.is_(None),
                )
            )
        )
    return stmt


def _sort_columns(sort: StudentSort, count_column) -> list:
    name = Student.sort_name
    mapping = {
        "name": [name],
        "student_no": [Student.student_no],
        "email": [Student.email],
        "class_name": [Student.class_name, name],
        "grade_level": [Student.grade_level, name],
        "status": [Student.status, name],
        "active_courses": [count_column],
    }
    if sort not in mapping:
        raise ValidationError("sort", f"Students cannot be sorted by {sort!r}.")
    return mapping[sort]


# Up to this many estimated matches, a search collects its matches from the GIN index
# first and sorts just those. Above it, the first rows in list order are tried first:
# with that many matches a full page is almost always among them. When it is not
# ("Wi": all the W surnames sort last), the matches are collected after all.
MATCHES_SORTED_DIRECTLY = 10_000
# How many rows in list order that first try looks at. The name index carries each
# student's words, so the try reads only the index: about 30,000 entries cost a few
# milliseconds, against tens of milliseconds to collect 20,000 matches. Searches made
# only of number prefixes ("S00", "2024") try it too: every student number is unique,
# so the planner cannot estimate them, and "S0" may match everyone.
ORDERED_PROBE_ROWS = 30_000


def estimated_matches(session: Session, ctx: ServiceContext, query: StudentQuery) -> int:
    """The planner's estimate of how many students match (costs a plan, not a scan).

    Number prefixes checked on the rows are left out: the planner cannot judge them
    ("S0" matches everyone, "S02" a tenth of the school) and would guess a handful."""
    numbers = any(map(_has_digit, search_terms(query.search)))
    plan = _run_cached(
        session, ("estimate", numbers, *_shape(query)),
        lambda: _filtered(query, ctx, select(Student.id), lookup_only=numbers),
        _values(ctx, query),
        prefix="EXPLAIN (FORMAT JSON) ",
    )[0][0]  # fmt: skip
    return int(plan[0]["Plan"]["Plan Rows"])


# ---------------------------------------------------------------- compiled lists
# A list statement comes in a few shapes (which filters are set, the sort, whether the
# search has words checked on the rows). Each shape is built and compiled once and then
# run with new values: building and compiling the statement took longer than the
# database needs for a typical search (the Students page runs one per keystroke).
_COMPILED: dict[tuple, tuple[str, dict[str, Any]]] = {}


def _shape(query: StudentQuery) -> tuple:
    looked_up, others = _search_split(query.search)
    return (query.sort, query.descending, bool(query.status), bool(query.class_name),
            query.course_id is not None, looked_up is not None, others is not None)  # fmt: skip


def _values(ctx: ServiceContext, query: StudentQuery, limit: int | None = None) -> dict[str, Any]:
    looked_up, others = _search_split(query.search)
    values: dict[str, Any] = {
        "school": ctx.school_id, "status": query.status, "class_name": query.class_name,
        "course_id": query.course_id, "search_tsquery": looked_up,
        "search_other_tsquery": others, "page_offset": max(0, query.offset),
        "probe_rows": ORDERED_PROBE_ROWS,
    }  # fmt: skip
    if limit is not None:
        values["page_limit"] = limit + 1
    return values


def _run_cached(
    session: Session, key: tuple, build, values: dict[str, Any], *, prefix: str = ""
) -> list:
    """Run the statement ``build()`` makes for this shape, compiled once per process."""
    dialect = session.get_bind().dialect
    key = (*key, dialect.name, dialect.server_version_info, prefix)
    entry = _COMPILED.get(key)
    if entry is None:
        compiled = build().compile(dialect=dialect)
        if "POSTCOMPILE" in compiled.string:  # values rendered at run time: not reusable
            return [tuple(row) for row in session.execute(build()).all()]
        entry = (prefix + compiled.string, dict(compiled.params))
        _COMPILED[key] = entry
    sql, defaults = entry
    params = {name: values.get(name, default) for name, default in defaults.items()}
    # Through the SQLAlchemy connection rather than the driver's, so that statement
    # events and echo see it like any other.
    return list(session.connection().exec_driver_sql(sql, params).all())


def _order_columns(query: StudentQuery) -> list:
    """The columns of the list order: the chosen sort, then id, so the order is total
    (the table models read the far half of a list in mirrored order and rely on it)."""
    count_column = _active_course_count().label("active_course_count")
    return _sort_columns(query.sort, count_column) + [Student.id]


def _directed(query: StudentQuery, columns: list) -> list:
    return [column.desc() for column in columns] if query.descending else columns


def _list_order(query: StudentQuery) -> list:
    """The ORDER BY of a list."""
    return _directed(query, _order_columns(query))


def _page_statement(query: StudentQuery, ctx: ServiceContext, limit: int) -> Select:
    """A page straight from the table, walking the index of the list order."""
    count_column = _active_course_count().label("active_course_count")
    return (
        _filtered(query, ctx, select(*ROW_COLUMNS, count_column))
        .order_by(*_list_order(query))
        .offset(bindparam("page_offset", max(0, query.offset)))
        .limit(bindparam("page_limit", limit + 1))
    )


def _sort_keys(query: StudentQuery) -> list:
    """The list order's columns, labelled key_0..key_n (the last is the id)."""
    return [key.label(f"key_{i}") for i, key in enumerate(_order_columns(query))]


def _key_columns(subquery) -> list:
    """The sort keys (see _sort_keys) a subquery carries."""
    return [column for name, column in subquery.c.items() if name.startswith("key_")]


def _page_of_candidates(query: StudentQuery, candidates, limit: int) -> Select:
    """The page among ``candidates`` (a subquery of sort keys), with its rows' columns.

    The page is chosen on the keys alone and only its rows are read in full: sorting
    ten thousand matches costs less when each carries a name and an id than a whole row.
    """
    keys = _key_columns(candidates)
    page = (
        select(*keys)
        .order_by(*_directed(query, keys))
        .offset(bindparam("page_offset", max(0, query.offset)))
        .limit(bindparam("page_limit", limit + 1))
        .subquery("page")
    )
    page_keys = list(page.c)
    count_column = _active_course_count().label("active_course_count")
    return (
        select(*ROW_COLUMNS, count_column)
        .join_from(page, Student, Student.id == page_keys[-1])
        .order_by(*_directed(query, page_keys))
    )


def _probe_in_list_order(
    session: Session, ctx: ServiceContext, query: StudentQuery, limit: int
) -> list | None:
    """The first page, if it lies within the first rows in list order, else None.

    Correct whenever it answers: a full page found among the first N rows in list
    order is the first page of all matches, because later rows sort after them.
    """
    unsearched = replace(query, search="")

    def build() -> Select:
        first_rows = (
            _filtered(unsearched, ctx, select(*_sort_keys(query), Student.search_vector))
            .order_by(*_list_order(unsearched))
            .limit(bindparam("probe_rows", ORDERED_PROBE_ROWS))
            .subquery("first_rows")
        )
        matches = (
            select(*_key_columns(first_rows))
            .where(student_search_predicate(query.search, first_rows.c))
            .subquery("matches")
        )
        return _page_of_candidates(query, matches, limit)

    result = _run_cached(session, ("probe", *_shape(query)), build, _values(ctx, query, limit))
    return result if len(result) > limit else None


def _collected_page_statement(query: StudentQuery, ctx: ServiceContext, limit: int) -> Select:
    """A page of a search, from all its matches collected through the GIN index.

    Left to itself the planner may walk the name index hoping to meet a page of
    matches early; for "Wata" they all sort near the end, and it reads the whole
    table. OFFSET 0 fences the matches off from the ORDER BY without storing them:
    they stream from the bitmap scan into a top-N sort of their keys.
    """
    matches = _filtered(query, ctx, select(*_sort_keys(query))).offset(0).subquery("matches")
    return _page_of_candidates(query, matches, limit)


def list_students(session: Session, ctx: ServiceContext, query: StudentQuery) -> StudentPage:
    """One page of live students matching the query, in the requested order."""
    limit = max(1, min(query.limit, 1000))
    result = None
    searching = bool(query.search.strip())
    estimate = estimated_matches(session, ctx, query) if searching else 0
    if (
        searching
        and query.offset == 0
        and (estimate > MATCHES_SORTED_DIRECTLY or all(map(_has_digit, search_terms(query.search))))
    ):
        # Many matches (or only student-number prefixes, which the planner cannot
        # estimate): most likely a full page lies among the first rows in list order.
        result = _probe_in_list_order(session, ctx, query, limit)
    if result is None:
        if searching:
            path, build = "collected", lambda: _collected_page_statement(query, ctx, limit)
        else:
            path, build = "plain", lambda: _page_statement(query, ctx, limit)
        result = _run_cached(session, (path, *_shape(query)), build, _values(ctx, query, limit))
    rows = rows_from_values(StudentRow, result[:limit])
    return StudentPage(rows=rows, offset=query.offset, limit=limit, has_more=len(result) > limit)


def stream_students(
    session: Session, ctx: ServiceContext, query: StudentQuery, batch_size: int = STREAM_BATCH
) -> Iterator[list[StudentRow]]:
    """Every student matching the query, in list order, in batches (File > Export).

    The plain filtered and sorted statement: the search paths above find one page fast,
    while an export reads every match anyway. ``offset`` and ``limit`` are ignored.
    """
    count_column = _active_course_count().label("active_course_count")
    stmt = _filtered(query, ctx, select(*ROW_COLUMNS, count_column)).order_by(*_list_order(query))
    return stream_batches(session, stmt, lambda rows: rows_from_values(StudentRow, rows),
                          batch_size)  # fmt: skip


def count_students(session: Session, ctx: ServiceContext, query: StudentQuery) -> int:
    rows = _run_cached(session, ("count", *_shape(query)),
                       lambda: _filtered(query, ctx, select(func.count(Student.id))),
                       _values(ctx, query))  # fmt: skip
    return int(rows[0][0] or 0)


def list_class_names(session: Session, ctx: ServiceContext) -> list[str]:
    """The distinct class names, ascending. A skip scan over ix_student_class: one index
    probe per class instead of reading every student (a million rows, ~100 classes)."""
    rows = session.execute(
        text(
            """
            WITH RECURSIVE classes(name) AS (
                SELECT min(class_name) FROM student
                WHERE school_id = :school AND deleted_at IS NULL
              UNION ALL
                SELECT (SELECT min(class_name) FROM student
                        WHERE school_id = :school AND deleted_at IS NULL
                          AND class_name > classes.name)
                FROM classes WHERE classes.name IS NOT NULL
            )
            SELECT name FROM classes WHERE name IS NOT NULL
            """
        ),
        {"school": ctx.school_id},
    )
    return [name for (name,) in rows]


# ---------------------------------------------------------------- writes


def _check_unique(
    session: Session, ctx: ServiceContext, values: Mapping[str, Any], exclude: uuid.UUID | None
) -> None:
    others = select(Student).where(Student.school_id == ctx.school_id, Student.deleted_at.is_(None))
    if exclude is not None:
        others = others.where(Student.id != exclude)
    holder = session.scalar(others.where(Student.student_no == values["student_no"]))
    if holder is not None:
        raise Conflict(
            f"Student number {values['student_no']} is already used by "
            f"{_to_row(holder).full_name}. Use a different number or edit that student."
        )
    if values.get("email"):
        holder = session.scalar(others.where(func.lower(Student.email) == values["email"].lower()))
        if holder is not None:
            same_case = holder.email == values["email"]
            hint = "" if same_case else f" (as {holder.email}; e-mail addresses ignore case)"
            raise Conflict(
                f"The e-mail {values['email']} already belongs to "
                f"{_to_row(holder).full_name} ({holder.student_no}){hint}."
            )


def _flush(session: Session) -> None:
    """Flush inside a savepoint so a constraint race leaves the caller's transaction usable."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
        raise Conflict(
            {
                "uq_student_no_per_school": "That student number was just taken by someone "
                "else. Use a different number.",
                "uq_student_email_per_school": "That e-mail address was just taken by another "
                "student.",
            }.get(constraint or "", f"The change conflicts with existing data ({constraint}).")
        ) from None


def _snapshot(student: Student) -> dict[str, Any]:
    return {name: getattr(student, name) for name in EDITABLE_FIELDS}


def create_student(session: Session, ctx: ServiceContext, data: StudentInput) -> StudentRow:
    """Add a student. Raises ValidationError or Conflict (number/e-mail taken)."""
    require_role(ctx, *REGISTRAR_ROLES, doing="add students")
    values = normalise_student(asdict(data))
    _check_unique(session, ctx, values, exclude=None)
    student = Student(school_id=ctx.school_id, **values)
    session.add(student)
    _flush(session)
    session.refresh(student)
    return _to_row(student)


def update_student(
    session: Session,
    ctx: ServiceContext,
    student_id: uuid.UUID,
    changes: Mapping[str, Any],
    *,
    expected_version: int | None = None,
) -> StudentRow:
    """Change some fields. ``expected_version`` makes it fail if someone else saved first."""
    require_role(ctx, *REGISTRAR_ROLES, doing="edit students")
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(sorted(unknown)[0], f"{sorted(unknown)[0]!r} cannot be edited.")
    student = _live_student(session, ctx, student_id)
    if expected_version is not None and student.row_version != expected_version:
        raise Conflict(
            "Someone else changed this student while you were editing. "
            "Refresh to see their change, then edit again."
        )
    before = _snapshot(student)
    values = normalise_student({**before, **changes})
    if values == before:
        return get_student(session, ctx, student_id)
    _check_unique(session, ctx, values, exclude=student.id)
    for name, value in values.items():
        setattr(student, name, value)
    _flush(session)
    session.refresh(student)
    return get_student(session, ctx, student_id)


def deactivate_student(
    session: Session,
    ctx: ServiceContext,
    student_id: uuid.UUID,
    status: StudentStatus = StudentStatus.INACTIVE,
) -> StudentRow:
    """Mark a student inactive or withdrawn. Their enrollments and history stay."""
    if status is StudentStatus.ACTIVE:
        raise ValidationError("status", "Use update_student to re-activate a student.")
    return update_student(session, ctx, student_id, {"status": status.value})


def delete_student(session: Session, ctx: ServiceContext, student_id: uuid.UUID) -> None:
    """Tombstone a student: hidden from lists, kept in the database for sync and history."""
    require_role(ctx, *REGISTRAR_ROLES, doing="delete students")
    student = _live_student(session, ctx, student_id)
    student.deleted_at = func.now()
    _flush(session)
