"""Bearer API tokens for integrations.

A token looks like ``cetate_<token_id>_<secret>``: ``token_id`` is 16 hex digits that name the
token in lists and audit logs; ``secret`` is 40 random letters and digits (about 238 bits). The
whole string is shown once, when the token is issued; the store keeps only the SHA-256 hex of the
secret (:attr:`ApiToken.token_hash`), so a database leak does not leak working tokens. Each token
belongs to exactly one tenant with exactly one role.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from datetime import UTC, datetime
from typing import Final

from cetate.auth.principal import ROLES, Principal
from cetate.errors import BadRequestData, NonexistentTenant, ResourceNotFound, Unauthenticated
from cetate.store.base import ApiToken, ContextStore, Role

TOKEN_PREFIX: Final = "cetate_"  # noqa: S105 (a prefix, not a secret)
TOKEN_ID_HEX_DIGITS: Final = 16
SECRET_LENGTH: Final = 40
MAX_LABEL_LENGTH: Final = 200

_SECRET_ALPHABET: Final = string.ascii_letters + string.digits
_TOKEN_RE: Final = re.compile(
    rf"{TOKEN_PREFIX}(?P<id>[0-9a-f]{{{TOKEN_ID_HEX_DIGITS}}})_"
    rf"(?P<secret>[A-Za-z0-9]{{{SECRET_LENGTH}}})"
)
_INVALID: Final = "invalid or revoked API token"


def hash_secret(secret: str) -> str:
    """SHA-256 hex of a token's secret part: what the store keeps and looks tokens up by."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_token(bearer: str) -> tuple[str, str] | None:
    """``(token_id, secret)`` of a well-formed token string, else None. Accepts the bare token or
    a whole ``Authorization`` header value (``Bearer <token>``)."""
    text = bearer.strip()
    scheme, _, rest = text.partition(" ")
    if rest and scheme.lower() == "bearer":
        text = rest.strip()
    m = _TOKEN_RE.fullmatch(text)
    if m is None:
        return None
    return m["id"], m["secret"]


def issue_token(store: ContextStore, tenant: str, role: Role, label: str) -> tuple[ApiToken, str]:
    """Create a token for ``tenant`` with ``role``; returns the stored record and the full token
    string, which is shown to the person once and never again.

    Raises :class:`~cetate.errors.NonexistentTenant` for an unknown tenant and
    :class:`~cetate.errors.BadRequestData` for an unknown role or a bad label (empty, longer than
    200 characters)."""
    if role not in ROLES:
        raise BadRequestData(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    label = label.strip()
    if not label:
        raise BadRequestData("give the token a label saying who or what uses it")
    if len(label) > MAX_LABEL_LENGTH:
        raise BadRequestData(f"the token label is longer than {MAX_LABEL_LENGTH} characters")
    if store.get_tenant(tenant) is None:
        raise NonexistentTenant(f"tenant {tenant!r} does not exist")
    token_id = secrets.token_hex(TOKEN_ID_HEX_DIGITS // 2)
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(SECRET_LENGTH))
    token = ApiToken(
        token_id=token_id,
        token_hash=hash_secret(secret),
        tenant=tenant,
        role=role,
        label=label,
        created_at=datetime.now(UTC),
    )
    store.put_token(token)
    return token, f"{TOKEN_PREFIX}{token_id}_{secret}"


def principal_for_token(token: ApiToken) -> Principal:
    """The principal a (valid) token stands for: named ``token:<token_id>``, one role in one
    tenant."""
    return Principal(kind="token", name=f"token:{token.token_id}", roles={token.tenant: token.role})


def authenticate_token(store: ContextStore, bearer: str) -> Principal:
    """The principal of a bearer token (bare or as ``Bearer <token>``); raises
    :class:`~cetate.errors.Unauthenticated` with one generic message whether the token is
    malformed, unknown or revoked."""
    parsed = parse_token(bearer)
    if parsed is None:
        raise Unauthenticated(_INVALID)
    token_id, secret = parsed
    token = store.find_token(hash_secret(secret))
    if (
        token is None
        or token.revoked
        or not hmac.compare_digest(token.token_id.encode(), token_id.encode())
    ):
        raise Unauthenticated(_INVALID)
    return principal_for_token(token)


def list_tokens(store: ContextStore, tenant: str) -> list[ApiToken]:
    """A tenant's tokens, revoked ones included (their hashes are not secrets, but there is
    no need to show them)."""
    return store.list_tokens(tenant)


def revoke_token(store: ContextStore, tenant: str, token_id: str) -> ApiToken:
    """Revoke one of ``tenant``'s tokens (idempotent); returns it as it was before revoking.
    Raises :class:`~cetate.errors.ResourceNotFound` when that tenant has no such token, so an
    admin of one tenant cannot revoke another tenant's tokens."""
    for token in store.list_tokens(tenant):
        if token.token_id == token_id and token.tenant == tenant:
            store.revoke_token(token_id)
            return token
    raise ResourceNotFound(f"tenant {tenant!r} has no API token {token_id!r}")
