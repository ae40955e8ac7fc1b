"""The gates of both venues: check-in online, uploads from gates that were offline, and the
revocations a gate keeps for when its network goes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fairline_events.dependencies import Body, Pool
from fairline_events.errors import DomainError
from fairline_events.registry import DomainEvent
from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime, BaseModel, Field

from ..domain.commands import CheckIn, RecordOfflineScans, Scanned
from ..domain.events import EntryConflictFlagged
from ..domain.qr import QrRefused, read_code
from ..domain.signing import SigningKeys
from ..domain.ticket import Ticket, genuine, ticket_stream
from ..domain.values import EditionCode, EntranceCode, Identifier, Venue
from ..handlers import check_in, record_offline_scans
from ..projections import views
from .common import AsGate, Gate

router = APIRouter(tags=["gates"])

MAX_UPLOAD = 5000
"""Scans in one upload: an hour offline at a busy entrance."""


class ScanIn(Body):
    gate_id: Identifier
    scan_id: Identifier
    """The gate's own id for this scan: a retry after a timeout is not a second entry."""
    qr: str = Field(min_length=1, max_length=2000)


class AdmissionView(BaseModel):
    admitted: bool
    ticket_id: str
    visitor_id: str
    visitor_class: str
    day: date
    venue: str
    entrance: str
    gate_id: str
    scanned_at: datetime


@router.post(
    "/gates/{venue}/{entrance}/check-ins",
    summary="scan a ticket at an entrance: admitted, or refused with the reason's code",
    response_model=AdmissionView,
)
async def scan(
    venue: Venue,
    entrance: EntranceCode,
    body: ScanIn,
    acting: AsGate,
) -> Response:
    now = acting.context.clock()
    command = CheckIn(
        venue=venue,
        entrance=entrance,
        gate_id=body.gate_id,
        scan=Scanned(scan_id=body.scan_id, qr=body.qr, scanned_at=now),
    )
    outcome = await check_in(acting.store, command, acting.context)
    # the one ticket the scan read (its code was read and verified by the command)
    ticket = next(s for s in outcome.states.values() if isinstance(s, Ticket))
    entry = next(e for e in reversed(ticket.entries) if e.gate_id == body.gate_id)
    view = AdmissionView(
        admitted=True,
        ticket_id=ticket.ticket_id,
        visitor_id=ticket.visitor_id,
        visitor_class=ticket.visitor_class,
        day=entry.day,
        venue=entry.venue,
        entrance=entry.entrance,
        gate_id=entry.gate_id,
        scanned_at=entry.scanned_at,
    )
    # Built and checked once, here: FastAPI would validate the view again and then encode it,
    # a cost every scan at a busy gate pays twice for nothing.
    return Response(view.model_dump_json(), media_type="application/json")


class OfflineScan(Body):
    scan_id: Identifier
    qr: str = Field(min_length=1, max_length=2000)
    scanned_at: AwareDatetime


class Upload(Body):
    gate_id: Identifier
    scans: list[OfflineScan] = Field(min_length=1, max_length=MAX_UPLOAD)


class ScanResult(BaseModel):
    scan_id: str
    outcome: Literal["admitted", "conflict", "rejected"]
    code: str | None = None
    """The conflict (`already_admitted`, `ticket_revoked` ...) or why it was rejected."""


class UploadView(BaseModel):
    recorded: int
    conflicts: int
    rejected: int
    results: list[ScanResult]


@router.post(
    "/gates/{venue}/{entrance}/offline-scans",
    summary="a gate back online uploads what it admitted: every scan recorded, doubles flagged",
)
async def upload(venue: Venue, entrance: EntranceCode, body: Upload, acting: AsGate) -> UploadView:
    results: dict[str, ScanResult] = {}
    by_ticket: dict[str, list[Scanned]] = defaultdict(list)
    for s in body.scans:
        try:
            ticket_id = read_code(s.qr).ticket_id
        except QrRefused as refused:
            results[s.scan_id] = ScanResult(
                scan_id=s.scan_id, outcome="rejected", code=refused.code
            )
            continue
        by_ticket[ticket_id].append(Scanned(scan_id=s.scan_id, qr=s.qr, scanned_at=s.scanned_at))
    for ticket_id, group in by_ticket.items():
        command = RecordOfflineScans(
            ticket_id=ticket_id, venue=venue, entrance=entrance, gate_id=body.gate_id, scans=group
        )
        try:
            outcome = await record_offline_scans(acting.store, command, acting.context)
        except DomainError as refused:  # e.g. a ticket id that is not one
            for scanned in group:
                results[scanned.scan_id] = ScanResult(
                    scan_id=scanned.scan_id, outcome="rejected", code=refused.code
                )
            continue
        results.update(_results(outcome.events, outcome.states, ticket_id, group))
    ordered = [results[s.scan_id] for s in body.scans if s.scan_id in results]
    return UploadView(
        recorded=sum(r.outcome != "rejected" for r in ordered),
        conflicts=sum(r.outcome == "conflict" for r in ordered),
        rejected=sum(r.outcome == "rejected" for r in ordered),
        results=ordered,
    )


def _results(
    events: Sequence[DomainEvent], states: dict[str, Any], ticket_id: str, scans: list[Scanned]
) -> dict[str, ScanResult]:
    """Each scan's fate: recorded now (an entry or a conflict), recorded by an earlier upload,
    or rejected because its code is not genuine."""
    ticket = states[ticket_stream(ticket_id)]
    assert isinstance(ticket, Ticket)
    keys = next((s for s in states.values() if isinstance(s, SigningKeys)), None)
    flagged = {e.scan_id: e.conflict for e in events if isinstance(e, EntryConflictFlagged)}
    results = {}
    for s in scans:
        if s.scan_id in flagged:
            results[s.scan_id] = ScanResult(
                scan_id=s.scan_id, outcome="conflict", code=flagged[s.scan_id]
            )
        elif s.scan_id in ticket.scans:
            results[s.scan_id] = ScanResult(scan_id=s.scan_id, outcome="admitted")
        else:
            code = "qr_forged"
            if keys is not None:
                try:
                    genuine(s.qr, ticket=ticket, keys=keys)
                except QrRefused as refused:
                    code = refused.code
            results[s.scan_id] = ScanResult(scan_id=s.scan_id, outcome="rejected", code=code)
    return results


class Revocation(BaseModel):
    seq: int
    ticket_id: str
    revoked_at: datetime
    why: str


@router.get(
    "/editions/{edition_code}/revocations",
    summary="tickets revoked after `after`: a gate keeps them to refuse offline too",
)
async def revocations(
    edition_code: EditionCode,
    who: Gate,
    pool: Pool,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[Revocation]:
    rows = await pool.fetch(
        f"""SELECT seq, ticket_id, revoked_at, why FROM {views.schema}.revocations
            WHERE edition_code = $1 AND seq > $2 ORDER BY seq LIMIT $3""",
        edition_code,
        after,
        limit,
    )
    return [Revocation(**dict(r)) for r in rows]
