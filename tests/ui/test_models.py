"""Table models: Qt's model contract (qtmodeltester), lazy paging, SQL sorting and
filtering, edits through the services."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import wait_loaded
from PySide6.QtCore import QModelRoleData, QModelRoleDataSpan, Qt
from sqlalchemy import select

from app.db.models import ClassSession, CourseEnrollment, Student
from ui.models.enrollments import EnrollmentTableModel
from ui.models.registrations import RegistrationTableModel
from ui.models.sessions import SessionTableModel
from ui.models.students import StudentTableModel

MODELS = [StudentTableModel, EnrollmentTableModel, SessionTableModel, RegistrationTableModel]


@pytest.mark.parametrize("model_class", MODELS, ids=lambda m: m.__name__)
def test_models_pass_qtmodeltester_before_and_after_filtering_and_paging(
    qtbot, qtmodeltester, ops_hub, demo_school, model_class
):
    model = model_class()
    model.PAGE_SIZE = 50  # several pages even in a small school
    model.reload()
    wait_loaded(qtbot, model)
    assert model.rowCount() > 50
    # check() runs the full contract now and stays connected: every later insert,
    # reset and dataChanged below is verified as it happens.
    qtmodeltester.check(model, force_py=True)

    # Touch a row far down: its page is fetched lazily.
    last = model.rowCount() - 1
    assert model.data(model.index(last, 0)) == "…"
    qtbot.waitUntil(lambda: model.data(model.index(last, 0)) != "…", timeout=10_000)
    assert model.data(model.index(last, 0))

    # A filter change resets the model to the filtered rows.
    filtered = (
        replace(model.query, search="zz-nobody-zz")
        if hasattr(model.query, "search")
        else replace(model.query, status="cancelled")
    )
    model.set_query(filtered)
    wait_loaded(qtbot, model)
    assert model.rowCount() < last + 1

    # And the full contract on a model that starts from the filtered query.
    other = model_class()
    other.set_query(filtered)
    wait_loaded(qtbot, other)
    qtmodeltester.check(other, force_py=True)


def test_students_sort_and_filter_in_sql(qtbot, ops_hub, demo_school, db):
    model = StudentTableModel()
    model.reload()
    wait_loaded(qtbot, model)
    assert model.rowCount() == 450
    model.sort(model.sort_column_for("student_no"), Qt.SortOrder.DescendingOrder)
    wait_loaded(qtbot, model)
    numbers = [model.data(model.index(r, 0)) for r in range(5)]
    assert numbers == sorted(numbers, reverse=True)
    with db.sessions.begin() as s:
        expected = s.scalar(select(Student.student_no).order_by(Student.student_no.desc()))
    assert numbers[0] == expected

    target = model.row_at(3)
    model.set_query(replace(model.query, search=f"{target.first_name} {target.last_name}"))
    wait_loaded(qtbot, model)
    assert any(model.row_at(r).id == target.id for r in range(model.rowCount()))


def test_only_a_bounded_number_of_pages_is_kept(qtbot, ops_hub, demo_school):
    model = SessionTableModel()
    model.PAGE_SIZE = 10
    model.MAX_CACHED_PAGES = 3
    model.reload()
    wait_loaded(qtbot, model)
    for row in range(0, model.rowCount(), 10):
        model.data(model.index(row, 0))
        qtbot.waitUntil(lambda r=row: model.row_at(r) is not None, timeout=10_000)
    assert len(model._state.pages) <= 3


def _edit(qtbot, model, row, column_title, value, role=Qt.ItemDataRole.EditRole):
    column = next(i for i, c in enumerate(model.columns) if c.title == column_title)
    index = model.index(row, column)
    return index, model.setData(index, value, role)


def test_editing_a_cell_saves_through_the_service(qtbot, ops_hub, demo_school, db):
    model = StudentTableModel()
    model.reload()
    wait_loaded(qtbot, model)
    student = model.row_at(0)
    with qtbot.waitSignal(model.edit_saved, timeout=10_000):
        index, accepted = _edit(qtbot, model, 0, "Class", "12Z")
    assert accepted
    qtbot.waitUntil(lambda: model.data(index) == "12Z", timeout=10_000)
    with db.sessions.begin() as s:
        assert s.get(Student, student.id).class_name == "12Z"


def test_invalid_edit_is_refused_at_the_cell_and_reverted(qtbot, ops_hub, demo_school, db):
    model = StudentTableModel()
    model.reload()
    wait_loaded(qtbot, model)
    student = model.row_at(1)
    with qtbot.waitSignal(model.edit_failed, timeout=10_000) as refused:
        index, _ = _edit(qtbot, model, 1, "E-mail", "not an e-mail")
    message = refused.args[1]
    assert "not a valid e-mail address" in message
    assert model.data(index) == (student.email or "")
    assert model.data(index, Qt.ItemDataRole.ToolTipRole) == message
    assert model.data(index, Qt.ItemDataRole.BackgroundRole) is not None
    with db.sessions.begin() as s:
        assert s.get(Student, student.id).email == student.email


def test_unticking_active_unenrolls_and_keeps_the_row(qtbot, ops_hub, demo_school, db):
    model = EnrollmentTableModel()
    model.set_query(replace(model.query, active=True))
    wait_loaded(qtbot, model)
    row = model.row_at(0)
    with qtbot.waitSignal(model.edit_saved, timeout=10_000):
        _edit(
            qtbot, model, 0, "Active", Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole
        )
    with db.sessions.begin() as s:
        enrollment = s.get(CourseEnrollment, row.id)
        assert enrollment is not None and enrollment.active is False


def test_session_status_edit_is_saved(qtbot, ops_hub, demo_school, db):
    model = SessionTableModel()
    model.reload()
    wait_loaded(qtbot, model)
    # A past lesson is completed: it cannot be cancelled any more, and the cell says why.
    done = next(n for n in range(50) if model.row_at(n).status == "completed")
    with qtbot.waitSignal(model.edit_failed, timeout=10_000) as refused:
        _edit(qtbot, model, done, "Status", "cancelled")
    assert "cannot change any more" in refused.args[1]
    # A lesson still to come can be.
    model.set_query(replace(model.query, status="scheduled"))
    wait_loaded(qtbot, model)
    row = model.row_at(0)
    with qtbot.waitSignal(model.edit_saved, timeout=10_000):
        _edit(qtbot, model, 0, "Status", "cancelled")
    with db.sessions.begin() as s:
        assert s.get(ClassSession, row.id).status == "cancelled"


@pytest.mark.parametrize("model_class", MODELS, ids=lambda m: m.__name__)
def test_pages_read_from_the_far_end_match_the_forward_order(
    qtbot, ops_hub, demo_school, db, model_class
):
    # The truth: the service's own forward pages, read straight through.
    reference = model_class()
    expected, offset = [], 0
    with db.sessions.begin() as session:
        while True:
            page = reference.fetch_page(session, db.context(), reference.query, offset, 500)
            expected += [row.id for row in page.rows]
            offset += len(page.rows)
            if not page.has_more:
                break

    paged = model_class()
    paged.PAGE_SIZE = 37  # pages that straddle the middle and end unevenly
    paged.reload()
    wait_loaded(qtbot, paged)
    for row in reversed(range(paged.rowCount())):
        paged.data(paged.index(row, 0))
    qtbot.waitUntil(lambda: not paged.is_loading, timeout=20_000)
    paged.MAX_CACHED_PAGES = 1000
    got = []
    for row in range(paged.rowCount()):
        qtbot.waitUntil(lambda r=row: paged.row_at(r) is not None, timeout=10_000)
        got.append(paged.row_at(row).id)
    assert got == expected


def test_refresh_after_rows_were_added_shows_every_row(qtbot, ops_hub, db, ctx):
    """A page asked for while the new total is still being counted must not be read
    with the old total (it would be read from the wrong end and miss the new rows)."""
    from app.services.students import StudentInput, create_student

    with db.sessions.begin() as s:
        for n in range(3):
            create_student(s, ctx, StudentInput(f"S{n}", "Ann", f"Lee{n}"))
    model = StudentTableModel()
    model.reload()
    wait_loaded(qtbot, model)
    assert model.rowCount() == 3
    with db.sessions.begin() as s:
        for n in range(3, 5):
            create_student(s, ctx, StudentInput(f"S{n}", "Ann", f"Lee{n}"))
    model.refresh()
    model.row_at(0)  # the view repaints at once and asks for the first page
    qtbot.waitUntil(lambda: model.rowCount() == 5 and not model.is_loading
                    and model.row_count_is_final, timeout=10_000)  # fmt: skip
    qtbot.waitUntil(lambda: all(model.row_at(r) is not None for r in range(5)), timeout=10_000)
    assert [model.row_at(r).student_no for r in range(5)] == ["S0", "S1", "S2", "S3", "S4"]


@pytest.mark.parametrize("model_class", MODELS, ids=lambda m: m.__name__)
def test_the_painting_path_answers_as_data_does(qtbot, ops_hub, demo_school, model_class):
    # The delegate asks through multiData; anything else (tests, accessibility, copy)
    # through data(). A cell must look the same either way, loaded or not yet.
    model = model_class()
    model.PAGE_SIZE = 20
    model.reload()
    wait_loaded(qtbot, model)
    roles = [int(role) for role in Qt.ItemDataRole if role < Qt.ItemDataRole.UserRole]
    for row in (0, 1, 7, model.rowCount() - 1, model.rowCount()):
        for column in range(model.columnCount()):
            index = model.index(row, column)
            for role in roles:
                asked = QModelRoleData(role)
                model.multiData(index, QModelRoleDataSpan(asked))
                assert asked.data() == model.data(index, role), (row, column, role)
