"""The forums service under uvicorn, with its relay, read model, exhibitors policy and job,
against the real broker and database; tokens for every role, and a set-up edition."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
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
from forums.domain.values import FAIR_TIME
from forums.service import definition
from support.api import RoleApi
from support.feed import Feed
from support.serving import serving

EDITION = "ciftis-2021"
FAIR = date(datetime.now(UTC).year + 1, 9, 2)
"""The test fair's first day: far enough ahead that no forum is ever over."""


def at(day: int, hour: int, minute: int = 0) -> str:
    """Day `day` of the test fair (1 is FAIR), local time, as the API takes it."""
    moment = datetime.combine(FAIR + timedelta(days=day - 1), time(hour, minute), FAIR_TIME)
    return moment.isoformat()


ROOMS = [
    {"room_code": "hall-a", "venue": "cncc", "name_zh": "A厅", "name_en": "Hall A",
     "capacity": 400, "setup_buffer_minutes": 15, "equipment": ["streaming"]},
    {"room_code": "hall-b", "venue": "cncc", "name_zh": "B厅", "name_en": "Hall B",
     "capacity": 100, "setup_buffer_minutes": 15, "equipment": ["streaming"]},
    {"room_code": "sg-hall", "venue": "shougang", "name_zh": "首钢厅", "name_en": "SG Hall",
     "capacity": 300, "setup_buffer_minutes": 20, "equipment": ["streaming"]},
    {"room_code": "launch-hall", "venue": "cncc", "name_zh": "发布厅",
     "name_en": "Launch Hall", "capacity": 200, "setup_buffer_minutes": 10,
     "equipment": ["launch-stage", "streaming"]},
]  # fmt: skip

KINDS = {
    "themed": {"name_zh": "专题论坛", "name_en": "themed forum", "default_minutes": 120},
    "side": {"name_zh": "边会", "name_en": "side event", "default_minutes": 60},
    "launch": {"name_zh": "成果发布", "name_en": "launch", "default_minutes": 45,
               "equipment": ["launch-stage"], "formats": ["in_person", "hybrid"]},
}  # fmt: skip


ROLES = {
    "team": ("team-1", ["forums_team"]),
    "committee": ("committee-1", ["organising_committee"]),
    "organiser": ("org-mofcom", ["organiser"]),
}


class Api(RoleApi):
    def identity(self, who: str) -> tuple[str, list[str]]:
        """`team`, `committee`, `organiser`, or `<subject>` for a visitor; `staff:<subject>`
        for an exhibitor's staff member."""
        if who in ROLES:
            return ROLES[who]
        if who.startswith("staff:"):
            return who.removeprefix("staff:"), ["exhibitor"]
        return who, ["visitor"]

    async def event_count(self) -> int:
        return int(await self.runtime.pool.fetchval("SELECT count(*) FROM events"))

    async def set_up(self) -> None:
        for room in ROOMS:
            await self.ok("POST", f"/editions/{EDITION}/rooms", "team", json=room)
        for kind, policy in KINDS.items():
            await self.ok("PUT", f"/editions/{EDITION}/kinds/{kind}", "team", json=policy)

    async def propose(
        self,
        *,
        kind: str = "themed",
        speakers: Sequence[str] = (),
        who: str = "organiser",
        **kw: Any,
    ) -> str:
        body = {
            "edition_code": EDITION,
            "kind": kind,
            "title_zh": "数字贸易论坛",
            "title_en": f"Digital trade forum {uuid.uuid4().hex[:4]}",
            "topics": ["digital trade"],
            "organiser": {"kind": "government", "name_zh": "商务部", "name_en": "MOFCOM"},
            "speakers": [{"speaker_id": s, "name": s.title()} for s in speakers],
        } | kw
        return str((await self.ok("POST", "/forums", who, json=body))["forum_id"])

    async def approved(self, **kw: Any) -> str:
        forum_id = await self.propose(**kw)
        await self.ok("POST", f"/forums/{forum_id}/approve", "team", json={})
        return forum_id

    def schedule(self, forum_id: str, **kw: Any) -> Any:
        body = {"format": "in_person", "reason": "programme planning"} | kw
        return self.call("POST", f"/forums/{forum_id}/schedule", "team", json=body)

    async def published(self, **placement: Any) -> str:
        """An approved, scheduled and published forum (`placement` as the schedule body)."""
        kw = {k: placement.pop(k) for k in ("kind", "speakers", "access") if k in placement}
        forum_id = await self.approved(**kw)
        response = await self.schedule(forum_id, **placement)
        assert response.status_code == 200, response.text
        await self.ok("POST", f"/forums/{forum_id}/publish", "team", json={"reason": "ready"})
        return forum_id


class ExhibitorFeed(Feed):
    """Publishes the exhibitors service's own events on its topic, as its relay would."""

    def __init__(self, settings: ServiceSettings) -> None:
        super().__init__(settings, "exhibitors", exhibitors_registry, actor="user:recruiter-1")

    async def application(self, application_id: str, events: list[DomainEvent]) -> None:
        """The events, in order, on the application's stream."""
        await self.publish(*((f"application-{application_id}", e) for e in events))

    async def withdraw(self, application_id: str, reason: str) -> None:
        await self.application(
            application_id, [ApplicationWithdrawn(application_id=application_id, reason=reason)]
        )

    async def approve(self, application_id: str, staff: str) -> None:
        company = CompanyProfile(
            name_zh="腾讯",
            name_en="Tencent",
            country_or_region="CN",
            sector="digital experience",
            participation_mode="both",
        )
        contact = ContactPerson(name="Wang Fang", email="wang@example.com", phone="+86 10 1234")
        await self.application(
            application_id,
            [
                ExhibitorRegistered(
                    application_id=application_id,
                    applicant=staff,
                    edition_code=EDITION,
                    company=company,
                    contact=contact,
                ),
                ApplicationApproved(application_id=application_id, reviewer="recruiter-1"),
            ],
        )


@asynccontextmanager
async def running(settings: ServiceSettings) -> AsyncIterator[Api]:
    app = build_app(definition, settings)
    async with serving(app, max_connections=300) as client:
        yield Api(client, app)


@pytest.fixture
async def api(settings: ServiceSettings) -> AsyncIterator[Api]:
    async with running(settings) as api:
        await api.set_up()
        yield api
