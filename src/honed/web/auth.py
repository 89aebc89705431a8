"""Reviewer accounts, sessions and CSRF.

Passwords are hashed with Argon2id (argon2-cffi); sessions are Starlette's signed cookies, keyed by a secret
kept 0600 under HONED_HOME; every form carries a token bound to the session and compared in constant time.
"""
from __future__ import annotations

import hmac
import os
import re
import secrets
from pathlib import Path

from honed.core.errors import HonedError
from honed.core.paths import honed_home
from honed.core.store import Store

ROLES = ("reviewer", "admin")
_NAME = re.compile(r"^[A-Za-z0-9][\w.@-]{0,63}$")


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()


def add_user(store: Store, name: str, password: str, role: str) -> None:
    if not _NAME.match(name):
        raise HonedError(f"`{name}` is not a usable account name", "use letters, digits, `.`, `_`, `-`, `@`")
    if role not in ROLES:
        raise HonedError(f"unknown role `{role}`", f"roles: {', '.join(ROLES)}")
    if len(password) < 8:
        raise HonedError("the password is shorter than 8 characters", "choose a longer password")
    store.add_web_user(name, _hasher().hash(password), role)


def authenticate(store: Store, name: str, password: str) -> str | None:
    """The user's role when the password matches, else None (same work whether or not the user exists)."""
    from argon2.exceptions import VerificationError

    row = store.web_user(name)
    stored = row["password_hash"] if row else _DUMMY_HASH()
    try:
        _hasher().verify(stored, password)
    except (VerificationError, ValueError):
        return None
    return row["role"] if row else None


_dummy: list[str] = []


def _DUMMY_HASH() -> str:
    if not _dummy:
        _dummy.append(_hasher().hash(secrets.token_hex(16)))
    return _dummy[0]


def session_secret(home: Path | None = None) -> str:
    """The cookie-signing secret: created once (0600, write-then-rename) and reused so sessions survive restarts."""
    path = (home or honed_home()) / "web-secret"
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(48))
    os.replace(temporary, path)
    return path.read_text(encoding="utf-8").strip()


def csrf_token(session: dict) -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def csrf_valid(session: dict, given: str | None) -> bool:
    expected = session.get("csrf")
    return bool(expected and given and hmac.compare_digest(expected.encode(), given.encode()))
