"""Certificates: who of an event gets one and why not, issuing them with sequential
numbers, revoking, and the ones the consistency repair flagged.

Participation certificates go to every registered student who attended at least the
event's ``certificate_min_days`` (counted as the consistency check counts them, so the
two never disagree); merit and winner certificates to the registrations a person
chooses. A registration holds at most one live certificate of each kind (the partial
unique index ``uq_certificate_live_per_kind``); a revoked one stays, with its number,
and a new one takes a new number — a number is never handed out twice.

Issuing is one transaction: the event row is locked (two desks issuing for the same
event take turns, the second sees the first's certificates), the decisions are made
again from the data as it is now, the block of numbers is taken (app.services.numbering
keeps it gap-free per school and year), and one INSERT … SELECT numbers the rows in
registration-number order.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.domain.context import ServiceContext
from app.domain.enums import CertificateKind, EventStatus, RegistrationStatus
from app.domain.errors import Conflict, NotFound, ValidationError
from app.domain.wording import counted, plural
from app.jobs import Job
from app.services import numbering
from app.services.numbering import PREFIXES, NumberKind
from app.services.permissions import Permission, needs
from app.services.typed_numbers import number_candidates, typed_number

KINDS = tuple(kind.value for kind in CertificateKind)
CERT = PREFIXES[NumberKind.CERTIFICATE]
REG = PREFIXES[NumberKind.REGISTRATION]


@dataclass(frozen=True)
class CertificateDecision:
    registration_id: uuid.UUID
    registration_no: str
    student_no: str
    name: str
    status: str  # the registration's
    days_attended: int
    gets_one: bool
    reason: str  # "attended 1 of 2 required days", "waitlisted", "already holds CERT-…"
    holds: str | None = None  # the live certificate of this kind it already holds


@dataclass(frozen=True)
class CertificatePlan:
    event_id: uuid.UUID
    event_name: str
    kind: str
    min_days: int
    decisions: list[CertificateDecision]  # by registration number

    @property
    def receiving(self) -> list[CertificateDecision]:
        return [d for d in self.decisions if d.gets_one]

    @property
    def not_receiving(self) -> list[CertificateDecision]:
        return [d for d in self.decisions if not d.gets_one]


@dataclass(frozen=True)
class IssuedCertificate:
    certificate_no: str
    registration_no: str
    student_no: str
    name: str


@dataclass(frozen=True)
class IssueResult:
    event_id: uuid.UUID
    event_name: str
    kind: str
    issued: list[IssuedCertificate]  # by certificate number
    not_issued: list[CertificateDecision]  # with the reason each did not get one


# Registration numbers in the order they were handed out: "REG-2026-100000" (a sixth
# digit) comes after "REG-2026-99999".
_IN_ORDER = "length(r.registration_no), r.registration_no"

# Every registration of the event (or the chosen ones) with what decides: its status,
# the days attended and the live certificate of the kind it holds. One statement; an
# event without registrations still returns its row.
_DECISIONS_SQL = text("""
SELECT ev.name, ev.status, ev.certificate_min_days,
       x.id, x.registration_no, x.student_no, x.name, x.status, x.days, x.holds
FROM event ev
LEFT JOIN LATERAL (
    SELECT r.id, r.registration_no, s.student_no,
           btrim(s.first_name || ' ' || s.last_name) AS name, r.status,
           (SELECT count(*) FROM event_attendance a
            WHERE a.registration_id = r.id AND a.deleted_at IS NULL) AS days,
           (SELECT min(c.certificate_no) FROM certificate c
            WHERE c.registration_id = r.id AND c.kind = :kind
              AND c.revoked_at IS NULL AND c.deleted_at IS NULL) AS holds
    FROM event_registration r
    JOIN student s ON s.id = r.student_id AND s.deleted_at IS NULL
    WHERE r.event_id = ev.id AND r.deleted_at IS NULL
      AND (CAST(:chosen AS text[]) IS NULL OR r.registration_no = ANY(CAST(:chosen AS text[])))
) x ON true
WHERE ev.id = :event AND ev.school_id = :school AND ev.deleted_at IS NULL
ORDER BY length(x.registration_no), x.registration_no
""")


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValidationError(
            "kind", f"{kind!r} is not a kind of certificate; use {', '.join(KINDS)}."
        )  # fmt: skip
    return kind


def _chosen(registration_nos: Sequence[str] | None) -> list[str] | None:
    if registration_nos is None:
        return None
    typed = list(dict.fromkeys(typed_number(no, REG) for no in registration_nos if no.strip()))
    if not typed:
        raise ValidationError("registration", "Choose at least one registration number.")
    return typed


def _awarded(kind: str, registration_nos: Sequence[str] | None) -> list[str]:
    """The registrations chosen for a merit or winner certificate: at least one."""
    if not registration_nos or not any(no.strip() for no in registration_nos):
        raise ValidationError(
            "registration", f"Choose the registrations that get a {kind} certificate "
            "(their registration numbers)."
        )  # fmt: skip
    return _chosen(registration_nos) or []


def attendance_reason(days: int, min_days: int) -> tuple[bool, str]:
    if min_days == 0:
        return True, "no attendance required"
    if days < min_days:
        return False, f"attended {days} of {min_days} required {plural(min_days, 'day')}"
    return True, f"attended {counted(days, 'day')} ({min_days} required)"


def _decide(kind: str, min_days: int, row) -> CertificateDecision:
    reg_id, number, student_no, name, status, days, holds = row
    if status == RegistrationStatus.CANCELLED.value:
        gets, reason = False, "registration cancelled"
    elif status == RegistrationStatus.WAITLISTED.value:
        gets, reason = False, "waitlisted"
    elif holds is not None:
        gets, reason = False, f"already holds {holds}"
    elif kind == CertificateKind.PARTICIPATION.value:
        gets, reason = attendance_reason(days, min_days)
    else:
        gets, reason = True, f"chosen for a {kind} certificate"
    return CertificateDecision(reg_id, number, student_no, name, status, days, gets, reason,
                               holds)  # fmt: skip


def _plan(
    session: Session, ctx: ServiceContext, event_id: uuid.UUID, kind: str,
    chosen: list[str] | None,
) -> tuple[CertificatePlan, str]:  # fmt: skip
    """The plan, and the event's status."""
    rows = session.execute(
        _DECISIONS_SQL,
        {"event": event_id, "school": ctx.school_id, "kind": kind, "chosen": chosen},
    ).all()  # fmt: skip
    if not rows:
        raise NotFound("That event no longer exists; refresh and try again.")
    name, status, min_days = rows[0][:3]
    decisions = [_decide(kind, min_days, row[3:]) for row in rows if row.id is not None]
    if chosen is not None:
        found = {d.registration_no for d in decisions}
        missing = [no for no in chosen if no not in found]
        if missing:
            raise ValidationError(
                "registration", f"{', '.join(missing)} {plural(len(missing), 'is')} not "
                f"{'a registration' if len(missing) == 1 else 'registrations'} for {name}; "
                "check the registration numbers."
            )  # fmt: skip
    return CertificatePlan(event_id, name, kind, min_days, decisions), status


@needs(Permission.ISSUE_CERTIFICATES)
def plan_participation(
    session: Session, ctx: ServiceContext, event_id: uuid.UUID,
    registration_nos: Sequence[str] | None = None,
) -> CertificatePlan:  # fmt: skip
    """Every registration of the event (or the chosen ones) with whether it gets a
    participation certificate and why (not). Read-only."""
    plan, _status = _plan(session, ctx, event_id, CertificateKind.PARTICIPATION.value,
                          _chosen(registration_nos))  # fmt: skip
    return plan


@needs(Permission.ISSUE_CERTIFICATES)
def plan_awards(
    session: Session, ctx: ServiceContext, event_id: uuid.UUID, kind: str,
    registration_nos: Sequence[str],
) -> CertificatePlan:  # fmt: skip
    """The chosen registrations with whether each can get a ``kind`` (merit, winner)
    certificate: registered, and not already holding a live one of that kind."""
    _check_kind(kind)
    plan, _status = _plan(session, ctx, event_id, kind, _awarded(kind, registration_nos))
    return plan


# ---------------------------------------------------------------- issuing

# The event row is the turn-taking point for issuing: FOR NO KEY UPDATE queues a second
# issuer for the same event without blocking registrations (their foreign-key checks
# take FOR KEY SHARE, which it lets through). Numbers carry the event's year, as its
# registration numbers do (app.services.registrations).
_LOCK_EVENT_SQL = text("""
SELECT name, status, CAST(extract(year FROM starts_on) AS integer) FROM event
WHERE id = :event AND school_id = :school AND deleted_at IS NULL
FOR NO KEY UPDATE
""")

_ISSUE_SQL = text(f"""
INSERT INTO certificate (id, school_id, registration_id, kind, certificate_no, issued_at,
                         issued_by)
SELECT gen_random_uuid(), :school, r.id, :kind,
       :prefix || lpad(CAST(:first + row_number() OVER (ORDER BY {_IN_ORDER}) - 1
                            AS text), {numbering.DIGITS}, '0'),
       now(), :actor
FROM event_registration r
WHERE r.id = ANY(CAST(:registrations AS uuid[]))
RETURNING registration_id, certificate_no
""")


@needs(Permission.ISSUE_CERTIFICATES)
def issue_certificates(
    session: Session, ctx: ServiceContext, event_id: uuid.UUID, kind: str = "participation",
    registration_nos: Sequence[str] | None = None, *, job: Job | None = None,
) -> IssueResult:  # fmt: skip
    """Issue ``kind`` certificates for the event in the caller's transaction.

    Participation: to everyone eligible now (or to those of ``registration_nos`` who
    are). Merit and winner: to the chosen ``registration_nos`` that are registered and
    do not hold a live one of the kind yet. Who does not get one is returned with the
    reason. Numbers follow on within the event's year ("CERT-2026-00001"), in
    registration-number order, with no gaps: a transaction that rolls back hands its
    numbers out again.
    """
    job = job or Job()
    _check_kind(kind)
    chosen = (_chosen(registration_nos) if kind == CertificateKind.PARTICIPATION.value
              else _awarded(kind, registration_nos))  # fmt: skip
    locked = session.execute(
        _LOCK_EVENT_SQL, {"event": event_id, "school": ctx.school_id}
    ).first()  # fmt: skip
    if locked is None:
        raise NotFound("That event no longer exists; refresh and try again.")
    event_name, status, year = locked
    if status == EventStatus.CANCELLED.value:
        raise ValidationError("event", f"{event_name} was cancelled; it gives no certificates.")
    job.progress(0, 2, "Checking who gets a certificate…")
    plan, _status = _plan(session, ctx, event_id, kind, chosen)
    receiving = plan.receiving
    job.check_cancel()
    if not receiving:
        return IssueResult(event_id, event_name, kind, [], plan.not_receiving)
    job.progress(1, 2, f"Issuing {counted(len(receiving), 'certificate')}…")
    block = numbering.take_numbers(session, ctx, NumberKind.CERTIFICATE, year, len(receiving))
    written = session.execute(
        _ISSUE_SQL,
        {"school": ctx.school_id, "kind": kind, "prefix": block.prefix, "first": block.first,
         "actor": ctx.actor, "registrations": [d.registration_id for d in receiving]},
    ).all()  # fmt: skip
    if len(written) != block.count:
        # Registrations are never deleted, so each one decided about is found again; were
        # one gone, its number would be a gap: nothing is issued (the caller rolls back).
        raise Conflict("The registrations changed while the certificates were issued; "
                       "nothing was issued. Try again.")  # fmt: skip
    by_registration = {d.registration_id: d for d in receiving}
    issued = sorted(
        (IssuedCertificate(no, by_registration[reg].registration_no,
                           by_registration[reg].student_no, by_registration[reg].name)
         for reg, no in written),
        key=lambda c: (len(c.certificate_no), c.certificate_no),  # 99999 before 100000
    )  # fmt: skip
    job.progress(2, 2, f"Issued {counted(len(issued), 'certificate')}")
    return IssueResult(event_id, event_name, kind, issued, plan.not_receiving)


# ---------------------------------------------------------------- revoking and flags


@dataclass(frozen=True)
class CertificateRow:
    certificate_no: str
    kind: str
    event_name: str
    registration_no: str
    student_no: str
    name: str
    issued_at: datetime
    revoked_at: datetime | None
    revoke_reason: str | None
    flagged_at: datetime | None
    flag_reason: str | None
    issued_by: str | None = None
    revoked_by: str | None = None


_CERTIFICATE_COLUMNS = """
c.certificate_no, c.kind, ev.name, r.registration_no, s.student_no,
btrim(s.first_name || ' ' || s.last_name), c.issued_at, c.revoked_at, c.revoke_reason,
c.revocation_flagged_at, c.revocation_flag_reason, c.issued_by, c.revoked_by
"""
_CERTIFICATE_JOINS = """
JOIN event_registration r ON r.id = c.registration_id
JOIN event ev ON ev.id = r.event_id
JOIN student s ON s.id = r.student_id
"""

# Number order: the shorter number first ("CERT-2026-00002" before "CERT-2026-00010"
# either way, and a year's numbers that outgrew five digits after the rest).
_EVENT_CERTIFICATES_SQL = text(f"""
SELECT {_CERTIFICATE_COLUMNS} FROM certificate c {_CERTIFICATE_JOINS}
WHERE c.school_id = :school AND r.event_id = :event AND c.deleted_at IS NULL
ORDER BY length(c.certificate_no), c.certificate_no
""")


@needs(Permission.VIEW)
def event_certificates(
    session: Session, ctx: ServiceContext, event_id: uuid.UUID
) -> list[CertificateRow]:
    """Every certificate of the event's registrations, revoked and flagged ones too, in
    number order: one statement (by the event's registrations, then
    ix_certificate_registration)."""
    rows = session.execute(_EVENT_CERTIFICATES_SQL, {"school": ctx.school_id, "event": event_id})
    return [CertificateRow(*row) for row in rows]


_FIND_SQL = text(f"""
SELECT {_CERTIFICATE_COLUMNS} FROM certificate c {_CERTIFICATE_JOINS}
WHERE c.school_id = :school AND c.certificate_no = ANY(CAST(:numbers AS text[]))
  AND c.deleted_at IS NULL
""")

# The WHERE on the certificate's own columns is checked again on the newest row when a
# concurrent change made this one wait, so two people revoking at once revoke once.
_REVOKE_SQL = text(f"""
WITH c AS (
    UPDATE certificate c SET revoked_at = now(), revoke_reason = :reason, revoked_by = :actor
    WHERE c.school_id = :school AND c.certificate_no = :number AND c.deleted_at IS NULL
      AND c.revoked_at IS NULL
    RETURNING c.*
)
SELECT {_CERTIFICATE_COLUMNS} FROM c {_CERTIFICATE_JOINS}
""")

_CLEAR_FLAG_SQL = text(f"""
WITH c AS (
    UPDATE certificate c SET revocation_flagged_at = NULL, revocation_flag_reason = NULL
    WHERE c.school_id = :school AND c.certificate_no = :number AND c.deleted_at IS NULL
      AND c.revoked_at IS NULL AND c.revocation_flagged_at IS NOT NULL
    RETURNING c.*
)
SELECT {_CERTIFICATE_COLUMNS} FROM c {_CERTIFICATE_JOINS}
""")

_FLAGGED_SQL = text(f"""
SELECT {_CERTIFICATE_COLUMNS} FROM certificate c {_CERTIFICATE_JOINS}
WHERE c.school_id = :school AND c.revocation_flagged_at IS NOT NULL
  AND c.revoked_at IS NULL AND c.deleted_at IS NULL
ORDER BY c.revocation_flagged_at, c.certificate_no
""")


def _find(session: Session, ctx: ServiceContext, typed: str) -> CertificateRow:
    row = session.execute(
        _FIND_SQL, {"school": ctx.school_id, "numbers": number_candidates(typed, CERT)}
    ).first()  # fmt: skip
    if row is None:
        raise NotFound(
            f"No certificate has the number {typed.strip()!r}; check the number printed on it."
        )  # fmt: skip
    return CertificateRow(*row)


def _revoked_text(found: CertificateRow) -> str:
    when = f" on {found.revoked_at:%d %b %Y}" if found.revoked_at else ""
    why = f" ({found.revoke_reason})" if found.revoke_reason else ""
    return f"{found.certificate_no} was already revoked{when}{why}"


@needs(Permission.REVOKE_CERTIFICATES)
def revoke_certificate(
    session: Session, ctx: ServiceContext, certificate_no: str, reason: str
) -> CertificateRow:
    """Revoke a certificate: it stays, with its number, marked revoked with the reason
    (who did it is in the audit log). The registration may be given a new one later,
    under a new number."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            "reason", "Say why the certificate is revoked; the reason is kept with it."
        )  # fmt: skip
    found = _find(session, ctx, certificate_no)
    if found.revoked_at is not None:
        raise Conflict(f"{_revoked_text(found)}; a revoked certificate stays revoked.")
    row = session.execute(
        _REVOKE_SQL, {"school": ctx.school_id, "number": found.certificate_no, "reason": reason,
                      "actor": ctx.actor}
    ).first()  # fmt: skip
    if row is None:
        raise Conflict(f"Someone revoked {found.certificate_no} a moment ago; refresh to see why.")
    return CertificateRow(*row)


@needs(Permission.VIEW)
def flagged_certificates(session: Session, ctx: ServiceContext) -> list[CertificateRow]:
    """Certificates the consistency repair flagged as no longer meeting their event's
    rules, not revoked yet: each waits for a person to revoke it or clear the flag."""
    return [CertificateRow(*row) for row in session.execute(_FLAGGED_SQL,
                                                            {"school": ctx.school_id})]  # fmt: skip


@needs(Permission.REVOKE_CERTIFICATES)
def clear_flag(session: Session, ctx: ServiceContext, certificate_no: str) -> CertificateRow:
    """Keep a flagged certificate: the flag goes, the certificate stays valid. (A
    certificate that still fails its event's rules is found again by the next check.)"""
    found = _find(session, ctx, certificate_no)
    if found.revoked_at is not None:
        raise Conflict(f"{_revoked_text(found)}; there is no flag to clear.")
    if found.flagged_at is None:
        raise Conflict(f"{found.certificate_no} is not flagged for revocation; nothing to clear.")
    row = session.execute(
        _CLEAR_FLAG_SQL, {"school": ctx.school_id, "number": found.certificate_no}
    ).first()  # fmt: skip
    if row is None:
        raise Conflict(f"Someone changed {found.certificate_no} a moment ago; refresh and look "
                       "again.")  # fmt: skip
    return CertificateRow(*row)
