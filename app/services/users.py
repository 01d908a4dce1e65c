"""Staff accounts: who may sign in, with which role, and signing in itself.

Passwords are hashed with argon2id through argon2-cffi (the Password Hashing
Competition's winner, RFC 9106; the library also says when a stored hash was made with
weaker parameters than today's and should be made again). The hash never leaves this
module and never reaches the audit log (migration 0018 keeps it out of the capture).

Signing in does not raise: five wrong passwords in a row lock the account for five
minutes, and that count has to be kept even though the attempt failed — so
``sign_in`` writes it and answers, and its caller commits. A wrong username and a wrong
password get the same answer, and take as long (a dummy hash is checked), so the
sign-in does not tell which usernames exist.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.db.models import AppUser
from app.domain.context import ServiceContext
from app.domain.enums import UserRole
from app.domain.errors import Conflict, NotFound, ValidationError
from app.services.permissions import Permission, needs

MAX_FAILED_SIGN_INS = 5
LOCKED_FOR = timedelta(minutes=5)
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024  # a longer one is refused before hashing: no hashing floods


@functools.cache
def _hasher():
    """argon2-cffi's hasher (argon2id, its RFC 9106 defaults), loaded when a password is
    first hashed or checked: the window's start does not wait for the library."""
    from argon2 import PasswordHasher

    return PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Checked when the username is unknown, so that it takes as long as a wrong password
    (made once, when first needed: a hash takes a moment and 64 MiB)."""
    return _hasher().hash("rollbook: no such account")


@dataclass(frozen=True)
class UserRow:
    id: uuid.UUID
    username: str
    display_name: str
    role: UserRole
    active: bool
    os_login: str | None
    locked_until: datetime | None
    last_login_at: datetime | None
    has_password: bool


@dataclass(frozen=True)
class SignIn:
    """How a sign-in went: ``user`` when it succeeded, else the one line to show."""

    user: UserRow | None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.user is not None


def _row(user: AppUser) -> UserRow:
    return UserRow(user.id, user.username, user.display_name, UserRole(user.role), user.active,
                   user.os_login, user.locked_until, user.last_login_at,
                   user.password_hash is not None)  # fmt: skip


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError("password", f"A password needs at least {MIN_PASSWORD_LENGTH} "
                              "characters.")  # fmt: skip
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationError("password", f"A password has at most {MAX_PASSWORD_LENGTH:,} "
                              "characters.")  # fmt: skip
    return password


def _username(username: str) -> str:
    name = username.strip().lower()
    if not name or len(name) > 64 or any(c.isspace() for c in name):
        raise ValidationError("username", "A username has 1 to 64 characters and no spaces.")
    return name


def _role(role: UserRole | str) -> UserRole:
    try:
        return UserRole(str(role).lower())
    except ValueError:
        roles = ", ".join(r.value for r in UserRole)
        raise ValidationError("role", f"{role!r} is not a role; use one of {roles}.") from None


def _find(session: Session, school_id: uuid.UUID, username: str, *, lock: bool = False
          ) -> AppUser | None:  # fmt: skip
    query = select(AppUser).where(AppUser.school_id == school_id,
                                  AppUser.username == username.strip().lower(),
                                  AppUser.deleted_at.is_(None))  # fmt: skip
    return session.scalar(query.with_for_update() if lock else query)


def _get(session: Session, ctx: ServiceContext, username: str) -> AppUser:
    user = _find(session, ctx.school_id, username, lock=True)
    if user is None:
        raise NotFound(f"No account {username.strip().lower()!r}; `rollbook users list` shows "
                       "the school's accounts.")  # fmt: skip
    return user


def has_accounts(session: Session, school_id: uuid.UUID) -> bool:
    """Whether the school has any active account (until it has, whoever opens the data
    folder is its administrator, as before accounts existed)."""
    return bool(session.scalar(select(func.count()).select_from(AppUser).where(
        AppUser.school_id == school_id, AppUser.active, AppUser.deleted_at.is_(None))))  # fmt: skip


def account_for_os_login(session: Session, school_id: uuid.UUID, os_login: str
                         ) -> UserRow | None:  # fmt: skip
    user = session.scalar(select(AppUser).where(
        AppUser.school_id == school_id, AppUser.os_login == os_login, AppUser.active,
        AppUser.deleted_at.is_(None)))  # fmt: skip
    return _row(user) if user is not None else None


@dataclass(frozen=True)
class AccountRules:
    """The school's rules for signing in and for who may repair."""

    require_passwords: bool  # a login-linked account signs in with its password anyway
    idle_lock_minutes: int  # the window locks after this long idle; 0 never
    registrars_may_repair: bool


MAX_IDLE_LOCK_MINUTES = 480


@needs(Permission.VIEW)
def account_rules(session: Session, ctx: ServiceContext) -> AccountRules:
    row = session.execute(text("SELECT require_passwords, idle_lock_minutes, "
                               "registrars_may_repair FROM school WHERE id = :s"),
                          {"s": ctx.school_id}).one()  # fmt: skip
    return AccountRules(*row)


@needs(Permission.SCHOOL_SETTINGS)
def set_account_rules(session: Session, ctx: ServiceContext, *,
                      require_passwords: bool | None = None,
                      idle_lock_minutes: int | None = None,
                      registrars_may_repair: bool | None = None) -> AccountRules:  # fmt: skip
    """Change the rules given (None: as it is); captured in the audit log like any change."""
    if idle_lock_minutes is not None and not 0 <= idle_lock_minutes <= MAX_IDLE_LOCK_MINUTES:
        raise ValidationError("idle_lock_minutes", f"The idle lock is 0 (never) to "
                              f"{MAX_IDLE_LOCK_MINUTES} minutes.")  # fmt: skip
    session.execute(text("""
        UPDATE school SET require_passwords = coalesce(:p, require_passwords),
                          idle_lock_minutes = coalesce(:m, idle_lock_minutes),
                          registrars_may_repair = coalesce(:r, registrars_may_repair)
        WHERE id = :s"""), {"p": require_passwords, "m": idle_lock_minutes,
                            "r": registrars_may_repair, "s": ctx.school_id})  # fmt: skip
    return account_rules(session, ctx)


@dataclass(frozen=True)
class StartSignIn:
    """What the window does at start-up: sign in (``needed``), or start as ``user`` — the
    school's only account, linked to the operating-system login — or, with no accounts
    yet, as whoever opened the data (both None/False)."""

    needed: bool
    user: UserRow | None = None
    suggested: str = ""  # the username the dialog offers


def start_sign_in(session: Session, school_id: uuid.UUID, os_login: str) -> StartSignIn:
    require_passwords = session.execute(text("SELECT require_passwords FROM school WHERE id = :s"),
                                        {"s": school_id}).scalar_one()  # fmt: skip
    active = session.scalar(select(func.count()).select_from(AppUser).where(
        AppUser.school_id == school_id, AppUser.active, AppUser.deleted_at.is_(None)))  # fmt: skip
    if not active:
        return StartSignIn(False)
    linked = account_for_os_login(session, school_id, os_login)
    if linked is not None and active == 1 and not require_passwords:
        return StartSignIn(False, linked)
    return StartSignIn(True, None, linked.username if linked else "")


def idle_lock_minutes(session: Session, school_id: uuid.UUID) -> int:
    """After how many idle minutes the window locks (0: never)."""
    return session.execute(text("SELECT idle_lock_minutes FROM school WHERE id = :s"),
                           {"s": school_id}).scalar_one()  # fmt: skip


def context_of(user: UserRow, school_id: uuid.UUID) -> ServiceContext:
    """The service context of a signed-in person: their username is the audit log's
    actor, their role what they may do."""
    return ServiceContext(school_id=school_id, actor=user.username, role=user.role)


def create_first_admin(session: Session, school_id: uuid.UUID, username: str,
                       display_name: str, password: str | None, *,
                       os_login: str | None = None) -> UserRow:  # fmt: skip
    """The school's first account, an admin, made at the first start (nobody has signed
    in yet to check a permission); refused once the school has one."""
    if has_accounts(session, school_id):
        raise Conflict("The school already has accounts; an admin adds more (rollbook users "
                       "add).")  # fmt: skip
    return _insert(session, school_id, username, display_name, UserRole.ADMIN, password, os_login)


def _insert(session: Session, school_id: uuid.UUID, username: str, display_name: str,
            role: UserRole, password: str | None, os_login: str | None) -> UserRow:  # fmt: skip
    name = _username(username)
    if password is None and not os_login:
        raise ValidationError("password", "An account needs a password, or an operating-system "
                              "login it is linked to.")  # fmt: skip
    # Usernames are unique across the database's schools, as they sign in before one is known.
    if session.scalar(select(AppUser.id).where(AppUser.username == name)) is not None:
        raise Conflict(f"There is already an account {name!r}.")
    if os_login and account_for_os_login(session, school_id, os_login) is not None:
        raise Conflict(f"Another account is already linked to the login {os_login!r}.")
    user = AppUser(school_id=school_id, username=name,
                   display_name=(display_name or name).strip()[:200], role=role.value,
                   password_hash=_hasher().hash(check_password(password)) if password else None,
                   password_changed_at=func.now() if password else None,
                   os_login=os_login or None)  # fmt: skip
    session.add(user)
    session.flush()
    session.refresh(user)
    return _row(user)


@needs(Permission.MANAGE_USERS)
def add_user(session: Session, ctx: ServiceContext, username: str, role: UserRole | str,
             password: str | None, *, display_name: str = "",
             os_login: str | None = None) -> UserRow:  # fmt: skip
    return _insert(session, ctx.school_id, username, display_name, _role(role), password,
                   os_login)  # fmt: skip


@needs(Permission.MANAGE_USERS)
def list_users(session: Session, ctx: ServiceContext) -> list[UserRow]:
    users = session.scalars(select(AppUser).where(AppUser.school_id == ctx.school_id,
                                                  AppUser.deleted_at.is_(None))
                            .order_by(AppUser.username))  # fmt: skip
    return [_row(u) for u in users]


def _keep_an_admin(session: Session, ctx: ServiceContext, user: AppUser, doing: str) -> None:
    others = session.scalar(select(func.count()).select_from(AppUser).where(
        AppUser.school_id == ctx.school_id, AppUser.role == UserRole.ADMIN.value,
        AppUser.active, AppUser.deleted_at.is_(None), AppUser.id != user.id))  # fmt: skip
    if user.role == UserRole.ADMIN.value and user.active and not others:
        raise Conflict(f"{user.username} is the school's only active admin; make another "
                       f"admin before you {doing}.")  # fmt: skip


@needs(Permission.MANAGE_USERS)
def set_role(session: Session, ctx: ServiceContext, username: str, role: UserRole | str
             ) -> UserRow:  # fmt: skip
    new_role = _role(role)
    user = _get(session, ctx, username)
    if new_role is not UserRole.ADMIN:
        _keep_an_admin(session, ctx, user, "change their role")
    user.role = new_role.value
    session.flush()
    return _row(user)


@needs(Permission.MANAGE_USERS)
def deactivate_user(session: Session, ctx: ServiceContext, username: str) -> UserRow:
    user = _get(session, ctx, username)
    _keep_an_admin(session, ctx, user, "deactivate them")
    user.active = False
    session.flush()
    return _row(user)


@needs(Permission.MANAGE_USERS)
def reset_password(session: Session, ctx: ServiceContext, username: str, password: str
                   ) -> UserRow:  # fmt: skip
    """A new password; a lock from failed sign-ins is lifted with it."""
    user = _get(session, ctx, username)
    user.password_hash = _hasher().hash(check_password(password))
    user.password_changed_at = func.now()
    user.failed_logins = 0
    user.locked_until = None
    session.flush()
    session.refresh(user)
    return _row(user)


def sign_in(session: Session, school_id: uuid.UUID, username: str, password: str) -> SignIn:
    """Check a username and password; keep the failure count (the caller commits)."""
    wrong = SignIn(None, "Wrong username or password.")
    if len(password) > MAX_PASSWORD_LENGTH:
        return wrong
    user = _find(session, school_id, username, lock=True)
    if user is None or user.password_hash is None:
        _verify(_dummy_hash(), password)
        return wrong
    now = session.scalar(text("SELECT now()"))
    if user.locked_until is not None and user.locked_until > now:
        minutes = max(1, round((user.locked_until - now).total_seconds() / 60))
        return SignIn(None, f"Too many wrong passwords: {user.username} is locked for "
                      f"{minutes} more minute{'s' if minutes != 1 else ''}. An admin can "
                      "lift the lock with a new password.")  # fmt: skip
    if not _verify(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_SIGN_INS:
            user.failed_logins = 0
            user.locked_until = now + LOCKED_FOR
            session.flush()
            minutes = round(LOCKED_FOR.total_seconds() / 60)
            return SignIn(None, f"Too many wrong passwords: {user.username} is locked for "
                          f"{minutes} minutes.")  # fmt: skip
        session.flush()
        return wrong
    if not user.active:
        return SignIn(None, f"The account {user.username} is deactivated; ask an admin.")
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = _hasher().hash(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    session.flush()
    return SignIn(_row(user))


def _verify(stored: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


__all__ = [
    "AccountRules", "account_rules", "set_account_rules",
    "SignIn", "StartSignIn", "UserRow", "start_sign_in", "account_for_os_login", "add_user", "check_password",
    "context_of", "create_first_admin", "deactivate_user", "has_accounts", "idle_lock_minutes", "list_users",
    "reset_password", "set_role", "sign_in",
]  # fmt: skip
