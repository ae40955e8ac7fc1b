"""A service's HTTP API as a test calls it: as someone, with a bearer token for their roles.

Each service's tests say who is who (`RoleApi.identity`: a name such as `sales`, `team` or a
sponsor's id, to a token's subject and roles) and add their own steps; the calling, the
tokens issued once per name, and `ok` (a 200 or 201, else the failure with the body) are here.
"""

from __future__ import annotations

from typing import Any

import httpx


class RoleApi:
    def __init__(self, client: httpx.AsyncClient, app: Any) -> None:
        self.client = client
        self.app = app
        self.tokens: dict[str, str] = {}

    def identity(self, who: str) -> tuple[str, list[str]]:
        """The subject and roles of the token `who` calls with."""
        raise NotImplementedError

    def token(self, who: str) -> str:
        if who not in self.tokens:
            self.tokens[who] = self.app.state.token_issuer.issue(*self.identity(who))
        return self.tokens[who]

    async def call(self, method: str, path: str, who: str | None, **kw: Any) -> httpx.Response:
        """The request as `who` (None: without a token); `headers=` adds to the token's."""
        headers = {"Authorization": f"Bearer {self.token(who)}"} if who else {}
        headers |= kw.pop("headers", {})
        return await self.client.request(method, path, headers=headers, **kw)

    async def ok(self, method: str, path: str, who: str | None, **kw: Any) -> Any:
        response = await self.call(method, path, who, **kw)
        assert response.status_code in (200, 201), (
            f"{method} {path}: {response.status_code} {response.text}"
        )
        return response.json()

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime
