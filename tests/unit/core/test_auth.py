"""Bearer tokens from the dev issuer: roles, expiry, forgery."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from fairline_events.auth import TokenIssuer, Unauthenticated

SECRET = "s" * 40


def test_a_token_carries_its_subject_and_roles() -> None:
    issuer = TokenIssuer(SECRET)
    who = issuer.verify(issuer.issue("zhao.min", ["recruitment"]))
    assert who.subject == "zhao.min" and who.actor == "user:zhao.min"
    assert who.has_any(("recruitment",)) and not who.has_any(("sales",))


def test_admin_passes_every_role_check() -> None:
    issuer = TokenIssuer(SECRET)
    assert issuer.verify(issuer.issue("root", ["admin"])).has_any(("sales",))


@pytest.mark.parametrize(
    "token",
    [
        TokenIssuer("o" * 40).issue("mallory", ["admin"]),  # another key
        TokenIssuer(SECRET, issuer="elsewhere").issue("mallory", ["admin"]),  # another issuer
        TokenIssuer(SECRET).issue("late", ["sales"], ttl=timedelta(seconds=-5)),  # expired
        "not-a-jwt",
    ],
)
def test_forged_foreign_or_expired_tokens_are_refused(token: str) -> None:
    with pytest.raises(Unauthenticated):
        TokenIssuer(SECRET).verify(token)


def test_a_short_signing_key_is_refused() -> None:
    with pytest.raises(ValueError):
        TokenIssuer("short")


def test_a_token_checked_once_is_refused_again_once_it_expires() -> None:
    # Verified tokens are remembered; remembering must not outlive the token.
    issuer = TokenIssuer(SECRET)
    token = issuer.issue("brief", ["sales"], ttl=timedelta(seconds=1))
    assert issuer.verify(token).subject == "brief"
    assert issuer.verify(token).subject == "brief"
    time.sleep(2.1)  # exp has whole seconds
    with pytest.raises(Unauthenticated, match="expired"):
        issuer.verify(token)


def test_a_forged_token_is_refused_every_time() -> None:
    forged = TokenIssuer("o" * 40).issue("mallory", ["admin"])
    issuer = TokenIssuer(SECRET)
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            issuer.verify(forged)
