"""Schools: every piece of data belongs to one.

A school is created on purpose only: on the first start (a database without any
school gets the one Rollbook starts with), by demo data and by an applied import. Any
other use of a code no school has is refused with the codes there are, so a mistyped
``--school`` never leaves an empty school behind.
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.config import check_school_code
from app.db.base import new_id
from app.db.models import School
from app.domain.errors import NotFound
from app.domain.rows import SchoolRow


def _row(school: School) -> SchoolRow:
    return SchoolRow(id=school.id, code=school.code, name=school.name)


def ensure_school(session: Session, code: str, name: str | None = None) -> SchoolRow:
    """The school with this code, created if it has none (first start, demo data, an
    applied import, tests). A code that is not short letters/digits/-/_ is refused."""
    code = check_school_code(code)
    # Looked for first: on a school server a login may see its own school only, and
    # row-level security refuses even an insert that ON CONFLICT would skip.
    found = session.scalar(select(School).where(School.code == code))
    if found is not None:
        return _row(found)
    session.execute(
        insert(School)
        .values(id=new_id(), code=code, name=name or f"School {code}")
        .on_conflict_do_nothing(index_elements=["code"])
    )
    return get_school(session, code)


def open_school(session: Session, code: str, *, create: bool) -> SchoolRow:
    """The school to work on. ``create``: made if missing (a command that fills it);
    otherwise only a database with no school at all gets it (the first start), and an
    unknown code is refused naming the known ones."""
    code = check_school_code(code)
    if create or not session.scalar(select(exists().where(School.id.is_not(None)))):
        return ensure_school(session, code)
    return get_school(session, code)


def get_school(session: Session, code: str) -> SchoolRow:
    code = code.strip().upper()
    school = session.scalar(select(School).where(School.code == code))
    if school is None:
        known = list(session.scalars(select(School.code).order_by(School.code).limit(11)))
        listed = ", ".join(known[:10]) + (", …" if len(known) > 10 else "")
        raise NotFound(
            f"There is no school {code!r} (schools: {listed or 'none yet'}). Give one of "
            f"those with --school, or create it on purpose: `rollbook --school {code} import "
            "students FILE --commit` (or demo-data)."
        )
    return _row(school)
