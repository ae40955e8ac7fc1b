"""Running the booths service under uvicorn for tests, and feeding it exhibitors' events.

The approvals come the way they do in production: envelopes of the exhibitors service's own
event models on its topic, which the booths service consumes.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import date

from booths.service import definition
from exhibitors.domain.events import (
    ApplicationApproved,
    ApplicationWithdrawn,
    ExhibitorRegistered,
)
from exhibitors.domain.events import registry as exhibitors_registry
from exhibitors.domain.values import CompanyProfile, ContactPerson
from fairline_events.registry import DomainEvent
from fairline_events.service import build_app
from fairline_events.settings import ServiceSettings
from support.api import RoleApi
from support.feed import Feed
from support.serving import serving
from support.waiting import eventually

EDITION = "ciftis-2021"


class Api(RoleApi):
    def identity(self, who: str) -> tuple[str, list[str]]:
        """`sales`, `ops`, or `user:<subject>` for an exhibitor's company user."""
        if who.startswith("user:"):
            return who.removeprefix("user:"), ["exhibitor"]
        return f"{who}-1", [who]


@contextlib.asynccontextmanager
async def running(settings: ServiceSettings, port: int | None = None) -> AsyncIterator[Api]:
    app = build_app(definition, settings)
    async with serving(app, port=port) as client:
        yield Api(client, app)


class ExhibitorFeed(Feed):
    """Publishes the exhibitors service's events, as its relay would."""

    def __init__(self, settings: ServiceSettings) -> None:
        super().__init__(settings, "exhibitors", exhibitors_registry, actor="user:recruiter-1")

    async def applications(self, events: list[DomainEvent]) -> None:
        """Each event on its application's stream."""
        await self.publish(*((f"application-{e.application_id}", e) for e in events))  # type: ignore[attr-defined]

    async def approve(self, *exhibitors: str, edition: str = EDITION) -> None:
        events: list[DomainEvent] = []
        for exhibitor in exhibitors:
            events += [
                ExhibitorRegistered(
                    application_id=exhibitor,
                    applicant=f"{exhibitor}-staff",
                    edition_code=edition,
                    company=CompanyProfile(
                        name_zh=f"{exhibitor}公司",
                        name_en=f"{exhibitor} Ltd",
                        country_or_region="CN",
                        sector="digital trust",
                        participation_mode="both",
                    ),
                    contact=ContactPerson(
                        name="Wang Fang", email="wang.fang@example.com", phone="+86 10 1234 5678"
                    ),
                ),
                ApplicationApproved(application_id=exhibitor, reviewer="recruiter-1"),
            ]
        await self.applications(events)

    async def withdraw(self, exhibitor: str, reason: str) -> None:
        await self.applications([ApplicationWithdrawn(application_id=exhibitor, reason=reason)])


async def admitted(api: Api, count: int, within: float = 30) -> None:
    """Wait until `count` exhibitors are admitted for the edition."""

    async def listed() -> int:
        response = await api.call("GET", f"/editions/{EDITION}/exhibitors?limit=5000", "sales")
        return len(response.json()) if response.status_code == 200 else -1

    await eventually(listed, lambda n: n >= count, within=within, what=f"{count} admitted")


async def open_edition(
    api: Api,
    *,
    hold_ttl_seconds: int = 72 * 3600,
    claim_window_seconds: int = 48 * 3600,
    max_concurrent_holds: int = 3,
) -> None:
    """CIFTIS 2021 with the CNCC hall E1 (Digital Trust zone) and the park's hall SG1."""
    e = f"/editions/{EDITION}"
    await api.ok(
        "POST",
        "/editions",
        "sales",
        json={
            "edition_code": EDITION,
            "name_zh": "2021年服贸会",
            "name_en": "CIFTIS 2021",
            "opens_on": date(2031, 9, 2).isoformat(),
            "closes_on": date(2031, 9, 7).isoformat(),
            "hold_ttl_seconds": hold_ttl_seconds,
            "claim_window_seconds": claim_window_seconds,
            "max_concurrent_holds": max_concurrent_holds,
        },
    )
    for venue, kind in [("cncc", "convention_center"), ("shougang", "park")]:
        await api.ok(
            "POST",
            f"{e}/venues",
            "sales",
            json={"venue_code": venue, "name_zh": venue, "name_en": venue, "kind": kind},
        )
    for venue, hall, structure in [
        ("cncc", "E1", "permanent"),
        ("shougang", "SG1", "temporary_steel"),
    ]:
        await api.ok(
            "POST",
            f"{e}/halls",
            "sales",
            json={
                "venue_code": venue,
                "hall_code": hall,
                "name_zh": f"{hall}馆",
                "name_en": f"Hall {hall}",
                "structure": structure,
            },
        )
    for venue, zone, kind in [
        ("cncc", "digital-trust", "digital"),
        ("shougang", "finance", "themed"),
    ]:
        await api.ok(
            "POST",
            f"{e}/zones",
            "sales",
            json={
                "zone_code": zone,
                "venue_code": venue,
                "name_zh": zone,
                "name_en": zone,
                "kind": kind,
            },
        )
    await api.ok(
        "POST",
        f"{e}/price-lists",
        "sales",
        json={
            "note": "rate card v1, committee decision 2021-03",
            "rates": [
                {"booth_type": "shell_scheme", "fen_per_m2": 150_000},
                {"booth_type": "raw_space", "fen_per_m2": 120_000},
            ],
            "surcharges": {"corner": 1000, "peninsula": 1500, "island": 2000},
            "deposit_bp": 3000,
            "cancellation": [
                {"days_before_opening": 90, "fee_bp": 1000},
                {"days_before_opening": 30, "fee_bp": 3000},
            ],
            "online_packages": {"A": 3_000_000, "B": 1_500_000},
        },
    )


def booth_csv(
    codes: list[str], zone: str = "digital-trust", booth_type: str = "shell_scheme"
) -> str:
    lines = ["code,zone,type,area_m2,open_sides,x,y,width,depth"]
    for i, code in enumerate(codes):
        lines.append(f"{code},{zone},{booth_type},9,row,{(i % 50) * 4},{(i // 50) * 4},3,3")
    return "\n".join(lines) + "\n"


async def add_booths(api: Api, hall: str, codes: list[str], **kw: str) -> None:
    await api.ok(
        "POST",
        f"/editions/{EDITION}/halls/{hall}/booths/import",
        "sales",
        content=booth_csv(codes, **kw),
        headers={"Content-Type": "text/csv"},
    )
