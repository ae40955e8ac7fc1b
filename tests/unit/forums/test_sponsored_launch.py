"""A sponsor's launch slot, given / when / then: the forums handler's own plan, in memory."""

from __future__ import annotations

from datetime import date, datetime

from fairline_events.testing import Scenario, given
from forums.domain.commands import (
    AddRoom,
    ApproveExhibitor,
    ApproveForum,
    BookSponsorLaunch,
    CancelForum,
    OrganiserInput,
    ProposeForum,
    ScheduleForum,
    SetKindPolicy,
)
from forums.domain.events import (
    ForumApproved,
    ForumProposed,
    ForumScheduled,
    RoomBooked,
    SponsorLaunchBooked,
    SponsorLaunchRefused,
)
from forums.domain.forum import FORUM, forum_stream
from forums.domain.values import FAIR_TIME
from forums.handlers import (
    add_room,
    approve_exhibitor,
    approve_forum,
    book_sponsor_launch,
    cancel_forum,
    propose_forum,
    schedule_forum,
    set_kind_policy,
)

E = "ciftis-2030"
DAY = date(2030, 9, 2)
NOW = datetime(2030, 8, 1, 9, tzinfo=FAIR_TIME)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2030, 9, 2, hour, minute, tzinfo=FAIR_TIME)


def edition() -> Scenario:
    """Two launch halls (CNCC, Shougang), a themed-forum room, the launch kind (45 minutes,
    a launch stage), and Huawei approved by the exhibitors service."""
    world = given()
    rooms = [("cncc-launch", "cncc", ["launch-stage"], 10), ("sg-launch", "shougang",
             ["launch-stage"], 10), ("hall-a", "cncc", [], 15)]  # fmt: skip
    for code, venue, equipment, buffer in rooms:
        world.when(add_room, AddRoom(edition_code=E, room_code=code, venue=venue, name_zh=code,
                                     name_en=code, capacity=200, equipment=equipment,
                                     setup_buffer_minutes=buffer))  # fmt: skip
    world.when(set_kind_policy, SetKindPolicy(edition_code=E, kind="launch", name_zh="成果发布",
                                              name_en="launch", default_minutes=45,
                                              equipment=["launch-stage"]))  # fmt: skip
    world.when(approve_exhibitor, ApproveExhibitor(exhibitor_id="app-huawei", edition_code=E,
                                                   applicant="huawei-staff", name_zh="华为",
                                                   name_en="Huawei"))  # fmt: skip
    return world


def asked(attempt: int = 1, exhibitor: str = "app-huawei", day: date = DAY) -> BookSponsorLaunch:
    return BookSponsorLaunch(package_id="pkg-1", benefit_no=3, attempt=attempt, edition_code=E,
                             exhibitor_id=exhibitor, sponsor_name="Huawei", day=day,
                             title_zh="鸿蒙发布", title_en="HarmonyOS launch")  # fmt: skip


def occupied(world: Scenario, forum_id: str, room: str, start: datetime) -> None:
    """Another launch in `room` from `start` (45 minutes)."""
    world.when(propose_forum, ProposeForum(
        forum_id=forum_id, edition_code=E, kind="launch", title_zh="发布", title_en=forum_id,
        organiser=OrganiserInput(kind="company", name_zh="华为", name_en="Huawei",
                                 exhibitor_id="app-huawei"),
        by="team-1", on_behalf=True))  # fmt: skip
    world.when(approve_forum, ApproveForum(forum_id=forum_id, by="team-1",
                                           roles=frozenset({"forums_team"})))  # fmt: skip
    world.when(schedule_forum, ScheduleForum(forum_id=forum_id, format="in_person",
                                             room_code=room, starts_at=start, reason="plan"),
               at=NOW)  # fmt: skip


def test_a_sponsors_launch_takes_the_first_free_launch_hall_slot_for_its_company() -> None:
    world = edition()
    events = world.when(book_sponsor_launch, asked(), at=NOW)
    assert [type(e) for e in events] == [
        ForumProposed, ForumApproved, RoomBooked, ForumScheduled, SponsorLaunchBooked]  # fmt: skip
    booked = events[-1]
    assert isinstance(booked, SponsorLaunchBooked)
    assert (booked.room_code, booked.starts_at, booked.ends_at) == ("cncc-launch", at(9), at(9, 45))
    launch = world.state(FORUM, forum_stream(booked.forum_id))
    assert launch.kind == "launch" and launch.status == "scheduled" and not launch.published
    assert launch.organiser is not None and launch.organiser.exhibitor_id == "app-huawei"
    assert launch.is_organised_by("huawei-staff")  # the company's staff run their launch


def test_taken_halls_push_the_slot_to_the_next_free_quarter_hour_with_the_set_up_buffer() -> None:
    world = edition()
    occupied(world, "l1", "cncc-launch", at(9))  # 09:00–09:45, buffer 10 → free from 10:00
    occupied(world, "l2", "sg-launch", at(9, 15))  # 09:15–10:00 → free from 10:15
    booked = world.when(book_sponsor_launch, asked(), at=NOW)[-1]
    assert isinstance(booked, SponsorLaunchBooked)
    assert (booked.room_code, booked.starts_at) == ("cncc-launch", at(10))


def test_a_company_not_approved_by_the_exhibitors_service_is_refused_with_the_forums_reason() -> (
    None
):
    world = edition()
    events = world.when(book_sponsor_launch, asked(exhibitor="app-tencent"), at=NOW)
    assert len(events) == 1 and isinstance(events[0], SponsorLaunchRefused)
    assert events[0].code == "not_an_approved_exhibitor"
    assert "app-tencent is not an approved exhibitor of ciftis-2030" in events[0].reason
    assert world.state(FORUM, forum_stream("sponsor-pkg-1-3")).status == "new"  # nothing booked


def test_a_day_with_every_launch_hall_taken_is_refused_naming_the_halls() -> None:
    world = edition()
    for n, hour in enumerate(range(9, 18)):  # both halls taken hour after hour
        occupied(world, f"c{n}", "cncc-launch", at(hour))
        occupied(world, f"s{n}", "sg-launch", at(hour))
    events = world.when(book_sponsor_launch, asked(), at=NOW)
    assert isinstance(events[0], SponsorLaunchRefused) and events[0].code == "no_launch_slot_free"
    assert "cncc-launch, sg-launch" in events[0].reason


def test_a_redelivered_request_books_nothing_twice_and_a_new_attempt_is_decided_afresh() -> None:
    world = edition()
    refused = world.when(book_sponsor_launch, asked(exhibitor="app-unknown"), at=NOW)
    assert isinstance(refused[0], SponsorLaunchRefused)
    assert world.when(book_sponsor_launch, asked(exhibitor="app-unknown"), at=NOW) == []
    # asked again (attempt 2) once the team named the right exhibitor: booked
    booked = world.when(book_sponsor_launch, asked(attempt=2), at=NOW)
    assert isinstance(booked[-1], SponsorLaunchBooked)
    assert world.when(book_sponsor_launch, asked(attempt=2), at=NOW) == []
    assert world.when(book_sponsor_launch, asked(attempt=3), at=NOW) == []  # booked once only


def test_once_its_launch_is_cancelled_a_later_attempt_books_a_new_launch_forum() -> None:
    world = edition()
    first = world.when(book_sponsor_launch, asked(), at=NOW)[-1]
    assert isinstance(first, SponsorLaunchBooked) and first.forum_id == "sponsor-pkg-1-3"
    world.when(cancel_forum, CancelForum(forum_id=first.forum_id, reason="hall flooded"), at=NOW)
    assert world.when(book_sponsor_launch, asked(), at=NOW) == []  # the old request again
    second = world.when(book_sponsor_launch, asked(attempt=2), at=NOW)[-1]
    assert isinstance(second, SponsorLaunchBooked) and second.forum_id == "sponsor-pkg-1-3-2"
    assert (second.room_code, second.starts_at) == (first.room_code, first.starts_at)  # freed
    assert world.state(FORUM, forum_stream(first.forum_id)).status == "cancelled"
    assert world.when(book_sponsor_launch, asked(attempt=3), at=NOW) == []  # the second stands
