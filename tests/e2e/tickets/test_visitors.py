"""Visitors under their real names: review queues, statistics, and erasure after which no
readable personal data is left in any table or topic."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from fairline_events.settings import ServiceSettings
from fairline_events.shredding import Sealed, unseal
from support.kafka_read import read_topic
from support.waiting import eventually

from .conftest import EDITION, Api

pytestmark = pytest.mark.infra

NAME, DOCUMENT, PHONE, ORGANISATION = (
    "Zhao Min-Erased",
    "G12345678",
    "+86 139 8765 4321",
    "Erased Trading Co",
)
OTHER = "Sun Li-Keeps"
FIELDS = ("name", "document_number", "phone", "organisation")


async def test_trade_visitors_wait_for_the_organiser_media_for_the_press_centre(api: Api) -> None:
    trade = await api.register(
        visitor_class="trade", organisation="Acme Logistics", country_region="sg"
    )
    media = await api.register(visitor_class="media", organisation="Daily", country_region="HK")
    assert (trade["status"], trade["country_region"]) == ("pending", "SG")
    queue = await eventually(
        lambda: api.ok("GET", f"/editions/{EDITION}/visitors?status=pending", "box"),
        lambda q: len(q) == 2,
        what="both registrations in the review queue",
    )
    assert {q["organisation"] for q in queue} == {"Acme Logistics", "Daily"}
    press_queue = await api.ok("GET", f"/editions/{EDITION}/visitors?status=pending", "press")
    assert [q["visitor_id"] for q in press_queue] == [media["visitor_id"]]

    not_theirs = await api.call(
        "POST", f"/visitors/{trade['visitor_id']}/review", "press", json={"approve": True}
    )
    assert not_theirs.json()["error"]["code"] == "not_your_review"
    accredited = await api.ok(
        "POST", f"/visitors/{media['visitor_id']}/review", "press", json={"approve": True}
    )
    assert accredited["status"] == "approved"
    approved = await api.ok(
        "POST", f"/visitors/{trade['visitor_id']}/review", "box", json={"approve": True}
    )
    assert approved["status"] == "approved"
    guest = await api.call(
        "POST",
        f"/editions/{EDITION}/visitors",
        "visitor",
        json={
            "visitor_class": "guest",
            "name": "Self Invited",
            "document_type": "passport",
            "document_number": "E1111111",
            "phone": "+1 555 0100",
            "country_region": "US",
        },
    )
    assert guest.json()["error"]["code"] == "invitation_only"
    await api.register("box", visitor_class="guest", country_region="US", name="Invited Guest")

    statistics = await eventually(
        lambda: api.ok("GET", f"/editions/{EDITION}/visitor-statistics", "box"),
        lambda s: s["registered"] == 3 and {"key": "approved", "visitors": 3} in s["by_status"],
        what="the statistics with the three visitors approved",
    )
    assert {c["key"]: c["visitors"] for c in statistics["by_class"]} == {
        "trade": 1,
        "media": 1,
        "guest": 1,
    }
    assert {c["key"] for c in statistics["by_country_region"]} == {"SG", "HK", "US"}


def sealed_values(value: Any) -> Iterator[Sealed]:
    if isinstance(value, dict):
        if {"key_id", "nonce", "ciphertext"} <= set(value):
            yield Sealed.model_validate(value)
            return
        for v in value.values():
            yield from sealed_values(v)
    elif isinstance(value, list):
        for v in value:
            yield from sealed_values(v)


def readable(texts: list[str], keys: dict[str, bytes]) -> set[str]:
    """Everything the keys still in the database can open in these texts."""
    opened: set[str] = set()
    for text in texts:
        start = text.find("{")
        try:
            document = json.loads(text[start:]) if start >= 0 else None
        except json.JSONDecodeError:
            continue
        for sealed in sealed_values(document):
            for field in FIELDS:
                if sealed.key_id in keys:
                    try:
                        opened.add(unseal(keys[sealed.key_id], sealed, field))
                    except ValueError:
                        continue
    return opened


async def database_rows(pool: asyncpg.Pool) -> list[str]:
    tables = await pool.fetch(
        """SELECT table_schema, table_name FROM information_schema.tables
           WHERE table_type = 'BASE TABLE'
             AND table_schema NOT IN ('pg_catalog', 'information_schema')"""
    )
    rows: list[str] = []
    for t in tables:
        rows += [
            r[0] for r in await pool.fetch(f'SELECT row_to_json(x)::text FROM "{t[0]}"."{t[1]}" x')
        ]
    return rows


async def topic_records(bootstrap_servers: str, prefix: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        topics = sorted(t for t in await admin.list_topics() if t.startswith(prefix))
    finally:
        await admin.close()
    texts: list[str] = []
    for topic in topics:
        for r in await read_topic(bootstrap_servers, topic):
            headers = " ".join(f"{k}={v.decode(errors='replace')}" for k, v in r.headers or ())
            key, value = (
                (r.key or b"").decode(errors="replace"),
                (r.value or b"").decode(errors="replace"),
            )
            texts.append(f"{topic} {key} {headers} {value}")
    return texts


async def test_after_erasure_no_readable_personal_data_remains_anywhere(
    api: Api, settings: ServiceSettings, capfd: pytest.CaptureFixture[str]
) -> None:
    await api.product()
    await api.quota(10)
    visitor = await api.register(
        name=NAME,
        document_type="passport",
        document_number=DOCUMENT,
        phone=PHONE,
        organisation=ORGANISATION,
    )
    assert (visitor["name"], visitor["document_number"], visitor["organisation"]) == (
        NAME,
        DOCUMENT,
        ORGANISATION,
    )
    other = await api.register(
        "other", name=OTHER, document_number="E7654321", document_type="passport"
    )
    order = (await api.order([visitor["visitor_id"]])).json()
    await api.pay(order)
    await eventually(
        lambda: api.ok("GET", f"/editions/{EDITION}/visitors?status=approved", "box"),
        lambda q: {NAME, OTHER} <= {v["name"] for v in q},
        what="both visitors in the read model, opened",
    )
    for role in ("other", "press"):
        refused = await api.call("POST", f"/visitors/{visitor['visitor_id']}/erasure", role)
        assert refused.status_code == 403, role

    erased = await api.ok("POST", f"/visitors/{visitor['visitor_id']}/erasure", "visitor")
    assert erased == {"visitor_id": visitor["visitor_id"], "erased": True, "already_erased": False}
    again = await api.ok("POST", f"/visitors/{visitor['visitor_id']}/erasure", "ops")
    assert again["already_erased"] is True
    after = await api.ok("GET", f"/visitors/{visitor['visitor_id']}", "box")
    assert after["erased"] is True
    assert [after[f] for f in FIELDS] == [None] * 4
    kept = await api.ok("GET", f"/orders/{order['order_id']}", "visitor")
    assert kept["status"] == "issued", "the ticket and the money stay; only the person goes"
    assert (await api.order([visitor["visitor_id"]])).json()["error"]["code"] == "visitor_erased"
    await eventually(
        lambda: api.ok("GET", f"/editions/{EDITION}/visitors?status=erased", "box"),
        lambda q: len(q) == 1,
        what="the erasure in the read model",
    )

    pool = api.runtime.pool
    rows = await database_rows(pool)
    records = await topic_records(settings.kafka_bootstrap_servers, settings.fairline_topic_prefix)
    assert len(records) > 10 and len(rows) > 10
    for secret in (NAME, DOCUMENT, PHONE, ORGANISATION, "Zhao Min"):
        assert not [r for r in rows if secret in r], f"{secret!r} in the database"
        assert not [r for r in records if secret in r], f"{secret!r} in a topic"
    keys = {
        r["key_id"]: bytes(r["key"])
        for r in await pool.fetch("SELECT key_id, key FROM visitor_keys WHERE key IS NOT NULL")
    }
    opened = readable(rows + records, keys)
    assert OTHER in opened, "the scan opens what is still readable"
    assert not {NAME, DOCUMENT, PHONE, ORGANISATION} & opened
    out, err = capfd.readouterr()
    for secret in (NAME, DOCUMENT, PHONE, OTHER):
        assert secret not in out + err
    assert other["name"] == OTHER
