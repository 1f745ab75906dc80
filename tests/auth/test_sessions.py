"""Console logins and signed session cookies."""

from __future__ import annotations

import base64
import json
import time
from types import SimpleNamespace

import pytest
from argon2 import PasswordHasher, Type

import cetate.auth.sessions as sessions
from cetate.auth.passwords import dummy_verify, verify_password
from cetate.auth.sessions import (
    SECRET_SETTING_KEY,
    SESSION_COOKIE_NAME,
    SESSION_MAX_AGE,
    SessionCodec,
    authenticate_session,
    login,
    principal_from_cookie,
    principal_from_request,
    session_codec,
    session_secret,
)
from cetate.auth.users import create_user, ensure_tenant, set_role
from cetate.config import Settings
from cetate.errors import InvalidRequest, Unauthenticated
from cetate.store.base import ContextStore, User

SECRET = "a test secret that is long enough"
PASSWORD = "a long enough password"


# -- the cookie codec (pure) -------------------------------------------------------------------


def test_round_trip() -> None:
    codec = SessionCodec(SECRET)
    data = codec.decode(codec.encode("ana", "city"))
    assert (data.username, data.tenant) == ("ana", "city")
    assert abs(data.issued_at.timestamp() - time.time()) < 5
    assert codec.decode(codec.encode("ana")).tenant is None
    assert codec.max_age == SESSION_MAX_AGE


def test_tampered_cookie() -> None:
    codec = SessionCodec(SECRET)
    cookie = codec.encode("ana", "city")
    payload, _, rest = cookie.partition(".")
    forged = SessionCodec("another secret, the attacker's").encode("admin", "city")
    for bad in [
        # a changed signature (not its last character, whose low bits base64 ignores)
        cookie[:-5] + ("A" if cookie[-5] != "A" else "B") + cookie[-4:],
        cookie[:-2],
        ("x" + payload[1:]) + "." + rest,
        forged,
        forged.partition(".")[0] + "." + rest,
        "",
        "garbage",
        "a.b.c",
    ]:
        with pytest.raises(Unauthenticated) as err:
            codec.decode(bad)
        assert err.value.status == 401


def test_expired_cookie(monkeypatch: pytest.MonkeyPatch) -> None:
    codec = SessionCodec(SECRET, max_age=60)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now - 61)
    old = codec.encode("ana", "city")
    monkeypatch.setattr(time, "time", lambda: now)
    with pytest.raises(Unauthenticated, match="log in again"):
        codec.decode(old)
    monkeypatch.setattr(time, "time", lambda: now - 59)
    fresh = codec.encode("ana", "city")
    monkeypatch.setattr(time, "time", lambda: now)
    assert codec.decode(fresh).username == "ana"


def test_codec_refuses_empty_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        SessionCodec("")


def test_csrf_token_is_bound_to_the_session() -> None:
    codec = SessionCodec(SECRET)
    first, second = codec.encode("ana", "city"), codec.encode("ion", "city")
    token = codec.csrf_token(first)
    assert codec.check_csrf(first, token)
    assert not codec.check_csrf(second, token)
    assert not codec.check_csrf(first, "")
    assert not SessionCodec("some other secret!!").check_csrf(first, token)


# -- the session secret ------------------------------------------------------------------------


def test_secret_is_generated_once_and_kept(store: ContextStore) -> None:
    assert store.get_setting(SECRET_SETTING_KEY) is None
    first = session_secret(store)
    assert len(first) >= 32
    assert store.get_setting(SECRET_SETTING_KEY) == first
    assert session_secret(store) == first
    assert session_secret(store, Settings(secret_key="")) == first


def test_secret_from_settings(store: ContextStore) -> None:
    assert session_secret(store, Settings(secret_key=SECRET)) == SECRET
    assert store.get_setting(SECRET_SETTING_KEY) is None
    with pytest.raises(InvalidRequest, match="CETATE_SECRET_KEY is too short"):
        session_secret(store, Settings(secret_key="short"))


def test_cookies_survive_a_restart(store: ContextStore) -> None:
    cookie = session_codec(store).encode("ana")
    assert session_codec(store).decode(cookie).username == "ana"


# -- login ------------------------------------------------------------------------------------


@pytest.fixture
def users(store: ContextStore) -> ContextStore:
    ensure_tenant(store, "city")
    ensure_tenant(store, "town")
    create_user(store, "ana", PASSWORD, roles={"city": "admin", "town": "viewer"})
    create_user(store, "ion", PASSWORD, roles={"town": "operator"})
    return store


def test_login(users: ContextStore) -> None:
    principal = login(users, "ana", PASSWORD)
    assert principal.kind == "user"
    assert principal.name == "ana"
    assert dict(principal.roles) == {"city": "admin", "town": "viewer"}
    assert login(users, "  ANA ", PASSWORD).name == "ana"


def test_wrong_password_and_unknown_user_look_the_same(
    users: ContextStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified: list[str] = []

    def counting_verify(password_hash: str, password: str) -> bool:
        verified.append("real")
        return verify_password(password_hash, password)

    def counting_dummy(password: str) -> None:
        verified.append("dummy")
        dummy_verify(password)

    monkeypatch.setattr(sessions, "verify_password", counting_verify)
    monkeypatch.setattr(sessions, "dummy_verify", counting_dummy)

    with pytest.raises(Unauthenticated) as wrong:
        login(users, "ana", "not the password at all")
    with pytest.raises(Unauthenticated) as unknown:
        login(users, "nobody", PASSWORD)
    with pytest.raises(Unauthenticated) as empty:
        login(users, "", "")
    assert wrong.value.detail == unknown.value.detail == empty.value.detail
    assert "ana" not in wrong.value.detail
    assert wrong.value.status == 401
    # an unknown user still costs one argon2 verification
    assert verified == ["real", "dummy", "dummy"]


def test_login_upgrades_an_old_hash(users: ContextStore) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID).hash(PASSWORD)
    users.put_user(User(username="old", password_hash=weak, display_name="Old", roles={}))
    assert login(users, "old", PASSWORD).name == "old"
    upgraded = users.get_user("old")
    assert upgraded is not None
    assert upgraded.password_hash != weak
    assert "m=65536" in upgraded.password_hash
    assert login(users, "old", PASSWORD).name == "old"


def test_login_with_a_broken_stored_hash_fails(users: ContextStore) -> None:
    users.put_user(User(username="broken", password_hash="", display_name="B", roles={}))
    with pytest.raises(Unauthenticated):
        login(users, "broken", "")


# -- sessions -----------------------------------------------------------------------------------


def test_authenticate_session(users: ContextStore) -> None:
    codec = session_codec(users)
    principal = login(users, "ana", PASSWORD)
    session = authenticate_session(users, codec, codec.encode(principal.name, "city"))
    assert session.principal == principal
    assert session.tenant == "city"
    assert session.principal.can_administer("city")


def test_session_follows_role_changes(users: ContextStore) -> None:
    codec = session_codec(users)
    cookie = codec.encode("ana", "city")
    set_role(users, "ana", "city", None)
    session = authenticate_session(users, codec, cookie)
    assert session.tenant is None  # no longer a member of the selected tenant
    assert not session.principal.can_write("city")
    assert session.principal.role_in("town") == "viewer"


def test_session_cannot_select_a_foreign_tenant(users: ContextStore) -> None:
    codec = session_codec(users)
    session = authenticate_session(users, codec, codec.encode("ion", "city"))
    assert session.tenant is None
    assert not session.principal.can_write("city")


def test_session_of_an_unknown_user(users: ContextStore) -> None:
    codec = session_codec(users)
    with pytest.raises(Unauthenticated):
        authenticate_session(users, codec, codec.encode("ghost", "city"))


def test_tampered_or_foreign_session_cookie(users: ContextStore) -> None:
    codec = session_codec(users)
    forged = SessionCodec("not the platform secret").encode("ana", "city")
    with pytest.raises(Unauthenticated):
        authenticate_session(users, codec, forged)
    # a genuine cookie of ion's, its payload rewritten to say ana, the signature kept
    payload, _, signature = codec.encode("ion", "town").partition(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert data["u"] == "ion"
    data["u"] = "ana"
    rewritten = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode())
    with pytest.raises(Unauthenticated):
        authenticate_session(users, codec, rewritten.decode().rstrip("=") + "." + signature)


def test_expired_session_cookie(users: ContextStore, monkeypatch: pytest.MonkeyPatch) -> None:
    codec = session_codec(users)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now - SESSION_MAX_AGE - 1)
    cookie = codec.encode("ana", "city")
    monkeypatch.setattr(time, "time", lambda: now)
    with pytest.raises(Unauthenticated):
        authenticate_session(users, codec, cookie)


# -- the API's view of a console cookie ---------------------------------------------------------


def test_principal_from_cookie_only_for_reads(users: ContextStore) -> None:
    cookie = session_codec(users).encode("ana", "city")
    principal = principal_from_cookie(users, None, cookie)
    assert principal is not None
    assert principal.name == "ana"
    assert principal_from_cookie(users, None, cookie, "head") == principal
    for method in ["POST", "PATCH", "PUT", "DELETE"]:
        assert principal_from_cookie(users, None, cookie, method) is None
    assert principal_from_cookie(users, None, None) is None
    assert principal_from_cookie(users, None, cookie[:-3]) is None


def test_principal_from_request(users: ContextStore) -> None:
    settings = Settings(secret_key=SECRET)
    cookie = session_codec(users, settings).encode("ion", "town")
    request = SimpleNamespace(
        method="GET",
        cookies={SESSION_COOKIE_NAME: cookie},
        app=SimpleNamespace(state=SimpleNamespace(settings=settings)),
    )
    principal = principal_from_request(request, users)
    assert principal is not None
    assert principal.role_in("town") == "operator"
    request.method = "POST"
    assert principal_from_request(request, users) is None
    # signed with the configured secret, so the generated one does not accept it
    assert (
        principal_from_request(SimpleNamespace(cookies={SESSION_COOKIE_NAME: cookie}), users)
        is None
    )
    assert principal_from_request(SimpleNamespace(), users) is None
