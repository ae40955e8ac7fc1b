"""A package's launch slot, booked or refused by the forums service.

The request is a `sponsorship.BenefitRequested` naming the sponsor's exhibitor, the day and
the title; the forums service's sponsorship policy books a launch in a launch hall that day
and answers on `forums.events`, each answer naming the package, the benefit and the request
it answers: `forums.SponsorLaunchBooked` delivers the benefit (the forum, hall and hour as
proof), `forums.SponsorLaunchRefused` fails it with the forums service's own reason.

A booked launch the forums team later moves to another time or hall
(`forums.ForumRescheduled`) stays delivered, its proof the new hall and hour; one it cancels
(`forums.ForumCancelled`) withdraws the benefit, with who cancelled it, when and why; the
team may then ask for it again. The answer travels on its request's stream and the move or
cancellation on the forum's, so they may arrive in either order (two partitions): the read
model `launches` keeps, per forum, the benefit it delivered, its latest move and its
cancellation, whichever came first, and the second to arrive settles. Every move and
cancellation is kept, as the forum's id alone does not say whether it is a sponsor's launch
until its answer arrives; forums moves and cancels few enough for that.

It decodes only those four events, with its own models reading only the fields it uses.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from asyncpg import Record
from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, ReadModel
from fairline_events.registry import DomainEvent, EventRegistry
from pydantic import ConfigDict

from .answers import confirmed, moved, refused, withdrawn

FAIR_TIME = timezone(timedelta(hours=8), "Asia/Shanghai")

consumed = EventRegistry()


class Answer(DomainEvent):
    model_config = ConfigDict(frozen=True, extra="ignore")

    package_id: str
    benefit_no: int
    attempt: int


@consumed.event("forums.SponsorLaunchBooked", version=1)
class SponsorLaunchBooked(Answer):
    forum_id: str
    room_code: str
    starts_at: datetime
    ends_at: datetime


@consumed.event("forums.SponsorLaunchRefused", version=1)
class SponsorLaunchRefused(Answer):
    reason: str


@consumed.event("forums.ForumRescheduled", version=1)
class ForumRescheduled(DomainEvent):
    model_config = ConfigDict(frozen=True, extra="ignore")

    forum_id: str
    room_code: str | None
    starts_at: datetime
    ends_at: datetime


@consumed.event("forums.ForumCancelled", version=1)
class ForumCancelled(DomainEvent):
    model_config = ConfigDict(frozen=True, extra="ignore")

    forum_id: str
    reason: str


TABLES_SQL = """
CREATE TABLE IF NOT EXISTS launches (
    forum_id      text PRIMARY KEY,
    package_id    text,
    benefit_no    int,
    attempt       int,
    cancelled_by  text,
    cancelled_at  timestamptz,
    cancelled_why text
);
-- the launch's latest move (none: where and when it was booked)
ALTER TABLE launches ADD COLUMN IF NOT EXISTS room_code text,
                     ADD COLUMN IF NOT EXISTS starts_at timestamptz,
                     ADD COLUMN IF NOT EXISTS ends_at timestamptz;
"""

forums = Projection(
    name="sponsorship_forums",
    topics=["forums.events"],
    registry=consumed,
    tables_sql=TABLES_SQL,
)


async def _withdraw(tx: ReadModel, env: Envelope, launch: Record) -> None:
    await withdrawn(
        tx, env, "forums", package_id=launch["package_id"], benefit_no=launch["benefit_no"],
        attempt=launch["attempt"], withdrawn_by=launch["cancelled_by"],
        withdrawn_at=launch["cancelled_at"],
        reason=f"forums cancelled launch {launch['forum_id']}: {launch['cancelled_why']}",
    )  # fmt: skip


def _proof(forum_id: str, room_code: str | None, starts_at: datetime, ends_at: datetime) -> str:
    starts, ends = starts_at.astimezone(FAIR_TIME), ends_at.astimezone(FAIR_TIME)
    where = f"in {room_code}" if room_code else "online"
    return f"forums launch {forum_id} {where}, {starts:%Y-%m-%d %H:%M}–{ends:%H:%M} (Beijing time)"


async def _launch(tx: ReadModel, forum_id: str, **columns: Any) -> Record:
    """The forum's row with `columns` set (names from this module, never from an event). One
    row per forum: a concurrent answer's, move's or cancellation's upsert waits for this
    one, and the later of the two sees both halves."""
    names = ", ".join(columns)
    values = ", ".join(f"${n}" for n in range(2, len(columns) + 2))
    sets = ", ".join(f"{name} = ${n}" for n, name in enumerate(columns, start=2))
    launch = await tx.fetchrow(
        f"INSERT INTO launches (forum_id, {names}) VALUES ($1, {values})"
        f" ON CONFLICT (forum_id) DO UPDATE SET {sets} RETURNING *",
        forum_id, *columns.values(),
    )  # fmt: skip
    assert launch is not None  # an upsert with RETURNING always returns its row
    return launch


@forums.on(SponsorLaunchBooked)
async def launch_booked(e: SponsorLaunchBooked, env: Envelope, tx: ReadModel) -> None:
    launch = await _launch(tx, e.forum_id, package_id=e.package_id, benefit_no=e.benefit_no,
                           attempt=e.attempt)  # fmt: skip
    proof = _proof(e.forum_id, e.room_code, e.starts_at, e.ends_at)
    if launch["starts_at"] is not None:  # moved before the answer came
        proof = _proof(e.forum_id, launch["room_code"], launch["starts_at"], launch["ends_at"])
    await confirmed(tx, env, "forums", package_id=e.package_id, benefit_no=e.benefit_no,
                    proof=proof, attempt=e.attempt)  # fmt: skip
    if launch["cancelled_at"] is not None:
        await _withdraw(tx, env, launch)  # cancelled before its answer reached us


@forums.on(SponsorLaunchRefused)
async def launch_refused(e: SponsorLaunchRefused, env: Envelope, tx: ReadModel) -> None:
    await refused(tx, env, "forums", package_id=e.package_id, benefit_no=e.benefit_no,
                  reason=e.reason, attempt=e.attempt)  # fmt: skip


@forums.on(ForumRescheduled)
async def forum_rescheduled(e: ForumRescheduled, env: Envelope, tx: ReadModel) -> None:
    launch = await _launch(tx, e.forum_id, room_code=e.room_code, starts_at=e.starts_at,
                           ends_at=e.ends_at)  # fmt: skip
    if launch["package_id"] is not None:
        await moved(tx, env, "forums", package_id=launch["package_id"],
                    benefit_no=launch["benefit_no"], attempt=launch["attempt"],
                    proof=_proof(e.forum_id, e.room_code, e.starts_at, e.ends_at))  # fmt: skip


@forums.on(ForumCancelled)
async def forum_cancelled(e: ForumCancelled, env: Envelope, tx: ReadModel) -> None:
    launch = await _launch(tx, e.forum_id, cancelled_by=env.actor,
                           cancelled_at=env.occurred_at, cancelled_why=e.reason)  # fmt: skip
    if launch["package_id"] is not None:
        await _withdraw(tx, env, launch)
