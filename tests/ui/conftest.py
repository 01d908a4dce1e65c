"""GUI test fixtures: QSettings in a temp folder, the ops hub on the test database."""

from __future__ import annotations

import gc
import tempfile

import pytest
from PySide6.QtCore import QCoreApplication, QSettings

from app.config import RunMode, load_settings
from app.db.engine import DatabaseTarget
from app.runtime import Database
from ui.ops import install_hub

QSettings.setDefaultFormat(QSettings.Format.IniFormat)
QSettings.setPath(
    QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp(prefix="rb-qs-")
)


@pytest.fixture(scope="session", autouse=True)
def gui_thread_collector(qapp):
    """As in the app (ui/app.py): cycles are collected on the window's thread, when no
    background operation runs — never by a worker in the middle of its query."""
    from ui.gc_collector import GuiThreadCollector
    from ui.ops import installed_hub

    def busy() -> bool:
        hub = installed_hub()
        return hub is not None and hub.busy

    collector = GuiThreadCollector(qapp, busy=busy)
    yield collector
    collector.stop()


@pytest.fixture
def database(db) -> Database:
    return Database(
        settings=load_settings(),
        target=DatabaseTarget(url=db.url, mode=RunMode.SERVER, location="test server",
                              admin_url=db.admin_url),  # as an embedded desktop has both
        engine=db.engine,
        sessions=db.sessions,
        school=db.school,
    )


@pytest.fixture
def ops_hub(qapp, database):
    QCoreApplication.setOrganizationName("RollbookTests")
    QSettings().clear()
    hub = install_hub(database)
    yield hub
    hub.shutdown()
    gc.collect()  # the test's windows and operations, here on the window's thread


@pytest.fixture
def demo_school(db):
    """A small but complete demo school (students, enrollments, sessions, events)."""
    from app.demo_data import create_demo_data

    with db.engine.begin() as conn:
        summary = create_demo_data(conn.connection.driver_connection, db.school.id,
                                   students=450, seed=3)  # fmt: skip
    return summary


def wait_loaded(qtbot, model, timeout: int = 10_000) -> None:
    """Until the model has its first page and its final row count."""
    qtbot.waitUntil(lambda: not model.is_loading and model.row_count_is_final, timeout=timeout)


def open_students_page(qtbot, height: int = 760):
    """The Students page shown at a desktop size, with its first page loaded."""
    from ui.pages.students import StudentsPage

    page = StudentsPage()
    qtbot.addWidget(page)
    page.resize(1300, height)
    page.show()
    qtbot.waitExposed(page)
    wait_loaded(qtbot, page.model)
    return page
