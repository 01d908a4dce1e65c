"""The application's side of the change capture.

The database writes the audit log itself (``rollbook_capture``, migrations 0004–0005): every
insert, update and delete of school data, whoever makes it. What it cannot know is who
is acting and for which run; it reads both from transaction-local settings, which are
set here, in the one place every transaction passes through:

- ``rollbook.actor``: set when a session from ``make_session_factory`` begins its
  transaction (a change made with plain SQL is captured with the database user);
- ``rollbook.run_id``: set by the run recorder (``app.runs``) around a run's work;
- ``rollbook.origin``: ``local`` unless the offline sync applies pulled changes.

The trigger in turn notes which tables it captured rows of in ``rollbook.changed``:
``written_entities`` reads it, so an operation learns what it really wrote.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, text
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

ACTOR_SETTING = "rollbook.actor"
RUN_SETTING = "rollbook.run_id"
ORIGIN_SETTING = "rollbook.origin"
CHANGED_SETTING = "rollbook.changed"

_STAMP = text(f"SELECT set_config('{ACTOR_SETTING}', :actor, true)")


def stamp_transactions(sessions: sessionmaker[Session], actor: str) -> None:
    """Every transaction a session of ``sessions`` begins is captured as ``actor``'s."""
    sessions.kw.setdefault("info", {})["actor"] = actor
    event.listen(sessions, "after_begin", _stamp)


def _stamp(session: Session, _transaction: SessionTransaction, connection) -> None:
    actor = session.info.get("actor")
    if actor:
        connection.execute(_STAMP, {"actor": actor})


def written_entities(session: Session) -> frozenset[str]:
    """The tables whose rows this transaction has changed so far (its committed
    savepoints included, rolled-back ones not)."""
    noted = session.execute(text(f"SELECT current_setting('{CHANGED_SETTING}', true)")).scalar()
    return frozenset(name for name in (noted or "").split(",") if name)


@contextmanager
def recording_run(session: Session, run_id: uuid.UUID) -> Iterator[None]:
    """Link every change captured inside the block to the run ``run_id``.

    Used inside a savepoint: when the block fails the savepoint's rollback undoes the
    setting too (and the transaction cannot take another statement until then)."""
    set_run = text(f"SELECT set_config('{RUN_SETTING}', :run, true)")
    session.execute(set_run, {"run": str(run_id)})
    yield
    session.execute(set_run, {"run": ""})
