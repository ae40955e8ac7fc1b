"""Visitors (stream `visitor-<id>`): a person registered under their real name (实名制).

    new ─register─▶ pending (trade, media) ─review─▶ approved | rejected
                 └▶ approved (public; guests and staff registered by the organiser)
    any ─erase─▶ erased

Personal fields arrive sealed; the key lives in `visitor_keys`, never in an event. Erasing
destroys the key, so every sealed copy (events, read models, Kafka) can no longer be opened;
the visitor's tickets and entries stay, as counts without a person.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from fairline_events.decider import Fold
from fairline_events.errors import Conflict, DomainError, Forbidden, NotFound
from fairline_events.registry import DomainEvent

from .commands import EraseVisitor, NewVisitor, ReviewVisitor
from .events import VisitorApproved, VisitorErased, VisitorRegistered, VisitorRejected
from .values import NEEDS_REVIEW, SELF_REGISTERED, VisitorClass

VisitorStatus = Literal["new", "pending", "approved", "rejected", "erased"]

REVIEWERS: dict[VisitorClass, str] = {
    "trade": "organiser",
    "media": "press_centre",
    "guest": "organiser",
    "staff": "organiser",
    "public": "organiser",
}
"""Who reviews whom: the press centre (大会新闻中心) accredits journalists."""


@dataclass(frozen=True)
class Visitor:
    visitor_id: str
    status: VisitorStatus = "new"
    edition_code: str = ""
    account: str = ""
    visitor_class: VisitorClass = "public"
    key_id: str = ""

    def known(self) -> Visitor:
        if self.status == "new":
            raise NotFound(f"visitor {self.visitor_id} not found", code="visitor_not_found")
        if self.status == "erased":
            raise Conflict(f"visitor {self.visitor_id} was erased", code="visitor_erased")
        return self


def visitor_stream(visitor_id: str) -> str:
    return f"visitor-{visitor_id}"


def initial_visitor(stream_id: str) -> Visitor:
    return Visitor(stream_id.removeprefix("visitor-"))


def register(command: NewVisitor, *, visitor: Visitor) -> list[DomainEvent]:
    if visitor.status != "new":
        raise Conflict(f"visitor {visitor.visitor_id} already exists", code="visitor_exists")
    if command.visitor_class not in SELF_REGISTERED and not command.by_organiser:
        raise Forbidden(
            f"{command.visitor_class} visitors are registered by the organiser, by invitation",
            code="invitation_only",
        )
    return [
        VisitorRegistered(
            visitor_id=command.visitor_id,
            edition_code=command.edition_code,
            account=command.account,
            visitor_class=command.visitor_class,
            key_id=command.key_id,
            name=command.name,
            document_type=command.document_type,
            document_number=command.document_number,
            phone=command.phone,
            organisation=command.organisation,
            country_region=command.country_region,
            approved=command.visitor_class not in NEEDS_REVIEW,
        )
    ]


def review(command: ReviewVisitor, *, visitor: Visitor) -> list[DomainEvent]:
    visitor.known()
    reviewer = REVIEWERS[visitor.visitor_class]
    if command.reviewer not in (reviewer, "ops"):
        raise Forbidden(
            f"{visitor.visitor_class} visitors are reviewed by the {reviewer}",
            code="not_your_review",
        )
    if visitor.status != "pending":
        raise Conflict(
            f"visitor {visitor.visitor_id} is {visitor.status}, not waiting for review",
            code="not_pending",
            status=visitor.status,
        )
    if command.approve:
        return [VisitorApproved(visitor_id=visitor.visitor_id, visitor_class=visitor.visitor_class)]
    if command.why is None:
        raise DomainError("say why the registration is rejected", code="reason_required")
    return [
        VisitorRejected(
            visitor_id=visitor.visitor_id, visitor_class=visitor.visitor_class, why=command.why
        )
    ]


def erase(command: EraseVisitor, *, visitor: Visitor) -> list[DomainEvent]:
    if visitor.status == "new":
        raise NotFound(f"visitor {visitor.visitor_id} not found", code="visitor_not_found")
    if visitor.status == "erased":
        return []
    return [VisitorErased(visitor_id=visitor.visitor_id, key_id=visitor.key_id)]


def evolve(visitor: Visitor, event: DomainEvent) -> Visitor:
    match event:
        case VisitorRegistered():
            return replace(
                visitor,
                status="approved" if event.approved else "pending",
                edition_code=event.edition_code,
                account=event.account,
                visitor_class=event.visitor_class,
                key_id=event.key_id,
            )
        case VisitorApproved():
            return replace(visitor, status="approved")
        case VisitorRejected():
            return replace(visitor, status="rejected")
        case VisitorErased():
            return replace(visitor, status="erased")
        case _:
            return visitor


VISITOR: Fold[Visitor] = Fold(initial_visitor, evolve)
