"""The hotels service, declared once: its events, projections, jobs and API."""

from __future__ import annotations

from importlib import resources

from fairline_events.service import ServiceDefinition

from .api import blocks_router, bookings_router, hotels_router, partner_router, read_models_router
from .domain.events import registry
from .jobs import cut_off_job, partner_feed_job
from .partner.contract import published_feeds
from .policies.sponsorship import sponsorship
from .projections import occupancy, partner_feed, rooming

definition = ServiceDefinition(
    name="hotels",
    title="Fairline hotels",
    description=(
        "The group's hotels (北辰旗下酒店) for staff, delegations and media: nightly allotments,"
        " room blocks and delegations' sub-blocks with cut-offs, bookings that never overbook a"
        " night, rooming lists, occupancy and pickup. Guests' personal data is sealed per guest"
        " (crypto-shredding); each partner hotel gets its own feed (`/partner/asyncapi.json`)."
        " Every change is an event on the `hotels.events` topic."
    ),
    registry=registry,
    routers=[hotels_router, blocks_router, bookings_router, read_models_router, partner_router],
    projections=[rooming, occupancy, partner_feed, sponsorship],
    migrations=[resources.files("hotels") / "migrations"],
    jobs=[cut_off_job, partner_feed_job],
    publishes_prefixes=["partner."],
    more_asyncapi=published_feeds,
)
