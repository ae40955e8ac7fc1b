"""The public online fair over HTTP, anonymous: moderation before anything goes public,
cacheable answers, search, booths learnt from booth sales through Kafka, no personal data."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from booths.domain import events as booths
from booths.domain.values import CancellationTier, ContractTerms, Quote
from fairline_events.consistency import TOKEN_HEADER
from fairline_events.registry import DomainEvent
from support.feed import Feed
from support.waiting import eventually

from .conftest import Service, User, credit_code, error, fresh, ok

pytestmark = pytest.mark.infra

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 512


def edition() -> str:
    return f"ciftis-{uuid.uuid4().hex[:8]}"


async def exhibit(
    service: Service,
    edition_code: str,
    *,
    name_zh: str,
    name_en: str,
    country: str = "CN",
    zone: str | None = None,
    theme: str | None = None,
    mode: str = "both",
    email: str | None = None,
    phone: str = "+86 10 6500 1234",
) -> tuple[str, str, User]:
    """An approved exhibitor of `edition_code`, placed in `zone`: (company, application, staff)."""
    owner = service.user("exhibitor")
    body = {
        "company": {
            "name_zh": name_zh,
            "name_en": name_en,
            "country_or_region": country,
            "sector": "digital services",
            "participation_mode": mode,
        },
        "contact": {
            "name": "Wang Fang",
            "email": email or f"{fresh('contact')}@example.com",
            "phone": phone,
        },
        "identity": {"credit_code": credit_code()},
    }
    application = ok(await owner.post(f"/editions/{edition_code}/applications", body), 201)
    application_id, company_id = application["application_id"], application["company_id"]
    ok(await owner.post(f"/applications/{application_id}/submit"))
    recruiter = service.user("recruitment")
    ok(await recruiter.post(f"/applications/{application_id}/review"))
    ok(await recruiter.post(f"/applications/{application_id}/approve", {}))
    if zone is not None:
        placement = {"zone": zone, "theme": theme, "venue": None if mode == "online" else "cncc"}
        ok(await recruiter.patch(f"/applications/{application_id}/participation", placement))
    return company_id, application_id, owner


async def public_page(
    service: Service, staff: User, company_id: str, introduction: str = "数字服务，全年在线。"
) -> None:
    """The company's profile, published and approved: its page is public."""
    ok(
        await staff.put(
            f"/companies/{company_id}/booth/profile",
            {"introduction": introduction, "introduction_en": "Digital services, all year."},
        )
    )
    ok(await staff.post(f"/booth-items/profile-{company_id}/publish"))
    organiser = service.user("recruitment")
    ok(await organiser.post(f"/booth-items/profile-{company_id}/approve", {"revision": 1}))


async def anonymous(service: Service, path: str, **kw: Any) -> httpx.Response:
    return await service.client.get(path, **kw)


async def test_nothing_goes_public_before_the_organiser_approves_it(service: Service) -> None:
    ed = edition()
    company_id, _, staff = await exhibit(service, ed, name_zh="奇安信", name_en="Qi An Xin")
    organiser = service.user("recruitment")
    page = f"/public/companies/{company_id}"

    # The profile, published but not reviewed: no page.
    ok(
        await staff.put(
            f"/companies/{company_id}/booth/profile", {"introduction": "网络安全，全年在线。"}
        )
    )
    ok(await staff.post(f"/booth-items/profile-{company_id}/publish"))
    await eventually(
        lambda: organiser.get(f"/moderation/booth-items?company_id={company_id}"),
        lambda r: (
            [(q["item_id"], q["revision"]) for q in r.json()] == [(f"profile-{company_id}", 1)]
        ),
        what="the profile in the moderators' queue",
    )
    assert error(await anonymous(service, page)) == (404, "page_not_found")
    # Returned with a reason: still nothing public, and the company reads why.
    returned = ok(
        await organiser.post(
            f"/booth-items/profile-{company_id}/return",
            {"revision": 1, "reason": "add an English introduction"},
        )
    )
    assert returned["returned_reason"] == "add an English introduction"
    ok(
        await staff.put(
            f"/companies/{company_id}/booth/profile",
            {"introduction": "网络安全，全年在线。", "introduction_en": "Cyber security."},
        )
    )
    # An approval of a revision the moderator did not see is refused.
    stale = await organiser.post(f"/booth-items/profile-{company_id}/approve", {"revision": 1})
    assert error(stale) == (409, "revised_since_review")
    assert error(
        await staff.post(f"/booth-items/profile-{company_id}/approve", {"revision": 2})
    ) == (
        403,
        "missing_role",
    )
    ok(await organiser.post(f"/booth-items/profile-{company_id}/approve", {"revision": 2}))
    shown = await eventually(
        lambda: anonymous(service, page),
        lambda r: r.status_code == 200,
        what="the approved page",
    )
    assert shown.json()["profile"]["content"]["introduction_en"] == "Cyber security."

    # An item: drafted and published, not public until approved.
    news = ok(
        await staff.post(
            f"/companies/{company_id}/booth/items",
            {"content": {"kind": "news", "title": "零信任发布", "body": "Zero trust, live."}},
        ),
        201,
    )
    item = f"/public/booth-items/{news['item_id']}"
    ok(await staff.post(f"/booth-items/{news['item_id']}/publish"))
    visitor = service.user("visitor")
    assert error(await anonymous(service, item)) == (404, "item_not_found")
    assert error(await visitor.get(f"/booth-items/{news['item_id']}")) == (404, "item_not_found")
    ok(await organiser.post(f"/booth-items/{news['item_id']}/approve", {"revision": 1}))
    await eventually(
        lambda: anonymous(service, page),
        lambda r: [n["content"]["title"] for n in r.json()["news"]] == ["零信任发布"],
        what="the approved news on the page",
    )

    # An edit stays private until approved; the approved version stays visible meanwhile.
    edited = ok(
        await staff.put(
            f"/booth-items/{news['item_id']}",
            {"content": {"kind": "news", "title": "零信任 2.0", "body": "Zero trust, again."}},
        )
    )
    assert edited["review"] == "pending" and edited["public"] is True
    await eventually(
        lambda: organiser.get(f"/moderation/booth-items?company_id={company_id}"),
        lambda r: [q["revision"] for q in r.json()] == [2],
        what="the edit in the moderators' queue",
    )
    for seen in (
        (await anonymous(service, item)).json()["content"],
        (await visitor.get(f"/booth-items/{news['item_id']}")).json()["content"],
        (await anonymous(service, page)).json()["news"][0]["content"],
    ):
        assert seen["title"] == "零信任发布"
    ok(await organiser.post(f"/booth-items/{news['item_id']}/approve", {"revision": 2}))
    await eventually(
        lambda: anonymous(service, item),
        lambda r: r.json()["content"]["title"] == "零信任 2.0",
        what="the approved edit",
    )

    # A takedown hides it at once (the organiser's answer is the new state), who and why kept.
    down = ok(
        await organiser.post(
            f"/booth-items/{news['item_id']}/take-down", {"reason": "unverified claims"}
        )
    )
    assert down["public"] is False and down["taken_down_reason"] == "unverified claims"
    assert error(await visitor.get(f"/booth-items/{news['item_id']}")) == (404, "item_not_found")
    await eventually(
        lambda: anonymous(service, item),
        lambda r: r.status_code == 404,
        within=10,
        what="the item gone from the public side",
    )
    assert (await anonymous(service, page)).json()["news"] == []
    staff_list = await eventually(
        lambda: staff.get(f"/companies/{company_id}/booth/items?kind=news"),
        lambda r: r.json()[0]["moderation_reason"] == "unverified claims",
        what="the takedown in the staff's list",
    )
    assert staff_list.json()[0]["moderated_by"] == organiser.subject


def validators(response: httpx.Response) -> dict[str, str]:
    """The headers a 304 must repeat from its 200 (RFC 9110): all but the body's own
    and the connection's."""
    own = {"content-length", "content-type", "content-encoding", "date", "server"}
    return {k: v for k, v in response.headers.items() if k not in own}


async def not_modified_by_route(service: Service) -> dict[str, float]:
    """The 304s the service's metrics counted, by route template."""
    metrics = (await anonymous(service, "/metrics")).text
    counted = {
        "/public/companies/{company_id}": 0.0,
        "/public/editions/{edition_code}": 0.0,
        "/public/editions/{edition_code}/exhibitors": 0.0,
    }
    for route in counted:
        line = f'fairline_http_requests_total{{method="GET",route="{route}",status="304"}} '
        for row in metrics.splitlines():
            if row.startswith(line):
                counted[route] = float(row.removeprefix(line))
    return counted


async def test_conditional_gets_answer_304_and_a_change_a_new_etag(service: Service) -> None:
    ed = edition()
    company_id, _, staff = await exhibit(
        service,
        ed,
        name_zh="京东",
        name_en="JD.com",
        zone="digital-services",
        theme="transformation",
    )
    await public_page(service, staff, company_id)
    paths = [
        f"/public/companies/{company_id}",
        f"/public/editions/{ed}",
        f"/public/editions/{ed}/exhibitors?exhibition=digital-services",
    ]
    first = await eventually(
        lambda: anonymous(service, paths[0]), lambda r: r.status_code == 200, what="the page"
    )
    stamps = service.app.state.read_stamps["exhibitors_public"]

    async def listening() -> object:
        return stamps.listening

    await eventually(listening, lambda conn: conn is not None, what="the stamps' listener")
    revalidations = service.app.state.revalidations
    answered = revalidations.answered
    counted = await not_modified_by_route(service)
    cache_controls = set()
    for path in paths:
        for encoding in ("gzip, deflate", "identity"):
            asks = {"Accept-Encoding": encoding}
            got = await anonymous(service, path, headers=asks)
            assert got.status_code == 200, got.text
            etag, modified = got.headers["etag"], got.headers["last-modified"]
            cache_controls.add(got.headers["cache-control"])
            again = await anonymous(service, path, headers={**asks, "If-None-Match": etag})
            assert again.status_code == 304 and again.content == b""
            # the same ETag, Last-Modified, Cache-Control, Vary and security headers
            assert validators(again) == validators(got)
            since = await anonymous(service, path, headers={**asks, "If-Modified-Since": modified})
            assert since.status_code == 304 and validators(since) == validators(got)
    assert len(cache_controls) == 3  # per resource: pages, halls, listings
    assert first.headers["cache-control"] == "public, no-cache"
    # each was answered before routing, from the kept stamp (no query, no validation)
    assert revalidations.answered == answered + 2 * 2 * len(paths)
    # and counted by their route, as any answer
    assert await not_modified_by_route(service) == {
        route: count + 2 * 2 for route, count in counted.items()
    }

    # A change the public sees: 200 with a new ETag.
    etag = first.headers["etag"]
    news = ok(
        await staff.post(
            f"/companies/{company_id}/booth/items",
            {"content": {"kind": "news", "title": "京东云", "body": "JD Cloud."}},
        ),
        201,
    )
    ok(await staff.post(f"/booth-items/{news['item_id']}/publish"))
    organiser = service.user("recruitment")
    approval = await organiser.post(f"/booth-items/{news['item_id']}/approve", {"revision": 1})
    token = {TOKEN_HEADER: approval.headers[TOKEN_HEADER]}
    # The organiser's own read after the approval (its consistency token): the new page at
    # once, never the old copy's 304.
    mine = await anonymous(service, paths[0], headers={"If-None-Match": etag, **token})
    assert mine.status_code == 200 and mine.headers["etag"] != etag
    assert [n["content"]["title"] for n in mine.json()["news"]] == ["京东云"]
    # and the route's own 304 (the token reads the stamp afresh) has the same headers
    route = await anonymous(
        service, paths[0], headers={"If-None-Match": mine.headers["etag"], **token}
    )
    assert route.status_code == 304 and validators(route) == validators(mine)
    changed = await eventually(
        lambda: anonymous(service, paths[0], headers={"If-None-Match": etag}),
        lambda r: r.status_code == 200 and r.json()["news"] != [],
        within=10,  # well before the kept stamp's safety expiry: the notification moved it
        what="the page changed",
    )
    assert stamps.listening is not None
    assert changed.headers["etag"] == mine.headers["etag"] != etag
    assert [n["content"]["title"] for n in changed.json()["news"]] == ["京东云"]


async def test_search_finds_by_name_pinyin_english_sector_and_hall(service: Service) -> None:
    ed = edition()
    huawei, _, huawei_staff = await exhibit(
        service, ed, name_zh="华为技术", name_en="Huawei", zone="digital-services", theme="trust"
    )
    bank, _, bank_staff = await exhibit(
        service, ed, name_zh="中国银行", name_en="Bank of China", zone="themed-finance"
    )
    await exhibit(
        service,
        ed,
        name_zh="澳门旅游",
        name_en="Macao Tourism",
        country="MO",
        zone="provinces-regions",
        mode="online",
    )
    # Huawei lists a service in the health care sector; it is found by that sector too.
    service_item = ok(
        await huawei_staff.post(
            f"/companies/{huawei}/booth/items",
            {
                "content": {
                    "kind": "service",
                    "title": "智慧医疗云",
                    "title_en": "Smart health cloud",
                    "sector": "health",
                }
            },
        ),
        201,
    )
    ok(await huawei_staff.post(f"/booth-items/{service_item['item_id']}/publish"))
    organiser = service.user("recruitment")
    ok(await organiser.post(f"/booth-items/{service_item['item_id']}/approve", {"revision": 1}))

    async def names(query: str) -> list[str]:
        got = await anonymous(service, f"/public/editions/{ed}/exhibitors?{query}")
        assert got.status_code == 200, got.text
        return [e["name_en"] for e in got.json()["items"]]

    await eventually(lambda: names(""), lambda n: len(n) == 3, what="three exhibitors listed")
    assert await names("q=为技") == ["Huawei"]  # a Chinese substring
    assert await names("q=huawei") == ["Huawei"]  # pinyin, any case
    assert await names("q=zgyh") == ["Bank of China"]  # pinyin initials
    assert await names("q=BANK%20of") == ["Bank of China"]  # English, any case
    assert await names("q=100%25") == []  # a LIKE wildcard is taken literally
    await eventually(
        lambda: names("sector=health"), lambda n: n == ["Huawei"], what="found by sector"
    )
    assert await names("sector=finance") == ["Bank of China"]  # its themed exhibition
    assert await names("exhibition=digital-services&theme=trust") == ["Huawei"]
    assert await names("country_or_region=mo") == ["Macao Tourism"]
    assert await names("mode=online") == ["Bank of China", "Huawei", "Macao Tourism"]
    assert await names("mode=offline") == ["Bank of China", "Huawei"]
    paged = (
        await anonymous(service, f"/public/editions/{ed}/exhibitors?page=2&page_size=2")
    ).json()
    assert (paged["total"], len(paged["items"]), paged["page"]) == (3, 1, 2)
    services = await eventually(
        lambda: anonymous(service, "/public/services?sector=health&q=智慧"),
        lambda r: any(s["company_id"] == huawei for s in r.json()["items"]),
        what="the service in the catalogue",
    )
    entry = next(s for s in services.json()["items"] if s["company_id"] == huawei)
    assert (entry["name_en"], entry["sector_en"]) == ("Huawei", "Health care")
    halls = (await anonymous(service, f"/public/editions/{ed}")).json()
    counts = {e["code"]: e["exhibitors"] for e in halls["exhibitions"]}
    assert counts["digital-services"] == 1 and counts["themed-finance"] == 1
    assert {p["code"]: p["exhibitors"] for p in halls["exhibitions"][3]["parts"]}["trust"] == 1
    assert len(halls["exhibitions"]) == 13 and len(halls["sectors"]) == 8
    # the hall filter: by booths bought (see the booth-sales test); none here
    assert await names("hall=E1") == []
    assert error(await anonymous(service, f"/public/editions/{ed}/exhibitors?q=%00")) == (
        422,
        "invalid_request",
    )
    del bank, bank_staff


# --- booths from booth sales, through Kafka --------------------------------------------------


class BoothSales(Feed):
    """Publishes the booths service's own events on its topic, as its relay would."""

    def __init__(self, service: Service) -> None:
        super().__init__(service.settings, "booths", booths.registry, actor="user:sales-1")

    async def send(self, *events: booths.BoothsEvent) -> None:
        """Each event on its own stream, in order."""
        await self.publish(*((event.stream_id(), event) for event in events))


def terms(contract_id: str, exhibitor_id: str) -> ContractTerms:
    quote = Quote(
        rule_version=1,
        booth_type="shell_scheme",
        zone_code="digital-services",
        area_m2=Decimal(9),
        rate_fen_per_m2=150_000,
        base_fen=1_350_000,
        open_sides="row",
        surcharge_bp=0,
        surcharge_fen=0,
        early_bird=False,
        early_bird_discount_bp=0,
        discount_fen=0,
        total_fen=1_350_000,
        deposit_fen=405_000,
        quoted_on=date(2031, 3, 1),
    )
    return ContractTerms(
        contract_id=contract_id,
        exhibitor_id=exhibitor_id,
        quote=quote,
        opens_on=date(2031, 9, 2),
        cancellation=(CancellationTier(days_before_opening=30, fee_bp=3000),),
    )


async def test_a_booth_bought_in_booth_sales_shows_on_the_public_page_and_moves(
    service: Service,
) -> None:
    ed = edition()
    company_id, application_id, staff = await exhibit(
        service, ed, name_zh="百度", name_en="Baidu", mode="offline"
    )
    await public_page(service, staff, company_id)
    feed = BoothSales(service)
    spec = {
        "venue_code": "cncc",
        "zone_code": "digital-services",
        "booth_type": "shell_scheme",
        "area_m2": Decimal(9),
    }
    contract = f"contract-{uuid.uuid4().hex[:8]}"
    events: list[DomainEvent] = [
        booths.VenueAdded(
            edition_code=ed,
            venue_code="cncc",
            name_zh="国家会议中心",
            name_en="China National Convention Center",
            kind="convention_center",
        ),
        booths.HallAdded(
            edition_code=ed,
            venue_code="cncc",
            hall_code="E1",
            name_zh="E1馆",
            name_en="Hall E1",
            structure="permanent",
            certification_required=False,
        ),
        booths.BoothAdded(edition_code=ed, booth_code="E1-101", spec={**spec, "hall_code": "E1"}),
        booths.BoothAdded(edition_code=ed, booth_code="E1-205", spec={**spec, "hall_code": "E1"}),
        booths.BoothHeld(
            edition_code=ed,
            booth_code="E1-101",
            exhibitor_id=application_id,
            expires_at=datetime(2031, 3, 4, tzinfo=UTC),
            quote=terms(contract, application_id).quote,
        ),
    ]
    await feed.send(*events)  # type: ignore[arg-type]
    page = f"/public/companies/{company_id}"

    async def booth() -> Any:
        got = await anonymous(service, page)
        return got.json()["current"]["booth"] if got.status_code == 200 else "no page"

    assert await eventually(booth, lambda b: b != "no page", what="the page") is None  # a hold
    await feed.send(
        booths.BoothReserved(
            edition_code=ed, booth_code="E1-101", terms=terms(contract, application_id)
        ),
        booths.BoothConfirmed(edition_code=ed, booth_code="E1-101", contract_id=contract),
    )
    shown = await eventually(
        booth, lambda b: b is not None and b["confirmed"], what="the confirmed booth"
    )
    assert shown == {
        "venue_code": "cncc",
        "venue_zh": "国家会议中心",
        "venue_en": "China National Convention Center",
        "hall_code": "E1",
        "hall_zh": "E1馆",
        "hall_en": "Hall E1",
        "booth_code": "E1-101",
        "confirmed": True,
    }
    listed = await anonymous(service, f"/public/editions/{ed}/exhibitors?hall=E1")
    assert [e["booth"]["booth_code"] for e in listed.json()["items"]] == ["E1-101"]
    # Found in the exhibition of its booth's zone when the organiser placed it nowhere.
    in_zone = await anonymous(
        service, f"/public/editions/{ed}/exhibitors?exhibition=digital-services"
    )
    assert [e["company_id"] for e in in_zone.json()["items"]] == [company_id]

    # A move: the page follows the contract to its new booth (confirmation redone).
    await feed.send(
        booths.ContractMovedOut(
            edition_code=ed,
            booth_code="E1-101",
            contract_id=contract,
            exhibitor_id=application_id,
            to_booth_code="E1-205",
            reason="a larger booth",
        ),
        booths.ContractMovedIn(
            edition_code=ed,
            booth_code="E1-205",
            terms=terms(contract, application_id),
            from_booth_code="E1-101",
            paid_total_fen=405_000,
            stage="deposit_paid",
        ),
    )
    moved = await eventually(
        booth, lambda b: b is not None and b["booth_code"] == "E1-205", what="the new booth"
    )
    assert moved["confirmed"] is False
    # A cancellation takes it off the page.
    await feed.send(
        booths.ContractCancelled(
            edition_code=ed,
            booth_code="E1-205",
            contract_id=contract,
            exhibitor_id=application_id,
            reason="withdrew",
            price_fen=1,
            fee_bp=0,
            fee_fen=0,
            paid_fen=0,
            refund_due_fen=0,
            owed_fen=0,
        ),
    )
    await eventually(booth, lambda b: b is None, what="the booth gone after cancellation")

    # An online package bought in booth sales shows too, and makes the exhibitor online.
    await feed.send(
        booths.OnlinePackageDefined(
            edition_code=ed, tier="A", name_zh="云展位A", name_en="Online booth A"
        ),
        booths.OnlineBoothOrdered(
            edition_code=ed,
            order_id=f"order-{uuid.uuid4().hex[:8]}",
            exhibitor_id=application_id,
            tier="A",
            price_fen=3_000_000,
            rule_version=1,
        ),
    )
    current = await eventually(
        lambda: anonymous(service, page),
        lambda r: r.json()["current"]["online_package"] is not None,
        what="the online package on the page",
    )
    assert current.json()["current"]["online_package"] == {
        "tier": "A",
        "name_zh": "云展位A",
        "name_en": "Online booth A",
    }
    online = await anonymous(service, f"/public/editions/{ed}/exhibitors?mode=online")
    assert [e["company_id"] for e in online.json()["items"]] == [company_id]


# --- personal data ----------------------------------------------------------------------------


async def test_no_personal_data_in_any_public_response(service: Service) -> None:
    ed = edition()
    marker = uuid.uuid4().hex[:8]
    emails = [f"ceo-{marker}@meituan.example.com", f"sales-{marker}@alibaba.example.com"]
    phones = ["+86 10 8765 4321", "+86 21 5555 0199"]
    meituan, _, meituan_staff = await exhibit(
        service,
        ed,
        name_zh="美团",
        name_en="Meituan",
        zone="digital-services",
        theme="experience",
        email=emails[0],
        phone=phones[0],
    )
    alibaba, _, alibaba_staff = await exhibit(
        service,
        ed,
        name_zh="阿里巴巴",
        name_en="Alibaba",
        zone="digital-services",
        theme="governance",
        email=emails[1],
        phone=phones[1],
    )
    # The staff's business cards, and an accepted exchange between them (contacts flow there).
    for staff, email, phone in (
        (meituan_staff, emails[0], phones[0]),
        (alibaba_staff, emails[1], phones[1]),
    ):
        card = {"name": "Zhang Wei", "email": email, "phone": phone, "organisation": "x"}
        ok(await staff.put("/me/card", card))
    for company_id, staff in ((meituan, meituan_staff), (alibaba, alibaba_staff)):
        await public_page(service, staff, company_id)
        image = ok(
            await staff.post(
                f"/companies/{company_id}/files", content=PNG, headers={"Content-Type": "image/png"}
            ),
            201,
        )
        for content in (
            {"kind": "image", "title": "展台", "file": image["sha256"]},
            {"kind": "service", "title": "外卖", "sector": "culture-tourism"},
        ):
            item = ok(
                await staff.post(f"/companies/{company_id}/booth/items", {"content": content}), 201
            )
            ok(await staff.post(f"/booth-items/{item['item_id']}/publish"))
            organiser = service.user("recruitment")
            ok(await organiser.post(f"/booth-items/{item['item_id']}/approve", {"revision": 1}))

    await eventually(
        lambda: anonymous(service, f"/public/companies/{alibaba}"),
        lambda r: r.status_code == 200 and len(r.json()["services"]) == 1,
        what="both pages public",
    )
    paths = [
        f"/public/editions/{ed}",
        f"/public/editions/{ed}/exhibitors",
        f"/public/editions/{ed}/exhibitors?q=mei",
        "/public/services?sector=culture-tourism&page_size=100",
        f"/public/companies/{meituan}",
        f"/public/companies/{alibaba}",
    ]
    seen: list[str] = []
    for path in paths:
        got = await anonymous(service, path)
        assert got.status_code == 200, (path, got.text)
        seen.append(got.text)
        body = got.json()
        for kind in ("news", "images", "services", "documents"):
            for entry in body.get(kind, []):
                one = await anonymous(service, f"/public/booth-items/{entry['item_id']}")
                assert one.status_code == 200
                seen.append(one.text)
                if entry["file"] is not None:
                    got_file = await anonymous(service, entry["file"]["url"])
                    assert got_file.status_code == 200 and got_file.content == PNG
    text = json.dumps(seen, ensure_ascii=False)
    digits = "".join(ch for ch in text if ch.isdigit())
    for email in emails:
        assert email not in text
    for phone in phones:
        assert phone not in text and "".join(c for c in phone if c.isdigit()) not in digits
    assert "Wang Fang" not in text and "Zhang Wei" not in text
    # Only reads are anonymous: what visitors do needs a login.
    for method, path in (
        ("PUT", "/me/card"),
        ("POST", "/card-exchanges"),
        ("GET", f"/booth-items/profile-{meituan}/file"),
        ("POST", f"/companies/{meituan}/booth/items"),
    ):
        refused = await service.client.request(method, path, json={})
        assert refused.status_code == 401, (method, path, refused.status_code)


async def test_racing_moderation_and_edits_never_publish_an_unreviewed_revision(
    service: Service,
) -> None:
    ed = edition()
    company_id, _, staff = await exhibit(service, ed, name_zh="网易", name_en="NetEase")
    await public_page(service, staff, company_id)
    news = ok(
        await staff.post(
            f"/companies/{company_id}/booth/items",
            {"content": {"kind": "news", "title": "v1", "body": "first"}},
        ),
        201,
    )
    item_id = news["item_id"]
    ok(await staff.post(f"/booth-items/{item_id}/publish"))
    first, second = service.user("recruitment"), service.user("recruitment")
    # Two moderators decide revision 1 at once while the company edits it.
    approve, give_back, edit = await asyncio.gather(
        first.post(f"/booth-items/{item_id}/approve", {"revision": 1}),
        second.post(f"/booth-items/{item_id}/return", {"revision": 1, "reason": "typo"}),
        staff.put(
            f"/booth-items/{item_id}",
            {"content": {"kind": "news", "title": "v2", "body": "unreviewed"}},
        ),
    )
    assert edit.status_code == 200
    decided = [r for r in (approve, give_back) if r.status_code == 200]
    refused = {error(r)[1] for r in (approve, give_back) if r.status_code != 200}
    # at most one moderator decides revision 1; a loser hears why, never a 500
    assert len(decided) <= 1 and refused <= {"not_awaiting_review", "revised_since_review"}
    final = ok(await staff.get(f"/booth-items/{item_id}"))
    assert final["revision"] == 2 and final["review"] == "pending"
    if approve.status_code == 200:  # the approved v1 goes public, v2 waits
        public = await eventually(
            lambda: anonymous(service, f"/public/booth-items/{item_id}"),
            lambda r: r.status_code == 200,
            what="the approved revision public",
        )
        assert public.json()["content"]["title"] == "v1"
    else:
        public = await anonymous(service, f"/public/booth-items/{item_id}")
        assert public.status_code == 404
    # whatever the order, the unreviewed v2 is nowhere on the public side
    page = await anonymous(service, f"/public/companies/{company_id}")
    assert "unreviewed" not in page.text and "unreviewed" not in public.text


async def test_bad_public_queries_are_422_never_500(service: Service) -> None:
    for path in (
        "/public/editions/NOT AN EDITION",
        "/public/editions/ciftis-2021/exhibitors?page=0",
        "/public/editions/ciftis-2021/exhibitors?page_size=101",
        "/public/editions/ciftis-2021/exhibitors?sector=mining",
        "/public/editions/ciftis-2021/exhibitors?theme=space",
        "/public/editions/ciftis-2021/exhibitors?country_or_region=CHN",
        f"/public/editions/ciftis-2021/exhibitors?q={'x' * 101}",
        "/public/editions/ciftis-2021/exhibitors?exhibition=%00",
        "/public/services?page=99999999999999999999",
    ):
        got = await anonymous(service, path)
        assert got.status_code == 422, (path, got.status_code, got.text)
    for path in ("/public/companies/%00", "/public/booth-items/nope", "/public/companies/x" * 20):
        got = await anonymous(service, path)
        assert got.status_code in (404, 422), (path, got.status_code)


async def test_a_company_page_outlives_an_edition_with_its_participations(
    service: Service,
) -> None:
    fair = f"fair{uuid.uuid4().hex[:6]}"
    before, now = f"{fair}-2021", f"{fair}-2022"
    company_id, _, staff = await exhibit(
        service, before, name_zh="特斯拉", name_en="Tesla", country="US", zone="country-exhibitions"
    )
    await public_page(service, staff, company_id)
    # The next edition: the same company takes part again, with the same page and catalogue.
    contact = {"name": "Li Na", "email": f"{fresh('li')}@example.com", "phone": "+1 650 555 0100"}
    again = ok(
        await staff.post(
            f"/companies/{company_id}/participations",
            {"edition_code": now, "participation_mode": "online", "contact": contact},
        ),
        201,
    )
    application_id = again["application_id"]
    ok(await staff.post(f"/applications/{application_id}/submit"))
    recruiter = service.user("recruitment")
    ok(await recruiter.post(f"/applications/{application_id}/review"))
    ok(await recruiter.post(f"/applications/{application_id}/approve", {}))
    page = f"/public/companies/{company_id}"
    shown = await eventually(
        lambda: anonymous(service, page),
        lambda r: r.status_code == 200 and len(r.json()["participations"]) == 2,
        what="both participations on the page",
    )
    body = shown.json()
    assert [p["edition_code"] for p in body["participations"]] == [now, before]
    assert body["current"]["edition_code"] == now and body["current"]["online"] is True
    assert body["profile"] is not None  # the page carried over: approved once
    earlier = (await anonymous(service, f"{page}?edition_code={before}")).json()
    assert earlier["current"]["exhibition"] == "country-exhibitions"
    # each edition's hall lists it
    for edition_code in (before, now):
        listed = await anonymous(service, f"/public/editions/{edition_code}/exhibitors?q=tesla")
        assert [e["company_id"] for e in listed.json()["items"]] == [company_id]
