"""Password hashing (argon2id) and the password policy.

Only the argon2id hash is stored (``User.password_hash``, PHC string format, which carries its
own salt and cost parameters). :func:`needs_rehash` tells when a stored hash was made with older
parameters, so a successful login can upgrade it.
"""

from __future__ import annotations

import functools
import secrets
from typing import Final

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from cetate.errors import BadRequestData

MIN_PASSWORD_LENGTH: Final = 10
MAX_PASSWORD_LENGTH: Final = 1024
"""Longer inputs are refused (cheap protection against absurd request bodies)."""

_hasher: Final = PasswordHasher(type=Type.ID)
"""argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile: t=3, m=64 MiB, p=4)."""


def check_password_policy(password: str) -> None:
    """Raise :class:`~cetate.errors.BadRequestData` with a message a person can act on unless
    the password is acceptable: at least 10 characters, at most 1024, not only whitespace."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadRequestData(
            f"the password is too short: use at least {MIN_PASSWORD_LENGTH} characters "
            f"(this one has {len(password)}); a few unrelated words make a good one"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise BadRequestData(
            f"the password is too long: use at most {MAX_PASSWORD_LENGTH} characters"
        )
    if not password.strip():
        raise BadRequestData("the password must not consist of whitespace only")


def hash_password(password: str) -> str:
    """The argon2id hash (PHC string) of a password that meets the policy; raises
    :class:`~cetate.errors.BadRequestData` when it does not."""
    check_password_policy(password)
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``. Never raises: a malformed or foreign
    hash is simply a mismatch."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other parameters than the current ones (call after a
    successful :func:`verify_password`, then store :func:`hash_password` of the password)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return True


@functools.cache
def dummy_hash() -> str:
    """A hash of a random password, made once per process, for verifying against when the user
    does not exist (so that "no such user" takes as long as "wrong password")."""
    return _hasher.hash(secrets.token_urlsafe(24))


def dummy_verify(password: str) -> None:
    """Spend the time of one verification and learn nothing."""
    verify_password(dummy_hash(), password)
