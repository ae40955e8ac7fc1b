"""The demo edition (deploy/demo/edition-2021.yaml): the 2021 fair's forums and launches.

Loads the six kinds of the yaml (`forum_kinds`) with their policies, rooms at CNCC and
Shougang Park, and a programme for the fair's days: a summit, themed forums, an industry
conference, a promotion session, a side event at Shougang, a closed-door meeting with its
invitees, and launches (成果发布) on the yaml's `launch_topics` by Digital Services Zone
companies, with a few registrations. Names of forums are demo text; speakers are fictional.

Companies: the exhibitors demo approves the Digital Services Zone companies (ids
`demo-<slug>`, staff `demo-<slug>-staff`). The loader records those approvals itself, as the
exhibitors policy will when their events arrive on Kafka (it then changes nothing), so the
launches exist on the first `make run`. Tencent, Tesla and NetEase (the yaml's launch hosts)
are still in review at the exhibitors service: they can propose once it approves them.

Idempotent: every item has a fixed id, and one that exists is left alone.
"""

from __future__ import annotations

import contextlib
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from fairline_events.context import CommandContext
from fairline_events.errors import Conflict
from fairline_events.service import Runtime
from fairline_events.store import EventStore
from fairline_events.transact import CommandHandler
from fairline_events.values import slug

from .domain.commands import (
    AddRoom,
    ApproveExhibitor,
    ApproveForum,
    Invite,
    OrganiserInput,
    ProposeForum,
    PublishForum,
    Register,
    ScheduleForum,
    SetKindPolicy,
    SpeakerInput,
)
from .domain.values import FAIR_TIME
from .handlers import (
    add_room,
    approve_exhibitor,
    approve_forum,
    invite,
    propose_forum,
    publish_forum,
    register,
    schedule_forum,
    set_kind_policy,
)

# How each kind of the yaml is run (demo policies: what a forums team would set).
POLICIES: dict[str, dict[str, Any]] = {
    "summit": {
        "default_minutes": 180,
        "min_capacity": 500,
        "venues": ["cncc"],
        "equipment": ["simultaneous-interpretation"],
        "formats": ["in_person", "hybrid"],
        "approval_chain": ["forums_team", "organising_committee"],
        "online_capacity": 20000,
    },
    "themed": {
        "default_minutes": 150,
        "min_capacity": 150,
        "equipment": ["simultaneous-interpretation"],
    },
    "industry": {"default_minutes": 120, "min_capacity": 80},
    "promotion": {
        "default_minutes": 90,
        "min_capacity": 30,
        "formats": ["in_person", "hybrid"],
        "claim_window_minutes": 60,
    },
    "launch": {
        "default_minutes": 45,
        "min_capacity": 50,
        "equipment": ["launch-stage"],
        "formats": ["in_person", "hybrid"],
        "claim_window_minutes": 30,
    },
    "side": {"default_minutes": 90, "min_capacity": 10},
}

ROOMS: list[dict[str, Any]] = [
    {"room_code": "cncc-main-hall", "venue": "cncc", "name_zh": "国家会议中心大会堂",
     "name_en": "CNCC Main Hall", "capacity": 2000, "setup_buffer_minutes": 30,
     "equipment": ["simultaneous-interpretation", "streaming"]},
    {"room_code": "cncc-301", "venue": "cncc", "name_zh": "301会议室", "name_en": "Room 301",
     "capacity": 400, "setup_buffer_minutes": 15,
     "equipment": ["simultaneous-interpretation", "streaming"]},
    {"room_code": "cncc-302", "venue": "cncc", "name_zh": "302会议室", "name_en": "Room 302",
     "capacity": 200, "setup_buffer_minutes": 15, "equipment": ["streaming"]},
    {"room_code": "cncc-launch-hall", "venue": "cncc", "name_zh": "成果发布厅",
     "name_en": "CNCC Launch Hall", "capacity": 300, "setup_buffer_minutes": 15,
     "equipment": ["launch-stage", "streaming"]},
    {"room_code": "cncc-vip-room", "venue": "cncc", "name_zh": "贵宾会见室",
     "name_en": "CNCC VIP Room", "capacity": 40, "setup_buffer_minutes": 15, "equipment": []},
    {"room_code": "sg-forum-hall", "venue": "shougang", "name_zh": "首钢园论坛厅",
     "name_en": "Shougang Forum Hall", "capacity": 600, "setup_buffer_minutes": 20,
     "equipment": ["simultaneous-interpretation", "streaming"]},
    {"room_code": "sg-launch-stage", "venue": "shougang", "name_zh": "首钢园发布台",
     "name_en": "Shougang Launch Stage", "capacity": 200, "setup_buffer_minutes": 10,
     "equipment": ["launch-stage", "streaming"]},
]  # fmt: skip

# The Digital Services Zone companies the exhibitors demo approves, and their launch topic.
LAUNCHES = [
    ("Bank of China", "中国银行", "digital currency", "数字人民币应用成果发布"),
    ("Huawei", "华为", "internet of things", "物联网与智能计算成果发布"),
    ("Alibaba", "阿里巴巴", "carbon neutrality", "碳中和数字化解决方案发布"),
    ("Baidu", "百度", "integrated circuits", "人工智能芯片成果发布"),
    ("JD.com", "京东", "fintech", "供应链金融科技成果发布"),
]

GOVERNMENT = {"kind": "government", "name_zh": "商务部", "name_en": "Ministry of Commerce"}
BEIJING = {
    "kind": "government",
    "name_zh": "北京市人民政府",
    "name_en": "Beijing Municipal Government",
}
CATIS = {"kind": "association", "name_zh": "中国服务贸易协会",
         "name_en": "China Association of Trade in Services"}  # fmt: skip


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2021, 9, day, hour, minute, tzinfo=FAIR_TIME)


FORUMS: list[dict[str, Any]] = [
    {"forum_id": "demo-summit", "kind": "summit", "title_zh": "全球服务贸易峰会",
     "title_en": "Global Trade in Services Summit", "organiser": GOVERNMENT,
     "topics": ["services trade", "digital economy"], "language": "zh",
     "speakers": [("sp-demo-zhao", "Zhao Min"), ("sp-demo-keller", "Anna Keller")],
     "place": ("hybrid", "cncc-main-hall", _at(2, 19, 0), _at(2, 21, 0))},
    {"forum_id": "demo-digital-trade", "kind": "themed", "title_zh": "数字贸易发展趋势和前沿论坛",
     "title_en": "Digital Trade Trends and Frontiers Forum", "organiser": BEIJING,
     "topics": ["digital trade", "digital currency"], "language": "zh",
     "speakers": [("sp-demo-zhao", "Zhao Min"), ("sp-demo-liu", "Liu Yang")],
     "place": ("hybrid", "cncc-301", _at(3, 9, 30), None)},
    {"forum_id": "demo-fintech-conf", "kind": "industry", "title_zh": "金融科技与服务贸易大会",
     "title_en": "Fintech and Services Trade Conference", "organiser": CATIS,
     "topics": ["fintech"], "language": "en",
     "speakers": [("sp-demo-keller", "Anna Keller")],
     "place": ("in_person", "cncc-302", _at(3, 14, 0), None)},
    {"forum_id": "demo-invest-beijing", "kind": "promotion", "title_zh": "北京投资环境推介会",
     "title_en": "Invest in Beijing Promotion", "organiser": BEIJING,
     "topics": ["investment"], "language": "zh", "speakers": [("sp-demo-liu", "Liu Yang")],
     "place": ("in_person", "cncc-302", _at(4, 10, 0), None)},
    {"forum_id": "demo-shougang-side", "kind": "side", "title_zh": "工业遗存与城市更新边会",
     "title_en": "Industrial Heritage and Urban Renewal Side Event", "organiser": CATIS,
     "topics": ["carbon neutrality", "urban renewal"], "language": "zh",
     "speakers": [("sp-demo-liu", "Liu Yang")],
     "place": ("hybrid", "sg-forum-hall", _at(4, 14, 0), None)},
    {"forum_id": "demo-closed-door", "kind": "side", "title_zh": "数字货币跨境应用闭门会",
     "title_en": "Closed-door Meeting on Cross-border Digital Currency", "organiser": GOVERNMENT,
     "topics": ["digital currency"], "language": "zh", "access": "invitation",
     "speakers": [("sp-demo-zhao", "Zhao Min")],
     "place": ("hybrid", "cncc-vip-room", _at(5, 10, 0), None),
     "invitees": ["demo-visitor", "demo-bank-of-china-staff"]},
]  # fmt: skip


def demo_file() -> Path:
    configured = os.environ.get("FAIRLINE_DEMO_FILE")
    if configured:
        return Path(configured)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "deploy" / "demo" / "edition-2021.yaml"
        if candidate.exists():
            return candidate
    raise FileNotFoundError("deploy/demo/edition-2021.yaml not found; set FAIRLINE_DEMO_FILE")


class Loader:
    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.context = CommandContext.system("demo-loader", reason="demo edition")
        self.written = 0

    async def run(self, handler: CommandHandler[Any], command: Any, **clock: datetime) -> None:
        context = self.context
        if at := clock.get("at"):
            context = CommandContext(actor=context.actor, reason=context.reason, clock=lambda: at)
        outcome = await handler(self.store, command, context)
        self.written += len(outcome.events)

    async def exists(self, stream_id: str) -> bool:
        return bool(await self.store.read_stream(stream_id))


async def load_demo(runtime: Runtime) -> int:
    assert runtime.store is not None
    demo = Loader(runtime.store)
    data: dict[str, Any] = yaml.safe_load(demo_file().read_text(encoding="utf-8"))
    edition = data["edition"]["code"]
    for kind in data["forum_kinds"]:
        policy = POLICIES.get(kind["code"], {"default_minutes": 90})
        command = SetKindPolicy(
            edition_code=edition, kind=kind["code"], name_zh=kind["zh"], name_en=kind["en"],
            **policy,
        )  # fmt: skip
        await demo.run(set_kind_policy, command)  # the same policy again appends nothing
    for room in ROOMS:
        with contextlib.suppress(Conflict):  # added by an earlier run
            await demo.run(add_room, AddRoom(edition_code=edition, **room))
    topics = set(data.get("launch_topics", []))
    forums = list(FORUMS)
    for n, (name_en, name_zh, topic, title_zh) in enumerate(LAUNCHES):
        if topic not in topics:
            continue
        named = slug(name_en)
        await demo.run(
            approve_exhibitor,
            ApproveExhibitor(
                exhibitor_id=f"demo-{named}", edition_code=edition,
                applicant=f"demo-{named}-staff", name_zh=name_zh, name_en=name_en,
            ),
        )  # fmt: skip
        hall = "cncc-launch-hall" if n % 2 == 0 else "sg-launch-stage"
        forums.append(
            {"forum_id": f"demo-launch-{named}", "kind": "launch", "title_zh": title_zh,
             "title_en": f"{name_en}: {topic} launch", "topics": [topic], "language": "zh",
             "organiser": {"kind": "company", "name_zh": name_zh, "name_en": name_en,
                           "exhibitor_id": f"demo-{named}"},
             "by": f"demo-{named}-staff", "speakers": [(f"sp-demo-{named}", f"{name_en} CTO")],
             "place": ("hybrid", hall, _at(3 + n // 2, 15 if n % 2 == 0 else 11), None)}
        )  # fmt: skip
    for entry in forums:
        await _forum(demo, edition, entry)
    return demo.written


PLANNED_AT = datetime(2021, 8, 20, 9, 0, tzinfo=FAIR_TIME)
"""The programme is loaded as it was planned, before the fair: registrations are open."""


async def _forum(demo: Loader, edition: str, forum: dict[str, Any]) -> None:
    forum_id = forum["forum_id"]
    if await demo.exists(f"forum-{forum_id}"):
        return
    by = forum.get("by", "demo-forums-team")
    await demo.run(
        propose_forum,
        ProposeForum(
            forum_id=forum_id, edition_code=edition, kind=forum["kind"],
            title_zh=forum["title_zh"], title_en=forum["title_en"], topics=forum["topics"],
            language=forum["language"], organiser=OrganiserInput(**forum["organiser"]),
            speakers=[SpeakerInput(speaker_id=s, name=n) for s, n in forum["speakers"]],
            access=forum.get("access"), by=by, on_behalf=by == "demo-forums-team",
        ),
    )  # fmt: skip
    roles = frozenset({"forums_team", "organising_committee"})
    await demo.run(
        approve_forum, ApproveForum(forum_id=forum_id, by="demo-forums-team", roles=roles)
    )
    fmt, room, starts, ends = forum["place"]
    schedule = ScheduleForum(
        forum_id=forum_id, format=fmt, room_code=room, starts_at=starts, ends_at=ends,
        reason="demo programme",
    )  # fmt: skip
    await demo.run(schedule_forum, schedule)
    await demo.run(publish_forum, PublishForum(forum_id=forum_id, reason="demo programme"))
    for person in forum.get("invitees", []):
        why = "demo: invited to the closed-door meeting"
        await demo.run(
            invite, Invite(forum_id=forum_id, person=person, by="demo-forums-team", why=why,
                           as_team=True)
        )  # fmt: skip
    attendees = forum.get("invitees") or ["demo-visitor", "demo-huawei-staff"]
    for person in attendees:
        command = Register(forum_id=forum_id, person=person, confirm_overlap=True)
        await demo.run(register, command, at=PLANNED_AT)
