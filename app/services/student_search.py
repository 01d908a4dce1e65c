"""The student search planner: how a list query becomes SQL, and which way it runs.

A search is a few word prefixes answered by the GIN index on the student's search
vector (see _search_split for which words are looked up and which are checked on the
rows). With many matches the first page is looked for among the first rows in list
order; with few, the matches are collected and only their sort keys sorted. Each
statement shape is compiled once and run again with new values.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, func, select, text, true
from sqlalchemy.orm import Session

from app.db.models import CourseEnrollment, Student, natural_order
from app.domain.context import ServiceContext
from app.domain.errors import ValidationError
from app.domain.rows import StudentPage, StudentRow, rows_from_values
from app.services.paging import stream_batches
from app.services.permissions import Permission, needs
from app.services.search import quote_prefix, search_terms

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


# ---------------------------------------------------------------- statements


def active_course_count_subquery():
    """A student's active course enrollments, as a column of a student query."""
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


# ---------------------------------------------------------------- search words


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
        # The key too, so the class index (key first) finds the class's rows directly.
        wanted = bindparam("class_name", query.class_name)
        stmt = stmt.where(
            natural_order(Student.class_name) == natural_order(wanted),
            Student.class_name == wanted,
        )
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
        "class_name": [natural_order(Student.class_name), Student.class_name, name],
        "grade_level": [Student.grade_level, name],
        "status": [Student.status, name],
        "active_courses": [count_column],
    }
    if sort not in mapping:
        raise ValidationError("sort", f"Students cannot be sorted by {sort!r}.")
    return mapping[sort]


# ---------------------------------------------------------------- choosing the path
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


@needs(Permission.VIEW)
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
    count_column = active_course_count_subquery().label("active_course_count")
    return _sort_columns(query.sort, count_column) + [Student.id]


def _directed(query: StudentQuery, columns: list) -> list:
    return [column.desc() for column in columns] if query.descending else columns


def _list_order(query: StudentQuery) -> list:
    """The ORDER BY of a list."""
    return _directed(query, _order_columns(query))


def _page_statement(query: StudentQuery, ctx: ServiceContext, limit: int) -> Select:
    """A page straight from the table, walking the index of the list order."""
    count_column = active_course_count_subquery().label("active_course_count")
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
    count_column = active_course_count_subquery().label("active_course_count")
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


# ---------------------------------------------------------------- entry points


@needs(Permission.VIEW)
def page_of_students(session: Session, ctx: ServiceContext, query: StudentQuery) -> StudentPage:
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


@needs(Permission.VIEW)
def count_matching_students(session: Session, ctx: ServiceContext, query: StudentQuery) -> int:
    """How many live students match the query (its offset and limit aside)."""
    rows = _run_cached(session, ("count", *_shape(query)),
                       lambda: _filtered(query, ctx, select(func.count(Student.id))),
                       _values(ctx, query))  # fmt: skip
    return int(rows[0][0] or 0)


@needs(Permission.VIEW)
def stream_students(
    session: Session, ctx: ServiceContext, query: StudentQuery, batch_size: int
) -> Iterator[list[StudentRow]]:
    """Every student matching the query, in list order, in batches.

    The plain filtered and sorted statement: the search paths above find one page fast,
    while an export reads every match anyway. ``offset`` and ``limit`` are ignored.
    """
    count_column = active_course_count_subquery().label("active_course_count")
    stmt = _filtered(query, ctx, select(*ROW_COLUMNS, count_column)).order_by(*_list_order(query))
    return stream_batches(session, stmt, lambda rows: rows_from_values(StudentRow, rows),
                          batch_size)  # fmt: skip
