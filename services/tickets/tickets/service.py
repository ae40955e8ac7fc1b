"""The tickets service, declared once: its events, projections, jobs and API."""

from __future__ import annotations

from importlib import resources

from fairline_events.service import ServiceDefinition

from .api import catalogue_router, gates_router, orders_router, read_models_router, visitors_router
from .domain.events import registry
from .jobs import expiry_job
from .projections import views
from .shards import rotation

definition = ServiceDefinition(
    name="tickets",
    title="Fairline tickets",
    description=(
        "Ticket sales and admission (门票销售管理系统): visitors registered under their real"
        " names (trade visitors, public, media, guests, staff), day and multi-day passes per"
        " venue with quotas per day, venue and class that never oversell, orders paid through a"
        " provider whose signed callbacks are recorded once, tickets signed with Ed25519 for"
        " gates that verify offline, and check-in at every entrance of CNCC and Shougang Park."
        " Every change is an event on the `tickets.events` topic."
    ),
    registry=registry,
    routers=[catalogue_router, visitors_router, orders_router, gates_router, read_models_router],
    projections=[views],
    migrations=[resources.files("tickets") / "migrations"],
    jobs=[expiry_job],
    on_stop=[rotation.desks.close] if rotation.desks is not None else [],
)
