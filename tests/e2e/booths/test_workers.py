"""`serve --workers N`: HTTP workers take the requests, one `work` process does the rest.

The relay, the projections and the jobs run once, in a process of their own, so the
floor plan still follows the holds the workers take; stopping the server stops them all.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from e2e.booths.harness import EDITION, Api, ExhibitorFeed, add_booths, admitted, open_edition
from fairline_events.auth import TokenIssuer
from fairline_events.settings import ServiceSettings
from support.serving import free_port, ready, start_service
from support.waiting import eventually

pytestmark = pytest.mark.infra


def _children(pid: int) -> set[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes()[:120].decode(errors="replace")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"  # a zombie is gone


async def test_two_http_workers_and_one_background_process_serve_holds_and_stop_together(
    settings: ServiceSettings,
) -> None:
    port = free_port()
    server = start_service("booths", settings, port, workers=2)
    issuer = TokenIssuer(settings.fairline_auth_secret)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            await eventually(lambda: ready(client), bool, within=90, what="the workers ready")
            api = Api(client, SimpleNamespace(state=SimpleNamespace(token_issuer=issuer)))
            await open_edition(api)
            await add_booths(api, "E1", ["E1-201", "E1-202"])
            await ExhibitorFeed(settings).approve("ex-w1", "ex-w2")
            await admitted(api, 2, within=60)  # the admissions policy runs in `work`
            for exhibitor, booth in [("ex-w1", "E1-201"), ("ex-w2", "E1-202")]:
                await api.ok(
                    "POST",
                    f"/editions/{EDITION}/booths/{booth}/hold",
                    "sales",
                    json={"exhibitor_id": exhibitor},
                )

            async def floor() -> dict[str, object]:
                response = await api.call(
                    "GET", f"/editions/{EDITION}/halls/E1/floor-plan", "sales"
                )
                if response.status_code != 200:
                    return {}
                return {b["booth_code"]: b["status"] for b in response.json()["booths"]}

            shown = await eventually(
                floor,
                lambda f: f.get("E1-201") == "held" and f.get("E1-202") == "held",
                within=30,
                what="the floor plan showing both holds",
            )
            assert shown == {"E1-201": "held", "E1-202": "held"}
        processes = _children(server.pid)
        assert len(processes) >= 3, "expected two workers and the background process"
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(60) == 0

    # Children are reaped by init once the server is gone; give the kernel a moment to do it
    # (on a loaded machine a child can still be exiting as its parent's wait returns).
    async def still_running() -> dict[int, str]:
        return {p: _cmdline(p) for p in processes if _alive(p)}

    await eventually(
        still_running,
        lambda left: not left,
        within=10,
        what="no worker nor `work` outliving the server",
    )
