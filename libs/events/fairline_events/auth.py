"""Bearer-token authentication with roles, checked on every endpoint.

Tokens are JWTs. A service verifies them with a `TokenVerifier`: its issuer, its own audience
(a token for another service is refused), a maximum lifetime, and the keys:
- the operator's identity provider, by JWKS (`FAIRLINE_AUTH_JWKS_URL`): RS256 or ES256, the key
  chosen by the token's `kid`, the key set cached and fetched again when a new `kid` appears
  (key rotation);
- otherwise the dev issuer (`TokenIssuer`): ES256 with a key pair it makes (`make run` keeps
  one in .local/ and publishes its JWKS), or HS256 with FAIRLINE_AUTH_SECRET where that is
  configured (tests). `make run` prints one token per role; tests use
  `app.state.token_issuer.issue(...)`.
The role checks stay the same whichever signs.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import Request
from fastapi.security import HTTPBearer

from .errors import DomainError, Forbidden

ROLES = (
    "exhibitor",
    "visitor",
    "recruitment",
    "sales",
    "hotel_desk",
    "partner_hotel",
    "delegation_planner",
    "ops",
    "admin",
)


VERIFIED_TOKENS = 10_000
"""Tokens whose claims are kept after one verification (oldest forgotten first)."""


class Unauthenticated(DomainError):
    """No bearer token: the challenge names the scheme only (RFC 6750 section 3)."""

    status = 401
    code = "unauthenticated"
    headers: ClassVar[Mapping[str, str]] = {"WWW-Authenticate": 'Bearer realm="fairline"'}


class InvalidToken(Unauthenticated):
    """A bearer token that does not verify: expired, forged, for another service."""

    headers: ClassVar[Mapping[str, str]] = {
        "WWW-Authenticate": 'Bearer realm="fairline", error="invalid_token"'
    }


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[str]
    name: str | None = None

    @property
    def actor(self) -> str:
        return f"user:{self.subject}"

    def has_any(self, roles: tuple[str, ...]) -> bool:
        return "admin" in self.roles or bool(self.roles.intersection(roles))


MAX_LIFETIME = timedelta(hours=12)
"""The longest a token may live (exp - iat); a longer one is refused even if it verifies."""

ASYMMETRIC = ["RS256", "ES256"]
"""What an identity provider's keys may sign with: never HS256 (a public key is no secret)."""


class Keys:
    """Where a verifier finds the key that checks a token."""

    blocking = False
    """Whether finding a key may wait on the network (then it runs off the event loop)."""

    def key_for(self, token: str) -> tuple[Any, list[str]]:
        raise NotImplementedError


class SharedSecret(Keys):
    """HS256 with a secret the issuer and the services share: only where configured."""

    def __init__(self, secret: str) -> None:
        if len(secret) < 32:
            raise ValueError("FAIRLINE_AUTH_SECRET must be at least 32 characters")
        self.secret = secret

    def key_for(self, token: str) -> tuple[Any, list[str]]:
        return self.secret, ["HS256"]


class KeySet(Keys):
    """A JWK set held in memory (the dev issuer's own public keys), chosen by `kid`."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.keys = jwt.PyJWKSet.from_dict(jwks)

    def key_for(self, token: str) -> tuple[Any, list[str]]:
        kid = jwt.get_unverified_header(token).get("kid")
        for key in self.keys.keys:
            if key.key_id == kid:
                return key.key, ASYMMETRIC
        raise jwt.InvalidTokenError(f"no key {kid!r} in the issuer's key set")


class Jwks(Keys):
    """The identity provider's JWKS endpoint: the set is cached for `lifespan` seconds and
    fetched again when a token names a `kid` it does not hold, at most every `cooldown`
    seconds (so tokens with made-up kids cannot make it hammer the provider)."""

    blocking = True

    def __init__(self, url: str, lifespan: float = 300, cooldown: float = 30) -> None:
        self.client = jwt.PyJWKClient(
            url, cache_jwk_set=True, lifespan=lifespan, timeout=5, cooldown_duration=cooldown
        )

    def key_for(self, token: str) -> tuple[Any, list[str]]:
        try:
            return self.client.get_signing_key_from_jwt(token).key, ASYMMETRIC
        except jwt.PyJWKClientConnectionError as exc:
            raise KeysUnavailable(
                f"the identity provider's keys cannot be fetched: {exc}"
            ) from None


class KeysUnavailable(DomainError):
    status = 503
    code = "identity_provider_unavailable"
    headers: ClassVar[Mapping[str, str]] = {"Retry-After": "5"}


class TokenVerifier:
    """Checks a bearer token for one service: signature, issuer, audience, lifetime."""

    def __init__(
        self,
        keys: Keys,
        *,
        issuer: str,
        audience: str,
        max_lifetime: timedelta = MAX_LIFETIME,
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.max_lifetime = max_lifetime
        # A client sends the same token on every request: its checked claims are kept until
        # the token expires, so a signature is verified once, not per request.
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def remembered(self, token: str) -> Principal | None:
        if (known := self._verified.get(token)) is not None:
            principal, expires = known
            if time.time() < expires:
                return principal
            self._verified.pop(token, None)
        return None

    def verify(self, token: str) -> Principal:
        if (principal := self.remembered(token)) is not None:
            return principal
        principal, expires = self._verify(token)
        self._verified[token] = (principal, expires)
        if len(self._verified) > VERIFIED_TOKENS:
            self._verified.popitem(last=False)
        return principal

    async def verify_async(self, token: str) -> Principal:
        """`verify`, off the event loop when a key may have to be fetched."""
        if (principal := self.remembered(token)) is not None:
            return principal
        if self.keys.blocking:
            return await asyncio.to_thread(self.verify, token)
        return self.verify(token)

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            key, algorithms = self.keys.key_for(token)
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                issuer=self.issuer,
                audience=self.audience,
                options={"require": ["sub", "exp", "iat", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired; ask for a new one") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken(f"the token is not for this service ({self.audience})") from None
        except (jwt.PyJWTError, ValueError) as exc:
            raise InvalidToken(f"the token is not valid: {exc}") from None
        lifetime = float(claims["exp"]) - float(claims["iat"])
        if lifetime > self.max_lifetime.total_seconds():
            raise InvalidToken(
                f"the token lives {lifetime:.0f} s, longer than the"
                f" {self.max_lifetime.total_seconds():.0f} s this service accepts"
            )
        roles = claims.get("roles") or []
        if not isinstance(roles, list):
            raise InvalidToken("the token's roles claim must be a list")
        name = claims.get("name")
        principal = Principal(
            str(claims["sub"]), frozenset(map(str, roles)), name if isinstance(name, str) else None
        )
        return principal, float(claims["exp"])


DEFAULT_AUDIENCE = "fairline"


class TokenIssuer:
    """The dev issuer: signs tokens the way the operator's identity provider would, and
    verifies its own (tests and `make run`). ES256 with its key pair (published as a JWK set),
    or HS256 with a shared secret where one is configured."""

    def __init__(
        self,
        secret: str | None = None,
        issuer: str = "fairline-dev",
        *,
        audience: str = DEFAULT_AUDIENCE,
        private_key_pem: bytes | None = None,
        max_lifetime: timedelta = MAX_LIFETIME,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self._private: Any = None
        self.kid: str | None = None
        keys: Keys
        if secret:
            keys = SharedSecret(secret)
            self.secret: str | None = secret
        else:
            self.secret = None
            self._private = (
                serialization.load_pem_private_key(private_key_pem, password=None)
                if private_key_pem
                else ec.generate_private_key(ec.SECP256R1())
            )
            keys = KeySet(self.jwks())
        self.verifier = TokenVerifier(
            keys, issuer=issuer, audience=audience, max_lifetime=max_lifetime
        )

    def jwks(self) -> dict[str, Any]:
        """The public half of the signing key, as a JWK set (empty for a shared secret)."""
        if self._private is None:
            return {"keys": []}
        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self._private.public_key()))
        self.kid = self.kid or _thumbprint(public)
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "ES256"}]}

    def issue(
        self,
        subject: str,
        roles: list[str],
        *,
        name: str | None = None,
        ttl: timedelta = timedelta(hours=12),
        audience: str | list[str] | None = None,
    ) -> str:
        now = datetime.now(UTC)
        claims: dict[str, Any] = {
            "sub": subject,
            "roles": roles,
            "iss": self.issuer,
            "aud": audience or self.audience,
            "iat": now,
            "exp": now + ttl,
        }
        if name:
            claims["name"] = name
        if self.secret is not None:
            return jwt.encode(claims, self.secret, algorithm="HS256")
        return jwt.encode(claims, self._private, algorithm="ES256", headers={"kid": self.kid})

    def verify(self, token: str) -> Principal:
        return self.verifier.verify(token)


def _thumbprint(jwk: dict[str, Any]) -> str:
    """The key's RFC 7638 thumbprint: a `kid` that changes when the key does."""
    members = {k: jwk[k] for k in ("crv", "kty", "x", "y")}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode())
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def private_key_pem() -> bytes:
    """A new dev signing key (P-256), as PEM, for `make run` to keep in .local/."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class _Caller(HTTPBearer):
    """The bearer scheme and the caller it proves, as ONE dependency: FastAPI resolves each
    dependency of a route on every request, and a scheme apart from the caller cost a
    command a resolution of its own. In the OpenAPI it is the `HTTPBearer` scheme, as
    before. A subclass may answer with more than the caller (`fairline_events.dependencies`'
    `Acting`): it still proves the caller with `verified`."""

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        return await self.verified(request)

    async def verified(self, request: Request) -> Principal:
        """The signed-in caller (a token's signature is checked once, then remembered)."""
        credentials = await HTTPBearer.__call__(self, request)
        if credentials is None:
            raise Unauthenticated("send a bearer token in the Authorization header")
        verifier: TokenVerifier = request.app.state.token_verifier
        return await verifier.verify_async(credentials.credentials)


caller = _Caller(
    auto_error=False, scheme_name="HTTPBearer", description="JWT from the Fairline issuer"
)


class Role(_Caller):
    """The caller, checked to hold one of `roles` (admin passes; none: any signed-in user),
    still one dependency."""

    def __init__(self, roles: tuple[str, ...]) -> None:
        super().__init__(
            auto_error=False, scheme_name="HTTPBearer", description="JWT from the Fairline issuer"
        )
        self.roles = roles

    async def verified(self, request: Request) -> Principal:
        principal = await super().verified(request)
        if self.roles and not principal.has_any(self.roles):
            raise Forbidden(
                f"this needs one of the roles {', '.join(self.roles)}",
                code="missing_role",
                required=list(self.roles),
            )
        return principal


def require(*roles: str) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    """A dependency that authenticates the caller and checks one of `roles` (admin passes)."""
    return Role(roles)
