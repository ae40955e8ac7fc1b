"""Erasing a guest: their key is destroyed, and nothing anywhere can show their data again."""

from __future__ import annotations

import json

import pytest
from fairline_events.settings import ServiceSettings
from support.kafka_read import read_topic
from support.waiting import eventually

from .conftest import Api, night
from .scanning import database_rows, readable, topic_records

pytestmark = pytest.mark.infra

NAME, PHONE, PASSPORT = "Zhang Wei-Erasure", "+86 138 0013 4477", "E99887766"
OTHER = "Li Na-Keeps"


async def feed(settings: ServiceSettings, hotel: str = "cncc-grand") -> list[dict[str, object]]:
    topic = settings.topic(f"partner.{hotel}.bookings")
    return [json.loads(r.value or b"") for r in await read_topic(settings.kafka, topic)]


async def test_after_erasure_no_readable_personal_data_remains_anywhere(
    api: Api, settings: ServiceSettings, capfd: pytest.CaptureFixture[str]
) -> None:
    await api.hotel()
    await api.allot(10, rate=900)
    block = await api.ok(
        "POST",
        "/hotels/cncc-grand/blocks",
        "desk",
        json={
            "group": "media",
            "name": "Press",
            "first_night": night(1),
            "last_night": night(5),
            "rooms": {"standard": 5},
            "cut_off_at": "2099-01-01T00:00:00+08:00",
        },
    )
    guest = {"name": NAME, "phone": PHONE, "id_document": PASSPORT}
    made = await api.book(1, 3, guest=guest, block_id=block["block_id"], requests=["late_arrival"])
    assert made.status_code == 201, made.text
    booking = made.json()
    assert booking["guest"] | {"guest_id": ""} == {
        "guest_id": "",
        "erased": False,
        "name": NAME,
        "phone": PHONE,
        "id_document": PASSPORT,
    }
    booking_id, guest_id = booking["booking_id"], booking["guest"]["guest_id"]
    second = await api.book(4, 5, guest_id=guest_id, block_id=block["block_id"])
    assert second.status_code == 201 and second.json()["guest"]["name"] == NAME
    other = (await api.book(2, 4, guest={"name": OTHER, "phone": "+86 139 1111 2222"})).json()
    await api.ok("PATCH", f"/bookings/{booking_id}", "desk", json={"departure": night(4)})

    # Before erasure: the name is there for those who may see it, sealed for everyone else.
    rooming = await eventually(
        lambda: api.ok("GET", f"/blocks/{block['block_id']}/rooming-list", "desk"),
        lambda r: len(r["entries"]) == 2,
        what="the rooming list with both bookings",
    )
    assert {e["guest_name"] for e in rooming["entries"]} == {NAME}
    messages = await eventually(
        lambda: feed(settings),
        lambda m: [x["message_type"] for x in m].count("booking.modified") == 1,
        what="the partner feed with the modification",
    )
    created = next(
        m
        for m in messages
        if m["message_type"] == "booking.created" and m["subject_id"] == booking_id
    )
    key_id = created["booking"]["guest"]["name"]["key_id"]  # type: ignore[index]
    key_path = f"/partner/hotels/cncc-grand/guest-keys/{key_id}"
    assert (await api.call("GET", key_path, "partner_cncc")).status_code == 200
    assert (await api.call("GET", key_path, "partner_other")).json()["error"]["code"] == (
        "not_your_hotel"
    )
    before = await api.ok("GET", "/occupancy?hotel_code=cncc-grand", "desk")
    pickup_before = await api.ok("GET", f"/blocks/{block['block_id']}/pickup", "desk")

    erased = await api.ok("POST", f"/guests/{guest_id}/erasure", "ops")
    assert erased == {"guest_id": guest_id, "erased": True, "already_erased": False}
    again = await api.ok("POST", f"/guests/{guest_id}/erasure", "ops")
    assert again["already_erased"] is True
    missing = await api.call("POST", "/guests/nobody/erasure", "ops")
    assert missing.json()["error"]["code"] == "guest_not_found"
    assert (await api.call("POST", f"/guests/{guest_id}/erasure", "desk")).status_code == 403

    # What a user sees: no name, no phone, no passport; the stay, nights and money unchanged.
    after = await api.ok("GET", f"/bookings/{booking_id}", "desk")
    assert after["guest"] == {
        "guest_id": guest_id,
        "erased": True,
        "name": None,
        "phone": None,
        "id_document": None,
    }
    assert (after["status"], after["nights"], after["total"]) == ("confirmed", 3, 2700)
    gone = await api.call("GET", key_path, "partner_cncc")
    assert (gone.status_code, gone.json()["error"]["code"]) == (410, "guest_erased")
    rebook = await api.book(5, 6, guest_id=guest_id)
    assert rebook.json()["error"]["code"] == "guest_erased"
    rooming = await api.ok("GET", f"/blocks/{block['block_id']}/rooming-list", "desk")
    assert [(e["guest_name"], e["guest_erased"]) for e in rooming["entries"]] == [(None, True)] * 2
    messages = await eventually(
        lambda: feed(settings),
        lambda m: [x["message_type"] for x in m].count("booking.guest_erased") == 2,
        what="the feed telling the hotel to delete the guest's data, for both bookings",
    )
    assert await api.ok("GET", "/occupancy?hotel_code=cncc-grand", "desk") == before
    assert await api.ok("GET", f"/blocks/{block['block_id']}/pickup", "desk") == pickup_before
    kept = await api.ok("GET", f"/bookings/{other['booking_id']}", "desk")
    assert kept["guest"]["name"] == OTHER

    # Everywhere, as text: the database (every table, the projections, the key table) and
    # every topic of this run (the events, the partner feeds, the dead-letter topics).
    pool = api.runtime.pool
    rows = await database_rows(pool)
    records = await topic_records(settings.kafka, settings.fairline_topic_prefix)
    assert len(records) > 30 and len(rows) > 30
    for secret in (NAME, PHONE, PASSPORT, "Zhang Wei"):
        assert not [r for r in rows if secret in r], f"{secret!r} in the database"
        assert not [r for r in records if secret in r], f"{secret!r} in a topic"

    # And as ciphertext: with every key still in the database, the sealed copies everywhere
    # open to the other guest's data, never to the erased guest's.
    keys = {
        r["key_id"]: bytes(r["key"])
        for r in await pool.fetch("SELECT key_id, key FROM guest_keys WHERE key IS NOT NULL")
    }
    assert key_id not in keys
    opened = readable(rows + records, keys)
    assert OTHER in opened, "the scan opens what is still readable"
    assert not {NAME, PHONE, PASSPORT} & opened

    # Nothing personal in the logs either.
    out, err = capfd.readouterr()
    for secret in (NAME, PHONE, PASSPORT, OTHER):
        assert secret not in out + err


async def test_an_erased_key_leaves_no_bytes_in_the_key_tables_pages(api: Api) -> None:
    """The UPDATE that destroys a key leaves the old row version, key and all, in the page
    until VACUUM prunes it; the erasure prunes it at once (and checkpoints), so the bytes
    are not there for whoever reads the data files or a later backup of them."""
    pool = api.runtime.pool
    if not await pool.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"):
        pytest.skip(reason="pageinspect (raw pages) needs a superuser, as the local stack has")
    await pool.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
    await api.hotel()
    await api.allot(10)
    made = await api.book(1, 2, guest={"name": NAME})
    guest_id = made.json()["guest"]["guest_id"]
    [row] = await pool.fetch("SELECT key_id, key FROM guest_keys")
    key = bytes(row["key"])

    async def pages_hold_key() -> bool:
        pages = await pool.fetchval("SELECT pg_relation_size('guest_keys') / 8192")
        for page in range(pages):
            raw = await pool.fetchval("SELECT get_raw_page('guest_keys', $1)", page)
            if key in bytes(raw):
                return True
        return False

    assert await pages_hold_key(), "the key is in the table's pages while it lives"
    await api.ok("POST", f"/guests/{guest_id}/erasure", "ops")
    assert not await pages_hold_key(), "the destroyed key's bytes are gone from the pages"
    assert (
        await pool.fetchval("SELECT key FROM guest_keys WHERE key_id = $1", row["key_id"]) is None
    )
