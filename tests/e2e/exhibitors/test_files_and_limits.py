"""Object-level checks and limits from the security review (issue 11, findings 6 and 8): a
file is usable only by the company that uploaded it, and a hash tells nothing about other
companies' files; downloads are counted per visitor without a stream per request, and
limited; a visitor takes at most a few of a company's meeting slots."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from exhibitors.domain.booth import DOWNLOADS_PER_HOUR
from exhibitors.domain.meetings import SLOTS_PER_GUEST
from support.waiting import eventually

from .conftest import Service, error, new_company, ok

pytestmark = pytest.mark.infra

SECRET_PNG = b"\x89PNG\r\n\x1a\n" + b"unpublished launch poster" * 40
PDF = b"%PDF-1.7\n" + b"price list " * 200


async def test_a_file_is_usable_only_by_the_company_that_uploaded_it(service: Service) -> None:
    a_staff, b_staff = service.user("exhibitor"), service.user("exhibitor")
    company_a, _ = await new_company(service, a_staff, name="Alibaba")
    company_b, _ = await new_company(service, b_staff, name="Baidu")
    secret = ok(
        await a_staff.post(
            f"/companies/{company_a}/files",
            content=SECRET_PNG,
            headers={"Content-Type": "image/png"},
        ),
        201,
    )
    unknown = hashlib.sha256(b"nobody uploaded this").hexdigest()

    async def attach(sha: str) -> tuple[int, str]:
        content = {"kind": "image", "title": "ours", "file": sha}
        response = await b_staff.post(f"/companies/{company_b}/booth/items", {"content": content})
        return error(response)

    # A's file and a hash nobody has get the same answer: nothing tells B that A has it.
    assert await attach(secret["sha256"]) == (404, "file_not_found")
    assert await attach(unknown) == (404, "file_not_found")
    # Nor through the profile's logo, nor by revising an item of B's.
    assert error(
        await b_staff.put(
            f"/companies/{company_b}/booth/profile",
            {"introduction": "百度", "logo": secret["sha256"]},
        )
    ) == (404, "file_not_found")
    news = ok(
        await b_staff.post(
            f"/companies/{company_b}/booth/items",
            {"content": {"kind": "news", "title": "t", "body": "b"}},
        ),
        201,
    )
    poster = {"kind": "news", "title": "t2", "body": "b"}
    ok(await b_staff.put(f"/booth-items/{news['item_id']}", {"content": poster}))
    assert error(
        await b_staff.post(
            f"/companies/{company_b}/booth/items",
            {"content": {"kind": "poster", "title": "p", "file": secret["sha256"]}},
        )
    ) == (404, "file_not_found")
    # The recruitment team acting for B is held to B's files too.
    recruiter = service.user("recruitment")
    assert error(
        await recruiter.post(
            f"/companies/{company_b}/booth/items",
            {"content": {"kind": "image", "title": "x", "file": secret["sha256"]}},
        )
    ) == (404, "file_not_found")
    # A uses its own file; B, holding the same bytes, uploads them and may then use its copy.
    ok(
        await a_staff.post(
            f"/companies/{company_a}/booth/items",
            {"content": {"kind": "image", "title": "ours", "file": secret["sha256"]}},
        ),
        201,
    )
    again = ok(
        await b_staff.post(
            f"/companies/{company_b}/files",
            content=SECRET_PNG,
            headers={"Content-Type": "image/png"},
        ),
        201,
    )
    assert again["sha256"] == secret["sha256"]
    assert (
        await b_staff.post(
            f"/companies/{company_b}/booth/items",
            {"content": {"kind": "image", "title": "same bytes", "file": again["sha256"]}},
        )
    ).status_code == 201


async def test_downloads_are_counted_per_visitor_and_limited(service: Service) -> None:
    staff = service.user("exhibitor")
    company_id, _ = await new_company(service, staff)
    doc = ok(
        await staff.post(
            f"/companies/{company_id}/files",
            content=PDF,
            headers={"Content-Type": "application/pdf"},
        ),
        201,
    )
    item = ok(
        await staff.post(
            f"/companies/{company_id}/booth/items",
            {"content": {"kind": "document", "title": "价目表", "file": doc["sha256"]}},
        ),
        201,
    )
    ok(await staff.post(f"/booth-items/{item['item_id']}/publish"))
    organiser = service.user("recruitment")
    ok(await organiser.post(f"/booth-items/{item['item_id']}/approve", {"revision": 1}))
    visitor = service.user("visitor")
    path = f"/booth-items/{item['item_id']}/file"
    tries = DOWNLOADS_PER_HOUR + 5
    results = await asyncio.gather(*(visitor.get(path) for _ in range(tries)))
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200] * DOWNLOADS_PER_HOUR + [429] * 5
    refused = next(r for r in results if r.status_code == 429)
    assert error(refused) == (429, "rate_limited") and refused.headers["retry-after"]
    download_ids = {r.headers["x-download-id"] for r in results if r.status_code == 200}
    assert len(download_ids) == 1  # one record per visitor and document

    pool = service.app.state.runtime.pool
    streams = await pool.fetch(
        """SELECT stream_id, count(*) AS events FROM events
           WHERE stream_id LIKE 'download%' AND (stream_id = $1 OR stream_id = $2)
           GROUP BY stream_id ORDER BY stream_id""",
        f"download-{download_ids.pop()}",
        f"downloads-{visitor.subject}",
    )
    # two streams, whatever the number of requests: the record and the visitor's window
    assert [(r["stream_id"].split("-")[0], r["events"]) for r in streams] == [
        ("download", 1),
        ("downloads", DOWNLOADS_PER_HOUR),
    ]
    # another visitor is not limited by the first; the company's own staff are never counted
    assert (await service.user("visitor").get(path)).status_code == 200
    own = await staff.get(path)
    assert own.status_code == 200 and "x-download-id" not in own.headers


async def test_a_visitor_takes_at_most_a_few_of_a_companys_slots(service: Service) -> None:
    staff = service.user("exhibitor")
    company_id, _ = await new_company(service, staff)
    day = (datetime.now(UTC) + timedelta(days=20)).replace(hour=1, minute=0, microsecond=0)
    slots = []
    for hour in range(4):
        start = day + timedelta(hours=hour)
        body = {
            "kind": "online",
            "location": "room 1",
            "start": start.isoformat(),
            "end": (start + timedelta(minutes=30)).isoformat(),
        }
        slots.append(ok(await staff.post(f"/companies/{company_id}/slots", body), 201))
    greedy = service.user("visitor")
    results = await asyncio.gather(
        *(greedy.post(f"/slots/{s['slot_id']}/book", {"subject": "all of them"}) for s in slots)
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201] * SLOTS_PER_GUEST + [409] * (4 - SLOTS_PER_GUEST)
    assert {error(r)[1] for r in results if r.status_code == 409} == {"slot_cap_reached"}
    # the slots left are there for others
    other = service.user("visitor")
    left = [s for s, r in zip(slots, results, strict=True) if r.status_code == 409]
    for slot in left:
        ok(await other.post(f"/slots/{slot['slot_id']}/book", {"subject": "a demo"}), 201)
    await eventually(
        lambda: other.get(f"/companies/{company_id}/slots?status=taken"),
        lambda r: len(r.json()) == 4,
        what="every slot taken, by two visitors",
    )
