"""An edition's own settings in this service: the review deadline (SLA) of its applications.

The queue shows each waiting application's `due_at` = when it was (re)submitted + the SLA
of its edition, so a changed SLA moves every deadline of that edition at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from fairline_events.registry import DomainEvent
from pydantic import BaseModel, ConfigDict, Field

from .aggregate import Aggregate
from .events import registry
from .values import EditionCode

DEFAULT_REVIEW_SLA_HOURS = 72
"""Three days, until the recruitment team sets an edition's own."""


class SetReviewSla(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    edition_code: EditionCode
    hours: int = Field(ge=1, le=24 * 90, description="hours from submission to decision")


@registry.event("exhibitors.ReviewSlaSet", version=1)
class ReviewSlaSet(DomainEvent):
    edition_code: EditionCode
    hours: int = Field(ge=1, le=24 * 90)


@dataclass(frozen=True)
class Edition:
    edition_code: str
    review_sla_hours: int = DEFAULT_REVIEW_SLA_HOURS


def initial_edition(edition_code: str) -> Edition:
    return Edition(edition_code=edition_code)


def decide(command: SetReviewSla, state: Edition) -> list[DomainEvent]:
    if command.hours == state.review_sla_hours:
        return []
    return [ReviewSlaSet(edition_code=state.edition_code, hours=command.hours)]


def evolve(state: Edition, event: DomainEvent) -> Edition:
    if isinstance(event, ReviewSlaSet):
        return replace(state, review_sla_hours=event.hours)
    return state


EDITION: Aggregate[Edition] = Aggregate("edition-", initial_edition, evolve)


_YEARLY = re.compile(r"^(?P<series>.+)-(?P<year>\d{4})$")


def previous_edition(edition_code: str) -> str | None:
    """The edition a year before: ciftis-2021 follows ciftis-2020; None without a year."""
    match = _YEARLY.match(edition_code)
    if match is None:
        return None
    return f"{match['series']}-{int(match['year']) - 1}"
