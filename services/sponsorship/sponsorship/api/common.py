"""What the sponsorship endpoints share: roles, views, and the bodies packages and ad
bookings both take (a payment, a reason). The store, pool, context and body base are
`fairline_events.dependencies`."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any

from fairline_events.auth import Principal, require
from fairline_events.dependencies import Acting, Body, acting
from fairline_events.errors import Forbidden
from fastapi import Depends
from pydantic import BaseModel

from ..domain.booking import Booking, serving
from ..domain.events import Instalment
from ..domain.package import Package
from ..domain.values import Fen, Identifier, Reason

TEAM = "sponsorship_team"
"""The commercial team (招商): tiers, placements, offers, contracts, reviews, reports."""
SPONSOR = "sponsor"
"""A sponsor's own account: its subject is the sponsor id; sees its checklist and reports,
submits its creatives."""
AD_SERVER = "ad_server"
"""The website's, mini-program's and screens' ad servers: post impressions and clicks."""

Team = Annotated[Principal, Depends(require(TEAM))]
TeamOrSponsor = Annotated[Principal, Depends(require(TEAM, SPONSOR))]
AdServer = Annotated[Principal, Depends(require(AD_SERVER, TEAM))]

# The role checks of commands: each also brings the store and the command's context, one
# dependency per route (fairline_events.dependencies.Acting).
AsTeam = Annotated[Acting, Depends(acting(TEAM))]
AsTeamOrSponsor = Annotated[Acting, Depends(acting(TEAM, SPONSOR))]


class PaymentRequest(Body):
    """A payment received for a package or a booking, counted once by its bank reference."""

    payment_id: Identifier
    amount_fen: Fen


class ReasonRequest(Body):
    reason: Reason


def may_see(who: Principal, sponsor_id: str) -> None:
    """Staff see every sponsor; a sponsor sees only itself."""
    if not who.has_any((TEAM,)) and who.subject != sponsor_id:
        raise Forbidden("a sponsor sees only its own packages and bookings", code="not_yours")


class PackageView(BaseModel):
    package_id: str
    edition_code: str
    tier_code: str
    sponsor_id: str
    category: str
    status: str
    price_fen: int
    paid_fen: int
    expires_at: datetime | None
    instalments: list[Instalment]


def package_view(package: Package) -> PackageView:
    return PackageView(
        package_id=package.package_id, edition_code=package.edition_code,
        tier_code=package.tier_code, sponsor_id=package.sponsor_id, category=package.category,
        status=package.status, price_fen=package.price_fen, paid_fen=package.paid_fen,
        expires_at=package.expires_at if package.status == "offered" else None,
        instalments=list(package.instalments),
    )  # fmt: skip


class BookingView(BaseModel):
    booking_id: str
    edition_code: str
    placement_code: str
    channel: str
    sponsor_id: str
    first_day: date
    last_day: date
    status: str
    price_fen: int
    paid_fen: int
    expires_at: datetime | None
    creative_versions: int
    serving_version: int | None


def booking_view(booking: Booking) -> BookingView:
    served = serving(booking)
    return BookingView(
        booking_id=booking.booking_id, edition_code=booking.edition_code,
        placement_code=booking.placement_code, channel=booking.channel,
        sponsor_id=booking.sponsor_id, first_day=booking.first_day, last_day=booking.last_day,
        status=booking.status, price_fen=booking.price_fen, paid_fen=booking.paid_fen,
        expires_at=booking.expires_at, creative_versions=len(booking.creatives),
        serving_version=served.version if served else None,
    )  # fmt: skip


def row(record: Any, *json_columns: str) -> dict[str, Any]:
    found = dict(record)
    for column in json_columns:
        if isinstance(found.get(column), str):
            found[column] = json.loads(found[column])
    return found
