"""The payment provider's callback: verified, recorded once per transaction; refunds revoke
tickets at the gates."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from support.waiting import eventually

from .conftest import EDITION, Api

pytestmark = pytest.mark.infra


async def payments_recorded(api: Api) -> int:
    value: int = await api.runtime.pool.fetchval(
        "SELECT count(*) FROM public.events WHERE event_type = 'tickets.payment_received'"
    )
    return value


async def test_a_callback_replayed_10_times_is_one_payment_a_bad_signature_is_refused(
    api: Api,
) -> None:
    await api.product()
    await api.quota(10)
    visitor = await api.register()
    placed = await api.order([visitor["visitor_id"]])
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert (order["status"], order["total"], order["checkout"]["provider"]) == (
        "held",
        10000,
        "devpay",
    )

    # Forged: the body says paid, but the provider never signed it.
    body, signature = api.devpay.notify(order["order_id"], 10000, transaction_id="tx-42")
    before = await api.count_events()
    forged = await api.notify(body.replace(b"tx-42", b"tx-43"), signature)
    assert (forged.status_code, forged.json()["error"]["code"]) == (401, "bad_signature")
    unsigned = await api.notify(body, "")
    assert unsigned.json()["error"]["code"] == "bad_signature"
    old, old_signature = api.devpay.notify(order["order_id"], 10000, at=time.time() - 3600)
    stale = await api.notify(old, old_signature)
    assert stale.json()["error"]["code"] == "stale_notification"
    assert await api.count_events() == before, "a refused callback writes nothing"

    # The genuine one, as a provider retries it: five at once, then five more.
    first = await asyncio.gather(*(api.notify(body, signature) for _ in range(5)))
    then = [await api.notify(body, signature) for _ in range(5)]
    answers = [r.json()["status"] for r in [*first, *then]]
    assert all(r.status_code == 200 for r in [*first, *then])
    assert sorted(answers) == ["already_recorded"] * 9 + ["recorded"]
    assert await payments_recorded(api) == 1

    issued = await api.ok("GET", f"/orders/{order['order_id']}", "visitor")
    assert issued["status"] == "issued"
    [ticket] = issued["tickets"]
    assert ticket["qr"].startswith(f"FT1.{EDITION}-k1.")
    other = await api.call("GET", f"/orders/{order['order_id']}", "other")
    assert other.json()["error"]["code"] == "not_your_order"
    mine = await eventually(
        lambda: api.ok("GET", f"/editions/{EDITION}/orders", "visitor"),
        lambda o: [x["status"] for x in o] == ["issued"],
        what="the order in the visitor's list",
    )
    assert (mine[0]["order_id"], mine[0]["total"]) == (order["order_id"], 10000)
    assert await api.ok("GET", f"/editions/{EDITION}/orders", "other") == []
    everyone = await api.ok("GET", f"/editions/{EDITION}/orders?account=visitor-1", "box")
    assert [x["order_id"] for x in everyone] == [order["order_id"]]


async def test_a_refund_revokes_the_tickets_and_the_gates_hear_of_it(api: Api) -> None:
    await api.product()
    await api.quota(1)
    visitor = await api.register()
    order = (await api.order([visitor["visitor_id"]])).json()
    await api.pay(order)
    reason = {"reason": "the visitor cannot travel"}
    refused = await api.call("POST", f"/orders/{order['order_id']}/refund", "visitor", json=reason)
    assert refused.status_code == 403
    refunded = await api.ok("POST", f"/orders/{order['order_id']}/refund", "box", json=reason)
    assert refunded["status"] == "refunded"
    assert [(t["status"], t["qr"]) for t in refunded["tickets"]] == [("revoked", None)]
    again = await api.call("POST", f"/orders/{order['order_id']}/refund", "box", json=reason)
    assert again.json()["error"]["code"] == "not_refundable"

    revoked = await eventually(
        lambda: api.ok("GET", f"/editions/{EDITION}/revocations", "gate"),
        lambda r: len(r) == 1,
        what="the revocation reaching the gates' list through the topic",
    )
    assert revoked[0]["ticket_id"] == refunded["tickets"][0]["ticket_id"]
    assert (
        await api.ok("GET", f"/editions/{EDITION}/revocations?after={revoked[0]['seq']}", "gate")
        == []
    )
    # The place is on sale again.
    second = await api.register(document_number="E12345678", document_type="passport")
    assert (await api.order([second["visitor_id"]])).status_code == 201


async def test_dev_provider_checkout_pays_through_the_same_signed_callback(api: Api) -> None:
    await api.product()
    await api.quota(1)
    visitor = await api.register()
    order = (await api.order([visitor["visitor_id"]])).json()
    paid = await api.ok("POST", order["checkout"]["checkout_url"] + "/pay", "visitor")
    assert paid["status"] == "issued" and paid["tickets"][0]["qr"]
    # The contracts beside it: every event on the topic, every route documented.
    asyncapi = (await api.client.get("/asyncapi.json")).json()
    described = json.dumps(asyncapi)
    for event in ("tickets.order_placed", "tickets.ticket_revoked", "tickets.visitor_erased"):
        assert event in described
    openapi = (await api.client.get("/openapi.json")).json()
    assert "/payments/{provider}/notifications" in openapi["paths"]
    assert "/gates/{venue}/{entrance}/offline-scans" in openapi["paths"]
