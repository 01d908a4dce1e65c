"""Typed errors. Their text is shown to registrars as-is, so it says what is wrong,
where, and what to do about it."""

from __future__ import annotations


class RollbookError(Exception):
    """Base class for every error Rollbook reports to a person."""

    @property
    def message(self) -> str:
        return str(self)


class ValidationError(RollbookError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class NotFound(RollbookError):
    pass


class UnknownCourse(NotFound):
    """A course name that matches no course; ``suggestions`` are the closest names."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        hint = f" Did you mean {' or '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        super().__init__(
            f"There is no course named {name!r}.{hint} "
            "Pick a course from the list, or create the course first."
        )
        self.name = name
        self.suggestions = suggestions


class Conflict(RollbookError):
    pass


class PermissionDenied(RollbookError):
    pass


class DatabaseUnavailable(RollbookError):
    """The database could not be started or reached."""


class Cancelled(RollbookError):
    def __init__(self, message: str = "Cancelled; nothing was changed.") -> None:
        super().__init__(message)


class UnknownEvent(NotFound):
    """An event name that matches no event; ``suggestions`` are the closest names."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        hint = f" Did you mean {' or '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        super().__init__(
            f"There is no event named {name!r}.{hint} Pick an event from the list, or use its id."
        )
        self.name = name
        self.suggestions = suggestions


class EventFull(ValidationError):
    """No place is left for one more student: the desk may offer the waiting list
    (register again with ``waitlist_if_full``)."""

    def __init__(self, message: str, *, taken: int, capacity: int) -> None:
        super().__init__("capacity", message)
        self.taken = taken
        self.capacity = capacity


class RegistrationHasRecords(ValidationError):
    """A registration to cancel has check-ins or live certificates: cancelling it anyway
    revokes the certificates and sets the check-ins aside, which a person confirms."""

    def __init__(self, message: str, *, days: int, certificates: list[str]) -> None:
        super().__init__("registration", message)
        self.days = days
        self.certificates = certificates


class SyncUnreachable(RollbookError):
    """The school server cannot be reached (or the connection broke): local changes stay
    queued and the sync tries again later."""


class SyncRefused(RollbookError):
    """The school server answered but will not sync with this desktop (not registered,
    another school, a schema revision it does not take)."""

    def __init__(self, message: str, *, upgrade_required: bool = False,
                 reinit_required: bool = False) -> None:  # fmt: skip
        super().__init__(message)
        self.upgrade_required = upgrade_required
        # Away longer than the server keeps deleted rows: a fresh copy is needed.
        self.reinit_required = reinit_required
