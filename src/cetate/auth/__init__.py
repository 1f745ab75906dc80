"""Users, roles, API tokens and console sessions.

Framework-independent: the API (:mod:`cetate.api`) and the console (:mod:`cetate.web`) turn
requests into a :class:`Principal` with :func:`authenticate_token` or
:func:`authenticate_session` (or use :data:`ANONYMOUS` / :data:`OPEN_ACCESS`), then ask it
``can_read`` / ``can_write`` / ``can_administer`` or call ``require_*``. See docs/security.md.
"""

from cetate.auth.loopback import is_loopback_host, open_mode_warning, require_loopback
from cetate.auth.passwords import (
    MIN_PASSWORD_LENGTH,
    check_password_policy,
    hash_password,
    needs_rehash,
    verify_password,
)
from cetate.auth.principal import (
    ANONYMOUS,
    OPEN_ACCESS,
    ROLES,
    Principal,
    require_admin,
    require_read,
    require_write,
)
from cetate.auth.sessions import (
    SESSION_COOKIE_NAME,
    SESSION_MAX_AGE,
    ConsoleSession,
    SessionCodec,
    SessionData,
    authenticate_session,
    login,
    principal_from_cookie,
    principal_from_request,
    session_codec,
    session_secret,
)
from cetate.auth.tokens import authenticate_token, issue_token, list_tokens, revoke_token
from cetate.auth.users import (
    create_user,
    ensure_admin,
    ensure_tenant,
    set_password,
    set_public_types,
    set_role,
)

__all__ = [
    "ANONYMOUS",
    "MIN_PASSWORD_LENGTH",
    "OPEN_ACCESS",
    "ROLES",
    "SESSION_COOKIE_NAME",
    "SESSION_MAX_AGE",
    "ConsoleSession",
    "Principal",
    "SessionCodec",
    "SessionData",
    "authenticate_session",
    "authenticate_token",
    "check_password_policy",
    "create_user",
    "ensure_admin",
    "ensure_tenant",
    "hash_password",
    "is_loopback_host",
    "issue_token",
    "list_tokens",
    "login",
    "needs_rehash",
    "open_mode_warning",
    "principal_from_cookie",
    "principal_from_request",
    "require_admin",
    "require_loopback",
    "require_read",
    "require_write",
    "revoke_token",
    "session_codec",
    "session_secret",
    "set_password",
    "set_public_types",
    "set_role",
    "verify_password",
]
