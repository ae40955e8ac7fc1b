"""A package's launch slot through the forums service and its booth discount through the booths
service, over HTTP and Kafka, both ways: confirmed (delivered with the other service's proof)
or refused (failed with its own reason), shown on the sponsor's checklist; each answer given
once however often the request or the answer is replayed, and across restarts of either side.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime, time, timedelta, timezone
from typing import Any

import asyncpg
import httpx
import pytest
from booths.service import definition as booths_definition
from e2e.booths.harness import Api as BoothsApi
from e2e.booths.harness import ExhibitorFeed, add_booths, admitted, open_edition
from fairline_events.service import ServiceDefinition, build_app
from fairline_events.settings import ServiceSettings
from forums.service import definition as forums_definition
from sponsorship.service import definition as sponsorship_definition
from support.serving import serving
from support.waiting import eventually

from .conftest import EDITION, FAIR, Api, day

pytestmark = pytest.mark.infra

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")

PARTNER = {
    "name": "partner",
    "quantity": 5,
    "price_fen": 100_000_000,
    "benefits": [
        {"kind": "launch_slot", "detail": "45 minutes, CNCC launch hall"},
        {"kind": "booth_discount", "quantity": 30, "detail": "percent off"},
    ],
}
CONTRACT = {"contract_no": "SP-P", "instalments": [
    {"due_on": "2021-07-01", "amount_fen": 100_000_000}]}  # fmt: skip
LAUNCH_HALL = {"room_code": "launch-hall", "venue": "cncc", "name_zh": "发布厅",
               "name_en": "Launch Hall", "capacity": 200, "setup_buffer_minutes": 10,
               "equipment": ["launch-stage", "streaming"]}  # fmt: skip
LAUNCH_KIND = {"name_zh": "成果发布", "name_en": "launch", "default_minutes": 45,
               "equipment": ["launch-stage"], "formats": ["in_person", "hybrid"]}  # fmt: skip


class Platform:
    """Services started and stopped at will on one test's databases and topics, as their own
    processes would be (each a fresh app: a restart keeps only what PostgreSQL and Kafka hold).
    """

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.running: dict[str, tuple[AbstractAsyncContextManager[httpx.AsyncClient], Any]] = {}

    async def start(self, definition: ServiceDefinition) -> tuple[httpx.AsyncClient, Any]:
        app = build_app(definition, self.settings)
        server = serving(app, max_connections=50)
        client = await server.__aenter__()
        self.running[definition.name] = (server, app)
        return client, app

    async def stop(self, name: str) -> None:
        server, _ = self.running.pop(name)
        await server.__aexit__(None, None, None)

    async def sponsorship(self) -> Api:
        client, app = await self.start(sponsorship_definition)
        api = Api(client, app)
        await api.ok("PUT", f"/editions/{EDITION}/tiers/partner", "team", json=PARTNER)
        return api

    async def forums(self) -> Callable[..., Any]:
        """The forums service with a launch hall and the launch kind; its team's caller."""
        client, app = await self.start(forums_definition)
        team = {"Authorization": f"Bearer {app.state.token_issuer.issue('t-1', ['forums_team'])}"}

        async def call(method: str, path: str, **kw: Any) -> httpx.Response:
            return await client.request(method, path, headers=team, **kw)

        return call

    async def booths(self) -> BoothsApi:
        client, app = await self.start(booths_definition)
        return BoothsApi(client, app)

    def database(self, service: str) -> str:
        return self.settings.service_database_url(service)

    async def close(self) -> None:
        for name in list(self.running):
            await self.stop(name)


@pytest.fixture
async def platform(settings: ServiceSettings) -> AsyncIterator[Platform]:
    running = Platform(settings)
    try:
        yield running
    finally:
        await running.close()


async def count(database: str, sql: str, *args: Any) -> int:
    connection = await asyncpg.connect(database)
    try:
        return int(await connection.fetchval(sql, *args))
    finally:
        await connection.close()


async def events_of(platform: Platform, service: str, event_type: str) -> int:
    return await count(platform.database(service),
                       "SELECT count(*) FROM events WHERE event_type = $1", event_type)  # fmt: skip


async def set_up_forums(platform: Platform, feed: ExhibitorFeed) -> Callable[..., Any]:
    forums = await platform.forums()
    assert (await forums("POST", f"/editions/{EDITION}/rooms", json=LAUNCH_HALL)).status_code == 201
    kind = await forums("PUT", f"/editions/{EDITION}/kinds/launch", json=LAUNCH_KIND)
    assert kind.status_code == 200, kind.text
    await feed.approve("app-huawei")
    await eventually(lambda: events_of(platform, "forums", "forums.ExhibitorApproved"),
                     lambda n: n == 1, within=30, what="Huawei approved at forums")  # fmt: skip
    return forums


async def set_up_booths(platform: Platform, feed: ExhibitorFeed) -> BoothsApi:
    """CIFTIS with booth E1-101 under contract for Huawei; JD approved with nothing signed."""
    booths = await platform.booths()
    await open_edition(booths)
    await add_booths(booths, "E1", ["E1-101"])
    await feed.approve("app-huawei", "app-jd")
    await admitted(booths, 2)
    e = f"/editions/{EDITION}/booths/E1-101"
    await booths.ok("POST", f"{e}/hold", "sales", json={"exhibitor_id": "app-huawei"})
    await booths.ok("POST", f"{e}/reserve", "sales", json={"contract_id": "c-huawei"})
    return booths


async def package(api: Api, sponsor: str, category: str) -> str:
    offered = await api.offer(tier_code="partner", sponsor_id=sponsor,
                              sponsor_name=sponsor.upper(), category=category)  # fmt: skip
    assert offered.status_code == 201, offered.text
    pid = str(offered.json()["package_id"])
    await api.ok("POST", f"/packages/{pid}/contract", "team", json=CONTRACT)
    return pid


async def ask(api: Api, pid: str, number: int, body: dict[str, Any]) -> None:
    await api.ok("POST", f"/packages/{pid}/benefits/{number}/request", "team", json=body)


def launch(exhibitor: str) -> dict[str, Any]:
    return {"exhibitor_id": exhibitor, "launch": {"day": day(1), "title_zh": "新品发布",
                                                  "title_en": "New product launch"}}  # fmt: skip


async def settled(api: Api, pid: str, sponsor: str, number: int, standing: str) -> Any:
    """The sponsor's own checklist, once the benefit stands so."""

    async def probe() -> Any:
        return await api.read(f"/sponsors/{sponsor}/checklist", sponsor)

    def stands(lists: Any) -> bool:
        mine = [c for c in lists or [] if c["package_id"] == pid]
        return bool(mine) and mine[0]["items"][number - 1]["standing"] == standing

    lists = await eventually(probe, stands, within=60, what=f"benefit {number} {standing}")
    return next(c for c in lists if c["package_id"] == pid)["items"][number - 1]


async def huaweis_launch(
    platform: Platform, settings: ServiceSettings
) -> tuple[Api, Callable[..., Any], str, Any]:
    """Sponsorship and forums up, Huawei's package signed and its launch slot delivered: the
    sponsorship API, the forums team's caller, the package and the benefit as delivered."""
    api = await platform.sponsorship()
    forums = await set_up_forums(platform, ExhibitorFeed(settings))
    pid = await package(api, "huawei", "telecoms")
    await ask(api, pid, 1, launch("app-huawei"))
    return api, forums, pid, await settled(api, pid, "huawei", 1, "delivered")


async def rebuild(app: Any, projection: str) -> None:
    """Replay every record of the policy's topic through it again, as a redelivery of all."""
    runtime = app.state.runtime
    [found] = [p for p in runtime.definition.projections if p.name == projection]
    await runtime.runner(found).rebuild()


async def test_a_launch_slot_booked_by_forums_and_one_refused_with_the_forums_reason(
    platform: Platform, settings: ServiceSettings
) -> None:
    api, forums, huawei, delivered = await huaweis_launch(platform, settings)
    forum_id = f"sponsor-{huawei}-1"
    hours = f"{(FAIR + timedelta(days=1)).isoformat()} 09:00–09:45 (Beijing time)"
    assert delivered["note"] == f"forums launch {forum_id} in launch-hall, {hours}"

    async def hall() -> list[Any]:
        shown = await forums("GET", f"/editions/{EDITION}/rooms/launch-hall/schedule")
        return list(shown.json()) if shown.status_code == 200 else []

    [slot] = await eventually(hall, bool, within=30, what="the launch in the hall's schedule")
    assert (slot["forum_id"], slot["kind"], slot["published"]) == (forum_id, "launch", False)

    # Tencent is not (yet) an approved exhibitor: forums refuses, in its own words
    tencent = await package(api, "tencent", "gaming")
    await ask(api, tencent, 1, launch("app-tencent"))
    failed = await settled(api, tencent, "tencent", 1, "failed")
    assert failed["note"] == (
        "company app-tencent is not an approved exhibitor of ciftis-2021; a company organises"
        " forums and launches once the exhibitors service approves it"
    )

    # every request and every answer applied again: nothing booked or settled twice
    before = await count(platform.database("forums"), "SELECT count(*) FROM events")
    settled_before = await count(platform.database("sponsorship"), "SELECT count(*) FROM events")
    await rebuild(platform.running["forums"][1], "forums_sponsorship")
    await rebuild(platform.running["sponsorship"][1], "sponsorship_forums")
    assert await count(platform.database("forums"), "SELECT count(*) FROM events") == before
    assert await count(platform.database("sponsorship"), "SELECT count(*) FROM events") == (
        settled_before
    )
    by_hand = await api.call("POST", f"/packages/{tencent}/benefits/1/deliver", "team",
                             json={"proof": "we found a slot"})  # fmt: skip
    assert by_hand.status_code == 409
    assert by_hand.json()["error"]["code"] == "delivered_by_another_service"


async def test_a_booth_discount_lowers_the_sponsors_contract_and_one_is_refused(
    platform: Platform, settings: ServiceSettings
) -> None:
    api = await platform.sponsorship()
    booths = await set_up_booths(platform, ExhibitorFeed(settings))
    booth = f"/editions/{EDITION}/booths/E1-101"
    price = (await booths.ok("GET", booth, "sales"))["contract"]["price_fen"]

    huawei = await package(api, "huawei", "telecoms")
    await ask(api, huawei, 2, {"exhibitor_id": "app-huawei"})
    delivered = await settled(api, huawei, "huawei", 2, "delivered")
    lowered = price * 70 // 100
    assert delivered["note"].startswith("booths discount of 30%: booth E1-101 (contract c-huawei)")
    assert f"→ ¥{lowered // 100:,}.{lowered % 100:02d}" in delivered["note"]
    contract = (await booths.ok("GET", booth, "sales"))["contract"]
    assert (contract["price_fen"], contract["outstanding_fen"]) == (lowered, lowered)

    jd = await package(api, "jd", "retail")
    await ask(api, jd, 2, {"exhibitor_id": "app-jd"})
    failed = await settled(api, jd, "jd", 2, "failed")
    assert failed["note"].startswith(
        "exhibitor app-jd holds no booth under contract in ciftis-2021"
    )

    # every request and every answer applied again: nothing lowered or settled twice
    adjusted = await events_of(platform, "booths", "booths.BoothPriceAdjusted")
    before = await count(platform.database("booths"), "SELECT count(*) FROM events")
    settled_before = await count(platform.database("sponsorship"), "SELECT count(*) FROM events")
    await rebuild(platform.running["booths"][1], "booths_sponsorship")
    await rebuild(platform.running["sponsorship"][1], "sponsorship_booths")
    assert await events_of(platform, "booths", "booths.BoothPriceAdjusted") == adjusted == 1
    assert await count(platform.database("booths"), "SELECT count(*) FROM events") == before
    assert await count(platform.database("sponsorship"), "SELECT count(*) FROM events") == (
        settled_before
    )
    assert (await booths.ok("GET", booth, "sales"))["contract"]["price_fen"] == lowered


async def test_restarts_of_either_side_mid_leg_still_deliver_exactly_once(
    platform: Platform, settings: ServiceSettings
) -> None:
    feed = ExhibitorFeed(settings)
    api = await platform.sponsorship()
    await set_up_forums(platform, feed)
    await set_up_booths(platform, feed)
    # the asked services go down; both benefits are asked while they are
    await platform.stop("forums")
    await platform.stop("booths")
    pid = await package(api, "huawei", "telecoms")
    await ask(api, pid, 1, launch("app-huawei"))
    await ask(api, pid, 2, {"exhibitor_id": "app-huawei"})
    requests = await count(
        platform.database("sponsorship"),
        """
        SELECT max(position) FROM events WHERE event_type = 'sponsorship.BenefitRequested'""",
    )
    relayed = "SELECT coalesce(max(position), 0) FROM reader_checkpoints"
    await eventually(lambda: count(platform.database("sponsorship"), relayed),
                     lambda at: at >= requests, within=30, what="requests relayed")  # fmt: skip
    # and the asking one too, before anything is answered: each leg is in the middle
    await platform.stop("sponsorship")
    await platform.forums()
    await platform.booths()

    async def answered() -> tuple[int, int]:
        return (await events_of(platform, "forums", "forums.SponsorLaunchBooked"),
                await events_of(platform, "booths", "booths.SponsorDiscountGranted"))  # fmt: skip

    await eventually(answered, lambda n: n == (1, 1), within=60, what="both answers recorded")
    api = Api(*await platform.start(sponsorship_definition))
    assert (await settled(api, pid, "huawei", 1, "delivered"))["note"].startswith("forums launch")
    assert (await settled(api, pid, "huawei", 2, "delivered"))["note"].startswith("booths discount")
    delivered = await events_of(platform, "sponsorship", "sponsorship.BenefitDelivered")
    assert delivered == 2
    assert await events_of(platform, "forums", "forums.RoomBooked") == 1
    assert await events_of(platform, "booths", "booths.BoothPriceAdjusted") == 1


async def test_a_launch_forums_cancels_is_withdrawn_on_the_checklist_and_booked_again(
    platform: Platform, settings: ServiceSettings
) -> None:
    api, forums, pid, _ = await huaweis_launch(platform, settings)

    forum_id = f"sponsor-{pid}-1"
    cancelled = await forums("POST", f"/forums/{forum_id}/cancel",
                             json={"reason": "the launch hall is closed for repairs"})  # fmt: skip
    assert cancelled.status_code == 200, cancelled.text
    withdrawn = await settled(api, pid, "huawei", 1, "withdrawn")
    assert withdrawn["note"].startswith(
        f"forums cancelled launch {forum_id}: the launch hall is closed for repairs"
        " (by user:t-1 at the forums service, "
    )

    # asked again: forums books a new launch in the freed hall, and the checklist follows it
    await ask(api, pid, 1, launch("app-huawei"))
    again = await settled(api, pid, "huawei", 1, "delivered")
    assert again["note"].startswith(f"forums launch {forum_id}-2 in launch-hall, ")

    # every answer and cancellation applied again: nothing withdrawn or delivered twice
    settled_before = await count(platform.database("sponsorship"), "SELECT count(*) FROM events")
    await rebuild(platform.running["sponsorship"][1], "sponsorship_forums")
    assert await count(platform.database("sponsorship"), "SELECT count(*) FROM events") == (
        settled_before
    )
    assert await events_of(platform, "sponsorship", "sponsorship.BenefitWithdrawn") == 1
    assert (await settled(api, pid, "huawei", 1, "delivered"))["note"] == again["note"]


async def test_a_launch_forums_moves_shows_its_new_hall_and_hour_on_the_checklist(
    platform: Platform, settings: ServiceSettings
) -> None:
    api, forums, pid, booked = await huaweis_launch(platform, settings)

    forum_id = f"sponsor-{pid}-1"
    afternoon = datetime.combine(FAIR + timedelta(days=2), time(14), BEIJING)
    move = {"format": "in_person", "room_code": "launch-hall", "starts_at": afternoon.isoformat(),
            "reason": "the minister opens the fair that morning"}  # fmt: skip
    moved = await forums("POST", f"/forums/{forum_id}/schedule", json=move)
    assert moved.status_code == 200, moved.text
    hours = f"{afternoon.date().isoformat()} 14:00–14:45 (Beijing time)"
    note = f"forums launch {forum_id} in launch-hall, {hours}"

    async def benefit() -> Any:
        lists = await api.read("/sponsors/huawei/checklist", "huawei")
        return next(c for c in lists if c["package_id"] == pid)["items"][0]

    now = await eventually(benefit, lambda b: b["note"] != booked["note"], within=60,
                           what="the checklist's proof moved with the launch")  # fmt: skip
    assert (now["standing"], now["note"]) == ("delivered", note)
    assert now["since"] == booked["since"]  # delivered since it was booked: only the proof moved

    # every answer and move applied again: the proof revised once, the benefit as it is
    await rebuild(platform.running["sponsorship"][1], "sponsorship_forums")
    assert await events_of(platform, "sponsorship", "sponsorship.BenefitProofRevised") == 1
    assert await events_of(platform, "sponsorship", "sponsorship.BenefitDelivered") == 1
    assert (await benefit())["note"] == note


async def test_a_discount_whose_contract_booths_cancels_is_withdrawn_and_granted_again(
    platform: Platform, settings: ServiceSettings
) -> None:
    api = await platform.sponsorship()
    booths = await set_up_booths(platform, ExhibitorFeed(settings))
    booth = f"/editions/{EDITION}/booths/E1-101"
    pid = await package(api, "huawei", "telecoms")
    await ask(api, pid, 2, {"exhibitor_id": "app-huawei"})
    await settled(api, pid, "huawei", 2, "delivered")

    await booths.ok("POST", f"{booth}/cancel", "sales", json={"reason": "moved to next year"})
    withdrawn = await settled(api, pid, "huawei", 2, "withdrawn")
    assert withdrawn["note"].startswith(
        "booths cancelled every contract the discount lowered (contract c-huawei: moved to next"
        " year) (by user:sales-1 at the booths service, "
    )

    # signed again: asked again, the new contract is lowered
    await booths.ok("POST", f"{booth}/hold", "sales", json={"exhibitor_id": "app-huawei"})
    await booths.ok("POST", f"{booth}/reserve", "sales", json={"contract_id": "c-huawei-2"})
    await ask(api, pid, 2, {"exhibitor_id": "app-huawei"})
    again = await settled(api, pid, "huawei", 2, "delivered")
    assert "(contract c-huawei-2)" in again["note"]
    assert await events_of(platform, "booths", "booths.BoothPriceAdjusted") == 2

    settled_before = await count(platform.database("sponsorship"), "SELECT count(*) FROM events")
    await rebuild(platform.running["sponsorship"][1], "sponsorship_booths")
    assert await count(platform.database("sponsorship"), "SELECT count(*) FROM events") == (
        settled_before
    )
    assert await events_of(platform, "sponsorship", "sponsorship.BenefitWithdrawn") == 1
