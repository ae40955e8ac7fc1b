"""The sponsorship service, declared once: its events, projections, jobs and API."""

from __future__ import annotations

from importlib import resources

from fairline_events.service import ServiceDefinition

from .api import ads_router, delivery_router, packages_router, read_models_router
from .domain.events import registry
from .jobs import expiry_job
from .policies import booths, forums, hotels
from .projections import desk

definition = ServiceDefinition(
    name="sponsorship",
    title="Fairline sponsorship",
    description=(
        "Brand sponsorship and advertising (品牌赞助、广告招商): tiers per edition with quantity"
        " limits, packages offered, contracted, paid in instalments and cancelled with fees,"
        " one sponsor per industry category per tier (or per edition), benefits tracked as"
        " deliverables, ad placements on the website, the mini-program and on-site screens"
        " sold as dated inventory (exclusive or shared), creatives reviewed and versioned, a"
        " public serving schedule, and delivery reports from impressions and clicks."
        " Benefits owned by another service are asked of it through `BenefitRequested` and"
        " settled by its answer, read from `hotels.events` (BlockCreated,"
        " SponsorBlockRefused), `forums.events` (SponsorLaunchBooked, SponsorLaunchRefused,"
        " ForumRescheduled, ForumCancelled)"
        " and `booths.events` (SponsorDiscountGranted, SponsorDiscountRefused)."
        " Every change is an event on the `sponsorship.events` topic."
    ),
    registry=registry,
    routers=[packages_router, ads_router, delivery_router, read_models_router],
    projections=[desk, hotels, forums, booths],
    migrations=[resources.files("sponsorship") / "migrations"],
    jobs=[expiry_job],
)
