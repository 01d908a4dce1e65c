"""The permission matrix, enforced in the services: every public service function says
what it needs, and each role is refused exactly what the matrix keeps from it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import text

from app.domain.context import ServiceContext
from app.domain.enums import UserRole
from app.domain.errors import PermissionDenied
from app.services.permissions import MATRIX, Permission, may

# Where the window and the CLI find the school's operations.
PACKAGES = ("app.services", "app.imports", "app.maintenance", "app.reports", "app.runs",
            "app.sync")  # fmt: skip
# Plumbing that guarded services call after their own check, never the window or the
# CLI directly: the run recorder, and the numbers a registration or certificate takes.
NOT_ENTRY_POINTS = {
    "app.runs.recorder.lock_school_for_bulk_run", "app.runs.recorder.start_run",
    "app.runs.recorder.record_dry_run", "app.runs.recorder.apply_recorded",
    "app.services.numbering.take_numbers",
}  # fmt: skip


def service_functions() -> Iterator[tuple[str, Callable]]:
    """Every public function defined in those packages that takes (session, ctx, …)."""
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.walk_packages(package.__path__, f"{package_name}."):
            module = importlib.import_module(info.name)
            for name, fn in vars(module).items():
                if name.startswith("_") or not inspect.isfunction(fn):
                    continue
                if inspect.unwrap(fn).__module__ != module.__name__:
                    continue  # imported from elsewhere: listed there
                parameters = list(inspect.signature(fn).parameters)
                if parameters[:2] == ["session", "ctx"]:
                    yield f"{module.__name__}.{name}", fn


SERVICES = sorted(service_functions())


def test_every_service_function_says_what_permission_it_needs():
    assert len(SERVICES) > 120  # the walk found them: one that saw none would pass
    unguarded = [name for name, fn in SERVICES
                 if not hasattr(fn, "permission") and name not in NOT_ENTRY_POINTS]  # fmt: skip
    assert unguarded == [], "add @needs(Permission.…) to these"
    assert {name for name, _fn in SERVICES} >= NOT_ENTRY_POINTS  # none of them gone stale


def test_the_matrix_gives_each_role_its_job():
    def roles(permission: Permission) -> set[str]:
        return {role.value for role in MATRIX[permission]}

    assert all(UserRole.ADMIN in holders for holders in MATRIX.values())  # admin: everything
    assert roles(Permission.MANAGE_USERS) == {"admin"}
    assert roles(Permission.SYNC_CONFLICTS) == {"admin"}
    assert roles(Permission.BACKFILL) == {"admin"}
    assert roles(Permission.REPAIR) == {"admin"}
    for office in (Permission.MANAGE_STUDENTS, Permission.MANAGE_ENROLLMENTS,
                   Permission.DECIDE_REQUESTS, Permission.IMPORT_ROSTERS,
                   Permission.CHECK_CONSISTENCY):  # fmt: skip
        assert roles(office) == {"admin", "registrar"}
    for desk in (Permission.VIEW, Permission.TAKE_ATTENDANCE, Permission.REGISTER_FOR_EVENTS,
                 Permission.CHECK_IN, Permission.ISSUE_CERTIFICATES,
                 Permission.EXPORT_REPORTS):  # fmt: skip
        assert roles(desk) == {"admin", "registrar", "staff"}
    assert may(UserRole.REGISTRAR, Permission.REPAIR, registrars_may_repair=True)
    assert not may(UserRole.STAFF, Permission.REPAIR, registrars_may_repair=True)


def _call(db, fn: Callable, role: UserRole) -> BaseException | None:
    """``fn`` called as ``role`` with nothing real for its arguments, in a savepoint
    that is rolled back: what it raised (None: it returned)."""
    ctx = ServiceContext(school_id=db.school.id, actor=f"a {role.value}", role=role)
    required = [p for p in list(inspect.signature(fn).parameters.values())[2:]
                if p.default is inspect.Parameter.empty
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]  # fmt: skip
    keywords = {p.name: None for p in list(inspect.signature(fn).parameters.values())[2:]
                if p.default is inspect.Parameter.empty and p.kind is p.KEYWORD_ONLY}  # fmt: skip
    with db.sessions() as session:
        session.begin()
        try:
            fn(session, ctx, *[None] * len(required), **keywords)
        except BaseException as exc:  # noqa: BLE001 - any outcome but a refusal will do
            return exc
        finally:
            session.rollback()
    return None


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")  # None for an id, on purpose
@pytest.mark.parametrize("role", list(UserRole), ids=lambda r: r.value)
def test_each_role_is_refused_exactly_what_the_matrix_keeps_from_it(db, role):
    wrong: list[str] = []
    for name, fn in SERVICES:
        permission = getattr(fn, "permission", None)
        if permission is None:
            continue
        outcome = _call(db, fn, role)
        refused = isinstance(outcome, PermissionDenied)
        if refused == may(role, permission):
            wrong.append(f"{name} ({permission.name}): {'refused' if refused else 'allowed'}")
        if refused and permission.value not in str(outcome):
            wrong.append(f"{name}: refusal without its reason: {outcome}")
    assert wrong == []


def test_a_refusal_says_who_what_and_which_role_it_needs(db):
    from app.services.students import StudentInput, create_student

    staff = ServiceContext(school_id=db.school.id, actor="jo", role=UserRole.STAFF)
    with db.sessions.begin() as s, pytest.raises(PermissionDenied) as refused:
        create_student(s, staff, StudentInput("S1", "Ann", "Lee"))
    assert str(refused.value) == ("jo (staff) may not add, edit or delete students; this "
                                  "needs the admin or registrar role.")  # fmt: skip
    with db.sessions.begin() as s:
        assert s.execute(text("SELECT count(*) FROM student")).scalar() == 0


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
def test_registrars_repair_where_the_school_allows_it(db):
    from app.maintenance.repair import apply_repair

    registrar = ServiceContext(school_id=db.school.id, actor="reg", role=UserRole.REGISTRAR)
    assert isinstance(_call(db, apply_repair, UserRole.REGISTRAR), PermissionDenied)
    with db.sessions.begin() as s:
        s.execute(text("UPDATE school SET registrars_may_repair = true WHERE id = :s"),
                  {"s": registrar.school_id})  # fmt: skip
    assert not isinstance(_call(db, apply_repair, UserRole.REGISTRAR), PermissionDenied)
    assert isinstance(_call(db, apply_repair, UserRole.STAFF), PermissionDenied)
