"""The exhibitors service, declared once: its events, projections and API."""

from __future__ import annotations

from importlib import resources

from fairline_events.service import ServiceDefinition

from .api import (
    agreements_router,
    applications_router,
    booth_router,
    cards_router,
    companies_router,
    editions_router,
    leads_router,
    meetings_router,
    public_router,
    read_models_router,
    statistics_router,
)
from .domain.events import registry
from .projections import (
    agendas,
    booth_sales,
    cards,
    directory,
    forum_activities,
    leads,
    results,
    review_audit,
    review_queue,
    showcase,
)

definition = ServiceDefinition(
    name="exhibitors",
    title="Fairline exhibitors",
    description=(
        "What the fair's exhibitors and its recruitment team use all year: companies across "
        "editions and their participations; registration and review (展商注册审核) with "
        "assignment, deadlines and an audit trail; the online booth page (展台); business "
        "card exchange (线上名片交换); leads (商机跟进); meetings at the booth and online "
        "(线下约见, 云洽谈); signed agreements (云签约); the directory and edition statistics; "
        "the public online fair (云上展馆) with the organiser's moderation (在线布展审核) and "
        "each exhibitor's booth from booth sales (`booths.events`) and its launches and forums "
        "from the forums programme (`forums.events`). "
        "Every change is an event on the `exhibitors.events` topic."
    ),
    registry=registry,
    # The public online fair first: routes are matched in order, and its reads are the
    # hottest path of the service (anonymous visitors of the website and mini-program).
    routers=[
        public_router,
        applications_router,
        companies_router,
        cards_router,
        booth_router,
        editions_router,
        meetings_router,
        leads_router,
        agreements_router,
        read_models_router,
        statistics_router,
    ],
    projections=[
        review_queue,
        review_audit,
        directory,
        agendas,
        cards,
        leads,
        showcase,
        results,
        booth_sales,
        forum_activities,
    ],
    migrations=[resources.files("exhibitors") / "migrations"],
)
