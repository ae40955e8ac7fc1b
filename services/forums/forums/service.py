"""The forums service, declared once: its events, read model, policy, job and API."""

from __future__ import annotations

from fairline_events.service import ServiceDefinition

from .api import attendance_router, forums_router, read_models_router
from .domain.events import registry
from .jobs import offer_lapse_job
from .policies import exhibitors, sponsorship
from .projections import programme

definition = ServiceDefinition(
    name="forums",
    title="Fairline forums and launches",
    description=(
        "The fair's forums and launches (会议论坛活动): summit forums, themed forums, industry"
        " conferences, promotion and matchmaking, launches of results and products, side"
        " events, at CNCC, Shougang Park and online. Kinds are versioned policies; rooms and"
        " speakers are never double-booked; registration with waitlists and claim windows;"
        " closed-door meetings (闭门会议) by invitation, every access decision recorded."
        " A sponsorship package's launch slot, asked on `sponsorship.events`"
        " (BenefitRequested), is booked in a launch hall and answered with"
        " SponsorLaunchBooked or SponsorLaunchRefused."
        " Every change is an event on the `forums.events` topic."
    ),
    registry=registry,
    routers=[forums_router, attendance_router, read_models_router],
    projections=[programme, exhibitors, sponsorship],
    jobs=[offer_lapse_job],
)
