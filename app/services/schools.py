"""Schools: every piece of data belongs to one."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.db.base import new_id
from app.db.models import School
from app.domain.errors import NotFound, ValidationError
from app.domain.rows import SchoolRow


def _row(school: School) -> SchoolRow:
    return SchoolRow(id=school.id, code=school.code, name=school.name)


def ensure_school(session: Session, code: str, name: str | None = None) -> SchoolRow:
    """The school with this code, created on first use (start-up, demo data, tests)."""
    code = code.strip().upper()
    if not code:
        raise ValidationError("code", "A school needs a code, for example MAIN.")
    session.execute(
        insert(School)
        .values(id=new_id(), code=code, name=name or f"School {code}")
        .on_conflict_do_nothing(index_elements=["code"])
    )
    return get_school(session, code)


def get_school(session: Session, code: str) -> SchoolRow:
    school = session.scalar(select(School).where(School.code == code.strip().upper()))
    if school is None:
        raise NotFound(f"There is no school with code {code!r}.")
    return _row(school)
