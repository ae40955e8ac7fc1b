"""Bearer tokens from the dev issuer and an identity provider: roles, expiry, audience,
lifetime, forgery, keys by JWKS and their rotation."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fairline_events.auth import (
    Jwks,
    TokenIssuer,
    TokenVerifier,
    Unauthenticated,
    private_key_pem,
)

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


def test_a_token_for_another_service_is_refused() -> None:
    booths = TokenIssuer(SECRET, audience="fairline-booths")
    hotels = TokenIssuer(SECRET, audience="fairline-hotels")
    with pytest.raises(Unauthenticated, match="not for this service"):
        hotels.verify(booths.issue("mallory", ["sales"]))
    both = booths.issue("desk", ["sales"], audience=["fairline-booths", "fairline-hotels"])
    assert hotels.verify(both).subject == booths.verify(both).subject == "desk"


def test_a_token_that_lives_longer_than_allowed_is_refused() -> None:
    issuer = TokenIssuer(SECRET, max_lifetime=timedelta(hours=1))
    with pytest.raises(Unauthenticated, match="longer than"):
        issuer.verify(issuer.issue("forever", ["ops"], ttl=timedelta(days=365)))
    assert issuer.verify(issuer.issue("brief", ["ops"], ttl=timedelta(minutes=59))).subject


def test_a_token_without_issued_at_or_audience_is_refused() -> None:
    now = int(time.time())
    for claims in (
        {"sub": "x", "iss": "fairline-dev", "aud": "fairline", "exp": now + 60},
        {"sub": "x", "iss": "fairline-dev", "iat": now, "exp": now + 60},
    ):
        with pytest.raises(Unauthenticated):
            TokenIssuer(SECRET).verify(jwt.encode(claims, SECRET, algorithm="HS256"))


def test_the_dev_issuer_signs_es256_with_a_kid_from_its_published_key_set() -> None:
    issuer = TokenIssuer(private_key_pem=private_key_pem())
    token = issuer.issue("zhao.min", ["recruitment"])
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256" and header["kid"] == issuer.jwks()["keys"][0]["kid"]
    assert issuer.verify(token).subject == "zhao.min"
    assert all("d" not in key for key in issuer.jwks()["keys"]), "never the private half"
    with pytest.raises(Unauthenticated):  # another key pair, same kid claimed
        TokenIssuer().verify(token)


class KeyServer:
    """An identity provider's JWKS endpoint on a loopback port, whose keys can rotate."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.fetches = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.fetches += 1
                body = json.dumps({"keys": server.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/.well-known/jwks.json"


def rsa_signer(kid: str) -> tuple[Any, dict[str, Any]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return key, {**public, "kid": kid, "alg": "RS256", "use": "sig"}


def idp_token(key: Any, kid: str, alg: str = "RS256", **claims: Any) -> str:
    now = int(time.time())
    body = {
        "sub": "li.lei",
        "roles": ["sales"],
        "iss": "https://idp.example",
        "aud": "fairline-booths",
    }
    return jwt.encode(body | {"iat": now, "exp": now + 600} | claims, key, alg, {"kid": kid})


def test_tokens_of_the_identity_provider_verify_by_jwks_and_its_keys_rotate() -> None:
    idp = KeyServer()
    old, old_jwk = rsa_signer("2026-11")
    idp.keys = [old_jwk]
    verifier = TokenVerifier(
        Jwks(idp.url, cooldown=0), issuer="https://idp.example", audience="fairline-booths"
    )
    assert verifier.verify(idp_token(old, "2026-11")).subject == "li.lei"
    assert verifier.verify(idp_token(old, "2026-11", sub="han.mei")).subject == "han.mei"
    assert idp.fetches == 1, "the key set is cached"

    new, new_jwk = rsa_signer("2026-12")
    idp.keys = [old_jwk, new_jwk]  # the provider rotates: a new kid appears
    assert verifier.verify(idp_token(new, "2026-12")).subject == "li.lei"

    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key()))
    idp.keys = [new_jwk, {**ec_jwk, "kid": "ec-1", "alg": "ES256"}]
    verifier = TokenVerifier(
        Jwks(idp.url, cooldown=0), issuer="https://idp.example", audience="fairline-booths"
    )
    assert verifier.verify(idp_token(ec_key, "ec-1", "ES256")).subject == "li.lei"

    refused = [
        idp_token(rsa_signer("2026-12")[0], "2026-12"),  # a key the provider never published
        idp_token(new, "2026-12", aud="fairline-hotels"),  # for another service
        idp_token(new, "2026-12", iss="https://elsewhere"),
        # HS256 signed with public key material: algorithm confusion
        jwt.encode(
            {
                "sub": "m",
                "roles": ["admin"],
                "iss": "https://idp.example",
                "aud": "fairline-booths",
                "iat": int(time.time()),
                "exp": int(time.time()) + 600,
            },
            new_jwk["n"],
            "HS256",
            {"kid": "2026-12"},
        ),
    ]
    for token in refused:
        with pytest.raises(Unauthenticated):
            verifier.verify(token)
    idp.http.shutdown()
