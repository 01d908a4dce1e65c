"""Over-long values: the service refuses them naming the field and its limit, the schema
holds the same line, and a search of a pasted page is cut instead of crashing."""

from __future__ import annotations

import random
import string
import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from app.cli import main
from app.db.models import Base, Course, Student
from app.domain.errors import NotFound, ValidationError
from app.domain.text_limits import COURSE_TEXT_LIMITS, SEARCH_TEXT_LIMIT, STUDENT_TEXT_LIMITS
from app.services import courses, lookup, students
from app.services.student_search import StudentQuery
from app.services.students import StudentInput


def noise(length: int, seed: int = 1) -> str:
    """Text that does not compress: a repeated letter would fit a btree index entry and
    hide the crash these tests are about."""
    rng = random.Random(seed)
    return "".join(rng.choice(string.ascii_letters) for _ in range(length))


def noisy_words(length: int, seed: int = 2) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(string.ascii_letters + "  ") for _ in range(length))


def _student(**changes) -> StudentInput:
    values = {"student_no": "S1", "first_name": "Ann", "last_name": "Lee",
              "email": "ann@example.org", "class_name": "7A"}  # fmt: skip
    return StudentInput(**{**values, **changes})


def _long_value(field: str, length: int) -> str:
    return (
        noise(length - len("@example.org")) + "@example.org" if field == "email" else noise(length)
    )


def _count(db, model) -> int:
    with db.sessions.begin() as s:
        return len(s.scalars(select(model.id)).all())


@pytest.mark.parametrize("field", list(STUDENT_TEXT_LIMITS))
def test_a_student_field_of_3000_characters_is_refused_naming_the_field_and_limit(db, field):
    limit = STUDENT_TEXT_LIMITS[field]
    with db.sessions.begin() as s, pytest.raises(ValidationError) as refused:
        students.create_student(s, db.context(), _student(**{field: _long_value(field, 3000)}))
    assert refused.value.field == field
    assert "3,000 characters long" in str(refused.value)
    assert f"the most Rollbook keeps is {limit:,}" in str(refused.value)
    assert len(str(refused.value)) < 200  # the value itself is not echoed back
    assert _count(db, Student) == 0


@pytest.mark.parametrize("field", list(STUDENT_TEXT_LIMITS))
def test_exactly_the_limit_is_kept(db, field):
    value = _long_value(field, STUDENT_TEXT_LIMITS[field])
    with db.sessions.begin() as s:
        row = students.create_student(s, db.context(), _student(**{field: value}))
    assert getattr(row, field) == value


def test_an_edit_and_an_inline_edit_are_refused_the_same_way(db):
    with db.sessions.begin() as s:
        row = students.create_student(s, db.context(), _student())
    for field in ("first_name", "class_name", "sourced_id"):
        with db.sessions.begin() as s, pytest.raises(ValidationError) as refused:
            students.update_student(s, db.context(), row.id, {field: noise(3000)},
                                    expected_version=row.row_version)  # fmt: skip
        assert refused.value.field == field and "3,000 characters" in str(refused.value)
    with db.sessions.begin() as s:
        assert students.get_student(s, db.context(), row.id).first_name == "Ann"


def test_a_course_name_of_3000_characters_is_refused(db):
    limit = COURSE_TEXT_LIMITS["name"]
    for create in (courses.create_course, lambda s, c, n: courses.find_or_create_course(s, c, n)):
        with db.sessions.begin() as s, pytest.raises(ValidationError) as refused:
            create(s, db.context(), noise(3000))
        assert f"The course name is 3,000 characters long; the most Rollbook keeps is {limit}" in (
            str(refused.value)
        )
    with db.sessions.begin() as s:
        assert courses.create_course(s, db.context(), noise(limit)).name == noise(limit)
    assert _count(db, Course) == 1


def _insert(db, table: str, values: dict[str, str]) -> None:
    columns = ", ".join(values)
    marks = ", ".join(f":{name}" for name in values)
    with db.engine.begin() as conn:
        conn.execute(text(f"INSERT INTO {table} (id, school_id, {columns}) "
                          f"VALUES (gen_random_uuid(), :school, {marks})"),
                     {"school": db.school.id, **values})  # fmt: skip


def test_the_schema_refuses_what_the_service_would(db):
    """Plain SQL (a script, sync) meets the same limits, as named CHECK constraints."""
    for column, limit in STUDENT_TEXT_LIMITS.items():
        row = {"student_no": "S9", "first_name": "A", "last_name": "B",
               column: _long_value(column, limit + 1)}  # fmt: skip
        with pytest.raises(IntegrityError) as refused:
            _insert(db, "student", row)
        assert refused.value.orig.diag.constraint_name == f"ck_student_{column}_length"
    for column, limit in COURSE_TEXT_LIMITS.items():
        with pytest.raises(IntegrityError) as refused:
            _insert(db, "course", {"name": "Art", column: noise(limit + 1)})
        assert refused.value.orig.diag.constraint_name == f"ck_course_{column}_length"
    assert (_count(db, Student), _count(db, Course)) == (0, 0)


def test_the_models_name_the_constraints_the_migration_made_and_all_are_validated(db):
    with db.engine.connect() as conn:
        made = dict(conn.execute(text(
            "SELECT conname, convalidated FROM pg_constraint WHERE conname LIKE 'ck_%_length'"
        )).all())  # fmt: skip
    named = {
        constraint.name
        for table in (Base.metadata.tables["student"], Base.metadata.tables["course"])
        for constraint in table.constraints
        if str(constraint.name).endswith("_length")
    }
    assert set(made) == named
    assert len(named) == len(STUDENT_TEXT_LIMITS) + len(COURSE_TEXT_LIMITS)
    assert all(made.values())  # a fresh database has nothing over-long: all VALID


# ---------------------------------------------------------------- searches


@pytest.mark.parametrize("length", [3000, 10_000])
@pytest.mark.parametrize("typed", [noise, noisy_words])
def test_a_pasted_page_searches_its_first_characters_instead_of_crashing(db, length, typed):
    with db.sessions.begin() as s:
        students.create_student(s, db.context(), _student())
        pasted = typed(length)
        page = students.list_students(s, db.context(), StudentQuery(search=pasted))
        assert page.rows == []
        assert students.count_students(s, db.context(), StudentQuery(search=pasted)) == 0
        # Its words still narrow the search: no student has them.
        found = students.list_students(s, db.context(), StudentQuery(search="ann " + pasted))
        assert found.rows == []


def test_a_search_longer_than_the_limit_still_finds_by_its_first_words(db):
    with db.sessions.begin() as s:
        students.create_student(s, db.context(), _student())
        typed = "ann lee" + " " * (SEARCH_TEXT_LIMIT - 7) + noise(10_000)
        page = students.list_students(s, db.context(), StudentQuery(search=typed))
    assert [r.student_no for r in page.rows] == ["S1"]


def test_course_suggestions_and_the_lookup_take_a_pasted_page(db):
    with db.sessions.begin() as s:
        students.create_student(s, db.context(), _student())
        courses.create_course(s, db.context(), "Art")
        assert courses.closest_course_names(["Art", "Arts and Crafts"], noise(10_000)) == []
        with pytest.raises(NotFound) as missing:
            lookup.lookup_student(s, db.context(), noise(10_000))
        assert len(str(missing.value)) < SEARCH_TEXT_LIMIT + 100
        with pytest.raises(ValidationError):
            courses.get_course_by_name(s, db.context(), noise(10_000))


def _cli(capsys, db, *args: str) -> tuple[int, str, str]:
    code = main(["--database-url", db.url, "--school", "TEST", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("length", [3000, 10_000])
def test_the_search_commands_take_a_pasted_page(db, capsys, length):
    with db.sessions.begin() as s:
        students.create_student(s, db.context(), _student())
    for typed in (noise(length), noisy_words(length)):
        code, out, err = _cli(capsys, db, "students", "list", "--search", typed)
        assert (code, err) == (0, "") and "No students match" in out
        code, out, err = _cli(capsys, db, "requests", "list", "--search", typed)
        assert code == 0 and "Traceback" not in err
        code, out, err = _cli(capsys, db, "lookup", typed)
        assert code == 2 and "Traceback" not in err and len(err) < SEARCH_TEXT_LIMIT + 100


# ---------------------------------------------------------------- the form


def test_the_student_form_keeps_to_the_limits_but_shows_an_old_long_value_whole(qtbot):
    from ui.dialogs.student_dialog import StudentDialog

    dialog = StudentDialog(None)
    qtbot.addWidget(dialog)
    for field, limit in STUDENT_TEXT_LIMITS.items():
        if field in dialog.fields:
            assert dialog.fields[field].maxLength() == limit
    dialog.first_name.setText(noise(3000))
    assert len(dialog.first_name.text()) == STUDENT_TEXT_LIMITS["first_name"]

    from datetime import UTC, datetime

    from app.domain.rows import StudentRow

    old = StudentRow(id=uuid.uuid4(), student_no="S1", first_name=noise(150), last_name="Lee",
                     email=None, class_name=None, grade_level=None, birth_date=None,
                     status="active", state_id=None, sourced_id=None, row_version=1,
                     updated_at=datetime.now(UTC))  # fmt: skip
    editing = StudentDialog(None, old)
    qtbot.addWidget(editing)
    assert editing.first_name.text() == old.first_name  # never cut without a word


@pytest.fixture
def ops_hub(qapp, db):
    """The GUI's database worker on the test database (as in tests/ui/conftest.py)."""
    from app.config import RunMode, load_settings
    from app.db.engine import DatabaseTarget
    from app.runtime import Database
    from ui.ops import install_hub

    database = Database(settings=load_settings(), engine=db.engine, sessions=db.sessions,
                        target=DatabaseTarget(url=db.url, mode=RunMode.SERVER,
                                              location="test server"),
                        school=db.school)  # fmt: skip
    hub = install_hub(database)
    yield hub
    hub.shutdown()


def test_the_search_box_cuts_a_pasted_page(qtbot, ops_hub, db):
    from PySide6.QtWidgets import QApplication

    from ui.pages.students import StudentsPage

    with db.sessions.begin() as s:
        students.create_student(s, db.context(), _student())
    page = StudentsPage()
    qtbot.addWidget(page)
    page.show()
    page.search.setFocus()
    QApplication.clipboard().setText("ann " + noise(10_000))
    page.search.paste()
    assert page.search.text() == ("ann " + noise(10_000))[:SEARCH_TEXT_LIMIT]
    page.apply_filters()
    qtbot.waitUntil(lambda: page.count_label.text() == "0 students", timeout=10_000)
