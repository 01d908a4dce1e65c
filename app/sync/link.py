"""The desktop's line to the school server: plain SQL over libpq, errors in words.

Every call is one statement in autocommit (one server transaction), except pulls and the
initial copy, which read several pages inside one REPEATABLE READ transaction so that
all of them see the same snapshot. A connection that breaks, times out or cannot be
made is ``SyncUnreachable`` (try again later); an answer that refuses is
``SyncRefused``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from app.db.engine import describe_url
from app.domain.errors import SyncRefused, SyncUnreachable

CONNECT_TIMEOUT_S = 10
# A push or pull that hears nothing for this long is treated as a broken line.
STATEMENT_TIMEOUT_MS = 300_000
_REFUSED_CODES = {"RB001", "RB002", "RB003", "42501", "42883", "42P01"}


class ServerLink:
    """One connection to the school server, opened on first use."""

    def __init__(self, url: str) -> None:
        self.url = url.replace("postgresql+psycopg://", "postgresql://", 1)
        self.where = describe_url(url)
        self._conn: psycopg.Connection | None = None

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            try:
                self._conn = psycopg.connect(
                    self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                    application_name="rollbook-sync",
                    options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
                )  # fmt: skip
            except psycopg.Error as exc:
                raise self._unreachable(exc) from None
        return self._conn

    def call(self, function: str, *args: Any) -> Any:
        """``SELECT function(args…)`` in a transaction of its own; its value."""
        placeholders = ", ".join("%s" for _ in args)
        values = [Jsonb(a) if isinstance(a, dict | list) else a for a in args]
        with self._translated():
            row = self._connection().execute(
                f"SELECT {function}({placeholders})", values
            ).fetchone()  # fmt: skip
        return row[0] if row else None

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Calls inside the block share one REPEATABLE READ snapshot."""
        with self._translated():
            conn = self._connection()
            # Not READ ONLY: the pull keeps the rows it works out in a temporary table.
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            try:
                yield
            finally:
                if not conn.closed:
                    with contextlib.suppress(psycopg.Error):
                        conn.execute("ROLLBACK")

    @contextlib.contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except psycopg.errors.RaiseException as exc:
            raise self._refused(exc) from None
        except psycopg.OperationalError as exc:
            self.close()
            raise self._unreachable(exc) from None
        except psycopg.Error as exc:
            if getattr(exc, "sqlstate", None) in _REFUSED_CODES:
                raise self._refused(exc) from None
            self.close()
            if isinstance(exc, psycopg.InterfaceError):
                raise self._unreachable(exc) from None
            raise

    def _unreachable(self, exc: Exception) -> SyncUnreachable:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return SyncUnreachable(f"cannot reach the school server at {self.where}: {reason}")

    def _refused(self, exc: psycopg.Error) -> SyncRefused:
        diag = getattr(exc, "diag", None)
        message = (diag.message_primary if diag else None) or str(exc).strip().splitlines()[0]
        if getattr(exc, "sqlstate", None) in {"42883", "42P01"}:
            message = (f"the server at {self.where} is not set up for Rollbook's sync; run "
                       f"\"rollbook server init\" there")  # fmt: skip
        code = getattr(exc, "sqlstate", None)
        return SyncRefused(
            f"the school server refused: {message}",
            upgrade_required=code == "RB002",
            reinit_required=code == "RB003",
        )

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    def __enter__(self) -> ServerLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
