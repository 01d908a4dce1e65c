"""``rollbook certificates issue|revoke|flagged|clear-flag|pdf``.

``issue`` is a dry run unless ``--commit``: it lists who gets a certificate and who does
not, with the reason. Exit codes follow the CLI's rule (0 done / nothing to do, 1
something to report, 2 bad input):

- dry run: 1 when certificates would be issued (a plan with changes, like
  ``backfill`` and ``sync-repair``), 0 when nobody would get one;
- ``--commit``: 0 when issued (or nobody was eligible); 1 when a registration named
  with ``--registration`` did not get one (the reason is printed; the others are
  issued);
- ``flagged``: 1 when certificates wait for a decision (like ``sync-check``), else 0;
- ``pdf``: 0 when saved; 2 when a named registration has no valid certificate, the
  event has none, or the file cannot be written (nothing is left behind);
- 2 for an unknown event, certificate or registration number, a blank reason.

``pdf`` draws with Qt, which this package never loads: the rollbook program
(ui.launch) hands its writer in; plain ``app.cli.main`` without one says so.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli.event_days import event_argument
from app.cli.output import (
    EXIT_FINDINGS,
    EXIT_OK,
    CommandError,
    end_progress,
    print_json,
    progress_job,
)
from app.cli.session import school_session
from app.config import Settings
from app.domain.enums import CertificateKind
from app.domain.wording import counted

if TYPE_CHECKING:
    from collections.abc import Callable

    from app.jobs import Job
    from app.services.certificate_print import PrintBatch
    from app.services.certificates import CertificateDecision, CertificateRow

    PdfWriter = Callable[[PrintBatch, Path, Job | None], int]

KINDS = [kind.value for kind in CertificateKind]


def _decision_line(d: CertificateDecision) -> str:
    return f"  {d.registration_no:<16} {d.student_no:<12} {d.name:<32} {d.reason}"


def _print_not_receiving(decisions: list[CertificateDecision], title: str) -> None:
    if decisions:
        print(f"{title} ({len(decisions):,}):")
    for d in decisions:
        print(_decision_line(d))


def cmd_certificates_issue(args: argparse.Namespace, settings: Settings) -> int:
    if args.commit:
        return _issue(args, settings)
    from app.services.certificates import plan_awards, plan_participation

    with school_session(settings, dry_run=True) as (session, ctx):
        event = event_argument(session, ctx, args.event)
        if args.kind == CertificateKind.PARTICIPATION.value:
            plan = plan_participation(session, ctx, event.id, args.registration)
        else:
            plan = plan_awards(session, ctx, event.id, args.kind, args.registration or [])
    receiving, not_receiving = plan.receiving, plan.not_receiving
    if args.json:
        print_json({"committed": False, "event_id": plan.event_id, "event": plan.event_name,
                    "kind": plan.kind, "min_days": plan.min_days, "receiving": len(receiving),
                    "not_receiving": len(not_receiving),
                    "decisions": [asdict(d) for d in plan.decisions]})  # fmt: skip
    else:
        print(f"Dry run (nothing changed; add --commit): {plan.event_name}, {plan.kind} "
              f"certificates: {len(receiving):,} {'gets' if len(receiving) == 1 else 'get'} "
              f"one, {len(not_receiving):,} {'does' if len(not_receiving) == 1 else 'do'} "
              "not.")  # fmt: skip
        if receiving:
            print(f"Gets one ({len(receiving):,}):")
        for d in receiving:
            print(_decision_line(d))
        _print_not_receiving(not_receiving, "Does not")
    return EXIT_FINDINGS if receiving else EXIT_OK


def _issue(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.certificates import issue_certificates

    job = progress_job(args.json)
    with school_session(settings) as (session, ctx):
        event = event_argument(session, ctx, args.event)
        result = issue_certificates(session, ctx, event.id, args.kind, args.registration,
                                    job=job)  # fmt: skip
    end_progress(args.json)
    if args.json:
        print_json({"committed": True, "event_id": result.event_id, "event": result.event_name,
                    "kind": result.kind, "issued": [asdict(c) for c in result.issued],
                    "not_issued": [asdict(d) for d in result.not_issued]})  # fmt: skip
    else:
        print(f"Issued {counted(len(result.issued), f'{result.kind} certificate')} for "
              f"{result.event_name}.")  # fmt: skip
        for c in result.issued:
            print(f"  {c.certificate_no:<16} {c.registration_no:<16} {c.student_no:<12} {c.name}")
        _print_not_receiving(result.not_issued, "Not issued")
    # Named registrations that did not get one are what the person asked for and did
    # not get; the eligible-or-not of a whole event is the normal outcome.
    return EXIT_FINDINGS if args.registration and result.not_issued else EXIT_OK


def _certificate_json(row: CertificateRow) -> dict[str, Any]:
    return asdict(row)


def _certificate_line(row: CertificateRow) -> str:
    return (f"{row.certificate_no} ({row.kind}, {row.name} {row.student_no}, "
            f"{row.registration_no}, {row.event_name})")  # fmt: skip


def cmd_certificates_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.certificates import revoke_certificate

    with school_session(settings) as (session, ctx):
        row = revoke_certificate(session, ctx, args.certificate_no, args.reason)
    if args.json:
        print_json(_certificate_json(row))
    else:
        print(f"Revoked {_certificate_line(row)}: {row.revoke_reason}")
    return EXIT_OK


def cmd_certificates_flagged(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.certificates import flagged_certificates

    with school_session(settings, dry_run=True) as (session, ctx):
        rows = flagged_certificates(session, ctx)
    if args.json:
        print_json([_certificate_json(row) for row in rows])
    elif not rows:
        print("No certificates are flagged for revocation.")
    else:
        print(f"{counted(len(rows), 'certificate')} flagged for revocation:")
        for row in rows:
            print(f"  {_certificate_line(row)}, flagged {row.flagged_at:%d %b %Y}: "
                  f"{row.flag_reason}")  # fmt: skip
        print("Revoke with `rollbook certificates revoke CERT_NO --reason R`, or keep one with "
              "`rollbook certificates clear-flag CERT_NO`.")  # fmt: skip
    return EXIT_FINDINGS if rows else EXIT_OK


def cmd_certificates_clear_flag(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.certificates import clear_flag

    with school_session(settings) as (session, ctx):
        row = clear_flag(session, ctx, args.certificate_no)
    if args.json:
        print_json(_certificate_json(row))
    else:
        print(f"Kept {_certificate_line(row)}; the flag is cleared.")
    return EXIT_OK


NO_PDF_WRITER = "certificate PDFs are made by the rollbook program (it needs Qt)"


def _pdf_path(typed: str) -> Path:
    path = Path(typed).expanduser()
    if path.suffix.lower() != ".pdf":
        raise CommandError(f"--out {typed}: the file name must end in .pdf.")
    if not path.parent.is_dir():
        raise CommandError(f"--out {typed}: there is no folder {path.parent}; create it or "
                           "choose another.")  # fmt: skip
    return path


def cmd_certificates_pdf(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.certificate_print import certificates_to_print

    writer: PdfWriter | None = getattr(args, "pdf_writer", None)
    if writer is None:
        raise CommandError(NO_PDF_WRITER)
    path = _pdf_path(args.out)
    with school_session(settings, dry_run=True) as (session, ctx):
        event = event_argument(session, ctx, args.event)
        batch = certificates_to_print(session, ctx, event.id, args.registration)
    job = progress_job(args.json)
    pages = writer(batch, path, job)
    end_progress(args.json)
    if args.json:
        print_json({"saved": pages, "path": str(path), "event_id": batch.event_id,
                    "event": batch.event_name,
                    "certificates": [c.certificate_no for c in batch.certificates]})  # fmt: skip
    else:
        print(f"Saved {counted(pages, 'certificate')} to {path}")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    certificates = sub.add_parser("certificates", help="issue, revoke and review certificates")
    certificates_sub = certificates.add_subparsers(dest="certificates_command", required=True,
                                                   metavar="ACTION")  # fmt: skip
    issue = certificates_sub.add_parser(
        "issue", help="issue an event's certificates (dry run unless --commit; exit 1 when "
        "the dry run would issue some)")  # fmt: skip
    issue.add_argument("event", metavar="EVENT", help="the event's name or id")
    issue.add_argument("--kind", choices=KINDS, default=CertificateKind.PARTICIPATION.value,
                       help="participation (default: everyone eligible), merit or winner "
                       "(the registrations given)")  # fmt: skip
    issue.add_argument("--registration", nargs="+", action="extend", metavar="NO",
                       help="only these registration numbers (needed for merit and winner)")  # fmt: skip
    issue.add_argument("--commit", action="store_true", help="issue the certificates")
    issue.add_argument("--json", action="store_true", help="machine-readable output")
    issue.set_defaults(handler=cmd_certificates_issue)

    revoke = certificates_sub.add_parser("revoke", help="revoke a certificate (it is kept, "
                                         "marked revoked with the reason)")  # fmt: skip
    revoke.add_argument("certificate_no", metavar="CERT_NO")
    revoke.add_argument("--reason", required=True, metavar="R", help="why (kept with it)")
    revoke.add_argument("--json", action="store_true", help="machine-readable output")
    revoke.set_defaults(handler=cmd_certificates_revoke)

    flagged = certificates_sub.add_parser(
        "flagged", help="certificates the consistency repair flagged for revocation (exit 1 "
        "when there are some)")  # fmt: skip
    flagged.add_argument("--json", action="store_true", help="machine-readable output")
    flagged.set_defaults(handler=cmd_certificates_flagged)

    clear = certificates_sub.add_parser("clear-flag", help="keep a flagged certificate: clear "
                                        "its flag")  # fmt: skip
    clear.add_argument("certificate_no", metavar="CERT_NO")
    clear.add_argument("--json", action="store_true", help="machine-readable output")
    clear.set_defaults(handler=cmd_certificates_clear_flag)

    pdf = certificates_sub.add_parser(
        "pdf", help="save an event's valid certificates as a PDF to print, one page each "
        "(the school's design: Settings > Certificates)")  # fmt: skip
    pdf.add_argument("event", metavar="EVENT", help="the event's name or id")
    pdf.add_argument("--registration", nargs="+", action="extend", metavar="NO",
                     help="only the certificates of these registration numbers")  # fmt: skip
    pdf.add_argument("--out", required=True, metavar="FILE.pdf", help="the PDF to write")
    pdf.add_argument("--json", action="store_true", help="machine-readable output")
    pdf.set_defaults(handler=cmd_certificates_pdf)
