"""Console logins: password check and signed session cookies.

The cookie holds only the username and the selected tenant, signed (HMAC-SHA1 via
:mod:`itsdangerous`, with a timestamp) with the platform's session secret. Nothing in it is
trusted beyond the signature and age: each request looks the user up again, so deleting a user
or taking away a role takes effect at once. The secret comes from ``CETATE_SECRET_KEY`` or, when
that is empty, is generated once and kept in the store's settings under
:data:`SECRET_SETTING_KEY`.

Set the cookie as ``HttpOnly; SameSite=Lax; Path=/`` (and ``Secure`` behind HTTPS) with
``Max-Age`` :data:`SESSION_MAX_AGE`; protect state-changing forms with
:meth:`SessionCodec.csrf_token`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from itsdangerous import BadData, URLSafeTimedSerializer

from cetate.auth.passwords import dummy_verify, hash_password, needs_rehash, verify_password
from cetate.auth.principal import Principal
from cetate.auth.users import normalise_username
from cetate.config import Settings
from cetate.errors import InvalidRequest, Unauthenticated
from cetate.store.base import ContextStore, User

SESSION_COOKIE_NAME: Final = "cetate_session"
SESSION_MAX_AGE: Final = 8 * 60 * 60
"""seconds a console session lasts after login (one working day)"""
SECRET_SETTING_KEY: Final = "auth.session_secret"  # noqa: S105 (a settings key, not a secret)
MIN_SECRET_LENGTH: Final = 16

_SALT: Final = "cetate.console.session.v1"
_CSRF_SALT: Final = b"cetate.console.csrf.v1"
_LOGIN_FAILED: Final = "wrong username or password"
_SESSION_INVALID: Final = "your session has ended or is not valid; please log in again"


def session_secret(store: ContextStore, settings: Settings | None = None) -> str:
    """The secret that signs session cookies: ``settings.secret_key`` when set (at least 16
    characters), else the one kept in the store, generated and stored on first use."""
    if settings is not None and settings.secret_key:
        if len(settings.secret_key) < MIN_SECRET_LENGTH:
            raise InvalidRequest(
                f"CETATE_SECRET_KEY is too short: use at least {MIN_SECRET_LENGTH} random "
                "characters, or leave it empty to have one generated and kept in the database"
            )
        return settings.secret_key
    stored = store.get_setting(SECRET_SETTING_KEY)
    if stored:
        return stored
    store.put_setting(SECRET_SETTING_KEY, secrets.token_urlsafe(48))
    # read back: when two processes start at once, both end up with whichever was written last
    # (until restarted, the loser's cookies fail and its users log in again; harmless)
    return store.get_setting(SECRET_SETTING_KEY) or ""


@dataclass(frozen=True, slots=True)
class SessionData:
    """What a valid cookie says."""

    username: str
    tenant: str | None
    issued_at: datetime


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """A cookie checked against the store: the user as they are now, and the selected tenant
    (None when none was selected or the user no longer has a role in it)."""

    principal: Principal
    tenant: str | None
    issued_at: datetime


class SessionCodec:
    """Signs and checks session cookie values. Pure: no store access."""

    def __init__(self, secret: str, max_age: int = SESSION_MAX_AGE) -> None:
        if not secret:
            raise ValueError("the session secret must not be empty")
        self._secret = secret.encode("utf-8")
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)
        self.max_age = max_age

    def encode(self, username: str, tenant: str | None = None) -> str:
        """A cookie value for ``username`` with ``tenant`` selected."""
        payload: dict[str, Any] = {"u": username, "t": tenant}
        return self._serializer.dumps(payload)

    def decode(self, cookie: str) -> SessionData:
        """The contents of a cookie value; :class:`~cetate.errors.Unauthenticated` when it was
        tampered with, signed with another secret, malformed or older than ``max_age``."""
        try:
            payload, signed_at = self._serializer.loads(
                cookie, max_age=self.max_age, return_timestamp=True
            )
        except BadData as exc:
            raise Unauthenticated(_SESSION_INVALID) from exc
        if not isinstance(payload, dict):
            raise Unauthenticated(_SESSION_INVALID)
        username = payload.get("u")
        tenant = payload.get("t")
        if not isinstance(username, str) or not (tenant is None or isinstance(tenant, str)):
            raise Unauthenticated(_SESSION_INVALID)
        issued = signed_at if isinstance(signed_at, datetime) else datetime.now(UTC)
        return SessionData(username=username, tenant=tenant, issued_at=issued)

    def csrf_token(self, cookie: str) -> str:
        """A token for hidden form fields, bound to this session cookie."""
        return hmac.new(
            self._secret, _CSRF_SALT + cookie.encode("utf-8"), hashlib.sha256
        ).hexdigest()

    def check_csrf(self, cookie: str, token: str) -> bool:
        """Whether ``token`` is :meth:`csrf_token` of ``cookie`` (constant time)."""
        return hmac.compare_digest(self.csrf_token(cookie), token)


def session_codec(
    store: ContextStore, settings: Settings | None = None, max_age: int = SESSION_MAX_AGE
) -> SessionCodec:
    """A codec with the platform's secret (:func:`session_secret`)."""
    return SessionCodec(session_secret(store, settings), max_age=max_age)


def principal_for_user(user: User) -> Principal:
    """The principal a user stands for: their username and roles."""
    return Principal(kind="user", name=user.username, roles=dict(user.roles))


def login(store: ContextStore, username: str, password: str) -> Principal:
    """Check a console login. Raises :class:`~cetate.errors.Unauthenticated` with the same
    message, after about the same time, whether the user does not exist or the password is
    wrong. Upgrades the stored hash when it was made with older parameters."""
    user = store.get_user(normalise_username(username))
    if user is None:
        dummy_verify(password)
        raise Unauthenticated(_LOGIN_FAILED)
    if not verify_password(user.password_hash, password):
        raise Unauthenticated(_LOGIN_FAILED)
    if needs_rehash(user.password_hash):
        user = User(
            username=user.username,
            password_hash=hash_password(password),
            display_name=user.display_name,
            roles=user.roles,
        )
        store.put_user(user)
    return principal_for_user(user)


def authenticate_session(store: ContextStore, codec: SessionCodec, cookie: str) -> ConsoleSession:
    """The session a cookie stands for, with the user's current roles; raises
    :class:`~cetate.errors.Unauthenticated` for a bad or expired cookie or a deleted user."""
    data = codec.decode(cookie)
    user = store.get_user(data.username)
    if user is None:
        raise Unauthenticated(_SESSION_INVALID)
    principal = principal_for_user(user)
    tenant = data.tenant if data.tenant is not None and data.tenant in user.roles else None
    return ConsoleSession(principal=principal, tenant=tenant, issued_at=data.issued_at)


SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


def principal_from_cookie(
    store: ContextStore, settings: Settings | None, cookie: str | None, method: str = "GET"
) -> Principal | None:
    """For the API: the user of a console session cookie, or None when there is no cookie, it
    is not valid, or the request is not a safe (read-only) method. A session cookie never
    authorises an API write (cross-site request forgery): writes need a bearer token, or go
    through the console's own CSRF-protected forms."""
    if not cookie or method.upper() not in SAFE_METHODS:
        return None
    try:
        return authenticate_session(store, session_codec(store, settings), cookie).principal
    except Unauthenticated:
        return None


def principal_from_request(request: Any, store: ContextStore) -> Principal | None:
    """:func:`principal_from_cookie` for a Starlette-like request (duck-typed: ``cookies``,
    ``method`` and ``app.state.settings`` when present), as :mod:`cetate.api.deps` calls it."""
    cookies = getattr(request, "cookies", None) or {}
    cookie = cookies.get(SESSION_COOKIE_NAME)
    state = getattr(getattr(request, "app", None), "state", None)
    settings = getattr(state, "settings", None)
    return principal_from_cookie(
        store,
        settings if isinstance(settings, Settings) else None,
        cookie if isinstance(cookie, str) else None,
        str(getattr(request, "method", "GET")),
    )
