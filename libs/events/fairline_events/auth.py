"""Bearer-token authentication with roles, checked on every endpoint.

Tokens are JWTs (HS256) from the platform's issuer; locally a dev issuer signs them with
FAIRLINE_AUTH_SECRET and `make run` prints one per role. Production swaps the key for the
operator's identity provider; the role checks stay the same.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

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
    status = 401
    code = "unauthenticated"


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


class TokenIssuer:
    def __init__(self, secret: str, issuer: str = "fairline-dev") -> None:
        if len(secret) < 32:
            raise ValueError("FAIRLINE_AUTH_SECRET must be at least 32 characters")
        self.secret = secret
        self.issuer = issuer
        # A client sends the same token on every request: its checked claims are kept until
        # the token expires, so a signature is verified once, not per request.
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def issue(
        self,
        subject: str,
        roles: list[str],
        *,
        name: str | None = None,
        ttl: timedelta = timedelta(hours=12),
    ) -> str:
        now = datetime.now(UTC)
        claims: dict[str, Any] = {
            "sub": subject,
            "roles": roles,
            "iss": self.issuer,
            "iat": now,
            "exp": now + ttl,
        }
        if name:
            claims["name"] = name
        return jwt.encode(claims, self.secret, algorithm="HS256")

    def verify(self, token: str) -> Principal:
        if (known := self._verified.get(token)) is not None:
            principal, expires = known
            if time.time() < expires:
                return principal
            del self._verified[token]
        principal, expires = self._verify(token)
        self._verified[token] = (principal, expires)
        if len(self._verified) > VERIFIED_TOKENS:
            self._verified.popitem(last=False)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=["HS256"],
                issuer=self.issuer,
                options={"require": ["sub", "exp", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired; ask for a new one") from None
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"the token is not valid: {exc}") from None
        roles = claims.get("roles") or []
        if not isinstance(roles, list):
            raise Unauthenticated("the token's roles claim must be a list")
        principal = Principal(str(claims["sub"]), frozenset(map(str, roles)), claims.get("name"))
        return principal, float(claims["exp"])


_bearer = HTTPBearer(auto_error=False, description="JWT from the Fairline issuer")


async def caller(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),  # noqa: B008
) -> Principal:
    """The signed-in caller, verified once per request (FastAPI caches a dependency's answer,
    so the role check and the command context share it)."""
    if credentials is None:
        raise Unauthenticated("send a bearer token in the Authorization header")
    issuer: TokenIssuer = request.app.state.token_issuer
    return issuer.verify(credentials.credentials)


def require(*roles: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that authenticates the caller and checks one of `roles` (admin passes)."""

    async def dependency(principal: Principal = Depends(caller)) -> Principal:  # noqa: B008
        if roles and not principal.has_any(roles):
            raise Forbidden(
                f"this needs one of the roles {', '.join(roles)}",
                code="missing_role",
                required=list(roles),
            )
        return principal

    return dependency
