"""The online booth page over HTTP: uploads with limits, drafts, publishing, the public page,
downloads that become leads."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from support.waiting import eventually

from .conftest import Service, User, error, new_company, ok

pytestmark = pytest.mark.infra

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 2048
PDF = b"%PDF-1.7\n" + b"brochure " * 500


async def upload(user: User, company_id: str, data: bytes, content_type: str) -> Any:
    return await user.post(
        f"/companies/{company_id}/files", content=data, headers={"Content-Type": content_type}
    )


async def draft(user: User, company_id: str, content: dict[str, Any]) -> Any:
    return ok(await user.post(f"/companies/{company_id}/booth/items", {"content": content}), 201)


async def test_a_booth_page_is_drafted_published_and_seen(service: Service) -> None:
    staff = service.user("exhibitor")
    company_id, _ = await new_company(service, staff)
    visitor = service.user("visitor")

    image = ok(await upload(staff, company_id, PNG, "image/png"), 201)
    assert image == {
        "sha256": hashlib.sha256(PNG).hexdigest(),
        "size": len(PNG),
        "content_type": "image/png",
    }
    doc = ok(await upload(staff, company_id, PDF, "application/pdf"), 201)
    ok(
        await staff.put(
            f"/companies/{company_id}/booth/profile",
            {
                "introduction": "数字服务, all year.",
                "website": "https://example.com",
                "logo": image["sha256"],
            },
        )
    )
    start = datetime.now(UTC) + timedelta(days=3)
    contents = [
        {"kind": "news", "title": "We are at CIFTIS", "body": "Hall E1, booth 101."},
        {"kind": "image", "title": "Our booth", "file": image["sha256"]},
        {"kind": "document", "title": "Brochure", "file": doc["sha256"]},
        {
            "kind": "activity",
            "title": "Live demo",
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
            "where": "online",
            "link": "https://meet.example.com/demo",
        },
        {"kind": "poster", "title": "Digital trust", "file": image["sha256"]},
    ]
    created = [await draft(staff, company_id, c) for c in contents]
    assert all(c["status"] == "draft" for c in created)
    # Drafts are invisible to visitors, on the page and one by one.
    assert error(await visitor.get(f"/booth-items/{created[0]['item_id']}")) == (
        404,
        "item_not_found",
    )
    organiser = service.user("recruitment")
    for item in [*created, {"item_id": f"profile-{company_id}"}]:
        ok(await staff.post(f"/booth-items/{item['item_id']}/publish"))
        ok(await organiser.post(f"/booth-items/{item['item_id']}/approve", {"revision": 1}))
    ok(await staff.post(f"/booth-items/{created[4]['item_id']}/unpublish"))

    page = await eventually(
        lambda: visitor.get(f"/companies/{company_id}/booth"),
        lambda r: (
            r.json()["profile"] is not None
            and len(r.json()["news"]) == 1
            and r.json()["posters"] == []
            and len(r.json()["activities"]) == 1
        ),
        what="the published page",
    )
    body = page.json()
    assert body["profile"]["content"]["logo"]["sha256"] == image["sha256"]
    assert [d["content"]["title"] for d in body["documents"]] == ["Brochure"]
    assert body["images"][0]["content"]["file"]["content_type"] == "image/png"
    staff_view = await eventually(
        lambda: staff.get(f"/companies/{company_id}/booth/items?status=unpublished"),
        lambda r: len(r.json()) == 1,
        what="the unpublished poster in the staff's list",
    )
    assert staff_view.json()[0]["kind"] == "poster"
    assert error(await visitor.get(f"/companies/{company_id}/booth/items")) == (403, "missing_role")

    # A revision of a published item shows once the organiser approves it.
    news_id = created[0]["item_id"]
    revised = ok(
        await staff.put(
            f"/booth-items/{news_id}",
            {"content": {"kind": "news", "title": "We are at CIFTIS 2021", "body": "E1-101"}},
        )
    )
    assert revised["status"] == "published" and revised["review"] == "pending"
    ok(await organiser.post(f"/booth-items/{news_id}/approve", {"revision": 2}))
    await eventually(
        lambda: visitor.get(f"/companies/{company_id}/booth"),
        lambda r: r.json()["news"][0]["content"]["title"] == "We are at CIFTIS 2021",
        what="the revised news on the page",
    )

    # Downloading the brochure is recorded for visitors, and becomes a lead.
    got = await visitor.get(f"/booth-items/{created[2]['item_id']}/file")
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    download_id = got.headers["x-download-id"]
    own = await staff.get(f"/booth-items/{created[2]['item_id']}/file")
    assert own.status_code == 200 and "x-download-id" not in own.headers
    lead = ok(
        await staff.post(
            f"/companies/{company_id}/leads", {"source": {"kind": "download", "ref": download_id}}
        ),
        201,
    )
    assert lead["contact"] == visitor.subject


async def test_uploads_and_items_refuse_what_does_not_fit(service: Service) -> None:
    staff = service.user("exhibitor")
    company_id, _ = await new_company(service, staff)
    outsider = service.user("exhibitor")
    assert error(
        await upload(staff, company_id, b"MZ\x90\x00 exe", "application/octet-stream")
    ) == (
        415,
        "unsupported_media_type",
    )
    assert error(await upload(staff, company_id, PDF, "image/png")) == (
        415,
        "unsupported_media_type",
    )
    too_big = b"%PDF-1.7\n" + b"\x00" * (20 * 1024 * 1024)
    assert error(await upload(staff, company_id, too_big, "application/pdf")) == (
        413,
        "file_too_large",
    )
    assert error(await upload(outsider, company_id, PNG, "image/png")) == (403, "not_company_staff")
    # 6 MiB passes the upload but not the gallery's 5 MiB; a PDF is no gallery image.
    big_png = ok(
        await upload(staff, company_id, PNG + b"\x00" * (6 * 1024 * 1024), "image/png"), 201
    )
    doc = ok(await upload(staff, company_id, PDF, "application/pdf"), 201)
    path = f"/companies/{company_id}/booth/items"
    cases: list[tuple[dict[str, Any], tuple[int, str]]] = [
        ({"kind": "image", "title": "x", "file": big_png["sha256"]}, (413, "file_too_large")),
        ({"kind": "image", "title": "x", "file": doc["sha256"]}, (415, "unsupported_media_type")),
        ({"kind": "image", "title": "x", "file": "0" * 64}, (404, "file_not_found")),
        ({"kind": "image", "title": "x", "file": "not-a-hash"}, (422, "invalid_request")),
        ({"kind": "video", "title": "x"}, (422, "invalid_request")),
        ({"kind": "news", "title": " ", "body": "x"}, (422, "invalid_request")),
        (
            {
                "kind": "activity",
                "title": "x",
                "starts_at": "2031-09-03T10:00:00Z",
                "ends_at": "2031-09-03T09:00:00Z",
                "where": "booth",
            },
            (422, "invalid_request"),
        ),
    ]
    for content, expected in cases:
        assert error(await staff.post(path, {"content": content})) == expected, content
    news = await draft(staff, company_id, {"kind": "news", "title": "t", "body": "b"})
    assert error(
        await staff.put(
            f"/booth-items/{news['item_id']}",
            {"content": {"kind": "poster", "title": "t", "file": doc["sha256"]}},
        )
    ) == (422, "kind_mismatch")
    assert error(await staff.post(f"/booth-items/{news['item_id']}/unpublish")) == (
        422,
        "illegal_transition",
    )
    assert error(await outsider.post(f"/booth-items/{news['item_id']}/publish")) == (
        403,
        "not_company_staff",
    )
    assert error(await staff.post("/booth-items/item-nope/publish")) == (404, "item_not_found")
    assert error(await staff.get(f"/booth-items/{news['item_id']}/file")) == (
        404,
        "file_not_found",
    )
