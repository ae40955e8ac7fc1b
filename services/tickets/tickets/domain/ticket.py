"""Tickets (stream `ticket-<id>`): one signed ticket for one visitor, and its entries.

    issued ─revoke (refund, cancellation)─▶ revoked

A gate online decides an entry on this stream, under its lock: two gates scanning the same
ticket at once queue here, the first admits, the second is refused and told which gate
admitted it. An offline gate admits on the signature alone; its scans, uploaded later, are
recorded here whatever happened meanwhile, a second entry the same day as a conflict.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Literal

from fairline_events.decider import Fold
from fairline_events.errors import Conflict, DomainError
from fairline_events.registry import DomainEvent

from .commands import CheckIn, RecordOfflineScans, Scanned
from .events import EntryConflictFlagged, TicketAdmitted, TicketIssued, TicketRevoked
from .qr import QrRefused, TicketCode, read_code
from .signing import SigningKeys
from .values import Venue, VisitorClass, fair_day

TicketStatus = Literal["new", "issued", "revoked"]


@dataclass(frozen=True)
class Entry:
    day: date
    venue: str
    entrance: str
    gate_id: str
    scanned_at: datetime


@dataclass(frozen=True)
class Ticket:
    ticket_id: str
    status: TicketStatus = "new"
    edition_code: str = ""
    order_id: str = ""
    product_code: str = ""
    visitor_id: str = ""
    visitor_class: VisitorClass = "public"
    days: tuple[date, ...] = ()
    venues: tuple[Venue, ...] = ()
    reentry: bool = False
    entries: tuple[Entry, ...] = ()
    scans: frozenset[str] = frozenset()
    conflicts: int = 0

    def first_entry(self, day: date) -> Entry | None:
        return next((e for e in self.entries if e.day == day), None)


def ticket_stream(ticket_id: str) -> str:
    return f"ticket-{ticket_id}"


def initial_ticket(stream_id: str) -> Ticket:
    return Ticket(stream_id.removeprefix("ticket-"))


class TicketRevokedError(Conflict):
    code = "ticket_revoked"


class WrongDay(DomainError):
    code = "wrong_day"


class WrongVenue(DomainError):
    code = "wrong_venue"


class AlreadyAdmitted(Conflict):
    code = "already_admitted"


def genuine(qr: str, *, ticket: Ticket, keys: SigningKeys) -> TicketCode:
    """The ticket code, read and verified (see `verified`)."""
    return verified(read_code(qr), ticket=ticket, keys=keys)


def verified(code: TicketCode, *, ticket: Ticket, keys: SigningKeys) -> TicketCode:
    """The ticket code, verified: a code for a ticket that exists but whose signature fails
    was altered; one that names no ticket of ours, or an unknown key, was forged."""
    try:
        keys.verify(code)
    except QrRefused as refused:
        if ticket.status != "new" and refused.code == "qr_signature_invalid":
            raise QrRefused(
                "the code of a real ticket was altered: its signature does not match",
                code="qr_altered",
            ) from None
        raise QrRefused(
            "forged: the code was not signed by the fair's keys", code="qr_forged"
        ) from None
    if ticket.status == "new":
        raise QrRefused("forged: no such ticket was issued", code="qr_forged")
    return code


def _refusal(ticket: Ticket, *, day: date, venue: str) -> DomainError | None:
    """Why this ticket may not enter `venue` on `day`, if it may not."""
    if ticket.status == "revoked":
        return TicketRevokedError(f"ticket {ticket.ticket_id} was revoked")
    if day not in ticket.days:
        return WrongDay(
            f"ticket {ticket.ticket_id} is not valid on {day}",
            valid_days=[d.isoformat() for d in ticket.days],
        )
    if venue not in ticket.venues:
        return WrongVenue(
            f"ticket {ticket.ticket_id} does not admit to {venue}", valid_venues=list(ticket.venues)
        )
    first = ticket.first_entry(day)
    if first is not None and not ticket.reentry:
        return AlreadyAdmitted(
            f"ticket {ticket.ticket_id} was already admitted today at gate {first.gate_id}"
            f" ({first.venue}, {first.entrance}) at {first.scanned_at.isoformat()}",
            first_gate_id=first.gate_id,
            first_entrance=first.entrance,
            first_venue=first.venue,
            first_scanned_at=first.scanned_at.isoformat(),
        )
    return None


def check_in(
    command: CheckIn, *, code: TicketCode, ticket: Ticket, keys: SigningKeys, now: datetime
) -> list[DomainEvent]:
    """A gate online: admit now, or refuse with the rule's own code and write nothing.
    `code` is the scan's QR as read (`read_code`) to find its ticket: verified here."""
    verified(code, ticket=ticket, keys=keys)
    if command.scan.scan_id in ticket.scans:  # the gate asked again after a timeout
        return []
    day = fair_day(now)
    refusal = _refusal(ticket, day=day, venue=command.venue)
    if refusal is not None:
        raise refusal
    return [
        TicketAdmitted(
            ticket_id=ticket.ticket_id,
            day=day,
            venue=command.venue,
            entrance=command.entrance,
            gate_id=command.gate_id,
            scan_id=command.scan.scan_id,
            scanned_at=now,
            offline=False,
        )
    ]


def record_offline(
    command: RecordOfflineScans, *, ticket: Ticket, keys: SigningKeys
) -> list[DomainEvent]:
    """Every genuine scan is recorded: an entry, or a conflict naming the first entry.
    Scans already recorded (an upload sent twice) and codes that are not genuine are left
    out; the caller reports those as rejected."""
    events: list[DomainEvent] = []
    state = ticket
    for scan in sorted(command.scans, key=lambda s: (s.scanned_at, s.scan_id)):
        if scan.scan_id in state.scans or not _is_genuine(scan, ticket=ticket, keys=keys):
            continue
        event = _offline_scan(command, scan, ticket=state)
        state = evolve(state, event)
        events.append(event)
    return events


def _is_genuine(scan: Scanned, *, ticket: Ticket, keys: SigningKeys) -> bool:
    try:
        genuine(scan.qr, ticket=ticket, keys=keys)
    except QrRefused:
        return False
    return True


def _offline_scan(command: RecordOfflineScans, scan: Scanned, *, ticket: Ticket) -> DomainEvent:
    day = fair_day(scan.scanned_at)
    fields = {
        "ticket_id": ticket.ticket_id,
        "day": day,
        "venue": command.venue,
        "entrance": command.entrance,
        "gate_id": command.gate_id,
        "scan_id": scan.scan_id,
        "scanned_at": scan.scanned_at,
        "offline": True,
    }
    refusal = _refusal(ticket, day=day, venue=command.venue)
    if refusal is None:
        return TicketAdmitted(**fields)
    first = ticket.first_entry(day)
    return EntryConflictFlagged(
        **fields,
        conflict=refusal.code,
        first_gate_id=first.gate_id if first else None,
        first_entrance=first.entrance if first else None,
        first_scanned_at=first.scanned_at if first else None,
    )


def revoke(ticket: Ticket, *, why: str) -> list[DomainEvent]:
    if ticket.status != "issued":
        return []
    return [TicketRevoked(ticket_id=ticket.ticket_id, edition_code=ticket.edition_code, why=why)]


def evolve(ticket: Ticket, event: DomainEvent) -> Ticket:
    match event:
        case TicketIssued():
            return replace(
                ticket,
                status="issued",
                edition_code=event.edition_code,
                order_id=event.order_id,
                product_code=event.product_code,
                visitor_id=event.visitor_id,
                visitor_class=event.visitor_class,
                days=tuple(event.days),
                venues=tuple(event.venues),
                reentry=event.reentry,
            )
        case TicketRevoked():
            return replace(ticket, status="revoked")
        case TicketAdmitted():
            entry = Entry(event.day, event.venue, event.entrance, event.gate_id, event.scanned_at)
            return replace(
                ticket, entries=(*ticket.entries, entry), scans=ticket.scans | {event.scan_id}
            )
        case EntryConflictFlagged():
            # An entry all the same: the person went in, so the next scan sees them inside.
            entry = Entry(event.day, event.venue, event.entrance, event.gate_id, event.scanned_at)
            return replace(
                ticket,
                entries=(*ticket.entries, entry),
                scans=ticket.scans | {event.scan_id},
                conflicts=ticket.conflicts + 1,
            )
        case _:
            return ticket


TICKET: Fold[Ticket] = Fold(initial_ticket, evolve)
