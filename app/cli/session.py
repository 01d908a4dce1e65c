"""The one way a sub-command reaches the database: open it (starting the embedded one,
running migrations), work in one transaction, close it again."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from app.config import Settings

if TYPE_CHECKING:  # building the parser at every start must not load the database layer
    from sqlalchemy.orm import Session

    from app.domain.context import ServiceContext


@contextmanager
def school_session(settings: Settings, *, dry_run: bool = False, create_school: bool = False
                   ) -> Iterator[tuple[Session, ServiceContext]]:  # fmt: skip
    """(session, context) for one transaction on the settings' school, committed at the
    end; with ``dry_run`` rolled back instead, so a preview leaves nothing behind, not
    even temporary tables. A school the database does not have is refused unless
    ``create_school`` (an applied import fills a new school on purpose)."""
    from app.cli.identity import acting_context
    from app.runtime import open_database

    db = open_database(settings, create_school=create_school)
    try:
        ctx = acting_context(db)
        # Captured as the signed-in person's, whoever the operating system says runs it.
        with db.sessions(info={"actor": ctx.actor}) as session, session.begin():
            yield session, ctx
            if dry_run:
                session.rollback()
    finally:
        db.close()
