"""FastAPI's resolution of one booth hold's parameters and dependencies, alone (no I/O, no
HTTP): CPU µs per hold, for an A/B between two checkouts on a shared box, where a whole
hold (`bench/ab_hold.py`) varies more from run to run than this part of it.

`<checkout>/.venv/bin/python bench/ab_resolve.py <checkout> [holds]` builds the booths app
(not started; its store a stand-in), then resolves the hold route's path, body and
dependencies `holds` times (default 5,000), five times over after a warm-up, as FastAPI
does for a request (the token verified once, then remembered). It prints one JSON line:
µs per hold of each round and the least. Not part of `make bench`.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from contextlib import AsyncExitStack

root = sys.argv[1]
sys.path[0] = root  # not bench/: its modules would shadow the services' (forums)

from booths.service import definition  # noqa: E402
from fairline_events.consistency import Receipt  # noqa: E402
from fairline_events.service import build_app  # noqa: E402
from fairline_events.settings import ServiceSettings  # noqa: E402
from fastapi.dependencies.utils import solve_dependencies  # noqa: E402
from fastapi.routing import APIRoute  # noqa: E402
from starlette.requests import Request  # noqa: E402

HOLDS = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
HOLD = "/editions/{edition_code}/booths/{booth_code}/hold"


async def main() -> None:
    settings = ServiceSettings(fairline_auth_secret="x" * 40)
    app = build_app(definition, settings, relay=False, projections=False, jobs=False)
    app.state.runtime.store = object()  # never reached: resolving is all this measures
    token = app.state.token_issuer.issue("ana", ["sales"])
    route = next(r for r in app.router.routes if isinstance(r, APIRoute) and r.path == HOLD)
    body = {"exhibitor_id": "ex-1"}

    async def resolve() -> None:
        async with AsyncExitStack() as inner, AsyncExitStack() as function:
            scope = {
                "type": "http",
                "method": "POST",
                "path": "/editions/E1/booths/A-1/hold",
                "headers": [
                    (b"authorization", f"Bearer {token}".encode()),
                    (b"content-type", b"application/json"),
                ],
                "query_string": b"",
                "path_params": {"edition_code": "E1", "booth_code": "A-1"},
                "app": app,
                "state": {"receipt": Receipt("booths")},
                "fastapi_inner_astack": inner,
                "fastapi_function_astack": function,
            }
            solved = await solve_dependencies(
                request=Request(scope),
                dependant=route.dependant,
                body=body,
                dependency_overrides_provider=app,
                async_exit_stack=inner,
                embed_body_fields=False,
            )
            assert not solved.errors, solved.errors

    for _ in range(2000):
        await resolve()
    rounds = []
    for _ in range(5):
        cpu = time.process_time()
        for _ in range(HOLDS):
            await resolve()
        rounds.append((time.process_time() - cpu) * 1e6 / HOLDS)
    side = root.rstrip("/").rsplit("/", 1)[-1]
    print(
        json.dumps(
            {
                "side": side,
                "resolve_us": [round(r, 1) for r in rounds],
                "least": round(min(rounds), 1),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
