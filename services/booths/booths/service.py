"""The booths service, declared once: its events, projections, jobs and API."""

from __future__ import annotations

from fairline_events.service import ServiceDefinition

from .api import (
    construction_router,
    inventory_router,
    prices_router,
    read_models_router,
    sales_router,
)
from .domain.events import registry
from .jobs import hold_expiry, offer_lapse
from .policies import admissions, sponsorship
from .projections import designs, floor_plan, ledger

definition = ServiceDefinition(
    name="booths",
    title="Fairline booth sales",
    description=(
        "Booth sales (展位销售) for each edition: inventory across the convention centre, the "
        "park's temporary halls and the online hall; versioned prices; holds that expire, "
        "contracts, payments, cancellation and moves; waitlists per zone; construction review "
        "of raw space. Only exhibitors approved by the exhibitors service may hold or buy. "
        "A sponsorship package's booth discount, asked on `sponsorship.events` "
        "(BenefitRequested), lowers the sponsor's booth contracts (BoothPriceAdjusted) and is "
        "answered with SponsorDiscountGranted or SponsorDiscountRefused. "
        "Every change is an event on the `booths.events` topic."
    ),
    registry=registry,
    routers=[
        inventory_router,
        prices_router,
        sales_router,
        construction_router,
        read_models_router,
    ],
    projections=[floor_plan, ledger, designs, admissions, sponsorship],
    jobs=[hold_expiry, offer_lapse],
)
