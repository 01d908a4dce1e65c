"""``rollbook users add|list|set-role|deactivate|reset-password``: the school's staff
accounts (admin only, once the school has accounts).

A new password is typed twice without echo, or read from standard input with
``--password-stdin`` (after the line of ``--user``'s own password, when both come from
there). Exit 0 done, 2 refused or bad input (one line).
"""

from __future__ import annotations

import argparse
from dataclasses import asdict

from app.cli.identity import ask_password, asked, os_login, stdin_line
from app.cli.output import EXIT_OK, CommandError, count_option, print_json
from app.cli.session import school_session
from app.config import Settings

ROLES = ("admin", "registrar", "staff")


def _new_password(args: argparse.Namespace, username: str) -> str:
    if args.new_password_stdin:
        return stdin_line(f"{username}'s new password")
    first = ask_password(f"New password for {username}: ")
    if ask_password("Again: ") != first:
        raise CommandError("the two passwords differ; nothing was changed")
    return first


def _say(user, head: str) -> None:
    linked = f", linked to the login {user.os_login}" if user.os_login else ""
    print(f"{head} {user.username} ({user.display_name}): {user.role.value}"
          f"{'' if user.active else ', deactivated'}{linked}.")  # fmt: skip


def cmd_users_add(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.users import add_user, check_password

    if args.no_password and not args.os_login:
        raise CommandError("--no-password needs --os-login: an account signs in with one or "
                           "the other")  # fmt: skip
    password = None if args.no_password else check_password(_new_password(args, args.username))
    with school_session(settings) as (session, ctx):
        user = add_user(session, ctx, args.username, args.role, password,
                        display_name=args.name or "", os_login=args.os_login)  # fmt: skip
    if args.json:
        print_json(asdict(user))
        return EXIT_OK
    _say(user, "Added")
    if user.os_login != os_login() and asked.user is None:
        print(f"From now on the command line acts as the account linked to your login "
              f"({os_login()}), or as --user NAME.")  # fmt: skip
    return EXIT_OK


def cmd_users_list(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.users import list_users

    with school_session(settings) as (session, ctx):
        users = list_users(session, ctx)
    if args.json:
        print_json([asdict(u) for u in users])
        return EXIT_OK
    if not users:
        print("The school has no accounts yet; `rollbook users add NAME --role admin` makes "
              "the first.")  # fmt: skip
    for u in users:
        state = "active" if u.active else "deactivated"
        last = f"{u.last_login_at:%Y-%m-%d %H:%M}" if u.last_login_at else "never"
        print(f"{u.username:<20} {u.role.value:<10} {state:<12} last signed in {last:<16} "
              f"{u.os_login or ''}")  # fmt: skip
    return EXIT_OK


def cmd_users_set_role(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.users import set_role

    with school_session(settings) as (session, ctx):
        user = set_role(session, ctx, args.username, args.role)
    if args.json:
        print_json(asdict(user))
    else:
        _say(user, "Now")
    return EXIT_OK


def cmd_users_deactivate(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.users import deactivate_user

    with school_session(settings) as (session, ctx):
        user = deactivate_user(session, ctx, args.username)
    if args.json:
        print_json(asdict(user))
    else:
        _say(user, "Deactivated")
    return EXIT_OK


def cmd_users_reset_password(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.users import check_password, reset_password

    password = check_password(_new_password(args, args.username))
    with school_session(settings) as (session, ctx):
        user = reset_password(session, ctx, args.username, password)
    if args.json:
        print_json(asdict(user))
    else:
        print(f"{user.username} has a new password; a lock from wrong passwords is lifted.")
    return EXIT_OK


def cmd_users_rules(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.users import account_rules, set_account_rules

    changes = {"require_passwords": None if args.require_passwords is None
               else args.require_passwords == "yes",
               "idle_lock_minutes": args.idle_lock,
               "registrars_may_repair": None if args.registrars_may_repair is None
               else args.registrars_may_repair == "yes"}  # fmt: skip
    with school_session(settings) as (session, ctx):
        if any(value is not None for value in changes.values()):
            rules = set_account_rules(session, ctx, **changes)
        else:
            rules = account_rules(session, ctx)
    if args.json:
        print_json(asdict(rules))
        return EXIT_OK
    print("Passwords: " + ("required, also for an account linked to the computer's login."
                           if rules.require_passwords else
                           "not asked of the computer's own login-linked account."))  # fmt: skip
    print("Idle lock: " + (f"after {rules.idle_lock_minutes} minutes without use."
                           if rules.idle_lock_minutes else "never."))  # fmt: skip
    print("Repair: " + ("admins and registrars." if rules.registrars_may_repair
                        else "admins only."))  # fmt: skip
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    users = sub.add_parser("users", help="the school's staff accounts (admin)")
    users_sub = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = users_sub.add_parser("add", help="add an account")
    add.add_argument("username", metavar="USERNAME")
    add.add_argument("--role", required=True, choices=ROLES, help="what the account may do")
    add.add_argument("--name", help="the person's name as shown (default: the username)")
    add.add_argument("--os-login", metavar="LOGIN",
                     help="link the account to this operating-system login: the command "
                     "line run by that login acts as it")  # fmt: skip
    add.add_argument(
        "--no-password",
        action="store_true",
        help="no password: the account is used through its --os-login only",
    )
    add.set_defaults(handler=cmd_users_add)
    listing = users_sub.add_parser("list", help="every account, its role and last sign-in")
    listing.set_defaults(handler=cmd_users_list)
    role = users_sub.add_parser("set-role", help="give an account another role")
    role.add_argument("username", metavar="USERNAME")
    role.add_argument("role", choices=ROLES, metavar="ROLE", help=" | ".join(ROLES))
    role.set_defaults(handler=cmd_users_set_role)
    deactivate = users_sub.add_parser("deactivate", help="stop an account from signing in "
                                      "(its history stays)")  # fmt: skip
    deactivate.add_argument("username", metavar="USERNAME")
    deactivate.set_defaults(handler=cmd_users_deactivate)
    reset = users_sub.add_parser("reset-password", help="give an account a new password "
                                 "(and lift a lock)")  # fmt: skip
    reset.add_argument("username", metavar="USERNAME")
    reset.set_defaults(handler=cmd_users_reset_password)
    rules = users_sub.add_parser("rules", help="show or (admin) set the school's rules for "
                                 "signing in and repair")  # fmt: skip
    rules.add_argument("--require-passwords", choices=["yes", "no"],
                       help="whether an account linked to the computer's login still signs "
                       "in with its password (default no)")  # fmt: skip
    rules.add_argument("--idle-lock", type=count_option(480, minimum=0), metavar="MINUTES",
                       help="lock the window after this many idle minutes; 0 never "
                       "(default 15)")  # fmt: skip
    rules.add_argument(
        "--registrars-may-repair",
        choices=["yes", "no"],
        help="whether registrars may apply repairs (default no: admins)",
    )
    rules.set_defaults(handler=cmd_users_rules)
    for parser in (add, reset):
        parser.add_argument("--password-stdin", action="store_true", dest="new_password_stdin",
                            help="read the new password from standard input (the line "
                            "after --user's own, if that comes from there too)")  # fmt: skip
    for parser in (add, listing, role, deactivate, reset, rules):
        parser.add_argument("--json", action="store_true", help="machine-readable output")
