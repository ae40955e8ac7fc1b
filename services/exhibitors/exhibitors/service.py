"""The exhibitors service, declared once: its events, projections and API."""

from __future__ import annotations

from fairline_events.service import ServiceDefinition

from .api import applications_router, read_models_router
from .domain.events import registry
from .projections import directory, review_queue

definition = ServiceDefinition(
    name="exhibitors",
    title="Fairline exhibitors",
    description=(
        "Exhibitor registration and review (展商注册审核) for each edition of the fair: "
        "companies register and submit; the recruitment team reviews, approves, rejects or "
        "returns for changes. Every change is an event on the `exhibitors.events` topic."
    ),
    registry=registry,
    routers=[applications_router, read_models_router],
    projections=[review_queue, directory],
)
