"""The gates of both venues: once a day per ticket, two gates at once, each bad code refused
with its own reason, and an offline gate's upload where doubles are flagged, never lost."""

from __future__ import annotations

import asyncio
import base64
import random
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fairline_events.errors import DomainError
from fairline_events.store import EventStore
from support.waiting import eventually
from tickets import handlers
from tickets.domain.commands import CheckIn, Scanned
from tickets.domain.events import TicketAdmitted, registry
from tickets.domain.qr import QrRefused, payload_of, read_code, sign_code
from tickets.domain.signing import SigningKeys
from tickets.handlers import check_in, place_order

from .conftest import DAY1, EDITION, MORNING, Api, at, day_order, seed_visitors

pytestmark = pytest.mark.infra


async def issued_tickets(
    api: Api, count: int, prefix: str, product: bool = True
) -> list[dict[str, Any]]:
    """`count` free tickets for CNCC on the fair's first day, ten to an order."""
    if product:
        await api.product("cncc-free", price=0)
        await api.quota(1000)
    visitors = await seed_visitors(api.store, count, account="visitor-1", prefix=prefix)
    for n in range(0, count, 10):
        command = day_order(f"{prefix}-o{n}", visitors[n : n + 10], product_code="cncc-free")
        await place_order(api.store, command, at(MORNING - timedelta(days=7)))
    tickets = []
    for n in range(0, count, 10):
        tickets += (await api.ok("GET", f"/orders/{prefix}-o{n}", "box"))["tickets"]
    return tickets


def scan(qr: str, gate: str, scan_id: str) -> dict[str, str]:
    return {"gate_id": gate, "scan_id": scan_id, "qr": qr}


async def test_two_gates_scanning_one_ticket_at_once_admit_it_once(api: Api) -> None:
    [ticket] = await issued_tickets(api, 1, "two")
    api.clock(MORNING)
    east = api.call(
        "POST", "/gates/cncc/east-1/check-ins", "gate", json=scan(ticket["qr"], "g-east", "e-1")
    )
    west = api.call(
        "POST", "/gates/cncc/west-2/check-ins", "gate", json=scan(ticket["qr"], "g-west", "w-1")
    )
    answers = await asyncio.gather(east, west)
    assert sorted(r.status_code for r in answers) == [200, 409]
    admitted = next(r.json() for r in answers if r.status_code == 200)
    refused = next(r.json()["error"] for r in answers if r.status_code == 409)
    assert admitted["admitted"] is True
    assert refused["code"] == "already_admitted"
    assert refused["details"]["first_gate_id"] == admitted["gate_id"]
    assert admitted["gate_id"] in refused["message"]
    # The admitting gate asks again after a timeout: the same admission, not a refusal.
    retry = await api.call(
        "POST",
        f"/gates/cncc/{admitted['entrance']}/check-ins",
        "gate",
        json=scan(
            ticket["qr"], admitted["gate_id"], "e-1" if admitted["gate_id"] == "g-east" else "w-1"
        ),
    )
    assert retry.status_code == 200
    counts = await eventually(
        lambda: api.ok("GET", f"/editions/{EDITION}/admissions", "gate"),
        lambda c: sum(h["admitted"] for h in c) == 1,
        what="the admission in the live counts",
    )
    assert counts[0]["hour"].startswith(f"{DAY1.isoformat()}T09:00:00")


async def test_each_bad_code_is_refused_with_its_own_error_code(api: Api) -> None:
    [good] = await issued_tickets(api, 1, "good")
    [revoked] = await issued_tickets(api, 1, "gone", product=False)
    await api.ok("POST", "/orders/gone-o0/cancellation", "box")  # a free order given back
    api.clock(MORNING)

    def tamper(qr: str) -> str:
        prefix, kid, body, signature = qr.split(".")
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        wider = raw.replace(b'"v":["cncc"]', b'"v":["cncc","shougang"]')
        encoded = base64.urlsafe_b64encode(wider).decode().rstrip("=")
        return ".".join([prefix, kid, encoded, signature])

    forged = sign_code(
        Ed25519PrivateKey.generate().private_bytes_raw(),
        f"{EDITION}-k1",
        payload_of(
            ticket_id="made-up-1",
            edition_code=EDITION,
            days=[DAY1],
            venues=["cncc"],
            visitor_class="public",
            reentry=False,
        ),
    )
    cases = {
        "qr_unreadable": ("cncc", "not a ticket"),
        "qr_forged": ("cncc", forged),
        "qr_altered": ("cncc", tamper(good["qr"])),
        "ticket_revoked": ("cncc", revoked["qr"]),
        "wrong_venue": ("shougang", good["qr"]),
    }
    before = await api.count_events()
    for code, (venue, qr) in cases.items():
        response = await api.call(
            "POST", f"/gates/{venue}/north-1/check-ins", "gate", json=scan(qr, "g-1", f"s-{code}")
        )
        assert response.status_code in (409, 422), response.text
        assert response.json()["error"]["code"] == code, (code, response.text)
    api.clock(MORNING + timedelta(days=1))
    wrong_day = await api.call(
        "POST", "/gates/cncc/north-1/check-ins", "gate", json=scan(good["qr"], "g-1", "s-day")
    )
    assert wrong_day.json()["error"]["code"] == "wrong_day"
    assert await api.count_events() == before, "a refused scan writes nothing"
    api.clock(MORNING)
    admitted = await api.call(
        "POST", "/gates/cncc/north-1/check-ins", "gate", json=scan(good["qr"], "g-1", "s-ok")
    )
    assert admitted.status_code == 200, "the genuine code still opens the gate"


async def test_an_offline_gate_uploads_500_scans_with_5_doubles(api: Api) -> None:
    tickets = await issued_tickets(api, 495, "off")
    keys = await api.ok("GET", f"/editions/{EDITION}/signing-keys", "gate")
    assert [k["active"] for k in keys["keys"]] == [True]
    # An hour offline: 495 tickets admitted once each, 5 of them came back in by the other door.
    scans = [
        {
            "scan_id": f"off-{n}",
            "qr": t["qr"],
            "scanned_at": (MORNING + timedelta(seconds=7 * n)).isoformat(),
        }
        for n, t in enumerate(tickets)
    ]
    doubles = random.Random(15).sample(range(len(tickets)), 5)
    scans += [
        {
            "scan_id": f"dbl-{n}",
            "qr": tickets[n]["qr"],
            "scanned_at": (MORNING + timedelta(minutes=59)).isoformat(),
        }
        for n in doubles
    ]
    random.Random(16).shuffle(scans)
    upload = {"gate_id": "g-sg-3", "scans": scans}
    result = await api.ok("POST", "/gates/cncc/south-3/offline-scans", "gate", json=upload)
    assert (result["recorded"], result["conflicts"], result["rejected"]) == (500, 5, 0)
    flagged = {r["scan_id"] for r in result["results"] if r["outcome"] == "conflict"}
    assert flagged == {f"dbl-{n}" for n in doubles}
    assert {r["code"] for r in result["results"] if r["outcome"] == "conflict"} == {
        "already_admitted"
    }

    # Sent again (the gate never saw the answer): nothing recorded twice.
    again = await api.ok("POST", "/gates/cncc/south-3/offline-scans", "gate", json=upload)
    assert (again["recorded"], again["conflicts"]) == (500, 0)
    conflicts = await eventually(
        lambda: api.ok("GET", f"/editions/{EDITION}/admission-conflicts", "gate"),
        lambda c: len(c) == 5,
        what="the five conflicts in the read model",
    )
    assert {c["first_gate_id"] for c in conflicts} == {"g-sg-3"}
    counts = await eventually(
        lambda: api.ok("GET", f"/editions/{EDITION}/admissions", "gate"),
        lambda c: sum(h["admitted"] + h["conflicts"] for h in c) == 500,
        what="every scan in the hourly counts",
    )
    assert {(h["venue"], h["entrance"]) for h in counts} == {("cncc", "south-3")}
    recorded = await api.runtime.pool.fetchval(
        "SELECT count(*) FROM public.events WHERE event_type IN"
        " ('tickets.ticket_admitted', 'tickets.entry_conflict_flagged')"
    )
    assert recorded == 500


async def test_a_gate_verifies_offline_with_the_public_keys_and_keys_rotate(api: Api) -> None:
    [before] = await issued_tickets(api, 1, "rot")
    published = await api.ok("GET", f"/editions/{EDITION}/signing-keys", "gate")
    # The gate keeps the public keys; from here on it needs no network to check a code.
    offline = SigningKeys(EDITION, keys={k["key_id"]: k["public_key"] for k in published["keys"]})
    code = read_code(before["qr"])
    offline.verify(code)
    assert (code.ticket_id, code.days, code.venues) == (before["ticket_id"], (DAY1,), ("cncc",))

    rotated = await api.ok(
        "POST", f"/editions/{EDITION}/signing-keys/rotation", "ops", json={"reason": "yearly"}
    )
    [active] = [k for k in rotated["keys"] if k["active"]]
    assert len(rotated["keys"]) == 2 and active["key_id"] != code.key_id
    [after] = (await api.ok("GET", "/orders/rot-o0", "box"))["tickets"]
    assert read_code(after["qr"]).key_id == active["key_id"], "new codes carry the new key"
    with pytest.raises(QrRefused):
        offline.verify(read_code(after["qr"]))  # until the gate fetches the new key
    api.clock(MORNING)
    admitted = await api.call(
        "POST", "/gates/cncc/east-1/check-ins", "gate", json=scan(before["qr"], "g-1", "r-1")
    )
    assert admitted.status_code == 200, "a code signed with the older key still opens the gate"


async def test_a_process_knowing_only_the_older_key_admits_codes_of_a_key_rotated_elsewhere(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scan verifies with the keys its process last read when they hold the code's key,
    without reading them again; a code naming a key rotated in by another process makes it
    read them, and a code with a key of nobody's is still a forgery."""
    [first, second] = await issued_tickets(api, 2, "kn")
    other = EventStore(api.runtime.pool, registry)  # another API process: a cache of its own
    known: list[bool] = []  # per scan: verified with the keys last read, without reading them
    trusted_keys = handlers._trusted_keys

    def noting(*args: Any) -> SigningKeys | None:
        keys = trusted_keys(*args)
        known.append(keys is not None)
        return keys

    monkeypatch.setattr(handlers, "_trusted_keys", noting)

    async def scanned(qr: str, scan_id: str) -> str:
        command = CheckIn(
            venue="cncc",
            entrance="east-1",
            gate_id="g-1",
            scan=Scanned(scan_id=scan_id, qr=qr, scanned_at=MORNING),
        )
        try:
            outcome = await check_in(other, command, at(MORNING))
        except DomainError as refused:
            return refused.code
        return "admitted" if any(isinstance(e, TicketAdmitted) for e in outcome.events) else "?"

    assert await scanned(first["qr"], "k-1") == "admitted"  # it knows the first key now
    await api.ok(
        "POST", f"/editions/{EDITION}/signing-keys/rotation", "ops", json={"reason": "yearly"}
    )
    [shown] = [t for t in (await api.ok("GET", "/orders/kn-o0", "box"))["tickets"]
               if t["ticket_id"] == second["ticket_id"]]  # fmt: skip
    assert read_code(shown["qr"]).key_id != read_code(first["qr"]).key_id
    assert await scanned(shown["qr"], "k-2") == "admitted"
    forged = sign_code(
        Ed25519PrivateKey.generate().private_bytes_raw(),
        f"{EDITION}-k1",
        payload_of(
            ticket_id=second["ticket_id"],
            edition_code=EDITION,
            days=[DAY1],
            venues=["cncc"],
            visitor_class="public",
            reentry=True,
        ),
    )
    assert await scanned(forged, "k-3") == "qr_altered"  # a real ticket's, signed by nobody's
    assert known == [False, False, True]  # read at first, read for the new key, then known
