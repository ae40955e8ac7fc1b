"""The forums rules, given / when / then, in memory: the handlers' own plans."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fairline_events.errors import Conflict, DomainError, Forbidden
from fairline_events.testing import Scenario, given
from forums.domain.attendance import ATTENDANCE, attendance_stream
from forums.domain.commands import (
    AddRoom,
    ApproveExhibitor,
    ApproveForum,
    CancelRegistration,
    ClaimOffer,
    Invite,
    Join,
    LapseOffer,
    OrganiserInput,
    ProposeForum,
    PublishForum,
    Register,
    RevokeInvitation,
    ScheduleForum,
    SetKindPolicy,
    SpeakerInput,
)
from forums.domain.events import AccessRefused, Joined, SeatOffered, Waitlisted
from forums.domain.forum import FORUM, forum_stream
from forums.domain.values import FAIR_TIME
from forums.handlers import (
    add_room,
    approve_exhibitor,
    approve_forum,
    cancel_registration,
    claim_offer,
    invite,
    join,
    lapse_offer,
    propose_forum,
    publish_forum,
    register,
    revoke_invitation,
    schedule_forum,
    set_kind_policy,
)

E = "ciftis-2030"
NOW = datetime(2030, 8, 1, 9, tzinfo=FAIR_TIME)
TEAM = frozenset({"forums_team"})


def t(hour: int, minute: int = 0, day: int = 2) -> datetime:
    return datetime(2030, 9, day, hour, minute, tzinfo=FAIR_TIME)


def edition(**policy: object) -> Scenario:
    world = given()
    for code, venue, seats in (("a", "cncc", 3), ("b", "cncc", 300), ("sg", "shougang", 300)):
        world.when(
            add_room,
            AddRoom(
                edition_code=E,
                room_code=code,
                venue=venue,
                name_zh=code,
                name_en=code,
                capacity=seats,
                setup_buffer_minutes=15,
            ),
        )
    kind = {"name_zh": "专题论坛", "name_en": "themed forum", "default_minutes": 60} | policy
    world.when(set_kind_policy, SetKindPolicy(edition_code=E, kind="themed", **kind))
    return world


def propose(world: Scenario, forum_id: str, *speakers: str, **kw: object) -> None:
    fields: dict[str, object] = {
        "forum_id": forum_id,
        "edition_code": E,
        "kind": "themed",
        "title_zh": "论坛",
        "title_en": f"Forum {forum_id}",
        "organiser": OrganiserInput(kind="government", name_zh="商务部", name_en="MOFCOM"),
        "speakers": [SpeakerInput(speaker_id=s, name=s) for s in speakers],
        "by": "org-1",
    } | kw
    world.when(propose_forum, ProposeForum(**fields))
    world.when(approve_forum, ApproveForum(forum_id=forum_id, by="team-1", roles=TEAM))


def placed(world: Scenario, forum_id: str, room: str | None, start: datetime, **kw: object) -> None:
    fmt = "online" if room is None else "in_person"
    command = ScheduleForum(
        forum_id=forum_id,
        format=fmt,
        room_code=room,
        starts_at=start,
        reason="plan",
        **kw,
    )
    world.when(schedule_forum, command, at=NOW)


def published(world: Scenario, forum_id: str, room: str | None = "a", **kw: object) -> None:
    propose(world, forum_id, **kw)
    placed(world, forum_id, room, t(10))
    world.when(publish_forum, PublishForum(forum_id=forum_id, reason="ready"))


def test_the_room_keeps_its_set_up_buffer_and_names_the_other_forum() -> None:
    world = edition()
    propose(world, "f1")
    propose(world, "f2")
    placed(world, "f1", "b", t(9))
    with pytest.raises(Conflict) as refused:
        placed(world, "f2", "b", t(10, 10))
    assert refused.value.code == "room_taken"
    assert refused.value.details["other"]["forum_id"] == "f1"
    placed(world, "f2", "b", t(10, 15))


def test_a_speaker_needs_the_journey_between_venues() -> None:
    world = edition()
    propose(world, "f1", "wang")
    propose(world, "f2", "wang")
    placed(world, "f1", "b", t(9))
    with pytest.raises(Conflict) as refused:
        placed(world, "f2", "sg", t(10, 59))
    assert refused.value.code == "speaker_busy"
    placed(world, "f2", "sg", t(11))


def test_a_reschedule_frees_the_old_slot() -> None:
    world = edition()
    propose(world, "f1")
    propose(world, "f2")
    placed(world, "f1", "b", t(9))
    placed(world, "f1", "b", t(14))
    placed(world, "f2", "b", t(9))
    assert world.state(FORUM, forum_stream("f1")).placement.starts_at == t(14)  # type: ignore[union-attr]


def test_a_policy_change_reaches_only_forums_approved_after_it() -> None:
    world = edition()
    propose(world, "old")
    world.when(
        set_kind_policy,
        SetKindPolicy(
            edition_code=E,
            kind="themed",
            name_zh="专题论坛",
            name_en="themed forum",
            default_minutes=30,
            formats=["online"],
        ),
    )
    propose(world, "new")
    assert world.state(FORUM, forum_stream("old")).policy_version == 1
    assert world.state(FORUM, forum_stream("new")).policy_version == 2
    placed(world, "old", "b", t(9))  # version 1 still allows a room
    with pytest.raises(DomainError) as refused:
        placed(world, "new", "b", t(9))
    assert refused.value.code == "format_not_allowed"


def test_the_same_policy_set_again_is_no_new_version() -> None:
    world = edition()
    again = SetKindPolicy(
        edition_code=E,
        kind="themed",
        name_zh="专题论坛",
        name_en="themed forum",
        default_minutes=60,
    )
    assert world.when(set_kind_policy, again) == []


def test_a_company_organises_only_as_an_approved_exhibitor() -> None:
    world = edition()
    company = OrganiserInput(kind="company", name_zh="腾讯", name_en="Tencent", exhibitor_id="x1")
    with pytest.raises(Forbidden) as refused:
        propose(world, "launch", organiser=company, by="x1-staff")
    assert refused.value.code == "not_an_approved_exhibitor"
    world.when(
        approve_exhibitor,
        ApproveExhibitor(
            exhibitor_id="x1",
            edition_code=E,
            applicant="x1-staff",
            name_zh="腾讯",
            name_en="Tencent",
        ),
    )
    propose(world, "launch", organiser=company, by="x1-staff")


def test_a_full_forum_waitlists_then_offers_then_passes_on() -> None:
    world = edition(claim_window_minutes=30)
    published(world, "f")
    for person in ("p1", "p2", "p3", "p4", "p5"):
        world.when(register, Register(forum_id="f", person=person), at=NOW)
    line = [e for e in world.events_of(attendance_stream("f")) if isinstance(e, Waitlisted)]
    assert [(e.person, e.position) for e in line] == [("p4", 1), ("p5", 2)]

    events = world.when(cancel_registration, CancelRegistration(forum_id="f", person="p1"), at=NOW)
    [offer] = [e for e in events if isinstance(e, SeatOffered)]
    assert (offer.person, offer.claim_until) == ("p4", NOW + timedelta(minutes=30))
    # too early to lapse: nothing happens
    assert world.when(lapse_offer, LapseOffer(forum_id="f", person="p4"), at=NOW) == []
    later = NOW + timedelta(minutes=31)
    passed = world.when(lapse_offer, LapseOffer(forum_id="f", person="p4"), at=later)
    assert [e.person for e in passed if isinstance(e, SeatOffered)] == ["p5"]
    with pytest.raises(Conflict):
        world.when(claim_offer, ClaimOffer(forum_id="f", person="p4"), at=later)
    world.when(claim_offer, ClaimOffer(forum_id="f", person="p5"), at=later)
    seats = world.state(ATTENDANCE, attendance_stream("f"))
    assert sorted(seats.seats) == ["p2", "p3", "p5"]


def test_a_closed_door_meeting_refuses_and_records_outsiders_and_the_revoked() -> None:
    world = edition()
    published(world, "c", room=None, access="invitation")
    refused = world.when(register, Register(forum_id="c", person="outsider"), at=NOW)
    assert [type(e) for e in refused] == [AccessRefused]
    world.when(invite, Invite(forum_id="c", person="envoy", by="team-1", why="x", as_team=True))
    world.when(register, Register(forum_id="c", person="envoy"), at=NOW)
    forwarded = Join(forum_id="c", caller="outsider", link_person="envoy", link_serial=1)
    [decision] = world.when(join, forwarded, at=NOW)
    assert isinstance(decision, AccessRefused) and "another person" in decision.why
    own = Join(forum_id="c", caller="envoy", link_person="envoy", link_serial=1)
    assert [type(e) for e in world.when(join, own, at=NOW)] == [Joined]
    world.when(
        revoke_invitation,
        RevokeInvitation(forum_id="c", person="envoy", by="team-1", why="y", as_team=True),
        at=NOW,
    )
    [after] = world.when(join, own, at=NOW)
    assert isinstance(after, AccessRefused) and "revoked" in after.why
