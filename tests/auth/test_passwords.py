"""Password hashing (argon2id) and policy."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, Type

from cetate.auth.passwords import (
    MIN_PASSWORD_LENGTH,
    check_password_policy,
    dummy_verify,
    hash_password,
    needs_rehash,
    verify_password,
)
from cetate.errors import BadRequestData

GOOD = "correct horse battery staple"


def test_hash_is_salted_argon2id_and_verifies() -> None:
    first = hash_password(GOOD)
    second = hash_password(GOOD)
    assert first.startswith("$argon2id$")
    assert first != second
    assert GOOD not in first
    assert verify_password(first, GOOD)
    assert verify_password(second, GOOD)


def test_wrong_password() -> None:
    hashed = hash_password(GOOD)
    assert not verify_password(hashed, "correct horse battery stapler")
    assert not verify_password(hashed, "")
    assert not verify_password(hashed, GOOD.upper())


def test_malformed_hash_is_a_mismatch_not_an_error() -> None:
    assert not verify_password("", GOOD)
    assert not verify_password("not a hash", GOOD)
    assert not verify_password("$argon2id$v=19$m=1,t=1,p=1$broken", GOOD)


def test_overlong_password_is_a_mismatch() -> None:
    assert not verify_password(hash_password(GOOD), "x" * 5000)


@pytest.mark.parametrize("password", ["", "short", "123456789"])
def test_policy_too_short(password: str) -> None:
    with pytest.raises(BadRequestData) as err:
        hash_password(password)
    assert "at least 10 characters" in err.value.detail
    assert err.value.status == 400


def test_policy_boundaries() -> None:
    check_password_policy("x" * MIN_PASSWORD_LENGTH)
    check_password_policy("ăîșțâ-ÎȘȚ-1")  # letters beyond ASCII count as characters
    with pytest.raises(BadRequestData, match="whitespace"):
        check_password_policy(" " * 12)
    with pytest.raises(BadRequestData, match="too long"):
        check_password_policy("x" * 1025)


def test_needs_rehash() -> None:
    assert not needs_rehash(hash_password(GOOD))
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID).hash(GOOD)
    assert verify_password(weak, GOOD)
    assert needs_rehash(weak)
    assert needs_rehash("garbage")


def test_dummy_verify_returns_nothing() -> None:
    assert dummy_verify(GOOD) is None  # type: ignore[func-returns-value]
