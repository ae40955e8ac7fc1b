"""A person's own agenda: the seats they hold at one edition, for the overlap rule.

A person cannot hold seats at two forums that overlap unless they confirm it (they may mean
to leave one early). The times are read from the forums themselves when a seat is taken, so
a rescheduled forum is judged where it now is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from fairline_events.decider import Fold
from fairline_events.errors import Conflict
from fairline_events.registry import DomainEvent

from .events import SeatGiven, SeatTaken
from .forum import Forum


@dataclass(frozen=True)
class Agenda:
    edition_code: str
    person: str
    forums: frozenset[str] = frozenset()


def agenda_stream(edition_code: str, person: str) -> str:
    return f"agenda-{edition_code}:{person}"


def initial(stream_id: str) -> Agenda:
    edition, _, person = stream_id.removeprefix("agenda-").partition(":")
    return Agenda(edition_code=edition, person=person)


def evolve(agenda: Agenda, event: DomainEvent) -> Agenda:
    match event:
        case SeatTaken():
            return replace(agenda, forums=agenda.forums | {event.forum_id})
        case SeatGiven():
            return replace(agenda, forums=agenda.forums - {event.forum_id})
    return agenda


AGENDA: Fold[Agenda] = Fold(initial, evolve)


def take_seat(
    *, agenda: Agenda, forum: Forum, held: Mapping[str, Forum], confirm_overlap: bool
) -> SeatTaken:
    """The person's seat at `forum`, refused if it overlaps another seat of theirs and they
    have not confirmed it."""
    assert forum.placement is not None
    clashes = [
        other
        for forum_id, other in sorted(held.items())
        if forum_id != forum.forum_id
        and other.live
        and other.placement is not None
        and other.placement.overlaps(forum.placement)
    ]
    if clashes and not confirm_overlap:
        first = clashes[0]
        assert first.placement is not None
        raise Conflict(
            f"you hold a seat at forum {first.forum_id} ({first.title_en}) at the same time;"
            " send confirm_overlap: true to hold both",
            code="overlapping_seat",
            other={
                "forum_id": first.forum_id,
                "title": first.title_en,
                "starts_at": first.placement.starts_at.isoformat(),
                "ends_at": first.placement.ends_at.isoformat(),
            },
            overlapping=[c.forum_id for c in clashes],
        )
    return SeatTaken(
        edition_code=agenda.edition_code,
        person=agenda.person,
        forum_id=forum.forum_id,
        overlaps_confirmed=[c.forum_id for c in clashes],
    )


def give_seat(*, agenda: Agenda, forum_id: str) -> list[DomainEvent]:
    if forum_id not in agenda.forums:
        return []
    return [SeatGiven(edition_code=agenda.edition_code, person=agenda.person, forum_id=forum_id)]
