"""Student services against a real database: rules a registrar relies on."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from app.db.models import AuditLog, Student
from app.domain.context import ServiceContext
from app.domain.enums import StudentStatus, UserRole
from app.domain.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.services.student_search import _filtered
from app.services.students import (
    StudentInput,
    StudentQuery,
    count_students,
    create_student,
    deactivate_student,
    delete_student,
    get_student,
    list_class_names,
    list_students,
    update_student,
)


def add(session, ctx, no, first, last, email=None, **extra):
    return create_student(session, ctx, StudentInput(no, first, last, email, **extra))


def test_create_trims_and_keeps_leading_zeros(session, ctx):
    row = add(
        session, ctx, " 000123 ", " Zoë ", "Müller", "zoe.muller@example.org", class_name="7A"
    )
    assert row.student_no == "000123"
    assert row.full_name == "Zoë Müller"
    assert row.status == "active"
    assert get_student(session, ctx, row.id).class_name == "7A"


def test_duplicate_student_number_is_refused_with_the_holder_named(session, ctx):
    add(session, ctx, "S1", "Anna", "Kowalska")
    with pytest.raises(Conflict, match="S1 is already used by Anna Kowalska"):
        add(session, ctx, "S1", "Other", "Person")


def test_email_differing_only_in_case_is_a_duplicate(session, ctx):
    add(session, ctx, "S1", "Anna", "Kowalska", "Anna.K@Example.org")
    with pytest.raises(Conflict, match="ignore case"):
        add(session, ctx, "S2", "Ann", "Other", "anna.k@example.ORG")


@pytest.mark.parametrize(
    ("field", "values", "message"),
    [
        ("status", {"status": "graduated"}, "not a student status"),
        ("email", {"email": "not-an-email"}, "not a valid e-mail"),
        ("student_no", {"student_no": "  "}, "student number is required"),
        ("last_name", {"first_name": "", "last_name": " "}, "first or last name"),
        ("grade_level", {"grade_level": 15}, "out of range"),
        ("birth_date", {"birth_date": "23/04/2011"}, "YYYY-MM-DD"),
    ],
)
def test_invalid_input_names_the_field(session, ctx, field, values, message):
    data = {"student_no": "S1", "first_name": "A", "last_name": "B", **values}
    with pytest.raises(ValidationError, match=message) as info:
        create_student(session, ctx, StudentInput(**data))
    assert info.value.field == field


def test_update_changes_fields_bumps_version_and_audits(db, ctx):
    with db.sessions.begin() as s:
        row = add(s, ctx, "S1", "Anna", "Kowalska", class_name="7A")
    with db.sessions.begin() as s:
        updated = update_student(s, ctx, row.id, {"class_name": "7B"}, expected_version=1)
    assert updated.class_name == "7B"
    assert updated.row_version == 2
    assert updated.updated_at > row.updated_at
    with db.sessions.begin() as s:
        entries = s.scalars(
            select(AuditLog).where(AuditLog.entity_id == row.id).order_by(AuditLog.id)
        ).all()
    assert [e.action for e in entries] == ["insert", "update"]
    assert entries[1].changes == {"before": {"class_name": "7A"}, "after": {"class_name": "7B"}}
    assert entries[1].actor == "tester"


def test_stale_version_is_a_conflict(session, ctx):
    row = add(session, ctx, "S1", "Anna", "Kowalska")
    update_student(session, ctx, row.id, {"first_name": "Ania"})
    with pytest.raises(Conflict, match="Someone else changed"):
        update_student(session, ctx, row.id, {"first_name": "Anne"}, expected_version=1)


def test_update_with_no_change_writes_nothing(session, ctx):
    row = add(session, ctx, "S1", "Anna", "Kowalska")
    again = update_student(session, ctx, row.id, {"first_name": " Anna "})
    assert again.row_version == row.row_version
    entries = select(text("count(*)")).select_from(AuditLog).where(AuditLog.entity_id == row.id)
    assert session.scalar(entries) == 1  # the student's creation, nothing since


def test_deactivate_keeps_the_student_listed_with_new_status(session, ctx):
    row = add(session, ctx, "S1", "Anna", "Kowalska")
    deactivate_student(session, ctx, row.id, StudentStatus.WITHDRAWN)
    listed = list_students(session, ctx, StudentQuery(status="withdrawn")).rows
    assert [r.id for r in listed] == [row.id]


def test_tombstoned_student_is_hidden_and_frees_the_number(session, ctx):
    row = add(session, ctx, "S1", "Anna", "Kowalska", "anna@example.org")
    delete_student(session, ctx, row.id)
    assert list_students(session, ctx, StudentQuery()).rows == []
    assert count_students(session, ctx, StudentQuery()) == 0
    with pytest.raises(NotFound):
        get_student(session, ctx, row.id)
    assert session.get(Student, row.id).deleted_at is not None  # the row stays
    add(session, ctx, "S1", "Anna", "Nowak", "anna@example.org")


def test_staff_may_not_edit_students(db):
    with db.sessions.begin() as s, pytest.raises(PermissionDenied, match="registrar"):
        add(s, db.context(UserRole.STAFF), "S1", "Anna", "Kowalska")


@pytest.fixture
def roster(session, ctx):
    people = [
        ("S0001", "José", "Ñúñez", "jose.nunez@example.org", "7A"),
        ("S0002", "Anne-Marie", "O'Brien", "am.obrien@example.org", "7B"),
        ("S0003", "Łukasz", "Dvořák", None, "7A"),
        ("2024-00123", "Zoë", "Müller", "zoe+art@example.org", "8A"),
        ("S0005", "Josephine", "Baker", "jb@new-school.k12.org", "8A"),
    ]
    return {p[0]: add(session, ctx, *p[:4], class_name=p[4]) for p in people}


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("jos", {"S0001", "S0005"}),
        ("JOSÉ", {"S0001", "S0005"}),
        ("jose nun", {"S0001"}),
        ("nunez", {"S0001"}),
        ("lukasz", {"S0003"}),
        ("dvor", {"S0003"}),
        ("o'bri", {"S0002"}),
        ("marie", {"S0002"}),
        ("s0003", {"S0003"}),
        ("00123", {"2024-00123"}),
        ("2024-001", {"2024-00123"}),
        ("zoe+art@example.org", {"2024-00123"}),
        ("am.obrien", {"S0002"}),
        ("newschool", set()),  # "new-school" is two words
        ("new school", {"S0005"}),
        ("school", {"S0005"}),  # any part of the domain, like a name word
        ("k12", {"S0005"}),
        ("@new-school.k12.org", {"S0005"}),
        ("new-school.k12.org", {"S0005"}),
        ("exam", {"S0001", "S0002", "2024-00123"}),
        ("example jos", {"S0001"}),
        ("org", {"S0001", "S0002", "2024-00123", "S0005"}),
        ("jb@new", {"S0005"}),  # the start of the whole address
        ("baker jos", {"S0005"}),
        ("s0003 dvo", {"S0003"}),  # a short number prefix beside a name
        ("s000 jos", {"S0001", "S0005"}),
        ("s0002 jos", set()),
        ("s0001 jo", {"S0001"}),  # a long number prefix is looked up, the name checked
        ("jos josephine", {"S0005"}),  # "jos" begins "josephine": it asks nothing more
        ("j b", {"S0005"}),  # single letters only
        ("o'b ma", {"S0002"}),  # single letters checked on the rows "ma" finds
        ("nobody", set()),
        ("  ", {"S0001", "S0002", "S0003", "2024-00123", "S0005"}),
        ("'&|!:*()", {"S0001", "S0002", "S0003", "2024-00123", "S0005"}),
    ],
)
def test_word_prefix_search(session, ctx, roster, search, expected):
    rows = list_students(session, ctx, StudentQuery(search=search)).rows
    assert {r.student_no for r in rows} == expected


def test_paging_sorting_and_filters(session, ctx, roster):
    page = list_students(session, ctx, StudentQuery(sort="student_no", limit=2))
    assert [r.student_no for r in page.rows] == ["2024-00123", "S0001"]
    assert page.has_more
    last = list_students(session, ctx, StudentQuery(sort="student_no", offset=4, limit=2))
    assert [r.student_no for r in last.rows] == ["S0005"] and not last.has_more
    by_name_desc = list_students(session, ctx, StudentQuery(descending=True))
    assert [r.last_name for r in by_name_desc.rows] == [
        "O'Brien",
        "Ñúñez",
        "Müller",
        "Dvořák",
        "Baker",
    ]
    in_8a = list_students(session, ctx, StudentQuery(class_name="8A", search="jo"))
    assert [r.student_no for r in in_8a.rows] == ["S0005"]
    with pytest.raises(ValidationError):
        list_students(session, ctx, StudentQuery(sort="password"))  # type: ignore[arg-type]


def test_search_is_answered_from_the_gin_index(session, ctx, roster):
    # bench_search checks the real plans at 1,000,000 students; here, on a few thousand
    # rows, the planner must find a path through the GIN index for a selective search.
    session.execute(
        text(
            "INSERT INTO student (id, school_id, student_no, first_name, last_name) "
            "SELECT gen_random_uuid(), :school, 'X' || i, 'First' || i, 'Last' || i "
            "FROM generate_series(1, 5000) AS i"
        ),
        {"school": ctx.school_id},
    )
    session.execute(text("SELECT rollbook_analyze('student')"))
    # Sequential scans priced out: the question is whether an index can answer at all.
    session.execute(text("SET LOCAL enable_seqscan = off"))
    stmt = _filtered(StudentQuery(search="jos nun"), ctx, select(Student.id))
    compiled = stmt.compile(session.bind, compile_kwargs={"literal_binds": True})
    plan = "\n".join(r[0] for r in session.execute(text(f"EXPLAIN {compiled}")))
    assert "ix_student_search_vector" in plan, plan
    assert "Seq Scan" not in plan, plan


def test_a_list_shape_run_again_uses_the_new_values(session, ctx, roster):
    """Lists of one shape reuse a compiled statement: every value must be its own."""
    from app.services.schools import ensure_school

    other = ensure_school(session, "OTHER", "Other School")
    other_ctx = ServiceContext(school_id=other.id, actor="tester", role=UserRole.ADMIN)
    add(session, other_ctx, "S0001", "José", "Elsewhere", "jose@other.example.org")
    here = list_students(session, ctx, StudentQuery(search="jos"))
    there = list_students(session, other_ctx, StudentQuery(search="jos"))
    assert {r.last_name for r in here.rows} == {"Ñúñez", "Baker"}
    assert [r.last_name for r in there.rows] == ["Elsewhere"]
    deactivate_student(session, ctx, roster["S0005"].id)
    for status, expected in (("active", {"S0001"}), ("inactive", {"S0005"})):
        rows = list_students(session, ctx, StudentQuery(search="jos", status=status)).rows
        assert {r.student_no for r in rows} == expected
    assert count_students(session, ctx, StudentQuery(search="jos", status="inactive")) == 1
    assert count_students(session, other_ctx, StudentQuery(search="jos")) == 1


@pytest.mark.parametrize("probe_rows", [3, 40, 1000])
@pytest.mark.parametrize(
    "query",
    [
        StudentQuery(search="an", limit=10),
        StudentQuery(search="an", limit=10, descending=True),
        StudentQuery(search="an ko", limit=5),
        StudentQuery(search="an", sort="class_name", limit=10),
        StudentQuery(search="s00", limit=10),
    ],
    ids=["name", "name-desc", "two-words", "class", "number"],
)
def test_a_search_tried_in_list_order_gives_the_same_page(
    session, ctx, monkeypatch, query, probe_rows
):
    # Many matches: a search first looks for its page among the first rows in list
    # order, and collects every match only when the page is not there. Either way the
    # registrar must see the same rows in the same order.
    first = ["Anna", "Jan", "Hana", "Ola", "Piotr", "Zofia", "Andrzej", "Ewa"]
    last = ["Kowalska", "Nowak", "Anders", "Wójcik", "Kowalczyk", "Zieliński"]
    for i in range(120):
        add(session, ctx, f"S{i:04d}", first[i % 8], last[i % 6] + ("an" if i % 5 == 0 else ""),
            class_name=f"{7 + i % 2}{'AB'[i % 3 % 2]}")  # fmt: skip
    from app.services import student_search as planner

    monkeypatch.setattr(planner, "MATCHES_SORTED_DIRECTLY", 10**9)  # never try the list order
    collected = [r.id for r in list_students(session, ctx, query).rows]
    monkeypatch.setattr(planner, "MATCHES_SORTED_DIRECTLY", 0)  # always try it first
    monkeypatch.setattr(planner, "ORDERED_PROBE_ROWS", probe_rows)
    tried_first = [r.id for r in list_students(session, ctx, query).rows]
    assert tried_first == collected
    assert len(collected) == query.limit


CLASSES_AS_READ = ["1A", "1B", "2A", "9C", "10A", "12N", "12O", "K", "Year 9", "Year 10"]


def test_classes_list_and_sort_in_the_order_people_read_them(session, ctx):
    for number, class_name in enumerate(reversed(CLASSES_AS_READ)):
        add(session, ctx, f"S{number:03}", "Pupil", f"N{number:03}", class_name=class_name)
    assert list_class_names(session, ctx) == CLASSES_AS_READ
    by_class = list_students(session, ctx, StudentQuery(sort="class_name"))
    assert [r.class_name for r in by_class.rows] == CLASSES_AS_READ
    backwards = list_students(session, ctx, StudentQuery(sort="class_name", descending=True))
    assert [r.class_name for r in backwards.rows] == CLASSES_AS_READ[::-1]
    # "12O" is a name, not a number: it is found and shown as typed
    in_12o = list_students(session, ctx, StudentQuery(class_name="12O"))
    assert [r.class_name for r in in_12o.rows] == ["12O"]
    assert list_students(session, ctx, StudentQuery(class_name="12o")).rows == []


def test_the_class_filter_is_answered_from_the_class_index(session, ctx):
    session.execute(
        text(
            "INSERT INTO student (id, school_id, student_no, first_name, last_name, class_name) "
            "SELECT gen_random_uuid(), :school, 'X' || i, 'First' || i, 'Last' || i, "
            "(1 + i % 12) || chr(65 + i % 4) FROM generate_series(1, 5000) AS i"
        ),
        {"school": ctx.school_id},
    )
    session.execute(text("SELECT rollbook_analyze('student')"))
    stmt = _filtered(StudentQuery(class_name="10B"), ctx, select(Student.id))
    compiled = stmt.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    plan = "\n".join(row[0] for row in session.execute(text(f"EXPLAIN {compiled}")))
    assert "ix_student_class" in plan, plan
    assert list_class_names(session, ctx)[:5] == ["1A", "2B", "3C", "4D", "5A"]
