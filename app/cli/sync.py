"""``rollbook sync`` (push then pull, ``status``, ``conflicts``) and ``rollbook server``
(``init``, ``add-device``): the offline sync on the command line.

Exit codes of ``sync``: 0 synced; 1 synced, but conflicts wait for a decision; 2 the
server unreachable or refusing (one line on stderr; local changes stay queued).
``sync conflicts``: 0 none open, 1 some. ``sync resolve``: 0 decided, 2 no such open
conflict or a choice it does not offer. ``sync reinit``: 0 replaced (or nothing in the
way of it, as a preview), 1 replaced with conflicts to decide, 2 unreachable or
refused.
``server …``: 0 done, 2 bad input or unreachable.
"""

from __future__ import annotations

import argparse
import threading
from dataclasses import asdict

from app.cli.output import (
    EXIT_BAD_INPUT,
    EXIT_FINDINGS,
    EXIT_OK,
    CommandError,
    count_option,
    end_progress,
    print_json,
    progress_job,
    say_error,
)
from app.config import ENV_DEVICE_NAME, Settings
from app.domain.wording import counted

DEFAULT_INTERVAL_S = 60.0


def _server_url(args: argparse.Namespace, settings: Settings) -> str:
    url = getattr(args, "url", None) or settings.server_url
    if not url:
        raise CommandError("no school server given: set ROLLBOOK_SERVER_URL or use --url "
                           "postgresql://user:password@host/database")  # fmt: skip
    return url


def _device_name(args: argparse.Namespace, settings: Settings) -> str:
    return args.device or settings.device_name


def _local(settings: Settings):
    """The desktop's database, schema at head, without creating a school: the first sync
    copies the school from the server."""
    from app.db.engine import make_session_factory
    from app.runtime import open_migrated

    _target, engine = open_migrated(settings)
    return engine, make_session_factory(engine, settings.actor)


def _report_json(report) -> dict:
    return {**asdict(report), "ok": report.ok}


def _say(report) -> None:
    if report.status in ("unreachable", "refused", "upgrade_required", "reinit_required"):
        retry = (f" (tries again in {report.retry_in_s:.0f} s)"
                 if report.retry_in_s and report.status == "unreachable" else "")  # fmt: skip
        queued = counted(report.pending_operations, "local change")
        say_error(f"sync failed: {report.message.rstrip('.')}{retry}; {queued} "
                  f"{'stays' if report.pending_operations == 1 else 'stay'} queued")  # fmt: skip
        return
    parts = []
    if report.copied_rows:
        parts.append(f"copied {counted(report.copied_rows, 'row')} of the school")
    parts.append(f"pushed {counted(report.pushed_operations, 'change')} "
                 f"({counted(report.pushed_transactions, 'transaction')})")  # fmt: skip
    parts.append(f"brought {counted(report.changed_rows, 'changed row')}")
    if report.reserved_numbers:
        parts.append(f"reserved {counted(report.reserved_numbers, 'number')} for working "
                     "offline")  # fmt: skip
    line = "Synced: " + ", ".join(parts) + "."
    if report.open_conflicts:
        waiting = "waits" if report.open_conflicts == 1 else "wait"
        line += (f" {counted(report.open_conflicts, 'conflict')} {waiting} for a decision "
                 f"(rollbook sync conflicts).")  # fmt: skip
    print(line)


def _exit_code(report) -> int:
    if report.status == "synced":
        return EXIT_OK
    if report.status == "conflicts":
        return EXIT_FINDINGS
    return EXIT_BAD_INPUT


def cmd_sync(args: argparse.Namespace, settings: Settings) -> int:
    from app.sync.engine import keep_syncing, sync_once
    from app.sync.server import accepted_revisions

    url = _server_url(args, settings)
    engine, sessions = _local(settings)
    revision = accepted_revisions()[0]
    try:
        block_kept = _set_number_block(sessions, settings, args.number_block)
        if args.once:
            report = sync_once(sessions, url, school_code=settings.school_code,
                               device_name=_device_name(args, settings), revision=revision,
                               job=progress_job(args.json))  # fmt: skip
            if not block_kept and report.ok:  # the first copy made the sync state
                _set_number_block(sessions, settings, args.number_block)
            end_progress(args.json)
            if args.json:
                print_json(_report_json(report))
            else:
                _say(report)
            return _exit_code(report)
        stop = threading.Event()
        last = None

        def on_report(report) -> None:
            nonlocal last, block_kept
            last = report
            if not block_kept and report.ok:
                block_kept = _set_number_block(sessions, settings, args.number_block)
            if args.json:
                print_json(_report_json(report))
            else:
                _say(report)

        try:
            keep_syncing(sessions, url, school_code=settings.school_code,
                         device_name=_device_name(args, settings), revision=revision,
                         interval_s=args.interval, stop=stop, on_report=on_report)  # fmt: skip
        except KeyboardInterrupt:
            stop.set()
        return _exit_code(last) if last is not None else EXIT_OK
    finally:
        engine.dispose()


def _set_number_block(sessions, settings: Settings, size: int | None) -> bool:
    """Keep --number-block for this desktop; False while it has not synced yet (it is
    set after the first copy then)."""
    from sqlalchemy import text

    from app.sync.numbers import set_block_size

    if size is None:
        return True
    with sessions.begin() as s:
        school = s.execute(text("SELECT school_id FROM sync_state st JOIN school sc "
                                "ON sc.id = st.school_id WHERE sc.code = :c"),
                           {"c": settings.school_code.upper()}).scalar()  # fmt: skip
        if school is None:
            return False
        set_block_size(s, school, size)
    return True


def _school_id(sessions, settings: Settings):
    from sqlalchemy import text

    with sessions.begin() as s:
        school = s.execute(text("SELECT id FROM school WHERE code = :c"),
                           {"c": settings.school_code.upper()}).scalar()  # fmt: skip
    if school is None:
        raise CommandError(f"this desktop has no school {settings.school_code.upper()} yet; "
                           "`rollbook sync --once` copies it from the school server")  # fmt: skip
    return school


def _read(settings: Settings, reader):
    """``reader(session, school_id)`` on this desktop's database."""
    engine, sessions = _local(settings)
    try:
        school_id = _school_id(sessions, settings)
        with sessions.begin() as s:
            return reader(s, school_id)
    finally:
        engine.dispose()


def cmd_sync_status(args: argparse.Namespace, settings: Settings) -> int:
    from app.sync.conflicts import sync_status

    status = _read(settings, sync_status)
    if args.json:
        print_json(asdict(status))
        return EXIT_OK
    if not status.connected:
        print("This desktop has not synced with a school server yet.")
        return EXIT_OK
    last = f"{status.last_sync_at:%Y-%m-%d %H:%M}" if status.last_sync_at else "never"
    print(f"Device {status.device_name} with {status.server}: last synced {last}; "
          f"{counted(status.pending_operations, 'local change')} to push; "
          f"{counted(status.open_conflicts, 'open conflict')}.")  # fmt: skip
    if status.numbers_left:
        left = ", ".join(f"{name} {count}" for name, count in status.numbers_left.items())
        print(f"Numbers reserved for working offline, not yet issued: {left}.")
    if status.last_error:
        print(f"Last attempt failed ({status.failures} in a row): {status.last_error}")
    return EXIT_OK


def cmd_sync_conflicts(args: argparse.Namespace, settings: Settings) -> int:
    from app.sync.conflicts import open_conflicts

    conflicts = _read(settings, open_conflicts)
    if args.json:
        print_json([{**asdict(c), "summary": c.summary} for c in conflicts])
    else:
        for c in conflicts:
            print(f"{str(c.id)[:8]}  {c.created_at:%Y-%m-%d %H:%M}  {c.summary}")
        if not conflicts:
            print("No open sync conflicts.")
    return EXIT_FINDINGS if conflicts else EXIT_OK


def _take(text: str) -> tuple[str, str | None]:
    """``local``, ``server`` or ``value=…``."""
    choice, equals, value = text.partition("=")
    choice = choice.strip().lower()
    if choice in ("local", "server") and not equals:
        return choice, None
    if choice == "value" and equals:
        return "value", value
    raise argparse.ArgumentTypeError(f"{text!r}: use --take local, --take server or "
                                     "--take value=NEW")  # fmt: skip


def cmd_sync_resolve(args: argparse.Namespace, settings: Settings) -> int:
    from app.cli.session import school_session
    from app.sync.resolve import resolve_conflict

    take, value = args.take
    with school_session(settings, dry_run=args.dry_run) as (session, ctx):
        outcome = resolve_conflict(session, ctx, args.conflict, take, value, dry_run=args.dry_run)
    if args.json:
        print_json(asdict(outcome))
        return EXIT_OK
    head = "Would decide" if args.dry_run else "Decided"
    print(f"{head} sync conflict {str(outcome.conflict_id)[:8]} "
          f"({outcome.kind.replace('_', '-')} on {outcome.entity}): {take}.")  # fmt: skip
    for line in outcome.changes:
        print(f"  {line}")
    for line in outcome.kept_existing:
        print(f"  kept: {line}")
    if outcome.resolved > 1:
        print(f"  closes {counted(outcome.resolved - 1, 'other conflict')} with it")
    if args.dry_run:
        print("Nothing changed (--dry-run).")
    else:
        print("The change is sent to the school server at the next sync.")
    return EXIT_OK


def _say_preview(preview) -> None:
    last = f"{preview.last_sync_at:%Y-%m-%d %H:%M}" if preview.last_sync_at else "never"
    print(f"Re-initialising device {preview.device_name} from {preview.server} (last synced "
          f"{last}) would replace this desktop's copy of the school "
          f"({counted(preview.local_rows, 'row')}) with the server's.")  # fmt: skip
    if preview.waiting:
        print(f"First, its {counted(len(preview.waiting), 'waiting change')} "
              f"{'is' if len(preview.waiting) == 1 else 'are'} sent to the server:")  # fmt: skip
        for change in preview.waiting:
            print(f"  {change.at:%Y-%m-%d %H:%M}  {change.summary}")
    else:
        print("No change made here is waiting to be sent.")
    if preview.open_conflicts:
        print(f"{counted(preview.open_conflicts, 'open sync conflict')} and the rows "
              f"{'it is' if preview.open_conflicts == 1 else 'they are'} about stay, to "
              "decide after.")  # fmt: skip


def cmd_sync_reinit(args: argparse.Namespace, settings: Settings) -> int:
    from app.sync.reinit import preview_reinit, reinitialise
    from app.sync.server import accepted_revisions

    engine, sessions = _local(settings)
    try:
        school_id = _school_id(sessions, settings)
        with sessions.begin() as s:
            preview = preview_reinit(s, school_id)
        if not args.commit:
            if args.json:
                print_json(asdict(preview))
            else:
                _say_preview(preview)
                print("Nothing changed; --commit re-initialises.")
            return EXIT_OK
        report = reinitialise(sessions, _server_url(args, settings),
                              school_code=settings.school_code,
                              device_name=_device_name(args, settings) or preview.device_name,
                              revision=accepted_revisions()[0],
                              job=progress_job(args.json))  # fmt: skip
        end_progress(args.json)
        if args.json:
            print_json(asdict(report))
        else:
            print(report.message)
        return EXIT_FINDINGS if report.open_conflicts else EXIT_OK
    finally:
        engine.dispose()


def cmd_server_prune(args: argparse.Namespace, settings: Settings) -> int:
    from app.sync.prune import prune_tombstones

    report = prune_tombstones(_server_url(args, settings), retention_days=args.retention_days,
                              commit=args.commit)  # fmt: skip
    if args.json:
        print_json({**asdict(report), "removed_rows": report.removed_rows})
        return EXIT_OK
    head = "Removed" if report.committed else "Would remove"
    removed = ", ".join(f"{table} {count:,}" for table, count in report.removed.items())
    print(f"{head} {counted(report.removed_rows, 'deleted row')} older than "
          f"{report.retention_days} days (deleted before {report.cutoff:%Y-%m-%d %H:%M}) from "
          f"{report.where}{f': {removed}' if removed else ''}.")  # fmt: skip
    if report.kept_referred:
        kept = ", ".join(f"{table} {count:,}" for table, count in report.kept_referred.items())
        print(f"Kept, because rows that stay still refer to them: {kept}.")
    for device in report.devices:
        print(f"Device {device.name} ({device.school_code}), last seen "
              f"{device.last_seen_at:%Y-%m-%d}, {'is' if report.committed else 'would be'} "
              "asked to re-initialise at its next sync.")  # fmt: skip
    if not report.committed:
        print("Nothing changed; --commit removes them.")
    return EXIT_OK


def cmd_server_init(args: argparse.Namespace, settings: Settings) -> int:
    from app.sync.server import init_server

    setup = init_server(_server_url(args, settings), school_code=args.school_code,
                        school_name=args.school_name)  # fmt: skip
    if args.json:
        print_json(asdict(setup))
    else:
        school = f"; school {setup.school_code} is there" if setup.school_code else ""
        print(f"The server at {setup.where} is ready for Rollbook's sync (database version "
              f"{setup.revision}; pushes from {' or '.join(setup.accepted_revisions)} are "
              f"taken){school}.")  # fmt: skip
    return EXIT_OK


def cmd_server_add_device(args: argparse.Namespace, settings: Settings) -> int:
    from app.sync.server import add_device

    school = args.school_code or settings.school_code
    device = add_device(_server_url(args, settings), school_code=school, name=args.name)
    if args.json:
        print_json(asdict(device))
    else:
        print(
            f'Device "{device.name}" may now sync school {device.school_code} '
            f'(on that desktop: ROLLBOOK_DEVICE_NAME="{device.name}" rollbook sync).\n'
            f"Its own database login, which syncs school {device.school_code} only:\n"
            + _handed_over(device.url, device.password, DESKTOP)
        )
    return EXIT_OK


DESKTOP = "that desktop (Tools > Connect to a school server…)"


def _handed_over(url: str, password: str, to_whom: str) -> str:
    """A new login's URL and password, for the administrator to hand over: shown once."""
    return (f"  URL:      {url}\n  password: {password}\n"
            f"Give both to {to_whom}; the password is not shown again.")  # fmt: skip


def cmd_server_device_login(args: argparse.Namespace, settings: Settings) -> int:
    from app.sync.server import device_login

    school = args.school_code or settings.school_code
    device = device_login(_server_url(args, settings), school_code=school, name=args.name)
    if args.json:
        print_json(asdict(device))
    else:
        print(f'Device "{device.name}" of school {device.school_code} has a new password for '
              "its own login (the old one no longer works):\n"
              + _handed_over(device.url, device.password, DESKTOP))  # fmt: skip
    return EXIT_OK


def cmd_server_add_login(args: argparse.Namespace, settings: Settings) -> int:
    from app.sync.server import add_login

    school = args.school_code or settings.school_code
    login = add_login(_server_url(args, settings), school_code=school, login=args.login)
    if args.json:
        print_json(asdict(login))
    else:
        print(f"Database login {login.login} may work on school {login.school_code}'s data "
              "on the server, and on no other school's:\n"
              + _handed_over(login.url, login.password,
                             "that person (ROLLBOOK_DATABASE_URL)"))  # fmt: skip
    return EXIT_OK


def cmd_server_numbers(args: argparse.Namespace, settings: Settings) -> int:
    from app.sync.server import number_blocks

    school = args.school_code or settings.school_code
    blocks = number_blocks(_server_url(args, settings), school_code=school)
    if args.json:
        print_json([{**asdict(b), "unissued": b.unissued} for b in blocks])
        return EXIT_OK
    for b in blocks:
        print(f"{b.device:<16} {b.first} … {b.last}  {b.issued:>5,} of {b.size:,} issued  "
              f"(reserved {b.reserved_at:%Y-%m-%d %H:%M})")  # fmt: skip
    unissued = sum(b.unissued for b in blocks)
    if not blocks:
        print("No desktop has reserved numbers yet.")
    else:
        print(f"{counted(unissued, 'reserved number')} not issued yet: held by the desktops "
              "above, and gaps in the numbering if they never issue them.")  # fmt: skip
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    sync = sub.add_parser("sync", help="sync this desktop with the school server: push local "
                          "changes, then pull the server's (ROLLBOOK_SERVER_URL)")  # fmt: skip
    sync.add_argument("--once", action="store_true", help="sync once and stop (default: keep "
                      "syncing every --interval seconds until Ctrl+C)")  # fmt: skip
    sync.add_argument("--interval", type=float, default=DEFAULT_INTERVAL_S, metavar="S",
                      help=f"seconds between syncs (default {DEFAULT_INTERVAL_S:.0f}); after a "
                      "failure sooner, with back-off")  # fmt: skip
    sync.add_argument("--number-block", type=count_option(10_000), metavar="N",
                      help="registration and certificate numbers to reserve at a time for "
                      "issuing offline (default 50; kept for this desktop)")  # fmt: skip
    sync.set_defaults(handler=cmd_sync)
    sync_sub = sync.add_subparsers(dest="sync_command", metavar="ACTION")
    status = sync_sub.add_parser("status", help="pending local changes, last sync, open "
                                 "conflicts")  # fmt: skip
    status.set_defaults(handler=cmd_sync_status)
    conflicts = sync_sub.add_parser("conflicts", help="changes that could not be merged, for a "
                                    "person to decide")  # fmt: skip
    conflicts.set_defaults(handler=cmd_sync_conflicts)
    resolve = sync_sub.add_parser("resolve", help="decide a conflict: keep this desktop's "
                                  "value, the server's, or another")  # fmt: skip
    resolve.add_argument("conflict", metavar="CONFLICT_ID",
                         help="the conflict's id, or its first characters as "
                         "`sync conflicts` lists them")  # fmt: skip
    resolve.add_argument("--take", type=_take, required=True, metavar="local|server|value=NEW",
                         help="local: this desktop's change; server: the server's version "
                         "(a duplicate merges into the existing row); value=NEW: another "
                         "value (a duplicate gets this number or e-mail)")  # fmt: skip
    resolve.add_argument("--dry-run", action="store_true",
                         help="show what deciding would change, change nothing")  # fmt: skip
    resolve.add_argument("--json", action="store_true", help="machine-readable output")
    resolve.set_defaults(handler=cmd_sync_resolve)
    reinit = sync_sub.add_parser("reinit", help="replace this desktop's copy with a fresh one "
                                 "from the server, its waiting changes sent first (after a "
                                 "long absence); a preview unless --commit")  # fmt: skip
    reinit.add_argument("--commit", action="store_true",
                        help="send the waiting changes and replace the copy (default: only "
                        "show what would be sent and replaced)")  # fmt: skip
    reinit.set_defaults(handler=cmd_sync_reinit)
    for parser in (sync, status, conflicts, reinit):
        parser.add_argument("--json", action="store_true", help="machine-readable output")
        parser.add_argument("--url", help="the school server (default: ROLLBOOK_SERVER_URL)")
        parser.add_argument("--device", metavar="NAME", help=f"this desktop's device name on "
                            f"the server (default: {ENV_DEVICE_NAME}, else the name it was "
                            "connected with, else the computer's name)")  # fmt: skip

    server = sub.add_parser("server", help="set a PostgreSQL server up as the school's sync "
                            "server")  # fmt: skip
    server_sub = server.add_subparsers(dest="server_command", required=True, metavar="ACTION")
    init = server_sub.add_parser("init", help="install Rollbook's schema and sync functions "
                                 "on the server (again after an upgrade)")  # fmt: skip
    init.add_argument("--school", dest="school_code", metavar="CODE",
                      help="also create this school there")  # fmt: skip
    init.add_argument("--school-name", metavar="NAME", help="the school's name")
    init.set_defaults(handler=cmd_server_init)
    add = server_sub.add_parser("add-device", help="allow a desktop to sync a school")
    add.add_argument("name", metavar="NAME", help="the desktop's device name")
    add.add_argument("--school", dest="school_code", metavar="CODE",
                     help="the school (default: --school or ROLLBOOK_SCHOOL)")  # fmt: skip
    add.set_defaults(handler=cmd_server_add_device)
    again = server_sub.add_parser("device-login", help="a new password for a desktop's own "
                                  "login (made now for a device added by an older Rollbook)")  # fmt: skip
    again.add_argument("name", metavar="NAME", help="the desktop's device name")
    again.add_argument("--school", dest="school_code", metavar="CODE",
                       help="the school (default: --school or ROLLBOOK_SCHOOL)")  # fmt: skip
    again.set_defaults(handler=cmd_server_device_login)
    login = server_sub.add_parser("add-login", help="a database login for a person working on "
                                  "the server directly, kept to one school's rows")  # fmt: skip
    login.add_argument("login", metavar="LOGIN", help="the PostgreSQL login name to create")
    login.add_argument("--school", dest="school_code", metavar="CODE",
                       help="the school (default: --school or ROLLBOOK_SCHOOL)")  # fmt: skip
    login.set_defaults(handler=cmd_server_add_login)
    numbers = server_sub.add_parser("numbers", help="the blocks of registration and "
                                    "certificate numbers desktops reserved, and how many "
                                    "are issued")  # fmt: skip
    numbers.add_argument("--school", dest="school_code", metavar="CODE",
                         help="the school (default: ROLLBOOK_SCHOOL)")  # fmt: skip
    numbers.set_defaults(handler=cmd_server_numbers)
    prune = server_sub.add_parser("prune", help="remove deleted rows older than the retention "
                                  "for good; desktops away longer re-initialise (a preview "
                                  "unless --commit)")  # fmt: skip
    prune.add_argument("--retention-days", type=count_option(36_500), metavar="DAYS",
                       help="keep deleted rows this many days (default: the server's, 180 "
                       "unless changed; kept with --commit)")  # fmt: skip
    prune.add_argument("--commit", action="store_true", help="remove them (default: only "
                       "count what would be removed)")  # fmt: skip
    prune.set_defaults(handler=cmd_server_prune)
    for parser in (init, add, again, login, numbers, prune):
        parser.add_argument("--url", help="the server (default: ROLLBOOK_SERVER_URL)")
        parser.add_argument("--json", action="store_true", help="machine-readable output")
