"""A zone's waitlist (候补): first come, first offered.

When a booth of the zone is released, the head of the line is offered it for a claim window
and leaves the line; an offer not claimed in time lapses and goes to the next in line.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from fairline_events.decider import Fold
from fairline_events.errors import Conflict
from fairline_events.registry import DomainEvent

from .account import Account, require_acting_for, require_admitted
from .catalogue import Catalogue
from .commands import JoinWaitlist, LeaveWaitlist
from .events import BoothOffered, WaitlistJoined, WaitlistLeft, WaitlistOfferMade
from .values import EditionStreams


@dataclass(frozen=True)
class Waitlist:
    edition_code: str
    zone_code: str
    line: tuple[str, ...] = ()


waitlist_stream = EditionStreams("waitlist")
"""One line per zone of an edition."""


def initial(stream_id: str) -> Waitlist:
    edition, zone = waitlist_stream.parts(stream_id)
    return Waitlist(edition_code=edition, zone_code=zone)


def decide(
    command: JoinWaitlist | LeaveWaitlist,
    *,
    waitlist: Waitlist,
    account: Account,
    catalogue: Catalogue,
) -> list[DomainEvent]:
    catalogue.zone(command.zone_code)
    require_acting_for(account, command.by)
    ids = {"edition_code": waitlist.edition_code, "zone_code": waitlist.zone_code}
    if isinstance(command, JoinWaitlist):
        require_admitted(account, waitlist.edition_code)
        if command.exhibitor_id in waitlist.line:
            raise Conflict(
                f"exhibitor {command.exhibitor_id} is already waiting in zone {waitlist.zone_code}",
                code="already_waiting",
                position=waitlist.line.index(command.exhibitor_id) + 1,
            )
        return [WaitlistJoined(**ids, exhibitor_id=command.exhibitor_id)]
    if command.exhibitor_id not in waitlist.line:
        return []
    return [WaitlistLeft(**ids, exhibitor_id=command.exhibitor_id)]


def offer_next(
    waitlist: Waitlist, booth_code: str, claim_window: timedelta, now: datetime
) -> list[DomainEvent]:
    """Offer a released booth to the head of the line, if anyone waits."""
    if not waitlist.line:
        return []
    head = waitlist.line[0]
    until = now + claim_window
    return [
        BoothOffered(
            edition_code=waitlist.edition_code,
            booth_code=booth_code,
            exhibitor_id=head,
            claim_until=until,
        ),
        WaitlistOfferMade(
            edition_code=waitlist.edition_code,
            zone_code=waitlist.zone_code,
            exhibitor_id=head,
            booth_code=booth_code,
            claim_until=until,
        ),
    ]


def evolve(waitlist: Waitlist, event: DomainEvent) -> Waitlist:
    match event:
        case WaitlistJoined():
            return replace(waitlist, line=(*waitlist.line, event.exhibitor_id))
        case WaitlistLeft() | WaitlistOfferMade():
            return replace(
                waitlist, line=tuple(e for e in waitlist.line if e != event.exhibitor_id)
            )
        case _:
            return waitlist


WAITLIST = Fold(initial, evolve)
